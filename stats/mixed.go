package stats

import (
	"encoding/binary"
	"maps"
	"math"
	"strconv"

	"github.com/clink-consortium/clink"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
)

// MixedModel is a REML fit of y ~ protocol + (1 | donor), reported as lme4's summary() does.
type MixedModel struct {
	Response         string        `json:"response"`      // "log10(value)" or "value"
	Reference        string        `json:"reference"`     // first protocol
	FixedEffects     []FixedEffect `json:"fixed_effects"` // "(Intercept)", then "protocol<name>" in protocol order, name kept as written
	DonorVariance    float64       `json:"donor_variance"`
	ResidualVariance float64       `json:"residual_variance"`
	ICC              float64       `json:"icc"`
	Singular         bool          `json:"singular"` // theta at 0 (boundary fit)
	NObs             int           `json:"n_obs"`
	NDonors          int           `json:"n_donors"`
	REMLCriterion    float64       `json:"reml_criterion"` // -2 log restricted likelihood, as lme4 reports
}

// FixedEffect is one coefficient of the mixed model with its standard error.
type FixedEffect struct {
	Term     string  `json:"term"`
	Estimate float64 `json:"estimate"`
	StdError float64 `json:"std_error"`
}

// FitRandomIntercept fits the linear mixed model y ~ protocol + (1 | donor) by REML, as
// lmer(y ~ protocol + (1 | donor), REML = TRUE) does in lme4, but at the exact optimum
// (domain.md §7.4). Row i has response y[i], belongs to donor donor[i] (any int identifies a
// donor) and to protocol protocols[protocol[i]]. The first protocol is the reference: the fixed
// effects are "(Intercept)" (its mean) and "protocol<name>" (the difference of each other
// protocol from it), with lme4's standard errors. Response is set to "y"; callers relabel it.
//
// The criterion is profiled over θ = σ_d/σ and minimised by finding the root of its analytic
// derivative in s = θ², after a scan that brackets every local minimum and checks θ = 0; a
// boundary optimum is reported as Singular. No N×N matrix is formed: every quantity comes from
// per-donor sums, and donors sharing the same protocol counts are handled together.
//
// Malformed input (mismatched lengths, non-finite y, a protocol index out of range or without
// rows, fewer than two protocols) is an EINVALID error. So are data from which the model cannot
// be estimated, as lmer refuses or fails on them: fewer than two donors, no fewer donors than
// rows, no residual degrees of freedom, every value equal to its protocol's mean, or a residual
// variance that vanishes at the optimum.
func FitRandomIntercept(y []float64, donor, protocol []int, protocols []string) (*MixedModel, error) {
	var fe clink.FieldErrors
	if len(donor) != len(y) {
		fe.Addf("donor", "has %d entries, y has %d", len(donor), len(y))
	}
	if len(protocol) != len(y) {
		fe.Addf("protocol", "has %d entries, y has %d", len(protocol), len(y))
	}
	if len(protocols) < 2 {
		fe.Addf("protocols", "has %d name(s): the model compares at least two protocols", len(protocols))
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	checkFinite(&fe, "y", y)
	seen := make([]bool, len(protocols))
	for i, p := range protocol {
		if p < 0 || p >= len(protocols) {
			fe.Addf("protocol["+strconv.Itoa(i)+"]", "%d is not an index into the %d protocols", p, len(protocols))
			return nil, fe.Err()
		}
		seen[p] = true
	}
	for p, ok := range seen {
		if !ok {
			fe.Addf("protocol", "protocol %q has no rows", protocols[p])
		}
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	ids := make(map[int]int)
	compact := make([]int, len(donor))
	for i, d := range donor {
		id, ok := ids[d]
		if !ok {
			id = len(ids)
			ids[d] = id
		}
		compact[i] = id
	}
	m, reason := fitRandomIntercept(y, compact, len(ids), protocol, protocols)
	if reason != "" {
		return nil, clink.Errorf(clink.EINVALID, "mixed model not estimable: %s", reason)
	}
	m.Response = "y"
	return m, nil
}

// fitRandomIntercept fits the model on validated input: donor[i] in [0, nDonors), every
// protocol index used. It returns a nil model and the reason when the data do not allow a fit.
func fitRandomIntercept(y []float64, donor []int, nDonors int, protocol []int, protocols []string) (*MixedModel, string) {
	n, k := len(y), len(protocols)
	switch {
	case nDonors < 2:
		return nil, "it needs at least two donors (lme4: grouping factors must have > 1 sampled level)"
	case nDonors >= n:
		return nil, "every donor has a single row, so the donor variance cannot be told from the residual (lme4 needs fewer donors than observations)"
	case n <= k:
		return nil, "no residual degrees of freedom: " + strconv.Itoa(n) + " observations for " + strconv.Itoa(k) + " protocols"
	}
	pr, reason := newREML(y, donor, nDonors, protocol, k)
	if reason != "" {
		return nil, reason
	}
	s, reason := pr.optimum()
	if reason != "" {
		return nil, reason
	}
	return pr.result(s, protocols)
}

// reml is the profiled REML criterion of one random intercept, with everything that does not
// depend on s = θ² computed once. The response is scaled by a power of two (exact) so that its
// largest magnitude is in [0.5, 1), and centred on protocol means (which lie in the column space
// of X and so change nothing but the intercepts); both are undone in result.
type reml struct {
	n, k, j int
	df      float64   // n − k
	exp     int       // y was multiplied by 2^−exp
	means   []float64 // protocol means of the scaled y
	yc      []float64 // scaled y minus its protocol mean
	prot    []int     // protocol of each row
	rows    []int     // row indices grouped by donor
	start   []int     // donor d owns rows[start[d]:start[d+1]]
	nj      []float64 // rows per donor
	counts  []float64 // rows per protocol: the diagonal of XᵀX in cell-means coding

	// Donors with identical protocol counts form a pattern and enter XᵀV⁻¹X together.
	g    int
	patN []float64 // rows of each donor of the pattern
	patW []float64 // donors in the pattern
	patT []float64 // Σ over those donors of their sum of yc
	patS []float64 // k×g: column p holds the pattern's counts per protocol

	// With no more patterns than protocols (balanced and nearly balanced designs), A is handled
	// through the g×g matrix M = I − C^½HC^½ with H = SD⁻¹Sᵀ (Woodbury), else directly as k×k.
	small bool
	h     []float64 // g×g: H = S D⁻¹ Sᵀ, fixed

	// Scratch, reused by every evaluation: a is A (k×k) or M (g×g) and then its Cholesky factor.
	a, w, z, beta, q, sc []float64
}

// remlEval is the criterion and its derivative at one s.
type remlEval struct {
	s      float64
	f      float64 // ldL2 + log|XᵀV⁻¹X| + (n − k)·log(pwrss): the REML criterion up to a constant
	deriv  float64 // df/ds
	pwrss  float64
	ldL2   float64
	logDet float64
	ok     bool
}

func newREML(y []float64, donor []int, nDonors int, protocol []int, k int) (*reml, string) {
	n := len(y)
	pr := &reml{n: n, k: k, j: nDonors, df: float64(n - k), prot: protocol}

	// Every value equal to its protocol's value leaves no variance to estimate; test it on the
	// raw values, where equality is exact.
	first := make([]float64, k)
	have := make([]bool, k)
	varies := false
	for i, v := range y {
		p := protocol[i]
		if !have[p] {
			first[p], have[p] = v, true
		} else if v != first[p] {
			varies = true
		}
	}
	if !varies {
		return nil, "every value equals the other values of its protocol: there is no variance to estimate"
	}

	var big float64
	for _, v := range y {
		big = math.Max(big, math.Abs(v))
	}
	_, pr.exp = math.Frexp(big)
	pr.counts = make([]float64, k)
	pr.means = make([]float64, k)
	pr.yc = make([]float64, n)
	for i, v := range y {
		sv := math.Ldexp(v, -pr.exp)
		pr.yc[i] = sv
		pr.means[protocol[i]] += sv
		pr.counts[protocol[i]]++
	}
	for p := range pr.means {
		pr.means[p] /= pr.counts[p]
	}
	for i := range pr.yc {
		pr.yc[i] -= pr.means[protocol[i]]
	}

	// Group rows by donor (counting sort keeps the input order within a donor).
	pr.start = make([]int, nDonors+1)
	for _, d := range donor {
		pr.start[d+1]++
	}
	for d := range nDonors {
		pr.start[d+1] += pr.start[d]
	}
	pr.rows = make([]int, n)
	fill := append([]int(nil), pr.start[:nDonors]...)
	for i, d := range donor {
		pr.rows[fill[d]] = i
		fill[d]++
	}
	pr.nj = make([]float64, nDonors)

	// Patterns: the sparse count vector of each donor, encoded as a key.
	type pattern struct {
		n, w, t float64
		counts  map[int]float64
	}
	var pats []*pattern
	index := make(map[string]int)
	cnt := make(map[int]float64)
	var key []byte
	for d := range nDonors {
		clear(cnt)
		var t float64
		rows := pr.rows[pr.start[d]:pr.start[d+1]]
		for _, i := range rows {
			cnt[protocol[i]]++
			t += pr.yc[i]
		}
		pr.nj[d] = float64(len(rows))
		// Rows of a donor are in input order; build the key over protocols in index order.
		key = key[:0]
		for p := range k {
			if c, ok := cnt[p]; ok {
				key = binary.AppendUvarint(key, uint64(p))
				key = binary.AppendUvarint(key, uint64(c))
			}
		}
		g, ok := index[string(key)]
		if !ok {
			g = len(pats)
			index[string(key)] = g
			pats = append(pats, &pattern{n: pr.nj[d], counts: maps.Clone(cnt)})
		}
		pats[g].w++
		pats[g].t += t
	}
	pr.g = len(pats)
	pr.patN = make([]float64, pr.g)
	pr.patW = make([]float64, pr.g)
	pr.patT = make([]float64, pr.g)
	pr.patS = make([]float64, k*pr.g)
	for g, pt := range pats {
		pr.patN[g], pr.patW[g], pr.patT[g] = pt.n, pt.w, pt.t
		for p, c := range pt.counts {
			pr.patS[p*pr.g+g] = c
		}
	}
	pr.beta = make([]float64, k)
	pr.q = make([]float64, pr.g)
	pr.sc = make([]float64, pr.g)
	pr.usePath(pr.g <= k)
	return pr, ""
}

// usePath chooses how A is handled, the g×g Woodbury form (small) or the k×k matrix, and
// allocates what that path needs. Both give the same numbers; the cheaper one is the default.
func (pr *reml) usePath(small bool) {
	k, g := pr.k, pr.g
	pr.small = small
	if small {
		if pr.h == nil {
			pr.h = make([]float64, g*g)
			for p := range k {
				row := pr.patS[p*g : (p+1)*g]
				for c, v := range row {
					if v == 0 {
						continue
					}
					v /= pr.counts[p]
					for c2 := c; c2 < g; c2++ {
						pr.h[c*g+c2] += v * row[c2]
					}
				}
			}
			for c := range g {
				for c2 := range c {
					pr.h[c*g+c2] = pr.h[c2*g+c]
				}
			}
		}
		pr.a = make([]float64, g*g)
		pr.z = make([]float64, g*g)
		pr.w = make([]float64, g)
		return
	}
	pr.a = make([]float64, k*k)
	pr.w = make([]float64, g*k)
	pr.z = make([]float64, k*g)
}

// eval computes the criterion and its derivative at s = θ² ≥ 0. With V_j = I + s·11ᵀ and
// c_j = s/(1 + n_j s), so that V_j⁻¹ = I − c_j·11ᵀ:
//
//	A = XᵀV⁻¹X = D − Σ_j c_j s_j s_jᵀ,  β = A⁻¹XᵀV⁻¹y,  r = y − Xβ,
//	pwrss = Σ_j [Σ_i (r_ij − r̄_j)² + n_j r̄_j²/(1 + n_j s)]  (a sum of non-negative terms),
//	f = Σ_j log(1 + n_j s) + log|A| + (n − k)·log(pwrss),
//	f' = Σ_j n_j/(1 + n_j s) − Σ_j s_jᵀA⁻¹s_j/(1 + n_j s)² − (n − k)·Σ_j (Σ_i r_ij)²/(1 + n_j s)²/pwrss,
//
// where D = diag(rows per protocol) and s_j holds donor j's rows per protocol (cell-means
// coding, whose log|A| equals that of lme4's treatment coding because the change of basis has
// determinant 1). The last term uses that β minimises pwrss.
func (pr *reml) eval(s float64) remlEval {
	var logDet float64
	var ok bool
	if pr.small {
		logDet, ok = pr.solveSmall(s)
	} else {
		logDet, ok = pr.solveLarge(s)
	}
	if !ok {
		return remlEval{s: s}
	}
	var dLogDet float64
	for c := range pr.g {
		den := 1 + pr.patN[c]*s
		dLogDet -= pr.patW[c] * pr.q[c] / (den * den)
	}

	var pwrss, dPwrss, ldL2, dLdL2 float64
	for d := range pr.j {
		rows := pr.rows[pr.start[d]:pr.start[d+1]]
		var sum float64
		for _, i := range rows {
			sum += pr.yc[i] - pr.beta[pr.prot[i]]
		}
		nj := pr.nj[d]
		mean := sum / nj
		var ss float64
		for _, i := range rows {
			e := pr.yc[i] - pr.beta[pr.prot[i]] - mean
			ss += e * e
		}
		den := 1 + nj*s
		pwrss += ss + sum*mean/den
		dPwrss += sum * sum / (den * den)
		ldL2 += math.Log1p(nj * s)
		dLdL2 += nj / den
	}
	if !(pwrss > 0) || math.IsInf(pwrss, 0) {
		return remlEval{s: s}
	}
	return remlEval{
		s:      s,
		f:      ldL2 + logDet + pr.df*math.Log(pwrss),
		deriv:  dLdL2 + dLogDet - pr.df*dPwrss/pwrss,
		pwrss:  pwrss,
		ldL2:   ldL2,
		logDet: logDet,
		ok:     true,
	}
}

// solveLarge sets pr.beta = A⁻¹XᵀV⁻¹yc and pr.q[c] = s_cᵀA⁻¹s_c working with the k×k matrix
// A = D − Σ_c w_c c_c s_c s_cᵀ, c_c = s/(1 + n_c s), and returns log|A|. It leaves the Cholesky
// factor U (A = UᵀU) in pr.a.
func (pr *reml) solveLarge(s float64) (float64, bool) {
	k, g := pr.k, pr.g
	clear(pr.a)
	for p := range k {
		pr.a[p*k+p] = pr.counts[p]
	}
	if s > 0 {
		for c := range g {
			sc := math.Sqrt(pr.patW[c] * s / (1 + pr.patN[c]*s))
			for p := range k {
				pr.w[c*k+p] = sc * pr.patS[p*g+c]
			}
		}
		blas64.Syrk(blas.Trans, -1, blas64.General{Rows: g, Cols: k, Data: pr.w, Stride: k},
			1, blas64.Symmetric{Uplo: blas.Upper, N: k, Data: pr.a, Stride: k})
	}
	u, ok := lapack64.Potrf(blas64.Symmetric{Uplo: blas.Upper, N: k, Data: pr.a, Stride: k})
	if !ok {
		return 0, false
	}
	var logDet float64
	for p := range k {
		logDet += math.Log(pr.a[p*k+p])
	}
	logDet *= 2

	// β solves Aβ = XᵀV⁻¹yc = −Σ_c c_c T_c s_c, since Xᵀyc = 0 after centring.
	clear(pr.beta)
	for c := range g {
		coef := -s / (1 + pr.patN[c]*s) * pr.patT[c]
		if coef == 0 {
			continue
		}
		for p := range k {
			pr.beta[p] += coef * pr.patS[p*g+c]
		}
	}
	bv := blas64.Vector{N: k, Data: pr.beta, Inc: 1}
	blas64.Trsv(blas.Trans, u, bv)
	blas64.Trsv(blas.NoTrans, u, bv)

	// q_c = s_cᵀA⁻¹s_c = ‖U⁻ᵀs_c‖².
	copy(pr.z, pr.patS)
	blas64.Trsm(blas.Left, blas.Trans, 1, u, blas64.General{Rows: k, Cols: g, Data: pr.z, Stride: g})
	clear(pr.q)
	for p := range k {
		row := pr.z[p*g : (p+1)*g]
		for c, v := range row {
			pr.q[c] += v * v
		}
	}
	return logDet, true
}

// solveSmall computes what solveLarge does through the g×g matrix M = I − C^½HC^½, where C is
// diagonal with C_c = w_c·s/(1 + n_c s) and H = SD⁻¹Sᵀ (S holds the patterns' counts as rows). By
// the determinant lemma and Woodbury's identity
//
//	|A| = |D|·|M|,  A⁻¹ = D⁻¹ + D⁻¹SᵀC^½M⁻¹C^½SD⁻¹,
//	s_cᵀA⁻¹s_c = H_cc + ‖U⁻ᵀC^½H_c‖²,  β = −D⁻¹SᵀC^½M⁻¹C^½T̄,  T̄_c = T_c/w_c,
//
// with M = UᵀU. Every term is well defined at s = 0, where M = I. It leaves U in pr.a.
func (pr *reml) solveSmall(s float64) (float64, bool) {
	k, g := pr.k, pr.g
	for c := range g {
		pr.sc[c] = math.Sqrt(pr.patW[c] * s / (1 + pr.patN[c]*s))
	}
	for c := range g {
		for c2 := c; c2 < g; c2++ {
			v := -pr.sc[c] * pr.h[c*g+c2] * pr.sc[c2]
			if c == c2 {
				v++
			}
			pr.a[c*g+c2] = v
		}
	}
	u, ok := lapack64.Potrf(blas64.Symmetric{Uplo: blas.Upper, N: g, Data: pr.a, Stride: g})
	if !ok {
		return 0, false
	}
	var logDet float64
	for c := range g {
		logDet += math.Log(pr.a[c*g+c])
	}
	logDet *= 2
	for p := range k {
		logDet += math.Log(pr.counts[p])
	}

	// z = U⁻ᵀ C^½ H; q_c = H_cc + ‖z_c‖² (column c).
	for c := range g {
		for c2 := range g {
			pr.z[c*g+c2] = pr.sc[c] * pr.h[c*g+c2]
		}
	}
	blas64.Trsm(blas.Left, blas.Trans, 1, u, blas64.General{Rows: g, Cols: g, Data: pr.z, Stride: g})
	for c := range g {
		pr.q[c] = pr.h[c*g+c]
	}
	for c := range g {
		for c2, v := range pr.z[c*g : (c+1)*g] {
			pr.q[c2] += v * v
		}
	}

	// x = C^½ M⁻¹ C^½ T̄, then β = −D⁻¹Sᵀx.
	x := pr.w
	for c := range g {
		x[c] = pr.sc[c] * pr.patT[c] / pr.patW[c]
	}
	xv := blas64.Vector{N: g, Data: x, Inc: 1}
	blas64.Trsv(blas.Trans, u, xv)
	blas64.Trsv(blas.NoTrans, u, xv)
	for c := range g {
		x[c] *= pr.sc[c]
	}
	for p := range k {
		var v float64
		for c, cnt := range pr.patS[p*g : (p+1)*g] {
			v += cnt * x[c]
		}
		pr.beta[p] = -v / pr.counts[p]
	}
	return logDet, true
}

// ainv returns A⁻¹ at the s of the last evaluation, as a function of (i, j).
func (pr *reml) ainv() (func(i, j int) float64, bool) {
	k, g := pr.k, pr.g
	if !pr.small {
		inv, ok := lapack64.Potri(blas64.Triangular{Uplo: blas.Upper, Diag: blas.NonUnit, N: k, Data: pr.a, Stride: k})
		if !ok {
			return nil, false
		}
		return func(i, j int) float64 {
			if i > j {
				i, j = j, i
			}
			return inv.Data[i*k+j]
		}, true
	}
	// A⁻¹ = D⁻¹ + QᵀQ with Q = U⁻ᵀC^½SD⁻¹ (g×k).
	q := make([]float64, g*k)
	for c := range g {
		for p := range k {
			q[c*k+p] = pr.sc[c] * pr.patS[p*g+c] / pr.counts[p]
		}
	}
	u := blas64.Triangular{Uplo: blas.Upper, Diag: blas.NonUnit, N: g, Data: pr.a, Stride: g}
	blas64.Trsm(blas.Left, blas.Trans, 1, u, blas64.General{Rows: g, Cols: k, Data: q, Stride: k})
	return func(i, j int) float64 {
		var v float64
		if i == j {
			v = 1 / pr.counts[i]
		}
		for c := range g {
			v += q[c*k+i] * q[c*k+j]
		}
		return v
	}, true
}

// Scan of θ = σ_d/σ: 10^-3 … 10^3 in steps of 10^0.5, extended upwards to 10^8 while the
// criterion still falls.
const (
	scanLow   = -3.0
	scanHigh  = 3.0
	scanStep  = 0.5
	scanLimit = 8.0
)

// optimum returns the s = θ² that minimises the criterion. Every sign change of the derivative
// from − to + between scan points brackets a local minimum, whose root Brent's method finds to
// machine precision; θ = 0 is a candidate when the derivative there is not negative. The lowest
// candidate wins.
func (pr *reml) optimum() (float64, string) {
	prev := pr.eval(0)
	if !prev.ok {
		return 0, "the residual sum of squares is zero at θ = 0"
	}
	best := remlEval{f: math.Inf(1)}
	if prev.deriv >= 0 {
		best = prev
	}
	deriv := func(s float64) float64 {
		e := pr.eval(s)
		if !e.ok {
			return math.NaN()
		}
		return e.deriv
	}
	for lt := scanLow; lt <= scanLimit+1e-9; lt += scanStep {
		if lt > scanHigh+1e-9 && prev.deriv >= 0 {
			break
		}
		s := math.Pow(10, 2*lt)
		e := pr.eval(s)
		if !e.ok {
			break
		}
		if prev.deriv < 0 && e.deriv >= 0 {
			root := brentRoot(deriv, prev.s, s, prev.deriv, e.deriv)
			if r := pr.eval(root); r.ok && r.f < best.f {
				best = r
			}
		}
		prev = e
	}
	if math.IsInf(best.f, 1) {
		return 0, "the criterion falls without bound as θ = σ_d/σ grows: the residual variance vanishes (values are additive in donor and protocol)"
	}
	if prev.deriv < 0 && prev.f < best.f {
		return 0, "the criterion falls without bound as θ = σ_d/σ grows: the residual variance vanishes"
	}
	return best.s, ""
}

// result evaluates the fit at s and reports it on the original scale of y.
func (pr *reml) result(s float64, protocols []string) (*MixedModel, string) {
	e := pr.eval(s)
	if !e.ok {
		return nil, "the criterion cannot be evaluated at its optimum"
	}
	k := pr.k
	at, ok := pr.ainv()
	if !ok {
		return nil, "the fixed-effect covariance is singular"
	}
	sigma2 := e.pwrss / pr.df
	scale := func(v float64) float64 { return math.Ldexp(v, pr.exp) }
	fx := make([]FixedEffect, k)
	mu0 := pr.means[0] + pr.beta[0]
	fx[0] = FixedEffect{Term: "(Intercept)", Estimate: scale(mu0), StdError: scale(math.Sqrt(sigma2 * at(0, 0)))}
	for p := 1; p < k; p++ {
		est := (pr.means[p] - pr.means[0]) + (pr.beta[p] - pr.beta[0])
		v := at(p, p) + at(0, 0) - 2*at(0, p)
		fx[p] = FixedEffect{
			Term:     "protocol" + protocols[p],
			Estimate: scale(est),
			StdError: scale(math.Sqrt(sigma2 * math.Max(v, 0))),
		}
	}
	m := &MixedModel{
		Reference:        protocols[0],
		FixedEffects:     fx,
		DonorVariance:    math.Ldexp(s*sigma2, 2*pr.exp),
		ResidualVariance: math.Ldexp(sigma2, 2*pr.exp),
		ICC:              s / (1 + s),
		Singular:         s == 0,
		NObs:             pr.n,
		NDonors:          pr.j,
		REMLCriterion: e.ldL2 + e.logDet +
			pr.df*(1+math.Log(2*math.Pi*sigma2)) + pr.df*2*float64(pr.exp)*math.Ln2,
	}
	if !m.finite() {
		return nil, "its estimates overflow float64"
	}
	if !m.representable(s) {
		return nil, "its variances underflow float64 (the values are too close to zero on this scale)"
	}
	return m, ""
}

// representable reports whether the variances and standard errors of a fit at s survived the
// return to the scale of y, rather than underflowing to zero.
func (m *MixedModel) representable(s float64) bool {
	if !(m.ResidualVariance > 0) || (s > 0 && !(m.DonorVariance > 0)) {
		return false
	}
	for _, f := range m.FixedEffects {
		if !(f.StdError > 0) {
			return false
		}
	}
	return true
}

// finite reports whether every number of m is finite.
func (m *MixedModel) finite() bool {
	ok := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	if !ok(m.DonorVariance) || !ok(m.ResidualVariance) || !ok(m.ICC) || !ok(m.REMLCriterion) {
		return false
	}
	for _, f := range m.FixedEffects {
		if !ok(f.Estimate) || !ok(f.StdError) {
			return false
		}
	}
	return true
}

// brentRoot returns a root of f in [a, b], where fa = f(a) and fb = f(b) differ in sign, by
// Brent's method (inverse quadratic interpolation safeguarded by bisection), to machine
// precision. A NaN from f is treated as a positive value, so the search moves away from it.
func brentRoot(f func(float64) float64, a, b, fa, fb float64) float64 {
	const eps = 0x1p-52
	c, fc := a, fa
	d := b - a
	e := d
	for range 200 {
		if (fb > 0) == (fc > 0) {
			c, fc = a, fa
			d = b - a
			e = d
		}
		if math.Abs(fc) < math.Abs(fb) {
			a, b, c = b, c, b
			fa, fb, fc = fb, fc, fb
		}
		tol := 2*eps*math.Abs(b) + 1e-300
		m := (c - b) / 2
		if math.Abs(m) <= tol || fb == 0 {
			return b
		}
		if math.Abs(e) < tol || math.Abs(fa) <= math.Abs(fb) {
			d, e = m, m
		} else {
			var p, q float64
			sr := fb / fa
			if a == c {
				p = 2 * m * sr
				q = 1 - sr
			} else {
				qa := fa / fc
				r := fb / fc
				p = sr * (2*m*qa*(qa-r) - (b-a)*(r-1))
				q = (qa - 1) * (r - 1) * (sr - 1)
			}
			if p > 0 {
				q = -q
			} else {
				p = -p
			}
			if 2*p < 3*m*q-math.Abs(tol*q) && p < math.Abs(e*q/2) {
				e = d
				d = p / q
			} else {
				d, e = m, m
			}
		}
		a, fa = b, fb
		if math.Abs(d) > tol {
			b += d
		} else if m > 0 {
			b += tol
		} else {
			b -= tol
		}
		fb = f(b)
		if math.IsNaN(fb) {
			fb = math.Inf(1)
		}
	}
	return b
}
