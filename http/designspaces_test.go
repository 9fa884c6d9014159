package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/client"
	"github.com/clink-consortium/clink/design"
	clinkhttp "github.com/clink-consortium/clink/http"
)

// nkSpace is a design space in the JSON form of design.Space (its doc comment's example, with
// a constraint on its own factors): IL-2 on ln(1 + c), harvest day and vessel, with IL-2 at
// most 500 IU/mL (0.01 il2 <= 5).
const nkSpace = `{
  "name": "nk-default",
  "factors": [
    {"name": "il2", "unit": "IU/mL", "kind": "continuous", "low": 0, "high": 1000, "scale": "log", "offset": 1},
    {"name": "harvest_day", "unit": "d", "kind": "integer", "low": 7, "high": 28, "scale": "linear"},
    {"name": "vessel", "kind": "categorical", "levels": ["plate", "flask", "G-Rex"]}
  ],
  "constraints": [
    {"name": "il2_cap", "terms": [{"factor": "il2", "coef": 0.01}], "bound": 5}
  ]
}`

func designSpace(site, name, def string) *clink.DesignSpace {
	return &clink.DesignSpace{Site: site, Name: name, Description: "IL-2, harvest day and vessel", Definition: json.RawMessage(def)}
}

// designSpaceRequest makes the permission matrix's requests (authz_test.go) to the design
// space routes; writes get fresh spaces of the matrix's own site.
func designSpaceRequest(e *matrixEnv, name string) (path string, body any, ok bool) {
	e.tb.Helper()
	fresh := func() *clink.DesignSpace {
		d := designSpace(ownSite, fmt.Sprintf("matrix space %d", e.next()), nkSpace)
		e.check(e.store.CreateDesignSpace(e.ctx, d))
		return d
	}
	switch name {
	case "listDesignSpaces":
		return "/api/v1/design-spaces", nil, true
	case "createDesignSpace":
		return "/api/v1/design-spaces", designSpace(ownSite, fmt.Sprintf("new space %d", e.next()), nkSpace), true
	case "getDesignSpace":
		return "/api/v1/design-spaces/" + url.PathEscape(fresh().Ref()), nil, true
	case "voidDesignSpace":
		return fmt.Sprintf("/api/v1/design-spaces/%d/void", fresh().ID), map[string]string{"reason": "superseded"}, true
	}
	return "", nil, false
}

// compactJSON returns s without insignificant spaces, as the server writes JSON.
func compactJSON(tb testing.TB, s string) string {
	tb.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		tb.Fatal(err)
	}
	return b.String()
}

// designEnv is a server with the sites ZGZ and BCN and the users ana (researcher at ZGZ),
// luis (researcher at BCN) and vera (viewer at ZGZ).
type designEnv struct {
	srv             *specServer
	ana, luis, vera *client.Client
}

func newDesignEnv(tb testing.TB) *designEnv {
	tb.Helper()
	srv := newSpecServer(tb)
	ctx := clink.WithActor(context.Background(), "setup")
	for _, s := range []clink.Site{
		{Code: "ZGZ", Name: "Universidad de Zaragoza", Kind: clink.SiteLab},
		{Code: "BCN", Name: "Hospital Clínic Barcelona", Kind: clink.SiteHospital},
	} {
		if err := srv.Store.CreateSite(ctx, &s); err != nil {
			tb.Fatal(err)
		}
	}
	return &designEnv{srv: srv,
		ana:  srv.clientAs(tb, "ana", "ZGZ", clink.RoleResearcher),
		luis: srv.clientAs(tb, "luis", "BCN", clink.RoleResearcher),
		vera: srv.clientAs(tb, "vera", "ZGZ", clink.RoleViewer)}
}

