package http_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/clink-consortium/clink"
)

// TestObservationHistory checks the history of one record through the API: a correction
// without a reason is refused with 422 and changes nothing; with a reason, the audit trail
// shows the old and new value of each changed field, the reason, and the user's name and id.
// The expected values are the ones written by the test itself.
func TestObservationHistory(t *testing.T) {
	f := newFixture(t)
	tester := must(f.srv.Store.FindUserByUsername(f.ctx, "tester"))(t)
	o := must(f.c.CreateObservation(f.ctx, f.culture.ID, &clink.Observation{Day: 3, ViableCells: 2e6,
		ViabilityPct: ptr(80.0), Markers: map[string]float64{"NKG2C": 35, "CD16": 80}}))(t)

	fix := *o
	fix.ViabilityPct = ptr(85.0)
	fix.Markers = map[string]float64{"NKG2C": 41, "CD16": 80}
	_, err := f.c.UpdateObservation(f.ctx, &fix, "")
	wantProblem(t, err, 422, "reason")
	if got := must(f.c.GetObservation(f.ctx, o.ID))(t); *got.ViabilityPct != 80 || got.Markers["NKG2C"] != 35 {
		t.Fatalf("after a refused correction: got viability %g NKG2C %g, want 80 and 35", *got.ViabilityPct, got.Markers["NKG2C"])
	}
	if h := must(f.c.History(f.ctx, "observation", o.ID))(t); len(h) != 1 || h[0].Action != "create" {
		t.Fatalf("after a refused correction: got %d events, want only the create", len(h))
	}

	must(f.c.UpdateObservation(f.ctx, &fix, "recounted on the second chamber"))(t)
	h := must(f.c.History(f.ctx, "observation", o.ID))(t)
	if len(h) != 2 {
		t.Fatalf("got %d events of observation %d, want 2 (create, update)", len(h), o.ID)
	}
	for _, e := range h {
		if e.Actor != "tester" || e.UserID != tester.ID {
			t.Errorf("%s event: got user %q (id %d), want tester (id %d)", e.Action, e.Actor, e.UserID, tester.ID)
		}
	}
	upd := h[1]
	if upd.Action != "update" || upd.Reason != "recounted on the second chamber" {
		t.Errorf("got %s with reason %q, want update with reason %q", upd.Action, upd.Reason, "recounted on the second chamber")
	}
	want := []clink.FieldChange{
		{Field: "markers", Old: json.RawMessage(`{"CD16":80,"NKG2C":35}`), New: json.RawMessage(`{"CD16":80,"NKG2C":41}`)},
		{Field: "viability_pct", Old: json.RawMessage("80"), New: json.RawMessage("85")},
	}
	if diff := cmp.Diff(want, upd.Changes); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
}

// TestUserHistory checks that the history of a user (its creation, here) is reachable through
// the audit filter, and that it carries no password hash.
func TestUserHistory(t *testing.T) {
	f := newFixture(t)
	tester := must(f.srv.Store.FindUserByUsername(f.ctx, "tester"))(t)
	h := must(f.c.History(f.ctx, "user", tester.ID))(t)
	if len(h) == 0 || h[0].Action != "create" {
		t.Fatalf("history of user tester: got %d events, want its creation first", len(h))
	}
	for _, e := range h {
		if strings.Contains(string(e.After), "argon2id") || strings.Contains(string(e.Before), "argon2id") {
			t.Errorf("%s event of tester holds a password hash: %s", e.Action, e.After)
		}
	}
}
