package http_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/clink-consortium/clink"
	clinkhttp "github.com/clink-consortium/clink/http"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRecover checks the last line of defence: a handler that panics (here on a server built
// without a store) answers 500 "internal error" with a request id, and the log has the panic.
func TestRecover(t *testing.T) {
	var logs syncBuffer
	// An authenticator that lets everyone in as a researcher, so that the handler runs.
	anyone := clinkhttp.AuthenticatorFunc(func(*http.Request) (*clink.User, error) {
		return &clink.User{Username: "someone", Site: "ZGZ", Roles: []string{clink.RoleResearcher}}, nil
	})
	h := clinkhttp.NewServer(nil, clinkhttp.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Authenticators: []clinkhttp.Authenticator{anyone}}).Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/donors", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("got status %d, want 500", rec.Code)
	}
	var p clinkhttp.Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("got body %s, want a problem: %v", rec.Body, err)
	}
	if p.Detail != "internal error" || p.RequestID == "" || p.RequestID != rec.Header().Get("X-Request-Id") {
		t.Errorf("got %+v (X-Request-Id %q), want detail \"internal error\" and the request id", p, rec.Header().Get("X-Request-Id"))
	}
	if l := logs.String(); !strings.Contains(l, "panic") || !strings.Contains(l, p.RequestID) {
		t.Errorf("got log %q, want the panic with request id %s", l, p.RequestID)
	}
}

// TestInternalError checks that a failing database answers 500 "internal error" with only the
// request id, logs the cause, and makes the health check answer 503.
func TestInternalError(t *testing.T) {
	store := newStore(t)
	var logs syncBuffer
	srv := httptest.NewServer(clinkhttp.NewServer(store, clinkhttp.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))}).Handler())
	defer srv.Close()
	store.Close()

	// The token cannot be checked either: the database is down, which is a 500, not a 401.
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/donors", nil)
	req.Header.Set("Authorization", "Bearer "+strings.Repeat("a", 52))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p clinkhttp.Problem
	json.NewDecoder(resp.Body).Decode(&p)
	if resp.StatusCode != 500 || p.Detail != "internal error" || len(p.Errors) != 0 {
		t.Errorf("got status %d %+v, want 500 with detail \"internal error\" and no field errors", resp.StatusCode, p)
	}
	if l := logs.String(); !strings.Contains(l, p.RequestID) || !strings.Contains(l, "level=ERROR") {
		t.Errorf("got log %q, want an error with request id %s", l, p.RequestID)
	}

	resp, err = http.Get(srv.URL + "/api/v1/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h clinkhttp.Health
	json.NewDecoder(resp.Body).Decode(&h)
	if resp.StatusCode != http.StatusServiceUnavailable || h.Status != "unavailable" {
		t.Errorf("health with a closed database: got %d %+v, want 503 unavailable", resp.StatusCode, h)
	}
}
