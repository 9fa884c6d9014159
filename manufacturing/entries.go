package manufacturing

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/gmp"
)

// StepInput is a step as an operator enters it.
type StepInput struct {
	Step        string             `json:"step"`
	PerformedAt time.Time          `json:"performed_at"` // zero for now
	Equipment   string             `json:"equipment,omitempty"`
	Reagents    []clink.ReagentLot `json:"reagents,omitempty"`
	Values      map[string]float64 `json:"values"`
	Deviation   string             `json:"deviation,omitempty"`
	CAPA        string             `json:"capa,omitempty"`
	Comment     string             `json:"comment,omitempty"`
	// Supersedes is the entry this one corrects, with Reason; 0 for a first entry.
	Supersedes int64  `json:"supersedes,omitempty"`
	Reason     string `json:"reason,omitempty"`
}

// RecordStep appends a step to the batch record after checking it (gmp.md §3 W1, W3; issue 8
// "Each step"): the batch is in process; the step is in the master record and every step before
// it is recorded (a correction may be entered at any time); every value of the step is given,
// a finite number, and nothing else; reagent lots are named with their expiry and none has
// expired on the day the step was performed; the performance time is not in the future; and a
// value out of its range needs the deviation's description and corrective action reference.
// The error is EINVALID naming every field at fault, and nothing is written.
func (s *Service) RecordStep(ctx context.Context, batchID int64, in StepInput) (*clink.BatchEntry, error) {
	var out *clink.BatchEntry
	err := s.Store.Atomic(ctx, func(st clink.Store) error {
		state, err := s.load(ctx, st, batchID)
		if err != nil {
			return err
		}
		if err := writable(state); err != nil {
			return err
		}
		e, err := s.stepEntry(state, in)
		if err != nil {
			return err
		}
		if err := st.AddBatchEntry(ctx, e); err != nil {
			return err
		}
		out = e
		return nil
	})
	return out, err
}

