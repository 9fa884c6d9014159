package report

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// ISO/IEC 16022:2006 Annex O (the worked example): "123456" in ASCII encodation is the three
// digit-pair codewords 142 164 186 (130 + 12, 130 + 34, 130 + 56), which fill a 10×10 symbol,
// followed by the five error correction codewords 114 25 5 88 102.
func TestDataMatrixAnnexO(t *testing.T) {
	s, cw, err := dmCodewords("123456")
	if err != nil {
		t.Fatal(err)
	}
	if s.size != 10 {
		t.Errorf("got a %d×%d symbol, want 10×10", s.size, s.size)
	}
	if want := []byte{142, 164, 186, 114, 25, 5, 88, 102}; !slices.Equal(cw, want) {
		t.Errorf("got codewords %v, want %v", cw, want)
	}
}

// The generator polynomials of ISO/IEC 16022:2006 Annex E (Table E.1), lowest-degree
// coefficient first without the leading 1: for 5 error correction codewords 228 48 15 111 62,
// for 7 codewords 23 68 144 134 240 92 254. Multiplying out (x−2)(x−4)(x−8)(x−16)(x−32) in
// GF(256)/301 by hand gives the same five numbers.
func TestDataMatrixGenerator(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want []byte
	}{
		{5, []byte{228, 48, 15, 111, 62}},
		{7, []byte{23, 68, 144, 134, 240, 92, 254}},
	} {
		g := dmGenerator(tc.n)
		got := slices.Clone(g[1:])
		slices.Reverse(got)
		if g[0] != 1 || !slices.Equal(got, tc.want) {
			t.Errorf("generator of degree %d: got %v, want 1 and %v", tc.n, g, tc.want)
		}
	}
}

// dmEval evaluates the codeword polynomial (first codeword the highest power) at x, by Horner's
// rule, independently of the shift-register division in dmReedSolomon.
func dmEval(cw []byte, x byte) byte {
	var v byte
	for _, c := range cw {
		v = dmMul(v, x) ^ c
	}
	return v
}

// Every codeword of a Reed–Solomon code is a multiple of the generator, so the whole stream
// (data, pads, error correction) vanishes at each root 2¹…2ⁿ; at 2ⁿ⁺¹ it generally does not.
func TestDataMatrixSyndromes(t *testing.T) {
	for _, data := range []string{"123456", "A", "=G12341765432170", "Wikipedia", strings.Repeat("Z", 44), strings.Repeat("9", 87)} {
		s, cw, err := dmCodewords(data)
		if err != nil {
			t.Fatalf("%q: %v", data, err)
		}
		if len(cw) != s.data+s.ec {
			t.Errorf("%q: got %d codewords, want %d + %d", data, len(cw), s.data, s.ec)
		}
		for i := 1; i <= s.ec; i++ {
			if v := dmEval(cw, dmExp[i]); v != 0 {
				t.Errorf("%q (%d×%d): syndrome at 2^%d is %d, want 0", data, s.size, s.size, i, v)
			}
		}
	}
}

