package gmp

import (
	"fmt"
	"math"
	"math/big"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/clink-consortium/clink"
)

// Bound is one side of a numeric limit: the value and whether it is included, so that both
// "> 70 %" and "≥ 90 %" can be stored as written; published specifications mix them (gmp.md
// §4, evaluation rules).
type Bound struct {
	Value     float64 `json:"value"`
	Inclusive bool    `json:"inclusive"` // ≥ or ≤ when true, > or < when false
}

// Limit is one line of a release specification: a test, what conforms, and what a failure
// means.
//
// A numeric limit has Min, Max or both. A qualitative limit has Expect, the one conforming
// result ("no growth"). A line with neither is reported on the certificate without a limit.
type Limit struct {
	Test   string `json:"test"`             // key of the result, e.g. "viability"
	Name   string `json:"name"`             // e.g. "Viability"
	Method string `json:"method,omitempty"` // e.g. "flow (7-AAD) or dye exclusion"
	Unit   string `json:"unit,omitempty"`   // unit of the compared value, e.g. "%" or "EU/kg"
	Min    *Bound `json:"min,omitempty"`
	Max    *Bound `json:"max,omitempty"`
	// PerKg says that the result is the amount in the intended dose (cells, EU) and that the
	// limit applies to it divided by the patient's weight (CD3+ cells/kg, EU/kg).
	PerKg bool `json:"per_kg,omitempty"`
	// Expect is the conforming result of a qualitative test; any other result fails.
	Expect string `json:"expect,omitempty"`
	// Hard says that a failure blocks release; a soft failure needs a deviation and the QP's
	// reason.
	Hard bool `json:"hard"`
	// MayBePending says that the batch may be certified while this result is outstanding
	// (conditional release, EudraLex Part IV §11; gmp.md §1.3 step 14, §4): the 14-day
	// sterility culture.
	MayBePending bool   `json:"may_be_pending,omitempty"`
	Source       string `json:"source,omitempty"` // where the default comes from
}

// Reported reports whether the line has no limit: the result is shown, never judged.
func (l Limit) Reported() bool { return l.Min == nil && l.Max == nil && l.Expect == "" }

// String returns the limit as printed on a certificate: "> 70 %", "≥ 90 and ≤ 100 % of
// target", "≤ 1e+05 CD3+ cells/kg", "no growth", or "reported".
func (l Limit) String() string {
	if l.Expect != "" {
		return l.Expect
	}
	if l.Reported() {
		return "reported"
	}
	op := func(b *Bound, strict, incl string) string {
		o := strict
		if b.Inclusive {
			o = incl
		}
		return o + " " + strconv.FormatFloat(b.Value, 'g', -1, 64)
	}
	var parts []string
	if l.Min != nil {
		parts = append(parts, op(l.Min, ">", "≥"))
	}
	if l.Max != nil {
		parts = append(parts, op(l.Max, "<", "≤"))
	}
	s := strings.Join(parts, " and ")
	if l.Unit != "" {
		s += " " + l.Unit
	}
	return s
}

// Spec is a release specification: a named, versioned list of limits. It is a value: Revise
// returns a new version and leaves the old one as it was, so that a batch keeps the version
// it was assessed against. Storing versions and auditing who changed them is the caller's job.
type Spec struct {
	Name    string  `json:"name"`
	Version int     `json:"version"`
	Limits  []Limit `json:"limits"`
}

// Test keys of the default specification, as used in Results.
const (
	TestViability       = "viability"
	TestNKPurity        = "nk_purity"
	TestResidualCD3     = "residual_cd3"
	TestResidualFeeders = "residual_feeders"
	TestEndotoxin       = "endotoxin"
	TestEndotoxinPerKg  = "endotoxin_per_kg"
	TestGramStain       = "gram_stain"
	TestSterility       = "sterility"
	TestMycoplasma      = "mycoplasma"
	TestIdentity        = "identity"
	TestPotency         = "potency"
	TestDose            = "dose"
	TestCD19            = "cd19"
	TestVolume          = "volume"
	TestTotalCells      = "total_nucleated_cells"
	TestNKCells         = "nk_cells"
)

// DefaultCD3CapPerKg is the default residual T-cell limit, 1×10⁵ CD3+ cells/kg (gmp.md §4).
const DefaultCD3CapPerKg = 1e5

