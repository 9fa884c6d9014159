package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clink-consortium/clink"
	clinkhttp "github.com/clink-consortium/clink/http"
	"github.com/clink-consortium/clink/internal/pgtest"
	"github.com/clink-consortium/clink/sqldb"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// The subjects of the permission matrix: no credentials, a revoked token, and a user of each
// role at the site of the records the requests touch ("own", BCN) and at another site
// ("other", MPL). Both sites are hospitals, so that clinicians can belong to them.
const (
	ownSite   = "BCN"
	otherSite = "MPL"
	noToken   = "no token"
	revoked   = "revoked token"
)

func subjectName(role, where string) string { return role + "@" + where }

// admits says, for each kind of rule, which subjects may use a route. It is written from the
// rules of issue 3 and issue 8 (docs/api.md), not computed from the server's rule function:
//   - public: the health check and the OpenAPI documents need no credentials;
//   - read: research data is readable by every enabled user of every role and site;
//   - admin: creating a site, admins only;
//   - component: creating a component, admins, or a researcher of the component's site;
//   - research: other writes, a researcher of the record's site only (admin, viewer, qa, qp
//     and clinician never write research data).
var admits = map[string][]string{
	"public": {noToken, revoked,
		"admin@own", "admin@other", "researcher@own", "researcher@other", "viewer@own", "viewer@other",
		"qa@own", "qa@other", "qp@own", "qp@other", "clinician@own", "clinician@other", "operator@own", "operator@other"},
	"read": {"admin@own", "admin@other", "researcher@own", "researcher@other", "viewer@own", "viewer@other",
		"qa@own", "qa@other", "qp@own", "qp@other", "clinician@own", "clinician@other", "operator@own", "operator@other"},
	"admin":     {"admin@own", "admin@other"},
	"component": {"admin@own", "admin@other", "researcher@own"},
	"research":  {"researcher@own"},
	// Manufacturing (issue 8, gmp.md §1.2): records are read by operators, QA, QPs, clinicians
	// and admins, never by research roles; an operator of the batch's site manufactures; QA
	// and QPs sign; a clinician of the patient's hospital writes patients and requests; custody
	// scans by the batch's operators or the patient's clinicians; admins revise
	// specifications.
	"gmp-read": {"admin@own", "admin@other", "qa@own", "qa@other", "qp@own", "qp@other",
		"clinician@own", "clinician@other", "operator@own", "operator@other"},
	"manufacture": {"operator@own"},
	"sign":        {"qa@own", "qa@other", "qp@own", "qp@other"},
	"clinical":    {"clinician@own"},
	"custody":     {"operator@own", "clinician@own"},
	"spec":        {"admin@own", "admin@other"},
}

// matrixRule is the expectation for one route: the kind of rule and the status of success.
type matrixRule struct {
	kind string
	ok   int
}

