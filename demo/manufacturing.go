package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/gmp"
	"github.com/clink-consortium/clink/manufacturing"
)

// The demo's clinical manufacturing (issue 8): a patient at each treating hospital (MPL, NIM)
// with a treatment request for NK cells of a Zaragoza donor expanded under a feeder protocol,
// and, when the demo users exist, two batches at the Montpellier GMP unit: one released (its
// record complete, reviewed by qa and certified by qp) and one in process with its first steps
// recorded, for the operator to continue. Identities are invented and say so.

// manufacturingValues are in-range values of the master record's steps.
func manufacturingValues(key string) map[string]float64 {
	switch key {
	case "receipt":
		return map[string]float64{"volume_ml": 180, "viable_cells": 2.1e9, "viability_pct": 96}
	case "cd3_depletion":
		return map[string]float64{"viable_cells": 1.4e9, "cd3_pct": 0.2}
	case "feeder_preparation":
		return map[string]float64{"irradiation_gy": 100, "feeder_cells": 2e8}
	case "harvest":
		return map[string]float64{"viable_cells": 5.2e9, "viability_pct": 93}
	case "formulation":
		return map[string]float64{"tnc_per_ml": 2e7, "cd3_pct": 0.1, "available_ml": 80}
	}
	return nil
}

// writeManufacturing writes the demo's patients and requests and, when the demo users were
// created with password, the batches, signed with that password.
func writeManufacturing(ctx context.Context, tx clink.Store, today time.Time, password string) (int, error) {
	prots, _, err := tx.FindProtocols(ctx, clink.ProtocolFilter{Page: clink.Page{Limit: clink.MaxLimit}})
	if err != nil {
		return 0, err
	}
	var prot *clink.Protocol
	for _, p := range prots {
		if p.FeederRatio != nil && *p.FeederRatio > 0 && p.DurationDays >= 14 && (prot == nil || p.DurationDays < prot.DurationDays) {
			prot = p
		}
	}
	donors, _, err := tx.FindDonors(ctx, clink.DonorFilter{Site: "ZGZ", Page: clink.Page{Limit: 1}})
	if err != nil {
		return 0, err
	}
	if prot == nil || len(donors) == 0 {
		return 0, fmt.Errorf("no feeder protocol or Zaragoza donor to manufacture from")
	}
	var reqs []*clink.TreatmentRequest
	for i, h := range []string{"MPL", "NIM"} {
		p := &clink.Patient{Hospital: h, Identity: &clink.PatientIdentity{MRN: fmt.Sprintf("DEMO-%s-%04d", h, i+1),
			Name: fmt.Sprintf("Demo patient %s (invented)", h), BirthYear: 1960 + 7*i}}
		if err := tx.CreatePatient(ctx, p); err != nil {
			return 0, fmt.Errorf("patient: %w", err)
		}
		r := &clink.TreatmentRequest{PatientID: p.ID, DonorID: donors[0].ID, ProtocolID: prot.ID, TargetNKPerKg: 1e7,
			WeightKg: 64 + 8*float64(i), InfusionDates: []string{today.AddDate(0, 0, 21).Format(time.DateOnly)}}
		if err := tx.CreateTreatmentRequest(ctx, r); err != nil {
			return 0, fmt.Errorf("treatment request: %w", err)
		}
		reqs = append(reqs, r)
	}
	if password == "" {
		return 0, nil
	}
	svc, err := manufacturing.New(tx, manufacturing.Config{})
	if err != nil {
		return 0, err
	}
	now := today.Add(9 * time.Hour)
	svc.Now = func() time.Time { return now }
	as := func(user string) context.Context { return clink.WithActor(ctx, user) }
	op := as("operator-mpl")
	released, err := svc.CreateBatch(op, manufacturing.NewBatch{RequestID: reqs[0].ID, Site: "MPL"})
	if err != nil {
		return 0, err
	}
	if err := recordSteps(op, svc, released, len(released.Steps)); err != nil {
		return 0, err
	}
	v := func(x float64) *float64 { return &x }
	for _, r := range []manufacturing.ResultInput{
		{Test: gmp.TestViability, Value: v(92)}, {Test: gmp.TestNKPurity, Value: v(86)}, {Test: gmp.TestResidualFeeders, Value: v(0.02)},
		{Test: gmp.TestEndotoxin, Value: v(0.4)}, {Test: gmp.TestGramStain, Text: "no organisms seen"},
		{Test: gmp.TestMycoplasma, Text: "not detected"}, {Test: gmp.TestIdentity, Text: "identical to donor"},
		{Test: gmp.TestPotency, Value: v(48)}, {Test: gmp.TestCD19, Value: v(0.1)},
	} {
		if _, err := svc.RecordResult(op, released.ID, r); err != nil {
			return 0, fmt.Errorf("result %s: %w", r.Test, err)
		}
	}
	for _, s := range []struct{ user, meaning string }{{"qa", clink.MeaningReviewed}, {"qp", clink.MeaningReleased}} {
		u, err := tx.FindUserByUsername(ctx, s.user)
		if err != nil {
			return 0, err
		}
		in := manufacturing.SignInput{Meaning: s.meaning, Username: u.Username, Password: password}
		if _, err := svc.Sign(as(s.user), released.ID, u, in); err != nil {
			return 0, fmt.Errorf("%s signature: %w", s.meaning, err)
		}
	}
	inProcess, err := svc.CreateBatch(op, manufacturing.NewBatch{RequestID: reqs[0].ID, Site: "MPL"})
	if err != nil {
		return 0, err
	}
	if err := recordSteps(op, svc, inProcess, 3); err != nil {
		return 0, err
	}
	return 2, nil
}

// recordSteps records the first n steps of b.
func recordSteps(ctx context.Context, svc *manufacturing.Service, b *clink.Batch, n int) error {
	for _, st := range b.Steps[:n] {
		in := manufacturing.StepInput{Step: st.Key, Values: manufacturingValues(st.Key), Equipment: "BSC-2 (GMP MPL)"}
		if in.Values == nil { // seeding, restimulation and in-process controls: the middle of each range
			in.Values = map[string]float64{}
			for _, f := range st.Fields {
				lo, hi := 0.0, 100.0
				if f.Min != nil {
					lo = *f.Min
				}
				if f.Max != nil {
					hi = *f.Max
				}
				in.Values[f.Key] = (lo + hi) / 2
			}
			if _, ok := in.Values["viability_pct"]; ok {
				in.Values["viability_pct"] = 91
			}
		}
		if st.Reagents {
			in.Reagents = []clink.ReagentLot{{Name: "GMP reagent for " + st.Name, Lot: "DEMO-" + st.Key, Expiry: "2099-12-31"}}
		}
		if _, err := svc.RecordStep(ctx, b.ID, in); err != nil {
			return fmt.Errorf("step %s: %w", st.Key, err)
		}
	}
	return nil
}
