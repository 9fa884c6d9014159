package http

import (
	"net/http"

	"github.com/clink-consortium/clink"
)

func (s *Server) listSites(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	if err := q.err(); err != nil {
		return err
	}
	sites, err := s.store.ListSites(r.Context())
	if err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, newList(sites, len(sites), clink.Page{Limit: len(sites)}))
}

func (s *Server) createSite(w http.ResponseWriter, r *http.Request) error {
	var site clink.Site
	if err := decodeJSON(w, r, &site); err != nil {
		return err
	}
	site.ID = 0
	site.Site = site.Code // a site's own site is itself
	if err := s.store.CreateSite(r.Context(), &site); err != nil {
		return err
	}
	return s.writeCreated(w, apiPrefix+"/sites/"+site.Code, &site)
}

func (s *Server) getSite(w http.ResponseWriter, r *http.Request) error {
	site, err := s.store.FindSiteByCode(r.Context(), r.PathValue("code"))
	if err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, site)
}
