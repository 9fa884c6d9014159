package exchange

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/clink-consortium/clink"
	"github.com/xuri/excelize/v2"
)

// sheet is one table as read from a CSV file or a workbook sheet: its header and its non-empty
// rows, each with the line it starts on.
type sheet struct {
	table  string
	schema *schema
	label  string // "observations.csv" or "book.xlsx[observations]"
	xlsx   bool
	header []string
	// index maps a usable column name to its position; unknown and repeated columns are left
	// out.
	index map[string]int
	rows  []row
	// incomplete is set when some rows or key columns could not be read, so that references
	// into this table cannot be decided and are not reported as missing.
	incomplete bool
	// broken holds the columns that are missing or repeated: problems with their cells are
	// not reported row by row.
	broken map[string]bool
}

// row is one data row of a sheet.
type row struct {
	line  int
	cells []string
}

// value returns the cell of r in column col, and whether the sheet has that column.
func (sh *sheet) value(r row, col string) (string, bool) {
	i, ok := sh.index[col]
	if !ok {
		return "", false
	}
	if i >= len(r.cells) {
		return "", true
	}
	return r.cells[i], true
}

// reader turns Files into sheets, collecting problems.
type reader struct {
	ps      *problems
	sheets  map[string]*sheet
	rows    int
	maxRows int
	// full is set when the row limit was passed: reading stops.
	full bool
}

const utf8BOM = "\xEF\xBB\xBF"

func tableFileNames() string {
	names := make([]string, len(Tables))
	for i, t := range Tables {
		names[i] = t + ".csv"
	}
	return strings.Join(names, ", ")
}

// read reads every file.
func (rd *reader) read(files []File) {
	for _, f := range files {
		if rd.full {
			return
		}
		name := f.Name
		if name == "" {
			name = "(unnamed file)"
		}
		ext := strings.ToLower(path.Ext(name))
		switch ext {
		case ".csv":
			table := strings.ToLower(strings.TrimSuffix(path.Base(name), path.Ext(name)))
			if tableIndex(table) < 0 {
				rd.ps.add(name, 0, "", "is not named after a table (%s)", tableFileNames())
				continue
			}
			rd.readCSV(name, table, f.Data)
		case ".xlsx":
			rd.readXLSX(name, f.Data)
		default:
			rd.ps.add(name, 0, "", "is neither a .csv nor a .xlsx file")
		}
	}
}

// addSheet registers sh unless its table was given already.
func (rd *reader) addSheet(sh *sheet) bool {
	if prev, ok := rd.sheets[sh.table]; ok {
		rd.ps.add(sh.label, 0, "", "table %s is also given by %s: give each table once", sh.table, prev.label)
		return false
	}
	sh.schema = schemas[sh.table]
	rd.sheets[sh.table] = sh
	return true
}

// readCSV reads one CSV file. The delimiter, comma or semicolon, is decided from the header.
func (rd *reader) readCSV(name, table string, data []byte) {
	sh := &sheet{table: table, label: name}
	if !rd.addSheet(sh) {
		return
	}
	data = bytes.TrimPrefix(data, []byte(utf8BOM))
	if !utf8.Valid(data) {
		line := 1 + bytes.Count(data[:firstInvalidUTF8(data)], []byte("\n"))
		rd.ps.add(name, line, "", "is not UTF-8 text: save the file as \"CSV UTF-8\"")
		sh.incomplete = true
		return
	}
	if len(bytes.TrimSpace(data)) == 0 {
		rd.ps.add(name, 0, "", "is empty: the first line must name the columns")
		sh.incomplete = true
		return
	}
	comma, msg := delimiter(data)
	if msg != "" {
		rd.ps.add(name, 1, "", "%s", msg)
		sh.incomplete = true
		return
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma = comma
	cr.FieldsPerRecord = -1
	first := true
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			rd.ps.addCSV(name, err)
			sh.incomplete = true
			return
		}
		line, _ := cr.FieldPos(0)
		if first {
			first = false
			rd.setHeader(sh, rec)
			continue
		}
		if blank(rec) {
			continue
		}
		if len(rec) != len(sh.header) {
			rd.ps.add(name, line, "", "has %d cells, the header has %d", len(rec), len(sh.header))
			sh.incomplete = true
			continue
		}
		if !rd.count(name, line) {
			return
		}
		sh.rows = append(sh.rows, row{line: line, cells: rec})
	}
}

// count counts one data row against the limit and reports passing it.
func (rd *reader) count(label string, line int) bool {
	rd.rows++
	if rd.rows > rd.maxRows {
		rd.ps.add(label, line, "", "the import has more than %d rows: split it into smaller imports", rd.maxRows)
		rd.full = true
		return false
	}
	return true
}

// firstInvalidUTF8 returns the offset of the first byte that is not valid UTF-8.
func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(b)
}

