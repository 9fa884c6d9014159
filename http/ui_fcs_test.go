package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"mime/multipart"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/html"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/flow"
)

// The FCS pages of ui_fcs.go: the upload form and the gate plots, on SQLite with the ISAC
// Gating-ML 2.0 compliance files (data1.fcs, gates1.xml) and their expected results.

// The FCS pages in the permission matrix.
func init() {
	addUIMatrix("fcsUploadPage", "research", 200, func(e *matrixEnv) (string, any) {
		return fmt.Sprintf("/cultures/%d/fcs", e.culture.ID), nil
	})
	addUIMatrix("uploadFCS", "research", 303, func(e *matrixEnv) (string, any) {
		o := e.newObservation()
		ct, body := uploadForm(e.tb, map[string]string{"observation": fmt.Sprint(o.ID), "template": matrixUITemplate(e).Ref(), "replace": "on"},
			"data1.fcs", flowFile(e.tb, "FCSFiles", "data1.fcs"))
		return fmt.Sprintf("/cultures/%d/fcs", o.CultureID), rawBody{ct, body}
	})
	addUIMatrix("fcsPlots", "read", 200, func(e *matrixEnv) (string, any) {
		a := matrixAttachment(e)
		return fmt.Sprintf("/observations/%d/fcs/%d", a.ObservationID, a.ID), nil
	})
	addUIMatrix("fcsChart", "read", 200, func(e *matrixEnv) (string, any) {
		a := matrixAttachment(e)
		return fmt.Sprintf("/observations/%d/fcs/%d/charts/Polygon1.csv", a.ObservationID, a.ID), nil
	})
}

// matrixUITemplates holds the gating template of the upload requests of each matrix run.
var matrixUITemplates sync.Map // *matrixEnv -> *clink.GatingTemplate

// matrixUITemplate returns the matrix run's template for uploads from the page, made once.
func matrixUITemplate(e *matrixEnv) *clink.GatingTemplate {
	e.tb.Helper()
	if t, ok := matrixUITemplates.Load(e); ok {
		return t.(*clink.GatingTemplate)
	}
	t := gates1Template(e.tb, ownSite, "ui matrix template")
	e.check(flow.New(e.store).CreateTemplate(e.ctx, t))
	matrixUITemplates.Store(e, t)
	return t
}

// matrixAttachment returns an FCS attachment of the matrix's store (the flow matrix attaches
// data1.fcs with gates1.xml before any request).
func matrixAttachment(e *matrixEnv) *clink.FCSAttachment {
	e.tb.Helper()
	as, _, err := e.store.FindFCSAttachments(e.ctx, clink.FCSAttachmentFilter{Page: clink.Page{Limit: 1}})
	e.check(err)
	if len(as) == 0 {
		e.tb.Fatal("the matrix store has no FCS attachment")
	}
	return as[0]
}

// gates1Template is a template on the ISAC file gates1.xml for data1.fcs, as the flow tests
// make it: Polygon1 as the denominator, Ellipsoid3D as NK and Polygon2 as T cells.
func gates1Template(tb testing.TB, site, name string) *clink.GatingTemplate {
	tb.Helper()
	return &clink.GatingTemplate{Site: site, Name: name, GatingML: string(flowFile(tb, "Gating-MLFiles", "gates1.xml")),
		Mapping: clink.GateMapping{Denominator: "Polygon1", NKPct: "Ellipsoid3D", TPct: "Polygon2"}}
}

// uploadForm builds the multipart body of the upload form: its fields, then files (name,
// bytes, ...) in the input "files".
func uploadForm(tb testing.TB, fields map[string]string, files ...any) (string, []byte) {
	tb.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if err := mw.WriteField(k, fields[k]); err != nil {
			tb.Fatal(err)
		}
	}
	for i := 0; i+1 < len(files); i += 2 {
		w, err := mw.CreateFormFile("files", files[i].(string))
		if err != nil {
			tb.Fatal(err)
		}
		w.Write(files[i+1].([]byte))
	}
	if err := mw.Close(); err != nil {
		tb.Fatal(err)
	}
	return mw.FormDataContentType(), buf.Bytes()
}

