// Package rank builds the consortium's scoreboard (domain.md §8): for each protocol the median
// NK fold and LU30 with percentile bootstrap intervals, the median purity and viability, the
// share of harvests that meet the release specification (§8.2), and patient doses per donor
// unit (§8.1); then the Pareto front of yield against killing and its hypervolume (§8.3).
//
// It is pure computation on plain values: no I/O, no clock, and the same input and seed give
// the same Ranking. Every number in a Ranking is finite, so it always marshals to JSON.
//
// # Axes and front
//
// The yield axis is f₁ = log10 of the protocol's median NK fold, the killing axis f₂ = log10 of
// its median LU30 per 10⁷ NK against K562. A protocol without any LU30, or whose median fold is
// 0, has no point and is not on the front (a note says so). Eligibility is shown beside the
// front, not used to filter it. The hypervolume is taken on the same log10 axes against the
// reference point (0, 0): a 1-fold expansion and 1 LU30 per 10⁷ NK, below which no protocol
// is worth having; a protocol below the reference on an axis adds nothing.
//
// # Medians and counts
//
// Medians follow R's median (the mean of the two middle values). They are over cultures: a
// donor with several cultures of one protocol counts each of them (a note says when this
// happens). The eligible share and the doses per donor use assessable cultures only (see
// Assess); doses are floor(NK available / dose) for eligible harvests and 0 for ineligible ones.
// Each protocol's bootstraps draw from their own random stream, derived from the seed, the
// protocol name and the metric, so adding a protocol leaves the others' intervals unchanged.
//
// # JSON
//
// A Ranking marshals as
//
//	{
//	  "options": {"dose_per_kg": 1e7, "weight_kg": 70, "donor_unit_cells": 1e8,
//	              "process_recovery": 0.8, "qc_fraction": 0.05,
//	              "spec": {"min_viability_pct": 70, "min_purity_pct": 70,
//	                       "max_t_cells_per_kg": 1e5, "min_k562_lysis_pct": 20},
//	              "bootstrap": {"resamples": 2000, "level": 0.95, "seed": 0}},
//	  "dose_cells": 7e8,
//	  "protocols": [{"protocol": "P2", "n_cultures": 12, "n_donors": 12,
//	                 "nk_fold_median": {"estimate": 850, "low": 610, "high": 1020, "level": 0.95, "resamples": 2000},
//	                 "n_nk_fold": 12, "lu30_median": {...} or null, "n_lu30": 11, "lu20_median": 41.5,
//	                 "purity_median_pct": 88.1, "viability_median_pct": 91, "n_assessable": 12,
//	                 "n_eligible": 11, "eligible_share": 0.917, "doses_per_donor_median": 9, "n_doses": 12,
//	                 "log10_nk_fold": 2.93, "log10_lu30": 1.49, "pareto_front": true}, ...],
//	  "pareto_front": ["P2", "P1"],
//	  "hypervolume": 5.1,
//	  "hypervolume_reference": {"yield": 0, "killing": 0},
//	  "notes": ["..."]
//	}
//
// where a value that cannot be computed is null, "protocols" is in scoreboard order (the
// front by yield descending, then the other protocols by median NK fold descending, those
// without a fold last, ties by name), and "pareto_front" lists the front in the same order.
package rank

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strings"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/stats"
)

// Outcome is what one culture gave at harvest (plain values, gathered elsewhere from the
// database). Nil means not recorded.
type Outcome struct {
	Culture, Donor, Protocol string
	// StartingNKFraction is the NK fraction of the starting material, in [0, 1]; 0 means not
	// recorded, and the culture then gives no doses per donor.
	StartingNKFraction float64
	NKFold             *float64 // cumulative NK fold at harvest, ≥ 0
	PurityPct          *float64 // CD3−CD56+ % of viable cells at harvest, in [0, 100]
	ViabilityPct       *float64 // in [0, 100]
	TCellPct           *float64 // CD3+ % at harvest, in [0, 100]
	LU30               *float64 // LU30 per 10⁷ NK against K562, > 0; nil when not reached or no assay
	LU20               *float64 // LU20 per 10⁷ NK against K562, > 0
	K562LysisAt20      *float64 // % lysis of K562 at E:T 20:1 (release potency), when measured; may be < 0 or > 100
}

