package http_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/google/go-cmp/cmp"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/flow"
	clinkhttp "github.com/clink-consortium/clink/http"
	"github.com/clink-consortium/clink/sqldb"
)

// The OpenAPI checks of the test servers decode FCS bodies as files, as they do octet streams.
func init() {
	openapi3filter.RegisterBodyDecoder(clinkhttp.FCSMediaType, openapi3filter.FileBodyDecoder)
}

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

func flowFile(tb testing.TB, rel ...string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{flowDir(tb), "gatingml2"}, rel...)...))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// isacTruth reads an ISAC expected result: one 0/1 per event, in file order.
func isacTruth(tb testing.TB, set, id string) []bool {
	tb.Helper()
	data := flowFile(tb, "ExpectedResults", set, "Results_"+id+".txt")
	var out []bool
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		out = append(out, strings.TrimSpace(sc.Text()) == "1")
	}
	return out
}

// countAll counts the events that are 1 in every vector.
func countAll(vs ...[]bool) int {
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

// flowEnv is a server with two sites, a culture at ZGZ and users: ana (researcher at ZGZ),
// luis (researcher at BCN) and vera (viewer).
type flowEnv struct {
	srv                *specServer
	store              clink.Store
	ana, luis, vera    string // tokens
	culture            *clink.Culture
	bare, typed, other *clink.Observation // day 7 without flow values, day 14 with typed ones, a day 3
}

func newFlowEnv(tb testing.TB, store clink.Store) *flowEnv {
	tb.Helper()
	flowDir(tb)
	e := &flowEnv{srv: newSpecServerOn(tb, store), store: store}
	ctx := clink.WithActor(context.Background(), "setup")
	check := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	for _, s := range []clink.Site{
		{Code: "ZGZ", Name: "Universidad de Zaragoza", Kind: clink.SiteLab},
		{Code: "BCN", Name: "Hospital Clínic Barcelona", Kind: clink.SiteHospital},
	} {
		check(store.CreateSite(ctx, &s))
	}
	check(store.CreateComponent(ctx, &clink.Component{Site: "ZGZ", Name: "IL-2", Category: clink.CategoryCytokine, Unit: clink.UnitIUPerML}))
	d := &clink.Donor{Site: "ZGZ", ConsentDate: "2025-01-15"}
	check(store.CreateDonor(ctx, d))
	p := protocolIL2("ZGZ", "IL-2 high dose")
	check(store.CreateProtocol(ctx, p))
	e.culture = &clink.Culture{Site: "ZGZ", DonorID: d.ID, ProtocolID: p.ID, StartDate: "2025-03-01", StartingCells: 1e6, StartingNKPct: 20}
	check(store.CreateCulture(ctx, e.culture))
	e.bare = &clink.Observation{CultureID: e.culture.ID, Day: 7, ViableCells: 3e7, ViabilityPct: ptr(91.0)}
	e.typed = &clink.Observation{CultureID: e.culture.ID, Day: 14, ViableCells: 9e7, NKPct: ptr(61.0), Markers: map[string]float64{"CD16": 70}}
	e.other = &clink.Observation{CultureID: e.culture.ID, Day: 3, ViableCells: 5e6}
	for _, o := range []*clink.Observation{e.bare, e.typed, e.other} {
		check(store.CreateObservation(ctx, o))
	}
	e.ana = e.srv.token(tb, "ana", "ZGZ", clink.RoleResearcher)
	e.luis = e.srv.token(tb, "luis", "BCN", clink.RoleResearcher)
	e.vera = e.srv.token(tb, "vera", "ZGZ", clink.RoleViewer)
	return e
}

// withOptions returns the environment with another server on the same store, built with opt
// (without the OpenAPI checks of e's server). It is closed when the test ends.
func (e *flowEnv) withOptions(tb testing.TB, opt clinkhttp.Options) *flowEnv {
	tb.Helper()
	c := *e
	c.srv = &specServer{tb: tb, Store: e.store, Server: httptest.NewServer(clinkhttp.NewServer(e.store, opt).Handler())}
	tb.Cleanup(c.srv.Close)
	return &c
}

// send makes one request with a raw body of the given content type.
func (e *flowEnv) send(tb testing.TB, method, path, token, contentType string, body []byte) (int, http.Header, []byte) {
	tb.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		tb.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp.StatusCode, resp.Header, data
}

// sendJSON sends v as JSON and decodes a 2xx answer into out.
func (e *flowEnv) sendJSON(tb testing.TB, method, path, token string, v, out any, want int) clinkhttp.Problem {
	tb.Helper()
	var body []byte
	if v != nil {
		var err error
		if body, err = json.Marshal(v); err != nil {
			tb.Fatal(err)
		}
	}
	status, _, data := e.send(tb, method, path, token, "application/json", body)
	return e.decode(tb, method+" "+path, status, data, out, want)
}

func (e *flowEnv) decode(tb testing.TB, what string, status int, data []byte, out any, want int) clinkhttp.Problem {
	tb.Helper()
	if status != want {
		tb.Fatalf("%s: got status %d, want %d (body %s)", what, status, want, data)
	}
	var p clinkhttp.Problem
	if status >= 400 {
		if err := json.Unmarshal(data, &p); err != nil {
			tb.Fatalf("%s: got %s, want a problem: %v", what, data, err)
		}
		return p
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			tb.Fatalf("%s: got %s: %v", what, data, err)
		}
	}
	return p
}

