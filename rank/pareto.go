package rank

import (
	"cmp"
	"math"
	"slices"
)

// ParetoPoint is one protocol in objective space. Both objectives are maximised: Yield is
// the yield axis f₁ (log10 median NK fold in a Ranking) and Killing the killing axis f₂
// (log10 median LU30 per 10⁷ NK in a Ranking).
type ParetoPoint struct {
	Yield   float64 `json:"yield"`
	Killing float64 `json:"killing"`
}

// ParetoFront returns the indices of the points that no other point dominates, ordered by
// Yield descending (ties by Killing descending, then by index). Point a dominates b when a is
// at least as good on both objectives and better on one (domain.md §8.3).
//
// It follows the §8.3 sweep: sort by Yield descending, ties by Killing descending, and keep
// each point whose Killing exceeds the best Killing seen so far. A point equal to the last
// point kept on both objectives is kept too, because equal points do not dominate each other.
// Points with a NaN coordinate are never on the front. The result is never nil.
func ParetoFront(points []ParetoPoint) []int {
	order := make([]int, 0, len(points))
	for i, p := range points {
		if !math.IsNaN(p.Yield) && !math.IsNaN(p.Killing) {
			order = append(order, i)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int {
		pa, pb := points[a], points[b]
		if c := cmp.Compare(pb.Yield, pa.Yield); c != 0 {
			return c
		}
		return cmp.Compare(pb.Killing, pa.Killing)
	})
	front := []int{}
	for _, i := range order {
		p := points[i]
		if len(front) == 0 {
			front = append(front, i)
			continue
		}
		last := points[front[len(front)-1]]
		if p.Killing > last.Killing || p == last {
			front = append(front, i)
		}
	}
	return front
}

// Hypervolume returns the area of objective space that the points dominate and that itself
// dominates ref: the union of the rectangles from ref to each point. Points not beyond ref on
// both objectives, and points with a NaN coordinate, add nothing; dominated points add nothing
// either, so front may hold any set of points. An empty front gives 0.
//
// The §8.3 example: P1 (12, 600), P2 (30, 350), P3 (8, 900) against (0, 0) give
// 30·350 + 12·250 + 8·300 = 15,900.
func Hypervolume(front []ParetoPoint, ref ParetoPoint) float64 {
	pts := make([]ParetoPoint, 0, len(front))
	for _, p := range front {
		if p.Yield > ref.Yield && p.Killing > ref.Killing {
			pts = append(pts, p)
		}
	}
	slices.SortFunc(pts, func(a, b ParetoPoint) int {
		if c := cmp.Compare(b.Yield, a.Yield); c != 0 {
			return c
		}
		return cmp.Compare(b.Killing, a.Killing)
	})
	area := 0.0
	level := ref.Killing // highest Killing covered so far
	for _, p := range pts {
		if p.Killing > level {
			area += (p.Yield - ref.Yield) * (p.Killing - level)
			level = p.Killing
		}
	}
	return area
}
