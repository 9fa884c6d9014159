package http_test

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/clink-consortium/clink"
	clinkhttp "github.com/clink-consortium/clink/http"
)

// xssTail is the hostile text every free-text field receives after a marker naming the field:
// a script element, the quotes that close an attribute value, and an element with an event
// handler.
const xssTail = `<script>alert(1)</script>"'><img src=x onerror=alert(1)>`

// xssTailNoSlash is xssTail for the fields that may not hold "/": design space names (a name
// is a segment of a URL path) and file names (only the base name is kept).
const xssTailNoSlash = `"'><img src=x onerror=alert(1)><svg onload=alert(1)>`

// xssMarker is the marker of field, which starts its hostile text.
func xssMarker(field string) string { return "XSS[" + field + "]" }

// hostile returns the hostile text of field.
func hostile(field string) string {
	if field == "designspace.name" || field == "fcs.file_name" {
		return xssMarker(field) + xssTailNoSlash
	}
	return xssMarker(field) + xssTail
}

// xssFieldRE finds a marker in a page, to name the field of an unescaped payload.
var xssFieldRE = regexp.MustCompile(`XSS\[[^\]]*\]`)

// htmlProblems returns what makes an HTML answer unsafe: a payload's markup written as markup
// (a script element, an img or svg element of the payload, an event-handler attribute), a
// script that is not an asset of this origin, a javascript: URL, or a frame or base element.
// The raw check finds markup the parser would also find; the parse check finds event handlers
// whatever their spelling.
func htmlProblems(body string) []string {
	var out []string
	for _, bad := range []string{"<script>alert", "<img src=x", "<svg onload"} {
		if i := strings.Index(body, bad); i >= 0 {
			field := "?"
			if m := xssFieldRE.FindAllString(body[:i], -1); len(m) > 0 {
				field = m[len(m)-1]
			}
			out = append(out, fmt.Sprintf("unescaped %q (after the marker %s): …%s…", bad, field, excerpt(body, i)))
		}
	}
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		return append(out, fmt.Sprintf("the page does not parse: %v", err))
	}
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		for _, a := range n.Attr {
			key := strings.ToLower(a.Key)
			if strings.HasPrefix(key, "on") {
				out = append(out, fmt.Sprintf("<%s> has the event-handler attribute %s=%q", n.Data, a.Key, a.Val))
			}
			switch key {
			case "href", "src", "action", "formaction", "xlink:href", "hx-get", "hx-post":
				if v := strings.ToLower(strings.TrimSpace(a.Val)); strings.HasPrefix(v, "javascript:") || strings.HasPrefix(v, "data:text/html") {
					out = append(out, fmt.Sprintf("<%s %s=%q>", n.Data, a.Key, a.Val))
				}
			}
		}
		switch n.Data {
		case "script":
			if src, _ := attr(n, "src"); !strings.HasPrefix(src, "/static/") {
				out = append(out, fmt.Sprintf("a script element not from /static/ (src %q)", src))
			}
		case "iframe", "object", "embed", "base", "frame":
			out = append(out, fmt.Sprintf("a <%s> element", n.Data))
		case "img":
			if src, _ := attr(n, "src"); src == "x" {
				out = append(out, "the payload's <img src=x> is an element")
			}
		}
	}
	return out
}

// excerpt returns up to 80 bytes of s around i.
func excerpt(s string, i int) string {
	return s[max(i-40, 0):min(i+40, len(s))]
}

// htmlTexts returns the text and attribute values of a page as a browser reads them (entities
// decoded), joined by newlines: where a field's hostile text shows that it was rendered.
func htmlTexts(body string) string {
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		return ""
	}
	var b strings.Builder
	for n := range doc.Descendants() {
		switch n.Type {
		case html.TextNode:
			b.WriteString(n.Data)
			b.WriteByte('\n')
		case html.ElementNode:
			for _, a := range n.Attr {
				b.WriteString(a.Val)
				b.WriteByte('\n')
			}
		}
	}
	return b.String()
}

