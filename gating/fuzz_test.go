package gating

import (
	"bytes"
	"math"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParse proves that no input panics Parse, Write or Apply, and that whatever Parse
// accepts, Write writes and Parse reads back to an equal document. Accepted documents are
// applied to a small sample that has every parameter they name, with awkward values (zero,
// negatives, NaN, infinities, huge and tiny numbers). Seeds: the shared Gating-ML files and a
// few hand-made documents.
func FuzzParse(f *testing.F) {
	if _, err := os.Stat(flowDataDir); err == nil {
		for _, path := range gmlFiles(f) {
			b, err := os.ReadFile(path)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte(gml(rect("A", "") + rect("B", `gating:parent_id="A"`) + boolean("N", "not", "B"))))
	f.Add([]byte(gml(quadrant("Q") + ratioT("r") + ellipse("2", "1", "1", "2", "1"))))
	f.Add([]byte(gml(matrix("M", `transforms:matrix-inverted-already="true"`, "1 0.1", "0.2 1") + `<data-type:custom_info><a xmlns="urn:x" b="1">t<c/></a></data-type:custom_info>`)))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Parse(bytes.NewReader(data))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := doc.Write(&buf); err != nil {
			t.Fatalf("Write refused a parsed document: %v", err)
		}
		back, err := Parse(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatalf("Parse refused what Write wrote: %v\n%s", err, buf.Bytes())
		}
		if diff := cmp.Diff(doc, back, ignoreLines); diff != "" {
			t.Fatalf("round trip changed the document (-parsed +reparsed):\n%s", diff)
		}
		if res, err := doc.Apply(fuzzSample(doc)); err == nil {
			for _, g := range res.Gates {
				if g.Count > res.Events || g.Count != g.Members.Count() {
					t.Fatalf("%s: count %d of %d events", g.ID, g.Count, res.Events)
				}
			}
		}
	})
}

// flowDataDir is where flowData looks; FuzzParse only adds the file seeds when it exists.
const flowDataDir = "../../shared/data/flow"

// fuzzSample returns a sample with every name the document uses, 80 events of awkward
// values and an identity-like spillover over the first names.
func fuzzSample(doc *Document) *memSample {
	seen := map[string]bool{}
	var names []string
	add := func(n string) {
		if n != "" && !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	for _, tr := range doc.Transformations {
		add(tr.Ratio[0])
		add(tr.Ratio[1])
	}
	for _, m := range doc.Matrices {
		for _, d := range m.Detectors {
			add(d)
		}
	}
	for _, g := range doc.Gates {
		switch g := g.(type) {
		case *RectangleGate:
			for _, d := range g.Dimensions {
				add(d.Name)
			}
		case *PolygonGate:
			add(g.Dimensions[0].Name)
			add(g.Dimensions[1].Name)
		case *EllipsoidGate:
			for _, d := range g.Dimensions {
				add(d.Name)
			}
		case *QuadrantGate:
			for _, d := range g.Dividers {
				add(d.Name)
			}
		}
	}
	special := []float64{0, -1, 1, math.NaN(), math.Inf(1), math.Inf(-1), 1e300, -1e300, 5e-324, 262144, 0.5, -0.5}
	s := &memSample{names: names, cols: make([][]float64, len(names))}
	for j := range names {
		for i := range 80 {
			v := float64((i*7919+j*104729)%2000) - 500
			if (i+j)%5 == 0 {
				v = special[(i+j)%len(special)]
			}
			s.cols[j] = append(s.cols[j], v)
		}
	}
	if n := min(len(names), 3); n > 0 {
		s.detectors = names[:n]
		for i := range n {
			row := make([]float64, n)
			row[i] = 1
			if i+1 < n {
				row[i+1] = 0.1
			}
			s.spill = append(s.spill, row)
		}
	}
	return s
}
