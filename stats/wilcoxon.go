package stats

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/clink-consortium/clink"
)

// Warnings that R 4.2.2's wilcox.test prints when it was asked for an exact p-value (the default
// for fewer than 50 non-zero differences) but has to fall back to the normal approximation.
const (
	noteExactTies   = "cannot compute exact p-value with ties"
	noteExactZeroes = "cannot compute exact p-value with zeroes"
	noteAllZero     = "all differences are zero: no test is possible"
	noteNoPairs     = "no complete pairs: no test is possible"
)

// exactLimit is R's default switch: the exact null distribution is used when fewer than
// exactLimit non-zero differences remain.
const exactLimit = 50

// Wilcoxon is the result of a two-sided paired Wilcoxon signed-rank test.
type Wilcoxon struct {
	Statistic float64  `json:"statistic"` // V for first minus second
	PValue    *float64 `json:"p_value"`   // nil when no test is possible (all differences zero, sigma 0)
	N         int      `json:"n"`         // pairs after dropping zero differences
	Exact     bool     `json:"exact"`
	Note      string   `json:"note,omitempty"` // e.g. R's "cannot compute exact p-value with ties"
}

// WilcoxonSignedRank is the two-sided paired signed-rank test of x minus y, as
// wilcox.test(x, y, paired = TRUE) in R 4.2.2 computes it (domain.md §7.2): zero differences
// are dropped, the absolute differences get mid-ranks, V is the sum of the ranks of the positive
// differences, the p-value is exact for fewer than 50 differences without ties or zeros and
// otherwise comes from the normal approximation with continuity and tie correction. Ties are
// exact equality of the computed differences, as in R without digits.rank.
//
// Slices of different lengths or non-finite values are an EINVALID error. Empty input, or input
// whose differences are all zero, gives V = 0 with a nil p-value and a note.
func WilcoxonSignedRank(x, y []float64) (Wilcoxon, error) {
	var fe clink.FieldErrors
	if len(x) != len(y) {
		fe.Addf("y", "has %d values, x has %d: paired samples must have the same length", len(y), len(x))
		return Wilcoxon{}, fe.Err()
	}
	checkFinite(&fe, "x", x)
	checkFinite(&fe, "y", y)
	if err := fe.Err(); err != nil {
		return Wilcoxon{}, err
	}
	d := make([]float64, len(x))
	for i := range x {
		d[i] = x[i] - y[i]
	}
	var sr signedRank
	return sr.test(d), nil
}

// checkFinite records the first non-finite value of xs, if any.
func checkFinite(fe *clink.FieldErrors, field string, xs []float64) {
	for i, v := range xs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			fe.Addf(field+"["+strconv.Itoa(i)+"]", "%v is not a finite number", v)
			return
		}
	}
}

// signedRank holds the scratch space of the signed-rank test, so that many pairwise tests
// allocate once.
type signedRank struct {
	keys []uint64
}

// test runs the signed-rank test on the differences d (finite, possibly ±Inf after an
// overflowing subtraction, never NaN).
func (sr *signedRank) test(d []float64) Wilcoxon {
	// Each non-zero difference becomes the key bits(|d|)<<1 | (d > 0). The bits of a non-negative
	// float64 order like the number and use 63 bits, so sorting the keys as integers sorts by
	// |d|, and a tie group of |d| is a run of keys equal but for the lowest bit.
	zeroes := false
	sr.keys = sr.keys[:0]
	for _, v := range d {
		if v == 0 {
			zeroes = true
			continue
		}
		key := math.Float64bits(math.Abs(v)) << 1
		if v > 0 {
			key |= 1
		}
		sr.keys = append(sr.keys, key)
	}
	slices.Sort(sr.keys)

	// Ranks i+1..j of a tie group share the mid-rank (i+1+j)/2; its positive differences add it to V.
	n := len(sr.keys)
	var v, tieSum float64
	for i := 0; i < n; {
		j := i + 1
		pos := sr.keys[i] & 1
		for j < n && sr.keys[j]>>1 == sr.keys[i]>>1 {
			pos += sr.keys[j] & 1
			j++
		}
		v += float64(pos) * float64(i+1+j) / 2
		if t := float64(j - i); t > 1 {
			tieSum += t*t*t - t
		}
		i = j
	}
	ties := tieSum > 0

	w := Wilcoxon{Statistic: v, N: n}
	switch {
	case len(d) == 0:
		w.Note = noteNoPairs // R stops: not enough (non-missing) 'x' observations
		return w
	case n == 0:
		w.Note = noteExactZeroes + "; " + noteAllZero // R warns and gives p = NA
		return w
	}
	var notes []string
	exactWanted := n < exactLimit
	if exactWanted && !ties && !zeroes {
		w.Exact = true
		pv := exactSignedRankP(int(v), n)
		w.PValue = &pv
		return w
	}
	nf := float64(n)
	z := v - nf*(nf+1)/4
	sigma := math.Sqrt(nf*(nf+1)*(2*nf+1)/24 - tieSum/48)
	if sigma > 0 {
		// z − sign(z)/2 never crosses zero, so |z| − 1/2 (at least 0) is the corrected |z|, and
		// 2·min(Φ(z), 1 − Φ(z)) = erfc(|z|/√2) keeps tiny p-values.
		az := math.Max(math.Abs(z)-0.5, 0) / sigma
		pv := math.Erfc(az / math.Sqrt2)
		w.PValue = &pv
	}
	if exactWanted && ties {
		notes = append(notes, noteExactTies)
	}
	if exactWanted && zeroes {
		notes = append(notes, noteExactZeroes)
	}
	w.Note = strings.Join(notes, "; ")
	return w
}

// exactSignedRankP is the exact two-sided p-value of V = v for n differences without ties, as
// R computes it: 2·P(V ≥ v) when v > n(n+1)/4, else 2·P(V ≤ v), capped at 1.
func exactSignedRankP(v, n int) float64 {
	cum := signedRankTable()[n]
	m := n * (n + 1) / 2
	k := v
	if 4*v > n*(n+1) {
		k = m - v // P(V ≥ v) = P(V ≤ m − v) by symmetry
	}
	if k < 0 {
		return 0
	}
	return math.Min(1, 2*math.Ldexp(cum[k], -n))
}

// signedRankTable holds, for n = 0..49, the cumulative counts of subsets of {1..n} with sum at
// most s, for s = 0..n(n+1)/2. The counts are below 2^49, so float64 holds them exactly.
var signedRankTable = sync.OnceValue(func() [][]float64 {
	table := make([][]float64, exactLimit)
	counts := []float64{1}
	for n := 0; n < exactLimit; n++ {
		if n > 0 {
			// Subsets of {1..n} with sum s: those without n, plus those with n.
			next := make([]float64, len(counts)+n)
			copy(next, counts)
			for s, c := range counts {
				next[s+n] += c
			}
			counts = next
		}
		cum := make([]float64, len(counts))
		var acc float64
		for s, c := range counts {
			acc += c
			cum[s] = acc
		}
		table[n] = cum
	}
	return table
})
