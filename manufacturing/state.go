package manufacturing

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/gmp"
)

// State is where a batch stands: its record, the entries in force (the latest of each step
// and test; corrected ones are kept and flagged), the assessment against the specification,
// the dose, the signatures with whether each still matches the record, the custody scans, and
// what is missing before the next stage.
type State struct {
	Batch   *clink.Batch            `json:"batch"`
	Request *clink.TreatmentRequest `json:"request"`
	Spec    gmp.Spec                `json:"spec"`
	Entries []*clink.BatchEntry     `json:"entries"`

	// Steps holds the step entry in force for each step of the master record that has one.
	Steps map[string]*StepEntry `json:"steps"`
	// Results holds the result entry in force of each test entered.
	Results map[string]*ResultEntry `json:"results"`
	// Deviations are the batch's deviations, including those raised with step values.
	Deviations []Deviation `json:"deviations"`
	// Assessment is the specification's verdict on the results, with the results the dose
	// calculation gives (delivered dose, residual CD3+ cells and endotoxin in the dose).
	Assessment gmp.Assessment `json:"assessment"`
	// Dose is the dose calculation; nil until the formulation and the viability and purity
	// results are in (DoseProblem says what is missing).
	Dose        *gmp.Dose `json:"dose,omitempty"`
	DoseProblem string    `json:"dose_problem,omitempty"`

	Signatures []Signature         `json:"signatures"`
	Custody    []CustodyEntry      `json:"custody"`
	Refusals   []*clink.BatchEntry `json:"refusals"`

	// RecordHash is the SHA-256 of the canonical serialisation of the record as it is now.
	RecordHash string `json:"record_hash"`
	// Missing lists, in words, what the batch needs before its next stage.
	Missing []string `json:"missing"`
	// Next names the next stage: "record", "qa_review", "qp_release", "custody", "done".
	Next string `json:"next"`

	cfg Config
}

// StepEntry is a step as recorded.
type StepEntry struct {
	Entry *clink.BatchEntry `json:"entry"`
	Data  clink.StepData    `json:"data"`
	// Corrected says that the step was entered before and corrected since.
	Corrected bool `json:"corrected"`
}

// ResultEntry is a test result as recorded.
type ResultEntry struct {
	Entry     *clink.BatchEntry `json:"entry"`
	Data      clink.ResultData  `json:"data"`
	Corrected bool              `json:"corrected"`
}

// Deviation is a deviation on the batch: raised on its own or with a step's values.
type Deviation struct {
	EntryID     int64     `json:"entry_id"`
	Step        string    `json:"step,omitempty"`
	Description string    `json:"description"`
	CAPA        string    `json:"capa"`
	Tests       []string  `json:"tests,omitempty"`
	By          string    `json:"by"`
	At          time.Time `json:"at"`
}

// Signature is a signature with its manifestation, whether it still matches the record it
// signed, and whether the record changed since.
type Signature struct {
	EntryID int64               `json:"entry_id"`
	Data    clink.SignatureData `json:"data"`
	// Valid says that the record as it stood when signed (the entries written before the
	// signature) still has the hash the signature stores: false means that a signed entry
	// was altered in the database, and the signature is invalid (gmp.md §3 S2).
	Valid bool `json:"valid"`
	// Changed says that entries were added since signing (a correction, a new result): the
	// record is no longer the version signed (S3). Results outstanding at a conditional
	// release do not count.
	Changed bool `json:"changed"`
}

// Current reports whether the signature holds for the record as it is now.
func (s Signature) Current() bool { return s.Valid && !s.Changed }

// CustodyEntry is one custody scan as recorded.
type CustodyEntry struct {
	EntryID int64             `json:"entry_id"`
	By      string            `json:"by"`
	Data    clink.CustodyData `json:"data"`
}

// Serializer is the version of the canonical serialisation record hashes are computed with.
const Serializer = 1

// Load reads the batch's record and works out its state.
func (s *Service) Load(ctx context.Context, id int64) (*State, error) {
	return s.load(ctx, s.Store, id)
}