// svgProblems returns what makes an SVG download unsafe: markup that is not well-formed XML
// (escaping broke it), a script or foreignObject element, an event-handler attribute, a
// javascript: link, or headers that would let it run as a document.
func svgProblems(h http.Header, body []byte) []string {
	var out []string
	dec := xml.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			out = append(out, fmt.Sprintf("not well-formed XML: %v", err))
			break
		}
		el, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if n := strings.ToLower(el.Name.Local); n == "script" || n == "foreignobject" || n == "img" {
			out = append(out, fmt.Sprintf("a <%s> element", el.Name.Local))
		}
		for _, a := range el.Attr {
			if strings.HasPrefix(strings.ToLower(a.Name.Local), "on") {
				out = append(out, fmt.Sprintf("<%s> has the event-handler attribute %s=%q", el.Name.Local, a.Name.Local, a.Value))
			}
			if strings.HasPrefix(strings.ToLower(strings.TrimSpace(a.Value)), "javascript:") {
				out = append(out, fmt.Sprintf("<%s %s=%q>", el.Name.Local, a.Name.Local, a.Value))
			}
		}
	}
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
		out = append(out, fmt.Sprintf("Content-Security-Policy %q, want default-src 'none' and no script-src", csp))
	}
	return out
}

// csvProblems returns the cells of a CSV download that a spreadsheet would run as a formula:
// text (not a number) starting with =, +, -, @, a tab or a carriage return.
func csvProblems(body []byte) []string {
	recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		return []string{fmt.Sprintf("not CSV: %v", err)}
	}
	var out []string
	for i, rec := range recs {
		for j, cell := range rec {
			if cell == "" || !strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				continue
			}
			if _, err := strconv.ParseFloat(cell, 64); err == nil {
				continue
			}
			out = append(out, fmt.Sprintf("row %d cell %d %q starts a formula", i+1, j+1, cell))
		}
	}
	return out
}

// jsonProblems returns what is wrong with an API answer: not JSON, or without the
// Content-Type and nosniff that keep a browser from reading it as a page.
func jsonProblems(h http.Header, body []byte) []string {
	var out []string
	ct := h.Get("Content-Type")
	if ct != "application/json" && ct != "application/problem+json" {
		out = append(out, fmt.Sprintf("Content-Type %q, want application/json or application/problem+json", ct))
	}
	if h.Get("X-Content-Type-Options") != "nosniff" {
		out = append(out, "no X-Content-Type-Options: nosniff")
	}
	if !json.Valid(body) {
		out = append(out, "the body is not JSON")
	}
	return out
}

// jsonStrings returns every string of a JSON document, decoded.
func jsonStrings(body []byte) []string {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return nil
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			out = append(out, x)
		case []any:
			for _, y := range x {
				walk(y)
			}
		case map[string]any:
			for k, y := range x {
				out = append(out, k)
				walk(y)
			}
		}
	}
	walk(v)
	return out
}

// xssCheck checks answers and records where each field's hostile text was seen intact.
type xssCheck struct {
	t      *testing.T
	fields []string
	inHTML map[string]bool // field -> its hostile text was rendered (escaped) on a page
	inJSON map[string]bool // field -> an API answer holds its hostile text intact
	inSVG  map[string]bool
	// csvFormula is set when a CSV download held the formula protocol's name, neutralised.
	csvFormula bool
}

func newXSSCheck(t *testing.T, fields []string) *xssCheck {
	return &xssCheck{t: t, fields: fields, inHTML: map[string]bool{}, inJSON: map[string]bool{}, inSVG: map[string]bool{}}
}

