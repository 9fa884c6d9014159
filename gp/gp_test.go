package gp

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/clink-consortium/clink"
	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/mat"
)

// TestClosedForm compares posterior means, variances, joint covariances and log marginal
// likelihoods with the closed forms computed in base R by testdata/closed_form.R (1–3 points in
// one and two dimensions, a mixed continuous/categorical case with donor groups and known
// noise, and one with two categorical coordinates).
func TestClosedForm(t *testing.T) {
	for _, c := range readClosedCases(t) {
		t.Run(c.name, func(t *testing.T) {
			m, err := FitWith(c.X, c.y, c.cfg, c.h)
			if err != nil {
				t.Fatal(err)
			}
			checkClose(t, "log marginal likelihood", m.LogMarginalLikelihood(), c.lml, 0, 1e-12)
			for a, x := range c.T {
				mean, vr := m.Predict(x)
				checkClose(t, fmt.Sprintf("mean at %v", x), mean, c.mean[a], 1e-12, 1e-12)
				checkClose(t, fmt.Sprintf("variance at %v", x), vr, c.vr[a], 1e-12, 1e-10)
				dm, dv := make([]float64, len(x)), make([]float64, len(x))
				gm, gv := m.PredictGrad(x, dm, dv)
				if !within(gm, mean, 0, 1e-14) || !within(gv, vr, 1e-300, 1e-14) {
					t.Errorf("PredictGrad at %v: got (%g, %g), want Predict's (%g, %g)", x, gm, gv, mean, vr)
				}
			}
			jm, jc := m.PredictJoint(c.T)
			if jc == nil {
				t.Fatal("PredictJoint: got nil covariance")
			}
			for a := range c.T {
				checkClose(t, fmt.Sprintf("joint mean %d", a), jm[a], c.mean[a], 1e-12, 1e-12)
				for b := range c.T {
					checkClose(t, fmt.Sprintf("joint covariance (%d, %d)", a, b), jc.At(a, b), c.cov[a][b], 1e-12, 1e-10)
				}
			}
			if got := m.N(); got != len(c.X) {
				t.Errorf("N: got %d, want %d", got, len(c.X))
			}
		})
	}
}

