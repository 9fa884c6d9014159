package gp

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestWarpPredictGrad: with warped coordinates the derivatives of PredictGrad still agree with
// finite differences of Predict, and a training point is reproduced.
func TestWarpPredictGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 2))
	dims := []Dim{{Kind: Continuous}, {Kind: Categorical, Levels: 2}, {Kind: Continuous}}
	X := make([][]float64, 15)
	y := make([]float64, 15)
	for i := range X {
		X[i] = []float64{rng.Float64(), float64(rng.IntN(2)), rng.Float64()}
		y[i] = math.Sqrt(X[i][0]) + X[i][1] - X[i][2]*X[i][2]
	}
	h := Hyper{Lengthscales: []float64{0.4, 1, 0.5}, Outputscale: 1, Noise: 1e-6, Linear: 0.5, Main: 0.2,
		Warp: [][2]float64{{0.5, 1}, {1, 1}, {2, 0.5}}}
	m, err := FitWith(X, y, Config{Dims: dims}, h)
	if err != nil {
		t.Fatal(err)
	}
	if mu, _ := m.Predict(X[3]); math.Abs(mu-y[3]) > 1e-3 {
		t.Errorf("training point 3: %g, want %g", mu, y[3])
	}
	for _, x := range [][]float64{{0.3, 1, 0.6}, {0.05, 0, 0.9}, {0.8, 1, 0.15}} {
		dm, dv := make([]float64, 3), make([]float64, 3)
		m.PredictGrad(x, dm, dv)
		for _, k := range []int{0, 2} {
			checkGradFD(t, m, x, k, dm[k], dv[k], 1e-6, 1e-5)
		}
	}
	if got := m.Hyper().Warp; len(got) != 3 || got[0] != [2]float64{0.5, 1} {
		t.Errorf("Hyper().Warp = %v", got)
	}
}

// TestFitWarp: on a function that is steep near 0 in its first coordinate and linear in its
// second, Fit with Warp stretches the first coordinate near 0 (a < 1) and leaves the second
// alone, and predicts the steep part better than the unwarped fit.
func TestFitWarp(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	f := func(x []float64) float64 { return 3*math.Pow(x[0], 0.25) + x[1] }
	X := make([][]float64, 30)
	y := make([]float64, 30)
	for i := range X {
		X[i] = []float64{rng.Float64(), rng.Float64()}
		y[i] = f(X[i])
	}
	plain, err := Fit(X, y, Config{Seed: 1, FixedNoise: 1e-8})
	if err != nil {
		t.Fatal(err)
	}
	warped, err := Fit(X, y, Config{Seed: 1, FixedNoise: 1e-8, Warp: true})
	if err != nil {
		t.Fatal(err)
	}
	w := warped.Hyper().Warp
	if len(w) != 2 || !(w[0][0] < 1) || w[1] != [2]float64{1, 1} {
		t.Errorf("warps %v: want a < 1 on coordinate 0 and none on coordinate 1", w)
	}
	if plain.Hyper().Warp != nil {
		t.Errorf("unwarped fit has warps %v", plain.Hyper().Warp)
	}
	var ep, ew float64
	for i := range 20 {
		x := []float64{0.002 + 0.004*float64(i), 0.5}
		mp, _ := plain.Predict(x)
		mw, _ := warped.Predict(x)
		ep += math.Abs(mp - f(x))
		ew += math.Abs(mw - f(x))
	}
	if !(ew < ep) {
		t.Errorf("mean error on [0, 0.08]: warped %.4f, plain %.4f", ew/20, ep/20)
	}
}

// TestWarpInvalid: FitWith refuses warps of the wrong length or with parameters that are not
// positive.
func TestWarpInvalid(t *testing.T) {
	X := [][]float64{{0.1}, {0.5}, {0.9}}
	y := []float64{1, 2, 3}
	for _, w := range [][][2]float64{{{1, 1}, {1, 1}}, {{0, 1}}, {{1, math.NaN()}}, {{math.Inf(1), 1}}} {
		h := Hyper{Lengthscales: []float64{0.4}, Outputscale: 1, Noise: 1e-6, Warp: w}
		if _, err := FitWith(X, y, Config{}, h); err == nil {
			t.Errorf("warp %v: no error", w)
		}
	}
}
