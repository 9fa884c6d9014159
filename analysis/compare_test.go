package analysis

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/clink-consortium/clink"
	"github.com/google/go-cmp/cmp"
)

// summaryOf returns the n and median of each protocol of a comparison, in order.
type nMedian struct {
	Protocol string
	N        int
	Median   float64
}

func summaryOf(c *Comparison) []nMedian {
	var out []nMedian
	for _, s := range c.Result.Summary {
		out = append(out, nMedian{s.Protocol, s.N, s.Median})
	}
	return out
}

// TestCompare runs comparisons on the fixture; the values compared are the outcomes worked
// out in fixture_test.go (and checked one by one in TestOutcomesAtHarvest).
func TestCompare(t *testing.T) {
	c := newConsortium(t)
	s := New(c.store)
	day7 := 7
	tests := []struct {
		name      string
		req       CompareRequest
		protocols []ComparedProtocol
		summary   []nMedian
		notes     []string
		scale     string
		method    string
	}{
		{
			// NK fold at harvest: IL-2 alone c1 160, c3 30, c5 10; IL-2 + IL-15 c2 180, c4 60, c9 20.
			name: "nk_fold at harvest",
			req:  CompareRequest{Protocols: []string{nameA, nameB}},
			protocols: []ComparedProtocol{
				{Label: nameA, Name: nameA, Versions: []int{1, 2}, NCultures: 3},
				{Label: nameB, Name: nameB, Versions: []int{1}, NCultures: 3},
			},
			summary: []nMedian{{nameA, 3, 30}, {nameB, 3, 60}},
			notes:   []string{"1 culture(s) left out: stopped before harvest", "1 culture(s) left out: still running: no harvest yet"},
			scale:   "log10",
		},
		{
			// Day 7: IL-2 alone c1 16, c8 6 (running); IL-2 + IL-15 c2 25, c4 15, c6 6 (stopped).
			name: "nk_fold on day 7",
			req:  CompareRequest{Protocols: []string{nameA, nameB}, Metric: MetricNKFold, Day: &day7},
			protocols: []ComparedProtocol{
				{Label: nameA, Name: nameA, Versions: []int{1, 2}, NCultures: 2},
				{Label: nameB, Name: nameB, Versions: []int{1}, NCultures: 3},
			},
			summary: []nMedian{{nameA, 2, 11}, {nameB, 3, 15}},
			notes:   []string{"3 culture(s) left out: no observation on the day asked for"},
			scale:   "log10",
		},
		{
			// The reference comes first: the order of the request, not of the names.
			name: "reference first",
			req:  CompareRequest{Protocols: []string{nameB, nameA}},
			protocols: []ComparedProtocol{
				{Label: nameB, Name: nameB, Versions: []int{1}, NCultures: 3},
				{Label: nameA, Name: nameA, Versions: []int{1, 2}, NCultures: 3},
			},
			summary: []nMedian{{nameB, 3, 60}, {nameA, 3, 30}},
			notes:   []string{"1 culture(s) left out: stopped before harvest", "1 culture(s) left out: still running: no harvest yet"},
			scale:   "log10",
		},
		{
			// One version: c3 alone (30); the running c8 is of version 1 and is not counted.
			name: "NAME@VERSION",
			req:  CompareRequest{Protocols: []string{nameA + "@2", nameB}},
			protocols: []ComparedProtocol{
				{Label: nameA + "@2", Name: nameA, Versions: []int{2}, NCultures: 1},
				{Label: nameB, Name: nameB, Versions: []int{1}, NCultures: 3},
			},
			summary: []nMedian{{nameA + "@2", 1, 30}, {nameB, 3, 60}},
			notes:   []string{"1 culture(s) left out: stopped before harvest"},
			scale:   "log10",
		},
		{
			name: "two versions of one protocol",
			req:  CompareRequest{Protocols: []string{nameA + "@1", nameA + "@2"}},
			protocols: []ComparedProtocol{
				{Label: nameA + "@1", Name: nameA, Versions: []int{1}, NCultures: 2},
				{Label: nameA + "@2", Name: nameA, Versions: []int{2}, NCultures: 1},
			},
			summary: []nMedian{{nameA + "@1", 2, 85}, {nameA + "@2", 1, 30}},
			notes:   []string{"1 culture(s) left out: still running: no harvest yet"},
			scale:   "log10",
		},
		{
			// Purity at harvest, on the linear scale: IL-2 alone 80, 60, 50; IL-15 alone 50, 50.
			name: "purity",
			req:  CompareRequest{Protocols: []string{nameA, nameC}, Metric: MetricPurity},
			protocols: []ComparedProtocol{
				{Label: nameA, Name: nameA, Versions: []int{1, 2}, NCultures: 3},
				{Label: nameC, Name: nameC, Versions: []int{1}, NCultures: 2},
			},
			summary: []nMedian{{nameA, 3, 60}, {nameC, 2, 50}},
			notes:   []string{"1 culture(s) left out: still running: no harvest yet"},
			scale:   "linear",
		},
		{
			// LU30 from corrected 51Cr assays only: c1 and c2; the others are left out, each
			// with its reason.
			name: "lu30",
			req:  CompareRequest{Protocols: []string{nameA, nameB}, Metric: MetricLU30},
			protocols: []ComparedProtocol{
				{Label: nameA, Name: nameA, Versions: []int{1, 2}, NCultures: 1},
				{Label: nameB, Name: nameB, Versions: []int{1}, NCultures: 1},
			},
			summary: []nMedian{{nameA, 1, curveC1d14.lu(30)}, {nameB, 1, curveC2d14.lu(30)}},
			notes: []string{
				"1 culture(s) left out: stopped before harvest",
				"1 culture(s) left out: still running: no harvest yet",
				"1 culture(s) left out: no NK purity and viability on the assay day: E:T not corrected (§6.4)",
				"2 culture(s) left out: no K562 assay on or before the day analysed",
				"1 culture(s) left out: killing measured by another method than 51Cr release (methods are never pooled)",
			},
			scale:  "log10",
			method: clink.MethodCr51,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Compare(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.protocols, got.Protocols); diff != "" {
				t.Errorf("protocols (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.summary, summaryOf(got), cmp.Comparer(func(a, b float64) bool { return near(a, b, 1e-6) })); diff != "" {
				t.Errorf("summary (-want +got):\n%s", diff)
			}
			if !slices.Equal(got.Notes, tc.notes) {
				t.Errorf("notes:\ngot  %q\nwant %q", got.Notes, tc.notes)
			}
			n := 0
			for _, p := range tc.protocols {
				n += p.NCultures
			}
			if got.NCultures != n || got.Scale != tc.scale || got.AssayMethod != tc.method {
				t.Errorf("got %d cultures, scale %q, method %q; want %d, %q, %q", got.NCultures, got.Scale, got.AssayMethod, n, tc.scale, tc.method)
			}
			wantMetric := tc.req.Metric
			if wantMetric == "" {
				wantMetric = MetricNKFold
			}
			if got.Metric != wantMetric || (got.Day == nil) != (tc.req.Day == nil) {
				t.Errorf("got metric %q day %v, want %q day %v", got.Metric, got.Day, wantMetric, tc.req.Day)
			}
		})
	}
}

