package gp

import (
	"cmp"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/lapack/lapack64"
	"gonum.org/v1/gonum/optimize"
)

// evaluator computes the log marginal likelihood of the standardised observations and its
// gradient with respect to the log hyperparameters. It precomputes, for every pair i < j of
// observations (in row-major order of the upper triangle), the squared differences of the
// continuous coordinates and the mismatches of the categorical ones, stored coordinate by
// coordinate so that the sums over coordinates are vector operations. An evaluation costs
// O(n²d) for the kernel and its gradient plus O(n³) for the Cholesky factorisation and the
// inverse.
type evaluator struct {
	d     *data
	npair int
	d2    [][]float64       // per continuous coordinate k, per pair: (x_ik − x_jk)²
	mis   [][]float64       // per categorical coordinate, per pair: 1 when the levels differ
	same  []bool            // per pair: i and j share a group
	lin   []float64         // per pair: Σ_k (x_ik − ½)(x_jk − ½), nil without the additive part
	linD  []float64         // per observation: Σ_k (x_ik − ½)², nil without the additive part
	match []float64         // per pair: the number of categorical coordinates that agree, ditto
	r2    []float64         // per pair: scaled squared distance r², then scratch
	h     []float64         // per pair: Σ_j mis_j/ℓ_j, then scratch
	kf    []float64         // per pair: s² k(x_i, x_j)
	gc    []float64         // per pair: s² c(x_i, x_j) (5/3)(1 + √5 r) e^(−√5 r), c the categorical factor
	K     blas64.Symmetric  // upper triangle of the covariance matrix
	u     blas64.Triangular // its Cholesky factor U (K + jitter·I = UᵀU)
	inv   blas64.Triangular // scratch for (K + jitter·I)⁻¹, upper triangle
	ones  []float64
}

func newEvaluator(d *data) *evaluator {
	n := d.n()
	np := n * (n - 1) / 2
	e := &evaluator{d: d, npair: np}
	e.d2 = make([][]float64, len(d.cont))
	for c := range e.d2 {
		e.d2[c] = make([]float64, np)
	}
	e.mis = make([][]float64, len(d.cat))
	for c := range e.mis {
		e.mis[c] = make([]float64, np)
	}
	e.same = make([]bool, np)
	if d.additive {
		e.lin = make([]float64, np)
		e.match = make([]float64, np)
		e.linD = make([]float64, n)
		for i := range n {
			e.linD[i] = d.linDot(d.X[i], d.X[i])
		}
	}
	e.r2 = make([]float64, np)
	e.h = make([]float64, np)
	e.kf = make([]float64, np)
	e.gc = make([]float64, np)
	p := 0
	for i := range n {
		for j := i + 1; j < n; j++ {
			for c, k := range d.cont {
				t := d.X[i][k] - d.X[j][k]
				e.d2[c][p] = t * t
			}
			for c, k := range d.cat {
				if d.X[i][k] != d.X[j][k] {
					e.mis[c][p] = 1
				}
			}
			e.same[p] = d.groups != nil && d.groups[i] >= 0 && d.groups[i] == d.groups[j]
			if e.lin != nil {
				e.lin[p] = d.linDot(d.X[i], d.X[j])
				e.match[p] = d.matches(d.X[i], d.X[j])
			}
			p++
		}
	}
	e.K = blas64.Symmetric{Uplo: blas.Upper, N: n, Stride: n, Data: make([]float64, n*n)}
	e.u = blas64.Triangular{Uplo: blas.Upper, Diag: blas.NonUnit, N: n, Stride: n, Data: make([]float64, n*n)}
	e.inv = blas64.Triangular{Uplo: blas.Upper, Diag: blas.NonUnit, N: n, Stride: n, Data: make([]float64, n*n)}
	e.ones = make([]float64, n)
	for i := range e.ones {
		e.ones[i] = 1
	}
	return e
}

// clone returns an evaluator for the same data that shares the precomputed, read-only pair
// data and has scratch buffers of its own.
func (e *evaluator) clone() *evaluator {
	n := e.d.n()
	c := *e
	c.r2 = make([]float64, e.npair)
	c.h = make([]float64, e.npair)
	c.kf = make([]float64, e.npair)
	c.gc = make([]float64, e.npair)
	c.K.Data = make([]float64, n*n)
	c.u.Data = make([]float64, n*n)
	c.inv.Data = make([]float64, n*n)
	return &c
}

// Indices of the log-hyperparameter gradient after the length scales.
const (
	gS2 = iota
	gNoise
	gGroup
	gLin
	gMain
	nExtra
)

