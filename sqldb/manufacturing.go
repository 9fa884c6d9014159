package sqldb

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/clink-consortium/clink"
)

// Clinical manufacturing: patients, treatment requests, release specifications, batches and
// the append-only entries of their records (clink.ManufacturingStore). The rules across
// records (ranges, signatures, custody) are the manufacturing service's; the store checks each
// record's fields and references, numbers patients, and keeps corrections linear (an entry is
// superseded at most once, by one of the same batch, kind and key).

// --- patients

const patientCols = `p.id, p.hospital, p.code, p.identity, p.created_at, p.created_by, p.updated_at, p.updated_by`

func scanPatient(r scanner) (*clink.Patient, error) {
	p := &clink.Patient{}
	var identity string
	if err := r.Scan(append([]any{&p.ID, &p.Hospital, &p.Code, &identity}, metaDest(&p.Meta)...)...); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(identity), &p.Identity); err != nil {
		return nil, fmt.Errorf("patient %d: identity: %w", p.ID, err)
	}
	return p, nil
}

func (t *tx) patientByID(ctx context.Context, id int64) (*clink.Patient, error) {
	p, err := scanPatient(t.QueryRowContext(ctx, "SELECT "+patientCols+" FROM patients p WHERE p.id = $1", id))
	return p, notFound(err, "patient %d not found", id)
}

// CreatePatient writes a patient of a hospital and gives it the code HOSP-Pnnnn, numbered per
// hospital. The audit trail records the patient without its identity.
func (s *Store) CreatePatient(ctx context.Context, p *clink.Patient) error {
	rec := *p
	if rec.Identity != nil {
		id := *rec.Identity
		id.MRN, id.Name = strings.TrimSpace(id.MRN), strings.TrimSpace(id.Name)
		rec.Identity = &id
	}
	if err := rec.Validate(); err != nil {
		return err
	}
	err := s.transact(ctx, "create_patient", false, func(t *tx) error {
		var kind string
		err := t.QueryRowContext(ctx, "SELECT kind FROM sites WHERE code = $1", rec.Hospital).Scan(&kind)
		if errors.Is(err, sql.ErrNoRows) {
			return clink.Invalid("hospital", "no site has the code %s", rec.Hospital)
		} else if err != nil {
			return err
		}
		if kind != clink.SiteHospital {
			return clink.Invalid("hospital", "%s is a %s, not a hospital", rec.Hospital, kind)
		}
		var seq int
		if err := t.QueryRowContext(ctx, "SELECT COALESCE(MAX(seq), 0) + 1 FROM patients WHERE hospital = $1", rec.Hospital).Scan(&seq); err != nil {
			return err
		}
		rec.Code = fmt.Sprintf("%s-P%04d", rec.Hospital, seq)
		identity, err := jsonText(rec.Identity)
		if err != nil {
			return err
		}
		t.stamp(ctx, &rec.Meta)
		if err := t.QueryRowContext(ctx, `INSERT INTO patients (hospital, code, seq, identity, `+metaCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
			rec.Hospital, rec.Code, seq, identity, t.ts(rec.CreatedAt), rec.CreatedBy, t.ts(rec.UpdatedAt), rec.UpdatedBy).Scan(&rec.ID); err != nil {
			return err
		}
		return t.audit(ctx, actionCreate, "patient", rec.ID, rec.Hospital, "", nil, rec.Pseudonymous())
	})
	if err != nil {
		return err
	}
	*p = rec
	return nil
}

// FindPatientByID returns the patient with the id, identity included (the adapters redact
// it), or ENOTFOUND.
func (s *Store) FindPatientByID(ctx context.Context, id int64) (*clink.Patient, error) {
	var p *clink.Patient
	err := s.transact(ctx, "find_patient", true, func(t *tx) (err error) {
		p, err = t.patientByID(ctx, id)
		return err
	})
	return p, err
}

// FindPatients returns a page of patients by code, and how many match.
func (s *Store) FindPatients(ctx context.Context, f clink.PatientFilter) ([]*clink.Patient, int, error) {
	pg, err := f.Page.Normalize()
	if err != nil {
		return nil, 0, err
	}
	var w where
	w.addIf(f.Hospital != "", "p.hospital = ?", f.Hospital)
	var out []*clink.Patient
	var total int
	err = s.transact(ctx, "find_patients", true, func(t *tx) (err error) {
		out, total, err = listPage(ctx, t, listQuery{count: "patients p", from: "patients p", cols: patientCols, order: "p.hospital, p.seq"}, &w, pg, scanPatient)
		return err
	})
	return out, total, err
}

