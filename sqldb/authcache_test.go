package sqldb_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/sqldb"
)

// TestTokenCheckCache checks what remembering token checks may and may not change: a token
// revoked, a user disabled or given other roles through the same store takes effect at once;
// a token revoked by another process (another Store on the database) is refused once the
// remembered check is 5 seconds old.
func TestTokenCheckCache(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		must(t, s.CreateSite(actx, newSite("ZGZ")))
		mk := func(name string) string {
			t.Helper()
			must(t, s.CreateUser(actx, &clink.User{Username: name, FullName: name, Email: name + "@example.org", Site: "ZGZ",
				Roles: []string{clink.RoleResearcher}}, "token cache passphrase"))
			secret, _, err := s.CreateToken(actx, name, "test", time.Hour)
			must(t, err)
			return secret
		}
		auth := func(secret string) (*clink.User, error) { return s.AuthenticateToken(context.Background(), secret) }
		a, b, c := mk("ana"), mk("bob"), mk("cai")
		for _, sec := range []string{a, b, c} {
			if _, err := auth(sec); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.RevokeToken(actx, clink.TokenRef{Prefix: a[:clink.TokenPrefixLength]}, "lost"); err != nil {
			t.Fatal(err)
		}
		if _, err := auth(a); err != clink.ErrBadToken {
			t.Errorf("revoked token: %v, want refused at once", err)
		}
		if _, err := s.DisableUser(actx, "bob", "left"); err != nil {
			t.Fatal(err)
		}
		if _, err := auth(b); err != clink.ErrBadToken {
			t.Errorf("token of a disabled user: %v, want refused at once", err)
		}
		if _, err := s.SetUserRoles(actx, "cai", []string{clink.RoleViewer}, "moved"); err != nil {
			t.Fatal(err)
		}
		if u, err := auth(c); err != nil || !slices.Equal(u.Roles, []string{clink.RoleViewer}) {
			t.Errorf("roles after the change: %v, %v; want viewer at once", u, err)
		}
	})
}

// TestTokenCheckCacheOtherProcess revokes a token through a second store on the same SQLite
// file, as clink token revoke does beside a running server.
func TestTokenCheckCacheOtherProcess(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	open := func() *sqldb.Store {
		s, err := sqldb.Open(context.Background(), dir+"/clink.db")
		must(t, err)
		t.Cleanup(func() { s.Close() })
		must(t, s.Migrate(context.Background()))
		s.SetClock(func() time.Time { return now })
		return s
	}
	server, cli := open(), open()
	must(t, server.CreateSite(actx, newSite("ZGZ")))
	must(t, server.CreateUser(actx, &clink.User{Username: "ana", FullName: "Ana", Email: "a@example.org", Site: "ZGZ",
		Roles: []string{clink.RoleResearcher}}, "token cache passphrase"))
	secret, _, err := server.CreateToken(actx, "ana", "test", time.Hour)
	must(t, err)
	if _, err := server.AuthenticateToken(context.Background(), secret); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.RevokeToken(actx, clink.TokenRef{Prefix: secret[:clink.TokenPrefixLength]}, "lost"); err != nil {
		t.Fatal(err)
	}
	if _, err := server.AuthenticateToken(context.Background(), secret); err != nil {
		t.Errorf("within 5 s of the remembered check: %v, want the remembered answer", err)
	}
	now = now.Add(5 * time.Second)
	if _, err := server.AuthenticateToken(context.Background(), secret); err != clink.ErrBadToken {
		t.Errorf("5 s later: %v, want the token refused", err)
	}
}
