package chart

import (
	"bytes"
	"image"
	"image/color"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/clink-consortium/clink/fcs"
)

// step is a horizontal piece of a histogram's outline: from x0 to x1 at row y.
type step struct{ x0, x1, y float64 }

// outlineSteps reads the horizontal pieces of the outline of a histogram from its path, which
// is made of absolute M, H, V and Z commands.
func outlineSteps(tb testing.TB, d string) []step {
	tb.Helper()
	var out []step
	var x, y float64
	f := strings.Fields(d)
	num := func(s string) float64 {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			tb.Fatalf("path %q: %v", d, err)
		}
		return v
	}
	for i := 0; i < len(f); i++ {
		switch c, arg := f[i][0], f[i][1:]; c {
		case 'M':
			x, y = num(arg), num(f[i+1])
			i++
		case 'H':
			nx := num(arg)
			out = append(out, step{x, nx, y})
			x = nx
		case 'V':
			y = num(arg)
		case 'Z':
		default:
			tb.Fatalf("path %q: unexpected %q", d, f[i])
		}
	}
	return out
}

// barTops returns the row of the outline above the centre of each of n equal bins between x0
// and x1.
func barTops(tb testing.TB, root *node, n int, x0, x1 float64) []float64 {
	tb.Helper()
	paths := root.withClass("counts")
	if len(paths) != 1 {
		tb.Fatalf("got %d count outlines, want 1", len(paths))
	}
	steps := outlineSteps(tb, paths[0].attr["d"])
	tops := make([]float64, n)
	for k := range n {
		c := x0 + (x1-x0)*(float64(k)+0.5)/float64(n)
		found := 0
		for _, s := range steps {
			if math.Min(s.x0, s.x1) < c && c < math.Max(s.x0, s.x1) {
				tops[k] = s.y
				found++
			}
		}
		if found != 1 {
			tb.Fatalf("bin %d: %d horizontal pieces of the outline over x = %g, want 1 (path %q)", k, found, c, paths[0].attr["d"])
		}
	}
	return tops
}

// axisLabels returns the tick labels of the axis group with the given class.
func axisLabels(root *node, class string) []string {
	var out []string
	for _, g := range root.withClass(class) {
		for _, t := range g.all("text") {
			out = append(out, t.text)
		}
	}
	return out
}

func checkRows(tb testing.TB, got, want [][]string) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("got %d CSV rows %q, want %d %q", len(got), got, len(want), want)
	}
	for i := range want {
		if strings.Join(got[i], ",") != strings.Join(want[i], ",") {
			tb.Errorf("CSV row %d: got %q, want %q", i, got[i], want[i])
		}
	}
}

