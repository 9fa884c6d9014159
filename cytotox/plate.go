package cytotox

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/clink-consortium/clink"
)

// Well types of a plate file.
const (
	WellSpontaneous = "spontaneous" // targets alone (S)
	WellMaximum     = "maximum"     // targets with detergent (M)
	WellTest        = "test"        // effectors with targets (E)
)

// SharedSample is the sample name of control wells shared by every sample of a plate.
const SharedSample = "*"

// DefaultTargets is the number of target cells per well PlateOptions assumes.
const DefaultTargets = 5000

// Plate QC flags, in SampleAnalysis.QC besides the Flag* potency flags. A flag about one E:T
// point is the rule, a colon and "et=" with the ratio as Go's strconv 'g' format writes it
// (shortest exact form): "replicate_cv_high:et=10", "excluded_from_fit:et=2.5".
const (
	QCSpontaneousWarning = "spontaneous_release_warning"   // 100 S/M above QC.SpontaneousWarnPct (20 %)
	QCSpontaneousHigh    = "spontaneous_release_high"      // above QC.SpontaneousInvalidPct (30 %): reported beside the warning; lysis is still computed
	QCMaxNotAbove        = "maximum_not_above_spontaneous" // mean M <= mean S: the sample is invalid
	QCDynamicRange       = "dynamic_range_low"             // M/S below QC.MinDynamicRange (with default limits implied by, and shown as, spontaneous_release_high)
	QCReplicateCVHigh    = "replicate_cv_high"             // point: replicate CV of raw signal above QC.CVWarnPct (15 %)
	QCExcludedFromFit    = "excluded_from_fit"             // point: replicate CV above QC.CVExcludePct (20 %): not fitted
	QCSingleReplicate    = "single_replicate"              // point: one well while others have replicates: not fitted
	QCLysisOutOfRange    = "lysis_out_of_range"            // point: mean lysis below 0 or above 100 %, kept as computed
	QCLysisNotComputable = "lysis_not_computable"          // point: lysis overflows; the point is left out of points
)

// PlateRow is one well of a plate file with the header sample,well_type,et_ratio,value.
type PlateRow struct {
	Sample   string  // the effector sample; "*" on control rows shared by every sample
	WellType string  // WellSpontaneous, WellMaximum or WellTest
	ETRatio  float64 // E:T ratio of a test well; ignored on control rows
	Value    float64 // the reading (cpm, fluorescence)
	Line     int     // line in the CSV file, for errors; 0 when unknown
}

// PlateOptions tunes AnalyzePlate.
type PlateOptions struct {
	Targets float64 // target cells per well, for lytic units; 0 means DefaultTargets
	QC      QC      // thresholds; the zero value means DefaultQC
}

// PlateAnalysis is the result of AnalyzePlate: the output of `clink analyze cytotox`.
type PlateAnalysis struct {
	Samples []SampleAnalysis `json:"samples"`
}

// SampleAnalysis is the lysis, exponential fit and lytic units of one effector sample.
type SampleAnalysis struct {
	Sample                string       `json:"sample"`
	SpontaneousReleasePct float64      `json:"spontaneous_release_pct"` // 100 mean S / mean M
	Points                []PlatePoint `json:"points"`                  // increasing E:T; empty when mean M <= mean S
	Fit                   *ExpFit      `json:"fit"`                     // nil (null) when not fitted
	LU20                  *float64     `json:"lu20_per_1e7"`
	LU30                  *float64     `json:"lu30_per_1e7"`
	QC                    []string     `json:"qc"` // never nil: [] when clean
}

// PlatePoint is the specific lysis at one E:T ratio: the mean and sample SD of the replicate
// lysis values 100 (v − mean S)/(mean M − mean S).
type PlatePoint struct {
	ETRatio      float64  `json:"et_ratio"`
	MeanLysisPct float64  `json:"mean_lysis_pct"`
	SDLysisPct   *float64 `json:"sd_lysis_pct"` // n − 1 denominator; nil when n = 1
	N            int      `json:"n"`            // replicate wells
}

