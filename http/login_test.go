package http_test

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/clink-consortium/clink"
	clinkhttp "github.com/clink-consortium/clink/http"
	"github.com/clink-consortium/clink/sqldb"
)

// settableClock is a clock that tests move by hand.
type settableClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *settableClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *settableClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// webEnv is a server of the API and the web pages on 127.0.0.1 over SQLite, with a clock the
// test moves and one researcher, "ana", whose password is testPassword.
type webEnv struct {
	srv   *httptest.Server
	store *sqldb.Store
	clock *settableClock
}

func newWebEnv(tb testing.TB, tlsServer bool) *webEnv {
	tb.Helper()
	store := newStore(tb)
	clock := &settableClock{t: time.Date(2025, 6, 2, 8, 0, 0, 0, time.UTC)}
	store.SetClock(clock.Now)
	ctx := clink.WithActor(context.Background(), "setup")
	if err := store.CreateSite(ctx, &clink.Site{Code: "ZGZ", Name: "Universidad de Zaragoza", Kind: clink.SiteLab}); err != nil {
		tb.Fatal(err)
	}
	u := &clink.User{Username: "ana", FullName: "Ana Researcher", Email: "ana@example.org", Site: "ZGZ", Roles: []string{clink.RoleResearcher}}
	if err := store.CreateUser(ctx, u, testPassword); err != nil {
		tb.Fatal(err)
	}
	h := clinkhttp.NewServer(store, clinkhttp.Options{SessionIdle: 30 * time.Minute}).Handler()
	var srv *httptest.Server
	if tlsServer {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	tb.Cleanup(srv.Close)
	return &webEnv{srv: srv, store: store, clock: clock}
}

// send sends a request with the given headers and cookie (when not nil), without following
// redirects, and returns the answer and its body.
func (e *webEnv) send(tb testing.TB, method, path string, form url.Values, cookie *http.Cookie, header map[string]string) (*http.Response, string) {
	tb.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		tb.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, // httptest's own certificate
	}
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp, string(b)
}

// sessionCookie returns the clink_session cookie the answer sets, or nil.
func sessionCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == clinkhttp.SessionCookie {
			return c
		}
	}
	return nil
}

// login signs in as username with password and returns the new session cookie.
func (e *webEnv) login(tb testing.TB, username, password string) *http.Cookie {
	tb.Helper()
	resp, body := e.send(tb, "POST", "/login", url.Values{"username": {username}, "password": {password}}, nil, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		tb.Fatalf("login: got status %d, Location %q, want 303 to / (body %s)", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	c := sessionCookie(resp)
	if c == nil || c.Value == "" {
		tb.Fatalf("login: got no %s cookie, want one", clinkhttp.SessionCookie)
	}
	return &http.Cookie{Name: c.Name, Value: c.Value}
}

// apiStatus is the status of GET /api/v1/sites with cookie.
func (e *webEnv) apiStatus(tb testing.TB, cookie *http.Cookie) int {
	tb.Helper()
	resp, _ := e.send(tb, "GET", "/api/v1/sites", nil, cookie, nil)
	return resp.StatusCode
}

func TestLoginSetsSessionCookie(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tls    bool
		secure bool
	}{
		{"plain HTTP", false, false},
		{"TLS", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newWebEnv(t, tc.tls)
			resp, body := e.send(t, "POST", "/login", url.Values{"username": {"ana"}, "password": {testPassword}}, nil, nil)
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
				t.Fatalf("got status %d, Location %q, want 303 to / (body %s)", resp.StatusCode, resp.Header.Get("Location"), body)
			}
			c := sessionCookie(resp)
			if c == nil {
				t.Fatalf("got cookies %v, want %s", resp.Cookies(), clinkhttp.SessionCookie)
			}
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure != tc.secure {
				t.Errorf("got cookie HttpOnly=%v SameSite=%v Path=%q Secure=%v, want true, Lax, /, %v",
					c.HttpOnly, c.SameSite, c.Path, c.Secure, tc.secure)
			}
			// 256 random bits in base32 are 52 characters.
			if len(c.Value) != 52 {
				t.Errorf("got a session id of %d characters, want 52", len(c.Value))
			}
			// The account page names the user.
			resp, body = e.send(t, "GET", "/account", nil, &http.Cookie{Name: c.Name, Value: c.Value}, nil)
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, ">ana<") || !strings.Contains(body, "researcher") || !strings.Contains(body, "ZGZ") {
				t.Errorf("GET /account signed in: got status %d, body %s; want 200 naming ana, researcher and ZGZ", resp.StatusCode, body)
			}
		})
	}
}

