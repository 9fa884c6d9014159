package http_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/client"
)

func ptr[T any](v T) *T { return &v }

// wantProblem checks that err is a problem answer with the given status and, when field is not
// empty, a field error about field.
func wantProblem(tb testing.TB, err error, status int, field string) *client.Error {
	tb.Helper()
	var e *client.Error
	if !errors.As(err, &e) {
		tb.Fatalf("got error %v, want a problem answer with status %d", err, status)
	}
	if e.Status != status {
		tb.Fatalf("got status %d (%v), want %d", e.Status, e, status)
	}
	if e.RequestID == "" {
		tb.Errorf("problem %v has no request_id", e)
	}
	if field != "" {
		if _, ok := e.Field(field); !ok {
			tb.Fatalf("got field errors %v, want one about %q", e.Errors, field)
		}
	}
	return e
}

// must returns a function that fails the test when err is not nil and returns v otherwise,
// so that a client call reads must(c.GetSite(ctx, "ZGZ"))(t).
func must[T any](v T, err error) func(testing.TB) T {
	return func(tb testing.TB) T {
		tb.Helper()
		if err != nil {
			tb.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

// wantCreated checks that the latest POST to prefix answered 201 with a Location.
func wantCreated(tb testing.TB, srv *specServer, prefix, location string) {
	tb.Helper()
	e := srv.last("POST", prefix)
	if e.Status != http.StatusCreated {
		tb.Errorf("POST %s: got status %d, want 201", e.Path, e.Status)
	}
	if got := e.Header.Get("Location"); got != location {
		tb.Errorf("POST %s: got Location %q, want %q", e.Path, got, location)
	}
}

// fixture is a small consortium: two sites, a catalogue, a donor at each site, a protocol and
// a culture. Its client c is a user with the admin and researcher roles at ZGZ, so that it may
// create sites and write ZGZ's research data; bcn is a researcher of BCN.
type fixture struct {
	srv      *specServer
	c        *client.Client
	bcn      *client.Client
	ctx      context.Context
	donor    *clink.Donor // at ZGZ
	other    *clink.Donor // at BCN
	protocol *clink.Protocol
	culture  *clink.Culture
}

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	srv := newSpecServer(tb)
	f := &fixture{srv: srv, ctx: context.Background()}
	admin := srv.clientAs(tb, "admin", "", clink.RoleAdmin)
	for _, s := range []clink.Site{
		{Code: "ZGZ", Name: "Universidad de Zaragoza", Kind: clink.SiteLab},
		{Code: "BCN", Name: "Hospital Clínic Barcelona", Kind: clink.SiteHospital},
	} {
		must(admin.CreateSite(f.ctx, &s))(tb)
	}
	srv.Token = srv.token(tb, "tester", "ZGZ", clink.RoleAdmin, clink.RoleResearcher)
	f.c = client.New(srv.URL, client.WithToken(srv.Token))
	f.bcn = srv.clientAs(tb, "luis", "BCN", clink.RoleResearcher)
	for _, comp := range []clink.Component{
		{Site: "ZGZ", Name: "IL-2", Category: clink.CategoryCytokine, Unit: clink.UnitIUPerML},
		{Site: "ZGZ", Name: "IL-15", Category: clink.CategoryCytokine, Unit: clink.UnitNgPerML},
		{Site: "ZGZ", Name: "K562-mbIL15-41BBL", Category: clink.CategoryFeeder, Unit: clink.UnitGray},
	} {
		must(f.c.CreateComponent(f.ctx, &comp))(tb)
	}
	f.donor = must(f.c.CreateDonor(f.ctx, &clink.Donor{Site: "ZGZ", Sex: clink.SexFemale, AgeBand: "30-34",
		HCMV: clink.HCMVPositive, NKG2C: clink.NKG2CPlusPlus, KIRGenes: []string{"2DL1", "2DS2"}, ConsentDate: "2025-01-15"}))(tb)
	f.other = must(f.bcn.CreateDonor(f.ctx, &clink.Donor{Site: "BCN", HCMV: clink.HCMVNegative, ConsentDate: "2025-02-01"}))(tb)
	f.protocol = must(f.c.CreateProtocol(f.ctx, protocolIL2("ZGZ", "IL-2 high dose")))(tb)
	f.culture = must(f.c.CreateCulture(f.ctx, &clink.Culture{Site: "ZGZ", Donor: f.donor.Code, ProtocolID: f.protocol.ID,
		StartDate: "2025-03-01", StartingCells: 1e6, StartingNKPct: 100}))(tb)
	return f
}

func protocolIL2(site, name string) *clink.Protocol {
	return &clink.Protocol{Site: site, Name: name, StartingMaterial: clink.StartCD56SelectedNK,
		Components: []clink.ProtocolComponent{{Component: "IL-2", Dose: 500, Unit: "IU/mL", Days: []int{0, 3, 7}}},
		Vessel:     clink.VesselGRex, SeedingDensity: 1e6, DurationDays: 21}
}

func TestHealth(t *testing.T) {
	srv := newSpecServer(t)
	h, err := client.New(srv.URL).Health(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if h.Status != "ok" || h.Version != clink.Version {
		t.Errorf("got %+v, want status ok and version %s", h, clink.Version)
	}
}

func TestSites(t *testing.T) {
	f := newFixture(t)
	wantCreated(t, f.srv, "/api/v1/sites", "/api/v1/sites/BCN")
	got := must(f.c.GetSite(f.ctx, "ZGZ"))(t)
	if got.Code != "ZGZ" || got.Site != "ZGZ" || got.ID == 0 || got.Kind != clink.SiteLab {
		t.Errorf("got %+v, want site ZGZ with its id and site", got)
	}
	list := must(f.c.ListSites(f.ctx))(t)
	if list.Total != 2 || len(list.Items) != 2 {
		t.Errorf("got %d sites (total %d), want 2", len(list.Items), list.Total)
	}
	_, err := f.c.GetSite(f.ctx, "MAD")
	wantProblem(t, err, 404, "")
	_, err = f.c.CreateSite(f.ctx, &clink.Site{Code: "zgz", Name: "x", Kind: clink.SiteLab})
	wantProblem(t, err, 422, "code")
	_, err = f.c.CreateSite(f.ctx, &clink.Site{Code: "ZGZ", Name: "again", Kind: clink.SiteLab})
	wantProblem(t, err, 409, "")
}

func TestDonors(t *testing.T) {
	f := newFixture(t)
	wantCreated(t, f.srv, "/api/v1/donors", "/api/v1/donors/"+itoa(f.other.ID))
	if err := clink.CheckDonorCode(f.donor.Code); err != nil {
		t.Errorf("generated code: %v", err)
	}
	if f.donor.KIRHaplotype != clink.KIRBx || f.donor.Site != "ZGZ" {
		t.Errorf("got haplotype %q site %q, want B/x (KIR2DS2 present) at ZGZ", f.donor.KIRHaplotype, f.donor.Site)
	}
	byCode := must(f.c.GetDonorByCode(f.ctx, f.donor.Code))(t)
	byID := must(f.c.GetDonor(f.ctx, f.donor.ID))(t)
	if diff := cmp.Diff(byID, byCode); diff != "" {
		t.Errorf("donor by id and by code differ (-id +code):\n%s", diff)
	}
	for i := 0; i < 3; i++ {
		must(f.c.CreateDonor(f.ctx, &clink.Donor{Site: "ZGZ", HCMV: clink.HCMVNegative, ConsentDate: "2025-04-01"}))(t)
	}
	tests := []struct {
		name      string
		q         client.DonorQuery
		wantTotal int
		wantItems int
	}{
		{"all", client.DonorQuery{}, 5, 5},
		{"site", client.DonorQuery{Site: "ZGZ"}, 4, 4},
		{"site and hcmv", client.DonorQuery{Site: "ZGZ", HCMV: clink.HCMVNegative}, 3, 3},
		{"nkg2c", client.DonorQuery{NKG2C: clink.NKG2CPlusPlus}, 1, 1},
		{"kir", client.DonorQuery{KIR: clink.KIRBx}, 1, 1},
		{"page", client.DonorQuery{Limit: 2, Offset: 1}, 5, 2},
		{"last page", client.DonorQuery{Limit: 2, Offset: 4}, 5, 1},
		{"beyond", client.DonorQuery{Offset: 10}, 5, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := must(f.c.ListDonors(f.ctx, tc.q))(t)
			if l.Total != tc.wantTotal || len(l.Items) != tc.wantItems {
				t.Errorf("got %d items of %d, want %d of %d", len(l.Items), l.Total, tc.wantItems, tc.wantTotal)
			}
		})
	}

	d := *byID
	d.Notes = "serology repeated"
	d.HCMV = clink.HCMVEquivocal
	upd := must(f.c.UpdateDonor(f.ctx, &d, "lab report 2025-05"))(t)
	if upd.HCMV != clink.HCMVEquivocal || upd.Code != f.donor.Code {
		t.Errorf("got hcmv %q code %q, want equivocal and the same code", upd.HCMV, upd.Code)
	}
	_, err := f.c.UpdateDonor(f.ctx, &d, "")
	wantProblem(t, err, 422, "reason")
	bad := d
	bad.ConsentDate = "15/01/2025"
	_, err = f.c.UpdateDonor(f.ctx, &bad, "typo")
	wantProblem(t, err, 422, "consent_date")
	if got := must(f.c.GetDonor(f.ctx, d.ID))(t); got.ConsentDate != f.donor.ConsentDate {
		t.Errorf("after a refused correction got consent_date %q, want %q", got.ConsentDate, f.donor.ConsentDate)
	}
	moved := d
	moved.Site = "BCN"
	_, err = f.c.UpdateDonor(f.ctx, &moved, "moved")
	wantProblem(t, err, 422, "site")
	_, err = f.c.CreateDonor(f.ctx, &clink.Donor{Site: "ZGZ", Sex: "x", ConsentDate: "2025-01-01"})
	wantProblem(t, err, 422, "sex")
	_, err = f.c.GetDonor(f.ctx, 9999)
	wantProblem(t, err, 404, "")
	_, err = f.c.GetDonorByCode(f.ctx, "D0000000000-0")
	wantProblem(t, err, 404, "")
}

func TestListQueryErrors(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		path   string
		status int
		field  string
	}{
		{"/api/v1/donors?limit=abc", 400, "limit"},
		{"/api/v1/donors?limit=5000", 422, "limit"},
		{"/api/v1/donors?offset=-1", 422, "offset"},
		{"/api/v1/donors?hcmv=maybe", 422, "hcmv"},
		{"/api/v1/donors?sites=ZGZ", 400, "sites"},
		{"/api/v1/donors?site=ZGZ&site=BCN", 400, "site"},
		{"/api/v1/donors?site=zaragoza", 422, "site"},
		{"/api/v1/cultures?status=paused", 422, "status"},
		{"/api/v1/cultures?protocol=x", 400, "protocol"},
		{"/api/v1/cultures?donor=D0000000000-0", 422, "donor"},
		{"/api/v1/components?category=vitamin", 422, "category"},
		{"/api/v1/audit?entity=patient", 422, "entity"},
		{"/api/v1/audit?entity_id=0", 422, "entity_id"},
		{"/api/v1/assays?culture=nope", 422, "culture"},
		{"/api/v1/protocols/1/diff", 400, "to"},
		{"/api/v1/protocols/1/diff?to=999", 422, "to"},
		{"/api/v1/cultures/1/observations?include_voided=perhaps", 400, "include_voided"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			p := getProblem(t, f.srv, tc.path)
			if p.Status != tc.status {
				t.Fatalf("got status %d (%+v), want %d", p.Status, p, tc.status)
			}
			if !hasField(p.Errors, tc.field) {
				t.Errorf("got field errors %v, want one about %q", p.Errors, tc.field)
			}
		})
	}
}