func (s *Service) load(ctx context.Context, st clink.Store, id int64) (*State, error) {
	b, err := st.FindBatchByID(ctx, id)
	if err != nil {
		return nil, err
	}
	req, err := st.FindTreatmentRequestByID(ctx, b.RequestID)
	if err != nil {
		return nil, err
	}
	rs, err := st.FindReleaseSpecByID(ctx, b.SpecID)
	if err != nil {
		return nil, err
	}
	spec, err := ParseSpec(rs.Definition)
	if err != nil {
		return nil, fmt.Errorf("batch %s: release specification: %w", b.Lot, err)
	}
	entries, err := st.FindBatchEntries(ctx, id)
	if err != nil {
		return nil, err
	}
	return newState(s.Config, b, req, spec, entries)
}

func newState(cfg Config, b *clink.Batch, req *clink.TreatmentRequest, spec gmp.Spec, entries []*clink.BatchEntry) (*State, error) {
	s := &State{cfg: cfg, Batch: b, Request: req, Spec: spec, Entries: entries, Steps: map[string]*StepEntry{}, Results: map[string]*ResultEntry{},
		Deviations: []Deviation{}, Signatures: []Signature{}, Custody: []CustodyEntry{}, Refusals: []*clink.BatchEntry{}, Missing: []string{}}
	for _, e := range entries {
		if e.SupersededBy != 0 {
			continue
		}
		switch e.Kind {
		case clink.EntryStep:
			var d clink.StepData
			if err := e.Decode(&d); err != nil {
				return nil, err
			}
			s.Steps[e.Key] = &StepEntry{Entry: e, Data: d, Corrected: e.Supersedes != 0}
			if d.Deviation != "" {
				s.Deviations = append(s.Deviations, Deviation{EntryID: e.ID, Step: e.Key, Description: d.Deviation, CAPA: d.CAPA, By: e.CreatedBy, At: e.CreatedAt})
			}
		case clink.EntryResult:
			var d clink.ResultData
			if err := e.Decode(&d); err != nil {
				return nil, err
			}
			s.Results[e.Key] = &ResultEntry{Entry: e, Data: d, Corrected: e.Supersedes != 0}
		case clink.EntryDeviation:
			var d clink.DeviationData
			if err := e.Decode(&d); err != nil {
				return nil, err
			}
			s.Deviations = append(s.Deviations, Deviation{EntryID: e.ID, Description: d.Description, CAPA: d.CAPA, Tests: d.Tests, By: e.CreatedBy, At: e.CreatedAt})
		case clink.EntrySignature:
			var d clink.SignatureData
			if err := e.Decode(&d); err != nil {
				return nil, err
			}
			s.Signatures = append(s.Signatures, Signature{EntryID: e.ID, Data: d})
		case clink.EntryCustody:
			var d clink.CustodyData
			if err := e.Decode(&d); err != nil {
				return nil, err
			}
			s.Custody = append(s.Custody, CustodyEntry{EntryID: e.ID, By: e.CreatedBy, Data: d})
		case clink.EntrySignatureRefused:
			s.Refusals = append(s.Refusals, e)
		}
	}
	hash, err := RecordHash(b, entries)
	if err != nil {
		return nil, err
	}
	s.RecordHash = hash
	// Results that were outstanding at a conditional release and entered after it are
	// expected: they change no signature.
	late := map[int64]bool{}
	for _, sg := range s.Signatures {
		for _, e := range entries {
			if e.ID > sg.EntryID && e.Kind == clink.EntryResult && e.Supersedes == 0 && slices.Contains(sg.Data.Outstanding, e.Key) {
				late[e.ID] = true
			}
		}
	}
	for i := range s.Signatures {
		sg := &s.Signatures[i]
		var before []*clink.BatchEntry
		for _, e := range entries {
			if e.ID < sg.EntryID {
				before = append(before, e)
			} else if recorded(e) && !late[e.ID] {
				sg.Changed = true
			}
		}
		h, err := RecordHash(b, before)
		if err != nil {
			return nil, err
		}
		sg.Valid = h == sg.Data.RecordHash
	}
	s.assess()
	s.missing()
	return s, nil
}

