package fcs

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// File describes an FCS 3.1 list-mode file to write: its parameters, data type, spillover and
// further keywords. The writer produces the layout keywords itself ($BEGINDATA, $ENDDATA,
// $BYTEORD, $DATATYPE, $MODE, $NEXTDATA, $PAR, $TOT, the STEXT and ANALYSIS offsets and, per
// parameter, $PnB, $PnE, $PnN, $PnR, $PnS, $PnG).
type File struct {
	Params []WriteParam
	// DataType is 'F' (float32, the default when 0) or 'D' (float64).
	DataType byte
	// BigEndian writes $BYTEORD/4,3,2,1/; the default is little-endian, $BYTEORD/1,2,3,4/.
	BigEndian bool
	// Spill, when not nil, is written as $SPILLOVER.
	Spill *Spillover
	// Keywords are written after the standard ones, in order (e.g. $CYT, $DATE, $TIMESTEP).
	// Keywords the writer produces itself, empty names and empty values are refused.
	Keywords []Keyword
}

// WriteParam describes one parameter of a file to write.
type WriteParam struct {
	Name  string  // $PnN, required
	Label string  // $PnS, omitted when empty
	Range float64 // $PnR; 0 writes 262144
	Gain  float64 // $PnG, omitted when 0 or 1
}

// Source gives the writer its events.
type Source interface {
	// Len returns the number of events.
	Len() int
	// Column fills dst with the values of parameter ch for events [start, start+len(dst)).
	// The writer asks for blocks in order: every parameter of one block, then the next block.
	Column(ch, start int, dst []float64)
}

// Columns is a Source of in-memory columns, one slice per parameter, all of one length.
type Columns [][]float64

// Len returns the length of the first column (0 when there are none).
func (c Columns) Len() int {
	if len(c) == 0 {
		return 0
	}
	return len(c[0])
}

// Column copies the values of column ch.
func (c Columns) Column(ch, start int, dst []float64) { copy(dst, c[ch][start:]) }

// writeBlock is the number of events the writer encodes at a time.
const writeBlock = 4096

// offsetDigits is the fixed width of the zero-padded offsets in TEXT (flow.md 1.11), so that
// the TEXT length does not depend on the offsets it holds.
const offsetDigits = 20

// reserved are the keywords the writer produces itself.
var reserved = []string{"$BEGINANALYSIS", "$ENDANALYSIS", "$BEGINSTEXT", "$ENDSTEXT", "$BEGINDATA", "$ENDDATA",
	"$BYTEORD", "$DATATYPE", "$MODE", "$NEXTDATA", "$PAR", "$TOT", "$SPILLOVER", "SPILL", "$SPILL", "$COMP"}

// isParamKeyword reports whether name is $PnB, $PnE, $PnN, $PnR, $PnS, $PnG or $PnDATATYPE.
func isParamKeyword(name string) bool {
	u := upperASCII(name)
	if !strings.HasPrefix(u, "$P") {
		return false
	}
	i := 2
	for i < len(u) && u[i] >= '0' && u[i] <= '9' {
		i++
	}
	if i == 2 {
		return false
	}
	switch u[i:] {
	case "B", "E", "N", "R", "S", "G", "DATATYPE":
		return true
	}
	return false
}