// Options set the dose arithmetic of domain.md §8.1, the release specification and the
// bootstrap. A zero field takes its default, so the zero Options are the domain defaults; a
// field cannot be set to exactly 0 (use a tiny value where that is meant, e.g. QCFraction).
type Options struct {
	DosePerKg       float64                `json:"dose_per_kg"`      // NK cells per kg per dose; default 1×10⁷
	WeightKg        float64                `json:"weight_kg"`        // reference patient weight; default 70
	DonorUnitCells  float64                `json:"donor_unit_cells"` // starting cells one donor collection provides; default 1×10⁸ (§8.1 row 1)
	ProcessRecovery float64                `json:"process_recovery"` // harvest, wash and formulation recovery in (0, 1]; default 0.8
	QCFraction      float64                `json:"qc_fraction"`      // share kept for QC and retains in [0, 1); default 0.05
	Spec            Spec                   `json:"spec"`             // release specification; defaults from §8.2
	Bootstrap       stats.BootstrapOptions `json:"bootstrap"`        // intervals of the medians; defaults 2,000 resamples, 95 %
}

// Spec is the release specification used for eligibility (domain.md §8.2, Lapteva et al.
// 2012). A zero field takes its default.
type Spec struct {
	MinViabilityPct float64 `json:"min_viability_pct"`  // viability must exceed it; default 70
	MinPurityPct    float64 `json:"min_purity_pct"`     // CD3−CD56+ must exceed it; default 70
	MaxTCellsPerKg  float64 `json:"max_t_cells_per_kg"` // CD3+ per kg at the intended dose must not exceed it; default 1×10⁵
	MinK562LysisPct float64 `json:"min_k562_lysis_pct"` // K562 lysis at 20:1 must exceed it when measured; default 20
}

// Defaults of Options and Spec (domain.md §8.1, §8.2).
const (
	DefaultDosePerKg       = 1e7
	DefaultWeightKg        = 70
	DefaultDonorUnitCells  = 1e8
	DefaultProcessRecovery = 0.8
	DefaultQCFraction      = 0.05
	DefaultMinViabilityPct = 70
	DefaultMinPurityPct    = 70
	DefaultMaxTCellsPerKg  = 1e5
	DefaultMinK562LysisPct = 20
)

// Ranking is the scoreboard.
type Ranking struct {
	Options   Options         `json:"options"`    // the options used, defaults filled in
	DoseCells float64         `json:"dose_cells"` // NK cells per dose, DosePerKg × WeightKg
	Protocols []ProtocolScore `json:"protocols"`  // scoreboard order: the front by yield descending, then the rest by median NK fold descending
	Front     []string        `json:"pareto_front"`
	// Hypervolume is the area the front dominates on the log10 axes, against
	// HypervolumeReference; nil when the front is empty.
	Hypervolume          *float64    `json:"hypervolume"`
	HypervolumeReference ParetoPoint `json:"hypervolume_reference"`
	Notes                []string    `json:"notes"` // never nil
}

// ProtocolScore is one protocol's row of the scoreboard. A value that cannot be computed is nil.
type ProtocolScore struct {
	Protocol  string `json:"protocol"`
	NCultures int    `json:"n_cultures"`
	NDonors   int    `json:"n_donors"`
	// NKFold is the median cumulative NK fold with its bootstrap interval, over NNKFold cultures.
	NKFold  *stats.BootstrapCI `json:"nk_fold_median"`
	NNKFold int                `json:"n_nk_fold"`
	// LU30 is the median LU30 per 10⁷ NK with its bootstrap interval, over the NLU30 cultures
	// that reached 30 % lysis.
	LU30         *stats.BootstrapCI `json:"lu30_median"`
	NLU30        int                `json:"n_lu30"`
	LU20         *float64           `json:"lu20_median"`
	PurityPct    *float64           `json:"purity_median_pct"`
	ViabilityPct *float64           `json:"viability_median_pct"`
	// NAssessable cultures could be judged against the specification; NEligible of them passed.
	NAssessable   int      `json:"n_assessable"`
	NEligible     int      `json:"n_eligible"`
	EligibleShare *float64 `json:"eligible_share"` // NEligible / NAssessable
	// DosesPerDonor is the median whole doses per donor unit over the NDoses assessable
	// cultures with a fold and a starting NK fraction (0 for an ineligible harvest).
	DosesPerDonor *float64 `json:"doses_per_donor_median"`
	NDoses        int      `json:"n_doses"`
	Yield         *float64 `json:"log10_nk_fold"` // the front's yield axis
	Killing       *float64 `json:"log10_lu30"`    // the front's killing axis
	OnFront       bool     `json:"pareto_front"`
}

