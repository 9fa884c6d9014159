package gating

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxDepth bounds element nesting, so that hostile input cannot exhaust the stack.
const maxDepth = 256

// element is a node of the parsed XML tree.
type element struct {
	name    xml.Name
	attrs   []xml.Attr
	content []any // *element and string (character data), in order
	line    int
}

func (el *element) children() []*element {
	var out []*element
	for _, c := range el.content {
		if ch, ok := c.(*element); ok {
			out = append(out, ch)
		}
	}
	return out
}

// text returns the character data directly inside el.
func (el *element) text() string {
	var b strings.Builder
	for _, c := range el.content {
		if s, ok := c.(string); ok {
			b.WriteString(s)
		}
	}
	return b.String()
}

// is reports whether el is the Gating-ML element local, in any of the three namespaces.
func (el *element) is(local string) bool {
	return el.name.Local == local && isGMLSpace(el.name.Space)
}

func isGMLSpace(space string) bool {
	return space == NamespaceGating || space == NamespaceTransformations || space == NamespaceDataTypes
}

// attr returns the attribute local, qualified by a Gating-ML namespace or not at all.
func (el *element) attr(local string) (string, bool) {
	for _, a := range el.attrs {
		if a.Name.Local == local && (a.Name.Space == "" || isGMLSpace(a.Name.Space)) {
			return a.Value, true
		}
	}
	return "", false
}

// readTree parses an XML document into a tree of elements.
func readTree(r io.Reader) (*element, error) {
	dec := xml.NewDecoder(r)
	dec.CharsetReader = charsetReader
	var stack []*element
	var root *element
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, errorf(se.Line, "", "XML: %s", se.Msg)
			}
			line, _ := dec.InputPos()
			return nil, errorf(line, "", "XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			line, _ := dec.InputPos()
			if len(stack) >= maxDepth {
				return nil, errorf(line, "", "XML: elements nest more than %d deep", maxDepth)
			}
			el := &element{name: t.Name, line: line}
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
					continue // namespace declarations: the decoder has applied them
				}
				el.attrs = append(el.attrs, a)
			}
			if len(stack) == 0 {
				if root != nil {
					return nil, errorf(line, "", "XML: more than one root element")
				}
				root = el
			} else {
				parent := stack[len(stack)-1]
				parent.content = append(parent.content, el)
			}
			stack = append(stack, el)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				parent := stack[len(stack)-1]
				s := string(t)
				if n := len(parent.content); n > 0 {
					if prev, ok := parent.content[n-1].(string); ok {
						parent.content[n-1] = prev + s
						continue
					}
				}
				parent.content = append(parent.content, s)
			}
		}
	}
	if root == nil {
		return nil, errorf(0, "", "XML: no root element")
	}
	return root, nil
}

// charsetReader lets documents declare Latin-1 or ASCII as well as UTF-8.
func charsetReader(label string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(label) {
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "us-ascii", "ascii", "windows-1252", "cp1252":
		b, err := io.ReadAll(in)
		if err != nil {
			return nil, err
		}
		var out bytes.Buffer
		for _, c := range b {
			out.WriteRune(rune(c))
		}
		return &out, nil
	}
	return nil, fmt.Errorf("encoding %q is not supported (use UTF-8)", label)
}

// Parse reads a Gating-ML 2.0 document. Elements it does not know are skipped, custom_info is
// kept (see CustomInfo), and the document is validated (see Validate): the error, an *Error,
// names the line, the element and what is wrong.
func Parse(r io.Reader) (*Document, error) {
	root, err := readTree(r)
	if err != nil {
		return nil, err
	}
	if root.name.Local != "Gating-ML" || root.name.Space != NamespaceGating {
		return nil, errorf(root.line, "", "root element is {%s}%s, want Gating-ML in namespace %s", root.name.Space, root.name.Local, NamespaceGating)
	}
	p := &parser{doc: &Document{lines: map[any]int{}}}
	for _, el := range root.children() {
		if err := p.topLevel(el); err != nil {
			return nil, err
		}
	}
	if err := p.doc.Validate(); err != nil {
		return nil, err
	}
	return p.doc, nil
}

type parser struct {
	doc *Document
}

