package http_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/gmp"
	"github.com/clink-consortium/clink/manufacturing"
)

// The manufacturing pages of ui_manufacturing*.go, checked by CSS selectors on the demo
// consortium (its users clinician-mpl, clinician-nim, operator-mpl, qa, qp and admin): who
// sees a patient's identity, recording a step on the batch page with a refused value shown
// next to its field, and the signing prompt of gmp.md §3 S4-S5. ui_manufacturing_browser_test.go
// follows a whole batch in Chromium.

// mfgHospital is the demo hospital whose GMP unit manufactures in these tests.
const mfgHospital = "MPL"

// mfgStepValues returns values of a master step within its ranges: the middle of each range,
// and for the formulation the product of service_test.go (2e7 nucleated cells/mL, 0.1 % CD3+,
// 80 mL), whose dose for 1e7 NK/kg at 64 kg with the results of mfgResults is 40.9 mL
// (gmp.md §5 by hand: 1e7 × 64 / (2e7 × 0.92 × 0.85) = 40.92 mL, rounded down).
func mfgStepValues(ms clink.MasterStep) map[string]float64 {
	out := map[string]float64{}
	for _, f := range ms.Fields {
		switch {
		case f.Min != nil && f.Max != nil:
			out[f.Key] = (*f.Min + *f.Max) / 2
		case f.Min != nil:
			out[f.Key] = *f.Min + 1
		case f.Max != nil:
			out[f.Key] = *f.Max / 2
		default:
			out[f.Key] = 1
		}
	}
	if ms.Key == "formulation" {
		out["tnc_per_ml"], out["cd3_pct"], out["available_ml"] = 2e7, 0.1, 80
	}
	return out
}

// mfgResult is a release result as entered: a number or a text.
type mfgResult struct {
	test, value, text string
}

// mfgResults are results within every limit of the default specification, the 14-day
// sterility culture included (so that the QP's signature releases the batch completely).
var mfgResults = []mfgResult{
	{gmp.TestViability, "92", ""},
	{gmp.TestNKPurity, "85", ""},
	{gmp.TestResidualFeeders, "0.01", ""},
	{gmp.TestEndotoxin, "0.5", ""},
	{gmp.TestGramStain, "", "no organisms seen"},
	{gmp.TestSterility, "", "no growth"},
	{gmp.TestMycoplasma, "", "not detected"},
	{gmp.TestIdentity, "", "identical to donor"},
	{gmp.TestPotency, "45", ""},
	{gmp.TestCD19, "0.1", ""},
}

// reagentExpiry is an expiry date a year after today, so that no reagent has expired when a
// step is recorded (the service checks expiry against the real date of the step).
func reagentExpiry() string { return time.Now().AddDate(1, 0, 0).Format(time.DateOnly) }

// recordBatch records every step and result of b with the service, as actor.
func recordBatch(tb testing.TB, svc *manufacturing.Service, actor string, b *clink.Batch) {
	tb.Helper()
	ctx := clink.WithActor(context.Background(), actor)
	for _, ms := range b.Steps {
		in := manufacturing.StepInput{Step: ms.Key, Values: mfgStepValues(ms), Equipment: "BSC-2"}
		if ms.Reagents {
			in.Reagents = []clink.ReagentLot{{Name: "reagent of " + ms.Key, Lot: "L-" + ms.Key, Expiry: reagentExpiry()}}
		}
		if _, err := svc.RecordStep(ctx, b.ID, in); err != nil {
			tb.Fatalf("record step %s: %v", ms.Key, err)
		}
	}
	for _, r := range mfgResults {
		in := manufacturing.ResultInput{Test: r.test, Text: r.text}
		if r.value != "" {
			x, err := strconv.ParseFloat(r.value, 64)
			if err != nil {
				tb.Fatal(err)
			}
			in.Value = &x
		}
		if _, err := svc.RecordResult(ctx, b.ID, in); err != nil {
			tb.Fatalf("record result %s: %v", r.test, err)
		}
	}
}

// ---- The permission matrix's records ----

// mfgMatrixState holds the manufacturing records of one permission matrix run: a patient of
// the own site with a treatment request, a batch whose record is empty, and a released batch
// with no custody scan. A write that uses one of the batches up gets a new one next time.
type mfgMatrixState struct {
	svc      *manufacturing.Service
	patient  *clink.Patient
	request  *clink.TreatmentRequest
	fresh    *clink.Batch
	released *clink.Batch
	qa, qp   *clink.User
}

var mfgMatrixStates struct {
	sync.Mutex
	m map[*matrixEnv]*mfgMatrixState
}

// mfgMatrix returns the manufacturing records of the matrix run e, made on first use.
func mfgMatrix(e *matrixEnv) *mfgMatrixState {
	e.tb.Helper()
	mfgMatrixStates.Lock()
	defer mfgMatrixStates.Unlock()
	if m := mfgMatrixStates.m[e]; m != nil {
		return m
	}
	if mfgMatrixStates.m == nil {
		mfgMatrixStates.m = map[*matrixEnv]*mfgMatrixState{}
	}
	svc, err := manufacturing.New(e.store, manufacturing.Config{})
	e.check(err)
	m := &mfgMatrixState{svc: svc}
	m.patient = &clink.Patient{Hospital: ownSite, Identity: &clink.PatientIdentity{MRN: "BCN-0001", Name: "Matrix, Patient"}}
	e.check(e.store.CreatePatient(e.ctx, m.patient))
	m.request = &clink.TreatmentRequest{PatientID: m.patient.ID, DonorID: e.donor.ID, ProtocolID: e.proto.ID, TargetNKPerKg: 1e7,
		WeightKg: 64, InfusionDates: []string{"2027-01-10"}}
	e.check(e.store.CreateTreatmentRequest(e.ctx, m.request))
	for _, u := range []**clink.User{&m.qa, &m.qp} {
		role := clink.RoleQA
		if u == &m.qp {
			role = clink.RoleQP
		}
		*u = &clink.User{Username: "mfg-matrix-" + role, FullName: "Matrix " + role, Email: role + "@matrix.example", Roles: []string{role}}
		e.check(e.store.CreateUser(e.ctx, *u, testPassword))
	}
	mfgMatrixStates.m[e] = m
	return m
}