// eval returns the log marginal likelihood of z under p in standardised units (without the
// −n log ys of the change of units) and, when grad is not nil, fills grad (len(ls) + nExtra)
// with its partial derivatives with respect to log ℓ, log s², log σ², log σ_g² and, with a
// linear kernel, log v (grad then needs len(ls) + nExtra entries, else one fewer). When profile
// is true the mean is its generalised least squares value, which eval returns; else p.mean.
// ok is false when the covariance matrix cannot be factorised.
func (e *evaluator) eval(p params, profile bool, grad []float64) (lml, mean float64, ok bool) {
	d := e.d
	n := d.n()
	nk := len(d.cat)
	clear(e.r2)
	for c, k := range d.cont {
		floats.AddScaled(e.r2, 1/(p.ls[k]*p.ls[k]), e.d2[c])
	}
	if nk > 0 {
		clear(e.h)
		for c, k := range d.cat {
			floats.AddScaled(e.h, 1/(float64(nk)*p.ls[k]), e.mis[c])
		}
	}
	raw := e.K
	q := 0
	for i := range n {
		row := raw.Data[i*raw.Stride : i*raw.Stride+n]
		for j := i + 1; j < n; j++ {
			r2 := e.r2[q]
			mk, gk := matern52Grad(math.Sqrt(r2), r2)
			cf := p.s2
			if nk > 0 {
				cf *= math.Exp(-e.h[q])
			}
			kf := cf * mk
			e.kf[q] = kf
			e.gc[q] = cf * gk
			if e.same[q] {
				kf += p.gvar
			}
			if e.lin != nil {
				kf += p.lin*e.lin[q] + p.main*e.match[q]
			}
			row[j] = kf
			q++
		}
		v := p.s2 + p.noise
		if d.groups != nil && d.groups[i] >= 0 {
			v += p.gvar
		}
		if d.nv != nil {
			v += d.nv[i]
		}
		if e.linD != nil {
			v += p.lin*e.linD[i] + p.main*float64(nk)
		}
		row[i] = v
	}
	if !e.factorize() {
		return 0, 0, false
	}
	a := e.solve(d.z)
	mean = p.mean
	var alpha []float64
	if profile {
		b := e.solve(e.ones)
		mean = floats.Sum(a) / floats.Sum(b)
		alpha = a
		floats.AddScaled(alpha, -mean, b)
	} else {
		r := make([]float64, n)
		for i, z := range d.z {
			r[i] = z - mean
		}
		alpha = e.solve(r)
	}
	var quad float64
	for i, z := range d.z {
		quad += (z - mean) * alpha[i]
	}
	var logDet float64
	for i := range n {
		logDet += 2 * math.Log(e.u.Data[i*e.u.Stride+i])
	}
	lml = -0.5*quad - 0.5*logDet - 0.5*float64(n)*math.Log(2*math.Pi)
	if math.IsNaN(lml) || math.IsInf(lml, 0) {
		return 0, 0, false
	}
	if grad == nil {
		return lml, mean, true
	}

	// ∂L/∂θ = ½ tr(W ∂K/∂θ) with W = ααᵀ − K⁻¹. Per pair, w = 2W_ij (both triangles);
	// r2 and h are reused for w·gc and w·kf.
	copy(e.inv.Data, e.u.Data)
	if _, ok := lapack64.Potri(e.inv); !ok {
		return 0, 0, false
	}
	clear(grad)
	inv := e.inv
	wg, wk := e.r2, e.h
	var gg, trW, trWg, gl, gm float64
	q = 0
	for i := range n {
		row := inv.Data[i*inv.Stride : i*inv.Stride+n]
		ai := alpha[i]
		wii := ai*ai - row[i]
		trW += wii
		if d.groups != nil && d.groups[i] >= 0 {
			trWg += wii
		}
		if e.linD != nil {
			gl += wii * e.linD[i]
		}
		for j := i + 1; j < n; j++ {
			w := 2 * (ai*alpha[j] - row[j])
			wg[q] = w * e.gc[q]
			wk[q] = w * e.kf[q]
			if e.same[q] {
				gg += w
			}
			if e.lin != nil {
				gl += w * e.lin[q]
				gm += w * e.match[q]
			}
			q++
		}
	}
	for c, k := range d.cont {
		grad[k] = 0.5 * floats.Dot(wg, e.d2[c]) / (p.ls[k] * p.ls[k])
	}
	for c, k := range d.cat {
		grad[k] = 0.5 * floats.Dot(wk, e.mis[c]) / (float64(nk) * p.ls[k])
	}
	ld := d.dim()
	grad[ld+gS2] = 0.5 * (floats.Sum(wk) + p.s2*trW)
	grad[ld+gNoise] = 0.5 * p.noise * trW
	grad[ld+gGroup] = 0.5 * p.gvar * (gg + trWg)
	if e.lin != nil { // grad has room for them
		grad[ld+gLin] = 0.5 * p.lin * gl
		grad[ld+gMain] = 0.5 * p.main * (gm + float64(nk)*trW)
	}
	return lml, mean, true
}