// DefaultSpec returns the release specification of gmp.md §4, version 1, whose defaults follow
// Lapteva et al. 2012 (Cytotherapy 14:1131). Each study's IMPD sets the binding values.
//
// gmp.md does not say which limits are hard. Here a failure of a safety test (residual T
// cells, residual feeders, endotoxin, Gram stain, sterility, mycoplasma, donor identity)
// blocks release, and a failure of a quality test (viability, NK purity, potency, delivered
// dose) needs a deviation and the QP's reason. The 14-day sterility culture may be
// outstanding at certification. CD19+ cells, volume, total nucleated cells and NK cells are
// reported without a limit.
func DefaultSpec() Spec {
	gt := func(v float64) *Bound { return &Bound{Value: v} }
	ge := func(v float64) *Bound { return &Bound{Value: v, Inclusive: true} }
	const lapteva = "gmp.md §4; Lapteva et al. 2012, Cytotherapy 14:1131"
	return Spec{Name: "default", Version: 1, Limits: []Limit{
		{Test: TestViability, Name: "Viability", Method: "flow (7-AAD) or dye exclusion", Unit: "%", Min: gt(70), Source: lapteva},
		{Test: TestNKPurity, Name: "NK identity / purity", Method: "flow, CD3−CD56+ of viable CD45+", Unit: "%", Min: gt(70), Source: lapteva},
		{Test: TestResidualCD3, Name: "Residual T cells", Method: "flow CD3+ × dose", Unit: "CD3+ cells/kg", Max: ge(DefaultCD3CapPerKg), PerKg: true, Hard: true, Source: lapteva + "; Minnesota series, Transfusion 2018;58:1458"},
		{Test: TestResidualFeeders, Name: "Residual feeder cells", Method: "flow for the feeder marker; K562 feeders also BCR::ABL1 RT-qPCR", Unit: "%", Max: gt(0.1), Hard: true, Source: lapteva},
		{Test: TestEndotoxin, Name: "Endotoxin", Method: "LAL, Ph. Eur. 2.6.14", Unit: "EU/mL", Max: gt(5), Hard: true, Source: lapteva},
		{Test: TestEndotoxinPerKg, Name: "Endotoxin at the intended dose", Method: "LAL × dose volume", Unit: "EU/kg", Max: ge(5), PerKg: true, Hard: true, Source: "gmp.md §4 (parenteral threshold 5 EU/kg)"},
		{Test: TestGramStain, Name: "Gram stain", Method: "Gram stain at release", Expect: "no organisms seen", Hard: true, Source: lapteva},
		{Test: TestSterility, Name: "Sterility", Method: "14-day culture or Ph. Eur. 2.6.27", Expect: "no growth", Hard: true, MayBePending: true, Source: lapteva + "; EudraLex Part IV §11"},
		{Test: TestMycoplasma, Name: "Mycoplasma", Method: "NAT, Ph. Eur. 2.6.7", Expect: "not detected", Hard: true, Source: lapteva},
		{Test: TestIdentity, Name: "Identity (donor)", Method: "HLA typing of product (at least HLA-A and -B)", Expect: "identical to donor", Hard: true, Source: lapteva},
		{Test: TestPotency, Name: "Potency", Method: "K562 specific lysis at E:T 20:1 (4 h)", Unit: "%", Min: gt(20), Source: lapteva},
		{Test: TestDose, Name: "Dose delivered", Method: "viable CD3−CD56+ per kg (gmp.md §5)", Unit: "% of target", Min: ge(90), Max: ge(100), Source: "gmp.md §4, §5"},
		{Test: TestCD19, Name: "CD19+ B cells", Method: "flow", Unit: "%", Source: "gmp.md §4 (reported, no limit)"},
		{Test: TestVolume, Name: "Volume", Unit: "mL", Source: "gmp.md §4 (reported, no limit)"},
		{Test: TestTotalCells, Name: "Total nucleated cells", Unit: "cells", Source: "gmp.md §4 (reported, no limit)"},
		{Test: TestNKCells, Name: "Viable NK cells", Unit: "cells", Source: "gmp.md §4 (reported, no limit)"},
	}}
}

