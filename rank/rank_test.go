package rank

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/stats"
	"github.com/google/go-cmp/cmp"
)

// one returns a single passing culture of protocol p with the given fold and LU30.
func one(p string, fold, lu30 float64) Outcome {
	return harvest(func(o *Outcome) {
		o.Culture, o.Donor, o.Protocol = "C-"+p, "D-"+p, p
		o.NKFold, o.LU30 = ptr(fold), ptr(lu30)
	})
}

// TestRankSection83 runs the §8.3 worked example through Rank, one culture per protocol with
// fold = the example's yield and LU30 = its killing. log10 keeps the order, so the front is
// {P2, P1, P3}; the hypervolume on log10 axes against (0, 0) follows the same sweep as the
// raw-scale 15,900: 30·350 + 12·(600 − 350) + 8·(900 − 600) with every number replaced by its log10.
func TestRankSection83(t *testing.T) {
	in := []Outcome{one("P1", 12, 600), one("P2", 30, 350), one("P3", 8, 900), one("P4", 25, 300), one("P5", 10, 500)}
	r, err := Rank(in, Options{Bootstrap: stats.BootstrapOptions{Resamples: 50}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"P2", "P1", "P3"}; !slices.Equal(r.Front, want) {
		t.Errorf("front: got %v, want %v", r.Front, want)
	}
	var order []string
	for _, s := range r.Protocols {
		order = append(order, s.Protocol)
		if onFront := slices.Contains(r.Front, s.Protocol); s.OnFront != onFront {
			t.Errorf("%s on front: got %v, want %v", s.Protocol, s.OnFront, onFront)
		}
	}
	if want := []string{"P2", "P1", "P3", "P4", "P5"}; !slices.Equal(order, want) {
		t.Errorf("scoreboard order: got %v, want %v", order, want)
	}
	l := math.Log10
	want := l(30)*l(350) + l(12)*(l(600)-l(350)) + l(8)*(l(900)-l(600))
	if r.Hypervolume == nil || math.Abs(*r.Hypervolume-want) > 1e-12 {
		t.Errorf("hypervolume: got %v, want %g", r.Hypervolume, want)
	}
}

// TestRankHandComputed checks one protocol's row against hand arithmetic (domain.md §8.1):
//   - C1 eligible, 10 % NK × 850-fold: 1e8 × 0.1 × 850 × 0.8 × 0.95 = 6.46e9 → 9 doses;
//   - C2 eligible, 10 % NK × 1,700-fold: 1.292e10 → 18 doses;
//   - C3 ineligible (viability 60 %): 0 doses;
//   - C4 not assessable (no T-cell %): left out of the share and the doses;
//   - C5 eligible but no starting NK fraction: in the share, not in the doses.
//
// So the share is 3/4, the doses are {9, 18, 0} with median 9, the folds {850, 1700, 400, 100,
// 300} have median 400, the purities {85 ×5} median 85, the viabilities {90, 90, 60, 90, 90}
// median 90. Two LU30 values, 20 and 50, give the median 35 (R: median(c(20, 50))).
func TestRankHandComputed(t *testing.T) {
	base := func(c string, edit func(*Outcome)) Outcome {
		return harvest(func(o *Outcome) {
			o.Culture, o.Donor = c, "D"+c
			o.LU30 = nil
			edit(o)
		})
	}
	in := []Outcome{
		base("1", func(o *Outcome) { o.NKFold = ptr(850); o.LU30 = ptr(20) }),
		base("2", func(o *Outcome) { o.NKFold = ptr(1700); o.LU30 = ptr(50) }),
		base("3", func(o *Outcome) { o.NKFold = ptr(400); o.ViabilityPct = ptr(60) }),
		base("4", func(o *Outcome) { o.NKFold = ptr(100); o.TCellPct = nil }),
		base("5", func(o *Outcome) { o.NKFold = ptr(300); o.StartingNKFraction = 0 }),
	}
	r, err := Rank(in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Protocols) != 1 {
		t.Fatalf("got %d protocols, want 1", len(r.Protocols))
	}
	s := r.Protocols[0]
	want := ProtocolScore{Protocol: "P1", NCultures: 5, NDonors: 5, NNKFold: 5, NLU30: 2,
		PurityPct: ptr(85), ViabilityPct: ptr(90), NAssessable: 4, NEligible: 3, EligibleShare: ptr(0.75),
		DosesPerDonor: ptr(9), NDoses: 3, Yield: ptr(math.Log10(400)), Killing: ptr(math.Log10(35)), OnFront: true}
	got := s
	got.NKFold, got.LU30 = nil, nil
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("score (-want +got):\n%s", diff)
	}
	if s.NKFold == nil || s.NKFold.Estimate != 400 || s.LU30 == nil || s.LU30.Estimate != 35 {
		t.Errorf("medians: got fold %+v, LU30 %+v; want 400 and 35", s.NKFold, s.LU30)
	}
	for _, frag := range []string{
		"P1: 1 of 5 cultures not assessable", "t_cell_pct 1",
		"P1: 1 assessable cultures lack the NK fold or the starting NK fraction",
		"P1: LU30 from 2 of 5 cultures", "Residual feeder cells", "measured: 5 of 5 cultures",
	} {
		if !strings.Contains(strings.Join(r.Notes, "\n"), frag) {
			t.Errorf("notes %q: want one containing %q", r.Notes, frag)
		}
	}
}

