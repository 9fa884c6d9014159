package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/clink-consortium/clink"
)

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// timeCol scans a time column: time.Time from PostgreSQL, RFC 3339 text from SQLite.
type timeCol struct{ t *time.Time }

func (c timeCol) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		*c.t = v.UTC()
	case string:
		return c.parse(v)
	case []byte:
		return c.parse(string(v))
	default:
		return fmt.Errorf("cannot scan %T into a time", src)
	}
	return nil
}

func (c timeCol) parse(s string) error {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return err
	}
	*c.t = t.UTC()
	return nil
}

// jsonCol scans a JSON text column into v.
type jsonCol struct{ v any }

func (c jsonCol) Scan(src any) error {
	switch b := src.(type) {
	case string:
		return json.Unmarshal([]byte(b), c.v)
	case []byte:
		return json.Unmarshal(b, c.v)
	case nil:
		return nil
	default:
		return fmt.Errorf("cannot scan %T as JSON", src)
	}
}

// rawCol scans a nullable JSON text column into a json.RawMessage, keeping NULL as nil.
type rawCol struct{ v *json.RawMessage }

func (c rawCol) Scan(src any) error {
	switch b := src.(type) {
	case string:
		*c.v = json.RawMessage(b)
	case []byte:
		*c.v = append(json.RawMessage(nil), b...)
	case nil:
		*c.v = nil
	default:
		return fmt.Errorf("cannot scan %T as JSON", src)
	}
	return nil
}

// jsonText encodes v for a JSON text column. The domain types validate away NaN and
// infinities, so encoding fails only on a bug; floats are written in the shortest form that
// reads back as the same float64.
func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// metaDest returns the scan destinations of the four Meta columns.
func metaDest(m *clink.Meta) []any {
	return []any{timeCol{&m.CreatedAt}, &m.CreatedBy, timeCol{&m.UpdatedAt}, &m.UpdatedBy}
}

// metaCols lists the Meta columns in the order of metaDest.
const metaCols = "created_at, created_by, updated_at, updated_by"

// stamp fills m for a new record written with ctx in t.
func (t *tx) stamp(ctx context.Context, m *clink.Meta) {
	actor := clink.ActorFrom(ctx)
	*m = clink.Meta{CreatedAt: t.now, CreatedBy: actor, UpdatedAt: t.now, UpdatedBy: actor}
}

// restamp keeps the creation of old and records a change made now with ctx.
func (t *tx) restamp(ctx context.Context, m *clink.Meta, old clink.Meta) {
	*m = clink.Meta{CreatedAt: old.CreatedAt, CreatedBy: old.CreatedBy, UpdatedAt: t.now, UpdatedBy: clink.ActorFrom(ctx)}
}

// Audit actions.
const (
	actionCreate = "create"
	actionUpdate = "update"
	actionVoid   = "void"
	actionStatus = "status"
)

