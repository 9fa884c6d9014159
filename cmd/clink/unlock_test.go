package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/sqldb"
)

// TestUserUnlock locks an account by failed sign-ins and unlocks it with clink user unlock.
func TestUserUnlock(t *testing.T) {
	db := filepath.Join(t.TempDir(), "c.db")
	ctx := context.Background()
	addAdmin(t, db)
	store, err := sqldb.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	// One failure locks, so the test needs no clock.
	if err := store.SetLoginPolicy(clink.LoginPolicy{ThrottleAfter: 1, ThrottleDelay: time.Second, MaxThrottleDelay: time.Second,
		LockAfter: 1, LockDuration: 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	const rootPass = "admin passphrase 9" // addAdmin's
	if _, err := store.Authenticate(ctx, "root", "a wrong passphrase"); err == nil {
		t.Fatal("a wrong password signed in")
	}
	if _, err := store.Authenticate(ctx, "root", rootPass); !strings.Contains(clink.ErrorMessage(err), "temporarily locked") {
		t.Fatalf("right password while locked: got %v, want a refusal saying the account is temporarily locked", err)
	}

	for _, tc := range []struct {
		name string
		args []string
		exit int
		want string
	}{
		{"no reason", []string{"--username", "root"}, 1, "reason"},
		{"unknown user", []string{"--username", "nobody", "--reason", "r"}, 1, "nobody not found"},
		{"stray argument", []string{"--username", "root", "--reason", "r", "extra"}, 2, "extra"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runClinkIO(t, nil, "", append([]string{"user", "unlock", "--db", db}, tc.args...)...)
			if err == nil || exitCode(err) != tc.exit || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("clink user unlock %v: got %v, want exit %d mentioning %q", tc.args, err, tc.exit, tc.want)
			}
		})
	}

	out, errOut, err := runClinkIO(t, nil, "", "user", "unlock", "--db", db, "--username", "root", "--reason", "locked out by a typo")
	if err != nil {
		t.Fatalf("user unlock: %v\n%s", err, errOut)
	}
	if want := "User root unlocked: failed sign-ins cleared.\n"; out != want {
		t.Errorf("printed %q, want %q", out, want)
	}
	if _, err := store.Authenticate(ctx, "root", rootPass); err != nil {
		t.Fatalf("sign-in after unlock: %v", err)
	}
	events, _, err := store.FindAuditEvents(ctx, clink.AuditFilter{Entity: "user", Actor: cliActor})
	if err != nil {
		t.Fatal(err)
	}
	if last := events[len(events)-1]; last.Action != "unlock" || last.Reason != "locked out by a typo" {
		t.Errorf("last event by the command line = %s %q, want unlock %q", last.Action, last.Reason, "locked out by a typo")
	}
	// Nothing left to clear.
	if _, _, err := runClinkIO(t, nil, "", "user", "unlock", "--db", db, "--username", "root", "--reason", "again"); err == nil ||
		exitCode(err) != 1 || !strings.Contains(err.Error(), "not locked") {
		t.Errorf("unlocking an unlocked user: got %v, want exit 1 saying it is not locked", err)
	}
}
