// Package design describes the search space of the CLINK optimizer and builds classical
// designs of experiments on it (domain.md §9): a Space of continuous, integer and categorical
// protocol factors with linear constraints; its encoding into the unit coordinates the gaussian
// process works in; full and fractional two-level factorials with their defining relation,
// resolution and alias structure; Latin hypercubes; Sobol sequences; and donor-blocked
// assignments of conditions (balanced incomplete block designs where they exist).
//
// It is pure computation on plain values, with no I/O besides JSON. Bad input is an EINVALID
// *clink.Error naming the field at fault. Every generator that draws random numbers takes a
// seed and uses math/rand/v2's PCG, so the same seed gives the same design on every machine.
package design

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/clink-consortium/clink"
)

// Kind is the type of a factor.
type Kind string

// The kinds of factor.
const (
	Continuous  Kind = "continuous"  // a real number in [Low, High]
	Integer     Kind = "integer"     // a whole number in [Low, High], e.g. harvest day
	Categorical Kind = "categorical" // one of Levels, e.g. feeder type
)

// Scale is how a continuous factor is spread over its unit coordinate.
type Scale string

// The scales of a continuous factor. The empty Scale means Linear.
const (
	Linear Scale = "linear" // u = (x − low) / (high − low)
	Log    Scale = "log"    // u = (ln(offset + x) − ln(offset + low)) / (ln(offset + high) − ln(offset + low))
)

// Limits on the size of a Space, so that a stored space cannot exhaust memory in the designs
// built from it.
const (
	MaxFactors     = 64
	MaxLevels      = 256
	MaxConstraints = 64
	maxNameLen     = 64
	maxUnitLen     = 32
	maxSpaceName   = 200
)

// Space is a search space: the factors an experiment varies, with their ranges, and linear
// constraints on the numeric ones.
//
// Its JSON form is stable and is the form to store and share:
//
//	{
//	  "name": "nk-default",
//	  "factors": [
//	    {"name": "il2", "unit": "IU/mL", "kind": "continuous", "low": 0, "high": 1000, "scale": "log", "offset": 1},
//	    {"name": "harvest_day", "unit": "d", "kind": "integer", "low": 7, "high": 28, "scale": "linear"},
//	    {"name": "vessel", "kind": "categorical", "levels": ["plate", "flask", "G-Rex"]}
//	  ],
//	  "constraints": [
//	    {"name": "cytokine_budget", "terms": [{"factor": "il2", "coef": 0.01}, {"factor": "il15", "coef": 1}], "bound": 60}
//	  ]
//	}
//
// Numeric factors always carry low, high and scale, and offset when the scale is log;
// categorical factors carry levels. ParseSpace reads this form strictly (unknown fields are
// errors) and validates it.
type Space struct {
	Name        string       `json:"name"`
	Factors     []Factor     `json:"factors"`
	Constraints []Constraint `json:"constraints,omitempty"`
}

// Factor is one dimension of a Space.
//
// A continuous factor on the Log scale with a lower bound of 0 needs an Offset: IL-2 at 0–1,000
// IU/mL is spread on ln(1 + c), IL-15 at 0–50 ng/mL on ln(0.1 + c) (domain.md §9.1). Integer
// factors are always linear. Categorical factors use only Levels, and their order is the order
// of their level indices in the encoding.
type Factor struct {
	Name   string   `json:"name"`
	Unit   string   `json:"unit,omitempty"`
	Kind   Kind     `json:"kind"`
	Low    float64  `json:"low,omitempty"`
	High   float64  `json:"high,omitempty"`
	Scale  Scale    `json:"scale,omitempty"`
	Offset float64  `json:"offset,omitempty"`
	Levels []string `json:"levels,omitempty"`
}

// Constraint is the linear inequality Σ coef·value(factor) ≤ Bound over numeric factors, in
// their natural units. The cytokine budget "il2/100 + il15 + il21 ≤ 60" is
//
//	{"name": "cytokine_budget", "terms": [{"factor": "il2", "coef": 0.01}, {"factor": "il15", "coef": 1}, {"factor": "il21", "coef": 1}], "bound": 60}
//
// Equalities (a fixed total budget) are better reparameterised as total × proportions
// (domain.md §9.1) than written as two inequalities.
type Constraint struct {
	Name  string  `json:"name,omitempty"`
	Terms []Term  `json:"terms"`
	Bound float64 `json:"bound"`
}

// Term is one coefficient of a Constraint.
type Term struct {
	Factor string  `json:"factor"`
	Coef   float64 `json:"coef"`
}

