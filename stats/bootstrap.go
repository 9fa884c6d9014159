package stats

// This file holds the percentile bootstrap of medians and of ratios of medians. It is
// self-contained inside package stats: its helpers carry the prefix boot.

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/clink-consortium/clink"
)

// Bootstrap defaults and limits.
const (
	DefaultBootstrapResamples = 2000
	DefaultBootstrapLevel     = 0.95
	// MaxBootstrapResamples bounds the work and memory one call may ask for.
	MaxBootstrapResamples = 1_000_000
)

// bootStream is the PCG stream selector paired with BootstrapOptions.Seed. It is fixed so
// that a seed alone names the random sequence.
const bootStream = 0x434c494e4b5f4249 // "CLINK_BI"

// BootstrapCI is a percentile bootstrap confidence interval.
type BootstrapCI struct {
	Estimate  float64 `json:"estimate"`  // the statistic on the data as given
	Low       float64 `json:"low"`       // type-7 quantile (1 − Level)/2 of the resampled statistics
	High      float64 `json:"high"`      // type-7 quantile (1 + Level)/2 of the resampled statistics
	Level     float64 `json:"level"`     // e.g. 0.95
	Resamples int     `json:"resamples"` // number of bootstrap resamples
}

// BootstrapOptions tune the bootstrap. The zero value asks for 2,000 resamples, a 95 %
// interval and seed 0.
type BootstrapOptions struct {
	Resamples int     `json:"resamples"` // 0 selects DefaultBootstrapResamples
	Level     float64 `json:"level"`     // in (0, 1); 0 selects DefaultBootstrapLevel
	Seed      uint64  `json:"seed"`      // seeds a math/rand/v2 PCG generator
}

// Validate reports options that no default can repair: a negative or too large number of
// resamples, or a level outside (0, 1). The error is an EINVALID *clink.Error whose fields
// are "resamples" and "level".
func (o BootstrapOptions) Validate() error {
	var fe clink.FieldErrors
	bootCheckOptions(o, &fe)
	return fe.Err()
}

func bootCheckOptions(o BootstrapOptions, fe *clink.FieldErrors) {
	if o.Resamples < 0 || o.Resamples > MaxBootstrapResamples {
		fe.Addf("resamples", "must be between 1 and %d (0 selects %d), got %d",
			MaxBootstrapResamples, DefaultBootstrapResamples, o.Resamples)
	}
	if o.Level != 0 && !(o.Level > 0 && o.Level < 1) {
		fe.Addf("level", "must be inside (0, 1) (0 selects %g), got %g", DefaultBootstrapLevel, o.Level)
	}
}

func (o BootstrapOptions) withDefaults() BootstrapOptions {
	if o.Resamples == 0 {
		o.Resamples = DefaultBootstrapResamples
	}
	if o.Level == 0 {
		o.Level = DefaultBootstrapLevel
	}
	return o
}

// BootstrapMedian returns the median of xs with a percentile bootstrap confidence interval.
//
// The median follows R's median (type 7: the mean of the two middle values for even n). Each
// of the Resamples resamples draws len(xs) values with replacement; the interval is the pair of
// type-7 quantiles (R's quantile(type = 7)) of the resampled medians at (1 − Level)/2 and
// (1 + Level)/2. The result depends only on the multiset of values and on the options, not on
// the order of xs. With one value, or all values equal, the interval is degenerate. The
// interval always lies within the range of xs and, at usual levels and resample counts,
// contains the estimate; it is not widened to force that, so with a very small level or a
// handful of resamples it can miss it.
//
// Errors are EINVALID: xs empty or holding a non-finite value, or options that Validate rejects.
// The cost is O(Resamples·len(xs)): each resample's median is found by counting how often each
// value was drawn and walking the counts in sorted order, with no sort per resample.
func BootstrapMedian(xs []float64, opt BootstrapOptions) (BootstrapCI, error) {
	var fe clink.FieldErrors
	bootCheckOptions(opt, &fe)
	bootCheckSample("xs", xs, &fe)
	if err := fe.Err(); err != nil {
		return BootstrapCI{}, err
	}
	opt = opt.withDefaults()
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	est := bootMedianSorted(sorted)

	stat := bootResampleMedians(sorted, newBootRand(opt.Seed), opt.Resamples)
	return bootInterval(est, stat, opt), nil
}

