package sim

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// consortium simulates a small consortium from one seed: donors, their cultures under every
// calibration protocol, and the readouts of each day with a release assay at the end.
type culture struct {
	Donor    Donor
	Traj     Trajectory
	Readings []Reading
	Assay    ReleaseAssay
}

func consortium(tb testing.TB, seed uint64, donors int) []culture {
	tb.Helper()
	m, nz := DefaultDonorModel(), DefaultNoise()
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	protocols := []Protocol{calIL2, calPBMC, calK562, calLCL, calMb21}
	var out []culture
	for range donors {
		d, err := m.DrawDonor(r, HCMVFrance)
		if err != nil {
			tb.Fatal(err)
		}
		for _, p := range protocols {
			dp := d.For(p.Name, m.InteractionSD)
			tr, err := Simulate(p, dp, DefaultParams(), 1e6)
			if err != nil {
				tb.Fatal(err)
			}
			c := culture{Donor: dp, Traj: tr}
			for _, day := range []int{0, 3, 7, 10, 14} {
				rd, ok := nz.Observe(r, &tr, day, 1, dp, p)
				if !ok {
					tb.Fatalf("Observe day %d: not ok", day)
				}
				c.Readings = append(c.Readings, rd)
			}
			end := tr.Final()
			c.Assay = nz.Release(r, end.Kappa, end.Viability()*end.Purity(), []float64{20, 10, 5, 2.5, 1.25}, 3, 5000)
			out = append(out, c)
		}
	}
	return out
}

// TestSameSeedSameOutput checks §5.4: the same inputs and seed give bit-identical output, and
// another seed gives different output (so the comparison can fail).
func TestSameSeedSameOutput(t *testing.T) {
	a, b := consortium(t, 42, 5), consortium(t, 42, 5)
	// cmp compares float64 with ==, so equality here is bit-identity (no NaN is produced).
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different output (-first +second):\n%s", diff)
	}
	if c := consortium(t, 43, 5); cmp.Equal(a, c) {
		t.Errorf("seeds 42 and 43 gave identical output; want different")
	}
}

// TestValidation checks that bad input gets an error naming the field, never a panic.
func TestValidation(t *testing.T) {
	good := calK562
	nan := math.NaN()
	tests := []struct {
		name  string
		p     Protocol
		d     Donor
		par   Params
		seed  float64
		field string
	}{
		{"negative IL-2", func() Protocol { p := good; p.IL2 = -1; return p }(), NominalDonor(), DefaultParams(), 1, "IL2"},
		{"NaN IL-15", func() Protocol { p := good; p.IL15 = nan; return p }(), NominalDonor(), DefaultParams(), 1, "IL15"},
		{"zero days", func() Protocol { p := good; p.Days = 0; return p }(), NominalDonor(), DefaultParams(), 1, "Days"},
		{"feeder without ratio", func() Protocol { p := good; p.FeederRatio = 0; return p }(), NominalDonor(), DefaultParams(), 1, "FeederRatio"},
		{"ratio without feeder", func() Protocol { p := calIL2; p.FeederRatio = 2; return p }(), NominalDonor(), DefaultParams(), 1, "FeederRatio"},
		{"restim without feeder", func() Protocol { p := calIL2; p.Restim = []int{7}; return p }(), NominalDonor(), DefaultParams(), 1, "Restim"},
		{"restim after the end", func() Protocol { p := good; p.Restim = []int{21}; return p }(), NominalDonor(), DefaultParams(), 1, "Restim[0]"},
		{"restim not increasing", func() Protocol { p := good; p.Restim = []int{14, 7}; return p }(), NominalDonor(), DefaultParams(), 1, "Restim[1]"},
		{"bad start", func() Protocol { p := good; p.Start = 9; return p }(), NominalDonor(), DefaultParams(), 1, "Start"},
		{"bad class", func() Protocol { p := good; p.Class.GMax = 0; return p }(), NominalDonor(), DefaultParams(), 1, "Class"},
		{"zero m_donor", good, Donor{NKFraction: 0.1, KFresh: 0.1}, DefaultParams(), 1, "MDonor"},
		{"NK fraction 0", good, func() Donor { d := NominalDonor(); d.NKFraction = 0; return d }(), DefaultParams(), 1, "NKFraction"},
		{"NKG2C copies 3", good, func() Donor { d := NominalDonor(); d.NKG2CCopies = 3; return d }(), DefaultParams(), 1, "NKG2CCopies"},
		{"NaN interaction", good, func() Donor { d := NominalDonor(); d.Interaction = nan; return d }(), DefaultParams(), 1, "Interaction"},
		{"zero dt", good, NominalDonor(), func() Params { p := DefaultParams(); p.Dt = 0; return p }(), 1, "Dt"},
		{"dt not dividing a day", good, NominalDonor(), func() Params { p := DefaultParams(); p.Dt = 0.03; return p }(), 1, "Dt"},
		{"NaN μ_max", good, NominalDonor(), func() Params { p := DefaultParams(); p.MuMax = nan; return p }(), 1, "MuMax"},
		{"density without volume", good, NominalDonor(), func() Params { p := DefaultParams(); p.KV = 2e6; return p }(), 1, "V"},
		{"no cells", good, NominalDonor(), DefaultParams(), 0, "seeded"},
		{"NaN cells", good, NominalDonor(), DefaultParams(), nan, "seeded"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Simulate(tc.p, tc.d, tc.par, tc.seed)
			if err == nil {
				t.Fatalf("got no error, want one about %s", tc.field)
			}
			if !strings.Contains(err.Error(), tc.field+":") && !strings.Contains(err.Error(), tc.field+" ") {
				t.Errorf("got %q, want it to name %s", err, tc.field)
			}
		})
	}
	if _, err := DefaultDonorModel().DrawDonor(rand.New(rand.NewPCG(1, 1)), 1.5); err == nil {
		t.Errorf("DrawDonor with HCMV prevalence 1.5: got no error, want one")
	}
}

