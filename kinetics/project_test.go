package kinetics

import (
	"math"
	"testing"
)

// TestProject checks projections computed by hand.
func TestProject(t *testing.T) {
	tests := []struct {
		name   string
		counts []Count
		day    int
		want   float64 // expected cells; 0 means no projection
		rate   float64
	}{
		// 1e6 on day 0, 4e6 on day 4: ×4 in 4 days, so ×2 more by day 6: 8e6.
		{"doubling every 2 days", []Count{{0, 1e6, 0, 1}, {4, 4e6, 0, 1}}, 6, 8e6, math.Log(4) / 4},
		// A split keeping half on day 4 halves the projection, and the rate after a split
		// counts from the kept cells: 1e6 kept ×0.5 → 2e6 on day 6 is ×4 in 2 days.
		{"after a split", []Count{{0, 1e6, 0, 1}, {4, 4e6, 0, 0.5}}, 6, 4e6, math.Log(4) / 4},
		{"rate from the kept cells", []Count{{0, 2e6, 0, 0.5}, {2, 4e6, 0, 1}}, 4, 16e6, math.Log(4) / 2},
		// Only the two latest counts before the day are used, in day order.
		{"latest two, any order", []Count{{7, 8e6, 0, 1}, {0, 1e6, 0, 1}, {10, 8e6, 0, 1}, {14, 1, 0, 1}}, 14, 8e6, 0},
		{"one count", []Count{{0, 1e6, 0, 1}}, 3, 0, 0},
		{"none before the day", []Count{{5, 1e6, 0, 1}, {7, 2e6, 0, 1}}, 5, 0, 0},
		{"a zero count", []Count{{0, 0, 0, 1}, {4, 4e6, 0, 1}}, 6, 0, 0},
		{"a kept fraction of 0", []Count{{0, 1e6, 0, 0}, {4, 4e6, 0, 1}}, 6, 0, 0},
		{"two counts of one day", []Count{{0, 1e6, 0, 1}, {4, 4e6, 0, 1}, {4, 5e6, 0, 1}}, 6, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, ok := Project(tc.counts, tc.day)
			if tc.want == 0 {
				if ok {
					t.Fatalf("got projection %+v, want none", p)
				}
				return
			}
			if !ok {
				t.Fatalf("got no projection, want %g", tc.want)
			}
			if math.Abs(p.Expected-tc.want) > 1e-9*tc.want || math.Abs(p.Rate-tc.rate) > 1e-12 {
				t.Errorf("got %g cells at rate %g, want %g at %g", p.Expected, p.Rate, tc.want, tc.rate)
			}
		})
	}
}
