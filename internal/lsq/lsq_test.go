package lsq

import (
	"errors"
	"fmt"
	"math"
	"testing"
)

var inf = math.Inf(1)

// TestFitExact recovers the parameters of noise-free curves: the values follow from the model
// formulas, which the curves pass through (nls cannot be the reference here: it fails on
// zero-residual data).
func TestFitExact(t *testing.T) {
	tests := []struct {
		name   string
		f      func([]float64, float64, []float64) (float64, bool)
		truth  []float64
		p0     []float64
		x      []float64
		lo, hi []float64
	}{
		{
			name: "exponential decay", f: expDecay, truth: []float64{5, 0.3}, p0: []float64{1, 1},
			x: []float64{0, 1, 2, 3, 5, 8, 12},
		},
		{
			name: "exponential decay within inactive bounds", f: expDecay, truth: []float64{5, 0.3}, p0: []float64{1, 1},
			x: []float64{0, 1, 2, 3, 5, 8, 12}, lo: []float64{0, 0}, hi: []float64{10, 2},
		},
		{
			name: "exponential rise", f: expRise, truth: []float64{0.9, 0.12}, p0: []float64{0.5, 1},
			x: []float64{1.25, 2.5, 5, 10, 20},
		},
		{
			// The optimum touches the bound a <= 1 without being held there.
			name: "exponential rise to its bound", f: expRise, truth: []float64{1, 0.08}, p0: []float64{0.84, 0.1},
			x: []float64{1.25, 2.5, 5, 10, 20}, hi: []float64{1, inf},
		},
		{
			name: "logistic", f: logistic3, truth: []float64{100, 0.8, 6}, p0: []float64{80, 0.5, 5},
			x: []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14},
		},
		{
			name: "logistic from far", f: logistic3, truth: []float64{2.5e8, 0.45, 9}, p0: []float64{1e8, 1, 3},
			x: []float64{0, 2, 4, 6, 8, 11, 14, 17, 21},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			y := make([]float64, len(tc.x))
			var sumY2 float64
			for i, x := range tc.x {
				y[i], _ = tc.f(tc.truth, x, nil)
				sumY2 += y[i] * y[i]
			}
			res, err := Fit(Model{X: tc.x, Y: y, F: tc.f}, tc.p0, Options{Lower: tc.lo, Upper: tc.hi})
			if err != nil {
				t.Fatalf("got error %v at %v, want convergence", err, res.P)
			}
			checkRel(t, "P", res.P, tc.truth, 1e-8)
			if !res.Converged || !(res.RSS <= 1e-20*sumY2) {
				t.Errorf("got converged %v RSS %g, want true and RSS at most %g", res.Converged, res.RSS, 1e-20*sumY2)
			}
			for j, a := range res.Active {
				if a {
					t.Errorf("Active[%d]: got true, want false (P %v)", j, res.P)
				}
			}
		})
	}
}

// rProblem says how the tests fit one problem of testdata/nls_expected.csv.
type rProblem struct {
	points string // the problem of problems.csv
	f      func([]float64, float64, []float64) (float64, bool)
	p0     []float64
	lo, hi []float64
	active []bool // the parameters R's "port" fit leaves on a bound
}

var rProblems = map[string]rProblem{
	"puromycin":      {points: "puromycin", f: michaelisMenten, p0: []float64{200, 0.1}},
	"puromycin_klow": {points: "puromycin", f: michaelisMenten, p0: []float64{200, 0.2}, lo: []float64{-inf, 0.1}, active: []bool{false, true}},
	"exp_noisy":      {points: "exp_noisy", f: expRise, p0: []float64{0.8, 0.2}},
	"exp_bound":      {points: "exp_bound", f: expRise, p0: []float64{0.7, 0.1}, hi: []float64{1, inf}, active: []bool{true, false}},
	"fourpl_sigmoid": {points: "fourpl_sigmoid", f: fourPL, p0: []float64{0.05, 0.8, 4, 1.5}},
}

