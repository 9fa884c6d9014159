package gating

import (
	"errors"
	"fmt"
	"strings"

	"gonum.org/v1/gonum/floats"
)

// Sample is the event data a Document is applied to. *fcs.DataSet is one.
type Sample interface {
	// Names returns the parameter names ($PnN) in parameter order.
	Names() []string
	// Len returns the number of events.
	Len() int
	// Scale returns the scale values of parameter ch (0-based) for every event in file order,
	// in dst when it is big enough, else in a new slice; the caller owns the result. Apply
	// calls Scale from several goroutines at once (for different dst), so it must be safe
	// for concurrent use, as fcs.DataSet's is.
	Scale(ch int, dst []float64) []float64
	// SpilloverMatrix returns the sample's spillover matrix (rows fluorochromes, columns
	// detectors, both named by detectors), ok false when it has none.
	SpilloverMatrix() (detectors []string, m [][]float64, ok bool)
}

// Apply evaluates every gate of the document on the sample and returns the membership of
// every result id (gates, and Quadrants instead of QuadrantGates) in document order.
//
// Each dimension is computed once per sample however many gates use it: scale values, then
// compensation (only the compensated columns some gate needs, each computed once per
// matrix), then the ratio and the transformation, clamped to the transformation's bounds.
// Gates then test their geometry, AND the parent's membership and combine Boolean operands.
// Work is spread over the available cores by ranges of events.
//
// An invalid document gives the *Error of Validate; a gate that cannot be evaluated on this
// sample gives an *Error naming the gate and the dimension: a parameter the sample lacks, a
// spillover that is singular, and the like.
//
// Apply and Values may run concurrently on one Document, as long as nothing modifies it.
func (d *Document) Apply(s Sample) (*Result, error) {
	p, err := compile(d)
	if err != nil {
		return nil, err
	}
	e, err := newEngine(p, s)
	if err != nil {
		return nil, err
	}
	// Resolve every dimension of every gate to a column.
	cols := make(map[*cgate][]*colNode, len(p.gates))
	for _, cg := range p.gates {
		for i, dim := range cg.dims {
			c, err := e.resolve(dim)
			if err != nil {
				what := fmt.Sprintf("dimension %d", i+1)
				if q, ok := cg.g.(*QuadrantGate); ok {
					what = fmt.Sprintf("divider %q", q.Dividers[i].ID)
				}
				return nil, errorf(cg.line, cg.elem+" "+what, "%v", err)
			}
			c.uses++
			cols[cg] = append(cols[cg], c)
		}
	}
	if err := e.compute(); err != nil {
		return nil, err
	}
	members := make([]*Membership, len(p.results))
	for _, cg := range p.order {
		e.evaluate(cg, cols[cg], members)
		for _, c := range cols[cg] {
			e.release(c)
		}
	}
	r := &Result{Events: e.n, Gates: make([]GateResult, len(p.results)), byID: make(map[string]int, len(p.results))}
	for i, ref := range p.results {
		g := GateResult{ID: ref.id, Kind: ref.gate.g.Kind(), Members: members[i], Count: members[i].Count(), ParentCount: e.n}
		if ref.quadrant >= 0 {
			g.Kind = "Quadrant"
			g.QuadrantGate = ref.gate.g.GateID()
		}
		if ref.gate.parent >= 0 {
			g.Parent = p.results[ref.gate.parent].id
			g.ParentCount = members[ref.gate.parent].Count()
		}
		r.Gates[i] = g
		r.byID[ref.id] = i
	}
	return r, nil
}

// Values returns, for each dimension, its value for every event of the sample: scale values
// compensated and transformed as the dimension says, as a gate sees them. Compensation-refs
// and transformation-refs refer to the document's spectrum matrices and transformations. The
// columns are new slices of s.Len() values.
func (d *Document) Values(s Sample, dims ...Dimension) ([][]float64, error) {
	p, err := compile(d)
	if err != nil {
		return nil, err
	}
	e, err := newEngine(p, s)
	if err != nil {
		return nil, err
	}
	nodes := make([]*colNode, len(dims))
	for i, dim := range dims {
		if err := p.checkDimension(dim); err != nil {
			return nil, errorf(0, fmt.Sprintf("Values dimension %d", i+1), "%v", err)
		}
		c, err := e.resolve(dim)
		if err != nil {
			return nil, errorf(0, fmt.Sprintf("Values dimension %d", i+1), "%v", err)
		}
		c.uses++
		nodes[i] = c
	}
	if err := e.compute(); err != nil {
		return nil, err
	}
	out := make([][]float64, len(dims))
	given := map[*colNode]bool{}
	for i, c := range nodes {
		if given[c] {
			out[i] = append([]float64(nil), c.data...)
			continue
		}
		given[c] = true
		out[i] = c.data
	}
	return out, nil
}

