package bo

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/clink-consortium/clink/gp"
)

// acquisition is a log acquisition function of one candidate point.
type acquisition interface {
	// eval returns the log acquisition at x and, when grad is not nil, fills grad (len(x))
	// with its gradient with respect to x: zero on categorical coordinates.
	eval(x, grad []float64) float64
}

// varFloor is the smallest posterior variance, relative to the prior variance, that the
// acquisitions use: at a fantasy's own (noise-free) points the variance is zero up to
// rounding, and the log acquisitions need a positive standard deviation.
const varFloor = 1e-12

// moments returns the posterior mean and standard deviation of m at x and, when dmean is not
// nil, fills dmean and dsd with their gradients. scale is m's prior variance (for the floor).
func moments(m *gp.Model, x []float64, scale float64, dmean, dsd []float64) (mean, sd float64) {
	var v float64
	if dmean == nil {
		mean, v = m.Predict(x)
	} else {
		mean, v = m.PredictGrad(x, dmean, dsd)
	}
	return mean, sdOf(v, scale, dsd)
}

// sdOf returns the standard deviation of a posterior variance v, floored at varFloor·scale,
// and turns dsd from the gradient of v into that of the standard deviation (zero at the floor).
func sdOf(v, scale float64, dsd []float64) float64 {
	floor := varFloor * scale
	if !(v > floor) {
		clear(dsd)
		return math.Sqrt(floor)
	}
	sd := math.Sqrt(v)
	for j := range dsd {
		dsd[j] /= 2 * sd // dsd arrived holding dvar
	}
	return sd
}

// sharedMoments fills mean with the posterior means of the fantasy models sh at x and returns
// their (shared) standard deviation; when dmean is not nil it also fills dmean[s] and dsd with
// the gradients. scale is the models' prior variance (for the floor).
func sharedMoments(sh *gp.Shared, x []float64, scale float64, mean []float64, dmean [][]float64, dsd []float64) (sd float64) {
	var v float64
	if dmean == nil {
		v = sh.Predict(x, mean)
	} else {
		v = sh.PredictGrad(x, mean, dmean, dsd)
	}
	return sdOf(v, scale, dsd)
}

// outcomeConstraint is one constrained outcome's model and bound, in the outcome's own
// orientation.
type outcomeConstraint struct {
	m     *gp.Model
	scale float64
	bound float64
	upper bool
}

// logPF adds to grad (when not nil) the gradient of, and returns, the log probability that
// the latent outcome at x meets the constraint: log Φ((μ − bound)/σ) for a lower bound,
// log Φ((bound − μ)/σ) for an upper one. dm and ds are scratch of len(x).
func (c outcomeConstraint) logPF(x, grad, dm, ds []float64) float64 {
	if grad == nil {
		dm, ds = nil, nil
	}
	mu, sd := moments(c.m, x, c.scale, dm, ds)
	sign := 1.0
	if c.upper {
		sign = -1
	}
	z := sign * (mu - c.bound) / sd
	if grad != nil {
		g := dLogNormCDF(z)
		for j := range grad {
			grad[j] += g * (sign*dm[j] - z*ds[j]) / sd
		}
	}
	return logNormCDF(z)
}

// logSumExp returns log Σ exp(v[i]) and overwrites v with the weights exp(v[i] − result)
// (which sum to 1). When every v[i] is −Inf it returns −Inf and leaves zero weights.
func logSumExp(v []float64) float64 {
	top := math.Inf(-1)
	for _, x := range v {
		top = math.Max(top, x)
	}
	if math.IsInf(top, -1) || math.IsNaN(top) {
		for i := range v {
			v[i] = 0
		}
		return top
	}
	var s float64
	for _, x := range v {
		s += math.Exp(x - top)
	}
	lse := top + math.Log(s)
	for i, x := range v {
		v[i] = math.Exp(x - lse)
	}
	return lse
}

// logNEI is the noisy expected improvement of Letham et al. (2019), in log space: the mean
// over fantasies s of EI_s(x) = E[(f_s(x) − best_s)⁺], where f_s is the posterior of a
// noise-free fantasy model conditioned on a joint sample of the latent objective at the
// observed and pending points, and best_s is the best feasible sampled value. The log
// probabilities of feasibility of the outcome constraints are added.
type logNEI struct {
	fant  *gp.Shared // fantasy models, maximised orientation
	scale float64    // prior variance of the objective
	best  []float64  // incumbent per fantasy
	cons  []outcomeConstraint

	vals   []float64
	grads  [][]float64
	mu     []float64   // posterior mean per fantasy
	dmu    [][]float64 // its gradient per fantasy
	dm, ds []float64
}

func newLogNEI(fant *gp.Shared, scale float64, best []float64, cons []outcomeConstraint, d int) *logNEI {
	S := fant.Len()
	a := &logNEI{fant: fant, scale: scale, best: best, cons: cons,
		vals: make([]float64, S), grads: make([][]float64, S), mu: make([]float64, S), dmu: make([][]float64, S),
		dm: make([]float64, d), ds: make([]float64, d)}
	for s := range a.grads {
		a.grads[s] = make([]float64, d)
		a.dmu[s] = make([]float64, d)
	}
	return a
}

