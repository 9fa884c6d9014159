package flow_test

import (
	"bufio"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/flow"
	"github.com/clink-consortium/clink/internal/pgtest"
	"github.com/clink-consortium/clink/sqldb"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// actx is the context of the tests' writes.
var actx = clink.WithActor(context.Background(), "tester")

// flowDir returns the shared flow-cytometry test data (../shared/data/flow from the repository
// root). Without it the test is skipped, except under CI=true, where that is a failure.
func flowDir(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join("..", "..", "shared", "data", "flow")
	if _, err := os.Stat(filepath.Join(dir, "gatingml2")); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("flow test data missing: %v", err)
		}
		tb.Skipf("flow test data missing (%v); set up ../shared/data/flow to run this test", err)
	}
	return dir
}

func readFlowFile(tb testing.TB, rel ...string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{flowDir(tb), "gatingml2"}, rel...)...))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// truth reads the ISAC expected result of a gate: one 0/1 per event, in file order
// (gatingml2/ExpectedResults/set_N/Results_<id>.txt, see the data README section 3.1).
func truth(tb testing.TB, set, id string) []bool {
	tb.Helper()
	f, err := os.Open(filepath.Join(flowDir(tb), "gatingml2", "ExpectedResults", set, "Results_"+id+".txt"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []bool
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		switch strings.TrimSpace(sc.Text()) {
		case "1":
			out = append(out, true)
		case "0":
			out = append(out, false)
		default:
			tb.Fatalf("%s %s: line %d is %q, not 0 or 1", set, id, len(out)+1, sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// and counts the events that are 1 in every vector.
func and(vs ...[]bool) int {
	n := 0
	for i := range vs[0] {
		in := true
		for _, v := range vs {
			in = in && v[i]
		}
		if in {
			n++
		}
	}
	return n
}

// nkTemplate3 is a template on the ISAC set 3 gates (gates3.xml, for 9399_1_3_NKR.fcs): the
// FSC/SSC ellipse as the denominator, a 3-D ellipsoid on arcsinh APC/PE/PerCP as NK, an
// FCS-compensated polygon as T, and markers from a logicle rectangle, an uncompensated
// polygon and a Boolean and.
func nkTemplate3(tb testing.TB, site string) *clink.GatingTemplate {
	return &clink.GatingTemplate{Site: site, Name: "NK gates3", Description: "ISAC set 3 gates as an NK panel",
		GatingML: string(readFlowFile(tb, "Gating-MLFiles", "gates3.xml")),
		Mapping: clink.GateMapping{Denominator: "myEllipseGate", NKPct: "myEllipsoidGate", TPct: "myPolygonGateWithFCSSpillover",
			Markers: map[string]string{"CD16": "myRectangleGate2Logicle", "NKG2C": "myPolygonGateWithoutSpillover", "CD57": "myBooleanAnd"}}}
}

// wantMeasures3 computes, from the ISAC truth files alone, what nkTemplate3 must give on
// 9399_1_3_NKR.fcs: every count is the number of events that are 1 in the truth files of the
// gate and of its denominator.
func wantMeasures3(tb testing.TB) clink.FlowMeasures {
	tb.Helper()
	t := func(id string) []bool { return truth(tb, "set_3", id) }
	den, nk := t("myEllipseGate"), t("myEllipsoidGate")
	d, n, tc := and(den), and(nk, den), and(t("myPolygonGateWithFCSSpillover"), den)
	nkPct, tPct := 100*float64(n)/float64(d), 100*float64(tc)/float64(d)
	m := clink.FlowMeasures{Events: len(den), DenominatorEvents: d, NKEvents: &n, TEvents: &tc, NKPct: &nkPct, TPct: &tPct,
		Markers: map[string]float64{}, MarkerEvents: map[string]int{}}
	for name, id := range map[string]string{"CD16": "myRectangleGate2Logicle", "NKG2C": "myPolygonGateWithoutSpillover", "CD57": "myBooleanAnd"} {
		k := and(t(id), nk, den)
		m.MarkerEvents[name] = k
		m.Markers[name] = 100 * float64(k) / float64(n)
	}
	return m
}

// approxMeasures compares measures, percentages to 1e-12 relative (they are ratios of the same
// integers, computed in the same order, so in practice they are equal).
var approxMeasures = cmp.Comparer(func(a, b float64) bool {
	return a == b || math.Abs(a-b) <= 1e-12*math.Max(math.Abs(a), math.Abs(b))
})

// forEachDB runs test on a migrated SQLite store and, when pgtest provides one, a migrated
// PostgreSQL store.
func forEachDB(t *testing.T, test func(t *testing.T, s *sqldb.Store)) {
	t.Helper()
	for _, dialect := range []string{sqldb.DialectSQLite, sqldb.DialectPostgres} {
		t.Run(dialect, func(t *testing.T) { test(t, newStore(t, dialect)) })
	}
}

// newStore opens and migrates a store of the dialect on a fresh database.
func newStore(tb testing.TB, dialect string) *sqldb.Store {
	tb.Helper()
	dsn := filepath.Join(tb.TempDir(), "clink.db")
	if dialect == sqldb.DialectPostgres {
		dsn = pgtest.DSN(tb)
	}
	s, err := sqldb.Open(context.Background(), dsn)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		tb.Fatalf("Migrate: %v", err)
	}
	return s
}

// seed creates the sites ZGZ and BCN and a culture at ZGZ, and returns the culture.
func seed(tb testing.TB, s clink.Store) *clink.Culture {
	tb.Helper()
	for _, code := range []string{"ZGZ", "BCN"} {
		must(tb, s.CreateSite(actx, &clink.Site{Code: code, Name: "Site " + code, Kind: clink.SiteLab}))
	}
	must(tb, s.CreateComponent(actx, &clink.Component{Site: "ZGZ", Name: "IL-2", Category: clink.CategoryCytokine, Unit: clink.UnitIUPerML}))
	d := &clink.Donor{Site: "ZGZ", ConsentDate: "2024-05-02"}
	must(tb, s.CreateDonor(actx, d))
	p := &clink.Protocol{Site: "ZGZ", Name: "IL-2", StartingMaterial: clink.StartPBMC, Vessel: clink.VesselGRex, SeedingDensity: 1e6,
		DurationDays: 21, Components: []clink.ProtocolComponent{{Component: "IL-2", Dose: 100, Days: []int{0}}}}
	must(tb, s.CreateProtocol(actx, p))
	c := &clink.Culture{Site: "ZGZ", DonorID: d.ID, ProtocolID: p.ID, StartDate: "2025-01-06", StartingCells: 2.5e7, StartingNKPct: 12.5}
	must(tb, s.CreateCulture(actx, c))
	return c
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

func fptr(v float64) *float64 { return &v }

// wantCode fails unless err has the error kind code (and, for EINVALID, an error on field).
func wantCode(tb testing.TB, err error, code, field string) {
	tb.Helper()
	if got := clink.ErrorCode(err); got != code {
		tb.Fatalf("error kind = %q (%v), want %q", got, err, code)
	}
	if field == "" {
		return
	}
	for _, f := range clink.ErrorFields(err) {
		if f.Field == field {
			return
		}
	}
	tb.Fatalf("error %v has no field %q", err, field)
}

// wantMessage fails unless the user-facing message of err, with its field errors, contains
// want.
func wantMessage(tb testing.TB, err error, want string) {
	tb.Helper()
	msg := clink.ErrorMessage(err)
	for _, f := range clink.ErrorFields(err) {
		msg += "; " + f.String()
	}
	if !strings.Contains(msg, want) {
		tb.Fatalf("message %q does not contain %q", msg, want)
	}
}

// flowState is what a refused write must leave as it was: the row counts of the flow tables
// and of the audit trail, the audit chain's head and every observation.
type flowState struct {
	Counts map[string]int
	Head   clink.AuditChain
	Obs    []*clink.Observation
}

func stateOf(tb testing.TB, s *sqldb.Store) flowState {
	tb.Helper()
	st := flowState{Counts: map[string]int{}}
	for _, table := range []string{"observations", "audit_events", "gating_templates", "fcs_files", "fcs_attachments"} {
		var n int
		must(tb, s.DB().QueryRow("SELECT COUNT(*) FROM "+table).Scan(&n))
		st.Counts[table] = n
	}
	var err error
	st.Head, err = s.VerifyAudit(actx)
	must(tb, err)
	st.Obs, _, err = s.FindObservations(actx, clink.ObservationFilter{IncludeVoided: true, Page: clink.Page{Limit: clink.MaxLimit}})
	must(tb, err)
	return st
}

func wantUnchanged(tb testing.TB, s *sqldb.Store, before flowState) {
	tb.Helper()
	if d := cmp.Diff(before, stateOf(tb, s)); d != "" {
		tb.Fatalf("a refused write changed the database (-before +after):\n%s", d)
	}
}

// logicleXML is a Gating-ML document with one logicle transformation whose W is 3 while M/2
// is 2.25: outside the domain Gating-ML 2.0 gives logicle (W <= M/2).
const logicleXML = `<?xml version="1.0" encoding="UTF-8"?>
<gating:Gating-ML xmlns:gating="http://www.isac-net.org/std/Gating-ML/v2.0/gating" xmlns:transforms="http://www.isac-net.org/std/Gating-ML/v2.0/transformations" xmlns:data-type="http://www.isac-net.org/std/Gating-ML/v2.0/datatypes">
  <transforms:transformation transforms:id="X"><transforms:logicle transforms:T="262144" transforms:W="3" transforms:M="4.5" transforms:A="0"/></transforms:transformation>
  <gating:RectangleGate gating:id="NK">
    <gating:dimension gating:min="0.5" gating:compensation-ref="uncompensated" gating:transformation-ref="X"><data-type:fcs-dimension data-type:name="FL1-H"/></gating:dimension>
  </gating:RectangleGate>
</gating:Gating-ML>`

func TestCheckTemplate(t *testing.T) {
	valid := func() *clink.GatingTemplate { return nkTemplate3(t, "ZGZ") }
	if err := flow.CheckTemplate(valid()); err != nil {
		t.Fatalf("the set 3 template: %v", err)
	}
	set1 := string(readFlowFile(t, "Gating-MLFiles", "gates1.xml"))
	tests := []struct {
		name, field, msg string
		edit             func(*clink.GatingTemplate)
	}{
		{"unknown gate", "mapping.nk_pct", `gate "NoSuchGate" is not in the Gating-ML document`, func(g *clink.GatingTemplate) { g.Mapping.NKPct = "NoSuchGate" }},
		{"unknown marker gate", "mapping.markers.CD16", `"Q9"`, func(g *clink.GatingTemplate) { g.Mapping.Markers["CD16"] = "Q9" }},
		{"unknown denominator", "mapping.denominator", `"Lymphocytes"`, func(g *clink.GatingTemplate) { g.Mapping.Denominator = "Lymphocytes" }},
		{"not XML", "gating_ml", "gating:", func(g *clink.GatingTemplate) { g.GatingML = "gates, not XML" }},
		{"no document", "gating_ml", "is required", func(g *clink.GatingTemplate) { g.GatingML = "  " }},
		{"document too large", "gating_ml", "more than the 524288 allowed", func(g *clink.GatingTemplate) {
			g.GatingML += strings.Repeat(" ", clink.MaxGatingMLBytes)
		}},
		{"broken reference", "gating_ml", `"nowhere"`, func(g *clink.GatingTemplate) {
			g.GatingML = strings.Replace(g.GatingML, `gating:parent_id="myEllipsoidGate"`, `gating:parent_id="nowhere"`, 1)
		}},
		// gates1.xml has QuadrantGate Quadrant1 (results FL2N-FL4N ...): a Quadrant is a
		// result, the QuadrantGate's own id is not.
		{"quadrant gate's own id", "mapping.t_pct", `"Quadrant1"`, func(g *clink.GatingTemplate) {
			g.GatingML, g.Mapping = set1, clink.GateMapping{Denominator: "Polygon1", NKPct: "FL2N-FL4P", TPct: "Quadrant1"}
		}},
		// The transformation's error reads once: its parameter and the rule, after the element.
		{"logicle outside its domain", "gating_ml", `transformation "X": logicle: parameter W = 3: must not exceed M/2 = 2.25`, func(g *clink.GatingTemplate) {
			g.GatingML, g.Mapping = logicleXML, clink.GateMapping{NKPct: "NK"}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := valid()
			tc.edit(g)
			err := flow.CheckTemplate(g)
			wantCode(t, err, clink.EINVALID, tc.field)
			wantMessage(t, err, tc.msg)
			if strings.Contains(err.Error(), "logicle: logicle") {
				t.Errorf("error %q names logicle twice", err)
			}
		})
	}
	quadrant := &clink.GatingTemplate{GatingML: set1, Mapping: clink.GateMapping{Denominator: "Polygon1", NKPct: "FL2N-FL4P", TPct: "FL2P-FL4P"}}
	if err := flow.CheckTemplate(quadrant); err != nil {
		t.Errorf("Quadrants of gates1.xml as nk_pct and t_pct: got %v, want valid", err)
	}
}

// TestMeasure gates ISAC files with templates and compares the measures with those counted
// from the suite's truth files.
func TestMeasure(t *testing.T) {
	file := readFlowFile(t, "FCSFiles", "9399_1_3_NKR.fcs")
	got, err := flow.Measure(nkTemplate3(t, "ZGZ"), "9399_1_3_NKR.fcs", file, 0)
	must(t, err)
	if d := cmp.Diff(wantMeasures3(t), got, approxMeasures); d != "" {
		t.Fatalf("measures (-truth +got):\n%s", d)
	}
	t.Logf("9399_1_3_NKR.fcs with gates3: %d events, denominator %d, NK %d (%.4f %%), T %d (%.4f %%), markers %v",
		got.Events, got.DenominatorEvents, *got.NKEvents, *got.NKPct, *got.TEvents, *got.TPct, got.Markers)

	// Without a denominator every event counts. An extra gate on a channel the file lacks,
	// which the mapping does not use, is not evaluated, so it does not stop the file from
	// being gated.
	gml := strings.Replace(string(readFlowFile(t, "Gating-MLFiles", "gates5.xml")), "</gating:Gating-ML>",
		`<gating:RectangleGate gating:id="Unused"><gating:dimension gating:min="1" gating:compensation-ref="uncompensated"><data-type:fcs-dimension data-type:name="NoSuchChannel"/></gating:dimension></gating:RectangleGate></gating:Gating-ML>`, 1)
	gates5 := &clink.GatingTemplate{Site: "ZGZ", Name: "gates5", Version: 1, GatingML: gml,
		Mapping: clink.GateMapping{NKPct: "myPolygon1", TPct: "myAnd2", Markers: map[string]string{"NKG2A": "myPolygon2"}}}
	got, err = flow.Measure(gates5, "9399_1_3_NKR.fcs", file, 0)
	must(t, err)
	p1, p2, and2 := truth(t, "set_5", "myPolygon1"), truth(t, "set_5", "myPolygon2"), truth(t, "set_5", "myAnd2")
	n, tc, k := and(p1), and(and2), and(p2, p1)
	nkPct, tPct := 100*float64(n)/float64(len(p1)), 100*float64(tc)/float64(len(p1))
	want := clink.FlowMeasures{Events: 124600, DenominatorEvents: 124600, NKEvents: &n, TEvents: &tc, NKPct: &nkPct, TPct: &tPct,
		Markers: map[string]float64{"NKG2A": 100 * float64(k) / float64(n)}, MarkerEvents: map[string]int{"NKG2A": k}}
	if d := cmp.Diff(want, got, approxMeasures); d != "" {
		t.Errorf("gates5 measures (-truth +got):\n%s", d)
	}
	// Measures computed here pass the stores' consistency check.
	if err := gates5.Mapping.CheckMeasures(got); err != nil {
		t.Errorf("CheckMeasures of computed measures: %v", err)
	}

	gates1 := &clink.GatingTemplate{Name: "data1 panel", Version: 1, GatingML: string(readFlowFile(t, "Gating-MLFiles", "gates1.xml")),
		Mapping: clink.GateMapping{Denominator: "Polygon1", NKPct: "Ellipsoid3D"}}
	refusals := []struct {
		name, field, msg string
		tmpl             *clink.GatingTemplate
		data             []byte
		dataset          int
	}{
		{"not FCS", "file", "9399_1_3_NKR.fcs: ", gates5, []byte(gml), 0},
		{"truncated", "file", "9399_1_3_NKR.fcs: ", gates5, file[:len(file)/2], 0},
		{"no such data set", "file", "9399_1_3_NKR.fcs: ", gates5, file, 1},
		{"channels missing", "file", "the gates of template data1 panel@1 cannot be applied to it", gates1, file, 0},
		{"document does not check", "template", "gating template gates5@1 does not check", &clink.GatingTemplate{Name: "gates5", Version: 1,
			GatingML: "<nope/>", Mapping: gates5.Mapping}, file, 0},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			_, err := flow.Measure(tc.tmpl, "9399_1_3_NKR.fcs", tc.data, tc.dataset)
			wantCode(t, err, clink.EINVALID, tc.field)
			wantMessage(t, err, tc.msg)
		})
	}
}

// TestTemplates creates and edits templates through the Service: the document and the mapping
// are checked before the store is called, and a refusal changes nothing.
func TestTemplates(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		seed(t, s)
		svc := flow.New(s)
		v1 := nkTemplate3(t, "ZGZ")
		must(t, svc.CreateTemplate(actx, v1))
		if v1.ID == 0 || v1.Version != 1 || v1.CreatedBy != "tester" {
			t.Fatalf("created template = %+v, want id, version 1, created by tester", v1)
		}
		before := stateOf(t, s)
		bad := []struct {
			name, code, field string
			edit              func(*clink.GatingTemplate)
		}{
			{"unknown gate", clink.EINVALID, "mapping.nk_pct", func(g *clink.GatingTemplate) { g.Mapping.NKPct = "NoSuchGate" }},
			{"unknown marker gate", clink.EINVALID, "mapping.markers.CD16", func(g *clink.GatingTemplate) { g.Mapping.Markers["CD16"] = "Q9" }},
			{"unknown marker", clink.EINVALID, "mapping.markers.CD999", func(g *clink.GatingTemplate) { g.Mapping.Markers["CD999"] = "Q1" }},
			{"not XML", clink.EINVALID, "gating_ml", func(g *clink.GatingTemplate) { g.GatingML = "gates, not XML" }},
			{"broken reference", clink.EINVALID, "gating_ml", func(g *clink.GatingTemplate) {
				g.GatingML = strings.Replace(g.GatingML, `gating:parent_id="myEllipsoidGate"`, `gating:parent_id="nowhere"`, 1)
			}},
			{"unknown site", clink.EINVALID, "site", func(g *clink.GatingTemplate) { g.Site = "MAD" }},
			{"existing version", clink.ECONFLICT, "", func(g *clink.GatingTemplate) { g.Version = 1 }},
		}
		for _, tc := range bad {
			t.Run("create "+tc.name, func(t *testing.T) {
				g := nkTemplate3(t, "ZGZ")
				tc.edit(g)
				wantCode(t, svc.CreateTemplate(actx, g), tc.code, tc.field)
				wantUnchanged(t, s, before)
			})
			if tc.code != clink.EINVALID || tc.field == "site" || tc.field == "mapping.markers.CD999" {
				continue // the store's own checks, of fields an update cannot change or tested there
			}
			t.Run("update "+tc.name, func(t *testing.T) {
				g := nkTemplate3(t, "ZGZ")
				g.ID = v1.ID
				tc.edit(g)
				wantCode(t, svc.UpdateTemplate(actx, g, "fix the panel"), tc.code, tc.field)
				wantUnchanged(t, s, before)
			})
		}
		// A valid edit, with the name, version and site left to the store.
		edit := nkTemplate3(t, "")
		edit.ID, edit.Name, edit.Description = v1.ID, "", "T cells without compensation"
		edit.Mapping.TPct = "myPolygonGateWithoutSpillover"
		must(t, svc.UpdateTemplate(actx, edit, "T gate"))
		if edit.Name != "NK gates3" || edit.Version != 1 || edit.Site != "ZGZ" || edit.Mapping.TPct != "myPolygonGateWithoutSpillover" {
			t.Errorf("edited template = %+v", edit)
		}
	})
}

// TestAttach attaches the ISAC NK file through the Service on SQLite and PostgreSQL: the
// observation's measures are those counted from the truth files, and every refusal, whether
// found while gating or while writing, changes nothing.
func TestAttach(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		culture := seed(t, s)
		svc := flow.New(s)
		file := readFlowFile(t, "FCSFiles", "9399_1_3_NKR.fcs")
		sha := clink.SHA256Hex(file)
		tmpl := nkTemplate3(t, "ZGZ")
		must(t, svc.CreateTemplate(actx, tmpl))
		// Day 7 has no flow values yet; day 14 has values entered by hand.
		bare := &clink.Observation{CultureID: culture.ID, Day: 7, ViableCells: 3e7, ViabilityPct: fptr(90)}
		must(t, s.CreateObservation(actx, bare))
		typed := &clink.Observation{CultureID: culture.ID, Day: 14, ViableCells: 2.25e8, ViabilityPct: fptr(92.5), NKPct: fptr(61),
			TPct: fptr(3.25), Markers: map[string]float64{"NKG2C": 33.3, "CD16": 70}}
		must(t, s.CreateObservation(actx, typed))
		upload := func(o *clink.Observation, data []byte) *clink.FCSUpload {
			return &clink.FCSUpload{ObservationID: o.ID, FileName: `D:\flow\day7\9399_1_3_NKR.fcs`, Data: data, Template: "NK gates3"}
		}

		want := wantMeasures3(t)
		u := upload(bare, file)
		as, err := svc.Attach(actx, []*clink.FCSUpload{u})
		must(t, err)
		if u.Gating != nil {
			t.Errorf("Attach changed the caller's upload: Gating %+v", u.Gating)
		}
		a := as[0]
		if d := cmp.Diff(want, a.Measures, approxMeasures); d != "" {
			t.Fatalf("measures (-truth +got):\n%s", d)
		}
		wantAtt := &clink.FCSAttachment{ID: a.ID, ObservationID: bare.ID, Culture: culture.Code, Site: "ZGZ", SHA256: sha,
			FileName: "9399_1_3_NKR.fcs", Size: int64(len(file)), TemplateID: tmpl.ID, TemplateName: "NK gates3", TemplateVersion: 1,
			DataSet: 0, Events: 124600, Measures: a.Measures, Changed: []string{"nk_pct", "t_pct", "markers.CD16", "markers.CD57", "markers.NKG2C"},
			CreatedAt: a.CreatedAt, CreatedBy: "tester"}
		if d := cmp.Diff(wantAtt, a); d != "" {
			t.Errorf("attachment (-want +got):\n%s", d)
		}
		o, err := s.FindObservationByID(actx, bare.ID)
		must(t, err)
		if *o.NKPct != *a.Measures.NKPct || *o.TPct != *a.Measures.TPct || !cmp.Equal(o.Markers, a.Measures.Markers) ||
			o.ViableCells != 3e7 || *o.ViabilityPct != 90 || o.UpdatedAt != a.CreatedAt {
			t.Errorf("observation after the attachment = %+v, want the measures and the rest kept", o)
		}
		events, _, err := s.FindAuditEvents(actx, clink.AuditFilter{Entity: "observation", EntityID: bare.ID})
		must(t, err)
		if last, wantReason := events[len(events)-1], "from FCS 9399_1_3_NKR.fcs sha256 "+sha+" template NK gates3@1"; last.Action != "update" || last.Reason != wantReason {
			t.Errorf("last audit event of the observation: %s %q, want update %q", last.Action, last.Reason, wantReason)
		}

		// The template version is now in use, so immutable.
		used, err := s.FindGatingTemplateByID(actx, tmpl.ID)
		must(t, err)
		wantCode(t, svc.UpdateTemplate(actx, used, "tweak"), clink.ECONFLICT, "")

		// Refusals change nothing: the same file the same way again; values from another source;
		// a file that is not FCS; a truncated one; a template whose channels the file lacks.
		gates1 := &clink.GatingTemplate{Site: "ZGZ", Name: "data1 panel", GatingML: string(readFlowFile(t, "Gating-MLFiles", "gates1.xml")),
			Mapping: clink.GateMapping{Denominator: "Polygon1", NKPct: "Ellipsoid3D"}}
		must(t, svc.CreateTemplate(actx, gates1))
		voidObs := &clink.Observation{CultureID: culture.ID, Day: 28, ViableCells: 1e8}
		must(t, s.CreateObservation(actx, voidObs))
		_, err = s.VoidObservation(actx, voidObs.ID, "wrong culture")
		must(t, err)
		before := stateOf(t, s)
		refusals := []struct {
			name, code, field, msg string
			ups                    []*clink.FCSUpload
		}{
			{"attached before", clink.ECONFLICT, "", "already attached", []*clink.FCSUpload{upload(bare, file)}},
			{"hand-entered values", clink.ECONFLICT, "", "nk_pct (61 recorded", []*clink.FCSUpload{upload(typed, file)}},
			{"not FCS", clink.EINVALID, "file", "9399_1_3_NKR.fcs", []*clink.FCSUpload{upload(typed, []byte(tmpl.GatingML))}},
			{"truncated", clink.EINVALID, "file", "9399_1_3_NKR.fcs", []*clink.FCSUpload{upload(typed, file[:len(file)/2])}},
			{"channels missing", clink.EINVALID, "file", "9399_1_3_NKR.fcs", []*clink.FCSUpload{{ObservationID: typed.ID, FileName: "9399_1_3_NKR.fcs", Data: file, Template: "data1 panel"}}},
			{"unknown template", clink.EINVALID, "template", "NK gates9", []*clink.FCSUpload{{ObservationID: typed.ID, FileName: "x.fcs", Data: file, Template: "NK gates9"}}},
			{"second of two fails", clink.EINVALID, "files[1].file", "not-fcs.fcs", []*clink.FCSUpload{
				{ObservationID: typed.ID, FileName: "9399_1_3_NKR.fcs", Data: file, Template: "NK gates3", Replace: true},
				{ObservationID: bare.ID, FileName: "not-fcs.fcs", Data: []byte("FCS3.0    garbage"), Template: "NK gates3"}}},
			{"second of two conflicts", clink.ECONFLICT, "", "already attached", []*clink.FCSUpload{
				{ObservationID: typed.ID, FileName: "9399_1_3_NKR.fcs", Data: file, Template: "NK gates3", Replace: true},
				upload(bare, file)}},
			{"no observation", clink.ENOTFOUND, "", "observation 999", []*clink.FCSUpload{{ObservationID: 999, FileName: "x.fcs", Data: file, Template: "NK gates3"}}},
			{"void observation", clink.ECONFLICT, "", "is void", []*clink.FCSUpload{upload(voidObs, file)}},
			{"no file", clink.EINVALID, "files", "at least one", nil},
			{"invalid upload", clink.EINVALID, "files[1].dataset", "-1", []*clink.FCSUpload{upload(typed, file), {ObservationID: typed.ID, FileName: "x.fcs", Data: file, Template: "NK gates3", DataSet: -1}}},
		}
		for _, tc := range refusals {
			t.Run(tc.name, func(t *testing.T) {
				_, err := svc.Attach(actx, tc.ups)
				wantCode(t, err, tc.code, tc.field)
				wantMessage(t, err, tc.msg)
				wantUnchanged(t, s, before)
			})
		}
		// The Service's file limit is checked before anything is read.
		small := &flow.Service{Store: s, MaxFCSBytes: int64(len(file) - 1)}
		_, err = small.Attach(actx, []*clink.FCSUpload{upload(typed, file)})
		wantCode(t, err, clink.EINVALID, "file")
		wantMessage(t, err, "more than the")
		wantUnchanged(t, s, before)

		// With replace the file's values win over the hand-entered ones; the file is stored once.
		u = upload(typed, file)
		u.Replace = true
		as, err = svc.Attach(actx, []*clink.FCSUpload{u})
		must(t, err)
		o, err = s.FindObservationByID(actx, typed.ID)
		must(t, err)
		if !as[0].Replace || *o.NKPct != *want.NKPct || o.Markers["CD16"] != want.Markers["CD16"] || o.Markers["CD57"] != want.Markers["CD57"] {
			t.Errorf("replaced observation: nk_pct %v CD16 %v CD57 %v, want %v, %v and %v", *o.NKPct, o.Markers["CD16"], o.Markers["CD57"],
				*want.NKPct, want.Markers["CD16"], want.Markers["CD57"])
		}
		var files int
		must(t, s.DB().QueryRow("SELECT COUNT(*) FROM fcs_files").Scan(&files))
		if files != 1 {
			t.Errorf("fcs_files holds %d rows after the same file was attached twice, want 1", files)
		}

		// A void template gates no more, by its name or its version.
		_, err = s.VoidGatingTemplate(actx, tmpl.ID, "superseded")
		must(t, err)
		day21 := &clink.Observation{CultureID: culture.ID, Day: 21, ViableCells: 1e8}
		must(t, s.CreateObservation(actx, day21))
		for _, ref := range []string{"NK gates3", "NK gates3@1"} {
			_, err = svc.Attach(actx, []*clink.FCSUpload{{ObservationID: day21.ID, FileName: "x.fcs", Data: file, Template: ref}})
			wantCode(t, err, clink.EINVALID, "template")
		}
		if _, err := s.VerifyAudit(actx); err != nil {
			t.Fatalf("audit chain: %v", err)
		}
	})
}

