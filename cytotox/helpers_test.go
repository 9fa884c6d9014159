package cytotox

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// readTable reads testdata/name as CSV and returns its rows as maps from the header's column
// names to the cells.
func readTable(tb testing.TB, name string) []map[string]string {
	tb.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	var out []map[string]string
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = rec[i]
		}
		out = append(out, m)
	}
	return out
}

// num parses a cell written by R; "NA" is NaN.
func num(tb testing.TB, s string) float64 {
	tb.Helper()
	if s == "NA" {
		return math.NaN()
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		tb.Fatalf("cell %q: %v", s, err)
	}
	return v
}

// readSeries reads an et,lysis_pct dataset and returns the ratios and lysis FRACTIONS.
func readSeries(tb testing.TB, name string) (et, lysis []float64) {
	tb.Helper()
	for _, r := range readTable(tb, name) {
		et = append(et, num(tb, r["et"]))
		lysis = append(lysis, num(tb, r["lysis_pct"])/100)
	}
	return et, lysis
}

// readPlate reads a plate file (sample,well_type,et_ratio,value) as the exchange package
// does: an empty et_ratio is 0, and Line counts the header as line 1.
func readPlate(tb testing.TB, name string) []PlateRow {
	tb.Helper()
	var rows []PlateRow
	for i, r := range readTable(tb, name) {
		et := 0.0
		if r["et_ratio"] != "" {
			et = num(tb, r["et_ratio"])
		}
		rows = append(rows, PlateRow{Sample: r["sample"], WellType: r["well_type"], ETRatio: et, Value: num(tb, r["value"]), Line: i + 2})
	}
	return rows
}

// checkRel compares an optional value with R's, where NaN (R's NA) wants nil.
func checkRel(tb testing.TB, what string, got *float64, want, rel float64) {
	tb.Helper()
	switch {
	case math.IsNaN(want) && got != nil:
		tb.Errorf("%s: got %g, want nil", what, *got)
	case math.IsNaN(want):
	case got == nil:
		tb.Errorf("%s: got nil, want %.10g", what, want)
	case math.Abs(*got-want) > rel*math.Abs(want):
		tb.Errorf("%s: got %.10g, want %.10g (relative tolerance %g)", what, *got, want, rel)
	}
}
