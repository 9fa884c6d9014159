package gp

import (
	"fmt"
	"math"

	"github.com/clink-consortium/clink"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// data is the validated input of a fit: the observations, standardised, and the layout of the
// coordinates.
type data struct {
	dims      []Dim
	cont, cat []int       // indices of the continuous and categorical coordinates
	X         [][]float64 // copies of the rows
	y         []float64   // original units
	groups    []int       // nil when no observation has a group
	noiseVar  []float64   // original units², nil when none
	ym, ys    float64     // standardisation: z = (y − ym)/ys
	z         []float64
	nv        []float64    // noiseVar/ys², nil when none
	additive  bool         // the covariance has the additive first-order part (Config.Additive)
	warp      [][2]float64 // Kumaraswamy warps of the coordinates (warp.go), nil for none; X is warped
}

// params are hyperparameters in standardised units.
type params struct {
	ls                    []float64
	s2, noise, gvar, mean float64
	lin, main             float64 // variances of the slopes and of the level effects (0: none)
}

func (d *data) n() int   { return len(d.X) }
func (d *data) dim() int { return len(d.dims) }

// newData validates the input of a fit and standardises y.
func newData(X [][]float64, y []float64, cfg Config) (*data, error) {
	var fe clink.FieldErrors
	n := len(X)
	if n == 0 {
		fe.Addf("X", "has no rows, want at least one observation")
	}
	if len(y) != n {
		fe.Addf("y", "has %d values, X has %d rows", len(y), n)
	}
	dims := cfg.Dims
	if dims == nil && n > 0 {
		dims = make([]Dim, len(X[0]))
	}
	if n > 0 && len(dims) == 0 {
		fe.Addf("dims", "has no coordinates, want at least one")
	}
	for j, dm := range dims {
		switch dm.Kind {
		case Continuous:
		case Categorical:
			if dm.Levels < 1 {
				fe.Addf("dims", "coordinate %d is categorical with %d levels, want at least 1", j, dm.Levels)
			}
		default:
			fe.Addf("dims", "coordinate %d has kind %d, want Continuous or Categorical", j, dm.Kind)
		}
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	for i, row := range X {
		if err := checkRow(dims, row); err != nil {
			fe.Addf("X", "row %d: %v", i, err)
			if len(fe) >= 10 {
				break
			}
		}
	}
	for i, v := range y {
		if math.IsNaN(v) || !(math.Abs(v) <= maxAbsY) {
			fe.Addf("y", "entry %d is %g, want a finite number of magnitude at most %g", i, v, maxAbsY)
			break
		}
	}
	if cfg.Groups != nil {
		if len(cfg.Groups) != n {
			fe.Addf("groups", "has %d entries, X has %d rows", len(cfg.Groups), n)
		}
		for i, g := range cfg.Groups {
			if g < -1 {
				fe.Addf("groups", "entry %d is %d, want a group index >= 0 or -1 for none", i, g)
				break
			}
		}
	}
	if cfg.NoiseVar != nil {
		if len(cfg.NoiseVar) != n {
			fe.Addf("noise_var", "has %d entries, X has %d rows", len(cfg.NoiseVar), n)
		}
		for i, v := range cfg.NoiseVar {
			if !(v >= 0) || math.IsInf(v, 0) {
				fe.Addf("noise_var", "entry %d is %g, want a finite variance >= 0", i, v)
				break
			}
		}
	}
	if cfg.warp != nil && len(cfg.warp) != len(dims) {
		fe.Addf("hyper.warp", "has %d entries, want none or one per coordinate (%d)", len(cfg.warp), len(dims))
	}
	for i, ab := range cfg.warp {
		if !(ab[0] > 0 && ab[1] > 0) || math.IsInf(ab[0], 0) || math.IsInf(ab[1], 0) {
			fe.Addf("hyper.warp", "entry %d is %v, want two finite positive numbers", i, ab)
		}
	}
	if math.IsNaN(cfg.FixedNoise) || math.IsInf(cfg.FixedNoise, 0) || cfg.FixedNoise < 0 {
		fe.Addf("fixed_noise", "is %g, want a finite variance >= 0 (0 to fit the noise)", cfg.FixedNoise)
	}
	if h := cfg.Start; h != nil {
		if len(h.Lengthscales) != len(dims) {
			fe.Addf("start.lengthscales", "has %d entries, want one per coordinate (%d)", len(h.Lengthscales), len(dims))
		}
		for _, v := range append([]float64{h.Outputscale, h.Noise, h.GroupVar}, h.Lengthscales...) {
			if !(v >= 0) || math.IsInf(v, 0) {
				fe.Addf("start", "has %g, want finite numbers >= 0", v)
				break
			}
		}
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}

	d := &data{dims: append([]Dim(nil), dims...), X: make([][]float64, n), y: append([]float64(nil), y...), additive: cfg.Additive}
	for j, dm := range dims {
		if dm.Kind == Continuous {
			d.cont = append(d.cont, j)
		} else {
			d.cat = append(d.cat, j)
		}
	}
	if cfg.warp != nil {
		d.warp = append([][2]float64(nil), cfg.warp...)
	}
	for i, row := range X {
		d.X[i] = append([]float64(nil), d.warpX(row)...)
	}
	for _, g := range cfg.Groups {
		if g >= 0 {
			d.groups = append([]int(nil), cfg.Groups...)
			break
		}
	}
	if cfg.NoiseVar != nil {
		d.noiseVar = append([]float64(nil), cfg.NoiseVar...)
	}
	d.standardise()
	if d.noiseVar != nil {
		d.nv = make([]float64, n)
		for i, v := range d.noiseVar {
			d.nv[i] = v / (d.ys * d.ys)
		}
	}
	return d, nil
}

// checkRow reports what is wrong with one input row, if anything.
func checkRow(dims []Dim, row []float64) error {
	if len(row) != len(dims) {
		return fmt.Errorf("has %d values, want %d (one per coordinate)", len(row), len(dims))
	}
	for j, v := range row {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("coordinate %d is %g, want a finite number", j, v)
		}
		if dims[j].Kind == Categorical && (v != math.Trunc(v) || v < 0 || v >= float64(dims[j].Levels)) {
			return fmt.Errorf("coordinate %d is %g, want a level index 0..%d", j, v, dims[j].Levels-1)
		}
	}
	return nil
}

// standardise sets ym, ys and z. The sum is scaled so that it cannot overflow.
func (d *data) standardise() {
	n := float64(d.n())
	var mean float64
	for _, v := range d.y {
		mean += v / n
	}
	var ss float64
	for _, v := range d.y {
		ss += (v - mean) * (v - mean)
	}
	sd := 1.0
	if d.n() > 1 {
		if s := math.Sqrt(ss / (n - 1)); s > 0 && !math.IsInf(s, 0) {
			sd = s
		}
	}
	d.ym, d.ys = mean, sd
	d.z = make([]float64, d.n())
	for i, v := range d.y {
		d.z[i] = (v - mean) / sd
	}
}

// with returns d extended by the observations (Xn, yn), with no group and no known noise,
// standardised as d is.
func (d *data) with(Xn [][]float64, yn []float64) (*data, error) {
	var fe clink.FieldErrors
	if len(yn) != len(Xn) {
		fe.Addf("ynew", "has %d values, Xnew has %d rows", len(yn), len(Xn))
	}
	for i, row := range Xn {
		if err := checkRow(d.dims, row); err != nil {
			fe.Addf("Xnew", "row %d: %v", i, err)
			break
		}
	}
	for i, v := range yn {
		if math.IsNaN(v) || !(math.Abs(v) <= maxAbsY) {
			fe.Addf("ynew", "entry %d is %g, want a finite number of magnitude at most %g", i, v, maxAbsY)
			break
		}
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	e := *d
	n, q := d.n(), len(Xn)
	e.X = make([][]float64, n, n+q)
	copy(e.X, d.X)
	for _, row := range Xn {
		e.X = append(e.X, append([]float64(nil), d.warpX(row)...))
	}
	e.y = append(append(make([]float64, 0, n+q), d.y...), yn...)
	e.z = append(make([]float64, 0, n+q), d.z...)
	for _, v := range yn {
		e.z = append(e.z, (v-d.ym)/d.ys)
	}
	if d.groups != nil {
		e.groups = append(make([]int, 0, n+q), d.groups...)
		for range q {
			e.groups = append(e.groups, -1)
		}
	}
	if d.noiseVar != nil {
		e.noiseVar = append(append(make([]float64, 0, n+q), d.noiseVar...), make([]float64, q)...)
		e.nv = append(append(make([]float64, 0, n+q), d.nv...), make([]float64, q)...)
	}
	return &e, nil
}

// cov returns the prior covariance of f at a and b under p (standardised units): s² k(a, b)
// plus, with the additive part, v_lin Σ_k (a_k − ½)(b_k − ½) over the continuous coordinates
// and v_main Σ_j [a_j = b_j] over the categorical ones.
func (d *data) cov(a, b []float64, p params) float64 {
	v := p.s2 * d.kernel(a, b, p.ls)
	if p.lin > 0 {
		v += p.lin * d.linDot(a, b)
	}
	if p.main > 0 {
		v += p.main * d.matches(a, b)
	}
	return v
}

// linDot is Σ_k (a_k − ½)(b_k − ½) over the continuous coordinates.
func (d *data) linDot(a, b []float64) float64 {
	var s float64
	for _, k := range d.cont {
		s += (a[k] - 0.5) * (b[k] - 0.5)
	}
	return s
}

// matches is the number of categorical coordinates where a and b have the same level.
func (d *data) matches(a, b []float64) float64 {
	var s float64
	for _, j := range d.cat {
		if a[j] == b[j] {
			s++
		}
	}
	return s
}

// kernel returns k(a, b) (unit variance) under the length scales ls.
func (d *data) kernel(a, b []float64, ls []float64) float64 {
	var r2 float64
	for _, k := range d.cont {
		t := (a[k] - b[k]) / ls[k]
		r2 += t * t
	}
	v := matern52(math.Sqrt(r2))
	if len(d.cat) > 0 {
		var h float64
		for _, j := range d.cat {
			if a[j] != b[j] {
				h += 1 / ls[j]
			}
		}
		v *= math.Exp(-h / float64(len(d.cat)))
	}
	return v
}

const sqrt5 = 2.23606797749978969640917366873127623544061835961152572427089

// maxR is the scaled distance beyond which the Matérn 5/2 correlation is taken as 0: there
// e^(−√5 r) underflows (it is below 1e-388), and the polynomial factor could overflow.
const maxR = 400

// matern52 is the Matérn 5/2 correlation at scaled distance r.
func matern52(r float64) float64 {
	if !(r <= maxR) {
		return 0
	}
	return (1 + sqrt5*r + 5*r*r/3) * math.Exp(-sqrt5*r)
}

// matern52Grad returns the Matérn 5/2 correlation at scaled distance r (r² = r2) and
// g = (5/3)(1 + √5 r) e^(−√5 r), so that ∂m/∂(r²) = −g/2.
func matern52Grad(r, r2 float64) (m, g float64) {
	if !(r <= maxR) {
		return 0, 0
	}
	ex := math.Exp(-sqrt5 * r)
	return (1 + sqrt5*r + 5*r2/3) * ex, 5.0 / 3 * (1 + sqrt5*r) * ex
}

// covariance fills K with the covariance matrix of the observations under p (without jitter).
func (d *data) covariance(K *mat.SymDense, p params) {
	n := d.n()
	for i := range n {
		for j := i + 1; j < n; j++ {
			v := d.cov(d.X[i], d.X[j], p)
			if d.groups != nil && d.groups[i] >= 0 && d.groups[i] == d.groups[j] {
				v += p.gvar
			}
			K.SetSym(i, j, v)
		}
		v := d.cov(d.X[i], d.X[i], p) + p.noise
		if d.groups != nil && d.groups[i] >= 0 {
			v += p.gvar
		}
		if d.nv != nil {
			v += d.nv[i]
		}
		K.SetSym(i, i, v)
	}
}

// factor is the Cholesky factorisation K + jitter·I = UᵀU of the covariance matrix of the
// observations, with the weights of the posterior mean.
type factor struct {
	chol   mat.Cholesky
	u      blas64.Triangular // the upper factor U, a view of chol's storage
	jitter float64           // standardised units
	alpha  []float64         // K⁻¹(z − μ)
}

// factorize factorises K, adding jitter to its diagonal (in place) when needed. K must not be
// used afterwards.
func (f *factor) factorize(K *mat.SymDense) error {
	n := K.SymmetricDim()
	var mean float64
	for i := range n {
		mean += K.At(i, i) / float64(n)
	}
	f.jitter = 0
	if f.tryFactorize(K) {
		return nil
	}
	added := 0.0
	for jf := 1e-10; jf <= maxJitterFactor*1.0001; jf *= 10 {
		j := jf * mean
		for i := range n {
			K.SetSym(i, i, K.At(i, i)+j-added)
		}
		added = j
		if f.tryFactorize(K) {
			f.jitter = j
			return nil
		}
	}
	return fmt.Errorf("gp: %w (%d×%d, jitter up to %g of the mean diagonal %g)", ErrNotPositiveDefinite, n, n, maxJitterFactor, mean)
}

// maxCond is the largest condition number of a factorisation accepted without more jitter:
// beyond it solves lose all but a few digits.
const maxCond = 1e14

func (f *factor) tryFactorize(K *mat.SymDense) bool {
	if !f.chol.Factorize(K) || !(f.chol.Cond() <= maxCond) {
		return false
	}
	f.u = f.chol.RawU().(*mat.TriDense).RawTriangular()
	return true
}

// solve returns K⁻¹b.
func (f *factor) solve(b []float64) []float64 {
	x := append([]float64(nil), b...)
	v := blas64.Vector{N: len(x), Inc: 1, Data: x}
	blas64.Trsv(blas.Trans, f.u, v)
	blas64.Trsv(blas.NoTrans, f.u, v)
	return x
}

// halfSolve overwrites b with U⁻ᵀb, so that |U⁻ᵀb|² = bᵀK⁻¹b.
func (f *factor) halfSolve(b []float64) {
	blas64.Trsv(blas.Trans, f.u, blas64.Vector{N: len(b), Inc: 1, Data: b})
}

// logDet returns log det(K + jitter·I).
func (f *factor) logDet() float64 {
	var s float64
	for i := range f.u.N {
		s += math.Log(f.u.Data[i*f.u.Stride+i])
	}
	return 2 * s
}
