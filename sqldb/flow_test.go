package sqldb_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/sqldb"
)

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
	b, err := os.ReadFile(filepath.Join(append([]string{flowDir(tb)}, rel...)...))
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
		GatingML: string(readFlowFile(tb, "gatingml2", "Gating-MLFiles", "gates3.xml")),
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

// flowState is what a refused flow write must leave as it was: the row counts, the audit
// chain's head and every observation.
type flowState struct {
	Counts map[string]int
	Head   clink.AuditChain
	Obs    []*clink.Observation
}

func stateOf(tb testing.TB, s *sqldb.Store) flowState {
	tb.Helper()
	st := flowState{Counts: counts(tb, s)}
	for _, table := range []string{"gating_templates", "fcs_files", "fcs_attachments"} {
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

func TestGatingTemplates(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		seed(t, s)
		v1 := nkTemplate3(t, "ZGZ")
		must(t, s.CreateGatingTemplate(actx, v1))
		if v1.ID == 0 || v1.Version != 1 || v1.InUse || v1.Voided || v1.CreatedBy != "tester" {
			t.Fatalf("created template = %+v, want id, version 1, not in use, created by tester", v1)
		}
		got, err := s.FindGatingTemplateByID(actx, v1.ID)
		must(t, err)
		if d := cmp.Diff(v1, got); d != "" {
			t.Fatalf("FindGatingTemplateByID (-created +found):\n%s", d)
		}

		v2 := nkTemplate3(t, "ZGZ")
		v2.Mapping.TPct = "myPolygonGateWithoutSpillover"
		must(t, s.CreateGatingTemplate(actx, v2))
		if v2.Version != 2 {
			t.Fatalf("second upload of the name: got version %d, want 2", v2.Version)
		}

		before := stateOf(t, s)
		bad := []struct {
			name, code, field string
			edit              func(*clink.GatingTemplate)
		}{
			{"existing version", clink.ECONFLICT, "", func(g *clink.GatingTemplate) { g.Version = 1 }},
			{"unknown gate", clink.EINVALID, "mapping.nk_pct", func(g *clink.GatingTemplate) { g.Mapping.NKPct = "NoSuchGate" }},
			{"unknown marker gate", clink.EINVALID, "mapping.markers.CD16", func(g *clink.GatingTemplate) { g.Mapping.Markers["CD16"] = "Q9" }},
			{"unknown marker", clink.EINVALID, "mapping.markers.CD999", func(g *clink.GatingTemplate) { g.Mapping.Markers["CD999"] = "Q1" }},
			{"not XML", clink.EINVALID, "gating_ml", func(g *clink.GatingTemplate) { g.GatingML = "gates, not XML" }},
			{"broken reference", clink.EINVALID, "gating_ml", func(g *clink.GatingTemplate) {
				g.GatingML = strings.Replace(g.GatingML, `gating:parent_id="myEllipsoidGate"`, `gating:parent_id="nowhere"`, 1)
			}},
			{"unknown site", clink.EINVALID, "site", func(g *clink.GatingTemplate) { g.Site = "MAD" }},
		}
		for _, tc := range bad {
			t.Run(tc.name, func(t *testing.T) {
				g := nkTemplate3(t, "ZGZ")
				tc.edit(g)
				wantCode(t, s.CreateGatingTemplate(actx, g), tc.code, tc.field)
				wantUnchanged(t, s, before)
			})
		}

		// A bare name is the latest valid version; NAME@N is that version, void or not.
		ref := func(r string) *clink.GatingTemplate {
			t.Helper()
			tr, err := clink.ParseTemplateRef(r)
			must(t, err)
			g, err := s.FindGatingTemplateByRef(actx, tr)
			must(t, err)
			return g
		}
		if g := ref("NK gates3"); g.ID != v2.ID {
			t.Errorf("latest of NK gates3: got version %d, want 2", g.Version)
		}
		if g := ref("NK gates3@1"); g.ID != v1.ID {
			t.Errorf("NK gates3@1: got version %d, want 1", g.Version)
		}
		_, err = s.FindGatingTemplateByRef(actx, clink.TemplateRef{Name: "NK gates3", Version: 3})
		wantCode(t, err, clink.ENOTFOUND, "")

		// An unused version may be edited, with a reason; name, version and site stay.
		edit := *v2
		edit.Name, edit.Version, edit.Site, edit.Description = "", 0, "", "T cells without compensation"
		wantCode(t, s.UpdateGatingTemplate(actx, &edit, ""), clink.EINVALID, "reason")
		must(t, s.UpdateGatingTemplate(actx, &edit, "describe the change"))
		if edit.Name != "NK gates3" || edit.Version != 2 || edit.Site != "ZGZ" || !edit.UpdatedAt.After(v2.UpdatedAt) {
			t.Errorf("edited template = %+v, want name, version and site kept and a later update", edit)
		}
		moved := edit
		moved.Site = "BCN"
		wantCode(t, s.UpdateGatingTemplate(actx, &moved, "move"), clink.EINVALID, "site")

		// Voiding: the bare name falls back to version 1; a void version cannot change.
		voided, err := s.VoidGatingTemplate(actx, v2.ID, "wrong T gate")
		must(t, err)
		if !voided.Voided || voided.VoidReason != "wrong T gate" {
			t.Errorf("voided template = %+v", voided)
		}
		if g := ref("NK gates3"); g.ID != v1.ID {
			t.Errorf("latest valid of NK gates3 after voiding v2: got version %d, want 1", g.Version)
		}
		_, err = s.VoidGatingTemplate(actx, v2.ID, "again")
		wantCode(t, err, clink.ECONFLICT, "")
		wantCode(t, s.UpdateGatingTemplate(actx, voided, "revive"), clink.ECONFLICT, "")

		list, total, err := s.FindGatingTemplates(actx, clink.GatingTemplateFilter{Name: "NK gates3"})
		must(t, err)
		if total != 2 || len(list) != 2 || list[0].Version != 1 || list[1].Version != 2 || !list[1].Voided {
			t.Errorf("FindGatingTemplates = %d of %d, want versions 1 and 2 (void)", len(list), total)
		}
		_, total, err = s.FindGatingTemplates(actx, clink.GatingTemplateFilter{Site: "BCN"})
		must(t, err)
		if total != 0 {
			t.Errorf("templates of BCN: got %d, want 0", total)
		}

		events, _, err := s.FindAuditEvents(actx, clink.AuditFilter{Entity: "gating_template"})
		must(t, err)
		var actions []string
		for _, e := range events {
			actions = append(actions, e.Action)
		}
		if want := []string{"create", "create", "update", "void"}; !cmp.Equal(actions, want) {
			t.Errorf("audit of templates: got %v, want %v", actions, want)
		}
	})
}

