package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/gmp"
)

func (m *Main) runDIN(ctx context.Context, args []string) error {
	return subcommand(ctx, "din (checkchar|check)", args, map[string]func(context.Context, []string) error{
		"checkchar": m.dinCheckChar, "check": m.dinCheck,
	})
}

// errMismatch is a check character that is not the DIN's: exit status 1, with what was expected.
type errMismatch struct{ din, got, want string }

func (e errMismatch) Error() string {
	return fmt.Sprintf("%s is not the check character of DIN %s: expected %s", e.got, e.din, e.want)
}

// dinArg reads a 13-character DIN given on the command line; a malformed one is a usage
// error naming the position at fault.
func dinArg(s string) (string, error) {
	if _, err := gmp.CheckChar(s); err != nil {
		return "", usageError(fmt.Sprintf("DIN %q: %s", s, fieldMessages(err)))
	}
	return s, nil
}

// dinCheckChar prints the ISBT 128 keyboard-entry check character (ISO/IEC 7064 MOD 37-2,
// gmp.md §2.4) of a 13-character DIN.
func (m *Main) dinCheckChar(_ context.Context, args []string) error {
	if len(args) != 1 {
		return usageError("din checkchar: give one 13-character DIN, e.g. clink din checkchar G123417654321")
	}
	din, err := dinArg(args[0])
	if err != nil {
		return err
	}
	k, err := gmp.CheckChar(din)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "%c\n", k)
	return nil
}

// dinCheck exits 0 when K is the check character of the DIN (saying so) and 1 otherwise,
// saying which it expected.
func (m *Main) dinCheck(_ context.Context, args []string) error {
	if len(args) != 2 {
		return usageError("din check: give a 13-character DIN and a check character, e.g. clink din check G123417654321 A")
	}
	din, err := dinArg(args[0])
	if err != nil {
		return err
	}
	if len(args[1]) != 1 {
		return usageError(fmt.Sprintf("din check: the check character %q is not one character", args[1]))
	}
	ok, want, err := gmp.ValidCheckChar(din, args[1][0])
	if err != nil {
		return usageError(fmt.Sprintf("check character %q: %s", args[1], fieldMessages(err)))
	}
	if !ok {
		return errMismatch{din: din, got: args[1], want: string(want)}
	}
	fmt.Fprintf(m.Stdout, "%s is the check character of DIN %s\n", args[1], din)
	return nil
}

// fieldMessages returns the messages of err's field errors, or its message when it has none.
func fieldMessages(err error) string {
	fields := clink.ErrorFields(err)
	if len(fields) == 0 {
		return err.Error()
	}
	msgs := make([]string, len(fields))
	for i, f := range fields {
		msgs[i] = f.Message
	}
	return strings.Join(msgs, "; ")
}