// matrix has one entry per route of the route table; a route missing here fails the test.
var matrix = map[string]matrixRule{
	// Flow cytometry: reading needs what reading observations needs, writing what writing them
	// needs (docs/api.md); flowMatrixEnv (flow_test.go) makes their requests.
	"listObservationFCS":   {"read", 200},
	"attachFCS":            {"research", 201},
	"listGatingTemplates":  {"read", 200},
	"createGatingTemplate": {"research", 201},
	"getGatingTemplate":    {"read", 200},
	"updateGatingTemplate": {"research", 200},
	"voidGatingTemplate":   {"research", 200},
	"getFCSFile":           {"read", 200},

	// Design spaces: read by everyone, written by a researcher of the space's site;
	// designSpaceRequest (designspaces_test.go) makes their requests.
	"listDesignSpaces":  {"read", 200},
	"createDesignSpace": {"research", 201},
	"getDesignSpace":    {"read", 200},
	"voidDesignSpace":   {"research", 200},

	// The optimizer: suggestions only compute, so every user may ask; a draft is a protocol
	// version of the base protocol's site. optimizerMatrixRequest (optimizer_test.go) makes
	// their requests.
	"createSuggestions": {"read", 200},
	"createDraft":       {"research", 201},

	"getHealth":      {"public", 200},
	"getLiveness":    {"public", 200},
	"getReadiness":   {"public", 200},
	"getMetrics":     {"read", 200},
	"getOpenAPIYAML": {"public", 200},
	"getOpenAPIJSON": {"public", 200},

	"listSites":  {"read", 200},
	"createSite": {"admin", 201},
	"getSite":    {"read", 200},

	"listDonors":  {"read", 200},
	"createDonor": {"research", 201},
	"getDonor":    {"read", 200},
	"updateDonor": {"research", 200},

	"listComponents":  {"read", 200},
	"createComponent": {"component", 201},
	"getComponent":    {"read", 200},

	"listProtocols":         {"read", 200},
	"createProtocol":        {"research", 201},
	"getProtocol":           {"read", 200},
	"updateProtocol":        {"research", 200},
	"createProtocolVersion": {"research", 201},
	"diffProtocols":         {"read", 200},

	"listCultures":            {"read", 200},
	"createCulture":           {"research", 201},
	"getCulture":              {"read", 200},
	"setCultureStatus":        {"research", 200},
	"listCultureObservations": {"read", 200},
	"createObservation":       {"research", 201},
	"getCultureMetrics":       {"read", 200},
	"listCultureAssays":       {"read", 200},
	"createAssay":             {"research", 201},

	"getObservation":    {"read", 200},
	"updateObservation": {"research", 200},
	"voidObservation":   {"research", 200},

	"listAssays": {"read", 200},
	"getAssay":   {"read", 200},

	"compareProtocols": {"read", 200},
	"rankProtocols":    {"read", 200},

	"listAuditEvents": {"read", 200},

	// Manufacturing; mfgSetup.request (batches_test.go) makes their requests.
	"listPatients":           {"gmp-read", 200},
	"createPatient":          {"clinical", 201},
	"getPatient":             {"gmp-read", 200},
	"listTreatmentRequests":  {"gmp-read", 200},
	"createTreatmentRequest": {"clinical", 201},
	"getTreatmentRequest":    {"gmp-read", 200},
	"listReleaseSpecs":       {"gmp-read", 200},
	"createReleaseSpec":      {"spec", 201},
	"getReleaseSpec":         {"gmp-read", 200},
	"listBatches":            {"gmp-read", 200},
	"createBatch":            {"manufacture", 201},
	"getBatch":               {"gmp-read", 200},
	"recordStep":             {"manufacture", 201},
	"recordResult":           {"manufacture", 201},
	"raiseDeviation":         {"manufacture", 201},
	"signBatch":              {"sign", 201},
	"scanBatch":              {"custody", 201},
	"getCertificate":         {"gmp-read", 200},
	"getLabel":               {"gmp-read", 200},

	// The web pages (UIRoutes) are entered by uiMatrix (ui_matrix_test.go), with their requests.
	// A page for signed-in users sends a visitor who is not to /login (303) instead of
	// answering 401.
}

// unaudited names the state-changing routes that may succeed without an audit event, and why.
var unaudited = map[string]string{
	"logout":            "a caller signed in by API token has no session to end",
	"createSuggestions": "it computes a plan and stores nothing",
}

// matrixEnv holds the records the matrix requests read, and makes fresh ones for the writes,
// so that every write meets a record in the same state whoever sends it.
type matrixEnv struct {
	tb      testing.TB
	store   clink.Store
	ctx     context.Context
	n       int
	donor   *clink.Donor
	proto   *clink.Protocol
	culture *clink.Culture
	obs     *clink.Observation
	assay   *clink.Assay
	comp    *clink.Component
	compare string // the path of the comparison request, made once
}

func (e *matrixEnv) next() int { e.n++; return e.n }

func (e *matrixEnv) check(err error) {
	e.tb.Helper()
	if err != nil {
		e.tb.Fatalf("set up: %v", err)
	}
}

func (e *matrixEnv) newDonor() *clink.Donor {
	e.tb.Helper()
	d := &clink.Donor{Site: ownSite, HCMV: clink.HCMVPositive, ConsentDate: "2025-01-15"}
	e.check(e.store.CreateDonor(e.ctx, d))
	return d
}

func (e *matrixEnv) newProtocol() *clink.Protocol {
	e.tb.Helper()
	p := protocolIL2(ownSite, fmt.Sprintf("matrix protocol %d", e.next()))
	e.check(e.store.CreateProtocol(e.ctx, p))
	return p
}

