package chart

import (
	"math"
	"strconv"
	"strings"
	"testing"
)

// pathPoints parses a path of M and L commands into its subpaths.
func pathPoints(tb testing.TB, d string) [][][2]float64 {
	tb.Helper()
	var subs [][][2]float64
	f := strings.Fields(d)
	for i := 0; i+1 < len(f); i += 2 {
		cmd := f[i][0]
		x, err1 := strconv.ParseFloat(f[i][1:], 64)
		y, err2 := strconv.ParseFloat(f[i+1], 64)
		if err1 != nil || err2 != nil || (cmd != 'M' && cmd != 'L') {
			tb.Fatalf("path %q: cannot read %q %q", d, f[i], f[i+1])
		}
		if cmd == 'M' || len(subs) == 0 {
			subs = append(subs, nil)
		}
		subs[len(subs)-1] = append(subs[len(subs)-1], [2]float64{x, y})
	}
	return subs
}

// TestLogAxisPixel checks point positions against the mapping written out by hand: on a log
// axis from 10⁶ to 10⁹ (bottom to top) a value v sits at y1 − (y1 − y0)·(log10 v − 6)/3, and on a
// linear axis from 0 to 21 a value x sits at x0 + (x1 − x0)·x/21.
func TestLogAxisPixel(t *testing.T) {
	c := Line{
		Title: "growth",
		X:     Axis{Label: "Day", Unit: "d", Min: f64(0), Max: f64(21)},
		Y:     Axis{Label: "Cells", Log: true, Min: f64(1e6), Max: f64(1e9)},
		Series: []Series{{Name: "NK", Markers: true,
			X: []float64{0, 7, 14, 21},
			Y: []float64{1e6, math.Pow(10, 7.5), 2e8, 1e9}}},
	}
	root := checkSVG(t, c.SVG())
	x0, y0, x1, y1 := plotArea(t, root)
	circles := titledCircles(root)
	if len(circles) != 4 {
		t.Fatalf("got %d titled circles, want 4", len(circles))
	}
	wantY := []float64{y1, y0 + (y1-y0)/2, y1 - (y1-y0)*(math.Log10(2)+2)/3, y0}
	wantX := []float64{x0, x0 + (x1-x0)/3, x0 + 2*(x1-x0)/3, x1}
	for i, cl := range circles {
		near(t, "cx of point "+strconv.Itoa(i), cl.num(t, "cx"), wantX[i], 0.01)
		near(t, "cy of point "+strconv.Itoa(i), cl.num(t, "cy"), wantY[i], 0.01)
	}
	if got, want := circles[1].child("title").text, "NK — Day 7 d, Cells 3.162×10⁷"; got != want {
		t.Errorf("default title: got %q, want %q", got, want)
	}
	// The y ticks are the decades, each at its pixel.
	var labels []string
	for _, tx := range root.withClass("y-axis")[0].all("text") {
		labels = append(labels, tx.text)
		v, _ := strconv.ParseFloat(strings.NewReplacer("10⁶", "1e6", "10⁷", "1e7", "10⁸", "1e8", "10⁹", "1e9").Replace(tx.text), 64)
		near(t, "tick "+tx.text, tx.num(t, "y")-4, y1-(y1-y0)*(math.Log10(v)-6)/3, 0.01)
	}
	if strings.Join(labels, " ") != "10⁶ 10⁷ 10⁸ 10⁹" {
		t.Errorf("y tick labels: got %q, want 10⁶ 10⁷ 10⁸ 10⁹", labels)
	}
}

