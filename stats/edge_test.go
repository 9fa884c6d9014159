package stats

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func TestCompareErrors(t *testing.T) {
	ok := []Row{{"D1", "A", 1}, {"D1", "B", 2}}
	many := make([]Row, 0, 60)
	for i := range 30 {
		many = append(many, Row{fmt.Sprint("D", i), "A", -1}, Row{fmt.Sprint("D", i), "B", 1})
	}
	protocols := make([]Row, 0, MaxProtocols+1)
	for i := range MaxProtocols + 1 {
		protocols = append(protocols, Row{"D1", fmt.Sprint("P", i), 1})
	}
	tests := []struct {
		name    string
		rows    []Row
		opt     CompareOptions
		field   string
		message string // part of the message of that field
	}{
		{"no rows", nil, CompareOptions{}, "rows", "no rows"},
		{"empty donor", []Row{{"", "A", 1}, {"D1", "B", 2}}, CompareOptions{}, "rows[0].donor", "empty"},
		{"blank protocol", []Row{{"D1", "A", 1}, {"D1", " ", 2}}, CompareOptions{}, "rows[1].protocol", "empty"},
		{"NaN", []Row{{"D1", "A", math.NaN()}, {"D1", "B", 2}}, CompareOptions{}, "rows[0].value", "not a finite number"},
		{"Inf on the linear scale", []Row{{"D1", "A", 1}, {"D1", "B", math.Inf(-1)}}, CompareOptions{Scale: ScaleLinear}, "rows[1].value", "not a finite number"},
		{"zero on the log10 scale", []Row{{"D1", "A", 1}, {"D9", "B", 0}}, CompareOptions{}, "rows[1].value", `donor "D9", protocol "B"`},
		{"negative on the log10 scale", []Row{{"D1", "A", -2}, {"D1", "B", 2}}, CompareOptions{Scale: ScaleLog10}, "rows[0].value", "not positive"},
		{"one protocol", []Row{{"D1", "A", 1}, {"D2", "A", 2}}, CompareOptions{}, "rows", "at least two protocols"},
		{"unknown scale", ok, CompareOptions{Scale: "ln"}, "scale", `"ln"`},
		{"many bad rows", many, CompareOptions{}, "rows", "10 more rows have errors"},
		{"too many protocols", protocols, CompareOptions{}, "rows", "at most 1000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := slices.Clone(tc.rows)
			c, err := Compare(tc.rows, tc.opt)
			if c != nil {
				t.Errorf("got a comparison, want nil")
			}
			checkInvalid(t, err, tc.field)
			if err != nil && !strings.Contains(err.Error(), tc.message) {
				t.Errorf("error %q does not contain %q", err, tc.message)
			}
			if !slices.EqualFunc(before, tc.rows, sameRow) {
				t.Errorf("Compare changed its input")
			}
		})
	}
}