func TestComponents(t *testing.T) {
	f := newFixture(t)
	all := must(f.c.ListComponents(f.ctx, ""))(t)
	if all.Total != 3 {
		t.Errorf("got %d components, want 3", all.Total)
	}
	feeders := must(f.c.ListComponents(f.ctx, clink.CategoryFeeder))(t)
	if len(feeders.Items) != 1 || feeders.Items[0].Name != "K562-mbIL15-41BBL" {
		t.Errorf("got feeders %v, want K562-mbIL15-41BBL", feeders.Items)
	}
	id := feeders.Items[0].ID
	wantCreated(t, f.srv, "/api/v1/components", "/api/v1/components/"+itoa(id))
	if got := must(f.c.GetComponent(f.ctx, id))(t); got.Name != "K562-mbIL15-41BBL" || got.Site != "ZGZ" {
		t.Errorf("got %+v, want the feeder of ZGZ", got)
	}
	_, err := f.c.CreateComponent(f.ctx, &clink.Component{Site: "ZGZ", Name: "IL-21", Category: clink.CategoryCytokine, Unit: "IU/mL"})
	wantProblem(t, err, 422, "unit")
	_, err = f.c.GetComponent(f.ctx, 999)
	wantProblem(t, err, 404, "")
	if p := getProblem(t, f.srv, "/api/v1/components/IL-2"); p.Status != 404 {
		t.Errorf("GET /components/IL-2: got status %d, want 404", p.Status)
	}
}

