package sqldb_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/sqldb"
	"github.com/google/go-cmp/cmp"
)

// Passwords of the identity tests; each satisfies the policy for its user.
const (
	adminPass  = "admin's long passphrase"
	researPass = "pipettes and plates 42"
	clinPass   = "ward rounds at seven"
)

// identitySites adds a lab (ZGZ) and a hospital (MPL).
func identitySites(tb testing.TB, s *sqldb.Store) {
	tb.Helper()
	must(tb, s.CreateSite(actx, newSite("ZGZ")))
	must(tb, s.CreateSite(actx, &clink.Site{Code: "MPL", Name: "CHU Montpellier", Kind: clink.SiteHospital}))
}

func newUser(name, site string, roles ...string) *clink.User {
	return &clink.User{Username: name, FullName: "Person " + name, Email: name + "@example.org", Site: site, Roles: roles}
}

// identityCounts returns the rows of the identity tables and of the audit trail.
func identityCounts(tb testing.TB, s *sqldb.Store) map[string]int {
	tb.Helper()
	out := map[string]int{}
	for _, table := range []string{"users", "user_roles", "tokens", "audit_events"} {
		var n int
		must(tb, s.DB().QueryRow("SELECT COUNT(*) FROM "+table).Scan(&n))
		out[table] = n
	}
	return out
}

func TestCreateUserRefusesBadInput(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		identitySites(t, s)
		must(t, s.CreateUser(actx, newUser("ana", "ZGZ", clink.RoleResearcher), researPass))
		before := identityCounts(t, s)
		tests := []struct {
			name     string
			u        *clink.User
			password string
			code     string
			field    string
			message  string
		}{
			{"username upper case", newUser("Ana2", "ZGZ", clink.RoleResearcher), researPass, clink.EINVALID, "username", "not a username"},
			{"username one letter", newUser("a", "ZGZ", clink.RoleResearcher), researPass, clink.EINVALID, "username", "not a username"},
			{"username starts with digit", newUser("1ana", "ZGZ", clink.RoleResearcher), researPass, clink.EINVALID, "username", "not a username"},
			{"username 64 characters", newUser("a"+strings.Repeat("b", 63), "ZGZ", clink.RoleResearcher), researPass, clink.EINVALID, "username", "not a username"},
			{"email without at", &clink.User{Username: "bob", FullName: "Bob", Email: "bob.example.org", Site: "ZGZ", Roles: []string{"researcher"}}, researPass, clink.EINVALID, "email", "not an email"},
			{"email without domain dot", &clink.User{Username: "bob", FullName: "Bob", Email: "bob@localhost", Site: "ZGZ", Roles: []string{"researcher"}}, researPass, clink.EINVALID, "email", "not an email"},
			{"no full name", &clink.User{Username: "bob", Email: "bob@example.org", Site: "ZGZ", Roles: []string{"researcher"}}, researPass, clink.EINVALID, "full_name", "required"},
			{"no role", newUser("bob", "ZGZ"), researPass, clink.EINVALID, "roles", "at least one role"},
			{"unknown role", newUser("bob", "ZGZ", "superuser"), researPass, clink.EINVALID, "roles", `"superuser" is not one of`},
			{"researcher without site", newUser("bob", "", clink.RoleResearcher), researPass, clink.EINVALID, "site", "required for the role researcher"},
			{"clinician at a lab", newUser("bob", "ZGZ", clink.RoleClinician), clinPass, clink.EINVALID, "site", "requires a hospital"},
			{"unknown site", newUser("bob", "MAD", clink.RoleResearcher), researPass, clink.EINVALID, "site", "no site has the code MAD"},
			{"bad site code", newUser("bob", "mad", clink.RoleViewer), researPass, clink.EINVALID, "site", "not a site code"},
			{"short password", newUser("bob", "ZGZ", clink.RoleResearcher), "elevenchars", clink.EINVALID, "password", "has 11 characters; at least 12"},
			{"password holds username", newUser("bob", "ZGZ", clink.RoleResearcher), "my name is BOB, hello", clink.EINVALID, "password", "contains the username"},
			{"password is username reversed", newUser("abcdefghijklm", "ZGZ", clink.RoleResearcher), "MLKJIHGFEDCBA", clink.EINVALID, "password", "username reversed"},
			{"username taken", newUser("ana", "ZGZ", clink.RoleViewer), researPass, clink.ECONFLICT, "", "user ana already exists"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				err := s.CreateUser(actx, tc.u, tc.password)
				wantCode(t, err, tc.code, tc.field)
				wantMessage(t, err, tc.message)
				if strings.Contains(err.Error(), tc.password) {
					t.Errorf("error %q shows the password", err)
				}
				if d := cmp.Diff(before, identityCounts(t, s)); d != "" {
					t.Errorf("a refused CreateUser changed the database (-before +after):\n%s", d)
				}
			})
		}
	})
}

