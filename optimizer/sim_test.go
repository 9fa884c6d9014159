package optimizer

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/clink-consortium/clink/design"
	"github.com/clink-consortium/clink/sim"
	"gonum.org/v1/gonum/diff/fd"
)

func BenchmarkLandscapeDoses(b *testing.B) {
	l := NewLandscape()
	u := []float64{0.8, 0.5, 0.3, 2, 0.5, 2, 1}
	for b.Loop() {
		if _, err := l.Doses(u); err != nil {
			b.Fatal(err)
		}
	}
}

// TestFitPoint checks that rounding a point onto the cytokine budget never leaves it over:
// 461.5 IU/mL IL-2 with 27.69 ng/mL IL-15 and IL-21 (4.615 + 55.38 = 59.995) rounds to
// 462/27.7/27.7, 60.02 over the budget, and is scaled back down within it.
func TestFitPoint(t *testing.T) {
	s := SimSpace()
	p := design.Point{"il2": design.Num(461.5), "il15": design.Num(27.69), "il21": design.Num(27.69),
		"feeder": design.Cat("ebv-lcl"), "feeder_ratio": design.Num(10), "restimulation": design.Cat("none"), "harvest_day": design.Num(14)}
	fitPoint(s, p)
	if v := s.Constraints[0].Value(p); v > 60 {
		t.Errorf("got %v, budget %g over 60", p, v)
	}
	for _, f := range []string{"il2", "il15", "il21"} {
		if x := p[f].X; strconv.FormatFloat(x, 'g', 3, 64) != strconv.FormatFloat(x, 'g', -1, 64) {
			t.Errorf("%s = %v has more than three significant digits", f, x)
		}
	}
	// Many random points: always within the budget after fitPoint.
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		q := design.Point{"il2": design.Num(1000 * r.Float64()), "il15": design.Num(50 * r.Float64()), "il21": design.Num(50 * r.Float64()),
			"feeder": design.Cat("none"), "feeder_ratio": design.Num(1), "restimulation": design.Cat("none"), "harvest_day": design.Num(10)}
		fitPoint(s, q)
		if v := s.Constraints[0].Value(q); v > 60 {
			t.Fatalf("%v: budget %g over 60", q, v)
		}
	}
}

// TestSimProtocol checks the conditional factors of the simulator's space: without a feeder
// the ratio and restimulation are inactive; a restimulation closer than 3 days to the harvest
// does not happen; and the landscape's doses follow the simulator (the calibration anchor's
// culture on the nominal donor gives what sim gives).
func TestSimProtocol(t *testing.T) {
	pt := design.Point{"il2": design.Num(500), "il15": design.Num(0), "il21": design.Num(0), "feeder": design.Cat("none"),
		"feeder_ratio": design.Num(10), "restimulation": design.Cat("d7+d14"), "harvest_day": design.Num(14)}
	pr, err := SimProtocol(pt)
	if err != nil || pr.FeederRatio != 0 || len(pr.Restim) != 0 || pr.Class.HasFeeder() {
		t.Errorf("no feeder: got %+v, %v; want no ratio and no restimulation", pr, err)
	}
	pt["feeder"] = design.Cat("k562-mb21")
	pr, err = SimProtocol(pt)
	if err != nil || pr.FeederRatio != 10 || len(pr.Restim) != 1 || pr.Restim[0] != 7 {
		t.Errorf("harvest on day 14: got restimulation %v, %v; want day 7 only (14 is not 3 days before the harvest)", pr.Restim, err)
	}
	pt["harvest_day"] = design.Num(17)
	if pr, _ = SimProtocol(pt); len(pr.Restim) != 2 {
		t.Errorf("harvest on day 17: got restimulation %v, want days 7 and 14", pr.Restim)
	}
	l := NewLandscape()
	u, err := l.Space.Encode(pt)
	if err != nil {
		t.Fatal(err)
	}
	got, err := l.Doses(u)
	if err != nil {
		t.Fatal(err)
	}
	want, err := simDoses(pr, sim.NominalDonor(), sim.DefaultParams())
	if err != nil || got != want || !(got > 0) {
		t.Errorf("landscape doses %g, simulator %g (%v)", got, want, err)
	}
}

// TestSmoothConstraints checks the cytokine budget as a constraint on unit coordinates: its
// value is (il2/100 + il15 + il21 − 60)/60 at the decoded point, and its gradient matches
// central finite differences inside the box (the categorical and integer coordinates have
// none).
func TestSmoothConstraints(t *testing.T) {
	s := SimSpace()
	cs := smoothConstraints(s)
	if len(cs) != 1 {
		t.Fatalf("got %d constraints, want 1", len(cs))
	}
	for _, u := range [][]float64{{0.99, 0.98, 0.01, 2, 1, 2, 1}, {0.5, 0.9, 0.95, 0, 0.3, 1, 0.2}, {0.2, 0.1, 0.3, 4, 0.5, 0, 0.5}} {
		p, err := s.Decode(u)
		if err != nil {
			t.Fatal(err)
		}
		want := (p["il2"].X/100 + p["il15"].X + p["il21"].X - 60) / 60
		grad := make([]float64, len(u))
		if got := cs[0](u, grad); math.Abs(got-want) > 1e-12 {
			t.Errorf("at %v: got %g, want %g", u, got, want)
		}
		wantGrad := fd.Gradient(nil, func(x []float64) float64 { return cs[0](x, nil) }, u, &fd.Settings{Formula: fd.Central, Step: 1e-7})
		for j := range u {
			if j >= 3 { // feeder, ratio, restimulation, day: not in the budget
				wantGrad[j] = 0
			}
			if math.Abs(grad[j]-wantGrad[j]) > 1e-5*(1+math.Abs(wantGrad[j])) {
				t.Errorf("at %v: ∂c/∂u%d got %g, want %g", u, j, grad[j], wantGrad[j])
			}
		}
	}
}
