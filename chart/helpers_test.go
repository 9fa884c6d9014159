package chart

import (
	"bytes"
	"encoding/xml"
	"flag"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// flowDir returns the shared flow-cytometry data folder (shared/data/flow beside the repo). It
// skips the test when the folder is absent, except under CI=true, where that is a failure.
func flowDir(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join("..", "..", "shared", "data", "flow")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("shared flow data missing (%v); CI requires it", err)
		}
		tb.Skipf("shared flow data missing: %v", err)
	}
	return dir
}

// golden compares got with testdata/name, or rewrites the file under -update.
func golden(tb testing.TB, name string, got []byte) {
	tb.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		tb.Errorf("%s: output differs from the golden file (%d bytes, want %d); if the change is intended, run go test -update and review the diff", name, len(got), len(want))
	}
}

// node is an element of a parsed SVG document.
type node struct {
	name     string
	attr     map[string]string
	children []*node
	text     string // character data directly inside the element
}

// parseSVG parses b with encoding/xml and fails the test if it is not well formed.
func parseSVG(tb testing.TB, b []byte) *node {
	tb.Helper()
	root, err := parseXML(b)
	if err != nil {
		tb.Fatalf("SVG not well formed: %v\n%s", err, b)
	}
	return root
}

// parseXML builds the element tree of b; it returns an error for any XML that is not well
// formed (the decoder is strict: every element closed, entities known, one root).
func parseXML(b []byte) (*node, error) {
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true
	var stack []*node
	var root *node
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &node{name: t.Name.Local, attr: map[string]string{}}
			for _, a := range t.Attr {
				key := a.Name.Local
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && key == "xmlns") {
					continue
				}
				if a.Name.Space != "" {
					key = "xlink:" + key
				}
				n.attr[key] = a.Value
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			} else if root != nil {
				return nil, errSecondRoot
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(t)
			}
		}
	}
	if root == nil {
		return nil, errNoRoot
	}
	return root, nil
}

type xmlErr string

func (e xmlErr) Error() string { return string(e) }

const (
	errSecondRoot = xmlErr("a second root element")
	errNoRoot     = xmlErr("no root element")
)

// all returns every descendant element named name, in document order.
func (n *node) all(name string) []*node {
	var out []*node
	for _, c := range n.children {
		if c.name == name {
			out = append(out, c)
		}
		out = append(out, c.all(name)...)
	}
	return out
}

// withClass returns the descendants whose class attribute contains class.
func (n *node) withClass(class string) []*node {
	var out []*node
	for _, c := range n.children {
		for _, f := range strings.Fields(c.attr["class"]) {
			if f == class {
				out = append(out, c)
				break
			}
		}
		out = append(out, c.withClass(class)...)
	}
	return out
}

// child returns the first direct child named name, or nil.
func (n *node) child(name string) *node {
	for _, c := range n.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

// num reads a numeric attribute.
func (n *node) num(tb testing.TB, key string) float64 {
	tb.Helper()
	v, err := strconv.ParseFloat(n.attr[key], 64)
	if err != nil {
		tb.Fatalf("<%s %s=%q>: %v", n.name, key, n.attr[key], err)
	}
	return v
}

// titledCircles returns the <circle> elements that hold a <title>.
func titledCircles(root *node) []*node {
	var out []*node
	for _, c := range root.all("circle") {
		if t := c.child("title"); t != nil && t.text != "" {
			out = append(out, c)
		}
	}
	return out
}

// geometryAttrs are the attributes that hold coordinates or lengths.
var geometryAttrs = []string{"x", "y", "x1", "x2", "y1", "y2", "cx", "cy", "r", "width", "height", "d", "points", "viewBox", "transform"}

// checkSVG checks what every chart must satisfy: well-formed XML; a root <svg> with role="img",
// an aria-label, width, height and a matching viewBox; <title> and <desc> as its first
// children; and no NaN or Inf in any coordinate.
func checkSVG(tb testing.TB, b []byte) *node {
	tb.Helper()
	root := parseSVG(tb, b)
	if err := checkTree(root); err != "" {
		tb.Fatalf("%s\n%s", err, b)
	}
	return root
}

// checkTree returns what is wrong with a parsed chart, or "".
func checkTree(root *node) string {
	if root.name != "svg" {
		return "root element is <" + root.name + ">, want <svg>"
	}
	if root.attr["role"] != "img" {
		return `root lacks role="img"`
	}
	if _, ok := root.attr["aria-label"]; !ok {
		return "root lacks aria-label"
	}
	if len(root.children) < 2 || root.children[0].name != "title" || root.children[1].name != "desc" {
		return "root's first children are not <title> and <desc>"
	}
	if root.children[0].text != root.attr["aria-label"] {
		return "aria-label and <title> differ"
	}
	if want := "0 0 " + root.attr["width"] + " " + root.attr["height"]; root.attr["viewBox"] != want {
		return "viewBox " + root.attr["viewBox"] + ", want " + want
	}
	var bad string
	var walk func(n *node)
	walk = func(n *node) {
		for _, k := range geometryAttrs {
			if v, ok := n.attr[k]; ok && (strings.Contains(v, "NaN") || strings.Contains(v, "Inf")) {
				bad = "<" + n.name + " " + k + `="` + v + `">`
			}
		}
		for _, c := range n.children {
			walk(c)
		}
	}
	walk(root)
	if bad != "" {
		return "non-finite coordinate in " + bad
	}
	return ""
}

// near fails the test when got is farther than tol from want.
func near(tb testing.TB, what string, got, want, tol float64) {
	tb.Helper()
	if math.Abs(got-want) > tol || got != got {
		tb.Errorf("%s: got %.4f, want %.4f (±%g)", what, got, want, tol)
	}
}

// plotArea reads the plot rectangle of a chart.
func plotArea(tb testing.TB, root *node) (x0, y0, x1, y1 float64) {
	tb.Helper()
	pa := root.withClass("plot-area")
	if len(pa) != 1 {
		tb.Fatalf("got %d plot areas, want 1", len(pa))
	}
	r := pa[0]
	x0, y0 = r.num(tb, "x"), r.num(tb, "y")
	return x0, y0, x0 + r.num(tb, "width"), y0 + r.num(tb, "height")
}

// f64 returns a pointer to v, for Axis.Min and Max.
func f64(v float64) *float64 { return &v }

// gaussianEvents returns n deterministic events from a mixture of two bivariate normal
// populations (Box–Muller on a PCG stream with a fixed seed), on a logicle-like 0–1 scale.
func gaussianEvents(n int) (xs, ys []float64) {
	r := rand.New(rand.NewPCG(20260101, 7))
	xs, ys = make([]float64, n), make([]float64, n)
	for i := range n {
		u1, u2 := 1-r.Float64(), r.Float64()
		rad := math.Sqrt(-2 * math.Log(u1))
		z1, z2 := rad*math.Cos(2*math.Pi*u2), rad*math.Sin(2*math.Pi*u2)
		if i%3 == 0 { // CD3− CD56+ NK cells
			xs[i], ys[i] = 0.25+0.05*z1, 0.70+0.06*z2
		} else { // CD3+ T cells
			xs[i], ys[i] = 0.68+0.06*z1, 0.30+0.05*(0.5*z1+z2)
		}
	}
	return xs, ys
}
