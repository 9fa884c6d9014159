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
	store, cfg, err := m.openFor(ctx, flag.NewFlagSet("audit verify", flag.ContinueOnError), args[1:])
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
