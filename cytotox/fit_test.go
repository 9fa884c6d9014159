package cytotox

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/clink-consortium/clink"
)

// TestFitExponentialR checks the fits of the committed datasets against R's nls (port, a in
// (0, 1]), written to testdata/exp_expected.csv by testdata/fits.R, to 1e-4 relative.
func TestFitExponentialR(t *testing.T) {
	const tol = 1e-4
	for _, want := range readTable(t, "exp_expected.csv") {
		t.Run(want["dataset"], func(t *testing.T) {
			et, y := readSeries(t, want["dataset"]+".csv")
			fit, err := FitExponential(et, y)
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := json.Marshal(fit); !strings.Contains(string(b), `"a_se"`) {
				t.Errorf("JSON %s lacks a_se", b)
			}
			checkRel(t, "a", &fit.A, num(t, want["a"]), tol)
			checkRel(t, "k", &fit.K, num(t, want["k"]), tol)
			checkRel(t, "a_se", fit.ASE, num(t, want["a_se"]), tol)
			checkRel(t, "k_se", fit.KSE, num(t, want["k_se"]), tol)
			checkRel(t, "residual_sd", &fit.ResidualSD, num(t, want["residual_sd"]), tol)
			if n := int(num(t, want["n"])); fit.N != n {
				t.Errorf("n: got %d, want %d", fit.N, n)
			}
			if b := want["at_bound"] == "TRUE"; fit.AtBound != b {
				t.Errorf("at_bound: got %v, want %v", fit.AtBound, b)
			}
			checkRel(t, "lu20", LyticUnits(*fit, 20, 5000), num(t, want["lu20"]), tol)
			checkRel(t, "lu30", LyticUnits(*fit, 30, 5000), num(t, want["lu30"]), tol)
		})
	}
}

// TestLyticUnitsWorkedExample checks domain.md §6.5: A = 0.90, k = 0.12, T = 5,000 gives
// x20 = 2.094, LU20 = 955 and x30 = 3.379, LU30 = 592 per 10⁷ NK; with k_NK = 0.15 (the same
// ratios nominal for an 80 %-pure culture) LU20 = 1,194. The exact values are from R:
// 1e7/(5000*(-log(1-0.2/0.9)/0.12)) = 954.97899440831407, the same with 0.3: 591.91283097034375,
// and with k = 0.15: 1193.7237430103924.
func TestLyticUnitsWorkedExample(t *testing.T) {
	tests := []struct {
		name          string
		fit           ExpFit
		level, target float64
		want, printed float64 // NaN wants nil
	}{
		{"LU20", ExpFit{A: 0.9, K: 0.12}, 20, 5000, 954.97899440831407, 955},
		{"LU30", ExpFit{A: 0.9, K: 0.12}, 30, 5000, 591.91283097034375, 592},
		{"LU20 NK-corrected", ExpFit{A: 0.9, K: 0.15}, 20, 5000, 1193.7237430103924, 1194},
		{"X equal to A is not reached", ExpFit{A: 0.3, K: 0.12}, 30, 5000, math.NaN(), 0},
		{"X above A", ExpFit{A: 0.25, K: 0.12}, 30, 5000, math.NaN(), 0},
		{"no targets", ExpFit{A: 0.9, K: 0.12}, 20, 0, math.NaN(), 0},
		{"negative targets", ExpFit{A: 0.9, K: 0.12}, 20, -5, math.NaN(), 0},
		{"level 0", ExpFit{A: 0.9, K: 0.12}, 0, 5000, math.NaN(), 0},
		{"level 100", ExpFit{A: 1, K: 0.12}, 100, 5000, math.NaN(), 0},
		{"NaN level", ExpFit{A: 0.9, K: 0.12}, math.NaN(), 5000, math.NaN(), 0},
		{"zero fit", ExpFit{}, 20, 5000, math.NaN(), 0},
		{"infinite k", ExpFit{A: 0.9, K: math.Inf(1)}, 20, 5000, math.NaN(), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := LyticUnits(tc.fit, tc.level, tc.target)
			checkRel(t, "LU", got, tc.want, 1e-12)
			if got != nil && math.Round(*got) != tc.printed {
				t.Errorf("rounded: got %g, want %g", math.Round(*got), tc.printed)
			}
		})
	}
}

