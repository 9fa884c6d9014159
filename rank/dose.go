package rank

import "math"

// NKAvailable returns the NK cells one donor unit yields for infusion (domain.md §8.1):
//
//	DonorUnitCells × startingNKFraction × nkFold × ProcessRecovery × (1 − QCFraction)
//
// Zero option fields take their defaults. It trusts its input: validate the options with
// Options.Validate first.
func NKAvailable(startingNKFraction, nkFold float64, opt Options) float64 {
	opt = opt.withDefaults()
	return opt.DonorUnitCells * startingNKFraction * nkFold * opt.ProcessRecovery * (1 - opt.QCFraction)
}

// DoseCells returns the NK cells in one dose, DosePerKg × WeightKg (7×10⁸ by default).
func DoseCells(opt Options) float64 {
	opt = opt.withDefaults()
	return opt.DosePerKg * opt.WeightKg
}

// DosesPerDonor returns floor(nkAvailable / (DosePerKg × WeightKg)), the whole doses one donor
// unit gives (domain.md §8.1). Zero option fields take their defaults. It never rounds up: a
// count of doses must not promise cells that are not there. A negative, NaN or zero input, or
// a dose size that is not positive, gives 0; a count beyond math.MaxInt gives math.MaxInt.
func DosesPerDonor(nkAvailable float64, opt Options) int {
	dose := DoseCells(opt)
	if !(dose > 0) || !(nkAvailable > 0) {
		return 0
	}
	n := math.Floor(nkAvailable / dose)
	if n >= math.MaxInt {
		return math.MaxInt
	}
	return int(n)
}

// TCellLimitedDosePerKg returns the largest NK dose per kg that keeps the T cells infused
// within spec.MaxTCellsPerKg, for a product with purityPct % NK cells and tCellPct % T cells:
// MaxTCellsPerKg × purityPct / tCellPct (domain.md §8.2). A product with 95 % NK and 5 % T
// cells is limited to 1×10⁵ × 95/5 = 1.9×10⁶ NK/kg. A zero spec field takes its default. The
// result is +Inf when tCellPct is 0 and NaN when either percentage is outside [0, 100].
func TCellLimitedDosePerKg(purityPct, tCellPct float64, spec Spec) float64 {
	if !(purityPct >= 0 && purityPct <= 100) || !(tCellPct >= 0 && tCellPct <= 100) {
		return math.NaN()
	}
	if tCellPct == 0 {
		return math.Inf(1)
	}
	return spec.withDefaults().MaxTCellsPerKg * purityPct / tCellPct
}
