package http_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/analysis"
	"github.com/clink-consortium/clink/flow"
	"github.com/clink-consortium/clink/kinetics"
)

// The web pages, checked by CSS selectors on the HTML the server answers (no browser: see
// ui_browser_test.go for the same journeys in Chromium).

// TestStaticAssets checks that the stylesheet and htmx are served from this origin under a URL
// carrying the first 12 hex digits of their SHA-256 (computed here from the files in
// static/), cacheable for a year; an old version of the URL still gets the file, not cached;
// an unknown file is 404.
func TestStaticAssets(t *testing.T) {
	e := newUIEnvOn(t, newStore(t))
	doc := e.page(t, "/login", nil, 200)
	for _, tc := range []struct {
		sel, attr, file, ctype string
	}{
		{`link[rel=stylesheet]`, "href", "clink.css", "text/css"},
		{`script[src]`, "src", "htmx.min.js", "text/javascript"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile("static/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(data)
			want := "/static/" + hex.EncodeToString(sum[:])[:12] + "/" + tc.file
			n := mustQuery(t, doc, tc.sel)
			if got, _ := attr(n, tc.attr); got != want {
				t.Fatalf("got %s %q, want %q", tc.attr, got, want)
			}
			resp, body := e.do(t, "GET", want, nil, nil)
			if resp.StatusCode != 200 || body != string(data) {
				t.Fatalf("GET %s: got status %d and %d bytes, want 200 and the %d bytes of the file", want, resp.StatusCode, len(body), len(data))
			}
			if got := resp.Header.Get("Content-Type"); !strings.HasPrefix(got, tc.ctype) {
				t.Errorf("got Content-Type %q, want %s", got, tc.ctype)
			}
			if got := resp.Header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
				t.Errorf("got Cache-Control %q, want a year, immutable", got)
			}
			old := "/static/000000000000/" + tc.file
			resp, body = e.do(t, "GET", old, nil, nil)
			if resp.StatusCode != 200 || body != string(data) || resp.Header.Get("Cache-Control") != "no-cache" {
				t.Errorf("GET %s: got status %d, Cache-Control %q, want 200, the file and no-cache", old, resp.StatusCode, resp.Header.Get("Cache-Control"))
			}
		})
	}
	if resp, _ := e.do(t, "GET", "/static/0/nothing.js", nil, nil); resp.StatusCode != 404 {
		t.Errorf("GET an unknown asset: got status %d, want 404", resp.StatusCode)
	}
	// htmx is version 2, with its licence beside it.
	js, err := os.ReadFile("static/htmx.min.js")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(js, []byte(`version:"2.`)) {
		t.Errorf("static/htmx.min.js is not htmx 2")
	}
	if lic, err := os.ReadFile("static/htmx.LICENSE"); err != nil || !bytes.Contains(lic, []byte("Zero-Clause BSD")) {
		t.Errorf("static/htmx.LICENSE: got %v, want the 0BSD licence of htmx", err)
	}
}

// checkPage checks what every page must be: one h1, unique ids, a label for every form
// control, no inline script, style or event handler (the CSP forbids them), and the header's
// current section.
func checkPage(t *testing.T, doc *html.Node, nav string) {
	t.Helper()
	if n := len(queryAll(doc, "h1")); n != 1 {
		t.Errorf("got %d h1 elements, want 1", n)
	}
	ids := map[string]bool{}
	labels := map[string]bool{}
	for _, l := range queryAll(doc, "label[for]") {
		v, _ := attr(l, "for")
		labels[v] = true
	}
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		for _, a := range n.Attr {
			switch {
			case a.Key == "id":
				if ids[a.Val] {
					t.Errorf("the id %q appears twice", a.Val)
				}
				ids[a.Val] = true
			case a.Key == "style", strings.HasPrefix(a.Key, "on"):
				t.Errorf("<%s> has the attribute %s, which the CSP refuses", n.Data, a.Key)
			}
		}
		switch n.Data {
		case "script":
			if src, _ := attr(n, "src"); !strings.HasPrefix(src, "/static/") {
				t.Errorf("a script not from /static/ (src %q)", src)
			}
		case "style":
			t.Errorf("an inline <style> element")
		case "input", "select", "textarea":
			if typ, _ := attr(n, "type"); typ == "hidden" || typ == "submit" {
				continue
			}
			id, _ := attr(n, "id")
			if id == "" || !labels[id] {
				name, _ := attr(n, "name")
				t.Errorf("the %s %q (id %q) has no label", n.Data, name, id)
			}
		}
	}
	if nav != "" {
		cur := mustQuery(t, doc, `header nav a[aria-current=page]`)
		if href, _ := attr(cur, "href"); href != nav {
			t.Errorf("got the current section %q, want %q", href, nav)
		}
	}
}

// TestPagesWellFormed checks every page of this file's set as a researcher.
func TestPagesWellFormed(t *testing.T) {
	e := newUIEnv(t)
	c := e.cultureOf(t, "", clink.StatusCompleted, 5)
	user := "researcher-" + strings.ToLower(c.Site)
	cookie := e.signIn(t, user)
	obs, _, err := e.store.FindObservations(context.Background(), clink.ObservationFilter{CultureID: c.ID, Page: clink.Page{Limit: 1}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, nav string }{
		{"/", "/"},
		{"/?site=all&date=2026-11-21", "/"},
		{"/cultures", "/cultures"},
		{"/cultures?site=" + c.Site + "&status=completed", "/cultures"},
		{fmt.Sprintf("/cultures/%d", c.ID), "/cultures"},
		{fmt.Sprintf("/observations/%d/edit", obs[0].ID), "/cultures"},
		{"/account", "/account"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			checkPage(t, e.page(t, tc.path, cookie, 200), tc.nav)
		})
	}
	t.Run("login", func(t *testing.T) { checkPage(t, e.page(t, "/login", nil, 200), "") })
	t.Run("error", func(t *testing.T) { checkPage(t, e.page(t, "/cultures/99999999", cookie, 404), "") })
}

