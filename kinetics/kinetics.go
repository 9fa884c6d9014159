// Package kinetics computes the expansion kinetics of a culture from its cell counts: cumulative
// fold expansion and population doublings across splits (total cells and NK cells), the virtual
// NK yield and its peak, the doubling time over the exponential phase (domain.md §5.1, §5.2),
// and logistic and modified Gompertz growth curves fitted on the log scale (§5.3). Growth
// analyses many cultures at once from rows of counts.
//
// It is pure computation on plain values: no I/O, no clock. Every value it returns is finite,
// so a Metrics always marshals to JSON; what cannot be computed is nil and explained in Notes.
package kinetics

import (
	"fmt"
	"math"
	"slices"
)

// Count is one observation of a culture, in day order.
type Count struct {
	Day          int
	ViableCells  float64 // total viable cells in the culture, counted before any split
	NKFraction   float64 // CD3-CD56+ fraction in [0,1]; math.NaN() when not measured
	KeptFraction float64 // fraction of the cells kept in culture after this count; 1 when nothing removed
}

// Point is the expansion of a culture at one observation.
type Point struct {
	Day         int      `json:"day"`
	ViableCells float64  `json:"viable_cells"`
	NKCells     *float64 `json:"nk_cells"`   // viable cells x NK fraction; nil when not measured
	FoldTotal   *float64 `json:"fold_total"` // cumulative total-cell fold, honouring splits
	FoldNK      *float64 `json:"fold_nk"`    // cumulative NK fold, honouring splits; nil when undefined
	PDTotal     *float64 `json:"pd_total"`   // log2 of FoldTotal
	PDNK        *float64 `json:"pd_nk"`      // cumulative NK population doublings
	NKYield     *float64 `json:"nk_yield"`   // virtual NK total: starting NK cells x FoldNK
}

// Metrics is what GET /api/v1/cultures/{id}/metrics answers.
type Metrics struct {
	StartingCells   float64       `json:"starting_cells"`
	StartingNKCells float64       `json:"starting_nk_cells"`
	Points          []Point       `json:"points"`
	DoublingTime    *DoublingTime `json:"doubling_time"` // nil when no window qualifies
	Notes           []string      `json:"notes"`         // e.g. "no exponential window with R² >= 0.98", "no growth"
	// PeakNKDay is the day of the highest virtual NK yield (the earliest such day on a tie)
	// and PeakNKYield that yield; both are nil when no count has an NK yield.
	PeakNKDay   *int     `json:"peak_nk_day"`
	PeakNKYield *float64 `json:"peak_nk_yield"`
	// Fits are the growth curves fitted to the whole series of virtual totals.
	Fits Fits `json:"fits"`
}

// Options tune Compute. The zero value gives the defaults of domain.md §5.2.
type Options struct {
	// MinR2 is the coefficient of determination a window needs to count as exponential
	// (default 0.98).
	MinR2 float64
	// MinPoints is the fewest consecutive points in a window (default 3, and never fewer
	// than 3: the confidence interval needs n−2 ≥ 1 degrees of freedom).
	MinPoints int
	// PreferredPoints is the window length preferred when one that long qualifies
	// (default 4, per "≥4 preferred" in §5.2). Set it to MinPoints to have no preference.
	PreferredPoints int
	// Window, when not nil, is a given window for the doubling time, first and last day
	// inclusive, instead of the automatic choice (§5.2 "or a given window"). The fit uses the
	// points in it whatever their R²; the reason for choosing it belongs to the caller's
	// audit trail.
	Window *[2]int
	// SkipFits leaves Metrics.Fits empty, for callers that need only the folds, the yield and
	// the doubling time of many cultures (a ranking): the growth curves are the costly part.
	SkipFits bool
}

// withDefaults returns o with zero fields set to their defaults and nonsense repaired.
func (o Options) withDefaults() Options {
	if !(o.MinR2 > 0) || o.MinR2 > 1 {
		o.MinR2 = 0.98
	}
	if o.MinPoints < 3 {
		o.MinPoints = 3
	}
	if o.PreferredPoints == 0 {
		o.PreferredPoints = 4
	}
	if o.PreferredPoints < o.MinPoints {
		o.PreferredPoints = o.MinPoints
	}
	return o
}

// Basis values of a DoublingTime.
const (
	BasisNK    = "nk"
	BasisTotal = "total"
)