// TestHistogramBins checks binning by hand on 8 bins over [0, 8]: each bin is one unit wide
// and holds [k, k+1), an event on the upper bound falls in the last bin, and events that
// cannot be placed are counted in notes. The count axis runs from 0 to 5 (it reaches at
// least 5), so a bin of c events reaches c/5 of the plot's height.
func TestHistogramBins(t *testing.T) {
	inf := math.Inf(1)
	h := Histogram{
		Title: "bins",
		X:     Axis{Label: "A", Min: f64(0), Max: f64(8)},
		Bins:  8,
		Events: []float64{0, 0.5, 0.99, 1, 2.5, 3, 3, 3, 7.999, 8, // drawn: 10
			8.5, -0.1, // outside the bounds
			math.NaN(), inf, -inf}, // not finite
	}
	want := []int{3, 1, 1, 3, 0, 0, 0, 2}

	wantRows := [][]string{{"A from", "A to", "events"}}
	for k, c := range want {
		wantRows = append(wantRows, []string{strconv.Itoa(k), strconv.Itoa(k + 1), strconv.Itoa(c)})
	}
	checkRows(t, readCSVBytes(t, h.CSV()), wantRows)

	root := checkSVG(t, h.SVG())
	desc := root.child("desc").text
	for _, n := range []string{"Histogram of 10 events in 8 bins of equal width, at most 3 per bin.",
		"Note: 3 events with NaN or ±Inf dropped.", "Note: 2 events outside the axis bounds not shown."} {
		if !strings.Contains(desc, n) {
			t.Errorf("desc lacks %q: %q", n, desc)
		}
	}
	notes := strings.Join(axisLabels(root, "notes"), "|")
	if notes != "3 events with NaN or ±Inf dropped|2 events outside the axis bounds not shown" {
		t.Errorf("notes under the plot: got %q", notes)
	}
	if got := strings.Join(axisLabels(root, "y-axis"), " "); got != "0 1 2 3 4 5" {
		t.Errorf("count axis labels: got %q, want 0 to 5", got)
	}
	x0, y0, x1, y1 := plotArea(t, root)
	for k, y := range barTops(t, root, 8, x0, x1) {
		near(t, "top of bin "+strconv.Itoa(k), y, y1-(y1-y0)*float64(want[k])/5, 0.006)
	}
	bins := root.withClass("bin")
	wantTitles := []string{"A 0 to 1: 3 events", "A 1 to 2: 1 event", "A 2 to 3: 1 event", "A 3 to 4: 3 events", "A 7 to 8: 2 events"}
	wantX := []float64{0, 1, 2, 3, 7}
	if len(bins) != len(wantTitles) {
		t.Fatalf("got %d hover bars, want one per non-empty bin: %d", len(bins), len(wantTitles))
	}
	for i, b := range bins {
		if got := b.child("title").text; got != wantTitles[i] {
			t.Errorf("hover bar %d: got %q, want %q", i, got, wantTitles[i])
		}
		near(t, "hover bar x", b.num(t, "x"), x0+(x1-x0)*wantX[i]/8, 0.006)
		near(t, "hover bar width", b.num(t, "width"), (x1-x0)/8, 0.011)
		near(t, "hover bar foot", b.num(t, "y")+b.num(t, "height"), y1, 0.011)
	}
	if len(root.withClass("no-data")) != 0 {
		t.Error(`"No data" shown on a histogram with data`)
	}
}

