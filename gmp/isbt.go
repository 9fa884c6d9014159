package gmp

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/clink-consortium/clink"
)

// ProductCode is the content of ISBT 128 data structure 003, αooootds (gmp.md §2.5): the
// 5-character Product Description Code αoooo (α = S for cellular therapy), the type of
// collection t and the division code ds, "00" when undivided. CLINK treats the description
// code as an opaque configured value: the codes and class names are licensed (ST-002) and not
// shipped (gmp.md §2.1). A ProductCode made by ParseProductCode or NewProductCode is always
// well formed; the zero ProductCode is none (IsZero).
type ProductCode struct {
	s string
}

// Character sets of a product code. gmp.md §2.5 fixes the layout but not the alphabets, so
// these are the narrowest that admit every example it gives: an upper-case letter then four
// upper-case letters or digits for the description code, and a letter or digit for t, d and
// s. Lower case is admitted for t and ds because the licensed tables are not available to rule
// it out.
func pdcChar(pos int, c rune) bool {
	if pos == 1 {
		return c >= 'A' && c <= 'Z'
	}
	return c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func alnum(c rune) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
}

// Collection types named in gmp.md §2.5 (ST-001 Table 7); the full table is licensed.
const (
	CollectionVolunteerAllogeneic byte = 'V' // volunteer allogeneic, the default
	CollectionDesignated          byte = '4' // designated
	CollectionAllogeneicUse       byte = '7' // for allogeneic use
	CollectionAutologous          byte = '1' // for autologous use only
	CollectionResearch            byte = 'R' // volunteer research: not for human application
)

// Undivided is the division code of a product that is not divided.
const Undivided = "00"

// NewProductCode makes a product code from its description code (5 characters), collection
// type and division code (2 characters). The error is EINVALID, naming pdc, collection_type
// or division.
func NewProductCode(pdc string, collectionType byte, division string) (ProductCode, error) {
	var fe clink.FieldErrors
	if n := utf8.RuneCountInString(pdc); n != 5 {
		fe.Addf("pdc", "has %d characters, want 5", n)
	} else {
		pos := 0
		for _, c := range pdc {
			pos++
			if !pdcChar(pos, c) {
				fe.Addf("pdc", "position %d: %s", pos, pdcProblem(pos, c))
				break
			}
		}
	}
	if !alnum(rune(collectionType)) {
		fe.Addf("collection_type", "%q is not a letter or digit", rune(collectionType))
	}
	if msg := divisionProblem(division); msg != "" {
		fe.Addf("division", "%s", msg)
	}
	if err := fe.Err(); err != nil {
		return ProductCode{}, err
	}
	return ProductCode{s: pdc + string(rune(collectionType)) + division}, nil
}

func pdcProblem(pos int, c rune) string {
	if pos == 1 {
		return describeBad(c, "is not A–Z: a product description code starts with a letter")
	}
	return describeBad(c, "is not A–Z or 0–9")
}

func divisionProblem(div string) string {
	if n := utf8.RuneCountInString(div); n != 2 {
		return fmt.Sprintf("%q has %d characters, want 2 (%q when undivided)", limitRunes(div, 8), n, Undivided)
	}
	for i, c := range div {
		if !alnum(c) {
			return fmt.Sprintf("character %d: %q is not a letter or digit", i+1, c)
		}
	}
	return ""
}

// ParseProductCode reads a product code from its bar-code data "=<αooootds" (10 characters)
// or from its 8 data characters alone. The error is EINVALID, field "product_code", naming the
// position (of the 8 data characters) at fault.
func ParseProductCode(s string) (ProductCode, error) {
	data := strings.TrimPrefix(s, "=<")
	rs := []rune(limitRunes(data, 10))
	for i, c := range rs {
		pos := i + 1
		var msg string
		switch {
		case pos > 8:
		case pos <= 5 && !pdcChar(pos, c):
			msg = pdcProblem(pos, c)
		case pos > 5 && !alnum(c):
			msg = fmt.Sprintf("%q is not a letter or digit", c)
		}
		if msg != "" {
			return ProductCode{}, clink.Invalid("product_code", "position %d: %s", pos, msg)
		}
	}
	if n := utf8.RuneCountInString(data); n != 8 {
		return ProductCode{}, clink.Invalid("product_code", "has %d data characters, want 8 (αooootds, after the data identifier \"=<\")", n)
	}
	return ProductCode{s: data}, nil
}

// String returns the 8 data characters, e.g. "S9999V00"; "" for the zero value.
func (p ProductCode) String() string { return p.s }

