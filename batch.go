package clink

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Clinical manufacturing (issue 8, gmp.md): patients kept at their hospital, treatment
// requests, manufacturing batches with their batch record, release specifications, and the
// append-only entries of a batch record (steps, test results, deviations, signatures, custody
// scans). The rules that need several records (what a step's values must be, when a batch may
// be signed, whether a scan matches the chain of identity) belong to the manufacturing
// service; the types here check their own fields.

// Limits of manufacturing records.
const (
	// MaxBatchEntryBytes bounds the JSON data of one batch record entry.
	MaxBatchEntryBytes = 64 << 10
	// MaxReleaseSpecBytes bounds the JSON definition of a release specification.
	MaxReleaseSpecBytes  = 256 << 10
	maxManufacturingText = 2000
)

// Patient is a recipient of a product, kept at their hospital (gmp.md §7.2: identity stays at
// the hospital). Code is the pseudonymous code everyone else sees; Identity (the hospital's
// patient number, name and year of birth) is shown only to the clinicians of Hospital. The
// audit trail records a patient without the identity (see Patient.Pseudonymous).
type Patient struct {
	ID       int64            `json:"id"`
	Hospital string           `json:"hospital"` // site code of a hospital
	Code     string           `json:"code"`     // e.g. "MPL-P0001"; given by the store
	Identity *PatientIdentity `json:"identity,omitempty"`
	Meta
}

// PatientIdentity is what identifies a patient at their hospital.
type PatientIdentity struct {
	MRN       string `json:"mrn"`  // the hospital's patient number
	Name      string `json:"name"` // family and given names
	BirthYear int    `json:"birth_year,omitempty"`
}

// Pseudonymous returns a copy of p without its identity.
func (p *Patient) Pseudonymous() *Patient {
	c := *p
	c.Identity = nil
	return &c
}

// Validate checks the patient's fields: a hospital code and, when given, an identity with a
// patient number and a name (each at most 100 characters) and a plausible year of birth.
func (p *Patient) Validate() error {
	var fe FieldErrors
	if !siteCodeRE.MatchString(p.Hospital) {
		fe.Addf("hospital", "%q is not a site code", p.Hospital)
	}
	if id := p.Identity; id != nil {
		checkText(&fe, "identity.mrn", id.MRN, 100, true)
		checkText(&fe, "identity.name", id.Name, 100, true)
		if id.BirthYear != 0 && (id.BirthYear < 1900 || id.BirthYear > 2100) {
			fe.Addf("identity.birth_year", "%d is not a year of birth", id.BirthYear)
		}
	}
	return fe.Err()
}

// PatientFilter selects patients. Empty fields do not filter.
type PatientFilter struct {
	Hospital string
	Page
}

// TreatmentRequest is a clinician's request for a product (gmp.md §1.3; product.md journey 6):
// the patient, the donor whose cells are expanded, the protocol version, the target dose in NK
// cells per kg and the body weight it is computed on, and the planned infusion dates.
type TreatmentRequest struct {
	ID            int64    `json:"id"`
	PatientID     int64    `json:"patient_id"`
	PatientCode   string   `json:"patient_code"` // filled by the store
	Hospital      string   `json:"hospital"`     // the patient's, filled by the store
	DonorID       int64    `json:"donor_id"`
	DonorCode     string   `json:"donor_code"` // filled by the store
	ProtocolID    int64    `json:"protocol_id"`
	Protocol      string   `json:"protocol"` // "name v3", filled by the store
	TargetNKPerKg float64  `json:"target_nk_per_kg"`
	WeightKg      float64  `json:"weight_kg"`
	InfusionDates []string `json:"infusion_dates"` // YYYY-MM-DD
	Cryopreserved bool     `json:"cryopreserved"`
	Meta
}

