package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/clink-consortium/clink"
)

// maxBodyBytes bounds a request body; larger bodies are refused with 413.
const maxBodyBytes = 1 << 20

// decodeJSON reads the request body as exactly one JSON value into dst. It refuses, with a
// precise 400 naming the field where it can: an empty body, malformed JSON, a value of the
// wrong JSON type, an unknown field and data after the value; and with 413 a body over 1 MiB.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &statusError{http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", maxBodyBytes)}
		}
		return malformed("body", "cannot be read: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return malformed("body", "is empty: a JSON object is required")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return malformed("body", "has data after the JSON value (offset %d)", dec.InputOffset())
	}
	if at := jsonNUL(body); at >= 0 {
		// PostgreSQL's text cannot hold it, and no record needs it.
		return malformed("body", "holds a NUL character (\\u0000 at byte offset %d): text may not contain one", at)
	}
	return nil
}

// jsonNUL returns the offset of the first \u0000 escape of a JSON document, or -1: an escape
// is a backslash preceded by an even number of backslashes.
func jsonNUL(body []byte) int {
	for i := 0; i+6 <= len(body); i++ {
		if body[i] != '\\' {
			continue
		}
		if body[i+1] == 'u' && string(body[i+2:i+6]) == "0000" {
			return i
		}
		i++ // skip the escaped character
	}
	return -1
}

// jsonError turns an encoding/json error into a 400 naming the field at fault.
func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return malformed("body", "is not valid JSON at byte offset %d: %s", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return malformed("body", "must be a JSON object, not %s", typ.Value)
		}
		return malformed(field, "must be %s, not %s", jsonTypeName(typ.Type.Kind().String()), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return malformed("body", "is truncated JSON")
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		field, _ := strconv.Unquote(name)
		if field == "" {
			field = name
		}
		return malformed(field, "is not a known field")
	}
	return malformed("body", "cannot be decoded: %v", err)
}

// jsonTypeName names a Go kind the way a JSON author thinks of it.
func jsonTypeName(kind string) string {
	switch kind {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	}
	return "a " + kind
}

// query reads the query parameters of a request. It refuses parameters the route does not
// know and parameters given twice, so that a typing mistake never silently widens a list.
type query struct {
	values map[string]string
	lists  map[string][]string // the parameters the route lets repeat, every value
	fe     clink.FieldErrors   // malformed values: 400
	inv    clink.FieldErrors   // values that parse but break a rule: 422
}

func newQuery(r *http.Request, known ...string) *query {
	return newRepeatingQuery(r, nil, known...)
}

// newRepeatingQuery is newQuery for a route whose parameters named in repeatable may be given
// more than once (?protocol=A&protocol=B); read them with list. Which parameters repeat is
// the route's choice: the same name is a single value on another route (GET /cultures?protocol=ID).
func newRepeatingQuery(r *http.Request, repeatable []string, known ...string) *query {
	q := &query{values: map[string]string{}, lists: map[string][]string{}}
	raw, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		q.fe.Addf("query", "cannot be parsed: %v", err)
		return q
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		vs := raw[k]
		switch {
		case slices.ContainsFunc(vs, badText):
			// PostgreSQL's text holds neither (it would refuse the query with an internal
			// error); no record is named so.
			q.fe.Addf(k, "holds a NUL character or bytes that are not UTF-8")
		case !slices.Contains(known, k):
			q.fe.Addf(k, "is not a query parameter of this route (known: %s)", strings.Join(known, ", "))
		case slices.Contains(repeatable, k):
			q.lists[k] = vs
		case len(vs) > 1:
			q.fe.Addf(k, "is given %d times", len(vs))
		default:
			q.values[k] = vs[0]
		}
	}
	return q
}

// badText reports text that no database string can hold: a NUL character, or bytes that are
// not UTF-8.
func badText(s string) bool { return strings.ContainsRune(s, 0) || !utf8.ValidString(s) }

func parseQuery(raw string) (map[string][]string, error) {
	return url.ParseQuery(raw)
}

// list returns every value of a repeatable parameter, in the order given.
func (q *query) list(name string) []string { return q.lists[name] }

