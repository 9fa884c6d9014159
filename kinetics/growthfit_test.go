package kinetics

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/clink-consortium/clink"
)

// fitRel is the relative tolerance against nls() in R (the brief's 1e-4).
const fitRel = 1e-4

// fitFunc returns the fitting function of a model name.
func fitFunc(tb testing.TB, model string) func(days, cells []float64) (*GrowthFit, error) {
	tb.Helper()
	switch model {
	case ModelLogistic:
		return FitLogistic
	case ModelGompertz:
		return FitGompertz
	}
	tb.Fatalf("unknown model %q", model)
	return nil
}

// wantParams are the parameter names of each model, in the documented order.
var wantParams = map[string][]string{
	ModelLogistic: {"n0", "mu", "k"},
	ModelGompertz: {"n0", "a", "mu_m", "lambda"},
}

// checkFit compares a fit with a row of growthfits.csv written by testdata/growthfits.R.
func checkFit(tb testing.TB, f *GrowthFit, row map[string]string) {
	tb.Helper()
	if f == nil {
		tb.Fatalf("got no fit, want R's")
	}
	model := row["model"]
	est, se := nums(tb, row["estimates"]), nums(tb, row["std_errors"])
	names := wantParams[model]
	if f.Model != model || len(f.Params) != len(names) || len(est) != len(names) || len(se) != len(names) {
		tb.Fatalf("got model %q with %d params, want %q with %d (fixture %d, %d)", f.Model, len(f.Params), model, len(names), len(est), len(se))
	}
	if n, _ := strconv.Atoi(row["n"]); f.N != n {
		tb.Errorf("n: got %d, want %d", f.N, n)
	}
	if !f.Converged {
		tb.Errorf("converged: got false, want true")
	}
	for i, p := range f.Params {
		if p.Name != names[i] {
			tb.Errorf("param %d: got %q, want %q", i, p.Name, names[i])
		}
		checkNear(tb, p.Name, p.Estimate, est[i], fitRel)
		checkPtr(tb, p.Name+" std_error", p.StdError, se[i], fitRel)
	}
	checkNear(tb, "residual_sd", f.ResidualSD, num(tb, row["residual_sd"]), fitRel)
	mustMarshal(tb, f)
}

// TestFitR compares FitLogistic and FitGompertz with nls() in R 4.2.2 on the series of
// testdata/growthfits.R (a clean sigmoid, a noisy demo-shaped series, one too short for
// Gompertz, one without growth, one whose growth does not slow, and the NK series of the
// cultures of kinetics.R). Status "too_few" rows have fewer than p + 2 points (§5.3) and must
// be refused as invalid input; "error" rows are those nls could not fit from any start and
// must fail with ErrNoFit, for the reason given here where we know it.
func TestFitR(t *testing.T) {
	reasons := map[string]string{
		"accelerating/logistic": "no plateau",
		"accelerating/gompertz": "no plateau",
	}
	rows := readCSV(t, "testdata/growthfits.csv")
	if len(rows) < 12 {
		t.Fatalf("got %d fixture rows, want at least 12", len(rows))
	}
	for _, row := range rows {
		t.Run(row["name"]+"/"+row["model"], func(t *testing.T) {
			fit, err := fitFunc(t, row["model"])(nums(t, row["days"]), nums(t, row["cells"]))
			switch row["status"] {
			case "ok":
				if err != nil {
					t.Fatalf("got error %v, want R's fit", err)
				}
				checkFit(t, fit, row)
			case "too_few":
				if clink.ErrorCode(err) != clink.EINVALID {
					t.Fatalf("got %v (code %q), want %q", err, clink.ErrorCode(err), clink.EINVALID)
				}
				if fields := clink.ErrorFields(err); len(fields) != 1 || fields[0].Field != "days" || !strings.Contains(fields[0].Message, "at least") {
					t.Errorf("got fields %v, want one on days saying how many points are needed", fields)
				}
				if fit != nil {
					t.Errorf("got fit %+v with invalid input, want nil", *fit)
				}
			case "error":
				if !errors.Is(err, ErrNoFit) {
					t.Fatalf("got %v, want an error wrapping ErrNoFit (nls: %s)", err, row["message"])
				}
				if want := reasons[row["name"]+"/"+row["model"]]; !strings.Contains(err.Error(), want) {
					t.Errorf("got %q, want the reason %q", err, want)
				}
				if fit != nil {
					mustMarshal(t, fit)
				}
			default:
				t.Fatalf("unknown status %q", row["status"])
			}
		})
	}
}

