package fcs

import (
	"strings"
	"unicode/utf8"
)

// keywords is an ordered keyword store with case-insensitive look-up.
type keywords struct {
	list  []Keyword
	index map[string]int // upper-cased name -> position in list
}

func (k *keywords) get(name string) (Keyword, bool) {
	i, ok := k.index[upperASCII(name)]
	if !ok {
		return Keyword{}, false
	}
	return k.list[i], true
}

// add appends kw unless a keyword of that name is already stored; it reports whether kw was
// added.
func (k *keywords) add(kw Keyword) bool {
	if k.index == nil {
		k.index = make(map[string]int)
	}
	u := upperASCII(kw.Name)
	if _, dup := k.index[u]; dup {
		return false
	}
	k.index[u] = len(k.list)
	k.list = append(k.list, kw)
	return true
}

func upperASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'a' <= c && c <= 'z' {
			return strings.ToUpper(s)
		}
	}
	return s
}

// word is one keyword or value of a TEXT segment.
type word struct {
	b          []byte
	off        int64 // file offset of the word's first byte
	terminated bool  // ended by a delimiter (not by the end of the segment)
	hasDelim   bool  // contains a literal (doubled) delimiter
}

// tokenize splits a TEXT segment (first byte the delimiter) into words. In strict mode a
// doubled delimiter inside a word is one literal delimiter [FCS3.0 3.2.9]; with emptyValues
// every delimiter ends a word, so a doubled delimiter is an empty word (flow.md 1.3). base is
// the file offset of seg[0]. Trailing spaces and NULs after the final delimiter are cut first;
// padded reports that some were.
func tokenize(seg []byte, base int64, emptyValues bool) (words []word, padded bool) {
	if len(seg) < 2 {
		return nil, false
	}
	delim := seg[0]
	end := len(seg)
	for end > 1 && (seg[end-1] == ' ' || seg[end-1] == 0) && seg[end-1] != delim {
		end--
	}
	padded = end < len(seg)
	body := seg[1:end]
	var cur []byte // the word so far, when it holds a literal delimiter
	start, begin := 0, 0
	hasDelim := false
	emit := func(stop int, terminated bool) {
		var w []byte
		if cur != nil {
			w = append(cur, body[start:stop]...)
		} else {
			w = body[start:stop]
		}
		words = append(words, word{b: w, off: base + 1 + int64(begin), terminated: terminated, hasDelim: hasDelim})
		cur, hasDelim = nil, false
	}
	for i := 0; i < len(body); i++ {
		if body[i] != delim {
			continue
		}
		if !emptyValues && i+1 < len(body) && body[i+1] == delim {
			cur = append(cur, body[start:i+1]...)
			i++
			start = i + 1
			hasDelim = true
			continue
		}
		emit(i, true)
		start = i + 1
		begin = start
	}
	if start < len(body) || cur != nil {
		emit(len(body), false)
	}
	return words, padded
}

// decodeValue turns value bytes into a string: UTF-8 when valid, else Latin-1.
func decodeValue(b []byte) (string, bool) {
	if utf8.Valid(b) {
		return string(b), false
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r), true
}