func (a *logNEI) eval(x, grad []float64) float64 {
	if grad == nil {
		sd := sharedMoments(a.fant, x, a.scale, a.mu, nil, nil)
		for s := range a.vals {
			a.vals[s] = LogEI(a.mu[s], sd, a.best[s])
		}
	} else {
		sd := sharedMoments(a.fant, x, a.scale, a.mu, a.dmu, a.ds)
		for s := range a.vals {
			v, gmu, gsd := logEIGrad(a.mu[s], sd, a.best[s])
			a.vals[s] = v
			for j := range x {
				a.grads[s][j] = gmu*a.dmu[s][j] + gsd*a.ds[j]
			}
		}
	}
	total := logSumExp(a.vals) - math.Log(float64(len(a.vals)))
	if grad != nil {
		clear(grad)
		for s, w := range a.vals {
			if w == 0 {
				continue
			}
			for j := range grad {
				grad[j] += w * a.grads[s][j]
			}
		}
	}
	for _, c := range a.cons {
		total += c.logPF(x, grad, a.dm, a.ds)
	}
	return total
}

// logNEHVI is the noisy expected hypervolume improvement of two objectives with independent
// GPs, in log space: the mean over fantasies s of the exact EHVI of x with respect to the
// Pareto front of fantasy s's sampled values at the observed and pending points, under the
// posteriors of that fantasy's two noise-free models. The region that the front does not
// dominate (above the reference point r) is the union of the cells
// [a_{i−1}, a_i) × [b_i, ∞), where a_1 < … < a_k, b_1 > … > b_k is the front, a_0 = r_1,
// a_{k+1} = ∞, b_{k+1} = r_2; with independent objectives
// EHVI = Σ_i E[|[a_{i−1}, a_i) ∩ (−∞, F_1]|] · E[(F_2 − b_i)⁺]
//
//	= Σ_i σ_1 (h(z_{1,i−1}) − h(z_{1,i})) · σ_2 h(z_{2,i}),   z_{1,i} = (μ_1 − a_i)/σ_1, z_{2,i} = (μ_2 − b_i)/σ_2,
//
// each term taken in log space (logDiffH, logH) and summed by logsumexp.
type logNEHVI struct {
	fant   [2]*gp.Shared // per objective, maximised orientation
	scale  [2]float64
	fronts [][][2]float64
	ref    [2]float64
	cons   []outcomeConstraint

	terms    []float64
	partials [][4]float64 // ∂term/∂(μ1, σ1, μ2, σ2)
	dm, ds   [2][]float64
	mu       [2][]float64   // posterior mean per objective and fantasy
	dmu      [2][][]float64 // its gradient
	sd       [2]float64     // posterior SD per objective (the same for every fantasy)
	// z1, l1, g1: scratch for objective 1 at the edges of one fantasy's cells: z, log h(z)
	// and its derivative.
	z1, l1, g1 []float64
}

func newLogNEHVI(fant [2]*gp.Shared, scale [2]float64, fronts [][][2]float64, ref [2]float64, cons []outcomeConstraint, d int) *logNEHVI {
	a := &logNEHVI{fant: fant, scale: scale, fronts: fronts, ref: ref, cons: cons}
	n, most := 0, 0
	for _, f := range fronts {
		n += len(f) + 1
		most = max(most, len(f)+1)
	}
	a.z1, a.l1, a.g1 = make([]float64, most), make([]float64, most), make([]float64, most)
	a.terms = make([]float64, n)
	a.partials = make([][4]float64, n)
	S := len(fronts)
	for k := range 2 {
		a.dm[k] = make([]float64, d)
		a.ds[k] = make([]float64, d)
		a.mu[k] = make([]float64, S)
		a.dmu[k] = make([][]float64, S)
		for s := range S {
			a.dmu[k][s] = make([]float64, d)
		}
	}
	return a
}