// postUpload posts the upload form of culture c as the cookie's user.
func (e *uiEnv) postUpload(tb testing.TB, c *clink.Culture, cookie *http.Cookie, fields map[string]string, files ...any) (*http.Response, string) {
	tb.Helper()
	ct, body := uploadForm(tb, fields, files...)
	req, err := http.NewRequest("POST", fmt.Sprintf("%s/cultures/%d/fcs", e.srv.URL, c.ID), bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.AddCookie(cookie)
	resp, err := noRedirects.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp, b.String()
}

// flowSnapshot is what a refused upload must leave as it was: the audit trail's length, the
// attachments and the observations.
func flowSnapshot(tb testing.TB, store clink.Store) string {
	tb.Helper()
	ctx := context.Background()
	obs, _, err := store.FindObservations(ctx, clink.ObservationFilter{IncludeVoided: true, Page: clink.Page{Limit: clink.MaxLimit}})
	if err != nil {
		tb.Fatal(err)
	}
	b, _ := json.Marshal(obs)
	_, n, err := store.FindFCSAttachments(ctx, clink.FCSAttachmentFilter{Page: clink.Page{Limit: 1}})
	if err != nil {
		tb.Fatal(err)
	}
	return fmt.Sprintf("audit %d, attachments %d, observations %s", auditCount(tb, store), n, b)
}

// TestFCSUpload uploads data1.fcs from the page to an observation of a culture of the
// dueFixture (its observations have an NK % of 80 entered by hand): refusals re-render the
// form with the message next to the field at fault and save nothing, a researcher of another
// site is refused, and the accepted upload fills the observation with what flow.Measure
// computes and shows it on the culture page.
func TestFCSUpload(t *testing.T) {
	e, cs := dueFixture(t)
	ctx := clink.WithActor(context.Background(), "researcher-zgz")
	svc := flow.New(e.store)
	data := flowFile(t, "FCSFiles", "data1.fcs")
	tmpl := gates1Template(t, "ZGZ", "NK panel")
	void := gates1Template(t, "ZGZ", "Old panel")
	for _, tt := range []*clink.GatingTemplate{tmpl, void} {
		if err := svc.CreateTemplate(ctx, tt); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.store.VoidGatingTemplate(ctx, void.ID, "superseded"); err != nil {
		t.Fatal(err)
	}
	// The other site's template is not offered at ZGZ.
	if err := svc.CreateTemplate(clink.WithActor(context.Background(), "researcher-bcn"), gates1Template(t, "BCN", "BCN panel")); err != nil {
		t.Fatal(err)
	}
	c, other := cs["day3-done"], cs["day4"]
	obs, _, err := e.store.FindObservations(ctx, clink.ObservationFilter{CultureID: c.ID, Page: clink.Page{Limit: clink.MaxLimit}})
	if err != nil {
		t.Fatal(err)
	}
	o := obs[1] // day 3, NK 80 % entered by hand
	otherObs, _, err := e.store.FindObservations(ctx, clink.ObservationFilter{CultureID: other.ID, Page: clink.Page{Limit: 1}})
	if err != nil {
		t.Fatal(err)
	}
	cookie := e.signIn(t, "researcher-zgz")

	// The culture page leads to the form, which offers the site's templates that are not void.
	culture := e.page(t, fmt.Sprintf("/cultures/%d", c.ID), cookie, 200)
	checkPage(t, culture, "/cultures")
	if got := len(queryAll(culture, "#fcs-upload-link select option")); got != len(obs) {
		t.Errorf("the culture page offers %d observations to upload to, want %d", got, len(obs))
	}
	doc := e.page(t, fmt.Sprintf("/cultures/%d/fcs?observation=%d", c.ID, o.ID), cookie, 200)
	checkPage(t, doc, "/cultures")
	var refs []string
	for _, opt := range queryAll(doc, "#f-template option") {
		refs = append(refs, textOf(opt))
	}
	if want := []string{"NK panel@1"}; !slices.Equal(refs, want) {
		t.Errorf("got templates %q, want %q", refs, want)
	}
	if v, _ := attr(mustQuery(t, doc, "#f-observation option[selected]"), "value"); v != fmt.Sprint(o.ID) {
		t.Errorf("got observation %s selected, want %d (the query's)", v, o.ID)
	}
	form := mustQuery(t, doc, "#fcs-upload-form")
	if enc, _ := attr(form, "enctype"); enc != "multipart/form-data" {
		t.Errorf("got enctype %q, want multipart/form-data", enc)
	}
	if _, ok := attr(mustQuery(t, doc, "#f-files"), "multiple"); !ok {
		t.Errorf("the file input does not take several files")
	}

	fields := func(kv ...string) map[string]string {
		m := map[string]string{"observation": fmt.Sprint(o.ID), "template": tmpl.Ref(), "replace": "on"}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(m, kv[i])
			} else {
				m[kv[i]] = kv[i+1]
			}
		}
		return m
	}
	refusals := []struct {
		name   string
		fields map[string]string
		files  []any
		status int
		field  string
		says   string
	}{
		{"not an FCS file", fields(), []any{"notes.fcs", []byte("this is not an FCS file")}, 422, "files", "notes.fcs"},
		{"no file", fields(), nil, 422, "files", "at least one"},
		{"unknown template", fields("template", "Nope@1"), []any{"data1.fcs", data}, 422, "template", "Nope"},
		{"void template", fields("template", void.Ref()), []any{"data1.fcs", data}, 422, "template", "void"},
		{"no template", fields("template", ""), []any{"data1.fcs", data}, 422, "template", "required"},
		{"hand-entered values without replace", fields("replace", ""), []any{"data1.fcs", data}, 409, "replace", "nk_pct"},
		{"observation of another culture", fields("observation", fmt.Sprint(otherObs[0].ID)), []any{"data1.fcs", data}, 422, "observation", c.Code},
		{"second of two files bad", fields(), []any{"data1.fcs", data, "b.fcs", []byte("junk")}, 422, "files", "files[1].file"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			before := flowSnapshot(t, e.store)
			resp, body := e.postUpload(t, c, cookie, tc.fields, tc.files...)
			if resp.StatusCode != tc.status {
				t.Fatalf("got status %d, want %d (body %.1500s)", resp.StatusCode, tc.status, body)
			}
			doc := parseHTML(t, body)
			checkPage(t, doc, "/cultures")
			msg := textOf(mustQuery(t, doc, fmt.Sprintf(`#fcs-upload-form .error[data-field=%q]`, tc.field)))
			if !strings.Contains(msg, tc.says) {
				t.Errorf("got the message %q next to %s, want it to say %q", msg, tc.field, tc.says)
			}
			if after := flowSnapshot(t, e.store); after != before {
				t.Errorf("a refused upload changed the data:\nbefore %s\nafter  %s", before, after)
			}
			// What was chosen is kept.
			if tc.fields["template"] == tmpl.Ref() {
				if v, _ := attr(mustQuery(t, doc, "#f-template option[selected]"), "value"); v != tmpl.Ref() {
					t.Errorf("after the refusal the template %q is selected, want %q", v, tmpl.Ref())
				}
			}
		})
	}

	t.Run("other site", func(t *testing.T) {
		bcn := e.signIn(t, "researcher-bcn")
		before := flowSnapshot(t, e.store)
		if resp, _ := e.postUpload(t, c, bcn, fields(), "data1.fcs", data); resp.StatusCode != 403 {
			t.Errorf("POST as a researcher of BCN: got status %d, want 403", resp.StatusCode)
		}
		if resp, _ := e.do(t, "GET", fmt.Sprintf("/cultures/%d/fcs", c.ID), nil, bcn); resp.StatusCode != 403 {
			t.Errorf("GET the form as a researcher of BCN: got status %d, want 403", resp.StatusCode)
		}
		if after := flowSnapshot(t, e.store); after != before {
			t.Errorf("a refused upload changed the data:\nbefore %s\nafter  %s", before, after)
		}
		page := e.page(t, fmt.Sprintf("/cultures/%d", c.ID), bcn, 200)
		if query(page, "#fcs-upload-link") != nil {
			t.Errorf("a researcher of BCN is offered the upload of a ZGZ culture")
		}
	})

	// The accepted upload: 303 to the culture page, the observation filled with the measures
	// flow.Measure computes (the flow package's tests check them against the ISAC results).
	want, err := flow.Measure(tmpl, "data1.fcs", data, 0)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := e.postUpload(t, c, cookie, fields(), "data1.fcs", data)
	if resp.StatusCode != 303 {
		t.Fatalf("upload: got status %d, want 303 (body %.1500s)", resp.StatusCode, body)
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, fmt.Sprintf("/cultures/%d", c.ID)) {
		t.Errorf("got Location %q, want the culture page", loc)
	}
	got, err := e.store.FindObservationByID(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.NKPct == nil || *got.NKPct != *want.NKPct || got.TPct == nil || *got.TPct != *want.TPct {
		t.Fatalf("got nk_pct %v, t_pct %v, want %v and %v", fmtPtr(got.NKPct), fmtPtr(got.TPct), *want.NKPct, *want.TPct)
	}
	doc = e.page(t, loc, cookie, 200)
	row := mustQuery(t, doc, fmt.Sprintf(`#observation-table tr[data-day="%d"]`, o.Day))
	cells := queryAll(row, "td")
	if g, w := textOf(cells[3]), strconv.FormatFloat(*want.NKPct, 'f', 1, 64)+" %"; g != w {
		t.Errorf("the culture page shows NK %q on day %d, want %q", g, o.Day, w)
	}
	fcsRows := queryAll(doc, "#fcs-table tbody tr")
	if len(fcsRows) != 1 || !strings.Contains(textOf(fcsRows[0]), "data1.fcs") {
		t.Fatalf("got %d FCS rows, want 1 with data1.fcs", len(fcsRows))
	}
	if href, _ := attr(mustQuery(t, fcsRows[0], `a[href^="/observations/"]`), "href"); !strings.HasPrefix(href, fmt.Sprintf("/observations/%d/fcs/", o.ID)) {
		t.Errorf("got the plots link %q, want one under /observations/%d/fcs/", href, o.ID)
	}
	// The same file again is a conflict: already attached.
	before := flowSnapshot(t, e.store)
	resp, body = e.postUpload(t, c, cookie, fields(), "data1.fcs", data)
	if resp.StatusCode != 409 || !strings.Contains(textOf(mustQuery(t, parseHTML(t, body), "#fcs-upload-form .error")), "already attached") {
		t.Errorf("the same upload again: got status %d, want 409 saying it is already attached", resp.StatusCode)
	}
	if after := flowSnapshot(t, e.store); after != before {
		t.Errorf("a refused upload changed the data")
	}
}

