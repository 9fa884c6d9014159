package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/sqldb"
)

// runClinkIO runs one command with an environment and standard input.
func runClinkIO(tb testing.TB, env map[string]string, stdin string, args ...string) (stdout, stderr string, err error) {
	tb.Helper()
	var out, errOut syncBuffer
	m := &Main{Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return env[k] }, Stdin: strings.NewReader(stdin)}
	err = m.Run(context.Background(), args)
	return out.String(), errOut.String(), err
}

// addAdmin creates the admin "root" in db, as an operator would before the first serve.
func addAdmin(tb testing.TB, db string) {
	tb.Helper()
	_, errOut, err := runClinkIO(tb, map[string]string{"CLINK_PASSWORD": "admin passphrase 9"}, "",
		"user", "add", "--admin", "--db", db, "--username", "root", "--name", "Root Admin", "--email", "root@example.org")
	if err != nil {
		tb.Fatalf("user add --admin: %v\n%s", err, errOut)
	}
}

func TestServeRefusesWithoutAdmin(t *testing.T) {
	db := filepath.Join(t.TempDir(), "c.db")
	_, _, err := runClink(t, "serve", "--db", db, "--addr", "127.0.0.1:0")
	if err == nil || !strings.Contains(err.Error(), "no enabled admin") || !strings.Contains(err.Error(), "clink user add --admin --db "+db) {
		t.Fatalf("serve without an admin: got %v, want a refusal that says clink user add --admin --db %s", err, db)
	}
}

