package chart

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// StripPoint is one value of a Strip chart, e.g. the NK yield of one donor's culture under
// one protocol.
type StripPoint struct {
	Group   string // the group (protocol) on the x axis
	Subject string // the donor or culture; Paired joins the points of a subject
	Y       float64
	Title   string // hover text; empty: group, subject and value with its unit
}

// Strip is a strip chart: groups side by side on the x axis, one point per value, with an
// optional box per group and optional lines joining the same subject across groups.
//
// Points of a group spread sideways by a fixed low-discrepancy sequence (van der Corput,
// base 2), not at random: the same input gives the same picture. With Paired, a subject keeps
// one lateral position in every group and gets a colour of its own; a line joins its values
// (their mean in the scale's space when it has several in a group) in neighbouring groups,
// broken where it has no value.
//
// A box spans the quartiles with a line at the median, computed as R's quantile(type = 7)
// (Hyndman & Fan 1996, definition 7) on the values of the group; whiskers reach the most
// extreme values within 1.5 × IQR of the box (Tukey). Every value is drawn as a point anyway,
// so there are no separate outlier marks.
type Strip struct {
	Title         string
	Width, Height int // 0 means DefaultWidth × DefaultHeight

	// Groups fixes the order of the groups; groups of points not listed follow in order of
	// first appearance.
	Groups     []string
	GroupLabel string // title of the x axis, e.g. "Protocol"
	Y          Axis
	Points     []StripPoint
	Paired     bool
	Box        bool

	Annotations []string
}

// groupsOf returns the groups in display order and each point's group index.
func (c Strip) groupsOf() ([]string, []int) {
	idx := map[string]int{}
	var groups []string
	add := func(g string) int {
		if i, ok := idx[g]; ok {
			return i
		}
		idx[g] = len(groups)
		groups = append(groups, g)
		return len(groups) - 1
	}
	for _, g := range c.Groups {
		add(g)
	}
	gi := make([]int, len(c.Points))
	for i, p := range c.Points {
		gi[i] = add(p.Group)
	}
	return groups, gi
}

// boxStats are the numbers of one box.
type boxStats struct {
	n                     int
	q1, med, q3, wlo, whi float64
}

// newBoxStats computes the box of finite values (sorted in place).
func newBoxStats(v []float64) boxStats {
	slices.Sort(v)
	b := boxStats{n: len(v), q1: quantile7(v, 0.25), med: quantile7(v, 0.5), q3: quantile7(v, 0.75)}
	iqr := b.q3 - b.q1
	lo, hi := b.q1-1.5*iqr, b.q3+1.5*iqr
	b.wlo, b.whi = b.q1, b.q3
	for _, x := range v {
		if x >= lo && x < b.wlo {
			b.wlo = x
		}
		if x <= hi && x > b.whi {
			b.whi = x
		}
	}
	return b
}

// quantile7 is the p-quantile of sorted, non-empty data by R's type 7: with h = (n − 1)p
// (counting from 0), the value at ⌊h⌋ moved the fraction h − ⌊h⌋ towards the next one.
func quantile7(sorted []float64, p float64) float64 {
	h := float64(len(sorted)-1) * p
	lo := math.Floor(h)
	i := int(lo)
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	a, b := sorted[i], sorted[i+1]
	f := h - lo
	if f == 0 || a == b {
		return a
	}
	q := (1-f)*a + f*b // never overflows, unlike a + f(b − a)
	return math.Min(math.Max(q, a), b)
}

// vdc is the van der Corput radical inverse of n in base 2: 0, 1/2, 1/4, 3/4, 1/8, …
func vdc(n int) float64 {
	v, f := 0.0, 0.5
	for n > 0 {
		if n&1 == 1 {
			v += f
		}
		n >>= 1
		f /= 2
	}
	return v
}

