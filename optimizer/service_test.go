package optimizer

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/demo"
	"github.com/clink-consortium/clink/design"
	"github.com/clink-consortium/clink/sqldb"
)

// demoSpace is the demo's design space.
func demoSpace() *design.Space { return demo.Space() }

func demoStore(tb testing.TB) *sqldb.Store {
	tb.Helper()
	ctx := context.Background()
	s, err := sqldb.Open(ctx, filepath.Join(tb.TempDir(), "clink.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	if _, err := demo.Populate(ctx, s, demo.Options{}); err != nil {
		tb.Fatal(err)
	}
	return s
}

// TestSuggestOnDemo learns from the demo's cultures and suggests a batch that respects the
// space (bounds, levels, the cytokine budget) with predictions for both objectives.
func TestSuggestOnDemo(t *testing.T) {
	store := demoStore(t)
	space := demoSpace()
	svc := &Service{Store: store}
	results, skipped, err := svc.Results(context.Background(), space)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) < 100 {
		t.Fatalf("got %d results from the demo, want at least 100 (skipped: %v)", len(results), skipped)
	}
	for _, sk := range skipped {
		t.Logf("skipped %s: %s", sk.Source, sk.Reason)
	}
	plan, err := Suggest(Request{Space: space, Objectives: []string{NKFold, LU30}, Constraints: []Constraint{{Outcome: Purity, Min: true, Bound: 70}},
		Batch: 4, Seed: 1}, results)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Suggestions) != 4 || plan.Donors < 20 {
		t.Fatalf("got %d suggestions from %d donors, want 4 from the demo's donors", len(plan.Suggestions), plan.Donors)
	}
	for i, s := range plan.Suggestions {
		if !space.Feasible(s.Point) {
			t.Errorf("suggestion %d breaks the space's constraints: %v", i, s.Point)
		}
		if _, err := space.Encode(s.Point); err != nil {
			t.Errorf("suggestion %d is not in the space: %v", i, err)
		}
		if len(s.Predictions) < 3 {
			t.Errorf("suggestion %d: %d predictions, want NK fold, LU30 and purity", i, len(s.Predictions))
		}
		for _, p := range s.Predictions {
			if !(p.Low <= p.Mean && p.Mean <= p.High) || math.IsNaN(p.Mean) {
				t.Errorf("suggestion %d %s: %g not inside (%g, %g)", i, p.Outcome, p.Mean, p.Low, p.High)
			}
		}
		t.Logf("%v %+v", s.Point, s.Predictions)
	}
}

// TestProtocolPointAndDraft reads a demo protocol as a point and writes a point back as a
// draft version.
func TestProtocolPointAndDraft(t *testing.T) {
	store := demoStore(t)
	ctx := context.Background()
	p, err := store.FindProtocolByKey(ctx, "EBV-LCL + IL-2 + IL-15", 1)
	if err != nil {
		t.Fatal(err)
	}
	space := demoSpace()
	pt, err := ProtocolPoint(space, p)
	if err != nil {
		t.Fatal(err)
	}
	if pt["feeder"].Level != "EBV-LCL" || pt["il21"].X != 0 || pt["harvest_day"].X != float64(p.DurationDays) {
		t.Errorf("got %v for %s", pt, p.Key())
	}
	pt["il21"] = design.Num(10)
	pt["feeder"] = design.Cat("K562-mbIL21-41BBL")
	pt["restimulation"] = design.Cat("d7")
	comps, err := store.FindComponents(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	d, err := Draft(space, p, pt, comps, "Suggested by the optimizer.")
	if err != nil {
		t.Fatal(err)
	}
	back, err := ProtocolPoint(space, d)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range pt {
		if back[k] != v {
			t.Errorf("draft %s: got %v, want %v", k, back[k], v)
		}
	}
	if d.Version != 0 || d.Name != p.Name || !slicesEqual(d.RestimulationDays, []int{7}) {
		t.Errorf("draft %+v: want a new version of %s restimulated on day 7", d, p.Name)
	}
	d.Site = p.Site
	if err := store.CreateProtocol(clink.WithActor(ctx, "tester"), d); err != nil {
		t.Fatalf("the draft cannot be stored: %v", err)
	}
}

func slicesEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
