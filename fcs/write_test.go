package fcs

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// TestWriteRoundTrip writes columns as float32 and float64, in both byte orders, and reads
// them back.
func TestWriteRoundTrip(t *testing.T) {
	cols := Columns{
		{1.5, -2, 3e5, 0.1, math.MaxFloat32},
		{0, 1, 2, 3, 4},
		{1e-300, -1e300, 7, 8, 9},
	}
	spill := &Spillover{Names: []string{"FITC-A", "PE-A"}, Matrix: [][]float64{{1, 0.125}, {0.0625, 1}}}
	for _, dt := range []byte{'F', 'D'} {
		for _, be := range []bool{false, true} {
			t.Run(fmt.Sprintf("%c/bigendian=%v", dt, be), func(t *testing.T) {
				f := &File{
					DataType:  dt,
					BigEndian: be,
					Params: []WriteParam{
						{Name: "FITC-A", Label: "CD3 / T cells", Range: 262144},
						{Name: "Time", Range: 1024},
						{Name: "PE-A", Label: "CD56", Gain: 2},
					},
					Spill:    spill,
					Keywords: []Keyword{{Name: "$CYT", Value: "Canto"}, {Name: "$TIMESTEP", Value: "0.01"}, {Name: "LAB", Value: "a/b|c"}},
				}
				var buf bytes.Buffer
				if err := Write(&buf, f, cols); err != nil {
					t.Fatal(err)
				}
				b := buf.Bytes()
				if !bytes.HasPrefix(b, []byte("FCS3.1    ")) || !bytes.HasSuffix(b, []byte("00000000")) {
					t.Errorf("file starts %q and ends %q, want FCS3.1 and the CRC field 00000000", b[:10], b[len(b)-8:])
				}
				d, err := readBytes(b, Options{})
				if err != nil {
					t.Fatal(err)
				}
				if len(d.Warnings) != 0 {
					t.Errorf("warnings %v, want none", d.Warnings)
				}
				if d.Version != "FCS3.1" || d.Events != 5 || !slices.Equal(d.Names(), []string{"FITC-A", "Time", "PE-A"}) {
					t.Errorf("got %s, %d events, names %q", d.Version, d.Events, d.Names())
				}
				for ch, col := range cols {
					want := slices.Clone(col)
					if dt == 'F' {
						for i := range want {
							want[i] = float64(float32(want[i]))
						}
					}
					checkRaw(t, d, ch, want...)
				}
				if d.Params[0].Label != "CD3 / T cells" || d.Params[2].Gain != 2 || d.Params[1].Range != 1024 || d.Params[0].DataType != dt {
					t.Errorf("params %+v", d.Params)
				}
				if names, m, ok := d.SpilloverMatrix(); !ok || !slices.Equal(names, spill.Names) || fmt.Sprint(m) != fmt.Sprint(spill.Matrix) {
					t.Errorf("spillover %q %v, want %q %v", names, m, spill.Names, spill.Matrix)
				}
				for name, want := range map[string]string{"$CYT": "Canto", "LAB": "a/b|c", "$P1E": "0,0", "$BYTEORD": map[bool]string{false: "1,2,3,4", true: "4,3,2,1"}[be]} {
					if got, _ := d.Keyword(name); got != want {
						t.Errorf("%s = %q, want %q", name, got, want)
					}
				}
				if v, _ := d.Keyword("$BEGINDATA"); len(v) != 20 {
					t.Errorf("$BEGINDATA %q is not zero-padded to 20 digits", v)
				}
				checkScale(t, d, 1, 0, 0.01, 0.02, 0.03, 0.04)
			})
		}
	}
}

// TestWriteDataSet exports subsets of data1.fcs (log-amplified integers with gains) and
// data2.fcs (float data, Time with $PnG and $TIMESTEP) and checks that the exported file's
// scale values are the source's.
func TestWriteDataSet(t *testing.T) {
	for _, file := range []string{"gatingml2/FCSFiles/data1.fcs", "gatingml2/FCSFiles/data2.fcs"} {
		src := mustRead(t, flowFile(t, file), Options{})
		var subset []int
		for i := 0; i < src.Events; i += 7 {
			subset = append(subset, i)
		}
		subset = append(subset, 3, 3) // any order, repeats allowed
		for _, dt := range []byte{'D', 'F'} {
			t.Run(fmt.Sprintf("%s/%c", file, dt), func(t *testing.T) {
				var buf bytes.Buffer
				if err := WriteDataSet(&buf, src, subset, dt); err != nil {
					t.Fatal(err)
				}
				d, err := readBytes(buf.Bytes(), Options{})
				if err != nil {
					t.Fatal(err)
				}
				if d.Events != len(subset) || !slices.Equal(d.Names(), src.Names()) {
					t.Fatalf("got %d events %q, want %d %q", d.Events, d.Names(), len(subset), src.Names())
				}
				if (d.Spill == nil) != (src.Spill == nil) {
					t.Errorf("spillover kept: %v, source has one: %v", d.Spill != nil, src.Spill != nil)
				}
				if v, ok := d.Keyword("$DATE"); !ok || v != mustKeyword(t, src, "$DATE") {
					t.Errorf("$DATE = %q, want the source's", v)
				}
				for ch, p := range src.Params {
					all := src.Scale(ch, nil)
					got := d.Scale(ch, nil)
					for i, e := range subset {
						want := all[e]
						if dt == 'F' && !p.Time {
							want = float64(float32(want))
						}
						if got[i] != want && !(p.Time && near(got[i], want, 1e-15)) {
							t.Fatalf("%s event %d (source %d): scale %.17g, want %.17g", p.Name, i, e, got[i], want)
						}
					}
				}
			})
		}
	}
	// All events when the subset is nil.
	src := mustRead(t, flowFile(t, "gatingml2/FCSFiles/data1.fcs"), Options{})
	var buf bytes.Buffer
	if err := WriteDataSet(&buf, src, nil, 0); err != nil {
		t.Fatal(err)
	}
	if d, err := readBytes(buf.Bytes(), Options{}); err != nil || d.Events != src.Events {
		t.Errorf("nil subset: %v", err)
	}
	if err := WriteDataSet(&buf, src, []int{src.Events}, 0); err == nil {
		t.Error("an event index out of range gave no error")
	}
}