// Data returns the bar-code data, "=<" followed by the 8 data characters.
func (p ProductCode) Data() string {
	if p.IsZero() {
		return ""
	}
	return "=<" + p.s
}

// IsZero reports whether p is the zero ProductCode.
func (p ProductCode) IsZero() bool { return p.s == "" }

// PDC returns the 5-character product description code.
func (p ProductCode) PDC() string {
	if p.IsZero() {
		return ""
	}
	return p.s[:5]
}

// CollectionType returns the type-of-collection character t, 0 for the zero value.
func (p ProductCode) CollectionType() byte {
	if p.IsZero() {
		return 0
	}
	return p.s[5]
}

// Division returns the 2-character division code, "00" when undivided.
func (p ProductCode) Division() string {
	if p.IsZero() {
		return ""
	}
	return p.s[6:]
}

// CellularTherapy reports whether the description code is a cellular-therapy code (α = S).
func (p ProductCode) CellularTherapy() bool { return !p.IsZero() && p.s[0] == 'S' }

// Research reports whether the collection type is R: volunteer research, not intended for
// human application (gmp.md §2.5).
func (p ProductCode) Research() bool { return p.CollectionType() == CollectionResearch }

// CheckRelease returns an EINVALID error, field "product_code", when the product can never
// enter a release workflow: CLINK research cultures carry collection type R (gmp.md §2.5).
func (p ProductCode) CheckRelease() error {
	switch {
	case p.IsZero():
		return clink.Invalid("product_code", "is missing")
	case p.Research():
		return clink.Invalid("product_code", "%s has collection type R (research, not for human application) and can never be released", p.s)
	}
	return nil
}

// WithDivision returns the same product with another division code, for the bags of a split
// dose (gmp.md §5). The error is EINVALID, field "division".
func (p ProductCode) WithDivision(div string) (ProductCode, error) {
	if p.IsZero() {
		return ProductCode{}, clink.Invalid("product_code", "is missing")
	}
	if msg := divisionProblem(div); msg != "" {
		return ProductCode{}, clink.Invalid("division", "%s", msg)
	}
	return ProductCode{s: p.s[:6] + div}, nil
}

// MarshalText returns the 8 data characters.
func (p ProductCode) MarshalText() ([]byte, error) { return []byte(p.s), nil }

