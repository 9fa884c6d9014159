package http_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/clink-consortium/clink"
	clinkhttp "github.com/clink-consortium/clink/http"
)

// TestOperationsEndpoints checks the probes and the metrics (issue 9): /healthz answers while the
// process serves; /readyz answers 200 while the database answers and 503 once it does not;
// /metrics needs a signed-in user and counts requests by route pattern, with the database pool,
// imports and gating runs, and the Go runtime.
func TestOperationsEndpoints(t *testing.T) {
	store := newStore(t)
	srv := httptest.NewServer(clinkhttp.NewServer(store, clinkhttp.Options{}).Handler())
	defer srv.Close()
	ctx := clink.WithActor(context.Background(), "setup")
	if err := store.CreateUser(ctx, &clink.User{Username: "prometheus", FullName: "Scraper", Email: "p@example.org", Roles: []string{clink.RoleViewer}}, testPassword); err != nil {
		t.Fatal(err)
	}
	token, _, err := store.CreateToken(ctx, "prometheus", "scrape", 3600e9)
	if err != nil {
		t.Fatal(err)
	}
	get := func(path, token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz", ""); code != 200 || !strings.Contains(body, `"status":"ok"`) {
		t.Errorf("/healthz: %d %s", code, body)
	}
	if code, body := get("/readyz", ""); code != 200 || !strings.Contains(body, `"status":"ready"`) {
		t.Errorf("/readyz: %d %s", code, body)
	}
	if code, _ := get("/metrics", ""); code != http.StatusUnauthorized {
		t.Errorf("/metrics without a token: %d, want 401", code)
	}
	code, body := get("/metrics", token)
	if code != 200 {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	for _, want := range []string{
		`clink_http_requests_total{code="200",method="GET",route="GET /readyz"} 1`,
		`clink_http_requests_total{code="401",method="GET",route="GET /metrics"} 1`,
		`clink_http_request_duration_seconds_bucket{route="GET /healthz",le="+Inf"} 1`,
		`clink_imports_total{outcome="applied"} 0`,
		`clink_gating_files_total{outcome="attached"} 0`,
		`go_sql_open_connections{db_name="clink"}`,
		"go_goroutines",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	store.Close()
	if code, body := get("/readyz", ""); code != http.StatusServiceUnavailable || !strings.Contains(body, `"status":"unavailable"`) {
		t.Errorf("/readyz with the database closed: %d %s, want 503", code, body)
	}
	if code, _ := get("/healthz", ""); code != 200 {
		t.Errorf("/healthz with the database closed: %d, want 200 (the process lives)", code)
	}
}
