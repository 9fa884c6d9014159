package gp

import "math"

// Input warping: each continuous coordinate x ∈ [0, 1] may be mapped by the Kumaraswamy
// distribution function w(x) = 1 − (1 − x^a)^b before the kernel sees it (Snoek et al. 2014,
// "Input warping for Bayesian optimization of non-stationary functions"; BoTorch's Warp
// transform). a < 1 stretches the region near 0, b < 1 the region near 1, so that a function
// that is steep at one end of a factor's range and flat elsewhere gets a short length scale
// where it is steep. {1, 1} is the identity.

// warpX returns x with its continuous coordinates warped (x itself when d has no warp).
func (d *data) warpX(x []float64) []float64 {
	if d.warp == nil {
		return x
	}
	out := append([]float64(nil), x...)
	for _, k := range d.cont {
		out[k] = kumaraswamy(x[k], d.warp[k])
	}
	return out
}

// kumaraswamy is w(x) for the parameters ab = {a, b}, with x clamped to [0, 1].
func kumaraswamy(x float64, ab [2]float64) float64 {
	if ab == [2]float64{1, 1} {
		return x
	}
	x = math.Min(math.Max(x, 0), 1)
	return -math.Expm1(ab[1] * math.Log1p(-math.Pow(x, ab[0])))
}

// kumaraswamyDeriv is w′(x) = a b x^(a−1) (1 − x^a)^(b−1), with x kept at least 1e-9 from the
// bounds (where it is infinite for a < 1 or b < 1).
func kumaraswamyDeriv(x float64, ab [2]float64) float64 {
	if ab == [2]float64{1, 1} {
		return 1
	}
	x = math.Min(math.Max(x, 1e-9), 1-1e-9)
	xa := math.Pow(x, ab[0])
	return ab[0] * ab[1] * xa / x * math.Pow(1-xa, ab[1]-1)
}

// warpGrid are the warps Fit tries per continuous coordinate with Config.Warp.
var warpGrid = [][2]float64{{1, 1}, {0.5, 1}, {2, 1}, {1, 0.5}, {1, 2}, {0.5, 0.5}, {2, 2}, {0.5, 2}, {2, 0.5}}

// warpLogPrior is the log density of the LogNormal(0, 0.75) prior on a and b (BoTorch's Warp
// default), up to a constant.
func warpLogPrior(ab [2]float64) float64 {
	var lp float64
	for _, v := range ab {
		l := math.Log(v)
		lp += -l - l*l/(2*0.75)
	}
	return lp
}

// fitWarped fits a model per warp of each continuous coordinate in turn (coordinate search
// over warpGrid, starting from no warp) and keeps the one with the highest log marginal
// likelihood plus log prior of the warp.
func fitWarped(X [][]float64, y []float64, cfg Config) (*Model, error) {
	cfg.Warp = false
	best, err := Fit(X, y, cfg)
	if err != nil {
		return nil, err
	}
	dim := best.d.dim()
	warp := make([][2]float64, dim)
	for k := range warp {
		warp[k] = [2]float64{1, 1}
	}
	score := best.lml
	for _, k := range best.d.cont {
		cur := warp[k]
		for _, ab := range warpGrid {
			if ab == cur {
				continue
			}
			w := append([][2]float64(nil), warp...)
			w[k] = ab
			c := cfg
			c.warp = w
			m, err := Fit(X, y, c)
			if err != nil {
				continue
			}
			var prior float64
			for _, j := range best.d.cont {
				prior += warpLogPrior(w[j])
			}
			if s := m.lml + prior; s > score {
				best, score, warp = m, s, w
			}
		}
	}
	return best, nil
}
