package gp

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestShared compares the shared fantasy models with separate models fitted with FitWith on
// each vector: the same means, variances and derivatives, with continuous and categorical
// coordinates and the additive part, at training points and elsewhere.
func TestShared(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	dims := []Dim{{Kind: Continuous}, {Kind: Categorical, Levels: 3}, {Kind: Continuous}}
	n, S := 20, 5
	X := make([][]float64, n)
	for i := range X {
		X[i] = []float64{rng.Float64(), float64(rng.IntN(3)), rng.Float64()}
	}
	Y := make([][]float64, S)
	for s := range Y {
		Y[s] = make([]float64, n)
		for i, x := range X {
			// Different scales per vector: each separate model standardises its own.
			Y[s][i] = float64(s+1)*(3*math.Sin(5*x[0])+x[1]-2*x[2]) + rng.NormFloat64()
		}
	}
	h := Hyper{Lengthscales: []float64{0.3, 1, 0.6}, Outputscale: 9, Noise: 9e-6, Mean: 1, Linear: 2, Main: 0.5}
	cfg := Config{Dims: dims}
	sh, err := FitShared(X, Y, cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	if sh.Len() != S {
		t.Fatalf("Len %d, want %d", sh.Len(), S)
	}
	mean, mean2 := make([]float64, S), make([]float64, S)
	dmean := make([][]float64, S)
	for s := range dmean {
		dmean[s] = make([]float64, 3)
	}
	dvar := make([]float64, 3)
	for _, x := range [][]float64{{0.5, 1, 0.5}, {0.02, 0, 0.97}, X[4], {1.3, 2, -0.2}} {
		v := sh.PredictGrad(x, mean, dmean, dvar)
		v2 := sh.Predict(x, mean2)
		checkClose(t, fmt.Sprintf("variance of Predict at %v", x), v2, v, 1e-12, 1e-9)
		for s := range S {
			m, err := FitWith(X, Y[s], cfg, h)
			if err != nil {
				t.Fatal(err)
			}
			wdm, wdv := make([]float64, 3), make([]float64, 3)
			wm, wv := m.PredictGrad(x, wdm, wdv)
			checkClose(t, fmt.Sprintf("mean %d at %v", s, x), mean[s], wm, 1e-8, 1e-7)
			checkClose(t, fmt.Sprintf("mean %d of Predict at %v", s, x), mean2[s], wm, 1e-8, 1e-7)
			checkClose(t, fmt.Sprintf("variance (model %d) at %v", s, x), v, wv, 1e-8, 1e-6)
			for k := range 3 {
				checkClose(t, fmt.Sprintf("d mean %d/d x%d at %v", s, k, x), dmean[s][k], wdm[k], 1e-8, 1e-7)
				checkClose(t, fmt.Sprintf("d variance/d x%d at %v (model %d)", k, x, s), dvar[k], wdv[k], 1e-8, 1e-6)
			}
		}
	}
	// A training point of a noise-free fantasy is reproduced by every model.
	sh.Predict(X[7], mean)
	for s := range S {
		checkClose(t, fmt.Sprintf("model %d at training point 7", s), mean[s], Y[s][7], 1e-3, 1e-4)
	}
}

// TestSharedInvalid: vectors of the wrong length or with non-finite values are refused, and
// predictions at an invalid x are NaN.
func TestSharedInvalid(t *testing.T) {
	X := [][]float64{{0.1}, {0.5}, {0.9}}
	h := Hyper{Lengthscales: []float64{0.4}, Outputscale: 1, Noise: 1e-6}
	for name, Y := range map[string][][]float64{
		"none":    nil,
		"short":   {{1, 2, 3}, {1, 2}},
		"nan":     {{1, 2, 3}, {1, math.NaN(), 3}},
		"huge":    {{1, 2, 3}, {1, 1e300, 3}},
		"first":   {{1, math.Inf(1), 3}},
		"lengths": {{1, 2}},
	} {
		if _, err := FitShared(X, Y, Config{}, h); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	sh, err := FitShared(X, [][]float64{{1, 2, 3}, {3, 2, 1}}, Config{}, h)
	if err != nil {
		t.Fatal(err)
	}
	mean := make([]float64, 2)
	if v := sh.Predict([]float64{math.NaN()}, mean); !math.IsNaN(v) || !math.IsNaN(mean[1]) {
		t.Errorf("NaN x: variance %g, means %v", v, mean)
	}
	if v := sh.PredictGrad([]float64{0.3}, mean, [][]float64{{0}}, []float64{0}); !math.IsNaN(v) {
		t.Errorf("one derivative slice for two models: variance %g", v)
	}
}
