package kinetics

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/clink-consortium/clink"
)

// DoublingTime is the doubling time over the exponential phase (domain.md §5.2).
type DoublingTime struct {
	Basis   string   `json:"basis"` // "nk" (virtual NK totals) or "total" (virtual total cells) when NK is not measured
	FromDay int      `json:"from_day"`
	ToDay   int      `json:"to_day"`
	Points  int      `json:"points"`
	Mu      float64  `json:"mu_per_day"`
	MuSE    float64  `json:"mu_se"`
	Days    float64  `json:"days"`
	Low     *float64 `json:"ci95_low_days"`
	High    *float64 `json:"ci95_high_days"` // nil when unbounded (upper μ limit <= 0)
	R2      float64  `json:"r2"`
}

// ErrNoGrowth is returned, wrapped, by DoublingTimeOver when the fitted growth rate is not
// positive: the culture did not grow over the window and has no doubling time.
var ErrNoGrowth = errors.New("no growth: the fitted growth rate is not positive")

// DoublingTimeOver fits ln cells = a + μ·day by least squares over the given window and
// returns the doubling time ln2/μ with its 95 % confidence interval from the t-interval of μ
// (n−2 degrees of freedom): the low limit is ln2/μ_high and the high limit ln2/μ_low, nil
// when μ_low ≤ 0. Basis is left empty for the caller to set.
//
// Bad input (unequal lengths, fewer than 3 points, a day that is not a finite number in
// 0..100000, a cell number that is not finite and positive, all points on one day) gives an
// EINVALID *clink.Error naming the field. When μ ≤ 0 the fit is returned with Days 0 and no
// interval, together with an error wrapping ErrNoGrowth.
func DoublingTimeOver(days []float64, cells []float64) (DoublingTime, error) {
	var fe clink.FieldErrors
	if len(days) != len(cells) {
		fe.Addf("cells", "has %d values for %d days", len(cells), len(days))
	}
	if len(days) < 3 {
		fe.Addf("days", "needs at least 3 points, got %d", len(days))
	}
	for i, d := range days {
		if !(d >= 0 && d <= 100000) {
			fe.Addf(fmt.Sprintf("days[%d]", i), "%g is not a day from 0 to 100000", d)
		}
	}
	for i, c := range cells {
		if !(c > 0) || math.IsInf(c, 1) {
			fe.Addf(fmt.Sprintf("cells[%d]", i), "%g is not a positive cell number", c)
		}
	}
	if err := fe.Err(); err != nil {
		return DoublingTime{}, err
	}
	y := make([]float64, len(cells))
	for i, c := range cells {
		y[i] = math.Log(c)
	}
	f, ok := fitLine(days, y)
	if !ok {
		return DoublingTime{}, clink.Invalid("days", "all points are on day %g: no growth rate can be fitted", days[0])
	}
	lo, hi := days[0], days[0]
	for _, d := range days {
		lo, hi = math.Min(lo, d), math.Max(hi, d)
	}
	dt := DoublingTime{FromDay: int(math.Round(lo)), ToDay: int(math.Round(hi)), Points: len(days)}
	if !f.fill(&dt) {
		return dt, fmt.Errorf("kinetics: doubling time over days %g..%g: %w", lo, hi, ErrNoGrowth)
	}
	return dt, nil
}

// line is a least-squares fit y = a + mu·t.
type line struct {
	n          int
	mu, se, r2 float64
}

// fitLine fits y on t with two-pass sums. It reports false when t has no spread or the fit
// is not finite.
func fitLine(t, y []float64) (line, bool) {
	n := len(t)
	var mt, my float64
	for i := range t {
		mt += t[i] / float64(n)
		my += y[i] / float64(n)
	}
	var sxx, sxy, syy float64
	for i := range t {
		dt, dy := t[i]-mt, y[i]-my
		sxx += dt * dt
		sxy += dt * dy
		syy += dy * dy
	}
	if !(sxx > 0) {
		return line{}, false
	}
	mu := sxy / sxx
	a := my - mu*mt
	var sse float64
	for i := range t {
		r := y[i] - a - mu*t[i]
		sse += r * r
	}
	r2 := 1.0
	if syy > 0 {
		r2 = 1 - sse/syy
	}
	l := line{n: n, mu: mu, r2: r2}
	if n > 2 {
		l.se = math.Sqrt(sse / float64(n-2) / sxx)
	}
	if math.IsNaN(mu) || math.IsInf(mu, 0) || math.IsNaN(l.se) || math.IsInf(l.se, 0) || math.IsNaN(r2) {
		return line{}, false
	}
	return l, true
}

// fill sets the rate, its standard error, R² and, when μ > 0, the doubling time and its
// interval. It reports whether μ > 0.
func (l line) fill(dt *DoublingTime) bool {
	dt.Mu, dt.MuSE, dt.R2 = l.mu, l.se, l.r2
	if !(l.mu > 0) {
		return false
	}
	dt.Days = math.Ln2 / l.mu
	if math.IsInf(dt.Days, 0) {
		dt.Days = 0
		return false
	}
	q := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(l.n - 2)}.Quantile(0.975)
	muLow, muHigh := l.mu-q*l.se, l.mu+q*l.se
	dt.Low = finite(math.Ln2 / muHigh)
	if muLow > 0 {
		dt.High = finite(math.Ln2 / muLow)
	}
	return true
}

