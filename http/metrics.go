package http

import (
	"cmp"
	"net/http"
	"slices"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/analysis"
	"github.com/clink-consortium/clink/kinetics"
)

// CultureMetrics is the answer of GET /cultures/{id}/metrics: the expansion kinetics of a
// culture computed from its non-voided observations.
type CultureMetrics struct {
	CultureID int64            `json:"culture_id"`
	Culture   string           `json:"culture"`
	Site      string           `json:"site"`
	Metrics   kinetics.Metrics `json:"metrics"`
	// Cytotoxicity analyses every non-voided assay of the culture: lysis, NK-corrected E:T,
	// the exponential fit and lytic units, in day order.
	Cytotoxicity []analysis.AssayAnalysis `json:"cytotoxicity"`
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
	obs, err := clink.ReadAll(func(p clink.Page) ([]*clink.Observation, int, error) {
		return s.store.FindObservations(r.Context(), clink.ObservationFilter{CultureID: c.ID, Page: p})
	})
	if err != nil {
		return err
	}
	counts := make([]kinetics.Count, 0, len(obs))
	for _, o := range obs {
		counts = append(counts, analysis.CountOf(o))
	}
	slices.SortFunc(counts, func(a, b kinetics.Count) int { return cmp.Compare(a.Day, b.Day) })
	m := kinetics.Compute(c.StartingCells, c.StartingNKPct/100, counts, kinetics.Options{})
	assays, err := clink.ReadAll(func(p clink.Page) ([]*clink.Assay, int, error) {
		return s.store.FindAssays(r.Context(), clink.AssayFilter{CultureID: c.ID, Page: p})
	})
	if err != nil {
		return err
	}
	cyto := make([]analysis.AssayAnalysis, 0, len(assays))
	for _, a := range assays {
		if a.Voided {
			continue
		}
		cyto = append(cyto, analysis.AnalyzeAssay(a, obs))
	}
	slices.SortStableFunc(cyto, func(a, b analysis.AssayAnalysis) int { return cmp.Compare(a.Day, b.Day) })
	return s.writeJSON(w, http.StatusOK, CultureMetrics{CultureID: c.ID, Culture: c.Code, Site: c.Site, Metrics: m, Cytotoxicity: cyto})
}