// --- treatment requests

const requestCols = `r.id, r.patient_id, p.code, p.hospital, r.donor_id, d.code, r.protocol_id, pr.name, pr.version,
	r.target_nk_per_kg, r.weight_kg, r.infusion_dates, r.cryopreserved, r.created_at, r.created_by, r.updated_at, r.updated_by`

const requestFrom = `treatment_requests r JOIN patients p ON p.id = r.patient_id JOIN donors d ON d.id = r.donor_id
	JOIN protocols pr ON pr.id = r.protocol_id`

func scanRequest(r scanner) (*clink.TreatmentRequest, error) {
	q := &clink.TreatmentRequest{}
	var name string
	var version int
	dest := []any{&q.ID, &q.PatientID, &q.PatientCode, &q.Hospital, &q.DonorID, &q.DonorCode, &q.ProtocolID, &name, &version,
		&q.TargetNKPerKg, &q.WeightKg, jsonCol{&q.InfusionDates}, &q.Cryopreserved}
	if err := r.Scan(append(dest, metaDest(&q.Meta)...)...); err != nil {
		return nil, err
	}
	q.Protocol = fmt.Sprintf("%s v%d", name, version)
	return q, nil
}

func (t *tx) requestByID(ctx context.Context, id int64) (*clink.TreatmentRequest, error) {
	q, err := scanRequest(t.QueryRowContext(ctx, "SELECT "+requestCols+" FROM "+requestFrom+" WHERE r.id = $1", id))
	return q, notFound(err, "treatment request %d not found", id)
}

// CreateTreatmentRequest writes a request for a patient, from a donor, on a protocol version
// that is not void.
func (s *Store) CreateTreatmentRequest(ctx context.Context, r *clink.TreatmentRequest) error {
	rec := *r
	rec.InfusionDates = append([]string{}, r.InfusionDates...)
	if err := rec.Validate(); err != nil {
		return err
	}
	err := s.transact(ctx, "create_treatment_request", false, func(t *tx) error {
		var fe clink.FieldErrors
		if _, err := t.patientByID(ctx, rec.PatientID); clink.ErrorCode(err) == clink.ENOTFOUND {
			fe.Addf("patient_id", "no patient has the id %d", rec.PatientID)
		} else if err != nil {
			return err
		}
		var voided bool
		switch err := t.QueryRowContext(ctx, "SELECT voided FROM donors WHERE id = $1", rec.DonorID).Scan(&voided); {
		case errors.Is(err, sql.ErrNoRows):
			fe.Addf("donor_id", "no donor has the id %d", rec.DonorID)
		case err != nil:
			return err
		case voided:
			fe.Addf("donor_id", "donor %d is void", rec.DonorID)
		}
		switch err := t.QueryRowContext(ctx, "SELECT voided FROM protocols WHERE id = $1", rec.ProtocolID).Scan(&voided); {
		case errors.Is(err, sql.ErrNoRows):
			fe.Addf("protocol_id", "no protocol version has the id %d", rec.ProtocolID)
		case err != nil:
			return err
		case voided:
			fe.Addf("protocol_id", "protocol version %d is void", rec.ProtocolID)
		}
		if err := fe.Err(); err != nil {
			return err
		}
		dates, err := jsonText(rec.InfusionDates)
		if err != nil {
			return err
		}
		t.stamp(ctx, &rec.Meta)
		if err := t.QueryRowContext(ctx, `INSERT INTO treatment_requests (patient_id, donor_id, protocol_id, target_nk_per_kg, weight_kg,
			infusion_dates, cryopreserved, `+metaCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
			rec.PatientID, rec.DonorID, rec.ProtocolID, rec.TargetNKPerKg, rec.WeightKg, dates, rec.Cryopreserved,
			t.ts(rec.CreatedAt), rec.CreatedBy, t.ts(rec.UpdatedAt), rec.UpdatedBy).Scan(&rec.ID); err != nil {
			return err
		}
		full, err := t.requestByID(ctx, rec.ID)
		if err != nil {
			return err
		}
		rec = *full
		return t.audit(ctx, actionCreate, "treatment_request", rec.ID, rec.Hospital, "", nil, &rec)
	})
	if err != nil {
		return err
	}
	*r = rec
	return nil
}