// factorize computes the Cholesky factor of K into u, adding jitter as factor.factorize does
// (but without its condition estimate, which would cost as much as a third of the
// factorisation). It reports whether a factor was found.
func (e *evaluator) factorize() bool {
	n := e.K.N
	var mean float64
	for i := range n {
		mean += e.K.Data[i*e.K.Stride+i] / float64(n)
	}
	for jf := 0.0; jf <= maxJitterFactor*1.0001; {
		copy(e.u.Data, e.K.Data)
		for i := range n {
			e.u.Data[i*e.u.Stride+i] += jf * mean
		}
		if _, ok := lapack64.Potrf(blas64.Symmetric{Uplo: blas.Upper, N: n, Stride: e.u.Stride, Data: e.u.Data}); ok {
			return true
		}
		if jf == 0 {
			jf = 1e-10
		} else {
			jf *= 10
		}
	}
	return false
}

// solve returns (K + jitter·I)⁻¹b.
func (e *evaluator) solve(b []float64) []float64 {
	x := append([]float64(nil), b...)
	v := blas64.Vector{N: len(x), Inc: 1, Data: x}
	blas64.Trsv(blas.Trans, e.u, v)
	blas64.Trsv(blas.NoTrans, e.u, v)
	return x
}

// gammaPrior is a Gamma(shape, rate) prior on a positive hyperparameter θ.
type gammaPrior struct{ shape, rate float64 }

// logPdf returns log p(θ) up to a constant and its derivative with respect to log θ.
func (g gammaPrior) logPdf(theta float64) (lp, dlog float64) {
	return (g.shape-1)*math.Log(theta) - g.rate*theta, (g.shape - 1) - g.rate*theta
}

// The priors of the package documentation.
var (
	priorContLS   = gammaPrior{3, 6}
	priorCatLS    = gammaPrior{2, 1}
	priorOutput   = gammaPrior{2, 0.15}
	priorNoise    = gammaPrior{1.1, 0.05}
	priorGroupVar = gammaPrior{1.1, 0.05}
	priorLinear   = gammaPrior{2, 0.5}
	priorMain     = gammaPrior{2, 0.5}
)

// freeParam is one coordinate of the optimisation: a log hyperparameter with its index in
// the gradient layout of eval, its bounds and prior.
type freeParam struct {
	idx    int
	lo, hi float64 // log bounds
	prior  gammaPrior
	start  float64 // log of the default start
	rlo    float64 // log range of random starts
	rhi    float64
}

// objective is the function L-BFGS minimises: −(log marginal likelihood + log prior) at the
// hyperparameters clamped to their bounds, plus a quadratic penalty outside the bounds.
type objective struct {
	e          *evaluator
	free       []freeParam
	fixedNoise float64 // standardised; used when noise is not free
	grad       []float64
	last       []float64 // the point of the cached value
	lastF      float64
	lastG      []float64
}

// penaltyWeight is the curvature of the penalty outside the bounds (per log unit squared).
const penaltyWeight = 10

