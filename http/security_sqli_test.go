package http_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/clink-consortium/clink"
	clinkhttp "github.com/clink-consortium/clink/http"
	"github.com/clink-consortium/clink/internal/pgtest"
)

// sqlPayloads are the values the SQL injection test puts in every query parameter and path
// segment: classic injections, LIKE wildcards, statement separators, placeholders, a NUL
// byte, bytes that are not UTF-8, and Unicode look-alikes.
var sqlPayloads = []string{
	`' OR '1'='1`,
	`' OR 1=1 --`,
	`1 OR 1=1`,
	`1; DROP TABLE donors; --`,
	`'; DROP TABLE donors; --`,
	`%' --`,
	`%`,
	`_`,
	`") OR ("1"="1`,
	`1 UNION SELECT username, password_hash FROM users --`,
	`$1`,
	`\`,
	"BCN\x00",
	"\x00' OR '1'='1",
	"\xff\xfe'",
	"ＢＣＮ",
	"B\u0301CN",
	"-1",
	"99999999999999999999",
	strings.Repeat("A", 3000),
}

// encodingPayloads are the payloads that are not text a PostgreSQL string can hold: a NUL byte
// and bytes that are not UTF-8.
var encodingPayloads = []string{"BCN\x00", "\x00' OR '1'='1", "\xff\xfe'"}

// sqlLeaks are words of database errors and Go panics that no answer may show: they would
// mean a query failed on the input, and they tell an attacker how. The payloads hold none of
// them, so an echoed payload is not a leak.
var sqlLeaks = []string{"sqlstate", "syntax error", "sql logic error", "sqlite", "pgx", "pq: ", "database/sql",
	"goroutine ", "panic", ".go:", "no such column", "no such table", "unrecognized token", "invalid byte sequence",
	"error: ", "relation \"", "near \"", "unterminated", "placeholder"}

// secPathValue is the value of the path parameter name of the route pattern in the fixture:
// the id (or code, or reference) of a record that exists.
func (e *secEnv) secPathValue(pattern, name string) string {
	id := func(n int64) string { return strconv.FormatInt(n, 10) }
	seg := strings.Split(strings.TrimPrefix(strings.TrimPrefix(pattern, "/api/v1"), "/"), "/")
	switch name {
	case "code":
		return secLab
	case "sha256":
		if e.att != nil {
			return e.att.SHA256
		}
		return strings.Repeat("a", 64)
	case "ref":
		return e.space.Ref()
	case "bag":
		return "1"
	case "version":
		return "0"
	case "name":
		return "clink.css"
	case "attachment":
		if e.att != nil {
			return id(e.att.ID)
		}
		return "1"
	case "file":
		switch seg[0] {
		case "cultures":
			return "growth.svg"
		case "protocols":
			return "nk-fold.svg"
		case "observations":
			return "Polygon1.csv"
		}
		return "pareto.svg"
	}
	switch seg[0] {
	case "donors":
		return id(e.donor.ID)
	case "components":
		return id(e.comp.ID)
	case "protocols":
		return id(e.proto.ID)
	case "cultures":
		return id(e.culture.ID)
	case "observations":
		return id(e.obs.ID)
	case "gating-templates":
		if e.tmpl != nil {
			return id(e.tmpl.ID)
		}
		return "1"
	case "design-spaces":
		return id(e.space.ID)
	case "assays":
		return id(e.assay.ID)
	case "patients":
		return id(e.patient.ID)
	case "treatment-requests":
		return id(e.request.ID)
	case "release-specs":
		return id(e.spec.ID)
	case "batches":
		return id(e.released.ID)
	}
	return "1"
}

var pathParamRE = regexp.MustCompile(`\{([^}$]*)\}`)

// secPath fills the path parameters of pattern with the fixture's values, but the parameter
// named attack, which gets value (path-escaped).
func (e *secEnv) secPath(pattern, attack, value string) string {
	p := strings.TrimSuffix(pattern, "{$}")
	return pathParamRE.ReplaceAllStringFunc(p, func(m string) string {
		name := m[1 : len(m)-1]
		if name == attack {
			return url.PathEscape(value)
		}
		return url.PathEscape(e.secPathValue(pattern, name))
	})
}

// leaks returns the words of sqlLeaks in body that the baseline answer does not hold.
func leaks(body, baseline string) []string {
	var out []string
	b, base := strings.ToLower(body), strings.ToLower(baseline)
	for _, w := range sqlLeaks {
		if strings.Contains(b, w) && !strings.Contains(base, w) {
			out = append(out, w)
		}
	}
	return out
}

// uiQueries are the query parameters of the web pages (read by their handlers with
// r.URL.Query()), with a base query the attacked parameter is added to or replaces.
func (e *secEnv) uiQueries() []struct {
	path   string
	base   url.Values
	params []string
} {
	return []struct {
		path   string
		base   url.Values
		params []string
	}{
		{"/", nil, []string{"site", "date"}},
		{"/dashboard/scoreboard", nil, []string{"site", "date"}},
		{"/cultures", nil, []string{"site", "status", "protocol", "offset"}},
		{"/donors", nil, []string{"site", "hcmv", "nkg2c", "kir", "offset"}},
		{"/protocols", nil, []string{"site", "offset"}},
		{fmt.Sprintf("/protocols/%d", e.proto.ID), nil, []string{"diff"}},
		{"/audit", nil, []string{"entity", "user", "from", "to", "offset"}},
		{"/compare", url.Values{"protocol": {e.proto.Name, "second protocol"}}, []string{"protocol", "reference", "metric", "day", "plot"}},
		{"/optimizer", url.Values{"space": {e.space.Ref()}, "objective": {"nk_fold"}, "batch": {"2"}, "donors": {"1"}, "seed": {"1"}},
			[]string{"space", "objective", "objective2", "purity_min", "viability_min", "batch", "donors", "seed"}},
		{"/batches", nil, []string{"status", "offset"}},
		{"/patients", nil, []string{"hospital", "offset"}},
		{"/import", nil, []string{"done", "donors"}},
		{"/new/culture", nil, []string{"donor", "protocol", "site"}},
		{"/new/donor", nil, []string{"site"}},
		{fmt.Sprintf("/cultures/%d", e.culture.ID), nil, []string{"added", "voided"}},
		{fmt.Sprintf("/cultures/%d/fcs", e.running.ID), nil, []string{"observation"}},
		{"/account", nil, []string{"changed"}},
	}
}

// TestSecuritySQLInjection sends every filter of the API (the query parameters the OpenAPI
// document gives each GET route of the route table) and of the web pages, and every path
// parameter of both route tables, each of sqlPayloads, on SQLite and PostgreSQL. Every answer
// must be a success or a 4xx, never a 5xx; no answer may show a database error or a panic;
// a list answered 200 must hold nothing (no record matches the payloads); an API refusal must
// name the parameter. Afterwards every table has the rows it had, and the audit chain
// verifies. A control shows that filters take the payload as data: a protocol and a design
// space named with an injection are found by their names, exactly; and injections written as
// donor notes read back unchanged. The payloads that are no PostgreSQL text (encodingPayloads)
// run in subtests of their own: they once reached PostgreSQL, which answered with an internal
// error; the server now refuses them at its boundary (query readers, paths, JSON bodies, forms).
func TestSecuritySQLInjection(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		e, _ := newSecFixture(t, clinkhttp.Options{})
		testSQLInjection(t, e, "sqlite")
	})
	t.Run("postgres", func(t *testing.T) {
		e := newSecEnv(t, openStore(t, pgtest.DSN(t)), clinkhttp.Options{})
		e.seed(hostile)
		testSQLInjection(t, e, "postgres")
	})
}

func testSQLInjection(t *testing.T, e *secEnv, dialect string) {
	doc := loadSpec(t)
	cookie := e.signIn(t, secRoot)

	// The control records, written through the API.
	injected := protocolIL2(secSite, `x' OR '1'='1`)
	if resp, body := e.api(t, "POST", "/api/v1/protocols", secRoot, injected); resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST a protocol named %q: got status %d, want 201 (body %s)", injected.Name, resp.StatusCode, body)
	}
	space := designSpace(secSite, `d'); DELETE FROM design_spaces; --`, nkSpace)
	if resp, body := e.api(t, "POST", "/api/v1/design-spaces", secRoot, space); resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST a design space named %q: got status %d, want 201 (body %s)", space.Name, resp.StatusCode, body)
	}
	before := tableCounts(t, e.store.DB())

	t.Run("control", func(t *testing.T) {
		for _, tc := range []struct{ path, name string }{
			{"/api/v1/protocols?" + url.Values{"name": {injected.Name}}.Encode(), injected.Name},
			{"/api/v1/design-spaces?" + url.Values{"name": {space.Name}}.Encode(), space.Name},
			{"/api/v1/design-spaces/" + url.PathEscape(space.Name+"@1"), space.Name},
		} {
			resp, body := e.api(t, "GET", tc.path, secRoot, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: got status %d, want 200 (body %s)", tc.path, resp.StatusCode, body)
			}
			var list struct {
				Items []struct {
					Name string `json:"name"`
				} `json:"items"`
				Total *int   `json:"total"`
				Name  string `json:"name"`
			}
			if err := json.Unmarshal(body, &list); err != nil {
				t.Fatal(err)
			}
			if list.Total == nil {
				if list.Name != tc.name {
					t.Errorf("GET %s: got %q, want the record named %q", tc.path, list.Name, tc.name)
				}
				continue
			}
			if *list.Total != 1 || len(list.Items) != 1 || list.Items[0].Name != tc.name {
				t.Errorf("GET %s: got %d items (total %d), want exactly the one named %q: %s", tc.path, len(list.Items), *list.Total, tc.name, body)
			}
		}
	})

	regular := slices.DeleteFunc(slices.Clone(sqlPayloads), func(p string) bool { return slices.Contains(encodingPayloads, p) })
	t.Run("filters", func(t *testing.T) { sendInjections(t, e, doc, cookie, regular) })
	// Text that no PostgreSQL string can hold: SQLite stores and compares it like any
	// other, PostgreSQL refuses it with an error that the server answers as 500.
	t.Run("nul-and-invalid-utf8", func(t *testing.T) {
		sendInjections(t, e, doc, cookie, encodingPayloads)
	})

	after := tableCounts(t, e.store.DB())
	delete(before, "sessions") // a session's last use is written as it is used, never added
	delete(after, "sessions")
	if d := diffCounts(before, after); d != "" {
		t.Errorf("the injections changed the database: %s", d)
	}
	if _, err := e.store.VerifyAudit(context.Background()); err != nil {
		t.Errorf("the audit chain does not verify after the injections: %v", err)
	}
	t.Run("stored", func(t *testing.T) {
		// Injections stored as text come back as they were written.
		for _, notes := range []string{`'); DROP TABLE donors; --`, `' OR '1'='1`, `\'; --`, `%_$1?`} {
			d := &clink.Donor{Site: secSite, HCMV: clink.HCMVNegative, ConsentDate: "2025-02-01", Notes: notes}
			resp, body := e.api(t, "POST", "/api/v1/donors", secRoot, d)
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("POST a donor with notes %q: got status %d, want 201 (body %s)", notes, resp.StatusCode, body)
			}
			var got clink.Donor
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			_, body = e.api(t, "GET", fmt.Sprintf("/api/v1/donors/%d", got.ID), secRoot, nil)
			if err := json.Unmarshal(body, &got); err != nil || got.Notes != notes {
				t.Errorf("GET the donor: got notes %q (%v), want %q", got.Notes, err, notes)
			}
		}
	})
	t.Run("stored-nul", func(t *testing.T) {
		// A NUL character in a JSON string is refused or stored, never an internal error.
		resp, body := e.api(t, "POST", "/api/v1/donors", secRoot, []byte(`{"site":"BCN","hcmv":"negative","consent_date":"2025-02-01","notes":"a\u0000b"}`))
		if resp.StatusCode >= 500 {
			t.Errorf("POST a donor with notes \"a\\u0000b\": got status %d, want 201 or 422 (body %s)", resp.StatusCode, body)
		}
	})
}

