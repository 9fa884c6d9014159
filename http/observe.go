package http

import (
	"context"
	"database/sql"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/clink-consortium/clink"
)

// Operations (issue 9): liveness and readiness probes, and Prometheus metrics of the requests
// (by route pattern, method and status), their latencies, the database pool, imports and
// gating runs, with the Go runtime's and the process's own.

// metrics are one server's Prometheus collectors, in a registry of its own (tests run many
// servers in one process).
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	imports  *prometheus.CounterVec
	gating   *prometheus.CounterVec
}

func newMetrics(store clink.Store) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "clink_http_requests_total",
		Help: "HTTP requests answered, by route pattern, method and status code."}, []string{"route", "method", "code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "clink_http_request_duration_seconds",
		Help:    "Time to answer an HTTP request, by route pattern.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}, []string{"route"})
	m.imports = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "clink_imports_total",
		Help: "Imports of CSV/XLSX files: applied, checked (dry run) or refused."}, []string{"outcome"})
	m.gating = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "clink_gating_files_total",
		Help: "FCS files gated and attached to observations, or refused."}, []string{"outcome"})
	m.reg.MustRegister(m.requests, m.latency, m.imports, m.gating,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, o := range []string{"applied", "checked", "refused"} {
		m.imports.WithLabelValues(o) // exported at 0 before the first import
	}
	for _, o := range []string{"attached", "refused"} {
		m.gating.WithLabelValues(o)
	}
	if db, ok := store.(interface{ DB() *sql.DB }); ok && db.DB() != nil {
		m.reg.MustRegister(collectors.NewDBStatsCollector(db.DB(), "clink"))
	}
	return m
}

// observe records one answered request.
func (m *metrics) observe(route, method string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

// importRun counts an import by its outcome.
func (m *metrics) importRun(dryRun bool, err error) {
	switch {
	case err != nil:
		m.imports.WithLabelValues("refused").Inc()
	case dryRun:
		m.imports.WithLabelValues("checked").Inc()
	default:
		m.imports.WithLabelValues("applied").Inc()
	}
}

// gatingRun counts the files of one attachment request by its outcome.
func (m *metrics) gatingRun(files int, err error) {
	outcome := "attached"
	if err != nil {
		outcome = "refused"
	}
	m.gating.WithLabelValues(outcome).Add(float64(files))
}

// getMetrics answers the metrics in the Prometheus text format.
func (s *Server) getMetrics(w http.ResponseWriter, r *http.Request) error {
	promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	return nil
}

// getLiveness answers 200 while the process serves requests: restart it otherwise.
func (s *Server) getLiveness(w http.ResponseWriter, r *http.Request) error {
	return s.writeJSON(w, http.StatusOK, Health{Status: "ok", Version: clink.Version})
}

// Readiness is the answer of GET /readyz.
type Readiness struct {
	Status   string `json:"status"` // "ready" or "unavailable"
	Version  string `json:"version"`
	Database string `json:"database"` // "ok", or why it is not
}

// getReadiness answers 200 when the database answers and its schema is this version's, 503
// otherwise (a load balancer then sends no traffic).
func (s *Server) getReadiness(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	err := s.store.Ping(ctx)
	if err == nil {
		if sc, ok := s.store.(interface{ SchemaCurrent(context.Context) error }); ok {
			err = sc.SchemaCurrent(ctx)
		}
	}
	if err != nil {
		s.logger.Error("readiness: not ready", "request_id", requestIDFrom(r.Context()), "error", err.Error())
		return s.writeJSON(w, http.StatusServiceUnavailable, Readiness{Status: "unavailable", Version: clink.Version, Database: err.Error()})
	}
	return s.writeJSON(w, http.StatusOK, Readiness{Status: "ready", Version: clink.Version, Database: "ok"})
}