func TestUsers(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		identitySites(t, s)
		admin := newUser("root", "", clink.RoleAdmin)
		must(t, s.CreateUser(actx, admin, adminPass))
		ana := newUser("ana.lopez", "ZGZ", clink.RoleViewer, clink.RoleResearcher, clink.RoleViewer)
		must(t, s.CreateUser(actx, ana, researPass))
		clin := newUser("dr_martin", "MPL", clink.RoleClinician)
		must(t, s.CreateUser(actx, clin, clinPass))
		if ana.ID == 0 || ana.CreatedBy != "tester" || ana.CreatedAt.IsZero() || !cmp.Equal(ana.Roles, []string{"researcher", "viewer"}) {
			t.Fatalf("created user = %+v, want id, provenance and roles [researcher viewer]", ana)
		}
		got, err := s.FindUserByUsername(actx, "ana.lopez")
		must(t, err)
		if d := cmp.Diff(ana, got); d != "" {
			t.Fatalf("FindUserByUsername (-created +found):\n%s", d)
		}
		_, err = s.FindUserByUsername(actx, "nobody")
		wantCode(t, err, clink.ENOTFOUND, "")

		// Authentication: one answer for every failure.
		u, err := s.Authenticate(actx, "ana.lopez", researPass)
		must(t, err)
		if d := cmp.Diff(ana, u); d != "" {
			t.Fatalf("Authenticate (-created +authenticated):\n%s", d)
		}
		for _, tc := range []struct{ name, user, pass string }{
			{"wrong password", "ana.lopez", adminPass},
			{"password of another case", "ana.lopez", strings.ToUpper(researPass)},
			{"unknown user", "nobody", researPass},
			{"empty", "", ""},
			{"huge password", "ana.lopez", strings.Repeat("x", clink.MaxPasswordLength+1)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.Authenticate(actx, tc.user, tc.pass)
				wantCode(t, err, clink.EUNAUTHORIZED, "")
				if got, want := clink.ErrorMessage(err), "invalid username or password"; got != want {
					t.Errorf("message = %q, want %q", got, want)
				}
			})
		}

		// Passwords change under the policy.
		wantCode(t, s.SetPassword(actx, "ana.lopez", "short"), clink.EINVALID, "password")
		wantCode(t, s.SetPassword(actx, "ana.lopez", "xx ANA.LOPEZ xx yy"), clink.EINVALID, "password")
		wantCode(t, s.SetPassword(actx, "nobody", "a fine passphrase"), clink.ENOTFOUND, "")
		must(t, s.SetPassword(actx, "ana.lopez", "a brand new passphrase"))
		_, err = s.Authenticate(actx, "ana.lopez", researPass)
		wantCode(t, err, clink.EUNAUTHORIZED, "")
		_, err = s.Authenticate(actx, "ana.lopez", "a brand new passphrase")
		must(t, err)

		// Lists.
		must(t, s.CreateUser(actx, newUser("zoe", "ZGZ", clink.RoleResearcher), researPass))
		must(t, s.CreateUser(actx, newUser("qa-one", "", clink.RoleQA), researPass))
		_, err = s.DisableUser(actx, "zoe", "left the consortium")
		must(t, err)
		tests := []struct {
			name  string
			f     clink.UserFilter
			want  []string
			total int
		}{
			{"enabled", clink.UserFilter{}, []string{"ana.lopez", "dr_martin", "qa-one", "root"}, 4},
			{"with disabled", clink.UserFilter{IncludeDisabled: true}, []string{"ana.lopez", "dr_martin", "qa-one", "root", "zoe"}, 5},
			{"site", clink.UserFilter{Site: "ZGZ", IncludeDisabled: true}, []string{"ana.lopez", "zoe"}, 2},
			{"role", clink.UserFilter{Role: clink.RoleResearcher}, []string{"ana.lopez"}, 1},
			{"page", clink.UserFilter{Page: clink.Page{Limit: 2, Offset: 1}}, []string{"dr_martin", "qa-one"}, 4},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				list, total, err := s.FindUsers(actx, tc.f)
				must(t, err)
				var names []string
				for _, u := range list {
					names = append(names, u.Username)
					if len(u.Roles) == 0 {
						t.Errorf("listed user %s has no roles", u.Username)
					}
				}
				if !cmp.Equal(names, tc.want) || total != tc.total {
					t.Errorf("got %v total %d, want %v total %d", names, total, tc.want, tc.total)
				}
			})
		}
		_, _, err = s.FindUsers(actx, clink.UserFilter{Role: "boss"})
		wantCode(t, err, clink.EINVALID, "role")
	})
}

