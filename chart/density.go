package chart

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"strings"
)

// Gate is a gate outline drawn over a density plot: a closed polygon with vertices (X[i], Y[i])
// in the data units of the axes. A rectangle is its four corners, an ellipse points on its
// outline; parts outside the plot are clipped.
type Gate struct {
	Name string
	X, Y []float64
}

// Density is a density plot of flow cytometry events: the events (EventX[i], EventY[i]),
// already transformed as the axes show them, are counted on a Bins × Bins grid and each bin is
// coloured by the logarithm of its count with a viridis ramp (empty bins are white). The grid
// is a PNG raster; SVG wraps it with axes, labels, a colour bar and the gate outlines.
//
// Without fixed bounds the axes cover the events; gates are not taken into account, so fix
// Min and Max (e.g. the transform's range) to show gates that reach beyond the events. Events
// outside fixed bounds are counted in a note, not piled on the edges.
type Density struct {
	Title          string
	Width, Height  int // 0 means DefaultDensityWidth × DefaultDensityHeight
	X, Y           Axis
	EventX, EventY []float64
	Bins           int // bins per axis; 0 means 256, limited to [8, 1024]
	Gates          []Gate

	Annotations []string
}

// densityGrid is the binned plot: counts row by row, row 0 at the top (highest y).
type densityGrid struct {
	xs, ys *scale
	n      int
	counts []uint32
	max    uint32
	inBins int
	notes  []string
}

func (c Density) bins() int {
	switch {
	case c.Bins <= 0:
		return 256
	case c.Bins < 8:
		return 8
	case c.Bins > 1024:
		return 1024
	}
	return c.Bins
}

// grid bins the events; target gives the number of ticks wanted on x and y.
func (c Density) grid(nx, ny int) *densityGrid {
	m := min(len(c.EventX), len(c.EventY))
	var d drops
	d.unpaired = max(len(c.EventX), len(c.EventY)) - m
	// The extent of the events, unless both axes have usable fixed bounds. Plain comparisons:
	// math.Min and math.Max, careful about NaN and −0, cost a third of the plot.
	var ex, ey extent
	if !hasFixedBounds(c.X) || !hasFixedBounds(c.Y) {
		ex0, ex1, ey0, ey1 := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
		for i := range m {
			x, y := c.EventX[i], c.EventY[i]
			if validOn(x, c.X.Log) && validOn(y, c.Y.Log) {
				if x < ex0 {
					ex0 = x
				}
				if x > ex1 {
					ex1 = x
				}
				if y < ey0 {
					ey0 = y
				}
				if y > ey1 {
					ey1 = y
				}
			}
		}
		if ex0 <= ex1 {
			ex.add(ex0)
			ex.add(ex1)
			ey.add(ey0)
			ey.add(ey1)
		}
	}
	g := &densityGrid{n: c.bins()}
	var scaleNotes []string
	g.xs = newScale(c.X, "x", ex, nx, &scaleNotes)
	g.ys = newScale(c.Y, "y", ey, ny, &scaleNotes)
	n := g.n
	g.counts = make([]uint32, n*n)
	xs, ys := g.xs, g.ys
	kx := float64(n) / (xs.thi*0.5 - xs.tlo*0.5)
	ky := float64(n) / (ys.thi*0.5 - ys.tlo*0.5)
	fn := float64(n)
	for i := range m {
		x, y := c.EventX[i], c.EventY[i]
		if x-x != 0 || y-y != 0 {
			d.nonFinite++
			continue
		}
		if c.X.Log {
			if x <= 0 {
				d.nonPosX++
				continue
			}
			x = log10(x)
		}
		if c.Y.Log {
			if y <= 0 {
				d.nonPosY++
				continue
			}
			y = log10(y)
		}
		if x < xs.tlo || x > xs.thi || y < ys.tlo || y > ys.thi {
			d.outside++
			continue
		}
		fx := (x*0.5 - xs.tlo*0.5) * kx
		fy := (y*0.5 - ys.tlo*0.5) * ky
		ix, iy := 0, 0
		if fx >= fn {
			ix = n - 1
		} else if fx > 0 {
			ix = int(fx)
		}
		if fy >= fn {
			iy = n - 1
		} else if fy > 0 {
			iy = int(fy)
		}
		g.counts[(n-1-iy)*n+ix]++
		g.inBins++
	}
	for _, v := range g.counts {
		g.max = max(g.max, v)
	}
	g.notes = append(d.notes("event"), scaleNotes...)
	return g
}