// Rank scores each protocol of outcomes and finds the Pareto front of yield against killing.
// Protocols with no outcome do not appear; no outcomes at all give an empty Ranking with a note.
// The error is EINVALID, naming every field at fault (up to 20), for invalid options or
// outcomes: an empty culture, donor or protocol name, a repeated culture, or a value that is
// non-finite or out of range.
func Rank(outcomes []Outcome, opt Options) (*Ranking, error) {
	res, err := resolve(opt)
	if err != nil {
		return nil, err
	}
	var fe fieldErrors
	seen := make(map[string]int, len(outcomes))
	for i, o := range outcomes {
		field := fmt.Sprintf("outcomes[%d]", i)
		checkOutcome(o, field, &fe)
		if o.Culture == "" {
			continue
		}
		if j, dup := seen[o.Culture]; dup {
			fe.addf(field+".culture", "culture %q appears again (first at outcomes[%d])", o.Culture, j)
		} else {
			seen[o.Culture] = i
		}
	}
	if err := fe.err(); err != nil {
		return nil, err
	}

	r := &Ranking{
		Options:   res,
		DoseCells: res.DosePerKg * res.WeightKg,
		Protocols: []ProtocolScore{},
		Front:     []string{},
		Notes:     []string{},
	}
	if len(outcomes) == 0 {
		r.Notes = append(r.Notes, "No outcomes to rank.")
		return r, nil
	}
	measured := 0
	for _, o := range outcomes {
		if o.K562LysisAt20 != nil {
			measured++
		}
	}
	r.Notes = append(r.Notes,
		"Residual feeder cells (< 0.1 % in the specification) are not recorded in research data: eligibility does not check them.",
		fmt.Sprintf("K562 lysis at 20:1 is checked only where measured: %d of %d cultures.", measured, len(outcomes)))

	groups := map[string][]Outcome{}
	for _, o := range outcomes {
		groups[o.Protocol] = append(groups[o.Protocol], o)
	}
	names := make([]string, 0, len(groups))
	for name := range groups {
		names = append(names, name)
	}
	slices.Sort(names)

	scores := make([]ProtocolScore, len(names))
	for i, name := range names {
		s, notes, err := scoreProtocol(name, groups[name], res)
		if err != nil {
			return nil, err
		}
		scores[i] = s
		r.Notes = append(r.Notes, notes...)
	}

	// The front, over protocols that have both axes, in name order so ties are stable.
	var points []ParetoPoint
	var owner []int
	for i, s := range scores {
		if s.Yield != nil && s.Killing != nil {
			points = append(points, ParetoPoint{Yield: *s.Yield, Killing: *s.Killing})
			owner = append(owner, i)
		}
	}
	front := ParetoFront(points)
	onFront := make([]bool, len(scores))
	frontPts := make([]ParetoPoint, 0, len(front))
	for _, k := range front {
		i := owner[k]
		onFront[i] = true
		scores[i].OnFront = true
		r.Protocols = append(r.Protocols, scores[i])
		r.Front = append(r.Front, scores[i].Protocol)
		frontPts = append(frontPts, points[k])
	}
	if len(frontPts) > 0 {
		hv := Hypervolume(frontPts, r.HypervolumeReference)
		r.Hypervolume = &hv
	}
	var rest []ProtocolScore
	for i, s := range scores {
		if !onFront[i] {
			rest = append(rest, s)
		}
	}
	slices.SortStableFunc(rest, func(a, b ProtocolScore) int {
		return cmp.Compare(foldKey(b), foldKey(a)) // names are already in order
	})
	r.Protocols = append(r.Protocols, rest...)
	return r, nil
}

