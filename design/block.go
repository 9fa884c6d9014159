package design

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/clink-consortium/clink"
)

// Reference marks a reference arm in a block of a BlockDesign.
const Reference = -1

// Limits of BlockByDonor.
const (
	MaxBlockConditions = 200
	MaxDonors          = 1000
	MaxPerDonor        = 96
	defaultIterations  = 200_000
	maxIterations      = 50_000_000
)

// BlockOptions describe a donor-blocked design (domain.md §9.2): each donor's cells are split
// across PerDonor arms, References of which are the reference protocol and the rest distinct
// candidate conditions.
type BlockOptions struct {
	Conditions int // candidate conditions, numbered 0 … Conditions−1
	Donors     int // blocks
	PerDonor   int // arms per donor, reference arms included (k)
	References int // reference arms per donor; 0 means 1
	Seed       uint64
	// Iterations bounds the search when no balanced design is found early; 0 means 200,000.
	Iterations int
}

// BlockDesign assigns conditions to donors.
type BlockDesign struct {
	// Blocks holds one block per donor: References entries equal to Reference, then the
	// block's conditions in increasing order.
	Blocks [][]int `json:"blocks"`
	// Replication[i] is the number of donors condition i is given to.
	Replication []int `json:"replication"`
	// Concurrence[i][j] is the number of donors that receive both i and j (i ≠ j);
	// Concurrence[i][i] = Replication[i]. The reference arm concurs with every condition
	// in every block.
	Concurrence [][]int `json:"concurrence"`
	// PairMin and PairMax are the smallest and largest concurrence of two distinct
	// conditions (0 when there are fewer than two).
	PairMin int `json:"pair_min"`
	PairMax int `json:"pair_max"`
	// Balanced says the design is a balanced incomplete block design (every condition
	// equally replicated, every pair of conditions together equally often) or a complete
	// block design (every donor receives every condition).
	Balanced bool `json:"balanced"`
}

