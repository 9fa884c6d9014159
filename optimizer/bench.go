package optimizer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/clink-consortium/clink/bo"
	"github.com/clink-consortium/clink/design"
	"github.com/clink-consortium/clink/gp"
	"github.com/clink-consortium/clink/sim"
	"github.com/clink-consortium/clink/stats"
)

// SimCampaign is the budget of a campaign on the simulator: Batches donor campaigns of
// PerBatch conditions each (one donor's cells split across them), readouts with a log10
// noise of NoiseLog10. Every donor also runs the Reference arm (domain.md §9.2: it makes the
// donor's offset identifiable); the optimizer sees each condition's doses relative to the
// reference of its donor, on log10. The reference arm is not counted in the budget.
type SimCampaign struct {
	Batches    int          `json:"batches"`
	PerBatch   int          `json:"per_batch"`
	NoiseLog10 float64      `json:"noise_log10"`
	Reference  design.Point `json:"reference"`
}

// DefaultSimCampaign is the benchmark of issue 7: 6 donor campaigns of 5 conditions, counts
// read with a 12 % error (log10 SD 0.05), the reference arm EBV-LCL 10:1 with IL-2 500 IU/mL
// harvested on day 14 (the consortium standard of the demo).
var DefaultSimCampaign = SimCampaign{Batches: 6, PerBatch: 5, NoiseLog10: 0.05, Reference: design.Point{
	"il2": design.Num(500), "il15": design.Num(0), "il21": design.Num(0), "feeder": design.Cat("ebv-lcl"),
	"feeder_ratio": design.Num(10), "restimulation": design.Cat("none"), "harvest_day": design.Num(14)}}

// SimTrace is one campaign on the simulator.
type SimTrace struct {
	Strategy bo.Strategy `json:"strategy"`
	Seed     uint64      `json:"seed"`
	// BestDoses is the nominal donor's doses at the best condition tried (the true landscape,
	// not what the campaign saw), and Fraction that over the landscape's best.
	BestDoses float64 `json:"best_doses"`
	Fraction  float64 `json:"fraction_of_best"`
	Fallbacks int     `json:"fallbacks"`
}

// RunSimCampaign runs one campaign of strategy s on the landscape; best is the landscape's
// best doses (MaxDoses). Each batch is a new donor drawn from the donor model with HCMV
// prevalence of Spain; "bo" starts with a scrambled Sobol batch and then asks bo.Suggest,
// which models the donor as a random effect and is given the cytokine budget as a smooth
// constraint on unit coordinates (smoothConstraints). The same seed gives the same campaign.
func (l *Landscape) RunSimCampaign(s bo.Strategy, cfg SimCampaign, best float64, seed uint64) (SimTrace, error) {
	tr := SimTrace{Strategy: s, Seed: seed}
	r := rand.New(rand.NewPCG(seed, 0x0B7))
	model := sim.DefaultDonorModel()
	dims := gpDims(l.Space)
	n := cfg.Batches * cfg.PerBatch
	var plan [][]float64 // points fixed in advance (sobol, random, bo's first batch)
	switch s {
	case bo.StrategySobol, bo.StrategyBO:
		m := n
		if s == bo.StrategyBO {
			m = cfg.PerBatch
		}
		u, err := design.Sobol(m, len(l.Space.Factors), design.SobolOptions{Scramble: true, Seed: seed})
		if err != nil {
			return tr, err
		}
		plan = u
	case bo.StrategyRandom:
		for range n {
			row := make([]float64, len(l.Space.Factors))
			for j := range row {
				row[j] = r.Float64()
			}
			plan = append(plan, row)
		}
	default:
		return tr, fmt.Errorf("optimizer: strategy %q unknown (bo, sobol or random)", s)
	}
	mapped, err := l.Space.FromUnit(plan, design.Repair)
	if err != nil {
		return tr, err
	}
	var fixed [][]float64
	for _, p := range mapped.Points {
		u, err := l.Space.Encode(p)
		if err != nil {
			return tr, err
		}
		fixed = append(fixed, u)
	}
	var obs []bo.Observation
	for b := range cfg.Batches {
		donor, err := model.DrawDonor(r, sim.HCMVSpain)
		if err != nil {
			return tr, err
		}
		ref := 1.0
		if cfg.Reference != nil {
			u, err := l.Space.Encode(cfg.Reference)
			if err != nil {
				return tr, fmt.Errorf("optimizer: reference arm: %w", err)
			}
			if ref, err = l.DonorDoses(u, donor); err != nil {
				return tr, err
			}
			ref = math.Max(ref, 1e-6) * math.Pow(10, cfg.NoiseLog10*r.NormFloat64())
		}
		var batch [][]float64
		for len(fixed) > 0 && len(batch) < cfg.PerBatch {
			batch, fixed = append(batch, fixed[0]), fixed[1:]
		}
		if len(batch) < cfg.PerBatch && s == bo.StrategyBO {
			sug, err := bo.Suggest(obs, bo.Options{Dims: dims, Objectives: []bo.Objective{{Outcome: 0, Maximize: true}},
				Batch: cfg.PerBatch - len(batch), Seed: seed*1000 + uint64(b), Normalize: bo.NormalizeRandomEffect,
				Round: func(x []float64) { l.Repair(x) }, SmoothConstraints: smoothConstraints(l.Space)})
			if err != nil && len(sug) == 0 {
				tr.Fallbacks++
			}
			for _, sg := range sug {
				batch = append(batch, sg.X)
			}
		}
		for len(batch) < cfg.PerBatch { // a short suggestion is filled with random points
			row := make([]float64, len(l.Space.Factors))
			for j := range row {
				row[j] = r.Float64()
			}
			m, err := l.Space.FromUnit([][]float64{row}, design.Repair)
			if err != nil || len(m.Points) == 0 {
				continue
			}
			u, _ := l.Space.Encode(m.Points[0])
			batch = append(batch, u)
		}
		for _, u := range batch {
			doses, err := l.DonorDoses(u, donor)
			if err != nil {
				return tr, err
			}
			truth, err := l.Doses(u)
			if err != nil {
				return tr, err
			}
			tr.BestDoses = math.Max(tr.BestDoses, truth)
			y := math.Log10(math.Max(doses, 1e-6)/ref) + cfg.NoiseLog10*r.NormFloat64()
			obs = append(obs, bo.Observation{X: append([]float64(nil), u...), Y: []float64{y}, Group: b})
		}
	}
	tr.Fraction = tr.BestDoses / best
	return tr, nil
}

