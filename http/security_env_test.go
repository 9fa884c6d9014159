package http_test

// The hostile-input tests of issue 9, in the files security_*_test.go: stored and reflected
// cross-site scripting (security_xss_test.go), SQL injection in every filter and path
// (security_sqli_test.go), cross-site request forgery and the session cookie
// (security_csrf_test.go), session fixation and sign-out (security_session_test.go), path
// traversal in downloads (security_traversal_test.go), and the limits on bodies, forms,
// uploads and imports (security_limits_test.go). This file holds their shared fixture: a
// server over a store holding a record of every kind, whose free-text fields hold the text
// the test chooses (hostile text for the cross-site scripting tests).

import (
	"bytes"
	"context"
	"crypto/tls"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/flow"
	"github.com/clink-consortium/clink/gmp"
	clinkhttp "github.com/clink-consortium/clink/http"
	"github.com/clink-consortium/clink/manufacturing"
	"github.com/clink-consortium/clink/sqldb"
)

// The site of the fixture's records (a hospital, so that its clinicians and its GMP unit
// belong to it), another hospital and a laboratory.
const (
	secSite      = "BCN"
	secOtherSite = "MPL"
	secLab       = "ZGZ"
)

// The fixture's users, all with the password testPassword. secRoot holds every role at
// secSite, so that one user may send every request of the route tables.
const (
	secRoot        = "sec-root"
	secResearcher  = "sec-researcher"
	secViewer      = "sec-viewer"
	secClinician   = "sec-clinician"
	secOperator    = "sec-operator"
	secQA          = "sec-qa"
	secQP          = "sec-qp"
	secAdmin       = "sec-admin"
	secOther       = "sec-other"         // a researcher of secOtherSite
	secClinicianMP = "sec-clinician-mpl" // a clinician of secOtherSite: sees no identity of secSite's patients
)

// openStore opens and migrates the store of dsn (a SQLite path or a PostgreSQL URL).
func openStore(tb testing.TB, dsn string) *sqldb.Store {
	tb.Helper()
	ctx := context.Background()
	store, err := sqldb.Open(ctx, dsn)
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { store.Close() })
	if err := store.Migrate(ctx); err != nil {
		tb.Fatalf("migrate store: %v", err)
	}
	return store
}

// secEnv is a server of the API and the web pages on 127.0.0.1 over one store, with the
// fixture's sites, users and (after seed) records.
type secEnv struct {
	tb     testing.TB
	store  *sqldb.Store
	server *clinkhttp.Server
	srv    *httptest.Server
	ctx    context.Context
	svc    *manufacturing.Service
	tokens map[string]string // username -> API token
	dbPath string            // the SQLite file of a fixture (newSecFixture)

	// The records seed writes, all of secSite unless said otherwise.
	lab                    *clink.Site
	il2, comp              *clink.Component
	proto, proto2, protoV2 *clink.Protocol // proto2 is a second protocol, protoV2 proto's version 2
	donor                  *clink.Donor
	culture, stopped       *clink.Culture // culture is completed (observations on days 0 to 10, the last void), stopped stopped
	running                *clink.Culture // a running culture with one observation
	obs, corrected, voided *clink.Observation
	assay                  *clink.Assay
	space, voidSpace       *clink.DesignSpace
	tmpl, voidTmpl         *clink.GatingTemplate // nil without the shared flow data
	att                    *clink.FCSAttachment  // data1.fcs attached to obs; nil without the flow data
	patient                *clink.Patient
	request                *clink.TreatmentRequest
	spec                   *clink.ReleaseSpec
	open, released         *clink.Batch // a batch in process with every kind of entry, a released one
	rejected               *clink.Batch
}

// newSecEnv starts a server over store with opt; seed writes the sites, users and records.
func newSecEnv(tb testing.TB, store *sqldb.Store, opt clinkhttp.Options) *secEnv {
	tb.Helper()
	e := &secEnv{tb: tb, store: store, ctx: clink.WithActor(context.Background(), "setup"), tokens: map[string]string{}}
	e.server = clinkhttp.NewServer(store, opt)
	e.srv = httptest.NewServer(e.server.Handler())
	tb.Cleanup(e.srv.Close)
	var err error
	if e.svc, err = manufacturing.New(store, manufacturing.Config{}); err != nil {
		tb.Fatal(err)
	}
	return e
}

