package http_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	clinkhttp "github.com/clink-consortium/clink/http"
)

// The limits of the server, as the code states them (http/request.go, http/login.go, http/ui.go,
// http/ui_import.go, http/ui_fcs.go, exchange/exchange.go). The tests below check each at its
// edge: a request at the limit is read, one byte more is refused.
const (
	limitJSONBody  = 1 << 20  // API bodies (maxBodyBytes)
	limitLoginForm = 16 << 10 // the sign-in form (maxLoginForm)
	limitPageForm  = 64 << 10 // every other form of the pages (maxPageForm)
	limitImport    = 32 << 20 // the files of one import together (importMaxBytes)
	limitImportRow = 100_000  // data rows of one import (exchange.DefaultMaxRows)
	limitFormField = 1 << 10  // a text field of a multipart form (maxUploadField)
	limitFCSFiles  = 1000     // files of one FCS upload to the API
	testFCSLimit   = 16 << 10 // the FCS limit the tests configure (Options.MaxFCSBytes; 512 MiB by default)
)

// padJSON returns the JSON object v padded with spaces to exactly n bytes.
func padJSON(tb testing.TB, v any, n int) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	if len(b) > n {
		tb.Fatalf("the JSON is %d bytes, more than %d", len(b), n)
	}
	return append(b, bytes.Repeat([]byte(" "), n-len(b))...)
}

// TestSecurityBodyLimits sends every API write (every POST and PUT of the route table but the
// FCS upload, whose limit is its own) a JSON body one byte over 1 MiB, as a user allowed to
// make it on an existing record: each is refused with 413, a problem document naming the
// limit, and changes nothing. A body of exactly 1 MiB is read (a donor padded with spaces is
// created). Then every form of the pages gets a body one byte over 64 KiB (400, nothing
// changed; exactly 64 KiB is read, and refused for its content with 422), and the sign-in
// form one over 16 KiB (400; exactly 16 KiB is read and refused as bad credentials, 401).
func TestSecurityBodyLimits(t *testing.T) {
	e, _ := newSecFixture(t, clinkhttp.Options{})
	cookie := e.signIn(t, secRoot)
	over := []byte(`{"notes":"` + strings.Repeat("a", limitJSONBody) + `"}`)

	t.Run("api", func(t *testing.T) {
		n := 0
		for _, rt := range e.server.Routes() {
			if (rt.Method != http.MethodPost && rt.Method != http.MethodPut) || rt.Name == "attachFCS" {
				continue
			}
			n++
			path := e.secPath(rt.Pattern, "", "")
			before := tableCounts(t, e.store.DB())
			resp, body := e.api(t, rt.Method, path, secRoot, over)
			var p clinkhttp.Problem
			json.Unmarshal(body, &p)
			if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(p.Detail, fmt.Sprint(limitJSONBody)) {
				t.Errorf("%s %s (%s) with %d bytes: got status %d (%.200s), want 413 naming the limit %d", rt.Method, path, rt.Name,
					len(over), resp.StatusCode, body, limitJSONBody)
			}
			if d := diffCounts(before, tableCounts(t, e.store.DB())); d != "" {
				t.Errorf("%s %s: the refused body changed the database: %s", rt.Method, path, d)
			}
		}
		if n < 20 {
			t.Errorf("sent %d API writes, want every one of the route table", n)
		}
		donor := map[string]string{"site": secSite, "hcmv": "negative", "consent_date": "2025-02-01"}
		resp, body := e.api(t, "POST", "/api/v1/donors", secRoot, padJSON(t, donor, limitJSONBody))
		if resp.StatusCode != http.StatusCreated {
			t.Errorf("POST /api/v1/donors with exactly %d bytes: got status %d, want 201 (body %.300s)", limitJSONBody, resp.StatusCode, body)
		}
		resp, _ = e.api(t, "POST", "/api/v1/donors", secRoot, padJSON(t, donor, limitJSONBody+1))
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("POST /api/v1/donors with %d bytes: got status %d, want 413", limitJSONBody+1, resp.StatusCode)
		}
	})

	t.Run("forms", func(t *testing.T) {
		n := 0
		for _, rt := range e.server.UIRoutes() {
			switch {
			case rt.Method != http.MethodPost:
				continue
			case rt.Name == "login" || rt.Name == "logout" || rt.Name == "importFiles" || rt.Name == "uploadFCS":
				continue // their own limits, below and in TestSecurityUploadLimits; a sign-out reads no body
			}
			n++
			path := e.secPath(rt.Pattern, "", "")
			form := url.Values{"notes": {strings.Repeat("a", limitPageForm)}}
			before := tableCounts(t, e.store.DB())
			resp, body := e.do(t, "POST", path, form, cookie)
			if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Errorf("POST %s (%s) with a form of %d bytes: got status %d, want 400 or 413 (body %.300s)", path, rt.Name,
					len(form.Encode()), resp.StatusCode, body)
			}
			if d := diffCounts(before, tableCounts(t, e.store.DB())); d != "" {
				t.Errorf("POST %s: the refused form changed the database: %s", path, d)
			}
		}
		if n < 15 {
			t.Errorf("sent %d forms, want every form of the pages", n)
		}
		// At the limit the form is read, and refused for its content: notes are at most
		// 4000 characters.
		form := url.Values{"site": {secSite}, "hcmv": {"negative"}, "consent_date": {"2025-02-01"}}
		form.Set("notes", strings.Repeat("a", limitPageForm-len(form.Encode())-len("&notes=")))
		if len(form.Encode()) != limitPageForm {
			t.Fatalf("the form is %d bytes, want %d", len(form.Encode()), limitPageForm)
		}
		resp, body := e.do(t, "POST", "/donors", form, cookie)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "longer than 4000") {
			t.Errorf("POST /donors with a form of exactly %d bytes: got status %d, want 422 about the notes", limitPageForm, resp.StatusCode)
		}
	})

	t.Run("sign-in", func(t *testing.T) {
		for _, tc := range []struct {
			size, want int
		}{{limitLoginForm, http.StatusUnauthorized}, {limitLoginForm + 1, http.StatusBadRequest}} {
			form := url.Values{"username": {secRoot}}
			form.Set("password", strings.Repeat("p", tc.size-len(form.Encode())-len("&password=")))
			resp, body := e.do(t, "POST", "/login", form, nil)
			if resp.StatusCode != tc.want || sessionCookie(resp) != nil {
				t.Errorf("POST /login with %d bytes: got status %d, want %d and no session (body %.300s)", len(form.Encode()), resp.StatusCode, tc.want, body)
			}
		}
	})
}

