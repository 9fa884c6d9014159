package chart

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/clink-consortium/clink/stats"
)

// TestQuantile7 checks R's type-7 quantiles against hand arithmetic with h = (n − 1)p:
// for 1…10, h = 2.25 at p = ¼ gives 3 + 0.25·(4 − 3) = 3.25 and h = 6.75 at p = ¾ gives 7.75.
func TestQuantile7(t *testing.T) {
	tests := []struct {
		x    []float64
		p    float64
		want float64
	}{
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.25, 3.25},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.5, 5.5},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.75, 7.75},
		{[]float64{1, 2, 3, 4}, 0.25, 1.75},
		{[]float64{1, 3, 7}, 0.25, 2},
		{[]float64{1, 3, 7}, 0.75, 5},
		{[]float64{42}, 0.25, 42},
		{[]float64{2, 2, 2}, 0.75, 2},
		{[]float64{-math.MaxFloat64, math.MaxFloat64}, 0.5, 0}, // (1 − h)a + hb does not overflow
	}
	for _, tc := range tests {
		if got := quantile7(tc.x, tc.p); got != tc.want {
			t.Errorf("quantile7(%v, %g): got %g, want %g", tc.x, tc.p, got, tc.want)
		}
	}
	// The same numbers as the stats package's Quantile7 (h = 1 + (n − 1)p, counted from 1).
	for n := 1; n <= 30; n++ {
		x := make([]float64, n)
		for i := range x {
			x[i] = math.Sin(float64(i*i+7)) * 100
		}
		slices.Sort(x)
		for _, p := range []float64{0, 0.1, 0.25, 0.5, 0.75, 0.9, 1} {
			if got, want := quantile7(x, p), stats.Quantile7(x, p); math.Abs(got-want) > 1e-12 {
				t.Errorf("n = %d, p = %g: got %g, stats.Quantile7 %g", n, p, got, want)
			}
		}
	}
}

// TestStripBox checks the box of 1, 2, …, 9, 100 against hand arithmetic with type-7 quartiles
// (h = (n − 1)p counted from 0): h(¼) = 2.25 gives 3.25, h(½) = 4.5 gives 5.5, h(¾) = 6.75 gives
// 7.75. The IQR is 4.5, so the fences are −3.5 and 14.5: the whiskers end at 1 and 9, and 100
// lies beyond.
func TestStripBox(t *testing.T) {
	var pts []StripPoint
	for _, v := range []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 100} {
		pts = append(pts, StripPoint{Group: "A", Y: v})
	}
	c := Strip{Title: "box", Y: Axis{Min: f64(0), Max: f64(100)}, Points: pts, Box: true}
	root := checkSVG(t, c.SVG())
	_, y0, _, y1 := plotArea(t, root)
	yOf := func(v float64) float64 { return y1 - (y1-y0)*v/100 }
	box := root.withClass("box")
	if len(box) != 1 {
		t.Fatalf("got %d boxes, want 1", len(box))
	}
	want := "A: n = 10, median 5.5, quartiles 3.25 to 7.75, whiskers 1 to 9"
	if got := box[0].child("title").text; got != want {
		t.Errorf("box title: got %q, want %q", got, want)
	}
	r := box[0].child("rect")
	near(t, "box top (Q3)", r.num(t, "y"), yOf(7.75), 0.01)
	near(t, "box bottom (Q1)", r.num(t, "y")+r.num(t, "height"), yOf(3.25), 0.01)
	med := box[0].withClass("median")[0]
	near(t, "median", med.num(t, "y1"), yOf(5.5), 0.01)
	lines := box[0].all("line")
	near(t, "lower whisker", lines[0].num(t, "y1"), yOf(1), 0.01)
	near(t, "upper whisker", lines[1].num(t, "y2"), yOf(9), 0.01)
	if got := len(titledCircles(root)); got != 10 {
		t.Errorf("got %d titled circles, want 10", got)
	}
}

