package gmp

import (
	"encoding/json"
	"math/big"
	"strings"
	"testing"

	"github.com/clink-consortium/clink"
)

// weightedSum is the position-weighted form of gmp.md §2.4, written independently of mod37:
// S = Σ v(c)·2ⁿ with the rightmost character at n = 1, in big integers so that any length is
// exact.
func weightedSum(s string) *big.Int {
	sum := new(big.Int)
	for i := 0; i < len(s); i++ {
		v := int64(strings.IndexByte(mod37Alphabet, s[i]))
		w := new(big.Int).Lsh(big.NewInt(1), uint(len(s)-i))
		sum.Add(sum, w.Mul(w, big.NewInt(v)))
	}
	return sum
}

// dinVectors is the test-vector table of gmp.md §2.4, each row recomputed with both forms by
// testdata/mod37_vectors.py: DIN, S, S mod 37, check value, K, Type 3 flag, and the result of
// the off-by-one error (37 instead of 38), which a correct implementation must not give.
var dinVectors = []struct {
	din      string
	s        int64
	smod     int64
	value    int
	k        byte
	flag     string
	offByOne byte
	source   string
}{
	{"G123417654321", 146178, 28, 10, 'A', "70", '9', "ST-001 Appendix A.1"},
	{"G123498654321", 148354, 21, 17, 'H', "77", 'G', "UK Red Book Annex 2"},
	{"A999818123456", 152048, 15, 23, 'N', "83", 'M', "ST-001 §7.5 example"},
	{"W000009123456", 263536, 22, 16, 'G', "76", 'F', "ST-001 §7.4 example"},
	{"A999921123456", 151920, 35, 3, '3', "63", '2', "ST-001 Figure 2"},
	{"A999917123456", 152432, 29, 9, '9', "69", '8', "ST-001 Appendix C"},
	{"A999917123654", 152444, 4, 34, 'Y', "94", 'X', "ST-001 Appendix C"},
	{"A999820123456", 151280, 24, 14, 'E', "74", 'D', "ST-001 Appendix C"},
	{"A999914123456", 152048, 15, 23, 'N', "83", 'M', "CheckDigits.Net test suite"},
	{"C000307001466", 100820, 32, 6, '6', "66", '5', "CheckDigits.Net test suite"},
	{"A999922123459", 152054, 21, 17, 'H', "77", 'G', "CheckDigits.Net test suite"},
	{"A999922654321", 152450, 10, 28, 'S', "88", 'R', "CheckDigits.Net test suite"},
	{"A999922123458", 152052, 19, 19, 'J', "79", 'I', "CheckDigits.Net test suite"},
	{"A999922012346", 151924, 2, 36, '*', "96", 'Z', "CheckDigits.Net test suite"},
	{"A999522123456", 150000, 2, 36, '*', "96", 'Z', "CheckDigits.Net test suite"},
}

// TestCheckCharVectors checks every vector of gmp.md §2.4 through every public door: the raw
// function, CheckChar, ValidCheckChar, ParseDIN with K, and the Type 3 flag. The sums S are
// checked too, so a table typo cannot hide, and the off-by-one column proves that the table
// catches pitfall 1.
func TestCheckCharVectors(t *testing.T) {
	for _, tc := range dinVectors {
		t.Run(tc.din, func(t *testing.T) {
			s := weightedSum(tc.din)
			if s.Int64() != tc.s {
				t.Errorf("S: got %v, want %d", s, tc.s)
			}
			smod := new(big.Int).Mod(s, big.NewInt(37)).Int64()
			if smod != tc.smod {
				t.Errorf("S mod 37: got %d, want %d", smod, tc.smod)
			}
			if got := mod37Alphabet[(38-smod)%37]; got != tc.k {
				t.Errorf("position-weighted K: got %c, want %c", got, tc.k)
			}
			if got := mod37Alphabet[(37-smod)%37]; got != tc.offByOne || got == tc.k {
				t.Errorf("off-by-one K: got %c, want %c (and not %c)", got, tc.offByOne, tc.k)
			}
			if got, err := Mod37Check(tc.din); err != nil || got != tc.k {
				t.Errorf("Mod37Check: got %c, %v, want %c", got, err, tc.k)
			}
			got, err := CheckChar(tc.din)
			if err != nil || got != tc.k {
				t.Fatalf("CheckChar: got %c, %v, want %c", got, err, tc.k)
			}
			ok, want, err := ValidCheckChar(tc.din, tc.k)
			if err != nil || !ok || want != tc.k {
				t.Errorf("ValidCheckChar(K): got %v, %c, %v, want true, %c", ok, want, err, tc.k)
			}
			ok, want, err = ValidCheckChar(tc.din, tc.offByOne)
			if err != nil || ok || want != tc.k {
				t.Errorf("ValidCheckChar(off-by-one): got %v, %c, %v, want false, %c", ok, want, err, tc.k)
			}
			d, err := ParseDIN(tc.din + string(tc.k))
			if err != nil {
				t.Fatalf("ParseDIN(DIN+K): %v", err)
			}
			if d.String() != tc.din || d.CheckValue() != tc.value || d.Type3Flag() != tc.flag {
				t.Errorf("got DIN %s, value %d, flag %s, want %s, %d, %s", d, d.CheckValue(), d.Type3Flag(), tc.din, tc.value, tc.flag)
			}
			if _, err := ParseDIN(tc.din + string(tc.offByOne)); err == nil {
				t.Errorf("ParseDIN(DIN+off-by-one K) passed")
			}
			data := "=" + tc.din + tc.flag
			d2, f, err := ParseDINData(data)
			if err != nil || d2 != d || f.Type != FlagType3 || f.CheckValue != tc.value {
				t.Errorf("ParseDINData(%s): got %v, %+v, %v", data, d2, f, err)
			}
		})
	}
}

