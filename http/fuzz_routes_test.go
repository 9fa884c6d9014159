package http_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/clink-consortium/clink"
	clinkhttp "github.com/clink-consortium/clink/http"
)

// routeFuzzer is a server with a record of each kind and a user holding every role at the
// records' site, so that fuzzed requests reach the handlers rather than the permission check.
type routeFuzzer struct {
	h      http.Handler
	token  string
	routes []clinkhttp.Route
	ids    map[string]string // path parameter -> a value that names an existing record
}

func newRouteFuzzer(tb testing.TB) *routeFuzzer {
	tb.Helper()
	store := newStore(tb)
	ctx := clink.WithActor(context.Background(), "fuzz")
	must := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	must(store.CreateSite(ctx, &clink.Site{Code: "MPL", Name: "Montpellier", Kind: clink.SiteHospital}))
	must(store.CreateComponent(ctx, &clink.Component{Site: "MPL", Name: "IL-2", Category: clink.CategoryCytokine, Unit: clink.UnitIUPerML}))
	d := &clink.Donor{Site: "MPL", ConsentDate: "2025-01-01"}
	must(store.CreateDonor(ctx, d))
	p := protocolIL2("MPL", "fuzz")
	must(store.CreateProtocol(ctx, p))
	c := &clink.Culture{Site: "MPL", DonorID: d.ID, ProtocolID: p.ID, StartDate: "2025-01-02", StartingCells: 1e6, StartingNKPct: 50}
	must(store.CreateCulture(ctx, c))
	o := &clink.Observation{CultureID: c.ID, Day: 7, ViableCells: 2e7}
	must(store.CreateObservation(ctx, o))
	pt := &clink.Patient{Hospital: "MPL"}
	must(store.CreatePatient(ctx, pt))
	all := []string{clink.RoleAdmin, clink.RoleResearcher, clink.RoleQA, clink.RoleQP, clink.RoleClinician, clink.RoleOperator}
	must(store.CreateUser(ctx, &clink.User{Username: "fuzzer", FullName: "Fuzz", Email: "f@example.org", Site: "MPL", Roles: all}, testPassword))
	token, _, err := store.CreateToken(ctx, "fuzzer", "fuzz", time.Hour)
	must(err)
	srv := clinkhttp.NewServer(store, clinkhttp.Options{})
	return &routeFuzzer{h: srv.Handler(), token: token, routes: srv.Routes(), ids: map[string]string{
		"{id}": itoa(c.ID), "{code}": "MPL", "{ref}": "1", "{sha256}": strings.Repeat("0", 64), "{bag}": "1",
	}}
}

// do sends a request to route i (modulo the table) with the query and body, and fails on a 5xx
// or an error that is not a problem document.
func (rf *routeFuzzer) do(t *testing.T, i uint8, query string, body []byte) {
	rt := rf.routes[int(i)%len(rf.routes)]
	path := rt.Pattern
	for k, v := range rf.ids {
		path = strings.ReplaceAll(path, k, v)
	}
	req := httptest.NewRequest(rt.Method, path, bytes.NewReader(body))
	req.URL.RawQuery = query
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+rf.token)
	rec := httptest.NewRecorder()
	rf.h.ServeHTTP(rec, req)
	if rec.Code >= 500 && !(rt.Name == "getReadiness" && rec.Code == 503) {
		t.Fatalf("%s %s?%q body %q: got status %d, want no 5xx: %.300s", rt.Method, path, query, body, rec.Code, rec.Body)
	}
	if rec.Code >= 400 && rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("%s %s?%q: status %d with Content-Type %q, want a problem document", rt.Method, path, query, rec.Code, rec.Header().Get("Content-Type"))
	}
}

// FuzzAPIBodies sends arbitrary bodies to every route of the API (issue 9: no input may crash the
// server): the answer is never a 5xx, and an error is a problem document.
func FuzzAPIBodies(f *testing.F) {
	for i, body := range []string{`{}`, `{"site": "MPL", "name": "x"}`, `{"reason": ""}`, `[]`, `null`, `{"day": 1e400}`,
		`{"values": {"a": 1}, "step": "receipt"}`, `{"meaning": "released", "password": ""}`, "\x00\xff", `{"a":`} {
		f.Add(uint8(i*7), []byte(body))
	}
	rf := newRouteFuzzer(f)
	f.Fuzz(func(t *testing.T, i uint8, body []byte) { rf.do(t, i, "", body) })
}

// FuzzAPIQuery sends arbitrary query strings to every route of the API: never a 5xx.
func FuzzAPIQuery(f *testing.F) {
	for i, q := range []string{"limit=-1", "offset=99999999999999999999", "site=' OR '1'='1", "day=1e400&metric=lu30",
		"protocol=a&protocol=b", "status=%00", "name=%ff%fe", "include_voided=maybe", "to=0", "hospital=MPL&patient_id=x"} {
		f.Add(uint8(i*5), q)
	}
	rf := newRouteFuzzer(f)
	f.Fuzz(func(t *testing.T, i uint8, q string) { rf.do(t, i, q, nil) })
}
