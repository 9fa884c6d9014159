package kinetics

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/clink-consortium/clink"
)

// near reports whether got is within rel (relative) of want.
func near(got, want, rel float64) bool {
	return math.Abs(got-want) <= rel*math.Max(math.Abs(want), 1e-300)
}

func checkNear(tb testing.TB, what string, got, want, rel float64) {
	tb.Helper()
	if !near(got, want, rel) {
		tb.Errorf("%s: got %.10g, want %.10g", what, got, want)
	}
}

// checkPtr compares an optional value with want; math.NaN() wants nil.
func checkPtr(tb testing.TB, what string, got *float64, want, rel float64) {
	tb.Helper()
	switch {
	case math.IsNaN(want) && got != nil:
		tb.Errorf("%s: got %g, want nil", what, *got)
	case math.IsNaN(want):
	case got == nil:
		tb.Errorf("%s: got nil, want %g", what, want)
	default:
		checkNear(tb, what, *got, want, rel)
	}
}

// readCSV reads an R-written fixture, skipping the comment line with the R version.
func readCSV(tb testing.TB, name string) []map[string]string {
	tb.Helper()
	f, err := os.Open(name)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comment = '#'
	rows, err := r.ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	var out []map[string]string
	for _, row := range rows[1:] {
		m := map[string]string{}
		for i, h := range rows[0] {
			m[h] = strings.TrimSpace(row[i])
		}
		out = append(out, m)
	}
	return out
}

