// Package optimizer designs the consortium's next experiments: it reads the cultures of CLINK
// whose protocol versions lie in a design space (design.Space), with their outcomes at harvest
// (package analysis), adds imported results, and asks package bo for the next batch of
// conditions with their predicted outcomes; a suggestion becomes a draft protocol version. It
// also holds the optimizer's benchmark on CLINK's own simulator (Landscape).
package optimizer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/analysis"
	"github.com/clink-consortium/clink/bo"
	"github.com/clink-consortium/clink/design"
)

// Outcome names. NK fold and LU30 are modelled on log10 (they span orders of magnitude),
// purity and viability in percent.
const (
	NKFold    = "nk_fold"
	LU30      = "lu30"
	Purity    = "purity"
	Viability = "viability"
)

// Outcomes are the outcome names, in the order of bo.Observation.Y.
var Outcomes = []string{NKFold, LU30, Purity, Viability}

// logOutcome says which outcomes are modelled on log10.
func logOutcome(o int) bool { return o == 0 || o == 1 }

// Constraint is an outcome constraint: purity >= 70 says the outcome must be at least 70.
type Constraint struct {
	Outcome string  `json:"outcome"`
	Min     bool    `json:"min"` // true for >=, false for <=
	Bound   float64 `json:"bound"`
}

// ParseConstraint reads "purity>=70" or "viability >= 70" (or <=).
func ParseConstraint(s string) (Constraint, error) {
	for _, op := range []string{">=", "<="} {
		if name, bound, ok := strings.Cut(s, op); ok {
			var c Constraint
			c.Outcome, c.Min = strings.TrimSpace(name), op == ">="
			if !slices.Contains(Outcomes, c.Outcome) {
				return c, fmt.Errorf("constraint %q: %q is not an outcome (%s)", s, c.Outcome, strings.Join(Outcomes, ", "))
			}
			if _, err := fmt.Sscan(strings.TrimSpace(bound), &c.Bound); err != nil || math.IsNaN(c.Bound) || math.IsInf(c.Bound, 0) {
				return c, fmt.Errorf("constraint %q: %q is not a number", s, strings.TrimSpace(bound))
			}
			return c, nil
		}
	}
	return Constraint{}, fmt.Errorf("constraint %q: write OUTCOME>=NUMBER or OUTCOME<=NUMBER (e.g. purity>=70)", s)
}

// Result is a condition with its outcomes, from CLINK or imported.
type Result struct {
	Point design.Point `json:"point"`
	// Values has one entry per Outcomes name; NaN when not measured.
	Values []float64 `json:"values"`
	Donor  string    `json:"donor"` // a donor id or code; "" when unknown
	// Source says where the result comes from: a culture code or "file.csv:12".
	Source string `json:"source"`
	Failed bool   `json:"failed,omitempty"`
}

// Skipped is a culture or protocol the optimizer could not use, with why.
type Skipped struct {
	Source string `json:"source"`
	Reason string `json:"reason"`
}

// Service reads a store's cultures for the optimizer.
type Service struct {
	Store clink.Store
}

// Results returns the outcomes at harvest of every completed culture whose protocol version
// lies in space, and the protocol versions and cultures left out with why (a protocol
// outside the space, a culture stopped or without a harvest count).
func (s *Service) Results(ctx context.Context, space *design.Space) ([]Result, []Skipped, error) {
	protocols, err := clink.ReadAll(func(p clink.Page) ([]*clink.Protocol, int, error) {
		return s.Store.FindProtocols(ctx, clink.ProtocolFilter{Page: p})
	})
	if err != nil {
		return nil, nil, err
	}
	var out []Result
	var skipped []Skipped
	svc := analysis.New(s.Store)
	for _, p := range protocols {
		if p.Voided {
			continue
		}
		pt, perr := ProtocolPoint(space, p)
		cultures, err := clink.ReadAll(func(pg clink.Page) ([]*clink.Culture, int, error) {
			return s.Store.FindCultures(ctx, clink.CultureFilter{ProtocolID: p.ID, Page: pg})
		})
		if err != nil {
			return nil, nil, err
		}
		if len(cultures) == 0 {
			continue
		}
		if perr != nil {
			skipped = append(skipped, Skipped{Source: p.Key(), Reason: "not in the space: " + perr.Error()})
			continue
		}
		outs, err := svc.CultureOutcomes(ctx, cultures, nil, "")
		if err != nil {
			return nil, nil, err
		}
		for _, o := range outs {
			r := Result{Point: pt, Donor: fmt.Sprint(o.Culture.DonorID), Source: o.Culture.Code, Values: nanValues()}
			if o.Culture.Status == clink.StatusStopped {
				r.Failed = true
				out = append(out, r)
				continue
			}
			if o.Excluded != "" {
				if o.Culture.Status != clink.StatusRunning {
					skipped = append(skipped, Skipped{Source: o.Culture.Code, Reason: o.Excluded})
				}
				continue
			}
			set := func(i int, v *float64) {
				if v != nil {
					r.Values[i] = *v
				}
			}
			set(0, o.NKFold)
			set(1, o.LU30)
			set(2, o.PurityPct)
			set(3, o.ViabilityPct)
			out = append(out, r)
		}
	}
	return out, skipped, nil
}

