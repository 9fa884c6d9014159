package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/clink-consortium/clink/analysis"
	"github.com/clink-consortium/clink/cytotox"
	"github.com/clink-consortium/clink/exchange"
	"github.com/clink-consortium/clink/kinetics"
	"github.com/clink-consortium/clink/rank"
	"github.com/clink-consortium/clink/stats"
)

// Output formats of the analyze commands.
const (
	formatTable = "table"
	formatJSON  = "json"
	formatCSV   = "csv"
)

func (m *Main) runAnalyze(ctx context.Context, args []string) error {
	return subcommand(ctx, "analyze (compare|ranking|cytotox|growth)", args, map[string]func(context.Context, []string) error{
		"compare": m.analyzeCompare, "ranking": m.analyzeRanking, "cytotox": m.analyzeCytotox, "growth": m.analyzeGrowth,
	})
}

// formatFlag registers --format on fs.
func formatFlag(fs *flag.FlagSet) *string {
	return fs.String("format", formatTable, "output: table, json or csv")
}

func checkFormat(f string) error {
	if !slices.Contains([]string{formatTable, formatJSON, formatCSV}, f) {
		return usageError(fmt.Sprintf("--format: %q is not table, json or csv", f))
	}
	return nil
}

// readAnalysisFile reads an analysis CSV file; problems in it are printed one per line.
func (m *Main) readAnalysisFile(path string, read func(name string, data []byte) error) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return m.fileProblems(path, read(filepath.Base(path), data))
}

// analysisFailed reports err, the error of an analysis of the rows read from the file at path
// (lines[i] is the line of row i, or nil when the rows carry their lines), with the file's
// lines and columns, as the problems of reading it are reported.
func (m *Main) analysisFailed(path string, lines []int, err error) error {
	err = exchange.AnalysisError(filepath.Base(path), lines, err)
	var ie *exchange.InputError
	if errors.As(err, &ie) {
		return m.fileProblems(path, err)
	}
	return fmt.Errorf("%s: %w", path, err)
}

// fileProblems prints the problems of an *exchange.InputError one per line on stderr and
// returns an error that counts them; other errors are returned as they are.
func (m *Main) fileProblems(path string, err error) error {
	var ie *exchange.InputError
	if errors.As(err, &ie) {
		for _, p := range ie.Problems {
			fmt.Fprintln(m.Stderr, p.String())
		}
		return fmt.Errorf("%s: %d problem(s); nothing was analysed", path, len(ie.Problems))
	}
	return err
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (m *Main) analyzeCompare(ctx context.Context, args []string) error {
	cfg := m.defaultConfig()
	fs := flag.NewFlagSet("analyze compare", flag.ContinueOnError)
	cfg.dbFlag(fs)
	csvPath := fs.String("csv", "", "compare the values of a CSV file (donor,protocol,value) instead of the database")
	scale := fs.String("scale", "", "with --csv: the mixed model's response, log10 (default) or linear")
	var protocols stringList
	fs.Var(&protocols, "protocol", "a protocol NAME or NAME@VERSION; repeat it, the first is the reference")
	metric := fs.String("metric", analysis.MetricNKFold, "nk_fold, lu30, purity or viability")
	day := fs.Int("day", -1, "compare on this culture day (default: completed cultures at harvest)")
	method := fs.String("method", "", "assay method for lu30 (default: the most frequent)")
	format := formatFlag(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: clink analyze compare --protocol A --protocol B [--metric nk_fold] [--day 14] [--db DB] [--format table|json|csv]")
		fmt.Fprintln(fs.Output(), "       clink analyze compare --csv FILE [--scale log10|linear] [--format table|json|csv]")
		fs.PrintDefaults()
	}
	if err := m.parseConfig(fs, &cfg, args, false); err != nil {
		return err
	}
	if err := checkFormat(*format); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var res *stats.Comparison
	var full any
	if *csvPath != "" {
		for _, f := range []string{"protocol", "metric", "day", "method", "db"} {
			if given[f] {
				return usageError(fmt.Sprintf("analyze compare: --%s works on the database and cannot be used with --csv", f))
			}
		}
		if *scale != "" && *scale != stats.ScaleLog10 && *scale != stats.ScaleLinear {
			return usageError(fmt.Sprintf("--scale: %q is not log10 or linear", *scale))
		}
		var rows []stats.Row
		var lines []int
		if err := m.readAnalysisFile(*csvPath, func(name string, data []byte) (err error) {
			rows, lines, err = exchange.ReadComparisonLines(name, data)
			return err
		}); err != nil {
			return err
		}
		cmp, err := stats.Compare(rows, stats.CompareOptions{Scale: *scale})
		if err != nil {
			return m.analysisFailed(*csvPath, lines, err)
		}
		res, full = cmp, cmp
	} else {
		if given["scale"] {
			return usageError("analyze compare: --scale works with --csv; on the database the metric decides the scale")
		}
		if len(protocols) == 0 {
			// Checked before the database is opened, which would create it.
			return usageError("analyze compare: give --csv FILE, or name the protocols to compare on the database with --protocol A --protocol B")
		}
		req := analysis.CompareRequest{Protocols: protocols, Metric: *metric, Method: *method}
		if given["day"] {
			req.Day = day
		}
		store, err := m.openStore(ctx, cfg)
		if err != nil {
			return err
		}
		defer store.Close()
		cmp, err := analysis.New(store).Compare(ctx, req)
		if err != nil {
			return err
		}
		res, full = cmp.Result, cmp
		if *format == formatTable {
			printComparisonHeader(m.Stdout, cmp)
		}
	}
	switch *format {
	case formatJSON:
		return writeJSON(m.Stdout, full)
	case formatCSV:
		return writeComparisonCSV(m.Stdout, res)
	}
	return printComparison(m.Stdout, res)
}

func (m *Main) analyzeRanking(ctx context.Context, args []string) error {
	cfg := m.defaultConfig()
	fs := flag.NewFlagSet("analyze ranking", flag.ContinueOnError)
	cfg.dbFlag(fs)
	day := fs.Int("day", -1, "rank on this culture day (default: completed cultures at harvest)")
	method := fs.String("method", "", "assay method killing is taken from (default: the most frequent)")
	var opt rank.Options
	fs.Float64Var(&opt.DosePerKg, "dose-per-kg", rank.DefaultDosePerKg, "NK cells per kg in one patient dose")
	fs.Float64Var(&opt.WeightKg, "weight-kg", rank.DefaultWeightKg, "patient weight (kg)")
	fs.Float64Var(&opt.DonorUnitCells, "donor-unit-cells", rank.DefaultDonorUnitCells, "starting cells one donor's collection provides")
	format := formatFlag(fs)
	if err := m.parseConfig(fs, &cfg, args, false); err != nil {
		return err
	}
	if err := checkFormat(*format); err != nil {
		return err
	}
	// rank.Options reads 0 as "the default": a 0 given on the command line is refused rather
	// than silently replaced.
	for _, o := range []struct {
		flag string
		v    float64
	}{{"dose-per-kg", opt.DosePerKg}, {"weight-kg", opt.WeightKg}, {"donor-unit-cells", opt.DonorUnitCells}} {
		if !(o.v > 0) || math.IsInf(o.v, 1) {
			return usageError(fmt.Sprintf("--%s: %g is not a number above 0", o.flag, o.v))
		}
	}
	req := analysis.RankingRequest{Method: *method, Options: opt}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "day" {
			req.Day = day
		}
	})
	store, err := m.openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	rk, err := analysis.New(store).Ranking(ctx, req)
	if err != nil {
		return err
	}
	return writeAs(m.Stdout, *format, rk, writeRankingCSV, printRanking)
}

