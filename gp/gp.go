// Package gp is Gaussian-process regression for the Bayesian optimiser (domain.md §9): a
// constant mean, a Matérn 5/2 kernel with one length scale per continuous input times a
// categorical kernel over categorical inputs, an optional donor random effect and known
// per-observation noise, with hyperparameters fitted by maximum a posteriori marginal
// likelihood. It is written on gonum's mat.Cholesky; no Go GP library is available to us.
//
// # Model
//
// Observation i is
//
//	y_i = μ + f(x_i) + b_{g(i)} + ε_i,   f ~ GP(0, s² k(x, x′)),   b_g ~ N(0, σ_g²),   ε_i ~ N(0, σ² + v_i),
//
// where g(i) is the donor (Config.Groups, −1 for none: then b is absent), v_i the known noise
// variance of the observation (Config.NoiseVar, 0 when absent) and σ² the fitted noise
// variance. The kernel is the product
//
//	k(x, x′) = m(r) · exp(−(1/C) Σ_j [x_j ≠ x′_j] / ℓ_j),   m(r) = (1 + √5 r + 5r²/3) e^(−√5 r),
//	r² = Σ_k (x_k − x′_k)² / ℓ_k²,
//
// with k over the continuous coordinates (which live in [0, 1]) and j over the C categorical
// ones (level indices). The categorical factor is BoTorch's CategoricalKernel (a Hamming
// distance averaged over the categorical coordinates, each with its own scale): two levels that
// differ in coordinate j are correlated exp(−1/(C ℓ_j)), so a small ℓ_j makes the levels
// independent and a large one makes coordinate j irrelevant. k(x, x) = 1, so s² is the prior
// variance of f.
//
// With Config.Additive, f also has a first-order part: f(x) = g(x) + Σ_k β_k (x_k − ½) +
// Σ_j γ_{j, x_j}, with g the GP above, slopes β_k ~ N(0, v_lin) on the continuous coordinates
// and level effects γ ~ N(0, v_main) on the categorical ones, integrated out. That adds
// v_lin Σ_k (x_k − ½)(x′_k − ½) + v_main Σ_j [x_j = x′_j] to the covariance; v_lin and
// v_main (Hyper.Linear, Hyper.Main) are fitted with the rest, with Gamma(2, 0.5) priors in
// standardised units (mode 2, mean 4). A stationary kernel alone reverts to μ just beyond the
// data; the slopes let the model carry a trend to the bounds of the box, with a variance that
// grows towards them. The priors hold first-order effects to be about as large as the
// variation of y (the effect-hierarchy principle of experimental design: main effects are
// likelier to matter than interactions): with a nearly flat prior, a few points scattered over
// many factors are explained as well by the stationary part with short length scales, v_lin
// and v_main collapse towards 0, and a trend that a first batch confounds with a categorical
// level (long cultures tried only without a feeder, say) is never followed to the bound where
// the optimum lies (the simulator benchmark: 26 of 40 campaigns at 95 % of the best doses with
// Gamma(1.1, 0.05), 35 of 40 with Gamma(2, 0.5), on each of two seed sets).
//
// Predictions (Predict, PredictGrad, PredictJoint) are of μ + f(x): the latent function
// without noise and without a donor effect, which is what acquisition functions want when all
// points of a batch share one donor (domain.md §9.2).
//
// With Config.Warp, each continuous coordinate is first mapped by a Kumaraswamy distribution
// function w(x) = 1 − (1 − x^a)^b (input warping, warp.go), chosen per coordinate by a search
// over a small grid of (a, b) for the highest log marginal likelihood plus a LogNormal prior on
// a and b; predictions and their gradients take unwarped inputs. It is opt-in: on the
// benchmarks it was within noise of the unwarped model (docs/benchmarks.md).
//
// # Units
//
// y is standardised internally to mean 0 and standard deviation 1 (the sample SD; 1 when it is
// 0 or there is one observation), as BoTorch's Standardize transform does. Every number that
// goes in or comes out (Hyper, NoiseVar, FixedNoise, predictions, the log marginal likelihood)
// is in the original units of y; the bounds and priors below are in standardised units.
//
// # Fitting
//
// Fit maximises log p(y | θ) + log p(θ) over θ = (ℓ, s², σ², σ_g²) in log space with gonum's
// L-BFGS and analytic gradients; the constant mean μ is profiled out (its generalised least
// squares value 1ᵀK⁻¹y / 1ᵀK⁻¹1 given the rest, which is where the likelihood is maximal in
// μ, so the gradient of the profiled objective is its partial gradient). The priors are weak and
// follow BoTorch's defaults for low-dimensional noisy problems (botorch/models/utils/
// gpytorch_modules.py: get_matern_kernel_with_gamma_prior and
// get_gaussian_likelihood_with_gamma_prior), with the Gamma(shape, rate) parametrisation:
//
//	continuous ℓ   Gamma(3, 6)      mode 1/3, mean 1/2
//	s²             Gamma(2, 0.15)   mode 6.7
//	σ²             Gamma(1.1, 0.05) nearly flat; mode 2
//	categorical ℓ  Gamma(2, 1)      mode 1 (ours: BoTorch puts no prior here)
//	σ_g²           Gamma(1.1, 0.05) as σ² (ours)
//	v_lin, v_main  Gamma(2, 0.5)    mode 2, mean 4 (ours, Config.Additive; see above)
//
// They keep fits on a few noisy points away from degenerate optima (a length scale of 0 or
// infinity, all variance in the noise). μ has no prior; the fitted μ is reported in Hyper.Mean
// and used as a known constant by the predictions (their variance has no term for the
// uncertainty of μ). The bounds MinLengthscale … MaxGroupVar hold each parameter in a box: the
// optimiser works on unbounded coordinates that are clamped to the box, with a quadratic
// penalty outside it that leads it back.
//
// The search starts from a default point (ℓ = 0.5 continuous, 1 categorical, s² = 1,
// σ² = 0.05, σ_g² = 0.1 in standardised units, or Config.Start) and from Config.Restarts
// random points drawn from Config.Seed (log-uniform over ℓ ∈ [0.05, 2] continuous, [0.1, 10]
// categorical, s² ∈ [0.1, 10], σ² ∈ [10⁻⁴, 0.5], σ_g² ∈ [10⁻³, 1]). Every start first gets
// 8 L-BFGS iterations, then the two best are run to convergence and the better optimum wins:
// when the starts lead to one optimum, as they mostly do, that costs about a third of running
// them all to the end. The starts run on up to GOMAXPROCS goroutines; the result does not
// depend on their number.
//
// When the covariance matrix is not numerically positive definite (its Cholesky factorisation
// fails, or for the final model its estimated condition number exceeds 10¹⁴), increasing
// jitter (10⁻¹⁰ to 10⁻⁶ times its mean diagonal) is added to the diagonal; beyond that the fit
// fails with ErrNotPositiveDefinite. Model.Jitter reports what was added.
//
// A Model is immutable and safe for concurrent use. No input makes this package panic: bad
// input to Fit, FitWith and Condition is an EINVALID error (clink.FieldErrors) naming the
// field, and the prediction methods return NaN (PredictJoint nil) for an x of the wrong length
// or with a non-finite value.
package gp