// delimiter decides from the header line whether the file is separated by commas or
// semicolons; it returns a message when the header allows no decision.
func delimiter(data []byte) (rune, string) {
	var commas, semis, tabs int
	quoted := false
	for _, c := range data {
		if c == '"' {
			quoted = !quoted
		}
		if quoted {
			continue
		}
		if c == '\n' {
			break
		}
		switch c {
		case ',':
			commas++
		case ';':
			semis++
		case '\t':
			tabs++
		}
	}
	switch {
	case commas > 0 && semis > 0:
		return 0, "the header mixes commas and semicolons: separate the columns with one of them"
	case semis > 0:
		return ';', ""
	case commas == 0 && tabs > 0:
		return 0, "the columns are separated by tabs: separate them with commas or semicolons"
	}
	return ',', ""
}

func blank(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// setHeader checks the header of sh and builds its column index.
func (rd *reader) setHeader(sh *sheet, header []string) {
	sc := schemas[sh.table]
	sh.header = header
	sh.index = map[string]int{}
	sh.broken = map[string]bool{}
	seen := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		header[i] = h
		switch {
		case h == "":
			rd.ps.add(sh.label, 1, "", "column %d has no name", i+1)
			continue
		case seen[h] > 0:
			rd.ps.add(sh.label, 1, h, "appears twice (columns %d and %d)", seen[h], i+1)
			delete(sh.index, h)
			sh.broken[h] = true
			if slices.Contains(sc.keys, h) {
				sh.incomplete = true
			}
			continue
		}
		seen[h] = i + 1
		if _, ok := sc.column(h); !ok {
			if m, isMarker := strings.CutPrefix(h, markerPrefix); isMarker && sc.markers {
				rd.ps.add(sh.label, 1, h, "%q is not a known marker (%s)", m, strings.Join(clink.Markers, ", "))
			} else {
				rd.ps.add(sh.label, 1, h, "is not a column of %s (columns: %s)", sh.table, sc.names())
			}
			continue
		}
		sh.index[h] = i
	}
	for _, c := range sc.columns {
		if c.required && seen[c.name] == 0 {
			rd.ps.add(sh.label, 1, c.name, "required column is missing")
			sh.broken[c.name] = true
			if slices.Contains(sc.keys, c.name) {
				sh.incomplete = true
			}
		}
	}
}

// readXLSX reads every sheet of a workbook. Empty sheets with other names (Excel's "Sheet1")
// are ignored; other sheets must be named after a table.
func (rd *reader) readXLSX(name string, data []byte) {
	defer func() {
		// excelize is a large parser of untrusted input; a panic in it must not take the
		// process down.
		if r := recover(); r != nil {
			rd.ps.add(name, 0, "", "cannot be read as an XLSX workbook: %v", r)
		}
	}()
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{
		UnzipSizeLimit:    1 << 30,
		UnzipXMLSizeLimit: 64 << 20,
	})
	if err != nil {
		rd.ps.add(name, 0, "", "cannot be read as an XLSX workbook: %v", err)
		return
	}
	defer f.Close()
	for _, sn := range f.GetSheetList() {
		if rd.full {
			return
		}
		rd.readSheet(f, name, sn)
	}
}

// readSheet reads one sheet of a workbook, row by row, so that the row limit stops it early.
func (rd *reader) readSheet(f *excelize.File, name, sn string) {
	label := fmt.Sprintf("%s[%s]", name, sn)
	rows, err := f.Rows(sn)
	if err != nil {
		rd.ps.add(label, 0, "", "cannot be read: %v", err)
		return
	}
	defer rows.Close()
	table := strings.ToLower(strings.TrimSpace(sn))
	var sh *sheet
	if tableIndex(table) >= 0 {
		sh = &sheet{table: table, label: label, xlsx: true}
		if !rd.addSheet(sh) {
			return
		}
	}
	line := 0
	for rows.Next() {
		line++
		r, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			rd.ps.add(label, line, "", "cannot be read: %v", err)
			if sh != nil {
				sh.incomplete = true
			}
			return
		}
		if sh == nil {
			if !blank(r) {
				rd.ps.add(label, 0, "", "is not named after a table (%s)", strings.Join(Tables, ", "))
				return
			}
			continue
		}
		if sh.header == nil {
			if blank(r) {
				rd.ps.add(label, line, "", "the first row must name the columns")
				sh.incomplete = true
				return
			}
			rd.setHeader(sh, r)
			continue
		}
		if blank(r) {
			continue
		}
		if len(r) > len(sh.header) && !blank(r[len(sh.header):]) {
			rd.ps.add(label, line, "", "has a value in column %d, beyond the header's %d columns", lastFilled(r), len(sh.header))
			sh.incomplete = true
			continue
		}
		if !rd.count(label, line) {
			return
		}
		sh.rows = append(sh.rows, row{line: line, cells: r})
	}
	if err := rows.Error(); err != nil {
		rd.ps.add(label, line, "", "cannot be read: %v", err)
		if sh != nil {
			sh.incomplete = true
		}
		return
	}
	if sh != nil && sh.header == nil {
		rd.ps.add(label, 0, "", "is empty: the first row must name the columns")
		sh.incomplete = true
	}
}

func lastFilled(r []string) int {
	for i := len(r) - 1; i >= 0; i-- {
		if strings.TrimSpace(r[i]) != "" {
			return i + 1
		}
	}
	return 0
}
