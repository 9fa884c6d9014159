package design

import (
	"encoding/json"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/clink-consortium/clink"
)

// TestSobolFirstPointsByHand checks the first 8 points in 3 dimensions against the
// construction worked by hand. In binary fractions, with Gray code order (point i+1 =
// point i ⊕ v_c, c = the number of trailing zeros of i+1, counting from 1):
//
//	dim 1 (van der Corput): v1 = .1, v2 = .01, v3 = .001
//	dim 2 (s = 1, a = 0, m1 = 1):  v1 = .1; v2 = v1 ⊕ v1>>1 = .11; v3 = v2 ⊕ v2>>1 = .101
//	dim 3 (s = 2, a = 1, m = 1, 3): v1 = .1, v2 = .11; v3 = v1 ⊕ v1>>2 ⊕ v2 = .1 ⊕ .001 ⊕ .11 = .011
//
//	i  c  dim 1            dim 2            dim 3
//	0     0                0                0
//	1  1  .1   = 0.5       .1   = 0.5       .1   = 0.5
//	2  2  .11  = 0.75      .01  = 0.25      .01  = 0.25
//	3  1  .01  = 0.25      .11  = 0.75      .11  = 0.75
//	4  3  .011 = 0.375     .011 = 0.375     .101 = 0.625
//	5  1  .111 = 0.875     .111 = 0.875     .001 = 0.125
//	6  2  .101 = 0.625     .001 = 0.125     .111 = 0.875
//	7  1  .001 = 0.125     .101 = 0.625     .011 = 0.375
//
// The same values are printed by Joe and Kuo's program and by SciPy.
func TestSobolFirstPointsByHand(t *testing.T) {
	want := [][]float64{
		{0, 0, 0},
		{0.5, 0.5, 0.5},
		{0.75, 0.25, 0.25},
		{0.25, 0.75, 0.75},
		{0.375, 0.375, 0.625},
		{0.875, 0.875, 0.125},
		{0.625, 0.125, 0.875},
		{0.125, 0.625, 0.375},
	}
	got, err := Sobol(8, 3, SobolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		for j := range want[i] {
			if got[i][j] != want[i][j] {
				t.Errorf("point %d, dim %d: got %g, want %g", i, j+1, got[i][j], want[i][j])
			}
		}
	}
}

type scipySobol struct {
	First          [][]float64 `json:"first"`
	ChecksumPoints int         `json:"checksum_points"`
	Checksums      []uint64    `json:"checksums"`
}

// TestSobolAgainstSciPy compares all 128 dimensions with SciPy's unscrambled sequence
// (testdata/sobol.py): the first 32 points exactly, and a hash of the first 2^14.
func TestSobolAgainstSciPy(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "sobol_scipy.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref scipySobol
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.First) != 32 || len(ref.Checksums) != MaxSobolDim || ref.ChecksumPoints != 1<<14 {
		t.Fatalf("fixture: got %d points, %d checksums over %d points; want 32, %d, 16384", len(ref.First), len(ref.Checksums), ref.ChecksumPoints, MaxSobolDim)
	}
	got, err := Sobol(ref.ChecksumPoints, MaxSobolDim, SobolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range ref.First {
		for j, want := range row {
			if got[i][j] != want {
				t.Errorf("point %d, dim %d: got %v, want %v", i, j+1, got[i][j], want)
			}
		}
	}
	for j, want := range ref.Checksums {
		h := uint64(14695981039346656037)
		for _, p := range got {
			h = (h ^ uint64(p[j]*(1<<30))) * 1099511628211
		}
		if h != want {
			t.Errorf("dim %d: got hash %d, want %d", j+1, h, want)
		}
	}
}