// TestLineSeries checks markers, titles, curves, dashes and the legend.
func TestLineSeries(t *testing.T) {
	c := cytotoxChart()
	root := checkSVG(t, c.SVG())
	circles := titledCircles(root)
	if len(circles) != 5 {
		t.Fatalf("got %d titled circles, want 5 (the measured points; the curve has no markers)", len(circles))
	}
	titles := []string{circles[0].child("title").text, circles[1].child("title").text, circles[4].child("title").text}
	want := []string{"E:T 1:1, lysis 12.1 % (CV 4 %)", "Measured (mean of 3 wells) — E:T 2 NK per target, Specific lysis 21.5 %", "E:T 16:1, lysis 71.9 % (CV 2 %)"}
	for i := range want {
		if titles[i] != want[i] {
			t.Errorf("title %d: got %q, want %q", i, titles[i], want[i])
		}
	}
	paths := root.all("path")
	if len(paths) != 2 {
		t.Fatalf("got %d paths, want 2", len(paths))
	}
	if got := paths[1].child("title").text; got != "Exponential fit" {
		t.Errorf("curve title: got %q, want %q", got, "Exponential fit")
	}
	if got := len(pathPoints(t, paths[1].attr["d"])[0]); got != 61 {
		t.Errorf("curve: got %d vertices, want 61", got)
	}
	if len(root.withClass("legend")) != 1 || len(root.withClass("legend")[0].all("text")) != 2 {
		t.Error("want a legend of 2 entries")
	}
	if a := root.withClass("annotation"); len(a) != 1 || a[0].text != "LU30 = 507 per 10⁷ NK (k = 0.0905)" {
		t.Errorf("annotation: got %v", a)
	}
	g := growthChart()
	root = checkSVG(t, g.SVG())
	if p := root.all("path"); len(p) != 2 || p[0].attr["stroke-dasharray"] != "" || p[1].attr["stroke-dasharray"] != "6 4" {
		t.Errorf("want a solid then a dashed line")
	}
	if got := len(titledCircles(root)); got != 20 {
		t.Errorf("growth chart: got %d titled circles, want 20", got)
	}
}

// TestLineClipping checks that a curve leaving fixed bounds is cut at the plot area, and that
// markers outside are left out with a note.
func TestLineClipping(t *testing.T) {
	c := Line{
		Title: "clipped",
		X:     Axis{Min: f64(0), Max: f64(10)},
		Y:     Axis{Min: f64(0), Max: f64(100)},
		Series: []Series{
			{Name: "curve", X: []float64{-5, 0, 5, 10, 15}, Y: []float64{-50, 0, 150, 50, 1e300}},
			{Name: "points", X: []float64{1, 2, 20}, Y: []float64{10, 200, 50}, Markers: true},
		},
	}
	root := checkSVG(t, c.SVG())
	x0, y0, x1, y1 := plotArea(t, root)
	for _, p := range root.all("path") {
		for _, sub := range pathPoints(t, p.attr["d"]) {
			for _, pt := range sub {
				if pt[0] < x0-0.01 || pt[0] > x1+0.01 || pt[1] < y0-0.01 || pt[1] > y1+0.01 {
					t.Errorf("path vertex %v outside the plot area [%g, %g]×[%g, %g]", pt, x0, x1, y0, y1)
				}
			}
		}
	}
	// The curve rises through y = 100 between x = 0 and 5 (at x = 10/3) and comes back at
	// x = 7.5: the clipped path has two subpaths.
	subs := pathPoints(t, root.all("path")[0].attr["d"])
	if len(subs) != 2 {
		t.Fatalf("curve: got %d subpaths, want 2: %v", len(subs), subs)
	}
	near(t, "exit x", subs[0][len(subs[0])-1][0], x0+(x1-x0)*(10.0/3)/10, 0.01)
	near(t, "re-entry x", subs[1][0][0], x0+(x1-x0)*7.5/10, 0.01)
	if got := len(titledCircles(root)); got != 1 {
		t.Errorf("got %d markers, want 1 (two are outside the bounds)", got)
	}
	if !strings.Contains(root.child("desc").text, "2 points outside the axis bounds not shown") {
		t.Errorf("desc lacks the note on points outside: %q", root.child("desc").text)
	}
}
