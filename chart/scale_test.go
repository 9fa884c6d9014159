package chart

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func ticksOf(s *scale) (vals []float64, labels []string) {
	for _, t := range s.ticks {
		vals = append(vals, t.v)
		labels = append(labels, t.label)
	}
	return vals, labels
}

func sameFloats(got, want []float64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > 1e-9*math.Max(1, math.Abs(want[i])) {
			return false
		}
	}
	return true
}

// TestScaleTicks checks bounds and ticks against hand arithmetic: Heckbert's nice step for a
// span s and t ticks is the 1-2-5 number nearest s/(t−1); a log axis ends on whole decades.
func TestScaleTicks(t *testing.T) {
	tests := []struct {
		name           string
		ax             Axis
		lo, hi         float64
		target         int
		wantLo, wantHi float64
		wantTicks      []float64
		wantLabels     []string
		wantMinor      int
	}{
		{name: "days 0-21", lo: 0, hi: 21, target: 7, wantLo: 0, wantHi: 25,
			// 21/6 = 3.5 → 5
			wantTicks: []float64{0, 5, 10, 15, 20, 25}, wantLabels: []string{"0", "5", "10", "15", "20", "25"}},
		{name: "0.3-9.7", lo: 0.3, hi: 9.7, target: 6, wantLo: 0, wantHi: 10,
			// 9.4/5 = 1.88 → 2
			wantTicks: []float64{0, 2, 4, 6, 8, 10}, wantLabels: []string{"0", "2", "4", "6", "8", "10"}},
		{name: "fractions", lo: 0.12, hi: 0.47, target: 5, wantLo: 0.1, wantHi: 0.5,
			// 0.35/4 = 0.0875 → 0.1
			wantTicks: []float64{0.1, 0.2, 0.3, 0.4, 0.5}, wantLabels: []string{"0.1", "0.2", "0.3", "0.4", "0.5"}},
		{name: "negative", lo: -7, hi: 3, target: 6, wantLo: -8, wantHi: 4,
			// 10/5 = 2 → 2
			wantTicks: []float64{-8, -6, -4, -2, 0, 2, 4}, wantLabels: []string{"−8", "−6", "−4", "−2", "0", "2", "4"}},
		{name: "cells linear", lo: 0, hi: 3.1e8, target: 5, wantLo: 0, wantHi: 4e8,
			// 3.1e8/4 = 7.75e7 → 1e8
			wantTicks: []float64{0, 1e8, 2e8, 3e8, 4e8}, wantLabels: []string{"0", "10⁸", "2×10⁸", "3×10⁸", "4×10⁸"}},
		{name: "fixed bounds", ax: Axis{Min: f64(0), Max: f64(100)}, lo: 12, hi: 72, target: 6, wantLo: 0, wantHi: 100,
			wantTicks: []float64{0, 20, 40, 60, 80, 100}, wantLabels: []string{"0", "20", "40", "60", "80", "100"}},
		{name: "log cells", ax: Axis{Log: true}, lo: 1.8e5, hi: 3.1e8, target: 6, wantLo: 1e5, wantHi: 1e9,
			wantTicks: []float64{1e5, 1e6, 1e7, 1e8, 1e9}, wantLabels: []string{"10⁵", "10⁶", "10⁷", "10⁸", "10⁹"},
			wantMinor: 8}, // 2 and 5 in each of 4 decades
		{name: "log E:T", ax: Axis{Log: true}, lo: 1.25, hi: 20, target: 6, wantLo: 1, wantHi: 20,
			// log10(16) = 1.2 decades: short, bounds on 1-2-5
			wantTicks: []float64{1, 2, 5, 10, 20}, wantLabels: []string{"1", "2", "5", "10", "20"}},
		{name: "log fold", ax: Axis{Log: true}, lo: 60, hi: 1320, target: 6, wantLo: 50, wantHi: 2000,
			wantTicks: []float64{50, 100, 200, 500, 1000, 2000}, wantLabels: []string{"50", "100", "200", "500", "1000", "2000"}},
		{name: "log short big", ax: Axis{Log: true}, lo: 2.2e6, hi: 7e6, target: 6, wantLo: 2e6, wantHi: 1e7,
			wantTicks: []float64{2e6, 5e6, 1e7}, wantLabels: []string{"2×10⁶", "5×10⁶", "10⁷"}},
		{name: "log small", ax: Axis{Log: true}, lo: 3e-4, hi: 0.2, target: 6, wantLo: 1e-4, wantHi: 1,
			wantTicks: []float64{1e-4, 1e-3, 1e-2, 1e-1, 1}, wantLabels: []string{"10⁻⁴", "10⁻³", "10⁻²", "10⁻¹", "10⁰"},
			wantMinor: 8},
		{name: "log huge", ax: Axis{Log: true}, lo: 1e-300, hi: 1e300, target: 6, wantLo: 1e-300, wantHi: 1e300,
			// 600 decades: a label every 100 decades, the first step of 1, 2, 5, 10, … times 8 to reach 600
			wantTicks:  []float64{1e-300, 1e-200, 1e-100, 1, 1e100, 1e200, 1e300},
			wantLabels: []string{"10⁻³⁰⁰", "10⁻²⁰⁰", "10⁻¹⁰⁰", "10⁰", "10¹⁰⁰", "10²⁰⁰", "10³⁰⁰"}},
		{name: "log 20 decades", ax: Axis{Log: true}, lo: 3e-10, hi: 2e9, target: 6, wantLo: 1e-10, wantHi: 1e10,
			// 20 decades: every 5 (2 × 8 < 20 ≤ 5 × 8)
			wantTicks:  []float64{1e-10, 1e-5, 1, 1e5, 1e10},
			wantLabels: []string{"10⁻¹⁰", "10⁻⁵", "10⁰", "10⁵", "10¹⁰"}},
		{name: "all equal", lo: 5, hi: 5, target: 6, wantLo: 4.4, wantHi: 5.6,
			// window ±10 %: 4.5-5.5, step 1/5 → 0.2
			wantTicks: []float64{4.4, 4.6, 4.8, 5, 5.2, 5.4, 5.6}, wantLabels: []string{"4.4", "4.6", "4.8", "5.0", "5.2", "5.4", "5.6"}},
		{name: "all zero", lo: 0, hi: 0, target: 6, wantLo: -1, wantHi: 1,
			wantTicks: []float64{-1, -0.5, 0, 0.5, 1}, wantLabels: []string{"−1.0", "−0.5", "0", "0.5", "1.0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var notes []string
			s := newScale(tc.ax, "y", extent{tc.lo, tc.hi, 2}, tc.target, &notes)
			if len(notes) > 0 {
				t.Errorf("got notes %q, want none", notes)
			}
			if !sameFloats([]float64{s.lo, s.hi}, []float64{tc.wantLo, tc.wantHi}) {
				t.Errorf("bounds: got [%g, %g], want [%g, %g]", s.lo, s.hi, tc.wantLo, tc.wantHi)
			}
			vals, labels := ticksOf(s)
			if !sameFloats(vals, tc.wantTicks) {
				t.Errorf("ticks: got %g, want %g", vals, tc.wantTicks)
			}
			if !slices.Equal(labels, tc.wantLabels) {
				t.Errorf("labels: got %q, want %q", labels, tc.wantLabels)
			}
			if len(s.minor) != tc.wantMinor {
				t.Errorf("minor ticks: got %d (%g), want %d", len(s.minor), s.minor, tc.wantMinor)
			}
		})
	}
}

