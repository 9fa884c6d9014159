package sqldb_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/sqldb"
	"github.com/google/go-cmp/cmp"
)

// loginBase is a whole second, so that the times the refusals print can be written out.
var loginBase = time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)

// loginUser creates the researcher ana (password researPass) on a store whose clock is clk.
func loginUser(tb testing.TB, s *sqldb.Store, clk *settableClock) *clink.User {
	tb.Helper()
	s.SetClock(clk.Now)
	must(tb, s.CreateSite(actx, newSite("ZGZ")))
	u := newUser("ana", "ZGZ", clink.RoleResearcher)
	must(tb, s.CreateUser(actx, u, researPass))
	return u
}

// loginState returns ana's failed sign-ins.
func loginState(tb testing.TB, s *sqldb.Store, username string) clink.LoginState {
	tb.Helper()
	st, err := s.LoginState(actx, username)
	must(tb, err)
	return st
}

// loginRows counts the rows of login_attempts.
func loginRows(tb testing.TB, s *sqldb.Store) int {
	tb.Helper()
	var n int
	must(tb, s.DB().QueryRow("SELECT COUNT(*) FROM login_attempts").Scan(&n))
	return n
}

// userEvents returns the audit events of the user with id whose action is one of actions
// (every action when none is given).
func userEvents(tb testing.TB, s *sqldb.Store, id int64, actions ...string) []*clink.AuditEvent {
	tb.Helper()
	events, _, err := s.FindAuditEvents(actx, clink.AuditFilter{Entity: "user", EntityID: id, Page: clink.Page{Limit: clink.MaxLimit}})
	must(tb, err)
	var out []*clink.AuditEvent
	for _, e := range events {
		if len(actions) == 0 || slices.Contains(actions, e.Action) {
			out = append(out, e)
		}
	}
	return out
}

// eventFailures reads the count of failures an event's after-image records.
func eventFailures(tb testing.TB, e *clink.AuditEvent) int {
	tb.Helper()
	var v struct {
		Username string `json:"username"`
		Failures *int   `json:"failures"`
	}
	if err := json.Unmarshal(e.After, &v); err != nil || v.Failures == nil {
		tb.Fatalf("event %d (%s) after = %s: want a failures count (%v)", e.Seq, e.Action, e.After, err)
	}
	return *v.Failures
}

// wantRefused fails unless err is an EUNAUTHORIZED refusal whose message is want.
func wantRefused(tb testing.TB, err error, want string) {
	tb.Helper()
	wantCode(tb, err, clink.EUNAUTHORIZED, "")
	if got := clink.ErrorMessage(err); got != want {
		tb.Fatalf("message = %q, want %q", got, want)
	}
}

const (
	badCredentials = "invalid username or password"
	wrongPass      = "not the right passphrase"
)

// longPolicy is the default policy with the lock moved to the 10th failure, so that the whole
// throttle sequence (1, 2, 4 ... 60 s) is walked before the lock.
func longPolicy() clink.LoginPolicy {
	p := clink.DefaultLoginPolicy()
	p.LockAfter = 10
	return p
}

// TestLoginDefaultLocksAtFive checks the default lockout count of the Part 11 checklist
// (gmp.md C2: lockout after 5 failures).
func TestLoginDefaultLocksAtFive(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		clk := &settableClock{t: loginBase}
		loginUser(t, s, clk)
		for n := 1; n <= 5; n++ {
			_, _ = s.Authenticate(actx, "ana", wrongPass)
			if st := loginState(t, s, "ana"); n < 5 && !st.LockedUntil.IsZero() {
				t.Fatalf("after %d failures: state %+v, want not yet locked", n, st)
			}
			clk.Add(2 * time.Minute) // past any throttle wait (at most 1 min), inside a lock (15 min)
		}
		st := loginState(t, s, "ana")
		if st.Failures != 5 || st.LockedUntil.IsZero() {
			t.Fatalf("after 5 failures: state %+v, want locked", st)
		}
	})
}

