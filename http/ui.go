package http

// The web application: server-rendered pages over the same store, permissions and sessions as
// the API.
//
// # Adding a page
//
// A page is four things, each in the file of its feature (ui_NAME.go and its template), so
// that pages are added without editing this file:
//
//  1. A route in one of the UI route tables (uiCoreRoutes here, uiDirectoryRoutes in
//     ui_directory.go, uiCompareRoutes in ui_compare.go): method, pattern, a route name unique
//     across the API and the pages, the Permission, and the handler. Every page route needs a
//     permission like every API route; guardPage sends a visitor who is not signed in to
//     /login, and renders any error the handler returns as an HTML error page (renderError) with
//     the status errorStatus gives its kind. Site-scoped writes call s.authorize(r, site) once
//     they know the record's site, exactly as the API handlers do.
//  2. A template file templates/pages/NAME.html that defines {{define "content"}} (and, if it
//     wants, {{define "head"}} for extra <head> elements). At start-up every page file is
//     parsed into its own clone of the layout (templates/layout.html) and the shared partials
//     (templates/partials/*.html), so pages may define blocks of the same name without
//     clashing; a template that does not parse stops the program before it serves anything.
//  3. A line in the permission matrix test (TestPermissionMatrix): the page's test file calls
//     addUIMatrix (ui_matrix_test.go) from an init function with the route's name, the kind of
//     rule, the status of success and the request to send.
//  4. A handler that ends with s.render(w, r, status, "NAME", page{Title: ..., Nav: navX,
//     Data: ...}). Data is anything the template reads as .Data; .User is the signed-in user
//     (filled in by render), .Title the <title> and <h1> unless the page writes its own, and
//     .Nav the highlighted section of the header (navDashboard ... navAccount). Passing a
//     value that is not a page wraps it as page{Data: value}.
//
// Template functions (uiFuncs): static "clink.css" gives the versioned URL of an embedded
// asset; num, sci, pct, fixed, percentOf format numbers (nil pointers and NaN as "—"); deref
// reads an optional value; date, datetime and sameTime handle times; join; add; dict builds a
// map for calling a partial; fieldError, fieldValue and formHas read a form's state (see
// form); inputID and errorID name a field's input and message. The partials "field" and
// "formMessage" (partials/forms.html) render a labelled input with its message and a refused
// form's summary, and "chart" (partials/chart.html) a chartView with its download links.
//
// Forms: a handler re-renders a refused form with status 422 (or 409 for a conflict) and a
// form value holding what the user typed and the store's field errors next to each field;
// an accepted form redirects with 303 (post/redirect/get). Every state-changing request is
// checked by http.CrossOriginProtection (Handler). htmx 2 (static/htmx.min.js) adds partial
// updates: a form with hx-post, hx-select and hx-target swaps the part of the page that changed;
// the layout's htmx-config meta lets 409 and 422 answers be swapped so that the messages
// appear in place. Every page works without JavaScript.
//
// Assets: files in static/ are embedded and served under /static/HASH/NAME, HASH being the
// first 12 hex digits of the file's SHA-256, with a one-year immutable cache; a new build
// changes the URL. The CSP (pageCSP) allows scripts and styles from this origin only: no
// inline script or style attributes in templates.

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"mime"
	"net/http"
	"path"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/clink-consortium/clink"
)

//go:embed templates
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pageCSP is the Content-Security-Policy of the web pages: nothing but this origin's own
// resources (images may also be data: URIs, which density plots embed), no inline script, forms
// posted only here, and no framing (clickjacking).
const pageCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// maxPageForm bounds the body of a form posted from a page.
const maxPageForm = 64 << 10

// The sections of the header's navigation, the values of page.Nav.
const (
	navDashboard = "dashboard"
	navCultures  = "cultures"
	navDonors    = "donors"
	navProtocols = "protocols"
	navCompare   = "compare"
	navOptimizer = "optimizer"
	navImport    = "import"
	navMfg       = "manufacturing"
	navAudit     = "audit"
	navAccount   = "account"
)

// navItem is one link of the header.
type navItem struct {
	Section, Label, Href string
}

