package demo

import (
	"context"
	"testing"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/gmp"
	"github.com/clink-consortium/clink/manufacturing"
)

// TestPopulateManufacturing checks the demo's manufacturing records: a patient per treating
// hospital with a request, a released batch whose record is complete and whose signatures
// hold, and a batch in process whose next steps are listed as missing.
func TestPopulateManufacturing(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	sum := populate(t, s, Options{Password: "demo passphrase 2026"})
	if sum.Patients != 2 || sum.Batches != 2 {
		t.Fatalf("summary: %d patients, %d batches; want 2 and 2", sum.Patients, sum.Batches)
	}
	batches, _, err := s.FindBatches(ctx, clink.BatchFilter{})
	if err != nil || len(batches) != 2 {
		t.Fatalf("batches: %v, %v", batches, err)
	}
	svc, err := manufacturing.New(s, manufacturing.Config{})
	if err != nil {
		t.Fatal(err)
	}
	byStatus := map[string]*manufacturing.State{}
	for _, b := range batches {
		st, err := svc.Load(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		byStatus[b.Status] = st
	}
	rel := byStatus[clink.BatchReleasedConditional]
	if rel == nil || len(rel.Signatures) != 2 || !rel.Signatures[0].Current() || !rel.Signatures[1].Current() ||
		rel.Assessment.Status != gmp.Releasable || rel.Dose == nil {
		t.Fatalf("released batch: %+v", rel)
	}
	if rel.Signatures[1].Data.Username != "qp" || rel.Signatures[0].Data.PrintedName != "Demo quality assurance" {
		t.Errorf("signatures: %+v", rel.Signatures)
	}
	open := byStatus[clink.BatchInProcess]
	if open == nil || len(open.Steps) != 3 || open.Next != "record" || len(open.Missing) == 0 {
		t.Fatalf("batch in process: %+v", open)
	}
	// Without users (no password) the demo keeps patients and requests but makes no batch.
	s2 := newStore(t)
	if sum := populate(t, s2, Options{}); sum.Batches != 0 || sum.Patients != 2 {
		t.Errorf("without users: %+v", sum)
	}
}
