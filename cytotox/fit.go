package cytotox

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/internal/lsq"
)

// ExpFit is the exponential lysis model y = a(1 − e^(−k x)) of domain.md §6.5 fitted by least
// squares: y is fractional lysis, x the (NK-corrected) E:T ratio, a the plateau in (0, 1] and
// k the lytic rate per unit E:T.
type ExpFit struct {
	A float64 `json:"a"`
	K float64 `json:"k"`
	// ASE and KSE are the standard errors of R's summary(nls): sqrt(diag(s² (J'J)⁻¹)) with
	// s² = RSS/(n − 2) and J the Jacobian at the optimum. Both are nil when n <= 2 or J is
	// singular; ASE is nil when a is on its bound (AtBound), where KSE is still the value
	// R's port algorithm reports (the full two-parameter J).
	ASE *float64 `json:"a_se"`
	KSE *float64 `json:"k_se"`
	// ResidualSD is sqrt(RSS/(n − 2)), as a fraction; 0 when n <= 2 leaves no degrees of freedom.
	ResidualSD float64 `json:"residual_sd"`
	N          int     `json:"n"`
	// AtBound says the optimum lies on the upper bound a = 1: the unconstrained least-squares
	// plateau would exceed 100 % lysis, so a is fixed at 1 (Pross et al. 1981).
	AtBound bool `json:"at_bound"`
}

// Limits of FitExponential's input. Beyond them no assay reading lies, and the arithmetic of
// the fit stays far from overflow within them.
const (
	MaxFitETRatio = 1e6 // largest E:T ratio
	MaxFitLysis   = 10  // largest |lysis| as a fraction (1000 %)
)

// expCurve is y = a(1 − e^(−k x)) for lsq, with p = (a, k). It is not defined for a <= 0 or
// k <= 0 (open bounds); the closed bound a <= 1 is expUpper.
func expCurve(p []float64, x float64, grad []float64) (float64, bool) {
	a, k := p[0], p[1]
	if !(a > 0 && k > 0) {
		return 0, false
	}
	e := math.Exp(-k * x)
	g := -math.Expm1(-k * x) // 1 − e, accurate for small k x
	if grad != nil {
		grad[0] = g
		grad[1] = a * x * e
	}
	return a * g, true
}

// expUpper holds the plateau a of the exponential model at or below 100 % lysis.
var expUpper = []float64{1, math.Inf(1)}

// FitExponential fits y = a(1 − e^(−k x)) to lysis FRACTIONS (0–1, not percent) at E:T ratios
// et by least squares with a in (0, 1] and k > 0 (domain.md §6.5).
//
// It starts from §6.5's values, a₀ = min(1, 1.05 max y) and k₀ = −ln(1 − y₁/a₀)/x₁ at the
// lowest E:T, and iterates Levenberg–Marquardt to a relative offset of 1e-10 or a relative
// step of 1e-12, holding a on its bound 1 when the optimum lies beyond it. When that does
// not converge it runs Nelder–Mead on (logit a, log k) and polishes the result. A scan of k
// on a grid, with the best a for each k, guards against a local minimum.
//
// Points may repeat an E:T ratio (replicates). It returns an EINVALID *clink.Error naming
// the field when et and lysis differ in length, when there are fewer than two points or
// distinct ratios, when a ratio is not in (0, MaxFitETRatio] or a lysis is not a finite
// number within ±MaxFitLysis; and, with field "lysis", when the points do not determine
// the model: no lysis above 0, lysis already on its plateau at the lowest ratio (k
// unbounded), lysis that does not rise with E:T, or no convergence.
func FitExponential(et, lysis []float64) (*ExpFit, error) {
	if err := checkFitInput(et, lysis, 2); err != nil {
		return nil, err
	}
	x, y := et, lysis
	n := len(x)
	xmin, xmax := slices.Min(x), slices.Max(x)
	ymax := slices.Max(y)
	if !(ymax > 0) {
		return nil, fitError("no point shows lysis above 0: there is no plateau to fit")
	}

	// §6.5 start values.
	a0 := math.Min(1, 1.05*ymax)
	k0 := startRate(x, y, a0)
	m := lsq.Model{X: x, Y: y, F: expCurve}
	res, err := lsq.Fit(m, []float64{a0, k0}, lsq.Options{Upper: expUpper, Fallback: &lsq.Fallback{
		Z0:  []float64{logit(math.Min(a0, 1-1e-6)), math.Log(k0)},
		ToP: expFromZ,
	}})
	ok := usable(err)
	// Guard against a local minimum: the profile of the sum of squares over a grid of k, with
	// a at its best for each k.
	if kg, ag, sg := profileScan(x, y, xmin, xmax); !ok || sg < res.RSS*(1-1e-9) {
		if res2, err2 := lsq.Fit(m, []float64{ag, kg}, lsq.Options{Upper: expUpper}); usable(err2) && (!ok || res2.RSS < res.RSS) {
			res, ok = res2, true
		}
	}
	if !ok {
		return nil, fitError("the exponential model does not converge on these points")
	}
	p, rss := res.P, res.RSS
	a, k := p[0], p[1]
	switch {
	case a < 1e-9:
		return nil, fitError("the plateau a is driven to 0: the points show no lysis to fit")
	case k*xmax < 1e-9:
		return nil, fitError("the rate k is driven to 0: lysis does not rise with E:T")
	case k*xmin > 20:
		// e^(−20) = 2e-9: the model is on its plateau at every ratio, and k is not determined.
		return nil, fitError("lysis is on its plateau already at E:T %g: the rate k is not determined", xmin)
	}
	fit := &ExpFit{A: a, K: k, N: n, AtBound: res.Active[0]}
	if n > 2 {
		fit.ResidualSD = math.Sqrt(rss / float64(n-2))
	}
	if se, err := lsq.StdErrors(m, p); err == nil {
		fit.KSE = &se[1]
		if !fit.AtBound {
			fit.ASE = &se[0]
		}
	}
	return fit, nil
}

