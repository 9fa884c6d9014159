package gating

import (
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
)

// TestISACMatrices checks invert and pseudoInverse against the matrices gates3.xml gives
// already inverted: MyInvertedSpill is MySpill^-1 and MyNonSquareSpectrumInvertedAlready is
// pinv(MyNonSquareSpectrum), both written with 7 to 10 significant digits.
func TestISACMatrices(t *testing.T) {
	mySpill := [][]float64{{1, 0.02, 0.06}, {0.11, 1, 0.07}, {0.09, 0.01, 1}}
	myInverted := [][]float64{
		{1.00746856, -0.019558581, -0.05907901},
		{-0.10454767, 1.002730136, -0.06391825},
		{-0.08962669, -0.008267029, 1.00595629},
	}
	nonSquare := [][]float64{{0.78, 0.13, 0.22}, {0.05, 0.57, 0.89}}
	nonSquareInv := [][]float64{{1.30203507, -0.3146035}, {-0.04635483, 0.5219464}, {-0.04346012, 0.8069896}}
	inv, ok := invert(mySpill)
	if !ok {
		t.Fatal("MySpill: singular")
	}
	closeTo(t, "MySpill^-1", inv, myInverted, 1e-8)
	pinv, ok := pseudoInverse(nonSquare)
	if !ok {
		t.Fatal("MyNonSquareSpectrum: singular")
	}
	closeTo(t, "pinv(MyNonSquareSpectrum)", pinv, nonSquareInv, 1e-7)
	if _, ok := invert([][]float64{{1, 2}, {2, 4}}); ok {
		t.Error("invert of a singular matrix: got ok")
	}
}

func closeTo(t *testing.T, name string, got, want [][]float64, tol float64) {
	t.Helper()
	for i := range want {
		for j := range want[i] {
			if math.Abs(got[i][j]-want[i][j]) > tol {
				t.Errorf("%s (%d, %d): got %.10g, want %.10g", name, i, j, got[i][j], want[i][j])
			}
		}
	}
}

// spilled returns a sample whose observed detector values are t S for true values t, with S
// a 3 x 3 spillover over A, B and C and an uncompensated FSC channel.
func spilled() (*memSample, [][]float64) {
	S := [][]float64{{1, 0.5, 0.1}, {0.25, 1, 0.2}, {0, 0.125, 1}}
	truth := [][]float64{{100, 40, 7}, {0, 0, 0}, {-3, 250, 1000}, {1e5, 2e4, 3e3}}
	var rows [][]float64
	for k, tv := range truth {
		row := []float64{float64(k) * 11}
		for j := range 3 {
			var o float64
			for i := range 3 {
				o += tv[i] * S[i][j]
			}
			row = append(row, o)
		}
		rows = append(rows, row)
	}
	s := events([]string{"FSC", "A", "B", "C"}, rows...)
	s.detectors = []string{"A", "B", "C"}
	s.spill = S
	return s, truth
}

func TestCompensationFCS(t *testing.T) {
	s, truth := spilled()
	doc := &Document{}
	dims := []Dimension{
		{Name: "A", Compensation: FCSSpillover},
		{Name: "B", Compensation: FCSSpillover},
		{Name: "Comp-C", Compensation: FCSSpillover}, // FlowJo's name for compensated C
		{Name: "FSC", Compensation: FCSSpillover},    // not a detector: passes through
		{Name: "A", Compensation: Uncompensated},
	}
	cols, err := doc.Values(s, dims...)
	if err != nil {
		t.Fatal(err)
	}
	for k := range truth {
		for j := range 3 {
			if got, want := cols[j][k], truth[k][j]; math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
				t.Errorf("event %d %s: got %.17g, want %.17g", k, dims[j].Name, got, want)
			}
		}
		if cols[3][k] != s.cols[0][k] || cols[4][k] != s.cols[1][k] {
			t.Errorf("event %d: FSC %v and uncompensated A %v changed (want %v and %v)", k, cols[3][k], cols[4][k], s.cols[0][k], s.cols[1][k])
		}
	}
	// FCS on a sample without spillover is no compensation (ISAC set 1: Rectangle2 = Rectangle1).
	s.spill = nil
	cols, err = doc.Values(s, Dimension{Name: "B", Compensation: FCSSpillover})
	if err != nil {
		t.Fatal(err)
	}
	for k := range cols[0] {
		if cols[0][k] != s.cols[2][k] {
			t.Errorf("event %d: got %v, want the uncompensated %v", k, cols[0][k], s.cols[2][k])
		}
	}
}

