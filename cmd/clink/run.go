package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/clink-consortium/clink/sqldb"
)

// Main runs one clink command. Tests run the same Main the binary runs, with their own output
// writers, a temporary database and an address on 127.0.0.1:0.
type Main struct {
	Stdout io.Writer
	Stderr io.Writer
	// Ready, when set, receives the base URL once a server command listens.
	Ready chan<- string
	// Getenv reads configuration from the environment (os.Getenv in the binary).
	Getenv func(string) string
	// Stdin is where passwords are read from when CLINK_PASSWORD is not set.
	Stdin io.Reader
}

// NewMain returns a Main writing to stdout and stderr and reading the process environment.
func NewMain(stdout, stderr io.Writer) *Main {
	return &Main{Stdout: stdout, Stderr: stderr, Getenv: osGetenv, Stdin: os.Stdin}
}

type command struct {
	name    string
	summary string
	run     func(m *Main, ctx context.Context, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "run the server on a database (empty or not)", (*Main).runServe},
		{"demo", "run the server with a simulated consortium (fills an empty database)", (*Main).runDemo},
		{"migrate", "apply database migrations", (*Main).runMigrate},
		{"import", "import CSV or XLSX files (all or nothing)", (*Main).runImport},
		{"export", "export the data as CSV files or one XLSX workbook", (*Main).runExport},
		{"analyze", "analyze compare|ranking|cytotox|growth: protocol statistics, scoreboard, killing and growth", (*Main).runAnalyze},
		{"fcs", "fcs info|export|gate|attach: read FCS files, export events, apply Gating-ML gates, attach to observations", (*Main).runFCS},
		{"bench", "bench optimizer: benchmark the optimizer against Sobol and random search", (*Main).runBench},
		{"suggest", "suggest the next conditions to try in a design space (Bayesian optimisation on the results)", (*Main).runSuggest},
		{"batch", "batch list|show|create|step|result|deviation|sign|certificate|label: the manufacturing batch record", (*Main).runBatch},
		{"din", "din checkchar|check: the ISBT 128 check character of a donation identification number", (*Main).runDIN},
		{"sim", "sim run: run the in-silico expansion simulator on a protocol and donors", (*Main).runSim},
		{"user", "user add|list|disable|passwd|roles|unlock: manage users", (*Main).runUser},
		{"token", "token create|list|revoke: manage API tokens", (*Main).runToken},
		{"config", "print the configuration serve would run with, and where each setting comes from (secrets masked)", (*Main).runConfig},
		{"backup", "backup --out FILE: an online, checked snapshot of the SQLite database", (*Main).runBackup},
		{"restore", "restore --from FILE: a checked backup into a new SQLite database", (*Main).runRestore},
		{"audit", "audit verify: check that the audit trail is complete and unaltered", (*Main).runAudit},
		{"version", "print the version", (*Main).runVersion},
	}
}

// Run runs the command named by args[0].
func (m *Main) Run(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		m.usage(m.Stdout)
		if len(args) == 0 {
			return usageError("no command given")
		}
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(m, ctx, args[1:])
		}
	}
	m.usage(m.Stderr)
	return usageError(fmt.Sprintf("unknown command %q", args[0]))
}

func (m *Main) usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: clink <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'clink <command> -h' for the flags of a command.")
}

// errUsage marks errors in the command line; they exit with status 2.
type errUsage struct{ msg string }

func (e errUsage) Error() string { return e.msg }

func usageError(msg string) error { return errUsage{msg} }

func exitCode(err error) int {
	var u errUsage
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

// openFor registers --db on fs, parses args, and opens and migrates the database: the start
// of every command that works on a database and takes no server flags.
func (m *Main) openFor(ctx context.Context, fs *flag.FlagSet, args []string) (*sqldb.Store, Config, error) {
	cfg := m.defaultConfig()
	cfg.dbFlag(fs)
	if err := m.parseConfig(fs, &cfg, args, false); err != nil {
		return nil, cfg, err
	}
	store, err := m.openStore(ctx, cfg)
	return store, cfg, err
}

// parseConfig parses args with fs (on which cfg's flags are registered) and validates the
// resulting configuration.
func (m *Main) parseConfig(fs *flag.FlagSet, cfg *Config, args []string, allowArgs bool) error {
	if err := m.parseFlags(fs, args, allowArgs); err != nil {
		return err
	}
	return cfg.Validate()
}

// parseFlags parses args with fs, turning flag errors into usage errors and refusing
// positional arguments unless allowArgs.
func (m *Main) parseFlags(fs *flag.FlagSet, args []string, allowArgs bool) error {
	fs.SetOutput(m.Stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return usageError("help requested")
		}
		return usageError(err.Error())
	}
	if !allowArgs && fs.NArg() > 0 {
		return usageError(fmt.Sprintf("%s: unexpected argument %q", fs.Name(), strings.Join(fs.Args(), " ")))
	}
	return nil
}