// answer checks one answer by its Content-Type.
func (c *xssCheck) answer(what string, resp *http.Response, body []byte) {
	c.t.Helper()
	if resp.StatusCode >= 500 {
		c.t.Errorf("%s: got status %d, want no 5xx (body %.300s)", what, resp.StatusCode, body)
	}
	ct := resp.Header.Get("Content-Type")
	mt := strings.TrimSpace(strings.Split(ct, ";")[0])
	report := func(kind string, ps []string) {
		for _, p := range ps {
			c.t.Errorf("%s (%s): %s", what, kind, p)
		}
	}
	switch mt {
	case "text/html":
		report("HTML", htmlProblems(string(body)))
		text := htmlTexts(string(body))
		for _, f := range c.fields {
			h := hostile(f)
			if strings.Contains(text, h[:len(xssMarker(f))+8]) {
				c.inHTML[f] = true
			}
		}
	case "image/svg+xml":
		report("SVG", svgProblems(resp.Header, body))
		for _, f := range c.fields {
			if bytes.Contains(body, []byte(xssMarker(f))) {
				c.inSVG[f] = true
			}
		}
	case "text/csv":
		report("CSV", csvProblems(body))
		if bytes.Contains(body, []byte(`'=HYPERLINK`)) {
			c.csvFormula = true
		}
	case "application/json", "application/problem+json":
		report("JSON", jsonProblems(resp.Header, body))
		for _, s := range jsonStrings(body) {
			for _, f := range c.fields {
				if strings.Contains(s, hostile(f)) {
					c.inJSON[f] = true
				}
			}
		}
	case "application/pdf", "image/png", "application/vnd.isac.fcs", "text/plain":
	case "":
		if len(body) > 0 {
			c.t.Errorf("%s: %d bytes without a Content-Type", what, len(body))
		}
	default:
		c.t.Errorf("%s: unexpected Content-Type %q", what, ct)
	}
	if mt != "text/html" && mt != "" && resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		c.t.Errorf("%s: a %s answer without X-Content-Type-Options: nosniff", what, mt)
	}
	if mt == "image/svg+xml" || mt == "text/csv" {
		if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") {
			c.t.Errorf("%s: a %s download with Content-Disposition %q, want attachment", what, mt, cd)
		}
	}
}

// pageForm is a form found on a page.
type pageForm struct {
	method, action, enctype string
	fields                  []formField
}

// formField is a named control of a form with its initial value.
type formField struct {
	name, kind, value string
}

// key identifies the form's kind: its method, its action with ids as N, and its fields. Forms
// of one kind (the correction form of every observation) are submitted once.
func (f pageForm) key() string {
	names := make([]string, len(f.fields))
	for i, x := range f.fields {
		names[i] = x.name
	}
	return f.method + " " + digitsRE.ReplaceAllString(f.action, "N") + " " + strings.Join(names, ",")
}

var digitsRE = regexp.MustCompile(`[0-9]+`)

// pageLinks returns the same-origin URLs a page links to (links, images, GET form targets)
// and its forms.
func pageLinks(base *url.URL, body string) (links []string, forms []pageForm) {
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		return nil, nil
	}
	resolve := func(ref string) (string, bool) {
		u, err := base.Parse(ref)
		if err != nil || u.Host != base.Host {
			return "", false
		}
		u.Fragment = ""
		return u.RequestURI(), true
	}
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		switch n.Data {
		case "a", "img":
			key := "href"
			if n.Data == "img" {
				key = "src"
			}
			if v, ok := attr(n, key); ok {
				if u, ok := resolve(v); ok {
					links = append(links, u)
				}
			}
		case "form":
			f := pageForm{method: "get"}
			if v, ok := attr(n, "method"); ok {
				f.method = strings.ToLower(v)
			}
			action, _ := attr(n, "action")
			u, ok := resolve(action)
			if !ok {
				continue
			}
			f.action = u
			f.enctype, _ = attr(n, "enctype")
			for c := range n.Descendants() {
				if c.Type != html.ElementNode {
					continue
				}
				name, ok := attr(c, "name")
				if !ok || name == "" {
					continue
				}
				switch c.Data {
				case "input":
					kind, _ := attr(c, "type")
					value, _ := attr(c, "value")
					if kind == "checkbox" || kind == "radio" {
						if _, checked := attr(c, "checked"); !checked {
							value = ""
						}
					}
					f.fields = append(f.fields, formField{name, cmp.Or(kind, "text"), value})
				case "textarea":
					f.fields = append(f.fields, formField{name, "textarea", textOf(c)})
				case "select":
					value := ""
					for o := range c.Descendants() {
						if o.Type == html.ElementNode && o.Data == "option" {
							v, ok := attr(o, "value")
							if !ok {
								v = textOf(o)
							}
							if _, sel := attr(o, "selected"); sel || value == "" {
								value = v
							}
						}
					}
					f.fields = append(f.fields, formField{name, "select", value})
				case "button":
					value, _ := attr(c, "value")
					f.fields = append(f.fields, formField{name, "button", value})
				}
			}
			forms = append(forms, f)
		}
	}
	return links, forms
}

