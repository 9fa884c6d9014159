package chart

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// The charts below are the ones CLINK's pages draw, with made-up but plausible numbers. Their
// golden files show what a change does to the output; the numeric checks are in the other
// tests.

var growthDays = []float64{0, 3, 5, 7, 10, 12, 14, 17, 19, 21}

// growthChart is the culture page's growth chart: 2 series of 10 points on a log axis.
func growthChart() Line {
	return Line{
		Title: "Culture C-2026-014: growth",
		X:     Axis{Label: "Day", Unit: "d"},
		Y:     Axis{Label: "Cells", Unit: "cells", Log: true},
		Series: []Series{
			{Name: "Viable cells", X: growthDays, Markers: true,
				Y: []float64{2.0e6, 3.1e6, 5.8e6, 1.2e7, 3.5e7, 6.1e7, 1.05e8, 1.9e8, 2.6e8, 3.1e8}},
			{Name: "NK cells", X: growthDays, Markers: true, Dashed: true,
				Y: []float64{1.8e5, 4.0e5, 1.1e6, 3.3e6, 1.6e7, 3.4e7, 6.9e7, 1.45e8, 2.1e8, 2.6e8}},
		},
		Annotations: []string{"NK fold expansion at day 21: 1444×"},
	}
}

// cytotoxChart is an E:T curve with its fitted model: lysis = 100 (1 − e^(−k·E:T)).
func cytotoxChart() Line {
	const k = 0.0905
	var gx, gy []float64
	for i := range 61 {
		x := math.Pow(16, float64(i)/60) // 1 to 16 on a log grid
		gx = append(gx, x)
		gy = append(gy, 100*(1-math.Exp(-k*x)))
	}
	return Line{
		Title: "Calcein release, culture C-2026-014, day 21",
		X:     Axis{Label: "E:T", Unit: "NK per target", Log: true},
		Y:     Axis{Label: "Specific lysis", Unit: "%", Min: f64(0), Max: f64(100)},
		Series: []Series{
			{Name: "Measured (mean of 3 wells)", X: []float64{1, 2, 4, 8, 16}, Y: []float64{12.1, 21.5, 36.8, 55.2, 71.9}, Markers: true,
				Titles: []string{"E:T 1:1, lysis 12.1 % (CV 4 %)", "", "", "", "E:T 16:1, lysis 71.9 % (CV 2 %)"}},
			{Name: "Exponential fit", X: gx, Y: gy},
		},
		Annotations: []string{"LU30 = 507 per 10⁷ NK (k = 0.0905)"},
	}
}

// pairedStrip is the protocol comparison: 6 donors, each split over 3 protocols.
func pairedStrip() Strip {
	protocols := []string{"IL-2", "EBV-LCL + IL-2", "Dendrimer + IL-2"}
	fold := map[string][3]float64{
		"D01": {120, 850, 310}, "D02": {95, 610, 280}, "D03": {210, 1320, 540},
		"D04": {60, 400, 150}, "D05": {150, 990, 470}, "D06": {80, 720, 95},
	}
	var pts []StripPoint
	for _, d := range []string{"D01", "D02", "D03", "D04", "D05", "D06"} {
		for g, p := range protocols {
			pts = append(pts, StripPoint{Group: p, Subject: d, Y: fold[d][g]})
		}
	}
	return Strip{
		Title:       "NK fold expansion at day 21 by protocol",
		Groups:      protocols,
		GroupLabel:  "Protocol",
		Y:           Axis{Label: "NK fold expansion", Unit: "×", Log: true},
		Points:      pts,
		Paired:      true,
		Box:         true,
		Annotations: []string{"Friedman χ² = 12.0, p = 0.0025 (6 donors)"},
	}
}

// paretoChart is the Pareto chart of patient doses per donor against killing.
func paretoChart() Scatter {
	type row struct {
		name  string
		doses float64
		lu    float64
		front bool
	}
	rows := []row{
		{"IL-2 (v1)", 2.1, 180, false}, {"IL-2 + IL-15", 3.4, 260, false},
		{"EBV-LCL + IL-2", 9.8, 310, true}, {"K562-mbIL21", 14.2, 240, true},
		{"Dendrimer A", 5.5, 420, true}, {"Dendrimer B", 4.1, 350, false},
		{"Feeder-free", 7.2, 150, false}, {"IL-21 pulse", 12.0, 200, false},
	}
	var pts []ScatterPoint
	for _, r := range rows {
		pts = append(pts, ScatterPoint{X: r.doses, Y: r.lu, Highlight: r.front,
			Label: fmt.Sprintf("%s: %.1f doses/donor", r.name, r.doses)})
	}
	return Scatter{
		Title:         "Protocols: patient doses per donor against killing",
		X:             Axis{Label: "Patient doses per donor", Unit: "doses", Min: f64(0)},
		Y:             Axis{Label: "Killing, LU30", Unit: "per 10⁷ NK", Min: f64(0)},
		Points:        pts,
		HighlightName: "Pareto front",
	}
}