// TestJoeKuoTable checks the transcribed direction numbers for what makes them valid: every
// polynomial x^s + a_1 x^(s−1) + … + a_(s−1) x + 1 is primitive over GF(2), no two dimensions
// share one, degrees never decrease, and every m_i is odd and below 2^i.
func TestJoeKuoTable(t *testing.T) {
	lines := strings.Split(joeKuo, "\n")
	if len(lines) != MaxSobolDim {
		t.Fatalf("got %d lines, want a header and %d dimensions", len(lines), MaxSobolDim-1)
	}
	seen := map[uint64]int{}
	prevDeg := 0
	for d, line := range lines[1:] {
		f := strings.Fields(line)
		nums := make([]uint64, len(f))
		for i, s := range f {
			x, err := strconv.ParseUint(s, 10, 32)
			if err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
			nums[i] = x
		}
		s, a, m := int(nums[1]), nums[2], nums[3:]
		if nums[0] != uint64(d+2) || len(m) != s || s < prevDeg || a >= 1<<(s-1) {
			t.Errorf("line %q: malformed (dimension %d, degree %d, %d numbers)", line, d+2, s, len(m))
			continue
		}
		prevDeg = s
		poly := 1<<s | a<<1 | 1
		if !primitive(poly, s) {
			t.Errorf("dimension %d: polynomial %b is not primitive", d+2, poly)
		}
		if p, dup := seen[poly]; dup {
			t.Errorf("dimension %d repeats the polynomial of dimension %d", d+2, p)
		}
		seen[poly] = d + 2
		for i, mi := range m {
			if mi%2 == 0 || mi >= 1<<(i+1) {
				t.Errorf("dimension %d: m_%d = %d is not odd and below 2^%d", d+2, i+1, mi, i+1)
			}
		}
	}
}

// primitive reports whether the GF(2) polynomial poly of degree s is primitive: x has order
// exactly 2^s − 1 modulo poly, that is x^(2^s−1) = 1 and x^((2^s−1)/q) ≠ 1 for every prime q
// dividing 2^s − 1.
func primitive(poly uint64, s int) bool {
	order := uint64(1)<<s - 1
	mulmod := func(a, b uint64) uint64 {
		var r uint64
		for ; b != 0; b >>= 1 {
			if b&1 == 1 {
				r ^= a
			}
			a <<= 1
			if a&(1<<s) != 0 {
				a ^= poly
			}
		}
		return r
	}
	x := uint64(2) // the polynomial x, already reduced for s ≥ 2
	if s == 1 {
		x = 1 // x ≡ 1 modulo x + 1
	}
	pow := func(e uint64) uint64 {
		r, base := uint64(1), x
		for ; e > 0; e >>= 1 {
			if e&1 == 1 {
				r = mulmod(r, base)
			}
			base = mulmod(base, base)
		}
		return r
	}
	if pow(order) != 1 {
		return false
	}
	n := order
	for q := uint64(2); q*q <= n; q++ {
		if n%q == 0 {
			if pow(order/q) == 1 {
				return false
			}
			for n%q == 0 {
				n /= q
			}
		}
	}
	return n == 1 || pow(order/n) != 1
}

func TestPrimitive(t *testing.T) {
	for _, tc := range []struct {
		poly uint64
		s    int
		want bool
	}{
		{0b11, 1, true},
		{0b111, 2, true},
		{0b10011, 4, true},    // x^4 + x + 1
		{0b11111, 4, false},   // x^4 + x^3 + x^2 + x + 1: irreducible, but x has order 5
		{0b10101, 4, false},   // (x^2 + x + 1)^2
		{0b100101, 5, true},   // x^5 + x^2 + 1
		{0b1000011, 6, true},  // x^6 + x + 1
		{0b1001001, 6, false}, // x^6 + x^3 + 1: irreducible, order 9
	} {
		if got := primitive(tc.poly, tc.s); got != tc.want {
			t.Errorf("primitive(%b): got %v, want %v", tc.poly, got, tc.want)
		}
	}
}

// TestSobolStratification checks the defining property of a Sobol sequence in each dimension:
// the first 2^m points put exactly one point in each interval [k/2^m, (k+1)/2^m), for every
// m, scrambled or not, and so does every later block of 2^m points starting at a multiple of
// 2^m.
func TestSobolStratification(t *testing.T) {
	const mMax = 12
	for _, opt := range []SobolOptions{{}, {Scramble: true, Seed: 1}, {Scramble: true, Seed: 99}, {Skip: 1 << mMax}} {
		pts, err := Sobol(1<<mMax, 21, opt)
		if err != nil {
			t.Fatal(err)
		}
		for m := 0; m <= mMax; m++ {
			n := 1 << m
			for start := 0; start+n <= len(pts) && start < 4*n; start += n {
				for j := range 21 {
					hit := make([]bool, n)
					for _, p := range pts[start : start+n] {
						k := int(p[j] * float64(n))
						if hit[k] {
							t.Fatalf("%+v: points %d–%d, dim %d: two points in [%d/%d, %d/%d)", opt, start, start+n-1, j+1, k, n, k+1, n)
						}
						hit[k] = true
					}
				}
			}
		}
	}
}

