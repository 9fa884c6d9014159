package manufacturing

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/gmp"
)

// SignInput is a signing: the meaning, the signer's credentials entered again (gmp.md §3 S4),
// and the reason (required to reject, or to release out of a soft limit).
type SignInput struct {
	Meaning  string `json:"meaning"`
	Username string `json:"username"`
	Password string `json:"password"`
	Reason   string `json:"reason,omitempty"`
}

// Sign signs the batch record as signer, who is the signed-in user (gmp.md §3 S1-S8):
//
//   - the credentials are checked again: the username must be the signer's own and the
//     password right (a wrong one counts towards the lockout like a failed sign-in);
//   - "reviewed" is QA's, on a complete record with no hard failure, by someone who wrote no
//     entry of it; the batch becomes reviewed;
//   - "released" is the QP's, on a reviewed batch whose record has not changed since QA signed,
//     by someone who neither wrote an entry nor reviewed it; a hard failure blocks it, a soft
//     failure needs a deviation naming the test and the QP's reason; with the sterility culture
//     outstanding the batch is released conditionally;
//   - "rejected" is QA's or the QP's, with a reason.
//
// The signature stores the signer's printed name, the time and the SHA-256 of the record it
// signs. A refused attempt is recorded in the batch record and the audit trail, and the error
// says why: EINVALID for the credentials, EFORBIDDEN for the role or separation of duties,
// ECONFLICT for the state of the batch.
func (s *Service) Sign(ctx context.Context, batchID int64, signer *clink.User, in SignInput) (*Signature, error) {
	if !slices.Contains([]string{clink.MeaningReviewed, clink.MeaningReleased, clink.MeaningRejected}, in.Meaning) {
		return nil, clink.Invalid("meaning", "%q is not one of reviewed, released, rejected", in.Meaning)
	}
	if _, err := s.Store.FindBatchByID(ctx, batchID); err != nil {
		return nil, err
	}
	refuse := func(err error) (*Signature, error) {
		why := err.Error()
		if fields := clink.ErrorFields(err); len(fields) > 0 {
			parts := make([]string, len(fields))
			for i, f := range fields {
				parts[i] = f.Field + ": " + f.Message
			}
			why = strings.Join(parts, "; ")
		}
		raw, _ := json.Marshal(clink.SignatureRefusedData{Username: signer.Username, Meaning: in.Meaning, Why: why})
		e := &clink.BatchEntry{BatchID: batchID, Kind: clink.EntrySignatureRefused, Key: in.Meaning, Data: raw}
		if werr := s.Store.AddBatchEntry(ctx, e); werr != nil {
			return nil, fmt.Errorf("record the refused signature: %w (refused because %v)", werr, err)
		}
		return nil, err
	}
	if strings.TrimSpace(in.Username) != signer.Username {
		return refuse(clink.Invalid("username", "sign with your own user name (%s)", signer.Username))
	}
	if _, err := s.Store.Authenticate(ctx, signer.Username, in.Password); err != nil {
		return refuse(clink.Invalid("password", "is not right: the signature is refused and the attempt recorded"))
	}
	var out *Signature
	var rule error
	err := s.Store.Atomic(ctx, func(st clink.Store) error {
		state, err := s.load(ctx, st, batchID)
		if err != nil {
			return err
		}
		status, why := s.check(state, signer, in)
		if why != nil {
			rule = why
			return why
		}
		data := clink.SignatureData{Username: signer.Username, PrintedName: signer.FullName, Meaning: in.Meaning, SignedAt: s.now(),
			RecordHash: state.RecordHash, Serializer: Serializer, Reason: strings.TrimSpace(in.Reason), Status: state.Assessment.Status}
		if status == clink.BatchReleasedConditional {
			data.Outstanding = state.Assessment.Outstanding
		}
		raw, err := json.Marshal(data)
		if err != nil {
			return err
		}
		e := &clink.BatchEntry{BatchID: batchID, Kind: clink.EntrySignature, Key: in.Meaning, Data: raw}
		if err := st.AddBatchEntry(ctx, e); err != nil {
			return err
		}
		reason := fmt.Sprintf("signed %q by %s", in.Meaning, signer.FullName)
		if data.Reason != "" {
			reason += ": " + data.Reason
		}
		if _, err := st.SetBatchStatus(ctx, batchID, status, reason); err != nil {
			return err
		}
		out = &Signature{EntryID: e.ID, Data: data, Valid: true}
		return nil
	})
	if rule != nil {
		return refuse(rule)
	}
	return out, err
}