// TestAttachSeveral attaches two data sets to two observations in one call, with one
// template read and compiled for both: the attachments come back in the order of the uploads.
func TestAttachSeveral(t *testing.T) {
	s := newStore(t, sqldb.DialectSQLite)
	culture := seed(t, s)
	svc := flow.New(s)
	data1 := readFlowFile(t, "FCSFiles", "data1.fcs")
	must(t, svc.CreateTemplate(actx, &clink.GatingTemplate{Site: "ZGZ", Name: "data1 panel",
		GatingML: string(readFlowFile(t, "Gating-MLFiles", "gates1.xml")), Mapping: clink.GateMapping{Denominator: "Polygon1", NKPct: "Ellipsoid3D"}}))
	var ups []*clink.FCSUpload
	for day := range 2 {
		o := &clink.Observation{CultureID: culture.ID, Day: day, ViableCells: 1e7}
		must(t, s.CreateObservation(actx, o))
		ups = append(ups, &clink.FCSUpload{ObservationID: o.ID, FileName: "data1.fcs", Data: data1, Template: "data1 panel"})
	}
	as, err := svc.Attach(actx, ups)
	must(t, err)
	den, nk := truth(t, "set_1", "Polygon1"), truth(t, "set_1", "Ellipsoid3D")
	d, n := and(den), and(nk, den)
	for i, a := range as {
		if a.ObservationID != ups[i].ObservationID || a.Events != 13367 || a.Measures.DenominatorEvents != d || *a.Measures.NKEvents != n {
			t.Errorf("attachment %d: observation %d, %d events, denominator %d, NK %d; want observation %d, 13367, %d, %d",
				i, a.ObservationID, a.Events, a.Measures.DenominatorEvents, *a.Measures.NKEvents, ups[i].ObservationID, d, n)
		}
	}
}

