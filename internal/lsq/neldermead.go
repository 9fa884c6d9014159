package lsq

import "math"

// nmMaxEval is the most function evaluations of Fit's Nelder–Mead fallback.
const nmMaxEval = 20000

// nelderMead minimises f from z0 and returns the best point it found. It is the textbook
// simplex method (reflection 1, expansion 2, contraction ½, shrink ½) with an initial simplex
// of +0.5 on each coordinate, stopped after maxEval evaluations or when the values at the
// vertices agree to 1e-15 relative. A value that is not a number, or +Inf, counts as the
// largest float64, so f may mark points it rules out that way. (gonum's optimize package has
// Nelder–Mead too, but it pulls golang.org/x/tools into the module graph.)
func nelderMead(f func(z []float64) float64, z0 []float64, maxEval int) []float64 {
	eval := func(z []float64) float64 {
		v := f(z)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return math.MaxFloat64
		}
		return v
	}
	d := len(z0)
	pts := make([][]float64, d+1)
	vals := make([]float64, d+1)
	for i := range pts {
		pts[i] = append([]float64(nil), z0...)
		if i > 0 {
			pts[i][i-1] += 0.5
		}
		vals[i] = eval(pts[i])
	}
	evals := d + 1
	centroid, trial, trial2 := make([]float64, d), make([]float64, d), make([]float64, d)
	along := func(dst []float64, t float64) { // dst = centroid + t (centroid − worst)
		for j := range dst {
			dst[j] = centroid[j] + t*(centroid[j]-pts[d][j])
		}
	}
	for evals < maxEval {
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
		fr := eval(trial)
		evals++
		switch {
		case fr < vals[0]:
			along(trial2, 2)
			if fe := eval(trial2); fe < fr {
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
			fc := eval(trial2)
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
				vals[i] = eval(pts[i])
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
	return pts[best]
}
