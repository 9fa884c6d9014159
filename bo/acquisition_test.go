package bo

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/diff/fd"

	"github.com/clink-consortium/clink/gp"
)

// testObservations evaluates f at n scrambled Sobol points of dims with noise of SD sd on
// every outcome (seeded), the categorical coordinates set to seeded random levels.
func testObservations(tb testing.TB, dims []gp.Dim, n int, sd float64, f func(x []float64) []float64) []Observation {
	tb.Helper()
	rng := newRand(99, 0)
	var obs []Observation
	for _, u := range unitPoints(n, len(dims), 5) {
		x := append([]float64(nil), u...)
		for j, d := range dims {
			if d.Kind == gp.Categorical {
				x[j] = float64(rng.IntN(d.Levels))
			}
		}
		y := f(x)
		for k := range y {
			y[k] += sd * rng.NormFloat64()
		}
		obs = append(obs, Observation{X: x, Y: y, Group: -1})
	}
	return obs
}

// smooth3 is a test function of a point with two continuous coordinates and maybe a
// categorical third: three outcomes, the third a constraint-like one.
func smooth3(x []float64) []float64 {
	c := 0.0
	if len(x) > 2 {
		c = 0.3 * x[2]
	}
	a := math.Sin(3*x[0]) + math.Cos(2*x[1]) + c
	b := -(x[0]-0.3)*(x[0]-0.3) - (x[1]-0.7)*(x[1]-0.7) - c
	return []float64{a, b, x[0] + 0.5*x[1]}
}

// TestAcquisitionGradients checks the analytic gradients of LogNEI and LogNEHVI (with and
// without outcome constraints, pending points and a categorical coordinate) against central
// finite differences (gonum/diff/fd) at points inside the box.
func TestAcquisitionGradients(t *testing.T) {
	cont2 := []gp.Dim{{}, {}}
	mixed := []gp.Dim{{}, {}, {Kind: gp.Categorical, Levels: 3}}
	for _, tc := range []struct {
		name    string
		dims    []gp.Dim
		objs    []Objective
		cons    []OutcomeConstraint
		pending [][]float64
	}{
		{"nei", cont2, []Objective{{Outcome: 0, Maximize: true}}, nil, nil},
		{"nei minimise", cont2, []Objective{{Outcome: 1}}, nil, nil},
		{"nei constrained", cont2, []Objective{{Outcome: 0, Maximize: true}}, []OutcomeConstraint{{Outcome: 2, Bound: 0.6}}, nil},
		{"nei upper constraint pending", cont2, []Objective{{Outcome: 0, Maximize: true}}, []OutcomeConstraint{{Outcome: 2, Bound: 0.9, Upper: true}}, [][]float64{{0.5, 0.5}, {0.2, 0.9}}},
		{"nei categorical", mixed, []Objective{{Outcome: 0, Maximize: true}}, nil, nil},
		{"nehvi", cont2, []Objective{{Outcome: 0, Maximize: true}, {Outcome: 1, Maximize: true}}, nil, nil},
		{"nehvi constrained pending", cont2, []Objective{{Outcome: 0, Maximize: true}, {Outcome: 1}}, []OutcomeConstraint{{Outcome: 2, Bound: 0.5}}, [][]float64{{0.4, 0.4}}},
		{"nehvi categorical", mixed, []Objective{{Outcome: 0, Maximize: true}, {Outcome: 1, Maximize: true}}, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obs := testObservations(t, tc.dims, 12, 0.05, smooth3)
			st, err := prepare(obs, Options{Dims: tc.dims, Objectives: tc.objs, Constraints: tc.cons, Pending: tc.pending, Seed: 3})
			if err != nil {
				t.Fatal(err)
			}
			acq, err := st.acquisition(tc.pending)
			if err != nil {
				t.Fatal(err)
			}
			d := len(tc.dims)
			grad := make([]float64, d)
			for i, u := range unitPoints(6, d, 77) {
				x := append([]float64(nil), u...)
				for j := range 2 {
					x[j] = 0.05 + 0.9*u[j]
				}
				if d > 2 {
					x[2] = float64(i % 3)
				}
				v := acq.eval(x, grad)
				if w := acq.eval(x, nil); math.Abs(v-w) > 1e-9*(1+math.Abs(w)) {
					t.Errorf("x %v: value with gradient %g, without %g", x, v, w)
				}
				want := fd.Gradient(nil, func(z []float64) float64 {
					y := append([]float64(nil), x...)
					copy(y[:2], z)
					return acq.eval(y, nil)
				}, x[:2], &fd.Settings{Formula: fd.Central, Step: 1e-6})
				for j := range 2 {
					if !nearDeriv(grad[j], want[j], 1e-4) {
						t.Errorf("x %v (value %g): gradient[%d] = %g, finite differences %g", x, v, j, grad[j], want[j])
					}
				}
				if d > 2 && grad[2] != 0 {
					t.Errorf("x %v: gradient on the categorical coordinate = %g, want 0", x, grad[2])
				}
			}
		})
	}
}
