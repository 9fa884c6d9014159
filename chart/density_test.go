package chart

import (
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/clink-consortium/clink/fcs"
)

// TestViridis compares the ramp with matplotlib's whole 256-entry viridis table
// (testdata/viridis_mpl.csv, from lib/matplotlib/_cm_listed.py, CC0): entry i is the ramp at
// i/255, within 2/255 per channel; the ends are exactly #440154 and #FDE725.
func TestViridis(t *testing.T) {
	rows := readCSV(t, filepath.Join("testdata", "viridis_mpl.csv"))
	if len(rows) != 257 {
		t.Fatalf("got %d rows, want a header and 256 entries", len(rows))
	}
	worst := 0.0
	for _, r := range rows[1:] {
		i, _ := strconv.Atoi(r[0])
		got := viridis(float64(i) / 255)
		for ch, v := range []uint8{got.R, got.G, got.B} {
			want, err := strconv.ParseFloat(r[ch+1], 64)
			if err != nil {
				t.Fatal(err)
			}
			worst = math.Max(worst, math.Abs(float64(v)-want*255))
		}
	}
	if worst > 2 {
		t.Errorf("largest difference from matplotlib's viridis: %.2f/255, want at most 2", worst)
	}
	t.Logf("largest difference from matplotlib's viridis: %.2f/255", worst)
	if got := viridis(0); got != (color.NRGBA{0x44, 0x01, 0x54, 255}) {
		t.Errorf("viridis(0): got %v, want #440154", got)
	}
	if got := viridis(1); got != (color.NRGBA{0xFD, 0xE7, 0x25, 255}) {
		t.Errorf("viridis(1): got %v, want #FDE725", got)
	}
	if viridis(math.NaN()) != viridis(0) || viridis(2) != viridis(1) {
		t.Error("viridis does not clamp NaN and values above 1")
	}
}

func readCSV(tb testing.TB, path string) [][]string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return rows
}

// TestDensityBins checks binning by hand on an 8 × 8 grid over [0, 8]²: each bin is one unit
// wide, an event on the upper bound falls in the last bin, and events that cannot be placed
// are counted in notes.
func TestDensityBins(t *testing.T) {
	c := Density{
		Title:  "bins",
		X:      Axis{Label: "A", Min: f64(0), Max: f64(8)},
		Y:      Axis{Label: "B", Min: f64(0), Max: f64(8)},
		Bins:   8,
		EventX: []float64{0.5, 0.2, 0.9, 7.5, 8, 3.5, -1, math.NaN(), 2, math.Inf(1)},
		EventY: []float64{0.5, 0.7, 0.1, 7.5, 8, 0.5, 2, 2, 9, 1},
	}
	rows := readCSVBytes(t, c.CSV())
	want := [][]string{
		{"A from", "A to", "B from", "B to", "events"},
		{"0", "1", "0", "1", "3"},
		{"3", "4", "0", "1", "1"},
		{"7", "8", "7", "8", "2"},
	}
	if len(rows) != len(want) {
		t.Fatalf("got CSV %q, want %q", rows, want)
	}
	for i := range want {
		if strings.Join(rows[i], ",") != strings.Join(want[i], ",") {
			t.Errorf("CSV row %d: got %q, want %q", i, rows[i], want[i])
		}
	}
	// Pixels: row 0 is the top. Bin (0, 0) holds the most events: the top of the ramp. Bin (7, 7)
	// holds 2 of at most 3: level log 2/log 3. Bin (3, 0) holds one event: the bottom.
	img := decodePNG(t, mustPNG(t, c))
	if img.Bounds() != image.Rect(0, 0, 8, 8) {
		t.Fatalf("PNG bounds %v, want 8 × 8", img.Bounds())
	}
	checkColour(t, img, 0, 7, viridis(1))
	checkColour(t, img, 7, 0, viridis(math.Round(math.Log(2)/math.Log(3)*254)/254))
	checkColour(t, img, 3, 7, viridis(0))
	checkColour(t, img, 4, 4, color.NRGBA{255, 255, 255, 255})

	root := checkSVG(t, c.SVG())
	desc := root.child("desc").text
	for _, n := range []string{"Density of 6 events on a grid of 8 × 8 bins", "2 events with NaN or ±Inf dropped", "2 events outside the axis bounds not shown"} {
		if !strings.Contains(desc, n) {
			t.Errorf("desc lacks %q: %q", n, desc)
		}
	}
	// The embedded PNG is the same raster.
	im := root.withClass("density")
	if len(im) != 1 {
		t.Fatalf("got %d density images, want 1", len(im))
	}
	uri := im[0].attr["xlink:href"]
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(uri, "data:image/png;base64,"))
	if err != nil {
		t.Fatal(err)
	}
	emb := decodePNG(t, raw)
	for y := range 8 {
		for x := range 8 {
			if emb.At(x, y) != img.At(x, y) {
				t.Fatalf("embedded PNG differs from PNG() at (%d, %d)", x, y)
			}
		}
	}
	x0, y0, x1, y1 := plotArea(t, root)
	if im[0].num(t, "x") != x0 || im[0].num(t, "y") != y0 || im[0].num(t, "width") != x1-x0 || im[0].num(t, "height") != y1-y0 {
		t.Error("the raster does not fill the plot area")
	}
}

