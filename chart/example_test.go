package chart_test

import (
	"fmt"

	"github.com/clink-consortium/clink/chart"
)

// A growth chart on a log axis: SVG for the page, CSV for the download.
func ExampleLine() {
	c := chart.Line{
		Title: "Culture C-2026-014: growth",
		X:     chart.Axis{Label: "Day", Unit: "d"},
		Y:     chart.Axis{Label: "NK cells", Unit: "cells", Log: true},
		Series: []chart.Series{{
			Name:    "NK cells",
			X:       []float64{0, 7, 14},
			Y:       []float64{1.8e5, 3.3e6, 0}, // the 0 cannot be shown on a log axis: noted, not drawn
			Markers: true,
		}},
	}
	svg := c.SVG()
	fmt.Println(len(svg) > 0)
	fmt.Print(string(c.CSV()))
	// Output:
	// true
	// series,Day (d),NK cells (cells)
	// NK cells,0,180000
	// NK cells,7,3.3e+06
	// NK cells,14,0
}