// AnalyzePlate analyses a release-assay plate sample by sample (domain.md §6.1, §6.3, §6.5).
//
// Samples come in the order of their first row. A sample's spontaneous (S) and maximum (M)
// wells are its own rows of that type or, when it has none of that type, the rows of sample
// "*" (each type is chosen separately, so a sample may bring its own S and share M). Its test
// wells are grouped by E:T ratio into points, in increasing E:T. Each replicate's lysis is
// 100 (v − mean S)/(mean M − mean S); a point reports the mean and SD of those. The QC of
// SpecificLysis applies with opt.QC, reported as the QC* flags: when mean M <= mean S
// (maximum_not_above_spontaneous) the sample has no points, fit or lytic units. A spontaneous
// release above the warning limit is flagged spontaneous_release_warning, and above the
// invalid limit also spontaneous_release_high; unlike a stored assay (§6.3: no lysis
// published), the sample is still computed, so that the analyst of a file sees what the
// plate gives and decides. Lytic units are null only when the plateau does not reach the
// level; no_point_within_20_80 is a warning beside them.
//
// The exponential model is fitted to the point means as fractions, on the E:T ratios as
// given (FitResult's rules: points with replicate CV above QC.CVExcludePct are left out, as
// are single wells when other points have replicates; a plate of single wells is fitted on
// all of them), and LU20 and LU30 are per 10⁷ effectors for opt.Targets targets per well.
//
// It returns an EINVALID *clink.Error naming the CSV line of each fault ("line 7:
// well_type: ..."; "rows[6]" when Line is 0): an unknown well type, an empty sample, test
// wells for sample "*", a value that is not a finite number within ±MaxReading, an E:T
// ratio not above 0 on a test row, a sample without spontaneous or maximum wells (its own or
// "*"), a sample with control wells but no test wells, a sample whose maximum wells do not
// average above 0 (or so little that 100 S/M overflows), no test rows at all, and bad options.
// Well types are matched without regard to case or surrounding spaces, and sample names
// with surrounding spaces removed.
func AnalyzePlate(rows []PlateRow, opt PlateOptions) (*PlateAnalysis, error) {
	var fe clink.FieldErrors
	at := func(i int, field string) string {
		if rows[i].Line > 0 {
			return fmt.Sprintf("line %d: %s", rows[i].Line, field)
		}
		return fmt.Sprintf("rows[%d].%s", i, field)
	}
	targets := opt.Targets
	switch {
	case targets == 0:
		targets = DefaultTargets
	case !(targets > 0) || math.IsInf(targets, 1):
		fe.Addf("targets", "%g is not a number of target cells above 0", targets)
	}
	qc := opt.QC.withDefaults(&fe)

	type sample struct {
		name        string
		first       int // index of its first row
		spont, max  []float64
		tests       []int // row indexes
		hasControls bool
	}
	var order []*sample
	byName := map[string]*sample{}
	var shared sample
	nTests := 0
	for i, r := range rows {
		ok := true
		wt := strings.ToLower(strings.TrimSpace(r.WellType))
		if wt != WellSpontaneous && wt != WellMaximum && wt != WellTest {
			fe.Addf(at(i, "well_type"), "%q is not %s, %s or %s", r.WellType, WellSpontaneous, WellMaximum, WellTest)
			ok = false
		}
		name := strings.TrimSpace(r.Sample)
		switch {
		case name == "":
			fe.Addf(at(i, "sample"), "is empty")
			ok = false
		case name == SharedSample && wt == WellTest:
			fe.Addf(at(i, "sample"), "%q names the shared controls: a test well needs its sample", SharedSample)
			ok = false
		}
		switch {
		case math.IsNaN(r.Value) || math.IsInf(r.Value, 0):
			fe.Addf(at(i, "value"), "is not a number")
			ok = false
		case math.Abs(r.Value) > MaxReading:
			fe.Addf(at(i, "value"), "%g is beyond any instrument reading (magnitude at most %g)", r.Value, MaxReading)
			ok = false
		}
		if wt == WellTest && (!(r.ETRatio > 0) || r.ETRatio > MaxFitETRatio) {
			fe.Addf(at(i, "et_ratio"), "%g is not a ratio in (0, %g] (a test well needs one)", r.ETRatio, float64(MaxFitETRatio))
			ok = false
		}
		if !ok {
			continue
		}
		s := &shared
		if name != SharedSample {
			if s = byName[name]; s == nil {
				s = &sample{name: name, first: i}
				byName[name] = s
				order = append(order, s)
			}
		}
		switch wt {
		case WellSpontaneous:
			s.spont = append(s.spont, r.Value)
			s.hasControls = true
		case WellMaximum:
			s.max = append(s.max, r.Value)
			s.hasControls = true
		case WellTest:
			s.tests = append(s.tests, i)
			nTests++
		}
	}
	if len(fe) == 0 && nTests == 0 {
		fe.Addf("rows", "has no test wells (well_type %s)", WellTest)
	}
	for _, s := range order {
		if len(s.tests) == 0 {
			fe.Addf(at(s.first, "sample"), "%q has control wells but no test wells", s.name)
			continue
		}
		if len(s.spont) == 0 {
			s.spont = shared.spont
		}
		if len(s.max) == 0 {
			s.max = shared.max
		}
		for _, c := range []struct {
			wt string
			v  []float64
		}{{WellSpontaneous, s.spont}, {WellMaximum, s.max}} {
			if len(c.v) == 0 {
				fe.Addf(at(s.first, "sample"), "%q has no %s wells, neither its own nor shared (sample %q)", s.name, c.wt, SharedSample)
			}
		}
		if len(s.spont) > 0 && len(s.max) > 0 {
			if m := mean(s.max); !(m > 0) {
				fe.Addf(at(s.first, "sample"), "the %s wells of %q average %g: a maximum-release signal must be above 0", WellMaximum, s.name, m)
			} else if finite(100*mean(s.spont)/m) == nil {
				fe.Addf(at(s.first, "sample"), "the spontaneous release of %q, 100 × %g/%g, is beyond any plate", s.name, mean(s.spont), m)
			}
		}
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}

	out := &PlateAnalysis{Samples: make([]SampleAnalysis, 0, len(order))}
	for _, s := range order {
		var wells []Wells
		for _, i := range s.tests {
			et := rows[i].ETRatio
			j := slices.IndexFunc(wells, func(w Wells) bool { return w.ETRatio == et })
			if j < 0 {
				wells = append(wells, Wells{ETRatio: et})
				j = len(wells) - 1
			}
			wells[j].Readings = append(wells[j].Readings, rows[i].Value)
		}
		slices.SortFunc(wells, func(a, b Wells) int { return cmpFloat(a.ETRatio, b.ETRatio) })
		// A spontaneous release above the invalid limit is reported, not enforced: the
		// analyst of a plate file sees the lysis, the fit and both spontaneous flags, and
		// decides (the database path still refuses lysis from such a plate, §6.3).
		lenient := qc
		lenient.SpontaneousInvalidPct = math.MaxFloat64
		res, err := SpecificLysis(Release, s.spont, s.max, wells, lenient)
		if err != nil {
			return nil, fmt.Errorf("sample %q: %w", s.name, err) // unreachable: the rows were checked above
		}
		out.Samples = append(out.Samples, sampleAnalysis(s.name, res, targets, qc))
	}
	return out, nil
}