// synthProtocol describes a protocol of the synthetic consortium: lognormal fold and LU30
// around the given medians, purity around purity %.
type synthProtocol struct {
	name         string
	fold, lu30   float64
	purity       float64
	noLU30       bool
	foldSD, luSD float64
}

// synthesize draws one culture per donor and protocol from r.
func synthesize(r *rand.Rand, protocols []synthProtocol, donors int) []Outcome {
	var out []Outcome
	for d := range donors {
		donor := fmt.Sprintf("D%03d", d)
		donorEffect := 0.5 * r.NormFloat64() // shared by a donor's arms, ln scale
		for _, p := range protocols {
			purity := math.Min(99, p.purity+3*r.NormFloat64())
			o := Outcome{
				Culture: fmt.Sprintf("%s-%s", donor, p.name), Donor: donor, Protocol: p.name,
				StartingNKFraction: 0.05 + 0.1*r.Float64(),
				NKFold:             ptr(p.fold * math.Exp(donorEffect+p.foldSD*r.NormFloat64())),
				PurityPct:          ptr(purity),
				ViabilityPct:       ptr(math.Min(99, 88+4*r.NormFloat64())),
				TCellPct:           ptr(math.Max(0, 0.2+0.1*r.NormFloat64())),
				K562LysisAt20:      ptr(40 + 10*r.NormFloat64()),
			}
			if !p.noLU30 {
				o.LU30 = ptr(p.lu30 * math.Exp(p.luSD*r.NormFloat64()))
				o.LU20 = ptr(1.6 * *o.LU30)
			}
			out = append(out, o)
		}
	}
	return out
}

