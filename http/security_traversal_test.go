package http_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/clink-consortium/clink"
	clinkhttp "github.com/clink-consortium/clink/http"
)

// rawGet sends "GET target HTTP/1.1" with target exactly as written (no client cleans dot
// segments or re-escapes it) and the cookie, and returns the answer and its body.
func rawGet(tb testing.TB, srvURL, target string, cookie *http.Cookie) (*http.Response, []byte) {
	tb.Helper()
	u, _ := url.Parse(srvURL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nSec-Fetch-Site: same-origin\r\nConnection: close\r\n", target, u.Host)
	if cookie != nil {
		fmt.Fprintf(conn, "Cookie: %s=%s\r\n", cookie.Name, cookie.Value)
	}
	fmt.Fprint(conn, "\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		tb.Fatalf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

// traversals are what the traversal test puts where a download route takes a file name or a
// number: parent segments written plainly (which the router cleans, redirecting), percent-
// encoded, double-encoded, with backslashes, as overlong UTF-8; absolute paths; and NUL
// bytes. Their targets are /etc/passwd, the module's go.mod, sources and templates of the
// package (the tests run in http/), and the database file (added by the test).
var traversals = []string{
	"../../../../../../../../etc/passwd",
	"..%2f..%2f..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
	"%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
	"%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
	"..%252f..%252f..%252f..%252f..%252f..%252fetc%252fpasswd",
	"%2fetc%2fpasswd",
	"/etc/passwd",
	"..%5c..%5c..%5c..%5c..%5c..%5cetc%5cpasswd",
	"....//....//....//....//etc/passwd",
	"..;/..;/..;/..;/etc/passwd",
	"%c0%ae%c0%ae/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
	"file:%2f%2f%2fetc%2fpasswd",
	"../../go.mod",
	"..%2f..%2fgo.mod",
	"..%2fgo.mod",
	"..%2fui.go",
	"ui.go",
	"..%2ftemplates%2flayout.html",
	"templates%2flayout.html",
	"static%2fclink.css",
	"%00",
	"%2e%2e",
	"%2e",
	"..",
}

// forbiddenContent are fragments of the files a traversal would reach; no answer may hold them.
var forbiddenContent = []string{"root:x:0:0", "root:*:0:0", "SQLite format 3", "module github.com/clink-consortium/clink",
	"package http", "{{define", "-----BEGIN"}

// TestSecurityPathTraversal sends every download route (the static assets, stored FCS files,
// the SVG and CSV charts of the culture, protocol, dashboard, comparison, optimizer and FCS
// plot pages, batch labels and certificates) the file names and numbers of traversals, the
// absolute path of the database file, and the route's own file followed by a NUL or a
// traversal. Each first gets its own file (200), so the route works; every variant is
// answered with a 4xx, or a redirect (the router cleaning dot segments) to a path that is one,
// and no answer holds a fragment of the files reached (forbiddenContent). An FCS file uploaded
// under a name with directories keeps only its base name, and the downloads' file names hold
// no directory either.
func TestSecurityPathTraversal(t *testing.T) {
	e, _ := newSecFixture(t, clinkhttp.Options{})
	cookie := e.signIn(t, secRoot)
	dbPath := e.dbPath
	for _, f := range []string{"/etc/passwd", "../go.mod"} {
		if _, err := os.Stat(f); err != nil {
			t.Logf("%s is not there (%v): its traversals are checked by status only", f, err)
		}
	}

	// The chart links of the pages whose charts depend on the query.
	chartLink := func(page, prefix string) string {
		t.Helper()
		_, body := e.do(t, "GET", page, nil, cookie)
		links, _ := pageLinks(mustURL(t, e.srv.URL+page), body)
		for _, l := range links {
			if strings.HasPrefix(l, prefix) && strings.Contains(l, ".svg") {
				return l
			}
		}
		t.Fatalf("GET %s: no link to %s…svg", page, prefix)
		return ""
	}
	compare := "/compare?" + url.Values{"protocol": {e.proto.Name, "second protocol"}}.Encode()
	optimizer := "/optimizer?" + url.Values{"space": {e.space.Ref()}, "objective": {"nk_fold"}, "batch": {"2"}, "donors": {"1"}, "seed": {"1"}}.Encode()

	type route struct {
		prefix, file, suffix string // a request is prefix + file + suffix
	}
	split := func(link, prefix string) route {
		file, query, _ := strings.Cut(strings.TrimPrefix(link, prefix), "?")
		if query != "" {
			query = "?" + query
		}
		return route{prefix, file, query}
	}
	routes := []route{
		{"/static/0123456789ab/", "clink.css", ""},
		{"/static/", "0123456789ab/clink.css", ""},
		{fmt.Sprintf("/cultures/%d/charts/", e.culture.ID), "growth.svg", ""},
		{fmt.Sprintf("/cultures/%d/charts/", e.culture.ID), "growth.csv", ""},
		{fmt.Sprintf("/protocols/%d/charts/", e.proto.ID), "nk-fold.svg", ""},
		split(chartLink("/dashboard/scoreboard", "/dashboard/charts/"), "/dashboard/charts/"),
		split(chartLink(compare, "/compare/charts/"), "/compare/charts/"),
		split(chartLink(optimizer, "/optimizer/charts/"), "/optimizer/charts/"),
		{fmt.Sprintf("/api/v1/batches/%d/labels/", e.released.ID), "1", ""},
		{"/api/v1/batches/", fmt.Sprint(e.released.ID), "/certificate"},
	}
	if e.att != nil {
		routes = append(routes,
			route{"/api/v1/fcs/", e.att.SHA256, ""},
			route{fmt.Sprintf("/observations/%d/fcs/%d/charts/", e.obs.ID, e.att.ID), "Polygon1.svg", ""},
			route{fmt.Sprintf("/observations/%d/fcs/%d/charts/", e.obs.ID, e.att.ID), "Polygon1.png", ""},
			route{fmt.Sprintf("/observations/%d/fcs/", e.obs.ID), fmt.Sprint(e.att.ID), "/charts/Polygon1.csv"})
	}

	for _, rt := range routes {
		t.Run(strings.ReplaceAll(rt.prefix+"{"+rt.file+"}"+rt.suffix, "/", " "), func(t *testing.T) {
			resp, body := rawGet(t, e.srv.URL, rt.prefix+rt.file+rt.suffix, cookie)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: got status %d, want 200 (body %.300s)", rt.prefix+rt.file+rt.suffix, resp.StatusCode, body)
			}
			checkDownloadName(t, rt.prefix+rt.file, resp)
			variants := append([]string{}, traversals...)
			variants = append(variants, url.PathEscape(dbPath), strings.Repeat("..%2f", 12)+url.PathEscape(strings.TrimPrefix(dbPath, "/")),
				rt.file+"%00", rt.file+"%00.html", rt.file+"%2f..%2f..%2f..%2f..%2fetc%2fpasswd", rt.file+"/../../../../../../etc/passwd",
				rt.file+"%2f..%2f..%2fgo.mod", rt.file+"/..", rt.file+"%2f.")
			for _, v := range variants {
				target := rt.prefix + v + rt.suffix
				resp, body := rawGet(t, e.srv.URL, target, cookie)
				checkTraversal(t, e, target, resp, body, cookie)
			}
		})
	}

	t.Run("label bags", func(t *testing.T) {
		prefix := fmt.Sprintf("/api/v1/batches/%d/labels/", e.released.ID)
		for _, bag := range []string{"../1", "..%2f1", "1%2f..%2f..%2f..%2fetc%2fpasswd", "0", "-1", "99999999999999999999",
			"1.pdf", "0x1", "1e0", "%201", "1%00", "%2e%2e%2f1", "1%2f", "one"} {
			resp, body := rawGet(t, e.srv.URL, prefix+bag, cookie)
			checkTraversal(t, e, prefix+bag, resp, body, cookie)
		}
	})

	t.Run("upload names", func(t *testing.T) {
		if e.att == nil {
			t.Skip("no flow data: no gating template to upload with")
		}
		data := flowFile(t, "FCSFiles", "data1.fcs")
		for i, name := range []string{"../../../../etc/cron.d/evil.fcs", `..\..\..\Windows\evil.fcs`, "/etc/passwd"} {
			o := &clink.Observation{CultureID: e.running.ID, Site: secSite, Day: 50 + i, ViableCells: 1e7}
			e.check("observation", e.store.CreateObservation(e.as(secResearcher), o))
			q := url.Values{"template": {e.tmpl.Ref()}, "filename": {name}}
			resp, body := secSend(t, e.srv.URL, secRequest{method: "POST", path: fmt.Sprintf("/api/v1/observations/%d/fcs?%s", o.ID, q.Encode()),
				body: data, contentType: clinkhttp.FCSMediaType, token: e.tokens[secRoot]})
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("upload as %q: got status %d, want 201 (body %.300s)", name, resp.StatusCode, body)
			}
			as, _, err := e.store.FindFCSAttachments(e.ctx, clink.FCSAttachmentFilter{ObservationID: o.ID})
			if err != nil || len(as) != 1 {
				t.Fatalf("attachments of the upload: %v, %v", as, err)
			}
			want := name[strings.LastIndexAny(name, `/\`)+1:]
			if as[0].FileName != want {
				t.Errorf("upload as %q: stored the file name %q, want the base name %q", name, as[0].FileName, want)
			}
			resp, _ = e.do(t, "GET", fmt.Sprintf("/observations/%d/fcs/%d/charts/Polygon1.svg", o.ID, as[0].ID), nil, cookie)
			checkDownloadName(t, "the plot of "+name, resp)
		}
	})
}

// checkTraversal checks the answer to a traversal: a 4xx, or a redirect within the site (the
// router cleaning dot segments) to a path answered with a 4xx or with a page of the site (the
// parent of a chart is its page); never a file, nor a fragment of a file reached.
func checkTraversal(t *testing.T, e *secEnv, target string, resp *http.Response, body []byte, cookie *http.Cookie) {
	t.Helper()
	for hop := 0; ; hop++ {
		for _, f := range forbiddenContent {
			if bytes.Contains(body, []byte(f)) {
				t.Errorf("GET %s: the answer (status %d) holds %q", target, resp.StatusCode, f)
			}
		}
		ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		switch {
		case resp.StatusCode >= 400 && resp.StatusCode < 500:
			return
		case hop > 0 && resp.StatusCode == http.StatusOK && (ct == "text/html" || ct == "application/json"):
			return // a page or an API answer of the cleaned path
		case resp.StatusCode >= 300 && resp.StatusCode < 400 && hop < 3:
			loc := resp.Header.Get("Location")
			if !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") {
				t.Errorf("GET %s: redirected to %q, want a path of this site", target, loc)
				return
			}
			target = loc
			resp, body = rawGet(t, e.srv.URL, loc, cookie)
		default:
			t.Errorf("GET %s: got status %d, want a 4xx (body %.200s)", target, resp.StatusCode, body)
			return
		}
	}
}

// checkDownloadName checks that an answer's Content-Disposition, when it has one, parses and
// names a file without a directory.
func checkDownloadName(t *testing.T, what string, resp *http.Response) {
	t.Helper()
	cd := resp.Header.Get("Content-Disposition")
	if cd == "" {
		return
	}
	_, params, err := mime.ParseMediaType(cd)
	if err != nil {
		t.Errorf("%s: Content-Disposition %q does not parse: %v", what, cd, err)
		return
	}
	if name := params["filename"]; name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		t.Errorf("%s: Content-Disposition names the file %q, want a base name", what, name)
	}
}

func mustURL(tb testing.TB, s string) *url.URL {
	tb.Helper()
	u, err := url.Parse(s)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}
