package http_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/client"
	"github.com/clink-consortium/clink/demo"
	"github.com/clink-consortium/clink/design"
	clinkhttp "github.com/clink-consortium/clink/http"
	"github.com/clink-consortium/clink/optimizer"
)

// The optimizer's API: POST /api/v1/optimizer/suggestions and POST /api/v1/optimizer/drafts,
// on the demo consortium, whose design space nk-demo holds most of its protocol versions.

// nkDemo is the demo's design space as domain.md §9.1 states the consortium's default space
// (IL-2 0–1,000 IU/mL, IL-15 and IL-21 0–50 ng/mL, feeder ratio 0.5–20, harvest on day 7–28,
// the cytokine budget il2/100 + il15 + il21 <= 60) with the demo catalogue's feeders as levels
// (demo/space.go), written out here rather than read from the code under test.
var nkDemo = struct {
	bounds map[string][2]float64
	whole  []string
	levels map[string][]string
}{
	bounds: map[string][2]float64{"il2": {0, 1000}, "il15": {0, 50}, "il21": {0, 50}, "feeder_ratio": {0.5, 20}, "harvest_day": {7, 28}},
	whole:  []string{"harvest_day"},
	levels: map[string][]string{
		"feeder":        {"none", "irradiated PBMC", "EBV-LCL", "721.221", "K562-mbIL15-41BBL", "K562-mbIL21-41BBL"},
		"restimulation": {"none", "d7", "d7+d14", "weekly"},
		"vessel":        {"flask", "G-Rex", "bag", "automated closed system"},
	},
}

// checkInNKDemo checks that p is a condition of nk-demo: every factor and nothing else, numbers
// within their bounds (whole where they must be), known levels, and the cytokine budget met.
func checkInNKDemo(tb testing.TB, what string, p design.Point) {
	tb.Helper()
	if got, want := len(p), len(nkDemo.bounds)+len(nkDemo.levels); got != want {
		tb.Errorf("%s: got %d factors (%v), want %d", what, got, p, want)
	}
	for name, b := range nkDemo.bounds {
		v, ok := p[name]
		switch {
		case !ok || v.IsLevel():
			tb.Errorf("%s: %s = %v, want a number", what, name, v)
		case !(v.X >= b[0] && v.X <= b[1]):
			tb.Errorf("%s: %s = %g, want it within %g to %g", what, name, v.X, b[0], b[1])
		case slices.Contains(nkDemo.whole, name) && v.X != math.Trunc(v.X):
			tb.Errorf("%s: %s = %g, want a whole number", what, name, v.X)
		}
	}
	for name, levels := range nkDemo.levels {
		if v := p[name]; !slices.Contains(levels, v.Level) {
			tb.Errorf("%s: %s = %v, want one of %q", what, name, v, levels)
		}
	}
	if budget := p["il2"].X/100 + p["il15"].X + p["il21"].X; !(budget <= 60) {
		tb.Errorf("%s: il2/100 + il15 + il21 = %g, want at most 60", what, budget)
	}
}

// optimizerRequest is the request of the tests below: two objectives, a purity constraint, a
// batch of four over two donors.
func optimizerRequest() client.SuggestionRequest {
	return client.SuggestionRequest{Space: demo.SpaceName, Objectives: []string{optimizer.NKFold, optimizer.LU30},
		Constraints: []string{"purity>=70"}, Batch: 4, Donors: 2, Seed: 7}
}

// TestOptimizerAPI asks for suggestions on the demo data and turns one into a protocol version,
// on SQLite and PostgreSQL.
func TestOptimizerAPI(t *testing.T) {
	stores := []struct {
		name string
		open func(testing.TB) clink.Store
	}{
		{"sqlite", func(tb testing.TB) clink.Store { return newStore(tb) }},
		{"postgres", postgresStore},
	}
	for _, db := range stores {
		t.Run(db.name, func(t *testing.T) {
			store := db.open(t)
			if _, err := demo.Populate(context.Background(), store, demo.Options{}); err != nil {
				t.Fatalf("demo.Populate: %v", err)
			}
			srv := newSpecServerOn(t, store)
			plan := testOptimizerSuggestions(t, srv)
			testOptimizerBadSuggestions(t, srv)
			testOptimizerDrafts(t, srv, plan)
		})
	}
}

