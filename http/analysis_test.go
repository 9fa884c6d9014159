package http_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	neturl "net/url"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/analysis"
	"github.com/clink-consortium/clink/demo"
	clinkhttp "github.com/clink-consortium/clink/http"
	"github.com/clink-consortium/clink/internal/pgtest"
	"github.com/clink-consortium/clink/rank"
	"github.com/clink-consortium/clink/sqldb"
)

// The analysis routes are tested end to end on the demo consortium (demo.Populate, seed 1),
// on SQLite and PostgreSQL, through the spec-checking server, so that every request and
// answer below is also checked against openapi.yaml. Expected numbers are computed in the
// tests from other routes (the cultures list and GET /cultures/{id}/metrics), never from the
// analysis packages.

// Protocols of the demo consortium the comparisons use. "IL-2 alone" and "EBV-LCL + IL-2"
// have two versions each.
const (
	protoIL2    = "IL-2 alone"
	protoIL215  = "IL-2 + IL-15"
	protoEBVIL2 = "EBV-LCL + IL-2"
)

// demoEnv is a spec-checked server over a store that holds the demo consortium, with the
// token of a viewer: every analysis below is made with the least privileged role.
type demoEnv struct {
	srv   *specServer
	token string
	// cultures is every culture of the demo with its metrics, read once through the API.
	cultures []demoCulture
}

// demoCulture is a culture with its answer of GET /cultures/{id}/metrics.
type demoCulture struct {
	*clink.Culture
	metrics clinkhttp.CultureMetrics
}

