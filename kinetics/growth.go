package kinetics

import (
	"fmt"
	"math"
	"strings"

	"github.com/clink-consortium/clink"
)

// GrowthRow is one count of a culture as read from a growth file (`clink analyze growth`,
// header culture,day,viable_cells,nk_pct[,split_fraction_kept]).
type GrowthRow struct {
	Culture      string
	Day          int
	ViableCells  float64 // total viable cells, counted before any split
	NKPct        float64 // NK cells as percent of viable cells; math.NaN() when not measured
	KeptFraction float64 // fraction of the cells kept after this count; 1 when nothing removed
	Line         int     // the line of the file, named in errors; 0 when unknown
}

// CultureGrowth is the metrics of one culture of a growth file.
type CultureGrowth struct {
	Culture string  `json:"culture"`
	Metrics Metrics `json:"metrics"`
}

// maxGrowthProblems bounds the problems one Growth error lists.
const maxGrowthProblems = 100

// Growth computes the metrics of every culture in rows, in order of the culture's first
// appearance, with Compute and opt. The day-0 row of a culture seeds it: its viable cells and
// NK percent are the starting cells and NK fraction, and it is also the culture's first point.
//
// Rows are checked first and nothing is computed unless all are valid: an empty culture name,
// a negative day, a viable-cell number that is negative or not a finite number, an NK percent
// outside 0–100 (NaN means not measured), a kept fraction outside (0, 1], a second row for the
// same culture and day, or a culture without a day-0 row give an EINVALID *clink.Error whose
// field errors name the line and the column ("line 14: nk_pct"; "rows[3].nk_pct" when the
// line is not known).
func Growth(rows []GrowthRow, opt Options) ([]CultureGrowth, error) {
	var fe clink.FieldErrors
	more := 0
	add := func(i int, col, format string, args ...any) {
		if len(fe) == maxGrowthProblems {
			more++
			return
		}
		fe.Addf(rowField(rows[i], i, col), format, args...)
	}
	if len(rows) == 0 {
		fe.Addf("rows", "no counts: a growth analysis needs at least the day-0 row of one culture")
	}
	type culture struct {
		name  string
		first int         // index of its first row
		days  map[int]int // day → index of its row
		rows  []int
	}
	var order []*culture
	byName := map[string]*culture{}
	for i, r := range rows {
		if strings.TrimSpace(r.Culture) == "" {
			add(i, "culture", "is empty")
		}
		if r.Day < 0 {
			add(i, "day", "%d is negative: day 0 is the seeding", r.Day)
		}
		switch v := r.ViableCells; {
		case math.IsNaN(v) || math.IsInf(v, 0):
			add(i, "viable_cells", "is not a number")
		case v < 0:
			add(i, "viable_cells", "%g is negative", v)
		}
		if v := r.NKPct; !math.IsNaN(v) && !(v >= 0 && v <= 100) {
			add(i, "nk_pct", "%g is outside 0-100", v)
		}
		if k := r.KeptFraction; !(k > 0 && k <= 1) {
			add(i, "split_fraction_kept", "%g is not above 0 and at most 1", k)
		}
		c := byName[r.Culture]
		if c == nil {
			c = &culture{name: r.Culture, first: i, days: map[int]int{}}
			byName[r.Culture] = c
			order = append(order, c)
		}
		if j, dup := c.days[r.Day]; dup {
			add(i, "day", "culture %s has day %d already on %s", r.Culture, r.Day, rowPlace(rows[j], j))
			continue
		}
		c.days[r.Day] = i
		c.rows = append(c.rows, i)
	}
	for _, c := range order {
		if _, ok := c.days[0]; !ok && strings.TrimSpace(c.name) != "" {
			add(c.first, "culture", "culture %s has no day-0 row to seed it (its first row is here)", c.name)
		}
	}
	if more > 0 {
		fe.Addf("rows", "%d more problems not listed", more)
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}

	out := make([]CultureGrowth, 0, len(order))
	for _, c := range order {
		seed := rows[c.days[0]]
		counts := make([]Count, 0, len(c.rows))
		for _, i := range c.rows {
			r := rows[i]
			counts = append(counts, Count{Day: r.Day, ViableCells: r.ViableCells, NKFraction: r.NKPct / 100, KeptFraction: r.KeptFraction})
		}
		out = append(out, CultureGrowth{Culture: c.name, Metrics: Compute(seed.ViableCells, seed.NKPct/100, counts, opt)})
	}
	return out, nil
}

// rowField names column col of row i for a field error.
func rowField(r GrowthRow, i int, col string) string {
	if r.Line > 0 {
		return fmt.Sprintf("line %d: %s", r.Line, col)
	}
	return fmt.Sprintf("rows[%d].%s", i, col)
}

// rowPlace names row i in a message.
func rowPlace(r GrowthRow, i int) string {
	if r.Line > 0 {
		return fmt.Sprintf("line %d", r.Line)
	}
	return fmt.Sprintf("rows[%d]", i)
}
