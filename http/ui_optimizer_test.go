package http_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/client"
	"github.com/clink-consortium/clink/demo"
	"github.com/clink-consortium/clink/design"
	"github.com/clink-consortium/clink/optimizer"
)

// The optimizer's page (/optimizer), checked by CSS selectors on the demo consortium.

// optimizerPageQuery is the page's form asking what optimizerRequest asks the API (with the
// partial dependence, which the page always draws): nk_fold and lu30, purity at least 70 %, a
// batch of four over two donors, seed 7.
func optimizerPageQuery(edit func(url.Values)) string {
	q := url.Values{"space": {demo.SpaceName}, "objective": {optimizer.NKFold}, "objective2": {optimizer.LU30},
		"purity_min": {"70"}, "viability_min": {""}, "batch": {"4"}, "donors": {"2"}, "seed": {"7"}}
	if edit != nil {
		edit(q)
	}
	return "/optimizer?" + q.Encode()
}

// apiClient returns a client of the uiEnv's API, signed in as the demo user username.
func (e *uiEnv) apiClient(tb testing.TB, username string) *client.Client {
	tb.Helper()
	secret, _, err := e.store.CreateToken(clink.WithActor(context.Background(), "test"), username, "test", time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	return client.New(e.srv.URL, client.WithToken(secret))
}

// TestOptimizerNav: every page's header links to the optimizer.
func TestOptimizerNav(t *testing.T) {
	e := newUIEnv(t)
	cookie := e.signIn(t, "viewer")
	for _, path := range []string{"/", "/cultures", "/compare", "/optimizer"} {
		doc := e.page(t, path, cookie, http.StatusOK)
		a := query(doc, `header nav a[href="/optimizer"]`)
		if a == nil || textOf(a) != "Optimizer" {
			t.Errorf("GET %s: the header has no link Optimizer to /optimizer", path)
		}
	}
}

// TestOptimizerPage: the form alone lists the stored design spaces; with a question the page
// shows the plan the API answers for the same question (its suggestions, donor plan and one
// partial-dependence figure per factor, whose downloads are SVG and CSV with the plan's
// numbers) and, for a researcher, a draft form per suggestion, which makes the next version
// of a protocol of the researcher's site; a viewer gets no draft forms and may not post one;
// a bad question shows the message next to its field and no plan.
func TestOptimizerPage(t *testing.T) {
	e := newUIEnv(t)
	viewer := e.signIn(t, "viewer")
	researcher := e.signIn(t, "researcher-zgz")

	t.Run("form", func(t *testing.T) {
		doc := e.page(t, "/optimizer", viewer, http.StatusOK)
		checkPage(t, doc, "/optimizer")
		var spaces []string
		for _, o := range queryAll(doc, "#f-space option") {
			v, _ := attr(o, "value")
			spaces = append(spaces, v)
		}
		if !slices.Equal(spaces, []string{demo.SpaceName + "@1"}) {
			t.Errorf("got design spaces %q, want [nk-demo@1]", spaces)
		}
		if got := inputValue(t, doc, "batch"); got != "6" {
			t.Errorf("got batch %q, want the default 6", got)
		}
		if query(doc, "#plan") != nil || query(doc, "#suggestion-table") != nil {
			t.Errorf("the form alone shows a plan")
		}
	})

	// The plan the API answers for the page's question.
	req := optimizerRequest()
	req.Dependence = true
	want := must(e.apiClient(t, "viewer").Suggest(context.Background(), req))(t)
	space := demo.Space()
	path := optimizerPageQuery(nil)

	var drafts []*html.Node
	t.Run("plan", func(t *testing.T) {
		doc := e.page(t, path, researcher, http.StatusOK)
		checkPage(t, doc, "/optimizer")
		if got := textOf(mustQuery(t, doc, "#plan-h")); got != "Suggestions in nk-demo@1" {
			t.Errorf("got heading %q, want Suggestions in nk-demo@1", got)
		}
		summary := textOf(mustQuery(t, doc, "#plan-summary"))
		if wantText := fmt.Sprintf("Learnt from %d results of %d donors", want.Results, want.Donors); !strings.HasPrefix(summary, wantText) {
			t.Errorf("got summary %q, want it to start %q", summary, wantText)
		}
		if !strings.Contains(summary, "purity ≥ 70") || strings.Contains(summary, "viability") {
			t.Errorf("got summary %q, want the purity constraint and no viability one", summary)
		}
		table := mustQuery(t, doc, "#suggestion-table")
		var heads []string
		for _, th := range queryAll(table, "thead th") {
			heads = append(heads, textOf(th))
		}
		wantHeads := []string{"#"}
		for _, f := range space.Factors {
			h := f.Name
			if f.Unit != "" {
				h += " (" + f.Unit + ")"
			}
			wantHeads = append(wantHeads, h)
		}
		wantHeads = append(wantHeads, "nk_fold (95 % interval)", "lu30 (95 % interval)", "purity (95 % interval)", "Draft protocol version")
		if d := cmp.Diff(wantHeads, heads); d != "" {
			t.Errorf("table head (-want +got):\n%s", d)
		}
		rows := queryAll(table, "tbody tr")
		if len(rows) != len(want.Suggestions) || len(rows) != 4 {
			t.Fatalf("got %d rows, want the plan's 4 suggestions", len(rows))
		}
		for i, row := range rows {
			cells := queryAll(row, "td")
			if len(cells) != 1+len(space.Factors)+3+1 {
				t.Fatalf("row %d: got %d cells, want %d", i+1, len(cells), 1+len(space.Factors)+3+1)
			}
			got := []string{textOf(cells[0])}
			wantRow := []string{strconv.Itoa(i + 1)}
			for j, f := range space.Factors {
				got = append(got, textOf(cells[1+j]))
				wantRow = append(wantRow, want.Suggestions[i].Point[f.Name].String())
			}
			if d := cmp.Diff(wantRow, got); d != "" {
				t.Errorf("row %d (-API's suggestion +page):\n%s", i+1, d)
			}
			// The draft form carries the space and the point, in the space's JSON form.
			f := mustQuery(t, row, "form.draft-form")
			if action, _ := attr(f, "action"); action != "/optimizer/drafts" {
				t.Errorf("row %d: draft form posts to %q, want /optimizer/drafts", i+1, action)
			}
			if got := inputValue(t, f, "space"); got != want.SpaceRef {
				t.Errorf("row %d: draft form space %q, want %s", i+1, got, want.SpaceRef)
			}
			var pt design.Point
			if err := json.Unmarshal([]byte(inputValue(t, f, "point")), &pt); err != nil {
				t.Fatalf("row %d: draft form point: %v", i+1, err)
			}
			if d := cmp.Diff(want.Suggestions[i].Point, pt); d != "" {
				t.Errorf("row %d: draft form point (-suggestion +form):\n%s", i+1, d)
			}
			drafts = append(drafts, f)
		}
		// The researcher drafts on the protocols of their site only.
		zgz := map[string]bool{}
		ps, _, err := e.store.FindProtocols(context.Background(), clink.ProtocolFilter{Site: "ZGZ", Page: clink.Page{Limit: clink.MaxLimit}})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			if !p.Voided {
				zgz[strconv.FormatInt(p.ID, 10)] = true
			}
		}
		options := queryAll(drafts[0], "select[name=protocol] option")
		var ids []string
		for _, o := range options {
			v, _ := attr(o, "value")
			ids = append(ids, v)
			if !zgz[v] {
				t.Errorf("draft form offers protocol %s (%s), which is not a ZGZ protocol version", v, textOf(o))
			}
		}
		if len(ids) != len(zgz) {
			t.Errorf("draft form offers %d protocol versions, want ZGZ's %d", len(ids), len(zgz))
		}
		// Two donors, in turn.
		var donors []string
		for _, li := range queryAll(doc, "#donor-plan li") {
			donors = append(donors, textOf(li))
		}
		wantDonors := []string{"Donor 1: conditions 1, 3 and the reference arm.", "Donor 2: conditions 2, 4 and the reference arm."}
		if d := cmp.Diff(wantDonors, donors); d != "" {
			t.Errorf("donor plan (-want +got):\n%s", d)
		}
		// One partial-dependence figure per factor, each with its SVG.
		var figs []string
		for _, fig := range queryAll(doc, "#plan figure.chart") {
			id, _ := attr(fig, "id")
			figs = append(figs, id)
			if query(fig, "svg") == nil {
				t.Errorf("figure %s has no svg", id)
			}
		}
		var wantFigs []string
		for _, f := range space.Factors {
			wantFigs = append(wantFigs, "chart-pd-"+f.Name)
		}
		if d := cmp.Diff(wantFigs, figs); d != "" {
			t.Errorf("partial-dependence figures (-want +got):\n%s", d)
		}

		// The downloads of the IL-2 figure: an SVG document, and a CSV holding the plan's
		// partial dependence in full precision.
		fig := mustQuery(t, doc, "figure#chart-pd-il2")
		for _, ext := range []string{"svg", "csv"} {
			a := mustQuery(t, fig, "a[href*=pd-il2."+ext+"]")
			href, _ := attr(a, "href")
			resp, body := e.do(t, "GET", href, nil, viewer)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: got status %d, want 200 (body %.500s)", href, resp.StatusCode, body)
			}
			ct := resp.Header.Get("Content-Type")
			switch ext {
			case "svg":
				var root struct{ XMLName xml.Name }
				if ct != "image/svg+xml" || xml.Unmarshal([]byte(body), &root) != nil || root.XMLName.Local != "svg" {
					t.Errorf("GET %s: got Content-Type %q and a %q document, want image/svg+xml with an svg root", href, ct, root.XMLName.Local)
				}
			case "csv":
				if !strings.HasPrefix(ct, "text/csv") {
					t.Errorf("GET %s: got Content-Type %q, want text/csv", href, ct)
				}
				checkDependenceCSV(t, body, want.Dependence[0])
			}
		}
	})

	t.Run("draft", func(t *testing.T) {
		if len(drafts) == 0 {
			t.Skip("no draft forms (see the plan test)")
		}
		base := latestVersion(t, e.store, "IL-2 alone")
		f := drafts[0]
		form := url.Values{"space": {inputValue(t, f, "space")}, "point": {inputValue(t, f, "point")},
			"protocol": {strconv.FormatInt(base.ID, 10)}}
		before := auditCount(t, e.store)
		resp, body := e.do(t, "POST", "/optimizer/drafts", form, researcher)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("POST the draft form: got status %d, want 303 (body %.1000s)", resp.StatusCode, body)
		}
		d := latestVersion(t, e.store, base.Name)
		if d.Version != base.Version+1 || d.CreatedBy != "researcher-zgz" {
			t.Fatalf("got latest version %d by %s, want %d by researcher-zgz", d.Version, d.CreatedBy, base.Version+1)
		}
		if loc, wantLoc := resp.Header.Get("Location"), fmt.Sprintf("/protocols/%d?drafted=1", d.ID); loc != wantLoc {
			t.Errorf("got Location %q, want %q", loc, wantLoc)
		}
		if after := auditCount(t, e.store); after != before+1 {
			t.Errorf("the audit trail grew from %d to %d events, want one creation", before, after)
		}
		pt, err := optimizer.ProtocolPoint(space, d)
		if err != nil {
			t.Fatalf("the draft %s v%d is not in nk-demo: %v", d.Name, d.Version, err)
		}
		if diff := cmp.Diff(want.Suggestions[0].Point, pt); diff != "" {
			t.Errorf("the draft reads back as another condition (-suggested +drafted):\n%s", diff)
		}
		doc := e.page(t, resp.Header.Get("Location"), researcher, http.StatusOK)
		if h := textOf(mustQuery(t, doc, "h1")); !strings.Contains(h, base.Name) {
			t.Errorf("the protocol page's heading is %q, want it to name %s", h, base.Name)
		}
	})

	t.Run("viewer", func(t *testing.T) {
		doc := e.page(t, path, viewer, http.StatusOK)
		if n := len(queryAll(doc, "#suggestion-table tbody tr")); n != 4 {
			t.Errorf("got %d rows, want 4", n)
		}
		if n := len(queryAll(doc, "form.draft-form")); n != 0 {
			t.Errorf("a viewer sees %d draft forms, want none", n)
		}
		if strings.Contains(textOf(mustQuery(t, doc, "#suggestion-table thead")), "Draft") {
			t.Errorf("a viewer's table has a draft column")
		}
		point, _ := json.Marshal(want.Suggestions[0].Point)
		base := latestVersion(t, e.store, "IL-2 alone")
		bcn := e.signIn(t, "researcher-bcn") // signing in is audited: before the count
		before := auditCount(t, e.store)
		resp, _ := e.do(t, "POST", "/optimizer/drafts", url.Values{"space": {want.SpaceRef}, "point": {string(point)},
			"protocol": {strconv.FormatInt(base.ID, 10)}}, viewer)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("a viewer's draft: got status %d, want 403", resp.StatusCode)
		}
		// Another site's researcher may not draft on a Zaragoza protocol either.
		resp, _ = e.do(t, "POST", "/optimizer/drafts", url.Values{"space": {want.SpaceRef}, "point": {string(point)},
			"protocol": {strconv.FormatInt(base.ID, 10)}}, bcn)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("a BCN researcher's draft of a ZGZ protocol: got status %d, want 403", resp.StatusCode)
		}
		if after := auditCount(t, e.store); after != before {
			t.Errorf("refused drafts: the audit trail grew from %d to %d events", before, after)
		}
	})

	// A space no demo protocol lies in: a space-filling design, without predictions or partial
	// dependence, and notes that say so.
	ctx := clink.WithActor(context.Background(), "setup")
	far := `{"name": "far", "factors": [
	  {"name": "il2", "unit": "IU/mL", "kind": "continuous", "low": 2000, "high": 3000, "scale": "linear"},
	  {"name": "harvest_day", "unit": "d", "kind": "integer", "low": 7, "high": 28, "scale": "linear"}]}`
	if err := e.store.CreateDesignSpace(ctx, designSpace("ZGZ", "far", far)); err != nil {
		t.Fatal(err)
	}
	t.Run("space without results", func(t *testing.T) {
		doc := e.page(t, optimizerPageQuery(func(q url.Values) { q.Set("space", "far"); q.Set("batch", "3"); q.Set("donors", "1") }),
			researcher, http.StatusOK)
		checkPage(t, doc, "/optimizer")
		if n := len(queryAll(doc, "#suggestion-table tbody tr")); n != 3 {
			t.Errorf("got %d rows, want 3", n)
		}
		if n := len(queryAll(doc, "#suggestion-table th.num")); n != 0 {
			t.Errorf("got %d prediction columns, want none (nothing to predict from)", n)
		}
		if n := len(queryAll(doc, "#plan figure.chart")); n != 0 {
			t.Errorf("got %d partial-dependence figures, want none", n)
		}
		notes := texts(queryAll(doc, "#plan .notice"))
		if len(notes) != 2 || !strings.Contains(notes[0], "space-filling") || !strings.Contains(notes[1], "no partial dependence") {
			t.Errorf("got notes %q, want the space-filling design's and the missing partial dependence's", notes)
		}
	})

	// A factor whose name holds a dot ("il.2" is the IL-2 dose, names being compared by their
	// letters and digits): its figure's downloads are NAME.svg and NAME.csv all the same.
	dotted := `{"name": "dotted", "factors": [
	  {"name": "il.2", "unit": "IU/mL", "kind": "continuous", "low": 0, "high": 1000, "scale": "log", "offset": 1},
	  {"name": "harvest_day", "unit": "d", "kind": "integer", "low": 7, "high": 28, "scale": "linear"}]}`
	if err := e.store.CreateDesignSpace(ctx, designSpace("ZGZ", "dotted", dotted)); err != nil {
		t.Fatal(err)
	}
	t.Run("factor name with a dot", func(t *testing.T) {
		doc := e.page(t, optimizerPageQuery(func(q url.Values) { q.Set("space", "dotted"); q.Set("batch", "2"); q.Set("donors", "1") }),
			viewer, http.StatusOK)
		var fig *html.Node
		for _, f := range queryAll(doc, "#plan figure.chart") {
			if id, _ := attr(f, "id"); id == "chart-pd-il.2" {
				fig = f
			}
		}
		if fig == nil {
			t.Fatal("no figure chart-pd-il.2")
		}
		for _, ext := range []string{"svg", "csv"} {
			href, _ := attr(mustQuery(t, fig, "a[href*=pd-il.2."+ext+"]"), "href")
			if resp, body := e.do(t, "GET", href, nil, viewer); resp.StatusCode != http.StatusOK {
				t.Errorf("GET %s: got status %d, want 200 (body %.300s)", href, resp.StatusCode, body)
			}
		}
	})

	t.Run("bad questions", func(t *testing.T) {
		for _, tc := range []struct {
			name, field string
			edit        func(url.Values)
		}{
			{"batch 0", "batch", func(q url.Values) { q.Set("batch", "0") }},
			{"batch not a number", "batch", func(q url.Values) { q.Set("batch", "four") }},
			{"more donors than conditions", "donors", func(q url.Values) { q.Set("donors", "5") }},
			{"purity above 100", "purity_min", func(q url.Values) { q.Set("purity_min", "120") }},
			{"unknown objective", "objective", func(q url.Values) { q.Set("objective", "speed") }},
			{"no objective", "objective", func(q url.Values) { q.Set("objective", ""); q.Set("objective2", "") }},
			{"unknown space", "space", func(q url.Values) { q.Set("space", "no-such-space") }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				doc := e.page(t, optimizerPageQuery(tc.edit), researcher, http.StatusUnprocessableEntity)
				checkPage(t, doc, "/optimizer")
				if msg := fieldMessage(t, doc, tc.field); msg == "" {
					t.Errorf("the message next to %s is empty", tc.field)
				}
				if query(doc, "#plan") != nil || query(doc, "#suggestion-table") != nil {
					t.Errorf("a refused question shows a plan")
				}
			})
		}
	})
}

// checkDependenceCSV checks that a partial-dependence CSV holds dep: per series (mean, low,
// high) the factor's values with the predicted values, in full precision.
func checkDependenceCSV(t *testing.T, body string, dep optimizer.Dependence) {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("CSV: %v", err)
	}
	if len(recs) != 1+3*len(dep.X) {
		t.Fatalf("CSV: got %d records, want a header and %d rows", len(recs), 3*len(dep.X))
	}
	series := map[string][]float64{"predicted mean": dep.Mean, "95 % interval, low": dep.Low, "95 % interval, high": dep.High}
	for i, r := range recs[1:] {
		ys, ok := series[r[0]]
		if !ok {
			t.Fatalf("CSV row %d: unknown series %q", i+1, r[0])
		}
		j := i % len(dep.X)
		x, errX := strconv.ParseFloat(r[1], 64)
		y, errY := strconv.ParseFloat(r[2], 64)
		if errX != nil || errY != nil || x != dep.X[j] || y != ys[j] {
			t.Errorf("CSV row %d: got %s (%s, %s), want (%g, %g)", i+1, r[0], r[1], r[2], dep.X[j], ys[j])
		}
	}
}
