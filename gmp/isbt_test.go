package gmp

import (
	"encoding/json"
	"testing"
	"time"
)

// The product description code S9999 in these tests is made up: real S-codes come from the
// licensed ST-002 database (gmp.md §2.1), and no ICCBBA table is shipped.

func TestParseProductCode(t *testing.T) {
	tests := []struct {
		in                 string
		pdc                string
		typ                byte
		div                string
		cellular, research bool
		undivided          bool
	}{
		{"=<S9999V00", "S9999", 'V', "00", true, false, true},
		{"S9999V00", "S9999", 'V', "00", true, false, true},
		{"=<S9999R00", "S9999", 'R', "00", true, true, true},
		{"=<S99994A0", "S9999", '4', "A0", true, false, false},
		{"=<E0001V00", "E0001", 'V', "00", false, false, true},
		{"=<S00A17Ab", "S00A1", '7', "Ab", true, false, false},
	}
	for _, tc := range tests {
		p, err := ParseProductCode(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if p.PDC() != tc.pdc || p.CollectionType() != tc.typ || p.Division() != tc.div ||
			p.CellularTherapy() != tc.cellular || p.Research() != tc.research || (p.Division() == Undivided) != tc.undivided {
			t.Errorf("%s: got %s %c %s cellular=%v research=%v, want %s %c %s %v %v", tc.in, p.PDC(), p.CollectionType(),
				p.Division(), p.CellularTherapy(), p.Research(), tc.pdc, tc.typ, tc.div, tc.cellular, tc.research)
		}
		if p.Data() != "=<"+p.String() {
			t.Errorf("%s: Data got %s", tc.in, p.Data())
		}
		if back, err := ParseProductCode(p.Data()); err != nil || back != p {
			t.Errorf("%s: round trip got %v, %v", tc.in, back, err)
		}
	}
	for _, tc := range []struct{ in, msg string }{
		{"=<s9999V00", "position 1: 's' is lower case"},
		{"=<19999V00", "position 1: '1' is not A–Z"},
		{"=<S99-9V00", "position 4: '-' is not A–Z or 0–9"},
		{"=<S9999V0-", "position 8: '-' is not a letter or digit"},
		{"=<S9999V0", "has 7 data characters, want 8"},
		{"=<S9999V000", "has 9 data characters, want 8"},
		{"", "has 0 data characters"},
		{"=<", "has 0 data characters"},
	} {
		_, err := ParseProductCode(tc.in)
		wantErr(t, err, "product_code", tc.msg)
	}
}

// TestResearchNeverReleased: CLINK research cultures carry collection type R and can never
// enter a release workflow (gmp.md §2.5).
func TestResearchNeverReleased(t *testing.T) {
	p, _ := ParseProductCode("S9999R00")
	wantErr(t, p.CheckRelease(), "product_code", "collection type R")
	q, _ := ParseProductCode("S9999V00")
	if err := q.CheckRelease(); err != nil {
		t.Errorf("volunteer allogeneic: got %v, want nil", err)
	}
	wantErr(t, ProductCode{}.CheckRelease(), "product_code", "is missing")
}

func TestNewProductCode(t *testing.T) {
	p, err := NewProductCode("S9999", CollectionVolunteerAllogeneic, Undivided)
	if err != nil || p.String() != "S9999V00" {
		t.Fatalf("got %v, %v, want S9999V00", p, err)
	}
	split, err := p.WithDivision("B0")
	if err != nil || split.String() != "S9999VB0" || p.String() != "S9999V00" {
		t.Errorf("WithDivision: got %v (original %v), %v, want S9999VB0", split, p, err)
	}
	_, err = p.WithDivision("B")
	wantErr(t, err, "division", "has 1 characters, want 2")
	_, err = NewProductCode("S999", 'V', "00")
	wantErr(t, err, "pdc", "has 4 characters, want 5")
	_, err = NewProductCode("s9999", 'V', "00")
	wantErr(t, err, "pdc", "position 1: 's' is lower case")
	_, err = NewProductCode("S9999", '-', "00")
	wantErr(t, err, "collection_type", "'-' is not a letter or digit")
	_, err = NewProductCode("S9999", 'V', "0-")
	wantErr(t, err, "division", "character 2: '-'")
}

// TestCOI checks the COI identifier of gmp.md §2.6 and its example: CHA999925AB1234 has K = A.
func TestCOI(t *testing.T) {
	c, err := NewCOI("A9999", 2025, "AB1234")
	if err != nil || c.String() != "CHA999925AB1234" {
		t.Fatalf("NewCOI: got %v, %v, want CHA999925AB1234", c, err)
	}
	if c.Check() != 'A' || c.Keyboard() != "CHA999925AB1234A" || c.Data() != "&/CHA999925AB1234" {
		t.Errorf("got K %c, keyboard %s, data %s", c.Check(), c.Keyboard(), c.Data())
	}
	if c.FIN() != "A9999" || c.Year() != 25 || c.Sequence() != "AB1234" {
		t.Errorf("got FIN %s, year %d, sequence %s", c.FIN(), c.Year(), c.Sequence())
	}
	for _, s := range []string{"CHA999925AB1234", "CHA999925AB1234A", "&/CHA999925AB1234"} {
		if got, err := ParseCOI(s); err != nil || got != c {
			t.Errorf("ParseCOI(%s): got %v, %v", s, got, err)
		}
	}
	for _, tc := range []struct{ in, msg string }{
		{"CHA999925AB1234B", "position 16: check character 'B' does not match: the check character of CHA999925AB1234 is 'A'"},
		{"&/CHA999925AB1234A", "position 16: unexpected 'A': bar-code data carries no check character"},
		{"CXA999925AB1234", "position 2: 'X', want 'H'"},
		{"CHO999925AB1234", "position 3: 'O' (the letter O) is never used"},
		{"CHA99A925AB1234", "position 6: 'A' is not a digit"},
		{"CHA99992XAB1234", "position 9: 'X' is not a digit (the year)"},
		{"CHA999925ab1234", "position 10: 'a' is lower case"},
		{"CHA999925AB123", "position 15: missing"},
		{"CHA999925AB1234AA", "has 17 characters"},
		{"CHA999925AB1234a", "position 16: 'a' is lower case"},
	} {
		_, err := ParseCOI(tc.in)
		wantErr(t, err, "coi", tc.msg)
	}
	_, err = NewCOI("A9999", 2025, "AB12")
	wantErr(t, err, "sequence", "has 4 characters, want 6")
	_, err = NewCOI("A9999", 2025, "ab1234")
	wantErr(t, err, "sequence", "position 1: 'a' is lower case")
	_, err = NewCOI("0A999", 2025, "AB1234")
	wantErr(t, err, "fin", "position 1")

	b, _ := json.Marshal(struct{ C COI }{c})
	var back struct{ C COI }
	if err := json.Unmarshal(b, &back); err != nil || back.C != c {
		t.Errorf("JSON round trip: got %v, %v (%s)", back.C, err, b)
	}
}

// TestDateTime checks data structures 005 and 007 (cyyjjjhhmm). The example &>0183652359 is
// 31 December 2018 at 23:59, as ICCBBA's published example reads (see DateTime).
func TestDateTime(t *testing.T) {
	d, err := ParseExpiration("&>0183652359")
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2018, time.December, 31, 23, 59, 0, 0, time.UTC)
	if got := d.In(time.UTC); !got.Equal(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	tests := []struct {
		d    DateTime
		exp  string
		coll string
	}{
		{EndOfDay(2025, time.March, 1), "&>0250602359", "&*0250602359"},     // day 60 of a common year
		{EndOfDay(2024, time.March, 1), "&>0240612359", "&*0240612359"},     // day 61 of a leap year
		{EndOfDay(2024, time.December, 31), "&>0243662359", "&*0243662359"}, // day 366
		{DateTimeOf(time.Date(2025, time.January, 2, 7, 5, 59, 0, time.UTC)), "&>0250020705", "&*0250020705"},
		{DateTimeOf(time.Date(2100, time.January, 1, 0, 0, 0, 0, time.UTC)), "&>1000010000", "&*1000010000"},
	}
	for _, tc := range tests {
		exp, err := tc.d.ExpirationData()
		if err != nil || exp != tc.exp {
			t.Errorf("%+v: ExpirationData got %q, %v, want %q", tc.d, exp, err, tc.exp)
		}
		coll, err := tc.d.CollectionData()
		if err != nil || coll != tc.coll {
			t.Errorf("%+v: CollectionData got %q, %v, want %q", tc.d, coll, err, tc.coll)
		}
		if back, err := ParseExpiration(exp); err != nil || back != tc.d {
			t.Errorf("ParseExpiration(%s): got %+v, %v, want %+v", exp, back, err, tc.d)
		}
		if back, err := ParseCollectionTime(coll); err != nil || back != tc.d {
			t.Errorf("ParseCollectionTime(%s): got %+v, %v, want %+v", coll, back, err, tc.d)
		}
	}
	for _, tc := range []struct{ in, field, msg string }{
		{"&>0253662359", "expiration.year_day", "must be 1–365 in 2025, got 366"},
		{"&>0250002359", "expiration.year_day", "got 0"},
		{"&>0250012459", "expiration.hour", "must be 0–23, got 24"},
		{"&>0250012360", "expiration.minute", "must be 0–59, got 60"},
		{"&*0250012359", "expiration", "does not start with the data identifier \"&>\""},
		{"&>025001235", "expiration", "has 9 characters"},
		{"&>02500123590", "expiration", "has 11 characters"},
		{"&>02500A2359", "expiration", "position 6: 'A' is not a digit"},
	} {
		_, err := ParseExpiration(tc.in)
		wantErr(t, err, tc.field, tc.msg)
	}
	_, err = ParseCollectionTime("&>0250012359")
	wantErr(t, err, "collection_time", "does not start with the data identifier \"&*\"")
	_, err = DateTimeOf(time.Date(1999, time.December, 31, 0, 0, 0, 0, time.UTC)).ExpirationData()
	wantErr(t, err, "year", "must be 2000–2999")
}
