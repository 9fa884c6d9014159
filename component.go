package clink

import (
	"fmt"
	"strings"
)

// Component categories of the catalogue.
const (
	CategoryCytokine = "cytokine"
	CategoryFeeder   = "feeder"
	CategoryCompound = "compound"
	CategoryAntibody = "antibody"
	CategoryMedium   = "medium"
	CategorySerum    = "serum"
)

// Units a component dose may be given in.
const (
	UnitIUPerML    = "IU/mL"
	UnitNgPerML    = "ng/mL"
	UnitUgPerML    = "µg/mL"
	UnitMicromolar = "µM"
	UnitGray       = "Gy" // a feeder's dose is its irradiation dose; its amount is the protocol's feeder ratio
	UnitPercentVV  = "% v/v"
)

// fixedUnits are components whose unit is set by domain rules (domain.md §2.3): IL-2 is dosed
// in activity units, the others by mass.
var fixedUnits = map[string]string{
	"IL-2":  UnitIUPerML,
	"IL-15": UnitNgPerML,
	"IL-21": UnitNgPerML,
	"IL-12": UnitNgPerML,
	"IL-18": UnitNgPerML,
}

// categoryUnits lists the units allowed for each category when no fixed unit applies.
var categoryUnits = map[string][]string{
	CategoryCytokine: {UnitNgPerML, UnitIUPerML},
	CategoryFeeder:   {UnitGray},
	CategoryCompound: {UnitMicromolar},
	CategoryAntibody: {UnitNgPerML, UnitUgPerML},
	CategoryMedium:   {UnitPercentVV},
	CategorySerum:    {UnitPercentVV},
}

// FeederLines is the controlled vocabulary of feeder cells (domain.md §1.3: never free text).
var FeederLines = []string{
	"K562-mbIL15-41BBL", "K562-mbIL21-41BBL", "K562-mbIL18/21", "K562",
	"EBV-LCL", "721.221", "721.221-AEH", "irradiated PBMC",
}

// NormalizeUnit maps common spellings of a unit to the canonical one ("uM" to "µM", "iu/ml"
// to "IU/mL"); unknown spellings are returned unchanged.
func NormalizeUnit(u string) string {
	s := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(u), " ", ""))
	switch s {
	case "iu/ml", "u/ml":
		return UnitIUPerML
	case "ng/ml":
		return UnitNgPerML
	case "µg/ml", "ug/ml", "μg/ml":
		return UnitUgPerML
	case "µm", "um", "μm":
		return UnitMicromolar
	case "gy":
		return UnitGray
	case "%v/v", "%", "%(v/v)":
		return UnitPercentVV
	}
	return strings.TrimSpace(u)
}

// AllowedUnits returns the units a component of this name and category may be dosed in.
func AllowedUnits(name, category string) []string {
	if u, ok := fixedUnits[name]; ok && category == CategoryCytokine {
		return []string{u}
	}
	return categoryUnits[category]
}

// Component is an entry of the reagent catalogue: a cytokine, feeder cell line, compound,
// antibody, medium or serum, with the unit its doses are given in.
type Component struct {
	ID          int64  `json:"id"`
	Site        string `json:"site"`
	Name        string `json:"name"`
	Category    string `json:"category"`
	Unit        string `json:"unit"`
	Description string `json:"description"`
	Meta
}

// Validate checks the component's fields and that its unit suits its category.
func (c *Component) Validate() error {
	var fe FieldErrors
	c.Unit = NormalizeUnit(c.Unit)
	if !siteCodeRE.MatchString(c.Site) {
		fe.Addf("site", "%q is not a site code", c.Site)
	}
	if strings.TrimSpace(c.Name) == "" {
		fe.Addf("name", "is required")
	} else if len(c.Name) > 100 {
		fe.Addf("name", "is longer than 100 characters")
	}
	units, ok := categoryUnits[c.Category]
	if !ok {
		fe.Addf("category", "%q is not one of cytokine, feeder, compound, antibody, medium, serum", c.Category)
	} else {
		units = AllowedUnits(c.Name, c.Category)
		if !oneOf(c.Unit, units...) {
			fe.Addf("unit", "%s", unitMessage(c.Unit, c.Name, units))
		}
	}
	if c.Category == CategoryFeeder && !oneOf(c.Name, FeederLines...) {
		fe.Addf("name", "%q is not a known feeder line (%s)", c.Name, strings.Join(FeederLines, ", "))
	}
	if len(c.Description) > 2000 {
		fe.Addf("description", "is longer than 2000 characters")
	}
	return fe.Err()
}

func unitMessage(unit, name string, allowed []string) string {
	if unit == "" {
		return fmt.Sprintf("is required (%s)", strings.Join(allowed, " or "))
	}
	return fmt.Sprintf("%q is not a unit of %s (expected %s)", unit, name, strings.Join(allowed, " or "))
}
