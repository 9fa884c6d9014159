package bo

import (
	"fmt"
	"math"
	"sort"

	"github.com/clink-consortium/clink/gp"
)

// Problem is a test problem on the unit cube [0,1]^Dims (or on Space, when some coordinates
// are categorical). Every objective is maximised; observations are the true values plus
// independent Gaussian noise with standard deviation NoiseSD[k].
type Problem struct {
	Name string `json:"name"`
	Dims int    `json:"dims"`
	// Space describes the coordinates when some are categorical (nil: all continuous); it
	// then has Dims entries.
	Space      []gp.Dim  `json:"-"`
	Objectives int       `json:"objectives"`
	NoiseSD    []float64 `json:"noise_sd"`
	// F returns the true (noise-free) objective values at x, all to be maximised.
	F func(x []float64) []float64 `json:"-"`
	// Optimum is the largest true value (one objective); NaN when unknown or not applicable.
	Optimum float64 `json:"optimum"`
	// MaxHV is the largest hypervolume reachable above Ref (several objectives), NaN otherwise.
	MaxHV float64 `json:"max_hv"`
	// Ref is the hypervolume reference point, in the maximised orientation.
	Ref []float64 `json:"ref,omitempty"`
	// Protocol is the budget of the published benchmark (§9.3 of the domain reference), with
	// the noise SD known to the optimizer as in the BoTorch tutorials that published it.
	Protocol Campaign `json:"protocol"`
}

// Hartmann 6 constants, from Surjanovic S, Bingham D, Virtual Library of Simulation
// Experiments: Test Functions and Datasets, https://www.sfu.ca/~ssurjano/hart6.html (after
// Dixon and Szegö 1978). The global minimum is −3.32237 at
// (0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573).
var (
	hartmannAlpha = [4]float64{1.0, 1.2, 3.0, 3.2}
	hartmannA     = [4][6]float64{
		{10, 3, 17, 3.50, 1.7, 8},
		{0.05, 10, 17, 0.1, 8, 14},
		{3, 3.5, 1.7, 10, 17, 8},
		{17, 8, 0.05, 10, 0.1, 14},
	}
	hartmannP = [4][6]float64{
		{0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886},
		{0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991},
		{0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650},
		{0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381},
	}
)

// HartmannArgmin is the published minimiser of Hartmann6 (Surjanovic and Bingham).
var HartmannArgmin = []float64{0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573}

// HartmannOptimum is the published minimum of Hartmann6, −3.32237, negated: the maximum of
// −Hartmann6.
const HartmannOptimum = 3.32237

// Hartmann6 is the six-dimensional Hartmann function on [0,1]^6,
// f(x) = −Σ_i α_i exp(−Σ_j A_ij (x_j − P_ij)²), to be minimised. x must have 6 coordinates.
func Hartmann6(x []float64) float64 {
	var f float64
	for i := range 4 {
		var s float64
		for j := range 6 {
			d := x[j] - hartmannP[i][j]
			s += hartmannA[i][j] * d * d
		}
		f -= hartmannAlpha[i] * math.Exp(-s)
	}
	return f
}

// Branin is the Branin–Hoo function on its usual domain x1 ∈ [−5,10], x2 ∈ [0,15],
// (x2 − b x1² + c x1 − r)² + s(1 − t)cos(x1) + s with a = 1, b = 5.1/(4π²), c = 5/π, r = 6,
// s = 10, t = 1/(8π) (Surjanovic and Bingham, https://www.sfu.ca/~ssurjano/branin.html), to be
// minimised. Its minimum 0.397887 is reached at (−π, 12.275), (π, 2.275) and (9.42478, 2.475).
func Branin(x1, x2 float64) float64 {
	const (
		b = 5.1 / (4 * math.Pi * math.Pi)
		c = 5 / math.Pi
		r = 6
		s = 10
		t = 1 / (8 * math.Pi)
	)
	u := x2 - b*x1*x1 + c*x1 - r
	return u*u + s*(1-t)*math.Cos(x1) + s
}

