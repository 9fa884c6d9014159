package kinetics

// PeakNK returns the day of the highest virtual NK yield among points and that yield. A tie
// goes to the earliest point; points without a yield are skipped. ok is false when no point
// has a yield.
func PeakNK(points []Point) (day int, yield float64, ok bool) {
	for _, p := range points {
		if p.NKYield == nil {
			continue
		}
		if !ok || *p.NKYield > yield || *p.NKYield == yield && p.Day < day {
			day, yield, ok = p.Day, *p.NKYield, true
		}
	}
	return day, yield, ok
}
