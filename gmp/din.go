// Package gmp supports the manufacture of expanded NK-cell products for clinical use, as set
// out in gmp.md: the ISBT 128 identifiers (Donation Identification Number, product code,
// chain-of-identity identifier, dates) with their ISO/IEC 7064 MOD 37-2 check character, the
// release specification and its evaluation, the dose calculation, and the chain-of-custody
// scan rules.
//
// The package is pure: no I/O, no clock, no database. It ships no ICCBBA tables (gmp.md §2.1):
// product description codes, facility identification numbers and label templates are
// configuration that each licensed facility loads. Tests use only the example FINs printed
// in ST-001 (A9999, G1234, W0000).
package gmp

import (
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf8"

	"github.com/clink-consortium/clink"
)

// mod37Alphabet is the character set of ISO/IEC 7064 MOD 37-2: the value of a character is
// its index. '*' (36) appears only as a check character (gmp.md §2.4).
const mod37Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*"

// mod37Value returns the value of an input character, 0–9 for digits and 10–35 for the
// upper-case letters, and -1 for anything else, '*' included: it is never an input.
func mod37Value(c rune) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return -1
}

// checkValue returns the value of a check character, 0–36, or -1.
func checkValue(c rune) int {
	if c == '*' {
		return 36
	}
	return mod37Value(c)
}

// mod37 runs the recursive form of gmp.md §2.4 over s, which must hold only 0–9 and A–Z, and
// returns the check value (1 − p) mod 37.
func mod37(s string) int {
	p := 0
	for i := 0; i < len(s); i++ {
		p = ((p + mod37Value(rune(s[i]))) * 2) % 37
	}
	return (38 - p) % 37
}

// Mod37Check returns the ISO/IEC 7064 MOD 37-2 check character of s (gmp.md §2.4): one of
// 0–9, A–Z or '*'. It is the raw function, for any string of digits and upper-case letters;
// CheckChar is the one for a DIN, and validates the DIN first. The error is EINVALID, field
// "value", naming the first position (from 1) that is not 0–9 or A–Z; lower case is refused,
// never folded, and so is '*', which can only be a result (gmp.md §2.4, pitfall 3).
func Mod37Check(s string) (byte, error) {
	if s == "" {
		return 0, clink.Invalid("value", "is empty")
	}
	pos := 0
	for _, c := range s {
		pos++
		if mod37Value(c) < 0 {
			return 0, clink.Invalid("value", "position %d: %s", pos, describeBad(c, "is not 0–9 or A–Z"))
		}
	}
	return mod37Alphabet[mod37(s)], nil
}

// describeBad says why c is not accepted, with what as the generic reason.
func describeBad(c rune, what string) string {
	switch {
	case c == utf8.RuneError:
		return "is not valid UTF-8"
	case unicode.IsLower(c):
		return fmt.Sprintf("%q is lower case (identifiers are upper case)", c)
	case c == '*':
		return "'*' can only be a check character"
	}
	return fmt.Sprintf("%q %s", c, what)
}

// DIN is a Donation Identification Number, the 13 characters αppppyynnnnnn of ISBT 128 data
// structure 001 (gmp.md §2.2): the 5-character facility identification number (FIN), the
// 2-digit nominal year and a 6-digit sequence number. The flags and the check character are
// not part of it. A DIN made by ParseDIN, ParseDINData or NewDIN is always valid; the zero
// DIN is no DIN at all (IsZero).
type DIN struct {
	s string
}

// dinLen is the number of characters of a DIN.
const dinLen = 13

// ParseDIN reads a DIN typed at a keyboard or copied from an eye-readable label: the 13
// characters, optionally followed by the check character K, which must then match (gmp.md
// §2.2, §2.4). Spaces are removed first, so that the eye-readable grouping "G1234 17 654321 A"
// is accepted; the positions in messages count the characters without the spaces.
//
// Validation rejects, never repairs: lower case, the letter O for zero, a zero as first
// character, a 12-character string, a 14-character string whose last character is not the
// matching K, and anything longer are refused with an EINVALID error, field "din", whose
// message names the position at fault ("position 6: 'x' is not a digit"). Bar-code data
// ("=G12341765432170") is read by ParseDINData.
func ParseDIN(s string) (DIN, error) {
	return parseDIN(s, true)
}