// TestCompareDegenerate covers legal data without a test or a model: the results carry nil
// p-values and notes, never an error.
func TestCompareDegenerate(t *testing.T) {
	tests := []struct {
		name      string
		rows      []Row
		complete  int
		wilcoxonP *float64 // nil: no p-value
		friedman  bool     // a Friedman statistic is expected
		mixed     bool     // a mixed model is expected
		notes     []string // parts that must appear in the notes
	}{
		{
			name: "one complete donor",
			rows: []Row{{"D1", "A", 2}, {"D1", "B", 1}, {"D2", "A", 3}, {"D3", "B", 4}},
			// R: wilcox.test(2, 1, paired = TRUE) gives V = 1, exact p = 1.
			// Only D1 has both protocols, so the residual variance is almost unidentified: the REML
			// criterion is flat for θ in the thousands (lme4 stops at θ = 1835, its optimum is
			// near 6000), and a note says so.
			complete: 1, wilcoxonP: ptr(1), mixed: true,
			notes: []string{"2 of 3 donors lack a value", "D2 (no B)", "D3 (no A)", "at least two complete donors", "barely identified"},
		},
		{
			name:     "no complete donor",
			rows:     []Row{{"D1", "A", 2}, {"D1", "A", 3}, {"D2", "B", 1}, {"D2", "B", 5}, {"D3", "A", 4}, {"D3", "A", 4.5}},
			complete: 0, mixed: true,
			notes: []string{"3 of 3 donors lack a value", "no complete pairs", "at least two complete donors", "3 donor×protocol cells have several rows"},
		},
		{
			name:     "all differences zero",
			rows:     []Row{{"D1", "A", 2}, {"D1", "B", 2}, {"D2", "A", 3}, {"D2", "B", 3}, {"D3", "A", 7}, {"D3", "B", 7}},
			complete: 3,
			notes:    []string{"cannot compute exact p-value with zeroes", "all differences are zero", "tie within every donor", "mixed model not fitted"},
		},
		{
			name:     "replicate means tie exactly",
			rows:     []Row{{"D1", "A", 1}, {"D1", "A", 3}, {"D1", "B", 2}, {"D2", "A", 5}, {"D2", "B", 4}, {"D2", "B", 6}},
			complete: 2, mixed: true,
			notes: []string{"2 donor×protocol cells have several rows (e.g. donor D1, protocol A: 2 rows)", "all differences are zero", "tie within every donor"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Compare(tc.rows, CompareOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := json.Marshal(c); err != nil {
				t.Fatalf("json.Marshal: %v", err)
			}
			if c.NCompleteDonors != tc.complete {
				t.Errorf("complete donors: got %d, want %d", c.NCompleteDonors, tc.complete)
			}
			if got, want := fmtPtr(c.Wilcoxon.PValue), fmtPtr(tc.wilcoxonP); got != want {
				t.Errorf("Wilcoxon p: got %s, want %s", got, want)
			}
			if (c.Friedman.Statistic != nil) != tc.friedman {
				t.Errorf("Friedman statistic: got %s, want present = %v", fmtPtr(c.Friedman.Statistic), tc.friedman)
			}
			if (c.MixedModel != nil) != tc.mixed {
				t.Errorf("mixed model: got %+v, want present = %v", c.MixedModel, tc.mixed)
			}
			for _, n := range tc.notes {
				if !hasNote(c.Notes, n) {
					t.Errorf("notes %q: want one containing %q", c.Notes, n)
				}
			}
		})
	}
}

// sameRow compares rows bit for bit, so that NaN equals NaN.
func sameRow(a, b Row) bool {
	return a.Donor == b.Donor && a.Protocol == b.Protocol && math.Float64bits(a.Value) == math.Float64bits(b.Value)
}

func ptr(v float64) *float64 { return &v }

// TestCompareShape checks the JSON shape: notes never null, wilcoxon only for two protocols,
// pairwise only for three or more, and the notes of replicates and dropped donors.
func TestCompareShape(t *testing.T) {
	tests := []struct {
		name     string
		has      []string
		hasNot   []string
		notes    []string
		wantNote bool
	}{
		{"doc_wilcoxon", []string{`"wilcoxon":`, `"notes":[]`}, []string{`"pairwise"`}, nil, false},
		{"doc_friedman", []string{`"pairwise":`, `"notes":["pairwise`}, []string{`"wilcoxon"`}, nil, false},
		{"missing_protocol", []string{`"term":"protocolLCL + IL-2/IL-15"`, `"reference":"LCL + IL-2"`, `"response":"log10(value)"`}, nil,
			[]string{"2 of 8 donors lack a value for some protocol", "D07 (no dendrimer + IL-2); D08 (no LCL + IL-2/IL-15, dendrimer + IL-2)"}, true},
		{"replicates", nil, nil, []string{"donor×protocol cells have several rows (e.g. donor R01, protocol il15: 2 rows)", "R06 (no feeder)"}, true},
		{"ties_zeros", nil, nil, []string{"Wilcoxon ref vs new: cannot compute exact p-value with ties; cannot compute exact p-value with zeroes"}, true},
		{"doc_friedman", nil, nil, []string{"pairwise Wilcoxon P1 vs P2: cannot compute exact p-value with ties"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Compare(readRows(t, tc.name), CompareOptions{})
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			s := string(b)
			for _, h := range tc.has {
				if !strings.Contains(s, h) {
					t.Errorf("JSON lacks %s: %s", h, s)
				}
			}
			for _, h := range tc.hasNot {
				if strings.Contains(s, h) {
					t.Errorf("JSON has %s, want it omitted", h)
				}
			}
			for _, n := range tc.notes {
				if !hasNote(c.Notes, n) {
					t.Errorf("notes %q: want one containing %q", c.Notes, n)
				}
			}
		})
	}
}

// TestCompareExtremeValues: values near the ends of float64 must give finite results (or no
// model, with a note), never NaN or Inf.
func TestCompareExtremeValues(t *testing.T) {
	big := math.MaxFloat64
	tests := []struct {
		name  string
		rows  []Row
		scale string
	}{
		{"huge linear", []Row{{"a", "A", big}, {"a", "B", -big}, {"b", "A", big / 3}, {"b", "B", big / 2}, {"c", "A", -big}, {"c", "B", big}, {"a", "A", 1}}, ScaleLinear},
		{"huge and tiny log10", []Row{{"a", "A", big}, {"a", "B", 5e-324}, {"b", "A", 1e300}, {"b", "B", 1e-300}, {"c", "A", 1}, {"c", "B", 2}}, ScaleLog10},
		{"replicates at the top", []Row{{"a", "A", big}, {"a", "A", big}, {"a", "B", -big}, {"a", "B", -big}, {"b", "A", 1}, {"b", "B", 2}}, ScaleLinear},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Compare(tc.rows, CompareOptions{Scale: tc.scale})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := json.Marshal(c); err != nil {
				t.Fatalf("json.Marshal: %v", err)
			}
		})
	}
}

