package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/demo"
	"github.com/clink-consortium/clink/internal/pgtest"
	"github.com/clink-consortium/clink/sqldb"
)

// The file modes of `clink analyze` are checked against values R computed: the fixtures of
// the stats, cytotox and kinetics packages (see testdata/analyze/README.md for where each
// comes from) and testdata/analyze/plate_clean.R. Tolerances, from issue 4: estimates 1e-6
// relative, p-values and fitted curves 1e-4.
const (
	tolEstimate = 1e-6
	tolP        = 1e-4
)

var (
	statsData    = filepath.Join("..", "..", "stats", "testdata", "compare")
	cytotoxData  = filepath.Join("..", "..", "cytotox", "testdata")
	kineticsData = filepath.Join("..", "..", "kinetics", "testdata")
	analyzeData  = filepath.Join("testdata", "analyze")
)

// analyze runs `clink analyze args...` and returns what it printed.
func analyze(tb testing.TB, args ...string) (stdout, stderr string, err error) {
	tb.Helper()
	return runClink(tb, append([]string{"analyze"}, args...)...)
}

// analyzeJSON runs `clink analyze args... --format json`, fails unless it succeeds, and
// decodes its output.
func analyzeJSON(tb testing.TB, args ...string) any {
	tb.Helper()
	out, errOut, err := analyze(tb, append(args, "--format", "json")...)
	if err != nil {
		tb.Fatalf("clink analyze %v: %v\n%s", args, err, errOut)
	}
	var v any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		tb.Fatalf("clink analyze %v printed no JSON (%v):\n%s", args, err, out)
	}
	return v
}

// readJSONFile decodes the JSON file at path.
func readJSONFile(tb testing.TB, path string) any {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return v
}

// obj returns v as a JSON object, or fails.
func obj(tb testing.TB, what string, v any) map[string]any {
	tb.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		tb.Fatalf("%s: got %T (%v), want an object", what, v, v)
	}
	return m
}

// arr returns v as a JSON array, or fails; null is not an array.
func arr(tb testing.TB, what string, v any) []any {
	tb.Helper()
	a, ok := v.([]any)
	if !ok {
		tb.Fatalf("%s: got %T (%v), want an array", what, v, v)
	}
	return a
}

// keysOf returns the keys of m, sorted.
func keysOf(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// checkKeys checks that the object m has exactly the keys want, and optionally those of
// optional.
func checkKeys(tb testing.TB, what string, m map[string]any, want []string, optional ...string) {
	tb.Helper()
	got := keysOf(m)
	for _, k := range optional {
		if _, ok := m[k]; ok {
			want = append(want, k)
		}
	}
	want = slices.Clone(want)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		tb.Errorf("%s: got keys %q, want %q", what, got, want)
	}
}

// closeTo reports whether got is within rel of want, relatively; below floor in magnitude the
// comparison is absolute, against rel × floor.
func closeTo(got, want, rel, floor float64) bool {
	return math.Abs(got-want) <= rel*math.Max(math.Abs(want), floor)
}

// checkNum checks the JSON number got (nil for null) against want (nil for null).
func checkNum(tb testing.TB, what string, got, want any, rel float64) {
	tb.Helper()
	g, gok := got.(float64)
	w, wok := want.(float64)
	switch {
	case got == nil && want == nil:
	case !gok || !wok:
		tb.Errorf("%s: got %v, want %v", what, got, want)
	case !closeTo(g, w, rel, 1e-300):
		tb.Errorf("%s: got %.15g, want %.15g (tolerance %g)", what, g, w, rel)
	}
}

// sameJSON checks that got has exactly the shape of want (the same keys at every level, arrays
// of the same length, null where want has null) and the same values, numbers within the
// tolerance tol gives for their path (nil: exactly).
func sameJSON(tb testing.TB, path string, got, want any, tol func(path string) float64) {
	tb.Helper()
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			tb.Errorf("%s: got %v, want an object", path, got)
			return
		}
		if gk, wk := keysOf(g), keysOf(w); !slices.Equal(gk, wk) {
			tb.Errorf("%s: got keys %q, want %q", path, gk, wk)
		}
		for k, wv := range w {
			if gv, ok := g[k]; ok {
				sameJSON(tb, path+"."+k, gv, wv, tol)
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			tb.Errorf("%s: got %v, want %d elements %v", path, got, len(w), w)
			return
		}
		for i := range w {
			sameJSON(tb, fmt.Sprintf("%s[%d]", path, i), g[i], w[i], tol)
		}
	case float64:
		rel := 0.0
		if tol != nil {
			rel = tol(path)
		}
		checkNum(tb, path, got, w, rel)
	default:
		if got != want {
			tb.Errorf("%s: got %v, want %v", path, got, want)
		}
	}
}

// The datasets of stats/testdata/compare.R.
var compareDatasets = []string{
	"doc_wilcoxon", "doc_friedman", "ties_zeros", "missing_protocol", "two_donors", "all_equal",
	"replicates", "five_protocols", "large_n", "tiny_p", "singular",
}