// num parses a fixture number; R's NA is NaN.
func num(tb testing.TB, s string) float64 {
	tb.Helper()
	if s == "NA" {
		return math.NaN()
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

func nums(tb testing.TB, s string) []float64 {
	tb.Helper()
	var out []float64
	for _, f := range strings.Fields(s) {
		out = append(out, num(tb, f))
	}
	return out
}

func mustMarshal(tb testing.TB, v any) {
	tb.Helper()
	if _, err := json.Marshal(v); err != nil {
		tb.Fatalf("json.Marshal: %v", err)
	}
}

// TestWorkedExample51 checks the table of domain.md §5.1: passages seeded with 1e6, 5e6 and
// 1e7 NK cells end with 2e7, 6e7 and 5e7: folds 20, 12 and 5, cumulative fold 1,200,
// cumulative PD 10.23 and a virtual total of 1.2e9 NK cells.
func TestWorkedExample51(t *testing.T) {
	counts := []Count{
		{Day: 7, ViableCells: 2e7, NKFraction: 1, KeptFraction: 5e6 / 2e7},
		{Day: 14, ViableCells: 6e7, NKFraction: 1, KeptFraction: 1e7 / 6e7},
		{Day: 21, ViableCells: 5e7, NKFraction: 1, KeptFraction: 1},
	}
	m := Compute(1e6, 1, counts, Options{})
	want := []struct{ fold, pd float64 }{{20, 4.32}, {240, 4.32 + 3.58}, {1200, 10.23}}
	if len(m.Points) != len(want) {
		t.Fatalf("got %d points, want %d", len(m.Points), len(want))
	}
	for i, w := range want {
		p := m.Points[i]
		checkPtr(t, "fold_nk", p.FoldNK, w.fold, 1e-12)
		checkPtr(t, "fold_total", p.FoldTotal, w.fold, 1e-12)
		// The table rounds each PD to two decimals.
		checkPtr(t, "pd_nk", p.PDNK, w.pd, 0.005/w.pd*2)
	}
	checkPtr(t, "nk_yield", m.Points[2].NKYield, 1.2e9, 1e-12)
	mustMarshal(t, m)
}

// TestWorkedExample52 checks domain.md §5.2: μ = 0.517 d⁻¹ (SE 0.0046), Td = 1.34 d,
// 95 % CI 1.29–1.39, R² = 0.9998, to the digits printed there.
func TestWorkedExample52(t *testing.T) {
	dt, err := DoublingTimeOver([]float64{2, 4, 6, 8}, []float64{1.5e6, 4.1e6, 1.2e7, 3.3e7})
	if err != nil {
		t.Fatal(err)
	}
	round := func(v float64, d int) float64 { p := math.Pow(10, float64(d)); return math.Round(v*p) / p }
	for _, c := range []struct {
		what      string
		got, want float64
		digits    int
	}{
		{"mu", dt.Mu, 0.517, 3},
		{"se", dt.MuSE, 0.0046, 4},
		{"td", dt.Days, 1.34, 2},
		{"low", *dt.Low, 1.29, 2},
		{"high", *dt.High, 1.39, 2},
		{"r2", dt.R2, 0.9998, 4},
	} {
		if r := round(c.got, c.digits); r != c.want {
			t.Errorf("%s: got %g (rounded %g), want %g", c.what, c.got, r, c.want)
		}
	}
	if dt.FromDay != 2 || dt.ToDay != 8 || dt.Points != 4 {
		t.Errorf("window: got days %d..%d with %d points, want 2..8 with 4", dt.FromDay, dt.ToDay, dt.Points)
	}
}

// TestDoublingTimeOverR compares with lm() in R: testdata/kinetics.R wrote doubling.csv.
func TestDoublingTimeOverR(t *testing.T) {
	for _, row := range readCSV(t, "testdata/doubling.csv") {
		t.Run(row["name"], func(t *testing.T) {
			dt, err := DoublingTimeOver(nums(t, row["days"]), nums(t, row["cells"]))
			if err != nil {
				t.Fatal(err)
			}
			checkNear(t, "mu", dt.Mu, num(t, row["mu"]), 1e-10)
			checkNear(t, "se", dt.MuSE, num(t, row["se"]), 1e-9)
			checkNear(t, "td", dt.Days, num(t, row["td"]), 1e-10)
			checkNear(t, "r2", dt.R2, num(t, row["r2"]), 1e-10)
			checkPtr(t, "low", dt.Low, num(t, row["low"]), 1e-9)
			checkPtr(t, "high", dt.High, num(t, row["high"]), 1e-9)
		})
	}
}

// TestComputeR compares folds, doublings, yields and the automatic window with an
// independent R implementation: testdata/kinetics.R wrote cultures.csv.
func TestComputeR(t *testing.T) {
	type culture struct {
		rows   []map[string]string
		counts []Count
	}
	byName := map[string]*culture{}
	var names []string
	for _, row := range readCSV(t, "testdata/cultures.csv") {
		c := byName[row["name"]]
		if c == nil {
			c = &culture{}
			byName[row["name"]] = c
			names = append(names, row["name"])
		}
		day, _ := strconv.Atoi(row["day"])
		c.rows = append(c.rows, row)
		c.counts = append(c.counts, Count{Day: day, ViableCells: num(t, row["viable"]), NKFraction: num(t, row["nkfrac"]), KeptFraction: num(t, row["kept"])})
	}
	// The seeds are those of kinetics.R.
	seeds := map[string][2]float64{"lagplateau": {1e6, 0.2}, "splits": {2e6, 0.15}}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			c := byName[name]
			s := seeds[name]
			m := Compute(s[0], s[1], c.counts, Options{})
			if len(m.Points) != len(c.rows) {
				t.Fatalf("got %d points, want %d", len(m.Points), len(c.rows))
			}
			for i, row := range c.rows {
				p := m.Points[i]
				checkPtr(t, "fold_total day "+row["day"], p.FoldTotal, num(t, row["fold_total"]), 1e-12)
				checkPtr(t, "fold_nk day "+row["day"], p.FoldNK, num(t, row["fold_nk"]), 1e-12)
				checkPtr(t, "pd_nk day "+row["day"], p.PDNK, num(t, row["pd_nk"]), 1e-12)
				checkPtr(t, "nk_yield day "+row["day"], p.NKYield, num(t, row["nk_yield"]), 1e-12)
			}
			dt := m.DoublingTime
			if dt == nil {
				t.Fatalf("got no doubling time (notes %q), want one", m.Notes)
			}
			row := c.rows[0]
			if got, want := strconv.Itoa(dt.FromDay)+".."+strconv.Itoa(dt.ToDay), row["from"]+".."+row["to"]; got != want || dt.Basis != row["basis"] {
				t.Errorf("window: got %s %s, want %s %s", dt.Basis, got, row["basis"], want)
			}
			checkNear(t, "mu", dt.Mu, num(t, row["mu"]), 1e-9)
			checkNear(t, "se", dt.MuSE, num(t, row["se"]), 1e-8)
			checkNear(t, "td", dt.Days, num(t, row["td"]), 1e-9)
			checkNear(t, "r2", dt.R2, num(t, row["r2"]), 1e-9)
			checkPtr(t, "low", dt.Low, num(t, row["low"]), 1e-8)
			checkPtr(t, "high", dt.High, num(t, row["high"]), 1e-8)
			mustMarshal(t, m)
		})
	}
}

// nan is a missing NK fraction.
var nan = math.NaN()