func TestDesignSpacesAPI(t *testing.T) {
	e := newDesignEnv(t)
	ctx := context.Background()

	// Version 1 of a new name, then version 2 of it with the site left to the name.
	v1 := must(e.ana.CreateDesignSpace(ctx, designSpace("ZGZ", "NK cytokines", nkSpace)))(t)
	wantCreated(t, e.srv, "/api/v1/design-spaces", fmt.Sprintf("/api/v1/design-spaces/%d", v1.ID))
	if v1.Version != 1 || v1.Site != "ZGZ" || v1.Voided || v1.CreatedBy != "ana" {
		t.Errorf("created %+v, want version 1 of ZGZ, not void, created by ana", v1)
	}
	if got, want := string(v1.Definition), compactJSON(t, nkSpace); got != want {
		t.Errorf("definition answered:\n%s\nwant the one given:\n%s", got, want)
	}
	narrow := strings.Replace(nkSpace, `"high": 1000`, `"high": 500`, 1)
	v2 := must(e.ana.CreateDesignSpace(ctx, designSpace("", "NK cytokines", narrow)))(t)
	if v2.Version != 2 || v2.Site != "ZGZ" {
		t.Errorf("second version: got %s of %s, want NK cytokines@2 of ZGZ", v2.Ref(), v2.Site)
	}

	// Get by id, by bare name (the latest valid version) and by NAME@VERSION; everyone reads.
	gets := []struct {
		ref  string
		want *clink.DesignSpace
	}{
		{fmt.Sprint(v1.ID), v1},
		{fmt.Sprint(v2.ID), v2},
		{"NK cytokines", v2},
		{"NK cytokines@1", v1},
		{"NK cytokines@2", v2},
	}
	for _, tc := range gets {
		got, err := e.vera.GetDesignSpaceByRef(ctx, tc.ref)
		if err != nil {
			t.Errorf("GET design space %q: %v", tc.ref, err)
			continue
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("GET design space %q (-want +got):\n%s", tc.ref, d)
		}
	}
	if got := must(e.luis.GetDesignSpace(ctx, v1.ID))(t); got.Ref() != "NK cytokines@1" {
		t.Errorf("GetDesignSpace(%d) = %s, want NK cytokines@1", v1.ID, got.Ref())
	}
	for _, ref := range []string{"999", "0", "00", "NK cytokines@3", "NK cytokines@0", "@1", "No such space", "nk cytokines", "NK cytokines@x"} {
		_, err := e.vera.GetDesignSpaceByRef(ctx, ref)
		wantProblem(t, err, http.StatusNotFound, "")
	}

	// Refusals change nothing: a definition that is not a valid space (422 naming the field
	// under definition.), a taken version (409), another site's researcher and a viewer (403).
	before := auditCount(t, e.srv.Store)
	bad := []struct {
		name   string
		c      *client.Client
		d      *clink.DesignSpace
		status int
		fields []string
	}{
		{"low above high", e.ana, designSpace("ZGZ", "Bad space", strings.Replace(nkSpace, `"low": 7, "high": 28`, `"low": 28, "high": 7`, 1)),
			422, []string{"definition.factors[1].low"}},
		{"log without offset", e.ana, designSpace("ZGZ", "Bad space", strings.Replace(nkSpace, `"scale": "log", "offset": 1`, `"scale": "log"`, 1)),
			422, []string{"definition.factors[0].offset"}},
		{"one level", e.ana, designSpace("ZGZ", "Bad space", strings.Replace(nkSpace, `["plate", "flask", "G-Rex"]`, `["plate"]`, 1)),
			422, []string{"definition.factors[2].levels"}},
		{"constraint on an unknown factor", e.ana, designSpace("ZGZ", "Bad space", strings.Replace(nkSpace, `{"factor": "il2"`, `{"factor": "il15"`, 1)),
			422, []string{"definition.constraints[0].terms[0].factor"}},
		{"no factors", e.ana, designSpace("ZGZ", "Bad space", `{"name": "empty", "factors": []}`), 422, []string{"definition.factors"}},
		{"unknown field", e.ana, designSpace("ZGZ", "Bad space", `{"name": "x", "factors": [], "dimensions": 3}`), 422, []string{"definition"}},
		{"wrong type", e.ana, designSpace("ZGZ", "Bad space", `{"name": "x", "factors": [{"name": "il2", "kind": "continuous", "low": "0"}]}`),
			422, []string{"definition"}},
		{"definition an array", e.ana, designSpace("ZGZ", "Bad space", `[]`), 422, []string{"definition"}},
		{"no definition", e.ana, &clink.DesignSpace{Site: "ZGZ", Name: "Bad space"}, 422, []string{"definition"}},
		{"own fields and the space together", e.ana, designSpace("ZGZ", "42", `{"name": "", "factors": [{"name": "il2", "kind": "continuous", "low": 0, "high": 1}]}`),
			422, []string{"name", "definition.name"}},
		{"no site", e.ana, designSpace("", "Bad space", nkSpace), 422, []string{"site"}},
		{"moved to another site", e.ana, designSpace("BCN", "NK cytokines", nkSpace), 422, []string{"site"}},
		{"name with a slash", e.ana, designSpace("ZGZ", "IL-2/IL-15", nkSpace), 422, []string{"name"}},
		{"taken version", e.ana, &clink.DesignSpace{Site: "ZGZ", Name: "NK cytokines", Version: 2, Definition: json.RawMessage(nkSpace)}, 409, nil},
		{"other site's researcher, new version", e.luis, designSpace("", "NK cytokines", nkSpace), 403, nil},
		{"other site's researcher, for the site", e.luis, designSpace("ZGZ", "Luis's space", nkSpace), 403, nil},
		{"viewer", e.vera, designSpace("ZGZ", "Vera's space", nkSpace), 403, nil},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.c.CreateDesignSpace(ctx, tc.d)
			p := wantProblem(t, err, tc.status, "")
			var fields []string
			for _, f := range p.Errors {
				fields = append(fields, f.Field)
			}
			if tc.fields != nil && !cmp.Equal(fields, tc.fields) {
				t.Errorf("field errors %v, want exactly %v", p.Errors, tc.fields)
			}
			if after := auditCount(t, e.srv.Store); after != before {
				t.Errorf("a refused create changed the audit trail from %d to %d events", before, after)
			}
		})
	}
	// A researcher of BCN may not move the name there, but saves spaces of BCN.
	other := must(e.luis.CreateDesignSpace(ctx, designSpace("BCN", "Feeder ratio", nkSpace)))(t)

	// Lists: by name, by site, void versions only when asked.
	list := func(q client.DesignSpaceQuery) []string {
		t.Helper()
		l := must(e.vera.ListDesignSpaces(ctx, q))(t)
		refs := []string{}
		for _, d := range l.Items {
			refs = append(refs, d.Ref())
		}
		if l.Total != len(refs) && q.Limit == 0 {
			t.Errorf("list %+v: total %d for %d items", q, l.Total, len(refs))
		}
		return refs
	}
	lists := []struct {
		q    client.DesignSpaceQuery
		want []string
	}{
		{client.DesignSpaceQuery{}, []string{"Feeder ratio@1", "NK cytokines@1", "NK cytokines@2"}},
		{client.DesignSpaceQuery{Name: "NK cytokines"}, []string{"NK cytokines@1", "NK cytokines@2"}},
		{client.DesignSpaceQuery{Site: "BCN"}, []string{"Feeder ratio@1"}},
		{client.DesignSpaceQuery{Limit: 1, Offset: 1}, []string{"NK cytokines@1"}},
	}
	for _, tc := range lists {
		if got := list(tc.q); !cmp.Equal(got, tc.want) {
			t.Errorf("list %+v: got %v, want %v", tc.q, got, tc.want)
		}
	}

	// Voiding: by a researcher of the space's site, with a reason, once.
	_, err := e.luis.VoidDesignSpace(ctx, v2.ID, "not ours")
	wantProblem(t, err, http.StatusForbidden, "")
	_, err = e.vera.VoidDesignSpace(ctx, v2.ID, "viewer")
	wantProblem(t, err, http.StatusForbidden, "")
	_, err = e.ana.VoidDesignSpace(ctx, v2.ID, "")
	wantProblem(t, err, http.StatusUnprocessableEntity, "reason")
	_, err = e.ana.VoidDesignSpace(ctx, 999, "gone")
	wantProblem(t, err, http.StatusNotFound, "")
	voided := must(e.ana.VoidDesignSpace(ctx, v2.ID, "IL-2 cap too low"))(t)
	if !voided.Voided || voided.VoidReason != "IL-2 cap too low" || voided.UpdatedBy != "ana" {
		t.Errorf("voided %+v, want void with the reason, by ana", voided)
	}
	_, err = e.ana.VoidDesignSpace(ctx, v2.ID, "again")
	wantProblem(t, err, http.StatusConflict, "")
	if got := must(e.vera.GetDesignSpaceByRef(ctx, "NK cytokines"))(t); got.ID != v1.ID {
		t.Errorf("bare name after voiding version 2: got %s, want NK cytokines@1", got.Ref())
	}
	if got := must(e.vera.GetDesignSpaceByRef(ctx, "NK cytokines@2"))(t); !got.Voided {
		t.Errorf("NK cytokines@2 after voiding: got %+v, want it void", got)
	}
	if got, want := list(client.DesignSpaceQuery{Name: "NK cytokines"}), []string{"NK cytokines@1"}; !cmp.Equal(got, want) {
		t.Errorf("list after voiding: got %v, want %v", got, want)
	}
	if got, want := list(client.DesignSpaceQuery{Name: "NK cytokines", IncludeVoided: true}), []string{"NK cytokines@1", "NK cytokines@2"}; !cmp.Equal(got, want) {
		t.Errorf("list with void versions: got %v, want %v", got, want)
	}
	// The next version follows the void one; the name stays at ZGZ.
	v3 := must(e.ana.CreateDesignSpace(ctx, designSpace("", "NK cytokines", nkSpace)))(t)
	if v3.Version != 3 || v3.Site != "ZGZ" {
		t.Errorf("version after a void one: got %s of %s, want NK cytokines@3 of ZGZ", v3.Ref(), v3.Site)
	}

	// Each version's history: its creation and its void, by ana. (The audit route does not list
	// design_space among its entities yet, so the store is asked.)
	events, _, err := e.srv.Store.FindAuditEvents(ctx, clink.AuditFilter{Entity: "design_space", EntityID: v2.ID})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range events {
		got = append(got, ev.Action+" by "+ev.Actor+" "+ev.Reason)
	}
	if want := []string{"create by ana ", "void by ana IL-2 cap too low"}; !cmp.Equal(got, want) {
		t.Errorf("history of NK cytokines@2: got %q, want %q", got, want)
	}
	if _, n, err := e.srv.Store.FindAuditEvents(ctx, clink.AuditFilter{Entity: "design_space", EntityID: other.ID}); err != nil || n != 1 {
		t.Errorf("history of Feeder ratio@1: %d events (%v), want 1", n, err)
	}
}