func TestProtocols(t *testing.T) {
	f := newFixture(t)
	wantCreated(t, f.srv, "/api/v1/protocols", "/api/v1/protocols/"+itoa(f.protocol.ID))
	if f.protocol.Version != 1 || f.protocol.Components[0].Category != clink.CategoryCytokine {
		t.Errorf("got version %d category %q, want 1 and cytokine", f.protocol.Version, f.protocol.Components[0].Category)
	}
	// POST of the same name without version: the next version.
	p2in := protocolIL2("ZGZ", "IL-2 high dose")
	p2in.Components[0].Dose = 1000
	p2 := must(f.c.CreateProtocol(f.ctx, p2in))(t)
	if p2.Version != 2 {
		t.Errorf("got version %d, want 2", p2.Version)
	}
	// POST /protocols/{id}/versions: the next version of that protocol's name.
	p3in := protocolIL2("", "")
	p3in.DurationDays = 14
	p3 := must(f.c.CreateProtocolVersion(f.ctx, f.protocol.ID, p3in))(t)
	if p3.Version != 3 || p3.Name != "IL-2 high dose" || p3.Site != "ZGZ" {
		t.Errorf("got %s at %s, want IL-2 high dose v3 at ZGZ", p3.Key(), p3.Site)
	}
	wantCreated(t, f.srv, "/api/v1/protocols/"+itoa(f.protocol.ID)+"/versions", "/api/v1/protocols/"+itoa(p3.ID))
	_, err := f.c.CreateProtocolVersion(f.ctx, f.protocol.ID, protocolIL2("ZGZ", "another name"))
	wantProblem(t, err, 422, "name")

	diff := must(f.c.DiffProtocols(f.ctx, f.protocol.ID, p2.ID))(t)
	want := clink.ProtocolDiff{From: "IL-2 high dose v1", To: "IL-2 high dose v2",
		Changes: []clink.ProtocolChange{{Field: "components.IL-2.dose", From: 500.0, To: 1000.0}}}
	if d := cmp.Diff(want, *diff); d != "" {
		t.Errorf("diff v1 to v2 (-want +got):\n%s", d)
	}

	list := must(f.c.ListProtocols(f.ctx, client.ProtocolQuery{Name: "IL-2 high dose"}))(t)
	if list.Total != 3 {
		t.Errorf("got %d versions, want 3", list.Total)
	}
	if l := must(f.c.ListProtocols(f.ctx, client.ProtocolQuery{Site: "BCN"}))(t); l.Total != 0 {
		t.Errorf("got %d BCN protocols, want 0", l.Total)
	}

	// Editing a version no culture uses works; a version in use answers 409.
	edit := *p2
	edit.Description = "IL-2 1000 IU/mL"
	got := must(f.c.UpdateProtocol(f.ctx, &edit, "dose written in the description"))(t)
	if got.Description != edit.Description {
		t.Errorf("got description %q, want %q", got.Description, edit.Description)
	}
	inUse := must(f.c.GetProtocol(f.ctx, f.protocol.ID))(t)
	if !inUse.InUse {
		t.Errorf("protocol v1 used by a culture: got in_use false, want true")
	}
	inUse.Description = "changed"
	_, err = f.c.UpdateProtocol(f.ctx, inUse, "try to change history")
	e := wantProblem(t, err, 409, "")
	if !strings.Contains(e.Detail, "/versions") {
		t.Errorf("got detail %q, want it to tell to POST a new version", e.Detail)
	}
	if after := must(f.c.GetProtocol(f.ctx, f.protocol.ID))(t); after.Description != f.protocol.Description {
		t.Errorf("a refused edit changed the description to %q", after.Description)
	}

	// An unknown unit in a protocol component.
	bad := protocolIL2("ZGZ", "bad unit")
	bad.Components[0].Unit = "mg/L"
	_, err = f.c.CreateProtocol(f.ctx, bad)
	wantProblem(t, err, 422, "components[0].unit")
	bad = protocolIL2("ZGZ", "unknown component")
	bad.Components[0].Component = "IL-99"
	_, err = f.c.CreateProtocol(f.ctx, bad)
	wantProblem(t, err, 422, "components[0].component")
	if l := must(f.c.ListProtocols(f.ctx, client.ProtocolQuery{}))(t); l.Total != 3 {
		t.Errorf("after refused creations got %d protocols, want 3", l.Total)
	}
	_, err = f.c.GetProtocol(f.ctx, 999)
	wantProblem(t, err, 404, "")
}