type nodeKind int

const (
	scaleNode nodeKind = iota // a parameter's scale values
	compNode                  // one output column of a compensation
	ratioNode                 // an fratio of two columns
	xformNode                 // a transformation of a column
)

// colNode is one column of values the gates need, computed once per sample.
type colNode struct {
	key  string
	kind nodeKind
	ch   int      // scaleNode
	mat  *cmatrix // compNode
	out  int      // compNode: output index in mat
	tr   *ctransform
	u, v *colNode // ratioNode: numerator and denominator
	base *colNode // xformNode
	uses int      // consumers not yet served: gates, Values and other nodes
	data []float64
}

// engine computes columns and memberships for one Apply.
type engine struct {
	p       *program
	s       Sample
	n       int
	names   map[string]int
	nodes   map[string]*colNode
	list    []*colNode // in creation order: every node after its inputs
	fcs     *cmatrix
	fcsErr  error
	fcsDone bool
	matChs  map[*cmatrix][]int
}

func newEngine(p *program, s Sample) (*engine, error) {
	if s == nil {
		return nil, errors.New("gating: Apply: the sample is nil")
	}
	n := s.Len()
	if n < 0 {
		return nil, fmt.Errorf("gating: the sample has %d events", n)
	}
	e := &engine{p: p, s: s, n: n, names: map[string]int{}, nodes: map[string]*colNode{}, matChs: map[*cmatrix][]int{}}
	for i, name := range s.Names() {
		if _, dup := e.names[name]; !dup {
			e.names[name] = i
		}
	}
	return e, nil
}

// node returns the node with the given key, creating it with mk when new.
func (e *engine) node(key string, mk func() *colNode) *colNode {
	if c, ok := e.nodes[key]; ok {
		return c
	}
	c := mk()
	c.key = key
	e.nodes[key] = c
	e.list = append(e.list, c)
	return c
}

// resolve returns the column of a dimension, creating the nodes it needs.
func (e *engine) resolve(d Dimension) (*colNode, error) {
	var base *colNode
	if d.Ratio != "" {
		ct := e.p.transforms[d.Ratio]
		u, err := e.named(ct.t.Ratio[0], d.Compensation)
		if err != nil {
			return nil, fmt.Errorf("fratio %q numerator: %w", d.Ratio, err)
		}
		v, err := e.named(ct.t.Ratio[1], d.Compensation)
		if err != nil {
			return nil, fmt.Errorf("fratio %q denominator: %w", d.Ratio, err)
		}
		base = e.node("r\x00"+d.Ratio+"\x00"+u.key+"\x00"+v.key, func() *colNode {
			u.uses++
			v.uses++
			return &colNode{kind: ratioNode, tr: ct, u: u, v: v}
		})
	} else {
		var err error
		if base, err = e.named(d.Name, d.Compensation); err != nil {
			return nil, err
		}
	}
	if d.Transformation != "" {
		ct := e.p.transforms[d.Transformation]
		in := base
		base = e.node("t\x00"+d.Transformation+"\x00"+in.key, func() *colNode {
			in.uses++
			return &colNode{kind: xformNode, tr: ct, base: in}
		})
	}
	return base, nil
}

// named resolves an fcs-dimension name under a compensation-ref (see Dimension).
func (e *engine) named(name, comp string) (*colNode, error) {
	switch comp {
	case Uncompensated:
		return e.scale(name)
	case FCSSpillover:
		m, err := e.spillover()
		if err != nil {
			return nil, err
		}
		if m == nil {
			return e.scale(name) // FCS on a sample without spillover: uncompensated
		}
		if j, ok := m.index(name); ok {
			return e.comp(m, j)
		}
		if rest, ok := strings.CutPrefix(name, "Comp-"); ok {
			if _, isParam := e.names[name]; !isParam {
				if j, ok := m.index(rest); ok {
					return e.comp(m, j)
				}
			}
		}
		return e.scale(name)
	default:
		m := e.p.matrices[comp]
		if j, ok := m.index(name); ok {
			return e.comp(m, j)
		}
		if m.isDetector(name) {
			return nil, fmt.Errorf("%q is a detector of the non-square spectrumMatrix %q: name one of its fluorochromes", name, comp)
		}
		return e.scale(name)
	}
}

