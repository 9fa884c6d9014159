package stats

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/clink-consortium/clink"
	"gonum.org/v1/gonum/mathext"
)

// cases.json is written by testdata/compare.R (see its header): quantile(type = 7),
// p.adjust(method = "holm"), wilcox.test(paired = TRUE) and pchisq(lower.tail = FALSE).
type rCases struct {
	Quantile []struct {
		X     []float64 `json:"x"`
		Probs []float64 `json:"probs"`
		Q     []float64 `json:"q"`
	} `json:"quantile"`
	Holm []struct {
		P    []*float64 `json:"p"`
		Holm []*float64 `json:"holm"`
	} `json:"holm"`
	Wilcoxon []struct {
		Name string    `json:"name"`
		X    []float64 `json:"x"`
		Y    []float64 `json:"y"`
		rTest
	} `json:"wilcoxon"`
	Chisq []struct {
		Q  float64 `json:"q"`
		DF float64 `json:"df"`
		P  float64 `json:"p"`
	} `json:"chisq"`
}

func readCases(tb testing.TB) rCases {
	tb.Helper()
	var c rCases
	readJSON(tb, "cases", &c)
	if len(c.Quantile) == 0 || len(c.Holm) == 0 || len(c.Wilcoxon) == 0 || len(c.Chisq) == 0 {
		tb.Fatalf("cases.json: a section is empty: %d %d %d %d", len(c.Quantile), len(c.Holm), len(c.Wilcoxon), len(c.Chisq))
	}
	return c
}

func TestQuantile7AgainstR(t *testing.T) {
	for _, tc := range readCases(t).Quantile {
		for i, p := range tc.Probs {
			got := Quantile7(tc.X, p)
			if !near(got, tc.Q[i], 1e-12, 1e-12) {
				t.Errorf("Quantile7(%v, %v): got %.15g, want %.15g", tc.X, p, got, tc.Q[i])
			}
		}
	}
}