// checkInjected checks the answer to an injected request: no 5xx, no database error or panic
// words that the baseline answer lacks, and for the API a refusal naming the parameter (when
// one is attacked) or a list holding nothing.
func checkInjected(t *testing.T, what string, resp *http.Response, body, baseline []byte, param string, api bool) {
	t.Helper()
	if resp.StatusCode >= 500 {
		t.Errorf("%s: got status %d, want no 5xx (body %.300s)", what, resp.StatusCode, body)
		return
	}
	if ws := leaks(string(body), string(baseline)); len(ws) > 0 {
		t.Errorf("%s: the answer shows %q (body %.500s)", what, ws, body)
	}
	if !api {
		return
	}
	if resp.StatusCode >= 400 {
		var p clinkhttp.Problem
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("%s: the %d answer is not a problem document: %.300s", what, resp.StatusCode, body)
			return
		}
		if param != "" && !hasField(p.Errors, param) && !strings.Contains(p.Detail, param) {
			t.Errorf("%s: the %d answer does not name the parameter %s: %.300s", what, resp.StatusCode, param, body)
		}
		return
	}
	var list struct {
		Items []json.RawMessage `json:"items"`
		Total *int              `json:"total"`
	}
	if json.Unmarshal(body, &list) == nil && list.Total != nil && (*list.Total != 0 || len(list.Items) != 0) {
		t.Errorf("%s: got a list of %d items (total %d), want none: no record matches the payload", what, len(list.Items), *list.Total)
	}
}

