package http_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/demo"
	clinkhttp "github.com/clink-consortium/clink/http"
	"github.com/clink-consortium/clink/sqldb"
)

// uiEnv is the web application on 127.0.0.1 over SQLite filled with the demo consortium,
// whose users (researcher-zgz, researcher-bcn, viewer ...) all have testPassword, and whose
// pages take demo.DefaultToday as today.
type uiEnv struct {
	srv    *httptest.Server
	server *clinkhttp.Server
	store  *sqldb.Store
	today  time.Time
}

// newUIEnv starts the web application over a fresh demo store.
func newUIEnv(tb testing.TB) *uiEnv {
	tb.Helper()
	store := newStore(tb)
	if _, err := demo.Populate(context.Background(), store, demo.Options{Password: testPassword}); err != nil {
		tb.Fatalf("demo: %v", err)
	}
	return newUIEnvOn(tb, store)
}

// newUIEnvOn starts the web application over store.
func newUIEnvOn(tb testing.TB, store *sqldb.Store) *uiEnv {
	tb.Helper()
	today, _ := time.Parse(time.DateOnly, demo.DefaultToday)
	s := clinkhttp.NewServer(store, clinkhttp.Options{})
	s.SetClock(func() time.Time { return today.Add(9 * time.Hour) })
	srv := httptest.NewServer(s.Handler())
	tb.Cleanup(srv.Close)
	return &uiEnv{srv: srv, server: s, store: store, today: today}
}

// signIn signs in as username (password testPassword) and returns the session cookie.
func (e *uiEnv) signIn(tb testing.TB, username string) *http.Cookie {
	tb.Helper()
	resp, body := e.do(tb, "POST", "/login", url.Values{"username": {username}, "password": {testPassword}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		tb.Fatalf("sign in as %s: got status %d, want 303 (body %s)", username, resp.StatusCode, body)
	}
	c := sessionCookie(resp)
	if c == nil {
		tb.Fatalf("sign in as %s: no session cookie", username)
	}
	return &http.Cookie{Name: c.Name, Value: c.Value}
}

// do sends a request (a form when form is not nil) with the cookie, as a browser on the
// same origin would, without following redirects.
func (e *uiEnv) do(tb testing.TB, method, path string, form url.Values, cookie *http.Cookie, header ...string) (*http.Response, string) {
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
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	resp, err := noRedirects.Do(req)
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

// page gets path as the cookie's user, wants status want, and returns the parsed page.
func (e *uiEnv) page(tb testing.TB, path string, cookie *http.Cookie, want int) *html.Node {
	tb.Helper()
	resp, body := e.do(tb, "GET", path, nil, cookie)
	if resp.StatusCode != want {
		tb.Fatalf("GET %s: got status %d, want %d (body %.2000s)", path, resp.StatusCode, want, body)
	}
	return parseHTML(tb, body)
}

// cultureOf returns a culture of the demo data at site with status, with at least minObs
// observations.
func (e *uiEnv) cultureOf(tb testing.TB, site, status string, minObs int) *clink.Culture {
	tb.Helper()
	ctx := context.Background()
	cs, _, err := e.store.FindCultures(ctx, clink.CultureFilter{Site: site, Status: status, Page: clink.Page{Limit: clink.MaxLimit}})
	if err != nil {
		tb.Fatal(err)
	}
	for _, c := range cs {
		_, n, err := e.store.FindObservations(ctx, clink.ObservationFilter{CultureID: c.ID, Page: clink.Page{Limit: 1}})
		if err != nil {
			tb.Fatal(err)
		}
		if n >= minObs {
			return c
		}
	}
	tb.Fatalf("the demo data has no %s culture at %s with %d observations", status, site, minObs)
	return nil
}

// observationCount counts a culture's observations in the store (voided ones too).
func (e *uiEnv) observationCount(tb testing.TB, cultureID int64) int {
	tb.Helper()
	_, n, err := e.store.FindObservations(context.Background(), clink.ObservationFilter{CultureID: cultureID, IncludeVoided: true, Page: clink.Page{Limit: 1}})
	if err != nil {
		tb.Fatal(err)
	}
	return n
}
