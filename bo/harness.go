package bo

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"
	"time"
)

// Strategy names a way of choosing the points of a campaign.
type Strategy string

// The strategies the harness knows.
const (
	// StrategyBO starts with Campaign.Initial scrambled Sobol points, then asks Suggest for
	// batches: LogNEI for one objective, LogNEHVI for two.
	StrategyBO Strategy = "bo"
	// StrategySobol takes the whole budget from one scrambled Sobol sequence (the same first
	// points as StrategyBO's initial design for the same seed).
	StrategySobol Strategy = "sobol"
	// StrategyRandom draws every point uniformly.
	StrategyRandom Strategy = "random"
)

// Campaign is the budget of one optimisation run and the tuning of Suggest for StrategyBO
// (zero values mean Suggest's defaults).
type Campaign struct {
	Initial int `json:"initial"` // space-filling points before the first suggestion
	Batch   int `json:"batch"`   // points per suggestion
	Budget  int `json:"budget"`  // evaluations in all, initial points included

	// KnownNoise gives the optimizer the problem's noise SD with every observation
	// (Observation.SE), as the BoTorch tutorials behind the published figures do (their
	// models are fixed-noise GPs with the true noise variance); otherwise the GPs fit it.
	KnownNoise bool `json:"known_noise,omitempty"`

	Fantasies  int `json:"fantasies,omitempty"`
	RawSamples int `json:"raw_samples,omitempty"`
	Restarts   int `json:"restarts,omitempty"`
	GPRestarts int `json:"gp_restarts,omitempty"`
	// Stationary is Options.Stationary: GPs without the first-order trend term.
	Stationary bool `json:"stationary,omitempty"`
	// Warp is Options.Warp: input warping of the continuous coordinates.
	Warp bool `json:"warp,omitempty"`
}

// Trace is the record of one campaign.
type Trace struct {
	Problem  string   `json:"problem"`
	Strategy Strategy `json:"strategy"`
	Seed     uint64   `json:"seed"`
	// X, Y and True have one row per evaluation: the point, its noisy observation (what the
	// strategy saw) and its noise-free values.
	X    [][]float64 `json:"x"`
	Y    [][]float64 `json:"y"`
	True [][]float64 `json:"true"`
	// Best has, after each evaluation, the best true value among the points evaluated so far
	// (one objective) or the hypervolume of their true values above the problem's reference
	// point (several objectives).
	Best  []float64 `json:"best"`
	Final float64   `json:"final"` // the last entry of Best
	// Fallbacks counts suggestion steps that failed (or came back short) and were completed
	// with uniform random points; Error is the first failure's message.
	Fallbacks int     `json:"fallbacks"`
	Error     string  `json:"error,omitempty"`
	Seconds   float64 `json:"seconds"`
}

// checkCampaign returns what is wrong with running cfg on p with s, or nil.
func checkCampaign(p Problem, s Strategy, cfg Campaign) error {
	switch {
	case p.F == nil || p.Dims < 1 || p.Objectives < 1:
		return fmt.Errorf("bo: problem %q is incomplete", p.Name)
	case p.Space != nil && len(p.Space) != p.Dims:
		return fmt.Errorf("bo: problem %q has %d dimensions and a space of %d", p.Name, p.Dims, len(p.Space))
	case p.Objectives > 1 && len(p.Ref) != p.Objectives:
		return fmt.Errorf("bo: problem %q has %d objectives and a reference point of %d", p.Name, p.Objectives, len(p.Ref))
	case s != StrategyBO && s != StrategySobol && s != StrategyRandom:
		return fmt.Errorf("bo: strategy %q unknown (want bo, sobol or random)", s)
	case cfg.Budget < 1 || cfg.Budget > 100000:
		return fmt.Errorf("bo: campaign budget %d, want 1 to 100000", cfg.Budget)
	case cfg.Initial < 0 || cfg.Initial > cfg.Budget:
		return fmt.Errorf("bo: campaign initial %d, want 0 to the budget (%d)", cfg.Initial, cfg.Budget)
	case cfg.Batch < 1:
		return fmt.Errorf("bo: campaign batch %d, want at least 1", cfg.Batch)
	case p.Objectives > 2 && s == StrategyBO:
		return fmt.Errorf("bo: problem %q has %d objectives; bo handles one or two", p.Name, p.Objectives)
	}
	return nil
}