// secTemplate is the seeded SQLite fixture, made once per test binary: the bytes of its
// database file (a consistent snapshot), the records as seed returned them, and the fields it
// filled. Seeding takes seconds (every user's password is hashed with argon2id, every
// signature checks one); a copy of the file takes milliseconds.
var secTemplate struct {
	sync.Mutex
	db     []byte
	env    secEnv
	fields []string
}

// newSecFixture returns a server with opt over a copy of the seeded SQLite fixture, whose
// free-text fields hold hostile text (hostile), and the fields seed filled.
func newSecFixture(tb testing.TB, opt clinkhttp.Options) (*secEnv, []string) {
	tb.Helper()
	secTemplate.Lock()
	defer secTemplate.Unlock()
	if secTemplate.db == nil {
		dir := tb.TempDir()
		store := openStore(tb, filepath.Join(dir, "seed.db"))
		e := newSecEnv(tb, store, clinkhttp.Options{})
		fields := e.seed(hostile)
		snapshot := filepath.Join(dir, "snapshot.db")
		if _, err := store.Backup(context.Background(), snapshot); err != nil {
			tb.Fatalf("snapshot the fixture: %v", err)
		}
		data, err := os.ReadFile(snapshot)
		if err != nil {
			tb.Fatal(err)
		}
		secTemplate.db, secTemplate.env, secTemplate.fields = data, *e, fields
	}
	path := filepath.Join(tb.TempDir(), "clink.db")
	if err := os.WriteFile(path, secTemplate.db, 0o600); err != nil {
		tb.Fatal(err)
	}
	store := openStore(tb, path)
	e := newSecEnv(tb, store, opt)
	fresh := *e
	*e = secTemplate.env
	e.tb, e.store, e.server, e.srv, e.ctx, e.svc = fresh.tb, fresh.store, fresh.server, fresh.srv, fresh.ctx, fresh.svc
	e.dbPath = path
	return e, slices.Clone(secTemplate.fields)
}

// check stops the test on a set-up error.
func (e *secEnv) check(what string, err error) {
	e.tb.Helper()
	if err != nil {
		e.tb.Fatalf("set up %s: %v", what, err)
	}
}

// as returns the fixture's context acting as user.
func (e *secEnv) as(user string) context.Context { return clink.WithActor(context.Background(), user) }