// TestHistogramRanges checks the gate ranges: their shading covers [Min, Max) on the x axis
// (an infinite end reaching the axis end), their counts are of the drawn events with
// Min ≤ v < Max and their percentages of all drawn events, in the hover text, the label and the
// <desc>; ranges that cannot be drawn are noted; the CSV says which bins lie in each range.
//
// The events are 0, 0.5, …, 9.5 (20 of them) on [0, 10] in 10 bins of width 1, so by hand:
// low (−∞, 2) holds 0–1.5: 4 events, 20 %; mid [2.5, 5) holds 2.5–4.5: 5, 25 %; high [7, ∞)
// holds 7–9.5: 6, 30 %; [9.75, 12) holds none and reaches beyond the axis.
func TestHistogramRanges(t *testing.T) {
	var events []float64
	for k := range 20 {
		events = append(events, float64(k)/2)
	}
	inf := math.Inf(1)
	h := Histogram{
		X:      Axis{Label: "NKG2C", Unit: "logicle", Min: f64(0), Max: f64(10)},
		Bins:   10,
		Events: events,
		Ranges: []Range{
			{Name: "low", Min: -inf, Max: 2},
			{Name: "mid", Min: 2.5, Max: 5},
			{Name: "high", Min: 7, Max: inf},
			{Name: "nan", Min: math.NaN(), Max: 1},
			{Name: "backwards", Min: 5, Max: 3},
			{Name: "far", Min: 20, Max: 30},
			{Min: 9.75, Max: 12},
		},
	}
	root := checkSVG(t, h.SVG())
	x0, y0, x1, y1 := plotArea(t, root)
	at := func(v float64) float64 { return x0 + (x1-x0)*v/10 }
	want := []struct {
		from, to float64
		edges    []float64
		title    string
		label    string
	}{
		{0, 2, []float64{2}, "low: 4 of 20 events (20 %), NKG2C −∞ to 2 logicle", "low: 4 (20 %)"},
		{2.5, 5, []float64{2.5, 5}, "mid: 5 of 20 events (25 %), NKG2C 2.5 to 5 logicle", "mid: 5 (25 %)"},
		{7, 10, []float64{7}, "high: 6 of 20 events (30 %), NKG2C 7 to ∞ logicle", "high: 6 (30 %)"},
		{9.75, 10, []float64{9.75}, "Range 7: 0 of 20 events (0 %), NKG2C 9.75 to 12 logicle", "Range 7: 0 (0 %)"},
	}
	ranges, labels := root.withClass("range"), root.withClass("range-label")
	if len(ranges) != len(want) || len(labels) != len(want) {
		t.Fatalf("got %d ranges and %d labels, want %d", len(ranges), len(labels), len(want))
	}
	for i, w := range want {
		g := ranges[i]
		if got := g.child("title").text; got != w.title {
			t.Errorf("range %d title: got %q, want %q", i, got, w.title)
		}
		if got := labels[i].child("title").text; got != w.title {
			t.Errorf("range %d label's title: got %q, want %q", i, got, w.title)
		}
		if got := labels[i].all("text"); len(got) != 1 || got[0].text != w.label {
			t.Errorf("range %d label: got %v, want %q", i, got, w.label)
		}
		shade := g.withClass("range-shade")
		if len(shade) != 1 {
			t.Fatalf("range %d: got %d shades, want 1", i, len(shade))
		}
		s := shade[0]
		near(t, w.label+": shade from", s.num(t, "x"), at(w.from), 0.006)
		near(t, w.label+": shade to", s.num(t, "x")+s.num(t, "width"), at(w.to), 0.011)
		near(t, w.label+": shade top", s.num(t, "y"), y0, 0.006)
		near(t, w.label+": shade height", s.num(t, "height"), y1-y0, 0.006)
		edges := g.withClass("range-edge")
		if len(edges) != len(w.edges) {
			t.Fatalf("range %d: got %d edge lines, want %d", i, len(edges), len(w.edges))
		}
		for j, e := range edges {
			near(t, w.label+": edge", e.num(t, "x1"), at(w.edges[j]), 0.006)
		}
	}
	desc := root.child("desc").text
	for _, n := range []string{
		"Ranges: low: 4 of 20 events (20 %), NKG2C −∞ to 2 logicle; mid: 5 of 20 events (25 %)",
		`range "nan" not drawn: Min or Max is NaN`,
		`range "backwards" not drawn: Min 5 not below Max 3`,
		`range "far" (20 to 30) lies outside the x axis (0 to 10): not drawn`,
	} {
		if !strings.Contains(desc, n) {
			t.Errorf("desc lacks %q: %q", n, desc)
		}
	}

	rows := readCSVBytes(t, h.CSV())
	if got := strings.Join(rows[0], "|"); got != "NKG2C (logicle) from|NKG2C (logicle) to|events|in low|in mid|in high|in nan|in backwards|in far|in Range 7" {
		t.Errorf("CSV header: got %q", got)
	}
	// Bin [k, k+1) against low (−∞, 2), mid [2.5, 5), high [7, ∞) and [9.75, 12).
	wantIn := [][4]string{
		{"yes", "no", "no", "no"}, {"yes", "no", "no", "no"}, {"no", "partly", "no", "no"}, {"no", "yes", "no", "no"},
		{"no", "yes", "no", "no"}, {"no", "no", "no", "no"}, {"no", "no", "no", "no"}, {"no", "no", "yes", "no"},
		{"no", "no", "yes", "no"}, {"no", "no", "yes", "partly"},
	}
	if len(rows) != 11 {
		t.Fatalf("got %d CSV rows, want a header and 10 bins", len(rows))
	}
	for k, r := range rows[1:] {
		got := strings.Join([]string{r[0], r[1], r[2], r[3], r[4], r[5], r[9], r[6], r[7], r[8]}, ",")
		w := strconv.Itoa(k) + "," + strconv.Itoa(k+1) + ",2," + strings.Join(wantIn[k][:], ",") + ",no,no,no"
		if got != w {
			t.Errorf("bin %d: got %s, want %s (from, to, events, low, mid, high, 7th, nan, backwards, far)", k, got, w)
		}
	}
}