// bootResampleMedians returns the medians of b resamples of the sorted sample.
func bootResampleMedians(sorted []float64, rng *bootRand, b int) []float64 {
	m := newBootMedian(sorted)
	idx := make([]uint32, len(sorted))
	stat := make([]float64, b)
	for k := range stat {
		m.resample(rng, idx)
		stat[k] = m.median()
	}
	return stat
}

// BootstrapMedianRatio returns median(xs)/median(ys) with a percentile bootstrap confidence
// interval, resampling the two groups independently (for unpaired samples such as two
// protocols run on different donors). Medians and quantiles follow BootstrapMedian.
//
// Errors are EINVALID: either sample empty or holding a non-finite value, median(ys) = 0,
// a resample whose ys median is zero (the ratio is then undefined: report it rather than hide
// it), a ratio that overflows, or options that Validate rejects.
func BootstrapMedianRatio(xs, ys []float64, opt BootstrapOptions) (BootstrapCI, error) {
	var fe clink.FieldErrors
	bootCheckOptions(opt, &fe)
	bootCheckSample("xs", xs, &fe)
	bootCheckSample("ys", ys, &fe)
	if err := fe.Err(); err != nil {
		return BootstrapCI{}, err
	}
	opt = opt.withDefaults()
	sx, sy := slices.Clone(xs), slices.Clone(ys)
	slices.Sort(sx)
	slices.Sort(sy)
	est, err := bootRatio(bootMedianSorted(sx), bootMedianSorted(sy))
	if err != nil {
		return BootstrapCI{}, err
	}

	rng := newBootRand(opt.Seed)
	mx, my := newBootMedian(sx), newBootMedian(sy)
	ix, iy := make([]uint32, len(sx)), make([]uint32, len(sy))
	stat := make([]float64, opt.Resamples)
	zero := 0
	for b := range stat {
		mx.resample(rng, ix)
		my.resample(rng, iy)
		num, den := mx.median(), my.median()
		if den == 0 {
			zero++
			continue
		}
		stat[b] = num / den
	}
	if err := bootResampleCheck(zero, stat, opt.Resamples); err != nil {
		return BootstrapCI{}, err
	}
	return bootInterval(est, stat, opt), nil
}

// BootstrapMedianRatioPaired is BootstrapMedianRatio for paired samples: xs[i] and ys[i]
// belong together (one donor's material split across two protocols), so each resample draws
// whole pairs. The slices must have the same length. Errors are those of BootstrapMedianRatio
// plus a length mismatch.
func BootstrapMedianRatioPaired(xs, ys []float64, opt BootstrapOptions) (BootstrapCI, error) {
	var fe clink.FieldErrors
	bootCheckOptions(opt, &fe)
	bootCheckSample("xs", xs, &fe)
	bootCheckSample("ys", ys, &fe)
	if len(xs) != len(ys) {
		fe.Addf("ys", "paired samples need equal lengths, got %d xs and %d ys", len(xs), len(ys))
	}
	if err := fe.Err(); err != nil {
		return BootstrapCI{}, err
	}
	opt = opt.withDefaults()
	n := len(xs)
	// rank[i] is the position of pair i's value in the sorted sample, so a drawn pair is
	// counted at its place in each sorted order.
	sx, rankX := bootSortWithRank(xs)
	sy, rankY := bootSortWithRank(ys)
	est, err := bootRatio(bootMedianSorted(sx), bootMedianSorted(sy))
	if err != nil {
		return BootstrapCI{}, err
	}

	rng := newBootRand(opt.Seed)
	mx, my := newBootMedian(sx), newBootMedian(sy)
	idx := make([]uint32, n)
	stat := make([]float64, opt.Resamples)
	zero := 0
	for b := range stat {
		mx.reset()
		my.reset()
		rng.draw(idx, uint32(n))
		for _, i := range idx {
			mx.counts[rankX[i]]++
			my.counts[rankY[i]]++
		}
		num, den := mx.median(), my.median()
		if den == 0 {
			zero++
			continue
		}
		stat[b] = num / den
	}
	if err := bootResampleCheck(zero, stat, opt.Resamples); err != nil {
		return BootstrapCI{}, err
	}
	return bootInterval(est, stat, opt), nil
}