// crawl fetches every page reachable from seeds as the cookie's user (at most limit URLs),
// checks every answer, and returns the forms found and the URLs fetched.
func (c *xssCheck) crawl(e *secEnv, cookie *http.Cookie, seeds []string, limit int) (forms []pageForm, fetched []string) {
	c.t.Helper()
	base, _ := url.Parse(e.srv.URL)
	seen := map[string]bool{}
	queue := append([]string(nil), seeds...)
	formSeen := map[string]bool{}
	for len(queue) > 0 && len(fetched) < limit {
		u := queue[0]
		queue = queue[1:]
		if seen[u] || strings.HasPrefix(u, "/static/") {
			continue
		}
		seen[u] = true
		fetched = append(fetched, u)
		resp, body := e.do(c.t, "GET", u, nil, cookie)
		c.answer("GET "+u, resp, []byte(body))
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			if loc := resp.Header.Get("Location"); loc != "" {
				if l, err := base.Parse(loc); err == nil && l.Host == base.Host {
					queue = append(queue, l.RequestURI())
				}
			}
			continue
		}
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			continue
		}
		pu, _ := base.Parse(u)
		links, fs := pageLinks(pu, body)
		queue = append(queue, links...)
		for _, f := range fs {
			if !formSeen[f.key()] {
				formSeen[f.key()] = true
				forms = append(forms, f)
			}
		}
	}
	if len(queue) > 0 && len(fetched) >= limit {
		c.t.Errorf("the crawl stopped at %d URLs with %d still queued: raise the limit", limit, len(queue))
	}
	return forms, fetched
}

// submit sends form with values as the cookie's user, checks the answer and, when it
// redirects, the page it redirects to. hx sends it as htmx does.
func (c *xssCheck) submit(e *secEnv, cookie *http.Cookie, f pageForm, values map[string]string, hx bool) {
	c.t.Helper()
	r := secRequest{method: strings.ToUpper(f.method), path: f.action, cookie: cookie, header: map[string]string{"Sec-Fetch-Site": "same-origin"}}
	if hx {
		r.header["HX-Request"] = "true"
	}
	form := url.Values{}
	for _, x := range f.fields {
		if v, ok := values[x.name]; ok && x.kind != "file" {
			form.Add(x.name, v)
		}
	}
	switch {
	case r.method == "GET":
		sep := "?"
		if strings.Contains(r.path, "?") {
			sep = "&"
		}
		r.path += sep + form.Encode()
	case f.enctype == "multipart/form-data":
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for _, x := range f.fields {
			v, ok := values[x.name]
			if !ok {
				continue
			}
			if x.kind == "file" {
				name := xssMarker("upload "+x.name) + xssTailNoSlash + ".csv"
				w, err := mw.CreateFormFile(x.name, name)
				if err != nil {
					c.t.Fatal(err)
				}
				fmt.Fprintf(w, "code,name,kind\n%s,%s,lab\n", v, v)
				continue
			}
			mw.WriteField(x.name, v)
		}
		mw.Close()
		r.body, r.contentType = buf.Bytes(), mw.FormDataContentType()
	default:
		r.body = form
	}
	resp, body := secSend(c.t, e.srv.URL, r)
	what := fmt.Sprintf("%s %s (form fields %v)", r.method, f.action, slices.Sorted(maps.Keys(values)))
	c.answer(what, resp, body)
	if resp.StatusCode == http.StatusSeeOther {
		if loc := resp.Header.Get("Location"); strings.HasPrefix(loc, "/") {
			resp, body := e.do(c.t, "GET", loc, nil, cookie)
			c.answer("GET "+loc+" after "+what, resp, []byte(body))
		}
	}
}

// routeCoverage reports which GET patterns of routes no URL of urls reaches.
func routeCoverage(routes []clinkhttp.Route, urls []string, skip ...string) []string {
	mux := http.NewServeMux()
	for _, rt := range routes {
		if rt.Method == http.MethodGet {
			mux.HandleFunc(rt.Method+" "+rt.Pattern, func(http.ResponseWriter, *http.Request) {})
		}
	}
	hit := map[string]bool{}
	for _, u := range urls {
		req, err := http.NewRequest("GET", "http://x"+u, nil)
		if err != nil {
			continue
		}
		_, pattern := mux.Handler(req)
		hit[pattern] = true
	}
	var out []string
	for _, rt := range routes {
		if rt.Method == http.MethodGet && !hit["GET "+rt.Pattern] && !slices.Contains(skip, rt.Pattern) {
			out = append(out, rt.Pattern)
		}
	}
	return out
}

