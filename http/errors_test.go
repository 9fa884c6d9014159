package http_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/client"
	clinkhttp "github.com/clink-consortium/clink/http"
)

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

func hasField(fe []clink.FieldError, field string) bool {
	for _, f := range fe {
		if f.Field == field {
			return true
		}
	}
	return false
}

func anyFieldHasPrefix(fe []clink.FieldError, prefix string) bool {
	for _, f := range fe {
		if strings.HasPrefix(f.Field, prefix) {
			return true
		}
	}
	return false
}

// send makes a raw request to the test server and decodes a problem answer.
func send(tb testing.TB, srv *specServer, method, path, contentType string, body []byte) (*http.Response, clinkhttp.Problem) {
	tb.Helper()
	req, err := http.NewRequest(method, srv.URL+path, bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if srv.Token != "" {
		req.Header.Set("Authorization", "Bearer "+srv.Token)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var p clinkhttp.Problem
	if resp.StatusCode >= 400 {
		if err := json.Unmarshal(data, &p); err != nil {
			tb.Fatalf("%s %s: got a %d answer that is not a problem document: %s", method, path, resp.StatusCode, data)
		}
		if p.Status != resp.StatusCode {
			tb.Errorf("%s %s: problem says status %d, the answer %d", method, path, p.Status, resp.StatusCode)
		}
	}
	return resp, p
}

func getProblem(tb testing.TB, srv *specServer, path string) clinkhttp.Problem {
	tb.Helper()
	_, p := send(tb, srv, "GET", path, "", nil)
	return p
}

// TestMalformedBodies posts bodies that cannot be parsed: each is refused with 400 (413 when too
// large) naming the field where there is one, and nothing is recorded.
func TestMalformedBodies(t *testing.T) {
	f := newFixture(t)
	obsPath := "/api/v1/cultures/" + itoa(f.culture.ID) + "/observations"
	huge := append([]byte(`{"day": 1, "viable_cells": 1, "note": "`), bytes.Repeat([]byte("x"), 1<<20)...)
	huge = append(huge, `"}`...)
	tests := []struct {
		name   string
		body   string
		status int
		field  string
	}{
		{"empty body", "", 400, "body"},
		{"whitespace", "  \n", 400, "body"},
		{"syntax error", `{"day": 1,}`, 400, "body"},
		{"truncated", `{"day": 1, "viable_cells"`, 400, "body"},
		{"string for a number", `{"day": 1, "viable_cells": 1e6, "viability_pct": "high"}`, 400, "viability_pct"},
		{"number for a string", `{"day": 1, "viable_cells": 1e6, "note": 5}`, 400, "note"},
		{"fractional day", `{"day": 1.5, "viable_cells": 1e6}`, 400, "day"},
		// encoding/json names the map, not the key, in a type error inside a map.
		{"nested wrong type", `{"day": 1, "viable_cells": 1e6, "markers": {"CD16": "many"}}`, 400, "markers"},
		{"unknown field", `{"day": 1, "viable_cells": 1e6, "viabilty_pct": 90}`, 400, "viabilty_pct"},
		{"trailing data", `{"day": 1, "viable_cells": 1e6} {"day": 2}`, 400, "body"},
		{"array instead of object", `[1, 2]`, 400, "body"},
		{"number out of range", `{"day": 1, "viable_cells": 1e400}`, 400, "viable_cells"},
		{"too large", string(huge), 413, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, p := send(t, f.srv, "POST", obsPath, "application/json", []byte(tc.body))
			if resp.StatusCode != tc.status {
				t.Fatalf("got status %d (%+v), want %d", resp.StatusCode, p, tc.status)
			}
			if tc.field != "" && !hasField(p.Errors, tc.field) {
				t.Errorf("got field errors %v, want one about %q", p.Errors, tc.field)
			}
		})
	}
	l, err := f.c.ListObservations(f.ctx, f.culture.ID, client.ObservationQuery{IncludeVoided: true})
	if err != nil || l.Total != 0 {
		t.Errorf("after malformed bodies got %v observations (err %v), want 0", l, err)
	}
}

// TestRouting checks the answers to paths and methods the API does not serve.
func TestRouting(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/api/v1/nothing", 404, ""},
		{"GET", "/nothing", 404, ""}, // "/" is the web start page (login.go)
		{"DELETE", "/api/v1/donors/1", 405, "GET, HEAD, PUT"},
		{"PATCH", "/api/v1/cultures", 405, "GET, HEAD, POST"},
		{"PUT", "/api/v1/healthz", 405, "GET, HEAD"},
		{"GET", "/api/v1/observations/abc", 404, ""},
		{"GET", "/api/v1/assays/0", 404, ""},
		{"GET", "/api/v1/cultures/ZGZ-C9999/metrics", 404, ""},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			resp, _ := send(t, f.srv, tc.method, tc.path, "", nil)
			if resp.StatusCode != tc.status {
				t.Fatalf("got status %d, want %d", resp.StatusCode, tc.status)
			}
			if got := resp.Header.Get("Allow"); got != tc.allow {
				t.Errorf("got Allow %q, want %q", got, tc.allow)
			}
		})
	}
}