// TestRankSynthetic ranks a consortium whose answer is known by construction (medians a
// factor of 3 or more apart, noise log-SD 0.3, 12 donors):
//   - HighYield (fold 3,000, LU30 10) but purity 50 %: on the front by yield, never eligible,
//     so 0 doses per donor;
//   - Balanced (fold 1,000, LU30 30): on the front, eligible, the most doses per donor;
//   - Killer (fold 300, LU30 100): on the front by killing;
//   - Weak (fold 100, LU30 20): dominated by Balanced;
//   - NoAssay (fold 500, no LU30): not on the front, noted.
func TestRankSynthetic(t *testing.T) {
	protocols := []synthProtocol{
		{name: "Weak", fold: 100, lu30: 20, purity: 85, foldSD: 0.3, luSD: 0.3},
		{name: "Killer", fold: 300, lu30: 100, purity: 85, foldSD: 0.3, luSD: 0.3},
		{name: "HighYield", fold: 3000, lu30: 10, purity: 50, foldSD: 0.3, luSD: 0.3},
		{name: "NoAssay", fold: 500, purity: 85, noLU30: true, foldSD: 0.3},
		{name: "Balanced", fold: 1000, lu30: 30, purity: 85, foldSD: 0.3, luSD: 0.3},
	}
	in := synthesize(rand.New(rand.NewPCG(2026, 4)), protocols, 12)
	r, err := Rank(in, Options{Bootstrap: stats.BootstrapOptions{Seed: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"HighYield", "Balanced", "Killer"}; !slices.Equal(r.Front, want) {
		t.Errorf("front: got %v, want %v", r.Front, want)
	}
	var order []string
	by := map[string]ProtocolScore{}
	for _, s := range r.Protocols {
		order = append(order, s.Protocol)
		by[s.Protocol] = s
	}
	if want := []string{"HighYield", "Balanced", "Killer", "NoAssay", "Weak"}; !slices.Equal(order, want) {
		t.Errorf("scoreboard order: got %v, want %v", order, want)
	}
	if s := by["HighYield"]; s.EligibleShare == nil || *s.EligibleShare != 0 || s.DosesPerDonor == nil || *s.DosesPerDonor != 0 {
		t.Errorf("HighYield: got share %v, doses %v; want 0 and 0", s.EligibleShare, s.DosesPerDonor)
	}
	best, bestDoses := "", -1.0
	for _, s := range r.Protocols {
		if s.DosesPerDonor != nil && *s.DosesPerDonor > bestDoses {
			best, bestDoses = s.Protocol, *s.DosesPerDonor
		}
	}
	if best != "Balanced" {
		t.Errorf("most doses per donor: got %s (%g), want Balanced", best, bestDoses)
	}
	for _, name := range []string{"Balanced", "Killer", "Weak"} {
		s := by[name]
		if s.EligibleShare == nil || *s.EligibleShare < 0.9 {
			t.Errorf("%s eligible share: got %v, want ≥ 0.9", name, s.EligibleShare)
		}
		if ci := s.NKFold; ci == nil || !(ci.Low <= ci.Estimate && ci.Estimate <= ci.High && ci.Low < ci.High) {
			t.Errorf("%s fold interval: got %+v, want a proper interval around the estimate", name, ci)
		}
	}
	// The true medians lie inside the 95 % intervals (noise and donor effect are symmetric on
	// the log scale, so the population median fold is the given fold).
	for _, p := range protocols {
		s := by[p.name]
		if s.NKFold.Low > p.fold || s.NKFold.High < p.fold {
			t.Errorf("%s: fold interval [%g, %g] misses the true median %g", p.name, s.NKFold.Low, s.NKFold.High, p.fold)
		}
	}
	if !strings.Contains(strings.Join(r.Notes, "\n"), "NoAssay: no LU30 recorded: not on the Pareto front") {
		t.Errorf("notes %q: want the NoAssay LU30 note", r.Notes)
	}
	if r.Hypervolume == nil || *r.Hypervolume <= 0 {
		t.Errorf("hypervolume: got %v, want > 0", r.Hypervolume)
	}
	if _, err := json.Marshal(r); err != nil {
		t.Errorf("JSON: %v", err)
	}
}

// TestRankStreams: the same input and seed give the same ranking, and a protocol's intervals
// do not change when another protocol is added.
func TestRankStreams(t *testing.T) {
	protocols := []synthProtocol{
		{name: "A", fold: 800, lu30: 30, purity: 85, foldSD: 0.4, luSD: 0.4},
		{name: "B", fold: 300, lu30: 60, purity: 85, foldSD: 0.4, luSD: 0.4},
	}
	in := synthesize(rand.New(rand.NewPCG(1, 1)), protocols, 15)
	opt := Options{Bootstrap: stats.BootstrapOptions{Seed: 77, Resamples: 500}}
	r1, err := Rank(in, opt)
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := Rank(in, opt)
	if diff := cmp.Diff(r1, r2); diff != "" {
		t.Errorf("same input, same seed (-first +second):\n%s", diff)
	}
	var onlyA []Outcome
	for _, o := range in {
		if o.Protocol == "A" {
			onlyA = append(onlyA, o)
		}
	}
	r3, _ := Rank(onlyA, opt)
	if diff := cmp.Diff(r1.Protocols[0].NKFold, r3.Protocols[0].NKFold); r1.Protocols[0].Protocol != "A" || diff != "" {
		t.Errorf("A's fold interval with and without B (-with +without):\n%s", diff)
	}
	r4, _ := Rank(in, Options{Bootstrap: stats.BootstrapOptions{Seed: 78, Resamples: 500}})
	if cmp.Equal(r1.Protocols[0].NKFold, r4.Protocols[0].NKFold) && cmp.Equal(r1.Protocols[0].LU30, r4.Protocols[0].LU30) &&
		cmp.Equal(r1.Protocols[1].NKFold, r4.Protocols[1].NKFold) {
		t.Errorf("seeds 77 and 78 gave identical intervals for every metric; want the seed to matter")
	}
}

func TestRankEmpty(t *testing.T) {
	r, err := Rank(nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Protocols) != 0 || len(r.Front) != 0 || r.Hypervolume != nil || len(r.Notes) != 1 {
		t.Errorf("got %+v, want an empty ranking with one note", r)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, frag := range []string{`"protocols":[]`, `"pareto_front":[]`, `"hypervolume":null`, `"dose_cells":700000000`, `"min_purity_pct":70`} {
		if !strings.Contains(string(b), frag) {
			t.Errorf("JSON %s: want it to contain %s", b, frag)
		}
	}
}

func TestRankEdgeProtocols(t *testing.T) {
	in := []Outcome{
		harvest(func(o *Outcome) { o.Culture, o.Protocol, o.NKFold, o.LU30 = "a", "Dead", ptr(0), ptr(5) }),
		harvest(func(o *Outcome) { o.Culture, o.Protocol, o.NKFold, o.LU30 = "b", "NoFold", nil, ptr(5) }),
		harvest(func(o *Outcome) { o.Culture, o.Protocol, o.NKFold, o.LU30 = "c", "Fine", ptr(10), ptr(5) }),
		harvest(func(o *Outcome) { o.Culture, o.Protocol, o.NKFold, o.LU30 = "d", "Fine", ptr(30), ptr(5) }),
	}
	r, err := Rank(in, Options{Bootstrap: stats.BootstrapOptions{Resamples: 20}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"Fine"}; !slices.Equal(r.Front, want) {
		t.Errorf("front: got %v, want %v", r.Front, want)
	}
	var order []string
	for _, s := range r.Protocols {
		order = append(order, s.Protocol)
	}
	if want := []string{"Fine", "Dead", "NoFold"}; !slices.Equal(order, want) {
		t.Errorf("order: got %v, want %v", order, want)
	}
	notes := strings.Join(r.Notes, "\n")
	for _, frag := range []string{"Dead: the median NK fold is 0", "NoFold: no NK fold recorded", "Fine: 1 donors have several cultures"} {
		if !strings.Contains(notes, frag) {
			t.Errorf("notes %q: want one containing %q", r.Notes, frag)
		}
	}
	if _, err := json.Marshal(r); err != nil {
		t.Errorf("JSON: %v", err)
	}
}

func TestRankErrors(t *testing.T) {
	good := harvest(nil)
	tests := []struct {
		name   string
		in     []Outcome
		opt    Options
		fields []string
	}{
		{"negative weight", []Outcome{good}, Options{WeightKg: -70}, []string{"options.weight_kg"}},
		{"recovery above 1", nil, Options{ProcessRecovery: 1.2}, []string{"options.process_recovery"}},
		{"QC fraction 1", nil, Options{QCFraction: 1}, []string{"options.qc_fraction"}},
		{"dose NaN", nil, Options{DosePerKg: math.NaN()}, []string{"options.dose_per_kg"}},
		{"donor unit Inf", nil, Options{DonorUnitCells: math.Inf(1)}, []string{"options.donor_unit_cells"}},
		{"T cap negative", nil, Options{Spec: Spec{MaxTCellsPerKg: -1}}, []string{"options.spec.max_t_cells_per_kg"}},
		{"bootstrap level", nil, Options{Bootstrap: stats.BootstrapOptions{Level: 1.5}}, []string{"options.bootstrap.level"}},
		{"dose overflow", nil, Options{DosePerKg: 1e300, WeightKg: 1e10}, []string{"options.dose_per_kg"}},
		{"names missing", []Outcome{{Culture: " ", NKFold: ptr(1)}}, Options{},
			[]string{"outcomes[0].culture", "outcomes[0].donor", "outcomes[0].protocol"}},
		{"duplicate culture", []Outcome{good, good}, Options{}, []string{"outcomes[1].culture"}},
		{"bad values", []Outcome{harvest(func(o *Outcome) {
			o.StartingNKFraction, o.NKFold, o.LU30, o.LU20 = 1.5, ptr(-2), ptr(0), ptr(math.NaN())
		})}, Options{}, []string{"outcomes[0].starting_nk_fraction", "outcomes[0].nk_fold", "outcomes[0].lu30", "outcomes[0].lu20"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Rank(tc.in, tc.opt)
			if clink.ErrorCode(err) != clink.EINVALID || r != nil {
				t.Fatalf("got %v, %v; want nil and an EINVALID error", r, err)
			}
			var got []string
			for _, f := range clink.ErrorFields(err) {
				got = append(got, f.Field)
			}
			if !slices.Equal(got, tc.fields) {
				t.Errorf("fields: got %v, want %v (%v)", got, tc.fields, err)
			}
		})
	}
}

// TestRankErrorCap: many bad outcomes give 20 field errors and a count of the rest.
func TestRankErrorCap(t *testing.T) {
	in := make([]Outcome, 30)
	for i := range in {
		in[i] = harvest(func(o *Outcome) { o.Culture = fmt.Sprint(i); o.PurityPct = ptr(-1) })
	}
	_, err := Rank(in, Options{})
	f := clink.ErrorFields(err)
	if len(f) != 21 || f[20].Message != "10 more problems not listed" {
		t.Errorf("got %d fields, last %v; want 20 and a note of 10 more", len(f), f[len(f)-1])
	}
	if want := `culture "0": must be a percentage in [0, 100], got -1`; f[0].Message != want {
		t.Errorf("first message: got %q, want %q", f[0].Message, want)
	}
}

func TestOptionsValidate(t *testing.T) {
	if err := (Options{}).Validate(); err != nil {
		t.Errorf("zero options: got %v, want nil", err)
	}
	err := (Options{WeightKg: -1, Bootstrap: stats.BootstrapOptions{Resamples: -3}}).Validate()
	var got []string
	for _, f := range clink.ErrorFields(err) {
		got = append(got, f.Field)
	}
	if want := []string{"weight_kg", "bootstrap.resamples"}; !slices.Equal(got, want) {
		t.Errorf("fields: got %v, want %v", got, want)
	}
}

// demoProtocols are eleven protocols spanning the demo's range of folds and killing.
func demoProtocols() []synthProtocol {
	var ps []synthProtocol
	for i := range 11 {
		ps = append(ps, synthProtocol{
			name: fmt.Sprintf("P%02d", i+1), fold: 100 * math.Pow(1.4, float64(i)), lu30: 80 / math.Pow(1.25, float64(i)),
			purity: 75 + float64(i), noLU30: i == 10, foldSD: 0.4, luSD: 0.4,
		})
	}
	return ps
}

// BenchmarkRank ranks 2,110 outcomes over 11 protocols (the demo's 211 cultures × 10), with
// 2,000-resample bootstraps of the fold and LU30 medians of every protocol.
func BenchmarkRank(b *testing.B) {
	in := synthesize(rand.New(rand.NewPCG(9, 9)), demoProtocols(), 192)[:2110]
	for b.Loop() {
		if _, err := Rank(in, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
