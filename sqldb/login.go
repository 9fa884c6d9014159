package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/clink-consortium/clink"
)

// Audit actions of sign-ins.
const (
	actionLoginFailed = "login_failed"
	actionLock        = "lock"
	actionUnlock      = "unlock"
)

// SetLoginPolicy replaces the policy under which failed sign-ins throttle and lock accounts
// (by default clink.DefaultLoginPolicy). An invalid policy is refused and the current one
// kept. Like SetClock, it must not be called while the store is in use.
func (s *Store) SetLoginPolicy(p clink.LoginPolicy) error {
	if err := p.Validate(); err != nil {
		return err
	}
	s.login = &p
	return nil
}

// LoginPolicy returns the policy the store applies to failed sign-ins.
func (s *Store) LoginPolicy() clink.LoginPolicy {
	if s.login == nil {
		return clink.DefaultLoginPolicy()
	}
	return *s.login
}

// loginView is what the audit trail records of a user's failed sign-ins: never a password.
type loginView struct {
	Username string `json:"username"`
	clink.LoginState
}

// nullTS is ts for an optional time: NULL for the zero time.
func (t *tx) nullTS(v time.Time) any {
	if v.IsZero() {
		return nil
	}
	return t.ts(v)
}

// scanLoginState reads failures, not_before and locked_until.
func scanLoginState(r scanner) (clink.LoginState, error) {
	var st clink.LoginState
	var notBefore, lockedUntil *time.Time
	if err := r.Scan(&st.Failures, nullTimeCol{&notBefore}, nullTimeCol{&lockedUntil}); err != nil {
		return clink.LoginState{}, err
	}
	if notBefore != nil {
		st.NotBefore = *notBefore
	}
	if lockedUntil != nil {
		st.LockedUntil = *lockedUntil
	}
	return st, nil
}

// loginState reads the failed sign-ins of the user with id; a user without a row has none.
func (t *tx) loginState(ctx context.Context, id int64) (clink.LoginState, error) {
	st, err := scanLoginState(t.QueryRowContext(ctx,
		"SELECT failures, not_before, locked_until FROM login_attempts WHERE user_id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return clink.LoginState{}, nil
	}
	return st, err
}

// lockLoginState reads the failed sign-ins of the user with id and holds the row until the
// transaction ends, so that concurrent sign-ins of one user take turns (SQLite's immediate
// transactions already do; in PostgreSQL the no-op update takes the row lock and returns the
// latest committed row). With create, a missing row is inserted with no failures; without,
// exists reports whether there was one.
func (t *tx) lockLoginState(ctx context.Context, id int64, create bool) (st clink.LoginState, exists bool, err error) {
	q := "UPDATE login_attempts SET failures = failures WHERE user_id = $1 RETURNING failures, not_before, locked_until"
	if create {
		q = `INSERT INTO login_attempts (user_id, failures) VALUES ($1, 0)
			ON CONFLICT (user_id) DO UPDATE SET failures = login_attempts.failures
			RETURNING failures, not_before, locked_until`
	}
	st, err = scanLoginState(t.QueryRowContext(ctx, q, id))
	if errors.Is(err, sql.ErrNoRows) && !create {
		return clink.LoginState{}, false, nil
	}
	if err != nil {
		return clink.LoginState{}, false, err
	}
	return st, true, nil
}

// loginFailed records, in its own committed transaction, a failed sign-in of u for the
// cause (said in the audit event's reason), and returns the error the sign-in answers: the
// lock's refusal when this failure locked the account, clink.ErrBadCredentials otherwise.
func (s *Store) loginFailed(ctx context.Context, u *clink.User, cause string) error {
	p := s.LoginPolicy()
	refusal := error(clink.ErrBadCredentials)
	err := s.transact(ctx, "login_failed", false, func(t *tx) error {
		old, _, err := t.lockLoginState(ctx, u.ID, true)
		if err != nil {
			return err
		}
		next, locked := p.Fail(old, t.now)
		if _, err := t.ExecContext(ctx, `UPDATE login_attempts SET failures = $1, last_failure_at = $2, not_before = $3, locked_until = $4
			WHERE user_id = $5`, next.Failures, t.ts(t.now), t.nullTS(next.NotBefore), t.nullTS(next.LockedUntil), u.ID); err != nil {
			return err
		}
		var before any
		if !old.Clear() {
			before = loginView{u.Username, old}
		}
		reason := fmt.Sprintf("failed sign-in %d: %s", next.Failures, cause)
		if err := t.audit(ctx, actionLoginFailed, entityUser, u.ID, u.Site, reason, before, loginView{u.Username, next}); err != nil {
			return err
		}
		if locked {
			reason := fmt.Sprintf("%d consecutive failed sign-ins: locked for %s", next.Failures, p.LockDuration)
			if err := t.audit(ctx, actionLock, entityUser, u.ID, u.Site, reason, before, loginView{u.Username, next}); err != nil {
				return err
			}
			refusal = next.Check(t.now)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return refusal
}

// loginSucceeded clears the failed sign-ins of u after its password was verified, unless a
// concurrent failure has throttled or locked the account meanwhile: then the sign-in is
// refused like any attempt made while the account waits.
func (s *Store) loginSucceeded(ctx context.Context, u *clink.User) error {
	return s.transact(ctx, "login_succeeded", false, func(t *tx) error {
		st, exists, err := t.lockLoginState(ctx, u.ID, false)
		if err != nil || !exists {
			return err
		}
		if err := st.Check(t.now); err != nil {
			return err
		}
		_, err = t.ExecContext(ctx, "DELETE FROM login_attempts WHERE user_id = $1", u.ID)
		return err
	})
}

// clearLogin deletes the failed sign-ins of u, if it has any, with an unlock event giving
// reason.
func (t *tx) clearLogin(ctx context.Context, u *clink.User, reason string) error {
	st, exists, err := t.lockLoginState(ctx, u.ID, false)
	if err != nil || !exists {
		return err
	}
	if _, err := t.ExecContext(ctx, "DELETE FROM login_attempts WHERE user_id = $1", u.ID); err != nil {
		return err
	}
	return t.audit(ctx, actionUnlock, entityUser, u.ID, u.Site, reason, loginView{u.Username, st}, loginView{Username: u.Username})
}

// UnlockUser clears the user's failed sign-ins, wait and lock, with a reason, so that the
// user can sign in at once. It is ECONFLICT when the user has nothing to clear.
func (s *Store) UnlockUser(ctx context.Context, username, reason string) error {
	if err := requireReason(reason); err != nil {
		return err
	}
	return s.transact(ctx, "unlock_user", false, func(t *tx) error {
		u, _, err := t.findUser(ctx, username)
		if err != nil {
			return err
		}
		_, exists, err := t.lockLoginState(ctx, u.ID, false)
		if err != nil {
			return err
		}
		if !exists {
			return clink.Errorf(clink.ECONFLICT, "user %s is not locked and has no failed sign-ins to clear", username)
		}
		return t.clearLogin(ctx, u, reason)
	})
}

// LoginState returns the user's consecutive failed sign-ins, wait and lock, or ENOTFOUND.
func (s *Store) LoginState(ctx context.Context, username string) (clink.LoginState, error) {
	var st clink.LoginState
	err := s.transact(ctx, "login_state", true, func(t *tx) error {
		u, _, err := t.findUser(ctx, username)
		if err != nil {
			return err
		}
		st, err = t.loginState(ctx, u.ID)
		return err
	})
	return st, err
}
