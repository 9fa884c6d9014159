package cytotox

import (
	"math"

	"github.com/clink-consortium/clink"
)

// CorrectET converts a nominal E:T ratio (total effector cells per target) to the NK E:T of
// domain.md §6.4: x_NK = x_nominal × viability × NK purity, with viability and purity as
// FRACTIONS in (0, 1] (0.6, not 60). A culture never pure gives an NK ratio below the
// nominal one: "10:1" of a 60 %-pure, fully viable culture is 6:1.
//
// It returns an EINVALID *clink.Error naming each field at fault when nominal is not a finite
// ratio above 0 or a fraction is not in (0, 1].
func CorrectET(nominal, viabilityFraction, nkPurityFraction float64) (float64, error) {
	var fe clink.FieldErrors
	if !(nominal > 0) || math.IsInf(nominal, 1) {
		fe.Addf("et_nominal", "%g is not a ratio above 0", nominal)
	}
	fraction := func(field string, v float64) {
		if !(v > 0 && v <= 1) {
			fe.Addf(field, "%g is not a fraction in (0, 1] (percentages are divided by 100)", v)
		}
	}
	fraction("viability", viabilityFraction)
	fraction("nk_purity", nkPurityFraction)
	if err := fe.Err(); err != nil {
		return 0, err
	}
	return nominal * viabilityFraction * nkPurityFraction, nil
}