// TestCompensationCustom unmixes with a square matrix named by fluorochromes or by detectors,
// a non-square spectrum by least squares, and the same given inverted already.
func TestCompensationCustom(t *testing.T) {
	s, truth := spilled()
	spill := &SpectrumMatrix{ID: "S", Fluorochromes: []string{"fa", "fb", "fc"}, Detectors: []string{"A", "B", "C"}, Coefficients: s.spill}
	// Two fluorochromes seen by three detectors; observed = t K, exactly in K's row space.
	K := [][]float64{{0.78, 0.13, 0.22}, {0.05, 0.57, 0.89}}
	wide := &SpectrumMatrix{ID: "K", Fluorochromes: []string{"p1", "p2"}, Detectors: []string{"D1", "D2", "D3"}, Coefficients: K}
	pinv, _ := pseudoInverse(K)
	wideInv := &SpectrumMatrix{ID: "Kinv", Fluorochromes: []string{"q1", "q2"}, Detectors: []string{"D1", "D2", "D3"}, Coefficients: pinv, InvertedAlready: true}
	tk := [][]float64{{10, 20}, {-5, 300}, {0, 0}, {4000, 1}}
	for j := range 3 {
		col := make([]float64, len(tk))
		for k, row := range tk {
			col[k] = row[0]*K[0][j] + row[1]*K[1][j]
		}
		s.cols = append(s.cols, col)
	}
	s.names = append(s.names, "D1", "D2", "D3")
	doc := &Document{Matrices: []*SpectrumMatrix{spill, wide, wideInv}}
	dims := []Dimension{
		{Name: "fa", Compensation: "S"}, {Name: "B", Compensation: "S"}, {Name: "fc", Compensation: "S"},
		{Name: "p1", Compensation: "K"}, {Name: "p2", Compensation: "K"},
		{Name: "q1", Compensation: "Kinv"}, {Name: "q2", Compensation: "Kinv"},
		{Name: "FSC", Compensation: "S"},
	}
	cols, err := doc.Values(s, dims...)
	if err != nil {
		t.Fatal(err)
	}
	for k := range truth {
		want := []float64{truth[k][0], truth[k][1], truth[k][2], tk[k][0], tk[k][1], tk[k][0], tk[k][1], s.cols[0][k]}
		for j, w := range want {
			if math.Abs(cols[j][k]-w) > 1e-9*math.Max(1, math.Abs(w)) {
				t.Errorf("event %d %s[%s]: got %.17g, want %.17g", k, dims[j].Name, dims[j].Compensation, cols[j][k], w)
			}
		}
	}
	// A detector of a non-square matrix has no fluorochrome to stand for.
	_, err = doc.Values(s, Dimension{Name: "D1", Compensation: "K"})
	if err == nil || !strings.Contains(err.Error(), `"D1" is a detector of the non-square spectrumMatrix "K"`) {
		t.Errorf("got %v, want an error about the non-square detector", err)
	}
}

// countingSample counts Scale calls per channel.
type countingSample struct {
	*memSample
	mu    sync.Mutex
	calls map[int]int
}

func (c *countingSample) Scale(ch int, dst []float64) []float64 {
	c.mu.Lock()
	c.calls[ch]++
	c.mu.Unlock()
	return c.memSample.Scale(ch, dst)
}