func TestCultures(t *testing.T) {
	f := newFixture(t)
	wantCreated(t, f.srv, "/api/v1/cultures", "/api/v1/cultures/"+itoa(f.culture.ID))
	if f.culture.DonorID != f.donor.ID || f.culture.Status != clink.StatusRunning || f.culture.Code == "" {
		t.Errorf("got %+v, want a running culture of donor %d with a code", f.culture, f.donor.ID)
	}
	// By donor id and protocol name and version.
	c2 := must(f.c.CreateCulture(f.ctx, &clink.Culture{Site: "ZGZ", DonorID: f.donor.ID, ProtocolName: "IL-2 high dose",
		ProtocolVersion: 1, StartDate: "2025-03-08", StartingCells: 2e6, StartingNKPct: 80}))(t)
	if c2.ProtocolID != f.protocol.ID || c2.Donor != f.donor.Code {
		t.Errorf("got protocol %d donor %q, want %d and %q", c2.ProtocolID, c2.Donor, f.protocol.ID, f.donor.Code)
	}
	byCode := must(f.c.GetCultureByCode(f.ctx, c2.Code))(t)
	if byCode.ID != c2.ID {
		t.Errorf("culture by code: got id %d, want %d", byCode.ID, c2.ID)
	}

	refused := []struct {
		name   string
		c      clink.Culture
		status int
		field  string
	}{
		{"donor of another site", clink.Culture{Site: "ZGZ", Donor: f.other.Code, ProtocolID: f.protocol.ID,
			StartDate: "2025-03-01", StartingCells: 1e6, StartingNKPct: 50}, 422, ""},
		{"unknown donor code", clink.Culture{Site: "ZGZ", Donor: "D0000000000-0", ProtocolID: f.protocol.ID,
			StartDate: "2025-03-01", StartingCells: 1e6, StartingNKPct: 50}, 422, "donor"},
		{"unknown donor id", clink.Culture{Site: "ZGZ", DonorID: 999, ProtocolID: f.protocol.ID,
			StartDate: "2025-03-01", StartingCells: 1e6, StartingNKPct: 50}, 422, "donor_id"},
		{"unknown protocol", clink.Culture{Site: "ZGZ", Donor: f.donor.Code, ProtocolID: 999,
			StartDate: "2025-03-01", StartingCells: 1e6, StartingNKPct: 50}, 422, "protocol_id"},
		{"protocol name without version", clink.Culture{Site: "ZGZ", Donor: f.donor.Code, ProtocolName: "IL-2 high dose",
			StartDate: "2025-03-01", StartingCells: 1e6, StartingNKPct: 50}, 422, "protocol_version"},
		{"NK above 100", clink.Culture{Site: "ZGZ", Donor: f.donor.Code, ProtocolID: f.protocol.ID,
			StartDate: "2025-03-01", StartingCells: 1e6, StartingNKPct: 120}, 422, "starting_nk_pct"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.c.CreateCulture(f.ctx, &tc.c)
			e := wantProblem(t, err, tc.status, tc.field)
			if tc.field == "" && !anyFieldHasPrefix(e.Errors, "donor") {
				t.Errorf("got field errors %v, want one about the donor", e.Errors)
			}
		})
	}
	if l := must(f.c.ListCultures(f.ctx, client.CultureQuery{}))(t); l.Total != 2 {
		t.Errorf("after refused creations got %d cultures, want 2", l.Total)
	}

	stopped := must(f.c.SetCultureStatus(f.ctx, c2.ID, clink.CultureStatusChange{Status: clink.StatusStopped, Reason: "contamination"}))(t)
	if stopped.Status != clink.StatusStopped || stopped.StopReason != "contamination" {
		t.Errorf("got status %q reason %q, want stopped for contamination", stopped.Status, stopped.StopReason)
	}
	_, err := f.c.SetCultureStatus(f.ctx, f.culture.ID, clink.CultureStatusChange{Status: clink.StatusStopped})
	wantProblem(t, err, 422, "")

	tests := []struct {
		name string
		q    client.CultureQuery
		want int
	}{
		{"all", client.CultureQuery{}, 2},
		{"donor code", client.CultureQuery{Donor: f.donor.Code}, 2},
		{"donor id", client.CultureQuery{Donor: itoa(f.other.ID)}, 0},
		{"running", client.CultureQuery{Status: clink.StatusRunning}, 1},
		{"stopped at ZGZ", client.CultureQuery{Site: "ZGZ", Status: clink.StatusStopped}, 1},
		{"BCN", client.CultureQuery{Site: "BCN"}, 0},
		{"protocol", client.CultureQuery{ProtocolID: f.protocol.ID}, 2},
		{"page", client.CultureQuery{Limit: 1}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := must(f.c.ListCultures(f.ctx, tc.q))(t)
			if l.Total != tc.want {
				t.Errorf("got total %d, want %d", l.Total, tc.want)
			}
			if tc.q.Limit > 0 && len(l.Items) > tc.q.Limit {
				t.Errorf("got %d items, want at most %d", len(l.Items), tc.q.Limit)
			}
		})
	}
	_, err = f.c.GetCulture(f.ctx, 999)
	wantProblem(t, err, 404, "")
	_, err = f.c.GetCultureByCode(f.ctx, "ZGZ-C9999")
	wantProblem(t, err, 404, "")
}

