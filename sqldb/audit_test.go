package sqldb_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/sqldb"
	"github.com/google/go-cmp/cmp"
)

// tamper runs statements on the database as an attacker with direct access would: with the
// append-only triggers dropped first.
func tamper(t *testing.T, s *sqldb.Store, stmts ...string) {
	t.Helper()
	drop := []string{"DROP TRIGGER IF EXISTS audit_events_no_update", "DROP TRIGGER IF EXISTS audit_events_no_delete"}
	if s.Dialect() == sqldb.DialectPostgres {
		drop = []string{"DROP TRIGGER IF EXISTS audit_events_no_update ON audit_events"}
	}
	for _, q := range append(drop, stmts...) {
		if _, err := s.DB().ExecContext(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// TestAuditChain checks that the audit trail verifies while untouched, that the database
// refuses to change or delete events, and that each kind of tampering is found and named.
func TestAuditChain(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		f := seed(t, s)
		for day := 0; day < 3; day++ {
			must(t, s.CreateObservation(actx, newObservation(f.zgzCulture, day)))
		}
		chain, err := s.VerifyAudit(actx)
		must(t, err)
		events, total, err := s.FindAuditEvents(actx, clink.AuditFilter{Page: clink.Page{Limit: 1000}})
		must(t, err)
		if chain.Events != total || chain.Head != events[len(events)-1].Hash || len(chain.Head) != 64 {
			t.Fatalf("chain = %+v, want %d events ending at %s", chain, total, events[len(events)-1].Hash)
		}
		if events[0].PrevHash != clink.AuditGenesis || events[1].PrevHash != events[0].Hash || events[1].Seq != 2 {
			t.Fatalf("first events are not chained: %+v / %+v", events[0], events[1])
		}

		for _, q := range []string{"UPDATE audit_events SET reason = 'x'", "DELETE FROM audit_events"} {
			if _, err := s.DB().ExecContext(context.Background(), q); err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: got %v, want the database to refuse it as append-only", q, err)
			}
		}
		if _, err := s.VerifyAudit(actx); err != nil {
			t.Fatalf("after refused tampering: %v", err)
		}

		victim := events[4]
		tamper(t, s, "UPDATE audit_events SET actor = 'mallory' WHERE id = "+itoa(victim.ID))
		wantBreak(t, s, victim.ID, "altered")
		tamper(t, s, "UPDATE audit_events SET actor = '"+victim.Actor+"' WHERE id = "+itoa(victim.ID))
		if _, err := s.VerifyAudit(actx); err != nil {
			t.Fatalf("after restoring event %d: %v", victim.ID, err)
		}

		// Removing an event breaks the chain at the one after it.
		tamper(t, s, "DELETE FROM audit_events WHERE id = "+itoa(events[6].ID))
		wantBreak(t, s, events[7].ID, "removed")
	})
}

// TestAuditChainTruncated checks that removing the newest events is found through the head.
func TestAuditChainTruncated(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		seed(t, s)
		events, _, err := s.FindAuditEvents(actx, clink.AuditFilter{Page: clink.Page{Limit: 1000}})
		must(t, err)
		tamper(t, s, "DELETE FROM audit_events WHERE id = "+itoa(events[len(events)-1].ID))
		_, err = s.VerifyAudit(actx)
		var brk *clink.AuditBreak
		if !errors.As(err, &brk) || !strings.Contains(brk.Error(), "removed") {
			t.Fatalf("after removing the newest event: got %v, want a break saying events were removed", err)
		}
	})
}

func wantBreak(t *testing.T, s *sqldb.Store, id int64, word string) {
	t.Helper()
	_, err := s.VerifyAudit(actx)
	var brk *clink.AuditBreak
	if !errors.As(err, &brk) {
		t.Fatalf("verify after tampering: got %v, want an *AuditBreak", err)
	}
	if brk.EventID != id || !strings.Contains(brk.Problem, word) {
		t.Fatalf("break = %v, want event %d %s", brk, id, word)
	}
	if clink.ErrorCode(err) != clink.ECONFLICT {
		t.Errorf("ErrorCode = %s, want conflict", clink.ErrorCode(err))
	}
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

// TestAuditFilters checks the user and time filters on both databases (times are text in
// SQLite and TIMESTAMPTZ in PostgreSQL).
func TestAuditFilters(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		f := seed(t, s)
		must(t, s.CreateObservation(clink.WithActor(context.Background(), "ana"), newObservation(f.zgzCulture, 0)))
		all, total, err := s.FindAuditEvents(actx, clink.AuditFilter{Page: clink.Page{Limit: 1000}})
		must(t, err)
		for _, tc := range []struct {
			name string
			f    clink.AuditFilter
			want int
		}{
			{"by user", clink.AuditFilter{Actor: "ana"}, 1},
			{"from the sixth event", clink.AuditFilter{From: all[5].Time}, total - 5},
			{"before the sixth event", clink.AuditFilter{To: all[5].Time}, 5},
			{"one instant", clink.AuditFilter{From: all[5].Time, To: all[6].Time}, 1},
		} {
			_, n, err := s.FindAuditEvents(actx, tc.f)
			must(t, err)
			if n != tc.want {
				t.Errorf("%s: got %d events, want %d", tc.name, n, tc.want)
			}
		}
	})
}

