package gp

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// validX reports whether x has one finite value per coordinate. Categorical values need not be
// valid levels: a value that is no level differs from every level.
func (m *Model) validX(x []float64) bool {
	if len(x) != m.d.dim() {
		return false
	}
	for _, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// Predict returns the posterior mean and variance of the latent f(x) (no noise, no donor
// effect), original units. The mean includes the constant mean μ. Both are NaN when x does not
// have one finite value per coordinate.
func (m *Model) Predict(x []float64) (mean, variance float64) {
	if !m.validX(x) {
		return math.NaN(), math.NaN()
	}
	var mu [1]float64
	v := m.at(x, [][]float64{m.fac.alpha}, mu[:])
	return mu[0], v
}

// at is Predict for several weight vectors α_s of the same factorisation (Shared): it fills
// mean[s] for each and returns the variance, original units. x must be valid.
func (m *Model) at(x []float64, alphas [][]float64, mean []float64) float64 {
	d := m.d
	x = d.warpX(x)
	ks := make([]float64, d.n())
	for i, xi := range d.X {
		ks[i] = d.cov(x, xi, m.p)
	}
	for s, a := range alphas {
		mean[s] = d.ym + d.ys*(m.p.mean+dot(a, ks))
	}
	m.fac.halfSolve(ks)
	v := d.cov(x, x, m.p) - dot(ks, ks)
	return max(v, 0) * d.ys * d.ys
}

// PredictGrad returns what Predict returns and also fills dmean and dvar (len(x)) with the
// derivatives of the mean and variance with respect to the continuous coordinates of x (zero
// for categorical ones). Where the variance is clamped at 0 its derivative is that of the
// unclamped expression. With an invalid x, or dmean or dvar of the wrong length, everything
// is NaN (and the slices of the right length are filled with NaN).
func (m *Model) PredictGrad(x []float64, dmean, dvar []float64) (mean, variance float64) {
	dim := m.d.dim()
	if !m.validX(x) || len(dmean) != dim || len(dvar) != dim {
		for _, s := range [][]float64{dmean, dvar} {
			if len(s) == dim {
				for i := range s {
					s[i] = math.NaN()
				}
			}
		}
		return math.NaN(), math.NaN()
	}
	var mu [1]float64
	v := m.gradAt(x, [][]float64{m.fac.alpha}, mu[:], [][]float64{dmean}, dvar)
	return mu[0], v
}

// gradAt is PredictGrad for several weight vectors α_s of the same factorisation (Shared):
// it fills mean[s] and dmean[s] for each, dvar once, and returns the variance, original units.
// x must be valid and the slices of the right lengths.
func (m *Model) gradAt(x []float64, alphas [][]float64, mean []float64, dmean [][]float64, dvar []float64) float64 {
	d, p := m.d, m.p
	if d.warp != nil {
		raw := x
		x = d.warpX(x)
		defer func() {
			for _, k := range d.cont {
				g := kumaraswamyDeriv(raw[k], d.warp[k])
				dvar[k] *= g
				for s := range dmean {
					dmean[s][k] *= g
				}
			}
		}()
	}
	n := d.n()
	nc, nk := len(d.cont), len(d.cat)
	ks := make([]float64, 2*n+n*nc)
	w := ks[n : 2*n]
	// dk[i·nc + c] is ∂k*_i/∂x_k for the c-th continuous coordinate k.
	dk := ks[2*n:]
	ks = ks[:n]
	for i, xi := range d.X {
		var r2 float64
		for _, k := range d.cont {
			t := (x[k] - xi[k]) / p.ls[k]
			r2 += t * t
		}
		mk, gk := matern52Grad(math.Sqrt(r2), r2)
		cf := p.s2
		if nk > 0 {
			var h float64
			for _, j := range d.cat {
				if x[j] != xi[j] {
					h += 1 / p.ls[j]
				}
			}
			cf *= math.Exp(-h / float64(nk))
		}
		ks[i] = cf * mk
		if g := -cf * gk; g != 0 { // else dk stays 0 (beyond maxR, where x − X_i may be huge)
			for c, k := range d.cont {
				dk[i*nc+c] = g * (x[k] - xi[k]) / (p.ls[k] * p.ls[k])
			}
		}
		if p.lin > 0 {
			ks[i] += p.lin * d.linDot(x, xi)
			for c, k := range d.cont {
				dk[i*nc+c] += p.lin * (xi[k] - 0.5)
			}
		}
		if p.main > 0 {
			ks[i] += p.main * d.matches(x, xi)
		}
	}
	for s, alpha := range alphas {
		mean[s] = d.ym + d.ys*(p.mean+dot(alpha, ks))
		dm := dmean[s]
		clear(dm)
		for c, k := range d.cont {
			var gm float64
			for i := range n {
				gm += alpha[i] * dk[i*nc+c]
			}
			dm[k] = d.ys * gm
		}
	}
	copy(w, ks)
	m.fac.halfSolve(w)
	v := d.cov(x, x, p) - dot(w, w)
	blas64.Trsv(blas.NoTrans, m.fac.u, blas64.Vector{N: n, Inc: 1, Data: w}) // w = K⁻¹k*
	clear(dvar)
	for c, k := range d.cont {
		var gv float64
		for i := range n {
			gv += w[i] * dk[i*nc+c]
		}
		dvar[k] = -2 * gv * d.ys * d.ys
		if p.lin > 0 {
			dvar[k] += 2 * p.lin * (x[k] - 0.5) * d.ys * d.ys
		}
	}
	return max(v, 0) * d.ys * d.ys
}

// PredictJoint returns the joint posterior of f at the rows of X: mean vector and covariance
// (n×n), original units. It returns nil, nil when a row does not have one finite value per
// coordinate or X is empty.
func (m *Model) PredictJoint(X [][]float64) (mean []float64, cov *mat.SymDense) {
	q := len(X)
	if q == 0 {
		return nil, nil
	}
	for _, x := range X {
		if !m.validX(x) {
			return nil, nil
		}
	}
	d, p := m.d, m.p
	n := d.n()
	if d.warp != nil {
		W := make([][]float64, q)
		for a, x := range X {
			W[a] = d.warpX(x)
		}
		X = W
	}
	// V = U⁻ᵀ K(X_train, X), n×q.
	V := blas64.General{Rows: n, Cols: q, Stride: q, Data: make([]float64, n*q)}
	mean = make([]float64, q)
	for a, x := range X {
		mu := p.mean
		for i, xi := range d.X {
			k := d.cov(x, xi, p)
			V.Data[i*q+a] = k
			mu += m.fac.alpha[i] * k
		}
		mean[a] = d.ym + d.ys*mu
	}
	blas64.Trsm(blas.Left, blas.Trans, 1, m.fac.u, V)
	// cov = s² K(X, X) − VᵀV.
	C := blas64.Symmetric{Uplo: blas.Upper, N: q, Stride: q, Data: make([]float64, q*q)}
	for a := range q {
		for b := a; b < q; b++ {
			C.Data[a*q+b] = d.cov(X[a], X[b], p)
		}
	}
	blas64.Syrk(blas.Trans, -1, V, 1, C)
	s2 := d.ys * d.ys
	for a := range q {
		for b := a; b < q; b++ {
			C.Data[a*q+b] *= s2
		}
		C.Data[a*q+a] = max(C.Data[a*q+a], 0)
	}
	cov = mat.NewSymDense(q, nil)
	cov.SetRawSymmetric(C)
	return mean, cov
}

// Condition returns a new model with the same hyperparameters conditioned also on (Xnew, ynew)
// (fantasies / pending points); groups of the new points are -1 and their known noise
// variance (when Config.NoiseVar was given) is 0, so they carry the fitted noise only. The
// factorisation is extended by the new rows in O(n²q) when that is numerically sound, else
// recomputed. m is not changed.
func (m *Model) Condition(Xnew [][]float64, ynew []float64) (*Model, error) {
	e, err := m.d.with(Xnew, ynew)
	if err != nil {
		return nil, err
	}
	nm := &Model{d: e, p: m.p}
	if len(Xnew) == 0 {
		nm.fac = m.fac
		nm.fac.alpha = append([]float64(nil), m.fac.alpha...)
		nm.lml = m.lml
		return nm, nil
	}
	if m.extend(nm) && nm.finish() == nil {
		return nm, nil
	}
	K := mat.NewSymDense(e.n(), nil)
	e.covariance(K, m.p)
	if err := nm.fac.factorize(K); err != nil {
		return nil, err
	}
	if err := nm.finish(); err != nil {
		return nil, err
	}
	return nm, nil
}

// extend sets nm's factorisation to m's extended by nm's extra rows:
//
//	U = [U₁₁ U₁₂; 0 U₂₂],  U₁₂ = U₁₁⁻ᵀ K₁₂,  U₂₂ᵀU₂₂ = K₂₂ + jitter·I − U₁₂ᵀU₁₂,
//
// keeping m's jitter. It reports false when K₂₂ − U₁₂ᵀU₁₂ is not positive definite or the
// result is too ill-conditioned.
func (m *Model) extend(nm *Model) bool {
	n, N := m.d.n(), nm.d.n()
	q := N - n
	p, e := m.p, nm.d
	U := blas64.Triangular{Uplo: blas.Upper, Diag: blas.NonUnit, N: N, Stride: N, Data: make([]float64, N*N)}
	for i := range n {
		copy(U.Data[i*N+i:i*N+n], m.fac.u.Data[i*m.fac.u.Stride+i:i*m.fac.u.Stride+n])
	}
	// U₁₂ = U₁₁⁻ᵀ K₁₂, in place in the top-right block.
	B := blas64.General{Rows: n, Cols: q, Stride: N, Data: U.Data[n:]}
	for i := range n {
		for a := range q {
			// The new points have no group, so no donor covariance.
			B.Data[i*N+a] = e.cov(e.X[i], e.X[n+a], p)
		}
	}
	blas64.Trsm(blas.Left, blas.Trans, 1, m.fac.u, B)
	// S = K₂₂ − U₁₂ᵀU₁₂ in the bottom-right block, then its Cholesky factor.
	S := blas64.Symmetric{Uplo: blas.Upper, N: q, Stride: N, Data: U.Data[n*N+n:]}
	for a := range q {
		for b := a; b < q; b++ {
			v := e.cov(e.X[n+a], e.X[n+b], p)
			if a == b {
				v += p.noise + m.fac.jitter
				if e.nv != nil {
					v += e.nv[n+a]
				}
			}
			S.Data[a*N+b] = v
		}
	}
	blas64.Syrk(blas.Trans, -1, B, 1, S)
	var sc mat.Cholesky
	Ssym := mat.NewSymDense(q, nil)
	for a := range q {
		for b := a; b < q; b++ {
			Ssym.SetSym(a, b, S.Data[a*N+b])
		}
	}
	if !sc.Factorize(Ssym) || !(sc.Cond() <= maxCond) {
		return false
	}
	su := sc.RawU().(*mat.TriDense).RawTriangular()
	for a := range q {
		for b := a; b < q; b++ {
			S.Data[a*N+b] = su.Data[a*su.Stride+b]
		}
	}
	var t mat.TriDense
	t.SetRawTriangular(U)
	nm.fac.chol.SetFromU(&t)
	if !(nm.fac.chol.Cond() <= maxCond) {
		return false
	}
	nm.fac.u = nm.fac.chol.RawU().(*mat.TriDense).RawTriangular()
	nm.fac.jitter = m.fac.jitter
	return true
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
