package manufacturing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/gmp"
	"github.com/clink-consortium/clink/manufacturing"
	"github.com/clink-consortium/clink/sqldb"
)

const password = "correct horse battery 42"

// world is a store with a lab, a hospital with its GMP unit, the people of a batch, a
// protocol, a patient and a treatment request.
type world struct {
	store   *sqldb.Store
	svc     *manufacturing.Service
	users   map[string]*clink.User
	request *clink.TreatmentRequest
	now     time.Time
}

func (w *world) as(name string) context.Context { return clink.WithActor(context.Background(), name) }

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := clink.WithActor(context.Background(), "setup")
	s, err := sqldb.Open(ctx, filepath.Join(t.TempDir(), "clink.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	must(t, s.Migrate(ctx))
	w := &world{store: s, users: map[string]*clink.User{}, now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	must(t, s.CreateSite(ctx, &clink.Site{Code: "ZGZ", Name: "Zaragoza", Kind: clink.SiteLab}))
	must(t, s.CreateSite(ctx, &clink.Site{Code: "MPL", Name: "CHU Montpellier", Kind: clink.SiteHospital}))
	for _, u := range []*clink.User{
		{Username: "op1", FullName: "Olivia Operator", Site: "MPL", Roles: []string{clink.RoleOperator}},
		{Username: "op2", FullName: "Oscar Operator", Site: "MPL", Roles: []string{clink.RoleOperator}},
		{Username: "qa1", FullName: "Quentin Assurance", Roles: []string{clink.RoleQA}},
		{Username: "qp1", FullName: "Dr Paula Qualified", Roles: []string{clink.RoleQP}},
	} {
		u.Email = u.Username + "@example.org"
		must(t, s.CreateUser(ctx, u, password))
		w.users[u.Username] = u
	}
	must(t, s.CreateComponent(ctx, &clink.Component{Site: "ZGZ", Name: "IL-2", Category: clink.CategoryCytokine, Unit: clink.UnitIUPerML}))
	must(t, s.CreateComponent(ctx, &clink.Component{Site: "ZGZ", Name: "K562-mbIL21-41BBL", Category: clink.CategoryFeeder, Unit: clink.UnitGray}))
	ratio := 2.0
	prot := &clink.Protocol{Site: "ZGZ", Name: "K562-mbIL21-41BBL + IL-2", StartingMaterial: clink.StartPBMC, Vessel: clink.VesselGRex,
		SeedingDensity: 1e6, DurationDays: 14, FeederRatio: &ratio, FeederRatioBasis: clink.BasisFeederNK, RestimulationDays: []int{7},
		Components: []clink.ProtocolComponent{{Component: "IL-2", Dose: 100, Unit: "iu/ml", Days: []int{0, 7}}, {Component: "K562-mbIL21-41BBL", Dose: 100, Days: []int{0, 7}}}}
	must(t, s.CreateProtocol(ctx, prot))
	donor := &clink.Donor{Site: "ZGZ", Sex: clink.SexFemale, AgeBand: "25-29", HCMV: clink.HCMVPositive, NKG2C: clink.NKG2CPlusDel, ConsentDate: "2026-01-10"}
	must(t, s.CreateDonor(ctx, donor))
	patient := &clink.Patient{Hospital: "MPL", Identity: &clink.PatientIdentity{MRN: "880123", Name: "Durand, Marie"}}
	must(t, s.CreatePatient(ctx, patient))
	w.request = &clink.TreatmentRequest{PatientID: patient.ID, DonorID: donor.ID, ProtocolID: prot.ID, TargetNKPerKg: 1e7, WeightKg: 64,
		InfusionDates: []string{"2026-12-20"}}
	must(t, s.CreateTreatmentRequest(ctx, w.request))
	svc, err := manufacturing.New(s, manufacturing.Config{Facility: "G1234", ProductDescription: "S0001"})
	must(t, err)
	svc.Now = func() time.Time { return w.now }
	w.svc = svc
	return w
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

func wantErr(tb testing.TB, err error, code, field, text string) {
	tb.Helper()
	if clink.ErrorCode(err) != code {
		tb.Fatalf("error %v: kind %q, want %q", err, clink.ErrorCode(err), code)
	}
	msg := err.Error()
	for _, f := range clink.ErrorFields(err) {
		msg += "; " + f.Field + ": " + f.Message
	}
	if field != "" && !strings.Contains(msg, field+":") {
		tb.Fatalf("error %q names no field %q", msg, field)
	}
	if !strings.Contains(msg, text) {
		tb.Fatalf("error %q does not say %q", msg, text)
	}
}

func reagent(name string) []clink.ReagentLot {
	return []clink.ReagentLot{{Name: name, Lot: "L" + strings.ToUpper(name[:2]) + "-2611", Expiry: "2027-06-30"}}
}

// stepValues are in-range values of every step of the protocol's master record.
var stepValues = map[string]map[string]float64{
	"receipt":            {"volume_ml": 180, "viable_cells": 2.1e9, "viability_pct": 96},
	"cd3_depletion":      {"viable_cells": 1.4e9, "cd3_pct": 0.2},
	"feeder_preparation": {"irradiation_gy": 100, "feeder_cells": 2e8},
	"seeding":            {"seeding_density": 1.02e6, "volume_ml": 500},
	"restimulation_d7":   {"feeder_ratio": 2},
	"ipc_d7":             {"viable_per_ml": 3.1e6, "viability_pct": 91, "nk_purity_pct": 78},
	"harvest":            {"viable_cells": 5.2e9, "viability_pct": 93},
	"formulation":        {"tnc_per_ml": 2e7, "cd3_pct": 0.1, "available_ml": 80},
}

// recordAll records every step of b as op1, in order.
func (w *world) recordAll(t *testing.T, b *clink.Batch) {
	t.Helper()
	for _, st := range b.Steps {
		in := manufacturing.StepInput{Step: st.Key, Values: stepValues[st.Key], Equipment: "BSC-2"}
		if st.Reagents {
			in.Reagents = reagent(st.Key)
		}
		if _, err := w.svc.RecordStep(w.as("op1"), b.ID, in); err != nil {
			t.Fatalf("step %s: %v", st.Key, err)
		}
	}
}

func num(v float64) *float64 { return &v }

// resultsConforming are release results within every limit, sterility still outstanding.
var resultsConforming = []manufacturing.ResultInput{
	{Test: gmp.TestViability, Value: num(92)},
	{Test: gmp.TestNKPurity, Value: num(85)},
	{Test: gmp.TestResidualFeeders, Value: num(0.01)},
	{Test: gmp.TestEndotoxin, Value: num(0.5)},
	{Test: gmp.TestGramStain, Text: "no organisms seen"},
	{Test: gmp.TestMycoplasma, Text: "not detected"},
	{Test: gmp.TestIdentity, Text: "identical to donor"},
	{Test: gmp.TestPotency, Value: num(45)},
	{Test: gmp.TestCD19, Value: num(0.1)},
}

func (w *world) enter(t *testing.T, b *clink.Batch, results []manufacturing.ResultInput) {
	t.Helper()
	for _, r := range results {
		if _, err := w.svc.RecordResult(w.as("op2"), b.ID, r); err != nil {
			t.Fatalf("result %s: %v", r.Test, err)
		}
	}
}

func (w *world) sign(b *clink.Batch, user, meaning, reason string) error {
	_, err := w.svc.Sign(w.as(user), b.ID, w.users[user], manufacturing.SignInput{Meaning: meaning, Username: user, Password: password, Reason: reason})
	return err
}

// TestBatchToRelease follows one batch from creation to release and the bedside (issue 8,
// "Done means"): identifiers, the step and result checks, the dose, QA review and QP release
// with re-entered passwords, a correction after review, conditional release completed by the
// late sterility result, custody scans, and the certificate and label.
func TestBatchToRelease(t *testing.T) {
	w := newWorld(t)
	b, err := w.svc.CreateBatch(w.as("op1"), manufacturing.NewBatch{RequestID: w.request.ID, Site: "MPL"})
	must(t, err)
	if b.DIN != "G123426000001" || b.Lot != "G1234-26-000001" || b.Status != clink.BatchInProcess {
		t.Fatalf("batch: DIN %s lot %s status %s; want the facility's first DIN of 2026", b.DIN, b.Lot, b.Status)
	}
	// The check character is MOD 37-2 of the DIN (gmp.md §2.4; gmp's tests hold the vectors).
	if k, _ := gmp.CheckChar(b.DIN); b.Check != string(k) {
		t.Errorf("check character %s, want %c", b.Check, k)
	}
	if b.COI != "CHG123426000001" || b.ProductCode != "S0001V00" || b.PatientCode != "MPL-P0001" {
		t.Errorf("COI %s product %s patient %s", b.COI, b.ProductCode, b.PatientCode)
	}
	keys := []string{}
	for _, s := range b.Steps {
		keys = append(keys, s.Key)
	}
	if got := strings.Join(keys, " "); got != "receipt cd3_depletion feeder_preparation seeding restimulation_d7 ipc_d7 harvest formulation" {
		t.Errorf("master record steps: %s", got)
	}
	b2, err := w.svc.CreateBatch(w.as("op1"), manufacturing.NewBatch{RequestID: w.request.ID, Site: "MPL"})
	must(t, err)
	if b2.DIN != "G123426000002" {
		t.Errorf("second batch DIN %s, want the next sequence", b2.DIN)
	}

	// Steps are refused out of order, out of range without a deviation, and with an expired
	// reagent; nothing is written.
	_, err = w.svc.RecordStep(w.as("op1"), b.ID, manufacturing.StepInput{Step: "seeding", Values: stepValues["seeding"], Reagents: reagent("il2")})
	wantErr(t, err, clink.EINVALID, "step", "Receipt of starting material comes before Seeding with cytokines")
	_, err = w.svc.RecordStep(w.as("op1"), b.ID, manufacturing.StepInput{Step: "receipt", Values: map[string]float64{"volume_ml": 180, "viable_cells": 2.1e9, "viability_pct": 62}})
	wantErr(t, err, clink.EINVALID, "values.viability_pct", "62 is below 70 %: describe the deviation")
	_, err = w.svc.RecordStep(w.as("op1"), b.ID, manufacturing.StepInput{Step: "receipt", Values: map[string]float64{"volume_ml": 180}})
	wantErr(t, err, clink.EINVALID, "values.viable_cells", "Viable nucleated cells is required")
	_, err = w.svc.RecordStep(w.as("op1"), b.ID, manufacturing.StepInput{Step: "receipt", Values: stepValues["receipt"]})
	must(t, err)
	_, err = w.svc.RecordStep(w.as("op1"), b.ID, manufacturing.StepInput{Step: "cd3_depletion", Values: stepValues["cd3_depletion"],
		Reagents: []clink.ReagentLot{{Name: "CD3 MicroBeads", Lot: "5201", Expiry: "2026-11-30"}}})
	wantErr(t, err, clink.EINVALID, "reagents[0].expiry", "CD3 MicroBeads lot 5201 expired on 2026-11-30")
	st, err := w.svc.Load(context.Background(), b.ID)
	must(t, err)
	if len(st.Entries) != 1 {
		t.Fatalf("entries after refused steps: %d, want only the receipt", len(st.Entries))
	}
	// An out-of-range value with its deviation is recorded.
	rest := b.Steps[1:]
	for _, ms := range rest {
		in := manufacturing.StepInput{Step: ms.Key, Values: stepValues[ms.Key]}
		if ms.Reagents {
			in.Reagents = reagent(ms.Key)
		}
		if ms.Key == "ipc_d7" {
			in.Values = map[string]float64{"viable_per_ml": 3.1e6, "viability_pct": 68, "nk_purity_pct": 78}
			in.Deviation, in.CAPA = "viability 68 % on day 7 after a late feed", "CAPA-2026-041"
		}
		if _, err := w.svc.RecordStep(w.as("op1"), b.ID, in); err != nil {
			t.Fatalf("step %s: %v", ms.Key, err)
		}
	}

	// Results: a qualitative one needs text, a percentage is bounded, derived ones are not
	// entered.
	_, err = w.svc.RecordResult(w.as("op2"), b.ID, manufacturing.ResultInput{Test: gmp.TestMycoplasma, Value: num(0)})
	wantErr(t, err, clink.EINVALID, "text", "qualitative test")
	_, err = w.svc.RecordResult(w.as("op2"), b.ID, manufacturing.ResultInput{Test: gmp.TestViability, Value: num(134)})
	wantErr(t, err, clink.EINVALID, "value", "134 is not a percentage")
	_, err = w.svc.RecordResult(w.as("op2"), b.ID, manufacturing.ResultInput{Test: gmp.TestResidualCD3, Value: num(1)})
	wantErr(t, err, clink.EINVALID, "test", "computed by the dose calculation")
	w.enter(t, b, resultsConforming)

	st, err = w.svc.Load(context.Background(), b.ID)
	must(t, err)
	// gmp.md §5 by hand: c_NK = 2e7 x 0.92 x 0.85 = 1.564e7/mL; V_NK = 1e7 x 64 / 1.564e7 =
	// 40.92 mL, rounded down to 40.9 mL; delivered 40.9 x 1.564e7 / 64 = 9.995e6/kg (99.95 %).
	if st.Dose == nil || st.Dose.VolumeML != 40.9 || st.Dose.LimitedBy != gmp.LimitNKTarget {
		t.Fatalf("dose: %+v (%s); want 40.9 mL set by the NK target", st.Dose, st.DoseProblem)
	}
	if st.Assessment.Status != gmp.Releasable || strings.Join(st.Assessment.Outstanding, ",") != gmp.TestSterility {
		t.Fatalf("assessment %s, outstanding %v, missing %v; want releasable with sterility outstanding", st.Assessment.Status, st.Assessment.Outstanding, st.Assessment.Missing)
	}
	if st.Next != "qa_review" {
		t.Errorf("next stage %q, missing %v; want qa_review", st.Next, st.Missing)
	}

	// Signing: the role, the password and four eyes are checked; refusals are recorded.
	wantErr(t, w.sign(b, "op1", clink.MeaningReviewed, ""), clink.EFORBIDDEN, "", "only QA reviews")
	_, err = w.svc.Sign(w.as("qa1"), b.ID, w.users["qa1"], manufacturing.SignInput{Meaning: clink.MeaningReviewed, Username: "qa1", Password: "wrong password 1"})
	wantErr(t, err, clink.EINVALID, "password", "is not right")
	wantErr(t, w.sign(b, "qp1", clink.MeaningReleased, ""), clink.ECONFLICT, "", "QA reviews it before the QP releases it")
	must(t, w.sign(b, "qa1", clink.MeaningReviewed, ""))
	st, err = w.svc.Load(context.Background(), b.ID)
	must(t, err)
	if len(st.Refusals) != 3 || st.Batch.Status != clink.BatchReviewed || st.Next != "qp_release" {
		t.Fatalf("after review: %d refusals, status %s, next %s; want 3 refusals recorded, reviewed", len(st.Refusals), st.Batch.Status, st.Next)
	}
	var failed int
	must(t, w.store.DB().QueryRow("SELECT COUNT(*) FROM audit_events WHERE action = 'login_failed' AND actor = 'qa1'").Scan(&failed))
	if failed != 1 {
		t.Errorf("audited failed password checks of qa1: %d, want 1", failed)
	}

	// A correction after review: QA's signature shows the change, the QP cannot release.
	potency := st.Results[gmp.TestPotency].Entry.ID
	_, err = w.svc.RecordResult(w.as("op2"), b.ID, manufacturing.ResultInput{Test: gmp.TestPotency, Value: num(47), Supersedes: potency, Reason: "transcription error: 47 % on the plate report"})
	must(t, err)
	st, err = w.svc.Load(context.Background(), b.ID)
	must(t, err)
	if !st.Signatures[0].Valid || !st.Signatures[0].Changed || !st.Results[gmp.TestPotency].Corrected {
		t.Fatalf("after the correction: signature valid %v, corrected %v; want the record changed since signing", st.Signatures[0].Valid, st.Results[gmp.TestPotency].Corrected)
	}
	wantErr(t, w.sign(b, "qp1", clink.MeaningReleased, ""), clink.ECONFLICT, "", "changed since QA reviewed it")
	must(t, w.sign(b, "qa1", clink.MeaningReviewed, "reviewed the potency correction"))
	must(t, w.sign(b, "qp1", clink.MeaningReleased, ""))
	st, err = w.svc.Load(context.Background(), b.ID)
	must(t, err)
	if st.Batch.Status != clink.BatchReleasedConditional {
		t.Fatalf("status %s, want released with the sterility culture outstanding", st.Batch.Status)
	}
	// Only the outstanding result may be entered now; when it passes the release is complete.
	_, err = w.svc.RecordResult(w.as("op2"), b.ID, manufacturing.ResultInput{Test: gmp.TestCD19, Value: num(0.2), Supersedes: st.Results[gmp.TestCD19].Entry.ID, Reason: "r"})
	wantErr(t, err, clink.ECONFLICT, "", "only its outstanding results")
	w.now = w.now.Add(14 * 24 * time.Hour)
	_, err = w.svc.RecordResult(w.as("op2"), b.ID, manufacturing.ResultInput{Test: gmp.TestSterility, Text: "no growth"})
	must(t, err)
	st, err = w.svc.Load(context.Background(), b.ID)
	must(t, err)
	if st.Batch.Status != clink.BatchReleased {
		t.Fatalf("status after the sterility result: %s, want released", st.Batch.Status)
	}

	// Custody: a scan of another unit is refused and recorded; the right one is accepted.
	din, _ := gmp.ParseDIN(b.DIN)
	_, err = w.svc.Scan(w.as("op1"), b.ID, manufacturing.ScanInput{Event: "packed", Place: "GMP MPL", DIN: "G123426000002" + b2.Check, Product: b.ProductCode, COI: b.COI})
	wantErr(t, err, clink.EINVALID, "scan", "refused and recorded: din: scanned G123426000002, expected G123426000001")
	_, err = w.svc.Scan(w.as("op1"), b.ID, manufacturing.ScanInput{Event: "packed", Place: "GMP MPL", DIN: din.Keyboard(), Product: b.ProductCode, COI: b.COI})
	must(t, err)
	_, err = w.svc.Scan(w.as("op1"), b.ID, manufacturing.ScanInput{Event: "infused", Place: "Ward 3", DIN: din.Keyboard(), Product: b.ProductCode, COI: b.COI, Recipient: "MPL-P0001"})
	wantErr(t, err, clink.EINVALID, "scan", "event:")
	st, err = w.svc.Load(context.Background(), b.ID)
	must(t, err)
	if len(st.Custody) != 3 || st.Custody[0].Data.Accepted || !st.Custody[1].Data.Accepted || st.Custody[2].Data.Accepted {
		t.Errorf("custody: %+v; want refused, accepted, refused", st.Custody)
	}

	// The certificate and the label, read back as text.
	pdf, err := w.svc.Certificate(context.Background(), b.ID)
	must(t, err)
	text := pdftotext(t, pdf)
	for _, want := range []string{"G1234 26 000001 " + b.Check, "Quentin Assurance", "Dr Paula Qualified", "released", "changed since original entry", "Potency", "47 %", "no growth"} {
		if !strings.Contains(text, want) {
			t.Errorf("certificate text lacks %q:\n%s", want, text)
		}
	}
	if !strings.Contains(text, "reviewed (changed since") || strings.Count(text, "changed since") != 2 {
		t.Errorf("certificate does not show the first review as superseded by the change:\n%s", text)
	}
	label, err := w.svc.Label(context.Background(), b.ID, 1)
	must(t, err)
	lt := pdftotext(t, label)
	for _, want := range []string{"G1234 26 000001", b.Check, "CHG123426000001", "NK cells, expanded, fresh", "40.9 mL"} {
		if !strings.Contains(lt, want) {
			t.Errorf("label text lacks %q:\n%s", want, lt)
		}
	}
	if _, err := w.store.VerifyAudit(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestOutOfSpecification checks that a batch out of a hard limit cannot be reviewed or
// released, and that one out of a soft limit needs a deviation and the QP's reason.
func TestOutOfSpecification(t *testing.T) {
	w := newWorld(t)
	hard, err := w.svc.CreateBatch(w.as("op1"), manufacturing.NewBatch{RequestID: w.request.ID, Site: "MPL"})
	must(t, err)
	w.recordAll(t, hard)
	results := append([]manufacturing.ResultInput{}, resultsConforming...)
	results[2] = manufacturing.ResultInput{Test: gmp.TestResidualFeeders, Value: num(0.5)}
	results = append(results, manufacturing.ResultInput{Test: gmp.TestSterility, Text: "no growth"})
	w.enter(t, hard, results)
	wantErr(t, w.sign(hard, "qa1", clink.MeaningReviewed, ""), clink.ECONFLICT, "", "out of a hard limit (Residual feeder cells): reject it")
	st, err := w.svc.Load(context.Background(), hard.ID)
	must(t, err)
	if st.Assessment.Status != gmp.Blocked || !strings.Contains(strings.Join(st.Missing, "|"), "cannot be released") {
		t.Errorf("blocked batch: status %s, missing %v", st.Assessment.Status, st.Missing)
	}
	wantErr(t, w.sign(hard, "qa1", clink.MeaningRejected, ""), clink.EINVALID, "reason", "say why")
	must(t, w.sign(hard, "qa1", clink.MeaningRejected, "residual K562 0.5 %"))

	soft, err := w.svc.CreateBatch(w.as("op1"), manufacturing.NewBatch{RequestID: w.request.ID, Site: "MPL"})
	must(t, err)
	w.recordAll(t, soft)
	results = append([]manufacturing.ResultInput{}, resultsConforming...)
	results[7] = manufacturing.ResultInput{Test: gmp.TestPotency, Value: num(15)}
	results = append(results, manufacturing.ResultInput{Test: gmp.TestSterility, Text: "no growth"})
	w.enter(t, soft, results)
	wantErr(t, w.sign(soft, "qa1", clink.MeaningReviewed, ""), clink.ECONFLICT, "", "Potency is out of its soft limit; raise a deviation")
	_, err = w.svc.RaiseDeviation(w.as("op1"), soft.ID, clink.DeviationData{Description: "potency 15 % at 20:1", CAPA: "CAPA-2026-050", Tests: []string{gmp.TestPotency}})
	must(t, err)
	must(t, w.sign(soft, "qa1", clink.MeaningReviewed, ""))
	wantErr(t, w.sign(soft, "qp1", clink.MeaningReleased, ""), clink.EINVALID, "reason", "out of a soft limit (Potency 15 %, limit > 20 %)")
	must(t, w.sign(soft, "qp1", clink.MeaningReleased, "no alternative product; physician informed"))
	st, err = w.svc.Load(context.Background(), soft.ID)
	must(t, err)
	if st.Batch.Status != clink.BatchReleased || st.Signatures[len(st.Signatures)-1].Data.Status != gmp.NeedsDeviation {
		t.Errorf("soft batch: status %s, signature %+v", st.Batch.Status, st.Signatures[len(st.Signatures)-1].Data)
	}
}

// TestRecordHash checks the canonical serialisation: keys sorted, no whitespace, numbers as
// written; and that the hash changes with any entry of the record.
func TestRecordHash(t *testing.T) {
	got, err := manufacturing.Canonical([]byte(`{ "b": 1.50, "a": [ {"z": "x", "y": 1e7} ] }`))
	must(t, err)
	if string(got) != `{"a":[{"y":1e7,"z":"x"}],"b":1.50}` {
		t.Errorf("canonical form %s", got)
	}
	b := &clink.Batch{Lot: "L", DIN: "G123426000001", Check: "X"}
	e := &clink.BatchEntry{ID: 1, Kind: clink.EntryResult, Key: "potency", Data: json.RawMessage(`{"value":45}`)}
	h1, err := manufacturing.RecordHash(b, []*clink.BatchEntry{e})
	must(t, err)
	sig := &clink.BatchEntry{ID: 2, Kind: clink.EntrySignature, Key: "reviewed", Data: json.RawMessage(`{}`)}
	h2, _ := manufacturing.RecordHash(b, []*clink.BatchEntry{e, sig})
	e.Data = json.RawMessage(`{"value":46}`)
	h3, _ := manufacturing.RecordHash(b, []*clink.BatchEntry{e, sig})
	if h1 != h2 || h1 == h3 || len(h1) != 64 {
		t.Errorf("hashes %s %s %s: want a signature not to change it and a value to", h1, h2, h3)
	}
}

// pdftotext returns the text of a PDF by poppler's pdftotext, skipping without it (failing
// under CI=true, where .ci/run installs it).
func pdftotext(t *testing.T, pdf []byte) string {
	t.Helper()
	path, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("pdftotext (poppler-utils) is not installed")
		}
		t.Skip("pdftotext (poppler-utils) is not installed")
	}
	cmd := exec.Command(path, "-layout", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

// TestTamperedRecord alters a signed entry behind the application's back (the append-only
// trigger dropped, as only the database owner can): QA's signature shows as invalid and the QP
// cannot release (gmp.md §3 S2).
func TestTamperedRecord(t *testing.T) {
	w := newWorld(t)
	b, err := w.svc.CreateBatch(w.as("op1"), manufacturing.NewBatch{RequestID: w.request.ID, Site: "MPL"})
	must(t, err)
	w.recordAll(t, b)
	w.enter(t, b, append(append([]manufacturing.ResultInput{}, resultsConforming...), manufacturing.ResultInput{Test: gmp.TestSterility, Text: "no growth"}))
	must(t, w.sign(b, "qa1", clink.MeaningReviewed, ""))
	db := w.store.DB()
	if _, err := db.Exec("DROP TRIGGER batch_entries_no_update"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE batch_entries SET data = '{"value":60,"unit":"%"}' WHERE kind = 'result' AND key = 'potency'`); err != nil {
		t.Fatal(err)
	}
	st, err := w.svc.Load(context.Background(), b.ID)
	must(t, err)
	if sg := st.Signatures[0]; sg.Valid || sg.Changed {
		t.Errorf("review after tampering: valid %v changed %v; want invalid", sg.Valid, sg.Changed)
	}
	wantErr(t, w.sign(b, "qp1", clink.MeaningReleased, ""), clink.ECONFLICT, "", "QA's signature is invalid")
}

// TestDoseBags checks that a dose larger than a bag is split into bags of equal volume, with
// the example of gmp.md §5: 1e8 NK/kg for 70 kg at c_NK = 1.7296e7/mL needs 404.7 mL, 3 bags
// of 134.9 mL in 200 mL bags; cryopreserved in 70 mL bags it is 6 bags of 67.4 mL, with the
// DMSO per kg reported.
func TestDoseBags(t *testing.T) {
	for _, tc := range []struct {
		cryo bool
		bags int
		ml   float64
	}{{false, 3, 134.9}, {true, 6, 67.4}} {
		w := newWorld(t)
		ctx := clink.WithActor(context.Background(), "setup")
		req := *w.request
		req.ID, req.TargetNKPerKg, req.WeightKg, req.Cryopreserved = 0, 1e8, 70, tc.cryo
		must(t, w.store.CreateTreatmentRequest(ctx, &req))
		b, err := w.svc.CreateBatch(w.as("op1"), manufacturing.NewBatch{RequestID: req.ID, Site: "MPL"})
		must(t, err)
		saved := stepValues["formulation"]
		stepValues["formulation"] = map[string]float64{"tnc_per_ml": 2e7, "cd3_pct": 0.01, "available_ml": 500}
		w.recordAll(t, b)
		stepValues["formulation"] = saved
		w.enter(t, b, []manufacturing.ResultInput{{Test: gmp.TestViability, Value: num(92)}, {Test: gmp.TestNKPurity, Value: num(94)}})
		st, err := w.svc.Load(context.Background(), b.ID)
		must(t, err)
		d := st.Dose
		if d == nil || len(d.Bags) != tc.bags || d.Bags[0].VolumeML != tc.ml || (tc.cryo != (d.DMSOGPerKg != nil)) {
			t.Fatalf("cryopreserved %v: dose %+v (%s); want %d bags of %g mL", tc.cryo, d, st.DoseProblem, tc.bags, tc.ml)
		}
	}
}

// TestMasterRecordText checks the expected values as a batch record prints them.
func TestMasterRecordText(t *testing.T) {
	ratio := 10.0
	steps := manufacturing.MasterRecord(&clink.Protocol{SeedingDensity: 1e6, DurationDays: 21, FeederRatio: &ratio, RestimulationDays: []int{7, 14}})
	var got []string
	for _, s := range steps {
		for _, f := range s.Fields {
			if f.Expected != "" {
				got = append(got, s.Key+": "+f.Expected)
			}
		}
	}
	if want := "seeding: 1,000,000 cells/mL|restimulation_d7: 10:1|restimulation_d14: 10:1"; strings.Join(got, "|") != want {
		t.Errorf("expected values %q, want %q", strings.Join(got, "|"), want)
	}
}
