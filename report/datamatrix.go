package report

import (
	"fmt"
)

// Data Matrix ECC 200 (ISO/IEC 16022:2006), square symbols with one data region: 10×10 to
// 26×26 modules. Data are encoded in ASCII encodation (§5.2.3): pairs of digits as 130 + their
// value, other ASCII characters as value + 1. Reed–Solomon error correction works in GF(256)
// with the prime polynomial x⁸+x⁵+x³+x²+1 (301) and generator roots 2¹…2ⁿ (§5.7, Annex E);
// every size here has a single Reed–Solomon block, so no interleaving is needed. Modules are
// placed with the algorithm of Annex F.

// dmSize is one square ECC 200 symbol size with a single data region (ISO/IEC 16022 Table 7).
type dmSize struct {
	size     int // symbol side in modules, finder and clock pattern included
	data, ec int // data and error correction codewords
}

var dmSizes = []dmSize{
	{10, 3, 5},
	{12, 5, 7},
	{14, 8, 10},
	{16, 12, 12},
	{18, 18, 14},
	{20, 22, 18},
	{22, 30, 20},
	{24, 36, 24},
	{26, 44, 28},
}

// dmEncodeASCII returns the data codewords of data in ASCII encodation. Bytes above 127 would
// need the Upper Shift codeword and are refused, as are empty data.
func dmEncodeASCII(data string) ([]byte, error) {
	if data == "" {
		return nil, fmt.Errorf("report: data matrix: data are empty")
	}
	cw := make([]byte, 0, len(data))
	for i := 0; i < len(data); i++ {
		c := data[i]
		if c > 127 {
			return nil, fmt.Errorf("report: data matrix: byte %#x at offset %d is not ASCII", c, i)
		}
		if isDigit(c) && i+1 < len(data) && isDigit(data[i+1]) {
			cw = append(cw, byte(130+int(c-'0')*10+int(data[i+1]-'0')))
			i++
			continue
		}
		cw = append(cw, c+1)
	}
	return cw, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// dmPad fills cw up to n codewords: first the pad codeword 129, then pads randomised by the
// 253-state algorithm (ISO/IEC 16022 §5.2.3 and Annex B.1).
func dmPad(cw []byte, n int) []byte {
	first := true
	for len(cw) < n {
		if first {
			cw = append(cw, 129)
			first = false
			continue
		}
		pos := len(cw) + 1 // 1-based position of this pad in the data stream
		v := 129 + (149*pos)%253 + 1
		if v > 254 {
			v -= 254
		}
		cw = append(cw, byte(v))
	}
	return cw
}

// GF(256) with the prime polynomial 301 (0x12D).
var dmExp, dmLog = func() (exp [512]byte, log [256]int) {
	x := 1
	for i := 0; i < 255; i++ {
		exp[i] = byte(x)
		log[x] = i
		x <<= 1
		if x >= 256 {
			x ^= 301
		}
	}
	for i := 255; i < 512; i++ {
		exp[i] = exp[i-255]
	}
	return exp, log
}()

func dmMul(a, b byte) byte {
	if a == 0 || b == 0 {
		return 0
	}
	return dmExp[dmLog[a]+dmLog[b]]
}

// dmGenerator returns the coefficients of the generator polynomial (x−2¹)(x−2²)…(x−2ⁿ),
// highest degree first, the leading 1 included.
func dmGenerator(n int) []byte {
	g := []byte{1}
	for i := 1; i <= n; i++ {
		root := dmExp[i]
		next := make([]byte, len(g)+1)
		for j, c := range g {
			next[j] ^= c                // c·x
			next[j+1] ^= dmMul(c, root) // c·2^i (minus is plus in GF(2⁸))
		}
		g = next
	}
	return g
}

// dmReedSolomon returns the n error correction codewords of data: the remainder of
// data(x)·xⁿ divided by the generator polynomial.
func dmReedSolomon(data []byte, n int) []byte {
	g := dmGenerator(n)
	ec := make([]byte, n)
	for _, d := range data {
		k := d ^ ec[0]
		copy(ec, ec[1:])
		ec[n-1] = 0
		for j := 0; j < n; j++ {
			ec[j] ^= dmMul(k, g[j+1])
		}
	}
	return ec
}

// dmPlacement returns, for a mapping matrix of nrow×ncol modules (the symbol without its finder
// and clock pattern), the module of each position as codeword index·8 + bit (bit 0 the most
// significant), or -1 for the modules of the fixed pattern in the lower-right corner, which are
// dark, and -2 for its light ones (ISO/IEC 16022 Annex F).
func dmPlacement(nrow, ncol int) []int {
	a := make([]int, nrow*ncol)
	for i := range a {
		a[i] = -3 // unset
	}
	module := func(row, col, chr, bit int) {
		if row < 0 {
			row += nrow
			col += 4 - (nrow+4)%8
		}
		if col < 0 {
			col += ncol
			row += 4 - (ncol+4)%8
		}
		a[row*ncol+col] = chr*8 + bit
	}
	utah := func(row, col, chr int) {
		module(row-2, col-2, chr, 0)
		module(row-2, col-1, chr, 1)
		module(row-1, col-2, chr, 2)
		module(row-1, col-1, chr, 3)
		module(row-1, col, chr, 4)
		module(row, col-2, chr, 5)
		module(row, col-1, chr, 6)
		module(row, col, chr, 7)
	}
	corner := func(chr int, pos [8][2]int) {
		for bit, p := range pos {
			module(p[0], p[1], chr, bit)
		}
	}
	chr := 0
	row, col := 4, 0
	for {
		if row == nrow && col == 0 {
			corner(chr, [8][2]int{{nrow - 1, 0}, {nrow - 1, 1}, {nrow - 1, 2}, {0, ncol - 2}, {0, ncol - 1}, {1, ncol - 1}, {2, ncol - 1}, {3, ncol - 1}})
			chr++
		}
		if row == nrow-2 && col == 0 && ncol%4 != 0 {
			corner(chr, [8][2]int{{nrow - 3, 0}, {nrow - 2, 0}, {nrow - 1, 0}, {0, ncol - 4}, {0, ncol - 3}, {0, ncol - 2}, {0, ncol - 1}, {1, ncol - 1}})
			chr++
		}
		if row == nrow-2 && col == 0 && ncol%8 == 4 {
			corner(chr, [8][2]int{{nrow - 3, 0}, {nrow - 2, 0}, {nrow - 1, 0}, {0, ncol - 2}, {0, ncol - 1}, {1, ncol - 1}, {2, ncol - 1}, {3, ncol - 1}})
			chr++
		}
		if row == nrow+4 && col == 2 && ncol%8 == 0 {
			corner(chr, [8][2]int{{nrow - 1, 0}, {nrow - 1, ncol - 1}, {0, ncol - 3}, {0, ncol - 2}, {0, ncol - 1}, {1, ncol - 3}, {1, ncol - 2}, {1, ncol - 1}})
			chr++
		}
		// Sweep up and to the right.
		for {
			if row < nrow && col >= 0 && a[row*ncol+col] == -3 {
				utah(row, col, chr)
				chr++
			}
			row -= 2
			col += 2
			if !(row >= 0 && col < ncol) {
				break
			}
		}
		row++
		col += 3
		// Sweep down and to the left.
		for {
			if row >= 0 && col < ncol && a[row*ncol+col] == -3 {
				utah(row, col, chr)
				chr++
			}
			row += 2
			col -= 2
			if !(row < nrow && col >= 0) {
				break
			}
		}
		row += 3
		col++
		if !(row < nrow || col < ncol) {
			break
		}
	}
	// The fixed pattern fills an untouched lower-right corner: dark at its lower right and
	// upper left, light elsewhere.
	if a[nrow*ncol-1] == -3 {
		a[nrow*ncol-1] = -1
		a[nrow*ncol-ncol-2] = -1
		a[nrow*ncol-2] = -2
		a[nrow*ncol-ncol-1] = -2
	}
	return a
}

// dmCodewords returns the symbol size chosen for data and its full codeword stream: data,
// pads and error correction.
func dmCodewords(data string) (dmSize, []byte, error) {
	cw, err := dmEncodeASCII(data)
	if err != nil {
		return dmSize{}, nil, err
	}
	for _, s := range dmSizes {
		if len(cw) <= s.data {
			cw = dmPad(cw, s.data)
			return s, append(cw, dmReedSolomon(cw, s.ec)...), nil
		}
	}
	last := dmSizes[len(dmSizes)-1]
	return dmSize{}, nil, fmt.Errorf("report: data matrix: data need %d codewords, more than the %d of a %d×%d symbol", len(cw), last.data, last.size, last.size)
}

// DataMatrix returns the modules of the Data Matrix ECC 200 symbol for data, true for dark,
// indexed [row][column] with row 0 at the top, finder and clock pattern included, in the
// smallest square symbol (10×10 to 26×26) that holds it. Data must be ASCII (at most 44
// codewords; digit pairs take one codeword). The quiet zone (one module) is not included.
func DataMatrix(data string) ([][]bool, error) {
	s, cw, err := dmCodewords(data)
	if err != nil {
		return nil, err
	}
	n := s.size - 2
	place := dmPlacement(n, n)
	m := make([][]bool, s.size)
	for r := range m {
		m[r] = make([]bool, s.size)
	}
	for r := 0; r < s.size; r++ {
		m[r][0] = true                             // solid left edge
		m[s.size-1][r] = true                      // solid bottom edge
		m[0][r] = r%2 == 0                         // alternating top edge, dark at the left
		m[r][s.size-1] = r%2 == 1 || r == s.size-1 // alternating right edge, light at the top
	}
	for r := 0; r < n; r++ {
		for c := 0; c < n; c++ {
			v := place[r*n+c]
			var dark bool
			switch {
			case v == -1:
				dark = true
			case v >= 0:
				dark = cw[v/8]&(0x80>>(v%8)) != 0
			}
			m[r+1][c+1] = dark
		}
	}
	return m, nil
}

// DataMatrix draws the Data Matrix symbol for data on the page with its lower-left corner at
// (x, y), each module a square of side module, in the current fill colour, and returns the
// symbol's side in points. Each dark module is one filled square. The caller leaves a quiet
// zone of at least one module around it.
func (p *Page) DataMatrix(x, y, module float64, data string) (float64, error) {
	m, err := DataMatrix(data)
	if err != nil {
		return 0, err
	}
	if !(module > 0) {
		return 0, fmt.Errorf("report: data matrix module %v must be positive", module)
	}
	n := len(m)
	for r, row := range m {
		for c, dark := range row {
			if dark {
				p.FillRect(x+float64(c)*module, y+float64(n-1-r)*module, module, module)
			}
		}
	}
	return float64(n) * module, nil
}
