package rank

import (
	"math"
	"testing"
)

// TestDoseTable reproduces the table of domain.md §8.1 (doses of 7×10⁸ NK = 1×10⁷/kg × 70 kg):
//   - 10⁸ PBMC with 10 % NK × 850-fold (Granzin et al. 2015) × 0.8 × 0.95 = 6.46×10⁹ → 9 doses;
//   - an apheresis with up to 1.9×10¹⁰ NK (Lapteva et al. 2012), no expansion or process loss,
//     × 0.95 = 1.805×10¹⁰ → 25 doses;
//   - the median apheresis, 1.4×10¹⁰ NK (Motais et al. 2021), × 0.95 = 1.33×10¹⁰ → 19 doses.
//
// The same culture at 1×10⁶ NK/kg (doses of 7×10⁷) gives 92 doses (6.46×10⁹/7×10⁷ = 92.3).
func TestDoseTable(t *testing.T) {
	tests := []struct {
		name       string
		fraction   float64
		fold       float64
		opt        Options
		wantNK     float64
		wantDoses  int
		wantDoseSz float64
	}{
		{"PBMC × 850-fold", 0.1, 850, Options{}, 6.46e9, 9, 7e8},
		{"apheresis 1.9e10", 1, 1, Options{DonorUnitCells: 1.9e10, ProcessRecovery: 1}, 1.805e10, 25, 7e8},
		{"apheresis 1.4e10", 1, 1, Options{DonorUnitCells: 1.4e10, ProcessRecovery: 1}, 1.33e10, 19, 7e8},
		{"PBMC × 850-fold at 1e6/kg", 0.1, 850, Options{DosePerKg: 1e6}, 6.46e9, 92, 7e7},
		{"no growth", 0.1, 0, Options{}, 0, 0, 7e8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nk := NKAvailable(tc.fraction, tc.fold, tc.opt)
			if math.Abs(nk-tc.wantNK) > 1e-9*tc.wantNK {
				t.Errorf("NK available: got %g, want %g", nk, tc.wantNK)
			}
			if got := DoseCells(tc.opt); got != tc.wantDoseSz {
				t.Errorf("dose size: got %g, want %g", got, tc.wantDoseSz)
			}
			if got := DosesPerDonor(nk, tc.opt); got != tc.wantDoses {
				t.Errorf("doses: got %d, want %d", got, tc.wantDoses)
			}
		})
	}
}

func TestDosesPerDonorEdges(t *testing.T) {
	tests := []struct {
		name string
		nk   float64
		opt  Options
		want int
	}{
		{"exactly one dose", 7e8, Options{}, 1},
		{"one cell short", 7e8 - 1, Options{}, 0},
		{"negative", -1e9, Options{}, 0},
		{"NaN", math.NaN(), Options{}, 0},
		{"+Inf", math.Inf(1), Options{}, math.MaxInt},
		{"beyond MaxInt", 1e300, Options{}, math.MaxInt},
		{"negative dose option", 1e9, Options{DosePerKg: -1}, 0},
		{"heavier patient", 1.4e9, Options{WeightKg: 100}, 1}, // 1.4e9 / 1e9
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := DosesPerDonor(tc.nk, tc.opt); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}

// TestTCellLimitedDose reproduces domain.md §8.2: with a cap of 1×10⁵ CD3+/kg, a product with
// 95 % NK and 5 % T cells is limited to about 1.9×10⁶ NK/kg (1e5 × 95/5), and at 1×10⁷ NK/kg at
// most 1 T cell per 100 NK is allowed (99 % / 0.99 % → 1×10⁷).
func TestTCellLimitedDose(t *testing.T) {
	tests := []struct {
		name          string
		purity, tcell float64
		spec          Spec
		want          float64
	}{
		{"95 % NK, 5 % T", 95, 5, Spec{}, 1.9e6},
		{"1 T per 100 NK", 99, 0.99, Spec{}, 1e7},
		{"published alternative cap 2e5", 95, 5, Spec{MaxTCellsPerKg: 2e5}, 3.8e6},
		{"no T cells", 90, 0, Spec{}, math.Inf(1)},
		{"not a percentage", 120, 5, Spec{}, math.NaN()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := TCellLimitedDosePerKg(tc.purity, tc.tcell, tc.spec)
			switch {
			case math.IsNaN(tc.want):
				if !math.IsNaN(got) {
					t.Errorf("got %g, want NaN", got)
				}
			case math.IsInf(tc.want, 0):
				if got != tc.want {
					t.Errorf("got %g, want %g", got, tc.want)
				}
			default:
				if math.Abs(got-tc.want) > 1e-9*tc.want {
					t.Errorf("got %g, want %g", got, tc.want)
				}
			}
		})
	}
}