// navItems are the header's links in order. The layout shows those whose page exists in the
// route table and which the signed-in user may open (uiNav), so that no link leads to a page
// not built yet or refused: Manufacturing only for those who read manufacturing records.
var navItems = []navItem{
	{navDashboard, "Dashboard", "/"},
	{navCultures, "Cultures", "/cultures"},
	{navDonors, "Donors", "/donors"},
	{navProtocols, "Protocols", "/protocols"},
	{navCompare, "Compare", "/compare"},
	{navOptimizer, "Optimizer", "/optimizer"},
	{navImport, "Import", "/import"},
	{navMfg, "Manufacturing", "/batches"},
	{navAudit, "Audit", "/audit"},
	{navAccount, "Account", "/account"},
}

// page is what every page template executes with.
type page struct {
	// Title is the page's <title> (followed by " — CLINK") and, by the layout's convention,
	// its <h1>.
	Title string
	// Nav is the header section shown as current (navDashboard ...).
	Nav string
	// User is the signed-in user; render fills it in from the request.
	User *clink.User
	// Data is the page's own data.
	Data any

	// Filled in by render.
	NavItems  []navItem
	RequestID string
}

// uiRouteTable is the route table of the web pages: the core pages of this file's feature
// set, then the directories (donors, protocols) and the protocol comparison, each kept by its
// own file.
func (s *Server) uiRouteTable() []Route {
	return append(append(append(append(s.uiCoreRoutes(), append(s.uiDirectoryRoutes(), s.uiCompareRoutes()...)...), s.uiFCSRoutes()...),
		s.uiImportRoutes()...),
		append(append(s.uiEntryRoutes(), s.uiOptimizerRoutes()...), s.uiManufacturingRoutes()...)...)
}

// UIRoutes returns the route table of the web pages. Their permissions follow the rules of
// the API's; a page that needs a signed-in user redirects a visitor who is not to /login.
func (s *Server) UIRoutes() []Route { return append([]Route(nil), s.uiRoutes...) }

// uiCoreRoutes are sign-in and out, the account, the dashboard, the cultures with their data
// entry, and the static assets.
func (s *Server) uiCoreRoutes() []Route {
	return []Route{
		{"GET", "/static/{version}/{name}", "static", PermPublic, s.staticAsset},
		{"GET", "/login", "loginPage", PermPublic, s.loginPage},
		{"POST", "/login", "login", PermPublic, s.login},
		{"POST", "/logout", "logout", PermRead, s.logout},
		{"GET", "/account", "account", PermRead, s.accountPage},
		{"POST", "/account/password", "changePassword", PermRead, s.changePassword},
		{"GET", "/{$}", "dashboard", PermRead, s.dashboard},
		{"GET", "/dashboard/charts/{file}", "dashboardChart", PermRead, s.dashboardChart},
		{"GET", "/dashboard/scoreboard", "dashboardScoreboard", PermRead, s.dashboardScoreboard},
		{"GET", "/cultures", "cultureList", PermRead, s.cultureList},
		{"GET", "/cultures/{id}", "culturePage", PermRead, s.culturePage},
		{"GET", "/cultures/{id}/charts/{file}", "cultureChart", PermRead, s.cultureChart},
		{"POST", "/cultures/{id}/observations", "addObservation", PermWriteResearch, s.addObservation},
		{"GET", "/observations/{id}/edit", "observationEdit", PermRead, s.observationEdit},
		{"POST", "/observations/{id}", "correctObservation", PermWriteResearch, s.correctObservation},
		{"POST", "/observations/{id}/void", "voidObservationForm", PermWriteResearch, s.voidObservationForm},
	}
}

// uiNav returns the header links whose page is in routes and permits u.
func uiNav(routes []Route, u *clink.User) []navItem {
	site := ""
	if u != nil {
		site = u.Site
	}
	have := map[string]bool{}
	for _, rt := range routes {
		if rt.Method == http.MethodGet && permits(u, rt.Perm, site) {
			have[rt.Pattern] = true
		}
	}
	var out []navItem
	for _, it := range navItems {
		p := it.Href
		if p == "/" {
			p = "/{$}"
		}
		if have[p] {
			out = append(out, it)
		}
	}
	return out
}

