package clink

import (
	"fmt"
	"slices"
	"strings"
)

// Starting materials, vessels and feeder-ratio bases of a protocol.
const (
	StartPBMC            = "PBMC"
	StartCD3DepletedPBMC = "CD3-depleted PBMC"
	StartCD56SelectedNK  = "CD56-selected NK"

	VesselFlask     = "flask"
	VesselGRex      = "G-Rex"
	VesselBag       = "bag"
	VesselAutomated = "automated closed system"

	BasisFeederNK   = "feeder:NK"
	BasisFeederPBMC = "feeder:PBMC"
)

// StartingMaterials, Vessels and FeederRatioBases are the controlled vocabularies of a protocol.
var (
	StartingMaterials = []string{StartPBMC, StartCD3DepletedPBMC, StartCD56SelectedNK}
	Vessels           = []string{VesselFlask, VesselGRex, VesselBag, VesselAutomated}
	FeederRatioBases  = []string{BasisFeederNK, BasisFeederPBMC}
)

// ProtocolComponent is one component of a protocol: its dose, unit and the culture days it is
// added on (day 0 is seeding).
type ProtocolComponent struct {
	Component string  `json:"component"`
	Category  string  `json:"category"`
	Dose      float64 `json:"dose"`
	Unit      string  `json:"unit"`
	Days      []int   `json:"days"`
}

// Protocol is one version of an expansion protocol. A version that any culture uses is
// immutable (InUse); changing it means creating the next version.
type Protocol struct {
	ID                int64               `json:"id"`
	Site              string              `json:"site"`
	Name              string              `json:"name"`
	Version           int                 `json:"version"`
	StartingMaterial  string              `json:"starting_material"`
	Components        []ProtocolComponent `json:"components"`
	FeederRatio       *float64            `json:"feeder_ratio"`
	FeederRatioBasis  string              `json:"feeder_ratio_basis"`
	RestimulationDays []int               `json:"restimulation_days"`
	Vessel            string              `json:"vessel"`
	SeedingDensity    float64             `json:"seeding_density"` // viable cells/mL at day 0
	DurationDays      int                 `json:"duration_days"`
	Description       string              `json:"description"`
	InUse             bool                `json:"in_use"`
	Voided            bool                `json:"voided"`
	VoidReason        string              `json:"void_reason,omitempty"`
	Meta
}

// Key is how people name a protocol version: "name v3".
func (p *Protocol) Key() string { return fmt.Sprintf("%s v%d", p.Name, p.Version) }

// Normalize sorts days and fills empty slices so that equal protocols compare equal.
func (p *Protocol) Normalize() {
	if p.Components == nil {
		p.Components = []ProtocolComponent{}
	}
	for i := range p.Components {
		c := &p.Components[i]
		c.Unit = NormalizeUnit(c.Unit)
		if c.Days == nil {
			c.Days = []int{}
		}
		slices.Sort(c.Days)
	}
	if p.RestimulationDays == nil {
		p.RestimulationDays = []int{}
	}
	slices.Sort(p.RestimulationDays)
}

// Validate checks the protocol's own fields. Whether each component exists in the catalogue and
// which unit it takes is checked by CheckComponents, which needs the catalogue.
func (p *Protocol) Validate() error {
	var fe FieldErrors
	if !siteCodeRE.MatchString(p.Site) {
		fe.Addf("site", "%q is not a site code", p.Site)
	}
	if strings.TrimSpace(p.Name) == "" {
		fe.Addf("name", "is required")
	} else if len(p.Name) > 100 {
		fe.Addf("name", "is longer than 100 characters")
	}
	if p.Version < 0 {
		fe.Addf("version", "%d is negative", p.Version)
	}
	if !oneOf(p.StartingMaterial, StartingMaterials...) {
		fe.Addf("starting_material", "%q is not one of %s", p.StartingMaterial, strings.Join(StartingMaterials, ", "))
	}
	if !oneOf(p.Vessel, Vessels...) {
		fe.Addf("vessel", "%q is not one of %s", p.Vessel, strings.Join(Vessels, ", "))
	}
	if p.DurationDays < 1 || p.DurationDays > 120 {
		fe.Addf("duration_days", "%d is outside 1..120", p.DurationDays)
	}
	if !(p.SeedingDensity > 0) || p.SeedingDensity > 1e8 {
		fe.Addf("seeding_density", "%g is not a density in cells/mL (above 0, at most 1e8)", p.SeedingDensity)
	}
	hasFeeder := false
	seen := map[string]bool{}
	for i, c := range p.Components {
		f := fmt.Sprintf("components[%d]", i)
		if c.Component == "" {
			fe.Addf(f+".component", "is required")
		} else if seen[c.Component] {
			fe.Addf(f+".component", "%s is listed twice", c.Component)
		}
		seen[c.Component] = true
		if c.Category == CategoryFeeder {
			hasFeeder = true
		}
		if !(c.Dose > 0) || c.Dose > 1e6 {
			fe.Addf(f+".dose", "%g is not a positive dose (at most 1e6)", c.Dose)
		}
		if len(c.Days) == 0 {
			fe.Addf(f+".days", "is required: the days the component is added (0 is seeding)")
		}
		for j, d := range c.Days {
			if d < 0 || (p.DurationDays > 0 && d > p.DurationDays) {
				fe.Addf(fmt.Sprintf("%s.days[%d]", f, j), "day %d is outside the culture (0..%d)", d, p.DurationDays)
			} else if j > 0 && c.Days[j-1] == d {
				fe.Addf(fmt.Sprintf("%s.days[%d]", f, j), "day %d is listed twice", d)
			}
		}
	}
	if p.FeederRatio != nil {
		if !(*p.FeederRatio > 0) || *p.FeederRatio > 1000 {
			fe.Addf("feeder_ratio", "%g is not a ratio above 0 (at most 1000)", *p.FeederRatio)
		}
		if !oneOf(p.FeederRatioBasis, FeederRatioBases...) {
			fe.Addf("feeder_ratio_basis", "%q is not one of %s: a ratio needs its basis", p.FeederRatioBasis, strings.Join(FeederRatioBases, ", "))
		}
		if !hasFeeder {
			fe.Addf("feeder_ratio", "is set but the protocol has no feeder component")
		}
	} else {
		if p.FeederRatioBasis != "" {
			fe.Addf("feeder_ratio_basis", "is set without a feeder_ratio")
		}
		if hasFeeder {
			fe.Addf("feeder_ratio", "is required with a feeder component")
		}
	}
	for j, d := range p.RestimulationDays {
		f := fmt.Sprintf("restimulation_days[%d]", j)
		switch {
		case !hasFeeder:
			fe.Addf(f, "restimulation needs a feeder component")
		case d < 1 || d >= p.DurationDays:
			fe.Addf(f, "day %d is outside 1..%d", d, p.DurationDays-1)
		case j > 0 && p.RestimulationDays[j-1] == d:
			fe.Addf(f, "day %d is listed twice", d)
		}
	}
	if len(p.Description) > 4000 {
		fe.Addf("description", "is longer than 4000 characters")
	}
	return fe.Err()
}

