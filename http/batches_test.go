package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/gmp"
	"github.com/clink-consortium/clink/manufacturing"
)

// mfgSetup is a hospital's patient and treatment request on ownSite, with a QA reviewer and a
// QP, from which batches are made in any state.
type mfgSetup struct {
	*matrixEnv
	svc     *manufacturing.Service
	patient *clink.Patient
	req     *clink.TreatmentRequest
	qa, qp  *clink.User
}

func newMfgSetup(e *matrixEnv) *mfgSetup {
	e.tb.Helper()
	m := &mfgSetup{matrixEnv: e}
	svc, err := manufacturing.New(e.store, manufacturing.Config{})
	e.check(err)
	m.svc = svc
	m.patient = &clink.Patient{Hospital: ownSite, Identity: &clink.PatientIdentity{MRN: "BCN-4471", Name: "Puig, Jordi"}}
	e.check(e.store.CreatePatient(e.ctx, m.patient))
	m.req = &clink.TreatmentRequest{PatientID: m.patient.ID, DonorID: e.donor.ID, ProtocolID: e.proto.ID, TargetNKPerKg: 1e7,
		WeightKg: 70, InfusionDates: []string{"2026-12-22"}}
	e.check(e.store.CreateTreatmentRequest(e.ctx, m.req))
	for _, u := range []*clink.User{
		{Username: "mfg-qa", FullName: "Marta QA", Roles: []string{clink.RoleQA}},
		{Username: "mfg-qp", FullName: "Pere QP", Roles: []string{clink.RoleQP}},
	} {
		u.Email = u.Username + "@example.org"
		e.check(e.store.CreateUser(e.ctx, u, testPassword))
	}
	m.qa, _ = e.store.FindUserByUsername(e.ctx, "mfg-qa")
	m.qp, _ = e.store.FindUserByUsername(e.ctx, "mfg-qp")
	return m
}

// values are in-range values of every step of a master record without a feeder.
func stepValues(key string) map[string]float64 {
	switch {
	case key == "receipt":
		return map[string]float64{"volume_ml": 150, "viable_cells": 1.8e9, "viability_pct": 95}
	case key == "cd3_depletion":
		return map[string]float64{"viable_cells": 1.2e9, "cd3_pct": 0.3}
	case key == "seeding":
		return map[string]float64{"seeding_density": 1e6, "volume_ml": 400}
	case strings.HasPrefix(key, "ipc_"):
		return map[string]float64{"viable_per_ml": 2.5e6, "viability_pct": 90, "nk_purity_pct": 80}
	case key == "harvest":
		return map[string]float64{"viable_cells": 4e9, "viability_pct": 92}
	case key == "formulation":
		return map[string]float64{"tnc_per_ml": 2e7, "cd3_pct": 0.1, "available_ml": 90}
	}
	return nil
}

func num(v float64) *float64 { return &v }

// conforming are release results within every limit, sterility included.
var conforming = []manufacturing.ResultInput{
	{Test: gmp.TestViability, Value: num(92)}, {Test: gmp.TestNKPurity, Value: num(85)},
	{Test: gmp.TestResidualFeeders, Value: num(0.01)}, {Test: gmp.TestEndotoxin, Value: num(0.5)},
	{Test: gmp.TestGramStain, Text: "no organisms seen"}, {Test: gmp.TestMycoplasma, Text: "not detected"},
	{Test: gmp.TestIdentity, Text: "identical to donor"}, {Test: gmp.TestPotency, Value: num(45)},
	{Test: gmp.TestCD19, Value: num(0.1)}, {Test: gmp.TestSterility, Text: "no growth"},
}

