package bo

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/gp"
)

// Observation is one evaluated condition.
type Observation struct {
	// X is the condition in unit coordinates, one value per entry of Options.Dims:
	// continuous factors in [0,1], categorical ones a level index.
	X []float64 `json:"x"`
	// Y has one value per outcome; NaN marks a missing one.
	Y []float64 `json:"y"`
	// SE optionally holds the standard error of each Y from technical replicates (0 or NaN:
	// unknown); its square is the known part of the observation's noise variance.
	SE []float64 `json:"se,omitempty"`
	// Group is the donor (a small non-negative index), −1 for none.
	Group int `json:"group"`
	// Failed marks a culture that failed or was contaminated: it is excluded from the fits.
	Failed bool `json:"failed,omitempty"`
}

// Objective is an outcome to optimise.
type Objective struct {
	Outcome  int  `json:"outcome"`
	Maximize bool `json:"maximize"`
	// Reference is, with two objectives, the hypervolume reference point of this one: the
	// worst value still worth having, in the outcome's units. Nil means inferred from the
	// data: the worst value on the Pareto front of the posterior means at the observed
	// points, less a tenth of the front's range (as Ax infers reference points).
	Reference *float64 `json:"reference,omitempty"`
}

// OutcomeConstraint requires the latent value of an outcome to be at least Bound, or at most
// Bound when Upper is set (two-sided constraints are two of these).
type OutcomeConstraint struct {
	Outcome int     `json:"outcome"`
	Bound   float64 `json:"bound"`
	Upper   bool    `json:"upper,omitempty"`
}

// LinearConstraints are the linear input constraints A x ≤ B in unit coordinates
// (categorical coordinates enter as their level index). No suggestion violates them.
type LinearConstraints struct {
	A [][]float64 `json:"a,omitempty"`
	B []float64   `json:"b,omitempty"`
}

// Normalization says how donor effects are taken out of the responses.
type Normalization int

// Normalisations of donor effects.
const (
	// NormalizeNone ignores Observation.Group.
	NormalizeNone Normalization = iota
	// NormalizeRandomEffect models a donor random effect b_g ~ N(0, σ_g²) in every GP
	// (gp.Config.Groups); predictions and acquisitions are of the latent f without it.
	NormalizeRandomEffect
	// NormalizeWithinGroup centres each outcome within each group before fitting: the group
	// mean is subtracted and the grand mean added back. Observations of group −1 are left
	// alone. It suits campaigns where every donor ran the same reference arm(s). Predictions
	// (Suggestion.Mean) are then on the centred scale.
	NormalizeWithinGroup
)

// Defaults of the tuning options.
const (
	// DefaultFantasies is the number of fantasies of noisy EI (one objective) and
	// DefaultFantasiesEHVI that of noisy EHVI (two): each EHVI fantasy has a Pareto front of
	// sampled values, a noisier thing than one best value, and the BraninCurrin benchmark gains
	// from 64 (median hypervolume 57.25 with 16, 57.63 with 64, 57.55 with 128), where noisy
	// Hartmann 6 does not (3.137 with 16, 3.107 with 64) (docs/benchmarks.md).
	DefaultFantasies     = 16
	DefaultFantasiesEHVI = 64
	DefaultRawSamples    = 512
	DefaultRestarts      = 8
	DefaultMaxIter       = 100
	// MinTrain is the fewest usable observations per modelled outcome for a GP fit; with
	// fewer, Suggest returns space-filling points.
	MinTrain = 2
)

