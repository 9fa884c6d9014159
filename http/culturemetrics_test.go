package http_test

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/analysis"
	clinkhttp "github.com/clink-consortium/clink/http"
	"github.com/clink-consortium/clink/kinetics"
)

// The cytotoxicity and growth curves of GET /cultures/{id}/metrics, on the demo consortium
// (through TestAnalysisDemo) and on a culture built for the §6.5 worked example.

// testDemoMetrics checks the cytotoxicity and growth fits of the demo cultures' metrics.
func testDemoMetrics(t *testing.T, env *demoEnv) {
	assays, fitted, logistic := 0, 0, 0
	for _, c := range env.cultures {
		m := c.metrics
		for _, a := range m.Cytotoxicity {
			assays++
			checkAssayAnalysis(t, c.Code, a)
			if a.Fit != nil && a.ETCorrection != nil {
				fitted++
			}
		}
		if !slices.IsSortedFunc(m.Cytotoxicity, func(a, b analysis.AssayAnalysis) int { return a.Day - b.Day }) {
			t.Errorf("%s: cytotoxicity is not in day order", c.Code)
		}
		checkPeak(t, c.Code, m)
		if f := m.Metrics.Fits.Logistic; f != nil {
			logistic++
			checkLogistic(t, c.Code, m, f)
		}
		// A curve that is not fitted is explained in the notes.
		for model, f := range map[string]*kinetics.GrowthFit{"logistic": m.Metrics.Fits.Logistic, "gompertz": m.Metrics.Fits.Gompertz} {
			explained := slices.ContainsFunc(m.Metrics.Notes, func(n string) bool { return strings.HasPrefix(n, model+" curve") })
			if f == nil && !explained {
				t.Errorf("%s: got no %s curve and notes %q, want a note saying why", c.Code, model, m.Metrics.Notes)
			}
		}
	}
	if assays < 100 || fitted == 0 {
		t.Errorf("got %d assays in the metrics, %d fitted on NK E:T; want the demo's 191 and fits", assays, fitted)
	}
	if logistic == 0 {
		t.Error("got no logistic growth curve on any demo culture, want fits where the series allows")
	}

	// One culture read on its own: its assays are those of GET /cultures/{id}/assays and the
	// E:T correction comes from the observation of the assay day.
	i := slices.IndexFunc(env.cultures, func(c demoCulture) bool { return len(c.metrics.Cytotoxicity) > 0 })
	if i < 0 {
		t.Fatal("no demo culture has an assay")
	}
	c := env.cultures[i]
	var assayList struct {
		Items []clinkhttp.Assay `json:"items"`
	}
	env.get(t, fmt.Sprintf("/api/v1/cultures/%d/assays", c.ID), &assayList)
	var obs struct {
		Items []*clink.Observation `json:"items"`
	}
	env.get(t, fmt.Sprintf("/api/v1/cultures/%d/observations", c.ID), &obs)
	if len(assayList.Items) != len(c.metrics.Cytotoxicity) {
		t.Fatalf("%s: got %d analysed assays, want the %d assays of the culture", c.Code, len(c.metrics.Cytotoxicity), len(assayList.Items))
	}
	for _, an := range c.metrics.Cytotoxicity {
		i := slices.IndexFunc(assayList.Items, func(a clinkhttp.Assay) bool { return a.ID == an.AssayID })
		if i < 0 {
			t.Errorf("%s: assay %d is not one of the culture's", c.Code, an.AssayID)
			continue
		}
		a := assayList.Items[i]
		if a.Day != an.Day || a.Target != an.Target || a.Method != an.Method || a.TargetsPerWell != an.TargetsPerWell {
			t.Errorf("assay %d: got day %d %s %s %d targets, want %d %s %s %d", a.ID, an.Day, an.Target, an.Method, an.TargetsPerWell,
				a.Day, a.Target, a.Method, a.TargetsPerWell)
		}
		j := slices.IndexFunc(obs.Items, func(o *clink.Observation) bool { return o.Day == an.Day })
		if j < 0 || an.ETCorrection == nil {
			t.Errorf("assay %d: got E:T correction %v, want one from the observation of day %d", a.ID, an.ETCorrection, an.Day)
			continue
		}
		o := obs.Items[j]
		if e := an.ETCorrection; o.ViabilityPct == nil || o.NKPct == nil || e.ObservationDay != o.Day ||
			e.ViabilityPct != *o.ViabilityPct || e.NKPct != *o.NKPct {
			t.Errorf("assay %d: got correction %+v, want day %d with its viability %v and NK %v", a.ID, *e, o.Day, o.ViabilityPct, o.NKPct)
		}
	}
}