// batch makes a batch in state: "new", "recorded" (every step and result in) or "released".
func (m *mfgSetup) batch(state string) *clink.Batch {
	m.tb.Helper()
	op := clink.WithActor(context.Background(), "mfg-operator")
	b, err := m.svc.CreateBatch(op, manufacturing.NewBatch{RequestID: m.req.ID, Site: ownSite})
	m.check(err)
	if state == "new" {
		return b
	}
	for _, st := range b.Steps {
		in := manufacturing.StepInput{Step: st.Key, Values: stepValues(st.Key)}
		if st.Reagents {
			in.Reagents = []clink.ReagentLot{{Name: "reagent " + st.Key, Lot: "L1", Expiry: "2099-12-31"}}
		}
		_, err := m.svc.RecordStep(op, b.ID, in)
		m.check(err)
	}
	for _, r := range conforming {
		_, err := m.svc.RecordResult(op, b.ID, r)
		m.check(err)
	}
	if state == "recorded" {
		return b
	}
	for _, s := range []struct {
		u       *clink.User
		meaning string
	}{{m.qa, clink.MeaningReviewed}, {m.qp, clink.MeaningReleased}} {
		_, err := m.svc.Sign(clink.WithActor(context.Background(), s.u.Username), b.ID, s.u,
			manufacturing.SignInput{Meaning: s.meaning, Username: s.u.Username, Password: testPassword})
		m.check(err)
	}
	return b
}

// request returns the request to the manufacturing route named name as subject (whose user
// name is the subject with "@" as "-", and whose password is testPassword).
func (m *mfgSetup) request(name, subject string) (path string, body any, ok bool) {
	m.tb.Helper()
	batch := func(id int64, rest string) string { return fmt.Sprintf("/api/v1/batches/%d%s", id, rest) }
	switch name {
	case "listPatients":
		return "/api/v1/patients", nil, true
	case "createPatient":
		return "/api/v1/patients", clink.Patient{Hospital: ownSite, Identity: &clink.PatientIdentity{MRN: fmt.Sprintf("M%d", m.next()), Name: "Test, Patient"}}, true
	case "getPatient":
		return fmt.Sprintf("/api/v1/patients/%d", m.patient.ID), nil, true
	case "listTreatmentRequests":
		return "/api/v1/treatment-requests", nil, true
	case "createTreatmentRequest":
		r := *m.req
		r.ID = 0
		return "/api/v1/treatment-requests", r, true
	case "getTreatmentRequest":
		return fmt.Sprintf("/api/v1/treatment-requests/%d", m.req.ID), nil, true
	case "listReleaseSpecs":
		return "/api/v1/release-specs", nil, true
	case "createReleaseSpec":
		sp := gmp.DefaultSpec()
		sp.Limits[0].Min.Value = 75
		return "/api/v1/release-specs", map[string]any{"name": "default", "definition": sp, "reason": "IMPD amendment 2"}, true
	case "getReleaseSpec":
		sp, err := m.svc.EnsureDefaultSpec(m.ctx)
		m.check(err)
		return fmt.Sprintf("/api/v1/release-specs/%d", sp.ID), nil, true
	case "listBatches":
		return "/api/v1/batches", nil, true
	case "createBatch":
		return "/api/v1/batches", manufacturing.NewBatch{RequestID: m.req.ID, Site: ownSite}, true
	case "getBatch":
		return batch(m.batch("new").ID, ""), nil, true
	case "recordStep":
		return batch(m.batch("new").ID, "/steps"), manufacturing.StepInput{Step: "receipt", Values: stepValues("receipt")}, true
	case "recordResult":
		return batch(m.batch("new").ID, "/results"), manufacturing.ResultInput{Test: gmp.TestPotency, Value: num(50)}, true
	case "raiseDeviation":
		return batch(m.batch("new").ID, "/deviations"), clink.DeviationData{Description: "late feed", CAPA: "CAPA-1"}, true
	case "signBatch":
		// Both QA and QPs may reject a batch under way.
		user := strings.ReplaceAll(subject, "@", "-")
		return batch(m.batch("new").ID, "/signatures"), manufacturing.SignInput{Meaning: clink.MeaningRejected, Username: user,
			Password: testPassword, Reason: "donor withdrew consent"}, true
	case "scanBatch":
		b := m.batch("released")
		din, _ := gmp.ParseDIN(b.DIN)
		return batch(b.ID, "/custody"), manufacturing.ScanInput{Event: "packed", Place: "GMP unit", DIN: din.Keyboard(), Product: b.ProductCode, COI: b.COI}, true
	case "getCertificate":
		return batch(m.batch("recorded").ID, "/certificate"), nil, true
	case "getLabel":
		return batch(m.batch("released").ID, "/labels/1"), nil, true
	}
	return "", nil, false
}