// TestDonorFrequencies checks the donor model against §4/§5.7: HCMV Bernoulli 0.73, NKG2C
// Hardy-Weinberg at q = 0.175 (+/+ 68.1 %, +/del 28.9 %, del/del 3.1 %), KIR B/x 0.70, NK
// fraction median 10 % with 95 % in 5-20 %. Tolerances are 4 binomial SEs at n = 20,000.
func TestDonorFrequencies(t *testing.T) {
	const n = 20000
	m := DefaultDonorModel()
	r := rand.New(rand.NewPCG(3, 5))
	var hcmv, bx, in520, below10 float64
	copies := [3]float64{}
	adaptiveInNeg := 0
	for range n {
		d, err := m.DrawDonor(r, HCMVSpain)
		if err != nil {
			t.Fatal(err)
		}
		if d.HCMV {
			hcmv++
		} else if d.AdaptiveFraction != 0 {
			adaptiveInNeg++
		}
		if d.KIRBx {
			bx++
		}
		copies[d.NKG2CCopies]++
		if d.NKFraction >= 0.05 && d.NKFraction <= 0.20 {
			in520++
		}
		if d.NKFraction < 0.10 {
			below10++
		}
	}
	tests := []struct {
		name string
		got  float64
		want float64 // domain.md §4 and §5.7
	}{
		{"HCMV+ (Spain)", hcmv / n, 0.73},
		{"KIR B/x", bx / n, 0.70},
		{"NKG2C +/+", copies[2] / n, 0.681},
		{"NKG2C +/del", copies[1] / n, 0.289},
		{"NKG2C del/del", copies[0] / n, 0.031},
		{"NK fraction in 5-20 %", in520 / n, 0.95},
		{"NK fraction below the 10 % median", below10 / n, 0.5},
	}
	for _, tc := range tests {
		se := math.Sqrt(tc.want * (1 - tc.want) / n)
		if math.Abs(tc.got-tc.want) > 4*se+0.001 {
			t.Errorf("%s: got %.4f, want %.3f ± %.4f", tc.name, tc.got, tc.want, 4*se)
		}
	}
	if adaptiveInNeg > 0 {
		t.Errorf("adaptive NK in HCMV⁻ donors: got %d donors, want 0", adaptiveInNeg)
	}
}