// TestAnalyzeCompareFile runs `clink analyze compare --csv FILE --format json` on every dataset
// of stats/testdata/compare and checks the JSON of the issue-4 contract: its keys, and its
// values against R's (compare.R: quantile type 7, wilcox.test, friedman.test, pairwise
// wilcox.test with p.adjust "holm", lmer REML).
func TestAnalyzeCompareFile(t *testing.T) {
	for _, name := range compareDatasets {
		t.Run(name, func(t *testing.T) {
			r := obj(t, "R", readJSONFile(t, filepath.Join(statsData, name+".json")))
			protocols := arr(t, "R protocols", r["protocols"])
			k := len(protocols)
			file := filepath.Join(statsData, name+".csv")
			for _, scale := range []string{"", "log10", "linear"} {
				args := []string{"compare", "--csv", file}
				rScale, response := "log10", "log10(value)"
				if scale != "" {
					args = append(args, "--scale", scale)
					if scale == "linear" {
						rScale, response = "linear", "value"
					}
				}
				got := obj(t, "output", analyzeJSON(t, args...))
				want := []string{"protocols", "n_donors", "n_complete_donors", "summary", "friedman", "mixed_model", "notes"}
				switch {
				case k == 2:
					want = append(want, "wilcoxon")
				case k >= 3:
					want = append(want, "pairwise")
				}
				checkKeys(t, "compare "+scale, got, want)
				sameJSON(t, "protocols", got["protocols"], r["protocols"], nil)
				checkNum(t, "n_donors", got["n_donors"], r["n_donors"], 0)
				checkNum(t, "n_complete_donors", got["n_complete_donors"], r["n_complete_donors"], 0)
				if _, ok := got["notes"].([]any); !ok {
					t.Errorf("notes: got %v, want an array", got["notes"])
				}
				checkSummary(t, got["summary"], r["summary"])
				if k == 2 {
					checkTest(t, "wilcoxon", got["wilcoxon"], r["wilcoxon"], []string{"statistic", "p_value", "n", "exact"}, "note")
				}
				f := obj(t, "friedman", got["friedman"])
				rf := obj(t, "R friedman", r["friedman"])
				checkKeys(t, "friedman", f, []string{"statistic", "df", "p_value", "n_donors"}, "note")
				checkNum(t, "friedman statistic", f["statistic"], rf["statistic"], tolEstimate)
				checkNum(t, "friedman df", f["df"], rf["df"], 0)
				checkNum(t, "friedman p", f["p_value"], rf["p_value"], tolP)
				if k >= 3 {
					pw := arr(t, "pairwise", got["pairwise"])
					rpw := arr(t, "R pairwise", r["pairwise"])
					if len(pw) != k*(k-1)/2 || len(pw) != len(rpw) {
						t.Fatalf("pairwise: got %d pairs, want %d", len(pw), k*(k-1)/2)
					}
					for i := range rpw {
						what := fmt.Sprintf("pairwise[%d]", i)
						checkTest(t, what, pw[i], rpw[i], []string{"protocol_a", "protocol_b", "statistic", "p_value", "p_holm", "n", "exact"}, "note")
						p, rp := obj(t, what, pw[i]), obj(t, "R "+what, rpw[i])
						if p["protocol_a"] != rp["protocol_a"] || p["protocol_b"] != rp["protocol_b"] {
							t.Errorf("%s: got %v vs %v, want %v vs %v", what, p["protocol_a"], p["protocol_b"], rp["protocol_a"], rp["protocol_b"])
						}
						checkNum(t, what+" p_holm", p["p_holm"], rp["p_holm"], tolP)
					}
				}
				rm := obj(t, "R mixed", obj(t, "R mixed", r["mixed"])[rScale])
				checkMixed(t, "mixed_model "+rScale, got["mixed_model"], rm, response, protocols[0])
			}
		})
	}
}

// checkSummary compares the per-protocol summaries.
func checkSummary(tb testing.TB, got, want any) {
	tb.Helper()
	g, w := arr(tb, "summary", got), arr(tb, "R summary", want)
	if len(g) != len(w) {
		tb.Fatalf("summary: got %d protocols, want %d", len(g), len(w))
	}
	for i := range w {
		s, rs := obj(tb, "summary", g[i]), obj(tb, "R summary", w[i])
		checkKeys(tb, "summary", s, []string{"protocol", "n", "median", "q1", "q3"})
		if s["protocol"] != rs["protocol"] {
			tb.Errorf("summary %d: got protocol %v, want %v", i, s["protocol"], rs["protocol"])
		}
		for _, f := range []string{"n", "median", "q1", "q3"} {
			checkNum(tb, fmt.Sprintf("summary %v %s", rs["protocol"], f), s[f], rs[f], tolEstimate)
		}
	}
}

// checkTest compares a signed-rank test with R's wilcox.test.
func checkTest(tb testing.TB, what string, got, want any, keys []string, optional ...string) {
	tb.Helper()
	g, w := obj(tb, what, got), obj(tb, "R "+what, want)
	checkKeys(tb, what, g, keys, optional...)
	checkNum(tb, what+" statistic", g["statistic"], w["statistic"], tolEstimate)
	checkNum(tb, what+" n", g["n"], w["n"], 0)
	checkNum(tb, what+" p_value", g["p_value"], w["p_value"], tolP)
	if g["exact"] != w["exact"] {
		tb.Errorf("%s exact: got %v, want %v", what, g["exact"], w["exact"])
	}
}

// checkMixed compares the mixed model with lme4's (compare.R); R's "error" means lmer cannot
// fit the data, and the output must then have a null model.
func checkMixed(tb testing.TB, what string, got any, want map[string]any, response string, reference any) {
	tb.Helper()
	if e, ok := want["error"]; ok && e != nil && e != "" {
		if got != nil {
			tb.Errorf("%s: got %v, want null (R: %v)", what, got, e)
		}
		return
	}
	m := obj(tb, what, got)
	checkKeys(tb, what, m, []string{"response", "reference", "fixed_effects", "donor_variance", "residual_variance", "icc", "singular", "n_obs", "n_donors", "reml_criterion"})
	if m["response"] != response || m["reference"] != reference {
		tb.Errorf("%s: got response %v, reference %v; want %v, %v", what, m["response"], m["reference"], response, reference)
	}
	fx, rfx := arr(tb, what+" fixed_effects", m["fixed_effects"]), arr(tb, "R fixed_effects", want["fixed_effects"])
	if len(fx) != len(rfx) {
		tb.Fatalf("%s: got %d fixed effects, want %d", what, len(fx), len(rfx))
	}
	for i := range rfx {
		f, rf := obj(tb, "fixed effect", fx[i]), obj(tb, "R fixed effect", rfx[i])
		checkKeys(tb, what+" fixed effect", f, []string{"term", "estimate", "std_error"})
		if f["term"] != rf["term"] {
			tb.Errorf("%s term %d: got %v, want lme4's %v", what, i, f["term"], rf["term"])
		}
		checkNum(tb, fmt.Sprintf("%s %v estimate", what, rf["term"]), f["estimate"], rf["estimate"], tolEstimate)
		checkNum(tb, fmt.Sprintf("%s %v std_error", what, rf["term"]), f["std_error"], rf["std_error"], tolEstimate)
	}
	if m["singular"] != want["singular"] {
		tb.Errorf("%s singular: got %v, want %v", what, m["singular"], want["singular"])
	}
	if want["singular"] == true {
		// lme4 reports a boundary fit's donor variance as a tiny number; the exact optimum is 0.
		checkNum(tb, what+" donor_variance", m["donor_variance"], 0.0, 0)
		checkNum(tb, what+" icc", m["icc"], 0.0, 0)
	} else {
		checkNum(tb, what+" donor_variance", m["donor_variance"], want["donor_variance"], tolEstimate)
		checkNum(tb, what+" icc", m["icc"], want["icc"], tolEstimate)
	}
	checkNum(tb, what+" residual_variance", m["residual_variance"], want["residual_variance"], tolEstimate)
	checkNum(tb, what+" reml_criterion", m["reml_criterion"], want["reml_criterion"], tolEstimate)
	checkNum(tb, what+" n_obs", m["n_obs"], want["n_obs"], 0)
	checkNum(tb, what+" n_donors", m["n_donors"], want["n_donors"], 0)
}

