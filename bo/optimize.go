package bo

import (
	"math"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/gonum/optimize"

	"github.com/clink-consortium/clink/design"
	"github.com/clink-consortium/clink/gp"
)

// maxEnumerate is the largest number of categorical level combinations that the optimiser
// enumerates (optimising the continuous coordinates of each); beyond it, categorical and
// continuous steps alternate.
const maxEnumerate = 32

// space is the search space of the acquisition optimiser: the unit box of the continuous
// coordinates, the levels of the categorical ones, the linear constraints A x ≤ b and the
// smooth constraints c(x) ≤ 0.
type space struct {
	dims      []gp.Dim
	cont, cat []int
	A         [][]float64
	b         []float64
	smooth    []SmoothConstraint
}

func newSpace(dims []gp.Dim, A [][]float64, b []float64) *space {
	sp := &space{dims: dims, A: A, b: b}
	for j, d := range dims {
		if d.Kind == gp.Categorical {
			sp.cat = append(sp.cat, j)
		} else {
			sp.cont = append(sp.cont, j)
		}
	}
	return sp
}

// constraintTol is the slack allowed in A x ≤ b for rounding.
const constraintTol = 1e-9

// feasible reports whether x meets the linear and smooth constraints.
func (sp *space) feasible(x []float64) bool {
	for i, row := range sp.A {
		if dot(row, x) > sp.b[i]+constraintTol {
			return false
		}
	}
	for _, c := range sp.smooth {
		if !(c(x, nil) <= constraintTol) {
			return false
		}
	}
	return true
}

