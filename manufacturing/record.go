package manufacturing

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/clink-consortium/clink"
)

// MasterRecord returns the master batch record of a protocol version: the steps a batch made
// under it follows, in order, with the values each step records and their acceptable ranges
// (gmp.md §1.3, stages 5-10). The ranges are CLINK's defaults for expanded NK cells, to be set
// per product in its master record:
//
//   - receipt of the starting material: volume, viable nucleated cells, viability >= 70 %
//     (the release viability limit of gmp.md §4, applied at receipt);
//   - CD3 depletion: viable cells after, residual CD3+ <= 1 % of viable cells;
//   - feeder preparation (protocols with a feeder): irradiation dose 100-200 Gy and feeder
//     viable cells;
//   - seeding on day 0: density within 20 % of the protocol's seeding density;
//   - restimulation on each of the protocol's restimulation days: the feeder ratio given,
//     within 20 % of the protocol's;
//   - in-process controls on day 7 and every 7 days before the harvest: viable cells/mL,
//     viability >= 70 %, NK (CD3-CD56+) purity in %;
//   - harvest on the protocol's last day: viable cells, viability >= 70 %;
//   - formulation: nucleated cells/mL, CD3+ % of viable CD45+ (for the T-cell cap) and the
//     volume available for infusion; these feed the dose calculation (gmp.md §5).
func MasterRecord(p *clink.Protocol) []clink.MasterStep {
	f := func(v float64) *float64 { return &v }
	pct := func(key, name string, min float64) clink.StepField {
		return clink.StepField{Key: key, Name: name, Unit: "%", Min: f(min), Max: f(100)}
	}
	viability := pct("viability_pct", "Viability", 70)
	steps := []clink.MasterStep{
		{Key: "receipt", Name: "Receipt of starting material", Day: 0, Fields: []clink.StepField{
			{Key: "volume_ml", Name: "Volume received", Unit: "mL", Min: f(1), Max: f(1000)},
			{Key: "viable_cells", Name: "Viable nucleated cells", Unit: "cells", Min: f(1e6), Max: f(1e12)},
			viability,
		}},
		{Key: "cd3_depletion", Name: "CD3 depletion", Day: 0, Reagents: true, Fields: []clink.StepField{
			{Key: "viable_cells", Name: "Viable cells after depletion", Unit: "cells", Min: f(1e5), Max: f(1e12)},
			pct("cd3_pct", "Residual CD3+ of viable cells", 0),
		}},
	}
	steps[1].Fields[1].Max = f(1)
	hasFeeder := p.FeederRatio != nil && *p.FeederRatio > 0
	if hasFeeder {
		steps = append(steps, clink.MasterStep{Key: "feeder_preparation", Name: "Feeder preparation and irradiation", Day: 0, Reagents: true,
			Fields: []clink.StepField{
				{Key: "irradiation_gy", Name: "Irradiation dose", Unit: "Gy", Min: f(100), Max: f(200)},
				{Key: "feeder_cells", Name: "Viable feeder cells", Unit: "cells", Min: f(1e5), Max: f(1e12)},
			}})
	}
	seed := clink.StepField{Key: "seeding_density", Name: "Seeding density", Unit: "cells/mL", Min: f(1e4), Max: f(1e8)}
	if p.SeedingDensity > 0 {
		seed.Min, seed.Max = f(p.SeedingDensity*0.8), f(p.SeedingDensity*1.2)
		seed.Expected = plain(p.SeedingDensity) + " cells/mL"
	}
	steps = append(steps, clink.MasterStep{Key: "seeding", Name: "Seeding with cytokines", Day: 0, Reagents: true, Fields: []clink.StepField{
		seed, {Key: "volume_ml", Name: "Culture volume", Unit: "mL", Min: f(1), Max: f(10000)},
	}})
	type dayStep struct {
		day  int
		step clink.MasterStep
	}
	var later []dayStep
	if hasFeeder {
		for _, d := range p.RestimulationDays {
			if d <= 0 || d >= p.DurationDays {
				continue
			}
			r := clink.StepField{Key: "feeder_ratio", Name: "Feeder:NK ratio given", Unit: "feeder:NK",
				Min: f(*p.FeederRatio * 0.8), Max: f(*p.FeederRatio * 1.2), Expected: fmt.Sprintf("%g:1", *p.FeederRatio)}
			later = append(later, dayStep{d, clink.MasterStep{Key: fmt.Sprintf("restimulation_d%d", d), Name: fmt.Sprintf("Restimulation, day %d", d),
				Day: d, Reagents: true, Fields: []clink.StepField{r}}})
		}
	}
	for d := 7; d < p.DurationDays; d += 7 {
		later = append(later, dayStep{d, clink.MasterStep{Key: fmt.Sprintf("ipc_d%d", d), Name: fmt.Sprintf("In-process control, day %d", d), Day: d,
			Fields: []clink.StepField{
				{Key: "viable_per_ml", Name: "Viable cells", Unit: "cells/mL", Min: f(1e4), Max: f(1e8)},
				viability,
				pct("nk_purity_pct", "NK (CD3−CD56+) purity", 0),
			}}})
	}
	// In-process controls come after a restimulation of the same day: they count the culture
	// before it is fed again.
	slices.SortStableFunc(later, func(a, b dayStep) int { return a.day - b.day })
	for _, l := range later {
		steps = append(steps, l.step)
	}
	day := max(p.DurationDays, 1)
	steps = append(steps,
		clink.MasterStep{Key: "harvest", Name: "Harvest", Day: day, Fields: []clink.StepField{
			{Key: "viable_cells", Name: "Viable cells harvested", Unit: "cells", Min: f(1e6), Max: f(1e13)},
			viability,
		}},
		clink.MasterStep{Key: "formulation", Name: "Wash and formulation", Day: day, Reagents: true, Fields: []clink.StepField{
			{Key: "tnc_per_ml", Name: "Nucleated cells", Unit: "cells/mL", Min: f(1e5), Max: f(1e10)},
			pct("cd3_pct", "CD3+ of viable CD45+", 0),
			{Key: "available_ml", Name: "Volume available for infusion", Unit: "mL", Min: f(1), Max: f(2000)},
		}},
	)
	return steps
}

// outOfRange returns why v is outside field's range, or "".
func outOfRange(field clink.StepField, v float64) string {
	switch {
	case field.Min != nil && v < *field.Min:
		return fmt.Sprintf("%g is below %g %s", v, *field.Min, field.Unit)
	case field.Max != nil && v > *field.Max:
		return fmt.Sprintf("%g is above %g %s", v, *field.Max, field.Unit)
	}
	return ""
}

// plain writes a number as people write it on a batch record: a whole number with thousands
// separators (1,000,000), anything else as %g.
func plain(x float64) string {
	if x != math.Trunc(x) || math.Abs(x) >= 1e15 {
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	digits := strconv.FormatFloat(math.Abs(x), 'f', 0, 64)
	var b strings.Builder
	if x < 0 {
		b.WriteByte('-')
	}
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
