package design

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clink-consortium/clink"
	"github.com/google/go-cmp/cmp"
)

func TestDefaultSpaceValid(t *testing.T) {
	s := DefaultSpace()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	want := []Dim{
		{"il2", Continuous, 0}, {"il15", Continuous, 0}, {"il21", Continuous, 0},
		{"feeder", Categorical, 6}, {"feeder_ratio", Continuous, 0}, {"restimulation", Categorical, 4},
		{"harvest_day", Integer, 0}, {"vessel", Categorical, 5},
	}
	if d := cmp.Diff(want, s.Dims()); d != "" {
		t.Errorf("Dims (-want +got):\n%s", d)
	}
	// DefaultSpace returns a fresh value: changing one does not change the next.
	s.Factors[3].Levels[0] = "changed"
	if DefaultSpace().Factors[3].Levels[0] != "none" {
		t.Error("DefaultSpace shares its level slices between calls")
	}
}

// validSpace is a small space touching every kind of factor.
func validSpace() *Space {
	return &Space{
		Name: "test",
		Factors: []Factor{
			{Name: "il2", Unit: "IU/mL", Kind: Continuous, Low: 0, High: 1000, Scale: Log, Offset: 1},
			{Name: "ratio", Kind: Continuous, Low: 0.5, High: 20, Scale: Log},
			{Name: "dose", Kind: Continuous, Low: -2, High: 6},
			{Name: "day", Kind: Integer, Low: 7, High: 28},
			{Name: "feeder", Kind: Categorical, Levels: []string{"none", "PBMC", "LCL"}},
		},
		Constraints: []Constraint{{Name: "budget", Terms: []Term{{"il2", 0.01}, {"dose", 1}}, Bound: 12}},
	}
}

