package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/clink-consortium/clink/fcs"
)

// flowDir is the shared flow-cytometry data (../shared/data/flow from the repository root);
// its README says where every file comes from and what it holds.
var flowDir = filepath.Join("..", "..", "..", "shared", "data", "flow")

// flowFile returns the path of a file of the shared flow data. When the folder is absent the
// test is skipped, except with CI=true, where it fails.
func flowFile(tb testing.TB, parts ...string) string {
	tb.Helper()
	if _, err := os.Stat(flowDir); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("shared flow data missing (%v); CI needs it", err)
		}
		tb.Skipf("shared flow data missing (%v)", err)
	}
	return filepath.Join(append([]string{flowDir}, parts...)...)
}

// fcsRun runs `clink fcs args...` and returns what it printed.
func fcsRun(tb testing.TB, args ...string) (stdout, stderr string, err error) {
	tb.Helper()
	return runClink(tb, append([]string{"fcs"}, args...)...)
}

// fcsJSON runs `clink fcs args... --format json`, fails unless it succeeds, and decodes its
// output.
func fcsJSON(tb testing.TB, args ...string) any {
	tb.Helper()
	out, errOut, err := fcsRun(tb, append(args, "--format", "json")...)
	if err != nil {
		tb.Fatalf("clink fcs %v: %v\n%s", args, err, errOut)
	}
	var v any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		tb.Fatalf("clink fcs %v printed no JSON (%v):\n%s", args, err, out)
	}
	return v
}

// readCSVFile reads a whole CSV file, or fails.
func readCSVFile(tb testing.TB, path string) [][]string {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return rows
}

var infoKeys = []string{"file", "version", "dataset", "datasets", "events", "time_step", "channels", "spillover", "warnings"}
var channelKeys = []string{"n", "name", "label", "bits", "range", "data_type", "log_decades", "log_zero", "gain", "time"}

// channelWant is what a channel of `clink fcs info --format json` must say. The values are the
// file's own keywords, read from its TEXT with a hex viewer: data1.fcs (README 3: $P1G 3.67,
// $P2G 8, $P3E-$P5E and $P7E 4,0, whose f2 = 0 is read as 1) and coulter.lmd (README 4.1).
type channelWant struct {
	name, label         string
	bits                float64
	rng                 float64
	dataType            string
	decades, zero, gain float64
	time                bool
}

func checkChannels(tb testing.TB, got any, want []channelWant) {
	tb.Helper()
	chs := arr(tb, "channels", got)
	if len(chs) != len(want) {
		tb.Fatalf("got %d channels, want %d", len(chs), len(want))
	}
	for i, w := range want {
		c := obj(tb, "channel", chs[i])
		checkKeys(tb, "channel", c, channelKeys)
		what := fmt.Sprintf("channel %d (%s)", i+1, w.name)
		checkNum(tb, what+" n", c["n"], float64(i+1), 0)
		if c["name"] != w.name || c["label"] != w.label || c["data_type"] != w.dataType || c["time"] != w.time {
			tb.Errorf("%s: got name %v, label %v, type %v, time %v; want %q, %q, %q, %v",
				what, c["name"], c["label"], c["data_type"], c["time"], w.name, w.label, w.dataType, w.time)
		}
		checkNum(tb, what+" bits", c["bits"], w.bits, 0)
		checkNum(tb, what+" range", c["range"], w.rng, 0)
		checkNum(tb, what+" log_decades", c["log_decades"], w.decades, 0)
		checkNum(tb, what+" log_zero", c["log_zero"], w.zero, 0)
		checkNum(tb, what+" gain", c["gain"], w.gain, 0)
	}
}

