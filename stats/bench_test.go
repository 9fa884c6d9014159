package stats

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// benchRows makes nDonors × nProtocols rows of realistic log-normal yields: log10 value =
// 2.5 + donor effect (SD 0.3) + protocol effect (SD 0.1) + noise (SD 0.1), with a fixed seed.
func benchRows(nDonors, nProtocols int) []Row {
	rng := rand.New(rand.NewPCG(2024, 4))
	beta := make([]float64, nProtocols)
	for p := range beta {
		beta[p] = 0.1 * rng.NormFloat64()
	}
	rows := make([]Row, 0, nDonors*nProtocols)
	for d := range nDonors {
		u := 0.3 * rng.NormFloat64()
		for p := range nProtocols {
			v := math.Pow(10, 2.5+u+beta[p]+0.1*rng.NormFloat64())
			rows = append(rows, Row{Donor: fmt.Sprintf("D%03d", d), Protocol: fmt.Sprintf("P%03d", p), Value: v})
		}
	}
	return rows
}

// BenchmarkCompare100x100 runs the whole comparison on 100 protocols × 100 donors: 4,950
// pairwise Wilcoxon tests, Friedman and the mixed model.
func BenchmarkCompare100x100(b *testing.B) {
	rows := benchRows(100, 100)
	for b.Loop() {
		if _, err := Compare(rows, CompareOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMixedModel fits the mixed model alone: on the balanced 100 × 100 design, and on an
// unbalanced one (about a fifth of the cells missing, some with a second row) where nearly every
// donor has its own pattern of counts.
func BenchmarkMixedModel(b *testing.B) {
	rows := benchRows(100, 100)
	for _, tc := range []struct {
		name string
		keep func(i int, rng *rand.Rand) int // rows to keep for row i: 0, 1 or 2
	}{
		{"balanced", func(int, *rand.Rand) int { return 1 }},
		{"unbalanced", func(_ int, rng *rand.Rand) int {
			switch u := rng.Float64(); {
			case u < 0.2:
				return 0
			case u < 0.3:
				return 2
			}
			return 1
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(7, 7))
			var y []float64
			var donor, protocol []int
			for i, r := range rows {
				for range tc.keep(i, rng) {
					y = append(y, math.Log10(r.Value))
					donor = append(donor, i/100)
					protocol = append(protocol, i%100)
				}
			}
			names := make([]string, 100)
			for p := range names {
				names[p] = fmt.Sprintf("P%03d", p)
			}
			for b.Loop() {
				if _, err := FitRandomIntercept(y, donor, protocol, names); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