// pageTemplates holds each page's template set (a clone of the layout with the page's file),
// by page name; errPage is the page of refusals and failures.
var pageTemplates = mustParsePages()

// mustParsePages parses the layout, the partials and every page at start-up and panics on
// the first error: a broken template is a programming error.
func mustParsePages() map[string]*template.Template {
	base := template.New("layout").Funcs(uiFuncs)
	base = template.Must(base.ParseFS(templateFS, "templates/layout.html"))
	if partials, _ := fs.Glob(templateFS, "templates/partials/*.html"); len(partials) > 0 {
		base = template.Must(base.ParseFS(templateFS, partials...))
	}
	files, err := fs.Glob(templateFS, "templates/pages/*.html")
	if err != nil {
		panic("http: templates: " + err.Error())
	}
	out := make(map[string]*template.Template, len(files))
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		t := template.Must(template.Must(base.Clone()).ParseFS(templateFS, f))
		if t.Lookup("content") == nil {
			panic(fmt.Sprintf("http: template %s defines no \"content\"", f))
		}
		out[name] = t
	}
	return out
}

// render writes the page name with data and status: the page's template set executed from
// the layout, into a buffer first so that a template error becomes an error page rather than
// half a page. data is a page, or anything else, which is wrapped as page{Data: data}.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) error {
	return s.renderTemplate(w, r, status, name, "layout", data)
}

// renderBlock writes only the template block of page name, for an htmx request that swaps a
// part of the page.
func (s *Server) renderBlock(w http.ResponseWriter, r *http.Request, status int, name, block string, data any) error {
	return s.renderTemplate(w, r, status, name, block, data)
}

func (s *Server) renderTemplate(w http.ResponseWriter, r *http.Request, status int, name, block string, data any) error {
	t, ok := pageTemplates[name]
	if !ok {
		return fmt.Errorf("render: no page template %q", name)
	}
	p, ok := data.(page)
	if !ok {
		p = page{Data: data}
	}
	if p.User == nil {
		p.User = UserFrom(r.Context())
	}
	if p.Title == "" {
		p.Title = "CLINK"
	}
	p.NavItems = uiNav(s.uiRoutes, p.User)
	p.RequestID = requestIDFrom(r.Context())
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, block, p); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	h.Add("Vary", "HX-Request")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
	return nil
}

// errorPage is the data of the error page.
type errorPage struct {
	Status  int
	Heading string
	Detail  string
	Fields  []clink.FieldError
}

// renderError answers a page request that failed with an HTML page saying why, with the
// status the error's kind maps to (errorStatus). Internal errors say only "internal error"
// and the request id; the log has the chain.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, err error) {
	id := requestIDFrom(r.Context())
	p := problemOf(err, id)
	if p.Status >= 500 {
		s.logger.Error("request failed", "request_id", id, "method", r.Method, "path", r.URL.Path, "error", err.Error())
	} else {
		s.logger.Debug("request refused", "request_id", id, "method", r.Method, "path", r.URL.Path, "status", p.Status, "error", err.Error())
	}
	data := errorPage{Status: p.Status, Heading: http.StatusText(p.Status), Detail: p.Detail, Fields: p.Errors}
	switch p.Status {
	case http.StatusForbidden:
		data.Heading = "Not allowed"
	case http.StatusNotFound:
		data.Heading = "Not found"
	}
	if rerr := s.render(w, r, p.Status, "error", page{Title: data.Heading, Data: data}); rerr != nil {
		s.logger.Error("render error page", "request_id", id, "error", rerr.Error())
		writeProblem(w, p, s.logger)
	}
}

// staticFile is an embedded asset.
type staticFile struct {
	data  []byte
	hash  string // first 12 hex digits of the SHA-256
	ctype string
}