// foldKey orders protocols by median NK fold, those without one last.
func foldKey(s ProtocolScore) float64 {
	if s.NKFold == nil {
		return -1
	}
	return s.NKFold.Estimate
}

// scoreProtocol computes one protocol's row and its notes.
func scoreProtocol(name string, group []Outcome, opt Options) (ProtocolScore, []string, error) {
	s := ProtocolScore{Protocol: name, NCultures: len(group)}
	var notes []string
	var folds, lu30, lu20, purity, viability, doses []float64
	perDonor := map[string]int{}
	missing := map[string]int{}
	noDoseInput := 0
	for _, o := range group {
		perDonor[o.Donor]++
		if o.NKFold != nil {
			folds = append(folds, *o.NKFold)
		}
		if o.LU30 != nil {
			lu30 = append(lu30, *o.LU30)
		}
		if o.LU20 != nil {
			lu20 = append(lu20, *o.LU20)
		}
		if o.PurityPct != nil {
			purity = append(purity, *o.PurityPct)
		}
		if o.ViabilityPct != nil {
			viability = append(viability, *o.ViabilityPct)
		}
		a := assess(o, opt)
		if a.Status == NotAssessable {
			for _, m := range a.Missing {
				missing[m]++
			}
			continue
		}
		s.NAssessable++
		eligible := a.Status == Eligible
		if eligible {
			s.NEligible++
		}
		if o.NKFold == nil || o.StartingNKFraction == 0 {
			noDoseInput++
			continue
		}
		d := 0
		if eligible {
			d = DosesPerDonor(NKAvailable(o.StartingNKFraction, *o.NKFold, opt), opt)
		}
		doses = append(doses, float64(d))
	}
	s.NDonors = len(perDonor)
	s.NNKFold, s.NLU30, s.NDoses = len(folds), len(lu30), len(doses)

	var err error
	if s.NKFold, err = bootMedian(folds, opt.Bootstrap, name, "nk_fold"); err != nil {
		return s, nil, err
	}
	if s.LU30, err = bootMedian(lu30, opt.Bootstrap, name, "lu30"); err != nil {
		return s, nil, err
	}
	s.LU20, s.PurityPct, s.ViabilityPct = median(lu20), median(purity), median(viability)
	s.DosesPerDonor = median(doses)
	if s.NAssessable > 0 {
		share := float64(s.NEligible) / float64(s.NAssessable)
		s.EligibleShare = &share
	}

	switch {
	case s.NKFold == nil:
		notes = append(notes, fmt.Sprintf("%s: no NK fold recorded: not on the Pareto front.", name))
	case s.NKFold.Estimate > 0:
		y := math.Log10(s.NKFold.Estimate)
		s.Yield = &y
	default:
		notes = append(notes, fmt.Sprintf("%s: the median NK fold is 0, so its log10 is undefined: not on the Pareto front.", name))
	}
	if s.LU30 == nil {
		notes = append(notes, fmt.Sprintf("%s: no LU30 recorded: not on the Pareto front.", name))
	} else {
		k := math.Log10(s.LU30.Estimate)
		s.Killing = &k
		if s.NLU30 < s.NCultures {
			notes = append(notes, fmt.Sprintf("%s: LU30 from %d of %d cultures; the others have none (no assay, a plateau below 30 %% lysis, "+
				"or no lytic unit reported under the assay QC rules), so the median may flatter the protocol.", name, s.NLU30, s.NCultures))
		}
	}
	if n := s.NCultures - s.NAssessable; n > 0 {
		keys := make([]string, 0, len(missing))
		for k := range missing {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s %d", k, missing[k])
		}
		notes = append(notes, fmt.Sprintf("%s: %d of %d cultures not assessable against the release specification "+
			"(missing: %s); they are left out of the eligible share and doses per donor.",
			name, n, s.NCultures, strings.Join(parts, ", ")))
	}
	if noDoseInput > 0 {
		notes = append(notes, fmt.Sprintf("%s: %d assessable cultures lack the NK fold or the starting NK fraction: "+
			"left out of doses per donor.", name, noDoseInput))
	}
	if several := countAbove(perDonor, 1); several > 0 {
		notes = append(notes, fmt.Sprintf("%s: %d donors have several cultures; each culture counts in the medians.", name, several))
	}
	return s, notes, nil
}

