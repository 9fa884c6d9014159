package kinetics

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"testing"
)

// countsFrom decodes fuzz bytes into counts: per count a day byte, then three float64s for
// viable cells, NK fraction and kept fraction, so that any bit pattern (NaN, ±Inf,
// subnormals, negatives) reaches Compute. At most 64 counts.
func countsFrom(b []byte) []Count {
	var cs []Count
	for len(b) >= 25 && len(cs) < 64 {
		f := func(i int) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(b[1+8*i:])) }
		cs = append(cs, Count{Day: int(int8(b[0])), ViableCells: f(0), NKFraction: f(1), KeptFraction: f(2)})
		b = b[25:]
	}
	return cs
}

func encodeCounts(cs []Count) []byte {
	var b []byte
	for _, c := range cs {
		b = append(b, byte(int8(c.Day)))
		for _, v := range []float64{c.ViableCells, c.NKFraction, c.KeptFraction} {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
	}
	return b
}

// FuzzCompute proves that no input panics Compute, with its growth-curve fits and with or
// without a given window (from > to means none), and that every Metrics marshals to JSON
// (encoding/json refuses NaN and ±Inf), and checks invariants any answer must keep.
func FuzzCompute(f *testing.F) {
	f.Add(1e6, 0.5, int8(1), int8(0), encodeCounts([]Count{{7, 2e7, 1, 0.25}, {14, 6e7, 1, 1.0 / 6}, {21, 5e7, 1, 1}}))
	f.Add(1e6, math.NaN(), int8(0), int8(3), encodeCounts([]Count{{0, 1e6, 0.2, 1}, {3, math.Inf(1), math.NaN(), 0.5}, {3, 0, 0, 0}}))
	f.Add(1e-300, 1.0, int8(1), int8(3), encodeCounts([]Count{{1, 1e300, 1, 1}, {2, 1e308, 1, 1e-300}, {3, 1e308, 1, 1}}))
	f.Add(0.0, 0.0, int8(-5), int8(2), encodeCounts([]Count{{-5, -1, -1, -1}, {2, 5, 2, 2}}))
	f.Add(1e6, 0.2, int8(2), int8(1), encodeCounts([]Count{{2, 0.9e6, 0.22, 1}, {4, 1.6e6, 0.35, 1}, {6, 4.4e6, 0.55, 1},
		{8, 1.3e7, 0.7, 1}, {10, 3.5e7, 0.82, 1}, {12, 5.2e7, 0.86, 1}, {14, 5.6e7, 0.88, 1}}))
	f.Add(1e6, 1.0, int8(2), int8(1), encodeCounts([]Count{{3, 0.93e6, 1, 1}, {7, 1.05e6, 1, 1}, {10, 0.97e6, 1, 1},
		{14, 1.02e6, 1, 1}, {17, 0.95e6, 1, 1}}))
	f.Fuzz(func(t *testing.T, start, f0 float64, from, to int8, raw []byte) {
		counts := countsFrom(raw)
		opt := Options{}
		if from <= to {
			opt.Window = &[2]int{int(from), int(to)}
		}
		m := Compute(start, f0, counts, opt)
		if _, err := json.Marshal(m); err != nil {
			t.Fatalf("json.Marshal: %v", err)
		}
		if (m.PeakNKDay == nil) != (m.PeakNKYield == nil) {
			t.Fatalf("peak day %v without yield %v", m.PeakNKDay, m.PeakNKYield)
		}
		if m.PeakNKYield != nil {
			for _, p := range m.Points {
				if p.NKYield != nil && *p.NKYield > *m.PeakNKYield {
					t.Fatalf("day %d yield %g above the peak %g", p.Day, *p.NKYield, *m.PeakNKYield)
				}
			}
		}
		if b := m.Fits.Basis; b != BasisNK && b != BasisTotal {
			t.Fatalf("fits basis %q", b)
		}
		for _, fit := range []*GrowthFit{m.Fits.Logistic, m.Fits.Gompertz} {
			if fit == nil {
				continue
			}
			if !fit.Converged || fit.N < len(fit.Params)+2 || !(fit.ResidualSD >= 0) {
				t.Fatalf("implausible fit %+v", *fit)
			}
			for _, p := range fit.Params {
				if p.StdError != nil && !(*p.StdError >= 0) {
					t.Fatalf("%s fit: %s has standard error %g", fit.Model, p.Name, *p.StdError)
				}
			}
		}
		if len(m.Points) > len(counts) {
			t.Fatalf("got %d points from %d counts", len(m.Points), len(counts))
		}
		for i, p := range m.Points {
			if i > 0 && p.Day < m.Points[i-1].Day {
				t.Fatalf("points out of day order: day %d after day %d", p.Day, m.Points[i-1].Day)
			}
			if p.FoldNK != nil && *p.FoldNK < 0 || p.FoldTotal != nil && *p.FoldTotal < 0 {
				t.Fatalf("negative fold at day %d", p.Day)
			}
			if p.PDNK != nil && (p.FoldNK == nil || !(*p.FoldNK > 0)) {
				t.Fatalf("PD without a positive fold at day %d", p.Day)
			}
		}
		if dt := m.DoublingTime; dt != nil && !(dt.Mu > 0 && dt.Days > 0 && dt.Points >= 3 && dt.FromDay <= dt.ToDay) {
			t.Fatalf("implausible doubling time %+v", *dt)
		}
	})
}

// FuzzDoublingTimeOver proves that no window panics DoublingTimeOver or yields a value that
// does not marshal.
func FuzzDoublingTimeOver(f *testing.F) {
	f.Add(encodeCounts([]Count{{2, 1.5e6, 0, 0}, {4, 4.1e6, 0, 0}, {6, 1.2e7, 0, 0}, {8, 3.3e7, 0, 0}}))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var days, cells []float64
		for _, c := range countsFrom(raw) {
			days = append(days, c.NKFraction)
			cells = append(cells, c.ViableCells)
		}
		dt, _ := DoublingTimeOver(days, cells)
		if _, err := json.Marshal(dt); err != nil {
			t.Fatalf("json.Marshal: %v", err)
		}
	})
}