// dueFixture is a store with one protocol whose observation days are 0, 3, 6 (IL-2 feeds) and
// 10 (the last day), and cultures started so that on the fixture's today (demo.DefaultToday,
// 2026-11-20) they are on day 3 (not observed), day 3 (observed), day 4, day 12 (past the last
// day) and day 3 (but completed).
func dueFixture(t *testing.T) (*uiEnv, map[string]*clink.Culture) {
	t.Helper()
	store := newStore(t)
	ctx := clink.WithActor(context.Background(), "setup")
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	check(store.CreateSite(ctx, &clink.Site{Code: "ZGZ", Name: "Universidad de Zaragoza", Kind: clink.SiteLab}))
	check(store.CreateSite(ctx, &clink.Site{Code: "BCN", Name: "Hospital Clínic Barcelona", Kind: clink.SiteHospital}))
	for _, site := range []string{"ZGZ", "BCN"} {
		u := &clink.User{Username: "researcher-" + strings.ToLower(site), FullName: "R " + site, Email: strings.ToLower(site) + "@example.org", Site: site, Roles: []string{clink.RoleResearcher}}
		check(store.CreateUser(ctx, u, testPassword))
	}
	check(store.CreateComponent(ctx, &clink.Component{Site: "ZGZ", Name: "IL-2", Category: clink.CategoryCytokine, Unit: clink.UnitIUPerML}))
	p := &clink.Protocol{Site: "ZGZ", Name: "IL-2 every 3 days", StartingMaterial: clink.StartCD56SelectedNK,
		Components: []clink.ProtocolComponent{{Component: "IL-2", Dose: 500, Unit: "IU/mL", Days: []int{0, 3, 6}}},
		Vessel:     clink.VesselFlask, SeedingDensity: 1e6, DurationDays: 10}
	check(store.CreateProtocol(ctx, p))
	out := map[string]*clink.Culture{}
	for _, tc := range []struct {
		name, start, status string
		observed            []int
	}{
		{"day3", "2026-11-17", clink.StatusRunning, []int{0}},
		{"day3-done", "2026-11-17", clink.StatusRunning, []int{0, 3}},
		{"day4", "2026-11-16", clink.StatusRunning, []int{0, 3}},
		{"day12", "2026-11-08", clink.StatusRunning, []int{0, 3, 6, 10}},
		{"completed", "2026-11-17", clink.StatusCompleted, []int{0}},
	} {
		d := &clink.Donor{Site: "ZGZ", HCMV: clink.HCMVPositive, ConsentDate: "2025-01-15"}
		check(store.CreateDonor(ctx, d))
		c := &clink.Culture{Site: "ZGZ", DonorID: d.ID, ProtocolID: p.ID, StartDate: tc.start, StartingCells: 1e6, StartingNKPct: 80}
		check(store.CreateCulture(ctx, c))
		for _, day := range tc.observed {
			check(store.CreateObservation(ctx, &clink.Observation{CultureID: c.ID, Day: day, ViableCells: 1e6 * float64(day+1), NKPct: ptr(80.0)}))
		}
		if tc.status != clink.StatusRunning {
			_, err := store.SetCultureStatus(ctx, c.ID, clink.CultureStatusChange{Status: tc.status})
			check(err)
		}
		out[tc.name] = c
	}
	return newUIEnvOn(t, store), out
}

// rowCodes returns the link texts of the first cells of a table's body rows.
func rowCodes(doc *html.Node, table string) []string {
	var out []string
	for _, a := range queryAll(doc, table+" tbody tr td a") {
		if a.Parent.PrevSibling == nil || a.Parent == firstElement(a.Parent.Parent) {
			out = append(out, textOf(a))
		}
	}
	slices.Sort(out)
	return out
}

func firstElement(n *html.Node) *html.Node {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode {
			return c
		}
	}
	return nil
}

// TestDashboardDue checks the rule of what is due (ui_dashboard.go) on hand-made cultures: the
// expected lists are worked out from the rule by hand, not by the server's code.
func TestDashboardDue(t *testing.T) {
	e, cs := dueFixture(t)
	cookie := e.signIn(t, "researcher-zgz")
	codes := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, cs[n].Code)
		}
		slices.Sort(out)
		return out
	}
	tests := []struct {
		name, query  string
		due, running []string
		heading      string
	}{
		// Day 3 is a feed day: due unless observed; day 4 is not; day 12 is past the last day
		// (10): harvest. The completed culture is not running.
		{"today", "/", codes("day3", "day12"), codes("day3", "day3-done", "day4", "day12"), "Due today: 2 observations"},
		// Two days later: day 5 (no), day 5 (no), day 6 (feed day, not observed), day 14 (harvest).
		{"in two days", "/?date=2026-11-22", codes("day4", "day12"), codes("day3", "day3-done", "day4", "day12"), "Due on 2026-11-22: 2 observations"},
		// Before any culture started nothing runs.
		{"before", "/?date=2026-11-01", nil, nil, "Due on 2026-11-01: 0 observations"},
		// Another site's dashboard has none of these.
		{"other site", "/?site=BCN", nil, nil, "Due today: 0 observations"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := e.page(t, tc.query, cookie, 200)
			if got := textOf(mustQuery(t, doc, "#due h2")); got != tc.heading {
				t.Errorf("got the heading %q, want %q", got, tc.heading)
			}
			if got := rowCodes(doc, "#due-table"); !slices.Equal(got, tc.due) {
				t.Errorf("got due %v, want %v", got, tc.due)
			}
			if got := rowCodes(doc, "#running-table"); !slices.Equal(got, tc.running) {
				t.Errorf("got running %v, want %v", got, tc.running)
			}
		})
	}
	// The culture that is past its last day says so.
	doc := e.page(t, "/", cookie, 200)
	if n := len(queryAll(doc, "#due-table .badge.due")); n != 1 {
		t.Errorf("got %d harvest badges, want 1 (the culture on day 12 of 10)", n)
	}
	// Bad filters are refused with the field named.
	resp, body := e.do(t, "GET", "/?date=22/11/2026", nil, cookie)
	if resp.StatusCode != 422 || !strings.Contains(textOf(mustQuery(t, parseHTML(t, body), "#error")), "date") {
		t.Errorf("GET /?date=22/11/2026: got status %d, want 422 naming date", resp.StatusCode)
	}
}

