package optimizer

import (
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/design"
)

// Factors and protocols. A design space's factors are read off a protocol version by name:
//
//   - a factor named like a component of the catalogue (letters and digits compared without
//     case: "il2" is the component "IL-2", "il15" "IL-15") is that component's dose, 0 when the
//     protocol does not use it;
//   - feeder: the protocol's feeder component ("none" without one), a categorical factor
//     whose levels are feeder names;
//   - feeder_ratio: the protocol's feeder ratio (the factor's low bound without a feeder: the
//     ratio is then inactive);
//   - restimulation: "none", "d7", "d7+d14" or "weekly" from the restimulation days;
//   - harvest_day (or duration_days): the protocol's duration;
//   - vessel, starting_material: the protocol's.
//
// Draft protocol versions go the other way (Draft).

// fold names as the matching compares them: letters and digits, lower case.
func fold(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// restimLevel names a protocol's restimulation days.
func restimLevel(days []int) string {
	switch {
	case len(days) == 0:
		return "none"
	case slices.Equal(days, []int{7}):
		return "d7"
	case slices.Equal(days, []int{7, 14}):
		return "d7+d14"
	}
	weekly := true
	for i, d := range days {
		if d != 7*(i+1) {
			weekly = false
		}
	}
	if weekly {
		return "weekly"
	}
	return fmt.Sprint(days)
}

// restimDays is the inverse of restimLevel for a protocol of duration days.
func restimDays(level string, duration int) ([]int, error) {
	switch level {
	case "none":
		return nil, nil
	case "d7":
		return []int{7}, nil
	case "d7+d14":
		return []int{7, 14}, nil
	case "weekly":
		var ds []int
		for d := 7; d <= duration-3; d += 7 {
			ds = append(ds, d)
		}
		return ds, nil
	}
	return nil, fmt.Errorf("restimulation %q is not none, d7, d7+d14 or weekly", level)
}

// feederOf returns the protocol's feeder component, or nil.
func feederOf(p *clink.Protocol) *clink.ProtocolComponent {
	for i := range p.Components {
		if p.Components[i].Category == clink.CategoryFeeder {
			return &p.Components[i]
		}
	}
	return nil
}

// level returns the level of f that names v (compared as fold does), or "".
func level(f design.Factor, v string) string {
	for _, l := range f.Levels {
		if fold(l) == fold(v) {
			return l
		}
	}
	return ""
}

// ProtocolPoint returns the point of space that protocol version p is, or an error saying why
// it is not in the space (a factor it cannot be read from, a value out of bounds, a level the
// factor does not have).
func ProtocolPoint(space *design.Space, p *clink.Protocol) (design.Point, error) {
	pt := design.Point{}
	feeder := feederOf(p)
	for _, f := range space.Factors {
		switch name := fold(f.Name); {
		case name == "feeder":
			v := "none"
			if feeder != nil {
				v = feeder.Component
			}
			l := level(f, v)
			if l == "" {
				return nil, fmt.Errorf("feeder %q is not a level of factor feeder (%s)", v, strings.Join(f.Levels, ", "))
			}
			pt[f.Name] = design.Cat(l)
		case name == "feederratio":
			v := f.Low
			if feeder != nil && p.FeederRatio != nil {
				v = *p.FeederRatio
			}
			pt[f.Name] = design.Num(v)
		case name == "restimulation":
			v := restimLevel(p.RestimulationDays)
			l := level(f, v)
			if l == "" {
				return nil, fmt.Errorf("restimulation %s is not a level of factor restimulation (%s)", v, strings.Join(f.Levels, ", "))
			}
			pt[f.Name] = design.Cat(l)
		case name == "harvestday" || name == "durationdays":
			pt[f.Name] = design.Num(float64(p.DurationDays))
		case name == "vessel" || name == "startingmaterial":
			v := p.Vessel
			if name == "startingmaterial" {
				v = p.StartingMaterial
			}
			l := level(f, v)
			if l == "" {
				return nil, fmt.Errorf("%s %q is not a level of factor %s (%s)", f.Name, v, f.Name, strings.Join(f.Levels, ", "))
			}
			pt[f.Name] = design.Cat(l)
		case f.Kind == design.Categorical:
			return nil, fmt.Errorf("factor %s: no protocol field of that name (categorical factors are feeder, restimulation, vessel and starting_material)", f.Name)
		default: // a component's dose
			dose := 0.0
			for _, c := range p.Components {
				if fold(c.Component) == name {
					dose = c.Dose
				}
			}
			pt[f.Name] = design.Num(dose)
		}
	}
	for _, f := range space.Factors {
		if v := pt[f.Name]; f.Kind != design.Categorical && (v.X < f.Low || v.X > f.High) {
			return nil, fmt.Errorf("%s %g is outside the factor's %g to %g", f.Name, v.X, f.Low, f.High)
		}
	}
	if !space.Feasible(pt) {
		return nil, fmt.Errorf("it breaks the space's constraints")
	}
	return pt, nil
}

// Draft returns a new version of protocol base (not stored: Version 0, its name and site)
// with the conditions of point pt: the doses of component factors (a component the base does
// not use is added from the catalogue, one at 0 is removed), the feeder and its ratio, the
// restimulation days, the duration, the vessel and starting material. Its description says
// which suggestion it comes from.
func Draft(space *design.Space, base *clink.Protocol, pt design.Point, catalogue []*clink.Component, note string) (*clink.Protocol, error) {
	d := *base
	d.ID, d.Version, d.InUse, d.Voided, d.VoidReason, d.Meta = 0, 0, false, false, "", clink.Meta{}
	d.Components = slices.Clone(base.Components)
	d.RestimulationDays = slices.Clone(base.RestimulationDays)
	byName := map[string]*clink.Component{}
	for _, c := range catalogue {
		byName[fold(c.Name)] = c
	}
	setDose := func(comp *clink.Component, dose float64) {
		i := slices.IndexFunc(d.Components, func(c clink.ProtocolComponent) bool { return fold(c.Component) == fold(comp.Name) })
		switch {
		case i >= 0 && dose == 0:
			d.Components = slices.Delete(d.Components, i, i+1)
		case i >= 0:
			d.Components[i].Dose = dose
		case dose != 0:
			d.Components = append(d.Components, clink.ProtocolComponent{Component: comp.Name, Category: comp.Category,
				Dose: dose, Unit: comp.Unit, Days: []int{0}})
		}
	}
	for _, f := range space.Factors {
		v, ok := pt[f.Name]
		if !ok {
			return nil, fmt.Errorf("the point has no value of factor %s", f.Name)
		}
		switch name := fold(f.Name); {
		case name == "feeder":
			if old := feederOf(&d); old != nil && fold(old.Component) != fold(v.Level) {
				d.Components = slices.DeleteFunc(d.Components, func(c clink.ProtocolComponent) bool { return c.Category == clink.CategoryFeeder })
			}
			if fold(v.Level) != "none" && feederOf(&d) == nil {
				comp, ok := byName[fold(v.Level)]
				if !ok {
					return nil, fmt.Errorf("feeder %q is not a component of the catalogue", v.Level)
				}
				d.Components = append(d.Components, clink.ProtocolComponent{Component: comp.Name, Category: comp.Category,
					Dose: 100, Unit: comp.Unit, Days: []int{0}})
			}
		case name == "feederratio":
			r := v.X
			d.FeederRatio = &r
		case name == "restimulation":
			// set after the duration is known
		case name == "harvestday" || name == "durationdays":
			d.DurationDays = int(v.X)
		case name == "vessel":
			d.Vessel = v.Level
		case name == "startingmaterial":
			d.StartingMaterial = v.Level
		default:
			comp, ok := byName[name]
			if !ok {
				return nil, fmt.Errorf("factor %s names no component of the catalogue", f.Name)
			}
			setDose(comp, v.X)
		}
	}
	if feederOf(&d) == nil {
		d.FeederRatio, d.FeederRatioBasis, d.RestimulationDays = nil, "", nil
	} else if d.FeederRatioBasis == "" {
		d.FeederRatioBasis = clink.BasisFeederNK
	}
	for _, f := range space.Factors {
		if fold(f.Name) == "restimulation" && feederOf(&d) != nil {
			days, err := restimDays(pt[f.Name].Level, d.DurationDays)
			if err != nil {
				return nil, err
			}
			d.RestimulationDays = days
		}
	}
	d.Description = strings.TrimSpace(note + " " + base.Description)
	d.Normalize()
	return &d, d.Validate()
}