func newObjective(d *data, cfg Config) *objective {
	o := &objective{e: newEvaluator(d), fixedNoise: cfg.FixedNoise / (d.ys * d.ys)}
	ld := d.dim()
	lg := math.Log
	for k, dm := range d.dims {
		if dm.Kind == Continuous {
			o.free = append(o.free, freeParam{idx: k, lo: lg(MinLengthscale), hi: lg(MaxLengthscale), prior: priorContLS,
				start: lg(0.5), rlo: lg(0.05), rhi: lg(2)})
		} else {
			o.free = append(o.free, freeParam{idx: k, lo: lg(MinLengthscale), hi: lg(MaxLengthscale), prior: priorCatLS,
				start: lg(1), rlo: lg(0.1), rhi: lg(10)})
		}
	}
	o.free = append(o.free, freeParam{idx: ld + gS2, lo: lg(MinOutputscale), hi: lg(MaxOutputscale), prior: priorOutput,
		start: 0, rlo: lg(0.1), rhi: lg(10)})
	if cfg.FixedNoise == 0 {
		o.free = append(o.free, freeParam{idx: ld + gNoise, lo: lg(MinNoise), hi: lg(MaxNoise), prior: priorNoise,
			start: lg(0.05), rlo: lg(1e-4), rhi: lg(0.5)})
	}
	if d.groups != nil {
		o.free = append(o.free, freeParam{idx: ld + gGroup, lo: lg(MinGroupVar), hi: lg(MaxGroupVar), prior: priorGroupVar,
			start: lg(0.1), rlo: lg(1e-3), rhi: lg(1)})
	}
	if d.additive && len(d.cont) > 0 {
		o.free = append(o.free, freeParam{idx: ld + gLin, lo: lg(MinLinear), hi: lg(MaxLinear), prior: priorLinear,
			start: lg(1), rlo: lg(1e-3), rhi: lg(10)})
	}
	if d.additive && len(d.cat) > 0 {
		o.free = append(o.free, freeParam{idx: ld + gMain, lo: lg(MinMain), hi: lg(MaxMain), prior: priorMain,
			start: lg(0.1), rlo: lg(1e-3), rhi: lg(1)})
	}
	o.grad = make([]float64, ld+nExtra)
	o.lastG = make([]float64, len(o.free))
	return o
}

// startAt sets u to the log of h (original units) in standardised units, within the bounds.
// Zero or missing values keep what u has.
func (o *objective) startAt(u []float64, h Hyper) {
	d := o.e.d
	s2 := d.ys * d.ys
	for f, fp := range o.free {
		var v float64
		switch {
		case fp.idx < d.dim():
			v = h.Lengthscales[fp.idx]
		case fp.idx == d.dim()+gS2:
			v = h.Outputscale / s2
		case fp.idx == d.dim()+gNoise:
			v = h.Noise / s2
		case fp.idx == d.dim()+gGroup:
			v = h.GroupVar / s2
		case fp.idx == d.dim()+gLin:
			v = h.Linear / s2
		default:
			v = h.Main / s2
		}
		if v > 0 && !math.IsInf(v, 0) {
			u[f] = min(max(math.Log(v), fp.lo), fp.hi)
		}
	}
}

// params returns the hyperparameters at the optimisation point u (clamped to the bounds).
func (o *objective) params(u []float64) params {
	d := o.e.d
	p := params{ls: make([]float64, d.dim()), noise: o.fixedNoise}
	for f, fp := range o.free {
		v := math.Exp(min(max(u[f], fp.lo), fp.hi))
		switch {
		case fp.idx < d.dim():
			p.ls[fp.idx] = v
		case fp.idx == d.dim()+gS2:
			p.s2 = v
		case fp.idx == d.dim()+gNoise:
			p.noise = v
		case fp.idx == d.dim()+gGroup:
			p.gvar = v
		case fp.idx == d.dim()+gLin:
			p.lin = v
		default:
			p.main = v
		}
	}
	return p
}

// value computes the objective and its gradient at u into lastF and lastG.
func (o *objective) value(u []float64) {
	o.last = append(o.last[:0], u...)
	p := o.params(u)
	lml, _, ok := o.e.eval(p, true, o.grad)
	if !ok {
		o.lastF = math.Inf(1)
		for f := range o.lastG {
			o.lastG[f] = 0
		}
		return
	}
	F := -lml
	for f, fp := range o.free {
		c := min(max(u[f], fp.lo), fp.hi)
		lp, dlp := fp.prior.logPdf(math.Exp(c))
		F -= lp
		g := 0.0
		if u[f] == c {
			g = -(o.grad[fp.idx] + dlp)
		} else {
			F += 0.5 * penaltyWeight * (u[f] - c) * (u[f] - c)
			g = penaltyWeight * (u[f] - c)
		}
		o.lastG[f] = g
	}
	o.lastF = F
}

func (o *objective) cached(u []float64) bool {
	if len(o.last) != len(u) {
		return false
	}
	for i := range u {
		if u[i] != o.last[i] {
			return false
		}
	}
	return true
}

func (o *objective) problem() optimize.Problem {
	return optimize.Problem{
		Func: func(u []float64) float64 {
			if !o.cached(u) {
				o.value(u)
			}
			return o.lastF
		},
		Grad: func(g, u []float64) {
			if !o.cached(u) {
				o.value(u)
			}
			copy(g, o.lastG)
		},
	}
}

