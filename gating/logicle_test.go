package gating

import (
	"encoding/csv"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The tests of Logicle and Hyperlog check them against three independent sources:
//
//   - testdata/logicle/mpmath.csv: 60-digit values from the definitions, computed by
//     testdata/logicle/gen_mpmath.py (mpmath), for 11 logicle and 8 hyperlog parameter sets
//     including every limit of the domain and the ISAC compliance settings;
//   - a 320-bit implementation of the definitions in math/big below (exp by its series, ln by
//     Newton's method), which checks Inverse against B and Scale against the exact root on
//     thousands of random values;
//   - the published examples logicle(x; T=1000, W=1, M=4, A=0) and hyperlog(x; same) to 6
//     decimals (the test suite of FlowUtils, whitews/FlowUtils flowutils/tests/transform_tests.py,
//     test_logicle_range and test_hyperlog_range; the same numbers are in the tests of other
//     implementations).
//
// The fast ScaleSlice is checked against Scale on millions of values.

// lgTransform is what Logicle and Hyperlog have in common, for tests that run on both.
type lgTransform interface {
	Scale(x float64) float64
	Inverse(y float64) float64
	ScaleSlice(dst, src []float64)
}

type lgParams struct{ T, W, M, A float64 }

// lgLogicleSets and lgHyperlogSets are the parameter sets of the tests: the usual cytometer
// setting, the ISAC compliance settings, the Gating-ML example and the limits of the domain.
var lgLogicleSets = []lgParams{
	{262144, 0.5, 4.5, 0},
	{10000, 0.5, 4.5, 0},
	{10000, 1, 4, 0.5},
	{1000, 1, 4, 0},
	{10000, 0, 4.5, 0},
	{10000, 2.25, 4.5, 0},
	{10000, 1, 4.5, -1},
	{1000, 0.5, 4.5, 3.5},
	{262144, 0.3, 5.2, 0.7},
	{1, 0.1, 1, 0},
	{1e6, 1.5, 7, 0.25},
}

var lgHyperlogSets = []lgParams{
	{10000, 1, 4.5, 0},
	{1000, 1, 4, 0},
	{262144, 0.5, 4.5, 0},
	{10000, 2.25, 4.5, 0},
	{10000, 1, 4.5, -1},
	{1000, 0.5, 4.5, 3.5},
	{10000, 0.01, 4.5, 0},
	{1, 0.1, 1, 0},
}

func lgNewLogicle(tb testing.TB, p lgParams) *Logicle {
	tb.Helper()
	l, err := NewLogicle(p.T, p.W, p.M, p.A)
	if err != nil {
		tb.Fatalf("NewLogicle(%v): %v", p, err)
	}
	return l
}

func lgNewHyperlog(tb testing.TB, p lgParams) *Hyperlog {
	tb.Helper()
	h, err := NewHyperlog(p.T, p.W, p.M, p.A)
	if err != nil {
		tb.Fatalf("NewHyperlog(%v): %v", p, err)
	}
	return h
}

// lgULP is the spacing of float64 values at |v|.
func lgULP(v float64) float64 {
	v = math.Abs(v)
	if v == 0 {
		return math.SmallestNonzeroFloat64
	}
	if math.IsInf(v, 0) {
		return math.Inf(1)
	}
	return math.Nextafter(v, math.Inf(1)) - v
}

// lgScaleErr returns |got - want| in units of the last place of the largest of |want|, x1 and
// u = |want - x1|: y = x1 ± u is a sum, and for negative data the reference definition itself
// subtracts, 2 x1 - (x1 + u), so that near y = 0 an error of an ulp of u is all one can ask.
func lgScaleErr(got, want, x1 float64) float64 {
	if got == want {
		return 0
	}
	return math.Abs(got-want) / lgULP(max(math.Abs(want), x1, math.Abs(want-x1)))
}

func TestLogicleParams(t *testing.T) {
	for _, tc := range []struct {
		name       string
		T, W, M, A float64
		wantErr    string // a fragment of the error, "" for none
	}{
		{"usual", 262144, 0.5, 4.5, 0, ""},
		{"W zero", 10000, 0, 4.5, 0, ""},
		{"W = M/2", 10000, 2.25, 4.5, 0, ""},
		{"A = -W", 10000, 1, 4.5, -1, ""},
		{"A = M - 2W", 10000, 1, 4.5, 2.5, ""},
		{"tiny T", 1e-200, 0.5, 4.5, 0, ""},
		{"huge T", 1e200, 0.5, 4.5, 0, ""},
		{"many decades", 10000, 0.5, 100, 0, ""},
		{"T zero", 0, 0.5, 4.5, 0, "parameter T = 0"},
		{"T negative", -1, 0.5, 4.5, 0, "parameter T = -1"},
		{"W negative", 10000, -0.1, 4.5, 0, "parameter W = -0.1"},
		{"M zero", 10000, 0.5, 0, 0, "parameter M = 0"},
		{"M negative", 10000, 0.5, -4.5, 0, "parameter M = -4.5"},
		{"W above M/2", 10000, 3, 4.5, 0, "must not exceed M/2 = 2.25"},
		{"A below -W", 10000, 0.5, 4.5, -0.6, "must not be below -W = -0.5"},
		{"A above M - 2W", 10000, 0.5, 4.5, 3.6, "must not exceed M - 2W = 3.5"},
		{"T NaN", math.NaN(), 0.5, 4.5, 0, "parameter T = NaN: must be a finite number"},
		{"W Inf", 10000, math.Inf(1), 4.5, 0, "parameter W = +Inf"},
		{"M Inf", 10000, 0.5, math.Inf(1), 0, "parameter M = +Inf"},
		{"A NaN", 10000, 0.5, 4.5, math.NaN(), "parameter A = NaN"},
		{"A -Inf", 10000, 0.5, 4.5, math.Inf(-1), "parameter A = -Inf"},
		{"overflow", 10000, 0.5, 400, 0, "overflow float64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := NewLogicle(tc.T, tc.W, tc.M, tc.A)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("got error %v, want none", err)
				}
				if y := l.Scale(tc.T); math.Abs(y-1) > 1e-15 {
					t.Errorf("Scale(T) = %v, want 1", y)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), "logicle") {
				t.Errorf("error %q does not name the transformation", err)
			}
		})
	}
}

