package http

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/clink-consortium/clink"
)

// protocolUpdate is the body of PUT /protocols/{id}: the edited version and why.
type protocolUpdate struct {
	clink.Protocol
	Reason string `json:"reason"`
}

func (s *Server) listProtocols(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "site", "name", "limit", "offset")
	f := clink.ProtocolFilter{Site: q.site("site"), Name: q.str("name"), Page: q.page()}
	if err := q.err(); err != nil {
		return err
	}
	ps, total, err := s.store.FindProtocols(r.Context(), f)
	if err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, newList(ps, total, f.Page))
}

// createProtocol creates version 1 of a new protocol or, when the version is omitted and the
// name exists, its next version.
func (s *Server) createProtocol(w http.ResponseWriter, r *http.Request) error {
	var p clink.Protocol
	if err := decodeJSON(w, r, &p); err != nil {
		return err
	}
	// A version of an existing protocol belongs to that protocol's site: the site of its
	// latest version decides who may add one, and the body may not move it elsewhere.
	site := p.Site
	if p.Name != "" {
		existing, _, err := s.store.FindProtocols(r.Context(), clink.ProtocolFilter{Name: p.Name, Page: clink.Page{Limit: clink.MaxLimit}})
		if err != nil {
			return err
		}
		if n := len(existing); n > 0 {
			site = existing[0].Site
			for _, e := range existing {
				if e.Version > existing[0].Version {
					site = e.Site
				}
			}
		}
	}
	if err := s.authorize(r, site); err != nil {
		return err
	}
	if p.Site == "" {
		p.Site = site
	}
	if p.Site != site {
		return clink.Invalid("site", "%s is not the site of protocol %q (%s): its versions stay at its site", p.Site, p.Name, site)
	}
	return s.insertProtocol(w, r, &p)
}

func (s *Server) insertProtocol(w http.ResponseWriter, r *http.Request, p *clink.Protocol) error {
	p.ID = 0
	if err := s.store.CreateProtocol(r.Context(), p); err != nil {
		return err
	}
	return s.writeCreated(w, fmt.Sprintf("%s/protocols/%d", apiPrefix, p.ID), p)
}

func (s *Server) findProtocol(r *http.Request) (*clink.Protocol, error) {
	id, err := numericID(r, "id", "protocol")
	if err != nil {
		return nil, err
	}
	return s.store.FindProtocolByID(r.Context(), id)
}

func (s *Server) getProtocol(w http.ResponseWriter, r *http.Request) error {
	p, err := s.findProtocol(r)
	if err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, p)
}

// updateProtocol edits a protocol version in place, which the store allows only while no
// culture uses it; otherwise the answer says how to make the next version instead.
func (s *Server) updateProtocol(w http.ResponseWriter, r *http.Request) error {
	old, err := s.findProtocol(r)
	if err != nil {
		return err
	}
	if err := s.authorize(r, old.Site); err != nil {
		return err
	}
	var body protocolUpdate
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	p := body.Protocol
	var fe clink.FieldErrors
	if p.ID != 0 && p.ID != old.ID {
		fe.Addf("id", "%d does not match the protocol being edited (%d)", p.ID, old.ID)
	}
	if p.Name != "" && p.Name != old.Name {
		fe.Addf("name", "%q cannot change (the protocol is %q); create a new protocol instead", p.Name, old.Name)
	}
	if p.Version != 0 && p.Version != old.Version {
		fe.Addf("version", "%d cannot change (this is version %d)", p.Version, old.Version)
	}
	if err := fe.Err(); err != nil {
		return err
	}
	p.ID, p.Name, p.Version = old.ID, old.Name, old.Version
	if p.Site == "" {
		p.Site = old.Site
	}
	if err := s.store.UpdateProtocol(r.Context(), &p, body.Reason); err != nil {
		if clink.ErrorCode(err) == clink.ECONFLICT {
			return &clink.Error{Code: clink.ECONFLICT, Message: fmt.Sprintf(
				"%s: %s is used by cultures and can no longer be edited; create the next version with POST %s/protocols/%d/versions",
				strings.TrimSuffix(clink.ErrorMessage(err), "."), old.Key(), apiPrefix, old.ID)}
		}
		return err
	}
	return s.writeJSON(w, http.StatusOK, &p)
}

// createProtocolVersion creates the next version of the protocol named by the path from the
// body; the body's name, when given, must be that protocol's.
func (s *Server) createProtocolVersion(w http.ResponseWriter, r *http.Request) error {
	base, err := s.findProtocol(r)
	if err != nil {
		return err
	}
	if err := s.authorize(r, base.Site); err != nil {
		return err
	}
	var p clink.Protocol
	if err := decodeJSON(w, r, &p); err != nil {
		return err
	}
	var fe clink.FieldErrors
	if p.Name != "" && p.Name != base.Name {
		fe.Addf("name", "%q is not the name of protocol %d (%q); omit it", p.Name, base.ID, base.Name)
	}
	if p.Version != 0 {
		fe.Addf("version", "is chosen by the server (the next version of %s); omit it", base.Name)
	}
	if p.Site != "" && p.Site != base.Site {
		fe.Addf("site", "%s is not the site of protocol %q (%s): its versions stay at its site; omit it", p.Site, base.Name, base.Site)
	}
	if err := fe.Err(); err != nil {
		return err
	}
	p.Name = base.Name
	if p.Site == "" {
		p.Site = base.Site
	}
	return s.insertProtocol(w, r, &p)
}

// diffProtocols answers what changed from the protocol of the path to the one named by "to".
// Any two protocols may be compared.
func (s *Server) diffProtocols(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "to")
	to := q.id("to")
	if err := q.err(); err != nil {
		return err
	}
	if to == 0 {
		return malformed("to", "is required: the id of the protocol to compare with")
	}
	a, err := s.findProtocol(r)
	if err != nil {
		return err
	}
	b, err := s.store.FindProtocolByID(r.Context(), to)
	if err != nil {
		if clink.ErrorCode(err) == clink.ENOTFOUND {
			return clink.Invalid("to", "protocol %d does not exist", to)
		}
		return err
	}
	return s.writeJSON(w, http.StatusOK, clink.DiffProtocols(a, b))
}
