package rank

import (
	"math"
	"testing"

	"github.com/clink-consortium/clink"
	"github.com/google/go-cmp/cmp"
)

func ptr(v float64) *float64 { return &v }

// harvest returns a passing outcome (viability 90 %, purity 85 %, T cells 0.5 %, K562 lysis
// 45 %) changed by edit.
func harvest(edit func(*Outcome)) Outcome {
	o := Outcome{Culture: "C1", Donor: "D1", Protocol: "P1", StartingNKFraction: 0.1,
		NKFold: ptr(500), ViabilityPct: ptr(90), PurityPct: ptr(85), TCellPct: ptr(0.5), K562LysisAt20: ptr(45)}
	if edit != nil {
		edit(&o)
	}
	return o
}

// TestAssess covers the limits of domain.md §8.2. T cells per kg at 1×10⁷ NK/kg are
// 1e7 × T% / purity%: 0.8 % T with 80 % NK gives exactly 1×10⁵ (at the cap, allowed), 0.81 %
// gives 1.0125×10⁵ (over), and 5 % T with 95 % NK gives 5.26×10⁵ (over: §8.2 limits such a
// product to 1.9×10⁶ NK/kg).
func TestAssess(t *testing.T) {
	tests := []struct {
		name    string
		o       Outcome
		opt     Options
		status  string
		failed  []string
		missing []string
		tPerKg  *float64
	}{
		{"all pass", harvest(nil), Options{}, Eligible, []string{}, []string{}, ptr(1e7 * 0.5 / 85)},
		{"viability exactly 70 fails (> 70)", harvest(func(o *Outcome) { o.ViabilityPct = ptr(70) }), Options{},
			Ineligible, []string{CriterionViability}, []string{}, ptr(1e7 * 0.5 / 85)},
		{"viability 70.01 passes", harvest(func(o *Outcome) { o.ViabilityPct = ptr(70.01) }), Options{},
			Eligible, []string{}, []string{}, ptr(1e7 * 0.5 / 85)},
		{"purity exactly 70 fails (> 70)", harvest(func(o *Outcome) { o.PurityPct = ptr(70); o.TCellPct = ptr(0.1) }), Options{},
			Ineligible, []string{CriterionPurity}, []string{}, ptr(1e7 * 0.1 / 70)},
		{"T cells at the cap pass (≤ 1e5)", harvest(func(o *Outcome) { o.PurityPct = ptr(80); o.TCellPct = ptr(0.8) }), Options{},
			Eligible, []string{}, []string{}, ptr(1e5)},
		{"T cells over the cap fail", harvest(func(o *Outcome) { o.PurityPct = ptr(80); o.TCellPct = ptr(0.81) }), Options{},
			Ineligible, []string{CriterionTCells}, []string{}, ptr(1.0125e5)},
		{"95 % NK, 5 % T fails at 1e7/kg", harvest(func(o *Outcome) { o.PurityPct = ptr(95); o.TCellPct = ptr(5) }), Options{},
			Ineligible, []string{CriterionTCells}, []string{}, ptr(1e7 * 5 / 95.0)},
		{"95 % NK, 5 % T passes at 1.9e6/kg", harvest(func(o *Outcome) { o.PurityPct = ptr(95); o.TCellPct = ptr(5) }),
			Options{DosePerKg: 1.9e6}, Eligible, []string{}, []string{}, ptr(1e5)},
		{"no T cells", harvest(func(o *Outcome) { o.TCellPct = ptr(0) }), Options{}, Eligible, []string{}, []string{}, ptr(0)},
		{"K562 lysis exactly 20 fails (> 20)", harvest(func(o *Outcome) { o.K562LysisAt20 = ptr(20) }), Options{},
			Ineligible, []string{CriterionPotency}, []string{}, ptr(1e7 * 0.5 / 85)},
		{"K562 lysis not measured is not needed", harvest(func(o *Outcome) { o.K562LysisAt20 = nil }), Options{},
			Eligible, []string{}, []string{}, ptr(1e7 * 0.5 / 85)},
		{"viability missing", harvest(func(o *Outcome) { o.ViabilityPct = nil }), Options{},
			NotAssessable, []string{}, []string{"viability_pct"}, ptr(1e7 * 0.5 / 85)},
		{"T-cell % missing", harvest(func(o *Outcome) { o.TCellPct = nil }), Options{},
			NotAssessable, []string{}, []string{"t_cell_pct"}, nil},
		{"purity missing: T cells per kg unknown", harvest(func(o *Outcome) { o.PurityPct = nil }), Options{},
			NotAssessable, []string{}, []string{"purity_pct"}, nil},
		{"a measured failure outweighs a missing value", harvest(func(o *Outcome) { o.ViabilityPct = nil; o.K562LysisAt20 = ptr(5) }), Options{},
			Ineligible, []string{CriterionPotency}, []string{"viability_pct"}, ptr(1e7 * 0.5 / 85)},
		{"no NK cells but T cells", harvest(func(o *Outcome) { o.PurityPct = ptr(0); o.TCellPct = ptr(60) }), Options{},
			Ineligible, []string{CriterionPurity, CriterionTCells}, []string{}, nil},
		{"every criterion fails", harvest(func(o *Outcome) {
			o.ViabilityPct, o.PurityPct, o.TCellPct, o.K562LysisAt20 = ptr(50), ptr(40), ptr(40), ptr(-3)
		}), Options{}, Ineligible, []string{CriterionViability, CriterionPurity, CriterionTCells, CriterionPotency}, []string{}, ptr(1e7)},
		{"a stricter site specification", harvest(nil), Options{Spec: Spec{MinViabilityPct: 95}},
			Ineligible, []string{CriterionViability}, []string{}, ptr(1e7 * 0.5 / 85)},
		{"autologous purity limit 50 %", harvest(func(o *Outcome) { o.PurityPct = ptr(60); o.TCellPct = ptr(0.2) }),
			Options{Spec: Spec{MinPurityPct: 50}}, Eligible, []string{}, []string{}, ptr(1e7 * 0.2 / 60)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Assess(tc.o, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			want := Assessment{Status: tc.status, Failed: tc.failed, Missing: tc.missing, TCellsPerKg: tc.tPerKg}
			if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b float64) bool {
				return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), 1)
			})); diff != "" {
				t.Errorf("assessment (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAssessTCellBoundaryExact checks that the cap comparison sees the exact product: 0.8 %
// T cells with 80 % NK at 1×10⁷/kg must give 1×10⁵ and pass, not fail on a rounding error.
func TestAssessTCellBoundaryExact(t *testing.T) {
	a, err := Assess(harvest(func(o *Outcome) { o.PurityPct = ptr(80); o.TCellPct = ptr(0.8) }), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a.TCellsPerKg == nil || *a.TCellsPerKg != 1e5 || a.Status != Eligible {
		t.Errorf("got %v T cells/kg, status %s; want exactly 100000, eligible", a.TCellsPerKg, a.Status)
	}
}

func TestAssessErrors(t *testing.T) {
	tests := []struct {
		name  string
		o     Outcome
		opt   Options
		field string
	}{
		{"viability over 100", harvest(func(o *Outcome) { o.ViabilityPct = ptr(101) }), Options{}, "outcome.viability_pct"},
		{"purity NaN", harvest(func(o *Outcome) { o.PurityPct = ptr(math.NaN()) }), Options{}, "outcome.purity_pct"},
		{"negative T cells", harvest(func(o *Outcome) { o.TCellPct = ptr(-1) }), Options{}, "outcome.t_cell_pct"},
		{"infinite lysis", harvest(func(o *Outcome) { o.K562LysisAt20 = ptr(math.Inf(1)) }), Options{}, "outcome.k562_lysis_at_20_pct"},
		{"negative minimum", harvest(nil), Options{Spec: Spec{MinPurityPct: -5}}, "options.spec.min_purity_pct"},
		{"minimum 100", harvest(nil), Options{Spec: Spec{MinViabilityPct: 100}}, "options.spec.min_viability_pct"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Assess(tc.o, tc.opt)
			if clink.ErrorCode(err) != clink.EINVALID {
				t.Fatalf("got error %v, want EINVALID", err)
			}
			if f := clink.ErrorFields(err); len(f) == 0 || f[0].Field != tc.field {
				t.Errorf("got fields %v, want %s", f, tc.field)
			}
		})
	}
}
