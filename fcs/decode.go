package fcs

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"strconv"
	"sync"
)

// chunkBytes is the size of the buffer each worker reads the DATA segment into.
const chunkBytes = 1 << 20

// minParallelBytes is the DATA size below which one goroutine decodes everything.
const minParallelBytes = 4 << 20

// column holds the values of one parameter in its storage type; exactly one slice is set.
type column struct {
	kind storeKind
	u8   []uint8
	u16  []uint16
	u32  []uint32
	u64  []uint64
	f32  []float32
	f64  []float64
}

func newColumn(kind storeKind, n int) column {
	c := column{kind: kind}
	switch kind {
	case kU8:
		c.u8 = make([]uint8, n)
	case kU16:
		c.u16 = make([]uint16, n)
	case kU32:
		c.u32 = make([]uint32, n)
	case kU64:
		c.u64 = make([]uint64, n)
	case kF32:
		c.f32 = make([]float32, n)
	case kF64:
		c.f64 = make([]float64, n)
	}
	return c
}

// at returns value i as a float64.
func (c *column) at(i int) float64 {
	switch c.kind {
	case kU8:
		return float64(c.u8[i])
	case kU16:
		return float64(c.u16[i])
	case kU32:
		return float64(c.u32[i])
	case kU64:
		return float64(c.u64[i])
	case kF32:
		return float64(c.f32[i])
	default:
		return float64(c.f64[i])
	}
}

// toFloat converts the whole column into dst, which has its length.
func (c *column) toFloat(dst []float64) {
	switch c.kind {
	case kU8:
		for i, v := range c.u8[:len(dst)] {
			dst[i] = float64(v)
		}
	case kU16:
		for i, v := range c.u16[:len(dst)] {
			dst[i] = float64(v)
		}
	case kU32:
		for i, v := range c.u32[:len(dst)] {
			dst[i] = float64(v)
		}
	case kU64:
		for i, v := range c.u64[:len(dst)] {
			dst[i] = float64(v)
		}
	case kF32:
		for i, v := range c.f32[:len(dst)] {
			dst[i] = float64(v)
		}
	case kF64:
		copy(dst, c.f64)
	}
}

