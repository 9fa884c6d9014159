package cytotox

import "math"

// LyticUnits returns LU_X per 10⁷ effectors from an exponential fit (domain.md §6.5): one lytic
// unit is the number of effectors E_X = targets × x_X that lyse levelPct percent of targets,
// with x_X = −ln(1 − X/(100 a))/k, so LU_X per 10⁷ = 10⁷/(targets × x_X). Effectors are those
// the fit's E:T ratios count: NK cells when it was fitted on NK-corrected ratios.
//
// It returns nil when LU_X is "not reached", X/100 >= a (never extrapolated beyond the
// plateau), and when levelPct is not in (0, 100), targets is not above 0, the fit has no
// positive a and k, or the result is not a finite number.
func LyticUnits(fit ExpFit, levelPct, targets float64) *float64 {
	q := levelPct / 100
	if !(q > 0 && q < 1) || !(targets > 0) || math.IsInf(targets, 1) || !(fit.A > 0) || !(fit.K > 0) || math.IsInf(fit.K, 1) || q >= fit.A {
		return nil
	}
	x := -math.Log1p(-q/fit.A) / fit.K
	return luPer1e7(x, targets)
}

// LyticUnits4PL returns LU_X per 10⁷ effectors from a 4PL fit (domain.md §6.6), with
// x_X = c((X − b)/(t − X))^(1/h) for the lysis fraction X = levelPct/100. It returns nil
// unless b < X < t (the curve reaches X) and under the conditions of LyticUnits.
func LyticUnits4PL(fit FourPLFit, levelPct, targets float64) *float64 {
	q := levelPct / 100
	if !(q > 0 && q < 1) || !(targets > 0) || math.IsInf(targets, 1) || !(fit.C > 0) || !(fit.H > 0) || !(fit.B < q && q < fit.T) {
		return nil
	}
	x := fit.C * math.Pow((q-fit.B)/(fit.T-q), 1/fit.H)
	return luPer1e7(x, targets)
}

// luPer1e7 returns 10⁷/(targets × x), or nil when that is not a finite positive number.
func luPer1e7(x, targets float64) *float64 {
	if !(x > 0) {
		return nil
	}
	lu := 1e7 / (targets * x)
	if !(lu > 0) || math.IsInf(lu, 1) {
		return nil
	}
	return &lu
}