// TestDensityLog checks a log axis: the bins are equal in log10, values ≤ 0 are dropped.
func TestDensityLog(t *testing.T) {
	c := Density{
		X:      Axis{Label: "A", Log: true, Min: f64(1), Max: f64(1e4)},
		Y:      Axis{Label: "B", Min: f64(0), Max: f64(1)},
		Bins:   8,
		EventX: []float64{1, 3, 10, 9999, 0, -5},
		EventY: []float64{0.5, 0.5, 0.5, 0.5, 0.5, 0.5},
	}
	// log10 x = 0, 0.477, 1, 4 on [0, 4] in 8 bins of 0.5: bins 0, 0, 2, 7.
	rows := readCSVBytes(t, c.CSV())[1:]
	want := [][3]float64{{1, math.Sqrt(10), 2}, {10, 10 * math.Sqrt(10), 1}, {1000 * math.Sqrt(10), 1e4, 1}}
	if len(rows) != len(want) {
		t.Fatalf("got %d bins %q, want %d", len(rows), rows, len(want))
	}
	for i, w := range want {
		for j, col := range []int{0, 1, 4} {
			v, err := strconv.ParseFloat(rows[i][col], 64)
			if err != nil || math.Abs(v-w[j]) > 1e-12*w[j] {
				t.Errorf("bin %d column %d: got %s, want %g", i, col, rows[i][col], w[j])
			}
		}
	}
	root := checkSVG(t, c.SVG())
	if d := root.child("desc").text; !strings.Contains(d, "2 events with x ≤ 0 not shown on the log x axis") {
		t.Errorf("desc lacks the note on values ≤ 0: %q", d)
	}
}

