package design

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/clink-consortium/clink"
	"github.com/google/go-cmp/cmp"
)

// budget is the default space's cytokine budget, computed from the unit coordinates with the
// scales written out again: il2 = 1001^u − 1, il15 and il21 = 0.1·501^u − 0.1.
func budget(u []float64) float64 {
	il2 := math.Pow(1001, u[0]) - 1
	il15 := 0.1*math.Pow(501, u[1]) - 0.1
	il21 := 0.1*math.Pow(501, u[2]) - 0.1
	return il2/100 + il15 + il21
}

func TestFromUnitDefaultSpaceSkip(t *testing.T) {
	s := DefaultSpace()
	design, err := Sobol(256, len(s.Factors), SobolOptions{Scramble: true, Seed: 2024})
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.FromUnit(design, Skip)
	if err != nil {
		t.Fatal(err)
	}
	var wantSkipped []int
	for r, u := range design {
		if budget(u) > 60*(1+1e-9) {
			wantSkipped = append(wantSkipped, r)
		}
	}
	var gotSkipped []int
	for _, f := range m.Skipped {
		gotSkipped = append(gotSkipped, f.Row)
		if !slices.Equal(f.Constraints, []string{"cytokine_budget"}) || f.Reason != "" {
			t.Errorf("row %d: got %+v, want the cytokine budget named and no reason", f.Row, f)
		}
	}
	if d := cmp.Diff(wantSkipped, gotSkipped); d != "" {
		t.Errorf("skipped rows (-want +got):\n%s", d)
	}
	if len(wantSkipped) == 0 || len(wantSkipped) > 200 {
		t.Fatalf("%d of 256 rows break the budget; the test needs some, not most", len(wantSkipped))
	}
	if len(m.Points)+len(m.Skipped) != 256 || len(m.Rows) != len(m.Points) || len(m.Repaired) != 0 {
		t.Errorf("got %d points, %d rows, %d skipped, %d repaired; want 256 in all and none repaired", len(m.Points), len(m.Rows), len(m.Skipped), len(m.Repaired))
	}
	levelCount := map[string]map[string]int{"feeder": {}, "restimulation": {}, "vessel": {}}
	dayCount := map[float64]int{}
	for i, p := range m.Points {
		u := design[m.Rows[i]]
		if got, want := p["il2"].X, math.Pow(1001, u[0])-1; math.Abs(got-want) > 1e-9*max(1, want) {
			t.Errorf("row %d: il2 %g, want 1001^%g − 1 = %g", m.Rows[i], got, u[0], want)
		}
		if got, want := p["feeder_ratio"].X, 0.5*math.Pow(40, u[4]); math.Abs(got-want) > 1e-12*want {
			t.Errorf("row %d: feeder ratio %g, want 0.5·40^%g = %g", m.Rows[i], got, u[4], want)
		}
		if got, want := p["harvest_day"].X, 7+math.Floor(u[6]*22); got != want {
			t.Errorf("row %d: harvest day %g, want 7 + ⌊22·%g⌋ = %g", m.Rows[i], got, u[6], want)
		}
		if got, want := p["vessel"].Level, s.Factors[7].Levels[int(u[7]*5)]; got != want {
			t.Errorf("row %d: vessel %q, want %q", m.Rows[i], got, want)
		}
		if !s.Feasible(p) {
			t.Errorf("row %d: a kept point breaks the budget", m.Rows[i])
		}
	}
	// Equal bins: over all 256 stratified rows each level and each day gets an equal share,
	// give or take the one stratum that straddles a bin boundary.
	full := &Space{Name: "nc", Factors: s.Factors}
	mAll, err := full.FromUnit(design, Skip)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range mAll.Points {
		for f := range levelCount {
			levelCount[f][p[f].Level]++
		}
		dayCount[p["harvest_day"].X]++
	}
	for f, counts := range levelCount {
		_, i, _ := full.Factor(f)
		L := len(full.Factors[i].Levels)
		for _, l := range full.Factors[i].Levels {
			if c := counts[l]; c < 256/L-1 || c > 256/L+2 {
				t.Errorf("%s = %q in %d of 256 rows, want %d–%d", f, l, c, 256/L-1, 256/L+2)
			}
		}
	}
	for d := 7.0; d <= 28; d++ {
		if c := dayCount[d]; c < 256/22-1 || c > 256/22+2 {
			t.Errorf("harvest day %g in %d of 256 rows, want %d–%d", d, c, 256/22-1, 256/22+2)
		}
	}
}

