package http

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/gmp"
	"github.com/clink-consortium/clink/manufacturing"
)

// Manufacturing on the web (issue 8, gmp.md §1-§3, §6; product.md journeys 6 and 7): the
// batches with where each stands, the patients and treatment requests of the hospitals, and
// the batch page, which is the electronic batch record (ui_manufacturing_batch.go). The rules
// are the manufacturing service's and the store's, as for the API (batches.go): these pages
// read forms, check who may send them, and show the service's refusals next to the fields,
// with nothing saved (a refused signature and a refused custody scan are recorded, as the
// service records them).
//
// Who sees what: every page needs PermReadGMP (operators, QA, QPs, clinicians, admins; never
// the research roles). A patient's identity is shown only to the clinicians of the patient's
// hospital (patientView); everyone else sees the pseudonymous code. The forms appear only to
// those who may send them: batches and their records for the operators of the batch's site,
// patients and requests for the clinicians of the hospital, signatures for QA and QPs,
// custody scans for the batch's operators and the patient's clinicians.
//
// Signing in the browser (gmp.md §3 S4, S5). The first signature in a web session asks for
// the user name and the password; a later one in the same session, within signWindow of the
// last, asks only for the password; after signWindow without a signature, or in a new session
// (after signing out), both again. The time of the last signature is kept on the server, by a
// hash of the session id, never in anything the browser could forge; a user signed in by API
// token has no web session and gives both every time.

// uiManufacturingRoutes are the manufacturing pages and their forms.
func (s *Server) uiManufacturingRoutes() []Route {
	return []Route{
		{"GET", "/batches", "batchList", PermReadGMP, s.batchList},
		{"POST", "/batches", "addBatch", PermManufacture, s.addBatch},
		{"GET", "/batches/{id}", "batchPage", PermReadGMP, s.batchPage},
		{"POST", "/batches/{id}/steps", "recordStepForm", PermManufacture, s.recordStepForm},
		{"POST", "/batches/{id}/results", "recordResultForm", PermManufacture, s.recordResultForm},
		{"POST", "/batches/{id}/deviations", "raiseDeviationForm", PermManufacture, s.raiseDeviationForm},
		{"POST", "/batches/{id}/signatures", "signBatchForm", PermSign, s.signBatchForm},
		{"POST", "/batches/{id}/custody", "scanBatchForm", PermCustody, s.scanBatchForm},
		{"GET", "/patients", "patientList", PermReadGMP, s.patientList},
		{"POST", "/patients", "addPatient", PermClinical, s.addPatient},
		{"POST", "/treatment-requests", "addTreatmentRequest", PermClinical, s.addTreatmentRequest},
	}
}

// ---- Words ----

// statusWords says a batch status in words.
func statusWords(status string) string {
	switch status {
	case clink.BatchInProcess:
		return "in process"
	case clink.BatchReviewed:
		return "reviewed by QA"
	case clink.BatchReleased:
		return "released"
	case clink.BatchReleasedConditional:
		return "released with outstanding tests"
	case clink.BatchRejected:
		return "rejected"
	}
	return strings.ReplaceAll(status, "_", " ")
}

// nextWords says the next stage of a batch (manufacturing.State.Next) in words.
func nextWords(next string) string {
	switch next {
	case "record":
		return "record the steps and results"
	case "qa_review":
		return "QA review"
	case "qp_release":
		return "QP release"
	case "custody":
		return "chain of custody to the patient"
	case "done":
		return "none: the record is closed"
	}
	return strings.ReplaceAll(next, "_", " ")
}

// exactNum writes a number as entered, with every digit Go needs to read it back: 96, 0.2,
// 2.1×10⁹. A batch record shows values exactly, never rounded.
func exactNum(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "—"
	}
	s := strconv.FormatFloat(x, 'g', -1, 64)
	mant, exp, ok := strings.Cut(s, "e")
	if !ok {
		return s
	}
	n, err := strconv.Atoi(exp)
	if err != nil {
		return s
	}
	return mant + "×10" + superscriptInt(n)
}

