package http

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/clink-consortium/clink"
)

// The audit log: every write of the consortium, newest first, filtered by entity, user and
// date range. Reading it takes the permission of the API's GET /api/v1/audit (PermRead: any
// enabled user, since research data carry no patient identifier) and the same store query.

// uiAuditRoutes are the audit log pages.
func (s *Server) uiAuditRoutes() []Route {
	return []Route{
		{"GET", "/audit", "auditPage", PermRead, s.auditPage},
	}
}

// auditData is the data of the audit log.
type auditData struct {
	Entity, User, From, To string
	Entities               []string
	Events                 []*clink.AuditEvent
	Total, Offset          int
	Prev, Next             string
	Form                   form
}

// auditPage lists audit events newest first, 50 to a page, filtered by entity, user (the
// actor) and a range of dates (from and to, YYYY-MM-DD, both included, in UTC).
func (s *Server) auditPage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	d := auditData{Entity: q.Get("entity"), User: strings.TrimSpace(q.Get("user")), From: q.Get("from"), To: q.Get("to"),
		Entities: auditEntities, Form: newForm()}
	var fe clink.FieldErrors
	f := clink.AuditFilter{Entity: d.Entity, Actor: d.User}
	if d.Entity != "" && !slices.Contains(auditEntities, d.Entity) {
		fe.Addf("entity", "%q is not one of %s", d.Entity, strings.Join(auditEntities, ", "))
	}
	if d.From != "" {
		t, err := time.Parse(time.DateOnly, d.From)
		if err != nil {
			fe.Addf("from", "%q is not a date YYYY-MM-DD", d.From)
		}
		f.From = t
	}
	if d.To != "" {
		t, err := time.Parse(time.DateOnly, d.To)
		if err != nil {
			fe.Addf("to", "%q is not a date YYYY-MM-DD", d.To)
		}
		f.To = t.AddDate(0, 0, 1) // the whole day
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		fe.Addf("to", "%s is before from %s", d.To, d.From)
	}
	d.Offset = readOffset(q, &fe)
	for k, v := range map[string]string{"entity": d.Entity, "user": d.User, "from": d.From, "to": d.To} {
		d.Form.Values[k] = v
	}
	if err := fe.Err(); err != nil {
		d.Form.refuse(err)
		return s.render(w, r, http.StatusUnprocessableEntity, "audit", page{Title: "Audit log", Nav: navAudit, Data: d})
	}
	ctx := r.Context()
	// The store lists in chain order; the newest come first here, so the page is counted
	// from the end.
	probe := f
	probe.Page = clink.Page{Limit: 1}
	_, total, err := s.store.FindAuditEvents(ctx, probe)
	if err != nil {
		return err
	}
	d.Total = total
	from := max(total-d.Offset-directoryLimit, 0)
	if n := total - d.Offset - from; n > 0 {
		f.Page = clink.Page{Limit: n, Offset: from}
		if d.Events, _, err = s.store.FindAuditEvents(ctx, f); err != nil {
			return err
		}
		slices.Reverse(d.Events)
	}
	v := url.Values{}
	for k, x := range map[string]string{"entity": d.Entity, "user": d.User, "from": d.From, "to": d.To} {
		if x != "" {
			v.Set(k, x)
		}
	}
	d.Prev, d.Next = pageLinks("/audit", v, d.Offset, total)
	return s.render(w, r, http.StatusOK, "audit", page{Title: "Audit log", Nav: navAudit, Data: d})
}
