package sqldb_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/sqldb"
)

// mfgFixture is a hospital with a patient, a treatment request, a release specification and a
// batch, on top of the research fixture.
type mfgFixture struct {
	*fixture
	patient *clink.Patient
	request *clink.TreatmentRequest
	spec    *clink.ReleaseSpec
	batch   *clink.Batch
}

func seedManufacturing(tb testing.TB, s *sqldb.Store) *mfgFixture {
	tb.Helper()
	f := &mfgFixture{fixture: seed(tb, s)}
	must(tb, s.CreateSite(actx, &clink.Site{Code: "MPL", Name: "CHU Montpellier", Kind: clink.SiteHospital}))
	f.patient = &clink.Patient{Hospital: "MPL", Identity: &clink.PatientIdentity{MRN: "MRN-880123", Name: "Durand, Marie", BirthYear: 1961}}
	must(tb, s.CreatePatient(actx, f.patient))
	f.request = &clink.TreatmentRequest{PatientID: f.patient.ID, DonorID: f.zgzDonor.ID, ProtocolID: f.protocol.ID,
		TargetNKPerKg: 1e7, WeightKg: 64, InfusionDates: []string{"2025-04-01"}}
	must(tb, s.CreateTreatmentRequest(actx, f.request))
	f.spec = &clink.ReleaseSpec{Name: "default", Definition: json.RawMessage(`{"name":"default","version":1,"limits":[]}`), Reason: "defaults"}
	must(tb, s.CreateReleaseSpec(actx, f.spec))
	f.batch = newBatch(f, 1)
	must(tb, s.CreateBatch(actx, f.batch))
	return f
}

func newBatch(f *mfgFixture, seq int) *clink.Batch {
	return &clink.Batch{Site: "MPL", Lot: "G1234-25-00000" + string(rune('0'+seq)), DIN: "G12342500000" + string(rune('0'+seq)), Check: "X",
		Facility: "G1234", DINYear: 25, DINSequence: seq, ProductCode: "S0001V00", COI: "CHG123425000001",
		RequestID: f.request.ID, ProtocolID: f.protocol.ID, SpecID: f.spec.ID, Status: clink.BatchInProcess,
		Steps: []clink.MasterStep{{Key: "receipt", Name: "Receipt", Fields: []clink.StepField{{Key: "volume_ml", Name: "Volume"}}}}}
}