func (s *Service) stepEntry(state *State, in StepInput) (*clink.BatchEntry, error) {
	var fe clink.FieldErrors
	b := state.Batch
	ms, ok := b.Step(in.Step)
	if !ok {
		keys := make([]string, len(b.Steps))
		for i, st := range b.Steps {
			keys[i] = st.Key
		}
		return nil, clink.Invalid("step", "%q is not a step of this batch record (%s)", in.Step, strings.Join(keys, ", "))
	}
	if in.Supersedes == 0 {
		if prev := state.Steps[in.Step]; prev != nil {
			return nil, clink.Invalid("step", "%s is already recorded (entry %d): correct that entry with a reason instead", ms.Name, prev.Entry.ID)
		}
		for _, before := range b.Steps {
			if before.Key == in.Step {
				break
			}
			if state.Steps[before.Key] == nil {
				return nil, clink.Invalid("step", "%s comes before %s and is not recorded yet", before.Name, ms.Name)
			}
		}
	}
	now := s.now()
	at := in.PerformedAt.UTC()
	if in.PerformedAt.IsZero() {
		at = now
	}
	if at.After(now.Add(5 * time.Minute)) {
		fe.Addf("performed_at", "%s is in the future", at.Format(time.RFC3339))
	}
	data := clink.StepData{PerformedAt: at, Equipment: strings.TrimSpace(in.Equipment), Values: map[string]float64{},
		Deviation: strings.TrimSpace(in.Deviation), CAPA: strings.TrimSpace(in.CAPA), Comment: strings.TrimSpace(in.Comment)}
	var why []string // why each value of OutOfRange is out of range
	for _, f := range ms.Fields {
		v, ok := in.Values[f.Key]
		switch {
		case !ok:
			fe.Addf("values."+f.Key, "%s is required", f.Name)
			continue
		case math.IsNaN(v) || math.IsInf(v, 0):
			fe.Addf("values."+f.Key, "%s is not a number", f.Name)
			continue
		}
		data.Values[f.Key] = v
		if msg := outOfRange(f, v); msg != "" {
			data.OutOfRange = append(data.OutOfRange, f.Key)
			why = append(why, msg)
		}
	}
	var extra []string
	for k := range in.Values {
		if !slices.ContainsFunc(ms.Fields, func(f clink.StepField) bool { return f.Key == k }) {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		fe.Addf("values."+k, "is not a value of %s", ms.Name)
	}
	if len(data.OutOfRange) > 0 {
		if data.Deviation == "" {
			for i, k := range data.OutOfRange {
				fe.Addf("values."+k, "%s: describe the deviation to record it", why[i])
			}
		}
		if data.CAPA == "" {
			fe.Addf("capa", "a deviation needs the reference of its corrective action")
		}
	}
	if ms.Reagents && len(in.Reagents) == 0 {
		fe.Addf("reagents", "%s uses reagents: record each with its lot and expiry", ms.Name)
	}
	for i, r := range in.Reagents {
		field := fmt.Sprintf("reagents[%d]", i)
		r.Name, r.Lot, r.Expiry = strings.TrimSpace(r.Name), strings.TrimSpace(r.Lot), strings.TrimSpace(r.Expiry)
		if r.Name == "" {
			fe.Addf(field+".name", "is required")
		}
		if r.Lot == "" {
			fe.Addf(field+".lot", "is required")
		}
		exp, err := time.Parse(time.DateOnly, r.Expiry)
		switch {
		case err != nil:
			fe.Addf(field+".expiry", "%q is not a date (YYYY-MM-DD)", r.Expiry)
		case exp.Before(time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, time.UTC)):
			fe.Addf(field+".expiry", "%s lot %s expired on %s, before the step (%s): it cannot be used", r.Name, r.Lot, r.Expiry, at.Format(time.DateOnly))
		}
		data.Reagents = append(data.Reagents, r)
	}
	if len(data.OutOfRange) == 0 && data.CAPA != "" && data.Deviation == "" {
		fe.Addf("deviation", "a corrective action reference needs the deviation's description")
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	return &clink.BatchEntry{BatchID: b.ID, Kind: clink.EntryStep, Key: in.Step, Data: raw, Supersedes: in.Supersedes, Reason: in.Reason}, nil
}

// ResultInput is a test result as entered.
type ResultInput struct {
	Test       string   `json:"test"`
	Value      *float64 `json:"value,omitempty"`
	Text       string   `json:"text,omitempty"`
	Supersedes int64    `json:"supersedes,omitempty"`
	Reason     string   `json:"reason,omitempty"`
}

// RecordResult appends a test result to the batch record. The test must be a line of the
// batch's specification that is entered (not computed by the dose calculation): a number for
// a numeric limit, the text for a qualitative one. Results are entered while the batch is in
// process; after a conditional release, only the outstanding ones.
func (s *Service) RecordResult(ctx context.Context, batchID int64, in ResultInput) (*clink.BatchEntry, error) {
	var out *clink.BatchEntry
	var late bool
	err := s.Store.Atomic(ctx, func(st clink.Store) error {
		state, err := s.load(ctx, st, batchID)
		if err != nil {
			return err
		}
		late = state.Batch.Status == clink.BatchReleasedConditional
		if late {
			if !slices.Contains(state.Assessment.Outstanding, in.Test) || state.Results[in.Test] != nil {
				return clink.Errorf(clink.ECONFLICT, "batch %s is released: only its outstanding results (%s) can be entered", state.Batch.Lot, strings.Join(state.Assessment.Outstanding, ", "))
			}
		} else if err := writable(state); err != nil {
			return err
		}
		e, err := resultEntry(state, in)
		if err != nil {
			return err
		}
		if err := st.AddBatchEntry(ctx, e); err != nil {
			return err
		}
		out = e
		if !late {
			return nil
		}
		// A late result completes a conditional release when every outstanding result is in
		// and within its limits; a failure leaves the batch released with outstanding tests
		// and the page shows the failure (gmp.md §1.3 step 17: the notification workflow).
		after, err := s.load(ctx, st, batchID)
		if err != nil {
			return err
		}
		a := after.Assessment
		if len(a.Outstanding) == 0 && len(a.HardFailures) == 0 && len(a.Missing) == 0 {
			_, err = st.SetBatchStatus(ctx, batchID, clink.BatchReleased, fmt.Sprintf("outstanding result %s entered and within specification", in.Test))
		}
		return err
	})
	return out, err
}

func resultEntry(state *State, in ResultInput) (*clink.BatchEntry, error) {
	i := slices.IndexFunc(state.Spec.Limits, func(l gmp.Limit) bool { return l.Test == in.Test })
	if i < 0 {
		return nil, clink.Invalid("test", "%q is not a test of specification %s v%d", in.Test, state.Spec.Name, state.Spec.Version)
	}
	l := state.Spec.Limits[i]
	if Derived(in.Test) {
		return nil, clink.Invalid("test", "%s is computed by the dose calculation, not entered", l.Name)
	}
	if in.Supersedes == 0 && state.Results[in.Test] != nil {
		return nil, clink.Invalid("test", "%s is already entered (entry %d): correct that entry with a reason instead", l.Name, state.Results[in.Test].Entry.ID)
	}
	data := clink.ResultData{Text: strings.TrimSpace(in.Text), Unit: l.Unit}
	switch {
	case l.Expect != "":
		if data.Text == "" {
			return nil, clink.Invalid("text", "%s is a qualitative test: give the result in words (conforming: %q)", l.Name, l.Expect)
		}
	case in.Value == nil:
		return nil, clink.Invalid("value", "%s needs a number (%s)", l.Name, l.String())
	case math.IsNaN(*in.Value) || math.IsInf(*in.Value, 0):
		return nil, clink.Invalid("value", "%s: is not a number", l.Name)
	case l.Unit == "%" && (*in.Value < 0 || *in.Value > 100):
		return nil, clink.Invalid("value", "%s: %g is not a percentage (0 to 100)", l.Name, *in.Value)
	case *in.Value < 0:
		return nil, clink.Invalid("value", "%s: %g is negative", l.Name, *in.Value)
	default:
		v := *in.Value
		data.Value = &v
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	return &clink.BatchEntry{BatchID: state.Batch.ID, Kind: clink.EntryResult, Key: in.Test, Data: raw, Supersedes: in.Supersedes, Reason: in.Reason}, nil
}

// RaiseDeviation records a deviation on the batch, naming the specification tests it concerns
// (a result out of a soft limit needs one before QA review).
func (s *Service) RaiseDeviation(ctx context.Context, batchID int64, d clink.DeviationData) (*clink.BatchEntry, error) {
	var out *clink.BatchEntry
	err := s.Store.Atomic(ctx, func(st clink.Store) error {
		state, err := s.load(ctx, st, batchID)
		if err != nil {
			return err
		}
		if err := writable(state); err != nil {
			return err
		}
		var fe clink.FieldErrors
		d.Description, d.CAPA = strings.TrimSpace(d.Description), strings.TrimSpace(d.CAPA)
		if d.Description == "" {
			fe.Addf("description", "is required: say what happened")
		}
		if d.CAPA == "" {
			fe.Addf("capa", "is required: the reference of the corrective action")
		}
		for _, t := range d.Tests {
			if !slices.ContainsFunc(state.Spec.Limits, func(l gmp.Limit) bool { return l.Test == t }) {
				fe.Addf("tests", "%q is not a test of the specification", t)
			}
		}
		if err := fe.Err(); err != nil {
			return err
		}
		raw, err := json.Marshal(d)
		if err != nil {
			return err
		}
		e := &clink.BatchEntry{BatchID: batchID, Kind: clink.EntryDeviation, Key: "deviation", Data: raw}
		if err := st.AddBatchEntry(ctx, e); err != nil {
			return err
		}
		out = e
		return nil
	})
	return out, err
}

// writable refuses entries on a batch whose record is closed: released or rejected. Entries
// on a reviewed batch are allowed, and leave QA's signature showing that the record changed
// since it was signed: the QP cannot release until QA reviews it again.
func writable(state *State) error {
	switch state.Batch.Status {
	case clink.BatchInProcess, clink.BatchReviewed:
		return nil
	}
	return clink.Errorf(clink.ECONFLICT, "batch %s is %s: its record is closed to new entries", state.Batch.Lot, strings.ReplaceAll(state.Batch.Status, "_", " "))
}