// label names the constraint in messages: its Name, or "constraints[i]" when it has none.
func (c *Constraint) label(i int) string {
	if c.Name != "" {
		return c.Name
	}
	return fmt.Sprintf("constraints[%d]", i)
}

// Value returns Σ coef·value(factor) at p, or NaN when p lacks one of the factors or holds a
// level for it.
func (c *Constraint) Value(p Point) float64 {
	sum := 0.0
	for _, t := range c.Terms {
		v, ok := p[t.Factor]
		if !ok || v.IsLevel() {
			return math.NaN()
		}
		sum += t.Coef * v.X
	}
	return sum
}

// holds reports whether the constraint holds at p, allowing a slack of rel times the
// magnitude of the terms for rounding errors.
func (c *Constraint) holds(p Point, rel float64) bool {
	sum, mag := 0.0, math.Abs(c.Bound)
	for _, t := range c.Terms {
		v, ok := p[t.Factor]
		if !ok || v.IsLevel() {
			return false
		}
		sum += t.Coef * v.X
		mag += math.Abs(t.Coef * v.X)
	}
	return sum <= c.Bound+rel*mag
}

// Validate checks the space and returns an EINVALID *clink.Error listing every problem, each
// naming the field and the factor ("factors[2].low: factor il15: low 50 is above high 5").
// A space whose constraints cannot all be met within the factors' bounds is invalid.
func (s *Space) Validate() error {
	var fe clink.FieldErrors
	switch name := strings.TrimSpace(s.Name); {
	case name == "":
		fe.Addf("name", "is required")
	case len(s.Name) > maxSpaceName:
		fe.Addf("name", "is %d bytes long; the limit is %d", len(s.Name), maxSpaceName)
	}
	switch {
	case len(s.Factors) == 0:
		fe.Addf("factors", "at least one factor is required")
	case len(s.Factors) > MaxFactors:
		fe.Addf("factors", "has %d factors; the limit is %d", len(s.Factors), MaxFactors)
		return fe.Err()
	}
	index := map[string]int{}
	for i := range s.Factors {
		f := &s.Factors[i]
		field := fmt.Sprintf("factors[%d]", i)
		f.validate(&fe, field)
		if j, dup := index[f.Name]; dup && f.Name != "" {
			fe.Addf(field+".name", "factor %s: the name is also used by factors[%d]", f.Name, j)
		} else if f.Name != "" {
			index[f.Name] = i
		}
	}
	if len(s.Constraints) > MaxConstraints {
		fe.Addf("constraints", "has %d constraints; the limit is %d", len(s.Constraints), MaxConstraints)
		return fe.Err()
	}
	factorsOK := len(fe) == 0
	constraintsOK := factorsOK
	for i := range s.Constraints {
		if !s.validateConstraint(&fe, i, index, factorsOK) {
			constraintsOK = false
		}
	}
	if constraintsOK && len(s.Constraints) > 1 {
		if _, _, err := s.center(); err == errNoFeasiblePoint {
			fe.Addf("constraints", "no point within the factors' bounds meets all %d constraints together", len(s.Constraints))
		}
	}
	return fe.Err()
}

func (f *Factor) validate(fe *clink.FieldErrors, field string) {
	who := "factor " + f.Name
	switch {
	case f.Name == "":
		who = "factor"
		fe.Addf(field+".name", "is required")
	case len(f.Name) > maxNameLen:
		fe.Addf(field+".name", "%s: the name is %d bytes long; the limit is %d", who, len(f.Name), maxNameLen)
	case !validName(f.Name):
		fe.Addf(field+".name", "%s: a name starts with a letter and holds only letters, digits, '_', '-' and '.'", who)
	}
	if len(f.Unit) > maxUnitLen {
		fe.Addf(field+".unit", "%s: the unit is %d bytes long; the limit is %d", who, len(f.Unit), maxUnitLen)
	}
	switch f.Kind {
	case Continuous, Integer:
		f.validateNumeric(fe, field, who)
	case Categorical:
		if f.Low != 0 || f.High != 0 {
			fe.Addf(field+".low", "%s: a categorical factor has levels, not low and high", who)
		}
		if f.Scale != "" || f.Offset != 0 {
			fe.Addf(field+".scale", "%s: a categorical factor has no scale or offset", who)
		}
		switch {
		case len(f.Levels) < 2:
			fe.Addf(field+".levels", "%s: a categorical factor needs at least 2 levels, got %d", who, len(f.Levels))
		case len(f.Levels) > MaxLevels:
			fe.Addf(field+".levels", "%s: has %d levels; the limit is %d", who, len(f.Levels), MaxLevels)
			return
		}
		seen := map[string]int{}
		for j, l := range f.Levels {
			lf := fmt.Sprintf("%s.levels[%d]", field, j)
			switch {
			case strings.TrimSpace(l) == "":
				fe.Addf(lf, "%s: a level name is required", who)
			case l != strings.TrimSpace(l):
				fe.Addf(lf, "%s: level %q has leading or trailing spaces", who, l)
			case len(l) > maxNameLen:
				fe.Addf(lf, "%s: the level is %d bytes long; the limit is %d", who, len(l), maxNameLen)
			}
			if k, dup := seen[l]; dup {
				fe.Addf(lf, "%s: level %q repeats levels[%d]", who, l, k)
			}
			seen[l] = j
		}
	case "":
		fe.Addf(field+".kind", "%s: is required (continuous, integer or categorical)", who)
	default:
		fe.Addf(field+".kind", "%s: unknown kind %q (want continuous, integer or categorical)", who, f.Kind)
	}
}