// TestInteractionIsPerProtocol checks that a donor keeps one interaction per protocol and that
// different protocols get different ones.
func TestInteractionIsPerProtocol(t *testing.T) {
	d, _ := DefaultDonorModel().DrawDonor(rand.New(rand.NewPCG(9, 9)), HCMVSpain)
	a1, a2, b := d.For("A", 0.1).Interaction, d.For("A", 0.1).Interaction, d.For("B", 0.1).Interaction
	if a1 != a2 {
		t.Errorf("interaction for A: got %g then %g, want the same", a1, a2)
	}
	if a1 == b {
		t.Errorf("interactions for A and B: got both %g, want different", a1)
	}
}

// TestCountNoise checks the count model of §5.7: unbiased, total CV 8-10 % (Poisson on 200-400
// cells, 5-7 %, and pipetting 5 %), viability binomial around the truth.
func TestCountNoise(t *testing.T) {
	const n = 20000
	nz := DefaultNoise()
	r := rand.New(rand.NewPCG(1, 2))
	var sum, sum2, vsum float64
	for range n {
		c := nz.Count(r, 9e6, 1e6)
		sum += c.Viable
		sum2 += c.Viable * c.Viable
		vsum += c.ViabilityPct
	}
	mean := sum / n
	cv := math.Sqrt(sum2/n-mean*mean) / mean
	if relErr(mean, 9e6) > 0.005 {
		t.Errorf("mean count: got %.4g, want 9e6 ± 0.5 %%", mean)
	}
	if cv < 0.07 || cv > 0.10 {
		t.Errorf("count CV: got %.4f, want 0.08-0.10 (doc) within 0.07-0.10", cv)
	}
	if v := vsum / n; math.Abs(v-90) > 0.2 {
		t.Errorf("mean viability: got %.3f %%, want 90 ± 0.2", v)
	}
	if c := nz.Count(r, 0, 0); c.Viable != 0 || c.ViabilityPct != 0 {
		t.Errorf("empty culture: got %+v, want zeros", c)
	}
}

// TestFlowNoise checks the flow model: means near the truth, NK + T never above 100.
func TestFlowNoise(t *testing.T) {
	nz := DefaultNoise()
	r := rand.New(rand.NewPCG(4, 4))
	tests := []struct{ nk, t float64 }{{0.1, 0.7}, {0.75, 0.2}, {0.999, 0.001}, {0, 0}, {1, 0}}
	for _, tc := range tests {
		var snk, st float64
		for range 2000 {
			nk, tp := nz.Flow(r, tc.nk, tc.t)
			if nk+tp > 100.0001 || nk < 0 || tp < 0 {
				t.Fatalf("Flow(%g, %g): got NK %g + T %g, want percentages summing to ≤ 100", tc.nk, tc.t, nk, tp)
			}
			snk += nk
			st += tp
		}
		if math.Abs(snk/2000-100*tc.nk) > 1 || math.Abs(st/2000-100*tc.t) > 1 {
			t.Errorf("Flow(%g, %g): got mean NK %.2f %%, T %.2f %%, want within 1 point", tc.nk, tc.t, snk/2000, st/2000)
		}
	}
}

