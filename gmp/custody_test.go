package gmp

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// unit is the chain of identity used by the custody tests: the worked-example DIN of gmp.md
// §2.4, a made-up product code, and the COI example of gmp.md §2.6.
func unit(t testing.TB) Identity {
	t.Helper()
	d, err := ParseDIN("G123417654321")
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseProductCode("S9999V00")
	if err != nil {
		t.Fatal(err)
	}
	return Identity{DIN: d, Product: p, COI: "CHA999925AB1234", Recipient: "P7K2M9Q4"}
}

// labelScan is a scan of the bar codes of the unit's label.
func labelScan(e Event) Scan {
	return Scan{Event: e, DIN: "=G12341765432170", Product: "=<S9999V00", COI: "&/CHA999925AB1234"}
}

func TestCheckScan(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(*Scan)
		field  string // "" when the scan must pass
		reason string
	}{
		{name: "label scanned", edit: func(*Scan) {}},
		{name: "keyboard forms", edit: func(s *Scan) {
			s.DIN, s.Product, s.COI = "G1234 17 654321 A", "S9999V00", "CHA999925AB1234A"
		}},
		{name: "container flag", edit: func(s *Scan) { s.DIN = "=G12341765432100" }},
		{name: "infused at the bedside", edit: func(s *Scan) { s.Event, s.Recipient = EventInfused, "P7K2M9Q4" }},
		{name: "typed with a blind second entry", edit: func(s *Scan) {
			s.DIN, s.COI, s.Manual, s.Reason = "G123417654321A", "CHA999925AB1234A", true, "label smudged"
			s.Second = &Scan{DIN: "G1234 17 654321 A", Product: "=<S9999V00", COI: "&/CHA999925AB1234"}
		}},

		{name: "another DIN", edit: func(s *Scan) { s.DIN = "=G12349865432177" },
			field: "din", reason: "scanned G123498654321, expected G123417654321"},
		{name: "damaged label", edit: func(s *Scan) { s.DIN = "=G12341765432171" },
			field: "din", reason: "unreadable: flag 71 carries check value 11, but the check value of G123417654321 is 10: misread or damaged label"},
		{name: "typo in a typed DIN", edit: func(s *Scan) { s.DIN = "G123417654312A" },
			field: "din", reason: "unreadable: position 14: check character 'A' does not match"},
		{name: "DIN not scanned", edit: func(s *Scan) { s.DIN = "" }, field: "din", reason: "not scanned"},
		{name: "other bag of the split", edit: func(s *Scan) { s.Product = "=<S9999VB0" },
			field: "product", reason: "scanned S9999VB0, expected S9999V00 (division differs)"},
		{name: "other product", edit: func(s *Scan) { s.Product = "=<S9998R00" },
			field: "product", reason: "(product description code and collection type differ)"},
		{name: "unreadable product", edit: func(s *Scan) { s.Product = "=<S9999V0" },
			field: "product", reason: "unreadable: has 7 data characters"},
		{name: "another chain of identity", edit: func(s *Scan) { s.COI = "&/CHA999925AB1235" },
			field: "coi", reason: "scanned CHA999925AB1235, expected CHA999925AB1234: the unit belongs to another chain of identity"},
		{name: "COI typo", edit: func(s *Scan) { s.COI = "CHA999925AB1243A" },
			field: "coi", reason: "unreadable: position 16: check character 'A' does not match"},
		{name: "COI not scanned", edit: func(s *Scan) { s.COI = "" }, field: "coi", reason: "not scanned"},
		{name: "wrong patient", edit: func(s *Scan) { s.Event, s.Recipient = EventInfused, "P7K2M9Q5" },
			field: "recipient", reason: "scanned P7K2M9Q5, expected P7K2M9Q4: wrong patient"},
		{name: "no wristband at infusion", edit: func(s *Scan) { s.Event = EventInfused },
			field: "recipient", reason: "the recipient's wristband was not scanned"},
		{name: "wrong patient at receipt", edit: func(s *Scan) { s.Recipient = "X" },
			field: "recipient", reason: "scanned X, expected P7K2M9Q4"},
		{name: "unknown event", edit: func(s *Scan) { s.Event = "lost" },
			field: "event", reason: "\"lost\" is not a custody event"},
		{name: "typed without a reason", edit: func(s *Scan) {
			s.Manual, s.Second = true, &Scan{DIN: "=G12341765432170", Product: "=<S9999V00", COI: "&/CHA999925AB1234"}
		}, field: "reason", reason: "needs the reason"},
		{name: "typed without a second entry", edit: func(s *Scan) { s.Manual, s.Reason = true, "no scanner" },
			field: "second", reason: "needs a blind second entry"},
		{name: "second entry differs", edit: func(s *Scan) {
			s.Manual, s.Reason = true, "no scanner"
			s.Second = &Scan{DIN: "G123498654321H", Product: "=<S9999V00", COI: "&/CHA999925AB1234"}
		}, field: "second.din", reason: "the blind second entry \"G123498654321\" differs from the first \"G123417654321\""},
		{name: "typed DIN without K", edit: func(s *Scan) {
			s.DIN, s.Manual, s.Reason = "G123417654321", true, "no scanner"
			s.Second = &Scan{DIN: "G123417654321", Product: "=<S9999V00", COI: "&/CHA999925AB1234"}
		}, field: "din", reason: "a typed DIN needs its check character K"},
		{name: "typed COI without K", edit: func(s *Scan) {
			s.COI, s.Manual, s.Reason = "CHA999925AB1234", true, "no scanner"
			s.Second = &Scan{DIN: "=G12341765432170", Product: "=<S9999V00", COI: "CHA999925AB1234"}
		}, field: "coi", reason: "a typed COI identifier needs its check character"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := labelScan(EventReceived)
			tc.edit(&s)
			v := CheckScan(unit(t), s)
			if tc.field == "" {
				if !v.Passed || len(v.Mismatches) != 0 || v.Reason() != "" {
					t.Errorf("got a failure: %s", v.Reason())
				}
				return
			}
			if v.Passed {
				t.Fatalf("got a pass, want a %s mismatch", tc.field)
			}
			for _, m := range v.Mismatches {
				if m.Field == tc.field && strings.Contains(m.Reason, tc.reason) {
					return
				}
			}
			t.Errorf("got %q, want %s: …%s…", v.Reason(), tc.field, tc.reason)
		})
	}
}

