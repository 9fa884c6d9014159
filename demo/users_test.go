package demo

import (
	"context"
	"regexp"
	"testing"

	"github.com/clink-consortium/clink"
	"github.com/google/go-cmp/cmp"
)

// TestPopulateUsers checks the demo users of the identity issue: their names, roles and sites,
// that each signs in with the demo password, and that a second Populate says users exist.
func TestPopulateUsers(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	const password = "demo passphrase 2026"
	sum := populate(t, s, Options{Password: password})
	want := map[string]string{ // username: role@site
		"admin": "admin@", "researcher-zgz": "researcher@ZGZ", "researcher-bcn": "researcher@BCN",
		"researcher-mad": "researcher@MAD", "researcher-mpl": "researcher@MPL", "researcher-nim": "researcher@NIM",
		"researcher-tls": "researcher@TLS", "viewer": "viewer@", "qa": "qa@", "qp": "qp@",
		"clinician-mpl": "clinician@MPL", "clinician-nim": "clinician@NIM", "operator-mpl": "operator@MPL",
	}
	if sum.Users != len(want) {
		t.Errorf("Summary.Users: got %d, want %d", sum.Users, len(want))
	}
	users, total, err := s.FindUsers(ctx, clink.UserFilter{IncludeDisabled: true})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, u := range users {
		if len(u.Roles) != 1 || u.CreatedBy != "demo" {
			t.Errorf("user %s: roles %v created by %q, want one role, by demo", u.Username, u.Roles, u.CreatedBy)
			continue
		}
		got[u.Username] = u.Roles[0] + "@" + u.Site
	}
	if d := cmp.Diff(want, got); d != "" || total != len(want) {
		t.Errorf("demo users (-want +got), total %d:\n%s", total, d)
	}
	for _, name := range []string{"admin", "clinician-nim"} {
		if _, err := s.Authenticate(ctx, name, password); err != nil {
			t.Errorf("%s cannot sign in with the demo password: %v", name, err)
		}
	}
	again := populate(t, s, Options{Password: password})
	if !again.Skipped || !again.UsersExist || again.Users != 0 {
		t.Errorf("second Populate: got %+v, want Skipped and UsersExist", again)
	}
}

func TestPopulateRefusesWeakPassword(t *testing.T) {
	s := newStore(t)
	for _, p := range []string{"short", "the qa passphrase"} {
		_, err := Populate(context.Background(), s, Options{Password: p})
		if clink.ErrorCode(err) != clink.EINVALID {
			t.Errorf("password %q: got %v, want an invalid-input error", p, err)
		}
	}
	if sites, _ := s.ListSites(context.Background()); len(sites) != 0 {
		t.Errorf("a refused Populate wrote %d sites, want none", len(sites))
	}
}

func TestGeneratePassword(t *testing.T) {
	re := regexp.MustCompile(`^[a-km-np-zA-HJ-NP-Z2-9]{16}$`)
	seen := map[string]bool{}
	for range 200 {
		p := GeneratePassword()
		if !re.MatchString(p) || seen[p] {
			t.Fatalf("GeneratePassword() = %q, want 16 fresh unambiguous letters and digits", p)
		}
		seen[p] = true
		for _, u := range Users() {
			if err := clink.CheckPassword(u.Username, p); err != nil {
				t.Fatalf("generated %q breaks the policy for %s: %v", p, u.Username, err)
			}
		}
	}
}