// UnmarshalText reads a product code as ParseProductCode does; empty text gives the zero value.
func (p *ProductCode) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*p = ProductCode{}
		return nil
	}
	v, err := ParseProductCode(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// COI is a Chain of Identity Identifier, the 15 data characters of ISBT 128 data structure 040
// (gmp.md §2.6): the literal "CH", the 5-character FIN of the issuing organisation, a 2-digit
// nominal year and a 6-character sequence of A–Z and 0–9. Its keyboard check character is
// MOD 37-2 over the 15 data characters, a CLINK convention to be confirmed against ST-028
// before clinical use (gmp.md §2.6): CHA999925AB1234 has K = A. A COI made by ParseCOI or
// NewCOI is always well formed; the zero COI is none.
type COI struct {
	s string
}

// coiLen is the number of data characters of a COI identifier.
const coiLen = 15

// NewCOI makes the COI identifier of sequence seq (6 characters, A–Z or 0–9) of the given
// calendar year (0–9999, last two digits kept) at the issuing facility fin. The error is
// EINVALID, naming fin, year or sequence.
func NewCOI(fin string, year int, seq string) (COI, error) {
	var fe clink.FieldErrors
	if err := ValidateFIN(fin); err != nil {
		fe = append(fe, clink.ErrorFields(err)...)
	}
	if year < 0 || year > 9999 {
		fe.Addf("year", "must be a calendar year 0–9999, got %d", year)
	}
	if n := utf8.RuneCountInString(seq); n != 6 {
		fe.Addf("sequence", "has %d characters, want 6", n)
	} else {
		pos := 0
		for _, c := range seq {
			pos++
			if mod37Value(c) < 0 {
				fe.Addf("sequence", "position %d: %s", pos, describeBad(c, "is not A–Z or 0–9"))
				break
			}
		}
	}
	if err := fe.Err(); err != nil {
		return COI{}, err
	}
	return COI{s: fmt.Sprintf("CH%s%02d%s", fin, year%100, seq)}, nil
}

// ParseCOI reads a COI identifier from its bar-code data "&/CHαppppyynnnnnn", from its 15
// data characters, or from the 15 data characters followed by the check character K, which
// must then match. No spaces are accepted: gmp.md gives no eye-readable grouping for it. The
// error is EINVALID, field "coi", naming the position (of the data characters) at fault.
func ParseCOI(s string) (COI, error) {
	data, isData := strings.CutPrefix(s, "&/")
	rs := []rune(limitRunes(data, coiLen+2))
	for i := 0; i < len(rs) && i < coiLen; i++ {
		if msg := coiCharProblem(i+1, rs[i]); msg != "" {
			return COI{}, clink.Invalid("coi", "position %d: %s", i+1, msg)
		}
	}
	n := utf8.RuneCountInString(data)
	switch {
	case n < coiLen:
		return COI{}, clink.Invalid("coi", "position %d: missing: a COI identifier has 15 characters, got %d", n+1, n)
	case n == coiLen+1 && isData:
		return COI{}, clink.Invalid("coi", "position 16: unexpected %q: bar-code data carries no check character", rs[coiLen])
	case n > coiLen+1:
		return COI{}, clink.Invalid("coi", "has %d characters, want 15, or 16 with the check character", n)
	}
	c := COI{s: string(rs[:coiLen])}
	if n == coiLen+1 {
		k := rs[coiLen]
		if checkValue(k) < 0 {
			return COI{}, clink.Invalid("coi", "position 16: %s", describeBad(k, "is not a check character (0–9, A–Z or *)"))
		}
		if want := c.Check(); rune(want) != k {
			return COI{}, clink.Invalid("coi", "position 16: check character %q does not match: the check character of %s is %q", k, c.s, rune(want))
		}
	}
	return c, nil
}

// coiCharProblem returns what is wrong with c at position pos (1–15) of a COI identifier.
func coiCharProblem(pos int, c rune) string {
	switch {
	case pos <= 2:
		if want := rune("CH"[pos-1]); c != want {
			return fmt.Sprintf("%q, want %q: a COI identifier starts with \"CH\"", c, want)
		}
	case pos <= 7:
		return charProblem(pos-2, c, "a COI identifier")
	case pos <= 9:
		if !(c >= '0' && c <= '9') {
			return describeBad(c, "is not a digit (the year)")
		}
	default:
		if mod37Value(c) < 0 {
			return describeBad(c, "is not A–Z or 0–9")
		}
	}
	return ""
}

// String returns the 15 data characters, "" for the zero COI.
func (c COI) String() string { return c.s }

// IsZero reports whether c is the zero COI.
func (c COI) IsZero() bool { return c.s == "" }

// Data returns the bar-code data, "&/" followed by the 15 data characters.
func (c COI) Data() string {
	if c.IsZero() {
		return ""
	}
	return "&/" + c.s
}

// Check returns the keyboard check character, 0 for the zero COI.
func (c COI) Check() byte {
	if c.IsZero() {
		return 0
	}
	return mod37Alphabet[mod37(c.s)]
}

// Keyboard returns the 15 data characters followed by the check character.
func (c COI) Keyboard() string {
	if c.IsZero() {
		return ""
	}
	return c.s + string(c.Check())
}

// FIN returns the FIN of the issuing organisation.
func (c COI) FIN() string {
	if c.IsZero() {
		return ""
	}
	return c.s[2:7]
}

// Year returns the nominal year, 0–99.
func (c COI) Year() int {
	if c.IsZero() {
		return 0
	}
	y, _ := strconv.Atoi(c.s[7:9])
	return y
}

// Sequence returns the 6-character sequence.
func (c COI) Sequence() string {
	if c.IsZero() {
		return ""
	}
	return c.s[9:]
}

// MarshalText returns the 15 data characters.
func (c COI) MarshalText() ([]byte, error) { return []byte(c.s), nil }

// UnmarshalText reads a COI as ParseCOI does; empty text gives the zero COI.
func (c *COI) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*c = COI{}
		return nil
	}
	v, err := ParseCOI(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// DateTime is the date and time of ISBT 128 data structures 005 (expiration, "&>") and 007
// (collection, "&*"), whose content is cyyjjjhhmm: century digit, year in the century, day of
// the year (the "Julian" day, 001–366), hour and minute (gmp.md §2.6). It is a wall-clock time
// at the facility, without a zone.
//
// gmp.md does not say how c maps to a century. Year = 2000 + 100·c + yy is used, so 2025 is
// "025"; that matches two independent public ISBT 128 decoders (ICCBBA's example
// "&>0183652359" for 31 December 2018). Confirm it against ST-001 §2.4.5 before clinical use.
type DateTime struct {
	Year    int `json:"year"`     // 2000–2999
	YearDay int `json:"year_day"` // 1–365, or 366 in a leap year
	Hour    int `json:"hour"`     // 0–23
	Minute  int `json:"minute"`   // 0–59
}

// Data identifiers of the date structures.
const (
	ExpirationDI = "&>" // data structure 005, expiration date and time
	CollectionDI = "&*" // data structure 007, collection date and time
)

// DateTimeOf returns the wall-clock date and time of t in its own location, minutes
// truncated.
func DateTimeOf(t time.Time) DateTime {
	return DateTime{Year: t.Year(), YearDay: t.YearDay(), Hour: t.Hour(), Minute: t.Minute()}
}

// EndOfDay returns 23:59 on the given date, the default time of an expiry given as a date only
// (gmp.md §2.6). The date is normalised as time.Date does.
func EndOfDay(year int, month time.Month, day int) DateTime {
	return DateTimeOf(time.Date(year, month, day, 23, 59, 0, 0, time.UTC))
}

// Validate checks the ranges of the fields. The error is EINVALID naming the field.
func (d DateTime) Validate() error {
	var fe clink.FieldErrors
	if d.Year < 2000 || d.Year > 2999 {
		fe.Addf("year", "must be 2000–2999 (one century digit), got %d", d.Year)
	}
	days := 365
	if d.Year%4 == 0 && (d.Year%100 != 0 || d.Year%400 == 0) {
		days = 366
	}
	if d.YearDay < 1 || d.YearDay > days {
		fe.Addf("year_day", "must be 1–%d in %d, got %d", days, d.Year, d.YearDay)
	}
	if d.Hour < 0 || d.Hour > 23 {
		fe.Addf("hour", "must be 0–23, got %d", d.Hour)
	}
	if d.Minute < 0 || d.Minute > 59 {
		fe.Addf("minute", "must be 0–59, got %d", d.Minute)
	}
	return fe.Err()
}

// In returns the time d denotes in loc.
func (d DateTime) In(loc *time.Location) time.Time {
	return time.Date(d.Year, time.January, d.YearDay, d.Hour, d.Minute, 0, 0, loc)
}

// content returns cyyjjjhhmm.
func (d DateTime) content() string {
	return fmt.Sprintf("%d%02d%03d%02d%02d", (d.Year-2000)/100, d.Year%100, d.YearDay, d.Hour, d.Minute)
}

// ExpirationData returns the bar-code data of data structure 005, "&>cyyjjjhhmm".
func (d DateTime) ExpirationData() (string, error) {
	if err := d.Validate(); err != nil {
		return "", err
	}
	return ExpirationDI + d.content(), nil
}

// CollectionData returns the bar-code data of data structure 007, "&*cyyjjjhhmm".
func (d DateTime) CollectionData() (string, error) {
	if err := d.Validate(); err != nil {
		return "", err
	}
	return CollectionDI + d.content(), nil
}

// ParseExpiration reads the bar-code data of data structure 005, "&>cyyjjjhhmm". The error is
// EINVALID, field "expiration".
func ParseExpiration(data string) (DateTime, error) {
	return parseDateTime(data, ExpirationDI, "expiration")
}

// ParseCollectionTime reads the bar-code data of data structure 007, "&*cyyjjjhhmm". The
// error is EINVALID, field "collection_time".
func ParseCollectionTime(data string) (DateTime, error) {
	return parseDateTime(data, CollectionDI, "collection_time")
}

func parseDateTime(data, di, field string) (DateTime, error) {
	content, ok := strings.CutPrefix(data, di)
	if !ok {
		return DateTime{}, clink.Invalid(field, "does not start with the data identifier %q", di)
	}
	pos := 0
	for _, c := range content {
		pos++
		if pos > 10 {
			break
		}
		if c < '0' || c > '9' {
			return DateTime{}, clink.Invalid(field, "position %d: %s", pos, describeBad(c, "is not a digit"))
		}
	}
	if n := utf8.RuneCountInString(content); n != 10 {
		return DateTime{}, clink.Invalid(field, "has %d characters after %q, want 10 (cyyjjjhhmm)", n, di)
	}
	num := func(a, b int) int { v, _ := strconv.Atoi(content[a:b]); return v }
	d := DateTime{Year: 2000 + 100*num(0, 1) + num(1, 3), YearDay: num(3, 6), Hour: num(6, 8), Minute: num(8, 10)}
	if err := d.Validate(); err != nil {
		fields := clink.ErrorFields(err).Prefix(field)
		return DateTime{}, fields.Err()
	}
	return d, nil
}
