package http

import (
	"fmt"
	"net/http"

	"github.com/clink-consortium/clink"
)

func (s *Server) listComponents(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "category")
	category := q.oneOf("category", clink.CategoryCytokine, clink.CategoryFeeder, clink.CategoryCompound,
		clink.CategoryAntibody, clink.CategoryMedium, clink.CategorySerum)
	if err := q.err(); err != nil {
		return err
	}
	cs, err := s.store.FindComponents(r.Context(), category)
	if err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, newList(cs, len(cs), clink.Page{Limit: len(cs)}))
}

func (s *Server) createComponent(w http.ResponseWriter, r *http.Request) error {
	var c clink.Component
	if err := decodeJSON(w, r, &c); err != nil {
		return err
	}
	c.ID = 0
	if err := s.authorize(r, c.Site); err != nil {
		return err
	}
	if err := s.store.CreateComponent(r.Context(), &c); err != nil {
		return err
	}
	return s.writeCreated(w, fmt.Sprintf("%s/components/%d", apiPrefix, c.ID), &c)
}

func (s *Server) getComponent(w http.ResponseWriter, r *http.Request) error {
	id, err := numericID(r, "id", "component")
	if err != nil {
		return err
	}
	c, err := s.store.FindComponentByID(r.Context(), id)
	if err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, c)
}