// TestWorkedExample follows ST-001 Appendix A.1 as told in gmp.md §2.4: G1234 17 654321 has
// S = 146,178, K = A, Type 3 flag 70, bar-code data =G12341765432170, and the eye-readable
// text G1234 17 654321. Weighting the rightmost character by 2⁰ (pitfall 2) gives O.
func TestWorkedExample(t *testing.T) {
	d, err := ParseDIN("G1234 17 654321")
	if err != nil {
		t.Fatal(err)
	}
	if d.FIN() != "G1234" || d.Year() != 17 || d.Sequence() != 654321 {
		t.Errorf("got FIN %s, year %d, sequence %d, want G1234, 17, 654321", d.FIN(), d.Year(), d.Sequence())
	}
	if d.Check() != 'A' || d.Keyboard() != "G123417654321A" || d.Grouped() != "G1234 17 654321" {
		t.Errorf("got K %c, keyboard %s, grouped %q", d.Check(), d.Keyboard(), d.Grouped())
	}
	data, err := d.Data(d.Type3Flag())
	if err != nil || data != "=G12341765432170" {
		t.Errorf("Data: got %q, %v, want =G12341765432170", data, err)
	}
	half := new(big.Int).Rsh(weightedSum("G123417654321"), 1) // weights 2⁰…2¹²
	if got := mod37Alphabet[(38-new(big.Int).Mod(half, big.NewInt(37)).Int64())%37]; got != 'O' {
		t.Errorf("wrong weights: got %c, want O", got)
	}
	for _, s := range []string{"G1234 17 654321 A", "G1234 17 654321A", "G123417654321A", " G123417654321 "} {
		if got, err := ParseDIN(s); err != nil || got != d {
			t.Errorf("ParseDIN(%q): got %v, %v, want %v", s, got, err, d)
		}
	}
}

// TestMod37Generic checks the raw function against the generic vectors of gmp.md §2.4, which
// are not DINs; the DIN functions must refuse ABCDE27000069 (letters in positions 4–5).
func TestMod37Generic(t *testing.T) {
	tests := []struct {
		in   string
		want byte
	}{
		{"ABCDE27000069", 'C'},
		{"ZZZZ", 'O'},
		{"ABCDEFGHIJKLMNOPQRSTUVWX", '*'},
		{strings.Repeat("Z", 26), '9'},
		{"0", '1'},
		{"1", '*'},
		{"CHA999925AB1234", 'A'}, // gmp.md §2.6, COI convention
	}
	for _, tc := range tests {
		got, err := Mod37Check(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Mod37Check(%s): got %c, %v, want %c", tc.in, got, err, tc.want)
		}
		if got := mod37Alphabet[(38-new(big.Int).Mod(weightedSum(tc.in), big.NewInt(37)).Int64())%37]; got != tc.want {
			t.Errorf("position-weighted(%s): got %c, want %c", tc.in, got, tc.want)
		}
	}
	_, err := CheckChar("ABCDE27000069")
	wantErr(t, err, "din", "position 4: 'D' is not a digit")
	for _, in := range []string{"", "abc", "A*B", "A-B", "Ä"} {
		if _, err := Mod37Check(in); clink.ErrorCode(err) != clink.EINVALID {
			t.Errorf("Mod37Check(%q): got %v, want EINVALID", in, err)
		}
	}
}

