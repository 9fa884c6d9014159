package design

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/clink-consortium/clink"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize/convex/lp"
)

// Infeasible says what FromUnit does with a design point that breaks a constraint.
type Infeasible int

// The ways to treat infeasible design points.
const (
	// Skip drops the point and reports it.
	Skip Infeasible = iota
	// Repair moves the point's constrained factors along the straight line (in unit
	// coordinates) towards the centre of the feasible region until it just meets every
	// constraint, keeping its other factors, and reports it.
	Repair
)

// Mapped is a unit-cube design mapped onto a Space.
type Mapped struct {
	Points []Point `json:"points"`
	// Rows holds, for each point, the row of the design it came from.
	Rows     []int `json:"rows"`
	Skipped  []Fix `json:"skipped,omitempty"`
	Repaired []Fix `json:"repaired,omitempty"`
}

// Fix reports a design row that broke constraints, naming them.
type Fix struct {
	Row         int      `json:"row"`
	Constraints []string `json:"constraints"`
	// Reason says why a point that should have been repaired was skipped instead.
	Reason string `json:"reason,omitempty"`
}

// FromUnit maps a design on the unit cube (one row per run, one coordinate in [0, 1] per factor
// of the space, in order) onto the space, and treats points that break the constraints as
// mode says.
//
// A continuous coordinate maps through the factor's scale, as in Decode. An integer factor
// with n whole values splits [0, 1] into n equal bins, and a categorical factor with L levels
// into L equal bins, so that a stratified design (Latin hypercube, Sobol) gives each value or
// level an equal share; u = 1 falls in the last bin. (Decode rounds instead, because the model
// treats an integer coordinate as continuous.) Two-level factorials coded ±1 map to the end
// values through CodedToUnit, and their centre points to the middle.
func (s *Space) FromUnit(design [][]float64, mode Infeasible) (*Mapped, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if mode != Skip && mode != Repair {
		return nil, clink.Invalid("mode", "unknown treatment %d of infeasible points", mode)
	}
	d := len(s.Factors)
	var fe clink.FieldErrors
	for r, row := range design {
		if len(row) != d {
			fe.Addf(fmt.Sprintf("design[%d]", r), "has %d coordinates, want %d (one per factor)", len(row), d)
		} else if i := slices.IndexFunc(row, func(u float64) bool { return !(u >= 0 && u <= 1) }); i >= 0 {
			fe.Addf(fmt.Sprintf("design[%d][%d]", r, i), "factor %s: coordinate %g is outside [0, 1]", s.Factors[i].Name, row[i])
		}
		if len(fe) >= 20 {
			break
		}
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	m := &Mapped{Points: []Point{}, Rows: []int{}}
	var rep *repairer
	for r, row := range design {
		p := s.unitPoint(row)
		bad := s.Violations(p)
		if len(bad) == 0 {
			m.Points, m.Rows = append(m.Points, p), append(m.Rows, r)
			continue
		}
		fix := Fix{Row: r, Constraints: s.labels(bad)}
		if mode == Skip {
			m.Skipped = append(m.Skipped, fix)
			continue
		}
		if rep == nil {
			rep = s.newRepairer()
		}
		q, reason := rep.repair(row)
		if q == nil {
			fix.Reason = reason
			m.Skipped = append(m.Skipped, fix)
			continue
		}
		m.Points, m.Rows = append(m.Points, q), append(m.Rows, r)
		m.Repaired = append(m.Repaired, fix)
	}
	return m, nil
}

// unitPoint maps one row of a unit-cube design (already checked) to a point.
func (s *Space) unitPoint(u []float64) Point {
	p := make(Point, len(s.Factors))
	for i := range s.Factors {
		f := &s.Factors[i]
		switch f.Kind {
		case Categorical:
			p[f.Name] = Cat(f.Levels[bin(u[i], len(f.Levels))])
		case Integer:
			n := int(f.High-f.Low) + 1
			p[f.Name] = Num(f.Low + float64(bin(u[i], n)))
		default:
			p[f.Name] = Num(f.fromUnit(u[i]))
		}
	}
	return p
}

// bin returns the bin of u in [0, 1] split into n equal bins; u = 1 is in the last.
func bin(u float64, n int) int {
	return min(int(u*float64(n)), n-1)
}

// binCentre is the unit coordinate of the middle of bin j of n.
func binCentre(j, n int) float64 { return (float64(j) + 0.5) / float64(n) }

// unitOf is the unit coordinate at which unitPoint gives the numeric value x of factor f.
func (f *Factor) unitOf(x float64) float64 {
	if f.Kind == Integer {
		n := int(f.High-f.Low) + 1
		return binCentre(int(math.Round(x-f.Low)), n)
	}
	return f.toUnit(x)
}

func (s *Space) labels(idx []int) []string {
	out := make([]string, len(idx))
	for i, j := range idx {
		out[i] = s.Constraints[j].label(j)
	}
	return out
}

// repairer moves infeasible points towards an anchor: the centre of the largest ball that
// fits in the feasible region (in coordinates scaled to the factors' ranges).
type repairer struct {
	s       *Space
	factors []int     // indices of the factors that appear in a constraint
	anchor  []float64 // their unit coordinates at the anchor
	err     string    // why no anchor exists
}

func (s *Space) newRepairer() *repairer {
	rep := &repairer{s: s}
	x, idx, err := s.center()
	if err != nil {
		rep.err = "no feasible centre to repair towards: " + err.Error()
		return rep
	}
	rep.factors = idx
	rep.anchor = make([]float64, len(idx))
	for j, i := range idx {
		f := &s.Factors[i]
		v := x[j]
		if f.Kind == Integer {
			v = min(max(math.Round(v), f.Low), f.High)
		}
		rep.anchor[j] = f.unitOf(v)
	}
	return rep
}

// repair returns the repaired point for design row u, or nil and the reason it cannot.
func (r *repairer) repair(u []float64) (Point, string) {
	if r.err != "" {
		return nil, r.err
	}
	w := slices.Clone(u)
	at := func(t float64) Point {
		for j, i := range r.factors {
			w[i] = r.anchor[j] + t*(u[i]-r.anchor[j])
		}
		return r.s.unitPoint(w)
	}
	// Repaired points meet the constraints exactly, without Feasible's rounding slack.
	strict := func(p Point) bool { return len(r.s.violations(p, 0)) == 0 }
	if !strict(at(0)) {
		return nil, "the centre of the feasible region breaks a constraint once integer factors are rounded"
	}
	lo, hi := 0.0, 1.0
	for range 60 {
		mid := (lo + hi) / 2
		if strict(at(mid)) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return at(lo), ""
}

var errNoFeasiblePoint = errors.New("no point within the factors' bounds meets every constraint")

// center finds a point deep inside the feasible region: the centre of the largest ball that
// fits in it, in coordinates z = (x − low)/(high − low) of the factors that appear in
// constraints. It solves the linear program
//
//	maximise ρ  subject to  Σ a_ji·r_i·z_i + ρ·‖a_j·r‖ ≤ b_j − Σ a_ji·low_i,  ρ ≤ z_i ≤ 1 − ρ,  ρ ≥ 0
//
// and returns the natural values of those factors, their indices, and errNoFeasiblePoint when
// the program is infeasible.
func (s *Space) center() (x []float64, idx []int, err error) {
	pos := map[string]int{}
	for _, c := range s.Constraints {
		for _, t := range c.Terms {
			if _, ok := pos[t.Factor]; !ok {
				_, i, found := s.Factor(t.Factor)
				if !found {
					return nil, nil, fmt.Errorf("constraint factor %q is not in the space", t.Factor)
				}
				pos[t.Factor] = len(idx)
				idx = append(idx, i)
			}
		}
	}
	n := len(idx) // variables z_0 … z_{n−1}, then ρ
	if n == 0 {
		return nil, nil, nil
	}
	nc := len(s.Constraints)
	g := mat.NewDense(nc+2*n+1, n+1, nil)
	h := make([]float64, nc+2*n+1)
	for j, c := range s.Constraints {
		norm, rhs := 0.0, c.Bound
		for _, t := range c.Terms {
			f := &s.Factors[idx[pos[t.Factor]]]
			a := t.Coef * (f.High - f.Low)
			g.Set(j, pos[t.Factor], a)
			norm = math.Hypot(norm, a)
			rhs -= t.Coef * f.Low
		}
		g.Set(j, n, norm)
		h[j] = rhs
	}
	for i := range n {
		g.Set(nc+2*i, i, 1) // z_i + ρ ≤ 1
		g.Set(nc+2*i, n, 1)
		h[nc+2*i] = 1
		g.Set(nc+2*i+1, i, -1) // −z_i + ρ ≤ 0
		g.Set(nc+2*i+1, n, 1)
	}
	g.Set(nc+2*n, n, -1) // −ρ ≤ 0
	c := make([]float64, n+1)
	c[n] = -1
	z, err := solveLP(c, g, h)
	if err != nil {
		return nil, nil, err
	}
	x = make([]float64, n)
	for j, i := range idx {
		f := &s.Factors[i]
		x[j] = min(max(f.Low+z[j]*(f.High-f.Low), f.Low), f.High)
	}
	return x, idx, nil
}

// solveLP minimises cᵀv subject to G·v ≤ h with v free, through gonum's simplex. gonum panics
// only on malformed shapes, which this package never builds; the recover keeps a numerical
// surprise from taking the process down.
func solveLP(c []float64, g *mat.Dense, h []float64) (v []float64, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("linear program failed: %v", r)
		}
	}()
	cs, as, bs := lp.Convert(c, g, h, nil, nil)
	_, xs, err := lp.Simplex(cs, as, bs, 1e-10, nil)
	switch {
	case errors.Is(err, lp.ErrInfeasible):
		return nil, errNoFeasiblePoint
	case err != nil:
		return nil, fmt.Errorf("linear program failed: %w", err)
	}
	// Convert splits each free variable v_i into v_i⁺ − v_i⁻, stored as the first 2n entries.
	n := len(c)
	v = make([]float64, n)
	for i := range n {
		v[i] = xs[i] - xs[n+i]
	}
	return v, nil
}