// TestScaleExtremes checks that ranges at the ends of float64 give finite bounds, ticks and
// pixels.
func TestScaleExtremes(t *testing.T) {
	tests := []struct {
		name   string
		ax     Axis
		lo, hi float64
	}{
		{"±MaxFloat64", Axis{}, -math.MaxFloat64, math.MaxFloat64},
		{"MaxFloat64 alone", Axis{}, math.MaxFloat64, math.MaxFloat64},
		{"-MaxFloat64 alone", Axis{}, -math.MaxFloat64, -math.MaxFloat64},
		{"subnormal", Axis{}, 5e-324, 1e-323},
		{"subnormal equal", Axis{}, 5e-324, 5e-324},
		{"log subnormal to max", Axis{Log: true}, 5e-324, math.MaxFloat64},
		{"log max alone", Axis{Log: true}, math.MaxFloat64, math.MaxFloat64},
		{"log subnormal alone", Axis{Log: true}, 5e-324, 5e-324},
		{"huge offset tiny span", Axis{}, 1e15, 1e15 + 0.5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var notes []string
			s := newScale(tc.ax, "x", extent{tc.lo, tc.hi, 2}, 6, &notes)
			s.setPixels(50, 650)
			if !finite(s.lo) || !finite(s.hi) || !(s.thi > s.tlo) {
				t.Fatalf("bounds [%g, %g], transformed [%g, %g]", s.lo, s.hi, s.tlo, s.thi)
			}
			if len(s.ticks) < 2 {
				t.Errorf("got %d ticks, want at least 2", len(s.ticks))
			}
			for _, v := range []float64{tc.lo, tc.hi, s.lo, s.hi} {
				p := s.pix(v)
				if !finite(p) || p < 49.99 || p > 650.01 {
					t.Errorf("pix(%g) = %g, want within [50, 650]", v, p)
				}
			}
			for _, tk := range s.ticks {
				if p := s.pix(tk.v); !finite(p) || strings.ContainsAny(tk.label, "NI") {
					t.Errorf("tick %g %q at %g", tk.v, tk.label, p)
				}
			}
		})
	}
}