// TestLogiclePublished compares with the published example to its 6 decimals.
func TestLogiclePublished(t *testing.T) {
	l := lgNewLogicle(t, lgParams{1000, 1, 4, 0})
	xs := []float64{-10, -5, -1, 0, 0.3, 1, 3, 10, 100, 1000}
	want := []float64{0.067574, 0.147986, 0.228752, 0.25, 0.256384, 0.271248, 0.312897, 0.432426, 0.739548, 1.0}
	for i, x := range xs {
		if got := l.Scale(x); math.Abs(got-want[i]) > 5e-7 {
			t.Errorf("Scale(%v) = %.8f, want %.6f", x, got, want[i])
		}
	}
}

// lgRow is a row of testdata/logicle/mpmath.csv.
type lgRow struct {
	transform string
	p         lgParams
	direction string
	in        float64
	out       *big.Float
}

func lgReadMpmath(tb testing.TB) []lgRow {
	tb.Helper()
	f, err := os.Open(filepath.Join("testdata", "logicle", "mpmath.csv"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	num := func(s string) float64 {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			tb.Fatalf("mpmath.csv: %v", err)
		}
		return v
	}
	var rows []lgRow
	for _, r := range recs[1:] {
		out, _, err := big.ParseFloat(r[7], 10, 200, big.ToNearestEven)
		if err != nil {
			tb.Fatalf("mpmath.csv: %q: %v", r[7], err)
		}
		rows = append(rows, lgRow{r[0], lgParams{num(r[1]), num(r[2]), num(r[3]), num(r[4])}, r[5], num(r[6]), out})
	}
	if len(rows) < 900 {
		tb.Fatalf("mpmath.csv has %d rows, want about 980", len(rows))
	}
	return rows
}

// The bounds of the tests, in units in the last place as lgScaleErr measures them.
const (
	lgScaleULPs      = 3     // Scale against the exact root
	lgSliceExactULPs = 4     // ScaleSlice against the exact root
	lgSliceULPs      = 6     // ScaleSlice against Scale
	lgRoundTripUL    = 4     // Scale(Inverse(y)) against y
	lgInverseRel     = 1e-15 // Inverse against the exact F, relative
)

// TestLogicleMpmath and TestHyperlogMpmath compare with the 60-digit reference values.

func TestLogicleMpmath(t *testing.T) { lgCheckMpmath(t, "logicle") }

func lgCheckMpmath(t *testing.T, name string) {
	var worstScale, worstInv float64
	n := 0
	for _, r := range lgReadMpmath(t) {
		if r.transform != name {
			continue
		}
		var tr lgTransform
		var x1 float64
		if name == "logicle" {
			l := lgNewLogicle(t, r.p)
			tr, x1 = l, l.x1
		} else {
			h := lgNewHyperlog(t, r.p)
			tr, x1 = h, h.x1
		}
		want, _ := r.out.Float64()
		n++
		switch r.direction {
		case "scale":
			got := tr.Scale(r.in)
			e := lgScaleErr(got, want, x1)
			worstScale = math.Max(worstScale, e)
			if e > lgScaleULPs {
				t.Errorf("%s%v.Scale(%v) = %v, want %v (%.1f ulps)", name, r.p, r.in, got, r.out.Text('g', 20), e)
			}
			var s [1]float64
			tr.ScaleSlice(s[:], []float64{r.in})
			if e := lgScaleErr(s[0], got, x1); e > lgSliceULPs {
				t.Errorf("%s%v.ScaleSlice(%v) = %v, want Scale = %v (%.1f ulps)", name, r.p, r.in, s[0], got, e)
			}
		case "inverse":
			// Where y is x1 exactly, the reference value is the noise of 60-digit arithmetic
			// (1e-58 T); the floor 1e-40 T stands for zero.
			got := tr.Inverse(r.in)
			e := math.Abs(got-want) / math.Max(math.Abs(want), 1e-40*r.p.T)
			worstInv = math.Max(worstInv, e)
			if e > lgInverseRel {
				t.Errorf("%s%v.Inverse(%v) = %v, want %v (relative error %.2g)", name, r.p, r.in, got, r.out.Text('g', 20), e)
			}
		}
	}
	t.Logf("%d %s values: Scale within %.2f ulps, Inverse within %.2g relative", n, name, worstScale, worstInv)
}

func TestLogicleDefiningPoints(t *testing.T) { lgCheckDefiningPoints(t, "logicle") }

// lgCheckDefiningPoints checks F(x1) = 0 and F(1) = T, i.e. Scale(0) = x1 and Scale(T) = 1.
func lgCheckDefiningPoints(t *testing.T, name string) {
	sets := lgLogicleSets
	if name == "hyperlog" {
		sets = lgHyperlogSets
	}
	for _, p := range sets {
		var tr lgTransform
		var x1 float64
		if name == "logicle" {
			l := lgNewLogicle(t, p)
			tr, x1 = l, l.x1
		} else {
			h := lgNewHyperlog(t, p)
			tr, x1 = h, h.x1
		}
		// F(x1) = 0: where x1 = (A+W)/(M+A) is a float64, Inverse(x1) must be 0; elsewhere x1
		// is the nearest float64 and Inverse(x1) = F'(x1)(x1 - exact x1), which the 320-bit
		// reference gives.
		ref := lgBigLogicle(p)
		if name == "hyperlog" {
			ref = lgBigHyperlog(p)
		}
		if lgB(x1).Cmp(ref.x1) == 0 {
			if got := tr.Inverse(x1); got != 0 {
				t.Errorf("%s%v: Inverse(x1 = %v) = %v, want 0", name, p, x1, got)
			}
		} else {
			want := lgF(ref.inverse(lgB(x1)))
			if got := tr.Inverse(x1); math.Abs(got-want) > lgInverseRel*math.Abs(want) {
				t.Errorf("%s%v: Inverse(x1 = %v) = %v, want %v (x1 is not exact)", name, p, x1, got, want)
			}
		}
		if got := tr.Inverse(1); math.Abs(got-p.T) > lgULP(p.T) {
			t.Errorf("%s%v: Inverse(1) = %v, want T = %v to 1 ulp", name, p, got, p.T)
		}
		if got := tr.Scale(0); got != x1 {
			t.Errorf("%s%v: Scale(0) = %v, want x1 = %v", name, p, got, x1)
		}
		if got := tr.Scale(p.T); math.Abs(got-1) > 2*lgULP(1) {
			t.Errorf("%s%v: Scale(T) = %v, want 1 to 2 ulps", name, p, got)
		}
		if want := (p.A + p.W) / (p.M + p.A); math.Abs(x1-want) > lgULP(want) {
			t.Errorf("%s%v: x1 = %v, want (A+W)/(M+A) = %v", name, p, x1, want)
		}
	}
}

func TestLogicleSpecialValues(t *testing.T) {
	lgCheckSpecialValues(t, lgNewLogicle(t, lgParams{262144, 0.5, 4.5, 0}))
}

// lgCheckSpecialValues checks NaN, infinities and signed zeros in all three methods.
func lgCheckSpecialValues(t *testing.T, tr lgTransform) {
	inf, nan := math.Inf(1), math.NaN()
	x1 := tr.Scale(0)
	for _, tc := range []struct{ x, want float64 }{
		{nan, nan}, {inf, inf}, {-inf, -inf}, {0, x1}, {math.Copysign(0, -1), x1},
		{math.MaxFloat64, 0}, {-math.MaxFloat64, 0}, {math.SmallestNonzeroFloat64, x1}, {-math.SmallestNonzeroFloat64, x1},
	} {
		got := tr.Scale(tc.x)
		var s [1]float64
		tr.ScaleSlice(s[:], []float64{tc.x})
		switch {
		case math.IsNaN(tc.want):
			if !math.IsNaN(got) || !math.IsNaN(s[0]) {
				t.Errorf("Scale(%v) = %v, ScaleSlice %v, want NaN", tc.x, got, s[0])
			}
		case tc.want == 0: // finite, with the sign of x
			if math.IsNaN(got) || math.IsInf(got, 0) || (got > x1) != (tc.x > 0) || s[0] != got {
				t.Errorf("Scale(%v) = %v, ScaleSlice %v, want a finite value on the side of x", tc.x, got, s[0])
			}
		default:
			if got != tc.want || s[0] != tc.want {
				t.Errorf("Scale(%v) = %v, ScaleSlice %v, want %v", tc.x, got, s[0], tc.want)
			}
		}
	}
	for _, tc := range []struct{ y, want float64 }{{nan, nan}, {inf, inf}, {-inf, -inf}, {1e6, inf}, {-1e6, -inf}} {
		got := tr.Inverse(tc.y)
		if !(got == tc.want || math.IsNaN(got) && math.IsNaN(tc.want)) {
			t.Errorf("Inverse(%v) = %v, want %v", tc.y, got, tc.want)
		}
	}
}

// lgBigCurve is the 320-bit reference implementation of a logicle or hyperlog function, straight
// from the definitions (flow.md section 3), with negative values by odd symmetry about x1.
type lgBigCurve struct {
	x1 *big.Float
	f  func(y *big.Float) (v, dv *big.Float) // F(y) and F'(y) for y >= x1
}

const lgBigPrec = 320

func lgB(v float64) *big.Float { return new(big.Float).SetPrec(lgBigPrec).SetFloat64(v) }

func lgBNew() *big.Float { return new(big.Float).SetPrec(lgBigPrec) }

func lgBAdd(a, b *big.Float) *big.Float { return lgBNew().Add(a, b) }
func lgBSub(a, b *big.Float) *big.Float { return lgBNew().Sub(a, b) }
func lgBMul(a, b *big.Float) *big.Float { return lgBNew().Mul(a, b) }
func lgBQuo(a, b *big.Float) *big.Float { return lgBNew().Quo(a, b) }

// lgBExp returns e^x: the series of e^(x/2^k) with |x/2^k| < 2^-8, squared k times.
func lgBExp(x *big.Float) *big.Float {
	k := 0
	if x.Sign() != 0 {
		k = max(0, x.MantExp(nil)+8)
	}
	r := lgBNew().SetMantExp(x, -k)
	sum, term := lgB(1), lgB(1)
	for n := 1; n < 200; n++ {
		term = lgBQuo(lgBMul(term, r), lgB(float64(n)))
		sum = lgBAdd(sum, term)
		if term.Sign() == 0 || term.MantExp(nil) < sum.MantExp(nil)-lgBigPrec-8 {
			break
		}
	}
	for range k {
		sum = lgBMul(sum, sum)
	}
	return sum
}

// lgBLog returns ln x for x > 0 by Newton's method on e^y = x (cubically convergent form).
func lgBLog(x *big.Float) *big.Float {
	mant := lgBNew()
	exp := x.MantExp(mant)
	m, _ := mant.Float64()
	y := lgB(math.Log(m) + float64(exp)*math.Ln2)
	for range 5 {
		e := lgBExp(y)
		// y += 2 (x - e)/(x + e)
		y = lgBAdd(y, lgBMul(lgB(2), lgBQuo(lgBSub(x, e), lgBAdd(x, e))))
	}
	return y
}

// lgBigCommon returns w, x1, x0 and b of the parameters.
func lgBigCommon(p lgParams) (w, x1, x0, b *big.Float) {
	s := lgBAdd(lgB(p.M), lgB(p.A))
	w = lgBQuo(lgB(p.W), s)
	x2 := lgBQuo(lgB(p.A), s)
	x1 = lgBAdd(x2, w)
	x0 = lgBAdd(x1, w)
	b = lgBMul(s, lgBLog(lgB(10)))
	return w, x1, x0, b
}

func lgBigLogicle(p lgParams) *lgBigCurve {
	w, x1, x0, b := lgBigCommon(p)
	d := b
	if p.W > 0 {
		// d: bisection in float64 on 2(ln d - ln b) + w(b + d) for a start, then Newton in
		// 320 bits (quadratic: 53 -> 106 -> 212 -> 424 bits).
		wf, _ := w.Float64()
		bf, _ := b.Float64()
		g := func(d float64) float64 { return 2*(math.Log(d)-math.Log(bf)) + wf*(bf+d) }
		lo, hi := 0.0, bf
		for range 1100 {
			mid := lo + (hi-lo)/2
			if g(mid) < 0 {
				lo = mid
			} else {
				hi = mid
			}
		}
		d = lgB(hi)
		lnb := lgBLog(b)
		for range 4 {
			gv := lgBAdd(lgBMul(lgB(2), lgBSub(lgBLog(d), lnb)), lgBMul(w, lgBAdd(b, d)))
			dg := lgBAdd(lgBQuo(lgB(2), d), w)
			d = lgBSub(d, lgBQuo(gv, dg))
		}
	}
	neg := func(v *big.Float) *big.Float { return lgBNew().Neg(v) }
	ca := lgBExp(lgBMul(x0, lgBAdd(b, d)))
	mfa := lgBSub(lgBExp(lgBMul(b, x1)), lgBMul(ca, lgBExp(neg(lgBMul(d, x1)))))
	a := lgBQuo(lgB(p.T), lgBSub(lgBSub(lgBExp(b), mfa), lgBMul(ca, lgBExp(neg(d)))))
	c := lgBMul(ca, a)
	f := lgBMul(a, mfa)
	return &lgBigCurve{x1: x1, f: func(y *big.Float) (*big.Float, *big.Float) {
		eb, ed := lgBExp(lgBMul(b, y)), lgBExp(neg(lgBMul(d, y)))
		v := lgBSub(lgBSub(lgBMul(a, eb), lgBMul(c, ed)), f)
		dv := lgBAdd(lgBMul(lgBMul(a, b), eb), lgBMul(lgBMul(c, d), ed))
		return v, dv
	}}
}

// inverse returns F(y), by symmetry below x1.
func (c *lgBigCurve) inverse(y *big.Float) *big.Float {
	if y.Cmp(c.x1) < 0 {
		v, _ := c.f(lgBSub(lgBMul(lgB(2), c.x1), y))
		return v.Neg(v)
	}
	v, _ := c.f(y)
	return v
}

// root returns the y with F(y) = x by Newton's method from y0, which must be close (the result
// of Scale): three steps from within a few ulps reach full precision.
func (c *lgBigCurve) root(x float64, y0 float64) *big.Float {
	if x < 0 {
		r := c.root(-x, 2*lgF(c.x1)-y0)
		return lgBSub(lgBMul(lgB(2), c.x1), r)
	}
	y := lgB(y0)
	if y.Cmp(c.x1) < 0 {
		y.Set(c.x1)
	}
	for range 4 {
		v, dv := c.f(y)
		y = lgBSub(y, lgBQuo(lgBSub(v, lgB(x)), dv))
	}
	return y
}

func lgF(v *big.Float) float64 { f, _ := v.Float64(); return f }

// TestLogicleBigFloat checks Inverse against B in 320-bit arithmetic to 1e-15 relative, Scale
// against the exact root to lgScaleULPs, and Scale(Inverse(y)) = y to lgRoundTripUL.
func TestLogicleBigFloat(t *testing.T) {
	for _, p := range lgLogicleSets {
		l := lgNewLogicle(t, p)
		lgCheckBig(t, "logicle", p, l, l.x1, lgBigLogicle(p))
	}
}

func lgCheckBig(t *testing.T, name string, p lgParams, tr lgTransform, x1 float64, ref *lgBigCurve) {
	rng := rand.New(rand.NewPCG(uint64(p.T), math.Float64bits(p.W+p.M+p.A)))
	n := 150
	if testing.Short() {
		n = 30
	}
	var worstInv, worstScale, worstSlice, worstTrip float64
	for i := range n {
		// y: uniform on [-0.5, 1.2], and near x1 on a log scale.
		y := -0.5 + 1.7*rng.Float64()
		if i%3 == 0 {
			y = x1 + math.Copysign(math.Pow(10, -15*rng.Float64()), rng.Float64()-0.5)
		}
		want := ref.inverse(lgB(y))
		got := tr.Inverse(y)
		e := math.Abs(got-lgF(want)) / math.Abs(lgF(want))
		worstInv = math.Max(worstInv, e)
		if e > lgInverseRel {
			t.Errorf("%s%v.Inverse(%v) = %v, want %v (relative error %.2g)", name, p, y, got, want.Text('g', 20), e)
		}
		if back := tr.Scale(got); lgScaleErr(back, y, x1) > lgRoundTripUL {
			t.Errorf("%s%v.Scale(Inverse(%v)) = %v (%.1f ulps)", name, p, y, back, lgScaleErr(back, y, x1))
		} else {
			worstTrip = math.Max(worstTrip, lgScaleErr(back, y, x1))
		}
		// x: log-uniform magnitude over 1e-12 .. 1e3 T, either sign.
		x := math.Copysign(p.T*math.Pow(10, -15+18*rng.Float64()), rng.Float64()-0.3)
		ys := tr.Scale(x)
		exact := lgF(ref.root(x, ys))
		e = lgScaleErr(ys, exact, x1)
		worstScale = math.Max(worstScale, e)
		if e > lgScaleULPs {
			t.Errorf("%s%v.Scale(%v) = %v, want %v (%.1f ulps)", name, p, x, ys, exact, e)
		}
		var s [1]float64
		tr.ScaleSlice(s[:], []float64{x})
		e = lgScaleErr(s[0], exact, x1)
		worstSlice = math.Max(worstSlice, e)
		if e > lgSliceExactULPs {
			t.Errorf("%s%v.ScaleSlice(%v) = %v, want %v (%.1f ulps)", name, p, x, s[0], exact, e)
		}
	}
	t.Logf("%s%v: Inverse within %.2g relative; Scale within %.2f ulps and ScaleSlice within %.2f ulps of the root; round trip within %.2f ulps", name, p, worstInv, worstScale, worstSlice, worstTrip)
}

// TestLgRevert7 checks the explicit formulas against Lagrange inversion.
func TestLgRevert7(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100 {
		var beta, a7 [8]float64
		for k := 1; k < 8; k++ {
			beta[k] = rng.NormFloat64()
		}
		alpha := make([]float64, 8)
		lgRevert(beta[:], alpha)
		lgRevert7(&beta, &a7)
		for k := 1; k < 8; k++ {
			if math.Abs(a7[k]-alpha[k]) > 1e-9*(1+math.Abs(alpha[k])) {
				t.Errorf("beta %v: alpha[%d] = %v, want %v", beta, k, a7[k], alpha[k])
			}
		}
	}
}

func TestLgRevert(t *testing.T) {
	// The inverse of e^z - 1 = sum z^k/k! is ln(1 + x) = sum (-1)^(k+1) x^k/k.
	beta := []float64{0, 1, 1. / 2, 1. / 6, 1. / 24, 1. / 120, 1. / 720, 1. / 5040}
	alpha := make([]float64, len(beta))
	lgRevert(beta, alpha)
	for k := 1; k < len(beta); k++ {
		want := 1 / float64(k)
		if k%2 == 0 {
			want = -want
		}
		if math.Abs(alpha[k]-want) > 1e-15 {
			t.Errorf("alpha[%d] = %v, want %v", k, alpha[k], want)
		}
	}
}

// lgFlowData returns n values like a compensated flow cytometry channel: populations around
// 100, 2000 and 50000, a spread of dim events around 0 with a negative tail, and a few values
// up to and beyond the top of scale.
func lgFlowData(n int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 7))
	v := make([]float64, n)
	for i := range v {
		switch u := rng.Float64(); {
		case u < 0.25:
			v[i] = 300 * rng.NormFloat64()
		case u < 0.5:
			v[i] = 100 * math.Exp(0.8*rng.NormFloat64())
		case u < 0.75:
			v[i] = 2000 * math.Exp(0.6*rng.NormFloat64())
		case u < 0.97:
			v[i] = 50000 * math.Exp(0.5*rng.NormFloat64())
		default:
			v[i] = 262144 * rng.Float64() * 1.2
		}
	}
	return v
}