func (f *Factor) validateNumeric(fe *clink.FieldErrors, field, who string) {
	if len(f.Levels) > 0 {
		fe.Addf(field+".levels", "%s: only categorical factors have levels", who)
	}
	boundsOK := true
	for _, b := range []struct {
		name string
		v    float64
	}{{"low", f.Low}, {"high", f.High}} {
		switch {
		case math.IsNaN(b.v) || math.IsInf(b.v, 0):
			fe.Addf(field+"."+b.name, "%s: %s must be a finite number", who, b.name)
			boundsOK = false
		case math.Abs(b.v) > 1e15:
			fe.Addf(field+"."+b.name, "%s: %s %g is beyond ±1e15", who, b.name, b.v)
			boundsOK = false
		case f.Kind == Integer && b.v != math.Trunc(b.v):
			fe.Addf(field+"."+b.name, "%s: %s %g of an integer factor is not a whole number", who, b.name, b.v)
			boundsOK = false
		}
	}
	if boundsOK {
		switch {
		case f.Low > f.High:
			fe.Addf(field+".low", "%s: low %g is above high %g", who, f.Low, f.High)
			boundsOK = false
		case f.Low == f.High:
			fe.Addf(field+".high", "%s: low and high are both %g; a fixed factor belongs in the protocol, not the space", who, f.Low)
			boundsOK = false
		}
	}
	switch f.Scale {
	case "", Linear:
		if f.Offset != 0 {
			fe.Addf(field+".offset", "%s: an offset applies only to the log scale", who)
		}
	case Log:
		if f.Kind == Integer {
			fe.Addf(field+".scale", "%s: integer factors are linear; only continuous factors may use the log scale", who)
			break
		}
		switch {
		case math.IsNaN(f.Offset) || math.IsInf(f.Offset, 0):
			fe.Addf(field+".offset", "%s: offset must be a finite number", who)
		case boundsOK && !(f.Offset+f.Low > 0):
			fe.Addf(field+".offset", "%s: the log scale needs offset + low > 0, got %g + %g; give an offset such as 1 to use ln(1 + x)", who, f.Offset, f.Low)
		case boundsOK && !(math.Log(f.Offset+f.High)-math.Log(f.Offset+f.Low) > 0):
			fe.Addf(field+".offset", "%s: offset %g swamps the range %g–%g: the log scale cannot tell the bounds apart", who, f.Offset, f.Low, f.High)
		}
	default:
		fe.Addf(field+".scale", "%s: unknown scale %q (want linear or log)", who, f.Scale)
	}
}