// hasFixedBounds reports whether newScale will use both fixed bounds of a as given.
func hasFixedBounds(a Axis) bool {
	return a.Min != nil && a.Max != nil && validOn(*a.Min, a.Log) && validOn(*a.Max, a.Log) && *a.Min < *a.Max
}

// level is the position of count in the colour ramp: log(count)/log(max), 0 for one event.
func (g *densityGrid) level(count uint32) float64 {
	if g.max <= 1 || count <= 1 {
		return 0
	}
	return math.Log(float64(count)) / math.Log(float64(g.max))
}

// image returns the grid as a paletted image: index 0 is white (empty), 1–255 the ramp.
func (g *densityGrid) image() *image.Paletted {
	pal := make(color.Palette, 256)
	pal[0] = color.NRGBA{255, 255, 255, 255}
	for k := 1; k < 256; k++ {
		pal[k] = viridis(float64(k-1) / 254)
	}
	img := image.NewPaletted(image.Rect(0, 0, g.n, g.n), pal)
	// Counts share few distinct values; a small cache spares most logarithms.
	idx := map[uint32]uint8{}
	for i, v := range g.counts {
		if v == 0 {
			continue
		}
		k, ok := idx[v]
		if !ok {
			k = uint8(1 + math.Round(g.level(v)*254))
			idx[v] = k
		}
		img.Pix[i] = k
	}
	return img
}

func encodePNG(img image.Image) ([]byte, error) {
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&b, img); err != nil {
		return nil, fmt.Errorf("chart: encode density PNG: %w", err)
	}
	return b.Bytes(), nil
}

// PNG returns the plot area alone as a Bins × Bins PNG, one pixel per bin, without axes (a PNG
// with axes and labels would need a font renderer; SVG draws them instead).
func (c Density) PNG() ([]byte, error) {
	nx, ny := tickTargets(size(c.Width, DefaultDensityWidth), size(c.Height, DefaultDensityHeight))
	return encodePNG(c.grid(nx, ny).image())
}

