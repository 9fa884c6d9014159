package gmp

import (
	"encoding/json"
	"math"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// conforming returns results that meet every default limit (gmp.md §4) for a 64 kg patient.
func conforming() Results {
	return Results{
		TestViability:       {Value: 92},
		TestNKPurity:        {Value: 94},
		TestResidualCD3:     {Value: 4.0e6}, // 62 500 CD3+/kg at 64 kg
		TestResidualFeeders: {Value: 0},
		TestEndotoxin:       {Value: 0.5},
		TestEndotoxinPerKg:  {Value: 18.5}, // 0.5 EU/mL × 37 mL
		TestGramStain:       {Text: "no organisms seen"},
		TestSterility:       {Text: "no growth"},
		TestMycoplasma:      {Text: "not detected"},
		TestIdentity:        {Text: "identical to donor"},
		TestPotency:         {Value: 45},
		TestDose:            {Value: 99.9925},
		TestCD19:            {Value: 0.1},
		TestVolume:          {Value: 37},
		TestTotalCells:      {Value: 7.4e8},
		TestNKCells:         {Value: 6.4e8},
	}
}

func outcomeOf(a Assessment, test string) TestAssessment {
	for _, t := range a.Tests {
		if t.Test == test {
			return t
		}
	}
	return TestAssessment{}
}

func TestDefaultSpecValid(t *testing.T) {
	s := DefaultSpec()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	a, err := Evaluate(s, conforming(), 64)
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != Releasable || len(a.Outstanding) != 0 || len(a.Tests) != len(s.Limits) {
		t.Errorf("got %s, outstanding %v, %d tests, want releasable, none, %d", a.Status, a.Outstanding, len(a.Tests), len(s.Limits))
	}
	if _, err := json.Marshal(a); err != nil {
		t.Errorf("json: %v", err)
	}
}

// TestDefaultLimitBounds puts every numeric default limit of gmp.md §4 at its bound, just
// inside and just outside. The operators are the document's: > 70 % viability and purity, ≤
// 1×10⁵ CD3+/kg, < 0.1 % feeders, < 5 EU/mL and ≤ 5 EU/kg endotoxin, > 20 % potency, ≥ 90 %
// and ≤ 100 % of the target dose. Per-kg results are amounts in the dose for a 64 kg patient.
func TestDefaultLimitBounds(t *testing.T) {
	tests := []struct {
		test  string
		value float64
		want  string
	}{
		{TestViability, 70, Fail},
		{TestViability, 70.01, Pass},
		{TestViability, math.Nextafter(70, 100), Pass},
		{TestViability, 69.99, Fail},
		{TestNKPurity, 70, Fail},
		{TestNKPurity, 70.01, Pass},
		{TestNKPurity, 69.99, Fail},
		{TestResidualCD3, 6.4e6, Pass},     // 1×10⁵/kg exactly
		{TestResidualCD3, 6.4e6 - 1, Pass}, // 99 999.98/kg
		{TestResidualCD3, 6.4e6 + 1, Fail}, // 100 000.02/kg
		{TestResidualFeeders, 0.1, Fail},
		{TestResidualFeeders, 0.09, Pass},
		{TestResidualFeeders, 0.11, Fail},
		{TestEndotoxin, 5, Fail},
		{TestEndotoxin, 4.99, Pass},
		{TestEndotoxin, 5.01, Fail},
		{TestEndotoxinPerKg, 320, Pass}, // 5 EU/kg exactly
		{TestEndotoxinPerKg, 319.99, Pass},
		{TestEndotoxinPerKg, 320.01, Fail},
		{TestPotency, 20, Fail},
		{TestPotency, 20.01, Pass},
		{TestPotency, 19.99, Fail},
		{TestDose, 90, Pass},
		{TestDose, 89.99, Fail},
		{TestDose, 90.01, Pass},
		{TestDose, 100, Pass},
		{TestDose, 99.99, Pass},
		{TestDose, 100.01, Fail},
	}
	for _, tc := range tests {
		r := conforming()
		r[tc.test] = Result{Value: tc.value}
		a, err := Evaluate(DefaultSpec(), r, 64)
		if err != nil {
			t.Fatal(err)
		}
		if got := outcomeOf(a, tc.test); got.Outcome != tc.want {
			t.Errorf("%s = %v: got %s (value %v), want %s", tc.test, tc.value, got.Outcome, *got.Value, tc.want)
		}
	}
}

// TestPerKgExact shows why per-kg values are compared in decimal: 6.41×10⁶ CD3+ cells for a
// 64.1 kg patient is exactly 1×10⁵/kg, but 6.41e6/64.1 is 100000.00000000001 in binary
// floating point (testdata: python3 -c 'print(6.41e6/64.1)'), which would fail the ≤ limit.
func TestPerKgExact(t *testing.T) {
	cells, kg := 6.41e6, 64.1 // variables: Go would divide constants exactly
	if cells/kg <= 1e5 {
		t.Fatalf("the float64 premise no longer holds: 6.41e6/64.1 = %v", cells/kg)
	}
	r := conforming()
	r[TestResidualCD3] = Result{Value: 6.41e6}
	a, err := Evaluate(DefaultSpec(), r, 64.1)
	if err != nil {
		t.Fatal(err)
	}
	got := outcomeOf(a, TestResidualCD3)
	if got.Outcome != Pass || *got.Value != 1e5 || *got.Measured != 6.41e6 {
		t.Errorf("got %s, value %v, measured %v, want pass, 1e5, 6.41e6", got.Outcome, *got.Value, *got.Measured)
	}
}

func TestQualitative(t *testing.T) {
	tests := []struct {
		test, text string
		want       string
	}{
		{TestSterility, "no growth", Pass},
		{TestSterility, " No Growth ", Pass},
		{TestSterility, "growth", Fail},
		{TestSterility, "no growth (day 7)", Fail},
		{TestGramStain, "no organisms seen", Pass},
		{TestGramStain, "Gram-positive cocci", Fail},
		{TestMycoplasma, "not detected", Pass},
		{TestMycoplasma, "detected", Fail},
		{TestIdentity, "identical to donor", Pass},
		{TestIdentity, "not identical", Fail},
	}
	for _, tc := range tests {
		r := conforming()
		r[tc.test] = Result{Text: tc.text}
		a, err := Evaluate(DefaultSpec(), r, 64)
		if err != nil {
			t.Fatal(err)
		}
		got := outcomeOf(a, tc.test)
		if got.Outcome != tc.want {
			t.Errorf("%s %q: got %s, want %s", tc.test, tc.text, got.Outcome, tc.want)
		}
		wantStatus := Releasable
		if tc.want == Fail {
			wantStatus = Blocked // every qualitative default is hard
		}
		if a.Status != wantStatus {
			t.Errorf("%s %q: status got %s, want %s", tc.test, tc.text, a.Status, wantStatus)
		}
	}
}

// TestStatus covers the overall verdicts: a hard failure blocks even when results are missing;
// a missing result makes the batch incomplete even with a soft failure; the sterility culture
// may be outstanding (conditional release); a soft failure needs a deviation.
func TestStatus(t *testing.T) {
	tests := []struct {
		name        string
		change      Results
		remove      []string
		status      string
		hard, soft  []string
		missing     []string
		outstanding []string
	}{
		{name: "all in", status: Releasable},
		{name: "sterility pending", remove: []string{TestSterility}, status: Releasable, outstanding: []string{TestSterility}},
		{name: "viability pending", remove: []string{TestViability}, status: Incomplete, missing: []string{TestViability}},
		{name: "reported value pending", remove: []string{TestCD19}, status: Incomplete, missing: []string{TestCD19}},
		{name: "potency low", change: Results{TestPotency: {Value: 15}}, status: NeedsDeviation, soft: []string{TestPotency}},
		{name: "potency low, sterility pending", change: Results{TestPotency: {Value: 15}}, remove: []string{TestSterility},
			status: NeedsDeviation, soft: []string{TestPotency}, outstanding: []string{TestSterility}},
		{name: "soft fail and missing", change: Results{TestNKPurity: {Value: 60}}, remove: []string{TestMycoplasma},
			status: Incomplete, soft: []string{TestNKPurity}, missing: []string{TestMycoplasma}},
		{name: "mycoplasma detected", change: Results{TestMycoplasma: {Text: "detected"}}, status: Blocked, hard: []string{TestMycoplasma}},
		{name: "hard fail and missing", change: Results{TestResidualCD3: {Value: 1e7}}, remove: []string{TestViability, TestSterility},
			status: Blocked, hard: []string{TestResidualCD3}, missing: []string{TestViability}, outstanding: []string{TestSterility}},
		{name: "hard and soft", change: Results{TestEndotoxin: {Value: 6}, TestViability: {Value: 50}},
			status: Blocked, hard: []string{TestEndotoxin}, soft: []string{TestViability}},
		{name: "late sterility positive", change: Results{TestSterility: {Text: "growth"}}, status: Blocked, hard: []string{TestSterility}},
		{name: "low dose", change: Results{TestDose: {Value: 46.8}}, status: NeedsDeviation, soft: []string{TestDose}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := conforming()
			for k, v := range tc.change {
				r[k] = v
			}
			for _, k := range tc.remove {
				delete(r, k)
			}
			a, err := Evaluate(DefaultSpec(), r, 64)
			if err != nil {
				t.Fatal(err)
			}
			norm := func(s []string) []string {
				if s == nil {
					return []string{}
				}
				return s
			}
			if a.Status != tc.status {
				t.Errorf("status: got %s, want %s", a.Status, tc.status)
			}
			for _, c := range []struct {
				name      string
				got, want []string
			}{{"hard", a.HardFailures, tc.hard}, {"soft", a.SoftFailures, tc.soft}, {"missing", a.Missing, tc.missing}, {"outstanding", a.Outstanding, tc.outstanding}} {
				if diff := cmp.Diff(norm(c.want), c.got); diff != "" {
					t.Errorf("%s (-want +got):\n%s", c.name, diff)
				}
			}
		})
	}
}