// TestComputeRules checks the rules of domain.md §5.1 on small hand-made cultures whose
// values follow from the definitions by mental arithmetic (noted per case).
func TestComputeRules(t *testing.T) {
	const N = math.MaxFloat64 // marks "want nil" in the tables below
	tests := []struct {
		name      string
		start, f0 float64
		counts    []Count
		foldTotal []float64
		foldNK    []float64
		pdNK      []float64
		note      string // a substring one of the notes must contain
	}{
		{
			// NK not measured on day 7 where 3/4 of the cells were removed: the day-14 NK
			// seed is unknown, so NK fold is undefined from day 7 on; total fold is 10, then
			// 10 × 40/10 = 40.
			name: "missing NK at a split", start: 1e6, f0: 0.5,
			counts: []Count{
				{Day: 7, ViableCells: 1e7, NKFraction: nan, KeptFraction: 0.25},
				{Day: 14, ViableCells: 1e7, NKFraction: 0.8, KeptFraction: 1},
			},
			foldTotal: []float64{10, 40}, foldNK: []float64{N, N}, pdNK: []float64{N, N},
			note: "undefined from here on",
		},
		{
			// Without removal a missing NK fraction leaves later points alone: day 14 NK
			// fold is 1e7 × 0.8 / 5e5 = 16, PD 4.
			name: "missing NK without a split", start: 1e6, f0: 0.5,
			counts: []Count{
				{Day: 7, ViableCells: 4e6, NKFraction: nan, KeptFraction: 1},
				{Day: 14, ViableCells: 1e7, NKFraction: 0.8, KeptFraction: 1},
			},
			foldTotal: []float64{4, 10}, foldNK: []float64{N, 16}, pdNK: []float64{N, 4},
		},
		{
			// Zero NK cells: fold 0 and no PD (never log2(0)).
			name: "zero NK", start: 1e6, f0: 0.5,
			counts:    []Count{{Day: 7, ViableCells: 2e6, NKFraction: 0, KeptFraction: 1}},
			foldTotal: []float64{2}, foldNK: []float64{0}, pdNK: []float64{N},
		},
		{
			// A net loss is kept: 5e5 × 0.5 / (1e6 × 0.5) = 0.5, PD −1.
			name: "fold below 1", start: 1e6, f0: 0.5,
			counts:    []Count{{Day: 3, ViableCells: 5e5, NKFraction: 0.5, KeptFraction: 1}},
			foldTotal: []float64{0.5}, foldNK: []float64{0.5}, pdNK: []float64{-1},
		},
		{
			// A day-0 count equal to the seed is fold 1, PD 0.
			name: "day 0 count of the seed", start: 1e6, f0: 0.5,
			counts: []Count{
				{Day: 0, ViableCells: 1e6, NKFraction: 0.5, KeptFraction: 1},
				{Day: 7, ViableCells: 8e6, NKFraction: 0.5, KeptFraction: 1},
			},
			foldTotal: []float64{1, 8}, foldNK: []float64{1, 8}, pdNK: []float64{0, 3},
		},
		{
			// The starting NK fraction is unknown but the day-0 count measures it: NK seed
			// 1e6 × 0.25, day 7 NK fold 8e6 × 0.5 / 2.5e5 = 16.
			name: "day 0 count seeds NK", start: 1e6, f0: nan,
			counts: []Count{
				{Day: 0, ViableCells: 1e6, NKFraction: 0.25, KeptFraction: 1},
				{Day: 7, ViableCells: 8e6, NKFraction: 0.5, KeptFraction: 1},
			},
			foldTotal: []float64{1, 8}, foldNK: []float64{1, 16}, pdNK: []float64{0, 4},
			note: "day-0 count seeds the NK fold",
		},
		{
			// Counts out of day order are sorted: 2, then 4 (day 7 and day 14).
			name: "unsorted", start: 1e6, f0: 1,
			counts: []Count{
				{Day: 14, ViableCells: 4e6, NKFraction: 1, KeptFraction: 1},
				{Day: 7, ViableCells: 2e6, NKFraction: 1, KeptFraction: 1},
			},
			foldTotal: []float64{2, 4}, foldNK: []float64{2, 4}, pdNK: []float64{1, 2},
		},
		{
			// A KeptFraction of 0 (the zero value) is read as 1.
			name: "kept fraction zero value", start: 1e6, f0: 1,
			counts: []Count{
				{Day: 7, ViableCells: 2e6, NKFraction: 1},
				{Day: 14, ViableCells: 4e6, NKFraction: 1},
			},
			foldTotal: []float64{2, 4}, foldNK: []float64{2, 4}, pdNK: []float64{1, 2},
		},
		{
			// An unusable cell number is left out of the points; with a split there the
			// next seed is unknown and folds stop.
			name: "NaN cells at a split", start: 1e6, f0: 1,
			counts: []Count{
				{Day: 7, ViableCells: math.NaN(), NKFraction: 1, KeptFraction: 0.5},
				{Day: 14, ViableCells: 4e6, NKFraction: 1, KeptFraction: 1},
			},
			foldTotal: []float64{N}, foldNK: []float64{N}, pdNK: []float64{N},
			note: "not a cell number",
		},
		{
			// Every cell of the day-7 count is dead: the next passage is seeded with 0.
			name: "passage seeded with nothing", start: 1e6, f0: 1,
			counts: []Count{
				{Day: 7, ViableCells: 0, NKFraction: 1, KeptFraction: 0.5},
				{Day: 14, ViableCells: 4e6, NKFraction: 1, KeptFraction: 1},
			},
			foldTotal: []float64{0, N}, foldNK: []float64{0, N}, pdNK: []float64{N, N},
			note: "seeded with no",
		},
		{
			// An NK fraction above 1 is not a fraction: treated as not measured.
			name: "NK fraction above 1", start: 1e6, f0: 1,
			counts:    []Count{{Day: 7, ViableCells: 2e6, NKFraction: 1.5, KeptFraction: 1}},
			foldTotal: []float64{2}, foldNK: []float64{N}, pdNK: []float64{N},
			note: "outside [0, 1]",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := Compute(tc.start, tc.f0, tc.counts, Options{})
			mustMarshal(t, m)
			if len(m.Points) != len(tc.foldTotal) {
				t.Fatalf("got %d points, want %d", len(m.Points), len(tc.foldTotal))
			}
			want := func(v float64) float64 {
				if v == N {
					return math.NaN()
				}
				return v
			}
			for i, p := range m.Points {
				checkPtr(t, "fold_total", p.FoldTotal, want(tc.foldTotal[i]), 1e-12)
				checkPtr(t, "fold_nk", p.FoldNK, want(tc.foldNK[i]), 1e-12)
				checkPtr(t, "pd_nk", p.PDNK, want(tc.pdNK[i]), 1e-12)
			}
			if tc.note != "" && !strings.Contains(strings.Join(m.Notes, "\n"), tc.note) {
				t.Errorf("notes: got %q, want one containing %q", m.Notes, tc.note)
			}
		})
	}
}

