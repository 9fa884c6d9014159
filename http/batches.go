package http

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/gmp"
	"github.com/clink-consortium/clink/manufacturing"
)

// Manufacturing routes (issue 8): patients and treatment requests (clinicians of the patient's
// hospital), release specifications (admins revise them), batches and their records
// (operators of the batch's site), signatures (QA and QPs) and custody scans. The rules of the
// record are the manufacturing service's; these handlers check who may ask.

// patientView returns p as u may see it: with its identity only for the clinicians of its
// hospital (gmp.md §7.2: identity stays at the hospital).
func patientView(u *clink.User, p *clink.Patient) *clink.Patient {
	if u != nil && roleAt(u, clink.RoleClinician, p.Hospital) {
		return p
	}
	return p.Pseudonymous()
}

func (s *Server) listPatients(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "hospital", "limit", "offset")
	f := clink.PatientFilter{Hospital: q.site("hospital"), Page: q.page()}
	if err := q.err(); err != nil {
		return err
	}
	ps, total, err := s.store.FindPatients(r.Context(), f)
	if err != nil {
		return err
	}
	u := UserFrom(r.Context())
	for i, p := range ps {
		ps[i] = patientView(u, p)
	}
	return s.writeJSON(w, http.StatusOK, newList(ps, total, f.Page))
}

func (s *Server) getPatient(w http.ResponseWriter, r *http.Request) error {
	id, err := numericID(r, "id", "patient")
	if err != nil {
		return err
	}
	p, err := s.store.FindPatientByID(r.Context(), id)
	if err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, patientView(UserFrom(r.Context()), p))
}

func (s *Server) createPatient(w http.ResponseWriter, r *http.Request) error {
	var p clink.Patient
	if err := decodeJSON(w, r, &p); err != nil {
		return err
	}
	if err := s.authorize(r, p.Hospital); err != nil {
		return err
	}
	p.ID, p.Code = 0, ""
	if err := s.store.CreatePatient(r.Context(), &p); err != nil {
		return err
	}
	return s.writeCreated(w, fmt.Sprintf("%s/patients/%d", apiPrefix, p.ID), &p)
}

func (s *Server) listTreatmentRequests(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "hospital", "patient_id", "limit", "offset")
	f := clink.TreatmentRequestFilter{Hospital: q.site("hospital"), PatientID: q.id("patient_id"), Page: q.page()}
	if err := q.err(); err != nil {
		return err
	}
	rs, total, err := s.store.FindTreatmentRequests(r.Context(), f)
	if err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, newList(rs, total, f.Page))
}

func (s *Server) getTreatmentRequest(w http.ResponseWriter, r *http.Request) error {
	id, err := numericID(r, "id", "treatment request")
	if err != nil {
		return err
	}
	req, err := s.store.FindTreatmentRequestByID(r.Context(), id)
	if err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, req)
}

// createTreatmentRequest writes a request for a patient of the clinician's hospital.
func (s *Server) createTreatmentRequest(w http.ResponseWriter, r *http.Request) error {
	var req clink.TreatmentRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.PatientID <= 0 {
		return clink.Invalid("patient_id", "is required")
	}
	p, err := s.store.FindPatientByID(r.Context(), req.PatientID)
	if clink.ErrorCode(err) == clink.ENOTFOUND {
		return clink.Invalid("patient_id", "no patient has the id %d", req.PatientID)
	} else if err != nil {
		return err
	}
	if err := s.authorize(r, p.Hospital); err != nil {
		return err
	}
	req.ID = 0
	if err := s.store.CreateTreatmentRequest(r.Context(), &req); err != nil {
		return err
	}
	return s.writeCreated(w, fmt.Sprintf("%s/treatment-requests/%d", apiPrefix, req.ID), &req)
}

func (s *Server) listReleaseSpecs(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "name")
	name := q.str("name")
	if err := q.err(); err != nil {
		return err
	}
	if _, err := s.mfg.EnsureDefaultSpec(r.Context()); err != nil {
		return err
	}
	specs, err := s.store.FindReleaseSpecs(r.Context(), name)
	if err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, newList(specs, len(specs), clink.Page{Limit: max(len(specs), 1)}))
}

func (s *Server) getReleaseSpec(w http.ResponseWriter, r *http.Request) error {
	id, err := numericID(r, "id", "release specification")
	if err != nil {
		return err
	}
	sp, err := s.store.FindReleaseSpecByID(r.Context(), id)
	if err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, sp)
}

// specRevision is the body of a new release specification version.
type specRevision struct {
	Name   string   `json:"name"`
	Spec   gmp.Spec `json:"definition"`
	Reason string   `json:"reason"`
}

func (s *Server) createReleaseSpec(w http.ResponseWriter, r *http.Request) error {
	var in specRevision
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	sp, err := s.mfg.ReviseSpec(r.Context(), in.Name, in.Spec, in.Reason)
	if err != nil {
		return err
	}
	return s.writeCreated(w, fmt.Sprintf("%s/release-specs/%d", apiPrefix, sp.ID), sp)
}

func (s *Server) listBatches(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "site", "hospital", "status", "limit", "offset")
	f := clink.BatchFilter{Site: q.site("site"), Hospital: q.site("hospital"), Status: q.oneOf("status", clink.BatchStatuses...), Page: q.page()}
	if err := q.err(); err != nil {
		return err
	}
	bs, total, err := s.store.FindBatches(r.Context(), f)
	if err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, newList(bs, total, f.Page))
}

