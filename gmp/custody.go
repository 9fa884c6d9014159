package gmp

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/clink-consortium/clink"
)

// Event is a chain-of-custody scan event of a final product unit (gmp.md §6).
type Event string

// Custody events, in their order.
const (
	EventPacked   Event = "packed"   // packed and sealed
	EventShipped  Event = "shipped"  // handed to the courier, dispatched
	EventReceived Event = "received" // received at the GMP facility or the ward
	EventThawed   Event = "thawed"   // a cryopreserved unit thawed
	EventInfused  Event = "infused"  // administered, after the bedside check
)

// events lists the custody events in their order.
var events = []Event{EventPacked, EventShipped, EventReceived, EventThawed, EventInfused}

// Events returns the custody events in their order.
func Events() []Event { return slices.Clone(events) }

func (e Event) valid() bool { return slices.Contains(events, e) }

// Identity is the chain of identity that every scan of a unit must match: the unit (DIN and
// product code, whose division tells the bags of a split dose apart) and the chain-of-identity
// identifier printed on its label, plus at the bedside the recipient's code (gmp.md §2.7, §6).
type Identity struct {
	DIN     DIN         `json:"din"`
	Product ProductCode `json:"product"`
	// COI is the chain-of-identity identifier: the 15 data characters of data structure 040
	// ("CHA999925AB1234"), or, until the consortium holds FINs, a site-prefixed internal
	// identifier that is typed with the same MOD 37-2 check character (gmp.md §2.7).
	COI string `json:"coi"`
	// Recipient is the recipient's pseudonymous code as on the wristband; needed for the
	// infused event.
	Recipient string `json:"recipient,omitempty"`
}

// Scan is what was read from a unit's label (and at the bedside, the wristband) at a custody
// event, as text: bar-code data ("=G12341765432170", "=<S9999V00", "&/CHA999925AB1234") or
// keyboard entry, which carries the check character ("G123417654321A", "CHA999925AB1234A").
type Scan struct {
	Event     Event  `json:"event"`
	DIN       string `json:"din"`
	Product   string `json:"product"`
	COI       string `json:"coi"`
	Recipient string `json:"recipient,omitempty"`
	// Manual says that the identifiers were typed instead of scanned. That needs a reason
	// and a blind second entry by another person, which must agree (gmp.md §6; §3 W2).
	Manual bool   `json:"manual,omitempty"`
	Reason string `json:"reason,omitempty"`
	Second *Scan  `json:"second,omitempty"`
}

// Mismatch is one disagreement between the expected identity and a scan.
type Mismatch struct {
	Field    string `json:"field"` // din, product, coi, recipient, event, reason, second…
	Expected string `json:"expected,omitempty"`
	Found    string `json:"found,omitempty"`
	Reason   string `json:"reason"`
}

// Verification is the result of one scan against the chain of identity, written for every
// scan, pass or fail (gmp.md §2.7). Who scanned, when and with which device are the caller's
// to add.
type Verification struct {
	Event      Event      `json:"event"`
	Passed     bool       `json:"passed"`
	Mismatches []Mismatch `json:"mismatches"` // never nil; empty when Passed
}

// Reason returns the mismatches as one line for the user, "" when the scan passed.
func (v Verification) Reason() string {
	parts := make([]string, len(v.Mismatches))
	for i, m := range v.Mismatches {
		parts[i] = m.Field + ": " + m.Reason
	}
	return strings.Join(parts, "; ")
}