// TestMixedModelDense checks the mixed model on unbalanced data against a direct dense
// computation of the REML criterion with the N×N covariance V = σ²(I + θ²ZZᵀ):
//
//	−2ℓ_R = log|V| + log|XᵀV⁻¹X| + rᵀV⁻¹r + (N − p)·log(2π),
//
// at the reported estimates, and checks that moving either variance raises the criterion and
// that the fixed effects are the GLS estimates.
func TestMixedModelDense(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var y []float64
	var donor, protocol []int
	for d := range 9 {
		u := rng.NormFloat64() * 0.4
		for p := range 4 {
			reps := (d + p) % 3 // 0, 1 or 2 rows
			if d == 8 && p > 0 {
				reps = 0 // a donor with a single row
			}
			if d == 8 && p == 0 {
				reps = 1
			}
			for range reps {
				y = append(y, 2+0.1*float64(p)+u+0.15*rng.NormFloat64())
				donor = append(donor, d)
				protocol = append(protocol, p)
			}
		}
	}
	names := []string{"a", "b", "c", "d"}
	m, err := FitRandomIntercept(y, donor, protocol, names)
	if err != nil {
		t.Fatal(err)
	}
	crit, beta := denseREML(y, donor, protocol, len(names), m.DonorVariance, m.ResidualVariance)
	checkClose(t, "REML criterion", m.REMLCriterion, crit, 1e-10)
	for i, fx := range m.FixedEffects {
		checkClose(t, fx.Term, fx.Estimate, beta[i], 1e-9)
	}
	for _, f := range []float64{0.999, 1.001} {
		if c, _ := denseREML(y, donor, protocol, len(names), f*m.DonorVariance, m.ResidualVariance); c <= crit {
			t.Errorf("donor variance ×%v: criterion %.12g not above the optimum %.12g", f, c, crit)
		}
		if c, _ := denseREML(y, donor, protocol, len(names), m.DonorVariance, f*m.ResidualVariance); c <= crit {
			t.Errorf("residual variance ×%v: criterion %.12g not above the optimum %.12g", f, c, crit)
		}
	}
}

