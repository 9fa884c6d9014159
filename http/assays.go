package http

import (
	"fmt"
	"net/http"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/analysis"
	"github.com/clink-consortium/clink/cytotox"
)

// Assay is how the API shows a cytotoxicity assay: the stored raw readings and, computed from
// them, the percent specific lysis at each E:T ratio with its QC flags. Lysis is null and
// LysisError says why when the readings do not allow a computation.
type Assay struct {
	*clink.Assay
	Lysis      *cytotox.Result `json:"lysis"`
	LysisError string          `json:"lysis_error,omitempty"`
}

// assayView computes the lysis of a stored assay.
func assayView(a *clink.Assay) Assay {
	res, err := analysis.Lysis(a)
	if err != nil {
		return Assay{Assay: a, LysisError: err.Error()}
	}
	return Assay{Assay: a, Lysis: &res}
}

func assayViews(as []*clink.Assay) []Assay {
	out := make([]Assay, len(as))
	for i, a := range as {
		out[i] = assayView(a)
	}
	return out
}

func (s *Server) listAssays(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "site", "culture", "limit", "offset")
	f := clink.AssayFilter{Site: q.site("site"), Page: q.page()}
	culture := q.str("culture")
	if err := q.err(); err != nil {
		return err
	}
	if culture != "" {
		c, err := s.cultureByRef(r, culture)
		if err != nil {
			if clink.ErrorCode(err) == clink.ENOTFOUND {
				return clink.Invalid("culture", "%q is neither the id nor the code of a culture", culture)
			}
			return err
		}
		f.CultureID = c.ID
	}
	return s.writeAssays(w, r, f)
}

func (s *Server) writeAssays(w http.ResponseWriter, r *http.Request, f clink.AssayFilter) error {
	as, total, err := s.store.FindAssays(r.Context(), f)
	if err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, newList(assayViews(as), total, f.Page))
}

func (s *Server) listCultureAssays(w http.ResponseWriter, r *http.Request) error {
	c, err := s.findCulture(r)
	if err != nil {
		return err
	}
	q := newQuery(r, "limit", "offset")
	f := clink.AssayFilter{CultureID: c.ID, Page: q.page()}
	if err := q.err(); err != nil {
		return err
	}
	return s.writeAssays(w, r, f)
}

// createAssay records an assay of the culture of the path.
func (s *Server) createAssay(w http.ResponseWriter, r *http.Request) error {
	c, err := s.findCulture(r)
	if err != nil {
		return err
	}
	if err := s.authorize(r, c.Site); err != nil {
		return err
	}
	var a clink.Assay
	if err := decodeJSON(w, r, &a); err != nil {
		return err
	}
	if err := checkParent("culture_id", a.CultureID, c.ID); err != nil {
		return err
	}
	a.ID, a.CultureID, a.Culture, a.Site = 0, c.ID, c.Code, c.Site
	// Readings the domain accepts but no instrument gives (cytotox bounds their magnitude) are
	// refused before anything is stored, so that every stored assay has a lysis.
	if a.Validate() == nil {
		if _, err := analysis.Lysis(&a); err != nil {
			return err
		}
	}
	if err := s.store.CreateAssay(r.Context(), &a); err != nil {
		return err
	}
	return s.writeCreated(w, fmt.Sprintf("%s/assays/%d", apiPrefix, a.ID), assayView(&a))
}

func (s *Server) getAssay(w http.ResponseWriter, r *http.Request) error {
	id, err := numericID(r, "id", "assay")
	if err != nil {
		return err
	}
	a, err := s.store.FindAssayByID(r.Context(), id)
	if err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, assayView(a))
}