func TestFromUnitDefaultSpaceRepair(t *testing.T) {
	s := DefaultSpace()
	design, err := LatinHypercube(200, len(s.Factors), LHSOptions{Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	skip, _ := s.FromUnit(design, Skip)
	m, err := s.FromUnit(design, Repair)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Points) != 200 || len(m.Skipped) != 0 {
		t.Fatalf("got %d points and %d skipped, want all 200 and none", len(m.Points), len(m.Skipped))
	}
	if len(m.Repaired) != len(skip.Skipped) || len(m.Repaired) == 0 {
		t.Fatalf("repaired %d rows, want the %d that Skip drops (and some)", len(m.Repaired), len(skip.Skipped))
	}
	repaired := map[int]bool{}
	for _, f := range m.Repaired {
		repaired[f.Row] = true
	}
	for i, p := range m.Points {
		r := m.Rows[i]
		if r != i {
			t.Fatalf("point %d comes from row %d", i, r)
		}
		if !s.Feasible(p) {
			t.Errorf("row %d: the point breaks the budget after repair", r)
		}
		orig := s.unitPoint(design[r])
		// Factors outside the constraint are untouched.
		for _, f := range []string{"feeder", "feeder_ratio", "restimulation", "harvest_day", "vessel"} {
			if p[f] != orig[f] {
				t.Errorf("row %d: repair changed %s from %v to %v", r, f, orig[f], p[f])
			}
		}
		if !repaired[r] {
			if d := cmp.Diff(orig, p); d != "" {
				t.Errorf("row %d: a feasible point changed (-want +got):\n%s", r, d)
			}
			continue
		}
		// A repaired point lies on the budget's boundary (bisection to 2^-60 of the segment).
		if v := s.Constraints[0].Value(p); v > 60*(1+1e-9) || v < 60*(1-1e-6) {
			t.Errorf("row %d: repaired budget %g, want 60 (on the boundary)", r, v)
		}
	}
}

func TestCenter(t *testing.T) {
	// x, y ∈ [0, 1], x + y ≤ 1: the largest inscribed ball has its centre at
	// z = ρ = 1/(2 + √2) on the diagonal (2z + √2·ρ = 1 with z = ρ).
	s := &Space{Name: "tri", Factors: []Factor{
		{Name: "x", Kind: Continuous, Low: 0, High: 1},
		{Name: "y", Kind: Continuous, Low: 0, High: 1},
	}, Constraints: []Constraint{{Terms: []Term{{"x", 1}, {"y", 1}}, Bound: 1}}}
	x, idx, err := s.center()
	if err != nil {
		t.Fatal(err)
	}
	want := 1 / (2 + math.Sqrt2)
	if len(x) != 2 || !slices.Equal(idx, []int{0, 1}) || math.Abs(x[0]-want) > 1e-9 || math.Abs(x[1]-want) > 1e-9 {
		t.Errorf("got centre %v of factors %v, want (%g, %g) of [0 1]", x, idx, want, want)
	}
	// Scaled ranges: x ∈ [0, 10], y ∈ [100, 200], x/10 + (y−100)/100 ≤ 1 is the same
	// triangle in scaled coordinates.
	s.Factors[0].High = 10
	s.Factors[1].Low, s.Factors[1].High = 100, 200
	s.Constraints[0] = Constraint{Terms: []Term{{"x", 0.1}, {"y", 0.01}}, Bound: 2}
	x, _, err = s.center()
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(x[0]-10*want) > 1e-8 || math.Abs(x[1]-(100+100*want)) > 1e-8 {
		t.Errorf("scaled: got centre %v, want (%g, %g)", x, 10*want, 100+100*want)
	}
}

func TestRepairImpossibleAfterRounding(t *testing.T) {
	// day ∈ {0, 1, 2} with 0.5 ≤ day ≤ 0.9: the continuous relaxation is feasible, no whole
	// day is. The row is skipped, with the reason.
	s := &Space{Name: "int", Factors: []Factor{
		{Name: "day", Kind: Integer, Low: 0, High: 2},
		{Name: "x", Kind: Continuous, Low: 0, High: 1},
	}, Constraints: []Constraint{
		{Name: "late", Terms: []Term{{"day", -1}}, Bound: -0.5},
		{Name: "early", Terms: []Term{{"day", 1}}, Bound: 0.9},
	}}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	m, err := s.FromUnit([][]float64{{0.1, 0.5}, {0.9, 0.5}}, Repair)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Points) != 0 || len(m.Skipped) != 2 {
		t.Fatalf("got %d points and %d skipped, want 0 and 2", len(m.Points), len(m.Skipped))
	}
	if got := m.Skipped[0]; !slices.Equal(got.Constraints, []string{"late"}) || !strings.Contains(got.Reason, "rounded") {
		t.Errorf("row 0: got %+v, want constraint late and a reason about rounding", got)
	}
	if got := m.Skipped[1]; !slices.Equal(got.Constraints, []string{"early"}) {
		t.Errorf("row 1: got %+v, want constraint early", got)
	}
}

