package kinetics

import "math"

// minWindowPoints is the fewest points a given window needs: the confidence interval of μ has
// n − 2 degrees of freedom.
const minWindowPoints = 3

// givenDoublingTime fits the doubling time over a window the caller chose (§5.2 "or a given
// window"), on the NK series when it has enough points there and else on total cells, like
// the automatic choice. No R² threshold applies; the fit's R² is reported.
func givenDoublingTime(m Metrics, nkSeeded, totalSeeded bool, w [2]int, note func(string, ...any)) *DoublingTime {
	from, to := w[0], w[1]
	if from < 0 || to < from {
		note("given window days %d..%d is not a window (0 <= first day <= last day): no doubling time", from, to)
		return nil
	}
	basis := BasisNK
	s := virtualTotals(m, BasisNK, nkSeeded).within(from, to)
	if len(s.t) < minWindowPoints {
		basis = BasisTotal
		s = virtualTotals(m, BasisTotal, totalSeeded).within(from, to)
		if len(s.t) >= minWindowPoints {
			note("NK cells measured at fewer than %d points in the given window: doubling time on total cells", minWindowPoints)
		}
	}
	if len(s.t) < minWindowPoints {
		note("fewer than %d points with cell numbers in the given window days %d..%d: no doubling time", minWindowPoints, from, to)
		return nil
	}
	f, ok := fitLine(s.t, s.y)
	if !ok {
		note("the given window days %d..%d has all its points on one day: no doubling time", from, to)
		return nil
	}
	n := len(s.t) - 1
	dt := &DoublingTime{Basis: basis, FromDay: s.day[0], ToDay: s.day[n], Points: n + 1}
	if !f.fill(dt) {
		note("no growth")
		return nil
	}
	note("doubling time over the given window days %d..%d (R² %.4g), not the automatic choice", from, to, dt.R2)
	return dt
}

// within returns the part of s from day from to day to, inclusive.
func (s series) within(from, to int) series {
	var out series
	for i, d := range s.day {
		if d >= from && d <= to {
			out.day = append(out.day, d)
			out.t = append(out.t, s.t[i])
			out.y = append(out.y, s.y[i])
		}
	}
	return out
}

// cells returns the virtual totals of s (e to the ln values it holds).
func (s series) cells() []float64 {
	out := make([]float64, len(s.y))
	for i, y := range s.y {
		out[i] = math.Exp(y)
	}
	return out
}