// usable reports whether a fit that ended with err (from lsq.Fit) gives parameters to judge:
// a converged one, or one that stalled where no step lowers the sum of squares. The latter is
// a minimum to working precision within the model's open bounds, pressed against one of them
// (a plateau driven to 0, a rate running to infinity); the checks of the fitting functions
// turn those into errors naming the cause.
func usable(err error) bool {
	return err == nil || errors.Is(err, lsq.ErrStalled)
}

// checkFitInput checks et and lysis for the fitting functions; minPts is the fewest points
// the model takes.
func checkFitInput(et, lysis []float64, minPts int) error {
	var fe clink.FieldErrors
	if len(et) != len(lysis) {
		fe.Addf("lysis", "has %d values for %d E:T ratios", len(lysis), len(et))
	}
	if len(et) < minPts {
		fe.Addf("et", "has %d points, the model needs at least %d", len(et), minPts)
	}
	distinct := map[float64]bool{}
	for i, v := range et {
		if !(v > 0) || v > MaxFitETRatio {
			fe.Addf(fmt.Sprintf("et[%d]", i), "%g is not a ratio in (0, %g]", v, float64(MaxFitETRatio))
		}
		distinct[v] = true
	}
	for i, v := range lysis {
		if !(math.Abs(v) <= MaxFitLysis) {
			fe.Addf(fmt.Sprintf("lysis[%d]", i), "%g is not a lysis fraction within ±%d (1 is 100 %%)", v, MaxFitLysis)
		}
	}
	if len(fe) == 0 && len(distinct) < 2 {
		fe.Addf("et", "has %d distinct E:T ratio, the model needs at least 2", len(distinct))
	}
	return fe.Err()
}

// fitError is the EINVALID error of points that do not determine a model.
func fitError(format string, args ...any) error {
	return clink.Invalid("lysis", format, args...)
}

// startRate returns §6.5's k₀ = −ln(1 − y/a₀)/x at the lowest E:T ratio (the mean of its
// replicates); when that point shows no lysis, or lysis not below a₀, it uses the next ratio
// that does, and 1/median(x) when none does.
func startRate(x, y []float64, a0 float64) float64 {
	xs := slices.Clone(x)
	slices.Sort(xs)
	xs = slices.Compact(xs)
	for _, xi := range xs {
		var s, m float64
		for i := range x {
			if x[i] == xi {
				s += y[i]
				m++
			}
		}
		if yi := s / m; yi > 0 && yi < a0 {
			if k := -math.Log1p(-yi/a0) / xi; k > 0 && !math.IsInf(k, 0) {
				return k
			}
		}
	}
	return 1 / xs[len(xs)/2]
}

// profileScan evaluates the sum of squares on a grid of k spanning the ratios, with a at its
// least-squares value for each k (clamped to (0, 1]), and returns the best k, its a and the
// sum. A grid point whose best a would be 0 or less scores the sum with a → 0.
func profileScan(x, y []float64, xmin, xmax float64) (k, a, rss float64) {
	var syy float64
	for _, v := range y {
		syy += v * v
	}
	const steps = 120
	lo, hi := math.Log(1e-3/xmax), math.Log(30/xmin)
	rss = math.Inf(1)
	for i := 0; i <= steps; i++ {
		kg := math.Exp(lo + (hi-lo)*float64(i)/steps)
		var sgg, syg float64
		for j, xj := range x {
			g := -math.Expm1(-kg * xj)
			sgg += g * g
			syg += y[j] * g
		}
		ag := syg / sgg
		if !(ag > 0) {
			continue
		}
		ag = math.Min(ag, 1)
		if s := syy - 2*ag*syg + ag*ag*sgg; s < rss {
			k, a, rss = kg, ag, s
		}
	}
	if math.IsInf(rss, 1) {
		return 1 / xmax, 0.5, rss
	}
	return k, a, math.Max(rss, 0)
}

func logit(p float64) float64 { return math.Log(p / (1 - p)) }

// expFromZ maps (logit a, log k) to (a, k).
func expFromZ(z []float64) []float64 {
	return []float64{1 / (1 + math.Exp(-z[0])), math.Exp(z[1])}
}