// check applies the signing rules and returns the batch's next status, or why the signature
// is refused.
func (s *Service) check(state *State, u *clink.User, in SignInput) (string, error) {
	b := state.Batch
	authors := map[string]bool{}
	for _, e := range state.Entries {
		switch e.Kind {
		case clink.EntryStep, clink.EntryResult, clink.EntryDeviation:
			authors[e.CreatedBy] = true
		}
	}
	reason := strings.TrimSpace(in.Reason)
	switch in.Meaning {
	case clink.MeaningReviewed:
		if !u.HasRole(clink.RoleQA) {
			return "", clink.Errorf(clink.EFORBIDDEN, "only QA reviews a batch record; %s does not hold the qa role", u.Username)
		}
		if authors[u.Username] {
			return "", clink.Errorf(clink.EFORBIDDEN, "%s wrote entries of this record and cannot review it (four eyes)", u.Username)
		}
		switch {
		case b.Status == clink.BatchReviewed && state.latest(clink.MeaningReviewed).Current():
			return "", clink.Errorf(clink.ECONFLICT, "batch %s is already reviewed and its record has not changed since", b.Lot)
		case b.Status != clink.BatchInProcess && b.Status != clink.BatchReviewed:
			return "", clink.Errorf(clink.ECONFLICT, "batch %s is %s: it cannot be reviewed", b.Lot, human(b.Status))
		}
		if miss := recordGaps(state); len(miss) > 0 {
			return "", clink.Errorf(clink.ECONFLICT, "the record is not complete: %s", strings.Join(miss, "; "))
		}
		if state.Assessment.Status == gmp.Blocked {
			return "", clink.Errorf(clink.ECONFLICT, "batch %s is out of a hard limit (%s): reject it", b.Lot, state.names(state.Assessment.HardFailures))
		}
		return clink.BatchReviewed, nil
	case clink.MeaningReleased:
		if !u.HasRole(clink.RoleQP) {
			return "", clink.Errorf(clink.EFORBIDDEN, "only a Qualified Person certifies a batch; %s does not hold the qp role", u.Username)
		}
		if authors[u.Username] {
			return "", clink.Errorf(clink.EFORBIDDEN, "%s wrote entries of this record and cannot certify it (four eyes)", u.Username)
		}
		if b.Status != clink.BatchReviewed {
			return "", clink.Errorf(clink.ECONFLICT, "batch %s is %s: QA reviews it before the QP releases it", b.Lot, human(b.Status))
		}
		rev := state.latest(clink.MeaningReviewed)
		switch {
		case rev == nil:
			return "", clink.Errorf(clink.ECONFLICT, "batch %s has no QA review", b.Lot)
		case !rev.Valid:
			return "", clink.Errorf(clink.ECONFLICT, "QA's signature is invalid: the record it signed was altered; investigate before release")
		case rev.Changed:
			return "", clink.Errorf(clink.ECONFLICT, "the record changed since QA reviewed it: QA must review it again")
		}
		if rev.Data.Username == u.Username {
			return "", clink.Errorf(clink.EFORBIDDEN, "%s reviewed this record for QA and cannot also certify it", u.Username)
		}
		a := state.Assessment
		switch a.Status {
		case gmp.Blocked:
			return "", clink.Errorf(clink.ECONFLICT, "batch %s cannot be released: out of a hard limit (%s)", b.Lot, state.failures(a.HardFailures))
		case gmp.Incomplete:
			return "", clink.Errorf(clink.ECONFLICT, "batch %s cannot be released: results missing (%s)", b.Lot, state.names(a.Missing))
		case gmp.NeedsDeviation:
			var uncovered []string
			for _, t := range a.SoftFailures {
				if !state.deviationCovers(t) {
					uncovered = append(uncovered, t)
				}
			}
			if len(uncovered) > 0 {
				return "", clink.Errorf(clink.ECONFLICT, "out of a soft limit without a deviation (%s): raise one before release", state.names(uncovered))
			}
			if reason == "" {
				return "", clink.Invalid("reason", "the batch is out of a soft limit (%s): give the reason for releasing it", state.failures(a.SoftFailures))
			}
		}
		if len(a.Outstanding) > 0 {
			return clink.BatchReleasedConditional, nil
		}
		return clink.BatchReleased, nil
	default: // rejected
		if !u.HasRole(clink.RoleQA) && !u.HasRole(clink.RoleQP) {
			return "", clink.Errorf(clink.EFORBIDDEN, "only QA or a Qualified Person rejects a batch")
		}
		if b.Status != clink.BatchInProcess && b.Status != clink.BatchReviewed {
			return "", clink.Errorf(clink.ECONFLICT, "batch %s is %s: it cannot be rejected", b.Lot, human(b.Status))
		}
		if reason == "" {
			return "", clink.Invalid("reason", "is required: say why the batch is rejected")
		}
		return clink.BatchRejected, nil
	}
}

// recordGaps lists what the record lacks before QA review: steps, results, the dose, and
// deviations for soft failures.
func recordGaps(s *State) []string {
	var out []string
	for _, st := range s.Batch.Steps {
		if s.Steps[st.Key] == nil {
			out = append(out, "step: "+st.Name)
		}
	}
	for _, t := range s.Assessment.Missing {
		if !Derived(t) {
			out = append(out, "result: "+s.testName(t))
		}
	}
	if s.DoseProblem != "" {
		out = append(out, "dose: "+s.DoseProblem)
	}
	for _, t := range s.Assessment.SoftFailures {
		if !s.deviationCovers(t) {
			out = append(out, "deviation: "+s.testName(t)+" is out of its soft limit; raise a deviation for it")
		}
	}
	return out
}

// names returns the tests' names, comma-separated.
func (s *State) names(tests []string) string {
	out := make([]string, len(tests))
	for i, t := range tests {
		out[i] = s.testName(t)
	}
	return strings.Join(out, ", ")
}

// failures describes failed tests with their values and limits.
func (s *State) failures(tests []string) string {
	var out []string
	for _, ta := range s.Assessment.Tests {
		if !slices.Contains(tests, ta.Test) {
			continue
		}
		v := ta.Text
		if ta.Value != nil {
			v = fmt.Sprintf("%.4g", *ta.Value)
			if ta.Unit != "" {
				v += " " + ta.Unit
			}
		}
		out = append(out, fmt.Sprintf("%s %s, limit %s", ta.Name, v, ta.Limit))
	}
	return strings.Join(out, "; ")
}

// human writes a status in words.
func human(status string) string { return strings.ReplaceAll(status, "_", " ") }
