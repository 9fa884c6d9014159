package clink

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestUserValidate(t *testing.T) {
	ok := func() *User {
		return &User{Username: "ana.lopez", FullName: "Ana López", Email: "ana@unizar.es", Site: "ZGZ", Roles: []string{RoleResearcher}}
	}
	tests := []struct {
		name   string
		edit   func(u *User)
		fields []string // fields at fault, in order; nil means valid
	}{
		{"valid", func(u *User) {}, nil},
		{"admin without site", func(u *User) { u.Site, u.Roles = "", []string{RoleAdmin} }, nil},
		{"viewer, qa, qp without site", func(u *User) { u.Site, u.Roles = "", []string{RoleViewer, RoleQA, RoleQP} }, nil},
		{"two-character username", func(u *User) { u.Username = "ab" }, nil},
		{"63-character username", func(u *User) { u.Username = "a" + strings.Repeat("-", 62) }, nil},
		{"64-character username", func(u *User) { u.Username = "a" + strings.Repeat("b", 63) }, []string{"username"}},
		{"one-character username", func(u *User) { u.Username = "a" }, []string{"username"}},
		{"username with space", func(u *User) { u.Username = "ana lopez" }, []string{"username"}},
		{"username with capital", func(u *User) { u.Username = "Ana" }, []string{"username"}},
		{"username starting with dot", func(u *User) { u.Username = ".ana" }, []string{"username"}},
		{"no full name", func(u *User) { u.FullName = "  " }, []string{"full_name"}},
		{"no email", func(u *User) { u.Email = "" }, []string{"email"}},
		{"email with two at", func(u *User) { u.Email = "a@b@example.org" }, []string{"email"}},
		{"email with space", func(u *User) { u.Email = "ana lopez@example.org" }, []string{"email"}},
		{"email without dot", func(u *User) { u.Email = "ana@example" }, []string{"email"}},
		{"no roles", func(u *User) { u.Roles = nil }, []string{"roles"}},
		{"unknown role", func(u *User) { u.Roles = []string{"root"} }, []string{"roles"}},
		{"researcher without site", func(u *User) { u.Site = "" }, []string{"site"}},
		{"clinician without site", func(u *User) { u.Site, u.Roles = "", []string{RoleClinician} }, []string{"site"}},
		{"bad site code", func(u *User) { u.Site = "Zgz" }, []string{"site"}},
		{"everything wrong", func(u *User) { *u = User{} }, []string{"username", "full_name", "email", "roles"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := ok()
			tc.edit(u)
			var got []string
			for _, f := range ErrorFields(u.Validate()) {
				got = append(got, f.Field)
			}
			if !cmp.Equal(got, tc.fields) {
				t.Errorf("fields at fault: got %v, want %v (%v)", got, tc.fields, u.Validate())
			}
		})
	}
}

func TestNormalizeRoles(t *testing.T) {
	got := NormalizeRoles([]string{"viewer", "x", "admin", "viewer", "x"})
	if want := []string{"admin", "viewer", "x"}; !cmp.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestCheckPassword(t *testing.T) {
	tests := []struct {
		name, user, password string
		want                 []string // messages on field "password"; nil means accepted
	}{
		{"twelve characters", "ana", "abcdefghijkl", nil},
		{"eleven characters", "ana", "abcdefghijk", []string{"has 11 characters; at least 12 are required"}},
		{"twelve code points, more bytes", "ana", "ñññññññññññ", []string{"has 11 characters; at least 12 are required"}},
		{"empty", "ana", "", []string{"has 0 characters; at least 12 are required"}},
		{"contains the username", "ana.lopez", "hello ana.lopez!", []string{"contains the username"}},
		{"contains it in capitals", "ana.lopez", "HELLO ANA.LOPEZ!", []string{"contains the username"}},
		{"username reversed", "administrator", "ROTARTSINIMDA", []string{"is the username reversed"}},
		{"short palindrome username", "bob", "bob", []string{"has 3 characters; at least 12 are required", "contains the username", "is the username reversed"}},
		{"no username given", "", "abcdefghijkl", nil},
		{"too long", "ana", strings.Repeat("x", MaxPasswordLength+1), []string{"is longer than 1024 bytes"}},
		{"invalid UTF-8", "ana", "abcdefghijkl\xff", []string{"is not valid UTF-8 text"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, f := range ErrorFields(CheckPassword(tc.user, tc.password)) {
				if f.Field != "password" {
					t.Errorf("error on field %q, want password", f.Field)
				}
				got = append(got, f.Message)
			}
			if !cmp.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCheckTokenLifetime(t *testing.T) {
	for _, tc := range []struct {
		d    string
		want string
	}{{"1s", ""}, {"8784h", ""}, {"8784h1s", EINVALID}, {"0s", EINVALID}, {"-1h", EINVALID}} {
		d, err := time.ParseDuration(tc.d)
		if err != nil {
			t.Fatal(err)
		}
		if got := ErrorCode(CheckTokenLifetime(d)); got != tc.want {
			t.Errorf("CheckTokenLifetime(%s): got %q, want %q", tc.d, got, tc.want)
		}
	}
}