// CheckScan checks a scan against the expected chain of identity (gmp.md §2.7, §6). The DIN,
// product code and COI identifier must all be present and equal to the expected ones; at the
// infused event the recipient's code must also match, and at any other event it is compared
// when scanned. Bar-code data and keyboard forms are both accepted: a Type 3 flag must carry
// the DIN's check value, and a typed DIN or COI must carry its check character, which must
// match. A manual entry needs a reason and a blind second entry that agrees with the first.
//
// A failed verification blocks the next step and opens a deviation; recording it is the
// caller's job.
func CheckScan(expected Identity, scanned Scan) Verification {
	v := Verification{Event: scanned.Event, Mismatches: []Mismatch{}}
	add := func(field, exp, found, format string, args ...any) {
		v.Mismatches = append(v.Mismatches, Mismatch{Field: field, Expected: exp, Found: limitRunes(found, 64), Reason: fmt.Sprintf(format, args...)})
	}
	if !scanned.Event.valid() {
		add("event", "", string(scanned.Event), "%q is not a custody event (want one of %s)", limitRunes(string(scanned.Event), 32), eventList(events))
	}
	switch {
	case expected.DIN.IsZero():
		add("expected.din", "", "", "the expected identity has no DIN")
	case expected.Product.IsZero():
		add("expected.product", "", "", "the expected identity has no product code")
	case strings.TrimSpace(expected.COI) == "":
		add("expected.coi", "", "", "the expected identity has no COI identifier")
	case scanned.Event == EventInfused && expected.Recipient == "":
		add("expected.recipient", "", "", "no recipient is assigned: the unit cannot be infused")
	}
	if len(v.Mismatches) > 0 {
		return v
	}

	first := readScan(expected, scanned)
	for _, m := range first.problems {
		add(m.Field, m.Expected, m.Found, "%s", m.Reason)
	}
	if scanned.Manual {
		if strings.TrimSpace(scanned.Reason) == "" {
			add("reason", "", "", "a typed entry needs the reason why the label was not scanned")
		}
		switch {
		case scanned.Second == nil:
			add("second", "", "", "a typed entry needs a blind second entry by another person")
		default:
			second := readScan(expected, Scan{Event: scanned.Event, DIN: scanned.Second.DIN, Product: scanned.Second.Product,
				COI: scanned.Second.COI, Recipient: scanned.Second.Recipient, Manual: true})
			for _, f := range []struct{ name, a, b string }{
				{"din", first.din, second.din}, {"product", first.product, second.product},
				{"coi", first.coi, second.coi}, {"recipient", first.recipient, second.recipient},
			} {
				if f.a != f.b {
					add("second."+f.name, f.a, f.b, "the blind second entry %q differs from the first %q", limitRunes(f.b, 64), limitRunes(f.a, 64))
				}
			}
		}
	}
	v.Passed = len(v.Mismatches) == 0
	return v
}

// scanRead holds a scan read into canonical forms, with what is wrong with it.
type scanRead struct {
	din, product, coi, recipient string
	problems                     []Mismatch
}

// readScan reads each identifier of s and compares it with the expected one.
func readScan(expected Identity, s Scan) scanRead {
	var r scanRead
	miss := func(field, exp, found, format string, args ...any) {
		r.problems = append(r.problems, Mismatch{Field: field, Expected: exp, Found: limitRunes(found, 64), Reason: fmt.Sprintf(format, args...)})
	}

	// DIN.
	din := strings.TrimSpace(s.DIN)
	r.din = din
	switch {
	case din == "":
		miss("din", expected.DIN.String(), "", "not scanned")
	default:
		var d DIN
		var err error
		switch {
		case strings.HasPrefix(din, "="):
			d, _, err = ParseDINData(din)
		default:
			d, err = ParseDIN(din)
			if err == nil && s.Manual && len(strings.ReplaceAll(din, " ", "")) == dinLen {
				err = clink.Invalid("din", "a typed DIN needs its check character K")
			}
		}
		switch {
		case err != nil:
			miss("din", expected.DIN.String(), din, "unreadable: %s", fieldMessage(err))
		case d != expected.DIN:
			r.din = d.String()
			miss("din", expected.DIN.String(), d.String(), "scanned %s, expected %s", d, expected.DIN)
		default:
			r.din = d.String()
		}
	}

	// Product code.
	prod := strings.TrimSpace(s.Product)
	r.product = prod
	switch p, err := ParseProductCode(prod); {
	case prod == "":
		miss("product", expected.Product.String(), "", "not scanned")
	case err != nil:
		miss("product", expected.Product.String(), prod, "unreadable: %s", fieldMessage(err))
	case p != expected.Product:
		r.product = p.String()
		miss("product", expected.Product.String(), p.String(), "scanned %s, expected %s (%s)", p, expected.Product, productDiff(expected.Product, p))
	default:
		r.product = p.String()
	}

	// COI.
	coi := strings.TrimSpace(s.COI)
	r.coi = coi
	if coi == "" {
		miss("coi", expected.COI, "", "not scanned")
	} else if c, reason := matchCOI(expected.COI, coi, s.Manual); reason != "" {
		miss("coi", expected.COI, coi, "%s", reason)
	} else {
		r.coi = c
	}

	// Recipient.
	rec := strings.TrimSpace(s.Recipient)
	r.recipient = rec
	switch {
	case rec == "" && s.Event == EventInfused:
		miss("recipient", expected.Recipient, "", "the recipient's wristband was not scanned: the bedside check needs it")
	case rec == "":
	case expected.Recipient == "":
		miss("recipient", "", rec, "no recipient is assigned to this unit")
	case rec != expected.Recipient:
		miss("recipient", expected.Recipient, rec, "scanned %s, expected %s: wrong patient", limitRunes(rec, 64), expected.Recipient)
	}
	return r
}