func (p *parser) topLevel(el *element) error {
	switch {
	case el.is("custom_info"):
		p.doc.CustomInfo += customInfo(el)
	case el.is("transformation"):
		t, err := p.transformation(el)
		if err != nil {
			return err
		}
		p.doc.Transformations = append(p.doc.Transformations, t)
		p.doc.lines[t] = el.line
	case el.is("spectrumMatrix"):
		m, err := p.spectrumMatrix(el)
		if err != nil {
			return err
		}
		p.doc.Matrices = append(p.doc.Matrices, m)
		p.doc.lines[m] = el.line
	case el.is("RectangleGate"), el.is("PolygonGate"), el.is("EllipsoidGate"), el.is("QuadrantGate"), el.is("BooleanGate"):
		g, err := p.gate(el)
		if err != nil {
			return err
		}
		p.doc.Gates = append(p.doc.Gates, g)
		p.doc.lines[g] = el.line
	}
	return nil
}

// number parses a float64 attribute or text.
func number(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return v, nil
}

// numAttr returns a required numeric attribute.
func numAttr(el *element, ctx, name string) (float64, error) {
	s, ok := el.attr(name)
	if !ok {
		return 0, errorf(el.line, ctx, "attribute %s is missing", name)
	}
	v, err := number(s)
	if err != nil {
		return 0, errorf(el.line, ctx, "attribute %s: %v", name, err)
	}
	return v, nil
}

// optNumAttr returns an optional numeric attribute, nil when absent.
func optNumAttr(el *element, ctx, name string) (*float64, error) {
	if _, ok := el.attr(name); !ok {
		return nil, nil
	}
	v, err := numAttr(el, ctx, name)
	if err != nil {
		return nil, err
	}
	return &v, nil
}

