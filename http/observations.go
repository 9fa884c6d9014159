package http

import (
	"fmt"
	"net/http"

	"github.com/clink-consortium/clink"
)

// observationUpdate is the body of PUT /observations/{id}: the corrected observation and why.
type observationUpdate struct {
	clink.Observation
	Reason string `json:"reason"`
}

// voidRequest is the body of POST /observations/{id}/void.
type voidRequest struct {
	Reason string `json:"reason"`
}

func (s *Server) listCultureObservations(w http.ResponseWriter, r *http.Request) error {
	c, err := s.findCulture(r)
	if err != nil {
		return err
	}
	q := newQuery(r, "include_voided", "limit", "offset")
	f := clink.ObservationFilter{CultureID: c.ID, IncludeVoided: q.boolean("include_voided"), Page: q.page()}
	if err := q.err(); err != nil {
		return err
	}
	obs, total, err := s.store.FindObservations(r.Context(), f)
	if err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, newList(obs, total, f.Page))
}

// createObservation records an observation of the culture of the path; the culture and site
// come from the path, not the body.
func (s *Server) createObservation(w http.ResponseWriter, r *http.Request) error {
	c, err := s.findCulture(r)
	if err != nil {
		return err
	}
	if err := s.authorize(r, c.Site); err != nil {
		return err
	}
	var o clink.Observation
	if err := decodeJSON(w, r, &o); err != nil {
		return err
	}
	if err := checkParent("culture_id", o.CultureID, c.ID); err != nil {
		return err
	}
	o.ID, o.CultureID, o.Culture, o.Site = 0, c.ID, c.Code, c.Site
	if err := s.store.CreateObservation(r.Context(), &o); err != nil {
		return err
	}
	return s.writeCreated(w, fmt.Sprintf("%s/observations/%d", apiPrefix, o.ID), &o)
}

// checkParent refuses a body that names another parent record than the path does.
func checkParent(field string, got, want int64) error {
	if got != 0 && got != want {
		return clink.Invalid(field, "%d does not match the culture of the path (%d); omit it", got, want)
	}
	return nil
}

func (s *Server) findObservation(r *http.Request) (*clink.Observation, error) {
	id, err := numericID(r, "id", "observation")
	if err != nil {
		return nil, err
	}
	return s.store.FindObservationByID(r.Context(), id)
}

func (s *Server) getObservation(w http.ResponseWriter, r *http.Request) error {
	o, err := s.findObservation(r)
	if err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, o)
}

func (s *Server) updateObservation(w http.ResponseWriter, r *http.Request) error {
	old, err := s.findObservation(r)
	if err != nil {
		return err
	}
	if err := s.authorize(r, old.Site); err != nil {
		return err
	}
	var body observationUpdate
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	o := body.Observation
	var fe clink.FieldErrors
	if o.ID != 0 && o.ID != old.ID {
		fe.Addf("id", "%d does not match the observation being corrected (%d)", o.ID, old.ID)
	}
	if o.CultureID != 0 && o.CultureID != old.CultureID {
		fe.Addf("culture_id", "%d cannot change (the observation belongs to culture %d)", o.CultureID, old.CultureID)
	}
	if err := fe.Err(); err != nil {
		return err
	}
	o.ID, o.CultureID, o.Culture, o.Site = old.ID, old.CultureID, old.Culture, old.Site
	o.Voided, o.VoidReason = old.Voided, old.VoidReason // voiding has its own route
	if err := s.store.UpdateObservation(r.Context(), &o, body.Reason); err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, &o)
}

func (s *Server) voidObservation(w http.ResponseWriter, r *http.Request) error {
	old, err := s.findObservation(r)
	if err != nil {
		return err
	}
	if err := s.authorize(r, old.Site); err != nil {
		return err
	}
	var body voidRequest
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	o, err := s.store.VoidObservation(r.Context(), old.ID, body.Reason)
	if err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, o)
}
