package sqldb

import (
	"context"
	"errors"
	"fmt"

	"github.com/clink-consortium/clink"
)

// auditCols are the columns scanAudit reads. A NULL changes_json (never written by the store;
// only by someone tampering) reads as nil Changes, which no longer matches the event's hash.
const auditCols = "id, at, actor, action, entity, entity_id, site, reason, before_json, after_json, seq, prev_hash, hash, user_id, changes_json"

func scanAudit(r scanner) (*clink.AuditEvent, error) {
	e := &clink.AuditEvent{}
	err := r.Scan(&e.ID, timeCol{&e.Time}, &e.Actor, &e.Action, &e.Entity, &e.EntityID, &e.Site, &e.Reason,
		rawCol{&e.Before}, rawCol{&e.After}, &e.Seq, &e.PrevHash, &e.Hash, &e.UserID, jsonCol{&e.Changes})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// FindAuditEvents returns a page of the audit events that match f, oldest first, and how many
// match.
func (s *Store) FindAuditEvents(ctx context.Context, f clink.AuditFilter) ([]*clink.AuditEvent, int, error) {
	pg, err := f.Page.Normalize()
	if err != nil {
		return nil, 0, err
	}
	var w where
	w.addIf(f.Entity != "", "entity = ?", f.Entity)
	w.addIf(f.EntityID != 0, "entity_id = ?", f.EntityID)
	w.addIf(f.Actor != "", "actor = ?", f.Actor)
	w.addIf(!f.From.IsZero(), "at >= ?", tsValue(s.dialect, f.From))
	w.addIf(!f.To.IsZero(), "at < ?", tsValue(s.dialect, f.To))
	out := []*clink.AuditEvent{}
	var total int
	err = s.transact(ctx, "find_audit_events", true, func(t *tx) (err error) {
		out, total, err = listPage(ctx, t, listQuery{count: "audit_events", from: "audit_events", cols: auditCols, order: "id"}, &w, pg, scanAudit)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// VerifyAudit reads every audit event in storage order and checks the hash chain against the
// recorded head (clink.VerifyAuditChain). It reads in one transaction, so concurrent writes do
// not disturb it.
func (s *Store) VerifyAudit(ctx context.Context) (clink.AuditChain, error) {
	var chain clink.AuditChain
	err := s.transact(ctx, "verify_audit", true, func(t *tx) error {
		var headSeq int64
		var headHash string
		if err := t.QueryRowContext(ctx, "SELECT seq, hash FROM audit_head WHERE id = 1").Scan(&headSeq, &headHash); err != nil {
			return fmt.Errorf("read audit head: %w", err)
		}
		rows, err := t.QueryContext(ctx, "SELECT "+auditCols+" FROM audit_events ORDER BY id")
		if err != nil {
			return err
		}
		defer rows.Close()
		events := func(yield func(*clink.AuditEvent) bool) error {
			for rows.Next() {
				e, err := scanAudit(rows)
				if err != nil {
					return err
				}
				if !yield(e) {
					return nil
				}
			}
			return rows.Err()
		}
		chain, err = clink.VerifyAuditChain(events, headSeq, headHash)
		return err
	})
	if err != nil {
		var brk *clink.AuditBreak
		if errors.As(err, &brk) {
			return clink.AuditChain{}, brk
		}
		return clink.AuditChain{}, err
	}
	return chain, nil
}
