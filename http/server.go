// Package http serves CLINK's REST API: JSON over HTTP under /api/v1/, described by the
// embedded OpenAPI document (openapi.yaml), and the web application (ui.go: server-rendered
// pages over the same store and permissions; sign-in in login.go, whose sessions also
// authenticate API requests, session.go). Handlers talk only
// to a clink.Store; API errors are answered as RFC 9457 problem documents, mapped from the
// domain's error kinds in error.go.
// Every route but the health check and the OpenAPI documents needs an authenticated user
// (auth.go), and every route carries the permission it needs (authz.go).
//
// The package is named after its technology, as in the standard package layout; import it
// with an alias where net/http is also needed.
package http

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/manufacturing"
)

// Options configures a Server.
type Options struct {
	// Logger receives request logs and the full chain of internal errors. Nil discards them.
	Logger *slog.Logger
	// Authenticators find the user of a request, tried in order (see Authenticator). Nil
	// means API tokens, then web sessions: BearerTokens(store), Sessions(store, SessionIdle).
	Authenticators []Authenticator
	// SessionIdle is how long a web session lasts unused; zero means clink.DefaultSessionIdle.
	SessionIdle time.Duration
	// MaxFCSBytes bounds the FCS files of one upload request, all files together (413
	// beyond); zero means clink.DefaultMaxFCSBytes.
	MaxFCSBytes int64
	// TLS says that the server is reached over HTTPS: answers carry Strict-Transport-Security.
	TLS bool
	// Manufacturing configures the facility's batches (its FIN, product code, time zone);
	// zero fields take manufacturing.DefaultConfig's.
	Manufacturing manufacturing.Config
}

// Server is the REST API of CLINK. It holds the dependencies of the handlers.
type Server struct {
	store          clink.Store
	logger         *slog.Logger
	authenticators []Authenticator
	routes         []Route
	uiRoutes       []Route
	sessionIdle    time.Duration
	maxFCSBytes    int64 // Options.MaxFCSBytes; see fcsLimit
	mux            *http.ServeMux
	ui             uiState // the web pages' clock and kept scoreboard (ui_dashboard.go)
	mfg            *manufacturing.Service
	tls            bool
	metrics        *metrics
	signs          *signSessions // who last signed in which web session (ui_manufacturing.go)
}

// NewServer returns the API server over store. It panics when a route of the table has no
// valid Permission: an unprotected route is a programming error caught at start-up.
func NewServer(store clink.Store, opt Options) *Server {
	return newServer(store, opt, (*Server).routeTable)
}

