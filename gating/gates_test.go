package gating

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func dim(name string) Dimension { return Dimension{Name: name, Compensation: Uncompensated} }

// members returns the 0/1 membership of every result, by id.
func members(t *testing.T, doc *Document, s Sample) map[string][]byte {
	t.Helper()
	res, err := doc.Apply(s)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, g := range res.Gates {
		out[g.ID] = g.Members.Values(nil)
		if g.Count != g.Members.Count() {
			t.Errorf("%s: Count %d, Members.Count %d", g.ID, g.Count, g.Members.Count())
		}
	}
	return out
}

// TestRectangle checks half-open limits, one-sided ranges and the treatment of NaN and
// infinities (a missing limit is -Inf or +Inf; +Inf fails x < +Inf).
func TestRectangle(t *testing.T) {
	inf := math.Inf(1)
	s := events([]string{"x", "y"},
		[]float64{20, 0}, []float64{80, 0}, []float64{79.99999999999999, 0}, []float64{19.999999999999996, 0},
		[]float64{math.NaN(), 0}, []float64{inf, 0}, []float64{-inf, 0}, []float64{50, 7})
	doc := &Document{Gates: []Gate{
		&RectangleGate{GateInfo: GateInfo{ID: "R"}, Dimensions: []RectangleDimension{{Dimension: dim("x"), Min: ptr(20), Max: ptr(80)}}},
		&RectangleGate{GateInfo: GateInfo{ID: "Min"}, Dimensions: []RectangleDimension{{Dimension: dim("x"), Min: ptr(20)}}},
		&RectangleGate{GateInfo: GateInfo{ID: "Max"}, Dimensions: []RectangleDimension{{Dimension: dim("x"), Max: ptr(80)}}},
		&RectangleGate{GateInfo: GateInfo{ID: "None"}, Dimensions: []RectangleDimension{{Dimension: dim("x")}}},
		&RectangleGate{GateInfo: GateInfo{ID: "2D"}, Dimensions: []RectangleDimension{{Dimension: dim("x"), Min: ptr(20), Max: ptr(80)}, {Dimension: dim("y"), Min: ptr(5)}}},
	}}
	want := map[string][]byte{
		"R":    {1, 0, 1, 0, 0, 0, 0, 1},
		"Min":  {1, 1, 1, 0, 0, 0, 0, 1},
		"Max":  {1, 0, 1, 1, 0, 0, 1, 1},
		"None": {1, 1, 1, 1, 0, 0, 1, 1},
		"2D":   {0, 0, 0, 0, 0, 0, 0, 1},
	}
	if diff := cmp.Diff(want, members(t, doc, s)); diff != "" {
		t.Errorf("memberships (-want +got):\n%s", diff)
	}
}

// TestQuadrantMoreThanFour cuts x at 10 and 20 and y at 5: six cells, named by a location in
// each, plus a region on x alone and one whose location sits exactly on a divider value
// (which belongs to the interval above it).
func TestQuadrantMoreThanFour(t *testing.T) {
	s := events([]string{"x", "y"},
		[]float64{0, 0}, []float64{15, 0}, []float64{25, 0},
		[]float64{0, 9}, []float64{15, 9}, []float64{25, 9},
		[]float64{10, 5}, []float64{20, 4.999999}, []float64{math.NaN(), 0}, []float64{9.999999, math.Inf(1)})
	q := &QuadrantGate{
		GateInfo: GateInfo{ID: "Q"},
		Dividers: []Divider{
			{ID: "dx", Dimension: dim("x"), Values: []float64{20, 10}}, // unsorted on purpose
			{ID: "dy", Dimension: dim("y"), Values: []float64{5}},
		},
		Quadrants: []Quadrant{
			{ID: "LL", Positions: []Position{{"dx", 5}, {"dy", 0}}},
			{ID: "ML", Positions: []Position{{"dy", 1}, {"dx", 12}}},
			{ID: "RL", Positions: []Position{{"dx", 100}, {"dy", -3}}},
			{ID: "LH", Positions: []Position{{"dx", -1}, {"dy", 6}}},
			{ID: "MH", Positions: []Position{{"dx", 10}, {"dy", 5}}},
			{ID: "RH", Positions: []Position{{"dx", 20}, {"dy", 50}}},
			{ID: "Mid", Positions: []Position{{"dx", 19}}},
		},
	}
	want := map[string][]byte{
		"LL":  {1, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		"ML":  {0, 1, 0, 0, 0, 0, 0, 0, 0, 0},
		"RL":  {0, 0, 1, 0, 0, 0, 0, 1, 0, 0},
		"LH":  {0, 0, 0, 1, 0, 0, 0, 0, 0, 0}, // +Inf is in no interval
		"MH":  {0, 0, 0, 0, 1, 0, 1, 0, 0, 0},
		"RH":  {0, 0, 0, 0, 0, 1, 0, 0, 0, 0},
		"Mid": {0, 1, 0, 0, 1, 0, 1, 0, 0, 0},
	}
	got := members(t, &Document{Gates: []Gate{q}}, s)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("memberships (-want +got):\n%s", diff)
	}
	res, _ := (&Document{Gates: []Gate{q}}).Apply(s)
	if g := res.Gate("Q"); g != nil {
		t.Errorf("the QuadrantGate's own id has a result: %+v", g)
	}
	if g := res.Gate("MH"); g.Kind != "Quadrant" || g.QuadrantGate != "Q" {
		t.Errorf("MH: got kind %q of %q, want Quadrant of Q", g.Kind, g.QuadrantGate)
	}
}

