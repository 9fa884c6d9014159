package design

import "testing"

// BenchmarkSobol draws 100,000 points of the 10-dimensional Sobol sequence.
func BenchmarkSobol(b *testing.B) {
	for b.Loop() {
		if _, err := Sobol(100_000, 10, SobolOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSobolScrambled draws the same points with the linear matrix scramble and digital
// shift, whose cost is in setting up the scrambled direction numbers.
func BenchmarkSobolScrambled(b *testing.B) {
	for b.Loop() {
		if _, err := Sobol(100_000, 10, SobolOptions{Scramble: true, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLatinHypercube draws 10,000 points in 10 dimensions.
func BenchmarkLatinHypercube(b *testing.B) {
	for b.Loop() {
		if _, err := LatinHypercube(10_000, 10, LHSOptions{Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLatinHypercubeMaximin draws a 60-point, 10-dimensional design (the 5d–10d initial
// design of domain.md §9.2 for d = 6–12) as the best of 100 hypercubes.
func BenchmarkLatinHypercubeMaximin(b *testing.B) {
	for b.Loop() {
		if _, err := LatinHypercube(60, 10, LHSOptions{Seed: 1, Restarts: 99}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBlockByDonor searches a design of 20 conditions on 12 donors × 6 arms (one
// reference), where no BIBD exists and the search runs its full 200,000 iterations.
func BenchmarkBlockByDonor(b *testing.B) {
	for b.Loop() {
		if _, err := BlockByDonor(BlockOptions{Conditions: 20, Donors: 12, PerDonor: 6, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}
