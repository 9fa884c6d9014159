package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/design"
	"github.com/clink-consortium/clink/optimizer"
)

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// suggestReport is what clink suggest prints as JSON.
type suggestReport struct {
	*optimizer.Plan
	SpaceRef string `json:"space_ref"`
	// DonorPlan lists, for each donor, the suggestions (numbered from 1) its cells are split
	// across, besides the reference arm.
	DonorPlan [][]int `json:"donor_plan"`
}

// suggest asks the optimizer for the next batch of conditions: it learns from the cultures in
// the database whose protocol versions lie in the space (and from --results files) and prints
// the suggestions with their predicted outcomes.
func (m *Main) runSuggest(ctx context.Context, args []string) error {
	cfg := m.defaultConfig()
	fs := flag.NewFlagSet("suggest", flag.ContinueOnError)
	cfg.dbFlag(fs)
	spaceArg := fs.String("space", "", "the design space: a stored space (NAME or NAME@VERSION) or a JSON file")
	var objectives, constraints, resultFiles listFlag
	fs.Var(&objectives, "objective", "an outcome to maximise: nk_fold, lu30, purity or viability (once or twice)")
	fs.Var(&constraints, "constraint", "an outcome constraint, e.g. 'purity>=70' (repeatable)")
	fs.Var(&resultFiles, "results", "a CSV file of further results: the space's factors, outcomes, donor (repeatable)")
	batch := fs.Int("batch", 6, "conditions to suggest, 1 to 96")
	donors := fs.Int("donors", 1, "donors the batch is split across (each with the reference arm), 1 to the batch size")
	seed := fs.Uint64("seed", 1, "seed: the same data and seed give the same suggestions")
	format := fs.String("format", formatTable, "output: table or json")
	if err := m.parseConfig(fs, &cfg, args, false); err != nil {
		return err
	}
	if *format != formatTable && *format != formatJSON {
		return usageError(fmt.Sprintf("--format: %q is not table or json", *format))
	}
	if *spaceArg == "" {
		return usageError("--space: name a stored design space or a JSON file")
	}
	if len(objectives) == 0 {
		objectives = listFlag{optimizer.NKFold}
	}
	if *batch < 1 || *batch > 96 {
		return usageError(fmt.Sprintf("--batch: %d is outside 1..96", *batch))
	}
	if *donors < 1 || *donors > *batch {
		return usageError(fmt.Sprintf("--donors: %d is outside 1..%d (the batch size)", *donors, *batch))
	}
	req := optimizer.Request{Objectives: objectives, Batch: *batch, Seed: *seed}
	for _, c := range constraints {
		oc, err := optimizer.ParseConstraint(c)
		if err != nil {
			return usageError("--constraint: " + err.Error())
		}
		req.Constraints = append(req.Constraints, oc)
	}
	store, err := m.openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	space, ref, err := loadSpace(ctx, store, *spaceArg)
	if err != nil {
		return err
	}
	req.Space = space
	svc := &optimizer.Service{Store: store}
	results, skipped, err := svc.Results(ctx, space)
	if err != nil {
		return err
	}
	for _, path := range resultFiles {
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rs, err := optimizer.ReadResults(filepath.Base(path), data, space)
		if err != nil {
			return err
		}
		results = append(results, rs...)
	}
	plan, err := optimizer.Suggest(req, results)
	if err != nil {
		if clink.ErrorCode(err) == clink.EINVALID {
			return usageError(err.Error())
		}
		return err
	}
	plan.Skipped = skipped
	rep := suggestReport{Plan: plan, SpaceRef: ref, DonorPlan: optimizer.DonorPlan(len(plan.Suggestions), *donors)}
	if *format == formatJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return printSuggestions(m.Stdout, space, rep)
}

// loadSpace reads the design space arg names: a JSON file when one exists at that path,
// otherwise a stored space (NAME or NAME@VERSION).
func loadSpace(ctx context.Context, store clink.Store, arg string) (*design.Space, string, error) {
	if data, err := os.ReadFile(arg); err == nil {
		s, err := design.ParseSpace(data)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", arg, err)
		}
		return s, arg, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, "", err
	}
	s, ds, err := (&optimizer.Service{Store: store}).LoadSpace(ctx, arg)
	if clink.ErrorCode(err) == clink.EINVALID {
		return nil, "", usageError(fmt.Sprintf("--space: %q is neither a file nor a space name (NAME or NAME@VERSION)", arg))
	}
	if err != nil {
		return nil, "", err
	}
	return s, ds.Ref(), nil
}

// printSuggestions prints a plan as a table: one row per suggestion with its factors and the
// predicted outcomes (mean and 95 % interval).
func printSuggestions(w io.Writer, space *design.Space, rep suggestReport) error {
	p := rep.Plan
	fmt.Fprintf(w, "Space %s: %d results from %d donors", rep.SpaceRef, p.Results, p.Donors)
	if len(p.Skipped) > 0 {
		fmt.Fprintf(w, " (%d protocol versions or cultures left out; --format json lists them)", len(p.Skipped))
	}
	fmt.Fprintf(w, ".\nObjectives: %s, maximised", strings.Join(p.Objectives, ", "))
	if len(p.Constraints) > 0 {
		var cs []string
		for _, c := range p.Constraints {
			op := "<="
			if c.Min {
				op = ">="
			}
			cs = append(cs, c.Outcome+op+strconv.FormatFloat(c.Bound, 'g', -1, 64))
		}
		fmt.Fprintf(w, "; constraints: %s", strings.Join(cs, ", "))
	}
	fmt.Fprintln(w, ".")
	tw := newTab(w)
	head := []string{"#"}
	for _, f := range space.Factors {
		h := f.Name
		if f.Unit != "" {
			h += " (" + f.Unit + ")"
		}
		head = append(head, h)
	}
	var outs []string
	if len(p.Suggestions) > 0 {
		for _, pr := range p.Suggestions[0].Predictions {
			outs = append(outs, pr.Outcome)
			head = append(head, pr.Outcome+" (95 % interval)")
		}
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for i, s := range p.Suggestions {
		row := []string{strconv.Itoa(i + 1)}
		for _, f := range space.Factors {
			row = append(row, s.Point[f.Name].String())
		}
		for k := range outs {
			pr := s.Predictions[k]
			row = append(row, fmt.Sprintf("%s (%s–%s)", numv(pr.Mean), numv(pr.Low), numv(pr.High)))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(rep.DonorPlan) > 1 {
		for i, b := range rep.DonorPlan {
			var ns []string
			for _, n := range b {
				ns = append(ns, strconv.Itoa(n))
			}
			fmt.Fprintf(w, "Donor %d: conditions %s and the reference arm.\n", i+1, strings.Join(ns, ", "))
		}
	}
	for _, n := range p.Notes {
		fmt.Fprintln(w, "Note: "+n)
	}
	return nil
}
