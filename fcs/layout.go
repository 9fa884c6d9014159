package fcs

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// storeKind is the Go type a column is kept in.
type storeKind uint8

const (
	kU8 storeKind = iota
	kU16
	kU32
	kU64
	kF32
	kF64
)

// byteOrder says how the bytes of a binary value are stored.
type byteOrder uint8

const (
	orderLE   byteOrder = iota // $BYTEORD/1,2,3,4/ and shorter ascending forms
	orderBE                    // $BYTEORD/4,3,2,1/ and shorter descending forms
	orderPerm                  // another permutation, e.g. 3,4,1,2 (FCS 2.0/3.0)
)

// colSpec is the layout of one parameter in an event.
type colSpec struct {
	kind   storeKind
	dtype  byte // 'I', 'F', 'D', 'A'
	width  int  // bytes (characters for ASCII) per value; 0 for free-format ASCII
	off    int  // offset of the value in an event
	order  byteOrder
	shifts []uint8 // orderPerm: stored byte k holds the bits at shifts[k]
	mask   uint64  // integers: next_power_of_two($PnR) - 1, limited to the width
}

// layout is the layout of the events of a DATA segment.
type layout struct {
	cols  []colSpec
	width int  // bytes per event (0 for free-format ASCII)
	free  bool // free-format ASCII ($PnB/*/)
}