// TestDesignSpaceRefs checks names that need escaping in a path: spaces, a question mark, a
// percent sign and non-ASCII letters all reach the space they name, as do names that start
// with digits. (Names cannot hold a slash: see clink.DesignSpace.Validate.)
func TestDesignSpaceRefs(t *testing.T) {
	e := newDesignEnv(t)
	ctx := context.Background()
	for _, name := range []string{"IL-2 + IL-15 grid", "dose? or time", "a#b", "50% cytokines", "Células NK", "v2", "7a"} {
		d := must(e.ana.CreateDesignSpace(ctx, designSpace("ZGZ", name, nkSpace)))(t)
		for _, ref := range []string{name, d.Ref(), fmt.Sprint(d.ID)} {
			got, err := e.vera.GetDesignSpaceByRef(ctx, ref)
			if err != nil {
				t.Errorf("GET %q: %v", ref, err)
				continue
			}
			if got.ID != d.ID {
				t.Errorf("GET %q: got %s, want %s", ref, got.Ref(), d.Ref())
			}
		}
	}
}

// TestDesignSpaceListQuery checks the list's query parameters: unknown or malformed ones are
// 400, a bad site code 422.
func TestDesignSpaceListQuery(t *testing.T) {
	e := newDesignEnv(t)
	tok := e.srv.token(t, "reader", "ZGZ", clink.RoleViewer)
	tests := []struct {
		query  string
		status int
		field  string
	}{
		{"name=x&site=ZGZ&include_voided=true&limit=5&offset=0", 200, ""},
		{"include_voided=perhaps", 400, "include_voided"},
		{"limit=-1", 422, "limit"},
		{"offset=x", 400, "offset"},
		{"version=2", 400, "version"},
		{"site=zgz", 422, "site"},
	}
	for _, tc := range tests {
		status, _, body := do(t, e.srv.URL, "GET", "/api/v1/design-spaces?"+tc.query, tok, nil)
		if status != tc.status {
			t.Errorf("?%s: got status %d, want %d (%s)", tc.query, status, tc.status, body)
			continue
		}
		if tc.field != "" && !strings.Contains(string(body), `"field":"`+tc.field+`"`) {
			t.Errorf("?%s: got %s, want an error about %s", tc.query, body, tc.field)
		}
	}
}

