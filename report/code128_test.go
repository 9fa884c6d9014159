package report

import (
	"slices"
	"strings"
	"testing"
)

// modulesToBits renders module widths as a string of '1' (bar) and '0' (space), the form in
// which the Wikipedia article "Code 128" (section "Bar code widths") prints each pattern.
func modulesToBits(w []int) string {
	var b strings.Builder
	for i, m := range w {
		c := "1"
		if i%2 == 1 {
			c = "0"
		}
		b.WriteString(strings.Repeat(c, m))
	}
	return b.String()
}

func patternModules(s string) []int {
	w := make([]int, len(s))
	for i, c := range s {
		w[i] = int(c - '0')
	}
	return w
}

// TestCode128PatternBits checks table entries against the bit patterns printed in the
// Wikipedia "Code 128" table (copied by hand from its "Pattern" column), an independent
// rendering of ISO/IEC 15417 Table 1.
func TestCode128PatternBits(t *testing.T) {
	tests := []struct {
		value int
		bits  string
	}{
		{0, "11011001100"},   // space / 00
		{1, "11001101100"},   // ! / 01
		{3, "10010011000"},   // # / 03
		{17, "10011100110"},  // 1 / 17
		{18, "11001110010"},  // 2 / 18
		{33, "10100011000"},  // A / 33
		{99, "10111011110"},  // Code C
		{100, "10111101110"}, // Code B in set C
		{103, "11010000100"}, // Start A
		{104, "11010010000"}, // Start B
		{105, "11010011100"}, // Start C
	}
	for _, tc := range tests {
		got := modulesToBits(patternModules(code128Patterns[tc.value]))
		if got != tc.bits {
			t.Errorf("value %d: got %s, want %s", tc.value, got, tc.bits)
		}
	}
	if got, want := modulesToBits(patternModules(code128Stop)), "1100011101011"; got != want {
		t.Errorf("stop: got %s, want %s", got, want)
	}
}

// TestCode128PatternStructure checks properties ISO/IEC 15417 §4.2 gives every symbol
// character: 6 elements of 1–4 modules, 11 modules in all, an even number of bar modules (the
// character self-check), and no two characters alike.
func TestCode128PatternStructure(t *testing.T) {
	seen := map[string]int{}
	for v, p := range code128Patterns {
		w := patternModules(p)
		sum, bars := 0, 0
		for i, m := range w {
			if m < 1 || m > 4 {
				t.Errorf("value %d: element %d is %d modules, want 1-4", v, i, m)
			}
			sum += m
			if i%2 == 0 {
				bars += m
			}
		}
		if len(w) != 6 || sum != 11 || bars%2 != 0 {
			t.Errorf("value %d (%s): got %d elements, %d modules, %d bar modules; want 6, 11, even", v, p, len(w), sum, bars)
		}
		if u, ok := seen[p]; ok {
			t.Errorf("values %d and %d share pattern %s", u, v, p)
		}
		seen[p] = v
	}
}