// TestHistogramLog checks a log event axis and a log count axis. The x axis [1, 10⁴] in 8 bins
// has half a decade per bin, [10^(k/2), 10^((k+1)/2)); events ≤ 0 are dropped with a note. The count axis runs from 0.5 (so
// that a bin of one event shows) to 100, labelled 1, 10, 100: a bin of c events reaches
// log(c/0.5)/log(200) of the plot's height, and the empty bin drops to the foot.
func TestHistogramLog(t *testing.T) {
	var events []float64
	for range 100 {
		events = append(events, 2)
	}
	for range 10 {
		events = append(events, 50)
	}
	events = append(events, 1e4, 0, -5, 2e4)
	h := Histogram{
		X:      Axis{Label: "CD56", Log: true, Min: f64(1), Max: f64(1e4)},
		Y:      Axis{Log: true},
		Bins:   8,
		Events: events,
	}
	// log10 2 = 0.30 is in bin 0, log10 50 = 1.70 in bin 3, 10⁴ on the upper bound in bin 7.
	want := []int{100, 0, 0, 10, 0, 0, 0, 1}
	rows := readCSVBytes(t, h.CSV())[1:]
	if len(rows) != 8 {
		t.Fatalf("got %d bins, want 8", len(rows))
	}
	for k, r := range rows {
		lo, _ := strconv.ParseFloat(r[0], 64)
		hi, _ := strconv.ParseFloat(r[1], 64)
		near(t, "bin "+strconv.Itoa(k)+" from", lo, math.Pow(10, float64(k)/2), 1e-12*lo)
		near(t, "bin "+strconv.Itoa(k)+" to", hi, math.Pow(10, float64(k+1)/2), 1e-12*hi)
		if r[2] != strconv.Itoa(want[k]) {
			t.Errorf("bin %d: got %s events, want %d", k, r[2], want[k])
		}
	}
	root := checkSVG(t, h.SVG())
	if got := strings.Join(axisLabels(root, "y-axis"), " "); got != "1 10 100" {
		t.Errorf("count axis labels: got %q, want 1 10 100", got)
	}
	x0, y0, x1, y1 := plotArea(t, root)
	for k, y := range barTops(t, root, 8, x0, x1) {
		wantY := y1
		if want[k] > 0 {
			wantY = y1 - (y1-y0)*math.Log10(float64(want[k])/0.5)/math.Log10(200)
		}
		near(t, "top of bin "+strconv.Itoa(k), y, wantY, 0.006)
	}
	desc := root.child("desc").text
	for _, n := range []string{"2 events with x ≤ 0 not shown on the log x axis", "1 event outside the axis bounds not shown", "y axis: Events, logarithmic, 0.5 to 100."} {
		if !strings.Contains(desc, n) {
			t.Errorf("desc lacks %q: %q", n, desc)
		}
	}
	if got := len(root.withClass("bin")); got != 3 {
		t.Errorf("got %d hover bars, want 3 (the non-empty bins)", got)
	}
}

// TestHistogramCountBounds checks fixed bounds on the count axis: bins beyond them are cut off
// at the top or drawn at the foot, with a note.
func TestHistogramCountBounds(t *testing.T) {
	events := []float64{0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 1.5, 2.5, 2.5, 2.5}
	tests := []struct {
		name string
		y    Axis
		note string
		tops []float64 // fractions of the plot's height, bins 0–2 (the rest are empty)
	}{
		{"linear Max", Axis{Max: f64(5)}, "1 bin above the y axis's Max 5 cut off", []float64{1, 0.2, 0.6}},
		{"log Min", Axis{Log: true, Min: f64(2), Max: f64(20)}, "1 bin below the y axis's Min 2 drawn at its foot", []float64{math.Log10(5), 0, math.Log10(1.5)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := Histogram{X: Axis{Min: f64(0), Max: f64(8)}, Y: tc.y, Bins: 8, Events: events}
			root := checkSVG(t, h.SVG())
			if d := root.child("desc").text; !strings.Contains(d, tc.note) {
				t.Errorf("desc lacks %q: %q", tc.note, d)
			}
			x0, y0, x1, y1 := plotArea(t, root)
			tops := barTops(t, root, 8, x0, x1)
			for k, f := range tc.tops {
				near(t, "top of bin "+strconv.Itoa(k), tops[k], y1-(y1-y0)*f, 0.006)
			}
		})
	}
}