func TestAttachFCS(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		f := seed(t, s)
		file := readFlowFile(t, "gatingml2", "FCSFiles", "9399_1_3_NKR.fcs")
		sha := clink.SHA256Hex(file)
		tmpl := nkTemplate3(t, "ZGZ")
		must(t, s.CreateGatingTemplate(actx, tmpl))
		// Day 7 has no flow values yet; day 14 has values entered by hand.
		bare := &clink.Observation{CultureID: f.zgzCulture.ID, Day: 7, ViableCells: 3e7, ViabilityPct: fptr(90)}
		must(t, s.CreateObservation(actx, bare))
		typed := newObservation(f.zgzCulture, 14)
		must(t, s.CreateObservation(actx, typed))
		upload := func(o *clink.Observation, data []byte) *clink.FCSUpload {
			return &clink.FCSUpload{ObservationID: o.ID, FileName: `D:\flow\day7\9399_1_3_NKR.fcs`, Data: data, Template: "NK gates3"}
		}

		want := wantMeasures3(t)
		as, err := s.AttachFCS(actx, []*clink.FCSUpload{upload(bare, file)})
		must(t, err)
		a := as[0]
		if d := cmp.Diff(want, a.Measures, approxMeasures); d != "" {
			t.Fatalf("measures (-truth +got):\n%s", d)
		}
		t.Logf("9399_1_3_NKR.fcs with gates3: %d events, denominator %d, NK %d (%.4f %%), T %d (%.4f %%), markers %v",
			a.Measures.Events, a.Measures.DenominatorEvents, *a.Measures.NKEvents, *a.Measures.NKPct, *a.Measures.TEvents,
			*a.Measures.TPct, a.Measures.Markers)
		wantAtt := &clink.FCSAttachment{ID: a.ID, ObservationID: bare.ID, Culture: f.zgzCulture.Code, Site: "ZGZ", SHA256: sha,
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
		// The correction is audited with the reason the issue gives.
		events, _, err := s.FindAuditEvents(actx, clink.AuditFilter{Entity: "observation", EntityID: bare.ID})
		must(t, err)
		last := events[len(events)-1]
		if wantReason := "from FCS 9399_1_3_NKR.fcs sha256 " + sha + " template NK gates3@1"; last.Action != "update" || last.Reason != wantReason {
			t.Errorf("last audit event of the observation: %s %q, want update %q", last.Action, last.Reason, wantReason)
		}
		var fields []string
		for _, c := range last.Changes {
			fields = append(fields, c.Field)
		}
		if !cmp.Equal(fields, []string{"markers", "nk_pct", "t_pct"}) {
			t.Errorf("changed fields = %v, want markers, nk_pct, t_pct", fields)
		}
		for _, entity := range []string{"fcs_file", "fcs_attachment"} {
			if _, n, err := s.FindAuditEvents(actx, clink.AuditFilter{Entity: entity}); err != nil || n != 1 {
				t.Errorf("audit events of %s: got %d (%v), want 1", entity, n, err)
			}
		}

		// The template version is now in use, so immutable.
		used, err := s.FindGatingTemplateByID(actx, tmpl.ID)
		must(t, err)
		if !used.InUse {
			t.Errorf("template after an attachment: in_use false, want true")
		}
		wantCode(t, s.UpdateGatingTemplate(actx, used, "tweak"), clink.ECONFLICT, "")

		// The file comes back byte for byte.
		ff, data, err := s.FindFCSFile(actx, sha)
		must(t, err)
		if !bytes.Equal(data, file) || ff.Size != int64(len(file)) || ff.SHA256 != sha {
			t.Errorf("FindFCSFile: %d bytes, %+v; want the %d bytes of the file", len(data), ff, len(file))
		}
		_, _, err = s.FindFCSFile(actx, strings.Repeat("0", 64))
		wantCode(t, err, clink.ENOTFOUND, "")
		_, _, err = s.FindFCSFile(actx, "../etc/passwd")
		wantCode(t, err, clink.EINVALID, "sha256")

		// Refusals change nothing: the same file the same way again; values from another source;
		// a file that is not FCS; a truncated one; a template whose channels the file lacks.
		gates1 := &clink.GatingTemplate{Site: "ZGZ", Name: "data1 panel", GatingML: string(readFlowFile(t, "gatingml2", "Gating-MLFiles", "gates1.xml")),
			Mapping: clink.GateMapping{Denominator: "Polygon1", NKPct: "Ellipsoid3D"}}
		must(t, s.CreateGatingTemplate(actx, gates1))
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
		}
		for _, tc := range refusals {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.AttachFCS(actx, tc.ups)
				wantCode(t, err, tc.code, tc.field)
				wantMessage(t, err, tc.msg)
				wantUnchanged(t, s, before)
			})
		}

		// With replace the file's values win over the hand-entered ones; the file is stored once.
		u := upload(typed, file)
		u.Replace = true
		as, err = s.AttachFCS(actx, []*clink.FCSUpload{u})
		must(t, err)
		if as[0].SHA256 != sha || !as[0].Replace || !slices.Contains(as[0].Changed, "nk_pct") || !slices.Contains(as[0].Changed, "markers.CD16") {
			t.Errorf("replacing attachment = %+v", as[0])
		}
		o, err = s.FindObservationByID(actx, typed.ID)
		must(t, err)
		if *o.NKPct != *want.NKPct || o.Markers["CD16"] != want.Markers["CD16"] {
			t.Errorf("replaced observation: nk_pct %v CD16 %v, want %v and %v", *o.NKPct, o.Markers["CD16"], *want.NKPct, want.Markers["CD16"])
		}
		var files int
		must(t, s.DB().QueryRow("SELECT COUNT(*) FROM fcs_files").Scan(&files))
		if files != 1 {
			t.Errorf("fcs_files holds %d rows after the same file was attached twice, want 1", files)
		}

		list, total, err := s.FindFCSAttachments(actx, clink.FCSAttachmentFilter{SHA256: sha})
		must(t, err)
		if total != 2 || list[0].ObservationID != bare.ID || list[1].ObservationID != typed.ID {
			t.Errorf("attachments of the file: %d, want the two observations in order", total)
		}
		list, total, err = s.FindFCSAttachments(actx, clink.FCSAttachmentFilter{ObservationID: bare.ID})
		must(t, err)
		if total != 1 || len(list) != 1 || list[0].ID != a.ID {
			t.Errorf("attachments of observation %d: %d, want 1", bare.ID, total)
		} else if d := cmp.Diff(a, list[0]); d != "" {
			t.Errorf("listed attachment (-attached +listed):\n%s", d)
		}

		// A void observation takes no file; a void template gates no more.
		_, err = s.VoidObservation(actx, typed.ID, "wrong culture")
		must(t, err)
		_, err = s.AttachFCS(actx, []*clink.FCSUpload{upload(typed, file)})
		wantCode(t, err, clink.ECONFLICT, "")
		_, err = s.VoidGatingTemplate(actx, tmpl.ID, "superseded")
		must(t, err)
		day21 := &clink.Observation{CultureID: f.zgzCulture.ID, Day: 21, ViableCells: 1e8}
		must(t, s.CreateObservation(actx, day21))
		for _, ref := range []string{"NK gates3", "NK gates3@1"} {
			_, err = s.AttachFCS(actx, []*clink.FCSUpload{{ObservationID: day21.ID, FileName: "x.fcs", Data: file, Template: ref}})
			wantCode(t, err, clink.EINVALID, "template")
		}
		if _, err := s.VerifyAudit(actx); err != nil {
			t.Fatalf("audit chain: %v", err)
		}
	})
}

