package stats

import (
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The fixtures in testdata/compare come from testdata/compare.R (R 4.2.2, lme4 1.1.31): each
// <name>.csv is an input, <name>.json what R computes from it.

// Tolerances against R, from the issue: estimates and statistics 1e-6 relative, p-values 1e-4.
const (
	tolEstimate = 1e-6
	tolP        = 1e-4
)

// compareDatasets are the datasets of compare.R.
var compareDatasets = []string{
	"doc_wilcoxon", "doc_friedman", "ties_zeros", "missing_protocol", "two_donors", "all_equal",
	"replicates", "five_protocols", "large_n", "tiny_p", "singular",
}

type rTest struct {
	ProtocolA string   `json:"protocol_a"`
	ProtocolB string   `json:"protocol_b"`
	Statistic float64  `json:"statistic"`
	PValue    *float64 `json:"p_value"`
	PHolm     *float64 `json:"p_holm"`
	N         int      `json:"n"`
	Exact     bool     `json:"exact"`
	Warnings  []string `json:"warnings"`
	Error     string   `json:"error"`
}

type rFriedman struct {
	Statistic *float64 `json:"statistic"`
	DF        int      `json:"df"`
	PValue    *float64 `json:"p_value"`
	NDonors   int      `json:"n_donors"`
	Error     string   `json:"error"`
}

type rMixed struct {
	Error            string        `json:"error"`
	Theta            float64       `json:"theta"`
	FixedEffects     []FixedEffect `json:"fixed_effects"`
	DonorVariance    float64       `json:"donor_variance"`
	ResidualVariance float64       `json:"residual_variance"`
	ICC              float64       `json:"icc"`
	Singular         bool          `json:"singular"`
	NObs             int           `json:"n_obs"`
	NDonors          int           `json:"n_donors"`
	REMLCriterion    float64       `json:"reml_criterion"`
}

type rExpected struct {
	Protocols       []string           `json:"protocols"`
	NDonors         int                `json:"n_donors"`
	NCompleteDonors int                `json:"n_complete_donors"`
	Summary         []Summary          `json:"summary"`
	Wilcoxon        *rTest             `json:"wilcoxon"`
	Friedman        rFriedman          `json:"friedman"`
	Pairwise        []rTest            `json:"pairwise"`
	Mixed           map[string]*rMixed `json:"mixed"`
}

// readRows reads testdata/compare/<name>.csv.
func readRows(tb testing.TB, name string) []Row {
	tb.Helper()
	f, err := os.Open(filepath.Join("testdata", "compare", name+".csv"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	if len(recs) == 0 || strings.Join(recs[0], ",") != "donor,protocol,value" {
		tb.Fatalf("%s.csv: header is %v, want donor,protocol,value", name, recs[0])
	}
	rows := make([]Row, 0, len(recs)-1)
	for _, r := range recs[1:] {
		v, err := strconv.ParseFloat(r[2], 64)
		if err != nil {
			tb.Fatalf("%s.csv: %v", name, err)
		}
		rows = append(rows, Row{Donor: r[0], Protocol: r[1], Value: v})
	}
	return rows
}

// readJSON decodes testdata/compare/<name>.json into v.
func readJSON(tb testing.TB, name string, v any) {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "compare", name+".json"))
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		tb.Fatalf("%s.json: %v", name, err)
	}
}

// near reports whether got is within rel (relative) of want; values below floor in magnitude
// are compared absolutely against floor·rel.
func near(got, want, rel, floor float64) bool {
	return math.Abs(got-want) <= rel*math.Max(math.Abs(want), floor)
}

// checkClose fails the test when got is not within rel of want.
func checkClose(tb testing.TB, what string, got, want, rel float64) {
	tb.Helper()
	if !near(got, want, rel, 1e-300) {
		tb.Errorf("%s: got %.15g, want %.15g (rel. error %.2g, tolerance %g)", what, got, want, math.Abs(got-want)/math.Abs(want), rel)
	}
}

// checkP compares p-values, either of which may be missing.
func checkP(tb testing.TB, what string, got, want *float64) {
	tb.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil || want == nil:
		tb.Errorf("%s: got %v, want %v", what, fmtPtr(got), fmtPtr(want))
	default:
		checkClose(tb, what, *got, *want, tolP)
	}
}