// densityPlot is an FCS gate plot: CD3 against CD56 with an NK and a T-cell gate.
func densityPlot(events int) Density {
	xs, ys := gaussianEvents(events)
	var ex, ey []float64
	for i := range 48 {
		a := 2 * math.Pi * float64(i) / 48
		ex = append(ex, 0.68+0.17*math.Cos(a))
		ey = append(ey, 0.30+0.14*math.Sin(a))
	}
	decades := []Tick{{0.2, "10²"}, {0.4, "10³"}, {0.6, "10⁴"}, {0.8, "10⁵"}}
	return Density{
		Title:  "C-2026-014 day 21: CD3 against CD56 (lymphocytes)",
		X:      Axis{Label: "CD3 PerCP", Unit: "logicle", Min: f64(0), Max: f64(1), Ticks: decades},
		Y:      Axis{Label: "CD56 PE", Unit: "logicle", Min: f64(0), Max: f64(1), Ticks: decades},
		EventX: xs,
		EventY: ys,
		Bins:   64, // keeps the golden CSV small; pages use the default 256
		Gates: []Gate{
			{Name: "NK (CD3− CD56+) 33.4 %", X: []float64{0.05, 0.42, 0.42, 0.05}, Y: []float64{0.5, 0.5, 0.92, 0.92}},
			{Name: "T (CD3+)", X: ex, Y: ey},
		},
	}
}

var dataURI = regexp.MustCompile(`data:image/png;base64,[A-Za-z0-9+/=]+`)

// TestGolden renders the example charts and compares them with testdata/*.golden.*. The
// density plot's embedded PNG is compared by its pixels (testdata/density.golden.png), since
// the bytes of a PNG may change with the Go version's compressor while the image does not.
func TestGolden(t *testing.T) {
	charts := []struct {
		name string
		c    Chart
	}{
		{"growth", growthChart()},
		{"cytotox", cytotoxChart()},
		{"strip", pairedStrip()},
		{"pareto", paretoChart()},
		{"density", densityPlot(50000)},
		{"histogram", histogramPlot(20000)},
	}
	for _, tc := range charts {
		t.Run(tc.name, func(t *testing.T) {
			svg := tc.c.SVG()
			checkSVG(t, svg)
			if !bytes.Equal(svg, tc.c.SVG()) {
				t.Fatal("two renderings of the same chart differ")
			}
			if d, ok := tc.c.(Density); ok {
				uris := dataURI.FindAll(svg, -1)
				if len(uris) != 1 {
					t.Fatalf("got %d PNG data URIs, want 1", len(uris))
				}
				svg = dataURI.ReplaceAll(svg, []byte("data:image/png;base64,…"))
				pngBytes, err := d.PNG()
				if err != nil {
					t.Fatal(err)
				}
				goldenImage(t, tc.name+".golden.png", pngBytes)
			}
			golden(t, tc.name+".golden.svg", svg)
			golden(t, tc.name+".golden.csv", tc.c.CSV())
		})
	}
}

// goldenImage compares a PNG with testdata/name pixel by pixel, or rewrites it under -update.
func goldenImage(tb testing.TB, name string, got []byte) {
	tb.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	wantBytes, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run go test -update to create it)", err)
	}
	g, err := png.Decode(bytes.NewReader(got))
	if err != nil {
		tb.Fatal(err)
	}
	w, err := png.Decode(bytes.NewReader(wantBytes))
	if err != nil {
		tb.Fatal(err)
	}
	if g.Bounds() != w.Bounds() {
		tb.Fatalf("%s: got bounds %v, want %v", name, g.Bounds(), w.Bounds())
	}
	diff := 0
	var first image.Point
	for y := g.Bounds().Min.Y; y < g.Bounds().Max.Y; y++ {
		for x := g.Bounds().Min.X; x < g.Bounds().Max.X; x++ {
			r1, g1, b1, a1 := g.At(x, y).RGBA()
			r2, g2, b2, a2 := w.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
				if diff == 0 {
					first = image.Pt(x, y)
				}
				diff++
			}
		}
	}
	if diff > 0 {
		tb.Errorf("%s: %d pixels differ, the first at %v; if intended, run go test -update", name, diff, first)
	}
}

// histogramPlot is the gate plot of a 1-D range gate: CD56 of the events (the second
// population of gaussianEvents is CD56 dim, the first bright) with a CD56 bright and a
// CD56 dim range, on a logicle scale.
func histogramPlot(events int) Histogram {
	_, ys := gaussianEvents(events)
	decades := []Tick{{0.2, "10²"}, {0.4, "10³"}, {0.6, "10⁴"}, {0.8, "10⁵"}}
	return Histogram{
		Title:  "C-2026-014 day 21: CD56 (lymphocytes)",
		X:      Axis{Label: "CD56 PE", Unit: "logicle", Min: f64(0), Max: f64(1), Ticks: decades},
		Events: ys,
		Bins:   64, // keeps the golden files small; pages use the default 256
		Ranges: []Range{
			{Name: "CD56 dim", Min: 0.1, Max: 0.5},
			{Name: "CD56 bright", Min: 0.5, Max: math.Inf(1)},
		},
	}
}
