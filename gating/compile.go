package gating

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// program is a validated Document prepared for Apply: transformations ready to evaluate,
// spectrum matrices turned into compensation matrices, gates with their references resolved
// and an evaluation order in which every gate follows its parent and its operands.
type program struct {
	doc        *Document
	transforms map[string]*ctransform
	matrices   map[string]*cmatrix
	gates      []*cgate    // one per gate element, in document order
	order      []*cgate    // evaluation order
	results    []resultRef // every result id, in document order
	byID       map[string]int
}

// resultRef is one result: a gate, or one Quadrant of a QuadrantGate.
type resultRef struct {
	id       string
	gate     *cgate
	quadrant int // index in the QuadrantGate's Quadrants; -1 for other gates
}

// cgate is a gate prepared for evaluation.
type cgate struct {
	g       Gate
	elem    string // `RectangleGate "Range1"`, for messages
	line    int
	results []int // indices in program.results
	parent  int   // result index of the parent; -1 when none
	deps    []*cgate

	dims []Dimension // rectangle, polygon and ellipsoid dimensions; quadrant dividers
	// RectangleGate: one interval per dimension.
	box []interval
	// PolygonGate.
	verts [][2]float64
	// EllipsoidGate: the inverse covariance matrix.
	mean, inv []float64
	d2        float64
	// QuadrantGate: per Quadrant, the divider indices it uses and their intervals.
	quads []quadRegion
	// BooleanGate.
	op       BoolOp
	operands []int // result indices
	compl    []bool
}

// interval is lo <= x < hi. A missing limit is -Inf or +Inf, so that +Inf is in no interval
// and -Inf is in those unbounded below: the ISAC suite's set 4 (myQuadrant_PN and _PP, ratios
// with a zero denominator) counts +Inf out of the top interval.
type interval struct {
	lo, hi float64
}

func unbounded() interval { return interval{math.Inf(-1), math.Inf(1)} }

type quadRegion struct {
	dividers []int
	box      []interval
}

