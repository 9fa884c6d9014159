package clink

import (
	"fmt"
	"math"
	"strings"
)

// Cytotoxicity targets and methods.
const (
	TargetK562   = "K562"
	TargetRaji   = "Raji"
	TargetJurkat = "Jurkat"
	TargetBlasts = "primary blasts"
	TargetCustom = "custom"

	// MethodCr51 and MethodCalcein are release assays: readings are counts or fluorescence of
	// the supernatant, with spontaneous (targets alone) and maximum (detergent) controls.
	MethodCr51    = "51Cr release"
	MethodCalcein = "calcein release"
	// MethodFlow is the flow-based dead-fraction assay: readings are percent dead targets, and
	// the spontaneous control is percent dead targets without effectors (no maximum control).
	MethodFlow = "flow-based"
)

// Targets and AssayMethods are the controlled vocabularies of an assay.
var (
	Targets      = []string{TargetK562, TargetRaji, TargetJurkat, TargetBlasts, TargetCustom}
	AssayMethods = []string{MethodCr51, MethodCalcein, MethodFlow}
)

// IsRelease reports whether method is a release assay with a maximum-release control.
func IsRelease(method string) bool { return method == MethodCr51 || method == MethodCalcein }

// AssayPoint is the replicate raw readings of the experimental wells at one E:T ratio.
type AssayPoint struct {
	ETRatio  float64   `json:"et_ratio"`
	Readings []float64 `json:"readings"`
}

// Assay is a cytotoxicity assay of a culture's effector cells on one day, stored raw: the
// readings of every well, never only the computed lysis.
type Assay struct {
	ID             int64        `json:"id"`
	CultureID      int64        `json:"culture_id"`
	Culture        string       `json:"culture"`
	Site           string       `json:"site"`
	Day            int          `json:"day"`
	Target         string       `json:"target"`
	TargetName     string       `json:"target_name"` // required for custom targets
	Method         string       `json:"method"`
	TargetsPerWell int          `json:"targets_per_well"`
	DurationHours  float64      `json:"duration_hours"`
	Points         []AssayPoint `json:"points"`
	Spontaneous    []float64    `json:"spontaneous"`
	Maximum        []float64    `json:"maximum"`
	Note           string       `json:"note"`
	Voided         bool         `json:"voided"`
	VoidReason     string       `json:"void_reason,omitempty"`
	Meta
}

// Validate checks the assay's own fields.
func (a *Assay) Validate() error {
	var fe FieldErrors
	if a.Day < 0 || a.Day > 365 {
		fe.Addf("day", "%d is outside the culture (0..365)", a.Day)
	}
	if !oneOf(a.Target, Targets...) {
		fe.Addf("target", "%q is not one of %s", a.Target, strings.Join(Targets, ", "))
	} else if a.Target == TargetCustom && strings.TrimSpace(a.TargetName) == "" {
		fe.Addf("target_name", "is required for a custom target")
	}
	if !oneOf(a.Method, AssayMethods...) {
		fe.Addf("method", "%q is not one of %s", a.Method, strings.Join(AssayMethods, ", "))
	}
	if a.TargetsPerWell < 0 || a.TargetsPerWell > 1e8 {
		fe.Addf("targets_per_well", "%d is outside 0..1e8", a.TargetsPerWell)
	}
	if a.DurationHours < 0 || a.DurationHours > 72 {
		fe.Addf("duration_hours", "%g is outside 0..72", a.DurationHours)
	}
	reading := func(field string, v float64) {
		switch {
		case math.IsNaN(v) || math.IsInf(v, 0):
			fe.Addf(field, "is not a number")
		case v < 0:
			fe.Addf(field, "%g is negative", v)
		case a.Method == MethodFlow && v > 100:
			fe.Addf(field, "%g is above 100 (flow readings are percent dead targets)", v)
		}
	}
	if len(a.Points) == 0 {
		fe.Addf("points", "at least one E:T ratio is required")
	}
	seen := map[float64]bool{}
	for i, p := range a.Points {
		f := fmt.Sprintf("points[%d]", i)
		if !(p.ETRatio > 0) || p.ETRatio > 1000 {
			fe.Addf(f+".et_ratio", "%g is not a ratio above 0 (at most 1000)", p.ETRatio)
		} else if seen[p.ETRatio] {
			fe.Addf(f+".et_ratio", "%g is listed twice", p.ETRatio)
		}
		seen[p.ETRatio] = true
		if len(p.Readings) == 0 || len(p.Readings) > 24 {
			fe.Addf(f+".readings", "needs 1 to 24 replicate readings, got %d", len(p.Readings))
		}
		for j, v := range p.Readings {
			reading(fmt.Sprintf("%s.readings[%d]", f, j), v)
		}
	}
	if len(a.Spontaneous) == 0 || len(a.Spontaneous) > 24 {
		fe.Addf("spontaneous", "needs 1 to 24 replicate readings, got %d", len(a.Spontaneous))
	}
	for j, v := range a.Spontaneous {
		reading(fmt.Sprintf("spontaneous[%d]", j), v)
	}
	if IsRelease(a.Method) {
		if len(a.Maximum) == 0 || len(a.Maximum) > 24 {
			fe.Addf("maximum", "a release assay needs 1 to 24 maximum-release readings, got %d", len(a.Maximum))
		}
	} else if len(a.Maximum) > 0 {
		fe.Addf("maximum", "a %s assay has no maximum-release control", a.Method)
	}
	for j, v := range a.Maximum {
		reading(fmt.Sprintf("maximum[%d]", j), v)
	}
	if len(a.Note) > 4000 {
		fe.Addf("note", "is longer than 4000 characters")
	}
	return fe.Err()
}
