package cytotox

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
		res, err := SpecificLysis(Kind(kind%4), floatsFrom(sRaw), floatsFrom(mRaw), wells, QC{})
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

// scaled decodes fuzz bytes two at a time into plausible values lo + v×step, so that the
// fuzzer explores real curves and not only NaN bit patterns.
func scaled(b []byte, lo, step float64) []float64 {
	var out []float64
	for len(b) >= 2 && len(out) < 40 {
		out = append(out, lo+float64(binary.LittleEndian.Uint16(b))*step)
		b = b[2:]
	}
	return out
}

// checkFit fails unless a successful fit is finite, inside its bounds and marshals to JSON.
func checkFit(t *testing.T, fit *ExpFit) {
	t.Helper()
	if _, err := json.Marshal(fit); err != nil {
		t.Fatalf("json.Marshal(%+v): %v", fit, err)
	}
	if !(fit.A > 0 && fit.A <= 1) || !(fit.K > 0) || math.IsInf(fit.K, 0) || math.IsNaN(fit.ResidualSD) || math.IsInf(fit.ResidualSD, 0) {
		t.Fatalf("fit out of bounds: %+v", fit)
	}
	for _, lv := range []float64{20, 30} {
		if lu := LyticUnits(*fit, lv, 5000); lu != nil && (math.IsNaN(*lu) || math.IsInf(*lu, 0) || *lu <= 0) {
			t.Fatalf("LU%g = %g", lv, *lu)
		}
	}
}

// FuzzFitExponential proves that no input panics FitExponential or FitFourPL and that every
// fit they return is finite, within its bounds and marshals to JSON. With raw false the
// bytes are scaled into E:T 0.01–655 and lysis −0.2–1.1; with raw true they are float64
// bit patterns.
func FuzzFitExponential(f *testing.F) {
	f.Add(true, encodeFloats(1.25, 2.5, 5, 10, 20), encodeFloats(0.125, 0.233, 0.406, 0.629, 0.818))
	f.Add(true, encodeFloats(1, 1, 1), encodeFloats(0.1, 0.2, 0.3))
	f.Add(true, encodeFloats(1, 2, 4, 8, 16, 32), encodeFloats(0.5, 0.5, 0.5, 0.5, 0.5, 0.5))
	f.Add(true, encodeFloats(1e-300, 1e6), encodeFloats(10, -10))
	f.Add(false, []byte{1, 0, 2, 0, 4, 0, 8, 0, 16, 0}, []byte{0, 40, 0, 80, 0, 120, 0, 160, 0, 200})
	f.Fuzz(func(t *testing.T, raw bool, etB, yB []byte) {
		var et, y []float64
		if raw {
			et, y = floatsFrom(etB), floatsFrom(yB)
		} else {
			et, y = scaled(etB, 0.01, 0.01), scaled(yB, -0.2, 1.3/65535)
		}
		if fit, err := FitExponential(et, y); err == nil {
			checkFit(t, fit)
		}
		if fit, err := FitFourPL(et, y); err == nil {
			if _, jerr := json.Marshal(fit); jerr != nil {
				t.Fatalf("json.Marshal(%+v): %v", fit, jerr)
			}
			for _, lv := range []float64{20, 30} {
				if lu := LyticUnits4PL(*fit, lv, 5000); lu != nil && (math.IsNaN(*lu) || math.IsInf(*lu, 0)) {
					t.Fatalf("4PL LU%g = %g", lv, *lu)
				}
			}
		}
	})
}

// FuzzAnalyzePlate proves that no plate panics AnalyzePlate and that every analysis marshals
// to JSON with qc and points never null, points in increasing E:T and fits within bounds.
// The input is CSV-like text: sample,well_type,et_ratio,value per line, numbers as Go parses
// them (so NaN and Inf reach AnalyzePlate), an empty et_ratio being 0.
func FuzzAnalyzePlate(f *testing.F) {
	for _, name := range []string{"plate_contract.csv", "plate_spont35.csv", "plate_s_above_m.csv"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b), 0.0)
	}
	f.Add("*,spontaneous,,0\n*,maximum,,5e-324\nA,test,5,1\nA,test,10,0\n", 5000.0)
	f.Add("A,spontaneous,,100\nA,maximum,,100\nA,test,1,NaN\n", -1.0)
	f.Fuzz(func(t *testing.T, text string, targets float64) {
		var rows []PlateRow
		for i, line := range strings.Split(text, "\n") {
			c := strings.Split(line, ",")
			if len(c) != 4 {
				continue
			}
			et, _ := strconv.ParseFloat(c[2], 64)
			v, err := strconv.ParseFloat(c[3], 64)
			if err != nil {
				continue
			}
			rows = append(rows, PlateRow{Sample: c[0], WellType: c[1], ETRatio: et, Value: v, Line: i + 1})
		}
		res, err := AnalyzePlate(rows, PlateOptions{Targets: targets})
		if err != nil {
			if res != nil {
				t.Fatalf("got an analysis and the error %v", err)
			}
			return
		}
		b, err := json.Marshal(res)
		if err != nil {
			t.Fatalf("json.Marshal: %v", err)
		}
		if strings.Contains(string(b), `"qc":null`) || strings.Contains(string(b), `"points":null`) || res.Samples == nil {
			t.Fatalf("null list in %s", b)
		}
		for _, s := range res.Samples {
			for i := 1; i < len(s.Points); i++ {
				if !(s.Points[i-1].ETRatio < s.Points[i].ETRatio) {
					t.Fatalf("points out of order: %+v", s.Points)
				}
			}
			if s.Fit != nil {
				checkFit(t, s.Fit)
			}
		}
	})
}