// TestAttachFCSNoDenominator gates with the ISAC set 5 gates on 9399_1_3_NKR.fcs with every
// event as the denominator.
func TestAttachFCSNoDenominator(t *testing.T) {
	s := newStore(t, sqldb.DialectSQLite)
	f := seed(t, s)
	file := readFlowFile(t, "gatingml2", "FCSFiles", "9399_1_3_NKR.fcs")
	// An extra gate on a channel the file lacks, which the mapping does not use: it is not
	// evaluated, so it does not stop the file from being gated.
	gml := strings.Replace(string(readFlowFile(t, "gatingml2", "Gating-MLFiles", "gates5.xml")), "</gating:Gating-ML>",
		`<gating:RectangleGate gating:id="Unused"><gating:dimension gating:min="1" gating:compensation-ref="uncompensated"><data-type:fcs-dimension data-type:name="NoSuchChannel"/></gating:dimension></gating:RectangleGate></gating:Gating-ML>`, 1)
	tmpl := &clink.GatingTemplate{Site: "ZGZ", Name: "gates5", GatingML: gml,
		Mapping: clink.GateMapping{NKPct: "myPolygon1", TPct: "myAnd2", Markers: map[string]string{"NKG2A": "myPolygon2"}}}
	must(t, s.CreateGatingTemplate(actx, tmpl))
	o := &clink.Observation{CultureID: f.zgzCulture.ID, Day: 3, ViableCells: 1e7}
	must(t, s.CreateObservation(actx, o))
	as, err := s.AttachFCS(actx, []*clink.FCSUpload{{ObservationID: o.ID, FileName: "9399_1_3_NKR.fcs", Data: file, Template: "gates5@1"}})
	must(t, err)
	p1, p2, and2 := truth(t, "set_5", "myPolygon1"), truth(t, "set_5", "myPolygon2"), truth(t, "set_5", "myAnd2")
	n, tc, k := and(p1), and(and2), and(p2, p1)
	nkPct, tPct := 100*float64(n)/float64(len(p1)), 100*float64(tc)/float64(len(p1))
	want := clink.FlowMeasures{Events: 124600, DenominatorEvents: 124600, NKEvents: &n, TEvents: &tc, NKPct: &nkPct, TPct: &tPct,
		Markers: map[string]float64{"NKG2A": 100 * float64(k) / float64(n)}, MarkerEvents: map[string]int{"NKG2A": k}}
	if d := cmp.Diff(want, as[0].Measures, approxMeasures); d != "" {
		t.Errorf("measures (-truth +got):\n%s", d)
	}
	// The measures are stored as JSON and read back unchanged.
	var stored string
	must(t, s.DB().QueryRow("SELECT measures FROM fcs_attachments WHERE id = $1", as[0].ID).Scan(&stored))
	var back clink.FlowMeasures
	must(t, json.Unmarshal([]byte(stored), &back))
	if d := cmp.Diff(as[0].Measures, back); d != "" {
		t.Errorf("stored measures (-attached +stored):\n%s", d)
	}
}

