package sim

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// donorFolds simulates p on n donors drawn from the default donor model (with their
// donor × protocol interaction) and returns the sorted folds at the end of the culture.
func donorFolds(tb testing.TB, p Protocol, n int, seed uint64) []float64 {
	tb.Helper()
	m := DefaultDonorModel()
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]float64, n)
	for i := range out {
		d, err := m.DrawDonor(r, HCMVSpain)
		if err != nil {
			tb.Fatal(err)
		}
		tr, err := Simulate(p, d.For(p.Name, m.InteractionSD), DefaultParams(), 1e6)
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = tr.Fold(p.Days)
	}
	slices.Sort(out)
	return out
}

// TestFamiliesWithDonorEffects simulates each protocol family over 2,000 donors with all the
// donor effects of §5.7 and checks that the median fold lands in the published range (the
// §5.6 acceptance window where the row is a calibration anchor) and, where the paper gives
// the donor range, that the 1st-99th percentiles span it.
func TestFamiliesWithDonorEffects(t *testing.T) {
	if testing.Short() {
		t.Skip("2,000 donors per family")
	}
	tests := []struct {
		name           string
		p              Protocol
		medLo, medHi   float64 // published range of the median (source in the name)
		spanLo, spanHi float64 // published donor range, 0 when not given
	}{
		{"§3 row 1, Liu 2021: purified NK, IL-2 alone, 14 d, about 5 (§5.6 2.5-10)",
			Protocol{Name: "il2", Start: PurifiedNK, IL2: 500, Class: CytokineOnly, Days: 14}, 2.5, 10, 0, 0},
		{"§3 row 19, Luhm 2002: irradiated PBMC + IL-2 + IL-15, 14 d, 80-200",
			Protocol{Name: "pbmc", Start: PurifiedNK, IL2: 500, IL15: 10, Class: PBMCFeeder, FeederRatio: 2, Days: 14}, 80, 200, 0, 0},
		{"§3 row 4, Fujisaki 2009: PBMC, K562-mb15-41BBL + IL-2 10, 7 d, median 21.6 (5.1-86.6, n = 50; §5.6 11-43)",
			Protocol{Name: "k562", Start: PBMC, IL2: 10, Class: K562mb15, FeederRatio: 2, Days: 7}, 11, 43, 5.1, 86.6},
		{"§3 row 13: PBMC, EBV-LCL + IL-2 100 + IL-15 5, 14 d, 625 ± 63 (§5.6 310-1,250)",
			Protocol{Name: "lcl15", Start: PBMC, IL2: 100, IL15: 5, Class: LCLFeeder, FeederRatio: 2, Days: 14}, 310, 1250, 0, 0},
		{"§3 row 8, Denman 2012: K562-mbIL21 + IL-2 50, restim d7 + d14, 21 d, mean 47,967 (§5.6 24,000-96,000)",
			Protocol{Name: "mb21", Start: PBMC, IL2: 50, Class: K562mb21, FeederRatio: 2, Restim: []int{7, 14}, Days: 21}, 24000, 96000, 0, 0},
		{"§3 row 11, Granzin 2015: enriched NK, EBV-LCL + IL-2 500, 14 d, mean 850 (§5.6 425-1,700)",
			Protocol{Name: "lcl", Start: PurifiedNK, IL2: 500, Class: LCLFeeder, FeederRatio: 2, Days: 14}, 425, 1700, 0, 0},
		{"§3 row 25, Griffe 2007: PBMC + ABP dendrimer + IL-2, 21 d, up to about 500",
			Protocol{Name: "abp", Start: PBMC, IL2: 500, DendrimerUM: 20, Class: CytokineOnly, Days: 21}, 1, 500, 0, 0},
		{"§3 row 29, Romee 2016: IL-12/15/18 pre-activation then low-dose IL-2, not an expansion (below row 1's 5)",
			Protocol{Name: "ml", Start: PurifiedNK, IL2: 50, IL15: 1, Preactivated: true, Class: CytokineOnly, Days: 14}, 0.5, 5, 0, 0},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			folds := donorFolds(t, tc.p, 2000, uint64(100+i))
			med := quantile(folds, 0.5)
			if med < tc.medLo || med > tc.medHi {
				t.Errorf("median fold: got %.4g, want %g-%g", med, tc.medLo, tc.medHi)
			}
			if tc.spanHi > 0 {
				p1, p99 := quantile(folds, 0.01), quantile(folds, 0.99)
				// The published span is the extreme of n = 50 donors, close to the 1st-99th
				// percentiles; allow 25 % either way.
				if relErr(p1, tc.spanLo) > 0.25 || relErr(p99, tc.spanHi) > 0.25 {
					t.Errorf("1st-99th percentiles: got %.3g-%.3g, want about %g-%g", p1, p99, tc.spanLo, tc.spanHi)
				}
			}
		})
	}
}

// TestDendrimerSuppressesTCells checks the §1.3/§5.5 mechanism: in PBMC + IL-2 the dendrimer
// multiplies μ_T by 0.3, so the NK purity at d14 is higher, while it has no effect on a
// purified-NK start (no monocytes).
func TestDendrimerSuppressesTCells(t *testing.T) {
	base := Protocol{Name: "il2 pbmc", Start: PBMC, IL2: 500, Class: CytokineOnly, Days: 14}
	with := base
	with.DendrimerUM = 20
	a, b := run(t, base, NominalDonor()), run(t, with, NominalDonor())
	if !(b.States[14].Purity() > a.States[14].Purity()+0.05) {
		t.Errorf("PBMC purity at d14: got %.3f with dendrimer, %.3f without; want higher with", b.States[14].Purity(), a.States[14].Purity())
	}
	base.Start, with.Start = PurifiedNK, PurifiedNK
	a, b = run(t, base, NominalDonor()), run(t, with, NominalDonor())
	if a.States[14].T != b.States[14].T {
		t.Errorf("purified NK T cells at d14: got %g with dendrimer, %g without; want equal", b.States[14].T, a.States[14].T)
	}
}

// TestOKT3DrivesTCells checks §5.5: with OKT3 the T-cell net growth is 0.4-0.5 per day.
func TestOKT3DrivesTCells(t *testing.T) {
	p := Protocol{Name: "okt3", Start: CD3Depleted, IL2: 500, OKT3: 10, Class: CytokineOnly, Days: 14}
	tr := run(t, p, NominalDonor())
	rate := (math.Log(tr.States[14].T) - math.Log(tr.States[0].T)) / 14
	if rate < 0.4 || rate > 0.5 {
		t.Errorf("T-cell net growth: got %.3f per day, want 0.4-0.5", rate)
	}
}