// freshBatch returns a batch of the own site whose record has no entry.
func (m *mfgMatrixState) freshBatch(e *matrixEnv) *clink.Batch {
	e.tb.Helper()
	if m.fresh != nil {
		entries, err := e.store.FindBatchEntries(e.ctx, m.fresh.ID)
		e.check(err)
		if len(entries) == 0 {
			return m.fresh
		}
	}
	b, err := m.svc.CreateBatch(e.ctx, manufacturing.NewBatch{RequestID: m.request.ID, Site: ownSite})
	e.check(err)
	m.fresh = b
	return b
}

// releasedBatch returns a released batch of the own site with no custody scan.
func (m *mfgMatrixState) releasedBatch(e *matrixEnv) *clink.Batch {
	e.tb.Helper()
	if m.released != nil {
		st, err := m.svc.Load(e.ctx, m.released.ID)
		e.check(err)
		if len(st.Custody) == 0 {
			return m.released
		}
	}
	b, err := m.svc.CreateBatch(e.ctx, manufacturing.NewBatch{RequestID: m.request.ID, Site: ownSite})
	e.check(err)
	recordBatch(e.tb, m.svc, "setup", b)
	for _, sg := range []struct {
		u       *clink.User
		meaning string
	}{{m.qa, clink.MeaningReviewed}, {m.qp, clink.MeaningReleased}} {
		_, err := m.svc.Sign(clink.WithActor(e.ctx, sg.u.Username), b.ID, sg.u, manufacturing.SignInput{Meaning: sg.meaning, Username: sg.u.Username, Password: testPassword})
		e.check(err)
	}
	m.released = b
	return b
}

// mfgMatrixStep is the form recording the first step of a fresh batch's record.
func mfgMatrixStep(e *matrixEnv) (string, any) {
	b := mfgMatrix(e).freshBatch(e)
	v := url.Values{"step": {b.Steps[0].Key}}
	for k, x := range mfgStepValues(b.Steps[0]) {
		v.Set("values."+k, strconv.FormatFloat(x, 'g', -1, 64))
	}
	return fmt.Sprintf("/batches/%d/steps", b.ID), v
}

// mfgMatrixScan is the form of the first custody scan of a released batch.
func mfgMatrixScan(e *matrixEnv) (string, any) {
	b := mfgMatrix(e).releasedBatch(e)
	din, err := gmp.ParseDIN(b.DIN)
	e.check(err)
	return fmt.Sprintf("/batches/%d/custody", b.ID), url.Values{"event": {"packed"}, "place": {"GMP unit " + ownSite},
		"din": {din.Keyboard()}, "product": {b.ProductCode}, "coi": {b.COI}}
}

// ---- The handler tests ----

// mfgEnv is the demo consortium with a patient of MPL, a treatment request for them and the
// manufacturing service on the same store.
type mfgEnv struct {
	*uiEnv
	svc     *manufacturing.Service
	patient *clink.Patient
	request *clink.TreatmentRequest
	clock   atomic.Int64 // the pages' clock, in Unix nanoseconds
}

// The identity of the test patient, which must appear only for MPL's clinicians.
const (
	mfgPatientName = "Testpatient, Ada"
	mfgPatientMRN  = "MPL-7731905"
)

func newMfgEnv(t *testing.T) *mfgEnv {
	t.Helper()
	m := &mfgEnv{uiEnv: newUIEnv(t)}
	m.clock.Store(m.today.Add(9 * time.Hour).UnixNano())
	m.server.SetClock(func() time.Time { return time.Unix(0, m.clock.Load()).UTC() })
	ctx := clink.WithActor(context.Background(), "clinician-mpl")
	donors, _, err := m.store.FindDonors(ctx, clink.DonorFilter{Page: clink.Page{Limit: 1}})
	if err != nil || len(donors) == 0 {
		t.Fatalf("no donor in the demo data (err %v)", err)
	}
	protocols, _, err := m.store.FindProtocols(ctx, clink.ProtocolFilter{Page: clink.Page{Limit: 1}})
	if err != nil || len(protocols) == 0 {
		t.Fatalf("no protocol in the demo data (err %v)", err)
	}
	m.patient = &clink.Patient{Hospital: mfgHospital, Identity: &clink.PatientIdentity{MRN: mfgPatientMRN, Name: mfgPatientName, BirthYear: 1971}}
	if err := m.store.CreatePatient(ctx, m.patient); err != nil {
		t.Fatal(err)
	}
	m.request = &clink.TreatmentRequest{PatientID: m.patient.ID, DonorID: donors[0].ID, ProtocolID: protocols[0].ID, TargetNKPerKg: 1e7,
		WeightKg: 64, InfusionDates: []string{"2026-12-20"}}
	if err := m.store.CreateTreatmentRequest(ctx, m.request); err != nil {
		t.Fatal(err)
	}
	if m.svc, err = manufacturing.New(m.store, manufacturing.Config{}); err != nil {
		t.Fatal(err)
	}
	return m
}

