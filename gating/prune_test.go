package gating_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/clink-consortium/clink/fcs"
	"github.com/clink-consortium/clink/gating"
)

// pruneDoc is a document whose dependencies are known by construction:
//
//	A (FSC)            root
//	B (SSC)            parent A
//	Q quadrants Q1 Q2  parent B, divider on FL1
//	C (FL2)            parent Q1
//	E (FL3)            root
//	D = and(C, not E)  root
//	U (NoSuchChannel)  parent A, needed by nothing below
//	P (FL4)            parent Q2
func pruneDoc() *gating.Document {
	one := 1.0
	rect := func(id, parent, channel string) *gating.RectangleGate {
		return &gating.RectangleGate{GateInfo: gating.GateInfo{ID: id, Parent: parent},
			Dimensions: []gating.RectangleDimension{{Dimension: dim(channel), Min: &one}}}
	}
	q := &gating.QuadrantGate{GateInfo: gating.GateInfo{ID: "Q", Parent: "B"},
		Dividers:  []gating.Divider{{ID: "d1", Dimension: dim("FL1"), Values: []float64{5}}},
		Quadrants: []gating.Quadrant{{ID: "Q1", Positions: []gating.Position{{Divider: "d1", Location: 1}}}, {ID: "Q2", Positions: []gating.Position{{Divider: "d1", Location: 9}}}}}
	d := &gating.BooleanGate{GateInfo: gating.GateInfo{ID: "D"}, Op: gating.And,
		Operands: []gating.Operand{{Ref: "C"}, {Ref: "E", Complement: true}}}
	return &gating.Document{
		Transformations: []*gating.Transformation{{ID: "lin", Kind: gating.KindFlin, T: 1000}},
		CustomInfo:      "<note>kept</note>",
		Gates:           []gating.Gate{rect("A", "", "FSC"), rect("B", "A", "SSC"), q, rect("C", "Q1", "FL2"), rect("E", "", "FL3"), d, rect("U", "A", "NoSuchChannel"), rect("P", "Q2", "FL4")},
	}
}

func dim(name string) gating.Dimension {
	return gating.Dimension{Name: name, Compensation: gating.Uncompensated}
}

func gateIDs(d *gating.Document) []string {
	ids := []string{}
	for _, g := range d.Gates {
		ids = append(ids, g.GateID())
	}
	return ids
}

func TestPrune(t *testing.T) {
	tests := []struct {
		name string
		ids  []string
		want []string // gate ids of the pruned document, in document order
	}{
		{"root", []string{"A"}, []string{"A"}},
		{"parent chain", []string{"B"}, []string{"A", "B"}},
		{"quadrant", []string{"Q2"}, []string{"A", "B", "Q"}},
		{"parent is a quadrant", []string{"C"}, []string{"A", "B", "Q", "C"}},
		{"boolean operands", []string{"D"}, []string{"A", "B", "Q", "C", "E", "D"}},
		{"document order, not argument order", []string{"P", "E"}, []string{"A", "B", "Q", "E", "P"}},
		{"repeated ids", []string{"E", "E", "A"}, []string{"A", "E"}},
		{"unknown id", []string{"nowhere"}, []string{}},
		{"quadrant gate's own id yields no result", []string{"Q"}, []string{}},
		{"no ids", nil, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := pruneDoc()
			before := gateIDs(doc)
			got := doc.Prune(tc.ids...)
			if d := cmp.Diff(tc.want, gateIDs(got)); d != "" {
				t.Errorf("Prune(%q) gates (-want +got):\n%s", tc.ids, d)
			}
			if after := gateIDs(doc); !cmp.Equal(before, after) {
				t.Errorf("Prune changed the document's gates from %v to %v", before, after)
			}
			if len(got.Transformations) != 1 || got.Transformations[0] != doc.Transformations[0] || got.CustomInfo != doc.CustomInfo {
				t.Errorf("Prune dropped the transformations or custom_info: %+v", got)
			}
			// A pruned document refers to nothing it lacks.
			if err := got.Validate(); err != nil {
				t.Errorf("the pruned document does not validate: %v", err)
			}
		})
	}
}

// TestPruneCycle checks that Prune ends on a document that was never validated and whose
// parents form a cycle.
func TestPruneCycle(t *testing.T) {
	doc := &gating.Document{Gates: []gating.Gate{
		&gating.RectangleGate{GateInfo: gating.GateInfo{ID: "X", Parent: "Y"}},
		&gating.RectangleGate{GateInfo: gating.GateInfo{ID: "Y", Parent: "X"}},
		&gating.BooleanGate{GateInfo: gating.GateInfo{ID: "Z"}, Op: gating.Or, Operands: []gating.Operand{{Ref: "Z"}, {Ref: "X"}}},
	}}
	if got, want := gateIDs(doc.Prune("Z")), []string{"X", "Y", "Z"}; !cmp.Equal(got, want) {
		t.Errorf("Prune(Z) = %v, want %v", got, want)
	}
}