func (e *matrixEnv) newCulture() *clink.Culture {
	e.tb.Helper()
	c := &clink.Culture{Site: ownSite, DonorID: e.newDonor().ID, ProtocolID: e.proto.ID, StartDate: "2025-03-01",
		StartingCells: 1e6, StartingNKPct: 90}
	e.check(e.store.CreateCulture(e.ctx, c))
	return c
}

func (e *matrixEnv) newObservation() *clink.Observation {
	e.tb.Helper()
	c := e.newCulture()
	o := &clink.Observation{CultureID: c.ID, Site: c.Site, Day: 7, ViableCells: 2e7, NKPct: ptr(80.0)}
	e.check(e.store.CreateObservation(e.ctx, o))
	return o
}

func crAssay() *clink.Assay {
	return &clink.Assay{Day: 14, Target: clink.TargetK562, Method: clink.MethodCr51, TargetsPerWell: 5000, DurationHours: 4,
		Points:      []clink.AssayPoint{{ETRatio: 10, Readings: []float64{1400, 1400, 1400}}},
		Spontaneous: []float64{350, 350, 350}, Maximum: []float64{2500, 2500, 2500}}
}

// request returns the path and body of a request to the route named name; writes get fresh
// records. A route without a request here fails the test.
func (e *matrixEnv) request(name string) (path string, body any, ok bool) {
	e.tb.Helper()
	id := func(prefix string, id int64) string { return fmt.Sprintf("/api/v1/%s/%d", prefix, id) }
	switch name {
	case "getHealth":
		return "/api/v1/healthz", nil, true
	case "getLiveness":
		return "/healthz", nil, true
	case "getReadiness":
		return "/readyz", nil, true
	case "getMetrics":
		return "/metrics", nil, true
	case "getOpenAPIYAML":
		return "/api/v1/openapi.yaml", nil, true
	case "getOpenAPIJSON":
		return "/api/v1/openapi.json", nil, true
	case "listSites":
		return "/api/v1/sites", nil, true
	case "createSite":
		n := e.next()
		code := fmt.Sprintf("Q%c%c", 'A'+n/26%26, 'A'+n%26)
		return "/api/v1/sites", clink.Site{Code: code, Name: "Matrix site " + code, Kind: clink.SiteLab}, true
	case "getSite":
		return "/api/v1/sites/" + ownSite, nil, true
	case "listDonors":
		return "/api/v1/donors", nil, true
	case "createDonor":
		return "/api/v1/donors", clink.Donor{Site: ownSite, HCMV: clink.HCMVNegative, ConsentDate: "2025-02-01"}, true
	case "getDonor":
		return id("donors", e.donor.ID), nil, true
	case "updateDonor":
		d := e.newDonor()
		d.HCMV = clink.HCMVNegative
		return id("donors", d.ID), struct {
			*clink.Donor
			Reason string `json:"reason"`
		}{d, "serology repeated"}, true
	case "listComponents":
		return "/api/v1/components", nil, true
	case "createComponent":
		return "/api/v1/components", clink.Component{Site: ownSite, Name: fmt.Sprintf("IL-15 lot %d", e.next()),
			Category: clink.CategoryCytokine, Unit: clink.UnitNgPerML}, true
	case "getComponent":
		return id("components", e.comp.ID), nil, true
	case "listProtocols":
		return "/api/v1/protocols", nil, true
	case "createProtocol":
		return "/api/v1/protocols", protocolIL2(ownSite, fmt.Sprintf("new protocol %d", e.next())), true
	case "getProtocol":
		return id("protocols", e.proto.ID), nil, true
	case "updateProtocol":
		p := e.newProtocol()
		p.Description = "edited"
		return id("protocols", p.ID), struct {
			*clink.Protocol
			Reason string `json:"reason"`
		}{p, "wording"}, true
	case "createProtocolVersion":
		p := protocolIL2("", "")
		p.DurationDays = 14
		return id("protocols", e.newProtocol().ID) + "/versions", p, true
	case "diffProtocols":
		return fmt.Sprintf("%s/diff?to=%d", id("protocols", e.proto.ID), e.proto.ID), nil, true
	case "listCultures":
		return "/api/v1/cultures", nil, true
	case "createCulture":
		return "/api/v1/cultures", clink.Culture{Site: ownSite, DonorID: e.newDonor().ID, ProtocolID: e.proto.ID,
			StartDate: "2025-03-01", StartingCells: 1e6, StartingNKPct: 90}, true
	case "getCulture":
		return id("cultures", e.culture.ID), nil, true
	case "setCultureStatus":
		return id("cultures", e.newCulture().ID) + "/status", clink.CultureStatusChange{Status: clink.StatusStopped, Reason: "contaminated"}, true
	case "listCultureObservations":
		return id("cultures", e.culture.ID) + "/observations", nil, true
	case "createObservation":
		return id("cultures", e.newCulture().ID) + "/observations", clink.Observation{Day: 7, ViableCells: 2e7}, true
	case "getCultureMetrics":
		return id("cultures", e.culture.ID) + "/metrics", nil, true
	case "listCultureAssays":
		return id("cultures", e.culture.ID) + "/assays", nil, true
	case "createAssay":
		return id("cultures", e.newCulture().ID) + "/assays", crAssay(), true
	case "getObservation":
		return id("observations", e.obs.ID), nil, true
	case "updateObservation":
		o := e.newObservation()
		o.ViableCells = 2.5e7
		return id("observations", o.ID), struct {
			*clink.Observation
			Reason string `json:"reason"`
		}{o, "count re-read"}, true
	case "voidObservation":
		return id("observations", e.newObservation().ID) + "/void", map[string]string{"reason": "wrong flask"}, true
	case "listAssays":
		return "/api/v1/assays", nil, true
	case "getAssay":
		return id("assays", e.assay.ID), nil, true
	case "compareProtocols":
		return e.comparePath(), nil, true
	case "rankProtocols":
		return "/api/v1/analysis/ranking", nil, true
	case "listAuditEvents":
		return "/api/v1/audit", nil, true
	}
	if req, ok := uiMatrix[name]; ok {
		path, body := req.request(e)
		return path, body, true
	}
	if path, body, ok := designSpaceRequest(e, name); ok {
		return path, body, true
	}
	if path, body, ok := optimizerMatrixRequest(e, name); ok {
		return path, body, true
	}
	return "", nil, false
}

