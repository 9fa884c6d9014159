// Package fcs reads flow-cytometry data files in FCS 2.0, 3.0, 3.1 and 3.2 and writes FCS 3.1
// (flow.md section 1).
//
// Read parses one data set of a file into a DataSet: its keywords (ordered, case-insensitive),
// its parameters, its spillover matrix and its events, kept column by column in their stored
// width (float32 columns for $DATATYPE/F/, uint8/16/32/64 for integers, float64 for D and A).
// Raw returns a channel's stored values after the $PnR bit mask; Scale returns its scale values
// (flow.md 1.7), the values Gating-ML gates apply to: log-amplified integers decoded with
// $PnE (an f2 of 0 read as 1), linear channels divided by $PnG, and the time channel multiplied
// by $TIMESTEP and never divided by its $PnG. *DataSet satisfies the gating package's Sample
// interface (Names, Len, Scale, SpilloverMatrix).
//
// The reader is strict where the standard is clear and lenient where real instruments are
// known to break it: the quirks flow.md lists (disagreeing HEADER and TEXT offsets when one of
// them fits $TOT x event width, an $ENDDATA one byte too far, padded numbers, empty values
// written as two delimiters, TEXT padding, a missing $PnE, a blank or junk $TIMESTEP,
// duplicate keywords, a supplemental TEXT that is the primary TEXT again, Millipore's
// $NEXTDATA) are accepted and reported as Warnings; anything else is an *Error naming the
// keyword and the byte offset at fault, and the Options repair the common remaining cases.
// No input panics the reader, and a file cannot make it allocate much more than its own size:
// $TOT x event width is checked against the DATA segment before any column is allocated.
//
// The DATA segment is decoded in chunks read with ReadAt, never held whole in memory next to
// the columns, and the events can be split between several goroutines (Options.Workers).
//
// Write writes an FCS 3.1 file of float32 or float64 data from any Source (Columns for plain
// slices), WriteDataSet exports a subset of a data set's events (a gated population), and
// WriteSynthetic writes the synthetic benchmark file used across CLINK's benchmarks.
package fcs

import (
	"fmt"
	"strings"
)

// Options selects the data set and the repairs a reader may apply (flow.md 1.2-1.9). The zero
// value reads the first data set with no repairs.
type Options struct {
	DataSet                int    // 0-based index of the data set to read
	UseHeaderOffsets       bool   // when HEADER and TEXT DATA offsets disagree, trust HEADER
	IgnoreTextOffsets      bool   // ignore $BEGINDATA/$ENDDATA etc. (flowCore ignore.text.offset)
	AllowOffsetMismatch    bool   // accept a DATA segment whose length disagrees with $TOT x width
	IgnoreSupplementalText bool   // do not read the supplemental TEXT segment
	TimeChannel            string // name of the time channel, case-insensitive; "" means "Time"

	// IgnoreSpillover skips $SPILLOVER, SPILL, $SPILL and $COMP, so that a file whose matrix
	// cannot be parsed still reads (Spill is then nil).
	IgnoreSpillover bool
	// Workers is the number of goroutines that decode the DATA segment: 0 means
	// runtime.GOMAXPROCS(0), 1 decodes on the calling goroutine. Small segments always use one.
	Workers int
}

// DataSet is one data set of an FCS file: its keywords, parameters and events.
type DataSet struct {
	Version     string     // "FCS2.0", "FCS3.0", "FCS3.1", "FCS3.2"
	Index       int        // which data set of the file (0-based)
	NumDataSets int        // how many data sets the file holds ($NEXTDATA chain)
	Params      []Param    // in parameter order
	Events      int        // $TOT (fewer only when Options.AllowOffsetMismatch cut a short segment)
	Spill       *Spillover // $SPILLOVER, SPILL or $SPILL (or $COMP turned into a spillover); nil when none
	Warnings    []Warning  // quirks accepted (flow.md), in the order met

	// Offset is the byte offset of this data set's HEADER in the file.
	Offset int64

	kw       keywords
	cols     []column
	timestep float64 // multiplier of the time channel's scale values
}

