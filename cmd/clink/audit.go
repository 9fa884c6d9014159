package main

import (
	"context"
	"flag"
	"fmt"
)

func (m *Main) runAudit(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "verify" {
		return usageError("audit: the subcommand is verify: clink audit verify [--db DB]")
	}
	cfg := m.defaultConfig()
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	cfg.dbFlag(fs)
	if err := m.parseFlags(fs, args[1:], false); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	store, err := m.openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	chain, err := store.VerifyAudit(ctx)
	if err != nil {
		return fmt.Errorf("audit verify %s: %w", maskDSN(cfg.DB), err)
	}
	fmt.Fprintf(m.Stdout, "Audit chain intact: %d events, head %s\n", chain.Events, chain.Head)
	return nil
}