// comparePath returns a comparison of the matrix protocol with a second one on day 7, after
// giving both a culture of one donor with an NK count that day (once).
func (e *matrixEnv) comparePath() string {
	e.tb.Helper()
	if e.compare != "" {
		return e.compare
	}
	donor, second := e.newDonor(), e.newProtocol()
	for _, p := range []*clink.Protocol{e.proto, second} {
		c := &clink.Culture{Site: ownSite, DonorID: donor.ID, ProtocolID: p.ID, StartDate: "2025-03-01",
			StartingCells: 1e6, StartingNKPct: 90}
		e.check(e.store.CreateCulture(e.ctx, c))
		e.check(e.store.CreateObservation(e.ctx, &clink.Observation{CultureID: c.ID, Site: ownSite, Day: 7,
			ViableCells: 2e7, NKPct: ptr(80.0)}))
	}
	e.compare = "/api/v1/analysis/compare?" + neturl.Values{"protocol": {e.proto.Name, second.Name}, "day": {"7"}}.Encode()
	return e.compare
}

// auditCount is the number of audit events: every write adds at least one.
func auditCount(tb testing.TB, store clink.Store) int {
	tb.Helper()
	_, n, err := store.FindAuditEvents(context.Background(), clink.AuditFilter{Page: clink.Page{Limit: 1}})
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// matrixLogin is the user whom the matrix's sign-in requests sign in.
const matrixLogin = "matrix-login"

// noRedirects is a client that returns redirects instead of following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// do sends one request with an optional bearer token and returns the status and body. A body
// of url.Values is sent as a form, any other as JSON. Redirects are not followed.
func do(tb testing.TB, url, method, path, token string, body any) (int, http.Header, []byte) {
	tb.Helper()
	var rd io.Reader
	form, isForm := body.(neturl.Values)
	if isForm {
		rd = strings.NewReader(form.Encode())
	} else if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			tb.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url+path, rd)
	if err != nil {
		tb.Fatal(err)
	}
	switch {
	case isForm:
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	case body != nil:
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, data
}

// TestPermissionMatrix sends every route of the route table as every subject and checks the
// status against the matrix; a refused write must leave the audit trail (and so the data)
// as it was. It runs on SQLite and, when available, on PostgreSQL.
func TestPermissionMatrix(t *testing.T) {
	stores := map[string]func(t *testing.T) clink.Store{
		"sqlite": func(t *testing.T) clink.Store { return newStore(t) },
		"postgres": func(t *testing.T) clink.Store {
			ctx := context.Background()
			store, err := sqldb.Open(ctx, pgtest.DSN(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { store.Close() })
			if err := store.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			return store
		},
	}
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) { testPermissionMatrix(t, stores[db](t)) })
	}
}

