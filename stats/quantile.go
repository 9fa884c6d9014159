package stats

import "math"

// Quantile7 is the p-quantile of sorted (ascending) data by R's default definition,
// quantile(x, p, type = 7): with h = 1 + (n − 1)·p, the value at rank ⌊h⌋ moved the fraction
// h − ⌊h⌋ of the way to the value at rank ⌈h⌉. The median of an even count is the mean of the
// two middle values.
//
// Quantile7 returns NaN when sorted is empty (R gives NA) or p is NaN or outside [0, 1]. The data
// must be sorted; Quantile7 does not check.
func Quantile7(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 || !(p >= 0 && p <= 1) {
		return math.NaN()
	}
	index := 1 + float64(n-1)*p
	lo := math.Floor(index)
	hi := math.Ceil(index)
	a, b := sorted[int(lo)-1], sorted[int(hi)-1]
	if !(index > lo) || a == b {
		return a
	}
	h := index - lo
	q := (1-h)*a + h*b
	// Rounding must not carry the result outside its two neighbours (nor overflow near ±MaxFloat64).
	return math.Min(math.Max(q, math.Min(a, b)), math.Max(a, b))
}
