package fcs

import (
	"strconv"
	"strings"
)

// headerSize is the length of the fixed part of a HEADER: version, spaces and six offsets.
const headerSize = 58

// segment is a byte range [begin, end] relative to a data set's HEADER, end inclusive.
type segment struct {
	begin, end int64
}

// empty reports a segment given as 0,0 (or with an end before its begin, as in 0,-1).
func (s segment) empty() bool { return s.begin == 0 && s.end == 0 || s.end < s.begin }

func (s segment) len() int64 {
	if s.empty() {
		return 0
	}
	return s.end - s.begin + 1
}

type header struct {
	version        string
	text, data, an segment
}

// parseHeader parses the 58 bytes of a HEADER found at file offset base.
func (rd *reader) parseHeader(b []byte, base int64) (header, error) {
	var h header
	v := string(b[:6])
	switch v {
	case "FCS2.0", "FCS3.0", "FCS3.1", "FCS3.2":
	default:
		if strings.HasPrefix(v, "FCS") {
			return h, rd.errf("HEADER", base, "version %q is not supported (FCS 2.0, 3.0, 3.1 and 3.2 are)", printable(b[:6]))
		}
		return h, rd.errf("HEADER", base, "not an FCS file: it starts with %q, not \"FCS\"", printable(b[:6]))
	}
	h.version = v
	var f [6]int64
	for i := range f {
		off := 10 + 8*i
		field := strings.TrimSpace(string(b[off : off+8]))
		if field == "" {
			f[i] = 0
			if i >= 4 {
				// Blank ANALYSIS offsets (coulter.lmd) mean no ANALYSIS segment.
				continue
			}
			rd.warn("HEADER", base+int64(off), "blank offset field read as 0")
			continue
		}
		n, err := strconv.ParseInt(field, 10, 64)
		if err != nil {
			return h, rd.errf("HEADER", base+int64(off), "offset field %q is not a number", printable(b[off:off+8]))
		}
		f[i] = n
	}
	h.text = segment{f[0], f[1]}
	h.data = segment{f[2], f[3]}
	h.an = segment{f[4], f[5]}
	return h, nil
}

// printable quotes bytes for an error message, keeping it short.
func printable(b []byte) string {
	if len(b) > 40 {
		b = b[:40]
	}
	s, _ := decodeValue(b)
	return s
}