func TestEvaluateErrors(t *testing.T) {
	tests := []struct {
		name   string
		r      Results
		weight float64
		field  string
		msg    string
	}{
		{"unknown test", Results{"viabilty": {Value: 90}}, 64, "results.viabilty", "is not a test of specification \"default\" version 1"},
		{"NaN", Results{TestViability: {Value: math.NaN()}}, 64, "results.viability.value", "must be a finite number"},
		{"Inf", Results{TestPotency: {Value: math.Inf(1)}}, 64, "results.potency.value", "must be a finite number"},
		{"no text", Results{TestSterility: {Value: 0}}, 64, "results.sterility.text", "a qualitative result needs its text"},
		{"weight 0", Results{TestResidualCD3: {Value: 1e6}}, 0, "weight_kg", "is missing (0)"},
		{"weight negative", Results{TestResidualCD3: {Value: 1e6}}, -64, "weight_kg", "must be positive, got -64"},
		{"weight NaN", Results{TestEndotoxinPerKg: {Value: 10}}, math.NaN(), "weight_kg", "is not a number"},
		{"weight 300", Results{TestEndotoxinPerKg: {Value: 10}}, 300, "weight_kg", "must be 2–250 kg, got 300"},
		{"weight 1.9", Results{TestEndotoxinPerKg: {Value: 10}}, 1.9, "weight_kg", "must be 2–250 kg"},
	}
	for _, tc := range tests {
		_, err := Evaluate(DefaultSpec(), tc.r, tc.weight)
		wantErr(t, err, tc.field, tc.msg)
	}
	// Without a per-kg result the weight is not needed.
	a, err := Evaluate(DefaultSpec(), Results{TestViability: {Value: 90}}, 0)
	if err != nil || a.Status != Incomplete || a.WeightKg != 0 {
		t.Errorf("no per-kg result, weight 0: got %s, %v, want incomplete", a.Status, err)
	}
	_, err = Evaluate(Spec{}, nil, 64)
	wantErr(t, err, "version", "must be 1 or more")
}

