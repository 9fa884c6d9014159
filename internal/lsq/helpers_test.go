package lsq

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// The models of the tests, each with its analytic gradient.

// expRise is y = a(1 − e^(−k x)), defined for a > 0 and k > 0 (the cytotox exponential).
func expRise(p []float64, x float64, grad []float64) (float64, bool) {
	a, k := p[0], p[1]
	if !(a > 0 && k > 0) {
		return 0, false
	}
	g := -math.Expm1(-k * x)
	if grad != nil {
		grad[0] = g
		grad[1] = a * x * math.Exp(-k*x)
	}
	return a * g, true
}

// expDecay is y = a e^(−b x).
func expDecay(p []float64, x float64, grad []float64) (float64, bool) {
	e := math.Exp(-p[1] * x)
	if grad != nil {
		grad[0] = e
		grad[1] = -p[0] * x * e
	}
	return p[0] * e, true
}

// logistic3 is y = K/(1 + e^(−r(x − x0))).
func logistic3(p []float64, x float64, grad []float64) (float64, bool) {
	k, r, x0 := p[0], p[1], p[2]
	e := math.Exp(-r * (x - x0))
	d := 1 + e
	if grad != nil {
		grad[0] = 1 / d
		grad[1] = k * e * (x - x0) / (d * d)
		grad[2] = -k * e * r / (d * d)
	}
	return k / d, !math.IsInf(e, 0)
}

// michaelisMenten is y = Vm x/(K + x).
func michaelisMenten(p []float64, x float64, grad []float64) (float64, bool) {
	vm, k := p[0], p[1]
	d := k + x
	if d == 0 {
		return 0, false
	}
	if grad != nil {
		grad[0] = x / d
		grad[1] = -vm * x / (d * d)
	}
	return vm * x / d, true
}

// fourPL is y = b + (t − b)/(1 + (c/x)^h), defined for c > 0 and h > 0.
func fourPL(p []float64, x float64, grad []float64) (float64, bool) {
	b, t, c, h := p[0], p[1], p[2], p[3]
	if !(c > 0 && h > 0) {
		return 0, false
	}
	lr := math.Log(c / x)
	u := math.Exp(h * lr)
	d := 1 + u
	if grad != nil {
		grad[0] = u / d
		grad[1] = 1 / d
		grad[2] = -(t - b) * h * u / (d * d * c)
		grad[3] = -(t - b) * u * lr / (d * d)
	}
	return b + (t-b)/d, !math.IsInf(u, 0)
}

// problem is a set of points from testdata/problems.csv.
type problem struct{ x, y []float64 }

// readProblems reads testdata/problems.csv (written by testdata/nls.R).
func readProblems(tb testing.TB) map[string]problem {
	tb.Helper()
	out := map[string]problem{}
	for _, r := range readCSV(tb, "problems.csv") {
		p := out[r["problem"]]
		p.x = append(p.x, num(tb, r["x"]))
		p.y = append(p.y, num(tb, r["y"]))
		out[r["problem"]] = p
	}
	return out
}

// expected is R's fit of one problem: estimates, standard errors and residual sum of squares.
type expected struct {
	est, se []float64
	rss     float64
}

// readExpected reads testdata/nls_expected.csv (written by testdata/nls.R).
func readExpected(tb testing.TB) map[string]expected {
	tb.Helper()
	out := map[string]expected{}
	for _, r := range readCSV(tb, "nls_expected.csv") {
		e := out[r["problem"]]
		e.est = append(e.est, num(tb, r["estimate"]))
		e.se = append(e.se, num(tb, r["std_error"]))
		e.rss = num(tb, r["rss"])
		out[r["problem"]] = e
	}
	return out
}

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

// checkRel reports each entry of got that differs from want by more than rel relative.
func checkRel(tb testing.TB, what string, got, want []float64, rel float64) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("%s: got %d values %v, want %d %v", what, len(got), got, len(want), want)
	}
	for i := range want {
		if !(math.Abs(got[i]-want[i]) <= rel*math.Abs(want[i])) {
			tb.Errorf("%s[%d]: got %.12g, want %.12g (relative tolerance %g)", what, i, got[i], want[i], rel)
		}
	}
}

// checkFinite fails unless every entry of v is finite.
func checkFinite(tb testing.TB, what string, v []float64) {
	tb.Helper()
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			tb.Fatalf("%s[%d]: got %g, want a finite number", what, i, x)
		}
	}
}
