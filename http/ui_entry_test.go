package http_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/net/html"

	"github.com/clink-consortium/clink"
)

// The data-entry pages of ui_entry.go: new donor, protocol, protocol version, culture and
// cytotoxicity plate. Each form is checked for what it saves when accepted (one record and
// its audit event) and for saving nothing when refused, with the message next to the field
// and what was typed kept.

func init() {
	page := func(path string) func(*matrixEnv) (string, any) {
		return func(*matrixEnv) (string, any) { return path, nil }
	}
	addUIMatrix("donorNewPage", "research", 200, page("/new/donor?site="+ownSite))
	addUIMatrix("addDonor", "research", 303, func(*matrixEnv) (string, any) {
		return "/donors", url.Values{"site": {ownSite}, "sex": {"female"}, "hcmv": {"positive"}, "consent_date": {"2025-01-15"}}
	})
	addUIMatrix("protocolNewPage", "research", 200, page("/new/protocol?site="+ownSite))
	addUIMatrix("addProtocol", "research", 303, func(e *matrixEnv) (string, any) {
		return "/protocols", url.Values{"site": {ownSite}, "name": {fmt.Sprintf("matrix page protocol %d", e.next())},
			"starting_material": {clink.StartCD56SelectedNK}, "vessel": {clink.VesselFlask}, "seeding_density": {"1e6"},
			"duration_days": {"14"}, "components[0].component": {"IL-2"}, "components[0].dose": {"500"}, "components[0].days": {"0, 3"}}
	})
	addUIMatrix("protocolVersionPage", "research", 200, func(e *matrixEnv) (string, any) {
		return fmt.Sprintf("/protocols/%d/versions/new", e.proto.ID), nil
	})
	addUIMatrix("addProtocolVersion", "research", 303, func(e *matrixEnv) (string, any) {
		return fmt.Sprintf("/protocols/%d/versions", e.proto.ID), url.Values{
			"starting_material": {clink.StartCD56SelectedNK}, "vessel": {clink.VesselFlask}, "seeding_density": {"1e6"},
			"duration_days": {"14"}, "components[0].component": {"IL-2"}, "components[0].dose": {"250"}, "components[0].days": {"0"}}
	})
	addUIMatrix("cultureNewPage", "research", 200, page("/new/culture?site="+ownSite))
	addUIMatrix("addCulture", "research", 303, func(e *matrixEnv) (string, any) {
		return "/cultures", url.Values{"site": {ownSite}, "donor": {e.newDonor().Code}, "protocol_id": {strconv.FormatInt(e.proto.ID, 10)},
			"start_date": {"2025-03-01"}, "starting_cells": {"1e6"}, "starting_nk_pct": {"90"}}
	})
	addUIMatrix("assayNewPage", "research", 200, func(e *matrixEnv) (string, any) {
		return fmt.Sprintf("/cultures/%d/assays/new", e.culture.ID), nil
	})
	addUIMatrix("addAssay", "research", 303, func(e *matrixEnv) (string, any) {
		return fmt.Sprintf("/cultures/%d/assays", e.culture.ID), plateForm()
	})
}

// plateForm is a 51Cr plate in the grid: E:T 20, 10 and 5 (rows 0, 1, 2) with three
// replicates, spontaneous and maximum release.
func plateForm() url.Values {
	v := url.Values{"day": {"14"}, "target": {clink.TargetK562}, "method": {clink.MethodCr51},
		"targets_per_well": {"5000"}, "duration_hours": {"4"}}
	rows := []struct {
		et       string
		readings []string
	}{{"20", []string{"1850", "1790", "1920"}}, {"10", []string{"1400", "1460", "1380"}}, {"5", []string{"980", "1010", "1040"}}}
	for i, r := range rows {
		v.Set(fmt.Sprintf("points[%d].et_ratio", i), r.et)
		for j, x := range r.readings {
			v.Set(fmt.Sprintf("points[%d].readings[%d]", i, j), x)
		}
	}
	for j, x := range []string{"350", "340", "360"} {
		v.Set(fmt.Sprintf("spontaneous[%d]", j), x)
	}
	for j, x := range []string{"2500", "2480", "2520"} {
		v.Set(fmt.Sprintf("maximum[%d]", j), x)
	}
	return v
}

// plateAssay is plateForm's assay as the store should hold it (written independently of the
// form reader, from the same numbers).
func plateAssay() clink.Assay {
	return clink.Assay{Day: 14, Target: clink.TargetK562, Method: clink.MethodCr51, TargetsPerWell: 5000, DurationHours: 4,
		Points: []clink.AssayPoint{
			{ETRatio: 20, Readings: []float64{1850, 1790, 1920}},
			{ETRatio: 10, Readings: []float64{1400, 1460, 1380}},
			{ETRatio: 5, Readings: []float64{980, 1010, 1040}},
		},
		Spontaneous: []float64{350, 340, 360}, Maximum: []float64{2500, 2480, 2520}}
}

