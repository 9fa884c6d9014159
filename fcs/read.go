package fcs

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"strconv"
	"strings"
)

// ReadFile reads one data set of the FCS file at path (see Read).
func ReadFile(path string, opt Options) (*DataSet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return Read(f, st.Size(), opt)
}

// Read reads data set opt.DataSet of the FCS file r of size bytes. It follows the $NEXTDATA
// chain to count the data sets (guarding against loops, negative and out-of-file offsets) and
// decodes only the selected one. Errors are *Error values, except errors of r itself, which
// an *Error wraps.
func Read(r io.ReaderAt, size int64, opt Options) (*DataSet, error) {
	rd := &reader{r: r, size: size, opt: opt}
	if opt.DataSet < 0 {
		return nil, rd.errf("", -1, "Options.DataSet %d is negative", opt.DataSet)
	}
	visited := map[int64]bool{}
	var target *meta
	var chainWarnings []Warning
	count := 0
	base := int64(0)
	for i := 0; ; i++ {
		rd.ds = i
		rd.warnings = nil
		visited[base] = true
		var m *meta
		var err error
		if i == opt.DataSet {
			m, err = rd.parseDataSet(base)
		} else {
			m, err = rd.parseChainLink(base)
		}
		if err != nil {
			if i <= opt.DataSet {
				return nil, err
			}
			chainWarnings = append(chainWarnings, Warning{Keyword: "$NEXTDATA", Offset: base,
				Message: fmt.Sprintf("data set %d at byte %d cannot be read and is not counted: %v", i, base, err)})
			break
		}
		count = i + 1
		if i == opt.DataSet {
			target = m
			target.ds.Warnings = rd.warnings
		}
		if m.next == 0 {
			break
		}
		nb := base + m.next // cannot overflow once the first two cases are excluded
		stop := ""
		switch {
		case m.next < -base:
			stop = fmt.Sprintf("$NEXTDATA %d points before the start of the file", m.next)
		case m.next > size-headerSize-base:
			stop = fmt.Sprintf("$NEXTDATA %d points past the end of the file (size %d)", m.next, size)
		case visited[nb]:
			stop = fmt.Sprintf("$NEXTDATA %d leads back to the data set at byte %d (a loop)", m.next, nb)
		default:
			var magic [3]byte
			if n, _ := r.ReadAt(magic[:], nb); n < len(magic) || string(magic[:]) != "FCS" {
				stop = fmt.Sprintf("$NEXTDATA %d points at byte %d, where no FCS HEADER starts", m.next, nb)
				if m.dataEnd >= 0 && m.next == m.dataEnd+1 {
					stop += " ($NEXTDATA = $ENDDATA + 1, as Millipore writes it)"
				}
			}
		}
		if stop != "" {
			if i < opt.DataSet {
				return nil, rd.errf("$NEXTDATA", m.nextOff, "data set %d does not exist: %s", opt.DataSet, stop)
			}
			chainWarnings = append(chainWarnings, Warning{Keyword: "$NEXTDATA", Offset: m.nextOff, Message: stop + "; taken as the last data set"})
			break
		}
		base = nb
	}
	if target == nil {
		return nil, &Error{DataSet: opt.DataSet, Keyword: "$NEXTDATA", Offset: -1,
			Message: fmt.Sprintf("data set %d does not exist: the file holds %d", opt.DataSet, count)}
	}
	d := target.ds
	d.NumDataSets = count
	d.Warnings = append(d.Warnings, chainWarnings...)
	rd.ds = opt.DataSet
	rd.warnings = d.Warnings
	if err := rd.decode(target); err != nil {
		return nil, err
	}
	d.Warnings = rd.warnings
	return d, nil
}

// reader carries the state of one Read.
type reader struct {
	r        io.ReaderAt
	size     int64
	opt      Options
	ds       int // data set being parsed, for errors
	warnings []Warning
}

func (rd *reader) errf(keyword string, off int64, format string, args ...any) *Error {
	return &Error{DataSet: rd.ds, Keyword: keyword, Offset: off, Message: fmt.Sprintf(format, args...)}
}

func (rd *reader) warn(keyword string, off int64, format string, args ...any) {
	rd.warnings = append(rd.warnings, Warning{Keyword: keyword, Offset: off, Message: fmt.Sprintf(format, args...)})
}

