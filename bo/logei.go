package bo

import "math"

const (
	logSqrt2Pi = 0.91893853320467274178 // ½ log 2π
	sqrtPiBy2  = 1.25331413731550025121 // √(π/2)
	invSqrtPi  = 0.56418958354775628695 // 1/√π
)

// erfcx is the scaled complementary error function exp(x²) erfc(x). The product is accurate
// as it stands below x = 5; above, the classical continued fraction
// erfc(x) = exp(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))) (Abramowitz and Stegun
// 7.1.14) converges within twenty terms. For x < 0, erfcx(x) = 2exp(x²) − erfcx(−x).
func erfcx(x float64) float64 {
	switch {
	case math.IsNaN(x):
		return x
	case x < -26.7:
		return math.Inf(1)
	case x < 0:
		return 2*math.Exp(x*x) - erfcx(-x)
	case x < 5:
		return math.Exp(x*x) * math.Erfc(x)
	case x > 1e8:
		return invSqrtPi / x
	}
	t := x
	for n := erfcxTerms; n >= 1; n-- {
		t = x + float64(n)/2/t
	}
	return invSqrtPi / t
}

// erfcxTerms is the depth of erfcx's continued fraction: from x = 5 on, 20 terms agree with
// 400 to the last bit (15 terms are within 2e-16).
const erfcxTerms = 20

// normPDF is the standard normal density φ(z).
func normPDF(z float64) float64 { return math.Exp(-z*z/2 - logSqrt2Pi) }

// normCDF is the standard normal distribution function Φ(z).
func normCDF(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }

// logNormCDF is log Φ(z), accurate in both tails: for very negative z it uses
// Φ(z) = erfcx(−z/√2) exp(−z²/2)/2, for positive z log1p(−Φ(−z)).
func logNormCDF(z float64) float64 {
	switch {
	case math.IsNaN(z):
		return z
	case z < -5:
		return math.Log(erfcx(-z/math.Sqrt2)/2) - z*z/2
	case z > 0:
		return math.Log1p(-normCDF(-z))
	}
	return math.Log(normCDF(z))
}

// dLogNormCDF is d log Φ(z)/dz = φ(z)/Φ(z), the inverse Mills ratio of −z.
func dLogNormCDF(z float64) float64 {
	if z < -5 {
		// φ/Φ = 2/(√(2π) erfcx(−z/√2)) = 1/(√(π/2) erfcx(−z/√2)).
		return 1 / (sqrtPiBy2 * erfcx(-z/math.Sqrt2))
	}
	return math.Exp(-z*z/2-logSqrt2Pi) / normCDF(z)
}

// log1mexp is log(1 − exp(a)) for a ≤ 0, computed as Mächler (2012) recommends.
func log1mexp(a float64) float64 {
	if a > -math.Ln2 {
		return math.Log(-math.Expm1(a))
	}
	return math.Log1p(-math.Exp(a))
}

// logHSeries is the z below which logH and dLogH use the asymptotic expansions.
const logHSeries = -25

// millsSeries returns S0 = Σ_k (−1)^k (2k−1)!!/z^{2k} and S1 = Σ_k (−1)^k (2k+1)!!/z^{2k},
// summed to twelve terms: for z → −∞, Φ(z) = φ(z) S0/|z| (Abramowitz and Stegun 26.2.12) and
// so h(z) = φ(z) + zΦ(z) = φ(z)(1 − S0) = φ(z) S1/z². Below −25 the truncation error is
// under 1e-20.
func millsSeries(z float64) (s0, s1 float64) {
	inv := 1 / (z * z)
	s0, s1 = 1, 1
	t0, t1 := 1.0, 1.0
	for k := 1; k <= 12; k++ {
		t0 *= -float64(2*k-1) * inv
		t1 *= -float64(2*k+1) * inv
		s0 += t0
		s1 += t1
	}
	return s0, s1
}

// logH is log h(z), h(z) = φ(z) + zΦ(z), the expected improvement E[(Z + z)⁺] of a
// standard normal Z (see logHD).
func logH(z float64) float64 {
	v, _ := logHD(z)
	return v
}

// dLogH is d log h(z)/dz = Φ(z)/h(z) (since h′ = Φ; see logHD).
func dLogH(z float64) float64 {
	_, d := logHD(z)
	return d
}