// TestDensityGates checks the gate outlines: vertices at their pixels, clipped to the plot
// area, unusable gates left out with a note.
func TestDensityGates(t *testing.T) {
	c := Density{
		Title:  "gates",
		X:      Axis{Min: f64(0), Max: f64(10)},
		Y:      Axis{Min: f64(0), Max: f64(10)},
		EventX: []float64{1, 2, 3},
		EventY: []float64{1, 2, 3},
		Gates: []Gate{
			{Name: "inside", X: []float64{2, 4, 4, 2}, Y: []float64{2, 2, 6, 6}},
			{Name: "half out", X: []float64{8, 12, 12, 8}, Y: []float64{1, 1, 3, 3}},
			{Name: "too few", X: []float64{1, math.NaN(), 3}, Y: []float64{1, 1, 1}},
		},
	}
	root := checkSVG(t, c.SVG())
	x0, y0, x1, y1 := plotArea(t, root)
	pix := func(x, y float64) string {
		return px(x0+(x1-x0)*x/10) + "," + px(y1-(y1-y0)*y/10)
	}
	gates := root.withClass("gate")
	if len(gates) != 2 {
		t.Fatalf("got %d gates, want 2", len(gates))
	}
	want := []string{
		strings.Join([]string{pix(2, 2), pix(4, 2), pix(4, 6), pix(2, 6)}, " "),
		strings.Join([]string{pix(8, 1), pix(10, 1), pix(10, 3), pix(8, 3)}, " "),
	}
	for i, g := range gates {
		polys := g.all("polygon")
		if len(polys) != 2 {
			t.Fatalf("gate %d: got %d polygons, want 2 (halo and outline)", i, len(polys))
		}
		if got := normalisePolygon(polys[1].attr["points"]); got != normalisePolygon(want[i]) {
			t.Errorf("gate %d: got points %q, want %q", i, polys[1].attr["points"], want[i])
		}
	}
	d := root.child("desc").text
	for _, n := range []string{`gate "too few" not drawn`, "1 gate vertex not finite"} {
		if !strings.Contains(d, n) {
			t.Errorf("desc lacks %q: %q", n, d)
		}
	}
}

// normalisePolygon sorts a polygon's vertices so that two listings of one polygon compare
// equal whatever vertex they start at.
func normalisePolygon(s string) string {
	f := strings.Fields(s)
	for i := 1; i < len(f); i++ {
		for j := i; j > 0 && f[j] < f[j-1]; j-- {
			f[j], f[j-1] = f[j-1], f[j]
		}
	}
	return strings.Join(f, " ")
}

// TestDensityFCS draws a real file: data1.fcs of the Gating-ML 2.0 compliance suite, CD4 FITC
// against CD3 PerCP (scale values, log axes). Every event is either binned or in a note, and the
// CSV's counts add up to the binned events.
func TestDensityFCS(t *testing.T) {
	path := filepath.Join(flowDir(t), "gatingml2", "FCSFiles", "data1.fcs")
	ds, err := fcs.ReadFile(path, fcs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cx, ok1 := ds.Channel("FL1-H")
	cy, ok2 := ds.Channel("FL3-H")
	if !ok1 || !ok2 {
		t.Fatal("FL1-H or FL3-H missing")
	}
	c := Density{
		Title:  "data1.fcs: CD4 FITC against CD3 PerCP",
		X:      Axis{Label: "CD4 FITC", Log: true},
		Y:      Axis{Label: "CD3 PerCP", Log: true},
		EventX: ds.Scale(cx, nil),
		EventY: ds.Scale(cy, nil),
	}
	nx, ny := tickTargets(DefaultDensityWidth, DefaultDensityHeight)
	g := c.grid(nx, ny)
	if g.inBins != ds.Len() || len(g.notes) != 0 {
		t.Errorf("binned %d of %d events, notes %q; want all, none", g.inBins, ds.Len(), g.notes)
	}
	sum := 0
	for _, r := range readCSVBytes(t, c.CSV())[1:] {
		n, _ := strconv.Atoi(r[4])
		sum += n
	}
	if sum != ds.Len() {
		t.Errorf("CSV counts add up to %d, want %d", sum, ds.Len())
	}
	root := checkSVG(t, c.SVG())
	if len(root.withClass("density")) != 1 {
		t.Error("no density raster")
	}
}

func mustPNG(tb testing.TB, c Density) []byte {
	tb.Helper()
	b, err := c.PNG()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func decodePNG(tb testing.TB, b []byte) image.Image {
	tb.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		tb.Fatal(err)
	}
	return img
}

func checkColour(tb testing.TB, img image.Image, x, y int, want color.NRGBA) {
	tb.Helper()
	got := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
	if got != want {
		tb.Errorf("pixel (%d, %d): got %v, want %v", x, y, got, want)
	}
}

func readCSVBytes(tb testing.TB, b []byte) [][]string {
	tb.Helper()
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		tb.Fatalf("CSV not readable: %v\n%s", err, b)
	}
	return rows
}