// TestDashboardSections checks the dashboard's sections on the demo data.
func TestDashboardSections(t *testing.T) {
	e := newUIEnv(t)
	cookie := e.signIn(t, "viewer")
	// The first visit does not wait for the scoreboard: it says it is being computed and
	// loads it from a page that waits for it (also a link without JavaScript).
	first := e.page(t, "/", cookie, 200)
	pending := mustQuery(t, first, "#scoreboard-pending")
	link := mustQuery(t, pending, "a")
	hx, _ := attr(pending, "hx-get")
	href, _ := attr(link, "href")
	if hx != "/dashboard/scoreboard" || href != "/dashboard/scoreboard" {
		t.Errorf("pending scoreboard: hx-get %q, link %q; want both /dashboard/scoreboard", hx, href)
	}
	if len(queryAll(first, "#scoreboard-table")) != 0 {
		t.Errorf("the first visit shows a scoreboard table: want it pending")
	}
	e.page(t, "/dashboard/scoreboard", cookie, 200)
	doc := e.page(t, "/", cookie, 200)
	// The viewer has no site: every site is shown.
	running, _, err := e.store.FindCultures(context.Background(), clink.CultureFilter{Status: clink.StatusRunning, Page: clink.Page{Limit: clink.MaxLimit}})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(queryAll(doc, "#running-table tbody tr")); got != len(running) {
		t.Errorf("got %d running cultures, want the %d of the store", got, len(running))
	}
	if got := len(queryAll(doc, "#latest-observations li a")); got != 8 {
		t.Errorf("got %d latest observations, want 8", got)
	}
	if got := len(queryAll(doc, "#latest-assays li a")); got != 8 {
		t.Errorf("got %d latest assays, want 8", got)
	}
	rows := queryAll(doc, "#scoreboard-table tbody tr")
	if len(rows) == 0 || len(rows) > 8 {
		t.Errorf("got %d scoreboard rows, want 1 to 8", len(rows))
	}
	if len(queryAll(doc, "#scoreboard-table tbody tr.front")) == 0 {
		t.Errorf("the scoreboard marks no protocol on the Pareto front")
	}
	fig := mustQuery(t, doc, "#chart-pareto")
	if len(queryAll(fig, "svg circle")) == 0 {
		t.Errorf("the Pareto chart has no points")
	}
	for _, a := range queryAll(fig, "figcaption a") {
		href, _ := attr(a, "href")
		resp, body := e.do(t, "GET", href, nil, cookie)
		if resp.StatusCode != 200 || len(body) == 0 {
			t.Errorf("GET %s: got status %d, want 200 with a body", href, resp.StatusCode)
		}
	}
	if got := len(queryAll(doc, "#activity-table tbody tr")); got != 16 {
		t.Errorf("got %d activity rows, want 16", got)
	}
}