func TestValidateMessages(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(s *Space)
		field string
		msg   string
	}{
		{"low above high", func(s *Space) { s.Factors[2].Low, s.Factors[2].High = 50, 5 }, "factors[2].low", "factor dose: low 50 is above high 5"},
		{"equal bounds", func(s *Space) { s.Factors[2].Low, s.Factors[2].High = 5, 5 }, "factors[2].high", "factor dose: low and high are both 5"},
		{"no name", func(s *Space) { s.Name = " " }, "name", "is required"},
		{"factor name", func(s *Space) { s.Factors[1].Name = "2x" }, "factors[1].name", "starts with a letter"},
		{"duplicate name", func(s *Space) { s.Factors[1].Name = "il2" }, "factors[1].name", "factor il2: the name is also used by factors[0]"},
		{"unknown kind", func(s *Space) { s.Factors[0].Kind = "real" }, "factors[0].kind", `unknown kind "real"`},
		{"missing kind", func(s *Space) { s.Factors[0].Kind = "" }, "factors[0].kind", "is required"},
		{"NaN bound", func(s *Space) { s.Factors[2].High = math.NaN() }, "factors[2].high", "finite"},
		{"log without offset", func(s *Space) { s.Factors[0].Offset = 0 }, "factors[0].offset", "offset + low > 0"},
		{"offset swamps range", func(s *Space) { s.Factors[0].Offset = 1e300 }, "factors[0].offset", "swamps the range"},
		{"offset on linear", func(s *Space) { s.Factors[2].Offset = 1 }, "factors[2].offset", "only to the log scale"},
		{"unknown scale", func(s *Space) { s.Factors[2].Scale = "sqrt" }, "factors[2].scale", `unknown scale "sqrt"`},
		{"integer log", func(s *Space) { s.Factors[3].Scale = Log }, "factors[3].scale", "integer factors are linear"},
		{"integer fraction", func(s *Space) { s.Factors[3].High = 27.5 }, "factors[3].high", "not a whole number"},
		{"levels on numeric", func(s *Space) { s.Factors[2].Levels = []string{"a"} }, "factors[2].levels", "only categorical"},
		{"one level", func(s *Space) { s.Factors[4].Levels = []string{"none"} }, "factors[4].levels", "at least 2 levels"},
		{"repeated level", func(s *Space) { s.Factors[4].Levels[2] = "none" }, "factors[4].levels[2]", `level "none" repeats levels[0]`},
		{"empty level", func(s *Space) { s.Factors[4].Levels[1] = "" }, "factors[4].levels[1]", "level name is required"},
		{"bounds on categorical", func(s *Space) { s.Factors[4].High = 3 }, "factors[4].low", "not low and high"},
		{"no factors", func(s *Space) { s.Factors = nil; s.Constraints = nil }, "factors", "at least one factor"},
		{"constraint unknown factor", func(s *Space) { s.Constraints[0].Terms[1].Factor = "il15" }, "constraints[0].terms[1].factor", `constraint budget: no factor is named "il15"`},
		{"constraint categorical", func(s *Space) { s.Constraints[0].Terms[1].Factor = "feeder" }, "constraints[0].terms[1].factor", "is categorical"},
		{"constraint zero coef", func(s *Space) { s.Constraints[0].Terms[0].Coef = 0 }, "constraints[0].terms[0].coef", "nonzero"},
		{"constraint repeats factor", func(s *Space) { s.Constraints[0].Terms[1].Factor = "il2" }, "constraints[0].terms[1].factor", "already appears in terms[0]"},
		{"constraint no terms", func(s *Space) { s.Constraints[0].Terms = nil }, "constraints[0].terms", "at least one term"},
		{"constraint unmeetable", func(s *Space) { s.Constraints[0].Bound = -3 }, "constraints[0].bound", "smallest value of its left side within the factors' bounds is -2, above the bound -3"},
		{"constraints jointly unmeetable", func(s *Space) {
			s.Constraints = append(s.Constraints, Constraint{Terms: []Term{{"dose", -1}}, Bound: -5}, Constraint{Terms: []Term{{"dose", 1}}, Bound: 4})
		}, "constraints", "no point within the factors' bounds meets all 3 constraints together"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := validSpace()
			tc.edit(s)
			err := s.Validate()
			if clink.ErrorCode(err) != clink.EINVALID {
				t.Fatalf("got %v, want an EINVALID error", err)
			}
			for _, f := range clink.ErrorFields(err) {
				if f.Field == tc.field && strings.Contains(f.Message, tc.msg) {
					return
				}
			}
			t.Errorf("got %v, want field %s with a message containing %q", err, tc.field, tc.msg)
		})
	}
	if err := validSpace().Validate(); err != nil {
		t.Errorf("valid space: %v", err)
	}
}

func TestSpaceJSONRoundTrip(t *testing.T) {
	for _, s := range []*Space{validSpace(), DefaultSpace()} {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseSpace(b)
		if err != nil {
			t.Fatalf("ParseSpace(%s): %v", b, err)
		}
		// Marshalling writes the linear scale of numeric factors explicitly.
		want := *s
		want.Factors = append([]Factor(nil), s.Factors...)
		for i := range want.Factors {
			if k := want.Factors[i].Kind; (k == Continuous || k == Integer) && want.Factors[i].Scale == "" {
				want.Factors[i].Scale = Linear
			}
		}
		if d := cmp.Diff(&want, got); d != "" {
			t.Errorf("round trip of %s (-want +got):\n%s", s.Name, d)
		}
		again, _ := json.Marshal(got)
		if string(again) != string(b) && s.Name != "test" {
			t.Errorf("the JSON form is not stable:\n%s\n%s", b, again)
		}
	}
}

