package chart

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Range is a 1-D gate drawn over a Histogram: the events v with Min ≤ v < Max, in the data
// units of the histogram's x axis (the convention of a Gating-ML RectangleGate dimension). An
// infinite end reaches the end of the axis, and so does a Min ≤ 0 on a log axis.
type Range struct {
	Name     string
	Min, Max float64
}

// Histogram counts flow cytometry events (already transformed as the x axis shows them) in
// Bins bins of equal width between the bounds of the x axis (equal in log10 on a log axis) and
// draws the counts as a filled step outline, with the gate ranges shaded behind it. Each range
// is labelled on the plot, and its hover text, with the number of drawn events inside it and
// their percentage of all drawn events; each non-empty bin has a hover text with its count.
//
// Without fixed bounds the x axis covers the events; ranges are not taken into account, so
// fix Min and Max (e.g. the transform's range) to show ranges that reach beyond the events.
// Events outside fixed bounds are counted in a note, not piled on the edges, and are not
// counted in any range.
//
// The y axis counts events per bin. It starts at 0 and reaches at least 5 unless fixed. On a
// log count axis (Y.Log) empty bins drop to the foot of the plot; the axis starts at 0.5
// unless Y.Min is set, so that a bin of one event still shows, and is labelled from 1 up.
// Bins taller than a fixed Y.Max are cut off at the top and bins below a fixed Y.Min drawn at
// the foot, each with a note.
type Histogram struct {
	Title         string
	Width, Height int  // 0 means DefaultDensityWidth × DefaultDensityHeight
	X             Axis // the event axis
	Y             Axis // the count axis; Label defaults to "Events"
	Events        []float64
	Bins          int // 0 means 256, limited to [8, 1024]
	Ranges        []Range

	Annotations []string
}

var _ Chart = Histogram{}

// histColor is the colour of the counts (Okabe–Ito blue); range i takes series colour i+1.
const (
	histColor   = "#0072B2"
	histOpacity = 0.35 // fill of the counts
	shadeAlpha  = 0.15 // fill of a range
)

// histRange is a Range checked against the x axis.
type histRange struct {
	Range
	lo, hi   float64 // data units; ±Inf for an end that reaches the axis end
	tlo, thi float64 // lo and hi in the scale's transformed space
	shown    bool    // usable and overlapping the axis: drawn and counted
	count    int     // drawn events in [lo, hi)
}

// histData is a binned histogram with its scales.
type histData struct {
	xs, ys *scale
	n      int
	counts []int
	max    int
	inBins int
	ranges []histRange // one per Histogram.Ranges entry, in order
	notes  []string
}

// bin counts the events; nx and ny are the numbers of ticks wanted on x and y.
func (h Histogram) bin(nx, ny int) *histData {
	d := &histData{n: Density{Bins: h.Bins}.bins()} // the same bin rule as density plots
	var ex extent
	if !hasFixedBounds(h.X) {
		for _, v := range h.Events {
			if validOn(v, h.X.Log) {
				ex.add(v)
			}
		}
	}
	var scaleNotes, rangeNotes []string
	xs := newScale(h.X, "x", ex, nx, &scaleNotes)
	d.xs = xs
	d.ranges = make([]histRange, len(h.Ranges))
	for i, r := range h.Ranges {
		d.ranges[i] = newHistRange(r, i, xs, &rangeNotes)
	}

	var dr drops
	n := d.n
	d.counts = make([]int, n)
	k := float64(n) / (xs.thi*0.5 - xs.tlo*0.5) // halves: bounds near ±MaxFloat64 do not overflow
	for _, v := range h.Events {
		t := v
		if v-v != 0 {
			dr.nonFinite++
			continue
		}
		if h.X.Log {
			if v <= 0 {
				dr.nonPosX++
				continue
			}
			t = log10(v)
		}
		if t < xs.tlo || t > xs.thi {
			dr.outside++
			continue
		}
		d.counts[binOf((t*0.5-xs.tlo*0.5)*k, n)]++
		for j := range d.ranges {
			if r := &d.ranges[j]; r.shown && v >= r.lo && v < r.hi {
				r.count++
			}
		}
	}
	for _, c := range d.counts {
		d.max = max(d.max, c)
		d.inBins += c
	}
	d.notes = dr.notes("event")
	if len(h.Events) == 0 {
		d.notes = append(d.notes, "no events")
	}
	d.notes = append(d.notes, scaleNotes...)
	d.notes = append(d.notes, rangeNotes...)
	d.ys = d.countScale(h.Y, ny)
	return d
}