// TestFitExponentialExact recovers the parameters of noise-free curves, including a = 1
// (reached, not pushed beyond) and two points with no residual degrees of freedom; and
// curves whose plateau lies above 1 end on the bound a = 1.
func TestFitExponentialExact(t *testing.T) {
	tests := []struct {
		name  string
		a, k  float64
		et    []float64
		bound bool // the curve's a is beyond 1: want a = 1 exactly and at_bound, k not compared
	}{
		{"worked A k", 0.9, 0.12, []float64{1.25, 2.5, 5, 10, 20}, false},
		{"steep", 0.6, 2, []float64{0.1, 0.25, 0.5, 1, 2, 4}, false},
		{"shallow", 0.95, 0.01, []float64{1, 5, 10, 25, 50, 100}, false},
		{"Pross a = 1", 1, 0.08, []float64{1.25, 2.5, 5, 10, 20}, false},
		{"two points", 0.7, 0.3, []float64{1, 5}, false},
		{"plateau 1.3", 1.3, 0.04, []float64{1.25, 2.5, 5, 10, 20}, true},
		{"nearly linear", 5, 0.002, []float64{1.25, 2.5, 5, 10, 20, 40}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			y := make([]float64, len(tc.et))
			for i, x := range tc.et {
				y[i] = tc.a * (1 - math.Exp(-tc.k*x))
			}
			fit, err := FitExponential(tc.et, y)
			if err != nil {
				t.Fatal(err)
			}
			if tc.bound {
				if fit.A != 1 || fit.KSE == nil {
					t.Errorf("got a %v k_se %v, want a = 1 and a k_se", fit.A, fit.KSE)
				}
			} else {
				checkRel(t, "a", &fit.A, tc.a, 1e-8)
				checkRel(t, "k", &fit.K, tc.k, 1e-8)
			}
			if fit.AtBound != tc.bound {
				t.Errorf("at_bound: got %v, want %v", fit.AtBound, tc.bound)
			}
			if tc.bound && fit.ASE != nil {
				t.Errorf("a_se: got %g, want nil on the bound", *fit.ASE)
			}
			if len(tc.et) == 2 && (fit.ASE != nil || fit.KSE != nil || fit.ResidualSD != 0) {
				t.Errorf("two points: got a_se %v k_se %v residual_sd %g, want nil, nil, 0", fit.ASE, fit.KSE, fit.ResidualSD)
			}
		})
	}
}

// TestFitExponentialGlobal checks on random noisy plates that the fit is the least-squares
// optimum: no point of a fine grid over k, with the best a in (0, 1] for each k (a linear
// least-squares problem, solved in closed form), has a smaller residual sum of squares.
func TestFitExponentialGlobal(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	et := []float64{0.625, 1.25, 2.5, 5, 10, 20, 40}
	for trial := range 300 {
		a, k := 0.1+0.9*rng.Float64(), math.Exp(-4+5*rng.Float64())
		sd := 0.005 + 0.08*rng.Float64()
		y := make([]float64, len(et))
		for i, x := range et {
			y[i] = a*(1-math.Exp(-k*x)) + sd*rng.NormFloat64()
		}
		fit, err := FitExponential(et, y)
		if err != nil {
			continue // points that determine no model; TestFitExponentialFails covers those
		}
		rss := func(a, k float64) float64 {
			var s float64
			for i, x := range et {
				d := y[i] - a*(1-math.Exp(-k*x))
				s += d * d
			}
			return s
		}
		got := rss(fit.A, fit.K)
		for i := 0; i <= 4000; i++ {
			kg := math.Exp(math.Log(1e-4) + (math.Log(1e3)-math.Log(1e-4))*float64(i)/4000)
			var sgg, syg float64
			for j, x := range et {
				g := 1 - math.Exp(-kg*x)
				sgg += g * g
				syg += y[j] * g
			}
			ag := math.Min(math.Max(syg/sgg, 1e-12), 1)
			if r := rss(ag, kg); r < got*(1-1e-9)-1e-15 {
				t.Fatalf("trial %d (y %v): fit a %g k %g has RSS %g, but a %g k %g has %g", trial, y, fit.A, fit.K, got, ag, kg, r)
			}
		}
	}
}