import (
	"errors"
	"fmt"
	"math"

	"github.com/clink-consortium/clink"
	"gonum.org/v1/gonum/mat"
)

// DimKind is the kind of one input coordinate.
type DimKind int

// Kinds of input coordinates.
const (
	Continuous  DimKind = iota // a value in [0, 1]
	Categorical                // a level index 0..Levels−1 stored as float64
)

// Dim describes one input coordinate. Continuous coordinates live in [0,1]; categorical
// coordinates hold a level index 0..Levels-1 stored as float64.
type Dim struct {
	Kind   DimKind
	Levels int // number of levels of a categorical coordinate; ignored for continuous ones
}

// Config says what to fit and how.
type Config struct {
	// Dims has one entry per input coordinate; nil means all continuous.
	Dims []Dim
	// Groups is optional: the group (donor) index of each observation, −1 for none. It adds
	// a random effect b_g ~ N(0, σ_g²) shared by the observations of group g.
	Groups []int
	// NoiseVar is optional: a known noise variance per observation (original y units²),
	// added to the fitted noise.
	NoiseVar []float64
	// Restarts is the number of random starts of the hyperparameter optimisation besides
	// the default start: 0 means DefaultRestarts, a negative number none.
	Restarts int
	// Seed makes the fit reproducible: the same data, Config and Seed give the same model.
	Seed uint64
	// FixedNoise, if > 0, is the noise variance σ² (original units²), fixed instead of
	// fitted (noise-free problems: 1e-6).
	FixedNoise float64
	// Additive adds a first-order part to f (see the package documentation): a slope per
	// continuous coordinate and an effect per level of each categorical one, with fitted
	// prior variances (Hyper.Linear, Hyper.Main).
	Additive bool
	// Start, if not nil, replaces the default start of the optimisation (original units;
	// values beyond the bounds are clamped, Mean is not used). In a Bayesian-optimisation loop
	// the previous fit's hyperparameters make a good start: with Restarts < 0 that is a single
	// L-BFGS run, several times cheaper than the default.
	Start *Hyper
	// Warp warps each continuous coordinate by the Kumaraswamy distribution function that
	// fits best (warp.go); the model's Hyper().Warp holds the warps.
	Warp bool
	warp [][2]float64 // fixed warps (one per coordinate), nil for none
}