// ASCII encodation and pads (ISO/IEC 16022 §5.2.3, §5.2.4, Annex B.1), worked by hand: the
// 253-state pad at 1-based position p is 129 + ((149·p mod 253) + 1), less 254 if above 254.
// For "A" (66) in a 10×10 symbol the pads sit at positions 2 and 3: 129, then 149·3 = 447,
// 447 mod 253 = 194, 129 + 195 − 254 = 70.
func TestDataMatrixEncodation(t *testing.T) {
	for _, tc := range []struct {
		data string
		n    int
		want []byte
	}{
		{"A", 3, []byte{66, 129, 70}},
		{"1A2", 3, []byte{50, 66, 51}},   // a lone digit is value + 1
		{"123", 3, []byte{142, 52, 129}}, // "12" paired, "3" alone, one pad
		{"00", 3, []byte{130, 129, 70}},
		// 149·4 = 596, mod 253 = 90 → 129 + 91 = 220; 149·5 = 745, mod 253 = 239 →
		// 129 + 240 − 254 = 115.
		{"A", 5, []byte{66, 129, 70, 220, 115}},
		// Positions 7…12: 149·p mod 253 = 31, 180, 76, 225, 121, 17, so the pads are
		// 129+32 = 161, 129+181−254 = 56, 129+77 = 206, 129+226−254 = 101,
		// 129+122−254 = 251 and 129+18 = 147.
		{"123456789", 12, []byte{142, 164, 186, 208, 58, 129, 161, 56, 206, 101, 251, 147}},
		{"~", 1, []byte{127}}, // highest ASCII character
		{"", 1, nil},
	} {
		cw, err := dmEncodeASCII(tc.data)
		if tc.want == nil {
			if err == nil {
				t.Errorf("%q: got no error, want one", tc.data)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", tc.data, err)
		}
		if got := dmPad(cw, tc.n); !slices.Equal(got, tc.want) {
			t.Errorf("%q: got %v, want %v", tc.data, got, tc.want)
		}
	}
}

func TestDataMatrixSize(t *testing.T) {
	for _, tc := range []struct {
		data string
		size int // 0: too long
	}{
		{"123456", 10},
		{"ABC", 10},
		{"ABCD", 12},
		{"1234567", 12}, // 4 codewords: three pairs and a lone 7
		{"ABCDEF", 14},
		{strings.Repeat("A", 12), 16},
		{"=G12341765432170", 16}, // 2 + 7 = 9 codewords
		{strings.Repeat("A", 13), 18},
		{strings.Repeat("A", 36), 24},
		{strings.Repeat("A", 44), 26},
		{strings.Repeat("1", 88), 26},
		{strings.Repeat("A", 45), 0},
		{strings.Repeat("1", 89), 0},
	} {
		m, err := DataMatrix(tc.data)
		if tc.size == 0 {
			if err == nil {
				t.Errorf("%d characters: got a %d×%d symbol, want an error", len(tc.data), len(m), len(m))
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.data, err)
			continue
		}
		if len(m) != tc.size {
			t.Errorf("%q: got %d rows, want %d", tc.data, len(m), tc.size)
		}
		for r, row := range m {
			if len(row) != tc.size {
				t.Errorf("%q: row %d has %d modules, want %d", tc.data, r, len(row), tc.size)
			}
		}
	}
	for _, bad := range []string{"", "µ", "abc\xff"} {
		if _, err := DataMatrix(bad); err == nil {
			t.Errorf("%q: got no error, want one", bad)
		}
	}
}

// checkFinder reports deviations from the finder pattern (solid left column and bottom row) and
// the clock pattern (top row and right column alternating, starting dark at the top left and
// light at the top right) of ISO/IEC 16022 §5.1 and Figure 1.
func checkFinder(t *testing.T, name string, m [][]bool) {
	t.Helper()
	n := len(m)
	for i := 0; i < n; i++ {
		if !m[i][0] {
			t.Errorf("%s: left edge row %d is light, want dark", name, i)
		}
		if !m[n-1][i] {
			t.Errorf("%s: bottom edge column %d is light, want dark", name, i)
		}
		if got, want := m[0][i], i%2 == 0; got != want {
			t.Errorf("%s: top edge column %d: got dark %v, want %v", name, i, got, want)
		}
		if got, want := m[i][n-1], i%2 == 1 || i == n-1; got != want {
			t.Errorf("%s: right edge row %d: got dark %v, want %v", name, i, got, want)
		}
	}
}

func TestDataMatrixFinder(t *testing.T) {
	for _, data := range []string{"123456", "ABCD", "ABCDEF", "=G12341765432170", strings.Repeat("A", 18), strings.Repeat("A", 22), strings.Repeat("A", 30), strings.Repeat("A", 36), strings.Repeat("A", 44)} {
		m, err := DataMatrix(data)
		if err != nil {
			t.Fatal(err)
		}
		checkFinder(t, data, m)
	}
}

// The placement of Annex F must use each bit of each codeword exactly once and leave no module
// of the mapping matrix unassigned; a mapping matrix whose area is not a multiple of 8 (10×10,
// 14×14, 18×18, 22×22) has the 2×2 fixed pattern in its lower-right corner, dark on the
// diagonal from upper left to lower right.
func TestDataMatrixPlacement(t *testing.T) {
	for _, s := range dmSizes {
		n := s.size - 2
		a := dmPlacement(n, n)
		ncw := s.data + s.ec
		seen := make([]int, ncw*8)
		fixed := 0
		for i, v := range a {
			switch {
			case v == -1 || v == -2:
				fixed++
			case v >= 0 && v < len(seen):
				seen[v]++
			default:
				t.Errorf("%d×%d: module %d has value %d", s.size, s.size, i, v)
			}
		}
		for b, c := range seen {
			if c != 1 {
				t.Errorf("%d×%d: codeword %d bit %d placed %d times, want once", s.size, s.size, b/8+1, b%8, c)
			}
		}
		wantFixed := 0
		if n*n%8 != 0 {
			wantFixed = 4
		}
		if fixed != wantFixed {
			t.Errorf("%d×%d: got %d fixed modules, want %d", s.size, s.size, fixed, wantFixed)
		}
		if wantFixed == 4 {
			last := n*n - 1
			if a[last] != -1 || a[last-n-1] != -1 || a[last-1] != -2 || a[last-n] != -2 {
				t.Errorf("%d×%d: fixed pattern %d %d / %d %d, want dark, light / light, dark", s.size, s.size, a[last-n-1], a[last-n], a[last-1], a[last])
			}
		}
	}
}

// Reading the codewords back out of the drawn symbol through the placement gives the encoded
// stream; it catches a mismatch of bit order or offset between drawing and placement.
func TestDataMatrixReadBack(t *testing.T) {
	for _, data := range []string{"123456", "=G12341765432170", strings.Repeat("Q", 30)} {
		s, want, err := dmCodewords(data)
		if err != nil {
			t.Fatal(err)
		}
		m, err := DataMatrix(data)
		if err != nil {
			t.Fatal(err)
		}
		n := s.size - 2
		got := make([]byte, s.data+s.ec)
		for i, v := range dmPlacement(n, n) {
			if v >= 0 && m[i/n+1][i%n+1] {
				got[v/8] |= 0x80 >> (v % 8)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%q: read back %v, want %v", data, got, want)
		}
	}
}

func TestPageDataMatrix(t *testing.T) {
	d := New()
	p := d.AddPage(100, 100)
	side, err := p.DataMatrix(10, 20, 2, "123456")
	if err != nil {
		t.Fatal(err)
	}
	if side != 20 {
		t.Errorf("got side %v, want 20", side)
	}
	m, _ := DataMatrix("123456")
	dark := 0
	for _, row := range m {
		for _, v := range row {
			if v {
				dark++
			}
		}
	}
	out := p.buf.String()
	if got := strings.Count(out, " re f\n"); got != dark {
		t.Errorf("got %d filled squares, want %d dark modules", got, dark)
	}
	// Row 0 is the top: its first module (dark) is drawn at y = 20 + 9·2 = 38; the bottom-left
	// finder corner at (10, 20); the top-right clock module (light) is not drawn.
	for _, want := range []string{"10 38 2 2 re f\n", "10 20 2 2 re f\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "28 38 2 2 re f\n") {
		t.Errorf("output fills the light top-right clock module")
	}
	for _, mod := range []float64{0, -1} {
		if _, err := p.DataMatrix(0, 0, mod, "1"); err == nil {
			t.Errorf("module %v: got no error, want one", mod)
		}
	}
	if _, err := p.DataMatrix(0, 0, 1, ""); err == nil {
		t.Errorf("empty data: got no error, want one")
	}
}

func FuzzDataMatrix(f *testing.F) {
	for _, s := range []string{"123456", "A", "=G12341765432170", "", "\xff", strings.Repeat("9", 89)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		m, err := DataMatrix(data)
		if err != nil {
			return
		}
		if len(m) < 10 || len(m) > 26 || len(m)%2 != 0 {
			t.Fatalf("%q: symbol of %d rows", data, len(m))
		}
		checkFinder(t, data, m)
	})
}

func BenchmarkDataMatrix(b *testing.B) {
	for b.Loop() {
		if _, err := DataMatrix("=G12341765432170"); err != nil {
			b.Fatal(err)
		}
	}
}

// dmLayout8 is the codeword placement in the 8×8 mapping matrix of the 10×10 symbol as drawn
// in ISO/IEC 16022 Annex F ("c.b" is bit b of codeword c, bit 1 the most significant). It is
// typed in from the standard's figure, not computed.
var dmLayout8 = [8]string{
	"2.1 2.2 3.6 3.7 3.8 4.3 4.4 4.5",
	"2.3 2.4 2.5 5.1 5.2 4.6 4.7 4.8",
	"2.6 2.7 2.8 5.3 5.4 5.5 1.1 1.2",
	"1.5 6.1 6.2 5.6 5.7 5.8 1.3 1.4",
	"1.8 6.3 6.4 6.5 8.1 8.2 1.6 1.7",
	"7.2 6.6 6.7 6.8 8.3 8.4 8.5 7.1",
	"7.4 7.5 3.1 3.2 8.6 8.7 8.8 7.3",
	"7.7 7.8 3.3 3.4 3.5 4.1 4.2 7.6",
}

// The whole 10×10 symbol of "123456": finder and clock pattern around the Annex F layout filled
// with the Annex O codewords 142 164 186 114 25 5 88 102, built here without dmPlacement.
func TestDataMatrix123456(t *testing.T) {
	cw := []byte{142, 164, 186, 114, 25, 5, 88, 102}
	want := make([][]bool, 10)
	for r := range want {
		want[r] = make([]bool, 10)
		want[r][0] = true
		want[0][r] = r%2 == 0
	}
	for i := 0; i < 10; i++ {
		want[9][i] = true
		want[i][9] = i%2 == 1 || i == 9
	}
	for r, line := range dmLayout8 {
		for c, f := range strings.Fields(line) {
			var chr, bit int
			if _, err := parseLayoutBit(f, &chr, &bit); err != nil {
				t.Fatalf("layout %q: %v", f, err)
			}
			want[r+1][c+1] = cw[chr-1]&(0x80>>(bit-1)) != 0
		}
	}
	got, err := DataMatrix("123456")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 10 {
		t.Fatalf("got %d rows, want 10", len(got))
	}
	for r := range want {
		if !slices.Equal(got[r], want[r]) {
			t.Errorf("row %d: got %s, want %s", r, dmRow(got[r]), dmRow(want[r]))
		}
	}
}

// parseLayoutBit parses "c.b" of dmLayout8 into the codeword and bit numbers.
func parseLayoutBit(s string, chr, bit *int) (int, error) {
	a, b, ok := strings.Cut(s, ".")
	if !ok || len(a) != 1 || len(b) != 1 {
		return 0, errors.New("want digit.digit")
	}
	*chr, *bit = int(a[0]-'0'), int(b[0]-'0')
	return 2, nil
}

func dmRow(row []bool) string {
	var sb strings.Builder
	for _, d := range row {
		if d {
			sb.WriteByte('1')
		} else {
			sb.WriteByte('0')
		}
	}
	return sb.String()
}