// TestFitExact checks that series computed from each model with known parameters give those
// parameters back with a residual SD of (nearly) zero. The values follow from the model
// formulas; nls() cannot be used here, as it fails on zero-residual data.
func TestFitExact(t *testing.T) {
	days := []float64{0, 2, 4, 6, 8, 10, 13, 16, 19, 21}
	logisticN := func(t float64) float64 { // n0 2e5, mu 0.55, k 3e8
		return 3e8 / (1 + ((3e8-2e5)/2e5)*math.Exp(-0.55*t))
	}
	gompertzN := func(t float64) float64 { // n0 1e6, a 5.5, mu_m 0.7, lambda 2.5
		return 1e6 * math.Exp(5.5*math.Exp(-math.Exp(0.7*math.E*(2.5-t)/5.5+1)))
	}
	tests := []struct {
		model string
		n     func(float64) float64
		want  []float64
	}{
		{ModelLogistic, logisticN, []float64{2e5, 0.55, 3e8}},
		{ModelGompertz, gompertzN, []float64{1e6, 5.5, 0.7, 2.5}},
	}
	for _, tc := range tests {
		t.Run(tc.model, func(t *testing.T) {
			cells := make([]float64, len(days))
			for i, d := range days {
				cells[i] = tc.n(d)
			}
			f, err := fitFunc(t, tc.model)(days, cells)
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range f.Params {
				checkNear(t, p.Name, p.Estimate, tc.want[i], 1e-8)
			}
			if !(f.ResidualSD < 1e-9) {
				t.Errorf("residual_sd: got %g, want below 1e-9", f.ResidualSD)
			}
		})
	}
}

// TestFitUnsorted checks that the order of the points does not matter: the sigmoid series of
// growthfits.csv reversed gives R's fit.
func TestFitUnsorted(t *testing.T) {
	for _, row := range readCSV(t, "testdata/growthfits.csv") {
		if row["name"] != "sigmoid" {
			continue
		}
		t.Run(row["model"], func(t *testing.T) {
			days, cells := nums(t, row["days"]), nums(t, row["cells"])
			for i, j := 0, len(days)-1; i < j; i, j = i+1, j-1 {
				days[i], days[j] = days[j], days[i]
				cells[i], cells[j] = cells[j], cells[i]
			}
			fit, err := fitFunc(t, row["model"])(days, cells)
			if err != nil {
				t.Fatal(err)
			}
			checkFit(t, fit, row)
		})
	}
}

func TestFitErrors(t *testing.T) {
	five := []float64{0, 3, 7, 10, 14}
	grow := []float64{1e6, 3e6, 2e7, 8e7, 1e8}
	tests := []struct {
		name        string
		model       string
		days, cells []float64
		field       string // the first field named
	}{
		{"lengths differ", ModelLogistic, five, grow[:4], "cells"},
		{"too few for logistic", ModelLogistic, five[:4], grow[:4], "days"},
		{"too few for gompertz", ModelGompertz, five, grow, "days"},
		{"no points", ModelGompertz, nil, nil, "days"},
		{"NaN day", ModelLogistic, []float64{0, 3, math.NaN(), 10, 14}, grow, "days[2]"},
		{"negative day", ModelLogistic, []float64{-1, 3, 7, 10, 14}, grow, "days[0]"},
		{"day too late", ModelLogistic, []float64{0, 3, 7, 10, 1e6}, grow, "days[4]"},
		{"zero cells", ModelLogistic, five, []float64{1e6, 0, 2e7, 8e7, 1e8}, "cells[1]"},
		{"negative cells", ModelLogistic, five, []float64{1e6, 3e6, -2e7, 8e7, 1e8}, "cells[2]"},
		{"infinite cells", ModelLogistic, five, []float64{1e6, 3e6, 2e7, math.Inf(1), 1e8}, "cells[3]"},
		{"NaN cells", ModelLogistic, five, []float64{1e6, 3e6, 2e7, 8e7, math.NaN()}, "cells[4]"},
		{"two days", ModelLogistic, []float64{0, 0, 7, 7, 7}, grow, "days"},
		{"three days for gompertz", ModelGompertz, []float64{0, 0, 7, 7, 14, 14}, append(grow, 2e8), "days"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fit, err := fitFunc(t, tc.model)(tc.days, tc.cells)
			if fit != nil {
				t.Errorf("got fit %+v, want nil", *fit)
			}
			if clink.ErrorCode(err) != clink.EINVALID {
				t.Fatalf("got %v (code %q), want code %q", err, clink.ErrorCode(err), clink.EINVALID)
			}
			if fields := clink.ErrorFields(err); len(fields) == 0 || fields[0].Field != tc.field {
				t.Errorf("got fields %v, want first %q", fields, tc.field)
			}
		})
	}
}