// TestLoginThrottleAndLock walks one account through the throttle waits of 1, 2, 4 ... 60 s,
// a 15-minute lock at the 10th failure (longPolicy), and the end of the lock.
func TestLoginThrottleAndLock(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		clk := &settableClock{t: loginBase}
		u := loginUser(t, s, clk)
		must(t, s.SetLoginPolicy(longPolicy()))

		// Failures 1 and 2 cost nothing; failure 3 starts the waits.
		for n := 1; n <= 3; n++ {
			_, err := s.Authenticate(actx, "ana", wrongPass)
			wantRefused(t, err, badCredentials)
			if got := loginState(t, s, "ana").Failures; got != n {
				t.Fatalf("after failure %d: failures = %d, want %d", n, got, n)
			}
		}

		// Waits after failures 3..9 under the default policy (1 s doubling, at most 60 s),
		// written out by hand: 1, 2, 4, 8, 16, 32, then 64 s capped at 60 s.
		waits := []struct {
			failures int
			wait     time.Duration
		}{
			{3, 1 * time.Second}, {4, 2 * time.Second}, {5, 4 * time.Second}, {6, 8 * time.Second},
			{7, 16 * time.Second}, {8, 32 * time.Second}, {9, 60 * time.Second},
		}
		for _, w := range waits {
			t.Run(fmt.Sprintf("wait after failure %d", w.failures), func(t *testing.T) {
				failedAt := clk.Now()
				st := loginState(t, s, "ana")
				if st.Failures != w.failures || !st.NotBefore.Equal(failedAt.Add(w.wait)) || !st.LockedUntil.IsZero() {
					t.Fatalf("state = %+v, want %d failures, not before %v, no lock", st, w.failures, failedAt.Add(w.wait))
				}
				events := len(userEvents(t, s, u.ID))
				// Just before the wait ends, even the right password is refused, uncounted.
				clk.Add(w.wait - time.Microsecond)
				_, err := s.Authenticate(actx, "ana", researPass)
				wantCode(t, err, clink.EUNAUTHORIZED, "")
				wantMessage(t, err, "too many failed sign-ins: retry later, not before 2025-03-14 ")
				if got := loginState(t, s, "ana"); !cmp.Equal(got, st) {
					t.Errorf("a refused attempt changed the state: got %+v, want %+v", got, st)
				}
				if got := len(userEvents(t, s, u.ID)); got != events {
					t.Errorf("a refused attempt wrote %d audit events, want 0", got-events)
				}
				// When it ends, the attempt is judged: a wrong password is the next failure.
				clk.Add(time.Microsecond)
				_, err = s.Authenticate(actx, "ana", wrongPass)
				if w.failures+1 < 10 {
					wantRefused(t, err, badCredentials)
				} else {
					wantCode(t, err, clink.EUNAUTHORIZED, "")
				}
			})
		}

		// The 10th failure (made above at 09:02:03, the sum of the waits: 1+2+4+8+16+32+60 =
		// 123 s after 09:00:00) locks the account for 15 minutes, until 09:17:03.
		lockedAt := loginBase.Add(123 * time.Second)
		if !clk.Now().Equal(lockedAt) {
			t.Fatalf("clock at the lock = %v, want %v", clk.Now(), lockedAt)
		}
		st := loginState(t, s, "ana")
		want := clink.LoginState{Failures: 10, LockedUntil: time.Date(2025, 3, 14, 9, 17, 3, 0, time.UTC)}
		if !cmp.Equal(st, want) {
			t.Fatalf("state after 10 failures = %+v, want %+v", st, want)
		}
		locked := "this account is temporarily locked after too many failed sign-ins, until 2025-03-14 09:17:03 UTC; an administrator can unlock it sooner"
		clk.Add(15*time.Minute - time.Second)
		_, err := s.Authenticate(actx, "ana", researPass)
		wantRefused(t, err, locked)

		events := userEvents(t, s, u.ID, "login_failed", "lock")
		var got []string
		for _, e := range events {
			got = append(got, fmt.Sprintf("%s %d", e.Action, eventFailures(t, e)))
		}
		wantEvents := []string{"login_failed 1", "login_failed 2", "login_failed 3", "login_failed 4", "login_failed 5",
			"login_failed 6", "login_failed 7", "login_failed 8", "login_failed 9", "login_failed 10", "lock 10"}
		if !cmp.Equal(got, wantEvents) {
			t.Errorf("audit events = %v, want %v", got, wantEvents)
		}
		if lock := events[len(events)-1]; lock.Reason != "10 consecutive failed sign-ins: locked for 15m0s" {
			t.Errorf("lock reason = %q", lock.Reason)
		}

		// When the lock ends the right password signs in and clears the record.
		clk.Add(time.Second)
		if _, err := s.Authenticate(actx, "ana", researPass); err != nil {
			t.Fatalf("sign-in when the lock ends: %v", err)
		}
		if st := loginState(t, s, "ana"); !st.Clear() || loginRows(t, s) != 0 {
			t.Errorf("after a successful sign-in: state %+v, %d rows; want none", st, loginRows(t, s))
		}
		if _, err := s.VerifyAudit(actx); err != nil {
			t.Errorf("audit chain: %v", err)
		}
	})
}

