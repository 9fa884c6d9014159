package fcs

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// fileSpec describes a hand-made FCS data set for the tests, written by layout(): HEADER,
// TEXT, DATA, optionally a supplemental TEXT after the DATA, laid out byte by byte so that
// the tests control every offset (this builder is independent of the package's writer).
type fileSpec struct {
	version string      // "FCS3.1" when ""
	delim   byte        // '/' when 0
	kw      [][2]string // keywords in order; a delimiter inside is doubled unless rawWords
	// rawWords writes keywords and values without escaping.
	rawWords bool
	data     []byte
	// noTextOffsets leaves out $BEGINDATA/$ENDDATA (and the other 3.x offset keywords).
	noTextOffsets bool
	// textData adjusts the $BEGINDATA/$ENDDATA values; hdrData the HEADER DATA fields.
	textData, hdrData func(b, e int64) (int64, int64)
	textTail          []byte      // bytes after the final TEXT delimiter, inside the TEXT segment
	stext             [][2]string // supplemental TEXT keywords, placed after the DATA
	nextData          int64       // $NEXTDATA (0 when none)
	dataFirst         bool        // put DATA before TEXT (coulter.lmd's second data set)
}

// bytes lays the data set out.
func (s fileSpec) bytes() []byte {
	version := s.version
	if version == "" {
		version = "FCS3.1"
	}
	delim := s.delim
	if delim == 0 {
		delim = '/'
	}
	v3 := version != "FCS2.0" && !s.noTextOffsets
	esc := func(w string) string {
		if s.rawWords {
			return w
		}
		return strings.ReplaceAll(w, string(delim), string(delim)+string(delim))
	}
	text := func(kw [][2]string, dataB, dataE, stB, stE int64) []byte {
		var b bytes.Buffer
		b.WriteByte(delim)
		put := func(k, v string) {
			b.WriteString(esc(k))
			b.WriteByte(delim)
			b.WriteString(esc(v))
			b.WriteByte(delim)
		}
		if kw != nil && v3 {
			put("$BEGINDATA", fmt.Sprintf("%020d", dataB))
			put("$ENDDATA", fmt.Sprintf("%020d", dataE))
			put("$BEGINSTEXT", fmt.Sprintf("%020d", stB))
			put("$ENDSTEXT", fmt.Sprintf("%020d", stE))
			put("$NEXTDATA", fmt.Sprintf("%020d", s.nextData))
		} else if kw != nil && s.nextData != 0 {
			put("$NEXTDATA", fmt.Sprintf("%020d", s.nextData))
		}
		for _, kv := range kw {
			put(kv[0], kv[1])
		}
		return b.Bytes()
	}
	var st []byte
	if s.stext != nil {
		st = text(nil, 0, 0, 0, 0)
		for _, kv := range s.stext {
			st = append(st, esc(kv[0])+string(delim)+esc(kv[1])+string(delim)...)
		}
	}
	tlen := int64(len(text(s.kw, 0, 0, 0, 0)) + len(s.textTail))
	dlen := int64(len(s.data))
	var tb, db int64 = headerSize, headerSize + tlen
	if s.dataFirst {
		db, tb = headerSize, headerSize+dlen
	}
	te, de := tb+tlen-1, db+dlen-1
	if dlen == 0 {
		db, de = 0, 0
	}
	var sb, se int64
	if st != nil {
		sb = max(te, db+dlen-1) + 1
		se = sb + int64(len(st)) - 1
	}
	tdb, tde := db, de
	if s.textData != nil {
		tdb, tde = s.textData(db, de)
	}
	hdb, hde := db, de
	if s.hdrData != nil {
		hdb, hde = s.hdrData(db, de)
	}
	t := append(text(s.kw, tdb, tde, sb, se), s.textTail...)
	var out bytes.Buffer
	fmt.Fprintf(&out, "%-10s%8d%8d%8d%8d%8d%8d", version, tb, te, hdb, hde, 0, 0)
	if s.dataFirst {
		out.Write(s.data)
		out.Write(t)
	} else {
		out.Write(t)
		out.Write(s.data)
	}
	out.Write(st)
	return out.Bytes()
}

// params returns the keywords of n parameters named P1..Pn with the given bits and range.
func params(n int, bits, rng string) [][2]string {
	var kw [][2]string
	for i := 1; i <= n; i++ {
		kw = append(kw,
			[2]string{fmt.Sprintf("$P%dN", i), fmt.Sprintf("P%d", i)},
			[2]string{fmt.Sprintf("$P%dB", i), bits},
			[2]string{fmt.Sprintf("$P%dR", i), rng},
			[2]string{fmt.Sprintf("$P%dE", i), "0,0"})
	}
	return kw
}

// kws concatenates keyword lists.
func kws(lists ...[][2]string) [][2]string {
	var out [][2]string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// kv builds a keyword list from name, value pairs.
func kv(pairs ...string) [][2]string {
	var out [][2]string
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, [2]string{pairs[i], pairs[i+1]})
	}
	return out
}

// readBytes reads a data set from memory.
func readBytes(b []byte, opt Options) (*DataSet, error) {
	return Read(bytes.NewReader(b), int64(len(b)), opt)
}

// sparseFile is an io.ReaderAt of a large size that holds a few byte ranges and zeros
// elsewhere, to test offsets past 99,999,999 without a 100 MB buffer.
type sparseFile struct {
	size  int64
	parts []sparsePart
}

type sparsePart struct {
	off int64
	b   []byte
}

func (s *sparseFile) ReadAt(p []byte, off int64) (int, error) {
	if off >= s.size {
		return 0, io.EOF
	}
	n := len(p)
	if int64(n) > s.size-off {
		n = int(s.size - off)
	}
	clear(p[:n])
	for _, part := range s.parts {
		lo := max(off, part.off)
		hi := min(off+int64(n), part.off+int64(len(part.b)))
		if lo < hi {
			copy(p[lo-off:hi-off], part.b[lo-part.off:hi-part.off])
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
