package clink

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func validTemplate() *GatingTemplate {
	t := &GatingTemplate{Site: "ZGZ", Name: "NK panel", GatingML: "<gating:Gating-ML/>",
		Mapping: GateMapping{Denominator: "Lymphocytes", NKPct: "NK", TPct: "T",
			Markers: map[string]string{"CD16": "CD16pos", "NKG2C": "NKG2Cpos"}}}
	t.Normalize()
	return t
}

func TestGatingTemplateValidate(t *testing.T) {
	if err := validTemplate().Validate(); err != nil {
		t.Fatalf("valid template: %v", err)
	}
	tests := []struct {
		name, field string
		edit        func(*GatingTemplate)
	}{
		{"site", "site", func(g *GatingTemplate) { g.Site = "zgz" }},
		{"no name", "name", func(g *GatingTemplate) { g.Name = " " }},
		{"name with @", "name", func(g *GatingTemplate) { g.Name = "panel@2" }},
		{"name with spaces around", "name", func(g *GatingTemplate) { g.Name = " panel" }},
		{"name with a newline", "name", func(g *GatingTemplate) { g.Name = "pa\nnel" }},
		{"long name", "name", func(g *GatingTemplate) { g.Name = strings.Repeat("x", 101) }},
		{"negative version", "version", func(g *GatingTemplate) { g.Version = -1 }},
		{"no document", "gating_ml", func(g *GatingTemplate) { g.GatingML = "  " }},
		{"huge document", "gating_ml", func(g *GatingTemplate) { g.GatingML = strings.Repeat("x", MaxGatingMLBytes+1) }},
		{"no nk or t", "mapping.nk_pct", func(g *GatingTemplate) { g.Mapping.NKPct, g.Mapping.TPct, g.Mapping.Markers = "", "", nil }},
		{"unknown marker", "mapping.markers.CD99", func(g *GatingTemplate) { g.Mapping.Markers["CD99"] = "x" }},
		{"marker without gate", "mapping.markers.CD57", func(g *GatingTemplate) { g.Mapping.Markers["CD57"] = "" }},
		{"markers without nk", "mapping.markers.CD16", func(g *GatingTemplate) { g.Mapping.NKPct = "" }},
		{"gate id with spaces", "mapping.t_pct", func(g *GatingTemplate) { g.Mapping.TPct = " T" }},
		{"long gate id", "mapping.denominator", func(g *GatingTemplate) { g.Mapping.Denominator = strings.Repeat("g", 201) }},
		{"long description", "description", func(g *GatingTemplate) { g.Description = strings.Repeat("d", 4001) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := validTemplate()
			tc.edit(g)
			err := g.Validate()
			if ErrorCode(err) != EINVALID {
				t.Fatalf("got %v, want an invalid-input error", err)
			}
			if !hasField(err, tc.field) {
				t.Fatalf("got fields %v, want one about %s", ErrorFields(err), tc.field)
			}
		})
	}
	// Only T cells: valid without NK, with no markers.
	g := validTemplate()
	g.Mapping.NKPct, g.Mapping.Markers = "", map[string]string{}
	if err := g.Validate(); err != nil {
		t.Errorf("a template measuring only t_pct: got %v, want valid", err)
	}
}

func hasField(err error, field string) bool {
	for _, f := range ErrorFields(err) {
		if f.Field == field {
			return true
		}
	}
	return false
}

func TestGateMappingCheckGates(t *testing.T) {
	m := validTemplate().Mapping
	if got, want := m.GateIDs(), []string{"CD16pos", "Lymphocytes", "NK", "NKG2Cpos", "T"}; !cmp.Equal(got, want) {
		t.Errorf("GateIDs() = %v, want %v", got, want)
	}
	doc := map[string]bool{"Lymphocytes": true, "NK": true, "CD16pos": true}
	err := m.CheckGates(func(id string) bool { return doc[id] })
	var fields []string
	for _, f := range ErrorFields(err) {
		fields = append(fields, f.Field)
	}
	if want := []string{"mapping.t_pct", "mapping.markers.NKG2C"}; !cmp.Equal(fields, want) {
		t.Errorf("CheckGates: got fields %v, want %v (%v)", fields, want, err)
	}
	doc["T"], doc["NKG2Cpos"] = true, true
	if err := m.CheckGates(func(id string) bool { return doc[id] }); err != nil {
		t.Errorf("CheckGates with every gate: got %v, want nil", err)
	}
}

// bits turns "0110" into membership values.
func bits(s string) []bool {
	out := make([]bool, len(s))
	for i, c := range s {
		out[i] = c == '1'
	}
	return out
}

