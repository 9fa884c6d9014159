package main

import (
	"strings"
	"testing"
)

// dinVectors are the DINs and check characters of gmp.md §2.4 (ISO/IEC 7064 MOD 37-2).
var dinVectors = []struct{ din, k, offByOne string }{
	{"G123417654321", "A", "9"}, {"G123498654321", "H", "G"}, {"A999818123456", "N", "M"},
	{"W000009123456", "G", "F"}, {"A999921123456", "3", "2"}, {"A999917123456", "9", "8"},
	{"A999917123654", "Y", "X"}, {"A999820123456", "E", "D"}, {"A999914123456", "N", "M"},
	{"C000307001466", "6", "5"}, {"A999922123459", "H", "G"}, {"A999922654321", "S", "R"},
	{"A999922123458", "J", "I"}, {"A999922012346", "*", "Z"}, {"A999522123456", "*", "Z"},
}

// TestDIN checks clink din checkchar and clink din check against every vector of gmp.md §2.4:
// checkchar prints K; check exits 0 for K and 1 for the off-by-one character, saying which it
// expected; the negative vectors fail; malformed DINs are usage errors naming the position.
func TestDIN(t *testing.T) {
	for _, v := range dinVectors {
		out, _, err := runClink(t, "din", "checkchar", v.din)
		if err != nil || strings.TrimSpace(out) != v.k {
			t.Errorf("din checkchar %s: got %q, %v; want %s", v.din, out, err, v.k)
		}
		if _, _, err := runClink(t, "din", "check", v.din, v.k); err != nil {
			t.Errorf("din check %s %s: got %v, want success", v.din, v.k, err)
		}
		_, _, err = runClink(t, "din", "check", v.din, v.offByOne)
		if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "expected "+v.k) {
			t.Errorf("din check %s %s: got %v (exit %d), want exit 1 saying expected %s", v.din, v.offByOne, err, exitCode(err), v.k)
		}
	}
	for _, neg := range []string{"A999915123456N", "F123498654321H", "A999922564321S", "A999920212346*", "A999933123458J", "G123468954321H"} {
		_, _, err := runClink(t, "din", "check", neg[:13], neg[13:])
		if err == nil || exitCode(err) != 1 {
			t.Errorf("din check %s %s: got %v, want exit 1", neg[:13], neg[13:], err)
		}
	}
	for _, bad := range []struct{ din, want string }{
		{"O123417654321", "position 1"}, {"0123417654321", "position 1"}, {"G12341765432", "13 characters"}, {"G1234176543A1", "position 12"},
	} {
		_, _, err := runClink(t, "din", "checkchar", bad.din)
		if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("din checkchar %s: got %v, want a usage error naming %q", bad.din, err, bad.want)
		}
	}
	if _, _, err := runClink(t, "din", "check", "G123417654321", "AB"); err == nil || exitCode(err) != 2 {
		t.Errorf("a two-character K: got %v, want a usage error", err)
	}
}