// CheckChar returns the keyboard-entry check character K of a 13-character DIN (gmp.md §2.4):
// CheckChar("G123417654321") is 'A'. The DIN is validated as by ParseDIN, except that a 14th
// character is refused: to verify a check character use ValidCheckChar.
func CheckChar(din string) (byte, error) {
	d, err := parseDIN(din, false)
	if err != nil {
		return 0, err
	}
	return d.Check(), nil
}

// ValidCheckChar reports whether k is the check character of the 13-character DIN din, and
// returns the expected one, so that a caller can say "expected A". The DIN is validated as by
// CheckChar. k must be one of 0–9, A–Z or '*': anything else, lower case included, is an
// EINVALID error with field "k", since it cannot be anyone's check character.
func ValidCheckChar(din string, k byte) (bool, byte, error) {
	d, err := parseDIN(din, false)
	if err != nil {
		return false, 0, err
	}
	if checkValue(rune(k)) < 0 {
		return false, 0, clink.Invalid("k", "%s", describeBad(rune(k), "is not a check character (0–9, A–Z or *)"))
	}
	want := d.Check()
	return k == want, want, nil
}

// parseDIN is ParseDIN; withK says whether a 14th character, the check character, may follow.
func parseDIN(s string, withK bool) (DIN, error) {
	rs := make([]rune, 0, dinLen+1)
	for _, c := range s {
		if c != ' ' {
			rs = append(rs, c)
		}
		if len(rs) > dinLen+2 {
			break // enough to say that it is too long
		}
	}
	if len(rs) == 0 {
		return DIN{}, clink.Invalid("din", "is empty: a DIN has 13 characters")
	}
	for i := 0; i < len(rs) && i < dinLen; i++ {
		if msg := dinCharProblem(i+1, rs[i]); msg != "" {
			return DIN{}, clink.Invalid("din", "position %d: %s", i+1, msg)
		}
	}
	switch {
	case len(rs) < dinLen:
		return DIN{}, clink.Invalid("din", "position %d: missing: a DIN has 13 characters, got %d", len(rs)+1, len(rs))
	case len(rs) == dinLen+1 && !withK:
		return DIN{}, clink.Invalid("din", "position 14: unexpected %q: a DIN has 13 characters (give the check character separately)", rs[dinLen])
	case len(rs) > dinLen+1:
		return DIN{}, clink.Invalid("din", "position 15: unexpected %q: a DIN has 13 characters, 14 with its check character", rs[dinLen+1])
	}
	d := DIN{s: string(rs[:dinLen])}
	if len(rs) == dinLen+1 {
		k := rs[dinLen]
		if checkValue(k) < 0 {
			return DIN{}, clink.Invalid("din", "position 14: %s", describeBad(k, "is not a check character (0–9, A–Z or *)"))
		}
		if want := d.Check(); rune(want) != k {
			return DIN{}, clink.Invalid("din", "position 14: check character %q does not match: the check character of %s is %q (a character of the DIN or K was mistyped)", k, d.s, rune(want))
		}
	}
	return d, nil
}

// dinCharProblem returns what is wrong with c at DIN position pos (1–13), or "" (gmp.md
// §2.2): position 1 takes A–N, P–Z or 1–9; positions 2–3 A–N, P–Z or 0–9; positions 4–13
// digits only.
func dinCharProblem(pos int, c rune) string {
	return charProblem(pos, c, "a DIN")
}

// charProblem is dinCharProblem for the characters of a FIN followed by digits, in the
// identifier named what; positions 1–5 are those of the FIN.
func charProblem(pos int, c rune, what string) string {
	switch {
	case c == utf8.RuneError:
		return "not valid UTF-8"
	case unicode.IsLower(c) && pos <= 3:
		return fmt.Sprintf("%q is lower case (%s is upper case)", c, what)
	case c == 'O' && pos <= 3:
		return "'O' (the letter O) is never used in a FIN; zero is '0'"
	case c == 'O':
		return "'O' is the letter O, not a digit; zero is '0'"
	case pos == 1 && c == '0':
		return "'0' is not allowed: a FIN starts with A–N, P–Z or 1–9"
	case pos == 1 && !(c >= '1' && c <= '9' || c >= 'A' && c <= 'Z'):
		return fmt.Sprintf("%q is not allowed: a FIN starts with A–N, P–Z or 1–9", c)
	case (pos == 2 || pos == 3) && !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z'):
		return fmt.Sprintf("%q is not allowed: FIN characters 2–3 are A–N, P–Z or 0–9", c)
	case pos >= 4 && !(c >= '0' && c <= '9'):
		return fmt.Sprintf("%q is not a digit", c)
	}
	return ""
}

