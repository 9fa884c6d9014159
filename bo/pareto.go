package bo

import (
	"math"
	"sort"
)

// dominates reports whether a Pareto-dominates b under maximisation: a is at least as good in
// every objective and better in one.
func dominates(a, b []float64) bool {
	better := false
	for k := range a {
		if a[k] < b[k] {
			return false
		}
		if a[k] > b[k] {
			better = true
		}
	}
	return better
}

// ParetoFront returns the indices, in increasing order, of the points that no other point
// dominates (every objective maximised). Of several equal points only the first is kept.
// Points with a NaN coordinate are never on the front.
func ParetoFront(points [][]float64) []int {
	var front []int
outer:
	for i, p := range points {
		for _, v := range p {
			if math.IsNaN(v) {
				continue outer
			}
		}
		for j, q := range points {
			if j == i || hasNaN(q) {
				continue
			}
			if dominates(q, p) || (j < i && equal(q, p)) {
				continue outer
			}
		}
		front = append(front, i)
	}
	return front
}

func hasNaN(p []float64) bool {
	for _, v := range p {
		if math.IsNaN(v) {
			return true
		}
	}
	return false
}

func equal(a, b []float64) bool {
	for k := range a {
		if a[k] != b[k] {
			return false
		}
	}
	return true
}

// Hypervolume returns the volume of the region that the points dominate and that dominates
// the reference point ref (every objective maximised): the Lebesgue measure of
// ∪_i [ref, p_i]. Points that do not strictly exceed ref in every objective add nothing, as do
// points with NaN coordinates. Two objectives take an O(n log n) sweep; more take the exact
// recursive slicing over the last objective (Hypervolume by Slicing Objectives, While et al.
// 2006, IEEE Trans Evol Comput 10:29), fine for the few objectives and points of a campaign.
func Hypervolume(points [][]float64, ref []float64) float64 {
	var kept [][]float64
	for _, p := range points {
		if len(p) != len(ref) || hasNaN(p) {
			continue
		}
		in := true
		for k := range p {
			if !(p[k] > ref[k]) {
				in = false
				break
			}
		}
		if in {
			kept = append(kept, p)
		}
	}
	if len(kept) == 0 {
		return 0
	}
	return hv(kept, ref)
}

// hv is the hypervolume of points that all strictly exceed ref.
func hv(points [][]float64, ref []float64) float64 {
	d := len(ref)
	switch d {
	case 1:
		best := ref[0]
		for _, p := range points {
			best = math.Max(best, p[0])
		}
		return best - ref[0]
	case 2:
		return hv2(points, ref)
	}
	// Slice along the last objective: between consecutive distinct values of it, the points
	// at or above the slice's top project to a (d−1)-dimensional set.
	sorted := append([][]float64(nil), points...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i][d-1] > sorted[j][d-1] })
	var vol float64
	proj := make([][]float64, 0, len(sorted))
	for i, p := range sorted {
		proj = append(proj, p[:d-1])
		lower := ref[d-1]
		if i+1 < len(sorted) {
			lower = sorted[i+1][d-1]
		}
		if h := p[d-1] - lower; h > 0 {
			vol += h * hv(proj, ref[:d-1])
		}
	}
	return vol
}

// hv2 is the two-objective hypervolume by a sweep in decreasing first objective.
func hv2(points [][]float64, ref []float64) float64 {
	sorted := append([][]float64(nil), points...)
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i][0] != sorted[j][0] {
			return sorted[i][0] > sorted[j][0]
		}
		return sorted[i][1] > sorted[j][1]
	})
	var vol float64
	top := ref[1] // the highest second objective seen so far
	for i, p := range sorted {
		if p[1] > top {
			top = p[1]
		}
		next := ref[0]
		if i+1 < len(sorted) {
			next = sorted[i+1][0]
		}
		vol += (p[0] - next) * (top - ref[1])
	}
	return vol
}

// front2 returns the two-objective Pareto front of the points that strictly exceed ref, as
// a staircase sorted by increasing first objective (and so decreasing second).
func front2(points [][2]float64, ref [2]float64) [][2]float64 {
	var kept [][2]float64
	for _, p := range points {
		if p[0] > ref[0] && p[1] > ref[1] {
			kept = append(kept, p)
		}
	}
	sort.Slice(kept, func(i, j int) bool {
		if kept[i][0] != kept[j][0] {
			return kept[i][0] > kept[j][0]
		}
		return kept[i][1] > kept[j][1]
	})
	var front [][2]float64
	top := math.Inf(-1)
	for _, p := range kept {
		if p[1] > top {
			front = append(front, p)
			top = p[1]
		}
	}
	for i, j := 0, len(front)-1; i < j; i, j = i+1, j-1 {
		front[i], front[j] = front[j], front[i]
	}
	return front
}
