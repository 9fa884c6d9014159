package http_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clink-consortium/clink"
	clinkhttp "github.com/clink-consortium/clink/http"
)

// newSessionEnv is a server over a store with two researchers of one site, the victim
// (secResearcher) and the attacker (secOther), both with the password testPassword.
func newSessionEnv(t *testing.T) *secEnv {
	t.Helper()
	store := openStore(t, filepath.Join(t.TempDir(), "clink.db"))
	e := newSecEnv(t, store, clinkhttp.Options{})
	e.check("site", store.CreateSite(e.ctx, &clink.Site{Code: secSite, Name: "Hospital", Kind: clink.SiteHospital}))
	for _, name := range []string{secResearcher, secOther} {
		e.check("user", store.CreateUser(e.ctx, &clink.User{Username: name, FullName: "Full name of " + name, Email: name + "@example.org",
			Site: secSite, Roles: []string{clink.RoleResearcher}}, testPassword))
	}
	return e
}

// whoAmI returns the username the account page names for cookie, or "" when the cookie
// does not sign anybody in (the page sends the browser to /login).
func (e *secEnv) whoAmI(tb testing.TB, cookie *http.Cookie) string {
	tb.Helper()
	resp, body := e.do(tb, "GET", "/account", nil, cookie)
	if resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") == "/login" {
		return ""
	}
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET /account: got status %d, want 200 or 303 to /login", resp.StatusCode)
	}
	text := htmlTexts(body)
	for _, name := range []string{secResearcher, secOther} {
		if strings.Contains(text, "Full name of "+name) {
			return name
		}
	}
	tb.Fatalf("GET /account: the page names neither user: %.500s", body)
	return ""
}

// signInWith posts the sign-in form with the cookie the browser already holds and returns the
// answer's session cookie (nil when it sets none).
func (e *secEnv) signInWith(tb testing.TB, username string, held *http.Cookie) (*http.Response, *http.Cookie) {
	tb.Helper()
	resp, _ := e.do(tb, "POST", "/login", url.Values{"username": {username}, "password": {testPassword}}, held)
	c := sessionCookie(resp)
	if c != nil {
		c = &http.Cookie{Name: c.Name, Value: c.Value}
	}
	return resp, c
}

