package http_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/clink-consortium/clink"
)

// The import page in the permission matrix: the page (which says who may import), and a
// confirmed import of one fresh
// donor of the matrix's own site. Admins may import for any site and a researcher for their
// own; a researcher of the other site passes the route's rule but is refused by the row's site
// (403, nothing written), like every other role.
func init() {
	addUIMatrix("importPage", "read", 200, func(*matrixEnv) (string, any) { return "/import", nil })
	addUIMatrix("importFiles", "component", 303, func(e *matrixEnv) (string, any) {
		code := testDonorCode(fmt.Sprintf("9%09d", e.next()))
		ct, body := uploadForm(e.tb, map[string]string{"confirm": "yes"},
			"donors.csv", []byte("code,site,consent_date\n"+code+","+ownSite+",2025-01-15\n"))
		return "/import", rawBody{ct, body}
	})
}

// testDonorCode makes a valid donor code from ten characters of the code alphabet (digits
// are in it; some letters, such as I and O, are not).
func testDonorCode(body string) string { return "D" + body + "-" + clink.Mod37_2("D"+body) }

// importState is what an import may change: the audit trail and the records it creates.
type importState struct{ audit, donors, cultures, observations int }

func (e *uiEnv) importState(tb testing.TB) importState {
	tb.Helper()
	ctx := context.Background()
	one := clink.Page{Limit: 1}
	_, donors, err := e.store.FindDonors(ctx, clink.DonorFilter{Page: one})
	if err != nil {
		tb.Fatal(err)
	}
	_, cultures, err := e.store.FindCultures(ctx, clink.CultureFilter{Page: one})
	if err != nil {
		tb.Fatal(err)
	}
	_, obs, err := e.store.FindObservations(ctx, clink.ObservationFilter{IncludeVoided: true, Page: one})
	if err != nil {
		tb.Fatal(err)
	}
	return importState{auditCount(tb, e.store), donors, cultures, obs}
}

