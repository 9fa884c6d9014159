package http

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/chart"
	"github.com/clink-consortium/clink/design"
	"github.com/clink-consortium/clink/optimizer"
)

// The optimizer on the web: choose a design space, the objectives, the constraints and the
// batch; see the suggestions with their predicted outcomes, how they split across donors, and
// the partial dependence of the first objective on every factor; turn a suggestion into a
// draft protocol version with one click.

// uiOptimizerRoutes are the optimizer page, its charts and the draft form.
func (s *Server) uiOptimizerRoutes() []Route {
	return []Route{
		{"GET", "/optimizer", "optimizerPage", PermRead, s.optimizerPage},
		{"GET", "/optimizer/charts/{file}", "optimizerChart", PermRead, s.optimizerChart},
		{"POST", "/optimizer/drafts", "createDraftForm", PermWriteResearch, s.createDraftForm},
	}
}

// optimizerSuggestion is a suggestion on the page, with the JSON of its point for the draft
// form.
type optimizerSuggestion struct {
	N int
	optimizer.Suggestion
	Values    []string // the factors' values, in the space's order
	PointJSON string
}

// optimizerData is the data of the optimizer page.
type optimizerData struct {
	Form        form
	Spaces      []*clink.DesignSpace
	Outcomes    []string
	Objective1  string
	Objective2  string
	Space       *design.Space
	Plan        *suggestionPlan
	Suggestions []optimizerSuggestion
	Charts      []chartView
	Protocols   []*clink.Protocol // bases for drafts, for the user's site
	CanDraft    bool
}

// optimizerQuery reads the page's query into a suggestion request and the form; run says
// whether the query asks for suggestions (it names a space).
func optimizerQuery(r *http.Request) (req suggestionRequest, f form, run bool, err error) {
	q := r.URL.Query()
	f = newForm()
	for _, k := range []string{"space", "objective", "objective2", "purity_min", "viability_min", "batch", "donors", "seed"} {
		f.Values[k] = strings.TrimSpace(q.Get(k))
	}
	defaults := map[string]string{"objective": optimizer.NKFold, "objective2": optimizer.LU30, "purity_min": "70",
		"viability_min": "70", "batch": "6", "donors": "1", "seed": "1"}
	run = f.Values["space"] != ""
	for k, v := range defaults {
		if f.Values[k] == "" && !run {
			f.Values[k] = v
		}
	}
	req = suggestionRequest{Space: f.Values["space"], Dependence: true}
	var fe clink.FieldErrors
	for _, k := range []string{"objective", "objective2"} {
		if v := f.Values[k]; v != "" {
			if !slices.Contains(optimizer.Outcomes, v) {
				fe.Addf(k, "%q is not an outcome", v)
			} else if !slices.Contains(req.Objectives, v) {
				req.Objectives = append(req.Objectives, v)
			}
		}
	}
	if run && len(req.Objectives) == 0 && fe.Err() == nil {
		fe.Addf("objective", "is required: choose the outcome to maximise")
	}
	number := func(k string, lo, hi int) int {
		v := f.Values[k]
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			fe.Addf(k, "%q is not a whole number from %d to %d", v, lo, hi)
		}
		return n
	}
	if run {
		req.Batch = number("batch", 1, 96)
		req.Donors = number("donors", 1, 96)
		req.Seed = uint64(number("seed", 0, math.MaxInt32))
		for _, k := range []string{"purity_min", "viability_min"} {
			if v := f.Values[k]; v != "" {
				x, err := strconv.ParseFloat(v, 64)
				if err != nil || x < 0 || x > 100 {
					fe.Addf(k, "%q is not a percentage from 0 to 100", v)
					continue
				}
				req.Constraints = append(req.Constraints, strings.TrimSuffix(k, "_min")+">="+v)
			}
		}
	}
	return req, f, run, fe.Err()
}

// optimizerPage shows the optimizer's form and, when the query names a space, its plan.
func (s *Server) optimizerPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	req, f, run, qerr := optimizerQuery(r)
	d := optimizerData{Form: f, Outcomes: optimizer.Outcomes, Objective1: f.Values["objective"], Objective2: f.Values["objective2"]}
	var err error
	d.Spaces, err = clink.ReadAll(func(p clink.Page) ([]*clink.DesignSpace, int, error) {
		return s.store.FindDesignSpaces(ctx, clink.DesignSpaceFilter{Page: p})
	})
	if err != nil {
		return err
	}
	slices.SortStableFunc(d.Spaces, func(a, b *clink.DesignSpace) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(b.Version, a.Version))
	})
	if !run && len(d.Spaces) > 0 {
		d.Form.Values["space"] = d.Spaces[0].Name
	}
	status := http.StatusOK
	if run {
		err := qerr
		if err == nil {
			d.Plan, err = s.planSuggestions(ctx, req)
		}
		if err != nil {
			if !d.Form.refuse(err) && clink.ErrorCode(err) != clink.ENOTFOUND {
				return err
			}
			if clink.ErrorCode(err) == clink.ENOTFOUND {
				d.Form.Message = clink.ErrorMessage(err)
				d.Form.Errors["space"] = d.Form.Message
			}
			d.Plan = nil
			status = refusedStatus(err)
		} else {
			if err := s.fillOptimizerPlan(r, &d); err != nil {
				return err
			}
		}
	}
	return s.render(w, r, status, "optimizer", page{Title: "Optimizer", Nav: navOptimizer, Data: d})
}