// binOf is the bin, of n, at position f in bin widths from the lower bound: an event on the
// upper bound goes to the last bin, and a NaN position (bounds so close that the width
// underflows) to the first.
func binOf(f float64, n int) int {
	switch {
	case f >= float64(n):
		return n - 1
	case f > 0:
		return int(f)
	}
	return 0
}

// countScale makes the count axis and notes the bins it cannot show whole.
func (d *histData) countScale(ax Axis, target int) *scale {
	var notes []string
	var e extent
	top := float64(max(d.max, 5))
	autoMin := false
	if ax.Log {
		e.add(1)
		if ax.Min == nil && (ax.Max == nil || !(*ax.Max <= 0.5)) {
			half := 0.5
			ax.Min, autoMin = &half, true
		}
	} else {
		e.add(0)
	}
	e.add(top)
	s := newScale(ax, "y", e, target, &notes)
	if autoMin && len(ax.Ticks) == 0 {
		// No tick labels below one event.
		if kept := slices.DeleteFunc(slices.Clone(s.ticks), func(t tick) bool { return t.v < 1 }); len(kept) >= 2 {
			s.ticks = kept
		}
		s.minor = slices.DeleteFunc(s.minor, func(v float64) bool { return v < 1 })
	}
	above, below := 0, 0
	for _, c := range d.counts {
		switch v := float64(c); {
		case c > 0 && s.tf(v) > s.thi:
			above++
		case c > 0 && s.tf(v) < s.tlo:
			below++
		}
	}
	if above > 0 {
		notes = append(notes, fmt.Sprintf("%s above the y axis's Max %s cut off", plural(above, "bin"), fmtNum(s.hi)))
	}
	if below > 0 {
		notes = append(notes, fmt.Sprintf("%s below the y axis's Min %s drawn at its foot", plural(below, "bin"), fmtNum(s.lo)))
	}
	d.notes = append(d.notes, notes...)
	return s
}

// newHistRange checks r against the axis of s and notes why it is not drawn, if it is not.
func newHistRange(r Range, i int, s *scale, notes *[]string) histRange {
	hr := histRange{Range: r, lo: r.Min, hi: r.Max}
	name := rangeName(r, i)
	switch {
	case r.Min != r.Min || r.Max != r.Max:
		*notes = append(*notes, fmt.Sprintf("range %q not drawn: Min or Max is NaN", name))
		return hr
	case !(r.Min < r.Max):
		*notes = append(*notes, fmt.Sprintf("range %q not drawn: Min %s not below Max %s", name, fmtNum(r.Min), fmtNum(r.Max)))
		return hr
	}
	if s.log && hr.lo <= 0 {
		hr.lo = math.Inf(-1)
	}
	hr.tlo, hr.thi = math.Inf(-1), math.Inf(1)
	if !math.IsInf(hr.lo, -1) {
		hr.tlo = s.tf(hr.lo)
	}
	if hr.hi > 0 || !s.log {
		hr.thi = s.tf(hr.hi)
	}
	if hr.tlo >= s.thi || hr.thi <= s.tlo || (s.log && hr.hi <= 0) {
		*notes = append(*notes, fmt.Sprintf("range %q (%s to %s) lies outside the x axis (%s to %s): not drawn",
			name, fmtNum(r.Min), fmtNum(r.Max), fmtNum(s.lo), fmtNum(s.hi)))
		return hr
	}
	hr.shown = true
	return hr
}

// tEdge is the k-th of the n+1 bin edges in the x scale's transformed space.
func (d *histData) tEdge(k int) float64 {
	t := float64(k) / float64(d.n)
	return d.xs.tlo*(1-t) + d.xs.thi*t
}

// edge is the k-th bin edge in data units; the ends are the axis bounds exactly.
func (d *histData) edge(k int) float64 {
	switch {
	case k == 0:
		return d.xs.lo
	case k == d.n:
		return d.xs.hi
	case d.xs.log:
		return math.Pow(10, d.tEdge(k))
	}
	return d.tEdge(k)
}