// Validate checks the request's own fields: ids, a target dose between 1e5 and 1e9 NK
// cells/kg, a weight of 2 to 250 kg (gmp.md §5), and infusion dates as YYYY-MM-DD.
func (r *TreatmentRequest) Validate() error {
	var fe FieldErrors
	if r.PatientID <= 0 {
		fe.Addf("patient_id", "is required")
	}
	if r.DonorID <= 0 {
		fe.Addf("donor_id", "is required")
	}
	if r.ProtocolID <= 0 {
		fe.Addf("protocol_id", "is required")
	}
	switch x := r.TargetNKPerKg; {
	case math.IsNaN(x) || math.IsInf(x, 0) || x <= 0:
		fe.Addf("target_nk_per_kg", "%g is not a dose: give NK cells per kg, for example 1e7", x)
	case x < 1e5 || x > 1e9:
		fe.Addf("target_nk_per_kg", "%g is outside 1e5 to 1e9 NK cells per kg", x)
	}
	switch w := r.WeightKg; {
	case math.IsNaN(w) || math.IsInf(w, 0):
		fe.Addf("weight_kg", "is not a number")
	case w < 2 || w > 250:
		fe.Addf("weight_kg", "%g is outside 2 to 250 kg", w)
	}
	if len(r.InfusionDates) == 0 {
		fe.Addf("infusion_dates", "at least one planned infusion date is required")
	}
	for i, d := range r.InfusionDates {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			fe.Addf("infusion_dates", "date %d: %q is not a date (YYYY-MM-DD)", i+1, d)
		}
	}
	return fe.Err()
}

// TreatmentRequestFilter selects treatment requests. Zero fields do not filter.
type TreatmentRequestFilter struct {
	Hospital  string
	PatientID int64
	Page
}

// ReleaseSpec is one version of a release specification (gmp.md §4): the JSON form of
// gmp.Spec. Versions never change; a revision is a new version, written by an administrator
// with a reason that the audit trail keeps.
type ReleaseSpec struct {
	ID         int64           `json:"id"`
	Name       string          `json:"name"`
	Version    int             `json:"version"`
	Definition json.RawMessage `json:"definition"`
	Reason     string          `json:"reason"` // why this version was written
	Meta
}

var specNameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)

// Validate checks the specification's own fields; that the definition is a valid gmp.Spec is
// for the manufacturing service to say.
func (s *ReleaseSpec) Validate() error {
	var fe FieldErrors
	if !specNameRE.MatchString(s.Name) {
		fe.Addf("name", "%q is not a specification name (lower-case letters, digits, - and _)", s.Name)
	}
	if s.Version < 0 {
		fe.Addf("version", "%d is negative", s.Version)
	}
	checkJSONObject(&fe, "definition", s.Definition, MaxReleaseSpecBytes)
	checkText(&fe, "reason", s.Reason, maxManufacturingText, true)
	return fe.Err()
}

// Batch statuses (gmp.md §1.3, the main path and its side states).
const (
	BatchInProcess           = "in_process"           // steps and tests being recorded
	BatchReviewed            = "reviewed"             // QA reviewed the record
	BatchReleased            = "released"             // certified by the QP
	BatchReleasedConditional = "released_conditional" // certified with outstanding tests
	BatchRejected            = "rejected"             // rejected by QA or the QP
)

// BatchStatuses lists the statuses in the order of the main path.
var BatchStatuses = []string{BatchInProcess, BatchReviewed, BatchReleased, BatchReleasedConditional, BatchRejected}

// Batch is one manufacturing batch (gmp.md §1.3): its lot number and ISBT 128 Donation
// Identification Number with the check character, the treatment request it is made for, the
// protocol version and release specification it follows, and its master batch record (the
// steps, with expected values and ranges, copied from the protocol when the batch is created,
// so that a later protocol version does not change it).
type Batch struct {
	ID int64 `json:"id"`
	// Site is the code of the manufacturing site.
	Site string `json:"site"`
	Lot  string `json:"lot"`
	// DIN is the 13-character Donation Identification Number and Check its check character.
	DIN         string       `json:"din"`
	Check       string       `json:"check"`
	Facility    string       `json:"facility"` // the FIN, the DIN's first 5 characters
	DINYear     int          `json:"din_year"`
	DINSequence int          `json:"din_sequence"`
	ProductCode string       `json:"product_code"`
	COI         string       `json:"coi"` // chain-of-identity code
	RequestID   int64        `json:"request_id"`
	PatientCode string       `json:"patient_code"` // filled by the store
	Hospital    string       `json:"hospital"`     // the patient's, filled by the store
	DonorCode   string       `json:"donor_code"`   // filled by the store
	ProtocolID  int64        `json:"protocol_id"`
	Protocol    string       `json:"protocol"` // "name v3", filled by the store
	SpecID      int64        `json:"spec_id"`
	Spec        string       `json:"spec"` // "name v2", filled by the store
	Steps       []MasterStep `json:"steps"`
	Status      string       `json:"status"`
	// StatusReason says why the batch last changed status.
	StatusReason string `json:"status_reason"`
	Meta
}

