package cytotox

import (
	"math"
	"slices"
	"testing"
)

// result builds a valid Result from lysis percentages at ratios et; flags[i], when given,
// are the QC flags of point i.
func result(et, lysisPct []float64, flags map[int][]string) Result {
	res := Result{Valid: true, Flags: []Flag{}}
	for i := range et {
		l := lysisPct[i]
		p := Point{ETRatio: et[i], SpecificLysisPct: &l, Flags: []string{}}
		p.Flags = append(p.Flags, flags[i]...)
		res.Points = append(res.Points, p)
	}
	return res
}

// TestFitResult checks the rules of FitResult. The fitted numbers are R's: the §6.5 worked
// example in testdata/exp_expected.csv (fits.R: a = 0.899750273102388, k = 0.119996278417924,
// LU20 = 954.648133461973, LU30 = 591.691945602215 per 10⁷ for 5,000 targets) and the
// plateau dataset (a = 0.267528495579456, LU20 = 294.363000313507). On NK ratios 0.8 × the
// nominal ones, least squares gives the same a and k/0.8, so LU per NK cell is LU/0.8
// (954.648133461973/0.8 = 1193.31016682747).
func TestFitResult(t *testing.T) {
	worked := []float64{1.25, 2.5, 5, 10, 20}
	workedY := []float64{12.5, 23.3, 40.6, 62.9, 81.8}
	nk := []float64{1, 2, 4, 8, 16}
	nan := math.NaN()
	tests := []struct {
		name       string
		res        Result
		etNK       []float64
		targets    float64
		a, k       float64 // NaN: no fit
		lu20, lu30 float64 // NaN: nil
		near       bool    // a fit on a subset: a and k only near the values given, LU not compared
		fitted     []bool
		flags      []string
	}{
		{
			name: "worked example, nominal", res: result(worked, workedY, nil), targets: 5000,
			a: 0.899750273102388, k: 0.119996278417924, lu20: 954.648133461973, lu30: 591.691945602215,
			fitted: []bool{true, true, true, true, true}, flags: []string{FlagUncorrected},
		},
		{
			name: "worked example, NK-corrected", res: result(worked, workedY, nil), etNK: nk, targets: 5000,
			a: 0.899750273102388, k: 0.119996278417924 / 0.8, lu20: 954.648133461973 / 0.8, lu30: 591.691945602215 / 0.8,
			fitted: []bool{true, true, true, true, true}, flags: []string{},
		},
		{
			name: "invalid plate", res: Result{Points: result(worked, workedY, nil).Points}, etNK: nk, targets: 5000,
			a: nan, lu20: nan, lu30: nan, fitted: make([]bool, 5), flags: []string{FlagPlateInvalid},
		},
		{
			name: "two points", res: result(worked[:2], workedY[:2], nil), etNK: nk[:2], targets: 5000,
			a: nan, lu20: nan, lu30: nan, fitted: []bool{false, false}, flags: []string{FlagTooFewPoints},
		},
		{
			// Excluding 2 of 5 points leaves 3, the least a fit takes.
			name: "excluded points", targets: 5000, etNK: nk,
			res: result(worked, workedY, map[int][]string{1: {RuleReplicateCV, RuleExcludedFromFit}, 3: {RuleNotComputable}}),
			a:   0.9, k: 0.12, near: true,
			fitted: []bool{true, false, true, false, true}, flags: []string{},
		},
		{
			name: "three exclusions leave two points", targets: 5000, etNK: nk,
			res: result(worked, workedY, map[int][]string{0: {RuleExcludedFromFit}, 1: {RuleExcludedFromFit}, 2: {RuleExcludedFromFit}}),
			a:   nan, lu20: nan, lu30: nan, fitted: make([]bool, 5), flags: []string{FlagTooFewPoints},
		},
		{
			name: "single wells everywhere are fitted", targets: 5000,
			res: result(worked, workedY, map[int][]string{0: {RuleSingleReplicate}, 1: {RuleSingleReplicate}, 2: {RuleSingleReplicate}, 3: {RuleSingleReplicate}, 4: {RuleSingleReplicate}}),
			a:   0.899750273102388, k: 0.119996278417924, lu20: 954.648133461973, lu30: 591.691945602215,
			fitted: []bool{true, true, true, true, true}, flags: []string{FlagUncorrected},
		},
		{
			name: "single wells among replicates are not", targets: 5000, etNK: nk,
			res: result(worked, workedY, map[int][]string{0: {RuleSingleReplicate}}),
			a:   0.9, k: 0.12, near: true,
			fitted: []bool{false, true, true, true, true}, flags: []string{},
		},
		{
			name: "targets unknown", res: result(worked, workedY, nil), etNK: worked, targets: 0,
			a: 0.899750273102388, k: 0.119996278417924, lu20: nan, lu30: nan,
			fitted: []bool{true, true, true, true, true}, flags: []string{FlagTargetsUnknown},
		},
		{
			name: "plateau below 30", res: result([]float64{1.25, 2.5, 5, 10, 20, 40}, []float64{7.5, 10.8, 15.8, 23.7, 26, 27}, nil),
			etNK: []float64{1.25, 2.5, 5, 10, 20, 40}, targets: 5000,
			a: 0.267528495579456, k: 0.202621300823935, lu20: 294.363000313507, lu30: nan,
			fitted: []bool{true, true, true, true, true, true}, flags: []string{FlagPlateauBelow30},
		},
		{
			// Plateau 12 %: neither LU is reached, and the 20–80 rule has nothing left to hide.
			// a and k from R as in fits.R: a = 0.119021866030271, k = 0.293773730649094.
			name: "plateau below 20", res: result(worked, []float64{3.5, 6.3, 9.2, 11.2, 11.9}, nil), etNK: worked, targets: 5000,
			a: 0.119021866030271, k: 0.293773730649094, lu20: nan, lu30: nan,
			fitted: []bool{true, true, true, true, true}, flags: []string{FlagPlateauBelow20, FlagPlateauBelow30},
		},
		{
			// Every point above 80 %: LU20 and LU30 lie below the lowest ratio, not reported (§6.3).
			// a and k from R as in fits.R: a = 0.932406019717117, k = 1.809954640480156.
			name: "no point within 20-80", res: result(worked, []float64{84, 90, 93, 94, 94.5}, nil), etNK: worked, targets: 5000,
			a: 0.932406019717117, k: 1.809954640480156, lu20: nan, lu30: nan,
			fitted: []bool{true, true, true, true, true}, flags: []string{FlagNoPointIn20To80},
		},
		{
			name: "fit fails on flat lysis", res: result(worked, []float64{50, 50, 50, 50, 50}, nil), etNK: worked, targets: 5000,
			a: nan, lu20: nan, lu30: nan, fitted: make([]bool, 5), flags: []string{FlagFitFailed},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pot, err := FitResult(tc.res, tc.etNK, tc.targets)
			if err != nil {
				t.Fatal(err)
			}
			mustMarshal(t, pot)
			if !slices.Equal(pot.Flags, tc.flags) {
				t.Errorf("flags: got %q, want %q", pot.Flags, tc.flags)
			}
			if !slices.Equal(pot.Fitted, tc.fitted) {
				t.Errorf("fitted: got %v, want %v", pot.Fitted, tc.fitted)
			}
			switch {
			case math.IsNaN(tc.a):
				if pot.Fit != nil {
					t.Errorf("fit: got %+v, want none", *pot.Fit)
				}
				return
			case pot.Fit == nil:
				t.Fatalf("fit: got none, want a %g k %g", tc.a, tc.k)
			case tc.near:
				// Fits on subsets or made-up curves: near the a and k given (k on nominal ratios).
				k := pot.Fit.K
				if tc.etNK != nil && tc.etNK[0] == nk[0] {
					k *= 0.8
				}
				n := 0
				for _, f := range tc.fitted {
					if f {
						n++
					}
				}
				if math.Abs(pot.Fit.A-tc.a) > 0.02 || math.Abs(k-tc.k) > 0.1*tc.k || pot.Fit.N != n {
					t.Errorf("fit: got a %g k %g n %d, want near a %g k %g on %d points", pot.Fit.A, k, pot.Fit.N, tc.a, tc.k, n)
				}
				return
			default:
				checkRel(t, "a", &pot.Fit.A, tc.a, 1e-4)
				checkRel(t, "k", &pot.Fit.K, tc.k, 1e-4)
			}
			checkRel(t, "lu20", pot.LU20, tc.lu20, 1e-4)
			checkRel(t, "lu30", pot.LU30, tc.lu30, 1e-4)
		})
	}
}

func TestFitResultErrors(t *testing.T) {
	res := result([]float64{1.25, 2.5, 5}, []float64{12.5, 23.3, 40.6}, nil)
	tests := []struct {
		name    string
		etNK    []float64
		targets float64
		field   string
	}{
		{"too few ratios", []float64{1, 2}, 5000, "et_nk"},
		{"zero ratio", []float64{1, 0, 4}, 5000, "et_nk[1]"},
		{"NaN ratio", []float64{1, 2, math.NaN()}, 5000, "et_nk[2]"},
		{"negative targets", nil, -1, "targets"},
		{"NaN targets", nil, math.NaN(), "targets"},
		{"Inf targets", nil, math.Inf(1), "targets"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pot, err := FitResult(res, tc.etNK, tc.targets)
			if err == nil {
				t.Fatalf("got %+v, want an error", pot)
			}
			checkInvalid(t, err, tc.field)
		})
	}
}