// decode reads the events of the data set described by m into its columns.
func (rd *reader) decode(m *meta) error {
	d := m.ds
	if m.lay.free {
		return rd.decodeFree(m)
	}
	d.cols = make([]column, len(m.lay.cols))
	for i, c := range m.lay.cols {
		d.cols[i] = newColumn(c.kind, d.Events)
	}
	if d.Events == 0 {
		return nil
	}
	workers := rd.opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if m.dataLen < minParallelBytes {
		workers = 1
	}
	// Each worker gets at least one chunk of events.
	workers = min(workers, max(int(m.dataLen/chunkBytes), 1), d.Events)
	if workers == 1 {
		return rd.decodeRange(m, 0, d.Events)
	}
	var wg sync.WaitGroup
	errs := make([]error, workers)
	per := (d.Events + workers - 1) / workers
	for w := range workers {
		lo, hi := w*per, min((w+1)*per, d.Events)
		if lo >= hi {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = rd.decodeRange(m, lo, hi)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// decodeRange decodes events [lo, hi) in chunks read with ReadAt.
func (rd *reader) decodeRange(m *meta, lo, hi int) error {
	stride := m.lay.width
	per := max(chunkBytes/stride, 1)
	buf := make([]byte, min(per, hi-lo)*stride)
	for e := lo; e < hi; e += per {
		k := min(per, hi-e)
		b := buf[:k*stride]
		off := m.data + int64(e)*int64(stride)
		if got, err := rd.r.ReadAt(b, off); err != nil && got < len(b) {
			if errors.Is(err, io.EOF) {
				return rd.errf("DATA", off, "the file ends inside the DATA segment")
			}
			e := rd.errf("DATA", off, "read failed: %v", err)
			e.err = err
			return e
		}
		for i := range m.lay.cols {
			if err := rd.decodeCol(&m.lay.cols[i], &m.ds.cols[i], b, e, k, stride, off, m.ds.Params[i].N); err != nil {
				return err
			}
		}
	}
	return nil
}

// decodeCol decodes parameter c of the k events in buf into column dst from event e0.
func (rd *reader) decodeCol(c *colSpec, dst *column, buf []byte, e0, k, stride int, fileOff int64, n int) error {
	off := c.off
	switch c.dtype {
	case 'F':
		out := dst.f32[e0 : e0+k]
		switch c.order {
		case orderBE:
			decodeF32BE(out, buf, off, stride)
		case orderLE:
			decodeF32LE(out, buf, off, stride)
		default:
			for i := range out {
				out[i] = math.Float32frombits(uint32(permuted(buf[off:off+4], c.shifts)))
				off += stride
			}
		}
	case 'D':
		out := dst.f64[e0 : e0+k]
		switch c.order {
		case orderBE:
			for i := range out {
				out[i] = math.Float64frombits(binary.BigEndian.Uint64(buf[off:]))
				off += stride
			}
		case orderLE:
			for i := range out {
				out[i] = math.Float64frombits(binary.LittleEndian.Uint64(buf[off:]))
				off += stride
			}
		default:
			for i := range out {
				out[i] = math.Float64frombits(permuted(buf[off:off+8], c.shifts))
				off += stride
			}
		}
	case 'I':
		decodeInt(c, dst, buf, e0, k, stride)
	case 'A':
		for i := range k {
			field := buf[off : off+c.width]
			v, ok := parseASCIIUint(field)
			if !ok {
				return rd.errf("DATA", fileOff+int64(off), "ASCII value %q of parameter %d, event %d, is not an unsigned integer", printable(field), n, e0+i+1)
			}
			switch c.kind {
			case kU8:
				dst.u8[e0+i] = uint8(v)
			case kU16:
				dst.u16[e0+i] = uint16(v)
			case kU32:
				dst.u32[e0+i] = uint32(v)
			default:
				dst.u64[e0+i] = v
			}
			off += stride
		}
	}
	return nil
}

// parseASCIIUint parses a fixed-width ASCII integer field, allowing spaces around it (an
// all-space field is 0).
func parseASCIIUint(b []byte) (uint64, bool) {
	var v uint64
	i := 0
	for i < len(b) && b[i] == ' ' {
		i++
	}
	digits := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		v = v*10 + uint64(b[i]-'0') // at most 20 digits of 20-wide fields; overflow checked below
		digits++
	}
	for ; i < len(b); i++ {
		if b[i] != ' ' {
			return 0, false
		}
	}
	if digits == 20 {
		// Only 20-digit numbers can overflow a uint64: recheck them exactly.
		s := string(b)
		u, err := strconv.ParseUint(trimSpaces(s), 10, 64)
		return u, err == nil
	}
	return v, true
}

func trimSpaces(s string) string {
	for len(s) > 0 && s[0] == ' ' {
		s = s[1:]
	}
	for len(s) > 0 && s[len(s)-1] == ' ' {
		s = s[:len(s)-1]
	}
	return s
}

// permuted assembles an unsigned value from bytes stored in a permuted order.
func permuted(b []byte, shifts []uint8) uint64 {
	var u uint64
	for i, s := range shifts {
		u |= uint64(b[i]) << s
	}
	return u
}

func decodeF32BE(out []float32, buf []byte, off, stride int) {
	for i := range out {
		out[i] = math.Float32frombits(binary.BigEndian.Uint32(buf[off:]))
		off += stride
	}
}

func decodeF32LE(out []float32, buf []byte, off, stride int) {
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[off:]))
		off += stride
	}
}

