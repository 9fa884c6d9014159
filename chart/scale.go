package chart

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// scale maps data values of one axis to pixels. Linear scales work on the values, log scales on
// their base-10 logarithms; tlo and thi are the bounds in that transformed space.
type scale struct {
	log      bool
	lo, hi   float64 // bounds in data units
	tlo, thi float64 // transformed bounds, thi > tlo
	a, b     float64 // pixels of lo and hi (b < a on a y axis)
	ticks    []tick  // labelled ticks, ascending
	minor    []float64
	name     string // "x" or "y", for notes
}

type tick struct {
	v     float64
	label string
}

// tf transforms a data value into the scale's linear space.
func (s *scale) tf(v float64) float64 {
	if s.log {
		return log10(v)
	}
	return v
}

// frac is the position of v between the bounds (0 at lo, 1 at hi), limited to ±10⁴ so that
// pixels stay finite; clipping trims what lies outside. Halving both operands keeps the
// differences of values near ±MaxFloat64 finite.
func (s *scale) frac(v float64) float64 {
	f := (s.tf(v)*0.5 - s.tlo*0.5) / (s.thi*0.5 - s.tlo*0.5)
	switch {
	case f > 1e4:
		return 1e4
	case f < -1e4:
		return -1e4
	case f != f:
		return 0
	}
	return f
}

// pix is the pixel of data value v.
func (s *scale) pix(v float64) float64 { return s.a + s.frac(v)*(s.b-s.a) }

// inside reports whether v lies within the bounds (with a relative tolerance for rounding).
func (s *scale) inside(v float64) bool {
	f := s.frac(v)
	return f >= -1e-9 && f <= 1+1e-9
}

// valid reports whether v can be placed on the scale at all: finite, and positive on a log scale.
func validOn(v float64, log bool) bool {
	return v-v == 0 && (!log || v > 0)
}

// finite reports whether v is neither NaN nor ±Inf.
func finite(v float64) bool { return v-v == 0 }

// extent accumulates the range of the values of one axis.
type extent struct {
	lo, hi float64
	n      int
}

func (e *extent) add(v float64) {
	if e.n == 0 || v < e.lo {
		e.lo = v
	}
	if e.n == 0 || v > e.hi {
		e.hi = v
	}
	e.n++
}

// newScale chooses the bounds and ticks of axis ax (named "x" or "y") for data spanning e; it
// appends a note for each fixed bound it had to ignore. target is about how many labelled
// ticks fit. The pixel range is set later with setPixels.
func newScale(ax Axis, name string, e extent, target int, notes *[]string) *scale {
	s := &scale{log: ax.Log, name: name}
	lo, hi := 0.0, 1.0
	if ax.Log {
		lo, hi = 1, 10
	}
	if e.n > 0 {
		lo, hi = e.lo, e.hi
	}
	axisKind := name + " axis"
	fixed := func(p *float64, which string) (float64, bool) {
		if p == nil {
			return 0, false
		}
		v := *p
		switch {
		case !finite(v):
			*notes = append(*notes, fmt.Sprintf("%s: %s %s ignored (not a finite number)", axisKind, which, fmtNum(v)))
			return 0, false
		case ax.Log && v <= 0:
			*notes = append(*notes, fmt.Sprintf("%s: %s %s ignored (not above 0 on a log axis)", axisKind, which, fmtNum(v)))
			return 0, false
		}
		return v, true
	}
	fmin, hasMin := fixed(ax.Min, "Min")
	fmax, hasMax := fixed(ax.Max, "Max")
	if hasMin && hasMax && !(fmin < fmax) {
		*notes = append(*notes, fmt.Sprintf("%s: Min %s not below Max %s, both ignored", axisKind, fmtNum(fmin), fmtNum(fmax)))
		hasMin, hasMax = false, false
	}
	if hasMin {
		lo = fmin
		if hi <= lo {
			hi = lo
		}
	}
	if hasMax {
		hi = fmax
		if lo >= hi {
			lo = hi
		}
	}
	if ax.Log {
		s.logBounds(lo, hi, hasMin, hasMax)
	} else {
		s.linearBounds(lo, hi, hasMin, hasMax, target)
	}
	if len(ax.Ticks) > 0 {
		s.ticks, s.minor = nil, nil
		for _, t := range ax.Ticks {
			if validOn(t.Value, s.log) && s.inside(t.Value) {
				s.ticks = append(s.ticks, tick{t.Value, t.Label})
			}
		}
	}
	return s
}

func (s *scale) setPixels(a, b float64) { s.a, s.b = a, b }