func TestUserRolesAndDisable(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		identitySites(t, s)
		must(t, s.CreateUser(actx, newUser("root", "", clink.RoleAdmin), adminPass))
		must(t, s.CreateUser(actx, newUser("ana", "ZGZ", clink.RoleResearcher), researPass))
		n, err := s.CountAdmins(actx)
		must(t, err)
		if n != 1 {
			t.Fatalf("CountAdmins = %d, want 1", n)
		}
		before := identityCounts(t, s)
		refused := []struct {
			name        string
			user        string
			roles       []string
			reason      string
			code, field string
			message     string
		}{
			{"no reason", "ana", []string{"viewer"}, " ", clink.EINVALID, "reason", "required"},
			{"no roles", "ana", nil, "r", clink.EINVALID, "roles", "at least one"},
			{"unknown role", "ana", []string{"god"}, "r", clink.EINVALID, "roles", "god"},
			{"clinician at a lab", "ana", []string{"clinician"}, "r", clink.EINVALID, "site", "requires a hospital"},
			{"researcher without site", "root", []string{"admin", "researcher"}, "r", clink.EINVALID, "site", "required"},
			{"last admin", "root", []string{"viewer"}, "r", clink.ECONFLICT, "", "last enabled admin"},
			{"unknown user", "nobody", []string{"viewer"}, "r", clink.ENOTFOUND, "", "nobody"},
		}
		for _, tc := range refused {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.SetUserRoles(actx, tc.user, tc.roles, tc.reason)
				wantCode(t, err, tc.code, tc.field)
				wantMessage(t, err, tc.message)
				if d := cmp.Diff(before, identityCounts(t, s)); d != "" {
					t.Errorf("refused SetUserRoles changed the database (-before +after):\n%s", d)
				}
			})
		}
		_, err = s.DisableUser(actx, "root", "testing")
		wantCode(t, err, clink.ECONFLICT, "")
		wantMessage(t, err, "last enabled admin")
		_, err = s.DisableUser(actx, "ana", "")
		wantCode(t, err, clink.EINVALID, "reason")

		u, err := s.SetUserRoles(clink.WithActor(context.Background(), "root"), "ana", []string{"viewer", "admin"}, "runs the server now")
		must(t, err)
		if !cmp.Equal(u.Roles, []string{"admin", "viewer"}) || u.UpdatedBy != "root" || !u.UpdatedAt.After(u.CreatedAt) {
			t.Fatalf("after SetUserRoles: %+v, want roles [admin viewer] updated by root", u)
		}
		if n, _ := s.CountAdmins(actx); n != 2 {
			t.Fatalf("CountAdmins = %d, want 2", n)
		}
		// With two admins, one may go.
		d, err := s.DisableUser(actx, "root", "account replaced")
		must(t, err)
		if !d.Disabled || d.DisabledReason != "account replaced" {
			t.Fatalf("disabled user = %+v", d)
		}
		if n, _ := s.CountAdmins(actx); n != 1 {
			t.Fatalf("CountAdmins after disabling one = %d, want 1", n)
		}
		_, err = s.Authenticate(actx, "root", adminPass)
		wantCode(t, err, clink.EUNAUTHORIZED, "")
		wantMessage(t, err, "invalid username or password")
		_, err = s.DisableUser(actx, "root", "again")
		wantCode(t, err, clink.ECONFLICT, "")
		_, err = s.SetUserRoles(actx, "root", []string{"admin"}, "back")
		wantCode(t, err, clink.ECONFLICT, "")

		events, _, err := s.FindAuditEvents(actx, clink.AuditFilter{Entity: "user"})
		must(t, err)
		var actions []string
		for _, e := range events {
			actions = append(actions, e.Action+":"+e.Reason)
		}
		want := []string{"create:", "create:", "update:runs the server now", "status:account replaced",
			"login_failed:failed sign-in 1: user disabled"} // the refused sign-in of the disabled root
		if !cmp.Equal(actions, want) {
			t.Errorf("user audit events = %v, want %v", actions, want)
		}
	})
}

