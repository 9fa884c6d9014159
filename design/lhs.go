package design

import (
	"math"
	"math/rand/v2"

	"github.com/clink-consortium/clink"
)

// Limits of LatinHypercube: the values of one design, the restarts, and the size of a
// maximin search (each restart compares every pair of points).
const (
	maxLHSValues   = 1 << 25
	MaxLHSRestarts = 1000
	maxMaximinWork = 1 << 32 // restarts × n² × d
)

// LHSOptions tune LatinHypercube.
type LHSOptions struct {
	Seed uint64
	// Restarts > 0 draws that many further hypercubes and keeps the one whose closest pair of
	// points is farthest apart (maximin; Morris and Mitchell 1995, in its simplest form).
	Restarts int
}

// LatinHypercube returns n points in [0, 1)^d such that, in every dimension, each of the n
// strata [i/n, (i+1)/n) holds exactly one point (McKay, Beckman and Conover 1979). Within its
// stratum a point is uniform. The same seed gives the same design.
func LatinHypercube(n, d int, opt LHSOptions) ([][]float64, error) {
	switch {
	case n < 1:
		return nil, clink.Invalid("n", "want at least 1 point, got %d", n)
	case d < 1:
		return nil, clink.Invalid("dimensions", "want at least 1 dimension, got %d", d)
	case n > maxLHSValues/d:
		return nil, clink.Invalid("n", "%d points × %d dimensions exceeds the limit of %d values", n, d, maxLHSValues)
	case opt.Restarts < 0 || opt.Restarts > MaxLHSRestarts:
		return nil, clink.Invalid("restarts", "must be in 0–%d, got %d", MaxLHSRestarts, opt.Restarts)
	case opt.Restarts > 0 && float64(opt.Restarts)*float64(n)*float64(n)*float64(d) > maxMaximinWork:
		return nil, clink.Invalid("restarts", "a maximin search over %d points × %d dimensions with %d restarts is too large; use fewer restarts or none", n, d, opt.Restarts)
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0x1a7c))
	best := drawLHS(rng, n, d)
	if opt.Restarts == 0 {
		return best, nil
	}
	bestDist := minSquaredDistance(best)
	for range opt.Restarts {
		cand := drawLHS(rng, n, d)
		if dist := minSquaredDistance(cand); dist > bestDist {
			best, bestDist = cand, dist
		}
	}
	return best, nil
}

// drawLHS draws one Latin hypercube.
func drawLHS(rng *rand.Rand, n, d int) [][]float64 {
	flat := make([]float64, n*d)
	pts := make([][]float64, n)
	for i := range pts {
		pts[i] = flat[i*d : (i+1)*d : (i+1)*d]
	}
	perm := make([]int, n)
	for j := range d {
		for i := range perm {
			perm[i] = i
		}
		rng.Shuffle(n, func(a, b int) { perm[a], perm[b] = perm[b], perm[a] })
		for i, s := range perm {
			lo, hi := float64(s)/float64(n), float64(s+1)/float64(n)
			x := lo + rng.Float64()*(hi-lo)
			// Rounding can carry lo + u·(hi − lo) up to hi; keep the point in its stratum.
			if x >= hi {
				x = math.Nextafter(hi, lo)
			}
			pts[i][j] = max(x, lo)
		}
	}
	return pts
}

// MinDistance returns the smallest Euclidean distance between two of the points (+Inf for
// fewer than two), the criterion a maximin design makes large.
func MinDistance(points [][]float64) float64 {
	return math.Sqrt(minSquaredDistance(points))
}

func minSquaredDistance(points [][]float64) float64 {
	best := math.Inf(1)
	for i := range points {
		for j := i + 1; j < len(points); j++ {
			s := 0.0
			for k, x := range points[i] {
				if k >= len(points[j]) {
					break
				}
				dx := x - points[j][k]
				s += dx * dx
				if s >= best {
					break
				}
			}
			best = min(best, s)
		}
	}
	return best
}