// MasterStep is one step of a master batch record: what to do, on which culture day, and the
// values to enter with their acceptable ranges.
type MasterStep struct {
	Key    string      `json:"key"`
	Name   string      `json:"name"`
	Day    int         `json:"day"`
	Fields []StepField `json:"fields"`
	// Reagents says that the step uses reagents whose lots are recorded.
	Reagents bool `json:"reagents,omitempty"`
}

// StepField is one value of a step, with its acceptable range (nil for none).
type StepField struct {
	Key      string   `json:"key"`
	Name     string   `json:"name"`
	Unit     string   `json:"unit,omitempty"`
	Min      *float64 `json:"min,omitempty"`
	Max      *float64 `json:"max,omitempty"`
	Expected string   `json:"expected,omitempty"` // the expected value, in words
}

var recordKeyRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// Validate checks the batch's own fields: a site, a 13-character DIN with its check
// character, a lot, the ids it follows, a status, and a master record of uniquely keyed steps.
func (b *Batch) Validate() error {
	var fe FieldErrors
	if !siteCodeRE.MatchString(b.Site) {
		fe.Addf("site", "%q is not a site code", b.Site)
	}
	if len(b.DIN) != 13 {
		fe.Addf("din", "%q is not a 13-character DIN", b.DIN)
	}
	if len(b.Check) != 1 {
		fe.Addf("check", "%q is not one check character", b.Check)
	}
	checkText(&fe, "lot", b.Lot, 40, true)
	if b.RequestID <= 0 {
		fe.Addf("request_id", "is required")
	}
	if b.ProtocolID <= 0 {
		fe.Addf("protocol_id", "is required")
	}
	if b.SpecID <= 0 {
		fe.Addf("spec_id", "is required")
	}
	if !slices.Contains(BatchStatuses, b.Status) {
		fe.Addf("status", "%q is not one of %s", b.Status, strings.Join(BatchStatuses, ", "))
	}
	if len(b.Steps) == 0 {
		fe.Addf("steps", "a batch record needs at least one step")
	}
	seen := map[string]bool{}
	for i, s := range b.Steps {
		if !recordKeyRE.MatchString(s.Key) || seen[s.Key] {
			fe.Addf("steps", "step %d: key %q is not a new lower-case key", i+1, s.Key)
		}
		seen[s.Key] = true
	}
	return fe.Err()
}

// Step returns the master step with the key.
func (b *Batch) Step(key string) (MasterStep, bool) {
	for _, s := range b.Steps {
		if s.Key == key {
			return s, true
		}
	}
	return MasterStep{}, false
}

// BatchFilter selects batches. Empty fields do not filter.
type BatchFilter struct {
	Site     string
	Hospital string
	Status   string
	Page
}

// Kinds of batch record entries.
const (
	EntryStep             = "step"              // a step performed, with its values
	EntryResult           = "result"            // an in-process or release test result
	EntryDeviation        = "deviation"         // a deviation with its corrective action
	EntrySignature        = "signature"         // an electronic signature
	EntrySignatureRefused = "signature_refused" // a refused signing attempt (wrong password, wrong role)
	EntryCustody          = "custody"           // a chain-of-custody scan, accepted or refused
)

// EntryKinds lists the kinds of batch record entries.
var EntryKinds = []string{EntryStep, EntryResult, EntryDeviation, EntrySignature, EntrySignatureRefused, EntryCustody}

// BatchEntry is one append-only entry of a batch record. Nothing is ever changed: a correction
// is a new entry that supersedes an earlier one of the same kind and key, with a reason; the
// earlier entry stays visible. Key names what the entry is about: a step's key, a test's key,
// a signature's meaning, a custody event. Data is the entry's content as JSON (StepData,
// ResultData, DeviationData, SignatureData, CustodyData).
type BatchEntry struct {
	ID         int64           `json:"id"`
	BatchID    int64           `json:"batch_id"`
	Kind       string          `json:"kind"`
	Key        string          `json:"key"`
	Data       json.RawMessage `json:"data"`
	Supersedes int64           `json:"supersedes,omitempty"`
	// SupersededBy is the id of the entry that corrects this one; filled by the store.
	SupersededBy int64  `json:"superseded_by,omitempty"`
	Reason       string `json:"reason,omitempty"`
	// UserID is the id of the user who wrote the entry (0 for a process).
	UserID int64 `json:"user_id"`
	Meta
}