// lgAdversarial returns values at the places where the fast path changes regime: the bin
// boundaries and centres of the table, octave boundaries, the ends of the table and of the
// series around zero, subnormals, huge values, and their negatives.
func lgAdversarial(t *lgTable) []float64 {
	var v []float64
	add := func(x float64) {
		for _, y := range []float64{x, math.Nextafter(x, 0), math.Nextafter(x, math.Inf(1))} {
			v = append(v, y, -y)
		}
	}
	for e := -1074; e <= 1023; e++ {
		add(math.Ldexp(1, e))
	}
	add(math.MaxFloat64)
	if t != nil {
		add(math.Float64frombits(t.zlim))
		const nb = 1 << lgBinBits
		for i := range t.e {
			e := int(t.base>>lgBinBits) - 1023 + i/nb
			add(math.Ldexp(t.e[i].mc, e))                         // centre
			add(math.Ldexp(1+float64(i%nb)/nb, e))                // lower edge
			add(math.Ldexp(t.e[i].mc+0.5/nb-0x1p-52, e))          // upper edge
			add(math.Ldexp(t.e[i].mc+0.25/nb, e) * (1 + 0x1p-40)) // in between
		}
	}
	return v
}

// lgCheckSlice compares ScaleSlice with Scale on values.
func lgCheckSlice(t *testing.T, label string, tr lgTransform, x1 float64, values []float64) {
	t.Helper()
	got := make([]float64, len(values))
	tr.ScaleSlice(got, values)
	worst, worstX := 0.0, 0.0
	bad := 0
	for i, x := range values {
		want := tr.Scale(x)
		e := lgScaleErr(got[i], want, x1)
		if math.IsNaN(want) != math.IsNaN(got[i]) {
			e = math.Inf(1)
		}
		if e > worst {
			worst, worstX = e, x
		}
		if e > lgSliceULPs {
			bad++
			if bad <= 5 {
				t.Errorf("%s: ScaleSlice(%v) = %v, want Scale = %v (%.1f ulps)", label, x, got[i], want, e)
			}
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d values beyond %d ulps", label, bad, lgSliceULPs)
	}
	t.Logf("%s: %d values, ScaleSlice within %.2f ulps of Scale (worst at x = %v)", label, len(values), worst, worstX)
}

// TestLogicleScaleSlice checks the fast path against Scale on millions of values: flow-like
// data, random magnitudes over the whole float64 range and the adversarial values.
func TestLogicleScaleSlice(t *testing.T) {
	for i, p := range lgLogicleSets {
		l := lgNewLogicle(t, p)
		lgCheckSliceSet(t, "logicle", p, l, l.x1, &l.fast, uint64(i))
	}
}

func lgCheckSliceSet(t *testing.T, name string, p lgParams, tr lgTransform, x1 float64, fast *lgFast, seed uint64) {
	label := name + lgParamString(p)
	tr.ScaleSlice(make([]float64, 1), []float64{1}) // builds the table
	if fast.tab == nil {
		t.Fatalf("%s: no fast-path table", label)
	}
	n := 1 << 18
	if seed == 0 {
		n = 1 << 21 // the usual setting gets the most
	}
	if testing.Short() {
		n = 1 << 14
	}
	// Flow-like data scaled to T.
	data := lgFlowData(n, seed)
	for i := range data {
		data[i] *= p.T / 262144
	}
	lgCheckSlice(t, label+" flow-like", tr, x1, data)
	// Log-uniform magnitudes from 1e-30 T to 1e6 T, both signs, and raw random bit patterns.
	rng := rand.New(rand.NewPCG(seed, 11))
	for i := range data {
		data[i] = math.Copysign(p.T*math.Pow(10, -30+36*rng.Float64()), rng.Float64()-0.5)
	}
	lgCheckSlice(t, label+" log-uniform", tr, x1, data)
	for i := range data {
		data[i] = math.Float64frombits(rng.Uint64())
	}
	lgCheckSlice(t, label+" random bits", tr, x1, data)
	lgCheckSlice(t, label+" adversarial", tr, x1, lgAdversarial(fast.tab))
}

func lgParamString(p lgParams) string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	return "(T=" + f(p.T) + ",W=" + f(p.W) + ",M=" + f(p.M) + ",A=" + f(p.A) + ")"
}