func countAbove(m map[string]int, n int) int {
	c := 0
	for _, v := range m {
		if v > n {
			c++
		}
	}
	return c
}

// bootMedian is stats.BootstrapMedian on a stream of its own, or nil without values.
func bootMedian(xs []float64, opt stats.BootstrapOptions, protocol, metric string) (*stats.BootstrapCI, error) {
	if len(xs) == 0 {
		return nil, nil
	}
	opt.Seed = streamSeed(opt.Seed, protocol, metric)
	ci, err := stats.BootstrapMedian(xs, opt)
	if err != nil {
		return nil, fmt.Errorf("rank: bootstrap of %s for %s: %w", metric, protocol, err)
	}
	return &ci, nil
}

// streamSeed mixes the seed with the protocol and the metric (FNV-1a, then the SplitMix64
// finaliser) so each bootstrap has its own reproducible stream.
func streamSeed(seed uint64, protocol, metric string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(protocol))
	h.Write([]byte{0})
	h.Write([]byte(metric))
	z := seed ^ h.Sum64()
	z += 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// median is R's median, or nil without values.
func median(xs []float64) *float64 {
	if len(xs) == 0 {
		return nil
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	a, b := s[(n-1)/2], s[n/2]
	m := a
	if a != b {
		m = (a + b) / 2
		if math.IsInf(m, 0) {
			m = a/2 + b/2
		}
	}
	return &m
}

// Validate reports option values that no default can repair, as an EINVALID error whose
// fields are the JSON names ("dose_per_kg", "spec.min_purity_pct", "bootstrap.level", ...).
func (o Options) Validate() error {
	var fe fieldErrors
	o.check("", &fe)
	return fe.err()
}

func (o Options) check(prefix string, fe *fieldErrors) {
	positive := func(field string, v float64) {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			fe.addf(prefix+field, "must be a positive finite number (0 selects the default), got %g", v)
		}
	}
	positive("dose_per_kg", o.DosePerKg)
	positive("weight_kg", o.WeightKg)
	positive("donor_unit_cells", o.DonorUnitCells)
	if !(o.ProcessRecovery >= 0 && o.ProcessRecovery <= 1) {
		fe.addf(prefix+"process_recovery", "must be in (0, 1] (0 selects %g), got %g", DefaultProcessRecovery, o.ProcessRecovery)
	}
	if !(o.QCFraction >= 0 && o.QCFraction < 1) {
		fe.addf(prefix+"qc_fraction", "must be in [0, 1) (0 selects %g), got %g", DefaultQCFraction, o.QCFraction)
	}
	pct := func(field string, v float64) {
		if !(v >= 0 && v < 100) {
			fe.addf(prefix+"spec."+field, "must be a percentage in [0, 100) (0 selects the default), got %g", v)
		}
	}
	pct("min_viability_pct", o.Spec.MinViabilityPct)
	pct("min_purity_pct", o.Spec.MinPurityPct)
	pct("min_k562_lysis_pct", o.Spec.MinK562LysisPct)
	positive("spec.max_t_cells_per_kg", o.Spec.MaxTCellsPerKg)
	if err := o.Bootstrap.Validate(); err != nil {
		for _, f := range clink.ErrorFields(err) {
			fe.addf(prefix+"bootstrap."+f.Field, "%s", f.Message)
		}
	}
	if fe.empty() {
		// Each value is valid alone; their product must not overflow.
		d := o.withDefaults()
		if math.IsInf(d.DosePerKg*d.WeightKg, 0) {
			fe.addf(prefix+"dose_per_kg", "dose per kg × weight overflows")
		}
	}
}