// TestPruneApply applies the pruned document to a sample that lacks the channel of the unused
// gate U: the full document cannot be applied, the pruned one can, and it gives the ids the
// memberships computed by hand.
func TestPruneApply(t *testing.T) {
	names := []string{"FSC", "SSC", "FL1", "FL2", "FL3", "FL4"}
	s := &sample{names: names}
	// Events (FSC, SSC, FL1, FL2, FL3, FL4); a test is x >= 1, Q1 is FL1 < 5, Q2 is FL1 >= 5.
	for _, ev := range [][]float64{
		{2, 2, 1, 2, 0, 0}, // A B Q1 C, not E: D
		{2, 2, 1, 2, 2, 0}, // A B Q1 C E: not D
		{2, 2, 9, 2, 0, 2}, // A B Q2 P; not Q1 so not C, not D
		{0, 2, 1, 2, 0, 2}, // not A, so in nothing but not-E
		{2, 0, 1, 2, 0, 0}, // A only
	} {
		for j := range names {
			if len(s.cols) < len(names) {
				s.cols = append(s.cols, nil)
			}
			s.cols[j] = append(s.cols[j], ev[j])
		}
	}
	doc := pruneDoc()
	if _, err := doc.Apply(s); err == nil || !strings.Contains(err.Error(), "NoSuchChannel") {
		t.Fatalf("Apply of the whole document: got %v, want an error naming NoSuchChannel", err)
	}
	res, err := doc.Prune("D", "P").Apply(s)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": "11101", "B": "11100", "Q1": "11000", "Q2": "00100", "C": "11000", "E": "01000", "D": "10000", "P": "00100"}
	for id, w := range want {
		r := res.Gate(id)
		if r == nil {
			t.Errorf("no result for %s", id)
			continue
		}
		var got strings.Builder
		for _, v := range r.Members.Values(nil) {
			fmt.Fprint(&got, v)
		}
		if got.String() != w {
			t.Errorf("%s: got %s, want %s", id, got.String(), w)
		}
	}
	if r := res.Gate("U"); r != nil {
		t.Errorf("the unused gate U was evaluated")
	}
}

// sample is a gating.Sample held in memory, one column per parameter, without spillover.
type sample struct {
	names []string
	cols  [][]float64
}

func (s *sample) Names() []string { return s.names }
func (s *sample) Len() int        { return len(s.cols[0]) }
func (s *sample) Scale(ch int, dst []float64) []float64 {
	return append(dst[:0], s.cols[ch]...)
}
func (s *sample) SpilloverMatrix() ([]string, [][]float64, bool) { return nil, nil, false }

// TestPruneISAC prunes each ISAC compliance document to one result id at a time and checks
// the result against the suite's truth file, event for event: what a gate depends on is all
// Prune keeps, and it is enough. Sets 3 to 5 share one file, read once.
func TestPruneISAC(t *testing.T) {
	if testing.Short() {
		t.Skip("applies 188 pruned documents; skipped with -short")
	}
	dir := filepath.Join(flowData(t), "gatingml2")
	data := map[string]*fcs.DataSet{}
	cases := 0
	for set := 1; set <= 5; set++ {
		in := isacInputs[set]
		f, err := os.Open(filepath.Join(dir, "Gating-MLFiles", in[0]))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := gating.Parse(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		ds := data[in[1]]
		if ds == nil {
			if ds, err = fcs.ReadFile(filepath.Join(dir, "FCSFiles", in[1]), fcs.Options{}); err != nil {
				t.Fatal(err)
			}
			data[in[1]] = ds
		}
		for _, c := range isacCases {
			if c.set != set || c.want != match {
				continue
			}
			cases++
			id := c.result
			if c.gate != "" {
				id = c.gate
			}
			pruned := doc.Prune(id)
			if len(pruned.Gates) == 0 || len(pruned.Gates) > len(doc.Gates) {
				t.Errorf("set %d %s: pruned to %d of %d gates", set, id, len(pruned.Gates), len(doc.Gates))
				continue
			}
			res, err := pruned.Apply(ds)
			if err != nil {
				t.Errorf("set %d %s: %v", set, id, err)
				continue
			}
			truth := readTruth(t, filepath.Join(dir, "ExpectedResults", fmt.Sprintf("set_%d", set), "Results_"+c.result+".txt"))
			got := res.Gate(id).Members.Values(nil)
			if !bytes.Equal(got, truth) {
				t.Errorf("set %d %s (pruned to %v): membership differs from the truth file", set, id, gateIDs(pruned))
			}
		}
	}
	if cases != 188 {
		t.Errorf("checked %d cases, want the suite's 188", cases)
	}
}
