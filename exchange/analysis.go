package exchange

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/cytotox"
	"github.com/clink-consortium/clink/kinetics"
	"github.com/clink-consortium/clink/stats"
)

// The analysis files are the plain CSV inputs of `clink analyze` on files: paired values for
// a protocol comparison, the wells of a cytotoxicity plate and the counts of cultures. They are
// read with the same rules as an import (UTF-8 with or without a byte order mark, comma or
// semicolon, decimal points only) and every problem is reported with its line and column.

// InputError is returned when an analysis file has problems; it lists all of them.
type InputError struct {
	Problems []Problem
}

// Error lists the problems, one per line.
func (e *InputError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// MaxAnalysisRows bounds the data rows of one analysis file.
const MaxAnalysisRows = 1_000_000

// plainTable is a CSV file with a fixed set of columns.
type plainTable struct {
	name  string
	index map[string]int
	rows  []row
	ps    problems
	// fatal is set when the file cannot be read as a table (encoding, header, CSV syntax,
	// size): its rows are not checked. A row of the wrong length is not fatal: the other rows
	// are checked, so that every problem is reported at once.
	fatal bool
}

// stop marks t as unreadable and returns it.
func (t *plainTable) stop() *plainTable {
	t.fatal = true
	return t
}

// readPlain reads data as a CSV file whose header must hold every column of required and may
// hold those of optional, and nothing else.
func readPlain(name string, data []byte, required, optional []string) *plainTable {
	t := &plainTable{name: name, index: map[string]int{}}
	data = bytes.TrimPrefix(data, []byte(utf8BOM))
	if !utf8.Valid(data) {
		line := 1 + bytes.Count(data[:firstInvalidUTF8(data)], []byte("\n"))
		t.ps.add(name, line, "", "is not UTF-8 text: save the file as \"CSV UTF-8\"")
		return t.stop()
	}
	if len(bytes.TrimSpace(data)) == 0 {
		t.ps.add(name, 0, "", "is empty: the first line must name the columns (%s)", strings.Join(required, ","))
		return t.stop()
	}
	comma, msg := delimiter(data)
	if msg != "" {
		t.ps.add(name, 1, "", "%s", msg)
		return t.stop()
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma = comma
	cr.FieldsPerRecord = -1
	var header []string
	n := 0 // data rows
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.ps.addCSV(name, err)
			return t.stop()
		}
		line, _ := cr.FieldPos(0)
		if header == nil {
			header = rec
			if !t.setHeader(header, required, optional) {
				return t.stop()
			}
			continue
		}
		if blank(rec) {
			continue
		}
		if n++; n > MaxAnalysisRows {
			t.ps.add(name, line, "", "the file has more than %d rows", MaxAnalysisRows)
			return t.stop()
		}
		if len(rec) != len(header) {
			t.ps.add(name, line, "", "has %d cells, the header has %d", len(rec), len(header))
			continue
		}
		t.rows = append(t.rows, row{line: line, cells: rec})
	}
	if len(t.ps.list) == 0 && len(t.rows) == 0 {
		t.ps.add(name, 0, "", "has a header but no data rows")
	}
	return t
}

func (t *plainTable) setHeader(header, required, optional []string) bool {
	allowed := strings.Join(append(append([]string(nil), required...), optional...), ",")
	ok := true
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		switch {
		case h == "":
			t.ps.add(t.name, 1, "", "column %d has no name (columns: %s)", i+1, allowed)
			ok = false
		case t.has(h):
			t.ps.add(t.name, 1, h, "appears twice (columns %d and %d)", t.index[h]+1, i+1)
			ok = false
		case !contains(required, h) && !contains(optional, h):
			t.ps.add(t.name, 1, h, "is not a column of this file (columns: %s)", allowed)
			ok = false
		default:
			t.index[h] = i
		}
	}
	for _, c := range required {
		if !t.has(c) {
			t.ps.add(t.name, 1, c, "required column is missing (columns: %s)", allowed)
			ok = false
		}
	}
	return ok
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (t *plainTable) has(col string) bool {
	_, ok := t.index[col]
	return ok
}