// TestLoginLockMessages checks the refusal that the locking failure itself returns, the
// rounding of the time it shows, and a fresh count after an expired lock.
func TestLoginLockMessages(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		clk := &settableClock{t: loginBase}
		loginUser(t, s, clk)
		must(t, s.SetLoginPolicy(clink.LoginPolicy{ThrottleAfter: 5, ThrottleDelay: time.Second,
			MaxThrottleDelay: time.Second, LockAfter: 2, LockDuration: time.Hour}))
		_, err := s.Authenticate(actx, "ana", wrongPass)
		wantRefused(t, err, badCredentials)
		// The lock starts at 10:30:00.25, so it ends at 11:30:00.25, shown as 11:30:01.
		clk.Add(90*time.Minute + 250*time.Millisecond)
		_, err = s.Authenticate(actx, "ana", wrongPass)
		wantRefused(t, err, "this account is temporarily locked after too many failed sign-ins, until 2025-03-14 11:30:01 UTC; an administrator can unlock it sooner")

		// After the lock, a failure counts from one again.
		clk.Add(time.Hour)
		_, err = s.Authenticate(actx, "ana", wrongPass)
		wantRefused(t, err, badCredentials)
		if got, want := loginState(t, s, "ana"), (clink.LoginState{Failures: 1}); !cmp.Equal(got, want) {
			t.Errorf("after an expired lock and a failure: got %+v, want %+v", got, want)
		}
	})
}

func TestLoginSuccessResets(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		clk := &settableClock{t: loginBase}
		loginUser(t, s, clk)
		for range 2 {
			_, err := s.Authenticate(actx, "ana", wrongPass)
			wantRefused(t, err, badCredentials)
		}
		if _, err := s.Authenticate(actx, "ana", researPass); err != nil {
			t.Fatalf("sign-in after 2 failures: %v", err)
		}
		if got := loginState(t, s, "ana"); !got.Clear() {
			t.Fatalf("after success: got %+v, want a clear state", got)
		}
		// Two more failures are failures 1 and 2 again: still no wait.
		for range 2 {
			_, err := s.Authenticate(actx, "ana", wrongPass)
			wantRefused(t, err, badCredentials)
		}
		if got, want := loginState(t, s, "ana"), (clink.LoginState{Failures: 2}); !cmp.Equal(got, want) {
			t.Fatalf("got %+v, want %+v", got, want)
		}
		if _, err := s.Authenticate(actx, "ana", researPass); err != nil {
			t.Fatalf("sign-in after 2 failures: %v", err)
		}
	})
}