// SVG draws the plot: the PNG raster embedded as a data URI, axes, a colour bar and the gates.
func (c Density) SVG() []byte {
	w, h := size(c.Width, DefaultDensityWidth), size(c.Height, DefaultDensityHeight)
	nx, ny := tickTargets(w, h)
	g := c.grid(nx, ny)
	notes := g.notes
	type gatePx struct {
		name   string
		xs, ys []float64
	}
	var gates []gatePx
	badVertices := 0
	for _, gt := range c.Gates {
		var gx, gy []float64
		for i := range min(len(gt.X), len(gt.Y)) {
			x, y := gt.X[i], gt.Y[i]
			if !validOn(x, c.X.Log) || !validOn(y, c.Y.Log) {
				badVertices++
				continue
			}
			gx, gy = append(gx, x), append(gy, y)
		}
		if len(gx) < 3 {
			notes = append(notes, fmt.Sprintf("gate %q not drawn: fewer than 3 usable vertices", gt.Name))
			continue
		}
		gates = append(gates, gatePx{gt.Name, gx, gy})
	}
	if badVertices > 0 {
		word := "vertices"
		if badVertices == 1 {
			word = "vertex"
		}
		notes = append(notes, fmt.Sprintf("%d gate %s not finite (or ≤ 0 on a log axis) left out", badVertices, word))
	}
	f := &frame{w: w, h: h, title: c.Title, annotations: c.Annotations, notes: notes,
		x: g.xs, y: g.ys, xTitle: c.X.title("x"), yTitle: c.Y.title("y"), minRight: 84}
	f.layout()

	var contents strings.Builder
	fmt.Fprintf(&contents, "Density of %s on a grid of %d × %d bins, coloured by the logarithm of the count per bin (at most %d).",
		plural(g.inBins, "event"), g.n, g.n, g.max)
	if len(gates) > 0 {
		contents.WriteString(" Gates:")
		for i, gt := range gates {
			if i > 0 {
				contents.WriteByte(',')
			}
			contents.WriteString(" " + gt.name)
		}
		contents.WriteByte('.')
	}
	for _, a := range c.Annotations {
		contents.WriteString(" " + a + ".")
	}

	var sw svgWriter
	f.begin(&sw, "density-plot", "Density plot", describe("Density plot", f, contents.String(), notes))
	p := f.plot
	if pngBytes, err := encodePNG(g.image()); err == nil {
		sw.open("image", "class", "density", "x", px(p.x0), "y", px(p.y0), "width", px(p.x1-p.x0), "height", px(p.y1-p.y0),
			"preserveAspectRatio", "none", "image-rendering", "pixelated",
			"xlink:href", "data:image/png;base64,"+base64.StdEncoding.EncodeToString(pngBytes))
		sw.elem("title", fmt.Sprintf("%s in %d × %d bins", plural(g.inBins, "event"), g.n, g.n))
		sw.close("image")
	}
	f.grid(&sw)
	for _, gt := range gates {
		pxs := make([]float64, len(gt.xs))
		pys := make([]float64, len(gt.ys))
		for i := range gt.xs {
			pxs[i], pys[i] = g.xs.pix(gt.xs[i]), g.ys.pix(gt.ys[i])
		}
		cx, cy := clipPolygon(pxs, pys, p)
		if len(cx) < 3 {
			continue
		}
		var pts strings.Builder
		top := 0 // the highest vertex, the leftmost of a tie: where the label goes
		for i := range cx {
			if i > 0 {
				pts.WriteByte(' ')
			}
			pts.WriteString(px(cx[i]) + "," + px(cy[i]))
			if cy[i] < cy[top]-0.5 || (math.Abs(cy[i]-cy[top]) <= 0.5 && cx[i] < cx[top]) {
				top = i
			}
		}
		sw.open("g", "class", "gate", "fill", "none")
		sw.elem("title", gt.name)
		sw.empty("polygon", "points", pts.String(), "stroke", "#ffffff", "stroke-width", "3.5", "stroke-linejoin", "round")
		sw.empty("polygon", "points", pts.String(), "stroke", "#000000", "stroke-width", "1.5", "stroke-linejoin", "round")
		lx := math.Max(cx[top], p.x0+4)
		ly := math.Max(cy[top]-5, p.y0+12)
		label, _ := fit(gt.name, (p.x1-p.x0)/2, smallSize)
		anchor := "start"
		if lx+textWidth(label, smallSize) > p.x1-4 {
			lx, anchor = p.x1-4, "end"
		}
		sw.fitText(gt.name, (p.x1-p.x0)/2, smallSize, "x", px(lx), "y", px(ly), "text-anchor", anchor, "font-size", px(smallSize),
			"fill", "#000000", "stroke", "#ffffff", "stroke-width", "3", "paint-order", "stroke", "font-weight", "bold")
		sw.close("g")
	}
	f.axes(&sw)
	g.colourBar(&sw, p.x1+16, p.y0, p.y1)
	f.end(&sw, g.inBins == 0)
	return sw.Bytes()
}

// colourBar draws the count legend: the ramp bottom (1 event) to top (the largest count), with
// labels at 1, powers of ten and the maximum.
func (g *densityGrid) colourBar(sw *svgWriter, x, y0, y1 float64) {
	if g.max == 0 {
		return
	}
	const steps = 32
	sw.open("g", "class", "colour-bar", "font-size", px(smallSize))
	sw.elem("title", fmt.Sprintf("Events per bin, logarithmic colour scale from 1 to %d", g.max))
	sw.elem("text", "events/bin", "x", px(x), "y", px(y0+8))
	y0 += 20
	h := (y1 - y0) / steps
	for k := range steps {
		t := (float64(k) + 0.5) / steps
		c := viridis(t)
		sw.empty("rect", "x", px(x), "y", px(y1-float64(k+1)*h), "width", "12", "height", px(h+0.3),
			"fill", fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B))
	}
	labels := []uint32{1}
	for v := uint64(10); v < uint64(g.max); v *= 10 {
		labels = append(labels, uint32(v))
	}
	if g.max > 1 {
		labels = append(labels, g.max)
	}
	lastY := math.Inf(1)
	for i, v := range labels {
		y := y1 - g.level(v)*(y1-y0)
		if i < len(labels)-1 && lastY-y < 14 {
			continue
		}
		if i == len(labels)-1 && lastY-y < 14 && i > 0 { // the maximum wins over a crowded decade
			continue
		}
		sw.empty("line", "x1", px(x+12), "x2", px(x+15), "y1", px(y), "y2", px(y), "stroke", axisColor)
		sw.elem("text", fmt.Sprint(v), "x", px(x+17), "y", px(y+4))
		lastY = y
	}
	sw.close("g")
}