// Currin is the Currin et al. (1991) exponential function on [0,1]²,
// [1 − exp(−1/(2 x2))] (2300x1³ + 1900x1² + 2092x1 + 60)/(100x1³ + 500x1² + 4x1 + 20)
// (Surjanovic and Bingham, https://www.sfu.ca/~ssurjano/curretal88exp.html), to be minimised
// in BraninCurrin. At x2 = 0 the first factor is its limit, 1.
func Currin(x1, x2 float64) float64 {
	f := 1.0
	if x2 > 0 {
		f = -math.Expm1(-1 / (2 * x2))
	}
	num := ((2300*x1+1900)*x1+2092)*x1 + 60
	den := ((100*x1+500)*x1+4)*x1 + 20
	return f * num / den
}

// BraninCurrinMaxHV is the maximum hypervolume of BraninCurrin above the reference point
// (18, 6), computed on a dense Pareto front (TestBraninCurrinMaxHV: between 59.4062 and
// 59.4070).
const BraninCurrinMaxHV = 59.4066

// BoTorchBraninCurrinMaxHV is the maximum hypervolume BoTorch states for BraninCurrin
// (botorch.test_functions.multi_objective.BraninCurrin._max_hv, "approximated using
// NSGA-II"), which its tutorials use for the log hypervolume gap. It is about 0.047 short of
// the true maximum.
const BoTorchBraninCurrinMaxHV = 59.36011874867746

// NoisyHartmann6 is the single-objective benchmark: maximise −Hartmann6 on [0,1]^6 from
// observations with noise SD 0.25, 10 initial points then batches of 3 up to 70 evaluations
// (the BoTorch closed-loop tutorial's budget, without its constraint).
func NoisyHartmann6() Problem {
	return Problem{
		Name: "hartmann6-noisy", Dims: 6, Objectives: 1, NoiseSD: []float64{0.25},
		F:       func(x []float64) []float64 { return []float64{-Hartmann6(x)} },
		Optimum: HartmannOptimum, MaxHV: math.NaN(),
		Protocol: Campaign{Initial: 10, Batch: 3, Budget: 70, KnownNoise: true},
	}
}

// BraninCurrinProblem is the two-objective benchmark as BoTorch defines it: x ∈ [0,1]²,
// objectives Branin(15x1 − 5, 15x2) and Currin(x1, x2), both minimised in the original and
// maximised here as their negatives; noise SD (15.19, 0.63); reference point (18, 6) in the
// original, (−18, −6) here; 2(d+1) = 6 initial Sobol points, then 80 evaluations in 20
// batches of 4 (86 in all): the protocol of the BoTorch tutorial run that published qNEHVI's
// 57.77 (tutorials/multi_objective_bo, "N_BATCH = 20", "BATCH_SIZE = 4",
// "generate_initial_data(n=2 * (problem.dim + 1))").
func BraninCurrinProblem() Problem {
	return Problem{
		Name: "branincurrin", Dims: 2, Objectives: 2, NoiseSD: []float64{15.19, 0.63},
		F: func(x []float64) []float64 {
			return []float64{-Branin(15*x[0]-5, 15*x[1]), -Currin(x[0], x[1])}
		},
		Optimum: math.NaN(), MaxHV: BraninCurrinMaxHV, Ref: []float64{-18, -6},
		Protocol: Campaign{Initial: 6, Batch: 4, Budget: 86, KnownNoise: true},
	}
}

// space returns the coordinates of p.
func (p Problem) space() []gp.Dim {
	if p.Space != nil {
		return p.Space
	}
	return make([]gp.Dim, p.Dims)
}

// problems are the synthetic problems by name.
var problems = map[string]func() Problem{
	"hartmann6-noisy": NoisyHartmann6,
	"branincurrin":    BraninCurrinProblem,
}

// ProblemNames lists the names ProblemByName knows, sorted.
func ProblemNames() []string {
	names := make([]string, 0, len(problems))
	for n := range problems {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ProblemByName returns the synthetic problem called name ("hartmann6-noisy" or
// "branincurrin").
func ProblemByName(name string) (Problem, error) {
	f, ok := problems[name]
	if !ok {
		return Problem{}, fmt.Errorf("bo: problem %q unknown (known: %v)", name, ProblemNames())
	}
	return f(), nil
}