// testOptimizerSuggestions checks a plan on nk-demo: four conditions in the space with
// predictions whose intervals hold their means, split over two donors in turn, and the same
// plan for the same request. It returns the plan.
func testOptimizerSuggestions(t *testing.T, srv *specServer) *client.SuggestionPlan {
	ctx := context.Background()
	viewer := srv.clientAs(t, "opt-viewer", "", clink.RoleViewer)
	plan := must(viewer.Suggest(ctx, optimizerRequest()))(t)
	if plan.SpaceRef != demo.SpaceName+"@1" || plan.Space != demo.SpaceName {
		t.Errorf("got space %q (%s), want %s@1", plan.Space, plan.SpaceRef, demo.SpaceName)
	}
	if d := cmp.Diff([]string{optimizer.NKFold, optimizer.LU30}, plan.Objectives); d != "" {
		t.Errorf("objectives (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]optimizer.Constraint{{Outcome: optimizer.Purity, Min: true, Bound: 70}}, plan.Constraints); d != "" {
		t.Errorf("constraints (-want +got):\n%s", d)
	}
	// The demo's completed cultures, of many donors, lie in nk-demo: the plan is a model's, not
	// a space-filling design.
	if plan.Results < 20 || plan.Donors < 2 {
		t.Errorf("learnt from %d results of %d donors, want the demo's (at least 20, of several donors)", plan.Results, plan.Donors)
	}
	if len(plan.Notes) != 0 {
		t.Errorf("got notes %q, want none", plan.Notes)
	}
	if len(plan.Suggestions) != 4 {
		t.Fatalf("got %d suggestions, want 4", len(plan.Suggestions))
	}
	seen := map[string]bool{}
	for i, s := range plan.Suggestions {
		what := fmt.Sprintf("suggestion %d", i+1)
		checkInNKDemo(t, what, s.Point)
		key, _ := json.Marshal(s.Point)
		if seen[string(key)] {
			t.Errorf("%s %s is suggested twice", what, key)
		}
		seen[string(key)] = true
		if s.Acquisition == nil || math.IsNaN(*s.Acquisition) || math.IsInf(*s.Acquisition, 0) {
			t.Errorf("%s: got acquisition %v, want a finite value (the plan comes from a model)", what, s.Acquisition)
		}
		var outcomes []string
		for _, p := range s.Predictions {
			outcomes = append(outcomes, p.Outcome)
			if !(p.Low <= p.Mean && p.Mean <= p.High) || !(p.SD > 0) {
				t.Errorf("%s: %s predicted %g (%g to %g, sd %g), want low <= mean <= high and sd > 0", what, p.Outcome, p.Mean, p.Low, p.High, p.SD)
			}
			if p.Outcome == optimizer.Purity && !(p.Low >= 0 && p.High <= 100) {
				t.Errorf("%s: purity interval %g to %g, want within 0 to 100 %%", what, p.Low, p.High)
			}
		}
		// The objectives and the constrained outcome are modelled; viability is not asked for.
		if want := []string{optimizer.NKFold, optimizer.LU30, optimizer.Purity}; !slices.Equal(outcomes, want) {
			t.Errorf("%s: got predictions of %v, want %v", what, outcomes, want)
		}
	}
	// Two donors take the four conditions in turn, each with the reference arm.
	if d := cmp.Diff([][]int{{1, 3}, {2, 4}}, plan.DonorPlan); d != "" {
		t.Errorf("donor plan (-want +got):\n%s", d)
	}
	if plan.Dependence != nil {
		t.Errorf("got %d partial dependences, want none (not asked for)", len(plan.Dependence))
	}
	// The same request gives the same plan, whoever asks.
	researcher := srv.clientAs(t, "opt-reader", "BCN", clink.RoleResearcher)
	again := must(researcher.Suggest(ctx, optimizerRequest()))(t)
	if d := cmp.Diff(plan, again); d != "" {
		t.Errorf("the same request twice gave different plans (-first +second):\n%s", d)
	}

	// With the partial dependence: one per factor of the space, in its order, on the first
	// objective, with its interval around its mean, over a numeric factor's range.
	req := optimizerRequest()
	req.Dependence = true
	withDep := must(viewer.Suggest(ctx, req))(t)
	var factors []string
	for _, f := range demo.Space().Factors {
		factors = append(factors, f.Name)
	}
	var got []string
	for _, d := range withDep.Dependence {
		got = append(got, d.Factor)
		n := len(d.X) + len(d.Levels)
		if d.Outcome != optimizer.NKFold || n == 0 || len(d.Mean) != n || len(d.Low) != n || len(d.High) != n {
			t.Errorf("dependence on %s: outcome %s with %d values and %d/%d/%d means/lows/highs, want nk_fold with one of each per value",
				d.Factor, d.Outcome, n, len(d.Mean), len(d.Low), len(d.High))
			continue
		}
		for i := range d.Mean {
			if !(d.Low[i] <= d.Mean[i] && d.Mean[i] <= d.High[i]) {
				t.Errorf("dependence on %s, value %d: %g outside %g to %g", d.Factor, i, d.Mean[i], d.Low[i], d.High[i])
			}
		}
		if b, ok := nkDemo.bounds[d.Factor]; ok && (d.X[0] != b[0] || d.X[len(d.X)-1] != b[1]) {
			t.Errorf("dependence on %s: from %g to %g, want the factor's range %g to %g", d.Factor, d.X[0], d.X[len(d.X)-1], b[0], b[1])
		}
		if l, ok := nkDemo.levels[d.Factor]; ok && !slices.Equal(d.Levels, l) {
			t.Errorf("dependence on %s: levels %q, want %q", d.Factor, d.Levels, l)
		}
	}
	if !slices.Equal(got, factors) {
		t.Errorf("got partial dependences on %v, want one per factor %v", got, factors)
	}
	if d := cmp.Diff(plan.Suggestions, withDep.Suggestions); d != "" {
		t.Errorf("asking for the partial dependence changed the suggestions (-without +with):\n%s", d)
	}

	// The answer carries no field that openapi.yaml leaves undescribed (the response
	// validation alone allows undeclared properties).
	status, _, data := do(t, srv.URL, "POST", "/api/v1/optimizer/suggestions", srv.token(t, "opt-spec", "", clink.RoleViewer), req)
	var v any
	if err := json.Unmarshal(data, &v); err != nil || status != 200 {
		t.Fatalf("POST suggestions: got status %d (%s), want 200", status, data)
	}
	if bad := undeclared(loadSpec(t).Components.Schemas["SuggestionPlan"].Value, v, ""); len(bad) > 0 {
		t.Errorf("fields not in schema SuggestionPlan: %v", bad)
	}
	return plan
}

// testOptimizerBadSuggestions checks that bad requests are refused naming the field.
func testOptimizerBadSuggestions(t *testing.T, srv *specServer) {
	token := srv.token(t, "opt-asker", "", clink.RoleViewer)
	good := func(edit func(m map[string]any)) map[string]any {
		m := map[string]any{"space": demo.SpaceName, "objectives": []string{"nk_fold", "lu30"},
			"constraints": []string{"purity>=70"}, "batch": 4, "donors": 2, "seed": 7}
		edit(m)
		return m
	}
	tests := []struct {
		name   string
		body   any
		status int
		field  string // "" for a problem without field errors
	}{
		{"unknown space", good(func(m map[string]any) { m["space"] = "no-such-space" }), 404, ""},
		{"unknown space version", good(func(m map[string]any) { m["space"] = demo.SpaceName + "@9" }), 404, ""},
		{"no space", good(func(m map[string]any) { delete(m, "space") }), 422, "space"},
		{"batch 0", good(func(m map[string]any) { m["batch"] = 0 }), 422, "batch"},
		{"batch 97", good(func(m map[string]any) { m["batch"] = 97 }), 422, "batch"},
		{"more donors than conditions", good(func(m map[string]any) { m["donors"] = 5 }), 422, "donors"},
		{"negative donors", good(func(m map[string]any) { m["donors"] = -1 }), 422, "donors"},
		{"constraint with >", good(func(m map[string]any) { m["constraints"] = []string{"purity>70"} }), 422, "constraints[0]"},
		{"constraint on no outcome", good(func(m map[string]any) { m["constraints"] = []string{"purity>=70", "speed>=3"} }), 422, "constraints[1]"},
		{"constraint without a number", good(func(m map[string]any) { m["constraints"] = []string{"purity>=high"} }), 422, "constraints[0]"},
		{"log outcome bound 0", good(func(m map[string]any) { m["constraints"] = []string{"lu30>=0"} }), 422, "constraints[0]"},
		{"objective speed", good(func(m map[string]any) { m["objectives"] = []string{"nk_fold", "speed"} }), 422, "objectives[1]"},
		{"objective twice", good(func(m map[string]any) { m["objectives"] = []string{"lu30", "lu30"} }), 422, "objectives[1]"},
		{"no objective", good(func(m map[string]any) { m["objectives"] = []string{} }), 422, "objectives"},
		{"three objectives", good(func(m map[string]any) { m["objectives"] = []string{"nk_fold", "lu30", "purity"} }), 422, "objectives"},
		{"batch as text", good(func(m map[string]any) { m["batch"] = "four" }), 400, "batch"},
		{"unknown field", good(func(m map[string]any) { m["budget"] = 60 }), 400, "budget"},
		{"not an object", []int{1}, 400, "body"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, _, data := do(t, srv.URL, "POST", "/api/v1/optimizer/suggestions", token, tc.body)
			var p clinkhttp.Problem
			if err := json.Unmarshal(data, &p); err != nil || status != tc.status {
				t.Fatalf("got status %d (%s), want a %d problem", status, data, tc.status)
			}
			if tc.field != "" {
				wantFieldProblem(t, p, tc.status, tc.field)
			}
		})
	}
	// Without a token: 401 with the bearer challenge.
	status, header, _ := do(t, srv.URL, "POST", "/api/v1/optimizer/suggestions", "", good(func(map[string]any) {}))
	if status != 401 || header.Get("WWW-Authenticate") != `Bearer realm="clink"` {
		t.Errorf("without a token: got status %d, WWW-Authenticate %q, want 401 with the bearer challenge", status, header.Get("WWW-Authenticate"))
	}
}

