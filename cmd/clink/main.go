// Command clink runs CLINK: the consortium's server (web API on an embedded SQLite database or
// PostgreSQL) and its administrative commands. See `clink help`.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := NewMain(os.Stdout, os.Stderr)
	if err := m.Run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "clink:", err)
		os.Exit(exitCode(err))
	}
}