func (e *engine) scale(name string) (*colNode, error) {
	ch, ok := e.names[name]
	if !ok {
		return nil, fmt.Errorf("the sample has no parameter named %q", name)
	}
	return e.node(fmt.Sprintf("s\x00%d", ch), func() *colNode { return &colNode{kind: scaleNode, ch: ch} }), nil
}

func (e *engine) comp(m *cmatrix, j int) (*colNode, error) {
	if _, ok := e.matChs[m]; !ok {
		chs := make([]int, len(m.detectors))
		for i, det := range m.detectors {
			ch, ok := e.names[det]
			if !ok {
				what := fmt.Sprintf("spectrumMatrix %q", m.id)
				if m.id == FCSSpillover {
					what = "the sample's spillover"
				}
				return nil, fmt.Errorf("%s names detector %q, which is not a parameter of the sample", what, det)
			}
			chs[i] = ch
		}
		e.matChs[m] = chs
	}
	return e.node(fmt.Sprintf("c\x00%s\x00%d", m.id, j), func() *colNode {
		return &colNode{kind: compNode, mat: m, out: j}
	}), nil
}

// spillover returns the sample's spillover as a compensation, nil when it has none.
func (e *engine) spillover() (*cmatrix, error) {
	if !e.fcsDone {
		e.fcsDone = true
		dets, m, ok := e.s.SpilloverMatrix()
		if ok {
			e.fcs, e.fcsErr = spilloverMatrix(dets, m)
			if e.fcsErr != nil {
				e.fcsErr = fmt.Errorf("the sample's spillover matrix %w", e.fcsErr)
			}
		}
	}
	return e.fcs, e.fcsErr
}

// fetchAll sets dsts[i] to the scale values of parameter chs[i], reusing dsts[i] when big
// enough, several parameters at a time.
func (e *engine) fetchAll(chs []int, dsts [][]float64) error {
	errs := make([]error, len(chs))
	parallel(len(chs), 1, func(_, i, _ int) {
		col := e.s.Scale(chs[i], dsts[i])
		if len(col) != e.n {
			errs[i] = fmt.Errorf("gating: the sample's Scale(%d) returned %d values for %d events", chs[i], len(col), e.n)
			return
		}
		dsts[i] = col
	})
	return errors.Join(errs...)
}

// compute fills every node that has consumers: scale columns, then compensations grouped by
// matrix, then ratios and transformations in dependency order.
func (e *engine) compute() error {
	var direct []*colNode
	for _, c := range e.list {
		if c.kind == scaleNode && c.uses > 0 {
			direct = append(direct, c)
		}
	}
	dsts := make([][]float64, len(direct))
	chs := make([]int, len(direct))
	for i, c := range direct {
		chs[i] = c.ch
	}
	if err := e.fetchAll(chs, dsts); err != nil {
		return err
	}
	for i, c := range direct {
		c.data = dsts[i]
	}
	var mats []*cmatrix
	outs := map[*cmatrix][]*colNode{}
	for _, c := range e.list {
		if c.kind == compNode && c.uses > 0 {
			if outs[c.mat] == nil {
				mats = append(mats, c.mat)
			}
			outs[c.mat] = append(outs[c.mat], c)
		}
	}
	for _, m := range mats {
		if err := e.compensate(m, outs[m]); err != nil {
			return err
		}
	}
	// Count the values each transformation will see, to choose between its fast path and
	// value-by-value evaluation.
	values := map[*ctransform]int{}
	for _, c := range e.list {
		if c.kind == xformNode && c.uses > 0 {
			values[c.tr] += e.n
		}
	}
	for _, c := range e.list {
		if c.uses == 0 {
			continue
		}
		switch c.kind {
		case ratioNode:
			u, v := c.u, c.v
			ud, vd := u.data, v.data
			if u.uses == 1 && u != v {
				c.data, u.data = ud, nil // the ratio is computed in place of its numerator
			} else {
				c.data = make([]float64, e.n)
			}
			parallel(e.n, gateChunk, func(_, lo, hi int) {
				ratio(c.tr.t, c.data[lo:hi], ud[lo:hi], vd[lo:hi])
				if c.tr.apply != nil {
					c.tr.apply(c.data[lo:hi])
				}
			})
			e.release(u)
			e.release(v)
		case xformNode:
			in := c.base
			if in.uses == 1 {
				c.data, in.data = in.data, nil // transform in place
			} else {
				c.data = append([]float64(nil), in.data...)
			}
			apply := c.tr.apply
			if values[c.tr] < tableWorth {
				apply = c.tr.applyFew
			}
			parallel(e.n, gateChunk, func(_, lo, hi int) { apply(c.data[lo:hi]) })
			e.release(in)
		}
	}
	return nil
}

