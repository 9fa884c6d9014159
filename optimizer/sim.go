package optimizer

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/clink-consortium/clink/bo"
	"github.com/clink-consortium/clink/design"
	"github.com/clink-consortium/clink/rank"
	"github.com/clink-consortium/clink/sim"
)

// The simulator landscape: the optimizer's benchmark on CLINK's own model (domain.md §9.3
// target 5). A condition is a point of SimSpace; its value is the patient doses one donor unit
// gives (domain.md §8.1, NK available / dose size, not rounded down so that the landscape has
// no steps), which the optimizer maximises on log10. The true landscape is the nominal donor's;
// a campaign sees donors drawn from the donor model (§5.7), one per batch, with a readout noise.

// SimSpace returns the space of the simulator benchmark: the factors of design.DefaultSpace
// the simulator models (IL-2, IL-15, IL-21, the feeder and its ratio, restimulation, harvest
// day) with its cytokine budget, on PBMC fed every 3 days.
func SimSpace() *design.Space {
	return &design.Space{
		Name: "simulator",
		Factors: []design.Factor{
			{Name: "il2", Unit: "IU/mL", Kind: design.Continuous, Low: 0, High: 1000, Scale: design.Log, Offset: 1},
			{Name: "il15", Unit: "ng/mL", Kind: design.Continuous, Low: 0, High: 50, Scale: design.Log, Offset: 0.1},
			{Name: "il21", Unit: "ng/mL", Kind: design.Continuous, Low: 0, High: 50, Scale: design.Log, Offset: 0.1},
			{Name: "feeder", Kind: design.Categorical, Levels: sim.FeederNames()},
			{Name: "feeder_ratio", Unit: "feeder:NK", Kind: design.Continuous, Low: 0.5, High: 20, Scale: design.Log},
			{Name: "restimulation", Kind: design.Categorical, Levels: []string{"none", "d7", "d7+d14"}},
			{Name: "harvest_day", Unit: "d", Kind: design.Integer, Low: 7, High: 28},
		},
		Constraints: []design.Constraint{{
			Name:  "cytokine_budget",
			Terms: []design.Term{{Factor: "il2", Coef: 0.01}, {Factor: "il15", Coef: 1}, {Factor: "il21", Coef: 1}},
			Bound: 60,
		}},
	}
}

// SimProtocol returns the simulator protocol of a point of SimSpace. The feeder ratio is
// inactive without a feeder, and so is restimulation; a restimulation closer than 3 days to
// the harvest does not happen (domain.md §9.1: harvest at least 3 days after the last one).
func SimProtocol(p design.Point) (sim.Protocol, error) {
	num := func(name string) float64 { return p[name].X }
	class, err := sim.FeederClass(p["feeder"].Level)
	if err != nil {
		return sim.Protocol{}, err
	}
	pr := sim.Protocol{Name: "condition", Start: sim.PBMC, IL2: num("il2"), IL15: num("il15"), IL21: num("il21"),
		Class: class, Days: int(math.Round(num("harvest_day"))), FeedEvery: 3}
	if class.HasFeeder() {
		pr.FeederRatio = num("feeder_ratio")
		var restim []int
		switch p["restimulation"].Level {
		case "d7":
			restim = []int{7}
		case "d7+d14":
			restim = []int{7, 14}
		}
		for _, d := range restim {
			if d <= pr.Days-3 {
				pr.Restim = append(pr.Restim, d)
			}
		}
	}
	return pr, pr.Validate()
}

// simDoses is the doses one donor unit of d gives under pr (NK available / dose size).
func simDoses(pr sim.Protocol, d sim.Donor, par sim.Params) (float64, error) {
	tr, err := sim.Simulate(pr, d, par, 1e7)
	if err != nil {
		return 0, err
	}
	nk0, _, _ := sim.Composition(pr.Start, d.NKFraction)
	fold := tr.Fold(pr.Days)
	return rank.NKAvailable(nk0, fold, rank.Options{}) / rank.DoseCells(rank.Options{}), nil
}

// fitPoint rounds p's continuous factors as a lab prepares them (roundPoint) and scales the
// terms of a constraint p breaks down together to meet it, rounding them down so that they
// stay within it.
func fitPoint(s *design.Space, p design.Point) {
	roundPoint(s, p)
	for _, c := range s.Constraints {
		v := c.Value(p)
		if v <= c.Bound || !(v > 0) {
			continue
		}
		k := c.Bound / v
		for _, t := range c.Terms {
			val, ok := p[t.Factor]
			if !ok || val.IsLevel() || t.Coef <= 0 {
				continue
			}
			want := val.X * k
			x := want
			if x > 0 { // three significant digits, rounded down
				x, _ = strconv.ParseFloat(strconv.FormatFloat(want, 'g', 3, 64), 64)
				if x > want {
					x -= math.Pow(10, math.Floor(math.Log10(want))-2)
					x, _ = strconv.ParseFloat(strconv.FormatFloat(x, 'g', 3, 64), 64)
				}
			}
			f, _, _ := s.Factor(t.Factor)
			p[t.Factor] = design.Num(math.Max(x, f.Low))
		}
	}
}

