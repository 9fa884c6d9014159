package chart

import "testing"

// BenchmarkGrowthSVG draws the culture page's growth chart: 2 series of 10 points on a log axis.
func BenchmarkGrowthSVG(b *testing.B) {
	c := growthChart()
	for b.Loop() {
		c.SVG()
	}
}

// BenchmarkDensitySVG draws a 256 × 256 density plot of 1,000,000 events with two gates: binning,
// colouring, PNG encoding and the SVG around it.
func BenchmarkDensitySVG(b *testing.B) {
	c := densityPlot(1_000_000)
	c.Bins = 256
	for b.Loop() {
		c.SVG()
	}
}

// BenchmarkDensityPNG is the raster alone.
func BenchmarkDensityPNG(b *testing.B) {
	c := densityPlot(1_000_000)
	c.Bins = 256
	for b.Loop() {
		if _, err := c.PNG(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDensitySVGAutoAxes is BenchmarkDensitySVG with the axes taken from the events, which
// costs one more pass over them.
func BenchmarkDensitySVGAutoAxes(b *testing.B) {
	c := densityPlot(1_000_000)
	c.Bins = 256
	c.X.Min, c.X.Max, c.Y.Min, c.Y.Max = nil, nil, nil, nil
	for b.Loop() {
		c.SVG()
	}
}

// BenchmarkHistogramSVG draws a 256-bin histogram of 100,000 events with two ranges: binning,
// counting the ranges, the step outline and a hover bar per bin.
func BenchmarkHistogramSVG(b *testing.B) {
	c := histogramPlot(100_000)
	c.Bins = 256
	for b.Loop() {
		c.SVG()
	}
}

// BenchmarkHistogramPNG is the raster of the same histogram at the default size.
func BenchmarkHistogramPNG(b *testing.B) {
	c := histogramPlot(100_000)
	c.Bins = 256
	for b.Loop() {
		if _, err := c.PNG(); err != nil {
			b.Fatal(err)
		}
	}
}
