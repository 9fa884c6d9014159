package manufacturing

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/gmp"
	"github.com/clink-consortium/clink/report"
)

// Certificate renders the batch's certificate of analysis (PDF): every line of the
// specification with its result and verdict, "changed since original entry" beside a result
// that was corrected, and the signatures with printed name, meaning, time and whether the
// record still matches what was signed.
func (s *Service) Certificate(ctx context.Context, id int64) ([]byte, error) {
	st, err := s.Load(ctx, id)
	if err != nil {
		return nil, err
	}
	din, err := gmp.ParseDIN(st.Batch.DIN)
	if err != nil {
		return nil, err
	}
	c := report.Certificate{Lot: st.Batch.Lot, DIN: din, Product: s.productName(st) + " (" + st.Batch.ProductCode + ")",
		CreationDate: "D:" + s.now().Format("20060102150405") + "Z"}
	for _, ta := range st.Assessment.Tests {
		r := report.Result{Test: ta.Name, Specification: ta.Limit, Verdict: ta.Outcome}
		switch {
		case ta.Measured != nil:
			r.Value = strconv.FormatFloat(*ta.Measured, 'g', 4, 64)
			if ta.Value != nil && *ta.Value != *ta.Measured {
				r.Value = strconv.FormatFloat(*ta.Value, 'g', 4, 64)
			}
			if ta.Unit != "" {
				r.Value += " " + ta.Unit
			}
		case ta.Text != "":
			r.Value = ta.Text
		default:
			r.Value = "-"
		}
		if Derived(ta.Test) {
			r.Value += " (calculated)"
		}
		if re := st.Results[ta.Test]; re != nil && re.Corrected {
			r.Corrected = true
		}
		c.Results = append(c.Results, r)
	}
	for _, sg := range st.Signatures {
		meaning := sg.Data.Meaning
		switch {
		case !sg.Valid:
			meaning += " (INVALID: signed record altered)"
		case sg.Changed:
			meaning += " (changed since signing)"
		}
		c.Signatures = append(c.Signatures, report.Signature{Name: sg.Data.PrintedName, Meaning: meaning,
			Time: sg.Data.SignedAt.In(s.Config.Location).Format("2006-01-02 15:04 MST")})
	}
	return c.Render()
}

// productName names the product on documents.
func (s *Service) productName(st *State) string {
	if st.Request.Cryopreserved {
		return "NK cells, expanded, cryopreserved"
	}
	return "NK cells, expanded, fresh"
}

// Label renders the label of bag n (1-based) of a released batch (PDF): the DIN with its check
// character in Code 128 and Data Matrix, product, the bag's dose, expiry and the chain-of-
// identity code with its check character.
func (s *Service) Label(ctx context.Context, id int64, n int) ([]byte, error) {
	st, err := s.Load(ctx, id)
	if err != nil {
		return nil, err
	}
	if st.Batch.Status != clink.BatchReleased && st.Batch.Status != clink.BatchReleasedConditional {
		return nil, clink.Errorf(clink.ECONFLICT, "batch %s is %s: labels are printed after release", st.Batch.Lot, human(st.Batch.Status))
	}
	if st.Dose == nil {
		return nil, clink.Errorf(clink.ECONFLICT, "batch %s has no dose: %s", st.Batch.Lot, st.DoseProblem)
	}
	bags := st.Dose.Bags
	if n < 1 || n > len(bags) {
		return nil, clink.Invalid("bag", "%d is not a bag of this dose (1 to %d)", n, len(bags))
	}
	bag := bags[n-1]
	din, err := gmp.ParseDIN(st.Batch.DIN)
	if err != nil {
		return nil, err
	}
	coi, err := gmp.ParseCOI(st.Batch.COI)
	if err != nil {
		return nil, err
	}
	rel := st.latest(clink.MeaningReleased)
	at := s.now()
	if rel != nil {
		at = rel.Data.SignedAt
	}
	expiry := at.Add(time.Duration(s.Config.ShelfLifeHours) * time.Hour).In(s.Config.Location)
	nk := bag.NKPerKg * st.Request.WeightKg
	l := report.BagLabel{DIN: din, Flags: bag.ContainerFlag, ProductCode: st.Batch.ProductCode, Product: s.productName(st),
		Dose:   fmt.Sprintf("%.2e NK cells (%.2e/kg) in %g mL, bag %d of %d", nk, bag.NKPerKg, bag.VolumeML, bag.Number, bag.Of),
		Expiry: expiry.Format("2006-01-02 15:04 MST"), COI: coi.Keyboard()}
	return l.Render()
}