// TestCheckScanRecord checks what a failed verification records: expected and found.
func TestCheckScanRecord(t *testing.T) {
	s := labelScan(EventShipped)
	s.Product = "=<S9999VB0"
	v := CheckScan(unit(t), s)
	want := Mismatch{Field: "product", Expected: "S9999V00", Found: "S9999VB0", Reason: "scanned S9999VB0, expected S9999V00 (division differs)"}
	if v.Passed || v.Event != EventShipped || len(v.Mismatches) != 1 || v.Mismatches[0] != want {
		t.Errorf("got %+v, want one mismatch %+v", v, want)
	}
}

func TestCheckScanExpected(t *testing.T) {
	id := unit(t)
	for _, tc := range []struct {
		edit  func(*Identity)
		event Event
		field string
	}{
		{func(i *Identity) { i.DIN = DIN{} }, EventPacked, "expected.din"},
		{func(i *Identity) { i.Product = ProductCode{} }, EventPacked, "expected.product"},
		{func(i *Identity) { i.COI = "" }, EventPacked, "expected.coi"},
		{func(i *Identity) { i.Recipient = "" }, EventInfused, "expected.recipient"},
	} {
		e := id
		tc.edit(&e)
		v := CheckScan(e, labelScan(tc.event))
		if v.Passed || len(v.Mismatches) != 1 || v.Mismatches[0].Field != tc.field {
			t.Errorf("got %+v, want one mismatch on %s", v.Mismatches, tc.field)
		}
	}
}

// TestCheckScanInternalCOI: until the consortium holds FINs, the COI is a site-prefixed
// internal identifier with the same check character (gmp.md §2.7).
func TestCheckScanInternalCOI(t *testing.T) {
	id := unit(t)
	id.COI = "MAD0000123"
	k, _ := Mod37Check(id.COI)
	for _, tc := range []struct {
		coi    string
		manual bool
		pass   bool
	}{
		{"MAD0000123", false, true},
		{"MAD0000123" + string(k), false, true},
		{"MAD0000123" + string(k), true, true},
		{"MAD0000123", true, false},
		{"MAD0000124", false, false},
		{"MAD0000123X", false, k == 'X'},
	} {
		s := labelScan(EventReceived)
		s.COI = tc.coi
		if tc.manual {
			s.Manual, s.Reason = true, "no scanner"
			second := s
			s.Second = &second
		}
		if v := CheckScan(id, s); v.Passed != tc.pass {
			t.Errorf("COI %q manual %v: got passed=%v (%s), want %v", tc.coi, tc.manual, v.Passed, v.Reason(), tc.pass)
		}
	}
}

