package analysis

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/rank"
	"github.com/clink-consortium/clink/sqldb"
)

// TestRanking ranks the fixture. At harvest the medians are (fixture_test.go):
//
//	IL-2 alone     NK fold 160, 30, 10 → 30;   LU30 c1 only → 425.5
//	IL-2 + IL-15   NK fold 180, 60, 20 → 60;   LU30 c2 only → 577.1
//	IL-15 alone    NK fold 5, 15 → 10;         LU30 c7 only → 2,466
//
// IL-2 + IL-15 beats IL-2 alone on both axes; IL-15 alone kills best: the front is
// IL-2 + IL-15 then IL-15 alone (yield descending), and IL-2 alone ranks last.
func TestRanking(t *testing.T) {
	c := newConsortium(t)
	s := New(c.store)
	day7, flow := 7, clink.MethodFlow
	type score struct {
		protocol string
		cultures int
		fold     float64
		lu30     float64
		front    bool
	}
	tests := []struct {
		name   string
		req    RankingRequest
		method string
		n      int
		scores []score // in scoreboard order
		front  []string
		notes  []string
	}{
		{
			name: "at harvest", req: RankingRequest{}, method: clink.MethodCr51, n: 8,
			scores: []score{
				{nameB, 3, 60, curveC2d14.lu(30), true},
				{nameC, 2, 10, curveC7d14.lu(30), true},
				{nameA, 3, 30, curveC1d14.lu(30), false},
			},
			front: []string{nameB, nameC},
			notes: []string{
				"1 culture(s) left out: stopped before harvest",
				"1 culture(s) left out: still running: no harvest yet",
				"1 culture(s) without LU30: no NK purity and viability on the assay day: E:T not corrected (§6.4)",
				"1 culture(s) without LU30: killing measured by another method than 51Cr release (methods are never pooled)",
				"3 culture(s) without LU30: no K562 assay on or before the day analysed",
			},
		},
		{
			// Flow-based killing: only c4 (IL-2 + IL-15) has it, so it alone has a point.
			name: "flow-based", req: RankingRequest{Method: flow}, method: flow, n: 8,
			scores: []score{
				{nameB, 3, 60, curveC4d14.lu(30), true},
				{nameA, 3, 30, none, false},
				{nameC, 2, 10, none, false},
			},
			front: []string{nameB},
			notes: []string{
				"1 culture(s) left out: stopped before harvest",
				"1 culture(s) left out: still running: no harvest yet",
				"4 culture(s) without LU30: killing measured by another method than flow-based (methods are never pooled)",
				"3 culture(s) without LU30: no K562 assay on or before the day analysed",
			},
		},
		{
			// Day 7: IL-2 alone c1 16 (LU30 of its day-7 assay), c8 6 → 11; IL-2 + IL-15 c2 25,
			// c4 15, c6 6 → 15, without killing by day 7.
			name: "day 7", req: RankingRequest{Day: &day7}, method: clink.MethodCr51, n: 5,
			scores: []score{
				{nameA, 2, 11, curveC1d7.lu(30), true},
				{nameB, 3, 15, none, false},
			},
			front: []string{nameA},
			notes: []string{
				"5 culture(s) left out: no observation on the day asked for",
				"4 culture(s) without LU30: no K562 assay on or before the day analysed",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Ranking(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if got.AssayMethod != tc.method || got.NCultures != tc.n {
				t.Errorf("got method %q, %d cultures; want %q, %d", got.AssayMethod, got.NCultures, tc.method, tc.n)
			}
			if !slices.Equal(got.Notes, tc.notes) {
				t.Errorf("notes:\ngot  %q\nwant %q", got.Notes, tc.notes)
			}
			r := got.Ranking
			if !slices.Equal(r.Front, tc.front) {
				t.Errorf("front: got %q, want %q", r.Front, tc.front)
			}
			if len(r.Protocols) != len(tc.scores) {
				t.Fatalf("got %d protocols, want %d", len(r.Protocols), len(tc.scores))
			}
			for i, want := range tc.scores {
				p := r.Protocols[i]
				if p.Protocol != want.protocol || p.NCultures != want.cultures || p.OnFront != want.front {
					t.Errorf("#%d: got %s with %d cultures, front %v; want %s, %d, %v", i+1, p.Protocol, p.NCultures, p.OnFront, want.protocol, want.cultures, want.front)
				}
				if p.NKFold == nil {
					t.Errorf("#%d %s: no NK fold", i+1, p.Protocol)
				} else {
					checkPtr(t, p.Protocol+" NK fold median", &p.NKFold.Estimate, want.fold, 1e-12)
				}
				var lu *float64
				if p.LU30 != nil {
					lu = &p.LU30.Estimate
				}
				checkPtr(t, p.Protocol+" LU30 median", lu, want.lu30, 1e-6)
			}
		})
	}
}

// TestRankingErrors checks that bad requests are refused with the field at fault.
func TestRankingErrors(t *testing.T) {
	c := newConsortium(t)
	neg := -1
	tests := []struct {
		name string
		req  RankingRequest
		want string
	}{
		{"negative day", RankingRequest{Day: &neg}, "day: -1 is negative"},
		{"unknown method", RankingRequest{Method: "chromium"}, `method: "chromium" is not one of`},
		{"negative dose", RankingRequest{Options: rank.Options{DosePerKg: -1}}, "dose_per_kg"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := New(c.store).Ranking(context.Background(), tc.req)
			if err == nil {
				t.Fatalf("got %+v, want an error", got)
			}
			if clink.ErrorCode(err) != clink.EINVALID || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %q (%s), want an invalid-input error containing %q", err, clink.ErrorCode(err), tc.want)
			}
		})
	}
}

// TestRankingEmpty checks that an empty store gives an empty scoreboard, not an error.
func TestRankingEmpty(t *testing.T) {
	ctx := context.Background()
	st, err := sqldb.Open(ctx, filepath.Join(t.TempDir(), "empty.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := New(st).Ranking(ctx, RankingRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got.NCultures != 0 || got.AssayMethod != "" || len(got.Ranking.Protocols) != 0 || len(got.Ranking.Front) != 0 || len(got.Notes) != 0 {
		t.Errorf("got %+v, want an empty ranking", got)
	}
}