var testKey = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// Validate checks the specification: a name, a version from 1, and limits with unique test
// keys (lower case, digits and _), a name, finite bounds with Min below Max, either bounds or
// an expected text but not both, and PerKg only on numeric limits. The error is EINVALID with
// one field error per problem, fields named like "limits[3].max".
func (s Spec) Validate() error {
	var fe clink.FieldErrors
	if strings.TrimSpace(s.Name) == "" {
		fe.Addf("name", "is empty")
	}
	if s.Version < 1 {
		fe.Addf("version", "must be 1 or more, got %d", s.Version)
	}
	if len(s.Limits) == 0 {
		fe.Addf("limits", "is empty")
	}
	seen := map[string]int{}
	for i, l := range s.Limits {
		f := fmt.Sprintf("limits[%d]", i)
		if !testKey.MatchString(l.Test) {
			fe.Addf(f+".test", "%q must be 1–64 characters of a–z, 0–9 and _, starting with a letter", limitRunes(l.Test, 70))
		} else if j, dup := seen[l.Test]; dup {
			fe.Addf(f+".test", "%q appears again (first at limits[%d])", l.Test, j)
		} else {
			seen[l.Test] = i
		}
		if strings.TrimSpace(l.Name) == "" {
			fe.Addf(f+".name", "is empty")
		}
		for _, b := range []struct {
			name string
			b    *Bound
		}{{"min", l.Min}, {"max", l.Max}} {
			if b.b != nil && (math.IsNaN(b.b.Value) || math.IsInf(b.b.Value, 0)) {
				fe.Addf(f+"."+b.name, "must be a finite number, got %g", b.b.Value)
			}
		}
		if l.Min != nil && l.Max != nil {
			if l.Min.Value > l.Max.Value || l.Min.Value == l.Max.Value && !(l.Min.Inclusive && l.Max.Inclusive) {
				fe.Addf(f+".max", "the range %s admits no value", l.String())
			}
		}
		if l.Expect != "" && (l.Min != nil || l.Max != nil) {
			fe.Addf(f+".expect", "a limit is either numeric (min, max) or qualitative (expect), not both")
		}
		if l.Expect != "" && strings.TrimSpace(l.Expect) != l.Expect {
			fe.Addf(f+".expect", "%q has leading or trailing spaces", l.Expect)
		}
		if l.PerKg && l.Min == nil && l.Max == nil {
			fe.Addf(f+".per_kg", "applies only to a numeric limit")
		}
		if l.Hard && l.Reported() {
			fe.Addf(f+".hard", "a reported-only line has no limit to fail")
		}
	}
	return fe.Err()
}

// Revise returns the next version of the specification, with each given limit replacing the
// one of the same test or, for a new test, appended. s itself is not changed. The error is
// EINVALID when the result does not validate.
func (s Spec) Revise(limits ...Limit) (Spec, error) {
	next := Spec{Name: s.Name, Version: s.Version + 1, Limits: make([]Limit, len(s.Limits), len(s.Limits)+len(limits))}
	for i, l := range s.Limits {
		next.Limits[i] = l.clone()
	}
	for _, l := range limits {
		replaced := false
		for i := range next.Limits {
			if next.Limits[i].Test == l.Test {
				next.Limits[i], replaced = l.clone(), true
				break
			}
		}
		if !replaced {
			next.Limits = append(next.Limits, l.clone())
		}
	}
	if err := next.Validate(); err != nil {
		return Spec{}, err
	}
	return next, nil
}

// clone copies the bounds, so that versions share no memory.
func (l Limit) clone() Limit {
	if l.Min != nil {
		b := *l.Min
		l.Min = &b
	}
	if l.Max != nil {
		b := *l.Max
		l.Max = &b
	}
	return l
}

// Result is one test result of a batch. A numeric test uses Value; for a per-kg limit it is
// the amount in the intended dose (CD3+ cells, EU), which Evaluate divides by the weight. A
// qualitative test uses Text. Text may annotate a numeric result ("< 0.5, below the limit of
// quantification") without changing the comparison, which uses Value as reported: rounding is
// never used to pass a result (gmp.md §4).
type Result struct {
	Value float64 `json:"value"`
	Text  string  `json:"text,omitempty"`
}

