package cytotox

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"testing"
)

// floatsFrom decodes fuzz bytes into float64s so that any bit pattern reaches SpecificLysis.
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

// FuzzSpecificLysis proves that no input panics SpecificLysis, that every Result marshals to
// JSON (encoding/json refuses NaN and ±Inf), and that an invalid plate publishes no lysis.
// The wells bytes are split into ratios of up to 4 readings: an E:T ratio, then readings.
func FuzzSpecificLysis(f *testing.F) {
	f.Add(uint8(0), encodeFloats(350), encodeFloats(2500), encodeFloats(10, 1400, 1400, 20, 2000, 1800, 2100))
	f.Add(uint8(1), encodeFloats(8), []byte{}, encodeFloats(50, 52, 52, 25, 40))
	f.Add(uint8(0), encodeFloats(0), encodeFloats(5e-324), encodeFloats(1, 1e15, -1e15))
	f.Add(uint8(0), encodeFloats(1e15, -1e15), encodeFloats(1e15), encodeFloats(1, math.NaN()))
	f.Fuzz(func(t *testing.T, kind uint8, sRaw, mRaw, wRaw []byte) {
		var wells []Wells
		ws := floatsFrom(wRaw)
		for len(ws) > 0 {
			n := min(len(ws), 5)
			wells = append(wells, Wells{ETRatio: ws[0], Readings: ws[1:n]})
			ws = ws[n:]
		}
		res, err := SpecificLysis(Kind(kind%3), floatsFrom(sRaw), floatsFrom(mRaw), wells, QC{})
		if _, jerr := json.Marshal(res); jerr != nil {
			t.Fatalf("json.Marshal: %v", jerr)
		}
		if err != nil {
			return
		}
		if len(res.Points) != len(wells) {
			t.Fatalf("got %d points for %d ratios", len(res.Points), len(wells))
		}
		for _, p := range res.Points {
			if !res.Valid && (p.SpecificLysisPct != nil || len(p.ReplicateLysisPct) > 0) {
				t.Fatalf("invalid plate published lysis at E:T %g", p.ETRatio)
			}
		}
	})
}

// BenchmarkSpecificLysis measures a triplicate release plate at six E:T ratios.
func BenchmarkSpecificLysis(b *testing.B) {
	wells := make([]Wells, 6)
	for i := range wells {
		e := float64(int(1) << i)
		wells[i] = Wells{ETRatio: e, Readings: []float64{300 + 60*e, 310 + 61*e, 295 + 59*e}}
	}
	s, m := []float64{300, 310, 290}, []float64{2500, 2550, 2450}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := SpecificLysis(Release, s, m, wells, QC{}); err != nil {
			b.Fatal(err)
		}
	}
}
