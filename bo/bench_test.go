package bo

import (
	"testing"
)

// benchObservations are the first n points of a noisy Hartmann 6 or BraninCurrin campaign
// (scrambled Sobol points, fixed seed), with the problem's noise SD known.
func benchObservations(p Problem, n int) []Observation {
	tr := RunCampaign(p, StrategySobol, Campaign{Batch: 1, Budget: n}, 1)
	obs := make([]Observation, n)
	for i := range obs {
		obs[i] = Observation{X: tr.X[i], Y: tr.Y[i], SE: p.NoiseSD, Group: -1}
	}
	return obs
}

// BenchmarkSuggestHartmann6 is one step of the Hartmann 6 benchmark half-way through: 40
// observations, a batch of 3, default options.
func BenchmarkSuggestHartmann6(b *testing.B) {
	obs := benchObservations(NoisyHartmann6(), 40)
	opt := Options{Objectives: []Objective{{Outcome: 0, Maximize: true}}, Batch: 3, Seed: 1}
	for b.Loop() {
		if _, err := Suggest(obs, opt); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSuggestBraninCurrin is one step of the BraninCurrin benchmark half-way through: 40
// observations, a batch of 4, default options.
func BenchmarkSuggestBraninCurrin(b *testing.B) {
	p := BraninCurrinProblem()
	obs := benchObservations(p, 40)
	opt := Options{Objectives: []Objective{{Outcome: 0, Maximize: true, Reference: &p.Ref[0]}, {Outcome: 1, Maximize: true, Reference: &p.Ref[1]}}, Batch: 4, Seed: 1}
	for b.Loop() {
		if _, err := Suggest(obs, opt); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAcquisition evaluates LogNEI and LogNEHVI with their gradients at one point (40
// observations, 16 fantasies).
func BenchmarkAcquisition(b *testing.B) {
	for _, tc := range []struct {
		name string
		p    Problem
		objs []Objective
	}{
		{"LogNEI", NoisyHartmann6(), []Objective{{Outcome: 0, Maximize: true}}},
		{"LogNEHVI", BraninCurrinProblem(), []Objective{{Outcome: 0, Maximize: true, Reference: &[]float64{-18}[0]}, {Outcome: 1, Maximize: true, Reference: &[]float64{-6}[0]}}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			st, err := prepare(benchObservations(tc.p, 40), Options{Objectives: tc.objs, Seed: 1})
			if err != nil {
				b.Fatal(err)
			}
			acq, err := st.acquisition(nil)
			if err != nil {
				b.Fatal(err)
			}
			x := make([]float64, tc.p.Dims)
			for j := range x {
				x[j] = 0.37
			}
			grad := make([]float64, len(x))
			for b.Loop() {
				acq.eval(x, grad)
			}
		})
	}
}

// BenchmarkHypervolume computes the hypervolume of 100 random points in two and three
// objectives.
func BenchmarkHypervolume(b *testing.B) {
	rng := newRand(3, 0)
	for _, d := range []int{2, 3} {
		pts := make([][]float64, 100)
		for i := range pts {
			pts[i] = make([]float64, d)
			for k := range pts[i] {
				pts[i][k] = rng.Float64()
			}
		}
		ref := make([]float64, d)
		b.Run(string(rune('0'+d))+"d", func(b *testing.B) {
			for b.Loop() {
				Hypervolume(pts, ref)
			}
		})
	}
}