// Validate checks the entry's own fields: a batch, a known kind, a key, a JSON object of data
// and a reason when it corrects an earlier entry.
func (e *BatchEntry) Validate() error {
	var fe FieldErrors
	if e.BatchID <= 0 {
		fe.Addf("batch_id", "is required")
	}
	if !slices.Contains(EntryKinds, e.Kind) {
		fe.Addf("kind", "%q is not one of %s", e.Kind, strings.Join(EntryKinds, ", "))
	}
	if !recordKeyRE.MatchString(e.Key) {
		fe.Addf("key", "%q is not a lower-case key", e.Key)
	}
	checkJSONObject(&fe, "data", e.Data, MaxBatchEntryBytes)
	checkText(&fe, "reason", e.Reason, maxManufacturingText, e.Supersedes != 0)
	if e.Supersedes < 0 {
		fe.Addf("supersedes", "%d is not an entry id", e.Supersedes)
	}
	return fe.Err()
}

// Decode reads the entry's data into v.
func (e *BatchEntry) Decode(v any) error {
	if err := json.Unmarshal(e.Data, v); err != nil {
		return Errorf(EINTERNAL, "batch entry %d: %v", e.ID, err)
	}
	return nil
}

// ReagentLot is a reagent used in a step, with its lot and expiry date (YYYY-MM-DD).
type ReagentLot struct {
	Name   string `json:"name"`
	Lot    string `json:"lot"`
	Expiry string `json:"expiry"`
}

// StepData is the content of a step entry: who performed it (the entry's author), when, with
// which equipment and reagent lots, the values entered, and the deviation an out-of-range value
// needs.
type StepData struct {
	PerformedAt time.Time          `json:"performed_at"`
	Equipment   string             `json:"equipment,omitempty"`
	Reagents    []ReagentLot       `json:"reagents,omitempty"`
	Values      map[string]float64 `json:"values"`
	// OutOfRange lists the fields whose values are outside their ranges, as the service
	// found them when the entry was written.
	OutOfRange []string `json:"out_of_range,omitempty"`
	Deviation  string   `json:"deviation,omitempty"` // what went wrong, required when OutOfRange is not empty
	CAPA       string   `json:"capa,omitempty"`      // the reference of the corrective action
	Comment    string   `json:"comment,omitempty"`
}

// ResultData is the content of a test result entry: a number, a text (for a qualitative test)
// or both.
type ResultData struct {
	Value *float64 `json:"value,omitempty"`
	Text  string   `json:"text,omitempty"`
	// Unit is the unit of the value as the specification states it.
	Unit string `json:"unit,omitempty"`
}

// DeviationData is a deviation raised on the batch (not on one step): what happened, its
// corrective action reference, and the specification tests it concerns.
type DeviationData struct {
	Description string   `json:"description"`
	CAPA        string   `json:"capa"`
	Tests       []string `json:"tests,omitempty"`
}

// Signature meanings (gmp.md §3 S1, §1.2).
const (
	MeaningReviewed = "reviewed" // QA reviewed the record
	MeaningReleased = "released" // the QP certified the batch for release
	MeaningRejected = "rejected" // QA or the QP rejected the batch
)

// SignatureData is an electronic signature (21 CFR 11.50, 11.70; gmp.md §3 S1-S2): the
// signer's printed name at the time, the meaning, the time, and the SHA-256 hash of the
// canonical serialisation of the exact record version signed.
type SignatureData struct {
	Username    string    `json:"username"`
	PrintedName string    `json:"printed_name"`
	Meaning     string    `json:"meaning"`
	SignedAt    time.Time `json:"signed_at"`
	RecordHash  string    `json:"record_hash"`
	// Serializer is the version of the canonical serialisation the hash was computed with.
	Serializer int `json:"serializer"`
	// Reason is the signer's reason: required to release out of a soft limit, or to reject.
	Reason string `json:"reason,omitempty"`
	// Status is the release status the specification gave when the QP signed.
	Status string `json:"status,omitempty"`
	// Outstanding lists the results still outstanding at a conditional release: entering
	// them later does not change what the QP signed.
	Outstanding []string `json:"outstanding,omitempty"`
}