// nonEmptyLines returns the lines of s that are not blank.
func nonEmptyLines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) != "" {
			out = append(out, sc.Text())
		}
	}
	return out
}

// rowsStarting returns the lines of s whose first field (up to two spaces) is one of names,
// in order.
func rowsStarting(s string, names ...string) []string {
	var out []string
	for _, l := range nonEmptyLines(s) {
		first, _, _ := strings.Cut(l, "  ")
		if slices.Contains(names, strings.TrimSpace(first)) {
			out = append(out, l)
		}
	}
	return out
}

// parseCSV reads CSV output, or fails.
func parseCSV(tb testing.TB, s string) [][]string {
	tb.Helper()
	rows, err := csv.NewReader(strings.NewReader(s)).ReadAll()
	if err != nil || len(rows) == 0 {
		tb.Fatalf("output is not CSV (%v):\n%s", err, s)
	}
	return rows
}

// TestAnalyzeCompareFileFormats checks the table and CSV output of a file comparison: a row
// per protocol, the test of two protocols or the pairwise tests of three, and the mixed model.
func TestAnalyzeCompareFileFormats(t *testing.T) {
	two := filepath.Join(statsData, "doc_wilcoxon.csv")
	three := filepath.Join(statsData, "doc_friedman.csv")

	out, _, err := analyze(t, "compare", "--csv", two)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Protocols: A, B (reference: A); 8 donors, 8 with every protocol",
		// domain.md §7.2 worked example 1: V = 35, exact p = 0.015625 (R wilcox.test).
		"Wilcoxon signed-rank, A minus B: V = 35, p = 0.01562 (exact, 8 non-zero pairs)",
		"Friedman: Q = 4.5, df 1, p = 0.03389 (8 complete donors)",
		"Mixed model log10(value) ~ protocol + (1 | donor), REML (16 observations, 8 donors):",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table output lacks %q:\n%s", want, out)
		}
	}
	if rows := rowsStarting(out, "A", "B"); len(rows) != 2 || !strings.HasPrefix(rows[0], "A ") || !strings.Contains(rows[0], "2.815") {
		t.Errorf("summary rows: got %q, want one per protocol, A with median 2.815", rows)
	}
	if rows := rowsStarting(out, "(Intercept)", "protocolB"); len(rows) != 2 {
		t.Errorf("fixed effects rows: got %q, want (Intercept) and protocolB", rows)
	}
	if strings.Contains(out, "Pairwise") {
		t.Errorf("two protocols: the table has pairwise tests:\n%s", out)
	}

	out, _, err = analyze(t, "compare", "--csv", three, "--scale", "linear")
	if err != nil {
		t.Fatal(err)
	}
	if rows := rowsStarting(out, "P1", "P2", "P3"); len(rows) != 3+3 { // summary rows and pairwise rows
		t.Errorf("got %d rows starting with a protocol, want 3 summary and 3 pairwise rows:\n%s", len(rows), out)
	}
	for _, want := range []string{"Pairwise Wilcoxon signed-rank tests, Holm-adjusted:", "Mixed model value ~ protocol"} {
		if !strings.Contains(out, want) {
			t.Errorf("table output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Wilcoxon signed-rank, ") {
		t.Errorf("three protocols: the table has a single Wilcoxon test:\n%s", out)
	}

	header := "section,protocol_a,protocol_b,term,n,median,q1,q3,statistic,df,p_value,p_holm,estimate,std_error"
	for _, tc := range []struct {
		file     string
		sections map[string]int
	}{
		{two, map[string]int{"summary": 2, "wilcoxon": 1, "friedman": 1, "mixed_model": 2 + 3}},
		{three, map[string]int{"summary": 3, "friedman": 1, "pairwise": 3, "mixed_model": 3 + 3}},
	} {
		out, _, err := analyze(t, "compare", "--csv", tc.file, "--format", "csv")
		if err != nil {
			t.Fatal(err)
		}
		rows := parseCSV(t, out)
		if got := strings.Join(rows[0], ","); got != header {
			t.Errorf("%s: header %q, want %q", tc.file, got, header)
		}
		n := map[string]int{}
		for _, r := range rows[1:] {
			n[r[0]]++
		}
		if fmt.Sprint(n) != fmt.Sprint(tc.sections) {
			t.Errorf("%s: rows per section %v, want %v", tc.file, n, tc.sections)
		}
		if tc.file == two {
			w := rows[3]
			if w[0] != "wilcoxon" || w[1] != "A" || w[2] != "B" || w[8] != "35" || w[10] != "0.015625" {
				t.Errorf("wilcoxon row %q, want A, B, V 35, p 0.015625", w)
			}
		}
	}
}

// The plates of cytotox/testdata (fits.R) and testdata/analyze (plate_clean.R).
var plates = []struct{ dir, name string }{
	{cytotoxData, "plate_contract"},
	{cytotoxData, "plate_spont25"},
	{cytotoxData, "plate_spont35"},
	{cytotoxData, "plate_s_above_m"},
	{analyzeData, "plate_clean"},
}

// plateTolerance is 1e-4 for the fit and the lytic units, 1e-6 for the rest.
func plateTolerance(path string) float64 {
	if strings.Contains(path, ".fit.") || strings.Contains(path, ".lu") {
		return tolP
	}
	return tolEstimate
}

// TestAnalyzeCytotoxFile runs `clink analyze cytotox --csv FILE --format json` on plates R
// analysed and checks the output has exactly R's keys and values, which are those of the
// contract: samples with sample, spontaneous_release_pct, points (et_ratio, mean_lysis_pct,
// sd_lysis_pct, n), fit (a, k, a_se, k_se ...), lu20_per_1e7, lu30_per_1e7 and qc, a list.
func TestAnalyzeCytotoxFile(t *testing.T) {
	for _, p := range plates {
		t.Run(p.name, func(t *testing.T) {
			want := readJSONFile(t, filepath.Join(p.dir, p.name+".json"))
			file := filepath.Join(p.dir, p.name+".csv")
			got := analyzeJSON(t, "cytotox", "--csv", file)
			sameJSON(t, "", got, want, plateTolerance)
			if again := analyzeJSON(t, "cytotox", "--csv", file, "--targets", "5000"); !jsonEqual(again, got) {
				t.Errorf("--targets 5000 differs from the default")
			}
			// LU_X per 10⁷ = 10⁷ k / (−T ln(1 − X/a)) (domain.md §6.5): twice the targets,
			// half the lytic units.
			double := obj(t, "output", analyzeJSON(t, "cytotox", "--csv", file, "--targets", "10000"))
			for i, s := range arr(t, "samples", obj(t, "output", got)["samples"]) {
				s := obj(t, "sample", s)
				d := obj(t, "sample", arr(t, "samples", double["samples"])[i])
				checkKeys(t, "sample", s, []string{"sample", "spontaneous_release_pct", "points", "fit", "lu20_per_1e7", "lu30_per_1e7", "qc"})
				qc := arr(t, "qc", s["qc"])
				spont := s["spontaneous_release_pct"].(float64)
				hasQC := func(f string) bool { return slices.Contains(qc, any(f)) }
				// Above 20 % a warning, above 30 % both flags; a plate whose maximum is not
				// above its spontaneous release is invalid and flagged for that alone (fits.R).
				valid := !hasQC("maximum_not_above_spontaneous")
				if hasQC("spontaneous_release_warning") != (valid && spont > 20) || hasQC("spontaneous_release_high") != (valid && spont > 30) {
					t.Errorf("%v: spontaneous release %g %%, qc %v", s["sample"], spont, qc)
				}
				if f, ok := s["fit"].(map[string]any); ok {
					for _, k := range []string{"a", "k", "a_se", "k_se"} {
						if _, ok := f[k]; !ok {
							t.Errorf("%v fit lacks %s", s["sample"], k)
						}
					}
				}
				for _, lu := range []string{"lu20_per_1e7", "lu30_per_1e7"} {
					if v, ok := s[lu].(float64); ok {
						checkNum(t, fmt.Sprintf("%v %s at 10,000 targets", s["sample"], lu), d[lu], v/2, 1e-9)
					} else if d[lu] != nil {
						t.Errorf("%v %s: got %v at 10,000 targets, want null as at 5,000", s["sample"], lu, d[lu])
					}
				}
			}
		})
	}
	clean := obj(t, "output", analyzeJSON(t, "cytotox", "--csv", filepath.Join(analyzeData, "plate_clean.csv")))
	if qc := arr(t, "samples", clean["samples"])[0].(map[string]any)["qc"]; qc == nil || len(arr(t, "qc", qc)) != 0 {
		t.Errorf("clean plate: got qc %v, want []", qc)
	}
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// TestAnalyzeCytotoxFormats checks the table and CSV output of a plate.
func TestAnalyzeCytotoxFormats(t *testing.T) {
	file := filepath.Join(cytotoxData, "plate_contract.csv")
	out, _, err := analyze(t, "cytotox", "--csv", file)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Sample NK-A: spontaneous release 12.5 %",
		"Sample NK-B: spontaneous release 12.5 %",
		// fits.R: NK-A LU20 1032.7, LU30 642.66; NK-B LU20 332.47, LU30 not reached.
		"LU20 1033, LU30 642.7 per 10^7 effectors",
		"LU20 332.5, LU30 - per 10^7 effectors",
		"QC: replicate_cv_high:et=5, excluded_from_fit:et=5",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table output lacks %q:\n%s", want, out)
		}
	}
	if rows := rowsStarting(out, "1.25", "2.5", "5", "10", "20"); len(rows) != 10 {
		t.Errorf("got %d E:T rows, want 5 per sample:\n%s", len(rows), out)
	}

	out, _, err = analyze(t, "cytotox", "--csv", file, "--format", "csv")
	if err != nil {
		t.Fatal(err)
	}
	rows := parseCSV(t, out)
	header := "sample,spontaneous_release_pct,et_ratio,mean_lysis_pct,sd_lysis_pct,n,a,k,a_se,k_se,lu20_per_1e7,lu30_per_1e7,qc"
	if got := strings.Join(rows[0], ","); got != header {
		t.Errorf("header %q, want %q", got, header)
	}
	if len(rows) != 1+10 {
		t.Fatalf("got %d rows, want a header and 5 per sample", len(rows))
	}
	if r := rows[1]; r[0] != "NK-A" || r[2] != "1.25" || r[5] != "3" || r[12] != "replicate_cv_high:et=5 excluded_from_fit:et=5" {
		t.Errorf("first row %q", r)
	}
	lu30, err := strconv.ParseFloat(rows[1][11], 64)
	if err != nil || !closeTo(lu30, 642.660608069188, tolP, 1) { // fits.R, plate_contract.json
		t.Errorf("NK-A LU30 %q, want 642.66", rows[1][11])
	}
	if r := rows[6]; r[0] != "NK-B" || r[11] != "" {
		t.Errorf("NK-B row %q, want an empty LU30 (not reached)", r)
	}

	out, _, err = analyze(t, "cytotox", "--csv", filepath.Join(cytotoxData, "plate_s_above_m.csv"), "--format", "csv")
	if err != nil {
		t.Fatal(err)
	}
	if rows := parseCSV(t, out); len(rows) != 2 || rows[1][0] != "NK-E" || rows[1][2] != "" || rows[1][12] != "maximum_not_above_spontaneous" {
		t.Errorf("invalid plate: rows %q, want one row for NK-E without points", rows)
	}
}