// TestSecurityUploadLimits checks the limits of uploads, with the server's FCS limit set to
// 16 KiB (Options.MaxFCSBytes; 512 MiB by default): an FCS body to the API one byte over it
// is refused with 413, as are multipart files together over it; more than 1000 files in one
// request are refused with 400; the upload form of the pages refuses files over it with 413.
// The import form refuses files over 32 MiB together with 413, more than 100,000 rows with
// 422 and a message naming the limit, more files than tables and a text field over 1 KiB with
// 422. Nothing refused changes the database.
func TestSecurityUploadLimits(t *testing.T) {
	e, _ := newSecFixture(t, clinkhttp.Options{MaxFCSBytes: testFCSLimit})
	cookie := e.signIn(t, secRoot)
	refused := func(t *testing.T, what string, r secRequest, want int, message string) {
		t.Helper()
		before := tableCounts(t, e.store.DB())
		resp, body := secSend(t, e.srv.URL, r)
		if resp.StatusCode != want || !strings.Contains(string(body), message) {
			t.Errorf("%s: got status %d, want %d with %q (body %.400s)", what, resp.StatusCode, want, message, body)
		}
		if d := diffCounts(before, tableCounts(t, e.store.DB())); d != "" {
			t.Errorf("%s: the refused upload changed the database: %s", what, d)
		}
	}
	multipartFiles := func(names []string, size int) ([]byte, string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for _, n := range names {
			w, _ := mw.CreateFormFile("files", n)
			w.Write(bytes.Repeat([]byte("F"), size))
		}
		mw.Close()
		return buf.Bytes(), mw.FormDataContentType()
	}

	t.Run("fcs api", func(t *testing.T) {
		path := fmt.Sprintf("/api/v1/observations/%d/fcs?template=t", e.obs.ID)
		refused(t, "an FCS body one byte over the limit", secRequest{method: "POST", path: path + "&filename=a.fcs",
			body: bytes.Repeat([]byte("F"), testFCSLimit+1), contentType: clinkhttp.FCSMediaType, token: e.tokens[secRoot]},
			http.StatusRequestEntityTooLarge, fmt.Sprint(testFCSLimit))
		body, ct := multipartFiles([]string{"a.fcs", "b.fcs"}, testFCSLimit/2+1)
		refused(t, "two files together over the limit", secRequest{method: "POST", path: path, body: body, contentType: ct,
			token: e.tokens[secRoot]}, http.StatusRequestEntityTooLarge, fmt.Sprint(testFCSLimit))
		// 1001 parts' headers take more than the 64 KiB a multipart body may add to its
		// files: this needs a larger FCS limit.
		big, _ := newSecFixture(t, clinkhttp.Options{MaxFCSBytes: 1 << 20})
		names := make([]string, limitFCSFiles+1)
		for i := range names {
			names[i] = fmt.Sprintf("f%d.fcs", i)
		}
		body, ct = multipartFiles(names, 1)
		before := tableCounts(t, big.store.DB())
		resp, data := secSend(t, big.srv.URL, secRequest{method: "POST", path: path, body: body, contentType: ct, token: big.tokens[secRoot]})
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(data), "at most 1000") {
			t.Errorf("1001 files: got status %d, want 400 saying at most 1000 (body %.300s)", resp.StatusCode, data)
		}
		if d := diffCounts(before, tableCounts(t, big.store.DB())); d != "" {
			t.Errorf("1001 files: the refused upload changed the database: %s", d)
		}
		// At the limit the file is read, and refused as what it is: not an FCS file.
		resp, data = secSend(t, e.srv.URL, secRequest{method: "POST", path: path + "&filename=a.fcs",
			body: bytes.Repeat([]byte("F"), testFCSLimit), contentType: clinkhttp.FCSMediaType, token: e.tokens[secRoot]})
		if resp.StatusCode == http.StatusRequestEntityTooLarge || resp.StatusCode >= 500 {
			t.Errorf("an FCS body of exactly the limit: got status %d, want it read and refused as no FCS file (body %.300s)", resp.StatusCode, data)
		}
	})

	t.Run("fcs page", func(t *testing.T) {
		ct, body := uploadForm(t, map[string]string{"observation": fmt.Sprint(e.obs.ID), "template": "t"}, "a.fcs",
			bytes.Repeat([]byte("F"), testFCSLimit+1))
		refused(t, "the upload form with a file over the limit", secRequest{method: "POST", path: fmt.Sprintf("/cultures/%d/fcs", e.culture.ID),
			body: body, contentType: ct, cookie: cookie, header: map[string]string{"Sec-Fetch-Site": "same-origin"}},
			http.StatusRequestEntityTooLarge, "")
	})

	t.Run("import", func(t *testing.T) {
		post := func(fields map[string]string, files ...any) secRequest {
			ct, body := uploadForm(t, fields, files...)
			return secRequest{method: "POST", path: "/import", body: body, contentType: ct, cookie: cookie,
				header: map[string]string{"Sec-Fetch-Site": "same-origin"}}
		}
		refused(t, "an import over 32 MiB", post(nil, "sites.csv", bytes.Repeat([]byte("a"), limitImport+1)),
			http.StatusRequestEntityTooLarge, "32 MiB")
		var rows strings.Builder
		rows.WriteString("code,name,kind\n")
		for i := range limitImportRow + 1 {
			fmt.Fprintf(&rows, "Q%c%c,Site %d,lab\n", 'A'+i/26%26, 'A'+i%26, i)
		}
		refused(t, "an import of 100,001 rows", post(map[string]string{"confirm": "yes"}, "sites.csv", []byte(rows.String())),
			http.StatusUnprocessableEntity, "more than 100000 rows")
		refused(t, "an import of 10 files", post(nil, tenFiles()...), http.StatusUnprocessableEntity, "")
		refused(t, "an import with a text field over 1 KiB", post(map[string]string{"digest": strings.Repeat("d", limitFormField+1)},
			"sites.csv", []byte("code,name,kind\n")), http.StatusUnprocessableEntity, "")
	})

	// The two refusals above say why (they once showed only "invalid input").
	t.Run("import messages", func(t *testing.T) {
		for _, tc := range []struct {
			what    string
			fields  map[string]string
			files   []any
			message string
		}{
			{"10 files", nil, tenFiles(), "too many"},
			{"a text field over 1 KiB", map[string]string{"digest": strings.Repeat("d", limitFormField+1)},
				[]any{"sites.csv", []byte("code,name,kind\n")}, "longer than 1024 bytes"},
		} {
			ct, body := uploadForm(t, tc.fields, tc.files...)
			refused(t, tc.what, secRequest{method: "POST", path: "/import", body: body, contentType: ct, cookie: cookie,
				header: map[string]string{"Sec-Fetch-Site": "same-origin"}}, http.StatusUnprocessableEntity, tc.message)
		}
	})
}

// tenFiles are ten CSV files, one more than there are tables.
func tenFiles() []any {
	var files []any
	for i := range 10 {
		files = append(files, fmt.Sprintf("f%d.csv", i), []byte("code\n"))
	}
	return files
}
