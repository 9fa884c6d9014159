package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/clink-consortium/clink/rank"
	"github.com/clink-consortium/clink/sim"
	"github.com/clink-consortium/clink/stats"
)

func (m *Main) runSim(ctx context.Context, args []string) error {
	return subcommand(ctx, "sim (run)", args, map[string]func(context.Context, []string) error{"run": m.simRun})
}

// simCulture is one simulated culture of clink sim run: the donor and the outcome at harvest.
type simCulture struct {
	Donor        int     `json:"donor"` // 0 is the nominal donor; 1.. the drawn ones
	HCMV         bool    `json:"hcmv"`
	NKOfPBMCPct  float64 `json:"nk_of_pbmc_pct"`
	SeededCells  float64 `json:"seeded_cells"`
	Day          int     `json:"day"`
	NKFold       float64 `json:"nk_fold"`
	NKCells      float64 `json:"nk_cells"`
	PurityPct    float64 `json:"purity_pct"`
	TPct         float64 `json:"t_pct"`
	ViabilityPct float64 `json:"viability_pct"`
	// Doses is the whole patient doses of one donor unit (domain.md §8.1, rank.DosesPerDonor).
	Doses int `json:"doses_per_donor"`
	// Series is the culture day by day, with --series.
	Series []simDay `json:"series,omitempty"`
}

// simDay is one day of a simulated culture.
type simDay struct {
	Day          int     `json:"day"`
	NKFold       float64 `json:"nk_fold"`
	PurityPct    float64 `json:"purity_pct"`
	ViabilityPct float64 `json:"viability_pct"`
}

// simProtocol is the protocol simulated, as clink sim run prints it.
type simProtocol struct {
	Start       string  `json:"start"`
	Feeder      string  `json:"feeder"`
	FeederRatio float64 `json:"feeder_ratio"`
	IL2         float64 `json:"il2_iu_ml"`
	IL15        float64 `json:"il15_ng_ml"`
	IL21        float64 `json:"il21_ng_ml"`
	DendrimerUM float64 `json:"dendrimer_um"`
	OKT3        float64 `json:"okt3_ng_ml"`
	Restim      []int   `json:"restim_days"`
	Days        int     `json:"days"`
	FeedEvery   int     `json:"feed_every_days"`
}

// simReport is what clink sim run prints as JSON.
type simReport struct {
	Protocol simProtocol  `json:"protocol"`
	Seed     uint64       `json:"seed"`
	Cultures []simCulture `json:"cultures"`
	// MedianNKFold and MedianDoses summarise the cultures.
	MedianNKFold float64 `json:"median_nk_fold"`
	MedianDoses  float64 `json:"median_doses_per_donor"`
}

// simRun runs the in-silico expansion simulator (package sim): one protocol on the nominal
// donor, or on donors drawn from the donor model, and prints each culture at harvest.
func (m *Main) simRun(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sim run", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	start := fs.String("start", "pbmc", "starting material: pbmc, cd3-depleted or purified-nk")
	feeder := fs.String("feeder", "none", "feeder cells: "+strings.Join(sim.FeederNames(), ", "))
	ratio := fs.Float64("feeder-ratio", 0, "feeder:NK ratio at the start (with a feeder)")
	il2 := fs.Float64("il2", 0, "IL-2, IU/mL")
	il15 := fs.Float64("il15", 0, "IL-15, ng/mL")
	il21 := fs.Float64("il21", 0, "IL-21, ng/mL")
	dendrimer := fs.Float64("dendrimer", 0, "ABP dendrimer, µM (acts only with monocytes: not on purified NK)")
	okt3 := fs.Float64("okt3", 0, "anti-CD3 (OKT3), ng/mL")
	restim := fs.String("restim", "", "restimulation days with fresh feeders, comma-separated (e.g. 7,14)")
	days := fs.Int("days", 14, "culture duration (harvest day)")
	feedEvery := fs.Int("feed-every", 3, "feeding interval in days (0: no feeds)")
	donors := fs.Int("donors", 0, "donors drawn from the donor model (domain.md §5.7) besides the nominal donor, 0 to 10000")
	hcmv := fs.Float64("hcmv-prevalence", sim.HCMVSpain, "HCMV seroprevalence of the drawn donors, 0 to 1")
	seeded := fs.Float64("seeded", 1e7, "cells seeded")
	seed := fs.Uint64("seed", 1, "seed of the donor draws: the same seed gives the same donors")
	series := fs.Bool("series", false, "also print every culture day by day")
	format := formatFlag(fs)
	if err := fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	if fs.NArg() > 0 {
		return usageError(fmt.Sprintf("sim run: unexpected argument %q", fs.Arg(0)))
	}
	if err := checkFormat(*format); err != nil {
		return err
	}
	p := sim.Protocol{Name: "clink sim run", IL2: *il2, IL15: *il15, IL21: *il21, FeederRatio: *ratio,
		DendrimerUM: *dendrimer, OKT3: *okt3, Days: *days, FeedEvery: *feedEvery}
	var err error
	if p.Start, err = sim.ParseStart(*start); err != nil {
		return usageError("--start: " + err.Error())
	}
	if p.Class, err = sim.FeederClass(*feeder); err != nil {
		return usageError("--feeder: " + err.Error())
	}
	if *restim != "" {
		for _, f := range strings.Split(*restim, ",") {
			d, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				return usageError(fmt.Sprintf("--restim: %q is not a day", f))
			}
			p.Restim = append(p.Restim, d)
		}
	}
	switch {
	case *donors < 0 || *donors > 10000:
		return usageError(fmt.Sprintf("--donors: %d is outside 0..10000", *donors))
	case !(*hcmv >= 0 && *hcmv <= 1):
		return usageError(fmt.Sprintf("--hcmv-prevalence: %g is outside 0..1", *hcmv))
	case !(*seeded > 0) || *seeded > 1e12:
		return usageError(fmt.Sprintf("--seeded: %g is not a number of cells in (0, 1e12]", *seeded))
	}
	if err := p.Validate(); err != nil {
		return usageError(strings.TrimPrefix(err.Error(), "sim: "))
	}
	rep := simReport{Seed: *seed, Protocol: simProtocol{Start: strings.ToLower(*start), Feeder: strings.ToLower(*feeder),
		FeederRatio: p.FeederRatio, IL2: p.IL2, IL15: p.IL15, IL21: p.IL21, DendrimerUM: p.DendrimerUM, OKT3: p.OKT3,
		Restim: append([]int{}, p.Restim...), Days: p.Days, FeedEvery: p.FeedEvery}}
	par := sim.DefaultParams()
	model := sim.DefaultDonorModel()
	r := rand.New(rand.NewPCG(*seed, 0x51AD0))
	var folds, doses []float64
	for i := 0; i <= *donors; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		d := sim.NominalDonor()
		if i > 0 {
			if d, err = model.DrawDonor(r, *hcmv); err != nil {
				return err
			}
			d = d.For(p.Name, model.InteractionSD)
		}
		tr, err := sim.Simulate(p, d, par, *seeded)
		if err != nil {
			return err
		}
		c := simOutcome(tr, d, p, *seeded)
		c.Donor = i
		if *series {
			for _, s := range tr.States {
				c.Series = append(c.Series, simDay{Day: s.Day, NKFold: tr.Fold(s.Day), PurityPct: 100 * s.Purity(), ViabilityPct: 100 * s.Viability()})
			}
		}
		rep.Cultures = append(rep.Cultures, c)
		folds, doses = append(folds, c.NKFold), append(doses, float64(c.Doses))
	}
	slices.Sort(folds)
	slices.Sort(doses)
	rep.MedianNKFold, rep.MedianDoses = stats.Quantile7(folds, 0.5), stats.Quantile7(doses, 0.5)
	switch *format {
	case formatJSON:
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	case formatCSV:
		return writeSimCSV(m, rep, *series)
	}
	return printSim(m, rep, *series)
}

