package http_test

import (
	"math"
	"testing"

	"github.com/clink-consortium/clink"
)

// TestCultureMetrics checks the kinetics answered for a split culture against the worked
// example of domain.md §5.1 (NK counts; every count is 100 % NK):
//
//	d0 -> d7:  seeded 1.0e6, counted 2.0e7, reseeded 5.0e6 (kept 0.25)      fold 20
//	d7 -> d14: seeded 5.0e6, counted 6.0e7, reseeded 1.0e7 (kept 1/6)       fold 12
//	d14 -> d21: seeded 1.0e7, counted 5.0e7                                  fold 5
//
// cumulative fold 1,200, cumulative PD log2(1200) = 10.23, virtual total 1.2e9 NK cells.
// A voided observation must not count.
func TestCultureMetrics(t *testing.T) {
	f := newFixture(t)
	obs := []clink.Observation{
		{Day: 7, ViableCells: 2e7, NKPct: ptr(100.0), SplitFractionKept: ptr(0.25)},
		{Day: 14, ViableCells: 6e7, NKPct: ptr(100.0), SplitFractionKept: ptr(1.0 / 6)},
		{Day: 21, ViableCells: 5e7, NKPct: ptr(100.0)},
		{Day: 10, ViableCells: 9e9, NKPct: ptr(100.0)}, // voided below
	}
	var voidID int64
	for _, o := range obs {
		got := must(f.c.CreateObservation(f.ctx, f.culture.ID, &o))(t)
		voidID = got.ID
	}
	must(f.c.VoidObservation(f.ctx, voidID, "wrong culture"))(t)

	m := must(f.c.CultureMetrics(f.ctx, f.culture.ID))(t)
	if m.CultureID != f.culture.ID || m.Culture != f.culture.Code || m.Site != "ZGZ" {
		t.Errorf("got culture %d %q at %q, want %d %q at ZGZ", m.CultureID, m.Culture, m.Site, f.culture.ID, f.culture.Code)
	}
	if m.Metrics.StartingCells != 1e6 || m.Metrics.StartingNKCells != 1e6 {
		t.Errorf("got starting cells %g, NK %g, want 1e6 and 1e6", m.Metrics.StartingCells, m.Metrics.StartingNKCells)
	}
	pts := m.Metrics.Points
	if len(pts) != 3 {
		t.Fatalf("got %d points, want 3 (the voided day 10 left out)", len(pts))
	}
	last := pts[2]
	tests := []struct {
		name string
		got  *float64
		want float64
	}{
		{"fold_nk", last.FoldNK, 1200},
		{"pd_nk", last.PDNK, math.Log2(1200)}, // 10.2288, domain.md §5.1 rounds to 10.23
		{"nk_yield", last.NKYield, 1.2e9},
		{"fold_nk day 7", pts[0].FoldNK, 20},
		{"fold_nk day 14", pts[1].FoldNK, 240},
	}
	for _, tc := range tests {
		if tc.got == nil {
			t.Errorf("%s: got null, want %g", tc.name, tc.want)
		} else if math.Abs(*tc.got-tc.want) > 1e-9*tc.want {
			t.Errorf("%s: got %g, want %g", tc.name, *tc.got, tc.want)
		}
	}
	_, err := f.c.CultureMetrics(f.ctx, 999)
	wantProblem(t, err, 404, "")
}