// overlap says how bin k lies in range r: "yes" wholly, "partly", or "no".
func (d *histData) overlap(k int, r histRange) string {
	t0, t1 := d.tEdge(k), d.tEdge(k+1)
	switch {
	case !r.shown || r.thi <= t0 || r.tlo >= t1:
		return "no"
	case r.tlo <= t0 && r.thi >= t1:
		return "yes"
	}
	return "partly"
}

// tops returns the pixel row of the top of each bin and of the foot of the counts, from the
// count scale's pixels; an empty bin's top is the foot. Rows stay within the scale's pixels.
func (d *histData) tops() (tops []float64, foot float64) {
	s := d.ys
	bottom, top := s.a, s.b // pixels of lo and hi; top < bottom
	foot = bottom
	if !s.log && s.lo < 0 && s.hi > 0 {
		foot = s.pix(0)
	}
	tops = make([]float64, len(d.counts))
	for i, c := range d.counts {
		tops[i] = foot
		if c > 0 {
			tops[i] = math.Min(math.Max(s.pix(float64(c)), top), bottom)
		}
	}
	return tops, foot
}

// rangePixels returns the pixel columns of the part of r on the x axis.
func (d *histData) rangePixels(r histRange) (a, b float64) {
	s := d.xs
	a, b = s.a, s.b
	if r.tlo > s.tlo {
		a = s.pix(r.lo)
	}
	if r.thi < s.thi {
		b = s.pix(r.hi)
	}
	return a, b
}

// percent is a range's share of the drawn events, "30 %", or "" when no event is drawn.
func (d *histData) percent(r histRange) string {
	if d.inBins == 0 {
		return ""
	}
	return fmtNum(100*float64(r.count)/float64(d.inBins)) + " %"
}

// label is a range's label on the plot: "NKG2C+: 12 (30 %)".
func (d *histData) label(r histRange, i int) string {
	p := d.percent(r)
	if p == "" {
		p = "no events drawn"
	}
	return fmt.Sprintf("%s: %d (%s)", rangeName(r.Range, i), r.count, p)
}

// rangeName is a range's name, or "Range i" (counted from 1) when it has none.
func rangeName(r Range, i int) string {
	if strings.TrimSpace(r.Name) == "" {
		return "Range " + strconv.Itoa(i+1)
	}
	return r.Name
}

// rangeTitle is a range's hover text: "NKG2C+: 12 of 40 events (30 %), NKG2C PE 0.5 to ∞ logicle".
func (h Histogram) rangeTitle(d *histData, r histRange, i int) string {
	t := fmt.Sprintf("%s: %d of %s", rangeName(r.Range, i), r.count, plural(d.inBins, "event"))
	if p := d.percent(r); p != "" {
		t += " (" + p + ")"
	}
	return t + ", " + labelOr(h.X, "x") + " " + fmtNum(r.Min) + " to " + valueText(h.X, r.Max)
}