// TestFCSFilesAppendOnly checks that the database refuses to change a stored file or an
// attachment, and that a copy damaged behind its back (the trigger dropped by the owner) is
// never served.
func TestFCSFilesAppendOnly(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		f := seed(t, s)
		file := readFlowFile(t, "gatingml2", "FCSFiles", "9399_1_3_NKR.fcs")
		tmpl := nkTemplate3(t, "ZGZ")
		must(t, s.CreateGatingTemplate(actx, tmpl))
		o := &clink.Observation{CultureID: f.zgzCulture.ID, Day: 7, ViableCells: 3e7}
		must(t, s.CreateObservation(actx, o))
		_, err := s.AttachFCS(actx, []*clink.FCSUpload{{ObservationID: o.ID, FileName: "a.fcs", Data: file, Template: "NK gates3"}})
		must(t, err)
		sha := clink.SHA256Hex(file)
		for _, q := range []string{
			"UPDATE fcs_files SET size = size + 1",
			"DELETE FROM fcs_files",
			"UPDATE fcs_attachments SET file_name = 'b.fcs'",
			"DELETE FROM fcs_attachments",
		} {
			if _, err := s.DB().Exec(q); err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: got %v, want the append-only refusal", q, err)
			}
		}
		// The owner can drop the guard; the damage is then caught when the file is read.
		drop := "DROP TRIGGER fcs_files_no_update"
		if s.Dialect() == sqldb.DialectPostgres {
			drop = "ALTER TABLE fcs_files DISABLE TRIGGER fcs_files_no_update"
		}
		_, err = s.DB().Exec(drop)
		must(t, err)
		damaged := bytes.Clone(file)
		damaged[len(damaged)-1] ^= 1
		_, err = s.DB().Exec("UPDATE fcs_files SET data = $1 WHERE sha256 = $2", damaged, sha)
		must(t, err)
		_, _, err = s.FindFCSFile(actx, sha)
		if code := clink.ErrorCode(err); code != clink.EINTERNAL || !strings.Contains(err.Error(), "damaged") {
			t.Fatalf("reading a damaged file: got %v (%s), want an internal error saying it is damaged", err, code)
		}
		if msg := clink.ErrorMessage(err); msg != "internal error" {
			t.Errorf("user-facing message of a damaged file: %q, want \"internal error\"", msg)
		}
	})
}