func mustKeyword(t *testing.T, d *DataSet, name string) string {
	t.Helper()
	v, ok := d.Keyword(name)
	if !ok {
		t.Fatalf("no %s", name)
	}
	return v
}

// TestWriteErrors checks the writer's refusals.
func TestWriteErrors(t *testing.T) {
	one := Columns{{1}}
	tests := []struct {
		name string
		f    File
		want string
	}{
		{"no params", File{}, "no parameters"},
		{"data type", File{DataType: 'I', Params: []WriteParam{{Name: "X"}}}, "DataType"},
		{"empty name", File{Params: []WriteParam{{}}}, "no name"},
		{"duplicate", File{Params: []WriteParam{{Name: "X"}, {Name: "X"}}}, "used twice"},
		{"reserved", File{Params: []WriteParam{{Name: "X"}}, Keywords: []Keyword{{Name: "$tot", Value: "1"}}}, "writer itself"},
		{"param keyword", File{Params: []WriteParam{{Name: "X"}}, Keywords: []Keyword{{Name: "$P1N", Value: "Y"}}}, "writer itself"},
		{"empty value", File{Params: []WriteParam{{Name: "X"}}, Keywords: []Keyword{{Name: "A", Value: ""}}}, "empty value"},
		{"bad range", File{Params: []WriteParam{{Name: "X", Range: -1}}}, "range"},
		{"bad spill", File{Params: []WriteParam{{Name: "X"}}, Spill: &Spillover{Names: []string{"X"}, Matrix: [][]float64{{1, 2}}}}, "spillover"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Write(&bytes.Buffer{}, &tc.f, one)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error about %q", err, tc.want)
			}
		})
	}
}

// TestWriteSynthetic checks the synthetic benchmark file: deterministic, 20 channels with a
// 20 x 20 diagonally dominant spillover, Time rising.
func TestWriteSynthetic(t *testing.T) {
	var a, b bytes.Buffer
	if err := WriteSynthetic(&a, 10000, 20, 7); err != nil {
		t.Fatal(err)
	}
	if err := WriteSynthetic(&b, 10000, 20, 7); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two writes with the same seed differ")
	}
	d, err := readBytes(a.Bytes(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	names := d.Names()
	if d.Events != 10000 || len(names) != 20 || names[0] != "FSC-A" || names[1] != "SSC-A" || names[19] != "Time" {
		t.Fatalf("got %d events, names %q", d.Events, names)
	}
	det, m, ok := d.SpilloverMatrix()
	if !ok || len(det) != 20 {
		t.Fatalf("spillover %v %d", ok, len(det))
	}
	for i, row := range m {
		off := 0.0
		for j, v := range row {
			if i != j {
				off += math.Abs(v)
			}
		}
		if row[i] != 1 || off >= 1 {
			t.Errorf("row %d: diagonal %g, off-diagonal sum %g; want 1 and < 1", i, row[i], off)
		}
	}
	tm := d.Scale(19, nil)
	if tm[0] != 0 || tm[len(tm)-1] < 299 || tm[len(tm)-1] > 300 || !slices.IsSorted(tm) {
		t.Errorf("time runs from %g to %g, want 0 to about 300 s, sorted", tm[0], tm[len(tm)-1])
	}
	if err := WriteSynthetic(&a, 10, 2, 1); err == nil {
		t.Error("2 channels gave no error")
	}
}

// TestWriteColumnsMismatch refuses ragged columns.
func TestWriteColumnsMismatch(t *testing.T) {
	f := &File{Params: []WriteParam{{Name: "X"}, {Name: "Y"}}}
	for _, cols := range []Columns{{{1, 2}, {3}}, {{1}}} {
		if err := Write(&bytes.Buffer{}, f, cols); err == nil {
			t.Errorf("columns %v gave no error", cols)
		}
	}
}