// TestAnalyzeGrowthFile runs `clink analyze growth` on kinetics/testdata/growth.csv: the JSON
// equals the golden file of package kinetics, whose fits must match R (growthfits.R) and whose
// folds can be worked by hand.
func TestAnalyzeGrowthFile(t *testing.T) {
	file := filepath.Join(kineticsData, "growth.csv")
	got := analyzeJSON(t, "growth", "--csv", file)
	sameJSON(t, "", got, readJSONFile(t, filepath.Join(kineticsData, "growth.golden.json")),
		func(string) float64 { return tolEstimate })

	cultures := arr(t, "output", got)
	if len(cultures) != 3 {
		t.Fatalf("got %d cultures, want 3", len(cultures))
	}
	zgz := obj(t, "ZGZ-C0001", cultures[0])
	m := obj(t, "metrics", zgz["metrics"])
	// ZGZ-C0001 seeds 1e6 cells at 20 % NK; day 7 has 9.8e6 × 0.55 = 5.39e6 NK (fold 26.95) and
	// half is kept, so day 10's fold is 26.95 × (2.1e7 × 0.71)/(5.39e6 × 0.5) = 149.1.
	for _, p := range arr(t, "points", m["points"]) {
		p := obj(t, "point", p)
		switch p["day"] {
		case 7.0:
			checkNum(t, "fold_nk day 7", p["fold_nk"], 26.95, 1e-12)
		case 10.0:
			checkNum(t, "fold_nk day 10", p["fold_nk"], 26.95*(2.1e7*0.71)/(5.39e6*0.5), 1e-12)
		}
	}
	// growthfits.R, series growth_zgz: nls() on the virtual NK totals of ZGZ-C0001.
	fits := obj(t, "fits", m["fits"])
	for _, tc := range []struct {
		model  string
		params []string
		est    []float64
		se     []float64
	}{
		{"logistic", []string{"n0", "mu", "k"},
			[]float64{154540.23536882841, 0.50177922752791282, 289865836.84307265},
			[]float64{41117.134395934117, 0.038392102265782824, 87672764.914219916}},
		{"gompertz", []string{"n0", "a", "mu_m", "lambda"},
			[]float64{163744.35984392985, 7.7085623969526704, 0.63620392183054997, 1.5904923901384733},
			[]float64{45244.214742283577, 0.42974370913850912, 0.045718245283326624, 0.768265579279511}},
	} {
		ps := arr(t, tc.model, obj(t, tc.model, fits[tc.model])["params"])
		if len(ps) != len(tc.params) {
			t.Fatalf("%s: got %d parameters, want %d", tc.model, len(ps), len(tc.params))
		}
		for i, name := range tc.params {
			p := obj(t, "param", ps[i])
			if p["name"] != name {
				t.Errorf("%s parameter %d: got %v, want %s", tc.model, i, p["name"], name)
			}
			checkNum(t, tc.model+" "+name, p["estimate"], tc.est[i], tolP)
			checkNum(t, tc.model+" "+name+" SE", p["std_error"], tc.se[i], tolP)
		}
	}

	out, _, err := analyze(t, "growth", "--csv", file)
	if err != nil {
		t.Fatal(err)
	}
	lines := nonEmptyLines(out)
	if !strings.HasPrefix(lines[0], "culture    last day  NK fold  NK PD  doubling time (d)") {
		t.Errorf("table header %q", lines[0])
	}
	rows := rowsStarting(out, "ZGZ-C0001", "BCN-C0002", "MPL-C0003")
	if len(rows) != 3 || !strings.HasPrefix(rows[0], "ZGZ-C0001  21        1476") || !strings.HasPrefix(rows[2], "MPL-C0003") {
		t.Errorf("table rows %q, want one per culture in file order, ZGZ-C0001 at day 21 with fold 1476", rows)
	}
	if !strings.Contains(out, "Note: BCN-C0002: starting NK fraction not measured") {
		t.Errorf("table lacks the notes of BCN-C0002:\n%s", out)
	}

	out, _, err = analyze(t, "growth", "--csv", file, "--format", "csv")
	if err != nil {
		t.Fatal(err)
	}
	csvRows := parseCSV(t, out)
	if got, want := strings.Join(csvRows[0], ","), "culture,day,viable_cells,nk_cells,fold_total,fold_nk,pd_total,pd_nk,nk_yield"; got != want {
		t.Errorf("header %q, want %q", got, want)
	}
	if len(csvRows) != 1+17 { // one per row of growth.csv
		t.Errorf("got %d rows, want a header and 17 points", len(csvRows))
	}
	if r := csvRows[4]; r[0] != "ZGZ-C0001" || r[1] != "10" || r[5] != "149.1" {
		t.Errorf("ZGZ-C0001 day 10: %q, want fold_nk 149.1", r)
	}
}