// FuzzCreateDesignSpace posts arbitrary bytes as a design space's definition: whatever they
// are, the answer is never a 5xx, an error is a problem document and changes nothing, and a 201
// stores a definition that design.ParseSpace accepts, byte for byte as sent.
func FuzzCreateDesignSpace(f *testing.F) {
	for _, seed := range []string{nkSpace, `{"name": "x", "factors": []}`, `{"name": "x", "factors": [{"name": "a", "kind": "integer", "low": 1, "high": 2}]}`,
		`[]`, `null`, `"{}"`, `{"name": "x", "factors": [{"name": "a", "kind": "continuous", "low": 0, "high": 1, "scale": "log"}]}`,
		`{"name": "x", "factors": [{"name": "a", "kind": "categorical", "levels": ["p", "p"]}], "constraints": [{"terms": [], "bound": 1e400}]}`,
		"{\"name\": \"\xff\"}", `{`, ``} {
		f.Add([]byte(seed))
	}
	store := newStore(f)
	ctx := clink.WithActor(context.Background(), "fuzz")
	if err := store.CreateSite(ctx, &clink.Site{Code: "ZGZ", Name: "Zaragoza", Kind: clink.SiteLab}); err != nil {
		f.Fatal(err)
	}
	u := &clink.User{Username: "fuzzer", FullName: "Fuzz Researcher", Email: "fuzz@example.org", Site: "ZGZ", Roles: []string{clink.RoleResearcher}}
	if err := store.CreateUser(ctx, u, testPassword); err != nil {
		f.Fatal(err)
	}
	token, _, err := store.CreateToken(ctx, "fuzzer", "fuzz", time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	h := clinkhttp.NewServer(store, clinkhttp.Options{}).Handler()
	n := 0
	f.Fuzz(func(t *testing.T, def []byte) {
		n++
		body := append(append([]byte(fmt.Sprintf(`{"site": "ZGZ", "name": "fuzz %d", "definition": `, n)), def...), '}')
		before := auditCount(t, store)
		req := httptest.NewRequest("POST", "/api/v1/design-spaces", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch {
		case rec.Code >= 500:
			t.Fatalf("definition %q: got status %d, want no 5xx: %s", def, rec.Code, rec.Body)
		case rec.Code == http.StatusCreated:
			var d clink.DesignSpace
			if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil {
				t.Fatalf("definition %q: got 201 with %s: %v", def, rec.Body, err)
			}
			stored, err := store.FindDesignSpaceByID(context.Background(), d.ID)
			if err != nil {
				t.Fatal(err)
			}
			if sent := bytes.Trim(def, " \t\r\n"); !bytes.Equal(stored.Definition, sent) {
				t.Fatalf("definition %q: stored %q, want it as sent (%q)", def, stored.Definition, sent)
			}
			if _, err := design.ParseSpace(stored.Definition); err != nil {
				t.Fatalf("definition %q: stored, but design.ParseSpace refuses it: %v", def, err)
			}
		case rec.Code >= 400:
			var p clinkhttp.Problem
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("definition %q: got Content-Type %q, want application/problem+json", def, ct)
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != rec.Code {
				t.Fatalf("definition %q: got %s, want a problem with status %d", def, rec.Body, rec.Code)
			}
			if after := auditCount(t, store); after != before {
				t.Fatalf("definition %q: refused with %d, but the audit trail grew from %d to %d", def, rec.Code, before, after)
			}
		default:
			t.Fatalf("definition %q: got status %d, want 201 or an error", def, rec.Code)
		}
	})
}
