package gating

import (
	"math"
	"strings"
	"testing"
)

// The expected values below are closed forms of the Gating-ML 2.0 definitions (flow.md
// section 3), worked by hand:
//   flin(x) = (x + A)/(T + A): flin(-A) = 0, flin(T) = 1, flin(0) = A/(T + A).
//   flog(x) = log10(x/T)/M + 1: flog(T) = 1, flog(T 10^-kM) = 1 - k; undefined (NaN) for x <= 0.
//   fasinh(x) = (asinh(x sinh(M ln10)/T) + A ln10)/((M + A) ln10): fasinh(T) = 1,
//     fasinh(0) = A/(M + A), and fasinh(x) + fasinh(-x) = 2A/(M + A) since asinh is odd.
//   logicle and hyperlog: f(T) = 1, f(0) = x1 = (W + A)/(M + A), f(-x) = 2 x1 - f(x).
//   fratio(u, v) = A (u - B)/(v - C).

func evalOne(t *testing.T, tr *Transformation, x float64) float64 {
	t.Helper()
	out := []float64{0}
	if err := tr.Eval(out, []float64{x}); err != nil {
		t.Fatal(err)
	}
	return out[0]
}

func TestTransformClosedForms(t *testing.T) {
	flin := &Transformation{ID: "lin", Kind: KindFlin, T: 10000, A: 500}
	flog := &Transformation{ID: "log", Kind: KindFlog, T: 10000, M: 5}
	fasinh := &Transformation{ID: "asinh", Kind: KindFasinh, T: 1000, M: 4, A: 1}
	logicle := &Transformation{ID: "logicle", Kind: KindLogicle, T: 10000, W: 0.5, M: 4.5, A: 0}
	logicleA := &Transformation{ID: "logicleA", Kind: KindLogicle, T: 262144, W: 1, M: 4, A: 0.5}
	hyperlog := &Transformation{ID: "hyperlog", Kind: KindHyperlog, T: 10000, W: 1, M: 4.5, A: 0}
	tests := []struct {
		name string
		tr   *Transformation
		x    float64
		want float64
		tol  float64 // absolute; 0 means exact
	}{
		{"flin(-A)", flin, -500, 0, 0},
		{"flin(T)", flin, 10000, 1, 0},
		{"flin(0)", flin, 0, 1.0 / 21, 0},
		{"flin(T-A)", flin, 9500, 20.0 / 21, 0},
		{"flog(T)", flog, 10000, 1, 0},
		{"flog(T/100)", flog, 100, 0.6, 1e-15},
		{"flog(T 10^-M)", flog, 0.1, 0, 1e-15},
		{"flog(T 10^M)", flog, 1e9, 2, 1e-15},
		{"fasinh(T)", fasinh, 1000, 1, 1e-15},
		{"fasinh(0)", fasinh, 0, 0.2, 1e-16},
		{"logicle(T)", logicle, 10000, 1, 1e-14},
		{"logicle(0)", logicle, 0, 0.5 / 4.5, 1e-15},
		{"logicle A(T)", logicleA, 262144, 1, 1e-14},
		{"logicle A(0)", logicleA, 0, 1.5 / 4.5, 1e-15},
		{"hyperlog(T)", hyperlog, 10000, 1, 1e-14},
		{"hyperlog(0)", hyperlog, 0, 1 / 4.5, 1e-15},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := evalOne(t, tc.tr, tc.x)
			if math.Abs(got-tc.want) > tc.tol {
				t.Errorf("got %.17g, want %.17g (tolerance %g)", got, tc.want, tc.tol)
			}
		})
	}
}

// TestTransformSymmetry checks the odd symmetries: fasinh about A/(M+A), logicle and hyperlog
// about x1 (the reference implementations' treatment of negative values).
func TestTransformSymmetry(t *testing.T) {
	tests := []struct {
		tr     *Transformation
		center float64
	}{
		{&Transformation{ID: "a", Kind: KindFasinh, T: 1000, M: 4, A: 1}, 0.2},
		{&Transformation{ID: "l", Kind: KindLogicle, T: 10000, W: 0.5, M: 4.5, A: 0}, 0.5 / 4.5},
		{&Transformation{ID: "h", Kind: KindHyperlog, T: 262144, W: 0.3, M: 4.2, A: 0.5}, 0.8 / 4.7},
	}
	for _, tc := range tests {
		for _, x := range []float64{0.5, 3, 123, 4567, 1e5} {
			sum := evalOne(t, tc.tr, x) + evalOne(t, tc.tr, -x)
			if math.Abs(sum-2*tc.center) > 1e-13 {
				t.Errorf("%s: f(%g) + f(-%g) = %.17g, want %.17g", tc.tr.Kind, x, x, sum, 2*tc.center)
			}
		}
	}
}

func TestFlogUndefined(t *testing.T) {
	tr := &Transformation{ID: "log", Kind: KindFlog, T: 100, M: 2, BoundMin: ptr(0), BoundMax: ptr(1)}
	for _, x := range []float64{0, -1, math.Inf(-1), math.NaN()} {
		if got := evalOne(t, tr, x); !math.IsNaN(got) {
			t.Errorf("flog(%v) with bounds [0, 1] = %v, want NaN", x, got)
		}
	}
}

