package sqldb

import (
	"regexp"
	"strings"
	"testing"
)

// TestCheckPasswordReferenceVectors checks our PHC parsing and argon2id verification against
// hashes produced by the Argon2 reference implementation: the argon2id v=19 vectors of
// phc-winner-argon2, src/test.c (password "password", salt "somesalt").
func TestCheckPasswordReferenceVectors(t *testing.T) {
	vectors := []string{
		"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
		"$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc",
	}
	for _, v := range vectors {
		for _, tc := range []struct {
			password string
			want     bool
		}{{"password", true}, {"passwore", false}, {"", false}} {
			got, err := checkPassword(v, tc.password)
			if err != nil || got != tc.want {
				t.Errorf("checkPassword(%s, %q) = %v, %v; want %v, nil", v, tc.password, got, err, tc.want)
			}
		}
	}
}

// phcRE is the PHC string format of our hashes with the parameters of the const block.
var phcRE = regexp.MustCompile(`^\$argon2id\$v=19\$m=65536,t=3,p=2\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestHashPassword(t *testing.T) {
	h1, err := hashPassword("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	h2, err := hashPassword("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{h1, h2} {
		if !phcRE.MatchString(h) {
			t.Errorf("hash %q: got this form, want $argon2id$v=19$m=65536,t=3,p=2$<22 base64>$<43 base64>", h)
		}
	}
	if h1 == h2 {
		t.Errorf("two hashes of one password are equal (%s): want distinct salts", h1)
	}
	for _, tc := range []struct {
		password string
		want     bool
	}{{"correct horse battery staple", true}, {"Correct horse battery staple", false}, {"correct horse battery stapl", false}} {
		if got, err := checkPassword(h1, tc.password); err != nil || got != tc.want {
			t.Errorf("checkPassword(%q) = %v, %v; want %v, nil", tc.password, got, err, tc.want)
		}
	}
}

// TestParsePHCRefuses checks that malformed or hostile stored hashes are errors, not panics
// or unbounded allocations.
func TestParsePHCRefuses(t *testing.T) {
	const salt, key = "c29tZXNhbHQ", "CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	for _, tc := range []struct{ name, hash string }{
		{"empty", ""},
		{"argon2i", "$argon2i$v=19$m=65536,t=2,p=1$" + salt + "$" + key},
		{"old version", "$argon2id$v=16$m=65536,t=2,p=1$" + salt + "$" + key},
		{"missing part", "$argon2id$v=19$m=65536,t=2,p=1$" + salt},
		{"extra part", "$argon2id$v=19$m=65536,t=2,p=1$" + salt + "$" + key + "$x"},
		{"params order", "$argon2id$v=19$t=2,m=65536,p=1$" + salt + "$" + key},
		{"zero time", "$argon2id$v=19$m=65536,t=0,p=1$" + salt + "$" + key},
		{"huge memory", "$argon2id$v=19$m=4294967295,t=2,p=1$" + salt + "$" + key},
		{"huge time", "$argon2id$v=19$m=65536,t=100000,p=1$" + salt + "$" + key},
		{"too many lanes", "$argon2id$v=19$m=65536,t=2,p=256$" + salt + "$" + key},
		{"memory below 8p", "$argon2id$v=19$m=8,t=2,p=2$" + salt + "$" + key},
		{"negative", "$argon2id$v=19$m=-1,t=2,p=1$" + salt + "$" + key},
		{"bad salt", "$argon2id$v=19$m=65536,t=2,p=1$c29t!!$" + key},
		{"short salt", "$argon2id$v=19$m=65536,t=2,p=1$c29t$" + key},
		{"short key", "$argon2id$v=19$m=65536,t=2,p=1$" + salt + "$CTFhFdXP"},
		{"long key", "$argon2id$v=19$m=65536,t=2,p=1$" + salt + "$" + strings.Repeat(key, 3)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if ok, err := checkPassword(tc.hash, "password"); err == nil || ok {
				t.Errorf("checkPassword(%q) = %v, %v; want false and an error", tc.hash, ok, err)
			}
		})
	}
}

func TestTokenSecret(t *testing.T) {
	seen := map[string]bool{}
	re := regexp.MustCompile(`^[a-z2-7]{52}$`)
	for range 100 {
		s, err := newTokenSecret()
		if err != nil {
			t.Fatal(err)
		}
		if !re.MatchString(s) || seen[s] {
			t.Fatalf("secret %q: want 52 fresh lower-case base32 characters", s)
		}
		seen[s] = true
	}
	// SHA-256("abc") from FIPS 180-2, appendix B.1.
	if got, want := secretDigest("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Errorf("secretDigest(abc) = %s, want %s", got, want)
	}
}

// BenchmarkHashPassword measures one argon2id hash with the parameters of new passwords
// (m=64 MiB, t=3, p=2): the cost of a sign-in and of creating a user.
func BenchmarkHashPassword(b *testing.B) {
	for b.Loop() {
		if _, err := hashPassword("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}
