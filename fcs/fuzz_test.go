package fcs

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
)

// FuzzRead proves that no input panics Read, that failures are *Error values, that a data set
// that reads is consistent (one column of Events values per parameter), and that Read
// allocates no more than a small multiple of the input size (plus its fixed 1 MB chunk buffer):
// a file cannot make it allocate for the events it merely declares. Seeds: the corpus files
// under 200 KB and the synthetic data sets of rules_test.go.
func FuzzRead(f *testing.F) {
	dir := filepath.Join("..", "..", "shared", "data", "flow")
	for _, sub := range []string{"fcs", "gatingml2/FCSFiles"} {
		filepath.Walk(filepath.Join(dir, sub), func(p string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() || info.Size() > 200<<10 {
				return nil
			}
			b, err := os.ReadFile(p)
			if err == nil && len(b) > 3 && string(b[:3]) == "FCS" {
				f.Add(b)
			}
			return nil
		})
	}
	f.Add(oneEvent("A", 1, 0))
	l := int64(len(oneEvent("A", 0, 0)))
	f.Add(slices.Concat(oneEvent("A", 1, l), oneEvent("B", 2, -l)))
	f.Add(fileSpec{kw: kws(kv("$BYTEORD", "4,3,2,1", "$DATATYPE", "I", "$MODE", "L", "$PAR", "2", "$TOT", "2"),
		kv("$P1N", "A", "$P1B", "24", "$P1R", "1000", "$P1E", "4,0", "$P2N", "B", "$P2B", "64", "$P2R", "0", "$P2G", "2"),
		kv("$SPILLOVER", "2,A,B,1,0.1,0.2,1")), data: make([]byte, 22), stext: kv("$TIMESTEP", "0.1")}.bytes())
	f.Add(fileSpec{version: "FCS3.0", kw: kws(kv("$DATATYPE", "A", "$MODE", "L", "$PAR", "2", "$TOT", "3"),
		kv("$P1N", "X", "$P1B", "*", "$P1R", "1024", "$P2N", "Y", "$P2B", "*", "$P2R", "1024")), data: []byte("1 2 3 4 5 6")}.bytes())
	f.Add(fileSpec{version: "FCS3.2", kw: kws(kv("$BYTEORD", "1,2,3,4", "$DATATYPE", "I", "$PAR", "2", "$TOT", "1"),
		kv("$P1N", "X", "$P1B", "16", "$P1R", "1024", "$P2N", "Y", "$P2B", "64", "$P2R", "1", "$P2DATATYPE", "D")), data: make([]byte, 10)}.bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		d, err := readBytes(b, Options{Workers: 1})
		runtime.ReadMemStats(&after)
		if grew, bound := after.TotalAlloc-before.TotalAlloc, uint64(64*len(b)+(2<<20)); grew > bound {
			t.Fatalf("Read of %d bytes allocated %d bytes (bound %d)", len(b), grew, bound)
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not an *Error", err)
			}
			return
		}
		if len(d.cols) != len(d.Params) || d.Events < 0 {
			t.Fatalf("%d columns for %d parameters, %d events", len(d.cols), len(d.Params), d.Events)
		}
		var buf []float64
		for ch := range d.Params {
			buf = d.Scale(ch, buf)
			if len(buf) != d.Events {
				t.Fatalf("channel %d: %d values for %d events", ch, len(buf), d.Events)
			}
			d.Raw(ch, buf)
		}
		d.SpilloverMatrix()
		d.Keywords()
	})
}
