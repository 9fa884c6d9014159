package gp

import (
	"encoding/csv"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/mat"
)

// readCSV reads testdata/name as rows keyed by the header's column names.
func readCSV(tb testing.TB, name string) []map[string]string {
	tb.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	var out []map[string]string
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = rec[i]
		}
		out = append(out, m)
	}
	return out
}

func num(tb testing.TB, s string) float64 {
	tb.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		tb.Fatalf("cell %q: %v", s, err)
	}
	return v
}

// nums parses a ";"-separated list of numbers.
func nums(tb testing.TB, s string) []float64 {
	tb.Helper()
	var out []float64
	for _, f := range strings.Split(s, ";") {
		out = append(out, num(tb, f))
	}
	return out
}

// closedCase is one case of testdata/cases.csv with its observations and R's posterior.
type closedCase struct {
	name     string
	cfg      Config
	h        Hyper
	lml      float64
	X        [][]float64
	y        []float64
	T        [][]float64 // test points
	mean, vr []float64   // R's posterior mean and variance at T
	cov      [][]float64 // R's posterior covariance at T
}

// readClosedCases reads the fixtures written by testdata/closed_form.R.
func readClosedCases(tb testing.TB) []*closedCase {
	tb.Helper()
	var out []*closedCase
	byName := map[string]*closedCase{}
	for _, r := range readCSV(tb, "cases.csv") {
		c := &closedCase{name: r["case"], lml: num(tb, r["lml"])}
		levels := nums(tb, r["levels"])
		for i, k := range strings.Split(r["kinds"], ";") {
			if k == "k" {
				c.cfg.Dims = append(c.cfg.Dims, Dim{Kind: Categorical, Levels: int(levels[i])})
			} else {
				c.cfg.Dims = append(c.cfg.Dims, Dim{Kind: Continuous})
			}
		}
		c.h = Hyper{
			Lengthscales: nums(tb, r["lengthscales"]),
			Outputscale:  num(tb, r["outputscale"]),
			Noise:        num(tb, r["noise"]),
			GroupVar:     num(tb, r["groupvar"]),
			Mean:         num(tb, r["mean"]),
		}
		out = append(out, c)
		byName[c.name] = c
	}
	for _, r := range readCSV(tb, "train.csv") {
		c := byName[r["case"]]
		c.X = append(c.X, nums(tb, r["x"]))
		c.y = append(c.y, num(tb, r["y"]))
		c.cfg.Groups = append(c.cfg.Groups, int(num(tb, r["group"])))
		c.cfg.NoiseVar = append(c.cfg.NoiseVar, num(tb, r["noisevar"]))
	}
	for _, r := range readCSV(tb, "test.csv") {
		c := byName[r["case"]]
		c.T = append(c.T, nums(tb, r["x"]))
		c.mean = append(c.mean, num(tb, r["mean"]))
		c.vr = append(c.vr, num(tb, r["var"]))
	}
	for _, c := range out {
		c.cov = make([][]float64, len(c.T))
		for i := range c.cov {
			c.cov[i] = make([]float64, len(c.T))
		}
	}
	for _, r := range readCSV(tb, "joint.csv") {
		c := byName[r["case"]]
		c.cov[int(num(tb, r["i"]))][int(num(tb, r["j"]))] = num(tb, r["cov"])
	}
	return out
}

// within reports whether got is within abs + rel·|want| of want.
func within(got, want, abs, rel float64) bool {
	return math.Abs(got-want) <= abs+rel*math.Abs(want)
}

// checkClose fails when got is not within abs + rel·|want| of want.
func checkClose(tb testing.TB, what string, got, want, abs, rel float64) {
	tb.Helper()
	if !within(got, want, abs, rel) {
		tb.Errorf("%s: got %.12g, want %.12g (tolerance %g + %g relative)", what, got, want, abs, rel)
	}
}

// gpSample draws y = mean + f(x) + ε at the rows of X with f ~ GP(0, s2 k) (the kernel of this
// package with length scales ls, continuous inputs) and ε ~ N(0, noise), from rng. The draw
// uses the Cholesky factor of the covariance computed here, not the package's.
func gpSample(tb testing.TB, rng *rand.Rand, X [][]float64, ls []float64, s2, noise, mean float64) []float64 {
	tb.Helper()
	n := len(X)
	K := mat.NewSymDense(n, nil)
	for i := range n {
		for j := i; j < n; j++ {
			var r2 float64
			for k := range ls {
				t := (X[i][k] - X[j][k]) / ls[k]
				r2 += t * t
			}
			r := math.Sqrt(r2)
			v := s2 * (1 + math.Sqrt(5)*r + 5*r*r/3) * math.Exp(-math.Sqrt(5)*r)
			if i == j {
				v += noise + 1e-10*s2
			}
			K.SetSym(i, j, v)
		}
	}
	var ch mat.Cholesky
	if !ch.Factorize(K) {
		tb.Fatal("sample covariance is not positive definite")
	}
	var L mat.TriDense
	ch.LTo(&L)
	e := make([]float64, n)
	for i := range e {
		e[i] = rng.NormFloat64()
	}
	y := make([]float64, n)
	for i := range n {
		y[i] = mean
		for j := 0; j <= i; j++ {
			y[i] += L.At(i, j) * e[j]
		}
	}
	return y
}

// uniformX returns n rows of d coordinates uniform on [0, 1].
func uniformX(rng *rand.Rand, n, d int) [][]float64 {
	X := make([][]float64, n)
	for i := range X {
		X[i] = make([]float64, d)
		for k := range X[i] {
			X[i][k] = rng.Float64()
		}
	}
	return X
}

// checkGradFD compares the derivatives dm and dv of the posterior mean and variance of m with
// respect to coordinate k at x with central finite differences of Predict (step h), within tol
// (absolute and relative).
func checkGradFD(tb testing.TB, m *Model, x []float64, k int, dm, dv, h, tol float64) {
	tb.Helper()
	at := func(v float64) []float64 {
		xx := append([]float64(nil), x...)
		xx[k] = v
		return xx
	}
	set := &fd.Settings{Formula: fd.Central, Step: h}
	wm := fd.Derivative(func(v float64) float64 { mu, _ := m.Predict(at(v)); return mu }, x[k], set)
	wv := fd.Derivative(func(v float64) float64 { _, vr := m.Predict(at(v)); return vr }, x[k], set)
	checkClose(tb, fmt.Sprintf("d mean/d x%d at %v", k, x), dm, wm, tol, tol)
	checkClose(tb, fmt.Sprintf("d variance/d x%d at %v", k, x), dv, wv, tol, tol)
}
