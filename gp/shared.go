package gp

import (
	"fmt"
	"math"

	"github.com/clink-consortium/clink"
)

// Shared is a set of models with the same inputs, configuration and hyperparameters and
// different observed values: the fantasy models of noisy expected improvement, each conditioned
// on one joint sample of the latent function. They share one factorisation of the covariance
// matrix, so the posterior variance is the same for all of them and a prediction costs one
// variance and one dot product per model, where S separate models cost S variances.
type Shared struct {
	m     *Model
	alpha [][]float64 // K⁻¹(z_s − μ) per model, standardised as m's data
}

// FitShared returns the models conditioned on (X, Y[s]) for each s with the hyperparameters h,
// as FitWith(X, Y[s], cfg, h) would, up to rounding. Y must have at least one row.
func FitShared(X [][]float64, Y [][]float64, cfg Config, h Hyper) (*Shared, error) {
	if len(Y) == 0 {
		return nil, clink.Invalid("y", "no values: want at least one vector")
	}
	m, err := FitWith(X, Y[0], cfg, h)
	if err != nil {
		return nil, err
	}
	sh := &Shared{m: m, alpha: make([][]float64, len(Y))}
	sh.alpha[0] = m.fac.alpha
	r := make([]float64, m.d.n())
	for s := 1; s < len(Y); s++ {
		if len(Y[s]) != len(X) {
			return nil, clink.Invalid("y", "vector %d has %d values, X has %d rows", s, len(Y[s]), len(X))
		}
		for i, v := range Y[s] {
			if math.IsNaN(v) || !(math.Abs(v) <= maxAbsY) {
				return nil, clink.Invalid("y", "vector %d, entry %d is %g, want a finite number of magnitude at most %g", s, i, v, maxAbsY)
			}
			r[i] = (v-m.d.ym)/m.d.ys - m.p.mean
		}
		a := m.fac.solve(r)
		for _, v := range a {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("gp: %w (the weights of vector %d are not finite)", ErrNotPositiveDefinite, s)
			}
		}
		sh.alpha[s] = a
	}
	return sh, nil
}

// Len returns the number of models.
func (sh *Shared) Len() int { return len(sh.alpha) }

// Model returns the first model (conditioned on Y[0]).
func (sh *Shared) Model() *Model { return sh.m }

// Predict fills mean (Len entries) with each model's posterior mean of the latent f(x) and
// returns the posterior variance they share, original units; NaN when x is not valid.
func (sh *Shared) Predict(x []float64, mean []float64) (variance float64) {
	m := sh.m
	if !m.validX(x) || len(mean) != len(sh.alpha) {
		for i := range mean {
			mean[i] = math.NaN()
		}
		return math.NaN()
	}
	return m.at(x, sh.alpha, mean)
}

// PredictGrad is Predict that also fills dmean[s] (one slice of len(x) per model) and dvar
// with the derivatives with respect to the continuous coordinates of x, as Model.PredictGrad
// does. With an invalid x or slices of the wrong lengths everything is NaN.
func (sh *Shared) PredictGrad(x []float64, mean []float64, dmean [][]float64, dvar []float64) (variance float64) {
	m := sh.m
	dim := m.d.dim()
	ok := m.validX(x) && len(mean) == len(sh.alpha) && len(dmean) == len(sh.alpha) && len(dvar) == dim
	for _, g := range dmean {
		ok = ok && len(g) == dim
	}
	if !ok {
		for i := range mean {
			mean[i] = math.NaN()
		}
		for _, s := range append([][]float64{dvar}, dmean...) {
			for i := range s {
				s[i] = math.NaN()
			}
		}
		return math.NaN()
	}
	return m.gradAt(x, sh.alpha, mean, dmean, dvar)
}