// culturesFromCSV returns the counts of the cultures of testdata/cultures.csv (kinetics.R)
// with their seeds.
func culturesFromCSV(tb testing.TB) map[string]struct {
	start, f0 float64
	counts    []Count
} {
	tb.Helper()
	seeds := map[string][2]float64{"lagplateau": {1e6, 0.2}, "splits": {2e6, 0.15}} // those of kinetics.R
	out := map[string]struct {
		start, f0 float64
		counts    []Count
	}{}
	for _, row := range readCSV(tb, "testdata/cultures.csv") {
		c := out[row["name"]]
		s, ok := seeds[row["name"]]
		if !ok {
			tb.Fatalf("no seed for culture %q", row["name"])
		}
		c.start, c.f0 = s[0], s[1]
		day, err := strconv.Atoi(row["day"])
		if err != nil {
			tb.Fatal(err)
		}
		c.counts = append(c.counts, Count{Day: day, ViableCells: num(tb, row["viable"]), NKFraction: num(tb, row["nkfrac"]), KeptFraction: num(tb, row["kept"])})
		out[row["name"]] = c
	}
	return out
}

// TestComputeFitsR checks the fits, peak and basis Compute reports for the cultures of
// kinetics.R against nls() on their virtual NK series (growthfits.R) and the NK yields of
// cultures.csv (lagplateau peaks at day 14 with 4.928e7 NK cells, splits at day 21 with
// 2.366e9).
func TestComputeFitsR(t *testing.T) {
	fixtures := map[string]map[string]map[string]string{} // name → model → row
	for _, row := range readCSV(t, "testdata/growthfits.csv") {
		if fixtures[row["name"]] == nil {
			fixtures[row["name"]] = map[string]map[string]string{}
		}
		fixtures[row["name"]][row["model"]] = row
	}
	peaks := map[string]struct {
		day   int
		yield float64
	}{"lagplateau": {14, 49280000}, "splits": {21, 2366000000}}
	for name, c := range culturesFromCSV(t) {
		t.Run(name, func(t *testing.T) {
			m := Compute(c.start, c.f0, c.counts, Options{})
			mustMarshal(t, m)
			if m.Fits.Basis != BasisNK {
				t.Errorf("basis: got %q, want %q", m.Fits.Basis, BasisNK)
			}
			checkFit(t, m.Fits.Logistic, fixtures[name][ModelLogistic])
			checkFit(t, m.Fits.Gompertz, fixtures[name][ModelGompertz])
			want := peaks[name]
			if m.PeakNKDay == nil || *m.PeakNKDay != want.day {
				t.Errorf("peak_nk_day: got %v, want %d", m.PeakNKDay, want.day)
			}
			checkPtr(t, "peak_nk_yield", m.PeakNKYield, want.yield, 1e-12)
		})
	}
}