// Write writes f and the events of src as an FCS 3.1 file: HEADER, TEXT, DATA and a CRC
// field of "00000000" (not computed). Offsets in TEXT are zero-padded to 20 digits; a DATA
// segment that ends past byte 99,999,999 gets 0 in the HEADER (flow.md 1.11). Float data is
// written with $PnE/0,0/.
func Write(w io.Writer, f *File, src Source) error {
	dt := f.DataType
	if dt == 0 {
		dt = 'F'
	}
	if dt != 'F' && dt != 'D' {
		return fmt.Errorf("fcs: write: DataType %q is not F or D", dt)
	}
	par := len(f.Params)
	if par == 0 {
		return errors.New("fcs: write: no parameters")
	}
	events := src.Len()
	if events < 0 {
		return errors.New("fcs: write: negative number of events")
	}
	size := 4
	if dt == 'D' {
		size = 8
	}
	dataLen := int64(events) * int64(par) * int64(size)

	// Keywords, with placeholders for the offsets.
	var kws [][2]string
	add := func(k, v string) { kws = append(kws, [2]string{k, v}) }
	pad := func(n int64) string { return fmt.Sprintf("%0*d", offsetDigits, n) }
	add("$BEGINANALYSIS", "0")
	add("$ENDANALYSIS", "0")
	add("$BEGINSTEXT", "0")
	add("$ENDSTEXT", "0")
	add("$BEGINDATA", pad(0))
	add("$ENDDATA", pad(0))
	if f.BigEndian {
		add("$BYTEORD", "4,3,2,1")
	} else {
		add("$BYTEORD", "1,2,3,4")
	}
	add("$DATATYPE", string(dt))
	add("$MODE", "L")
	add("$NEXTDATA", "0")
	add("$PAR", strconv.Itoa(par))
	add("$TOT", strconv.Itoa(events))
	seen := map[string]bool{}
	for i, p := range f.Params {
		n := i + 1
		if p.Name == "" {
			return fmt.Errorf("fcs: write: parameter %d has no name", n)
		}
		if seen[p.Name] {
			return fmt.Errorf("fcs: write: parameter name %q is used twice", p.Name)
		}
		seen[p.Name] = true
		r := p.Range
		if r == 0 {
			r = 262144
		}
		if !(r > 0) || math.IsInf(r, 0) {
			return fmt.Errorf("fcs: write: parameter %q: range %g is not positive and finite", p.Name, p.Range)
		}
		add(fmt.Sprintf("$P%dB", n), strconv.Itoa(8*size))
		add(fmt.Sprintf("$P%dE", n), "0,0")
		add(fmt.Sprintf("$P%dN", n), p.Name)
		add(fmt.Sprintf("$P%dR", n), formatFloat(r))
		if p.Label != "" {
			add(fmt.Sprintf("$P%dS", n), p.Label)
		}
		if p.Gain != 0 && p.Gain != 1 {
			if !(p.Gain > 0) || math.IsInf(p.Gain, 0) {
				return fmt.Errorf("fcs: write: parameter %q: gain %g is not positive and finite", p.Name, p.Gain)
			}
			add(fmt.Sprintf("$P%dG", n), formatFloat(p.Gain))
		}
	}
	if cols, ok := src.(Columns); ok {
		if len(cols) != par {
			return fmt.Errorf("fcs: write: %d columns for %d parameters", len(cols), par)
		}
		for i, c := range cols {
			if len(c) != events {
				return fmt.Errorf("fcs: write: column %d holds %d values, column 1 %d", i+1, len(c), events)
			}
		}
	}
	if f.Spill != nil {
		v, err := spillValue(f.Spill)
		if err != nil {
			return err
		}
		add("$SPILLOVER", v)
	}
	names := map[string]bool{}
	for _, k := range kws {
		names[upperASCII(k[0])] = true
	}
	for _, k := range f.Keywords {
		u := upperASCII(strings.TrimSpace(k.Name))
		switch {
		case u == "":
			return errors.New("fcs: write: a keyword has an empty name")
		case k.Value == "":
			return fmt.Errorf("fcs: write: keyword %s has an empty value (FCS 3.1 forbids empty values)", k.Name)
		case names[u] || isParamKeyword(u):
			return fmt.Errorf("fcs: write: keyword %s is written by the writer itself", k.Name)
		}
		for _, r := range reserved {
			if u == r {
				return fmt.Errorf("fcs: write: keyword %s is written by the writer itself", k.Name)
			}
		}
		names[u] = true
		add(strings.TrimSpace(k.Name), k.Value)
	}

	delim := chooseDelimiter(kws)
	text := buildText(kws, delim)
	textEnd := int64(headerSize + len(text) - 1)
	if textEnd > 99_999_999 {
		return errors.New("fcs: write: the TEXT segment would end past byte 99,999,999")
	}
	dataBegin := textEnd + 1
	dataEnd := dataBegin + dataLen - 1
	if dataLen == 0 {
		dataBegin, dataEnd = 0, 0
	}
	// The offsets have a fixed width, so the TEXT keeps its length.
	kws[4][1], kws[5][1] = pad(dataBegin), pad(dataEnd)
	text = buildText(kws, delim)

	hd := [2]int64{dataBegin, dataEnd}
	if dataEnd > 99_999_999 {
		hd = [2]int64{0, 0}
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	fmt.Fprintf(bw, "FCS3.1    %8d%8d%8d%8d%8d%8d", headerSize, textEnd, hd[0], hd[1], 0, 0)
	bw.Write(text)

	var order binary.ByteOrder = binary.LittleEndian
	if f.BigEndian {
		order = binary.BigEndian
	}
	block := make([]float64, writeBlock)
	out := make([]byte, writeBlock*par*size)
	for start := 0; start < events; start += writeBlock {
		k := min(writeBlock, events-start)
		stride := par * size
		for ch := range par {
			vals := block[:k]
			src.Column(ch, start, vals)
			off := ch * size
			if size == 4 {
				for _, v := range vals {
					order.PutUint32(out[off:], math.Float32bits(float32(v)))
					off += stride
				}
			} else {
				for _, v := range vals {
					order.PutUint64(out[off:], math.Float64bits(v))
					off += stride
				}
			}
		}
		if _, err := bw.Write(out[:k*stride]); err != nil {
			return fmt.Errorf("fcs: write: %w", err)
		}
	}
	bw.WriteString("00000000")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("fcs: write: %w", err)
	}
	return nil
}

