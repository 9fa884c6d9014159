package rank

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// The worked example of domain.md §8.3 (doses, LU20): P1 (12, 600), P2 (30, 350), P3 (8, 900),
// P4 (25, 300), P5 (10, 500). The front is {P2, P1, P3}; P4 is dominated by P2 and P5 by P1;
// the hypervolume against (0, 0) on the raw scale is 30·350 + 12·250 + 8·300 = 15,900.
var section83 = []ParetoPoint{{12, 600}, {30, 350}, {8, 900}, {25, 300}, {10, 500}}

func TestParetoFront(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name   string
		points []ParetoPoint
		want   []int
	}{
		{"§8.3 worked example", section83, []int{1, 0, 2}},
		{"empty", nil, []int{}},
		{"one point", []ParetoPoint{{1, 1}}, []int{0}},
		{"equal yield, lower killing is dominated", []ParetoPoint{{10, 3}, {10, 5}}, []int{1}},
		{"equal killing, lower yield is dominated", []ParetoPoint{{8, 5}, {10, 5}}, []int{1}},
		{"equal points do not dominate each other", []ParetoPoint{{10, 5}, {4, 9}, {10, 5}}, []int{0, 2, 1}},
		{"NaN is never on the front", []ParetoPoint{{nan, 100}, {1, 1}, {2, nan}}, []int{1}},
		{"infinities compare", []ParetoPoint{{math.Inf(-1), 5}, {0, 1}}, []int{1, 0}},
		{"a chain", []ParetoPoint{{1, 1}, {2, 2}, {3, 3}}, []int{2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ParetoFront(tc.points); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestParetoFrontBruteForce compares the sweep with the definition of dominance on random
// points from a coarse grid, where ties are common.
func TestParetoFrontBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 3))
	for trial := range 500 {
		pts := make([]ParetoPoint, 1+r.IntN(12))
		for i := range pts {
			pts[i] = ParetoPoint{float64(r.IntN(5)), float64(r.IntN(5))}
		}
		var want []int
		for i, p := range pts {
			dominated := false
			for _, q := range pts {
				if q.Yield >= p.Yield && q.Killing >= p.Killing && (q.Yield > p.Yield || q.Killing > p.Killing) {
					dominated = true
				}
			}
			if !dominated {
				want = append(want, i)
			}
		}
		got := ParetoFront(pts)
		sorted := slices.Sorted(slices.Values(got))
		if !slices.Equal(sorted, want) {
			t.Fatalf("trial %d, points %v: got front %v, want %v", trial, pts, got, want)
		}
		for k := 1; k < len(got); k++ {
			if pts[got[k]].Yield > pts[got[k-1]].Yield {
				t.Fatalf("trial %d: got order %v, want yield descending", trial, got)
			}
		}
	}
}

func TestHypervolume(t *testing.T) {
	tests := []struct {
		name  string
		front []ParetoPoint
		ref   ParetoPoint
		want  float64
	}{
		{"§8.3 front", []ParetoPoint{{30, 350}, {12, 600}, {8, 900}}, ParetoPoint{}, 15900},
		{"§8.3 all points: dominated ones add nothing", section83, ParetoPoint{}, 15900},
		// Against (10, 400): P2 30×350 is below the reference's killing; P1 gives (12−10)×(600−400)
		// and P3 is below its yield: 400.
		{"§8.3 against (10, 400)", section83, ParetoPoint{10, 400}, 400},
		{"empty", nil, ParetoPoint{}, 0},
		{"one point", []ParetoPoint{{2, 3}}, ParetoPoint{1, 1}, 2},
		{"all below the reference", []ParetoPoint{{2, 3}}, ParetoPoint{5, 5}, 0},
		{"NaN adds nothing", []ParetoPoint{{math.NaN(), 3}, {2, 3}}, ParetoPoint{}, 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Hypervolume(tc.front, tc.ref); math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("got %g, want %g", got, tc.want)
			}
		})
	}
}

// TestHypervolumeGrid checks the sweep against counting unit cells: with integer points and
// reference (0, 0), the dominated area is the number of cells [x, x+1)×[y, y+1) that lie below
// and left of some point.
func TestHypervolumeGrid(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	for trial := range 300 {
		pts := make([]ParetoPoint, r.IntN(8))
		for i := range pts {
			pts[i] = ParetoPoint{float64(r.IntN(9)), float64(r.IntN(9))}
		}
		cells := 0
		for x := range 9 {
			for y := range 9 {
				for _, p := range pts {
					if float64(x) < p.Yield && float64(y) < p.Killing {
						cells++
						break
					}
				}
			}
		}
		if got := Hypervolume(pts, ParetoPoint{}); got != float64(cells) {
			t.Fatalf("trial %d, points %v: got %g, want %d", trial, pts, got, cells)
		}
	}
}
