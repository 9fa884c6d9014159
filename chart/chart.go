// Package chart draws CLINK's server-rendered charts: line, strip/box and scatter charts as
// hand-written SVG, and density plots of flow cytometry events as a PNG raster wrapped in an
// SVG that draws the axes, labels and gates. Each chart also gives the data it shows as CSV,
// so that a page can offer the figure (SVG, or PNG for density plots) and the table behind it.
//
// The four chart types and the pages they serve:
//
//   - Line: several Series over a numeric x axis, with optional markers, dashes, a model curve
//     (a Series without markers, e.g. a fitted lysis curve on a fine grid) and annotations such
//     as "LU30 = 12.3 per 10⁷ NK". Growth (viable and NK cells on a log axis over days), fold
//     expansion, purity and viability, phenotype markers, cytotoxicity E:T curves.
//   - Strip: groups (protocols) on the x axis and one point per culture or donor, optionally
//     a line joining the same donor across groups (Paired) and a box per group (Box).
//     Donor-paired protocol comparisons and outcome distributions.
//   - Scatter: labelled points with a highlighted subset joined by a staircase, e.g. the Pareto
//     chart of NK yield against killing with the front highlighted.
//   - Density: events binned on a grid (256 × 256 by default) and coloured by log count with a
//     viridis ramp; gates drawn as outlines. FCS gate plots.
//
// # Axes
//
// An Axis has a label and a unit (shown as "Label (unit)"), an optional logarithmic scale and
// optional fixed bounds. Without bounds the axis covers the data and ends on "nice" ticks
// (steps of 1, 2 or 5 × 10ᵏ, Heckbert 1990). A log axis without bounds ends on whole decades,
// or on 1, 2 or 5 × 10ᵏ when the data span at most one and a half decades. It labels 1, 2 and
// 5 × 10ᵏ when it spans at most about two decades; otherwise it labels the powers of ten and,
// up to four and a half decades, adds unlabelled minor ticks at 2 and 5 × 10ᵏ; beyond eight
// decades it labels every 2nd, 5th, 10th, … power. Tick labels are decimals ("0.5", "20",
// "1500") when every tick lies between 0.001 and 100 000 (a million on linear axes), and powers
// of ten otherwise ("10⁶", "2×10⁸", "10⁻³"). Axis.Ticks replaces the automatic ticks, e.g. to
// label a logicle-transformed flow axis at the untransformed decades.
//
// # Invalid values
//
// No input makes a chart fail or put NaN or ±Inf in the SVG. NaN and ±Inf values are dropped,
// as are values ≤ 0 on a log axis, points outside fixed axis bounds, and invalid fixed bounds;
// each kind of drop is counted in a note printed under the plot and in the chart's <desc>. A
// chart with nothing to plot says "No data". Lines are clipped at the plot area (no SVG clip
// paths, hence no element ids that could clash when several charts share a page).
//
// # Accessibility and hover
//
// Every SVG has role="img", an aria-label and a <title> with the chart's title, and a <desc>
// summarising axes, series and notes. Every data point drawn as a marker is a <circle> holding a
// <title> (the caller's text, or series, x and y with units) which browsers show on hover. The
// SVG has width, height and a viewBox, so CSS such as "max-width: 100%; height: auto" scales it
// on a tablet. Text is escaped with encoding/xml, so names such as `<A&B "x">` are safe to
// inline in HTML.
//
// # Colours
//
// Categorical series use the Okabe–Ito palette (Okabe & Ito 2008, "Color Universal Design
// (CUD): how to make figures and presentations that are friendly to colorblind people",
// https://jfly.uni-koeln.de/color/), which stays distinguishable with the common colour-vision
// deficiencies. Densities use a viridis ramp computed here by linear interpolation between 33
// control points sampled from the 256-entry viridis table of matplotlib (van der Walt, Smith and
// Firing 2015, lib/matplotlib/_cm_listed.py, CC0); it is perceptually uniform, readable in grey
// and by colour-blind viewers, and differs from the full table by at most 2/255 per channel.
//
// # Output
//
// Output is deterministic: the same chart gives the same bytes (strip jitter comes from a fixed
// low-discrepancy sequence, never from a random source). Numbers in the SVG have at most two
// decimals. Text widths are estimated (0.6 em per character) since the server has no font
// metrics; labels too long for their place are shortened with "…" and kept whole in a <title>.
// CSV cells that are text and start with =, +, -, @, tab or carriage return are prefixed with
// an apostrophe so that spreadsheets do not run them as formulas.
package chart

import "fmt"

// Default sizes in CSS pixels: a chart fills a typical column of a laptop page, and its viewBox
// lets it shrink on a tablet.
const (
	DefaultWidth         = 720
	DefaultHeight        = 420
	DefaultDensityWidth  = 520
	DefaultDensityHeight = 460

	minSize = 200   // smaller requested sizes are raised to this
	maxSize = 10000 // larger requested sizes are lowered to this
)

// Chart is what every chart type offers: the figure as SVG and the data behind it as CSV.
type Chart interface {
	SVG() []byte
	CSV() []byte
}

var (
	_ Chart = Line{}
	_ Chart = Strip{}
	_ Chart = Scatter{}
	_ Chart = Density{}
)

// Axis describes one axis of a chart.
type Axis struct {
	Label string // e.g. "Viable cells"
	Unit  string // e.g. "cells"; shown as "Viable cells (cells)" and in the CSV header
	Log   bool   // logarithmic (base 10) scale; values ≤ 0 are dropped with a note

	// Min and Max fix the bounds; nil takes them from the data with nice ticks. A bound that is
	// not finite, not positive on a log axis, or not below the other is ignored with a note.
	Min, Max *float64

	// Ticks, when not empty, replaces the automatic ticks; ticks outside the bounds are left out.
	Ticks []Tick
}

// Tick is a labelled tick at Value, in the axis's data units.
type Tick struct {
	Value float64
	Label string
}

// title returns "Label (unit)", the text of the axis title and of the CSV header.
func (a Axis) title(fallback string) string {
	l := a.Label
	if l == "" {
		l = fallback
	}
	if a.Unit != "" {
		return l + " (" + a.Unit + ")"
	}
	return l
}

// OkabeIto is the Okabe–Ito palette in the order series take it: blue, orange, bluish green,
// vermillion, reddish purple, sky blue, yellow, black. Yellow and sky blue come late because
// they have the least contrast on white.
var OkabeIto = [8]string{"#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"}

// seriesStyle returns the colour and dash pattern of the i-th series: the palette in order,
// then again dotted (series 9–16), then dash-dotted (17–24), and so on round. A dashed series
// is always "6 4".
func seriesStyle(i int, dashed bool) (color, dash string) {
	color = OkabeIto[i%len(OkabeIto)]
	if dashed {
		return color, "6 4"
	}
	return color, [3]string{"", "2 3", "8 3 2 3"}[i/len(OkabeIto)%3]
}

// size returns the requested size clamped to [minSize, maxSize], or def when unset.
func size(v, def int) float64 {
	switch {
	case v <= 0:
		return float64(def)
	case v < minSize:
		return minSize
	case v > maxSize:
		return maxSize
	}
	return float64(v)
}

// plural returns "1 value" or "3 values".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