// SignatureRefusedData records a refused signing attempt.
type SignatureRefusedData struct {
	Username string `json:"username"`
	Meaning  string `json:"meaning"`
	Why      string `json:"why"`
}

// CustodyData is a chain-of-custody scan (gmp.md §6): the event, the place, what was scanned,
// and whether it matched the chain of identity.
type CustodyData struct {
	Event    string    `json:"event"`
	Place    string    `json:"place"`
	At       time.Time `json:"at"`
	DIN      string    `json:"din"`
	Product  string    `json:"product"`
	COI      string    `json:"coi"`
	Manual   bool      `json:"manual,omitempty"`
	Accepted bool      `json:"accepted"`
	Refusal  string    `json:"refusal,omitempty"`
}

// ManufacturingStore keeps patients, treatment requests, release specifications, batches and
// their append-only records. Every write is one transaction and audited; patients are audited
// without their identity.
type ManufacturingStore interface {
	// CreatePatient gives the patient its code ("HOSP-Pnnnn"); the hospital must be a site of
	// kind hospital.
	CreatePatient(ctx context.Context, p *Patient) error
	FindPatientByID(ctx context.Context, id int64) (*Patient, error)
	FindPatients(ctx context.Context, f PatientFilter) ([]*Patient, int, error)

	CreateTreatmentRequest(ctx context.Context, r *TreatmentRequest) error
	FindTreatmentRequestByID(ctx context.Context, id int64) (*TreatmentRequest, error)
	FindTreatmentRequests(ctx context.Context, f TreatmentRequestFilter) ([]*TreatmentRequest, int, error)

	// CreateReleaseSpec writes version 1 of a new name or, with Version 0 and a known name,
	// its next version.
	CreateReleaseSpec(ctx context.Context, s *ReleaseSpec) error
	FindReleaseSpecByID(ctx context.Context, id int64) (*ReleaseSpec, error)
	// FindReleaseSpecs returns every version of every specification (of name, when given),
	// by name and version.
	FindReleaseSpecs(ctx context.Context, name string) ([]*ReleaseSpec, error)

	// CreateBatch writes a batch; a DIN or lot already used is ECONFLICT.
	CreateBatch(ctx context.Context, b *Batch) error
	FindBatchByID(ctx context.Context, id int64) (*Batch, error)
	// FindBatchByDIN finds a batch by its 13-character DIN.
	FindBatchByDIN(ctx context.Context, din string) (*Batch, error)
	FindBatches(ctx context.Context, f BatchFilter) ([]*Batch, int, error)
	// MaxDINSequence returns the highest DIN sequence number used by the facility in the
	// year (two digits), or 0.
	MaxDINSequence(ctx context.Context, facility string, year int) (int, error)
	// SetBatchStatus moves a batch to a status with a reason (the service decides which moves
	// are allowed).
	SetBatchStatus(ctx context.Context, id int64, status, reason string) (*Batch, error)

	// AddBatchEntry appends an entry to a batch's record. An entry that supersedes another
	// must name one of the same batch, kind and key that is not already superseded.
	AddBatchEntry(ctx context.Context, e *BatchEntry) error
	// FindBatchEntries returns every entry of the batch's record, superseded or not, in the
	// order they were written.
	FindBatchEntries(ctx context.Context, batchID int64) ([]*BatchEntry, error)
}

// checkText reports a text field that is required but empty, longer than max characters, or
// not valid UTF-8 text (NUL characters included).
func checkText(fe *FieldErrors, field, s string, max int, required bool) {
	switch {
	case required && strings.TrimSpace(s) == "":
		fe.Addf(field, "is required")
	case !utf8.ValidString(s) || strings.ContainsRune(s, 0):
		fe.Addf(field, "is not valid UTF-8 text")
	case utf8.RuneCountInString(s) > max:
		fe.Addf(field, "is longer than %d characters", max)
	}
}

// checkJSONObject reports data that is not a JSON object of at most max bytes.
func checkJSONObject(fe *FieldErrors, field string, data json.RawMessage, max int) {
	d := bytes.TrimSpace(data)
	switch {
	case len(d) == 0:
		fe.Addf(field, "is required")
	case len(d) > max:
		fe.Addf(field, "is larger than %d bytes", max)
	case d[0] != '{' || !json.Valid(d):
		fe.Addf(field, "is not a JSON object")
	}
}