// RunCampaign runs one campaign of strategy s on problem p with budget cfg. The same seed
// gives the same trace. Errors (an unknown strategy, a bad budget) are reported in
// Trace.Error with an empty trace.
func RunCampaign(p Problem, s Strategy, cfg Campaign, seed uint64) Trace {
	start := time.Now()
	tr := Trace{Problem: p.Name, Strategy: s, Seed: seed, Final: math.NaN()}
	if err := checkCampaign(p, s, cfg); err != nil {
		tr.Error = err.Error()
		return tr
	}
	noise := newRand(seed, 1)
	uniform := newRand(seed, 2)
	sp := newSpace(p.space(), nil, nil)
	evaluate := func(x []float64) {
		t := p.F(x)
		y := append([]float64(nil), t...)
		for k := range y {
			if k < len(p.NoiseSD) {
				y[k] += p.NoiseSD[k] * noise.NormFloat64()
			}
		}
		tr.X = append(tr.X, x)
		tr.Y = append(tr.Y, y)
		tr.True = append(tr.True, t)
		tr.Best = append(tr.Best, p.score(tr.True))
	}
	randomPoint := func() []float64 {
		x := make([]float64, p.Dims)
		for j := range x {
			x[j] = uniform.Float64()
		}
		return sp.toSpace(x)
	}
	switch s {
	case StrategyRandom:
		for range cfg.Budget {
			evaluate(randomPoint())
		}
	case StrategySobol:
		for _, x := range unitPoints(cfg.Budget, p.Dims, mix(seed, 3)) {
			evaluate(sp.toSpace(x))
		}
	case StrategyBO:
		if cfg.Initial > 0 {
			for _, x := range unitPoints(cfg.Initial, p.Dims, mix(seed, 3)) {
				evaluate(sp.toSpace(x))
			}
		}
		opt := Options{Dims: p.Space, Fantasies: cfg.Fantasies, RawSamples: cfg.RawSamples, Restarts: cfg.Restarts,
			GPRestarts: cfg.GPRestarts, Stationary: cfg.Stationary, Warp: cfg.Warp}
		for k := range p.Objectives {
			ob := Objective{Outcome: k, Maximize: true}
			if p.Objectives > 1 {
				ob.Reference = &p.Ref[k]
			}
			opt.Objectives = append(opt.Objectives, ob)
		}
		for step := uint64(0); len(tr.X) < cfg.Budget; step++ {
			obs := make([]Observation, len(tr.X))
			for i := range tr.X {
				obs[i] = Observation{X: tr.X[i], Y: tr.Y[i], Group: -1}
				if cfg.KnownNoise {
					obs[i].SE = p.NoiseSD
				}
			}
			opt.Batch = min(cfg.Batch, cfg.Budget-len(tr.X))
			opt.Seed = mix(seed, 10+step)
			sugg, err := Suggest(obs, opt)
			if err != nil || len(sugg) < opt.Batch {
				tr.Fallbacks++
				if tr.Error == "" {
					if err == nil {
						err = errors.New("bo: short batch")
					}
					tr.Error = err.Error()
				}
			}
			for _, sg := range sugg {
				evaluate(sg.X)
			}
			for range opt.Batch - len(sugg) {
				evaluate(randomPoint())
			}
		}
	}
	tr.Final = tr.Best[len(tr.Best)-1]
	tr.Seconds = time.Since(start).Seconds()
	return tr
}

