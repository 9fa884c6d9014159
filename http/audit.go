package http

import (
	"net/http"

	"github.com/clink-consortium/clink"
)

// auditEntities are the kinds of record the audit trail names.
var auditEntities = []string{"site", "donor", "component", "protocol", "culture", "observation", "assay"}

func (s *Server) listAuditEvents(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "entity", "entity_id", "limit", "offset")
	f := clink.AuditFilter{Entity: q.oneOf("entity", auditEntities...), EntityID: q.id("entity_id"), Page: q.page()}
	if err := q.err(); err != nil {
		return err
	}
	es, total, err := s.store.FindAuditEvents(r.Context(), f)
	if err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, newList(es, total, f.Page))
}
