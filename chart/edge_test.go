package chart

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

// TestEdgeCases draws every chart type on awkward input. Each must be a well-formed, accessible
// SVG without non-finite coordinates, with the expected number of hover points, with "No data"
// exactly when nothing can be drawn, and with the expected notes in its <desc>.
func TestEdgeCases(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	long := strings.Repeat("Very long protocol name with dendrimer ", 8)
	tests := []struct {
		name    string
		c       Chart
		points  int      // titled circles
		noData  bool     // "No data" shown
		notes   []string // substrings of the <desc>
		nonote  bool     // the <desc> must have no note
		minSize bool
	}{
		{name: "line: single point", c: Line{Series: []Series{{Name: "a", X: []float64{3}, Y: []float64{7}, Markers: true}}}, points: 1, nonote: true},
		{name: "line: all equal", c: Line{Y: Axis{Log: true}, Series: []Series{{X: []float64{1, 1, 1}, Y: []float64{5e6, 5e6, 5e6}, Markers: true}}}, points: 3, nonote: true},
		{name: "line: no series", c: Line{Title: "empty"}, noData: true},
		{name: "line: empty series", c: Line{Series: []Series{{Name: "a", Markers: true}, {Name: "b"}}}, noData: true},
		{name: "line: ≤ 0 on log y", c: Line{Y: Axis{Log: true}, Series: []Series{{X: []float64{0, 1, 2, 3}, Y: []float64{0, -1, 10, 100}, Markers: true}}},
			points: 2, notes: []string{"2 points with y ≤ 0 not shown on the log y axis"}},
		{name: "line: all ≤ 0 on log x", c: Line{X: Axis{Log: true}, Series: []Series{{X: []float64{0, -1}, Y: []float64{1, 2}, Markers: true}}},
			noData: true, notes: []string{"2 points with x ≤ 0 not shown on the log x axis"}},
		{name: "line: NaN and Inf", c: Line{Series: []Series{{X: []float64{1, 2, nan, 4, 5}, Y: []float64{1, inf, 3, -inf, 5}, Markers: true}}},
			points: 2, notes: []string{"3 points with NaN or ±Inf dropped"}},
		{name: "line: lengths differ", c: Line{Series: []Series{{X: []float64{1, 2, 3}, Y: []float64{1}, Markers: true}}},
			points: 1, notes: []string{"2 values without a partner ignored"}},
		{name: "line: huge range", c: Line{Series: []Series{{X: []float64{-math.MaxFloat64, 0, math.MaxFloat64}, Y: []float64{math.MaxFloat64, -math.MaxFloat64, 5e-324}, Markers: true}}},
			points: 3, nonote: true},
		{name: "line: huge log range", c: Line{X: Axis{Log: true}, Y: Axis{Log: true}, Series: []Series{{X: []float64{5e-324, 1, math.MaxFloat64}, Y: []float64{math.MaxFloat64, 1e-300, 1}, Markers: true}}},
			points: 3, nonote: true},
		{name: "line: bad bounds", c: Line{X: Axis{Min: f64(nan), Max: f64(inf)}, Y: Axis{Log: true, Min: f64(-1), Max: f64(0)}, Series: []Series{{X: []float64{1, 2}, Y: []float64{1, 2}, Markers: true}}},
			points: 2, notes: []string{"x axis: Min NaN ignored", "x axis: Max ∞ ignored", "y axis: Min −1 ignored", "y axis: Max 0 ignored"}},
		{name: "line: all outside fixed bounds", c: Line{Y: Axis{Min: f64(10), Max: f64(20)}, Series: []Series{{X: []float64{1, 2}, Y: []float64{1, 2}, Markers: true}}},
			noData: true, notes: []string{"2 points outside the axis bounds not shown"}},
		{name: "line: long labels", c: Line{Title: long, X: Axis{Label: long, Unit: long}, Y: Axis{Label: long}, Annotations: []string{long},
			Series: []Series{{Name: long, X: []float64{1, 2}, Y: []float64{1, 2}, Markers: true}, {Name: long, X: []float64{1, 2}, Y: []float64{2, 1}}}}, points: 2, nonote: true},
		{name: "line: tiny size", c: Line{Width: 1, Height: 1, Annotations: []string{"a", "b", "c", "d", "e", "f", "g", "h"},
			Series: []Series{{X: []float64{1, nan}, Y: []float64{1, 2}, Markers: true}}}, points: 1, minSize: true, notes: []string{"1 point with NaN"}},
		{name: "line: 20 series", c: Line{Series: manySeries(20)}, points: 40, nonote: true},

		{name: "strip: single point", c: Strip{Points: []StripPoint{{Group: "A", Y: 3}}, Box: true, Paired: true}, points: 1, nonote: true},
		{name: "strip: all equal", c: Strip{Points: []StripPoint{{Group: "A", Y: 3}, {Group: "B", Y: 3}}, Box: true}, points: 2, nonote: true},
		{name: "strip: empty", c: Strip{Groups: []string{"IL-2", "LCL"}}, noData: true},
		{name: "strip: nothing", c: Strip{}, noData: true},
		{name: "strip: ≤ 0 on log", c: Strip{Y: Axis{Log: true}, Points: []StripPoint{{Group: "A", Y: 0}, {Group: "A", Y: 10}, {Group: "B", Y: -2}}, Box: true},
			points: 1, notes: []string{"2 values with y ≤ 0 not shown on the log y axis"}},
		{name: "strip: NaN", c: Strip{Points: []StripPoint{{Group: "A", Y: nan}, {Group: "A", Y: inf}, {Group: "A", Y: 1}}, Box: true},
			points: 1, notes: []string{"2 values with NaN or ±Inf dropped"}},
		{name: "strip: huge", c: Strip{Points: []StripPoint{{Group: "A", Y: -math.MaxFloat64}, {Group: "A", Y: math.MaxFloat64}, {Group: "B", Y: 0}}, Box: true},
			points: 3, nonote: true},
		{name: "strip: box beyond bounds", c: Strip{Y: Axis{Min: f64(0), Max: f64(1)}, Points: []StripPoint{{Group: "A", Y: 0.5}, {Group: "A", Y: 5}, {Group: "A", Y: 9}}, Box: true},
			points: 1, notes: []string{"2 values outside the axis bounds not shown"}},
		{name: "strip: many groups and donors", c: manyStrip(40, 30), points: 1200, nonote: true},
		{name: "strip: long names", c: Strip{GroupLabel: long, Groups: []string{long, long + "2"}, Y: Axis{Label: long},
			Points: []StripPoint{{Group: long, Subject: long, Y: 1}, {Group: long + "2", Subject: long, Y: 2}}, Paired: true}, points: 2, nonote: true},

		{name: "scatter: single point", c: Scatter{Points: []ScatterPoint{{X: 1, Y: 1, Highlight: true, Label: "x"}}}, points: 1, nonote: true},
		{name: "scatter: all equal", c: Scatter{Points: []ScatterPoint{{X: 2, Y: 2, Highlight: true}, {X: 2, Y: 2, Highlight: true}}}, points: 2, nonote: true},
		{name: "scatter: empty", c: Scatter{HighlightName: "front"}, noData: true},
		{name: "scatter: ≤ 0 and NaN on log", c: Scatter{X: Axis{Log: true}, Y: Axis{Log: true}, Points: []ScatterPoint{{X: 0, Y: 1}, {X: 1, Y: -1}, {X: nan, Y: 1}, {X: 10, Y: 10}}},
			points: 1, notes: []string{"1 point with NaN or ±Inf dropped", "1 point with x ≤ 0", "1 point with y ≤ 0"}},
		{name: "scatter: huge", c: Scatter{Points: []ScatterPoint{{X: -math.MaxFloat64, Y: math.MaxFloat64, Highlight: true}, {X: math.MaxFloat64, Y: -math.MaxFloat64, Highlight: true}}}, points: 2, nonote: true},
		{name: "scatter: long label", c: Scatter{Points: []ScatterPoint{{X: 1, Y: 1, Label: long}, {X: 2, Y: 2, Label: long}}}, points: 2, nonote: true},

		{name: "density: single event", c: Density{EventX: []float64{1}, EventY: []float64{2}}, nonote: true},
		{name: "density: all equal", c: Density{EventX: []float64{1, 1, 1}, EventY: []float64{2, 2, 2}}, nonote: true},
		{name: "density: empty", c: Density{}, noData: true},
		{name: "density: NaN only", c: Density{EventX: []float64{nan, inf}, EventY: []float64{1, 1}}, noData: true, notes: []string{"2 events with NaN or ±Inf dropped"}},
		{name: "density: ≤ 0 on log", c: Density{X: Axis{Log: true}, EventX: []float64{0, 1, 10}, EventY: []float64{1, 2, 3}}, notes: []string{"1 event with x ≤ 0"}},
		{name: "density: huge", c: Density{EventX: []float64{-math.MaxFloat64, math.MaxFloat64, 0}, EventY: []float64{math.MaxFloat64, 0, -math.MaxFloat64}}, nonote: true},
		{name: "density: subnormal", c: Density{X: Axis{Log: true}, EventX: []float64{5e-324, 1e-320}, EventY: []float64{5e-324, 1e-323}}, nonote: true},
		{name: "density: bins out of range", c: Density{Bins: 1 << 30, EventX: []float64{1, 2}, EventY: []float64{1, 2}}, nonote: true},
		{name: "density: gates outside", c: Density{X: Axis{Min: f64(0), Max: f64(1)}, Y: Axis{Min: f64(0), Max: f64(1)}, EventX: []float64{0.5}, EventY: []float64{0.5},
			Gates: []Gate{{Name: "far", X: []float64{5, 6, 6}, Y: []float64{5, 5, 6}}, {Name: "huge", X: []float64{-1e308, 1e308, 1e308}, Y: []float64{-1e308, -1e308, 1e308}}}}, nonote: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svg := tc.c.SVG()
			root := checkSVG(t, svg)
			if got := len(titledCircles(root)); got != tc.points {
				t.Errorf("got %d titled circles, want %d", got, tc.points)
			}
			if got := len(root.withClass("no-data")) == 1; got != tc.noData {
				t.Errorf("No data shown: got %v, want %v", got, tc.noData)
			}
			desc := root.child("desc").text
			for _, n := range tc.notes {
				if !strings.Contains(desc, n) {
					t.Errorf("desc lacks %q: %q", n, desc)
				}
			}
			if tc.nonote && strings.Contains(desc, "Note:") {
				t.Errorf("desc has a note, want none: %q", desc)
			}
			if tc.minSize && (root.attr["width"] != "200" || root.attr["height"] != "200") {
				t.Errorf("size %s × %s, want 200 × 200", root.attr["width"], root.attr["height"])
			}
			x0, y0, x1, y1 := plotArea(t, root)
			if !(x1-x0 >= 40 && y1-y0 >= 40) {
				t.Errorf("plot area %g × %g, want at least 40 × 40", x1-x0, y1-y0)
			}
			for _, c := range titledCircles(root) {
				if cx, cy := c.num(t, "cx"), c.num(t, "cy"); cx < x0-0.01 || cx > x1+0.01 || cy < y0-0.01 || cy > y1+0.01 {
					t.Errorf("point (%g, %g) outside the plot area", cx, cy)
				}
			}
			if !bytes.Equal(svg, tc.c.SVG()) {
				t.Error("two renderings differ")
			}
			readCSVBytes(t, tc.c.CSV())
		})
	}
}