// Options configure Suggest.
type Options struct {
	// Dims describes the coordinates; nil means all continuous (as many as Observation.X).
	Dims []gp.Dim `json:"dims,omitempty"`
	// Objectives has one or two outcomes to optimise.
	Objectives []Objective `json:"objectives"`
	// Constraints are outcome constraints; each constrained outcome gets its own GP.
	Constraints []OutcomeConstraint `json:"constraints,omitempty"`
	// InputConstraints restrict the conditions that may be suggested.
	InputConstraints LinearConstraints `json:"input_constraints"`
	// SmoothConstraints restrict them further: no suggestion has c(x) > 0 for any c. Linear
	// constraints on factors with log scales (a cytokine budget in IU/mL and ng/mL, say) are
	// of this kind in unit coordinates. The acquisition optimiser follows their gradients, so
	// that it can move along the boundary of the feasible region instead of being pulled
	// back onto it by Round.
	SmoothConstraints []SmoothConstraint `json:"-"`
	// Batch is the number q of suggestions wanted (0 means 1).
	Batch int `json:"batch"`
	// Pending are conditions already running, with no result yet; suggestions account for them
	// (they are fantasised) and differ from them.
	Pending [][]float64 `json:"pending,omitempty"`
	// Seed makes Suggest reproducible: the same observations, options and seed give the same
	// suggestions.
	Seed uint64 `json:"seed"`
	// Normalize selects the donor-effect handling.
	Normalize Normalization `json:"normalize"`
	// Round, if not nil, rounds a suggestion in place (integer factors, say) before it joins
	// the batch. A rounded point that breaks the input constraints or repeats another is
	// passed over for the next best candidate.
	Round func(x []float64) `json:"-"`

	// Fantasies is the number S of joint samples of the latent outcomes at the observed and
	// pending points (0: DefaultFantasies for one objective, DefaultFantasiesEHVI for two).
	Fantasies int `json:"fantasies,omitempty"`
	// RawSamples is the number of space-filling candidates scored before refinement
	// (0: DefaultRawSamples).
	RawSamples int `json:"raw_samples,omitempty"`
	// Restarts is the number of best raw candidates refined by L-BFGS (0: DefaultRestarts).
	Restarts int `json:"restarts,omitempty"`
	// MaxIter caps the L-BFGS iterations of one refinement (0: DefaultMaxIter).
	MaxIter int `json:"max_iter,omitempty"`
	// Stationary leaves out the additive first-order part of the GPs (gp.Config.Additive: a
	// slope per continuous coordinate, an effect per categorical level), which Suggest
	// otherwise fits. Without it a GP predicts a return to its mean just beyond the data, so
	// a response that rises towards a bound of the space (a longer culture, a higher feeder
	// ratio) looks worse there than at the best point seen, and the optimum at a corner is
	// found late or not at all (the simulator benchmark: median 0.30 of the best doses
	// without it). On problems without such trends the fitted slopes shrink towards zero.
	Stationary bool `json:"stationary,omitempty"`
	// Warp fits a Kumaraswamy input warping per continuous factor (gp.Config.Warp).
	Warp bool `json:"warp,omitempty"`
	// GPRestarts is gp.Config.Restarts for every fit (0: the gp default).
	GPRestarts int `json:"gp_restarts,omitempty"`
}

// SmoothConstraint is an input constraint c(x) ≤ 0 in unit coordinates: it returns c(x)
// and, when grad is not nil, writes into grad (len(x), zeroed by the caller) the gradient of c
// with respect to the continuous coordinates (entries of categorical coordinates are ignored).
// It should be scaled so that a violation of 1 is large (relative to the bound, say): the
// optimiser's penalty is quadratic in it. It must be safe for concurrent use.
type SmoothConstraint func(x, grad []float64) float64

// Suggestion is one suggested condition.
type Suggestion struct {
	X []float64 `json:"x"`
	// Mean and SD are the posterior mean and standard deviation of the latent value of each
	// outcome at X (no noise, no donor effect), NaN for outcomes that are not modelled.
	Mean []float64 `json:"mean"`
	SD   []float64 `json:"sd"`
	// Acquisition is the log acquisition value (LogNEI or LogNEHVI, plus the log probability
	// of feasibility) when the point was chosen, given the points chosen before it; NaN for
	// a space-filling point.
	Acquisition float64 `json:"acquisition"`
}

// ErrShortBatch is wrapped by the error Suggest returns, together with the suggestions it
// did find, when fewer distinct points than Options.Batch exist (a small categorical space,
// say, or tight input constraints).
var ErrShortBatch = errors.New("fewer distinct points than the batch size")

// distinctTol is the largest coordinate difference at which a suggestion counts as repeating
// a pending point or another suggestion.
const distinctTol = 1e-6

// sameTol is the largest coordinate difference at which two observed or pending points are
// merged into one for the fantasies (whose noise-free models cannot take two different
// values at one point).
const sameTol = 1e-9

