package clink

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// AuditGenesis is the previous hash of the first audit event of a database.
const AuditGenesis = "0000000000000000000000000000000000000000000000000000000000000000"

// auditTimeLayout is the canonical form of an event's time: UTC, microseconds, fixed width.
const auditTimeLayout = "2006-01-02T15:04:05.000000Z"

// ComputeHash returns the hash that chains e to the event before it: the hex SHA-256 of
// prev, a newline, and the canonical encoding of e (a JSON array of its sequence number, time,
// actor, action, entity, entity id, site, reason, the before and after texts as strings, its
// user id and the JSON text of its changes). Any change to a stored event, or to its place in
// the chain, changes the hash.
func (e *AuditEvent) ComputeHash(prev string) string {
	changes, err := json.Marshal(e.Changes)
	if err != nil {
		// A FieldChange holds a string and JSON values read back from JSON: this cannot happen.
		panic(fmt.Sprintf("clink: canonical audit encoding: %v", err))
	}
	fields := []any{
		e.Seq, e.Time.UTC().Truncate(time.Microsecond).Format(auditTimeLayout), e.Actor, e.Action,
		e.Entity, e.EntityID, e.Site, e.Reason, string(e.Before), string(e.After), e.UserID, string(changes),
	}
	canon, err := json.Marshal(fields)
	if err != nil {
		// Only strings and integers are encoded: this cannot happen.
		panic(fmt.Sprintf("clink: canonical audit encoding: %v", err))
	}
	h := sha256.New()
	h.Write([]byte(prev))
	h.Write([]byte{'\n'})
	h.Write(canon)
	return hex.EncodeToString(h.Sum(nil))
}

// AuditChain is the result of a successful verification of the audit trail.
type AuditChain struct {
	Events int    `json:"events"`
	Head   string `json:"head"`
}

// AuditBreak says where the audit chain stops verifying: the first event (by position) that
// was altered, removed, inserted or reordered. ErrorCode of an *AuditBreak is ECONFLICT.
type AuditBreak struct {
	EventID int64  // id of the event where the chain breaks (0 when events are missing at the end)
	Seq     int64  // the sequence number expected at that position
	Problem string // what is wrong
}

func (b *AuditBreak) Error() string {
	if b.EventID == 0 {
		return fmt.Sprintf("audit chain broken after sequence %d: %s", b.Seq-1, b.Problem)
	}
	return fmt.Sprintf("audit chain broken at event %d (sequence %d): %s", b.EventID, b.Seq, b.Problem)
}

// VerifyAuditChain checks events, given in storage order, against the chain: consecutive
// sequence numbers from 1, each previous hash equal to the hash before it, each hash equal to
// the recomputed one, and the last hash and sequence equal to the recorded head.
func VerifyAuditChain(events func(yield func(*AuditEvent) bool) error, headSeq int64, headHash string) (AuditChain, error) {
	prev, seq := AuditGenesis, int64(0)
	var brk *AuditBreak
	err := events(func(e *AuditEvent) bool {
		seq++
		switch {
		case e.Seq != seq:
			brk = &AuditBreak{EventID: e.ID, Seq: seq, Problem: fmt.Sprintf("sequence %d found where %d belongs: an event was removed, inserted or reordered", e.Seq, seq)}
		case e.PrevHash != prev:
			brk = &AuditBreak{EventID: e.ID, Seq: seq, Problem: "its previous hash does not match the event before it: an event was removed, inserted or reordered"}
		case e.ComputeHash(prev) != e.Hash:
			brk = &AuditBreak{EventID: e.ID, Seq: seq, Problem: "its content does not match its hash: the event was altered"}
		}
		if brk != nil {
			return false
		}
		prev = e.Hash
		return true
	})
	if err != nil {
		return AuditChain{}, err
	}
	if brk != nil {
		return AuditChain{}, brk
	}
	if seq != headSeq || prev != headHash {
		return AuditChain{}, &AuditBreak{Seq: seq + 1, Problem: fmt.Sprintf("the chain ends at sequence %d but the recorded head is sequence %d: events were removed or the head was altered", seq, headSeq)}
	}
	return AuditChain{Events: int(seq), Head: prev}, nil
}

// provenanceFields are the fields of Meta, which every write restamps: AuditChanges leaves
// them out.
var provenanceFields = map[string]bool{"created_at": true, "created_by": true, "updated_at": true, "updated_by": true}

// AuditChanges compares the JSON objects before and after (either may be empty or null, for a
// create or a removal) and returns, sorted by field name, every top-level field whose value
// differs, except the provenance fields created_at, created_by, updated_at and updated_by.
// Nested objects and arrays are compared as JSON values; an absent field counts as null, and
// its side of the change is null. A create therefore lists every field it sets to a non-null
// value. The result is empty, not nil, when nothing differs. A before or after that is not a
// JSON object is an error.
func AuditChanges(before, after json.RawMessage) ([]FieldChange, error) {
	b, err := auditObject("before", before)
	if err != nil {
		return nil, err
	}
	a, err := auditObject("after", after)
	if err != nil {
		return nil, err
	}
	var names []string
	for k := range b {
		names = append(names, k)
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	out := []FieldChange{}
	for _, k := range names {
		if provenanceFields[k] {
			continue
		}
		old, nu := b[k], a[k]
		if old == nil {
			old = json.RawMessage("null")
		}
		if nu == nil {
			nu = json.RawMessage("null")
		}
		if bytes.Equal(old, nu) {
			continue
		}
		out = append(out, FieldChange{Field: k, Old: old, New: nu})
	}
	return out, nil
}

// auditObject decodes a JSON object into its fields, each in a canonical form (compact, object
// keys sorted, numbers as written) so that equal values have equal bytes. Null fields are
// left out.
func auditObject(side string, raw json.RawMessage) (map[string]json.RawMessage, error) {
	out := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(raw)) == 0 {
		return out, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, fmt.Errorf("clink: audit changes: %s is not a JSON object: %w", side, err)
	}
	for k, v := range obj {
		if v == nil {
			continue
		}
		canon, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("clink: audit changes: %s field %s: %w", side, k, err)
		}
		out[k] = canon
	}
	return out, nil
}