// entryCounts counts what the forms may write: donors, protocols, cultures, assays (voided
// ones too) and audit events.
func entryCounts(tb testing.TB, store clink.Store) map[string]int {
	tb.Helper()
	ctx := context.Background()
	one := clink.Page{Limit: 1}
	out := map[string]int{}
	var err error
	if _, out["donors"], err = store.FindDonors(ctx, clink.DonorFilter{Page: one}); err != nil {
		tb.Fatal(err)
	}
	if _, out["protocols"], err = store.FindProtocols(ctx, clink.ProtocolFilter{Page: one}); err != nil {
		tb.Fatal(err)
	}
	if _, out["cultures"], err = store.FindCultures(ctx, clink.CultureFilter{Page: one}); err != nil {
		tb.Fatal(err)
	}
	if _, out["assays"], err = store.FindAssays(ctx, clink.AssayFilter{Page: one}); err != nil {
		tb.Fatal(err)
	}
	out["audit"] = auditCount(tb, store)
	return out
}

// checkWrote checks that the counts grew by one in kind and in the audit trail (accepted) or
// not at all (refused).
func checkWrote(t *testing.T, before, after map[string]int, kind string, accepted bool) {
	t.Helper()
	want := map[string]int{}
	for k, v := range before {
		want[k] = v
	}
	if accepted {
		want[kind]++
		want["audit"]++
	}
	if diff := cmp.Diff(want, after); diff != "" {
		t.Errorf("records in the store (-want +got):\n%s", diff)
	}
}

// fieldMessage returns the message next to field in the page, failing when there is none.
// (Field names hold brackets, which the selector engine does not take in attribute values,
// so the attributes are compared here.)
func fieldMessage(t *testing.T, doc *html.Node, field string) string {
	t.Helper()
	var all []string
	for _, e := range queryAll(doc, ".error") {
		f, _ := attr(e, "data-field")
		if f == field {
			return textOf(e)
		}
		all = append(all, f+": "+textOf(e))
	}
	t.Fatalf("no message next to %s; the page's messages: %q", field, all)
	return ""
}

// named returns the form controls named name.
func named(doc *html.Node, name string) []*html.Node {
	var out []*html.Node
	for _, tag := range []string{"input", "select", "textarea"} {
		for _, n := range queryAll(doc, tag) {
			if v, _ := attr(n, "name"); v == name {
				out = append(out, n)
			}
		}
	}
	return out
}

// inputValue returns the value an input (or the selected option of a select, or a textarea)
// named name shows.
func inputValue(t *testing.T, doc *html.Node, name string) string {
	t.Helper()
	for _, n := range named(doc, name) {
		switch n.Data {
		case "input":
			v, _ := attr(n, "value")
			return v
		case "textarea":
			return textOf(n)
		case "select":
			if o := query(n, "option[selected]"); o != nil {
				v, _ := attr(o, "value")
				return v
			}
			if o := query(n, "option"); o != nil {
				v, _ := attr(o, "value")
				return v
			}
			return ""
		}
	}
	t.Fatalf("no input named %s", name)
	return ""
}

// entryCase is one submission of a form: the changes to a good form, and the expectation.
type entryCase struct {
	name   string
	user   string // "" is the form's own researcher
	change map[string]string
	status int
	field  string // the field whose message is expected, for 422
	msg    string // a part of that message
}

// runEntryCases posts good with each case's changes to path and checks status, message,
// kept values and what the store holds afterwards.
func runEntryCases(t *testing.T, e *uiEnv, path, owner, kind string, good url.Values, cases []entryCase) {
	t.Helper()
	cookies := map[string]*http.Cookie{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			user := tc.user
			if user == "" {
				user = owner
			}
			if cookies[user] == nil {
				cookies[user] = e.signIn(t, user)
			}
			v := url.Values{}
			for k, x := range good {
				v[k] = append([]string(nil), x...)
			}
			for k, x := range tc.change {
				if x == "\x00" {
					v.Del(k)
				} else {
					v.Set(k, x)
				}
			}
			before := entryCounts(t, e.store)
			resp, body := e.do(t, "POST", path, v, cookies[user])
			checkWrote(t, before, entryCounts(t, e.store), kind, tc.status == http.StatusSeeOther)
			if resp.StatusCode != tc.status {
				t.Fatalf("got status %d, want %d (body %.3000s)", resp.StatusCode, tc.status, body)
			}
			if tc.status != http.StatusUnprocessableEntity {
				return
			}
			doc := parseHTML(t, body)
			checkPage(t, doc, "")
			if msg := fieldMessage(t, doc, tc.field); !strings.Contains(msg, tc.msg) {
				t.Errorf("got the message %q next to %s, want it to contain %q", msg, tc.field, tc.msg)
			}
			for k := range tc.change {
				if strings.HasPrefix(k, "kir_genes") || k == "site" || tc.change[k] == "\x00" {
					continue
				}
				// Text is compared up to its spacing (textOf joins a textarea's lines).
				if got := inputValue(t, doc, k); strings.Join(strings.Fields(got), " ") != strings.Join(strings.Fields(tc.change[k]), " ") {
					t.Errorf("after the refusal the input %s shows %q, want %q as typed", k, got, tc.change[k])
				}
			}
		})
	}
}

