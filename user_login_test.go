package clink

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLoginPolicyDelay(t *testing.T) {
	p := DefaultLoginPolicy()
	// Waits of the default policy, by hand: none before the 3rd failure, then 1 s doubling
	// (1, 2, 4, 8, 16, 32 s) until 64 s would pass the 60 s cap.
	tests := []struct {
		failures int
		want     time.Duration
	}{
		{0, 0}, {1, 0}, {2, 0}, {3, time.Second}, {4, 2 * time.Second}, {5, 4 * time.Second},
		{6, 8 * time.Second}, {7, 16 * time.Second}, {8, 32 * time.Second}, {9, time.Minute},
		{10, time.Minute}, {1 << 30, time.Minute},
	}
	for _, tc := range tests {
		if got := p.Delay(tc.failures); got != tc.want {
			t.Errorf("Delay(%d) = %s, want %s", tc.failures, got, tc.want)
		}
	}
	// A cap near the largest duration must not overflow.
	huge := LoginPolicy{ThrottleAfter: 1, ThrottleDelay: time.Hour, MaxThrottleDelay: 1<<63 - 1, LockAfter: 10, LockDuration: time.Hour}
	if got := huge.Delay(200); got != 1<<63-1 {
		t.Errorf("Delay(200) with the largest cap = %d, want the cap", got)
	}
}

func TestLoginPolicyValidate(t *testing.T) {
	ok := DefaultLoginPolicy()
	tests := []struct {
		name   string
		edit   func(p *LoginPolicy)
		fields []string
	}{
		{"default", func(p *LoginPolicy) {}, nil},
		{"lock before throttle", func(p *LoginPolicy) { p.LockAfter = 2 }, nil},
		{"zero", func(p *LoginPolicy) { *p = LoginPolicy{} },
			[]string{"throttle_after", "throttle_delay", "lock_after", "lock_duration"}},
		{"cap below first wait", func(p *LoginPolicy) { p.MaxThrottleDelay = time.Millisecond }, []string{"max_throttle_delay"}},
		{"negative lock", func(p *LoginPolicy) { p.LockDuration = -time.Minute }, []string{"lock_duration"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := ok
			tc.edit(&p)
			var got []string
			for _, f := range ErrorFields(p.Validate()) {
				got = append(got, f.Field)
			}
			if !cmp.Equal(got, tc.fields) {
				t.Errorf("fields at fault = %v, want %v", got, tc.fields)
			}
		})
	}
}

func TestLoginPolicyFail(t *testing.T) {
	p := DefaultLoginPolicy()
	now := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return now.Add(d) }
	tests := []struct {
		name   string
		before LoginState
		want   LoginState
		locked bool
	}{
		{"first", LoginState{}, LoginState{Failures: 1}, false},
		{"third waits 1 s", LoginState{Failures: 2}, LoginState{Failures: 3, NotBefore: at(time.Second)}, false},
		{"fourth waits 2 s", LoginState{Failures: 3, NotBefore: at(-time.Second)}, LoginState{Failures: 4, NotBefore: at(2 * time.Second)}, false},
		{"tenth locks", LoginState{Failures: 9, NotBefore: at(-time.Second)}, LoginState{Failures: 10, LockedUntil: at(15 * time.Minute)}, true},
		{"while locked: counted, lock kept", LoginState{Failures: 10, LockedUntil: at(time.Minute)}, LoginState{Failures: 11, LockedUntil: at(time.Minute)}, false},
		{"lock expired: fresh count", LoginState{Failures: 10, LockedUntil: now}, LoginState{Failures: 1}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, locked := p.Fail(tc.before, now)
			if !cmp.Equal(got, tc.want) || locked != tc.locked {
				t.Errorf("got %+v locked %v, want %+v locked %v", got, locked, tc.want, tc.locked)
			}
		})
	}
}

func TestLoginStateCheck(t *testing.T) {
	now := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		s    LoginState
		want string // "" when the attempt may go ahead
	}{
		{"clear", LoginState{}, ""},
		{"failures only", LoginState{Failures: 2}, ""},
		{"wait over", LoginState{Failures: 3, NotBefore: now}, ""},
		{"lock over", LoginState{Failures: 10, LockedUntil: now}, ""},
		{"waiting", LoginState{Failures: 3, NotBefore: now.Add(time.Second)},
			"too many failed sign-ins: retry later, not before 2025-03-14 09:00:01 UTC"},
		{"waiting, time rounded up", LoginState{Failures: 3, NotBefore: now.Add(1500 * time.Millisecond)},
			"too many failed sign-ins: retry later, not before 2025-03-14 09:00:02 UTC"},
		{"locked", LoginState{Failures: 10, LockedUntil: now.Add(15 * time.Minute)},
			"this account is temporarily locked after too many failed sign-ins, until 2025-03-14 09:15:00 UTC; an administrator can unlock it sooner"},
		{"locked wins over waiting", LoginState{Failures: 10, NotBefore: now.Add(time.Hour), LockedUntil: now.Add(time.Microsecond)},
			"this account is temporarily locked after too many failed sign-ins, until 2025-03-14 09:00:01 UTC; an administrator can unlock it sooner"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.Check(now)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("got %v, want no refusal", err)
				}
				return
			}
			if ErrorCode(err) != EUNAUTHORIZED || ErrorMessage(err) != tc.want {
				t.Errorf("got %q (%s), want %q (%s)", ErrorMessage(err), ErrorCode(err), tc.want, EUNAUTHORIZED)
			}
		})
	}
}
