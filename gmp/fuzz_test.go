package gmp

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/clink-consortium/clink"
)

// addDINSeeds seeds a fuzz target with every DIN string of gmp.md §2.4: the vectors with and
// without K, the negative and format-invalid inputs, and the shifted string of pitfall 4.
func addDINSeeds(f *testing.F) {
	for _, v := range dinVectors {
		f.Add(v.din)
		f.Add(v.din + string(v.k))
		f.Add(v.din + string(v.offByOne))
		f.Add("=" + v.din + v.flag)
	}
	for _, s := range []string{"A999915123456N", "F123498654321H", "A999922564321S", "A999920212346*", "A999933123458J",
		"G123468954321H", "O123417654321", "0123417654321", "G12341765432", "G1234176543A1", "NA999914123456",
		"G1234 17 654321 A", "ABCDE27000069", "", "g123417654321", "G1234\xff7654321"} {
		f.Add(s)
	}
}

// FuzzParseDIN checks that no input panics ParseDIN, that every refusal is EINVALID on "din",
// and that every DIN it accepts round-trips through each text form, has exactly one check
// character (pure MOD 37-2 system), and passes CheckChar, ValidCheckChar and ParseDINData.
func FuzzParseDIN(f *testing.F) {
	addDINSeeds(f)
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDIN(s)
		if err != nil {
			if fs := clink.ErrorFields(err); clink.ErrorCode(err) != clink.EINVALID || len(fs) != 1 || fs[0].Field != "din" {
				t.Fatalf("ParseDIN(%q): got %v, want one EINVALID error on din", s, err)
			}
			return
		}
		if len(d.String()) != 13 {
			t.Fatalf("ParseDIN(%q): got %q", s, d)
		}
		for _, form := range []string{d.String(), d.Keyboard(), d.Grouped(), d.Grouped() + " " + string(d.Check())} {
			if back, err := ParseDIN(form); err != nil || back != d {
				t.Fatalf("ParseDIN(%q): got %v, %v, want %v", form, back, err, d)
			}
		}
		k, err := CheckChar(d.String())
		if err != nil || k != d.Check() {
			t.Fatalf("CheckChar(%s): got %c, %v, want %c", d, k, err, d.Check())
		}
		for i := 0; i < len(mod37Alphabet); i++ {
			c := mod37Alphabet[i]
			ok, want, err := ValidCheckChar(d.String(), c)
			if err != nil || want != k || ok != (c == k) {
				t.Fatalf("ValidCheckChar(%s, %c): got %v, %c, %v", d, c, ok, want, err)
			}
		}
		data, err := d.Data(d.Type3Flag())
		if err != nil {
			t.Fatal(err)
		}
		if back, f, err := ParseDINData(data); err != nil || back != d || f.CheckValue != d.CheckValue() {
			t.Fatalf("ParseDINData(%s): got %v, %+v, %v", data, back, f, err)
		}
	})
}

// FuzzCheckChar checks the raw MOD 37-2 function on any string: no panic; on success it agrees
// with the position-weighted form in big integers, appending K makes the recursive residue 1
// (the pure-system property of gmp.md §2.4), and any single substitution changes K (ISO/IEC
// 7064 detects every single substitution).
func FuzzCheckChar(f *testing.F) {
	addDINSeeds(f)
	f.Add("ZZZZ")
	f.Add("ABCDEFGHIJKLMNOPQRSTUVWX")
	f.Add(strings.Repeat("Z", 26))
	f.Add("CHA999925AB1234")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := Mod37Check(s)
		if err != nil {
			if clink.ErrorCode(err) != clink.EINVALID {
				t.Fatalf("Mod37Check(%q): got %v, want EINVALID", s, err)
			}
			return
		}
		smod := new(big.Int).Mod(weightedSum(s), big.NewInt(37)).Int64()
		if want := mod37Alphabet[(38-smod)%37]; k != want {
			t.Fatalf("Mod37Check(%s): got %c, position-weighted form gives %c", s, k, want)
		}
		p := 0
		for _, c := range s + string(k) {
			p = (p + checkValue(c)) % 37
			p = p * 2 % 37
		}
		// The recursion doubles once more after K; undo it: the residue before is (p·19) mod 37.
		if before := p * 19 % 37; before != 1 {
			t.Fatalf("(p + K) mod 37 = %d for %s%c, want 1", before, s, k)
		}
		if len(s) > 40 {
			return // keep each run short; substitution detection does not depend on length
		}
		b := []byte(s)
		for i := range b {
			orig := b[i]
			for j := 0; j < 36; j++ {
				if mod37Alphabet[j] == orig {
					continue
				}
				b[i] = mod37Alphabet[j]
				if k2, _ := Mod37Check(string(b)); k2 == k {
					t.Fatalf("substituting %c for %c at %d of %s leaves K = %c", b[i], orig, i+1, s, k)
				}
			}
			b[i] = orig
		}
	})
}