// TestFCSInfo runs `clink fcs info` on files whose keywords are known (README 3 and 4.1).
func TestFCSInfo(t *testing.T) {
	data1 := flowFile(t, "gatingml2", "FCSFiles", "data1.fcs")
	got := obj(t, "info", fcsJSON(t, "info", data1))
	checkKeys(t, "info", got, infoKeys)
	if got["file"] != data1 || got["version"] != "FCS2.0" || got["spillover"] != nil {
		t.Errorf("data1.fcs: got file %v, version %v, spillover %v; want %s, FCS2.0, null", got["file"], got["version"], got["spillover"], data1)
	}
	checkNum(t, "dataset", got["dataset"], 0.0, 0)
	checkNum(t, "datasets", got["datasets"], 1.0, 0)
	checkNum(t, "events", got["events"], 13367.0, 0)
	lin := func(name, label string, gain float64) channelWant {
		return channelWant{name, label, 16, 1024, "I", 0, 0, gain, false}
	}
	log4 := func(name, label string) channelWant { return channelWant{name, label, 16, 1024, "I", 4, 1, 1, false} }
	checkChannels(t, got["channels"], []channelWant{
		lin("FSC-H", "FSC-Height", 3.67), lin("SSC-H", "SSC-Height", 8), log4("FL1-H", "CD4 FITC"), log4("FL2-H", "CD8 B PE"),
		log4("FL3-H", "CD3 PerCP"), lin("FL2-A", "", 1), log4("FL4-H", "CD8 APC"),
		{"Time", "Time (102.40 sec.)", 16, 1024, "I", 0, 0, 1, true},
	})
	if w := arr(t, "warnings", got["warnings"]); w == nil {
		t.Errorf("warnings: got null, want a list")
	}

	out, _, err := fcsRun(t, "info", data1)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Version    FCS2.0\n", "Data set   0 of 1 ", "Events     13367\n", "Channels   8\n", "Spillover: none\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if rows := rowsStarting(out, "1", "3", "8"); len(rows) != 3 ||
		!strings.HasPrefix(rows[0], "1  FSC-H ") || !strings.Contains(rows[0], " 3.67 ") ||
		!strings.Contains(rows[1], " 4,1 ") || !strings.Contains(rows[2], "Time (time)") {
		t.Errorf("channel rows 1, 3, 8: got %q, want FSC-H with gain 3.67, FL1-H with $PnE 4,1, Time marked", rows)
	}

	// coulter.lmd: two data sets; the second (FCS 3.0, 32-bit) follows $NEXTDATA = 363602.
	coulter := flowFile(t, "fcs", "flowio", "coulter.lmd")
	first := obj(t, "info", fcsJSON(t, "info", coulter))
	checkNum(t, "coulter datasets", first["datasets"], 2.0, 0)
	checkNum(t, "coulter dataset", first["dataset"], 0.0, 0)
	if first["version"] != "FCS2.0" {
		t.Errorf("coulter.lmd data set 0: got version %v, want FCS2.0", first["version"])
	}
	chs := arr(t, "channels", first["channels"])
	if len(chs) != 8 {
		t.Fatalf("coulter.lmd data set 0: %d channels, want 8", len(chs))
	}
	// $P2G 2.0; $P3E " 4.0,0.1024" (leading space, f2 other than 1).
	checkNum(t, "coulter SS Lin gain", obj(t, "channel", chs[1])["gain"], 2.0, 0)
	fl1 := obj(t, "channel", chs[2])
	checkNum(t, "coulter FL1 Log decades", fl1["log_decades"], 4.0, 0)
	checkNum(t, "coulter FL1 Log zero", fl1["log_zero"], 0.1024, 0)

	second := obj(t, "info", fcsJSON(t, "info", "--dataset", "1", coulter))
	checkKeys(t, "info", second, infoKeys)
	if second["version"] != "FCS3.0" {
		t.Errorf("coulter.lmd data set 1: got version %v, want FCS3.0", second["version"])
	}
	checkNum(t, "coulter dataset", second["dataset"], 1.0, 0)
	checkNum(t, "coulter datasets", second["datasets"], 2.0, 0)
	checkNum(t, "coulter events", second["events"], 18110.0, 0)
	var want []channelWant
	for _, n := range []string{"FS", "SS", "FL1", "FL2", "FL3", "FL4", "FL5"} {
		want = append(want, channelWant{n, "", 32, 1048576, "I", 0, 0, 1, false})
	}
	want = append(want, channelWant{"TIME", "", 32, 1024, "I", 0, 0, 1, true})
	checkChannels(t, second["channels"], want)
	// Flags may follow the file name.
	if again := fcsJSON(t, "info", coulter, "--dataset", "1"); !jsonEqual(again, second) {
		t.Errorf("info FILE --dataset 1 differs from info --dataset 1 FILE")
	}

	// 9399_1_3_NKR.fcs carries BD's SPILL keyword: 5 detectors, row-major (README 3; the values
	// are the keyword's text).
	nkr := obj(t, "info", fcsJSON(t, "info", flowFile(t, "gatingml2", "FCSFiles", "9399_1_3_NKR.fcs")))
	sp := obj(t, "spillover", nkr["spillover"])
	checkKeys(t, "spillover", sp, []string{"names", "matrix"})
	sameJSON(t, "spillover.names", sp["names"], []any{"PE-A", "PerCP-Cy5-5-A", "APC-A", "APC-Cy7-A", "Pacific Blue-A"}, nil)
	m := arr(t, "matrix", sp["matrix"])
	if len(m) != 5 {
		t.Fatalf("spillover matrix: %d rows, want 5", len(m))
	}
	checkNum(t, "spillover[0][1]", arr(t, "row", m[0])[1], 0.3418720574275276, 0)
	checkNum(t, "spillover[4][2]", arr(t, "row", m[4])[2], 0.0, 0)
	checkNum(t, "spillover[4][3]", arr(t, "row", m[4])[3], 0.00009291326058560207, 0)
	checkNum(t, "spillover[4][4]", arr(t, "row", m[4])[4], 1.0, 0)
	out, _, err = fcsRun(t, "info", flowFile(t, "gatingml2", "FCSFiles", "9399_1_3_NKR.fcs"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Spillover (5 detectors;") || len(rowsStarting(out, "PE-A")) != 1 {
		t.Errorf("table lacks the spillover matrix:\n%s", out)
	}
}

// TestFCSInfoWarnings checks that the quirks a reader accepts are reported: test_comp_example.fcs
// has $ENDDATA one byte past its data (README 4.2).
func TestFCSInfoWarnings(t *testing.T) {
	file := flowFile(t, "fcs", "flowkit", "test_comp_example.fcs")
	got := obj(t, "info", fcsJSON(t, "info", file))
	ws := arr(t, "warnings", got["warnings"])
	if len(ws) == 0 {
		t.Fatalf("got no warnings, want one for $ENDDATA")
	}
	found := false
	for _, w := range ws {
		w := obj(t, "warning", w)
		checkKeys(t, "warning", w, []string{"keyword", "message"}, "offset")
		if strings.EqualFold(fmt.Sprint(w["keyword"]), "$ENDDATA") {
			found = true
		}
	}
	if !found {
		t.Errorf("warnings %v: none about $ENDDATA", ws)
	}
	out, _, err := fcsRun(t, "info", file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, fmt.Sprintf("Warnings (%d):\n", len(ws))) {
		t.Errorf("table lacks the warnings:\n%s", out)
	}
}

// TestFCSExport exports data1.fcs and compares every value with FlowIO's truth arrays
// (fcs/flowio/truth, README 5.2): raw values exactly, scale values exactly when the truth is an
// integer and to 1e-12 relative otherwise.
func TestFCSExport(t *testing.T) {
	data1 := flowFile(t, "gatingml2", "FCSFiles", "data1.fcs")
	for _, tc := range []struct{ values, truth string }{
		{"raw", "data1_original_events.csv"},
		{"scale", "data1_preprocessed.csv"},
	} {
		t.Run(tc.values, func(t *testing.T) {
			want := readCSVFile(t, flowFile(t, "fcs", "flowio", "truth", tc.truth))
			out, errOut, err := fcsRun(t, "export", "--values", tc.values, data1)
			if err != nil {
				t.Fatalf("%v\n%s", err, errOut)
			}
			got := parseCSV(t, out)
			compareEvents(t, got, want)

			// --limit and --out: the first 10 events, the same text in a file.
			lim, _, err := fcsRun(t, "export", "--values", tc.values, "--limit", "10", data1)
			if err != nil {
				t.Fatal(err)
			}
			if lines := strings.SplitAfter(out, "\n"); lim != strings.Join(lines[:11], "") {
				t.Errorf("--limit 10: got\n%s\nwant the header and the first 10 lines of the full export", lim)
			}
			path := filepath.Join(t.TempDir(), "events.csv")
			if o, _, err := fcsRun(t, "export", "--values", tc.values, "--out", path, data1); err != nil || o != "" {
				t.Fatalf("--out: got %v and stdout %q", err, o)
			}
			if b, err := os.ReadFile(path); err != nil || string(b) != out {
				t.Errorf("--out: the file differs from standard output (%v)", err)
			}
		})
	}
	// The default is scale values.
	def, _, err := fcsRun(t, "export", "--limit", "3", data1)
	if err != nil {
		t.Fatal(err)
	}
	if sc, _, _ := fcsRun(t, "export", "--values", "scale", "--limit", "3", data1); def != sc {
		t.Errorf("default export:\n%s\nwant the scale values:\n%s", def, sc)
	}
}

// compareEvents compares exported events with a truth table: the same header and number of
// rows, numbers equal when the truth is an integer, within 1e-12 relative otherwise.
func compareEvents(tb testing.TB, got, want [][]string) {
	tb.Helper()
	if strings.Join(got[0], ",") != strings.Join(want[0], ",") {
		tb.Fatalf("header: got %q, want %q", got[0], want[0])
	}
	if len(got) != len(want) {
		tb.Fatalf("got %d rows, want %d", len(got), len(want))
	}
	bad := 0
	for i := 1; i < len(want); i++ {
		if len(got[i]) != len(want[i]) {
			tb.Fatalf("row %d: got %d fields, want %d", i, len(got[i]), len(want[i]))
		}
		for j := range want[i] {
			g, err1 := strconv.ParseFloat(got[i][j], 64)
			w, err2 := strconv.ParseFloat(want[i][j], 64)
			if err1 != nil || err2 != nil {
				tb.Fatalf("row %d, %s: got %q, want %q", i, want[0][j], got[i][j], want[i][j])
			}
			ok := g == w
			if w != math.Trunc(w) {
				ok = closeTo(g, w, 1e-12, 1e-300)
			}
			if !ok {
				if bad++; bad <= 10 {
					tb.Errorf("event %d, %s: got %s, want %s", i, want[0][j], got[i][j], want[i][j])
				}
			}
		}
	}
	if bad > 10 {
		tb.Errorf("%d values differ in all", bad)
	}
}

// isacSets are the ISAC Gating-ML 2.0 compliance sets 1-5 (README 3): the gates, the FCS file
// and the folder of truth files, Results_<id>.txt with one 0 or 1 per event.
var isacSets = []struct {
	set      int
	xml, fcs string
}{
	{1, "gates1.xml", "data1.fcs"},
	{2, "gates2.xml", "data2.fcs"},
	{3, "gates3.xml", "9399_1_3_NKR.fcs"},
	{4, "gates4.xml", "9399_1_3_NKR.fcs"},
	{5, "gates5.xml", "9399_1_3_NKR.fcs"},
}

// set3Abbreviations maps the eight abbreviated result file ids of set 3 to their gate ids
// (README 3.1).
var set3Abbreviations = map[string]string{
	"myPolygonWithCustInvAlrSpil":    "myPolygonGateWithCustomInvertedAlreadySpillover",
	"myPolygonWithCustNonSqSpecMat":  "myPolygonGateWithCustomNonSquareSpectrumMatrix",
	"myPolygonWCustNonSqSpecInvAlrd": "myPolygonGateWithCustomNonSquareSpectrumMatrixInvertedAlready",
	"myPolygonWCustNonSqSpecArcSinH": "myPolygonGateWithCustomNonSquareSpectrumMatrixOnArcSinH",
	"myPolygonWCustSpillAndArcSinH":  "myPolygonGateWithCustomSpilloverAndArcSinH",
	"myPolygonWFCSSpillAndArcSinH":   "myPolygonGateWithFCSSpilloverAndArcSinH",
	"myRect4bHyperlogArcSinHFCSComp": "myRectangleGate4bHyperlogArcSinHFCSCompensated",
	"myRect4LogicleArcSinHFCSComp":   "myRectangleGate4LogicleArcSinHFCSCompensated",
}

// isacTruth is the truth of one result of a set: the gate id it belongs to, the bytes of its
// file and the number of events in it.
type isacTruth struct {
	resultID, gateID string
	data             []byte
	ones             int
}

// isacTruths reads the truth files of a set, keyed by gate id. Set 5's Not_ files, ids the R
// runner made up for complemented operands, have no gate (README 3) and are returned apart.
func isacTruths(tb testing.TB, set int) (truths map[string]isacTruth, noGate []string) {
	tb.Helper()
	dir := flowFile(tb, "gatingml2", "ExpectedResults", fmt.Sprintf("set_%d", set))
	paths, err := filepath.Glob(filepath.Join(dir, "Results_*.txt"))
	if err != nil || len(paths) == 0 {
		tb.Fatalf("no truth files in %s (%v)", dir, err)
	}
	truths = map[string]isacTruth{}
	for _, p := range paths {
		rid := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), "Results_"), ".txt")
		if set == 5 && strings.HasPrefix(rid, "Not_") {
			noGate = append(noGate, rid)
			continue
		}
		gid := rid
		if g, ok := set3Abbreviations[rid]; ok && set == 3 {
			gid = g
		}
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		truths[gid] = isacTruth{rid, gid, b, strings.Count(string(b), "1\n")}
	}
	return truths, noGate
}

