package gating

import (
	"fmt"
	"math"
)

// Hyperlog is the hyperlog transformation of Bagwell (Cytometry A 64A:34, 2005) as Gating-ML 2.0
// parameterizes it: Scale(x) is the y with EH(y) = x, where
//
//	EH(y) = a e^(by) + c y - f
//
// with w = W/(M+A), x2 = A/(M+A), x1 = x2 + w, x0 = x2 + 2w, b = (M+A) ln 10, e0 = e^(b x0),
// c_a = e0/w, f_a = e^(b x1) + c_a x1, a = T/(e^b + c_a - f_a), c = c_a a and f = f_a a. EH is
// increasing and convex, EH(x1) = 0 and EH(1) = T. Values below zero are mapped by odd symmetry
// about x1, Scale(-v) = 2 x1 - Scale(v), as in the reference implementations (flowCore,
// FlowUtils) and the ISAC compliance results.
//
// As for Logicle, EH is evaluated in u = y - x1 in a form without cancellation,
//
//	EH(x1 + u) = A1 (expm1(bu) + k u),   A1 = a e^(b x1), k = c/A1 = 10^W/w,
//
// the root is found by Halley's method in a bracket, and ScaleSlice has the same table-driven
// fast path. A Hyperlog is safe for concurrent use.
type Hyperlog struct {
	// T, W, M and A are the parameters the transformation was made with, for reading (to write
	// Gating-ML, for instance). Changing them does not change the transformation.
	T, W, M, A float64

	x1, x1lo float64 // x1 = (A+W)/(M+A), the image of 0, as a double-double
	bhi, blo float64 // b = (M+A) ln 10 as a double-double
	k        float64 // c/A1 = e^(bw)/w = 10^W (M+A)/W
	a1       float64 // A1 = a e^(b x1)
	slope    float64 // EH'(x1)
	tiny     float64 // below tiny, u = x/slope to full precision
	big      float64 // above big, u = ln(x/A1)/b to full precision
	fast     lgFast
}

// NewHyperlog returns the hyperlog transformation with top of scale T, linearization width W,
// decades M and additional negative decades A. It refuses parameters outside the domain of
// Gating-ML 2.0 (T > 0, W > 0, M > 0, W <= M/2, -W <= A <= M - 2W, all finite), naming the
// parameter and the rule it breaks, and parameters whose constants overflow float64.
func NewHyperlog(T, W, M, A float64) (*Hyperlog, error) {
	if err := lgCheck("hyperlog", T, W, M, A); err != nil {
		return nil, err
	}
	if W == 0 {
		return nil, fmt.Errorf("gating: hyperlog parameter W = %v: the linearization width must be greater than 0", W)
	}
	h := &Hyperlog{T: T, W: W, M: M, A: A}
	sh, sl := lgTwoSum(M, A)
	ah, al := lgTwoSum(A, W)
	h.x1, h.x1lo = lgDivDD(ah, al, sh, sl)
	h.bhi, h.blo = lgMulDD(sh, sl, lgLn10Hi, lgLn10Lo)
	// k = 10^W (M+A)/W.
	wlh, wll := lgMulDD(W, 0, lgLn10Hi, lgLn10Lo)
	qh, ql := lgDivDD(sh, sl, W, 0)
	h.k = math.Exp(wlh) * qh * (1 + wll + ql/qh)
	// A1 from EH(1) = T, with 1 - x1 = (M-W)/(M+A) and b(1 - x1) = (M-W) ln 10.
	mh, ml := lgTwoSum(M, -W)
	zh, zl := lgMulDD(mh, ml, lgLn10Hi, lgLn10Lo)
	vh, vl := lgDivDD(mh, ml, sh, sl)
	h.a1 = T / (lgExpm1(zh, zl) + h.k*vh*(1+vl/vh))
	h.slope = h.a1 * (h.bhi + h.k)
	// Beyond big the terms other than A1 e^(bu), A1 (1 + k u), are below 2^-56 x: big is a fixed
	// point of x = 2^58 A1 (1 + k ln(x/A1)/b), reached from above.
	h.big = math.Ldexp(h.a1*(1+h.k*1100/h.bhi), 58)
	for range 8 {
		h.big = math.Ldexp(h.a1*(1+h.k*math.Log(h.big/h.a1)/h.bhi), 58)
	}
	h.tiny = lgTiny(h, T)
	for _, v := range []float64{h.x1, h.bhi, h.k, h.a1, h.slope, h.big, h.tiny} {
		if !(v >= 0 && v <= math.MaxFloat64) || h.a1 == 0 || h.slope == 0 {
			return nil, fmt.Errorf("gating: hyperlog T=%v, W=%v, M=%v, A=%v: the constants of the transformation overflow float64 (M+A or T too large or too small)", T, W, M, A)
		}
	}
	return h, nil
}

