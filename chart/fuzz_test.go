package chart

import (
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"image/png"
	"math"
	"strings"
	"testing"
)

// floatsFrom decodes fuzz bytes into float64s so that any bit pattern (NaN payloads, ±Inf,
// subnormals, ±MaxFloat64) reaches the charts.
func floatsFrom(b []byte) []float64 {
	var out []float64
	for len(b) >= 8 && len(out) < 64 {
		out = append(out, math.Float64frombits(binary.LittleEndian.Uint64(b)))
		b = b[8:]
	}
	return out
}

func encodeFloats(xs ...float64) []byte {
	var b []byte
	for _, x := range xs {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
	}
	return b
}

// axesFrom builds two axes from fuzz flags: log scales, fixed bounds and custom ticks taken from
// bounds, labels and units from name.
func axesFrom(flags uint16, name string, bounds []float64) (Axis, Axis) {
	ax := Axis{Label: name, Log: flags&1 != 0}
	ay := Axis{Unit: name, Log: flags&2 != 0}
	at := func(i int) *float64 {
		if i < len(bounds) {
			return &bounds[i]
		}
		return nil
	}
	if flags&4 != 0 {
		ax.Min, ax.Max = at(0), at(1)
	}
	if flags&8 != 0 {
		ay.Min, ay.Max = at(2), at(3)
	}
	if flags&16 != 0 {
		for _, v := range bounds {
			ax.Ticks = append(ax.Ticks, Tick{v, name})
		}
	}
	return ax, ay
}

// sizeFrom gives widths and heights from tiny to large, with 0 (the default) most often.
func sizeFrom(flags uint16) (int, int) {
	sizes := []int{0, 0, 1, 250, 720, 3000, -5, 20000}
	return sizes[flags>>8&7], sizes[flags>>11&7]
}

// checkFuzz fails when a chart is not a well-formed SVG with finite coordinates and an
// accessible name, or when its CSV cannot be read back.
func checkFuzz(t *testing.T, c Chart) {
	svg := c.SVG()
	root, err := parseXML(svg)
	if err != nil {
		t.Fatalf("SVG not well formed: %v\n%s", err, svg)
	}
	if msg := checkTree(root); msg != "" {
		t.Fatalf("%s\n%s", msg, svg)
	}
	r := csv.NewReader(bytes.NewReader(c.CSV()))
	r.FieldsPerRecord = -1
	if _, err := r.ReadAll(); err != nil {
		t.Fatalf("CSV not readable: %v", err)
	}
}

var fuzzSeeds = []struct {
	a, b, bounds []float64
	flags        uint16
	name         string
}{
	{[]float64{0, 3, 7, 14, 21}, []float64{1e6, 3e6, 2e7, 1.5e8, 3e8}, []float64{0, 21, 1e5, 1e9}, 2, "NK cells"},
	{[]float64{1, 2, 4, 8, 16}, []float64{12, 21, 37, 55, 72}, []float64{1, 20, 0, 100}, 1 | 4 | 8 | 16, "E:T"},
	{[]float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, -1}, []float64{0, -0.0, 5e-324, math.MaxFloat64, -math.MaxFloat64}, nil, 3, `<&">`},
	{[]float64{5, 5, 5}, []float64{5, 5, 5}, []float64{5, 5, math.NaN(), -1}, 4 | 8 | 2, "all equal"},
	{[]float64{-math.MaxFloat64, math.MaxFloat64}, []float64{math.MaxFloat64, -math.MaxFloat64}, []float64{math.Inf(1), 0}, 4 | 16 | 2<<8 | 6<<11, "huge"},
	{[]float64{1e-320, 2e-320}, []float64{1e-310, 1e-300}, []float64{1e-322, 1e-300}, 3 | 4, "subnormal"},
	{nil, nil, nil, 0, ""},
	{[]float64{1}, []float64{2}, nil, 7 << 8, "a\xffb\x00"},
}

// FuzzLine proves that no input panics Line.SVG or Line.CSV and that the output is always a
// well-formed SVG without NaN or Inf coordinates.
func FuzzLine(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(encodeFloats(s.a...), encodeFloats(s.b...), encodeFloats(s.bounds...), s.flags, s.name)
	}
	f.Fuzz(func(t *testing.T, xRaw, yRaw, bRaw []byte, flags uint16, name string) {
		xs, ys := floatsFrom(xRaw), floatsFrom(yRaw)
		ax, ay := axesFrom(flags, name, floatsFrom(bRaw))
		w, h := sizeFrom(flags)
		c := Line{Title: name, Width: w, Height: h, X: ax, Y: ay, Annotations: []string{name},
			Series: []Series{
				{Name: name, X: xs, Y: ys, Markers: flags&32 == 0, Dashed: flags&64 != 0, Titles: []string{name}},
				{Name: "curve", X: ys, Y: xs},
			}}
		checkFuzz(t, c)
	})
}