func TestEventOrder(t *testing.T) {
	P, S, R, T, I := EventPacked, EventShipped, EventReceived, EventThawed, EventInfused
	tests := []struct {
		name    string
		history []Event
		cryo    bool
		next    []Event
	}{
		{"start", nil, false, []Event{P}},
		{"packed", []Event{P}, false, []Event{S}},
		{"shipped", []Event{P, S}, false, []Event{R}},
		{"fresh received", []Event{P, S, R}, false, []Event{P, I}},
		{"cryo received", []Event{P, S, R}, true, []Event{P, T}},
		{"cryo thawed", []Event{P, S, R, T}, true, []Event{P, I}},
		{"cryo second leg after thaw", []Event{P, S, R, T, P, S, R}, true, []Event{P, I}},
		{"two legs", []Event{P, S, R, P, S, R}, false, []Event{P, I}},
		{"infused", []Event{P, S, R, I}, false, []Event{}},
	}
	for _, tc := range tests {
		got, err := NextEvents(tc.history, tc.cryo)
		if err != nil || !slices.Equal(got, tc.next) {
			t.Errorf("%s: got %v, %v, want %v", tc.name, got, err, tc.next)
		}
	}
	bad := []struct {
		name    string
		history []Event
		next    Event
		cryo    bool
		msg     string
	}{
		{"ship before packing", nil, S, false, "\"shipped\" is not allowed as the first event (allowed as the first event: packed)"},
		{"receive twice", []Event{P, S, R}, R, false, "\"received\" is not allowed after \"received\" (allowed after \"received\": packed, infused)"},
		{"thaw fresh", []Event{P, S, R}, T, false, "a fresh product is never thawed"},
		{"infuse frozen", []Event{P, S, R}, I, true, "a cryopreserved product must be thawed before it is infused"},
		{"thaw twice", []Event{P, S, R, T, P, S, R}, T, true, "the unit was already thawed"},
		{"infuse in transit", []Event{P, S}, I, false, "\"infused\" is not allowed after \"shipped\" (allowed after \"shipped\": received)"},
		{"after infusion", []Event{P, S, R, I}, P, false, "the unit was infused: nothing follows"},
		{"unknown", []Event{P}, "lost", false, "\"lost\" is not a custody event"},
	}
	for _, tc := range bad {
		err := CheckNext(tc.history, tc.next, tc.cryo)
		wantErr(t, err, "event", tc.msg)
	}
	_, err := NextEvents([]Event{P, R}, false)
	wantErr(t, err, "history[1]", "\"received\" is not allowed after \"packed\"")
	if err := CheckNext([]Event{P, S, R, T}, I, true); err != nil {
		t.Errorf("infuse after thaw: %v", err)
	}
}

func TestCheckCustody(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	ev := func(e Event, h int, who, where string) CustodyEvent {
		return CustodyEvent{Event: e, Time: t0.Add(time.Duration(h) * time.Hour), Person: who, Place: where}
	}
	good := []CustodyEvent{
		ev(EventPacked, 0, "op1", "GMP Madrid"),
		ev(EventShipped, 1, "courier", "GMP Madrid"),
		ev(EventReceived, 3, "nurse", "Ward 5"),
		ev(EventThawed, 4, "nurse", "Ward 5"),
		ev(EventInfused, 4, "nurse", "Ward 5"),
	}
	if err := CheckCustody(good, true); err != nil {
		t.Errorf("good chain: %v", err)
	}
	wantErr(t, CheckCustody(good, false), "events[3].event", "a fresh product is never thawed")

	bad := slices.Clone(good)
	bad[2].Time = t0 // before the shipment
	bad[3].Person = " "
	bad[4].Place = ""
	err := CheckCustody(bad, true)
	wantErr(t, err, "events[2].time", "2025-03-01T08:00:00Z is before the previous event (2025-03-01T09:00:00Z)")
	wantErr(t, err, "events[3].person", "every event needs a responsible person")
	wantErr(t, err, "events[4].place", "is empty")

	bad = slices.Clone(good)
	bad[1].Time = time.Time{}
	wantErr(t, CheckCustody(bad, true), "events[1].time", "is missing")
}