// TestComputeFitsBasis checks the basis, the notes and which fits are missing. Where a fit is
// expected, it must equal the fit of the series by hand (seed at day 0, then the virtual
// totals, which equal the counts here as nothing is removed), itself checked against R in
// TestFitR for the "short" series.
func TestComputeFitsBasis(t *testing.T) {
	short := []Count{ // growthfits.R "short": 1.5e5 seeded, counted on days 4, 7, 10, 14
		{Day: 4, ViableCells: 6.0e5, NKFraction: 1, KeptFraction: 1},
		{Day: 7, ViableCells: 2.9e6, NKFraction: 1, KeptFraction: 1},
		{Day: 10, ViableCells: 8.1e6, NKFraction: 1, KeptFraction: 1},
		{Day: 14, ViableCells: 1.2e7, NKFraction: 1, KeptFraction: 1},
	}
	noNK := make([]Count, len(short))
	for i, c := range short {
		c.NKFraction = math.NaN()
		noNK[i] = c
	}
	seriesDays := []float64{0, 4, 7, 10, 14}
	seriesCells := []float64{1.5e5, 6.0e5, 2.9e6, 8.1e6, 1.2e7}
	tests := []struct {
		name          string
		f0            float64
		counts        []Count
		basis         string
		logistic      bool // a logistic fit is expected
		gompertz      bool
		notes         []string // substrings the notes must contain
		peakDay       int      // -1: no peak
		peakNK        float64
		startingCells float64
	}{
		{
			name: "NK measured, too short for Gompertz", f0: 1, counts: short, basis: BasisNK,
			logistic: true, notes: []string{"gompertz curve: needs at least 6 points with cell numbers, has 5"},
			peakDay: 14, peakNK: 1.2e7,
		},
		{
			name: "NK never measured", f0: math.NaN(), counts: noNK, basis: BasisTotal,
			logistic: true, notes: []string{"no count has a virtual NK total: growth curves fitted to total cells", "no count has an NK yield"},
			peakDay: -1,
		},
		{
			name: "too short for either", f0: 1, counts: short[:2], basis: BasisNK,
			notes:   []string{"logistic curve: needs at least 5 points", "gompertz curve: needs at least 6 points"},
			peakDay: 7, peakNK: 2.9e6,
		},
		{
			name: "no counts", f0: 1, basis: BasisTotal,
			notes: []string{"logistic curve: needs at least 5 points"}, peakDay: -1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := Compute(1.5e5, tc.f0, tc.counts, Options{})
			mustMarshal(t, m)
			if m.Fits.Basis != tc.basis {
				t.Errorf("basis: got %q, want %q", m.Fits.Basis, tc.basis)
			}
			if got := m.Fits.Logistic != nil; got != tc.logistic {
				t.Errorf("logistic fit: got %v, want %v (notes %q)", got, tc.logistic, m.Notes)
			}
			if got := m.Fits.Gompertz != nil; got != tc.gompertz {
				t.Errorf("gompertz fit: got %v, want %v (notes %q)", got, tc.gompertz, m.Notes)
			}
			if m.Fits.Logistic != nil {
				want, err := FitLogistic(seriesDays, seriesCells)
				if err != nil {
					t.Fatal(err)
				}
				for i, p := range m.Fits.Logistic.Params {
					checkNear(t, p.Name, p.Estimate, want.Params[i].Estimate, 1e-9)
				}
			}
			all := strings.Join(m.Notes, "\n")
			for _, n := range tc.notes {
				if !strings.Contains(all, n) {
					t.Errorf("notes: got %q, want one containing %q", m.Notes, n)
				}
			}
			switch {
			case tc.peakDay < 0 && (m.PeakNKDay != nil || m.PeakNKYield != nil):
				t.Errorf("peak: got day %v yield %v, want none", m.PeakNKDay, m.PeakNKYield)
			case tc.peakDay >= 0 && (m.PeakNKDay == nil || *m.PeakNKDay != tc.peakDay):
				t.Errorf("peak_nk_day: got %v, want %d", m.PeakNKDay, tc.peakDay)
			case tc.peakDay >= 0:
				checkPtr(t, "peak_nk_yield", m.PeakNKYield, tc.peakNK, 1e-12)
			}
		})
	}
}