// TestObservationAcceptance is the acceptance case: an observation with a viability of
// 134 % is refused with a 422 problem naming viability_pct, and the culture's observations are
// unchanged.
func TestObservationAcceptance(t *testing.T) {
	f := newFixture(t)
	first := must(f.c.CreateObservation(f.ctx, f.culture.ID, &clink.Observation{Day: 7, ViableCells: 2e7,
		ViabilityPct: ptr(92.0), NKPct: ptr(100.0)}))(t)
	wantCreated(t, f.srv, "/api/v1/cultures/", "/api/v1/observations/"+itoa(first.ID))
	before := must(f.c.ListObservations(f.ctx, f.culture.ID, client.ObservationQuery{IncludeVoided: true}))(t)

	_, err := f.c.CreateObservation(f.ctx, f.culture.ID, &clink.Observation{Day: 14, ViableCells: 6e7, ViabilityPct: ptr(134.0)})
	e := wantProblem(t, err, 422, "viability_pct")
	if last := f.srv.last("POST", "/api/v1/cultures/"); last.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("got Content-Type %q, want application/problem+json", last.Header.Get("Content-Type"))
	}
	if msg, _ := e.Field("viability_pct"); !strings.Contains(msg, "134") {
		t.Errorf("got message %q, want it to quote 134", msg)
	}
	after := must(f.c.ListObservations(f.ctx, f.culture.ID, client.ObservationQuery{IncludeVoided: true}))(t)
	if d := cmp.Diff(before, after); d != "" {
		t.Errorf("a refused observation changed the culture's observations (-before +after):\n%s", d)
	}
}