// ValidateFIN checks a 5-character facility identification number (gmp.md §2.2): A–N, P–Z or
// 1–9 first, then two of A–N, P–Z or 0–9, then two digits. The error is EINVALID, field "fin".
// Whether the FIN is registered with ICCBBA is not known here: FINs are configuration.
func ValidateFIN(fin string) error {
	n := utf8.RuneCountInString(fin)
	pos := 0
	for _, c := range fin {
		pos++
		if pos > 5 {
			break
		}
		if msg := charProblem(pos, c, "a FIN"); msg != "" {
			return clink.Invalid("fin", "position %d: %s", pos, msg)
		}
	}
	if n != 5 {
		return clink.Invalid("fin", "has %d characters, want 5", n)
	}
	return nil
}

// NewDIN makes the DIN for sequence number seq (0–999999) of the given calendar year at the
// facility fin: NewDIN("G1234", 2017, 654321) is G123417654321. Only the last two digits of
// year are kept (the nominal year of assignment, gmp.md §2.2), so year may be 0–9999.
// Keeping sequence numbers unique within a year is the caller's job: a DIN must be unique for
// 100 years. The error is EINVALID naming fin, year or sequence.
func NewDIN(fin string, year, seq int) (DIN, error) {
	var fe clink.FieldErrors
	if err := ValidateFIN(fin); err != nil {
		fe = append(fe, clink.ErrorFields(err)...)
	}
	if year < 0 || year > 9999 {
		fe.Addf("year", "must be a calendar year 0–9999, got %d", year)
	}
	if seq < 0 || seq > 999999 {
		fe.Addf("sequence", "must be 0–999999 (6 digits), got %d", seq)
	}
	if err := fe.Err(); err != nil {
		return DIN{}, err
	}
	return DIN{s: fmt.Sprintf("%s%02d%06d", fin, year%100, seq)}, nil
}

// String returns the 13 characters of the DIN, "" for the zero DIN.
func (d DIN) String() string { return d.s }

// IsZero reports whether d is the zero DIN, which identifies nothing.
func (d DIN) IsZero() bool { return d.s == "" }

// FIN returns the facility identification number, the first 5 characters.
func (d DIN) FIN() string {
	if d.IsZero() {
		return ""
	}
	return d.s[:5]
}

// Year returns the nominal year of assignment, 0–99.
func (d DIN) Year() int {
	if d.IsZero() {
		return 0
	}
	y, _ := strconv.Atoi(d.s[5:7])
	return y
}

// Sequence returns the sequence number within the year, 0–999999.
func (d DIN) Sequence() int {
	if d.IsZero() {
		return 0
	}
	n, _ := strconv.Atoi(d.s[7:])
	return n
}

// CheckValue returns the MOD 37-2 check value of the DIN, 0–36, and -1 for the zero DIN.
func (d DIN) CheckValue() int {
	if d.IsZero() {
		return -1
	}
	return mod37(d.s)
}

// Check returns the keyboard-entry check character K of the DIN, 0 for the zero DIN.
func (d DIN) Check() byte {
	if d.IsZero() {
		return 0
	}
	return mod37Alphabet[mod37(d.s)]
}

// Keyboard returns the DIN followed by its check character, the 14 characters typed at a
// keyboard: "G123417654321A".
func (d DIN) Keyboard() string {
	if d.IsZero() {
		return ""
	}
	return d.s + string(d.Check())
}

