package optimizer

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/clink-consortium/clink/bo"
	"github.com/clink-consortium/clink/stats"
)

// TestSimSeedSet runs the simulator benchmark's Bayesian optimisation on a chosen range of
// seeds, for deciding between methods on seeds other than the benchmark's 1–20:
//
//	CLINK_SIM_SEEDS=101-140 go test ./optimizer -run TestSimSeedSet -v
//
// It prints the median and quartiles of the fraction of the landscape's best doses, how many
// campaigns reached 0.95, and every seed's fraction. It takes a few minutes on two cores, so it
// runs only when CLINK_SIM_SEEDS is set.
func TestSimSeedSet(t *testing.T) {
	spec := os.Getenv("CLINK_SIM_SEEDS")
	if spec == "" {
		t.Skip("set CLINK_SIM_SEEDS=first-last (e.g. 101-140) to run the simulator benchmark on those seeds")
	}
	a, b, ok := strings.Cut(spec, "-")
	lo, err1 := strconv.ParseUint(a, 10, 64)
	hi, err2 := strconv.ParseUint(b, 10, 64)
	if !ok || err1 != nil || err2 != nil || lo < 1 || hi < lo || hi-lo >= 1000 {
		t.Fatalf("CLINK_SIM_SEEDS=%q, want first-last with 1 <= first <= last < first+1000", spec)
	}
	var seeds []uint64
	for s := lo; s <= hi; s++ {
		seeds = append(seeds, s)
	}
	l := NewLandscape()
	best, _, err := l.MaxDoses()
	if err != nil {
		t.Fatal(err)
	}
	traces, _, err := l.runSimSeeds(bo.StrategyBO, DefaultSimCampaign, best, seeds)
	if err != nil {
		t.Fatal(err)
	}
	var fr []float64
	var per strings.Builder
	reached := 0
	for _, tr := range traces {
		fr = append(fr, tr.Fraction)
		fmt.Fprintf(&per, " %d:%.3f", tr.Seed, tr.Fraction)
		if tr.Fraction >= 0.95 {
			reached++
		}
	}
	slices.Sort(fr)
	t.Logf("seeds %s: median %.3f, quartiles %.3f-%.3f, %d of %d campaigns at 0.95 or more\n%s", spec,
		stats.Quantile7(fr, 0.5), stats.Quantile7(fr, 0.25), stats.Quantile7(fr, 0.75), reached, len(fr), per.String())
}
