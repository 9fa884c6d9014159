package bo

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/diff/fd"
)

// Reference values from R 4.2.2 (testdata/reference.R): erfcx(x) as
// exp(x² + log 2 + pnorm(−x√2, log.p = TRUE)) and log Φ(z) as pnorm(z, log.p = TRUE); log h(z)
// in 40-digit arithmetic with mpmath (testdata/reference.py).

func TestErfcx(t *testing.T) {
	for _, tc := range []struct{ x, want float64 }{
		{0.5, 0.6156903441929259},
		{2, 0.25539567631050564},
		{5, 0.11070463773306809},
		{5.5, 0.10096221839949847},
		{10, 0.056140992743821956},
	} {
		if got := erfcx(tc.x); !near(got, tc.want, 1e-13) {
			t.Errorf("erfcx(%g) = %.17g, want %.17g", tc.x, got, tc.want)
		}
	}
	// R's route loses about x²·ε relative precision, so large x are checked against the
	// asymptotic series erfcx(x) = 1/(x√π) Σ_n (−1)^n (2n−1)!!/(2x²)^n (Abramowitz and Stegun
	// 7.1.23), eight terms, below 1e-16 from x = 30.
	for _, x := range []float64{30, 100, 1e4, 1e9} {
		sum, term := 1.0, 1.0
		for n := 1; n <= 8; n++ {
			term *= -float64(2*n-1) / (2 * x * x)
			sum += term
		}
		want := sum / (x * math.Sqrt(math.Pi))
		if got := erfcx(x); !near(got, want, 1e-14) {
			t.Errorf("erfcx(%g) = %.17g, want %.17g", x, got, want)
		}
	}
	// The two branches meet at 5.
	if a, b := erfcx(math.Nextafter(5, 0)), erfcx(5); !near(a, b, 1e-14) {
		t.Errorf("erfcx just below 5 = %.17g, at 5 = %.17g", a, b)
	}
	// erfcx(−x) = 2exp(x²) − erfcx(x).
	if got, want := erfcx(-1), 2*math.E-erfcx(1); !near(got, want, 1e-14) {
		t.Errorf("erfcx(-1) = %g, want %g", got, want)
	}
}

func TestLogNormCDF(t *testing.T) {
	for _, tc := range []struct{ z, want float64 }{
		{-40, -804.6084420137538},
		{-20, -203.91715537109727},
		{-10, -53.23128515051247},
		{-6, -20.736768949974707},
		{-3, -6.6077262215103492},
		{0, -0.69314718055994529},
		{3, -0.0013508099647481938},
	} {
		if got := logNormCDF(tc.z); !near(got, tc.want, 1e-13) {
			t.Errorf("logNormCDF(%g) = %.17g, want %.17g", tc.z, got, tc.want)
		}
	}
}

// near reports whether got is within rel relative error of want.
func near(got, want, rel float64) bool {
	return math.Abs(got-want) <= rel*math.Max(math.Abs(want), 1e-300)
}