func TestUnlockUser(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		clk := &settableClock{t: loginBase}
		u := loginUser(t, s, clk)
		rootCtx := clink.WithActor(context.Background(), "root")

		wantCode(t, s.UnlockUser(rootCtx, "ana", "nothing to do"), clink.ECONFLICT, "")
		for range 10 {
			_, _ = s.Authenticate(actx, "ana", wrongPass)
			clk.Add(time.Minute) // past every wait
		}
		if st := loginState(t, s, "ana"); !st.Locked(clk.Now()) {
			t.Fatalf("after 10 failures: %+v, want locked at %v", st, clk.Now())
		}
		before := identityCounts(t, s)
		for _, tc := range []struct {
			name, user, reason, code, field string
		}{
			{"no reason", "ana", " ", clink.EINVALID, "reason"},
			{"unknown user", "nobody", "r", clink.ENOTFOUND, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantCode(t, s.UnlockUser(rootCtx, tc.user, tc.reason), tc.code, tc.field)
				if d := cmp.Diff(before, identityCounts(t, s)); d != "" {
					t.Errorf("a refused unlock changed the database (-before +after):\n%s", d)
				}
			})
		}
		must(t, s.UnlockUser(rootCtx, "ana", "called the helpdesk, identity checked"))
		if _, err := s.Authenticate(actx, "ana", researPass); err != nil {
			t.Fatalf("sign-in after unlock: %v", err)
		}
		unlocks := userEvents(t, s, u.ID, "unlock")
		if len(unlocks) != 1 || unlocks[0].Actor != "root" || unlocks[0].Reason != "called the helpdesk, identity checked" {
			t.Fatalf("unlock events = %+v, want one by root with the reason", unlocks)
		}
		if n := eventFailures(t, unlocks[0]); n != 0 {
			t.Errorf("unlock after-image has %d failures, want 0", n)
		}
		wantCode(t, s.UnlockUser(rootCtx, "ana", "again"), clink.ECONFLICT, "")

		// A new password clears a lock too, with an unlock event.
		for range 10 {
			_, _ = s.Authenticate(actx, "ana", wrongPass)
			clk.Add(time.Minute)
		}
		must(t, s.SetPassword(rootCtx, "ana", "a reset passphrase 7"))
		if _, err := s.Authenticate(actx, "ana", "a reset passphrase 7"); err != nil {
			t.Fatalf("sign-in after a password reset: %v", err)
		}
		if got := userEvents(t, s, u.ID, "unlock"); len(got) != 2 || got[1].Reason != "password changed" {
			t.Errorf("unlock events after a reset = %d, want 2, the last for %q", len(got), "password changed")
		}
	})
}

// TestLoginAuditHoldsNoPassword checks that the failures' events carry the count and none of
// the passwords tried.
func TestLoginAuditHoldsNoPassword(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		clk := &settableClock{t: loginBase}
		u := loginUser(t, s, clk)
		must(t, s.SetLoginPolicy(longPolicy()))
		var tried []string
		for i := range 10 {
			p := fmt.Sprintf("guess number %02d of the attacker", i)
			tried = append(tried, p)
			_, _ = s.Authenticate(actx, "ana", p)
			clk.Add(time.Minute)
		}
		must(t, s.UnlockUser(actx, "ana", "test"))
		_, err := s.Authenticate(actx, "ana", researPass)
		must(t, err)
		tried = append(tried, researPass)
		events := userEvents(t, s, u.ID)
		if n := len(userEvents(t, s, u.ID, "login_failed")); n != 10 {
			t.Errorf("login_failed events = %d, want 10", n)
		}
		for _, e := range events {
			b, err := json.Marshal(e)
			must(t, err)
			for _, p := range tried {
				if strings.Contains(string(b), p) {
					t.Errorf("audit event %d (%s) holds the password %q: %s", e.Seq, e.Action, p, b)
				}
			}
		}
	})
}

// TestLoginUnknownUser checks that unknown usernames get the one generic answer however often
// they are tried, and leave neither rows nor events.
func TestLoginUnknownUser(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		clk := &settableClock{t: loginBase}
		loginUser(t, s, clk)
		before := identityCounts(t, s)
		// 11 tries of one name: more than the 10 failures that would lock an existing user.
		for _, tc := range []struct {
			name  string
			tries int
		}{{"nobody", 11}, {"", 1}, {"Ana", 1}, {strings.Repeat("x", 300), 1}} {
			for range tc.tries {
				_, err := s.Authenticate(actx, tc.name, wrongPass)
				wantRefused(t, err, badCredentials)
			}
		}
		if n := loginRows(t, s); n != 0 {
			t.Errorf("login_attempts has %d rows, want 0", n)
		}
		if d := cmp.Diff(before, identityCounts(t, s)); d != "" {
			t.Errorf("sign-ins of unknown users changed the database (-before +after):\n%s", d)
		}
	})
}

