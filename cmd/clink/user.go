package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/clink-consortium/clink"
)

// cliActor is the actor of writes made from the command line.
const cliActor = "cli"

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// subcommand picks the subcommand of a command group from args.
func subcommand(ctx context.Context, group string, args []string, subs map[string]func(ctx context.Context, args []string) error) error {
	if len(args) == 0 {
		return usageError(fmt.Sprintf("%s: give a subcommand", group))
	}
	if run, ok := subs[args[0]]; ok {
		return run(ctx, args[1:])
	}
	return usageError(fmt.Sprintf("%s: unknown subcommand %q", group, args[0]))
}

func (m *Main) runUser(ctx context.Context, args []string) error {
	return subcommand(ctx, "user (add|list|disable|passwd|roles|unlock)", args, map[string]func(context.Context, []string) error{
		"add": m.userAdd, "list": m.userList, "disable": m.userDisable, "passwd": m.userPasswd, "roles": m.userRoles,
		"unlock": m.userUnlock,
	})
}

// readPassword returns the password from CLINK_PASSWORD or, when it is unset, the first line
// of standard input. Passwords are never flags: flags show in process lists and shell history.
func (m *Main) readPassword() (string, error) {
	if p := m.Getenv("CLINK_PASSWORD"); p != "" {
		return p, nil
	}
	if m.Stdin == nil {
		return "", usageError("password: set CLINK_PASSWORD or write the password on standard input")
	}
	line, err := bufio.NewReader(m.Stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", usageError("password: set CLINK_PASSWORD or write the password on standard input")
	}
	return line, nil
}

func (m *Main) userAdd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	var u clink.User
	var roles stringList
	admin := fs.Bool("admin", false, "give the user the admin role")
	fs.StringVar(&u.Username, "username", "", "username: lower-case letters, digits, '.', '_', '-' (required)")
	fs.StringVar(&u.FullName, "name", "", "full name (required)")
	fs.StringVar(&u.Email, "email", "", "email address (required)")
	fs.StringVar(&u.Site, "site", "", "site code, e.g. ZGZ (required for researcher and clinician)")
	fs.Var(&roles, "role", "role, repeatable: admin, researcher, viewer, qa, qp, clinician")
	store, _, err := m.openFor(ctx, fs, args)
	if err != nil {
		return err
	}
	defer store.Close()
	u.Roles = roles
	if *admin {
		u.Roles = append(u.Roles, clink.RoleAdmin)
	}
	if err := u.Validate(); err != nil {
		return err // before asking for a password
	}
	password, err := m.readPassword()
	if err != nil {
		return err
	}
	if err := store.CreateUser(clink.WithActor(ctx, cliActor), &u, password); err != nil {
		return fmt.Errorf("user add: %w", err)
	}
	fmt.Fprintf(m.Stdout, "User %s created with roles %s.\n", u.Username, strings.Join(u.Roles, ", "))
	return nil
}

func (m *Main) userList(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("user list", flag.ContinueOnError)
	var f clink.UserFilter
	fs.BoolVar(&f.IncludeDisabled, "all", false, "list disabled users too")
	fs.StringVar(&f.Site, "site", "", "only users of this site")
	fs.StringVar(&f.Role, "role", "", "only users with this role")
	asJSON := fs.Bool("json", false, "print JSON")
	store, _, err := m.openFor(ctx, fs, args)
	if err != nil {
		return err
	}
	defer store.Close()
	f.Limit = clink.MaxLimit
	users, _, err := store.FindUsers(ctx, f)
	if err != nil {
		return fmt.Errorf("user list: %w", err)
	}
	if *asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(users)
	}
	w := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "USERNAME\tNAME\tEMAIL\tSITE\tROLES\tSTATUS")
	for _, u := range users {
		status := "enabled"
		if u.Disabled {
			status = "disabled: " + u.DisabledReason
		}
		site := u.Site
		if site == "" {
			site = "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", u.Username, u.FullName, u.Email, site, strings.Join(u.Roles, ","), status)
	}
	return w.Flush()
}

func (m *Main) userDisable(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("user disable", flag.ContinueOnError)
	username := fs.String("username", "", "user to disable (required)")
	reason := fs.String("reason", "", "why (required)")
	store, _, err := m.openFor(ctx, fs, args)
	if err != nil {
		return err
	}
	defer store.Close()
	if _, err := store.DisableUser(clink.WithActor(ctx, cliActor), *username, *reason); err != nil {
		return fmt.Errorf("user disable: %w", err)
	}
	fmt.Fprintf(m.Stdout, "User %s disabled.\n", *username)
	return nil
}

func (m *Main) userPasswd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("user passwd", flag.ContinueOnError)
	username := fs.String("username", "", "user whose password is set (required)")
	store, _, err := m.openFor(ctx, fs, args)
	if err != nil {
		return err
	}
	defer store.Close()
	if _, err := store.FindUserByUsername(ctx, *username); err != nil {
		return fmt.Errorf("user passwd: %w", err)
	}
	password, err := m.readPassword()
	if err != nil {
		return err
	}
	if err := store.SetPassword(clink.WithActor(ctx, cliActor), *username, password); err != nil {
		return fmt.Errorf("user passwd: %w", err)
	}
	fmt.Fprintf(m.Stdout, "Password of %s changed.\n", *username)
	return nil
}

func (m *Main) userRoles(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("user roles", flag.ContinueOnError)
	username := fs.String("username", "", "user whose roles are replaced (required)")
	reason := fs.String("reason", "", "why (required)")
	var roles stringList
	fs.Var(&roles, "role", "role, repeatable: the user's complete new set of roles")
	store, _, err := m.openFor(ctx, fs, args)
	if err != nil {
		return err
	}
	defer store.Close()
	u, err := store.SetUserRoles(clink.WithActor(ctx, cliActor), *username, roles, *reason)
	if err != nil {
		return fmt.Errorf("user roles: %w", err)
	}
	fmt.Fprintf(m.Stdout, "User %s now has the roles %s.\n", u.Username, strings.Join(u.Roles, ", "))
	return nil
}