func fmtPtr(p *float64) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}

// polygon2Element matches the element of Polygon2 in gates1.xml.
var polygon2Element = regexp.MustCompile(`(?s)<gating:PolygonGate gating:id="Polygon2">.*?</gating:PolygonGate>`)

// TestFCSPlots checks the gate plots of data1.fcs gated with gates1.xml and one more gate,
// Polygon2 drawn inside Polygon1 (a copy of Polygon2 with Polygon1 as its parent), so that a
// plot shows a parent's events. The counts are the ISAC expected results (set 1): a gate's
// events are the ones of its Results file, a gate with a parent those in both.
func TestFCSPlots(t *testing.T) {
	e, cs := dueFixture(t)
	ctx := clink.WithActor(context.Background(), "researcher-zgz")
	data := flowFile(t, "FCSFiles", "data1.fcs")
	gml := string(flowFile(t, "Gating-MLFiles", "gates1.xml"))
	child := strings.Replace(polygon2Element.FindString(gml), `gating:id="Polygon2"`, `gating:id="Polygon2InPolygon1" gating:parent_id="Polygon1"`, 1)
	if child == "" {
		t.Fatal("gates1.xml has no Polygon2 element")
	}
	gml = strings.Replace(gml, "</gating:Gating-ML>", child+"\n</gating:Gating-ML>", 1)
	tmpl := &clink.GatingTemplate{Site: "ZGZ", Name: "Plot panel", GatingML: gml,
		Mapping: clink.GateMapping{Denominator: "ScaleRect1", NKPct: "ScalePar1", TPct: "Ellipse1",
			Markers: map[string]string{"CD16": "Rectangle2", "NKG2C": "Polygon2InPolygon1"}}}
	svc := flow.New(e.store)
	if err := svc.CreateTemplate(ctx, tmpl); err != nil {
		t.Fatal(err)
	}
	c := cs["day3"]
	obs, _, err := e.store.FindObservations(ctx, clink.ObservationFilter{CultureID: c.ID, Page: clink.Page{Limit: 1}})
	if err != nil {
		t.Fatal(err)
	}
	atts, err := svc.Attach(ctx, []*clink.FCSUpload{{ObservationID: obs[0].ID, FileName: "data1.fcs", Data: data, Template: tmpl.Ref(), Replace: true}})
	if err != nil {
		t.Fatal(err)
	}
	a := atts[0]
	count := func(ids ...string) int {
		var vs [][]bool
		for _, id := range ids {
			vs = append(vs, isacTruth(t, "set_1", id))
		}
		return countAll(vs...)
	}
	all := len(isacTruth(t, "set_1", "Polygon1"))
	// The 2-D gates of the mapping and their parents, in document order; ScalePar1 is a
	// range (1-D) and has a histogram instead (checked below).
	plots := []struct {
		gate, parent       string
		count, parentCount int
	}{
		{"Rectangle2", "all events", count("Rectangle2"), all},
		{"Polygon1", "all events", count("Polygon1"), all},
		{"Ellipse1", "all events", count("Ellipse1"), all},
		{"ScaleRect1", "all events", count("ScaleRect1"), all},
		{"Polygon2InPolygon1", "Polygon1", count("Polygon1", "Polygon2"), count("Polygon1")},
	}
	viewer := e.signIn(t, "researcher-bcn") // reading needs no site
	path := fmt.Sprintf("/observations/%d/fcs/%d", a.ObservationID, a.ID)
	doc := e.page(t, path, viewer, 200)
	checkPage(t, doc, "/cultures")
	var figs []*html.Node
	for _, f := range queryAll(doc, "figure.gate-plot") {
		if g, _ := attr(f, "data-gate"); g != "ScalePar1" {
			figs = append(figs, f)
		}
	}
	if len(figs) != len(plots) {
		t.Fatalf("got %d gate plots, want %d", len(figs), len(plots))
	}
	for i, p := range plots {
		fig := figs[i]
		if g, _ := attr(fig, "data-gate"); g != p.gate {
			t.Errorf("plot %d: got gate %q, want %q", i+1, g, p.gate)
			continue
		}
		pct := strconv.FormatFloat(100*float64(p.count)/float64(p.parentCount), 'f', 1, 64)
		want := fmt.Sprintf("%s: %s %% of %s (%d of %d events)", p.gate, pct, p.parent, p.count, p.parentCount)
		if got := textOf(mustQuery(t, fig, "figcaption")); !strings.HasPrefix(got, want) {
			t.Errorf("got the caption %q, want it to start %q", got, want)
		}
		svg := mustQuery(t, fig, "svg")
		if n := len(queryAll(svg, "image.density")); n != 1 {
			t.Errorf("%s: got %d density rasters, want 1", p.gate, n)
		}
		if n := len(queryAll(svg, "g.gate polygon")); n != 2 { // the outline, white under black
			t.Errorf("%s: got %d gate polygons, want 2", p.gate, n)
		}
		// The plot bins the parent's events (all finite, and the axes cover them).
		if desc := textOf(mustQuery(t, svg, "desc")); !strings.Contains(desc, fmt.Sprintf("Density of %d events", p.parentCount)) {
			t.Errorf("%s: got the description %q, want the density of the parent's %d events", p.gate, desc, p.parentCount)
		}
		for _, link := range queryAll(fig, "figcaption a") {
			href, _ := attr(link, "href")
			resp, body := e.do(t, "GET", href, nil, viewer)
			if resp.StatusCode != 200 || len(body) == 0 {
				t.Errorf("GET %s: got status %d, want 200 with a body", href, resp.StatusCode)
				continue
			}
			ctype := resp.Header.Get("Content-Type")
			switch {
			case strings.HasSuffix(href, ".png"):
				if ctype != "image/png" || !strings.HasPrefix(body, "\x89PNG") {
					t.Errorf("GET %s: got %s, want a PNG", href, ctype)
				}
			case strings.HasSuffix(href, ".svg"):
				if ctype != "image/svg+xml" || !strings.Contains(body, "<svg") {
					t.Errorf("GET %s: got %s, want an SVG", href, ctype)
				}
			case strings.HasSuffix(href, ".csv"):
				// The bins' counts add up to the parent's events.
				total := 0
				for _, line := range strings.Split(strings.TrimSpace(body), "\n")[1:] {
					f := strings.Split(line, ",")
					n, _ := strconv.Atoi(f[len(f)-1])
					total += n
				}
				if total != p.parentCount {
					t.Errorf("GET %s: the bins hold %d events, want the parent's %d", href, total, p.parentCount)
				}
			default:
				t.Errorf("unexpected download link %s", href)
			}
		}
	}
	// The 1-D range ScalePar1 is a histogram of its parent's events with the range shaded.
	hist := mustQuery(t, doc, `figure.gate-plot[data-gate="ScalePar1"]`)
	parentN := count("ScaleRect1")
	wantPct := strconv.FormatFloat(100*float64(count("ScaleRect1", "ScalePar1"))/float64(parentN), 'f', 1, 64) + " % of ScaleRect1"
	if got := textOf(mustQuery(t, hist, "figcaption")); !strings.Contains(got, wantPct) {
		t.Errorf("ScalePar1: got the caption %q, want it to say %q", got, wantPct)
	}
	hsvg := mustQuery(t, hist, "svg")
	mustQuery(t, hsvg, "path.counts")
	mustQuery(t, hsvg, "g.range rect.range-shade")
	if query(doc, `#gate-notes li[data-gate="ScalePar1"]`) != nil {
		t.Errorf("ScalePar1 is listed among the gates without a plot")
	}
	var csvHref string
	for _, a := range queryAll(hist, "figcaption a") {
		if h, _ := attr(a, "href"); strings.HasSuffix(h, ".csv") {
			csvHref = h
		}
	}
	resp, body := e.do(t, "GET", csvHref, nil, viewer)
	total := 0
	for _, line := range strings.Split(strings.TrimSpace(body), "\n")[1:] {
		n, _ := strconv.Atoi(strings.Split(line, ",")[2])
		total += n
	}
	if resp.StatusCode != 200 || total != parentN {
		t.Errorf("GET %s: status %d, the bins hold %d events; want 200 and the parent's %d", csvHref, resp.StatusCode, total, parentN)
	}
	if resp, body := e.do(t, "GET", strings.TrimSuffix(csvHref, ".csv")+".png", nil, viewer); resp.StatusCode != 200 || !strings.HasPrefix(body, "\x89PNG") {
		t.Errorf("the histogram's PNG: got status %d", resp.StatusCode)
	}
	for _, bad := range []string{path + "/charts/Nope.svg", path + "/charts/Polygon1.pdf", fmt.Sprintf("/observations/%d/fcs/%d", a.ObservationID, a.ID+1000)} {
		if resp, _ := e.do(t, "GET", bad, nil, viewer); resp.StatusCode != 404 {
			t.Errorf("GET %s: got status %d, want 404", bad, resp.StatusCode)
		}
	}
}