// matchCOI compares a scanned COI identifier with the expected one and returns the scanned
// one in canonical form, or why it does not match.
func matchCOI(expected, scanned string, manual bool) (string, string) {
	if want, err := ParseCOI(expected); err == nil {
		got, err := ParseCOI(scanned)
		switch {
		case err != nil:
			return "", "unreadable: " + fieldMessage(err)
		case manual && !strings.HasPrefix(scanned, "&/") && len(scanned) == coiLen:
			return "", "a typed COI identifier needs its check character"
		case got != want:
			return got.String(), fmt.Sprintf("scanned %s, expected %s: the unit belongs to another chain of identity", got, want)
		}
		return got.String(), ""
	}
	// A site-internal identifier: exact, or typed with its check character.
	if scanned == expected && !manual {
		return scanned, ""
	}
	if k, err := Mod37Check(expected); err == nil && scanned == expected+string(k) {
		return expected, ""
	}
	if manual && scanned == expected {
		return "", "a typed COI identifier needs its check character"
	}
	return "", fmt.Sprintf("scanned %s, expected %s: the unit belongs to another chain of identity", limitRunes(scanned, 64), expected)
}

// productDiff names the elements of two product codes that differ.
func productDiff(a, b ProductCode) string {
	var d []string
	if a.PDC() != b.PDC() {
		d = append(d, "product description code")
	}
	if a.CollectionType() != b.CollectionType() {
		d = append(d, "collection type")
	}
	if a.Division() != b.Division() {
		d = append(d, "division")
	}
	if len(d) == 1 {
		return d[0] + " differs"
	}
	return strings.Join(d, " and ") + " differ"
}

// fieldMessage returns the messages of an EINVALID error without the "invalid input" prefix.
func fieldMessage(err error) string {
	fs := clink.ErrorFields(err)
	if len(fs) == 0 {
		return err.Error()
	}
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.Message
	}
	return strings.Join(parts, "; ")
}

func eventList(es []Event) string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = string(e)
	}
	return strings.Join(s, ", ")
}

// NextEvents returns the events allowed after history, the events so far of one unit in
// order, for a cryopreserved or fresh product (gmp.md §6). A unit is packed, shipped and
// received, possibly over several legs (packed again after a receipt); a cryopreserved unit
// is thawed once, after a receipt, and may travel again after thawing; a unit is infused only
// after a receipt (or a thaw), and a cryopreserved unit only after it was thawed. Nothing
// follows the infusion. The error is EINVALID, field "history[i]", when history itself breaks
// these rules.
func NextEvents(history []Event, cryopreserved bool) ([]Event, error) {
	var last Event
	thawed := false
	for i, e := range history {
		allowed := allowedAfter(last, thawed, cryopreserved)
		if !slices.Contains(allowed, e) {
			return nil, clink.Invalid(fmt.Sprintf("history[%d]", i), "%s", orderProblem(last, e, allowed, thawed, cryopreserved))
		}
		last = e
		thawed = thawed || e == EventThawed
	}
	return allowedAfter(last, thawed, cryopreserved), nil
}

