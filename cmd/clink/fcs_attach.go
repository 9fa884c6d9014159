package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/flow"
	"github.com/clink-consortium/clink/sqldb"
)

// fcsAttachResult is what `clink fcs attach --format json` prints: the attachments, in the
// order of the files, and the observation as they left it.
type fcsAttachResult struct {
	Attachments []*clink.FCSAttachment `json:"attachments"`
	Observation *clink.Observation     `json:"observation"`
}

// fcsAttach gates FCS files with a gating template stored in the database and fills an
// observation's nk_pct, t_pct and markers from them, all files or none (flow.Service.Attach).
func (m *Main) fcsAttach(ctx context.Context, args []string) error {
	cfg := m.defaultConfig()
	fs := flag.NewFlagSet("fcs attach", flag.ContinueOnError)
	cfg.dbFlag(fs)
	obsID := fs.Int64("observation", 0, "the id of the observation the files belong to")
	culture := fs.String("culture", "", "the culture's code (with --day), instead of --observation")
	day := fs.Int("day", -1, "with --culture: the day of the culture's observation")
	template := fs.String("template", "", "the gating template: NAME (its latest valid version) or NAME@VERSION (required)")
	dataset := fs.Int("dataset", 0, "the data set to read, numbered from 0 (files with $NEXTDATA hold several)")
	replace := fs.Bool("replace", false, "let the files' values replace values already recorded from another source")
	maxBytes := fs.Int64("max-bytes", cfg.MaxFCSBytes, "the largest FCS file accepted, in bytes (env CLINK_MAX_FCS_BYTES)")
	format := fs.String("format", formatTable, "output: table or json")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: clink fcs attach [--db DB] --observation ID --template NAME[@VERSION] [--dataset N] [--replace] [--format table|json] FILE...")
		fmt.Fprintln(fs.Output(), "       clink fcs attach [--db DB] --culture CODE --day N --template NAME[@VERSION] ... FILE...")
		fs.PrintDefaults()
	}
	files, err := m.parseFileArgs(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(files) == 0:
		return usageError("fcs attach: name at least one FCS file")
	case strings.TrimSpace(*template) == "":
		return usageError("fcs attach: --template is required (NAME or NAME@VERSION)")
	case (*obsID != 0) == (*culture != ""):
		return usageError("fcs attach: name the observation with --observation ID, or with --culture CODE and --day N")
	case *obsID < 0:
		return usageError(fmt.Sprintf("--observation: %d is not an id", *obsID))
	case *culture != "" && *day < 0:
		return usageError("fcs attach: --culture needs --day N (the observation's culture day)")
	case *culture == "" && *day >= 0:
		return usageError("fcs attach: --day goes with --culture")
	case *dataset < 0:
		return usageError(fmt.Sprintf("--dataset: %d is negative; data sets are numbered from 0", *dataset))
	case *maxBytes < 1 || *maxBytes > sqldb.MaxFCSBytes:
		return usageError(fmt.Sprintf("--max-bytes: %d is outside 1..%d", *maxBytes, sqldb.MaxFCSBytes))
	case *format != formatTable && *format != formatJSON:
		return usageError(fmt.Sprintf("--format: %q is not table or json", *format))
	}
	cfg.MaxFCSBytes = *maxBytes // the flag, checked above, overrides CLINK_MAX_FCS_BYTES
	if err := cfg.Validate(); err != nil {
		return err
	}
	// Read the files before the database is touched: a missing or oversized file stops here.
	ups := make([]*clink.FCSUpload, len(files))
	for i, path := range files {
		data, err := readLimited(path, *maxBytes)
		if err != nil {
			return err
		}
		ups[i] = &clink.FCSUpload{FileName: filepath.Base(path), Data: data, Template: *template, DataSet: *dataset, Replace: *replace}
	}
	store, err := m.openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	o, err := findObservation(ctx, store, *obsID, *culture, *day)
	if err != nil {
		return fmt.Errorf("fcs attach: %w", err)
	}
	for _, u := range ups {
		u.ObservationID = o.ID
	}
	svc := &flow.Service{Store: store, MaxFCSBytes: *maxBytes}
	as, err := svc.Attach(clink.WithActor(ctx, cliActor), ups)
	if err != nil {
		return fmt.Errorf("fcs attach: %w; nothing was changed", err)
	}
	if o, err = store.FindObservationByID(ctx, o.ID); err != nil {
		return err
	}
	if *format == formatJSON {
		return writeJSON(m.Stdout, fcsAttachResult{Attachments: as, Observation: o})
	}
	return printAttachments(m.Stdout, as, o)
}

// readLimited reads the file at path, refusing one larger than max bytes before reading it.
func readLimited(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	if st.Size() > max {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d bytes allowed (--max-bytes)", path, st.Size(), max)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: more than the %d bytes allowed (--max-bytes)", path, max)
	}
	return data, nil
}

// findObservation finds the observation by id, or the valid observation of a culture on a day.
func findObservation(ctx context.Context, s clink.Store, id int64, culture string, day int) (*clink.Observation, error) {
	if id > 0 {
		return s.FindObservationByID(ctx, id)
	}
	c, err := s.FindCultureByCode(ctx, culture)
	if err != nil {
		return nil, err
	}
	obs, _, err := s.FindObservations(ctx, clink.ObservationFilter{CultureID: c.ID, Page: clink.Page{Limit: clink.MaxLimit}})
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(obs, func(o *clink.Observation) bool { return o.Day == day })
	if i < 0 {
		return nil, clink.Errorf(clink.ENOTFOUND, "culture %s has no observation on day %d; record it first", c.Code, day)
	}
	return obs[i], nil
}

// printAttachments prints one line per attachment, then the observation's flow measures.
func printAttachments(w io.Writer, as []*clink.FCSAttachment, o *clink.Observation) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FILE\tSHA256\tTEMPLATE\tDATASET\tEVENTS\tDENOMINATOR\tNK %\tT %\tMARKERS\tCHANGED")
	for _, a := range as {
		m := a.Measures
		var markers []string
		for _, name := range slices.Sorted(maps.Keys(m.Markers)) {
			markers = append(markers, fmt.Sprintf("%s %s", name, pctText(m.Markers[name])))
		}
		changed := strings.Join(a.Changed, ",")
		if changed == "" {
			changed = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s@%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\n", a.FileName, a.SHA256[:12], a.TemplateName, a.TemplateVersion,
			a.DataSet, a.Events, m.DenominatorEvents, optPct(m.NKPct), optPct(m.TPct), orDash(strings.Join(markers, ", ")), changed)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var markers []string
	for _, name := range slices.Sorted(maps.Keys(o.Markers)) {
		markers = append(markers, fmt.Sprintf("%s %s", name, pctText(o.Markers[name])))
	}
	_, err := fmt.Fprintf(w, "Observation %d (%s day %d): nk_pct %s, t_pct %s, markers %s.\n", o.ID, o.Culture, o.Day,
		optPct(o.NKPct), optPct(o.TPct), orDash(strings.Join(markers, ", ")))
	return err
}

// pctText prints a percentage with four decimals, enough to tell one event in 100,000.
func pctText(v float64) string { return fmt.Sprintf("%.4f", v) }

func optPct(v *float64) string {
	if v == nil {
		return "-"
	}
	return pctText(*v)
}
