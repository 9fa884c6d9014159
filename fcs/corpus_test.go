package fcs

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// corpusCase is what one data set of the shared corpus must read as. Version, $TOT, $PAR and
// names come from testdata/corpus_expect.py, an independent Python extraction, checked against
// the data README (sections 3 and 4); spill and the warnings expected come from the README's
// description of each file's quirks.
type corpusCase struct {
	path     string
	dataSet  int
	version  string
	events   int
	par      int
	names    []string
	spill    bool
	warnings []string // keywords of warnings that must be reported
}

var corpus = []corpusCase{
	{"fcs/flowcore/0877408774.B08", 0, "FCS2.0", 10000, 8, []string{"FSC-H", "SSC-H", "FL1-H", "FL2-H", "FL3-H", "FL1-A", "FL4-H", "Time"}, false, []string{"TEXT"}},
	{"fcs/flowcore/0877408774.E07", 0, "FCS2.0", 10000, 8, []string{"FSC-H", "SSC-H", "FL1-H", "FL2-H", "FL3-H", "FL1-A", "FL4-H", "Time"}, false, []string{"TEXT"}},
	{"fcs/flowcore/0877408774.F06", 0, "FCS2.0", 10000, 8, []string{"FSC-H", "SSC-H", "FL1-H", "FL2-H", "FL3-H", "FL1-A", "FL4-H", "Time"}, false, []string{"TEXT"}},
	{"fcs/flowcore/compdata/data/060909.001", 0, "FCS2.0", 10000, 7, []string{"FSC-H", "SSC-H", "FL1-H", "FL2-H", "FL3-H", "FL1-A", "FL4-H"}, false, []string{}},
	{"fcs/flowcore/compdata/data/060909.002", 0, "FCS2.0", 8805, 7, []string{"FSC-H", "SSC-H", "FL1-H", "FL2-H", "FL3-H", "FL1-A", "FL4-H"}, false, []string{}},
	{"fcs/flowcore/compdata/data/060909.003", 0, "FCS2.0", 7485, 7, []string{"FSC-H", "SSC-H", "FL1-H", "FL2-H", "FL3-H", "FL1-A", "FL4-H"}, false, []string{}},
	{"fcs/flowcore/compdata/data/060909.004", 0, "FCS2.0", 10000, 7, []string{"FSC-H", "SSC-H", "FL1-H", "FL2-H", "FL3-H", "FL1-A", "FL4-H"}, false, []string{}},
	{"fcs/flowcore/compdata/data/060909.005", 0, "FCS2.0", 10000, 7, []string{"FSC-H", "SSC-H", "FL1-H", "FL2-H", "FL3-H", "FL1-A", "FL4-H"}, false, []string{}},
	{"fcs/flowio/100715.fcs", 0, "FCS2.0", 65016, 16, []string{"FSC-A", "FSC-H", "SSC-A", "B515-A", "R780-A", "R710-A", "R660-A", "V800-A", "V655-A", "V585-A", "V450-A", "G780-A", "G710-A", "G660-A", "G610-A", "G560-A"}, true, []string{}},
	{"fcs/flowio/3FITC_4PE_004.fcs", 0, "FCS2.0", 94569, 4, []string{"FSC-H", "SSC-H", "FL1-H", "FL2-H"}, false, []string{}},
	{"fcs/flowio/B01 KC-A-W---91-US.fcs", 0, "FCS3.1", 1589, 14, []string{"FSC-A", "SSC-A", "FL1-A", "FL2-A", "FL3-A", "FL4-A", "FSC-H", "SSC-H", "FL1-H", "FL2-H", "FL3-H", "FL4-H", "Width", "Time"}, true, []string{"$BEGINSTEXT"}},
	{"fcs/flowio/G11.fcs", 0, "FCS3.1", 5785, 12, []string{"Time", "FSC-A", "SSC-A", "BL1-A", "YL2-A", "VL1-A", "FSC-H", "SSC-H", "VL1-H", "FSC-W", "SSC-W", "VL1-W"}, true, []string{"TEXT"}},
	{"fcs/flowio/coulter.lmd", 0, "FCS2.0", 18110, 8, []string{"FS Lin", "SS Lin", "FL1 Log", "FL2 Log", "FL1 Lin", "FL2 Lin", "FL3 Lin", "FL3 Log"}, false, []string{"HEADER", "$P3E"}},
	{"fcs/flowio/coulter.lmd", 1, "FCS3.0", 18110, 8, []string{"FS", "SS", "FL1", "FL2", "FL3", "FL4", "FL5", "TIME"}, false, []string{}},
	{"fcs/flowio/data1.fcs", 0, "FCS2.0", 13367, 8, []string{"FSC-H", "SSC-H", "FL1-H", "FL2-H", "FL3-H", "FL2-A", "FL4-H", "Time"}, false, []string{"TEXT"}},
	{"fcs/flowio/data_start_offset_discrepancy_example.fcs", 0, "FCS3.0", 2, 26, []string{"FSC LogH", "FSC LogA", "FSC LinH", "FSC LinA", "SSC LogH", "SSC LogA", "SSC LinH", "SSC LinA", "488/552nm PECy5.5 (710/40) LogH", "405nm BV710 (710/40) LogH", "xxxxxxxxxxxxxx (710/40) LogH", "488/552nm PE Cy7 (740LP) LogH", "405nm Qdot800 (740LP) LogH", "642nm APC Cy7 (740LP) LogH", "488/552nm PECy5 (676/29) LogH", "642nm APC (676/29) LogH", "488/552nm PI (615/30) LogH", "405nm Qdot605 (615/30) LogH", "488/552nm FITC (530/30) LogH", "405nm BV521 (530/30) LogH", "488/552nm PE (580/30) LogH", "405nm BV570 (580/30) LogH", "405nm BV421 (445/60) LogH", "405nm 405SSC (405/10) LogH", "Width", "Time"}, true, []string{"$BEGINDATA", "$TIMESTEP"}},
	{"fcs/flowio/data_stop_offset_discrepancy_example.fcs", 0, "FCS3.0", 2, 26, []string{"FSC LogH", "FSC LogA", "FSC LinH", "FSC LinA", "SSC LogH", "SSC LogA", "SSC LinH", "SSC LinA", "488/552nm PECy5.5 (710/40) LogH", "405nm BV710 (710/40) LogH", "xxxxxxxxxxxxxx (710/40) LogH", "488/552nm PE Cy7 (740LP) LogH", "405nm Qdot800 (740LP) LogH", "642nm APC Cy7 (740LP) LogH", "488/552nm PECy5 (676/29) LogH", "642nm APC (676/29) LogH", "488/552nm PI (615/30) LogH", "405nm Qdot605 (615/30) LogH", "488/552nm FITC (530/30) LogH", "405nm BV521 (530/30) LogH", "488/552nm PE (580/30) LogH", "405nm BV570 (580/30) LogH", "405nm BV421 (445/60) LogH", "405nm 405SSC (405/10) LogH", "Width", "Time"}, true, []string{"$BEGINDATA", "$TIMESTEP"}},
	{"fcs/flowio/variable_int_example.fcs", 0, "FCS3.0", 2, 26, []string{"FSC LogH", "FSC LogA", "FSC LinH", "FSC LinA", "SSC LogH", "SSC LogA", "SSC LinH", "SSC LinA", "488/552nm PECy5.5 (710/40) LogH", "405nm BV710 (710/40) LogH", "xxxxxxxxxxxxxx (710/40) LogH", "488/552nm PE Cy7 (740LP) LogH", "405nm Qdot800 (740LP) LogH", "642nm APC Cy7 (740LP) LogH", "488/552nm PECy5 (676/29) LogH", "642nm APC (676/29) LogH", "488/552nm PI (615/30) LogH", "405nm Qdot605 (615/30) LogH", "488/552nm FITC (530/30) LogH", "405nm BV521 (530/30) LogH", "488/552nm PE (580/30) LogH", "405nm BV570 (580/30) LogH", "405nm BV421 (445/60) LogH", "405nm 405SSC (405/10) LogH", "Width", "Time"}, true, []string{"$TIMESTEP"}},
	{"fcs/flowkit/test_comp_example.fcs", 0, "FCS3.0", 10703, 18, []string{"FSC-A", "FSC-W", "SSC-A", "Ax488-A", "PE-A", "PE-TR-A", "PerCP-Cy55-A", "PE-Cy7-A", "Ax647-A", "Ax700-A", "Ax750-A", "PacBlu-A", "Qdot525-A", "PacOrange-A", "Qdot605-A", "Qdot655-A", "Qdot705-A", "Time"}, true, []string{"$ENDDATA", "TEXT"}},
	{"fcs/flowkit/test_data_2d_01.fcs", 0, "FCS3.1", 10000, 2, []string{"channel_A", "channel_B"}, false, []string{}},
	{"fcs/flowkit/index_sorted/index_sorted_example.fcs", 0, "FCS3.0", 384, 13, []string{"FSC-A", "FSC-W", "FSC-H", "SSC-A", "SSC-W", "SSC-H", "BL 530/30-A", "BL 695/40-A", "YG 586/15-A", "YG 780/60-A", "RL 780/60-A", "VL 525/50-A", "Time"}, true, []string{"$TOT"}},
	{"fcs/flowkit/simple_diamond_example/test_data_diamond_01.fcs", 0, "FCS3.1", 200000, 2, []string{"channel_A", "channel_B"}, false, []string{}},
	{"fcs/flowkit/simple_line_example/data_set_simple_line_100.fcs", 0, "FCS3.1", 100, 2, []string{"channel_A", "channel_B"}, false, []string{}},
	{"fcs/gatingml15_listmode/fcs2_int16_13367ev_8par_GvHD.fcs", 0, "FCS2.0", 13367, 8, []string{"FSC-H", "SSC-H", "FL1-H", "FL2-H", "FL3-H", "FL2-A", "FL4-H", "Time"}, false, []string{"TEXT"}},
	{"fcs/gatingml15_listmode/fcs2_int16_50000ev_8par_random.fcs", 0, "FCS2.0", 50000, 8, []string{"FSC", "SSC", "FL1", "FL2", "FL3", "FL4", "FL5", "FL6"}, false, []string{}},
	{"fcs/gatingml15_listmode/int-10000_events_random.fcs", 0, "FCS3.0", 10000, 6, []string{"AS", "BS", "CS", "DS", "ES", "FS"}, false, []string{"TEXT"}},
	{"fcs/gatingml15_listmode/int-10_events_6_parameters.fcs", 0, "FCS3.0", 10, 6, []string{"AS", "BS", "CS", "DS", "ES", "FS"}, false, []string{}},
	{"fcs/gatingml15_listmode/int-10_events_8_parameters.fcs", 0, "FCS3.0", 10, 8, []string{"AS", "BS", "CS", "DS", "ES", "FS", "GS", "HS"}, false, []string{}},
	{"fcs/gatingml15_listmode/int-15_scatter_events.fcs", 0, "FCS2.0", 15, 2, []string{"FCS", "SSC"}, false, []string{}},
	{"fcs/gatingml15_listmode/int-gating_test_file.fcs", 0, "FCS3.0", 1, 2, []string{"FS", "SS"}, false, []string{}},
	{"fcs/gatingml15_listmode/int-gating_test_file_4D.fcs", 0, "FCS3.0", 1, 4, []string{"FS", "SS", "FL4", "FL6"}, false, []string{}},
	{"fcs/gatingml15_listmode/int-homogenous_matrix.fcs", 0, "FCS2.0", 1250, 2, []string{"FS", "SS"}, false, []string{}},
	{"fcs/gatingml15_listmode/real-8-parameters.data.fcs", 0, "FCS2.0", 7605, 8, []string{"FSC-H", "SSC-H", "FITC-FL1-H", "PE-FL2-H", "APC-FL3-H", "FL4-A", "FL4-W", "Time"}, false, []string{"TEXT"}},
	{"fcs/gatingmldata_examples/166889.fcs", 0, "FCS3.0", 61178, 12, []string{"Time", "FSC-A", "FSC-H", "SSC-A", "FITC-A", "PE-A", "PerCP-Cy5-5-A", "PE-Cy7-A", "APC-A", "APC-Cy7-A", "Pacific Blue-A", "AmCyan-A"}, true, []string{"$TOT"}},
	{"gatingml2/FCSFiles/9399_1_3_NKR.fcs", 0, "FCS3.0", 124600, 8, []string{"FSC-A", "SSC-A", "PE-A", "PerCP-Cy5-5-A", "APC-A", "APC-Cy7-A", "Pacific Blue-A", "Time"}, true, []string{"$TOT"}},
	{"gatingml2/FCSFiles/data1.fcs", 0, "FCS2.0", 13367, 8, []string{"FSC-H", "SSC-H", "FL1-H", "FL2-H", "FL3-H", "FL2-A", "FL4-H", "Time"}, false, []string{"TEXT"}},
	{"gatingml2/FCSFiles/data2.fcs", 0, "FCS3.0", 10000, 15, []string{"Time", "FSC-A", "FSC-H", "FSC-W", "SSC-A", "SSC-H", "SSC-W", "FITC-A", "PE-A", "PE-Cy5-A", "PE-Cy7-A", "APC-A", "APC-Cy7-A", "Alexa-405-A", "AmCyan-A"}, true, []string{"$TOT"}},
}

