package kinetics

import "math"

// Projection is what a culture's two latest counts before a day predict for it: the cells
// kept after the later count, grown exponentially at the rate between the two counts.
type Projection struct {
	FromDay, LastDay int     // the two counts used
	Rate             float64 // per day, natural log: ln(next / (previous × kept)) / days
	Day              int     // the day projected
	Expected         float64 // viable cells expected on Day
}

// Project extrapolates viable cells to day from the last two counts before it (counts may come
// in any order; later ones are ignored; NKFraction is not used). It reports false when there are
// fewer than two earlier counts, or one of them is not a positive finite number or keeps a
// fraction outside (0, 1]. A count 10 times off its projection is worth a second look before
// it is saved.
func Project(counts []Count, day int) (Projection, bool) {
	var prev, last *Count
	for i := range counts {
		c := &counts[i]
		if c.Day >= day {
			continue
		}
		switch {
		case last == nil || c.Day > last.Day:
			prev, last = last, c
		case c.Day == last.Day:
			return Projection{}, false // two counts of one day: no trend to trust
		case prev == nil || c.Day > prev.Day:
			prev = c
		}
	}
	if prev == nil || prev.Day == last.Day {
		return Projection{}, false
	}
	for _, c := range []*Count{prev, last} {
		if !(c.ViableCells > 0) || math.IsInf(c.ViableCells, 0) || !(c.KeptFraction > 0 && c.KeptFraction <= 1) {
			return Projection{}, false
		}
	}
	rate := math.Log(last.ViableCells/(prev.ViableCells*prev.KeptFraction)) / float64(last.Day-prev.Day)
	exp := last.ViableCells * last.KeptFraction * math.Exp(rate*float64(day-last.Day))
	if math.IsInf(exp, 0) || math.IsNaN(exp) {
		return Projection{}, false
	}
	return Projection{FromDay: prev.Day, LastDay: last.Day, Rate: rate, Day: day, Expected: exp}, true
}
