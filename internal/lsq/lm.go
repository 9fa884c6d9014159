package lsq

import "math"

// Tuning of the Levenberg–Marquardt iteration.
const (
	// stepTol: a Gauss–Newton step that changes no parameter by more than this relative amount
	// (relative to max(|p|, 1e-6)) means p is the optimum to working precision.
	stepTol = 1e-12
	// exactRel: a residual sum of squares at most this fraction of Σy² is rounding noise: the
	// curve passes through the points, where the relative offset is not defined.
	exactRel = 1e-26
	// stalledRel: when no damped step lowers the sum any more, the point counts as converged
	// if a Gauss–Newton step could lower the sum by at most this fraction of itself (a
	// relative offset of 1e-5, nls's default tolerance).
	stalledRel = 1e-10
	// A run is abandoned when, over progressWindow iterations, the sum fell by less than
	// progressFraction of what the Gauss–Newton step predicted at the window's start.
	progressWindow   = 100
	progressFraction = 0.01
	// Limits of the damping λ; it starts at lambda0.
	lambda0   = 1e-3
	minLambda = 1e-15
	maxLambda = 1e16
	// diagFloor keeps Marquardt's scaling defined for a parameter the model does not depend
	// on at all: a diagonal entry of J'J below diagFloor times the largest counts as that.
	diagFloor = 1e-15
)

// solver holds a problem and the workspace of its Levenberg–Marquardt runs. All the slices
// come from one allocation; a run allocates only its result.
type solver struct {
	m       Model
	n, np   int
	lo, hi  []float64
	maxIter int
	budget  *int
	tol2    float64 // Tol²
	exact   float64 // exactRel Σy²

	r, rN, jac, jacN []float64 // residuals and Jacobians at p and at the trial point
	p, pN            []float64
	a, g             []float64 // J'J (np × np) and J'r
	chol, rhs, d     []float64 // scratch of solve
	free             []int
}

// newSolver checks m and o for np parameters and returns a solver with its workspace.
func newSolver(m Model, np int, o *Options) (*solver, error) {
	if err := checkModel(m, np); err != nil {
		return nil, err
	}
	lo, hi, err := bounds(o, np)
	if err != nil {
		return nil, err
	}
	s := &solver{m: m, n: len(m.X), np: np, lo: lo, hi: hi, maxIter: o.MaxIter, budget: o.Budget}
	switch {
	case o.MaxIter < 0:
		return nil, &InputError{"Options.MaxIter", "is negative"}
	case o.MaxIter == 0:
		s.maxIter = DefaultMaxIter
	}
	tol := o.Tol
	switch {
	case math.IsNaN(tol) || tol < 0 || tol >= 1:
		return nil, &InputError{"Options.Tol", "is not in [0, 1)"}
	case tol == 0:
		tol = DefaultTol
	}
	s.tol2 = tol * tol
	var sumY2 float64
	for _, y := range m.Y {
		sumY2 += y * y
	}
	s.exact = exactRel * sumY2
	n := s.n
	buf := make([]float64, 4*n+2*n*np+3*np*np+5*np)
	take := func(k int) []float64 {
		v := buf[:k:k]
		buf = buf[k:]
		return v
	}
	s.r, s.rN, s.jac, s.jacN = take(n), take(n), take(n*np), take(n*np)
	s.p, s.pN = take(np), take(np)
	s.a, s.g = take(np*np), take(np)
	s.chol, s.rhs, s.d = take(np*np), take(np), take(np)
	s.free = make([]int, 0, np)
	return s, nil
}

// eval fills r with the residuals y − f at p and, when jac is not nil, jac with the n × np
// Jacobian of f row by row. It returns their sum of squares and reports false when p is
// outside the bounds or anything is not finite.
func (s *solver) eval(p, r, jac []float64) (float64, bool) {
	for j, v := range p {
		if !(v >= s.lo[j] && v <= s.hi[j]) || math.IsInf(v, 0) {
			return 0, false
		}
	}
	np := s.np
	var rss float64
	for i, x := range s.m.X {
		var grad []float64
		if jac != nil {
			grad = jac[i*np : (i+1)*np]
		}
		f, ok := s.m.F(p, x, grad)
		if !ok {
			return 0, false
		}
		r[i] = s.m.Y[i] - f
		rss += r[i] * r[i]
		for _, v := range grad {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return 0, false
			}
		}
	}
	return rss, !math.IsNaN(rss) && !math.IsInf(rss, 0)
}

// rssAt returns the residual sum of squares at p, +Inf where the model is not defined; it is
// what Nelder–Mead minimises.
func (s *solver) rssAt(p []float64) float64 {
	if len(p) != s.np {
		return math.Inf(1)
	}
	rss, ok := s.eval(p, s.rN, nil)
	if !ok {
		return math.Inf(1)
	}
	return rss
}