// SVG draws the chart.
func (c Strip) SVG() []byte {
	w, h := size(c.Width, DefaultWidth), size(c.Height, DefaultHeight)
	groups, gi := c.groupsOf()
	var d drops
	valid := make([]bool, len(c.Points))
	var ey extent
	subjects := map[string]int{}
	var subjectNames []string
	for i, p := range c.Points {
		switch {
		case !finite(p.Y):
			d.nonFinite++
		case c.Y.Log && p.Y <= 0:
			d.nonPosY++
		default:
			valid[i] = true
			ey.add(p.Y)
			if _, ok := subjects[p.Subject]; !ok && p.Subject != "" {
				subjects[p.Subject] = len(subjectNames)
				subjectNames = append(subjectNames, p.Subject)
			}
		}
	}
	var scaleNotes []string
	_, ny := tickTargets(w, h)
	ys := newScale(c.Y, "y", ey, ny, &scaleNotes)
	drawn := 0
	for i, p := range c.Points {
		if valid[i] {
			if ys.inside(p.Y) {
				drawn++
			} else {
				d.outside++
			}
		}
	}
	notes := append(d.notes("value"), scaleNotes...)
	var legend []legendEntry
	if c.Paired && len(subjectNames) > 0 {
		for si, s := range subjectNames {
			color, _ := seriesStyle(si, false)
			legend = append(legend, legendEntry{name: s, color: color, line: true, marker: true})
		}
	}
	f := &frame{w: w, h: h, title: c.Title, annotations: c.Annotations, notes: notes, legend: legend,
		y: ys, xTitle: c.GroupLabel, yTitle: c.Y.title("value"), xLabelRows: 2}
	f.layout()

	// Positions: slot centre per group, lateral lane per point.
	slotW := (f.plot.x1 - f.plot.x0) / float64(max(len(groups), 1))
	spread := math.Min(0.2*slotW, 40)
	center := func(g int) float64 { return f.plot.x0 + (float64(g)+0.5)*slotW }
	lane := make([]int, len(c.Points))
	inGroup := make([]int, len(groups))
	for i, p := range c.Points {
		if !valid[i] {
			continue
		}
		if s, ok := subjects[p.Subject]; ok && c.Paired {
			lane[i] = s
		} else {
			lane[i] = inGroup[gi[i]]
			if c.Paired {
				lane[i] += len(subjectNames)
			}
		}
		inGroup[gi[i]]++
	}
	xOf := func(i int) float64 { return center(gi[i]) + (vdc(lane[i]+1)-0.5)*2*spread }
	values := make([][]float64, len(groups))
	for i, p := range c.Points {
		if valid[i] {
			values[gi[i]] = append(values[gi[i]], p.Y)
		}
	}

	var contents strings.Builder
	fmt.Fprintf(&contents, "%d groups", len(groups))
	if len(groups) > 0 {
		contents.WriteByte(':')
	}
	for g, name := range groups {
		if g == 20 {
			fmt.Fprintf(&contents, " and %d more", len(groups)-g)
			break
		}
		if g > 0 {
			contents.WriteByte(',')
		}
		fmt.Fprintf(&contents, " %s (n = %d", name, len(values[g]))
		if len(values[g]) > 0 {
			b := newBoxStats(slices.Clone(values[g]))
			fmt.Fprintf(&contents, ", median %s", valueText(c.Y, b.med))
		}
		contents.WriteByte(')')
	}
	contents.WriteByte('.')
	if c.Paired {
		fmt.Fprintf(&contents, " Lines join the values of each of %d subjects.", len(subjectNames))
	}
	for _, a := range c.Annotations {
		contents.WriteString(" " + a + ".")
	}

	var sw svgWriter
	f.begin(&sw, "strip-chart", "Strip chart", describe("Strip chart", f, contents.String(), notes))
	f.grid(&sw)
	clampY := func(y float64) float64 { return math.Min(math.Max(y, f.plot.y0), f.plot.y1) }
	if c.Box {
		sw.open("g", "class", "boxes", "stroke", "#444444", "fill", "none")
		for g, vals := range values {
			if len(vals) == 0 {
				continue
			}
			b := newBoxStats(slices.Clone(vals))
			cx := center(g)
			bw := math.Min(0.5*slotW, 120)
			sw.open("g", "class", "box")
			sw.elem("title", fmt.Sprintf("%s: n = %d, median %s, quartiles %s to %s, whiskers %s to %s",
				groups[g], b.n, valueText(c.Y, b.med), fmtNum(b.q1), fmtNum(b.q3), fmtNum(b.wlo), fmtNum(b.whi)))
			yq1, yq3 := clampY(ys.pix(b.q1)), clampY(ys.pix(b.q3))
			sw.empty("line", "x1", px(cx), "x2", px(cx), "y1", px(clampY(ys.pix(b.wlo))), "y2", px(yq1))
			sw.empty("line", "x1", px(cx), "x2", px(cx), "y1", px(yq3), "y2", px(clampY(ys.pix(b.whi))))
			sw.empty("rect", "x", px(cx-bw/2), "y", px(yq3), "width", px(bw), "height", px(yq1-yq3), "fill", "#f2f2f2")
			ym := px(clampY(ys.pix(b.med)))
			sw.empty("line", "class", "median", "x1", px(cx-bw/2), "x2", px(cx+bw/2), "y1", ym, "y2", ym, "stroke-width", "2.5")
			sw.close("g")
		}
		sw.close("g")
	}
	if c.Paired {
		sw.open("g", "class", "pairs", "fill", "none", "stroke-width", "1.5", "stroke-opacity", "0.8")
		for si, s := range subjectNames {
			// Per group: lateral position and mean position (in pixels, i.e. in scale space).
			sumY := make([]float64, len(groups))
			cnt := make([]int, len(groups))
			xg := make([]float64, len(groups))
			for i, p := range c.Points {
				if valid[i] && p.Subject == s {
					sumY[gi[i]] += ys.pix(p.Y)
					cnt[gi[i]]++
					xg[gi[i]] = xOf(i)
				}
			}
			pb := pathBuilder{r: f.plot}
			for g := 1; g < len(groups); g++ {
				if cnt[g-1] == 0 || cnt[g] == 0 {
					pb.lift()
					continue
				}
				pb.segment(xg[g-1], sumY[g-1]/float64(cnt[g-1]), xg[g], sumY[g]/float64(cnt[g]))
			}
			if path := pb.String(); path != "" {
				color, _ := seriesStyle(si, false)
				sw.open("path", "d", path, "stroke", color)
				sw.elem("title", s)
				sw.close("path")
			}
		}
		sw.close("g")
	}
	sw.open("g", "class", "points", "stroke", "#ffffff", "stroke-width", "1")
	for i, p := range c.Points {
		if !valid[i] || !ys.inside(p.Y) {
			continue
		}
		color := OkabeIto[0]
		if s, ok := subjects[p.Subject]; ok && c.Paired {
			color, _ = seriesStyle(s, false)
		}
		title := p.Title
		if title == "" {
			title = p.Group
			if p.Subject != "" {
				title += " — " + p.Subject
			}
			title += ": " + valueText(c.Y, p.Y)
		}
		sw.titled("circle", title, "cx", px(xOf(i)), "cy", px(ys.pix(p.Y)), "r", px(markerR), "fill", color)
	}
	sw.close("g")
	f.axes(&sw)
	sw.open("g", "class", "groups", "font-size", px(smallSize), "text-anchor", "middle")
	for g, name := range groups {
		cx := center(g)
		sw.fitText(name, slotW-4, smallSize, "x", px(cx), "y", px(f.plot.y1+17))
		sw.fitText(fmt.Sprintf("n = %d", len(values[g])), slotW-4, smallSize, "x", px(cx), "y", px(f.plot.y1+31), "fill", noteColor)
	}
	sw.close("g")
	f.drawLegend(&sw)
	f.end(&sw, drawn == 0)
	return sw.Bytes()
}

// CSV returns one row per point: group, subject and value, with the axis label and unit in the
// header. A non-finite value is an empty cell.
func (c Strip) CSV() []byte {
	rows := make([][]string, 0, len(c.Points))
	for _, p := range c.Points {
		rows = append(rows, []string{csvText(p.Group), csvText(p.Subject), csvNum(p.Y)})
	}
	group := c.GroupLabel
	if group == "" {
		group = "group"
	}
	return csvTable([]string{group, "subject", c.Y.title("value")}, rows)
}
