package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/clink-consortium/clink"
)

// userUnlock runs "clink user unlock --username U --reason R": it clears the user's failed
// sign-ins, wait and lock (audited with the reason), so that the user can sign in at once.
func (m *Main) userUnlock(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("user unlock", flag.ContinueOnError)
	username := fs.String("username", "", "user to unlock (required)")
	reason := fs.String("reason", "", "why, e.g. how the user's identity was checked (required)")
	store, _, err := m.openFor(ctx, fs, args)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.UnlockUser(clink.WithActor(ctx, cliActor), *username, *reason); err != nil {
		return fmt.Errorf("user unlock: %w", err)
	}
	fmt.Fprintf(m.Stdout, "User %s unlocked: failed sign-ins cleared.\n", *username)
	return nil
}