// BenchmarkAttachFCS measures attaching 9399_1_3_NKR.fcs (3.99 MB, 124,600 events x 8) to a
// new observation with the set 3 template on SQLite: the reads, hashing the file, reading it,
// evaluating the six mapped gates and those they depend on, and the write transaction
// (observation correction, attachment, audit events; the file itself is stored by the first
// iteration only, as every later one finds it by its hash). Each iteration also creates its
// observation.
func BenchmarkAttachFCS(b *testing.B) {
	s := newStore(b, sqldb.DialectSQLite)
	f := seed(b, s)
	file := readFlowFile(b, "gatingml2", "FCSFiles", "9399_1_3_NKR.fcs")
	must(b, s.CreateGatingTemplate(actx, nkTemplate3(b, "ZGZ")))
	c, day := f.zgzCulture, 0
	b.SetBytes(int64(len(file)))
	for b.Loop() {
		if day > 365 {
			c, day = newCulture("ZGZ", f.zgzDonor, f.plain), 0
			must(b, s.CreateCulture(actx, c))
		}
		o := &clink.Observation{CultureID: c.ID, Day: day, ViableCells: 1e7}
		day++
		must(b, s.CreateObservation(actx, o))
		if _, err := s.AttachFCS(actx, []*clink.FCSUpload{{ObservationID: o.ID, FileName: "9399_1_3_NKR.fcs", Data: file, Template: "NK gates3"}}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestAttachFCSConcurrent attaches the same new file from several goroutines at once: to
// different observations all succeed and the file is stored once; twice to the same
// observation, one succeeds and the other is told the file is attached already.
func TestAttachFCSConcurrent(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		f := seed(t, s)
		file := readFlowFile(t, "gatingml2", "FCSFiles", "data1.fcs")
		must(t, s.CreateGatingTemplate(actx, &clink.GatingTemplate{Site: "ZGZ", Name: "data1", GatingML: string(readFlowFile(t, "gatingml2", "Gating-MLFiles", "gates1.xml")),
			Mapping: clink.GateMapping{Denominator: "Polygon1", NKPct: "Ellipsoid3D"}}))
		var obs []*clink.Observation
		for day := range 4 {
			o := &clink.Observation{CultureID: f.zgzCulture.ID, Day: day, ViableCells: 1e7}
			must(t, s.CreateObservation(actx, o))
			obs = append(obs, o)
		}
		targets := []int64{obs[0].ID, obs[1].ID, obs[2].ID, obs[3].ID, obs[3].ID}
		errs := make([]error, len(targets))
		var wg sync.WaitGroup
		for i, id := range targets {
			wg.Go(func() {
				_, errs[i] = s.AttachFCS(actx, []*clink.FCSUpload{{ObservationID: id, FileName: "data1.fcs", Data: file, Template: "data1"}})
			})
		}
		wg.Wait()
		for i := range 3 {
			if errs[i] != nil {
				t.Errorf("attachment %d to observation %d: %v", i, targets[i], errs[i])
			}
		}
		// The two attachments to the last observation: one wins, the other is a conflict.
		if (errs[3] == nil) == (errs[4] == nil) {
			t.Errorf("two attachments of the same file to one observation: got errors %v and %v, want exactly one conflict", errs[3], errs[4])
		}
		for _, err := range errs[3:] {
			if err != nil {
				wantCode(t, err, clink.ECONFLICT, "")
				wantMessage(t, err, "already attached")
			}
		}
		var files, atts int
		must(t, s.DB().QueryRow("SELECT COUNT(*) FROM fcs_files").Scan(&files))
		must(t, s.DB().QueryRow("SELECT COUNT(*) FROM fcs_attachments").Scan(&atts))
		if files != 1 || atts != 4 {
			t.Errorf("got %d stored files and %d attachments, want 1 and 4", files, atts)
		}
		if _, err := s.VerifyAudit(actx); err != nil {
			t.Errorf("audit chain: %v", err)
		}
	})
}
