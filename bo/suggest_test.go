package bo

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/gp"
)

// fast are options that keep the tests quick.
func fast(o Options) Options {
	if o.RawSamples == 0 {
		o.RawSamples = 128
	}
	if o.Restarts == 0 {
		o.Restarts = 3
	}
	if o.Fantasies == 0 {
		o.Fantasies = 8
	}
	if o.GPRestarts == 0 {
		o.GPRestarts = 2
	}
	return o
}

// checkSuggestions fails unless every suggestion is a valid point of dims that meets the
// linear constraints, and no two repeat each other or a pending point.
func checkSuggestions(tb testing.TB, sugg []Suggestion, dims []gp.Dim, lc LinearConstraints, pending [][]float64) {
	tb.Helper()
	seen := append([][]float64(nil), pending...)
	for i, s := range sugg {
		if len(s.X) != len(dims) {
			tb.Fatalf("suggestion %d has %d coordinates, want %d", i, len(s.X), len(dims))
		}
		for j, v := range s.X {
			if dims[j].Kind == gp.Categorical {
				if v != math.Trunc(v) || v < 0 || v >= float64(dims[j].Levels) {
					tb.Errorf("suggestion %d: coordinate %d = %g, want a level 0..%d", i, j, v, dims[j].Levels-1)
				}
			} else if !(v >= 0 && v <= 1) {
				tb.Errorf("suggestion %d: coordinate %d = %g, want in [0, 1]", i, j, v)
			}
		}
		for r, row := range lc.A {
			if got := dot(row, s.X); got > lc.B[r]+1e-9 {
				tb.Errorf("suggestion %d: constraint %d: %g > %g", i, r, got, lc.B[r])
			}
		}
		for k, p := range seen {
			if sameX(p, s.X, distinctTol) {
				tb.Errorf("suggestion %d repeats point %d of the pending and earlier suggestions: %v", i, k, s.X)
			}
		}
		seen = append(seen, s.X)
	}
}

func branin2(x []float64) []float64 {
	return []float64{-Branin(15*x[0]-5, 15*x[1]), -Currin(x[0], x[1])}
}

func TestSuggestBatchReproducible(t *testing.T) {
	obs := testObservations(t, []gp.Dim{{}, {}}, 10, 1, branin2)
	opt := fast(Options{Objectives: []Objective{{Outcome: 0, Maximize: true}}, Batch: 4, Seed: 7,
		Pending: [][]float64{{0.5, 0.5}}})
	a, err := Suggest(obs, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 4 {
		t.Fatalf("got %d suggestions, want 4", len(a))
	}
	checkSuggestions(t, a, []gp.Dim{{}, {}}, LinearConstraints{}, opt.Pending)
	for i, s := range a {
		if len(s.Mean) != 2 || math.IsNaN(s.Mean[0]) || !(s.SD[0] > 0) || !math.IsNaN(s.Mean[1]) || math.IsNaN(s.Acquisition) {
			t.Errorf("suggestion %d: mean %v, sd %v, acquisition %g; want outcome 0 predicted, outcome 1 NaN", i, s.Mean, s.SD, s.Acquisition)
		}
	}
	b, err := Suggest(obs, opt)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, b, cmpopts.EquateNaNs()); diff != "" {
		t.Errorf("same seed, different suggestions (-first +second):\n%s", diff)
	}
	opt.Seed = 8
	c, err := Suggest(obs, opt)
	if err != nil {
		t.Fatal(err)
	}
	if cmp.Equal(a, c, cmpopts.EquateNaNs()) {
		t.Errorf("seeds 7 and 8 gave identical suggestions")
	}
}

