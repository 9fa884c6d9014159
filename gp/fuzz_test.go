package gp

import (
	"math"
	"testing"
)

// fuzzValues are the special values a fuzz byte can select; others give multiples of 1/16.
var fuzzValues = []float64{math.MaxFloat64, -math.MaxFloat64, 1e300, -1e300, 1e-300, 5e-324, -1, 1e9, math.NaN(), math.Inf(1)}

func fuzzValue(b byte) float64 {
	if i := int(b) - (256 - len(fuzzValues)); i >= 0 {
		return fuzzValues[i]
	}
	return float64(b) / 16
}

// inputFromBytes turns fuzz input into a problem: the first bytes pick the coordinates (up to
// 3, each continuous or categorical with up to 3 levels), the flags (groups, known noise, fixed
// noise) and hyperparameters; then every dim+1 bytes are a row and its y.
func inputFromBytes(data []byte) (X [][]float64, y []float64, cfg Config, h Hyper) {
	next := func() byte {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return b
	}
	dim := int(next()%3) + 1
	for range dim {
		b := next()
		if b%2 == 1 {
			cfg.Dims = append(cfg.Dims, Dim{Kind: Categorical, Levels: int(b/2) % 4})
		} else {
			cfg.Dims = append(cfg.Dims, Dim{})
		}
	}
	flags := next()
	h.Lengthscales = make([]float64, dim)
	for k := range h.Lengthscales {
		h.Lengthscales[k] = fuzzValue(next())
	}
	h.Outputscale, h.Noise, h.Mean = fuzzValue(next()), fuzzValue(next()), fuzzValue(next())
	if flags&4 != 0 {
		cfg.FixedNoise = fuzzValue(next())
	}
	for i := 0; len(data) >= dim+1 && i < 8; i++ {
		row := make([]float64, dim)
		for k := range row {
			b := next()
			if cfg.Dims[k].Kind == Categorical {
				row[k] = float64(b % 4)
			} else {
				row[k] = fuzzValue(b)
			}
		}
		X = append(X, row)
		y = append(y, fuzzValue(next()))
		if flags&1 != 0 {
			cfg.Groups = append(cfg.Groups, int(flags>>4)%3-1+i%2)
		}
		if flags&2 != 0 {
			cfg.NoiseVar = append(cfg.NoiseVar, float64(i)/8)
		}
	}
	if flags&1 != 0 {
		h.GroupVar = 0.5
	}
	cfg.Restarts = -1
	return X, y, cfg, h
}

// FuzzFit feeds arbitrary problems to Fit and FitWith and the models to every method: nothing
// may panic, and a model's predictions at its own rows are finite numbers with a variance
// >= 0.
func FuzzFit(f *testing.F) {
	f.Add([]byte{0, 0, 0, 16, 16, 8, 0, 8, 16, 4, 24, 8})
	f.Add([]byte{1, 0, 7, 3, 8, 8, 32, 16, 1, 0, 1, 8, 16, 2, 24, 4, 0, 0})
	f.Add([]byte{2, 1, 2, 5, 8, 4, 3, 1, 100, 255, 250, 2, 1, 0, 254, 3, 0, 1, 9})
	f.Add([]byte{0, 2, 7, 8, 2, 0, 40, 1, 2, 1, 2, 1, 2})
	f.Add([]byte{0, 0, 1, 246, 16, 8, 8, 16, 16, 1, 246, 247})
	f.Fuzz(func(t *testing.T, data []byte) {
		X, y, cfg, h := inputFromBytes(data)
		probe := func(m *Model) {
			for _, x := range X {
				mean, vr := m.Predict(x)
				if math.IsNaN(mean) || math.IsInf(mean, 0) || math.IsNaN(vr) || vr < 0 {
					t.Fatalf("Predict(%v): got (%g, %g), want a finite mean and a variance >= 0", x, mean, vr)
				}
				dm, dv := make([]float64, len(x)), make([]float64, len(x))
				m.PredictGrad(x, dm, dv)
			}
			m.PredictJoint(X)
			m.Predict([]float64{1e308, -1e308, 0.5})
			if c, err := m.Condition(X[:1], y[:1]); err == nil {
				c.Predict(X[0])
			}
			m.Hyper()
			m.LogMarginalLikelihood()
		}
		if m, err := FitWith(X, y, cfg, h); err == nil {
			probe(m)
		}
		if m, err := Fit(X, y, cfg); err == nil {
			probe(m)
		}
	})
}