// cell returns the trimmed cell of r in col ("" when the file has no such column).
func (t *plainTable) cell(r row, col string) string {
	i, ok := t.index[col]
	if !ok || i >= len(r.cells) {
		return ""
	}
	return strings.TrimSpace(r.cells[i])
}

// text returns a required text cell, reporting it when empty.
func (t *plainTable) text(r row, col string) (string, bool) {
	s := t.cell(r, col)
	if s == "" {
		t.ps.add(t.name, r.line, col, "is empty")
		return "", false
	}
	return s, true
}

// num returns a number cell; when the cell is empty it returns def and reports the cell if
// required.
func (t *plainTable) num(r row, col string, required bool, def float64) (float64, bool) {
	s := t.cell(r, col)
	if s == "" {
		if required {
			t.ps.add(t.name, r.line, col, "is empty")
			return 0, false
		}
		return def, true
	}
	v, msg := number(s)
	if msg != "" {
		t.ps.add(t.name, r.line, col, "%s", msg)
		return 0, false
	}
	return v, true
}

// err returns the problems found, in line order, or nil.
func (t *plainTable) err() error {
	if len(t.ps.list) == 0 {
		return nil
	}
	slices.SortStableFunc(t.ps.list, func(a, b Problem) int { return a.Row - b.Row })
	return &InputError{Problems: t.ps.list}
}

// ReadComparison reads the paired values of a protocol comparison: a CSV file with the header
// donor,protocol,value, one row per donor and protocol (repeated rows are replicates). Values
// must be finite numbers; whether they must be positive depends on the scale of the analysis
// and is checked there.
func ReadComparison(name string, data []byte) ([]stats.Row, error) {
	rows, _, err := ReadComparisonLines(name, data)
	return rows, err
}

// ReadComparisonLines is ReadComparison that also returns the line of the file each row comes
// from, so that problems stats.Compare finds in the rows can name their line (AnalysisError).
func ReadComparisonLines(name string, data []byte) ([]stats.Row, []int, error) {
	t := readPlain(name, data, []string{"donor", "protocol", "value"}, nil)
	if t.fatal {
		return nil, nil, t.err()
	}
	out := make([]stats.Row, 0, len(t.rows))
	lines := make([]int, 0, len(t.rows))
	for _, r := range t.rows {
		donor, ok1 := t.text(r, "donor")
		protocol, ok2 := t.text(r, "protocol")
		v, ok3 := t.num(r, "value", true, 0)
		if ok1 && ok2 && ok3 {
			out = append(out, stats.Row{Donor: donor, Protocol: protocol, Value: v})
			lines = append(lines, r.line)
		}
	}
	if err := t.err(); err != nil {
		return nil, nil, err
	}
	return out, lines, nil
}

var (
	lineFieldRE = regexp.MustCompile(`^line ([0-9]+): (.+)$`)
	rowFieldRE  = regexp.MustCompile(`^rows\[([0-9]+)\]\.(.+)$`)
)

// AnalysisError turns err, the EINVALID error of an analysis run on the rows read from file
// name, into an *InputError whose problems name the file's lines as the readers' own do
// ("plate.csv:7: et_ratio: 0 is not a ratio"). A field "line N: column" (how cytotox and
// kinetics name rows that carry their line) names line N; a field "rows[i].column" (how stats
// names rows) names lines[i], the line of row i; the field "rows" is a problem of the whole
// file. Errors of another kind are returned as they are.
func AnalysisError(name string, lines []int, err error) error {
	var ce *clink.Error
	if !errors.As(err, &ce) || ce.Code != clink.EINVALID || len(ce.Fields) == 0 {
		return err
	}
	var ps problems
	for _, f := range ce.Fields {
		if m := lineFieldRE.FindStringSubmatch(f.Field); m != nil {
			line, _ := strconv.Atoi(m[1])
			ps.add(name, line, m[2], "%s", f.Message)
			continue
		}
		if m := rowFieldRE.FindStringSubmatch(f.Field); m != nil {
			if i, err := strconv.Atoi(m[1]); err == nil && i < len(lines) {
				ps.add(name, lines[i], m[2], "%s", f.Message)
				continue
			}
		}
		col := f.Field
		if col == "rows" {
			col = ""
		}
		ps.add(name, 0, col, "%s", f.Message)
	}
	return &InputError{Problems: ps.list}
}