// inputNum writes a number for an input, as the form reads it back.
func inputNum(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// zoned writes a time in the facility's time zone with the zone: "2026-12-07 19:30 CET".
func (s *Server) zoned(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(s.mfg.Config.Location).Format("2006-01-02 15:04 MST")
}

// dinParts returns a batch's DIN grouped for the eye ("G1234 26 000001", joined by no-break
// spaces so that it never wraps) and its check character, which the pages show boxed after it
// (gmp.md §2.4, §2.8).
func dinParts(b *clink.Batch) (grouped, check string) {
	din, err := gmp.ParseDIN(b.DIN)
	if err != nil {
		return b.DIN, b.Check
	}
	return strings.ReplaceAll(din.Grouped(), " ", "\u00a0"), string(din.Check())
}

// ---- The batches ----

// batchRow is one batch of the list.
type batchRow struct {
	B          *clink.Batch
	DIN, Check string
	Status     string
	Next       string
	Missing    int
}

// batchListData is the data of the batch list.
type batchListData struct {
	Status        string
	Statuses      []option
	Rows          []batchRow
	Total, Offset int
	Prev, Next    string
	// Create is the form of a new batch, for the operators of the user's site.
	Create *batchCreate
}

// batchCreate is the new-batch form.
type batchCreate struct {
	entryForm
	Site string
}

// batchList lists the batches, newest first, with where each stands (status and the next
// stage the record needs), filtered by status (?status=), 50 to a page (offset); an operator
// also gets the form of a new batch.
func (s *Server) batchList(w http.ResponseWriter, r *http.Request) error {
	return s.renderBatchList(w, r, http.StatusOK, nil)
}

func (s *Server) renderBatchList(w http.ResponseWriter, r *http.Request, status int, create *form) error {
	q := r.URL.Query()
	d := batchListData{Status: q.Get("status"), Statuses: []option{{"", "Any status"}}}
	for _, st := range clink.BatchStatuses {
		d.Statuses = append(d.Statuses, option{st, statusWords(st)})
	}
	var fe clink.FieldErrors
	if d.Status != "" && !slices.Contains(clink.BatchStatuses, d.Status) {
		fe.Addf("status", "%q is not one of %s", d.Status, strings.Join(clink.BatchStatuses, ", "))
	}
	d.Offset = readOffset(q, &fe)
	if err := fe.Err(); err != nil {
		return err
	}
	ctx := r.Context()
	batches, total, err := s.store.FindBatches(ctx, clink.BatchFilter{Status: d.Status, Page: clink.Page{Limit: directoryLimit, Offset: d.Offset}})
	if err != nil {
		return err
	}
	d.Total = total
	for _, b := range batches {
		st, err := s.mfg.Load(ctx, b.ID)
		if err != nil {
			return err
		}
		row := batchRow{B: b, Status: statusWords(b.Status), Next: nextWords(st.Next), Missing: len(st.Missing)}
		row.DIN, row.Check = dinParts(b)
		d.Rows = append(d.Rows, row)
	}
	v := map[string][]string{}
	if d.Status != "" {
		v["status"] = []string{d.Status}
	}
	d.Prev, d.Next = pageLinks("/batches", v, d.Offset, d.Total)
	u := UserFrom(ctx)
	if u != nil && permits(u, PermManufacture, u.Site) {
		f := newForm()
		if create != nil {
			f = *create
		}
		c, err := s.batchCreateForm(r, u.Site, f)
		if err != nil {
			return err
		}
		d.Create = c
	}
	return s.render(w, r, status, "batches", page{Title: "Batches", Nav: navMfg, Data: d})
}

// batchCreateForm fills the new-batch form's choices: the treatment requests and the release
// specification versions (empty: the latest default).
func (s *Server) batchCreateForm(r *http.Request, site string, f form) (*batchCreate, error) {
	ctx := r.Context()
	reqs, err := clink.ReadAll(func(p clink.Page) ([]*clink.TreatmentRequest, int, error) {
		return s.store.FindTreatmentRequests(ctx, clink.TreatmentRequestFilter{Page: p})
	})
	if err != nil {
		return nil, err
	}
	specs, err := s.store.FindReleaseSpecs(ctx, "")
	if err != nil {
		return nil, err
	}
	c := &batchCreate{entryForm: entryForm{Form: f, Opts: map[string][]option{}}, Site: site}
	c.Opts["request_id"] = []option{{"", "—"}}
	for _, rq := range reqs {
		c.Opts["request_id"] = append(c.Opts["request_id"], option{strconv.FormatInt(rq.ID, 10), requestLabel(rq)})
	}
	c.Opts["spec_id"] = []option{{"", "the latest default specification"}}
	for _, sp := range specs {
		c.Opts["spec_id"] = append(c.Opts["spec_id"], option{strconv.FormatInt(sp.ID, 10), fmt.Sprintf("%s v%d", sp.Name, sp.Version)})
	}
	c.keep("request_id", "request_id")
	c.keep("spec_id", "spec_id")
	c.setOther(inSet("request_id", "spec_id"))
	return c, nil
}

// requestLabel describes a treatment request in a choice.
func requestLabel(rq *clink.TreatmentRequest) string {
	return fmt.Sprintf("Request %d: patient %s, donor %s, %s, %s NK/kg at %s kg, infusion %s", rq.ID, rq.PatientCode, rq.DonorCode,
		rq.Protocol, fmtSci(rq.TargetNKPerKg), exactNum(rq.WeightKg), strings.Join(rq.InfusionDates, ", "))
}

// addBatch creates a batch for a treatment request at the operator's site (the form's site):
// its DIN, lot, product code, COI and master record come from the service.
func (s *Server) addBatch(w http.ResponseWriter, r *http.Request) error {
	if err := parsePageForm(w, r); err != nil {
		return err
	}
	site := entrySite(r)
	if err := s.authorize(r, site); err != nil {
		return err
	}
	f := newForm()
	fr := formReader{r: r, f: &f}
	nb := manufacturing.NewBatch{Site: site, RequestID: readID(&fr, "request_id", true), SpecID: readID(&fr, "spec_id", false)}
	var b *clink.Batch
	err := fr.fe.Err()
	if err == nil {
		b, err = s.mfg.CreateBatch(r.Context(), nb)
	}
	if err != nil {
		if !refuseForm(&f, err, "The batch is not created") {
			return err
		}
		return s.renderBatchList(w, r, refusedStatus(err), &f)
	}
	http.Redirect(w, r, fmt.Sprintf("/batches/%d", b.ID), http.StatusSeeOther)
	return nil
}

// readID reads the id of a record chosen in a form; empty is 0, an error when required.
func readID(fr *formReader, name string, required bool) int64 {
	v := fr.str(name)
	if v == "" {
		if required {
			fr.fe.Addf(name, "is required: choose one")
		}
		return 0
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		fr.fe.Addf(name, "%q is not an id", v)
		return 0
	}
	return id
}

// ---- Patients and treatment requests ----

// patientRow is a patient as the user may see it, with its requests.
type patientRow struct {
	P        *clink.Patient
	Requests int
}

// patientListData is the data of the patients page.
type patientListData struct {
	Patients []patientRow
	Requests []*clink.TreatmentRequest
	// Hospital is the user's hospital when the user is one of its clinicians: the forms are
	// for its patients.
	Hospital    string
	PatientForm *entryForm
	RequestForm *entryForm
}

var (
	patientFields = inSet("identity.mrn", "identity.name", "identity.birth_year")
	requestFields = inSet("patient_id", "donor_id", "protocol_id", "target_nk_per_kg", "weight_kg", "infusion_dates", "cryopreserved")
)

// patientList shows the patients and treatment requests. A clinician sees the identity of
// the patients of their own hospital and may add patients and requests there; everyone else
// sees pseudonymous codes only.
func (s *Server) patientList(w http.ResponseWriter, r *http.Request) error {
	return s.renderPatients(w, r, http.StatusOK, nil, nil)
}

func (s *Server) renderPatients(w http.ResponseWriter, r *http.Request, status int, pf, rf *form) error {
	ctx := r.Context()
	u := UserFrom(ctx)
	patients, err := clink.ReadAll(func(p clink.Page) ([]*clink.Patient, int, error) {
		return s.store.FindPatients(ctx, clink.PatientFilter{Page: p})
	})
	if err != nil {
		return err
	}
	reqs, err := clink.ReadAll(func(p clink.Page) ([]*clink.TreatmentRequest, int, error) {
		return s.store.FindTreatmentRequests(ctx, clink.TreatmentRequestFilter{Page: p})
	})
	if err != nil {
		return err
	}
	count := map[int64]int{}
	for _, rq := range reqs {
		count[rq.PatientID]++
	}
	d := patientListData{Requests: reqs}
	for _, p := range patients {
		d.Patients = append(d.Patients, patientRow{P: patientView(u, p), Requests: count[p.ID]})
	}
	if u != nil && permits(u, PermClinical, u.Site) {
		d.Hospital = u.Site
		if err := s.patientForms(r, &d, patients, pf, rf); err != nil {
			return err
		}
	}
	return s.render(w, r, status, "patients", page{Title: "Patients and treatment requests", Nav: navMfg, Data: d})
}

// patientForms fills the forms of a new patient and a new treatment request of the
// clinician's hospital.
func (s *Server) patientForms(r *http.Request, d *patientListData, patients []*clink.Patient, pf, rf *form) error {
	ctx := r.Context()
	if pf == nil {
		f := newForm()
		pf = &f
	}
	if rf == nil {
		f := newForm()
		rf = &f
	}
	d.PatientForm = &entryForm{Form: *pf}
	d.PatientForm.setOther(patientFields)
	donors, err := clink.ReadAll(func(p clink.Page) ([]*clink.Donor, int, error) {
		return s.store.FindDonors(ctx, clink.DonorFilter{Page: p})
	})
	if err != nil {
		return err
	}
	protocols, err := clink.ReadAll(func(p clink.Page) ([]*clink.Protocol, int, error) {
		return s.store.FindProtocols(ctx, clink.ProtocolFilter{Page: p})
	})
	if err != nil {
		return err
	}
	e := &entryForm{Form: *rf, Opts: map[string][]option{
		"patient_id":  {{"", "—"}},
		"donor_id":    {{"", "—"}},
		"protocol_id": {{"", "—"}},
	}}
	for _, p := range patients {
		if p.Hospital != d.Hospital {
			continue
		}
		label := p.Code
		if id := p.Identity; id != nil {
			label += " — " + id.Name + " (" + id.MRN + ")"
		}
		e.Opts["patient_id"] = append(e.Opts["patient_id"], option{strconv.FormatInt(p.ID, 10), label})
	}
	for _, x := range donors {
		if !x.Voided {
			e.Opts["donor_id"] = append(e.Opts["donor_id"], option{strconv.FormatInt(x.ID, 10), fmt.Sprintf("%s (%s; HCMV %s, NKG2C %s, KIR %s)", x.Code, x.Site, x.HCMV, x.NKG2C, x.KIRHaplotype)})
		}
	}
	for _, p := range protocols {
		if !p.Voided {
			e.Opts["protocol_id"] = append(e.Opts["protocol_id"], option{strconv.FormatInt(p.ID, 10), fmt.Sprintf("%s (%s)", p.Key(), p.Site)})
		}
	}
	for _, k := range []string{"patient_id", "donor_id", "protocol_id"} {
		e.keep(k, k)
	}
	e.setOther(requestFields)
	d.RequestForm = e
	return nil
}

// addPatient adds a patient of the clinician's hospital (the form's site) with their
// identity, which only that hospital's clinicians will see; the store gives the code.
func (s *Server) addPatient(w http.ResponseWriter, r *http.Request) error {
	if err := parsePageForm(w, r); err != nil {
		return err
	}
	site := entrySite(r)
	if err := s.authorize(r, site); err != nil {
		return err
	}
	f := newForm()
	fr := formReader{r: r, f: &f}
	id := &clink.PatientIdentity{MRN: fr.str("identity.mrn"), Name: fr.str("identity.name"), BirthYear: fr.int("identity.birth_year")}
	p := &clink.Patient{Hospital: site}
	if id.MRN != "" || id.Name != "" || id.BirthYear != 0 {
		p.Identity = id
	}
	err := fr.fe.Err()
	if err == nil {
		err = s.store.CreatePatient(r.Context(), p)
	}
	if err != nil {
		if !refuseForm(&f, err, "The patient is not added") {
			return err
		}
		return s.renderPatients(w, r, refusedStatus(err), &f, nil)
	}
	http.Redirect(w, r, fmt.Sprintf("/patients#patient-%d", p.ID), http.StatusSeeOther)
	return nil
}

// addTreatmentRequest adds a request for a patient of the clinician's hospital: the donor,
// the protocol version, the target dose, the body weight and the planned infusion dates
// (written "2026-12-20, 2026-12-27").
func (s *Server) addTreatmentRequest(w http.ResponseWriter, r *http.Request) error {
	if err := parsePageForm(w, r); err != nil {
		return err
	}
	f := newForm()
	fr := formReader{r: r, f: &f}
	rq := &clink.TreatmentRequest{PatientID: readID(&fr, "patient_id", true), DonorID: readID(&fr, "donor_id", false),
		ProtocolID: readID(&fr, "protocol_id", false), TargetNKPerKg: fr.num("target_nk_per_kg"), WeightKg: fr.num("weight_kg"),
		Cryopreserved: fr.str("cryopreserved") != ""}
	rq.InfusionDates = []string{}
	for _, d := range strings.FieldsFunc(fr.str("infusion_dates"), func(c rune) bool { return c == ',' || c == ';' || c == ' ' }) {
		rq.InfusionDates = append(rq.InfusionDates, d)
	}
	// The patient decides who may: a clinician of the patient's hospital.
	site := ""
	if u := UserFrom(r.Context()); u != nil {
		site = u.Site
	}
	if rq.PatientID > 0 {
		p, err := s.store.FindPatientByID(r.Context(), rq.PatientID)
		switch {
		case clink.ErrorCode(err) == clink.ENOTFOUND:
			fr.fe.Addf("patient_id", "no patient has the id %d", rq.PatientID)
		case err != nil:
			return err
		default:
			site = p.Hospital
		}
	}
	if err := s.authorize(r, site); err != nil {
		return err
	}
	var err error
	if len(fr.fe) > 0 {
		err = formErrors(fr.fe, rq.Validate())
	} else {
		err = s.store.CreateTreatmentRequest(r.Context(), rq)
	}
	if err != nil {
		if !refuseForm(&f, err, "The request is not saved") {
			return err
		}
		return s.renderPatients(w, r, refusedStatus(err), nil, &f)
	}
	http.Redirect(w, r, fmt.Sprintf("/patients#request-%d", rq.ID), http.StatusSeeOther)
	return nil
}

// ---- Signing sessions ----

// signWindow is how long after a signature a later one in the same web session needs only
// the password (gmp.md §3 S5: a continuous session has no idle period over 15 minutes).
const signWindow = 15 * time.Minute

// signSessions holds, by the SHA-256 of a web session's id, who last signed in it and when.
type signSessions struct {
	mu   sync.Mutex
	last map[string]signedAt
}

type signedAt struct {
	user string
	at   time.Time
}

func newSignSessions() *signSessions { return &signSessions{last: map[string]signedAt{}} }

// signKey returns the key of the request's web session: the SHA-256 of its session cookie,
// "" without one.
func signKey(r *http.Request) string {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(c.Value))
	return hex.EncodeToString(sum[:])
}

// passwordOnly reports whether user signed in the session key within signWindow before now,
// so that the next signature needs only the password. It forgets sessions idle for longer.
func (ss *signSessions) passwordOnly(key, user string, now time.Time) bool {
	if key == "" {
		return false
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for k, v := range ss.last {
		if now.Sub(v.at) > signWindow {
			delete(ss.last, k)
		}
	}
	v, ok := ss.last[key]
	return ok && v.user == user && now.Sub(v.at) <= signWindow && !now.Before(v.at)
}

// signed notes that user signed in the session key at now.
func (ss *signSessions) signed(key, user string, now time.Time) {
	if key == "" {
		return
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.last[key] = signedAt{user, now}
}