// staticFiles are the embedded assets by file name, hashed once at start-up.
var staticFiles = func() map[string]staticFile {
	out := map[string]staticFile{}
	entries, err := fs.ReadDir(staticFS, "static")
	if err != nil {
		panic("http: static: " + err.Error())
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := fs.ReadFile(staticFS, "static/"+e.Name())
		if err != nil {
			panic("http: static: " + err.Error())
		}
		sum := sha256.Sum256(b)
		ctype := mime.TypeByExtension(path.Ext(e.Name()))
		if ctype == "" || strings.HasSuffix(e.Name(), "LICENSE") {
			ctype = "text/plain; charset=utf-8"
		}
		out[e.Name()] = staticFile{data: b, hash: hex.EncodeToString(sum[:])[:12], ctype: ctype}
	}
	return out
}()

// staticURL returns the versioned URL of the embedded asset name. An unknown name is a
// template error, caught when the page first renders in the tests.
func staticURL(name string) (string, error) {
	f, ok := staticFiles[name]
	if !ok {
		return "", fmt.Errorf("static: no asset %q", name)
	}
	return "/static/" + f.hash + "/" + name, nil
}

// staticAsset serves an embedded asset. The URL's version is the file's hash: when it matches,
// the answer may be cached for a year without revalidation; an old version (a page from before
// an upgrade) gets the current file, not to be cached.
func (s *Server) staticAsset(w http.ResponseWriter, r *http.Request) error {
	f, ok := staticFiles[r.PathValue("name")]
	if !ok {
		http.NotFound(w, r)
		return nil
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", `"`+f.hash+`"`)
	if r.PathValue("version") == f.hash {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.data))
	return nil
}

// uiFuncs are the functions every template may call.
var uiFuncs = template.FuncMap{
	"static":    staticURL,
	"join":      strings.Join,
	"num":       fmtNum,
	"sci":       fmtSci,
	"pct":       fmtPct,
	"fixed":     fmtFixed,
	"percentOf": func(fraction float64) string { return fmtNum(100 * fraction) },
	"date":      fmtDate,
	"datetime":  fmtDateTime,
	"dict":      dict,
	"deref":     deref,
	"add":       func(a, b int) int { return a + b },
	"fieldError": func(f form, name string) string {
		return f.Errors[name]
	},
	"fieldValue": func(f form, name string) string {
		return f.Values[name]
	},
	"formHas":  formHas,
	"sameTime": func(a, b time.Time) bool { return a.Equal(b) },
	"inputID":  func(name string) string { return "f-" + idSafe(name) },
	"errorID":  func(name string) string { return "err-" + idSafe(name) },
}

// idSafe turns a field name (markers.KIR2DL2/3) into a fragment of an element id
// (markers-KIR2DL2-3).
func idSafe(name string) string {
	return strings.NewReplacer(".", "-", "/", "-", " ", "-").Replace(name)
}

// dict builds a map from alternating keys and values, to pass several values to a partial:
// {{template "field" dict "Form" .Data.Form "Name" "day" "Label" "Day"}}.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("dict: odd number of arguments (%d)", len(kv))
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

// deref returns what a pointer points to, or nil for a nil pointer, so that templates can
// print optional values; anything else is returned as it is.
func deref(v any) any {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer {
		return v
	}
	if rv.IsNil() {
		return nil
	}
	return rv.Elem().Interface()
}

// fmtNum formats v in plain decimals between 0.01 and 100 000, with three significant digits
// (or all the digits of its whole part: 12212), and as "1.23×10⁷" beyond; "—" for NaN, ±Inf
// and nil pointers.
func fmtNum(v any) string {
	x, ok := number(v)
	if !ok {
		return "—"
	}
	if x == 0 {
		return "0"
	}
	a := math.Abs(x)
	if a < 0.01 || a >= 1e5 {
		return fmtSci(x)
	}
	// Three significant digits in plain decimals: 1.82, 0.0191, 752, 12212.
	decimals := max(0, 2-int(math.Floor(math.Log10(a))))
	return strconv.FormatFloat(x, 'f', decimals, 64)
}

// fmtSci formats v as "1.23×10⁷".
func fmtSci(v any) string {
	x, ok := number(v)
	if !ok {
		return "—"
	}
	if x == 0 {
		return "0"
	}
	e := int(math.Floor(math.Log10(math.Abs(x))))
	m := x / math.Pow(10, float64(e))
	if math.Abs(m) >= 9.995 { // rounding carried into the next decade
		m /= 10
		e++
	}
	return strconv.FormatFloat(m, 'f', 2, 64) + "×10" + superscriptInt(e)
}