// formatFloat writes a number in the shortest form that reads back exactly.
func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// spillValue formats a spillover as "n,names...,values...".
func spillValue(s *Spillover) (string, error) {
	n := len(s.Names)
	if len(s.Matrix) != n {
		return "", fmt.Errorf("fcs: write: spillover has %d names and %d rows", n, len(s.Matrix))
	}
	parts := []string{strconv.Itoa(n)}
	for _, name := range s.Names {
		if name == "" || strings.Contains(name, ",") {
			return "", fmt.Errorf("fcs: write: spillover detector name %q is empty or holds a comma", name)
		}
		parts = append(parts, name)
	}
	for i, row := range s.Matrix {
		if len(row) != n {
			return "", fmt.Errorf("fcs: write: spillover row %d has %d values, want %d", i+1, len(row), n)
		}
		for _, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return "", fmt.Errorf("fcs: write: spillover row %d holds %g", i+1, v)
			}
			parts = append(parts, formatFloat(v))
		}
	}
	return strings.Join(parts, ","), nil
}

// chooseDelimiter picks a delimiter that occurs in no keyword or value, so that nothing needs
// escaping; when every candidate occurs, '/' is used and escaped by doubling.
func chooseDelimiter(kws [][2]string) byte {
	for _, c := range []byte{'/', '|', '\\', '\f', '^', '~', '!', '\x1e'} {
		ok := true
		for _, kv := range kws {
			if strings.IndexByte(kv[0], c) >= 0 || strings.IndexByte(kv[1], c) >= 0 {
				ok = false
				break
			}
		}
		if ok {
			return c
		}
	}
	return '/'
}

// buildText writes the TEXT segment: the delimiter, then keyword, delimiter, value, delimiter
// for each keyword, with any delimiter inside a word doubled.
func buildText(kws [][2]string, delim byte) []byte {
	d := string(delim)
	var b bytes.Buffer
	b.WriteByte(delim)
	for _, kv := range kws {
		b.WriteString(strings.ReplaceAll(kv[0], d, d+d))
		b.WriteByte(delim)
		b.WriteString(strings.ReplaceAll(kv[1], d, d+d))
		b.WriteByte(delim)
	}
	return b.Bytes()
}

// WriteDataSet exports events of d (all when events is nil, else those indices in the given
// order, e.g. a gated population) as an FCS 3.1 file of dataType 'F' (float32, the default
// when 0) or 'D' (float64). Every parameter is written as its scale values with $PnE/0,0/ and
// no $PnG, except the time channel, which keeps its stored values and $TIMESTEP, so that the
// written file's Scale values equal d's (rounded to float32 for 'F'). $PnR becomes the scale
// value of the stored range. The spillover is written as $SPILLOVER, and the other keywords
// of d (instrument, date, vendor keywords) are copied.
func WriteDataSet(w io.Writer, d *DataSet, events []int, dataType byte) error {
	for _, e := range events {
		if e < 0 || e >= d.Events {
			return fmt.Errorf("fcs: write: event %d out of range [0, %d)", e, d.Events)
		}
	}
	f := &File{DataType: dataType, Spill: d.Spill}
	for _, p := range d.Params {
		r := p.Range
		switch {
		case p.Time:
		case p.LogDecades > 0:
			r = p.LogZero * math.Pow(10, p.LogDecades)
		case p.Gain != 1:
			r /= p.Gain
		}
		if !(r > 0) || math.IsInf(r, 0) {
			r = 262144
		}
		f.Params = append(f.Params, WriteParam{Name: p.Name, Label: p.Label, Range: r})
	}
	skip := map[string]bool{"$TIMESTEP": true}
	for _, r := range reserved {
		skip[r] = true
	}
	for _, k := range d.kw.list {
		u := upperASCII(k.Name)
		if skip[u] || isParamKeyword(u) || k.Value == "" {
			continue
		}
		f.Keywords = append(f.Keywords, Keyword{Name: k.Name, Value: k.Value})
	}
	if d.timestep != 1 {
		f.Keywords = append(f.Keywords, Keyword{Name: "$TIMESTEP", Value: formatFloat(d.timestep)})
	}
	return Write(w, f, &dataSetSource{d: d, events: events})
}

// dataSetSource serves the scale values (stored values for the time channel) of a subset of
// a data set's events.
type dataSetSource struct {
	d      *DataSet
	events []int
}

func (s *dataSetSource) Len() int {
	if s.events == nil {
		return s.d.Events
	}
	return len(s.events)
}

func (s *dataSetSource) Column(ch, start int, dst []float64) {
	d := s.d
	p := &d.Params[ch]
	c := &d.cols[ch]
	for i := range dst {
		e := start + i
		if s.events != nil {
			e = s.events[e]
		}
		x := c.at(e)
		switch {
		case p.LogDecades > 0:
			x = p.LogZero * math.Pow(10, p.LogDecades*x/p.Range)
			if !p.Time && p.Gain != 1 {
				x /= p.Gain
			}
		case p.Time:
		case p.Gain != 1:
			x /= p.Gain
		}
		dst[i] = x
	}
}