func TestSpecValidate(t *testing.T) {
	base := DefaultSpec()
	tests := []struct {
		name  string
		edit  func(*Spec)
		field string
		msg   string
	}{
		{"duplicate", func(s *Spec) { s.Limits[1].Test = TestViability }, "limits[1].test", "appears again (first at limits[0])"},
		{"bad key", func(s *Spec) { s.Limits[0].Test = "Viability %" }, "limits[0].test", "must be 1–64 characters"},
		{"no name", func(s *Spec) { s.Limits[0].Name = " " }, "limits[0].name", "is empty"},
		{"NaN bound", func(s *Spec) { s.Limits[0].Min.Value = math.NaN() }, "limits[0].min", "must be a finite number"},
		{"empty range", func(s *Spec) { s.Limits[11].Min.Value = 101 }, "limits[11].max", "admits no value"},
		{"open point", func(s *Spec) { s.Limits[11].Min.Value, s.Limits[11].Max.Inclusive = 100, false }, "limits[11].max", "admits no value"},
		{"both kinds", func(s *Spec) { s.Limits[6].Min = &Bound{Value: 1} }, "limits[6].expect", "either numeric"},
		{"padded expect", func(s *Spec) { s.Limits[6].Expect = "no growth " }, "limits[6].expect", "leading or trailing spaces"},
		{"per kg qualitative", func(s *Spec) { s.Limits[6].PerKg = true }, "limits[6].per_kg", "applies only to a numeric limit"},
		{"hard reported", func(s *Spec) { s.Limits[12].Hard = true }, "limits[12].hard", "no limit to fail"},
		{"no name spec", func(s *Spec) { s.Name = "" }, "name", "is empty"},
		{"version 0", func(s *Spec) { s.Version = 0 }, "version", "must be 1 or more"},
		{"no limits", func(s *Spec) { s.Limits = nil }, "limits", "is empty"},
	}
	for _, tc := range tests {
		s := DefaultSpec()
		tc.edit(&s)
		wantErr(t, s.Validate(), tc.field, tc.msg)
	}
	// The edits above worked on fresh copies: the default is still valid.
	if err := base.Validate(); err != nil {
		t.Error(err)
	}
	// A point range with both ends included is one allowed value.
	s := DefaultSpec()
	s.Limits[11].Min.Value = 100
	if err := s.Validate(); err != nil {
		t.Errorf("[100, 100]: %v", err)
	}
}