// TestAnalyzeErrors checks that bad input and bad command lines fail with the exit status
// and the precise message they should, and print nothing on standard output.
func TestAnalyzeErrors(t *testing.T) {
	file := func(name string) string { return filepath.Join(analyzeData, name) }
	good := filepath.Join(statsData, "doc_wilcoxon.csv")
	tests := []struct {
		name     string
		args     []string
		exit     int
		problems []string // the lines on stderr; nil: not checked
		err      string   // in the error
	}{
		{"a text value", []string{"compare", "--csv", file("values.csv")}, 1,
			[]string{`values.csv:3: value: "abc" is not a number`}, file("values.csv") + ": 1 problem(s); nothing was analysed"},
		{"a missing column", []string{"compare", "--csv", file("values_missing_column.csv"), "--format", "json"}, 1,
			[]string{"values_missing_column.csv:1: protocol: required column is missing (columns: donor,protocol,value)"}, "1 problem(s)"},
		{"values without log10", []string{"compare", "--csv", file("values_log10.csv"), "--format", "json"}, 1,
			[]string{
				`values_log10.csv:3: value: 0 is not positive, so its log10 is undefined (donor "D1", protocol "B")`,
				`values_log10.csv:4: value: -1 is not positive, so its log10 is undefined (donor "D2", protocol "A")`,
			}, "2 problem(s)"},
		{"NK above 100 %", []string{"growth", "--csv", file("growth_nk134.csv")}, 1,
			[]string{"growth_nk134.csv:3: nk_pct: 134 is outside 0-100"}, "1 problem(s)"},
		{"a culture without day 0", []string{"growth", "--csv", file("growth_no_day0.csv"), "--format", "csv"}, 1,
			[]string{"growth_no_day0.csv:3: culture: culture BCN-C0002 has no day-0 row to seed it (its first row is here)"}, "1 problem(s)"},
		{"unknown well type", []string{"cytotox", "--csv", file("plate_bad_well.csv"), "--format", "json"}, 1,
			[]string{`plate_bad_well.csv:3: well_type: "maximal" is not spontaneous, maximum or test`, "plate_bad_well.csv:5: et_ratio: 0 is not above 0"}, "2 problem(s)"},
		{"no maximum wells", []string{"cytotox", "--csv", file("plate_no_maximum.csv")}, 1,
			[]string{`plate_no_maximum.csv:2: sample: "NK-A" has no maximum wells, neither its own nor shared (sample "*")`}, "1 problem(s)"},
		{"a nonexistent file", []string{"growth", "--csv", file("nope.csv")}, 1, []string{}, "nope.csv: no such file or directory"},
		{"cytotox without --csv", []string{"cytotox", "--format", "json"}, 2, []string{}, "analyze cytotox: --csv FILE is required"},
		{"growth without --csv", []string{"growth"}, 2, []string{}, "analyze growth: --csv FILE is required"},
		{"compare with nothing to compare", []string{"compare"}, 2, []string{}, "analyze compare: give --csv FILE, or name the protocols"},
		{"--format xml", []string{"compare", "--csv", good, "--format", "xml"}, 2, []string{}, `--format: "xml" is not table, json or csv`},
		{"--format xml on a plate", []string{"cytotox", "--csv", file("plate_clean.csv"), "--format", "xml"}, 2, []string{}, `--format: "xml" is not table, json or csv`},
		{"--scale on the database", []string{"compare", "--protocol", "A", "--protocol", "B", "--scale", "linear"}, 2, []string{},
			"analyze compare: --scale works with --csv; on the database the metric decides the scale"},
		{"unknown scale", []string{"compare", "--csv", good, "--scale", "ln"}, 2, []string{}, `--scale: "ln" is not log10 or linear`},
		{"--protocol with --csv", []string{"compare", "--csv", good, "--protocol", "A"}, 2, []string{}, "--protocol works on the database and cannot be used with --csv"},
		{"--day with --csv", []string{"compare", "--csv", good, "--day", "7"}, 2, []string{}, "--day works on the database"},
		{"no targets", []string{"cytotox", "--csv", file("plate_clean.csv"), "--targets", "0"}, 2, []string{}, "--targets: 0 is not a number of target cells above 0"},
		{"infinite targets", []string{"cytotox", "--csv", file("plate_clean.csv"), "--targets", "Inf"}, 2, []string{}, "--targets: +Inf is not"},
		{"an argument too many", []string{"growth", "--csv", file("growth_nk134.csv"), "extra"}, 2, []string{}, `unexpected argument "extra"`},
		{"no subcommand", nil, 2, nil, "analyze (compare|ranking|cytotox|growth): give a subcommand"},
		{"unknown subcommand", []string{"plot"}, 2, nil, `unknown subcommand "plot"`},
		{"ranking: dose 0", []string{"ranking", "--dose-per-kg", "0"}, 2, []string{}, "--dose-per-kg: 0 is not a number above 0"},
		{"ranking: negative weight", []string{"ranking", "--weight-kg", "-70"}, 2, []string{}, "--weight-kg: -70 is not a number above 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, err := analyze(t, tc.args...)
			if err == nil {
				t.Fatalf("got success, want exit status %d\n%s", tc.exit, out)
			}
			if code := exitCode(err); code != tc.exit {
				t.Errorf("exit status: got %d (%v), want %d", code, err, tc.exit)
			}
			if !strings.Contains(err.Error(), tc.err) {
				t.Errorf("error: got %q, want it to contain %q", err, tc.err)
			}
			if out != "" {
				t.Errorf("stdout: got %q, want nothing", out)
			}
			if tc.problems != nil && tc.exit == 1 {
				if got := nonEmptyLines(errOut); !slices.Equal(got, tc.problems) {
					t.Errorf("stderr:\ngot  %q\nwant %q", got, tc.problems)
				}
			}
		})
	}
	// Refused command lines must not have created the default database in the working
	// directory.
	if _, err := os.Stat(filepath.Dir(DefaultDB)); err == nil {
		t.Errorf("a refused command created %s", filepath.Dir(DefaultDB))
	}
}

