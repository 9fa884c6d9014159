package cytotox

import (
	"fmt"
	"math"
	"slices"

	"github.com/clink-consortium/clink"
)

// Potency flags, in Potency.Flags and SampleAnalysis.QC. Each says why a fit or a lytic unit
// is missing, or what to keep in mind when reading them.
const (
	FlagPlateInvalid    = "plate_invalid"         // the plate is invalid (§6.3): no lysis, no fit
	FlagTooFewPoints    = "too_few_points"        // fewer than 3 points pass QC for fitting (§6.3): no fit
	FlagFitFailed       = "fit_failed"            // the exponential model does not converge on the points
	FlagPlateauBelow20  = "plateau_below_20"      // a <= 0.20: LU20 not reached
	FlagPlateauBelow30  = "plateau_below_30"      // a <= 0.30: LU30 not reached
	FlagNoPointIn20To80 = "no_point_within_20_80" // no fitted point lyses 20–80 % (§6.3): LU not reported
	FlagUncorrected     = "uncorrected"           // E:T ratios are nominal, not NK-corrected (§6.4)
	FlagTargetsUnknown  = "targets_unknown"       // no target count: the fit but no LU
)

// MinFitPoints is the fewest E:T points a fit for lytic units takes (§6.3).
const MinFitPoints = 3

// Potency is the exponential model fitted to the specific lysis of one assay and the lytic
// units it gives.
type Potency struct {
	Fit  *ExpFit  `json:"fit"`          // nil when not fitted (see Flags)
	LU20 *float64 `json:"lu20_per_1e7"` // per 10⁷ effectors counted by the fitted E:T
	LU30 *float64 `json:"lu30_per_1e7"`
	// Fitted says, point by point of the Result, whether the point entered the fit.
	Fitted []bool `json:"fitted"`
	// Flags are the Flag* constants that apply, in a fixed order; never nil.
	Flags []string `json:"flags"`
}

// FitResult fits the exponential model of §6.5 to the specific lysis of res and computes LU20
// and LU30 per 10⁷ effectors for targets target cells per well.
//
// etNK gives the NK-corrected E:T ratio of each point of res, in order (see CorrectET); the
// fit and the lytic units are then per NK cell. With etNK nil the points' own ratios are
// used and the result is flagged FlagUncorrected. targets 0 means unknown: the fit is
// reported without lytic units (FlagTargetsUnknown).
//
// A point enters the fit when its lysis was computed and QC keeps it (§6.3): not when its
// replicate CV is above the exclusion limit (RuleExcludedFromFit), and not when it is a
// single well while other points have replicates (RuleSingleReplicate) — when no point has
// replicates, every point is fitted, since there is no better-replicated evidence to prefer.
// With fewer than MinFitPoints such points there is no fit (FlagTooFewPoints). Lytic units
// are nil when not reached (FlagPlateauBelow20/30) and, per §6.3, when no fitted point has
// lysis within 20–80 % (FlagNoPointIn20To80). An invalid plate gives FlagPlateInvalid.
//
// It returns an EINVALID *clink.Error only for impossible input: etNK of another length than
// res.Points, a ratio in etNK not in (0, MaxFitETRatio], or targets negative or not finite.
func FitResult(res Result, etNK []float64, targets float64) (Potency, error) {
	var fe clink.FieldErrors
	if etNK != nil && len(etNK) != len(res.Points) {
		fe.Addf("et_nk", "has %d ratios for %d points", len(etNK), len(res.Points))
	}
	for i, v := range etNK {
		if !(v > 0) || v > MaxFitETRatio {
			fe.Addf(fmt.Sprintf("et_nk[%d]", i), "%g is not a ratio in (0, %g]", v, float64(MaxFitETRatio))
		}
	}
	if !(targets >= 0) || math.IsInf(targets, 1) {
		fe.Addf("targets", "%g is not a number of target cells (0 when unknown)", targets)
	}
	if err := fe.Err(); err != nil {
		return Potency{}, err
	}
	x := etNK
	if x == nil {
		x = make([]float64, len(res.Points))
		for i, p := range res.Points {
			x[i] = p.ETRatio
		}
	}
	pot := fitPotency(res, x, targets)
	if etNK == nil {
		pot.Flags = append(pot.Flags, FlagUncorrected)
	}
	return pot, nil
}

// fitPotency does the work of FitResult on checked input; x holds the ratio of each point.
func fitPotency(res Result, x []float64, targets float64) Potency {
	pot := Potency{Fitted: make([]bool, len(res.Points)), Flags: []string{}}
	if !res.Valid {
		pot.Flags = append(pot.Flags, FlagPlateInvalid)
		return pot
	}
	allSingle := true
	for _, p := range res.Points {
		if p.SpecificLysisPct != nil && !slices.Contains(p.Flags, RuleSingleReplicate) {
			allSingle = false
		}
	}
	var fx, fy []float64
	in2080 := false
	for i, p := range res.Points {
		if p.SpecificLysisPct == nil || slices.Contains(p.Flags, RuleExcludedFromFit) ||
			slices.Contains(p.Flags, RuleNotComputable) || (slices.Contains(p.Flags, RuleSingleReplicate) && !allSingle) {
			continue
		}
		pot.Fitted[i] = true
		fx = append(fx, x[i])
		fy = append(fy, *p.SpecificLysisPct/100)
		if l := *p.SpecificLysisPct; l >= 20 && l <= 80 {
			in2080 = true
		}
	}
	if len(fx) < MinFitPoints {
		pot.Flags = append(pot.Flags, FlagTooFewPoints)
		clear(pot.Fitted)
		return pot
	}
	fit, err := FitExponential(fx, fy)
	if err != nil {
		pot.Flags = append(pot.Flags, FlagFitFailed)
		clear(pot.Fitted)
		return pot
	}
	pot.Fit = fit
	if fit.A <= 0.2 {
		pot.Flags = append(pot.Flags, FlagPlateauBelow20)
	}
	if fit.A <= 0.3 {
		pot.Flags = append(pot.Flags, FlagPlateauBelow30)
	}
	if targets == 0 {
		pot.Flags = append(pot.Flags, FlagTargetsUnknown)
		return pot
	}
	pot.LU20 = LyticUnits(*fit, 20, targets)
	pot.LU30 = LyticUnits(*fit, 30, targets)
	if !in2080 && (pot.LU20 != nil || pot.LU30 != nil) {
		pot.LU20, pot.LU30 = nil, nil
		pot.Flags = append(pot.Flags, FlagNoPointIn20To80)
	}
	return pot
}
