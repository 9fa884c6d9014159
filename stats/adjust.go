package stats

import (
	"cmp"
	"math"
	"slices"
)

// Holm adjusts p-values for multiple comparisons by Holm's step-down method, as R's
// p.adjust(p, method = "holm") does: with the m p-values sorted ascending, the adjusted
// p₍ᵢ₎ = max over j ≤ i of min(1, (m − j + 1)·p₍ⱼ₎). The result is in the order given.
//
// A NaN stands for a missing p-value (R's NA): it stays NaN and does not count in m, as in R.
// Equal p-values keep their input order, as R's order() does.
func Holm(p []float64) []float64 {
	out := make([]float64, len(p))
	idx := make([]int, 0, len(p))
	for i, v := range p {
		out[i] = math.NaN()
		if !math.IsNaN(v) {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(p[a], p[b]) })
	m := len(idx)
	run := math.Inf(-1)
	for r, i := range idx {
		run = math.Max(run, float64(m-r)*p[i])
		out[i] = math.Min(1, run)
	}
	return out
}
