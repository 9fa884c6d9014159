package gating

import (
	"errors"
	"fmt"
	"math"
)

// cmatrix is a compensation ready to apply: compensated value j of an event is
// sum_i o_i M[i][j] over the detectors i, summed in detector order (flow.md section 2).
type cmatrix struct {
	id        string // the spectrumMatrix id, or FCSSpillover
	detectors []string
	outputs   []string    // fluorochrome names (for FCSSpillover: the detector names)
	m         [][]float64 // len(detectors) x len(outputs)
	square    bool
}

// index returns the output index of name: a fluorochrome, or for a square matrix a detector
// (the fluorochrome of the same index).
func (c *cmatrix) index(name string) (int, bool) {
	for j, o := range c.outputs {
		if o == name {
			return j, true
		}
	}
	if c.square {
		for j, d := range c.detectors {
			if d == name {
				return j, true
			}
		}
	}
	return 0, false
}

func (c *cmatrix) isDetector(name string) bool {
	for _, d := range c.detectors {
		if d == name {
			return true
		}
	}
	return false
}

// compileMatrix checks a spectrum matrix and turns it into a compensation matrix: the inverse
// of a square spillover, the pseudo-inverse S^T (S S^T)^-1 of a spectrum with more detectors
// than fluorochromes, or the coefficients themselves when they are inverted already.
func compileMatrix(sm *SpectrumMatrix) (*cmatrix, error) {
	k, n := len(sm.Fluorochromes), len(sm.Detectors)
	if k == 0 {
		return nil, errors.New("has no fluorochromes")
	}
	if n == 0 {
		return nil, errors.New("has no detectors")
	}
	if err := uniqueNames("fluorochrome", sm.Fluorochromes); err != nil {
		return nil, err
	}
	if err := uniqueNames("detector", sm.Detectors); err != nil {
		return nil, err
	}
	if k > n {
		return nil, fmt.Errorf("has %d fluorochromes but only %d detectors: unmixing needs at least as many detectors", k, n)
	}
	rows, cols, what := k, n, "fluorochrome"
	if sm.InvertedAlready {
		rows, cols, what = n, k, "detector"
	}
	if len(sm.Coefficients) != rows {
		return nil, fmt.Errorf("has %d spectrum rows, want %d (one per %s)", len(sm.Coefficients), rows, what)
	}
	for i, row := range sm.Coefficients {
		if len(row) != cols {
			return nil, fmt.Errorf("spectrum %d has %d coefficients, want %d", i+1, len(row), cols)
		}
		for j, v := range row {
			if !finite(v) {
				return nil, fmt.Errorf("spectrum %d coefficient %d is %v", i+1, j+1, v)
			}
		}
	}
	c := &cmatrix{id: sm.ID, detectors: sm.Detectors, outputs: sm.Fluorochromes, square: k == n}
	switch {
	case sm.InvertedAlready:
		c.m = sm.Coefficients
	case k == n:
		inv, ok := invert(sm.Coefficients)
		if !ok {
			return nil, errors.New("is singular")
		}
		c.m = inv
	default:
		pinv, ok := pseudoInverse(sm.Coefficients)
		if !ok {
			return nil, errors.New("has linearly dependent spectra: S S^T is singular")
		}
		c.m = pinv
	}
	return c, nil
}

// spilloverMatrix makes the compensation of a sample's spillover keyword.
func spilloverMatrix(detectors []string, m [][]float64) (*cmatrix, error) {
	n := len(detectors)
	if n == 0 {
		return nil, errors.New("names no detector")
	}
	if err := uniqueNames("detector", detectors); err != nil {
		return nil, err
	}
	if len(m) != n {
		return nil, fmt.Errorf("has %d rows for %d detectors", len(m), n)
	}
	for i, row := range m {
		if len(row) != n {
			return nil, fmt.Errorf("row %d has %d values for %d detectors", i+1, len(row), n)
		}
		for j, v := range row {
			if !finite(v) {
				return nil, fmt.Errorf("value (%d, %d) is %v", i+1, j+1, v)
			}
		}
	}
	inv, ok := invert(m)
	if !ok {
		return nil, errors.New("is singular")
	}
	return &cmatrix{id: FCSSpillover, detectors: detectors, outputs: detectors, m: inv, square: true}, nil
}