// TestStripPaired checks the donor lines and lanes: each donor keeps its lateral offset in
// every group, a line joins neighbouring groups where the donor has values, and a donor with
// a gap gets no line across it.
func TestStripPaired(t *testing.T) {
	groups := []string{"G1", "G2", "G3"}
	var pts []StripPoint
	for d, donor := range []string{"D1", "D2", "D3", "D4"} {
		for g, grp := range groups {
			if donor == "D4" && grp == "G2" {
				continue // D4 has no value in G2
			}
			pts = append(pts, StripPoint{Group: grp, Subject: donor, Y: float64(10*(g+1) + d)})
		}
	}
	c := Strip{Title: "paired", Groups: groups, Y: Axis{Label: "yield"}, Points: pts, Paired: true}
	svg := c.SVG()
	root := checkSVG(t, svg)
	x0, _, x1, _ := plotArea(t, root)
	slot := (x1 - x0) / 3
	circles := titledCircles(root)
	if len(circles) != 11 {
		t.Fatalf("got %d titled circles, want 11", len(circles))
	}
	offsets := map[string][]float64{}
	for i, cl := range circles {
		g := pts[i].Group[1] - '1'
		offsets[pts[i].Subject] = append(offsets[pts[i].Subject], cl.num(t, "cx")-(x0+(float64(g)+0.5)*slot))
	}
	for donor, off := range offsets {
		for _, o := range off[1:] {
			near(t, donor+" lateral offset", o, off[0], 0.011)
		}
	}
	near(t, "the first donor's offset from the centre", offsets["D1"][0], 0, 0.011)
	paths := root.withClass("pairs")[0].all("path")
	if len(paths) != 3 {
		t.Fatalf("got %d donor lines, want 3 (D4 has no neighbouring pair)", len(paths))
	}
	for i, p := range paths {
		if got := len(pathPoints(t, p.attr["d"])); got != 1 {
			t.Errorf("line %d: got %d subpaths, want 1", i, got)
		}
		if got, want := p.child("title").text, fmt.Sprintf("D%d", i+1); got != want {
			t.Errorf("line %d: got title %q, want %q", i, got, want)
		}
	}
	if got, want := circles[0].child("title").text, "G1 — D1: 10"; got != want {
		t.Errorf("default title: got %q, want %q", got, want)
	}
	if !bytes.Equal(svg, c.SVG()) {
		t.Error("two renderings of the same strip chart differ")
	}
	// Group labels and counts under the axis.
	var texts []string
	for _, tx := range root.withClass("groups")[0].all("text") {
		texts = append(texts, tx.text)
	}
	if got := strings.Join(texts, "|"); got != "G1|n = 4|G2|n = 3|G3|n = 4" {
		t.Errorf("group labels: got %q", got)
	}
}

func TestVanDerCorput(t *testing.T) {
	want := []float64{0, 0.5, 0.25, 0.75, 0.125, 0.625, 0.375, 0.875}
	for n, w := range want {
		if got := vdc(n); got != w {
			t.Errorf("vdc(%d): got %g, want %g", n, got, w)
		}
	}
}

// TestStripGroupsOrder checks that listed groups come first, in order, even when empty, and
// unlisted groups follow in order of appearance.
func TestStripGroupsOrder(t *testing.T) {
	c := Strip{Groups: []string{"B", "Z"}, Points: []StripPoint{{Group: "C", Y: 1}, {Group: "B", Y: 2}, {Group: "A", Y: 3}}}
	groups, idx := c.groupsOf()
	if !slices.Equal(groups, []string{"B", "Z", "C", "A"}) || !slices.Equal(idx, []int{2, 0, 3}) {
		t.Errorf("got %q %v, want [B Z C A] [2 0 3]", groups, idx)
	}
	root := checkSVG(t, c.SVG())
	if got := len(root.withClass("groups")[0].all("text")); got != 8 {
		t.Errorf("got %d group texts, want 8", got)
	}
}