// CSV returns the non-empty bins, one row each: the bin's bounds on x and y (data units) and its
// count of events, bins in order of x then y.
func (c Density) CSV() []byte {
	nx, ny := tickTargets(size(c.Width, DefaultDensityWidth), size(c.Height, DefaultDensityHeight))
	g := c.grid(nx, ny)
	edge := func(s *scale, k int) float64 {
		t := float64(k) / float64(g.n)
		v := s.tlo*(1-t) + s.thi*t
		if s.log {
			return math.Pow(10, v)
		}
		return v
	}
	var rows [][]string
	for ix := range g.n {
		for iy := range g.n {
			v := g.counts[(g.n-1-iy)*g.n+ix]
			if v == 0 {
				continue
			}
			rows = append(rows, []string{csvNum(edge(g.xs, ix)), csvNum(edge(g.xs, ix+1)),
				csvNum(edge(g.ys, iy)), csvNum(edge(g.ys, iy+1)), fmt.Sprint(v)})
		}
	}
	xt, yt := c.X.title("x"), c.Y.title("y")
	return csvTable([]string{xt + " from", xt + " to", yt + " from", yt + " to", "events"}, rows)
}

// viridisControl are 33 entries of matplotlib's 256-entry viridis table (_viridis_data in
// lib/matplotlib/_cm_listed.py; colormaps by Stéfan van der Walt, Nathaniel Smith and Eric
// Firing, 2015, released CC0): entry round(255k/32) for k = 0…32. testdata/viridis_mpl.csv
// holds the whole table for the test.
var viridisControl = [33][3]float64{
	{0.267004, 0.004874, 0.329415}, // 0
	{0.277018, 0.050344, 0.375715}, // 8
	{0.282327, 0.094955, 0.417331}, // 16
	{0.282884, 0.135920, 0.453427}, // 24
	{0.278826, 0.175490, 0.483397}, // 32
	{0.270595, 0.214069, 0.507052}, // 40
	{0.258965, 0.251537, 0.524736}, // 48
	{0.244972, 0.287675, 0.537260}, // 56
	{0.229739, 0.322361, 0.545706}, // 64
	{0.214298, 0.355619, 0.551184}, // 72
	{0.199430, 0.387607, 0.554642}, // 80
	{0.185556, 0.418570, 0.556753}, // 88
	{0.172719, 0.448791, 0.557885}, // 96
	{0.160665, 0.478540, 0.558115}, // 104
	{0.149039, 0.508051, 0.557250}, // 112
	{0.137770, 0.537492, 0.554906}, // 120
	{0.127568, 0.566949, 0.550556}, // 128
	{0.121148, 0.592739, 0.544641}, // 135
	{0.120081, 0.622161, 0.534946}, // 143
	{0.130067, 0.651384, 0.521608}, // 151
	{0.153894, 0.680203, 0.504172}, // 159
	{0.191090, 0.708366, 0.482284}, // 167
	{0.239374, 0.735588, 0.455688}, // 175
	{0.296479, 0.761561, 0.424223}, // 183
	{0.360741, 0.785964, 0.387814}, // 191
	{0.430983, 0.808473, 0.346476}, // 199
	{0.506271, 0.828786, 0.300362}, // 207
	{0.585678, 0.846661, 0.249897}, // 215
	{0.668054, 0.861999, 0.196293}, // 223
	{0.751884, 0.874951, 0.143228}, // 231
	{0.835270, 0.886029, 0.102646}, // 239
	{0.916242, 0.896091, 0.100717}, // 247
	{0.993248, 0.906157, 0.143936}, // 255
}

// viridis returns the ramp's colour at t, clamped to [0, 1]: linear interpolation in sRGB
// between the control points, which are close enough that the result stays within 2/255 of
// the full table.
func viridis(t float64) color.NRGBA {
	if !(t > 0) {
		t = 0
	}
	if t > 1 {
		t = 1
	}
	u := t * 32
	k := min(int(u), 31)
	f := u - float64(k)
	var c [3]uint8
	for i := range 3 {
		v := viridisControl[k][i]*(1-f) + viridisControl[k+1][i]*f
		c[i] = uint8(math.Round(v * 255))
	}
	return color.NRGBA{c[0], c[1], c[2], 255}
}