// Suggest returns the next batch of conditions to evaluate, chosen by sequential greedy
// maximisation of LogNEI (one objective) or LogNEHVI (two), each point fantasised before the
// next is chosen. With fewer than MinTrain usable observations of a modelled outcome it
// returns space-filling points instead. When fewer than Batch distinct points can be found it
// returns those it has with an error wrapping ErrShortBatch.
func Suggest(obs []Observation, opt Options) ([]Suggestion, error) {
	st, err := prepare(obs, opt)
	if err != nil {
		return nil, err
	}
	if st.fallback {
		return st.spaceFilling()
	}
	return st.greedy()
}

// state is one Suggest call's data, models and scratch.
type state struct {
	opt      Options
	dims     []gp.Dim
	d, nOut  int
	q        int
	sp       *space
	fallback bool

	models  map[int]*gp.Model // by outcome
	scale   map[int]float64   // prior variance by outcome
	train   map[int][][]float64
	base    [][]float64 // distinct observed conditions
	signs   []float64   // per objective: +1 maximise, −1 minimise
	ref     [2]float64  // hypervolume reference, maximised orientation
	normals map[int][][]float64
}

func prepare(obs []Observation, opt Options) (*state, error) {
	st := &state{opt: opt}
	if err := st.validate(obs); err != nil {
		return nil, err
	}
	if st.fallback {
		return st, nil
	}
	if err := st.fit(obs); err != nil {
		return nil, err
	}
	return st, nil
}

