package exchange

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/cytotox"
	"github.com/clink-consortium/clink/kinetics"
	"github.com/clink-consortium/clink/stats"
)

// problemsOf returns the problems of an *InputError as strings, or fails.
func problemsOf(tb testing.TB, err error) []string {
	tb.Helper()
	var ie *InputError
	if !errors.As(err, &ie) {
		tb.Fatalf("got error %v (%T), want an *InputError", err, err)
	}
	out := make([]string, len(ie.Problems))
	for i, p := range ie.Problems {
		out[i] = p.String()
	}
	if got, want := err.Error(), strings.Join(out, "\n"); got != want {
		tb.Errorf("Error() = %q, want the problems one per line %q", got, want)
	}
	return out
}

// srow is a row of a comparison.
func srow(donor, protocol string, value float64) stats.Row {
	return stats.Row{Donor: donor, Protocol: protocol, Value: value}
}

// lines joins the lines of a file with newlines.
func lines(ls ...string) string { return strings.Join(ls, "\n") + "\n" }

func TestReadComparison(t *testing.T) {
	const header = "donor,protocol,value"
	tests := []struct {
		name     string
		data     string
		rows     []stats.Row
		lines    []int    // the line of each row
		problems []string // nil: no error
	}{
		{
			name:  "plain",
			data:  lines(header, "D1,A,2.5", "D1,B,3", "D2,A,-1", "D2,B,0"),
			rows:  []stats.Row{srow("D1", "A", 2.5), srow("D1", "B", 3), srow("D2", "A", -1), srow("D2", "B", 0)},
			lines: []int{2, 3, 4, 5},
		},
		{
			name:  "byte order mark, semicolons and CRLF",
			data:  "\xEF\xBB\xBFdonor;protocol;value\r\nD1;A;2.5\r\nD1;B;1e3\r\n",
			rows:  []stats.Row{srow("D1", "A", 2.5), srow("D1", "B", 1000)},
			lines: []int{2, 3},
		},
		{
			name:  "header in any case and order, cells trimmed",
			data:  lines(" Value ,PROTOCOL,Donor", " .5 , A , D1 ", "+4,B,D1"),
			rows:  []stats.Row{srow("D1", "A", 0.5), srow("D1", "B", 4)},
			lines: []int{2, 3},
		},
		{
			name:  "blank lines and rows of empty cells are skipped",
			data:  lines(header, "", "D1,A,1", ",,", "   ", "D1,B,2", ""),
			rows:  []stats.Row{srow("D1", "A", 1), srow("D1", "B", 2)},
			lines: []int{3, 6},
		},
		{
			name:  "quoted cells",
			data:  lines(header, `"D 1","A, new",1`, `"D 1",B,"2"`),
			rows:  []stats.Row{srow("D 1", "A, new", 1), srow("D 1", "B", 2)},
			lines: []int{2, 3},
		},
		{
			name:     "a text value",
			data:     lines(header, "D1,A,1", "D1,B,abc"),
			problems: []string{`values.csv:3: value: "abc" is not a number`},
		},
		{
			name:     "missing column",
			data:     lines("donor,protocol", "D1,A"),
			problems: []string{"values.csv:1: value: required column is missing (columns: donor,protocol,value)"},
		},
		{
			name: "extra, repeated and unnamed columns",
			data: lines("donor,protocol,value,note,Value,", "D1,A,1,x,2,"),
			problems: []string{
				"values.csv:1: note: is not a column of this file (columns: donor,protocol,value)",
				"values.csv:1: value: appears twice (columns 3 and 5)",
				"values.csv:1: column 6 has no name (columns: donor,protocol,value)",
			},
		},
		{
			name: "empty cells",
			data: lines(header, ",A,1", "D1,,1", "D1,A,", " , , 2"),
			problems: []string{
				"values.csv:2: donor: is empty",
				"values.csv:3: protocol: is empty",
				"values.csv:4: value: is empty",
				"values.csv:5: donor: is empty",
				"values.csv:5: protocol: is empty",
			},
		},
		{
			name:     "decimal comma",
			data:     lines("donor;protocol;value", "D1;A;2,5"),
			problems: []string{"values.csv:2: value: 2,5 has a decimal comma, which is ambiguous (a decimal or a thousands separator?): write 2.5 if that is the value, with a decimal point"},
		},
		{
			name: "numbers that are not plain decimals",
			data: lines(header, `D1,A,"1,500.5"`, "D1,B,45%", "D2,A,NaN", "D2,B,Inf", "D3,A,0x10", "D3,B,1e999"),
			problems: []string{
				"values.csv:2: value: 1,500.5 has a comma: write numbers with a decimal point and no thousands separators",
				"values.csv:3: value: 45% has a percent sign: write the number alone",
				`values.csv:4: value: "NaN" is not a number`,
				`values.csv:5: value: "Inf" is not a number`,
				`values.csv:6: value: "0x10" is not a number`,
				"values.csv:7: value: 1e999 is out of range",
			},
		},
		{
			name:     "a row with too few cells",
			data:     lines(header, "D1,A", "D1,B,2,3"),
			problems: []string{"values.csv:2: has 2 cells, the header has 3", "values.csv:3: has 4 cells, the header has 3"},
		},
		{
			name: "every problem at once, in line order",
			data: lines(header, "D1,A,x", "D2,A", "D1,B,1", ",C,", "D3,A,1,2"),
			problems: []string{
				`values.csv:2: value: "x" is not a number`,
				"values.csv:3: has 2 cells, the header has 3",
				"values.csv:5: donor: is empty",
				"values.csv:5: value: is empty",
				"values.csv:6: has 4 cells, the header has 3",
			},
		},
		{name: "empty file", data: "", problems: []string{"values.csv: is empty: the first line must name the columns (donor,protocol,value)"}},
		{name: "only a byte order mark and spaces", data: "\xEF\xBB\xBF \n \n", problems: []string{"values.csv: is empty: the first line must name the columns (donor,protocol,value)"}},
		{name: "header only", data: lines(header), problems: []string{"values.csv: has a header but no data rows"}},
		{name: "not UTF-8", data: lines(header, "D1,A,1", "D\xff,B,1"), problems: []string{`values.csv:3: is not UTF-8 text: save the file as "CSV UTF-8"`}},
		{name: "mixed separators", data: lines("donor;protocol,value", "D1;A,1"), problems: []string{"values.csv:1: the header mixes commas and semicolons: separate the columns with one of them"}},
		{name: "tabs", data: lines("donor\tprotocol\tvalue", "D1\tA\t1"), problems: []string{"values.csv:1: the columns are separated by tabs: separate them with commas or semicolons"}},
		{name: "a stray quote", data: lines(header, "D1,A,1", `D1,B"x,1`), problems: []string{`values.csv:3: cannot be read as CSV (column 5): bare " in non-quoted-field`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows, ls, err := ReadComparisonLines("values.csv", []byte(tc.data))
			rows2, err2 := ReadComparison("values.csv", []byte(tc.data))
			if tc.problems != nil {
				if diff := cmp.Diff(tc.problems, problemsOf(t, err)); diff != "" {
					t.Errorf("problems (-want +got):\n%s", diff)
				}
				if rows != nil || ls != nil {
					t.Errorf("got rows %v and lines %v with the error, want none", rows, ls)
				}
				if err2 == nil || err2.Error() != err.Error() || rows2 != nil {
					t.Errorf("ReadComparison: got %v, %v; want the same error as ReadComparisonLines", rows2, err2)
				}
				return
			}
			if err != nil || err2 != nil {
				t.Fatalf("got errors %v and %v, want none", err, err2)
			}
			if diff := cmp.Diff(tc.rows, rows); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.rows, rows2); diff != "" {
				t.Errorf("ReadComparison rows (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.lines, ls); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadPlate(t *testing.T) {
	const header = "sample,well_type,et_ratio,value"
	tests := []struct {
		name     string
		data     string
		rows     []cytotox.PlateRow
		problems []string
	}{
		{
			name: "shared controls without E:T, well types in any case",
			data: lines(header, "*,Spontaneous,,304", "*, MAXIMUM ,,2511", "NK-A,Test,1.25,615", "NK-A,test,20,2182"),
			rows: []cytotox.PlateRow{
				{Sample: "*", WellType: "spontaneous", Value: 304, Line: 2},
				{Sample: "*", WellType: "maximum", Value: 2511, Line: 3},
				{Sample: "NK-A", WellType: "test", ETRatio: 1.25, Value: 615, Line: 4},
				{Sample: "NK-A", WellType: "test", ETRatio: 20, Value: 2182, Line: 5},
			},
		},
		{
			name: "semicolons, byte order mark and a control with an E:T",
			data: "\xEF\xBB\xBFsample;well_type;et_ratio;value\r\nNK-B;spontaneous;0;290.5\r\n\r\nNK-B;test;10;800\r\n",
			rows: []cytotox.PlateRow{
				{Sample: "NK-B", WellType: "spontaneous", Value: 290.5, Line: 2},
				{Sample: "NK-B", WellType: "test", ETRatio: 10, Value: 800, Line: 4},
			},
		},
		{
			name:     "unknown well type",
			data:     lines(header, "*,spontanous,,5", "NK-A,test,5,900"),
			problems: []string{`plate.csv:2: well_type: "spontanous" is not spontaneous, maximum or test`},
		},
		{
			name: "test wells need an E:T above 0",
			data: lines(header, "NK-A,test,,900", "NK-A,test,0,900", "NK-A,test,-5,900", "NK-A,test,1:10,900"),
			problems: []string{
				"plate.csv:2: et_ratio: is empty",
				"plate.csv:3: et_ratio: 0 is not above 0",
				"plate.csv:4: et_ratio: -5 is not above 0",
				`plate.csv:5: et_ratio: "1:10" is not a number`,
			},
		},
		{
			name: "every problem of a row at once",
			data: lines(header, ",,x,", "NK-A,test,5,1;2"),
			problems: []string{
				"plate.csv:2: sample: is empty",
				"plate.csv:2: well_type: is empty: write spontaneous, maximum or test",
				`plate.csv:2: et_ratio: "x" is not a number`,
				"plate.csv:2: value: is empty",
				`plate.csv:3: value: "1;2" is not a number`,
			},
		},
		{
			name:     "decimal comma",
			data:     lines("sample;well_type;et_ratio;value", "NK-A;test;2,5;900"),
			problems: []string{"plate.csv:2: et_ratio: 2,5 has a decimal comma, which is ambiguous (a decimal or a thousands separator?): write 2.5 if that is the value, with a decimal point"},
		},
		{
			name: "missing and extra columns",
			data: lines("sample,well,value", "NK-A,test,900"),
			problems: []string{
				"plate.csv:1: well: is not a column of this file (columns: sample,well_type,et_ratio,value)",
				"plate.csv:1: well_type: required column is missing (columns: sample,well_type,et_ratio,value)",
				"plate.csv:1: et_ratio: required column is missing (columns: sample,well_type,et_ratio,value)",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := ReadPlate("plate.csv", []byte(tc.data))
			if tc.problems != nil {
				if diff := cmp.Diff(tc.problems, problemsOf(t, err)); diff != "" {
					t.Errorf("problems (-want +got):\n%s", diff)
				}
				if rows != nil {
					t.Errorf("got rows %v with the error, want none", rows)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.rows, rows); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadGrowth(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name     string
		data     string
		rows     []kinetics.GrowthRow
		problems []string
	}{
		{
			name: "without the kept fraction",
			data: lines("culture,day,viable_cells,nk_pct", "A,0,1e6,20", "A,7,9.8e6,", "A,14,5.2E7,83.5"),
			rows: []kinetics.GrowthRow{
				{Culture: "A", Day: 0, ViableCells: 1e6, NKPct: 20, KeptFraction: 1, Line: 2},
				{Culture: "A", Day: 7, ViableCells: 9.8e6, NKPct: nan, KeptFraction: 1, Line: 3},
				{Culture: "A", Day: 14, ViableCells: 5.2e7, NKPct: 83.5, KeptFraction: 1, Line: 4},
			},
		},
		{
			name: "kept fraction at its limits, empty or given, day written 7.0",
			data: lines("culture;day;viable_cells;nk_pct;split_fraction_kept", "A;0;1000000;0;", "A;7.0;9800000;100;0.001", "A;10;21000000;71;1"),
			rows: []kinetics.GrowthRow{
				{Culture: "A", Day: 0, ViableCells: 1e6, NKPct: 0, KeptFraction: 1, Line: 2},
				{Culture: "A", Day: 7, ViableCells: 9.8e6, NKPct: 100, KeptFraction: 0.001, Line: 3},
				{Culture: "A", Day: 10, ViableCells: 2.1e7, NKPct: 71, KeptFraction: 1, Line: 4},
			},
		},
		{
			name: "out-of-range values",
			data: lines("culture,day,viable_cells,nk_pct,split_fraction_kept", "A,0,1e6,134,", "A,3,1e6,-1,0", "A,7,-5,50,1.5", "A,10,1e6,50,-0.5"),
			problems: []string{
				"growth.csv:2: nk_pct: 134 is outside 0-100",
				"growth.csv:3: nk_pct: -1 is outside 0-100",
				"growth.csv:3: split_fraction_kept: 0 is not above 0 and at most 1",
				"growth.csv:4: viable_cells: -5 is negative",
				"growth.csv:4: split_fraction_kept: 1.5 is not above 0 and at most 1",
				"growth.csv:5: split_fraction_kept: -0.5 is not above 0 and at most 1",
			},
		},
		{
			name: "days",
			data: lines("culture,day,viable_cells,nk_pct", "A,,1e6,20", "A,1.5,1e6,20", "A,-3,1e6,20", "A,seven,1e6,20", "A,1e10,1e6,20"),
			problems: []string{
				"growth.csv:2: day: is empty",
				"growth.csv:3: day: 1.5 is not a whole number",
				"growth.csv:4: day: -3 is negative",
				`growth.csv:5: day: "seven" is not a number`,
				"growth.csv:6: day: 1e10 is out of range",
			},
		},
		{
			name: "empty required cells",
			data: lines("culture,day,viable_cells,nk_pct", ",0,,20"),
			problems: []string{
				"growth.csv:2: culture: is empty",
				"growth.csv:2: viable_cells: is empty",
			},
		},
		{
			name: "repeated and unknown columns",
			data: lines("culture,day,viable_cells,nk_pct,viability_pct,day", "A,0,1e6,20,90,0"),
			problems: []string{
				"growth.csv:1: viability_pct: is not a column of this file (columns: culture,day,viable_cells,nk_pct,split_fraction_kept)",
				"growth.csv:1: day: appears twice (columns 2 and 6)",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := ReadGrowth("growth.csv", []byte(tc.data))
			if tc.problems != nil {
				if diff := cmp.Diff(tc.problems, problemsOf(t, err)); diff != "" {
					t.Errorf("problems (-want +got):\n%s", diff)
				}
				if rows != nil {
					t.Errorf("got rows %v with the error, want none", rows)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.rows, rows, cmpopts.EquateNaNs()); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReadRowLimit checks that a file with more than MaxAnalysisRows data rows is refused on
// the first row beyond the limit.
func TestReadRowLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("reads a million rows")
	}
	var b strings.Builder
	b.WriteString("donor,protocol,value\n")
	for range MaxAnalysisRows + 1 {
		b.WriteString("D,A,1\n")
	}
	_, err := ReadComparison("big.csv", []byte(b.String()))
	want := []string{"big.csv:1000002: the file has more than 1000000 rows"}
	if diff := cmp.Diff(want, problemsOf(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestAnalysisError(t *testing.T) {
	invalid := func(fields ...string) error {
		var fe clink.FieldErrors
		for _, f := range fields {
			fe.Addf(f, "message of %s", f)
		}
		return fe.Err()
	}
	tests := []struct {
		name     string
		lines    []int
		err      error
		problems []string
	}{
		{
			name: "lines named by the analysis",
			err:  invalid("line 7: et_ratio", "line 12: sample"),
			problems: []string{
				"plate.csv:7: et_ratio: message of line 7: et_ratio",
				"plate.csv:12: sample: message of line 12: sample",
			},
		},
		{
			name:  "rows named by index",
			lines: []int{2, 5, 9},
			err:   invalid("rows[1].value", "rows[2].donor"),
			problems: []string{
				"plate.csv:5: value: message of rows[1].value",
				"plate.csv:9: donor: message of rows[2].donor",
			},
		},
		{
			name:  "whole-file problems",
			lines: []int{2},
			err:   invalid("rows", "rows[3].value", "targets"),
			problems: []string{
				"plate.csv: message of rows",
				"plate.csv: rows[3].value: message of rows[3].value",
				"plate.csv: targets: message of targets",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := AnalysisError("plate.csv", tc.lines, tc.err)
			if diff := cmp.Diff(tc.problems, problemsOf(t, err)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
	for _, err := range []error{
		errors.New("disk on fire"),
		clink.Errorf(clink.EINTERNAL, "internal"),
		clink.Errorf(clink.EINVALID, "protocol: no fields"),
	} {
		if got := AnalysisError("plate.csv", nil, err); got != err {
			t.Errorf("AnalysisError(%v) = %v, want the error unchanged", err, got)
		}
	}
	if got := AnalysisError("plate.csv", nil, nil); got != nil {
		t.Errorf("AnalysisError(nil) = %v, want nil", got)
	}
}

// FuzzReadAnalysis checks that no input makes the analysis readers panic, and that each
// either returns rows or lists problems of the file, in line order.
func FuzzReadAnalysis(f *testing.F) {
	for _, s := range []string{
		lines("donor,protocol,value", "D1,A,2.5", "D1,B,3"),
		"\xEF\xBB\xBFdonor;protocol;value\r\nD1;A;2,5\r\n",
		lines("sample,well_type,et_ratio,value", "*,spontaneous,,304", "*,maximum,,2511", "NK-A,test,1.25,615"),
		lines("culture,day,viable_cells,nk_pct,split_fraction_kept", "A,0,1e6,20,", "A,7,9.8e6,55,0.5"),
		lines("donor,protocol,value", `"D1,A,1`),
		"\xff",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		check := func(reader string, n int, err error) {
			if err == nil {
				if n == 0 {
					t.Errorf("%s: no rows and no error", reader)
				}
				return
			}
			var ie *InputError
			if !errors.As(err, &ie) || len(ie.Problems) == 0 {
				t.Fatalf("%s: got %v (%T), want an *InputError with problems", reader, err, err)
			}
			for i, p := range ie.Problems {
				if p.File != "in.csv" || p.Row < 0 || p.Message == "" || (i > 0 && p.Row < ie.Problems[i-1].Row) {
					t.Errorf("%s: problem %d %+v: want file in.csv, a line in order and a message", reader, i, p)
				}
			}
		}
		rows, ls, err := ReadComparisonLines("in.csv", data)
		check("comparison", len(rows), err)
		if len(ls) != len(rows) || !slices.IsSorted(ls) || (len(ls) > 0 && ls[0] < 2) {
			t.Errorf("comparison: %d rows on lines %v", len(rows), ls)
		}
		plate, err := ReadPlate("in.csv", data)
		check("plate", len(plate), err)
		growth, err := ReadGrowth("in.csv", data)
		check("growth", len(growth), err)
	})
}
