package http_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clink-consortium/clink"
	clinkhttp "github.com/clink-consortium/clink/http"
)

// crossSiteHeaders are the headers of a request a browser sends from another site: the
// Sec-Fetch-Site of a modern browser (cross-site, or same-site from a sibling host), or the
// Origin of an older one (another host, the same host on another port, a sandboxed frame's
// "null").
func crossSiteHeaders(srvURL string) map[string]map[string]string {
	u, _ := url.Parse(srvURL)
	host, _, _ := strings.Cut(u.Host, ":")
	return map[string]map[string]string{
		"cross-site with Origin": {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
		"cross-site":             {"Sec-Fetch-Site": "cross-site"},
		"same-site":              {"Sec-Fetch-Site": "same-site", "Origin": "http://sub." + host},
		"foreign Origin only":    {"Origin": "https://evil.example"},
		"Origin null":            {"Origin": "null"},
		"Origin of another port": {"Origin": "http://" + host + ":1"},
		"Origin of https":        {"Origin": "https://" + host + ".evil.example"},
	}
}

// sameOriginHeaders are the headers of requests that must be served: a browser on the same
// origin (by Sec-Fetch-Site, by Origin), a navigation the user started, and a client that is
// not a browser (no such header).
func sameOriginHeaders(srvURL string) map[string]map[string]string {
	return map[string]map[string]string{
		"Sec-Fetch-Site same-origin": {"Sec-Fetch-Site": "same-origin", "Origin": srvURL},
		"Origin only":                {"Origin": srvURL},
		"Sec-Fetch-Site none":        {"Sec-Fetch-Site": "none"},
		"API client":                 {},
	}
}

// csrfCase is a state-changing request of a signed-in browser: how to make it (its path and
// body, with the records it needs), and the status of success.
type csrfCase struct {
	name        string
	method      string
	prepare     func() (path string, body any)
	contentType string
	ok          int
}

// TestSecurityCrossSiteRequestForgery sends state-changing requests carrying a valid session
// cookie, as forms of the pages and as API calls, with the headers of each kind of cross-site
// request (crossSiteHeaders): every one is refused with 403 (a problem document) before any
// handler runs, and the database is unchanged, every table, sessions included. The same
// requests from the same origin (sameOriginHeaders) succeed and change the database, so the
// refusals are the protection's and not the requests' fault. Cross-site sign-in (login CSRF),
// sign-out and password change are refused the same way and leave the session open; a
// sign-out by GET is 405; and no answer carries a CORS header that would let another origin
// read it.
func TestSecurityCrossSiteRequestForgery(t *testing.T) {
	e, _ := newSecFixture(t, clinkhttp.Options{})
	store := e.store
	n := 0
	next := func() int { n++; return n }
	// Every observation gets a day of its own, after the culture's.
	observation := func() *clink.Observation {
		o := &clink.Observation{CultureID: e.running.ID, Site: secSite, Day: 100 + next(), ViableCells: 2e7}
		e.check("observation", store.CreateObservation(e.as(secResearcher), o))
		return o
	}
	cases := []csrfCase{
		{"form: new donor", "POST", func() (string, any) {
			return "/donors", url.Values{"site": {secSite}, "sex": {clink.SexFemale}, "hcmv": {clink.HCMVPositive}, "nkg2c": {clink.Unknown},
				"kir_haplotype": {""}, "age_band": {""}, "consent_date": {"2025-05-01"}, "notes": {"forged"}}
		}, "", http.StatusSeeOther},
		{"form: add an observation", "POST", func() (string, any) {
			return fmt.Sprintf("/cultures/%d/observations", e.running.ID), url.Values{"day": {fmt.Sprint(100 + next())}, "viable_cells": {"2e7"}}
		}, "", http.StatusSeeOther},
		{"form: void an observation", "POST", func() (string, any) {
			return fmt.Sprintf("/observations/%d/void", observation().ID), url.Values{"void_reason": {"forged"}}
		}, "", http.StatusSeeOther},
		{"API with the session cookie: new donor", "POST", func() (string, any) {
			return "/api/v1/donors", clink.Donor{Site: secSite, HCMV: clink.HCMVNegative, ConsentDate: "2025-02-01", Notes: "forged"}
		}, "", http.StatusCreated},
		{"API as a simple request (text/plain): new donor", "POST", func() (string, any) {
			return "/api/v1/donors", []byte(`{"site":"BCN","hcmv":"negative","consent_date":"2025-02-01","notes":"forged"}`)
		}, "text/plain", http.StatusCreated},
		{"API PUT: correct an observation", "PUT", func() (string, any) {
			o := observation()
			return fmt.Sprintf("/api/v1/observations/%d", o.ID), []byte(fmt.Sprintf(`{"day":%d,"viable_cells":3e7,"reason":"forged"}`, o.Day))
		}, "", http.StatusOK},
		{"multipart form: import preview", "POST", func() (string, any) {
			k := next()
			return "/import", importBody(t, "sites.csv", fmt.Sprintf("code,name,kind\nQ%c%c,Forged,lab\n", 'A'+k/26%26, 'A'+k%26))
		}, "", http.StatusOK},
	}

	cookie := e.signIn(t, secRoot)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for name, h := range crossSiteHeaders(e.srv.URL) {
				r := csrfRequest(tc, cookie, h)
				before := tableCounts(t, store.DB())
				resp, body := secSend(t, e.srv.URL, r)
				if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Content-Type") != "application/problem+json" ||
					!strings.Contains(string(body), "cross-origin request refused") {
					t.Errorf("%s: got status %d, Content-Type %q, want 403, the cross-origin problem (body %.300s)",
						name, resp.StatusCode, resp.Header.Get("Content-Type"), body)
				}
				if d := diffCounts(before, tableCounts(t, store.DB())); d != "" {
					t.Errorf("%s: the refused request changed the database: %s", name, d)
				}
			}
			for name, h := range sameOriginHeaders(e.srv.URL) {
				r := csrfRequest(tc, cookie, h)
				before := tableCounts(t, store.DB())
				resp, body := secSend(t, e.srv.URL, r)
				if resp.StatusCode != tc.ok {
					t.Errorf("%s: got status %d, want %d (body %.500s)", name, resp.StatusCode, tc.ok, body)
				}
				if d := diffCounts(before, tableCounts(t, store.DB())); tc.name != "multipart form: import preview" && d == "" {
					t.Errorf("%s: the accepted request changed nothing", name)
				}
			}
		})
	}

	// Reads are not refused, so no answer may let another origin's script read it: no CORS
	// header, to a request or to a preflight.
	t.Run("no cross-origin reads", func(t *testing.T) {
		evil := map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site",
			"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
		for _, r := range []secRequest{
			{method: "GET", path: "/api/v1/donors", cookie: cookie, header: evil},
			{method: "GET", path: "/account", cookie: cookie, header: evil},
			{method: "OPTIONS", path: "/api/v1/donors", header: evil},
		} {
			resp, _ := secSend(t, e.srv.URL, r)
			for k := range resp.Header {
				if strings.HasPrefix(strings.ToLower(k), "access-control-") {
					t.Errorf("%s %s from another origin: the answer has %s: %q", r.method, r.path, k, resp.Header.Get(k))
				}
			}
		}
	})

	t.Run("sign-in, sign-out and password", func(t *testing.T) {
		victim := e.signIn(t, secResearcher)
		for name, h := range crossSiteHeaders(e.srv.URL) {
			before := tableCounts(t, store.DB())
			for _, r := range []secRequest{
				// Login CSRF: signing the victim's browser in as the attacker.
				{method: "POST", path: "/login", body: url.Values{"username": {secOther}, "password": {testPassword}}, header: h},
				{method: "POST", path: "/logout", cookie: victim, header: h},
				{method: "POST", path: "/account/password", cookie: victim, header: h, body: url.Values{"current_password": {testPassword},
					"new_password": {"forged password 123"}, "confirm_password": {"forged password 123"}}},
			} {
				resp, body := secSend(t, e.srv.URL, r)
				if resp.StatusCode != http.StatusForbidden {
					t.Errorf("%s %s (%s): got status %d, want 403 (body %.300s)", r.method, r.path, name, resp.StatusCode, body)
				}
				if c := sessionCookie(resp); c != nil {
					t.Errorf("%s %s (%s): a refused request set the cookie %v", r.method, r.path, name, c)
				}
			}
			if d := diffCounts(before, tableCounts(t, store.DB())); d != "" {
				t.Errorf("%s: the refused requests changed the database: %s", name, d)
			}
			if got := e.apiStatusWith(t, victim); got != http.StatusOK {
				t.Errorf("%s: after the refused sign-out the session answers %d, want 200", name, got)
			}
		}
		// A sign-out is a POST: a link or an image cannot end the session.
		resp, _ := e.do(t, "GET", "/logout", nil, victim)
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET /logout: got status %d, want 405", resp.StatusCode)
		}
		if got := e.apiStatusWith(t, victim); got != http.StatusOK {
			t.Errorf("after GET /logout the session answers %d, want 200", got)
		}
		// The same-origin requests succeed.
		resp, _ = e.do(t, "POST", "/account/password", url.Values{"current_password": {testPassword},
			"new_password": {"a new password 123"}, "confirm_password": {"a new password 123"}}, victim)
		if resp.StatusCode != http.StatusSeeOther {
			t.Errorf("same-origin POST /account/password: got status %d, want 303", resp.StatusCode)
		}
		resp, _ = e.do(t, "POST", "/logout", nil, victim)
		if resp.StatusCode != http.StatusSeeOther || e.apiStatusWith(t, victim) != http.StatusUnauthorized {
			t.Errorf("same-origin POST /logout: got status %d and the session still works, want 303 and the session ended", resp.StatusCode)
		}
	})
}

