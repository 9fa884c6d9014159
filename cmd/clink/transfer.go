package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/exchange"
)

func (m *Main) runImport(ctx context.Context, args []string) error {
	cfg := m.defaultConfig()
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	cfg.dbFlag(fs)
	dryRun := fs.Bool("dry-run", false, "validate only: report every problem and change nothing")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: clink import [--db DB] [--dry-run] FILE.csv|FILE.xlsx|DIR ...")
		fs.PrintDefaults()
	}
	if err := m.parseFlags(fs, args, true); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageError("import: name at least one CSV or XLSX file, or a directory of them")
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	files, err := readImportFiles(fs.Args())
	if err != nil {
		return err
	}
	store, err := m.openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	rep, err := exchange.Import(clink.WithActor(ctx, "import"), store, files, exchange.Options{DryRun: *dryRun})
	var ie *exchange.ImportError
	if errors.As(err, &ie) {
		for _, p := range ie.Problems {
			fmt.Fprintln(m.Stderr, p.String())
		}
		return fmt.Errorf("import refused: %d problem(s); nothing was changed", len(ie.Problems))
	}
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	tables := make([]string, 0, len(rep.Counts))
	for t := range rep.Counts {
		tables = append(tables, t)
	}
	sort.Strings(tables)
	verb := "Imported"
	if rep.DryRun {
		verb = "Dry run: valid, would import"
	}
	parts := make([]string, len(tables))
	for i, t := range tables {
		parts[i] = fmt.Sprintf("%d %s", rep.Counts[t], t)
	}
	fmt.Fprintf(m.Stdout, "%s %s.\n", verb, strings.Join(parts, ", "))
	return nil
}

// readImportFiles reads the named files; a directory contributes its .csv and .xlsx files.
func readImportFiles(names []string) ([]exchange.File, error) {
	var files []exchange.File
	add := func(path string) error {
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files = append(files, exchange.File{Name: filepath.Base(path), Data: data})
		return nil
	}
	for _, n := range names {
		st, err := os.Stat(n)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			if err := add(n); err != nil {
				return nil, err
			}
			continue
		}
		entries, err := os.ReadDir(n)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			ext := strings.ToLower(filepath.Ext(e.Name()))
			if !e.IsDir() && (ext == ".csv" || ext == ".xlsx") {
				if err := add(filepath.Join(n, e.Name())); err != nil {
					return nil, err
				}
			}
		}
	}
	if len(files) == 0 {
		return nil, usageError("import: no .csv or .xlsx file found")
	}
	return files, nil
}

func (m *Main) runExport(ctx context.Context, args []string) error {
	cfg := m.defaultConfig()
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	cfg.dbFlag(fs)
	out := fs.String("out", "", "a directory for CSV files, or a file ending in .xlsx for one workbook")
	if err := m.parseFlags(fs, args, false); err != nil {
		return err
	}
	if *out == "" {
		return usageError("export: --out is required (a directory, or a .xlsx file)")
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	store, err := m.openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	if strings.EqualFold(filepath.Ext(*out), ".xlsx") {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		if err := exchange.ExportXLSX(ctx, store, f); err != nil {
			f.Close()
			os.Remove(*out)
			return fmt.Errorf("export: %w", err)
		}
		if err := f.Close(); err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "Exported to %s.\n", *out)
		return nil
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	written, err := exchange.ExportCSV(ctx, store, *out)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	fmt.Fprintf(m.Stdout, "Exported %d files to %s.\n", len(written), *out)
	return nil
}