// settableClock is a store clock that tests move by hand.
type settableClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *settableClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *settableClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestTokens(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		clk := &settableClock{t: clockStart}
		s.SetClock(clk.Now)
		identitySites(t, s)
		must(t, s.CreateUser(actx, newUser("root", "", clink.RoleAdmin), adminPass))
		must(t, s.CreateUser(actx, newUser("ana", "ZGZ", clink.RoleResearcher), researPass))

		before := identityCounts(t, s)
		for _, tc := range []struct {
			name, user, label string
			expires           time.Duration
			code, field       string
		}{
			{"zero lifetime", "ana", "", 0, clink.EINVALID, "expires"},
			{"negative lifetime", "ana", "", -time.Hour, clink.EINVALID, "expires"},
			{"lifetime too long", "ana", "", 367 * 24 * time.Hour, clink.EINVALID, "expires"},
			{"label too long", "ana", strings.Repeat("l", 201), time.Hour, clink.EINVALID, "label"},
			{"unknown user", "nobody", "", time.Hour, clink.ENOTFOUND, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				secret, k, err := s.CreateToken(actx, tc.user, tc.label, tc.expires)
				wantCode(t, err, tc.code, tc.field)
				if secret != "" || k != nil {
					t.Errorf("refused CreateToken returned %q, %v; want nothing", secret, k)
				}
				if d := cmp.Diff(before, identityCounts(t, s)); d != "" {
					t.Errorf("refused CreateToken changed the database (-before +after):\n%s", d)
				}
			})
		}

		secret, k, err := s.CreateToken(actx, "ana", "analysis scripts", 90*24*time.Hour)
		must(t, err)
		if len(secret) != 52 || k.Prefix != secret[:clink.TokenPrefixLength] || k.Username != "ana" || k.Label != "analysis scripts" ||
			!k.ExpiresAt.Equal(k.CreatedAt.Add(90*24*time.Hour)) || k.RevokedAt != nil || k.LastUsedAt != nil {
			t.Fatalf("CreateToken = %q, %+v; want a 52-character secret, its prefix, ana, the label and 90 days", secret, k)
		}
		u, err := s.AuthenticateToken(actx, secret)
		must(t, err)
		if u.Username != "ana" || !cmp.Equal(u.Roles, []string{"researcher"}) {
			t.Fatalf("AuthenticateToken = %+v, want ana the researcher", u)
		}
		list, err := s.FindTokens(actx, "ana")
		must(t, err)
		if len(list) != 1 || list[0].LastUsedAt == nil || !list[0].LastUsedAt.Equal(clk.Now().Truncate(time.Microsecond)) {
			t.Fatalf("FindTokens after use = %+v, want one token used at %v", list, clk.Now())
		}

		// Refusals, all with one message.
		expiring, _, err := s.CreateToken(actx, "ana", "short-lived", time.Hour)
		must(t, err)
		revoked, rk, err := s.CreateToken(actx, "root", "", time.Hour)
		must(t, err)
		_, err = s.RevokeToken(actx, clink.TokenRef{Prefix: rk.Prefix}, "leaked in a log")
		must(t, err)
		clk.Add(time.Hour) // "short-lived" expires exactly now
		for _, tc := range []struct{ name, secret string }{
			{"unknown", strings.Repeat("a", 52)},
			{"empty", ""},
			{"prefix only", secret[:8]},
			{"revoked", revoked},
			{"expired", expiring},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.AuthenticateToken(actx, tc.secret)
				wantCode(t, err, clink.EUNAUTHORIZED, "")
				if got, want := clink.ErrorMessage(err), "invalid, revoked or expired token"; got != want {
					t.Errorf("message = %q, want %q", got, want)
				}
			})
		}
		if _, err := s.AuthenticateToken(actx, secret); err != nil {
			t.Fatalf("the 90-day token after one hour: %v", err)
		}

		// Revocation: by id or prefix, with a reason, once.
		before = identityCounts(t, s)
		for _, tc := range []struct {
			name        string
			ref         clink.TokenRef
			reason      string
			code, field string
		}{
			{"no reference", clink.TokenRef{}, "r", clink.EINVALID, "token"},
			{"both", clink.TokenRef{ID: k.ID, Prefix: k.Prefix}, "r", clink.EINVALID, "token"},
			{"bad prefix", clink.TokenRef{Prefix: "abc"}, "r", clink.EINVALID, "prefix"},
			{"no reason", clink.TokenRef{ID: k.ID}, "", clink.EINVALID, "reason"},
			{"unknown id", clink.TokenRef{ID: 999}, "r", clink.ENOTFOUND, ""},
			{"unknown prefix", clink.TokenRef{Prefix: "zzzzzzzz"}, "r", clink.ENOTFOUND, ""},
			{"already revoked", clink.TokenRef{ID: rk.ID}, "r", clink.ECONFLICT, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.RevokeToken(actx, tc.ref, tc.reason)
				wantCode(t, err, tc.code, tc.field)
				if d := cmp.Diff(before, identityCounts(t, s)); d != "" {
					t.Errorf("refused RevokeToken changed the database (-before +after):\n%s", d)
				}
			})
		}

		// A disabled user's tokens stop working, and it gets no new ones.
		_, err = s.DisableUser(actx, "ana", "left")
		must(t, err)
		_, err = s.AuthenticateToken(actx, secret)
		wantCode(t, err, clink.EUNAUTHORIZED, "")
		_, _, err = s.CreateToken(actx, "ana", "", time.Hour)
		wantCode(t, err, clink.ECONFLICT, "")

		rev, err := s.RevokeToken(clink.WithActor(context.Background(), "root"), clink.TokenRef{ID: k.ID}, "user left")
		must(t, err)
		if rev.RevokedAt == nil || rev.RevokedBy != "root" || rev.RevokeReason != "user left" {
			t.Fatalf("revoked token = %+v", rev)
		}
		all, err := s.FindTokens(actx, "")
		must(t, err)
		var ids []int64
		for _, x := range all {
			ids = append(ids, x.ID)
		}
		if !cmp.Equal(ids, []int64{rk.ID, rk.ID - 1, k.ID}) {
			t.Errorf("FindTokens() ids = %v, want newest first %v", ids, []int64{rk.ID, rk.ID - 1, k.ID})
		}
		_, err = s.FindTokens(actx, "nobody")
		wantCode(t, err, clink.ENOTFOUND, "")
	})
}