// FuzzFit proves that no series panics FitLogistic or FitGompertz and that every fit they
// return is finite: days and cells come from the same bit patterns as FuzzDoublingTimeOver.
func FuzzFit(f *testing.F) {
	f.Add(encodeCounts([]Count{{0, 1e6, 0, 0}, {2, 1.15e6, 2, 0}, {4, 2.4e6, 4, 0}, {6, 7.9e6, 6, 0},
		{8, 2.45e7, 8, 0}, {11, 8.8e7, 11, 0}, {14, 1.72e8, 14, 0}, {17, 2.31e8, 17, 0}}))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var days, cells []float64
		for _, c := range countsFrom(raw) {
			days = append(days, c.NKFraction)
			cells = append(cells, c.ViableCells)
		}
		for _, fit := range []func([]float64, []float64) (*GrowthFit, error){FitLogistic, FitGompertz} {
			g, err := fit(days, cells)
			if g == nil {
				continue
			}
			if _, jerr := json.Marshal(g); jerr != nil {
				t.Fatalf("json.Marshal: %v", jerr)
			}
			if err == nil && !g.Converged {
				t.Fatalf("a fit without error that did not converge: %+v", *g)
			}
		}
	})
}

// BenchmarkComputeWithFits measures the metrics of one culture counted 8 times over 21 days
// (lag, exponential phase, plateau), with both growth curves fitted as Compute always does.
func BenchmarkComputeWithFits(b *testing.B) {
	days := []int{2, 4, 6, 8, 11, 14, 17, 21}
	viable := []float64{1.15e6, 2.4e6, 7.9e6, 2.45e7, 8.8e7, 1.72e8, 2.31e8, 2.52e8}
	cs := make([]Count, len(days))
	for i, d := range days {
		cs[i] = Count{Day: d, ViableCells: viable[i], NKFraction: 0.5, KeptFraction: 1}
	}
	m := Compute(1e6, 0.5, cs, Options{})
	if m.Fits.Logistic == nil || m.Fits.Gompertz == nil {
		b.Fatalf("got fits %+v (notes %q), want both", m.Fits, m.Notes)
	}
	b.ReportAllocs()
	for b.Loop() {
		Compute(1e6, 0.5, cs, Options{})
	}
}

// sawtooth is a 28-day culture counted daily with weekly splits, growing exponentially.
func sawtooth() []Count {
	var cs []Count
	for d := 1; d <= 28; d++ {
		k := 1.0
		if d%7 == 0 {
			k = 0.3
		}
		cs = append(cs, Count{Day: d, ViableCells: 1e6 * math.Exp(0.4*float64(d%7+1)), NKFraction: 0.5 + 0.015*float64(d), KeptFraction: k})
	}
	return cs
}

// BenchmarkCompute measures the metrics of sawtooth: its Gompertz fit runs into the walls.
func BenchmarkCompute(b *testing.B) {
	cs := sawtooth()
	b.ReportAllocs()
	for b.Loop() {
		Compute(1e6, 0.3, cs, Options{})
	}
}
