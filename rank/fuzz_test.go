package rank

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/stats"
)

// fuzzBytes hands out the fuzzer's bytes, then zeros.
type fuzzBytes []byte

func (f *fuzzBytes) next() byte {
	if len(*f) == 0 {
		return 0
	}
	b := (*f)[0]
	*f = (*f)[1:]
	return b
}

// fuzzSpecials are values at limits, outside them, or not numbers at all.
var fuzzSpecials = []float64{0, -1, math.NaN(), math.Inf(1), math.Inf(-1), 1e308, 5e-324, 70, 100, 20, 1e5, 0.8, 1}

// value turns a byte into a number: mostly ordinary magnitudes, sometimes a special.
func (f *fuzzBytes) value() float64 {
	b := f.next()
	if int(b) < 2*len(fuzzSpecials) {
		return fuzzSpecials[int(b)%len(fuzzSpecials)]
	}
	return float64(b) * math.Pow(10, float64(f.next()%8)-2) / 2
}

// ptrValue is nil for one byte value in four.
func (f *fuzzBytes) ptrValue() *float64 {
	if f.next()%4 == 0 {
		return nil
	}
	v := f.value()
	return &v
}

// FuzzRank checks that no input panics, that every error is EINVALID, and that every ranking
// is consistent and marshals to JSON (so holds only finite numbers).
func FuzzRank(f *testing.F) {
	f.Add([]byte{3, 0, 0, 0, 0, 0, 0, 5, 1, 2, 200, 3, 200, 4, 150, 5, 180, 6, 190, 7, 90, 8, 40})
	f.Add([]byte("some bytes that make a few outcomes with odd values in them, and options"))
	f.Add(make([]byte, 64))
	f.Fuzz(func(t *testing.T, raw []byte) {
		in := fuzzBytes(raw)
		var opt Options
		if flags := in.next(); flags&1 != 0 {
			opt.DosePerKg, opt.WeightKg = in.value(), in.value()
		}
		if flags := in.next(); flags&1 != 0 {
			opt.ProcessRecovery, opt.QCFraction, opt.DonorUnitCells = in.value()/100, in.value()/100, in.value()
			opt.Spec = Spec{in.value(), in.value(), in.value(), in.value()}
		}
		opt.Bootstrap = stats.BootstrapOptions{Resamples: 1 + int(in.next()%30), Seed: uint64(in.next())}
		nProtocols := 1 + int(in.next()%4)
		var outcomes []Outcome
		for i := 0; len(in) > 0 && i < 64; i++ {
			o := Outcome{
				Culture:  fmt.Sprintf("C%d", in.next()),
				Donor:    fmt.Sprintf("D%d", in.next()%6),
				Protocol: fmt.Sprintf("P%d", int(in.next())%nProtocols),
			}
			o.StartingNKFraction = in.value() / 100
			o.NKFold, o.PurityPct, o.ViabilityPct = in.ptrValue(), in.ptrValue(), in.ptrValue()
			o.TCellPct, o.LU30, o.LU20, o.K562LysisAt20 = in.ptrValue(), in.ptrValue(), in.ptrValue(), in.ptrValue()
			outcomes = append(outcomes, o)
		}

		r, err := Rank(outcomes, opt)
		if err != nil {
			if clink.ErrorCode(err) != clink.EINVALID || r != nil {
				t.Fatalf("got %v, %v; want nil and an EINVALID error", r, err)
			}
			return
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatalf("JSON: %v", err)
		}
		if r.Notes == nil || r.Protocols == nil || r.Front == nil {
			t.Fatalf("got nil notes, protocols or front: %+v", r)
		}
		onFront := 0
		for k, s := range r.Protocols {
			if s.OnFront {
				if k >= len(r.Front) || r.Front[k] != s.Protocol {
					t.Fatalf("front %v: protocol %s at %d is on it out of order", r.Front, s.Protocol, k)
				}
				onFront++
			}
			if s.EligibleShare != nil && !(*s.EligibleShare >= 0 && *s.EligibleShare <= 1) {
				t.Fatalf("%s: eligible share %g outside [0, 1]", s.Protocol, *s.EligibleShare)
			}
			for _, ci := range []*stats.BootstrapCI{s.NKFold, s.LU30} {
				if ci != nil && !(ci.Low <= ci.High) {
					t.Fatalf("%s: interval %+v has its ends reversed", s.Protocol, ci)
				}
			}
		}
		if onFront != len(r.Front) {
			t.Fatalf("got %d protocols marked on the front, want %d", onFront, len(r.Front))
		}
	})
}