func TestGateMappingMeasure(t *testing.T) {
	// Ten events. The denominator holds 8 (events 0-7). NK holds 0-3 and event 9, which is
	// outside the denominator and must not count; T holds 4-6. CD16 holds NK events 0 and 1
	// and event 5 (not NK); NKG2C holds none of the NK events.
	gates := map[string][]bool{
		"Lymphocytes": bits("1111111100"),
		"NK":          bits("1111000001"),
		"T":           bits("0000111000"),
		"CD16pos":     bits("1100010000"),
		"NKG2Cpos":    bits("0000001100"),
	}
	member := func(id string) []bool { return gates[id] }
	got, err := validTemplate().Mapping.Measure(10, member)
	if err != nil {
		t.Fatal(err)
	}
	nk, tc, nkPct, tPct := 4, 3, 50.0, 37.5
	want := FlowMeasures{Events: 10, DenominatorEvents: 8, NKEvents: &nk, TEvents: &tc, NKPct: &nkPct, TPct: &tPct,
		Markers: map[string]float64{"CD16": 50, "NKG2C": 0}, MarkerEvents: map[string]int{"CD16": 2, "NKG2C": 0}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Measure (-want +got):\n%s", d)
	}

	// Without a denominator every event counts: NK 5 of 10.
	m := GateMapping{NKPct: "NK"}
	got, err = m.Measure(10, member)
	if err != nil || got.DenominatorEvents != 10 || *got.NKEvents != 5 || *got.NKPct != 50 || got.TPct != nil {
		t.Errorf("no denominator: got %+v, %v; want 5 of 10 NK events (50 %%) and no t_pct", got, err)
	}

	errs := []struct {
		name, field string
		m           GateMapping
		events      int
	}{
		{"empty denominator", "mapping.denominator", GateMapping{Denominator: "none", NKPct: "NK"}, 10},
		{"no events", "file", GateMapping{NKPct: "NK"}, 0},
		{"markers of no NK", "mapping.nk_pct", GateMapping{Denominator: "T", NKPct: "NK", Markers: map[string]string{"CD16": "CD16pos"}}, 10},
	}
	gates["none"] = bits("0000000000")
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			member := member
			if tc.events == 0 {
				member = func(string) []bool { return nil }
			}
			_, err := tc.m.Measure(tc.events, member)
			if ErrorCode(err) != EINVALID || !hasField(err, tc.field) {
				t.Fatalf("got %v, want invalid input about %s", err, tc.field)
			}
		})
	}
	// A gate whose membership has the wrong length is a fault of ours, not of the input.
	_, err = GateMapping{NKPct: "NK"}.Measure(11, member)
	if ErrorCode(err) != EINTERNAL {
		t.Errorf("membership of the wrong length: got %v, want an internal error", err)
	}
}

