package cytotox

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// TestAnalyzePlateGolden compares the JSON of AnalyzePlate on each committed plate with the
// JSON testdata/fits.R writes from R (lysis with base R arithmetic, fits with nls port):
// the same keys everywhere, the same strings, and numbers to 1e-9 relative, or 1e-4
// relative under "fit" and for lytic units, as the fits are iterative.
func TestAnalyzePlateGolden(t *testing.T) {
	for _, name := range []string{"plate_contract", "plate_spont25", "plate_spont35", "plate_s_above_m"} {
		t.Run(name, func(t *testing.T) {
			res, err := AnalyzePlate(readPlate(t, name+".csv"), PlateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(res)
			if err != nil {
				t.Fatal(err)
			}
			var got, want any
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			wb, err := os.ReadFile(filepath.Join("testdata", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(wb, &want); err != nil {
				t.Fatal(err)
			}
			compareJSON(t, "", got, want)
		})
	}
}

// compareJSON compares decoded JSON values, reporting each difference with its path.
func compareJSON(tb testing.TB, path string, got, want any) {
	tb.Helper()
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			tb.Errorf("%s: got %v, want an object", path, got)
			return
		}
		if gk, wk := keys(g), keys(w); !slices.Equal(gk, wk) {
			tb.Errorf("%s: got keys %q, want %q", path, gk, wk)
		}
		for k, wv := range w {
			if gv, ok := g[k]; ok {
				compareJSON(tb, path+"."+k, gv, wv)
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			tb.Errorf("%s: got %v, want %v", path, got, want)
			return
		}
		for i := range w {
			compareJSON(tb, fmt.Sprintf("%s[%d]", path, i), g[i], w[i])
		}
	case float64:
		g, ok := got.(float64)
		tol := 1e-9
		if strings.Contains(path, ".fit.") || strings.Contains(path, ".lu") {
			tol = 1e-4
		}
		if !ok || math.Abs(g-w) > tol*math.Max(math.Abs(w), 1e-300) {
			tb.Errorf("%s: got %v, want %v (relative tolerance %g)", path, got, w, tol)
		}
	default: // string, bool, nil
		if got != want {
			tb.Errorf("%s: got %v, want %v", path, got, want)
		}
	}
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestAnalyzePlateJSONKeys pins the JSON of the contract: the keys of a sample and of a point,
// in order, and points as [] (never null) on an invalid sample. (The golden test checks the
// numbers against R; 124.68… is 100 × 4450/3569, the plate's mean S over mean M.)
func TestAnalyzePlateJSONKeys(t *testing.T) {
	res, err := AnalyzePlate(readPlate(t, "plate_s_above_m.csv"), PlateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res)
	want := `{"samples":[{"sample":"NK-E","spontaneous_release_pct":124.68478565424486,"points":[],"fit":null,"lu20_per_1e7":null,"lu30_per_1e7":null,"qc":["maximum_not_above_spontaneous"]}]}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	res, err = AnalyzePlate(readPlate(t, "plate_contract.csv"), PlateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = json.Marshal(res.Samples[0].Points[0])
	if want := `{"et_ratio":1.25,"mean_lysis_pct":13.723667905824`; !strings.HasPrefix(string(b), want) || !strings.HasSuffix(string(b), `,"n":3}`) || !strings.Contains(string(b), `"sd_lysis_pct":1.07`) {
		t.Errorf("point: got %s, want et_ratio, mean_lysis_pct, sd_lysis_pct, n", b)
	}
	b, _ = json.Marshal(res.Samples[0].Fit)
	for i, k := range []string{`{"a":`, `,"k":`, `,"a_se":`, `,"k_se":`, `,"residual_sd":`, `,"n":4`, `,"at_bound":false}`} {
		if j := strings.Index(string(b), k); j < 0 || (i == 0 && j != 0) {
			t.Errorf("fit: got %s, want key %s in order", b, k)
		}
	}
}

// TestAnalyzePlateRules checks the rules the R-derived plates do not reach, on hand-worked
// numbers: shared "*" controls S 100, M 1100 (M − S = 1000), so a reading v lyses
// (v − 100)/10 %.
func TestAnalyzePlateRules(t *testing.T) {
	shared := []PlateRow{{"*", "spontaneous", 0, 100, 0}, {"*", "maximum", 0, 1100, 0}}
	test := func(sample string, et float64, vs ...float64) []PlateRow {
		var out []PlateRow
		for _, v := range vs {
			out = append(out, PlateRow{Sample: sample, WellType: "test", ETRatio: et, Value: v})
		}
		return out
	}
	// The §6.5 worked example as readings: 12.5 % is 225, …
	worked := func(sample string, reps int) []PlateRow {
		var out []PlateRow
		for i, et := range []float64{1.25, 2.5, 5, 10, 20} {
			v := 100 + 10*[]float64{12.5, 23.3, 40.6, 62.9, 81.8}[i]
			for range reps {
				out = append(out, test(sample, et, v)...)
			}
		}
		return out
	}
	type point struct {
		et, mean float64
		sd       float64 // NaN: nil
		n        int
	}
	nan := math.NaN()
	tests := []struct {
		name    string
		rows    []PlateRow
		targets float64
		sample  string // the sample checked
		spont   float64
		points  []point
		qc      []string
		a       float64 // NaN: no fit; else R's a (the worked example, exp_expected.csv)
		lu20    float64 // NaN: nil
	}{
		{
			// Own spontaneous wells (200) replace the shared ones; the maximum stays shared:
			// lysis 100 (700 − 200)/(1100 − 200) = 55.5556 %, spontaneous 100 × 200/1100.
			name: "own spontaneous, shared maximum", sample: "A",
			rows:  slices.Concat(shared, []PlateRow{{"A", "spontaneous", 0, 200, 0}}, test("A", 10, 700, 700)),
			spont: 100 * 200.0 / 1100, points: []point{{10, 100 * 500.0 / 900, 0, 2}}, qc: []string{FlagTooFewPoints}, a: nan, lu20: nan,
		},
		{
			name: "shared controls", sample: "B",
			rows:  slices.Concat(shared, []PlateRow{{"A", "spontaneous", 0, 200, 0}}, test("A", 10, 700), test("B", 10, 700)),
			spont: 100 * 100.0 / 1100, points: []point{{10, 60, nan, 1}}, qc: []string{FlagTooFewPoints}, a: nan, lu20: nan,
		},
		{
			// Own maximum 2100 with shared spontaneous 100: (700 − 100)/2000 = 30 %.
			name: "own maximum", sample: "C",
			rows:  slices.Concat(shared, []PlateRow{{"C", "maximum", 0, 2100, 0}}, test("C", 10, 700)),
			spont: 100 * 100.0 / 2100, points: []point{{10, 30, nan, 1}}, qc: []string{FlagTooFewPoints}, a: nan, lu20: nan,
		},
		{
			// Single wells everywhere: fitted on all, no flag; the worked example's a.
			name: "single wells", sample: "W", rows: slices.Concat(shared, worked("W", 1)), targets: 5000,
			spont:  100 * 100.0 / 1100,
			points: []point{{1.25, 12.5, nan, 1}, {2.5, 23.3, nan, 1}, {5, 40.6, nan, 1}, {10, 62.9, nan, 1}, {20, 81.8, nan, 1}},
			qc:     []string{}, a: 0.899750273102388, lu20: 954.648133461973,
		},
		{
			// Default targets are 5,000: the same LU20.
			name: "default targets", sample: "W", rows: slices.Concat(shared, worked("W", 2)),
			spont:  100 * 100.0 / 1100,
			points: []point{{1.25, 12.5, 0, 2}, {2.5, 23.3, 0, 2}, {5, 40.6, 0, 2}, {10, 62.9, 0, 2}, {20, 81.8, 0, 2}},
			qc:     []string{}, a: 0.899750273102388, lu20: 954.648133461973,
		},
		{
			// LU scales as 1/targets: 10,000 targets halve it.
			name: "10,000 targets", sample: "W", rows: slices.Concat(shared, worked("W", 1)), targets: 10000,
			spont:  100 * 100.0 / 1100,
			points: []point{{1.25, 12.5, nan, 1}, {2.5, 23.3, nan, 1}, {5, 40.6, nan, 1}, {10, 62.9, nan, 1}, {20, 81.8, nan, 1}},
			qc:     []string{}, a: 0.899750273102388, lu20: 954.648133461973 / 2,
		},
		{
			// One duplicated point among single wells: the single wells are not fitted, which
			// leaves one point; readings 600 and 700 (CV 10.9 %) lyse 50 and 60 %, SD 7.07.
			name: "single wells among replicates", sample: "M",
			rows:   slices.Concat(shared, test("M", 1, 300), test("M", 2, 400), test("M", 4, 600, 700)),
			spont:  100 * 100.0 / 1100,
			points: []point{{1, 20, nan, 1}, {2, 30, nan, 1}, {4, 55, math.Sqrt(50), 2}},
			qc:     []string{"single_replicate:et=1", "single_replicate:et=2", FlagTooFewPoints}, a: nan, lu20: nan,
		},
		{
			// Rows out of order: points sorted by E:T; −5 % and 110 % are kept, flagged and
			// fitted, a on its bound 1. R (nls port as in fits.R, start a = 1, k from 5:1):
			// k = 0.130186249709299, LU20 = 1e7/(5000 (−log(0.8)/k)) = 1166.83855699673.
			name: "order and range", sample: "R",
			rows:   slices.Concat(shared, test("R", 20, 1200), test("R", 0.5, 50), test("R", 5, 500)),
			spont:  100 * 100.0 / 1100,
			points: []point{{0.5, -5, nan, 1}, {5, 40, nan, 1}, {20, 110, nan, 1}},
			qc:     []string{"lysis_out_of_range:et=0.5", "lysis_out_of_range:et=20"}, a: 1, lu20: 1166.83855699673,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := AnalyzePlate(tc.rows, PlateOptions{Targets: tc.targets})
			if err != nil {
				t.Fatal(err)
			}
			mustMarshal(t, res)
			i := slices.IndexFunc(res.Samples, func(s SampleAnalysis) bool { return s.Sample == tc.sample })
			if i < 0 {
				t.Fatalf("no sample %q in %+v", tc.sample, res.Samples)
			}
			s := res.Samples[i]
			checkRel(t, "spontaneous", &s.SpontaneousReleasePct, tc.spont, 1e-12)
			if len(s.Points) != len(tc.points) {
				t.Fatalf("points: got %+v, want %+v", s.Points, tc.points)
			}
			for j, w := range tc.points {
				g := s.Points[j]
				if g.ETRatio != w.et || g.N != w.n || math.Abs(g.MeanLysisPct-w.mean) > 1e-9 {
					t.Errorf("point %d: got %+v, want %+v", j, g, w)
				}
				checkNear(t, fmt.Sprintf("point %d sd", j), g.SDLysisPct, w.sd, 1e-9)
			}
			if !slices.Equal(s.QC, tc.qc) {
				t.Errorf("qc: got %q, want %q", s.QC, tc.qc)
			}
			if math.IsNaN(tc.a) != (s.Fit == nil) {
				t.Fatalf("fit: got %+v, want a %g", s.Fit, tc.a)
			}
			if s.Fit != nil {
				checkRel(t, "a", &s.Fit.A, tc.a, 1e-4)
			}
			checkRel(t, "lu20", s.LU20, tc.lu20, 1e-4)
		})
	}
}

// TestAnalyzePlateSampleOrder checks that samples come in the order of their first row, own
// control rows included.
func TestAnalyzePlateSampleOrder(t *testing.T) {
	rows := []PlateRow{
		{"Z", "spontaneous", 0, 100, 2},
		{"*", "maximum", 0, 1000, 3},
		{"*", "spontaneous", 0, 100, 4},
		{"A", "test", 5, 500, 5},
		{"Z", "test", 5, 500, 6},
		{"M", "test", 5, 500, 7},
	}
	res, err := AnalyzePlate(rows, PlateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range res.Samples {
		got = append(got, s.Sample)
	}
	if want := []string{"Z", "A", "M"}; !slices.Equal(got, want) {
		t.Errorf("samples: got %q, want %q", got, want)
	}
}

// TestAnalyzePlateQCOptions checks that PlateOptions.QC reaches the flags: with the
// exclusion limit raised to 30 %, NK-A's 5:1 point (CV 24.8 %) is only a warning and is
// fitted.
func TestAnalyzePlateQCOptions(t *testing.T) {
	res, err := AnalyzePlate(readPlate(t, "plate_contract.csv"), PlateOptions{QC: QC{CVExcludePct: 30}})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Samples[0]
	if want := []string{"replicate_cv_high:et=5"}; !slices.Equal(s.QC, want) {
		t.Errorf("qc: got %q, want %q", s.QC, want)
	}
	if s.Fit == nil || s.Fit.N != 5 {
		t.Errorf("fit: got %+v, want one on 5 points", s.Fit)
	}
}

func TestAnalyzePlateErrors(t *testing.T) {
	ok := []PlateRow{{"*", "spontaneous", 0, 100, 2}, {"*", "maximum", 0, 1000, 3}, {"A", "test", 5, 500, 4}}
	with := func(rows ...PlateRow) []PlateRow { return slices.Concat(ok, rows) }
	tests := []struct {
		name  string
		rows  []PlateRow
		opt   PlateOptions
		field string
		msg   string
	}{
		{"unknown well type", with(PlateRow{"A", "blank", 5, 500, 7}), PlateOptions{}, "line 7: well_type", `"blank" is not spontaneous, maximum or test`},
		{"no line", with(PlateRow{"A", "blank", 5, 500, 0}), PlateOptions{}, "rows[3].well_type", `"blank" is not`},
		{"NaN value", with(PlateRow{"A", "test", 5, math.NaN(), 9}), PlateOptions{}, "line 9: value", "is not a number"},
		{"Inf value", with(PlateRow{"*", "maximum", 0, math.Inf(1), 9}), PlateOptions{}, "line 9: value", "is not a number"},
		{"huge value", with(PlateRow{"A", "test", 5, 1e16, 9}), PlateOptions{}, "line 9: value", "beyond any instrument"},
		{"zero E:T", with(PlateRow{"A", "test", 0, 500, 8}), PlateOptions{}, "line 8: et_ratio", "0 is not a ratio"},
		{"negative E:T", with(PlateRow{"A", "test", -1, 500, 8}), PlateOptions{}, "line 8: et_ratio", "-1 is not a ratio"},
		{"NaN E:T", with(PlateRow{"A", "test", math.NaN(), 500, 8}), PlateOptions{}, "line 8: et_ratio", "NaN is not a ratio"},
		{"empty sample", with(PlateRow{" ", "test", 5, 500, 6}), PlateOptions{}, "line 6: sample", "is empty"},
		{"test well for *", with(PlateRow{"*", "test", 5, 500, 6}), PlateOptions{}, "line 6: sample", "shared controls"},
		{"no spontaneous", []PlateRow{{"*", "maximum", 0, 1000, 2}, {"A", "test", 5, 500, 3}}, PlateOptions{}, "line 3: sample", `"A" has no spontaneous wells`},
		{"no maximum", []PlateRow{{"A", "spontaneous", 0, 100, 2}, {"A", "test", 5, 500, 3}}, PlateOptions{}, "line 2: sample", `"A" has no maximum wells`},
		{"controls only", with(PlateRow{"B", "maximum", 0, 900, 5}), PlateOptions{}, "line 5: sample", `"B" has control wells but no test wells`},
		{"no test rows", ok[:2], PlateOptions{}, "rows", "no test wells"},
		{"no rows", nil, PlateOptions{}, "rows", "no test wells"},
		{"maximum not above 0", []PlateRow{{"*", "spontaneous", 0, -10, 2}, {"*", "maximum", 0, -5, 3}, {"A", "test", 5, 1, 4}}, PlateOptions{}, "line 4: sample", "must be above 0"},
		{"overflowing ratio", []PlateRow{{"*", "spontaneous", 0, 1e15, 2}, {"*", "maximum", 0, 1e-300, 3}, {"A", "test", 5, 1, 4}}, PlateOptions{}, "line 4: sample", "beyond any plate"},
		{"negative targets", ok, PlateOptions{Targets: -1}, "targets", "-1 is not"},
		{"NaN targets", ok, PlateOptions{Targets: math.NaN()}, "targets", "NaN is not"},
		{"bad threshold", ok, PlateOptions{QC: QC{CVWarnPct: -2}}, "qc.cv_warn_pct", "-2 is not"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := AnalyzePlate(tc.rows, tc.opt)
			if err == nil {
				t.Fatalf("got %+v, want an error", res)
			}
			checkInvalid(t, err, tc.field)
			if want := tc.field + ": "; !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("message: got %q, want %q and %q", err.Error(), want, tc.msg)
			}
		})
	}
}

// TestAnalyzePlateCase accepts well types in any case and with spaces, and trims sample names.
func TestAnalyzePlateCase(t *testing.T) {
	rows := []PlateRow{{"*", " Spontaneous", 0, 100, 2}, {"*", "MAXIMUM ", 0, 1100, 3}, {" A ", "Test", 5, 600, 4}}
	res, err := AnalyzePlate(rows, PlateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s := res.Samples[0]; s.Sample != "A" || len(s.Points) != 1 || s.Points[0].MeanLysisPct != 50 {
		t.Errorf("got %+v, want sample A with 50 %% at 5:1", s)
	}
}

// TestAnalyzePlateNotComputable leaves out a point whose lysis overflows (a maximum barely
// above a spontaneous release of 0) and says so.
func TestAnalyzePlateNotComputable(t *testing.T) {
	rows := []PlateRow{{"*", "spontaneous", 0, 0, 2}, {"*", "maximum", 0, 5e-324, 3}, {"A", "test", 5, 1, 4}, {"A", "test", 10, 0, 5}}
	res, err := AnalyzePlate(rows, PlateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mustMarshal(t, res)
	s := res.Samples[0]
	if len(s.Points) != 1 || s.Points[0].ETRatio != 10 {
		t.Errorf("points: got %+v, want only 10:1", s.Points)
	}
	if want := []string{"lysis_not_computable:et=5", FlagTooFewPoints}; !slices.Equal(s.QC, want) {
		t.Errorf("qc: got %q, want %q", s.QC, want)
	}
}