// TestAutoWindow checks the choice of window and the notes on cases whose answer follows
// from the definitions.
func TestAutoWindow(t *testing.T) {
	exp := func(days ...int) []Count { // exact doubling every day from 1e6 at day 0
		var cs []Count
		for _, d := range days {
			cs = append(cs, Count{Day: d, ViableCells: 1e6 * math.Exp2(float64(d)), NKFraction: nan, KeptFraction: 1})
		}
		return cs
	}
	tests := []struct {
		name     string
		f0       float64
		counts   []Count
		opt      Options
		wantDays float64 // 0: want no doubling time
		basis    string
		from, to int
		note     string
	}{
		{
			// Exact doubling each day on total cells (NK never measured): Td 1, window all
			// points including the seed.
			name: "exact doubling on total cells", f0: nan, counts: exp(1, 2, 3, 4),
			wantDays: 1, basis: BasisTotal, from: 0, to: 4, note: "doubling time on total cells",
		},
		{
			// Flat counts: μ = 0 fits perfectly: "no growth", never a negative or infinite Td.
			name: "no growth", f0: 1,
			counts: []Count{
				{Day: 2, ViableCells: 1e6, NKFraction: 1, KeptFraction: 1},
				{Day: 4, ViableCells: 1e6, NKFraction: 1, KeptFraction: 1},
				{Day: 6, ViableCells: 1e6, NKFraction: 1, KeptFraction: 1},
			},
			note: "no growth",
		},
		{
			// A zig-zag has no window with R² ≥ 0.98.
			name: "no window", f0: 1,
			counts: []Count{
				{Day: 2, ViableCells: 4e6, NKFraction: 1, KeptFraction: 1},
				{Day: 4, ViableCells: 1e6, NKFraction: 1, KeptFraction: 1},
				{Day: 6, ViableCells: 4e6, NKFraction: 1, KeptFraction: 1},
				{Day: 8, ViableCells: 1e6, NKFraction: 1, KeptFraction: 1},
			},
			note: "no exponential window with R² >= 0.98",
		},
		{
			// Too few points.
			name: "two points", f0: 1,
			counts: []Count{{Day: 7, ViableCells: 4e6, NKFraction: 1, KeptFraction: 1}},
			note:   "fewer than 3 points",
		},
		{
			// Doubling daily to day 4, then every half day to day 7 with counts each day:
			// the faster phase wins when windows of 3 points are allowed (days 4..7, μ 2 ln2)
			// ...
			name: "fastest window", f0: nan,
			counts: []Count{
				{Day: 1, ViableCells: 2e6}, {Day: 2, ViableCells: 4e6}, {Day: 3, ViableCells: 8e6},
				{Day: 4, ViableCells: 16e6}, {Day: 5, ViableCells: 64e6}, {Day: 6, ViableCells: 256e6},
				{Day: 7, ViableCells: 1024e6},
			},
			wantDays: 0.5, basis: BasisTotal, from: 4, to: 7,
		},
		{
			// ... and with 5 points preferred only windows of 5 or more count: of those, lm()
			// in R gives R² ≥ 0.98 only to days 0..4 (μ 0.693, R² 1) and 3..7 (μ 1.248,
			// R² 0.9878); the next best, 0..5, has R² 0.9796. Days 3..7 has the larger μ.
			name: "preferred length", f0: nan, opt: Options{PreferredPoints: 5},
			counts: []Count{
				{Day: 1, ViableCells: 2e6}, {Day: 2, ViableCells: 4e6}, {Day: 3, ViableCells: 8e6},
				{Day: 4, ViableCells: 16e6}, {Day: 5, ViableCells: 64e6}, {Day: 6, ViableCells: 256e6},
				{Day: 7, ViableCells: 1024e6},
			},
			basis: BasisTotal, from: 3, to: 7,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := Compute(1e6, tc.f0, tc.counts, tc.opt)
			mustMarshal(t, m)
			dt := m.DoublingTime
			switch {
			case tc.basis == "" && dt != nil:
				t.Errorf("got doubling time %+v, want none", *dt)
			case tc.basis != "" && dt == nil:
				t.Errorf("got no doubling time (notes %q), want one", m.Notes)
			case dt != nil:
				if dt.Basis != tc.basis || dt.FromDay != tc.from || dt.ToDay != tc.to {
					t.Errorf("window: got %s %d..%d, want %s %d..%d", dt.Basis, dt.FromDay, dt.ToDay, tc.basis, tc.from, tc.to)
				}
				if tc.wantDays != 0 {
					checkNear(t, "days", dt.Days, tc.wantDays, 1e-9)
				}
			}
			if tc.note != "" && !strings.Contains(strings.Join(m.Notes, "\n"), tc.note) {
				t.Errorf("notes: got %q, want one containing %q", m.Notes, tc.note)
			}
		})
	}
}