// TestBoolean checks and/or/not, use-as-complement, NOT(NOT A), parents of Boolean gates and
// of Quadrants, and that a complement is taken of the operand's full membership (its parent
// included).
func TestBoolean(t *testing.T) {
	// Events 0..7 have x = bit 0, y = bit 1, z = bit 2.
	var rows [][]float64
	for i := range 8 {
		rows = append(rows, []float64{float64(i & 1), float64(i >> 1 & 1), float64(i >> 2 & 1)})
	}
	s := events([]string{"x", "y", "z"}, rows...)
	one := func(id, name, parent string) Gate {
		return &RectangleGate{GateInfo: GateInfo{ID: id, Parent: parent}, Dimensions: []RectangleDimension{{Dimension: dim(name), Min: ptr(0.5)}}}
	}
	doc := &Document{Gates: []Gate{
		&BooleanGate{GateInfo: GateInfo{ID: "AndXnotY"}, Op: And, Operands: []Operand{{"X", false}, {"Y", true}}},
		one("X", "x", ""),
		one("Y", "y", ""),
		one("ZinX", "z", "X"),
		&BooleanGate{GateInfo: GateInfo{ID: "Or3"}, Op: Or, Operands: []Operand{{"X", false}, {"Y", false}, {"ZinX", false}}},
		&BooleanGate{GateInfo: GateInfo{ID: "NotZinX"}, Op: Not, Operands: []Operand{{"ZinX", false}}},
		&BooleanGate{GateInfo: GateInfo{ID: "NotNotX"}, Op: Not, Operands: []Operand{{"X", true}}},
		&BooleanGate{GateInfo: GateInfo{ID: "OrUnderY", Parent: "Y"}, Op: Or, Operands: []Operand{{"X", false}, {"ZinX", true}}},
		&QuadrantGate{GateInfo: GateInfo{ID: "Q", Parent: "X"}, Dividers: []Divider{{ID: "d", Dimension: dim("y"), Values: []float64{0.5}}},
			Quadrants: []Quadrant{{ID: "Qlow", Positions: []Position{{"d", 0}}}, {ID: "Qhigh", Positions: []Position{{"d", 1}}}}},
		one("ZinQhigh", "z", "Qhigh"),
	}}
	want := map[string][]byte{
		//                0  1  2  3  4  5  6  7
		"X":        {0, 1, 0, 1, 0, 1, 0, 1},
		"Y":        {0, 0, 1, 1, 0, 0, 1, 1},
		"ZinX":     {0, 0, 0, 0, 0, 1, 0, 1},
		"AndXnotY": {0, 1, 0, 0, 0, 1, 0, 0},
		"Or3":      {0, 1, 1, 1, 0, 1, 1, 1},
		"NotZinX":  {1, 1, 1, 1, 1, 0, 1, 0},
		"NotNotX":  {0, 1, 0, 1, 0, 1, 0, 1},
		"OrUnderY": {0, 0, 1, 1, 0, 0, 1, 1},
		"Qlow":     {0, 1, 0, 0, 0, 1, 0, 0},
		"Qhigh":    {0, 0, 0, 1, 0, 0, 0, 1},
		"ZinQhigh": {0, 0, 0, 0, 0, 0, 0, 1},
	}
	if diff := cmp.Diff(want, members(t, doc, s)); diff != "" {
		t.Errorf("memberships (-want +got):\n%s", diff)
	}
	res, err := doc.Apply(s)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, g := range res.Gates {
		ids = append(ids, g.ID)
	}
	if diff := cmp.Diff(doc.ResultIDs(), ids); diff != "" {
		t.Errorf("result order (-document +result):\n%s", diff)
	}
	if g := res.Gate("ZinQhigh"); g.Parent != "Qhigh" || g.ParentCount != 2 || g.Count != 1 {
		t.Errorf("ZinQhigh: parent %q count %d of %d, want Qhigh 1 of 2", g.Parent, g.Count, g.ParentCount)
	}
	if g := res.Gate("X"); g.Parent != "" || g.ParentCount != 8 {
		t.Errorf("X: parent %q parent count %d, want none and 8", g.Parent, g.ParentCount)
	}
}

// TestMembership checks the bit set across word boundaries.
func TestMembership(t *testing.T) {
	m := newMembership(130)
	for _, i := range []int{0, 63, 64, 127, 129} {
		m.words[i>>6] |= 1 << (uint(i) & 63)
	}
	if got := m.Count(); got != 5 {
		t.Errorf("Count: got %d, want 5", got)
	}
	if diff := cmp.Diff([]int{0, 63, 64, 127, 129}, m.Indices(nil)); diff != "" {
		t.Errorf("Indices (-want +got):\n%s", diff)
	}
	m.not()
	if got := m.Count(); got != 125 {
		t.Errorf("Count after not: got %d, want 125 (the bits past event 129 must stay clear)", got)
	}
	if m.Contains(0) || !m.Contains(1) || m.Contains(130) || m.Contains(-1) {
		t.Errorf("Contains is wrong after not")
	}
	var sb stringsBuilder
	if _, err := m.WriteTo(&sb); err != nil {
		t.Fatal(err)
	}
	if len(sb) != 260 || string(sb[:6]) != "0\n1\n1\n" {
		t.Errorf("WriteTo: got %d bytes starting %q", len(sb), sb[:6])
	}
}

type stringsBuilder []byte

func (b *stringsBuilder) Write(p []byte) (int, error) { *b = append(*b, p...); return len(p), nil }