func (a *logNEHVI) eval(x, grad []float64) float64 {
	for k := range 2 {
		if grad == nil {
			a.sd[k] = sharedMoments(a.fant[k], x, a.scale[k], a.mu[k], nil, nil)
		} else {
			a.sd[k] = sharedMoments(a.fant[k], x, a.scale[k], a.mu[k], a.dmu[k], a.ds[k])
		}
	}
	t := 0
	sd1, sd2 := a.sd[0], a.sd[1]
	logSD := math.Log(sd1) + math.Log(sd2) // log σ_1 + log σ_2, in every term
	for s := range a.fronts {
		mu1, mu2 := a.mu[0][s], a.mu[1][s]
		front := a.fronts[s]
		// Objective 1 at the cells' lower edges a_0 = r_1, a_i = front[i−1][0]: each edge is
		// the upper one of the cell before, so log h and its derivative are taken once per edge.
		k := len(front)
		z1, l1s, g1s := a.z1[:k+1], a.l1[:k+1], a.g1[:k+1]
		for i := 0; i <= k; i++ {
			lo := a.ref[0]
			if i > 0 {
				lo = front[i-1][0]
			}
			z1[i] = (mu1 - lo) / sd1
			l1s[i], g1s[i] = logHD(z1[i])
		}
		for i := 0; i <= k; i++ {
			b := a.ref[1]
			za, zb := z1[i], math.Inf(-1)
			var l1, dza, dzb float64
			if i < k {
				b, zb = front[i][1], z1[i+1]
				l1, dza, dzb = diffH(l1s[i], g1s[i], l1s[i+1], g1s[i+1])
			} else {
				l1, dza, dzb = l1s[i], g1s[i], 0
			}
			// log E[(F_2 − b)⁺] without its log σ_2, which logSD holds.
			l2, g2mu, g2sd := logEIParts((mu2-b)/sd2, sd2)
			a.terms[t] = logSD + l1 + l2
			p := &a.partials[t]
			p[0] = (dza + dzb) / sd1
			p[1] = (1 - dza*za) / sd1
			if dzb != 0 {
				p[1] -= dzb * zb / sd1
			}
			p[2], p[3] = g2mu, g2sd
			t++
		}
	}
	total := logSumExp(a.terms[:t]) - math.Log(float64(len(a.fronts)))
	if grad != nil {
		clear(grad)
		t = 0
		var cs1, cs2 float64 // the σ parts, the same gradient for every fantasy
		for s := range a.fronts {
			var c [4]float64
			for i := 0; i <= len(a.fronts[s]); i++ {
				w := a.terms[t]
				if w != 0 {
					for k := range c {
						c[k] += w * a.partials[t][k]
					}
				}
				t++
			}
			cs1 += c[1]
			cs2 += c[3]
			for j := range grad {
				grad[j] += c[0]*a.dmu[0][s][j] + c[2]*a.dmu[1][s][j]
			}
		}
		for j := range grad {
			grad[j] += cs1*a.ds[0][j] + cs2*a.ds[1][j]
		}
	}
	for _, c := range a.cons {
		total += c.logPF(x, grad, a.dm[0], a.ds[0])
	}
	return total
}

// jointSamples draws len(z) joint samples of the latent function of m at the rows of X:
// mean + L z_s with L the Cholesky factor of the posterior covariance (with increasing jitter
// when it is numerically singular). Each z_s must hold at least len(X) standard normals; the
// first len(X) are used, so adding rows to X keeps the earlier rows' samples.
func jointSamples(m *gp.Model, X [][]float64, z [][]float64) ([][]float64, error) {
	n := len(X)
	mean, cov := m.PredictJoint(X)
	if cov == nil || len(mean) != n {
		return nil, fmt.Errorf("joint posterior at %d points unavailable", n)
	}
	var trace float64
	for i := range n {
		trace += cov.At(i, i)
	}
	jit := 0.0
	base := trace / float64(n)
	if !(base > 0) {
		base = 1
	}
	var chol mat.Cholesky
	ok := false
	work := mat.NewSymDense(n, nil)
	for _, rel := range []float64{0, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4} {
		jit = rel * base
		work.CopySym(cov)
		for i := range n {
			work.SetSym(i, i, cov.At(i, i)+jit)
		}
		if chol.Factorize(work) {
			ok = true
			break
		}
	}
	if !ok {
		return nil, fmt.Errorf("posterior covariance at %d points not positive definite", n)
	}
	var L mat.TriDense
	chol.LTo(&L)
	out := make([][]float64, len(z))
	for s := range z {
		f := make([]float64, n)
		for i := range n {
			v := mean[i]
			for j := 0; j <= i; j++ {
				v += L.At(i, j) * z[s][j]
			}
			f[i] = v
		}
		out[s] = f
	}
	return out, nil
}

// fantasyNoise is the noise variance of a fantasy model relative to its prior variance:
// fantasies observe the latent function exactly, and this is the numerical floor that keeps
// their covariance matrices factorable.
const fantasyNoise = 1e-6

// fantasies returns the noise-free models with m's hyperparameters conditioned on each of the
// value vectors F[s] (in m's orientation times sign) at X, sharing one factorisation.
func fantasies(m *gp.Model, dims []gp.Dim, X [][]float64, F [][]float64, sign float64) (*gp.Shared, error) {
	h := m.Hyper()
	h.Mean *= sign
	h.GroupVar = 0
	h.Noise = fantasyNoise * h.Outputscale
	Y := make([][]float64, len(F))
	for s, f := range F {
		Y[s] = make([]float64, len(f))
		for i, v := range f {
			Y[s][i] = sign * v
		}
	}
	return gp.FitShared(X, Y, gp.Config{Dims: dims}, h)
}
