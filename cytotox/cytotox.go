// Package cytotox analyses cytotoxicity assays (domain.md §6): it turns the raw well readings
// into percent specific lysis per effector:target ratio and applies the plate and point QC
// rules of §6.1–6.3, corrects E:T ratios for NK purity (§6.4), fits the exponential lysis
// model and the 4PL and derives lytic units (§6.5–6.6), and analyses whole plates for
// `clink analyze cytotox`.
//
// SpecificLysis knows three readouts (Kind): release assays (⁵¹Cr, calcein), where lysis is
// 100 (E − S)/(M − S); the flow dead-fraction method, 100 (D_ET − D_T)/(100 − D_T); and the
// flow absolute-count method with counting beads, 100 (1 − L_ET/L_T). FitExponential,
// FitFourPL, LyticUnits and LyticUnits4PL work on lysis fractions; FitResult fits a Result,
// and AnalyzePlate analyses the rows of a plate file, sample by sample.
//
// It is pure computation on plain values. Only structurally impossible input is an error;
// QC problems are flags, and an invalid plate still reports its raw means but no lysis. Every
// number in a Result, an ExpFit or a PlateAnalysis is finite, so each always marshals to JSON.
package cytotox

import (
	"fmt"
	"math"

	"github.com/clink-consortium/clink"
)

// Kind says which formula turns readings into specific lysis.
type Kind int

const (
	Release       Kind = iota // 51Cr or calcein release: 100 (E - S)/(M - S) on replicate means
	DeadFraction              // flow: 100 (D_ET - D_T)/(100 - D_T), readings are % dead targets
	CountingBeads             // flow absolute count: 100 (1 - L_ET/L_T), readings are live targets per fixed bead count
)