// TestNegativeVectors: the DIN + K strings of gmp.md §2.4 that carry a single substitution,
// an adjacent transposition, a twin error or a jump transposition must fail at position 14.
func TestNegativeVectors(t *testing.T) {
	for _, s := range []string{"A999915123456N", "F123498654321H", "A999922564321S", "A999920212346*", "A999933123458J", "G123468954321H"} {
		_, err := ParseDIN(s)
		wantErr(t, err, "din", "position 14: check character '"+s[13:]+"' does not match")
		ok, _, err := ValidCheckChar(s[:13], s[13])
		if err != nil || ok {
			t.Errorf("ValidCheckChar(%s, %c): got %v, %v, want false", s[:13], s[13], ok, err)
		}
	}
}

// TestLimitation documents pitfall 4 of gmp.md §2.4: a circular shift that moves K to the
// front is a format-valid DIN with a valid check character. The check cannot catch it.
func TestLimitation(t *testing.T) {
	if _, err := ParseDIN("NA999914123456"); err != nil {
		t.Errorf("got %v, want the shifted string to pass (a known limitation)", err)
	}
}

// wantErr fails unless err is EINVALID with a field error on field whose message contains msg.
func wantErr(tb testing.TB, err error, field, msg string) {
	tb.Helper()
	if clink.ErrorCode(err) != clink.EINVALID {
		tb.Errorf("got error %v, want EINVALID on %s: %q", err, field, msg)
		return
	}
	for _, f := range clink.ErrorFields(err) {
		if f.Field == field && strings.Contains(f.Message, msg) {
			return
		}
	}
	tb.Errorf("got %v, want a %s error containing %q", err, field, msg)
}

// TestParseDINRefuses checks the rule "validation rejects, never repairs" (gmp.md §2.2): each
// bad input is refused with the position at fault.
func TestParseDINRefuses(t *testing.T) {
	tests := []struct{ in, msg string }{
		{"O123417654321", "position 1: 'O' (the letter O) is never used"},
		{"0123417654321", "position 1: '0' is not allowed"},
		{"G12341765432", "position 13: missing: a DIN has 13 characters, got 12"},
		{"G1234176543A1", "position 12: 'A' is not a digit"},
		{"G1234x7654321", "position 6: 'x' is not a digit"},
		{"G1234#7654321", "position 6: '#' is not a digit"},
		{"G1234O7654321", "position 6: 'O' is the letter O, not a digit"},
		{"GO23417654321", "position 2: 'O' (the letter O) is never used"},
		{"g123417654321", "position 1: 'g' is lower case"},
		{"G#23417654321", "position 2: '#' is not allowed"},
		{"Gb23417654321", "position 2: 'b' is lower case"},
		{"*123417654321", "position 1: '*' is not allowed"},
		{"G123417654321a", "position 14: 'a' is lower case"},
		{"G123417654321-", "position 14: '-' is not a check character"},
		{"G123417654321B", "position 14: check character 'B' does not match: the check character of G123417654321 is 'A'"},
		{"G123417654321AB", "position 15: unexpected 'B'"},
		{"G123417654321" + strings.Repeat("A", 1000), "position 15: unexpected 'A'"},
		{"", "is empty"},
		{"   ", "is empty"},
		{"G1234\t17654321", "position 6: '\\t' is not a digit"},
		{"G1234١7654321", "position 6: '١' is not a digit"}, // Arabic-Indic one
		{"G1234\xff7654321", "position 6: not valid UTF-8"},
	}
	for _, tc := range tests {
		_, err := ParseDIN(tc.in)
		wantErr(t, err, "din", tc.msg)
	}
	_, err := CheckChar("G123417654321A")
	wantErr(t, err, "din", "position 14: unexpected 'A'")
	_, _, err = ValidCheckChar("G123417654321", 'a')
	wantErr(t, err, "k", "'a' is lower case")
	_, _, err = ValidCheckChar("G123417654321", '-')
	wantErr(t, err, "k", "is not a check character")
	_, _, err = ValidCheckChar("G12341765432", 'A')
	wantErr(t, err, "din", "position 13: missing")
}

