package chart

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// ScatterPoint is one point of a Scatter chart.
type ScatterPoint struct {
	X, Y      float64
	Label     string // drawn beside the point, e.g. "EBV-LCL + IL-2: 4.2 doses/donor"
	Title     string // hover text; empty: label, x and y with units
	Highlight bool   // e.g. on the Pareto front
}

// Scatter is a scatter chart of labelled points. The highlighted points are drawn larger, in a
// second colour, and joined in order of x by a staircase that goes down then across: for two
// objectives that are both maximised (NK yield and killing) it is the edge of the region the
// front dominates.
type Scatter struct {
	Title         string
	Width, Height int // 0 means DefaultWidth × DefaultHeight
	X, Y          Axis
	Points        []ScatterPoint

	// HighlightName names the highlighted points in the legend ("Highlighted" when empty).
	HighlightName string

	Annotations []string
}

const (
	scatterColor   = "#0072B2" // Okabe–Ito blue
	highlightColor = "#D55E00" // Okabe–Ito vermillion
)

// SVG draws the chart.
func (c Scatter) SVG() []byte {
	w, h := size(c.Width, DefaultWidth), size(c.Height, DefaultHeight)
	var d drops
	valid := make([]bool, len(c.Points))
	var ex, ey extent
	nHigh := 0
	for i, p := range c.Points {
		switch {
		case !finite(p.X) || !finite(p.Y):
			d.nonFinite++
		case c.X.Log && p.X <= 0:
			d.nonPosX++
		case c.Y.Log && p.Y <= 0:
			d.nonPosY++
		default:
			valid[i] = true
			ex.add(p.X)
			ey.add(p.Y)
			if p.Highlight {
				nHigh++
			}
		}
	}
	var scaleNotes []string
	nx, ny := tickTargets(w, h)
	xs := newScale(c.X, "x", ex, nx, &scaleNotes)
	ys := newScale(c.Y, "y", ey, ny, &scaleNotes)
	drawn := 0
	for i, p := range c.Points {
		if valid[i] {
			if xs.inside(p.X) && ys.inside(p.Y) {
				drawn++
			} else {
				d.outside++
			}
		}
	}
	notes := append(d.notes("point"), scaleNotes...)
	hname := c.HighlightName
	if hname == "" {
		hname = "Highlighted"
	}
	var legend []legendEntry
	if nHigh > 0 {
		legend = []legendEntry{
			{name: hname, color: highlightColor, line: true, marker: true, big: true},
			{name: "Other", color: scatterColor, marker: true},
		}
	}
	f := &frame{w: w, h: h, title: c.Title, annotations: c.Annotations, notes: notes, legend: legend,
		x: xs, y: ys, xTitle: c.X.title("x"), yTitle: c.Y.title("y")}
	f.layout()

	var contents strings.Builder
	fmt.Fprintf(&contents, "%s, %d of them %s.", plural(drawn, "point")+" drawn", nHigh, strings.ToLower(hname))
	var high []ScatterPoint
	for i, p := range c.Points {
		if valid[i] && p.Highlight {
			high = append(high, p)
		}
	}
	slices.SortStableFunc(high, func(a, b ScatterPoint) int {
		if c := cmp.Compare(a.X, b.X); c != 0 {
			return c
		}
		return cmp.Compare(b.Y, a.Y)
	})
	if len(high) > 0 {
		contents.WriteString(" " + hname + ":")
		for i, p := range high {
			if i == 20 {
				fmt.Fprintf(&contents, " and %d more", len(high)-i)
				break
			}
			if i > 0 {
				contents.WriteByte(';')
			}
			fmt.Fprintf(&contents, " %s (%s, %s)", p.Label, valueText(c.X, p.X), valueText(c.Y, p.Y))
		}
		contents.WriteByte('.')
	}
	for _, a := range c.Annotations {
		contents.WriteString(" " + a + ".")
	}

	var sw svgWriter
	f.begin(&sw, "scatter-chart", "Scatter chart", describe("Scatter chart", f, contents.String(), notes))
	f.grid(&sw)
	if len(high) > 1 {
		pb := pathBuilder{r: f.plot}
		for i := 1; i < len(high); i++ {
			a, b := high[i-1], high[i]
			pb.segment(xs.pix(a.X), ys.pix(a.Y), xs.pix(a.X), ys.pix(b.Y))
			pb.segment(xs.pix(a.X), ys.pix(b.Y), xs.pix(b.X), ys.pix(b.Y))
		}
		if path := pb.String(); path != "" {
			sw.open("path", "class", "front", "d", path, "fill", "none", "stroke", highlightColor, "stroke-width", "2")
			sw.elem("title", hname)
			sw.close("path")
		}
	}
	// Other points first, highlighted ones on top.
	for _, pass := range []bool{false, true} {
		class, color, r, stroke := "points", scatterColor, markerR, "#ffffff"
		if pass {
			class, color, r, stroke = "highlighted", highlightColor, 5, "#000000"
		}
		sw.open("g", "class", class, "fill", color, "stroke", stroke, "stroke-width", "1")
		for i, p := range c.Points {
			if !valid[i] || p.Highlight != pass || !xs.inside(p.X) || !ys.inside(p.Y) {
				continue
			}
			title := p.Title
			if title == "" {
				title = pointTitle(p.Label, c.X, c.Y, p.X, p.Y)
			}
			sw.titled("circle", title, "cx", px(xs.pix(p.X)), "cy", px(ys.pix(p.Y)), "r", px(r))
		}
		sw.close("g")
	}
	sw.open("g", "class", "labels", "font-size", px(smallSize))
	maxW := 0.4 * (f.plot.x1 - f.plot.x0)
	for i, p := range c.Points {
		if !valid[i] || p.Label == "" || !xs.inside(p.X) || !ys.inside(p.Y) {
			continue
		}
		x, y := xs.pix(p.X), ys.pix(p.Y)
		short, _ := fit(p.Label, maxW, smallSize)
		if x+8+textWidth(short, smallSize) <= f.plot.x1 {
			sw.fitText(p.Label, maxW, smallSize, "x", px(x+8), "y", px(y-6))
		} else {
			sw.fitText(p.Label, maxW, smallSize, "x", px(x-8), "y", px(y-6), "text-anchor", "end")
		}
	}
	sw.close("g")
	f.axes(&sw)
	f.drawLegend(&sw)
	f.end(&sw, drawn == 0)
	return sw.Bytes()
}

// CSV returns one row per point: label, x, y and whether it is highlighted ("true"/"false"),
// with the axis labels and units in the header. A non-finite value is an empty cell.
func (c Scatter) CSV() []byte {
	rows := make([][]string, 0, len(c.Points))
	for _, p := range c.Points {
		rows = append(rows, []string{csvText(p.Label), csvNum(p.X), csvNum(p.Y), fmt.Sprint(p.Highlight)})
	}
	hname := c.HighlightName
	if hname == "" {
		hname = "highlighted"
	}
	return csvTable([]string{"label", c.X.title("x"), c.Y.title("y"), hname}, rows)
}