// latestVersion returns the latest version of the protocol called name.
func latestVersion(tb testing.TB, store clink.Store, name string) *clink.Protocol {
	tb.Helper()
	ps, _, err := store.FindProtocols(context.Background(), clink.ProtocolFilter{Name: name, Page: clink.Page{Limit: clink.MaxLimit}})
	if err != nil || len(ps) == 0 {
		tb.Fatalf("protocol %q: %v (%d versions)", name, err, len(ps))
	}
	latest := ps[0]
	for _, p := range ps {
		if p.Version > latest.Version {
			latest = p
		}
	}
	return latest
}

// testOptimizerDrafts turns the plan's suggestions into versions of a Zaragoza protocol: the
// version after the latest, whose conditions read back as the suggestion's point; refusals
// (another site, a viewer, a point outside the space) change nothing.
func testOptimizerDrafts(t *testing.T, srv *specServer, plan *client.SuggestionPlan) {
	ctx := context.Background()
	zgz := srv.clientAs(t, "opt-zgz", "ZGZ", clink.RoleResearcher)
	bcn := srv.clientAs(t, "opt-bcn", "BCN", clink.RoleResearcher)
	viewer := srv.clientAs(t, "opt-looker", "", clink.RoleViewer)
	base := latestVersion(t, srv.Store, "IL-2 alone") // a ZGZ protocol
	if base.Site != "ZGZ" {
		t.Fatalf("the demo's IL-2 alone is at %s, want ZGZ", base.Site)
	}
	first := plan.Suggestions[0]
	draft := func(p design.Point) client.DraftRequest {
		return client.DraftRequest{Space: plan.SpaceRef, Point: p, Protocol: base.ID}
	}

	// Refusals first: nothing may change.
	before := auditCount(t, srv.Store)
	with := func(name string, v design.Value) design.Point {
		p := design.Point{}
		for k, x := range first.Point {
			p[k] = x
		}
		if v == (design.Value{}) {
			delete(p, name)
		} else {
			p[name] = v
		}
		return p
	}
	// il15 50 and il21 20 ng/mL are each within range, but together over the budget of 60.
	over := with("il15", design.Num(50))
	over["il21"] = design.Num(20)
	refusals := []struct {
		name   string
		c      *client.Client
		req    client.DraftRequest
		status int
		field  string
	}{
		{"draft by another site's researcher", bcn, draft(first.Point), 403, ""},
		{"draft by a viewer", viewer, draft(first.Point), 403, ""},
		{"draft with il2 above its range", zgz, draft(with("il2", design.Num(5000))), 422, "point.il2"},
		{"draft with a harvest day not whole", zgz, draft(with("harvest_day", design.Num(14.5))), 422, "point.harvest_day"},
		{"draft with an unknown feeder", zgz, draft(with("feeder", design.Cat("K562 variant"))), 422, "point.feeder"},
		{"draft with a number for a level", zgz, draft(with("vessel", design.Num(2))), 422, "point.vessel"},
		{"draft without a harvest day", zgz, draft(with("harvest_day", design.Value{})), 422, "point.harvest_day"},
		{"draft with a factor the space lacks", zgz, draft(with("il12", design.Num(10))), 422, "point.il12"},
		{"draft over the cytokine budget", zgz, draft(over), 422, "point"},
		// plate is not a level of nk-demo (no protocol names it as its vessel).
		{"draft in a plate", zgz, draft(with("vessel", design.Cat("plate"))), 422, "point.vessel"},
		{"draft without a point", zgz, client.DraftRequest{Space: plan.SpaceRef, Protocol: base.ID}, 422, "point"},
		{"draft without a protocol", zgz, client.DraftRequest{Space: plan.SpaceRef, Point: first.Point}, 422, "protocol"},
		{"draft of an unknown protocol", zgz, client.DraftRequest{Space: plan.SpaceRef, Point: first.Point, Protocol: 99999999}, 422, "protocol"},
		{"draft without a space", zgz, client.DraftRequest{Point: first.Point, Protocol: base.ID}, 422, "space"},
		{"draft in an unknown space", zgz, client.DraftRequest{Space: "no-such-space", Point: first.Point, Protocol: base.ID}, 404, ""},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.c.CreateDraft(ctx, tc.req)
			wantProblem(t, err, tc.status, tc.field)
		})
	}
	if after := auditCount(t, srv.Store); after != before {
		t.Errorf("refused drafts: the audit trail grew from %d to %d events, want no change", before, after)
	}

	// Every suggestion becomes the next version of the protocol, and reads back as its point.
	space := demo.Space()
	for i, s := range plan.Suggestions {
		what := fmt.Sprintf("draft of suggestion %d", i+1)
		req := draft(s.Point)
		if i == 0 {
			req.Note = "First suggestion of the test."
		}
		d, err := zgz.CreateDraft(ctx, req)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		wantCreated(t, srv, "/api/v1/optimizer/drafts", fmt.Sprintf("/api/v1/protocols/%d", d.ID))
		if d.Name != base.Name || d.Version != base.Version+1+i || d.Site != "ZGZ" || d.CreatedBy != "opt-zgz" || d.InUse || d.Voided {
			t.Errorf("%s: got %s v%d at %s by %s (in use %v, void %v), want %s v%d at ZGZ by opt-zgz, unused",
				what, d.Name, d.Version, d.Site, d.CreatedBy, d.InUse, d.Voided, base.Name, base.Version+1+i)
		}
		stored := must(viewer.GetProtocol(ctx, d.ID))(t)
		if diff := cmp.Diff(d, stored); diff != "" {
			t.Errorf("%s: answered and stored differ (-answered +stored):\n%s", what, diff)
		}
		pt, err := optimizer.ProtocolPoint(space, stored)
		if err != nil {
			t.Errorf("%s: %s v%d is not in nk-demo: %v", what, stored.Name, stored.Version, err)
			continue
		}
		if diff := cmp.Diff(s.Point, pt); diff != "" {
			t.Errorf("%s: the protocol reads back as another condition (-suggested +stored):\n%s", what, diff)
		}
		// The rest is the base's.
		if stored.StartingMaterial != base.StartingMaterial || stored.SeedingDensity != base.SeedingDensity {
			t.Errorf("%s: starting material %q, seeding %g, want the base's %q, %g", what, stored.StartingMaterial,
				stored.SeedingDensity, base.StartingMaterial, base.SeedingDensity)
		}
		if i == 0 && !strings.HasPrefix(stored.Description, "First suggestion of the test.") {
			t.Errorf("%s: description %q, want it to start with the note", what, stored.Description)
		}
		if i == 1 && !strings.Contains(stored.Description, plan.SpaceRef) {
			t.Errorf("%s: description %q, want it to name the design space %s", what, stored.Description, plan.SpaceRef)
		}
		// The audit trail has the creation, by the researcher.
		events := must(viewer.ListAuditEvents(ctx, client.AuditQuery{Entity: "protocol", EntityID: d.ID}))(t)
		if len(events.Items) != 1 || events.Items[0].Action != "create" || events.Items[0].Actor != "opt-zgz" {
			t.Errorf("%s: audit events %+v, want one creation by opt-zgz", what, events.Items)
		}
	}
}

