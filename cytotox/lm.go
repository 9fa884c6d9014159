package cytotox

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// curve is a model y = f(x; p) for nonlinear least squares, with its bounds. Every lower
// bound is open (p[i] > lo[i]); an upper bound is closed (p[i] <= hi[i], reachable) when
// hiClosed[i], else open. Use ±Inf for no bound.
type curve struct {
	np       int
	eval     func(p []float64, x float64, grad []float64) float64 // f, and ∂f/∂p into grad
	lo, hi   []float64
	hiClosed []bool
}

// feasible reports whether p is finite and inside the bounds.
func (c *curve) feasible(p []float64) bool {
	for i, v := range p {
		if math.IsNaN(v) || math.IsInf(v, 0) || !(v > c.lo[i]) || v > c.hi[i] || (!c.hiClosed[i] && v == c.hi[i]) {
			return false
		}
	}
	return true
}

// residuals fills r with f(x_i; p) − y_i and, when jac is not nil, the n×np Jacobian row by
// row. It returns the residual sum of squares, +Inf when anything is not finite.
func (c *curve) residuals(p, x, y, r, jac []float64) float64 {
	grad := make([]float64, c.np)
	var rss float64
	for i, xi := range x {
		f := c.eval(p, xi, grad)
		r[i] = f - y[i]
		rss += r[i] * r[i]
		if jac != nil {
			for j, g := range grad {
				if math.IsNaN(g) || math.IsInf(g, 0) {
					return math.Inf(1)
				}
				jac[i*c.np+j] = g
			}
		}
	}
	if math.IsNaN(rss) {
		return math.Inf(1)
	}
	return rss
}

// rss returns the residual sum of squares at p, +Inf outside the bounds.
func (c *curve) rss(p, x, y []float64) float64 {
	if !c.feasible(p) {
		return math.Inf(1)
	}
	return c.residuals(p, x, y, make([]float64, len(x)), nil)
}

// Convergence of the Levenberg–Marquardt iteration.
const (
	lmMaxIter = 1000
	// lmOffsetTol is the relative-offset criterion of Bates and Watts (the one R's nls uses):
	// converged when the part of the residual vector the model could still explain is below
	// this fraction of the residual, i.e. r'J(J'J)⁻¹J'r <= lmOffsetTol² r'r.
	lmOffsetTol = 1e-10
	// lmStepTol stops the iteration when the Gauss–Newton step changes no parameter by more
	// than this relative amount.
	lmStepTol = 1e-12
)