func fmtPtr(p *float64) string {
	if p == nil {
		return "nil"
	}
	return strconv.FormatFloat(*p, 'g', -1, 64)
}

// checkTest compares a signed-rank test with R's wilcox.test.
func checkTest(tb testing.TB, what string, got Wilcoxon, want *rTest) {
	tb.Helper()
	if got.Statistic != want.Statistic {
		tb.Errorf("%s V: got %v, want %v", what, got.Statistic, want.Statistic)
	}
	if got.N != want.N {
		tb.Errorf("%s n: got %d, want %d", what, got.N, want.N)
	}
	if got.Exact != want.Exact {
		tb.Errorf("%s exact: got %v, want %v", what, got.Exact, want.Exact)
	}
	checkP(tb, what+" p", got.PValue, want.PValue)
	for _, w := range want.Warnings {
		if !strings.Contains(got.Note, w) {
			tb.Errorf("%s note: got %q, want R's warning %q in it", what, got.Note, w)
		}
	}
	if (want.PValue == nil || want.Error != "") && got.Note == "" {
		tb.Errorf("%s: no p-value, but the note is empty", what)
	}
	if len(want.Warnings) == 0 && want.PValue != nil && got.Note != "" {
		tb.Errorf("%s note: got %q, want none (R does not warn)", what, got.Note)
	}
}

// checkMixed compares a mixed model with lme4's.
func checkMixed(tb testing.TB, what string, got *MixedModel, want *rMixed, protocols []string, notes []string) {
	tb.Helper()
	if want.Error != "" {
		if got != nil {
			tb.Errorf("%s: got a model, want none (R: %s)", what, want.Error)
		}
		if !hasNote(notes, "mixed model not fitted") {
			tb.Errorf("%s: notes %q do not say the mixed model was not fitted", what, notes)
		}
		return
	}
	if got == nil {
		tb.Fatalf("%s: got no model, want lme4's (notes %q)", what, notes)
	}
	if len(got.FixedEffects) != len(want.FixedEffects) {
		tb.Fatalf("%s: got %d fixed effects, want %d", what, len(got.FixedEffects), len(want.FixedEffects))
	}
	for i, w := range want.FixedEffects {
		g := got.FixedEffects[i]
		if g.Term != w.Term {
			tb.Errorf("%s term %d: got %q, want %q", what, i, g.Term, w.Term)
		}
		checkClose(tb, what+" "+w.Term+" estimate", g.Estimate, w.Estimate, tolEstimate)
		checkClose(tb, what+" "+w.Term+" SE", g.StdError, w.StdError, tolEstimate)
	}
	if want.Singular {
		if got.DonorVariance != 0 {
			tb.Errorf("%s donor variance: got %g, want 0 (singular)", what, got.DonorVariance)
		}
	} else {
		checkClose(tb, what+" donor variance", got.DonorVariance, want.DonorVariance, tolEstimate)
	}
	checkClose(tb, what+" residual variance", got.ResidualVariance, want.ResidualVariance, tolEstimate)
	if want.Singular {
		if got.ICC != 0 {
			tb.Errorf("%s ICC: got %g, want 0", what, got.ICC)
		}
	} else {
		checkClose(tb, what+" ICC", got.ICC, want.ICC, tolEstimate)
	}
	checkClose(tb, what+" REML criterion", got.REMLCriterion, want.REMLCriterion, tolEstimate)
	if got.Singular != want.Singular {
		tb.Errorf("%s singular: got %v, want %v", what, got.Singular, want.Singular)
	}
	if got.Singular && !hasNote(notes, "boundary (singular) fit") {
		tb.Errorf("%s: notes %q do not mention the singular fit", what, notes)
	}
	if got.NObs != want.NObs || got.NDonors != want.NDonors {
		tb.Errorf("%s: got %d obs, %d donors, want %d, %d", what, got.NObs, got.NDonors, want.NObs, want.NDonors)
	}
	if got.Reference != protocols[0] {
		tb.Errorf("%s reference: got %q, want %q", what, got.Reference, protocols[0])
	}
}

func hasNote(notes []string, part string) bool {
	return slices.ContainsFunc(notes, func(n string) bool { return strings.Contains(n, part) })
}