// TestSuggestInputConstraints maximises x0 + x1 under x0 + x1 ≤ 0.8 and x0 − x1 ≤ 0.2: the
// suggestions must keep to both, and the first should sit near the boundary where the
// objective is best.
func TestSuggestInputConstraints(t *testing.T) {
	dims := []gp.Dim{{}, {}}
	lc := LinearConstraints{A: [][]float64{{1, 1}, {1, -1}}, B: []float64{0.8, 0.2}}
	sum := func(x []float64) []float64 { return []float64{x[0] + x[1]} }
	var obs []Observation
	for _, o := range testObservations(t, dims, 30, 0.01, sum) {
		if dot(lc.A[0], o.X) <= lc.B[0] && dot(lc.A[1], o.X) <= lc.B[1] {
			obs = append(obs, o)
		}
	}
	sugg, err := Suggest(obs, fast(Options{Objectives: []Objective{{Outcome: 0, Maximize: true}}, InputConstraints: lc, Batch: 3, Seed: 1}))
	if err != nil {
		t.Fatal(err)
	}
	checkSuggestions(t, sugg, dims, lc, nil)
	if s := sugg[0].X[0] + sugg[0].X[1]; s < 0.7 {
		t.Errorf("first suggestion %v has x0 + x1 = %g, want near the bound 0.8", sugg[0].X, s)
	}
}

// TestSuggestCategorical: the objective is much higher at level 2 of the categorical
// coordinate; with three levels the optimiser enumerates them, with 6 × 6 = 36 combinations
// of two categorical coordinates it alternates.
func TestSuggestCategorical(t *testing.T) {
	for _, tc := range []struct {
		name string
		dims []gp.Dim
	}{
		{"enumerated", []gp.Dim{{}, {Kind: gp.Categorical, Levels: 3}}},
		{"alternating", []gp.Dim{{}, {Kind: gp.Categorical, Levels: 6}, {Kind: gp.Categorical, Levels: 6}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := func(x []float64) []float64 {
				v := -(x[0] - 0.3) * (x[0] - 0.3)
				if x[1] == 2 {
					v += 2
				}
				return []float64{v}
			}
			obs := testObservations(t, tc.dims, 18, 0.01, f)
			sugg, err := Suggest(obs, fast(Options{Dims: tc.dims, Objectives: []Objective{{Outcome: 0, Maximize: true}}, Batch: 3, Seed: 2}))
			if err != nil {
				t.Fatal(err)
			}
			checkSuggestions(t, sugg, tc.dims, LinearConstraints{}, nil)
			if sugg[0].X[1] != 2 {
				t.Errorf("first suggestion %v, want level 2 of coordinate 1", sugg[0].X)
			}
		})
	}
}

func TestSuggestShortBatch(t *testing.T) {
	dims := []gp.Dim{{Kind: gp.Categorical, Levels: 3}}
	obs := []Observation{{X: []float64{0}, Y: []float64{1}, Group: -1}, {X: []float64{1}, Y: []float64{2}, Group: -1}, {X: []float64{0}, Y: []float64{1.2}, Group: -1}}
	for _, tc := range []struct {
		name    string
		pending [][]float64
		want    int
	}{
		{"all levels", nil, 3},
		{"one pending", [][]float64{{2}}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sugg, err := Suggest(obs, fast(Options{Dims: dims, Objectives: []Objective{{Outcome: 0, Maximize: true}}, Batch: 5, Pending: tc.pending}))
			if !errors.Is(err, ErrShortBatch) {
				t.Fatalf("error %v, want ErrShortBatch", err)
			}
			if len(sugg) != tc.want {
				t.Errorf("got %d suggestions, want %d", len(sugg), tc.want)
			}
			checkSuggestions(t, sugg, dims, LinearConstraints{}, tc.pending)
		})
	}
}

func TestSuggestRound(t *testing.T) {
	dims := []gp.Dim{{}, {}}
	obs := testObservations(t, dims, 10, 0.1, smooth3)
	round := func(x []float64) { x[0] = math.Round(x[0]*4) / 4 }
	sugg, err := Suggest(obs, fast(Options{Objectives: []Objective{{Outcome: 0, Maximize: true}}, Batch: 4, Round: round}))
	if err != nil {
		t.Fatal(err)
	}
	checkSuggestions(t, sugg, dims, LinearConstraints{}, nil)
	for _, s := range sugg {
		if v := s.X[0] * 4; v != math.Round(v) {
			t.Errorf("suggestion %v: coordinate 0 not a multiple of 1/4", s.X)
		}
	}
}

