package clink

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Roles. The set is closed: a user holds one or more of them.
const (
	RoleAdmin      = "admin"      // consortium administration
	RoleResearcher = "researcher" // writes its own site's research data, reads all sites'
	RoleViewer     = "viewer"     // reads research data
	RoleQA         = "qa"         // reviews manufacturing records
	RoleQP         = "qp"         // Qualified Person: releases batches
	RoleClinician  = "clinician"  // sees the patient data of its own hospital
	RoleOperator   = "operator"   // manufactures batches at its own site: steps, results, scans
)

// Roles lists every role, in the order they are documented.
var Roles = []string{RoleAdmin, RoleResearcher, RoleViewer, RoleQA, RoleQP, RoleClinician, RoleOperator}

// MinPasswordLength is the shortest password CheckPassword accepts.
const MinPasswordLength = 12

// MaxPasswordLength bounds a password, so that hashing cannot be made arbitrarily slow.
const MaxPasswordLength = 1024

var (
	usernameRE = regexp.MustCompile(`^[a-z][a-z0-9._-]{1,62}$`)
	emailRE    = regexp.MustCompile(`^[^\s@<>(),;:"\[\]\\]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$`)
)

// User is a person (or a service) that signs in to CLINK. Users are disabled, never deleted,
// so that the audit trail always names someone who existed.
//
// Site is the code of the user's site. It is required when the roles include researcher, operator or
// clinician, whose rights are bounded by their site (a clinician's must be a hospital; the store
// checks the kind); it may be empty for users holding only consortium-wide roles (admin,
// viewer, qa, qp).
type User struct {
	ID             int64    `json:"id"`
	Username       string   `json:"username"`
	FullName       string   `json:"full_name"`
	Email          string   `json:"email"`
	Site           string   `json:"site"`
	Roles          []string `json:"roles"`
	Disabled       bool     `json:"disabled"`
	DisabledReason string   `json:"disabled_reason"`
	Meta
}

// HasRole reports whether u holds role.
func (u *User) HasRole(role string) bool { return slices.Contains(u.Roles, role) }

// Normalize sorts the user's roles in the order of Roles and drops duplicates, and trims the
// spaces around the full name and email.
func (u *User) Normalize() {
	u.FullName = strings.TrimSpace(u.FullName)
	u.Email = strings.TrimSpace(u.Email)
	u.Roles = NormalizeRoles(u.Roles)
}