// TestSecuritySessionFixation plants session ids in the victim's browser before sign-in: one
// the attacker made up (in CLINK's own format, and another not), and the attacker's own valid
// session. Signing in never adopts the planted id: the answer sets a new one, the made-up ids
// stay unknown to the server, and the attacker's session still signs in the attacker only,
// never the victim. A session id is accepted only from the cookie: not from the URL nor as a
// bearer token. Every sign-in makes a new random id, of which the database keeps only the
// SHA-256.
func TestSecuritySessionFixation(t *testing.T) {
	e := newSessionEnv(t)
	madeUp := []*http.Cookie{
		{Name: clinkhttp.SessionCookie, Value: strings.Repeat("abcdefghijklm", 4)},
		{Name: clinkhttp.SessionCookie, Value: "attacker-chosen-session-id"},
	}
	for _, planted := range madeUp {
		resp, got := e.signInWith(t, secResearcher, planted)
		if resp.StatusCode != http.StatusSeeOther || got == nil {
			t.Fatalf("sign-in with the planted id %q: got status %d and cookie %v, want 303 with a new cookie", planted.Value, resp.StatusCode, got)
		}
		if got.Value == planted.Value {
			t.Errorf("sign-in adopted the planted id %q", planted.Value)
		}
		if who := e.whoAmI(t, planted); who != "" {
			t.Errorf("after the victim signed in, the planted id %q signs in %s, want nobody", planted.Value, who)
		}
		if who := e.whoAmI(t, got); who != secResearcher {
			t.Errorf("the new cookie signs in %q, want %s", who, secResearcher)
		}
	}

	// The attacker signs in, plants their own session in the victim's browser, and waits for
	// the victim to sign in over it.
	_, attacker := e.signInWith(t, secOther, nil)
	resp, victim := e.signInWith(t, secResearcher, attacker)
	if resp.StatusCode != http.StatusSeeOther || victim == nil || victim.Value == attacker.Value {
		t.Fatalf("the victim's sign-in over the attacker's session: got status %d, cookie %v, want 303 and a new id", resp.StatusCode, victim)
	}
	if who := e.whoAmI(t, attacker); who == secResearcher {
		t.Errorf("the attacker's session became the victim's: it signs in %s", who)
	}
	if who := e.whoAmI(t, victim); who != secResearcher {
		t.Errorf("the victim's new session signs in %q, want %s", who, secResearcher)
	}

	// A session id is a cookie, nothing else.
	for _, r := range []secRequest{
		{method: "GET", path: "/api/v1/sites?" + url.Values{clinkhttp.SessionCookie: {victim.Value}}.Encode()},
		{method: "GET", path: "/api/v1/sites", token: victim.Value},
		{method: "GET", path: "/api/v1/sites", header: map[string]string{"Cookie": "session=" + victim.Value}},
	} {
		resp, body := secSend(t, e.srv.URL, r)
		if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusBadRequest {
			t.Errorf("GET %s with the session id outside the cookie (token %v, headers %v): got status %d, want 401 or 400 (body %.200s)",
				r.path, r.token != "", r.header, resp.StatusCode, body)
		}
	}

	// Every sign-in gets a new id; the database keeps only digests.
	ids := map[string]bool{victim.Value: true, attacker.Value: true}
	for range 5 {
		_, c := e.signInWith(t, secResearcher, nil)
		if ids[c.Value] {
			t.Fatalf("sign-in returned the id %q twice", c.Value)
		}
		ids[c.Value] = true
	}
	rows, err := e.store.DB().QueryContext(context.Background(), `SELECT secret_sha256 FROM sessions`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	stored := map[string]bool{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		stored[s] = true
	}
	for id := range ids {
		sum := sha256.Sum256([]byte(id))
		if stored[id] {
			t.Errorf("the sessions table holds the session id %q itself", id)
		}
		if !stored[hex.EncodeToString(sum[:])] {
			t.Errorf("the sessions table holds no SHA-256 of the session id %q", id)
		}
	}
}

// TestSecuritySignOut checks that signing out ends the session on the server: the old cookie,
// replayed by anyone, no longer signs in to the pages or the API, and cannot post; other
// sessions of the user are not ended by it. Disabling a user ends every session of theirs.
func TestSecuritySignOut(t *testing.T) {
	e := newSessionEnv(t)
	first := e.signIn(t, secResearcher)
	second := e.signIn(t, secResearcher)
	resp, _ := e.do(t, "POST", "/logout", nil, first)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Fatalf("POST /logout: got status %d to %q, want 303 to /login", resp.StatusCode, resp.Header.Get("Location"))
	}
	if who := e.whoAmI(t, first); who != "" {
		t.Errorf("the signed-out cookie still signs in %s on the pages", who)
	}
	if got := e.apiStatusWith(t, first); got != http.StatusUnauthorized {
		t.Errorf("the signed-out cookie on the API: got status %d, want 401", got)
	}
	before := tableCounts(t, e.store.DB())
	resp, _ = e.do(t, "POST", "/account/password", url.Values{"current_password": {testPassword},
		"new_password": {"replayed password 123"}, "confirm_password": {"replayed password 123"}}, first)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Errorf("a form posted with the signed-out cookie: got status %d to %q, want 303 to /login", resp.StatusCode, resp.Header.Get("Location"))
	}
	if d := diffCounts(before, tableCounts(t, e.store.DB())); d != "" {
		t.Errorf("a form posted with the signed-out cookie changed the database: %s", d)
	}
	// Signing out twice is harmless, and a second sign-out does not revive the session.
	e.do(t, "POST", "/logout", nil, first)
	if who := e.whoAmI(t, first); who != "" {
		t.Errorf("after a second sign-out the cookie signs in %s", who)
	}
	if who := e.whoAmI(t, second); who != secResearcher {
		t.Errorf("the user's other session after one sign-out: signs in %q, want %s", who, secResearcher)
	}
	if _, err := e.store.DisableUser(e.as("setup"), secResearcher, "left the consortium"); err != nil {
		t.Fatal(err)
	}
	if who := e.whoAmI(t, second); who != "" {
		t.Errorf("a session of a disabled user still signs in %s", who)
	}
}

// TestSecurityPasswordChangeEndsSessions checks that changing one's password ends every session
// of the user, so that a session stolen before the change does not outlive it (OWASP ASVS
// 3.3.3); the browser that made the change stays signed in with a new session id.
func TestSecurityPasswordChangeEndsSessions(t *testing.T) {
	e := newSessionEnv(t)
	stolen := e.signIn(t, secResearcher)
	own := e.signIn(t, secResearcher)
	resp, body := e.do(t, "POST", "/account/password", url.Values{"current_password": {testPassword},
		"new_password": {"a fresh password 123"}, "confirm_password": {"a fresh password 123"}}, own)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /account/password: got status %d, want 303 (body %.500s)", resp.StatusCode, body)
	}
	old := own
	for _, c := range resp.Cookies() {
		if c.Name == own.Name && c.Value != "" {
			own = c
		}
	}
	if own.Value == old.Value {
		t.Fatalf("the password change set no new session cookie")
	}
	if who := e.whoAmI(t, old); who != "" {
		t.Errorf("the session id used for the change still signs in %s, want it replaced", who)
	}
	if who := e.whoAmI(t, own); who != secResearcher {
		t.Errorf("the session that changed the password: signs in %q, want %s", who, secResearcher)
	}
	if who := e.whoAmI(t, stolen); who != "" {
		t.Errorf("a session opened before the password change still signs in %s, want it ended", who)
	}
}