func clamp100(v float64) float64 { return math.Min(math.Max(v, 0), 100) }

func nanValues() []float64 {
	v := make([]float64, len(Outcomes))
	for i := range v {
		v[i] = math.NaN()
	}
	return v
}

// Request asks for suggestions.
type Request struct {
	Space       *design.Space
	Objectives  []string // one or two of NKFold, LU30, Purity, Viability; maximised
	Constraints []Constraint
	Batch       int // conditions to suggest
	Seed        uint64
	// Pending are conditions already running without results.
	Pending []design.Point
	// Dependence asks for the partial dependence of the first objective on every factor.
	Dependence bool
}

// Dependence is the partial dependence of an outcome on one factor: the predicted mean and
// 95 % interval at each value of the factor, averaged over the observed values of the others
// (bo.PartialDependence). For a numeric factor X holds the values (natural units), for a
// categorical one Levels.
type Dependence struct {
	Factor  string    `json:"factor"`
	Unit    string    `json:"unit,omitempty"`
	Outcome string    `json:"outcome"`
	Log     bool      `json:"log"` // the factor's scale is logarithmic
	X       []float64 `json:"x,omitempty"`
	Levels  []string  `json:"levels,omitempty"`
	Mean    []float64 `json:"mean"`
	Low     []float64 `json:"low"`
	High    []float64 `json:"high"`
}

// dependencePoints is the number of values of a numeric factor in a partial dependence.
const dependencePoints = 25

// dependence computes the partial dependence of outcome o on every factor of space.
func dependence(space *design.Space, obs []bo.Observation, opt bo.Options, o int) ([]Dependence, error) {
	m, X, err := bo.FitOutcome(obs, opt, o)
	if err != nil {
		return nil, err
	}
	var out []Dependence
	for dim, f := range space.Factors {
		d := Dependence{Factor: f.Name, Unit: f.Unit, Outcome: Outcomes[o], Log: f.Scale == design.Log}
		var grid []float64
		if f.Kind == design.Integer && f.High-f.Low < 100 {
			for v := f.Low; v <= f.High; v++ { // every whole value once
				grid = append(grid, (v-f.Low)/math.Max(f.High-f.Low, 1))
			}
		} else if f.Kind == design.Categorical {
			d.Levels = f.Levels
			for i := range f.Levels {
				grid = append(grid, float64(i))
			}
		} else {
			for i := range dependencePoints {
				grid = append(grid, float64(i)/float64(dependencePoints-1))
			}
		}
		mean, sd, err := bo.PartialDependence(m, X, dim, grid)
		if err != nil {
			return nil, err
		}
		for i, u := range grid {
			if f.Kind != design.Categorical {
				coords := make([]float64, len(space.Factors))
				coords[dim] = u
				pt, err := space.Decode(coords)
				if err != nil {
					return nil, err
				}
				d.X = append(d.X, pt[f.Name].X)
			}
			lo, hi := mean[i]-1.96*sd[i], mean[i]+1.96*sd[i]
			mu := mean[i]
			if logOutcome(o) {
				mu, lo, hi = math.Pow(10, mu), math.Pow(10, lo), math.Pow(10, hi)
			} else {
				mu, lo, hi = clamp100(mu), clamp100(lo), clamp100(hi)
			}
			d.Mean, d.Low, d.High = append(d.Mean, mu), append(d.Low, lo), append(d.High, hi)
		}
		out = append(out, d)
	}
	return out, nil
}