// TestScaleBadBounds checks that unusable fixed bounds are ignored with a note.
func TestScaleBadBounds(t *testing.T) {
	tests := []struct {
		name string
		ax   Axis
		note string
	}{
		{"NaN Min", Axis{Min: f64(math.NaN())}, "Min NaN ignored"},
		{"Inf Max", Axis{Max: f64(math.Inf(1))}, "Max ∞ ignored"},
		{"Min above Max", Axis{Min: f64(5), Max: f64(1)}, "Min 5 not below Max 1"},
		{"zero Min on log", Axis{Log: true, Min: f64(0)}, "Min 0 ignored (not above 0 on a log axis)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var notes []string
			lo, hi := 1.0, 8.0
			s := newScale(tc.ax, "y", extent{lo, hi, 2}, 6, &notes)
			if len(notes) != 1 || !strings.Contains(notes[0], tc.note) {
				t.Errorf("got notes %q, want one containing %q", notes, tc.note)
			}
			if !(s.lo <= lo && s.hi >= hi) {
				t.Errorf("bounds [%g, %g] do not cover the data [%g, %g]", s.lo, s.hi, lo, hi)
			}
		})
	}
}

func TestFmtNum(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{
		{0, "0"},
		{7, "7"},
		{1500, "1500"},
		{12345, "12345"},
		{92.25, "92.25"},
		{0.025153, "0.02515"},
		{-3.5, "−3.5"},
		{31622776, "3.162×10⁷"},
		{1e6, "10⁶"},
		{-2e-5, "−2×10⁻⁵"},
		{1e5, "10⁵"},
		{99999.5, "100000"}, // four significant digits round up to 10⁵, written out below 10⁵
		{9.99996e7, "10⁸"},  // rounding carries into the next power
		{math.MaxFloat64, "1.798×10³⁰⁸"},
		{5e-324, "4.941×10⁻³²⁴"},
		{math.NaN(), "NaN"},
		{math.Inf(-1), "−∞"},
	}
	for _, tc := range tests {
		if got := fmtNum(tc.v); got != tc.want {
			t.Errorf("fmtNum(%g): got %q, want %q", tc.v, got, tc.want)
		}
	}
}

func TestNiceStep(t *testing.T) {
	tests := []struct{ x, want float64 }{
		{1.88, 2}, {3.5, 5}, {0.0875, 0.1}, {7.75e7, 1e8}, {1.2, 1}, {2.9, 2}, {6.9, 5}, {7, 10},
		{0, 0}, {-1, 0}, {math.NaN(), 0}, {math.Inf(1), 0},
	}
	for _, tc := range tests {
		if got := niceStep(tc.x); math.Abs(got-tc.want) > 1e-12*tc.want {
			t.Errorf("niceStep(%g): got %g, want %g", tc.x, got, tc.want)
		}
	}
}