// nearDeriv reports whether a derivative got agrees with a finite-difference one, want, to
// tol relative to max(1, |want|).
func nearDeriv(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

func TestLogH(t *testing.T) {
	// Against mpmath.
	for _, tc := range []struct{ z, want float64 }{
		{-30, -457.72465376059800405},
		{-20, -206.91783850942509785},
		{-15, -118.84817068411358416},
		{-8, -37.122364261692633},
		{-3, -7.8696860596030285171},
		{-1, -2.4851210257126413368},
		{0, -0.91893853320467274178},
		{0.5, -0.35982768374506381859},
		{2, 0.69738354578822831219},
	} {
		if got := logH(tc.z); !near(got, tc.want, 1e-14) {
			t.Errorf("logH(%g) = %.17g, want %.17g", tc.z, got, tc.want)
		}
	}
	// Against the asymptotic expansion h(z) = φ(z)/z² · (1 − 3/z² + 15/z⁴ − 105/z⁶ + …) for
	// z → −∞ (from the Mills-ratio series of Φ, Abramowitz and Stegun 26.2.12), summed to seven
	// terms: below −20 its truncation error is under 1e-12. (logH itself uses this expansion
	// below −25; from −20 to −25 this checks the erfcx branch.)
	for _, z := range []float64{-20, -24.9, -40, -100, -1e3, -1e5, -1e7, -1e9, -1e150} {
		z2 := z * z
		series, term := 1.0, 1.0
		for k := 1; k <= 7; k++ {
			term *= -float64(2*k+1) / z2
			series += term
		}
		want := -z2/2 - logSqrt2Pi - 2*math.Log(-z) + math.Log(series)
		if got := logH(z); !near(got, want, 1e-12) {
			t.Errorf("logH(%g) = %.17g, want %.17g", z, got, want)
		}
	}
	// Continuity across the branch points −1 and −1/√ε.
	for _, z := range []float64{-1, logHSeries} {
		a, b := logH(math.Nextafter(z, 0)), logH(z)
		if !near(a, b, 1e-10) {
			t.Errorf("logH jumps at %g: %.17g, %.17g", z, a, b)
		}
	}
}

func TestLogEIDirect(t *testing.T) {
	// Where E[(f − best)⁺] = σ(φ(z) + zΦ(z)) can be computed directly without loss.
	for _, tc := range []struct{ mean, sd, best float64 }{
		{0, 1, 0}, {1, 2, 0}, {-0.5, 0.5, 0}, {3, 0.1, 2}, {10, 3, 12},
	} {
		z := (tc.mean - tc.best) / tc.sd
		want := math.Log(tc.sd * (normPDF(z) + z*normCDF(z)))
		if got := LogEI(tc.mean, tc.sd, tc.best); math.Abs(got-want) > 1e-12*(1+math.Abs(want)) {
			t.Errorf("LogEI(%g, %g, %g) = %.17g, want %.17g", tc.mean, tc.sd, tc.best, got, want)
		}
	}
	// Far below the incumbent the log is finite and falls like −z²/2.
	if got := LogEI(-1000, 1, 0); math.IsInf(got, 0) || !near(got, -500000-logSqrt2Pi-2*math.Log(1000), 1e-9) {
		t.Errorf("LogEI(-1000, 1, 0) = %g, want about %g", got, -500000-logSqrt2Pi-2*math.Log(1000))
	}
	if got := LogEI(1, 0, 0); got != 0 {
		t.Errorf("LogEI(1, 0, 0) = %g, want log 1 = 0", got)
	}
	if got := LogEI(-1, 0, 0); !math.IsInf(got, -1) {
		t.Errorf("LogEI(-1, 0, 0) = %g, want -Inf", got)
	}
}

func TestLogHDerivative(t *testing.T) {
	for _, z := range []float64{-1e6, -1e3, -50, -20, -8, -3, -1.5, -1, -0.3, 0, 0.7, 3, 20} {
		want := fd.Derivative(logH, z, &fd.Settings{Formula: fd.Central, Step: 1e-6 * math.Max(1, math.Abs(z))})
		if got := dLogH(z); !nearDeriv(got, want, 1e-6) {
			t.Errorf("dLogH(%g) = %.12g, finite differences %.12g", z, got, want)
		}
	}
	for _, z := range []float64{-30, -8, -5.5, -4.9, -1, 0, 2} {
		want := fd.Derivative(logNormCDF, z, &fd.Settings{Formula: fd.Central, Step: 1e-6})
		if got := dLogNormCDF(z); !nearDeriv(got, want, 1e-6) {
			t.Errorf("dLogNormCDF(%g) = %.12g, finite differences %.12g", z, got, want)
		}
	}
}

func TestLogEIGrad(t *testing.T) {
	for _, tc := range []struct{ mean, sd, best float64 }{
		{0, 1, 0}, {-3, 0.5, 1}, {2, 0.2, 0}, {-40, 1, 0}, {-2000, 3, 5},
	} {
		_, dm, ds := logEIGrad(tc.mean, tc.sd, tc.best)
		h := 1e-6 * math.Max(1, math.Abs(tc.mean))
		wm := fd.Derivative(func(m float64) float64 { return LogEI(m, tc.sd, tc.best) }, tc.mean, &fd.Settings{Formula: fd.Central, Step: h})
		ws := fd.Derivative(func(s float64) float64 { return LogEI(tc.mean, s, tc.best) }, tc.sd, &fd.Settings{Formula: fd.Central, Step: 1e-7})
		if !nearDeriv(dm, wm, 1e-5) || !nearDeriv(ds, ws, 1e-5) {
			t.Errorf("logEIGrad(%v): d/dmean %g (fd %g), d/dsd %g (fd %g)", tc, dm, wm, ds, ws)
		}
	}
}

func TestLogDiffH(t *testing.T) {
	for _, tc := range []struct{ za, zb float64 }{
		{1, 0}, {0.3, -2}, {-3, -3.5}, {-10, -10.1}, {-30, -31}, {2, math.Inf(-1)}, {-25, math.Inf(-1)},
	} {
		v, da, db := logDiffH(tc.za, tc.zb)
		hb := 0.0
		if !math.IsInf(tc.zb, -1) {
			hb = math.Exp(logH(tc.zb))
		}
		if tc.za > -5 { // where the difference of h can be formed directly
			want := math.Log(math.Exp(logH(tc.za)) - hb)
			if !near(v, want, 1e-10) {
				t.Errorf("logDiffH(%g, %g) = %.15g, want %.15g", tc.za, tc.zb, v, want)
			}
		}
		wa := fd.Derivative(func(z float64) float64 { v, _, _ := logDiffH(z, tc.zb); return v }, tc.za, &fd.Settings{Formula: fd.Central, Step: 1e-6})
		if !nearDeriv(da, wa, 1e-5) {
			t.Errorf("logDiffH(%g, %g): d/dza %g, fd %g", tc.za, tc.zb, da, wa)
		}
		if !math.IsInf(tc.zb, -1) {
			wb := fd.Derivative(func(z float64) float64 { v, _, _ := logDiffH(tc.za, z); return v }, tc.zb, &fd.Settings{Formula: fd.Central, Step: 1e-6})
			if !nearDeriv(db, wb, 1e-5) {
				t.Errorf("logDiffH(%g, %g): d/dzb %g, fd %g", tc.za, tc.zb, db, wb)
			}
		}
	}
}