// matrixOptimizerSpace returns the name of the permission matrix's design space (nkSpace at
// the matrix's own site), creating it the first time with two completed cultures of a protocol
// in it, of two donors, so that the optimizer has results to model (and partial dependences to
// draw).
func matrixOptimizerSpace(e *matrixEnv) string {
	e.tb.Helper()
	const name = "matrix optimizer space"
	if _, err := e.store.FindDesignSpaceByRef(e.ctx, clink.TemplateRef{Name: name}); err == nil {
		return name
	}
	e.check(e.store.CreateDesignSpace(e.ctx, designSpace(ownSite, name, nkSpace)))
	p := e.newProtocol()
	for i, cells := range []float64{2e7, 4e7} {
		c := &clink.Culture{Site: ownSite, DonorID: e.newDonor().ID, ProtocolID: p.ID, StartDate: "2025-03-01",
			StartingCells: 1e6, StartingNKPct: 90}
		e.check(e.store.CreateCulture(e.ctx, c))
		e.check(e.store.CreateObservation(e.ctx, &clink.Observation{CultureID: c.ID, Site: ownSite, Day: 14 + i,
			ViableCells: cells, NKPct: ptr(85.0), ViabilityPct: ptr(90.0)}))
		_, err := e.store.SetCultureStatus(e.ctx, c.ID, clink.CultureStatusChange{Status: clink.StatusCompleted})
		e.check(err)
	}
	return name
}