// readSegment reads the absolute byte range [off, off+n) that must lie inside the file.
func (rd *reader) readSegment(what string, off, n int64) ([]byte, error) {
	if off < 0 || n < 0 || off > rd.size || n > rd.size-off {
		return nil, rd.errf(what, off, "segment of %d bytes at byte %d lies beyond the end of the file (size %d)", n, off, rd.size)
	}
	b := make([]byte, n)
	if got, err := rd.r.ReadAt(b, off); err != nil && got < len(b) {
		if errors.Is(err, io.EOF) {
			return nil, rd.errf(what, off, "file ends inside the segment of %d bytes at byte %d", n, off)
		}
		e := rd.errf(what, off, "read failed: %v", err)
		e.err = err
		return nil, e
	}
	return b, nil
}

// meta is a parsed data set before its events are decoded.
type meta struct {
	ds      *DataSet
	next    int64 // $NEXTDATA
	nextOff int64 // file offset of the $NEXTDATA value, -1 when absent
	dataEnd int64 // relative end of DATA, -1 when unknown (for Millipore's $NEXTDATA)
	lay     layout
	data    int64 // absolute offset of the first event
	dataLen int64 // bytes of DATA to decode (free-format ASCII: the whole segment)
}

// readHeaderAndText reads the HEADER at base and its primary TEXT.
func (rd *reader) readHeaderAndText(base int64) (header, []byte, int64, error) {
	if base < 0 || rd.size-base < headerSize {
		return header{}, nil, 0, rd.errf("HEADER", base, "the file ends after %d bytes, inside the %d-byte HEADER", max(rd.size-base, 0), headerSize)
	}
	hb, err := rd.readSegment("HEADER", base, headerSize)
	if err != nil {
		return header{}, nil, 0, err
	}
	h, err := rd.parseHeader(hb, base)
	if err != nil {
		return h, nil, 0, err
	}
	if h.text.empty() {
		return h, nil, 0, rd.errf("HEADER", base+10, "no TEXT segment (offsets %d,%d)", h.text.begin, h.text.end)
	}
	if h.text.begin < 0 {
		return h, nil, 0, rd.errf("HEADER", base+10, "TEXT offset %d is negative", h.text.begin)
	}
	if h.text.len() < 2 {
		return h, nil, 0, rd.errf("HEADER", base+10, "TEXT segment %d-%d holds fewer than 2 bytes", h.text.begin, h.text.end)
	}
	tb := base + h.text.begin
	text, err := rd.readSegment("TEXT", tb, h.text.len())
	if err != nil {
		return h, nil, 0, err
	}
	return h, text, tb, nil
}

// parseChainLink parses a data set that is not the one asked for, just enough to find
// $NEXTDATA.
func (rd *reader) parseChainLink(base int64) (*meta, error) {
	h, text, tb, err := rd.readHeaderAndText(base)
	if err != nil {
		return nil, err
	}
	kw, _, err := rd.parseText(text, tb, false)
	if err != nil {
		if kw2, _, err2 := rd.parseText(text, tb, true); err2 == nil {
			kw, err = kw2, nil
		}
	}
	if err != nil {
		return nil, err
	}
	m := &meta{dataEnd: -1}
	rd.nextData(&m.next, &m.nextOff, kw)
	m.dataEnd = h.data.end
	return m, nil
}

func (rd *reader) nextData(next, off *int64, kw keywords) {
	*off = -1
	k, ok := kw.get("$NEXTDATA")
	if !ok {
		return
	}
	*off = k.Offset
	s := strings.TrimSpace(k.Value)
	if s == "" {
		return
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		rd.warn("$NEXTDATA", k.Offset, "%q is not a number; taken as 0 (no further data set)", k.Value)
		return
	}
	*next = n
}