// Scale returns the hyperlog scale value of x: the y with EH(y) = x for x >= 0 and
// 2 x1 - Scale(-x) for x < 0. Scale(0) = x1, Scale(T) = 1; Scale(±Inf) = ±Inf and
// Scale(NaN) = NaN. Scale returns NaN for a finite x only if Halley's iteration fails to
// converge, which no test has produced.
func (h *Hyperlog) Scale(x float64) float64 {
	return h.x1 + math.Copysign(h.solveU(math.Abs(x), math.Inf(1)), x)
}

// Inverse returns the data value of the scale value y: EH(y) for y >= x1 and -EH(2 x1 - y)
// below. It overflows to ±Inf for |y| far above 1.
func (h *Hyperlog) Inverse(y float64) float64 {
	if math.IsInf(y, 0) || math.IsNaN(y) {
		return y
	}
	uh, ul := lgTwoSum(y, -h.x1)
	uh, ul = lgFastTwoSum(uh, ul-h.x1lo)
	if uh < 0 {
		return -h.epos(-uh, -ul)
	}
	return h.epos(uh, ul)
}

// ScaleSlice sets dst[i] = Scale(src[i]) for every i, fast; dst may be src. It panics if dst is
// shorter than src. The method is that of Logicle.ScaleSlice.
func (h *Hyperlog) ScaleSlice(dst, src []float64) {
	lgScaleSlice(h, &h.fast, h.x1, h.T, h.Scale, dst, src)
}

// solveU returns u >= 0 with EH(x1 + u) = x for x >= 0 (or NaN, or +Inf), starting Halley's
// method from u0 if it is a number below the upper bound of the root.
func (h *Hyperlog) solveU(x, u0 float64) float64 {
	switch {
	case x < h.tiny:
		return x / h.slope
	case x <= h.big:
		hi := math.Min(x/h.slope, math.Log1p(x/h.a1)/h.bhi)
		if !(u0 > 0 && u0 < hi) {
			u0 = hi
		}
		return lgHalley(h, x, u0, hi)
	default:
		return lgLogU(x, h.a1, h.bhi)
	}
}

// epos returns EH(x1 + u) for u = uh + ul >= 0.
func (h *Hyperlog) epos(uh, ul float64) float64 {
	zh, zl := lgTwoProd(h.bhi, uh)
	zl += h.bhi*ul + h.blo*uh
	return h.a1 * (lgExpm1(zh, zl) + h.k*(uh+ul))
}

// eval returns EH(x1 + u) (precisely) and its first and second derivatives for u >= 0.
func (h *Hyperlog) eval(u float64) (f, f1, f2 float64) {
	zh, zl := lgTwoProd(h.bhi, u)
	zl += h.blo * u
	e1 := lgExpm1(zh, zl)
	ep := e1 + 1
	return h.a1 * (e1 + h.k*u), h.a1 * (h.bhi*ep + h.k), h.a1 * h.bhi * h.bhi * ep
}

// series sets beta[j] = scale EH^(j)(x1 + u)/j! for j = 1 .. len(beta)-1.
func (h *Hyperlog) series(u, scale float64, beta []float64) {
	g := h.a1 * scale * math.Exp(h.bhi*u)
	pb, fact := 1.0, 1.0
	for j := 1; j < len(beta); j++ {
		pb *= h.bhi
		fact *= float64(j)
		beta[j] = g * pb / fact
	}
	beta[1] += h.a1 * scale * h.k
}