// TestIdentitySecretsNeverLeak drives every identity write and then searches the audit trail
// and every listed JSON for password hashes, passwords, token secrets and their digests.
func TestIdentitySecretsNeverLeak(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		identitySites(t, s)
		secrets := []string{adminPass, researPass, clinPass, "a second passphrase", "$argon2id$"}
		must(t, s.CreateUser(actx, newUser("root", "", clink.RoleAdmin), adminPass))
		must(t, s.CreateUser(actx, newUser("ana", "ZGZ", clink.RoleResearcher), researPass))
		must(t, s.CreateUser(actx, newUser("doc", "MPL", clink.RoleClinician), clinPass))
		must(t, s.SetPassword(actx, "ana", "a second passphrase"))
		_, err := s.SetUserRoles(actx, "ana", []string{"researcher", "viewer"}, "reads too")
		must(t, err)
		for i := range 2 {
			secret, k, err := s.CreateToken(actx, "ana", "t", time.Hour)
			must(t, err)
			_, err = s.AuthenticateToken(actx, secret)
			must(t, err)
			secrets = append(secrets, secret, secretSHA256(t, s, k.ID))
			if i == 0 {
				_, err = s.RevokeToken(actx, clink.TokenRef{ID: k.ID}, "rotated")
				must(t, err)
			}
		}
		_, err = s.DisableUser(actx, "doc", "moved")
		must(t, err)
		rows, err := s.DB().Query("SELECT password_hash FROM users")
		must(t, err)
		for rows.Next() {
			var h string
			must(t, rows.Scan(&h))
			secrets = append(secrets, h, h[strings.LastIndex(h, "$")+1:])
		}
		must(t, rows.Close())

		var texts []string
		events, _, err := s.FindAuditEvents(actx, clink.AuditFilter{Page: clink.Page{Limit: 1000}})
		must(t, err)
		var identityEvents int
		for _, e := range events {
			texts = append(texts, string(e.Before), string(e.After), e.Reason)
			if e.Entity == "user" || e.Entity == "token" {
				identityEvents++
			}
		}
		// 3 users created, 1 password, 1 roles, 2 tokens created, 1 revoked, 1 user disabled;
		// the token uses are not audited.
		if identityEvents != 9 {
			t.Errorf("identity audit events: got %d, want 9", identityEvents)
		}
		users, _, err := s.FindUsers(actx, clink.UserFilter{IncludeDisabled: true})
		must(t, err)
		tokens, err := s.FindTokens(actx, "")
		must(t, err)
		for _, v := range []any{users, tokens} {
			b, err := json.Marshal(v)
			must(t, err)
			texts = append(texts, string(b))
		}
		for _, text := range texts {
			for _, secret := range secrets {
				if strings.Contains(text, secret) {
					t.Fatalf("%q appears in %s", secret, text)
				}
			}
			if strings.Contains(strings.ToLower(text), "password_hash") || strings.Contains(text, "secret") {
				t.Fatalf("a secret-bearing field appears in %s", text)
			}
		}
		if _, err := s.VerifyAudit(actx); err != nil {
			t.Fatalf("audit chain after identity writes: %v", err)
		}
	})
}

