package chart

import (
	"bytes"
	"encoding/xml"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Typography and colours shared by all charts.
const (
	fontFamily = "system-ui, sans-serif"
	titleSize  = 15.0
	textSize   = 12.0
	smallSize  = 11.0
	charWidth  = 0.6 // estimated advance of a character, in em
	inkColor   = "#222222"
	axisColor  = "#555555"
	gridColor  = "#e6e6e6"
	noteColor  = "#666666"
	markerR    = 3.5
)

// svgWriter builds an SVG document; every text and attribute value goes through encoding/xml's
// escaping, which also replaces invalid UTF-8 and characters XML forbids with U+FFFD.
type svgWriter struct{ bytes.Buffer }

func (w *svgWriter) esc(s string) { _ = xml.EscapeText(w, []byte(s)) }

func (w *svgWriter) start(name string, kv []string) {
	w.WriteByte('<')
	w.WriteString(name)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" && kv[i] != "d" && kv[i] != "points" {
			continue // an empty value means "attribute absent"
		}
		w.WriteByte(' ')
		w.WriteString(kv[i])
		w.WriteString(`="`)
		w.esc(kv[i+1])
		w.WriteByte('"')
	}
}

// open writes a start tag; kv alternates attribute names and values, empty values are skipped.
func (w *svgWriter) open(name string, kv ...string) { w.start(name, kv); w.WriteByte('>') }

// empty writes a self-closing element.
func (w *svgWriter) empty(name string, kv ...string) { w.start(name, kv); w.WriteString("/>") }

func (w *svgWriter) close(name string) {
	w.WriteString("</")
	w.WriteString(name)
	w.WriteByte('>')
}

// elem writes an element holding escaped text.
func (w *svgWriter) elem(name, text string, kv ...string) {
	w.open(name, kv...)
	w.esc(text)
	w.close(name)
}

// titled writes an element whose only child is a <title> (hover text).
func (w *svgWriter) titled(name, title string, kv ...string) {
	w.open(name, kv...)
	w.elem("title", title)
	w.close(name)
}

// px formats a pixel coordinate with at most two decimals. Callers never pass NaN or ±Inf; the
// value is not masked here, so that the fuzz tests would see one in the output.
func px(v float64) string {
	s := strconv.FormatFloat(v, 'f', 2, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" || s == "" {
		return "0"
	}
	return s
}

// textWidth estimates the width of s in pixels at the given font size.
func textWidth(s string, size float64) float64 {
	return float64(utf8.RuneCountInString(s)) * charWidth * size
}

// fit shortens s with "…" so that it fits in width pixels; it reports whether it did.
func fit(s string, width, size float64) (string, bool) {
	if textWidth(s, size) <= width {
		return s, false
	}
	n := int(width/(charWidth*size)) - 1
	if n < 1 {
		return "…", true
	}
	r := []rune(s)
	return string(r[:min(n, len(r))]) + "…", true
}

// fitText writes a <text> element shortened to width; a shortened text is wrapped in a group
// whose <title> holds the whole text.
func (w *svgWriter) fitText(s string, width, size float64, kv ...string) {
	short, cut := fit(s, width, size)
	if cut {
		w.open("g")
		w.elem("title", s)
	}
	w.elem("text", short, kv...)
	if cut {
		w.close("g")
	}
}

// rect is a plot area in pixels.
type rect struct{ x0, y0, x1, y1 float64 }

func (r rect) contains(x, y float64) bool {
	const eps = 0.01
	return x >= r.x0-eps && x <= r.x1+eps && y >= r.y0-eps && y <= r.y1+eps
}

// clipSegment clips the segment (x0,y0)–(x1,y1) to r (Liang and Barsky 1984).
func clipSegment(x0, y0, x1, y1 float64, r rect) (ax, ay, bx, by float64, ok bool) {
	dx, dy := x1-x0, y1-y0
	t0, t1 := 0.0, 1.0
	edges := [4][2]float64{{-dx, x0 - r.x0}, {dx, r.x1 - x0}, {-dy, y0 - r.y0}, {dy, r.y1 - y0}}
	for _, e := range edges {
		p, q := e[0], e[1]
		if p == 0 {
			if q < 0 {
				return 0, 0, 0, 0, false
			}
			continue
		}
		t := q / p
		if p < 0 {
			if t > t1 {
				return 0, 0, 0, 0, false
			}
			t0 = math.Max(t0, t)
		} else {
			if t < t0 {
				return 0, 0, 0, 0, false
			}
			t1 = math.Min(t1, t)
		}
	}
	return x0 + t0*dx, y0 + t0*dy, x0 + t1*dx, y0 + t1*dy, true
}

