// Package exchange imports and exports CLINK's records as CSV files or one XLSX workbook, so
// that a laboratory can move its data between CLINK databases or edit it in a spreadsheet.
//
// There is one table per kind of record: sites, components, protocols, protocol_components,
// donors, cultures, observations, assays and assay_readings. A CSV file carries one table and is
// named after it ("observations.csv"); a workbook carries one sheet per table. Records refer to
// each other by natural keys (site code, component name, protocol name and version, donor code,
// culture code, and an assay key of the import's own), so that exporting a database and
// importing the files into an empty one reproduces the data.
//
// Import is all or nothing: it parses every cell of every file, checks every reference against
// the files and the database, reports every problem with its file, line and column, and writes
// only when there is none, in one transaction of the store.
package exchange

import (
	"encoding/csv"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// File is one file offered to Import: a CSV file named after its table ("observations.csv") or
// a workbook ("data.xlsx") whose sheets are named after tables.
type File struct {
	Name string
	Data []byte
}

// DefaultMaxRows is the number of data rows one import accepts when Options.MaxRows is zero.
const DefaultMaxRows = 100_000

// Options tune an import.
type Options struct {
	// DryRun validates and writes everything inside the transaction, then rolls it back: it
	// finds exactly the problems a real import would find and changes nothing.
	DryRun bool
	// MaxRows bounds the number of data rows across all files; 0 means DefaultMaxRows.
	MaxRows int
}

// Report says what an import wrote (or, for a dry run, would have written).
type Report struct {
	// Counts maps a table name to the number of rows created from it.
	Counts map[string]int
	// Skipped maps a table name to the number of rows that were already in the database with
	// the same content (sites, components and protocol versions) and so were not created again.
	Skipped map[string]int
	DryRun  bool
}

// Problem is one thing wrong with the input: where it is and what is wrong.
type Problem struct {
	// File names the file, or for a workbook the sheet: "book.xlsx[observations]".
	File string
	// Row is the line of the file (the header is line 1), or the row of the sheet; 0 when the
	// problem concerns the whole file.
	Row int
	// Column is the header name of the cell at fault, or "" when the problem is the row's.
	Column  string
	Message string
}

// String formats the problem as "observations.csv:14: viability_pct: 134 is above 100".
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Row > 0 {
		b.WriteString(":")
		b.WriteString(strconv.Itoa(p.Row))
	}
	b.WriteString(": ")
	if p.Column != "" {
		b.WriteString(p.Column)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// ImportError is returned by Import when any file, row or cell is wrong; nothing was written.
type ImportError struct {
	Problems []Problem
}

// Error lists the problems, one per line.
func (e *ImportError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// errDryRun is returned from inside the transaction of a dry run so that the store rolls back.
var errDryRun = errors.New("exchange: dry run")

// Table names, in the order their records are written: each table refers only to tables
// before it.
const (
	TableSites              = "sites"
	TableComponents         = "components"
	TableProtocols          = "protocols"
	TableProtocolComponents = "protocol_components"
	TableDonors             = "donors"
	TableCultures           = "cultures"
	TableObservations       = "observations"
	TableAssays             = "assays"
	TableAssayReadings      = "assay_readings"
)

// Tables lists the table names in dependency order.
var Tables = []string{
	TableSites, TableComponents, TableProtocols, TableProtocolComponents, TableDonors,
	TableCultures, TableObservations, TableAssays, TableAssayReadings,
}

func tableIndex(name string) int {
	for i, t := range Tables {
		if t == name {
			return i
		}
	}
	return -1
}

// problems collects Problems while an import is checked.
type problems struct {
	list []Problem
}

// addCSV records an error of the CSV reader on file, at the line and column it names.
func (ps *problems) addCSV(file string, err error) {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		ps.add(file, pe.Line, "", "cannot be read as CSV (column %d): %v", pe.Column, pe.Err)
		return
	}
	ps.add(file, 0, "", "cannot be read as CSV: %v", err)
}

func (ps *problems) add(file string, row int, column, format string, args ...any) {
	ps.list = append(ps.list, Problem{File: file, Row: row, Column: column, Message: fmt.Sprintf(format, args...)})
}