// TestCode128Values checks encodation and the check character. "PJJ123C" is the worked
// example of the Wikipedia article "Code 128" (section "Check digit calculation"): start B
// (104) + 1·48 + 2·42 + 3·42 + 4·17 + 5·18 + 6·19 + 7·35 = 879, and 879 mod 103 = 55. The
// other rows are hand-derived from the value table (set B value = ASCII − 32; set C value =
// the digit pair) and the Annex E rules.
func TestCode128Values(t *testing.T) {
	tests := []struct {
		data string
		want []int
	}{
		{"PJJ123C", []int{104, 48, 42, 42, 17, 18, 19, 35, 55}},
		// All digits, even: start C. 105 + 12 + 2·34 = 185; 185 mod 103 = 82.
		{"1234", []int{105, 12, 34, 82}},
		// Two digits alone: start C. 105 + 42 = 147 mod 103 = 44.
		{"42", []int{105, 42, 44}},
		// Three digits: B is no longer than C, so start B. 104 + 17 + 2·18 + 3·19 = 214 mod 103 = 8.
		{"123", []int{104, 17, 18, 19, 8}},
		// Odd run of 5 digits at the start: C for 4, then Code B for the last.
		// 105 + 12 + 2·34 + 3·100 + 4·21 = 569; 569 mod 103 = 54.
		{"12345", []int{105, 12, 34, 100, 21, 54}},
		// ISBT 128 DIN data "=G12341765432170" (gmp.DIN.Data with its Type 3 flag): '=' (29)
		// and 'G' (39) in B, then Code C and seven digit pairs.
		// 104 + 29 + 2·39 + 3·99 + 4·12 + 5·34 + 6·17 + 7·65 + 8·43 + 9·21 + 10·70 = 2516;
		// 2516 mod 103 = 44.
		{"=G12341765432170", []int{104, 29, 39, 99, 12, 34, 17, 65, 43, 21, 70, 44}},
		// A run of 5 digits in the middle stays in B (switching needs 6).
		{"A12345B", []int{104, 33, 17, 18, 19, 20, 21, 34, (104 + 33 + 2*17 + 3*18 + 4*19 + 5*20 + 6*21 + 7*34) % 103}},
		// A run of 7 digits in the middle: one in B, then Code C, three pairs, then Code B.
		{"A1234567B", []int{104, 33, 17, 99, 23, 45, 67, 100, 34,
			(104 + 33 + 2*17 + 3*99 + 4*23 + 5*45 + 6*67 + 7*100 + 8*34) % 103}},
	}
	for _, tc := range tests {
		t.Run(tc.data, func(t *testing.T) {
			got, err := Code128Values(tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCode128Errors(t *testing.T) {
	for _, data := range []string{"", "a\x00b", "é", "tab\t"} {
		if _, err := Code128Values(data); err == nil {
			t.Errorf("Code128Values(%q): got no error, want one", data)
		}
	}
}

// TestCode128Modules checks a whole symbol: "PJJ123C" is 9 characters of 11 modules plus the
// 13-module stop, 112 modules, and begins with Start B and ends with the check character 55
// ("311321") and the stop pattern.
func TestCode128Modules(t *testing.T) {
	w, err := Code128Modules("PJJ123C")
	if err != nil {
		t.Fatal(err)
	}
	sum := 0
	for _, m := range w {
		sum += m
	}
	if sum != 112 || len(w) != 9*6+7 {
		t.Errorf("got %d modules in %d elements, want 112 in 61", sum, len(w))
	}
	bits := modulesToBits(w)
	if !strings.HasPrefix(bits, "11010010000") {
		t.Errorf("got start %s, want Start B 11010010000", bits[:11])
	}
	// Value 55 is "311321": 11101000110 + stop 1100011101011.
	if want := "11101000110" + "1100011101011"; !strings.HasSuffix(bits, want) {
		t.Errorf("got end %s, want %s", bits[len(bits)-24:], want)
	}
}

func FuzzCode128(f *testing.F) {
	for _, s := range []string{"PJJ123C", "=G12341765432170", "1", "12345", "A1234567B", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		vals, err := Code128Values(data)
		if err != nil {
			return
		}
		if vals[len(vals)-1] != code128Check(vals[:len(vals)-1]) {
			t.Errorf("check character %d, want %d", vals[len(vals)-1], code128Check(vals[:len(vals)-1]))
		}
		if got := decodeValues(vals[:len(vals)-1]); got != data {
			t.Errorf("decoded %q, want %q", got, data)
		}
	})
}

// decodeValues reads back the data of symbol values (start character on, no check), a
// minimal decoder for sets B and C used to check encodation round-trips.
func decodeValues(vals []int) string {
	var b strings.Builder
	setC := vals[0] == code128StartC
	for _, v := range vals[1:] {
		switch {
		case setC && v == code128CodeB:
			setC = false
		case !setC && v == code128CodeC:
			setC = true
		case setC:
			b.WriteByte(byte('0' + v/10))
			b.WriteByte(byte('0' + v%10))
		default:
			b.WriteByte(byte(v + ' '))
		}
	}
	return b.String()
}
