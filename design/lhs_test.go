package design

import (
	"math"
	"testing"

	"github.com/clink-consortium/clink"
)

// checkLatin checks that each dimension holds exactly one point in each stratum
// [i/n, (i+1)/n), with the bounds computed as LatinHypercube's doc states them.
func checkLatin(tb testing.TB, pts [][]float64, n, d int) {
	tb.Helper()
	if len(pts) != n {
		tb.Fatalf("got %d points, want %d", len(pts), n)
	}
	for j := range d {
		hit := make([]int, n)
		for i, p := range pts {
			if len(p) != d {
				tb.Fatalf("point %d has %d coordinates, want %d", i, len(p), d)
			}
			k := int(math.Floor(p[j] * float64(n)))
			// Floor of x·n can be off by one from the stratum for x near a boundary;
			// settle it against the exact bounds.
			for k > 0 && p[j] < float64(k)/float64(n) {
				k--
			}
			for k < n-1 && p[j] >= float64(k+1)/float64(n) {
				k++
			}
			if k < 0 || k >= n || p[j] < float64(k)/float64(n) || p[j] >= float64(k+1)/float64(n) {
				tb.Fatalf("dim %d: point %d at %g is in no stratum of [0, 1)", j, i, p[j])
			}
			hit[k]++
		}
		for k, c := range hit {
			if c != 1 {
				tb.Fatalf("dim %d: stratum [%d/%d, %d/%d) holds %d points, want 1", j, k, n, k+1, n, c)
			}
		}
	}
}

func TestLatinHypercubeStratification(t *testing.T) {
	for _, tc := range []struct {
		n, d     int
		restarts int
	}{
		{1, 1, 0}, {2, 3, 0}, {10, 2, 0}, {17, 5, 3}, {100, 8, 0}, {49, 7, 10}, {1000, 3, 0},
	} {
		for seed := range uint64(5) {
			pts, err := LatinHypercube(tc.n, tc.d, LHSOptions{Seed: seed, Restarts: tc.restarts})
			if err != nil {
				t.Fatal(err)
			}
			checkLatin(t, pts, tc.n, tc.d)
		}
	}
}

func TestLatinHypercubeSeeds(t *testing.T) {
	a, _ := LatinHypercube(20, 4, LHSOptions{Seed: 11, Restarts: 5})
	b, _ := LatinHypercube(20, 4, LHSOptions{Seed: 11, Restarts: 5})
	c, _ := LatinHypercube(20, 4, LHSOptions{Seed: 12, Restarts: 5})
	same, differ := true, false
	for i := range a {
		for j := range a[i] {
			same = same && a[i][j] == b[i][j]
			differ = differ || a[i][j] != c[i][j]
		}
	}
	if !same {
		t.Error("the same seed gave different designs")
	}
	if !differ {
		t.Error("seeds 11 and 12 gave the same design")
	}
}

// TestLatinHypercubeMaximin checks that restarts never shrink the smallest distance between
// points: the design with restarts is the best of draws that begin with the one without.
// Over 20 seeds the median smallest distance must grow, as it does unless the restarts are
// ignored.
func TestLatinHypercubeMaximin(t *testing.T) {
	grew := 0
	for seed := range uint64(20) {
		plain, _ := LatinHypercube(30, 4, LHSOptions{Seed: seed})
		better, _ := LatinHypercube(30, 4, LHSOptions{Seed: seed, Restarts: 20})
		dp, db := MinDistance(plain), MinDistance(better)
		if db < dp {
			t.Errorf("seed %d: maximin distance %g is below the plain design's %g", seed, db, dp)
		}
		if db > dp {
			grew++
		}
	}
	if grew < 10 {
		t.Errorf("restarts improved the smallest distance for %d of 20 seeds, want at least 10", grew)
	}
	if d := MinDistance([][]float64{{0, 0}, {3, 4}, {0, 1}}); d != 1 {
		t.Errorf("MinDistance: got %g, want 1", d)
	}
	if d := MinDistance([][]float64{{0.5}}); !math.IsInf(d, 1) {
		t.Errorf("MinDistance of one point: got %g, want +Inf", d)
	}
}

func TestLatinHypercubeErrors(t *testing.T) {
	for _, tc := range []struct {
		n, d int
		opt  LHSOptions
	}{
		{0, 2, LHSOptions{}},
		{5, 0, LHSOptions{}},
		{5, 2, LHSOptions{Restarts: -1}},
		{5, 2, LHSOptions{Restarts: MaxLHSRestarts + 1}},
		{1 << 24, 4, LHSOptions{}},
		{20000, 10, LHSOptions{Restarts: 100}},
	} {
		if _, err := LatinHypercube(tc.n, tc.d, tc.opt); clink.ErrorCode(err) != clink.EINVALID {
			t.Errorf("LatinHypercube(%d, %d, %+v): got %v, want an EINVALID error", tc.n, tc.d, tc.opt, err)
		}
	}
}