// CheckComponents checks each protocol component against the catalogue entry of that name
// (lookup returns nil for unknown names), fills its category, and checks its unit.
func (p *Protocol) CheckComponents(lookup func(name string) *Component) error {
	var fe FieldErrors
	for i := range p.Components {
		c := &p.Components[i]
		f := fmt.Sprintf("components[%d]", i)
		cat := lookup(c.Component)
		if cat == nil {
			if c.Component != "" {
				fe.Addf(f+".component", "%q is not in the component catalogue", c.Component)
			}
			continue
		}
		c.Category = cat.Category
		if c.Unit == "" {
			c.Unit = cat.Unit
		}
		if c.Unit != cat.Unit {
			fe.Addf(f+".unit", "%s", unitMessage(c.Unit, c.Component, []string{cat.Unit}))
		}
	}
	return fe.Err()
}

// ProtocolChange is one difference between two protocol versions.
type ProtocolChange struct {
	Field string `json:"field"`
	From  any    `json:"from"`
	To    any    `json:"to"`
}

// ProtocolDiff is the difference between two versions of a protocol.
type ProtocolDiff struct {
	From    string           `json:"from"`
	To      string           `json:"to"`
	Changes []ProtocolChange `json:"changes"`
}

// DiffProtocols lists the fields in which b differs from a. Components are compared by name:
// an added or removed component is one change, a changed dose, unit or schedule another.
func DiffProtocols(a, b *Protocol) ProtocolDiff {
	d := ProtocolDiff{From: a.Key(), To: b.Key(), Changes: []ProtocolChange{}}
	add := func(field string, from, to any) { d.Changes = append(d.Changes, ProtocolChange{field, from, to}) }
	if a.Name != b.Name {
		add("name", a.Name, b.Name)
	}
	if a.StartingMaterial != b.StartingMaterial {
		add("starting_material", a.StartingMaterial, b.StartingMaterial)
	}
	if a.Vessel != b.Vessel {
		add("vessel", a.Vessel, b.Vessel)
	}
	if a.SeedingDensity != b.SeedingDensity {
		add("seeding_density", a.SeedingDensity, b.SeedingDensity)
	}
	if a.DurationDays != b.DurationDays {
		add("duration_days", a.DurationDays, b.DurationDays)
	}
	if !equalFloatPtr(a.FeederRatio, b.FeederRatio) {
		add("feeder_ratio", a.FeederRatio, b.FeederRatio)
	}
	if a.FeederRatioBasis != b.FeederRatioBasis {
		add("feeder_ratio_basis", a.FeederRatioBasis, b.FeederRatioBasis)
	}
	if !slices.Equal(a.RestimulationDays, b.RestimulationDays) {
		add("restimulation_days", a.RestimulationDays, b.RestimulationDays)
	}
	if a.Description != b.Description {
		add("description", a.Description, b.Description)
	}
	byName := func(p *Protocol) map[string]ProtocolComponent {
		m := map[string]ProtocolComponent{}
		for _, c := range p.Components {
			m[c.Component] = c
		}
		return m
	}
	am, bm := byName(a), byName(b)
	names := make([]string, 0, len(am)+len(bm))
	for n := range am {
		names = append(names, n)
	}
	for n := range bm {
		if _, ok := am[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		ca, inA := am[n]
		cb, inB := bm[n]
		f := "components." + n
		switch {
		case !inA:
			add(f, nil, cb)
		case !inB:
			add(f, ca, nil)
		default:
			if ca.Dose != cb.Dose {
				add(f+".dose", ca.Dose, cb.Dose)
			}
			if ca.Unit != cb.Unit {
				add(f+".unit", ca.Unit, cb.Unit)
			}
			if !slices.Equal(ca.Days, cb.Days) {
				add(f+".days", ca.Days, cb.Days)
			}
		}
	}
	return d
}

func equalFloatPtr(a, b *float64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