// Results holds the results of a batch by test key. A test with no entry is pending.
type Results map[string]Result

// Overall statuses of an Assessment.
const (
	Releasable     = "releasable"      // every result in and within its limits
	NeedsDeviation = "needs_deviation" // a soft limit failed: a deviation and the QP's reason are needed
	Blocked        = "blocked"         // a hard limit failed: no release
	Incomplete     = "incomplete"      // a result is missing that release needs
)

// Outcomes of one test.
const (
	Pass        = "pass"
	Fail        = "fail"
	Pending     = "pending"     // no result yet, needed for release
	Outstanding = "outstanding" // no result yet, allowed for conditional release
	Reported    = "reported"    // a reported-only line with its result
)

// TestAssessment is the verdict on one line of the specification.
type TestAssessment struct {
	Test  string `json:"test"`
	Name  string `json:"name"`
	Limit string `json:"limit"` // as printed, e.g. "> 70 %"
	// Value is the value compared with the limit: per kg for a per-kg limit; nil when
	// pending or qualitative.
	Value *float64 `json:"value,omitempty"`
	// Measured is the result as given, before division by the weight; nil when pending or
	// qualitative.
	Measured *float64 `json:"measured,omitempty"`
	Text     string   `json:"text,omitempty"`
	Unit     string   `json:"unit,omitempty"`
	Outcome  string   `json:"outcome"` // Pass, Fail, Pending, Outstanding or Reported
	Hard     bool     `json:"hard"`
}

// Assessment is the verdict of a specification on the results of a batch.
type Assessment struct {
	Spec        string           `json:"spec"`
	SpecVersion int              `json:"spec_version"`
	WeightKg    float64          `json:"weight_kg,omitempty"`
	Status      string           `json:"status"` // Releasable, NeedsDeviation, Blocked or Incomplete
	Tests       []TestAssessment `json:"tests"`  // in specification order
	// HardFailures, SoftFailures, Missing and Outstanding list test keys in specification
	// order; never nil.
	HardFailures []string `json:"hard_failures"`
	SoftFailures []string `json:"soft_failures"`
	Missing      []string `json:"missing"`
	// Outstanding lists the results allowed to be pending at certification. When it is not
	// empty, a Releasable or NeedsDeviation batch can only be certified with outstanding
	// tests, and the late results must still be entered and assessed.
	Outstanding []string `json:"outstanding"`
}

// Weight limits of gmp.md §5: a weight outside them is bad data.
const (
	MinWeightKg = 2
	MaxWeightKg = 250
)