// TestFitR compares Fit and StdErrors with nls() in R 4.2.2 (testdata/nls.R): estimates and
// standard errors to 1e-6 relative, the residual sum of squares to 1e-9. Where R's "port"
// fit ends on a bound, Fit must end exactly on it and report it active.
func TestFitR(t *testing.T) {
	points, want := readProblems(t), readExpected(t)
	if len(want) != len(rProblems) {
		t.Fatalf("got %d problems in nls_expected.csv, want %d", len(want), len(rProblems))
	}
	for name, rp := range rProblems {
		t.Run(name, func(t *testing.T) {
			w, ok := want[name]
			if !ok {
				t.Fatalf("no expected values for %s", name)
			}
			m := Model{X: points[rp.points].x, Y: points[rp.points].y, F: rp.f}
			res, err := Fit(m, rp.p0, Options{Lower: rp.lo, Upper: rp.hi})
			if err != nil {
				t.Fatalf("got error %v at %v, want R's fit", err, res.P)
			}
			checkRel(t, "P", res.P, w.est, 1e-6)
			checkRel(t, "RSS", []float64{res.RSS}, []float64{w.rss}, 1e-9)
			se, err := StdErrors(m, res.P)
			if err != nil {
				t.Fatalf("StdErrors: got error %v, want R's", err)
			}
			checkRel(t, "StdErrors", se, w.se, 1e-6)
			for j := range res.P {
				act := rp.active != nil && rp.active[j]
				if res.Active[j] != act {
					t.Errorf("Active[%d]: got %v, want %v", j, res.Active[j], act)
				}
				if act && res.P[j] != w.est[j] {
					t.Errorf("P[%d]: got %.17g, want exactly the bound %.17g", j, res.P[j], w.est[j])
				}
			}
		})
	}
}

// TestFitFarStarts runs Levenberg–Marquardt from starts far from the optimum, and Nelder–Mead
// followed by Levenberg–Marquardt, on the cytotox datasets (the hard cases cytotox keeps the
// fallback for): each must land on R's optimum (testdata/nls_expected.csv) to 1e-6 relative,
// Nelder–Mead alone within 1 %.
func TestFitFarStarts(t *testing.T) {
	points, want := readProblems(t), readExpected(t)
	tests := []struct {
		name    string
		f       func([]float64, float64, []float64) (float64, bool)
		hi      []float64
		starts  [][]float64
		z0      []float64
		toP     func([]float64) []float64
		problem string
	}{
		{
			name: "exponential", f: expRise, hi: []float64{1, inf}, problem: "exp_noisy",
			starts: [][]float64{{0.01, 50}, {1, 1e-3}, {0.5, 0.5}, {1, 10}},
			z0:     []float64{math.Log(0.1 / 0.9), math.Log(5)},
			toP:    func(z []float64) []float64 { return []float64{1 / (1 + math.Exp(-z[0])), math.Exp(z[1])} },
		},
		{
			name: "4PL", f: fourPL, problem: "fourpl_sigmoid",
			starts: [][]float64{{0, 1, 1, 1}, {0.2, 0.6, 10, 0.5}},
			z0:     []float64{0, 1, 0, 0},
			toP:    func(z []float64) []float64 { return []float64{z[0], z[1], math.Exp(z[2]), math.Exp(z[3])} },
		},
	}
	for _, tc := range tests {
		w := want[tc.problem].est
		m := Model{X: points[tc.problem].x, Y: points[tc.problem].y, F: tc.f}
		for _, p0 := range tc.starts {
			t.Run(fmt.Sprintf("%s LM from %v", tc.name, p0), func(t *testing.T) {
				res, err := Fit(m, p0, Options{Upper: tc.hi})
				if err != nil {
					t.Fatalf("got error %v at %v, want convergence", err, res.P)
				}
				checkRel(t, "P", res.P, w, 1e-6)
			})
		}
		t.Run(tc.name+" Nelder–Mead then LM", func(t *testing.T) {
			s, err := newSolver(m, len(w), &Options{Upper: tc.hi})
			if err != nil {
				t.Fatal(err)
			}
			nm := tc.toP(nelderMead(func(z []float64) float64 { return s.rssAt(tc.toP(z)) }, tc.z0, nmMaxEval))
			checkRel(t, "Nelder–Mead", nm, w, 1e-2)
			res, err := Fit(m, nm, Options{Upper: tc.hi})
			if err != nil {
				t.Fatalf("got error %v at %v, want convergence", err, res.P)
			}
			checkRel(t, "P", res.P, w, 1e-6)
		})
	}
}

