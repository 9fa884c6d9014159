package fcs

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// flowDir returns the shared flow-cytometry data folder (../shared/data/flow from the repo
// root). When it is missing the test is skipped, or fails under CI=true.
func flowDir(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join("..", "..", "shared", "data", "flow")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("shared flow data missing (%v); CI requires it", err)
		}
		tb.Skipf("shared flow data missing: %v", err)
	}
	return dir
}

// flowFile returns the path of a file in the shared flow data folder.
func flowFile(tb testing.TB, rel string) string {
	tb.Helper()
	return filepath.Join(flowDir(tb), filepath.FromSlash(rel))
}

// mustRead reads a data set or fails the test.
func mustRead(tb testing.TB, path string, opt Options) *DataSet {
	tb.Helper()
	d, err := ReadFile(path, opt)
	if err != nil {
		tb.Fatalf("ReadFile(%s): %v", path, err)
	}
	return d
}

// readTruthCSV reads a truth CSV (a header row of $PnN names, then one row per event) into
// columns.
func readTruthCSV(tb testing.TB, path string) (names []string, cols [][]float64) {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	names = recs[0]
	cols = make([][]float64, len(names))
	for r, rec := range recs[1:] {
		for j, s := range rec {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				tb.Fatalf("%s row %d column %d: %v", path, r+2, j+1, err)
			}
			cols[j] = append(cols[j], v)
		}
	}
	return names, cols
}

// hasWarning reports whether d has a warning about keyword.
func hasWarning(d *DataSet, keyword string) bool {
	for _, w := range d.Warnings {
		if w.Keyword == keyword {
			return true
		}
	}
	return false
}

func pow10(x float64) float64 { return math.Pow(10, x) }

// near reports whether got is within rel of want, relatively.
func near(got, want, rel float64) bool { return math.Abs(got-want) <= rel*math.Abs(want) }