// FuzzStrip is FuzzLine for strip charts: the values of b go to groups and subjects taken
// from the bytes of name.
func FuzzStrip(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(encodeFloats(s.b...), encodeFloats(s.bounds...), s.flags, s.name)
	}
	f.Fuzz(func(t *testing.T, yRaw, bRaw []byte, flags uint16, name string) {
		ys := floatsFrom(yRaw)
		_, ay := axesFrom(flags, name, floatsFrom(bRaw))
		w, h := sizeFrom(flags)
		var pts []StripPoint
		for i, y := range ys {
			g, s := "", ""
			if len(name) > 0 {
				g = name[:i%len(name)]
				s = strings.Repeat(name[i%len(name):], 1)
			}
			pts = append(pts, StripPoint{Group: g, Subject: s, Y: y})
		}
		c := Strip{Title: name, Width: w, Height: h, Y: ay, Points: pts, Groups: strings.Fields(name),
			GroupLabel: name, Paired: flags&32 == 0, Box: flags&64 == 0}
		checkFuzz(t, c)
	})
}

// FuzzScatter is FuzzLine for scatter charts.
func FuzzScatter(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(encodeFloats(s.a...), encodeFloats(s.b...), encodeFloats(s.bounds...), s.flags, s.name)
	}
	f.Fuzz(func(t *testing.T, xRaw, yRaw, bRaw []byte, flags uint16, name string) {
		xs, ys := floatsFrom(xRaw), floatsFrom(yRaw)
		ax, ay := axesFrom(flags, name, floatsFrom(bRaw))
		w, h := sizeFrom(flags)
		var pts []ScatterPoint
		for i := range min(len(xs), len(ys)) {
			pts = append(pts, ScatterPoint{X: xs[i], Y: ys[i], Label: name, Highlight: (flags>>(i%16))&1 == 1})
		}
		c := Scatter{Title: name, Width: w, Height: h, X: ax, Y: ay, Points: pts, HighlightName: name}
		checkFuzz(t, c)
	})
}

// FuzzDensity is FuzzLine for density plots, with a gate made of the events themselves and a
// small grid so that each run stays fast.
func FuzzDensity(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(encodeFloats(s.a...), encodeFloats(s.b...), encodeFloats(s.bounds...), s.flags, s.name)
	}
	f.Fuzz(func(t *testing.T, xRaw, yRaw, bRaw []byte, flags uint16, name string) {
		xs, ys := floatsFrom(xRaw), floatsFrom(yRaw)
		ax, ay := axesFrom(flags, name, floatsFrom(bRaw))
		w, h := sizeFrom(flags)
		c := Density{Title: name, Width: w, Height: h, X: ax, Y: ay, EventX: xs, EventY: ys,
			Bins: int(flags>>5&7) * 9, Gates: []Gate{{Name: name, X: xs, Y: ys}, {Name: name, X: ys, Y: xs}}}
		checkFuzz(t, c)
		if _, err := c.PNG(); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzHistogram is FuzzLine for histograms: the events are a, the ranges are pairs of b
// (Min, Max), the axes come from the bounds. The PNG must decode at the size asked for; it is
// drawn at most 600 pixels a side, so that each run stays fast.
func FuzzHistogram(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(encodeFloats(s.a...), encodeFloats(s.b...), encodeFloats(s.bounds...), s.flags, s.name)
	}
	f.Fuzz(func(t *testing.T, eRaw, rRaw, bRaw []byte, flags uint16, name string) {
		events, ends := floatsFrom(eRaw), floatsFrom(rRaw)
		ax, ay := axesFrom(flags, name, floatsFrom(bRaw))
		w, h := sizeFrom(flags)
		var ranges []Range
		for i := 0; i+1 < len(ends); i += 2 {
			ranges = append(ranges, Range{Name: name, Min: ends[i], Max: ends[i+1]})
		}
		c := Histogram{Title: name, Width: w, Height: h, X: ax, Y: ay, Events: events,
			Bins: int(flags>>5&7) * 9, Ranges: ranges, Annotations: []string{name}}
		checkFuzz(t, c)
		c.Width, c.Height = min(max(w, 0), 600), min(max(h, 0), 600)
		b, err := c.PNG()
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("PNG not readable: %v", err)
		}
		wantW, wantH := int(size(c.Width, DefaultDensityWidth)), int(size(c.Height, DefaultDensityHeight))
		if got := img.Bounds().Size(); got.X != wantW || got.Y != wantH {
			t.Fatalf("PNG %d × %d, want %d × %d", got.X, got.Y, wantW, wantH)
		}
	})
}