// checkAssayAnalysis checks the numbers of one analysed assay against each other: the NK E:T is
// the nominal E:T times viability × purity (domain.md §6.4), the killing points repeat the
// lysis, and the lytic units follow from the fit by LU_X = 10^7·k/(−T·ln(1 − X/a)) (§6.5).
func checkAssayAnalysis(tb testing.TB, culture string, a analysis.AssayAnalysis) {
	tb.Helper()
	what := fmt.Sprintf("%s assay %d", culture, a.AssayID)
	if e := a.ETCorrection; e != nil && !closeTo(e.Factor, e.ViabilityPct/100*e.NKPct/100, 1e-15) {
		tb.Errorf("%s: got factor %g, want %g %% viability × %g %% NK", what, e.Factor, e.ViabilityPct, e.NKPct)
	}
	if len(a.Points) != len(a.Lysis.Points) {
		tb.Fatalf("%s: got %d killing points for %d lysis points", what, len(a.Points), len(a.Lysis.Points))
	}
	nFitted := 0
	for i, p := range a.Points {
		l := a.Lysis.Points[i]
		if p.ETNominal != l.ETRatio || !sameFloat(p.SpecificLysisPct, l.SpecificLysisPct) {
			tb.Errorf("%s: point %d: got E:T %g lysis %v, want the lysis point's %g and %v", what, i, p.ETNominal, p.SpecificLysisPct, l.ETRatio, l.SpecificLysisPct)
		}
		switch {
		case a.ETCorrection == nil && p.ETNK != nil:
			tb.Errorf("%s: point %d: got NK E:T %g without a correction, want null", what, i, *p.ETNK)
		case a.ETCorrection != nil && (p.ETNK == nil || !closeTo(*p.ETNK, p.ETNominal*a.ETCorrection.Factor, 1e-15)):
			tb.Errorf("%s: point %d: got NK E:T %v, want %g × %g", what, i, p.ETNK, p.ETNominal, a.ETCorrection.Factor)
		}
		if p.Fitted {
			nFitted++
		}
	}
	if a.Fit == nil {
		if a.LU20 != nil || a.LU30 != nil {
			tb.Errorf("%s: got lytic units %v, %v without a fit", what, a.LU20, a.LU30)
		}
		return
	}
	if a.Fit.N != nFitted {
		tb.Errorf("%s: got a fit on %d points, and %d points marked fitted", what, a.Fit.N, nFitted)
	}
	for _, lu := range []struct {
		x   float64
		got *float64
	}{{0.2, a.LU20}, {0.3, a.LU30}} {
		if lu.got == nil {
			continue // not reached, or no point within 20–80 %: the flags say which
		}
		want := 1e7 * a.Fit.K / (-float64(a.TargetsPerWell) * math.Log(1-lu.x/a.Fit.A))
		if !closeTo(*lu.got, want, 1e-12) {
			tb.Errorf("%s: got LU%g %g, want 1e7·k/(−T·ln(1 − X/a)) = %g", what, 100*lu.x, *lu.got, want)
		}
	}
}

// sameFloat reports whether two optional numbers are both null or equal.
func sameFloat(a, b *float64) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