// secretSHA256 reads the stored digest of a token.
func secretSHA256(tb testing.TB, s *sqldb.Store, id int64) string {
	tb.Helper()
	var h string
	must(tb, s.DB().QueryRow("SELECT secret_sha256 FROM tokens WHERE id = $1", id).Scan(&h))
	if len(h) != 64 {
		tb.Fatalf("stored digest %q is not a hex SHA-256", h)
	}
	return h
}

// TestTokenUseRecordedPerMinute checks that a token's last use is written at most once a
// minute, so that API reads do not each cost a write.
func TestTokenUseRecordedPerMinute(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		clk := &settableClock{t: loginBase}
		u := loginUser(t, s, clk)
		secret, _, err := s.CreateToken(actx, u.Username, "cli", 24*time.Hour)
		must(t, err)
		lastUse := func() time.Time {
			ks, err := s.FindTokens(actx, u.Username)
			must(t, err)
			if len(ks) != 1 || ks[0].LastUsedAt == nil {
				t.Fatalf("tokens %+v, want one with a last use", ks)
			}
			return *ks[0].LastUsedAt
		}
		_, err = s.AuthenticateToken(actx, secret)
		must(t, err)
		first := lastUse()
		clk.Add(30 * time.Second)
		_, err = s.AuthenticateToken(actx, secret)
		must(t, err)
		if got := lastUse(); !got.Equal(first) {
			t.Errorf("last use 30 s later: got %v, want still %v", got, first)
		}
		clk.Add(31 * time.Second)
		_, err = s.AuthenticateToken(actx, secret)
		must(t, err)
		if got := lastUse(); !got.After(first) {
			t.Errorf("last use 61 s later: got %v, want after %v", got, first)
		}
	})
}
