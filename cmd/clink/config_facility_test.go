package main

import (
	"flag"
	"io"
	"strings"
	"testing"
)

// TestFacilityConfig checks the GMP unit's identifiers: the defaults, CLINK_FACILITY and
// CLINK_PRODUCT_CODE, the flags over them, and refusals that name the setting and the position
// at fault.
func TestFacilityConfig(t *testing.T) {
	tests := []struct {
		name          string
		env           map[string]string
		args          []string
		fin, pdc, bad string
	}{
		{"defaults", nil, nil, "G1234", "S0001", ""},
		{"environment", map[string]string{"CLINK_FACILITY": "A9999", "CLINK_PRODUCT_CODE": "S1234"}, nil, "A9999", "S1234", ""},
		{"flag over environment", map[string]string{"CLINK_FACILITY": "A9999"}, []string{"--facility", "W0000"}, "W0000", "S0001", ""},
		{"facility not a FIN", nil, []string{"--facility", "g1234"}, "g1234", "S0001", "facility: \"g1234\""},
		{"product code too short", nil, []string{"--product-code", "S12"}, "G1234", "S12", "product-code: \"S12\""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := &Main{Getenv: func(k string) string { return tc.env[k] }}
			c := m.defaultConfig()
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			c.serverFlags(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			if c.Facility != tc.fin || c.ProductCode != tc.pdc {
				t.Errorf("got facility %q product %q, want %q %q", c.Facility, c.ProductCode, tc.fin, tc.pdc)
			}
			err := c.Validate()
			switch {
			case tc.bad == "" && err != nil:
				t.Errorf("Validate: %v, want nil", err)
			case tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad)):
				t.Errorf("Validate: %v, want a problem naming %s", err, tc.bad)
			}
		})
	}
}
