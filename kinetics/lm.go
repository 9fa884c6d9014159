package kinetics

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// Levenberg–Marquardt for the growth curves: few parameters (at most maxParams), an analytic
// Jacobian, and the normal equations JᵀJ scaled to unit diagonal, which keeps them accurate
// when the parameters differ in scale. The loop allocates nothing.

// maxParams is the most parameters a curve has (Gompertz: 4).
const maxParams = 4

// Tolerances of the fit. A run stops as converged when a Gauss–Newton step could lower the
// residual sum of squares (RSS) by at most convergedRel of itself (the square of R's
// relative-offset criterion: 1e-20 is nls's tol = 1e-10), or when no step lowers the RSS any
// more and that predicted reduction is at most stalledRel, as rounding allows; a series the
// model passes through exactly converges when its RSS is at the rounding level (exactRel of
// Σy²). A run is abandoned when, over progressWindow steps, the RSS fell by less than
// progressFraction of what Gauss–Newton predicted at the window's start: it is creeping along
// a ridge towards a limit at infinity (μ → ∞, a → ∞ and the like), where there is no optimum.
const (
	maxIterations      = 1000
	maxTotalIterations = 2 * maxIterations // shared by all the starts of one fit
	convergedRel       = 1e-20
	stalledRel         = 1e-10
	exactRel           = 1e-26
	progressWindow     = 100
	progressFraction   = 0.01
	maxLambda          = 1e16
	minLambda          = 1e-15
)

// sym is a small symmetric matrix, both triangles filled.
type sym [maxParams][maxParams]float64

// lmResult is the outcome of one Levenberg–Marquardt run.
type lmResult struct {
	th         []float64
	rss        float64
	iterations int
	converged  bool
	why        string // why it did not converge
	jtj        sym    // JᵀJ at th
}

// better reports whether r is a better outcome than o: converged beats not converged, then the
// smaller residual sum of squares wins.
func (r *lmResult) better(o *lmResult) bool {
	if r.th == nil || o.th == nil {
		return r.th != nil
	}
	if r.converged != o.converged {
		return r.converged
	}
	return r.rss < o.rss
}

// evaluate returns the residuals y − f, their sum of squares and, when jac is not nil, fills
// the Jacobian of f (row-major, n × p). It reports false when the model is not finite at th.
func evaluate(c curve, th, t, y, res, jac []float64) (float64, bool) {
	p := len(th)
	var rss float64
	for i := range t {
		var grad []float64
		if jac != nil {
			grad = jac[i*p : (i+1)*p]
		}
		f, ok := c.eval(th, t[i], grad)
		if !ok {
			return 0, false
		}
		res[i] = y[i] - f
		rss += res[i] * res[i]
	}
	return rss, !math.IsInf(rss, 0) && !math.IsNaN(rss)
}

// normal returns JᵀJ and Jᵀr.
func normal(jac, res []float64, n, p int) (a sym, g [maxParams]float64) {
	for i := 0; i < n; i++ {
		row := jac[i*p : (i+1)*p]
		for j := 0; j < p; j++ {
			g[j] += row[j] * res[i]
			for k := 0; k <= j; k++ {
				a[j][k] += row[j] * row[k]
			}
		}
	}
	for j := 0; j < p; j++ {
		for k := 0; k < j; k++ {
			a[k][j] = a[j][k]
		}
	}
	return a, g
}

// solveScaled solves (A + λ·diag(A))·x = g through A scaled to unit diagonal. It reports false
// when the matrix is not positive definite or the solution is not finite.
func solveScaled(a *sym, g *[maxParams]float64, p int, lambda float64) (x [maxParams]float64, ok bool) {
	var d [maxParams]float64
	var s sym
	for i := 0; i < p; i++ {
		d[i] = math.Sqrt(a[i][i])
		if !(d[i] > 0) || math.IsInf(d[i], 0) {
			return x, false
		}
	}
	for i := 0; i < p; i++ {
		for j := 0; j < p; j++ {
			s[i][j] = a[i][j] / (d[i] * d[j])
		}
		s[i][i] = 1 + lambda
	}
	// Cholesky s = L·Lᵀ, L in the lower triangle of s.
	for j := 0; j < p; j++ {
		sum := s[j][j]
		for k := 0; k < j; k++ {
			sum -= s[j][k] * s[j][k]
		}
		if !(sum > 0) {
			return x, false
		}
		s[j][j] = math.Sqrt(sum)
		for i := j + 1; i < p; i++ {
			v := s[i][j]
			for k := 0; k < j; k++ {
				v -= s[i][k] * s[j][k]
			}
			s[i][j] = v / s[j][j]
		}
	}
	for i := 0; i < p; i++ { // L·z = D⁻¹g
		v := g[i] / d[i]
		for k := 0; k < i; k++ {
			v -= s[i][k] * x[k]
		}
		x[i] = v / s[i][i]
	}
	for i := p - 1; i >= 0; i-- { // Lᵀ·w = z, x = D⁻¹w
		v := x[i]
		for k := i + 1; k < p; k++ {
			v -= s[k][i] * x[k]
		}
		x[i] = v / s[i][i]
	}
	for i := 0; i < p; i++ {
		x[i] /= d[i]
		if math.IsNaN(x[i]) || math.IsInf(x[i], 0) {
			return x, false
		}
	}
	return x, true
}