// diffLines counts the lines where two membership files differ.
func diffLines(a, b []byte) int {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	n := 0
	for i := range max(len(la), len(lb)) {
		if i >= len(la) || i >= len(lb) || la[i] != lb[i] {
			n++
		}
	}
	return n
}

// TestFCSGateISAC runs `clink fcs gate --membership-dir` on the ISAC Gating-ML 2.0 compliance
// sets 1-5 and compares every membership file with its truth file byte for byte (190 truth
// files; the two Not_ files of set 5 have no gate and must not be written). The counts of the
// JSON output must be the truth's, and the percentages those counts over the events and over
// the parent's truth count.
func TestFCSGateISAC(t *testing.T) {
	for _, tc := range isacSets {
		t.Run(fmt.Sprintf("set_%d", tc.set), func(t *testing.T) {
			truths, noGate := isacTruths(t, tc.set)
			xml := flowFile(t, "gatingml2", "Gating-MLFiles", tc.xml)
			file := flowFile(t, "gatingml2", "FCSFiles", tc.fcs)
			dir := filepath.Join(t.TempDir(), "members")
			got := obj(t, "output", fcsJSON(t, "gate", "--gating-ml", xml, "--membership-dir", dir, file))
			checkKeys(t, "output", got, []string{"gating_ml", "files"})
			files := arr(t, "files", got["files"])
			if len(files) != 1 {
				t.Fatalf("got %d files, want 1", len(files))
			}
			f := obj(t, "file", files[0])
			checkKeys(t, "file", f, []string{"file", "dataset", "events", "gates"})
			events := f["events"].(float64)
			gates := map[string]map[string]any{}
			for _, g := range arr(t, "gates", f["gates"]) {
				g := obj(t, "gate", g)
				checkKeys(t, "gate", g, []string{"id", "kind", "quadrant_gate", "parent", "count", "pct_of_all", "parent_count", "pct_of_parent"})
				gates[g["id"].(string)] = g
			}
			if entries, err := os.ReadDir(dir); err != nil || len(entries) != len(gates) {
				t.Errorf("membership dir: %d files (%v), want one per result id (%d)", len(entries), err, len(gates))
			}

			match := 0
			for gid, tr := range truths {
				b, err := os.ReadFile(filepath.Join(dir, gid+".txt"))
				if err != nil {
					t.Errorf("%s: no membership file (%v)", tr.resultID, err)
					continue
				}
				if !bytes.Equal(b, tr.data) {
					t.Errorf("%s: %s.txt differs from Results_%s.txt on %d of %v events", tr.resultID, gid, tr.resultID, diffLines(b, tr.data), events)
				} else {
					match++
				}
				g, ok := gates[gid]
				if !ok {
					t.Errorf("%s: not in the output", gid)
					continue
				}
				checkNum(t, gid+" count", g["count"], float64(tr.ones), 0)
				checkNum(t, gid+" pct_of_all", g["pct_of_all"], 100*float64(tr.ones)/events, 1e-12)
				parentCount := events
				if p, ok := g["parent"].(string); ok {
					pt, ok := truths[p]
					if !ok {
						continue // a parent without a truth file: Quadrant parents, Polygon3
					}
					parentCount = float64(pt.ones)
				}
				checkNum(t, gid+" parent_count", g["parent_count"], parentCount, 0)
				if parentCount > 0 {
					checkNum(t, gid+" pct_of_parent", g["pct_of_parent"], 100*float64(tr.ones)/parentCount, 1e-12)
				}
			}
			for _, rid := range noGate {
				if _, err := os.Stat(filepath.Join(dir, rid+".txt")); err == nil {
					t.Errorf("%s has no gate in %s but a membership file was written", rid, tc.xml)
				}
			}
			t.Logf("set %d: %d of %d truth files match byte for byte (%d without a gate)", tc.set, match, len(truths), len(noGate))
		})
	}
}