func manySeries(n int) []Series {
	var s []Series
	for i := range n {
		s = append(s, Series{Name: "s" + string(rune('A'+i)), X: []float64{0, 1}, Y: []float64{float64(i), float64(i + 1)}, Markers: true, Dashed: i%3 == 0})
	}
	return s
}

func manyStrip(groups, donors int) Strip {
	var pts []StripPoint
	for g := range groups {
		for d := range donors {
			pts = append(pts, StripPoint{Group: "G" + string(rune('A'+g)), Subject: "D" + string(rune('a'+d)), Y: float64((g*7+d*3)%23 + 1)})
		}
	}
	return Strip{Points: pts, Paired: true, Box: true}
}

// TestEscaping checks that names with markup characters arrive intact as text and never as
// markup, in titles, labels, legends, hover texts and the CSV.
func TestEscaping(t *testing.T) {
	const evil = `<b>A&B "quoted" 'x'</b></svg><script>alert(1)</script>`
	charts := map[string]Chart{
		"line": Line{Title: evil, X: Axis{Label: evil, Unit: evil}, Annotations: []string{evil},
			Series: []Series{{Name: evil, X: []float64{1, 2}, Y: []float64{1, 2}, Markers: true, Titles: []string{evil}}, {Name: "b", X: []float64{1}, Y: []float64{1}}}},
		"strip":   Strip{Title: evil, GroupLabel: evil, Points: []StripPoint{{Group: evil, Subject: evil, Y: 1, Title: evil}}, Paired: true, Box: true},
		"scatter": Scatter{Title: evil, HighlightName: evil, Points: []ScatterPoint{{X: 1, Y: 1, Label: evil, Title: evil, Highlight: true}}},
		"density": Density{Title: evil, X: Axis{Label: evil}, EventX: []float64{1}, EventY: []float64{1}, Gates: []Gate{{Name: evil, X: []float64{0, 2, 2}, Y: []float64{0, 0, 2}}}},
	}
	for name, c := range charts {
		t.Run(name, func(t *testing.T) {
			svg := c.SVG()
			if bytes.Contains(svg, []byte("<script")) || bytes.Contains(svg, []byte("<b>")) {
				t.Fatal("markup from a name reached the SVG unescaped")
			}
			root := checkSVG(t, svg)
			if root.attr["aria-label"] != evil || root.child("title").text != evil {
				t.Errorf("title: got %q, want %q", root.child("title").text, evil)
			}
			found := 0
			var walk func(n *node)
			walk = func(n *node) {
				if strings.Contains(n.text, "A&B \"quoted\"") {
					found++
				}
				for _, c := range n.children {
					walk(c)
				}
			}
			walk(root)
			if found < 3 {
				t.Errorf("the name arrived intact in %d texts, want at least 3", found)
			}
			rows := readCSVBytes(t, c.CSV())
			if !strings.Contains(strings.Join(rows[0], "")+strings.Join(rows[len(rows)-1], ""), "<b>A&B \"quoted\"") {
				t.Errorf("CSV lost the name: %q", rows)
			}
		})
	}
}

