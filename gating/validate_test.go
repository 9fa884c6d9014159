package gating

import (
	"errors"
	"strings"
	"testing"
)

// gml wraps top-level elements in a Gating-ML 2.0 root with the usual prefixes.
func gml(body string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<gating:Gating-ML xmlns:gating="http://www.isac-net.org/std/Gating-ML/v2.0/gating"
    xmlns:transforms="http://www.isac-net.org/std/Gating-ML/v2.0/transformations"
    xmlns:data-type="http://www.isac-net.org/std/Gating-ML/v2.0/datatypes">
` + body + "\n</gating:Gating-ML>\n"
}

// rect is a one-dimensional RectangleGate on FSC-H.
func rect(id, attrs string) string {
	return `<gating:RectangleGate gating:id="` + id + `" ` + attrs + `>
  <gating:dimension gating:compensation-ref="uncompensated" gating:min="1">
    <data-type:fcs-dimension data-type:name="FSC-H"/>
  </gating:dimension>
</gating:RectangleGate>`
}

func boolean(id, op string, refs ...string) string {
	s := `<gating:BooleanGate gating:id="` + id + `"><gating:` + op + `>`
	for _, r := range refs {
		s += `<gating:gateReference gating:ref="` + r + `"/>`
	}
	return s + `</gating:` + op + `></gating:BooleanGate>`
}

const triangle = `<gating:vertex><gating:coordinate data-type:value="0"/><gating:coordinate data-type:value="0"/></gating:vertex>
<gating:vertex><gating:coordinate data-type:value="1"/><gating:coordinate data-type:value="0"/></gating:vertex>
<gating:vertex><gating:coordinate data-type:value="0"/><gating:coordinate data-type:value="1"/></gating:vertex>`

func dims(n int, extra string) string {
	s := ""
	for range n {
		s += `<gating:dimension gating:compensation-ref="uncompensated" ` + extra + `><data-type:fcs-dimension data-type:name="FSC-H"/></gating:dimension>`
	}
	return s
}

// TestParseErrors checks that invalid documents are refused with an *Error that names the
// line, the element and the reason.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		xml  string
		want string
	}{
		{"not XML", "<gating:Gating-ML", "XML:"},
		{"wrong root", `<Gating-ML/>`, "root element is {}Gating-ML"},
		{"Gating-ML 1.5", `<gating:Gating-ML xmlns:gating="http://www.isac-net.org/std/Gating-ML/v1.5/gating"/>`, "v1.5/gating}Gating-ML, want Gating-ML in namespace"},
		{"unknown parent", gml(rect("A", `gating:parent_id="B"`)), `line 5: RectangleGate "A": parent_id "B": no gate or Quadrant has that id`},
		{"parent cycle", gml(rect("A", `gating:parent_id="B"`) + rect("B", `gating:parent_id="A"`)), `cycle through parent_id and gateReference: A -> B -> A`},
		{"self parent", gml(rect("A", `gating:parent_id="A"`)), `cycle through parent_id and gateReference: A -> A`},
		{"Boolean cycle", gml(rect("R", "") + boolean("X", "and", "R", "Y") + boolean("Y", "or", "X", "R")), `BooleanGate "X": cycle through parent_id and gateReference: X -> Y -> X`},
		{"not with two operands", gml(rect("R", "") + rect("S", "") + boolean("N", "not", "R", "S")), `BooleanGate "N": not has 2 operands, want exactly 1`},
		{"and with one operand", gml(rect("R", "") + boolean("N", "and", "R")), `BooleanGate "N": and has 1 operand(s), want 2 or more`},
		{"two operators", gml(rect("R", "") + `<gating:BooleanGate gating:id="N"><gating:not><gating:gateReference gating:ref="R"/></gating:not><gating:or/></gating:BooleanGate>`), `BooleanGate "N": has two operators, not and or`},
		{"unknown operand", gml(rect("R", "") + boolean("N", "or", "R", "Z")), `BooleanGate "N": gateReference "Z": no gate or Quadrant has that id`},
		{"bad complement", gml(rect("R", "") + `<gating:BooleanGate gating:id="N"><gating:not><gating:gateReference gating:ref="R" gating:use-as-complement="maybe"/></gating:not></gating:BooleanGate>`), `operand 1: attribute use-as-complement is "maybe", want true or false`},
		{"QuadrantGate as operand", gml(rect("R", "") + quadrant("Q") + boolean("N", "or", "R", "Q")), `gateReference "Q" is a QuadrantGate: refer to one of its Quadrant ids`},
		{"duplicate id", gml(rect("R", "") + rect("R", "")), `RectangleGate "R": id "R" is also the id of RectangleGate "R"`},
		{"gate and Quadrant share an id", gml(quadrant("Q") + rect("Q1", "")), `id "Q1" is also the id of QuadrantGate "Q" Quadrant "Q1"`},
		{"missing id", gml(`<gating:RectangleGate>` + dims(1, "") + `</gating:RectangleGate>`), `RectangleGate 1: id is missing`},
		{"unknown compensation", gml(`<gating:RectangleGate gating:id="R"><gating:dimension gating:compensation-ref="Nope"><data-type:fcs-dimension data-type:name="A"/></gating:dimension></gating:RectangleGate>`), `RectangleGate "R" dimension 1: compensation-ref "Nope": no spectrumMatrix has that id`},
		{"missing compensation", gml(`<gating:RectangleGate gating:id="R"><gating:dimension><data-type:fcs-dimension data-type:name="A"/></gating:dimension></gating:RectangleGate>`), `RectangleGate "R" dimension 1: compensation-ref is missing`},
		{"unknown transformation", gml(`<gating:RectangleGate gating:id="R">` + dims(1, `gating:transformation-ref="T"`) + `</gating:RectangleGate>`), `transformation-ref "T": no transformation has that id`},
		{"fratio as transformation-ref", gml(ratioT("r") + `<gating:RectangleGate gating:id="R">` + dims(1, `gating:transformation-ref="r"`) + `</gating:RectangleGate>`), `transformation-ref "r" is an fratio, which is used through a new-dimension`},
		{"new-dimension on flin", gml(`<transforms:transformation transforms:id="l"><transforms:flin transforms:T="1" transforms:A="0"/></transforms:transformation>` +
			`<gating:RectangleGate gating:id="R"><gating:dimension gating:compensation-ref="FCS"><data-type:new-dimension data-type:transformation-ref="l"/></gating:dimension></gating:RectangleGate>`), `new-dimension transformation-ref "l" is a flin transformation, want fratio`},
		{"two fcs-dimensions", gml(`<gating:RectangleGate gating:id="R"><gating:dimension gating:compensation-ref="FCS"><data-type:fcs-dimension data-type:name="A"/><data-type:fcs-dimension data-type:name="B"/></gating:dimension></gating:RectangleGate>`), `has 2 fcs-dimension and new-dimension elements, want exactly 1`},
		{"min above max", gml(`<gating:RectangleGate gating:id="R">` + dims(1, `gating:min="5" gating:max="3"`) + `</gating:RectangleGate>`), `RectangleGate "R" dimension 1: min 5 is greater than max 3`},
		{"bad number", gml(`<gating:RectangleGate gating:id="R">` + dims(1, `gating:min="five"`) + `</gating:RectangleGate>`), `RectangleGate "R" dimension 1: attribute min: "five" is not a number`},
		{"polygon with 2 vertices", gml(`<gating:PolygonGate gating:id="P">` + dims(2, "") + `<gating:vertex><gating:coordinate data-type:value="0"/><gating:coordinate data-type:value="0"/></gating:vertex><gating:vertex><gating:coordinate data-type:value="1"/><gating:coordinate data-type:value="0"/></gating:vertex></gating:PolygonGate>`), `PolygonGate "P": has 2 vertices, want at least 3`},
		{"polygon in 3 dimensions", gml(`<gating:PolygonGate gating:id="P">` + dims(3, "") + triangle + `</gating:PolygonGate>`), `PolygonGate "P": has 3 dimensions, want 2`},
		{"vertex with 3 coordinates", gml(`<gating:PolygonGate gating:id="P">` + dims(2, "") + `<gating:vertex><gating:coordinate data-type:value="0"/><gating:coordinate data-type:value="0"/><gating:coordinate data-type:value="0"/></gating:vertex>` + triangle + `</gating:PolygonGate>`), `PolygonGate "P" vertex 1: has 3 coordinates, want 2`},
		{"singular covariance", gml(ellipse("1", "1", "1", "1", "1")), `EllipsoidGate "E" covarianceMatrix: is singular`},
		{"negative distanceSquare", gml(ellipse("1", "0", "0", "1", "-1")), `EllipsoidGate "E" distanceSquare: is -1, want a finite value >= 0`},
		{"ellipse without mean", gml(`<gating:EllipsoidGate gating:id="E">` + dims(2, "") + `<gating:covarianceMatrix/><gating:distanceSquare data-type:value="1"/></gating:EllipsoidGate>`), `EllipsoidGate "E": has no mean`},
		{"logicle W > M/2", gml(`<transforms:transformation transforms:id="L"><transforms:logicle transforms:T="262144" transforms:W="3" transforms:M="4.5" transforms:A="0"/></transforms:transformation>`), `transformation "L": logicle:`},
		{"hyperlog W = 0", gml(`<transforms:transformation transforms:id="H"><transforms:hyperlog transforms:T="262144" transforms:W="0" transforms:M="4.5" transforms:A="0"/></transforms:transformation>`), `transformation "H": hyperlog:`},
		{"flog M = 0", gml(`<transforms:transformation transforms:id="F"><transforms:flog transforms:T="1" transforms:M="0"/></transforms:transformation>`), `transformation "F": flog: T is 1 and M is 0, want both > 0`},
		{"flin without A", gml(`<transforms:transformation transforms:id="F"><transforms:flin transforms:T="1"/></transforms:transformation>`), `transformation "F" flin: attribute A is missing`},
		{"two functions", gml(`<transforms:transformation transforms:id="F"><transforms:flin transforms:T="1" transforms:A="0"/><transforms:flog transforms:T="1" transforms:M="1"/></transforms:transformation>`), `transformation "F": has two functions, flin and flog`},
		{"no function", gml(`<transforms:transformation transforms:id="F"/>`), `transformation "F": has no function`},
		{"bounds crossed", gml(`<transforms:transformation transforms:id="F" transforms:boundMin="2" transforms:boundMax="1"><transforms:flin transforms:T="1" transforms:A="0"/></transforms:transformation>`), `boundMin 2 is greater than boundMax 1`},
		{"fratio with one dimension", gml(`<transforms:transformation transforms:id="r"><transforms:fratio transforms:A="1" transforms:B="0" transforms:C="0"><data-type:fcs-dimension data-type:name="A"/></transforms:fratio></transforms:transformation>`), `transformation "r" fratio: has 1 fcs-dimensions, want 2`},
		{"duplicate transformation", gml(ratioT("r") + ratioT("r")), `transformation "r": id is used by another transformation`},
		{"singular spectrum", gml(matrix("M", "", "1 1", "1 1")), `spectrumMatrix "M": is singular`},
		{"reserved matrix id", gml(matrix("FCS", "", "1 0", "0 1")), `spectrumMatrix "FCS": id "FCS" is reserved`},
		{"short spectrum row", gml(matrix("M", "", "1 0", "0")), `spectrumMatrix "M": spectrum 2 has 1 coefficients, want 2`},
		{"unknown divider", gml(`<gating:QuadrantGate gating:id="Q"><gating:divider gating:id="d" gating:compensation-ref="FCS"><data-type:fcs-dimension data-type:name="A"/><gating:value>1</gating:value></gating:divider><gating:Quadrant gating:id="q"><gating:position gating:divider_ref="e" gating:location="0"/></gating:Quadrant></gating:QuadrantGate>`), `QuadrantGate "Q" Quadrant "q": position divider_ref "e": no divider of this gate has that id`},
		{"divider without value", gml(`<gating:QuadrantGate gating:id="Q"><gating:divider gating:id="d" gating:compensation-ref="FCS"><data-type:fcs-dimension data-type:name="A"/></gating:divider><gating:Quadrant gating:id="q"><gating:position gating:divider_ref="d" gating:location="0"/></gating:Quadrant></gating:QuadrantGate>`), `QuadrantGate "Q" divider "d": has no value`},
		{"bad custom_info", "", ""},
	}
	for _, tc := range tests {
		if tc.xml == "" {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.xml))
			var ge *Error
			if !errors.As(err, &ge) {
				t.Fatalf("got %v, want an *Error", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %q, want it to contain %q", err, tc.want)
			}
			if ge.Line == 0 && !strings.Contains(tc.name, "root") && tc.name != "Gating-ML 1.5" {
				t.Errorf("%q: no line number", err)
			}
		})
	}
}

func quadrant(id string) string {
	return `<gating:QuadrantGate gating:id="` + id + `"><gating:divider gating:id="d` + id + `" gating:compensation-ref="FCS"><data-type:fcs-dimension data-type:name="A"/><gating:value>1</gating:value></gating:divider>` +
		`<gating:Quadrant gating:id="` + id + `1"><gating:position gating:divider_ref="d` + id + `" gating:location="0"/></gating:Quadrant>` +
		`<gating:Quadrant gating:id="` + id + `2"><gating:position gating:divider_ref="d` + id + `" gating:location="2"/></gating:Quadrant></gating:QuadrantGate>`
}

func ratioT(id string) string {
	return `<transforms:transformation transforms:id="` + id + `"><transforms:fratio transforms:A="1" transforms:B="0" transforms:C="0"><data-type:fcs-dimension data-type:name="A"/><data-type:fcs-dimension data-type:name="B"/></transforms:fratio></transforms:transformation>`
}

func ellipse(c11, c12, c21, c22, d2 string) string {
	e := func(v string) string { return `<gating:entry data-type:value="` + v + `"/>` }
	return `<gating:EllipsoidGate gating:id="E">` + dims(2, "") +
		`<gating:mean><gating:coordinate data-type:value="0"/><gating:coordinate data-type:value="0"/></gating:mean>` +
		`<gating:covarianceMatrix><gating:row>` + e(c11) + e(c12) + `</gating:row><gating:row>` + e(c21) + e(c22) + `</gating:row></gating:covarianceMatrix>` +
		`<gating:distanceSquare data-type:value="` + d2 + `"/></gating:EllipsoidGate>`
}

// matrix is a spectrumMatrix with fluorochromes f1.. and detectors d1..; rows are spaces
// separated coefficients.
func matrix(id, attrs string, rows ...string) string {
	s := `<transforms:spectrumMatrix transforms:id="` + id + `" ` + attrs + `><transforms:fluorochromes>`
	for i := range rows {
		s += `<data-type:fcs-dimension data-type:name="f` + string(rune('1'+i)) + `"/>`
	}
	s += `</transforms:fluorochromes><transforms:detectors>`
	for i := range rows {
		s += `<data-type:fcs-dimension data-type:name="d` + string(rune('1'+i)) + `"/>`
	}
	s += `</transforms:detectors>`
	for _, r := range rows {
		s += `<transforms:spectrum>`
		for _, v := range strings.Fields(r) {
			s += `<transforms:coefficient transforms:value="` + v + `"/>`
		}
		s += `</transforms:spectrum>`
	}
	return s + `</transforms:spectrumMatrix>`
}

// TestValidateBuilt checks Validate on documents built in code, which carry no line numbers.
func TestValidateBuilt(t *testing.T) {
	ok := &Document{Gates: []Gate{&RectangleGate{GateInfo: GateInfo{ID: "R"}, Dimensions: []RectangleDimension{{Dimension: dim("A")}}}}}
	if err := ok.Validate(); err != nil {
		t.Errorf("valid document: %v", err)
	}
	tests := []struct {
		name string
		doc  *Document
		want string
	}{
		{"nil gate", &Document{Gates: []Gate{(*RectangleGate)(nil)}}, "gate 1: is nil"},
		{"no dimension", &Document{Gates: []Gate{&RectangleGate{GateInfo: GateInfo{ID: "R"}}}}, `RectangleGate "R": has no dimension`},
		{"both name and ratio", &Document{Gates: []Gate{&RectangleGate{GateInfo: GateInfo{ID: "R"}, Dimensions: []RectangleDimension{{Dimension: Dimension{Name: "A", Ratio: "r", Compensation: FCSSpillover}}}}}}, `has both an fcs-dimension ("A") and a new-dimension ("r")`},
		{"unknown op", &Document{Gates: []Gate{&BooleanGate{GateInfo: GateInfo{ID: "B"}, Op: "xor"}}}, `operator "xor" is not and, or or not`},
		{"bad custom_info", &Document{CustomInfo: "<a>"}, `custom_info: XML:`},
		{"control character in id", &Document{Gates: []Gate{&RectangleGate{GateInfo: GateInfo{ID: "R\x01"}, Dimensions: []RectangleDimension{{Dimension: dim("A")}}}}}, "holds a character XML cannot carry"},
		{"unknown kind", &Document{Transformations: []*Transformation{{ID: "t", Kind: "fexp"}}}, `transformation "t": unknown function "fexp"`},
		{"non-square the wrong way", &Document{Matrices: []*SpectrumMatrix{{ID: "M", Fluorochromes: []string{"a", "b", "c"}, Detectors: []string{"x", "y"}, Coefficients: [][]float64{{1, 0}, {0, 1}, {1, 1}}}}}, "has 3 fluorochromes but only 2 detectors"},
		{"inverted shape", &Document{Matrices: []*SpectrumMatrix{{ID: "M", Fluorochromes: []string{"a", "b"}, Detectors: []string{"x", "y", "z"}, Coefficients: [][]float64{{1, 0, 0}, {0, 1, 0}}, InvertedAlready: true}}}, "has 2 spectrum rows, want 3 (one per detector)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.doc.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
			if err := tc.doc.Write(&strings.Builder{}); err == nil {
				t.Errorf("Write accepted an invalid document")
			}
		})
	}
}