// TestManufacturingAPI follows a batch through the API as each role: the clinician's patient
// and request, the operator's record, a refused out-of-range value, QA's review with a wrong
// and then the right password, the QP's release, the PDFs, a refused custody scan; and who sees
// the patient's identity.
func TestManufacturingAPI(t *testing.T) {
	srv := newSpecServer(t)
	ctx := clink.WithActor(context.Background(), "setup")
	store := srv.Store
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(store.CreateSite(ctx, &clink.Site{Code: "ZGZ", Name: "Zaragoza", Kind: clink.SiteLab}))
	must(store.CreateSite(ctx, &clink.Site{Code: "MPL", Name: "CHU Montpellier", Kind: clink.SiteHospital}))
	must(store.CreateComponent(ctx, &clink.Component{Site: "ZGZ", Name: "IL-2", Category: clink.CategoryCytokine, Unit: clink.UnitIUPerML}))
	prot := protocolIL2("ZGZ", "IL-2 alone")
	must(store.CreateProtocol(ctx, prot))
	donor := &clink.Donor{Site: "ZGZ", HCMV: clink.HCMVPositive, ConsentDate: "2026-01-15"}
	must(store.CreateDonor(ctx, donor))
	tok := map[string]string{
		"clin": srv.token(t, "clin", "MPL", clink.RoleClinician),
		"op":   srv.token(t, "op", "MPL", clink.RoleOperator),
		"qa":   srv.token(t, "qa", "", clink.RoleQA),
		"qp":   srv.token(t, "qp", "", clink.RoleQP),
		"res":  srv.token(t, "res", "ZGZ", clink.RoleResearcher),
	}
	call := func(who, method, path string, body any) (int, []byte) {
		t.Helper()
		status, _, data := doBody(t, srv.URL, method, path, tok[who], body)
		return status, data
	}
	decode := func(data []byte, v any) {
		t.Helper()
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatalf("%v: %s", err, data)
		}
	}

	status, data := call("clin", "POST", "/api/v1/patients", clink.Patient{Hospital: "MPL", Identity: &clink.PatientIdentity{MRN: "880123", Name: "Durand, Marie"}})
	if status != 201 {
		t.Fatalf("create patient: %d %s", status, data)
	}
	var patient clink.Patient
	decode(data, &patient)
	// The identity is the hospital's: QA sees the code only, a researcher nothing at all.
	_, data = call("qa", "GET", fmt.Sprintf("/api/v1/patients/%d", patient.ID), nil)
	if bytes.Contains(data, []byte("Durand")) || !bytes.Contains(data, []byte("MPL-P0001")) {
		t.Errorf("patient as QA: %s; want the code without the identity", data)
	}
	if _, data = call("clin", "GET", fmt.Sprintf("/api/v1/patients/%d", patient.ID), nil); !bytes.Contains(data, []byte("Durand, Marie")) {
		t.Errorf("patient as the hospital's clinician: %s; want the identity", data)
	}
	if status, _ = call("res", "GET", "/api/v1/patients", nil); status != http.StatusForbidden {
		t.Errorf("patients as a researcher: %d, want 403", status)
	}

	status, data = call("clin", "POST", "/api/v1/treatment-requests", clink.TreatmentRequest{PatientID: patient.ID, DonorID: donor.ID,
		ProtocolID: prot.ID, TargetNKPerKg: 1e7, WeightKg: 64, InfusionDates: []string{"2026-12-20"}})
	if status != 201 {
		t.Fatalf("create request: %d %s", status, data)
	}
	var req clink.TreatmentRequest
	decode(data, &req)

	status, data = call("op", "POST", "/api/v1/batches", manufacturing.NewBatch{RequestID: req.ID, Site: "MPL"})
	if status != 201 {
		t.Fatalf("create batch: %d %s", status, data)
	}
	var b clink.Batch
	decode(data, &b)
	if k, _ := gmp.CheckChar(b.DIN); b.Check != string(k) || !strings.HasPrefix(b.DIN, "G1234") {
		t.Errorf("batch DIN %s check %s", b.DIN, b.Check)
	}
	path := fmt.Sprintf("/api/v1/batches/%d", b.ID)
	status, data = call("op", "POST", path+"/steps", manufacturing.StepInput{Step: "receipt", Values: map[string]float64{"volume_ml": 150, "viable_cells": 1.8e9, "viability_pct": 134}})
	if status != 422 || !bytes.Contains(data, []byte(`"field":"values.viability_pct"`)) || !bytes.Contains(data, []byte("134 is above 100 %")) {
		t.Errorf("out-of-range step: %d %s; want 422 naming values.viability_pct", status, data)
	}
	for _, st := range b.Steps {
		in := manufacturing.StepInput{Step: st.Key, Values: stepValues(st.Key)}
		if st.Reagents {
			in.Reagents = []clink.ReagentLot{{Name: "reagent", Lot: "L1", Expiry: "2099-12-31"}}
		}
		if status, data = call("op", "POST", path+"/steps", in); status != 201 {
			t.Fatalf("step %s: %d %s", st.Key, status, data)
		}
	}
	for _, r := range conforming {
		if status, data = call("op", "POST", path+"/results", r); status != 201 {
			t.Fatalf("result %s: %d %s", r.Test, status, data)
		}
	}
	status, data = call("qa", "POST", path+"/signatures", manufacturing.SignInput{Meaning: clink.MeaningReviewed, Username: "qa", Password: "not the password"})
	if status != 422 || !bytes.Contains(data, []byte("the signature is refused and the attempt recorded")) {
		t.Errorf("wrong password: %d %s", status, data)
	}
	if status, data = call("qa", "POST", path+"/signatures", manufacturing.SignInput{Meaning: clink.MeaningReviewed, Username: "qa", Password: testPassword}); status != 201 {
		t.Fatalf("review: %d %s", status, data)
	}
	if status, data = call("qp", "POST", path+"/signatures", manufacturing.SignInput{Meaning: clink.MeaningReleased, Username: "qp", Password: testPassword}); status != 201 {
		t.Fatalf("release: %d %s", status, data)
	}
	status, data = call("qa", "GET", path, nil)
	var st struct {
		Batch      clink.Batch `json:"batch"`
		Refusals   []any       `json:"refusals"`
		Signatures []struct {
			Data  clink.SignatureData `json:"data"`
			Valid bool                `json:"valid"`
		} `json:"signatures"`
	}
	decode(data, &st)
	if status != 200 || st.Batch.Status != clink.BatchReleased || len(st.Refusals) != 1 || len(st.Signatures) != 2 || st.Signatures[1].Data.PrintedName != "Test qp" {
		t.Fatalf("batch after release: %d %s", status, data)
	}
	for _, p := range []string{path + "/certificate", path + "/labels/1"} {
		status, _, pdf := doBody(t, srv.URL, "GET", p, tok["clin"], nil)
		if status != 200 || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
			t.Errorf("GET %s: %d, %d bytes; want a PDF", p, status, len(pdf))
		}
	}
	status, data = call("op", "POST", path+"/custody", manufacturing.ScanInput{Event: "packed", Place: "GMP", DIN: "G123499999999", Product: b.ProductCode, COI: b.COI})
	if status != 422 || !bytes.Contains(data, []byte("refused and recorded")) {
		t.Errorf("mismatched scan: %d %s", status, data)
	}
	// The wrong password is in the audit trail, as a failed sign-in and as the batch's refusal.
	status, data = call("qa", "GET", "/api/v1/audit?user=qa", nil)
	if status != 200 || !bytes.Contains(data, []byte(`"action":"login_failed"`)) || !bytes.Contains(data, []byte("signature_refused")) {
		t.Errorf("audit of qa: %d %s", status, data)
	}
}