func uniqueNames(what string, names []string) error {
	seen := map[string]bool{}
	for _, s := range names {
		if s == "" {
			return fmt.Errorf("a %s name is empty", what)
		}
		if !validText(s) {
			return fmt.Errorf("%s name %q holds a character XML cannot carry", what, s)
		}
		if seen[s] {
			return fmt.Errorf("%s %q appears twice", what, s)
		}
		seen[s] = true
	}
	return nil
}

// invert returns the inverse of the square matrix a, computed as the solution of A X = I by LU
// decomposition with partial pivoting (as R's solve(A) does), and false when a is singular or
// the inverse is not finite.
func invert(a [][]float64) ([][]float64, bool) {
	n := len(a)
	lu := make([][]float64, n)
	for i := range a {
		if len(a[i]) != n {
			return nil, false
		}
		lu[i] = append([]float64(nil), a[i]...)
	}
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	var maxAbs float64
	for _, row := range a {
		for _, v := range row {
			maxAbs = math.Max(maxAbs, math.Abs(v))
		}
	}
	if maxAbs == 0 {
		return nil, false
	}
	for k := 0; k < n; k++ {
		p := k
		for i := k + 1; i < n; i++ {
			if math.Abs(lu[i][k]) > math.Abs(lu[p][k]) {
				p = i
			}
		}
		// A pivot at rounding level of the matrix's scale means numerically singular.
		if math.Abs(lu[p][k]) <= maxAbs*float64(n)*0x1p-52 {
			return nil, false
		}
		lu[k], lu[p] = lu[p], lu[k]
		perm[k], perm[p] = perm[p], perm[k]
		r := 1 / lu[k][k] // LAPACK's dgetrf2 scales the column by the reciprocal
		for i := k + 1; i < n; i++ {
			lu[i][k] *= r
			f := lu[i][k]
			for j := k + 1; j < n; j++ {
				lu[i][j] -= float64(f * lu[k][j])
			}
		}
	}
	inv := make([][]float64, n)
	for i := range inv {
		inv[i] = make([]float64, n)
	}
	col := make([]float64, n)
	for j := 0; j < n; j++ {
		// Solve L U x = P e_j.
		for i := 0; i < n; i++ {
			if perm[i] == j {
				col[i] = 1
			} else {
				col[i] = 0
			}
		}
		for i := 0; i < n; i++ {
			s := col[i]
			for m := 0; m < i; m++ {
				s -= float64(lu[i][m] * col[m])
			}
			col[i] = s
		}
		for i := n - 1; i >= 0; i-- {
			s := col[i]
			for m := n - 1; m > i; m-- { // dtrsm's order
				s -= float64(lu[i][m] * col[m])
			}
			col[i] = s / lu[i][i]
		}
		for i := 0; i < n; i++ {
			if !finite(col[i]) {
				return nil, false
			}
			inv[i][j] = col[i]
		}
	}
	return inv, true
}

// pseudoInverse returns pinv(S) = S^T (S S^T)^-1 (n x k) for a k x n spectrum with k < n, the
// ordinary least-squares unmixing matrix.
func pseudoInverse(s [][]float64) ([][]float64, bool) {
	k, n := len(s), len(s[0])
	g := make([][]float64, k)
	for i := range g {
		g[i] = make([]float64, k)
		for j := range g[i] {
			var v float64
			for m := 0; m < n; m++ {
				v += float64(s[i][m] * s[j][m])
			}
			g[i][j] = v
		}
	}
	gi, ok := invert(g)
	if !ok {
		return nil, false
	}
	p := make([][]float64, n)
	for i := range p {
		p[i] = make([]float64, k)
		for j := range p[i] {
			var v float64
			for m := 0; m < k; m++ {
				v += float64(s[m][i] * gi[m][j])
			}
			p[i][j] = v
		}
	}
	return p, true
}