// SVG draws the histogram: range shading, the counts as a filled step outline, hover texts per
// bin, range labels, axes and notes.
func (h Histogram) SVG() []byte {
	w, ht := size(h.Width, DefaultDensityWidth), size(h.Height, DefaultDensityHeight)
	nx, ny := tickTargets(w, ht)
	d := h.bin(nx, ny)
	f := &frame{w: w, h: ht, title: h.Title, annotations: h.Annotations, notes: d.notes,
		x: d.xs, y: d.ys, xTitle: h.X.title("x"), yTitle: h.Y.title("Events")}
	f.layout()
	p := f.plot

	var contents strings.Builder
	fmt.Fprintf(&contents, "Histogram of %s in %d bins of equal width, at most %d per bin.", plural(d.inBins, "event"), d.n, d.max)
	shown := 0
	for i, r := range d.ranges {
		if !r.shown {
			continue
		}
		if shown == 0 {
			contents.WriteString(" Ranges:")
		} else {
			contents.WriteByte(';')
		}
		shown++
		contents.WriteString(" " + h.rangeTitle(d, r, i))
	}
	if shown > 0 {
		contents.WriteByte('.')
	}
	for _, a := range h.Annotations {
		contents.WriteString(" " + a + ".")
	}

	var sw svgWriter
	f.begin(&sw, "histogram", "Histogram", describe("Histogram", f, contents.String(), d.notes))
	f.grid(&sw)
	for i, r := range d.ranges {
		if !r.shown {
			continue
		}
		color, dash := seriesStyle(i+1, false)
		a, b := d.rangePixels(r)
		sw.open("g", "class", "range", "fill", color, "stroke", color)
		sw.elem("title", h.rangeTitle(d, r, i))
		sw.empty("rect", "class", "range-shade", "x", px(a), "y", px(p.y0), "width", px(b-a), "height", px(p.y1-p.y0),
			"fill-opacity", strconv.FormatFloat(shadeAlpha, 'f', -1, 64), "stroke", "none")
		for _, e := range [2]struct {
			inside bool
			x      float64
		}{{r.tlo > d.xs.tlo, a}, {r.thi < d.xs.thi, b}} {
			if e.inside {
				sw.empty("line", "class", "range-edge", "x1", px(e.x), "x2", px(e.x), "y1", px(p.y0), "y2", px(p.y1),
					"stroke-width", "1.5", "stroke-dasharray", dash)
			}
		}
		sw.close("g")
	}

	tops, foot := d.tops()
	xAt := func(k int) float64 { return p.x0 + (p.x1-p.x0)*float64(k)/float64(d.n) }
	if d.inBins > 0 {
		var path strings.Builder
		path.WriteString("M" + px(p.x0) + " " + px(foot))
		cur := foot
		for k, y := range tops {
			if y != cur {
				if k > 0 {
					path.WriteString(" H" + px(xAt(k)))
				}
				path.WriteString(" V" + px(y))
				cur = y
			}
		}
		path.WriteString(" H" + px(p.x1))
		if cur != foot {
			path.WriteString(" V" + px(foot))
		}
		path.WriteString(" Z")
		sw.open("path", "class", "counts", "d", path.String(), "fill", histColor, "fill-opacity", strconv.FormatFloat(histOpacity, 'f', -1, 64),
			"stroke", histColor, "stroke-width", "1.5", "stroke-linejoin", "round")
		sw.elem("title", fmt.Sprintf("%s in %d bins, at most %d per bin", plural(d.inBins, "event"), d.n, d.max))
		sw.close("path")

		// A transparent bar per non-empty bin carries its hover text (fill-opacity 0 still
		// takes the pointer, fill none would not).
		sw.open("g", "class", "bins", "fill", "#000000", "fill-opacity", "0")
		for k, c := range d.counts {
			if c == 0 {
				continue
			}
			title := labelOr(h.X, "x") + " " + fmtNum(d.edge(k)) + " to " + valueText(h.X, d.edge(k+1)) + ": " + plural(c, "event")
			sw.titled("rect", title, "class", "bin", "x", px(xAt(k)), "y", px(tops[k]), "width", px(xAt(k+1)-xAt(k)), "height", px(foot-tops[k]))
		}
		sw.close("g")
	}

	// Range labels on top, one row each, centred on the visible part of the range.
	rows := max(int((p.y1-p.y0)/2/15), 1)
	row := 0
	for i, r := range d.ranges {
		if !r.shown {
			continue
		}
		a, b := d.rangePixels(r)
		label := d.label(r, i)
		maxW := p.x1 - p.x0 - 8
		short, _ := fit(label, maxW, smallSize)
		half := textWidth(short, smallSize) / 2
		x := math.Min(math.Max((a+b)/2, p.x0+4+half), p.x1-4-half)
		y := p.y0 + 14 + 15*float64(row%rows)
		row++
		sw.open("g", "class", "range-label")
		sw.elem("title", h.rangeTitle(d, r, i))
		sw.fitText(label, maxW, smallSize, "x", px(x), "y", px(y), "text-anchor", "middle", "font-size", px(smallSize),
			"fill", "#000000", "stroke", "#ffffff", "stroke-width", "3", "paint-order", "stroke", "font-weight", "bold")
		sw.close("g")
	}
	f.axes(&sw)
	f.end(&sw, d.inBins == 0)
	return sw.Bytes()
}

// maxPNGSide limits each side of a histogram's PNG: a 4096 × 4096 raster is 16 MB of pixels
// before encoding, while 10000 × 10000 (the SVG's limit) would be 100 MB.
const maxPNGSide = 4096