// TestComputeFitsNoGrowth checks that a culture that does not grow (growthfits.R "flat") gets
// no Gompertz curve (nls fails there too) and a note saying so, no doubling time, and R's
// logistic curve, whose growth rate has a standard error over 40 times its estimate.
func TestComputeFitsNoGrowth(t *testing.T) {
	var counts []Count
	for i, d := range []int{3, 7, 10, 14, 17} { // growthfits.R "flat", seeded with 1e6 NK cells
		counts = append(counts, Count{Day: d, ViableCells: []float64{0.93e6, 1.05e6, 0.97e6, 1.02e6, 0.95e6}[i], NKFraction: 1, KeptFraction: 1})
	}
	m := Compute(1e6, 1, counts, Options{})
	mustMarshal(t, m)
	if m.Fits.Gompertz != nil {
		t.Errorf("gompertz: got %+v, want nil", *m.Fits.Gompertz)
	}
	if !strings.Contains(strings.Join(m.Notes, "\n"), "gompertz curve: ") {
		t.Errorf("notes: got %q, want one on the gompertz curve", m.Notes)
	}
	if m.DoublingTime != nil {
		t.Errorf("doubling time: got %+v, want none", *m.DoublingTime)
	}
	for _, row := range readCSV(t, "testdata/growthfits.csv") {
		if row["name"] == "flat" && row["model"] == ModelLogistic {
			checkFit(t, m.Fits.Logistic, row)
		}
	}
	if mu, ok := m.Fits.Logistic.Param("mu"); !ok || mu.StdError == nil || !(*mu.StdError > 40*mu.Estimate) {
		t.Errorf("mu: got %+v, want a standard error over 40 times the estimate", mu)
	}
}

// TestComputeFitsNoSlowing checks a culture whose NK cells grow exponentially to the end
// (weekly splits, cumulative virtual totals straight on the log scale): the logistic curve
// has its optimum, but Gompertz has none (its n0 and lag run off to −∞ as it turns into an
// exponential), and the note says that growth does not slow instead of showing a curve.
func TestComputeFitsNoSlowing(t *testing.T) {
	m := Compute(1e6, 0.3, sawtooth(), Options{})
	mustMarshal(t, m)
	if m.Fits.Gompertz != nil {
		t.Errorf("gompertz: got %+v, want nil", *m.Fits.Gompertz)
	}
	want := "gompertz curve: no start: growth does not slow within the counts"
	if !strings.Contains(strings.Join(m.Notes, "\n"), want) {
		t.Errorf("notes: got %q, want one containing %q", m.Notes, want)
	}
	if m.Fits.Logistic == nil || !m.Fits.Logistic.Converged {
		t.Errorf("logistic: got %+v, want a converged fit", m.Fits.Logistic)
	}
}

func TestPeakNK(t *testing.T) {
	v := func(x float64) *float64 { return &x }
	tests := []struct {
		name   string
		points []Point
		day    int
		yield  float64
		ok     bool
	}{
		{"none", nil, 0, 0, false},
		{"no yields", []Point{{Day: 3}, {Day: 7}}, 0, 0, false},
		{"rise and fall", []Point{{Day: 3, NKYield: v(2e6)}, {Day: 7, NKYield: v(9e6)}, {Day: 10, NKYield: v(4e6)}}, 7, 9e6, true},
		{"tie goes to the earlier day", []Point{{Day: 7, NKYield: v(9e6)}, {Day: 10, NKYield: v(9e6)}}, 7, 9e6, true},
		{"unsorted tie", []Point{{Day: 10, NKYield: v(9e6)}, {Day: 7, NKYield: v(9e6)}}, 7, 9e6, true},
		{"gaps skipped", []Point{{Day: 3, NKYield: v(2e6)}, {Day: 7}, {Day: 10, NKYield: v(1e6)}}, 3, 2e6, true},
		{"zero yield", []Point{{Day: 3, NKYield: v(0)}}, 3, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			day, yield, ok := PeakNK(tc.points)
			if day != tc.day || yield != tc.yield || ok != tc.ok {
				t.Errorf("got (%d, %g, %v), want (%d, %g, %v)", day, yield, ok, tc.day, tc.yield, tc.ok)
			}
		})
	}
}