// seed writes the sites, users and records, with text(field) in each free-text field. Every
// field it fills is named in the list it returns, in the form "record.field".
func (e *secEnv) seed(text func(field string) string) []string {
	e.tb.Helper()
	var fields []string
	t := func(field string) string {
		if !slices.Contains(fields, field) {
			fields = append(fields, field)
		}
		return text(field)
	}
	ctx := e.ctx

	// Sites and users.
	e.lab = &clink.Site{Code: secLab, Name: t("site.name"), Kind: clink.SiteLab}
	e.check("site", e.store.CreateSite(ctx, e.lab))
	for _, code := range []string{secSite, secOtherSite} {
		e.check("site", e.store.CreateSite(ctx, &clink.Site{Code: code, Name: "Hospital " + code, Kind: clink.SiteHospital}))
	}
	users := []struct {
		name, site string
		roles      []string
	}{
		{secRoot, secSite, clink.Roles},
		{secResearcher, secSite, []string{clink.RoleResearcher}},
		{secViewer, "", []string{clink.RoleViewer}},
		{secClinician, secSite, []string{clink.RoleClinician}},
		{secOperator, secSite, []string{clink.RoleOperator}},
		{secQA, "", []string{clink.RoleQA}},
		{secQP, "", []string{clink.RoleQP}},
		{secAdmin, "", []string{clink.RoleAdmin}},
		{secOther, secOtherSite, []string{clink.RoleResearcher}},
		{secClinicianMP, secOtherSite, []string{clink.RoleClinician}},
	}
	for _, u := range users {
		cu := &clink.User{Username: u.name, FullName: t("user.full_name"), Email: u.name + "@example.org", Site: u.site, Roles: u.roles}
		e.check("user "+u.name, e.store.CreateUser(ctx, cu, testPassword))
		secret, _, err := e.store.CreateToken(ctx, u.name, "security tests", time.Hour)
		e.check("token", err)
		e.tokens[u.name] = secret
	}

	// Research records.
	researcher := e.as(secResearcher)
	e.il2 = &clink.Component{Site: secLab, Name: "IL-2", Category: clink.CategoryCytokine, Unit: clink.UnitIUPerML}
	e.check("component", e.store.CreateComponent(ctx, e.il2))
	e.comp = &clink.Component{Site: secSite, Name: t("component.name"), Category: clink.CategoryCytokine, Unit: clink.UnitNgPerML,
		Description: t("component.description")}
	e.check("component", e.store.CreateComponent(researcher, e.comp))
	e.proto = protocolIL2(secSite, t("protocol.name"))
	e.proto.Description = t("protocol.description")
	e.proto.Components = append(e.proto.Components, clink.ProtocolComponent{Component: e.comp.Name, Dose: 10, Unit: clink.UnitNgPerML, Days: []int{0}})
	e.check("protocol", e.store.CreateProtocol(researcher, e.proto))
	e.proto2 = protocolIL2(secSite, "second protocol")
	e.check("protocol", e.store.CreateProtocol(researcher, e.proto2))
	e.protoV2 = protocolIL2(secSite, e.proto.Name)
	e.protoV2.DurationDays, e.protoV2.Description = 14, t("protocol.description")
	e.check("protocol version", e.store.CreateProtocol(researcher, e.protoV2))
	// A protocol nobody uses yet can be edited in place, with a reason.
	edited := protocolIL2(secSite, "edited protocol")
	e.check("protocol", e.store.CreateProtocol(researcher, edited))
	edited.Description = t("protocol.description")
	e.check("protocol update", e.store.UpdateProtocol(researcher, edited, t("protocol.reason")))

	e.donor = &clink.Donor{Site: secSite, HCMV: clink.HCMVPositive, ConsentDate: "2025-01-15", Notes: t("donor.notes")}
	e.check("donor", e.store.CreateDonor(researcher, e.donor))
	e.donor.Sex = clink.SexFemale
	e.check("donor update", e.store.UpdateDonor(researcher, e.donor, t("donor.reason")))

	newCulture := func(p *clink.Protocol) *clink.Culture {
		c := &clink.Culture{Site: secSite, DonorID: e.donor.ID, ProtocolID: p.ID, StartDate: "2025-03-01", StartingCells: 1e6,
			StartingNKPct: 90, Notes: t("culture.notes")}
		e.check("culture", e.store.CreateCulture(researcher, c))
		return c
	}
	e.culture = newCulture(e.proto)
	second := newCulture(e.proto2)
	e.stopped = newCulture(e.proto)
	var err error
	e.stopped, err = e.store.SetCultureStatus(researcher, e.stopped.ID, clink.CultureStatusChange{Status: clink.StatusStopped, Reason: t("culture.stop_reason")})
	e.check("culture status", err)
	for _, c := range []*clink.Culture{e.culture, second} {
		for i, day := range []int{0, 3, 7, 10} {
			o := &clink.Observation{CultureID: c.ID, Site: secSite, Day: day, ViableCells: 1e6 * float64(1+3*i), ViabilityPct: ptr(95.0),
				NKPct: ptr(80.0 + float64(i)), TPct: ptr(5.0), Note: t("observation.note")}
			e.check("observation", e.store.CreateObservation(researcher, o))
			if c == e.culture {
				switch day {
				case 7:
					e.obs = o
				case 3:
					e.corrected = o
				case 10:
					e.voided = o
				}
			}
		}
	}
	e.corrected.ViableCells = 3.5e6
	e.check("observation correction", e.store.UpdateObservation(researcher, e.corrected, t("observation.reason")))
	e.voided, err = e.store.VoidObservation(researcher, e.voided.ID, t("observation.void_reason"))
	e.check("void", err)
	// K562 plates on the harvest day, so that the scoreboard ranks killing too.
	for _, c := range []*clink.Culture{e.culture, second} {
		a := crAssay()
		a.CultureID, a.Site, a.Day = c.ID, secSite, 7
		e.check("assay", e.store.CreateAssay(researcher, a))
	}
	e.assay = crAssay()
	e.assay.CultureID, e.assay.Site, e.assay.Note = e.culture.ID, secSite, t("assay.note")
	e.assay.Target, e.assay.TargetName = clink.TargetCustom, t("assay.target_name")
	e.check("assay", e.store.CreateAssay(researcher, e.assay))

	e.space = designSpace(secSite, t("designspace.name"), nkSpace)
	e.space.Description = t("designspace.description")
	e.check("design space", e.store.CreateDesignSpace(researcher, e.space))
	e.voidSpace = designSpace(secSite, "void space", nkSpace)
	e.check("design space", e.store.CreateDesignSpace(researcher, e.voidSpace))
	_, err = e.store.VoidDesignSpace(researcher, e.voidSpace.ID, t("designspace.void_reason"))
	e.check("void design space", err)

	e.seedFlow(t)
	// The cultures are harvested, so that the comparison, the scoreboard and the optimizer
	// have outcomes; a third culture keeps running, with the form to add an observation.
	for _, c := range []*clink.Culture{e.culture, second} {
		_, err := e.store.SetCultureStatus(researcher, c.ID, clink.CultureStatusChange{Status: clink.StatusCompleted})
		e.check("culture status", err)
	}
	e.running = newCulture(e.proto)
	e.check("observation", e.store.CreateObservation(researcher, &clink.Observation{CultureID: e.running.ID, Site: secSite, Day: 0,
		ViableCells: 1e6, ViabilityPct: ptr(95.0), NKPct: ptr(80.0), Note: t("observation.note")}))
	e.seedManufacturing(t)
	return fields
}

