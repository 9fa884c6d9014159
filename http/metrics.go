package http

import (
	"cmp"
	"math"
	"net/http"
	"slices"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/kinetics"
)

// CultureMetrics is the answer of GET /cultures/{id}/metrics: the expansion kinetics of a
// culture computed from its non-voided observations.
type CultureMetrics struct {
	CultureID int64            `json:"culture_id"`
	Culture   string           `json:"culture"`
	Site      string           `json:"site"`
	Metrics   kinetics.Metrics `json:"metrics"`
}

func (s *Server) getCultureMetrics(w http.ResponseWriter, r *http.Request) error {
	c, err := s.findCulture(r)
	if err != nil {
		return err
	}
	q := newQuery(r)
	if err := q.err(); err != nil {
		return err
	}
	obs, err := s.allObservations(r, c.ID)
	if err != nil {
		return err
	}
	counts := make([]kinetics.Count, 0, len(obs))
	for _, o := range obs {
		counts = append(counts, countOf(o))
	}
	slices.SortFunc(counts, func(a, b kinetics.Count) int { return cmp.Compare(a.Day, b.Day) })
	m := kinetics.Compute(c.StartingCells, c.StartingNKPct/100, counts, kinetics.Options{})
	return s.writeJSON(w, http.StatusOK, CultureMetrics{CultureID: c.ID, Culture: c.Code, Site: c.Site, Metrics: m})
}

// countOf turns an observation into the plain values kinetics works on.
func countOf(o *clink.Observation) kinetics.Count {
	n := kinetics.Count{Day: o.Day, ViableCells: o.ViableCells, NKFraction: math.NaN(), KeptFraction: 1}
	if o.NKPct != nil {
		n.NKFraction = *o.NKPct / 100
	}
	if o.SplitFractionKept != nil {
		n.KeptFraction = *o.SplitFractionKept
	}
	return n
}

// allObservations reads every non-voided observation of a culture, page by page.
func (s *Server) allObservations(r *http.Request, cultureID int64) ([]*clink.Observation, error) {
	var all []*clink.Observation
	f := clink.ObservationFilter{CultureID: cultureID, Page: clink.Page{Limit: clink.MaxLimit}}
	for {
		page, total, err := s.store.FindObservations(r.Context(), f)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if len(page) == 0 || len(all) >= total {
			return all, nil
		}
		f.Offset += len(page)
	}
}