// fmtPct formats a percentage with one decimal and a "%" sign.
func fmtPct(v any) string {
	x, ok := number(v)
	if !ok {
		return "—"
	}
	return strconv.FormatFloat(x, 'f', 1, 64) + " %"
}

// fmtFixed formats v with the given number of decimals.
func fmtFixed(decimals int, v any) string {
	x, ok := number(v)
	if !ok {
		return "—"
	}
	return strconv.FormatFloat(x, 'f', decimals, 64)
}

// number reads a float64, int or *float64 as a finite number.
func number(v any) (float64, bool) {
	var x float64
	switch t := v.(type) {
	case float64:
		x = t
	case *float64:
		if t == nil {
			return 0, false
		}
		x = *t
	case int:
		x = float64(t)
	case int64:
		x = float64(t)
	default:
		return 0, false
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, false
	}
	return x, true
}

func superscriptInt(n int) string {
	const digits = "⁰¹²³⁴⁵⁶⁷⁸⁹"
	s := strconv.Itoa(n)
	var b strings.Builder
	for _, c := range s {
		if c == '-' {
			b.WriteString("⁻")
			continue
		}
		b.WriteString(string([]rune(digits)[c-'0']))
	}
	return b.String()
}

// fmtDate formats a time as 2006-01-02 in UTC; "" for the zero time.
func fmtDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.DateOnly)
}

// fmtDateTime formats a time as "2006-01-02 15:04 UTC"; "" for the zero time.
func fmtDateTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// formHas reports whether f has a value or an error in a field whose name starts with prefix.
func formHas(f form, prefix string) bool {
	for _, m := range []map[string]string{f.Values, f.Errors} {
		for k, v := range m {
			if strings.HasPrefix(k, prefix) && v != "" {
				return true
			}
		}
	}
	return false
}

// form is the state of a form on a page: the values as the user typed them, and the message
// of each refused field (by the store's field name, e.g. "viability_pct").
type form struct {
	Values map[string]string
	Errors map[string]string
	// Message is the refusal's summary, shown above the form.
	Message string
}

// newForm returns an empty form.
func newForm() form { return form{Values: map[string]string{}, Errors: map[string]string{}} }

// refuse records err's field errors on f, each under its field name (several messages for
// one field are joined), with err's message as the summary. It reports whether err was a
// refusal the user can fix (EINVALID, EMALFORMED or ECONFLICT); any other error is left for
// the caller to return.
func (f *form) refuse(err error) bool {
	switch clink.ErrorCode(err) {
	case clink.EINVALID, clink.EMALFORMED, clink.ECONFLICT:
	default:
		return false
	}
	f.Message = clink.ErrorMessage(err)
	for _, fe := range clink.ErrorFields(err) {
		if old := f.Errors[fe.Field]; old != "" {
			f.Errors[fe.Field] = old + "; " + fe.Message
		} else {
			f.Errors[fe.Field] = fe.Message
		}
	}
	return true
}

// refusedStatus is the status of a page re-rendering a refused form: 409 for a conflict, 422
// for anything else.
func refusedStatus(err error) int {
	if clink.ErrorCode(err) == clink.ECONFLICT {
		return http.StatusConflict
	}
	return http.StatusUnprocessableEntity
}

// parsePageForm reads a posted form of at most maxPageForm bytes.
func parsePageForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxPageForm)
	if err := r.ParseForm(); err != nil {
		return clink.Errorf(clink.EMALFORMED, "the form could not be read: %v", err)
	}
	for k, vs := range r.Form {
		if badText(k) || slices.ContainsFunc(vs, badText) {
			return clink.Errorf(clink.EMALFORMED, "the form's field %q holds a NUL character or bytes that are not UTF-8", strings.ToValidUTF8(k, "?"))
		}
	}
	return nil
}

// isHTMX reports whether r was sent by htmx (and so will swap part of the page).
func isHTMX(r *http.Request) bool { return r.Header.Get("HX-Request") == "true" }