// FindTreatmentRequestByID returns the request with the id, or ENOTFOUND.
func (s *Store) FindTreatmentRequestByID(ctx context.Context, id int64) (*clink.TreatmentRequest, error) {
	var q *clink.TreatmentRequest
	err := s.transact(ctx, "find_treatment_request", true, func(t *tx) (err error) {
		q, err = t.requestByID(ctx, id)
		return err
	})
	return q, err
}

// FindTreatmentRequests returns a page of requests, newest first, and how many match.
func (s *Store) FindTreatmentRequests(ctx context.Context, f clink.TreatmentRequestFilter) ([]*clink.TreatmentRequest, int, error) {
	pg, err := f.Page.Normalize()
	if err != nil {
		return nil, 0, err
	}
	var w where
	w.addIf(f.Hospital != "", "p.hospital = ?", f.Hospital)
	w.addIf(f.PatientID != 0, "r.patient_id = ?", f.PatientID)
	var out []*clink.TreatmentRequest
	var total int
	err = s.transact(ctx, "find_treatment_requests", true, func(t *tx) (err error) {
		out, total, err = listPage(ctx, t, listQuery{count: "treatment_requests r JOIN patients p ON p.id = r.patient_id", from: requestFrom, cols: requestCols, order: "r.id DESC"}, &w, pg, scanRequest)
		return err
	})
	return out, total, err
}

// --- release specifications

const specCols = `s.id, s.name, s.version, s.definition, s.reason, s.created_at, s.created_by, s.updated_at, s.updated_by`

func scanSpec(r scanner) (*clink.ReleaseSpec, error) {
	s := &clink.ReleaseSpec{}
	if err := r.Scan(append([]any{&s.ID, &s.Name, &s.Version, rawCol{&s.Definition}, &s.Reason}, metaDest(&s.Meta)...)...); err != nil {
		return nil, err
	}
	return s, nil
}

func (t *tx) specByID(ctx context.Context, id int64) (*clink.ReleaseSpec, error) {
	s, err := scanSpec(t.QueryRowContext(ctx, "SELECT "+specCols+" FROM release_specs s WHERE s.id = $1", id))
	return s, notFound(err, "release specification %d not found", id)
}

// CreateReleaseSpec writes a specification version (see clink.ManufacturingStore). The
// definition is stored as given: callers check it with gmp first.
func (s *Store) CreateReleaseSpec(ctx context.Context, sp *clink.ReleaseSpec) error {
	rec := *sp
	rec.Definition = bytes.Clone(sp.Definition)
	if err := rec.Validate(); err != nil {
		return err
	}
	err := s.transact(ctx, "create_release_spec", false, func(t *tx) error {
		v, next, taken, err := t.assignVersion(ctx, "release_specs", rec.Name, rec.Version)
		if err != nil {
			return err
		}
		if taken {
			return clink.Errorf(clink.ECONFLICT, "release specification %s v%d already exists; leave the version empty to write version %d", rec.Name, rec.Version, next)
		}
		rec.Version = v
		t.stamp(ctx, &rec.Meta)
		if err := t.QueryRowContext(ctx, `INSERT INTO release_specs (name, version, definition, reason, `+metaCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, rec.Name, rec.Version, string(rec.Definition), rec.Reason,
			t.ts(rec.CreatedAt), rec.CreatedBy, t.ts(rec.UpdatedAt), rec.UpdatedBy).Scan(&rec.ID); err != nil {
			return err
		}
		return t.audit(ctx, actionCreate, "release_spec", rec.ID, "", rec.Reason, nil, &rec)
	})
	if err != nil {
		return err
	}
	*sp = rec
	return nil
}

// FindReleaseSpecByID returns the specification version with the id, or ENOTFOUND.
func (s *Store) FindReleaseSpecByID(ctx context.Context, id int64) (*clink.ReleaseSpec, error) {
	var sp *clink.ReleaseSpec
	err := s.transact(ctx, "find_release_spec", true, func(t *tx) (err error) {
		sp, err = t.specByID(ctx, id)
		return err
	})
	return sp, err
}

