package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"

	"github.com/clink-consortium/clink/bo"
	"github.com/clink-consortium/clink/optimizer"
)

func (m *Main) runBench(ctx context.Context, args []string) error {
	return subcommand(ctx, "bench (optimizer|load)", args, map[string]func(context.Context, []string) error{
		"optimizer": m.benchOptimizer, "load": m.benchLoad})
}

// benchReport is what clink bench optimizer prints as JSON: one summary per strategy.
type benchReport struct {
	Problem string `json:"problem"`
	// LandscapeBestDoses is, for the simulator, the nominal donor's best doses that the
	// fractions are of.
	LandscapeBestDoses float64      `json:"landscape_best_doses,omitempty"`
	Results            []bo.Summary `json:"results"`
}

// benchOptimizer runs the optimizer's benchmarks: campaigns of Bayesian optimisation, Sobol
// and random search on a problem over seeds 1..N, with the median and quartiles of the best
// true value, hypervolume or fraction of the simulator's best reached.
func (m *Main) benchOptimizer(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench optimizer", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	problem := fs.String("problem", "", "hartmann6-noisy, branincurrin or simulator")
	seeds := fs.Int("seeds", 20, "campaigns per strategy (seeds 1..N), 1 to 1000")
	strategies := fs.String("strategy", "bo,sobol,random", "strategies, comma-separated: bo, sobol, random")
	format := fs.String("format", formatTable, "output: table or json")
	if err := fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	if fs.NArg() > 0 {
		return usageError(fmt.Sprintf("bench optimizer: unexpected argument %q", fs.Arg(0)))
	}
	if *format != formatTable && *format != formatJSON {
		return usageError(fmt.Sprintf("--format: %q is not table or json", *format))
	}
	if *seeds < 1 || *seeds > 1000 {
		return usageError(fmt.Sprintf("--seeds: %d is outside 1..1000", *seeds))
	}
	var strats []bo.Strategy
	for _, s := range strings.Split(*strategies, ",") {
		st := bo.Strategy(strings.TrimSpace(s))
		if st != bo.StrategyBO && st != bo.StrategySobol && st != bo.StrategyRandom {
			return usageError(fmt.Sprintf("--strategy: %q is not bo, sobol or random", s))
		}
		strats = append(strats, st)
	}
	rep := benchReport{Problem: *problem}
	switch *problem {
	case "simulator":
		l := optimizer.NewLandscape()
		best, _, err := l.MaxDoses()
		if err != nil {
			return err
		}
		rep.LandscapeBestDoses = best
		for _, st := range strats {
			if err := ctx.Err(); err != nil {
				return err
			}
			sum, err := l.BenchmarkSim(st, optimizer.DefaultSimCampaign, best, *seeds)
			if err != nil {
				return err
			}
			rep.Results = append(rep.Results, sum)
		}
	case "":
		return usageError("--problem: give hartmann6-noisy, branincurrin or simulator")
	default:
		p, err := bo.ProblemByName(*problem)
		if err != nil {
			return usageError(fmt.Sprintf("--problem: %q is not hartmann6-noisy, branincurrin or simulator", *problem))
		}
		for _, st := range strats {
			if err := ctx.Err(); err != nil {
				return err
			}
			sum := bo.Benchmark(p, st, p.Protocol, *seeds)
			if sum.Error != "" {
				return fmt.Errorf("%s on %s: %s", st, p.Name, sum.Error)
			}
			rep.Results = append(rep.Results, sum)
		}
	}
	if *format == formatJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	w := newTab(m.Stdout)
	fmt.Fprintf(w, "Problem\tStrategy\tMetric\tTarget\tBudget\tInitial\tBatch\tSeeds\tMedian\tQ1\tQ3\tSeconds\n")
	for _, s := range rep.Results {
		fmt.Fprintf(w, "%s\t%s\t%s\t%.4g\t%d\t%d\t%d\t%d\t%.4g\t%.4g\t%.4g\t%.1f\n", s.Problem, s.Strategy, s.Metric, s.Target,
			s.Budget, s.Initial, s.Batch, s.Seeds, s.Median, s.Q1, s.Q3, s.Seconds)
	}
	return w.Flush()
}