// Optimiser settings. The tolerances locate the optimum to far better than the uncertainty of
// the hyperparameters (about 1e-3 in log units). Every start first gets screenIterations
// L-BFGS iterations; the keepBest best of them are then run to convergence.
const (
	maxIterations    = 200
	screenIterations = 8
	keepBest         = 2
	gradTol          = 1e-4
	funcTol          = 1e-6
)

// run is the outcome of one L-BFGS run: the point reached (nil when the start failed), the
// objective there and whether it converged.
type run struct {
	u    []float64
	f    float64
	done bool
}

// minimise runs L-BFGS from u for at most iters iterations.
func (o *objective) minimise(u []float64, iters int) run {
	settings := &optimize.Settings{
		GradientThreshold: gradTol,
		MajorIterations:   iters,
		Converger:         &optimize.FunctionConverge{Absolute: funcTol, Relative: funcTol, Iterations: 3},
	}
	o.last = o.last[:0]
	res, err := optimize.Minimize(o.problem(), u, settings, &optimize.LBFGS{})
	if res == nil || !(res.F < math.Inf(1)) {
		return run{f: math.Inf(1)}
	}
	done := err == nil && res.Status != optimize.IterationLimit
	return run{u: append([]float64(nil), res.X...), f: res.F, done: done}
}

// minimiseAll runs minimise from every start, on up to GOMAXPROCS goroutines (each with its
// own copy of the objective's buffers). The result of a start does not depend on which
// goroutine runs it, so the outcome is deterministic.
func (o *objective) minimiseAll(starts [][]float64, iters int) []run {
	out := make([]run, len(starts))
	workers := min(runtime.GOMAXPROCS(0), len(starts))
	if workers <= 1 {
		for i, u := range starts {
			out[i] = o.minimise(u, iters)
		}
		return out
	}
	objs := []*objective{o}
	for range workers - 1 {
		objs = append(objs, o.clone())
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for _, ow := range objs {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(starts) {
					return
				}
				out[i] = ow.minimise(starts[i], iters)
			}
		})
	}
	wg.Wait()
	return out
}

// clone returns an objective for the same problem with buffers of its own.
func (o *objective) clone() *objective {
	c := *o
	c.e = o.e.clone()
	c.grad = make([]float64, len(o.grad))
	c.last = nil
	c.lastG = make([]float64, len(o.lastG))
	return &c
}

// optimise finds the MAP hyperparameters of d (standardised units) from the default start and
// cfg.Restarts random ones. To keep the cost of many starts down, each start is first
// optimised for a few iterations only, and the most promising ones are then optimised to
// convergence: on a unimodal problem all starts head for the same optimum, and on a
// multimodal one a few iterations usually show which basins are better.
func optimise(d *data, cfg Config) (params, error) {
	o := newObjective(d, cfg)
	restarts := cfg.Restarts
	if restarts == 0 {
		restarts = DefaultRestarts
	}
	restarts = max(restarts, 0)
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed_6a55_1a4e))
	starts := make([][]float64, 0, restarts+1)
	u0 := make([]float64, len(o.free))
	for f, fp := range o.free {
		u0[f] = fp.start
	}
	if cfg.Start != nil {
		o.startAt(u0, *cfg.Start)
	}
	starts = append(starts, u0)
	for range restarts {
		u := make([]float64, len(o.free))
		for f, fp := range o.free {
			u[f] = fp.rlo + (fp.rhi-fp.rlo)*rng.Float64()
		}
		starts = append(starts, u)
	}

	var runs []run
	for _, r := range o.minimiseAll(starts, screenIterations) {
		if r.u != nil {
			runs = append(runs, r)
		}
	}
	if len(runs) == 0 {
		// Every start failed: the matrix is not positive definite anywhere we looked.
		_, err := newModel(d, o.params(u0))
		if err == nil {
			err = ErrNotPositiveDefinite
		}
		return params{}, err
	}
	slices.SortStableFunc(runs, func(a, b run) int { return cmp.Compare(a.f, b.f) })
	var more [][]float64
	for _, r := range runs[:min(keepBest, len(runs))] {
		if !r.done {
			more = append(more, r.u)
		}
	}
	best := runs[0]
	for _, r := range o.minimiseAll(more, maxIterations) {
		if r.u != nil && r.f < best.f {
			best = r
		}
	}
	p := o.params(best.u)
	_, mean, ok := o.e.eval(p, true, nil)
	if !ok {
		_, err := newModel(d, p)
		return params{}, err
	}
	p.mean = mean
	return p, nil
}