// TestEntryPagesWellFormed checks each form as its researcher: one h1, labels on every
// input, unique ids, no inline script, the right section; and that the pages they come from
// link to them.
func TestEntryPagesWellFormed(t *testing.T) {
	e := newUIEnv(t)
	c, owner := entryCulture(t, e)
	ps, _, err := e.store.FindProtocols(context.Background(), clink.ProtocolFilter{Site: c.Site, Page: clink.Page{Limit: 1}})
	if err != nil || len(ps) == 0 {
		t.Fatalf("no %s protocol in the demo data (err %v)", c.Site, err)
	}
	cookie := e.signIn(t, owner)
	other, otherSite := "researcher-bcn", "BCN"
	if c.Site == "BCN" {
		other, otherSite = "researcher-zgz", "ZGZ"
	}
	for _, tc := range []struct{ path, nav, form string }{
		{"/new/donor", "/donors", "#donor-form"},
		{"/new/protocol", "/protocols", "#protocol-form"},
		{fmt.Sprintf("/protocols/%d/versions/new", ps[0].ID), "/protocols", "#protocol-form"},
		{"/new/culture", "/cultures", "#culture-form"},
		{fmt.Sprintf("/cultures/%d/assays/new", c.ID), "/cultures", "#assay-form"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			doc := e.page(t, tc.path, cookie, 200)
			checkPage(t, doc, tc.nav)
			mustQuery(t, doc, tc.form)
		})
	}
	for _, tc := range []struct{ path, link string }{
		{"/donors", `a[href="/new/donor"]`},
		{"/protocols", `a[href="/new/protocol"]`},
		{fmt.Sprintf("/protocols/%d", ps[0].ID), fmt.Sprintf(`a[href="/protocols/%d/versions/new"]`, ps[0].ID)},
		{"/cultures", `a[href="/new/culture"]`},
		{fmt.Sprintf("/cultures/%d", c.ID), fmt.Sprintf(`a[href="/cultures/%d/assays/new"]`, c.ID)},
	} {
		t.Run("link "+tc.path, func(t *testing.T) {
			mustQuery(t, e.page(t, tc.path, cookie, 200), tc.link)
		})
	}
	// A viewer sees no link to a form, and is refused the forms.
	viewer := e.signIn(t, "viewer")
	if n := query(e.page(t, "/donors", viewer, 200), `a[href="/new/donor"]`); n != nil {
		t.Errorf("a viewer sees the link to a new donor")
	}
	if n := query(e.page(t, fmt.Sprintf("/cultures/%d", c.ID), e.signIn(t, other), 200), `#new-assay`); n != nil {
		t.Errorf("%s sees the link to a new plate of a %s culture", other, c.Site)
	}
	for _, path := range []string{"/new/donor", "/new/culture", fmt.Sprintf("/cultures/%d/assays/new", c.ID)} {
		e.page(t, path, viewer, 403)
	}
	// A researcher asking for another site's form is refused.
	e.page(t, "/new/donor?site="+otherSite, cookie, 403)
}