// TestReleaseAssay checks the raw wells against §5.7 and §6.1: spontaneous 5-20 % of maximum
// (plus background), maximum ≈2,000 cpm per 5,000 targets, and the lysis computed by the §6.1
// formula from the well means close to the true A(1 − e^(−κx)).
func TestReleaseAssay(t *testing.T) {
	nz := DefaultNoise()
	r := rand.New(rand.NewPCG(8, 8))
	ets := []float64{20, 10, 5, 2.5, 1.25}
	var bias, sq float64
	var points int
	for i := range 200 {
		kappa := 0.1 + 0.01*float64(i)
		ra := nz.Release(r, kappa, 0.8, ets, 3, 5000)
		s, m := mean(ra.Spontaneous), mean(ra.Maximum)
		if f := s / m; f < 0.03 || f > 0.25 {
			t.Fatalf("spontaneous/maximum: got %.3f, want within 0.05-0.20 plus noise", f)
		}
		if m < 1500 || m > 2600 {
			t.Fatalf("maximum: got %.0f cpm, want ≈2,000 + 30", m)
		}
		for _, p := range ra.Points {
			if len(p.Readings) != 3 {
				t.Fatalf("replicates: got %d, want 3", len(p.Readings))
			}
			e := (mean(p.Readings)-s)/(m-s) - Lysis(ra.Plateau, kappa, p.ETRatio*0.8)
			bias += e
			sq += e * e
			points++
		}
	}
	// With CV_rep 8 % on triplicates the error of one point is a few percent of lysis; the
	// mean error over 1,000 points must vanish and the RMS stay below 0.1.
	if b := bias / float64(points); math.Abs(b) > 0.01 {
		t.Errorf("mean lysis error: got %.4f, want |bias| ≤ 0.01", b)
	}
	if rms := math.Sqrt(sq / float64(points)); rms > 0.1 || rms < 0.01 {
		t.Errorf("RMS lysis error: got %.4f, want 0.01-0.1", rms)
	}
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// TestMarkers checks the phenotype directions of §2.2 over an EBV-LCL culture (CD16 and CD57
// fall, NKG2A and NKp44 rise) and that NKG2C is higher in an HCMV⁺ donor with NKG2C alleles
// than in a del/del donor.
func TestMarkers(t *testing.T) {
	nz := DefaultNoise()
	r := rand.New(rand.NewPCG(6, 6))
	adaptive := NominalDonor()
	adaptive.HCMV, adaptive.NKG2CCopies, adaptive.AdaptiveFraction, adaptive.Seed = true, 2, 0.15, 77
	deleted := adaptive
	deleted.NKG2CCopies, deleted.AdaptiveFraction = 0, 0
	tr := run(t, calLCL15, adaptive)
	avg := func(d Donor, day int, name string) float64 {
		var s float64
		for range 50 {
			s += nz.Markers(r, tr.States[day], d, calLCL15)[name]
		}
		return s / 50
	}
	tests := []struct {
		marker string
		rises  bool
	}{{"CD16", false}, {"CD57", false}, {"NKG2A", true}, {"NKp44", true}}
	for _, tc := range tests {
		d0, d14 := avg(adaptive, 0, tc.marker), avg(adaptive, 14, tc.marker)
		if (tc.rises && !(d14 > d0+5)) || (!tc.rises && !(d14 < d0-5)) {
			t.Errorf("%s: got %.1f %% at d0 and %.1f %% at d14, want it to %s", tc.marker, d0, d14, map[bool]string{true: "rise", false: "fall"}[tc.rises])
		}
	}
	if a, b := avg(adaptive, 0, "NKG2C"), avg(deleted, 0, "NKG2C"); !(a > b+5) {
		t.Errorf("NKG2C: got %.2f %% in an HCMV⁺ +/+ donor and %.2f %% in del/del, want clearly higher", a, b)
	}
}

// FuzzSimulate checks that no protocol or donor input panics.
func FuzzSimulate(f *testing.F) {
	f.Add(500.0, 5.0, 2.0, 0.5, 14, 7, 1.0, 0.1)
	f.Add(-1.0, math.NaN(), 0.0, 0.0, 0, -3, 0.0, 2.0)
	f.Fuzz(func(t *testing.T, il2, il15, ratio, kF float64, days, restim int, m, nk float64) {
		p := Protocol{Start: PBMC, IL2: il2, IL15: il15, Class: K562mb15, FeederRatio: ratio, Days: days % 400, Restim: []int{restim}}
		p.Class.KF = kF
		d := NominalDonor()
		d.MDonor, d.NKFraction = m, nk
		tr, err := Simulate(p, d, DefaultParams(), 1e6)
		if err == nil {
			for _, s := range tr.States {
				if math.IsNaN(s.N) || s.N < 0 {
					t.Fatalf("day %d: got N = %g, want a cell number", s.Day, s.N)
				}
			}
		}
	})
}

// BenchmarkCulture times one 21-day culture with restimulation.
func BenchmarkCulture(b *testing.B) {
	par, d := DefaultParams(), NominalDonor()
	for b.Loop() {
		if _, err := Simulate(calMb21, d, par, 1e6); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkConsortium times a 150-culture consortium: 30 donors × 5 protocols, with
// observations on five days and a release assay per culture.
func BenchmarkConsortium(b *testing.B) {
	for b.Loop() {
		if got := len(consortium(b, 1, 30)); got != 150 {
			b.Fatalf("got %d cultures, want 150", got)
		}
	}
}