// series is the virtual totals a doubling time is fitted on, in day order.
type series struct {
	day []int
	t   []float64 // day as float64
	y   []float64 // ln virtual total
}

func (s *series) add(day int, v *float64) {
	if v == nil || !(*v > 0) {
		return
	}
	ly := math.Log(*v)
	if math.IsInf(ly, 0) {
		return
	}
	s.day = append(s.day, day)
	s.t = append(s.t, float64(day))
	s.y = append(s.y, ly)
}

// virtualTotals returns the series of virtual totals of basis: the seed at day 0 (unless a
// day-0 count exists) followed by the points where the value is defined and positive.
func virtualTotals(m Metrics, basis string, seeded bool) series {
	var s series
	start := m.StartingCells
	if basis == BasisNK {
		start = m.StartingNKCells
	}
	if seeded && (len(m.Points) == 0 || m.Points[0].Day != 0) {
		s.add(0, &start)
	}
	for _, p := range m.Points {
		switch {
		case basis == BasisNK:
			s.add(p.Day, p.NKYield)
		case p.FoldTotal != nil:
			v := start * *p.FoldTotal
			s.add(p.Day, &v)
		}
	}
	return s
}

// autoDoublingTime chooses the exponential window of §5.2 and fits it.
func autoDoublingTime(m Metrics, nkSeeded, totalSeeded bool, opt Options, note func(string, ...any)) *DoublingTime {
	basis := BasisNK
	s := virtualTotals(m, BasisNK, nkSeeded)
	if len(s.t) < opt.MinPoints {
		basis = BasisTotal
		s = virtualTotals(m, BasisTotal, totalSeeded)
		if len(s.t) >= opt.MinPoints {
			note("NK cells measured at fewer than %d points: doubling time on total cells", opt.MinPoints)
		}
	}
	if len(s.t) < opt.MinPoints {
		note("fewer than %d points with cell numbers: no doubling time", opt.MinPoints)
		return nil
	}
	i, j, ok := bestWindow(s, opt)
	if !ok {
		note("no exponential window with R² >= %g", opt.MinR2)
		n := len(s.t) - 1
		if span := s.t[n] - s.t[0]; span > 0 {
			if mu := (s.y[n] - s.y[0]) / span; mu > 0 {
				note("whole-culture doubling time %.3g d (day %d to day %d), not an exponential-phase fit", math.Ln2/mu, s.day[0], s.day[n])
			}
		}
		return nil
	}
	f, _ := fitLine(s.t[i:j+1], s.y[i:j+1])
	dt := &DoublingTime{Basis: basis, FromDay: s.day[i], ToDay: s.day[j], Points: j - i + 1}
	if !f.fill(dt) {
		note("no growth")
		return nil
	}
	return dt
}

// bestWindow returns the first and last index of the window of §5.2: among windows of at
// least MinPoints consecutive points with R² ≥ MinR2 (only those of at least PreferredPoints
// when any qualifies), the largest μ; ties go to the longer window, then the earlier. Each
// start's windows are screened with running (Welford) sums, so the search is O(n²).
func bestWindow(s series, opt Options) (bi, bj int, ok bool) {
	type cand struct {
		i, j int
		mu   float64
		ok   bool
	}
	// better reports whether c beats b: a larger μ, or within rounding the same μ over
	// more points. Equal candidates keep the earlier window, which was seen first.
	better := func(c, b cand) bool {
		if !b.ok {
			return true
		}
		tol := 1e-9 * math.Max(math.Abs(c.mu), math.Abs(b.mu))
		return c.mu > b.mu+tol || c.mu >= b.mu-tol && c.j-c.i > b.j-b.i
	}
	var best, preferred cand
	n := len(s.t)
	for i := 0; i < n; i++ {
		var k, mt, my, sxx, sxy, syy float64
		for j := i; j < n; j++ {
			k++
			dt := s.t[j] - mt
			mt += dt / k
			dy := s.y[j] - my
			my += dy / k
			sxx += dt * (s.t[j] - mt)
			sxy += dt * (s.y[j] - my)
			syy += dy * (s.y[j] - my)
			if int(k) < opt.MinPoints || !(sxx > 0) {
				continue
			}
			mu := sxy / sxx
			r2 := 1.0
			if syy > 0 {
				r2 = sxy * sxy / (sxx * syy)
			}
			if math.IsNaN(mu) || math.IsInf(mu, 0) || !(r2 >= opt.MinR2) {
				continue
			}
			c := cand{i, j, mu, true}
			if better(c, best) {
				best = c
			}
			if int(k) >= opt.PreferredPoints && better(c, preferred) {
				preferred = c
			}
		}
	}
	if preferred.ok {
		return preferred.i, preferred.j, true
	}
	return best.i, best.j, best.ok
}