// NormalizeRoles returns roles without duplicates, the known ones in the order of Roles and
// unknown ones after them (so that Validate can name them).
func NormalizeRoles(roles []string) []string {
	out := []string{}
	for _, r := range Roles {
		if slices.Contains(roles, r) {
			out = append(out, r)
		}
	}
	for _, r := range roles {
		if !slices.Contains(Roles, r) && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// Validate checks the user's own fields. Whether the site exists, and is a hospital for a
// clinician, is checked by the store.
func (u *User) Validate() error {
	var fe FieldErrors
	if err := CheckUsername(u.Username); err != nil {
		fe = append(fe, ErrorFields(err)...)
	}
	switch {
	case strings.TrimSpace(u.FullName) == "":
		fe.Addf("full_name", "is required")
	case utf8.RuneCountInString(u.FullName) > 200:
		fe.Addf("full_name", "is longer than 200 characters")
	}
	switch {
	case u.Email == "":
		fe.Addf("email", "is required")
	case len(u.Email) > 254:
		fe.Addf("email", "is longer than 254 characters")
	case !emailRE.MatchString(u.Email):
		fe.Addf("email", "%q is not an email address (name@domain.example)", u.Email)
	}
	fe = append(fe, ErrorFields(CheckRoles(u.Roles))...)
	if u.Site != "" && !siteCodeRE.MatchString(u.Site) {
		fe.Addf("site", "%q is not a site code (three capital letters, e.g. ZGZ)", u.Site)
	} else if u.Site == "" {
		for _, r := range []string{RoleResearcher, RoleClinician, RoleOperator} {
			if slices.Contains(u.Roles, r) {
				fe.Addf("site", "is required for the role %s", r)
			}
		}
	}
	if len(u.DisabledReason) > 2000 {
		fe.Addf("disabled_reason", "is longer than 2000 characters")
	}
	return fe.Err()
}

// CheckUsername reports EINVALID on field "username" unless name matches
// ^[a-z][a-z0-9._-]{1,62}$: a lower-case letter, then 1 to 62 lower-case letters, digits, dots,
// underscores or hyphens.
func CheckUsername(name string) error {
	if !usernameRE.MatchString(name) {
		return Invalid("username", "%q is not a username (2 to 63 characters: a lower-case letter, then lower-case letters, digits, '.', '_' or '-')", name)
	}
	return nil
}

// CheckRoles reports EINVALID on field "roles" when roles is empty or names a role outside the
// closed set.
func CheckRoles(roles []string) error {
	var fe FieldErrors
	if len(roles) == 0 {
		fe.Addf("roles", "at least one role is required (one of %s)", strings.Join(Roles, ", "))
	}
	for _, r := range roles {
		if !slices.Contains(Roles, r) {
			fe.Addf("roles", "%q is not one of %s", r, strings.Join(Roles, ", "))
		}
	}
	return fe.Err()
}

// CheckPassword applies the password policy to the password of the user named username: at
// least MinPasswordLength characters (Unicode code points), at most MaxPasswordLength bytes,
// not containing the username (ignoring case), and not the username reversed. Problems are
// reported on the field "password"; the password itself never appears in a message.
func CheckPassword(username, password string) error {
	var fe FieldErrors
	n := utf8.RuneCountInString(password)
	switch {
	case !utf8.ValidString(password):
		fe.Addf("password", "is not valid UTF-8 text")
	case n < MinPasswordLength:
		fe.Addf("password", "has %d characters; at least %d are required", n, MinPasswordLength)
	case len(password) > MaxPasswordLength:
		fe.Addf("password", "is longer than %d bytes", MaxPasswordLength)
	}
	if username != "" {
		lp, lu := strings.ToLower(password), strings.ToLower(username)
		if strings.Contains(lp, lu) {
			fe.Addf("password", "contains the username")
		}
		r := []rune(lu)
		slices.Reverse(r)
		if lp == string(r) {
			fe.Addf("password", "is the username reversed")
		}
	}
	return fe.Err()
}

// Token is an API token of a user, sent as "Authorization: Bearer <secret>". Only the SHA-256
// of the secret is stored: the secret is shown once, when the token is created. Prefix, the
// first TokenPrefixLength characters of the secret, names the token in lists.
type Token struct {
	ID           int64      `json:"id"`
	UserID       int64      `json:"user_id"`
	Username     string     `json:"username"`
	Label        string     `json:"label"`
	Prefix       string     `json:"prefix"`
	CreatedAt    time.Time  `json:"created_at"`
	CreatedBy    string     `json:"created_by"`
	ExpiresAt    time.Time  `json:"expires_at"`
	RevokedAt    *time.Time `json:"revoked_at"`
	RevokedBy    string     `json:"revoked_by"`
	RevokeReason string     `json:"revoke_reason"`
	LastUsedAt   *time.Time `json:"last_used_at"`
}

// TokenPrefixLength is the number of leading characters of a secret kept as its prefix.
const TokenPrefixLength = 8

// MaxTokenLifetime bounds how long a token may stay valid.
const MaxTokenLifetime = 366 * 24 * time.Hour

// Active reports whether the token is neither revoked nor expired at now.
func (t *Token) Active(now time.Time) bool { return t.RevokedAt == nil && now.Before(t.ExpiresAt) }

// CheckTokenLabel reports EINVALID on field "label" for a label longer than 200 characters.
func CheckTokenLabel(label string) error {
	if utf8.RuneCountInString(label) > 200 {
		return Invalid("label", "is longer than 200 characters")
	}
	return nil
}

// CheckTokenLifetime reports EINVALID on field "expires" unless 0 < d <= MaxTokenLifetime.
func CheckTokenLifetime(d time.Duration) error {
	if d <= 0 {
		return Invalid("expires", "%s is not a positive duration", d)
	}
	if d > MaxTokenLifetime {
		return Invalid("expires", "%s is longer than the maximum of 366 days", d)
	}
	return nil
}

// TokenRef names a token to revoke: by its ID, or by its Prefix (exactly one of the two).
type TokenRef struct {
	ID     int64
	Prefix string
}

// UserFilter selects users. Zero fields do not filter.
type UserFilter struct {
	Site            string
	Role            string
	IncludeDisabled bool
	Page
}

// ErrBadCredentials is the one answer to a failed sign-in, whatever the cause (unknown user,
// wrong password, disabled user), so that it reveals nothing.
var ErrBadCredentials = &Error{Code: EUNAUTHORIZED, Message: "invalid username or password"}

// ErrBadToken is the one answer to a token that does not authenticate (unknown, revoked,
// expired, or its user disabled).
var ErrBadToken = &Error{Code: EUNAUTHORIZED, Message: "invalid, revoked or expired token"}

// UserStore keeps users and their API tokens. It is part of Store. Writes are audited with a
// view of the user or token that never holds a password hash or a token secret.
type UserStore interface {
	// CreateUser adds a user with password (checked by CheckPassword); the username must be new.
	CreateUser(ctx context.Context, u *User, password string) error
	FindUserByUsername(ctx context.Context, username string) (*User, error)
	// FindUsers lists users by username; disabled users only with IncludeDisabled.
	FindUsers(ctx context.Context, f UserFilter) ([]*User, int, error)
	// SetUserRoles replaces a user's roles; reason is required. Removing the admin role of the
	// last enabled admin is refused (ECONFLICT).
	SetUserRoles(ctx context.Context, username string, roles []string, reason string) (*User, error)
	// DisableUser disables a user for good; reason is required. Disabling the last enabled
	// admin is refused (ECONFLICT).
	DisableUser(ctx context.Context, username, reason string) (*User, error)
	// SetPassword replaces a user's password (checked by CheckPassword).
	SetPassword(ctx context.Context, username, password string) error
	// Authenticate returns the enabled user with username and password, or ErrBadCredentials.
	// Failed attempts on an existing user count under the store's LoginPolicy: while the user is
	// throttled or locked every attempt is refused (LoginState.Check), even with the right
	// password. Each failure and each lock is audited.
	Authenticate(ctx context.Context, username, password string) (*User, error)
	// UnlockUser clears a user's failed sign-ins, throttle and lock; reason is required. It
	// is ECONFLICT when there is nothing to clear.
	UnlockUser(ctx context.Context, username, reason string) error
	// CountAdmins counts the enabled users holding the admin role.
	CountAdmins(ctx context.Context) (int, error)

	// CreateToken creates a token for an enabled user, valid for expires, and returns its
	// secret, which is never shown again.
	CreateToken(ctx context.Context, username, label string, expires time.Duration) (string, *Token, error)
	// FindTokens lists tokens, newest first: a user's, or everyone's when username is empty.
	FindTokens(ctx context.Context, username string) ([]*Token, error)
	// RevokeToken revokes a token; reason is required; revoking twice is ECONFLICT.
	RevokeToken(ctx context.Context, ref TokenRef, reason string) (*Token, error)
	// AuthenticateToken returns the user of an active token and records its use, or
	// ErrBadToken.
	AuthenticateToken(ctx context.Context, secret string) (*User, error)

	// CreateSession opens a web session for the enabled user named username (who has just
	// signed in) and returns its id, which is never shown again. The sign-in is audited
	// (action login).
	CreateSession(ctx context.Context, username string) (string, error)
	// SessionUser returns the user of the session with id while it is open, its user enabled
	// and its last use no longer ago than idle; otherwise ErrBadSession.
	SessionUser(ctx context.Context, id string, idle time.Duration) (*User, error)
	// EndSession ends the session with id (sign-out, audited as logout), or answers
	// ErrBadSession when no open session has that id.
	EndSession(ctx context.Context, id string) error
}

// DefaultSessionIdle is how long a web session lasts without being used unless configured
// otherwise.
const DefaultSessionIdle = 30 * time.Minute

// MaxSessionLifetime is how long a web session lasts at most, however often it is used: then
// the user signs in again.
const MaxSessionLifetime = 12 * time.Hour

// MaxSessionIdle bounds the configurable idle timeout of web sessions.
const MaxSessionIdle = 24 * time.Hour

// CheckSessionIdle reports EINVALID on field "session_idle" unless
// time.Minute <= d <= MaxSessionIdle.
func CheckSessionIdle(d time.Duration) error {
	if d < time.Minute || d > MaxSessionIdle {
		return Invalid("session_idle", "%s is not between 1m and 24h", d)
	}
	return nil
}

// ErrBadSession is the one answer to a session that does not authenticate (unknown, ended,
// idle for too long, or its user disabled).
var ErrBadSession = &Error{Code: EUNAUTHORIZED, Message: "session expired or ended: sign in again"}

// LoginPolicy says how failed sign-ins slow down and then lock an account. Failures are
// counted per user and reset by a successful sign-in, by an unlock and by a new password.
// After ThrottleAfter consecutive failures, each further failure makes the account refuse
// every attempt for a delay: ThrottleDelay after failure number ThrottleAfter, doubling with
// each failure after it, capped at MaxThrottleDelay. Failure number LockAfter locks the
// account for LockDuration. When a lock expires the count starts again from zero.
//
// The waits are "not before" times kept with the user, not sleeps: a refused attempt costs
// the server one query and no password hash, and is neither counted nor audited.
type LoginPolicy struct {
	ThrottleAfter    int           // failures before attempts must wait; default 3
	ThrottleDelay    time.Duration // first wait; default 1 s
	MaxThrottleDelay time.Duration // longest wait; default 1 min
	LockAfter        int           // failures that lock the account; default 5 (gmp.md C2, 21 CFR 11.300(d))
	LockDuration     time.Duration // how long a lock lasts; default 15 min
}

// DefaultLoginPolicy returns the policy a store uses unless told otherwise: waits of 1 s, 2 s,
// 4 s ... (at most 1 min) from the 3rd consecutive failure, and a 15-minute lock at the 5th,
// the lockout count of the Part 11 checklist (gmp.md C2).
func DefaultLoginPolicy() LoginPolicy {
	return LoginPolicy{ThrottleAfter: 3, ThrottleDelay: time.Second, MaxThrottleDelay: time.Minute,
		LockAfter: 5, LockDuration: 15 * time.Minute}
}

// Validate checks that every count and duration of the policy is positive and that the
// longest wait is not shorter than the first.
func (p LoginPolicy) Validate() error {
	var fe FieldErrors
	if p.ThrottleAfter < 1 {
		fe.Addf("throttle_after", "%d is not a positive number of failures", p.ThrottleAfter)
	}
	if p.ThrottleDelay <= 0 {
		fe.Addf("throttle_delay", "%s is not a positive duration", p.ThrottleDelay)
	}
	if p.MaxThrottleDelay < p.ThrottleDelay {
		fe.Addf("max_throttle_delay", "%s is shorter than throttle_delay %s", p.MaxThrottleDelay, p.ThrottleDelay)
	}
	if p.LockAfter < 1 {
		fe.Addf("lock_after", "%d is not a positive number of failures", p.LockAfter)
	}
	if p.LockDuration <= 0 {
		fe.Addf("lock_duration", "%s is not a positive duration", p.LockDuration)
	}
	return fe.Err()
}

// Delay returns how long the account refuses attempts after its failures-th consecutive
// failure: 0 below ThrottleAfter, then ThrottleDelay doubled once per failure beyond
// ThrottleAfter, at most MaxThrottleDelay.
func (p LoginPolicy) Delay(failures int) time.Duration {
	if failures < p.ThrottleAfter {
		return 0
	}
	d := p.ThrottleDelay
	for i := p.ThrottleAfter; i < failures; i++ {
		if d >= p.MaxThrottleDelay/2 {
			return p.MaxThrottleDelay // doubling would reach the cap (or overflow)
		}
		d *= 2
	}
	return min(d, p.MaxThrottleDelay)
}

// LoginState is the record of a user's consecutive failed sign-ins. Zero times mean none.
type LoginState struct {
	Failures    int       `json:"failures"`
	NotBefore   time.Time `json:"not_before,omitzero"`   // attempts before this time are refused (throttled)
	LockedUntil time.Time `json:"locked_until,omitzero"` // attempts before this time are refused (locked)
}

// Locked reports whether the account is locked at now.
func (s LoginState) Locked(now time.Time) bool { return now.Before(s.LockedUntil) }

// Clear reports whether the state holds nothing: no failure, wait or lock.
func (s LoginState) Clear() bool {
	return s.Failures == 0 && s.NotBefore.IsZero() && s.LockedUntil.IsZero()
}

// Check returns nil when an attempt may be made at now, and otherwise the EUNAUTHORIZED error
// that refuses it: the account is locked until a time, or throttled and to be retried later.
func (s LoginState) Check(now time.Time) error {
	if s.Locked(now) {
		return Errorf(EUNAUTHORIZED, "this account is temporarily locked after too many failed sign-ins, until %s; an administrator can unlock it sooner",
			loginTime(s.LockedUntil))
	}
	if now.Before(s.NotBefore) {
		return Errorf(EUNAUTHORIZED, "too many failed sign-ins: retry later, not before %s",
			loginTime(s.NotBefore))
	}
	return nil
}

// loginTime formats t for a refusal: UTC, rounded up to the second so that an attempt at the
// time shown is not refused.
func loginTime(t time.Time) string {
	t = t.UTC()
	if r := t.Truncate(time.Second); !r.Equal(t) {
		t = r.Add(time.Second)
	}
	return t.Format("2006-01-02 15:04:05 UTC")
}

// Fail returns the state after a failed attempt at now, and whether this failure locked the
// account. A lock that has expired by now is forgotten first, so the count starts again; a
// failure while the account is already locked (a concurrent attempt) is counted but neither
// extends the lock nor locks it again.
func (p LoginPolicy) Fail(s LoginState, now time.Time) (next LoginState, locked bool) {
	if !s.LockedUntil.IsZero() && !s.Locked(now) {
		s = LoginState{}
	}
	s.Failures++
	switch {
	case s.Locked(now):
	case s.Failures >= p.LockAfter:
		s.LockedUntil, s.NotBefore, locked = now.Add(p.LockDuration), time.Time{}, true
	default:
		if d := p.Delay(s.Failures); d > 0 {
			s.NotBefore = now.Add(d)
		}
	}
	return s, locked
}