// secFlowData reports whether the shared flow data is there. Without it the flow records are
// not made; under CI=true that is a failure.
func secFlowData(tb testing.TB) bool {
	tb.Helper()
	if _, err := os.Stat(filepath.Join("..", "..", "shared", "data", "flow", "gatingml2")); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("flow test data missing: %v", err)
		}
		tb.Logf("flow test data missing (%v): no gating template or FCS file in the fixture", err)
		return false
	}
	return true
}

// seedFlow writes a gating template, a void one, and data1.fcs attached to e.obs under a
// file name of t's.
func (e *secEnv) seedFlow(t func(string) string) {
	e.tb.Helper()
	if !secFlowData(e.tb) {
		return
	}
	researcher := e.as(secResearcher)
	svc := flow.New(e.store)
	e.tmpl = gates1Template(e.tb, secSite, t("template.name"))
	e.tmpl.Description = t("template.description")
	e.check("gating template", svc.CreateTemplate(researcher, e.tmpl))
	e.voidTmpl = gates1Template(e.tb, secSite, "void template")
	e.check("gating template", svc.CreateTemplate(researcher, e.voidTmpl))
	_, err := e.store.VoidGatingTemplate(researcher, e.voidTmpl.ID, t("template.void_reason"))
	e.check("void template", err)
	as, err := svc.Attach(researcher, []*clink.FCSUpload{{ObservationID: e.obs.ID, FileName: t("fcs.file_name") + ".fcs",
		Data: flowFile(e.tb, "FCSFiles", "data1.fcs"), Template: e.tmpl.Ref(), Replace: true}})
	e.check("FCS attachment", err)
	e.att = as[0]
}