// TestFCSQuadrantPlot checks the plot of a quadrant gate (ISAC gates1.xml Quadrant1 on data1):
// one density plot of the parent's events with every quadrant outlined, its caption giving
// each quadrant's share of the events as the ISAC truth files count them.
func TestFCSQuadrantPlot(t *testing.T) {
	e, cs := dueFixture(t)
	ctx := clink.WithActor(context.Background(), "researcher-zgz")
	tmpl := &clink.GatingTemplate{Site: "ZGZ", Name: "Quadrant panel", GatingML: string(flowFile(t, "Gating-MLFiles", "gates1.xml")),
		Mapping: clink.GateMapping{NKPct: "FL2N-FL4P", TPct: "FL2P-FL4P"}}
	svc := flow.New(e.store)
	if err := svc.CreateTemplate(ctx, tmpl); err != nil {
		t.Fatal(err)
	}
	obs, _, err := e.store.FindObservations(ctx, clink.ObservationFilter{CultureID: cs["day3"].ID, Page: clink.Page{Limit: 1}})
	if err != nil {
		t.Fatal(err)
	}
	atts, err := svc.Attach(ctx, []*clink.FCSUpload{{ObservationID: obs[0].ID, FileName: "data1.fcs",
		Data: flowFile(t, "FCSFiles", "data1.fcs"), Template: tmpl.Ref(), Replace: true}})
	if err != nil {
		t.Fatal(err)
	}
	a := atts[0]
	doc := e.page(t, fmt.Sprintf("/observations/%d/fcs/%d", a.ObservationID, a.ID), e.signIn(t, "researcher-bcn"), 200)
	fig := mustQuery(t, doc, `figure.gate-plot[data-gate="Quadrant1"]`)
	caption := textOf(mustQuery(t, fig, "figcaption"))
	all := len(isacTruth(t, "set_1", "FL2P-FL4P"))
	for _, q := range []string{"FL2P-FL4P", "FL2N-FL4P", "FL2N-FL4N", "FL2P-FL4N"} {
		pct := strconv.FormatFloat(100*float64(countAll(isacTruth(t, "set_1", q)))/float64(all), 'f', 1, 64)
		if want := q + " " + pct + " %"; !strings.Contains(caption, want) {
			t.Errorf("got the caption %q, want it to contain %q", caption, want)
		}
	}
	svg := mustQuery(t, fig, "svg")
	if n := len(queryAll(svg, "g.gate polygon")); n != 8 { // four quadrants, each white under black
		t.Errorf("got %d gate polygons, want 8 (four quadrants)", n)
	}
	if query(doc, `#gate-notes li[data-gate="Quadrant1"]`) != nil {
		t.Errorf("the quadrant gate is listed among the gates without a plot")
	}
}

