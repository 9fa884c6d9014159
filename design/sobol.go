package design

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"

	"github.com/clink-consortium/clink"
)

// MaxSobolDim is the number of dimensions the Sobol sequence supports: 1 + the dimensions of
// joeKuo.
const MaxSobolDim = 128

// sobolBits is the number of binary digits of each coordinate: points are multiples of 2^−32
// and the sequence has 2^32 points.
const sobolBits = 32

// maxSobolValues bounds n·d of one call to Sobol (256 MiB of float64).
const maxSobolValues = 1 << 25

// directions returns the direction numbers v[dim][j] (j = 0 … 31, the binary fraction
// 0.v_j1 v_j2 … stored in the high bits), built from joeKuo by the recurrence of Bratley and
// Fox (1988) as Joe and Kuo state it:
//
//	v_j = m_j·2^(32−j)                                  for j ≤ s,
//	v_j = v_{j−s} ⊕ (v_{j−s} >> s) ⊕ ⊕_{k=1}^{s−1} a_k·v_{j−k}  for j > s,
//
// where a_k is bit s−1−k of a. Dimension 1 has m_j = 1 for all j (van der Corput).
var directions = sync.OnceValue(func() [][sobolBits]uint32 {
	dirs := make([][sobolBits]uint32, MaxSobolDim)
	for j := range sobolBits {
		dirs[0][j] = 1 << (sobolBits - 1 - j)
	}
	for d, line := range strings.Split(joeKuo, "\n")[1:] {
		f := strings.Fields(line)
		num := make([]uint32, len(f))
		for i, s := range f {
			x, err := strconv.ParseUint(s, 10, 32)
			if err != nil {
				panic("design: bad joeKuo table: " + err.Error())
			}
			num[i] = uint32(x)
		}
		s, a, m := int(num[1]), num[2], num[3:]
		if int(num[0]) != d+2 || len(m) != s {
			panic(fmt.Sprintf("design: bad joeKuo line %q", line))
		}
		v := &dirs[d+1]
		for j := range sobolBits {
			if j < s {
				v[j] = m[j] << (sobolBits - 1 - j)
				continue
			}
			x := v[j-s] ^ (v[j-s] >> s)
			for k := 1; k < s; k++ {
				if (a>>(s-1-k))&1 == 1 {
					x ^= v[j-k]
				}
			}
			v[j] = x
		}
	}
	return dirs
})

// SobolOptions tune a Sobol sequence.
type SobolOptions struct {
	// Scramble applies a random linear matrix scramble and a random digital shift
	// (Matoušek 1998; Owen 2003) drawn from Seed. Scrambled points are no longer on the
	// corners of the cube and differ by seed, but keep the stratification of the sequence.
	Scramble bool
	Seed     uint64
	// Skip starts the sequence at point Skip. The stratification of the first 2^m points
	// holds for any block of 2^m points starting at a multiple of 2^m, so skip by a power of
	// two, or not at all.
	Skip int
}

// SobolSequence generates the points of a Sobol sequence one at a time, in Gray code order
// (Antonov and Saleev 1979), the order of Joe and Kuo's reference program and of SciPy.
type SobolSequence struct {
	d     int
	v     [][sobolBits]uint32
	x     []uint32
	index uint64 // of the next point
}

// NewSobol returns the d-dimensional Sobol sequence.
func NewSobol(d int, opt SobolOptions) (*SobolSequence, error) {
	switch {
	case d < 1 || d > MaxSobolDim:
		return nil, clink.Invalid("dimensions", "the Sobol sequence has 1–%d dimensions, got %d", MaxSobolDim, d)
	case opt.Skip < 0 || uint64(opt.Skip) >= 1<<sobolBits:
		return nil, clink.Invalid("skip", "must be in 0–2^32−1, got %d", opt.Skip)
	}
	all := directions()
	s := &SobolSequence{d: d, v: make([][sobolBits]uint32, d), x: make([]uint32, d), index: uint64(opt.Skip)}
	copy(s.v, all[:d])
	if opt.Scramble {
		rng := rand.New(rand.NewPCG(opt.Seed, 0x50b01))
		for i := range d {
			// Digit r of the scrambled coordinate is digit r of the original plus a random
			// combination of its more significant digits: a lower-triangular binary matrix
			// with unit diagonal, applied to every direction number.
			var rows [sobolBits]uint32
			for r := range sobolBits {
				bit := uint32(1) << (sobolBits - 1 - r)
				above := ^(bit<<1 - 1) // the more significant digits
				if r == 0 {
					above = 0
				}
				rows[r] = bit | (rng.Uint32() & above)
			}
			for j := range sobolBits {
				var y uint32
				for r := range sobolBits {
					if bits.OnesCount32(rows[r]&s.v[i][j])&1 == 1 {
						y |= 1 << (sobolBits - 1 - r)
					}
				}
				s.v[i][j] = y
			}
			s.x[i] = rng.Uint32() // the digital shift
		}
	}
	g := s.index ^ (s.index >> 1)
	for j := range sobolBits {
		if g&(1<<j) != 0 {
			for i := range d {
				s.x[i] ^= s.v[i][j]
			}
		}
	}
	return s, nil
}

// Dim is the number of dimensions.
func (s *SobolSequence) Dim() int { return s.d }

// Next writes the next point into dst, which must have length Dim, and reports whether it
// did: false when dst has the wrong length or the 2^32 points are spent.
func (s *SobolSequence) Next(dst []float64) bool {
	if len(dst) != s.d || s.index >= 1<<sobolBits {
		return false
	}
	for i, x := range s.x {
		dst[i] = float64(x) * 0x1p-32
	}
	s.index++
	if s.index < 1<<sobolBits {
		j := bits.TrailingZeros64(s.index)
		for i := range s.x {
			s.x[i] ^= s.v[i][j]
		}
	}
	return true
}

// Sobol returns n points of the d-dimensional Sobol sequence with Joe and Kuo's direction
// numbers (joeKuo), each coordinate in [0, 1). Unscrambled, the first point is the origin, as
// in Joe and Kuo's program and SciPy; Owen (2021) advises scrambling and taking n a power of
// two, so that the first 2^m points form a (t, m, d)-net.
func Sobol(n, d int, opt SobolOptions) ([][]float64, error) {
	s, err := NewSobol(d, opt)
	if err != nil {
		return nil, err
	}
	switch {
	case n < 1:
		return nil, clink.Invalid("n", "want at least 1 point, got %d", n)
	case n > maxSobolValues/d:
		return nil, clink.Invalid("n", "%d points × %d dimensions exceeds the limit of %d values", n, d, maxSobolValues)
	case uint64(opt.Skip)+uint64(n) > 1<<sobolBits:
		return nil, clink.Invalid("n", "skip + n exceeds the 2^32 points of the sequence")
	}
	flat := make([]float64, n*d)
	pts := make([][]float64, n)
	for i := range pts {
		pts[i] = flat[i*d : (i+1)*d : (i+1)*d]
		s.Next(pts[i])
	}
	return pts, nil
}
