package exchange

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"
)

// cells reads the typed values of one row, recording a problem for every cell that cannot be
// read. A column with a problem is remembered so that the domain's own check of the same field
// does not report it a second time.
type cells struct {
	sh  *sheet
	r   row
	ps  *problems
	bad map[string]bool
}

func newCells(sh *sheet, r row, ps *problems) *cells {
	return &cells{sh: sh, r: r, ps: ps, bad: map[string]bool{}}
}

// fail records a problem with the cell of column col.
func (c *cells) fail(col, format string, args ...any) {
	c.bad[col] = true
	if c.sh.broken[col] {
		// The header's problem with this column was reported once, on line 1.
		return
	}
	c.ps.add(c.sh.label, c.r.line, col, format, args...)
}

// ok reports whether no cell of the row had a problem.
func (c *cells) ok() bool { return len(c.bad) == 0 }

// raw returns the cell as written.
func (c *cells) raw(col string) string {
	v, _ := c.sh.value(c.r, col)
	return v
}

// has reports whether the sheet has column col.
func (c *cells) has(col string) bool {
	_, ok := c.sh.index[col]
	return ok
}

// str returns the cell with surrounding spaces removed; a required column's empty cell is a
// problem (unless the whole column is missing, which the header check reported).
func (c *cells) str(col string) string {
	v := strings.TrimSpace(c.raw(col))
	if v == "" && c.has(col) {
		if sc, ok := c.sh.schema.column(col); ok && sc.required {
			c.fail(col, "is required")
		}
	}
	return v
}

// text returns a free-text cell exactly as written.
func (c *cells) text(col string) string { return c.raw(col) }

var (
	decimalRE = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$`)
	commaRE   = regexp.MustCompile(`^[+-]?[0-9]+,[0-9]+$`)
)

// number parses a decimal number. It refuses decimal commas, which are ambiguous (is 1,500 one
// and a half or fifteen hundred?), and anything strconv accepts beyond plain decimals (hex
// floats, NaN, Inf).
func number(s string) (float64, string) {
	switch {
	case commaRE.MatchString(s):
		return 0, s + " has a decimal comma, which is ambiguous (a decimal or a thousands separator?): write " + strings.Replace(s, ",", ".", 1) + " if that is the value, with a decimal point"
	case strings.Contains(s, ","):
		return 0, s + " has a comma: write numbers with a decimal point and no thousands separators"
	case strings.HasSuffix(s, "%") && decimalRE.MatchString(strings.TrimSpace(strings.TrimSuffix(s, "%"))):
		return 0, s + " has a percent sign: write the number alone"
	case !decimalRE.MatchString(s):
		return 0, strconv.Quote(s) + " is not a number"
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) {
		return 0, s + " is out of range"
	}
	return v, ""
}

// float returns the number in col; present is false when the cell is empty.
func (c *cells) float(col string) (v float64, present bool) {
	s := c.str(col)
	if s == "" {
		return 0, false
	}
	v, msg := number(s)
	if msg != "" {
		c.fail(col, "%s", msg)
		return 0, false
	}
	return v, true
}

// optFloat returns the number in col, or nil when the cell is empty.
func (c *cells) optFloat(col string) *float64 {
	v, ok := c.float(col)
	if !ok {
		return nil
	}
	return &v
}

// wholeNumber parses a whole number; Excel may write 7 as 7.0.
func wholeNumber(s string) (int, string) {
	v, msg := number(s)
	if msg != "" {
		return 0, msg
	}
	if v != math.Trunc(v) {
		return 0, s + " is not a whole number"
	}
	if math.Abs(v) > 1e9 {
		return 0, s + " is out of range"
	}
	return int(v), ""
}

// int returns the whole number in col; present is false when the cell is empty.
func (c *cells) int(col string) (v int, present bool) {
	s := c.str(col)
	if s == "" {
		return 0, false
	}
	v, msg := wholeNumber(s)
	if msg != "" {
		c.fail(col, "%s", msg)
		return 0, false
	}
	return v, true
}

// bool reads true or false (also TRUE, 1 and 0, as spreadsheets write them); empty is false.
func (c *cells) bool(col string) bool {
	s := strings.ToLower(c.str(col))
	switch s {
	case "", "false", "0":
		return false
	case "true", "1":
		return true
	}
	c.fail(col, "%q is neither true nor false", c.str(col))
	return false
}

// list splits a cell of several values separated by spaces, commas or semicolons.
func list(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == ',' || r == ';' || r == '\t' || r == '\n' || r == '\r'
	})
}

// days reads a list of days such as "0 7 14".
func (c *cells) days(col string) []int {
	ds := []int{}
	for _, f := range list(c.str(col)) {
		d, msg := wholeNumber(f)
		if msg != "" {
			c.fail(col, "%s (days are whole numbers separated by spaces, such as 0 7 14)", msg)
			return ds
		}
		ds = append(ds, d)
	}
	return ds
}

// date reads a date written YYYY-MM-DD. In a workbook, a cell that Excel turned into a date
// holds a serial number, which is converted.
func (c *cells) date(col string) string {
	s := c.str(col)
	if c.sh.xlsx && s != "" && decimalRE.MatchString(s) {
		if v, err := strconv.ParseFloat(s, 64); err == nil && v >= 1 && v < 2958466 && v == math.Trunc(v) {
			if t, err := excelize.ExcelDateToTime(v, false); err == nil {
				return t.Format(time.DateOnly)
			}
		}
	}
	return s
}