// checkPeak checks peak_nk_day and peak_nk_yield against the points: the highest NK yield,
// the earliest day on a tie.
func checkPeak(tb testing.TB, culture string, m clinkhttp.CultureMetrics) {
	tb.Helper()
	var day *int
	var best float64
	for _, p := range m.Metrics.Points {
		if p.NKYield != nil && (day == nil || *p.NKYield > best) {
			d := p.Day
			day, best = &d, *p.NKYield
		}
	}
	got := m.Metrics
	switch {
	case day == nil && (got.PeakNKDay != nil || got.PeakNKYield != nil):
		tb.Errorf("%s: got a peak on day %v without any NK yield", culture, got.PeakNKDay)
	case day != nil && (got.PeakNKDay == nil || *got.PeakNKDay != *day || got.PeakNKYield == nil || *got.PeakNKYield != best):
		tb.Errorf("%s: got peak day %v yield %v, want day %d yield %g", culture, got.PeakNKDay, got.PeakNKYield, *day, best)
	}
}

// checkLogistic checks a logistic growth curve against the series it was fitted to (the seed
// at day 0, unless the culture was counted that day, and every virtual NK total): its residual SD is √(RSS/(n − 3)) on ln N of
// N = K/(1 + ((K − n0)/n0)·e^(−mu·t)) (domain.md §5.3).
func checkLogistic(tb testing.TB, culture string, m clinkhttp.CultureMetrics, f *kinetics.GrowthFit) {
	tb.Helper()
	if m.Metrics.Fits.Basis != "nk" {
		return // fitted to total cells: not checked here
	}
	var t, n []float64
	if pts := m.Metrics.Points; len(pts) == 0 || pts[0].Day != 0 {
		t, n = []float64{0}, []float64{m.Metrics.StartingNKCells} // the seed, unless counted on day 0
	}
	for _, p := range m.Metrics.Points {
		if p.NKYield != nil && *p.NKYield > 0 {
			t = append(t, float64(p.Day))
			n = append(n, *p.NKYield)
		}
	}
	names := []string{}
	par := map[string]float64{}
	for _, p := range f.Params {
		names = append(names, p.Name)
		par[p.Name] = p.Estimate
	}
	if f.Model != "logistic" || !slices.Equal(names, []string{"n0", "mu", "k"}) || f.N != len(t) || !f.Converged {
		tb.Errorf("%s: got %s fit with params %q on %d points (converged %v), want logistic n0, mu, k on %d points",
			culture, f.Model, names, f.N, f.Converged, len(t))
		return
	}
	rss := 0.0
	for i := range t {
		model := par["k"] / (1 + (par["k"]-par["n0"])/par["n0"]*math.Exp(-par["mu"]*t[i]))
		r := math.Log(n[i]) - math.Log(model)
		rss += r * r
	}
	if want := math.Sqrt(rss / float64(len(t)-3)); !closeTo(f.ResidualSD, want, 1e-6) {
		tb.Errorf("%s: got logistic residual SD %.10g, want %.10g from its parameters and the series", culture, f.ResidualSD, want)
	}
}

// workedAssay is the §6.5 worked example as a 51Cr plate of 5,000 targets: S = 100 and
// M = 1,100 cpm, so that E = 100 + 10 × lysis % gives lysis 12.5, 23.3, 40.6, 62.9 and 81.8 %
// at E:T 1.25, 2.5, 5, 10 and 20, in triplicate wells.
func workedAssay(day int) *clink.Assay {
	a := &clink.Assay{Day: day, Target: clink.TargetK562, Method: clink.MethodCr51, TargetsPerWell: 5000, DurationHours: 4,
		Spontaneous: []float64{100, 100, 100}, Maximum: []float64{1100, 1100, 1100}}
	for i, et := range []float64{1.25, 2.5, 5, 10, 20} {
		e := 100 + 10*[]float64{12.5, 23.3, 40.6, 62.9, 81.8}[i]
		a.Points = append(a.Points, clink.AssayPoint{ETRatio: et, Readings: []float64{e, e, e}})
	}
	return a
}