func TestQuantile7Edges(t *testing.T) {
	max := math.MaxFloat64
	tests := []struct {
		name   string
		sorted []float64
		p      float64
		want   float64 // NaN means NaN
	}{
		{"empty", nil, 0.5, math.NaN()},
		{"p below 0", []float64{1, 2}, -0.1, math.NaN()},
		{"p above 1", []float64{1, 2}, 1.5, math.NaN()},
		{"p NaN", []float64{1, 2}, math.NaN(), math.NaN()},
		{"n = 1", []float64{7}, 0.3, 7},
		// R: quantile(c(1, 2), 0.5) = 1.5, quantile(c(1, 2), 0.25) = 1.25.
		{"n = 2 median", []float64{1, 2}, 0.5, 1.5},
		{"n = 2 q1", []float64{1, 2}, 0.25, 1.25},
		{"no overflow at the top of float64", []float64{max / 2, max}, 0.5, 0.75 * max},
		{"equal neighbours", []float64{max, max}, 0.5, max},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Quantile7(tc.sorted, tc.p)
			if math.IsNaN(tc.want) != math.IsNaN(got) || (!math.IsNaN(got) && got != tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestHolmAgainstR(t *testing.T) {
	for _, tc := range readCases(t).Holm {
		p := make([]float64, len(tc.P))
		for i, v := range tc.P {
			p[i] = math.NaN()
			if v != nil {
				p[i] = *v
			}
		}
		got := Holm(p)
		if len(got) != len(tc.Holm) {
			t.Fatalf("Holm(%v): got %d values, want %d", p, len(got), len(tc.Holm))
		}
		for i, w := range tc.Holm {
			switch {
			case w == nil:
				if !math.IsNaN(got[i]) {
					t.Errorf("Holm(%v)[%d]: got %v, want NaN (NA)", p, i, got[i])
				}
			case !near(got[i], *w, 1e-12, 1e-300):
				t.Errorf("Holm(%v)[%d]: got %.15g, want %.15g", p, i, got[i], *w)
			}
		}
	}
	if got := Holm(nil); len(got) != 0 {
		t.Errorf("Holm(nil): got %v, want empty", got)
	}
}

func TestWilcoxonAgainstR(t *testing.T) {
	for _, tc := range readCases(t).Wilcoxon {
		t.Run(tc.Name, func(t *testing.T) {
			got, err := WilcoxonSignedRank(tc.X, tc.Y)
			if err != nil {
				t.Fatal(err)
			}
			checkTest(t, tc.Name, got, &tc.rTest)
		})
	}
}

// TestExactSignedRankTable checks the exact null distribution against counts derivable by hand:
// for n = 3 the subset sums of {1, 2, 3} are 0, 1, 2, 3, 3, 4, 5, 6, and the total count is 2^n.
func TestExactSignedRankTable(t *testing.T) {
	table := signedRankTable()
	want3 := []float64{1, 2, 3, 5, 6, 7, 8}
	for s, w := range want3 {
		if table[3][s] != w {
			t.Errorf("cumulative count n=3, s=%d: got %v, want %v", s, table[3][s], w)
		}
	}
	for n, cum := range table {
		if len(cum) != n*(n+1)/2+1 {
			t.Fatalf("n=%d: got %d sums, want %d", n, len(cum), n*(n+1)/2+1)
		}
		if got, want := cum[len(cum)-1], math.Ldexp(1, n); got != want {
			t.Errorf("n=%d: total count got %v, want 2^%d = %v", n, got, n, want)
		}
	}
	// The smallest two-sided p for n = 3..8 is 2/2^n (domain.md §7.2): 0.25 … 0.0078125.
	for n := 3; n <= 8; n++ {
		if got, want := exactSignedRankP(0, n), 2/math.Ldexp(1, n); got != want {
			t.Errorf("p(V=0, n=%d): got %v, want %v", n, got, want)
		}
	}
}

// TestChiSquareTail checks gonum's regularized upper incomplete gamma, which gives the Friedman
// p-value, against R's pchisq(q, df, lower.tail = FALSE) down to 1e-305.
func TestChiSquareTail(t *testing.T) {
	for _, tc := range readCases(t).Chisq {
		got := mathext.GammaIncRegComp(tc.DF/2, tc.Q/2)
		if !near(got, tc.P, 1e-9, 1e-300) {
			t.Errorf("P(χ²(%v) > %v): got %.15g, want %.15g", tc.DF, tc.Q, got, tc.P)
		}
	}
}

func TestFriedmanEdges(t *testing.T) {
	tests := []struct {
		name     string
		blocks   [][]float64
		wantStat float64 // NaN: no statistic
		wantNote string
	}{
		{"no donors", nil, math.NaN(), "at least two complete donors"},
		{"one donor", [][]float64{{1, 2, 3}}, math.NaN(), "at least two complete donors"},
		{"all tied", [][]float64{{1, 1}, {2, 2}}, math.NaN(), "tie within every donor"},
		// Two donors, same order: R_j = 2, 4, 6 against n(k+1)/2 = 4, Q = 12·8/(2·3·4) = 4 = n(k − 1).
		{"two donors", [][]float64{{1, 2, 3}, {4, 5, 6}}, 4, ""},
		// One row tied, one not: Q = 12·((2.5−3)²+(3.5−3)²)/(2·2·3 − 6/1) = 1 (friedman.test gives 1).
		{"partial ties", [][]float64{{1, 1}, {1, 2}}, 1, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FriedmanTest(tc.blocks)
			if err != nil {
				t.Fatal(err)
			}
			if math.IsNaN(tc.wantStat) {
				if got.Statistic != nil || got.PValue != nil {
					t.Errorf("got statistic %v p %v, want none", fmtPtr(got.Statistic), fmtPtr(got.PValue))
				}
			} else if got.Statistic == nil || !near(*got.Statistic, tc.wantStat, 1e-12, 1) {
				t.Errorf("statistic: got %v, want %v", fmtPtr(got.Statistic), tc.wantStat)
			}
			if !strings.Contains(got.Note, tc.wantNote) {
				t.Errorf("note: got %q, want it to contain %q", got.Note, tc.wantNote)
			}
		})
	}
}

// TestFriedmanTinyP: 10 protocols ranked the same way by 25 donors gives Q = n(k − 1) = 225 and
// p = 1.857e-43 (R: friedman.test, in tiny_p.json); the tail must not collapse to 0.
func TestFriedmanTinyP(t *testing.T) {
	c, err := Compare(readRows(t, "tiny_p"), CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Friedman.PValue == nil || !(*c.Friedman.PValue < 1e-20) || *c.Friedman.PValue <= 0 {
		t.Fatalf("Friedman p: got %v, want a positive value below 1e-20", fmtPtr(c.Friedman.PValue))
	}
	checkClose(t, "Friedman p", *c.Friedman.PValue, 1.85720917985162e-43, tolP)
}

func TestBuildingBlockErrors(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		name  string
		err   func() error
		field string
	}{
		{"wilcoxon lengths", func() error { _, err := WilcoxonSignedRank([]float64{1, 2}, []float64{1}); return err }, "y"},
		{"wilcoxon NaN", func() error { _, err := WilcoxonSignedRank([]float64{1, math.NaN()}, []float64{1, 2}); return err }, "x[1]"},
		{"wilcoxon Inf", func() error { _, err := WilcoxonSignedRank([]float64{1, 2}, []float64{inf, 2}); return err }, "y[0]"},
		{"friedman ragged", func() error { _, err := FriedmanTest([][]float64{{1, 2}, {1}}); return err }, "blocks[1]"},
		{"friedman one column", func() error { _, err := FriedmanTest([][]float64{{1}, {2}}); return err }, "blocks"},
		{"friedman NaN", func() error { _, err := FriedmanTest([][]float64{{1, 2}, {math.NaN(), 1}}); return err }, "blocks[1][0]"},
		{"mixed lengths", func() error {
			_, err := FitRandomIntercept([]float64{1, 2}, []int{0}, []int{0, 1}, []string{"a", "b"})
			return err
		}, "donor"},
		{"mixed protocol index", func() error {
			_, err := FitRandomIntercept([]float64{1, 2}, []int{0, 1}, []int{0, 2}, []string{"a", "b"})
			return err
		}, "protocol[1]"},
		{"mixed unused protocol", func() error {
			_, err := FitRandomIntercept([]float64{1, 2}, []int{0, 1}, []int{0, 0}, []string{"a", "b"})
			return err
		}, "protocol"},
		{"mixed one protocol", func() error {
			_, err := FitRandomIntercept([]float64{1, 2}, []int{0, 1}, []int{0, 0}, []string{"a"})
			return err
		}, "protocols"},
		{"mixed Inf", func() error {
			_, err := FitRandomIntercept([]float64{1, inf}, []int{0, 1}, []int{0, 1}, []string{"a", "b"})
			return err
		}, "y[1]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkInvalid(t, tc.err(), tc.field)
		})
	}
}

// checkInvalid fails unless err is an EINVALID *clink.Error naming field.
func checkInvalid(tb testing.TB, err error, field string) {
	tb.Helper()
	var e *clink.Error
	if !errors.As(err, &e) || e.Code != clink.EINVALID {
		tb.Fatalf("got error %v, want an EINVALID *clink.Error", err)
	}
	for _, f := range e.Fields {
		if f.Field == field {
			return
		}
	}
	tb.Errorf("got fields %v, want one named %q", e.Fields, field)
}

// TestFitRandomInterceptNotEstimable: data lmer refuses, or from which no variance can be
// estimated, are an EINVALID error from the building block (and a note in Compare).
func TestFitRandomInterceptNotEstimable(t *testing.T) {
	tests := []struct {
		name     string
		y        []float64
		donor    []int
		protocol []int
		want     string
	}{
		{"one donor", []float64{1, 2, 3, 4}, []int{7, 7, 7, 7}, []int{0, 1, 0, 1}, "at least two donors"},
		{"one row per donor", []float64{1, 2, 3, 4}, []int{1, 2, 3, 4}, []int{0, 1, 0, 1}, "every donor has a single row"},
		{"no residual df", []float64{1, 2, 3}, []int{1, 1, 2}, []int{0, 1, 2}, "no residual degrees of freedom"},
		{"constant within protocols", []float64{1, 2, 1, 2}, []int{1, 1, 2, 2}, []int{0, 1, 0, 1}, "no variance to estimate"},
		// y = donor + protocol exactly: the residual variance vanishes as θ grows.
		{"additive", []float64{1, 2, 3, 11, 12, 13, 5, 6, 7}, []int{0, 0, 0, 1, 1, 1, 2, 2, 2}, []int{0, 1, 2, 0, 1, 2, 0, 1, 2}, "residual variance vanishes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := 0
			for _, p := range tc.protocol {
				k = max(k, p+1)
			}
			names := []string{"a", "b", "c"}[:k]
			m, err := FitRandomIntercept(tc.y, tc.donor, tc.protocol, names)
			if m != nil || err == nil || clink.ErrorCode(err) != clink.EINVALID || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, %v; want nil and an EINVALID error containing %q", m, err, tc.want)
			}
		})
	}
}
