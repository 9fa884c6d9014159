package analysis

import (
	"slices"
	"strings"
	"testing"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/cytotox"
)

// handLysis is the specific lysis of each point of a, as a percentage, worked out as domain.md
// §6.1 and §6.2 write it on the replicate means: 100 (E − S)/(M − S) for a release assay and
// 100 (D_ET − D_T)/(100 − D_T) for the flow-based dead fraction.
func handLysis(a *clink.Assay) []float64 {
	mean := func(xs []float64) float64 {
		var s float64
		for _, x := range xs {
			s += x
		}
		return s / float64(len(xs))
	}
	s, m := mean(a.Spontaneous), 100.0
	if a.Method != clink.MethodFlow {
		m = mean(a.Maximum)
	}
	out := make([]float64, len(a.Points))
	for i, p := range a.Points {
		out[i] = 100 * (mean(p.Readings) - s) / (m - s)
	}
	return out
}

// TestAnalyzeAssay checks the killing of the fixture's assays: the E:T correction factor
// (viability × purity on the assay day), the NK E:T of each point, the specific lysis, and the
// fit and lytic units, which must be cytotox's on the hand-computed NK E:T and lysis, and the
// closed form of the curve the readings were built from.
func TestAnalyzeAssay(t *testing.T) {
	c := newConsortium(t)
	tests := []struct {
		assay, culture string
		cv             curve
		obsDay         int // the count the correction comes from
		via, nk        float64
	}{
		{"c1d7", "c1", curveC1d7, 7, 90, 40},
		{"c1d14", "c1", curveC1d14, 14, 92, 80},
		{"c2d14", "c2", curveC2d14, 14, 95, 90},
		{"c4d14", "c4", curveC4d14, 14, 90, 75},
		{"c7d14", "c7", curveC7d14, 14, 90, 50},
	}
	for _, tc := range tests {
		t.Run(tc.assay, func(t *testing.T) {
			a := c.assays[tc.assay]
			an := AnalyzeAssay(a, c.obs[tc.culture])
			if an.AssayID != a.ID || an.Day != a.Day || an.Method != a.Method || an.Target != clink.TargetK562 || an.TargetsPerWell != 5000 {
				t.Errorf("got assay %d day %d %s on %s with %d targets, want %d day %d %s on K562 with 5000",
					an.AssayID, an.Day, an.Method, an.Target, an.TargetsPerWell, a.ID, a.Day, a.Method)
			}
			if an.ETCorrection == nil {
				t.Fatalf("no E:T correction; notes %q", an.Notes)
			}
			factor := tc.via / 100 * tc.nk / 100
			if got := *an.ETCorrection; got.ObservationDay != tc.obsDay || got.ViabilityPct != tc.via || got.NKPct != tc.nk || !near(got.Factor, factor, 1e-15) {
				t.Errorf("E:T correction: got %+v, want day %d, viability %g, NK %g, factor %g", got, tc.obsDay, tc.via, tc.nk, factor)
			}
			lysis := handLysis(a)
			x := make([]float64, len(a.Points))
			y := make([]float64, len(a.Points))
			if len(an.Points) != len(a.Points) {
				t.Fatalf("got %d points, want %d", len(an.Points), len(a.Points))
			}
			for i, p := range an.Points {
				x[i], y[i] = a.Points[i].ETRatio*factor, lysis[i]/100
				if p.ETNominal != a.Points[i].ETRatio || p.ETNK == nil || !near(*p.ETNK, x[i], 1e-15) || !p.Fitted {
					t.Errorf("point %d: got %+v, want nominal %g, NK E:T %g, fitted", i, p, a.Points[i].ETRatio, x[i])
				}
				checkPtr(t, "specific lysis", p.SpecificLysisPct, lysis[i], 1e-12)
				checkPtr(t, "specific lysis against the curve", p.SpecificLysisPct, 100*tc.cv.lysis(a.Points[i].ETRatio), 1e-9)
			}
			fit, err := cytotox.FitExponential(x, y)
			if err != nil {
				t.Fatal(err)
			}
			if an.Fit == nil {
				t.Fatalf("no fit; flags %q, notes %q", an.Flags, an.Notes)
			}
			if !near(an.Fit.A, fit.A, 1e-12) || !near(an.Fit.K, fit.K, 1e-12) {
				t.Errorf("fit: got a %.15g k %.15g, want cytotox's on the hand inputs a %.15g k %.15g", an.Fit.A, an.Fit.K, fit.A, fit.K)
			}
			if !near(an.Fit.A, tc.cv.a, 1e-7) || !near(an.Fit.K, tc.cv.k, 1e-7) {
				t.Errorf("fit: got a %.10g k %.10g, want the curve's a %g k %g", an.Fit.A, an.Fit.K, tc.cv.a, tc.cv.k)
			}
			for _, lv := range []struct {
				level float64
				got   *float64
			}{{20, an.LU20}, {30, an.LU30}} {
				want := cytotox.LyticUnits(*fit, lv.level, 5000)
				if want == nil {
					t.Fatalf("LU%g of the hand fit is not reached", lv.level)
				}
				checkPtr(t, "LU vs cytotox.LyticUnits", lv.got, *want, 1e-12)
				checkPtr(t, "LU vs closed form", lv.got, tc.cv.lu(lv.level), 1e-6)
			}
			if len(an.Flags) != 0 || len(an.Notes) != 0 {
				t.Errorf("got flags %q and notes %q, want none", an.Flags, an.Notes)
			}
			checkPtr(t, "lysis at nominal 20:1", an.LysisAtNominal(20), 100*tc.cv.lysis(20), 1e-9)
			checkPtr(t, "lysis at nominal 7:1 (not measured)", an.LysisAtNominal(7), none, 0)
		})
	}
}