// roundPoint rounds p's continuous factors as a lab prepares them (see repair).
func roundPoint(s *design.Space, p design.Point) {
	for _, f := range s.Factors {
		if f.Kind != design.Continuous {
			continue
		}
		v := p[f.Name].X
		if v-f.Low < 1e-3*(f.High-f.Low) {
			v = f.Low
		} else {
			v, _ = strconv.ParseFloat(strconv.FormatFloat(v, 'g', 3, 64), 64)
			v = math.Min(math.Max(v, f.Low), f.High)
		}
		p[f.Name] = design.Num(v)
	}
}

// smoothConstraints returns the linear constraints of s (natural units) as constraints on
// unit coordinates for bo.Options.SmoothConstraints: (Σ coef·value − bound)/max(|bound|, 1),
// with its gradient through each factor's scale. Terms on factors that are not numeric are
// skipped (Space.Validate rejects them).
func smoothConstraints(s *design.Space) []bo.SmoothConstraint {
	type term struct {
		j    int
		coef float64
		f    design.Factor
	}
	var out []bo.SmoothConstraint
	for _, c := range s.Constraints {
		var terms []term
		for _, t := range c.Terms {
			f, j, ok := s.Factor(t.Factor)
			if !ok || f.Kind == design.Categorical {
				continue
			}
			terms = append(terms, term{j, t.Coef, f})
		}
		bound, scale := c.Bound, math.Max(math.Abs(c.Bound), 1)
		out = append(out, func(x, grad []float64) float64 {
			v := -bound
			for _, t := range terms {
				val, d := unitToNatural(t.f, x[t.j])
				v += t.coef * val
				if grad != nil {
					grad[t.j] += t.coef * d / scale
				}
			}
			return v / scale
		})
	}
	return out
}

// unitToNatural maps a unit coordinate u of a numeric factor to its natural value (as
// design.Space.Decode does, before an integer factor is rounded) and returns the derivative
// of the map. u is clamped to [0, 1].
func unitToNatural(f design.Factor, u float64) (x, dx float64) {
	u = math.Min(math.Max(u, 0), 1)
	if f.Scale == design.Log {
		lo, hi := math.Log(f.Offset+f.Low), math.Log(f.Offset+f.High)
		e := math.Exp(lo + u*(hi-lo))
		return e - f.Offset, e * (hi - lo)
	}
	return f.Low + u*(f.High-f.Low), f.High - f.Low
}

// Landscape is the simulator benchmark's true landscape: the nominal donor's doses at every
// condition of SimSpace.
type Landscape struct {
	Space *design.Space
	par   sim.Params
}

// NewLandscape returns the landscape of SimSpace with the calibrated parameters.
func NewLandscape() *Landscape { return &Landscape{Space: SimSpace(), par: sim.DefaultParams()} }

// Doses returns the nominal donor's doses at unit coordinates u (design.Space.Decode), or an
// error for coordinates that are not a condition of the space.
func (l *Landscape) Doses(u []float64) (float64, error) {
	return l.doses(u, sim.NominalDonor(), false)
}

// DonorDoses returns donor d's doses at unit coordinates u, with d's interaction with the
// condition (sim.Donor.For).
func (l *Landscape) DonorDoses(u []float64, d sim.Donor) (float64, error) {
	return l.doses(u, d, true)
}

func (l *Landscape) doses(u []float64, d sim.Donor, interact bool) (float64, error) {
	p, err := l.Space.Decode(u)
	if err != nil {
		return 0, err
	}
	if !l.Space.Feasible(p) {
		return 0, fmt.Errorf("optimizer: condition %v breaks the cytokine budget", p)
	}
	pr, err := SimProtocol(p)
	if err != nil {
		return 0, err
	}
	if interact {
		d = d.For(conditionKey(p), sim.DefaultDonorModel().InteractionSD)
	}
	return simDoses(pr, d, l.par)
}

// conditionKey names a condition for the donor × protocol interaction, so that one donor
// always reacts the same way to one condition.
func conditionKey(p design.Point) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	s := ""
	for _, k := range keys {
		s += k + "=" + p[k].String() + ";"
	}
	return s
}

// Repair moves unit coordinates u onto the space's conditions in place: integer factors to
// whole numbers, categorical ones to a level, and cytokines over the budget scaled down
// together (in their natural units) to meet it. It reports false when u cannot be decoded.
func (l *Landscape) Repair(u []float64) bool {
	return repair(l.Space, u)
}

// repair is Landscape.Repair on any space whose only constraint is a cytokine-style budget
// with non-negative coefficients on factors whose low bound is 0. It also rounds continuous
// factors as a lab would prepare them: three significant digits, and a value within a
// thousandth of the range of its low bound to the low bound (no 6e-7 ng/mL of IL-21).
func repair(s *design.Space, u []float64) bool {
	p, err := s.Decode(u)
	if err != nil {
		return false
	}
	fitPoint(s, p)
	e, err := s.Encode(p)
	if err != nil {
		return false
	}
	copy(u, e)
	return s.Feasible(p)
}