// matrixOptimizerQuery is the query of the optimizer page that asks for a plan in the
// matrix's design space.
func matrixOptimizerQuery(e *matrixEnv) string {
	return url.Values{"space": {matrixOptimizerSpace(e)}, "objective": {optimizer.NKFold}, "batch": {"2"},
		"donors": {"1"}, "seed": {"1"}}.Encode()
}

// matrixDraftPoint is a condition of nkSpace that a protocol can have.
var matrixDraftPoint = design.Point{"il2": design.Num(200), "harvest_day": design.Num(14), "vessel": design.Cat("flask")}

// optimizerMatrixRequest makes the permission matrix's requests (authz_test.go) to the
// optimizer's API routes: suggestions in the matrix's design space (no culture of the matrix
// has a harvest, so they are a space-filling design), and drafts of fresh protocols of the
// matrix's own site.
func optimizerMatrixRequest(e *matrixEnv, name string) (path string, body any, ok bool) {
	e.tb.Helper()
	switch name {
	case "createSuggestions":
		return "/api/v1/optimizer/suggestions", client.SuggestionRequest{Space: matrixOptimizerSpace(e),
			Objectives: []string{optimizer.NKFold}, Batch: 2, Seed: 1, Dependence: true}, true
	case "createDraft":
		return "/api/v1/optimizer/drafts", client.DraftRequest{Space: matrixOptimizerSpace(e), Point: matrixDraftPoint,
			Protocol: e.newProtocol().ID}, true
	}
	return "", nil, false
}
