package chart

import (
	"fmt"
	"strings"
)

// Series is one line of a Line chart: the points (X[i], Y[i]) joined in the order given.
type Series struct {
	Name string
	X, Y []float64

	// Titles[i] is the hover text of point i; when missing or empty the text gives the series
	// name, x and y with their units.
	Titles []string

	Dashed bool

	// Markers draws a circle with a hover <title> at every point. A series without markers is
	// a curve, e.g. a fitted model evaluated on a fine grid, with one <title> for the whole line.
	Markers bool
}

// Line is a line chart of several series over a numeric x axis.
type Line struct {
	Title         string
	Width, Height int // 0 means DefaultWidth × DefaultHeight
	X, Y          Axis
	Series        []Series

	// Annotations are lines of text under the title, e.g. "LU30 = 12.3 per 10⁷ NK".
	Annotations []string
}

// drops counts the values a chart could not place.
type drops struct {
	nonFinite, nonPosX, nonPosY, outside, unpaired int
}

func (d drops) notes(what string) []string {
	var n []string
	if d.nonFinite > 0 {
		n = append(n, plural(d.nonFinite, what)+" with NaN or ±Inf dropped")
	}
	if d.nonPosX > 0 {
		n = append(n, plural(d.nonPosX, what)+" with x ≤ 0 not shown on the log x axis")
	}
	if d.nonPosY > 0 {
		n = append(n, plural(d.nonPosY, what)+" with y ≤ 0 not shown on the log y axis")
	}
	if d.outside > 0 {
		n = append(n, plural(d.outside, what)+" outside the axis bounds not shown")
	}
	if d.unpaired > 0 {
		n = append(n, plural(d.unpaired, "value")+" without a partner ignored (X and Y differ in length)")
	}
	return n
}

// valueText formats a value with the unit of its axis.
func valueText(a Axis, v float64) string {
	if a.Unit == "" {
		return fmtNum(v)
	}
	return fmtNum(v) + " " + a.Unit
}

func labelOr(a Axis, fallback string) string {
	if a.Label != "" {
		return a.Label
	}
	return fallback
}

func tickTargets(w, h float64) (nx, ny int) {
	return min(max(int(w/100), 3), 10), min(max(int(h/60), 3), 8)
}

type linePoint struct {
	x, y float64
	i    int
}

// SVG draws the chart.
func (c Line) SVG() []byte {
	w, h := size(c.Width, DefaultWidth), size(c.Height, DefaultHeight)
	var d drops
	pts := make([][]linePoint, len(c.Series))
	var ex, ey extent
	for si, s := range c.Series {
		n := min(len(s.X), len(s.Y))
		d.unpaired += max(len(s.X), len(s.Y)) - n
		for i := range n {
			x, y := s.X[i], s.Y[i]
			switch {
			case !finite(x) || !finite(y):
				d.nonFinite++
			case c.X.Log && x <= 0:
				d.nonPosX++
			case c.Y.Log && y <= 0:
				d.nonPosY++
			default:
				pts[si] = append(pts[si], linePoint{x, y, i})
				ex.add(x)
				ey.add(y)
			}
		}
	}
	var scaleNotes []string
	nx, ny := tickTargets(w, h)
	xs := newScale(c.X, "x", ex, nx, &scaleNotes)
	ys := newScale(c.Y, "y", ey, ny, &scaleNotes)
	drawn := 0
	for si, s := range c.Series {
		for _, p := range pts[si] {
			if xs.inside(p.x) && ys.inside(p.y) {
				drawn++
			} else if s.Markers {
				d.outside++
			}
		}
	}
	notes := append(d.notes("point"), scaleNotes...)

	var legend []legendEntry
	if len(c.Series) > 1 {
		for si, s := range c.Series {
			color, dash := seriesStyle(si, s.Dashed)
			legend = append(legend, legendEntry{name: s.Name, color: color, dash: dash, line: true, marker: s.Markers})
		}
	}
	f := &frame{w: w, h: h, title: c.Title, annotations: c.Annotations, notes: notes, legend: legend,
		x: xs, y: ys, xTitle: c.X.title("x"), yTitle: c.Y.title("y")}
	f.layout()

	var contents strings.Builder
	fmt.Fprintf(&contents, "%d series", len(c.Series))
	if len(c.Series) > 0 {
		contents.WriteByte(':')
	}
	for si, s := range c.Series {
		if si == 10 {
			fmt.Fprintf(&contents, " and %d more", len(c.Series)-si)
			break
		}
		if si > 0 {
			contents.WriteByte(',')
		}
		fmt.Fprintf(&contents, " %s (%s)", s.Name, plural(len(pts[si]), "point"))
	}
	contents.WriteByte('.')
	for _, a := range c.Annotations {
		contents.WriteString(" " + a + ".")
	}

	var sw svgWriter
	f.begin(&sw, "line-chart", "Line chart", describe("Line chart", f, contents.String(), notes))
	f.grid(&sw)
	for si, s := range c.Series {
		color, dash := seriesStyle(si, s.Dashed)
		sw.open("g", "class", "series")
		if len(pts[si]) > 1 {
			pb := pathBuilder{r: f.plot}
			for i := 1; i < len(pts[si]); i++ {
				a, b := pts[si][i-1], pts[si][i]
				pb.segment(xs.pix(a.x), ys.pix(a.y), xs.pix(b.x), ys.pix(b.y))
			}
			if d := pb.String(); d != "" {
				sw.open("path", "d", d, "fill", "none", "stroke", color, "stroke-width", "2",
					"stroke-dasharray", dash, "stroke-linejoin", "round", "stroke-linecap", "round")
				sw.elem("title", s.Name)
				sw.close("path")
			}
		}
		if s.Markers {
			for _, p := range pts[si] {
				if !xs.inside(p.x) || !ys.inside(p.y) {
					continue
				}
				title := ""
				if p.i < len(s.Titles) {
					title = s.Titles[p.i]
				}
				if title == "" {
					title = pointTitle(s.Name, c.X, c.Y, p.x, p.y)
				}
				sw.titled("circle", title, "cx", px(xs.pix(p.x)), "cy", px(ys.pix(p.y)), "r", px(markerR),
					"fill", color, "stroke", "#ffffff", "stroke-width", "1")
			}
		}
		sw.close("g")
	}
	f.axes(&sw)
	f.drawLegend(&sw)
	f.end(&sw, drawn == 0)
	return sw.Bytes()
}

// pointTitle is the default hover text of a point: "name — Day 7 d, NK cells 3.2×10⁷ cells".
func pointTitle(name string, xa, ya Axis, x, y float64) string {
	t := labelOr(xa, "x") + " " + valueText(xa, x) + ", " + labelOr(ya, "y") + " " + valueText(ya, y)
	if name != "" {
		t = name + " — " + t
	}
	return t
}

// CSV returns the points of every series, one row each, in full precision: series, x, y, with
// the axis labels and units in the header. Non-finite values are empty cells.
func (c Line) CSV() []byte {
	var rows [][]string
	for _, s := range c.Series {
		for i := range min(len(s.X), len(s.Y)) {
			rows = append(rows, []string{csvText(s.Name), csvNum(s.X[i]), csvNum(s.Y[i])})
		}
	}
	return csvTable([]string{"series", c.X.title("x"), c.Y.title("y")}, rows)
}