// TestAnalyzeAssayUncorrected checks an assay on a day without a count (c3, day 10): no E:T
// correction, no NK E:T, a fit on the nominal ratios flagged "uncorrected", and a note.
func TestAnalyzeAssayUncorrected(t *testing.T) {
	c := newConsortium(t)
	a := c.assays["c3d10"]
	an := AnalyzeAssay(a, c.obs["c3"])
	if an.ETCorrection != nil {
		t.Errorf("got E:T correction %+v, want none", *an.ETCorrection)
	}
	for i, p := range an.Points {
		if p.ETNK != nil {
			t.Errorf("point %d: got NK E:T %g, want none", i, *p.ETNK)
		}
	}
	if !slices.Contains(an.Flags, cytotox.FlagUncorrected) {
		t.Errorf("flags %q lack %q", an.Flags, cytotox.FlagUncorrected)
	}
	if len(an.Notes) != 1 || !strings.HasPrefix(an.Notes[0], "uncorrected: no NK purity and viability recorded on day 10") {
		t.Errorf("notes: got %q, want one saying it is uncorrected on day 10", an.Notes)
	}
	if an.Fit == nil || !near(an.Fit.A, curveC3d10.a, 1e-7) || !near(an.Fit.K, curveC3d10.k, 1e-7) {
		t.Errorf("fit: got %+v, want a %g k %g on the nominal ratios", an.Fit, curveC3d10.a, curveC3d10.k)
	}
	// The same assay read with a count on its day is corrected by it.
	obs := append(slices.Clone(c.obs["c3"]), &clink.Observation{Day: 10, ViableCells: 4e6, NKPct: pct(50), ViabilityPct: pct(80)})
	an = AnalyzeAssay(a, obs)
	if an.ETCorrection == nil || !near(an.ETCorrection.Factor, 0.4, 1e-15) {
		t.Errorf("with a day-10 count: got correction %+v, want factor 0.4", an.ETCorrection)
	}
	// A count with viability but no purity does not correct.
	obs[len(obs)-1] = &clink.Observation{Day: 10, ViableCells: 4e6, ViabilityPct: pct(80)}
	if an = AnalyzeAssay(a, obs); an.ETCorrection != nil {
		t.Errorf("without purity: got correction %+v, want none", *an.ETCorrection)
	}
}

// TestAnalyzeAssayQC checks that the QC of §6.3 reaches the analysis: a plate with 40 %
// spontaneous release is invalid (no lysis, no fit), and a plate without targets per well
// has a fit but no lytic units.
func TestAnalyzeAssayQC(t *testing.T) {
	obs := []*clink.Observation{{Day: 14, ViableCells: 1e7, NKPct: pct(80), ViabilityPct: pct(90)}}
	invalid := releaseAssay(14, curve{a: 0.6, k: 0.2, factor: 0.72})
	invalid.Spontaneous = []float64{440, 440, 440} // 100 × 440/1,100 = 40 %
	an := AnalyzeAssay(invalid, obs)
	if an.Lysis.Valid || an.Fit != nil || an.LU30 != nil || !slices.Contains(an.Flags, cytotox.FlagPlateInvalid) {
		t.Errorf("40 %% spontaneous: got valid %v, fit %v, LU30 %v, flags %q; want invalid, no fit, no LU, %q",
			an.Lysis.Valid, an.Fit, an.LU30, an.Flags, cytotox.FlagPlateInvalid)
	}
	checkPtr(t, "lysis at 20:1 of an invalid plate", an.LysisAtNominal(20), none, 0)

	noTargets := releaseAssay(14, curve{a: 0.6, k: 0.2, factor: 0.72})
	noTargets.TargetsPerWell = 0
	an = AnalyzeAssay(noTargets, obs)
	if an.Fit == nil || an.LU20 != nil || an.LU30 != nil || !slices.Contains(an.Flags, cytotox.FlagTargetsUnknown) {
		t.Errorf("no targets per well: got fit %v, LU20 %v, LU30 %v, flags %q; want a fit, no LU, %q",
			an.Fit, an.LU20, an.LU30, an.Flags, cytotox.FlagTargetsUnknown)
	}
}
