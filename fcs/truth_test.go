package fcs

import (
	"encoding/binary"
	"math"
	"os"
	"slices"
	"testing"
)

// The truth arrays come from FlowIO 1.4.0's test data (fcs/flowio/truth, see the data README
// section 5.2): *_original_events.csv are the decoded raw values, *_preprocessed*.csv the
// scale values of flow.md 1.7, both computed by FlowIO/FlowKit, an independent implementation.

func TestTruthData1(t *testing.T) {
	d := mustRead(t, flowFile(t, "fcs/flowio/data1.fcs"), Options{})
	checkTruth(t, d, flowFile(t, "fcs/flowio/truth/data1_original_events.csv"), false)
	checkTruth(t, d, flowFile(t, "fcs/flowio/truth/data1_preprocessed.csv"), true)
}

func TestTruthAccuri(t *testing.T) {
	d := mustRead(t, flowFile(t, "fcs/flowio/B01 KC-A-W---91-US.fcs"), Options{})
	checkTruth(t, d, flowFile(t, "fcs/flowio/truth/B01 KC-A-W---91-US_preprocessed_events.csv"), true)
}

// checkTruth compares every channel of d with a truth CSV: raw values exactly; scale values
// exactly for linear channels without gain and to 1e-12 relative for computed ones (log
// decoding, gain division, time step), as the checklist of flow.md section 7 asks.
func checkTruth(t *testing.T, d *DataSet, path string, scale bool) {
	t.Helper()
	names, cols := readTruthCSV(t, path)
	if got := d.Names(); !slices.Equal(got, names) {
		t.Fatalf("%s: names %q, want %q", path, got, names)
	}
	var buf []float64
	for ch, want := range cols {
		if len(want) != d.Events {
			t.Fatalf("%s: %d rows, data set has %d events", path, len(want), d.Events)
		}
		p := d.Params[ch]
		computed := scale && (p.LogDecades > 0 || p.Gain != 1 && !p.Time || p.Time && d.TimeStep() != 1)
		if scale {
			buf = d.Scale(ch, buf)
		} else {
			buf = d.Raw(ch, buf)
		}
		bad := 0
		for i, w := range want {
			g := buf[i]
			ok := g == w
			if !ok && computed {
				ok = math.Abs(g-w) <= 1e-12*math.Abs(w)
			}
			if !ok {
				if bad < 3 {
					t.Errorf("%s: %s event %d: got %.17g, want %.17g", path, names[ch], i, g, w)
				}
				bad++
			}
		}
		if bad > 0 {
			t.Errorf("%s: %s: %d of %d values differ", path, names[ch], bad, len(want))
		}
	}
}

// TestTruthCompExample compares the raw values of test_comp_example.fcs with FlowKit's
// test_comp_example.npy: 10,703 x 18 float64, little-endian, row-major, no NumPy header (data
// README section 4.2).
func TestTruthCompExample(t *testing.T) {
	d := mustRead(t, flowFile(t, "fcs/flowkit/test_comp_example.fcs"), Options{})
	b, err := os.ReadFile(flowFile(t, "fcs/flowkit/test_comp_example.npy"))
	if err != nil {
		t.Fatal(err)
	}
	par := len(d.Params)
	if d.Events != 10703 || par != 18 {
		t.Fatalf("got %d events x %d parameters, want 10703 x 18", d.Events, par)
	}
	if len(b) != d.Events*par*8 {
		t.Fatalf("npy holds %d bytes, want %d", len(b), d.Events*par*8)
	}
	var raw []float64
	for ch := range par {
		raw = d.Raw(ch, raw)
		for i := range d.Events {
			w := math.Float64frombits(binary.LittleEndian.Uint64(b[8*(i*par+ch):]))
			if raw[i] != w {
				t.Fatalf("%s event %d: got %.9g, want %.9g", d.Params[ch].Name, i, raw[i], w)
			}
		}
	}
	if !hasWarning(d, "$ENDDATA") {
		t.Errorf("no warning for $ENDDATA one byte past the data; warnings %v", d.Warnings)
	}
}