// simOutcome is a simulated culture at harvest.
func simOutcome(tr sim.Trajectory, d sim.Donor, p sim.Protocol, seeded float64) simCulture {
	f := tr.Final()
	nk0, _, _ := sim.Composition(p.Start, d.NKFraction)
	fold := tr.Fold(f.Day)
	return simCulture{HCMV: d.HCMV, NKOfPBMCPct: 100 * d.NKFraction, SeededCells: seeded, Day: f.Day, NKFold: fold,
		NKCells: f.N, PurityPct: 100 * f.Purity(), TPct: 100 * f.TFraction(), ViabilityPct: 100 * f.Viability(),
		Doses: rank.DosesPerDonor(rank.NKAvailable(nk0, fold, rank.Options{}), rank.Options{})}
}

func printSim(m *Main, rep simReport, series bool) error {
	w := newTab(m.Stdout)
	fmt.Fprintf(w, "Donor\tHCMV\tNK of PBMC %%\tDay\tNK fold\tNK cells\tPurity %%\tT %%\tViability %%\tDoses per donor\n")
	for _, c := range rep.Cultures {
		name := strconv.Itoa(c.Donor)
		if c.Donor == 0 {
			name = "nominal"
		}
		fmt.Fprintf(w, "%s\t%v\t%.1f\t%d\t%s\t%s\t%.1f\t%.1f\t%.1f\t%d\n", name, c.HCMV, c.NKOfPBMCPct, c.Day, numv(c.NKFold),
			numv(c.NKCells), c.PurityPct, c.TPct, c.ViabilityPct, c.Doses)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if len(rep.Cultures) > 1 {
		fmt.Fprintf(m.Stdout, "Median over %d cultures: NK fold %s, %s doses per donor.\n", len(rep.Cultures), numv(rep.MedianNKFold), numv(rep.MedianDoses))
	}
	if series {
		for _, c := range rep.Cultures {
			fmt.Fprintf(m.Stdout, "\nDonor %d, day by day:\n", c.Donor)
			w := newTab(m.Stdout)
			fmt.Fprintf(w, "Day\tNK fold\tPurity %%\tViability %%\n")
			for _, s := range c.Series {
				fmt.Fprintf(w, "%d\t%s\t%.1f\t%.1f\n", s.Day, numv(s.NKFold), s.PurityPct, s.ViabilityPct)
			}
			if err := w.Flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

func writeSimCSV(m *Main, rep simReport, series bool) error {
	w := csv.NewWriter(m.Stdout)
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	if series {
		w.Write([]string{"donor", "day", "nk_fold", "purity_pct", "viability_pct"})
		for _, c := range rep.Cultures {
			for _, s := range c.Series {
				w.Write([]string{strconv.Itoa(c.Donor), strconv.Itoa(s.Day), g(s.NKFold), g(s.PurityPct), g(s.ViabilityPct)})
			}
		}
	} else {
		w.Write([]string{"donor", "hcmv", "nk_of_pbmc_pct", "seeded_cells", "day", "nk_fold", "nk_cells", "purity_pct", "t_pct", "viability_pct", "doses_per_donor"})
		for _, c := range rep.Cultures {
			w.Write([]string{strconv.Itoa(c.Donor), strconv.FormatBool(c.HCMV), g(c.NKOfPBMCPct), g(c.SeededCells), strconv.Itoa(c.Day),
				g(c.NKFold), g(c.NKCells), g(c.PurityPct), g(c.TPct), g(c.ViabilityPct), strconv.Itoa(c.Doses)})
		}
	}
	w.Flush()
	return w.Error()
}