// TestFitExponentialFails checks that points which determine no model are an EINVALID error
// on field "lysis", not a made-up fit.
func TestFitExponentialFails(t *testing.T) {
	et := []float64{1.25, 2.5, 5, 10, 20}
	tests := []struct {
		name  string
		lysis []float64
		msg   string
	}{
		{"no lysis", []float64{0, 0, 0, 0, 0}, "no point shows lysis"},
		{"negative lysis", []float64{-0.01, -0.02, -0.01, -0.03, -0.02}, "no point shows lysis"},
		{"flat plateau", []float64{0.5, 0.5, 0.5, 0.5, 0.5}, "not determined"},
		{"falling lysis", []float64{0.2, -0.05, -0.1, -0.15, -0.2}, "driven to 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fit, err := FitExponential(et, tc.lysis)
			if err == nil {
				t.Fatalf("got %+v, want an error", fit)
			}
			if clink.ErrorCode(err) != clink.EINVALID {
				t.Errorf("code: got %q, want %q", clink.ErrorCode(err), clink.EINVALID)
			}
			if f := clink.ErrorFields(err); len(f) != 1 || f[0].Field != "lysis" || !strings.Contains(f[0].Message, tc.msg) {
				t.Errorf("fields: got %v, want lysis: ...%s...", f, tc.msg)
			}
		})
	}
}

func TestFitExponentialErrors(t *testing.T) {
	tests := []struct {
		name      string
		et, lysis []float64
		field     string
	}{
		{"lengths differ", []float64{1, 2, 3}, []float64{0.1, 0.2}, "lysis"},
		{"one point", []float64{1}, []float64{0.1}, "et"},
		{"no points", nil, nil, "et"},
		{"zero ratio", []float64{0, 2, 3}, []float64{0.1, 0.2, 0.3}, "et[0]"},
		{"negative ratio", []float64{1, -2, 3}, []float64{0.1, 0.2, 0.3}, "et[1]"},
		{"NaN ratio", []float64{1, 2, math.NaN()}, []float64{0.1, 0.2, 0.3}, "et[2]"},
		{"huge ratio", []float64{1, 2, 1e7}, []float64{0.1, 0.2, 0.3}, "et[2]"},
		{"NaN lysis", []float64{1, 2, 3}, []float64{0.1, math.NaN(), 0.3}, "lysis[1]"},
		{"Inf lysis", []float64{1, 2, 3}, []float64{math.Inf(-1), 0.2, 0.3}, "lysis[0]"},
		{"percent not fraction", []float64{1, 2, 3}, []float64{12.5, 23.3, 40.6}, "lysis[0]"},
		{"one distinct ratio", []float64{5, 5, 5}, []float64{0.1, 0.2, 0.3}, "et"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fit, err := FitExponential(tc.et, tc.lysis)
			if err == nil {
				t.Fatalf("got %+v, want an error", fit)
			}
			checkInvalid(t, err, tc.field)
		})
	}
}

// checkInvalid checks that err is EINVALID with field first among its fields and in its text.
func checkInvalid(tb testing.TB, err error, field string) {
	tb.Helper()
	if clink.ErrorCode(err) != clink.EINVALID {
		tb.Errorf("code: got %q, want %q", clink.ErrorCode(err), clink.EINVALID)
	}
	if fields := clink.ErrorFields(err); len(fields) == 0 || fields[0].Field != field {
		tb.Errorf("fields: got %v, want first %q", fields, field)
	}
	if !strings.Contains(err.Error(), field) {
		tb.Errorf("message %q does not name %q", err.Error(), field)
	}
}

// BenchmarkFitExponential fits the §6.5 worked example.
func BenchmarkFitExponential(b *testing.B) {
	et := []float64{1.25, 2.5, 5, 10, 20}
	y := []float64{0.125, 0.233, 0.406, 0.629, 0.818}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FitExponential(et, y); err != nil {
			b.Fatal(err)
		}
	}
}

// TestProfileScan checks the grid guard of FitExponential on the §6.5 worked example: its
// best grid point lies within one grid step (11 % in k) of R's optimum (a 0.89975, k
// 0.119996), and no grid point beats the optimum's sum of squares.
func TestProfileScan(t *testing.T) {
	x, y := readSeries(t, "exp_worked.csv")
	k, a, s := profileScan(x, y, 1.25, 20)
	fit, err := FitExponential(x, y)
	if err != nil {
		t.Fatal(err)
	}
	rss := math.Pow(fit.ResidualSD, 2) * 3
	if math.Abs(math.Log(k/0.119996)) > 0.11 || math.Abs(a-0.89975) > 0.05 || s < rss*(1-1e-9) {
		t.Errorf("got k %g a %g rss %g, want near k 0.12, a 0.9 and rss at least %g", k, a, s, rss)
	}
}
