package chart

import (
	"strings"
	"testing"
)

// TestScatterFront checks the staircase of the highlighted points against the corners worked
// out by hand: for (1, 10), (5, 6), (9, 2) on 0–10 axes the edge of the dominated region runs
// (1, 10) → (1, 6) → (5, 6) → (5, 2) → (9, 2), whatever the order the points come in.
func TestScatterFront(t *testing.T) {
	c := Scatter{
		Title: "front",
		X:     Axis{Label: "doses", Min: f64(0), Max: f64(10)},
		Y:     Axis{Label: "killing", Min: f64(0), Max: f64(10)},
		Points: []ScatterPoint{
			{X: 9, Y: 2, Label: "C", Highlight: true},
			{X: 3, Y: 3, Label: "D"},
			{X: 1, Y: 10, Label: "A", Highlight: true},
			{X: 5, Y: 6, Label: "B", Highlight: true},
			{X: 4, Y: 1, Label: "E"},
		},
		HighlightName: "Pareto front",
	}
	root := checkSVG(t, c.SVG())
	x0, y0, x1, y1 := plotArea(t, root)
	pix := func(x, y float64) [2]float64 { return [2]float64{x0 + (x1-x0)*x/10, y1 - (y1-y0)*y/10} }
	want := [][2]float64{pix(1, 10), pix(1, 6), pix(5, 6), pix(5, 2), pix(9, 2)}
	front := root.withClass("front")
	if len(front) != 1 {
		t.Fatalf("got %d front paths, want 1", len(front))
	}
	subs := pathPoints(t, front[0].attr["d"])
	if len(subs) != 1 || len(subs[0]) != len(want) {
		t.Fatalf("front path %q: want one subpath of %d vertices", front[0].attr["d"], len(want))
	}
	for i, p := range subs[0] {
		near(t, "front vertex x", p[0], want[i][0], 0.01)
		near(t, "front vertex y", p[1], want[i][1], 0.01)
	}
	if got := len(titledCircles(root.withClass("highlighted")[0])); got != 3 {
		t.Errorf("got %d highlighted points, want 3", got)
	}
	if got := len(titledCircles(root.withClass("points")[0])); got != 2 {
		t.Errorf("got %d other points, want 2", got)
	}
	if got := len(root.withClass("labels")[0].all("text")); got != 5 {
		t.Errorf("got %d labels, want 5", got)
	}
	desc := root.child("desc").text
	if !strings.Contains(desc, "Pareto front: A (1, 10); B (5, 6); C (9, 2).") {
		t.Errorf("desc does not list the front in x order: %q", desc)
	}
}

// TestScatterLabelSide checks that a label too long for the right of its point goes left.
func TestScatterLabelSide(t *testing.T) {
	c := Scatter{Title: "labels", X: Axis{Min: f64(0), Max: f64(10)}, Y: Axis{Min: f64(0), Max: f64(10)},
		Points: []ScatterPoint{{X: 1, Y: 5, Label: "left side point"}, {X: 10, Y: 5, Label: "right side point"}}}
	root := checkSVG(t, c.SVG())
	labels := root.withClass("labels")[0].all("text")
	if labels[0].attr["text-anchor"] != "" || labels[1].attr["text-anchor"] != "end" {
		t.Errorf("anchors: got %q and %q, want start and end", labels[0].attr["text-anchor"], labels[1].attr["text-anchor"])
	}
}