// TestAuditChangesAndUser checks the user id and the field-level changes of the events of a
// create, a correction (a number and a nested map) and a void, and that altering either of them
// in the database breaks the chain at that event. The expected JSON values are the fixture's
// (newObservation) and the corrections below, written out by hand.
func TestAuditChangesAndUser(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		f := seed(t, s)
		ana := newUser("ana", "ZGZ", clink.RoleResearcher)
		must(t, s.CreateUser(actx, ana, researPass))
		actx := clink.WithActor(context.Background(), "ana")

		o := newObservation(f.zgzCulture, 3)
		must(t, s.CreateObservation(actx, o))
		o.ViabilityPct = fptr(85)
		o.Markers = map[string]float64{"NKG2C": 40, "CD16": 70}
		must(t, s.UpdateObservation(actx, o, "recounted"))
		_, err := s.VoidObservation(actx, o.ID, "wrong flask")
		must(t, err)

		events, _, err := s.FindAuditEvents(actx, clink.AuditFilter{Entity: "observation", EntityID: o.ID})
		must(t, err)
		if len(events) != 3 {
			t.Fatalf("got %d events of observation %d, want 3", len(events), o.ID)
		}
		ch := func(field, old, new string) clink.FieldChange {
			return clink.FieldChange{Field: field, Old: json.RawMessage(old), New: json.RawMessage(new)}
		}
		for i, tc := range []struct {
			action string
			reason string
			want   []clink.FieldChange // nil: only check the fields in pick
			pick   []clink.FieldChange
		}{
			{action: "create", pick: []clink.FieldChange{
				ch("day", "null", "3"),
				ch("markers", "null", `{"CD16":70,"NKG2C":33.3}`),
				ch("viability_pct", "null", "92.5"),
				ch("voided", "null", "false"),
			}},
			{action: "update", reason: "recounted", want: []clink.FieldChange{
				ch("markers", `{"CD16":70,"NKG2C":33.3}`, `{"CD16":70,"NKG2C":40}`),
				ch("viability_pct", "92.5", "85"),
			}},
			{action: "void", reason: "wrong flask", want: []clink.FieldChange{
				ch("void_reason", "null", `"wrong flask"`),
				ch("voided", "false", "true"),
			}},
		} {
			e := events[i]
			if e.Action != tc.action || e.Reason != tc.reason || e.Actor != "ana" || e.UserID != ana.ID {
				t.Errorf("event %d: got %s/%q by %s (user %d), want %s/%q by ana (user %d)",
					i, e.Action, e.Reason, e.Actor, e.UserID, tc.action, tc.reason, ana.ID)
			}
			if tc.want != nil {
				if diff := cmp.Diff(tc.want, e.Changes); diff != "" {
					t.Errorf("%s changes (-want +got):\n%s", tc.action, diff)
				}
				continue
			}
			got := map[string]clink.FieldChange{}
			for _, c := range e.Changes {
				if strings.HasPrefix(c.Field, "created_") || strings.HasPrefix(c.Field, "updated_") {
					t.Errorf("%s changes list the provenance field %s", tc.action, c.Field)
				}
				got[c.Field] = c
			}
			for _, w := range tc.pick {
				if diff := cmp.Diff(w, got[w.Field]); diff != "" {
					t.Errorf("%s change of %s (-want +got):\n%s", tc.action, w.Field, diff)
				}
			}
		}

		// Writes by a process without a user account carry user id 0.
		all, _, err := s.FindAuditEvents(actx, clink.AuditFilter{Actor: "tester", Page: clink.Page{Limit: 1}})
		must(t, err)
		if len(all) != 1 || all[0].UserID != 0 || len(all[0].Changes) == 0 {
			t.Fatalf("event by tester: got %+v, want user id 0 and the created fields", all)
		}

		must(t, func() error { _, err := s.VerifyAudit(actx); return err }())
		upd := events[1]
		tamper(t, s, `UPDATE audit_events SET changes_json = '[{"field":"viability_pct","old":92.5,"new":95}]' WHERE id = `+itoa(upd.ID))
		wantBreak(t, s, upd.ID, "altered")
		tamper(t, s, "UPDATE audit_events SET changes_json = NULL WHERE id = "+itoa(upd.ID))
		wantBreak(t, s, upd.ID, "altered")
		restore, err := json.Marshal(upd.Changes)
		must(t, err)
		tamper(t, s, "UPDATE audit_events SET changes_json = '"+string(restore)+"' WHERE id = "+itoa(upd.ID))
		must(t, func() error { _, err := s.VerifyAudit(actx); return err }())
		tamper(t, s, "UPDATE audit_events SET user_id = 0 WHERE id = "+itoa(upd.ID))
		wantBreak(t, s, upd.ID, "altered")
	})
}