func TestParseDINData(t *testing.T) {
	tests := []struct {
		in        string
		typ       FlagType
		container int
		msg       string // error message, "" for none
	}{
		{"=G12341765432170", FlagType3, 0, ""},
		{"=G12341765432100", FlagType1, 0, ""},
		{"=G12341765432103", FlagType1, 3, ""},
		{"=G12341765432117", FlagType1, 7, ""},
		{"=G12341765432105", FlagType1, 0, ""},
		{"=G12341765432142", FlagType2, 0, ""},
		{"=G12341765432114", FlagReserved, 0, ""},
		{"=G123417654321XY", FlagReserved, 0, ""},
		{"=G12341765432171", 0, 0, "flag 71 carries check value 11, but the check value of G123417654321 is 10: misread or damaged label"},
		{"=G12341765432196", 0, 0, "flag 96 carries check value 36"},
		{"G12341765432170", 0, 0, "starts with 'G', want the data identifier '='"},
		{"", 0, 0, "starts with nothing"},
		{"=G1234176543217", 0, 0, "has 14 characters after '=', want 15"},
		{"=G123417654321700", 0, 0, "has 16 characters after '=', want 15"},
		{"=G12341765432a70", 0, 0, "DIN position 13: 'a' is not a digit"},
		{"=G1234176543217a", 0, 0, "flag character 2: 'a' is lower case"},
		{"=G123417654321 0", 0, 0, "flag character 1: ' ' is not 0–9 or A–Z"},
		{"=G1234 17 654321 70", 0, 0, "DIN position 6: ' ' is not a digit"},
	}
	for _, tc := range tests {
		d, f, err := ParseDINData(tc.in)
		if tc.msg != "" {
			wantErr(t, err, "data", tc.msg)
			continue
		}
		if err != nil || d.String() != "G123417654321" || f.Type != tc.typ || f.Container != tc.container {
			t.Errorf("%s: got %v, %+v, %v, want G123417654321, type %v, container %d", tc.in, d, f, err, tc.typ, tc.container)
		}
	}
}

func TestParseFlag(t *testing.T) {
	tests := []struct {
		ff        string
		typ       FlagType
		container int
		value     int
		meaning   string
	}{
		{"00", FlagType1, 0, -1, "flag not used"},
		{"01", FlagType1, 1, -1, "container 1 of a set"},
		{"04", FlagType1, 4, -1, "container 4 of a set"},
		{"05", FlagType1, 0, -1, "second (repeated) demand-printed label"},
		{"08", FlagType1, 0, -1, "donor record label"},
		{"13", FlagType1, 0, -1, "attached label"},
		{"14", FlagReserved, 0, -1, "reserved"},
		{"15", FlagType1, 5, -1, "container 5 of a set"},
		{"19", FlagType1, 9, -1, "container 9 of a set"},
		{"20", FlagType2, 0, -1, "locally defined (valid only at the FIN)"},
		{"59", FlagType2, 0, -1, "locally defined (valid only at the FIN)"},
		{"60", FlagType3, 0, 0, "check value 0 (K = 0)"},
		{"70", FlagType3, 0, 10, "check value 10 (K = A)"},
		{"96", FlagType3, 0, 36, "check value 36 (K = *)"},
		{"97", FlagReserved, 0, -1, "reserved"},
		{"99", FlagReserved, 0, -1, "reserved"},
		{"A1", FlagReserved, 0, -1, "reserved (alphanumeric)"},
	}
	for _, tc := range tests {
		f, err := ParseFlag(tc.ff)
		if err != nil || f.Type != tc.typ || f.Container != tc.container || f.CheckValue != tc.value || f.Meaning != tc.meaning {
			t.Errorf("%s: got %+v, %v, want type %v, container %d, value %d, %q", tc.ff, f, err, tc.typ, tc.container, tc.value, tc.meaning)
		}
	}
	for _, ff := range []string{"", "7", "700", "7a", "-1"} {
		if _, err := ParseFlag(ff); clink.ErrorCode(err) != clink.EINVALID {
			t.Errorf("ParseFlag(%q): got %v, want EINVALID", ff, err)
		}
	}
}

func TestContainerFlag(t *testing.T) {
	want := []string{"01", "02", "03", "04", "15", "16", "17", "18", "19"}
	for i, w := range want {
		got, err := ContainerFlag(i + 1)
		if err != nil || got != w {
			t.Errorf("ContainerFlag(%d): got %q, %v, want %q", i+1, got, err, w)
		}
		f, err := ParseFlag(got)
		if err != nil || f.Container != i+1 {
			t.Errorf("ParseFlag(%s).Container: got %d, %v, want %d", got, f.Container, err, i+1)
		}
	}
	for _, n := range []int{0, 10, -1} {
		_, err := ContainerFlag(n)
		wantErr(t, err, "container", "must be 1–9")
	}
}