// TestSuggestOutcomeConstraint maximises x0 subject to a second outcome 1 − x0 ≥ 0.4, that is
// x0 ≤ 0.6: the first suggestion should lie near 0.6, not at 1.
func TestSuggestOutcomeConstraint(t *testing.T) {
	dims := []gp.Dim{{}, {}}
	f := func(x []float64) []float64 { return []float64{x[0], 1 - x[0]} }
	obs := testObservations(t, dims, 16, 0.01, f)
	opt := fast(Options{Objectives: []Objective{{Outcome: 0, Maximize: true}}, Constraints: []OutcomeConstraint{{Outcome: 1, Bound: 0.4}}, Seed: 3})
	sugg, err := Suggest(obs, opt)
	if err != nil {
		t.Fatal(err)
	}
	if x := sugg[0].X[0]; x < 0.45 || x > 0.7 {
		t.Errorf("first suggestion %v, want x0 near 0.6", sugg[0].X)
	}
	if m := sugg[0].Mean[1]; math.IsNaN(m) {
		t.Errorf("constraint outcome not predicted: mean %v", sugg[0].Mean)
	}
	// Upper bound on the same outcome: 1 − x0 ≤ 0.3 means x0 ≥ 0.7; the best is x0 = 1.
	opt.Constraints = []OutcomeConstraint{{Outcome: 1, Bound: 0.3, Upper: true}}
	sugg, err = Suggest(obs, opt)
	if err != nil {
		t.Fatal(err)
	}
	if x := sugg[0].X[0]; x < 0.85 {
		t.Errorf("with an upper bound, first suggestion %v, want x0 near 1", sugg[0].X)
	}
}

func TestSuggestTwoObjectives(t *testing.T) {
	dims := []gp.Dim{{}, {}}
	obs := testObservations(t, dims, 12, 0.5, branin2)
	r0, r1 := -18.0, -6.0
	for _, tc := range []struct {
		name string
		objs []Objective
	}{
		{"given reference", []Objective{{Outcome: 0, Maximize: true, Reference: &r0}, {Outcome: 1, Maximize: true, Reference: &r1}}},
		{"inferred reference", []Objective{{Outcome: 0, Maximize: true}, {Outcome: 1, Maximize: true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sugg, err := Suggest(obs, fast(Options{Objectives: tc.objs, Batch: 3, Seed: 4}))
			if err != nil {
				t.Fatal(err)
			}
			if len(sugg) != 3 {
				t.Fatalf("got %d suggestions, want 3", len(sugg))
			}
			checkSuggestions(t, sugg, dims, LinearConstraints{}, nil)
			for _, s := range sugg {
				if math.IsNaN(s.Mean[0]) || math.IsNaN(s.Mean[1]) || math.IsNaN(s.Acquisition) {
					t.Errorf("suggestion %v: mean %v, acquisition %g, want numbers", s.X, s.Mean, s.Acquisition)
				}
			}
		})
	}
}

func TestSuggestSpaceFilling(t *testing.T) {
	dims := []gp.Dim{{}, {Kind: gp.Categorical, Levels: 4}}
	lc := LinearConstraints{A: [][]float64{{1, 0}}, B: []float64{0.5}}
	for _, obs := range [][]Observation{
		nil,
		{{X: []float64{0.2, 1}, Y: []float64{3}, Group: -1}},
		{{X: []float64{0.2, 1}, Y: []float64{3}, Group: -1}, {X: []float64{0.3, 1}, Y: []float64{math.NaN()}, Group: -1}, {X: []float64{0.1, 1}, Y: []float64{4}, Failed: true}},
	} {
		sugg, err := Suggest(obs, Options{Dims: dims, Objectives: []Objective{{Outcome: 0}}, InputConstraints: lc, Batch: 5, Seed: 1})
		if err != nil {
			t.Fatalf("%d observations: %v", len(obs), err)
		}
		if len(sugg) != 5 {
			t.Fatalf("%d observations: got %d suggestions, want 5", len(obs), len(sugg))
		}
		checkSuggestions(t, sugg, dims, lc, nil)
		for _, s := range sugg {
			if !math.IsNaN(s.Acquisition) || !math.IsNaN(s.Mean[0]) {
				t.Errorf("space-filling suggestion %v: acquisition %g, mean %v, want NaN", s.X, s.Acquisition, s.Mean)
			}
		}
	}
}

// TestSuggestFailedExcluded: a failed observation with an absurd value changes nothing.
func TestSuggestFailedExcluded(t *testing.T) {
	dims := []gp.Dim{{}, {}}
	obs := testObservations(t, dims, 10, 0.1, smooth3)
	opt := fast(Options{Objectives: []Objective{{Outcome: 0, Maximize: true}}, Batch: 2, Seed: 9})
	a, err := Suggest(obs, opt)
	if err != nil {
		t.Fatal(err)
	}
	withFailed := append(append([]Observation(nil), obs...), Observation{X: []float64{0.9, 0.9}, Y: []float64{1e6, 1e6, 1e6}, Group: -1, Failed: true})
	b, err := Suggest(withFailed, opt)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, b, cmpopts.EquateNaNs()); diff != "" {
		t.Errorf("a failed observation changed the suggestions (-without +with):\n%s", diff)
	}
}