// TestFitFallback checks that Fit falls back on Nelder–Mead when Levenberg–Marquardt does not
// converge, and only then: two iterations do not reach the optimum of exp_noisy from
// (0.01, 50), but they polish the point Nelder–Mead finds; from R's start the default limit
// is ample.
func TestFitFallback(t *testing.T) {
	points, want := readProblems(t), readExpected(t)
	m := Model{X: points["exp_noisy"].x, Y: points["exp_noisy"].y, F: expRise}
	tests := []struct {
		name      string
		p0        []float64
		maxIter   int
		fallback  bool
		wantErr   error
		wantCalls bool // Nelder–Mead runs (ToP is called beyond Fit's check of Z0)
	}{
		{"converges without", []float64{0.8, 0.2}, 0, true, nil, false},
		{"needs it", []float64{0.01, 50}, 2, true, nil, true},
		{"needs it but has none", []float64{0.01, 50}, 2, false, ErrMaxIter, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			o := Options{MaxIter: tc.maxIter, Upper: []float64{1, inf}}
			if tc.fallback {
				o.Fallback = &Fallback{
					Z0: []float64{math.Log(0.1 / 0.9), math.Log(5)},
					ToP: func(z []float64) []float64 {
						calls++
						return []float64{1 / (1 + math.Exp(-z[0])), math.Exp(z[1])}
					},
				}
			}
			res, err := Fit(m, tc.p0, o)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("got error %v, want %v", err, tc.wantErr)
			}
			if got := calls > 1; got != tc.wantCalls {
				t.Errorf("Nelder–Mead ran: got %v (%d calls of ToP), want %v", got, calls, tc.wantCalls)
			}
			if tc.wantErr == nil {
				checkRel(t, "P", res.P, want["exp_noisy"].est, 1e-6)
			}
			if res.Converged != (tc.wantErr == nil) {
				t.Errorf("converged: got %v, want %v", res.Converged, tc.wantErr == nil)
			}
		})
	}
}

// TestFitBudget checks that a budget shared by several calls caps their accepted steps in
// total, and that a call that finds it spent stops at its start.
func TestFitBudget(t *testing.T) {
	points := readProblems(t)
	m := Model{X: points["puromycin"].x, Y: points["puromycin"].y, F: michaelisMenten}
	free, err := Fit(m, []float64{100, 1}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if free.Iterations < 4 {
		t.Fatalf("got %d iterations without a budget, want at least 4 for this test", free.Iterations)
	}
	tests := []struct {
		name           string
		budget         int
		wantErr        error
		wantIterations int
		wantLeft       int
	}{
		{"ample", 100, nil, free.Iterations, 100 - free.Iterations},
		{"short", 3, ErrBudget, 3, 0},
		{"spent", 0, ErrBudget, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.budget
			res, err := Fit(m, []float64{100, 1}, Options{Budget: &b})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("got error %v, want %v", err, tc.wantErr)
			}
			if res.Iterations != tc.wantIterations || b != tc.wantLeft {
				t.Errorf("got %d iterations and %d left, want %d and %d", res.Iterations, b, tc.wantIterations, tc.wantLeft)
			}
			if tc.wantErr != nil {
				checkFinite(t, "P", res.P)
			}
		})
	}
}