func TestCompareAgainstR(t *testing.T) {
	for _, name := range compareDatasets {
		t.Run(name, func(t *testing.T) {
			rows := readRows(t, name)
			var want rExpected
			readJSON(t, name, &want)
			for _, scale := range []string{ScaleLog10, ScaleLinear} {
				c, err := Compare(rows, CompareOptions{Scale: scale})
				if err != nil {
					t.Fatalf("Compare(%s): %v", scale, err)
				}
				if _, err := json.Marshal(c); err != nil {
					t.Fatalf("json.Marshal: %v", err)
				}
				checkMixed(t, scale, c.MixedModel, want.Mixed[scale], want.Protocols, c.Notes)
				if scale == ScaleLinear {
					continue // the rest does not depend on the scale
				}
				if !slices.Equal(c.Protocols, want.Protocols) {
					t.Errorf("protocols: got %q, want %q", c.Protocols, want.Protocols)
				}
				if c.NDonors != want.NDonors || c.NCompleteDonors != want.NCompleteDonors {
					t.Errorf("donors: got %d (%d complete), want %d (%d complete)", c.NDonors, c.NCompleteDonors, want.NDonors, want.NCompleteDonors)
				}
				if len(c.Summary) != len(want.Summary) {
					t.Fatalf("summary: got %d protocols, want %d", len(c.Summary), len(want.Summary))
				}
				for i, w := range want.Summary {
					g := c.Summary[i]
					if g.Protocol != w.Protocol || g.N != w.N {
						t.Errorf("summary %d: got %q n=%d, want %q n=%d", i, g.Protocol, g.N, w.Protocol, w.N)
					}
					checkClose(t, w.Protocol+" median", g.Median, w.Median, tolEstimate)
					checkClose(t, w.Protocol+" q1", g.Q1, w.Q1, tolEstimate)
					checkClose(t, w.Protocol+" q3", g.Q3, w.Q3, tolEstimate)
				}
				switch {
				case want.Wilcoxon == nil && c.Wilcoxon != nil:
					t.Errorf("wilcoxon: got %+v, want none", c.Wilcoxon)
				case want.Wilcoxon != nil && c.Wilcoxon == nil:
					t.Errorf("wilcoxon: got none, want %+v", want.Wilcoxon)
				case want.Wilcoxon != nil:
					checkTest(t, "wilcoxon", *c.Wilcoxon, want.Wilcoxon)
				}
				checkFriedman(t, *c.Friedman, want.Friedman)
				if len(c.Pairwise) != len(want.Pairwise) {
					t.Fatalf("pairwise: got %d pairs, want %d", len(c.Pairwise), len(want.Pairwise))
				}
				for i, w := range want.Pairwise {
					g := c.Pairwise[i]
					what := "pair " + w.ProtocolA + " vs " + w.ProtocolB
					if g.ProtocolA != w.ProtocolA || g.ProtocolB != w.ProtocolB {
						t.Errorf("pair %d: got %s vs %s, want %s", i, g.ProtocolA, g.ProtocolB, what)
					}
					checkTest(t, what, Wilcoxon{Statistic: g.Statistic, PValue: g.PValue, N: g.N, Exact: g.Exact, Note: g.Note}, &w)
					checkP(t, what+" Holm", g.PHolm, w.PHolm)
				}
			}
		})
	}
}

func checkFriedman(tb testing.TB, got Friedman, want rFriedman) {
	tb.Helper()
	if got.DF != want.DF || got.NDonors != want.NDonors {
		tb.Errorf("friedman: got df %d, %d donors, want %d, %d", got.DF, got.NDonors, want.DF, want.NDonors)
	}
	switch {
	case want.Statistic == nil:
		if got.Statistic != nil {
			tb.Errorf("friedman statistic: got %g, want none (R: %q)", *got.Statistic, want.Error)
		}
		if got.Note == "" {
			tb.Errorf("friedman: no statistic but no note")
		}
	case got.Statistic == nil:
		tb.Errorf("friedman statistic: got none, want %g", *want.Statistic)
	default:
		checkClose(tb, "friedman statistic", *got.Statistic, *want.Statistic, tolEstimate)
	}
	checkP(tb, "friedman p", got.PValue, want.PValue)
}

