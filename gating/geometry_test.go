package gating

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// exactOrient is the oracle: the sign of the determinant in exact rational arithmetic.
func exactOrient(ax, ay, bx, by, px, py float64) int {
	r := func(v float64) *big.Rat { return new(big.Rat).SetFloat64(v) }
	sub := func(a, b *big.Rat) *big.Rat { return new(big.Rat).Sub(a, b) }
	mul := func(a, b *big.Rat) *big.Rat { return new(big.Rat).Mul(a, b) }
	l := mul(sub(r(bx), r(ax)), sub(r(py), r(ay)))
	rt := mul(sub(r(by), r(ay)), sub(r(px), r(ax)))
	return sub(l, rt).Sign()
}

// TestOrientExact compares orient with exact rational arithmetic on points within a few ulps
// of a line, where the plain floating-point determinant often has the wrong sign (the
// "classroom examples" of Kettner et al., Computational Geometry 40:61, 2008), and on
// coordinates of very different magnitudes.
func TestOrientExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	lines := [][4]float64{
		{0.5, 0.5, 12, 12},
		{0, 0, 200000, 100000},
		{24.00000000000005, 24.0000000000001, 12, 12},
		{-3.7e5, 1.1e-3, 4.4e5, 7.9e2},
		{1e-300, 1e-300, 1e300, 1e300},
	}
	wrongFloat := 0
	for _, ln := range lines {
		ax, ay, bx, by := ln[0], ln[1], ln[2], ln[3]
		for range 1500 {
			s := rng.Float64()*3 - 1
			px := ax + s*(bx-ax)
			py := ay + s*(by-ay)
			for range rng.IntN(8) {
				px = math.Nextafter(px, math.Inf(2*rng.IntN(2)-1))
			}
			for range rng.IntN(8) {
				py = math.Nextafter(py, math.Inf(2*rng.IntN(2)-1))
			}
			want := exactOrient(ax, ay, bx, by, px, py)
			if got := orient(ax, ay, bx, by, px, py); got != want {
				t.Fatalf("orient((%v,%v),(%v,%v),(%v,%v)) = %d, want %d", ax, ay, bx, by, px, py, got, want)
			}
			det := (bx-ax)*(py-ay) - (by-ay)*(px-ax)
			if sign(det) != want {
				wrongFloat++
			}
		}
	}
	// The test is only meaningful if plain float64 gets some of these wrong.
	if wrongFloat == 0 {
		t.Errorf("plain float64 got every sign right: the cases are not near-degenerate enough")
	}
	t.Logf("plain float64 got %d signs wrong; orient none", wrongFloat)
}

func sign(v float64) int {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

func TestPolygonContains(t *testing.T) {
	square := newPolygon([][2]float64{{0, 0}, {10, 0}, {10, 10}, {0, 10}})
	// gates1.xml Polygon3NS: a self-intersecting polygon whose doubly covered part
	// (100..200 x 180..300) is a hole under the even-odd rule.
	ns := newPolygon([][2]float64{{10, 10}, {500, 10}, {500, 390}, {100, 390}, {100, 180}, {200, 180}, {200, 300}, {10, 300}})
	// gates2.xml Poly1u's first edge runs from (0, 0) to (200000, 100000); ISAC's truth counts
	// events exactly on it as inside. (0.2, 0.1) and (0.3, 0.15) are exactly on that line in
	// float64 (0.2 = 2 x 0.1 and 0.3 = 2 x 0.15 bit for bit).
	tri := newPolygon([][2]float64{{0, 0}, {200000, 100000}, {0, 100000}})
	up := math.Nextafter
	tests := []struct {
		name string
		p    *polygon
		x, y float64
		want bool
	}{
		{"centre", &square, 5, 5, true},
		{"on the right edge", &square, 10, 5, true},
		{"on the bottom edge", &square, 5, 0, true},
		{"vertex", &square, 0, 0, true},
		{"far vertex", &square, 10, 10, true},
		{"just right of the right edge", &square, up(10, 11), 5, false},
		{"just below the bottom edge", &square, 5, up(0, -1), false},
		{"just inside the left edge", &square, up(0, 1), 5, true},
		{"outside", &square, 11, 11, false},
		{"NaN", &square, math.NaN(), 5, false},
		{"+Inf", &square, math.Inf(1), 5, false},
		{"hole", &ns, 150, 250, false},
		{"left of the hole", &ns, 50, 250, true},
		{"above the hole", &ns, 150, 350, true},
		{"outside the notch", &ns, 50, 350, false},
		{"on the hole's edge", &ns, 150, 180, true},
		{"on the hole's corner", &ns, 200, 300, true},
		{"on a slanted edge", &tri, 0.2, 0.1, true},
		{"on a slanted edge 2", &tri, 0.3, 0.15, true},
		{"on a slanted edge 3", &tri, 123456, 61728, true},
		{"one ulp above the slanted edge", &tri, 0.3, up(0.15, 1), true},
		{"one ulp below the slanted edge", &tri, 0.3, up(0.15, 0), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.contains(tc.x, tc.y); got != tc.want {
				t.Errorf("contains(%v, %v) = %v, want %v", tc.x, tc.y, got, tc.want)
			}
		})
	}
}

