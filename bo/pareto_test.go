package bo

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParetoFront(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		name   string
		points [][]float64
		want   []int
	}{
		{"staircase", [][]float64{{1, 5}, {2, 4}, {3, 3}, {2, 2}, {1, 5}, {0, 6}, {nan, 9}}, []int{0, 1, 2, 5}},
		{"one dominates all", [][]float64{{1, 1}, {3, 3}, {2, 0}}, []int{1}},
		{"ties in one objective", [][]float64{{1, 2}, {1, 3}, {2, 1}}, []int{1, 2}},
		{"three objectives", [][]float64{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {0, 0, 0.5}, {1, 1, 0}}, []int{2, 4}},
		{"empty", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, ParetoFront(tc.points)); diff != "" {
				t.Errorf("ParetoFront (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHypervolume(t *testing.T) {
	for _, tc := range []struct {
		name   string
		points [][]float64
		ref    []float64
		want   float64 // by hand
	}{
		// Strips of x: [2,3]×3 + [1,2]×4 + [0,1]×5.
		{"2-d staircase", [][]float64{{1, 5}, {2, 4}, {3, 3}}, []float64{0, 0}, 12},
		// (3,3) is not above the reference; [1,2]×0.5 + [0.5,1]×1.5.
		{"2-d reference cuts", [][]float64{{1, 5}, {2, 4}, {3, 3}}, []float64{0.5, 3.5}, 1.25},
		{"2-d dominated and repeated points add nothing", [][]float64{{1, 5}, {2, 4}, {3, 3}, {1, 1}, {2, 4}, {0.5, 4.5}}, []float64{0, 0}, 12},
		{"2-d nothing above the reference", [][]float64{{-1, 5}, {2, -4}}, []float64{0, 0}, 0},
		{"2-d on the reference", [][]float64{{0, 5}}, []float64{0, 0}, 0},
		{"1-d", [][]float64{{2}, {3.5}, {1}}, []float64{0.5}, 3},
		{"3-d one box", [][]float64{{1, 2, 3}}, []float64{0, 0, 0}, 6},
		// Inclusion–exclusion: 2 + 2 − 1.
		{"3-d two boxes", [][]float64{{2, 1, 1}, {1, 2, 1}}, []float64{0, 0, 0}, 3},
		// 2 + 2 + 2 − (1 + 1 + 1) + 1.
		{"3-d three boxes", [][]float64{{2, 1, 1}, {1, 2, 1}, {1, 1, 2}}, []float64{0, 0, 0}, 4},
		{"3-d prism of the staircase", [][]float64{{1, 5, 2}, {2, 4, 2}, {3, 3, 2}}, []float64{0, 0, 0}, 24},
		{"4-d unit boxes", [][]float64{{2, 1, 1, 1}, {1, 2, 1, 1}}, []float64{0, 0, 0, 0}, 3},
		{"NaN ignored", [][]float64{{math.NaN(), 9}, {1, 1}}, []float64{0, 0}, 1},
		{"wrong length ignored", [][]float64{{5, 5, 5}, {1, 1}}, []float64{0, 0}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Hypervolume(tc.points, tc.ref); math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("Hypervolume = %g, want %g", got, tc.want)
			}
		})
	}
}

// TestHypervolumeSymmetry checks on random point sets that the hypervolume does not depend on
// the order of the objectives, and that the 2-d sweep and the general slicing agree.
func TestHypervolumeSymmetry(t *testing.T) {
	rng := newRand(11, 0)
	for trial := range 20 {
		n := 1 + trial
		pts := make([][]float64, n)
		for i := range pts {
			pts[i] = []float64{rng.Float64(), rng.Float64(), rng.Float64()}
		}
		ref := []float64{0.1, 0.05, 0}
		base := Hypervolume(pts, ref)
		for _, perm := range [][3]int{{1, 0, 2}, {2, 1, 0}, {1, 2, 0}} {
			q := make([][]float64, n)
			for i, p := range pts {
				q[i] = []float64{p[perm[0]], p[perm[1]], p[perm[2]]}
			}
			r := []float64{ref[perm[0]], ref[perm[1]], ref[perm[2]]}
			if got := Hypervolume(q, r); math.Abs(got-base) > 1e-12 {
				t.Errorf("trial %d: objectives permuted %v: %g, want %g", trial, perm, got, base)
			}
		}
		// A constant third objective of 1 above a reference of 0 gives the 2-d hypervolume.
		var flat, two [][]float64
		for _, p := range pts {
			flat = append(flat, []float64{p[0], p[1], 1})
			two = append(two, p[:2])
		}
		a, b := Hypervolume(flat, []float64{0.1, 0.05, 0}), hv(filterAbove(two, []float64{0.1, 0.05}), []float64{0.1, 0.05})
		if math.Abs(a-b) > 1e-12 {
			t.Errorf("trial %d: 3-d prism %g, 2-d sweep %g", trial, a, b)
		}
	}
}

func filterAbove(pts [][]float64, ref []float64) [][]float64 {
	var out [][]float64
	for _, p := range pts {
		if p[0] > ref[0] && p[1] > ref[1] {
			out = append(out, p)
		}
	}
	if out == nil {
		return [][]float64{{ref[0], ref[1]}}
	}
	return out
}

func TestFront2(t *testing.T) {
	got := front2([][2]float64{{1, 5}, {3, 3}, {2, 4}, {2, 2}, {-1, 9}, {2, 4}}, [2]float64{0, 0})
	want := [][2]float64{{1, 5}, {2, 4}, {3, 3}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("front2 (-want +got):\n%s", diff)
	}
}