// pathBuilder accumulates an SVG path of clipped segments, starting a subpath with M whenever
// a segment does not continue the previous one.
type pathBuilder struct {
	b            strings.Builder
	lastX, lastY float64
	open         bool
	r            rect
}

// lift starts a new subpath at the next segment.
func (p *pathBuilder) lift() { p.open = false }

func (p *pathBuilder) segment(x0, y0, x1, y1 float64) {
	ax, ay, bx, by, ok := clipSegment(x0, y0, x1, y1, p.r)
	if !ok {
		p.open = false
		return
	}
	if !p.open || math.Abs(ax-p.lastX) > 0.005 || math.Abs(ay-p.lastY) > 0.005 {
		if p.b.Len() > 0 {
			p.b.WriteByte(' ')
		}
		p.b.WriteString("M" + px(ax) + " " + px(ay))
	}
	p.b.WriteString(" L" + px(bx) + " " + px(by))
	p.lastX, p.lastY, p.open = bx, by, true
}

func (p *pathBuilder) String() string { return p.b.String() }

// clipPolygon clips a closed polygon to r (Sutherland and Hodgman 1974).
func clipPolygon(xs, ys []float64, r rect) (ox, oy []float64) {
	type pt struct{ x, y float64 }
	poly := make([]pt, len(xs))
	for i := range xs {
		poly[i] = pt{xs[i], ys[i]}
	}
	inside := [4]func(p pt) bool{
		func(p pt) bool { return p.x >= r.x0 },
		func(p pt) bool { return p.x <= r.x1 },
		func(p pt) bool { return p.y >= r.y0 },
		func(p pt) bool { return p.y <= r.y1 },
	}
	cross := [4]func(a, b pt) pt{
		func(a, b pt) pt { return pt{r.x0, a.y + (b.y-a.y)*(r.x0-a.x)/(b.x-a.x)} },
		func(a, b pt) pt { return pt{r.x1, a.y + (b.y-a.y)*(r.x1-a.x)/(b.x-a.x)} },
		func(a, b pt) pt { return pt{a.x + (b.x-a.x)*(r.y0-a.y)/(b.y-a.y), r.y0} },
		func(a, b pt) pt { return pt{a.x + (b.x-a.x)*(r.y1-a.y)/(b.y-a.y), r.y1} },
	}
	for e := range 4 {
		if len(poly) == 0 {
			break
		}
		var out []pt
		prev := poly[len(poly)-1]
		for _, cur := range poly {
			cin, pin := inside[e](cur), inside[e](prev)
			if cin {
				if !pin {
					out = append(out, cross[e](prev, cur))
				}
				out = append(out, cur)
			} else if pin {
				out = append(out, cross[e](prev, cur))
			}
			prev = cur
		}
		poly = out
	}
	for _, p := range poly {
		if finite(p.x) && finite(p.y) {
			ox, oy = append(ox, p.x), append(oy, p.y)
		}
	}
	return ox, oy
}

// legendEntry is one row of a legend: a line sample, a marker or both, and a name.
type legendEntry struct {
	name, color, dash string
	line, marker      bool
	big               bool // a highlighted marker
}

// frame lays out a chart with a rectangular plot area: title and annotations above, axes
// around, legend to the right and notes below.
type frame struct {
	w, h        float64
	title       string
	annotations []string
	notes       []string
	legend      []legendEntry
	x, y        *scale // x is nil for a categorical x axis
	xTitle      string
	yTitle      string
	xLabelRows  int     // rows of text under the x axis for categorical labels (strip charts)
	minRight    float64 // room kept right of the plot (the density colour bar)
	plot        rect
	legendX     float64
}

