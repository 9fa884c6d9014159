package main

import (
	"strings"
	"testing"
)

// TestConfigCommand prints the effective configuration: defaults, environment and flags each
// named as the source, the database password masked.
func TestConfigCommand(t *testing.T) {
	env := map[string]string{"CLINK_DB": "postgres://clink:s3cret@db.example.org/clink", "CLINK_FACILITY": "A9999"}
	out, _, err := runClinkIO(t, env, "", "config", "--log-format", "json")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "s3cret") {
		t.Errorf("the database password is printed:\n%s", out)
	}
	for _, want := range []string{"environment CLINK_DB", "A9999", "environment CLINK_FACILITY", "json", "flag --log-format",
		"session-idle   30m0s", "tls-cert       (none)"} {
		if !strings.Contains(out, want) {
			t.Errorf("config output lacks %q:\n%s", want, out)
		}
	}
	if _, _, err := runClinkIO(t, nil, "", "config", "--facility", "bad"); err == nil {
		t.Error("config with a bad facility: want the configuration error")
	}
}
