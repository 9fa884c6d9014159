package sqldb_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/sqldb"
)

// The store keeps flow records; gating them is the flow package's, whose tests gate the ISAC
// files on these stores. Here uploads carry measures made up with exact arithmetic, as
// flow.Service would hand them over, and files are stand-in bytes: the store reads neither.

// panelXML is a small Gating-ML 2.0 document with the gates panelMapping names. The store
// keeps it as it is.
const panelXML = `<?xml version="1.0" encoding="UTF-8"?>
<gating:Gating-ML xmlns:gating="http://www.isac-net.org/std/Gating-ML/v2.0/gating" xmlns:data-type="http://www.isac-net.org/std/Gating-ML/v2.0/datatypes">
  <gating:RectangleGate gating:id="Lymphocytes">
    <gating:dimension gating:min="100" gating:compensation-ref="uncompensated"><data-type:fcs-dimension data-type:name="FSC-A"/></gating:dimension>
  </gating:RectangleGate>
  <gating:RectangleGate gating:id="NK" gating:parent_id="Lymphocytes">
    <gating:dimension gating:min="1000" gating:compensation-ref="uncompensated"><data-type:fcs-dimension data-type:name="CD56"/></gating:dimension>
  </gating:RectangleGate>
  <gating:RectangleGate gating:id="T" gating:parent_id="Lymphocytes">
    <gating:dimension gating:min="1000" gating:compensation-ref="uncompensated"><data-type:fcs-dimension data-type:name="CD3"/></gating:dimension>
  </gating:RectangleGate>
  <gating:RectangleGate gating:id="CD16pos" gating:parent_id="NK">
    <gating:dimension gating:min="1000" gating:compensation-ref="uncompensated"><data-type:fcs-dimension data-type:name="CD16"/></gating:dimension>
  </gating:RectangleGate>
  <gating:RectangleGate gating:id="NKG2Cpos" gating:parent_id="NK">
    <gating:dimension gating:min="1000" gating:compensation-ref="uncompensated"><data-type:fcs-dimension data-type:name="NKG2C"/></gating:dimension>
  </gating:RectangleGate>
</gating:Gating-ML>
`

func panelMapping() clink.GateMapping {
	return clink.GateMapping{Denominator: "Lymphocytes", NKPct: "NK", TPct: "T",
		Markers: map[string]string{"CD16": "CD16pos", "NKG2C": "NKG2Cpos"}}
}

func panelTemplate(site string) *clink.GatingTemplate {
	return &clink.GatingTemplate{Site: site, Name: "NK panel", Description: "CD56+ NK, CD3+ T, CD16 and NKG2C of NK",
		GatingML: panelXML, Mapping: panelMapping()}
}

// measuresOf builds the measures of panelMapping from event counts, each percentage Pct of
// its counts as flow.Measure computes it.
func measuresOf(events, den, nk, t int, markers map[string]int) clink.FlowMeasures {
	nkPct, tPct := clink.Pct(nk, den), clink.Pct(t, den)
	m := clink.FlowMeasures{Events: events, DenominatorEvents: den, NKEvents: &nk, TEvents: &t, NKPct: &nkPct, TPct: &tPct,
		Markers: map[string]float64{}, MarkerEvents: map[string]int{}}
	for name, k := range markers {
		m.MarkerEvents[name], m.Markers[name] = k, clink.Pct(k, nk)
	}
	return m
}

// panelMeasures are 10,000 events: 8,000 lymphocytes, of which 5,000 NK (62.5 %) and 400 T
// (5 %); of the NK events 3,000 CD16+ (60 %) and 1,000 NKG2C+ (20 %).
func panelMeasures() clink.FlowMeasures {
	return measuresOf(10000, 8000, 5000, 400, map[string]int{"CD16": 3000, "NKG2C": 1000})
}

// gated returns an upload of data to o, gated with the template version g into m.
func gated(o *clink.Observation, name string, data []byte, g *clink.GatingTemplate, m clink.FlowMeasures) *clink.FCSUpload {
	return &clink.FCSUpload{ObservationID: o.ID, FileName: name, Data: data, Template: g.Name,
		Gating: &clink.FCSGating{TemplateID: g.ID, TemplateUpdatedAt: g.UpdatedAt, Measures: m}}
}