// Compute returns the metrics of a culture seeded with startCells viable cells of which
// startNKFraction are NK cells (day 0), given its observations. Options zero value = defaults
// (MinR2 0.98, MinPoints 3, automatic window). The growth curves are always fitted; see Fits.
//
// The seeding is passage 1's S₁. Each count is an H_i taken before anything was removed; a
// KeptFraction k < 1 starts a new passage seeded with S = H_i × k, while k = 1 continues the
// passage, so that a count which only observes the culture changes nothing downstream. A
// KeptFraction of 0 (the zero value of Count) is read as 1: no culture goes on after every
// cell was removed. Cumulative fold is Π H_i/S_i; PD is its log2; the NK yield is S₁ × the
// NK fold. A count whose NK fraction is missing (NaN) or outside [0, 1] has no NK values,
// and if cells were removed there every later NK value is undefined too; values are never
// interpolated. A zero fold is reported as 0 with a nil PD. When startCells or
// startNKFraction are not usable, a day-0 count with the missing value seeds the culture.
//
// Counts need not be sorted: they are taken in day order, ties in the order given.
// Counts with an unusable day or cell number are left out of Points and named in Notes.
func Compute(startCells, startNKFraction float64, counts []Count, opt Options) Metrics {
	opt = opt.withDefaults()
	m := Metrics{Points: []Point{}, Notes: []string{}}
	note := func(format string, args ...any) { m.Notes = append(m.Notes, fmt.Sprintf(format, args...)) }

	sorted := slices.Clone(counts)
	slices.SortStableFunc(sorted, func(a, b Count) int { return a.Day - b.Day })

	total := track{name: "total-cell"}
	nk := track{name: "NK"}
	if isCellNumber(startCells) {
		total.seed(startCells)
	} else {
		note("starting cells %g is not a cell number: total-cell fold is undefined unless a day-0 count seeds it", startCells)
	}
	switch {
	case !isCellNumber(startCells):
	case math.IsNaN(startNKFraction):
		note("starting NK fraction not measured: NK fold is undefined unless a day-0 count measures it")
	case !isFraction(startNKFraction):
		note("starting NK fraction %g is outside [0, 1]: NK fold is undefined unless a day-0 count measures it", startNKFraction)
	default:
		nk.seed(startCells * startNKFraction)
	}

	lastDay := math.MinInt
	for _, c := range sorted {
		if c.Day < 0 {
			note("day %d: a count before seeding (day 0) is ignored", c.Day)
			continue
		}
		if c.Day == lastDay {
			note("day %d: counted more than once; counts taken in the order given", c.Day)
		}
		lastDay = c.Day
		k := c.KeptFraction
		if k == 0 {
			k = 1
		}
		if !(k > 0 && k <= 1) {
			note("day %d: kept fraction %g is outside (0, 1]: folds after this day are undefined", c.Day, c.KeptFraction)
		}
		if !isCellNumber(c.ViableCells) {
			note("day %d: viable cells %g is not a cell number: count ignored", c.Day, c.ViableCells)
			total.missing(c.Day, k, &m)
			nk.missing(c.Day, k, &m)
			continue
		}
		p := Point{Day: c.Day, ViableCells: c.ViableCells}
		if c.Day == 0 && !total.seeded && !total.broken {
			total.seed(c.ViableCells)
			m.Notes = append(m.Notes, "the day-0 count seeds the total-cell fold")
		}
		p.FoldTotal = total.observe(c.Day, c.ViableCells, k, &m)
		if isFraction(c.NKFraction) {
			nkCells := c.ViableCells * c.NKFraction
			p.NKCells = finite(nkCells)
			if c.Day == 0 && !nk.seeded && !nk.broken {
				nk.seed(nkCells)
				m.Notes = append(m.Notes, "the day-0 count seeds the NK fold")
			}
			p.FoldNK = nk.observe(c.Day, nkCells, k, &m)
		} else {
			if !math.IsNaN(c.NKFraction) {
				note("day %d: NK fraction %g is outside [0, 1]: treated as not measured", c.Day, c.NKFraction)
			}
			nk.missing(c.Day, k, &m)
		}
		p.PDTotal = log2(p.FoldTotal)
		p.PDNK = log2(p.FoldNK)
		if p.FoldNK != nil {
			p.NKYield = finite(nk.start * *p.FoldNK)
		}
		m.Points = append(m.Points, p)
	}
	m.StartingCells = total.start
	m.StartingNKCells = nk.start

	if opt.Window != nil {
		m.DoublingTime = givenDoublingTime(m, nk.seeded, total.seeded, *opt.Window, note)
	} else {
		m.DoublingTime = autoDoublingTime(m, nk.seeded, total.seeded, opt, note)
	}
	if day, yield, ok := PeakNK(m.Points); ok {
		m.PeakNKDay, m.PeakNKYield = &day, &yield
	} else if len(m.Points) > 0 {
		note("no count has an NK yield: no peak NK day")
	}
	if !opt.SkipFits {
		m.Fits = fitCurves(m, nk.seeded, total.seeded, note)
	}
	return m
}

// track follows one cumulative fold (total cells or NK cells) through the passages.
type track struct {
	name   string
	seeded bool    // S₁ is known
	broken bool    // a count was missing where cells were removed, or a passage was seeded with 0
	start  float64 // S₁
	fold   float64 // cumulative fold at the start of the current passage
	s      float64 // seed of the current passage, S_i
}

func (t *track) seed(s float64) {
	t.seeded, t.start, t.fold, t.s = true, s, 1, s
}

// observe records H at a count with kept fraction k and returns the cumulative fold there.
func (t *track) observe(day int, h, k float64, m *Metrics) *float64 {
	if !t.seeded || t.broken {
		return nil
	}
	if t.s == 0 {
		if !t.broken {
			m.Notes = append(m.Notes, fmt.Sprintf("day %d: the passage was seeded with no %s cells: %s fold is undefined from here on", day, t.name, t.name))
		}
		t.broken = true
		return nil
	}
	fold := t.fold * (h / t.s)
	out := finite(fold)
	if out == nil {
		t.broken = true
		return nil
	}
	switch {
	case !(k > 0 && k <= 1):
		t.broken = true
	case k < 1:
		t.fold, t.s = fold, h*k
	}
	return out
}

// missing records a count at which the track's H is unknown: harmless unless cells were
// removed there, which leaves the next passage's seed unknown.
func (t *track) missing(day int, k float64, m *Metrics) {
	if t.seeded && !t.broken && k != 1 {
		t.broken = true
		m.Notes = append(m.Notes, fmt.Sprintf("day %d: %s cells not measured where cells were removed: %s fold is undefined from here on", day, t.name, t.name))
	}
}

func isCellNumber(v float64) bool { return v >= 0 && !math.IsInf(v, 1) }
func isFraction(v float64) bool   { return v >= 0 && v <= 1 }

// finite returns a pointer to v, or nil when v is NaN or infinite.
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// log2 returns the population doublings of a fold: nil for a nil or non-positive fold.
func log2(fold *float64) *float64 {
	if fold == nil || !(*fold > 0) {
		return nil
	}
	return finite(math.Log2(*fold))
}