// results returns the entered results with the ones the dose calculation gives.
func (s *State) assess() {
	res := gmp.Results{}
	for k, r := range s.Results {
		if r.Data.Value != nil {
			res[k] = gmp.Result{Value: *r.Data.Value, Text: r.Data.Text}
		} else {
			res[k] = gmp.Result{Text: r.Data.Text}
		}
	}
	s.dose()
	if d := s.Dose; d != nil {
		w := s.Request.WeightKg
		res[gmp.TestDose] = gmp.Result{Value: d.DeliveredPct}
		res[gmp.TestResidualCD3] = gmp.Result{Value: d.DeliveredCD3PerKg * w}
		res[gmp.TestVolume] = gmp.Result{Value: d.VolumeML}
		res[gmp.TestNKCells] = gmp.Result{Value: d.DeliveredNKPerKg * w}
		if d.EndotoxinEUPerKg != nil {
			res[gmp.TestEndotoxinPerKg] = gmp.Result{Value: *d.EndotoxinEUPerKg * w}
		}
		if f := s.Steps["formulation"]; f != nil {
			res[gmp.TestTotalCells] = gmp.Result{Value: f.Data.Values["tnc_per_ml"] * d.VolumeML}
		}
	}
	// Keep only the tests the specification has: a specification without a line for a
	// derived result simply does not judge it.
	for k := range res {
		if !slices.ContainsFunc(s.Spec.Limits, func(l gmp.Limit) bool { return l.Test == k }) {
			delete(res, k)
		}
	}
	a, err := gmp.Evaluate(s.Spec, res, s.Request.WeightKg)
	if err != nil {
		// Results are checked against the specification when entered, so this is a record
		// written under an older rule: show it as incomplete with the reason.
		a = gmp.Assessment{Spec: s.Spec.Name, SpecVersion: s.Spec.Version, Status: gmp.Incomplete,
			HardFailures: []string{}, SoftFailures: []string{}, Missing: []string{err.Error()}, Outstanding: []string{}}
	}
	s.Assessment = a
}

// Derived reports whether the test's result is computed by the dose calculation rather than
// entered.
func Derived(test string) bool {
	switch test {
	case gmp.TestDose, gmp.TestResidualCD3, gmp.TestVolume, gmp.TestNKCells, gmp.TestEndotoxinPerKg, gmp.TestTotalCells:
		return true
	}
	return false
}

// dose runs the dose calculation (gmp.md §5) when its inputs are in: the formulation step
// (nucleated cells/mL, CD3+ %, volume available), the viability and NK purity results, the
// request's weight and target, and the specification's CD3+ cap.
func (s *State) dose() {
	f := s.Steps["formulation"]
	via, pur := s.Results[gmp.TestViability], s.Results[gmp.TestNKPurity]
	switch {
	case f == nil:
		s.DoseProblem = "the formulation step is not recorded"
		return
	case via == nil || via.Data.Value == nil:
		s.DoseProblem = "the viability result is not entered"
		return
	case pur == nil || pur.Data.Value == nil:
		s.DoseProblem = "the NK purity result is not entered"
		return
	}
	in := gmp.DoseInput{
		TNCPerML: f.Data.Values["tnc_per_ml"], ViabilityPct: *via.Data.Value, NKPurityPct: *pur.Data.Value,
		CD3Pct: f.Data.Values["cd3_pct"], AvailableML: f.Data.Values["available_ml"],
		WeightKg: s.Request.WeightKg, TargetNKPerKg: s.Request.TargetNKPerKg, CD3CapPerKg: gmp.DefaultCD3CapPerKg,
		BagMaxML: s.cfg.BagMaxML,
	}
	if s.Request.Cryopreserved {
		in.Cryopreserved, in.BagMaxML = true, s.cfg.CryoBagMaxML
		in.DMSOGPerML, in.DMSOCapGPerKg = gmp.DMSOGPerMLFromPct(s.cfg.DMSOPct), s.cfg.DMSOCapGPerKg
	}
	for _, l := range s.Spec.Limits {
		if l.Test == gmp.TestResidualCD3 && l.Max != nil {
			in.CD3CapPerKg = l.Max.Value
		}
	}
	if e := s.Results[gmp.TestEndotoxin]; e != nil && e.Data.Value != nil {
		v := *e.Data.Value
		in.EndotoxinEUPerML = &v
	}
	d, err := gmp.CalculateDose(in)
	if err != nil {
		s.DoseProblem = "the dose cannot be calculated: " + err.Error()
		return
	}
	s.Dose = &d
}