// TestCulturePage checks the culture page's sections against the store.
func TestCulturePage(t *testing.T) {
	e := newUIEnv(t)
	ctx := context.Background()
	c := e.cultureOf(t, "", clink.StatusCompleted, 5)
	cookie := e.signIn(t, "viewer")
	doc := e.page(t, fmt.Sprintf("/cultures/%d", c.ID), cookie, 200)
	donor, err := e.store.FindDonorByID(ctx, c.DonorID)
	if err != nil {
		t.Fatal(err)
	}
	facts := textOf(mustQuery(t, doc, "#culture-facts"))
	for _, want := range []string{donor.Code, fmt.Sprintf("%s v%d", c.ProtocolName, c.ProtocolVersion), c.Site, c.StartDate} {
		if !strings.Contains(facts, want) {
			t.Errorf("the culture's facts %q do not name %q", facts, want)
		}
	}
	if got := textOf(mustQuery(t, doc, "#culture-status")); got != clink.StatusCompleted {
		t.Errorf("got the status %q, want completed", got)
	}
	obs, _, err := e.store.FindObservations(ctx, clink.ObservationFilter{CultureID: c.ID, Page: clink.Page{Limit: clink.MaxLimit}})
	if err != nil {
		t.Fatal(err)
	}
	withNK := 0
	for _, o := range obs {
		if o.NKPct != nil {
			withNK++
		}
	}
	if got := len(queryAll(doc, "#observation-table tbody tr")); got != len(obs) {
		t.Errorf("got %d observation rows, want %d", got, len(obs))
	}
	// One point per count for viable cells, one per count with NK purity for NK cells.
	if got := len(queryAll(doc, "#chart-growth svg circle > title")); got != len(obs)+withNK {
		t.Errorf("got %d points in the growth chart, want %d + %d", got, len(obs), withNK)
	}
	for _, id := range []string{"chart-growth", "chart-fold", "chart-purity"} {
		fig := mustQuery(t, doc, "#"+id)
		links := queryAll(fig, "figcaption a[download]")
		if len(links) != 2 {
			t.Fatalf("#%s has %d download links, want 2 (SVG, CSV)", id, len(links))
		}
		for _, a := range links {
			href, _ := attr(a, "href")
			resp, body := e.do(t, "GET", href, nil, cookie)
			switch {
			case resp.StatusCode != 200:
				t.Errorf("GET %s: got status %d, want 200", href, resp.StatusCode)
			case strings.HasSuffix(href, ".svg"):
				var root struct{ XMLName xml.Name }
				if err := xml.Unmarshal([]byte(body), &root); err != nil || root.XMLName.Local != "svg" || resp.Header.Get("Content-Type") != "image/svg+xml" {
					t.Errorf("GET %s: got %s, %v, want an SVG document", href, resp.Header.Get("Content-Type"), err)
				}
			case strings.HasSuffix(href, ".csv"):
				if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || strings.Count(body, "\n") < 2 {
					t.Errorf("GET %s: got %s with %d lines, want CSV with a header and rows", href, resp.Header.Get("Content-Type"), strings.Count(body, "\n"))
				}
			}
		}
	}
	// Day 0, 7 and 14 of the demo cultures report markers.
	markerDays := 0
	for _, o := range obs {
		if len(o.Markers) > 0 {
			markerDays++
		}
	}
	if got := len(queryAll(doc, "#marker-table thead th")) - 1; got != markerDays {
		t.Errorf("got %d days in the marker table, want %d", got, markerDays)
	}
	assays, _, err := e.store.FindAssays(ctx, clink.AssayFilter{CultureID: c.ID, Page: clink.Page{Limit: clink.MaxLimit}})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(queryAll(doc, "#cytotoxicity article.assay")); got != len(assays) {
		t.Errorf("got %d assays, want %d", got, len(assays))
	}
	for _, a := range assays {
		fig := query(doc, fmt.Sprintf("#assay-%d figure.chart", a.ID))
		if fig == nil {
			t.Errorf("assay %d has no chart", a.ID)
			continue
		}
		if len(queryAll(fig, "svg circle")) == 0 {
			t.Errorf("the chart of assay %d has no points", a.ID)
		}
	}
	// The audit trail holds the culture's creation and every observation's.
	if got := len(queryAll(doc, "#audit-table tbody tr")); got < 1+len(obs) {
		t.Errorf("got %d audit rows, want at least %d", got, 1+len(obs))
	}
	// A viewer writes nothing: no form, no correction link.
	if query(doc, "#observation-form") != nil {
		t.Errorf("a viewer sees the observation form")
	}
	// Unknown cultures and charts are 404 pages.
	for _, p := range []string{"/cultures/99999999", "/cultures/nonsense", fmt.Sprintf("/cultures/%d/charts/nothing.svg", c.ID), fmt.Sprintf("/cultures/%d/charts/growth.png", c.ID)} {
		resp, body := e.do(t, "GET", p, nil, cookie)
		if resp.StatusCode != 404 || query(parseHTML(t, body), "#error") == nil {
			t.Errorf("GET %s: got status %d, want a 404 page", p, resp.StatusCode)
		}
	}
}