// TestOnePointByHand checks a case worked by hand: one observation y = 1 at x = 0 with s² = 2,
// σ² = 0.5, μ = 0. At x = 0 the posterior mean is s²/(s² + σ²) = 0.8 and the variance
// s² − s⁴/(s² + σ²) = 0.4; at distance 0.1 with ℓ = 0.1 (r = 1) the kernel is
// (1 + √5 + 5/3) e^(−√5) = 0.52399411..., so the mean is 0.8·0.5240 and the variance
// 2 − 4·0.5240²/2.5.
func TestOnePointByHand(t *testing.T) {
	m, err := FitWith([][]float64{{0}}, []float64{1}, Config{}, Hyper{Lengthscales: []float64{0.1}, Outputscale: 2, Noise: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	mean, vr := m.Predict([]float64{0})
	checkClose(t, "mean at 0", mean, 0.8, 1e-15, 0)
	checkClose(t, "variance at 0", vr, 0.4, 1e-15, 0)
	k := (1 + math.Sqrt(5) + 5.0/3) * math.Exp(-math.Sqrt(5))
	mean, vr = m.Predict([]float64{0.1})
	checkClose(t, "mean at 0.1", mean, 0.8*k, 1e-15, 0)
	checkClose(t, "variance at 0.1", vr, 2-4*k*k/2.5, 1e-14, 0)
	// log N(1; 0, 2.5) = −½ log(2π·2.5) − 1/5.
	checkClose(t, "log marginal likelihood", m.LogMarginalLikelihood(), -0.5*math.Log(2*math.Pi*2.5)-0.2, 1e-14, 0)
}

// TestVarianceLimits checks that with a tiny noise the variance vanishes at the training points
// and returns to the prior variance s² far from them, in original units.
func TestVarianceLimits(t *testing.T) {
	X := [][]float64{{0.1, 0.2}, {0.4, 0.9}, {0.8, 0.5}, {0.3, 0.3}}
	y := []float64{120, 95, 101, 130}
	h := Hyper{Lengthscales: []float64{0.2, 0.3}, Outputscale: 250, Noise: 1e-8, Mean: 110}
	m, err := FitWith(X, y, Config{}, h)
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range X {
		mean, vr := m.Predict(x)
		if !(vr <= 1e-7*h.Outputscale) {
			t.Errorf("variance at training point %v: got %g, want at most %g", x, vr, 1e-7*h.Outputscale)
		}
		checkClose(t, fmt.Sprintf("mean at training point %v", x), mean, y[i], 1e-6, 0)
	}
	for _, x := range [][]float64{{50, 50}, {-20, 0.5}} {
		mean, vr := m.Predict(x)
		checkClose(t, fmt.Sprintf("variance far away at %v", x), vr, h.Outputscale, 0, 1e-12)
		checkClose(t, fmt.Sprintf("mean far away at %v", x), mean, h.Mean, 0, 1e-12)
	}
}

// mixedModel is a model with every feature: continuous and categorical coordinates, groups,
// known noise.
func mixedModel(tb testing.TB) *Model {
	tb.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	n := 25
	cfg := Config{
		Dims:     []Dim{{Kind: Continuous}, {Kind: Categorical, Levels: 3}, {Kind: Continuous}, {Kind: Categorical, Levels: 2}},
		Groups:   make([]int, n),
		NoiseVar: make([]float64, n),
	}
	X := make([][]float64, n)
	y := make([]float64, n)
	for i := range X {
		X[i] = []float64{rng.Float64(), float64(rng.IntN(3)), rng.Float64(), float64(rng.IntN(2))}
		y[i] = 50 + 10*math.Sin(6*X[i][0]) + 5*X[i][1] - 8*X[i][2]*X[i][2] + 3*X[i][3] + rng.NormFloat64()
		cfg.Groups[i] = i%6 - 1
		cfg.NoiseVar[i] = 0.5 * rng.Float64()
	}
	m, err := FitWith(X, y, cfg, Hyper{Lengthscales: []float64{0.3, 0.8, 0.5, 2}, Outputscale: 60, Noise: 0.7, GroupVar: 4, Mean: 52})
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// TestPredictGrad compares PredictGrad's derivatives with central finite differences of
// Predict.
func TestPredictGrad(t *testing.T) {
	m := mixedModel(t)
	for _, x := range [][]float64{{0.5, 1, 0.5, 0}, {0.05, 0, 0.93, 1}, {0.77, 2, 0.21, 0}, m.d.X[3]} {
		dm, dv := make([]float64, 4), make([]float64, 4)
		m.PredictGrad(x, dm, dv)
		for k, dim := range m.Dims() {
			if dim.Kind == Categorical {
				if dm[k] != 0 || dv[k] != 0 {
					t.Errorf("at %v: categorical coordinate %d: got derivatives (%g, %g), want 0", x, k, dm[k], dv[k])
				}
				continue
			}
			checkGradFD(t, m, x, k, dm[k], dv[k], 1e-5, 1e-6)
		}
	}
}

// TestLMLGradient compares the analytic gradient of the log marginal likelihood with respect
// to the log hyperparameters with central finite differences, with the mean fixed and
// profiled.
func TestLMLGradient(t *testing.T) {
	m := mixedModel(t)
	e := newEvaluator(m.d)
	ld := m.d.dim()
	// The hyperparameter vector is (log ℓ, log s², log σ², log σ_g²).
	toParams := func(u []float64, mean float64) params {
		p := params{ls: make([]float64, ld), mean: mean}
		for k := range ld {
			p.ls[k] = math.Exp(u[k])
		}
		p.s2, p.noise, p.gvar = math.Exp(u[ld+gS2]), math.Exp(u[ld+gNoise]), math.Exp(u[ld+gGroup])
		return p
	}
	points := [][]float64{
		{math.Log(0.3), math.Log(0.8), math.Log(0.5), math.Log(2), math.Log(1.2), math.Log(0.05), math.Log(0.3)},
		{math.Log(0.07), math.Log(0.2), math.Log(1.5), math.Log(0.4), math.Log(3), math.Log(0.5), math.Log(0.01)},
	}
	for _, profile := range []bool{false, true} {
		for _, u := range points {
			f := func(u []float64) float64 {
				lml, _, ok := e.eval(toParams(u, 0.1), profile, nil)
				if !ok {
					t.Fatalf("eval failed at %v", u)
				}
				return lml
			}
			want := fd.Gradient(nil, f, u, &fd.Settings{Formula: fd.Central, Step: 1e-5})
			got := make([]float64, len(u))
			if _, _, ok := e.eval(toParams(u, 0.1), profile, got); !ok {
				t.Fatal("eval failed")
			}
			for i := range u {
				checkClose(t, fmt.Sprintf("profile %v, ∂L/∂u[%d] at %.3g", profile, i, u), got[i], want[i], 1e-6, 1e-6)
			}
		}
	}
}

// TestObjectiveGradient checks the gradient of the function the optimiser minimises (priors,
// clamping and the penalty outside the bounds included) against finite differences, at points
// inside and outside the bounds.
func TestObjectiveGradient(t *testing.T) {
	m := mixedModel(t)
	o := newObjective(m.d, Config{Groups: []int{0}})
	for _, u := range [][]float64{
		{-1, 0.2, -0.5, 1, 0.1, -3, -1},
		{-6, 0.2, 5, 1, 0.1, -16, 3}, // ℓ₀, ℓ₂, σ² and σ_g² beyond their bounds
	} {
		prob := o.problem()
		want := fd.Gradient(nil, prob.Func, u, &fd.Settings{Formula: fd.Central, Step: 1e-6})
		got := make([]float64, len(u))
		prob.Grad(got, u)
		for i := range u {
			checkClose(t, fmt.Sprintf("∂F/∂u[%d] at %v", i, u), got[i], want[i], 1e-5, 1e-6)
		}
	}
}

// TestCondition checks that conditioning on new points gives the model FitWith builds on the
// union with the same hyperparameters, and leaves the original model unchanged.
func TestCondition(t *testing.T) {
	m := mixedModel(t)
	Xnew := [][]float64{{0.5, 1, 0.5, 0}, {0.52, 1, 0.49, 0}, {0.9, 0, 0.1, 1}}
	ynew := []float64{55, 54.5, 40}
	probe := [][]float64{{0.5, 1, 0.5, 0}, {0.2, 2, 0.7, 1}, {0.95, 0, 0.05, 1}}
	before, _ := m.PredictJoint(probe)

	c, err := m.Condition(Xnew, ynew)
	if err != nil {
		t.Fatal(err)
	}
	// Condition took the O(n²q) extension of the factorisation, not a refactorisation.
	if e, err := m.d.with(Xnew, ynew); err != nil || !m.extend(&Model{d: e, p: m.p}) {
		t.Errorf("extending the factorisation failed (%v)", err)
	}
	X := append(append([][]float64(nil), m.d.X...), Xnew...)
	y := append(append([]float64(nil), m.d.y...), ynew...)
	cfg := Config{Dims: m.Dims(), Groups: append(append([]int(nil), m.d.groups...), -1, -1, -1),
		NoiseVar: append(append([]float64(nil), m.d.noiseVar...), 0, 0, 0)}
	u, err := FitWith(X, y, cfg, m.Hyper())
	if err != nil {
		t.Fatal(err)
	}
	if c.N() != m.N()+3 {
		t.Errorf("N: got %d, want %d", c.N(), m.N()+3)
	}
	checkClose(t, "log marginal likelihood", c.LogMarginalLikelihood(), u.LogMarginalLikelihood(), 0, 1e-10)
	cm, cc := c.PredictJoint(probe)
	um, uc := u.PredictJoint(probe)
	for a := range probe {
		checkClose(t, fmt.Sprintf("mean at %v", probe[a]), cm[a], um[a], 0, 1e-10)
		for b := range probe {
			checkClose(t, fmt.Sprintf("covariance (%d, %d)", a, b), cc.At(a, b), uc.At(a, b), 1e-9, 1e-8)
		}
	}
	after, _ := m.PredictJoint(probe)
	for a := range probe {
		if after[a] != before[a] {
			t.Errorf("original model's mean at %v: got %g after Condition, want %g", probe[a], after[a], before[a])
		}
	}
	// Conditioning on nothing changes nothing.
	z, err := m.Condition(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	zm, _ := z.PredictJoint(probe)
	for a := range probe {
		checkClose(t, "mean after empty Condition", zm[a], before[a], 0, 1e-15)
	}
}

// TestConditionRepeatedPoint conditions a nearly noise-free model on a point it already has,
// where the extended factorisation is singular and Condition must refactorise with jitter.
func TestConditionRepeatedPoint(t *testing.T) {
	X := [][]float64{{0.1}, {0.5}, {0.9}}
	m, err := FitWith(X, []float64{1, 2, 0}, Config{}, Hyper{Lengthscales: []float64{0.3}, Outputscale: 1, Noise: 0})
	if err != nil {
		t.Fatal(err)
	}
	c, err := m.Condition([][]float64{{0.5}}, []float64{2})
	if err != nil {
		t.Fatalf("got error %v, want a model with jitter", err)
	}
	if !(c.Jitter() > 0) {
		t.Errorf("jitter: got %g, want > 0", c.Jitter())
	}
	mean, _ := c.Predict([]float64{0.5})
	checkClose(t, "mean at the repeated point", mean, 2, 1e-4, 0)
}

// TestInvalidInput checks that malformed input is an EINVALID error naming the field.
func TestInvalidInput(t *testing.T) {
	X := [][]float64{{0.1, 0}, {0.5, 1}, {0.9, 2}}
	y := []float64{1, 2, 3}
	dims := []Dim{{Kind: Continuous}, {Kind: Categorical, Levels: 3}}
	good := Hyper{Lengthscales: []float64{0.3, 1}, Outputscale: 1, Noise: 0.1}
	tests := []struct {
		name  string
		X     [][]float64
		y     []float64
		cfg   Config
		h     *Hyper // FitWith when not nil
		field string
	}{
		{name: "no rows", X: nil, y: nil, cfg: Config{Dims: dims}, field: "X"},
		{name: "y length", X: X, y: y[:2], cfg: Config{Dims: dims}, field: "y"},
		{name: "row length", X: [][]float64{{0.1, 0}, {0.5}, {0.9, 2}}, y: y, cfg: Config{Dims: dims}, field: "X"},
		{name: "NaN in X", X: [][]float64{{0.1, 0}, {math.NaN(), 1}, {0.9, 2}}, y: y, cfg: Config{Dims: dims}, field: "X"},
		{name: "level out of range", X: [][]float64{{0.1, 0}, {0.5, 3}, {0.9, 2}}, y: y, cfg: Config{Dims: dims}, field: "X"},
		{name: "fractional level", X: [][]float64{{0.1, 0.5}, {0.5, 1}, {0.9, 2}}, y: y, cfg: Config{Dims: dims}, field: "X"},
		{name: "Inf in y", X: X, y: []float64{1, math.Inf(1), 3}, cfg: Config{Dims: dims}, field: "y"},
		{name: "huge y", X: X, y: []float64{1, 1e200, 3}, cfg: Config{Dims: dims}, field: "y"},
		{name: "no levels", X: X, y: y, cfg: Config{Dims: []Dim{{}, {Kind: Categorical}}}, field: "dims"},
		{name: "bad kind", X: X, y: y, cfg: Config{Dims: []Dim{{}, {Kind: 7}}}, field: "dims"},
		{name: "empty rows", X: [][]float64{{}, {}}, y: []float64{1, 2}, field: "dims"},
		{name: "groups length", X: X, y: y, cfg: Config{Dims: dims, Groups: []int{0, 1}}, field: "groups"},
		{name: "group below -1", X: X, y: y, cfg: Config{Dims: dims, Groups: []int{0, -2, 1}}, field: "groups"},
		{name: "noise var length", X: X, y: y, cfg: Config{Dims: dims, NoiseVar: []float64{1}}, field: "noise_var"},
		{name: "negative noise var", X: X, y: y, cfg: Config{Dims: dims, NoiseVar: []float64{1, -1, 0}}, field: "noise_var"},
		{name: "NaN fixed noise", X: X, y: y, cfg: Config{Dims: dims, FixedNoise: math.NaN()}, field: "fixed_noise"},
		{name: "negative fixed noise", X: X, y: y, cfg: Config{Dims: dims, FixedNoise: -1}, field: "fixed_noise"},
		{name: "lengthscales count", X: X, y: y, cfg: Config{Dims: dims}, h: &Hyper{Lengthscales: []float64{1}, Outputscale: 1}, field: "hyper.lengthscales"},
		{name: "zero lengthscale", X: X, y: y, cfg: Config{Dims: dims}, h: &Hyper{Lengthscales: []float64{0, 1}, Outputscale: 1}, field: "hyper.lengthscales"},
		{name: "zero outputscale", X: X, y: y, cfg: Config{Dims: dims}, h: &Hyper{Lengthscales: []float64{1, 1}}, field: "hyper.outputscale"},
		{name: "negative noise", X: X, y: y, cfg: Config{Dims: dims}, h: &Hyper{Lengthscales: []float64{1, 1}, Outputscale: 1, Noise: -1}, field: "hyper.noise"},
		{name: "group var without groups", X: X, y: y, cfg: Config{Dims: dims}, h: &Hyper{Lengthscales: []float64{1, 1}, Outputscale: 1, GroupVar: 1}, field: "hyper.group_var"},
		{name: "NaN mean", X: X, y: y, cfg: Config{Dims: dims}, h: &Hyper{Lengthscales: []float64{1, 1}, Outputscale: 1, Mean: math.NaN()}, field: "hyper.mean"},
		{name: "outputscale overflows in standard units", X: X, y: []float64{0, 1e-90, 0}, cfg: Config{Dims: dims}, h: &Hyper{Lengthscales: []float64{1, 1}, Outputscale: 1e150}, field: "hyper"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.h != nil {
				_, err = FitWith(tc.X, tc.y, tc.cfg, *tc.h)
			} else {
				_, err = Fit(tc.X, tc.y, tc.cfg)
			}
			if clink.ErrorCode(err) != clink.EINVALID {
				t.Fatalf("got error %v (code %q), want code %q", err, clink.ErrorCode(err), clink.EINVALID)
			}
			found := false
			for _, f := range clink.ErrorFields(err) {
				found = found || f.Field == tc.field
			}
			if !found {
				t.Errorf("got fields %v, want one named %q", clink.ErrorFields(err), tc.field)
			}
		})
	}
	_, err := FitWith(X, y, Config{Dims: dims}, good)
	if err != nil {
		t.Errorf("valid input: got error %v, want none", err)
	}
}

// TestConditionInvalid checks Condition's input errors.
func TestConditionInvalid(t *testing.T) {
	m := mixedModel(t)
	for _, tc := range []struct {
		name string
		X    [][]float64
		y    []float64
	}{
		{"length mismatch", [][]float64{{0.5, 1, 0.5, 0}}, nil},
		{"short row", [][]float64{{0.5, 1}}, []float64{1}},
		{"bad level", [][]float64{{0.5, 5, 0.5, 0}}, []float64{1}},
		{"NaN y", [][]float64{{0.5, 1, 0.5, 0}}, []float64{math.NaN()}},
	} {
		if _, err := m.Condition(tc.X, tc.y); clink.ErrorCode(err) != clink.EINVALID {
			t.Errorf("%s: got error %v, want code %q", tc.name, err, clink.EINVALID)
		}
	}
}

// TestNotPositiveDefinite checks the error when no jitter helps: repeated inputs with no noise
// at all are fine (jitter makes the matrix positive definite), but an indefinite matrix is not.
func TestNotPositiveDefinite(t *testing.T) {
	X := [][]float64{{0.5}, {0.5}}
	m, err := FitWith(X, []float64{1, 2}, Config{}, Hyper{Lengthscales: []float64{0.3}, Outputscale: 1})
	if err != nil {
		t.Fatalf("repeated input with zero noise: got error %v, want a jittered model", err)
	}
	if !(m.Jitter() > 0) {
		t.Errorf("jitter: got %g, want > 0", m.Jitter())
	}
	var f factor
	err = f.factorize(mat.NewSymDense(2, []float64{1, 2, 2, 1})) // indefinite: eigenvalues 3 and −1
	if !errors.Is(err, ErrNotPositiveDefinite) {
		t.Errorf("indefinite matrix: got error %v, want ErrNotPositiveDefinite", err)
	}
	if err != nil && !strings.Contains(err.Error(), "jitter") {
		t.Errorf("error %q does not mention the jitter", err)
	}
}

// TestPredictInvalidX checks that predictions at malformed points are NaN, not a panic.
func TestPredictInvalidX(t *testing.T) {
	m := mixedModel(t)
	for _, x := range [][]float64{nil, {0.5}, {0.5, 1, 0.5, 0, 1}, {math.NaN(), 1, 0.5, 0}, {0.5, 1, math.Inf(1), 0}} {
		mean, vr := m.Predict(x)
		if !math.IsNaN(mean) || !math.IsNaN(vr) {
			t.Errorf("Predict(%v): got (%g, %g), want NaN", x, mean, vr)
		}
		dm, dv := make([]float64, 4), make([]float64, 4)
		mean, vr = m.PredictGrad(x, dm, dv)
		if !math.IsNaN(mean) || !math.IsNaN(vr) || !math.IsNaN(dm[0]) || !math.IsNaN(dv[0]) {
			t.Errorf("PredictGrad(%v): got (%g, %g, %v, %v), want NaN", x, mean, vr, dm, dv)
		}
		if mu, cov := m.PredictJoint([][]float64{{0.5, 1, 0.5, 0}, x}); mu != nil || cov != nil {
			t.Errorf("PredictJoint with row %v: got (%v, %v), want nil", x, mu, cov)
		}
	}
	mean, vr := m.PredictGrad([]float64{0.5, 1, 0.5, 0}, make([]float64, 3), nil)
	if !math.IsNaN(mean) || !math.IsNaN(vr) {
		t.Errorf("PredictGrad with short slices: got (%g, %g), want NaN", mean, vr)
	}
	// A categorical value that is no level differs from every level: no panic, a prediction.
	if mean, _ := m.Predict([]float64{0.5, 7.5, 0.5, -1}); math.IsNaN(mean) {
		t.Errorf("Predict at unknown levels: got NaN, want a number")
	}
	if mu, cov := m.PredictJoint(nil); mu != nil || cov != nil {
		t.Errorf("PredictJoint(nil): got (%v, %v), want nil", mu, cov)
	}
}
