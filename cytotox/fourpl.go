package cytotox

import (
	"math"
	"slices"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/internal/lsq"
)

// FourPLFit is the four-parameter logistic y = b + (t − b)/(1 + (c/x)^h) of domain.md §6.6
// fitted by least squares on lysis fractions: b is the bottom, t the top, c the E:T ratio of
// half-maximal lysis and h the Hill slope. Fitted curves rise with E:T (h > 0, c > 0).
type FourPLFit struct {
	B float64 `json:"b"`
	T float64 `json:"t"`
	C float64 `json:"c"`
	H float64 `json:"h"`
	// The standard errors are those of R's summary(nls), sqrt(diag(s² (J'J)⁻¹)) with
	// s² = RSS/(n − 4); nil when J is singular to working precision.
	BSE *float64 `json:"b_se"`
	TSE *float64 `json:"t_se"`
	CSE *float64 `json:"c_se"`
	HSE *float64 `json:"h_se"`
	// ResidualSD is sqrt(RSS/(n − 4)), as a fraction.
	ResidualSD float64 `json:"residual_sd"`
	N          int     `json:"n"`
}

// MinFourPLPoints is the fewest points FitFourPL takes (§6.6: the 4PL needs at least 5 E:T
// points).
const MinFourPLPoints = 5

// fourPLCurve is y = b + (t − b)/(1 + (c/x)^h) for lsq, with p = (b, t, c, h). It is not
// defined for c <= 0 or h <= 0 (open bounds).
func fourPLCurve(p []float64, x float64, grad []float64) (float64, bool) {
	b, t, c, h := p[0], p[1], p[2], p[3]
	if !(c > 0 && h > 0) {
		return 0, false
	}
	lr := math.Log(c / x)
	// With u = (c/x)^h and D = 1 + u: v = 1/D, w = u/D and q = u/D², computed without
	// forming u, which overflows for large h log(c/x).
	var v, w, q float64
	if l := h * lr; l > 0 {
		e := math.Exp(-l)
		v, w, q = e/(1+e), 1/(1+e), e/((1+e)*(1+e))
	} else {
		u := math.Exp(l)
		v, w, q = 1/(1+u), u/(1+u), u/((1+u)*(1+u))
	}
	if grad != nil {
		grad[0] = w
		grad[1] = v
		grad[2] = -(t - b) * h * q / c
		grad[3] = -(t - b) * q * lr
	}
	return b + (t-b)*v, true
}

// FitFourPL fits the four-parameter logistic of §6.6 to lysis FRACTIONS at E:T ratios et, by
// Levenberg–Marquardt from start values read off the data (bottom and top just outside the
// observed range, c and h from a straight line through logit lysis against log E:T), with
// Nelder–Mead on (b, t, log c, log h) when that does not converge.
//
// It needs at least MinFourPLPoints points and 4 distinct ratios; the input limits and errors
// are those of FitExponential. It also returns an EINVALID error with field "lysis" when the
// points do not determine the curve: no convergence, a top not above the bottom (lysis
// that does not rise), a step so steep (h above 1000) that
// its shape is not determined, or a midpoint c more than a factor of 1000 outside the
// ratios measured.
func FitFourPL(et, lysis []float64) (*FourPLFit, error) {
	if err := checkFitInput(et, lysis, MinFourPLPoints); err != nil {
		return nil, err
	}
	x, y := et, lysis
	if d := slices.Compact(slices.Sorted(slices.Values(x))); len(d) < 4 {
		return nil, clink.Invalid("et", "has %d distinct E:T ratios, the 4PL needs at least 4", len(d))
	}
	n := len(x)
	xmin, xmax := slices.Min(x), slices.Max(x)
	m := lsq.Model{X: x, Y: y, F: fourPLCurve}
	p0 := fourPLStart(x, y)
	res, err := lsq.Fit(m, p0, lsq.Options{Fallback: &lsq.Fallback{
		Z0:  []float64{p0[0], p0[1], math.Log(p0[2]), math.Log(p0[3])},
		ToP: fourPLFromZ,
	}})
	if !usable(err) {
		return nil, fitError("the 4PL model does not converge on these points")
	}
	p, rss := res.P, res.RSS
	switch {
	case !(p[1]-p[0] > 1e-6):
		return nil, fitError("the 4PL top %g is not above its bottom %g: lysis does not rise with E:T", p[1], p[0])
	case p[3] > 1000:
		return nil, fitError("the 4PL slope h runs to %g: the points show a step whose shape is not determined", p[3])
	case p[2] < xmin/1000 || p[2] > xmax*1000:
		return nil, fitError("the 4PL midpoint c = %g lies far outside the E:T ratios %g–%g: bottom or top is not determined", p[2], xmin, xmax)
	}
	fit := &FourPLFit{B: p[0], T: p[1], C: p[2], H: p[3], N: n, ResidualSD: math.Sqrt(rss / float64(n-4))}
	if se, err := lsq.StdErrors(m, p); err == nil {
		fit.BSE, fit.TSE, fit.CSE, fit.HSE = &se[0], &se[1], &se[2], &se[3]
	}
	return fit, nil
}

// fourPLStart returns start values (b, t, c, h): b and t 5 % of the range beyond the lowest
// and highest lysis, and c and h from the least-squares line of logit((y − b)/(t − b))
// on log x (h its slope, log c = −intercept/slope); h = 1 and c the median ratio when that
// line does not rise.
func fourPLStart(x, y []float64) []float64 {
	ymin, ymax := slices.Min(y), slices.Max(y)
	r := ymax - ymin
	if !(r > 0) {
		r = 0.1
	}
	b, t := ymin-0.05*r, ymax+0.05*r
	var sx, sz, sxx, sxz, m float64
	for i := range x {
		lx := math.Log(x[i])
		z := math.Log((y[i] - b) / (t - y[i]))
		sx += lx
		sz += z
		sxx += lx * lx
		sxz += lx * z
		m++
	}
	den := m*sxx - sx*sx
	if den > 0 {
		h := (m*sxz - sx*sz) / den
		a := (sz - h*sx) / m
		if c := math.Exp(-a / h); h > 0 && c > 0 && !math.IsInf(c, 0) && h < 100 {
			return []float64{b, t, c, h}
		}
	}
	xs := slices.Sorted(slices.Values(x))
	return []float64{b, t, xs[len(xs)/2], 1}
}

// fourPLFromZ maps (b, t, log c, log h) to (b, t, c, h).
func fourPLFromZ(z []float64) []float64 {
	return []float64{z[0], z[1], math.Exp(z[2]), math.Exp(z[3])}
}