// TestLoginConcurrentFailures runs 8 failing sign-ins of one user at once: each is counted
// exactly once, and a lock is taken once.
func TestLoginConcurrentFailures(t *testing.T) {
	const workers = 8
	run := func(t *testing.T, s *sqldb.Store) []error {
		t.Helper()
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for i := range workers {
			wg.Go(func() { _, errs[i] = s.Authenticate(actx, "ana", wrongPass) })
		}
		wg.Wait()
		return errs
	}
	t.Run("count", func(t *testing.T) {
		forEachDB(t, func(t *testing.T, s *sqldb.Store) {
			u := loginUser(t, s, &settableClock{t: loginBase})
			// No waits and no lock below 100 failures, so every attempt is judged and counted.
			must(t, s.SetLoginPolicy(clink.LoginPolicy{ThrottleAfter: 100, ThrottleDelay: time.Second,
				MaxThrottleDelay: time.Second, LockAfter: 100, LockDuration: time.Minute}))
			for i, err := range run(t, s) {
				if clink.ErrorMessage(err) != badCredentials {
					t.Errorf("attempt %d: got %v, want %q", i, err, badCredentials)
				}
			}
			if got := loginState(t, s, "ana").Failures; got != workers {
				t.Errorf("failures = %d, want %d", got, workers)
			}
			var counts []int
			for _, e := range userEvents(t, s, u.ID, "login_failed") {
				counts = append(counts, eventFailures(t, e))
			}
			slices.Sort(counts)
			if want := []int{1, 2, 3, 4, 5, 6, 7, 8}; !cmp.Equal(counts, want) {
				t.Errorf("counts in the login_failed events = %v, want %v", counts, want)
			}
			if _, err := s.VerifyAudit(actx); err != nil {
				t.Errorf("audit chain: %v", err)
			}
		})
	})
	t.Run("lock once", func(t *testing.T) {
		forEachDB(t, func(t *testing.T, s *sqldb.Store) {
			clk := &settableClock{t: loginBase}
			u := loginUser(t, s, clk)
			must(t, s.SetLoginPolicy(clink.LoginPolicy{ThrottleAfter: 100, ThrottleDelay: time.Second,
				MaxThrottleDelay: time.Second, LockAfter: 5, LockDuration: time.Minute}))
			for _, err := range run(t, s) {
				wantCode(t, err, clink.EUNAUTHORIZED, "")
			}
			st := loginState(t, s, "ana")
			failed := userEvents(t, s, u.ID, "login_failed")
			// Attempts that start after the lock are refused uncounted; those judged before it
			// are all counted, so between 5 and 8 failures, each with its event.
			if st.Failures < 5 || st.Failures > workers || len(failed) != st.Failures || !st.Locked(clk.Now()) {
				t.Errorf("state %+v with %d login_failed events; want 5 to 8 failures, as many events, locked", st, len(failed))
			}
			if n := len(userEvents(t, s, u.ID, "lock")); n != 1 {
				t.Errorf("lock events = %d, want 1", n)
			}
		})
	})
}

func TestSetLoginPolicy(t *testing.T) {
	s := newStore(t, sqldb.DialectSQLite)
	if got, want := s.LoginPolicy(), clink.DefaultLoginPolicy(); got != want {
		t.Fatalf("default policy = %+v, want %+v", got, want)
	}
	bad := clink.LoginPolicy{ThrottleAfter: 0, ThrottleDelay: time.Second, MaxThrottleDelay: time.Second, LockAfter: 3, LockDuration: time.Minute}
	wantCode(t, s.SetLoginPolicy(bad), clink.EINVALID, "throttle_after")
	if got, want := s.LoginPolicy(), clink.DefaultLoginPolicy(); got != want {
		t.Errorf("after a refused policy: got %+v, want the default %+v", got, want)
	}
	good := bad
	good.ThrottleAfter = 2
	must(t, s.SetLoginPolicy(good))
	if got := s.LoginPolicy(); got != good {
		t.Errorf("got %+v, want %+v", got, good)
	}
	// The Store that Atomic hands out keeps the policy.
	must(t, s.Atomic(actx, func(inner clink.Store) error {
		if got := inner.(*sqldb.Store).LoginPolicy(); got != good {
			t.Errorf("inside Atomic: got %+v, want %+v", got, good)
		}
		return nil
	}))
}