// bootCheckSample records an empty sample or a non-finite value under field.
func bootCheckSample(field string, xs []float64, fe *clink.FieldErrors) {
	if len(xs) == 0 {
		fe.Addf(field, "no values: a median needs at least one")
		return
	}
	if uint64(len(xs)) > math.MaxUint32 {
		fe.Addf(field, "%d values: at most %d are supported", len(xs), uint64(math.MaxUint32))
		return
	}
	for i, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			fe.Addf(field, "value %d is %g: values must be finite", i, x)
			return
		}
	}
}

// bootRatio divides two medians, refusing a zero denominator and an overflow.
func bootRatio(num, den float64) (float64, error) {
	if den == 0 {
		return 0, clink.Invalid("ys", "the median is zero: the ratio of medians is undefined")
	}
	r := num / den
	if math.IsInf(r, 0) {
		return 0, clink.Invalid("ys", "the ratio of medians %g/%g overflows", num, den)
	}
	return r, nil
}

// bootResampleCheck refuses resamples whose ratio is undefined or overflowed.
func bootResampleCheck(zero int, stat []float64, resamples int) error {
	if zero > 0 {
		return clink.Invalid("ys", "the median of ys is zero in %d of %d resamples: "+
			"the ratio of medians is undefined (too many zero values)", zero, resamples)
	}
	for _, s := range stat {
		if math.IsInf(s, 0) || math.IsNaN(s) {
			return clink.Invalid("ys", "a resampled ratio of medians overflows: values span too many orders of magnitude")
		}
	}
	return nil
}

// bootInterval sorts the resampled statistics and returns the percentile interval.
func bootInterval(est float64, stat []float64, opt BootstrapOptions) BootstrapCI {
	lo, hi := bootPercentile(stat, opt.Level)
	return BootstrapCI{Estimate: est, Low: lo, High: hi, Level: opt.Level, Resamples: opt.Resamples}
}

// bootPercentile sorts stat in place and returns its type-7 quantiles at (1 − level)/2 and
// 1 − (1 − level)/2, computed with the same floating-point steps as the R script in
// testdata/bootstrap.R.
func bootPercentile(stat []float64, level float64) (lo, hi float64) {
	slices.Sort(stat)
	a := (1 - level) / 2
	return bootQuantile7(stat, a), bootQuantile7(stat, 1-a)
}

// bootQuantile7 is R's quantile(x, p, type = 7) on sorted, non-empty data, following the
// steps of R's quantile.default: index = 1 + (n − 1)p, interpolating between the order
// statistics at floor and ceiling of index only when they differ.
func bootQuantile7(sorted []float64, p float64) float64 {
	n := len(sorted)
	index := 1 + float64(n-1)*p
	lo := math.Floor(index)
	hi := math.Ceil(index)
	ilo, ihi := int(lo)-1, int(hi)-1
	ilo = min(max(ilo, 0), n-1)
	ihi = min(max(ihi, 0), n-1)
	q := sorted[ilo]
	if index > lo && sorted[ihi] != q {
		h := index - lo
		q = (1-h)*q + h*sorted[ihi]
	}
	return q
}