// violation returns Σ_i max(0, a_i·x − b_i)² + Σ_c max(0, c(x))² and, when grad is not nil,
// adds its gradient.
func (sp *space) violation(x, grad []float64) float64 {
	var v float64
	for i, row := range sp.A {
		e := dot(row, x) - sp.b[i]
		if e <= 0 {
			continue
		}
		v += e * e
		for j := range grad {
			grad[j] += 2 * e * row[j]
		}
	}
	var cg []float64
	for _, c := range sp.smooth {
		if grad != nil {
			if cg == nil {
				cg = make([]float64, len(x))
			}
			clear(cg)
		}
		e := c(x, cg)
		if math.IsNaN(e) {
			e = 1 // a constraint that cannot say is not met
		}
		if e <= 0 {
			continue
		}
		v += e * e
		for j := range grad {
			if !math.IsNaN(cg[j]) {
				grad[j] += 2 * e * cg[j]
			}
		}
	}
	return v
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// combinations returns the number of categorical level combinations, capped at cap+1.
func (sp *space) combinations(cap int) int {
	n := 1
	for _, j := range sp.cat {
		n *= max(sp.dims[j].Levels, 1)
		if n > cap {
			return cap + 1
		}
	}
	return n
}

// combination writes combination number c (mixed radix over the categorical coordinates) into x.
func (sp *space) combination(c int, x []float64) {
	for _, j := range sp.cat {
		l := max(sp.dims[j].Levels, 1)
		x[j] = float64(c % l)
		c /= l
	}
}

// toSpace maps a point u of the unit cube onto the space: categorical coordinates become the
// level floor(u·levels).
func (sp *space) toSpace(u []float64) []float64 {
	x := append([]float64(nil), u...)
	for _, j := range sp.cat {
		l := max(sp.dims[j].Levels, 1)
		x[j] = math.Min(math.Floor(u[j]*float64(l)), float64(l-1))
	}
	return x
}

// rawCandidates returns up to n feasible points: space-filling points of the unit cube
// (from unitPoints) mapped onto the space, infeasible ones rejected, drawing again up to
// twenty times as many as asked.
func (sp *space) rawCandidates(n int, seed uint64) [][]float64 {
	var out [][]float64
	for round := uint64(0); round < 20 && len(out) < n; round++ {
		for _, u := range unitPoints(n, len(sp.dims), mix(seed, round)) {
			x := sp.toSpace(u)
			if sp.feasible(x) {
				out = append(out, x)
				if len(out) == n {
					break
				}
			}
		}
	}
	return out
}

// candidate is a point with its log acquisition value.
type candidate struct {
	x   []float64
	val float64
}

// maximizer settings.
type maximizer struct {
	raw     int // raw candidates evaluated
	starts  int // best raw candidates refined by L-BFGS
	maxIter int // L-BFGS iterations per start
	seed    uint64
}

// maximize returns the refined local optima of f found from the best raw candidates (o.raw
// space-filling points and the points of extra that are feasible), best first. Every point returned is in the space and meets its linear constraints. It returns
// nothing when no raw candidate is feasible.
func (o maximizer) maximize(f acquisition, sp *space, extra [][]float64) []candidate {
	raw := sp.rawCandidates(o.raw, o.seed)
	for _, x := range extra {
		if sp.feasible(x) {
			raw = append(raw, x)
		}
	}
	if len(raw) == 0 {
		return nil
	}
	combos := sp.combinations(maxEnumerate)
	var pool []candidate
	var starts []candidate
	switch {
	case len(sp.cat) == 0 || combos > maxEnumerate:
		for _, x := range raw {
			pool = append(pool, candidate{x, f.eval(x, nil)})
		}
		sortCandidates(pool)
		starts = pool[:min(o.starts, len(pool))]
	default:
		// Enumerate the combinations: each raw point's continuous part under every
		// combination, then the best of each combination plus the best overall as starts.
		per := max(o.raw/combos, 16)
		for c := range combos {
			var best candidate
			best.val = math.Inf(-1)
			for i, r := range raw {
				if i >= per && len(sp.cont) > 0 {
					break
				}
				x := append([]float64(nil), r...)
				sp.combination(c, x)
				if !sp.feasible(x) {
					continue
				}
				cd := candidate{x, f.eval(x, nil)}
				pool = append(pool, cd)
				if best.x == nil || cd.val > best.val {
					best = cd
				}
				if len(sp.cont) == 0 {
					break
				}
			}
			if best.x != nil {
				starts = append(starts, best)
			}
		}
		sortCandidates(pool)
		starts = append(starts, pool[:min(o.starts, len(pool))]...)
	}
	if len(sp.cont) == 0 && combos <= maxEnumerate {
		return dedupe(pool)
	}
	var out []candidate
	for _, s := range starts {
		if combos > maxEnumerate {
			out = append(out, o.alternate(f, sp, s))
		} else {
			out = append(out, o.refine(f, sp, s))
		}
	}
	// The best unrefined raw points follow as fall-backs for when the optima coincide with
	// points already chosen.
	out = append(out, pool[:min(len(pool), 64)]...)
	sortCandidates(out)
	return dedupe(out)
}

func sortCandidates(c []candidate) {
	sort.SliceStable(c, func(i, j int) bool {
		a, b := c[i].val, c[j].val
		if math.IsNaN(b) {
			return !math.IsNaN(a)
		}
		return a > b
	})
}

// dedupe drops candidates equal to an earlier one.
func dedupe(c []candidate) []candidate {
	var out []candidate
	for _, cd := range c {
		dup := false
		for _, o := range out {
			if sameX(o.x, cd.x, 1e-9) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, cd)
		}
	}
	return out
}

// sameX reports whether a and b differ by at most tol in every coordinate.
func sameX(a, b []float64, tol float64) bool {
	for j := range a {
		if math.Abs(a[j]-b[j]) > tol {
			return false
		}
	}
	return true
}

// penaltyWeight multiplies the squared violation of the linear constraints in the objective
// that L-BFGS sees; points that violate them are never returned.
const penaltyWeight = 1e4