// FindReleaseSpecs returns every version of the specifications (of name, when given).
func (s *Store) FindReleaseSpecs(ctx context.Context, name string) ([]*clink.ReleaseSpec, error) {
	var w where
	w.addIf(name != "", "s.name = ?", name)
	out := []*clink.ReleaseSpec{}
	err := s.transact(ctx, "find_release_specs", true, func(t *tx) error {
		rows, err := t.QueryContext(ctx, "SELECT "+specCols+" FROM release_specs s"+w.sql()+" ORDER BY s.name, s.version", w.args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			sp, err := scanSpec(rows)
			if err != nil {
				return err
			}
			out = append(out, sp)
		}
		return rows.Err()
	})
	return out, err
}

// --- batches

const batchCols = `b.id, b.site, b.lot, b.din, b.check_char, b.facility, b.din_year, b.din_seq, b.product_code, b.coi,
	b.request_id, p.code, p.hospital, d.code, b.protocol_id, pr.name, pr.version, b.spec_id, s.name, s.version, b.steps,
	b.status, b.status_reason, b.created_at, b.created_by, b.updated_at, b.updated_by`

const batchFrom = `batches b JOIN treatment_requests r ON r.id = b.request_id JOIN patients p ON p.id = r.patient_id
	JOIN donors d ON d.id = r.donor_id JOIN protocols pr ON pr.id = b.protocol_id JOIN release_specs s ON s.id = b.spec_id`

func scanBatch(r scanner) (*clink.Batch, error) {
	b := &clink.Batch{}
	var pname, sname string
	var pver, sver int
	dest := []any{&b.ID, &b.Site, &b.Lot, &b.DIN, &b.Check, &b.Facility, &b.DINYear, &b.DINSequence, &b.ProductCode, &b.COI,
		&b.RequestID, &b.PatientCode, &b.Hospital, &b.DonorCode, &b.ProtocolID, &pname, &pver, &b.SpecID, &sname, &sver,
		jsonCol{&b.Steps}, &b.Status, &b.StatusReason}
	if err := r.Scan(append(dest, metaDest(&b.Meta)...)...); err != nil {
		return nil, err
	}
	b.Protocol = fmt.Sprintf("%s v%d", pname, pver)
	b.Spec = fmt.Sprintf("%s v%d", sname, sver)
	return b, nil
}

func (t *tx) batchWhere(ctx context.Context, cond string, args ...any) (*clink.Batch, error) {
	return scanBatch(t.QueryRowContext(ctx, "SELECT "+batchCols+" FROM "+batchFrom+" WHERE "+cond, args...))
}

func (t *tx) batchByID(ctx context.Context, id int64) (*clink.Batch, error) {
	b, err := t.batchWhere(ctx, "b.id = $1", id)
	return b, notFound(err, "batch %d not found", id)
}

