package analysis

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/clink-consortium/clink"
)

// near reports whether got is within rel (relative) of want.
func near(got, want, rel float64) bool {
	return math.Abs(got-want) <= rel*math.Max(1, math.Abs(want))
}

// checkPtr checks a value that may be nil; want nil is written as a NaN.
func checkPtr(tb testing.TB, what string, got *float64, want, rel float64) {
	tb.Helper()
	switch {
	case math.IsNaN(want) && got != nil:
		tb.Errorf("%s: got %g, want none", what, *got)
	case math.IsNaN(want):
	case got == nil:
		tb.Errorf("%s: got none, want %g", what, want)
	case !near(*got, want, rel):
		tb.Errorf("%s: got %.12g, want %.12g", what, *got, want)
	}
}

// none stands for "no value" in the tables of expected outcomes.
var none = math.NaN()

// byName indexes outcomes by the fixture's culture names.
func (c *consortium) byName(out []Outcome) map[string]Outcome {
	m := map[string]Outcome{}
	for _, o := range out {
		m[c.names[o.CultureID]] = o
	}
	return m
}

// TestOutcomesAtHarvest checks each culture's outcome at harvest against the values worked out
// in fixture_test.go: running and stopped cultures are left out, the voided day-17 count of c4
// is ignored, NK folds honour the split of c1, and LU30 comes only from NK-corrected K562
// assays of the most frequent method (51Cr release: four cultures against one flow-based).
func TestOutcomesAtHarvest(t *testing.T) {
	c := newConsortium(t)
	s := New(c.store)
	out, method, left, err := s.outcomes(context.Background(), scope{})
	if err != nil {
		t.Fatal(err)
	}
	if method != clink.MethodCr51 {
		t.Errorf("method: got %q, want %q", method, clink.MethodCr51)
	}
	wantNotes := []string{"1 culture(s) left out: stopped before harvest", "1 culture(s) left out: still running: no harvest yet"}
	if got := left.notes(); !slices.Equal(got, wantNotes) {
		t.Errorf("notes:\ngot  %q\nwant %q", got, wantNotes)
	}
	got := c.byName(out)
	tests := []struct {
		name              string
		protocol          string
		day               int
		fold, lu30, lu20  float64
		lysis20           float64 // % lysis at nominal 20:1
		purity, viability float64
		tcell             float64
		assay             string // fixture name of the assay killing comes from
		noLU30            string
	}{
		{"c1", nameA, 14, 160, curveC1d14.lu(30), curveC1d14.lu(20), 100 * curveC1d14.lysis(20), 80, 92, 5, "c1d14", ""},
		{"c2", nameB, 14, 180, curveC2d14.lu(30), curveC2d14.lu(20), 100 * curveC2d14.lysis(20), 90, 95, 2, "c2d14", ""},
		{"c3", nameA, 14, 30, none, none, 100 * curveC3d10.lysis(20), 60, 85, none, "c3d10",
			"no NK purity and viability on the assay day: E:T not corrected (§6.4)"},
		{"c4", nameB, 14, 60, none, none, none, 75, 90, none, "",
			"killing measured by another method than 51Cr release (methods are never pooled)"},
		{"c5", nameA, 14, 10, none, none, none, 50, 80, none, "", "no K562 assay on or before the day analysed"},
		{"c7", nameC, 14, 5, curveC7d14.lu(30), curveC7d14.lu(20), 100 * curveC7d14.lysis(20), 50, 90, none, "c7d14", ""},
		{"c9", nameB, 14, 20, none, none, none, 50, 90, none, "", "no K562 assay on or before the day analysed"},
		{"c10", nameC, 14, 15, none, none, none, 50, 90, none, "", "no K562 assay on or before the day analysed"},
	}
	if len(got) != len(tests) {
		t.Errorf("got outcomes of %d cultures, want %d", len(got), len(tests))
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, ok := got[tc.name]
			if !ok {
				t.Fatalf("no outcome")
			}
			cu := c.cultures[tc.name]
			if o.Culture != cu.Code || o.Donor != cu.Donor || o.Protocol != tc.protocol || o.Day != tc.day {
				t.Errorf("got culture %s, donor %s, protocol %q, day %d; want %s, %s, %q, %d",
					o.Culture, o.Donor, o.Protocol, o.Day, cu.Code, cu.Donor, tc.protocol, tc.day)
			}
			if o.StartingNKFraction != 0.1 {
				t.Errorf("starting NK fraction: got %g, want 0.1", o.StartingNKFraction)
			}
			checkPtr(t, "NK fold", o.NKFold, tc.fold, 1e-12)
			// The fit recovers the curve the readings were built from; the optimiser stops
			// within about 1e-8 of it.
			checkPtr(t, "LU30", o.LU30, tc.lu30, 1e-6)
			checkPtr(t, "LU20", o.LU20, tc.lu20, 1e-6)
			checkPtr(t, "K562 lysis at 20:1", o.K562LysisAt20, tc.lysis20, 1e-9)
			checkPtr(t, "purity", o.PurityPct, tc.purity, 0)
			checkPtr(t, "viability", o.ViabilityPct, tc.viability, 0)
			checkPtr(t, "T cells", o.TCellPct, tc.tcell, 0)
			wantID := int64(0)
			if tc.assay != "" {
				wantID = c.assays[tc.assay].ID
			}
			if o.AssayID != wantID {
				t.Errorf("assay: got id %d, want %d (%s)", o.AssayID, wantID, tc.assay)
			}
			if o.noLU30 != tc.noLU30 {
				t.Errorf("why no LU30: got %q, want %q", o.noLU30, tc.noLU30)
			}
		})
	}
}