// layout sets the plot area from the texts around it and gives the scales their pixels. When
// notes and annotations would leave the plot less than 40 % of the height, the last lines are
// left out of the picture (they stay in the <desc>).
func (f *frame) layout() {
	yTickW := 0.0
	if f.y != nil {
		for _, t := range f.y.ticks {
			yTickW = math.Max(yTickW, textWidth(t.label, smallSize))
		}
	}
	left := math.Min(10+16+6+yTickW+6, 0.35*f.w)
	right := 16.0
	if f.x != nil && len(f.x.ticks) > 0 {
		right = math.Max(right, textWidth(f.x.ticks[len(f.x.ticks)-1].label, smallSize)/2+4)
	}
	if len(f.legend) > 0 {
		lw := 0.0
		for _, e := range f.legend {
			lw = math.Max(lw, textWidth(e.name, smallSize))
		}
		lw = math.Min(lw+50, 0.3*f.w)
		right = math.Max(right, lw)
	}
	right = math.Max(right, f.minRight)
	f.legendX = f.w - right + 12
	labelRows := float64(max(f.xLabelRows, 1))
	for {
		top := 10 + 20 + 16*float64(len(f.annotations)) + 8
		bottom := 8 + 14*labelRows + 6 + 16 + 14*float64(len(f.notes)) + 8
		f.plot = rect{left, top, f.w - right, f.h - bottom}
		if f.plot.y1-f.plot.y0 >= 0.4*f.h || (len(f.notes) == 0 && len(f.annotations) == 0) {
			break
		}
		if len(f.notes) > 0 {
			f.notes = f.notes[:len(f.notes)-1]
		} else {
			f.annotations = f.annotations[:len(f.annotations)-1]
		}
	}
	if f.x != nil {
		f.x.setPixels(f.plot.x0, f.plot.x1)
	}
	if f.y != nil {
		f.y.setPixels(f.plot.y1, f.plot.y0)
	}
}

// begin writes the document head: root element, <title>, <desc>, background, title text and
// annotations. A chart without a title is named after its kind, so that it still has an
// accessible name.
func (f *frame) begin(w *svgWriter, class, kind, desc string) {
	if strings.TrimSpace(f.title) == "" {
		f.title = kind
	}
	w.open("svg", "xmlns", "http://www.w3.org/2000/svg", "xmlns:xlink", "http://www.w3.org/1999/xlink",
		"class", "clink-chart "+class, "role", "img", "aria-label", f.title,
		"width", px(f.w), "height", px(f.h), "viewBox", "0 0 "+px(f.w)+" "+px(f.h),
		"font-family", fontFamily, "font-size", px(textSize), "fill", inkColor)
	w.elem("title", f.title)
	w.elem("desc", desc)
	w.empty("rect", "width", px(f.w), "height", px(f.h), "fill", "#ffffff")
	w.fitText(f.title, f.w-24, titleSize, "class", "chart-title", "x", px(f.w/2), "y", "26", "text-anchor", "middle", "font-size", px(titleSize), "font-weight", "bold")
	for i, a := range f.annotations {
		w.fitText(a, f.w-24, textSize, "class", "annotation", "x", px(f.w/2), "y", px(26+16*float64(i+1)), "text-anchor", "middle", "fill", "#333333")
	}
}

// grid draws the grid lines at the ticks, behind the data.
func (f *frame) grid(w *svgWriter) {
	w.open("g", "class", "grid", "stroke", gridColor, "stroke-width", "1")
	if f.x != nil {
		for _, t := range f.x.ticks {
			x := px(f.x.pix(t.v))
			w.empty("line", "x1", x, "x2", x, "y1", px(f.plot.y0), "y2", px(f.plot.y1))
		}
	}
	if f.y != nil {
		for _, t := range f.y.ticks {
			y := px(f.y.pix(t.v))
			w.empty("line", "x1", px(f.plot.x0), "x2", px(f.plot.x1), "y1", y, "y2", y)
		}
	}
	w.close("g")
}