func TestFromUnitFactorial(t *testing.T) {
	// The 2^(8−4) IV on the eight factors of the default space: every coordinate is at an
	// end, so numeric factors take their bounds and categorical ones their first or last
	// level; runs with high IL-2, IL-15 and IL-21 (10 + 50 + 50 > 60) break the budget.
	s := DefaultSpace()
	g, _ := StandardGenerators(8, 4)
	f, err := FractionalFactorial(8, g)
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.FromUnit(CodedToUnit(AddCenterPoints(f.Runs, 1)), Skip)
	if err != nil {
		t.Fatal(err)
	}
	highCytokines := 0
	for _, r := range f.Runs {
		if r[1] == 1 && r[2] == 1 {
			highCytokines++ // il15 + il21 = 100 > 60 whatever IL-2 is
		}
	}
	if len(m.Skipped) != highCytokines || len(m.Points) != 17-highCytokines {
		t.Errorf("got %d skipped and %d points, want %d and %d", len(m.Skipped), len(m.Points), highCytokines, 17-highCytokines)
	}
	for i, p := range m.Points {
		r := m.Rows[i]
		if r == 16 {
			// The centre point: middle of each scale, middle bin of each categorical.
			if p["harvest_day"].X != 7+11 || p["feeder"].Level != "721.221" || p["vessel"].Level != "G-Rex" {
				t.Errorf("centre point: got %v", p)
			}
			if got, want := p["il2"].X, math.Sqrt(1001)-1; math.Abs(got-want) > 1e-9 {
				t.Errorf("centre il2: got %g, want √1001 − 1 = %g", got, want)
			}
			continue
		}
		lowHigh := func(j int, lo, hi Value) Value {
			if f.Runs[r][j] < 0 {
				return lo
			}
			return hi
		}
		want := Point{
			"il2": lowHigh(0, Num(0), Num(1000)), "il15": lowHigh(1, Num(0), Num(50)), "il21": lowHigh(2, Num(0), Num(50)),
			"feeder": lowHigh(3, Cat("none"), Cat("K562 variant")), "feeder_ratio": lowHigh(4, Num(0.5), Num(20)),
			"restimulation": lowHigh(5, Cat("none"), Cat("weekly")), "harvest_day": lowHigh(6, Num(7), Num(28)),
			"vessel": lowHigh(7, Cat("plate"), Cat("automated closed system")),
		}
		if d := cmp.Diff(want, p); d != "" {
			t.Errorf("run %d (-want +got):\n%s", r, d)
		}
	}
}

func TestFromUnitErrors(t *testing.T) {
	s := DefaultSpace()
	ok := make([]float64, 8)
	for _, tc := range []struct {
		design [][]float64
		field  string
	}{
		{[][]float64{ok, {0, 0}}, "design[1]"},
		{[][]float64{{0, 0, 1.5, 0, 0, 0, 0, 0}}, "design[0][2]"},
		{[][]float64{{0, 0, 0, math.NaN(), 0, 0, 0, 0}}, "design[0][3]"},
		{[][]float64{{0, 0, 0, 0, 0, 0, 0, -0.1}}, "design[0][7]"},
	} {
		_, err := s.FromUnit(tc.design, Skip)
		if f := clink.ErrorFields(err); len(f) == 0 || f[0].Field != tc.field {
			t.Errorf("FromUnit(%v): got %v, want an error on %s", tc.design, err, tc.field)
		}
	}
	if _, err := s.FromUnit([][]float64{ok}, Infeasible(7)); clink.ErrorCode(err) != clink.EINVALID {
		t.Errorf("unknown mode: got %v, want EINVALID", err)
	}
	bad := DefaultSpace()
	bad.Factors[0].High = -1
	if _, err := bad.FromUnit([][]float64{ok}, Skip); clink.ErrorCode(err) != clink.EINVALID {
		t.Errorf("invalid space: got %v, want EINVALID", err)
	}
	m, err := s.FromUnit(nil, Skip)
	if err != nil || len(m.Points) != 0 {
		t.Errorf("empty design: got %+v, %v; want no points and no error", m, err)
	}
}
