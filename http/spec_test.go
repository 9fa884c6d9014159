package http_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/client"
	clinkhttp "github.com/clink-consortium/clink/http"
	"github.com/clink-consortium/clink/sqldb"
)

// loadSpec loads and validates the embedded OpenAPI document.
func loadSpec(tb testing.TB) *openapi3.T {
	tb.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(clinkhttp.OpenAPI)
	if err != nil {
		tb.Fatalf("load openapi.yaml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		tb.Fatalf("openapi.yaml is not a valid OpenAPI document: %v", err)
	}
	return doc
}

// newStore opens a migrated SQLite store in a temporary directory.
func newStore(tb testing.TB) *sqldb.Store {
	return openStore(tb, filepath.Join(tb.TempDir(), "clink.db"))
}

// exchange is one request the tests made and the answer they got.
type exchange struct {
	Method, Path string
	Status       int
	Header       http.Header
	Body         []byte
}

// specServer is a test server on 127.0.0.1 whose every request and answer is checked against
// the OpenAPI document: an answer that the document does not describe fails the test, and so
// does a request that breaks the document yet is not refused with a 4xx.
type specServer struct {
	*httptest.Server
	Store clink.Store
	tb    testing.TB
	doc   *openapi3.T
	rt    routers.Router

	// Token, when set, is sent by send (raw requests) as the bearer credential.
	Token string

	mu  sync.Mutex
	log []exchange
}

// testPassword is the password of every test user.
const testPassword = "correct horse battery staple"

// token creates the user username with roles at site (empty for none) and returns a new API
// token of theirs. Sites named must exist.
func (s *specServer) token(tb testing.TB, username, site string, roles ...string) string {
	tb.Helper()
	ctx := clink.WithActor(context.Background(), "test")
	u := &clink.User{Username: username, FullName: "Test " + username, Email: username + "@example.org", Site: site, Roles: roles}
	if err := s.Store.CreateUser(ctx, u, testPassword); err != nil {
		tb.Fatalf("create user %s: %v", username, err)
	}
	secret, _, err := s.Store.CreateToken(ctx, username, "test", time.Hour)
	if err != nil {
		tb.Fatalf("create token of %s: %v", username, err)
	}
	return secret
}

// clientAs returns a client authenticated as a new user username with roles at site.
func (s *specServer) clientAs(tb testing.TB, username, site string, roles ...string) *client.Client {
	tb.Helper()
	return client.New(s.URL, client.WithToken(s.token(tb, username, site, roles...)))
}

func newSpecServer(tb testing.TB) *specServer {
	tb.Helper()
	return newSpecServerOn(tb, newStore(tb))
}

// newSpecServerOn is newSpecServer over a given store.
func newSpecServerOn(tb testing.TB, store clink.Store) *specServer {
	tb.Helper()
	doc := loadSpec(tb)
	doc.Servers = nil // match requests to any host, such as httptest's 127.0.0.1:port
	rt, err := legacy.NewRouter(doc)
	if err != nil {
		tb.Fatalf("openapi router: %v", err)
	}
	s := &specServer{Store: store, tb: tb, doc: doc, rt: rt}
	h := clinkhttp.NewServer(store, clinkhttp.Options{}).Handler()
	s.Server = httptest.NewServer(s.validate(h))
	tb.Cleanup(s.Close)
	return s
}

// last returns the latest exchange with method and a path that starts with prefix.
func (s *specServer) last(method, prefix string) exchange {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.log) - 1; i >= 0; i-- {
		if e := s.log[i]; e.Method == method && strings.HasPrefix(e.Path, prefix) {
			return e
		}
	}
	s.tb.Fatalf("no %s %s request was made", method, prefix)
	return exchange{}
}

func (s *specServer) validate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		// The server sees the request as sent; validation works on a copy of it.
		vr := r.Clone(r.Context())
		vr.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(rec, r)
		resp := rec.Result()
		respBody := rec.Body.Bytes()

		s.mu.Lock()
		s.log = append(s.log, exchange{r.Method, r.URL.RequestURI(), resp.StatusCode, resp.Header.Clone(), respBody})
		s.mu.Unlock()

		s.check(vr, resp, respBody)

		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		w.Write(respBody)
	})
}

func (s *specServer) check(r *http.Request, resp *http.Response, body []byte) {
	tb := s.tb
	what := r.Method + " " + r.URL.RequestURI()
	if resp.StatusCode >= 500 {
		tb.Errorf("%s: got status %d, want no 5xx (body %s)", what, resp.StatusCode, body)
	}
	if resp.StatusCode >= 400 {
		if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
			tb.Errorf("%s: error answer has Content-Type %q, want application/problem+json", what, ct)
		}
	}
	route, params, err := s.rt.FindRoute(r)
	if err != nil {
		// Not in the document: the server must not serve it.
		if !slices.Contains([]int{http.StatusNotFound, http.StatusMethodNotAllowed}, resp.StatusCode) {
			tb.Errorf("%s is not in the OpenAPI document (%v) but got status %d, want 404 or 405", what, err, resp.StatusCode)
		}
		return
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: opts}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			tb.Errorf("%s breaks the OpenAPI document (%v) but got status %d, want 4xx", what, err, resp.StatusCode)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Options: opts}
	out.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		tb.Errorf("%s: the answer (status %d) does not match the OpenAPI document: %v\nbody: %s", what, resp.StatusCode, err, body)
	}
}