// TestColumnsOnce checks that each column is computed once per sample and only the
// compensated columns the gates need are computed: three gates on compensated A (one through
// a transformation), one on uncompensated B, none on C.
func TestColumnsOnce(t *testing.T) {
	s, _ := spilled()
	cs := &countingSample{memSample: s, calls: map[int]int{}}
	lin := &Transformation{ID: "lin", Kind: KindFlin, T: 1000, A: 0}
	a := Dimension{Name: "A", Compensation: FCSSpillover}
	doc := &Document{
		Transformations: []*Transformation{lin},
		Gates: []Gate{
			&RectangleGate{GateInfo: GateInfo{ID: "g1"}, Dimensions: []RectangleDimension{{Dimension: a, Min: ptr(0)}}},
			&RectangleGate{GateInfo: GateInfo{ID: "g2"}, Dimensions: []RectangleDimension{{Dimension: a, Max: ptr(50)}, {Dimension: dim("B")}}},
			&RectangleGate{GateInfo: GateInfo{ID: "g3"}, Dimensions: []RectangleDimension{{Dimension: Dimension{Name: "A", Compensation: FCSSpillover, Transformation: "lin"}, Min: ptr(0.05)}}},
		},
	}
	p, err := compile(doc)
	if err != nil {
		t.Fatal(err)
	}
	e, err := newEngine(p, cs)
	if err != nil {
		t.Fatal(err)
	}
	for _, cg := range p.gates {
		for _, d := range cg.dims {
			c, err := e.resolve(d)
			if err != nil {
				t.Fatal(err)
			}
			c.uses++
		}
	}
	if err := e.compute(); err != nil {
		t.Fatal(err)
	}
	kinds := map[nodeKind]int{}
	for _, c := range e.list {
		kinds[c.kind]++
	}
	if kinds[compNode] != 1 || kinds[xformNode] != 1 || kinds[scaleNode] != 1 {
		t.Errorf("nodes: %d compensated, %d transformed, %d scale; want 1, 1 and 1 (A, flin(A), B)", kinds[compNode], kinds[xformNode], kinds[scaleNode])
	}
	// A, B and C each read once: B for the gate (and reused by the compensation), A and C
	// for the compensation; FSC never.
	for ch, want := range map[int]int{0: 0, 1: 1, 2: 1, 3: 1} {
		if got := cs.calls[ch]; got != want {
			t.Errorf("Scale(%d) called %d times, want %d", ch, got, want)
		}
	}
	if _, err := doc.Apply(cs); err != nil {
		t.Fatal(err)
	}
}

// TestPerDimensionCompensation mirrors ISAC HyperCube1: one dimension compensated, another
// not, in the same gate; the uncompensated one must see the raw value.
func TestPerDimensionCompensation(t *testing.T) {
	s, _ := spilled()
	// Event 0: compensated A is 100 and uncompensated B is 100*0.5 + 40*1 + 7*0.125 = 90.875
	// (compensated B would be 40).
	g := &RectangleGate{GateInfo: GateInfo{ID: "mix"}, Dimensions: []RectangleDimension{
		{Dimension: Dimension{Name: "A", Compensation: FCSSpillover}, Min: ptr(99.5), Max: ptr(100.5)},
		{Dimension: Dimension{Name: "B", Compensation: Uncompensated}, Min: ptr(90.5), Max: ptr(91)},
	}}
	got := members(t, &Document{Gates: []Gate{g}}, s)["mix"]
	if got[0] != 1 {
		t.Errorf("event 0: got %d, want 1", got[0])
	}
}