// writeAs prints v in format: JSON as it is, or the CSV or the table of the command.
func writeAs[T any](w io.Writer, format string, v T, csv, table func(io.Writer, T) error) error {
	switch format {
	case formatJSON:
		return writeJSON(w, v)
	case formatCSV:
		return csv(w, v)
	}
	return table(w, v)
}

// parseFileFlags parses the flags of an analyze command on a plain file (cmd, "analyze
// cytotox"), whose --csv is required.
func (m *Main) parseFileFlags(fs *flag.FlagSet, args []string, cmd string, csvPath, format *string) error {
	if err := m.parseFlags(fs, args, false); err != nil {
		return err
	}
	if err := checkFormat(*format); err != nil {
		return err
	}
	if *csvPath == "" {
		return usageError(cmd + ": --csv FILE is required")
	}
	return nil
}

// analyzeFile reads the rows of the CSV file at path, analyses them and prints the result;
// problems in the file, and rows the analysis refuses, are reported with their lines.
func analyzeFile[R, T any](m *Main, path, format string, read func(name string, data []byte) ([]R, error),
	analyze func([]R) (T, error), csv, table func(io.Writer, T) error) error {
	var rows []R
	if err := m.readAnalysisFile(path, func(name string, data []byte) (err error) {
		rows, err = read(name, data)
		return err
	}); err != nil {
		return err
	}
	res, err := analyze(rows)
	if err != nil {
		return m.analysisFailed(path, nil, err)
	}
	return writeAs(m.Stdout, format, res, csv, table)
}

func (m *Main) analyzeCytotox(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("analyze cytotox", flag.ContinueOnError)
	csvPath := fs.String("csv", "", "the plate's wells: sample,well_type,et_ratio,value (required)")
	targets := fs.Float64("targets", 5000, "target cells per well")
	format := formatFlag(fs)
	if err := m.parseFileFlags(fs, args, "analyze cytotox", csvPath, format); err != nil {
		return err
	}
	if !(*targets > 0) || math.IsInf(*targets, 1) {
		return usageError(fmt.Sprintf("--targets: %g is not a number of target cells above 0", *targets))
	}
	return analyzeFile(m, *csvPath, *format, exchange.ReadPlate, func(rows []cytotox.PlateRow) (*cytotox.PlateAnalysis, error) {
		return cytotox.AnalyzePlate(rows, cytotox.PlateOptions{Targets: *targets})
	}, writePlateCSV, printPlate)
}

func (m *Main) analyzeGrowth(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("analyze growth", flag.ContinueOnError)
	csvPath := fs.String("csv", "", "the counts: culture,day,viable_cells,nk_pct[,split_fraction_kept] (required)")
	format := formatFlag(fs)
	if err := m.parseFileFlags(fs, args, "analyze growth", csvPath, format); err != nil {
		return err
	}
	return analyzeFile(m, *csvPath, *format, exchange.ReadGrowth, func(rows []kinetics.GrowthRow) ([]kinetics.CultureGrowth, error) {
		return kinetics.Growth(rows, kinetics.Options{})
	}, writeGrowthCSV, printGrowth)
}
