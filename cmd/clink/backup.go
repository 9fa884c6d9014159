package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/clink-consortium/clink/sqldb"
)

// runBackup writes an online, consistent snapshot of the SQLite database to a new file and
// checks it (integrity, schema, audit chain). PostgreSQL is backed up with pg_dump
// (docs/operations.md).
func (m *Main) runBackup(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	out := fs.String("out", "", "the backup file to write; it must not exist (required)")
	store, cfg, err := m.openFor(ctx, fs, args)
	if err != nil {
		return err
	}
	defer store.Close()
	if *out == "" {
		return usageError("backup: --out FILE is required: clink backup --out FILE [--db DB]")
	}
	chain, err := store.Backup(ctx, *out)
	if err != nil {
		return fmt.Errorf("backup %s: %w", maskDSN(cfg.DB), err)
	}
	fmt.Fprintf(m.Stdout, "Backup written to %s and checked: audit chain intact, %d events, head %s\n", *out, chain.Events, chain.Head)
	return nil
}

// runRestore copies a checked backup to a new SQLite database file.
func (m *Main) runRestore(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	from := fs.String("from", "", "the backup file (required)")
	cfg := m.defaultConfig()
	cfg.dbFlag(fs)
	if err := m.parseConfig(fs, &cfg, args, false); err != nil {
		return err
	}
	if *from == "" {
		return usageError("restore: --from FILE is required: clink restore --from FILE --db NEW.db")
	}
	chain, err := sqldb.Restore(ctx, *from, cfg.DB)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	fmt.Fprintf(m.Stdout, "Restored %s into %s and checked: audit chain intact, %d events, head %s\n", *from, maskDSN(cfg.DB), chain.Events, chain.Head)
	return nil
}