// TestCorpus reads every data set of the corpus and checks it against the table; it also
// checks that the table covers every FCS file of the corpus folders.
func TestCorpus(t *testing.T) {
	dir := flowDir(t)
	covered := map[string]bool{}
	for _, tc := range corpus {
		covered[tc.path] = true
		t.Run(filepath.Base(tc.path)+"/"+string(rune('0'+tc.dataSet)), func(t *testing.T) {
			d := mustRead(t, filepath.Join(dir, filepath.FromSlash(tc.path)), Options{DataSet: tc.dataSet})
			if d.Version != tc.version || d.Events != tc.events || len(d.Params) != tc.par {
				t.Errorf("got %s, %d events x %d parameters; want %s, %d x %d", d.Version, d.Events, len(d.Params), tc.version, tc.events, tc.par)
			}
			if got := d.Names(); !slices.Equal(got, tc.names) {
				t.Errorf("names %q, want %q", got, tc.names)
			}
			if (d.Spill != nil) != tc.spill {
				t.Errorf("spillover present %v, want %v", d.Spill != nil, tc.spill)
			}
			for _, k := range tc.warnings {
				if !hasWarning(d, k) {
					t.Errorf("no warning about %s; warnings %v", k, d.Warnings)
				}
			}
			if d.Spill != nil {
				for _, name := range d.Spill.Names {
					if _, ok := d.Channel(name); !ok && name != "xxxxxxxxxxxxxxxxxxxxxxxxxxxx" {
						t.Errorf("spillover detector %q is not a parameter", name)
					}
				}
			}
			// Every channel converts to finite scale values.
			var buf []float64
			for ch := range d.Params {
				buf = d.Scale(ch, buf)
				for i, v := range buf {
					if v != v || v > 1e300 || v < -1e300 {
						t.Fatalf("%s event %d: scale value %g", d.Params[ch].Name, i, v)
					}
				}
			}
		})
	}
	for _, sub := range []string{"fcs", "gatingml2/FCSFiles"} {
		filepath.WalkDir(filepath.Join(dir, sub), func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			b := make([]byte, 3)
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			if _, err := f.Read(b); err != nil || string(b) != "FCS" {
				return nil
			}
			rel, _ := filepath.Rel(dir, p)
			if !covered[filepath.ToSlash(rel)] {
				t.Errorf("corpus file %s is not in the table", rel)
			}
			return nil
		})
	}
}

