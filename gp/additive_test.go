package gp

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/mat"
)

// additiveParams returns hyperparameters of mixedModel's data with the additive part, from
// log values u laid out as eval's gradient (ℓ, s², σ², σ_g², v_lin, v_main).
func additiveParams(ld int, u []float64, mean float64) params {
	p := params{ls: make([]float64, ld), mean: mean}
	for k := range ld {
		p.ls[k] = math.Exp(u[k])
	}
	p.s2, p.noise, p.gvar = math.Exp(u[ld+gS2]), math.Exp(u[ld+gNoise]), math.Exp(u[ld+gGroup])
	p.lin, p.main = math.Exp(u[ld+gLin]), math.Exp(u[ld+gMain])
	return p
}

// TestAdditiveGradients checks, with the additive part (Config.Additive), the gradient of the
// log marginal likelihood with respect to every log hyperparameter (mean fixed and profiled)
// and the derivatives of PredictGrad against central finite differences, and that Predict,
// PredictGrad and PredictJoint agree.
func TestAdditiveGradients(t *testing.T) {
	m := mixedModel(t)
	m.d.additive = true
	e := newEvaluator(m.d)
	ld := m.d.dim()
	u := []float64{math.Log(0.3), math.Log(0.8), math.Log(0.5), math.Log(2), math.Log(1.2), math.Log(0.05), math.Log(0.3),
		math.Log(0.7), math.Log(0.4)}
	for _, profile := range []bool{false, true} {
		f := func(u []float64) float64 {
			lml, _, ok := e.eval(additiveParams(ld, u, 0.1), profile, nil)
			if !ok {
				t.Fatalf("eval failed at %v", u)
			}
			return lml
		}
		want := fd.Gradient(nil, f, u, &fd.Settings{Formula: fd.Central, Step: 1e-5})
		got := make([]float64, len(u))
		if _, _, ok := e.eval(additiveParams(ld, u, 0.1), profile, got); !ok {
			t.Fatal("eval failed")
		}
		for i := range u {
			checkClose(t, fmt.Sprintf("profile %v, ∂L/∂u[%d]", profile, i), got[i], want[i], 1e-6, 1e-6)
		}
	}
	am, err := newModel(m.d, additiveParams(ld, u, 0.1))
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range [][]float64{{0.5, 1, 0.5, 0}, {0.05, 0, 0.93, 1}, {0.77, 2, 0.21, 0}, {1, 2, 0, 1}, m.d.X[3]} {
		dm, dv := make([]float64, 4), make([]float64, 4)
		mu, v := am.PredictGrad(x, dm, dv)
		mu0, v0 := am.Predict(x)
		mj, cj := am.PredictJoint([][]float64{x})
		checkClose(t, fmt.Sprintf("PredictGrad mean at %v", x), mu, mu0, 1e-9, 1e-9)
		checkClose(t, fmt.Sprintf("PredictGrad variance at %v", x), v, v0, 1e-9, 1e-9)
		checkClose(t, fmt.Sprintf("PredictJoint mean at %v", x), mj[0], mu0, 1e-9, 1e-9)
		checkClose(t, fmt.Sprintf("PredictJoint variance at %v", x), cj.At(0, 0), v0, 1e-7, 1e-7)
		for _, k := range []int{0, 2} {
			at := func(s float64) []float64 {
				xx := append([]float64(nil), x...)
				xx[k] = s
				return xx
			}
			set := &fd.Settings{Formula: fd.Central, Step: 1e-5}
			wm := fd.Derivative(func(s float64) float64 { mu, _ := am.Predict(at(s)); return mu }, x[k], set)
			wv := fd.Derivative(func(s float64) float64 { _, vr := am.Predict(at(s)); return vr }, x[k], set)
			checkClose(t, fmt.Sprintf("d mean/d x%d at %v", k, x), dm[k], wm, 1e-6, 1e-6)
			checkClose(t, fmt.Sprintf("d variance/d x%d at %v", k, x), dv[k], wv, 1e-6, 1e-6)
		}
	}
	// The objective the optimiser minimises, priors and bounds included.
	o := newObjective(m.d, Config{Groups: []int{0}, Additive: true})
	uo := []float64{-1, 0.2, -0.5, 1, 0.1, -3, -1, 0.3, -2}
	if len(uo) != len(o.free) {
		t.Fatalf("got %d free hyperparameters, want %d", len(o.free), len(uo))
	}
	prob := o.problem()
	want := fd.Gradient(nil, prob.Func, uo, &fd.Settings{Formula: fd.Central, Step: 1e-6})
	got := make([]float64, len(uo))
	prob.Grad(got, uo)
	for i := range uo {
		checkClose(t, fmt.Sprintf("∂F/∂u[%d]", i), got[i], want[i], 1e-5, 1e-6)
	}
}