// axes draws the plot-area border, ticks, tick labels and axis titles.
func (f *frame) axes(w *svgWriter) {
	p := f.plot
	w.empty("rect", "class", "plot-area", "x", px(p.x0), "y", px(p.y0), "width", px(p.x1-p.x0), "height", px(p.y1-p.y0), "fill", "none", "stroke", axisColor)
	if f.x != nil {
		w.open("g", "class", "x-axis", "font-size", px(smallSize), "text-anchor", "middle")
		for _, t := range f.x.ticks {
			x := f.x.pix(t.v)
			w.empty("line", "x1", px(x), "x2", px(x), "y1", px(p.y1), "y2", px(p.y1+5), "stroke", axisColor)
			w.elem("text", t.label, "x", px(x), "y", px(p.y1+17))
		}
		for _, v := range f.x.minor {
			x := px(f.x.pix(v))
			w.empty("line", "x1", x, "x2", x, "y1", px(p.y1), "y2", px(p.y1+3), "stroke", axisColor)
		}
		w.close("g")
	}
	if f.y != nil {
		w.open("g", "class", "y-axis", "font-size", px(smallSize), "text-anchor", "end")
		for _, t := range f.y.ticks {
			y := f.y.pix(t.v)
			w.empty("line", "x1", px(p.x0-5), "x2", px(p.x0), "y1", px(y), "y2", px(y), "stroke", axisColor)
			w.elem("text", t.label, "x", px(p.x0-7), "y", px(y+4))
		}
		for _, v := range f.y.minor {
			y := px(f.y.pix(v))
			w.empty("line", "x1", px(p.x0-3), "x2", px(p.x0), "y1", y, "y2", y, "stroke", axisColor)
		}
		w.close("g")
	}
	if f.xTitle != "" {
		xt := p.y1 + 14*float64(max(f.xLabelRows, 1)) + 6 + 14
		w.fitText(f.xTitle, p.x1-p.x0, textSize, "class", "axis-title", "x", px((p.x0+p.x1)/2), "y", px(xt), "text-anchor", "middle")
	}
	if f.yTitle != "" {
		cy := (p.y0 + p.y1) / 2
		w.fitText(f.yTitle, p.y1-p.y0, textSize, "class", "axis-title", "x", "0", "y", "0", "text-anchor", "middle",
			"transform", "translate("+px(18)+" "+px(cy)+") rotate(-90)")
	}
}

// drawLegend draws the legend to the right of the plot.
func (f *frame) drawLegend(w *svgWriter) {
	if len(f.legend) == 0 {
		return
	}
	w.open("g", "class", "legend", "font-size", px(smallSize))
	x := f.legendX
	maxRows := max(int((f.plot.y1-f.plot.y0)/18), 1)
	for i, e := range f.legend {
		y := f.plot.y0 + 8 + 18*float64(i)
		if i == maxRows-1 && len(f.legend) > maxRows {
			w.fitText("… "+strconv.Itoa(len(f.legend)-i)+" more", f.w-x-8, smallSize, "x", px(x), "y", px(y+4))
			break
		}
		if e.line {
			w.empty("line", "x1", px(x), "x2", px(x+20), "y1", px(y), "y2", px(y), "stroke", e.color, "stroke-width", "2", "stroke-dasharray", e.dash)
		}
		if e.marker {
			r := markerR
			if e.big {
				r = 5
			}
			w.empty("circle", "cx", px(x+10), "cy", px(y), "r", px(r), "fill", e.color, "stroke", markerStroke(e.big))
		}
		w.fitText(e.name, f.w-x-32, smallSize, "x", px(x+26), "y", px(y+4))
	}
	w.close("g")
}

func markerStroke(big bool) string {
	if big {
		return "#000000"
	}
	return "#ffffff"
}

// end writes the notes, a "No data" message when nothing was drawn, and closes the document.
func (f *frame) end(w *svgWriter, empty bool) {
	if empty {
		w.elem("text", "No data", "class", "no-data", "x", px((f.plot.x0+f.plot.x1)/2), "y", px((f.plot.y0+f.plot.y1)/2),
			"text-anchor", "middle", "font-size", px(titleSize), "fill", noteColor)
	}
	if len(f.notes) > 0 {
		w.open("g", "class", "notes", "font-size", px(smallSize), "fill", noteColor)
		y0 := f.h - 8 - 14*float64(len(f.notes)-1) - 3
		for i, n := range f.notes {
			w.fitText(n, f.w-16, smallSize, "x", "8", "y", px(y0+14*float64(i)))
		}
		w.close("g")
	}
	w.close("svg")
	w.WriteByte('\n')
}

// describe writes the <desc> text of a chart: kind, axes, contents and notes.
func describe(kind string, f *frame, contents string, notes []string) string {
	var b strings.Builder
	b.WriteString(kind)
	b.WriteString(". ")
	axis := func(name, title string, s *scale) {
		if s == nil {
			return
		}
		b.WriteString(name + " axis: " + title)
		if s.log {
			b.WriteString(", logarithmic")
		}
		b.WriteString(", " + fmtNum(s.lo) + " to " + fmtNum(s.hi) + ". ")
	}
	axis("x", f.xTitle, f.x)
	axis("y", f.yTitle, f.y)
	b.WriteString(contents)
	for _, n := range notes {
		b.WriteString(" Note: " + n + ".")
	}
	return b.String()
}