// parseDataSet parses the HEADER, TEXT and supplemental TEXT of the data set at base and works
// out its parameters and the layout of its DATA segment. The TEXT is tokenized strictly
// first; when that gives a keyword containing a delimiter or a data set that does not build,
// it is read again with doubled delimiters as empty values (flow.md 1.3).
func (rd *reader) parseDataSet(base int64) (*meta, error) {
	h, text, tb, err := rd.readHeaderAndText(base)
	if err != nil {
		return nil, err
	}
	mark := len(rd.warnings)
	kw, suspicious, err := rd.parseText(text, tb, false)
	var m *meta
	if err == nil {
		m, err = rd.build(h, base, kw)
	}
	if err == nil && !suspicious {
		return m, nil
	}
	strictWarnings := append([]Warning(nil), rd.warnings[mark:]...)
	rd.warnings = rd.warnings[:mark]
	kw2, _, err2 := rd.parseText(text, tb, true)
	var m2 *meta
	if err2 == nil {
		m2, err2 = rd.build(h, base, kw2)
	}
	if err2 == nil {
		w := Warning{Keyword: "TEXT", Offset: tb, Message: "read with doubled delimiters as empty values (as FCS 2.0 writers such as CellQuest write them)"}
		rd.warnings = append(rd.warnings[:mark], append([]Warning{w}, rd.warnings[mark:]...)...)
		return m2, nil
	}
	rd.warnings = append(rd.warnings[:mark], strictWarnings...)
	if err == nil {
		return m, nil
	}
	return nil, err
}

// parseText turns a TEXT segment into keywords. suspicious reports a keyword that contains a
// delimiter, the mark of empty values read strictly.
func (rd *reader) parseText(seg []byte, base int64, emptyValues bool) (kw keywords, suspicious bool, err error) {
	words, padded := tokenize(seg, base, emptyValues)
	if padded {
		rd.warn("TEXT", base+int64(len(seg))-1, "padding (spaces or NULs) after the final delimiter ignored")
	}
	if len(words)%2 == 1 {
		last := words[len(words)-1]
		if last.terminated {
			return kw, false, rd.errf("TEXT", last.off, "odd number of words: keyword %q has no value", printable(last.b))
		}
		rd.warn("TEXT", last.off, "%d bytes after the final delimiter ignored", len(last.b))
		words = words[:len(words)-1]
	} else if len(words) > 0 && !words[len(words)-1].terminated {
		rd.warn("TEXT", words[len(words)-1].off, "the TEXT does not end with its delimiter")
	}
	if len(words) == 0 {
		return kw, false, rd.errf("TEXT", base, "no keywords")
	}
	kw.list = make([]Keyword, 0, len(words)/2)
	for i := 0; i+1 < len(words); i += 2 {
		k, v := words[i], words[i+1]
		name, _ := decodeValue(k.b)
		name = strings.TrimSpace(name)
		if name == "" {
			return kw, false, rd.errf("TEXT", k.off, "empty keyword")
		}
		if k.hasDelim {
			suspicious = true
		}
		val, latin := decodeValue(v.b)
		if !kw.add(Keyword{Name: name, Value: val, Latin1: latin, Offset: v.off}) {
			rd.warn(name, v.off, "duplicate keyword; the first value is kept")
		}
	}
	return kw, suspicious, nil
}

// mergeSupplemental reads the supplemental TEXT named by $BEGINSTEXT/$ENDSTEXT and adds its
// keywords; the primary TEXT wins a clash (flow.md 1.4).
func (rd *reader) mergeSupplemental(h header, base int64, kw *keywords) error {
	if rd.opt.IgnoreSupplementalText || h.version == "FCS2.0" {
		return nil
	}
	bk, okb := kw.get("$BEGINSTEXT")
	ek, oke := kw.get("$ENDSTEXT")
	if !okb || !oke {
		return nil
	}
	b, err1 := strconv.ParseInt(strings.TrimSpace(bk.Value), 10, 64)
	e, err2 := strconv.ParseInt(strings.TrimSpace(ek.Value), 10, 64)
	if err1 != nil || err2 != nil {
		if strings.TrimSpace(bk.Value) == "" && strings.TrimSpace(ek.Value) == "" {
			return nil
		}
		return rd.errf("$BEGINSTEXT", bk.Offset, "supplemental TEXT offsets %q,%q are not numbers (Options.IgnoreSupplementalText skips them)", bk.Value, ek.Value)
	}
	s := segment{b, e}
	if s.empty() {
		return nil
	}
	if s == h.text {
		rd.warn("$BEGINSTEXT", bk.Offset, "the supplemental TEXT is the primary TEXT (%d-%d); not read twice", b, e)
		return nil
	}
	if s.len() < 2 || b < 0 {
		return rd.errf("$BEGINSTEXT", bk.Offset, "supplemental TEXT segment %d-%d is invalid (Options.IgnoreSupplementalText skips it)", b, e)
	}
	seg, err := rd.readSegment("$BEGINSTEXT", base+b, s.len())
	if err != nil {
		err.(*Error).Message += " (Options.IgnoreSupplementalText skips it)"
		return err
	}
	skw, suspicious, err := rd.parseText(seg, base+b, false)
	if err != nil || suspicious {
		if skw2, _, err2 := rd.parseText(seg, base+b, true); err2 == nil {
			skw, err = skw2, nil
		}
	}
	if err != nil {
		return err
	}
	for _, k := range skw.list {
		if old, ok := kw.get(k.Name); ok {
			if old.Value != k.Value {
				rd.warn(k.Name, k.Offset, "supplemental TEXT value %q clashes with the primary TEXT's %q; the primary is kept", k.Value, old.Value)
			}
			continue
		}
		kw.add(k)
	}
	return nil
}