// TestSecurityStoredXSS stores hostile text (a script element, quotes closing an attribute and
// an element with an event handler, after a marker naming the field) in every free-text field
// the application accepts, then:
//
//   - crawls every page reachable from the navigation as a user with every role, a
//     researcher, a viewer, a clinician and an operator of the records' site, and a researcher
//     and a clinician of another site, following links, images and chart downloads, and checks that no answer
//     writes the payload as markup (htmlProblems), that SVG downloads carry no script and
//     cannot run as documents, that CSV downloads start no formula, and that no GET changes
//     the database;
//   - submits every form found, once with every field hostile (also as htmx) and once per
//     field with that field hostile and the others as the page filled them, and checks the
//     answers and the pages they redirect to (reflected payloads, and payloads stored through
//     the forms);
//   - sends every page route with hostile path segments and the sign-in form with a hostile
//     username;
//   - reads every GET route of the API and checks that each answer is JSON with its
//     Content-Type and nosniff, and holds the hostile texts intact.
//
// Each field's hostile text must be seen rendered (decoded from escaped HTML) on some page,
// so that the test fails when a page stops escaping it; the fields no page shows are listed.
func TestSecurityStoredXSS(t *testing.T) {
	e, fields := newSecFixture(t, clinkhttp.Options{})
	store := e.store
	c := newXSSCheck(t, fields)

	// A protocol whose name a spreadsheet would run, compared with the hostile one, so that
	// the comparison's CSV download holds it.
	formula := protocolIL2(secSite, `=HYPERLINK("http://evil.example","x")`)
	e.check("protocol", store.CreateProtocol(e.as(secResearcher), formula))
	fc := &clink.Culture{Site: secSite, DonorID: e.donor.ID, ProtocolID: formula.ID, StartDate: "2025-03-01", StartingCells: 1e6, StartingNKPct: 90}
	e.check("culture", store.CreateCulture(e.as(secResearcher), fc))
	for i, day := range []int{0, 3, 7, 10} {
		e.check("observation", store.CreateObservation(e.as(secResearcher), &clink.Observation{CultureID: fc.ID, Site: secSite, Day: day,
			ViableCells: 1e6 * float64(1+2*i), ViabilityPct: ptr(95.0), NKPct: ptr(80.0)}))
	}
	_, err := store.SetCultureStatus(e.as(secResearcher), fc.ID, clink.CultureStatusChange{Status: clink.StatusCompleted})
	e.check("culture status", err)

	compare := "/compare?" + url.Values{"protocol": {e.proto.Name, "second protocol", formula.Name}}.Encode()
	seeds := []string{"/", "/cultures", "/donors", "/protocols", "/import", "/batches", "/patients", "/audit", "/account",
		"/dashboard/scoreboard", compare, "/optimizer?" + url.Values{"space": {e.space.Ref()}, "objective": {"nk_fold"}, "batch": {"4"}, "donors": {"1"}, "seed": {"1"}}.Encode(),
		fmt.Sprintf("/cultures/%d", e.culture.ID), fmt.Sprintf("/cultures/%d", e.stopped.ID), fmt.Sprintf("/donors/%d", e.donor.ID),
		fmt.Sprintf("/protocols/%d", e.proto.ID), fmt.Sprintf("/protocols/%d?diff=%d", e.protoV2.ID, e.proto.ID),
		fmt.Sprintf("/observations/%d/edit", e.obs.ID), fmt.Sprintf("/observations/%d/edit", e.corrected.ID),
		fmt.Sprintf("/cultures/%d/fcs", e.culture.ID), fmt.Sprintf("/cultures/%d/assays/new", e.culture.ID),
		fmt.Sprintf("/protocols/%d/versions/new", e.proto.ID), "/new/donor", "/new/protocol", "/new/culture",
		fmt.Sprintf("/batches/%d", e.open.ID), fmt.Sprintf("/batches/%d", e.released.ID), fmt.Sprintf("/batches/%d", e.rejected.ID)}
	if e.att != nil {
		seeds = append(seeds, fmt.Sprintf("/observations/%d/fcs/%d", e.att.ObservationID, e.att.ID))
	}
	for _, entity := range []string{"site", "user", "donor", "component", "protocol", "culture", "observation", "assay",
		"gating_template", "fcs_attachment", "design_space", "patient", "batch", "batch_entry", "release_spec"} {
		seeds = append(seeds, "/audit?entity="+entity)
	}

	root := e.signIn(t, secRoot) // once: the forms below fail sign-ins of root's (wrong passwords), which may lock the account
	before := tableCounts(t, store.DB())
	beforeAudit := auditCountExcept(t, store.DB(), "session")
	var rootForms []pageForm
	var fetched []string
	t.Run("pages", func(t *testing.T) {
		c.t = t
		// The root user holds every role at the records' site (QA, QP and admin too); the
		// others see what their one role lets them.
		for _, user := range []string{secRoot, secResearcher, secViewer, secClinician, secOperator, secOther, secClinicianMP} {
			cookie := root
			if user != secRoot {
				cookie = e.signIn(t, user)
			}
			forms, urls := c.crawl(e, cookie, seeds, 1500)
			fetched = append(fetched, urls...)
			if user == secRoot {
				rootForms = forms
			}
			t.Logf("%s: %d URLs, %d forms", user, len(urls), len(forms))
		}
		// Reading changes nothing: sign-ins aside (sessions and their audit events), the
		// tables are as they were.
		after := tableCounts(t, store.DB())
		for _, table := range []string{"sessions", "audit_events"} {
			delete(before, table)
			delete(after, table)
		}
		if d := diffCounts(before, after); d != "" {
			t.Errorf("the crawl (GET requests only) changed the database: %s", d)
		}
		if got := auditCountExcept(t, store.DB(), "session"); got != beforeAudit {
			t.Errorf("the crawl (GET requests only) wrote %d audit events beyond sign-ins", got-beforeAudit)
		}
		if missing := routeCoverage(e.server.UIRoutes(), fetched, "/static/{version}/{name}", "/login"); len(missing) > 0 {
			t.Errorf("the crawl reached no page of the routes %v: seed them", missing)
		}
	})

	t.Run("forms", func(t *testing.T) {
		c.t = t
		if len(rootForms) < 10 {
			t.Fatalf("the crawl found %d forms, want every form of the pages", len(rootForms))
		}
		for _, f := range rootForms {
			if f.action == "/logout" {
				continue
			}
			all := map[string]string{}
			for _, x := range f.fields {
				all[x.name] = hostile("form " + x.name)
			}
			c.submit(e, root, f, all, false)
			c.submit(e, root, f, all, true)
			for _, x := range f.fields {
				one := map[string]string{}
				for _, y := range f.fields {
					if y.value != "" || y.kind == "text" || y.kind == "textarea" {
						one[y.name] = y.value
					}
				}
				one[x.name] = hostile("form " + x.name)
				c.submit(e, root, f, one, false)
			}
		}
	})

	t.Run("paths", func(t *testing.T) {
		c.t = t
		seg := url.PathEscape(hostile("path"))
		for _, rt := range e.server.UIRoutes() {
			if rt.Method != http.MethodGet {
				continue
			}
			p := pathParamRE.ReplaceAllString(strings.TrimSuffix(rt.Pattern, "{$}"), seg)
			resp, body := e.do(t, "GET", p, nil, root)
			c.answer("GET "+p, resp, []byte(body))
			resp, body = e.do(t, "GET", p+"?"+url.Values{"q": {hostile("query")}}.Encode(), nil, root)
			c.answer("GET "+p+"?q=…", resp, []byte(body))
		}
		resp, body := e.do(t, "POST", "/login", url.Values{"username": {hostile("login.username")}, "password": {"x"}}, nil)
		c.answer("POST /login", resp, []byte(body))
		if !strings.Contains(htmlTexts(body), hostile("login.username")) {
			t.Errorf("POST /login: the refused form does not show the typed username; the check above tested nothing")
		}
	})

	t.Run("api", func(t *testing.T) {
		c.t = t
		id := func(format string, args ...any) string { return fmt.Sprintf(format, args...) }
		paths := []string{"/api/v1/sites", "/api/v1/sites/" + secLab, "/api/v1/donors", id("/api/v1/donors/%d", e.donor.ID),
			"/api/v1/components", id("/api/v1/components/%d", e.comp.ID), "/api/v1/protocols?limit=1000", id("/api/v1/protocols/%d", e.proto.ID),
			id("/api/v1/protocols/%d/diff?to=%d", e.proto.ID, e.protoV2.ID), "/api/v1/cultures", id("/api/v1/cultures/%d", e.stopped.ID),
			id("/api/v1/cultures/%d/observations?include_voided=true", e.culture.ID), id("/api/v1/cultures/%d/metrics", e.culture.ID),
			id("/api/v1/cultures/%d/assays", e.culture.ID), id("/api/v1/observations/%d", e.voided.ID), id("/api/v1/observations/%d/fcs", e.obs.ID),
			"/api/v1/gating-templates", "/api/v1/design-spaces?include_voided=true", "/api/v1/design-spaces/" + url.PathEscape(e.space.Ref()),
			"/api/v1/assays", id("/api/v1/assays/%d", e.assay.ID),
			"/api/v1/analysis/compare?" + url.Values{"protocol": {e.proto.Name, "second protocol"}}.Encode(),
			"/api/v1/analysis/ranking", "/api/v1/audit?limit=1000", "/api/v1/patients", id("/api/v1/patients/%d", e.patient.ID),
			"/api/v1/treatment-requests", id("/api/v1/treatment-requests/%d", e.request.ID), "/api/v1/release-specs",
			id("/api/v1/release-specs/%d", e.spec.ID), "/api/v1/batches", id("/api/v1/batches/%d", e.open.ID),
			id("/api/v1/batches/%d", e.released.ID), id("/api/v1/batches/%d", e.rejected.ID),
			id("/api/v1/batches/%d/certificate", e.released.ID), id("/api/v1/batches/%d/labels/1", e.released.ID),
			"/api/v1/healthz", "/healthz", "/readyz", "/api/v1/openapi.json",
			"/api/v1/donors/" + url.PathEscape(hostile("path")), "/api/v1/" + url.PathEscape(hostile("path"))}
		if e.tmpl != nil {
			paths = append(paths, id("/api/v1/gating-templates/%d", e.voidTmpl.ID), id("/api/v1/gating-templates/%d", e.tmpl.ID),
				"/api/v1/fcs/"+e.att.SHA256)
		}
		for _, p := range paths {
			resp, body := e.api(t, "GET", p, secRoot, nil)
			if resp.StatusCode >= 400 && !strings.Contains(p, "XSS") {
				t.Errorf("GET %s: got status %d, want success (body %.300s)", p, resp.StatusCode, body)
			}
			c.answer("GET "+p, resp, body)
		}
		if missing := routeCoverage(e.server.Routes(), paths, "/metrics", "/api/v1/openapi.yaml"); len(missing) > 0 {
			t.Errorf("no request reached the API routes %v: add them", missing)
		}
	})

	t.Run("coverage", func(t *testing.T) {
		var notShown, notInAPI []string
		for _, f := range fields {
			if !c.inHTML[f] {
				notShown = append(notShown, f)
			}
			if !c.inJSON[f] {
				notInAPI = append(notInAPI, f)
			}
		}
		t.Logf("%d fields; rendered on pages: %d; not shown on any page: %v; in SVG charts: %v", len(fields), len(fields)-len(notShown), notShown, slices.Sorted(maps.Keys(c.inSVG)))
		// Every field but the few no page shows must have been rendered, escaped, somewhere:
		// otherwise the checks above did not see it.
		for _, f := range notShown {
			if !slices.Contains(xssNotOnPages, f) {
				t.Errorf("field %s: its hostile text was rendered on no page; the checks did not test it", f)
			}
		}
		for _, f := range notInAPI {
			t.Errorf("field %s: no API answer holds its hostile text intact", f)
		}
		if !c.csvFormula {
			t.Errorf("no CSV download held the name of the protocol %q: the formula check tested nothing", formula.Name)
		}
	})
}

// xssNotOnPages are the free-text fields that no web page shows (they are in the API and the
// audit trail only).
var xssNotOnPages = []string{"component.description", "assay.note", "assay.target_name"}