// TestInvalidUTF8 checks that bytes that are not UTF-8, and characters XML forbids, do not
// break the document.
func TestInvalidUTF8(t *testing.T) {
	bad := "a\xff\xfeb\x00c\x1bd\uFFFE"
	c := Line{Title: bad, Series: []Series{{Name: bad, X: []float64{1}, Y: []float64{1}, Markers: true}}}
	checkSVG(t, c.SVG())
}

// TestCSV checks the headers with units, full precision, empty cells for non-finite values,
// and the neutralising of cells a spreadsheet would run as formulas.
func TestCSV(t *testing.T) {
	c := Line{
		X: Axis{Label: "Day", Unit: "d"},
		Y: Axis{Label: "Viable cells", Unit: "cells"},
		Series: []Series{{Name: "=HYPERLINK(\"http://x\")", X: []float64{0, 1.0 / 3}, Y: []float64{2e6, math.NaN()}},
			{Name: "-2 donors", X: []float64{-1}, Y: []float64{-2.5}}},
	}
	got := string(c.CSV())
	want := "series,Day (d),Viable cells (cells)\n" +
		"\"'=HYPERLINK(\"\"http://x\"\")\",0,2e+06\n" +
		"\"'=HYPERLINK(\"\"http://x\"\")\",0.3333333333333333,\n" +
		"'-2 donors,-1,-2.5\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	s := pairedStrip()
	rows := readCSVBytes(t, s.CSV())
	if h := strings.Join(rows[0], "|"); h != "Protocol|subject|NK fold expansion (×)" {
		t.Errorf("strip header: got %q", h)
	}
	if len(rows) != 19 {
		t.Errorf("strip CSV: got %d rows, want 19", len(rows))
	}
	p := paretoChart()
	rows = readCSVBytes(t, p.CSV())
	if h := strings.Join(rows[0], "|"); h != "label|Patient doses per donor (doses)|Killing, LU30 (per 10⁷ NK)|Pareto front" {
		t.Errorf("scatter header: got %q", h)
	}
	if r := strings.Join(rows[3], "|"); r != "EBV-LCL + IL-2: 9.8 doses/donor|9.8|310|true" {
		t.Errorf("scatter row: got %q", r)
	}
}