// sendInjections sends payloads in every API filter and path parameter and every page's query
// and path parameters, and checks each answer (checkInjected).
func sendInjections(t *testing.T, e *secEnv, doc *openapi3.T, cookie *http.Cookie, payloads []string) {
	t.Run("api", func(t *testing.T) {
		n := 0
		for _, rt := range e.server.Routes() {
			if rt.Method != http.MethodGet {
				continue
			}
			item := doc.Paths.Value(rt.Pattern)
			if item == nil || item.Get == nil {
				t.Errorf("GET %s is not in the OpenAPI document", rt.Pattern)
				continue
			}
			var query []string
			for _, p := range append(item.Parameters, item.Get.Parameters...) {
				if p.Value != nil && p.Value.In == "query" {
					query = append(query, p.Value.Name)
				}
			}
			path := e.secPath(rt.Pattern, "", "")
			baseResp, baseBody := e.api(t, "GET", path, secRoot, nil)
			if baseResp.StatusCode >= 400 && rt.Name != "compareProtocols" && rt.Name != "diffProtocols" {
				t.Errorf("GET %s (the baseline): got status %d, want success (body %.300s)", path, baseResp.StatusCode, baseBody)
			}
			for _, param := range query {
				for _, payload := range payloads {
					q := url.Values{param: {payload}}
					switch rt.Name {
					case "compareProtocols":
						if param != "protocol" {
							q["protocol"] = []string{e.proto.Name, "second protocol"}
						}
					case "diffProtocols":
						if param != "to" {
							q.Set("to", strconv.FormatInt(e.protoV2.ID, 10))
						}
					}
					p := path + "?" + q.Encode()
					resp, body := e.api(t, "GET", p, secRoot, nil)
					n++
					checkInjected(t, "GET "+p, resp, body, baseBody, param, true)
				}
			}
			for _, m := range pathParamRE.FindAllStringSubmatch(rt.Pattern, -1) {
				for _, payload := range payloads {
					p := e.secPath(rt.Pattern, m[1], payload)
					resp, body := e.api(t, "GET", p, secRoot, nil)
					n++
					if resp.StatusCode < 400 && !(m[1] == "bag" && payload == "-1") {
						t.Errorf("GET %s: got status %d, want 4xx: no record is named %q (body %.300s)", p, resp.StatusCode, payload, body)
					}
					checkInjected(t, "GET "+p, resp, body, baseBody, "", true)
				}
			}
		}
		t.Logf("%d API requests", n)
	})

	t.Run("pages", func(t *testing.T) {
		n := 0
		for _, uq := range e.uiQueries() {
			baseQ := uq.base.Encode()
			baseResp, baseBody := e.do(t, "GET", uq.path+"?"+baseQ, nil, cookie)
			if baseResp.StatusCode != http.StatusOK {
				t.Errorf("GET %s?%s (the baseline): got status %d, want 200", uq.path, baseQ, baseResp.StatusCode)
			}
			for _, param := range uq.params {
				for _, payload := range payloads {
					q := url.Values{}
					for k, v := range uq.base {
						q[k] = v
					}
					q.Set(param, payload)
					p := uq.path + "?" + q.Encode()
					resp, body := e.do(t, "GET", p, nil, cookie)
					n++
					checkInjected(t, "GET "+p, resp, []byte(body), []byte(baseBody), "", false)
					for _, prob := range htmlProblems(body) {
						t.Errorf("GET %s: %s", p, prob)
					}
					if uq.path == "/audit" && param == "user" && resp.StatusCode == http.StatusOK {
						if got := textOf(mustQuery(t, parseHTML(t, body), "#audit-count")); !strings.HasPrefix(got, "0 events") {
							t.Errorf("GET %s: got %q, want 0 events: no user is named %q", p, got, payload)
						}
					}
				}
			}
		}
		for _, rt := range e.server.UIRoutes() {
			if rt.Method != http.MethodGet {
				continue
			}
			_, baseBody := e.do(t, "GET", e.secPath(rt.Pattern, "", ""), nil, cookie)
			for _, m := range pathParamRE.FindAllStringSubmatch(rt.Pattern, -1) {
				for _, payload := range payloads {
					p := e.secPath(rt.Pattern, m[1], payload)
					resp, body := e.do(t, "GET", p, nil, cookie)
					n++
					if resp.StatusCode < 400 && m[1] != "version" {
						t.Errorf("GET %s: got status %d, want 4xx: nothing is named %q", p, resp.StatusCode, payload)
					}
					checkInjected(t, "GET "+p, resp, []byte(body), []byte(baseBody), "", false)
				}
			}
		}
		t.Logf("%d page requests", n)
	})

}
