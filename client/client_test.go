package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/client"
)

// TestErrors checks how the client reads error answers: problem documents become *Error with
// their fields, and other bodies (from a proxy, say) become the detail. The CLINK server itself
// is exercised through this client by the http package's tests.
func TestErrors(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		want        client.Error
		wantString  string
	}{
		{"problem", 422, "application/problem+json",
			`{"type":"about:blank","title":"Unprocessable Entity","status":422,"detail":"invalid input","errors":[{"field":"viability_pct","message":"134 is above 100"}],"request_id":"abc"}`,
			client.Error{Status: 422, Type: "about:blank", Title: "Unprocessable Entity", Detail: "invalid input",
				Errors: []clink.FieldError{{Field: "viability_pct", Message: "134 is above 100"}}, RequestID: "abc"},
			"422 Unprocessable Entity: invalid input: viability_pct: 134 is above 100 (request abc)"},
		{"not a problem", 502, "text/html", "<h1>Bad Gateway</h1>",
			client.Error{Status: 502, Title: "Bad Gateway", Detail: "<h1>Bad Gateway</h1>"},
			"502 Bad Gateway: <h1>Bad Gateway</h1>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.contentType)
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			_, err := client.New(srv.URL).GetDonor(context.Background(), 1)
			var e *client.Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want a *client.Error", err)
			}
			if e.Status != tc.want.Status || e.Title != tc.want.Title || e.Detail != tc.want.Detail ||
				e.RequestID != tc.want.RequestID || len(e.Errors) != len(tc.want.Errors) {
				t.Errorf("got %+v, want %+v", *e, tc.want)
			}
			if got := e.Error(); got != tc.wantString {
				t.Errorf("got message %q, want %q", got, tc.wantString)
			}
		})
	}
}

// TestRequests checks the paths and query strings the typed methods send.
func TestRequests(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Method + " " + r.URL.RequestURI()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	c := client.New(srv.URL + "/")
	ctx := context.Background()
	tests := []struct {
		call func() error
		want string
	}{
		{func() error {
			_, err := c.ListDonors(ctx, client.DonorQuery{Site: "ZGZ", NKG2C: "+/del", Limit: 5})
			return err
		},
			"GET /api/v1/donors?limit=5&nkg2c=%2B%2Fdel&site=ZGZ"},
		{func() error { _, err := c.GetDonorByCode(ctx, "D7KQ2M9XW4R-Z"); return err }, "GET /api/v1/donors/D7KQ2M9XW4R-Z"},
		{func() error {
			_, err := c.ListCultures(ctx, client.CultureQuery{ProtocolID: 3, Status: "running", Offset: 10})
			return err
		}, "GET /api/v1/cultures?offset=10&protocol=3&status=running"},
		{func() error { _, err := c.DiffProtocols(ctx, 1, 2); return err }, "GET /api/v1/protocols/1/diff?to=2"},
		{func() error { _, err := c.VoidObservation(ctx, 7, "why"); return err }, "POST /api/v1/observations/7/void"},
		{func() error {
			_, err := c.ListObservations(ctx, 4, client.ObservationQuery{IncludeVoided: true})
			return err
		}, "GET /api/v1/cultures/4/observations?include_voided=true"},
		{func() error {
			_, err := c.ListAuditEvents(ctx, client.AuditQuery{Entity: "donor", EntityID: 2})
			return err
		}, "GET /api/v1/audit?entity=donor&entity_id=2"},
	}
	for _, tc := range tests {
		if err := tc.call(); err != nil {
			t.Errorf("%s: %v", tc.want, err)
		}
		if got != tc.want {
			t.Errorf("got request %q, want %q", got, tc.want)
		}
	}
}

// TestToken checks that a client with a token sends it as a bearer credential, and that a
// client without one sends no Authorization header at all.
func TestToken(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Values("Authorization")
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	tests := []struct {
		name string
		c    *client.Client
		want []string
	}{
		{"WithToken", client.New(srv.URL, client.WithToken("abc123")), []string{"Bearer abc123"}},
		{"Token field", &client.Client{BaseURL: srv.URL, Token: "xyz"}, []string{"Bearer xyz"}},
		{"no token", client.New(srv.URL), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got = []string{"not called"}
			if _, err := tc.c.ListSites(context.Background()); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) || (len(got) == 1 && got[0] != tc.want[0]) {
				t.Errorf("got Authorization %q, want %q", got, tc.want)
			}
		})
	}
}
