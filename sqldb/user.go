package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/clink-consortium/clink"
)

// Audit actions and entities of identity records.
const (
	actionRevoke = "revoke"
	entityUser   = "user"
	entityToken  = "token"
)

const userCols = "id, username, full_name, email, COALESCE(site, ''), disabled, disabled_reason, " + metaCols

func scanUser(r scanner) (*clink.User, error) {
	u := &clink.User{}
	err := r.Scan(append([]any{&u.ID, &u.Username, &u.FullName, &u.Email, &u.Site, &u.Disabled, &u.DisabledReason},
		metaDest(&u.Meta)...)...)
	if err != nil {
		return nil, err
	}
	return u, nil
}

// nullSite is the value of the users.site column: NULL for a user without a site.
func nullSite(site string) any {
	if site == "" {
		return nil
	}
	return site
}

// loadRoles fills the roles of users (whose rows must be closed: PostgreSQL runs one query
// at a time on a connection).
func (t *tx) loadRoles(ctx context.Context, users ...*clink.User) error {
	for _, u := range users {
		rows, err := t.QueryContext(ctx, "SELECT role FROM user_roles WHERE user_id = $1", u.ID)
		if err != nil {
			return err
		}
		var roles []string
		for rows.Next() {
			var r string
			if err := rows.Scan(&r); err != nil {
				rows.Close()
				return err
			}
			roles = append(roles, r)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		u.Roles = clink.NormalizeRoles(roles)
	}
	return nil
}

// findUser returns the user named username with its roles and password hash, or ENOTFOUND.
func (t *tx) findUser(ctx context.Context, username string) (*clink.User, string, error) {
	var hash string
	u := &clink.User{}
	err := t.QueryRowContext(ctx, "SELECT "+userCols+", password_hash FROM users WHERE username = $1", username).
		Scan(append(append([]any{&u.ID, &u.Username, &u.FullName, &u.Email, &u.Site, &u.Disabled, &u.DisabledReason},
			metaDest(&u.Meta)...), &hash)...)
	if err != nil {
		return nil, "", notFound(err, "user %s not found", username)
	}
	if err := t.loadRoles(ctx, u); err != nil {
		return nil, "", err
	}
	return u, hash, nil
}

// checkUserSite checks that the user's site exists and, for a clinician, is a hospital.
func (t *tx) checkUserSite(ctx context.Context, u *clink.User) error {
	if u.Site == "" {
		return nil
	}
	var kind string
	err := t.QueryRowContext(ctx, "SELECT kind FROM sites WHERE code = $1", u.Site).Scan(&kind)
	if err == sql.ErrNoRows {
		return clink.Invalid("site", "no site has the code %s", u.Site)
	}
	if err != nil {
		return err
	}
	if u.HasRole(clink.RoleClinician) && kind != clink.SiteHospital {
		return clink.Invalid("site", "%s is a %s site; the role clinician requires a hospital site", u.Site, kind)
	}
	return nil
}

// countAdmins counts the enabled users holding the admin role.
func (t *tx) countAdmins(ctx context.Context) (int, error) {
	var n int
	err := t.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE disabled = $1
		AND id IN (SELECT user_id FROM user_roles WHERE role = $2)`, false, clink.RoleAdmin).Scan(&n)
	return n, err
}

// writeRoles replaces the roles of the user with id.
func (t *tx) writeRoles(ctx context.Context, id int64, roles []string) error {
	if _, err := t.ExecContext(ctx, "DELETE FROM user_roles WHERE user_id = $1", id); err != nil {
		return err
	}
	for _, r := range roles {
		if _, err := t.ExecContext(ctx, "INSERT INTO user_roles (user_id, role) VALUES ($1, $2)", id, r); err != nil {
			return err
		}
	}
	return nil
}

// CreateUser adds a user with the password, stored as an argon2id hash. The user's roles are
// normalized; Disabled is ignored (new users are enabled). The audit event holds the user
// without any password material.
func (s *Store) CreateUser(ctx context.Context, u *clink.User, password string) error {
	rec := *u
	rec.Roles = slices.Clone(u.Roles)
	rec.Normalize()
	rec.Disabled, rec.DisabledReason = false, ""
	if err := mergeInvalid(rec.Validate(), clink.CheckPassword(rec.Username, password)); err != nil {
		return err
	}
	hash, err := hashPassword(password)
	if err != nil {
		return fmt.Errorf("sqldb: create_user: %w", err)
	}
	return s.transact(ctx, "create_user", false, func(t *tx) error {
		var n int
		if err := t.QueryRowContext(ctx, "SELECT COUNT(*) FROM users WHERE username = $1", rec.Username).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return clink.Errorf(clink.ECONFLICT, "user %s already exists", rec.Username)
		}
		if err := t.checkUserSite(ctx, &rec); err != nil {
			return err
		}
		t.stamp(ctx, &rec.Meta)
		err := t.QueryRowContext(ctx, `INSERT INTO users (username, full_name, email, site, password_hash, disabled, disabled_reason, `+metaCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
			rec.Username, rec.FullName, rec.Email, nullSite(rec.Site), hash, false, "",
			t.ts(rec.CreatedAt), rec.CreatedBy, t.ts(rec.UpdatedAt), rec.UpdatedBy).Scan(&rec.ID)
		if err != nil {
			return err
		}
		if err := t.writeRoles(ctx, rec.ID, rec.Roles); err != nil {
			return err
		}
		if err := t.audit(ctx, actionCreate, entityUser, rec.ID, rec.Site, "", nil, &rec); err != nil {
			return err
		}
		*u = rec
		return nil
	})
}

// FindUserByUsername returns the user with its roles, or ENOTFOUND.
func (s *Store) FindUserByUsername(ctx context.Context, username string) (*clink.User, error) {
	var u *clink.User
	err := s.transact(ctx, "find_user", true, func(t *tx) error {
		var err error
		u, _, err = t.findUser(ctx, username)
		return err
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// FindUsers returns a page of the users that match f, by username, and how many match.
func (s *Store) FindUsers(ctx context.Context, f clink.UserFilter) ([]*clink.User, int, error) {
	pg, err := f.Page.Normalize()
	if err != nil {
		return nil, 0, err
	}
	if f.Role != "" && !slices.Contains(clink.Roles, f.Role) {
		return nil, 0, clink.Invalid("role", "%q is not one of %v", f.Role, clink.Roles)
	}
	var w where
	w.addIf(f.Site != "", "site = ?", f.Site)
	w.addIf(f.Role != "", "id IN (SELECT user_id FROM user_roles WHERE role = ?)", f.Role)
	w.addIf(!f.IncludeDisabled, "disabled = ?", false)
	out := []*clink.User{}
	var total int
	err = s.transact(ctx, "find_users", true, func(t *tx) (err error) {
		out, total, err = listPage(ctx, t, listQuery{count: "users", from: "users", cols: userCols, order: "username"}, &w, pg, scanUser)
		if err != nil {
			return err
		}
		return t.loadRoles(ctx, out...)
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// lastAdmin reports ECONFLICT when u is the only enabled admin, since the change at hand would
// leave the consortium without one.
func (t *tx) lastAdmin(ctx context.Context, u *clink.User, change string) error {
	if u.Disabled || !u.HasRole(clink.RoleAdmin) {
		return nil
	}
	n, err := t.countAdmins(ctx)
	if err != nil {
		return err
	}
	if n <= 1 {
		return clink.Errorf(clink.ECONFLICT, "%s is the last enabled admin and cannot be %s: make another admin first", u.Username, change)
	}
	return nil
}

// SetUserRoles replaces the roles of the user, with a reason, and returns the user.
func (s *Store) SetUserRoles(ctx context.Context, username string, roles []string, reason string) (*clink.User, error) {
	defer s.auth.clear() // the change must not wait for cached token checks to expire
	roles = clink.NormalizeRoles(roles)
	if err := mergeInvalid(clink.CheckRoles(roles), requireReason(reason)); err != nil {
		return nil, err
	}
	var out *clink.User
	err := s.transact(ctx, "set_user_roles", false, func(t *tx) error {
		old, _, err := t.findUser(ctx, username)
		if err != nil {
			return err
		}
		if old.Disabled {
			return clink.Errorf(clink.ECONFLICT, "user %s is disabled", username)
		}
		rec := *old
		rec.Roles = roles
		if err := rec.Validate(); err != nil {
			return err
		}
		if err := t.checkUserSite(ctx, &rec); err != nil {
			return err
		}
		if !rec.HasRole(clink.RoleAdmin) {
			if err := t.lastAdmin(ctx, old, "stripped of the admin role"); err != nil {
				return err
			}
		}
		t.restamp(ctx, &rec.Meta, old.Meta)
		if err := t.writeRoles(ctx, rec.ID, rec.Roles); err != nil {
			return err
		}
		if err := t.touchUser(ctx, &rec); err != nil {
			return err
		}
		if err := t.audit(ctx, actionUpdate, entityUser, rec.ID, rec.Site, reason, old, &rec); err != nil {
			return err
		}
		out = &rec
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// touchUser writes the user's updated_at and updated_by.
func (t *tx) touchUser(ctx context.Context, u *clink.User) error {
	_, err := t.ExecContext(ctx, "UPDATE users SET updated_at = $1, updated_by = $2 WHERE id = $3",
		t.ts(u.UpdatedAt), u.UpdatedBy, u.ID)
	return err
}

// DisableUser disables the user for good, with a reason, and returns it. A disabled user can
// no longer sign in or use its tokens.
func (s *Store) DisableUser(ctx context.Context, username, reason string) (*clink.User, error) {
	defer s.auth.clear() // the change must not wait for cached token checks to expire
	if err := requireReason(reason); err != nil {
		return nil, err
	}
	var out *clink.User
	err := s.transact(ctx, "disable_user", false, func(t *tx) error {
		old, _, err := t.findUser(ctx, username)
		if err != nil {
			return err
		}
		if old.Disabled {
			return clink.Errorf(clink.ECONFLICT, "user %s is already disabled", username)
		}
		if err := t.lastAdmin(ctx, old, "disabled"); err != nil {
			return err
		}
		rec := *old
		rec.Disabled, rec.DisabledReason = true, reason
		t.restamp(ctx, &rec.Meta, old.Meta)
		if _, err := t.ExecContext(ctx, "UPDATE users SET disabled = $1, disabled_reason = $2 WHERE id = $3",
			true, reason, rec.ID); err != nil {
			return err
		}
		if err := t.touchUser(ctx, &rec); err != nil {
			return err
		}
		if err := t.audit(ctx, actionStatus, entityUser, rec.ID, rec.Site, reason, old, &rec); err != nil {
			return err
		}
		out = &rec
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SetPassword replaces the user's password. The audit event says that the password changed
// and holds no password material.
func (s *Store) SetPassword(ctx context.Context, username, password string) error {
	if err := clink.CheckPassword(username, password); err != nil {
		return err
	}
	hash, err := hashPassword(password)
	if err != nil {
		return fmt.Errorf("sqldb: set_password: %w", err)
	}
	return s.transact(ctx, "set_password", false, func(t *tx) error {
		old, _, err := t.findUser(ctx, username)
		if err != nil {
			return err
		}
		rec := *old
		t.restamp(ctx, &rec.Meta, old.Meta)
		if _, err := t.ExecContext(ctx, "UPDATE users SET password_hash = $1 WHERE id = $2", hash, rec.ID); err != nil {
			return err
		}
		if err := t.touchUser(ctx, &rec); err != nil {
			return err
		}
		if err := t.audit(ctx, actionUpdate, entityUser, rec.ID, rec.Site, "password changed", old, &rec); err != nil {
			return err
		}
		// Every open session of the user ends: a session taken before the change (a stolen
		// cookie) must not outlive the old password.
		if _, err := t.ExecContext(ctx, "UPDATE sessions SET ended_at = $1, end_reason = $2 WHERE user_id = $3 AND ended_at IS NULL",
			t.ts(t.now), "password changed", rec.ID); err != nil {
			return err
		}
		// A new password starts a fresh count: this is how an administrator's reset unlocks.
		return t.clearLogin(ctx, &rec, "password changed")
	})
}

// Authenticate returns the enabled user with the username and password. Every failure —
// unknown user, wrong password, disabled user — is clink.ErrBadCredentials, and takes one
// password hash's time, so that neither the answer nor its delay tells the causes apart.
//
// Failures on an existing user count under the store's LoginPolicy (SetLoginPolicy): each is
// recorded and audited (login_failed, and lock when it locks the account) in its own committed
// transaction before the error is returned. While the user's account waits or is locked, every
// attempt is refused with a message that says so, before any password is hashed; such refusals
// are neither counted nor audited. A successful sign-in clears the count. Unknown usernames
// leave no trace.
func (s *Store) Authenticate(ctx context.Context, username, password string) (*clink.User, error) {
	if len(username) > 200 {
		return nil, clink.ErrBadCredentials
	}
	var u *clink.User
	var hash string
	var st clink.LoginState
	var now time.Time
	err := s.transact(ctx, "authenticate", true, func(t *tx) error {
		var err error
		if u, hash, err = t.findUser(ctx, username); err != nil {
			return err
		}
		now = t.now
		st, err = t.loginState(ctx, u.ID)
		return err
	})
	if err != nil && clink.ErrorCode(err) != clink.ENOTFOUND {
		return nil, err
	}
	if err != nil {
		if len(password) <= clink.MaxPasswordLength {
			checkPassword(dummyHash, password)
		}
		return nil, clink.ErrBadCredentials
	}
	if err := st.Check(now); err != nil {
		return nil, err
	}
	var cause string
	switch {
	case len(password) > clink.MaxPasswordLength:
		cause = "password too long"
	case u.Disabled:
		checkPassword(dummyHash, password)
		cause = "user disabled"
	default:
		ok, err := checkPassword(hash, password)
		if err != nil {
			return nil, fmt.Errorf("sqldb: authenticate %s: %w", username, err)
		}
		if !ok {
			cause = "wrong password"
		}
	}
	if cause != "" {
		return nil, s.loginFailed(ctx, u, cause)
	}
	if err := s.loginSucceeded(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// CountAdmins counts the enabled users holding the admin role.
func (s *Store) CountAdmins(ctx context.Context) (int, error) {
	var n int
	err := s.transact(ctx, "count_admins", true, func(t *tx) error {
		var err error
		n, err = t.countAdmins(ctx)
		return err
	})
	return n, err
}

// nullTimeCol scans a nullable time column; NULL leaves the pointer nil.
type nullTimeCol struct{ t **time.Time }

func (c nullTimeCol) Scan(src any) error {
	if src == nil {
		*c.t = nil
		return nil
	}
	var v time.Time
	if err := (timeCol{&v}).Scan(src); err != nil {
		return err
	}
	*c.t = &v
	return nil
}

const tokenCols = "k.id, k.user_id, u.username, k.label, k.prefix, k.created_at, k.created_by, k.expires_at, k.revoked_at, k.revoked_by, k.revoke_reason, k.last_used_at"

// tokenFrom joins tokens with their users.
const tokenFrom = " FROM tokens k JOIN users u ON u.id = k.user_id"

func scanToken(r scanner) (*clink.Token, error) {
	k := &clink.Token{}
	err := r.Scan(&k.ID, &k.UserID, &k.Username, &k.Label, &k.Prefix, timeCol{&k.CreatedAt}, &k.CreatedBy,
		timeCol{&k.ExpiresAt}, nullTimeCol{&k.RevokedAt}, &k.RevokedBy, &k.RevokeReason, nullTimeCol{&k.LastUsedAt})
	if err != nil {
		return nil, err
	}
	return k, nil
}

// CreateToken creates a token for the enabled user, valid for expires from now, and returns
// its secret: 256 random bits in lower-case base32, shown only here. The store keeps the
// secret's SHA-256 and its first clink.TokenPrefixLength characters.
func (s *Store) CreateToken(ctx context.Context, username, label string, expires time.Duration) (string, *clink.Token, error) {
	if err := mergeInvalid(clink.CheckTokenLabel(label), clink.CheckTokenLifetime(expires)); err != nil {
		return "", nil, err
	}
	var secret string
	var out *clink.Token
	err := s.transact(ctx, "create_token", false, func(t *tx) error {
		u, _, err := t.findUser(ctx, username)
		if err != nil {
			return err
		}
		if u.Disabled {
			return clink.Errorf(clink.ECONFLICT, "user %s is disabled", username)
		}
		// A prefix names one token: draw again in the (rare) case it is taken.
		for try := 0; ; try++ {
			if secret, err = newTokenSecret(); err != nil {
				return err
			}
			var n int
			if err := t.QueryRowContext(ctx, "SELECT COUNT(*) FROM tokens WHERE prefix = $1",
				secret[:clink.TokenPrefixLength]).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				break
			}
			if try == 10 {
				return fmt.Errorf("no free token prefix after %d draws", try+1)
			}
		}
		k := &clink.Token{UserID: u.ID, Username: u.Username, Label: label, Prefix: secret[:clink.TokenPrefixLength],
			CreatedAt: t.now, CreatedBy: clink.ActorFrom(ctx), ExpiresAt: t.now.Add(expires)}
		err = t.QueryRowContext(ctx, `INSERT INTO tokens (user_id, label, prefix, secret_sha256, created_at, created_by, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			k.UserID, k.Label, k.Prefix, secretDigest(secret), t.ts(k.CreatedAt), k.CreatedBy, t.ts(k.ExpiresAt)).Scan(&k.ID)
		if err != nil {
			return err
		}
		if err := t.audit(ctx, actionCreate, entityToken, k.ID, u.Site, "", nil, k); err != nil {
			return err
		}
		out = k
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	return secret, out, nil
}

// FindTokens lists the tokens of the user, or of every user when username is empty, newest
// first. Revoked and expired tokens are listed too.
func (s *Store) FindTokens(ctx context.Context, username string) ([]*clink.Token, error) {
	out := []*clink.Token{}
	err := s.transact(ctx, "find_tokens", true, func(t *tx) error {
		var w where
		if username != "" {
			if _, _, err := t.findUser(ctx, username); err != nil {
				return err
			}
			w.add("u.username = ?", username)
		}
		rows, err := t.QueryContext(ctx, "SELECT "+tokenCols+tokenFrom+w.sql()+" ORDER BY k.id DESC", w.args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			k, err := scanToken(rows)
			if err != nil {
				return err
			}
			out = append(out, k)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RevokeToken revokes the token named by ref, with a reason, and returns it.
func (s *Store) RevokeToken(ctx context.Context, ref clink.TokenRef, reason string) (*clink.Token, error) {
	defer s.auth.clear() // the change must not wait for cached token checks to expire
	var refErr error
	switch {
	case ref.ID == 0 && ref.Prefix == "":
		refErr = clink.Invalid("token", "give the token's id or its prefix")
	case ref.ID != 0 && ref.Prefix != "":
		refErr = clink.Invalid("token", "give the token's id or its prefix, not both")
	case ref.ID < 0:
		refErr = clink.Invalid("id", "%d is not a token id", ref.ID)
	case ref.Prefix != "" && len(ref.Prefix) != clink.TokenPrefixLength:
		refErr = clink.Invalid("prefix", "%q is not a token prefix (%d characters)", ref.Prefix, clink.TokenPrefixLength)
	}
	if err := mergeInvalid(refErr, requireReason(reason)); err != nil {
		return nil, err
	}
	var out *clink.Token
	err := s.transact(ctx, "revoke_token", false, func(t *tx) error {
		cond, arg, name := "k.id = $1", any(ref.ID), strconv.FormatInt(ref.ID, 10)
		if ref.Prefix != "" {
			cond, arg, name = "k.prefix = $1", ref.Prefix, ref.Prefix
		}
		old, err := scanToken(t.QueryRowContext(ctx, "SELECT "+tokenCols+tokenFrom+" WHERE "+cond, arg))
		if err != nil {
			return notFound(err, "token %s not found", name)
		}
		if old.RevokedAt != nil {
			return clink.Errorf(clink.ECONFLICT, "token %s is already revoked", name)
		}
		k := *old
		now := t.now
		k.RevokedAt, k.RevokedBy, k.RevokeReason = &now, clink.ActorFrom(ctx), reason
		if _, err := t.ExecContext(ctx, "UPDATE tokens SET revoked_at = $1, revoked_by = $2, revoke_reason = $3 WHERE id = $4",
			t.ts(now), k.RevokedBy, reason, k.ID); err != nil {
			return err
		}
		var site string
		if err := t.QueryRowContext(ctx, "SELECT COALESCE(site, '') FROM users WHERE id = $1", k.UserID).Scan(&site); err != nil {
			return err
		}
		if err := t.audit(ctx, actionRevoke, entityToken, k.ID, site, reason, old, &k); err != nil {
			return err
		}
		out = &k
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// tokenUseResolution is how precisely a token's last use is kept: a token used many times a
// minute is written once a minute, so API reads do not each cost a write.
const tokenUseResolution = time.Minute

// AuthenticateToken returns the user of the token whose secret is given, when the token is
// neither revoked nor expired and its user is enabled, and records the token's last use (to the
// minute). Every failure is clink.ErrBadToken. Recording the use is bookkeeping, not a change
// to a record, so it is not audited (an event per API request would drown the trail).
func (s *Store) AuthenticateToken(ctx context.Context, secret string) (*clink.User, error) {
	if len(secret) < clink.TokenPrefixLength || len(secret) > 200 {
		return nil, clink.ErrBadToken
	}
	digest := secretDigest(secret)
	cached, gen, ok := s.auth.get(digest, s.Now())
	if ok {
		return cached, nil
	}
	var u *clink.User
	var k *clink.Token
	var now time.Time
	// Checking a token is a read: it must not take SQLite's write lock on every API request.
	err := s.transact(ctx, "authenticate_token", true, func(t *tx) error {
		var err error
		now = t.now
		k, err = scanToken(t.QueryRowContext(ctx, "SELECT "+tokenCols+tokenFrom+" WHERE k.secret_sha256 = $1", digest))
		if err == sql.ErrNoRows {
			return clink.ErrBadToken
		}
		if err != nil {
			return err
		}
		if !k.Active(t.now) {
			return clink.ErrBadToken
		}
		if u, _, err = t.findUser(ctx, k.Username); err != nil {
			return err
		}
		if u.Disabled {
			return clink.ErrBadToken
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Record the use at most once per tokenUseResolution, in a write of its own.
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= tokenUseResolution {
		err := s.transact(ctx, "record_token_use", false, func(t *tx) error {
			_, err := t.ExecContext(ctx, "UPDATE tokens SET last_used_at = $1 WHERE id = $2", t.ts(t.now), k.ID)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	until := now.Add(authCacheTTL)
	if k.ExpiresAt.Before(until) {
		until = k.ExpiresAt
	}
	s.auth.put(digest, u, until, gen)
	return u, nil
}