// standIn returns stand-in bytes for an FCS file.
func standIn(label string) []byte {
	return []byte("FCS3.1 stand-in for " + label + ": the store keeps these bytes and never reads them")
}

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
		v1 := panelTemplate("ZGZ")
		must(t, s.CreateGatingTemplate(actx, v1))
		if v1.ID == 0 || v1.Version != 1 || v1.InUse || v1.Voided || v1.CreatedBy != "tester" {
			t.Fatalf("created template = %+v, want id, version 1, not in use, created by tester", v1)
		}
		got, err := s.FindGatingTemplateByID(actx, v1.ID)
		must(t, err)
		if d := cmp.Diff(v1, got); d != "" {
			t.Fatalf("FindGatingTemplateByID (-created +found):\n%s", d)
		}
		if got.GatingML != panelXML {
			t.Errorf("the stored document differs from the one given")
		}

		v2 := panelTemplate("ZGZ")
		v2.Mapping.TPct = "NKG2Cpos"
		must(t, s.CreateGatingTemplate(actx, v2))
		if v2.Version != 2 {
			t.Fatalf("second upload of the name: got version %d, want 2", v2.Version)
		}

		// The store validates the template's own fields; the document and the gates the
		// mapping names are checked by flow.CheckTemplate (flow/flow_test.go).
		before := stateOf(t, s)
		bad := []struct {
			name, code, field string
			edit              func(*clink.GatingTemplate)
		}{
			{"existing version", clink.ECONFLICT, "", func(g *clink.GatingTemplate) { g.Version = 1 }},
			{"unknown marker", clink.EINVALID, "mapping.markers.CD999", func(g *clink.GatingTemplate) { g.Mapping.Markers["CD999"] = "Q1" }},
			{"no document", clink.EINVALID, "gating_ml", func(g *clink.GatingTemplate) { g.GatingML = " \n" }},
			{"nothing mapped", clink.EINVALID, "mapping.nk_pct", func(g *clink.GatingTemplate) { g.Mapping = clink.GateMapping{} }},
			{"unknown site", clink.EINVALID, "site", func(g *clink.GatingTemplate) { g.Site = "MAD" }},
		}
		for _, tc := range bad {
			t.Run(tc.name, func(t *testing.T) {
				g := panelTemplate("ZGZ")
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
		if g := ref("NK panel"); g.ID != v2.ID {
			t.Errorf("latest of NK panel: got version %d, want 2", g.Version)
		}
		if g := ref("NK panel@1"); g.ID != v1.ID {
			t.Errorf("NK panel@1: got version %d, want 1", g.Version)
		}
		_, err = s.FindGatingTemplateByRef(actx, clink.TemplateRef{Name: "NK panel", Version: 3})
		wantCode(t, err, clink.ENOTFOUND, "")

		// An unused version may be edited, with a reason; name, version and site stay.
		edit := *v2
		edit.Name, edit.Version, edit.Site, edit.Description = "", 0, "", "T cells from the NKG2C gate"
		wantCode(t, s.UpdateGatingTemplate(actx, &edit, ""), clink.EINVALID, "reason")
		must(t, s.UpdateGatingTemplate(actx, &edit, "describe the change"))
		if edit.Name != "NK panel" || edit.Version != 2 || edit.Site != "ZGZ" || !edit.UpdatedAt.After(v2.UpdatedAt) {
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
		if g := ref("NK panel"); g.ID != v1.ID {
			t.Errorf("latest valid of NK panel after voiding v2: got version %d, want 1", g.Version)
		}
		_, err = s.VoidGatingTemplate(actx, v2.ID, "again")
		wantCode(t, err, clink.ECONFLICT, "")
		wantCode(t, s.UpdateGatingTemplate(actx, voided, "revive"), clink.ECONFLICT, "")

		list, total, err := s.FindGatingTemplates(actx, clink.GatingTemplateFilter{Name: "NK panel"})
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
		file := standIn("tube 3")
		sha := clink.SHA256Hex(file)
		tmpl := panelTemplate("ZGZ")
		must(t, s.CreateGatingTemplate(actx, tmpl))
		// Day 7 has no flow values yet; day 14 has values entered by hand.
		bare := &clink.Observation{CultureID: f.zgzCulture.ID, Day: 7, ViableCells: 3e7, ViabilityPct: fptr(90)}
		must(t, s.CreateObservation(actx, bare))
		typed := newObservation(f.zgzCulture, 14)
		must(t, s.CreateObservation(actx, typed))
		want := panelMeasures()
		upload := func(o *clink.Observation, data []byte) *clink.FCSUpload {
			return gated(o, `D:\flow\day7\tube3.fcs`, data, tmpl, want)
		}

		as, err := s.AttachFCS(actx, []*clink.FCSUpload{upload(bare, file)})
		must(t, err)
		a := as[0]
		wantAtt := &clink.FCSAttachment{ID: a.ID, ObservationID: bare.ID, Culture: f.zgzCulture.Code, Site: "ZGZ", SHA256: sha,
			FileName: "tube3.fcs", Size: int64(len(file)), TemplateID: tmpl.ID, TemplateName: "NK panel", TemplateVersion: 1,
			DataSet: 0, Events: 10000, Measures: want, Changed: []string{"nk_pct", "t_pct", "markers.CD16", "markers.NKG2C"},
			CreatedAt: a.CreatedAt, CreatedBy: "tester"}
		if d := cmp.Diff(wantAtt, a); d != "" {
			t.Errorf("attachment (-want +got):\n%s", d)
		}
		o, err := s.FindObservationByID(actx, bare.ID)
		must(t, err)
		if *o.NKPct != 62.5 || *o.TPct != 5 || !cmp.Equal(o.Markers, map[string]float64{"CD16": 60, "NKG2C": 20}) ||
			o.ViableCells != 3e7 || *o.ViabilityPct != 90 || o.UpdatedAt != a.CreatedAt {
			t.Errorf("observation after the attachment = %+v, want the measures and the rest kept", o)
		}
		// The correction is audited with the reason the issue gives.
		events, _, err := s.FindAuditEvents(actx, clink.AuditFilter{Entity: "observation", EntityID: bare.ID})
		must(t, err)
		last := events[len(events)-1]
		if wantReason := "from FCS tube3.fcs sha256 " + sha + " template NK panel@1"; last.Action != "update" || last.Reason != wantReason {
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
		// The measures are stored as JSON and read back unchanged.
		var stored string
		must(t, s.DB().QueryRow("SELECT measures FROM fcs_attachments WHERE id = $1", a.ID).Scan(&stored))
		var back clink.FlowMeasures
		must(t, json.Unmarshal([]byte(stored), &back))
		if d := cmp.Diff(want, back); d != "" {
			t.Errorf("stored measures (-attached +stored):\n%s", d)
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

		// A template version edited after it gated a file: the write is refused.
		other := panelTemplate("ZGZ")
		other.Name = "NK panel B"
		must(t, s.CreateGatingTemplate(actx, other))
		stale := *other
		edited := *other
		edited.Description = "edited while a file was gated"
		must(t, s.UpdateGatingTemplate(actx, &edited, "wording"))

		// Refusals change nothing.
		before := stateOf(t, s)
		bad := func(edit func(m *clink.FlowMeasures)) *clink.FCSUpload {
			u := upload(typed, file)
			u.Replace = true
			m := panelMeasures()
			edit(&m)
			u.Gating.Measures = m
			return u
		}
		notGated := upload(typed, file)
		notGated.Gating = nil
		otherName := upload(typed, file)
		otherName.Template = "NK panel B"
		refusals := []struct {
			name, code, field, msg string
			ups                    []*clink.FCSUpload
		}{
			{"attached before", clink.ECONFLICT, "", "already attached", []*clink.FCSUpload{upload(bare, file)}},
			{"hand-entered values", clink.ECONFLICT, "", "nk_pct (61 recorded", []*clink.FCSUpload{upload(typed, file)}},
			{"not gated", clink.EINTERNAL, "", "internal error", []*clink.FCSUpload{notGated}},
			{"template edited since", clink.ECONFLICT, "", "NK panel B@1 changed while tube3.fcs was gated", []*clink.FCSUpload{gated(typed, "tube3.fcs", file, &stale, want)}},
			{"another template's name", clink.EINVALID, "template", "NK panel B", []*clink.FCSUpload{otherName}},
			{"percentage not of its counts", clink.EINVALID, "measures.nk_pct", "not 5000 of 8000", []*clink.FCSUpload{bad(func(m *clink.FlowMeasures) { *m.NKPct = 61 })}},
			{"marker not mapped", clink.EINVALID, "measures.markers.CD57", "does not map", []*clink.FCSUpload{bad(func(m *clink.FlowMeasures) { m.Markers["CD57"], m.MarkerEvents["CD57"] = 0, 0 })}},
			{"mapped marker missing", clink.EINVALID, "measures.markers.NKG2C", "missing", []*clink.FCSUpload{bad(func(m *clink.FlowMeasures) { delete(m.Markers, "NKG2C") })}},
			{"denominator above events", clink.EINVALID, "measures.denominator_events", "10001", []*clink.FCSUpload{bad(func(m *clink.FlowMeasures) { m.DenominatorEvents = 10001 })}},
			{"would make the observation invalid", clink.EINVALID, "t_pct", "would make observation", []*clink.FCSUpload{
				bad(func(m *clink.FlowMeasures) {
					*m = measuresOf(10000, 8000, 5000, 4000, map[string]int{"CD16": 1, "NKG2C": 2})
				})}},
			{"second of two inconsistent", clink.EINVALID, "files[1].measures.t_pct", "is missing", []*clink.FCSUpload{
				{ObservationID: typed.ID, FileName: "tube3.fcs", Data: file, Template: "NK panel", Replace: true, Gating: upload(typed, file).Gating},
				bad(func(m *clink.FlowMeasures) { m.TPct = nil })}},
			{"second of two conflicts", clink.ECONFLICT, "", "already attached", []*clink.FCSUpload{
				{ObservationID: typed.ID, FileName: "tube3.fcs", Data: file, Template: "NK panel", Replace: true, Gating: upload(typed, file).Gating},
				upload(bare, file)}},
			{"no observation", clink.ENOTFOUND, "", "observation 999", []*clink.FCSUpload{gated(&clink.Observation{ID: 999}, "x.fcs", file, tmpl, want)}},
			{"no template", clink.ENOTFOUND, "", "gating template 999", []*clink.FCSUpload{gated(typed, "x.fcs", file, &clink.GatingTemplate{ID: 999, Name: "NK panel"}, want)}},
			{"no file", clink.EINVALID, "files", "at least one", nil},
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

		// A void observation takes no file; a template voided after it gated one writes none.
		_, err = s.VoidObservation(actx, typed.ID, "wrong culture")
		must(t, err)
		_, err = s.AttachFCS(actx, []*clink.FCSUpload{upload(typed, standIn("tube 4"))})
		wantCode(t, err, clink.ECONFLICT, "")
		day21 := &clink.Observation{CultureID: f.zgzCulture.ID, Day: 21, ViableCells: 1e8}
		must(t, s.CreateObservation(actx, day21))
		late := upload(day21, standIn("tube 5"))
		_, err = s.VoidGatingTemplate(actx, tmpl.ID, "superseded")
		must(t, err)
		_, err = s.AttachFCS(actx, []*clink.FCSUpload{late})
		wantCode(t, err, clink.ECONFLICT, "")
		if _, err := s.VerifyAudit(actx); err != nil {
			t.Fatalf("audit chain: %v", err)
		}
	})
}

// TestFCSFilesAppendOnly checks that the database refuses to change a stored file or an
// attachment, and that a copy damaged behind its back (the trigger dropped by the owner) is
// never served.
func TestFCSFilesAppendOnly(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		f := seed(t, s)
		file := standIn("append-only")
		tmpl := panelTemplate("ZGZ")
		must(t, s.CreateGatingTemplate(actx, tmpl))
		o := &clink.Observation{CultureID: f.zgzCulture.ID, Day: 7, ViableCells: 3e7}
		must(t, s.CreateObservation(actx, o))
		_, err := s.AttachFCS(actx, []*clink.FCSUpload{gated(o, "a.fcs", file, tmpl, panelMeasures())})
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

// BenchmarkAttachFCS measures the store's part of attaching a 4 MB file (the size of the ISAC
// file 9399_1_3_NKR.fcs) to a new observation on SQLite: hashing the file, the write
// transaction (observation correction, attachment, audit events; the file itself is stored by
// the first iteration only, as every later one finds it by its hash). Each iteration also
// creates its observation. Gating is flow.Service's (flow's BenchmarkAttach measures both).
func BenchmarkAttachFCS(b *testing.B) {
	s := newStore(b, sqldb.DialectSQLite)
	f := seed(b, s)
	file := bytes.Repeat(standIn("benchmark"), 4_000_000/len(standIn("benchmark")))
	tmpl := panelTemplate("ZGZ")
	must(b, s.CreateGatingTemplate(actx, tmpl))
	m := panelMeasures()
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
		if _, err := s.AttachFCS(actx, []*clink.FCSUpload{gated(o, "tube.fcs", file, tmpl, m)}); err != nil {
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
		file := standIn("concurrent")
		tmpl := panelTemplate("ZGZ")
		must(t, s.CreateGatingTemplate(actx, tmpl))
		var obs []*clink.Observation
		for day := range 4 {
			o := &clink.Observation{CultureID: f.zgzCulture.ID, Day: day, ViableCells: 1e7}
			must(t, s.CreateObservation(actx, o))
			obs = append(obs, o)
		}
		targets := []*clink.Observation{obs[0], obs[1], obs[2], obs[3], obs[3]}
		errs := make([]error, len(targets))
		var wg sync.WaitGroup
		for i, o := range targets {
			wg.Go(func() {
				_, errs[i] = s.AttachFCS(actx, []*clink.FCSUpload{gated(o, "data1.fcs", file, tmpl, panelMeasures())})
			})
		}
		wg.Wait()
		for i := range 3 {
			if errs[i] != nil {
				t.Errorf("attachment %d to observation %d: %v", i, targets[i].ID, errs[i])
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