// FuzzMeasure gates arbitrary bytes as an FCS file with the ISAC set 1 template: whatever
// the bytes, Measure does not panic (it would answer an internal error), and an error is
// invalid input about the file or the mapping. The seeds are data1.fcs, pieces of it and
// bytes that are not FCS.
func FuzzMeasure(f *testing.F) {
	data1 := readFlowFile(f, "FCSFiles", "data1.fcs")
	for _, seed := range [][]byte{data1, data1[:58], data1[:2000], data1[:len(data1)-1], []byte("FCS3.1"),
		[]byte("FCS3.0          58    1000  1001  2000     0     0"), []byte("<gating:Gating-ML/>"), {}, {0xff, 0, 0xfe}} {
		f.Add(seed)
	}
	tmpl := &clink.GatingTemplate{Name: "data1 panel", Version: 1, GatingML: string(readFlowFile(f, "Gating-MLFiles", "gates1.xml")),
		Mapping: clink.GateMapping{Denominator: "Polygon1", NKPct: "Ellipsoid3D", TPct: "Polygon2", Markers: map[string]string{"CD16": "Range2"}}}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := flow.Measure(tmpl, "fuzz.fcs", data, 0)
		if err != nil {
			if code := clink.ErrorCode(err); code != clink.EINVALID {
				t.Fatalf("%d bytes: got %v (%s), want invalid input", len(data), err, code)
			}
			return
		}
		if err := tmpl.Mapping.CheckMeasures(m); err != nil {
			t.Fatalf("%d bytes: measures %+v do not check: %v", len(data), m, err)
		}
	})
}

