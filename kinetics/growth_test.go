package kinetics

import (
	"encoding/csv"
	"encoding/json"
	"flag"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/clink-consortium/clink"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// growthRows reads a growth file the way `clink analyze growth` does (header culture,day,
// viable_cells,nk_pct[,split_fraction_kept]; empty nk_pct is NaN, empty kept fraction 1),
// with a plain reader of our own: the tests of package kinetics do not depend on the
// exchange package that reads it in the program.
func growthRows(tb testing.TB, name string) []GrowthRow {
	tb.Helper()
	f, err := os.Open(name)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	cell := func(rec []string, name string) string {
		if i, ok := col[name]; ok {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var rows []GrowthRow
	for i, rec := range recs[1:] {
		day, err := strconv.Atoi(cell(rec, "day"))
		if err != nil {
			tb.Fatal(err)
		}
		r := GrowthRow{Culture: cell(rec, "culture"), Day: day, ViableCells: num(tb, cell(rec, "viable_cells")), NKPct: math.NaN(), KeptFraction: 1, Line: i + 2}
		if s := cell(rec, "nk_pct"); s != "" {
			r.NKPct = num(tb, s)
		}
		if s := cell(rec, "split_fraction_kept"); s != "" {
			r.KeptFraction = num(tb, s)
		}
		rows = append(rows, r)
	}
	return rows
}

// TestGrowthGolden runs Growth on testdata/growth.csv and compares the JSON with
// testdata/growth.golden.json (go test -run TestGrowthGolden -update rewrites it). The fits in
// it are checked against R in TestFitR and TestComputeFitsR; this test guards the contract of
// `clink analyze growth`: the keys, the order of the cultures, the notes.
func TestGrowthGolden(t *testing.T) {
	out, err := Growth(growthRows(t, "testdata/growth.csv"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	const golden = "testdata/growth.golden.json"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	// Floating-point results may differ in the last bits between platforms (fused
	// multiply-add), and a fitted parameter is only determined to about √ε of its standard
	// error (the RSS is flat at the optimum): 1e-6 relative is far below anything these
	// numbers mean and far above rounding.
	if diff := cmp.Diff(w, g, cmpopts.EquateApprox(1e-6, 1e-12)); diff != "" {
		t.Errorf("Growth JSON differs from %s (-want +got):\n%s", golden, diff)
	}

	// What the golden file must show, independently of how it was written.
	var names []string
	for _, c := range out {
		names = append(names, c.Culture)
	}
	if got, want := strings.Join(names, " "), "ZGZ-C0001 BCN-C0002 MPL-C0003"; got != want {
		t.Errorf("cultures: got %s, want %s (order of first appearance)", got, want)
	}
	for _, c := range out {
		if c.Metrics.StartingCells == 0 || len(c.Metrics.Points) == 0 || c.Metrics.Points[0].Day != 0 {
			t.Errorf("%s: got starting cells %g and points %v, want the day-0 row as seed and first point", c.Culture, c.Metrics.StartingCells, c.Metrics.Points)
		}
	}
	if b := out[1].Metrics.Fits.Basis; b != BasisTotal {
		t.Errorf("BCN-C0002 (no NK %%): got basis %q, want %q", b, BasisTotal)
	}
	if g := out[2].Metrics.Fits.Gompertz; g != nil {
		t.Errorf("MPL-C0003 (5 points): got a Gompertz fit, want none")
	}
}

// TestGrowthSeeds checks that the day-0 row seeds each culture: ZGZ-C0001 of growth.csv starts
// with 1e6 cells at 20 % NK (2e5 NK cells); on day 7 it has 9.8e6 × 0.55 = 5.39e6 NK cells,
// fold 26.95; half is kept, so day 10's fold is 26.95 × (2.1e7 × 0.71)/(5.39e6 × 0.5) = 149.1.
func TestGrowthSeeds(t *testing.T) {
	out, err := Growth(growthRows(t, "testdata/growth.csv"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := out[0].Metrics
	checkNear(t, "starting_nk_cells", m.StartingNKCells, 2e5, 1e-12)
	byDay := map[int]Point{}
	for _, p := range m.Points {
		byDay[p.Day] = p
	}
	checkPtr(t, "fold_nk day 7", byDay[7].FoldNK, 26.95, 1e-12)
	checkPtr(t, "fold_nk day 10", byDay[10].FoldNK, 26.95*(2.1e7*0.71)/(5.39e6*0.5), 1e-12)
}

// TestGrowthFitsR compares the curves Growth fits to culture ZGZ-C0001 of growth.csv with
// nls() in R on its virtual NK series (growthfits.R, series "growth_zgz").
func TestGrowthFitsR(t *testing.T) {
	out, err := Growth(growthRows(t, "testdata/growth.csv"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if out[0].Culture != "ZGZ-C0001" || out[0].Metrics.Fits.Basis != BasisNK {
		t.Fatalf("got culture %s on basis %q first, want ZGZ-C0001 on %q", out[0].Culture, out[0].Metrics.Fits.Basis, BasisNK)
	}
	n := 0
	for _, row := range readCSV(t, "testdata/growthfits.csv") {
		if row["name"] != "growth_zgz" {
			continue
		}
		n++
		fits := map[string]*GrowthFit{ModelLogistic: out[0].Metrics.Fits.Logistic, ModelGompertz: out[0].Metrics.Fits.Gompertz}
		t.Run(row["model"], func(t *testing.T) { checkFit(t, fits[row["model"]], row) })
	}
	if n != 2 {
		t.Errorf("got %d fixture rows for growth_zgz, want 2", n)
	}
}

func TestGrowthErrors(t *testing.T) {
	ok := func(culture string, day int, line int) GrowthRow {
		return GrowthRow{Culture: culture, Day: day, ViableCells: 1e6, NKPct: 20, KeptFraction: 1, Line: line}
	}
	with := func(r GrowthRow, f func(*GrowthRow)) GrowthRow { f(&r); return r }
	tests := []struct {
		name   string
		rows   []GrowthRow
		fields []string // every field the error must name, in order
		text   string   // a substring of the first message
	}{
		{"no rows", nil, []string{"rows"}, "no counts"},
		{"no day 0", []GrowthRow{ok("A", 0, 2), ok("B", 3, 3), ok("B", 7, 4)}, []string{"line 3: culture"}, "culture B has no day-0 row"},
		{"duplicate day", []GrowthRow{ok("A", 0, 2), ok("A", 7, 3), ok("A", 7, 4)}, []string{"line 4: day"}, "culture A has day 7 already on line 3"},
		{"negative cells", []GrowthRow{with(ok("A", 0, 2), func(r *GrowthRow) { r.ViableCells = -1 })}, []string{"line 2: viable_cells"}, "-1 is negative"},
		{"NaN cells", []GrowthRow{with(ok("A", 0, 2), func(r *GrowthRow) { r.ViableCells = math.NaN() })}, []string{"line 2: viable_cells"}, "not a number"},
		{"infinite cells", []GrowthRow{with(ok("A", 0, 2), func(r *GrowthRow) { r.ViableCells = math.Inf(1) })}, []string{"line 2: viable_cells"}, "not a number"},
		{"NK above 100", []GrowthRow{with(ok("A", 0, 2), func(r *GrowthRow) { r.NKPct = 134 })}, []string{"line 2: nk_pct"}, "134 is outside 0-100"},
		{"NK below 0", []GrowthRow{with(ok("A", 0, 2), func(r *GrowthRow) { r.NKPct = -2 })}, []string{"line 2: nk_pct"}, "-2 is outside"},
		{"NK infinite", []GrowthRow{with(ok("A", 0, 2), func(r *GrowthRow) { r.NKPct = math.Inf(-1) })}, []string{"line 2: nk_pct"}, "outside"},
		{"kept zero", []GrowthRow{with(ok("A", 0, 2), func(r *GrowthRow) { r.KeptFraction = 0 })}, []string{"line 2: split_fraction_kept"}, "0 is not above 0"},
		{"kept above 1", []GrowthRow{with(ok("A", 0, 2), func(r *GrowthRow) { r.KeptFraction = 1.5 })}, []string{"line 2: split_fraction_kept"}, "1.5"},
		{"kept NaN", []GrowthRow{with(ok("A", 0, 2), func(r *GrowthRow) { r.KeptFraction = math.NaN() })}, []string{"line 2: split_fraction_kept"}, "NaN"},
		{"negative day", []GrowthRow{ok("A", 0, 2), ok("A", -1, 3)}, []string{"line 3: day"}, "-1 is negative"},
		{"empty culture", []GrowthRow{ok(" ", 0, 2)}, []string{"line 2: culture"}, "is empty"},
		{"line unknown", []GrowthRow{ok("A", 0, 0), with(ok("A", 3, 0), func(r *GrowthRow) { r.NKPct = 101 })}, []string{"rows[1].nk_pct"}, "101"},
		{
			"every problem", []GrowthRow{
				ok("A", 0, 2),
				with(ok("A", 3, 3), func(r *GrowthRow) { r.NKPct = 101; r.ViableCells = -5 }),
				ok("B", 4, 4),
			},
			[]string{"line 3: viable_cells", "line 3: nk_pct", "line 4: culture"}, "-5",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Growth(tc.rows, Options{})
			if out != nil {
				t.Errorf("got %d cultures, want none", len(out))
			}
			if clink.ErrorCode(err) != clink.EINVALID {
				t.Fatalf("got %v (code %q), want code %q", err, clink.ErrorCode(err), clink.EINVALID)
			}
			var got []string
			fields := clink.ErrorFields(err)
			for _, f := range fields {
				got = append(got, f.Field)
			}
			if diff := cmp.Diff(tc.fields, got); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
			if len(fields) > 0 && !strings.Contains(fields[0].Message, tc.text) {
				t.Errorf("message: got %q, want one containing %q", fields[0].Message, tc.text)
			}
		})
	}
}

// TestGrowthManyProblems checks that the error stays bounded when every row is bad.
func TestGrowthManyProblems(t *testing.T) {
	rows := make([]GrowthRow, 1000)
	for i := range rows {
		rows[i] = GrowthRow{Culture: "A", Day: i, ViableCells: -1, NKPct: math.NaN(), KeptFraction: 1, Line: i + 2}
	}
	_, err := Growth(rows, Options{})
	fields := clink.ErrorFields(err)
	if len(fields) != maxGrowthProblems+1 {
		t.Fatalf("got %d field errors, want %d", len(fields), maxGrowthProblems+1)
	}
	if last := fields[len(fields)-1]; last.Field != "rows" || !strings.Contains(last.Message, "900 more problems") {
		t.Errorf("last: got %v, want rows: 900 more problems not listed", last)
	}
}

// TestGrowthWindow checks that the options reach every culture: a given window on the
// daily-doubling culture gives Td = 1 exactly.
func TestGrowthWindow(t *testing.T) {
	var rows []GrowthRow
	for d := 0; d <= 4; d++ {
		rows = append(rows, GrowthRow{Culture: "X", Day: d, ViableCells: 1e6 * math.Exp2(float64(d)), NKPct: 50, KeptFraction: 1, Line: d + 2})
	}
	out, err := Growth(rows, Options{Window: &[2]int{1, 3}})
	if err != nil {
		t.Fatal(err)
	}
	dt := out[0].Metrics.DoublingTime
	if dt == nil || dt.FromDay != 1 || dt.ToDay != 3 {
		t.Fatalf("got %+v, want a doubling time over days 1..3", dt)
	}
	checkNear(t, "days", dt.Days, 1, 1e-12)
}