// bootMedianSorted is R's median of sorted, non-empty data.
func bootMedianSorted(sorted []float64) float64 {
	n := len(sorted)
	return bootMid(sorted[(n-1)/2], sorted[n/2])
}

// bootMid is the mean of two values, as R's mean(c(a, b)), without overflow.
func bootMid(a, b float64) float64 {
	if a == b {
		return a
	}
	m := (a + b) / 2
	if math.IsInf(m, 0) {
		m = a/2 + b/2
	}
	return m
}

// bootMedian finds the median of a resample from how often each element of a sorted
// sample was drawn.
type bootMedian struct {
	sorted []float64
	counts []int
	k1, k2 int // 0-based order statistics whose mean is the median
}

func newBootMedian(sorted []float64) *bootMedian {
	n := len(sorted)
	return &bootMedian{sorted: sorted, counts: make([]int, n), k1: (n - 1) / 2, k2: n / 2}
}

func (m *bootMedian) reset() { clear(m.counts) }

// resample draws len(idx) elements with replacement into the counts, using idx as scratch.
func (m *bootMedian) resample(rng *bootRand, idx []uint32) {
	clear(m.counts)
	rng.draw(idx, uint32(len(idx)))
	for _, i := range idx {
		m.counts[i]++
	}
}

// median walks the cumulative counts to the order statistics k1 and k2.
func (m *bootMedian) median() float64 {
	cum := 0
	i := 0
	for ; i < len(m.counts); i++ {
		cum += m.counts[i]
		if cum > m.k1 {
			break
		}
	}
	a := m.sorted[i]
	for cum <= m.k2 {
		i++
		cum += m.counts[i]
	}
	return bootMid(a, m.sorted[i])
}

// bootSortWithRank returns xs sorted and, for each i, the position of xs[i] in that order.
func bootSortWithRank(xs []float64) (sorted []float64, rank []int) {
	n := len(xs)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case xs[a] < xs[b]:
			return -1
		case xs[a] > xs[b]:
			return 1
		}
		return 0
	})
	sorted = make([]float64, n)
	rank = make([]int, n)
	for pos, i := range order {
		sorted[pos] = xs[i]
		rank[i] = pos
	}
	return sorted, rank
}

// bootRand draws uniform indices from a math/rand/v2 PCG generator.
type bootRand struct {
	pcg *rand.PCG
}

func newBootRand(seed uint64) *bootRand {
	return &bootRand{pcg: rand.NewPCG(seed, bootStream)}
}

// draw fills out with uniform integers in [0, n) for 0 < n < 2³², using both 32-bit halves of
// each 64-bit output and Lemire's multiply-and-reject method (unbiased). The rejection branch
// is taken with probability below n/2³².
func (g *bootRand) draw(out []uint32, n uint32) {
	k := 0
	for ; k+1 < len(out); k += 2 {
		x := g.pcg.Uint64()
		m0 := uint64(uint32(x)) * uint64(n)
		m1 := (x >> 32) * uint64(n)
		if uint32(m0) < n {
			m0 = g.reject(m0, n)
		}
		if uint32(m1) < n {
			m1 = g.reject(m1, n)
		}
		out[k], out[k+1] = uint32(m0>>32), uint32(m1>>32)
	}
	if k < len(out) {
		m := uint64(uint32(g.pcg.Uint64())) * uint64(n)
		if uint32(m) < n {
			m = g.reject(m, n)
		}
		out[k] = uint32(m >> 32)
	}
}

// reject finishes Lemire's method for a product m whose low half fell below n: it redraws
// while the low half is below 2³² mod n.
func (g *bootRand) reject(m uint64, n uint32) uint64 {
	threshold := -n % n
	for uint32(m) < threshold {
		m = uint64(uint32(g.pcg.Uint64())) * uint64(n)
	}
	return m
}

// index returns one uniform integer in [0, n).
func (g *bootRand) index(n uint32) int {
	var one [1]uint32
	g.draw(one[:], n)
	return int(one[0])
}
