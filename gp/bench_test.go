package gp

import (
	"math"
	"math/rand/v2"
	"testing"
)

// hartmann6 is the Hartmann 6-D test function (Surjanovic & Bingham's Virtual Library of
// Simulation Experiments), minimum −3.32237 at (0.20169, 0.150011, 0.476874, 0.275332,
// 0.311652, 0.6573).
func hartmann6(x []float64) float64 {
	alpha := [4]float64{1.0, 1.2, 3.0, 3.2}
	A := [4][6]float64{
		{10, 3, 17, 3.5, 1.7, 8},
		{0.05, 10, 17, 0.1, 8, 14},
		{3, 3.5, 1.7, 10, 17, 8},
		{17, 8, 0.05, 10, 0.1, 14},
	}
	P := [4][6]float64{
		{1312, 1696, 5569, 124, 8283, 5886},
		{2329, 4135, 8307, 3736, 1004, 9991},
		{2348, 1451, 3522, 2883, 3047, 6650},
		{4047, 8828, 8732, 5743, 1091, 381},
	}
	var s float64
	for i := range 4 {
		var e float64
		for j := range 6 {
			d := x[j] - P[i][j]*1e-4
			e += A[i][j] * d * d
		}
		s += alpha[i] * math.Exp(-e)
	}
	return -s
}

// hartmannData is n uniform points of Hartmann6 with noise SD 0.1, seeded.
func hartmannData(n int, seed uint64) ([][]float64, []float64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	X := uniformX(rng, n, 6)
	y := make([]float64, n)
	for i, x := range X {
		y[i] = hartmann6(x) + 0.1*rng.NormFloat64()
	}
	return X, y
}

// BenchmarkFit60x6 fits hyperparameters (default 8 restarts) on 60 noisy Hartmann6 points.
func BenchmarkFit60x6(b *testing.B) {
	X, y := hartmannData(60, 1)
	for b.Loop() {
		if _, err := Fit(X, y, Config{Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFit150x12 is the largest fit of the optimiser loop: 150 points in 12 dimensions.
func BenchmarkFit150x12(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 3))
	X := uniformX(rng, 150, 12)
	y := make([]float64, len(X))
	for i, x := range X {
		y[i] = hartmann6(x[:6]) + 0.3*x[7] + 0.1*rng.NormFloat64()
	}
	for b.Loop() {
		if _, err := Fit(X, y, Config{Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

func benchModel(b *testing.B) *Model {
	X, y := hartmannData(60, 1)
	m, err := FitWith(X, y, Config{}, Hyper{Lengthscales: []float64{0.3, 0.5, 0.4, 0.3, 0.5, 0.4}, Outputscale: 0.5, Noise: 0.01})
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkPredictJoint4 is the joint posterior at 4 points of a 60-point, 6-D model.
func BenchmarkPredictJoint4(b *testing.B) {
	m := benchModel(b)
	X := [][]float64{{0.1, 0.2, 0.3, 0.4, 0.5, 0.6}, {0.6, 0.5, 0.4, 0.3, 0.2, 0.1}, {0.5, 0.5, 0.5, 0.5, 0.5, 0.5}, {0.2, 0.2, 0.8, 0.8, 0.2, 0.2}}
	for b.Loop() {
		if mu, _ := m.PredictJoint(X); mu == nil {
			b.Fatal("nil")
		}
	}
}

// BenchmarkPredictGrad is the mean, variance and their gradients at one point of a 60-point,
// 6-D model.
func BenchmarkPredictGrad(b *testing.B) {
	m := benchModel(b)
	x := []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6}
	dm, dv := make([]float64, 6), make([]float64, 6)
	for b.Loop() {
		m.PredictGrad(x, dm, dv)
	}
}

// BenchmarkSharedPredictGrad16 is what one evaluation of noisy EI costs in the GP: the means,
// shared variance and gradients of 16 fantasy models of 60 points in 6-D at one point (16
// separate models: 16 times BenchmarkPredictGrad).
func BenchmarkSharedPredictGrad16(b *testing.B) {
	m := benchModel(b)
	rng := rand.New(rand.NewPCG(5, 5))
	Y := make([][]float64, 16)
	for s := range Y {
		Y[s] = make([]float64, m.N())
		for i, x := range m.d.X {
			Y[s][i] = hartmann6(x) + 0.1*rng.NormFloat64()
		}
	}
	h := m.Hyper()
	h.Noise = 1e-6 * h.Outputscale
	sh, err := FitShared(m.d.X, Y, Config{}, h)
	if err != nil {
		b.Fatal(err)
	}
	x := []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6}
	mean, dv := make([]float64, 16), make([]float64, 6)
	dm := make([][]float64, 16)
	for s := range dm {
		dm[s] = make([]float64, 6)
	}
	for b.Loop() {
		sh.PredictGrad(x, mean, dm, dv)
	}
}

// BenchmarkPredict is the mean and variance at one point of a 60-point, 6-D model.
func BenchmarkPredict(b *testing.B) {
	m := benchModel(b)
	x := []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6}
	for b.Loop() {
		m.Predict(x)
	}
}

// BenchmarkObjective150x12 is one evaluation of the log marginal likelihood and its gradient
// (what each L-BFGS step costs) at 150 points in 12 dimensions: the kernel, the Cholesky
// factorisation and the inverse.
func BenchmarkObjective150x12(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 3))
	X := uniformX(rng, 150, 12)
	d, err := newData(X, make([]float64, 150), Config{})
	if err != nil {
		b.Fatal(err)
	}
	e := newEvaluator(d)
	p := params{ls: make([]float64, 12), s2: 1, noise: 0.01}
	for k := range p.ls {
		p.ls[k] = 0.5
	}
	grad := make([]float64, 12+nExtra)
	for b.Loop() {
		if _, _, ok := e.eval(p, true, grad); !ok {
			b.Fatal("eval failed")
		}
	}
}