// TestRevise checks that a revision is a new version and leaves the old one, pointers
// included, untouched.
func TestRevise(t *testing.T) {
	v1 := DefaultSpec()
	stricter := v1.Limits[0]
	stricter.Min = &Bound{Value: 80}
	v2, err := v1.Revise(stricter, Limit{Test: "cd16", Name: "CD16+ fraction", Unit: "%"})
	if err != nil {
		t.Fatal(err)
	}
	if v2.Version != 2 || v1.Version != 1 {
		t.Errorf("versions: got %d and %d, want 2 and 1", v2.Version, v1.Version)
	}
	if v1.Limits[0].Min.Value != 70 || v2.Limits[0].Min.Value != 80 {
		t.Errorf("viability: v1 %v, v2 %v, want 70 and 80", v1.Limits[0].Min.Value, v2.Limits[0].Min.Value)
	}
	v2.Limits[1].Min.Value = 99
	if v1.Limits[1].Min.Value != 70 {
		t.Errorf("v2 shares a bound with v1")
	}
	if len(v2.Limits) != len(v1.Limits)+1 || v2.Limits[len(v2.Limits)-1].Test != "cd16" {
		t.Errorf("new test not appended: %d limits", len(v2.Limits))
	}
	r := conforming()
	r[TestViability] = Result{Value: 75}
	a1, _ := Evaluate(v1, r, 64)
	r["cd16"] = Result{Value: 80}
	a2, _ := Evaluate(v2, r, 64)
	if a1.Status != Releasable || a2.Status != NeedsDeviation || a2.SpecVersion != 2 {
		t.Errorf("75 %% viability: v1 %s, v2 %s (version %d), want releasable, needs_deviation", a1.Status, a2.Status, a2.SpecVersion)
	}
	_, err = v1.Revise(Limit{Test: "bad key"})
	wantErr(t, err, "limits[16].test", "must be 1–64 characters")
}

func TestLimitString(t *testing.T) {
	s := DefaultSpec()
	want := map[string]string{
		TestViability:       "> 70 %",
		TestResidualCD3:     "≤ 100000 CD3+ cells/kg",
		TestResidualFeeders: "< 0.1 %",
		TestEndotoxin:       "< 5 EU/mL",
		TestEndotoxinPerKg:  "≤ 5 EU/kg",
		TestSterility:       "no growth",
		TestDose:            "≥ 90 and ≤ 100 % of target",
		TestVolume:          "reported",
	}
	for _, l := range s.Limits {
		if w, ok := want[l.Test]; ok && l.String() != w {
			t.Errorf("%s: got %q, want %q", l.Test, l.String(), w)
		}
	}
	hard := []string{}
	for _, l := range s.Limits {
		if l.Hard {
			hard = append(hard, l.Test)
		}
	}
	wantHard := []string{TestResidualCD3, TestResidualFeeders, TestEndotoxin, TestEndotoxinPerKg, TestGramStain, TestSterility, TestMycoplasma, TestIdentity}
	if !slices.Equal(hard, wantHard) {
		t.Errorf("hard limits: got %v, want %v", hard, wantHard)
	}
}
