package bo

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/diff/fd"

	"github.com/clink-consortium/clink/gp"
)

// disc is the smooth constraint x0² + x1² ≤ 0.5 (a quarter disc of radius √0.5 in the unit
// square), scaled by its bound.
func disc(x, grad []float64) float64 {
	if grad != nil {
		grad[0] += 2 * x[0] / 0.5
		grad[1] += 2 * x[1] / 0.5
	}
	return (x[0]*x[0] + x[1]*x[1] - 0.5) / 0.5
}

// TestSuggestSmoothConstraints maximises x0 + x1 inside the quarter disc: no suggestion may
// leave it, and the first should sit near the boundary point (0.5, 0.5), where the objective
// is best (x0 + x1 = 1).
func TestSuggestSmoothConstraints(t *testing.T) {
	dims := []gp.Dim{{}, {}}
	sum := func(x []float64) []float64 { return []float64{x[0] + x[1]} }
	var obs []Observation
	for _, o := range testObservations(t, dims, 30, 0.01, sum) {
		if disc(o.X, nil) <= 0 {
			obs = append(obs, o)
		}
	}
	sugg, err := Suggest(obs, fast(Options{Objectives: []Objective{{Outcome: 0, Maximize: true}},
		SmoothConstraints: []SmoothConstraint{disc}, Batch: 3, Seed: 1}))
	if err != nil {
		t.Fatal(err)
	}
	checkSuggestions(t, sugg, dims, LinearConstraints{}, nil)
	for i, s := range sugg {
		if c := disc(s.X, nil); c > constraintTol {
			t.Errorf("suggestion %d at %v: constraint %g, want at most 0", i, s.X, c)
		}
	}
	if s := sugg[0].X[0] + sugg[0].X[1]; s < 0.9 {
		t.Errorf("first suggestion %v has x0 + x1 = %g, want near the best feasible 1", sugg[0].X, s)
	}
}

// TestViolationGradient checks the gradient of the penalty the acquisition optimiser adds
// for linear and smooth constraints against central finite differences, at points that break
// one, both or neither.
func TestViolationGradient(t *testing.T) {
	sp := newSpace([]gp.Dim{{}, {}, {Kind: gp.Categorical, Levels: 2}}, [][]float64{{1, -1, 0}}, []float64{0.1})
	sp.smooth = []SmoothConstraint{disc}
	for _, x := range [][]float64{{0.9, 0.6, 1}, {0.6, 0.2, 0}, {0.2, 0.9, 1}, {0.1, 0.2, 0}} {
		got := make([]float64, 3)
		v := sp.violation(x, got)
		want := fd.Gradient(nil, func(x []float64) float64 { return sp.violation(x, nil) }, x, &fd.Settings{Formula: fd.Central, Step: 1e-6})
		for j := range 2 {
			if math.Abs(got[j]-want[j]) > 1e-6*(1+math.Abs(want[j])) {
				t.Errorf("at %v: ∂violation/∂x%d got %g, want %g", x, j, got[j], want[j])
			}
		}
		if feasible := sp.feasible(x); feasible != (v == 0) {
			t.Errorf("at %v: feasible %v with violation %g", x, feasible, v)
		}
	}
}