func TestSuggestDonors(t *testing.T) {
	dims := []gp.Dim{{}, {}}
	obs := testObservations(t, dims, 18, 0.05, smooth3)
	for i := range obs {
		obs[i].Group = i % 3
		obs[i].Y[0] += float64(i%3) * 2 // a large donor offset
	}
	for _, norm := range []Normalization{NormalizeRandomEffect, NormalizeWithinGroup} {
		sugg, err := Suggest(obs, fast(Options{Objectives: []Objective{{Outcome: 0, Maximize: true}}, Batch: 2, Normalize: norm}))
		if err != nil {
			t.Fatalf("normalize %d: %v", norm, err)
		}
		checkSuggestions(t, sugg, dims, LinearConstraints{}, nil)
	}
}

func TestTrainingDataWithinGroup(t *testing.T) {
	obs := []Observation{
		{X: []float64{0}, Y: []float64{1}, Group: 0},
		{X: []float64{1}, Y: []float64{3}, Group: 0},
		{X: []float64{0}, Y: []float64{11}, Group: 1},
		{X: []float64{1}, Y: []float64{13}, Group: 1},
		{X: []float64{0.5}, Y: []float64{7}, Group: -1},
		{X: []float64{0.5}, Y: []float64{100}, Group: 1, Failed: true},
	}
	// Grand mean of the five used values: 35/5 = 7; group means 2 and 12.
	_, y, groups, noise := trainingData(obs, 0, NormalizeWithinGroup)
	if diff := cmp.Diff([]float64{6, 8, 6, 8, 7}, y); diff != "" {
		t.Errorf("centred y (-want +got):\n%s", diff)
	}
	if groups != nil || noise != nil {
		t.Errorf("groups %v, noise %v, want nil", groups, noise)
	}
	_, y, groups, _ = trainingData(obs, 0, NormalizeRandomEffect)
	if diff := cmp.Diff([]float64{1, 3, 11, 13, 7}, y); diff != "" {
		t.Errorf("random effect y (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{0, 0, 1, 1, -1}, groups); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
}

func TestSuggestInvalid(t *testing.T) {
	good := func() ([]Observation, Options) {
		obs := []Observation{{X: []float64{0.1, 0.2}, Y: []float64{1, 2}, Group: -1}, {X: []float64{0.5, 0.6}, Y: []float64{2, 1}, Group: -1}}
		return obs, Options{Objectives: []Objective{{Outcome: 0, Maximize: true}}}
	}
	for _, tc := range []struct {
		name  string
		edit  func(obs []Observation, o *Options) []Observation
		field string
	}{
		{"x length", func(obs []Observation, o *Options) []Observation { obs[1].X = []float64{0.5}; return obs }, "observations[1].x"},
		{"x out of range", func(obs []Observation, o *Options) []Observation { obs[0].X[1] = 1.5; return obs }, "observations[0].x[1]"},
		{"x NaN", func(obs []Observation, o *Options) []Observation { obs[0].X[0] = math.NaN(); return obs }, "observations[0].x[0]"},
		{"categorical level", func(obs []Observation, o *Options) []Observation {
			o.Dims = []gp.Dim{{}, {Kind: gp.Categorical, Levels: 2}}
			obs[0].X[1] = 0.5
			return obs
		}, "observations[0].x[1]"},
		{"levels", func(obs []Observation, o *Options) []Observation {
			o.Dims = []gp.Dim{{}, {Kind: gp.Categorical}}
			return obs
		}, "options.dims[1].levels"},
		{"y infinite", func(obs []Observation, o *Options) []Observation { obs[0].Y[0] = math.Inf(1); return obs }, "observations[0].y[0]"},
		{"se length", func(obs []Observation, o *Options) []Observation { obs[0].SE = []float64{1}; return obs }, "observations[0].se"},
		{"se negative", func(obs []Observation, o *Options) []Observation { obs[0].SE = []float64{1, -1}; return obs }, "observations[0].se[1]"},
		{"group", func(obs []Observation, o *Options) []Observation { obs[0].Group = -2; return obs }, "observations[0].group"},
		{"no objectives", func(obs []Observation, o *Options) []Observation { o.Objectives = nil; return obs }, "options.objectives"},
		{"three objectives", func(obs []Observation, o *Options) []Observation {
			o.Objectives = []Objective{{Outcome: 0}, {Outcome: 1}, {Outcome: 1}}
			return obs
		}, "options.objectives"},
		{"objective outcome", func(obs []Observation, o *Options) []Observation { o.Objectives[0].Outcome = 2; return obs }, "options.objectives[0].outcome"},
		{"repeated objective", func(obs []Observation, o *Options) []Observation {
			o.Objectives = append(o.Objectives, Objective{Outcome: 0})
			return obs
		}, "options.objectives[1].outcome"},
		{"reference", func(obs []Observation, o *Options) []Observation {
			nan := math.NaN()
			o.Objectives[0].Reference = &nan
			return obs
		}, "options.objectives[0].reference"},
		{"constraint outcome", func(obs []Observation, o *Options) []Observation {
			o.Constraints = []OutcomeConstraint{{Outcome: -1}}
			return obs
		}, "options.constraints[0].outcome"},
		{"constraint bound", func(obs []Observation, o *Options) []Observation {
			o.Constraints = []OutcomeConstraint{{Outcome: 1, Bound: math.Inf(1)}}
			return obs
		}, "options.constraints[0].bound"},
		{"a and b", func(obs []Observation, o *Options) []Observation {
			o.InputConstraints = LinearConstraints{A: [][]float64{{1, 1}}}
			return obs
		}, "options.input_constraints"},
		{"a row", func(obs []Observation, o *Options) []Observation {
			o.InputConstraints = LinearConstraints{A: [][]float64{{1}}, B: []float64{1}}
			return obs
		}, "options.input_constraints.a[0]"},
		{"b NaN", func(obs []Observation, o *Options) []Observation {
			o.InputConstraints = LinearConstraints{A: [][]float64{{1, 1}}, B: []float64{math.NaN()}}
			return obs
		}, "options.input_constraints.b[0]"},
		{"batch", func(obs []Observation, o *Options) []Observation { o.Batch = -1; return obs }, "options.batch"},
		{"pending", func(obs []Observation, o *Options) []Observation { o.Pending = [][]float64{{2, 0}}; return obs }, "options.pending[0][0]"},
		{"normalize", func(obs []Observation, o *Options) []Observation { o.Normalize = 7; return obs }, "options.normalize"},
		{"fantasies", func(obs []Observation, o *Options) []Observation { o.Fantasies = -1; return obs }, "options.fantasies"},
		{"no dims", func(obs []Observation, o *Options) []Observation { return nil }, "options.dims"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obs, opt := good()
			obs = tc.edit(obs, &opt)
			_, err := Suggest(obs, opt)
			var ce *clink.Error
			if !errors.As(err, &ce) || ce.Code != clink.EINVALID {
				t.Fatalf("error %v, want an EINVALID *clink.Error", err)
			}
			found := false
			for _, f := range ce.Fields {
				found = found || f.Field == tc.field
			}
			if !found {
				t.Errorf("error %v, want one about %s", err, tc.field)
			}
		})
	}
}

func TestPartialDependence(t *testing.T) {
	dims := []gp.Dim{{}, {}}
	obs := testObservations(t, dims, 12, 0.05, smooth3)
	m, X, err := FitOutcome(obs, Options{Seed: 1}, 0)
	if err != nil {
		t.Fatal(err)
	}
	grid := []float64{0, 0.25, 0.5, 1}
	mean, sd, err := PartialDependence(m, X, 0, grid)
	if err != nil {
		t.Fatal(err)
	}
	for g, v := range grid {
		// The mean is the average of the pointwise means (linearity); the SD of the average is
		// positive and at most the average pointwise SD (correlations are at most 1).
		var mu, avgSD float64
		for _, x := range X {
			y := append([]float64(nil), x...)
			y[0] = v
			a, b := m.Predict(y)
			mu += a / float64(len(X))
			avgSD += math.Sqrt(b) / float64(len(X))
		}
		if math.Abs(mean[g]-mu) > 1e-9*(1+math.Abs(mu)) {
			t.Errorf("grid %g: mean %g, want %g", v, mean[g], mu)
		}
		if !(sd[g] > 0 && sd[g] <= avgSD*(1+1e-9)) {
			t.Errorf("grid %g: sd %g, want in (0, %g]", v, sd[g], avgSD)
		}
	}
	for _, tc := range []struct {
		name string
		dim  int
		grid []float64
		X    [][]float64
	}{
		{"dim", 2, grid, X}, {"grid NaN", 0, []float64{math.NaN()}, X}, {"no X", 0, grid, nil}, {"ragged X", 0, grid, [][]float64{{0, 0}, {0}}},
	} {
		if _, _, err := PartialDependence(m, tc.X, tc.dim, tc.grid); err == nil || !strings.Contains(err.Error(), "want") {
			t.Errorf("%s: error %v, want one saying what is wanted", tc.name, err)
		}
	}
}

// TestFantasyCounts: noisy EI takes DefaultFantasies, noisy EHVI DefaultFantasiesEHVI, and
// Options.Fantasies overrides both.
func TestFantasyCounts(t *testing.T) {
	one := []Objective{{Outcome: 0, Maximize: true}}
	two := []Objective{{Outcome: 0, Maximize: true}, {Outcome: 1, Maximize: true}}
	for _, tc := range []struct {
		objs []Objective
		opt  int
		want int
	}{{one, 0, DefaultFantasies}, {two, 0, DefaultFantasiesEHVI}, {one, 5, 5}, {two, 5, 5}} {
		st := &state{opt: Options{Objectives: tc.objs, Fantasies: tc.opt}}
		if got := st.fantasies(); got != tc.want {
			t.Errorf("%d objectives, Options.Fantasies %d: %d fantasies, want %d", len(tc.objs), tc.opt, got, tc.want)
		}
	}
	if DefaultFantasies != 16 || DefaultFantasiesEHVI != 64 {
		t.Errorf("defaults %d and %d, docs/benchmarks.md measured 16 and 64", DefaultFantasies, DefaultFantasiesEHVI)
	}
}