func testPermissionMatrix(t *testing.T, store clink.Store) {
	srv := newSpecServerOn(t, store)
	ctx := clink.WithActor(context.Background(), "setup")
	e := &matrixEnv{tb: t, store: store, ctx: ctx}
	for _, s := range []clink.Site{
		{Code: "ZGZ", Name: "Universidad de Zaragoza", Kind: clink.SiteLab},
		{Code: ownSite, Name: "Hospital Clínic Barcelona", Kind: clink.SiteHospital},
		{Code: otherSite, Name: "CHU de Montpellier", Kind: clink.SiteHospital},
	} {
		e.check(store.CreateSite(ctx, &s))
	}
	e.comp = &clink.Component{Site: "ZGZ", Name: "IL-2", Category: clink.CategoryCytokine, Unit: clink.UnitIUPerML}
	e.check(store.CreateComponent(ctx, e.comp))
	e.donor = e.newDonor()
	e.proto = e.newProtocol()
	e.culture = e.newCulture()
	e.obs = &clink.Observation{CultureID: e.culture.ID, Site: ownSite, Day: 7, ViableCells: 2e7}
	e.check(store.CreateObservation(ctx, e.obs))
	e.assay = crAssay()
	e.assay.CultureID, e.assay.Site = e.culture.ID, ownSite
	e.check(store.CreateAssay(ctx, e.assay))
	fm := newFlowMatrixEnv(e)
	mm := newMfgSetup(e)

	tokens := map[string]string{noToken: ""}
	for _, role := range clink.Roles {
		for where, site := range map[string]string{"own": ownSite, "other": otherSite} {
			name := subjectName(role, where)
			tokens[name] = srv.token(t, strings.NewReplacer("@", "-").Replace(name), site, role)
		}
	}
	tokens[revoked] = srv.token(t, "revoked-researcher", ownSite, clink.RoleResearcher)
	if _, err := store.RevokeToken(ctx, clink.TokenRef{Prefix: tokens[revoked][:clink.TokenPrefixLength]}, "lost"); err != nil {
		t.Fatal(err)
	}
	login := &clink.User{Username: matrixLogin, FullName: "Matrix Login", Email: "ml@example.org", Roles: []string{clink.RoleViewer}}
	e.check(store.CreateUser(ctx, login, testPassword))
	// The web pages are not API operations, so they are served without the OpenAPI checks.
	pages := httptest.NewServer(clinkhttp.NewServer(store, clinkhttp.Options{}).Handler())
	t.Cleanup(pages.Close)

	subjects := make([]string, 0, len(tokens))
	for name := range tokens {
		subjects = append(subjects, name)
	}
	slices.Sort(subjects)

	table := clinkhttp.NewServer(nil, clinkhttp.Options{})
	isPage := map[string]bool{}
	for _, rt := range table.UIRoutes() {
		isPage[rt.Name] = true
	}
	routes := append(table.Routes(), table.UIRoutes()...)
	seen := map[string]bool{}
	for _, rt := range routes {
		seen[rt.Name] = true
		rule, ok := matrix[rt.Name]
		if !ok {
			t.Errorf("route %s %s (%s) has no entry in the permission matrix", rt.Method, rt.Pattern, rt.Name)
			continue
		}
		if _, ok := admits[rule.kind]; !ok {
			t.Fatalf("route %s: unknown kind of rule %q", rt.Name, rule.kind)
		}
		for _, subject := range subjects {
			t.Run(rt.Name+"/"+subject, func(t *testing.T) {
				path, body, ok := e.request(rt.Name)
				if !ok {
					path, body, ok = fm.request(rt.Name)
				}
				if !ok {
					path, body, ok = mm.request(rt.Name, subject)
				}
				if !ok {
					t.Fatalf("route %s has no request in the matrix test", rt.Name)
				}
				want := rule.ok
				switch {
				case slices.Contains(admits[rule.kind], subject):
				case (subject == noToken || subject == revoked) && isPage[rt.Name]:
					want = http.StatusSeeOther
				case subject == noToken || subject == revoked:
					want = http.StatusUnauthorized
				default:
					want = http.StatusForbidden
				}
				before := auditCount(t, store)
				base := srv.URL
				if isPage[rt.Name] {
					base = pages.URL
				}
				status, header, data := doBody(t, base, rt.Method, path, tokens[subject], body)
				after := auditCount(t, store)
				if status != want {
					t.Fatalf("%s %s as %s: got status %d, want %d (body %s)", rt.Method, path, subject, status, want, data)
				}
				if status >= 400 && after != before {
					t.Errorf("%s %s as %s: refused with %d, but the audit trail grew from %d to %d events", rt.Method, path, subject, status, before, after)
				}
				// A page sends a visitor who is not signed in to /login: nothing was accepted.
				toLogin := isPage[rt.Name] && (subject == noToken || subject == revoked)
				if _, exempt := unaudited[rt.Name]; !exempt && !toLogin && rt.Method != "GET" && status < 400 && after <= before {
					t.Errorf("%s %s as %s: accepted with %d, but no audit event was written", rt.Method, path, subject, status)
				}
				if status == http.StatusUnauthorized && header.Get("WWW-Authenticate") != `Bearer realm="clink"` {
					t.Errorf("got WWW-Authenticate %q, want %q", header.Get("WWW-Authenticate"), `Bearer realm="clink"`)
				}
			})
		}
	}
	for name := range matrix {
		if !seen[name] {
			t.Errorf("the permission matrix names %s, which is not a route", name)
		}
	}
}