// linearBounds sets bounds widened to multiples of a nice step, unless fixed, and the ticks.
func (s *scale) linearBounds(lo, hi float64, fixLo, fixHi bool, target int) {
	if !(hi > lo) || hi*0.5-lo*0.5 <= math.Max(math.Abs(lo), math.Abs(hi))*1e-12 {
		// All values (nearly) equal: open a window around them.
		d := math.Max(math.Abs(lo), math.Abs(hi)) * 0.1
		if d == 0 || !finite(d) {
			d = 1
		}
		switch {
		case fixLo && !fixHi:
			hi = lo + d
		case fixHi && !fixLo:
			lo = hi - d
		default:
			c := lo*0.5 + hi*0.5
			lo, hi = c-d, c+d
		}
		if !finite(lo) || !finite(hi) || !(hi > lo) {
			lo, hi = math.Nextafter(lo, math.Inf(-1)), math.Nextafter(hi, math.Inf(1))
			if !finite(lo) {
				lo = -math.MaxFloat64
			}
			if !finite(hi) {
				hi = math.MaxFloat64
			}
		}
	}
	step := niceStep((hi*0.5 - lo*0.5) / float64(max(target-1, 1)) * 2) // halves: no overflow
	if step > 0 && finite(step) {
		if !fixLo {
			if v := math.Floor(lo/step) * step; finite(v) && v <= lo {
				lo = v
			}
		}
		if !fixHi {
			if v := math.Ceil(hi/step) * step; finite(v) && v >= hi {
				hi = v
			}
		}
	}
	s.lo, s.hi, s.tlo, s.thi = lo, hi, lo, hi
	k0, k1 := math.Ceil(lo/step-1e-9), math.Floor(hi/step+1e-9)
	// Beyond 2⁵² a float64 counter no longer moves by one: k++ could loop for ever (bounds one
	// ulp apart near MaxFloat64).
	if !(step > 0) || !finite(step) || !finite(k0) || !finite(k1) || k1-k0 > 50 || k1 < k0 ||
		math.Abs(k0) > 1<<52 || math.Abs(k1) > 1<<52 {
		s.ticks = []tick{{lo, fmtNum(lo)}, {hi, fmtNum(hi)}}
		return
	}
	decimals := -int(math.Floor(log10(step) + 1e-9))
	big := math.Max(math.Abs(lo), math.Abs(hi))
	for k := k0; k <= k1; k++ {
		v := k * step
		if k == 0 {
			v = 0 // not −0
		}
		var label string
		if big < 1e6 && decimals <= 4 {
			label = fmtFixed(v, max(decimals, 0))
		} else {
			label = fmtPow(v, decimals)
		}
		s.ticks = append(s.ticks, tick{v, label})
	}
}

// niceStep rounds x up or down to 1, 2 or 5 × 10ᵏ (Heckbert, "Nice numbers for graph labels",
// Graphics Gems, 1990). It returns 0 when x is not a positive normal number.
func niceStep(x float64) float64 {
	if !(x >= 1e-300) || !finite(x) {
		return 0
	}
	e := math.Floor(log10(x))
	p := math.Pow10(int(e))
	f := x / p
	var n float64
	switch {
	case f < 1.5:
		n = 1
	case f < 3:
		n = 2
	case f < 7:
		n = 5
	default:
		n = 10
	}
	return n * p
}

// logBounds sets the bounds of a log axis, widened to whole decades (or to 1, 2, 5 × 10ᵏ when the
// data span less than about a decade and a half) unless fixed, and the ticks.
func (s *scale) logBounds(lo, hi float64, fixLo, fixHi bool) {
	if !(hi > lo) || log10(hi)-log10(lo) < 1e-9 {
		switch {
		case fixLo && !fixHi:
			hi = lo * 10
		case fixHi && !fixLo:
			lo = hi / 10
		default:
			lo, hi = lo/math.Sqrt(10), hi*math.Sqrt(10)
		}
		if !finite(hi) {
			hi = math.MaxFloat64
		}
		if !(lo > 0) {
			lo = math.SmallestNonzeroFloat64
		}
		if !(hi > lo) {
			lo, hi = math.SmallestNonzeroFloat64, math.MaxFloat64
		}
	}
	short := log10(hi)-log10(lo) <= 1.5
	if !fixLo {
		if v := snapLog(lo, short, false); v > 0 && v <= lo {
			lo = v
		}
	}
	if !fixHi {
		if v := snapLog(hi, short, true); finite(v) && v >= hi {
			hi = v
		}
	}
	s.lo, s.hi = lo, hi
	s.tlo, s.thi = log10(lo), log10(hi)
	if !(s.thi > s.tlo) { // subnormal bounds whose logarithms coincide
		s.thi = s.tlo + 1
	}
	d := s.thi - s.tlo
	k0, k1 := int(math.Floor(s.tlo-1e-9)), int(math.Ceil(s.thi+1e-9))
	var vals []float64
	var mults []float64
	switch {
	case d <= 2.05:
		mults = []float64{1, 2, 5}
	case d <= 4.5:
		mults = []float64{1}
		for k := k0; k <= k1; k++ {
			for _, m := range []float64{2, 5} {
				if v := m * math.Pow10(k); s.inside(v) {
					s.minor = append(s.minor, v)
				}
			}
		}
	default:
		mults = []float64{1}
	}
	every := 1 // decades between labels: 1, 2, 5, 10, 20, 50, … so that at most about 8 show
	for float64(every)*8 < d {
		switch m := every; {
		case strconv.Itoa(m)[0] == '2':
			every = m / 2 * 5
		default:
			every = m * 2
		}
	}
	for k := k0; k <= k1; k++ {
		if (k%every+every)%every != 0 {
			continue
		}
		for _, m := range mults {
			if v := m * math.Pow10(k); v > 0 && finite(v) && s.inside(v) {
				vals = append(vals, v)
			}
		}
	}
	if len(vals) < 2 {
		vals = []float64{lo, hi}
	}
	plain := true
	for _, v := range vals {
		if v < 1e-3 || v >= 1e5 {
			plain = false
		}
	}
	for _, v := range vals {
		label := fmtNum(v)
		if !plain {
			label = fmtPow(v, -int(math.Floor(log10(v)+1e-9)))
		}
		s.ticks = append(s.ticks, tick{v, label})
	}
}

