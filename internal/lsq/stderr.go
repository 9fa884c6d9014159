package lsq

import (
	"fmt"
	"math"
)

// rankTol is the tolerance of StdErrors' rank test, that of R's qr() (LINPACK dqrdc2), which
// nls uses: a column of the Jacobian whose part not explained by the columns before it is
// below rankTol times its norm makes the Jacobian singular.
const rankTol = 1e-7

// StdErrors returns the asymptotic standard errors of the parameters p of m as R's
// summary(nls) gives them: sqrt(diag(s² (J'J)⁻¹)), with s² = RSS/(n − len(p)) and J the
// Jacobian of the curve at p. It does not look at bounds: for a parameter fitted on its bound
// it returns the value of the full Jacobian, as nls's "port" algorithm does.
//
// (J'J)⁻¹ comes from the Householder QR decomposition J = QR as R⁻¹R⁻ᵀ, never by forming
// J'J. StdErrors returns an *InputError when m or p cannot be used, and an error wrapping
// ErrNoDF when there are no more points than parameters, ErrStart when the model cannot be
// evaluated at p, or ErrSingular when J is rank deficient to R's tolerance or a standard
// error is not finite. Every value it returns is finite.
func StdErrors(m Model, p []float64) ([]float64, error) {
	np := len(p)
	if err := checkModel(m, np); err != nil {
		return nil, err
	}
	if err := checkVector("p", p, false); err != nil {
		return nil, err
	}
	n := len(m.X)
	if n <= np {
		return nil, fmt.Errorf("%w: %d points for %d parameters", ErrNoDF, n, np)
	}
	// Column-major copy of J for the QR decomposition.
	qr := make([]float64, n*np+np*np+2*np)
	grad, rinv, norm := qr[n*np:n*np+np], qr[n*np+np:n*np+np+np*np], qr[n*np+np+np*np:]
	var rss float64
	for i, x := range m.X {
		f, ok := m.F(p, x, grad)
		if !ok {
			return nil, ErrStart
		}
		for j, v := range grad {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, ErrStart
			}
			qr[j*n+i] = v
		}
		r := m.Y[i] - f
		rss += r * r
	}
	if math.IsNaN(rss) || math.IsInf(rss, 0) {
		return nil, ErrStart
	}
	for j := range np {
		norm[j] = colNorm(qr[j*n : (j+1)*n])
		if !(norm[j] > 0) || math.IsInf(norm[j], 0) {
			return nil, fmt.Errorf("%w: the model does not depend on parameter %d", ErrSingular, j)
		}
	}
	// Householder QR without pivoting; R overwrites the upper triangle.
	for j := range np {
		col := qr[j*n : (j+1)*n]
		alpha := colNorm(col[j:])
		if !(alpha >= rankTol*norm[j]) {
			return nil, fmt.Errorf("%w: parameter %d is not determined", ErrSingular, j)
		}
		if col[j] > 0 {
			alpha = -alpha
		}
		// v = x − alpha e₁ in col[j:], H = I − v v'/(v'v) with v'v = 2 alpha (alpha − x₁).
		col[j] -= alpha
		vv := -alpha * col[j]
		for k := j + 1; k < np; k++ {
			ck := qr[k*n : (k+1)*n]
			var dot float64
			for i := j; i < n; i++ {
				dot += col[i] * ck[i]
			}
			f := dot / vv
			for i := j; i < n; i++ {
				ck[i] -= f * col[i]
			}
		}
		col[j] = alpha // R_jj; the rest of col is no longer needed
	}
	// R⁻¹, upper triangular, row-major in rinv, by back substitution on R X = I.
	rAt := func(i, j int) float64 { return qr[j*n+i] }
	for c := range np {
		for i := c; i >= 0; i-- {
			v := 0.0
			if i == c {
				v = 1
			}
			for k := i + 1; k <= c; k++ {
				v -= rAt(i, k) * rinv[k*np+c]
			}
			rinv[i*np+c] = v / rAt(i, i)
		}
	}
	s2 := rss / float64(n-np)
	se := make([]float64, np)
	for j := range np {
		// (J'J)⁻¹ = R⁻¹R⁻ᵀ, whose j-th diagonal entry is the squared norm of row j of R⁻¹.
		var d float64
		for k := j; k < np; k++ {
			d += rinv[j*np+k] * rinv[j*np+k]
		}
		se[j] = math.Sqrt(s2 * d)
		if math.IsNaN(se[j]) || math.IsInf(se[j], 0) {
			return nil, fmt.Errorf("%w: the standard error of parameter %d is not finite", ErrSingular, j)
		}
	}
	return se, nil
}

// colNorm returns the Euclidean norm of v without overflow or underflow.
func colNorm(v []float64) float64 {
	var scale, ssq float64 = 0, 1
	for _, x := range v {
		if x == 0 {
			continue
		}
		ax := math.Abs(x)
		if scale < ax {
			ssq = 1 + ssq*(scale/ax)*(scale/ax)
			scale = ax
		} else {
			ssq += (ax / scale) * (ax / scale)
		}
	}
	return scale * math.Sqrt(ssq)
}