// integer returns the parameter as a whole number, nil when absent.
func (q *query) integer(name string) *int {
	v, ok := q.values[name]
	if !ok || v == "" {
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		q.fe.Addf(name, "%q is not a whole number", v)
		return nil
	}
	return &n
}

// number returns the parameter as a finite number, 0 when absent.
func (q *query) number(name string) float64 {
	v, ok := q.values[name]
	if !ok || v == "" {
		return 0
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		q.fe.Addf(name, "%q is not a number", v)
		return 0
	}
	return f
}

// str returns the parameter's value, "" when absent.
func (q *query) str(name string) string { return q.values[name] }

// oneOf returns the parameter's value, which must be one of allowed when present.
func (q *query) oneOf(name string, allowed ...string) string {
	v := q.values[name]
	if v != "" && !slices.Contains(allowed, v) {
		q.inv.Addf(name, "%q is not one of %s", v, strings.Join(allowed, ", "))
	}
	return v
}

var siteParamRE = regexp.MustCompile(`^[A-Z]{3}$`)

// site returns the site parameter, which must be a site code when present.
func (q *query) site(name string) string {
	v := q.values[name]
	if v != "" && !siteParamRE.MatchString(v) {
		q.inv.Addf(name, "%q is not a site code (three capital letters, e.g. ZGZ)", v)
	}
	return v
}

// id returns the parameter as a positive id, 0 when absent.
func (q *query) id(name string) int64 {
	v, ok := q.values[name]
	if !ok || v == "" {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		q.fe.Addf(name, "%q is not an integer id", v)
		return 0
	}
	if n < 1 {
		q.inv.Addf(name, "%d is not a valid id (ids start at 1)", n)
		return 0
	}
	return n
}

// instant returns the parameter as a time: an RFC 3339 date-time, or a date (YYYY-MM-DD,
// meaning its midnight UTC); zero when absent.
func (q *query) instant(name string) time.Time {
	v, ok := q.values[name]
	if !ok || v == "" {
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC()
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t
	}
	q.fe.Addf(name, "%q is neither a date (2026-11-25) nor an RFC 3339 time (2026-11-25T09:30:00Z)", v)
	return time.Time{}
}

// boolean returns the parameter as true or false, false when absent.
func (q *query) boolean(name string) bool {
	v, ok := q.values[name]
	if !ok || v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		q.fe.Addf(name, "%q is not true or false", v)
	}
	return b
}

// page returns the limit and offset parameters, normalised (limit 0 means the default).
func (q *query) page() clink.Page {
	var p clink.Page
	for _, f := range []struct {
		name string
		dst  *int
	}{{"limit", &p.Limit}, {"offset", &p.Offset}} {
		v, ok := q.values[f.name]
		if !ok || v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			q.fe.Addf(f.name, "%q is not an integer", v)
			continue
		}
		*f.dst = n
	}
	if len(q.fe) > 0 {
		return p
	}
	np, err := p.Normalize()
	if err != nil {
		q.inv = append(q.inv, clink.ErrorFields(err)...)
		return p
	}
	return np
}

// err returns the problems found so far: malformed values (400) before invalid ones (422).
func (q *query) err() error {
	if len(q.fe) > 0 {
		return &clink.Error{Code: clink.EMALFORMED, Message: "malformed query", Fields: append(q.fe, q.inv...)}
	}
	if len(q.inv) > 0 {
		return &clink.Error{Code: clink.EINVALID, Message: "invalid query", Fields: q.inv}
	}
	return nil
}

// pathID parses the {id} path value as a numeric id; ok is false when it is not a number
// (routes that also accept a code then look the code up).
func pathID(r *http.Request, name string) (int64, bool) {
	v := r.PathValue(name)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, false
	}
	return n, true
}

// numericID parses a path value that must be a numeric id; anything else is not found.
func numericID(r *http.Request, name, what string) (int64, error) {
	n, ok := pathID(r, name)
	if !ok {
		return 0, clink.Errorf(clink.ENOTFOUND, "%s %q not found: ids are positive integers", what, r.PathValue(name))
	}
	return n, nil
}
