package bo

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/clink-consortium/clink/gp"
)

// FuzzSuggest proves that no input panics Suggest and that what it returns keeps its promises:
// valid points of the space that meet the input constraints and repeat neither each other nor
// a pending point. The first byte picks the space (bit 0: a categorical coordinate with three
// levels; bit 1: a linear constraint x0 + x1 ≤ 1.2), the objectives (bit 2: two), an outcome
// constraint (bit 3), the normalisation (bits 4–5) and the batch size (bits 6–7); the rest are
// float64 bit patterns, four per observation (x0, x1, y0, y1), the categorical level and the
// donor taken from the observation's index.
func FuzzSuggest(f *testing.F) {
	enc := func(v ...float64) []byte {
		b := make([]byte, 8*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(x))
		}
		return b
	}
	f.Add(byte(0x40), enc(0.1, 0.2, 1, 2, 0.5, 0.6, 2, 1, 0.9, 0.1, 0.5, 0.5))
	f.Add(byte(0x07), enc(0.1, 0.2, 1, 2, 0.5, 0.6, 2, 1, 0.9, 0.1, 0.5, 0.5, 0.3, 0.3, -1, 4))
	f.Add(byte(0xde), enc(0.1, 0.2, 1, math.NaN(), 0.5, 0.6, math.NaN(), 1, 0.9, 0.1, 0.5, 0.5, 0.2, 0.7, 3, 3))
	f.Add(byte(0x13), enc(0, 0, 1e300, -1e300, 1, 1, 5e-324, 0, 0, 0, 1, 1, 0, 0, 1, 1))
	f.Add(byte(0xff), enc(2, -1, math.Inf(1), 0, math.NaN(), 0.5, 1, 1))
	f.Add(byte(0x00), []byte{})
	f.Fuzz(func(t *testing.T, sel byte, raw []byte) {
		var v []float64
		for i := 0; i+8 <= len(raw) && len(v) < 4*12; i += 8 {
			v = append(v, math.Float64frombits(binary.LittleEndian.Uint64(raw[i:])))
		}
		dims := []gp.Dim{{}, {}}
		if sel&1 != 0 {
			dims = append(dims, gp.Dim{Kind: gp.Categorical, Levels: 3})
		}
		opt := Options{Dims: dims, Objectives: []Objective{{Outcome: 0, Maximize: true}}, Batch: 1 + int(sel>>6)%3,
			Normalize: Normalization(sel >> 4 & 3), Seed: uint64(sel),
			RawSamples: 16, Restarts: 1, Fantasies: 2, MaxIter: 5, GPRestarts: -1}
		if sel&2 != 0 {
			row := make([]float64, len(dims))
			row[0], row[1] = 1, 1
			opt.InputConstraints = LinearConstraints{A: [][]float64{row}, B: []float64{1.2}}
		}
		if sel&4 != 0 {
			opt.Objectives = append(opt.Objectives, Objective{Outcome: 1})
		}
		if sel&8 != 0 {
			opt.Constraints = []OutcomeConstraint{{Outcome: 1, Bound: 0.5}}
		}
		var obs []Observation
		for i := 0; i+4 <= len(v); i += 4 {
			x := []float64{v[i], v[i+1]}
			if len(dims) == 3 {
				x = append(x, float64(i/4%3))
			}
			obs = append(obs, Observation{X: x, Y: []float64{v[i+2], v[i+3]}, Group: i/4%2 - 1})
		}
		sugg, err := Suggest(obs, opt)
		if err != nil && !errors.Is(err, ErrShortBatch) {
			return
		}
		checkSuggestions(t, sugg, dims, opt.InputConstraints, nil)
	})
}