func TestDINData(t *testing.T) {
	d, _ := ParseDIN("A999921123456")
	for _, tc := range []struct{ ff, want, msg string }{
		{"63", "=A99992112345663", ""},
		{"00", "=A99992112345600", ""},
		{"02", "=A99992112345602", ""},
		{"64", "", "64 carries check value 4, but the check value of A999921123456 is 3"},
		{"6", "", "has 1 characters, want 2"},
	} {
		got, err := d.Data(tc.ff)
		if tc.msg != "" {
			wantErr(t, err, "flag", tc.msg)
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Data(%s): got %q, %v, want %q", tc.ff, got, err, tc.want)
		}
	}
	if _, err := (DIN{}).Data("00"); clink.ErrorCode(err) != clink.EINVALID {
		t.Errorf("zero DIN Data: got %v, want EINVALID", err)
	}
}

func TestNewDIN(t *testing.T) {
	tests := []struct {
		fin       string
		year, seq int
		want      string
		field     string // error field, "" for none
	}{
		{"G1234", 2017, 654321, "G123417654321", ""},
		{"A9999", 2025, 123456, "A999925123456", ""},
		{"W0000", 2009, 123456, "W000009123456", ""},
		{"A9999", 2100, 0, "A999900000000", ""},
		{"A9999", 25, 7, "A999925000007", ""},
		{"O1234", 2025, 1, "", "fin"},
		{"A999", 2025, 1, "", "fin"},
		{"AB99C", 2025, 1, "", "fin"},
		{"a9999", 2025, 1, "", "fin"},
		{"A9999", -1, 1, "", "year"},
		{"A9999", 10000, 1, "", "year"},
		{"A9999", 2025, 1000000, "", "sequence"},
		{"A9999", 2025, -1, "", "sequence"},
	}
	for _, tc := range tests {
		d, err := NewDIN(tc.fin, tc.year, tc.seq)
		if tc.field != "" {
			wantErr(t, err, tc.field, "")
			continue
		}
		if err != nil || d.String() != tc.want {
			t.Errorf("NewDIN(%s, %d, %d): got %v, %v, want %s", tc.fin, tc.year, tc.seq, d, err, tc.want)
			continue
		}
		// The generated DIN round-trips through every text form.
		for _, s := range []string{d.String(), d.Keyboard(), d.Grouped(), d.Grouped() + " " + string(d.Check())} {
			if got, err := ParseDIN(s); err != nil || got != d {
				t.Errorf("ParseDIN(%q): got %v, %v, want %v", s, got, err, d)
			}
		}
	}
}

func TestValidateFIN(t *testing.T) {
	for _, fin := range []string{"A9999", "G1234", "W0000", "1AB99", "ZZ000"} {
		if err := ValidateFIN(fin); err != nil {
			t.Errorf("ValidateFIN(%s): %v", fin, err)
		}
	}
	for _, tc := range []struct{ fin, msg string }{
		{"A999", "has 4 characters, want 5"},
		{"A99999", "has 6 characters, want 5"},
		{"0A999", "position 1: '0' is not allowed"},
		{"AO999", "position 2: 'O' (the letter O)"},
		{"A99A9", "position 4: 'A' is not a digit"},
		{"", "has 0 characters"},
	} {
		wantErr(t, ValidateFIN(tc.fin), "fin", tc.msg)
	}
}

func TestZeroDIN(t *testing.T) {
	var d DIN
	if !d.IsZero() || d.String() != "" || d.Check() != 0 || d.CheckValue() != -1 || d.Keyboard() != "" ||
		d.Grouped() != "" || d.Type3Flag() != "" || d.FIN() != "" || d.Year() != 0 || d.Sequence() != 0 {
		t.Errorf("zero DIN is not empty: %+v", d)
	}
}

func TestDINJSON(t *testing.T) {
	type rec struct {
		DIN DIN `json:"din"`
	}
	d, _ := ParseDIN("W000009123456")
	b, err := json.Marshal(rec{d})
	if err != nil || string(b) != `{"din":"W000009123456"}` {
		t.Fatalf("Marshal: got %s, %v", b, err)
	}
	var back rec
	if err := json.Unmarshal(b, &back); err != nil || back.DIN != d {
		t.Errorf("Unmarshal: got %v, %v, want %v", back.DIN, err, d)
	}
	if err := json.Unmarshal([]byte(`{"din":"W000009123456F"}`), &back); err == nil {
		t.Errorf("Unmarshal with a wrong K: got no error")
	}
	if err := json.Unmarshal([]byte(`{"din":""}`), &back); err != nil || !back.DIN.IsZero() {
		t.Errorf("Unmarshal empty: got %v, %v, want the zero DIN", back.DIN, err)
	}
}

func BenchmarkCheckChar(b *testing.B) {
	for b.Loop() {
		if _, err := CheckChar("G123417654321"); err != nil {
			b.Fatal(err)
		}
	}
}