// levenbergMarquardt minimises the residual sum of squares of c from th0, damping with
// λ·diag(JᵀJ) (Marquardt's scaling, so the path does not depend on the units of the
// parameters). Every accepted step uses one unit of *budget.
func levenbergMarquardt(c curve, t, y, th0 []float64, budget *int) lmResult {
	n, p := len(t), len(th0)
	th := slices.Clone(th0)
	res := make([]float64, n)
	jac := make([]float64, n*p)
	rss, ok := evaluate(c, th, t, y, res, jac)
	if !ok {
		return lmResult{why: "the model cannot be evaluated at the starting values"}
	}
	var sumY2 float64
	for _, v := range y {
		sumY2 += v * v
	}
	trial := make([]float64, p)
	tres := make([]float64, n)
	lambda := 1e-3
	markRSS, markPred := rss, math.Inf(1)
	for it := 0; ; it++ {
		a, g := normal(jac, res, n, p)
		// pred is the reduction of the RSS a Gauss–Newton step predicts: gᵀ(JᵀJ)⁻¹g.
		pred := math.Inf(1)
		if gn, ok := solveScaled(&a, &g, p, 0); ok {
			pred = 0
			for i := 0; i < p; i++ {
				pred += g[i] * gn[i]
			}
		}
		r := lmResult{th: th, rss: rss, iterations: it, jtj: a}
		if pred <= convergedRel*rss || rss <= exactRel*sumY2 {
			r.converged = true
			return r
		}
		switch {
		case it == maxIterations:
			r.why = fmt.Sprintf("no convergence in %d iterations", maxIterations)
			return r
		case *budget <= 0:
			r.why = fmt.Sprintf("no convergence in %d iterations over all starting points", maxTotalIterations)
			return r
		case it > 0 && it%progressWindow == 0:
			if markRSS-rss < progressFraction*markPred {
				r.why = "no optimum: the estimates run off towards a limit at infinity"
				return r
			}
			markRSS, markPred = rss, pred
		case it == 0:
			markPred = pred
		}
		for {
			if lambda > maxLambda {
				if pred <= stalledRel*rss {
					r.converged = true
					return r
				}
				r.why = "the fit stalled away from an optimum"
				return r
			}
			step, ok := solveScaled(&a, &g, p, lambda)
			if ok {
				for i := range th {
					trial[i] = th[i] + step[i]
				}
				if trss, ok := evaluate(c, trial, t, y, tres, nil); ok && trss < rss {
					th = slices.Clone(trial)
					if rss, ok = evaluate(c, th, t, y, res, jac); !ok {
						r.why = "the model's derivatives are not finite"
						return r
					}
					lambda = math.Max(lambda/10, minLambda)
					*budget--
					break
				}
			}
			lambda *= 10
		}
	}
}

// singularCond bounds the condition number of JᵀJ scaled to unit diagonal: beyond it the
// parameters are not all determined by the points.
const singularCond = 1e14

// inverseScaled returns (JᵀJ)⁻¹, computed on JᵀJ scaled to unit diagonal. It reports false
// when the matrix is singular or too badly conditioned for the inverse to mean anything.
func inverseScaled(a sym, p int) (inv sym, ok bool) {
	var d [maxParams]float64
	for i := 0; i < p; i++ {
		d[i] = math.Sqrt(a[i][i])
		if !(d[i] > 0) || math.IsInf(d[i], 0) {
			return inv, false
		}
	}
	s := mat.NewSymDense(p, nil)
	for i := 0; i < p; i++ {
		for j := i; j < p; j++ {
			s.SetSym(i, j, a[i][j]/(d[i]*d[j]))
		}
	}
	var ch mat.Cholesky
	if !ch.Factorize(s) || !(ch.Cond() < singularCond) {
		return inv, false
	}
	si := mat.NewSymDense(p, nil)
	if err := ch.InverseTo(si); err != nil {
		return inv, false
	}
	for i := 0; i < p; i++ {
		for j := 0; j < p; j++ {
			inv[i][j] = si.At(i, j) / (d[i] * d[j])
		}
	}
	return inv, true
}