// TestOutcomesOnADay checks outcomes on day 7: running and stopped cultures count when they
// have a count that day, the NK fold is the one of that day, and killing comes from the
// latest K562 assay on or before it (c1's day-7 assay, not its day-14 one).
func TestOutcomesOnADay(t *testing.T) {
	c := newConsortium(t)
	day := 7
	out, method, left, err := New(c.store).outcomes(context.Background(), scope{day: &day})
	if err != nil {
		t.Fatal(err)
	}
	if method != clink.MethodCr51 {
		t.Errorf("method: got %q, want %q", method, clink.MethodCr51)
	}
	if got, want := left.notes(), []string{"5 culture(s) left out: no observation on the day asked for"}; !slices.Equal(got, want) {
		t.Errorf("notes: got %q, want %q", got, want)
	}
	got := c.byName(out)
	tests := []struct {
		name string
		fold float64
		lu30 float64
	}{
		{"c1", 16, curveC1d7.lu(30)},
		{"c2", 25, none},
		{"c4", 15, none},
		{"c6", 6, none}, // stopped
		{"c8", 6, none}, // running
	}
	if len(got) != len(tests) {
		t.Errorf("got outcomes of %d cultures, want %d", len(got), len(tests))
	}
	for _, tc := range tests {
		o, ok := got[tc.name]
		if !ok {
			t.Errorf("%s: no outcome", tc.name)
			continue
		}
		if o.Day != 7 {
			t.Errorf("%s: got day %d, want 7", tc.name, o.Day)
		}
		checkPtr(t, tc.name+" NK fold", o.NKFold, tc.fold, 1e-12)
		checkPtr(t, tc.name+" LU30", o.LU30, tc.lu30, 1e-6)
	}
	if o := got["c1"]; o.AssayID != c.assays["c1d7"].ID {
		t.Errorf("c1: killing from assay %d, want the day-7 assay %d", o.AssayID, c.assays["c1d7"].ID)
	}
}

