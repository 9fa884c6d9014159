package design

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseSpace feeds arbitrary JSON to ParseSpace. A space it accepts must marshal and parse
// back to the same JSON, and encoding, decoding and mapping designs onto it must not panic.
func FuzzParseSpace(f *testing.F) {
	golden, err := os.ReadFile(filepath.Join("testdata", "default_space.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	small, _ := json.Marshal(validSpace())
	f.Add(small)
	f.Add([]byte(`{"name":"a","factors":[{"name":"x","kind":"integer","low":0,"high":2}],"constraints":[{"terms":[{"factor":"x","coef":-1}],"bound":-0.5},{"terms":[{"factor":"x","coef":1}],"bound":0.9}]}`))
	f.Add([]byte(`{"name":"a","factors":[{"name":"x","kind":"continuous","low":-1e15,"high":1e15,"scale":"log","offset":2e15}]}`))
	f.Add([]byte(`{"name":"a","factors":[{"name":"c","kind":"categorical","levels":["p","q"]}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSpace(data)
		if err != nil {
			return
		}
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("a valid space does not marshal: %v", err)
		}
		s2, err := ParseSpace(b)
		if err != nil {
			t.Fatalf("the marshalled form %s does not parse: %v", b, err)
		}
		if b2, _ := json.Marshal(s2); string(b2) != string(b) {
			t.Fatalf("the JSON form is not stable:\n%s\n%s", b, b2)
		}
		d := len(s.Factors)
		design := [][]float64{make([]float64, d), make([]float64, d), make([]float64, d)}
		for i := range d {
			design[1][i], design[2][i] = 0.5, 1
		}
		for _, mode := range []Infeasible{Skip, Repair} {
			m, err := s.FromUnit(design, mode)
			if err != nil {
				t.Fatalf("FromUnit on a valid space: %v", err)
			}
			for _, p := range m.Points {
				u, err := s.Encode(p)
				if err != nil {
					t.Fatalf("Encode(%v) of a mapped point: %v", p, err)
				}
				if _, err := s.Decode(u); err != nil {
					t.Fatalf("Decode(%v): %v", u, err)
				}
			}
		}
	})
}

// FuzzFractionalFactorial feeds arbitrary generator lists (separated by ';') to
// FractionalFactorial; whatever it accepts must be a regular fraction.
func FuzzFractionalFactorial(f *testing.F) {
	for kp, g := range standardGenerators {
		f.Add(uint8(kp[0]), strings.Join(g, ";"))
	}
	f.Add(uint8(4), "D=-ABC")
	f.Add(uint8(4), "D = A B C")
	f.Add(uint8(5), "E=ABCD;E=AB")
	f.Add(uint8(3), "")
	f.Fuzz(func(t *testing.T, k uint8, gens string) {
		var g []string
		if gens != "" {
			g = strings.Split(gens, ";")
		}
		fr, err := FractionalFactorial(int(k), g)
		if err != nil {
			return
		}
		if len(fr.Runs) > 1<<12 {
			return // checking large designs is slow, and they are built the same way
		}
		checkFractionRuns(t, fr)
		fr.Aliases(2)
	})
}