func TestBounds(t *testing.T) {
	tests := []struct {
		name string
		tr   *Transformation
		x    float64
		want float64
	}{
		// flin T 10000 A 500 with bounds [0.05, 100]: flin(0) = 1/21 < 0.05 is lifted.
		{"lifted", &Transformation{ID: "b", Kind: KindFlin, T: 10000, A: 500, BoundMin: ptr(0.05), BoundMax: ptr(100)}, 0, 0.05},
		{"inside", &Transformation{ID: "b", Kind: KindFlin, T: 10000, A: 500, BoundMin: ptr(0.05), BoundMax: ptr(100)}, 9500, 20.0 / 21},
		{"capped", &Transformation{ID: "b", Kind: KindFlin, T: 10000, A: 500, BoundMax: ptr(0.5)}, 10000, 0.5},
		// logicle(0) = x1 = 0.111... is below boundMin 0.4.
		{"logicle boundMin", &Transformation{ID: "b", Kind: KindLogicle, T: 10000, W: 0.5, M: 4.5, BoundMin: ptr(0.4)}, 0, 0.4},
		{"logicle of -1e6 lifted", &Transformation{ID: "b", Kind: KindLogicle, T: 10000, W: 0.5, M: 4.5, BoundMin: ptr(0.4)}, -1e6, 0.4},
		{"hyperlog boundMin", &Transformation{ID: "b", Kind: KindHyperlog, T: 10000, W: 1, M: 4.5, BoundMin: ptr(0.4)}, 5, 0.4},
		{"fasinh boundMax", &Transformation{ID: "b", Kind: KindFasinh, T: 10000, M: 4, A: 1, BoundMax: ptr(0.6)}, 1e6, 0.6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := evalOne(t, tc.tr, tc.x); got != tc.want {
				t.Errorf("got %.17g, want %.17g", got, tc.want)
			}
		})
	}
}

func TestRatio(t *testing.T) {
	tr := &Transformation{ID: "r", Kind: KindFratio, A: 2.7, B: -100, C: -300, Ratio: [2]string{"u", "v"}}
	u := []float64{0, 200, 1, 0, -100}
	v := []float64{0, 0, -300, -300, -300}
	// 2.7 (u + 100)/(v + 300): 2.7*100/300 = 0.9, 2.7*300/300 = 2.7, 2.7*101/0 = +Inf,
	// 2.7*100/0 = +Inf, 0/0 = NaN.
	want := []float64{0.9, 2.7, math.Inf(1), math.Inf(1), math.NaN()}
	got := make([]float64, len(u))
	if err := tr.EvalRatio(got, u, v); err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if !(math.Abs(got[i]-want[i]) <= 1e-15 || got[i] == want[i] || math.IsNaN(got[i]) && math.IsNaN(want[i])) {
			t.Errorf("fratio(%v, %v) = %v, want %v", u[i], v[i], got[i], want[i])
		}
	}
	bounded := *tr
	bounded.BoundMax = ptr(15.3)
	if err := bounded.EvalRatio(got, u, v); err != nil {
		t.Fatal(err)
	}
	if got[2] != 15.3 || !math.IsNaN(got[4]) {
		t.Errorf("bounded fratio: got %v and %v, want 15.3 and NaN", got[2], got[4])
	}
	if err := tr.Eval(got, u); err == nil || !strings.Contains(err.Error(), "EvalRatio") {
		t.Errorf("Eval on an fratio: got %v, want an error pointing to EvalRatio", err)
	}
}

// TestFasinhInverse checks fasinh against its closed-form inverse at many points:
// x = T sinh(y (M + A) ln10 - A ln10) / sinh(M ln10) maps back to y.
func TestFasinhInverse(t *testing.T) {
	T, M, A := 262144.0, 4.5, 0.5
	tr := &Transformation{ID: "a", Kind: KindFasinh, T: T, M: M, A: A}
	for y := -0.5; y <= 1.2; y += 0.01 {
		x := T * math.Sinh(y*(M+A)*math.Ln10-A*math.Ln10) / math.Sinh(M*math.Ln10)
		if got := evalOne(t, tr, x); math.Abs(got-y) > 1e-13 {
			t.Errorf("fasinh(%g) = %.17g, want %.17g", x, got, y)
		}
	}
}

// TestCurvesNonFinite pins what logicle and hyperlog give for values that are not finite,
// by both evaluation paths (value by value, and ScaleSlice for long columns): NaN stays NaN
// (outside every gate), ±Inf stay ±Inf.
func TestCurvesNonFinite(t *testing.T) {
	for _, tr := range []*Transformation{
		{ID: "l", Kind: KindLogicle, T: 262144, W: 0.5, M: 4.5},
		{ID: "h", Kind: KindHyperlog, T: 262144, W: 0.5, M: 4.5},
	} {
		for _, n := range []int{3, tableWorth} {
			src := make([]float64, n)
			src[0], src[1], src[2] = math.NaN(), math.Inf(1), math.Inf(-1)
			dst := make([]float64, n)
			if err := tr.Eval(dst, src); err != nil {
				t.Fatal(err)
			}
			if !math.IsNaN(dst[0]) || !math.IsInf(dst[1], 1) || !math.IsInf(dst[2], -1) {
				t.Errorf("%s on %d values: NaN, +Inf, -Inf give %v, %v, %v", tr.Kind, n, dst[0], dst[1], dst[2])
			}
		}
	}
}