// decodeInt decodes an integer column and applies its bit mask.
func decodeInt(c *colSpec, dst *column, buf []byte, e0, k, stride int) {
	off := c.off
	mask := c.mask
	switch {
	case c.kind == kU8:
		out := dst.u8[e0 : e0+k]
		m := uint8(mask)
		for i := range out {
			out[i] = buf[off] & m
			off += stride
		}
	case c.kind == kU16 && c.order == orderBE:
		out := dst.u16[e0 : e0+k]
		m := uint16(mask)
		for i := range out {
			out[i] = binary.BigEndian.Uint16(buf[off:]) & m
			off += stride
		}
	case c.kind == kU16 && c.order == orderLE:
		out := dst.u16[e0 : e0+k]
		m := uint16(mask)
		for i := range out {
			out[i] = binary.LittleEndian.Uint16(buf[off:]) & m
			off += stride
		}
	case c.width == 4 && c.order == orderBE:
		out := dst.u32[e0 : e0+k]
		m := uint32(mask)
		for i := range out {
			out[i] = binary.BigEndian.Uint32(buf[off:]) & m
			off += stride
		}
	case c.width == 4 && c.order == orderLE:
		out := dst.u32[e0 : e0+k]
		m := uint32(mask)
		for i := range out {
			out[i] = binary.LittleEndian.Uint32(buf[off:]) & m
			off += stride
		}
	default:
		// Any width and order, one byte at a time.
		shifts := c.shifts
		if c.order != orderPerm {
			shifts = make([]uint8, c.width)
			for j := range shifts {
				if c.order == orderLE {
					shifts[j] = uint8(8 * j)
				} else {
					shifts[j] = uint8(8 * (c.width - 1 - j))
				}
			}
		}
		for i := range k {
			u := permuted(buf[off:off+c.width], shifts) & mask
			switch c.kind {
			case kU16:
				dst.u16[e0+i] = uint16(u)
			case kU32:
				dst.u32[e0+i] = uint32(u)
			default:
				dst.u64[e0+i] = u
			}
			off += stride
		}
	}
}

// decodeFree reads free-format ASCII data: values separated by runs of spaces, tabs, commas,
// CRs or LFs, parameter after parameter, event after event.
func (rd *reader) decodeFree(m *meta) error {
	d := m.ds
	par := len(d.Params)
	want := -1
	if d.Events >= 0 {
		want = d.Events * par
	}
	vals := make([][]float64, par)
	if want >= 0 {
		for i := range vals {
			vals[i] = make([]float64, 0, d.Events)
		}
	}
	br := bufio.NewReaderSize(io.NewSectionReader(rd.r, m.data, m.dataLen), 64<<10)
	var tok []byte
	count := 0
	pos := m.data
	tokStart := pos
	flush := func() error {
		if len(tok) == 0 {
			return nil
		}
		v, err := strconv.ParseFloat(string(tok), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return rd.errf("DATA", tokStart, "ASCII value %q of parameter %d, event %d, is not a number", printable(tok), count%par+1, count/par+1)
		}
		vals[count%par] = append(vals[count%par], v)
		count++
		tok = tok[:0]
		return nil
	}
	for want < 0 || count < want {
		c, err := br.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			e := rd.errf("DATA", pos, "read failed: %v", err)
			e.err = err
			return e
		}
		switch c {
		case ' ', '\t', ',', '\r', '\n':
			if err := flush(); err != nil {
				return err
			}
		default:
			if len(tok) == 0 {
				tokStart = pos
			}
			if len(tok) >= 64 {
				return rd.errf("DATA", tokStart, "ASCII value of parameter %d, event %d, is longer than 64 characters", count%par+1, count/par+1)
			}
			tok = append(tok, c)
		}
		pos++
	}
	if want < 0 || count < want {
		if err := flush(); err != nil {
			return err
		}
	}
	events := count / par
	if want >= 0 && count < want {
		if !rd.opt.AllowOffsetMismatch {
			return rd.errf("$TOT", -1, "the free-format ASCII DATA holds %d values, fewer than $TOT x $PAR = %d (Options.AllowOffsetMismatch reads the events present)", count, want)
		}
		rd.warn("$TOT", -1, "the free-format ASCII DATA holds %d values, fewer than $TOT x $PAR = %d; %d events read", count, want, events)
	}
	if want < 0 && count%par != 0 {
		rd.warn("DATA", -1, "%d values do not make whole events of %d parameters; the last %d are ignored", count, par, count%par)
	}
	d.Events = events
	d.cols = make([]column, par)
	for i := range vals {
		d.cols[i] = column{kind: kF64, f64: vals[i][:events:events]}
	}
	return nil
}

// String describes a column layout, for test failure messages.
func (c colSpec) String() string {
	return fmt.Sprintf("%c%d@%d order=%d mask=%#x", c.dtype, c.width, c.off, c.order, c.mask)
}