// Well types of a cytotoxicity plate file.
var wellTypes = []string{"spontaneous", "maximum", "test"}

// ReadPlate reads the wells of a cytotoxicity plate: a CSV file with the header
// sample,well_type,et_ratio,value. well_type is spontaneous, maximum or test; control rows
// may leave et_ratio empty, test rows need one above 0; a control row with sample "*" serves
// every sample.
func ReadPlate(name string, data []byte) ([]cytotox.PlateRow, error) {
	t := readPlain(name, data, []string{"sample", "well_type", "et_ratio", "value"}, nil)
	if t.fatal {
		return nil, t.err()
	}
	out := make([]cytotox.PlateRow, 0, len(t.rows))
	for _, r := range t.rows {
		sample, ok1 := t.text(r, "sample")
		wt := strings.ToLower(t.cell(r, "well_type"))
		ok2 := contains(wellTypes, wt)
		if !ok2 {
			if wt == "" {
				t.ps.add(name, r.line, "well_type", "is empty: write spontaneous, maximum or test")
			} else {
				t.ps.add(name, r.line, "well_type", "%q is not spontaneous, maximum or test", t.cell(r, "well_type"))
			}
		}
		et, ok3 := t.num(r, "et_ratio", wt == "test", 0)
		if ok3 && wt == "test" && !(et > 0) {
			t.ps.add(name, r.line, "et_ratio", "%g is not above 0", et)
			ok3 = false
		}
		v, ok4 := t.num(r, "value", true, 0)
		if ok1 && ok2 && ok3 && ok4 {
			out = append(out, cytotox.PlateRow{Sample: sample, WellType: wt, ETRatio: et, Value: v, Line: r.line})
		}
	}
	if err := t.err(); err != nil {
		return nil, err
	}
	return out, nil
}

// ReadGrowth reads the counts of one or more cultures: a CSV file with the header
// culture,day,viable_cells,nk_pct and optionally split_fraction_kept. Each culture needs a
// day-0 row, which seeds it; nk_pct may be empty where it was not measured and
// split_fraction_kept is 1 when empty.
func ReadGrowth(name string, data []byte) ([]kinetics.GrowthRow, error) {
	t := readPlain(name, data, []string{"culture", "day", "viable_cells", "nk_pct"}, []string{"split_fraction_kept"})
	if t.fatal {
		return nil, t.err()
	}
	out := make([]kinetics.GrowthRow, 0, len(t.rows))
	for _, r := range t.rows {
		culture, ok1 := t.text(r, "culture")
		day, ok2 := 0, false
		if s := t.cell(r, "day"); s == "" {
			t.ps.add(name, r.line, "day", "is empty")
		} else if d, msg := wholeNumber(s); msg != "" {
			t.ps.add(name, r.line, "day", "%s", msg)
		} else if d < 0 {
			t.ps.add(name, r.line, "day", "%d is negative", d)
		} else {
			day, ok2 = d, true
		}
		cells, ok3 := t.num(r, "viable_cells", true, 0)
		if ok3 && cells < 0 {
			t.ps.add(name, r.line, "viable_cells", "%g is negative", cells)
			ok3 = false
		}
		nk, ok4 := t.num(r, "nk_pct", false, math.NaN())
		if ok4 && !math.IsNaN(nk) && (nk < 0 || nk > 100) {
			t.ps.add(name, r.line, "nk_pct", "%g is outside 0-100", nk)
			ok4 = false
		}
		kept, ok5 := t.num(r, "split_fraction_kept", false, 1)
		if ok5 && !(kept > 0 && kept <= 1) {
			t.ps.add(name, r.line, "split_fraction_kept", "%g is not above 0 and at most 1", kept)
			ok5 = false
		}
		if ok1 && ok2 && ok3 && ok4 && ok5 {
			out = append(out, kinetics.GrowthRow{Culture: culture, Day: day, ViableCells: cells, NKPct: nk, KeptFraction: kept, Line: r.line})
		}
	}
	if err := t.err(); err != nil {
		return nil, err
	}
	return out, nil
}
