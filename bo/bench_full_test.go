package bo

import (
	"encoding/json"
	"os"
	"strconv"
	"testing"
)

// TestBenchFull runs the benchmark protocols of issue 7 with 20 seeds for bo, sobol and
// random, and checks the targets: noisy Hartmann 6, median best true value ≥ 3.1; BraninCurrin,
// median hypervolume ≥ 57.8. It takes about a quarter of an hour on two cores, so it runs
// only with CLINK_BENCH_FULL=1. It prints the summaries as JSON. Variations (which skip the
// target checks):
//
//	CLINK_BENCH_SEEDS=n             another number of seeds
//	CLINK_BENCH_PROBLEM=name        one problem (hartmann6-noisy, branincurrin)
//	CLINK_BENCH_STRATEGY=s          one strategy (bo, sobol, random)
//	CLINK_BENCH_NOISE=fitted        the GPs fit the noise instead of being given it
//	CLINK_BENCH_INITIAL=n, CLINK_BENCH_BUDGET=n   another budget (initial points, evaluations
//	                                in all)
//	CLINK_BENCH_FANTASIES=n, CLINK_BENCH_RAW=n, CLINK_BENCH_RESTARTS=n   other tuning of the
//	                                acquisition (fantasies, raw samples, restarts)
//	CLINK_BENCH_STATIONARY=1        GPs without the trend term (Options.Stationary)
//	CLINK_BENCH_WARP=1              input warping (Options.Warp)
func TestBenchFull(t *testing.T) {
	if os.Getenv("CLINK_BENCH_FULL") != "1" {
		t.Skip("set CLINK_BENCH_FULL=1 to run the full benchmarks (about 15 minutes)")
	}
	seeds := 20
	check := true
	if s, err := strconv.Atoi(os.Getenv("CLINK_BENCH_SEEDS")); err == nil && s > 0 {
		seeds, check = s, s >= 20
	}
	targets := map[string]float64{"hartmann6-noisy": 3.1, "branincurrin": 57.8}
	for _, name := range ProblemNames() {
		if p := os.Getenv("CLINK_BENCH_PROBLEM"); p != "" && p != name {
			continue
		}
		p, _ := ProblemByName(name)
		cfg := p.Protocol
		if os.Getenv("CLINK_BENCH_NOISE") == "fitted" {
			cfg.KnownNoise, check = false, false
		}
		if n, err := strconv.Atoi(os.Getenv("CLINK_BENCH_INITIAL")); err == nil {
			cfg.Initial, check = n, false
		}
		if n, err := strconv.Atoi(os.Getenv("CLINK_BENCH_BUDGET")); err == nil {
			cfg.Budget, check = n, false
		}
		if os.Getenv("CLINK_BENCH_STATIONARY") == "1" {
			cfg.Stationary = true
		}
		if os.Getenv("CLINK_BENCH_WARP") == "1" {
			cfg.Warp = true
		}
		for env, v := range map[string]*int{"CLINK_BENCH_FANTASIES": &cfg.Fantasies, "CLINK_BENCH_RAW": &cfg.RawSamples,
			"CLINK_BENCH_RESTARTS": &cfg.Restarts} {
			if n, err := strconv.Atoi(os.Getenv(env)); err == nil {
				*v = n
			}
		}
		for _, s := range []Strategy{StrategyBO, StrategySobol, StrategyRandom} {
			if v := os.Getenv("CLINK_BENCH_STRATEGY"); v != "" && v != string(s) {
				continue
			}
			sum := Benchmark(p, s, cfg, seeds)
			b, _ := json.Marshal(sum)
			t.Logf("%s", b)
			if sum.Error != "" {
				t.Errorf("%s %s: %s", name, s, sum.Error)
			}
			if s == StrategyBO && check && !(sum.Median >= targets[name]) {
				t.Errorf("%s bo: median %.4f, want at least %g", name, sum.Median, targets[name])
			}
		}
	}
}
