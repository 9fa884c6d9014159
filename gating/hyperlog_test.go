package gating

import (
	"math"
	"math/big"
	"strings"
	"testing"
)

// The sources and helpers of these tests are described in logicle_test.go.

func TestHyperlogParams(t *testing.T) {
	for _, tc := range []struct {
		name       string
		T, W, M, A float64
		wantErr    string // a fragment of the error, "" for none
	}{
		{"ISAC", 10000, 1, 4.5, 0, ""},
		{"W = M/2", 10000, 2.25, 4.5, 0, ""},
		{"A = -W", 10000, 1, 4.5, -1, ""},
		{"A = M - 2W", 10000, 1, 4.5, 2.5, ""},
		{"small W", 10000, 1e-6, 4.5, 0, ""},
		{"tiny T", 1e-200, 1, 4.5, 0, ""},
		{"huge T", 1e200, 1, 4.5, 0, ""},
		{"many decades", 10000, 1, 100, 0, ""},
		{"W zero", 10000, 0, 4.5, 0, "parameter W = 0: the linearization width must be greater than 0"},
		{"T zero", 0, 1, 4.5, 0, "parameter T = 0"},
		{"W negative", 10000, -1, 4.5, 0, "parameter W = -1"},
		{"M zero", 10000, 1, 0, 0, "parameter M = 0"},
		{"W above M/2", 10000, 3, 4.5, 0, "must not exceed M/2 = 2.25"},
		{"A below -W", 10000, 1, 4.5, -1.5, "must not be below -W = -1"},
		{"A above M - 2W", 10000, 1, 4.5, 3, "must not exceed M - 2W = 2.5"},
		{"T Inf", math.Inf(1), 1, 4.5, 0, "parameter T = +Inf: must be a finite number"},
		{"M NaN", 10000, 1, math.NaN(), 0, "parameter M = NaN"},
		{"overflow", 10000, 1, 400, 0, "overflow float64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := NewHyperlog(tc.T, tc.W, tc.M, tc.A)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("got error %v, want none", err)
				}
				if y := h.Scale(tc.T); math.Abs(y-1) > 1e-15 {
					t.Errorf("Scale(T) = %v, want 1", y)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), "hyperlog") {
				t.Errorf("error %q does not name the transformation", err)
			}
		})
	}
}

// TestHyperlogPublished compares with the published example to its 6 decimals.
func TestHyperlogPublished(t *testing.T) {
	h := lgNewHyperlog(t, lgParams{1000, 1, 4, 0})
	xs := []float64{-10, -5, -1, 0, 0.3, 1, 3, 10, 100, 1000}
	want := []float64{0.08355406, 0.15586819, 0.2294768, 0.25, 0.25623887, 0.2705232, 0.30909185, 0.41644594, 0.73187469, 1.0}
	for i, x := range xs {
		if got := h.Scale(x); math.Abs(got-want[i]) > 5e-7 {
			t.Errorf("Scale(%v) = %.8f, want %.8f", x, got, want[i])
		}
	}
}

func TestHyperlogMpmath(t *testing.T) { lgCheckMpmath(t, "hyperlog") }

func TestHyperlogDefiningPoints(t *testing.T) { lgCheckDefiningPoints(t, "hyperlog") }

func TestHyperlogSpecialValues(t *testing.T) {
	lgCheckSpecialValues(t, lgNewHyperlog(t, lgParams{10000, 1, 4.5, 0}))
}

func lgBigHyperlog(p lgParams) *lgBigCurve {
	w, x1, x0, b := lgBigCommon(p)
	e0 := lgBExp(lgBMul(b, x0))
	ca := lgBQuo(e0, w)
	fa := lgBAdd(lgBExp(lgBMul(b, x1)), lgBMul(ca, x1))
	a := lgBQuo(lgB(p.T), lgBSub(lgBAdd(lgBExp(b), ca), fa))
	c := lgBMul(ca, a)
	f := lgBMul(fa, a)
	return &lgBigCurve{x1: x1, f: func(y *big.Float) (*big.Float, *big.Float) {
		eb := lgBExp(lgBMul(b, y))
		v := lgBSub(lgBAdd(lgBMul(a, eb), lgBMul(c, y)), f)
		dv := lgBAdd(lgBMul(lgBMul(a, b), eb), c)
		return v, dv
	}}
}

// TestHyperlogBigFloat checks Inverse against EH in 320-bit arithmetic, Scale against the exact
// root and the round trip, as TestLogicleBigFloat.
func TestHyperlogBigFloat(t *testing.T) {
	for _, p := range lgHyperlogSets {
		h := lgNewHyperlog(t, p)
		lgCheckBig(t, "hyperlog", p, h, h.x1, lgBigHyperlog(p))
	}
}

func TestHyperlogScaleSlice(t *testing.T) {
	for i, p := range lgHyperlogSets {
		h := lgNewHyperlog(t, p)
		lgCheckSliceSet(t, "hyperlog", p, h, h.x1, &h.fast, uint64(100+i))
	}
}

func TestHyperlogRandomParams(t *testing.T) {
	lgCheckRandomParams(t, "hyperlog", func(p lgParams) (lgTransform, float64, error) {
		h, err := NewHyperlog(p.T, p.W, p.M, p.A)
		if err != nil {
			return nil, 0, err
		}
		return h, h.x1, nil
	})
}

// FuzzHyperlog is FuzzLogicle for hyperlog.
func FuzzHyperlog(f *testing.F) {
	f.Add(10000.0, 1.0, 4.5, 0.0, 1000.0)
	f.Add(10000.0, 1e-9, 4.5, 0.0, -3.0)
	f.Add(10000.0, 2.25, 4.5, 0.0, 1e-300)
	f.Add(1e-300, 0.5, 4.5, 0.0, 1e300)
	f.Add(10000.0, 1.0, 4.5, -1.0, 5e-324)
	f.Add(1e200, 1.0, 4.5, 0.0, 1e200)
	f.Fuzz(func(t *testing.T, T, W, M, A, x float64) {
		h, err := NewHyperlog(T, W, M, A)
		if err != nil {
			return
		}
		lgFuzzCheck(t, h, h.x1, x)
	})
}

// BenchmarkHyperlogScale is the exact scalar Scale on flow-like values.
func BenchmarkHyperlogScale(b *testing.B) {
	h := lgNewHyperlog(b, lgParams{262144, 0.5, 4.5, 0})
	data := lgFlowData(1<<16, 1)
	i := 0
	s := 0.0
	for b.Loop() {
		s += h.Scale(data[i&(1<<16-1)])
		i++
	}
	_ = s
}

// BenchmarkHyperlogScaleSlice is ScaleSlice on a column of 1,000,000 flow-like values.
func BenchmarkHyperlogScaleSlice(b *testing.B) {
	h := lgNewHyperlog(b, lgParams{262144, 0.5, 4.5, 0})
	lgBenchSlice(b, h)
}