// csrfRequest is the request of tc with cookie and the headers h.
func csrfRequest(tc csrfCase, cookie *http.Cookie, h map[string]string) secRequest {
	path, body := tc.prepare()
	r := secRequest{method: tc.method, path: path, body: body, contentType: tc.contentType, cookie: cookie, header: h}
	if mb, ok := r.body.(secMultipart); ok {
		r.body, r.contentType = mb.data, mb.contentType
	}
	return r
}

// secMultipart is a multipart/form-data body with its Content-Type.
type secMultipart struct {
	contentType string
	data        []byte
}

// importBody is the import form with one file.
func importBody(tb testing.TB, name, content string) secMultipart {
	ct, data := uploadForm(tb, nil, name, []byte(content))
	return secMultipart{ct, data}
}

// apiStatusWith is the status of GET /api/v1/sites with cookie.
func (e *secEnv) apiStatusWith(tb testing.TB, cookie *http.Cookie) int {
	tb.Helper()
	resp, _ := e.do(tb, "GET", "/api/v1/sites", nil, cookie)
	return resp.StatusCode
}

// TestSecuritySessionCookie checks the attributes of the session cookie as sign-in sets it and
// sign-out clears it: HttpOnly (no script reads it), SameSite=Lax (a cross-site POST does not
// carry it), Path=/, no Domain (no sibling host receives it), no expiry (it ends with the
// browser session; the server ends it after the idle timeout), a 256-bit random value, and
// Secure exactly when the request came over TLS to this server.
func TestSecuritySessionCookie(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tls    bool
		secure bool
	}{{"plain HTTP", false, false}, {"TLS", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			store := openStore(t, filepath.Join(t.TempDir(), "clink.db"))
			e := newSecEnv(t, store, clinkhttp.Options{TLS: tc.tls})
			if tc.tls {
				e.srv.Close()
				e.srv = httptest.NewTLSServer(e.server.Handler())
				t.Cleanup(e.srv.Close)
			}
			ctx := e.as("setup")
			e.check("site", store.CreateSite(ctx, &clink.Site{Code: secSite, Name: "Hospital", Kind: clink.SiteHospital}))
			e.check("user", store.CreateUser(ctx, &clink.User{Username: secResearcher, FullName: "R", Email: "r@example.org",
				Site: secSite, Roles: []string{clink.RoleResearcher}}, testPassword))
			resp, _ := e.do(t, "POST", "/login", url.Values{"username": {secResearcher}, "password": {testPassword}}, nil)
			raw := resp.Header.Values("Set-Cookie")
			c := sessionCookie(resp)
			if c == nil || len(raw) != 1 {
				t.Fatalf("sign-in: got Set-Cookie %q, want one %s cookie", raw, clinkhttp.SessionCookie)
			}
			t.Logf("sign-in sets: %s", raw[0])
			checkCookie(t, "sign-in", c, tc.secure)
			if len(c.Value) != 52 || strings.Trim(c.Value, "abcdefghijklmnopqrstuvwxyz234567") != "" {
				t.Errorf("got a session id %q, want 52 lower-case base32 characters (256 bits)", c.Value)
			}
			if !c.Expires.IsZero() || c.MaxAge != 0 {
				t.Errorf("got Expires %v, Max-Age %d, want a cookie of the browser session", c.Expires, c.MaxAge)
			}
			resp, _ = e.do(t, "POST", "/logout", nil, &http.Cookie{Name: c.Name, Value: c.Value})
			cleared := sessionCookie(resp)
			if cleared == nil || cleared.Value != "" || cleared.MaxAge >= 0 {
				t.Fatalf("sign-out: got cookie %v, want it cleared", cleared)
			}
			checkCookie(t, "sign-out", cleared, tc.secure)
			// The HSTS header goes with Secure: a browser that saw it never sends the
			// cookie over plain HTTP.
			if got := resp.Header.Get("Strict-Transport-Security") != ""; got != tc.tls {
				t.Errorf("Strict-Transport-Security present %v, want %v", got, tc.tls)
			}
		})
	}
}

func checkCookie(t *testing.T, what string, c *http.Cookie, secure bool) {
	t.Helper()
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" || c.Secure != secure {
		t.Errorf("%s: got cookie HttpOnly=%v SameSite=%v Path=%q Domain=%q Secure=%v, want HttpOnly, Lax, /, no domain, Secure %v",
			what, c.HttpOnly, c.SameSite, c.Path, c.Domain, c.Secure, secure)
	}
}