// BlockByDonor assigns Conditions candidate conditions to Donors donors, PerDonor arms each
// with References reference arms, so that replication is as equal as it can be (it differs by
// at most one between conditions) and the numbers of donors shared by two conditions are as
// equal as the search can make them: it minimises Σ λ_ij² over pairs, whose minimum for the
// given replication is reached by a balanced incomplete block design when one exists. The
// search is a seeded simulated annealing over exchanges of conditions between donors that
// keep replication fixed, and stops early when the pair counts are as even as arithmetic
// allows. The same options give the same design.
//
// Every block holds distinct conditions, so PerDonor − References may not exceed Conditions.
func BlockByDonor(opt BlockOptions) (*BlockDesign, error) {
	refs := opt.References
	if refs == 0 {
		refs = 1
	}
	iters := opt.Iterations
	if iters == 0 {
		iters = defaultIterations
	}
	var fe clink.FieldErrors
	if opt.Conditions < 1 || opt.Conditions > MaxBlockConditions {
		fe.Addf("conditions", "must be in 1–%d, got %d", MaxBlockConditions, opt.Conditions)
	}
	if opt.Donors < 1 || opt.Donors > MaxDonors {
		fe.Addf("donors", "must be in 1–%d, got %d", MaxDonors, opt.Donors)
	}
	if opt.PerDonor < 2 || opt.PerDonor > MaxPerDonor {
		fe.Addf("per_donor", "must be in 2–%d, got %d", MaxPerDonor, opt.PerDonor)
	}
	if refs < 1 || refs >= opt.PerDonor {
		fe.Addf("references", "must be at least 1 and leave room for a condition among the %d arms per donor, got %d", opt.PerDonor, opt.References)
	}
	if opt.Iterations < 0 || opt.Iterations > maxIterations {
		fe.Addf("iterations", "must be in 0–%d, got %d", maxIterations, opt.Iterations)
	}
	if len(fe) == 0 && opt.PerDonor-refs > opt.Conditions {
		fe.Addf("per_donor", "%d arms with %d reference arms leave %d slots per donor for only %d conditions; conditions do not repeat within a donor, so add reference arms or conditions", opt.PerDonor, refs, opt.PerDonor-refs, opt.Conditions)
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	v, b, t := opt.Conditions, opt.Donors, opt.PerDonor-refs
	rng := rand.New(rand.NewPCG(opt.Seed, 0xb10c))
	s := newBlockSearch(rng, v, b, t)
	s.anneal(iters)

	d := &BlockDesign{Blocks: make([][]int, b), Replication: make([]int, v), Concurrence: make([][]int, v)}
	for i := range v {
		d.Concurrence[i] = make([]int, v)
		copy(d.Concurrence[i], s.bestLambda[i*v:(i+1)*v])
	}
	for k, blk := range s.best {
		out := make([]int, 0, refs+t)
		for range refs {
			out = append(out, Reference)
		}
		sorted := slices.Clone(blk)
		slices.Sort(sorted)
		d.Blocks[k] = append(out, sorted...)
		for _, c := range blk {
			d.Replication[c]++
		}
	}
	for i := range v {
		d.Concurrence[i][i] = d.Replication[i]
	}
	d.PairMin, d.PairMax = math.MaxInt, 0
	for i := range v {
		for j := i + 1; j < v; j++ {
			d.PairMin = min(d.PairMin, d.Concurrence[i][j])
			d.PairMax = max(d.PairMax, d.Concurrence[i][j])
		}
	}
	if v < 2 {
		d.PairMin = 0
	}
	d.Balanced = slices.Min(d.Replication) == slices.Max(d.Replication) && d.PairMin == d.PairMax
	return d, nil
}

// blockSearch holds the state of the annealing: blocks of t distinct conditions out of v,
// the pair counts λ (v×v, symmetric) and the objective Σ_{i<j} λ_ij².
type blockSearch struct {
	rng    *rand.Rand
	v, t   int
	blocks [][]int
	in     [][]bool // in[k][c]: block k holds condition c
	lambda []int
	obj    int
	floor  int // the smallest objective the arithmetic allows

	best       [][]int
	bestLambda []int
	bestObj    int
}

func newBlockSearch(rng *rand.Rand, v, b, t int) *blockSearch {
	s := &blockSearch{rng: rng, v: v, t: t, blocks: make([][]int, b), in: make([][]bool, b), lambda: make([]int, v*v)}
	// Deal each (randomly relabelled) condition's copies to consecutive blocks: with b·t
	// slots, replication differs by at most one and no block gets a condition twice,
	// because no condition has more copies than there are blocks (t ≤ v).
	labels := rng.Perm(v)
	for k := range s.blocks {
		s.in[k] = make([]bool, v)
		s.blocks[k] = make([]int, 0, t)
	}
	for pos := range b * t {
		c, k := labels[pos*v/(b*t)], pos%b
		s.blocks[k] = append(s.blocks[k], c)
		s.in[k][c] = true
	}
	for _, blk := range s.blocks {
		for x := range blk {
			for y := x + 1; y < len(blk); y++ {
				s.add(blk[x], blk[y], 1)
			}
		}
	}
	// The pair total is fixed at b·t(t−1)/2; spread as evenly as possible over the
	// v(v−1)/2 pairs it gives the floor of Σ λ².
	pairs := v * (v - 1) / 2
	if pairs > 0 {
		total := b * t * (t - 1) / 2
		q, r := total/pairs, total%pairs
		s.floor = pairs*q*q + r*(2*q+1)
	}
	s.save()
	return s
}

// add changes λ_xy by delta and keeps the objective.
func (s *blockSearch) add(x, y, delta int) {
	l := s.lambda[x*s.v+y]
	s.obj += (l+delta)*(l+delta) - l*l
	s.lambda[x*s.v+y] += delta
	s.lambda[y*s.v+x] += delta
}

func (s *blockSearch) save() {
	s.best = make([][]int, len(s.blocks))
	for k, blk := range s.blocks {
		s.best[k] = slices.Clone(blk)
	}
	s.bestLambda = slices.Clone(s.lambda)
	s.bestObj = s.obj
}

// swap exchanges the condition at position i of block a with the one at position j of block
// c, updating λ and the objective.
func (s *blockSearch) swap(a, i, c, j int) {
	x, y := s.blocks[a][i], s.blocks[c][j]
	for p, z := range s.blocks[a] {
		if p != i {
			s.add(x, z, -1)
			s.add(y, z, 1)
		}
	}
	for p, z := range s.blocks[c] {
		if p != j {
			s.add(y, z, -1)
			s.add(x, z, 1)
		}
	}
	s.blocks[a][i], s.blocks[c][j] = y, x
	s.in[a][x], s.in[a][y] = false, true
	s.in[c][y], s.in[c][x] = false, true
}

// anneal runs simulated annealing for at most iters proposed exchanges, keeping the best
// design seen, and stops when the objective reaches its floor.
func (s *blockSearch) anneal(iters int) {
	b := len(s.blocks)
	if b < 2 || s.t == s.v || s.obj == s.floor {
		return
	}
	temp0 := 2.0
	for it := range iters {
		if s.bestObj == s.floor {
			return
		}
		a, c := s.rng.IntN(b), s.rng.IntN(b)
		if a == c {
			continue
		}
		i, j := s.rng.IntN(s.t), s.rng.IntN(s.t)
		x, y := s.blocks[a][i], s.blocks[c][j]
		if x == y || s.in[a][y] || s.in[c][x] {
			continue
		}
		before := s.obj
		s.swap(a, i, c, j)
		delta := s.obj - before
		temp := temp0 * (1 - float64(it)/float64(iters))
		if delta > 0 && (temp <= 0 || s.rng.Float64() >= math.Exp(-float64(delta)/temp)) {
			s.swap(a, i, c, j) // undo: the same exchange restores both blocks
			continue
		}
		if s.obj < s.bestObj {
			s.save()
		}
	}
}