// BenchmarkAttach measures attaching 9399_1_3_NKR.fcs (3.99 MB, 124,600 events x 8) to a new
// observation with the set 3 template on SQLite through the Service: the reads, reading the
// file, evaluating the six mapped gates and those they depend on, hashing the file, and the
// write transaction (observation correction, attachment, audit events; the file itself is
// stored by the first iteration only, as every later one finds it by its hash). Each
// iteration also creates its observation.
func BenchmarkAttach(b *testing.B) {
	s := newStore(b, sqldb.DialectSQLite)
	culture := seed(b, s)
	svc := flow.New(s)
	file := readFlowFile(b, "FCSFiles", "9399_1_3_NKR.fcs")
	must(b, svc.CreateTemplate(actx, nkTemplate3(b, "ZGZ")))
	day := 0
	b.SetBytes(int64(len(file)))
	for b.Loop() {
		if day > 365 {
			c := *culture
			c.ID, c.Code = 0, ""
			must(b, s.CreateCulture(actx, &c))
			culture, day = &c, 0
		}
		o := &clink.Observation{CultureID: culture.ID, Day: day, ViableCells: 1e7}
		day++
		must(b, s.CreateObservation(actx, o))
		if _, err := svc.Attach(actx, []*clink.FCSUpload{{ObservationID: o.ID, FileName: "9399_1_3_NKR.fcs", Data: file, Template: "NK gates3"}}); err != nil {
			b.Fatal(err)
		}
	}
}