// String returns the name of the kind.
func (k Kind) String() string {
	switch k {
	case Release:
		return "release"
	case DeadFraction:
		return "dead fraction"
	case CountingBeads:
		return "counting beads"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Wells are the replicate readings of the experimental wells at one E:T ratio.
type Wells struct {
	ETRatio  float64
	Readings []float64
}

// Point is the specific lysis at one E:T ratio.
type Point struct {
	ETRatio           float64   `json:"et_ratio"`
	Mean              float64   `json:"mean_reading"`
	CVPct             *float64  `json:"cv_pct"`             // replicate CV of raw signal; nil with < 2 wells
	SpecificLysisPct  *float64  `json:"specific_lysis_pct"` // raw, may be < 0 or > 100; nil when the plate is invalid
	ReplicateLysisPct []float64 `json:"replicate_lysis_pct"`
	Flags             []string  `json:"flags"`
}

// Flag levels.
const (
	LevelInvalid = "invalid"
	LevelWarning = "warning"
)

// QC rule names, used in Flag.Rule and Point.Flags.
const (
	RuleSpontaneous     = "spontaneous_release"       // spontaneous S/M (or D_T) above the limits
	RuleMaxNotAbove     = "max_not_above_spontaneous" // M ≤ S (or D_T = 100 %, or L_T = 0): no denominator
	RuleDynamicRange    = "dynamic_range"             // M/S below MinDynamicRange
	RuleReplicateCV     = "replicate_cv"              // replicate CV above CVWarnPct
	RuleExcludedFromFit = "excluded_from_fit"         // replicate CV above CVExcludePct: not for fitting
	RuleSingleReplicate = "single_replicate"          // fewer than 2 wells: reported, not fitted
	RuleLysisOutOfRange = "lysis_out_of_range"        // lysis < 0 or > 100 %: stored as computed
	RuleNotComputable   = "lysis_not_computable"      // lysis overflowed for extreme readings
)

// Flag is a QC finding.
type Flag struct {
	Level   string `json:"level"` // "invalid" or "warning"
	Rule    string `json:"rule"`  // e.g. "spontaneous_release", "max_not_above_spontaneous", "replicate_cv", "lysis_out_of_range"
	Message string `json:"message"`
}

// Result is the specific lysis of one assay plate with its QC findings.
type Result struct {
	SpontaneousMean float64  `json:"spontaneous_mean"`
	MaximumMean     *float64 `json:"maximum_mean"`
	SpontaneousPct  *float64 `json:"spontaneous_pct"` // release assays: 100 S/M
	Valid           bool     `json:"valid"`
	Points          []Point  `json:"points"`
	Flags           []Flag   `json:"flags"`
}

// QC holds the thresholds (domain.md §6.3). Zero value = defaults: spontaneous > 30 % invalid, > 20 % warning,
// M/S < 3 warning, replicate CV > 15 % warning (> 20 % flagged as excluded-from-fit), M <= S invalid.
type QC struct{ SpontaneousInvalidPct, SpontaneousWarnPct, MinDynamicRange, CVWarnPct, CVExcludePct float64 }

// DefaultQC is the QC a zero QC stands for.
var DefaultQC = QC{SpontaneousInvalidPct: 30, SpontaneousWarnPct: 20, MinDynamicRange: 3, CVWarnPct: 15, CVExcludePct: 20}

// MaxReading bounds the magnitude of a reading; larger values come from no instrument and
// would let the arithmetic overflow.
const MaxReading = 1e15

// withDefaults fills zero thresholds and checks the rest.
func (q QC) withDefaults(fe *clink.FieldErrors) QC {
	set := func(field string, v *float64, def float64) {
		switch {
		case *v == 0:
			*v = def
		case !(*v > 0) || math.IsInf(*v, 1):
			fe.Addf(field, "%g is not a positive threshold", *v)
		}
	}
	set("qc.spontaneous_invalid_pct", &q.SpontaneousInvalidPct, DefaultQC.SpontaneousInvalidPct)
	set("qc.spontaneous_warn_pct", &q.SpontaneousWarnPct, DefaultQC.SpontaneousWarnPct)
	set("qc.min_dynamic_range", &q.MinDynamicRange, DefaultQC.MinDynamicRange)
	set("qc.cv_warn_pct", &q.CVWarnPct, DefaultQC.CVWarnPct)
	set("qc.cv_exclude_pct", &q.CVExcludePct, DefaultQC.CVExcludePct)
	return q
}

// SpecificLysis computes lysis per E:T ratio. maximum is ignored for DeadFraction and
// CountingBeads.
//
// Release: S and M are the means of the spontaneous and maximum wells, lysis is
// 100 (E − S)/(M − S) on the mean E of each ratio and, per replicate, on each reading; the
// plate is invalid when M ≤ S or 100 S/M exceeds SpontaneousInvalidPct. DeadFraction: readings
// are percent dead targets, D_T is the mean of the spontaneous wells and lysis is
// 100 (D_ET − D_T)/(100 − D_T); SpontaneousPct is D_T itself and the spontaneous limits apply
// to it, and the plate is invalid when D_T is 100 %. CountingBeads (domain.md §6.2, the
// absolute-count method for long assays): readings are live targets counted per fixed number
// of counting beads, L_T is the mean of the spontaneous (target-alone) wells and lysis is
// 100 (1 − L_ET/L_T); there is no spontaneous-release percentage (SpontaneousPct is nil and
// its limits do not apply), and the plate is invalid when L_T is 0.
//
// It returns an EINVALID *clink.Error only for input no plate can produce: an unknown kind,
// no wells, a ratio with no readings or not above 0, no spontaneous (or, for release, no
// maximum) readings, a reading that is not a finite number within ±MaxReading (within 0–100
// for DeadFraction, not negative for CountingBeads), or a negative threshold.
func SpecificLysis(kind Kind, spontaneous, maximum []float64, wells []Wells, qc QC) (Result, error) {
	var fe clink.FieldErrors
	if kind != Release && kind != DeadFraction && kind != CountingBeads {
		fe.Addf("kind", "%d is not a known assay kind", int(kind))
	}
	qc = qc.withDefaults(&fe)
	readings := func(field string, rs []float64, name string) {
		if len(rs) == 0 {
			fe.Addf(field, "needs at least one %s reading", name)
		}
		for i, v := range rs {
			f := fmt.Sprintf("%s[%d]", field, i)
			switch {
			case math.IsNaN(v) || math.IsInf(v, 0):
				fe.Addf(f, "is not a number")
			case kind == DeadFraction && (v < 0 || v > 100):
				fe.Addf(f, "%g is outside 0..100 (readings are percent dead targets)", v)
			case kind == CountingBeads && v < 0:
				fe.Addf(f, "%g is negative (readings are live-target counts)", v)
			case math.Abs(v) > MaxReading:
				fe.Addf(f, "%g is beyond any instrument reading (magnitude at most %g)", v, MaxReading)
			}
		}
	}
	readings("spontaneous", spontaneous, "spontaneous-release")
	if kind == Release {
		readings("maximum", maximum, "maximum-release")
	}
	if len(wells) == 0 {
		fe.Addf("points", "needs at least one E:T ratio")
	}
	for i, w := range wells {
		f := fmt.Sprintf("points[%d]", i)
		if !(w.ETRatio > 0) || math.IsInf(w.ETRatio, 1) {
			fe.Addf(f+".et_ratio", "%g is not a ratio above 0", w.ETRatio)
		}
		readings(f+".readings", w.Readings, "replicate")
	}
	if err := fe.Err(); err != nil {
		return Result{}, err
	}

	res := Result{Valid: true, Points: make([]Point, 0, len(wells)), Flags: []Flag{}}
	flag := func(level, rule, format string, args ...any) {
		res.Flags = append(res.Flags, Flag{Level: level, Rule: rule, Message: fmt.Sprintf(format, args...)})
		if level == LevelInvalid {
			res.Valid = false
		}
	}
	s := mean(spontaneous)
	res.SpontaneousMean = s
	var plateWarnings []string
	var denom float64 // M − S, 100 − D_T, or −L_T
	switch kind {
	case Release:
		m := mean(maximum)
		res.MaximumMean = &m
		if m > 0 {
			res.SpontaneousPct = finite(100 * s / m)
		}
		denom = m - s
		if !(m > s) {
			flag(LevelInvalid, RuleMaxNotAbove, "maximum release %g is not above spontaneous release %g: no denominator", m, s)
		} else if s > 0 && m/s < qc.MinDynamicRange {
			flag(LevelWarning, RuleDynamicRange, "maximum/spontaneous %.3g is below %g: poor dynamic range, check detergent lysis", m/s, qc.MinDynamicRange)
			plateWarnings = append(plateWarnings, RuleDynamicRange)
		}
	case DeadFraction:
		res.SpontaneousPct = finite(s)
		denom = 100 - s
		if !(s < 100) {
			flag(LevelInvalid, RuleMaxNotAbove, "every target is dead without effectors (D_T %g %%): no denominator", s)
		}
	case CountingBeads:
		// 100 (1 − L_ET/L_T) = 100 (L_ET − L_T)/(−L_T).
		denom = -s
		if !(s > 0) {
			flag(LevelInvalid, RuleMaxNotAbove, "no live targets are counted without effectors (L_T %g): no denominator", s)
		}
	}
	if p := res.SpontaneousPct; p != nil && res.Valid {
		switch {
		case *p > qc.SpontaneousInvalidPct:
			flag(LevelInvalid, RuleSpontaneous, "spontaneous release %.3g %% is above %g %%: plate invalid", *p, qc.SpontaneousInvalidPct)
		case *p > qc.SpontaneousWarnPct:
			flag(LevelWarning, RuleSpontaneous, "spontaneous release %.3g %% is above %g %%", *p, qc.SpontaneousWarnPct)
			plateWarnings = append(plateWarnings, RuleSpontaneous)
		}
	}
	lysis := func(e float64) float64 { return 100 * (e - s) / denom }

	for _, w := range wells {
		p := Point{ETRatio: w.ETRatio, Mean: mean(w.Readings), ReplicateLysisPct: []float64{}, Flags: []string{}}
		p.Flags = append(p.Flags, plateWarnings...)
		at := func(level, rule, format string, args ...any) {
			p.Flags = append(p.Flags, rule)
			flag(level, rule, "E:T %g: "+format, append([]any{w.ETRatio}, args...)...)
		}
		if len(w.Readings) < 2 {
			at(LevelWarning, RuleSingleReplicate, "%d well: reported, not fitted", len(w.Readings))
		} else if cv := cvPct(w.Readings, p.Mean); cv != nil {
			p.CVPct = cv
			switch {
			case *cv > qc.CVExcludePct:
				at(LevelWarning, RuleReplicateCV, "replicate CV %.3g %% is above %g %%", *cv, qc.CVWarnPct)
				at(LevelWarning, RuleExcludedFromFit, "replicate CV %.3g %% is above %g %%: excluded from fitting unless a reviewer keeps it", *cv, qc.CVExcludePct)
			case *cv > qc.CVWarnPct:
				at(LevelWarning, RuleReplicateCV, "replicate CV %.3g %% is above %g %%", *cv, qc.CVWarnPct)
			}
		}
		if res.Valid {
			p.SpecificLysisPct = finite(lysis(p.Mean))
			reps := make([]float64, 0, len(w.Readings))
			for _, r := range w.Readings {
				if v := finite(lysis(r)); v != nil {
					reps = append(reps, *v)
				}
			}
			switch {
			case p.SpecificLysisPct == nil || len(reps) != len(w.Readings):
				p.SpecificLysisPct = nil
				at(LevelWarning, RuleNotComputable, "lysis overflows for these readings")
			case *p.SpecificLysisPct < 0 || *p.SpecificLysisPct > 100:
				p.ReplicateLysisPct = reps
				at(LevelWarning, RuleLysisOutOfRange, "specific lysis %.3g %% is outside 0–100 %%: stored as computed, clip for display only", *p.SpecificLysisPct)
			default:
				p.ReplicateLysisPct = reps
			}
		}
		res.Points = append(res.Points, p)
	}
	return res, nil
}

// mean returns the arithmetic mean of xs, summing xs[i]/n so that no partial sum exceeds the
// largest magnitude.
func mean(xs []float64) float64 {
	n := float64(len(xs))
	var m float64
	for _, x := range xs {
		m += x / n
	}
	return m
}

// cvPct returns 100 × sample SD / |mean|, or nil when the mean is 0 or the value overflows.
func cvPct(xs []float64, m float64) *float64 {
	if m == 0 || len(xs) < 2 {
		return nil
	}
	var ss float64
	for _, x := range xs {
		d := x - m
		ss += d * d
	}
	return finite(100 * math.Sqrt(ss/float64(len(xs)-1)) / math.Abs(m))
}

// finite returns a pointer to v, or nil when v is NaN or infinite.
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}
