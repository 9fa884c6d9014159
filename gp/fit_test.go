package gp

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gonum.org/v1/gonum/mat"
)

// fisherSE returns the asymptotic standard errors of the log hyperparameters (log ℓ_k…,
// log s², log σ²) of continuous-input data X under the truth h, from the expected Fisher
// information I_ab = ½ tr(K⁻¹ ∂_a K K⁻¹ ∂_b K). The derivatives of K are taken by central
// differences of the covariance in log space, written here from the model's formula.
func fisherSE(tb testing.TB, X [][]float64, h Hyper) []float64 {
	tb.Helper()
	n, dim := len(X), len(X[0])
	cov := func(u []float64) *mat.Dense {
		K := mat.NewDense(n, n, nil)
		for i := range n {
			for j := range n {
				var r2 float64
				for k := range dim {
					t := (X[i][k] - X[j][k]) / math.Exp(u[k])
					r2 += t * t
				}
				r := math.Sqrt(r2)
				v := math.Exp(u[dim]) * (1 + math.Sqrt(5)*r + 5*r2/3) * math.Exp(-math.Sqrt(5)*r)
				if i == j {
					v += math.Exp(u[dim+1])
				}
				K.Set(i, j, v)
			}
		}
		return K
	}
	u := make([]float64, dim+2)
	for k, l := range h.Lengthscales {
		u[k] = math.Log(l)
	}
	u[dim], u[dim+1] = math.Log(h.Outputscale), math.Log(h.Noise)
	var Kinv mat.Dense
	if err := Kinv.Inverse(cov(u)); err != nil {
		tb.Fatal(err)
	}
	A := make([]*mat.Dense, len(u)) // K⁻¹ ∂_a K
	for a := range u {
		const step = 1e-5
		up, dn := append([]float64(nil), u...), append([]float64(nil), u...)
		up[a] += step
		dn[a] -= step
		var D mat.Dense
		D.Sub(cov(up), cov(dn))
		D.Scale(1/(2*step), &D)
		A[a] = new(mat.Dense)
		A[a].Mul(&Kinv, &D)
	}
	info := mat.NewSymDense(len(u), nil)
	for a := range u {
		for b := a; b < len(u); b++ {
			var P mat.Dense
			P.Mul(A[a], A[b])
			info.SetSym(a, b, 0.5*mat.Trace(&P))
		}
	}
	var covU mat.Dense
	if err := covU.Inverse(info); err != nil {
		tb.Fatal(err)
	}
	se := make([]float64, len(u))
	for a := range se {
		se[a] = math.Sqrt(covU.At(a, a))
	}
	return se
}

// TestFitRecoversHyperparameters draws data from the model itself with known hyperparameters
// and checks that Fit recovers the length scales and the noise variance within four
// asymptotic standard errors (from the Fisher information at the truth, fisherSE), and the
// mean roughly. The priors are weak next to 100–120 observations, so their pull is far
// smaller than the tolerance.
func TestFitRecoversHyperparameters(t *testing.T) {
	tests := []struct {
		name  string
		n     int
		truth Hyper
		seed  uint64
	}{
		{name: "1-D", n: 100, truth: Hyper{Lengthscales: []float64{0.2}, Outputscale: 4, Noise: 0.04, Mean: 3}, seed: 11},
		{name: "2-D anisotropic", n: 120, truth: Hyper{Lengthscales: []float64{0.15, 0.6}, Outputscale: 25, Noise: 1, Mean: -50}, seed: 12},
		{name: "1-D noisy", n: 100, truth: Hyper{Lengthscales: []float64{0.3}, Outputscale: 1, Noise: 0.25, Mean: 0}, seed: 13},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(tc.seed, 99))
			dim := len(tc.truth.Lengthscales)
			X := uniformX(rng, tc.n, dim)
			y := gpSample(t, rng, X, tc.truth.Lengthscales, tc.truth.Outputscale, tc.truth.Noise, tc.truth.Mean)
			m, err := Fit(X, y, Config{Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			got := m.Hyper()
			se := fisherSE(t, X, tc.truth)
			t.Logf("got %+v, want %+v; SE of logs %.3f", got, tc.truth, se)
			for k := range dim {
				if dz := math.Abs(math.Log(got.Lengthscales[k] / tc.truth.Lengthscales[k])); !(dz <= 4*se[k]) {
					t.Errorf("length scale %d: got %g, want %g within 4 SE (log error %.3f, SE %.3f)", k, got.Lengthscales[k], tc.truth.Lengthscales[k], dz, se[k])
				}
			}
			if dz := math.Abs(math.Log(got.Noise / tc.truth.Noise)); !(dz <= 4*se[dim+1]) {
				t.Errorf("noise: got %g, want %g within 4 SE (log error %.3f, SE %.3f)", got.Noise, tc.truth.Noise, dz, se[dim+1])
			}
			if dz := math.Abs(math.Log(got.Outputscale / tc.truth.Outputscale)); !(dz <= 4*se[dim]) {
				t.Errorf("outputscale: got %g, want %g within 4 SE (log error %.3f, SE %.3f)", got.Outputscale, tc.truth.Outputscale, dz, se[dim])
			}
			// The mean of a GP path on [0, 1] is known to about s·(a few length scales)^(−1/2).
			if d := math.Abs(got.Mean - tc.truth.Mean); !(d <= 2*math.Sqrt(tc.truth.Outputscale)) {
				t.Errorf("mean: got %g, want %g within 2 s = %g", got.Mean, tc.truth.Mean, 2*math.Sqrt(tc.truth.Outputscale))
			}
		})
	}
}