// TestAnalyzeLinearScale checks that values without a log10 are fine on the linear scale.
func TestAnalyzeLinearScale(t *testing.T) {
	got := obj(t, "output", analyzeJSON(t, "compare", "--csv", filepath.Join(analyzeData, "values_log10.csv"), "--scale", "linear"))
	sameJSON(t, "protocols", got["protocols"], []any{"A", "B"}, nil)
	// Values A: 2.93, -1 and B: 0, 2.62: medians (2.93 − 1)/2 = 0.965 and 1.31.
	s := arr(t, "summary", got["summary"])
	checkNum(t, "median A", obj(t, "A", s[0])["median"], 0.965, 1e-12)
	checkNum(t, "median B", obj(t, "B", s[1])["median"], 1.31, 1e-12)
}

// demoDB returns a database of the dialect filled with the demo consortium (seed 1, no users).
func demoDB(t *testing.T, dialect string) string {
	t.Helper()
	dsn := filepath.Join(t.TempDir(), "demo.db")
	if dialect == "postgres" {
		dsn = pgtest.DSN(t)
	}
	ctx := context.Background()
	st, err := sqldb.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Populate(ctx, st, demo.Options{Seed: 1}); err != nil {
		t.Fatal(err)
	}
	return dsn
}

// protocolNames returns the distinct protocol names of a database, and for each name its
// versions.
func protocolNames(t *testing.T, dsn string) map[string][]int {
	t.Helper()
	ctx := context.Background()
	st, err := sqldb.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ps, _, err := st.FindProtocols(ctx, clink.ProtocolFilter{Page: clink.Page{Limit: clink.MaxLimit}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]int{}
	for _, p := range ps {
		out[p.Name] = append(out[p.Name], p.Version)
	}
	return out
}

// TestAnalyzeDatabase runs the database modes of `clink analyze` on the demo consortium, on
// SQLite and, when available, PostgreSQL: one populated database per dialect serves every
// subtest.
func TestAnalyzeDatabase(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			db := demoDB(t, dialect)
			names := protocolNames(t, db)
			if len(names) < 8 {
				t.Fatalf("the demo has %d protocols, want at least 8", len(names))
			}
			t.Run("ranking", func(t *testing.T) { testAnalyzeRanking(t, db, names) })
			t.Run("compare", func(t *testing.T) { testAnalyzeCompare(t, db, names) })
		})
	}
}