// sampleAnalysis turns the Result of one sample into its SampleAnalysis.
func sampleAnalysis(name string, res Result, targets float64, qc QC) SampleAnalysis {
	sa := SampleAnalysis{Sample: name, Points: []PlatePoint{}, QC: []string{}}
	if res.SpontaneousPct != nil {
		sa.SpontaneousReleasePct = *res.SpontaneousPct
	}
	for _, f := range res.Flags {
		switch {
		case f.Rule == RuleSpontaneous:
			sa.QC = append(sa.QC, QCSpontaneousWarning)
			if res.SpontaneousPct != nil && *res.SpontaneousPct > qc.SpontaneousInvalidPct {
				sa.QC = append(sa.QC, QCSpontaneousHigh)
			}
		case f.Rule == RuleMaxNotAbove:
			sa.QC = append(sa.QC, QCMaxNotAbove)
		case f.Rule == RuleDynamicRange && res.Valid:
			sa.QC = append(sa.QC, QCDynamicRange)
		}
	}
	if !res.Valid {
		return sa
	}
	anySingle, allSingle := false, true
	for _, p := range res.Points {
		single := slices.Contains(p.Flags, RuleSingleReplicate)
		anySingle = anySingle || single
		allSingle = allSingle && single
	}
	for _, p := range res.Points {
		et := ":et=" + strconv.FormatFloat(p.ETRatio, 'g', -1, 64)
		for _, rule := range p.Flags {
			switch rule {
			case RuleReplicateCV:
				sa.QC = append(sa.QC, QCReplicateCVHigh+et)
			case RuleExcludedFromFit:
				sa.QC = append(sa.QC, QCExcludedFromFit+et)
			case RuleSingleReplicate:
				if anySingle && !allSingle {
					sa.QC = append(sa.QC, QCSingleReplicate+et)
				}
			case RuleLysisOutOfRange:
				sa.QC = append(sa.QC, QCLysisOutOfRange+et)
			case RuleNotComputable:
				sa.QC = append(sa.QC, QCLysisNotComputable+et)
			}
		}
		if p.SpecificLysisPct == nil {
			continue
		}
		pp := PlatePoint{ETRatio: p.ETRatio, MeanLysisPct: *p.SpecificLysisPct, N: len(p.ReplicateLysisPct)}
		if pp.N > 1 {
			pp.SDLysisPct = sampleSD(p.ReplicateLysisPct)
		}
		sa.Points = append(sa.Points, pp)
	}
	x := make([]float64, len(res.Points))
	for i, p := range res.Points {
		x[i] = p.ETRatio
	}
	pot := fitPotency(res, x, targets)
	sa.Fit, sa.LU20, sa.LU30 = pot.Fit, pot.LU20, pot.LU30
	if pot.Fit != nil && slices.Contains(pot.Flags, FlagNoPointIn20To80) {
		// The file contract reports lytic units whenever the plateau reaches the level; the
		// 20–80 % rule of §6.3 is a warning here, not a veto.
		sa.LU20 = LyticUnits(*pot.Fit, 20, targets)
		sa.LU30 = LyticUnits(*pot.Fit, 30, targets)
	}
	sa.QC = append(sa.QC, pot.Flags...)
	return sa
}

// sampleSD returns the sample standard deviation (n − 1) of xs, or nil when it is not finite.
func sampleSD(xs []float64) *float64 {
	m := mean(xs)
	var ss float64
	for _, x := range xs {
		d := x - m
		ss += d * d
	}
	return finite(math.Sqrt(ss / float64(len(xs)-1)))
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