func boolAttr(el *element, ctx, name string) (bool, error) {
	s, ok := el.attr(name)
	if !ok {
		return false, nil
	}
	switch strings.TrimSpace(s) {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, errorf(el.line, ctx, "attribute %s is %q, want true or false", name, s)
}

func (p *parser) transformation(el *element) (*Transformation, error) {
	id, _ := el.attr("id")
	ctx := fmt.Sprintf("transformation %q", id)
	t := &Transformation{ID: id}
	var err error
	if t.BoundMin, err = optNumAttr(el, ctx, "boundMin"); err != nil {
		return nil, err
	}
	if t.BoundMax, err = optNumAttr(el, ctx, "boundMax"); err != nil {
		return nil, err
	}
	var fn *element
	for _, ch := range el.children() {
		switch {
		case ch.is("custom_info"):
			t.CustomInfo += customInfo(ch)
		case ch.is("flin"), ch.is("flog"), ch.is("fasinh"), ch.is("logicle"), ch.is("hyperlog"), ch.is("fratio"):
			if fn != nil {
				return nil, errorf(ch.line, ctx, "has two functions, %s and %s", fn.name.Local, ch.name.Local)
			}
			fn = ch
		}
	}
	if fn == nil {
		return nil, errorf(el.line, ctx, "has no function (flin, flog, fasinh, logicle, hyperlog or fratio)")
	}
	t.Kind = TransformKind(fn.name.Local)
	fctx := ctx + " " + fn.name.Local
	params := map[TransformKind][]string{
		KindFlin:     {"T", "A"},
		KindFlog:     {"T", "M"},
		KindFasinh:   {"T", "M", "A"},
		KindLogicle:  {"T", "W", "M", "A"},
		KindHyperlog: {"T", "W", "M", "A"},
		KindFratio:   {"A", "B", "C"},
	}[t.Kind]
	for _, name := range params {
		v, err := numAttr(fn, fctx, name)
		if err != nil {
			return nil, err
		}
		switch name {
		case "T":
			t.T = v
		case "W":
			t.W = v
		case "M":
			t.M = v
		case "A":
			t.A = v
		case "B":
			t.B = v
		case "C":
			t.C = v
		}
	}
	var dims []string
	for _, ch := range fn.children() {
		switch {
		case ch.is("custom_info"):
			t.CustomInfo += customInfo(ch)
		case ch.is("fcs-dimension"):
			name, err := dimName(ch, fctx)
			if err != nil {
				return nil, err
			}
			dims = append(dims, name)
		}
	}
	if t.Kind == KindFratio {
		if len(dims) != 2 {
			return nil, errorf(fn.line, fctx, "has %d fcs-dimensions, want 2", len(dims))
		}
		t.Ratio = [2]string{dims[0], dims[1]}
	}
	return t, nil
}

func dimName(el *element, ctx string) (string, error) {
	name, ok := el.attr("name")
	if !ok || name == "" {
		return "", errorf(el.line, ctx, "fcs-dimension has no name")
	}
	return name, nil
}

func (p *parser) spectrumMatrix(el *element) (*SpectrumMatrix, error) {
	id, _ := el.attr("id")
	ctx := fmt.Sprintf("spectrumMatrix %q", id)
	m := &SpectrumMatrix{ID: id}
	var err error
	if m.InvertedAlready, err = boolAttr(el, ctx, "matrix-inverted-already"); err != nil {
		return nil, err
	}
	names := func(list *element) ([]string, error) {
		var out []string
		for _, ch := range list.children() {
			if ch.is("fcs-dimension") {
				name, err := dimName(ch, ctx+" "+list.name.Local)
				if err != nil {
					return nil, err
				}
				out = append(out, name)
			}
		}
		return out, nil
	}
	var haveF, haveD bool
	for _, ch := range el.children() {
		switch {
		case ch.is("custom_info"):
			m.CustomInfo += customInfo(ch)
		case ch.is("fluorochromes"):
			if haveF {
				return nil, errorf(ch.line, ctx, "has two fluorochromes elements")
			}
			haveF = true
			if m.Fluorochromes, err = names(ch); err != nil {
				return nil, err
			}
		case ch.is("detectors"):
			if haveD {
				return nil, errorf(ch.line, ctx, "has two detectors elements")
			}
			haveD = true
			if m.Detectors, err = names(ch); err != nil {
				return nil, err
			}
		case ch.is("spectrum"):
			row, err := valueChildren(ch, "coefficient", fmt.Sprintf("%s spectrum %d coefficient", ctx, len(m.Coefficients)+1))
			if err != nil {
				return nil, err
			}
			m.Coefficients = append(m.Coefficients, row)
		}
	}
	if !haveF {
		return nil, errorf(el.line, ctx, "has no fluorochromes element")
	}
	if !haveD {
		return nil, errorf(el.line, ctx, "has no detectors element")
	}
	return m, nil
}

// dimension reads the content and attributes common to gating:dimension and gating:divider.
func dimension(el *element, ctx string) (Dimension, error) {
	var d Dimension
	comp, ok := el.attr("compensation-ref")
	if !ok || comp == "" {
		return d, errorf(el.line, ctx, "compensation-ref is missing")
	}
	d.Compensation = comp
	d.Transformation, _ = el.attr("transformation-ref")
	n := 0
	for _, ch := range el.children() {
		switch {
		case ch.is("fcs-dimension"):
			name, err := dimName(ch, ctx)
			if err != nil {
				return d, err
			}
			d.Name = name
			n++
		case ch.is("new-dimension"):
			ref, ok := ch.attr("transformation-ref")
			if !ok || ref == "" {
				return d, errorf(ch.line, ctx, "new-dimension has no transformation-ref")
			}
			d.Ratio = ref
			n++
		}
	}
	if n != 1 {
		return d, errorf(el.line, ctx, "has %d fcs-dimension and new-dimension elements, want exactly 1", n)
	}
	return d, nil
}

// point reads the coordinate children of a vertex or a mean.
func point(el *element, ctx string) ([]float64, error) {
	out, err := valueChildren(el, "coordinate", ctx+" coordinate")
	if len(out) == 0 {
		return nil, err // no coordinates: nil, as a missing point
	}
	return out, err
}

// valueChildren reads the value attribute of every child of el named child (coordinates,
// spectrum coefficients, covariance entries), in order; ctx names them in errors.
func valueChildren(el *element, child, ctx string) ([]float64, error) {
	out := []float64{}
	for _, ch := range el.children() {
		if ch.is(child) {
			v, err := numAttr(ch, ctx, "value")
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
	}
	return out, nil
}

func (p *parser) gate(el *element) (Gate, error) {
	id, _ := el.attr("id")
	parent, _ := el.attr("parent_id")
	ctx := fmt.Sprintf("%s %q", el.name.Local, id)
	info := GateInfo{ID: id, Parent: parent}
	var kids []*element
	for _, ch := range el.children() {
		if ch.is("custom_info") {
			info.CustomInfo += customInfo(ch)
			continue
		}
		kids = append(kids, ch)
	}
	var dims []Dimension
	var rdims []RectangleDimension
	if el.name.Local != "QuadrantGate" && el.name.Local != "BooleanGate" {
		for _, ch := range kids {
			if !ch.is("dimension") {
				continue
			}
			dctx := fmt.Sprintf("%s dimension %d", ctx, len(dims)+1)
			d, err := dimension(ch, dctx)
			if err != nil {
				return nil, err
			}
			dims = append(dims, d)
			if el.name.Local == "RectangleGate" {
				rd := RectangleDimension{Dimension: d}
				if rd.Min, err = optNumAttr(ch, dctx, "min"); err != nil {
					return nil, err
				}
				if rd.Max, err = optNumAttr(ch, dctx, "max"); err != nil {
					return nil, err
				}
				rdims = append(rdims, rd)
			}
		}
	}
	switch el.name.Local {
	case "RectangleGate":
		return &RectangleGate{GateInfo: info, Dimensions: rdims}, nil
	case "PolygonGate":
		if len(dims) != 2 {
			return nil, errorf(el.line, ctx, "has %d dimensions, want 2", len(dims))
		}
		g := &PolygonGate{GateInfo: info, Dimensions: [2]Dimension{dims[0], dims[1]}}
		for _, ch := range kids {
			if !ch.is("vertex") {
				continue
			}
			vctx := fmt.Sprintf("%s vertex %d", ctx, len(g.Vertices)+1)
			c, err := point(ch, vctx)
			if err != nil {
				return nil, err
			}
			if len(c) != 2 {
				return nil, errorf(ch.line, vctx, "has %d coordinates, want 2", len(c))
			}
			g.Vertices = append(g.Vertices, [2]float64{c[0], c[1]})
		}
		return g, nil
	case "EllipsoidGate":
		g := &EllipsoidGate{GateInfo: info, Dimensions: dims}
		var haveMean, haveCov, haveD2 bool
		for _, ch := range kids {
			switch {
			case ch.is("mean"):
				if haveMean {
					return nil, errorf(ch.line, ctx, "has two means")
				}
				haveMean = true
				var err error
				if g.Mean, err = point(ch, ctx+" mean"); err != nil {
					return nil, err
				}
			case ch.is("covarianceMatrix"):
				if haveCov {
					return nil, errorf(ch.line, ctx, "has two covarianceMatrix elements")
				}
				haveCov = true
				for _, row := range ch.children() {
					if !row.is("row") {
						continue
					}
					r, err := valueChildren(row, "entry", fmt.Sprintf("%s covarianceMatrix row %d entry", ctx, len(g.Covariance)+1))
					if err != nil {
						return nil, err
					}
					g.Covariance = append(g.Covariance, r)
				}
			case ch.is("distanceSquare"):
				if haveD2 {
					return nil, errorf(ch.line, ctx, "has two distanceSquare elements")
				}
				haveD2 = true
				v, err := numAttr(ch, ctx+" distanceSquare", "value")
				if err != nil {
					return nil, err
				}
				g.DistanceSquare = v
			}
		}
		switch {
		case !haveMean:
			return nil, errorf(el.line, ctx, "has no mean")
		case !haveCov:
			return nil, errorf(el.line, ctx, "has no covarianceMatrix")
		case !haveD2:
			return nil, errorf(el.line, ctx, "has no distanceSquare")
		}
		return g, nil
	case "QuadrantGate":
		g := &QuadrantGate{GateInfo: info}
		for _, ch := range kids {
			switch {
			case ch.is("divider"):
				did, _ := ch.attr("id")
				dctx := fmt.Sprintf("%s divider %q", ctx, did)
				d, err := dimension(ch, dctx)
				if err != nil {
					return nil, err
				}
				div := Divider{ID: did, Dimension: d}
				for _, v := range ch.children() {
					if v.is("value") {
						x, err := number(v.text())
						if err != nil {
							return nil, errorf(v.line, dctx, "value: %v", err)
						}
						div.Values = append(div.Values, x)
					}
				}
				g.Dividers = append(g.Dividers, div)
			case ch.is("Quadrant"):
				qid, _ := ch.attr("id")
				qctx := fmt.Sprintf("%s Quadrant %q", ctx, qid)
				q := Quadrant{ID: qid}
				for _, pos := range ch.children() {
					if !pos.is("position") {
						continue
					}
					ref, ok := pos.attr("divider_ref")
					if !ok {
						return nil, errorf(pos.line, qctx, "position has no divider_ref")
					}
					loc, err := numAttr(pos, qctx+" position", "location")
					if err != nil {
						return nil, err
					}
					q.Positions = append(q.Positions, Position{Divider: ref, Location: loc})
				}
				g.Quadrants = append(g.Quadrants, q)
			}
		}
		return g, nil
	case "BooleanGate":
		g := &BooleanGate{GateInfo: info}
		var opEl *element
		for _, ch := range kids {
			if ch.is("and") || ch.is("or") || ch.is("not") {
				if opEl != nil {
					return nil, errorf(ch.line, ctx, "has two operators, %s and %s", opEl.name.Local, ch.name.Local)
				}
				opEl = ch
			}
		}
		if opEl == nil {
			return nil, errorf(el.line, ctx, "has no and, or or not element")
		}
		g.Op = BoolOp(opEl.name.Local)
		for _, ch := range opEl.children() {
			if !ch.is("gateReference") {
				continue
			}
			octx := fmt.Sprintf("%s operand %d", ctx, len(g.Operands)+1)
			ref, ok := ch.attr("ref")
			if !ok || ref == "" {
				return nil, errorf(ch.line, octx, "gateReference has no ref")
			}
			c, err := boolAttr(ch, octx, "use-as-complement")
			if err != nil {
				return nil, err
			}
			g.Operands = append(g.Operands, Operand{Ref: ref, Complement: c})
		}
		return g, nil
	}
	return nil, errorf(el.line, ctx, "unknown gate")
}

// customInfo re-serializes the content of a custom_info element (see CustomInfo).
func customInfo(el *element) CustomInfo {
	var b strings.Builder
	for _, c := range el.content {
		writeContent(&b, c, "")
	}
	return CustomInfo(b.String())
}

// prefixes are the prefixes of namespaces that need no declaration in a written document.
var prefixes = map[string]string{
	NamespaceGating:                             "gating",
	NamespaceTransformations:                    "transforms",
	NamespaceDataTypes:                          "data-type",
	"http://www.w3.org/XML/1998/namespace":      "xml",
	"http://www.w3.org/2001/XMLSchema-instance": "xsi",
}

// writeContent serializes an element or text; def is the default namespace in scope.
func writeContent(b *strings.Builder, c any, def string) {
	switch c := c.(type) {
	case string:
		textEscape(b, c)
	case *element:
		var decl []string
		name := c.name.Local
		if p, ok := prefixes[c.name.Space]; ok && c.name.Space != "" {
			name = p + ":" + name
		} else if c.name.Space != def {
			decl = append(decl, `xmlns="`+escapeString(c.name.Space)+`"`)
			def = c.name.Space
		}
		b.WriteString("<" + name)
		for _, d := range decl {
			b.WriteString(" " + d)
		}
		k := 0
		for _, a := range c.attrs {
			an := a.Name.Local
			switch p, ok := prefixes[a.Name.Space]; {
			case a.Name.Space == "":
			case ok:
				an = p + ":" + an
			default:
				k++
				pre := fmt.Sprintf("ns%d", k)
				b.WriteString(" xmlns:" + pre + `="` + escapeString(a.Name.Space) + `"`)
				an = pre + ":" + an
			}
			b.WriteString(" " + an + `="` + escapeString(a.Value) + `"`)
		}
		if len(c.content) == 0 {
			b.WriteString("/>")
			return
		}
		b.WriteString(">")
		for _, cc := range c.content {
			writeContent(b, cc, def)
		}
		b.WriteString("</" + name + ">")
	}
}

func escapeString(s string) string {
	var b strings.Builder
	xmlEscape(&b, s)
	return b.String()
}

// xmlEscape writes s as an XML attribute value (between double quotes): markup characters
// and the white space that attribute normalization would turn into spaces become references.
func xmlEscape(b *strings.Builder, s string) {
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\n':
			b.WriteString("&#xA;")
		case '\r':
			b.WriteString("&#xD;")
		case '\t':
			b.WriteString("&#x9;")
		default:
			b.WriteRune(r)
		}
	}
}

// textEscape writes s as XML character data; a carriage return becomes a reference so that
// line-end normalization keeps it.
func textEscape(b *strings.Builder, s string) {
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '\r':
			b.WriteString("&#xD;")
		default:
			b.WriteRune(r)
		}
	}
}

// checkCustomInfo checks that custom_info content is well-formed XML that Write can embed.
func checkCustomInfo(ci CustomInfo) error {
	if ci == "" {
		return nil
	}
	if !utf8.ValidString(string(ci)) {
		return errors.New("is not valid UTF-8")
	}
	wrapped := `<x xmlns:gating="` + NamespaceGating + `" xmlns:transforms="` + NamespaceTransformations +
		`" xmlns:data-type="` + NamespaceDataTypes + `" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` + string(ci) + `</x>`
	if _, err := readTree(strings.NewReader(wrapped)); err != nil {
		var e *Error
		if errors.As(err, &e) {
			return errors.New(e.Message)
		}
		return err
	}
	return nil
}

// formatFloat formats v for Write: the shortest decimal that reads back to v, infinities
// spelled the XML Schema way.
func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "INF"
	case math.IsInf(v, -1):
		return "-INF"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