func (st *state) validate(obs []Observation) error {
	opt := st.opt
	var fe clink.FieldErrors
	st.dims = opt.Dims
	if st.dims == nil {
		if len(obs) == 0 {
			fe.Addf("options.dims", "is needed when there are no observations")
			return fe.Err()
		}
		st.dims = make([]gp.Dim, len(obs[0].X))
	}
	st.d = len(st.dims)
	if st.d == 0 {
		fe.Addf("options.dims", "has no coordinates")
	}
	for j, dm := range st.dims {
		switch dm.Kind {
		case gp.Continuous:
		case gp.Categorical:
			if dm.Levels < 1 || dm.Levels > 1<<20 {
				fe.Addf(fmt.Sprintf("options.dims[%d].levels", j), "is %d, want 1 to %d", dm.Levels, 1<<20)
			}
		default:
			fe.Addf(fmt.Sprintf("options.dims[%d].kind", j), "is %d, want continuous (0) or categorical (1)", dm.Kind)
		}
	}
	if err := fe.Err(); err != nil {
		return err
	}
	for i, o := range obs {
		st.checkPoint(&fe, fmt.Sprintf("observations[%d].x", i), o.X)
		st.nOut = max(st.nOut, len(o.Y))
		for k, v := range o.Y {
			if math.IsInf(v, 0) {
				fe.Addf(fmt.Sprintf("observations[%d].y[%d]", i, k), "is %g, want a finite number or NaN (missing)", v)
			}
		}
		if len(o.SE) != 0 && len(o.SE) != len(o.Y) {
			fe.Addf(fmt.Sprintf("observations[%d].se", i), "has %d entries, want 0 or one per outcome (%d)", len(o.SE), len(o.Y))
		}
		for k, v := range o.SE {
			if v < 0 || math.IsInf(v, 0) {
				fe.Addf(fmt.Sprintf("observations[%d].se[%d]", i, k), "is %g, want a finite number >= 0 or NaN", v)
			}
		}
		if o.Group < -1 || o.Group > 1<<30 {
			fe.Addf(fmt.Sprintf("observations[%d].group", i), "is %d, want -1 (none) or a non-negative index", o.Group)
		}
	}
	switch n := len(opt.Objectives); {
	case n == 0:
		fe.Addf("options.objectives", "is empty, want one or two objectives")
	case n > 2:
		fe.Addf("options.objectives", "has %d objectives, want one or two", n)
	}
	seen := map[int]bool{}
	for i, ob := range opt.Objectives {
		if ob.Outcome < 0 || (len(obs) > 0 && ob.Outcome >= st.nOut) {
			fe.Addf(fmt.Sprintf("options.objectives[%d].outcome", i), "is %d, want an outcome index below %d", ob.Outcome, st.nOut)
		}
		if seen[ob.Outcome] {
			fe.Addf(fmt.Sprintf("options.objectives[%d].outcome", i), "repeats outcome %d", ob.Outcome)
		}
		seen[ob.Outcome] = true
		if ob.Reference != nil && (math.IsNaN(*ob.Reference) || math.IsInf(*ob.Reference, 0)) {
			fe.Addf(fmt.Sprintf("options.objectives[%d].reference", i), "is %g, want a finite number", *ob.Reference)
		}
	}
	for i, c := range opt.Constraints {
		if c.Outcome < 0 || (len(obs) > 0 && c.Outcome >= st.nOut) {
			fe.Addf(fmt.Sprintf("options.constraints[%d].outcome", i), "is %d, want an outcome index below %d", c.Outcome, st.nOut)
		}
		if math.IsNaN(c.Bound) || math.IsInf(c.Bound, 0) {
			fe.Addf(fmt.Sprintf("options.constraints[%d].bound", i), "is %g, want a finite number", c.Bound)
		}
	}
	ic := opt.InputConstraints
	if len(ic.A) != len(ic.B) {
		fe.Addf("options.input_constraints", "has %d rows in A and %d entries in B, want as many", len(ic.A), len(ic.B))
	}
	for i, row := range ic.A {
		if len(row) != st.d {
			fe.Addf(fmt.Sprintf("options.input_constraints.a[%d]", i), "has %d entries, want one per coordinate (%d)", len(row), st.d)
		}
		for _, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				fe.Addf(fmt.Sprintf("options.input_constraints.a[%d]", i), "holds %g, want finite numbers", v)
				break
			}
		}
	}
	for i, v := range ic.B {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			fe.Addf(fmt.Sprintf("options.input_constraints.b[%d]", i), "is %g, want a finite number", v)
		}
	}
	st.q = opt.Batch
	if st.q == 0 {
		st.q = 1
	}
	if st.q < 0 || st.q > 1000 {
		fe.Addf("options.batch", "is %d, want 1 to 1000", opt.Batch)
	}
	for i, p := range opt.Pending {
		st.checkPoint(&fe, fmt.Sprintf("options.pending[%d]", i), p)
	}
	if opt.Normalize < NormalizeNone || opt.Normalize > NormalizeWithinGroup {
		fe.Addf("options.normalize", "is %d, want 0 (none), 1 (random effect) or 2 (within group)", opt.Normalize)
	}
	for _, t := range []struct {
		name string
		v    int
	}{{"fantasies", opt.Fantasies}, {"raw_samples", opt.RawSamples}, {"restarts", opt.Restarts}, {"max_iter", opt.MaxIter}} {
		if t.v < 0 || t.v > 100000 {
			fe.Addf("options."+t.name, "is %d, want 0 (default) to 100000", t.v)
		}
	}
	if err := fe.Err(); err != nil {
		return err
	}
	st.sp = newSpace(st.dims, ic.A, ic.B)
	st.sp.smooth = opt.SmoothConstraints
	st.signs = make([]float64, len(opt.Objectives))
	for i, ob := range opt.Objectives {
		st.signs[i] = -1
		if ob.Maximize {
			st.signs[i] = 1
		}
	}
	// Enough data for every modelled outcome?
	for _, o := range st.outcomes() {
		n := 0
		for _, ob := range obs {
			if !ob.Failed && o < len(ob.Y) && !math.IsNaN(ob.Y[o]) {
				n++
			}
		}
		if n < MinTrain {
			st.fallback = true
		}
	}
	return nil
}

// checkPoint records what is wrong with a condition x.
func (st *state) checkPoint(fe *clink.FieldErrors, field string, x []float64) {
	if len(x) != st.d {
		fe.Addf(field, "has %d coordinates, want %d", len(x), st.d)
		return
	}
	for j, v := range x {
		switch st.dims[j].Kind {
		case gp.Categorical:
			if !(v >= 0 && v < float64(st.dims[j].Levels)) || v != math.Trunc(v) {
				fe.Addf(fmt.Sprintf("%s[%d]", field, j), "is %g, want a level index 0 to %d", v, st.dims[j].Levels-1)
			}
		default:
			if !(v >= 0 && v <= 1) {
				fe.Addf(fmt.Sprintf("%s[%d]", field, j), "is %g, want a unit coordinate in [0, 1]", v)
			}
		}
	}
}