// snapLog rounds v > 0 down (or up) to the next power of ten, or to the next 1, 2, 5 × 10ᵏ when
// short; it returns 0 or +Inf when the result is not representable.
func snapLog(v float64, short, up bool) float64 {
	e := math.Floor(log10(v))
	p := math.Pow10(int(e))
	mults := []float64{1, 10}
	if short {
		mults = []float64{1, 2, 5, 10}
	}
	if up {
		for _, m := range mults {
			if m*p >= v*(1-1e-12) {
				return m * p
			}
		}
		return 10 * p
	}
	for i := len(mults) - 1; i >= 0; i-- {
		if mults[i]*p <= v*(1+1e-12) {
			return mults[i] * p
		}
	}
	return p / 10
}

// fmtFixed formats v with the given decimals, a true minus sign, and no "-0".
func fmtFixed(v float64, decimals int) string {
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	if strings.Trim(s, "-0.") == "" {
		return "0"
	}
	return strings.Replace(s, "-", "−", 1)
}

// fmtPow formats v as m×10ᵏ, with m given to the place of 10^(−decimals); "10ᵏ" when m is 1.
func fmtPow(v float64, decimals int) string {
	if v == 0 {
		return "0"
	}
	e := int(math.Floor(log10(math.Abs(v)) + 1e-9))
	var m float64
	if e < -290 { // 10^e is subnormal or zero: scale v up first
		m = v * 1e30 / math.Pow10(e+30)
	} else {
		m = v / math.Pow10(e)
	}
	digits := min(max(e+decimals, 0), 15)
	ms := strconv.FormatFloat(m, 'f', digits, 64)
	if strings.Contains(ms, ".") {
		ms = strings.TrimRight(strings.TrimRight(ms, "0"), ".")
	}
	if ms == "10" || ms == "-10" { // rounding carried into the next power
		ms = strings.TrimSuffix(ms, "0")
		e++
	}
	pow := "10" + superscript(e)
	switch ms {
	case "1":
		return pow
	case "-1":
		return "−" + pow
	}
	return strings.Replace(ms, "-", "−", 1) + "×" + pow
}

var superDigits = []rune("⁰¹²³⁴⁵⁶⁷⁸⁹")

// superscript writes an integer in Unicode superscript digits.
func superscript(n int) string {
	var b strings.Builder
	if n < 0 {
		b.WriteRune('⁻')
		n = -n
	}
	for _, c := range strconv.Itoa(n) {
		b.WriteRune(superDigits[c-'0'])
	}
	return b.String()
}

// fmtNum formats a value for people, to four significant digits: decimals between 0.001 and
// 100 000 ("1500", "0.02515"), powers of ten otherwise ("3.162×10⁷"), "NaN", "∞" and "−∞".
func fmtNum(v float64) string {
	switch {
	case v != v:
		return "NaN"
	case math.IsInf(v, 1):
		return "∞"
	case math.IsInf(v, -1):
		return "−∞"
	case v == 0:
		return "0"
	}
	a := math.Abs(v)
	e := int(math.Floor(log10(a)))
	if a >= 1e-3 && a < 1e5 {
		s := strconv.FormatFloat(v, 'f', max(3-e, 0), 64)
		if strings.Contains(s, ".") {
			s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
		}
		return strings.Replace(s, "-", "−", 1)
	}
	return fmtPow(v, 3-e)
}

// smallestNormal is the smallest positive normal float64, 2⁻¹⁰²².
const smallestNormal = 2.2250738585072014e-308

// log10 is math.Log10 made exact for subnormal numbers too, where math.Log10 can be far off on
// some architectures (it gives about −307.95 for 5e-324 on amd64, not −323.31): subnormals are
// scaled by 2⁵⁴ into the normal range first.
func log10(v float64) float64 {
	if v > 0 && v < smallestNormal {
		return math.Log10(v*(1<<54)) - 54*math.Log10(2)
	}
	return math.Log10(v)
}