// validateConstraint checks constraint i; with factorsOK it also checks that the constraint
// can be met within the factors' bounds. It reports whether the constraint is usable.
func (s *Space) validateConstraint(fe *clink.FieldErrors, i int, index map[string]int, factorsOK bool) bool {
	c := &s.Constraints[i]
	field := fmt.Sprintf("constraints[%d]", i)
	who := "constraint " + c.label(i)
	ok := true
	if len(c.Name) > maxNameLen {
		fe.Addf(field+".name", "the name is %d bytes long; the limit is %d", len(c.Name), maxNameLen)
	}
	if len(c.Terms) == 0 {
		fe.Addf(field+".terms", "%s: at least one term is required", who)
		ok = false
	}
	if len(c.Terms) > MaxFactors {
		fe.Addf(field+".terms", "%s: has %d terms; the limit is %d", who, len(c.Terms), MaxFactors)
		return false
	}
	if math.IsNaN(c.Bound) || math.IsInf(c.Bound, 0) {
		fe.Addf(field+".bound", "%s: bound must be a finite number", who)
		ok = false
	}
	seen := map[string]int{}
	for j, t := range c.Terms {
		tf := fmt.Sprintf("%s.terms[%d]", field, j)
		k, found := index[t.Factor]
		switch {
		case t.Factor == "":
			fe.Addf(tf+".factor", "%s: the factor is required", who)
			ok = false
		case !found:
			fe.Addf(tf+".factor", "%s: no factor is named %q", who, t.Factor)
			ok = false
		case s.Factors[k].Kind == Categorical:
			fe.Addf(tf+".factor", "%s: factor %s is categorical; constraints are linear in numeric factors", who, t.Factor)
			ok = false
		}
		if p, dup := seen[t.Factor]; dup && t.Factor != "" {
			fe.Addf(tf+".factor", "%s: factor %s already appears in terms[%d]", who, t.Factor, p)
			ok = false
		}
		seen[t.Factor] = j
		if math.IsNaN(t.Coef) || math.IsInf(t.Coef, 0) || t.Coef == 0 || math.Abs(t.Coef) > 1e15 {
			fe.Addf(tf+".coef", "%s: coef must be a finite nonzero number within ±1e15, got %g", who, t.Coef)
			ok = false
		}
	}
	if !ok || !factorsOK {
		return ok
	}
	// The smallest value of the left side over the box decides whether the constraint can
	// be met at all; a constraint that always holds is harmless.
	lo := 0.0
	for _, t := range c.Terms {
		f := &s.Factors[index[t.Factor]]
		lo += min(t.Coef*f.Low, t.Coef*f.High)
	}
	if lo > c.Bound {
		fe.Addf(field+".bound", "%s: cannot be met: the smallest value of its left side within the factors' bounds is %g, above the bound %g", who, lo, c.Bound)
		return false
	}
	return true
}