// TestFCSGateFormats checks the table and CSV output of set 1, and that the parent of a gate
// is named with its percentages (ParAnd2 under Polygon1: 12 of 1,582 events in the truth).
func TestFCSGateFormats(t *testing.T) {
	xml := flowFile(t, "gatingml2", "Gating-MLFiles", "gates1.xml")
	file := flowFile(t, "gatingml2", "FCSFiles", "data1.fcs")
	truths, _ := isacTruths(t, 1)
	out, _, err := fcsRun(t, "gate", "--gating-ml", xml, file)
	if err != nil {
		t.Fatal(err)
	}
	lines := nonEmptyLines(out)
	if want := file + " (data set 0): 13367 events"; lines[0] != want {
		t.Errorf("first line %q, want %q", lines[0], want)
	}
	if !strings.HasPrefix(lines[1], "gate ") || !strings.Contains(lines[1], "% of parent") {
		t.Errorf("header %q", lines[1])
	}
	// Range1: 440 of 13,367 = 3.292 %; ParAnd2: 12 of Polygon1's 1,582 = 0.7585 %.
	if rows := rowsStarting(out, "Range1"); len(rows) != 1 || !strings.Contains(rows[0], " 440 ") || !strings.Contains(rows[0], " 3.292 ") {
		t.Errorf("Range1 row %q, want count 440 and 3.292 %%", rows)
	}
	if rows := rowsStarting(out, "ParAnd2"); len(rows) != 1 || !strings.Contains(rows[0], " Polygon1 ") || !strings.HasSuffix(rows[0], " 0.7585") {
		t.Errorf("ParAnd2 row %q, want parent Polygon1 and 0.7585 %% of it", rows)
	}

	out, _, err = fcsRun(t, "gate", "--gating-ml", xml, file, "--format", "csv")
	if err != nil {
		t.Fatal(err)
	}
	rows := parseCSV(t, out)
	header := "file,dataset,events,gate,kind,quadrant_gate,parent,count,pct_of_all,parent_count,pct_of_parent"
	if got := strings.Join(rows[0], ","); got != header {
		t.Errorf("header %q, want %q", got, header)
	}
	byID := map[string][]string{}
	for _, r := range rows[1:] {
		byID[r[3]] = r
	}
	for id, tr := range truths {
		r, ok := byID[id]
		if !ok {
			t.Errorf("csv lacks %s", id)
			continue
		}
		if r[0] != file || r[1] != "0" || r[2] != "13367" || r[7] != strconv.Itoa(tr.ones) {
			t.Errorf("csv row %q, want file %s, data set 0, 13367 events, count %d", r, file, tr.ones)
		}
	}
	if r := byID["ParAnd2"]; r == nil || r[6] != "Polygon1" || r[9] != "1582" || r[10] != strconv.FormatFloat(100*12.0/1582, 'g', -1, 64) {
		t.Errorf("ParAnd2 row %q, want parent Polygon1 with 1582 events", r)
	}
	if r := byID["FL2N-FL4N"]; r == nil || r[4] != "Quadrant" || r[5] != "Quadrant1" {
		t.Errorf("FL2N-FL4N row %q, want a Quadrant of Quadrant1", r)
	}
	if _, ok := byID["Quadrant1"]; ok {
		t.Errorf("csv has a row for the QuadrantGate Quadrant1 itself; its Quadrants carry the results")
	}
}

