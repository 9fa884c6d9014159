package kinetics

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/internal/lsq"
)

// Growth models of domain.md §5.3 that FitLogistic and FitGompertz fit.
const (
	ModelLogistic = "logistic"
	ModelGompertz = "gompertz"
)

// GrowthFit is a growth model fitted by least squares on ln N (domain.md §5.3: counting error
// is multiplicative).
//
// The parameters come in a fixed order. Logistic, N = k/(1 + ((k − n0)/n0)·e^(−mu·t)):
// n0 (cells at day 0), mu (per day), k (carrying capacity, cells). Modified Gompertz
// (Zwietering et al. 1990), ln(N/n0) = a·exp(−exp(mu_m·e·(lambda − t)/a + 1)): n0 (cells),
// a (ln of the asymptotic fold), mu_m (the maximum specific growth rate, per day) and lambda
// (the lag, days).
type GrowthFit struct {
	Model  string  `json:"model"`  // ModelLogistic or ModelGompertz
	Params []Param `json:"params"` // in the order documented above
	// ResidualSD is the residual standard deviation on ln N, √(RSS/(n − p)).
	ResidualSD float64 `json:"residual_sd"`
	N          int     `json:"n"`
	// Converged reports whether the fit reached the least-squares optimum. A fit that did not
	// comes only with an error.
	Converged bool `json:"converged"`
}

// Param is one fitted parameter.
type Param struct {
	Name     string  `json:"name"`
	Estimate float64 `json:"estimate"`
	// StdError is the asymptotic standard error of R's summary(nls): the square root of the
	// diagonal of s²(JᵀJ)⁻¹ with s² = RSS/(n − p). It is nil when it cannot be computed.
	StdError *float64 `json:"std_error"`
}