func (o Options) withDefaults() Options {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.DosePerKg, DefaultDosePerKg)
	def(&o.WeightKg, DefaultWeightKg)
	def(&o.DonorUnitCells, DefaultDonorUnitCells)
	def(&o.ProcessRecovery, DefaultProcessRecovery)
	def(&o.QCFraction, DefaultQCFraction)
	o.Spec = o.Spec.withDefaults()
	if o.Bootstrap.Resamples == 0 {
		o.Bootstrap.Resamples = stats.DefaultBootstrapResamples
	}
	if o.Bootstrap.Level == 0 {
		o.Bootstrap.Level = stats.DefaultBootstrapLevel
	}
	return o
}

func (s Spec) withDefaults() Spec {
	if s.MinViabilityPct == 0 {
		s.MinViabilityPct = DefaultMinViabilityPct
	}
	if s.MinPurityPct == 0 {
		s.MinPurityPct = DefaultMinPurityPct
	}
	if s.MaxTCellsPerKg == 0 {
		s.MaxTCellsPerKg = DefaultMaxTCellsPerKg
	}
	if s.MinK562LysisPct == 0 {
		s.MinK562LysisPct = DefaultMinK562LysisPct
	}
	return s
}

// resolve validates opt and fills in its defaults; errors name fields under "options".
func resolve(opt Options) (Options, error) {
	var fe fieldErrors
	opt.check("options.", &fe)
	if err := fe.err(); err != nil {
		return Options{}, err
	}
	return opt.withDefaults(), nil
}

// checkOutcome records what is wrong with one outcome, fields named under prefix.
func checkOutcome(o Outcome, prefix string, fe *fieldErrors) {
	// who names the culture in messages, since indexes mean little to a reader.
	who := func() string {
		if strings.TrimSpace(o.Culture) == "" {
			return ""
		}
		return fmt.Sprintf("culture %q: ", o.Culture)
	}
	required := func(field, v string) {
		if strings.TrimSpace(v) == "" {
			fe.addf(prefix+"."+field, "%srequired", who())
		}
	}
	required("culture", o.Culture)
	required("donor", o.Donor)
	required("protocol", o.Protocol)
	if !(o.StartingNKFraction >= 0 && o.StartingNKFraction <= 1) {
		fe.addf(prefix+".starting_nk_fraction", "%smust be a fraction in [0, 1] (0: not recorded), got %g", who(), o.StartingNKFraction)
	}
	finite := func(field string, v *float64, ok func(float64) bool, rule string) {
		if v == nil {
			return
		}
		if math.IsNaN(*v) || math.IsInf(*v, 0) || !ok(*v) {
			fe.addf(prefix+"."+field, "%smust be %s, got %g", who(), rule, *v)
		}
	}
	pct := func(x float64) bool { return x >= 0 && x <= 100 }
	finite("nk_fold", o.NKFold, func(x float64) bool { return x >= 0 }, "a finite fold ≥ 0")
	finite("purity_pct", o.PurityPct, pct, "a percentage in [0, 100]")
	finite("viability_pct", o.ViabilityPct, pct, "a percentage in [0, 100]")
	finite("t_cell_pct", o.TCellPct, pct, "a percentage in [0, 100]")
	finite("lu30", o.LU30, func(x float64) bool { return x > 0 }, "a finite number of lytic units > 0")
	finite("lu20", o.LU20, func(x float64) bool { return x > 0 }, "a finite number of lytic units > 0")
	finite("k562_lysis_at_20_pct", o.K562LysisAt20, func(float64) bool { return true }, "a finite percentage")
}

// maxFieldErrors bounds the field errors one call reports.
const maxFieldErrors = 20

// fieldErrors collects field errors up to maxFieldErrors and counts the rest.
type fieldErrors struct {
	list    clink.FieldErrors
	dropped int
}

func (f *fieldErrors) addf(field, format string, args ...any) {
	if len(f.list) >= maxFieldErrors {
		f.dropped++
		return
	}
	f.list.Addf(field, format, args...)
}

func (f *fieldErrors) empty() bool { return len(f.list) == 0 }

func (f *fieldErrors) err() error {
	if f.dropped > 0 {
		f.list = append(f.list, clink.FieldError{Field: "outcomes",
			Message: fmt.Sprintf("%d more problems not listed", f.dropped)})
		f.dropped = 0
	}
	return f.list.Err()
}