func TestPatientsAndRequests(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		f := seedManufacturing(t, s)
		if f.patient.Code != "MPL-P0001" {
			t.Errorf("first patient of MPL: code %q, want MPL-P0001", f.patient.Code)
		}
		p2 := &clink.Patient{Hospital: "MPL"}
		must(t, s.CreatePatient(actx, p2))
		if p2.Code != "MPL-P0002" || p2.Identity != nil {
			t.Errorf("second patient: %+v, want MPL-P0002 without identity", p2)
		}
		// A patient belongs to a hospital.
		wantCode(t, s.CreatePatient(actx, &clink.Patient{Hospital: "ZGZ"}), clink.EINVALID, "hospital")
		wantCode(t, s.CreatePatient(actx, &clink.Patient{Hospital: "MPL", Identity: &clink.PatientIdentity{MRN: " ", Name: "X"}}), clink.EINVALID, "identity.mrn")

		got, err := s.FindPatientByID(actx, f.patient.ID)
		must(t, err)
		if got.Identity == nil || got.Identity.MRN != "MRN-880123" || got.Identity.Name != "Durand, Marie" {
			t.Errorf("stored identity %+v, want the one given", got.Identity)
		}
		// The audit trail never holds the identity.
		var after string
		must(t, s.DB().QueryRow("SELECT after_json FROM audit_events WHERE entity = 'patient' AND entity_id = $1", f.patient.ID).Scan(&after))
		if strings.Contains(after, "MRN-880123") || strings.Contains(after, "Durand") || !strings.Contains(after, "MPL-P0001") {
			t.Errorf("audit of the patient: %s; want the code and no identity", after)
		}

		if f.request.PatientCode != "MPL-P0001" || f.request.Hospital != "MPL" || f.request.Protocol != "IL-2 + feeder v1" || f.request.DonorCode == "" {
			t.Errorf("request as stored: %+v; want the patient's code and hospital, the donor's code and the protocol", f.request)
		}
		bad := *f.request
		bad.DonorID, bad.ProtocolID = 9999, 9998
		err = s.CreateTreatmentRequest(actx, &bad)
		wantCode(t, err, clink.EINVALID, "donor_id")
		wantCode(t, err, clink.EINVALID, "protocol_id")
		bad = *f.request
		bad.WeightKg = 0
		wantCode(t, s.CreateTreatmentRequest(actx, &bad), clink.EINVALID, "weight_kg")

		list, total, err := s.FindTreatmentRequests(actx, clink.TreatmentRequestFilter{Hospital: "MPL"})
		must(t, err)
		if total != 1 || len(list) != 1 || list[0].ID != f.request.ID {
			t.Errorf("requests of MPL: %d (%v), want the one", total, list)
		}
		if _, total, _ := s.FindTreatmentRequests(actx, clink.TreatmentRequestFilter{Hospital: "NIM"}); total != 0 {
			t.Errorf("requests of NIM: %d, want 0", total)
		}
		if _, err := s.VerifyAudit(actx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestReleaseSpecsAndBatches(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		f := seedManufacturing(t, s)
		v2 := &clink.ReleaseSpec{Name: "default", Definition: json.RawMessage(`{"name":"default","version":2,"limits":[]}`), Reason: "IMPD 3.2"}
		must(t, s.CreateReleaseSpec(actx, v2))
		if v2.Version != 2 {
			t.Errorf("next version: got %d, want 2", v2.Version)
		}
		taken := &clink.ReleaseSpec{Name: "default", Version: 1, Definition: json.RawMessage(`{}`), Reason: "again"}
		wantCode(t, s.CreateReleaseSpec(actx, taken), clink.ECONFLICT, "")
		wantCode(t, s.CreateReleaseSpec(actx, &clink.ReleaseSpec{Name: "x", Definition: json.RawMessage(`[]`), Reason: "r"}), clink.EINVALID, "definition")
		specs, err := s.FindReleaseSpecs(actx, "default")
		must(t, err)
		if len(specs) != 2 || specs[1].Reason != "IMPD 3.2" {
			t.Errorf("versions: %v, want 2 with their reasons", specs)
		}
		if _, err := s.DB().Exec("UPDATE release_specs SET reason = 'x'"); err == nil {
			t.Error("UPDATE of a release specification version succeeded; want it refused")
		}

		b := f.batch
		if b.ID == 0 || b.PatientCode != "MPL-P0001" || b.Hospital != "MPL" || b.Spec != "default v1" || b.Protocol != "IL-2 + feeder v1" || len(b.Steps) != 1 {
			t.Errorf("batch as stored: %+v", b)
		}
		dup := newBatch(f, 1)
		wantCode(t, s.CreateBatch(actx, dup), clink.ECONFLICT, "")
		got, err := s.FindBatchByDIN(actx, b.DIN)
		must(t, err)
		if got.ID != b.ID {
			t.Errorf("FindBatchByDIN: batch %d, want %d", got.ID, b.ID)
		}
		if n, err := s.MaxDINSequence(actx, "G1234", 25); err != nil || n != 1 {
			t.Errorf("MaxDINSequence = %d, %v; want 1", n, err)
		}
		if n, _ := s.MaxDINSequence(actx, "G1234", 26); n != 0 {
			t.Errorf("MaxDINSequence of another year = %d, want 0", n)
		}
		moved, err := s.SetBatchStatus(actx, b.ID, clink.BatchReviewed, "QA reviewed")
		must(t, err)
		if moved.Status != clink.BatchReviewed || moved.StatusReason != "QA reviewed" {
			t.Errorf("status: %+v", moved)
		}
		_, err = s.SetBatchStatus(actx, b.ID, "shipped", "why not")
		wantCode(t, err, clink.EINVALID, "status")
		if _, err := s.DB().Exec("UPDATE batches SET din = 'G123425999999'"); err == nil {
			t.Error("UPDATE of a batch's DIN succeeded; want it refused")
		}
		if _, err := s.DB().Exec("DELETE FROM batches"); err == nil {
			t.Error("DELETE of a batch succeeded; want it refused")
		}
		list, total, err := s.FindBatches(actx, clink.BatchFilter{Status: clink.BatchReviewed})
		must(t, err)
		if total != 1 || list[0].ID != b.ID {
			t.Errorf("reviewed batches: %d, want 1", total)
		}
	})
}