const (
	il2     = "IL-2 alone" // versions 1 and 2 in the demo
	il2il15 = "IL-2 + IL-15"
	lcl     = "EBV-LCL + IL-2 + IL-15"
)

func testAnalyzeRanking(t *testing.T, db string, names map[string][]int) {
	rk := obj(t, "ranking", analyzeJSON(t, "ranking", "--db", db))
	checkKeys(t, "ranking", rk, []string{"day", "assay_method", "n_cultures", "notes", "ranking"})
	if rk["day"] != nil || rk["assay_method"] != clink.MethodCr51 || !(rk["n_cultures"].(float64) > 100) {
		t.Errorf("got day %v, method %v, %v cultures; want null, %s, above 100", rk["day"], rk["assay_method"], rk["n_cultures"], clink.MethodCr51)
	}
	r := obj(t, "ranking.ranking", rk["ranking"])
	front := arr(t, "pareto_front", r["pareto_front"])
	if len(front) == 0 {
		t.Fatal("the Pareto front is empty")
	}
	var frontNames []string
	for _, f := range front {
		frontNames = append(frontNames, f.(string))
	}
	scores := arr(t, "protocols", r["protocols"])
	listed := map[string]bool{}
	var onFront []string
	for i, s := range scores {
		s := obj(t, "protocol score", s)
		name := s["protocol"].(string)
		listed[name] = true
		if s["pareto_front"] == true {
			onFront = append(onFront, name)
			if i >= len(front) {
				t.Errorf("%s is on the front but ranks %d, after the %d front protocols", name, i+1, len(front))
			}
		}
		if s["n_eligible"].(float64) > s["n_assessable"].(float64) || s["n_assessable"].(float64) > s["n_cultures"].(float64) {
			t.Errorf("%s: n_eligible %v, n_assessable %v, n_cultures %v", name, s["n_eligible"], s["n_assessable"], s["n_cultures"])
		}
	}
	if !slices.Equal(onFront, frontNames) {
		t.Errorf("protocols marked on the front %q, want the pareto_front %q", onFront, frontNames)
	}
	for name := range names {
		if !listed[name] {
			t.Errorf("protocol %q is not ranked", name)
		}
	}

	// The table lists every protocol, one row each, and names the front.
	out, _, err := analyze(t, "ranking", "--db", db)
	if err != nil {
		t.Fatal(err)
	}
	for name := range names {
		n := 0
		for _, l := range nonEmptyLines(out) {
			fields := strings.Split(l, "  ")
			if len(fields) > 1 && strings.TrimSpace(fields[1]) == name && strings.TrimSpace(fields[0]) != "" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("table: %d rows for protocol %q, want 1:\n%s", n, name, out)
		}
	}
	if want := "Pareto front (NK fold against LU30): " + strings.Join(frontNames, "; "); !strings.Contains(out, want) {
		t.Errorf("table lacks %q:\n%s", want, out)
	}
	if !strings.HasPrefix(out, fmt.Sprintf("Ranking of %v cultures at harvest; killing from 51Cr release assays against K562", rk["n_cultures"])) {
		t.Errorf("table starts %q", nonEmptyLines(out)[0])
	}

	out, _, err = analyze(t, "ranking", "--db", db, "--format", "csv")
	if err != nil {
		t.Fatal(err)
	}
	rows := parseCSV(t, out)
	header := "rank,protocol,n_cultures,n_donors,nk_fold_median,nk_fold_low,nk_fold_high,lu30_median,lu30_low,lu30_high," +
		"purity_median_pct,viability_median_pct,n_assessable,n_eligible,eligible_share,doses_per_donor_median,pareto_front"
	if got := strings.Join(rows[0], ","); got != header {
		t.Errorf("csv header %q, want %q", got, header)
	}
	if len(rows) != 1+len(scores) {
		t.Errorf("csv: %d rows, want a header and %d protocols", len(rows), len(scores))
	}
	for i, r := range rows[1:] {
		if r[0] != strconv.Itoa(i+1) || r[16] != strconv.FormatBool(slices.Contains(frontNames, r[1])) {
			t.Errorf("csv row %q: want rank %d and pareto_front %v", r, i+1, slices.Contains(frontNames, r[1]))
		}
	}

	day := obj(t, "ranking", analyzeJSON(t, "ranking", "--db", db, "--day", "14"))
	if day["day"] != 14.0 || len(arr(t, "protocols", obj(t, "ranking", day["ranking"])["protocols"])) == 0 {
		t.Errorf("--day 14: got day %v and no protocols", day["day"])
	}
}