// Param returns the parameter called name.
func (f *GrowthFit) Param(name string) (Param, bool) {
	for _, p := range f.Params {
		if p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}

// ErrNoFit is returned, wrapped, when a growth model cannot be fitted to valid input: the fit
// did not converge, the model could not be evaluated, the parameters are not all determined
// by the points (singular gradient), or growth does not slow within the counts, so that the
// plateau runs off to infinity.
var ErrNoFit = errors.New("the growth model cannot be fitted")

// FitLogistic fits the logistic model N = k/(1 + ((k − n0)/n0)·e^(−mu·t)) to cell numbers by
// least squares on ln N and returns n0, mu and k with their standard errors.
//
// Bad input gives an EINVALID *clink.Error naming the field: unequal lengths, fewer than
// 5 points (the parameters + 2 of domain.md §5.3) or fewer than 3 different days, a day that is
// not a number from 0 to 100000, a cell number that is not finite and positive. A valid series
// the model cannot be fitted to gives an error wrapping ErrNoFit. The fit is returned with
// that error when there is one to look at: one that did not converge (Converged false) or
// whose standard errors cannot be computed (nil).
func FitLogistic(days, cells []float64) (*GrowthFit, error) {
	return fitGrowth(logistic, days, cells)
}

// FitGompertz fits the modified Gompertz model of Zwietering et al. (1990),
// ln(N/n0) = a·exp(−exp(mu_m·e·(lambda − t)/a + 1)), to cell numbers by least squares on ln N
// and returns n0, a, mu_m and lambda with their standard errors. It needs at least 6 points
// on 4 different days; otherwise it behaves as FitLogistic.
func FitGompertz(days, cells []float64) (*GrowthFit, error) {
	return fitGrowth(gompertz, days, cells)
}

// curve is a growth model on the log scale in the parameters the fit works in. Parameters
// flagged in logs are the logarithms of the reported ones, which keeps cell numbers positive;
// the reported standard errors follow by the delta method, which at the optimum gives exactly
// the values of a fit in the reported parameters.
type curve struct {
	model string
	names []string
	logs  []bool
	// eval returns ln N at day t and, when grad is not nil, fills it with the partial
	// derivatives. It reports false when the value or a derivative is not finite.
	eval   func(th []float64, t float64, grad []float64) (float64, bool)
	starts func(t, y []float64) [][]float64
	// plateau returns ln of the cell number the curve levels off at.
	plateau func(th []float64) float64
}

// logistic works in (ln n0, mu, ln k): ln N = ln n0 + ln k − ln(n0(1 − u) + k·u), u = e^(−mu·t).
var logistic = curve{
	model:   ModelLogistic,
	plateau: func(th []float64) float64 { return th[2] },
	names:   []string{"n0", "mu", "k"},
	logs:    []bool{true, false, true},
	eval: func(th []float64, t float64, grad []float64) (float64, bool) {
		a, mu, b := th[0], th[1], th[2]
		m := math.Max(a, b)
		ea, eb := math.Exp(a-m), math.Exp(b-m)
		u := math.Exp(-mu * t)
		v := -math.Expm1(-mu * t) // 1 − u, accurate when mu·t is small
		q := ea*v + eb*u
		if !(q > 0) || math.IsInf(q, 0) {
			return 0, false
		}
		f := a + b - m - math.Log(q)
		if grad != nil {
			grad[0] = 1 - ea*v/q
			grad[1] = t * u * (eb - ea) / q
			grad[2] = 1 - eb*u/q
			if !allFinite(grad) {
				return 0, false
			}
		}
		return f, !math.IsNaN(f) && !math.IsInf(f, 0)
	},
	starts: func(t, y []float64) [][]float64 {
		s := shapeOf(t, y)
		var out [][]float64
		for _, mu := range []float64{s.slope, s.slope / 2, 2 * s.slope, 0.3} {
			for _, dk := range []float64{0.1, 0.7} {
				out = append(out, []float64{s.y0, mu, s.ymax + dk})
			}
		}
		return out
	},
}

// gompertz works in (ln n0, a, mu_m, lambda).
var gompertz = curve{
	model:   ModelGompertz,
	plateau: func(th []float64) float64 { return th[0] + th[1] },
	names:   []string{"n0", "a", "mu_m", "lambda"},
	logs:    []bool{true, false, false, false},
	eval: func(th []float64, t float64, grad []float64) (float64, bool) {
		c, a, mu, lam := th[0], th[1], th[2], th[3]
		if a == 0 {
			return 0, false
		}
		z := mu*math.E*(lam-t)/a + 1
		if math.IsNaN(z) || math.IsInf(z, 0) {
			return 0, false
		}
		g := math.Exp(-math.Exp(z)) // exp(−e^z)
		w := math.Exp(z - math.Exp(z))
		f := c + a*g
		if grad != nil {
			grad[0] = 1
			grad[1] = g + w*(z-1)
			grad[2] = -w * math.E * (lam - t)
			grad[3] = -w * mu * math.E
			if !allFinite(grad) {
				return 0, false
			}
		}
		return f, !math.IsNaN(f) && !math.IsInf(f, 0)
	},
	starts: func(t, y []float64) [][]float64 {
		s := shapeOf(t, y)
		a := math.Max(s.ymax-s.y0, 0.1)
		var out [][]float64
		for _, f := range []float64{1, 0.5, 2} {
			for _, fa := range []float64{1, 1.2} {
				out = append(out, []float64{s.y0, fa * a, f * s.slope, s.lag})
			}
		}
		return out
	},
}

// shape is what the starting values are read from: ln N at the first day, its maximum, the
// steepest rise between consecutive days and where the tangent there meets the first level.
type shape struct {
	y0, ymax, slope, lag float64
}

// shapeOf reads the shape of a series sorted by day. Values on one day are averaged.
func shapeOf(t, y []float64) shape {
	var dt, dy []float64
	for i := 0; i < len(t); {
		j, sum := i, 0.0
		for ; j < len(t) && t[j] == t[i]; j++ {
			sum += y[j]
		}
		dt, dy = append(dt, t[i]), append(dy, sum/float64(j-i))
		i = j
	}
	s := shape{y0: dy[0], ymax: slices.Max(dy), slope: math.Inf(-1)}
	mid, ymid := dt[0], dy[0]
	for i := 1; i < len(dt); i++ {
		if r := (dy[i] - dy[i-1]) / (dt[i] - dt[i-1]); r > s.slope {
			s.slope, mid, ymid = r, (dt[i]+dt[i-1])/2, (dy[i]+dy[i-1])/2
		}
	}
	if !(s.slope > 0) || math.IsInf(s.slope, 0) {
		s.slope = 0.1
	}
	s.lag = mid - (ymid-s.y0)/s.slope
	if math.IsNaN(s.lag) || math.IsInf(s.lag, 0) {
		s.lag = 0
	}
	return s
}

func allFinite(v []float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// fitGrowth validates the series and fits c from its starting points, keeping the converged
// fit with the smallest residual sum of squares.
func fitGrowth(c curve, days, cells []float64) (*GrowthFit, error) {
	p := len(c.names)
	var fe clink.FieldErrors
	if len(days) != len(cells) {
		fe.Addf("cells", "has %d values for %d days", len(cells), len(days))
	}
	if len(days) < p+2 {
		fe.Addf("days", "the %s model has %d parameters and needs at least %d points, got %d", c.model, p, p+2, len(days))
	}
	distinct, badDay := map[float64]bool{}, false
	for i, d := range days {
		if !(d >= 0 && d <= 100000) {
			fe.Addf(fmt.Sprintf("days[%d]", i), "%g is not a day from 0 to 100000", d)
			badDay = true
		}
		distinct[d] = true
	}
	if len(days) >= p+2 && !badDay && len(distinct) < p {
		fe.Addf("days", "the %s model needs points on at least %d different days, got %d", c.model, p, len(distinct))
	}
	for i, v := range cells {
		if !(v > 0) || math.IsInf(v, 1) {
			fe.Addf(fmt.Sprintf("cells[%d]", i), "%g is not a positive cell number", v)
		}
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}

	idx := make([]int, len(days))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(i, j int) int { return cmpFloat(days[i], days[j]) })
	t := make([]float64, len(days))
	y := make([]float64, len(days))
	for k, i := range idx {
		t[k], y[k] = days[i], math.Log(cells[i])
	}

	// The starts are tried in turn until two converge to the same residual sum of squares,
	// taken then to be the least-squares optimum; all of them share one iteration budget.
	// A series whose growth does not slow has its optimum at infinity: a plateau without
	// bound, or a starting level n0 (th[0] of both models, the lower asymptote of Gompertz)
	// that sinks without bound as the curve turns exponential. Walls ten times beyond what report accepts stop the solver from chasing
	// that limit for its whole iteration budget; an optimum report keeps never reaches them.
	hiWall := slices.Max(y) + math.Log(10*maxExtrapolation)
	loWall := slices.Min(y) - math.Log(10*maxExtrapolation)
	m := lsq.Model{X: t, Y: y, F: func(th []float64, x float64, grad []float64) (float64, bool) {
		if !(c.plateau(th) <= hiWall) || !(th[0] >= loWall) {
			return 0, false
		}
		return c.eval(th, x, grad)
	}}
	var best *run
	budget := maxTotalIterations
	for _, th0 := range c.starts(t, y) {
		if budget <= 0 {
			break
		}
		res, err := lsq.Fit(m, th0, lsq.Options{MaxIter: maxIterations, Budget: &budget})
		r := run{res, err}
		if best != nil && best.Converged && r.Converged && sameRSS(r.RSS, best.RSS) {
			break
		}
		if best == nil || r.Better(best.Result) {
			best = &r
		}
	}
	return best.report(c, m)
}

// Iteration limits of a growth fit: per starting point, and shared by all the starts.
const (
	maxIterations      = 1000
	maxTotalIterations = 2 * maxIterations
)

// run is the outcome of lsq.Fit from one starting point.
type run struct {
	lsq.Result
	err error // why it did not converge
}

// why says in the words of the notes why r did not converge.
func (r *run) why() string {
	switch {
	case errors.Is(r.err, lsq.ErrStart):
		return "the model cannot be evaluated at the starting values"
	case errors.Is(r.err, lsq.ErrMaxIter):
		return fmt.Sprintf("no convergence in %d iterations", maxIterations)
	case errors.Is(r.err, lsq.ErrBudget):
		return fmt.Sprintf("no convergence in %d iterations over all starting points", maxTotalIterations)
	case errors.Is(r.err, lsq.ErrNoOptimum):
		return "no optimum: the estimates run off towards a limit at infinity"
	case errors.Is(r.err, lsq.ErrStalled):
		return "the fit stalled away from an optimum"
	case r.err != nil:
		return r.err.Error()
	}
	return "no convergence"
}

// sameRSS reports whether two residual sums of squares are equal up to rounding.
func sameRSS(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(a, b)
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// maxExtrapolation bounds the plateau of a fitted curve: one more than this many times the
// largest count is not a plateau the counts show but the mark of a series whose growth does not
// slow (ln N convex or straight), where the least-squares optimum lies at infinity
// (k → ∞ for the logistic, a → ∞ for Gompertz) and the estimates mean nothing.
const maxExtrapolation = 1000

// report turns the best run of m (y is ln N) into a GrowthFit in the reported parameters.
func (r *run) report(c curve, m lsq.Model) (*GrowthFit, error) {
	if r.P == nil {
		return nil, &fitError{c.model, r.why()}
	}
	y := m.Y
	if lim := c.plateau(r.P); !(lim-slices.Max(y) <= math.Log(maxExtrapolation)) {
		return nil, &fitError{c.model, fmt.Sprintf("no plateau: growth does not slow within the counts (the fitted plateau runs off beyond %d times the largest count)", maxExtrapolation)}
	}
	if !(slices.Min(y)-r.P[0] <= math.Log(maxExtrapolation)) {
		return nil, &fitError{c.model, fmt.Sprintf("no start: growth does not slow within the counts (the fitted n0 runs off below 1/%d of the smallest count)", maxExtrapolation)}
	}
	n, p := len(y), len(r.P)
	fit := &GrowthFit{Model: c.model, N: n, Converged: r.Converged, Params: make([]Param, p)}
	for i, name := range c.names {
		v := r.P[i]
		if c.logs[i] {
			v = math.Exp(v)
		}
		fit.Params[i] = Param{Name: name, Estimate: v}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, &fitError{c.model, "the estimate of " + name + " is not finite"}
		}
	}
	fit.ResidualSD = math.Sqrt(r.RSS / float64(n-p))
	if !r.Converged {
		return fit, &fitError{c.model, r.why()}
	}
	se, err := lsq.StdErrors(m, r.P)
	switch {
	case errors.Is(err, lsq.ErrSingular):
		return fit, &fitError{c.model, "singular gradient: the points do not determine every parameter"}
	case err != nil:
		return fit, &fitError{c.model, "no standard errors: " + err.Error()}
	}
	for i := range fit.Params {
		if c.logs[i] {
			se[i] *= fit.Params[i].Estimate // delta method: d e^θ/dθ = e^θ
		}
		fit.Params[i].StdError = finite(se[i])
	}
	return fit, nil
}

// Fits are the growth curves of a culture (domain.md §5.3), fitted by Compute to the whole
// series of virtual totals: the seed at day 0 and every count with a positive virtual total.
type Fits struct {
	// Basis is BasisNK (virtual NK totals) when any count has an NK yield, else BasisTotal
	// (virtual total cells: NK cells were never measured, or no NK fold is defined).
	Basis string `json:"basis"`
	// Logistic and Gompertz are nil when the series has too few points for the model or the
	// fit fails; Metrics.Notes says which.
	Logistic *GrowthFit `json:"logistic"`
	Gompertz *GrowthFit `json:"gompertz"`
}

// fitCurves fits both growth models to the virtual totals of m.
func fitCurves(m Metrics, nkSeeded, totalSeeded bool, note func(string, ...any)) Fits {
	fits := Fits{Basis: BasisTotal}
	for _, p := range m.Points {
		if p.NKYield != nil {
			fits.Basis = BasisNK
			break
		}
	}
	seeded := nkSeeded
	if fits.Basis == BasisTotal {
		seeded = totalSeeded
		if len(m.Points) > 0 {
			note("no count has a virtual NK total: growth curves fitted to total cells")
		}
	}
	s := virtualTotals(m, fits.Basis, seeded)
	fit := func(c curve) *GrowthFit {
		if p := len(c.names); len(s.t) < p+2 {
			note("%s curve: needs at least %d points with cell numbers, has %d: not fitted", c.model, p+2, len(s.t))
			return nil
		}
		f, err := fitGrowth(c, s.t, s.cells())
		if err != nil {
			var fe *fitError
			if errors.As(err, &fe) {
				note("%s curve: %s: not fitted", c.model, fe.reason)
			} else {
				note("%s curve: %v: not fitted", c.model, err)
			}
			return nil
		}
		return f
	}
	fits.Logistic = fit(logistic)
	fits.Gompertz = fit(gompertz)
	return fits
}

// fitError says why a valid series could not be fitted. It wraps ErrNoFit.
type fitError struct {
	model, reason string
}

func (e *fitError) Error() string { return "kinetics: " + e.model + " fit: " + e.reason }
func (e *fitError) Unwrap() error { return ErrNoFit }
