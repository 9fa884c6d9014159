package http_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	clinkhttp "github.com/clink-consortium/clink/http"
)

// TestSecurityHeaders checks the headers of every kind of answer (issue 9): an API answer, an
// API error, the sign-in page and a static asset carry nosniff, a same-origin referrer policy,
// no framing and a Content-Security-Policy without inline script; every answer names its
// request id; and Strict-Transport-Security is sent only by a server reached over TLS.
func TestSecurityHeaders(t *testing.T) {
	store := newStore(t)
	plain := httptest.NewServer(clinkhttp.NewServer(store, clinkhttp.Options{}).Handler())
	defer plain.Close()
	tlsSrv := httptest.NewTLSServer(clinkhttp.NewServer(store, clinkhttp.Options{TLS: true}).Handler())
	defer tlsSrv.Close()

	for _, tc := range []struct {
		srv  *httptest.Server
		path string
		hsts bool
	}{
		{plain, "/api/v1/healthz", false},
		{plain, "/api/v1/donors", false}, // 401
		{plain, "/login", false},
		{tlsSrv, "/api/v1/healthz", true},
		{tlsSrv, "/login", true},
	} {
		resp, err := tc.srv.Client().Get(tc.srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		for name, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"} {
			if got := h.Get(name); got != want {
				t.Errorf("%s %s: %s %q, want %q", tc.srv.URL, tc.path, name, got, want)
			}
		}
		if !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") && strings.Contains(csp, "script-src") {
			t.Errorf("%s: Content-Security-Policy %q, want frame-ancestors 'none' and no inline script", tc.path, csp)
		}
		if strings.Contains(csp, "script-src") && !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("%s: scripts allowed beyond this origin: %q", tc.path, csp)
		}
		if len(h.Get("X-Request-Id")) != 16 {
			t.Errorf("%s: X-Request-Id %q, want 16 hex digits", tc.path, h.Get("X-Request-Id"))
		}
		if got := h.Get("Strict-Transport-Security") != ""; got != tc.hsts {
			t.Errorf("%s over TLS %v: Strict-Transport-Security present %v", tc.path, tc.hsts, got)
		}
		if resp.StatusCode >= 500 {
			t.Errorf("%s: status %d", tc.path, resp.StatusCode)
		}
	}
	// An error names its request id in the body too, so that a user can quote it.
	resp, err := http.Get(plain.URL + "/api/v1/donors/abc")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("X-Request-Id") == "" {
		t.Errorf("error answer: %d, request id %q", resp.StatusCode, resp.Header.Get("X-Request-Id"))
	}
}