// TestFCSGateSeveralFiles gates two copies of data1.fcs under different names (README 2:
// fcs2_int16_13367ev_8par_GvHD.fcs is the same file): the output keeps the order of the command
// line and each file gets its own membership folder, equal to the truth.
func TestFCSGateSeveralFiles(t *testing.T) {
	xml := flowFile(t, "gatingml2", "Gating-MLFiles", "gates1.xml")
	a := flowFile(t, "fcs", "gatingml15_listmode", "fcs2_int16_13367ev_8par_GvHD.fcs")
	b := flowFile(t, "gatingml2", "FCSFiles", "data1.fcs")
	c := flowFile(t, "fcs", "flowio", "data1.fcs")
	truths, _ := isacTruths(t, 1)
	dir := t.TempDir()
	out, errOut, err := fcsRun(t, "gate", "--gating-ml", xml, "--membership-dir", dir, "--format", "json", a, b)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	if errOut != "" {
		t.Errorf("stderr: got %q, want nothing (no progress bar off a terminal)", errOut)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("no JSON (%v):\n%s", err, out)
	}
	files := arr(t, "files", got["files"])
	if len(files) != 2 || obj(t, "file", files[0])["file"] != a || obj(t, "file", files[1])["file"] != b {
		t.Fatalf("files %v, want %s then %s", files, a, b)
	}
	if !jsonEqual(obj(t, "file", files[0])["gates"], obj(t, "file", files[1])["gates"]) {
		t.Errorf("the two copies of data1.fcs have different counts")
	}
	for _, f := range []string{a, b} {
		for _, tr := range []isacTruth{truths["Polygon1"], truths["FL2P-FL4P"]} {
			got, err := os.ReadFile(filepath.Join(dir, filepath.Base(f), tr.gateID+".txt"))
			if err != nil || !bytes.Equal(got, tr.data) {
				t.Errorf("%s/%s.txt: differs from the truth or is missing (%v)", filepath.Base(f), tr.gateID, err)
			}
		}
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 2 {
		t.Errorf("membership dir holds %d entries (%v), want a folder per file", len(entries), err)
	}

	// Without --membership-dir, files of the same name are fine; the order holds for three.
	got = obj(t, "output", fcsJSON(t, "gate", "--gating-ml", xml, c, a, b))
	var order []any
	for _, f := range arr(t, "files", got["files"]) {
		order = append(order, obj(t, "file", f)["file"])
	}
	sameJSON(t, "files", order, []any{c, a, b}, nil)
}

// emptyDir reports whether dir is absent or holds nothing.
func emptyDir(tb testing.TB, dir string) bool {
	tb.Helper()
	entries, err := os.ReadDir(dir)
	return err != nil && os.IsNotExist(err) || err == nil && len(entries) == 0
}

// TestFCSErrors checks that bad files and command lines fail with a clear message and the
// right exit status, print nothing on standard output and write no membership file.
func TestFCSErrors(t *testing.T) {
	data1 := flowFile(t, "gatingml2", "FCSFiles", "data1.fcs")
	gates1 := flowFile(t, "gatingml2", "Gating-MLFiles", "gates1.xml")
	tmp := t.TempDir()
	missing := filepath.Join(tmp, "nope.fcs")
	notFCS := filepath.Join(tmp, "notes.fcs")
	if err := os.WriteFile(notFCS, []byte("donor,day,value\nD1,0,1.5\n"+strings.Repeat("x", 100)), 0o644); err != nil {
		t.Fatal(err)
	}
	// A parent_id naming no gate: Gating-ML 2.0 requires it to reference a gate of the document.
	badXML := filepath.Join(tmp, "bad.xml")
	if err := os.WriteFile(badXML, []byte(`<?xml version="1.0" encoding="UTF-8"?>
<gating:Gating-ML xmlns:gating="http://www.isac-net.org/std/Gating-ML/v2.0/gating"
    xmlns:data-type="http://www.isac-net.org/std/Gating-ML/v2.0/datatypes">
  <gating:RectangleGate gating:id="R1" gating:parent_id="Nowhere">
    <gating:dimension gating:min="1" gating:max="100" gating:compensation-ref="uncompensated">
      <data-type:fcs-dimension data-type:name="FSC-H"/>
    </gating:dimension>
  </gating:RectangleGate>
</gating:Gating-ML>
`), 0o644); err != nil {
		t.Fatal(err)
	}
	notXML := filepath.Join(tmp, "not.xml")
	if err := os.WriteFile(notXML, []byte("<gating:Gating-ML"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Gates on a channel data1.fcs does not have.
	otherChannel := filepath.Join(tmp, "other.xml")
	if err := os.WriteFile(otherChannel, []byte(`<?xml version="1.0" encoding="UTF-8"?>
<gating:Gating-ML xmlns:gating="http://www.isac-net.org/std/Gating-ML/v2.0/gating"
    xmlns:data-type="http://www.isac-net.org/std/Gating-ML/v2.0/datatypes">
  <gating:RectangleGate gating:id="R1">
    <gating:dimension gating:min="1" gating:max="100" gating:compensation-ref="uncompensated">
      <data-type:fcs-dimension data-type:name="CD56-PE"/>
    </gating:dimension>
  </gating:RectangleGate>
</gating:Gating-ML>
`), 0o644); err != nil {
		t.Fatal(err)
	}
	members := filepath.Join(tmp, "members")
	tests := []struct {
		name string
		args []string
		exit int
		err  []string // all in the error
	}{
		{"info: missing file", []string{"info", missing}, 1, []string{missing, "no such file or directory"}},
		{"info: not an FCS file", []string{"info", notFCS}, 1, []string{notFCS + ": fcs: "}},
		{"info: no such data set", []string{"info", "--dataset", "3", data1}, 1, []string{data1 + ": fcs: ", "data set"}},
		{"info: negative data set", []string{"info", "--dataset", "-1", data1}, 2, []string{"--dataset: -1 is negative"}},
		{"info: no file", []string{"info"}, 2, []string{"fcs info: name an FCS file"}},
		{"info: two files", []string{"info", data1, data1}, 2, []string{"fcs info: name one FCS file (got 2)"}},
		{"info: csv", []string{"info", "--format", "csv", data1}, 2, []string{`--format: "csv" is not table or json`}},
		{"info: unknown flag", []string{"info", "--datset", "1", data1}, 2, []string{"flag provided but not defined: -datset"}},
		{"export: not an FCS file", []string{"export", notFCS}, 1, []string{notFCS + ": fcs: "}},
		{"export: bad values", []string{"export", "--values", "compensated", data1}, 2, []string{`--values: "compensated" is not raw or scale`}},
		{"export: json", []string{"export", "--format", "json", data1}, 2, []string{`--format: "json" is not csv`}},
		{"export: negative limit", []string{"export", "--limit", "-5", data1}, 2, []string{"--limit: -5 is negative"}},
		{"export: --out in a missing folder", []string{"export", "--out", filepath.Join(tmp, "no", "such", "dir", "x.csv"), data1}, 1, []string{"no such file or directory"}},
		{"gate: no --gating-ml", []string{"gate", "--membership-dir", members, data1}, 2, []string{"fcs gate: --gating-ml GATES.xml is required"}},
		{"gate: no file", []string{"gate", "--gating-ml", gates1, "--membership-dir", members}, 2, []string{"fcs gate: name at least one FCS file"}},
		{"gate: bad format", []string{"gate", "--gating-ml", gates1, "--format", "xml", data1}, 2, []string{`--format: "xml" is not table, json or csv`}},
		{"gate: missing FCS file", []string{"gate", "--gating-ml", gates1, "--membership-dir", members, missing}, 1, []string{missing, "no such file or directory"}},
		{"gate: not an FCS file", []string{"gate", "--gating-ml", gates1, "--membership-dir", members, notFCS}, 1, []string{notFCS + ": fcs: "}},
		{"gate: one bad file of three", []string{"gate", "--gating-ml", gates1, "--membership-dir", members, data1, notFCS, missing}, 1,
			[]string{"fcs gate: 2 of 3 files failed; nothing was written"}},
		{"gate: missing Gating-ML file", []string{"gate", "--gating-ml", filepath.Join(tmp, "nope.xml"), "--membership-dir", members, data1}, 1, []string{"nope.xml", "no such file or directory"}},
		{"gate: unknown parent", []string{"gate", "--gating-ml", badXML, "--membership-dir", members, data1}, 1, []string{badXML + ": gating: ", "Nowhere"}},
		{"gate: not XML", []string{"gate", "--gating-ml", notXML, "--membership-dir", members, data1}, 1, []string{notXML + ": gating: "}},
		{"gate: a channel the file lacks", []string{"gate", "--gating-ml", otherChannel, "--membership-dir", members, data1}, 1, []string{data1 + ": gating: ", "CD56-PE"}},
		{"gate: two files of one name", []string{"gate", "--gating-ml", gates1, "--membership-dir", members, data1, flowFile(t, "fcs", "flowio", "data1.fcs")}, 2,
			[]string{"have the same name"}},
		{"gate: membership dir is a file", []string{"gate", "--gating-ml", gates1, "--membership-dir", filepath.Join(notFCS, "members"), data1}, 1,
			[]string{"not a directory"}},
		{"no subcommand", []string{}, 2, []string{"fcs (info|export|gate|attach): give a subcommand"}},
		{"unknown subcommand", []string{"plot"}, 2, []string{`fcs (info|export|gate|attach): unknown subcommand "plot"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, err := fcsRun(t, tc.args...)
			if err == nil {
				t.Fatalf("got success, want exit status %d\n%s", tc.exit, out)
			}
			if code := exitCode(err); code != tc.exit {
				t.Errorf("exit status: got %d (%v), want %d", code, err, tc.exit)
			}
			for _, want := range tc.err {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error: got %q, want it to contain %q", err, want)
				}
			}
			if out != "" {
				t.Errorf("stdout: got %q, want nothing", out)
			}
			if tc.name == "gate: one bad file of three" {
				for _, f := range []string{notFCS, missing} {
					if !strings.Contains(errOut, f) {
						t.Errorf("stderr lacks the failure of %s:\n%s", f, errOut)
					}
				}
			}
			if !emptyDir(t, members) {
				t.Errorf("a failed command wrote into the membership dir")
			}
		})
	}

	// A membership dir that exists already keeps its content and gains nothing on failure.
	if err := os.MkdirAll(members, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, _, err := fcsRun(t, "gate", "--gating-ml", gates1, "--membership-dir", members, data1, notFCS); err == nil {
		t.Fatal("gating a non-FCS file succeeded")
	}
	if !emptyDir(t, members) {
		t.Errorf("a failed command wrote into the existing membership dir")
	}
}

// runQuiet runs `clink args...` with standard output discarded, for benchmarks.
func runQuiet(b *testing.B, args ...string) {
	b.Helper()
	var errOut syncBuffer
	m := &Main{Stdout: io.Discard, Stderr: &errOut, Getenv: func(string) string { return "" }}
	if err := m.Run(context.Background(), args); err != nil {
		b.Fatalf("%v\n%s", err, errOut.String())
	}
}

// BenchmarkFCSExport exports the scale values of 9399_1_3_NKR.fcs (124,600 events x 8) as CSV.
func BenchmarkFCSExport(b *testing.B) {
	file := flowFile(b, "gatingml2", "FCSFiles", "9399_1_3_NKR.fcs")
	for b.Loop() {
		runQuiet(b, "fcs", "export", file)
	}
}

// BenchmarkFCSGate applies gates3.xml (35 gates, 56 results) to four copies of
// 9399_1_3_NKR.fcs (124,600 events each), files in parallel, writing the membership files.
func BenchmarkFCSGate(b *testing.B) {
	xml := flowFile(b, "gatingml2", "Gating-MLFiles", "gates3.xml")
	src, err := os.ReadFile(flowFile(b, "gatingml2", "FCSFiles", "9399_1_3_NKR.fcs"))
	if err != nil {
		b.Fatal(err)
	}
	tmp := b.TempDir()
	var files []string
	for i := range 4 {
		f := filepath.Join(tmp, fmt.Sprintf("copy%d.fcs", i))
		if err := os.WriteFile(f, src, 0o644); err != nil {
			b.Fatal(err)
		}
		files = append(files, f)
	}
	dir := filepath.Join(tmp, "members")
	for b.Loop() {
		runQuiet(b, append([]string{"fcs", "gate", "--gating-ml", xml, "--membership-dir", dir}, files...)...)
	}
}

// warningKeywords returns the keywords of the warnings of `clink fcs info --format json`.
func warningKeywords(tb testing.TB, info map[string]any) []string {
	tb.Helper()
	var ks []string
	for _, w := range arr(tb, "warnings", info["warnings"]) {
		ks = append(ks, fmt.Sprint(obj(tb, "warning", w)["keyword"]))
	}
	return ks
}

// TestFCSRepairFlags checks that the repair flags reach the reader (fcs.Options) on the files
// whose quirks they exist for (README 4.1).
func TestFCSRepairFlags(t *testing.T) {
	// HEADER says DATA starts at 5555, TEXT at 6081; only TEXT fits $TOT x event width.
	start := flowFile(t, "fcs", "flowio", "data_start_offset_discrepancy_example.fcs")
	info := obj(t, "info", fcsJSON(t, "info", start))
	if ks := warningKeywords(t, info); !slices.Contains(ks, "$BEGINDATA") {
		t.Errorf("default: warnings %q, want one about $BEGINDATA (TEXT offsets used)", ks)
	}
	for _, flag := range []string{"--use-header-offsets", "--ignore-text-offsets"} {
		_, _, err := fcsRun(t, "info", flag, start)
		if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), start+": fcs: data set 0: $TOT: ") {
			t.Errorf("%s: got %v, want the reader's $TOT error naming the file", flag, err)
		}
		info := obj(t, "info", fcsJSON(t, "info", flag, "--allow-offset-mismatch", start))
		checkNum(t, flag+" --allow-offset-mismatch events", info["events"], 2.0, 0)
		if ks := warningKeywords(t, info); !slices.Contains(ks, "$TOT") {
			t.Errorf("%s --allow-offset-mismatch: warnings %q, want one about $TOT", flag, ks)
		}
	}

	// The Accuri file's supplemental TEXT offsets point at the primary TEXT.
	accuri := flowFile(t, "fcs", "flowio", "B01 KC-A-W---91-US.fcs")
	if ks := warningKeywords(t, obj(t, "info", fcsJSON(t, "info", accuri))); !slices.Contains(ks, "$BEGINSTEXT") {
		t.Errorf("default: warnings %q, want one about $BEGINSTEXT", ks)
	}
	if ks := warningKeywords(t, obj(t, "info", fcsJSON(t, "info", "--ignore-stext", accuri))); slices.Contains(ks, "$BEGINSTEXT") {
		t.Errorf("--ignore-stext: warnings %q, want none about $BEGINSTEXT", ks)
	}

	// coulter.lmd's second data set names its time channel TIME: found case-insensitively by
	// default, replaced by FL5 with --time-channel.
	coulter := flowFile(t, "fcs", "flowio", "coulter.lmd")
	for _, tc := range []struct {
		args []string
		time string
	}{
		{nil, "TIME"},
		{[]string{"--time-channel", "fl5"}, "FL5"},
	} {
		info := obj(t, "info", fcsJSON(t, append([]string{"info", "--dataset", "1", coulter}, tc.args...)...))
		var times []string
		for _, c := range arr(t, "channels", info["channels"]) {
			if c := obj(t, "channel", c); c["time"] == true {
				times = append(times, c["name"].(string))
			}
		}
		if len(times) != 1 || times[0] != tc.time {
			t.Errorf("%v: time channels %q, want %s", tc.args, times, tc.time)
		}
	}
}

// BenchmarkFCSGateBatch gates a batch of 1,000 files of 100,000 events x 20 float32 channels
// (fcs.WriteSynthetic, 8 MB each) with the reference gating of flow.md section 6
// (testdata/fcs/synthetic_gates.xml), counts only. The 1,000 names are hard links to one file,
// so the batch is read from the page cache, as a batch the cytometer just wrote would be. Run
// it with -cpu 1,2 to see the worker pool scale with cores.
func BenchmarkFCSGateBatch(b *testing.B) {
	tmp := b.TempDir()
	first := filepath.Join(tmp, "sample0000.fcs")
	f, err := os.Create(first)
	if err != nil {
		b.Fatal(err)
	}
	if err := fcs.WriteSynthetic(f, 100_000, 20, 1); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	files := []string{first}
	for i := 1; i < 1000; i++ {
		name := filepath.Join(tmp, fmt.Sprintf("sample%04d.fcs", i))
		if err := os.Link(first, name); err != nil {
			b.Fatal(err)
		}
		files = append(files, name)
	}
	xml := filepath.Join("testdata", "fcs", "synthetic_gates.xml")
	for b.Loop() {
		runQuiet(b, append([]string{"fcs", "gate", "--gating-ml", xml, "--format", "csv"}, files...)...)
	}
}