// missing lists what the batch needs before its next stage.
func (s *State) missing() {
	b := s.Batch
	switch b.Status {
	case clink.BatchInProcess:
		s.Missing = append(s.Missing, recordGaps(s)...)
		s.Next = "record"
		if len(s.Missing) == 0 {
			s.Next = "qa_review"
			s.Missing = append(s.Missing, "QA review signature")
		}
	case clink.BatchReviewed:
		s.Next = "qp_release"
		if sg := s.latest(clink.MeaningReviewed); sg == nil || !sg.Current() {
			s.Next = "qa_review"
			s.Missing = append(s.Missing, recordGaps(s)...)
			s.Missing = append(s.Missing, "the record changed since QA reviewed it: QA must review it again")
		} else {
			s.Missing = append(s.Missing, "QP release signature")
		}
	case clink.BatchReleasedConditional:
		s.Next = "custody"
		for _, t := range s.Assessment.Outstanding {
			s.Missing = append(s.Missing, "outstanding result: "+s.testName(t))
		}
	case clink.BatchReleased:
		s.Next = "custody"
	case clink.BatchRejected:
		s.Next = "done"
	}
	if s.Assessment.Status == gmp.Blocked {
		s.Missing = append(s.Missing, "out of a hard limit: the batch cannot be released")
	}
}

// deviationCovers reports whether a deviation names the test.
func (s *State) deviationCovers(test string) bool {
	return slices.ContainsFunc(s.Deviations, func(d Deviation) bool { return slices.Contains(d.Tests, test) })
}

// latest returns the newest signature of the meaning.
func (s *State) latest(meaning string) *Signature {
	for i := len(s.Signatures) - 1; i >= 0; i-- {
		if s.Signatures[i].Data.Meaning == meaning {
			return &s.Signatures[i]
		}
	}
	return nil
}

// testName returns the name the specification gives a test.
func (s *State) testName(test string) string {
	for _, l := range s.Spec.Limits {
		if l.Test == test {
			return l.Name
		}
	}
	return test
}

// RecordHash is the SHA-256 of the canonical serialisation (gmp.md §3 S2) of the batch record:
// the batch's identifiers and master record, and every step, result and deviation entry,
// corrected ones included, with who wrote it and when. Signatures, custody scans and refused
// signing attempts are not part of what is signed. The serialisation is JSON with keys sorted
// and no insignificant whitespace, numbers as Go writes them (the shortest form that reads back
// the same), times in RFC 3339 UTC, and the serializer version.
func RecordHash(b *clink.Batch, entries []*clink.BatchEntry) (string, error) {
	type entry struct {
		ID         int64           `json:"id"`
		Kind       string          `json:"kind"`
		Key        string          `json:"key"`
		Data       json.RawMessage `json:"data"`
		Supersedes int64           `json:"supersedes"`
		Reason     string          `json:"reason"`
		By         string          `json:"by"`
		At         string          `json:"at"`
	}
	rec := struct {
		Serializer  int                `json:"serializer"`
		Lot         string             `json:"lot"`
		DIN         string             `json:"din"`
		Check       string             `json:"check"`
		ProductCode string             `json:"product_code"`
		COI         string             `json:"coi"`
		RequestID   int64              `json:"request_id"`
		ProtocolID  int64              `json:"protocol_id"`
		SpecID      int64              `json:"spec_id"`
		Steps       []clink.MasterStep `json:"steps"`
		Entries     []entry            `json:"entries"`
	}{Serializer: Serializer, Lot: b.Lot, DIN: b.DIN, Check: b.Check, ProductCode: b.ProductCode, COI: b.COI,
		RequestID: b.RequestID, ProtocolID: b.ProtocolID, SpecID: b.SpecID, Steps: b.Steps, Entries: []entry{}}
	for _, e := range entries {
		if recorded(e) {
			rec.Entries = append(rec.Entries, entry{ID: e.ID, Kind: e.Kind, Key: e.Key, Data: e.Data, Supersedes: e.Supersedes,
				Reason: e.Reason, By: e.CreatedBy, At: e.CreatedAt.UTC().Format(time.RFC3339Nano)})
		}
	}
	raw, err := json.Marshal(rec)
	if err != nil {
		return "", err
	}
	canon, err := Canonical(raw)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(canon)
	return hex.EncodeToString(sum[:]), nil
}

// Canonical rewrites a JSON document with object keys sorted and no insignificant
// whitespace, numbers kept as written.
func Canonical(doc []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil { // maps are written with sorted keys
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// recorded reports whether an entry is part of what signatures sign: steps, results and
// deviations.
func recorded(e *clink.BatchEntry) bool {
	switch e.Kind {
	case clink.EntryStep, clink.EntryResult, clink.EntryDeviation:
		return true
	}
	return false
}
