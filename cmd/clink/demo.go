package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/demo"
)

func (m *Main) runDemo(ctx context.Context, args []string) error {
	cfg := m.defaultConfig()
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	cfg.serverFlags(fs)
	seed := fs.Int64("seed", 1, "seed of the simulated consortium: the same seed gives the same data")
	password := fs.String("demo-password", "", "password of every demo user (default: generated and printed)")
	if err := m.parseConfig(fs, &cfg, args, false); err != nil {
		return err
	}
	store, err := m.openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	if *password == "" {
		*password = demo.GeneratePassword()
	}
	sum, err := demo.Populate(clink.WithActor(ctx, "demo"), store, demo.Options{Seed: *seed, Password: *password})
	if err != nil {
		return fmt.Errorf("demo data: %w", err)
	}
	if sum.Skipped {
		fmt.Fprintf(m.Stdout, "The database %s already holds data; the demo consortium was not added.\n", maskDSN(cfg.DB))
		if sum.UsersExist {
			fmt.Fprintln(m.Stdout, "Users already exist; no demo users were added (sign in as before).")
		} else {
			fmt.Fprintln(m.Stdout, "The database has no users and no demo users were added: create them with clink user add.")
		}
	} else {
		fmt.Fprintf(m.Stdout, "Demo consortium (seed %d): %d sites, %d donors, %d protocols, %d cultures, %d observations, %d cytotoxicity assays, %d gating templates, %d FCS files.\n",
			*seed, sum.Sites, sum.Donors, sum.Protocols, sum.Cultures, sum.Observations, sum.Assays, sum.GatingTemplates, sum.FCSFiles)
		fmt.Fprintf(m.Stdout, "Manufacturing: %d patients with treatment requests, %d batches at the Montpellier GMP unit (one released, one in process).\n",
			sum.Patients, sum.Batches)
		var names []string
		for _, u := range demo.Users() {
			names = append(names, u.Username)
		}
		fmt.Fprintf(m.Stdout, "Demo users: %s\nDemo password (every user): %s\n", strings.Join(names, ", "), *password)
	}
	return m.serve(ctx, cfg, store)
}