// Grouped returns the eye-readable DIN of a label, grouped as FIN, year and sequence:
// "G1234 17 654321" (gmp.md §2.4, §2.8). The check character K is printed after it in a box,
// which is the label template's job, and a Type 3 flag is never printed.
func (d DIN) Grouped() string {
	if d.IsZero() {
		return ""
	}
	return d.s[:5] + " " + d.s[5:7] + " " + d.s[7:]
}

// Type3Flag returns the Type 3 flag characters of the DIN: 60 + its check value, as two
// digits ("70" for G123417654321), "" for the zero DIN (gmp.md §2.3).
func (d DIN) Type3Flag() string {
	if d.IsZero() {
		return ""
	}
	return strconv.Itoa(60 + mod37(d.s))
}

// Data returns the bar-code data of data structure 001, "=" + DIN + flags:
// d.Data(d.Type3Flag()) is "=G12341765432170". The flags must be two characters that
// ParseFlag accepts, and a Type 3 flag must carry the DIN's own check value. The error is
// EINVALID, field "flag".
func (d DIN) Data(ff string) (string, error) {
	if d.IsZero() {
		return "", clink.Invalid("din", "is missing")
	}
	f, err := ParseFlag(ff)
	if err != nil {
		return "", err
	}
	if f.Type == FlagType3 && f.CheckValue != d.CheckValue() {
		return "", clink.Invalid("flag", "%s carries check value %d, but the check value of %s is %d (flag %s)", ff, f.CheckValue, d.s, d.CheckValue(), d.Type3Flag())
	}
	return "=" + d.s + ff, nil
}

// MarshalText returns the 13 characters of the DIN.
func (d DIN) MarshalText() ([]byte, error) { return []byte(d.s), nil }

