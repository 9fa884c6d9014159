package http

import (
	"net/http"

	"github.com/clink-consortium/clink"
)

// Health is the answer of GET /api/v1/healthz.
type Health struct {
	Status  string `json:"status"` // "ok" or "unavailable"
	Version string `json:"version"`
}

// getHealth answers 200 when the database answers a ping, 503 otherwise.
func (s *Server) getHealth(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.Ping(r.Context()); err != nil {
		s.logger.Error("health check: database does not answer", "request_id", requestIDFrom(r.Context()), "error", err.Error())
		return s.writeJSON(w, http.StatusServiceUnavailable, Health{Status: "unavailable", Version: clink.Version})
	}
	return s.writeJSON(w, http.StatusOK, Health{Status: "ok", Version: clink.Version})
}