// Prediction is an outcome predicted at a suggested condition: the mean and a 95 % interval of
// the latent value (for NK fold and LU30 the geometric mean and interval; percentages kept
// within 0 to 100).
type Prediction struct {
	Outcome string  `json:"outcome"`
	Mean    float64 `json:"mean"`
	Low     float64 `json:"low"`
	High    float64 `json:"high"`
	SD      float64 `json:"sd"` // of the modelled value (log10 for NK fold and LU30)
}

// Suggestion is one suggested condition.
type Suggestion struct {
	Point       design.Point `json:"point"`
	Predictions []Prediction `json:"predictions"`
	// Acquisition is the log acquisition value; nil for a space-filling point.
	Acquisition *float64 `json:"acquisition"`
}

// Plan is the optimizer's answer.
type Plan struct {
	Space       string       `json:"space"`
	Objectives  []string     `json:"objectives"`
	Constraints []Constraint `json:"constraints"`
	Results     int          `json:"results"` // results used (failed cultures not counted)
	Donors      int          `json:"donors"`
	Suggestions []Suggestion `json:"suggestions"`
	Dependence  []Dependence `json:"dependence,omitempty"`
	Skipped     []Skipped    `json:"skipped"`
	Notes       []string     `json:"notes"`
}

// Suggest fits the results and returns the next batch. Bad requests are EINVALID naming the
// field.
func Suggest(req Request, results []Result) (*Plan, error) {
	var fe clink.FieldErrors
	if req.Space == nil {
		return nil, clink.Invalid("space", "is required")
	}
	if err := req.Space.Validate(); err != nil {
		return nil, err
	}
	var objs []bo.Objective
	for k, o := range req.Objectives {
		i := slices.Index(Outcomes, o)
		if i < 0 {
			fe.Addf(fmt.Sprintf("objectives[%d]", k), "%q is not an outcome (%s)", o, strings.Join(Outcomes, ", "))
			continue
		}
		objs = append(objs, bo.Objective{Outcome: i, Maximize: true})
	}
	if len(req.Objectives) == 0 || len(req.Objectives) > 2 {
		fe.Addf("objectives", "give one or two objectives, got %d", len(req.Objectives))
	}
	var cons []bo.OutcomeConstraint
	for k, c := range req.Constraints {
		i := slices.Index(Outcomes, c.Outcome)
		if i < 0 {
			fe.Addf(fmt.Sprintf("constraints[%d]", k), "%q is not an outcome", c.Outcome)
			continue
		}
		b := c.Bound
		if logOutcome(i) {
			if !(b > 0) {
				fe.Addf(fmt.Sprintf("constraints[%d]", k), "%s bound %g must be above 0", c.Outcome, b)
				continue
			}
			b = math.Log10(b)
		}
		cons = append(cons, bo.OutcomeConstraint{Outcome: i, Bound: b, Upper: !c.Min})
	}
	if req.Batch < 1 || req.Batch > 96 {
		fe.Addf("batch", "%d is outside 1..96", req.Batch)
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	plan := &Plan{Space: req.Space.Name, Objectives: req.Objectives, Constraints: req.Constraints}
	donors := map[string]int{}
	var obs []bo.Observation
	for _, r := range results {
		u, err := req.Space.Encode(r.Point)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.Source, err)
		}
		y := make([]float64, len(Outcomes))
		for i, v := range r.Values {
			y[i] = v
			if logOutcome(i) {
				y[i] = math.NaN()
				if v > 0 {
					y[i] = math.Log10(v)
				}
			}
		}
		g := -1
		if r.Donor != "" {
			if _, ok := donors[r.Donor]; !ok {
				donors[r.Donor] = len(donors)
			}
			g = donors[r.Donor]
		}
		obs = append(obs, bo.Observation{X: u, Y: y, Group: g, Failed: r.Failed})
		if !r.Failed {
			plan.Results++
		}
	}
	plan.Donors = len(donors)
	var pending [][]float64
	for _, p := range req.Pending {
		u, err := req.Space.Encode(p)
		if err != nil {
			return nil, clink.Invalid("pending", "%v", err)
		}
		pending = append(pending, u)
	}
	var err error
	norm := bo.NormalizeNone
	if len(donors) > 1 {
		norm = bo.NormalizeRandomEffect
	}
	opt := bo.Options{Dims: gpDims(req.Space), Objectives: objs, Constraints: cons, Batch: req.Batch, Pending: pending,
		Seed: req.Seed, Normalize: norm, Round: func(x []float64) { repair(req.Space, x) },
		SmoothConstraints: smoothConstraints(req.Space)}
	if req.Dependence {
		n := 0
		for _, o := range obs {
			if !o.Failed && !math.IsNaN(o.Y[objs[0].Outcome]) {
				n++
			}
		}
		if n < bo.MinTrain {
			plan.Notes = append(plan.Notes, fmt.Sprintf("no partial dependence: %d results of %s, at least %d needed", n, req.Objectives[0], bo.MinTrain))
		} else if plan.Dependence, err = dependence(req.Space, obs, opt, objs[0].Outcome); err != nil {
			return nil, err
		}
	}
	sug, err := bo.Suggest(obs, opt)
	if errors.Is(err, bo.ErrShortBatch) {
		plan.Notes = append(plan.Notes, fmt.Sprintf("only %d distinct conditions could be suggested, not %d", len(sug), req.Batch))
	} else if err != nil {
		return nil, err
	}
	for _, s := range sug {
		pt, err := req.Space.Decode(s.X)
		if err != nil {
			return nil, err
		}
		fitPoint(req.Space, pt)
		out := Suggestion{Point: pt}
		if a := s.Acquisition; !math.IsNaN(a) && !math.IsInf(a, 0) {
			out.Acquisition = &a
		}
		for i, name := range Outcomes {
			if i >= len(s.Mean) || math.IsNaN(s.Mean[i]) {
				continue
			}
			m, sd := s.Mean[i], s.SD[i]
			p := Prediction{Outcome: name, Mean: m, Low: m - 1.96*sd, High: m + 1.96*sd, SD: sd}
			if logOutcome(i) {
				p.Mean, p.Low, p.High = math.Pow(10, m), math.Pow(10, p.Low), math.Pow(10, p.High)
			} else { // a percentage
				p.Mean, p.Low, p.High = clamp100(p.Mean), clamp100(p.Low), clamp100(p.High)
			}
			out.Predictions = append(out.Predictions, p)
		}
		plan.Suggestions = append(plan.Suggestions, out)
	}
	if plan.Results < bo.MinTrain {
		plan.Notes = append(plan.Notes, fmt.Sprintf("%d results in the space: the suggestions are a space-filling design, not yet predictions", plan.Results))
	}
	return plan, nil
}

// LoadSpace returns the stored design space ref names (NAME or NAME@VERSION), its definition
// parsed. A definition that is no longer a valid space is an error naming the version.
func (s *Service) LoadSpace(ctx context.Context, ref string) (*design.Space, *clink.DesignSpace, error) {
	tr, err := clink.ParseTemplateRef(ref)
	if err != nil {
		return nil, nil, clink.Invalid("space", "%q is not a design space name (NAME or NAME@VERSION)", ref)
	}
	ds, err := s.Store.FindDesignSpaceByRef(ctx, tr)
	if err != nil {
		return nil, nil, err
	}
	sp, err := design.ParseSpace(ds.Definition)
	if err != nil {
		return nil, nil, fmt.Errorf("design space %s: %w", ds.Ref(), err)
	}
	return sp, ds, nil
}

// DonorPlan splits suggestions 1..n across donors in turn: each donor's cells go to its
// conditions and the reference arm (domain.md §9.2).
func DonorPlan(n, donors int) [][]int {
	if donors < 1 {
		donors = 1
	}
	plan := make([][]int, donors)
	for j := range n {
		plan[j%donors] = append(plan[j%donors], j+1)
	}
	return plan
}