// newServer builds the server with the route table of table; tests give it a faulty one.
func newServer(store clink.Store, opt Options, table func(*Server) []Route) *Server {
	s := &Server{store: store, logger: opt.Logger, authenticators: opt.Authenticators, sessionIdle: opt.SessionIdle,
		maxFCSBytes: opt.MaxFCSBytes, tls: opt.TLS}
	if s.sessionIdle <= 0 {
		s.sessionIdle = clink.DefaultSessionIdle
	}
	if s.logger == nil {
		s.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.authenticators == nil {
		s.authenticators = []Authenticator{BearerTokens(store), Sessions(store, s.sessionIdle)}
	}
	mfg, err := manufacturing.New(store, opt.Manufacturing)
	if err != nil {
		panic("http: " + err.Error())
	}
	s.mfg = mfg
	s.metrics = newMetrics(store)
	s.signs = newSignSessions()
	s.routes = table(s)
	s.uiRoutes = s.uiRouteTable()
	for _, routes := range [][]Route{s.routes, s.uiRoutes} {
		if err := checkRoutes(routes); err != nil {
			panic("http: " + err.Error())
		}
	}
	s.mux = http.NewServeMux()
	allowed := map[string][]string{} // path pattern -> methods
	for _, rt := range s.routes {
		s.mux.Handle(rt.Method+" "+rt.Pattern, s.adapt(s.guard(rt)))
		allowed[rt.Pattern] = append(allowed[rt.Pattern], rt.Method)
	}
	for _, rt := range s.uiRoutes {
		s.mux.Handle(rt.Method+" "+rt.Pattern, s.adapt(s.guardPage(rt)))
		allowed[rt.Pattern] = append(allowed[rt.Pattern], rt.Method)
	}
	// A path that exists but not for this method answers 405 with Allow, as problem+json.
	for pattern, methods := range allowed {
		allow := allowHeader(methods)
		s.mux.Handle(pattern, s.adapt(func(w http.ResponseWriter, r *http.Request) error {
			w.Header().Set("Allow", allow)
			return &statusError{http.StatusMethodNotAllowed, fmt.Sprintf("method %s is not allowed here; allowed: %s", r.Method, allow)}
		}))
	}
	s.mux.Handle("/", s.adapt(func(w http.ResponseWriter, r *http.Request) error {
		return clink.Errorf(clink.ENOTFOUND, "no resource at %s", r.URL.Path)
	}))
	return s
}

func allowHeader(methods []string) string {
	set := map[string]bool{}
	for _, m := range methods {
		set[m] = true
		if m == http.MethodGet {
			set[http.MethodHead] = true
		}
	}
	out := make([]string, 0, len(set))
	for m := range set {
		out = append(out, m)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// Handler returns the http.Handler of the API and the web pages, with its middleware:
// request ids, recovery from panics, request logging, and cross-origin protection of every
// state-changing request (crossOriginProtection). Authentication and permissions are per
// route (guard, guardPage).
func (s *Server) Handler() http.Handler {
	return s.middleware(s.crossOriginProtection().Handler(s.mux))
}

// handlerFunc is the shape of every handler: it writes a successful answer itself and returns
// an error for anything else, which adapt renders.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// adapt turns a handlerFunc into an http.Handler that renders its error as problem+json.
func (s *Server) adapt(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

type requestIDKey struct{}

func requestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

func newRequestID() string {
	var b [8]byte
	rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// statusRecorder remembers the status of an answer for the log and for recovery.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// checkText refuses a request whose path or query holds a NUL character or bytes that are not
// UTF-8 (400, naming the parameter): text that no record has and that PostgreSQL cannot hold.
func checkText(r *http.Request) error {
	if badText(r.URL.Path) {
		return malformed("path", "holds a NUL character or bytes that are not UTF-8")
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil // the route's query reader says what is wrong
	}
	for k, vs := range q {
		if badText(k) || slices.ContainsFunc(vs, badText) {
			return malformed(strings.ToValidUTF8(strings.ReplaceAll(k, "\x00", ""), "?"), "holds a NUL character or bytes that are not UTF-8")
		}
	}
	return nil
}

func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := newRequestID()
		ctx := context.WithValue(r.Context(), requestIDKey{}, id)
		r = r.WithContext(ctx)
		h := w.Header()
		h.Set("X-Request-Id", id)
		// Security headers of every answer (issue 9); web pages and downloads set their own
		// Content-Security-Policy over this one, which allows nothing.
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		if s.tls {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		rec := &statusRecorder{ResponseWriter: w}
		if err := checkText(r); err != nil {
			// No record is named so, and PostgreSQL could not even compare it.
			s.writeError(rec, r, err)
			s.logger.Info("request", "request_id", id, "method", r.Method, "status", rec.status)
			return
		}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.logger.Error("panic", "request_id", id, "method", r.Method, "path", r.URL.Path,
					"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if rec.status == 0 {
					writeProblem(rec, problemOf(fmt.Errorf("panic: %v", v), id), s.logger)
				}
			}
			d := time.Since(start)
			s.metrics.observe(r.Pattern, r.Method, rec.status, d)
			s.logger.Info("request", "request_id", id, "method", r.Method, "path", r.URL.Path,
				"status", rec.status, "duration", d)
		}()
		next.ServeHTTP(rec, r)
	})
}

// writeJSON answers v as JSON with the given status.
func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode answer: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
	return nil
}

// writeCreated answers 201 with v and the Location of the new resource.
func (s *Server) writeCreated(w http.ResponseWriter, location string, v any) error {
	w.Header().Set("Location", location)
	return s.writeJSON(w, http.StatusCreated, v)
}

// List is the answer of every list route: a page of items and the number of items that match
// the filter, with the page's window.
type List[T any] struct {
	Items  []T `json:"items"`
	Total  int `json:"total"`
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

func newList[T any](items []T, total int, p clink.Page) List[T] {
	if items == nil {
		items = []T{}
	}
	return List[T]{Items: items, Total: total, Limit: p.Limit, Offset: p.Offset}
}