// batch creates a batch for the request at MPL's GMP unit.
func (m *mfgEnv) batch(t *testing.T) *clink.Batch {
	t.Helper()
	b, err := m.svc.CreateBatch(clink.WithActor(context.Background(), "operator-mpl"), manufacturing.NewBatch{RequestID: m.request.ID, Site: mfgHospital})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// state loads a batch's state.
func (m *mfgEnv) state(t *testing.T, id int64) *manufacturing.State {
	t.Helper()
	st, err := m.svc.Load(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// advance moves the pages' clock.
func (m *mfgEnv) advance(d time.Duration) { m.clock.Add(int64(d)) }

// wantStatus checks a response's status, showing the body when it is not the one wanted.
func wantStatus(t *testing.T, resp *http.Response, body string, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("%s %s: got status %d, want %d (body %.3000s)", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, want, body)
	}
}

// TestManufacturingNav: the header links to the batches for the users who read manufacturing
// records, and not for the research roles, who are refused the pages.
func TestManufacturingNav(t *testing.T) {
	m := newMfgEnv(t)
	for _, tc := range []struct {
		user string
		sees bool
	}{
		{"operator-mpl", true}, {"qa", true}, {"qp", true}, {"clinician-nim", true}, {"admin", true},
		{"researcher-zgz", false}, {"viewer", false},
	} {
		t.Run(tc.user, func(t *testing.T) {
			cookie := m.signIn(t, tc.user)
			doc := m.page(t, "/", cookie, http.StatusOK)
			if got := query(doc, `header nav a[href="/batches"]`) != nil; got != tc.sees {
				t.Errorf("a Manufacturing link in the header: got %v, want %v", got, tc.sees)
			}
			want := http.StatusOK
			if !tc.sees {
				want = http.StatusForbidden
			}
			for _, path := range []string{"/batches", "/patients"} {
				doc := m.page(t, path, cookie, want)
				if want == http.StatusOK {
					checkPage(t, doc, "/batches")
				}
			}
		})
	}
}

// TestPatientIdentity: a clinician of MPL sees the identity of MPL's patient on the patients
// page; a clinician of another hospital, the operator, QA, the QP and the admin see only the
// patient's code, and the identity is nowhere in their page. Each clinician gets the forms for
// the patients of their own hospital; MPL's adds a patient and a request; a request with an impossible weight is refused
// with the message next to the weight and nothing saved; a clinician of another hospital may
// not request a product for MPL's patient.
func TestPatientIdentity(t *testing.T) {
	m := newMfgEnv(t)
	row := fmt.Sprintf("#patient-%d", m.patient.ID)
	for _, tc := range []struct {
		user string
		sees bool
	}{
		{"clinician-mpl", true}, {"clinician-nim", false}, {"operator-mpl", false}, {"qa", false}, {"qp", false}, {"admin", false},
	} {
		t.Run(tc.user, func(t *testing.T) {
			cookie := m.signIn(t, tc.user)
			resp, body := m.do(t, "GET", "/patients", nil, cookie)
			wantStatus(t, resp, body, http.StatusOK)
			doc := parseHTML(t, body)
			checkPage(t, doc, "/batches")
			tr := mustQuery(t, doc, row)
			if got := textOf(mustQuery(t, tr, "th")); got != m.patient.Code {
				t.Errorf("the patient's row is headed %q, want the code %s", got, m.patient.Code)
			}
			if tc.sees {
				if got := textOf(mustQuery(t, tr, "td.name")); got != mfgPatientName {
					t.Errorf("got the name %q, want %q", got, mfgPatientName)
				}
				if got := textOf(mustQuery(t, tr, "td.mrn")); got != mfgPatientMRN {
					t.Errorf("got the patient number %q, want %q", got, mfgPatientMRN)
				}
			} else {
				if n := query(tr, "td.identity"); n != nil {
					t.Errorf("the row shows an identity cell %q", textOf(n))
				}
				for _, secret := range []string{mfgPatientName, mfgPatientMRN, "Testpatient"} {
					if strings.Contains(body, secret) {
						t.Errorf("the page holds %q, which only MPL's clinicians may see", secret)
					}
				}
			}
			// Every clinician gets the forms, for the patients of their own hospital.
			if got, want := query(doc, "#patient-form") != nil, strings.HasPrefix(tc.user, "clinician-"); got != want {
				t.Errorf("the new-patient form is on the page: got %v, want %v", got, want)
			}
			if sel := query(doc, "#request-form select[name=patient_id]"); sel != nil {
				offered := false
				for _, o := range queryAll(sel, "option") {
					v, _ := attr(o, "value")
					offered = offered || v == strconv.FormatInt(m.patient.ID, 10)
				}
				if offered != tc.sees {
					t.Errorf("the request form offers MPL's patient: got %v, want %v", offered, tc.sees)
				}
			}
		})
	}

	clin := m.signIn(t, "clinician-mpl")
	resp, body := m.do(t, "POST", "/patients", url.Values{"site": {mfgHospital}, "identity.mrn": {"MPL-5550001"},
		"identity.name": {"Second, Bea"}, "identity.birth_year": {"1988"}}, clin)
	wantStatus(t, resp, body, http.StatusSeeOther)
	ps, _, err := m.store.FindPatients(context.Background(), clink.PatientFilter{Hospital: mfgHospital, Page: clink.Page{Limit: clink.MaxLimit}})
	if err != nil {
		t.Fatal(err)
	}
	var second *clink.Patient
	for _, p := range ps {
		if p.Identity != nil && p.Identity.MRN == "MPL-5550001" {
			second = p
		}
	}
	if second == nil || second.Identity.Name != "Second, Bea" || second.Identity.BirthYear != 1988 {
		t.Fatalf("the new patient is %+v, want MPL-5550001, Second, Bea, 1988", second)
	}
	if want := fmt.Sprintf("/patients#patient-%d", second.ID); resp.Header.Get("Location") != want {
		t.Errorf("redirected to %q, want %q", resp.Header.Get("Location"), want)
	}

	good := url.Values{"patient_id": {strconv.FormatInt(second.ID, 10)}, "donor_id": {strconv.FormatInt(m.request.DonorID, 10)},
		"protocol_id": {strconv.FormatInt(m.request.ProtocolID, 10)}, "target_nk_per_kg": {"1e7"}, "weight_kg": {"300"},
		"infusion_dates": {"2027-01-05, 2027-01-12"}}
	_, before, err := m.store.FindTreatmentRequests(context.Background(), clink.TreatmentRequestFilter{Page: clink.Page{Limit: 1}})
	if err != nil {
		t.Fatal(err)
	}
	resp, body = m.do(t, "POST", "/treatment-requests", good, clin)
	wantStatus(t, resp, body, http.StatusUnprocessableEntity)
	doc := parseHTML(t, body)
	checkPage(t, doc, "/batches")
	if msg := fieldMessage(t, doc, "weight_kg"); !strings.Contains(msg, "300 is outside 2 to 250 kg") {
		t.Errorf("got the message %q next to the weight, want it to say 300 is outside 2 to 250 kg", msg)
	}
	if got := inputValue(t, doc, "weight_kg"); got != "300" {
		t.Errorf("after the refusal the weight shows %q, want 300 as typed", got)
	}
	if _, n, _ := m.store.FindTreatmentRequests(context.Background(), clink.TreatmentRequestFilter{Page: clink.Page{Limit: 1}}); n != before {
		t.Errorf("after the refused request the store holds %d requests, want %d", n, before)
	}
	nim := m.signIn(t, "clinician-nim")
	good.Set("weight_kg", "71.5")
	resp, body = m.do(t, "POST", "/treatment-requests", good, nim)
	wantStatus(t, resp, body, http.StatusForbidden)
	resp, body = m.do(t, "POST", "/treatment-requests", good, clin)
	wantStatus(t, resp, body, http.StatusSeeOther)
	reqs, _, err := m.store.FindTreatmentRequests(context.Background(), clink.TreatmentRequestFilter{PatientID: second.ID, Page: clink.Page{Limit: 10}})
	if err != nil || len(reqs) != 1 {
		t.Fatalf("requests of the second patient: %v (err %v), want one", reqs, err)
	}
	if r := reqs[0]; r.WeightKg != 71.5 || r.TargetNKPerKg != 1e7 || strings.Join(r.InfusionDates, " ") != "2027-01-05 2027-01-12" || r.CreatedBy != "clinician-mpl" {
		t.Errorf("the stored request is %+v, want 1e7 NK/kg at 71.5 kg on 2027-01-05 and 2027-01-12, by clinician-mpl", r)
	}
}

// stepForm is the form recording step of the master record with values.
func stepForm(step string, values map[string]string) url.Values {
	v := url.Values{"step": {step}}
	for k, x := range values {
		v.Set(k, x)
	}
	return v
}

// TestRecordStepPage: the operator of the batch's site gets a form per step, the next one
// unfolded, and records the receipt: a viability of 62 % without a deviation is refused with
// the message next to the viability (what was typed kept, nothing saved), an expired reagent
// in the second reagent row is named in that row, a step out of order is refused; the good
// entry is recorded, shown in force with its operator, and corrected with a reason, which
// leaves the first entry struck out. QA gets no step form and may not post one.
func TestRecordStepPage(t *testing.T) {
	m := newMfgEnv(t)
	b := m.batch(t)
	path := fmt.Sprintf("/batches/%d", b.ID)
	op := m.signIn(t, "operator-mpl")
	doc := m.page(t, path, op, http.StatusOK)
	checkPage(t, doc, "/batches")
	first := b.Steps[0]
	if first.Key != "receipt" {
		t.Fatalf("the first step is %s, want the receipt", first.Key)
	}
	mustQuery(t, doc, "#step-receipt details[open] form#step-receipt-form")
	if n := len(queryAll(doc, "details[open] form")); n != 1 {
		t.Errorf("got %d unfolded forms, want only the next step's", n)
	}
	if query(doc, "#sign-form") != nil {
		t.Errorf("the operator gets the signing form")
	}
	if got := textOf(mustQuery(t, doc, "#batch-din")); !strings.HasPrefix(got, b.DIN[:5]+" "+b.DIN[5:7]+" "+b.DIN[7:]) || !strings.HasSuffix(got, b.Check) {
		t.Errorf("the DIN reads %q, want %s grouped with its check character %s", got, b.DIN, b.Check)
	}
	if got := textOf(mustQuery(t, doc, "#batch-next")); got != "record the steps and results" {
		t.Errorf("next: got %q, want record the steps and results", got)
	}
	if got := textOf(mustQuery(t, doc, "#batch-missing")); !strings.Contains(got, "step: Receipt of starting material") {
		t.Errorf("missing: got %q, want the receipt step named", got)
	}

	stepsPath := path + "/steps"
	low := map[string]string{"values.volume_ml": "180", "values.viable_cells": "2.1e9", "values.viability_pct": "62"}
	resp, body := m.do(t, "POST", stepsPath, stepForm("receipt", low), op)
	wantStatus(t, resp, body, http.StatusUnprocessableEntity)
	doc = parseHTML(t, body)
	checkPage(t, doc, "/batches")
	if msg := fieldMessage(t, doc, "values.viability_pct"); !strings.Contains(msg, "62 is below 70 %") || !strings.Contains(msg, "describe the deviation") {
		t.Errorf("got the message %q next to the viability, want it to say 62 is below 70 %% and ask for the deviation", msg)
	}
	if msg := fieldMessage(t, doc, "capa"); !strings.Contains(msg, "corrective action") {
		t.Errorf("got the message %q next to the CAPA, want it to ask for the corrective action", msg)
	}
	for k, want := range low {
		if got := inputValue(t, doc, k); got != want {
			t.Errorf("after the refusal %s shows %q, want %q as typed", k, got, want)
		}
	}
	mustQuery(t, doc, "#step-receipt details[open] form#step-receipt-form")
	if n := len(m.state(t, b.ID).Entries); n != 0 {
		t.Fatalf("after the refused step the record has %d entries, want none", n)
	}

	// Out of order: the seeding before the depletion.
	seed, _ := b.Step("seeding")
	resp, body = m.do(t, "POST", stepsPath, stepForm("seeding", map[string]string{"values.seeding_density": "1e6"}), op)
	wantStatus(t, resp, body, http.StatusUnprocessableEntity)
	if msg := fieldMessage(t, parseHTML(t, body), "step"); !strings.Contains(msg, "comes before "+seed.Name) {
		t.Errorf("got the message %q about the step, want it to say the receipt comes before the seeding", msg)
	}

	// The good receipt.
	good := map[string]string{"values.volume_ml": "180", "values.viable_cells": "2.1e9", "values.viability_pct": "96", "equipment": "BSC-2"}
	resp, body = m.do(t, "POST", stepsPath, stepForm("receipt", good), op)
	wantStatus(t, resp, body, http.StatusSeeOther)
	if want := path + "#step-receipt"; resp.Header.Get("Location") != want {
		t.Errorf("redirected to %q, want %q", resp.Header.Get("Location"), want)
	}
	st := m.state(t, b.ID)
	entry := st.Steps["receipt"]
	if entry == nil || entry.Data.Values["viability_pct"] != 96 || entry.Data.Values["viable_cells"] != 2.1e9 || entry.Entry.CreatedBy != "operator-mpl" {
		t.Fatalf("the receipt in force is %+v, want 96 %% and 2.1e9 cells by operator-mpl", entry)
	}

	// An expired reagent in the second row of the depletion is named in that row.
	dep := map[string]string{"values.viable_cells": "1.4e9", "values.cd3_pct": "0.2",
		"reagents[0].name": "CD3 MicroBeads", "reagents[0].lot": "5202", "reagents[0].expiry": reagentExpiry(),
		"reagents[1].name": "Buffer", "reagents[1].lot": "B-17", "reagents[1].expiry": "2020-01-31"}
	resp, body = m.do(t, "POST", stepsPath, stepForm("cd3_depletion", dep), op)
	wantStatus(t, resp, body, http.StatusUnprocessableEntity)
	if msg := fieldMessage(t, parseHTML(t, body), "reagents[1].expiry"); !strings.Contains(msg, "Buffer lot B-17 expired on 2020-01-31") {
		t.Errorf("got the message %q next to the second reagent's expiry, want it to say Buffer lot B-17 expired", msg)
	}

	doc = m.page(t, path, op, http.StatusOK)
	row := mustQuery(t, doc, fmt.Sprintf("#entry-%d", entry.Entry.ID))
	if cls, _ := attr(row, "class"); cls != "in-force" {
		t.Errorf("the receipt's entry has class %q, want in-force", cls)
	}
	if got := textOf(row); !strings.Contains(got, "operator-mpl") || !strings.Contains(got, "Viability: 96 %") || !strings.Contains(got, "BSC-2") {
		t.Errorf("the receipt's entry reads %q, want the operator, the viability 96 %% and the equipment", got)
	}
	// The receipt's form now corrects the entry, and the depletion's is unfolded.
	mustQuery(t, doc, "#step-cd3_depletion details[open] form#step-cd3_depletion-form")
	if got := inputValue(t, doc, "supersedes"); got != strconv.FormatInt(entry.Entry.ID, 10) {
		t.Errorf("the correction form supersedes %q, want entry %d", got, entry.Entry.ID)
	}

	// A correction needs a reason; with one, the first entry is struck out.
	fix := map[string]string{"values.volume_ml": "180", "values.viable_cells": "2.1e9", "values.viability_pct": "95",
		"supersedes": strconv.FormatInt(entry.Entry.ID, 10)}
	resp, body = m.do(t, "POST", stepsPath, stepForm("receipt", fix), op)
	wantStatus(t, resp, body, http.StatusUnprocessableEntity)
	if msg := fieldMessage(t, parseHTML(t, body), "reason"); !strings.Contains(msg, "required") {
		t.Errorf("got the message %q next to the reason, want it required", msg)
	}
	fix["reason"] = "viability re-read on the counter printout"
	resp, body = m.do(t, "POST", stepsPath, stepForm("receipt", fix), op)
	wantStatus(t, resp, body, http.StatusSeeOther)
	st = m.state(t, b.ID)
	corrected := st.Steps["receipt"]
	if corrected == nil || !corrected.Corrected || corrected.Data.Values["viability_pct"] != 95 {
		t.Fatalf("the receipt in force is %+v, want the correction to 95 %%", corrected)
	}
	doc = m.page(t, path, op, http.StatusOK)
	old := mustQuery(t, doc, fmt.Sprintf("#entry-%d", entry.Entry.ID))
	if cls, _ := attr(old, "class"); cls != "superseded" || query(old, "del") == nil {
		t.Errorf("the corrected entry has class %q and struck-out text %v, want superseded and struck out", cls, query(old, "del") != nil)
	}
	if got := textOf(old); !strings.Contains(got, "Viability: 96 %") || !strings.Contains(got, fmt.Sprintf("corrected by entry #%d", corrected.Entry.ID)) {
		t.Errorf("the corrected entry reads %q, want its old value and the entry that corrects it", got)
	}
	if got := textOf(mustQuery(t, doc, fmt.Sprintf("#entry-%d", corrected.Entry.ID))); !strings.Contains(got, "viability re-read on the counter printout") {
		t.Errorf("the correction reads %q, want its reason", got)
	}

	// QA reads the record but writes none of it.
	qa := m.signIn(t, "qa")
	doc = m.page(t, path, qa, http.StatusOK)
	if query(doc, "#step-receipt-form") != nil || query(doc, "#result-viability-form") != nil {
		t.Errorf("QA gets forms of the record")
	}
	mustQuery(t, doc, "#sign-form")
	resp, body = m.do(t, "POST", stepsPath, stepForm("cd3_depletion", dep), qa)
	wantStatus(t, resp, body, http.StatusForbidden)
}

// signFields returns the names of the sign form's credential inputs.
func signFields(t *testing.T, doc *html.Node) string {
	t.Helper()
	form := mustQuery(t, doc, "form#sign-form")
	var names []string
	for _, n := range queryAll(form, "input") {
		if typ, _ := attr(n, "type"); typ == "hidden" {
			continue
		}
		name, _ := attr(n, "name")
		names = append(names, name)
	}
	return strings.Join(names, " ")
}

// TestSignPrompt follows gmp.md §3 S4-S5 on the batch page: QA's first signature of the web
// session asks for the user name and the password; a wrong password is refused on the form
// and recorded; after the first signature, a signature on another batch in the same session
// asks for the password only and is accepted with it; 16 minutes later both are asked again,
// and a form sent without the user name is refused with nothing recorded; a new session asks
// for both at once. The QP then releases the first batch, whose page says released and shows
// the signatures with printed name, meaning and time with its zone.
func TestSignPrompt(t *testing.T) {
	m := newMfgEnv(t)
	b1, b2 := m.batch(t), m.batch(t)
	recordBatch(t, m.svc, "operator-mpl", b1)
	recordBatch(t, m.svc, "operator-mpl", b2)
	path1, path2 := fmt.Sprintf("/batches/%d", b1.ID), fmt.Sprintf("/batches/%d", b2.ID)
	qa := m.signIn(t, "qa")
	doc := m.page(t, path1, qa, http.StatusOK)
	checkPage(t, doc, "/batches")
	if got := signFields(t, doc); got != "username password" {
		t.Fatalf("the first signature asks for %q, want the user name and the password", got)
	}
	if got := textOf(mustQuery(t, doc, "#batch-next")); got != "QA review" {
		t.Errorf("next: got %q, want QA review", got)
	}

	// A wrong password: refused, recorded, shown on the form.
	resp, body := m.do(t, "POST", path1+"/signatures", url.Values{"meaning": {"reviewed"}, "username": {"qa"}, "password": {"not the password 1"}}, qa)
	wantStatus(t, resp, body, http.StatusUnprocessableEntity)
	doc = parseHTML(t, body)
	if msg := fieldMessage(t, doc, "password"); !strings.Contains(msg, "the signature is refused and the attempt recorded") {
		t.Errorf("got the message %q next to the password, want the refusal recorded", msg)
	}
	if got := inputValue(t, doc, "password"); got != "" {
		t.Errorf("the refused form gives the password back (%q)", got)
	}
	if got := inputValue(t, doc, "username"); got != "qa" {
		t.Errorf("the refused form shows the user name %q, want qa as typed", got)
	}
	if got := textOf(mustQuery(t, doc, "#refusal-table tbody")); !strings.Contains(got, "qa") || !strings.Contains(got, "password") {
		t.Errorf("the refused attempts read %q, want qa's wrong password", got)
	}
	st := m.state(t, b1.ID)
	if len(st.Refusals) != 1 || len(st.Signatures) != 0 || st.Batch.Status != clink.BatchInProcess {
		t.Fatalf("after the wrong password: %d refusals, %d signatures, status %s; want one refusal recorded and nothing signed", len(st.Refusals), len(st.Signatures), st.Batch.Status)
	}

	resp, body = m.do(t, "POST", path1+"/signatures", url.Values{"meaning": {"reviewed"}, "username": {"qa"}, "password": {testPassword}}, qa)
	wantStatus(t, resp, body, http.StatusSeeOther)
	if st := m.state(t, b1.ID); st.Batch.Status != clink.BatchReviewed {
		t.Fatalf("after QA's signature the status is %s, want reviewed", st.Batch.Status)
	}

	// The same session, minutes later: the password alone.
	m.advance(14 * time.Minute)
	doc = m.page(t, path2, qa, http.StatusOK)
	if got := signFields(t, doc); got != "password" {
		t.Fatalf("a later signature in the session asks for %q, want the password only", got)
	}
	resp, body = m.do(t, "POST", path2+"/signatures", url.Values{"meaning": {"reviewed"}, "password": {testPassword}}, qa)
	wantStatus(t, resp, body, http.StatusSeeOther)
	if st := m.state(t, b2.ID); st.Batch.Status != clink.BatchReviewed || st.Signatures[0].Data.Username != "qa" {
		t.Fatalf("b2 after the password-only signature: %s, %+v; want reviewed by qa", st.Batch.Status, st.Signatures)
	}

	// Another session of the same user asks for both at once.
	other := m.signIn(t, "qa")
	if got := signFields(t, m.page(t, path2, other, http.StatusOK)); got != "username password" {
		t.Errorf("a new session asks for %q, want the user name and the password", got)
	}

	// 16 minutes without a signature: both again, and a form without the user name is refused
	// before the service is asked (nothing recorded).
	m.advance(16 * time.Minute)
	if got := signFields(t, m.page(t, path2, qa, http.StatusOK)); got != "username password" {
		t.Errorf("after 16 idle minutes the prompt asks for %q, want the user name and the password", got)
	}
	resp, body = m.do(t, "POST", path2+"/signatures", url.Values{"meaning": {"rejected"}, "reason": {"test"}, "password": {testPassword}}, qa)
	wantStatus(t, resp, body, http.StatusUnprocessableEntity)
	if msg := fieldMessage(t, parseHTML(t, body), "username"); !strings.Contains(msg, "is required") {
		t.Errorf("got the message %q next to the user name, want it required", msg)
	}
	if st := m.state(t, b2.ID); len(st.Refusals) != 0 || st.Batch.Status != clink.BatchReviewed {
		t.Errorf("after the form without the user name: %d refusals, status %s; want nothing recorded", len(st.Refusals), st.Batch.Status)
	}

	// The QP releases b1.
	qp := m.signIn(t, "qp")
	doc = m.page(t, path1, qp, http.StatusOK)
	if got := signFields(t, doc); got != "username password" {
		t.Errorf("the QP's first signature asks for %q, want the user name and the password", got)
	}
	resp, body = m.do(t, "POST", path1+"/signatures", url.Values{"meaning": {"released"}, "username": {"qp"}, "password": {testPassword}}, qp)
	wantStatus(t, resp, body, http.StatusSeeOther)
	doc = m.page(t, path1, qp, http.StatusOK)
	checkPage(t, doc, "/batches")
	if got := textOf(mustQuery(t, doc, "#batch-status .badge")); got != "released" {
		t.Errorf("the status reads %q, want released", got)
	}
	if query(doc, "#sign-form") != nil {
		t.Errorf("a released batch still has the signing form")
	}
	rows := queryAll(doc, "#signature-table tbody tr")
	if len(rows) != 2 {
		t.Fatalf("got %d signatures on the page, want QA's and the QP's", len(rows))
	}
	for i, want := range []struct{ name, meaning string }{{"Demo quality assurance (qa)", "reviewed"}, {"Demo Qualified Person (qp)", "released"}} {
		name, meaning := textOf(mustQuery(t, rows[i], "th")), textOf(mustQuery(t, rows[i], "td.meaning"))
		at, state := textOf(mustQuery(t, rows[i], "td.signed-at")), textOf(mustQuery(t, rows[i], "td.signature-state"))
		if name != want.name || meaning != want.meaning || state != "valid" {
			t.Errorf("signature %d: got %q, %q, %q; want %q, %q, valid", i+1, name, meaning, state, want.name, want.meaning)
		}
		if _, err := time.Parse("2006-01-02 15:04 MST", at); err != nil || !strings.HasSuffix(at, " UTC") {
			t.Errorf("signature %d was signed at %q, want a date and time with its zone (UTC)", i+1, at)
		}
	}
	// The certificate and the label are the API's PDFs, which the session may read.
	for _, sel := range []string{"#certificate-link", "a.label-link"} {
		href, _ := attr(mustQuery(t, doc, sel), "href")
		resp, body := m.do(t, "GET", href, nil, qp)
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "%PDF") {
			t.Errorf("GET %s with the session: got status %d and %.8q, want a PDF", href, resp.StatusCode, body)
		}
	}
}

// TestBatchListPage: the batches list where each stands and filters by status; the operator
// gets the new-batch form, which refuses a form without a request (nothing created) and
// creates the batch of a request, landing on its page; QA gets no form and may not post one.
func TestBatchListPage(t *testing.T) {
	m := newMfgEnv(t)
	done := m.batch(t)
	recordBatch(t, m.svc, "operator-mpl", done)
	open := m.batch(t)
	op := m.signIn(t, "operator-mpl")
	doc := m.page(t, "/batches", op, http.StatusOK)
	checkPage(t, doc, "/batches")
	for _, tc := range []struct {
		b    *clink.Batch
		next string
	}{{done, "QA review"}, {open, "record the steps and results"}} {
		row := mustQuery(t, doc, fmt.Sprintf("#batch-%d", tc.b.ID))
		if got := textOf(mustQuery(t, row, "td.next")); !strings.HasPrefix(got, tc.next) {
			t.Errorf("batch %s: next reads %q, want %q", tc.b.Lot, got, tc.next)
		}
		if got := textOf(mustQuery(t, row, "td.din")); got != tc.b.DIN[:5]+" "+tc.b.DIN[5:7]+" "+tc.b.DIN[7:]+" "+tc.b.Check {
			t.Errorf("batch %s: the DIN reads %q, want it grouped with its check character %s", tc.b.Lot, got, tc.b.Check)
		}
	}
	// Filtered by status: the reviewed batch only.
	if _, err := m.svc.Sign(clink.WithActor(context.Background(), "qa"), done.ID, &clink.User{Username: "qa", FullName: "Demo quality assurance", Roles: []string{clink.RoleQA}},
		manufacturing.SignInput{Meaning: clink.MeaningReviewed, Username: "qa", Password: testPassword}); err != nil {
		t.Fatal(err)
	}
	doc = m.page(t, "/batches?status=reviewed", op, http.StatusOK)
	for _, n := range queryAll(doc, "#batch-table td.status") {
		if v, _ := attr(n, "data-status"); v != clink.BatchReviewed {
			t.Errorf("the reviewed batches list a batch %s", v)
		}
	}
	mustQuery(t, doc, fmt.Sprintf("#batch-%d", done.ID))
	if query(doc, fmt.Sprintf("#batch-%d", open.ID)) != nil {
		t.Errorf("the reviewed batches list the batch in process %s", open.Lot)
	}
	m.page(t, "/batches?status=nonsense", op, http.StatusUnprocessableEntity)

	// The new-batch form.
	_, before, err := m.store.FindBatches(context.Background(), clink.BatchFilter{Page: clink.Page{Limit: 1}})
	if err != nil {
		t.Fatal(err)
	}
	resp, body := m.do(t, "POST", "/batches", url.Values{"site": {mfgHospital}, "request_id": {""}}, op)
	wantStatus(t, resp, body, http.StatusUnprocessableEntity)
	if msg := fieldMessage(t, parseHTML(t, body), "request_id"); !strings.Contains(msg, "required") {
		t.Errorf("got the message %q next to the request, want it required", msg)
	}
	if _, n, _ := m.store.FindBatches(context.Background(), clink.BatchFilter{Page: clink.Page{Limit: 1}}); n != before {
		t.Errorf("after the refused form the store holds %d batches, want %d", n, before)
	}
	resp, body = m.do(t, "POST", "/batches", url.Values{"site": {mfgHospital}, "request_id": {strconv.FormatInt(m.request.ID, 10)}}, op)
	wantStatus(t, resp, body, http.StatusSeeOther)
	bs, _, err := m.store.FindBatches(context.Background(), clink.BatchFilter{Page: clink.Page{Limit: 1}})
	if err != nil || len(bs) == 0 {
		t.Fatal(err)
	}
	if b := bs[0]; b.RequestID != m.request.ID || b.Site != mfgHospital || b.CreatedBy != "operator-mpl" || resp.Header.Get("Location") != fmt.Sprintf("/batches/%d", b.ID) {
		t.Errorf("the new batch is %+v at %s, want the request's, at MPL, by operator-mpl, and its page", b, resp.Header.Get("Location"))
	}
	qa := m.signIn(t, "qa")
	if query(m.page(t, "/batches", qa, http.StatusOK), "#batch-form") != nil {
		t.Errorf("QA gets the new-batch form")
	}
	resp, body = m.do(t, "POST", "/batches", url.Values{"site": {mfgHospital}, "request_id": {strconv.FormatInt(m.request.ID, 10)}}, qa)
	wantStatus(t, resp, body, http.StatusForbidden)
}

// TestResultsAndDeviations: the results against the specification show the calculated ones
// as calculated; a correction of a result needs a reason, and then shows "changed since
// original entry" with the first entry struck out; a deviation naming a test is raised from
// its form, and one naming a test the specification lacks is refused.
func TestResultsAndDeviations(t *testing.T) {
	m := newMfgEnv(t)
	b := m.batch(t)
	recordBatch(t, m.svc, "operator-mpl", b)
	path := fmt.Sprintf("/batches/%d", b.ID)
	op := m.signIn(t, "operator-mpl")
	doc := m.page(t, path, op, http.StatusOK)
	if got := textOf(mustQuery(t, doc, "#test-dose td.notes")); got != "calculated" {
		t.Errorf("the dose's notes read %q, want calculated", got)
	}
	if got := textOf(mustQuery(t, doc, "#test-dose td.result")); got != "99.9 % of target" {
		t.Errorf("the dose delivered reads %q, want 99.9 %% of target (9.995e6 of 1e7 NK/kg, gmp.md §5)", got)
	}
	if got := textOf(mustQuery(t, doc, "#dose-volume")); !strings.HasPrefix(got, "40.9 mL, set by the NK target") {
		t.Errorf("the dose reads %q, want 40.9 mL set by the NK target", got)
	}
	if query(doc, "#result-dose-form") != nil {
		t.Errorf("the calculated dose has a form")
	}
	potency := m.state(t, b.ID).Results[gmp.TestPotency].Entry.ID
	fix := url.Values{"test": {gmp.TestPotency}, "value": {"47"}, "supersedes": {strconv.FormatInt(potency, 10)}}
	resp, body := m.do(t, "POST", path+"/results", fix, op)
	wantStatus(t, resp, body, http.StatusUnprocessableEntity)
	doc = parseHTML(t, body)
	if msg := fieldMessage(t, doc, "reason"); !strings.Contains(msg, "required") {
		t.Errorf("got the message %q next to the reason, want it required", msg)
	}
	mustQuery(t, doc, "details[open] form#result-potency-form")
	fix.Set("reason", "transcription error: 47 % on the plate report")
	resp, body = m.do(t, "POST", path+"/results", fix, op)
	wantStatus(t, resp, body, http.StatusSeeOther)
	doc = m.page(t, path, op, http.StatusOK)
	row := mustQuery(t, doc, "#test-potency")
	if got := textOf(mustQuery(t, row, "td.result")); got != "47 %" {
		t.Errorf("potency reads %q, want 47 %%", got)
	}
	if got := textOf(mustQuery(t, row, "td.notes")); got != "changed since original entry" {
		t.Errorf("potency's notes read %q, want changed since original entry", got)
	}
	old := mustQuery(t, doc, fmt.Sprintf("#result-entries #entry-%d", potency))
	var struck []string
	for _, d := range queryAll(old, "del") {
		struck = append(struck, textOf(d))
	}
	if cls, _ := attr(old, "class"); cls != "superseded" || !slices.Contains(struck, "45 %") {
		t.Errorf("the first potency entry has class %q and reads %q, want it struck out with 45 %%", cls, textOf(old))
	}

	dev := url.Values{"description": {"potency assay repeated"}, "capa": {"CAPA-2026-077"}, "tests": {gmp.TestPotency, "no_such_test"}}
	resp, body = m.do(t, "POST", path+"/deviations", dev, op)
	wantStatus(t, resp, body, http.StatusUnprocessableEntity)
	if msg := fieldMessage(t, parseHTML(t, body), "tests"); !strings.Contains(msg, `"no_such_test" is not a test`) {
		t.Errorf("got the message %q about the tests, want no_such_test named", msg)
	}
	dev["tests"] = []string{gmp.TestPotency}
	resp, body = m.do(t, "POST", path+"/deviations", dev, op)
	wantStatus(t, resp, body, http.StatusSeeOther)
	got := textOf(mustQuery(t, m.page(t, path, op, http.StatusOK), "#deviation-table tbody"))
	if !strings.Contains(got, "potency assay repeated") || !strings.Contains(got, "CAPA-2026-077") || !strings.Contains(got, "Potency") {
		t.Errorf("the deviations read %q, want the new one with its CAPA and test", got)
	}
}

// TestCustodyScanPage: on a released batch, the operator scans a bag: a scan of another DIN is
// refused, recorded and shown with its reason; the right one is accepted. The label of the bag
// is linked and is the API's PDF.
func TestCustodyScanPage(t *testing.T) {
	m := newMfgEnv(t)
	b := m.batch(t)
	recordBatch(t, m.svc, "operator-mpl", b)
	for _, sg := range []struct{ user, name, role, meaning string }{
		{"qa", "Demo quality assurance", clink.RoleQA, clink.MeaningReviewed},
		{"qp", "Demo Qualified Person", clink.RoleQP, clink.MeaningReleased},
	} {
		u := &clink.User{Username: sg.user, FullName: sg.name, Roles: []string{sg.role}}
		if _, err := m.svc.Sign(clink.WithActor(context.Background(), sg.user), b.ID, u, manufacturing.SignInput{Meaning: sg.meaning, Username: sg.user, Password: testPassword}); err != nil {
			t.Fatal(err)
		}
	}
	path := fmt.Sprintf("/batches/%d", b.ID)
	op := m.signIn(t, "operator-mpl")
	doc := m.page(t, path, op, http.StatusOK)
	mustQuery(t, doc, "form#scan-form")
	if query(doc, "#step-receipt-form") != nil {
		t.Errorf("a released batch still has step forms")
	}
	din, err := gmp.ParseDIN(b.DIN)
	if err != nil {
		t.Fatal(err)
	}
	other, err := gmp.NewDIN("G1234", 2026, 999999)
	if err != nil {
		t.Fatal(err)
	}
	scan := url.Values{"event": {"packed"}, "place": {"GMP unit MPL"}, "din": {other.Keyboard()}, "product": {b.ProductCode}, "coi": {b.COI}}
	resp, body := m.do(t, "POST", path+"/custody", scan, op)
	wantStatus(t, resp, body, http.StatusUnprocessableEntity)
	doc = parseHTML(t, body)
	if msg := fieldMessage(t, doc, "scan"); !strings.Contains(msg, "refused and recorded") || !strings.Contains(msg, other.String()) {
		t.Errorf("got the message %q about the scan, want it refused and recorded, naming %s", msg, other)
	}
	if got := textOf(mustQuery(t, doc, "#custody-table tr.refused")); !strings.Contains(got, "refused") {
		t.Errorf("the refused scan reads %q", got)
	}
	scan.Set("din", din.Keyboard())
	resp, body = m.do(t, "POST", path+"/custody", scan, op)
	wantStatus(t, resp, body, http.StatusSeeOther)
	st := m.state(t, b.ID)
	if len(st.Custody) != 2 || st.Custody[0].Data.Accepted || !st.Custody[1].Data.Accepted || st.Custody[1].By != "operator-mpl" {
		t.Fatalf("custody: %+v; want a refused scan, then an accepted one by operator-mpl", st.Custody)
	}
	doc = m.page(t, path, op, http.StatusOK)
	if n := len(queryAll(doc, "#custody-table tr.accepted")); n != 1 {
		t.Errorf("got %d accepted scans on the page, want 1", n)
	}
	href, _ := attr(mustQuery(t, doc, "a.label-link"), "href")
	resp, body = m.do(t, "GET", href, nil, op)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "%PDF") {
		t.Errorf("GET %s: got status %d and %.8q, want the label's PDF", href, resp.StatusCode, body)
	}
	// A clinician of another hospital may not scan MPL's patient's bag.
	resp, body = m.do(t, "POST", path+"/custody", scan, m.signIn(t, "clinician-nim"))
	wantStatus(t, resp, body, http.StatusForbidden)
}