// TestCompareTests checks the rank test on the paired donors of the fixture. At harvest D1
// and D2 have both protocols: IL-2 alone minus IL-2 + IL-15 is 160 − 180 and 30 − 60, both
// negative, so V = 0; with 2 pairs the 4 sign patterns are equally likely and the exact
// two-sided p is 2 × 1/4 = 0.5 (wilcox.test(c(160, 30), c(180, 60), paired = TRUE) gives
// V = 0, p-value = 0.5).
func TestCompareTests(t *testing.T) {
	c := newConsortium(t)
	got, err := New(c.store).Compare(context.Background(), CompareRequest{Protocols: []string{nameA, nameB}})
	if err != nil {
		t.Fatal(err)
	}
	r := got.Result
	if r.NDonors != 4 || r.NCompleteDonors != 2 {
		t.Errorf("got %d donors, %d complete; want 4, 2", r.NDonors, r.NCompleteDonors)
	}
	if r.Wilcoxon == nil || r.Pairwise != nil {
		t.Fatalf("two protocols: got wilcoxon %v and pairwise %v, want wilcoxon only", r.Wilcoxon, r.Pairwise)
	}
	if r.Wilcoxon.Statistic != 0 || r.Wilcoxon.PValue == nil || !near(*r.Wilcoxon.PValue, 0.5, 1e-12) {
		t.Errorf("wilcoxon: got V %g p %v, want V 0 p 0.5", r.Wilcoxon.Statistic, r.Wilcoxon.PValue)
	}

	three, err := New(c.store).Compare(context.Background(), CompareRequest{Protocols: []string{nameA, nameB, nameC}})
	if err != nil {
		t.Fatal(err)
	}
	if three.Result.Wilcoxon != nil || len(three.Result.Pairwise) != 3 {
		t.Errorf("three protocols: got wilcoxon %v and %d pairwise tests, want none and 3", three.Result.Wilcoxon, len(three.Result.Pairwise))
	}
}