// CheckNext returns an EINVALID error, field "event", when next may not follow history (see
// NextEvents), saying what may.
func CheckNext(history []Event, next Event, cryopreserved bool) error {
	allowed, err := NextEvents(history, cryopreserved)
	if err != nil {
		return err
	}
	if !slices.Contains(allowed, next) {
		var last Event
		if len(history) > 0 {
			last = history[len(history)-1]
		}
		thawed := slices.Contains(history, EventThawed)
		return clink.Invalid("event", "%s", orderProblem(last, next, allowed, thawed, cryopreserved))
	}
	return nil
}

func allowedAfter(last Event, thawed, cryo bool) []Event {
	switch last {
	case "":
		return []Event{EventPacked}
	case EventPacked:
		return []Event{EventShipped}
	case EventShipped:
		return []Event{EventReceived}
	case EventReceived:
		out := []Event{EventPacked}
		if cryo && !thawed {
			return append(out, EventThawed)
		}
		return append(out, EventInfused)
	case EventThawed:
		return []Event{EventPacked, EventInfused}
	}
	return []Event{} // after the infusion
}

// orderProblem says why e may not follow last.
func orderProblem(last, e Event, allowed []Event, thawed, cryo bool) string {
	after := "as the first event"
	if last != "" {
		after = fmt.Sprintf("after %q", last)
	}
	var why string
	switch {
	case !e.valid():
		why = fmt.Sprintf("%q is not a custody event", limitRunes(string(e), 32))
	case e == EventThawed && !cryo:
		why = "a fresh product is never thawed"
	case e == EventThawed && thawed:
		why = "the unit was already thawed"
	case e == EventInfused && cryo && !thawed:
		why = "a cryopreserved product must be thawed before it is infused"
	case last == EventInfused:
		why = "the unit was infused: nothing follows"
	default:
		why = fmt.Sprintf("%q is not allowed %s", e, after)
	}
	if len(allowed) == 0 {
		return why
	}
	return fmt.Sprintf("%s (allowed %s: %s)", why, after, eventList(allowed))
}

// CustodyEvent is one recorded hand-over of a unit.
type CustodyEvent struct {
	Event  Event     `json:"event"`
	Time   time.Time `json:"time"`   // UTC from the server clock
	Person string    `json:"person"` // the responsible person
	Place  string    `json:"place"`
}

// CheckCustody checks the recorded events of one unit: their order (NextEvents), times that
// are set and never go backwards, and a person and a place for each, since custody can never
// be without a responsible party (gmp.md §6). The error is EINVALID naming every problem,
// fields like "events[2].time".
func CheckCustody(events []CustodyEvent, cryopreserved bool) error {
	var fe clink.FieldErrors
	history := make([]Event, 0, len(events))
	orderOK := true
	for i, e := range events {
		f := fmt.Sprintf("events[%d]", i)
		if orderOK {
			if err := CheckNext(history, e.Event, cryopreserved); err != nil {
				fe.Addf(f+".event", "%s", fieldMessage(err))
				orderOK = false // later events cannot be judged against a broken sequence
			}
		}
		history = append(history, e.Event)
		switch {
		case e.Time.IsZero():
			fe.Addf(f+".time", "is missing")
		case i > 0 && !events[i-1].Time.IsZero() && e.Time.Before(events[i-1].Time):
			fe.Addf(f+".time", "%s is before the previous event (%s)", e.Time.UTC().Format(time.RFC3339), events[i-1].Time.UTC().Format(time.RFC3339))
		}
		if strings.TrimSpace(e.Person) == "" {
			fe.Addf(f+".person", "is empty: every event needs a responsible person")
		}
		if strings.TrimSpace(e.Place) == "" {
			fe.Addf(f+".place", "is empty")
		}
	}
	return fe.Err()
}