// run is one Levenberg–Marquardt run from p0, which lies within the bounds.
func (s *solver) run(p0 []float64) (Result, error) {
	n, np := s.n, s.np
	p, pN := s.p, s.pN
	r, rN, jac, jacN := s.r, s.rN, s.jac, s.jacN
	a, g := s.a, s.g
	copy(p, p0)
	rss, ok := s.eval(p, r, jac)
	if !ok {
		return Result{}, ErrStart
	}
	result := func(it int, converged bool) Result {
		return Result{P: append([]float64(nil), p...), RSS: rss, Iterations: it, Converged: converged, Active: s.active(p)}
	}
	lambda := lambda0
	markRSS, markPred := rss, math.Inf(1)
	for it := 0; ; it++ {
		// The normal equations J'J δ = J'r.
		clear(a)
		clear(g)
		for i := range n {
			row := jac[i*np : (i+1)*np]
			for j, rj := range row {
				g[j] += rj * r[i]
				for k := 0; k <= j; k++ {
					a[j*np+k] += rj * row[k]
				}
			}
		}
		for j := range np {
			for k := 0; k < j; k++ {
				a[k*np+j] = a[j*np+k]
			}
		}
		// A parameter on a bound that the descent direction g pushes outwards is held there.
		free := s.free[:0]
		for j := range np {
			if (p[j] == s.hi[j] && g[j] > 0) || (p[j] == s.lo[j] && g[j] < 0) {
				continue
			}
			free = append(free, j)
		}
		if len(free) == 0 {
			return result(it, true), nil
		}
		// pred is the reduction of the sum a Gauss–Newton step predicts, g'(J'J)⁻¹g.
		pred, rel := math.Inf(1), math.Inf(1)
		if delta, ok := s.solve(free, 0); ok {
			pred, rel = 0, 0
			for fi, j := range free {
				pred += g[j] * delta[fi]
				rel = math.Max(rel, math.Abs(delta[fi])/math.Max(math.Abs(p[j]), 1e-6))
			}
		}
		if rss <= s.exact || pred <= s.tol2*rss || rel <= stepTol {
			return result(it, true), nil
		}
		switch {
		case it == s.maxIter:
			return result(it, false), ErrMaxIter
		case s.budget != nil && *s.budget <= 0:
			return result(it, false), ErrBudget
		case it > 0 && it%progressWindow == 0:
			if markRSS-rss < progressFraction*markPred {
				return result(it, false), ErrNoOptimum
			}
			markRSS, markPred = rss, pred
		case it == 0:
			markPred = pred
		}
		for {
			if lambda > maxLambda {
				if pred <= stalledRel*rss {
					return result(it, true), nil
				}
				return result(it, false), ErrStalled
			}
			if delta, ok := s.solve(free, lambda); ok {
				copy(pN, p)
				for fi, j := range free {
					pN[j] = math.Min(math.Max(p[j]+delta[fi], s.lo[j]), s.hi[j])
				}
				if rssN, ok := s.eval(pN, rN, jacN); ok && rssN < rss {
					p, pN = pN, p
					r, rN = rN, r
					jac, jacN = jacN, jac
					rss = rssN
					lambda = math.Max(lambda/10, minLambda)
					if s.budget != nil {
						*s.budget--
					}
					break
				}
			}
			lambda *= 10
		}
	}
}

// active returns Result.Active at p, with s.a and s.g those of p.
func (s *solver) active(p []float64) []bool {
	act := make([]bool, s.np)
	all := s.free[:0]
	onBound := false
	for j := range s.np {
		all = append(all, j)
		onBound = onBound || p[j] == s.lo[j] || p[j] == s.hi[j]
	}
	if !onBound {
		return act
	}
	delta, ok := s.solve(all, 0)
	for j := range s.np {
		var out float64 // how far the Gauss–Newton step goes beyond the bound p[j] is on
		switch {
		case p[j] == s.hi[j] && ok:
			out = delta[j]
		case p[j] == s.lo[j] && ok:
			out = -delta[j]
		case p[j] == s.hi[j]:
			out = s.g[j]
		case p[j] == s.lo[j]:
			out = -s.g[j]
		}
		if ok {
			act[j] = out > stepTol*math.Max(math.Abs(p[j]), 1e-6)
		} else {
			act[j] = out > 0
		}
	}
	return act
}

// solve solves (A + λ diag A) δ = g on the free parameters, with A = J'J, through A scaled
// to unit diagonal (a diagonal entry below diagFloor times the largest is raised to that),
// which keeps the system accurate when the parameters differ in scale. It reports false when
// the system is not positive definite or the solution is not finite.
func (s *solver) solve(free []int, lambda float64) ([]float64, bool) {
	np, nf := s.np, len(free)
	a, m, x, d := s.a, s.chol, s.rhs[:nf], s.d[:nf]
	var maxDiag float64
	for _, j := range free {
		maxDiag = math.Max(maxDiag, a[j*np+j])
	}
	if !(maxDiag > 0) || math.IsInf(maxDiag, 0) {
		return nil, false
	}
	for fi, j := range free {
		d[fi] = math.Sqrt(math.Max(a[j*np+j], diagFloor*maxDiag))
	}
	for fi, j := range free {
		for fk, k := range free[:fi+1] {
			m[fi*nf+fk] = a[j*np+k] / (d[fi] * d[fk])
		}
		m[fi*nf+fi] += lambda
		x[fi] = s.g[j] / d[fi]
	}
	// Cholesky m = L L' in the lower triangle, then L z = x and L' w = z.
	for j := range nf {
		sum := m[j*nf+j]
		for k := range j {
			sum -= m[j*nf+k] * m[j*nf+k]
		}
		if !(sum > 0) {
			return nil, false
		}
		m[j*nf+j] = math.Sqrt(sum)
		for i := j + 1; i < nf; i++ {
			v := m[i*nf+j]
			for k := range j {
				v -= m[i*nf+k] * m[j*nf+k]
			}
			m[i*nf+j] = v / m[j*nf+j]
		}
	}
	for i := range nf {
		v := x[i]
		for k := range i {
			v -= m[i*nf+k] * x[k]
		}
		x[i] = v / m[i*nf+i]
	}
	for i := nf - 1; i >= 0; i-- {
		v := x[i]
		for k := i + 1; k < nf; k++ {
			v -= m[k*nf+i] * x[k]
		}
		x[i] = v / m[i*nf+i]
	}
	for i := range nf {
		x[i] /= d[i]
		if math.IsNaN(x[i]) || math.IsInf(x[i], 0) {
			return nil, false
		}
	}
	return x, true
}