// TestApplyErrors checks that what the document cannot find in the sample is named.
func TestApplyErrors(t *testing.T) {
	s, _ := spilled()
	tests := []struct {
		name string
		doc  *Document
		want string
	}{
		{"unknown channel", &Document{Gates: []Gate{&RectangleGate{GateInfo: GateInfo{ID: "R"}, Dimensions: []RectangleDimension{{Dimension: dim("nope")}}}}},
			`RectangleGate "R" dimension 1: the sample has no parameter named "nope"`},
		{"matrix detector missing", &Document{
			Matrices: []*SpectrumMatrix{{ID: "M", Fluorochromes: []string{"f", "g"}, Detectors: []string{"A", "Z"}, Coefficients: [][]float64{{1, 0}, {0, 1}}}},
			Gates:    []Gate{&RectangleGate{GateInfo: GateInfo{ID: "R"}, Dimensions: []RectangleDimension{{Dimension: Dimension{Name: "f", Compensation: "M"}}}}}},
			`spectrumMatrix "M" names detector "Z", which is not a parameter of the sample`},
		{"ratio operand missing", &Document{
			Transformations: []*Transformation{{ID: "r", Kind: KindFratio, A: 1, Ratio: [2]string{"A", "Q"}}},
			Gates:           []Gate{&QuadrantGate{GateInfo: GateInfo{ID: "Q4"}, Dividers: []Divider{{ID: "d", Dimension: Dimension{Ratio: "r", Compensation: Uncompensated}, Values: []float64{1}}}, Quadrants: []Quadrant{{ID: "q", Positions: []Position{{"d", 0}}}}}}},
			`QuadrantGate "Q4" divider "d": fratio "r" denominator: the sample has no parameter named "Q"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.doc.Apply(s)
			var ge *Error
			if !errors.As(err, &ge) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an *Error containing %q", err, tc.want)
			}
		})
	}
	s.spill = [][]float64{{1, 1, 0}, {1, 1, 0}, {0, 0, 1}}
	_, err := (&Document{Gates: []Gate{&RectangleGate{GateInfo: GateInfo{ID: "R"}, Dimensions: []RectangleDimension{{Dimension: Dimension{Name: "A", Compensation: FCSSpillover}}}}}}).Apply(s)
	if err == nil || !strings.Contains(err.Error(), "spillover matrix is singular") {
		t.Errorf("singular spillover: got %v", err)
	}
}

// TestCompensationModes checks that the two ways of computing a compensation (few outputs: by
// groups of inputs; many outputs: in place of the inputs) give the same values bit for bit,
// and that both equal a direct evaluation of sum_i o_i (S^-1)_ij in detector order.
func TestCompensationModes(t *testing.T) {
	const n, d = 3000, 9
	names := make([]string, d)
	rows := make([][]float64, n)
	S := make([][]float64, d)
	for i := range d {
		names[i] = string(rune('A' + i))
		S[i] = make([]float64, d)
		for j := range d {
			switch {
			case i == j:
				S[i][j] = 1
			case (i*7+j*3)%4 != 0:
				S[i][j] = float64((i*13+j*5)%17) / 100
			}
		}
	}
	for k := range rows {
		rows[k] = make([]float64, d)
		for j := range d {
			rows[k][j] = float64((k*31+j*977)%5000) - 300.25
		}
	}
	s := events(names, rows...)
	s.detectors, s.spill = names, S
	inv, _ := invert(S)
	doc := &Document{}
	var all []Dimension
	for _, nm := range names {
		all = append(all, Dimension{Name: nm, Compensation: FCSSpillover})
	}
	many, err := doc.Values(s, all...) // 9 outputs of 9 detectors: in place
	if err != nil {
		t.Fatal(err)
	}
	for j := range d {
		one, err := doc.Values(s, all[j]) // 1 output of 9: by groups
		if err != nil {
			t.Fatal(err)
		}
		for k := range n {
			var want float64
			for i := range d {
				if inv[i][j] != 0 {
					want += float64(rows[k][i] * inv[i][j])
				}
			}
			if one[0][k] != want || many[j][k] != want {
				t.Fatalf("event %d output %s: grouped %v, in place %v, direct %v", k, names[j], one[0][k], many[j][k], want)
			}
		}
	}
}
