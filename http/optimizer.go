package http

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/bo"
	"github.com/clink-consortium/clink/design"
	"github.com/clink-consortium/clink/optimizer"
)

// suggestionRequest is the body of POST /optimizer/suggestions.
type suggestionRequest struct {
	// Space names a stored design space: NAME or NAME@VERSION.
	Space       string   `json:"space"`
	Objectives  []string `json:"objectives"`
	Constraints []string `json:"constraints"` // "purity>=70"
	Batch       int      `json:"batch"`
	Donors      int      `json:"donors"`
	Seed        uint64   `json:"seed"`
	Dependence  bool     `json:"dependence"`
}

// suggestionPlan is the answer of POST /optimizer/suggestions.
type suggestionPlan struct {
	*optimizer.Plan
	SpaceRef  string  `json:"space_ref"`
	DonorPlan [][]int `json:"donor_plan"`
}

// planSuggestions checks req and asks the optimizer for its plan on the store's cultures.
func (s *Server) planSuggestions(ctx context.Context, req suggestionRequest) (*suggestionPlan, error) {
	var fe clink.FieldErrors
	if req.Space == "" {
		fe.Addf("space", "is required: name a stored design space (NAME or NAME@VERSION)")
	}
	if req.Donors == 0 {
		req.Donors = 1
	}
	if req.Batch < 1 || req.Batch > 96 {
		fe.Addf("batch", "%d is outside 1..96", req.Batch)
	} else if req.Donors < 1 || req.Donors > req.Batch {
		fe.Addf("donors", "%d is outside 1..%d (the batch size)", req.Donors, req.Batch)
	}
	// The objectives are checked here, before the results are read, under the request's
	// field name; optimizer.Suggest checks them again.
	if n := len(req.Objectives); n < 1 || n > 2 {
		fe.Addf("objectives", "give one or two of %s, got %d", strings.Join(optimizer.Outcomes, ", "), n)
	}
	for i, o := range req.Objectives {
		if !slices.Contains(optimizer.Outcomes, o) {
			fe.Addf(fmt.Sprintf("objectives[%d]", i), "%q is not an outcome (%s)", o, strings.Join(optimizer.Outcomes, ", "))
		} else if slices.Index(req.Objectives, o) < i {
			fe.Addf(fmt.Sprintf("objectives[%d]", i), "%q is given twice", o)
		}
	}
	oreq := optimizer.Request{Objectives: req.Objectives, Batch: req.Batch, Seed: req.Seed, Dependence: req.Dependence}
	for i, c := range req.Constraints {
		oc, err := optimizer.ParseConstraint(c)
		if err != nil {
			fe.Addf(fmt.Sprintf("constraints[%d]", i), "%v", err)
			continue
		}
		oreq.Constraints = append(oreq.Constraints, oc)
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	svc := &optimizer.Service{Store: s.store}
	space, ds, err := svc.LoadSpace(ctx, req.Space)
	if err != nil {
		return nil, err
	}
	oreq.Space = space
	results, skipped, err := svc.Results(ctx, space)
	if err != nil {
		return nil, err
	}
	// The partial dependence needs a model of the first objective, which needs bo.MinTrain
	// results of it; with fewer, optimizer.Suggest fails on it, so it is left out with a note.
	var note string
	if oreq.Dependence {
		if n := measured(results, oreq.Objectives[0]); n < bo.MinTrain {
			oreq.Dependence = false
			note = fmt.Sprintf("no partial dependence: %d results measure %s, at least %d are needed", n, oreq.Objectives[0], bo.MinTrain)
		}
	}
	plan, err := optimizer.Suggest(oreq, results)
	if err != nil {
		// optimizer.Suggest names its fields in the singular (objective, constraint); the
		// request's are lists.
		return nil, renameFields(err, map[string]string{"objective": "objectives", "constraint": "constraints"})
	}
	plan.Skipped = skipped
	if note != "" {
		plan.Notes = append(plan.Notes, note)
	}
	// Lists are answered as [] rather than null when empty.
	plan.Objectives = nonNil(plan.Objectives)
	plan.Constraints = nonNil(plan.Constraints)
	plan.Suggestions = nonNil(plan.Suggestions)
	plan.Skipped = nonNil(plan.Skipped)
	plan.Notes = nonNil(plan.Notes)
	for i := range plan.Suggestions {
		plan.Suggestions[i].Predictions = nonNil(plan.Suggestions[i].Predictions)
	}
	return &suggestionPlan{Plan: plan, SpaceRef: ds.Ref(), DonorPlan: optimizer.DonorPlan(len(plan.Suggestions), req.Donors)}, nil
}

// measured counts the results that measure outcome, as the model uses them: not failed, with
// a finite value (above 0 for NK fold and LU30, which are modelled on log10).
func measured(results []optimizer.Result, outcome string) int {
	i := slices.Index(optimizer.Outcomes, outcome)
	n := 0
	for _, r := range results {
		if r.Failed || i < 0 || i >= len(r.Values) {
			continue
		}
		v := r.Values[i]
		if math.IsNaN(v) || math.IsInf(v, 0) || ((outcome == optimizer.NKFold || outcome == optimizer.LU30) && !(v > 0)) {
			continue
		}
		n++
	}
	return n
}

// nonNil returns s, or an empty slice when s is nil, so that it is answered as [].
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// createSuggestions answers POST /optimizer/suggestions: the next batch of conditions in a
// stored design space, learnt from the cultures of the protocol versions in it, with their
// predicted outcomes, and how the batch splits across donors.
func (s *Server) createSuggestions(w http.ResponseWriter, r *http.Request) error {
	var req suggestionRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	plan, err := s.planSuggestions(r.Context(), req)
	if err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, plan)
}