// DefaultRestarts is the number of random starts when Config.Restarts is 0.
const DefaultRestarts = 8

// Hyper holds the hyperparameters of a model, in original units.
type Hyper struct {
	// Lengthscales has one entry per coordinate: ℓ of the Matérn 5/2 kernel for a
	// continuous one, the categorical kernel's scale for a categorical one.
	Lengthscales []float64
	Outputscale  float64 // signal variance s², original y units²
	Noise        float64 // noise variance σ², original y units² (without NoiseVar)
	GroupVar     float64 // donor random-effect variance σ_g², original y units² (0 when no Groups)
	Mean         float64 // constant mean μ, original units
	// Linear and Main are the prior variances of the additive part (Config.Additive): of the
	// slope of each continuous coordinate (original y units² per unit coordinate²) and of the
	// effect of each categorical level (original y units²). Zero means none.
	Linear, Main float64
	// Warp has the Kumaraswamy parameters {a, b} of each coordinate (warp.go), nil for none.
	Warp [][2]float64
}

// Bounds on the hyperparameters in standardised units (y scaled to SD 1); Fit keeps every
// fitted value within them (the length-scale bounds hold for both kinds of coordinate). They
// are wide: the priors, not the bounds, keep fits sensible. FitWith takes any values.
const (
	MinLengthscale = 1e-2
	MaxLengthscale = 1e2
	MinOutputscale = 1e-4
	MaxOutputscale = 1e4
	MinNoise       = 1e-6
	MaxNoise       = 1e1
	MinGroupVar    = 1e-6
	MaxGroupVar    = 1e1
	MinLinear      = 1e-6
	MaxLinear      = 1e2
	MinMain        = 1e-6
	MaxMain        = 1e1
)

// Limits of the input, beyond which the arithmetic could overflow or underflow.
const (
	maxAbsY         = 1e100  // largest |y| or |μ|
	maxVar          = 1e200  // largest variance accepted in original units
	minStdVar       = 1e-100 // smallest outputscale accepted in standardised units
	maxJitterFactor = 1e-6   // largest jitter, relative to the mean diagonal
)

// ErrNotPositiveDefinite is the error (wrapped) when the covariance matrix of the observations
// cannot be factorised even with the largest jitter, or the factorisation gives non-finite
// weights: hyperparameters so extreme that the matrix is singular in floating point.
var ErrNotPositiveDefinite = errors.New("covariance matrix is not positive definite even with jitter")

// Model is a Gaussian process conditioned on observations with fixed hyperparameters.
type Model struct {
	d   *data
	p   params // hyperparameters in standardised units
	fac factor
	lml float64 // log marginal likelihood in original units
}

// Fit fits the hyperparameters by maximum a posteriori marginal likelihood (see the package
// documentation) and returns the model conditioned on (X, y) with them. X has one row per
// observation with one value per coordinate of cfg.Dims.
func Fit(X [][]float64, y []float64, cfg Config) (*Model, error) {
	if cfg.Warp {
		return fitWarped(X, y, cfg)
	}
	d, err := newData(X, y, cfg)
	if err != nil {
		return nil, err
	}
	p, err := optimise(d, cfg)
	if err != nil {
		return nil, err
	}
	return newModel(d, p)
}