// denseREML evaluates the REML criterion and the GLS fixed effects (treatment coding) with
// dense N×N matrices, as a test oracle.
func denseREML(y []float64, donor, protocol []int, k int, sd2, s2 float64) (float64, []float64) {
	n := len(y)
	v := mat.NewSymDense(n, nil)
	x := mat.NewDense(n, k, nil)
	for i := range n {
		x.Set(i, 0, 1)
		if protocol[i] > 0 {
			x.Set(i, protocol[i], 1)
		}
		for j := i; j < n; j++ {
			var c float64
			if donor[i] == donor[j] {
				c = sd2
			}
			if i == j {
				c += s2
			}
			v.SetSym(i, j, c)
		}
	}
	var chol mat.Cholesky
	if !chol.Factorize(v) {
		panic("V not positive definite")
	}
	var vix mat.Dense
	if err := chol.SolveTo(&vix, x); err != nil {
		panic(err)
	}
	yv := mat.NewVecDense(n, y)
	var viy mat.VecDense
	if err := chol.SolveVecTo(&viy, yv); err != nil {
		panic(err)
	}
	var xtvx mat.Dense
	xtvx.Mul(x.T(), &vix)
	var xtvy mat.VecDense
	xtvy.MulVec(x.T(), &viy)
	var beta mat.VecDense
	if err := beta.SolveVec(&xtvx, &xtvy); err != nil {
		panic(err)
	}
	var xb, r, vir mat.VecDense
	xb.MulVec(x, &beta)
	r.SubVec(yv, &xb)
	if err := chol.SolveVecTo(&vir, &r); err != nil {
		panic(err)
	}
	logDetX, _ := mat.LogDet(&xtvx)
	crit := chol.LogDet() + logDetX + mat.Dot(&r, &vir) + float64(n-k)*math.Log(2*math.Pi)
	return crit, beta.RawVector().Data
}

// TestREMLPathsAgree: the g×g (Woodbury) and k×k ways of handling XᵀV⁻¹X must give the same
// criterion, derivative and fit, on data where either could be chosen.
func TestREMLPathsAgree(t *testing.T) {
	for _, name := range []string{"replicates", "missing_protocol", "five_protocols"} {
		t.Run(name, func(t *testing.T) {
			rows := readRows(t, name)
			var protocols []string
			pIdx, dIdx := map[string]int{}, map[string]int{}
			y := make([]float64, len(rows))
			donor := make([]int, len(rows))
			protocol := make([]int, len(rows))
			for i, r := range rows {
				if _, ok := pIdx[r.Protocol]; !ok {
					pIdx[r.Protocol] = len(protocols)
					protocols = append(protocols, r.Protocol)
				}
				if _, ok := dIdx[r.Donor]; !ok {
					dIdx[r.Donor] = len(dIdx)
				}
				y[i], donor[i], protocol[i] = math.Log10(r.Value), dIdx[r.Donor], pIdx[r.Protocol]
			}
			small, reason := newREML(y, donor, len(dIdx), protocol, len(protocols))
			if reason != "" {
				t.Fatal(reason)
			}
			large, _ := newREML(y, donor, len(dIdx), protocol, len(protocols))
			small.usePath(true)
			large.usePath(false)
			for _, s := range []float64{0, 1e-6, 0.3, 1, 2.5, 40, 1e4} {
				a, b := small.eval(s), large.eval(s)
				if !a.ok || !b.ok {
					t.Fatalf("s=%v: evaluation failed (small %v, large %v)", s, a.ok, b.ok)
				}
				if !near(a.f, b.f, 1e-10, 1) || !near(a.deriv, b.deriv, 1e-8, 1e-6) {
					t.Errorf("s=%v: small path f=%.15g f'=%.15g, large path f=%.15g f'=%.15g", s, a.f, a.deriv, b.f, b.deriv)
				}
			}
			sa, ra := small.optimum()
			sb, rb := large.optimum()
			if ra != "" || rb != "" || !near(sa, sb, 1e-9, 1e-12) {
				t.Fatalf("optimum: small path %v (%s), large path %v (%s)", sa, ra, sb, rb)
			}
			ma, _ := small.result(sa, protocols)
			mb, _ := large.result(sb, protocols)
			for i := range ma.FixedEffects {
				checkClose(t, ma.FixedEffects[i].Term+" estimate", ma.FixedEffects[i].Estimate, mb.FixedEffects[i].Estimate, 1e-9)
				checkClose(t, ma.FixedEffects[i].Term+" SE", ma.FixedEffects[i].StdError, mb.FixedEffects[i].StdError, 1e-9)
			}
			// At an interior optimum the derivative of the criterion vanishes.
			if sa > 0 {
				e := small.eval(sa)
				scale := math.Abs(small.eval(sa*1.01).deriv) + math.Abs(small.eval(sa*0.99).deriv)
				if math.Abs(e.deriv) > 1e-6*scale {
					t.Errorf("derivative at the optimum: got %g, want ~0 against %g nearby", e.deriv, scale)
				}
			}
		})
	}
}