// release records that one consumer of c is served and drops its values after the last.
func (e *engine) release(c *colNode) {
	c.uses--
	if c.uses <= 0 {
		c.data = nil
	}
}

// compensate computes the needed output columns of one compensation. Output j is
// sum_i o_i M[i][j] over the detectors i in order, terms with a zero coefficient left out (a
// zero term cannot change a finite sum). Memory decides how:
//
//   - few outputs: the outputs are accumulated one group of detector columns at a time, so
//     that only about as many input columns as outputs are held at once;
//   - many outputs (at least half as many as detector columns to read): every detector
//     column is read, and the outputs are computed chunk by chunk into scratch and written
//     over the detector columns the chunk no longer needs, so that no other column is made.
func (e *engine) compensate(m *cmatrix, outs []*colNode) error {
	chs := e.matChs[m]
	held := map[int][]float64{}
	for _, c := range e.list {
		if c.kind == scaleNode && c.data != nil {
			held[c.ch] = c.data
		}
	}
	fetch := 0
	for _, ch := range chs {
		if _, ok := held[ch]; !ok {
			fetch++
		}
	}
	if fetch > 0 && 2*len(outs) >= fetch {
		return e.compensateInPlace(m, outs, held)
	}
	for _, o := range outs {
		o.data = make([]float64, e.n)
	}
	group := min(max(len(outs), 4), len(chs))
	bufs := make([][]float64, group)
	for start := 0; start < len(chs); start += group {
		end := min(start+group, len(chs))
		ins, err := e.inputs(chs[start:end], held, bufs)
		if err != nil {
			return err
		}
		terms := m.terms(outs, ins, start)
		parallel(e.n, compChunk, func(_, lo, hi int) {
			for k, o := range outs {
				accumulate(o.data[lo:hi], terms[k], lo, hi)
			}
		})
	}
	return nil
}

// compensateInPlace is compensate for many outputs: see there.
func (e *engine) compensateInPlace(m *cmatrix, outs []*colNode, held map[int][]float64) error {
	chs := e.matChs[m]
	ins, err := e.inputs(chs, held, make([][]float64, len(chs)))
	if err != nil {
		return err
	}
	// Each output takes over a column that was read for the compensation, or a new one.
	var free [][]float64
	for i, ch := range chs {
		if _, ok := held[ch]; !ok {
			free = append(free, ins[i])
		}
	}
	data := make([][]float64, len(outs))
	for k := range outs {
		if k < len(free) {
			data[k] = free[k]
		} else {
			data[k] = make([]float64, e.n)
		}
	}
	terms := m.terms(outs, ins, 0)
	scratch := make([][]float64, workers())
	parallel(e.n, compChunk, func(w, lo, hi int) {
		if scratch[w] == nil {
			scratch[w] = make([]float64, len(outs)*compChunk)
		}
		n := hi - lo
		for k := range outs {
			t := scratch[w][k*compChunk : k*compChunk+n]
			clear(t)
			accumulate(t, terms[k], lo, hi)
		}
		// Every input of the chunk has been read: the outputs may overwrite it.
		for k := range outs {
			copy(data[k][lo:hi], scratch[w][k*compChunk:k*compChunk+n])
		}
	})
	for k, o := range outs {
		o.data = data[k]
	}
	return nil
}