// score is the figure of merit of the true values evaluated so far: the best value (one
// objective) or the hypervolume above Ref.
func (p Problem) score(truth [][]float64) float64 {
	if p.Objectives == 1 {
		best := math.Inf(-1)
		for _, t := range truth {
			best = math.Max(best, t[0])
		}
		return best
	}
	return Hypervolume(truth, p.Ref)
}

// Summary is the result of a benchmark: the distribution over seeds of the final figure of
// merit (best true value, or hypervolume of the true values).
type Summary struct {
	Problem  string   `json:"problem"`
	Strategy Strategy `json:"strategy"`
	// Metric is "best_true_value" or "hypervolume"; Target is its best possible value (the
	// optimum or the maximum hypervolume).
	Metric  string    `json:"metric"`
	Target  float64   `json:"target"`
	Budget  int       `json:"budget"`
	Initial int       `json:"initial"`
	Batch   int       `json:"batch"`
	Seeds   int       `json:"seeds"`
	Median  float64   `json:"median"`
	Q1      float64   `json:"q1"`
	Q3      float64   `json:"q3"`
	PerSeed []float64 `json:"per_seed"`
	// Fallbacks counts, over all seeds, suggestion steps completed with random points.
	Fallbacks int    `json:"fallbacks"`
	Error     string `json:"error,omitempty"`
	// Seconds is the wall time of the benchmark; CPUSeconds the sum of the campaigns' times.
	Seconds    float64 `json:"seconds"`
	CPUSeconds float64 `json:"cpu_seconds"`
}

// Benchmark runs seeds campaigns (seeds 1 … seeds) of s on p with cfg, in parallel across
// GOMAXPROCS, and summarises the final figures of merit with their median and quartiles
// (R's default quantile, type 7). The result depends only on the arguments, not on the
// scheduling.
func Benchmark(p Problem, s Strategy, cfg Campaign, seeds int) Summary {
	start := time.Now()
	sum := Summary{Problem: p.Name, Strategy: s, Budget: cfg.Budget, Initial: cfg.Initial, Batch: cfg.Batch, Seeds: seeds,
		Metric: "best_true_value", Target: p.Optimum, Median: math.NaN(), Q1: math.NaN(), Q3: math.NaN()}
	if p.Objectives > 1 {
		sum.Metric, sum.Target = "hypervolume", p.MaxHV
	}
	if err := checkCampaign(p, s, cfg); err != nil {
		sum.Error = err.Error()
		return sum
	}
	if seeds < 1 {
		sum.Error = fmt.Sprintf("bo: %d seeds, want at least 1", seeds)
		return sum
	}
	traces := make([]Trace, seeds)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), seeds) {
		wg.Go(func() {
			for i := range next {
				traces[i] = RunCampaign(p, s, cfg, uint64(i+1))
			}
		})
	}
	for i := range seeds {
		next <- i
	}
	close(next)
	wg.Wait()
	sum.PerSeed = make([]float64, seeds)
	for i, tr := range traces {
		sum.PerSeed[i] = tr.Final
		sum.Fallbacks += tr.Fallbacks
		sum.CPUSeconds += tr.Seconds
		if sum.Error == "" && tr.Error != "" {
			sum.Error = fmt.Sprintf("seed %d: %s", tr.Seed, tr.Error)
		}
	}
	sum.Q1 = quantile7(sum.PerSeed, 0.25)
	sum.Median = quantile7(sum.PerSeed, 0.5)
	sum.Q3 = quantile7(sum.PerSeed, 0.75)
	sum.Seconds = time.Since(start).Seconds()
	return sum
}

// quantile7 is R's quantile(x, p, type = 7): linear interpolation between order statistics
// at h = (n − 1)p.
func quantile7(x []float64, p float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), x...)
	sort.Float64s(s)
	h := float64(len(s)-1) * p
	lo := math.Floor(h)
	i := int(lo)
	if i+1 >= len(s) {
		return s[len(s)-1]
	}
	return s[i] + (h-lo)*(s[i+1]-s[i])
}
