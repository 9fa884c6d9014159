package http

import (
	"net/http"
	"time"

	"github.com/clink-consortium/clink"
)

// auditEntities are the kinds of record the audit trail names.
var auditEntities = []string{"site", "donor", "component", "protocol", "culture", "observation", "assay", "user", "token", "session",
	"gating_template", "fcs_file", "fcs_attachment", "design_space"}

func (s *Server) listAuditEvents(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "entity", "entity_id", "id", "user", "from", "to", "limit", "offset")
	f := clink.AuditFilter{Entity: q.oneOf("entity", auditEntities...), EntityID: q.id("entity_id"),
		Actor: q.str("user"), From: q.instant("from"), To: q.instant("to"), Page: q.page()}
	if id := q.id("id"); id != 0 {
		if f.EntityID != 0 && f.EntityID != id {
			q.inv.Addf("id", "%d contradicts entity_id %d (id is another name for entity_id)", id, f.EntityID)
		}
		f.EntityID = id
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		q.inv.Addf("to", "%s is not after from %s", f.To.Format(time.RFC3339), f.From.Format(time.RFC3339))
	}
	if err := q.err(); err != nil {
		return err
	}
	es, total, err := s.store.FindAuditEvents(r.Context(), f)
	if err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, newList(es, total, f.Page))
}