func TestBatchEntries(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		f := seedManufacturing(t, s)
		b := f.batch
		first := &clink.BatchEntry{BatchID: b.ID, Kind: clink.EntryStep, Key: "receipt", Data: json.RawMessage(`{"values":{"volume_ml":100}}`)}
		must(t, s.AddBatchEntry(actx, first))
		// A correction names the entry and a reason; the first stays, marked superseded.
		noReason := &clink.BatchEntry{BatchID: b.ID, Kind: clink.EntryStep, Key: "receipt", Data: json.RawMessage(`{}`), Supersedes: first.ID}
		wantCode(t, s.AddBatchEntry(actx, noReason), clink.EINVALID, "reason")
		other := &clink.BatchEntry{BatchID: b.ID, Kind: clink.EntryResult, Key: "receipt", Data: json.RawMessage(`{}`), Supersedes: first.ID, Reason: "r"}
		wantCode(t, s.AddBatchEntry(actx, other), clink.EINVALID, "supersedes")
		fix := &clink.BatchEntry{BatchID: b.ID, Kind: clink.EntryStep, Key: "receipt", Data: json.RawMessage(`{"values":{"volume_ml":110}}`), Supersedes: first.ID, Reason: "typo: 110 mL on the bag"}
		must(t, s.AddBatchEntry(actx, fix))
		again := &clink.BatchEntry{BatchID: b.ID, Kind: clink.EntryStep, Key: "receipt", Data: json.RawMessage(`{}`), Supersedes: first.ID, Reason: "again"}
		wantCode(t, s.AddBatchEntry(actx, again), clink.ECONFLICT, "")
		wantCode(t, s.AddBatchEntry(actx, &clink.BatchEntry{BatchID: 999, Kind: clink.EntryStep, Key: "x", Data: json.RawMessage(`{}`)}), clink.EINVALID, "batch_id")
		wantCode(t, s.AddBatchEntry(actx, &clink.BatchEntry{BatchID: b.ID, Kind: "note", Key: "x", Data: json.RawMessage(`{}`)}), clink.EINVALID, "kind")

		entries, err := s.FindBatchEntries(actx, b.ID)
		must(t, err)
		if len(entries) != 2 || entries[0].SupersededBy != fix.ID || entries[1].Supersedes != first.ID || entries[1].Reason != "typo: 110 mL on the bag" {
			t.Fatalf("entries: %+v %+v; want the first superseded by the correction", entries[0], entries[1])
		}
		if string(entries[0].Data) != `{"values":{"volume_ml":100}}` {
			t.Errorf("the first entry's data: %s, want it as written", entries[0].Data)
		}
		for _, q := range []string{"UPDATE batch_entries SET data = '{}'", "DELETE FROM batch_entries"} {
			if _, err := s.DB().Exec(q); err == nil {
				t.Errorf("%s succeeded; want batch entries append-only", q)
			}
		}
		if _, err := s.FindBatchEntries(actx, 999); clink.ErrorCode(err) != clink.ENOTFOUND {
			t.Errorf("entries of a missing batch: %v, want ENOTFOUND", err)
		}
		if _, err := s.VerifyAudit(actx); err != nil {
			t.Fatal(err)
		}
	})
}
