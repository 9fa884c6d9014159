package http

import (
	"fmt"
	"net/http"

	"github.com/clink-consortium/clink"
)

// donorUpdate is the body of PUT /donors/{id}: the corrected donor and why.
type donorUpdate struct {
	clink.Donor
	Reason string `json:"reason"`
}

func (s *Server) listDonors(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "site", "hcmv", "nkg2c", "kir", "limit", "offset")
	f := clink.DonorFilter{
		Site:  q.site("site"),
		HCMV:  q.oneOf("hcmv", clink.HCMVPositive, clink.HCMVNegative, clink.HCMVEquivocal, clink.Unknown),
		NKG2C: q.oneOf("nkg2c", clink.NKG2CPlusPlus, clink.NKG2CPlusDel, clink.NKG2CDelDel, clink.Unknown),
		KIR:   q.oneOf("kir", clink.KIRAA, clink.KIRBx, clink.Unknown),
		Page:  q.page(),
	}
	if err := q.err(); err != nil {
		return err
	}
	donors, total, err := s.store.FindDonors(r.Context(), f)
	if err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, newList(donors, total, f.Page))
}

func (s *Server) createDonor(w http.ResponseWriter, r *http.Request) error {
	var d clink.Donor
	if err := decodeJSON(w, r, &d); err != nil {
		return err
	}
	d.ID = 0
	if err := s.authorize(r, d.Site); err != nil {
		return err
	}
	if err := s.store.CreateDonor(r.Context(), &d); err != nil {
		return err
	}
	return s.writeCreated(w, fmt.Sprintf("%s/donors/%d", apiPrefix, d.ID), &d)
}

// findDonor looks a donor up by the {id} path value: a numeric id or a donor code.
func (s *Server) findDonor(r *http.Request) (*clink.Donor, error) {
	if id, ok := pathID(r, "id"); ok {
		return s.store.FindDonorByID(r.Context(), id)
	}
	return s.store.FindDonorByCode(r.Context(), r.PathValue("id"))
}

func (s *Server) getDonor(w http.ResponseWriter, r *http.Request) error {
	d, err := s.findDonor(r)
	if err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, d)
}

// updateDonor corrects a donor. The code and site cannot change: the body may omit them or
// repeat them, and other values are refused.
func (s *Server) updateDonor(w http.ResponseWriter, r *http.Request) error {
	old, err := s.findDonor(r)
	if err != nil {
		return err
	}
	if err := s.authorize(r, old.Site); err != nil {
		return err
	}
	var body donorUpdate
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	d := body.Donor
	var fe clink.FieldErrors
	if d.ID != 0 && d.ID != old.ID {
		fe.Addf("id", "%d does not match the donor being corrected (%d)", d.ID, old.ID)
	}
	if d.Code != "" && d.Code != old.Code {
		fe.Addf("code", "%s cannot change (the donor is %s)", d.Code, old.Code)
	}
	if d.Site != "" && d.Site != old.Site {
		fe.Addf("site", "%s cannot change (the donor belongs to %s)", d.Site, old.Site)
	}
	if err := fe.Err(); err != nil {
		return err
	}
	d.ID, d.Code, d.Site = old.ID, old.Code, old.Site
	if err := s.store.UpdateDonor(r.Context(), &d, body.Reason); err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, &d)
}