// FitWith returns the model conditioned on (X, y) with the hyperparameters h, without
// optimisation. cfg.Restarts and cfg.Seed are not used, and cfg.FixedNoise is ignored in
// favour of h.Noise. h.GroupVar must be 0 when cfg.Groups is nil.
func FitWith(X [][]float64, y []float64, cfg Config, h Hyper) (*Model, error) {
	cfg.warp = h.Warp
	d, err := newData(X, y, cfg)
	if err != nil {
		return nil, err
	}
	var fe clink.FieldErrors
	if len(h.Lengthscales) != d.dim() {
		fe.Addf("hyper.lengthscales", "has %d entries, want one per coordinate (%d)", len(h.Lengthscales), d.dim())
	}
	for i, l := range h.Lengthscales {
		if !(l > 0) || math.IsInf(l, 0) {
			fe.Addf("hyper.lengthscales", "entry %d is %g, want a finite positive number", i, l)
		}
	}
	if !(h.Outputscale > 0 && h.Outputscale <= maxVar) {
		fe.Addf("hyper.outputscale", "is %g, want a positive number at most %g", h.Outputscale, maxVar)
	}
	if !(h.Noise >= 0 && h.Noise <= maxVar) {
		fe.Addf("hyper.noise", "is %g, want a number in [0, %g]", h.Noise, maxVar)
	}
	if !(h.GroupVar >= 0 && h.GroupVar <= maxVar) {
		fe.Addf("hyper.group_var", "is %g, want a number in [0, %g]", h.GroupVar, maxVar)
	}
	if h.GroupVar > 0 && d.groups == nil {
		fe.Addf("hyper.group_var", "is %g, but no groups were given", h.GroupVar)
	}
	if !(h.Linear >= 0 && h.Linear <= maxVar) {
		fe.Addf("hyper.linear", "is %g, want a number in [0, %g]", h.Linear, maxVar)
	}
	if !(h.Main >= 0 && h.Main <= maxVar) {
		fe.Addf("hyper.main", "is %g, want a number in [0, %g]", h.Main, maxVar)
	}
	if !(math.Abs(h.Mean) <= maxAbsY) {
		fe.Addf("hyper.mean", "is %g, want a finite number of magnitude at most %g", h.Mean, maxAbsY)
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	s2 := d.ys * d.ys
	p := params{
		ls:    append([]float64(nil), h.Lengthscales...),
		s2:    h.Outputscale / s2,
		noise: h.Noise / s2,
		gvar:  h.GroupVar / s2,
		mean:  (h.Mean - d.ym) / d.ys,
		lin:   h.Linear / s2,
		main:  h.Main / s2,
	}
	d.additive = p.lin > 0 || p.main > 0
	if !(p.s2 >= minStdVar) || math.IsInf(p.s2, 0) || math.IsInf(p.noise, 0) || math.IsInf(p.gvar, 0) || math.IsInf(p.mean, 0) {
		return nil, clink.Invalid("hyper", "out of range for the scale of y (SD %g): the outputscale must be within %g to %g times the variance of y", d.ys, minStdVar, maxVar)
	}
	return newModel(d, p)
}

// newModel factorises the covariance matrix of d under p and computes the weights of the
// posterior mean.
func newModel(d *data, p params) (*Model, error) {
	m := &Model{d: d, p: p}
	K := mat.NewSymDense(d.n(), nil)
	d.covariance(K, p)
	if err := m.fac.factorize(K); err != nil {
		return nil, err
	}
	if err := m.finish(); err != nil {
		return nil, err
	}
	return m, nil
}

// finish computes the weights α = K⁻¹(z − μ) and the log marginal likelihood from the
// factorisation. It fails when they are not finite, which the factorisation's condition check
// should have ruled out.
func (m *Model) finish() error {
	n := m.d.n()
	r := make([]float64, n)
	for i, z := range m.d.z {
		r[i] = z - m.p.mean
	}
	m.fac.alpha = m.fac.solve(r)
	var quad float64
	for i := range r {
		quad += r[i] * m.fac.alpha[i]
	}
	m.lml = -0.5*quad - 0.5*m.fac.logDet() - 0.5*float64(n)*math.Log(2*math.Pi) - float64(n)*math.Log(m.d.ys)
	if math.IsNaN(m.lml) || math.IsInf(m.lml, 0) {
		return fmt.Errorf("gp: %w (the log marginal likelihood is %g)", ErrNotPositiveDefinite, m.lml)
	}
	return nil
}

// Hyper returns the hyperparameters of the model in original units.
func (m *Model) Hyper() Hyper {
	s2 := m.d.ys * m.d.ys
	return Hyper{
		Lengthscales: append([]float64(nil), m.p.ls...),
		Outputscale:  m.p.s2 * s2,
		Noise:        m.p.noise * s2,
		GroupVar:     m.p.gvar * s2,
		Mean:         m.d.ym + m.p.mean*m.d.ys,
		Linear:       m.p.lin * s2,
		Main:         m.p.main * s2,
		Warp:         append([][2]float64(nil), m.d.warp...),
	}
}

// LogMarginalLikelihood returns log p(y | hyperparameters), the log density of the observed y
// (original units) under the model, without the priors on the hyperparameters.
func (m *Model) LogMarginalLikelihood() float64 { return m.lml }

// N returns the number of observations the model is conditioned on.
func (m *Model) N() int { return m.d.n() }

// Dims returns the description of the input coordinates (all Continuous when Config.Dims was
// nil).
func (m *Model) Dims() []Dim { return append([]Dim(nil), m.d.dims...) }

// Jitter returns the jitter added to the diagonal of the covariance matrix, in original y
// units² (0 when none was needed).
func (m *Model) Jitter() float64 { return m.fac.jitter * m.d.ys * m.d.ys }
