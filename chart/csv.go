package chart

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"strings"
)

// csvTable writes a header and rows as CSV (RFC 4180, "\n" line ends).
func csvTable(header []string, rows [][]string) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	hdr := make([]string, len(header))
	for i, h := range header {
		hdr[i] = csvText(h)
	}
	_ = w.Write(hdr)
	for _, r := range rows {
		_ = w.Write(r)
	}
	w.Flush()
	return b.Bytes()
}

// csvNum writes a value in full precision ("1e+06" style from strconv 'g'); NaN and ±Inf become
// an empty cell, which spreadsheets and R read as missing.
func csvNum(v float64) string {
	if !finite(v) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// csvText neutralises text cells that a spreadsheet would run as a formula (OWASP "CSV
// injection"): a leading =, +, -, @, tab or carriage return gets an apostrophe before it.
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