// outcomes returns the modelled outcomes: objectives first, then constrained outcomes, each once.
func (st *state) outcomes() []int {
	var out []int
	seen := map[int]bool{}
	for _, ob := range st.opt.Objectives {
		if !seen[ob.Outcome] {
			out = append(out, ob.Outcome)
			seen[ob.Outcome] = true
		}
	}
	for _, c := range st.opt.Constraints {
		if !seen[c.Outcome] {
			out = append(out, c.Outcome)
			seen[c.Outcome] = true
		}
	}
	return out
}

// trainingData returns the inputs, responses, groups (nil when not modelled) and known noise
// variances (nil when none) of outcome o, after the requested normalisation.
func trainingData(obs []Observation, o int, norm Normalization) (X [][]float64, y []float64, groups []int, noise []float64) {
	anyGroup, anySE := false, false
	var g []int
	for _, ob := range obs {
		if ob.Failed || o >= len(ob.Y) || math.IsNaN(ob.Y[o]) {
			continue
		}
		X = append(X, ob.X)
		y = append(y, ob.Y[o])
		g = append(g, ob.Group)
		anyGroup = anyGroup || ob.Group >= 0
		var v float64
		if o < len(ob.SE) && ob.SE[o] > 0 {
			v = ob.SE[o] * ob.SE[o]
			anySE = true
		}
		noise = append(noise, v)
	}
	if !anySE {
		noise = nil
	}
	switch {
	case norm == NormalizeRandomEffect && anyGroup:
		groups = g
	case norm == NormalizeWithinGroup && anyGroup:
		sum, cnt := map[int]float64{}, map[int]int{}
		var grand float64
		for i, v := range y {
			grand += v
			if g[i] >= 0 {
				sum[g[i]] += v
				cnt[g[i]]++
			}
		}
		grand /= float64(len(y))
		for i := range y {
			if g[i] >= 0 {
				y[i] += grand - sum[g[i]]/float64(cnt[g[i]])
			}
		}
	}
	return X, y, groups, noise
}

// fitOutcome fits the GP of outcome o.
func fitOutcome(obs []Observation, opt Options, dims []gp.Dim, o int) (*gp.Model, [][]float64, error) {
	X, y, groups, noise := trainingData(obs, o, opt.Normalize)
	m, err := gp.Fit(X, y, gp.Config{Dims: dims, Groups: groups, NoiseVar: noise,
		Restarts: opt.GPRestarts, Seed: mix(opt.Seed, 100+uint64(o)), Additive: !opt.Stationary, Warp: opt.Warp})
	if err != nil {
		return nil, nil, fmt.Errorf("bo: fitting outcome %d: %w", o, err)
	}
	return m, X, nil
}

// FitOutcome fits the GP that Suggest would fit for outcome o and returns it with its
// training inputs (for PartialDependence).
func FitOutcome(obs []Observation, opt Options, o int) (*gp.Model, [][]float64, error) {
	st := &state{opt: opt}
	if opt.Objectives == nil {
		st.opt.Objectives = []Objective{{Outcome: o, Maximize: true}}
	}
	if err := st.validate(obs); err != nil {
		return nil, nil, err
	}
	if o < 0 || o >= st.nOut {
		return nil, nil, clink.Invalid("outcome", "is %d, want an outcome index below %d", o, st.nOut)
	}
	return fitOutcome(obs, opt, st.dims, o)
}

func (st *state) fit(obs []Observation) error {
	st.models = map[int]*gp.Model{}
	st.scale = map[int]float64{}
	st.train = map[int][][]float64{}
	for _, o := range st.outcomes() {
		m, X, err := fitOutcome(obs, st.opt, st.dims, o)
		if err != nil {
			return err
		}
		st.models[o] = m
		st.scale[o] = m.Hyper().Outputscale
		st.train[o] = X
	}
	// The distinct observed conditions of any modelled outcome.
	for _, o := range st.outcomes() {
		for _, x := range st.train[o] {
			st.base = appendDistinct(st.base, x, sameTol)
		}
	}
	if len(st.opt.Objectives) == 2 {
		st.ref = st.reference()
	}
	// Standard normals for the fantasies: fixed for the whole call, one set per outcome, long
	// enough for every observed, pending and suggested point.
	S := st.fantasies()
	n := len(st.base) + len(st.opt.Pending) + st.q
	st.normals = map[int][][]float64{}
	for _, o := range st.outcomes() {
		rng := newRand(st.opt.Seed, 200+uint64(o))
		z := make([][]float64, S)
		for s := range z {
			z[s] = make([]float64, n)
			for i := range z[s] {
				z[s][i] = rng.NormFloat64()
			}
		}
		st.normals[o] = z
	}
	return nil
}

