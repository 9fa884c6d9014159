package gating

import (
	"os"
	"path/filepath"
	"testing"
)

// flowData returns the shared flow-cytometry test data folder (shared/data/flow, beside the
// repository). When it is absent the test is skipped, except under CI=true, where that fails.
func flowData(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join("..", "..", "shared", "data", "flow")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("shared flow data: %v", err)
		}
		tb.Skipf("shared flow data not available: %v", err)
	}
	return dir
}

// memSample is a Sample held in memory, one column per parameter.
type memSample struct {
	names     []string
	cols      [][]float64
	detectors []string
	spill     [][]float64
}

func (s *memSample) Names() []string { return s.names }

func (s *memSample) Len() int {
	if len(s.cols) == 0 {
		return 0
	}
	return len(s.cols[0])
}

func (s *memSample) Scale(ch int, dst []float64) []float64 {
	if cap(dst) < s.Len() {
		dst = make([]float64, s.Len())
	}
	dst = dst[:s.Len()]
	copy(dst, s.cols[ch])
	return dst
}

func (s *memSample) SpilloverMatrix() ([]string, [][]float64, bool) {
	return s.detectors, s.spill, s.spill != nil
}

// events builds a memSample from rows of values, one row per event.
func events(names []string, rows ...[]float64) *memSample {
	s := &memSample{names: names, cols: make([][]float64, len(names))}
	for _, r := range rows {
		for j := range names {
			s.cols[j] = append(s.cols[j], r[j])
		}
	}
	return s
}

func ptr(v float64) *float64 { return &v }

// gmlFiles returns the Gating-ML files of the shared data that tests parse: the five ISAC
// compliance files and the two other 2.0 documents.
func gmlFiles(tb testing.TB) []string {
	tb.Helper()
	dir := flowData(tb)
	var files []string
	for i := 1; i <= 5; i++ {
		files = append(files, filepath.Join(dir, "gatingml2", "Gating-MLFiles", "gates"+string(rune('0'+i))+".xml"))
	}
	return append(files,
		filepath.Join(dir, "fcs", "flowkit", "8_color_data_set", "8_color_ICS.xml"),
		filepath.Join(dir, "fcs", "gatingmldata_examples", "GatingML2.0_Export_166889.xml"))
}