func TestDoublingTimeOverErrors(t *testing.T) {
	tests := []struct {
		name        string
		days, cells []float64
		field       string // the field the error names; "" for ErrNoGrowth
	}{
		{"lengths differ", []float64{1, 2, 3}, []float64{1, 2}, "cells"},
		{"too few", []float64{1, 2}, []float64{1, 2}, "days"},
		{"NaN day", []float64{1, math.NaN(), 3}, []float64{1, 2, 3}, "days[1]"},
		{"negative day", []float64{-1, 2, 3}, []float64{1, 2, 3}, "days[0]"},
		{"zero cells", []float64{1, 2, 3}, []float64{1, 0, 3}, "cells[1]"},
		{"infinite cells", []float64{1, 2, 3}, []float64{1, 2, math.Inf(1)}, "cells[2]"},
		{"one day", []float64{2, 2, 2}, []float64{1, 2, 3}, "days"},
		{"shrinking", []float64{1, 2, 3}, []float64{8, 4, 2}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dt, err := DoublingTimeOver(tc.days, tc.cells)
			if err == nil {
				t.Fatalf("got %+v, want an error", dt)
			}
			mustMarshal(t, dt)
			if tc.field == "" {
				if !errors.Is(err, ErrNoGrowth) {
					t.Errorf("got %v, want ErrNoGrowth", err)
				}
				if dt.Days != 0 || dt.Low != nil || dt.High != nil || !(dt.Mu < 0) {
					t.Errorf("got %+v, want a negative μ and no doubling time", dt)
				}
				return
			}
			if clink.ErrorCode(err) != clink.EINVALID {
				t.Errorf("got code %q, want %q", clink.ErrorCode(err), clink.EINVALID)
			}
			fields := clink.ErrorFields(err)
			if len(fields) == 0 || fields[0].Field != tc.field {
				t.Errorf("got fields %v, want first %q", fields, tc.field)
			}
		})
	}
}