// appendDistinct appends x to X unless a row within tol of it is there.
func appendDistinct(X [][]float64, x []float64, tol float64) [][]float64 {
	for _, r := range X {
		if sameX(r, x, tol) {
			return X
		}
	}
	return append(X, x)
}

func (st *state) fantasies() int {
	switch {
	case st.opt.Fantasies > 0:
		return st.opt.Fantasies
	case len(st.opt.Objectives) == 2:
		return DefaultFantasiesEHVI
	}
	return DefaultFantasies
}

// reference returns the hypervolume reference point in the maximised orientation.
func (st *state) reference() [2]float64 {
	var ref [2]float64
	var pts [][]float64
	for _, x := range st.base {
		p := make([]float64, 2)
		for k, ob := range st.opt.Objectives {
			m, _ := st.models[ob.Outcome].Predict(x)
			p[k] = st.signs[k] * m
		}
		pts = append(pts, p)
	}
	front := ParetoFront(pts)
	for k, ob := range st.opt.Objectives {
		if ob.Reference != nil {
			ref[k] = st.signs[k] * *ob.Reference
			continue
		}
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, i := range front {
			lo = math.Min(lo, pts[i][k])
			hi = math.Max(hi, pts[i][k])
		}
		span := hi - lo
		if !(span > 0) {
			span = math.Max(math.Abs(lo), 1) // one point on the front
		}
		ref[k] = lo - 0.1*span
	}
	return ref
}

// acquisition builds the log acquisition given the pending points (the caller's and those
// already chosen).
func (st *state) acquisition(pending [][]float64) (acquisition, error) {
	X := append([][]float64(nil), st.base...)
	for _, p := range pending {
		X = appendDistinct(X, p, sameTol)
	}
	S := st.fantasies()
	samples := map[int][][]float64{}
	for _, o := range st.outcomes() {
		f, err := jointSamples(st.models[o], X, st.normals[o])
		if err != nil {
			return nil, fmt.Errorf("bo: sampling outcome %d: %w", o, err)
		}
		samples[o] = f
	}
	// feasible[s][i]: does fantasy s meet every outcome constraint at point i?
	feasible := make([][]bool, S)
	for s := range feasible {
		feasible[s] = make([]bool, len(X))
		for i := range X {
			ok := true
			for _, c := range st.opt.Constraints {
				v := samples[c.Outcome][s][i]
				if (c.Upper && v > c.Bound) || (!c.Upper && v < c.Bound) {
					ok = false
					break
				}
			}
			feasible[s][i] = ok
		}
	}
	var cons []outcomeConstraint
	for _, c := range st.opt.Constraints {
		cons = append(cons, outcomeConstraint{m: st.models[c.Outcome], scale: st.scale[c.Outcome], bound: c.Bound, upper: c.Upper})
	}
	if len(st.opt.Objectives) == 1 {
		o, sign := st.opt.Objectives[0].Outcome, st.signs[0]
		fant, err := fantasies(st.models[o], st.dims, X, samples[o], sign)
		if err != nil {
			return nil, fmt.Errorf("bo: fantasy models of outcome %d: %w", o, err)
		}
		best := make([]float64, S)
		for s := range S {
			best[s] = math.Inf(-1)
			lowest := math.Inf(1)
			for i, v := range samples[o][s] {
				lowest = math.Min(lowest, sign*v)
				if feasible[s][i] {
					best[s] = math.Max(best[s], sign*v)
				}
			}
			if math.IsInf(best[s], -1) {
				// No feasible point in this fantasy: improve on a value below all of them, so
				// the acquisition is led by the probability of feasibility (as BoTorch's
				// infeasible cost does).
				best[s] = lowest - 2*math.Sqrt(st.scale[o])
			}
		}
		return newLogNEI(fant, st.scale[o], best, cons, st.d), nil
	}
	o0, o1 := st.opt.Objectives[0].Outcome, st.opt.Objectives[1].Outcome
	var fant [2]*gp.Shared
	for k, o := range []int{o0, o1} {
		m, err := fantasies(st.models[o], st.dims, X, samples[o], st.signs[k])
		if err != nil {
			return nil, fmt.Errorf("bo: fantasy models of outcome %d: %w", o, err)
		}
		fant[k] = m
	}
	fronts := make([][][2]float64, S)
	for s := range S {
		var pts [][2]float64
		for i := range X {
			if feasible[s][i] {
				pts = append(pts, [2]float64{st.signs[0] * samples[o0][s][i], st.signs[1] * samples[o1][s][i]})
			}
		}
		fronts[s] = front2(pts, st.ref)
	}
	return newLogNEHVI(fant, [2]float64{st.scale[o0], st.scale[o1]}, fronts, st.ref, cons, st.d), nil
}

