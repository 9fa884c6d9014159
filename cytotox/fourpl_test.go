package cytotox

import (
	"math"
	"testing"
)

// TestFitFourPLR checks the 4PL fit of the sigmoid dataset against R's nls (port, c and h
// above 0), written to testdata/fourpl_expected.csv by testdata/fits.R, to 1e-4 relative.
func TestFitFourPLR(t *testing.T) {
	const tol = 1e-4
	for _, want := range readTable(t, "fourpl_expected.csv") {
		t.Run(want["dataset"], func(t *testing.T) {
			et, y := readSeries(t, want["dataset"]+".csv")
			fit, err := FitFourPL(et, y)
			if err != nil {
				t.Fatal(err)
			}
			mustMarshal(t, fit)
			for _, c := range []struct {
				name string
				got  *float64
			}{
				{"b", &fit.B}, {"t", &fit.T}, {"c", &fit.C}, {"h", &fit.H},
				{"b_se", fit.BSE}, {"t_se", fit.TSE}, {"c_se", fit.CSE}, {"h_se", fit.HSE},
				{"residual_sd", &fit.ResidualSD},
				{"lu20", LyticUnits4PL(*fit, 20, 5000)}, {"lu30", LyticUnits4PL(*fit, 30, 5000)},
			} {
				checkRel(t, c.name, c.got, num(t, want[c.name]), tol)
			}
			if n := int(num(t, want["n"])); fit.N != n {
				t.Errorf("n: got %d, want %d", fit.N, n)
			}
		})
	}
}

// TestFitFourPLExact recovers noise-free curves.
func TestFitFourPLExact(t *testing.T) {
	et := []float64{0.3125, 0.625, 1.25, 2.5, 5, 10, 20, 40}
	tests := []struct{ b, t, c, h float64 }{
		{0.04, 0.82, 4, 1.6},
		{0, 1, 1, 1},
		{0.1, 0.6, 10, 3},
		{-0.05, 0.9, 2.5, 0.8},
	}
	for _, tc := range tests {
		y := make([]float64, len(et))
		for i, x := range et {
			y[i] = tc.b + (tc.t-tc.b)/(1+math.Pow(tc.c/x, tc.h))
		}
		fit, err := FitFourPL(et, y)
		if err != nil {
			t.Fatalf("%+v: %v", tc, err)
		}
		for _, c := range []struct {
			name      string
			got, want float64
		}{{"b", fit.B, tc.b}, {"t", fit.T, tc.t}, {"c", fit.C, tc.c}, {"h", fit.H, tc.h}} {
			if math.Abs(c.got-c.want) > 1e-7 {
				t.Errorf("%+v: %s: got %.10g, want %g", tc, c.name, c.got, c.want)
			}
		}
	}
}

// TestLyticUnits4PL checks x_X = c((X − b)/(t − X))^(1/h) on hand-worked values and the
// range b < X < t. With b = 0, t = 1, h = 1: x20 = c × 0.2/0.8 = c/4, so for c = 4 and 5,000
// targets LU20 = 1e7/(5000 × 1) = 2000; x30 = 4 × 3/7, LU30 = 1e7 × 7/(5000 × 12) = 1166.67.
// With h = 2: x20 = 4 × sqrt(0.25) = 2, LU20 = 1000.
func TestLyticUnits4PL(t *testing.T) {
	tests := []struct {
		name  string
		fit   FourPLFit
		level float64
		want  float64 // NaN wants nil
	}{
		{"LU20 h 1", FourPLFit{B: 0, T: 1, C: 4, H: 1}, 20, 2000},
		{"LU30 h 1", FourPLFit{B: 0, T: 1, C: 4, H: 1}, 30, 1e7 * 7 / (5000 * 12)},
		{"LU20 h 2", FourPLFit{B: 0, T: 1, C: 4, H: 2}, 20, 1000},
		{"X at top", FourPLFit{B: 0, T: 0.3, C: 4, H: 1}, 30, math.NaN()},
		{"X above top", FourPLFit{B: 0, T: 0.25, C: 4, H: 1}, 30, math.NaN()},
		{"X at bottom", FourPLFit{B: 0.2, T: 0.9, C: 4, H: 1}, 20, math.NaN()},
		{"X below bottom", FourPLFit{B: 0.25, T: 0.9, C: 4, H: 1}, 20, math.NaN()},
		{"zero fit", FourPLFit{}, 20, math.NaN()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkRel(t, "LU", LyticUnits4PL(tc.fit, tc.level, 5000), tc.want, 1e-12)
		})
	}
}

func TestFitFourPLErrors(t *testing.T) {
	five := []float64{1, 2, 4, 8, 16}
	tests := []struct {
		name      string
		et, lysis []float64
		field     string
	}{
		{"four points", []float64{1, 2, 4, 8}, []float64{0.1, 0.2, 0.4, 0.6}, "et"},
		{"three distinct ratios", []float64{1, 1, 2, 2, 4}, []float64{0.1, 0.1, 0.2, 0.2, 0.4}, "et"},
		{"lengths differ", five, []float64{0.1, 0.2}, "lysis"},
		{"NaN lysis", five, []float64{0.1, 0.2, math.NaN(), 0.6, 0.7}, "lysis[2]"},
		{"zero ratio", []float64{0, 2, 4, 8, 16}, []float64{0.1, 0.2, 0.4, 0.6, 0.7}, "et[0]"},
		{"flat", five, []float64{0.3, 0.3, 0.3, 0.3, 0.3}, "lysis"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fit, err := FitFourPL(tc.et, tc.lysis)
			if err == nil {
				t.Fatalf("got %+v, want an error", fit)
			}
			checkInvalid(t, err, tc.field)
		})
	}
}