// gpDims are the GP's descriptions of a space's coordinates.
func gpDims(s *design.Space) []gp.Dim {
	var dims []gp.Dim
	for _, d := range s.Dims() {
		if d.Kind == design.Categorical {
			dims = append(dims, gp.Dim{Kind: gp.Categorical, Levels: d.Levels})
		} else {
			dims = append(dims, gp.Dim{Kind: gp.Continuous})
		}
	}
	return dims
}

// BenchmarkSim runs seeds campaigns of s (seeds 1..seeds, in parallel) and summarises, as
// bo.Benchmark does for the synthetic problems, the fraction of the landscape's best doses
// (best, from MaxDoses) each reached: metric "fraction_of_best_doses", target 1.
func (l *Landscape) BenchmarkSim(s bo.Strategy, cfg SimCampaign, best float64, seeds int) (bo.Summary, error) {
	start := time.Now()
	sum := bo.Summary{Problem: "simulator", Strategy: s, Metric: "fraction_of_best_doses", Target: 1,
		Budget: cfg.Batches * cfg.PerBatch, Initial: cfg.PerBatch, Batch: cfg.PerBatch, Seeds: seeds}
	if s != bo.StrategyBO {
		sum.Initial = sum.Budget
	}
	list := make([]uint64, seeds)
	for i := range list {
		list[i] = uint64(i + 1)
	}
	traces, secs, err := l.runSimSeeds(s, cfg, best, list)
	if err != nil {
		return sum, err
	}
	for i, t := range traces {
		sum.PerSeed = append(sum.PerSeed, t.Fraction)
		sum.Fallbacks += t.Fallbacks
		sum.CPUSeconds += secs[i]
	}
	sorted := slices.Sorted(slices.Values(sum.PerSeed))
	sum.Median, sum.Q1, sum.Q3 = stats.Quantile7(sorted, 0.5), stats.Quantile7(sorted, 0.25), stats.Quantile7(sorted, 0.75)
	sum.Seconds = time.Since(start).Seconds()
	return sum, nil
}

// runSimSeeds runs a campaign of s for every seed of seeds, GOMAXPROCS at a time, and returns
// the traces and the seconds each took, in the order of seeds.
func (l *Landscape) runSimSeeds(s bo.Strategy, cfg SimCampaign, best float64, seeds []uint64) ([]SimTrace, []float64, error) {
	traces := make([]SimTrace, len(seeds))
	errs := make([]error, len(seeds))
	secs := make([]float64, len(seeds))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, seed := range seeds {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			t0 := time.Now()
			traces[i], errs[i] = l.RunSimCampaign(s, cfg, best, seed)
			secs[i] = time.Since(t0).Seconds()
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, nil, err
		}
	}
	return traces, secs, nil
}
