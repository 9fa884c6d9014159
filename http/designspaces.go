package http

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/design"
)

// Design space routes: the optimizer's search spaces, saved, versioned and shared (issue 7).
// Every user reads every site's spaces; a researcher creates them for their site. A version
// never changes: a change is a new version (POST with the same name), and a version that should
// no longer be used is voided.
//
// One design space version is named in a path by {ref}: its numeric id, NAME (the latest
// version that is not void) or NAME@VERSION (that version, void or not). Names cannot be whole
// numbers (clink.DesignSpace.Validate), so the three never clash. Voiding takes the numeric id
// only: a bare name would void whichever version happens to be the latest.

func (s *Server) listDesignSpaces(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "name", "site", "include_voided", "limit", "offset")
	f := clink.DesignSpaceFilter{Name: q.str("name"), Site: q.site("site"), IncludeVoided: q.boolean("include_voided"), Page: q.page()}
	if err := q.err(); err != nil {
		return err
	}
	ds, total, err := s.store.FindDesignSpaces(r.Context(), f)
	if err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, newList(ds, total, f.Page))
}

// createDesignSpace creates version 1 of a new design space or, when the version is omitted and
// the name exists, its next version. As for gating templates, a name belongs to the site of its
// latest version: that site decides who may add a version, and the body may not move it. The
// definition must be a valid design.Space (422 naming the field under "definition." otherwise).
func (s *Server) createDesignSpace(w http.ResponseWriter, r *http.Request) error {
	var d clink.DesignSpace
	if err := decodeJSON(w, r, &d); err != nil {
		return err
	}
	site, err := s.versionSite(r, "design space", d.Name, d.Site, func() (string, error) {
		latest, err := s.latestDesignSpace(r, d.Name)
		if err != nil || latest == nil {
			return "", err
		}
		return latest.Site, nil
	})
	if err != nil {
		return err
	}
	d.Site = site
	d.ID = 0
	if err := checkDesignSpace(&d); err != nil {
		return err
	}
	if err := s.store.CreateDesignSpace(r.Context(), &d); err != nil {
		return err
	}
	return s.writeCreated(w, fmt.Sprintf("%s/design-spaces/%d", apiPrefix, d.ID), &d)
}

// latestDesignSpace returns the highest version of name, void or not, or nil when there is none.
func (s *Server) latestDesignSpace(r *http.Request, name string) (*clink.DesignSpace, error) {
	f := clink.DesignSpaceFilter{Name: name, IncludeVoided: true, Page: clink.Page{Limit: 1}}
	ds, total, err := s.store.FindDesignSpaces(r.Context(), f)
	if err != nil || total == 0 {
		return nil, err
	}
	if total > 1 { // listed by version: the last one is the highest
		f.Offset = total - 1
		if ds, _, err = s.store.FindDesignSpaces(r.Context(), f); err != nil {
			return nil, err
		}
	}
	if len(ds) == 0 {
		return nil, clink.Errorf(clink.ECONFLICT, "the versions of design space %q changed while it was read; try again", name)
	}
	return ds[0], nil
}

// checkDesignSpace validates the design space's own fields and, when its definition is a JSON
// object, that it is a valid design.Space. The space's field errors are named under
// "definition." (definition.factors[1].low); a definition that does not decode as a space
// (an unknown field, a value of the wrong type) is an error on "definition" itself.
func checkDesignSpace(d *clink.DesignSpace) error {
	err := d.Validate()
	if err != nil && clink.ErrorCode(err) != clink.EINVALID {
		return err
	}
	fe := clink.ErrorFields(err)
	for _, f := range fe {
		if f.Field == "definition" {
			return fe.Err() // not a JSON object: nothing to parse
		}
	}
	if _, err := design.ParseSpace(d.Definition); err != nil {
		switch clink.ErrorCode(err) {
		case clink.EINVALID:
			fe = append(fe, clink.ErrorFields(err).Prefix("definition")...)
		case clink.EMALFORMED:
			fe.Addf("definition", "is not a design space: %s", strings.TrimPrefix(clink.ErrorMessage(err), "space: "))
		default:
			return err
		}
	}
	return fe.Err()
}

// findDesignSpace returns the design space version the {ref} path value names: a numeric id,
// NAME or NAME@VERSION.
func (s *Server) findDesignSpace(r *http.Request) (*clink.DesignSpace, error) {
	v := r.PathValue("ref")
	if v != "" && strings.Trim(v, "0123456789") == "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id < 1 {
			return nil, clink.Errorf(clink.ENOTFOUND, "design space %s not found: ids are positive integers", v)
		}
		return s.store.FindDesignSpaceByID(r.Context(), id)
	}
	ref, err := clink.ParseTemplateRef(v)
	if err != nil {
		return nil, clink.Errorf(clink.ENOTFOUND, "design space %q not found: name a design space by its id, NAME or NAME@VERSION", v)
	}
	return s.store.FindDesignSpaceByRef(r.Context(), ref)
}

func (s *Server) getDesignSpace(w http.ResponseWriter, r *http.Request) error {
	d, err := s.findDesignSpace(r)
	if err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, d)
}

// voidDesignSpace voids a design space version, named by its id, with a reason.
func (s *Server) voidDesignSpace(w http.ResponseWriter, r *http.Request) error {
	id, err := numericID(r, "id", "design space")
	if err != nil {
		return err
	}
	old, err := s.store.FindDesignSpaceByID(r.Context(), id)
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
	d, err := s.store.VoidDesignSpace(r.Context(), old.ID, body.Reason)
	if err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, d)
}