// TestNewDonor creates donors through the form: the code is generated, the KIR haplotype
// derived from the genes; refusals save nothing.
func TestNewDonor(t *testing.T) {
	e := newUIEnv(t)
	good := url.Values{"site": {"ZGZ"}, "sex": {"female"}, "age_band": {"30-34"}, "hcmv": {"positive"}, "nkg2c": {"+/del"},
		"kir_genes": {"KIR2DL1", "KIR2DS2", "KIR3DL1"}, "hla_c_group": {"C1/C2"}, "consent_date": {"2026-10-02"}, "notes": {"from the demo"}}

	cookie := e.signIn(t, "researcher-zgz")
	before := entryCounts(t, e.store)
	resp, body := e.do(t, "POST", "/donors", good, cookie)
	checkWrote(t, before, entryCounts(t, e.store), "donors", true)
	if resp.StatusCode != 303 {
		t.Fatalf("got status %d, want 303 (body %.2000s)", resp.StatusCode, body)
	}
	loc := resp.Header.Get("Location")
	id, err := strconv.ParseInt(strings.TrimPrefix(loc, "/donors/"), 10, 64)
	if err != nil {
		t.Fatalf("redirected to %q, want /donors/ID", loc)
	}
	d, err := e.store.FindDonorByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if err := clink.CheckDonorCode(d.Code); err != nil {
		t.Errorf("the new donor's code: %v", err)
	}
	want := clink.Donor{Site: "ZGZ", Sex: "female", AgeBand: "30-34", HCMV: "positive", NKG2C: "+/del",
		KIRHaplotype: clink.KIRBx, // KIR2DS2 is a B-haplotype gene
		KIRGenes:     []string{"KIR2DL1", "KIR2DS2", "KIR3DL1"}, HLACGroup: "C1/C2", ConsentDate: "2026-10-02", Notes: "from the demo"}
	if diff := cmp.Diff(want, *d, cmpopts.IgnoreFields(clink.Donor{}, "ID", "Code", "Meta")); diff != "" {
		t.Errorf("the stored donor (-want +got):\n%s", diff)
	}
	if d.CreatedBy != "researcher-zgz" {
		t.Errorf("created by %q, want researcher-zgz", d.CreatedBy)
	}
	e.page(t, loc, cookie, 200)

	runEntryCases(t, e, "/donors", "researcher-zgz", "donors", good, []entryCase{
		{"bad consent date", "", map[string]string{"consent_date": "2026-13-01", "sex": "male"}, 422, "consent_date", "not a date"},
		{"no consent date", "", map[string]string{"consent_date": "", "age_band": "40-44"}, 422, "consent_date", "is required"},
		{"haplotype against the genes", "", map[string]string{"kir_haplotype": "A/A"}, 422, "kir_haplotype", "contradicts"},
		{"not a KIR gene", "", map[string]string{"kir_genes": "KIR9XY9"}, 422, "kir_genes", "not a KIR gene"},
		{"bad age band", "", map[string]string{"age_band": "31-35"}, 422, "age_band", "five-year"},
		{"another site's researcher", "researcher-bcn", nil, 403, "", ""},
		{"into another site", "", map[string]string{"site": "BCN"}, 403, "", ""},
		{"viewer", "viewer", nil, 403, "", ""},
		{"accepted again", "", nil, 303, "", ""},
	})
}

// TestNewProtocol creates a protocol with components in rows 1 and 3 of the form (row 2 left
// empty), and checks that the store's messages about the second component appear in row 3.
func TestNewProtocol(t *testing.T) {
	e := newUIEnv(t)
	good := url.Values{"site": {"ZGZ"}, "name": {"Page-entered IL-2/IL-15"}, "starting_material": {clink.StartPBMC},
		"vessel": {clink.VesselGRex}, "seeding_density": {"1e6"}, "duration_days": {"21"}, "description": {"entered on the page"},
		"components[0].component": {"IL-2"}, "components[0].dose": {"500"}, "components[0].days": {"0, 7, 3"},
		"components[2].component": {"IL-15"}, "components[2].dose": {"10"}, "components[2].days": {"0 7"}}
	cookie := e.signIn(t, "researcher-zgz")
	before := entryCounts(t, e.store)
	resp, body := e.do(t, "POST", "/protocols", good, cookie)
	checkWrote(t, before, entryCounts(t, e.store), "protocols", true)
	if resp.StatusCode != 303 {
		t.Fatalf("got status %d, want 303 (body %.3000s)", resp.StatusCode, body)
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(resp.Header.Get("Location"), "/protocols/"), 10, 64)
	if err != nil {
		t.Fatalf("redirected to %q, want /protocols/ID", resp.Header.Get("Location"))
	}
	p, err := e.store.FindProtocolByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if p.Version != 1 || p.Site != "ZGZ" || p.Name != "Page-entered IL-2/IL-15" {
		t.Errorf("got %s at %s, want Page-entered IL-2/IL-15 v1 at ZGZ", p.Key(), p.Site)
	}
	wantComps := []clink.ProtocolComponent{
		{Component: "IL-2", Category: clink.CategoryCytokine, Dose: 500, Unit: clink.UnitIUPerML, Days: []int{0, 3, 7}},
		{Component: "IL-15", Category: clink.CategoryCytokine, Dose: 10, Unit: clink.UnitNgPerML, Days: []int{0, 7}},
	}
	if diff := cmp.Diff(wantComps, p.Components); diff != "" {
		t.Errorf("the stored components (-want +got):\n%s", diff)
	}

	runEntryCases(t, e, "/protocols", "researcher-zgz", "protocols", good, []entryCase{
		// The second component is in row 3 (components[2]); the store calls it components[1].
		{"dose of row 3", "", map[string]string{"name": "P2", "components[2].dose": "-5"}, 422, "components[2].dose", "not a positive dose"},
		{"day of row 3 beyond the culture", "", map[string]string{"name": "P3", "components[2].days": "0, 30"}, 422, "components[2].days", "outside the culture"},
		{"unit of row 1", "", map[string]string{"name": "P4", "components[0].unit": "ng/mL"}, 422, "components[0].unit", "IL-2"},
		{"not in the catalogue", "", map[string]string{"name": "P5", "components[2].component": "IL-99"}, 422, "components[2].component", "not in the component catalogue"},
		{"dose not a number", "", map[string]string{"name": "P6", "components[0].dose": "lots"}, 422, "components[0].dose", `"lots" is not a number`},
		{"feeder ratio without feeder", "", map[string]string{"name": "P7", "feeder_ratio": "10", "feeder_ratio_basis": clink.BasisFeederNK}, 422, "feeder_ratio", "no feeder component"},
		{"restimulation without feeder", "", map[string]string{"name": "P8", "restimulation_days": "7, 14"}, 422, "restimulation_days", "needs a feeder"},
		{"no name", "", map[string]string{"name": ""}, 422, "name", "is required"},
		{"duration", "", map[string]string{"name": "P9", "duration_days": "0"}, 422, "duration_days", "outside 1..120"},
		{"another site's researcher", "researcher-bcn", map[string]string{"name": "P10", "site": "BCN"}, 303, "", ""},
		{"a ZGZ protocol's next version by BCN", "researcher-bcn", map[string]string{"site": "BCN"}, 403, "", ""},
		{"into another site", "", map[string]string{"name": "P11", "site": "BCN"}, 403, "", ""},
		{"viewer", "viewer", map[string]string{"name": "P12"}, 403, "", ""},
	})
}

