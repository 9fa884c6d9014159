package gating

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var ignoreLines = cmpopts.IgnoreUnexported(Document{})

// TestParseFiles parses every shared Gating-ML file and checks what it holds against counts
// taken by reading the files: for the ISAC sets, results are the appendix cases of the data
// README (set 1: 60 plus Polygon3, which has no truth file; set 5 without the two Not_ ids).
func TestParseFiles(t *testing.T) {
	want := map[string]struct{ transforms, matrices, gates, results int }{
		"gates1.xml":                    {17, 1, 54, 61},
		"gates2.xml":                    {13, 0, 40, 40},
		"gates3.xml":                    {5, 5, 35, 56},
		"gates4.xml":                    {6, 2, 9, 21},
		"gates5.xml":                    {1, 0, 11, 11},
		"8_color_ICS.xml":               {3, 1, 6, 6},
		"GatingML2.0_Export_166889.xml": {1, 0, 2, 2},
	}
	for _, f := range gmlFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			doc := parseFile(t, f)
			w := want[filepath.Base(f)]
			got := struct{ transforms, matrices, gates, results int }{len(doc.Transformations), len(doc.Matrices), len(doc.Gates), len(doc.ResultIDs())}
			if got != w {
				t.Errorf("got %+v, want %+v", got, w)
			}
		})
	}
}

func parseFile(tb testing.TB, path string) *Document {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	doc, err := Parse(f)
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return doc
}

// TestRoundTrip writes every shared file and parses the output back to an equal document.
func TestRoundTrip(t *testing.T) {
	for _, f := range gmlFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			doc := parseFile(t, f)
			var buf bytes.Buffer
			if err := doc.Write(&buf); err != nil {
				t.Fatal(err)
			}
			back, err := Parse(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatalf("parsing the written document: %v\n%s", err, buf.String())
			}
			if diff := cmp.Diff(doc, back, ignoreLines); diff != "" {
				t.Errorf("round trip changed the document (-read +reread):\n%s", diff)
			}
			var again bytes.Buffer
			if err := back.Write(&again); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), again.Bytes()) {
				t.Errorf("writing the re-read document gives different XML")
			}
		})
	}
}