// num parses a numeric keyword value, trimming spaces (with a warning) and accepting leading
// zeros.
func (rd *reader) num(kw keywords, name string) (float64, Keyword, bool, error) {
	k, ok := kw.get(name)
	if !ok {
		return 0, k, false, nil
	}
	s := rd.trimmed(k)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, k, true, rd.errf(k.Name, k.Offset, "%q is not a number", k.Value)
	}
	return v, k, true, nil
}

// integer parses a non-negative integer keyword value.
func (rd *reader) integer(kw keywords, name string) (int64, Keyword, bool, error) {
	k, ok := kw.get(name)
	if !ok {
		return 0, k, false, nil
	}
	s := rd.trimmed(k)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, k, true, rd.errf(k.Name, k.Offset, "%q is not an integer", k.Value)
	}
	if v < 0 {
		return 0, k, true, rd.errf(k.Name, k.Offset, "%d is negative", v)
	}
	return v, k, true, nil
}

func (rd *reader) trimmed(k Keyword) string {
	s := strings.TrimSpace(k.Value)
	if len(s) != len(k.Value) && s != "" {
		rd.warn(k.Name, k.Offset, "number %q padded with spaces", k.Value)
	}
	return s
}

// build works out the parameters, the spillover and the DATA layout of a data set from its
// keywords.
func (rd *reader) build(h header, base int64, kw keywords) (*meta, error) {
	if err := rd.mergeSupplemental(h, base, &kw); err != nil {
		return nil, err
	}
	d := &DataSet{Version: h.version, Index: rd.ds, Offset: base, kw: kw, timestep: 1}
	m := &meta{ds: d, dataEnd: h.data.end}
	rd.nextData(&m.next, &m.nextOff, kw)

	if mk, ok := kw.get("$MODE"); ok {
		if mode := strings.ToUpper(strings.TrimSpace(mk.Value)); mode != "L" {
			return nil, rd.errf(mk.Name, mk.Offset, "mode %q is not supported (only list mode L; histogram modes C and U were deprecated in FCS 3.1)", mk.Value)
		}
	}
	par, pk, ok, err := rd.integer(kw, "$PAR")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, rd.errf("$PAR", -1, "required keyword missing")
	}
	if par == 0 {
		return nil, rd.errf(pk.Name, pk.Offset, "no parameters")
	}
	if par > int64(len(kw.list)) {
		return nil, rd.errf(pk.Name, pk.Offset, "%d parameters but only %d keywords to describe them", par, len(kw.list))
	}
	lay, err := rd.params(d, kw, int(par))
	if err != nil {
		return nil, err
	}
	m.lay = lay

	if err := rd.timeStep(d, kw); err != nil {
		return nil, err
	}
	if !rd.opt.IgnoreSpillover {
		if err := rd.spillover(d, kw); err != nil {
			return nil, err
		}
	}
	if err := rd.dataSegment(h, base, kw, m); err != nil {
		return nil, err
	}
	return m, nil
}

// timeStep finds the time channel's multiplier.
func (rd *reader) timeStep(d *DataSet, kw keywords) error {
	k, ok := kw.get("$TIMESTEP")
	if !ok {
		return nil
	}
	s := strings.TrimSpace(k.Value)
	v, err := strconv.ParseFloat(s, 64)
	if s == "" || err != nil || !(v > 0) || math.IsInf(v, 0) {
		rd.warn(k.Name, k.Offset, "%q is not a positive number; time step 1 used", k.Value)
		return nil
	}
	if len(s) != len(k.Value) {
		rd.warn(k.Name, k.Offset, "number %q padded with spaces", k.Value)
	}
	d.timestep = v
	return nil
}