func TestObservations(t *testing.T) {
	f := newFixture(t)
	refused := []struct {
		name   string
		o      clink.Observation
		status int
		field  string
	}{
		{"day before start", clink.Observation{Day: -1, ViableCells: 1e6}, 422, "day"},
		{"negative cells", clink.Observation{Day: 3, ViableCells: -5}, 422, "viable_cells"},
		{"nk plus t above 100", clink.Observation{Day: 3, ViableCells: 1e6, NKPct: ptr(80.0), TPct: ptr(30.0)}, 422, "t_pct"},
		{"unknown marker", clink.Observation{Day: 3, ViableCells: 1e6, Markers: map[string]float64{"CD999": 5}}, 422, "markers.CD999"},
		{"split fraction above 1", clink.Observation{Day: 3, ViableCells: 1e6, SplitFractionKept: ptr(2.0)}, 422, "split_fraction_kept"},
		{"other culture in body", clink.Observation{CultureID: 999, Day: 3, ViableCells: 1e6}, 422, "culture_id"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.c.CreateObservation(f.ctx, f.culture.ID, &tc.o)
			wantProblem(t, err, tc.status, tc.field)
		})
	}
	o7 := must(f.c.CreateObservation(f.ctx, f.culture.ID, &clink.Observation{Day: 7, ViableCells: 2e7, NKPct: ptr(90.0),
		Markers: map[string]float64{"NKG2C": 35, "CD16": 80}}))(t)
	if o7.CultureID != f.culture.ID || o7.Culture != f.culture.Code || o7.Site != "ZGZ" {
		t.Errorf("got culture %d %q site %q, want %d %q ZGZ", o7.CultureID, o7.Culture, o7.Site, f.culture.ID, f.culture.Code)
	}
	_, err := f.c.CreateObservation(f.ctx, f.culture.ID, &clink.Observation{Day: 7, ViableCells: 3e7})
	wantProblem(t, err, 409, "")
	o14 := must(f.c.CreateObservation(f.ctx, f.culture.ID, &clink.Observation{Day: 14, ViableCells: 6e7}))(t)

	fix := *o14
	fix.ViableCells = 6.5e7
	got := must(f.c.UpdateObservation(f.ctx, &fix, "recount"))(t)
	if got.ViableCells != 6.5e7 {
		t.Errorf("got viable cells %g, want 6.5e7", got.ViableCells)
	}
	fix.ViabilityPct = ptr(101.0)
	_, err = f.c.UpdateObservation(f.ctx, &fix, "typo")
	wantProblem(t, err, 422, "viability_pct")
	_, err = f.c.UpdateObservation(f.ctx, got, "")
	wantProblem(t, err, 422, "reason")

	_, err = f.c.VoidObservation(f.ctx, o7.ID, "")
	wantProblem(t, err, 422, "reason")
	v := must(f.c.VoidObservation(f.ctx, o7.ID, "counted the wrong flask"))(t)
	if !v.Voided {
		t.Errorf("got voided false, want true")
	}
	if l := must(f.c.ListObservations(f.ctx, f.culture.ID, client.ObservationQuery{}))(t); l.Total != 1 || l.Items[0].ID != o14.ID {
		t.Errorf("without voided: got %d observations, want only day 14", l.Total)
	}
	if l := must(f.c.ListObservations(f.ctx, f.culture.ID, client.ObservationQuery{IncludeVoided: true}))(t); l.Total != 2 {
		t.Errorf("with voided: got %d observations, want 2", l.Total)
	}
	if g := must(f.c.GetObservation(f.ctx, o7.ID))(t); !g.Voided || g.Markers["NKG2C"] != 35 {
		t.Errorf("got %+v, want the voided day-7 observation with NKG2C 35", g)
	}
	_, err = f.c.GetObservation(f.ctx, 999)
	wantProblem(t, err, 404, "")
	_, err = f.c.CreateObservation(f.ctx, 999, &clink.Observation{Day: 1, ViableCells: 1})
	wantProblem(t, err, 404, "")

	events := must(f.c.ListAuditEvents(f.ctx, client.AuditQuery{Entity: "observation", EntityID: o7.ID}))(t)
	if events.Total != 2 {
		t.Errorf("got %d audit events of observation %d, want 2 (create, void)", events.Total, o7.ID)
	}
	for _, ev := range events.Items {
		// The writes are attributed to the user of the token (the fixture's "tester").
		if ev.Actor != "tester" || ev.Site != "ZGZ" {
			t.Errorf("got event by %q at %q, want tester at ZGZ", ev.Actor, ev.Site)
		}
	}
	if all := must(f.c.ListAuditEvents(f.ctx, client.AuditQuery{Limit: 1}))(t); all.Total < 10 || len(all.Items) != 1 {
		t.Errorf("got %d audit events (page of %d), want at least 10 in pages of 1", all.Total, len(all.Items))
	}
	// Filters by user and time: the void of o7 is the newest event.
	void := events.Items[1]
	if l := must(f.c.ListAuditEvents(f.ctx, client.AuditQuery{Entity: "observation", User: "tester", From: void.Time, EntityID: o7.ID}))(t); l.Total != 1 || l.Items[0].Action != "void" {
		t.Errorf("events of o7 from %v: got %d, want only the void", void.Time, l.Total)
	}
	if l := must(f.c.ListAuditEvents(f.ctx, client.AuditQuery{Entity: "observation", To: events.Items[0].Time, EntityID: o7.ID}))(t); l.Total != 0 {
		t.Errorf("events of o7 before its creation: got %d, want 0", l.Total)
	}
	if l := must(f.c.ListAuditEvents(f.ctx, client.AuditQuery{User: "nobody"}))(t); l.Total != 0 {
		t.Errorf("events by nobody: got %d, want 0", l.Total)
	}
	_, err = f.c.ListAuditEvents(f.ctx, client.AuditQuery{From: void.Time, To: void.Time})
	wantProblem(t, err, 422, "to")
}