// upload posts one FCS file as a raw body.
func (e *flowEnv) upload(tb testing.TB, o *clink.Observation, token string, q url.Values, data []byte, out any, want int) clinkhttp.Problem {
	tb.Helper()
	path := fmt.Sprintf("/api/v1/observations/%d/fcs?%s", o.ID, q.Encode())
	status, _, body := e.send(tb, "POST", path, token, clinkhttp.FCSMediaType, data)
	return e.decode(tb, "POST "+path, status, body, out, want)
}

// multipartBody builds a multipart/form-data body of files (name -> bytes, in order).
func multipartBody(tb testing.TB, files ...any) (string, []byte) {
	tb.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for i := 0; i < len(files); i += 2 {
		w, err := mw.CreateFormFile("file", files[i].(string))
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

func wantField(tb testing.TB, p clinkhttp.Problem, field string) {
	tb.Helper()
	for _, f := range p.Errors {
		if f.Field == field {
			return
		}
	}
	tb.Fatalf("got problem %+v, want a field error about %s", p, field)
}

// snapshot is what a refused request must leave as it was: the audit trail's length and the
// observations.
func (e *flowEnv) snapshot(tb testing.TB) string {
	tb.Helper()
	obs, _, err := e.store.FindObservations(context.Background(), clink.ObservationFilter{IncludeVoided: true, Page: clink.Page{Limit: clink.MaxLimit}})
	if err != nil {
		tb.Fatal(err)
	}
	b, _ := json.Marshal(obs)
	atts, n, err := e.store.FindFCSAttachments(context.Background(), clink.FCSAttachmentFilter{})
	if err != nil {
		tb.Fatal(err)
	}
	return fmt.Sprintf("audit %d, attachments %d %v, observations %s", auditCount(tb, e.store), n, len(atts), b)
}

func (e *flowEnv) wantUnchanged(tb testing.TB, before string) {
	tb.Helper()
	if after := e.snapshot(tb); after != before {
		tb.Fatalf("a refused request changed the data:\nbefore %s\nafter  %s", before, after)
	}
}

func set3Template() map[string]any {
	return map[string]any{"site": "ZGZ", "name": "NK panel", "description": "ISAC set 3 gates as an NK panel",
		"mapping": map[string]any{"denominator": "myEllipseGate", "nk_pct": "myEllipsoidGate", "t_pct": "myPolygonGateWithFCSSpillover",
			"markers": map[string]string{"CD16": "myRectangleGate2Logicle", "NKG2C": "myPolygonGateWithoutSpillover"}}}
}

// TestFlowAPI runs the flow day through the API on SQLite and, when available, PostgreSQL:
// register a template, upload the ISAC NK file, read the provenance and the file back.
func TestFlowAPI(t *testing.T) {
	for _, db := range []struct {
		name string
		open func(testing.TB) clink.Store
	}{
		{"sqlite", func(tb testing.TB) clink.Store { return newStore(tb) }},
		{"postgres", postgresStore},
	} {
		t.Run(db.name, func(t *testing.T) { testFlowAPI(t, newFlowEnv(t, db.open(t))) })
	}
}

func testFlowAPI(t *testing.T, e *flowEnv) {
	gml := string(flowFile(t, "Gating-MLFiles", "gates3.xml"))
	fcsData := flowFile(t, "FCSFiles", "9399_1_3_NKR.fcs")
	sha := clink.SHA256Hex(fcsData)

	// Templates: validated on upload, created by a researcher of the site only.
	body := set3Template()
	body["gating_ml"] = gml
	var tmpl clink.GatingTemplate
	e.sendJSON(t, "POST", "/api/v1/gating-templates", e.ana, body, &tmpl, 201)
	if tmpl.ID == 0 || tmpl.Version != 1 || tmpl.Site != "ZGZ" || tmpl.CreatedBy != "ana" || tmpl.GatingML != gml {
		t.Fatalf("created template = %+v", tmpl)
	}
	if got := e.srv.last("POST", "/api/v1/gating-templates").Header.Get("Location"); got != fmt.Sprintf("/api/v1/gating-templates/%d", tmpl.ID) {
		t.Errorf("Location = %q", got)
	}
	e.sendJSON(t, "POST", "/api/v1/gating-templates", e.luis, body, nil, 403)
	e.sendJSON(t, "POST", "/api/v1/gating-templates", e.vera, body, nil, 403)
	badGate := set3Template()
	badGate["gating_ml"] = gml
	badGate["mapping"].(map[string]any)["nk_pct"] = "NK"
	wantField(t, e.sendJSON(t, "POST", "/api/v1/gating-templates", e.ana, badGate, nil, 422), "mapping.nk_pct")
	notXML := set3Template()
	notXML["gating_ml"] = "<gating:Gating-ML"
	wantField(t, e.sendJSON(t, "POST", "/api/v1/gating-templates", e.ana, notXML, nil, 422), "gating_ml")
	var got clink.GatingTemplate
	e.sendJSON(t, "GET", fmt.Sprintf("/api/v1/gating-templates/%d", tmpl.ID), e.vera, nil, &got, 200)
	if d := cmp.Diff(tmpl, got); d != "" {
		t.Errorf("GET template (-created +got):\n%s", d)
	}
	var list clinkhttp.List[clink.GatingTemplate]
	e.sendJSON(t, "GET", "/api/v1/gating-templates?name="+url.QueryEscape("NK panel"), e.luis, nil, &list, 200)
	if list.Total != 1 || list.Items[0].ID != tmpl.ID {
		t.Errorf("listed templates: %+v", list)
	}

	// Upload the file to the day-7 observation as a raw body.
	q := url.Values{"template": {"NK panel"}, "filename": {"9399_1_3_NKR.fcs"}}
	before := e.snapshot(t)
	for _, tok := range []string{e.luis, e.vera} {
		e.upload(t, e.bare, tok, q, fcsData, nil, 403)
	}
	e.wantUnchanged(t, before)
	var res clinkhttp.FCSUploadResult
	e.upload(t, e.bare, e.ana, q, fcsData, &res, 201)
	if len(res.Attachments) != 1 {
		t.Fatalf("got %d attachments, want 1", len(res.Attachments))
	}
	a := res.Attachments[0]
	tr := func(id string) []bool { return isacTruth(t, "set_3", id) }
	den, nk := tr("myEllipseGate"), tr("myEllipsoidGate")
	d, n := countAll(den), countAll(nk, den)
	wantNK := 100 * float64(n) / float64(d)
	wantT := 100 * float64(countAll(tr("myPolygonGateWithFCSSpillover"), den)) / float64(d)
	wantCD16 := 100 * float64(countAll(tr("myRectangleGate2Logicle"), nk, den)) / float64(n)
	wantNKG2C := 100 * float64(countAll(tr("myPolygonGateWithoutSpillover"), nk, den)) / float64(n)
	close := func(got, want float64) bool { return math.Abs(got-want) <= 1e-12*want }
	o := res.Observation
	if !close(*o.NKPct, wantNK) || !close(*o.TPct, wantT) || !close(o.Markers["CD16"], wantCD16) || !close(o.Markers["NKG2C"], wantNKG2C) {
		t.Errorf("observation: nk %v t %v CD16 %v NKG2C %v; want from the truth files %v %v %v %v",
			*o.NKPct, *o.TPct, o.Markers["CD16"], o.Markers["NKG2C"], wantNK, wantT, wantCD16, wantNKG2C)
	}
	if a.SHA256 != sha || a.FileName != "9399_1_3_NKR.fcs" || a.TemplateID != tmpl.ID || a.TemplateVersion != 1 ||
		a.Events != 124600 || a.Measures.DenominatorEvents != d || *a.Measures.NKEvents != n || a.CreatedBy != "ana" {
		t.Errorf("attachment = %+v", a)
	}
	if loc := e.srv.last("POST", "/api/v1/observations/").Header.Get("Location"); loc != fmt.Sprintf("/api/v1/observations/%d/fcs", e.bare.ID) {
		t.Errorf("Location = %q", loc)
	}

	// Provenance, readable by anyone.
	var atts clinkhttp.List[clink.FCSAttachment]
	e.sendJSON(t, "GET", fmt.Sprintf("/api/v1/observations/%d/fcs", e.bare.ID), e.vera, nil, &atts, 200)
	if atts.Total != 1 || atts.Items[0].ID != a.ID || atts.Items[0].SHA256 != sha || atts.Items[0].TemplateName != "NK panel" {
		t.Errorf("listed attachments = %+v", atts)
	}
	var history clinkhttp.List[clink.AuditEvent]
	e.sendJSON(t, "GET", fmt.Sprintf("/api/v1/audit?entity=observation&id=%d", e.bare.ID), e.vera, nil, &history, 200)
	if last := history.Items[len(history.Items)-1]; last.Reason != "from FCS 9399_1_3_NKR.fcs sha256 "+sha+" template NK panel@1" || last.Actor != "ana" {
		t.Errorf("last audit event of the observation: %s by %s, %q", last.Action, last.Actor, last.Reason)
	}

	// The stored file, byte for byte.
	status, h, data := e.send(t, "GET", "/api/v1/fcs/"+sha, e.vera, "", nil)
	if status != 200 || !bytes.Equal(data, fcsData) || h.Get("Content-Type") != clinkhttp.FCSMediaType || h.Get("ETag") != `"`+sha+`"` {
		t.Errorf("GET /fcs/%s: status %d, %d bytes, Content-Type %q, ETag %q", sha, status, len(data), h.Get("Content-Type"), h.Get("ETag"))
	}
	for _, path := range []string{"/api/v1/fcs/" + strings.Repeat("a", 64), "/api/v1/fcs/" + strings.ToUpper(sha), "/api/v1/fcs/x"} {
		if status, _, _ := e.send(t, "GET", path, e.vera, "", nil); status != 404 {
			t.Errorf("GET %s: got %d, want 404", path, status)
		}
	}

	// Refusals change nothing.
	before = e.snapshot(t)
	mpCT, mpBody := multipartBody(t, "9399_1_3_NKR.fcs", fcsData)
	twoCT, twoBody := multipartBody(t, "a.fcs", fcsData, "b.fcs", []byte("FCS3.1  nonsense"))
	refusals := []struct {
		name, ct string
		q        url.Values
		body     []byte
		status   int
		field    string
	}{
		{"typed values", mpCT, url.Values{"template": {"NK panel"}}, mpBody, 409, ""},
		{"attached before", clinkhttp.FCSMediaType, q, fcsData, 409, ""},
		{"not FCS", clinkhttp.FCSMediaType, url.Values{"template": {"NK panel"}, "filename": {"gates3.xml"}}, []byte(gml), 422, "file"},
		{"no template", clinkhttp.FCSMediaType, url.Values{"filename": {"a.fcs"}}, fcsData, 400, "template"},
		{"unknown template", clinkhttp.FCSMediaType, url.Values{"template": {"NK panel@7"}, "filename": {"a.fcs"}}, fcsData, 422, "template"},
		{"no file name", clinkhttp.FCSMediaType, url.Values{"template": {"NK panel"}}, fcsData, 400, "filename"},
		{"empty", clinkhttp.FCSMediaType, q, []byte{}, 422, "file"},
		{"bad data set", clinkhttp.FCSMediaType, url.Values{"template": {"NK panel"}, "filename": {"a.fcs"}, "dataset": {"x"}}, fcsData, 400, "dataset"},
		{"JSON", "application/json", q, []byte(`{}`), 415, ""},
		{"form without file", "multipart/form-data; boundary=x", url.Values{"template": {"NK panel"}}, []byte("--x\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n--x--\r\n"), 400, "note"},
		{"second file bad", twoCT, url.Values{"template": {"NK panel"}, "replace": {"true"}}, twoBody, 422, "files[1].file"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			path := fmt.Sprintf("/api/v1/observations/%d/fcs?%s", e.typed.ID, tc.q.Encode())
			if tc.name == "attached before" {
				path = fmt.Sprintf("/api/v1/observations/%d/fcs?%s", e.bare.ID, tc.q.Encode())
			}
			status, _, data := e.send(t, "POST", path, e.ana, tc.ct, tc.body)
			p := e.decode(t, "POST "+path, status, data, nil, tc.status)
			if tc.field != "" {
				wantField(t, p, tc.field)
			}
			if tc.name == "typed values" && !strings.Contains(p.Detail, "nk_pct") {
				t.Errorf("conflict detail %q does not name nk_pct", p.Detail)
			}
			e.wantUnchanged(t, before)
		})
	}
	t.Run("too large", func(t *testing.T) {
		// A server on the same store whose limit is one byte less than the file: raw and
		// multipart bodies get 413 and change nothing.
		limited := e.withOptions(t, clinkhttp.Options{MaxFCSBytes: int64(len(fcsData) - 1)})
		p := limited.upload(t, e.typed, e.ana, url.Values{"template": {"NK panel"}, "filename": {"a.fcs"}, "replace": {"true"}}, fcsData, nil, 413)
		if want := fmt.Sprintf("larger than %d bytes", len(fcsData)-1); !strings.Contains(p.Detail, want) {
			t.Errorf("413 detail %q does not say %q", p.Detail, want)
		}
		ct, body := multipartBody(t, "a.fcs", fcsData)
		status, _, data := limited.send(t, "POST", fmt.Sprintf("/api/v1/observations/%d/fcs?template=NK+panel&replace=true", e.typed.ID), e.ana, ct, body)
		limited.decode(t, "multipart too large", status, data, nil, 413)
		e.wantUnchanged(t, before)
		// At exactly the limit the file is read and gated: here it meets the typed values (409).
		e.withOptions(t, clinkhttp.Options{MaxFCSBytes: int64(len(fcsData))}).upload(t, e.typed, e.ana, url.Values{"template": {"NK panel"}, "filename": {"a.fcs"}}, fcsData, nil, 409)
		e.wantUnchanged(t, before)
	})

	// With replace=true, multipart: the typed values give way, and the file is stored once.
	var res2 clinkhttp.FCSUploadResult
	status, _, data = e.send(t, "POST", fmt.Sprintf("/api/v1/observations/%d/fcs?template=NK+panel%%401&replace=true", e.typed.ID), e.ana, mpCT, mpBody)
	e.decode(t, "multipart replace", status, data, &res2, 201)
	if len(res2.Attachments) != 1 || !res2.Attachments[0].Replace || !close(*res2.Observation.NKPct, wantNK) || res2.Observation.ViableCells != 9e7 {
		t.Errorf("replacing upload = %+v", res2)
	}
	if s, ok := e.store.(*sqldb.Store); ok {
		var files int
		if err := s.DB().QueryRow("SELECT COUNT(*) FROM fcs_files").Scan(&files); err != nil || files != 1 {
			t.Errorf("fcs_files: %d rows (%v) after the same file was uploaded twice, want 1", files, err)
		}
	}

	// The template is now in use: immutable, but voidable.
	edit := map[string]any{"description": "changed", "gating_ml": gml, "mapping": set3Template()["mapping"], "reason": "typo"}
	e.sendJSON(t, "PUT", fmt.Sprintf("/api/v1/gating-templates/%d", tmpl.ID), e.ana, edit, nil, 409)
	e.sendJSON(t, "POST", fmt.Sprintf("/api/v1/gating-templates/%d/void", tmpl.ID), e.luis, map[string]string{"reason": "x"}, nil, 403)
	var voided clink.GatingTemplate
	e.sendJSON(t, "POST", fmt.Sprintf("/api/v1/gating-templates/%d/void", tmpl.ID), e.ana, map[string]string{"reason": "new panel"}, &voided, 200)
	if !voided.Voided || !voided.InUse {
		t.Errorf("voided template = %+v, want void and in use", voided)
	}
	e.sendJSON(t, "POST", fmt.Sprintf("/api/v1/gating-templates/%d/void", tmpl.ID), e.ana, map[string]string{"reason": "again"}, nil, 409)
	p := e.upload(t, e.other, e.ana, url.Values{"template": {"NK panel"}, "filename": {"a.fcs"}}, fcsData, nil, 422)
	wantField(t, p, "template")

	// A new version of the name: editable while unused, stays at its site.
	var v2 clink.GatingTemplate
	body["site"] = ""
	e.sendJSON(t, "POST", "/api/v1/gating-templates", e.ana, body, &v2, 201)
	if v2.Version != 2 || v2.Site != "ZGZ" {
		t.Errorf("second version = %+v", v2)
	}
	body["site"] = "BCN"
	e.sendJSON(t, "POST", "/api/v1/gating-templates", e.luis, body, nil, 403)
	var edited clink.GatingTemplate
	e.sendJSON(t, "PUT", fmt.Sprintf("/api/v1/gating-templates/%d", v2.ID), e.ana, edit, &edited, 200)
	if edited.Description != "changed" || edited.Version != 2 || edited.UpdatedBy != "ana" {
		t.Errorf("edited template = %+v", edited)
	}
}

// rawBody is a request body sent as it is, with its content type.
type rawBody struct {
	ContentType string
	Data        []byte
}

// flowMatrixEnv makes the requests of the flow routes for the permission matrix: a template
// of the own site on the ISAC set 1 gates, data1.fcs, and fresh records for every write.
type flowMatrixEnv struct {
	*matrixEnv
	gml  string
	fcs  []byte
	tmpl *clink.GatingTemplate
	sha  string
}

func newFlowMatrixEnv(e *matrixEnv) *flowMatrixEnv {
	e.tb.Helper()
	f := &flowMatrixEnv{matrixEnv: e, gml: string(flowFile(e.tb, "Gating-MLFiles", "gates1.xml")),
		fcs: flowFile(e.tb, "FCSFiles", "data1.fcs")}
	f.tmpl = f.newTemplate()
	f.sha = clink.SHA256Hex(f.fcs)
	_, err := flow.New(e.store).Attach(e.ctx, []*clink.FCSUpload{{ObservationID: e.newObservation().ID, FileName: "data1.fcs",
		Data: f.fcs, Template: f.tmpl.Ref(), Replace: true}})
	e.check(err)
	return f
}

func (f *flowMatrixEnv) template(name string) *clink.GatingTemplate {
	return &clink.GatingTemplate{Site: ownSite, Name: name, GatingML: f.gml,
		Mapping: clink.GateMapping{Denominator: "Polygon1", NKPct: "Ellipsoid3D", TPct: "Polygon2"}}
}

func (f *flowMatrixEnv) newTemplate() *clink.GatingTemplate {
	f.tb.Helper()
	t := f.template(fmt.Sprintf("matrix template %d", f.next()))
	f.check(flow.New(f.store).CreateTemplate(f.ctx, t))
	return t
}

// request returns the path and body of a request to the flow route named name.
func (f *flowMatrixEnv) request(name string) (path string, body any, ok bool) {
	f.tb.Helper()
	switch name {
	case "listObservationFCS":
		return fmt.Sprintf("/api/v1/observations/%d/fcs", f.obs.ID), nil, true
	case "attachFCS":
		q := url.Values{"template": {f.tmpl.Ref()}, "filename": {"data1.fcs"}, "replace": {"true"}}
		return fmt.Sprintf("/api/v1/observations/%d/fcs?%s", f.newObservation().ID, q.Encode()), rawBody{clinkhttp.FCSMediaType, f.fcs}, true
	case "listGatingTemplates":
		return "/api/v1/gating-templates", nil, true
	case "createGatingTemplate":
		return "/api/v1/gating-templates", f.template(fmt.Sprintf("new template %d", f.next())), true
	case "getGatingTemplate":
		return fmt.Sprintf("/api/v1/gating-templates/%d", f.tmpl.ID), nil, true
	case "updateGatingTemplate":
		t := f.newTemplate()
		t.Description = "edited"
		return fmt.Sprintf("/api/v1/gating-templates/%d", t.ID), struct {
			*clink.GatingTemplate
			Reason string `json:"reason"`
		}{t, "wording"}, true
	case "voidGatingTemplate":
		return fmt.Sprintf("/api/v1/gating-templates/%d/void", f.newTemplate().ID), map[string]string{"reason": "superseded"}, true
	case "getFCSFile":
		return "/api/v1/fcs/" + f.sha, nil, true
	}
	return "", nil, false
}

// doBody is do (authz_test.go) that also sends a rawBody as it is.
func doBody(tb testing.TB, base, method, path, token string, body any) (int, http.Header, []byte) {
	tb.Helper()
	raw, ok := body.(rawBody)
	if !ok {
		return do(tb, base, method, path, token, body)
	}
	req, err := http.NewRequest(method, base+path, bytes.NewReader(raw.Data))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", raw.ContentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, data
}

// FuzzAttachFCS posts arbitrary bytes as an FCS file: whatever the body, the answer is never a
// 5xx, an error is always a problem document and changes nothing, and a 201 attaches a valid
// observation. The seeds are the ISAC set 1 file, pieces of it and bytes that are not FCS.
func FuzzAttachFCS(f *testing.F) {
	data1 := flowFile(f, "FCSFiles", "data1.fcs")
	for _, seed := range [][]byte{data1, data1[:58], data1[:2000], data1[:len(data1)-1], []byte("FCS3.1"),
		[]byte("FCS3.0          58    1000  1001  2000     0     0"), []byte("<gating:Gating-ML/>"), {}, {0xff, 0, 0xfe}} {
		f.Add(seed)
	}
	store := newStore(f)
	e := &matrixEnv{tb: f, store: store, ctx: clink.WithActor(context.Background(), "fuzz")}
	e.check(store.CreateSite(e.ctx, &clink.Site{Code: ownSite, Name: "Barcelona", Kind: clink.SiteHospital}))
	e.check(store.CreateComponent(e.ctx, &clink.Component{Site: ownSite, Name: "IL-2", Category: clink.CategoryCytokine, Unit: clink.UnitIUPerML}))
	e.donor, e.proto = e.newDonor(), e.newProtocol()
	fm := &flowMatrixEnv{matrixEnv: e, gml: string(flowFile(f, "Gating-MLFiles", "gates1.xml"))}
	fm.tmpl = fm.newTemplate()
	researcher := &clink.User{Username: "fuzzer", FullName: "Fuzz Researcher", Email: "fuzz@example.org",
		Site: ownSite, Roles: []string{clink.RoleResearcher}}
	e.check(store.CreateUser(e.ctx, researcher, testPassword))
	token, _, err := store.CreateToken(e.ctx, "fuzzer", "fuzz", time.Hour)
	e.check(err)
	h := clinkhttp.NewServer(store, clinkhttp.Options{}).Handler()
	f.Fuzz(func(t *testing.T, body []byte) {
		te := &matrixEnv{tb: t, store: store, ctx: e.ctx, proto: e.proto}
		o := &clink.Observation{CultureID: te.newCulture().ID, Day: 7, ViableCells: 2e7}
		if err := store.CreateObservation(e.ctx, o); err != nil {
			t.Fatal(err)
		}
		before := auditCount(t, store)
		q := url.Values{"template": {fm.tmpl.Ref()}, "filename": {"fuzz.fcs"}}
		req := httptest.NewRequest("POST", fmt.Sprintf("/api/v1/observations/%d/fcs?%s", o.ID, q.Encode()), bytes.NewReader(body))
		req.Header.Set("Content-Type", clinkhttp.FCSMediaType)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch {
		case rec.Code >= 500:
			t.Fatalf("%d bytes: got status %d, want no 5xx: %s", len(body), rec.Code, rec.Body)
		case rec.Code == http.StatusCreated:
			var res clinkhttp.FCSUploadResult
			if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil || len(res.Attachments) != 1 || res.Observation == nil {
				t.Fatalf("%d bytes: got 201 with %s, want an attachment", len(body), rec.Body)
			}
			if err := res.Observation.Validate(); err != nil {
				t.Fatalf("%d bytes: stored an invalid observation: %v", len(body), err)
			}
		case rec.Code >= 400:
			var p clinkhttp.Problem
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("%d bytes: got Content-Type %q, want application/problem+json", len(body), ct)
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != rec.Code {
				t.Fatalf("%d bytes: got %s, want a problem with status %d", len(body), rec.Body, rec.Code)
			}
			if after := auditCount(t, store); after != before {
				t.Fatalf("%d bytes: refused with %d, but the audit trail grew from %d to %d", len(body), rec.Code, before, after)
			}
		default:
			t.Fatalf("%d bytes: got status %d, want 201 or an error", len(body), rec.Code)
		}
	})
}