// TestCompareErrors checks that bad requests are refused with the field at fault and a
// message that says why.
func TestCompareErrors(t *testing.T) {
	c := newConsortium(t)
	s := New(c.store)
	day7, neg := 7, -1
	tests := []struct {
		name string
		req  CompareRequest
		want string // in the error's text
	}{
		{"no protocol", CompareRequest{}, "protocol: name at least two protocols to compare (got 0)"},
		{"one protocol", CompareRequest{Protocols: []string{nameA}}, "protocol: name at least two protocols to compare (got 1)"},
		{"unknown protocol", CompareRequest{Protocols: []string{nameA, "IL-21 alone"}}, `protocol: "IL-21 alone" is not the name of a protocol`},
		{"unknown version", CompareRequest{Protocols: []string{nameA + "@3", nameB}}, `protocol: "IL-2 alone@3": no version 3 of protocol "IL-2 alone"`},
		{"version 0", CompareRequest{Protocols: []string{nameA + "@0", nameB}}, `protocol: "IL-2 alone@0": version 0 is not 1 or more`},
		{"empty name", CompareRequest{Protocols: []string{" ", nameB}}, "protocol: a name is required"},
		{"same protocol twice", CompareRequest{Protocols: []string{nameA, nameA}}, `protocol: IL-2 alone version 1 is named twice ("IL-2 alone" and "IL-2 alone")`},
		{"a version of a protocol named", CompareRequest{Protocols: []string{nameA, nameA + "@2"}}, `protocol: IL-2 alone version 2 is named twice ("IL-2 alone" and "IL-2 alone@2")`},
		{"unknown metric", CompareRequest{Protocols: []string{nameA, nameB}, Metric: "fold"}, `metric: "fold" is not one of`},
		{"negative day", CompareRequest{Protocols: []string{nameA, nameB}, Day: &neg}, "day: -1 is negative"},
		{"unknown method", CompareRequest{Protocols: []string{nameA, nameB}, Method: "chromium"}, `method: "chromium" is not one of`},
		{"no culture on the day", CompareRequest{Protocols: []string{nameA, nameC}, Day: &day7}, `protocol: "IL-15 alone" has no culture with a nk_fold value on day 7`},
		// No IL-2 alone culture has a flow-based assay: the method filter leaves it nothing.
		{"method filter", CompareRequest{Protocols: []string{nameA, nameB}, Metric: MetricLU30, Method: clink.MethodFlow}, `protocol: "IL-2 alone" has no culture with a lu30 value at harvest`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Compare(context.Background(), tc.req)
			if err == nil {
				t.Fatalf("got %+v, want an error", got)
			}
			if clink.ErrorCode(err) != clink.EINVALID || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %q (%s), want an invalid-input error containing %q", err, clink.ErrorCode(err), tc.want)
			}
		})
	}
}

// TestCompareZeroFold checks that a culture that lost every NK cell is left out of a log10
// comparison with a note saying why, and kept in a comparison on a linear scale.
func TestCompareZeroFold(t *testing.T) {
	c := newConsortium(t)
	ctx := clink.WithActor(context.Background(), "tester")
	cu := &clink.Culture{Site: c.cultures["c1"].Site, DonorID: c.cultures["c1"].DonorID, ProtocolID: c.protocols["C"].ID,
		StartDate: "2025-02-03", StartingCells: 1e6, StartingNKPct: 10}
	if err := c.store.CreateCulture(ctx, cu); err != nil {
		t.Fatal(err)
	}
	if err := c.store.CreateObservation(ctx, &clink.Observation{CultureID: cu.ID, Day: 14, ViableCells: 1e6, NKPct: pct(0), ViabilityPct: pct(60)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.store.SetCultureStatus(ctx, cu.ID, clink.CultureStatusChange{Status: clink.StatusCompleted}); err != nil {
		t.Fatal(err)
	}
	s := New(c.store)
	fold, err := s.Compare(ctx, CompareRequest{Protocols: []string{nameA, nameC}})
	if err != nil {
		t.Fatalf("nk_fold with a zero fold: %v", err)
	}
	if got := fold.Protocols[1].NCultures; got != 2 {
		t.Errorf("nk_fold: %s has %d cultures, want 2 (c7, c10; the zero fold left out)", nameC, got)
	}
	if want := "1 culture(s) left out: nk_fold is 0, which has no log10"; !slices.Contains(fold.Notes, want) {
		t.Errorf("nk_fold notes %q lack %q", fold.Notes, want)
	}
	purity, err := s.Compare(ctx, CompareRequest{Protocols: []string{nameA, nameC}, Metric: MetricPurity})
	if err != nil {
		t.Fatalf("purity: %v", err)
	}
	if got := purity.Protocols[1].NCultures; got != 3 {
		t.Errorf("purity: %s has %d cultures, want 3 (a purity of 0 is a value on a linear scale)", nameC, got)
	}
}
