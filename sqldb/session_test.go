package sqldb_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/sqldb"
)

// lastSeen reads the last_seen_at of the only session.
func lastSeen(tb testing.TB, s *sqldb.Store) time.Time {
	tb.Helper()
	var raw any
	must(tb, s.DB().QueryRow("SELECT last_seen_at FROM sessions").Scan(&raw))
	switch v := raw.(type) {
	case time.Time:
		return v.UTC()
	case string:
		t, err := time.Parse(time.RFC3339Nano, v)
		must(tb, err)
		return t.UTC()
	}
	tb.Fatalf("last_seen_at: got %T, want a time", raw)
	return time.Time{}
}

func TestSessions(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		clk := &settableClock{t: loginBase}
		loginUser(t, s, clk)
		idle := 30 * time.Minute

		id, err := s.CreateSession(actx, "ana")
		must(t, err)
		if len(id) != 52 {
			t.Fatalf("got a session id of %d characters, want 52 (256 bits in base32)", len(id))
		}
		var stored string
		must(t, s.DB().QueryRow("SELECT secret_sha256 FROM sessions").Scan(&stored))
		if strings.Contains(stored, id) || len(stored) != 64 {
			t.Errorf("got stored %q, want the 64-hex SHA-256 of the id, not the id", stored)
		}
		u, err := s.SessionUser(actx, id, idle)
		must(t, err)
		if u.Username != "ana" || !u.HasRole(clink.RoleResearcher) {
			t.Fatalf("got user %s %v, want ana with researcher", u.Username, u.Roles)
		}

		// Last use is written at most once a minute.
		clk.Add(30 * time.Second)
		must2(t, s, id, idle)
		if got := lastSeen(t, s); !got.Equal(loginBase) {
			t.Errorf("after a use 30 s later: got last_seen_at %s, want %s (unchanged)", got, loginBase)
		}
		clk.Add(50 * time.Second)
		must2(t, s, id, idle)
		if got, want := lastSeen(t, s), loginBase.Add(80*time.Second); !got.Equal(want) {
			t.Errorf("after a use 80 s after sign-in: got last_seen_at %s, want %s", got, want)
		}

		// Idle for longer than idle: refused, and ended for good.
		clk.Add(idle + time.Second)
		wantBadSession(t, s, id, idle)
		wantBadSession(t, s, id, 2*idle)

		// Unknown, empty, over-long ids and a non-positive idle are refused.
		id2, err := s.CreateSession(actx, "ana")
		must(t, err)
		if id2 == id {
			t.Fatal("two sessions got the same id")
		}
		for _, bad := range []string{"", strings.Repeat("a", 52), strings.Repeat("a", 5000)} {
			wantBadSession(t, s, bad, idle)
		}
		wantBadSession(t, s, id2, 0)

		// Logout ends the session; ending it twice is refused.
		must(t, s.EndSession(actx, id2))
		wantBadSession(t, s, id2, idle)
		if err := s.EndSession(actx, id2); clink.ErrorCode(err) != clink.EUNAUTHORIZED {
			t.Errorf("EndSession twice: got %v, want EUNAUTHORIZED", err)
		}

		// A disabled user's sessions stop working.
		id3, err := s.CreateSession(actx, "ana")
		must(t, err)
		must(t, s.CreateUser(actx, newUser("root", "", clink.RoleAdmin), researPass+"x"))
		_, err = s.DisableUser(actx, "ana", "left the lab")
		must(t, err)
		wantBadSession(t, s, id3, idle)
		if _, err := s.CreateSession(actx, "ana"); clink.ErrorCode(err) != clink.ECONFLICT {
			t.Errorf("CreateSession of a disabled user: got %v, want ECONFLICT", err)
		}
		if _, err := s.CreateSession(actx, "nobody"); clink.ErrorCode(err) != clink.ENOTFOUND {
			t.Errorf("CreateSession of an unknown user: got %v, want ENOTFOUND", err)
		}

		// Sign-ins and the sign-out are audited by the user, without the session ids.
		events, _, err := s.FindAuditEvents(actx, clink.AuditFilter{Entity: "session"})
		must(t, err)
		var got []string
		for _, e := range events {
			got = append(got, e.Action+"/"+e.Actor)
			for _, secret := range []string{id, id2, id3} {
				if strings.Contains(string(e.Before)+string(e.After)+e.Reason, secret) {
					t.Errorf("audit event %d holds a session id", e.ID)
				}
			}
		}
		slices.Sort(got)
		if want := "login/ana,login/ana,login/ana,logout/ana"; strings.Join(got, ",") != want {
			t.Errorf("got session events %v, want %s", got, want)
		}
	})
}

// must2 fails unless the session id authenticates.
func must2(tb testing.TB, s *sqldb.Store, id string, idle time.Duration) {
	tb.Helper()
	if _, err := s.SessionUser(actx, id, idle); err != nil {
		tb.Fatalf("SessionUser: got %v, want the user", err)
	}
}

// wantBadSession fails unless the session id is refused with clink.ErrBadSession.
func wantBadSession(tb testing.TB, s *sqldb.Store, id string, idle time.Duration) {
	tb.Helper()
	u, err := s.SessionUser(actx, id, idle)
	if clink.ErrorCode(err) != clink.EUNAUTHORIZED || clink.ErrorMessage(err) != clink.ErrBadSession.Message {
		tb.Errorf("SessionUser(%.10q..., %s): got %v, %v; want ErrBadSession", id, idle, u, err)
	}
}

// TestSessionLifetime checks that a session ends MaxSessionLifetime after sign-in however often
// it is used, and that a password change ends every open session of the user.
func TestSessionLifetime(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		clk := &settableClock{t: loginBase}
		loginUser(t, s, clk)
		id, err := s.CreateSession(actx, "ana")
		must(t, err)
		for used := time.Duration(0); used < clink.MaxSessionLifetime-time.Hour; used += time.Hour {
			clk.Add(time.Hour)
			if _, err := s.SessionUser(actx, id, clink.MaxSessionIdle); err != nil {
				t.Fatalf("used every hour, %s after sign-in: %v", used+time.Hour, err)
			}
		}
		clk.Add(time.Hour + time.Second)
		if _, err := s.SessionUser(actx, id, clink.MaxSessionIdle); err != clink.ErrBadSession {
			t.Errorf("%s after sign-in: %v, want the session ended", clink.MaxSessionLifetime+time.Second, err)
		}
		var reason string
		must(t, s.DB().QueryRow("SELECT end_reason FROM sessions WHERE ended_at IS NOT NULL").Scan(&reason))
		if reason != "lifetime over" {
			t.Errorf("end reason %q, want lifetime over", reason)
		}

		a, err := s.CreateSession(actx, "ana")
		must(t, err)
		b, err := s.CreateSession(actx, "ana")
		must(t, err)
		must(t, s.SetPassword(actx, "ana", "another long passphrase"))
		for _, sid := range []string{a, b} {
			if _, err := s.SessionUser(actx, sid, time.Hour); err != clink.ErrBadSession {
				t.Errorf("a session opened before the password change: %v, want it ended", err)
			}
		}
	})
}
