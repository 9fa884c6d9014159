package analysis

import (
	"context"
	"slices"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/rank"
)

// RankingRequest asks for the consortium's scoreboard.
type RankingRequest struct {
	// Day ranks every culture at that day; nil ranks completed cultures at harvest.
	Day *int
	// Method is the assay method killing is taken from; "" means the most frequent.
	Method string
	// Options are the dose, weight, process and specification assumptions (zero: defaults).
	Options rank.Options
}

// Ranking is the scoreboard with what it rests on.
type Ranking struct {
	Day         *int          `json:"day"` // null: at harvest
	AssayMethod string        `json:"assay_method"`
	NCultures   int           `json:"n_cultures"`
	Notes       []string      `json:"notes"` // cultures left out, and cultures without LU30, and why
	Ranking     *rank.Ranking `json:"ranking"`
}

// Ranking ranks every protocol (all versions of a name together) on the store's data.
func (s *Service) Ranking(ctx context.Context, req RankingRequest) (*Ranking, error) {
	var fe clink.FieldErrors
	if req.Day != nil && *req.Day < 0 {
		fe.Addf("day", "%d is negative", *req.Day)
	}
	if req.Method != "" && !slices.Contains(clink.AssayMethods, req.Method) {
		fe.Addf("method", "%q is not one of %v", req.Method, clink.AssayMethods)
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	out, method, left, err := s.outcomes(ctx, scope{day: req.Day, method: req.Method})
	if err != nil {
		return nil, err
	}
	plain := make([]rank.Outcome, len(out))
	var noLU30 counter
	for i, o := range out {
		plain[i] = o.Outcome
		if o.noLU30 != "" {
			noLU30.add(o.noLU30)
		}
	}
	r, err := rank.Rank(plain, req.Options)
	if err != nil {
		return nil, err
	}
	notes := append(left.notes(), noLU30.notesAs("without LU30")...)
	return &Ranking{Day: req.Day, AssayMethod: method, NCultures: len(out), Notes: notes, Ranking: r}, nil
}