// UnmarshalText reads a DIN as ParseDIN does; empty text gives the zero DIN.
func (d *DIN) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = DIN{}
		return nil
	}
	v, err := ParseDIN(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// ParseDINData reads the bar-code data of data structure 001, "=αppppyynnnnnnff" (gmp.md
// §2.2): the data identifier "=", the 13 DIN characters and the two flag characters, 16
// characters in all with no spaces. A Type 3 flag (60–96) is verified against the DIN; a
// mismatch is refused as a misread or damaged label (gmp.md §2.3). The error is EINVALID,
// field "data"; positions in messages are those of the DIN (1–13).
func ParseDINData(data string) (DIN, Flag, error) {
	rs := []rune(limitRunes(data, 20))
	if len(rs) == 0 || rs[0] != '=' {
		got := "nothing"
		if len(rs) > 0 {
			got = fmt.Sprintf("%q", rs[0])
		}
		return DIN{}, Flag{}, clink.Invalid("data", "starts with %s, want the data identifier '=' of a DIN", got)
	}
	rs = rs[1:]
	for i := 0; i < len(rs) && i < dinLen; i++ {
		if msg := dinCharProblem(i+1, rs[i]); msg != "" {
			return DIN{}, Flag{}, clink.Invalid("data", "DIN position %d: %s", i+1, msg)
		}
	}
	if len(rs) != dinLen+2 {
		n := utf8.RuneCountInString(data) - 1
		return DIN{}, Flag{}, clink.Invalid("data", "has %d characters after '=', want 15 (13 of the DIN and 2 flag characters)", n)
	}
	d := DIN{s: string(rs[:dinLen])}
	ff := string(rs[dinLen:])
	f, msg := parseFlag(ff)
	if msg != "" {
		return DIN{}, Flag{}, clink.Invalid("data", "flag %s", msg)
	}
	if f.Type == FlagType3 && f.CheckValue != d.CheckValue() {
		return DIN{}, Flag{}, clink.Invalid("data", "flag %s carries check value %d, but the check value of %s is %d: misread or damaged label", ff, f.CheckValue, d.s, d.CheckValue())
	}
	return d, f, nil
}

// limitRunes returns at most n runes of s, enough for any message about a string that is too
// long, without copying a huge input.
func limitRunes(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

// FlagType is the kind of a flag value (gmp.md §2.3).
type FlagType int

// Flag types. Type 1 values are ICCBBA-defined process-control values, Type 2 are defined
// locally at each FIN, and Type 3 carry the check value of the DIN.
const (
	FlagReserved FlagType = 0
	FlagType1    FlagType = 1
	FlagType2    FlagType = 2
	FlagType3    FlagType = 3
)

// String returns "type 1", "type 2", "type 3" or "reserved".
func (t FlagType) String() string {
	if t >= FlagType1 && t <= FlagType3 {
		return "type " + strconv.Itoa(int(t))
	}
	return "reserved"
}

// Flag is the meaning of the two flag characters ff that follow the DIN in bar-code data.
type Flag struct {
	Code    string   `json:"code"`    // the two characters, e.g. "70"
	Type    FlagType `json:"type"`    // FlagType1, FlagType2, FlagType3 or FlagReserved
	Meaning string   `json:"meaning"` // from gmp.md §2.3 (ST-001 Table 3)
	// Container is the container number 1–9 of a set for flags 01–04 and 15–19, else 0.
	Container int `json:"container,omitempty"`
	// CheckValue is the check value 0–36 carried by a Type 3 flag, else -1.
	CheckValue int `json:"check_value"`
}

// flagMeanings holds the Type 1 meanings of gmp.md §2.3. Flag 14 is not listed there and is
// treated as reserved.
var flagMeanings = map[int]string{
	0:  "flag not used",
	5:  "second (repeated) demand-printed label",
	6:  "pilot tube label",
	7:  "test tube label",
	8:  "donor record label",
	9:  "NAT sample",
	10: "samples for bacterial testing",
	11: "match-with-unit label",
	12: "affixed partial label",
	13: "attached label",
}

// ParseFlag returns the meaning of two flag characters (gmp.md §2.3, ST-001 Table 3): 00 not
// used; 01–04 and 15–19 containers 1–4 and 5–9 of a set; 05–13 other Type 1 values; 20–59
// local (Type 2); 60–96 the Type 3 check value + 60; 97–99, 14 and any pair with a letter
// reserved. The characters must be 0–9 or A–Z; anything else is an EINVALID error, field
// "flag".
func ParseFlag(ff string) (Flag, error) {
	f, msg := parseFlag(ff)
	if msg != "" {
		return Flag{}, clink.Invalid("flag", "%s", msg)
	}
	return f, nil
}

// parseFlag is ParseFlag; it returns what is wrong instead of an error.
func parseFlag(ff string) (Flag, string) {
	if n := utf8.RuneCountInString(ff); n != 2 {
		return Flag{}, fmt.Sprintf("%q has %d characters, want 2", limitRunes(ff, 8), n)
	}
	for i, c := range []rune(ff) {
		if mod37Value(c) < 0 {
			return Flag{}, fmt.Sprintf("character %d: %s", i+1, describeBad(c, "is not 0–9 or A–Z"))
		}
	}
	f := Flag{Code: ff, CheckValue: -1}
	n, err := strconv.Atoi(ff)
	switch {
	case err != nil:
		f.Meaning = "reserved (alphanumeric)"
	case n >= 1 && n <= 4 || n >= 15 && n <= 19:
		f.Type = FlagType1
		f.Container = n
		if n >= 15 {
			f.Container = n - 10
		}
		f.Meaning = fmt.Sprintf("container %d of a set", f.Container)
	case flagMeanings[n] != "":
		f.Type, f.Meaning = FlagType1, flagMeanings[n]
	case n >= 20 && n <= 59:
		f.Type, f.Meaning = FlagType2, "locally defined (valid only at the FIN)"
	case n >= 60 && n <= 96:
		f.Type, f.CheckValue = FlagType3, n-60
		f.Meaning = fmt.Sprintf("check value %d (K = %c)", n-60, mod37Alphabet[n-60])
	default:
		f.Meaning = "reserved"
	}
	return f, ""
}

// ContainerFlag returns the flag of container n (1–9) of a set: "01"–"04" for 1–4 and
// "15"–"19" for 5–9 (gmp.md §2.3, §5). The error is EINVALID, field "container".
func ContainerFlag(n int) (string, error) {
	switch {
	case n >= 1 && n <= 4:
		return fmt.Sprintf("%02d", n), nil
	case n >= 5 && n <= 9:
		return strconv.Itoa(n + 10), nil
	}
	return "", clink.Invalid("container", "must be 1–9, got %d: larger sets need division codes", n)
}
