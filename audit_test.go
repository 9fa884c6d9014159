package clink_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/clink-consortium/clink"
	"github.com/google/go-cmp/cmp"
)

// TestAuditChanges checks the field-level diff on hand-written records.
func TestAuditChanges(t *testing.T) {
	ch := func(field, old, new string) clink.FieldChange {
		return clink.FieldChange{Field: field, Old: json.RawMessage(old), New: json.RawMessage(new)}
	}
	for _, tc := range []struct {
		name          string
		before, after string
		want          []clink.FieldChange
	}{
		{"create lists the non-null fields", "", `{"id":1,"day":0,"note":"","nk_pct":null,"created_at":"x","updated_by":"ana"}`,
			[]clink.FieldChange{ch("day", "null", "0"), ch("id", "null", "1"), ch("note", "null", `""`)}},
		{"null before is a create", "null", `{"day":2}`, []clink.FieldChange{ch("day", "null", "2")}},
		{"number changed", `{"viability_pct":80,"day":3,"updated_at":"a"}`, `{"viability_pct":85,"day":3,"updated_at":"b"}`,
			[]clink.FieldChange{ch("viability_pct", "80", "85")}},
		{"nested map compared as a value, key order ignored", `{"markers":{"CD16":70,"NKG2C":33.3}}`, `{"markers":{"NKG2C":33.3, "CD16":70}}`,
			[]clink.FieldChange{}},
		{"nested map changed", `{"markers":{"CD16":70,"NKG2C":33.3}}`, `{"markers":{"CD16":70,"NKG2C":40}}`,
			[]clink.FieldChange{ch("markers", `{"CD16":70,"NKG2C":33.3}`, `{"CD16":70,"NKG2C":40}`)}},
		{"array changed", `{"days":[0,7]}`, `{"days":[0,7,14]}`, []clink.FieldChange{ch("days", "[0,7]", "[0,7,14]")}},
		{"void", `{"voided":false,"note":"n"}`, `{"voided":true,"void_reason":"wrong flask","note":"n"}`,
			[]clink.FieldChange{ch("void_reason", "null", `"wrong flask"`), ch("voided", "false", "true")}},
		{"field set to null", `{"nk_pct":61}`, `{"nk_pct":null}`, []clink.FieldChange{ch("nk_pct", "61", "null")}},
		{"absent and null are equal", `{"nk_pct":null}`, `{}`, []clink.FieldChange{}},
	} {
		got, err := clink.AuditChanges(json.RawMessage(tc.before), json.RawMessage(tc.after))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
	for _, bad := range []string{`[1,2]`, `{"a":`, `"text"`} {
		if got, err := clink.AuditChanges(nil, json.RawMessage(bad)); err == nil {
			t.Errorf("AuditChanges(nil, %s): got %v and no error, want an error", bad, got)
		}
	}
}

// TestAuditHashCoversUserAndChanges checks the canonical encoding against one written out by
// hand, and that altering the user id or the changes changes the hash.
func TestAuditHashCoversUserAndChanges(t *testing.T) {
	withChanges := clink.AuditEvent{Seq: 7, Time: time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.UTC), Actor: "ana",
		Action: "update", Entity: "observation", EntityID: 4, Site: "ZGZ", Reason: "recounted",
		Before: json.RawMessage(`{"a":1}`), After: json.RawMessage(`{"a":2}`), UserID: 3,
		Changes: []clink.FieldChange{{Field: "a", Old: json.RawMessage("1"), New: json.RawMessage("2")}}}
	prev := clink.AuditGenesis
	canon := `[7,"2025-03-14T09:26:53.589793Z","ana","update","observation",4,"ZGZ","recounted","{\"a\":1}","{\"a\":2}",3,"[{\"field\":\"a\",\"old\":1,\"new\":2}]"]`
	sum := sha256.Sum256([]byte(prev + "\n" + canon))
	base := withChanges.ComputeHash(prev)
	if want := hex.EncodeToString(sum[:]); base != want {
		t.Fatalf("event with user and changes: got %s, want %s", base, want)
	}
	for _, tc := range []struct {
		name  string
		alter func(e *clink.AuditEvent)
	}{
		{"user id", func(e *clink.AuditEvent) { e.UserID = 4 }},
		{"user id removed", func(e *clink.AuditEvent) { e.UserID = 0 }},
		{"new value", func(e *clink.AuditEvent) { e.Changes[0].New = json.RawMessage("3") }},
		{"field name", func(e *clink.AuditEvent) { e.Changes[0].Field = "b" }},
		{"changes emptied", func(e *clink.AuditEvent) { e.Changes = []clink.FieldChange{} }},
		{"changes removed", func(e *clink.AuditEvent) { e.Changes = nil }},
	} {
		alt := withChanges
		alt.Changes = append([]clink.FieldChange(nil), withChanges.Changes...)
		tc.alter(&alt)
		if got := alt.ComputeHash(prev); got == base {
			t.Errorf("%s altered: got the unaltered hash %s, want another", tc.name, got)
		}
	}
}