// TestHistogramEmpty checks that a histogram without events is an empty frame with "No data"
// and a note, its ranges still shaded with no events in them.
func TestHistogramEmpty(t *testing.T) {
	for _, h := range []Histogram{
		{},
		{Y: Axis{Log: true}, X: Axis{Log: true}, Ranges: []Range{{Name: "NKG2C+", Min: 2, Max: 5}}},
		{X: Axis{Min: f64(0), Max: f64(1)}, Ranges: []Range{{Name: "NKG2C+", Min: 0.5, Max: math.Inf(1)}}},
	} {
		svg := h.SVG()
		root := checkSVG(t, svg)
		if len(root.withClass("no-data")) != 1 {
			t.Error(`no "No data"`)
		}
		if d := root.child("desc").text; !strings.Contains(d, "Note: no events.") {
			t.Errorf("desc lacks the note: %q", d)
		}
		if bytes.Contains(svg, []byte("NaN")) || bytes.Contains(svg, []byte("Inf")) {
			t.Errorf("NaN or Inf in the SVG:\n%s", svg)
		}
		if len(root.withClass("counts")) != 0 || len(root.withClass("bin")) != 0 {
			t.Error("counts drawn without events")
		}
		if len(h.Ranges) > 0 {
			l := root.withClass("range-label")
			if len(l) != 1 || l[0].all("text")[0].text != "NKG2C+: 0 (no events drawn)" {
				t.Errorf("range label: got %v", l)
			}
		}
		rows := readCSVBytes(t, h.CSV())
		if len(rows) != 257 {
			t.Errorf("got %d CSV rows, want a header and 256 empty bins", len(rows))
		}
		if _, err := h.PNG(); err != nil {
			t.Error(err)
		}
	}
}

// TestHistogramPNG checks the raster's size and pixels. On a 200 × 200 raster of 8 bins over
// [0, 8], each bin is 25 pixels wide; 4 events in bin 0 on the count axis fixed to 0–5 reach
// row 200 − 200·4/5 = 40. The colours are painted over white as in the SVG: the bar is Okabe–Ito
// blue (0, 114, 178) at opacity 0.35, 0.65·255 + 0.35·(0, 114, 178) = (166, 206, 228); the
// range [4, 6) is orange (230, 159, 0) at 0.15, 0.85·255 + 0.15·(230, 159, 0) = (251, 241, 217)
// over columns 100–149; the outline is solid blue.
func TestHistogramPNG(t *testing.T) {
	h := Histogram{
		Width: 200, Height: 200,
		X:      Axis{Min: f64(0), Max: f64(8)},
		Y:      Axis{Min: f64(0), Max: f64(5)},
		Bins:   8,
		Events: []float64{0.5, 0.5, 0.5, 0.5},
		Ranges: []Range{{Name: "r", Min: 4, Max: 6}},
	}
	img := decodePNG(t, mustHistogramPNG(t, h))
	if img.Bounds() != image.Rect(0, 0, 200, 200) {
		t.Fatalf("PNG bounds %v, want 200 × 200", img.Bounds())
	}
	white := color.NRGBA{255, 255, 255, 255}
	for _, c := range []struct {
		x, y int
		want color.NRGBA
	}{
		{12, 100, color.NRGBA{166, 206, 228, 255}}, // in the bar
		{12, 199, color.NRGBA{166, 206, 228, 255}},
		{12, 41, color.NRGBA{166, 206, 228, 255}},
		{12, 40, color.NRGBA{0, 114, 178, 255}}, // the bar's top
		{12, 39, white},                         // above it
		{24, 100, color.NRGBA{166, 206, 228, 255}},
		{25, 100, color.NRGBA{0, 114, 178, 255}}, // the step down to the empty bin 1
		{26, 100, white},
		{99, 100, white},
		{100, 100, color.NRGBA{251, 241, 217, 255}}, // the range
		{149, 100, color.NRGBA{251, 241, 217, 255}},
		{150, 100, white},
	} {
		checkColour(t, img, c.x, c.y, c.want)
	}

	for _, tc := range []struct {
		w, h, wantW, wantH int
	}{
		{0, 0, DefaultDensityWidth, DefaultDensityHeight},
		{640, 300, 640, 300},
		{1, 1, 200, 200},
		{5000, 300, 4096, 300},
	} {
		b := Histogram{Width: tc.w, Height: tc.h, Events: []float64{1, 2, 2, 3}}
		got := decodePNG(t, mustHistogramPNG(t, b)).Bounds()
		if got != image.Rect(0, 0, tc.wantW, tc.wantH) {
			t.Errorf("Width %d, Height %d: got a %d × %d PNG, want %d × %d", tc.w, tc.h, got.Dx(), got.Dy(), tc.wantW, tc.wantH)
		}
	}
}