// TestFitFails checks the outcomes of runs that do not converge: each returns a finite best
// point (or none when the start cannot be evaluated), Converged false and its reason.
func TestFitFails(t *testing.T) {
	x := []float64{1.25, 2.5, 5, 10, 20}
	tests := []struct {
		name    string
		f       func([]float64, float64, []float64) (float64, bool)
		x, y    []float64
		p0      []float64
		o       Options
		wantErr error
	}{
		{"iteration limit", michaelisMenten, []float64{0.02, 0.06, 0.11, 0.22, 0.56, 1.1}, []float64{76, 97, 123, 159, 191, 207},
			[]float64{100, 1}, Options{MaxIter: 2}, ErrMaxIter},
		// y = a(1 − e^(−k x)) on convex points: the optimum lies at a → ∞, k → 0.
		{"no optimum", expRise, []float64{1, 2, 3, 4, 5, 6}, []float64{1, 2.2, 3.6, 5.5, 7.8, 11},
			[]float64{1, 0.5}, Options{}, ErrNoOptimum},
		// Lysis that falls with E:T: the best plateau is a → 0 with k → ∞, outside the model.
		{"stalled", expRise, x, []float64{0.2, -0.05, -0.1, -0.15, -0.2}, []float64{0.21, 1.8}, Options{}, ErrStalled},
		{"start outside the model", expRise, x, []float64{0.1, 0.2, 0.3, 0.4, 0.5}, []float64{-1, 0.1}, Options{}, ErrStart},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Fit(Model{X: tc.x, Y: tc.y, F: tc.f}, tc.p0, tc.o)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("got error %v (at %v), want %v", err, res.P, tc.wantErr)
			}
			if res.Converged {
				t.Errorf("converged: got true, want false")
			}
			if tc.wantErr == ErrStart {
				if res.P != nil {
					t.Errorf("P: got %v, want nil", res.P)
				}
				return
			}
			checkFinite(t, "P", res.P)
			checkFinite(t, "RSS", []float64{res.RSS})
			if len(res.Active) != len(res.P) {
				t.Errorf("Active: got %d entries, want %d", len(res.Active), len(res.P))
			}
		})
	}
}

// TestFitInput checks that unusable arguments are an *InputError naming the argument.
func TestFitInput(t *testing.T) {
	x, y := []float64{1, 2, 3}, []float64{1, 2, 3}
	toP := func(z []float64) []float64 { return z }
	nan := math.NaN()
	tests := []struct {
		name  string
		m     Model
		p0    []float64
		o     Options
		field string
	}{
		{"no model", Model{X: x, Y: y}, []float64{1, 1}, Options{}, "Model.F"},
		{"lengths differ", Model{X: x, Y: y[:2], F: expDecay}, []float64{1, 1}, Options{}, "Model.Y"},
		{"no points", Model{F: expDecay}, []float64{1, 1}, Options{}, "Model.X"},
		{"NaN x", Model{X: []float64{1, nan, 3}, Y: y, F: expDecay}, []float64{1, 1}, Options{}, "Model.X[1]"},
		{"infinite y", Model{X: x, Y: []float64{1, 2, -inf}, F: expDecay}, []float64{1, 1}, Options{}, "Model.Y[2]"},
		{"no parameters", Model{X: x, Y: y, F: expDecay}, nil, Options{}, "p0"},
		{"NaN start", Model{X: x, Y: y, F: expDecay}, []float64{1, nan}, Options{}, "p0[1]"},
		{"infinite start", Model{X: x, Y: y, F: expDecay}, []float64{inf, 1}, Options{}, "p0[0]"},
		{"short Lower", Model{X: x, Y: y, F: expDecay}, []float64{1, 1}, Options{Lower: []float64{0}}, "Options.Lower"},
		{"NaN Upper", Model{X: x, Y: y, F: expDecay}, []float64{1, 1}, Options{Upper: []float64{2, nan}}, "Options.Upper[1]"},
		{"crossed bounds", Model{X: x, Y: y, F: expDecay}, []float64{1, 1}, Options{Lower: []float64{0, 2}, Upper: []float64{2, 1}}, "Options.Lower[1]"},
		{"Upper −Inf", Model{X: x, Y: y, F: expDecay}, []float64{1, 1}, Options{Upper: []float64{-inf, 2}}, "Options.Lower[0]"},
		{"start outside", Model{X: x, Y: y, F: expDecay}, []float64{1, 3}, Options{Upper: []float64{2, 2}}, "p0[1]"},
		{"negative MaxIter", Model{X: x, Y: y, F: expDecay}, []float64{1, 1}, Options{MaxIter: -1}, "Options.MaxIter"},
		{"negative Tol", Model{X: x, Y: y, F: expDecay}, []float64{1, 1}, Options{Tol: -1e-8}, "Options.Tol"},
		{"NaN Tol", Model{X: x, Y: y, F: expDecay}, []float64{1, 1}, Options{Tol: nan}, "Options.Tol"},
		{"Tol 1", Model{X: x, Y: y, F: expDecay}, []float64{1, 1}, Options{Tol: 1}, "Options.Tol"},
		{"no ToP", Model{X: x, Y: y, F: expDecay}, []float64{1, 1}, Options{Fallback: &Fallback{Z0: []float64{1, 1}}}, "Options.Fallback.ToP"},
		{"no Z0", Model{X: x, Y: y, F: expDecay}, []float64{1, 1}, Options{Fallback: &Fallback{ToP: toP}}, "Options.Fallback.Z0"},
		{"NaN Z0", Model{X: x, Y: y, F: expDecay}, []float64{1, 1}, Options{Fallback: &Fallback{Z0: []float64{nan, 1}, ToP: toP}}, "Options.Fallback.Z0[0]"},
		{"ToP of the wrong size", Model{X: x, Y: y, F: expDecay}, []float64{1, 1}, Options{Fallback: &Fallback{Z0: []float64{1}, ToP: toP}}, "Options.Fallback.ToP"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Fit(tc.m, tc.p0, tc.o)
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("got %v, want an *InputError", err)
			}
			if ie.Field != tc.field {
				t.Errorf("field: got %q (%v), want %q", ie.Field, err, tc.field)
			}
			if res.P != nil || res.Converged {
				t.Errorf("got result %+v, want none", res)
			}
		})
	}
}

