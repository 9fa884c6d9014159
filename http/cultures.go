package http

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/clink-consortium/clink"
)

func (s *Server) listCultures(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "site", "protocol", "donor", "status", "limit", "offset")
	f := clink.CultureFilter{
		Site:       q.site("site"),
		ProtocolID: q.id("protocol"),
		Status:     q.oneOf("status", clink.StatusRunning, clink.StatusCompleted, clink.StatusStopped),
		Page:       q.page(),
	}
	donor := q.str("donor")
	if err := q.err(); err != nil {
		return err
	}
	if donor != "" {
		d, err := s.donorByRef(r, donor)
		if err != nil {
			if clink.ErrorCode(err) == clink.ENOTFOUND {
				return clink.Invalid("donor", "%q is neither the id nor the code of a donor", donor)
			}
			return err
		}
		f.DonorID = d.ID
	}
	cs, total, err := s.store.FindCultures(r.Context(), f)
	if err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, newList(cs, total, f.Page))
}

// donorByRef finds a donor by id (digits) or code.
func (s *Server) donorByRef(r *http.Request, ref string) (*clink.Donor, error) {
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil && id > 0 {
		return s.store.FindDonorByID(r.Context(), id)
	}
	return s.store.FindDonorByCode(r.Context(), ref)
}

// createCulture creates a culture. The donor is named by "donor" (its code) or "donor_id", the
// protocol by "protocol_id" or "protocol_name" and "protocol_version". References that do not
// resolve are invalid input (422) naming the field, not a missing resource (404).
func (s *Server) createCulture(w http.ResponseWriter, r *http.Request) error {
	var c clink.Culture
	if err := decodeJSON(w, r, &c); err != nil {
		return err
	}
	c.ID = 0
	if err := s.authorize(r, c.Site); err != nil {
		return err
	}
	if err := s.resolveCultureRefs(r, &c); err != nil {
		return err
	}
	if err := s.store.CreateCulture(r.Context(), &c); err != nil {
		return err
	}
	return s.writeCreated(w, fmt.Sprintf("%s/cultures/%d", apiPrefix, c.ID), &c)
}

func (s *Server) resolveCultureRefs(r *http.Request, c *clink.Culture) error {
	ctx := r.Context()
	var fe clink.FieldErrors
	notFound := func(field string, err error, format string, args ...any) error {
		if clink.ErrorCode(err) == clink.ENOTFOUND {
			fe.Addf(field, format, args...)
			return nil
		}
		return err
	}
	switch {
	case c.DonorID < 0:
		fe.Addf("donor_id", "%d is not a valid id", c.DonorID)
	case c.DonorID > 0:
		d, err := s.store.FindDonorByID(ctx, c.DonorID)
		if err != nil {
			if err := notFound("donor_id", err, "donor %d does not exist", c.DonorID); err != nil {
				return err
			}
		} else if c.Donor != "" && c.Donor != d.Code {
			fe.Addf("donor", "%s is not the code of donor %d (%s)", c.Donor, d.ID, d.Code)
		}
	case c.Donor != "":
		d, err := s.store.FindDonorByCode(ctx, c.Donor)
		if err != nil {
			if err := notFound("donor", err, "no donor has the code %q", c.Donor); err != nil {
				return err
			}
		} else {
			c.DonorID = d.ID
		}
	}
	switch {
	case c.ProtocolID < 0:
		fe.Addf("protocol_id", "%d is not a valid id", c.ProtocolID)
	case c.ProtocolID > 0:
		if _, err := s.store.FindProtocolByID(ctx, c.ProtocolID); err != nil {
			if err := notFound("protocol_id", err, "protocol %d does not exist", c.ProtocolID); err != nil {
				return err
			}
		}
	case c.ProtocolName != "":
		if c.ProtocolVersion < 1 {
			fe.Addf("protocol_version", "is required with protocol_name (a version from 1)")
			break
		}
		p, err := s.store.FindProtocolByKey(ctx, c.ProtocolName, c.ProtocolVersion)
		if err != nil {
			if err := notFound("protocol_name", err, "no protocol %s v%d", c.ProtocolName, c.ProtocolVersion); err != nil {
				return err
			}
		} else {
			c.ProtocolID = p.ID
		}
	}
	return fe.Err()
}

// findCulture looks a culture up by the {id} path value: a numeric id or a culture code.
func (s *Server) findCulture(r *http.Request) (*clink.Culture, error) {
	if id, ok := pathID(r, "id"); ok {
		return s.store.FindCultureByID(r.Context(), id)
	}
	return s.store.FindCultureByCode(r.Context(), r.PathValue("id"))
}

// cultureByRef finds a culture by id (digits) or code.
func (s *Server) cultureByRef(r *http.Request, ref string) (*clink.Culture, error) {
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil && id > 0 {
		return s.store.FindCultureByID(r.Context(), id)
	}
	return s.store.FindCultureByCode(r.Context(), ref)
}

func (s *Server) getCulture(w http.ResponseWriter, r *http.Request) error {
	c, err := s.findCulture(r)
	if err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, c)
}

func (s *Server) setCultureStatus(w http.ResponseWriter, r *http.Request) error {
	c, err := s.findCulture(r)
	if err != nil {
		return err
	}
	if err := s.authorize(r, c.Site); err != nil {
		return err
	}
	var ch clink.CultureStatusChange
	if err := decodeJSON(w, r, &ch); err != nil {
		return err
	}
	c, err = s.store.SetCultureStatus(r.Context(), c.ID, ch)
	if err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, c)
}