func TestCheckMeasures(t *testing.T) {
	// The measures of TestGateMappingMeasure: 10 events, 8 in the denominator, NK 4 (50 %),
	// T 3 (37.5 %), CD16 2 of the NK 4 (50 %), NKG2C 0 (0 %).
	gates := map[string][]bool{
		"Lymphocytes": bits("1111111100"),
		"NK":          bits("1111000001"),
		"T":           bits("0000111000"),
		"CD16pos":     bits("1100010000"),
		"NKG2Cpos":    bits("0000001100"),
	}
	mapping := validTemplate().Mapping
	measure := func() FlowMeasures {
		m, err := mapping.Measure(10, func(id string) []bool { return gates[id] })
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if err := mapping.CheckMeasures(measure()); err != nil {
		t.Fatalf("measures from Measure: got %v, want them consistent", err)
	}
	n := func(v int) *int { return &v }
	f := func(v float64) *float64 { return &v }
	tests := []struct {
		name, field string
		edit        func(*FlowMeasures)
	}{
		{"no events", "measures.events", func(m *FlowMeasures) { m.Events = 0 }},
		{"denominator above events", "measures.denominator_events", func(m *FlowMeasures) { m.DenominatorEvents = 11 }},
		{"empty denominator", "measures.denominator_events", func(m *FlowMeasures) { m.DenominatorEvents = 0 }},
		{"nk_pct not of its counts", "measures.nk_pct", func(m *FlowMeasures) { m.NKPct = f(50.000001) }},
		{"nk events above the denominator", "measures.nk_pct", func(m *FlowMeasures) { m.NKEvents, m.NKPct = n(9), f(112.5) }},
		{"negative t events", "measures.t_pct", func(m *FlowMeasures) { m.TEvents, m.TPct = n(-1), f(-12.5) }},
		{"t_pct without its count", "measures.t_pct", func(m *FlowMeasures) { m.TEvents = nil }},
		{"mapped marker missing", "measures.markers.NKG2C", func(m *FlowMeasures) { delete(m.Markers, "NKG2C") }},
		{"marker count missing", "measures.markers.CD16", func(m *FlowMeasures) { delete(m.MarkerEvents, "CD16") }},
		{"marker not mapped", "measures.markers.CD57", func(m *FlowMeasures) { m.Markers["CD57"], m.MarkerEvents["CD57"] = 25, 1 }},
		{"marker of more than the NK events", "measures.markers.CD16", func(m *FlowMeasures) { m.Markers["CD16"], m.MarkerEvents["CD16"] = 125, 5 }},
		{"markers of no NK event", "measures.nk_pct", func(m *FlowMeasures) { m.NKEvents, m.NKPct = n(0), f(0) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := measure()
			tc.edit(&m)
			err := mapping.CheckMeasures(m)
			if ErrorCode(err) != EINVALID || !hasField(err, tc.field) {
				t.Fatalf("got %v, want invalid input about %s", err, tc.field)
			}
		})
	}
	// Without a denominator gate, every event is the denominator; unmapped measures are absent.
	only := GateMapping{NKPct: "NK"}
	m, err := only.Measure(10, func(id string) []bool { return gates[id] })
	if err != nil {
		t.Fatal(err)
	}
	if err := only.CheckMeasures(m); err != nil {
		t.Errorf("nk_pct alone: got %v, want consistent", err)
	}
	m.DenominatorEvents = 9
	if err := only.CheckMeasures(m); !hasField(err, "measures.denominator_events") {
		t.Errorf("9 of 10 events as the denominator without a denominator gate: got %v, want an error", err)
	}
	nkOnly := GateMapping{Denominator: "Lymphocytes", NKPct: "NK"}
	if err := nkOnly.CheckMeasures(measure()); !hasField(err, "measures.t_pct") || !hasField(err, "measures.markers.CD16") {
		t.Errorf("measures of unmapped gates: got %v, want errors on t_pct and the markers", err)
	}
}

func TestFileError(t *testing.T) {
	err := Invalid("file", "x.fcs: not FCS")
	if got := FileError(err, 1, 2); !hasField(got, "files[1].file") || ErrorCode(got) != EINVALID {
		t.Errorf("FileError(%v, 1, 2) = %v, want field files[1].file", err, got)
	}
	if got := FileError(err, 0, 1); got != err {
		t.Errorf("FileError with one upload = %v, want the error itself", got)
	}
	conflict := Errorf(ECONFLICT, "already attached")
	if got := FileError(conflict, 1, 2); got != conflict {
		t.Errorf("FileError of an error without fields = %v, want the error itself", got)
	}
}

func TestApplyFlow(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	measures := FlowMeasures{NKPct: f(80), TPct: f(5), Markers: map[string]float64{"CD16": 60}}
	tests := []struct {
		name        string
		obs         Observation
		replace     bool
		wantChanged []string
		wantErr     string // ECONFLICT message part
		want        Observation
	}{
		{"empty", Observation{}, false, []string{"nk_pct", "t_pct", "markers.CD16"}, "",
			Observation{NKPct: f(80), TPct: f(5), Markers: map[string]float64{"CD16": 60}}},
		{"same values", Observation{NKPct: f(80), TPct: f(5), Markers: map[string]float64{"CD16": 60}}, false, nil, "",
			Observation{NKPct: f(80), TPct: f(5), Markers: map[string]float64{"CD16": 60}}},
		{"other markers kept", Observation{Markers: map[string]float64{"NKG2C": 30}}, false, []string{"nk_pct", "t_pct", "markers.CD16"}, "",
			Observation{NKPct: f(80), TPct: f(5), Markers: map[string]float64{"CD16": 60, "NKG2C": 30}}},
		{"clash", Observation{ID: 7, NKPct: f(75), Markers: map[string]float64{"CD16": 61}}, false, nil,
			"observation 7 already has a value from another source for nk_pct (75 recorded, 80 from the file), markers.CD16 (61 recorded, 60 from the file)",
			Observation{ID: 7, NKPct: f(75), Markers: map[string]float64{"CD16": 61}}},
		{"replace", Observation{NKPct: f(75), TPct: f(5), Markers: map[string]float64{"CD16": 61}}, true, []string{"nk_pct", "markers.CD16"}, "",
			Observation{NKPct: f(80), TPct: f(5), Markers: map[string]float64{"CD16": 60}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.obs
			changed, err := o.ApplyFlow(measures, tc.replace)
			if tc.wantErr != "" {
				if ErrorCode(err) != ECONFLICT || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want a conflict saying %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if !cmp.Equal(changed, tc.wantChanged) {
				t.Errorf("changed = %v, want %v", changed, tc.wantChanged)
			}
			if d := cmp.Diff(tc.want, o); d != "" {
				t.Errorf("observation (-want +got):\n%s", d)
			}
		})
	}
}

func TestParseTemplateRef(t *testing.T) {
	tests := []struct {
		in   string
		want TemplateRef
		ok   bool
	}{
		{"NK panel", TemplateRef{Name: "NK panel"}, true},
		{" NK panel@3 ", TemplateRef{Name: "NK panel", Version: 3}, true},
		{"NK@1", TemplateRef{Name: "NK", Version: 1}, true},
		{"", TemplateRef{}, false},
		{"NK@0", TemplateRef{}, false},
		{"NK@x", TemplateRef{}, false},
		{"@2", TemplateRef{}, false},
		{"a@b@2", TemplateRef{}, false},
	}
	for _, tc := range tests {
		got, err := ParseTemplateRef(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseTemplateRef(%q) = %+v, %v; want %+v (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && !hasField(err, "template") {
			t.Errorf("ParseTemplateRef(%q): error %v does not name the template field", tc.in, err)
		}
		if err == nil && tc.want.Version > 0 && got.String() != strings.TrimSpace(tc.in) {
			t.Errorf("%+v.String() = %q, want %q", got, got.String(), strings.TrimSpace(tc.in))
		}
	}
}

func TestFCSUploadValidate(t *testing.T) {
	ok := func() *FCSUpload {
		return &FCSUpload{ObservationID: 1, FileName: `C:\cytometer\run 1\tube 3.fcs`, Data: []byte("FCS3.0"), Template: "NK panel"}
	}
	if err := ok().Validate(0); err != nil {
		t.Fatalf("valid upload: %v", err)
	}
	if got := BaseFileName(ok().FileName); got != "tube 3.fcs" {
		t.Errorf("BaseFileName = %q, want %q", got, "tube 3.fcs")
	}
	tests := []struct {
		name, field string
		max         int64
		edit        func(*FCSUpload)
	}{
		{"no observation", "observation_id", 0, func(u *FCSUpload) { u.ObservationID = 0 }},
		{"no name", "file_name", 0, func(u *FCSUpload) { u.FileName = "dir/" }},
		{"control character", "file_name", 0, func(u *FCSUpload) { u.FileName = "a\x00.fcs" }},
		{"empty file", "file", 0, func(u *FCSUpload) { u.Data = nil }},
		{"too large", "file", 5, func(u *FCSUpload) {}},
		{"no template", "template", 0, func(u *FCSUpload) { u.Template = "" }},
		{"bad template version", "template", 0, func(u *FCSUpload) { u.Template = "NK@-1" }},
		{"negative data set", "dataset", 0, func(u *FCSUpload) { u.DataSet = -1 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := ok()
			tc.edit(u)
			if err := u.Validate(tc.max); !hasField(err, tc.field) {
				t.Fatalf("got %v, want an error about %s", err, tc.field)
			}
		})
	}
}

func TestSHA256(t *testing.T) {
	// FIPS 180-2 appendix B.1: SHA-256("abc").
	const abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if got := SHA256Hex([]byte("abc")); got != abc {
		t.Errorf("SHA256Hex(abc) = %s, want %s", got, abc)
	}
	if err := CheckSHA256(abc); err != nil {
		t.Errorf("CheckSHA256(%s): %v", abc, err)
	}
	for _, bad := range []string{"", abc[:63], strings.ToUpper(abc), abc + "0", "../" + abc[3:]} {
		if CheckSHA256(bad) == nil {
			t.Errorf("CheckSHA256(%q) accepted it", bad)
		}
	}
	tmpl := &GatingTemplate{Name: "NK panel", Version: 2}
	if got, want := FCSReason("t.fcs", abc, tmpl), "from FCS t.fcs sha256 "+abc+" template NK panel@2"; got != want {
		t.Errorf("FCSReason = %q, want %q", got, want)
	}
}

// FuzzParseTemplateRef checks that no reference panics and that a parsed reference reads back
// the same from its String form.
func FuzzParseTemplateRef(f *testing.F) {
	for _, s := range []string{"NK panel", "NK panel@2", "@", "a@", "@1", "x@0", "x@-1", "x@1@2", " y @ 3 ", "x@99999999999999999999", "\x00@1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ref, err := ParseTemplateRef(s)
		if err != nil {
			if ErrorCode(err) != EINVALID || !hasField(err, "template") {
				t.Fatalf("ParseTemplateRef(%q): got %v, want invalid input about template", s, err)
			}
			return
		}
		if ref.Name == "" || ref.Version < 0 || strings.Contains(ref.Name, "@") {
			t.Fatalf("ParseTemplateRef(%q) = %+v: empty name, negative version or @ in the name", s, ref)
		}
		back, err := ParseTemplateRef(ref.String())
		if err != nil || back != ref {
			t.Fatalf("ParseTemplateRef(%q) = %+v, whose String %q reads back as %+v, %v", s, ref, ref.String(), back, err)
		}
	})
}