func (st *state) maximizer(step int) maximizer {
	m := maximizer{raw: DefaultRawSamples, starts: DefaultRestarts, maxIter: DefaultMaxIter,
		seed: mix(st.opt.Seed, 1000+uint64(step))}
	if st.opt.RawSamples > 0 {
		m.raw = st.opt.RawSamples
	}
	if st.opt.Restarts > 0 {
		m.starts = st.opt.Restarts
	}
	if st.opt.MaxIter > 0 {
		m.maxIter = st.opt.MaxIter
	}
	return m
}

// greedy chooses the batch one point at a time.
func (st *state) greedy() ([]Suggestion, error) {
	pending := append([][]float64(nil), st.opt.Pending...)
	var out []Suggestion
	for step := range st.q {
		acq, err := st.acquisition(pending)
		if err != nil {
			return out, err
		}
		var chosen *candidate
		for _, c := range st.maximizer(step).maximize(acq, st.sp, st.nearBest(step)) {
			x := append([]float64(nil), c.x...)
			val := c.val
			if st.opt.Round != nil {
				st.opt.Round(x)
				if !sameX(x, c.x, 0) {
					if !st.valid(x) {
						continue
					}
					val = acq.eval(x, nil)
				}
			}
			if st.taken(x, pending) {
				continue
			}
			chosen = &candidate{x, val}
			break
		}
		if chosen == nil {
			break
		}
		out = append(out, st.suggestion(chosen.x, chosen.val))
		pending = append(pending, chosen.x)
	}
	if len(out) < st.q {
		return out, fmt.Errorf("bo: %w: found %d of %d", ErrShortBatch, len(out), st.q)
	}
	return out, nil
}

// Candidates near the best points: how many best points, how many perturbations of each, and
// the standard deviations of the perturbations (unit coordinates).
const (
	nearBestPoints = 5
	nearBestEach   = 40
)

var nearBestSD = []float64{0.005, 0.02, 0.08}

// nearBest returns raw candidates around the observed points whose posterior means are best
// (one objective) or Pareto-optimal (two): Gaussian perturbations of their continuous
// coordinates, clamped to the box, with their categorical coordinates kept. Space-filling
// candidates alone rarely fall close enough to the incumbent in six or more dimensions for
// the local refinement to find the acquisition's peak there (BoTorch's
// sample_around_best does the same).
func (st *state) nearBest(step int) [][]float64 {
	if len(st.sp.cont) == 0 {
		return nil
	}
	pts := make([][]float64, len(st.base))
	for i, x := range st.base {
		pts[i] = make([]float64, len(st.opt.Objectives))
		for k, ob := range st.opt.Objectives {
			m, _ := st.models[ob.Outcome].Predict(x)
			pts[i][k] = st.signs[k] * m
		}
	}
	var best []int
	if len(st.opt.Objectives) == 1 {
		idx := make([]int, len(pts))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return pts[idx[a]][0] > pts[idx[b]][0] })
		best = idx[:min(nearBestPoints, len(idx))]
	} else {
		// At most twice nearBestPoints of the front, spread along it.
		front := ParetoFront(pts)
		sort.SliceStable(front, func(a, b int) bool { return pts[front[a]][0] < pts[front[b]][0] })
		n := min(len(front), 2*nearBestPoints)
		for k := range n {
			best = append(best, front[k*len(front)/n])
		}
	}
	rng := newRand(st.opt.Seed, 3000+uint64(step))
	var out [][]float64
	for _, i := range best {
		for r := range nearBestEach {
			sd := nearBestSD[r%len(nearBestSD)]
			x := append([]float64(nil), st.base[i]...)
			for _, j := range st.sp.cont {
				x[j] = math.Min(math.Max(x[j]+sd*rng.NormFloat64(), 0), 1)
			}
			out = append(out, x)
		}
	}
	return out
}