// dataSegment chooses the DATA segment from the HEADER and TEXT offsets and checks it against
// $TOT x event width (flow.md 1.2).
func (rd *reader) dataSegment(h header, base int64, kw keywords, m *meta) error {
	d := m.ds
	tot, tk, hasTot, err := rd.integer(kw, "$TOT")
	if err != nil {
		return err
	}
	if !hasTot && h.version != "FCS2.0" {
		return rd.errf("$TOT", -1, "required keyword missing")
	}
	width := int64(m.lay.width)
	want := int64(-1) // bytes the events need; -1 when unknown
	if hasTot && !m.lay.free {
		hi, lo := bits.Mul64(uint64(tot), uint64(width))
		if hi != 0 || lo > math.MaxInt64 {
			want = math.MaxInt64
		} else {
			want = int64(lo)
		}
	}

	// Candidate segments.
	hdr := h.data
	var txt segment
	hasTxt := false
	txtOff := int64(-1)
	if h.version != "FCS2.0" && !rd.opt.IgnoreTextOffsets {
		bk, okb := kw.get("$BEGINDATA")
		ek, oke := kw.get("$ENDDATA")
		if okb && oke {
			b, err1 := strconv.ParseInt(strings.TrimSpace(bk.Value), 10, 64)
			e, err2 := strconv.ParseInt(strings.TrimSpace(ek.Value), 10, 64)
			switch {
			case err1 != nil:
				if hdr.empty() {
					return rd.errf(bk.Name, bk.Offset, "%q is not a number", bk.Value)
				}
				rd.warn(bk.Name, bk.Offset, "%q is not a number; HEADER offsets used", bk.Value)
			case err2 != nil:
				if hdr.empty() {
					return rd.errf(ek.Name, ek.Offset, "%q is not a number", ek.Value)
				}
				rd.warn(ek.Name, ek.Offset, "%q is not a number; HEADER offsets used", ek.Value)
			default:
				txt, hasTxt, txtOff = segment{b, e}, true, bk.Offset
				rd.trimmed(bk)
				rd.trimmed(ek)
			}
		}
	}
	inFile := func(s segment) bool {
		return s.begin >= 0 && base+s.begin <= rd.size && s.len() <= rd.size-base-s.begin
	}
	fits := func(s segment) bool {
		if want < 0 || !inFile(s) {
			return false
		}
		n := s.len()
		return n == want || n == want+1
	}
	exact := func(s segment) bool { return want >= 0 && inFile(s) && s.len() == want }

	seg, from, fromOff := hdr, "HEADER", base+26
	switch {
	case !hasTxt:
	case rd.opt.UseHeaderOffsets && !hdr.empty():
	case hdr == txt:
		from, fromOff = "$BEGINDATA", txtOff
		seg = txt
	case hdr.begin == 0 && hdr.end == 0:
		// The 99,999,999 rule: the HEADER says 0 and the TEXT has the offsets.
		seg, from, fromOff = txt, "$BEGINDATA", txtOff
	case txt.empty() && txt.begin == 0:
		rd.warn("$BEGINDATA", txtOff, "TEXT DATA offsets are %d,%d; HEADER offsets %d-%d used", txt.begin, txt.end, hdr.begin, hdr.end)
	default:
		fh, ft := fits(hdr), fits(txt)
		switch {
		case ft && (!fh || exact(txt) || !exact(hdr)):
			seg, from, fromOff = txt, "$BEGINDATA", txtOff
			rd.warn("$BEGINDATA", txtOff, "HEADER DATA offsets %d-%d disagree with TEXT offsets %d-%d; the TEXT ones fit $TOT x event width (%d bytes) and are used", hdr.begin, hdr.end, txt.begin, txt.end, want)
		case fh:
			rd.warn("$BEGINDATA", txtOff, "TEXT DATA offsets %d-%d disagree with HEADER offsets %d-%d; the HEADER ones fit $TOT x event width (%d bytes) and are used", txt.begin, txt.end, hdr.begin, hdr.end, want)
		case want < 0:
			seg, from, fromOff = txt, "$BEGINDATA", txtOff
			rd.warn("$BEGINDATA", txtOff, "HEADER DATA offsets %d-%d disagree with TEXT offsets %d-%d; the TEXT ones are used", hdr.begin, hdr.end, txt.begin, txt.end)
		case rd.opt.AllowOffsetMismatch:
			seg, from, fromOff = txt, "$BEGINDATA", txtOff
			rd.warn("$BEGINDATA", txtOff, "HEADER DATA offsets %d-%d and TEXT offsets %d-%d disagree and neither holds $TOT x event width = %d bytes; the TEXT start is used (AllowOffsetMismatch)", hdr.begin, hdr.end, txt.begin, txt.end, want)
		default:
			return rd.errf("$BEGINDATA", txtOff, "HEADER DATA offsets %d-%d and TEXT offsets %d-%d disagree and neither holds $TOT x event width = %d bytes (Options.UseHeaderOffsets or AllowOffsetMismatch repairs this)", hdr.begin, hdr.end, txt.begin, txt.end, want)
		}
	}
	if seg.begin < 0 {
		return rd.errf(from, fromOff, "DATA offset %d is negative", seg.begin)
	}
	m.dataEnd = seg.end
	n := seg.len()
	abs := base + seg.begin

	if m.lay.free {
		if !inFile(seg) {
			return rd.errf(from, fromOff, "DATA segment %d-%d lies beyond the end of the file (size %d)", seg.begin, seg.end, rd.size)
		}
		if hasTot {
			// Every value takes at least one character and one separator, except the last.
			hi, lo := bits.Mul64(uint64(tot), uint64(len(d.Params)))
			if hi != 0 || lo > uint64(n+1)/2 {
				if !rd.opt.AllowOffsetMismatch {
					return rd.errf(tk.Name, tk.Offset, "%d events x %d values cannot fit in the %d bytes of free-format ASCII DATA (Options.AllowOffsetMismatch reads what is there)", tot, len(d.Params), n)
				}
				rd.warn(tk.Name, tk.Offset, "%d events x %d values cannot fit in the %d bytes of DATA; the events present are read", tot, len(d.Params), n)
				tot = int64(uint64(n+1) / 2 / uint64(len(d.Params)))
			}
			d.Events = int(tot)
		} else {
			d.Events = -1
		}
		m.data, m.dataLen = abs, n
		return nil
	}

	if !hasTot {
		// FCS 2.0 without $TOT: the segment says how many events there are.
		if !inFile(seg) {
			return rd.errf(from, fromOff, "DATA segment %d-%d lies beyond the end of the file (size %d)", seg.begin, seg.end, rd.size)
		}
		tot = n / width
		if n%width != 0 {
			rd.warn("$TOT", -1, "missing; the DATA segment of %d bytes holds %d events of %d bytes and %d bytes more", n, tot, width, n%width)
		} else {
			rd.warn("$TOT", -1, "missing; %d events read from the DATA segment length", tot)
		}
		want = tot * width
		n = want
	} else {
		totName, totOff := tk.Name, tk.Offset
		switch {
		case n == want:
		case n == want+1:
			rd.warn(endName(from), fromOff, "the DATA segment %d-%d is one byte longer than $TOT x event width = %d bytes; the extra byte is ignored", seg.begin, seg.end, want)
			n = want
		case rd.opt.AllowOffsetMismatch:
			rd.warn(totName, totOff, "the DATA segment %d-%d holds %d bytes but $TOT x event width = %d x %d = %d bytes; read from the segment start (AllowOffsetMismatch)", seg.begin, seg.end, n, tot, width, want)
			n = want
		default:
			return rd.errf(totName, totOff, "$TOT x event width = %d x %d bytes = %d bytes, but the DATA segment %d-%d (from %s) holds %d bytes (Options.AllowOffsetMismatch reads it anyway)", tot, width, want, seg.begin, seg.end, from, n)
		}
		if abs > rd.size || n > rd.size-abs {
			avail := max(rd.size-abs, 0)
			if !rd.opt.AllowOffsetMismatch {
				return rd.errf(totName, totOff, "the file is truncated: $TOT x event width = %d bytes from byte %d, but the file ends after %d bytes of DATA (size %d; Options.AllowOffsetMismatch reads the events present)", want, abs, avail, rd.size)
			}
			tot = avail / width
			rd.warn(totName, totOff, "the file is truncated: only %d of %d events are present", tot, want/width)
			n = tot * width
		}
	}
	d.Events = int(tot)
	m.data, m.dataLen = abs, n
	return nil
}

// endName names the keyword (or HEADER) that gave the end of the DATA segment.
func endName(from string) string {
	if from == "HEADER" {
		return "HEADER"
	}
	return "$ENDDATA"
}