// compile validates d and prepares it for evaluation.
func compile(d *Document) (*program, error) {
	p := &program{
		doc:        d,
		transforms: map[string]*ctransform{},
		matrices:   map[string]*cmatrix{},
		byID:       map[string]int{},
	}
	if err := checkCustomInfo(d.CustomInfo); err != nil {
		return nil, errorf(0, "", "custom_info: %v", err)
	}
	for i, t := range d.Transformations {
		elem := fmt.Sprintf("transformation %q", t.ID)
		line := d.line(t)
		if t.ID == "" {
			return nil, errorf(line, fmt.Sprintf("transformation %d", i+1), "id is missing")
		}
		if !validText(t.ID) {
			return nil, errorf(line, fmt.Sprintf("transformation %d", i+1), "id %q holds a character XML cannot carry", t.ID)
		}
		if _, dup := p.transforms[t.ID]; dup {
			return nil, errorf(line, elem, "id is used by another transformation")
		}
		ct, err := compileTransform(t)
		if err != nil {
			return nil, errorf(line, elem, "%v", err)
		}
		if err := checkCustomInfo(t.CustomInfo); err != nil {
			return nil, errorf(line, elem, "custom_info: %v", err)
		}
		p.transforms[t.ID] = ct
	}
	for i, m := range d.Matrices {
		elem := fmt.Sprintf("spectrumMatrix %q", m.ID)
		line := d.line(m)
		switch {
		case m.ID == "":
			return nil, errorf(line, fmt.Sprintf("spectrumMatrix %d", i+1), "id is missing")
		case !validText(m.ID):
			return nil, errorf(line, fmt.Sprintf("spectrumMatrix %d", i+1), "id %q holds a character XML cannot carry", m.ID)
		case m.ID == FCSSpillover || m.ID == Uncompensated:
			return nil, errorf(line, elem, "id %q is reserved for compensation-ref", m.ID)
		}
		if _, dup := p.matrices[m.ID]; dup {
			return nil, errorf(line, elem, "id is used by another spectrumMatrix")
		}
		cm, err := compileMatrix(m)
		if err != nil {
			return nil, errorf(line, elem, "%v", err)
		}
		if err := checkCustomInfo(m.CustomInfo); err != nil {
			return nil, errorf(line, elem, "custom_info: %v", err)
		}
		p.matrices[m.ID] = cm
	}

	// Result ids first, so that parents and operands may refer forwards. Gate and Quadrant
	// ids share one space: both are what parents and operands refer to.
	gateIndex := map[string]*cgate{}
	owner := map[string]string{} // id -> the element that holds it
	claim := func(line int, elem, id string) error {
		if o, dup := owner[id]; dup {
			return errorf(line, elem, "id %q is also the id of %s", id, o)
		}
		owner[id] = elem
		return nil
	}
	for i, g := range d.Gates {
		if g == nil || isNilGate(g) {
			return nil, errorf(0, fmt.Sprintf("gate %d", i+1), "is nil")
		}
		id := g.GateID()
		cg := &cgate{g: g, line: d.line(g), elem: fmt.Sprintf("%s %q", g.Kind(), id), parent: -1}
		if id == "" {
			return nil, errorf(cg.line, fmt.Sprintf("%s %d", g.Kind(), i+1), "id is missing")
		}
		if !validText(id) {
			return nil, errorf(cg.line, fmt.Sprintf("%s %d", g.Kind(), i+1), "id %q holds a character XML cannot carry", id)
		}
		if err := checkCustomInfo(g.info().CustomInfo); err != nil {
			return nil, errorf(cg.line, cg.elem, "custom_info: %v", err)
		}
		if err := claim(cg.line, cg.elem, id); err != nil {
			return nil, err
		}
		gateIndex[id] = cg
		p.gates = append(p.gates, cg)
		if q, ok := g.(*QuadrantGate); ok {
			for j, qu := range q.Quadrants {
				qelem := fmt.Sprintf("%s Quadrant %d", cg.elem, j+1)
				if qu.ID == "" {
					return nil, errorf(cg.line, qelem, "id is missing")
				}
				if !validText(qu.ID) {
					return nil, errorf(cg.line, qelem, "id %q holds a character XML cannot carry", qu.ID)
				}
				if err := claim(cg.line, fmt.Sprintf("%s Quadrant %q", cg.elem, qu.ID), qu.ID); err != nil {
					return nil, err
				}
				p.byID[qu.ID] = len(p.results)
				cg.results = append(cg.results, len(p.results))
				p.results = append(p.results, resultRef{id: qu.ID, gate: cg, quadrant: j})
			}
			continue
		}
		p.byID[id] = len(p.results)
		cg.results = append(cg.results, len(p.results))
		p.results = append(p.results, resultRef{id: id, gate: cg, quadrant: -1})
	}

	// ref resolves a reference to a result id, for parents and Boolean operands.
	ref := func(cg *cgate, what, id string) (int, error) {
		if r, ok := p.byID[id]; ok {
			return r, nil
		}
		if _, ok := gateIndex[id]; ok {
			return 0, errorf(cg.line, cg.elem, "%s %q is a QuadrantGate: refer to one of its Quadrant ids", what, id)
		}
		return 0, errorf(cg.line, cg.elem, "%s %q: no gate or Quadrant has that id", what, id)
	}
	for _, cg := range p.gates {
		if par := cg.g.ParentID(); par != "" {
			r, err := ref(cg, "parent_id", par)
			if err != nil {
				return nil, err
			}
			cg.parent = r
			cg.deps = append(cg.deps, p.results[r].gate)
		}
		if err := p.compileGate(cg); err != nil {
			return nil, err
		}
		if b, ok := cg.g.(*BooleanGate); ok {
			for i, o := range b.Operands {
				if o.Ref == "" {
					return nil, errorf(cg.line, fmt.Sprintf("%s operand %d", cg.elem, i+1), "gateReference ref is missing")
				}
				r, err := ref(cg, "gateReference", o.Ref)
				if err != nil {
					return nil, err
				}
				cg.operands = append(cg.operands, r)
				cg.compl = append(cg.compl, o.Complement)
				cg.deps = append(cg.deps, p.results[r].gate)
			}
		}
	}
	order, err := evaluationOrder(p.gates)
	if err != nil {
		return nil, err
	}
	p.order = order
	return p, nil
}