// TestGivenWindow checks Options.Window against lm() in R on the same NK series
// (testdata/growthfits.R wrote windows.csv), and the notes when a window gives no doubling
// time.
func TestGivenWindow(t *testing.T) {
	cultures := culturesFromCSV(t)
	for _, row := range readCSV(t, "testdata/windows.csv") {
		t.Run(row["name"]+" "+row["from"]+".."+row["to"], func(t *testing.T) {
			c := cultures[row["name"]]
			from, _ := strconv.Atoi(row["from"])
			to, _ := strconv.Atoi(row["to"])
			m := Compute(c.start, c.f0, c.counts, Options{Window: &[2]int{from, to}})
			mustMarshal(t, m)
			dt := m.DoublingTime
			if dt == nil {
				t.Fatalf("got no doubling time (notes %q), want one", m.Notes)
			}
			if got, want := strconv.Itoa(dt.FromDay)+".."+strconv.Itoa(dt.ToDay)+" "+strconv.Itoa(dt.Points), row["first"]+".."+row["last"]+" "+row["points"]; got != want || dt.Basis != BasisNK {
				t.Errorf("window: got %s %s, want nk %s", dt.Basis, got, want)
			}
			checkNear(t, "mu", dt.Mu, num(t, row["mu"]), 1e-9)
			checkNear(t, "se", dt.MuSE, num(t, row["se"]), 1e-8)
			checkNear(t, "td", dt.Days, num(t, row["td"]), 1e-9)
			checkNear(t, "r2", dt.R2, num(t, row["r2"]), 1e-9)
			checkPtr(t, "low", dt.Low, num(t, row["low"]), 1e-8)
			checkPtr(t, "high", dt.High, num(t, row["high"]), 1e-8)
			if !strings.Contains(strings.Join(m.Notes, "\n"), "given window days "+row["from"]+".."+row["to"]) {
				t.Errorf("notes: got %q, want one naming the given window", m.Notes)
			}
		})
	}

	lag := cultures["lagplateau"]
	flat := []Count{
		{Day: 2, ViableCells: 1e6, NKFraction: 1, KeptFraction: 1},
		{Day: 4, ViableCells: 1e6, NKFraction: 1, KeptFraction: 1},
		{Day: 6, ViableCells: 1e6, NKFraction: 1, KeptFraction: 1},
	}
	noNK := []Count{ // total cells double daily; NK never measured
		{Day: 1, ViableCells: 2e6, NKFraction: math.NaN()},
		{Day: 2, ViableCells: 4e6, NKFraction: math.NaN()},
		{Day: 3, ViableCells: 8e6, NKFraction: math.NaN()},
	}
	tests := []struct {
		name   string
		counts []Count
		f0     float64
		window [2]int
		days   float64 // 0: no doubling time wanted
		note   string
	}{
		{"reversed", lag.counts, lag.f0, [2]int{10, 4}, 0, "is not a window"},
		{"negative", lag.counts, lag.f0, [2]int{-3, 4}, 0, "is not a window"},
		{"too few points", lag.counts, lag.f0, [2]int{13, 20}, 0, "fewer than 3 points with cell numbers in the given window days 13..20"},
		{"no growth", flat, 1, [2]int{0, 6}, 0, "no growth"},
		// Daily doubling from 1e6 at day 0: Td exactly 1 day on total cells.
		{"total cells", noNK, math.NaN(), [2]int{0, 3}, 1, "doubling time on total cells"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := lag.start
			if tc.days != 0 || tc.f0 == 1 {
				start = 1e6
			}
			w := tc.window
			m := Compute(start, tc.f0, tc.counts, Options{Window: &w})
			mustMarshal(t, m)
			switch {
			case tc.days == 0 && m.DoublingTime != nil:
				t.Errorf("got doubling time %+v, want none", *m.DoublingTime)
			case tc.days != 0 && m.DoublingTime == nil:
				t.Errorf("got no doubling time (notes %q), want one", m.Notes)
			case tc.days != 0:
				checkNear(t, "days", m.DoublingTime.Days, tc.days, 1e-12)
			}
			if !strings.Contains(strings.Join(m.Notes, "\n"), tc.note) {
				t.Errorf("notes: got %q, want one containing %q", m.Notes, tc.note)
			}
		})
	}
}