func testAnalyzeCompare(t *testing.T, db string, names map[string][]int) {
	for _, n := range []string{il2, il2il15, lcl} {
		if len(names[n]) == 0 {
			t.Fatalf("the demo has no protocol %q", n)
		}
	}
	cmpKeys := []string{"metric", "day", "scale", "protocols", "n_cultures", "values", "result", "notes"}

	got := obj(t, "compare", analyzeJSON(t, "compare", "--db", db, "--protocol", il2, "--protocol", il2il15))
	checkKeys(t, "compare", got, cmpKeys)
	if got["metric"] != "nk_fold" || got["day"] != nil || got["scale"] != "log10" {
		t.Errorf("got metric %v, day %v, scale %v; want nk_fold, null, log10", got["metric"], got["day"], got["scale"])
	}
	ps := arr(t, "protocols", got["protocols"])
	p0 := obj(t, "protocol", ps[0])
	sameJSON(t, "protocols[0].versions", p0["versions"], []any{1.0, 2.0}, nil)
	if p0["label"] != il2 || obj(t, "protocol", ps[1])["label"] != il2il15 {
		t.Errorf("protocols %v, want %s then %s", ps, il2, il2il15)
	}
	res := obj(t, "result", got["result"])
	w := obj(t, "wilcoxon", res["wilcoxon"])
	for _, k := range []string{"statistic", "p_value"} {
		if _, ok := w[k]; !ok {
			t.Errorf("wilcoxon lacks %s: %v", k, w)
		}
	}
	if _, ok := res["pairwise"]; ok {
		t.Errorf("two protocols: got pairwise tests")
	}
	sameJSON(t, "result.protocols", res["protocols"], []any{il2, il2il15}, nil)
	// The scoreboard's median NK fold of a protocol (rank: R's median) is the comparison's
	// (stats: quantile type 7 at 0.5): two paths to one number.
	rk := obj(t, "ranking", obj(t, "ranking", analyzeJSON(t, "ranking", "--db", db))["ranking"])
	for _, s := range arr(t, "protocols", rk["protocols"]) {
		s := obj(t, "score", s)
		if s["protocol"] != il2 {
			continue
		}
		sum := obj(t, "summary", arr(t, "summary", res["summary"])[0])
		checkNum(t, "median NK fold of "+il2, sum["median"], obj(t, "nk_fold_median", s["nk_fold_median"])["estimate"], 1e-12)
		checkNum(t, "cultures of "+il2, sum["n"], s["n_nk_fold"], 0)
	}

	day7 := obj(t, "compare", analyzeJSON(t, "compare", "--db", db, "--protocol", il2, "--protocol", il2il15, "--day", "7"))
	if day7["day"] != 7.0 || obj(t, "result", day7["result"])["wilcoxon"] == nil {
		t.Errorf("--day 7: got day %v, want 7 and a Wilcoxon test", day7["day"])
	}
	if jsonEqual(obj(t, "result", day7["result"])["summary"], res["summary"]) {
		t.Errorf("--day 7 gives the same summary as at harvest")
	}

	three := obj(t, "result", obj(t, "compare", analyzeJSON(t, "compare", "--db", db, "--protocol", il2, "--protocol", il2il15, "--protocol", lcl))["result"])
	if _, ok := three["wilcoxon"]; ok || len(arr(t, "pairwise", three["pairwise"])) != 3 {
		t.Errorf("three protocols: got wilcoxon %v and pairwise %v, want 3 pairwise tests only", three["wilcoxon"], three["pairwise"])
	}

	v2 := obj(t, "compare", analyzeJSON(t, "compare", "--db", db, "--protocol", il2+"@2", "--protocol", il2il15))
	p := obj(t, "protocol", arr(t, "protocols", v2["protocols"])[0])
	if p["label"] != il2+"@2" || p["name"] != il2 {
		t.Errorf("NAME@VERSION: got %v", p)
	}
	sameJSON(t, "versions", p["versions"], []any{2.0}, nil)

	lu := obj(t, "compare", analyzeJSON(t, "compare", "--db", db, "--protocol", il2, "--protocol", lcl, "--metric", "lu30"))
	checkKeys(t, "compare lu30", lu, append(cmpKeys, "assay_method"))
	if lu["metric"] != "lu30" || lu["assay_method"] != clink.MethodCr51 {
		t.Errorf("lu30: got metric %v, method %v", lu["metric"], lu["assay_method"])
	}

	out, _, err := analyze(t, "compare", "--db", db, "--protocol", il2, "--protocol", il2il15)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("Metric nk_fold at harvest, %v cultures", got["n_cultures"]); !strings.HasPrefix(out, want) {
		t.Errorf("table starts %q, want %q", nonEmptyLines(out)[0], want)
	}
	if !strings.Contains(out, "  IL-2 alone: versions [1 2], ") || !strings.Contains(out, "Wilcoxon signed-rank, IL-2 alone minus IL-2 + IL-15: V = ") {
		t.Errorf("table lacks the protocols or the test:\n%s", out)
	}
	if rows := rowsStarting(out, il2, il2il15); len(rows) != 2 {
		t.Errorf("table: %d summary rows, want one per protocol:\n%s", len(rows), out)
	}
	out, _, err = analyze(t, "compare", "--db", db, "--protocol", il2, "--protocol", il2il15, "--format", "csv")
	if err != nil {
		t.Fatal(err)
	}
	if rows := parseCSV(t, out); rows[0][0] != "section" || rows[1][0] != "summary" || rows[1][1] != il2 || rows[3][0] != "wilcoxon" {
		t.Errorf("csv rows %q", rows)
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown protocol", []string{"--protocol", il2, "--protocol", "nope"}, `protocol: "nope" is not the name of a protocol`},
		{"one protocol", []string{"--protocol", il2}, "protocol: name at least two protocols to compare (got 1)"},
		{"a protocol twice", []string{"--protocol", il2, "--protocol", il2 + "@1"}, "is named twice"},
		{"unknown version", []string{"--protocol", il2 + "@9", "--protocol", il2il15}, `no version 9 of protocol "IL-2 alone"`},
		{"unknown metric", []string{"--protocol", il2, "--protocol", il2il15, "--metric", "fold"}, `metric: "fold" is not one of`},
		{"negative day", []string{"--protocol", il2, "--protocol", il2il15, "--day", "-3"}, "day: -3 is negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := analyze(t, append([]string{"compare", "--db", db, "--format", "json"}, tc.args...)...)
			if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v (exit %d), want exit 1 with %q", err, exitCode(err), tc.want)
			}
			if out != "" {
				t.Errorf("stdout: got %q, want nothing", out)
			}
		})
	}
}