// TestSobolTwoDimensionalNet checks the (t, m, 2)-net property of dimensions 1 and 2, whose
// t is 0: the first 2^m points put exactly one point in every elementary box
// [a/2^i, (a+1)/2^i) × [b/2^(m−i), (b+1)/2^(m−i)); scrambling keeps it.
func TestSobolTwoDimensionalNet(t *testing.T) {
	for _, opt := range []SobolOptions{{}, {Scramble: true, Seed: 7}} {
		const m = 10
		pts, err := Sobol(1<<m, 2, opt)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i <= m; i++ {
			hit := map[[2]int]bool{}
			for _, p := range pts {
				box := [2]int{int(p[0] * float64(int(1)<<i)), int(p[1] * float64(int(1)<<(m-i)))}
				if hit[box] {
					t.Fatalf("%+v: two points in box %v of shape 2^-%d × 2^-%d", opt, box, i, m-i)
				}
				hit[box] = true
			}
		}
	}
}

func TestSobolScrambleSeeds(t *testing.T) {
	a, _ := Sobol(64, 5, SobolOptions{Scramble: true, Seed: 3})
	b, _ := Sobol(64, 5, SobolOptions{Scramble: true, Seed: 3})
	c, _ := Sobol(64, 5, SobolOptions{Scramble: true, Seed: 4})
	same, differ := true, false
	for i := range a {
		for j := range a[i] {
			same = same && a[i][j] == b[i][j]
			differ = differ || a[i][j] != c[i][j]
			if a[i][j] < 0 || a[i][j] >= 1 {
				t.Errorf("point %d, dim %d: %g is outside [0, 1)", i, j, a[i][j])
			}
		}
	}
	if !same {
		t.Error("the same seed gave different points")
	}
	if !differ {
		t.Error("seeds 3 and 4 gave the same points")
	}
	if a[0][0] == 0 && a[0][1] == 0 {
		t.Error("a scrambled sequence starts at the origin")
	}
	// The mean of each coordinate over 2^m scrambled points is within 2^-m of 1/2.
	for j := range 5 {
		s := 0.0
		for _, p := range a {
			s += p[j]
		}
		if mean := s / 64; math.Abs(mean-0.5) > 1.0/64 {
			t.Errorf("dim %d: mean %g is farther than 1/64 from 0.5", j, mean)
		}
	}
}

func TestSobolSkipAndStream(t *testing.T) {
	all, _ := Sobol(100, 4, SobolOptions{Scramble: true, Seed: 5})
	tail, _ := Sobol(37, 4, SobolOptions{Scramble: true, Seed: 5, Skip: 63})
	for i := range tail {
		for j := range tail[i] {
			if tail[i][j] != all[63+i][j] {
				t.Fatalf("skip 63: point %d dim %d: got %g, want %g", i, j, tail[i][j], all[63+i][j])
			}
		}
	}
	s, err := NewSobol(4, SobolOptions{Scramble: true, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]float64, 4)
	for i := range 10 {
		if !s.Next(dst) || dst[2] != all[i][2] {
			t.Fatalf("stream point %d: got %v, want %v", i, dst, all[i])
		}
	}
	if s.Next(make([]float64, 3)) {
		t.Error("Next accepted a destination of the wrong length")
	}
	// The last point of the sequence, then nothing.
	s, _ = NewSobol(1, SobolOptions{Skip: 1<<32 - 1})
	if !s.Next(dst[:1]) || s.Next(dst[:1]) {
		t.Error("the sequence does not end after 2^32 points")
	}
	if bits.UintSize == 64 {
		if _, err := Sobol(2, 1, SobolOptions{Skip: 1<<32 - 1}); clink.ErrorCode(err) != clink.EINVALID {
			t.Errorf("Sobol past the end: got %v, want an EINVALID error", err)
		}
	}
}

func TestSobolErrors(t *testing.T) {
	for _, tc := range []struct {
		n, d int
		opt  SobolOptions
	}{
		{10, 0, SobolOptions{}},
		{10, MaxSobolDim + 1, SobolOptions{}},
		{0, 2, SobolOptions{}},
		{-1, 2, SobolOptions{}},
		{10, 2, SobolOptions{Skip: -1}},
		{1 << 25, 2, SobolOptions{}},
	} {
		if _, err := Sobol(tc.n, tc.d, tc.opt); clink.ErrorCode(err) != clink.EINVALID {
			t.Errorf("Sobol(%d, %d, %+v): got %v, want an EINVALID error", tc.n, tc.d, tc.opt, err)
		}
	}
}