// isNilGate reports a typed nil pointer inside the Gate interface.
func isNilGate(g Gate) bool {
	switch g := g.(type) {
	case *RectangleGate:
		return g == nil
	case *PolygonGate:
		return g == nil
	case *EllipsoidGate:
		return g == nil
	case *QuadrantGate:
		return g == nil
	case *BooleanGate:
		return g == nil
	}
	return false
}

// evaluationOrder sorts the gates so that each follows its dependencies, and refuses cycles,
// naming them.
func evaluationOrder(gates []*cgate) ([]*cgate, error) {
	const (
		white = iota
		grey
		black
	)
	color := map[*cgate]int{}
	var order []*cgate
	var stack []*cgate
	var visit func(g *cgate) error
	visit = func(g *cgate) error {
		switch color[g] {
		case black:
			return nil
		case grey:
			// The cycle is the part of the stack from g's first appearance.
			var ids []string
			for i := len(stack) - 1; i >= 0; i-- {
				if stack[i] == g {
					for _, s := range stack[i:] {
						ids = append(ids, s.g.GateID())
					}
					break
				}
			}
			ids = append(ids, g.g.GateID())
			return errorf(g.line, g.elem, "cycle through parent_id and gateReference: %s", strings.Join(ids, " -> "))
		}
		color[g] = grey
		stack = append(stack, g)
		for _, dep := range g.deps {
			if err := visit(dep); err != nil {
				return err
			}
		}
		stack = stack[:len(stack)-1]
		color[g] = black
		order = append(order, g)
		return nil
	}
	for _, g := range gates {
		if err := visit(g); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// compileGate checks a gate's own content and prepares its geometry.
func (p *program) compileGate(cg *cgate) error {
	bad := func(sub, format string, args ...any) error {
		el := cg.elem
		if sub != "" {
			el += " " + sub
		}
		return errorf(cg.line, el, format, args...)
	}
	switch g := cg.g.(type) {
	case *RectangleGate:
		if len(g.Dimensions) == 0 {
			return bad("", "has no dimension")
		}
		for i, d := range g.Dimensions {
			sub := fmt.Sprintf("dimension %d", i+1)
			if err := p.checkDimension(d.Dimension); err != nil {
				return bad(sub, "%v", err)
			}
			iv := unbounded()
			if d.Min != nil {
				if math.IsNaN(*d.Min) {
					return bad(sub, "min is NaN")
				}
				iv.lo = *d.Min
			}
			if d.Max != nil {
				if math.IsNaN(*d.Max) {
					return bad(sub, "max is NaN")
				}
				iv.hi = *d.Max
			}
			if iv.lo > iv.hi {
				return bad(sub, "min %v is greater than max %v", iv.lo, iv.hi)
			}
			cg.dims = append(cg.dims, d.Dimension)
			cg.box = append(cg.box, iv)
		}
	case *PolygonGate:
		for i, d := range g.Dimensions {
			if err := p.checkDimension(d); err != nil {
				return bad(fmt.Sprintf("dimension %d", i+1), "%v", err)
			}
		}
		if len(g.Vertices) < 3 {
			return bad("", "has %d vertices, want at least 3", len(g.Vertices))
		}
		for i, v := range g.Vertices {
			if !finite(v[0]) || !finite(v[1]) {
				return bad(fmt.Sprintf("vertex %d", i+1), "coordinates (%v, %v) are not finite", v[0], v[1])
			}
		}
		cg.dims = g.Dimensions[:]
		cg.verts = g.Vertices
	case *EllipsoidGate:
		n := len(g.Dimensions)
		if n == 0 {
			return bad("", "has no dimension")
		}
		for i, d := range g.Dimensions {
			if err := p.checkDimension(d); err != nil {
				return bad(fmt.Sprintf("dimension %d", i+1), "%v", err)
			}
		}
		if len(g.Mean) != n {
			return bad("mean", "has %d coordinates for %d dimensions", len(g.Mean), n)
		}
		for i, v := range g.Mean {
			if !finite(v) {
				return bad("mean", "coordinate %d is %v", i+1, v)
			}
		}
		if len(g.Covariance) != n {
			return bad("covarianceMatrix", "has %d rows for %d dimensions", len(g.Covariance), n)
		}
		for i, row := range g.Covariance {
			if len(row) != n {
				return bad("covarianceMatrix", "row %d has %d entries for %d dimensions", i+1, len(row), n)
			}
			for j, v := range row {
				if !finite(v) {
					return bad("covarianceMatrix", "entry (%d, %d) is %v", i+1, j+1, v)
				}
			}
		}
		inv, ok := invert(g.Covariance)
		if !ok {
			return bad("covarianceMatrix", "is singular")
		}
		if !finite(g.DistanceSquare) || g.DistanceSquare < 0 {
			return bad("distanceSquare", "is %v, want a finite value >= 0", g.DistanceSquare)
		}
		cg.dims = g.Dimensions
		cg.mean = g.Mean
		cg.inv = make([]float64, 0, n*n)
		for _, row := range inv {
			cg.inv = append(cg.inv, row...)
		}
		cg.d2 = g.DistanceSquare
	case *QuadrantGate:
		if len(g.Dividers) == 0 {
			return bad("", "has no divider")
		}
		if len(g.Quadrants) == 0 {
			return bad("", "has no Quadrant")
		}
		div := map[string]int{}
		sorted := make([][]float64, len(g.Dividers))
		for i, d := range g.Dividers {
			sub := fmt.Sprintf("divider %d", i+1)
			if d.ID == "" {
				return bad(sub, "id is missing")
			}
			if !validText(d.ID) {
				return bad(sub, "id %q holds a character XML cannot carry", d.ID)
			}
			sub = fmt.Sprintf("divider %q", d.ID)
			if _, dup := div[d.ID]; dup {
				return bad(sub, "id is used by another divider")
			}
			div[d.ID] = i
			if err := p.checkDimension(d.Dimension); err != nil {
				return bad(sub, "%v", err)
			}
			if len(d.Values) == 0 {
				return bad(sub, "has no value")
			}
			vs := append([]float64(nil), d.Values...)
			for _, v := range vs {
				if math.IsNaN(v) {
					return bad(sub, "value is NaN")
				}
			}
			sortFloats(vs)
			sorted[i] = vs
			cg.dims = append(cg.dims, d.Dimension)
		}
		for i, q := range g.Quadrants {
			sub := fmt.Sprintf("Quadrant %q", q.ID)
			if len(q.Positions) == 0 {
				return bad(sub, "has no position")
			}
			var reg quadRegion
			seen := map[int]bool{}
			for _, pos := range q.Positions {
				di, ok := div[pos.Divider]
				if !ok {
					return bad(sub, "position divider_ref %q: no divider of this gate has that id", pos.Divider)
				}
				if seen[di] {
					return bad(sub, "divider %q is positioned twice", pos.Divider)
				}
				seen[di] = true
				if math.IsNaN(pos.Location) {
					return bad(sub, "position on divider %q: location is NaN", pos.Divider)
				}
				reg.dividers = append(reg.dividers, di)
				reg.box = append(reg.box, cell(sorted[di], pos.Location))
			}
			_ = i
			cg.quads = append(cg.quads, reg)
		}
	case *BooleanGate:
		switch g.Op {
		case And, Or:
			if len(g.Operands) < 2 {
				return bad("", "%s has %d operand(s), want 2 or more", g.Op, len(g.Operands))
			}
		case Not:
			if len(g.Operands) != 1 {
				return bad("", "not has %d operands, want exactly 1", len(g.Operands))
			}
		default:
			return bad("", "operator %q is not and, or or not", g.Op)
		}
		cg.op = g.Op
	default:
		return bad("", "unknown gate type %T", g)
	}
	return nil
}

// cell returns the half-open interval of the divider values vs that holds x: [v_k, v_k+1),
// from -Inf below the first value and to +Inf above the last.
func cell(vs []float64, x float64) interval {
	iv := unbounded()
	k := 0
	for k < len(vs) && vs[k] <= x {
		k++
	}
	if k > 0 {
		iv.lo = vs[k-1]
	}
	if k < len(vs) {
		iv.hi = vs[k]
	}
	return iv
}

func sortFloats(v []float64) {
	for i := 1; i < len(v); i++ {
		for j := i; j > 0 && v[j] < v[j-1]; j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
}

// checkDimension checks a dimension's references against the document.
func (p *program) checkDimension(d Dimension) error {
	switch {
	case d.Name == "" && d.Ratio == "":
		return fmt.Errorf("has neither an fcs-dimension name nor a new-dimension")
	case d.Name != "" && d.Ratio != "":
		return fmt.Errorf("has both an fcs-dimension (%q) and a new-dimension (%q)", d.Name, d.Ratio)
	case !validText(d.Name):
		return fmt.Errorf("fcs-dimension name %q holds a character XML cannot carry", d.Name)
	}
	switch d.Compensation {
	case "":
		return fmt.Errorf("compensation-ref is missing")
	case Uncompensated, FCSSpillover:
	default:
		if p.matrices[d.Compensation] == nil {
			return fmt.Errorf("compensation-ref %q: no spectrumMatrix has that id (nor is it %q or %q)", d.Compensation, FCSSpillover, Uncompensated)
		}
	}
	if d.Ratio != "" {
		t := p.transforms[d.Ratio]
		if t == nil {
			return fmt.Errorf("new-dimension transformation-ref %q: no transformation has that id", d.Ratio)
		}
		if t.t.Kind != KindFratio {
			return fmt.Errorf("new-dimension transformation-ref %q is a %s transformation, want fratio", d.Ratio, t.t.Kind)
		}
	}
	if d.Transformation != "" {
		t := p.transforms[d.Transformation]
		if t == nil {
			return fmt.Errorf("transformation-ref %q: no transformation has that id", d.Transformation)
		}
		if t.t.Kind == KindFratio {
			return fmt.Errorf("transformation-ref %q is an fratio, which is used through a new-dimension", d.Transformation)
		}
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// validText reports whether s is UTF-8 made only of characters XML 1.0 can carry.
func validText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		switch {
		case r == 0x9 || r == 0xA || r == 0xD:
		case r >= 0x20 && r <= 0xD7FF:
		case r >= 0xE000 && r <= 0xFFFD:
		case r >= 0x10000 && r <= 0x10FFFF:
		default:
			return false
		}
	}
	return true
}

// line returns the XML line of a parsed element, 0 when the document was not parsed.
func (d *Document) line(key any) int {
	if d.lines == nil {
		return 0
	}
	return d.lines[key]
}

// Validate checks the document: ids present and unique, every reference (parent_id,
// gateReference, compensation-ref, transformation-ref, divider_ref) resolved, no cycle through
// parents and Boolean operands, parameters within their limits, matrices invertible. It does
// not need a sample; names of FCS parameters are checked by Apply. The error is an *Error.
func (d *Document) Validate() error {
	_, err := compile(d)
	return err
}