// TestAuthentication checks that every way of failing to authenticate gets the same 401
// problem with the bearer challenge, that the one message reveals nothing, and that an active
// token of an enabled user is let in.
func TestAuthentication(t *testing.T) {
	srv := newSpecServer(t)
	ctx := clink.WithActor(context.Background(), "setup")
	store := srv.Store
	if err := store.CreateSite(ctx, &clink.Site{Code: "ZGZ", Name: "Universidad de Zaragoza", Kind: clink.SiteLab}); err != nil {
		t.Fatal(err)
	}
	good := srv.token(t, "ana", "ZGZ", clink.RoleResearcher)
	revokedToken := srv.token(t, "luis", "ZGZ", clink.RoleResearcher)
	if _, err := store.RevokeToken(ctx, clink.TokenRef{Prefix: revokedToken[:clink.TokenPrefixLength]}, "lost"); err != nil {
		t.Fatal(err)
	}
	disabledToken := srv.token(t, "eva", "ZGZ", clink.RoleViewer)
	if _, err := store.DisableUser(ctx, "eva", "left"); err != nil {
		t.Fatal(err)
	}
	expired, _, err := store.CreateToken(ctx, "ana", "short", time.Nanosecond)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Millisecond) // makes sure the nanosecond token is past its expiry
	tests := []struct {
		name    string
		headers []string // Authorization header values
		want    int
	}{
		{"no header", nil, 401},
		{"basic scheme", []string{"Basic YWxhZGRpbjpvcGVuc2VzYW1l"}, 401},
		{"bearer without token", []string{"Bearer"}, 401},
		{"bearer with blank token", []string{"Bearer   "}, 401},
		{"token with bad characters", []string{"Bearer ab$cd%ef<gh>"}, 401},
		{"unknown token", []string{"Bearer " + strings.Repeat("a", 52)}, 401},
		{"revoked token", []string{"Bearer " + revokedToken}, 401},
		{"expired token", []string{"Bearer " + expired}, 401},
		{"disabled user", []string{"Bearer " + disabledToken}, 401},
		{"two headers", []string{"Bearer " + good, "Bearer " + good}, 401},
		{"huge token", []string{"Bearer " + strings.Repeat("a", 5000)}, 401},
		{"active token", []string{"Bearer " + good}, 200},
		{"scheme in lower case", []string{"bearer " + good}, 200},
	}
	var detail string
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.URL+"/api/v1/donors", nil)
			for _, h := range tc.headers {
				req.Header.Add("Authorization", h)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("got status %d, want %d", resp.StatusCode, tc.want)
			}
			if tc.want != 401 {
				return
			}
			if got := resp.Header.Get("WWW-Authenticate"); got != `Bearer realm="clink"` {
				t.Errorf("got WWW-Authenticate %q, want %q", got, `Bearer realm="clink"`)
			}
			var p clinkhttp.Problem
			if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
				t.Fatal(err)
			}
			if detail == "" {
				detail = p.Detail
			}
			if p.Detail != detail || !strings.Contains(p.Detail, "Bearer") {
				t.Errorf("got detail %q, want the one message %q, which says how to authenticate", p.Detail, detail)
			}
		})
	}
}