// The exponential fit of the worked example on its E:T ratios, by R's nls (port, a in (0, 1]):
// cytotox/testdata/fits.R, row exp_worked of cytotox/testdata/exp_expected.csv, T = 5,000.
const (
	rWorkedA    = 0.899750273102388
	rWorkedK    = 0.119996278417924
	rWorkedLU20 = 954.648133461973
	rWorkedLU30 = 591.691945602215
)

// TestCultureCytotoxicity checks the cytotoxicity of GET /cultures/{id}/metrics on a culture
// with three assays:
//   - day 7, corrected: the observation of day 7 has viability 100 % and NK 80 %, so the NK E:T
//     are 0.8 × nominal, the case of domain.md §6.5 ("had those ratios been nominal for an
//     80 %-pure culture: k_NK = 0.15 and LU20 = 1,194"). Scaling x by 0.8 leaves a and scales k
//     and LU by 1/0.8, so the expected values are R's divided by 0.8;
//   - day 14, uncorrected: that day's observation has no NK %, so the fit is on the nominal E:T
//     (R's values as they are), flagged, and left out of the ranking (§6.4);
//   - day 10, not computable: a reading no instrument gives, stored by a process that bypasses
//     the API; it is shown with a note, without lysis or fit.
func TestCultureCytotoxicity(t *testing.T) {
	f := newFixture(t)
	for _, o := range []clink.Observation{
		{Day: 7, ViableCells: 2e7, ViabilityPct: ptr(100.0), NKPct: ptr(80.0)},
		{Day: 14, ViableCells: 6e7, ViabilityPct: ptr(95.0)},
	} {
		must(f.c.CreateObservation(f.ctx, f.culture.ID, &o))(t)
	}
	for _, a := range []*clink.Assay{workedAssay(14), workedAssay(7)} {
		must(f.c.CreateAssay(f.ctx, f.culture.ID, a))(t)
	}
	bad := workedAssay(10)
	bad.CultureID, bad.Site = f.culture.ID, "ZGZ"
	bad.Points[0].Readings[0] = 1e300
	if err := f.srv.Store.CreateAssay(clink.WithActor(f.ctx, "import"), bad); err != nil {
		t.Fatalf("store an assay the API refuses: %v", err)
	}

	status, _, body := do(t, f.srv.URL, "GET", fmt.Sprintf("/api/v1/cultures/%d/metrics", f.culture.ID), f.srv.Token, nil)
	if status != 200 {
		t.Fatalf("got status %d, want 200 (body %s)", status, body)
	}
	var m clinkhttp.CultureMetrics
	var raw any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	if bad := undeclared(loadSpec(t).Components.Schemas["CultureMetrics"].Value, raw, ""); len(bad) > 0 {
		t.Errorf("fields not in schema CultureMetrics: %v", bad)
	}
	if len(m.Cytotoxicity) != 3 {
		t.Fatalf("got %d analysed assays, want 3", len(m.Cytotoxicity))
	}
	var days []int
	for _, a := range m.Cytotoxicity {
		days = append(days, a.Day)
		checkAssayAnalysis(t, f.culture.Code, a)
	}
	if !slices.Equal(days, []int{7, 10, 14}) {
		t.Errorf("got assays on days %v, want day order 7, 10, 14", days)
	}

	tests := []struct {
		name              string
		a                 analysis.AssayAnalysis
		factor            float64 // 0: uncorrected
		a0, k, lu20, lu30 float64
		flag              string
	}{
		{"corrected", m.Cytotoxicity[0], 0.8, rWorkedA, rWorkedK / 0.8, rWorkedLU20 / 0.8, rWorkedLU30 / 0.8, ""},
		{"uncorrected", m.Cytotoxicity[2], 0, rWorkedA, rWorkedK, rWorkedLU20, rWorkedLU30, "uncorrected"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.a
			switch {
			case tc.factor == 0 && a.ETCorrection != nil:
				t.Errorf("got E:T correction %+v, want null (no NK %% on day %d)", *a.ETCorrection, a.Day)
			case tc.factor != 0 && (a.ETCorrection == nil || a.ETCorrection.ObservationDay != a.Day || !closeTo(a.ETCorrection.Factor, tc.factor, 1e-15)):
				t.Errorf("got E:T correction %+v, want factor %g from day %d", a.ETCorrection, tc.factor, a.Day)
			}
			if got := slices.Contains(a.Flags, "uncorrected"); got != (tc.flag == "uncorrected") {
				t.Errorf("got flags %q, want uncorrected %v", a.Flags, !got)
			}
			if a.Fit == nil || a.LU20 == nil || a.LU30 == nil {
				t.Fatalf("got fit %+v, LU20 %v, LU30 %v; want all (notes %q)", a.Fit, a.LU20, a.LU30, a.Notes)
			}
			for _, v := range []struct {
				name      string
				got, want float64
			}{{"a", a.Fit.A, tc.a0}, {"k", a.Fit.K, tc.k}, {"LU20", *a.LU20, tc.lu20}, {"LU30", *a.LU30, tc.lu30}} {
				if !closeTo(v.got, v.want, 1e-4) { // cytotox matches R to 1e-4 relative
					t.Errorf("got %s %.10g, want %.10g", v.name, v.got, v.want)
				}
			}
			if a.Fit.N != 5 || a.Fit.AtBound || a.Fit.ASE == nil || a.Fit.KSE == nil {
				t.Errorf("got fit %+v, want 5 points, a free of its bound, both standard errors", *a.Fit)
			}
		})
	}
	t.Run("not computable", func(t *testing.T) {
		a := m.Cytotoxicity[1]
		if a.Fit != nil || a.LU30 != nil || len(a.Points) != 0 || a.Lysis.Valid {
			t.Errorf("got fit %v, LU30 %v, %d points, valid %v; want none of them", a.Fit, a.LU30, len(a.Points), a.Lysis.Valid)
		}
		if len(a.Notes) == 0 || !strings.Contains(a.Notes[0], "lysis cannot be computed") {
			t.Errorf("got notes %q, want why the lysis cannot be computed", a.Notes)
		}
	})

	// At harvest (day 14) killing comes from the day-14 assay, which is uncorrected: the
	// ranking leaves it out and says so.
	must(f.c.SetCultureStatus(f.ctx, f.culture.ID, clink.CultureStatusChange{Status: clink.StatusCompleted}))(t)
	status, _, body = do(t, f.srv.URL, "GET", "/api/v1/analysis/ranking", f.srv.Token, nil)
	var rk analysis.Ranking
	if err := json.Unmarshal(body, &rk); status != 200 || err != nil {
		t.Fatalf("ranking: got status %d (%v), want 200: %s", status, err, body)
	}
	if len(rk.Ranking.Protocols) != 1 {
		t.Fatalf("ranking: got %d protocols, want 1", len(rk.Ranking.Protocols))
	}
	s := rk.Ranking.Protocols[0]
	if s.NLU30 != 0 || s.LU30 != nil || s.NKFold != nil || s.OnFront || len(rk.Ranking.Front) != 0 || rk.Ranking.Hypervolume != nil {
		t.Errorf("ranking: got %+v, front %q; want no LU30 (uncorrected), no NK fold (no NK %% at harvest), no front", s, rk.Ranking.Front)
	}
	if !slices.ContainsFunc(rk.Notes, func(n string) bool { return strings.Contains(n, "E:T not corrected") }) {
		t.Errorf("ranking: got notes %q, want one about the uncorrected assay", rk.Notes)
	}
}
