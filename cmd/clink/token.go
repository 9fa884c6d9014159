package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/clink-consortium/clink"
)

func (m *Main) runToken(ctx context.Context, args []string) error {
	return subcommand(ctx, "token (create|list|revoke)", args, map[string]func(context.Context, []string) error{
		"create": m.tokenCreate, "list": m.tokenList, "revoke": m.tokenRevoke,
	})
}

// parseLifetime reads a token lifetime: a number of days ("90d") or a Go duration ("12h").
func parseLifetime(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || n > 366 {
			return 0, usageError(fmt.Sprintf("--expires: %q is not a number of days from 1 to 366 (e.g. 90d)", s))
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, usageError(fmt.Sprintf("--expires: %q is not a lifetime such as 90d or 12h", s))
	}
	return d, nil
}

func (m *Main) tokenCreate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	user := fs.String("user", "", "user the token acts as (required)")
	expires := fs.String("expires", "90d", "lifetime: days (90d) or a duration (12h); at most 366d")
	label := fs.String("label", "", "what the token is for")
	store, _, err := m.openFor(ctx, fs, args)
	if err != nil {
		return err
	}
	defer store.Close()
	d, err := parseLifetime(*expires)
	if err != nil {
		return err
	}
	secret, k, err := store.CreateToken(clink.WithActor(ctx, cliActor), *user, *label, d)
	if err != nil {
		return fmt.Errorf("token create: %w", err)
	}
	// Only the secret goes to standard output, so that scripts can capture it.
	fmt.Fprintln(m.Stdout, secret)
	fmt.Fprintf(m.Stderr, "Token %d (prefix %s) for %s, valid until %s. It is shown only now.\n",
		k.ID, k.Prefix, k.Username, k.ExpiresAt.Format(time.RFC3339))
	return nil
}

func (m *Main) tokenList(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("token list", flag.ContinueOnError)
	user := fs.String("user", "", "only this user's tokens")
	store, _, err := m.openFor(ctx, fs, args)
	if err != nil {
		return err
	}
	defer store.Close()
	tokens, err := store.FindTokens(ctx, *user)
	if err != nil {
		return fmt.Errorf("token list: %w", err)
	}
	now := store.Now()
	w := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tPREFIX\tUSER\tLABEL\tCREATED\tEXPIRES\tLAST USED\tSTATUS")
	for _, k := range tokens {
		status := "active"
		switch {
		case k.RevokedAt != nil:
			status = "revoked: " + k.RevokeReason
		case !now.Before(k.ExpiresAt):
			status = "expired"
		}
		used := "never"
		if k.LastUsedAt != nil {
			used = k.LastUsedAt.Format(time.RFC3339)
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Prefix, k.Username, k.Label,
			k.CreatedAt.Format(time.RFC3339), k.ExpiresAt.Format(time.RFC3339), used, status)
	}
	return w.Flush()
}

func (m *Main) tokenRevoke(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("token revoke", flag.ContinueOnError)
	var ref clink.TokenRef
	fs.Int64Var(&ref.ID, "id", 0, "id of the token (or --prefix)")
	fs.StringVar(&ref.Prefix, "prefix", "", "prefix of the token (or --id)")
	reason := fs.String("reason", "", "why (required)")
	store, _, err := m.openFor(ctx, fs, args)
	if err != nil {
		return err
	}
	defer store.Close()
	k, err := store.RevokeToken(clink.WithActor(ctx, cliActor), ref, *reason)
	if err != nil {
		return fmt.Errorf("token revoke: %w", err)
	}
	fmt.Fprintf(m.Stdout, "Token %d (prefix %s) of %s revoked.\n", k.ID, k.Prefix, k.Username)
	return nil
}