// TestBodyCannotMoveSite checks that a researcher cannot slip a record into another site
// through the body of a write on a record of their own site: refused with 422 naming site,
// and nothing changes.
func TestBodyCannotMoveSite(t *testing.T) {
	f := newFixture(t)
	before := auditCount(t, f.srv.Store)
	p := protocolIL2("BCN", "IL-2 high dose") // the name of a ZGZ protocol
	_, err := f.c.CreateProtocol(f.ctx, p)
	wantProblem(t, err, 422, "site")
	_, err = f.c.CreateProtocolVersion(f.ctx, f.protocol.ID, protocolIL2("BCN", ""))
	wantProblem(t, err, 422, "site")
	// As BCN's researcher, the same requests are forbidden: the protocol is ZGZ's.
	_, err = f.bcn.CreateProtocol(f.ctx, p)
	wantProblem(t, err, 403, "")
	_, err = f.bcn.CreateProtocolVersion(f.ctx, f.protocol.ID, protocolIL2("BCN", ""))
	wantProblem(t, err, 403, "")
	unused := must(f.c.CreateProtocol(f.ctx, protocolIL2("ZGZ", "unused")))(t)
	before = auditCount(t, f.srv.Store)
	unused.Site = "BCN"
	_, err = f.c.UpdateProtocol(f.ctx, unused, "move it")
	wantProblem(t, err, 422, "site")
	if after := auditCount(t, f.srv.Store); after != before {
		t.Errorf("got %d audit events after refused writes, want %d", after, before)
	}
}

// TestSpecSecurity checks that the OpenAPI document says what the route table enforces: the
// bearer scheme is required globally, public routes override it with an empty security list,
// every other operation documents 401, and every write documents 403.
func TestSpecSecurity(t *testing.T) {
	doc := loadSpec(t)
	if len(doc.Security) != 1 || doc.Security[0]["bearerAuth"] == nil {
		t.Errorf("got global security %v, want bearerAuth", doc.Security)
	}
	if ss := doc.Components.SecuritySchemes["bearerAuth"]; ss == nil || ss.Value.Type != "http" || ss.Value.Scheme != "bearer" {
		t.Errorf("got security scheme %v, want http bearer", ss)
	}
	for _, rt := range clinkhttp.NewServer(nil, clinkhttp.Options{}).Routes() {
		item := doc.Paths.Value(rt.Pattern)
		if item == nil || item.GetOperation(rt.Method) == nil {
			continue // reported by TestRoutesMatchSpec
		}
		op := item.GetOperation(rt.Method)
		public := rt.Perm == clinkhttp.PermPublic
		if got := op.Security != nil && len(*op.Security) == 0; got != public {
			t.Errorf("%s: got security: [] %v, want %v", rt.Name, got, public)
		}
		if got := op.Responses.Value("401") != nil; got == public {
			t.Errorf("%s: got a 401 response %v, want %v", rt.Name, got, !public)
		}
		// A write is a route that needs more than reading; POST /optimizer/suggestions only
		// computes, for every user, and is never refused with 403.
		write := rt.Perm != clinkhttp.PermPublic && rt.Perm != clinkhttp.PermRead
		if got := op.Responses.Value("403") != nil; got != write {
			t.Errorf("%s: got a 403 response %v, want %v", rt.Name, got, write)
		}
	}
}