// Param describes one parameter (channel) of a data set.
type Param struct {
	N           int     // 1-based parameter number
	Name, Label string  // $PnN, $PnS
	Bits        int     // $PnB; 0 for free-format ASCII ($PnB/*/)
	Range       float64 // $PnR
	DataType    byte    // 'I', 'F', 'D' or 'A' ($DATATYPE, or $PnDATATYPE in FCS 3.2)
	LogDecades  float64 // $PnE f1; 0 when linear
	LogZero     float64 // $PnE f2 (an f2 of 0 is read as 1 when f1 > 0); 0 when linear
	Gain        float64 // $PnG, 1 when absent
	Time        bool    // this is the time channel
}

// Spillover is a spillover matrix: row i is the fluorochrome primarily measured in detector
// Names[i]; column j is detector Names[j], so Matrix[i][j] is the fraction of fluorochrome i's
// signal seen in detector j (flow.md 1.8).
type Spillover struct {
	Names  []string
	Matrix [][]float64
}

// Warning reports a quirk the reader accepted.
type Warning struct {
	Keyword string // the keyword or segment concerned ("HEADER", "TEXT", "$ENDDATA", ...)
	Offset  int64  // byte offset in the file, -1 when not about a byte
	Message string
}

// String formats the warning like an Error.
func (w Warning) String() string {
	return format(w.Keyword, w.Offset, w.Message)
}

// Error is a reason a data set cannot be read.
type Error struct {
	DataSet int    // 0-based index of the data set
	Keyword string // the keyword or segment at fault ("HEADER", "TEXT", "DATA", "$PAR", ...)
	Offset  int64  // byte offset in the file; -1 when not about a byte
	Message string

	err error // underlying I/O error, if any
}

// Error formats the error as `fcs: data set 0: $PAR: "x" is not a number (byte 312)`.
func (e *Error) Error() string {
	return fmt.Sprintf("fcs: data set %d: %s", e.DataSet, format(e.Keyword, e.Offset, e.Message))
}

// Unwrap returns the I/O error behind e, if any.
func (e *Error) Unwrap() error { return e.err }

func format(keyword string, offset int64, msg string) string {
	var b strings.Builder
	if keyword != "" {
		b.WriteString(keyword)
		b.WriteString(": ")
	}
	b.WriteString(msg)
	if offset >= 0 {
		fmt.Fprintf(&b, " (byte %d)", offset)
	}
	return b.String()
}

// Keyword is one TEXT keyword and its value.
type Keyword struct {
	Name  string // as written in the file
	Value string // UTF-8; bytes that are not valid UTF-8 are read as Latin-1
	// Latin1 reports that the value was not valid UTF-8 and was decoded as Latin-1, so each
	// rune of Value below 256 is one byte of the file.
	Latin1 bool
	// Offset is the byte offset of the value in the file (-1 for keywords not from a file).
	Offset int64
}

// Keyword returns the value of the keyword name, compared case-insensitively.
func (d *DataSet) Keyword(name string) (string, bool) {
	k, ok := d.kw.get(name)
	return k.Value, ok
}

// Keywords returns all keywords in file order: the primary TEXT, then what the supplemental
// TEXT added.
func (d *DataSet) Keywords() []Keyword {
	return append([]Keyword(nil), d.kw.list...)
}

// Channel returns the index of the parameter whose $PnN is name (exact match).
func (d *DataSet) Channel(name string) (int, bool) {
	for i, p := range d.Params {
		if p.Name == name {
			return i, true
		}
	}
	return -1, false
}

// Names returns the $PnN of every parameter, in order.
func (d *DataSet) Names() []string {
	out := make([]string, len(d.Params))
	for i, p := range d.Params {
		out[i] = p.Name
	}
	return out
}

// Len returns the number of events.
func (d *DataSet) Len() int { return d.Events }

// TimeStep returns the factor applied to the time channel's scale values ($TIMESTEP, or 1).
func (d *DataSet) TimeStep() float64 { return d.timestep }

// SpilloverMatrix returns a copy of the data set's spillover matrix and its detector names;
// ok is false when the file has none.
func (d *DataSet) SpilloverMatrix() (detectors []string, m [][]float64, ok bool) {
	if d.Spill == nil {
		return nil, nil, false
	}
	detectors = append([]string(nil), d.Spill.Names...)
	m = make([][]float64, len(d.Spill.Matrix))
	for i, row := range d.Spill.Matrix {
		m[i] = append([]float64(nil), row...)
	}
	return detectors, m, true
}