// params reads the parameter keywords ($PnN, $PnS, $PnB, $PnR, $PnE, $PnG, $PnDATATYPE) and
// works out the event layout.
func (rd *reader) params(d *DataSet, kw keywords, par int) (layout, error) {
	var lay layout
	dk, ok := kw.get("$DATATYPE")
	if !ok {
		return lay, rd.errf("$DATATYPE", -1, "required keyword missing")
	}
	dt := strings.ToUpper(strings.TrimSpace(dk.Value))
	if len(dt) != 1 || !strings.Contains("IFDA", dt) {
		return lay, rd.errf(dk.Name, dk.Offset, "%q is not one of I, F, D, A", dk.Value)
	}
	fileType := dt[0]
	v32 := d.Version == "FCS3.2"

	d.Params = make([]Param, par)
	lay.cols = make([]colSpec, par)
	names := make(map[string]int, par)
	timeName := rd.opt.TimeChannel
	if timeName == "" {
		timeName = "Time"
	}
	timeFound := false
	freeCount := 0
	for i := range par {
		n := i + 1
		p := &d.Params[i]
		c := &lay.cols[i]
		p.N = n
		key := func(s string) string { return fmt.Sprintf("$P%d%s", n, s) }

		nk, ok := kw.get(key("N"))
		if !ok {
			return lay, rd.errf(key("N"), -1, "required keyword missing")
		}
		p.Name = strings.TrimSpace(nk.Value)
		if p.Name != nk.Value {
			rd.warn(nk.Name, nk.Offset, "name %q has surrounding spaces; trimmed", nk.Value)
		}
		if j, dup := names[p.Name]; dup {
			rd.warn(nk.Name, nk.Offset, "parameter name %q is also the name of parameter %d", p.Name, j)
		} else {
			names[p.Name] = n
		}
		if sk, ok := kw.get(key("S")); ok {
			p.Label = sk.Value
		}
		if !timeFound && strings.EqualFold(p.Name, timeName) {
			p.Time = true
			timeFound = true
		}

		// Data type.
		p.DataType = fileType
		if tk, ok := kw.get(key("DATATYPE")); ok {
			t := strings.ToUpper(strings.TrimSpace(tk.Value))
			switch {
			case !v32:
				rd.warn(tk.Name, tk.Offset, "$PnDATATYPE is an FCS 3.2 keyword; ignored in an %s file", d.Version)
			case len(t) != 1 || !strings.Contains("IFD", t):
				return lay, rd.errf(tk.Name, tk.Offset, "%q is not one of I, F, D", tk.Value)
			case fileType == 'A':
				return lay, rd.errf(tk.Name, tk.Offset, "$PnDATATYPE cannot be combined with $DATATYPE/A/")
			default:
				p.DataType = t[0]
			}
		}
		c.dtype = p.DataType

		// Bits.
		bk, ok := kw.get(key("B"))
		if !ok {
			return lay, rd.errf(key("B"), -1, "required keyword missing")
		}
		bs := strings.TrimSpace(bk.Value)
		if p.DataType == 'A' && bs == "*" {
			freeCount++
			p.Bits = 0
		} else {
			b, err := strconv.Atoi(bs)
			if err != nil || b <= 0 {
				return lay, rd.errf(bk.Name, bk.Offset, "%q is not a positive number of bits", bk.Value)
			}
			if bs != bk.Value {
				rd.warn(bk.Name, bk.Offset, "number %q padded with spaces", bk.Value)
			}
			p.Bits = b
		}

		// Range.
		rk, hasR := kw.get(key("R"))
		if hasR {
			s := rd.trimmed(rk)
			r, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(r) || math.IsInf(r, 0) {
				return lay, rd.errf(rk.Name, rk.Offset, "%q is not a number", rk.Value)
			}
			p.Range = r
		} else if p.DataType == 'I' {
			return lay, rd.errf(key("R"), -1, "required keyword missing (the bit mask of integer data comes from it)")
		} else {
			rd.warn(key("R"), -1, "required keyword missing; range 0 reported")
		}

		// Amplification.
		if ek, ok := kw.get(key("E")); ok {
			f1, f2, err := rd.amplification(ek)
			if err != nil {
				return lay, err
			}
			switch {
			case f1 == 0:
			case p.DataType == 'F' || p.DataType == 'D':
				rd.warn(ek.Name, ek.Offset, "log amplification %q on floating-point data is ignored", ek.Value)
			default:
				if f2 == 0 {
					f2 = 1 // "4,0" is invalid but common: read as 4,1 (flow.md 1.7)
				}
				if !(p.Range > 0) {
					return lay, rd.errf(ek.Name, ek.Offset, "log amplification needs a positive $PnR, got %g", p.Range)
				}
				p.LogDecades, p.LogZero = f1, f2
			}
		} else if d.Version != "FCS2.0" {
			rd.warn(key("E"), -1, "required keyword missing; the parameter is read as linear")
		}

		// Gain.
		p.Gain = 1
		if gk, ok := kw.get(key("G")); ok {
			s := rd.trimmed(gk)
			g, err := strconv.ParseFloat(s, 64)
			switch {
			case err != nil || math.IsNaN(g):
				return lay, rd.errf(gk.Name, gk.Offset, "%q is not a number", gk.Value)
			case !(g > 0) || math.IsInf(g, 0):
				rd.warn(gk.Name, gk.Offset, "gain %q is not positive and finite; 1 used", gk.Value)
			default:
				p.Gain = g
				if p.LogDecades > 0 && g != 1 && !p.Time {
					rd.warn(gk.Name, gk.Offset, "gain %g on a log-amplified parameter: divided after the log decoding (FCS 3.2 forbids the combination)", g)
				}
			}
		}

		if err := rd.colLayout(p, c, bk); err != nil {
			return lay, err
		}
	}
	if freeCount > 0 && freeCount < par {
		return lay, rd.errf("$P1B", -1, "free-format ASCII ($PnB/*/) must be used by every parameter, not %d of %d", freeCount, par)
	}
	lay.free = freeCount > 0
	if lay.free {
		return lay, nil
	}

	// Byte order of binary data.
	hasBinary := false
	for _, c := range lay.cols {
		if c.dtype != 'A' {
			hasBinary = true
		}
	}
	var order []int
	var ok2 bool
	var bok Keyword
	if hasBinary {
		bok, ok2 = kw.get("$BYTEORD")
		if !ok2 {
			return lay, rd.errf("$BYTEORD", -1, "required keyword missing")
		}
		var err error
		order, err = rd.byteOrd(bok)
		if err != nil {
			return lay, err
		}
	}
	mixed := false
	for _, c := range lay.cols {
		if c.dtype != 'A' && c.width != lay.cols[0].width {
			mixed = true
		}
	}
	off := 0
	for i := range lay.cols {
		c := &lay.cols[i]
		c.off = off
		off += c.width
		if c.dtype == 'A' {
			continue
		}
		if err := rd.orderFor(c, order, bok, mixed, d.Params[i].N); err != nil {
			return lay, err
		}
	}
	lay.width = off
	return lay, nil
}

// amplification parses $PnE "f1,f2".
func (rd *reader) amplification(k Keyword) (f1, f2 float64, err error) {
	parts := strings.Split(k.Value, ",")
	if len(parts) != 2 {
		return 0, 0, rd.errf(k.Name, k.Offset, "%q is not two numbers f1,f2", k.Value)
	}
	a, b := strings.TrimSpace(parts[0]), strings.TrimSpace(parts[1])
	if a != parts[0] || b != parts[1] {
		rd.warn(k.Name, k.Offset, "number %q padded with spaces", k.Value)
	}
	f1, err1 := strconv.ParseFloat(a, 64)
	f2, err2 := strconv.ParseFloat(b, 64)
	if err1 != nil || err2 != nil || !(f1 >= 0) || !(f2 >= 0) || math.IsInf(f1, 0) || math.IsInf(f2, 0) {
		return 0, 0, rd.errf(k.Name, k.Offset, "%q is not two non-negative numbers f1,f2", k.Value)
	}
	if f1 == 0 {
		return 0, 0, nil
	}
	return f1, f2, nil
}