// postImport posts the import form with fields and files (name, content pairs).
func (e *uiEnv) postImport(tb testing.TB, cookie *http.Cookie, fields map[string]string, files ...any) (*http.Response, string) {
	tb.Helper()
	ct, body := uploadForm(tb, fields, files...)
	req, err := http.NewRequest("POST", e.srv.URL+"/import", bytes.NewReader(body))
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

// csvText joins lines into a CSV file's content.
func csvText(lines ...string) []byte { return []byte(strings.Join(lines, "\n") + "\n") }

// problemRows returns the rows of the page's problems table as "file:row:column:message".
func problemRows(tb testing.TB, body string) []string {
	tb.Helper()
	var out []string
	for _, tr := range queryAll(parseHTML(tb, body), "#problems-table tbody tr") {
		var cells []string
		for _, td := range queryAll(tr, "td") {
			cells = append(cells, strings.TrimSpace(textOf(td)))
		}
		out = append(out, strings.Join(cells, ":"))
	}
	return out
}

func TestImportPage(t *testing.T) {
	e := newUIEnv(t)
	ctx := context.Background()
	protos, _, err := e.store.FindProtocols(ctx, clink.ProtocolFilter{Site: "ZGZ", Page: clink.Page{Limit: 1}})
	if err != nil || len(protos) == 0 {
		t.Fatalf("a protocol of ZGZ: got %v, %v", protos, err)
	}
	p := protos[0]
	donor := testDonorCode("1000000001")
	// A donor, a culture of it and two observations at ZGZ: 4 records.
	good := []any{
		"donors.csv", csvText("code,site,sex,consent_date", donor+",ZGZ,female,2025-06-30"),
		"cultures.csv", csvText("code,site,donor,protocol_name,protocol_version,start_date,starting_cells,starting_nk_pct",
			fmt.Sprintf("ZGZ-C99901,ZGZ,%s,\"%s\",%d,2025-07-01,1e7,10", donor, strings.ReplaceAll(p.Name, `"`, `""`), p.Version)),
		"observations.csv", csvText("culture,day,viable_cells,viability_pct", "ZGZ-C99901,0,1e7,95", "ZGZ-C99901,7,3e7,90"),
	}
	researcher := e.signIn(t, "researcher-zgz")

	t.Run("viewer", func(t *testing.T) {
		viewer := e.signIn(t, "viewer")
		before := e.importState(t)
		doc := e.page(t, "/import", viewer, 200)
		mustQuery(t, doc, "#import-not-allowed")
		if f := query(doc, "#import-form"); f != nil {
			t.Errorf("the viewer's page has the import form, want none")
		}
		resp, _ := e.postImport(t, viewer, map[string]string{"confirm": "yes"}, good...)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST /import as viewer: got status %d, want 403", resp.StatusCode)
		}
		if after := e.importState(t); after != before {
			t.Errorf("a refused import changed the store: got %+v, want %+v", after, before)
		}
	})

	t.Run("form", func(t *testing.T) {
		checkPage(t, e.page(t, "/import", researcher, 200), "/import")
	})

	t.Run("bad file", func(t *testing.T) {
		before := e.importState(t)
		resp, body := e.postImport(t, researcher, nil, "observations.csv",
			csvText("culture,day,viable_cells,viability_pct", "ZGZ-C99999,0,1e7,95", "ZGZ-C99901,3,2e7,134"))
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("got status %d, want 422 (body %.1500s)", resp.StatusCode, body)
		}
		got := problemRows(t, body)
		want := []string{
			"observations.csv:2:culture:culture ZGZ-C99999 is neither in the cultures table nor in the database",
			"observations.csv:3:culture:culture ZGZ-C99901 is neither in the cultures table nor in the database",
			"observations.csv:3:viability_pct:134 is above 100",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("got problems\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if after := e.importState(t); after != before {
			t.Errorf("a refused preview changed the store: got %+v, want %+v", after, before)
		}
	})

	var digest string
	t.Run("good preview", func(t *testing.T) {
		before := e.importState(t)
		resp, body := e.postImport(t, researcher, nil, good...)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("got status %d, want 200 (body %.1500s)", resp.StatusCode, body)
		}
		doc := parseHTML(t, body)
		checkPage(t, doc, "/import")
		var got []string
		for _, c := range queryAll(doc, "#import-preview p.counts") {
			table, _ := attr(c, "data-table")
			n, _ := attr(c, "data-created")
			got = append(got, table+"="+n)
		}
		if want := "donors=1 cultures=1 observations=2"; strings.Join(got, " ") != want {
			t.Errorf("got counts %q, want %q", strings.Join(got, " "), want)
		}
		if rows := queryAll(doc, "#import-preview table.preview-table tbody tr"); len(rows) != 4 {
			t.Errorf("got %d preview rows, want 4", len(rows))
		}
		d := mustQuery(t, doc, `#import-confirm-form input[name=digest]`)
		digest, _ = attr(d, "value")
		if after := e.importState(t); after != before {
			t.Errorf("a preview changed the store: got %+v, want %+v", after, before)
		}
	})

	t.Run("other files than previewed", func(t *testing.T) {
		before := e.importState(t)
		resp, body := e.postImport(t, researcher, map[string]string{"confirm": "yes", "digest": digest}, good[:4]...)
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("got status %d, want 422 (body %.1500s)", resp.StatusCode, body)
		}
		if after := e.importState(t); after != before {
			t.Errorf("a refused import changed the store: got %+v, want %+v", after, before)
		}
	})

	t.Run("other site", func(t *testing.T) {
		before := e.importState(t)
		bcn := testDonorCode("2000000001")
		resp, body := e.postImport(t, researcher, map[string]string{"confirm": "yes"}, "donors.csv",
			csvText("code,site,consent_date", testDonorCode("2000000002")+",ZGZ,2025-06-30", bcn+",BCN,2025-06-30"))
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("got status %d, want 403 (body %.1500s)", resp.StatusCode, body)
		}
		want := "donors.csv:3:site:the record belongs to site BCN: a researcher imports only records of their own site (ZGZ)"
		if got := problemRows(t, body); len(got) != 1 || got[0] != want {
			t.Errorf("got problems %q, want [%q]", got, want)
		}
		if after := e.importState(t); after != before {
			t.Errorf("a refused import changed the store: got %+v, want %+v", after, before)
		}
	})

	t.Run("confirm", func(t *testing.T) {
		before := e.importState(t)
		resp, body := e.postImport(t, researcher, map[string]string{"confirm": "yes", "digest": digest}, good...)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("got status %d, want 303 (body %.1500s)", resp.StatusCode, body)
		}
		after := e.importState(t)
		if got, want := (importState{0, after.donors - before.donors, after.cultures - before.cultures, after.observations - before.observations}), (importState{0, 1, 1, 2}); got != want {
			t.Errorf("got %+v more records, want %+v", got, want)
		}
		if after.audit <= before.audit {
			t.Errorf("got %d audit events after the import, want more than %d", after.audit, before.audit)
		}
		loc := resp.Header.Get("Location")
		doc := e.page(t, loc, researcher, 200)
		if got, want := strings.TrimSpace(textOf(mustQuery(t, doc, "#import-done"))), "Imported: 1 donors, 1 cultures, 2 observations."; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
		c, err := e.store.FindCultureByCode(ctx, "ZGZ-C99901")
		if err != nil {
			t.Fatal(err)
		}
		if c.Donor != donor || c.Site != "ZGZ" {
			t.Errorf("got culture of donor %s at %s, want %s at ZGZ", c.Donor, c.Site, donor)
		}
		// Sent again, the same files are refused: the records exist; nothing more is written.
		resp, body = e.postImport(t, researcher, map[string]string{"confirm": "yes"}, good...)
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("second import: got status %d, want 422", resp.StatusCode)
		}
		if len(problemRows(t, body)) == 0 {
			t.Errorf("second import: got no problem, want the existing records named")
		}
		if again := e.importState(t); again != after {
			t.Errorf("the refused second import changed the store: got %+v, want %+v", again, after)
		}
	})

	t.Run("admin for another site", func(t *testing.T) {
		admin := e.signIn(t, "admin")
		before := e.importState(t)
		resp, body := e.postImport(t, admin, map[string]string{"confirm": "yes"}, "donors.csv",
			csvText("code,site,consent_date", testDonorCode("3000000001")+",BCN,2025-06-30"))
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("got status %d, want 303 (body %.1500s)", resp.StatusCode, body)
		}
		if after := e.importState(t); after.donors != before.donors+1 {
			t.Errorf("got %d donors, want %d", after.donors, before.donors+1)
		}
	})
}