// PNG returns the plot area alone as a Width × Height raster (each side at most 4096), without
// axes or text, which would need a font renderer (SVG draws them): the range shading and the
// bars of the counts in the colours of the SVG, with the step outline in solid blue.
func (h Histogram) PNG() ([]byte, error) {
	w, ht := size(h.Width, DefaultDensityWidth), size(h.Height, DefaultDensityHeight)
	d := h.bin(tickTargets(w, ht))
	w, ht = math.Min(w, maxPNGSide), math.Min(ht, maxPNGSide)
	W, H := int(w), int(ht)
	d.xs.setPixels(0, w)
	d.ys.setPixels(ht, 0)
	tops, foot := d.tops()

	// A paletted image: one byte a pixel. The colours are white, blue, and each column's
	// background (white under the ranges' shading) without and with a bar over it; past 256
	// colours (a hundred or more overlapping ranges) a colour takes its nearest in the palette.
	blue := hexColor(histColor)
	pal := color.Palette{color.NRGBA{255, 255, 255, 255}, blue}
	index := map[color.NRGBA]uint8{}
	idx := func(c color.NRGBA) uint8 {
		if i, ok := index[c]; ok {
			return i
		}
		if len(pal) == 256 {
			return uint8(pal.Index(c))
		}
		pal = append(pal, c)
		index[c] = uint8(len(pal) - 1)
		return index[c]
	}
	bg := make([]color.NRGBA, W)
	for c := range bg {
		bg[c] = color.NRGBA{255, 255, 255, 255}
	}
	for i, r := range d.ranges {
		if !r.shown {
			continue
		}
		col, _ := seriesStyle(i+1, false)
		shade := hexColor(col)
		a, b := d.rangePixels(r)
		for c := range W {
			if x := float64(c) + 0.5; x >= a && x < b {
				bg[c] = blend(bg[c], shade, shadeAlpha)
			}
		}
	}
	type column struct{ bg, bar uint8 }
	cols := make([]column, W)
	for c := range W {
		cols[c] = column{idx(bg[c]), idx(blend(bg[c], blue, histOpacity))}
	}
	img := image.NewPaletted(image.Rect(0, 0, W, H), pal)
	row := func(y float64) int { return min(max(int(y), 0), H-1) }
	prev := -1
	for c := range W {
		k := min(int((float64(c)+0.5)*float64(d.n)/w), d.n-1)
		for r := range H {
			v := cols[c].bg
			if y := float64(r) + 0.5; d.counts[k] > 0 && y >= tops[k] && y < foot {
				v = cols[c].bar
			}
			img.Pix[r*img.Stride+c] = v
		}
		if d.inBins == 0 {
			continue
		}
		// The outline: the top of the bin, and the step from the previous one.
		img.Pix[row(tops[k])*img.Stride+c] = 1
		if prev >= 0 && prev != k {
			for r := row(math.Min(tops[k], tops[prev])); r <= row(math.Max(tops[k], tops[prev])); r++ {
				img.Pix[r*img.Stride+c] = 1
			}
		}
		prev = k
	}
	return encodePNG(img)
}

// hexColor parses "#RRGGBB".
func hexColor(s string) color.NRGBA {
	v, _ := strconv.ParseUint(strings.TrimPrefix(s, "#"), 16, 32)
	return color.NRGBA{uint8(v >> 16), uint8(v >> 8), uint8(v), 255}
}

// blend paints c over dst with opacity alpha, as SVG's fill-opacity does on an opaque ground.
func blend(dst, c color.NRGBA, alpha float64) color.NRGBA {
	mix := func(a, b uint8) uint8 { return uint8(math.Round(float64(a)*(1-alpha) + float64(b)*alpha)) }
	return color.NRGBA{mix(dst.R, c.R), mix(dst.G, c.G), mix(dst.B, c.B), 255}
}

// CSV returns one row per bin, in order: the bin's bounds on the x axis (data units), its count
// of events, and for each range (in the order of Ranges, headed "in" and its name) whether the
// bin lies in it: "yes", "partly" or "no". A range that is not drawn is "no" throughout.
func (h Histogram) CSV() []byte {
	nx, ny := tickTargets(size(h.Width, DefaultDensityWidth), size(h.Height, DefaultDensityHeight))
	d := h.bin(nx, ny)
	xt := h.X.title("x")
	header := []string{xt + " from", xt + " to", "events"}
	for i, r := range h.Ranges {
		header = append(header, "in "+rangeName(r, i))
	}
	rows := make([][]string, d.n)
	for k, c := range d.counts {
		row := []string{csvNum(d.edge(k)), csvNum(d.edge(k + 1)), strconv.Itoa(c)}
		for _, r := range d.ranges {
			row = append(row, d.overlap(k, r))
		}
		rows[k] = row
	}
	return csvTable(header, rows)
}
