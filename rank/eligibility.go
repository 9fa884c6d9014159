package rank

import "math"

// Eligibility statuses of a harvest.
const (
	Eligible      = "eligible"       // every criterion that applies was measured and met
	Ineligible    = "ineligible"     // at least one measured criterion failed
	NotAssessable = "not_assessable" // nothing failed, but a needed value is missing
)

// Release criteria, as named in Assessment.Failed.
const (
	CriterionViability = "viability"      // viability > MinViabilityPct
	CriterionPurity    = "purity"         // CD3−CD56+ > MinPurityPct
	CriterionTCells    = "t_cells_per_kg" // CD3+ per kg at the intended dose ≤ MaxTCellsPerKg
	CriterionPotency   = "k562_lysis"     // K562 lysis at 20:1 > MinK562LysisPct, when measured
)

// Assessment is the verdict of the release specification on one harvest.
type Assessment struct {
	Status string `json:"status"` // Eligible, Ineligible or NotAssessable
	// Failed lists the criteria the harvest failed, in specification order; never nil.
	Failed []string `json:"failed"`
	// Missing lists the Outcome values that a criterion needs and that were not recorded
	// (viability_pct, purity_pct, t_cell_pct); never nil.
	Missing []string `json:"missing"`
	// TCellsPerKg is the CD3+ cells per kg infused with the intended NK dose, DosePerKg ×
	// TCellPct / PurityPct; nil when it cannot be computed (a value missing, or no NK cells).
	TCellsPerKg *float64 `json:"t_cells_per_kg"`
}

// Assess applies the release specification of domain.md §8.2 (defaults from Lapteva et al.
// 2012) to one harvest:
//   - viability > MinViabilityPct (70 %);
//   - CD3−CD56+ purity > MinPurityPct (70 %);
//   - CD3+ cells per kg at the intended dose ≤ MaxTCellsPerKg (1×10⁵/kg), where the T cells
//     in a dose of DosePerKg NK/kg are DosePerKg × TCellPct / PurityPct per kg;
//   - K562 lysis at E:T 20:1 > MinK562LysisPct (20 %), checked only when measured.
//
// A harvest that fails any measured criterion is Ineligible even if other values are missing,
// because a missing result can never turn a failure into a pass. One that fails nothing but
// lacks viability, purity or T-cell % is NotAssessable. Residual feeders (< 0.1 %) are not
// recorded in research data and are not checked. Comparisons use the values as given, with no
// rounding. The error is EINVALID for invalid options or outcome values.
func Assess(o Outcome, opt Options) (Assessment, error) {
	res, err := resolve(opt)
	if err != nil {
		return Assessment{}, err
	}
	var fe fieldErrors
	checkOutcome(o, "outcome", &fe)
	if err := fe.err(); err != nil {
		return Assessment{}, err
	}
	return assess(o, res), nil
}

// assess is Assess on a checked outcome and resolved options.
func assess(o Outcome, opt Options) Assessment {
	spec := opt.Spec
	a := Assessment{Failed: []string{}, Missing: []string{}}
	if o.ViabilityPct == nil {
		a.Missing = append(a.Missing, "viability_pct")
	} else if !(*o.ViabilityPct > spec.MinViabilityPct) {
		a.Failed = append(a.Failed, CriterionViability)
	}
	if o.PurityPct == nil {
		a.Missing = append(a.Missing, "purity_pct")
	} else if !(*o.PurityPct > spec.MinPurityPct) {
		a.Failed = append(a.Failed, CriterionPurity)
	}
	switch {
	case o.TCellPct == nil:
		a.Missing = append(a.Missing, "t_cell_pct")
	case *o.TCellPct == 0:
		zero := 0.0
		a.TCellsPerKg = &zero
	case o.PurityPct == nil:
		// The T cells per NK cell are unknown until purity is measured.
	case *o.PurityPct == 0:
		// T cells but no NK cells: any dose is all T cells.
		a.Failed = append(a.Failed, CriterionTCells)
	default:
		t := opt.DosePerKg * *o.TCellPct / *o.PurityPct
		if !math.IsInf(t, 0) { // a vanishing purity can overflow; the cap then fails anyway
			a.TCellsPerKg = &t
		}
		if !(t <= spec.MaxTCellsPerKg) {
			a.Failed = append(a.Failed, CriterionTCells)
		}
	}
	if o.K562LysisAt20 != nil && !(*o.K562LysisAt20 > spec.MinK562LysisPct) {
		a.Failed = append(a.Failed, CriterionPotency)
	}
	switch {
	case len(a.Failed) > 0:
		a.Status = Ineligible
	case len(a.Missing) > 0:
		a.Status = NotAssessable
	default:
		a.Status = Eligible
	}
	return a
}
