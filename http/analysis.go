package http

import (
	"net/http"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/analysis"
	"github.com/clink-consortium/clink/rank"
)

// getAnalysisCompare answers GET /analysis/compare: the donor-paired comparison of two or more
// protocols on one metric (domain.md §7).
func (s *Server) getAnalysisCompare(w http.ResponseWriter, r *http.Request) error {
	q := newRepeatingQuery(r, []string{"protocol"}, "protocol", "metric", "day", "method")
	req := analysis.CompareRequest{
		Protocols: q.list("protocol"),
		Metric:    q.oneOf("metric", analysis.Metrics...),
		Day:       q.integer("day"),
		Method:    q.oneOf("method", clink.AssayMethods...),
	}
	if err := q.err(); err != nil {
		return err
	}
	cmp, err := analysis.New(s.store).Compare(r.Context(), req)
	if err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, cmp)
}

// getAnalysisRanking answers GET /analysis/ranking: the consortium's scoreboard (domain.md §8).
func (s *Server) getAnalysisRanking(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "day", "method", "dose_per_kg", "weight_kg", "donor_unit_cells", "process_recovery", "qc_fraction")
	req := analysis.RankingRequest{Day: q.integer("day"), Method: q.oneOf("method", clink.AssayMethods...)}
	positive := func(name string) float64 {
		malformed := len(q.fe)
		v := q.number(name)
		if _, given := q.values[name]; given && len(q.fe) == malformed && !(v > 0) {
			q.inv.Addf(name, "%g is not above 0", v)
		}
		return v
	}
	req.Options = rank.Options{
		DosePerKg:       positive("dose_per_kg"),
		WeightKg:        positive("weight_kg"),
		DonorUnitCells:  positive("donor_unit_cells"),
		ProcessRecovery: positive("process_recovery"),
		QCFraction:      q.number("qc_fraction"),
	}
	if err := q.err(); err != nil {
		return err
	}
	// The options are checked here so that a refusal names the query parameter (qc_fraction),
	// not the field of rank's input (options.qc_fraction).
	if err := req.Options.Validate(); err != nil {
		return err
	}
	rk, err := analysis.New(s.store).Ranking(r.Context(), req)
	if err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, rk)
}