// levmar minimises the residual sum of squares of c from p0 by Levenberg–Marquardt with
// Marquardt's diagonal scaling. A parameter sitting on its closed upper bound while the
// gradient pushes it further is held there (an active set), and steps are projected onto
// the closed bounds; steps leaving an open bound are refused by raising the damping. It
// returns the parameters, their residual sum of squares and whether the iteration met a
// convergence criterion (a step too small to matter, or no step that lowers the sum).
func levmar(c *curve, x, y, p0 []float64) ([]float64, float64, bool) {
	n, np := len(x), c.np
	p := append([]float64(nil), p0...)
	if !c.feasible(p) {
		return p, math.Inf(1), false
	}
	r, jac := make([]float64, n), make([]float64, n*np)
	rss := c.residuals(p, x, y, r, jac)
	if math.IsInf(rss, 0) {
		return p, rss, false
	}
	rN, jacN := make([]float64, n), make([]float64, n*np)
	pN := make([]float64, np)
	a := make([]float64, np*np) // J'J
	g := make([]float64, np)    // J'r, half the gradient of the sum of squares
	free := make([]int, 0, np)
	m := make([]float64, np*np)
	rhs := make([]float64, np)
	lambda := 1e-3
	for range lmMaxIter {
		if rss == 0 {
			return p, 0, true
		}
		for j := range np {
			g[j] = 0
			for k := range np {
				a[j*np+k] = 0
			}
		}
		for i := range n {
			row := jac[i*np : (i+1)*np]
			for j := range np {
				g[j] += row[j] * r[i]
				for k := range np {
					a[j*np+k] += row[j] * row[k]
				}
			}
		}
		free = free[:0]
		for j := range np {
			if c.hiClosed[j] && p[j] == c.hi[j] && g[j] < 0 {
				continue // on the bound and pushed outward: held
			}
			free = append(free, j)
		}
		if len(free) == 0 {
			return p, rss, true
		}
		// Convergence: the undamped Gauss–Newton step.
		if delta, ok := dampedStep(a, g, np, free, 0, m, rhs); ok {
			var offset, rel float64
			for fi, j := range free {
				offset -= g[j] * delta[fi]
				rel = math.Max(rel, math.Abs(delta[fi])/math.Max(math.Abs(p[j]), 1e-6))
			}
			if offset <= lmOffsetTol*lmOffsetTol*rss || rel <= lmStepTol {
				return p, rss, true
			}
		}
		improved := false
		for lambda <= 1e20 {
			delta, ok := dampedStep(a, g, np, free, lambda, m, rhs)
			if ok {
				copy(pN, p)
				for fi, j := range free {
					pN[j] += delta[fi]
					if c.hiClosed[j] && pN[j] > c.hi[j] {
						pN[j] = c.hi[j]
					}
				}
				if c.feasible(pN) {
					if s := c.residuals(pN, x, y, rN, jacN); s < rss {
						p, pN = pN, p
						r, rN = rN, r
						jac, jacN = jacN, jac
						rss = s
						lambda = math.Max(lambda/10, 1e-12)
						improved = true
						break
					}
				}
			}
			lambda *= 10
		}
		if !improved {
			// No step, however short, lowers the sum: p is a minimum to working precision.
			return p, rss, true
		}
	}
	return p, rss, false
}

// dampedStep solves (A + λ diag A) δ = −g on the free parameters by Cholesky, using m and rhs
// as scratch. It reports false when the system is not positive definite.
func dampedStep(a, g []float64, np int, free []int, lambda float64, m, rhs []float64) ([]float64, bool) {
	nf := len(free)
	var maxDiag float64
	for _, j := range free {
		maxDiag = math.Max(maxDiag, a[j*np+j])
	}
	if !(maxDiag > 0) || math.IsInf(maxDiag, 0) {
		return nil, false
	}
	for fi, j := range free {
		for fk, k := range free {
			m[fi*nf+fk] = a[j*np+k]
		}
		d := math.Max(a[j*np+j], 1e-15*maxDiag)
		m[fi*nf+fi] += lambda * d
		rhs[fi] = -g[j]
	}
	// In-place Cholesky m = L L', then forward and back substitution.
	for i := range nf {
		for k := 0; k <= i; k++ {
			s := m[i*nf+k]
			for l := range k {
				s -= m[i*nf+l] * m[k*nf+l]
			}
			if i == k {
				if !(s > 1e-300) {
					return nil, false
				}
				m[i*nf+i] = math.Sqrt(s)
			} else {
				m[i*nf+k] = s / m[k*nf+k]
			}
		}
	}
	for i := range nf {
		s := rhs[i]
		for l := range i {
			s -= m[i*nf+l] * rhs[l]
		}
		rhs[i] = s / m[i*nf+i]
	}
	for i := nf - 1; i >= 0; i-- {
		s := rhs[i]
		for l := i + 1; l < nf; l++ {
			s -= m[l*nf+i] * rhs[l]
		}
		rhs[i] = s / m[i*nf+i]
	}
	for _, v := range rhs[:nf] {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, false
		}
	}
	return rhs[:nf], true
}

