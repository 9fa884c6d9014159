package main

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

// TestSessionIdleConfig checks the idle timeout of web sessions: default, environment, flag
// over environment, and the refusals of Validate.
func TestSessionIdleConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     string
		args    []string
		want    time.Duration
		problem string // empty: valid
	}{
		{"default", "", nil, 30 * time.Minute, ""},
		{"environment", "45m", nil, 45 * time.Minute, ""},
		{"flag over environment", "45m", []string{"--session-idle", "2h"}, 2 * time.Hour, ""},
		{"environment not a duration", "soon", nil, 30 * time.Minute, "CLINK_SESSION_IDLE"},
		{"too short", "", []string{"--session-idle", "30s"}, 30 * time.Second, "session-idle"},
		{"too long", "", []string{"--session-idle", "25h"}, 25 * time.Hour, "session-idle"},
		{"negative", "-5m", nil, -5 * time.Minute, "session-idle"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := &Main{Getenv: func(k string) string {
				if k == "CLINK_SESSION_IDLE" {
					return tc.env
				}
				return ""
			}}
			c := m.defaultConfig()
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			c.serverFlags(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			if c.SessionIdle != tc.want {
				t.Errorf("got SessionIdle %s, want %s", c.SessionIdle, tc.want)
			}
			err := c.Validate()
			switch {
			case tc.problem == "" && err != nil:
				t.Errorf("got %v, want a valid configuration", err)
			case tc.problem != "" && (err == nil || !strings.Contains(err.Error(), tc.problem)):
				t.Errorf("got %v, want an error naming %s", err, tc.problem)
			}
			if tc.problem == "" && !strings.Contains(c.String(), "session-idle="+tc.want.String()) {
				t.Errorf("got config string %q, want it to show session-idle=%s", c.String(), tc.want)
			}
		})
	}
}