// TestLogicleRandomParams checks, over random parameter sets across the whole domain, that
// Scale never fails (no NaN for a finite value), is increasing on a grid, inverts Inverse, and
// that ScaleSlice agrees with it.
func TestLogicleRandomParams(t *testing.T) {
	lgCheckRandomParams(t, "logicle", func(p lgParams) (lgTransform, float64, error) {
		l, err := NewLogicle(p.T, p.W, p.M, p.A)
		if err != nil {
			return nil, 0, err
		}
		return l, l.x1, nil
	})
}

func lgCheckRandomParams(t *testing.T, name string, mk func(lgParams) (lgTransform, float64, error)) {
	rng := rand.New(rand.NewPCG(99, 5))
	sets := 200
	if testing.Short() {
		sets = 20
	}
	for range sets {
		M := 0.5 + 9.5*rng.Float64()
		W := M / 2 * rng.Float64()
		if name == "hyperlog" && W == 0 {
			W = 0.1
		}
		A := -W + (M-W)*rng.Float64() // in [-W, M - 2W]
		A = math.Min(A, M-2*W)
		p := lgParams{math.Pow(10, -30+60*rng.Float64()), W, M, A}
		tr, x1, err := mk(p)
		if err != nil {
			t.Errorf("%s%v: %v", name, p, err)
			continue
		}
		xs := make([]float64, 2000)
		for i := range xs {
			xs[i] = math.Copysign(p.T*math.Pow(10, -20+24*rng.Float64()), rng.Float64()-0.3)
		}
		for _, x := range xs {
			y := tr.Scale(x)
			if math.IsNaN(y) {
				t.Fatalf("%s%v.Scale(%v) = NaN", name, p, x)
			}
			if back := tr.Inverse(y); math.Abs(back-x) > 1e-12*math.Abs(x)+1e-12*p.T {
				t.Errorf("%s%v: Inverse(Scale(%v)) = %v", name, p, x, back)
			}
		}
		// Increasing on a grid of 1e-12 T steps around zero and 1% steps beyond.
		prev := math.Inf(-1)
		for x := -p.T; x <= 2*p.T; {
			y := tr.Scale(x)
			if !(y > prev) {
				t.Errorf("%s%v: Scale(%v) = %v is not above the previous value %v", name, p, x, y, prev)
				break
			}
			prev = y
			x += math.Max(0.01*math.Abs(x), 1e-12*p.T)
		}
		lgCheckSliceQuiet(t, name+lgParamString(p), tr, x1, xs)
	}
}