// Evaluate holds the results of a batch against the specification for a patient of the given
// weight (kg), which is needed only when a per-kg limit has a result (gmp.md §4).
//
// A numeric result passes when it lies within its bounds, each compared with its own operator;
// a per-kg result is divided by the weight first, in exact decimal arithmetic on the numbers
// as written, so that a value exactly at an inclusive bound passes (7.24×10⁶ CD3+ cells for
// 72.4 kg is 1×10⁵/kg, not 1.0000000000000001×10⁵). A qualitative result passes when its text
// is the expected one, ignoring case and surrounding spaces. A missing result is pending,
// never a pass.
//
// The status is Blocked when a hard limit failed, whatever else is missing; otherwise
// Incomplete when a result is pending that release needs; otherwise NeedsDeviation when a
// soft limit failed; otherwise Releasable. A result allowed to be pending (sterility culture)
// is listed in Outstanding instead and does not make the batch incomplete.
//
// The error is EINVALID for an invalid specification, a result for a test the specification
// does not have, a number that is NaN or infinite, a qualitative result without text, or,
// when a per-kg limit has a result, a weight outside 2–250 kg.
func Evaluate(spec Spec, results Results, weightKg float64) (Assessment, error) {
	if err := spec.Validate(); err != nil {
		return Assessment{}, err
	}
	var fe clink.FieldErrors
	byTest := map[string]Limit{}
	for _, l := range spec.Limits {
		byTest[l.Test] = l
	}
	keys := make([]string, 0, len(results))
	for k := range results {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	needWeight := false
	for _, k := range keys {
		r := results[k]
		f := "results." + limitRunes(k, 64)
		l, ok := byTest[k]
		switch {
		case !ok:
			fe.Addf(f, "is not a test of specification %q version %d", spec.Name, spec.Version)
		case l.Expect != "" && strings.TrimSpace(r.Text) == "":
			fe.Addf(f+".text", "is empty: a qualitative result needs its text (conforming: %q)", l.Expect)
		case l.Expect == "" && (math.IsNaN(r.Value) || math.IsInf(r.Value, 0)):
			fe.Addf(f+".value", "must be a finite number, got %g", r.Value)
		case l.PerKg:
			needWeight = true
		}
	}
	if needWeight {
		checkWeight(&fe, weightKg)
	}
	if err := fe.Err(); err != nil {
		return Assessment{}, err
	}

	a := Assessment{Spec: spec.Name, SpecVersion: spec.Version, Tests: make([]TestAssessment, 0, len(spec.Limits)),
		HardFailures: []string{}, SoftFailures: []string{}, Missing: []string{}, Outstanding: []string{}}
	if needWeight {
		a.WeightKg = weightKg
	}
	for _, l := range spec.Limits {
		t := TestAssessment{Test: l.Test, Name: l.Name, Limit: l.String(), Unit: l.Unit, Hard: l.Hard}
		r, ok := results[l.Test]
		switch {
		case !ok && l.MayBePending:
			t.Outcome = Outstanding
			a.Outstanding = append(a.Outstanding, l.Test)
		case !ok:
			t.Outcome = Pending
			a.Missing = append(a.Missing, l.Test)
		case l.Expect != "":
			t.Text = r.Text
			t.Outcome = Fail
			if strings.EqualFold(strings.TrimSpace(r.Text), l.Expect) {
				t.Outcome = Pass
			}
		default:
			t.Text = r.Text
			measured, value := r.Value, r.Value
			t.Measured = &measured
			x := decimal(r.Value)
			if l.PerKg {
				x.Quo(x, decimal(weightKg))
				value, _ = x.Float64()
			}
			t.Value = &value
			switch {
			case l.Reported():
				t.Outcome = Reported
			case within(x, l.Min, l.Max):
				t.Outcome = Pass
			default:
				t.Outcome = Fail
			}
		}
		if t.Outcome == Fail {
			if l.Hard {
				a.HardFailures = append(a.HardFailures, l.Test)
			} else {
				a.SoftFailures = append(a.SoftFailures, l.Test)
			}
		}
		a.Tests = append(a.Tests, t)
	}
	switch {
	case len(a.HardFailures) > 0:
		a.Status = Blocked
	case len(a.Missing) > 0:
		a.Status = Incomplete
	case len(a.SoftFailures) > 0:
		a.Status = NeedsDeviation
	default:
		a.Status = Releasable
	}
	return a, nil
}

// checkWeight records what is wrong with a body weight in kg (gmp.md §5, bad data).
func checkWeight(fe *clink.FieldErrors, w float64) {
	switch {
	case math.IsNaN(w):
		fe.Addf("weight_kg", "is not a number (NaN)")
	case w == 0:
		fe.Addf("weight_kg", "is missing (0)")
	case w < 0:
		fe.Addf("weight_kg", "must be positive, got %g", w)
	case w < MinWeightKg || w > MaxWeightKg:
		fe.Addf("weight_kg", "must be %d–%d kg, got %g", MinWeightKg, MaxWeightKg, w)
	}
}

// decimal returns x as the exact value of its shortest decimal representation: 72.4 is
// 724/10, not the binary double nearest to it. Numbers are entered as decimals, so this is
// the value the user wrote. x must be finite.
func decimal(x float64) *big.Rat {
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(x, 'g', -1, 64))
	if !ok { // cannot happen for a finite x; fall back to the binary value
		return new(big.Rat).SetFloat64(x)
	}
	return r
}

// within reports whether x satisfies both bounds (nil bounds are open).
func within(x *big.Rat, lo, hi *Bound) bool {
	if lo != nil {
		c := x.Cmp(decimal(lo.Value))
		if c < 0 || c == 0 && !lo.Inclusive {
			return false
		}
	}
	if hi != nil {
		c := x.Cmp(decimal(hi.Value))
		if c > 0 || c == 0 && !hi.Inclusive {
			return false
		}
	}
	return true
}