// FuzzParseDINData checks that no input panics ParseDINData and that a Type 3 flag it accepts
// always carries the DIN's check value.
func FuzzParseDINData(f *testing.F) {
	addDINSeeds(f)
	f.Add("=G12341765432171")
	f.Add("=G123417654321XY")
	f.Fuzz(func(t *testing.T, s string) {
		d, fl, err := ParseDINData(s)
		if err != nil {
			if clink.ErrorCode(err) != clink.EINVALID {
				t.Fatalf("got %v, want EINVALID", err)
			}
			return
		}
		if fl.Type == FlagType3 && fl.CheckValue != d.CheckValue() {
			t.Fatalf("%q: flag %s accepted for check value %d", s, fl.Code, d.CheckValue())
		}
		if back, err := d.Data(fl.Code); err != nil || back != s {
			t.Fatalf("Data(%s): got %q, %v, want %q", fl.Code, back, err, s)
		}
	})
}

// FuzzParseCOI checks that no input panics ParseCOI and that accepted identifiers round-trip.
func FuzzParseCOI(f *testing.F) {
	for _, s := range []string{"CHA999925AB1234", "CHA999925AB1234A", "&/CHA999925AB1234", "CHA999925AB1234B", "CH", "&/", "CHO999925AB1234"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCOI(s)
		if err != nil {
			if clink.ErrorCode(err) != clink.EINVALID {
				t.Fatalf("got %v, want EINVALID", err)
			}
			return
		}
		for _, form := range []string{c.String(), c.Keyboard(), c.Data()} {
			if back, err := ParseCOI(form); err != nil || back != c {
				t.Fatalf("ParseCOI(%q): got %v, %v, want %v", form, back, err, c)
			}
		}
	})
}

// FuzzParseProductCode checks that no input panics ParseProductCode and that accepted codes
// round-trip.
func FuzzParseProductCode(f *testing.F) {
	for _, s := range []string{"=<S9999V00", "S9999R00", "=<S99994A0", "=<s9999V00", "=<S9999V0", "=<"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseProductCode(s)
		if err != nil {
			if clink.ErrorCode(err) != clink.EINVALID {
				t.Fatalf("got %v, want EINVALID", err)
			}
			return
		}
		if back, err := ParseProductCode(p.Data()); err != nil || back != p {
			t.Fatalf("ParseProductCode(%q): got %v, %v, want %v", p.Data(), back, err, p)
		}
	})
}

// FuzzParseDateTime checks that no input panics the date parsers and that accepted dates
// round-trip.
func FuzzParseDateTime(f *testing.F) {
	for _, s := range []string{"&>0183652359", "&>0253662359", "&*0250602359", "&>02500A2359", "&>9999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseExpiration(s)
		if err != nil {
			if clink.ErrorCode(err) != clink.EINVALID {
				t.Fatalf("got %v, want EINVALID", err)
			}
			return
		}
		if back, err := d.ExpirationData(); err != nil || back != s {
			t.Fatalf("ExpirationData: got %q, %v, want %q", back, err, s)
		}
	})
}

