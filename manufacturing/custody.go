package manufacturing

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/gmp"
)

// ScanInput is a chain-of-custody scan (gmp.md §6): the event, the place, and what the
// scanner read from the bag label (and, at the bedside, the wristband).
type ScanInput struct {
	Event     string `json:"event"`
	Place     string `json:"place"`
	DIN       string `json:"din"`
	Product   string `json:"product"`
	COI       string `json:"coi"`
	Recipient string `json:"recipient,omitempty"`
	// Manual marks identifiers typed rather than scanned: they need their check characters,
	// a reason and a blind second entry (Second).
	Manual bool      `json:"manual,omitempty"`
	Reason string    `json:"reason,omitempty"`
	Second *gmp.Scan `json:"second,omitempty"`
}

// Identity returns the chain of identity a batch's units carry: its DIN, product code, COI
// identifier and the recipient's pseudonymous code.
func Identity(b *clink.Batch) (gmp.Identity, error) {
	din, err := gmp.ParseDIN(b.DIN)
	if err != nil {
		return gmp.Identity{}, err
	}
	prod, err := gmp.ParseProductCode(b.ProductCode)
	if err != nil {
		return gmp.Identity{}, err
	}
	return gmp.Identity{DIN: din, Product: prod, COI: b.COI, Recipient: b.PatientCode}, nil
}

// Scan records a custody scan of a released batch's unit. A scan that does not match the chain
// of identity, or whose event is out of order, is recorded as refused (with the reason) and the
// error (EINVALID, field "scan") says why; nothing else changes.
func (s *Service) Scan(ctx context.Context, batchID int64, in ScanInput) (*CustodyEntry, error) {
	var out *CustodyEntry
	var refusal error
	err := s.Store.Atomic(ctx, func(st clink.Store) error {
		state, err := s.load(ctx, st, batchID)
		if err != nil {
			return err
		}
		b := state.Batch
		if b.Status != clink.BatchReleased && b.Status != clink.BatchReleasedConditional {
			return clink.Errorf(clink.ECONFLICT, "batch %s is %s: units move only after release", b.Lot, human(b.Status))
		}
		if strings.TrimSpace(in.Place) == "" {
			return clink.Invalid("place", "is required: where the scan happens")
		}
		want, err := Identity(b)
		if err != nil {
			return err
		}
		v := gmp.CheckScan(want, gmp.Scan{Event: gmp.Event(in.Event), DIN: in.DIN, Product: in.Product, COI: in.COI,
			Recipient: in.Recipient, Manual: in.Manual, Reason: in.Reason, Second: in.Second})
		data := clink.CustodyData{Event: in.Event, Place: strings.TrimSpace(in.Place), At: s.now(), DIN: in.DIN, Product: in.Product,
			COI: in.COI, Manual: in.Manual, Accepted: v.Passed}
		if !v.Passed {
			data.Refusal = v.Reason()
		} else {
			var history []gmp.Event
			for _, c := range state.Custody {
				if c.Data.Accepted {
					history = append(history, gmp.Event(c.Data.Event))
				}
			}
			if err := gmp.CheckNext(history, gmp.Event(in.Event), state.Request.Cryopreserved); err != nil {
				data.Accepted = false
				data.Refusal = "event: " + err.Error()
				if fields := clink.ErrorFields(err); len(fields) > 0 {
					data.Refusal = "event: " + fields[0].Message
				}
			}
		}
		if len(data.Event) > 40 || !validKey(data.Event) {
			data.Event = "unknown"
		}
		raw, err := json.Marshal(data)
		if err != nil {
			return err
		}
		e := &clink.BatchEntry{BatchID: batchID, Kind: clink.EntryCustody, Key: data.Event, Data: raw}
		if err := st.AddBatchEntry(ctx, e); err != nil {
			return err
		}
		out = &CustodyEntry{EntryID: e.ID, By: e.CreatedBy, Data: data}
		if !data.Accepted {
			refusal = clink.Invalid("scan", "refused and recorded: %s", data.Refusal)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, refusal
}

// validKey reports whether s can be an entry key.
func validKey(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