// TestDemoGatePlots checks that the demo's FCS files show their gate plots: from the culture
// page's FCS table to density plots of the NK panel's 2-D gates and a histogram of its 1-D
// NKG2C range, the NK gate's caption giving the purity the attachment measured.
func TestDemoGatePlots(t *testing.T) {
	e := newUIEnv(t)
	ctx := context.Background()
	atts, n, err := e.store.FindFCSAttachments(ctx, clink.FCSAttachmentFilter{Page: clink.Page{Limit: 1}})
	if err != nil || n == 0 {
		t.Fatalf("the demo has %d FCS attachments (%v), want some", n, err)
	}
	a := atts[0]
	o, err := e.store.FindObservationByID(ctx, a.ObservationID)
	if err != nil {
		t.Fatal(err)
	}
	cookie := e.signIn(t, "researcher-"+strings.ToLower(a.Site))
	doc := e.page(t, fmt.Sprintf("/cultures/%d", o.CultureID), cookie, 200)
	var href string
	for _, l := range queryAll(doc, "#fcs-table a") {
		if textOf(l) == "Gate plots" {
			href, _ = attr(l, "href")
		}
	}
	if want := fmt.Sprintf("/observations/%d/fcs/%d", a.ObservationID, a.ID); href != want {
		t.Fatalf("the culture page links the gate plots at %q, want %q", href, want)
	}
	plots := e.page(t, href, cookie, 200)
	want := map[string]string{"Lymphocytes": "image.density", "NK": "image.density", "T": "image.density",
		"CD16pos": "image.density", "NKG2Cpos": "path.counts"}
	for gate, sel := range want {
		fig := query(plots, fmt.Sprintf(`figure.gate-plot[data-gate=%q]`, gate))
		if fig == nil {
			t.Errorf("no plot of gate %s", gate)
			continue
		}
		mustQuery(t, fig, "svg "+sel)
	}
	// The axes name each parameter with its stain ($PnS).
	if svg := textOf(mustQuery(t, plots, `figure.gate-plot[data-gate="NK"] svg`)); !strings.Contains(svg, "FL1-A CD3 FITC") || !strings.Contains(svg, "FL2-A CD56 PE") {
		t.Errorf("the NK plot's axes do not name the stains CD3 FITC and CD56 PE")
	}
	nk := textOf(mustQuery(t, plots, `figure.gate-plot[data-gate="NK"] figcaption`))
	if pct := strconv.FormatFloat(*a.Measures.NKPct, 'f', 1, 64) + " % of Lymphocytes"; !strings.Contains(nk, pct) {
		t.Errorf("the NK plot's caption %q does not give the measured purity %q", nk, pct)
	}
}