// nelderMead minimises the residual sum of squares of c over unconstrained coordinates z,
// mapped to the parameters by toP, from z0, and returns the best parameters it found. It is
// the textbook simplex method (reflection 1, expansion 2, contraction ½, shrink ½) with an
// initial simplex of ±0.5 on each coordinate, stopped after 20,000 evaluations or when the
// simplex values agree to 1e-15 relative. It is written here because gonum's optimize
// package pulls golang.org/x/tools into the module graph.
func nelderMead(c *curve, x, y []float64, z0 []float64, toP func(z []float64) []float64) []float64 {
	f := func(z []float64) float64 {
		s := c.rss(toP(z), x, y)
		if math.IsNaN(s) || math.IsInf(s, 0) {
			return math.MaxFloat64
		}
		return s
	}
	d := len(z0)
	pts := make([][]float64, d+1)
	vals := make([]float64, d+1)
	for i := range pts {
		pts[i] = append([]float64(nil), z0...)
		if i > 0 {
			pts[i][i-1] += 0.5
		}
		vals[i] = f(pts[i])
	}
	evals := d + 1
	centroid, trial, trial2 := make([]float64, d), make([]float64, d), make([]float64, d)
	along := func(dst []float64, t float64) { // dst = centroid + t (centroid − worst)
		for j := range dst {
			dst[j] = centroid[j] + t*(centroid[j]-pts[d][j])
		}
	}
	for evals < 20000 {
		// Order best to worst.
		for i := 1; i <= d; i++ {
			for j := i; j > 0 && vals[j] < vals[j-1]; j-- {
				vals[j], vals[j-1] = vals[j-1], vals[j]
				pts[j], pts[j-1] = pts[j-1], pts[j]
			}
		}
		if vals[d]-vals[0] <= 1e-15*math.Abs(vals[0]) {
			break
		}
		for j := range centroid {
			centroid[j] = 0
			for i := range d {
				centroid[j] += pts[i][j] / float64(d)
			}
		}
		along(trial, 1)
		fr := f(trial)
		evals++
		switch {
		case fr < vals[0]:
			along(trial2, 2)
			if fe := f(trial2); fe < fr {
				copy(pts[d], trial2)
				vals[d] = fe
			} else {
				copy(pts[d], trial)
				vals[d] = fr
			}
			evals++
		case fr < vals[d-1]:
			copy(pts[d], trial)
			vals[d] = fr
		default:
			t := 0.5 // outside contraction
			if fr >= vals[d] {
				t = -0.5 // inside contraction
			}
			along(trial2, t)
			fc := f(trial2)
			evals++
			if fc < math.Min(fr, vals[d]) {
				copy(pts[d], trial2)
				vals[d] = fc
				continue
			}
			for i := 1; i <= d; i++ {
				for j := range pts[i] {
					pts[i][j] = pts[0][j] + 0.5*(pts[i][j]-pts[0][j])
				}
				vals[i] = f(pts[i])
			}
			evals += d
		}
	}
	best := 0
	for i := range vals {
		if vals[i] < vals[best] {
			best = i
		}
	}
	return toP(pts[best])
}

// standardErrors returns sqrt(diag(s² (J'J)⁻¹)) with s² = rss/(n − np), the standard errors
// of R's summary.nls, for the Jacobian at p. An entry is nil when n <= np, when J is rank
// deficient to working precision, or when it is not finite.
func standardErrors(c *curve, p, x, y []float64, rss float64) []*float64 {
	n, np := len(x), c.np
	out := make([]*float64, np)
	if n <= np {
		return out
	}
	jac := make([]float64, n*np)
	if s := c.residuals(p, x, y, make([]float64, n), jac); math.IsInf(s, 0) {
		return out
	}
	var svd mat.SVD
	if !svd.Factorize(mat.NewDense(n, np, jac), mat.SVDThin) {
		return out
	}
	sv := svd.Values(nil)
	if !(sv[np-1] > 1e-10*sv[0]) {
		return out
	}
	var v mat.Dense
	svd.VTo(&v)
	s2 := rss / float64(n-np)
	for j := range np {
		// (J'J)⁻¹ = V Σ⁻² V', so its j-th diagonal entry is Σ_k V_jk² / σ_k².
		var d float64
		for k := range np {
			d += v.At(j, k) * v.At(j, k) / (sv[k] * sv[k])
		}
		out[j] = finite(math.Sqrt(s2 * d))
	}
	return out
}