// inputs returns the scale values of the parameters chs: the held column when there is one,
// else read into bufs (reused when big enough, and updated).
func (e *engine) inputs(chs []int, held map[int][]float64, bufs [][]float64) ([][]float64, error) {
	ins := make([][]float64, len(chs))
	var need []int
	for i, ch := range chs {
		if col, ok := held[ch]; ok {
			ins[i] = col
		} else {
			need = append(need, i)
		}
	}
	needChs := make([]int, len(need))
	needBufs := make([][]float64, len(need))
	for k, i := range need {
		needChs[k], needBufs[k] = chs[i], bufs[i]
	}
	if err := e.fetchAll(needChs, needBufs); err != nil {
		return nil, err
	}
	for k, i := range need {
		bufs[i], ins[i] = needBufs[k], needBufs[k]
	}
	return ins, nil
}

// terms returns, per output, the input columns ins (detectors first, first+1, ...) with a
// nonzero coefficient, in detector order.
func (c *cmatrix) terms(outs []*colNode, ins [][]float64, first int) [][]term {
	terms := make([][]term, len(outs))
	for k, o := range outs {
		for i, col := range ins {
			if v := c.m[first+i][o.out]; v != 0 {
				terms[k] = append(terms[k], term{col, v})
			}
		}
	}
	return terms
}

// term is one input column of a compensated output and its coefficient.
type term struct {
	col []float64
	c   float64
}

// accumulate adds sum_k ts[k].col[lo:hi] * ts[k].c to dst in order of k, a term at a time
// with gonum's vectorized axpy. Each product is rounded before it is added (no fused
// multiply-add), as in R's matrix product, so that results do not depend on the platform.
func accumulate(dst []float64, ts []term, lo, hi int) {
	for _, t := range ts {
		floats.AddScaled(dst, t.c, t.col[lo:hi])
	}
}

// evaluate computes the memberships of one gate's results; its parent and operands are done.
func (e *engine) evaluate(cg *cgate, cols []*colNode, members []*Membership) {
	data := make([][]float64, len(cols))
	for i, c := range cols {
		data[i] = c.data
	}
	switch cg.g.(type) {
	case *RectangleGate:
		members[cg.results[0]] = e.boxes(data, cg.box)
	case *PolygonGate:
		poly := newPolygon(cg.verts)
		m := newMembership(e.n)
		xs, ys := data[0], data[1]
		parallel(e.n, gateChunk, func(_, lo, hi int) {
			for i := lo; i < hi; i++ {
				if poly.contains(xs[i], ys[i]) {
					m.words[i>>6] |= 1 << (uint(i) & 63)
				}
			}
		})
		members[cg.results[0]] = m
	case *EllipsoidGate:
		m := newMembership(e.n)
		nd := len(data)
		parallel(e.n, gateChunk, func(_, lo, hi int) {
			x := make([]float64, nd)
			d := make([]float64, nd)
			for i := lo; i < hi; i++ {
				for k, col := range data {
					x[k] = col[i]
				}
				if inEllipsoid(x, cg.mean, cg.inv, d, cg.d2) {
					m.words[i>>6] |= 1 << (uint(i) & 63)
				}
			}
		})
		members[cg.results[0]] = m
	case *QuadrantGate:
		for qi, q := range cg.quads {
			sub := make([][]float64, len(q.dividers))
			for k, di := range q.dividers {
				sub[k] = data[di]
			}
			members[cg.results[qi]] = e.boxes(sub, q.box)
		}
	case *BooleanGate:
		var m *Membership
		for k, r := range cg.operands {
			o := members[r]
			if cg.compl[k] {
				o = o.clone()
				o.not()
			}
			switch {
			case m == nil:
				m = o.clone()
			case cg.op == Or:
				m.or(o)
			default:
				m.and(o)
			}
		}
		if cg.op == Not {
			m.not()
		}
		members[cg.results[0]] = m
	}
	if cg.parent >= 0 {
		for _, r := range cg.results {
			members[r].and(members[cg.parent])
		}
	}
}

// boxes returns the events whose values lie in every interval (a rectangle, or a Quadrant).
func (e *engine) boxes(data [][]float64, box []interval) *Membership {
	m := newMembership(e.n)
	parallel(e.n, gateChunk, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			in := true
			for k, col := range data {
				if x := col[i]; !(x >= box[k].lo && x < box[k].hi) { // NaN fails too
					in = false
					break
				}
			}
			if in {
				m.words[i>>6] |= 1 << (uint(i) & 63)
			}
		}
	})
	return m
}