// valid reports whether x is a point of the space that meets the input constraints.
func (st *state) valid(x []float64) bool {
	var fe clink.FieldErrors
	st.checkPoint(&fe, "x", x)
	return len(fe) == 0 && st.sp.feasible(x)
}

// taken reports whether x repeats a pending point.
func (st *state) taken(x []float64, pending [][]float64) bool {
	for _, p := range pending {
		if sameX(p, x, distinctTol) {
			return true
		}
	}
	return false
}

func (st *state) suggestion(x []float64, acq float64) Suggestion {
	s := Suggestion{X: x, Mean: make([]float64, st.nOut), SD: make([]float64, st.nOut), Acquisition: acq}
	for k := range s.Mean {
		s.Mean[k], s.SD[k] = math.NaN(), math.NaN()
		if m, ok := st.models[k]; ok {
			mu, v := m.Predict(x)
			s.Mean[k], s.SD[k] = mu, math.Sqrt(math.Max(v, 0))
		}
	}
	return s
}

// spaceFilling returns q space-filling points (for when there are too few data to fit).
func (st *state) spaceFilling() ([]Suggestion, error) {
	nOut := max(st.nOut, 1)
	pending := append([][]float64(nil), st.opt.Pending...)
	var out []Suggestion
	for _, x := range st.sp.rawCandidates(max(4*st.q, 64), mix(st.opt.Seed, 7)) {
		if len(out) == st.q {
			break
		}
		if st.opt.Round != nil {
			st.opt.Round(x)
			if !st.valid(x) {
				continue
			}
		}
		if st.taken(x, pending) {
			continue
		}
		s := Suggestion{X: x, Mean: make([]float64, nOut), SD: make([]float64, nOut), Acquisition: math.NaN()}
		for k := range s.Mean {
			s.Mean[k], s.SD[k] = math.NaN(), math.NaN()
		}
		out = append(out, s)
		pending = append(pending, x)
	}
	if len(out) < st.q {
		return out, fmt.Errorf("bo: %w: found %d of %d", ErrShortBatch, len(out), st.q)
	}
	return out, nil
}

// PartialDependence returns the partial dependence of the latent function of m on coordinate
// dim: for each grid value g, the mean over the rows x of X (the observed conditions) of
// f(x with x[dim] = g), as a posterior mean and standard deviation. The standard deviation is
// that of the average (from the joint posterior at the modified rows), not the average of the
// pointwise ones, so the band reflects the uncertainty of the curve itself.
func PartialDependence(m *gp.Model, X [][]float64, dim int, grid []float64) (mean, sd []float64, err error) {
	if m == nil {
		return nil, nil, clink.Invalid("model", "is nil")
	}
	if len(X) == 0 {
		return nil, nil, clink.Invalid("x", "is empty, want the observed conditions")
	}
	d := len(X[0])
	if dim < 0 || dim >= d {
		return nil, nil, clink.Invalid("dim", "is %d, want 0 to %d", dim, d-1)
	}
	for i, r := range X {
		if len(r) != d {
			return nil, nil, clink.Invalid(fmt.Sprintf("x[%d]", i), "has %d coordinates, want %d", len(r), d)
		}
	}
	mean = make([]float64, len(grid))
	sd = make([]float64, len(grid))
	rows := make([][]float64, len(X))
	for i, r := range X {
		rows[i] = append([]float64(nil), r...)
	}
	n := float64(len(rows))
	for gi, g := range grid {
		if math.IsNaN(g) || math.IsInf(g, 0) {
			return nil, nil, clink.Invalid(fmt.Sprintf("grid[%d]", gi), "is %g, want a finite number", g)
		}
		for _, r := range rows {
			r[dim] = g
		}
		mu, cov := m.PredictJoint(rows)
		if cov == nil {
			return nil, nil, clink.Errorf(clink.EINTERNAL, "bo: joint prediction failed at grid[%d]", gi)
		}
		var s, v float64
		for i := range rows {
			s += mu[i]
			for j := range rows {
				v += cov.At(i, j)
			}
		}
		mean[gi] = s / n
		sd[gi] = math.Sqrt(math.Max(v, 0)) / n
	}
	return mean, sd, nil
}