// round returns v rounded to d decimals, for comparison with the rounded values of domain.md.
func round(v float64, d int) float64 {
	s := math.Pow(10, float64(d))
	return math.Round(v*s) / s
}

// TestCompareDocumentExamples asserts the rounded values printed in domain.md §7.2–7.4.
func TestCompareDocumentExamples(t *testing.T) {
	w, err := Compare(readRows(t, "doc_wilcoxon"), CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fr, err := Compare(readRows(t, "doc_friedman"), CompareOptions{Scale: ScaleLinear})
	if err != nil {
		t.Fatal(err)
	}
	ex2, err := WilcoxonSignedRank([]float64{0.2, 0.3, 0.0, 0.3, -0.2, 0.3, 0.2, 0.3}, make([]float64, 8))
	if err != nil {
		t.Fatal(err)
	}
	pw := func(i int) Pairwise { return fr.Pairwise[i] }
	m := fr.MixedModel
	tests := []struct {
		name      string
		got, want float64
	}{
		{"§7.2 example 1: V", w.Wilcoxon.Statistic, 35},
		{"§7.2 example 1: p", *w.Wilcoxon.PValue, 0.015625},
		{"§7.2 example 2: n", float64(ex2.N), 7},
		{"§7.2 example 2: V", ex2.Statistic, 26},
		{"§7.2 example 2: p", round(*ex2.PValue, 4), 0.0461},
		{"§7.3: Q", round(*fr.Friedman.Statistic, 2), 10.33},
		{"§7.3: Friedman p", round(*fr.Friedman.PValue, 4), 0.0057},
		{"§7.3: P1 vs P2 V", pw(0).Statistic, 1},
		{"§7.3: P1 vs P2 p", round(*pw(0).PValue, 4), 0.0585},
		{"§7.3: P1 vs P3 V", pw(1).Statistic, 21},
		{"§7.3: P1 vs P3 p", *pw(1).PValue, 0.03125},
		{"§7.3: P2 vs P3 V", pw(2).Statistic, 21},
		{"§7.3: P2 vs P3 p", *pw(2).PValue, 0.03125},
		{"§7.3: Holm P1 vs P2", *pw(0).PHolm, 0.09375},
		{"§7.3: Holm P1 vs P3", *pw(1).PHolm, 0.09375},
		{"§7.3: Holm P2 vs P3", *pw(2).PHolm, 0.09375},
		{"§7.4: residual variance", round(m.ResidualVariance, 5), 0.01151},
		{"§7.4: donor variance", round(m.DonorVariance, 5), 0.02073},
		{"§7.4: ICC", round(m.ICC, 2), 0.64},
		{"§7.4: P1 mean", round(m.FixedEffects[0].Estimate, 3), 2.603},
		{"§7.4: P2 − P1", round(m.FixedEffects[1].Estimate, 3), 0.232},
		// domain.md prints 0.0620; √(2σ̂²/6) = √(2·0.0115122/6) = 0.061947, which is 0.062 to three
		// decimals (and 0.0619 to four), as R's lme4 agrees.
		{"§7.4: SE of P2 − P1", round(m.FixedEffects[1].StdError, 3), 0.062},
		{"§7.4: P3 − P1", round(m.FixedEffects[2].Estimate, 3), -0.418},
		{"§7.4: t of P2 − P1", round(m.FixedEffects[1].Estimate/m.FixedEffects[1].StdError, 2), 3.74},
		{"§7.4: t of P3 − P1", round(m.FixedEffects[2].Estimate/m.FixedEffects[2].StdError, 2), -6.75},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	if !w.Wilcoxon.Exact || ex2.Exact || pw(0).Exact || !pw(1).Exact {
		t.Errorf("exact flags: got %v %v %v %v, want true false false true", w.Wilcoxon.Exact, ex2.Exact, pw(0).Exact, pw(1).Exact)
	}
	// §7.4: for balanced complete data REML equals the ANOVA moment estimates,
	// σ² = MS_residual = 0.0115122…, σ_d² = (MS_donor − MS_residual)/k = 0.02073.
	checkClose(t, "§7.4: σ² = MS_residual", m.ResidualVariance, 0.0115122222222222, 1e-9)
	checkClose(t, "§7.4: σ_d²", m.DonorVariance, 0.0207300000000000, 1e-9)
}