// TestAdditiveRegression checks the additive part against Bayesian linear regression in
// closed form: with a negligible stationary part, f(x) = μ + βᵀ(x − ½) + γ_level with
// β ~ N(0, v_lin I), γ ~ N(0, v_main I), so the posterior mean at x is
// μ + φ(x)ᵀ (ΦᵀΦ/σ² + P⁻¹)⁻¹ Φᵀ(y − μ)/σ², φ(x) = (x_1 − ½, x_2 − ½, one-hot level of x),
// P = diag(v_lin, v_lin, v_main, v_main, v_main), and the posterior variance
// φ(x)ᵀ (ΦᵀΦ/σ² + P⁻¹)⁻¹ φ(x). The weight-space form is solved with gonum's mat.Dense, an
// independent route from the function-space form the package uses.
func TestAdditiveRegression(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n, vlin, vmain, noise, mu = 12, 4.0, 0.5, 0.09, 1.5
	X := make([][]float64, n)
	y := make([]float64, n)
	for i := range X {
		X[i] = []float64{rng.Float64(), rng.Float64(), float64(rng.IntN(3))}
		y[i] = mu + 2*(X[i][0]-0.5) - 1*(X[i][1]-0.5) + []float64{0.3, -0.4, 0.1}[int(X[i][2])] + 0.3*rng.NormFloat64()
	}
	cfg := Config{Dims: []Dim{{Kind: Continuous}, {Kind: Continuous}, {Kind: Categorical, Levels: 3}}}
	m, err := FitWith(X, y, cfg, Hyper{Lengthscales: []float64{1, 1, 1}, Outputscale: 1e-12, Noise: noise, Mean: mu,
		Linear: vlin, Main: vmain})
	if err != nil {
		t.Fatal(err)
	}
	phi := func(x []float64) []float64 {
		f := []float64{x[0] - 0.5, x[1] - 0.5, 0, 0, 0}
		f[2+int(x[2])] = 1
		return f
	}
	A := mat.NewDense(5, 5, nil) // ΦᵀΦ/σ² + P⁻¹
	b := mat.NewVecDense(5, nil) // Φᵀ(y − μ)/σ²
	for i, x := range X {
		f := phi(x)
		for r := range 5 {
			for c := range 5 {
				A.Set(r, c, A.At(r, c)+f[r]*f[c]/noise)
			}
			b.SetVec(r, b.AtVec(r)+f[r]*(y[i]-mu)/noise)
		}
	}
	for r, v := range []float64{vlin, vlin, vmain, vmain, vmain} {
		A.Set(r, r, A.At(r, r)+1/v)
	}
	var Ainv mat.Dense
	if err := Ainv.Inverse(A); err != nil {
		t.Fatal(err)
	}
	var w mat.VecDense
	w.MulVec(&Ainv, b)
	for _, x := range [][]float64{{0.1, 0.9, 0}, {0.5, 0.5, 1}, {1, 0, 2}, X[4]} {
		f := mat.NewVecDense(5, phi(x))
		wantMean := mu + mat.Dot(f, &w)
		var af mat.VecDense
		af.MulVec(&Ainv, f)
		wantVar := mat.Dot(f, &af)
		gotMean, gotVar := m.Predict(x)
		checkClose(t, fmt.Sprintf("mean at %v", x), gotMean, wantMean, 1e-6, 1e-6)
		checkClose(t, fmt.Sprintf("variance at %v", x), gotVar, wantVar, 1e-6, 1e-5)
	}
}