// TestOutcomesMethod checks that a method asked for is the only one killing is taken from.
func TestOutcomesMethod(t *testing.T) {
	c := newConsortium(t)
	out, method, _, err := New(c.store).outcomes(context.Background(), scope{method: clink.MethodFlow})
	if err != nil {
		t.Fatal(err)
	}
	if method != clink.MethodFlow {
		t.Errorf("method: got %q, want %q", method, clink.MethodFlow)
	}
	got := c.byName(out)
	checkPtr(t, "c4 LU30 (flow-based)", got["c4"].LU30, curveC4d14.lu(30), 1e-6)
	checkPtr(t, "c4 lysis at 20:1", got["c4"].K562LysisAt20, 100*curveC4d14.lysis(20), 1e-9)
	for _, name := range []string{"c1", "c2", "c7"} {
		o := got[name]
		checkPtr(t, name+" LU30 (51Cr)", o.LU30, none, 0)
		if want := "killing measured by another method than flow-based (methods are never pooled)"; o.noLU30 != want {
			t.Errorf("%s: why no LU30: got %q, want %q", name, o.noLU30, want)
		}
	}
}

// TestCultureOutcomes checks that the outcomes of a chosen set of cultures follow the rules of
// the store-wide analysis: the same values and reasons as TestOutcomesAtHarvest, excluded
// cultures kept with the reason, the order of the cultures given, and the method chosen among
// these cultures only (c4 alone: its flow-based assay gives it an LU30 here).
func TestCultureOutcomes(t *testing.T) {
	c := newConsortium(t)
	s := New(c.store)
	ctx := context.Background()
	names := []string{"c8", "c1", "c6", "c3"}
	var cultures []*clink.Culture
	for _, n := range names {
		cultures = append(cultures, c.cultures[n])
	}
	got, err := s.CultureOutcomes(ctx, cultures, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(names) {
		t.Fatalf("got %d outcomes, want %d", len(got), len(names))
	}
	want := []struct {
		excluded string
		fold     float64
		noLU30   string
	}{
		{"still running: no harvest yet", none, ""},
		{"", 160, ""},
		{"stopped before harvest", none, ""},
		{"", 30, "no NK purity and viability on the assay day: E:T not corrected (§6.4)"},
	}
	for i, w := range want {
		o := got[i]
		if o.Culture.ID != cultures[i].ID {
			t.Errorf("outcome %d: culture %s, want %s", i, o.Culture.Code, cultures[i].Code)
		}
		if o.Excluded != w.excluded || o.NoLU30 != w.noLU30 {
			t.Errorf("%s: excluded %q, no LU30 %q; want %q, %q", names[i], o.Excluded, o.NoLU30, w.excluded, w.noLU30)
		}
		if w.excluded == "" {
			checkPtr(t, names[i]+" NK fold", o.NKFold, w.fold, 1e-12)
		}
	}
	checkPtr(t, "c1 LU30", got[1].LU30, curveC1d14.lu(30), 1e-6)

	flow, err := s.CultureOutcomes(ctx, []*clink.Culture{c.cultures["c4"]}, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if flow[0].AssayMethod != clink.MethodFlow || flow[0].LU30 == nil {
		t.Errorf("c4 alone: method %q, LU30 %v; want its flow-based assay's LU30", flow[0].AssayMethod, flow[0].LU30)
	}
}

// TestComparisonValues checks that a comparison lists the values it rests on, one per culture,
// and that they are the values its summary describes.
func TestComparisonValues(t *testing.T) {
	c := newConsortium(t)
	cmp, err := New(c.store).Compare(context.Background(), CompareRequest{Protocols: []string{nameA, nameB}})
	if err != nil {
		t.Fatal(err)
	}
	byProtocol := map[string][]float64{}
	for _, v := range cmp.Values {
		byProtocol[v.Protocol] = append(byProtocol[v.Protocol], v.Value)
		if cu := c.cultures[c.names[v.CultureID]]; cu == nil || cu.Code != v.Culture || cu.Donor != v.Donor {
			t.Errorf("value %+v does not name its culture and donor", v)
		}
	}
	if len(cmp.Values) != cmp.NCultures {
		t.Errorf("got %d values, want n_cultures %d", len(cmp.Values), cmp.NCultures)
	}
	want := map[string][]float64{nameA: {160, 30, 10}, nameB: {180, 60, 20}}
	for p, w := range want {
		g := byProtocol[p]
		slices.Sort(g)
		slices.Sort(w)
		if !slices.EqualFunc(g, w, func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*b }) {
			t.Errorf("%s: values %v, want %v", p, g, w)
		}
	}
}