// TestStdErrorsFails checks the cases where there are no standard errors.
func TestStdErrorsFails(t *testing.T) {
	x, y := []float64{1, 2, 3, 4}, []float64{1.1, 1.9, 3.2, 3.9}
	// sum depends on a + b only; constant does not depend on b at all.
	sum := func(p []float64, x float64, grad []float64) (float64, bool) {
		if grad != nil {
			grad[0], grad[1] = x, x
		}
		return (p[0] + p[1]) * x, true
	}
	constant := func(p []float64, x float64, grad []float64) (float64, bool) {
		if grad != nil {
			grad[0], grad[1] = 1, 0
		}
		return p[0], true
	}
	tests := []struct {
		name    string
		m       Model
		p       []float64
		wantErr error // nil: an *InputError
	}{
		{"as many points as parameters", Model{X: x[:2], Y: y[:2], F: expDecay}, []float64{1, 0.1}, ErrNoDF},
		{"aliased parameters", Model{X: x, Y: y, F: sum}, []float64{0.5, 0.5}, ErrSingular},
		{"a parameter without effect", Model{X: x, Y: y, F: constant}, []float64{2.5, 7}, ErrSingular},
		{"outside the model", Model{X: x, Y: y, F: expRise}, []float64{-1, 1}, ErrStart},
		{"NaN parameter", Model{X: x, Y: y, F: expDecay}, []float64{math.NaN(), 1}, nil},
		{"no model", Model{X: x, Y: y}, []float64{1, 1}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			se, err := StdErrors(tc.m, tc.p)
			var ie *InputError
			switch {
			case tc.wantErr == nil && !errors.As(err, &ie):
				t.Errorf("got %v, want an *InputError", err)
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Errorf("got %v, want %v", err, tc.wantErr)
			}
			if se != nil {
				t.Errorf("got %v, want nil", se)
			}
		})
	}
}

// BenchmarkFit fits the Michaelis–Menten curve to R's Puromycin data and the 4PL to the
// cytotox sigmoid, with their standard errors.
func BenchmarkFit(b *testing.B) {
	points := readProblems(b)
	for _, name := range []string{"puromycin", "fourpl_sigmoid"} {
		rp := rProblems[name]
		m := Model{X: points[rp.points].x, Y: points[rp.points].y, F: rp.f}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				res, err := Fit(m, rp.p0, Options{})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := StdErrors(m, res.P); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