// TestUserAndTokenCommands drives every user and token subcommand on one database.
func TestUserAndTokenCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "c.db")
	ctx := context.Background()
	addAdmin(t, db)
	store, err := sqldb.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.CreateSite(ctx, &clink.Site{Code: "ZGZ", Name: "Zaragoza", Kind: clink.SiteLab}); err != nil {
		t.Fatal(err)
	}
	ok := func(env map[string]string, stdin string, args ...string) string {
		t.Helper()
		out, errOut, err := runClinkIO(t, env, stdin, append(args, "--db", db)...)
		if err != nil {
			t.Fatalf("clink %v: %v\n%s", args, err, errOut)
		}
		return out
	}
	// The password comes from standard input when CLINK_PASSWORD is unset.
	ok(nil, "pipettes and plates\n", "user", "add", "--username", "ana", "--name", "Ana López", "--email", "ana@unizar.es",
		"--site", "ZGZ", "--role", "researcher", "--role", "viewer")
	if _, err := store.Authenticate(ctx, "ana", "pipettes and plates"); err != nil {
		t.Fatalf("ana cannot sign in with the password given on standard input: %v", err)
	}
	ok(nil, "a newer passphrase\r\n", "user", "passwd", "--username", "ana")
	if _, err := store.Authenticate(ctx, "ana", "a newer passphrase"); err != nil {
		t.Fatalf("after user passwd: %v", err)
	}
	out := ok(nil, "", "user", "roles", "--username", "ana", "--role", "viewer", "--reason", "moved to analysis")
	if !strings.Contains(out, "viewer") {
		t.Errorf("user roles printed %q", out)
	}

	// token create prints the token alone; it authenticates, lists, and revokes.
	secret := ok(nil, "", "token", "create", "--user", "ana", "--expires", "30d", "--label", "notebook")
	if !regexp.MustCompile(`^[a-z2-7]{52}\n$`).MatchString(secret) {
		t.Fatalf("token create printed %q, want the token alone on one line", secret)
	}
	secret = strings.TrimSpace(secret)
	if u, err := store.AuthenticateToken(ctx, secret); err != nil || u.Username != "ana" {
		t.Fatalf("the printed token: %v, %v", u, err)
	}
	out = ok(nil, "", "token", "list", "--user", "ana")
	if !strings.Contains(out, secret[:8]) || !strings.Contains(out, "notebook") || !strings.Contains(out, "active") || strings.Contains(out, secret) {
		t.Errorf("token list = %q, want the prefix, label and active status, never the token", out)
	}
	ok(nil, "", "token", "revoke", "--prefix", secret[:8], "--reason", "laptop lost")
	// A server remembers a token check for 5 s (sqldb.authCache): ask a store that has not
	// checked this token, as a server does once that time has passed.
	fresh, err := sqldb.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if _, err := fresh.AuthenticateToken(ctx, secret); clink.ErrorCode(err) != clink.EUNAUTHORIZED {
		t.Fatalf("revoked token: got %v, want unauthorized", err)
	}
	if out := ok(nil, "", "token", "list"); !strings.Contains(out, "revoked: laptop lost") {
		t.Errorf("token list after revoke = %q", out)
	}

	ok(nil, "", "user", "disable", "--username", "ana", "--reason", "left the project")
	out = ok(nil, "", "user", "list", "--all")
	if !strings.Contains(out, "root") || !strings.Contains(out, "disabled: left the project") {
		t.Errorf("user list --all = %q", out)
	}
	if out := ok(nil, "", "user", "list"); strings.Contains(out, "ana") {
		t.Errorf("user list shows the disabled ana: %q", out)
	}
	if out := ok(nil, "", "user", "list", "--json"); strings.Contains(out, "argon2") || !strings.Contains(out, `"username": "root"`) {
		t.Errorf("user list --json = %q", out)
	}

	// Refusals: usage errors exit 2, refused input exits 1 with the field named.
	for _, tc := range []struct {
		name  string
		env   map[string]string
		stdin string
		args  []string
		exit  int
		want  string
	}{
		{"no subcommand", nil, "", []string{"user"}, 2, "subcommand"},
		{"unknown subcommand", nil, "", []string{"token", "mint"}, 2, "unknown subcommand"},
		{"no password", nil, "", []string{"user", "add", "--username", "bob", "--name", "Bob", "--email", "bob@example.org", "--role", "viewer"}, 2, "CLINK_PASSWORD"},
		{"weak password", map[string]string{"CLINK_PASSWORD": "bob"}, "", []string{"user", "add", "--username", "bob", "--name", "Bob", "--email", "bob@example.org", "--role", "viewer"}, 1, "password: has 3 characters"},
		{"bad role", map[string]string{"CLINK_PASSWORD": "a good passphrase"}, "", []string{"user", "add", "--username", "bob", "--name", "Bob", "--email", "bob@example.org", "--role", "boss"}, 1, `roles: "boss"`},
		{"password as a flag", nil, "", []string{"user", "add", "--password", "x"}, 2, "not defined"},
		{"last admin", nil, "", []string{"user", "disable", "--username", "root", "--reason", "r"}, 1, "last enabled admin"},
		{"roles without reason", nil, "", []string{"user", "roles", "--username", "root", "--role", "admin"}, 1, "reason"},
		{"bad lifetime", nil, "", []string{"token", "create", "--user", "root", "--expires", "forever"}, 2, "--expires"},
		{"lifetime too long", nil, "", []string{"token", "create", "--user", "root", "--expires", "400d"}, 2, "--expires"},
		{"token of disabled user", nil, "", []string{"token", "create", "--user", "ana"}, 1, "disabled"},
		{"revoke without reference", nil, "", []string{"token", "revoke", "--reason", "r"}, 1, "token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runClinkIO(t, tc.env, tc.stdin, append(tc.args, "--db", db)...)
			if err == nil || exitCode(err) != tc.exit || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("clink %v: got %v, want exit %d mentioning %q", tc.args, err, tc.exit, tc.want)
			}
		})
	}

	// The audit trail names the command line as the actor and holds no secrets.
	events, _, err := store.FindAuditEvents(ctx, clink.AuditFilter{Actor: "cli", Page: clink.Page{Limit: 100}})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) < 7 {
		t.Errorf("audit events by cli: got %d, want at least 7", len(events))
	}
	for _, e := range events {
		for _, s := range []string{string(e.Before), string(e.After)} {
			if strings.Contains(s, secret) || strings.Contains(s, "argon2") || strings.Contains(s, "passphrase") {
				t.Errorf("audit event %d holds a secret: %s", e.ID, s)
			}
		}
	}
}

func TestDemoUsers(t *testing.T) {
	db := filepath.Join(t.TempDir(), "c.db")
	_, out := startClink(t, "demo", "--db", db, "--demo-password", "demo passphrase 1")
	for _, want := range []string{"Demo users: admin, researcher-zgz,", "clinician-nim", "Demo password (every user): demo passphrase 1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo printed %q, want %q", out.String(), want)
		}
	}
	// The demo database has an admin, so serve starts on it.
	startClink(t, "serve", "--db", db)
}