// lgCheckSliceQuiet is lgCheckSlice without the log line.
func lgCheckSliceQuiet(t *testing.T, label string, tr lgTransform, x1 float64, values []float64) {
	got := make([]float64, len(values))
	tr.ScaleSlice(got, values)
	for i, x := range values {
		if want := tr.Scale(x); lgScaleErr(got[i], want, x1) > lgSliceULPs {
			t.Errorf("%s: ScaleSlice(%v) = %v, want Scale = %v", label, x, got[i], want)
			return
		}
	}
}

func TestLogicleScaleSliceInPlace(t *testing.T) {
	l := lgNewLogicle(t, lgParams{262144, 0.5, 4.5, 0})
	data := lgFlowData(1000, 3)
	want := make([]float64, len(data))
	for i, x := range data {
		want[i] = l.Scale(x)
	}
	l.ScaleSlice(data, data)
	for i := range data {
		if lgScaleErr(data[i], want[i], l.x1) > lgSliceULPs {
			t.Fatalf("in place: value %d = %v, want %v", i, data[i], want[i])
		}
	}
	defer func() {
		if recover() == nil {
			t.Errorf("ScaleSlice with a short dst did not panic")
		}
	}()
	l.ScaleSlice(make([]float64, 2), make([]float64, 3))
}