// TestAddObservationForm is the journey of the browser test without JavaScript: a plain POST
// and redirect-after-post.
func TestAddObservationForm(t *testing.T) {
	e := newUIEnv(t)
	ctx := context.Background()
	c := e.cultureOf(t, "", clink.StatusRunning, 2)
	own := e.signIn(t, "researcher-"+strings.ToLower(c.Site))
	other := e.signIn(t, map[bool]string{true: "researcher-bcn", false: "researcher-zgz"}[c.Site == "ZGZ"])
	viewer := e.signIn(t, "viewer")
	path := fmt.Sprintf("/cultures/%d/observations", c.ID)
	day := nextFreeDay(t, e, c)
	audit := func() int {
		_, n, err := e.store.FindAuditEvents(ctx, clink.AuditFilter{Page: clink.Page{Limit: 1}})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	good := url.Values{"day": {fmt.Sprint(day)}, "viable_cells": {"3.2e7"}, "viability_pct": {"93"}, "nk_pct": {"71,5"}, "markers.CD16": {"80"}}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for key, vals := range good {
			f[key] = vals
		}
		f.Set(k, v)
		return f
	}
	refusals := []struct {
		name   string
		form   url.Values
		status int
		field  string // the input the message is next to
		msg    string
	}{
		{"viability above 100", with("viability_pct", "134"), 422, "viability_pct", "134 is above 100"},
		{"not a number", with("viable_cells", "lots"), 422, "viable_cells", `"lots" is not a number`},
		{"no count", with("viable_cells", ""), 422, "viable_cells", "is required"},
		{"negative day", with("day", "-1"), 422, "day", "before the culture started"},
		{"marker above 100", with("markers.CD57", "101"), 422, "markers.CD57", "101 is above 100"},
		{"day already observed", with("day", "0"), 409, "day", "already has an observation on day 0"},
	}
	stored, before := e.observationCount(t, c.ID), audit()
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(t, "POST", path, tc.form, own)
			if resp.StatusCode != tc.status {
				t.Fatalf("got status %d, want %d", resp.StatusCode, tc.status)
			}
			doc := parseHTML(t, body)
			form := mustQuery(t, doc, "#observation-form")
			input := mustQuery(t, form, fmt.Sprintf(`input[name=%q]`, tc.field))
			msg := mustQuery(t, form, fmt.Sprintf(`.error[data-field=%q]`, tc.field))
			if got := textOf(msg); !strings.Contains(got, tc.msg) {
				t.Errorf("got the message %q, want it to contain %q", got, tc.msg)
			}
			// The message sits in the field's paragraph and is its description.
			if msg.Parent != input.Parent {
				t.Errorf("the message is not next to its input")
			}
			msgID, _ := attr(msg, "id")
			if got, _ := attr(input, "aria-describedby"); got != msgID {
				t.Errorf("got aria-describedby %q, want %q", got, msgID)
			}
			// Every value is kept as typed.
			for name, vals := range tc.form {
				in := query(form, fmt.Sprintf(`input[name=%q]`, name))
				if in == nil {
					t.Errorf("no input %s", name)
					continue
				}
				if got, _ := attr(in, "value"); got != vals[0] {
					t.Errorf("input %s holds %q, want %q as typed", name, got, vals[0])
				}
			}
		})
	}
	if n, a := e.observationCount(t, c.ID), audit(); n != stored || a != before {
		t.Fatalf("after the refusals the store holds %d observations and %d audit events, want %d and %d", n, a, stored, before)
	}
	// A researcher of another site and a viewer see no form, and their POST is a 403 page.
	for name, cookie := range map[string]*http.Cookie{"other site": other, "viewer": viewer} {
		t.Run(name, func(t *testing.T) {
			doc := e.page(t, fmt.Sprintf("/cultures/%d", c.ID), cookie, 200)
			if query(doc, "#observation-form") != nil {
				t.Errorf("the page shows the observation form")
			}
			resp, body := e.do(t, "POST", path, good, cookie)
			if resp.StatusCode != 403 || !strings.Contains(textOf(mustQuery(t, parseHTML(t, body), "#error-detail")), "forbidden") {
				t.Errorf("POST: got status %d, want a 403 page saying forbidden", resp.StatusCode)
			}
		})
	}
	if n, a := e.observationCount(t, c.ID), audit(); n != stored || a != before {
		t.Fatalf("after the refused POSTs the store holds %d observations and %d audit events, want %d and %d", n, a, stored, before)
	}
	// A cross-site POST is refused before anything else.
	resp, _ := e.do(t, "POST", path, good, own, "Sec-Fetch-Site", "cross-site")
	if resp.StatusCode != 403 {
		t.Errorf("a cross-site POST: got status %d, want 403", resp.StatusCode)
	}
	// The good form is recorded, and the browser is sent back to the culture page.
	resp, body := e.do(t, "POST", path, good, own)
	if resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), fmt.Sprintf("/cultures/%d?added=%d", c.ID, day)) {
		t.Fatalf("got status %d, Location %q, want 303 to the culture page (body %.500s)", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	obs, _, err := e.store.FindObservations(ctx, clink.ObservationFilter{CultureID: c.ID, Page: clink.Page{Limit: clink.MaxLimit}})
	if err != nil {
		t.Fatal(err)
	}
	var got *clink.Observation
	for _, o := range obs {
		if o.Day == day {
			got = o
		}
	}
	if got == nil || got.ViableCells != 3.2e7 || got.ViabilityPct == nil || *got.ViabilityPct != 93 || got.NKPct == nil || *got.NKPct != 71.5 ||
		got.TPct != nil || got.Markers["CD16"] != 80 || len(got.Markers) != 1 || got.CreatedBy != "researcher-"+strings.ToLower(c.Site) {
		t.Fatalf("got the observation %+v, want day %d with 3.2e7 cells, 93 %% viable, 71.5 %% NK, no T, CD16 80 %%, by the researcher", got, day)
	}
	doc := e.page(t, resp.Header.Get("Location"), own, 200)
	mustQuery(t, doc, "#added")
	mustQuery(t, doc, fmt.Sprintf(`#observation-table tr[data-day="%d"]`, day))
}

// TestCorrectObservation checks that a correction needs a reason, and that the reason and the
// values before and after land in the audit trail shown on the culture page.
func TestCorrectObservation(t *testing.T) {
	e := newUIEnv(t)
	ctx := context.Background()
	c := e.cultureOf(t, "", clink.StatusRunning, 2)
	own := e.signIn(t, "researcher-"+strings.ToLower(c.Site))
	obs, _, err := e.store.FindObservations(ctx, clink.ObservationFilter{CultureID: c.ID, Page: clink.Page{Limit: 1}})
	if err != nil {
		t.Fatal(err)
	}
	o := obs[0]
	edit := e.page(t, fmt.Sprintf("/observations/%d/edit", o.ID), own, 200)
	form := mustQuery(t, edit, "#correction-form")
	values := url.Values{}
	for _, in := range queryAll(form, "input[name]") {
		name, _ := attr(in, "name")
		v, _ := attr(in, "value")
		values.Set(name, v)
	}
	if values.Get("day") != fmt.Sprint(o.Day) || values.Get("viable_cells") == "" {
		t.Fatalf("the correction form holds %v, want the recorded values of day %d", values, o.Day)
	}
	values.Set("viable_cells", "4.4e6")
	path := fmt.Sprintf("/observations/%d", o.ID)
	resp, body := e.do(t, "POST", path, values, own)
	if resp.StatusCode != 422 {
		t.Fatalf("without a reason: got status %d, want 422", resp.StatusCode)
	}
	if msg := query(parseHTML(t, body), `#correction-form .error[data-field=reason]`); msg == nil || !strings.Contains(textOf(msg), "is required") {
		t.Errorf("without a reason: no message next to the reason")
	}
	if now, err := e.store.FindObservationByID(ctx, o.ID); err != nil || now.ViableCells != o.ViableCells {
		t.Fatalf("without a reason the observation changed: %v, %v", now, err)
	}
	values.Set("reason", "haemocytometer re-read")
	resp, _ = e.do(t, "POST", path, values, own)
	if resp.StatusCode != 303 {
		t.Fatalf("with a reason: got status %d, want 303", resp.StatusCode)
	}
	if now, err := e.store.FindObservationByID(ctx, o.ID); err != nil || now.ViableCells != 4.4e6 {
		t.Fatalf("with a reason: got %v, %v, want 4.4e6 viable cells", now, err)
	}
	doc := e.page(t, fmt.Sprintf("/cultures/%d", c.ID), own, 200)
	found := false
	for _, tr := range queryAll(doc, "#audit-table tbody tr") {
		if txt := textOf(tr); strings.Contains(txt, "haemocytometer re-read") && strings.Contains(txt, "viable_cells") && strings.Contains(txt, "4400000") {
			found = true
		}
	}
	if !found {
		t.Errorf("the audit trail does not show the correction with its reason and the new value")
	}
	// Others cannot correct.
	other := e.signIn(t, "viewer")
	if query(e.page(t, fmt.Sprintf("/observations/%d/edit", o.ID), other, 200), "#correction-form") != nil {
		t.Errorf("a viewer sees the correction form")
	}
	if resp, _ := e.do(t, "POST", path, values, other); resp.StatusCode != 403 {
		t.Errorf("a viewer's correction: got status %d, want 403", resp.StatusCode)
	}
}

// TestChangePassword checks the account page's password change.
func TestChangePassword(t *testing.T) {
	e := newUIEnvOn(t, newStore(t))
	ctx := clink.WithActor(context.Background(), "setup")
	if err := e.store.CreateSite(ctx, &clink.Site{Code: "ZGZ", Name: "Universidad de Zaragoza", Kind: clink.SiteLab}); err != nil {
		t.Fatal(err)
	}
	u := &clink.User{Username: "ana", FullName: "Ana Researcher", Email: "ana@example.org", Site: "ZGZ", Roles: []string{clink.RoleResearcher}}
	if err := e.store.CreateUser(ctx, u, testPassword); err != nil {
		t.Fatal(err)
	}
	cookie := e.signIn(t, "ana")
	const next = "a much longer passphrase"
	tests := []struct {
		name                   string
		current, newPw, repeat string
		field, msg             string
	}{
		{"wrong current", "not my password", next, next, "current_password", "invalid username or password"},
		{"no current", "", next, next, "current_password", "is required"},
		{"mismatch", testPassword, next, next + "!", "confirm_password", "does not match"},
		{"too short", testPassword, "short", "short", "new_password", "at least 12"},
		{"contains the username", testPassword, "ana-and-more-words", "ana-and-more-words", "new_password", "contains the username"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(t, "POST", "/account/password", url.Values{"current_password": {tc.current}, "new_password": {tc.newPw}, "confirm_password": {tc.repeat}}, cookie)
			if resp.StatusCode != 422 {
				t.Fatalf("got status %d, want 422", resp.StatusCode)
			}
			doc := parseHTML(t, body)
			msg := query(doc, fmt.Sprintf(`#change-password .error[data-field=%q]`, tc.field))
			if msg == nil || !strings.Contains(strings.ToLower(textOf(msg)), tc.msg) {
				t.Errorf("got no message containing %q next to %s", tc.msg, tc.field)
			}
			// Passwords are never sent back.
			for _, in := range queryAll(doc, "input[type=password]") {
				if v, _ := attr(in, "value"); v != "" {
					t.Errorf("a password input holds %q", v)
				}
			}
		})
	}
	// The wrong current password above counts as a failed sign-in; wait out its delay.
	time.Sleep(2 * time.Second)
	resp, body := e.do(t, "POST", "/account/password", url.Values{"current_password": {testPassword}, "new_password": {next}, "confirm_password": {next}}, cookie)
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/account?changed=1" {
		t.Fatalf("got status %d, Location %q, want 303 to /account?changed=1 (body %.1000s)", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	// The change ended the session it was made in and gave the browser a new one.
	fresh := cookie
	for _, c := range resp.Cookies() {
		if c.Name == cookie.Name && c.Value != "" {
			fresh = c
		}
	}
	if fresh.Value == cookie.Value {
		t.Fatal("the password change set no new session cookie")
	}
	mustQuery(t, e.page(t, "/account?changed=1", fresh, 200), "#password-changed")
	e.page(t, "/account", cookie, 303) // the old session id signs in no more
	if _, err := e.store.Authenticate(ctx, "ana", next); err != nil {
		t.Errorf("the new password does not sign in: %v", err)
	}
}

// TestCultureList checks the filters and the paging of the cultures list.
func TestCultureList(t *testing.T) {
	e := newUIEnv(t)
	ctx := context.Background()
	cookie := e.signIn(t, "viewer")
	all, total, err := e.store.FindCultures(ctx, clink.CultureFilter{Page: clink.Page{Limit: clink.MaxLimit}})
	if err != nil {
		t.Fatal(err)
	}
	if total <= 50 {
		t.Fatalf("the demo data has %d cultures; the paging test needs more than 50", total)
	}
	doc := e.page(t, "/cultures", cookie, 200)
	rows := queryAll(doc, "#culture-table tbody tr")
	if len(rows) != 50 {
		t.Fatalf("got %d rows, want 50", len(rows))
	}
	// Newest first.
	if got := textOf(query(rows[0], "a")); got != all[len(all)-1].Code {
		t.Errorf("got %s first, want the newest culture %s", got, all[len(all)-1].Code)
	}
	next := mustQuery(t, doc, "nav.pager a[rel=next]")
	href, _ := attr(next, "href")
	if got := textOf(query(queryAll(e.page(t, href, cookie, 200), "#culture-table tbody tr")[0], "a")); got != all[len(all)-51].Code {
		t.Errorf("the second page starts with %s, want %s", got, all[len(all)-51].Code)
	}
	site, status := all[0].Site, clink.StatusCompleted
	want := 0
	for _, c := range all {
		if c.Site == site && c.Status == status && c.ProtocolID == all[0].ProtocolID {
			want++
		}
	}
	doc = e.page(t, fmt.Sprintf("/cultures?site=%s&status=%s&protocol=%d", site, status, all[0].ProtocolID), cookie, 200)
	rows = queryAll(doc, "#culture-table tbody tr")
	if len(rows) != min(want, 50) {
		t.Errorf("got %d rows for %s, %s, protocol %d, want %d", len(rows), site, status, all[0].ProtocolID, want)
	}
	for _, tr := range rows {
		if txt := textOf(tr); !strings.Contains(txt, site) || !strings.Contains(txt, status) {
			t.Errorf("the row %q is not at %s or not %s", txt, site, status)
		}
	}
	if sel := mustQuery(t, doc, "#filter-site option[selected]"); textOf(sel)[:3] != site {
		t.Errorf("the site filter shows %q, want %s", textOf(sel), site)
	}
	for _, q := range []string{"?site=zz", "?status=growing", "?protocol=x", "?offset=-1"} {
		if resp, _ := e.do(t, "GET", "/cultures"+q, nil, cookie); resp.StatusCode != 422 {
			t.Errorf("GET /cultures%s: got status %d, want 422", q, resp.StatusCode)
		}
	}
}

// TestPagesNeedSignIn checks that a visitor who is not signed in is sent to /login.
func TestPagesNeedSignIn(t *testing.T) {
	e := newUIEnvOn(t, newStore(t))
	for _, p := range []string{"/", "/cultures", "/cultures/1", "/account", "/observations/1/edit", "/dashboard/charts/pareto.svg"} {
		resp, _ := e.do(t, "GET", p, nil, nil)
		if resp.StatusCode != 303 || resp.Header.Get("Location") != "/login" {
			t.Errorf("GET %s: got status %d, Location %q, want 303 to /login", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

// TestCulturePageFCS checks the culture page's list of attached FCS files: name, day, hash,
// template and measures, with the file downloadable.
func TestCulturePageFCS(t *testing.T) {
	e, cs := dueFixture(t)
	ctx := clink.WithActor(context.Background(), "researcher-zgz")
	data := flowFile(t, "FCSFiles", "data1.fcs")
	tmpl := &clink.GatingTemplate{Site: "ZGZ", Name: "NK panel", GatingML: string(flowFile(t, "Gating-MLFiles", "gates1.xml")),
		Mapping: clink.GateMapping{Denominator: "Polygon1", NKPct: "Ellipsoid3D", TPct: "Polygon2"}}
	svc := flow.New(e.store)
	if err := svc.CreateTemplate(ctx, tmpl); err != nil {
		t.Fatal(err)
	}
	c := cs["day3-done"]
	obs, _, err := e.store.FindObservations(ctx, clink.ObservationFilter{CultureID: c.ID, Page: clink.Page{Limit: clink.MaxLimit}})
	if err != nil {
		t.Fatal(err)
	}
	atts, err := svc.Attach(ctx, []*clink.FCSUpload{{ObservationID: obs[1].ID, FileName: "data1.fcs", Data: data, Template: tmpl.Ref(), Replace: true}})
	if err != nil {
		t.Fatal(err)
	}
	cookie := e.signIn(t, "researcher-bcn")
	doc := e.page(t, fmt.Sprintf("/cultures/%d", c.ID), cookie, 200)
	rows := queryAll(doc, "#fcs-table tbody tr")
	if len(rows) != 1 {
		t.Fatalf("got %d FCS rows, want 1", len(rows))
	}
	cells := queryAll(rows[0], "td")
	sum := sha256.Sum256(data)
	want := []string{"data1.fcs", fmt.Sprint(obs[1].Day), hex.EncodeToString(sum[:])[:12] + "…", "NK panel v1", fmt.Sprint(atts[0].Events)}
	for i, w := range want {
		if got := textOf(cells[i]); got != w {
			t.Errorf("FCS cell %d: got %q, want %q", i, got, w)
		}
	}
	href, _ := attr(mustQuery(t, rows[0], "a[download]"), "href")
	if resp, body := e.do(t, "GET", href, nil, cookie); resp.StatusCode != 200 || body != string(data) {
		t.Errorf("GET %s: got status %d and %d bytes, want the %d bytes of the file", href, resp.StatusCode, len(body), len(data))
	}
	// The attachment's correction of the observation is in the audit trail.
	found := false
	for _, tr := range queryAll(doc, "#audit-table tbody tr") {
		found = found || strings.Contains(textOf(tr), "data1.fcs")
	}
	if !found {
		t.Errorf("the audit trail does not show the FCS correction")
	}
}

// TestVoidObservation checks the void form of the correction page: a reason is required and
// nothing changes without one; with one the observation is void (kept, with its reason in the
// audit trail) and struck out in the culture's table; others may not void it.
func TestVoidObservation(t *testing.T) {
	e := newUIEnv(t)
	ctx := context.Background()
	c := e.cultureOf(t, "", clink.StatusRunning, 2)
	own := e.signIn(t, "researcher-"+strings.ToLower(c.Site))
	obs, _, err := e.store.FindObservations(ctx, clink.ObservationFilter{CultureID: c.ID, Page: clink.Page{Limit: clink.MaxLimit}})
	if err != nil {
		t.Fatal(err)
	}
	o := obs[len(obs)-1]
	edit := e.page(t, fmt.Sprintf("/observations/%d/edit", o.ID), own, 200)
	form := mustQuery(t, edit, "#void-form")
	if action, _ := attr(form, "action"); action != fmt.Sprintf("/observations/%d/void", o.ID) {
		t.Fatalf("void form posts to %q", action)
	}
	path := fmt.Sprintf("/observations/%d/void", o.ID)
	resp, body := e.do(t, "POST", path, url.Values{"void_reason": {"  "}}, own)
	if resp.StatusCode != 422 {
		t.Fatalf("without a reason: got status %d, want 422", resp.StatusCode)
	}
	if msg := query(parseHTML(t, body), `#void-form .error[data-field=void_reason]`); msg == nil || !strings.Contains(textOf(msg), "is required") {
		t.Errorf("without a reason: no message next to the reason")
	}
	if now, err := e.store.FindObservationByID(ctx, o.ID); err != nil || now.Voided {
		t.Fatalf("without a reason the observation was voided: %+v, %v", now, err)
	}
	other := e.signIn(t, "viewer")
	if resp, _ := e.do(t, "POST", path, url.Values{"void_reason": {"wrong culture"}}, other); resp.StatusCode != 403 {
		t.Errorf("a viewer's void: got status %d, want 403", resp.StatusCode)
	}
	resp, _ = e.do(t, "POST", path, url.Values{"void_reason": {"entered on the wrong culture"}}, own)
	if resp.StatusCode != 303 {
		t.Fatalf("with a reason: got status %d, want 303", resp.StatusCode)
	}
	now, err := e.store.FindObservationByID(ctx, o.ID)
	if err != nil || !now.Voided || now.VoidReason != "entered on the wrong culture" {
		t.Fatalf("with a reason: got %+v, %v, want void with the reason", now, err)
	}
	doc := e.page(t, fmt.Sprintf("/cultures/%d?voided=%d", c.ID, o.Day), own, 200)
	mustQuery(t, doc, "#voided")
	if query(doc, fmt.Sprintf(`#observation-table tr.voided[data-day="%d"]`, o.Day)) == nil {
		t.Errorf("the culture's table does not show the observation of day %d struck out as void", o.Day)
	}
	found := false
	for _, tr := range queryAll(doc, "#audit-table tbody tr") {
		if strings.Contains(textOf(tr), "entered on the wrong culture") {
			found = true
		}
	}
	if !found {
		t.Errorf("the audit trail does not show the void with its reason")
	}
	// A second void is refused, next to the reason.
	resp, _ = e.do(t, "POST", path, url.Values{"void_reason": {"again"}}, own)
	if resp.StatusCode != 409 {
		t.Errorf("voiding twice: got status %d, want 409", resp.StatusCode)
	}
}

// TestObservationOffTrend checks that a viable cell count 10 times off what the culture's
// latest counts project asks whether it is right and saves nothing; ticking "The count is
// right" records it; a count on the trend is recorded at once.
func TestObservationOffTrend(t *testing.T) {
	e := newUIEnv(t)
	ctx := context.Background()
	c := e.cultureOf(t, "", clink.StatusRunning, 2)
	own := e.signIn(t, "researcher-"+strings.ToLower(c.Site))
	path := fmt.Sprintf("/cultures/%d/observations", c.ID)
	obs, _, err := e.store.FindObservations(ctx, clink.ObservationFilter{CultureID: c.ID, Page: clink.Page{Limit: clink.MaxLimit}})
	if err != nil {
		t.Fatal(err)
	}
	var counts []kinetics.Count
	for _, o := range obs {
		counts = append(counts, analysis.CountOf(o))
	}
	day := nextFreeDay(t, e, c)
	p, ok := kinetics.Project(counts, day)
	if !ok {
		t.Fatalf("culture %s: no projection for day %d from %d counts", c.Code, day, len(counts))
	}
	off := url.Values{"day": {fmt.Sprint(day)}, "viable_cells": {strconv.FormatFloat(p.Expected*30, 'g', 3, 64)}}
	stored := e.observationCount(t, c.ID)
	resp, body := e.do(t, "POST", path, off, own)
	if resp.StatusCode != 200 {
		t.Fatalf("a count 30 times the trend: got status %d, want 200 with the question", resp.StatusCode)
	}
	doc := parseHTML(t, body)
	form := mustQuery(t, doc, "#observation-form")
	msg := mustQuery(t, form, `.error[data-field="viable_cells"]`)
	if got := textOf(msg); !strings.Contains(got, "30 times more than") || !strings.Contains(got, "is it right?") {
		t.Errorf("got the message %q, want it to say 30 times more than the projection", got)
	}
	box := mustQuery(t, form, `#confirm-count input[type=checkbox][name=confirm_count]`)
	if _, checked := attr(box, "checked"); checked {
		t.Errorf("the confirmation is ticked already")
	}
	if got, _ := attr(mustQuery(t, form, `input[name=viable_cells]`), "value"); got != off.Get("viable_cells") {
		t.Errorf("the count holds %q, want %q as typed", got, off.Get("viable_cells"))
	}
	if n := e.observationCount(t, c.ID); n != stored {
		t.Fatalf("the question saved an observation: %d, want %d", n, stored)
	}
	off.Set("confirm_count", "on")
	if resp, _ := e.do(t, "POST", path, off, own); resp.StatusCode != 303 {
		t.Fatalf("confirmed: got status %d, want 303", resp.StatusCode)
	}
	// On the trend: recorded without a question (the next day, from the counts now stored).
	counts = append(counts, kinetics.Count{Day: day, ViableCells: p.Expected * 30, KeptFraction: 1})
	p2, ok := kinetics.Project(counts, day+1)
	if !ok {
		t.Fatal("no projection for the next day")
	}
	on := url.Values{"day": {fmt.Sprint(day + 1)}, "viable_cells": {strconv.FormatFloat(p2.Expected*1.5, 'g', 3, 64)}}
	if resp, _ := e.do(t, "POST", path, on, own); resp.StatusCode != 303 {
		t.Fatalf("a count on the trend: got status %d, want 303", resp.StatusCode)
	}
	if n := e.observationCount(t, c.ID); n != stored+2 {
		t.Errorf("got %d observations, want %d", n, stored+2)
	}
}

// TestDashboardLatestOfOwnSite checks that a site whose observations were all written before
// the other sites' (ZGZ in the demo, the first site it writes) still sees its latest
// observations on its dashboard, each linking to its culture.
func TestDashboardLatestOfOwnSite(t *testing.T) {
	e := newUIEnv(t)
	doc := e.page(t, "/dashboard/scoreboard", e.signIn(t, "researcher-zgz"), 200)
	links := queryAll(doc, "#latest-observations li a")
	if len(links) != 8 {
		t.Fatalf("got %d latest observations of ZGZ, want 8", len(links))
	}
	for _, l := range links {
		if !strings.HasPrefix(textOf(l), "ZGZ-") {
			t.Errorf("latest observation %q is not of a ZGZ culture", textOf(l))
		}
	}
}