// floats decodes fuzz bytes into float64s so that any bit pattern reaches the calculation.
func floats(b []byte, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		if len(b) >= 8 {
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b))
			b = b[8:]
		}
	}
	return out
}

func encode(xs ...float64) []byte {
	var b []byte
	for _, x := range xs {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
	}
	return b
}

// FuzzCalculateDose checks that no input panics CalculateDose, that every error is EINVALID,
// and that every result marshals to JSON (only finite numbers) and exceeds no cap.
func FuzzCalculateDose(f *testing.F) {
	f.Add(encode(2e7, 92, 94, 0.6, 95, 72.4, 1e7, 1e5, 0, 0, 0), uint8(0), uint8(0))
	f.Add(encode(2e7, 92, 94, 0, 500, 70, 1e8, 1e5, 0, 0.1, 200), uint8(1), uint8(0))
	f.Add(encode(2e7, 92, 94, 2, 95, 72.4, 1e7, 1e5, 1, 0.01, 10), uint8(0), uint8(5))
	f.Add(encode(5e-324, 1e-300, 100, 0, 1e-300, 2, 1e12, 1e12, 0, 0.001, 1e-300), uint8(0), uint8(99))
	f.Add(encode(math.NaN(), math.Inf(1), -1, 101, 0, 0, 0, 0, 0, 0, 0), uint8(1), uint8(200))
	f.Fuzz(func(t *testing.T, raw []byte, cryo, bags uint8) {
		x := floats(raw, 11)
		in := DoseInput{TNCPerML: x[0], ViabilityPct: x[1], NKPurityPct: x[2], CD3Pct: x[3], AvailableML: x[4],
			WeightKg: x[5], TargetNKPerKg: x[6], CD3CapPerKg: x[7], MaxMLPerKg: x[8], ResolutionML: x[9], BagMaxML: x[10],
			MinBags: int(bags)}
		if cryo%2 == 1 {
			in.Cryopreserved, in.DMSOGPerML, in.DMSOCapGPerKg = true, 0.11, 1
		}
		d, err := CalculateDose(in)
		if err != nil {
			if clink.ErrorCode(err) != clink.EINVALID {
				t.Fatalf("got %v, want EINVALID", err)
			}
			return
		}
		if _, err := json.Marshal(d); err != nil {
			t.Fatalf("json: %v", err)
		}
		if d.DeliveredNKPerKg > in.TargetNKPerKg*(1+1e-15) || d.DeliveredCD3PerKg > in.CD3CapPerKg*(1+1e-15) || d.VolumeML > in.AvailableML {
			t.Fatalf("a cap is exceeded: %+v for %+v", d, in)
		}
	})
}

// FuzzEvaluate checks that no results panic Evaluate, that every error is EINVALID, and that
// every assessment marshals to JSON.
func FuzzEvaluate(f *testing.F) {
	f.Add(encode(92, 94, 4e6, 0, 0.5, 18.5, 45, 99.99, 64), "no growth")
	f.Add(encode(70, 70, 6.4e6, 0.1, 5, 320, 20, 90, 64), "growth")
	f.Add(encode(math.NaN(), math.Inf(1), 1e308, -1, 0, 5e-324, 0, 0, 0), "")
	f.Fuzz(func(t *testing.T, raw []byte, text string) {
		x := floats(raw, 9)
		keys := []string{TestViability, TestNKPurity, TestResidualCD3, TestResidualFeeders, TestEndotoxin, TestEndotoxinPerKg, TestPotency, TestDose}
		r := Results{TestSterility: {Text: text}}
		for i, k := range keys {
			if x[i] != 0 {
				r[k] = Result{Value: x[i]}
			}
		}
		a, err := Evaluate(DefaultSpec(), r, x[8])
		if err != nil {
			if clink.ErrorCode(err) != clink.EINVALID {
				t.Fatalf("got %v, want EINVALID", err)
			}
			return
		}
		if _, err := json.Marshal(a); err != nil {
			t.Fatalf("json: %v", err)
		}
	})
}