// TestNewProtocolVersion fills the form of the next version from the protocol's page
// version, and saves the next version number under the same name and site.
func TestNewProtocolVersion(t *testing.T) {
	e := newUIEnv(t)
	ctx := context.Background()
	ps, _, err := e.store.FindProtocols(ctx, clink.ProtocolFilter{Site: "ZGZ", Page: clink.Page{Limit: clink.MaxLimit}})
	if err != nil || len(ps) == 0 {
		t.Fatalf("no ZGZ protocol in the demo data (err %v)", err)
	}
	base := ps[0]
	cookie := e.signIn(t, "researcher-zgz")
	doc := e.page(t, fmt.Sprintf("/protocols/%d/versions/new", base.ID), cookie, 200)
	for name, want := range map[string]string{
		"starting_material":       base.StartingMaterial,
		"vessel":                  base.Vessel,
		"duration_days":           strconv.Itoa(base.DurationDays),
		"seeding_density":         strconv.FormatFloat(base.SeedingDensity, 'g', -1, 64),
		"components[0].component": base.Components[0].Component,
		"components[0].dose":      strconv.FormatFloat(base.Components[0].Dose, 'g', -1, 64),
	} {
		if got := inputValue(t, doc, name); got != want {
			t.Errorf("the form of the next version shows %s = %q, want %q (v%d's)", name, got, want, base.Version)
		}
	}
	if n := named(doc, "name"); len(n) > 0 {
		t.Errorf("the form of a new version lets the name change")
	}
	// Post the form as it was filled in, with one dose changed.
	v := url.Values{}
	for _, n := range queryAll(doc, "#protocol-form") {
		for _, tag := range []string{"input", "select", "textarea"} {
			for _, c := range queryAll(n, tag) {
				name, _ := attr(c, "name")
				v.Set(name, inputValue(t, doc, name))
			}
		}
	}
	v.Set("components[0].dose", "123")
	latest := 0
	same, _, err := e.store.FindProtocols(ctx, clink.ProtocolFilter{Name: base.Name, Page: clink.Page{Limit: clink.MaxLimit}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range same {
		latest = max(latest, p.Version)
	}
	path := fmt.Sprintf("/protocols/%d/versions", base.ID)
	before := entryCounts(t, e.store)
	resp, body := e.do(t, "POST", path, v, cookie)
	checkWrote(t, before, entryCounts(t, e.store), "protocols", true)
	if resp.StatusCode != 303 {
		t.Fatalf("got status %d, want 303 (body %.3000s)", resp.StatusCode, body)
	}
	id, _ := strconv.ParseInt(strings.TrimPrefix(resp.Header.Get("Location"), "/protocols/"), 10, 64)
	p, err := e.store.FindProtocolByID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != base.Name || p.Version != latest+1 || p.Site != base.Site {
		t.Errorf("got %s at %s, want %s v%d at %s", p.Key(), p.Site, base.Name, latest+1, base.Site)
	}
	diff := clink.DiffProtocols(base, p)
	if len(diff.Changes) != 1 || diff.Changes[0].Field != "components."+base.Components[0].Component+".dose" {
		t.Errorf("got the changes %+v from v%d, want only the dose of %s", diff.Changes, base.Version, base.Components[0].Component)
	}
	runEntryCases(t, e, path, "researcher-zgz", "protocols", v, []entryCase{
		{"seeding density", "", map[string]string{"seeding_density": "0"}, 422, "seeding_density", "not a density"},
		{"another site's researcher", "researcher-bcn", nil, 403, "", ""},
	})
	e.page(t, fmt.Sprintf("/protocols/%d/versions/new", base.ID), e.signIn(t, "researcher-bcn"), 403)
}

// TestNewCulture creates a culture of a ZGZ donor; refusals (a starting NK % of 140, a donor
// of another site, no protocol) save nothing.
func TestNewCulture(t *testing.T) {
	e := newUIEnv(t)
	ctx := context.Background()
	donors, _, err := e.store.FindDonors(ctx, clink.DonorFilter{Site: "ZGZ", Page: clink.Page{Limit: 1}})
	if err != nil || len(donors) == 0 {
		t.Fatalf("no ZGZ donor in the demo data (err %v)", err)
	}
	other, _, err := e.store.FindDonors(ctx, clink.DonorFilter{Site: "BCN", Page: clink.Page{Limit: 1}})
	if err != nil || len(other) == 0 {
		t.Fatalf("no BCN donor in the demo data (err %v)", err)
	}
	ps, _, err := e.store.FindProtocols(ctx, clink.ProtocolFilter{Page: clink.Page{Limit: 1}})
	if err != nil || len(ps) == 0 {
		t.Fatalf("no protocol in the demo data (err %v)", err)
	}
	good := url.Values{"site": {"ZGZ"}, "donor": {donors[0].Code}, "protocol_id": {strconv.FormatInt(ps[0].ID, 10)},
		"start_date": {"2026-11-20"}, "starting_cells": {"2.5e7"}, "starting_nk_pct": {"8,5"}}
	cookie := e.signIn(t, "researcher-zgz")
	before := entryCounts(t, e.store)
	resp, body := e.do(t, "POST", "/cultures", good, cookie)
	checkWrote(t, before, entryCounts(t, e.store), "cultures", true)
	if resp.StatusCode != 303 {
		t.Fatalf("got status %d, want 303 (body %.3000s)", resp.StatusCode, body)
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(resp.Header.Get("Location"), "/cultures/"), 10, 64)
	if err != nil {
		t.Fatalf("redirected to %q, want /cultures/ID", resp.Header.Get("Location"))
	}
	c, err := e.store.FindCultureByID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if c.Site != "ZGZ" || c.DonorID != donors[0].ID || c.ProtocolID != ps[0].ID || c.StartDate != "2026-11-20" ||
		c.StartingCells != 2.5e7 || c.StartingNKPct != 8.5 || c.Status != clink.StatusRunning || !strings.HasPrefix(c.Code, "ZGZ-C") {
		t.Errorf("got the culture %+v, want ZGZ-C…, donor %d, protocol %d, 2026-11-20, 2.5e7 cells, 8.5 %% NK, running", c, donors[0].ID, ps[0].ID)
	}
	doc := e.page(t, resp.Header.Get("Location"), cookie, 200)
	if h := textOf(mustQuery(t, doc, "h1")); !strings.Contains(h, c.Code) {
		t.Errorf("the culture's page is headed %q, want its code %s", h, c.Code)
	}

	runEntryCases(t, e, "/cultures", "researcher-zgz", "cultures", good, []entryCase{
		{"starting NK of 140", "", map[string]string{"starting_nk_pct": "140", "starting_cells": "3e7"}, 422, "starting_nk_pct", "outside (0, 100]"},
		{"no cells", "", map[string]string{"starting_cells": ""}, 422, "starting_cells", "not a cell number"},
		{"cells not a number", "", map[string]string{"starting_cells": "many"}, 422, "starting_cells", `"many" is not a number`},
		{"donor of another site", "", map[string]string{"donor": other[0].Code}, 422, "donor", "belongs to BCN"},
		{"no donor", "", map[string]string{"donor": ""}, 422, "donor", "is required"},
		{"no protocol", "", map[string]string{"protocol_id": ""}, 422, "protocol_id", "is required"},
		{"no such protocol", "", map[string]string{"protocol_id": "99999"}, 422, "protocol_id", "does not exist"},
		{"bad date", "", map[string]string{"start_date": "20/11/2026"}, 422, "start_date", "not a date"},
		{"another site's researcher", "researcher-bcn", nil, 403, "", ""},
		{"viewer", "viewer", nil, 403, "", ""},
	})
}

// entryCulture returns a running culture of the demo data and its site's researcher.
func entryCulture(tb testing.TB, e *uiEnv) (*clink.Culture, string) {
	tb.Helper()
	c := e.cultureOf(tb, "", clink.StatusRunning, 1)
	return c, "researcher-" + strings.ToLower(c.Site)
}

// storedAssay reads the assay a 303 to /cultures/ID#assay-AID points at.
func storedAssay(t *testing.T, e *uiEnv, loc string) *clink.Assay {
	t.Helper()
	_, frag, ok := strings.Cut(loc, "#assay-")
	id, err := strconv.ParseInt(frag, 10, 64)
	if !ok || err != nil {
		t.Fatalf("redirected to %q, want /cultures/ID#assay-ID", loc)
	}
	a, err := e.store.FindAssayByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

var assayCmp = cmpopts.IgnoreFields(clink.Assay{}, "ID", "CultureID", "Culture", "Site", "Meta")

// TestNewAssay records a plate from the grid and the same plate pasted from a reader's
// export (tab-separated with a header line, and comma-separated with E:T written 20:1),
// which must store the same assay; the culture page then shows it with its fit and LU30.
func TestNewAssay(t *testing.T) {
	e := newUIEnv(t)
	c, owner := entryCulture(t, e)
	other := "researcher-bcn"
	if c.Site == "BCN" {
		other = "researcher-zgz"
	}
	path := fmt.Sprintf("/cultures/%d/assays", c.ID)
	cookie := e.signIn(t, owner)
	want := plateAssay()

	post := func(t *testing.T, v url.Values) *clink.Assay {
		t.Helper()
		before := entryCounts(t, e.store)
		resp, body := e.do(t, "POST", path, v, cookie)
		checkWrote(t, before, entryCounts(t, e.store), "assays", true)
		if resp.StatusCode != 303 {
			t.Fatalf("got status %d, want 303 (body %.3000s)", resp.StatusCode, body)
		}
		return storedAssay(t, e, resp.Header.Get("Location"))
	}
	grid := post(t, plateForm())
	if diff := cmp.Diff(want, *grid, assayCmp); diff != "" {
		t.Errorf("the assay from the grid (-want +got):\n%s", diff)
	}
	doc := e.page(t, fmt.Sprintf("/cultures/%d", c.ID), cookie, 200)
	panel := mustQuery(t, doc, fmt.Sprintf("#assay-%d", grid.ID))
	if txt := textOf(panel); !strings.Contains(txt, "LU30") || !strings.Contains(txt, "Fit") {
		t.Errorf("the culture page's panel of the new assay says %q, want its fit and LU30", txt)
	}

	pastes := map[string]string{
		"tabs with a header":                          "E:T\tRep 1\tRep 2\tRep 3\n20\t1850\t1790\t1920\n10\t1400\t1460\t1380\n5\t980\t1010\t1040\nSpontaneous\t350\t340\t360\nMaximum\t2500\t2480\t2520\n",
		"commas, 20:1, CRLF":                          "20:1,1850,1790,1920\r\n10:1,1400,1460,1380\r\n5:1,980,1010,1040\r\nspont,350,340,360\r\nmax,2500,2480,2520\r\n",
		"semicolons, blank lines and a split control": "20;1850;1790;1920\n\n10;1400;1460;1380\n5;980;1010;1040\nspontaneous;350;340\nspontaneous;360\nmaximum;2500;2480;2520;\n",
	}
	for name, text := range pastes {
		t.Run(name, func(t *testing.T) {
			v := plateForm()
			for k := range v {
				if strings.HasPrefix(k, "points") || strings.HasPrefix(k, "spontaneous") || strings.HasPrefix(k, "maximum") {
					v.Del(k)
				}
			}
			v.Set("plate", text)
			got := post(t, v)
			if diff := cmp.Diff(*grid, *got, assayCmp); diff != "" {
				t.Errorf("the pasted plate's assay differs from the grid's (-grid +paste):\n%s", diff)
			}
		})
	}

	// A plate whose spontaneous release is 28 % of the maximum: the culture page lists the QC
	// warning (domain.md §6.3: above 20 %) with the assay.
	t.Run("QC warning shown", func(t *testing.T) {
		v := plateForm()
		for k := range v {
			if strings.HasPrefix(k, "points") || strings.HasPrefix(k, "spontaneous") || strings.HasPrefix(k, "maximum") {
				v.Del(k)
			}
		}
		v.Set("plate", "20\t1850\t1790\t1920\n10\t1400\t1460\t1380\n5\t980\t1010\t1040\nspontaneous\t700\t700\t700\nmaximum\t2500\t2500\t2500\n")
		high := post(t, v)
		doc := e.page(t, fmt.Sprintf("/cultures/%d", c.ID), cookie, 200)
		items := queryAll(doc, fmt.Sprintf("#assay-%d ul.qc li.qc-warning", high.ID))
		if len(items) != 1 || !strings.Contains(textOf(items[0]), "28") {
			var texts []string
			for _, it := range items {
				texts = append(texts, textOf(it))
			}
			t.Errorf("QC items of a plate with 28 %% spontaneous release: got %q, want one warning naming 28 %%", texts)
		}
		if got := len(queryAll(doc, fmt.Sprintf("#assay-%d ul.qc li", grid.ID))); got != 0 {
			t.Errorf("the clean plate shows %d QC items, want none", got)
		}
	})

	// The grid with row 2 empty: the store's points[1] is the form's row 3.
	gap := plateForm()
	for _, k := range []string{"points[1].et_ratio", "points[1].readings[0]", "points[1].readings[1]", "points[1].readings[2]"} {
		gap.Del(k)
	}
	runEntryCases(t, e, path, owner, "assays", gap, []entryCase{
		{"negative reading in row 3", "", map[string]string{"points[2].readings[1]": "-4"}, 422, "points[2].readings[1]", "-4 is negative"},
		{"E:T of row 3 repeated", "", map[string]string{"points[2].et_ratio": "20:1"}, 422, "points[2].et_ratio", "listed twice"},
		{"reading not a number", "", map[string]string{"points[0].readings[2]": "n/a"}, 422, "points[0].readings[2]", `"n/a" is not a number`},
		{"readings without E:T", "", map[string]string{"points[3].readings[0]": "100"}, 422, "points[3].et_ratio", "is required"},
		{"E:T without readings", "", map[string]string{"points[3].et_ratio": "2.5"}, 422, "points[3].readings", "got 0"},
		{"release without maximum", "", map[string]string{"maximum[0]": "\x00", "maximum[1]": "\x00", "maximum[2]": "\x00"}, 422, "maximum", "maximum-release"},
		{"flow reading above 100", "", map[string]string{"method": clink.MethodFlow, "maximum[0]": "\x00", "maximum[1]": "\x00", "maximum[2]": "\x00"}, 422, "points[0].readings[0]", "above 100"},
		{"custom target without a name", "", map[string]string{"target": clink.TargetCustom}, 422, "target_name", "is required"},
		{"day", "", map[string]string{"day": "-1"}, 422, "day", "outside the culture"},
		{"pasted line that is no E:T", "", map[string]string{"plate": "20\t1850\nfoo\t12\n"}, 422, "plate", "line 2"},
		{"another site's researcher", other, nil, 403, "", ""},
		{"viewer", "viewer", nil, 403, "", ""},
		{"accepted", "", nil, 303, "", ""},
	})
}

// FuzzPlatePaste posts arbitrary pasted plates: the page must answer 303 or 422, never fail.
func FuzzPlatePaste(f *testing.F) {
	for _, s := range []string{
		"20\t1850\t1790\nspontaneous\t350\nmaximum\t2500\n",
		"E:T,A,B\n20:1,1,2\nspont,1\nmax,3\n",
		"foo\nbar\n",
		"spontaneous\n",
		"1e309\t1\nspontaneous\tNaN\nmaximum\t-Inf\n",
		strings.Repeat("1\t1\n", 60),
		"\"20\";\"1,5\"\nspont;0,5\nmax;9\n",
	} {
		f.Add(s)
	}
	e := newUIEnv(f)
	c, owner := entryCulture(f, e)
	cookie := e.signIn(f, owner)
	path := fmt.Sprintf("/cultures/%d/assays", c.ID)
	f.Fuzz(func(t *testing.T, plate string) {
		v := url.Values{"day": {"14"}, "target": {clink.TargetK562}, "method": {clink.MethodCr51}, "plate": {plate}}
		resp, body := e.do(t, "POST", path, v, cookie)
		if resp.StatusCode != 303 && resp.StatusCode != 422 {
			t.Fatalf("got status %d for the plate %q, want 303 or 422 (body %.1000s)", resp.StatusCode, plate, body)
		}
	})
}
