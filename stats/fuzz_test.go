package stats

import (
	"encoding/json"
	"math"
	"strconv"
	"testing"

	"github.com/clink-consortium/clink"
)

// fuzzValues are the special values a fuzz byte can select; others give small multiples of 1/8.
var fuzzValues = []float64{
	math.MaxFloat64, -math.MaxFloat64, 1e300, -1e300, 1e-300, 5e-324, -1, 1e9, 1e9 + 1, math.NaN(),
}

// rowsFromBytes turns fuzz input into rows: the first byte picks the scale, then every three
// bytes are a donor (of 7), a protocol (of 5, or an empty name) and a value.
func rowsFromBytes(data []byte) ([]Row, CompareOptions) {
	var opt CompareOptions
	if len(data) > 0 {
		switch data[0] % 3 {
		case 1:
			opt.Scale = ScaleLinear
		case 2:
			opt.Scale = ScaleLog10
		}
		data = data[1:]
	}
	var rows []Row
	for ; len(data) >= 3; data = data[3:] {
		r := Row{Donor: "D" + strconv.Itoa(int(data[0]%7)), Protocol: "P" + strconv.Itoa(int(data[1]%5))}
		if data[1] == 255 {
			r.Protocol = ""
		}
		if i := int(data[2]) - (256 - len(fuzzValues)); i >= 0 {
			r.Value = fuzzValues[i]
		} else {
			r.Value = float64(data[2]) / 8
		}
		rows = append(rows, r)
	}
	return rows, opt
}

// FuzzCompare: Compare never panics, fails only with EINVALID, and its result always marshals to
// JSON (so it holds no NaN or Inf) and is consistent.
func FuzzCompare(f *testing.F) {
	f.Add([]byte{0, 1, 1, 16, 1, 2, 24, 2, 1, 17, 2, 2, 30, 3, 1, 20, 3, 2, 19})
	f.Add([]byte{1, 1, 1, 246, 1, 2, 247, 2, 1, 248, 2, 2, 249, 3, 3, 8, 3, 1, 9})
	f.Add([]byte{2, 0, 0, 8, 0, 1, 8, 1, 0, 8, 1, 1, 8, 0, 0, 8})
	f.Add([]byte{1, 0, 0, 10, 0, 1, 12, 0, 2, 14, 1, 0, 11, 1, 1, 15, 1, 2, 13, 2, 0, 9, 2, 1, 12, 2, 2, 20, 0, 0, 11})
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, opt := rowsFromBytes(data)
		c, err := Compare(rows, opt)
		if err != nil {
			if clink.ErrorCode(err) != clink.EINVALID {
				t.Fatalf("got error %v of kind %q, want EINVALID", err, clink.ErrorCode(err))
			}
			if c != nil {
				t.Fatalf("got a result with the error")
			}
			return
		}
		if _, err := json.Marshal(c); err != nil {
			t.Fatalf("json.Marshal: %v", err)
		}
		k := len(c.Protocols)
		if k < 2 || len(c.Summary) != k || c.Notes == nil || c.Friedman == nil {
			t.Fatalf("malformed result: %d protocols, %d summaries, notes %v", k, len(c.Summary), c.Notes)
		}
		if (c.Wilcoxon != nil) != (k == 2) {
			t.Fatalf("wilcoxon present = %v with %d protocols", c.Wilcoxon != nil, k)
		}
		if k >= 3 && len(c.Pairwise) != k*(k-1)/2 {
			t.Fatalf("got %d pairs, want %d", len(c.Pairwise), k*(k-1)/2)
		}
		inUnit := func(what string, p *float64) {
			if p != nil && !(*p >= 0 && *p <= 1) {
				t.Fatalf("%s: %v is not a probability", what, *p)
			}
		}
		if c.Wilcoxon != nil {
			inUnit("wilcoxon p", c.Wilcoxon.PValue)
		}
		inUnit("friedman p", c.Friedman.PValue)
		for _, p := range c.Pairwise {
			inUnit("pairwise p", p.PValue)
			inUnit("holm p", p.PHolm)
			if p.PValue != nil && *p.PHolm < *p.PValue {
				t.Fatalf("Holm p %v below the raw p %v", *p.PHolm, *p.PValue)
			}
		}
		if m := c.MixedModel; m != nil {
			if m.DonorVariance < 0 || !(m.ResidualVariance > 0) || m.ICC < 0 || m.ICC > 1 {
				t.Fatalf("mixed model variances %v, %v, ICC %v", m.DonorVariance, m.ResidualVariance, m.ICC)
			}
			if len(m.FixedEffects) != k {
				t.Fatalf("got %d fixed effects, want %d", len(m.FixedEffects), k)
			}
		}
	})
}