func TestLoginRefused(t *testing.T) {
	e := newWebEnv(t, false)
	if err := e.store.SetLoginPolicy(clink.LoginPolicy{ThrottleAfter: 10, ThrottleDelay: time.Second,
		MaxThrottleDelay: time.Second, LockAfter: 2, LockDuration: 15 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, username, password, message string
	}{
		{"empty", "", "", "Enter your username and password."},
		{"unknown user", "nobody", testPassword, "invalid username or password"},
		{"wrong password", "ana", "not the password at all", "invalid username or password"},
		// The second failure locks the account (LockAfter 2); the store's words are shown.
		{"locking failure", "ana", "still not the password", "temporarily locked"},
		{"locked, right password", "ana", testPassword, "temporarily locked"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.send(t, "POST", "/login", url.Values{"username": {tc.username}, "password": {tc.password}}, nil, nil)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("got status %d, want 401", resp.StatusCode)
			}
			if c := sessionCookie(resp); c != nil {
				t.Errorf("got cookie %v, want none", c)
			}
			if !strings.Contains(body, tc.message) {
				t.Errorf("got body %s, want the message %q", body, tc.message)
			}
			if tc.username != "" && !strings.Contains(body, `value="`+tc.username+`"`) {
				t.Errorf("got body %s, want the typed username %q kept", body, tc.username)
			}
			if strings.Contains(body, tc.password) && tc.password != "" {
				t.Errorf("the answer repeats the password")
			}
		})
	}
}

func TestSessionCookieAuthenticatesAPI(t *testing.T) {
	e := newWebEnv(t, false)
	if got := e.apiStatus(t, nil); got != http.StatusUnauthorized {
		t.Fatalf("without a cookie: got status %d, want 401", got)
	}
	if got := e.apiStatus(t, &http.Cookie{Name: clinkhttp.SessionCookie, Value: strings.Repeat("a", 52)}); got != http.StatusUnauthorized {
		t.Fatalf("with an unknown session: got status %d, want 401", got)
	}
	c := e.login(t, "ana", testPassword)
	if got := e.apiStatus(t, c); got != http.StatusOK {
		t.Fatalf("with the session cookie: got status %d, want 200", got)
	}
	// A write by the session is attributed to its user.
	resp, body := e.send(t, "POST", "/api/v1/donors", nil, c, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity && resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("POST /api/v1/donors without a body: got %d (%s), want a 4xx about the body, not 401/403", resp.StatusCode, body)
	}
}