// logHD returns log h(z), h(z) = φ(z) + zΦ(z), and its derivative Φ(z)/h(z), computed
// without underflow for very negative z following Ament et al. 2023 ("Unexpected improvements
// to expected improvement for Bayesian optimization", NeurIPS, eq. 9), with one evaluation of
// the special functions for both: directly for z > −1; down to −25 from r = Φ(z)/φ(z) =
// √(π/2) erfcx(−z/√2), as log h = −z²/2 − ½log 2π + log q and d = r/q with
// q = 1 + z r = h/φ = −expm1(log(|z| r)) (|z| r lies in (0.65, 1) there, so expm1 keeps q
// accurate); below −25 by the asymptotic expansion log h = −z²/2 − ½log 2π − 2 log|z| +
// log S1, d = |z| S0/S1 (see millsSeries), which is exact to rounding there and, unlike the
// form above, keeps the derivative accurate when q cancels (Ament et al. switch to the
// leading term of the same expansion below −1/√ε).
func logHD(z float64) (lh, d float64) {
	switch {
	case math.IsNaN(z):
		return z, z
	case z > -1:
		phi, cdf := normPDF(z), normCDF(z)
		h := phi + z*cdf
		return math.Log(h), cdf / h
	case z > logHSeries:
		r := sqrtPiBy2 * erfcx(-z/math.Sqrt2)
		q := -math.Expm1(math.Log(-z * r))
		return -z*z/2 - logSqrt2Pi + math.Log(q), r / q
	}
	s0, s1 := millsSeries(z)
	return -z*z/2 - logSqrt2Pi - 2*math.Log(-z) + math.Log(s1), -z * s0 / s1
}

// LogEI returns the log expected improvement log E[(f − best)⁺] of f ~ N(mean, sd²):
// log sd + log h((mean − best)/sd), finite however far below best the mean lies (as long as
// ((mean − best)/sd)² is a float64). With sd = 0
// it is log(mean − best), or −Inf when mean ≤ best.
func LogEI(mean, sd, best float64) float64 {
	if !(sd > 0) {
		if mean > best {
			return math.Log(mean - best)
		}
		return math.Inf(-1)
	}
	return logH((mean-best)/sd) + math.Log(sd)
}

// logEIGrad returns LogEI(mean, sd, best) and its partial derivatives with respect to mean
// and sd. sd must be positive.
func logEIGrad(mean, sd, best float64) (v, dmean, dsd float64) {
	lh, dmean, dsd := logEIParts((mean-best)/sd, sd)
	return lh + math.Log(sd), dmean, dsd
}

// logEIParts is logEIGrad at z = (mean − best)/sd, with the log sd term left out of the value
// (a caller that adds the same log sd to many terms takes it once); the partials are whole.
func logEIParts(z, sd float64) (lh, dmean, dsd float64) {
	lh, g := logHD(z)
	// z = (mean − best)/sd: ∂z/∂mean = 1/sd, ∂z/∂sd = −z/sd; log sd adds 1/sd to ∂/∂sd.
	return lh, g / sd, (1 - z*g) / sd
}

// logDiffH returns log(h(za) − h(zb)) for za ≥ zb, with the derivatives of the value with
// respect to za and zb: the log of the expected length of [a, b] ∩ (−∞, F] for
// F ~ N(μ, σ²) in units of σ, where za = (μ − a)/σ and zb = (μ − b)/σ.
func logDiffH(za, zb float64) (v, dza, dzb float64) {
	la, ga := logHD(za)
	if math.IsInf(zb, -1) {
		return la, ga, 0
	}
	lb, gb := logHD(zb)
	return diffH(la, ga, lb, gb)
}

// diffH is logDiffH from la, ga = logHD(za) and lb, gb = logHD(zb) (lb = −Inf for
// zb = −∞).
func diffH(la, ga, lb, gb float64) (v, dza, dzb float64) {
	if math.IsInf(lb, -1) {
		return la, ga, 0
	}
	if !(lb < la) {
		return math.Inf(-1), 0, 0
	}
	v = la + log1mexp(lb-la)
	// d/dza log(h(za) − h(zb)) = h′(za)/(h(za) − h(zb)) = dLogH(za) · h(za)/(h(za) − h(zb)).
	dza = ga * math.Exp(la-v)
	dzb = -gb * math.Exp(lb-v)
	return v, dza, dzb
}