func mustHistogramPNG(tb testing.TB, h Histogram) []byte {
	tb.Helper()
	b, err := h.PNG()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestHistogramEdgeCases draws histograms of awkward input: each is a well-formed, accessible
// SVG without non-finite coordinates, with "No data" exactly when nothing is drawn, the
// expected notes, a usable plot area, and the same bytes twice.
func TestHistogramEdgeCases(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	long := strings.Repeat("CD56 bright NKG2C+ adaptive NK ", 10)
	tests := []struct {
		name   string
		h      Histogram
		noData bool
		notes  []string
		nonote bool
	}{
		{name: "single event", h: Histogram{Events: []float64{3}}, nonote: true},
		{name: "all equal", h: Histogram{Events: []float64{2, 2, 2}}, nonote: true},
		{name: "all equal log", h: Histogram{X: Axis{Log: true}, Y: Axis{Log: true}, Events: []float64{2, 2, 2}}, nonote: true},
		{name: "NaN only", h: Histogram{Events: []float64{nan, inf, -inf}}, noData: true, notes: []string{"3 events with NaN or ±Inf dropped"}},
		{name: "≤ 0 on log", h: Histogram{X: Axis{Log: true}, Events: []float64{0, -1, 10}}, notes: []string{"2 events with x ≤ 0 not shown on the log x axis"}},
		{name: "huge", h: Histogram{Events: []float64{-math.MaxFloat64, 0, math.MaxFloat64}}, nonote: true},
		{name: "subnormal log", h: Histogram{X: Axis{Log: true}, Events: []float64{5e-324, 1e-320}}, nonote: true},
		{name: "bins out of range", h: Histogram{Bins: 1 << 30, Events: []float64{1, 2}}, nonote: true},
		{name: "bins too few", h: Histogram{Bins: 1, Events: []float64{1, 2}}, nonote: true},
		{name: "bad bounds", h: Histogram{X: Axis{Min: f64(nan), Max: f64(inf)}, Y: Axis{Log: true, Min: f64(-1), Max: f64(0)}, Events: []float64{1, 2}},
			notes: []string{"x axis: Min NaN ignored", "x axis: Max ∞ ignored", "y axis: Min −1 ignored", "y axis: Max 0 ignored"}},
		{name: "all outside", h: Histogram{X: Axis{Min: f64(10), Max: f64(20)}, Events: []float64{1, 2}}, noData: true, notes: []string{"2 events outside the axis bounds"}},
		{name: "one bound fixed", h: Histogram{X: Axis{Min: f64(1.5)}, Events: []float64{1, 2, 3}}, notes: []string{"1 event outside the axis bounds"}},
		{name: "ranges huge", h: Histogram{X: Axis{Min: f64(0), Max: f64(1)}, Events: []float64{0.5},
			Ranges: []Range{{Name: "all", Min: -math.MaxFloat64, Max: math.MaxFloat64}, {Name: "inf", Min: -inf, Max: inf}}}, nonote: true},
		{name: "range ≤ 0 on log", h: Histogram{X: Axis{Log: true, Min: f64(1), Max: f64(100)}, Events: []float64{5},
			Ranges: []Range{{Name: "from 0", Min: 0, Max: 10}, {Name: "negative", Min: -5, Max: -1}}},
			notes: []string{`range "negative" (−5 to −1) lies outside the x axis (1 to 100): not drawn`}},
		{name: "many ranges", h: Histogram{X: Axis{Min: f64(0), Max: f64(40)}, Events: []float64{1, 2, 3}, Ranges: manyRanges(40)}, nonote: true},
		{name: "long labels", h: Histogram{Title: long, X: Axis{Label: long, Unit: long}, Y: Axis{Label: long}, Annotations: []string{long},
			Events: []float64{1, 2}, Ranges: []Range{{Name: long, Min: 1, Max: 1.5}}}, nonote: true},
		{name: "tiny size", h: Histogram{Width: 1, Height: 1, Annotations: []string{"a", "b", "c", "d", "e", "f", "g", "h"},
			Events: []float64{1, nan}}, notes: []string{"1 event with NaN"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svg := tc.h.SVG()
			root := checkSVG(t, svg)
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
			x0, y0, x1, y1 := plotArea(t, root)
			if !(x1-x0 >= 40 && y1-y0 >= 40) {
				t.Errorf("plot area %g × %g, want at least 40 × 40", x1-x0, y1-y0)
			}
			for _, r := range root.withClass("range-shade") {
				if a, w := r.num(t, "x"), r.num(t, "width"); a < x0-0.01 || a+w > x1+0.01 || w < 0 {
					t.Errorf("range shade %g to %g outside the plot area %g to %g", a, a+w, x0, x1)
				}
			}
			if !bytes.Equal(svg, tc.h.SVG()) {
				t.Error("two renderings differ")
			}
			readCSVBytes(t, tc.h.CSV())
			h := tc.h
			h.Width, h.Height = 240, 200 // the raster at a small size: it is the same code at any
			if _, err := h.PNG(); err != nil {
				t.Error(err)
			}
		})
	}
}

func manyRanges(n int) []Range {
	var r []Range
	for i := range n {
		r = append(r, Range{Name: "R" + strconv.Itoa(i), Min: float64(i), Max: float64(i) + 1.5})
	}
	return r
}

// TestHistogramEscaping checks that markup in names arrives as text, in the title, labels,
// hover texts and CSV.
func TestHistogramEscaping(t *testing.T) {
	const evil = `<b>A&B "quoted" 'x'</b></svg><script>alert(1)</script>`
	h := Histogram{Title: evil, X: Axis{Label: evil, Unit: evil}, Y: Axis{Label: evil}, Annotations: []string{evil},
		Events: []float64{1, 2}, Ranges: []Range{{Name: evil, Min: 0, Max: 1.5}}}
	svg := h.SVG()
	if bytes.Contains(svg, []byte("<script")) || bytes.Contains(svg, []byte("<b>")) {
		t.Fatal("markup from a name reached the SVG unescaped")
	}
	root := checkSVG(t, svg)
	if root.attr["aria-label"] != evil {
		t.Errorf("aria-label: got %q, want %q", root.attr["aria-label"], evil)
	}
	l := root.withClass("range-label")
	if len(l) != 1 || !strings.HasPrefix(l[0].child("title").text, evil+": 1 of 2 events (50 %)") {
		t.Errorf("range label: got %v", l)
	}
	rows := readCSVBytes(t, h.CSV())
	if rows[0][3] != "in "+evil {
		t.Errorf("CSV header: got %q", rows[0])
	}
}

// TestHistogramFCS draws a real file: FL1-H (CD4 FITC, scale values on a log axis) of data1.fcs
// from the Gating-ML 2.0 compliance suite. Every event is either binned or in a note, the CSV's
// counts add up to the file's events, and a range [10, ∞) counts what a direct count of the
// channel gives.
func TestHistogramFCS(t *testing.T) {
	path := filepath.Join(flowDir(t), "gatingml2", "FCSFiles", "data1.fcs")
	ds, err := fcs.ReadFile(path, fcs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ch, ok := ds.Channel("FL1-H")
	if !ok {
		t.Fatal("FL1-H missing")
	}
	events := ds.Scale(ch, nil)
	inRange := 0
	for _, v := range events {
		if v >= 10 {
			inRange++
		}
	}
	h := Histogram{
		Title:  "data1.fcs: CD4 FITC",
		X:      Axis{Label: "CD4 FITC", Log: true},
		Events: events,
		Ranges: []Range{{Name: "CD4+", Min: 10, Max: math.Inf(1)}},
	}
	d := h.bin(tickTargets(DefaultDensityWidth, DefaultDensityHeight))
	if d.inBins != ds.Len() || len(d.notes) != 0 {
		t.Errorf("binned %d of %d events, notes %q; want all, none", d.inBins, ds.Len(), d.notes)
	}
	if d.ranges[0].count != inRange {
		t.Errorf("range CD4+: got %d events, want %d", d.ranges[0].count, inRange)
	}
	sum := 0
	for _, r := range readCSVBytes(t, h.CSV())[1:] {
		n, _ := strconv.Atoi(r[2])
		sum += n
	}
	if sum != ds.Len() {
		t.Errorf("CSV counts add up to %d, want %d", sum, ds.Len())
	}
	root := checkSVG(t, h.SVG())
	if len(root.withClass("counts")) != 1 {
		t.Error("no count outline")
	}
	t.Logf("data1.fcs FL1-H: %d events, %d with FL1-H ≥ 10", ds.Len(), inRange)
}