// TestCorpusRepairs reads the HEADER/TEXT discrepancy files with the HEADER offsets trusted:
// the HEADER segment does not hold $TOT x width bytes, so the read fails with a $TOT error, and
// AllowOffsetMismatch repairs it.
func TestCorpusRepairs(t *testing.T) {
	for _, name := range []string{"data_start_offset_discrepancy_example.fcs", "data_stop_offset_discrepancy_example.fcs"} {
		t.Run(name, func(t *testing.T) {
			path := flowFile(t, "fcs/flowio/"+name)
			_, err := ReadFile(path, Options{UseHeaderOffsets: true})
			checkErr(t, err, "$TOT")
			d, err := ReadFile(path, Options{UseHeaderOffsets: true, AllowOffsetMismatch: true})
			if err != nil || d.Events != 2 {
				t.Fatalf("with AllowOffsetMismatch: %v", err)
			}
		})
	}
	// Both discrepancy files hold the same events as variable_int_example.fcs, whose offsets
	// agree.
	ref := mustRead(t, flowFile(t, "fcs/flowio/variable_int_example.fcs"), Options{})
	for _, name := range []string{"data_start_offset_discrepancy_example.fcs", "data_stop_offset_discrepancy_example.fcs"} {
		d := mustRead(t, flowFile(t, "fcs/flowio/"+name), Options{})
		for ch := range d.Params {
			if got, want := d.Raw(ch, nil), ref.Raw(ch, nil); !slices.Equal(got, want) {
				t.Errorf("%s %s: raw %v, want %v", name, d.Params[ch].Name, got, want)
			}
		}
	}
}