// TestSpaceJSONGolden pins the JSON form of the default space, which stored spaces and the API
// depend on (testdata/default_space.json: written once by json.MarshalIndent and checked
// line by line against domain.md §9.1; a change to it is a change of the stored format).
func TestSpaceJSONGolden(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("testdata", "default_space.json"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(DefaultSpace(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(strings.TrimSpace(string(want)), string(got)); d != "" {
		t.Errorf("JSON of DefaultSpace (-want +got):\n%s", d)
	}
}

func TestParseSpaceErrors(t *testing.T) {
	tests := []struct {
		json, code, want string
	}{
		{`{"name": "x", "factors": [{"name": "a", "kind": "continuous", "low": 0, "high": 1, "colour": "red"}]}`, clink.EMALFORMED, `unknown field "colour"`},
		{`{"name": "x"} {}`, clink.EMALFORMED, "unexpected data"},
		{`{"name": `, clink.EMALFORMED, "space"},
		{`[]`, clink.EMALFORMED, "space"},
		{`{"name": "x", "factors": [{"name": "a", "kind": "continuous", "low": 2, "high": 1}]}`, clink.EINVALID, "factors[0].low: factor a: low 2 is above high 1"},
	}
	for _, tc := range tests {
		_, err := ParseSpace([]byte(tc.json))
		if clink.ErrorCode(err) != tc.code || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseSpace(%s): got %v, want a %s error containing %q", tc.json, err, tc.code, tc.want)
		}
	}
}

func TestPointJSON(t *testing.T) {
	p := Point{"il2": Num(100), "feeder": Cat("EBV-LCL"), "day": Num(14)}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"day":14,"feeder":"EBV-LCL","il2":100}`; string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
	var q Point
	if err := json.Unmarshal(b, &q); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(p, q); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
	for _, bad := range []string{`{"a": null}`, `{"a": ""}`, `{"a": true}`, `{"a": [1]}`} {
		var q Point
		if err := json.Unmarshal([]byte(bad), &q); err == nil {
			t.Errorf("Unmarshal(%s): got no error", bad)
		}
	}
	if _, err := json.Marshal(Point{"a": Num(math.NaN())}); err == nil {
		t.Error("Marshal of NaN: got no error")
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	s := validSpace()
	points := []Point{
		{"il2": Num(0), "ratio": Num(0.5), "dose": Num(-2), "day": Num(7), "feeder": Cat("none")},
		{"il2": Num(1000), "ratio": Num(20), "dose": Num(6), "day": Num(28), "feeder": Cat("LCL")},
		{"il2": Num(10), "ratio": Num(2), "dose": Num(0.3), "day": Num(14), "feeder": Cat("PBMC")},
		{"il2": Num(999.999), "ratio": Num(0.5000001), "dose": Num(5.999999), "day": Num(27), "feeder": Cat("PBMC")},
	}
	for _, p := range points {
		u, err := s.Encode(p)
		if err != nil {
			t.Fatalf("Encode(%v): %v", p, err)
		}
		for i, x := range u {
			if f := s.Factors[i]; f.Kind != Categorical && (x < 0 || x > 1) {
				t.Errorf("Encode(%v)[%d] = %g, outside [0, 1]", p, i, x)
			}
		}
		q, err := s.Decode(u)
		if err != nil {
			t.Fatalf("Decode(%v): %v", u, err)
		}
		for name, v := range p {
			w := q[name]
			if v.IsLevel() != w.IsLevel() || v.Level != w.Level || math.Abs(v.X-w.X) > 1e-12*max(1, math.Abs(v.X)) {
				t.Errorf("%s: round trip of %v gave %v", name, v, w)
			}
		}
	}
	// Known coordinates: IL-2 at 10 IU/mL on ln(1 + c) is ln 11 / ln 1001; ratio 2 on ln c is
	// ln(4)/ln(40); day 14 is 7/21; PBMC is level 1.
	u, err := s.Encode(points[2])
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{math.Log(11) / math.Log(1001), math.Log(4) / math.Log(40), 2.3 / 8, 7.0 / 21, 1}
	for i := range want {
		if math.Abs(u[i]-want[i]) > 1e-15 {
			t.Errorf("coordinate %d: got %.17g, want %.17g", i, u[i], want[i])
		}
	}
	// Decode rounds integers and level indices, and clamps rounding overshoot.
	p, err := s.Decode([]float64{1 + 1e-12, -1e-12, 0.5, 0.49 / 21, 1.4})
	if err != nil {
		t.Fatal(err)
	}
	if p["il2"].X != 1000 || p["ratio"].X != 0.5 || p["dose"].X != 2 || p["day"].X != 7 || p["feeder"].Level != "PBMC" {
		t.Errorf("Decode: got %v", p)
	}
	p, _ = s.Decode([]float64{0, 0, 0, 0.5 / 21 * 1.01, 1.6})
	if p["day"].X != 8 || p["feeder"].Level != "LCL" {
		t.Errorf("Decode rounding: got day %v, feeder %v; want 8, LCL", p["day"], p["feeder"])
	}
}

func TestEncodeDecodeErrors(t *testing.T) {
	s := validSpace()
	good := Point{"il2": Num(1), "ratio": Num(1), "dose": Num(1), "day": Num(10), "feeder": Cat("none")}
	tests := []struct {
		name  string
		edit  func(p Point)
		field string
		msg   string
	}{
		{"missing", func(p Point) { delete(p, "dose") }, "point.dose", "is required"},
		{"extra", func(p Point) { p["il15"] = Num(1) }, "point.il15", "not a factor"},
		{"out of range", func(p Point) { p["il2"] = Num(1001) }, "point.il2", "1001 is outside 0–1000"},
		{"fractional day", func(p Point) { p["day"] = Num(10.5) }, "point.day", "not a whole number"},
		{"unknown level", func(p Point) { p["feeder"] = Cat("K562") }, "point.feeder", `unknown level "K562"`},
		{"number for level", func(p Point) { p["feeder"] = Num(1) }, "point.feeder", "got the number 1"},
		{"level for number", func(p Point) { p["dose"] = Cat("high") }, "point.dose", `got the level "high"`},
		{"NaN", func(p Point) { p["dose"] = Num(math.NaN()) }, "point.dose", "finite"},
	}
	for _, tc := range tests {
		p := Point{}
		for k, v := range good {
			p[k] = v
		}
		tc.edit(p)
		_, err := s.Encode(p)
		found := false
		for _, f := range clink.ErrorFields(err) {
			found = found || (f.Field == tc.field && strings.Contains(f.Message, tc.msg))
		}
		if !found {
			t.Errorf("%s: got %v, want field %s with %q", tc.name, err, tc.field, tc.msg)
		}
	}
	for _, u := range [][]float64{
		{0, 0, 0, 0},
		{0, 0, 0, 0, 3},
		{0, 0, 0, 0, -0.6},
		{1.1, 0, 0, 0, 0},
		{math.NaN(), 0, 0, 0, 0},
		{0, 0, math.Inf(1), 0, 0},
	} {
		if _, err := s.Decode(u); clink.ErrorCode(err) != clink.EINVALID {
			t.Errorf("Decode(%v): got %v, want an EINVALID error", u, err)
		}
	}
}

func TestFeasible(t *testing.T) {
	s := DefaultSpace()
	base := Point{"il2": Num(1000), "il15": Num(20), "il21": Num(30), "feeder": Cat("none"), "feeder_ratio": Num(1),
		"restimulation": Cat("none"), "harvest_day": Num(14), "vessel": Cat("flask")}
	// 1000/100 + 20 + 30 = 60: on the boundary, feasible.
	if !s.Feasible(base) {
		t.Errorf("il2/100 + il15 + il21 = 60 ≤ 60: got infeasible")
	}
	base["il21"] = Num(30.001)
	if s.Feasible(base) || len(s.Violations(base)) != 1 {
		t.Errorf("il2/100 + il15 + il21 = 60.001 > 60: got feasible (violations %v)", s.Violations(base))
	}
	delete(base, "il21")
	if s.Feasible(base) {
		t.Error("a point without il21 counts as feasible")
	}
	if v := s.Constraints[0].Value(base); !math.IsNaN(v) {
		t.Errorf("Value without il21: got %g, want NaN", v)
	}
}