// TestTolerated parses a document with elements and attributes Gating-ML does not define, in
// and out of its namespaces, and custom_info in several places, declaring other namespaces.
func TestTolerated(t *testing.T) {
	doc, err := Parse(strings.NewReader(gml(`
<vendor:settings xmlns:vendor="urn:vendor"><vendor:x/></vendor:settings>
<gating:FutureGate gating:id="F"/>
<data-type:custom_info>top <b xmlns="urn:b" xml:lang="en">bold &amp; <i>it</i></b><!-- a comment --></data-type:custom_info>
<gating:RectangleGate gating:id="R" vendor:colour="red" xmlns:vendor="urn:vendor">
  <data-type:custom_info><p:note xmlns:p="urn:p" p:k="v">n</p:note></data-type:custom_info>
  <vendor:ignored/>
  <gating:dimension gating:compensation-ref="uncompensated" gating:min="-INF" gating:max="1e300">
    <data-type:fcs-dimension data-type:name="FSC-H"/>
  </gating:dimension>
</gating:RectangleGate>`)))
	if err != nil {
		t.Fatal(err)
	}
	want := &Document{
		CustomInfo: `top <b xmlns="urn:b" xml:lang="en">bold &amp; <i>it</i></b>`,
		Gates: []Gate{&RectangleGate{
			GateInfo:   GateInfo{ID: "R", CustomInfo: `<note xmlns="urn:p" xmlns:ns1="urn:p" ns1:k="v">n</note>`},
			Dimensions: []RectangleDimension{{Dimension: Dimension{Name: "FSC-H", Compensation: Uncompensated}, Min: ptr(math.Inf(-1)), Max: ptr(1e300)}},
		}},
	}
	if diff := cmp.Diff(want, doc, ignoreLines); diff != "" {
		t.Errorf("parsed document (-want +got):\n%s", diff)
	}
	var buf bytes.Buffer
	if err := doc.Write(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(doc, back, ignoreLines); diff != "" {
		t.Errorf("round trip (-first +second):\n%s", diff)
	}
}

// TestRoundTripBuilt writes a document built in code with every kind of gate and
// transformation and reads it back.
func TestRoundTripBuilt(t *testing.T) {
	doc := &Document{
		CustomInfo: "made by a test",
		Transformations: []*Transformation{
			{ID: "lin", Kind: KindFlin, T: 1000, A: -0.5, BoundMin: ptr(0), CustomInfo: "<why>because</why>"},
			{ID: "log", Kind: KindFlog, T: 262144, M: 4.5},
			{ID: "asinh", Kind: KindFasinh, T: 1.1752011936438014, M: 0.43429448190325176, A: 0.1},
			{ID: "logicle", Kind: KindLogicle, T: 262144, W: 0.5, M: 4.5, A: 0, BoundMax: ptr(0.95)},
			{ID: "hyperlog", Kind: KindHyperlog, T: 262144, W: 1, M: 4.5, A: 0.25},
			{ID: "ratio", Kind: KindFratio, A: 2.7, B: -100, C: 1e-7, Ratio: [2]string{"FL2-H", "FL2-A"}},
		},
		Matrices: []*SpectrumMatrix{
			{ID: "S", Fluorochromes: []string{"a", "b"}, Detectors: []string{"FL1-H", "FL2-H"}, Coefficients: [][]float64{{1, 0.1}, {0.2, 1}}},
			{ID: "U", Fluorochromes: []string{"p"}, Detectors: []string{"FL1-H", "FL2-H"}, Coefficients: [][]float64{{1}, {0.5}}, InvertedAlready: true, CustomInfo: "x &lt; y"},
		},
		Gates: []Gate{
			&RectangleGate{GateInfo: GateInfo{ID: "R"}, Dimensions: []RectangleDimension{
				{Dimension: Dimension{Name: "a", Compensation: "S", Transformation: "logicle"}, Min: ptr(0.1)},
				{Dimension: Dimension{Ratio: "ratio", Compensation: FCSSpillover, Transformation: "log"}, Max: ptr(math.Inf(1))},
			}},
			&PolygonGate{GateInfo: GateInfo{ID: "P", Parent: "R"}, Dimensions: [2]Dimension{{Name: "p", Compensation: "U"}, {Name: "FSC-H", Compensation: Uncompensated, Transformation: "lin"}},
				Vertices: [][2]float64{{0, 0}, {0.1, 1e-300}, {-5e-324, 3}}},
			&EllipsoidGate{GateInfo: GateInfo{ID: "E", CustomInfo: "\n  spaced\n"}, Dimensions: []Dimension{dim("x"), dim("y"), dim("z")},
				Mean: []float64{1, 2, 3}, Covariance: [][]float64{{2, 0, 0}, {0, 2, 0}, {0, 0, 2}}, DistanceSquare: 0},
			&QuadrantGate{GateInfo: GateInfo{ID: "Q", Parent: "E"}, Dividers: []Divider{
				{ID: "d1", Dimension: Dimension{Name: "x", Compensation: Uncompensated, Transformation: "asinh"}, Values: []float64{3, 1, 2}},
				{ID: "d2", Dimension: Dimension{Ratio: "ratio", Compensation: Uncompensated}, Values: []float64{math.Inf(-1)}},
			}, Quadrants: []Quadrant{{ID: "q1", Positions: []Position{{"d2", 0}, {"d1", 1.5}}}, {ID: "q2", Positions: []Position{{"d1", math.Inf(1)}}}}},
			&BooleanGate{GateInfo: GateInfo{ID: "B", Parent: "q1"}, Op: Or, Operands: []Operand{{"R", true}, {"q2", false}, {"P", false}}},
			&BooleanGate{GateInfo: GateInfo{ID: "N"}, Op: Not, Operands: []Operand{{"B", true}}},
		},
	}
	var buf bytes.Buffer
	if err := doc.Write(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := Parse(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if diff := cmp.Diff(doc, back, ignoreLines); diff != "" {
		t.Errorf("round trip (-built +read):\n%s", diff)
	}
}
