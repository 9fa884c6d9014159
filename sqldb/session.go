package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/clink-consortium/clink"
)

// Audit actions and entity of web sessions.
const (
	actionLogin   = "login"
	actionLogout  = "logout"
	entitySession = "session"
)

// sessionTouchInterval is how stale a session's last_seen_at may grow before SessionUser
// writes it again: refreshing it on every request would make every page view a write.
const sessionTouchInterval = time.Minute

// maxSessionIDLength bounds the session ids SessionUser and EndSession look up; CLINK's have
// 52 characters.
const maxSessionIDLength = 200

// sessionView is what the audit trail records of a session: never its id.
type sessionView struct {
	Session   int64     `json:"session"`
	Username  string    `json:"username"`
	CreatedAt time.Time `json:"created_at"`
	EndedAt   time.Time `json:"ended_at,omitzero"`
}

// sessionRow is a stored session with the name of its user.
type sessionRow struct {
	id        int64
	username  string
	createdAt time.Time
	lastSeen  time.Time
	endedAt   *time.Time
}

// findSession returns the session whose id has the SHA-256 digest, or clink.ErrBadSession.
func (t *tx) findSession(ctx context.Context, digest string) (*sessionRow, error) {
	var r sessionRow
	err := t.QueryRowContext(ctx, `SELECT s.id, u.username, s.created_at, s.last_seen_at, s.ended_at
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.secret_sha256 = $1`, digest).
		Scan(&r.id, &r.username, timeCol{&r.createdAt}, timeCol{&r.lastSeen}, nullTimeCol{&r.endedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, clink.ErrBadSession
	}
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// CreateSession opens a web session for the enabled user named username and returns its id:
// 256 random bits in lower-case base32, of which the store keeps only the SHA-256. Callers
// create a session only after the user's password was checked (Authenticate). The sign-in is
// audited as the action login, by the user, without the id.
func (s *Store) CreateSession(ctx context.Context, username string) (string, error) {
	ctx = clink.WithActor(ctx, username)
	var secret string
	err := s.transact(ctx, "create_session", false, func(t *tx) error {
		u, _, err := t.findUser(ctx, username)
		if err != nil {
			return err
		}
		if u.Disabled {
			return clink.Errorf(clink.ECONFLICT, "user %s is disabled", username)
		}
		if secret, err = newTokenSecret(); err != nil {
			return err
		}
		var id int64
		if err := t.QueryRowContext(ctx, `INSERT INTO sessions (user_id, secret_sha256, created_at, last_seen_at)
			VALUES ($1, $2, $3, $4) RETURNING id`, u.ID, secretDigest(secret), t.ts(t.now), t.ts(t.now)).Scan(&id); err != nil {
			return err
		}
		view := sessionView{Session: id, Username: u.Username, CreatedAt: t.now}
		return t.audit(ctx, actionLogin, entitySession, id, u.Site, "signed in with password", nil, view)
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// SessionUser returns the user of the open session with id, when its user is enabled and it
// was last used no longer than idle ago; every refusal is clink.ErrBadSession. A session found
// idle for too long is ended. The last use is written at most once a minute, so the idle time
// is counted from a moment up to a minute before the true last use.
func (s *Store) SessionUser(ctx context.Context, id string, idle time.Duration) (*clink.User, error) {
	if id == "" || len(id) > maxSessionIDLength || idle <= 0 {
		return nil, clink.ErrBadSession
	}
	digest := secretDigest(id)
	var u *clink.User
	var row *sessionRow
	var now time.Time
	var expired bool
	err := s.transact(ctx, "session_user", true, func(t *tx) error {
		var err error
		if row, err = t.findSession(ctx, digest); err != nil {
			return err
		}
		if row.endedAt != nil {
			return clink.ErrBadSession
		}
		now = t.now
		if now.Sub(row.lastSeen) > idle || now.Sub(row.createdAt) > clink.MaxSessionLifetime {
			expired = true
			return nil
		}
		if u, _, err = t.findUser(ctx, row.username); err != nil {
			return err
		}
		if u.Disabled {
			return clink.ErrBadSession
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if expired {
		err := s.transact(ctx, "expire_session", false, func(t *tx) error {
			reason := "idle timeout"
			if now.Sub(row.createdAt) > clink.MaxSessionLifetime {
				reason = "lifetime over"
			}
			_, err := t.ExecContext(ctx, "UPDATE sessions SET ended_at = $1, end_reason = $2 WHERE id = $3 AND ended_at IS NULL",
				t.ts(t.now), reason, row.id)
			return err
		})
		if err != nil {
			return nil, err
		}
		return nil, clink.ErrBadSession
	}
	if now.Sub(row.lastSeen) >= sessionTouchInterval {
		err := s.transact(ctx, "touch_session", false, func(t *tx) error {
			_, err := t.ExecContext(ctx, "UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND ended_at IS NULL",
				t.ts(t.now), row.id)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return u, nil
}

// EndSession ends the open session with id (a sign-out) and audits it as the action logout,
// by the session's user. An unknown or already ended session is clink.ErrBadSession.
func (s *Store) EndSession(ctx context.Context, id string) error {
	if id == "" || len(id) > maxSessionIDLength {
		return clink.ErrBadSession
	}
	digest := secretDigest(id)
	return s.transact(ctx, "end_session", false, func(t *tx) error {
		row, err := t.findSession(ctx, digest)
		if err != nil {
			return err
		}
		if row.endedAt != nil {
			return clink.ErrBadSession
		}
		u, _, err := t.findUser(ctx, row.username)
		if err != nil {
			return err
		}
		if _, err := t.ExecContext(ctx, "UPDATE sessions SET ended_at = $1, end_reason = $2 WHERE id = $3",
			t.ts(t.now), "logout", row.id); err != nil {
			return err
		}
		before := sessionView{Session: row.id, Username: row.username, CreatedAt: row.createdAt}
		after := before
		after.EndedAt = t.now
		return t.audit(clink.WithActor(ctx, row.username), actionLogout, entitySession, row.id, u.Site, "signed out", before, after)
	})
}