// fillOptimizerPlan fills the page's suggestions, charts and draft bases from its plan.
func (s *Server) fillOptimizerPlan(r *http.Request, d *optimizerData) error {
	ctx := r.Context()
	svc := &optimizer.Service{Store: s.store}
	space, _, err := svc.LoadSpace(ctx, d.Plan.SpaceRef)
	if err != nil {
		return err
	}
	d.Space = space
	for i, sg := range d.Plan.Suggestions {
		js, err := json.Marshal(sg.Point)
		if err != nil {
			return err
		}
		os := optimizerSuggestion{N: i + 1, Suggestion: sg, PointJSON: string(js)}
		for _, f := range space.Factors {
			os.Values = append(os.Values, sg.Point[f.Name].String())
		}
		d.Suggestions = append(d.Suggestions, os)
	}
	charts := dependenceCharts(d.Plan.Plan)
	names := make([]string, 0, len(charts))
	for _, dep := range d.Plan.Dependence {
		names = append(names, "pd-"+dep.Factor)
	}
	views := chartViews("/optimizer/charts/", names, charts)
	q := "?" + r.URL.RawQuery
	for _, n := range names {
		v := views[n]
		v.SVGURL += q
		v.CSVURL += q
		d.Charts = append(d.Charts, v)
	}
	u := UserFrom(ctx)
	if u != nil && u.Site != "" && permits(u, PermWriteResearch, u.Site) {
		d.CanDraft = true
		d.Protocols, err = clink.ReadAll(func(p clink.Page) ([]*clink.Protocol, int, error) {
			return s.store.FindProtocols(ctx, clink.ProtocolFilter{Site: u.Site, Page: p})
		})
		if err != nil {
			return err
		}
		d.Protocols = slices.DeleteFunc(d.Protocols, func(p *clink.Protocol) bool { return p.Voided })
	}
	return nil
}

// dependenceCharts draws the partial dependence of the plan's first objective on each factor:
// the mean with its 95 % interval, over the factor's range (on its scale) or its levels.
func dependenceCharts(p *optimizer.Plan) map[string]chart.Chart {
	out := map[string]chart.Chart{}
	for _, dep := range p.Dependence {
		label := map[string]string{optimizer.NKFold: "NK fold", optimizer.LU30: "LU30 per 10⁷ NK",
			optimizer.Purity: "Purity", optimizer.Viability: "Viability"}[dep.Outcome]
		unit := map[string]string{optimizer.Purity: "%", optimizer.Viability: "%"}[dep.Outcome]
		y := chart.Axis{Label: label, Unit: unit, Log: dep.Outcome == optimizer.NKFold || dep.Outcome == optimizer.LU30}
		x := chart.Axis{Label: dep.Factor, Unit: dep.Unit}
		xs := dep.X
		if dep.Levels != nil {
			xs = nil
			for i, l := range dep.Levels {
				xs = append(xs, float64(i))
				x.Ticks = append(x.Ticks, chart.Tick{Value: float64(i), Label: l})
			}
			lo, hi := -0.5, float64(len(dep.Levels))-0.5
			x.Min, x.Max = &lo, &hi
		}
		markers := dep.Levels != nil
		out["pd-"+dep.Factor] = chart.Line{
			Title: fmt.Sprintf("%s against %s (partial dependence)", label, dep.Factor),
			X:     x, Y: y,
			Series: []chart.Series{
				{Name: "predicted mean", X: xs, Y: dep.Mean, Markers: markers},
				{Name: "95 % interval, low", X: xs, Y: dep.Low, Dashed: true, Markers: markers},
				{Name: "95 % interval, high", X: xs, Y: dep.High, Dashed: true, Markers: markers},
			},
		}
	}
	return out
}

// optimizerChart serves a partial-dependence chart of the plan the query asks for, as SVG or
// CSV.
func (s *Server) optimizerChart(w http.ResponseWriter, r *http.Request) error {
	// Factor names may hold dots (pd-il.2.svg): the extension is after the last one.
	file := r.PathValue("file")
	dot := strings.LastIndexByte(file, '.')
	name, ext := file, ""
	if dot >= 0 {
		name, ext = file[:dot], file[dot+1:]
	}
	if ext != "svg" && ext != "csv" {
		return clink.Errorf(clink.ENOTFOUND, "no chart file %q: charts are NAME.svg or NAME.csv", r.PathValue("file"))
	}
	req, _, run, err := optimizerQuery(r)
	if err != nil {
		return err
	}
	if !run {
		return clink.Invalid("space", "is required")
	}
	plan, err := s.planSuggestions(r.Context(), req)
	if err != nil {
		return err
	}
	c, ok := dependenceCharts(plan.Plan)[name]
	if !ok {
		return clink.Errorf(clink.ENOTFOUND, "no chart %q", name)
	}
	return writeChartFile(w, "optimizer-"+r.PathValue("file"), c)
}

// createDraftForm turns a suggestion into the next version of a protocol of the user's site
// and shows it (303 to the protocol page); a refusal shows the optimizer page's message.
func (s *Server) createDraftForm(w http.ResponseWriter, r *http.Request) error {
	if err := parsePageForm(w, r); err != nil {
		return err
	}
	var req draftRequest
	req.Space = r.PostForm.Get("space")
	req.Protocol, _ = strconv.ParseInt(r.PostForm.Get("protocol"), 10, 64)
	if err := json.Unmarshal([]byte(r.PostForm.Get("point")), &req.Point); err != nil {
		return clink.Invalid("point", "is not a condition of the space: %v", err)
	}
	d, err := s.makeDraft(r, req)
	if err != nil {
		return err
	}
	if err := s.store.CreateProtocol(r.Context(), d); err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/protocols/%d?drafted=1", d.ID), http.StatusSeeOther)
	return nil
}