// createBatch creates a batch for a treatment request at the operator's site.
func (s *Server) createBatch(w http.ResponseWriter, r *http.Request) error {
	var nb manufacturing.NewBatch
	if err := decodeJSON(w, r, &nb); err != nil {
		return err
	}
	if err := s.authorize(r, nb.Site); err != nil {
		return err
	}
	b, err := s.mfg.CreateBatch(r.Context(), nb)
	if err != nil {
		return err
	}
	return s.writeCreated(w, fmt.Sprintf("%s/batches/%d", apiPrefix, b.ID), b)
}

// getBatch answers where the batch stands: its record, the results against the
// specification, the dose, signatures and custody, and what is missing.
func (s *Server) getBatch(w http.ResponseWriter, r *http.Request) error {
	id, err := numericID(r, "id", "batch")
	if err != nil {
		return err
	}
	st, err := s.mfg.Load(r.Context(), id)
	if err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, st)
}

// batchFor loads the batch of the path and checks the request's permission at its site.
func (s *Server) batchFor(r *http.Request) (*clink.Batch, error) {
	id, err := numericID(r, "id", "batch")
	if err != nil {
		return nil, err
	}
	b, err := s.store.FindBatchByID(r.Context(), id)
	if err != nil {
		return nil, err
	}
	return b, s.authorize(r, b.Site)
}

func (s *Server) recordStep(w http.ResponseWriter, r *http.Request) error {
	var in manufacturing.StepInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	b, err := s.batchFor(r)
	if err != nil {
		return err
	}
	e, err := s.mfg.RecordStep(r.Context(), b.ID, in)
	if err != nil {
		return err
	}
	return s.writeCreated(w, fmt.Sprintf("%s/batches/%d", apiPrefix, b.ID), e)
}

func (s *Server) recordResult(w http.ResponseWriter, r *http.Request) error {
	var in manufacturing.ResultInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	b, err := s.batchFor(r)
	if err != nil {
		return err
	}
	e, err := s.mfg.RecordResult(r.Context(), b.ID, in)
	if err != nil {
		return err
	}
	return s.writeCreated(w, fmt.Sprintf("%s/batches/%d", apiPrefix, b.ID), e)
}

func (s *Server) raiseDeviation(w http.ResponseWriter, r *http.Request) error {
	var in clink.DeviationData
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	b, err := s.batchFor(r)
	if err != nil {
		return err
	}
	e, err := s.mfg.RaiseDeviation(r.Context(), b.ID, in)
	if err != nil {
		return err
	}
	return s.writeCreated(w, fmt.Sprintf("%s/batches/%d", apiPrefix, b.ID), e)
}

// signBatch signs the batch record. Through the API both components are required every
// time: the user name and the password (a token is not a signature component).
func (s *Server) signBatch(w http.ResponseWriter, r *http.Request) error {
	var in manufacturing.SignInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	id, err := numericID(r, "id", "batch")
	if err != nil {
		return err
	}
	sg, err := s.mfg.Sign(r.Context(), id, UserFrom(r.Context()), in)
	if err != nil {
		return err
	}
	return s.writeCreated(w, fmt.Sprintf("%s/batches/%d", apiPrefix, id), sg)
}

// scanBatch records a custody scan; a refused scan is recorded and answered 422 with the
// reason.
func (s *Server) scanBatch(w http.ResponseWriter, r *http.Request) error {
	var in manufacturing.ScanInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	id, err := numericID(r, "id", "batch")
	if err != nil {
		return err
	}
	b, err := s.store.FindBatchByID(r.Context(), id)
	if err != nil {
		return err
	}
	if err := s.authorizeCustody(r, b); err != nil {
		return err
	}
	ce, err := s.mfg.Scan(r.Context(), b.ID, in)
	if err != nil {
		return err
	}
	return s.writeCreated(w, fmt.Sprintf("%s/batches/%d", apiPrefix, b.ID), ce)
}

// authorizeCustody checks a custody scan of b: an operator scans at the batch's site, a
// clinician at the patient's hospital.
func (s *Server) authorizeCustody(r *http.Request, b *clink.Batch) error {
	site := b.Site
	if u := UserFrom(r.Context()); u != nil && u.HasRole(clink.RoleClinician) && !roleAt(u, clink.RoleOperator, b.Site) {
		site = b.Hospital
	}
	return s.authorize(r, site)
}

func (s *Server) getCertificate(w http.ResponseWriter, r *http.Request) error {
	id, err := numericID(r, "id", "batch")
	if err != nil {
		return err
	}
	pdf, err := s.mfg.Certificate(r.Context(), id)
	if err != nil {
		return err
	}
	return writePDF(w, fmt.Sprintf("certificate-%d.pdf", id), pdf)
}

func (s *Server) getLabel(w http.ResponseWriter, r *http.Request) error {
	id, err := numericID(r, "id", "batch")
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(r.PathValue("bag"))
	if err != nil {
		return clink.Errorf(clink.ENOTFOUND, "bag %q not found: bags are numbered 1, 2, ...", r.PathValue("bag"))
	}
	pdf, err := s.mfg.Label(r.Context(), id, n)
	if err != nil {
		return err
	}
	return writePDF(w, fmt.Sprintf("label-%d-bag-%d.pdf", id, n), pdf)
}

func writePDF(w http.ResponseWriter, name string, pdf []byte) error {
	w.Header().Set("Content-Type", "application/pdf")
	// The browser's PDF viewer needs more than the API's CSP allows; only our pages may frame it.
	w.Header().Set("Content-Security-Policy", "frame-ancestors 'self'")
	w.Header().Set("Content-Disposition", `inline; filename="`+name+`"`)
	w.Header().Set("Content-Length", strconv.Itoa(len(pdf)))
	_, err := w.Write(pdf)
	return err
}