// TestPolygonRandom checks the even-odd test on random points against a polygon whose
// inside is known in closed form: the star-shaped region r <= 2 + sin(5 theta), here as a
// 720-gon, tested far enough from the boundary for the polygon and the curve to agree.
func TestPolygonRandom(t *testing.T) {
	const n = 720
	var v [][2]float64
	for i := range n {
		th := 2 * math.Pi * float64(i) / n
		r := 2 + math.Sin(5*th)
		v = append(v, [2]float64{r * math.Cos(th), r * math.Sin(th)})
	}
	p := newPolygon(v)
	rng := rand.New(rand.NewPCG(3, 4))
	checked := 0
	for range 20000 {
		x, y := rng.Float64()*8-4, rng.Float64()*8-4
		r, th := math.Hypot(x, y), math.Atan2(y, x)
		edge := 2 + math.Sin(5*th)
		if math.Abs(r-edge) < 1e-3 {
			continue
		}
		checked++
		if got, want := p.contains(x, y), r < edge; got != want {
			t.Fatalf("contains(%v, %v) = %v, want %v", x, y, got, want)
		}
	}
	if checked < 19000 {
		t.Fatalf("only %d points checked", checked)
	}
}

// TestEllipsoid3D uses an axis-aligned ellipsoid with semi-axes 2, 4 and 0.5 (covariance
// diag(4, 16, 0.25), whose inverse is exact), centred at (1, 2, 3), distanceSquare 1.
func TestEllipsoid3D(t *testing.T) {
	g := &EllipsoidGate{
		GateInfo:       GateInfo{ID: "E"},
		Dimensions:     []Dimension{{Name: "a", Compensation: Uncompensated}, {Name: "b", Compensation: Uncompensated}, {Name: "c", Compensation: Uncompensated}},
		Mean:           []float64{1, 2, 3},
		Covariance:     [][]float64{{4, 0, 0}, {0, 16, 0}, {0, 0, 0.25}},
		DistanceSquare: 1,
	}
	pts := [][]float64{
		{1, 2, 3},         // centre
		{3, 2, 3},         // end of the first axis: exactly 1
		{1, 6, 3},         // end of the second axis
		{1, 2, 2.5},       // end of the third axis
		{2, 4, 3.25},      // 1/4 + 4/16 + 0.0625/0.25 = 0.75
		{3.0000001, 2, 3}, // just past the first axis
		{1, 2, 3.5000001}, // just past the third
		{2, 4, 3.4},       // 0.25 + 0.25 + 0.64 = 1.14
		{math.NaN(), 2, 3},
	}
	want := []byte{1, 1, 1, 1, 1, 0, 0, 0, 0}
	got := applyOne(t, g, []string{"a", "b", "c"}, pts)
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("point %v: got %d, want %d", pts[i], got[i], want[i])
		}
	}
}

// TestEllipseRotated uses gates1.xml Ellipse1's covariance: half-axes 10 and 5 rotated 45
// degrees, i.e. R diag(100, 25) R^T = [[62.5, 37.5], [37.5, 62.5]].
func TestEllipseRotated(t *testing.T) {
	g := &EllipsoidGate{
		GateInfo:       GateInfo{ID: "E"},
		Dimensions:     []Dimension{{Name: "x", Compensation: Uncompensated}, {Name: "y", Compensation: Uncompensated}},
		Mean:           []float64{12.99701, 16.22941},
		Covariance:     [][]float64{{62.5, 37.5}, {37.5, 62.5}},
		DistanceSquare: 1,
	}
	c := math.Sqrt2 / 2
	at := func(major, minor float64) []float64 {
		return []float64{12.99701 + c*major - c*minor, 16.22941 + c*major + c*minor}
	}
	pts := [][]float64{at(9.99, 0), at(10.01, 0), at(-9.99, 0), at(0, 4.99), at(0, 5.01), at(0, -5.01), at(7, 3.5)}
	want := []byte{1, 0, 1, 1, 0, 0, 1} // (7/10)^2 + (3.5/5)^2 = 0.98
	got := applyOne(t, g, []string{"x", "y"}, pts)
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("point %v: got %d, want %d", pts[i], got[i], want[i])
		}
	}
}

// applyOne applies a single gate to points and returns its 0/1 membership.
func applyOne(t *testing.T, g Gate, names []string, pts [][]float64) []byte {
	t.Helper()
	res, err := (&Document{Gates: []Gate{g}}).Apply(events(names, pts...))
	if err != nil {
		t.Fatal(err)
	}
	return res.Gates[0].Members.Values(nil)
}