// audit records a write made with ctx: before and after are the record (nil before a create).
// The event names the actor's user id (0 when no user has the actor's name, as for the demo,
// import and cli processes) and lists the fields that changed (clink.AuditChanges). It is
// chained to the one before it (clink.AuditEvent.ComputeHash) and the chain's head moves to
// it, all in the write's transaction.
func (t *tx) audit(ctx context.Context, action, entity string, id int64, site, reason string, before, after any) error {
	e := &clink.AuditEvent{Time: t.now, Actor: clink.ActorFrom(ctx), Action: action, Entity: entity,
		EntityID: id, Site: site, Reason: reason}
	var cols [2]any // before_json, after_json: NULL when there is no record
	for i, v := range []any{before, after} {
		if v == nil {
			continue
		}
		text, err := jsonText(v)
		if err != nil {
			return err
		}
		cols[i] = text
		if i == 0 {
			e.Before = json.RawMessage(text)
		} else {
			e.After = json.RawMessage(text)
		}
	}
	changes, err := clink.AuditChanges(e.Before, e.After)
	if err != nil {
		return err
	}
	e.Changes = changes
	changesText, err := jsonText(changes)
	if err != nil {
		return err
	}
	switch err := t.QueryRowContext(ctx, `SELECT id FROM users WHERE username = $1`, e.Actor).Scan(&e.UserID); {
	case errors.Is(err, sql.ErrNoRows):
		e.UserID = 0
	case err != nil:
		return fmt.Errorf("find audit user: %w", err)
	}
	// Moving the head first takes its row lock, so concurrent writers chain one after another.
	if err := t.QueryRowContext(ctx, `UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash`).
		Scan(&e.Seq, &e.PrevHash); err != nil {
		return fmt.Errorf("advance audit head: %w", err)
	}
	e.Hash = e.ComputeHash(e.PrevHash)
	if _, err := t.ExecContext(ctx, `UPDATE audit_head SET hash = $1 WHERE id = 1`, e.Hash); err != nil {
		return fmt.Errorf("record audit head: %w", err)
	}
	_, err = t.ExecContext(ctx, `INSERT INTO audit_events (at, actor, action, entity, entity_id, site, reason, before_json, after_json, seq, prev_hash, hash, user_id, changes_json)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		t.ts(e.Time), e.Actor, action, entity, id, site, reason, cols[0], cols[1], e.Seq, e.PrevHash, e.Hash, e.UserID, changesText)
	return err
}

// where builds a WHERE clause whose placeholders are numbered in order.
type where struct {
	conds []string
	args  []any
}

// add appends a condition; its single "?" becomes the next $N bound to arg.
func (w *where) add(cond string, arg any) {
	w.args = append(w.args, arg)
	w.conds = append(w.conds, strings.Replace(cond, "?", "$"+strconv.Itoa(len(w.args)), 1))
}

// addIf adds the condition when ok.
func (w *where) addIf(ok bool, cond string, arg any) {
	if ok {
		w.add(cond, arg)
	}
}

// sql returns " WHERE a AND b", or "" without conditions.
func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// page returns " LIMIT $n OFFSET $m" and the arguments with the page's bounds appended.
func (w *where) page(p clink.Page) (string, []any) {
	n := len(w.args)
	args := append(append([]any(nil), w.args...), p.Limit, p.Offset)
	return fmt.Sprintf(" LIMIT $%d OFFSET $%d", n+1, n+2), args
}

// assignVersion picks the version of a new record of a versioned table (protocols,
// gating_templates, named by our code, never by input): version 0 becomes the one after the
// highest version of name; a version given must not exist yet, else taken is true and next is
// the version to suggest instead.
func (t *tx) assignVersion(ctx context.Context, table, name string, version int) (v int, next int64, taken bool, err error) {
	var max sql.NullInt64
	if err := t.QueryRowContext(ctx, "SELECT MAX(version) FROM "+table+" WHERE name = $1", name).Scan(&max); err != nil {
		return 0, 0, false, err
	}
	next = max.Int64 + 1
	if version == 0 {
		return int(next), next, false, nil
	}
	if !max.Valid {
		return version, next, false, nil
	}
	var n int
	if err := t.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table+" WHERE name = $1 AND version = $2", name, version).Scan(&n); err != nil {
		return 0, 0, false, err
	}
	return version, next, n > 0, nil
}

// listQuery is a list of records: what to count, what to select and in which order.
type listQuery struct {
	count string // the FROM of the count (a table, or the tables its conditions need)
	from  string // the FROM of the selected rows
	cols  string
	order string // the ORDER BY, which must make the order total so that pages do not overlap
}

// listPage returns the page pg of the rows of q that match w, scanned by scan, and how many
// rows match in all.
func listPage[T any](ctx context.Context, t *tx, q listQuery, w *where, pg clink.Page, scan func(scanner) (T, error)) ([]T, int, error) {
	total, err := t.count(ctx, q.count, w)
	if err != nil {
		return nil, 0, err
	}
	limit, args := w.page(pg)
	rows, err := t.QueryContext(ctx, "SELECT "+q.cols+" FROM "+q.from+w.sql()+" ORDER BY "+q.order+limit, args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, v)
	}
	return out, total, rows.Err()
}

// count returns the number of rows of from (a table with joins) that match w.
func (t *tx) count(ctx context.Context, from string, w *where) (int, error) {
	var n int
	err := t.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+from+w.sql(), w.args...).Scan(&n)
	return n, err
}

// notFound returns ENOTFOUND for a missing record, and err itself otherwise.
func notFound(err error, format string, args ...any) error {
	if errors.Is(err, sql.ErrNoRows) {
		return clink.Errorf(clink.ENOTFOUND, format, args...)
	}
	return err
}

// requireReason checks the reason a correction or void must give.
func requireReason(reason string) error {
	if strings.TrimSpace(reason) == "" {
		return clink.Invalid("reason", "is required: say why the record is changed")
	}
	if len(reason) > 2000 {
		return clink.Invalid("reason", "is longer than 2000 characters")
	}
	if strings.ContainsRune(reason, 0) || !utf8.ValidString(reason) {
		return clink.Invalid("reason", "holds a NUL character or bytes that are not UTF-8")
	}
	return nil
}

// mergeInvalid joins the field errors of EINVALID errors into one; other errors win.
func mergeInvalid(errs ...error) error {
	var fe clink.FieldErrors
	var only error
	n := 0
	for _, err := range errs {
		if err == nil {
			continue
		}
		if clink.ErrorCode(err) != clink.EINVALID {
			return err
		}
		n++
		only = err
		fe = append(fe, clink.ErrorFields(err)...)
	}
	if n <= 1 {
		return only
	}
	return fe.Err()
}

// checkSite reports EINVALID on field "site" when no site has the code.
func (t *tx) checkSite(ctx context.Context, code string) error {
	var n int
	if err := t.QueryRowContext(ctx, "SELECT COUNT(*) FROM sites WHERE code = $1", code).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return clink.Invalid("site", "no site has the code %s", code)
	}
	return nil
}