// draftRequest is the body of POST /optimizer/drafts.
type draftRequest struct {
	Space string `json:"space"`
	// Point is the suggested condition, in natural units: {"il2": 500, "feeder": "EBV-LCL"}.
	Point design.Point `json:"point"`
	// Protocol is the id of the protocol version the draft is the next version of.
	Protocol int64  `json:"protocol"`
	Note     string `json:"note"`
}

// makeDraft builds the draft protocol version of req (not stored). The base protocol version
// is looked up first and the user authorized at its site, so that a user who may not write
// there is refused (403) whatever the rest of the body holds.
func (s *Server) makeDraft(r *http.Request, req draftRequest) (*clink.Protocol, error) {
	ctx := r.Context()
	var fe clink.FieldErrors
	if req.Space == "" {
		fe.Addf("space", "is required")
	}
	if req.Protocol <= 0 {
		fe.Addf("protocol", "is required: the id of the protocol version the draft follows")
	}
	if len(req.Point) == 0 {
		fe.Addf("point", "is required")
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	base, err := s.store.FindProtocolByID(ctx, req.Protocol)
	if clink.ErrorCode(err) == clink.ENOTFOUND {
		return nil, clink.Invalid("protocol", "%s", clink.ErrorMessage(err))
	}
	if err != nil {
		return nil, err
	}
	if err := s.authorize(r, base.Site); err != nil {
		return nil, err
	}
	svc := &optimizer.Service{Store: s.store}
	space, ds, err := svc.LoadSpace(ctx, req.Space)
	if err != nil {
		return nil, err
	}
	// Encode names its errors point.FACTOR already.
	if _, err := space.Encode(req.Point); err != nil {
		return nil, err
	}
	if !space.Feasible(req.Point) {
		return nil, clink.Invalid("point", "breaks the constraints of design space %s", ds.Ref())
	}
	comps, err := s.store.FindComponents(ctx, "")
	if err != nil {
		return nil, err
	}
	note := req.Note
	if note == "" {
		note = fmt.Sprintf("Draft from an optimizer suggestion in design space %s.", ds.Ref())
	}
	d, err := optimizer.Draft(space, base, req.Point, comps, note)
	if err != nil {
		return nil, clink.Invalid("point", "%v", err)
	}
	return d, nil
}

// createDraft answers POST /optimizer/drafts: a suggested condition becomes the next version of
// a protocol (201), for a researcher of the protocol's site.
func (s *Server) createDraft(w http.ResponseWriter, r *http.Request) error {
	var req draftRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	d, err := s.makeDraft(r, req)
	if err != nil {
		return err
	}
	if err := s.store.CreateProtocol(r.Context(), d); err != nil {
		return err
	}
	return s.writeCreated(w, fmt.Sprintf("%s/protocols/%d", apiPrefix, d.ID), d)
}

// renameFields returns err with the field names of its field errors renamed by names (a field
// not in names, or below one, e.g. "objective.x", keeps its name); other errors are returned
// as they are.
func renameFields(err error, names map[string]string) error {
	fields := clink.ErrorFields(err)
	if clink.ErrorCode(err) != clink.EINVALID || len(fields) == 0 {
		return err
	}
	var fe clink.FieldErrors
	for _, f := range fields {
		name := f.Field
		if to, ok := names[name]; ok {
			name = to
		}
		fe.Addf(name, "%s", f.Message)
	}
	return fe.Err()
}
