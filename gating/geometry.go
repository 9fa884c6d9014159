package gating

import (
	"math"
	"math/big"
)

// ccwErrBound is Shewchuk's error bound for the floating-point orientation determinant:
// when |det| exceeds it times (|left| + |right|), det has the sign of the exact value.
const ccwErrBound = (3 + 16*0x1p-53) * 0x1p-53

// orient returns the sign of the exact determinant (bx-ax)(py-ay) - (by-ay)(px-ax) of finite
// float64 inputs: positive when p lies left of the directed line a->b, negative when right,
// zero when on it. A floating-point filter decides almost every case; the rest are decided
// exactly.
func orient(ax, ay, bx, by, px, py float64) int {
	l := (bx - ax) * (py - ay)
	r := (by - ay) * (px - ax)
	det := l - r
	bound := ccwErrBound * (math.Abs(l) + math.Abs(r))
	switch {
	case det > bound:
		return 1
	case -det > bound:
		return -1
	}
	return orientExact(ax, ay, bx, by, px, py)
}

// orientExact decides the sign exactly. When the four differences are exact in float64 (the
// common case: coordinates of similar magnitude, or integers) the two products are split into
// exact sums with FMA and the sign comes from an exact expansion; otherwise big.Float does
// the arithmetic at a precision that makes every operation exact.
func orientExact(ax, ay, bx, by, px, py float64) int {
	x1, ex1 := twoDiff(bx, ax)
	y1, ey1 := twoDiff(py, ay)
	y2, ey2 := twoDiff(by, ay)
	x2, ex2 := twoDiff(px, ax)
	if ex1 == 0 && ey1 == 0 && ey2 == 0 && ex2 == 0 {
		p1 := x1 * y1
		p2 := y2 * x2
		if safeProduct(p1) && safeProduct(p2) {
			e1 := math.FMA(x1, y1, -p1)
			e2 := math.FMA(y2, x2, -p2)
			// det = (p1 - p2) + (e1 - e2) exactly; grow an expansion and read its sign.
			s, t := twoDiff(p1, p2)
			u, v := twoDiff(e1, e2)
			return expansionSign(growExpansion(growExpansion([]float64{t, s}, u), v))
		}
	}
	const prec = 4500 // exact: each product of two exact differences needs at most ~4200 bits
	f := func(v float64) *big.Float { return new(big.Float).SetPrec(prec).SetFloat64(v) }
	sub := func(a, b *big.Float) *big.Float { return new(big.Float).SetPrec(prec).Sub(a, b) }
	mul := func(a, b *big.Float) *big.Float { return new(big.Float).SetPrec(prec).Mul(a, b) }
	left := mul(sub(f(bx), f(ax)), sub(f(py), f(ay)))
	right := mul(sub(f(by), f(ay)), sub(f(px), f(ax)))
	return sub(left, right).Sign()
}

// safeProduct reports whether p is finite and far enough from underflow that its FMA error
// term is exact.
func safeProduct(p float64) bool {
	a := math.Abs(p)
	return a == 0 || (a >= 0x1p-960 && a <= math.MaxFloat64)
}

// twoDiff returns s = fl(a - b) and the exact error e with a - b = s + e (Knuth). With s not
// finite the error is meaningless; callers check.
func twoDiff(a, b float64) (s, e float64) {
	s = a - b
	bv := a - s
	av := s + bv
	br := bv - b
	ar := a - av
	e = ar + br
	if math.IsInf(s, 0) || math.IsNaN(e) {
		return s, math.NaN()
	}
	return s, e
}

// twoSum returns s = fl(a + b) and the exact error e with a + b = s + e (Knuth).
func twoSum(a, b float64) (s, e float64) {
	s = a + b
	bv := s - a
	av := s - bv
	e = (a - av) + (b - bv)
	return s, e
}

// growExpansion adds b to the nonoverlapping expansion e (components in increasing
// magnitude) exactly, returning a nonoverlapping expansion (Shewchuk's Grow-Expansion).
func growExpansion(e []float64, b float64) []float64 {
	out := make([]float64, 0, len(e)+1)
	q := b
	for _, c := range e {
		var h float64
		q, h = twoSum(q, c)
		out = append(out, h)
	}
	return append(out, q)
}

// expansionSign returns the sign of the sum of a nonoverlapping expansion: the sign of its
// largest nonzero component.
func expansionSign(e []float64) int {
	for i := len(e) - 1; i >= 0; i-- {
		switch {
		case e[i] > 0:
			return 1
		case e[i] < 0:
			return -1
		}
	}
	return 0
}

// polygon is a PolygonGate's edges with their bounding boxes, and the polygon's.
type polygon struct {
	edges                  []edge
	minX, maxX, minY, maxY float64
}

// edge runs from (ax, ay) to (bx, by) within the box [x0, x1] x [y0, y1].
type edge struct {
	ax, ay, bx, by, x0, x1, y0, y1 float64
}

func newPolygon(v [][2]float64) polygon {
	p := polygon{minX: v[0][0], maxX: v[0][0], minY: v[0][1], maxY: v[0][1]}
	a := v[len(v)-1]
	for _, b := range v {
		p.edges = append(p.edges, edge{a[0], a[1], b[0], b[1], min(a[0], b[0]), max(a[0], b[0]), min(a[1], b[1]), max(a[1], b[1])})
		p.minX, p.maxX = min(p.minX, b[0]), max(p.maxX, b[0])
		p.minY, p.maxY = min(p.minY, b[1]), max(p.maxY, b[1])
		a = b
	}
	return p
}

// contains reports whether (x, y) is inside the polygon by the even-odd rule, points on an
// edge or a vertex included. NaN and infinite points are outside.
func (p *polygon) contains(x, y float64) bool {
	if !(x >= p.minX && x <= p.maxX && y >= p.minY && y <= p.maxY) {
		return false // also every NaN
	}
	inside := false
	for i := range p.edges {
		e := &p.edges[i]
		crosses := (e.ay > y) != (e.by > y)
		inBox := x >= e.x0 && x <= e.x1 && y >= e.y0 && y <= e.y1
		if !crosses && !inBox {
			continue
		}
		o := orient(e.ax, e.ay, e.bx, e.by, x, y)
		if o == 0 && inBox {
			return true // on the edge
		}
		// The ray to +x crosses the edge when the edge passes right of the point: p is left
		// of an upward edge or right of a downward one.
		if crosses && ((e.by > e.ay && o > 0) || (e.by < e.ay && o < 0)) {
			inside = !inside
		}
	}
	return inside
}

// inEllipsoid reports whether (x - mean)^T inv (x - mean) <= d2, with inv stored row-major.
// d is scratch of len(x). The form is summed as (d^T inv) d, each sum in index order.
func inEllipsoid(x, mean, inv, d []float64, d2 float64) bool {
	n := len(x)
	for i := range n {
		d[i] = x[i] - mean[i]
	}
	var q float64
	for j := range n {
		var s float64
		for i := range n {
			s += float64(d[i] * inv[i*n+j])
		}
		q += float64(s * d[j])
	}
	return q <= d2
}
