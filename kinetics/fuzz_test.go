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

// FuzzCompute proves that no input panics Compute and that every Metrics marshals to JSON
// (encoding/json refuses NaN and ±Inf), and checks invariants any answer must keep.
func FuzzCompute(f *testing.F) {
	f.Add(1e6, 0.5, encodeCounts([]Count{{7, 2e7, 1, 0.25}, {14, 6e7, 1, 1.0 / 6}, {21, 5e7, 1, 1}}))
	f.Add(1e6, math.NaN(), encodeCounts([]Count{{0, 1e6, 0.2, 1}, {3, math.Inf(1), math.NaN(), 0.5}, {3, 0, 0, 0}}))
	f.Add(1e-300, 1.0, encodeCounts([]Count{{1, 1e300, 1, 1}, {2, 1e308, 1, 1e-300}, {3, 1e308, 1, 1}}))
	f.Add(0.0, 0.0, encodeCounts([]Count{{-5, -1, -1, -1}, {2, 5, 2, 2}}))
	f.Fuzz(func(t *testing.T, start, f0 float64, raw []byte) {
		counts := countsFrom(raw)
		m := Compute(start, f0, counts, Options{})
		if _, err := json.Marshal(m); err != nil {
			t.Fatalf("json.Marshal: %v", err)
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

// BenchmarkCompute measures a 28-day culture counted daily with weekly splits.
func BenchmarkCompute(b *testing.B) {
	var cs []Count
	for d := 1; d <= 28; d++ {
		k := 1.0
		if d%7 == 0 {
			k = 0.3
		}
		cs = append(cs, Count{Day: d, ViableCells: 1e6 * math.Exp(0.4*float64(d%7+1)), NKFraction: 0.5 + 0.015*float64(d), KeptFraction: k})
	}
	b.ReportAllocs()
	for b.Loop() {
		Compute(1e6, 0.3, cs, Options{})
	}
}