// seedManufacturing writes a patient of secSite with an identity, a treatment request, a
// release specification version, a batch in process whose record holds every kind of entry
// (steps with equipment, reagents, comments, a deviation and a correction; results; a batch
// deviation; a refused signature), a released batch with custody scans (one refused), and a
// rejected batch.
func (e *secEnv) seedManufacturing(t func(string) string) {
	e.tb.Helper()
	clinician, operator := e.as(secClinician), e.as(secOperator)
	e.patient = &clink.Patient{Hospital: secSite, Identity: &clink.PatientIdentity{MRN: t("patient.mrn"), Name: t("patient.name"), BirthYear: 1971}}
	e.check("patient", e.store.CreatePatient(clinician, e.patient))
	e.request = &clink.TreatmentRequest{PatientID: e.patient.ID, DonorID: e.donor.ID, ProtocolID: e.proto.ID, TargetNKPerKg: 1e7,
		WeightKg: 64, InfusionDates: []string{"2027-01-10"}}
	e.check("treatment request", e.store.CreateTreatmentRequest(clinician, e.request))
	def, err := e.svc.EnsureDefaultSpec(e.as(secAdmin))
	e.check("release specification", err)
	sp, err := manufacturing.ParseSpec(def.Definition)
	e.check("release specification", err)
	e.spec, err = e.svc.ReviseSpec(e.as(secAdmin), def.Name, sp, t("spec.reason"))
	e.check("release specification", err)

	expiry := time.Now().AddDate(1, 0, 0).Format(time.DateOnly)
	// record records every step and result of b; with texts, its free-text fields are t's,
	// one step value is out of range with a deviation, and the first step is corrected.
	record := func(b *clink.Batch, texts bool) {
		for i, ms := range b.Steps {
			in := manufacturing.StepInput{Step: ms.Key, Values: mfgStepValues(ms), Equipment: "BSC-2"}
			if ms.Reagents {
				in.Reagents = []clink.ReagentLot{{Name: "reagent of " + ms.Key, Lot: "L-" + ms.Key, Expiry: expiry}}
			}
			if texts && i == 0 {
				in.Equipment, in.Comment = t("step.equipment"), t("step.comment")
			}
			if texts && ms.Reagents && len(in.Reagents) > 0 {
				in.Reagents[0].Name, in.Reagents[0].Lot = t("step.reagent_name"), t("step.reagent_lot")
			}
			if texts && i == 1 {
				// An out-of-range value needs a deviation and its corrective action.
				f := ms.Fields[0]
				if f.Max != nil {
					in.Values[f.Key] = *f.Max * 2
					in.Deviation, in.CAPA = t("step.deviation"), t("step.capa")
				}
			}
			ent, err := e.svc.RecordStep(operator, b.ID, in)
			e.check("step "+ms.Key, err)
			if texts && i == 0 {
				in.Supersedes, in.Reason = ent.ID, t("step.reason")
				_, err := e.svc.RecordStep(operator, b.ID, in)
				e.check("step correction", err)
			}
		}
		for _, r := range mfgResults {
			in := manufacturing.ResultInput{Test: r.test, Text: r.text}
			if r.value != "" {
				x, err := strconv.ParseFloat(r.value, 64)
				e.check("result", err)
				in.Value = &x
			}
			if texts && r.test == gmp.TestGramStain {
				in.Text = t("result.text")
			}
			_, err := e.svc.RecordResult(operator, b.ID, in)
			e.check("result "+r.test, err)
		}
	}
	sign := func(b *clink.Batch, username, meaning, reason string) error {
		u, err := e.store.FindUserByUsername(e.ctx, username)
		e.check("signer", err)
		_, err = e.svc.Sign(e.as(username), b.ID, u, manufacturing.SignInput{Meaning: meaning, Username: username, Password: testPassword, Reason: reason})
		return err
	}

	e.open, err = e.svc.CreateBatch(operator, manufacturing.NewBatch{RequestID: e.request.ID, Site: secSite})
	e.check("batch", err)
	record(e.open, true)
	_, err = e.svc.RaiseDeviation(operator, e.open.ID, clink.DeviationData{Description: t("deviation.description"), CAPA: t("deviation.capa")})
	e.check("deviation", err)
	// A refused signing attempt is recorded with what was typed.
	qa, err := e.store.FindUserByUsername(e.ctx, secQA)
	e.check("signer", err)
	_, err = e.svc.Sign(e.as(secQA), e.open.ID, qa, manufacturing.SignInput{Meaning: clink.MeaningReviewed, Username: "someone-else", Password: testPassword})
	if err == nil {
		e.tb.Fatalf("set up: a signature with another username was accepted")
	}

	e.released, err = e.svc.CreateBatch(operator, manufacturing.NewBatch{RequestID: e.request.ID, Site: secSite})
	e.check("batch", err)
	record(e.released, false)
	e.check("review", sign(e.released, secQA, clink.MeaningReviewed, ""))
	e.check("release", sign(e.released, secQP, clink.MeaningReleased, ""))
	e.released, err = e.store.FindBatchByID(e.ctx, e.released.ID)
	e.check("batch", err)
	din, err := gmp.ParseDIN(e.released.DIN)
	e.check("DIN", err)
	_, err = e.svc.Scan(operator, e.released.ID, manufacturing.ScanInput{Event: "packed", Place: t("custody.place"), DIN: din.Keyboard(),
		Product: e.released.ProductCode, COI: e.released.COI})
	e.check("custody scan", err)
	if _, err := e.svc.Scan(operator, e.released.ID, manufacturing.ScanInput{Event: "shipped", Place: t("custody.place"), DIN: t("custody.din"),
		Product: t("custody.product"), COI: t("custody.coi")}); err == nil {
		e.tb.Fatalf("set up: a custody scan of a wrong DIN was accepted")
	}

	e.rejected, err = e.svc.CreateBatch(operator, manufacturing.NewBatch{RequestID: e.request.ID, Site: secSite})
	e.check("batch", err)
	e.check("rejection", sign(e.rejected, secQA, clink.MeaningRejected, t("signature.reason")))
}