// validName reports whether a factor name is a letter followed by letters, digits, '_', '-'
// and '.': names appear in constraints, JSON keys, CSV headers and URLs.
func validName(s string) bool {
	for i, r := range s {
		letter := (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if i == 0 && !letter {
			return false
		}
		if !letter && !(r >= '0' && r <= '9') && r != '_' && r != '-' && r != '.' {
			return false
		}
	}
	return s != ""
}

// Factor returns the factor named name and its index, or false.
func (s *Space) Factor(name string) (Factor, int, bool) {
	for i, f := range s.Factors {
		if f.Name == name {
			return f, i, true
		}
	}
	return Factor{}, -1, false
}

// Dim describes one coordinate of the encoding.
type Dim struct {
	Factor string `json:"factor"`
	Kind   Kind   `json:"kind"`
	// Levels is the number of levels of a categorical coordinate, whose value is a level
	// index 0 … Levels−1; 0 for continuous and integer coordinates, whose value is in [0, 1].
	Levels int `json:"levels,omitempty"`
}

// Dims describes the coordinates Encode produces, one per factor in order: continuous and
// integer factors are a coordinate in [0, 1] on their scale, categorical factors a level
// index.
func (s *Space) Dims() []Dim {
	dims := make([]Dim, len(s.Factors))
	for i, f := range s.Factors {
		dims[i] = Dim{Factor: f.Name, Kind: f.Kind}
		if f.Kind == Categorical {
			dims[i].Levels = len(f.Levels)
		}
	}
	return dims
}

// Encode maps a point in natural units to the model's coordinates (see Dims). Every factor
// must be present with a value of its kind within its bounds (integers whole, levels known),
// and the point must hold nothing else. Constraints are not checked: see Feasible.
func (s *Space) Encode(p Point) ([]float64, error) {
	var fe clink.FieldErrors
	u := make([]float64, len(s.Factors))
	found := 0
	for i := range s.Factors {
		f := &s.Factors[i]
		field := "point." + f.Name
		v, ok := p[f.Name]
		if !ok {
			fe.Addf(field, "is required")
			continue
		}
		found++
		if f.Kind == Categorical {
			if !v.IsLevel() {
				fe.Addf(field, "want one of the levels %s, got the number %g", quoteList(f.Levels), v.X)
				continue
			}
			j := slices.Index(f.Levels, v.Level)
			if j < 0 {
				fe.Addf(field, "unknown level %q (want one of %s)", v.Level, quoteList(f.Levels))
				continue
			}
			u[i] = float64(j)
			continue
		}
		switch {
		case v.IsLevel():
			fe.Addf(field, "want a number, got the level %q", v.Level)
		case math.IsNaN(v.X) || math.IsInf(v.X, 0):
			fe.Addf(field, "want a finite number, got %g", v.X)
		case v.X < f.Low || v.X > f.High:
			fe.Addf(field, "%g is outside %g–%g", v.X, f.Low, f.High)
		case f.Kind == Integer && v.X != math.Trunc(v.X):
			fe.Addf(field, "%g is not a whole number", v.X)
		default:
			u[i] = f.toUnit(v.X)
		}
	}
	if len(p) > found {
		for _, name := range sortedKeys(p) {
			if _, _, ok := s.Factor(name); !ok {
				fe.Addf("point."+name, "is not a factor of the space")
			}
		}
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	return u, nil
}

// unitTol is how far outside [0, 1] Decode accepts a coordinate (and clamps it): optimizers
// working in floating point overshoot their bounds by rounding errors.
const unitTol = 1e-9

// Decode maps model coordinates (see Dims) back to natural units. Continuous coordinates must
// lie in [0, 1] (rounding errors up to 1e-9 outside are clamped) and map back through the
// factor's scale; integer coordinates are rounded to the nearest whole number; categorical
// coordinates are rounded to the nearest level index, which must exist.
func (s *Space) Decode(u []float64) (Point, error) {
	if len(u) != len(s.Factors) {
		return nil, clink.Invalid("coords", "got %d coordinates, want %d (one per factor)", len(u), len(s.Factors))
	}
	var fe clink.FieldErrors
	p := make(Point, len(u))
	for i := range s.Factors {
		f := &s.Factors[i]
		field := fmt.Sprintf("coords[%d]", i)
		x := u[i]
		if math.IsNaN(x) || math.IsInf(x, 0) {
			fe.Addf(field, "factor %s: want a finite number, got %g", f.Name, x)
			continue
		}
		if f.Kind == Categorical {
			j := math.Round(x)
			if j < 0 || j >= float64(len(f.Levels)) {
				fe.Addf(field, "factor %s: level index %g is outside 0–%d", f.Name, x, len(f.Levels)-1)
				continue
			}
			p[f.Name] = Cat(f.Levels[int(j)])
			continue
		}
		if x < -unitTol || x > 1+unitTol {
			fe.Addf(field, "factor %s: coordinate %g is outside [0, 1]", f.Name, x)
			continue
		}
		v := f.fromUnit(min(max(x, 0), 1))
		if f.Kind == Integer {
			v = min(max(math.Round(v), f.Low), f.High)
		}
		p[f.Name] = Num(v)
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	return p, nil
}

// feasTol is the relative slack of Feasible: a point that meets a constraint up to 1e-9 of
// the magnitude of its terms meets it, so that values that went through JSON or the unit
// coordinates and back keep their verdict.
const feasTol = 1e-9

// Feasible reports whether p meets every constraint of the space, up to rounding (feasTol).
// A point that lacks a factor some constraint needs is infeasible.
func (s *Space) Feasible(p Point) bool { return len(s.Violations(p)) == 0 }

// Violations returns the indices of the constraints p breaks, in order; none for a feasible
// point.
func (s *Space) Violations(p Point) []int {
	return s.violations(p, feasTol)
}

func (s *Space) violations(p Point, rel float64) []int {
	var out []int
	for i := range s.Constraints {
		if !s.Constraints[i].holds(p, rel) {
			out = append(out, i)
		}
	}
	return out
}

// toUnit maps a value in [Low, High] to [0, 1] on the factor's scale.
func (f *Factor) toUnit(x float64) float64 {
	var u float64
	if f.Scale == Log {
		lo, hi := math.Log(f.Offset+f.Low), math.Log(f.Offset+f.High)
		u = (math.Log(f.Offset+x) - lo) / (hi - lo)
	} else {
		u = (x - f.Low) / (f.High - f.Low)
	}
	return min(max(u, 0), 1)
}

// fromUnit maps u in [0, 1] to [Low, High] on the factor's scale; the ends map exactly to
// the bounds.
func (f *Factor) fromUnit(u float64) float64 {
	switch {
	case u <= 0:
		return f.Low
	case u >= 1:
		return f.High
	}
	var x float64
	if f.Scale == Log {
		lo, hi := math.Log(f.Offset+f.Low), math.Log(f.Offset+f.High)
		x = math.Exp(lo+u*(hi-lo)) - f.Offset
	} else {
		x = f.Low + u*(f.High-f.Low)
	}
	return min(max(x, f.Low), f.High)
}

func quoteList(ls []string) string {
	q := make([]string, len(ls))
	for i, l := range ls {
		q[i] = fmt.Sprintf("%q", l)
	}
	return strings.Join(q, ", ")
}

func sortedKeys(p Point) []string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