// colLayout sets the width, storage and mask of a parameter.
func (rd *reader) colLayout(p *Param, c *colSpec, bk Keyword) error {
	switch p.DataType {
	case 'F':
		if p.Bits != 32 {
			return rd.errf(bk.Name, bk.Offset, "float data ($DATATYPE F) needs 32 bits, not %d", p.Bits)
		}
		c.kind, c.width = kF32, 4
	case 'D':
		if p.Bits != 64 {
			return rd.errf(bk.Name, bk.Offset, "double data ($DATATYPE D) needs 64 bits, not %d", p.Bits)
		}
		c.kind, c.width = kF64, 8
	case 'I':
		if p.Bits%8 != 0 || p.Bits > 64 {
			return rd.errf(bk.Name, bk.Offset, "%d-bit integers are not supported (only whole bytes, 8 to 64 bits; packed data was deprecated in FCS 3.2)", p.Bits)
		}
		c.width = p.Bits / 8
		switch {
		case c.width == 1:
			c.kind = kU8
		case c.width == 2:
			c.kind = kU16
		case c.width <= 4:
			c.kind = kU32
		default:
			c.kind = kU64
		}
		full := uint64(math.MaxUint64) >> (64 - p.Bits)
		c.mask = full
		if p.Range > 0 && p.Range < math.Ldexp(1, p.Bits) {
			r := uint64(math.Ceil(p.Range))
			if r <= 1 {
				c.mask = 0
			} else {
				c.mask = (uint64(1) << bits.Len64(r-1)) - 1
			}
		} else if !(p.Range > 0) {
			rd.warn(fmt.Sprintf("$P%dR", p.N), -1, "range %g is not positive; no bit mask applied", p.Range)
		}
	case 'A':
		if p.Bits == 0 {
			c.kind, c.width = kF64, 0
			return nil
		}
		if p.Bits > 20 {
			return rd.errf(bk.Name, bk.Offset, "ASCII fields of %d characters are not supported (at most 20)", p.Bits)
		}
		c.width = p.Bits
		switch {
		case c.width <= 2:
			c.kind = kU8
		case c.width <= 4:
			c.kind = kU16
		case c.width <= 9:
			c.kind = kU32
		default:
			c.kind = kU64
		}
	}
	return nil
}

// byteOrd parses $BYTEORD into a 1-based permutation.
func (rd *reader) byteOrd(k Keyword) ([]int, error) {
	parts := strings.Split(strings.TrimSpace(k.Value), ",")
	if len(parts) > 8 {
		return nil, rd.errf(k.Name, k.Offset, "%q has more than 8 bytes", k.Value)
	}
	order := make([]int, len(parts))
	seen := make([]bool, len(parts)+1)
	for i, s := range parts {
		v, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || v < 1 || v > len(parts) || seen[v] {
			return nil, rd.errf(k.Name, k.Offset, "%q is not a permutation of 1..%d", k.Value, len(parts))
		}
		seen[v] = true
		order[i] = v
	}
	return order, nil
}

// orderFor sets the byte order of a binary column from $BYTEORD. An ascending or descending
// order means little or big endian for any width (the FCS 3.1 meaning, also used for mixed
// widths); another permutation must have the column's width.
func (rd *reader) orderFor(c *colSpec, order []int, k Keyword, mixed bool, n int) error {
	asc, desc := true, true
	for i, v := range order {
		if v != i+1 {
			asc = false
		}
		if v != len(order)-i {
			desc = false
		}
	}
	switch {
	case asc:
		c.order = orderLE
	case desc:
		c.order = orderBE
	case len(order) == c.width && !mixed:
		c.order = orderPerm
		c.shifts = make([]uint8, c.width)
		for i, v := range order {
			c.shifts[i] = uint8(8 * (v - 1))
		}
	default:
		return rd.errf(k.Name, k.Offset, "byte order %q does not describe the %d-byte values of parameter %d", k.Value, c.width, n)
	}
	if c.width == 1 {
		c.order = orderLE
	}
	return nil
}