// TestLogicleConcurrent calls ScaleSlice from several goroutines on a new Logicle, so that they
// race to build the table (run with -race).
func TestLogicleConcurrent(t *testing.T) {
	l := lgNewLogicle(t, lgParams{262144, 0.5, 4.5, 0})
	src := lgFlowData(10000, 4)
	out := make([][]float64, 4)
	done := make(chan int)
	for g := range out {
		out[g] = make([]float64, len(src))
		go func() {
			l.ScaleSlice(out[g], src)
			done <- g
		}()
	}
	for range out {
		<-done
	}
	for g := 1; g < len(out); g++ {
		for i := range src {
			if out[g][i] != out[0][i] {
				t.Fatalf("goroutine %d, value %d: got %v, want %v", g, i, out[g][i], out[0][i])
			}
		}
	}
}

// FuzzLogicle checks that no parameters or value make the transformation panic, that a finite
// value never gives NaN and that ScaleSlice agrees with Scale.
func FuzzLogicle(f *testing.F) {
	f.Add(262144.0, 0.5, 4.5, 0.0, 1000.0)
	f.Add(10000.0, 0.0, 4.5, 0.0, -3.0)
	f.Add(10000.0, 2.25, 4.5, 0.0, 1e-300)
	f.Add(1e-300, 0.5, 4.5, 0.0, 1e300)
	f.Add(1e300, 0.5, 4.5, 0.0, -1e-300)
	f.Add(10000.0, 1.0, 4.5, -1.0, 5e-324)
	f.Add(1.0, 0.1, 200.0, 0.0, 7.0)
	f.Add(1e200, 0.5, 4.5, 0.0, 1e200)
	f.Fuzz(func(t *testing.T, T, W, M, A, x float64) {
		l, err := NewLogicle(T, W, M, A)
		if err != nil {
			return
		}
		lgFuzzCheck(t, l, l.x1, x)
	})
}

