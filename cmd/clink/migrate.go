package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/clink-consortium/clink"
)

func (m *Main) runMigrate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	grantApp := fs.String("grant-app", "", "PostgreSQL: give this existing role the server's privileges and no more (no UPDATE, DELETE or TRUNCATE of audit events)")
	store, cfg, err := m.openFor(ctx, fs, args)
	if err != nil {
		return err
	}
	defer store.Close()
	fmt.Fprintf(m.Stdout, "Database %s is migrated (%s).\n", maskDSN(cfg.DB), store.Dialect())
	if *grantApp != "" {
		if err := store.GrantApp(ctx, *grantApp); err != nil {
			return fmt.Errorf("grant-app: %w", err)
		}
		fmt.Fprintf(m.Stdout, "Role %s may now run the server; it cannot change or delete audit events.\n", *grantApp)
	}
	return nil
}

func (m *Main) runVersion(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	if err := m.parseFlags(fs, args, false); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "clink %s\n", clink.Version)
	return nil
}