// postgresStore opens a migrated store on a fresh PostgreSQL database, or skips the test.
func postgresStore(tb testing.TB) clink.Store {
	tb.Helper()
	ctx := context.Background()
	store, err := sqldb.Open(ctx, pgtest.DSN(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	if err := store.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	return store
}

// forEachDemoStore runs fn on the demo consortium in SQLite and in PostgreSQL.
func forEachDemoStore(t *testing.T, fn func(t *testing.T, env *demoEnv)) {
	stores := []struct {
		name string
		open func(testing.TB) clink.Store
	}{
		{"sqlite", func(tb testing.TB) clink.Store { return newStore(tb) }},
		{"postgres", postgresStore},
	}
	for _, db := range stores {
		t.Run(db.name, func(t *testing.T) {
			store := db.open(t)
			if _, err := demo.Populate(context.Background(), store, demo.Options{}); err != nil {
				t.Fatalf("demo.Populate: %v", err)
			}
			srv := newSpecServerOn(t, store)
			env := &demoEnv{srv: srv, token: srv.token(t, "viewer", "", clink.RoleViewer)}
			env.readCultures(t)
			fn(t, env)
		})
	}
}

// get sends GET path as the viewer and decodes the answer, which must be 200, into out.
func (e *demoEnv) get(tb testing.TB, path string, out any) {
	tb.Helper()
	status, _, body := do(tb, e.srv.URL, "GET", path, e.token, nil)
	if status != 200 {
		tb.Fatalf("GET %s: got status %d, want 200 (body %s)", path, status, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		tb.Fatalf("GET %s: %v", path, err)
	}
}

// ranking sends GET path, a ranking request, as the viewer and returns the answer, which must
// be 200 with a scoreboard.
func (e *demoEnv) ranking(tb testing.TB, path string) analysis.Ranking {
	tb.Helper()
	var r analysis.Ranking
	e.get(tb, path, &r)
	if r.Ranking == nil {
		tb.Fatalf("GET %s: got ranking null, want the scoreboard", path)
	}
	return r
}

// problem sends GET path as the viewer and returns the problem document of the answer, which
// must be an error.
func (e *demoEnv) problem(tb testing.TB, path string) clinkhttp.Problem {
	tb.Helper()
	status, _, body := do(tb, e.srv.URL, "GET", path, e.token, nil)
	var p clinkhttp.Problem
	if status < 400 {
		tb.Fatalf("GET %s: got status %d, want an error (body %s)", path, status, body)
	}
	if err := json.Unmarshal(body, &p); err != nil {
		tb.Fatalf("GET %s: the %d answer is not a problem document: %s", path, status, body)
	}
	if p.Status != status {
		tb.Errorf("GET %s: the problem says status %d, the answer %d", path, p.Status, status)
	}
	return p
}

// readCultures reads every culture, page by page, and the metrics of each.
func (e *demoEnv) readCultures(tb testing.TB) {
	tb.Helper()
	for offset := 0; ; {
		var page struct {
			Items []*clink.Culture `json:"items"`
			Total int              `json:"total"`
		}
		e.get(tb, fmt.Sprintf("/api/v1/cultures?limit=100&offset=%d", offset), &page)
		for _, c := range page.Items {
			if c.Voided {
				continue
			}
			dc := demoCulture{Culture: c}
			e.get(tb, fmt.Sprintf("/api/v1/cultures/%d/metrics", c.ID), &dc.metrics)
			e.cultures = append(e.cultures, dc)
		}
		offset += len(page.Items)
		if len(page.Items) == 0 || offset >= page.Total {
			break
		}
	}
	if len(e.cultures) < 150 {
		tb.Fatalf("got %d demo cultures, want at least 150", len(e.cultures))
	}
}

// harvestFold is the cumulative NK fold of a completed culture at its last observation, the
// harvest; nil when the culture is not completed or the fold is undefined there.
func (c demoCulture) harvestFold() *float64 {
	pts := c.metrics.Metrics.Points
	if c.Status != clink.StatusCompleted || len(pts) == 0 {
		return nil
	}
	return pts[len(pts)-1].FoldNK
}

// foldOnDay is the cumulative NK fold on day, nil when there is no such observation or fold.
func (c demoCulture) foldOnDay(day int) *float64 {
	for _, p := range c.metrics.Metrics.Points {
		if p.Day == day {
			return p.FoldNK
		}
	}
	return nil
}

// harvestPurity is the NK % of viable cells at the harvest of a completed culture,
// nk_cells / viable_cells.
func (c demoCulture) harvestPurity() *float64 {
	pts := c.metrics.Metrics.Points
	if c.Status != clink.StatusCompleted || len(pts) == 0 || pts[len(pts)-1].NKCells == nil {
		return nil
	}
	last := pts[len(pts)-1]
	v := 100 * *last.NKCells / last.ViableCells
	return &v
}

// harvestLU30 is the LU30 of a completed culture's killing: the latest K562 assay on or before
// the harvest, NK-corrected and analysed by GET /metrics; nil when there is none.
func (c demoCulture) harvestLU30() *float64 {
	pts := c.metrics.Metrics.Points
	if c.Status != clink.StatusCompleted || len(pts) == 0 {
		return nil
	}
	var best *analysis.AssayAnalysis
	for i, a := range c.metrics.Cytotoxicity {
		if a.Target == clink.TargetK562 && a.Day <= pts[len(pts)-1].Day && (best == nil || a.Day >= best.Day) {
			best = &c.metrics.Cytotoxicity[i]
		}
	}
	if best == nil || best.ETCorrection == nil {
		return nil
	}
	return best.LU30
}

// values collects value(c) of the cultures of protocol name (and version, when not 0) where
// it is not nil, with the donor of each.
func (e *demoEnv) values(name string, version int, value func(demoCulture) *float64) (vals []float64, donors []string) {
	for _, c := range e.cultures {
		if c.ProtocolName != name || (version != 0 && c.ProtocolVersion != version) {
			continue
		}
		if v := value(c); v != nil {
			vals = append(vals, *v)
			donors = append(donors, c.Donor)
		}
	}
	return vals, donors
}

// medianR is R's median: the middle value, or the mean of the two middle values.
func medianR(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	return (s[(n-1)/2] + s[n/2]) / 2
}

// closeTo reports whether got is within rel (relative) of want.
func closeTo(got, want, rel float64) bool {
	return math.Abs(got-want) <= rel*math.Max(math.Abs(want), 1e-300)
}

// TestAnalysisDemo runs the analysis routes on the demo consortium.
func TestAnalysisDemo(t *testing.T) {
	forEachDemoStore(t, func(t *testing.T, env *demoEnv) {
		t.Run("ranking", func(t *testing.T) { testDemoRanking(t, env) })
		t.Run("ranking options", func(t *testing.T) { testDemoRankingOptions(t, env) })
		t.Run("compare", func(t *testing.T) { testDemoCompare(t, env) })
		t.Run("compare errors", func(t *testing.T) { testCompareErrors(t, env) })
		t.Run("ranking errors", func(t *testing.T) { testRankingErrors(t, env) })
		t.Run("metrics", func(t *testing.T) { testDemoMetrics(t, env) })
		t.Run("access", func(t *testing.T) { testAnalysisAccess(t, env) })
		t.Run("every field documented", func(t *testing.T) { testAnalysisFieldsDocumented(t, env) })
	})
}

func testDemoRanking(t *testing.T, env *demoEnv) {
	got := env.ranking(t, "/api/v1/analysis/ranking")
	if got.Day != nil || got.AssayMethod != clink.MethodCr51 {
		t.Errorf("got day %v and method %q, want null (harvest) and %q (every demo assay)", got.Day, got.AssayMethod, clink.MethodCr51)
	}
	r := got.Ranking

	// Every protocol family with a completed culture is ranked, and no other.
	completed := map[string]int{}
	for _, c := range env.cultures {
		if c.Status == clink.StatusCompleted {
			completed[c.ProtocolName]++
		}
	}
	var ranked []string
	nCultures := 0
	for _, s := range r.Protocols {
		ranked = append(ranked, s.Protocol)
		nCultures += s.NCultures
		if s.NCultures != completed[s.Protocol] {
			t.Errorf("%s: got n_cultures %d, want %d completed cultures", s.Protocol, s.NCultures, completed[s.Protocol])
		}
	}
	if len(ranked) != len(completed) {
		t.Errorf("got protocols %q, want the %d families with completed cultures %v", ranked, len(completed), completed)
	}
	if got.NCultures != nCultures || nCultures == 0 {
		t.Errorf("got n_cultures %d, want the sum over protocols %d (> 0)", got.NCultures, nCultures)
	}

	// The front: non-empty, protocols of the list marked pareto_front, first in the list, in
	// the same order.
	if len(r.Front) == 0 {
		t.Fatal("got an empty pareto_front, want the protocols on the front")
	}
	var marked []string
	for _, s := range r.Protocols {
		if s.OnFront {
			marked = append(marked, s.Protocol)
		}
	}
	if !slices.Equal(marked, r.Front) || len(r.Front) > len(ranked) || !slices.Equal(ranked[:len(r.Front)], r.Front) {
		t.Errorf("got pareto_front %q, protocols marked on it %q and the list %q; want the marked protocols, leading the list in order",
			r.Front, marked, ranked)
	}

	// Scoreboard order: the front by yield descending, then the rest by median NK fold
	// descending, those without one last, ties by name.
	for i := 1; i < len(r.Protocols); i++ {
		a, b := r.Protocols[i-1], r.Protocols[i]
		switch {
		case a.OnFront && b.OnFront:
			if a.Yield == nil || b.Yield == nil {
				continue // reported below: a protocol on the front without both axes
			}
			if *a.Yield < *b.Yield {
				t.Errorf("front out of order: %s (yield %g) before %s (yield %g)", a.Protocol, *a.Yield, b.Protocol, *b.Yield)
			}
		case !a.OnFront && !b.OnFront:
			fa, fb := -1.0, -1.0
			if a.NKFold != nil {
				fa = a.NKFold.Estimate
			}
			if b.NKFold != nil {
				fb = b.NKFold.Estimate
			}
			if fa < fb || (fa == fb && a.Protocol > b.Protocol) {
				t.Errorf("scoreboard out of order: %s (median fold %g) before %s (%g)", a.Protocol, fa, b.Protocol, fb)
			}
		case !a.OnFront && b.OnFront:
			t.Errorf("%s is on the front but comes after %s, which is not", b.Protocol, a.Protocol)
		}
	}

	// The front is the set of protocols no other protocol dominates (domain.md §8.3), checked
	// pair by pair; the hypervolume is the union of the rectangles from (0, 0) to each point.
	dominates := func(a, b rank.ProtocolScore) bool {
		return *a.Yield >= *b.Yield && *a.Killing >= *b.Killing && (*a.Yield > *b.Yield || *a.Killing > *b.Killing)
	}
	var front []rank.ProtocolScore
	for _, s := range r.Protocols {
		if s.Yield == nil || s.Killing == nil {
			if s.OnFront {
				t.Errorf("%s is on the front without both axes", s.Protocol)
			}
			continue
		}
		dominated := false
		for _, o := range r.Protocols {
			if o.Yield != nil && o.Killing != nil && dominates(o, s) {
				dominated = true
			}
		}
		if dominated == s.OnFront {
			t.Errorf("%s: got pareto_front %v, want %v (dominated: %v)", s.Protocol, s.OnFront, !dominated, dominated)
		}
		if s.OnFront {
			front = append(front, s)
		}
	}
	area, level := 0.0, 0.0
	for _, s := range front { // by yield descending, so killing ascends along the front
		if *s.Killing > level && *s.Yield > 0 {
			area += *s.Yield * (*s.Killing - level)
			level = *s.Killing
		}
	}
	if r.Hypervolume == nil || !closeTo(*r.Hypervolume, area, 1e-12) {
		t.Errorf("got hypervolume %v, want %g", r.Hypervolume, area)
	}
	if r.DoseCells != 7e8 || r.Options.DosePerKg != 1e7 || r.Options.WeightKg != 70 {
		t.Errorf("got dose_cells %g (dose %g/kg × %g kg), want the default 7e8 (1e7/kg × 70 kg, domain.md §8.1)",
			r.DoseCells, r.Options.DosePerKg, r.Options.WeightKg)
	}

	// Each row's numbers agree with each other, and its median NK fold with the median of the
	// harvest folds that GET /cultures/{id}/metrics gives for its completed cultures.
	for _, s := range r.Protocols {
		counts := []struct {
			name        string
			small, big  int
			strictlyPos bool
		}{
			{"n_eligible <= n_assessable", s.NEligible, s.NAssessable, false},
			{"n_assessable <= n_cultures", s.NAssessable, s.NCultures, false},
			{"n_doses <= n_assessable", s.NDoses, s.NAssessable, false},
			{"n_nk_fold <= n_cultures", s.NNKFold, s.NCultures, false},
			{"n_lu30 <= n_cultures", s.NLU30, s.NCultures, false},
			{"n_donors <= n_cultures", s.NDonors, s.NCultures, true},
		}
		for _, c := range counts {
			if c.small > c.big || (c.strictlyPos && c.small < 1) {
				t.Errorf("%s: %s: got %d and %d", s.Protocol, c.name, c.small, c.big)
			}
		}
		if s.NAssessable > 0 && (s.EligibleShare == nil || !closeTo(*s.EligibleShare, float64(s.NEligible)/float64(s.NAssessable), 1e-15)) {
			t.Errorf("%s: got eligible_share %v, want %d/%d", s.Protocol, s.EligibleShare, s.NEligible, s.NAssessable)
		}
		if s.NKFold == nil || s.LU30 == nil {
			t.Errorf("%s: got nk_fold_median %v and lu30_median %v, want both (every demo culture has a fold and an assay)", s.Protocol, s.NKFold, s.LU30)
			continue
		}
		for _, b := range []struct {
			name string
			ci   *float64
			low  float64
			est  float64
			high float64
		}{
			{"nk_fold_median", s.Yield, s.NKFold.Low, s.NKFold.Estimate, s.NKFold.High},
			{"lu30_median", s.Killing, s.LU30.Low, s.LU30.Estimate, s.LU30.High},
		} {
			if !(b.low <= b.est && b.est <= b.high) {
				t.Errorf("%s: %s: got interval [%g, %g] around %g, want it to hold the estimate", s.Protocol, b.name, b.low, b.high, b.est)
			}
			if b.ci == nil || !closeTo(*b.ci, math.Log10(b.est), 1e-12) {
				t.Errorf("%s: got the axis of %s %v, want log10(%g)", s.Protocol, b.name, b.ci, b.est)
			}
		}
		if s.NKFold.Level != 0.95 || s.NKFold.Resamples != 2000 {
			t.Errorf("%s: got a %g interval from %d resamples, want the defaults 0.95 and 2000", s.Protocol, s.NKFold.Level, s.NKFold.Resamples)
		}
		folds, _ := env.values(s.Protocol, 0, demoCulture.harvestFold)
		if len(folds) != s.NNKFold || len(folds) == 0 {
			t.Errorf("%s: got n_nk_fold %d, want the %d completed cultures with a harvest fold", s.Protocol, s.NNKFold, len(folds))
			continue
		}
		if want := medianR(folds); !closeTo(s.NKFold.Estimate, want, 1e-12) {
			t.Errorf("%s: got median NK fold %.15g, want %.15g, the median of the last fold_nk of its %d completed cultures",
				s.Protocol, s.NKFold.Estimate, want, len(folds))
		}
	}
}

func testDemoRankingOptions(t *testing.T, env *demoEnv) {
	def := env.ranking(t, "/api/v1/analysis/ranking")
	q := neturl.Values{"dose_per_kg": {"1e6"}, "weight_kg": {"50"}, "donor_unit_cells": {"2e8"},
		"process_recovery": {"0.7"}, "qc_fraction": {"0.1"}}
	small := env.ranking(t, "/api/v1/analysis/ranking?"+q.Encode())
	want := rank.Options{DosePerKg: 1e6, WeightKg: 50, DonorUnitCells: 2e8, ProcessRecovery: 0.7, QCFraction: 0.1,
		Spec: def.Ranking.Options.Spec, Bootstrap: def.Ranking.Options.Bootstrap}
	if got := small.Ranking.Options; got != want || small.Ranking.DoseCells != 5e7 {
		t.Errorf("got options %+v and dose_cells %g, want %+v and 1e6 × 50 = 5e7", got, small.Ranking.DoseCells, want)
	}
	// A dose of 5e7 instead of 7e8 NK cells from 2e8 instead of 1e8 cells, with the NK cells
	// available × 0.7 × 0.9 instead of × 0.8 × 0.95, gives at least as many doses per donor
	// (domain.md §8.1): every factor of floor(NK available / dose) grows; and a lower dose per
	// kg lowers the T cells per kg, so no eligible harvest becomes ineligible (§8.2).
	byName := map[string]rank.ProtocolScore{}
	for _, s := range def.Ranking.Protocols {
		byName[s.Protocol] = s
	}
	more := false
	for _, s := range small.Ranking.Protocols {
		d := byName[s.Protocol]
		if s.DosesPerDonor == nil || d.DosesPerDonor == nil {
			t.Errorf("%s: got doses per donor %v and %v, want both", s.Protocol, s.DosesPerDonor, d.DosesPerDonor)
			continue
		}
		if *s.DosesPerDonor < *d.DosesPerDonor {
			t.Errorf("%s: got %g doses of 5e7 NK, fewer than %g doses of 7e8", s.Protocol, *s.DosesPerDonor, *d.DosesPerDonor)
		}
		more = more || *s.DosesPerDonor > *d.DosesPerDonor
	}
	if !more {
		t.Error("no protocol gave more doses per donor with the smaller dose; the parameters seem ignored")
	}

	// Killing from a method no demo assay used: no LU30 anywhere, so no front.
	calcein := env.ranking(t, "/api/v1/analysis/ranking?method="+neturl.QueryEscape(clink.MethodCalcein))
	if calcein.AssayMethod != clink.MethodCalcein || len(calcein.Ranking.Front) != 0 || calcein.Ranking.Hypervolume != nil {
		t.Errorf("got method %q, front %q, hypervolume %v; want %q, an empty front and null",
			calcein.AssayMethod, calcein.Ranking.Front, calcein.Ranking.Hypervolume, clink.MethodCalcein)
	}
	for _, s := range calcein.Ranking.Protocols {
		if s.LU30 != nil || s.NLU30 != 0 {
			t.Errorf("%s: got lu30_median %v from %d cultures, want none (no calcein assay)", s.Protocol, s.LU30, s.NLU30)
		}
	}

	// On day 7 every culture with an observation that day counts, whatever its status.
	day7 := env.ranking(t, "/api/v1/analysis/ranking?day=7")
	if day7.Day == nil || *day7.Day != 7 {
		t.Errorf("got day %v, want 7", day7.Day)
	}
	on7 := 0
	for _, c := range env.cultures {
		for _, p := range c.metrics.Metrics.Points {
			if p.Day == 7 {
				on7++
			}
		}
	}
	if day7.NCultures != on7 || on7 == 0 {
		t.Errorf("day 7: got n_cultures %d, want the %d cultures with an observation on day 7", day7.NCultures, on7)
	}
}

func testDemoCompare(t *testing.T, env *demoEnv) {
	compare := func(t *testing.T, q neturl.Values) (analysis.Comparison, map[string]json.RawMessage) {
		t.Helper()
		var cmp analysis.Comparison
		path := "/api/v1/analysis/compare?" + q.Encode()
		env.get(t, path, &cmp)
		var raw struct {
			Result map[string]json.RawMessage `json:"result"`
		}
		_, _, body := do(t, env.srv.URL, "GET", path, env.token, nil)
		if err := json.Unmarshal(body, &raw); err != nil {
			t.Fatal(err)
		}
		if cmp.Result == nil {
			t.Fatalf("GET %s: got result null, want the statistics", path)
		}
		return cmp, raw.Result
	}
	// wantSummary checks each protocol's summary against values computed from the metrics.
	wantSummary := func(t *testing.T, cmp analysis.Comparison, want map[string][]float64) {
		t.Helper()
		if len(cmp.Result.Summary) != len(cmp.Protocols) {
			t.Fatalf("got %d summaries for %d protocols", len(cmp.Result.Summary), len(cmp.Protocols))
		}
		total := 0
		for i, s := range cmp.Result.Summary {
			vals := want[s.Protocol]
			total += len(vals)
			if len(vals) == 0 || s.N != len(vals) || cmp.Protocols[i].NCultures != len(vals) {
				t.Errorf("%s: got n %d (protocol n_cultures %d), want %d", s.Protocol, s.N, cmp.Protocols[i].NCultures, len(vals))
				continue
			}
			if m := medianR(vals); !closeTo(s.Median, m, 1e-9) {
				t.Errorf("%s: got median %.15g, want %.15g", s.Protocol, s.Median, m)
			}
			if !(s.Q1 <= s.Median && s.Median <= s.Q3) {
				t.Errorf("%s: got quartiles %g, %g around median %g", s.Protocol, s.Q1, s.Q3, s.Median)
			}
		}
		if cmp.NCultures != total {
			t.Errorf("got n_cultures %d, want %d", cmp.NCultures, total)
		}
	}

	t.Run("two protocols", func(t *testing.T) {
		cmp, raw := compare(t, neturl.Values{"protocol": {protoIL2, protoEBVIL2}})
		if cmp.Metric != analysis.MetricNKFold || cmp.Scale != "log10" || cmp.Day != nil {
			t.Errorf("got metric %q scale %q day %v, want nk_fold, log10 and null", cmp.Metric, cmp.Scale, cmp.Day)
		}
		if _, ok := raw["wilcoxon"]; !ok || cmp.Result.Wilcoxon == nil {
			t.Fatal("got no wilcoxon, want the paired test of two protocols")
		}
		if _, ok := raw["pairwise"]; ok {
			t.Errorf("got pairwise %s, want none for two protocols", raw["pairwise"])
		}
		a, da := env.values(protoIL2, 0, demoCulture.harvestFold)
		b, db := env.values(protoEBVIL2, 0, demoCulture.harvestFold)
		wantSummary(t, cmp, map[string][]float64{protoIL2: a, protoEBVIL2: b})
		for i, want := range []struct {
			name     string
			versions []int
		}{{protoIL2, []int{1, 2}}, {protoEBVIL2, []int{1, 2}}} {
			if p := cmp.Protocols[i]; p.Label != want.name || p.Name != want.name || !slices.Equal(p.Versions, want.versions) {
				t.Errorf("protocol %d: got %+v, want %s with versions %v", i, p, want.name, want.versions)
			}
		}
		// Donors with a culture of each protocol: IL-2 alone expands less in every one of
		// them, so V = 0 and the exact two-sided p is 2/2^n (domain.md §7.2).
		fold := map[string]float64{}
		for i, d := range da {
			if _, dup := fold[d]; dup {
				t.Fatalf("donor %s has two cultures of %s; the fixture assumption broke", d, protoIL2)
			}
			fold[d] = a[i]
		}
		n := 0
		for i, d := range db {
			if f, ok := fold[d]; ok {
				n++
				if f >= b[i] {
					t.Fatalf("donor %s: IL-2 alone fold %g is not below EBV-LCL + IL-2 %g; the fixture assumption broke", d, f, b[i])
				}
			}
		}
		w := cmp.Result.Wilcoxon
		if cmp.Result.NCompleteDonors != n || w.N != n || !w.Exact || w.Statistic != 0 || w.PValue == nil ||
			!closeTo(*w.PValue, math.Pow(2, float64(1-n)), 1e-12) {
			t.Errorf("got %d complete donors and wilcoxon %+v, want %d donors, V = 0 and exact p = 2/2^%d", cmp.Result.NCompleteDonors, w, n, n)
		}
		if mm := cmp.Result.MixedModel; mm == nil || mm.NObs != cmp.NCultures || mm.Reference != protoIL2 {
			t.Errorf("got mixed model %+v, want one on all %d cultures with reference %s", mm, cmp.NCultures, protoIL2)
		}
	})

	t.Run("three protocols", func(t *testing.T) {
		cmp, raw := compare(t, neturl.Values{"protocol": {protoIL2, protoIL215, protoEBVIL2}})
		if _, ok := raw["wilcoxon"]; ok {
			t.Errorf("got wilcoxon %s, want none for three protocols", raw["wilcoxon"])
		}
		want := [][2]string{{protoIL2, protoIL215}, {protoIL2, protoEBVIL2}, {protoIL215, protoEBVIL2}}
		var got [][2]string
		for _, p := range cmp.Result.Pairwise {
			got = append(got, [2]string{p.ProtocolA, p.ProtocolB})
			if p.PValue != nil && (p.PHolm == nil || *p.PHolm < *p.PValue) {
				t.Errorf("%s vs %s: got Holm p %v below p %g", p.ProtocolA, p.ProtocolB, p.PHolm, *p.PValue)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("got pairs %q, want %q", got, want)
		}
		if f := cmp.Result.Friedman; f == nil || f.DF != 2 || f.NDonors != cmp.Result.NCompleteDonors {
			t.Errorf("got friedman %+v, want df 2 on the %d complete donors", f, cmp.Result.NCompleteDonors)
		}
		if mm := cmp.Result.MixedModel; mm == nil || len(mm.FixedEffects) != 3 {
			t.Errorf("got mixed model %+v, want an intercept and two protocol effects", mm)
		}
	})

	t.Run("one version", func(t *testing.T) {
		cmp, _ := compare(t, neturl.Values{"protocol": {protoIL2 + "@2", protoEBVIL2}})
		p := cmp.Protocols[0]
		if p.Label != protoIL2+"@2" || p.Name != protoIL2 || !slices.Equal(p.Versions, []int{2}) {
			t.Errorf("got %+v, want label %s@2, name %s, versions [2]", p, protoIL2, protoIL2)
		}
		v2, _ := env.values(protoIL2, 2, demoCulture.harvestFold)
		all, _ := env.values(protoIL2, 0, demoCulture.harvestFold)
		if len(v2) == len(all) {
			t.Fatalf("all %d cultures of %s are version 2; the test cannot tell versions apart", len(all), protoIL2)
		}
		b, _ := env.values(protoEBVIL2, 0, demoCulture.harvestFold)
		wantSummary(t, cmp, map[string][]float64{protoIL2 + "@2": v2, protoEBVIL2: b})
	})

	t.Run("day", func(t *testing.T) {
		cmp, _ := compare(t, neturl.Values{"protocol": {protoIL2, protoEBVIL2}, "day": {"7"}})
		if cmp.Day == nil || *cmp.Day != 7 {
			t.Errorf("got day %v, want 7", cmp.Day)
		}
		on7 := func(c demoCulture) *float64 { return c.foldOnDay(7) }
		a, _ := env.values(protoIL2, 0, on7)
		b, _ := env.values(protoEBVIL2, 0, on7)
		wantSummary(t, cmp, map[string][]float64{protoIL2: a, protoEBVIL2: b})
	})

	t.Run("lu30", func(t *testing.T) {
		cmp, _ := compare(t, neturl.Values{"protocol": {protoIL2, protoEBVIL2}, "metric": {"lu30"}})
		if cmp.Metric != analysis.MetricLU30 || cmp.Scale != "log10" || cmp.AssayMethod != clink.MethodCr51 {
			t.Errorf("got metric %q scale %q method %q, want lu30, log10 and %s", cmp.Metric, cmp.Scale, cmp.AssayMethod, clink.MethodCr51)
		}
		a, _ := env.values(protoIL2, 0, demoCulture.harvestLU30)
		b, _ := env.values(protoEBVIL2, 0, demoCulture.harvestLU30)
		wantSummary(t, cmp, map[string][]float64{protoIL2: a, protoEBVIL2: b})
	})

	t.Run("purity", func(t *testing.T) {
		cmp, _ := compare(t, neturl.Values{"protocol": {protoIL2, protoEBVIL2}, "metric": {"purity"}})
		if cmp.Metric != analysis.MetricPurity || cmp.Scale != "linear" || cmp.AssayMethod != "" {
			t.Errorf("got metric %q scale %q method %q, want purity, linear and none", cmp.Metric, cmp.Scale, cmp.AssayMethod)
		}
		if mm := cmp.Result.MixedModel; mm != nil && mm.Response != "value" {
			t.Errorf("got mixed model response %q, want value (purity is not log-transformed)", mm.Response)
		}
		a, _ := env.values(protoIL2, 0, demoCulture.harvestPurity)
		b, _ := env.values(protoEBVIL2, 0, demoCulture.harvestPurity)
		wantSummary(t, cmp, map[string][]float64{protoIL2: a, protoEBVIL2: b})
	})

	t.Run("viability", func(t *testing.T) {
		cmp, _ := compare(t, neturl.Values{"protocol": {protoIL2, protoEBVIL2}, "metric": {"viability"}})
		if cmp.Metric != analysis.MetricViability || cmp.Scale != "linear" || cmp.NCultures == 0 {
			t.Errorf("got metric %q scale %q and %d cultures, want viability, linear and some", cmp.Metric, cmp.Scale, cmp.NCultures)
		}
		for _, s := range cmp.Result.Summary {
			if s.Q1 < 0 || s.Q3 > 100 {
				t.Errorf("%s: got viability quartiles %g–%g, want percentages", s.Protocol, s.Q1, s.Q3)
			}
		}
	})
}

// testCompareErrors checks that bad comparison requests get a problem naming the parameter.
func testCompareErrors(t *testing.T, env *demoEnv) {
	tests := []struct {
		name   string
		query  string
		status int
		field  string
	}{
		{"unknown protocol", "protocol=IL-2+alone&protocol=No+such+protocol", 422, "protocol"},
		{"one protocol", "protocol=IL-2+alone", 422, "protocol"},
		{"no protocol", "metric=nk_fold", 422, "protocol"},
		{"empty protocol", "protocol=&protocol=IL-2+alone", 422, "protocol"},
		{"protocol named twice", "protocol=IL-2+alone&protocol=IL-2+alone", 422, "protocol"},
		{"version named twice", "protocol=IL-2+alone&protocol=IL-2+alone%402", 422, "protocol"},
		{"unknown version", "protocol=IL-2+alone%409&protocol=EBV-LCL+%2B+IL-2", 422, "protocol"},
		{"version 0", "protocol=IL-2+alone%400&protocol=EBV-LCL+%2B+IL-2", 422, "protocol"},
		{"no culture on the day", "protocol=IL-2+alone&protocol=EBV-LCL+%2B+IL-2&day=300", 422, "protocol"},
		{"unknown metric", "protocol=IL-2+alone&protocol=EBV-LCL+%2B+IL-2&metric=fold", 422, "metric"},
		{"negative day", "protocol=IL-2+alone&protocol=EBV-LCL+%2B+IL-2&day=-1", 422, "day"},
		{"day not a number", "protocol=IL-2+alone&protocol=EBV-LCL+%2B+IL-2&day=seven", 400, "day"},
		{"day given twice", "protocol=IL-2+alone&protocol=EBV-LCL+%2B+IL-2&day=7&day=14", 400, "day"},
		{"unknown method", "protocol=IL-2+alone&protocol=EBV-LCL+%2B+IL-2&metric=lu30&method=LDH", 422, "method"},
		{"unknown parameter", "protocols=IL-2+alone&protocol=IL-2+alone&protocol=EBV-LCL+%2B+IL-2", 400, "protocols"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := env.problem(t, "/api/v1/analysis/compare?"+tc.query)
			wantFieldProblem(t, p, tc.status, tc.field)
		})
	}
}

// testRankingErrors checks that bad ranking requests get a problem naming the parameter.
func testRankingErrors(t *testing.T, env *demoEnv) {
	tests := []struct {
		query  string
		status int
		field  string
	}{
		{"dose_per_kg=0", 422, "dose_per_kg"},
		{"dose_per_kg=-1e7", 422, "dose_per_kg"},
		{"dose_per_kg=1e308", 422, "dose_per_kg"}, // × 70 kg overflows
		{"dose_per_kg=many", 400, "dose_per_kg"},
		{"dose_per_kg=NaN", 400, "dose_per_kg"},
		{"weight_kg=-70", 422, "weight_kg"},
		{"donor_unit_cells=Inf", 400, "donor_unit_cells"},
		{"donor_unit_cells=0", 422, "donor_unit_cells"},
		{"process_recovery=1.5", 422, "process_recovery"},
		{"process_recovery=0", 422, "process_recovery"},
		{"qc_fraction=1", 422, "qc_fraction"},
		{"qc_fraction=-0.1", 422, "qc_fraction"},
		{"day=-3", 422, "day"},
		{"day=3.5", 400, "day"},
		{"method=chromium", 422, "method"},
		{"protocol=IL-2+alone", 400, "protocol"},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			p := env.problem(t, "/api/v1/analysis/ranking?"+tc.query)
			wantFieldProblem(t, p, tc.status, tc.field)
		})
	}
}

// wantFieldProblem checks that p has status and says, once, what is wrong with field.
func wantFieldProblem(tb testing.TB, p clinkhttp.Problem, status int, field string) {
	tb.Helper()
	var about []clink.FieldError
	for _, e := range p.Errors {
		if e.Field == field {
			about = append(about, e)
		}
	}
	if p.Status != status || len(about) != 1 || strings.TrimSpace(about[0].Message) == "" {
		tb.Errorf("got status %d with field errors %v, want %d with one saying what is wrong with %q", p.Status, p.Errors, status, field)
	}
}

// testAnalysisAccess checks that the analyses are readable by a viewer (every test above
// reads as one) and refused without credentials.
func testAnalysisAccess(t *testing.T, env *demoEnv) {
	for _, path := range []string{
		"/api/v1/analysis/ranking",
		"/api/v1/analysis/compare?protocol=IL-2+alone&protocol=EBV-LCL+%2B+IL-2",
	} {
		for _, tc := range []struct {
			who   string
			token string
			want  int
		}{{"viewer", env.token, 200}, {"no token", "", 401}, {"unknown token", strings.Repeat("a", 52), 401}} {
			status, header, body := do(t, env.srv.URL, "GET", path, tc.token, nil)
			if status != tc.want {
				t.Errorf("GET %s as %s: got status %d, want %d (body %s)", path, tc.who, status, tc.want, body)
			}
			if tc.want == 401 && header.Get("WWW-Authenticate") != `Bearer realm="clink"` {
				t.Errorf("GET %s as %s: got WWW-Authenticate %q, want the bearer challenge", path, tc.who, header.Get("WWW-Authenticate"))
			}
		}
	}
}

// testAnalysisFieldsDocumented checks that the answers of the analysis routes and of the
// metrics carry no field that openapi.yaml leaves undescribed. The document allows
// undeclared properties (it never says additionalProperties: false), so the response
// validation alone would let a field added in Go go undocumented.
func testAnalysisFieldsDocumented(t *testing.T, env *demoEnv) {
	doc := loadSpec(t)
	// A culture whose curves were both fitted, so that every schema of the metrics is met.
	metrics := ""
	for _, c := range env.cultures {
		if c.metrics.Metrics.Fits.Gompertz != nil && c.metrics.Metrics.Fits.Logistic != nil && len(c.metrics.Cytotoxicity) > 0 {
			metrics = fmt.Sprintf("/api/v1/cultures/%d/metrics", c.ID)
			break
		}
	}
	if metrics == "" {
		t.Fatal("no demo culture has both growth curves and an assay")
	}
	tests := []struct {
		path, schema string
	}{
		{"/api/v1/analysis/ranking", "AnalysisRanking"},
		{"/api/v1/analysis/compare?protocol=IL-2+alone&protocol=EBV-LCL+%2B+IL-2&metric=lu30", "AnalysisComparison"},
		{"/api/v1/analysis/compare?protocol=IL-2+alone&protocol=IL-2+%2B+IL-15&protocol=EBV-LCL+%2B+IL-2", "AnalysisComparison"},
		{metrics, "CultureMetrics"},
	}
	for _, tc := range tests {
		var v any
		env.get(t, tc.path, &v)
		if bad := undeclared(doc.Components.Schemas[tc.schema].Value, v, ""); len(bad) > 0 {
			t.Errorf("GET %s: fields not in schema %s: %v", tc.path, tc.schema, bad)
		}
	}
}

// undeclared returns the paths of the object keys in v, a decoded JSON value, that schema s
// does not declare. Objects whose schema declares no property at all are free-form.
func undeclared(s *openapi3.Schema, v any, path string) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		props := map[string]*openapi3.Schema{}
		collectProperties(s, props)
		if len(props) == 0 {
			return nil
		}
		for k, val := range x {
			ps, ok := props[k]
			if !ok {
				out = append(out, path+"."+k)
				continue
			}
			out = append(out, undeclared(ps, val, path+"."+k)...)
		}
	case []any:
		items := itemsOf(s)
		for i, val := range x {
			if items == nil {
				return append(out, path+" (no items schema)")
			}
			out = append(out, undeclared(items, val, fmt.Sprintf("%s[%d]", path, i))...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// collectProperties gathers the properties of s and of the schemas it combines with allOf.
func collectProperties(s *openapi3.Schema, props map[string]*openapi3.Schema) {
	if s == nil {
		return
	}
	for k, p := range s.Properties {
		props[k] = p.Value
	}
	for _, a := range s.AllOf {
		collectProperties(a.Value, props)
	}
}

// itemsOf is the items schema of s or of a schema it combines with allOf.
func itemsOf(s *openapi3.Schema) *openapi3.Schema {
	if s == nil {
		return nil
	}
	if s.Items != nil {
		return s.Items.Value
	}
	for _, a := range s.AllOf {
		if it := itemsOf(a.Value); it != nil {
			return it
		}
	}
	return nil
}