func TestSessionIdleTimeout(t *testing.T) {
	e := newWebEnv(t, false)
	c := e.login(t, "ana", testPassword)
	// Each use within the idle timeout (30 min) keeps the session: 29 + 29 minutes after sign-in
	// it is still open, because the first use moved its last use forward.
	for i := range 2 {
		e.clock.Add(29 * time.Minute)
		if got := e.apiStatus(t, c); got != http.StatusOK {
			t.Fatalf("use %d, 29 minutes after the previous: got status %d, want 200", i+1, got)
		}
	}
	e.clock.Add(31 * time.Minute)
	if got := e.apiStatus(t, c); got != http.StatusUnauthorized {
		t.Fatalf("31 minutes unused: got status %d, want 401", got)
	}
	resp, _ := e.send(t, "GET", "/", nil, c, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Errorf("GET / after the timeout: got %d to %q, want 303 to /login", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The session stays ended even within the timeout of a later request.
	e.clock.Add(-31 * time.Minute)
	if got := e.apiStatus(t, c); got != http.StatusUnauthorized {
		t.Errorf("an expired session used again: got status %d, want 401", got)
	}
}

func TestLogout(t *testing.T) {
	e := newWebEnv(t, false)
	c := e.login(t, "ana", testPassword)
	resp, _ := e.send(t, "POST", "/logout", nil, c, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Fatalf("got %d to %q, want 303 to /login", resp.StatusCode, resp.Header.Get("Location"))
	}
	if cleared := sessionCookie(resp); cleared == nil || cleared.MaxAge >= 0 || cleared.Value != "" {
		t.Errorf("got cookie %v, want %s cleared (empty, Max-Age<0)", cleared, clinkhttp.SessionCookie)
	}
	if got := e.apiStatus(t, c); got != http.StatusUnauthorized {
		t.Errorf("old cookie after logout: got status %d, want 401", got)
	}
	resp, _ = e.send(t, "GET", "/", nil, nil, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Errorf("GET / signed out: got %d to %q, want 303 to /login", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Sign-in and sign-out are in the audit trail, without the session id.
	events, _, err := e.store.FindAuditEvents(context.Background(), clink.AuditFilter{Entity: "session"})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, ev := range events {
		actions = append(actions, ev.Action+" by "+ev.Actor)
		if strings.Contains(string(ev.After)+string(ev.Before), c.Value) {
			t.Errorf("audit event %d holds the session id", ev.ID)
		}
	}
	if got := strings.Join(actions, ", "); !strings.Contains(got, "login by ana") || !strings.Contains(got, "logout by ana") {
		t.Errorf("got session audit events %q, want login by ana and logout by ana", got)
	}
}

func TestCrossOriginRefused(t *testing.T) {
	e := newWebEnv(t, false)
	c := e.login(t, "ana", testPassword)
	evil := map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
	site := url.Values{} // the body is irrelevant: the request must be refused before any handler
	tests := []struct {
		name, method, path string
		cookie             *http.Cookie
		form               url.Values
		header             map[string]string
		want               int
	}{
		{"cross-site login", "POST", "/login", nil, url.Values{"username": {"ana"}, "password": {testPassword}}, evil, 403},
		{"cross-site logout", "POST", "/logout", c, site, evil, 403},
		{"cross-site API write", "POST", "/api/v1/sites", c, site, evil, 403},
		{"cross-site read is allowed", "GET", "/api/v1/sites", c, nil, evil, 200},
		{"same-origin page read", "GET", "/", c, nil, map[string]string{"Sec-Fetch-Site": "same-origin"}, 200},
		{"API client without browser headers", "POST", "/login", nil, url.Values{"username": {"ana"}, "password": {testPassword}}, nil, 303},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.send(t, tc.method, tc.path, tc.form, tc.cookie, tc.header)
			if resp.StatusCode != tc.want {
				t.Fatalf("got status %d (%s), want %d", resp.StatusCode, body, tc.want)
			}
			if tc.want == 403 && sessionCookie(resp) != nil {
				t.Errorf("a refused request set a session cookie")
			}
		})
	}
	// The refused cross-site logout left the session open.
	if got := e.apiStatus(t, c); got != http.StatusOK {
		t.Errorf("after the refused logout: got status %d, want 200", got)
	}
}

func TestLoginSessionFixation(t *testing.T) {
	e := newWebEnv(t, false)
	planted := e.login(t, "ana", testPassword) // a session id the attacker knows
	resp, _ := e.send(t, "POST", "/login", url.Values{"username": {"ana"}, "password": {testPassword}}, planted, nil)
	got := sessionCookie(resp)
	if resp.StatusCode != http.StatusSeeOther || got == nil {
		t.Fatalf("got status %d and cookie %v, want 303 with a new cookie", resp.StatusCode, got)
	}
	if got.Value == planted.Value {
		t.Fatalf("login kept the incoming session id; want a new one")
	}
	chosen := &http.Cookie{Name: clinkhttp.SessionCookie, Value: "attacker-chosen-session-id"}
	resp, _ = e.send(t, "POST", "/login", url.Values{"username": {"ana"}, "password": {testPassword}}, chosen, nil)
	if got := sessionCookie(resp); got == nil || got.Value == chosen.Value {
		t.Fatalf("got cookie %v, want a new session id rather than the chosen one", got)
	}
	if got := e.apiStatus(t, chosen); got != http.StatusUnauthorized {
		t.Errorf("the attacker's chosen id: got status %d, want 401", got)
	}
}

func TestLoginPage(t *testing.T) {
	e := newWebEnv(t, false)
	resp, body := e.send(t, "GET", "/login", nil, nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("got status %d, Content-Type %q, want 200 text/html", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("got Content-Security-Policy %q, want script-src 'self' and no unsafe-inline", csp)
	}
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]bool{} // the for= of each label
	var inputs, ids []string
	var scripts, handlers int
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		attr := map[string]string{}
		for _, a := range n.Attr {
			attr[a.Key] = a.Val
			if strings.HasPrefix(a.Key, "on") {
				handlers++
			}
		}
		switch n.Data {
		case "script":
			if !strings.HasPrefix(attr["src"], "/static/") {
				scripts++ // inline, or from elsewhere
			}
		case "label":
			labels[attr["for"]] = true
		case "input":
			inputs = append(inputs, attr["name"])
			ids = append(ids, attr["id"])
		case "form":
			if attr["method"] != "post" || attr["action"] != "/login" {
				t.Errorf("got form method %q action %q, want post to /login", attr["method"], attr["action"])
			}
		}
	}
	if scripts != 0 || handlers != 0 {
		t.Errorf("got %d script elements not from /static/ and %d event-handler attributes, want none", scripts, handlers)
	}
	if got := strings.Join(inputs, ","); got != "username,password" {
		t.Errorf("got inputs named %q, want username,password", got)
	}
	for _, id := range ids {
		if id == "" || !labels[id] {
			t.Errorf("input with id %q has no label", id)
		}
	}
}