// refine climbs f from start over the continuous coordinates with L-BFGS, the categorical ones
// fixed. The box is handled by the smooth reparameterisation x = (1 − cos u)/2, which maps
// the real line onto [0,1] (bounds are reachable and are stationary points in u); the linear
// constraints by a quadratic penalty. It returns the best feasible point it evaluated.
func (o maximizer) refine(f acquisition, sp *space, start candidate) candidate {
	d := len(sp.dims)
	nc := len(sp.cont)
	if nc == 0 || math.IsInf(start.val, -1) || math.IsNaN(start.val) {
		return start
	}
	best := candidate{append([]float64(nil), start.x...), start.val}
	x := append([]float64(nil), start.x...)
	gx := make([]float64, d)
	u0 := make([]float64, nc)
	for k, j := range sp.cont {
		v := math.Min(math.Max(start.x[j], 1e-6), 1-1e-6)
		u0[k] = math.Acos(1 - 2*v)
	}
	var lastU, lastG []float64
	var lastF float64
	evaluate := func(u []float64) {
		if lastU != nil && sameX(lastU, u, 0) {
			return
		}
		for k, j := range sp.cont {
			x[j] = (1 - math.Cos(u[k])) / 2
		}
		v := f.eval(x, gx)
		if !(v > math.Inf(-1)) || math.IsNaN(v) {
			lastU = append(lastU[:0], u...)
			lastF = 1e300
			lastG = make([]float64, nc)
			return
		}
		for j := range gx {
			gx[j] = -gx[j]
		}
		pen := sp.violation(x, nil)
		if pen == 0 && v > best.val {
			best = candidate{append([]float64(nil), x...), v}
		}
		if pen > 0 {
			pg := make([]float64, d)
			sp.violation(x, pg)
			for j := range gx {
				gx[j] += penaltyWeight * pg[j]
			}
		}
		lastU = append(lastU[:0], u...)
		lastF = -v + penaltyWeight*pen
		if lastG == nil || len(lastG) != nc {
			lastG = make([]float64, nc)
		}
		for k, j := range sp.cont {
			lastG[k] = gx[j] * math.Sin(u[k]) / 2
		}
	}
	p := optimize.Problem{
		Func: func(u []float64) float64 { evaluate(u); return lastF },
		Grad: func(g, u []float64) { evaluate(u); copy(g, lastG) },
	}
	settings := &optimize.Settings{
		MajorIterations:   o.maxIter,
		FuncEvaluations:   4 * o.maxIter,
		GradientThreshold: 1e-6,
		Converger:         &optimize.FunctionConverge{Absolute: 1e-7, Relative: 1e-9, Iterations: 8},
	}
	// Errors (a failed line search, say) only end the climb: best holds what was found.
	_, _ = optimize.Minimize(p, u0, settings, &optimize.LBFGS{})
	return best
}

// alternate improves start by turns: continuous coordinates by refine, then each categorical
// coordinate by trying all its levels, until a round changes nothing (at most five rounds).
func (o maximizer) alternate(f acquisition, sp *space, start candidate) candidate {
	cur := start
	for range 5 {
		cur = o.refine(f, sp, cur)
		changed := false
		for _, j := range sp.cat {
			for l := range sp.dims[j].Levels {
				if float64(l) == cur.x[j] {
					continue
				}
				y := append([]float64(nil), cur.x...)
				y[j] = float64(l)
				if !sp.feasible(y) {
					continue
				}
				if v := f.eval(y, nil); v > cur.val+1e-12 {
					cur = candidate{y, v}
					changed = true
				}
			}
		}
		if !changed {
			break
		}
	}
	return cur
}

// mix derives a new seed from a seed and a stream number (SplitMix64's finaliser).
func mix(seed, stream uint64) uint64 {
	z := seed ^ (stream+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// newRand returns a PCG generator for a seed and stream.
func newRand(seed, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, mix(seed, stream)))
}

// unitPoints returns n points of [0,1)^d for a seed: a scrambled Sobol sequence (package
// design), or uniform random points beyond its 128 dimensions.
func unitPoints(n, d int, seed uint64) [][]float64 {
	if pts, err := design.Sobol(n, d, design.SobolOptions{Scramble: true, Seed: seed}); err == nil {
		return pts
	}
	rng := newRand(seed, 0)
	out := make([][]float64, n)
	for i := range out {
		p := make([]float64, d)
		for j := range p {
			p[j] = rng.Float64()
		}
		out[i] = p
	}
	return out
}
