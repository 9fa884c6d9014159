package lsq

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"
)

// careless is y = a x^b that reports every value as defined, NaN and ±Inf included: the
// solver must cope with models that do not say where they are not defined.
func careless(p []float64, x float64, grad []float64) (float64, bool) {
	v := math.Pow(x, p[1])
	if grad != nil {
		grad[0] = v
		grad[1] = p[0] * v * math.Log(x)
	}
	return p[0] * v, true
}

// fuzzModels are the models FuzzFit draws from, with their numbers of parameters.
var fuzzModels = []struct {
	f  func([]float64, float64, []float64) (float64, bool)
	np int
}{
	{expRise, 2}, {expDecay, 2}, {logistic3, 3}, {michaelisMenten, 2}, {fourPL, 4}, {careless, 2},
}

// encodeFloats packs values as FuzzFit reads them.
func encodeFloats(v ...float64) []byte {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(x))
	}
	return b
}

// FuzzFit proves that no input panics Fit or StdErrors, and that what they return keeps its
// promises: a converged fit is finite and within its bounds, a failed one is finite or absent
// with Converged false, standard errors are finite. The first byte picks the model (low
// nibble) and options (bounds, fallback, budget); then come float64 bit patterns: the start,
// the bounds when chosen, and x, y pairs.
func FuzzFit(f *testing.F) {
	f.Add(byte(0x00), encodeFloats(0.5, 1, 1.25, 0.125, 2.5, 0.233, 5, 0.406, 10, 0.629, 20, 0.818))
	f.Add(byte(0x10), encodeFloats(0.5, 1, 0, 0, 1, math.Inf(1), 1.25, 0.2, 2.5, 0.3, 5, 0.5, 10, 0.8))
	f.Add(byte(0x24), encodeFloats(0, 1, 1, 1, 0.3125, 0.068, 0.625, 0.071, 1.25, 0.153, 2.5, 0.288, 5, 0.492, 10, 0.698))
	f.Add(byte(0x43), encodeFloats(100, 1, 0.02, 76, 0.06, 97, 0.11, 123, 0.22, 159, 0.56, 191, 1.1, 207))
	f.Add(byte(0x75), encodeFloats(1, -2, 0, 1, -1, 2, 1e308, math.NaN(), 5e-324, 3))
	f.Add(byte(0x02), encodeFloats(1e300, 1e-300, 1e300, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11))
	f.Fuzz(func(t *testing.T, sel byte, raw []byte) {
		fm := fuzzModels[int(sel&0x0f)%len(fuzzModels)]
		var v []float64
		for i := 0; i+8 <= len(raw) && len(v) < 2*fm.np+128; i += 8 {
			v = append(v, math.Float64frombits(binary.LittleEndian.Uint64(raw[i:])))
		}
		take := func(k int) []float64 {
			if len(v) < k {
				return nil
			}
			out := v[:k]
			v = v[k:]
			return out
		}
		p0 := take(fm.np)
		var o Options
		if sel&0x10 != 0 {
			o.Lower, o.Upper = take(fm.np), take(fm.np)
		}
		if sel&0x20 != 0 && p0 != nil {
			o.Fallback = &Fallback{Z0: p0, ToP: func(z []float64) []float64 { return append([]float64(nil), z...) }}
		}
		budget := int(sel>>6) * 10
		if sel&0x40 != 0 {
			o.Budget = &budget
		}
		o.MaxIter = 200
		var m Model
		m.F = fm.f
		for len(v) >= 2 {
			m.X, m.Y = append(m.X, v[0]), append(m.Y, v[1])
			v = v[2:]
		}

		res, err := Fit(m, p0, o)
		var ie *InputError
		switch {
		case errors.As(err, &ie):
			if res.P != nil || res.Converged {
				t.Fatalf("input error %v with a result %+v", err, res)
			}
			return
		case err == nil:
			if !res.Converged {
				t.Fatalf("no error but not converged: %+v", res)
			}
			for j, p := range res.P {
				if (o.Lower != nil && p < o.Lower[j]) || (o.Upper != nil && p > o.Upper[j]) {
					t.Fatalf("P[%d] = %g outside [%v, %v]", j, p, o.Lower, o.Upper)
				}
			}
		default:
			if res.Converged {
				t.Fatalf("error %v but converged: %+v", err, res)
			}
		}
		if budget < 0 {
			t.Fatalf("budget overspent: %d", budget)
		}
		if res.P == nil {
			if !errors.Is(err, ErrStart) {
				t.Fatalf("no point, error %v: want ErrStart", err)
			}
			return
		}
		checkFinite(t, "P", res.P)
		if math.IsNaN(res.RSS) || math.IsInf(res.RSS, 0) || res.RSS < 0 || len(res.Active) != len(res.P) {
			t.Fatalf("got RSS %g and %d active flags for %d parameters", res.RSS, len(res.Active), len(res.P))
		}
		se, err := StdErrors(m, res.P)
		if err == nil {
			checkFinite(t, "StdErrors", se)
		}
	})
}