func lgFuzzCheck(t *testing.T, tr lgTransform, x1, x float64) {
	y := tr.Scale(x)
	if math.IsNaN(y) != math.IsNaN(x) {
		t.Fatalf("Scale(%v) = %v", x, y)
	}
	var s [1]float64
	tr.ScaleSlice(s[:], []float64{x})
	if lgScaleErr(s[0], y, x1) > lgSliceULPs && !(math.IsNaN(s[0]) && math.IsNaN(y)) {
		t.Fatalf("ScaleSlice(%v) = %v, want Scale = %v", x, s[0], y)
	}
	// Scale inverts Inverse on the scale [-0.5, 1.5): a check of correctness that holds for all
	// parameters.
	if y0 := math.Mod(math.Abs(x), 2) - 0.5; !math.IsNaN(y0) {
		if v := tr.Inverse(y0); !math.IsInf(v, 0) {
			if y1 := tr.Scale(v); !(math.Abs(y1-y0) <= 1e-12) {
				t.Fatalf("Scale(Inverse(%v) = %v) = %v", y0, v, y1)
			}
		}
	}
}

// BenchmarkLogicleScale is the exact scalar Scale on flow-like values.
func BenchmarkLogicleScale(b *testing.B) {
	l := lgNewLogicle(b, lgParams{262144, 0.5, 4.5, 0})
	data := lgFlowData(1<<16, 1)
	i := 0
	s := 0.0
	for b.Loop() {
		s += l.Scale(data[i&(1<<16-1)])
		i++
	}
	_ = s
}

// BenchmarkLogicleScaleSlice is ScaleSlice on a column of 1,000,000 flow-like values; it reports
// ns/value.
func BenchmarkLogicleScaleSlice(b *testing.B) {
	l := lgNewLogicle(b, lgParams{262144, 0.5, 4.5, 0})
	lgBenchSlice(b, l)
}

func lgBenchSlice(b *testing.B, tr lgTransform) {
	const n = 1_000_000
	src := lgFlowData(n, 1)
	dst := make([]float64, n)
	tr.ScaleSlice(dst[:1], src[:1]) // the table is built once per transformation
	b.SetBytes(8 * n)
	b.ReportAllocs()
	for b.Loop() {
		tr.ScaleSlice(dst, src)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/value")
}

// BenchmarkLogicleTable is the cost of a new Logicle and its fast-path table, paid once per
// parameter set by the first ScaleSlice.
func BenchmarkLogicleTable(b *testing.B) {
	for b.Loop() {
		l, _ := NewLogicle(262144, 0.5, 4.5, 0)
		l.ScaleSlice(make([]float64, 1), []float64{1})
	}
}