// TestMultipleDataSets reads both data sets of coulter.lmd: an FCS 2.0 set of 10-bit values
// and, at $NEXTDATA 363602, an FCS 3.0 set of 20-bit values whose TEXT follows its DATA. The
// scatter, FL1 and FL2 linear channels of the first are the second's values divided by 1024 and
// truncated, which checks both decodings against each other.
func TestMultipleDataSets(t *testing.T) {
	path := flowFile(t, "fcs/flowio/coulter.lmd")
	d0 := mustRead(t, path, Options{})
	d1 := mustRead(t, path, Options{DataSet: 1})
	if d0.NumDataSets != 2 || d1.NumDataSets != 2 || d1.Index != 1 || d1.Offset != 363602 {
		t.Fatalf("got %d and %d data sets, second at index %d, byte %d; want 2, 1, 363602", d0.NumDataSets, d1.NumDataSets, d1.Index, d1.Offset)
	}
	// The second data set's TEXT follows its DATA (58-579577 relative to its HEADER).
	if k := d1.Keywords()[0]; k.Offset <= d1.Offset+579577 {
		t.Errorf("data set 1: first keyword at byte %d, want after its DATA (which ends at %d)", k.Offset, d1.Offset+579577)
	}
	if p := d0.Params[2]; p.LogDecades != 4 || p.LogZero != 0.1024 {
		t.Errorf("FL1 Log: $PnE read as %g,%g, want 4,0.1024", p.LogDecades, p.LogZero)
	}
	if d0.Params[1].Gain != 2 {
		t.Errorf("SS Lin gain %g, want 2", d0.Params[1].Gain)
	}
	if !d1.Params[7].Time || d1.Params[7].Name != "TIME" {
		t.Errorf("the time channel of data set 1 is not TIME")
	}
	// (FL3 Lin is not FL3 / 1024 exactly: the instrument derives it otherwise.)
	for _, pair := range [][2]string{{"FS Lin", "FS"}, {"SS Lin", "SS"}, {"FL1 Lin", "FL1"}, {"FL2 Lin", "FL2"}} {
		i0, _ := d0.Channel(pair[0])
		i1, _ := d1.Channel(pair[1])
		a, b := d0.Raw(i0, nil), d1.Raw(i1, nil)
		bad := 0
		for i := range a {
			if a[i] != float64(uint32(b[i])>>10) {
				bad++
			}
		}
		if bad > 0 {
			t.Errorf("%s vs %s: %d of %d events differ", pair[0], pair[1], bad, len(a))
		}
	}
	// A log channel decodes as f2 x 10^(f1 x / R).
	i, _ := d0.Channel("FL1 Log")
	raw, scale := d0.Raw(i, nil), d0.Scale(i, nil)
	for k := range 50 {
		if want := 0.1024 * pow10(4*raw[k]/1024); !near(scale[k], want, 1e-12) {
			t.Fatalf("FL1 Log event %d: scale %g, want %g", k, scale[k], want)
		}
	}
}