// signIn signs in as username and returns the session cookie.
func (e *secEnv) signIn(tb testing.TB, username string) *http.Cookie {
	tb.Helper()
	resp, body := e.do(tb, "POST", "/login", url.Values{"username": {username}, "password": {testPassword}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		tb.Fatalf("sign in as %s: got status %d, want 303 (body %.500s)", username, resp.StatusCode, body)
	}
	c := sessionCookie(resp)
	if c == nil {
		tb.Fatalf("sign in as %s: no session cookie", username)
	}
	return &http.Cookie{Name: c.Name, Value: c.Value}
}

// secRequest is one request of the security tests.
type secRequest struct {
	method, path string
	// body is a url.Values (sent as a form), a []byte (sent as it is, with contentType, or
	// JSON by default), or anything else (sent as JSON).
	body        any
	contentType string
	cookie      *http.Cookie
	token       string
	header      map[string]string
}

// secClient sends requests without following redirects; it trusts httptest's certificate.
var secClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
}

// send sends r to the server at base and returns the answer and its body.
func secSend(tb testing.TB, base string, r secRequest) (*http.Response, []byte) {
	tb.Helper()
	var body io.Reader
	ct := r.contentType
	switch b := r.body.(type) {
	case nil:
	case url.Values:
		body = strings.NewReader(b.Encode())
		if ct == "" {
			ct = "application/x-www-form-urlencoded"
		}
	case []byte:
		body = bytes.NewReader(b)
		if ct == "" {
			ct = "application/json"
		}
	default:
		data, err := json.Marshal(b)
		if err != nil {
			tb.Fatal(err)
		}
		body = bytes.NewReader(data)
		if ct == "" {
			ct = "application/json"
		}
	}
	req, err := http.NewRequest(r.method, base+r.path, body)
	if err != nil {
		tb.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if r.cookie != nil {
		req.AddCookie(r.cookie)
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	resp, err := secClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: read the answer: %v", r.method, r.path, err)
	}
	return resp, data
}

// do sends a request as a browser on the same origin would (Sec-Fetch-Site: same-origin),
// with the cookie, a form when form is not nil.
func (e *secEnv) do(tb testing.TB, method, path string, form url.Values, cookie *http.Cookie) (*http.Response, string) {
	tb.Helper()
	r := secRequest{method: method, path: path, cookie: cookie, header: map[string]string{"Sec-Fetch-Site": "same-origin"}}
	if form != nil {
		r.body = form
	}
	resp, body := secSend(tb, e.srv.URL, r)
	return resp, string(body)
}

// api sends an API request with username's token.
func (e *secEnv) api(tb testing.TB, method, path, username string, body any) (*http.Response, []byte) {
	tb.Helper()
	return secSend(tb, e.srv.URL, secRequest{method: method, path: path, token: e.tokens[username], body: body})
}

// tableCounts returns the number of rows of every table of the store's database, by table.
func tableCounts(tb testing.TB, db *sql.DB) map[string]int {
	tb.Helper()
	ctx := context.Background()
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	var dialect string
	if err := db.QueryRowContext(ctx, `SELECT sqlite_version()`).Scan(&dialect); err != nil {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
	}
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		tb.Fatalf("list tables: %v", err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			tb.Fatal(err)
		}
		names = append(names, n)
	}
	rows.Close()
	if len(names) < 10 {
		tb.Fatalf("got tables %v, want the schema's", names)
	}
	out := map[string]int{}
	for _, n := range names {
		var c int
		// The names come from the database's own catalogue, quoted.
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM "`+strings.ReplaceAll(n, `"`, `""`)+`"`).Scan(&c); err != nil {
			tb.Fatalf("count %s: %v", n, err)
		}
		out[n] = c
	}
	return out
}

// auditCountExcept is the number of audit events of every entity but entity.
func auditCountExcept(tb testing.TB, db *sql.DB, entity string) int {
	tb.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM audit_events WHERE entity <> $1`, entity).Scan(&n); err != nil {
		tb.Fatalf("count audit events: %v", err)
	}
	return n
}

// diffCounts describes how two results of tableCounts differ, "" when they do not.
func diffCounts(before, after map[string]int) string {
	var out []string
	for n, b := range before {
		if a, ok := after[n]; !ok {
			out = append(out, fmt.Sprintf("table %s is gone (had %d rows)", n, b))
		} else if a != b {
			out = append(out, fmt.Sprintf("%s: %d rows, then %d", n, b, a))
		}
	}
	for n, a := range after {
		if _, ok := before[n]; !ok {
			out = append(out, fmt.Sprintf("new table %s (%d rows)", n, a))
		}
	}
	slices.Sort(out)
	return strings.Join(out, "; ")
}