// TestFitGroups makes data with large donor offsets (SD 2) and a small noise (SD 0.1) on a
// smooth function: with Groups the offsets go to GroupVar and the noise stays small; without,
// the noise has to absorb them.
func TestFitGroups(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 21))
	const donors, per = 10, 6
	var X [][]float64
	var y []float64
	var groups []int
	offsets := make([]float64, donors)
	for g := range donors {
		offsets[g] = 2 * rng.NormFloat64()
		for range per {
			x := rng.Float64()
			X = append(X, []float64{x})
			y = append(y, 10+math.Sin(2*math.Pi*x)+offsets[g]+0.1*rng.NormFloat64())
			groups = append(groups, g)
		}
	}
	var mo, vo float64
	for _, o := range offsets {
		mo += o / donors
	}
	for _, o := range offsets {
		vo += (o - mo) * (o - mo) / (donors - 1)
	}
	m, err := Fit(X, y, Config{Groups: groups, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	h := m.Hyper()
	t.Logf("with groups: %+v (sample variance of the offsets %.3f)", h, vo)
	if !(h.GroupVar >= vo/3 && h.GroupVar <= 3*vo) {
		t.Errorf("GroupVar: got %g, want the offsets' variance %g within a factor 3", h.GroupVar, vo)
	}
	if !(h.Noise >= 0.01/4 && h.Noise <= 0.01*4) {
		t.Errorf("Noise: got %g, want 0.01 within a factor 4", h.Noise)
	}
	// The latent function is predicted without the donor effect: sin(2πx) + 10 + mean offset.
	for _, x := range []float64{0.25, 0.5, 0.75} {
		mean, _ := m.Predict([]float64{x})
		if want := 10 + math.Sin(2*math.Pi*x) + mo; !(math.Abs(mean-want) <= 1.5) {
			t.Errorf("mean at %g: got %g, want %g within 1.5 (the donor mean is known to about σ_g/√10)", x, mean, want)
		}
	}

	m0, err := Fit(X, y, Config{Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	h0 := m0.Hyper()
	t.Logf("without groups: %+v", h0)
	if !(h0.Noise > vo/4) {
		t.Errorf("Noise without groups: got %g, want the offsets' variance (%g) to show in it", h0.Noise, vo)
	}
}

// TestFitCategorical fits a function of a categorical coordinate only (levels 1, 3, −2 plus
// noise SD 0.1) and checks the prediction at every level, whatever the continuous coordinate.
// The points are inside [0, 1]: near the edges the model follows the one or two nearest noisy
// observations of a level (the data of seed 31 have y = 2.745 at x = 0.987 on level 1, a
// −2.5 SD draw), as a GP with a finite length scale should.
func TestFitCategorical(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 31))
	levels := []float64{1, 3, -2}
	var X [][]float64
	var y []float64
	for i := range 30 {
		l := i % 3
		X = append(X, []float64{rng.Float64(), float64(l)})
		y = append(y, levels[l]+0.1*rng.NormFloat64())
	}
	cfg := Config{Dims: []Dim{{Kind: Continuous}, {Kind: Categorical, Levels: 3}}, Seed: 3}
	m, err := Fit(X, y, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("hyperparameters %+v", m.Hyper())
	for l, want := range levels {
		for _, x := range []float64{0.2, 0.5, 0.8} {
			mean, vr := m.Predict([]float64{x, float64(l)})
			// 10 observations per level with SD 0.1: the level mean is known to ±0.03.
			if !(math.Abs(mean-want) <= 0.15) {
				t.Errorf("level %d at x = %g: got %g, want %g within 0.15", l, x, mean, want)
			}
			if !(vr <= 0.05) {
				t.Errorf("level %d at x = %g: got variance %g, want at most 0.05", l, x, vr)
			}
		}
	}
	// The continuous coordinate does not matter: its length scale is longer than the
	// categorical kernel makes the levels differ.
	if h := m.Hyper(); !(h.Lengthscales[0] > 0.5) {
		t.Errorf("continuous length scale: got %g, want > 0.5 (the function does not depend on it)", h.Lengthscales[0])
	}
}

// TestFitDeterministic checks that the same data, Config and Seed give the same model.
func TestFitDeterministic(t *testing.T) {
	X, y := hartmannData(30, 5)
	for _, seed := range []uint64{1, 2} {
		a, err := Fit(X, y, Config{Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		b, err := Fit(X, y, Config{Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(a.Hyper(), b.Hyper()); diff != "" {
			t.Errorf("seed %d: hyperparameters differ (-first +second):\n%s", seed, diff)
		}
		if a.LogMarginalLikelihood() != b.LogMarginalLikelihood() {
			t.Errorf("seed %d: log marginal likelihood %g then %g", seed, a.LogMarginalLikelihood(), b.LogMarginalLikelihood())
		}
	}
}

// TestFitIsOptimum checks that the fitted hyperparameters maximise the objective: no step of
// ±0.01 in any log hyperparameter improves it by more than 1e-6, and no start that the fit
// was given ends up better.
func TestFitIsOptimum(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 41))
	n := 40
	cfg := Config{
		Dims:     []Dim{{Kind: Continuous}, {Kind: Continuous}, {Kind: Categorical, Levels: 3}},
		Groups:   make([]int, n),
		NoiseVar: make([]float64, n),
		Seed:     4,
	}
	X := make([][]float64, n)
	y := make([]float64, n)
	for i := range X {
		X[i] = []float64{rng.Float64(), rng.Float64(), float64(rng.IntN(3))}
		y[i] = math.Sin(5*X[i][0]) + X[i][1] + 0.5*X[i][2] + 0.3*float64(i%4) + 0.1*rng.NormFloat64()
		cfg.Groups[i] = i % 4
		cfg.NoiseVar[i] = 0.001
	}
	m, err := Fit(X, y, cfg)
	if err != nil {
		t.Fatal(err)
	}
	o := newObjective(m.d, cfg)
	u := make([]float64, len(o.free))
	o.startAt(u, m.Hyper())
	prob := o.problem()
	f0 := prob.Func(u)
	for f := range u {
		for _, step := range []float64{-0.01, 0.01} {
			v := append([]float64(nil), u...)
			v[f] += step
			if f1 := prob.Func(v); f1 < f0-1e-6 {
				t.Errorf("step %+g in parameter %d: objective %.9g, below the optimum's %.9g", step, f, f1, f0)
			}
		}
	}
}

// TestFitStart checks that a start at the optimum of a previous fit, with no restarts, gives
// the same optimum.
func TestFitStart(t *testing.T) {
	X, y := hartmannData(40, 6)
	a, err := Fit(X, y, Config{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	ha := a.Hyper()
	b, err := Fit(X, y, Config{Restarts: -1, Start: &ha})
	if err != nil {
		t.Fatal(err)
	}
	checkClose(t, "log marginal likelihood", b.LogMarginalLikelihood(), a.LogMarginalLikelihood(), 1e-4, 0)
	for k, l := range b.Hyper().Lengthscales {
		checkClose(t, fmt.Sprintf("length scale %d", k), l, ha.Lengthscales[k], 0, 1e-2)
	}
}

// TestFitNoiseFree fits noise-free data with FixedNoise and checks that the model
// interpolates.
func TestFitNoiseFree(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 51))
	X := uniformX(rng, 20, 2)
	y := make([]float64, len(X))
	for i, x := range X {
		y[i] = math.Sin(3*x[0]) * math.Cos(2*x[1])
	}
	m, err := Fit(X, y, Config{FixedNoise: 1e-6, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	if h := m.Hyper(); !within(h.Noise, 1e-6, 0, 1e-12) {
		t.Errorf("noise: got %g, want the fixed 1e-6", h.Noise)
	}
	for i, x := range X {
		mean, vr := m.Predict(x)
		checkClose(t, fmt.Sprintf("mean at training point %d", i), mean, y[i], 1e-3, 0)
		if !(vr <= 1e-5) {
			t.Errorf("variance at training point %d: got %g, want at most 1e-5", i, vr)
		}
	}
	// Between the points the smooth function is predicted well.
	for _, x := range [][]float64{{0.5, 0.5}, {0.3, 0.7}} {
		mean, _ := m.Predict(x)
		checkClose(t, fmt.Sprintf("mean at %v", x), mean, math.Sin(3*x[0])*math.Cos(2*x[1]), 0.05, 0)
	}
}

// TestFitSmall fits one and two observations and a constant y: degenerate but valid input.
func TestFitSmall(t *testing.T) {
	for _, tc := range []struct {
		name string
		X    [][]float64
		y    []float64
	}{
		{"one point", [][]float64{{0.5}}, []float64{3}},
		{"two points", [][]float64{{0.2}, {0.8}}, []float64{3, 4}},
		{"constant", [][]float64{{0.2}, {0.5}, {0.8}}, []float64{7, 7, 7}},
		{"repeated input", [][]float64{{0.5}, {0.5}, {0.5}}, []float64{1, 2, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Fit(tc.X, tc.y, Config{Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			mean, vr := m.Predict(tc.X[0])
			if math.IsNaN(mean) || math.IsNaN(vr) || vr < 0 {
				t.Errorf("prediction: got (%g, %g), want finite numbers", mean, vr)
			}
			var ym float64
			for _, v := range tc.y {
				ym += v / float64(len(tc.y))
			}
			if !(math.Abs(mean-ym) <= 1.5) {
				t.Errorf("mean: got %g, want near the data mean %g", mean, ym)
			}
		})
	}
}