// CreateBatch writes a batch (see clink.ManufacturingStore).
func (s *Store) CreateBatch(ctx context.Context, b *clink.Batch) error {
	rec := *b
	if err := rec.Validate(); err != nil {
		return err
	}
	err := s.transact(ctx, "create_batch", false, func(t *tx) error {
		var fe clink.FieldErrors
		if err := t.checkSite(ctx, rec.Site); err != nil {
			fe = append(fe, clink.ErrorFields(err)...)
		}
		if _, err := t.requestByID(ctx, rec.RequestID); clink.ErrorCode(err) == clink.ENOTFOUND {
			fe.Addf("request_id", "no treatment request has the id %d", rec.RequestID)
		} else if err != nil {
			return err
		}
		if _, err := t.specByID(ctx, rec.SpecID); clink.ErrorCode(err) == clink.ENOTFOUND {
			fe.Addf("spec_id", "no release specification has the id %d", rec.SpecID)
		} else if err != nil {
			return err
		}
		if err := fe.Err(); err != nil {
			return err
		}
		var n int
		if err := t.QueryRowContext(ctx, "SELECT COUNT(*) FROM batches WHERE din = $1 OR lot = $2 OR (facility = $3 AND din_year = $4 AND din_seq = $5)",
			rec.DIN, rec.Lot, rec.Facility, rec.DINYear, rec.DINSequence).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return clink.Errorf(clink.ECONFLICT, "DIN %s or lot %s is already used by another batch", rec.DIN, rec.Lot)
		}
		steps, err := jsonText(rec.Steps)
		if err != nil {
			return err
		}
		t.stamp(ctx, &rec.Meta)
		if err := t.QueryRowContext(ctx, `INSERT INTO batches (site, lot, din, check_char, facility, din_year, din_seq, product_code, coi,
			request_id, protocol_id, spec_id, steps, status, status_reason, `+metaCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) RETURNING id`,
			rec.Site, rec.Lot, rec.DIN, rec.Check, rec.Facility, rec.DINYear, rec.DINSequence, rec.ProductCode, rec.COI,
			rec.RequestID, rec.ProtocolID, rec.SpecID, steps, rec.Status, rec.StatusReason,
			t.ts(rec.CreatedAt), rec.CreatedBy, t.ts(rec.UpdatedAt), rec.UpdatedBy).Scan(&rec.ID); err != nil {
			return err
		}
		full, err := t.batchByID(ctx, rec.ID)
		if err != nil {
			return err
		}
		rec = *full
		return t.audit(ctx, actionCreate, "batch", rec.ID, rec.Site, "", nil, &rec)
	})
	if err != nil {
		return err
	}
	*b = rec
	return nil
}

// FindBatchByID returns the batch with the id, or ENOTFOUND.
func (s *Store) FindBatchByID(ctx context.Context, id int64) (*clink.Batch, error) {
	var b *clink.Batch
	err := s.transact(ctx, "find_batch", true, func(t *tx) (err error) {
		b, err = t.batchByID(ctx, id)
		return err
	})
	return b, err
}

// FindBatchByDIN returns the batch with the 13-character DIN, or ENOTFOUND.
func (s *Store) FindBatchByDIN(ctx context.Context, din string) (*clink.Batch, error) {
	var b *clink.Batch
	err := s.transact(ctx, "find_batch", true, func(t *tx) (err error) {
		b, err = t.batchWhere(ctx, "b.din = $1", din)
		return notFound(err, "no batch has the DIN %s", din)
	})
	return b, err
}

// FindBatches returns a page of batches, newest first, and how many match.
func (s *Store) FindBatches(ctx context.Context, f clink.BatchFilter) ([]*clink.Batch, int, error) {
	pg, err := f.Page.Normalize()
	if err != nil {
		return nil, 0, err
	}
	var w where
	w.addIf(f.Site != "", "b.site = ?", f.Site)
	w.addIf(f.Hospital != "", "p.hospital = ?", f.Hospital)
	w.addIf(f.Status != "", "b.status = ?", f.Status)
	var out []*clink.Batch
	var total int
	err = s.transact(ctx, "find_batches", true, func(t *tx) (err error) {
		out, total, err = listPage(ctx, t, listQuery{count: batchFrom, from: batchFrom, cols: batchCols, order: "b.id DESC"}, &w, pg, scanBatch)
		return err
	})
	return out, total, err
}

// MaxDINSequence returns the highest DIN sequence of the facility in the year, or 0.
func (s *Store) MaxDINSequence(ctx context.Context, facility string, year int) (int, error) {
	var n int
	err := s.transact(ctx, "max_din_sequence", true, func(t *tx) error {
		return t.QueryRowContext(ctx, "SELECT COALESCE(MAX(din_seq), 0) FROM batches WHERE facility = $1 AND din_year = $2", facility, year).Scan(&n)
	})
	return n, err
}

// SetBatchStatus moves the batch to status with a reason, audited.
func (s *Store) SetBatchStatus(ctx context.Context, id int64, status, reason string) (*clink.Batch, error) {
	if err := requireReason(reason); err != nil {
		return nil, err
	}
	var rec *clink.Batch
	err := s.transact(ctx, "set_batch_status", false, func(t *tx) error {
		old, err := t.batchByID(ctx, id)
		if err != nil {
			return err
		}
		n := *old
		rec = &n
		rec.Status, rec.StatusReason = status, reason
		if err := rec.Validate(); err != nil {
			return err
		}
		t.restamp(ctx, &rec.Meta, old.Meta)
		res, err := t.ExecContext(ctx, "UPDATE batches SET status = $1, status_reason = $2, updated_at = $3, updated_by = $4 WHERE id = $5 AND status = $6",
			status, reason, t.ts(rec.UpdatedAt), rec.UpdatedBy, id, old.Status)
		if err != nil {
			return err
		}
		if k, err := res.RowsAffected(); err != nil {
			return err
		} else if k != 1 {
			return clink.Errorf(clink.ECONFLICT, "batch %s changed status meanwhile; reload it", old.Lot)
		}
		return t.audit(ctx, actionStatus, "batch", rec.ID, rec.Site, reason, old, rec)
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// --- batch record entries

const entryCols = `e.id, e.batch_id, e.kind, e.key, e.data, COALESCE(e.supersedes, 0), COALESCE(n.id, 0), e.reason, e.user_id, e.created_at, e.created_by`

const entryFrom = `batch_entries e LEFT JOIN batch_entries n ON n.supersedes = e.id`

func scanEntry(r scanner) (*clink.BatchEntry, error) {
	e := &clink.BatchEntry{}
	if err := r.Scan(&e.ID, &e.BatchID, &e.Kind, &e.Key, rawCol{&e.Data}, &e.Supersedes, &e.SupersededBy, &e.Reason, &e.UserID,
		timeCol{&e.CreatedAt}, &e.CreatedBy); err != nil {
		return nil, err
	}
	e.UpdatedAt, e.UpdatedBy = e.CreatedAt, e.CreatedBy
	return e, nil
}

// AddBatchEntry appends an entry to a batch's record (see clink.ManufacturingStore), audited
// as a create of a "batch_entry" on the batch's site.
func (s *Store) AddBatchEntry(ctx context.Context, e *clink.BatchEntry) error {
	rec := *e
	rec.Data = bytes.Clone(e.Data)
	rec.SupersededBy = 0
	if err := rec.Validate(); err != nil {
		return err
	}
	err := s.transact(ctx, "add_batch_entry", false, func(t *tx) error {
		b, err := t.batchByID(ctx, rec.BatchID)
		if clink.ErrorCode(err) == clink.ENOTFOUND {
			return clink.Invalid("batch_id", "no batch has the id %d", rec.BatchID)
		} else if err != nil {
			return err
		}
		var supersedes any
		if rec.Supersedes != 0 {
			old, err := scanEntry(t.QueryRowContext(ctx, "SELECT "+entryCols+" FROM "+entryFrom+" WHERE e.id = $1", rec.Supersedes))
			if errors.Is(err, sql.ErrNoRows) {
				return clink.Invalid("supersedes", "no entry has the id %d", rec.Supersedes)
			} else if err != nil {
				return err
			}
			switch {
			case old.BatchID != rec.BatchID || old.Kind != rec.Kind || old.Key != rec.Key:
				return clink.Invalid("supersedes", "entry %d is not a %s entry %q of this batch", rec.Supersedes, rec.Kind, rec.Key)
			case old.SupersededBy != 0:
				return clink.Errorf(clink.ECONFLICT, "entry %d was already corrected by entry %d; correct that one", old.ID, old.SupersededBy)
			}
			supersedes = rec.Supersedes
		}
		switch err := t.QueryRowContext(ctx, `SELECT id FROM users WHERE username = $1`, clink.ActorFrom(ctx)).Scan(&rec.UserID); {
		case errors.Is(err, sql.ErrNoRows):
			rec.UserID = 0
		case err != nil:
			return err
		}
		t.stamp(ctx, &rec.Meta)
		if err := t.QueryRowContext(ctx, `INSERT INTO batch_entries (batch_id, kind, key, data, supersedes, reason, user_id, created_at, created_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`, rec.BatchID, rec.Kind, rec.Key, string(rec.Data), supersedes,
			rec.Reason, rec.UserID, t.ts(rec.CreatedAt), rec.CreatedBy).Scan(&rec.ID); err != nil {
			if isUniqueViolation(err) {
				return clink.Errorf(clink.ECONFLICT, "entry %d was already corrected", rec.Supersedes)
			}
			return err
		}
		return t.audit(ctx, actionCreate, "batch_entry", rec.ID, b.Site, rec.Reason, nil, &rec)
	})
	if err != nil {
		return err
	}
	*e = rec
	return nil
}

// FindBatchEntries returns every entry of the batch's record in the order written; ENOTFOUND
// when there is no such batch.
func (s *Store) FindBatchEntries(ctx context.Context, batchID int64) ([]*clink.BatchEntry, error) {
	out := []*clink.BatchEntry{}
	err := s.transact(ctx, "find_batch_entries", true, func(t *tx) error {
		if _, err := t.batchByID(ctx, batchID); err != nil {
			return err
		}
		rows, err := t.QueryContext(ctx, "SELECT "+entryCols+" FROM "+entryFrom+" WHERE e.batch_id = $1 ORDER BY e.id", batchID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scanEntry(rows)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	return out, err
}
