package sqldb

import (
	"context"
	"fmt"
	"regexp"

	"github.com/clink-consortium/clink"
)

var roleRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// deletableTables are the only tables the application deletes rows from: child rows that a
// write replaces as a whole (a protocol's components, a user's roles) and the failed-login
// counter. Records themselves are voided, never deleted.
var deletableTables = []string{"protocol_components", "user_roles", "login_attempts"}

// GrantApp gives the PostgreSQL role the privileges the server needs and no more, so that a
// server connecting as that role (not the owner that ran the migrations) cannot change or delete
// audit events even with the triggers out of the way: only the owner may drop a trigger, and
// the role holds neither UPDATE, DELETE nor TRUNCATE on audit_events (nor on the append-only
// batch_entries and release_specs). The role must exist.
// Run it after Migrate, and again after later migrations add tables.
func (s *Store) GrantApp(ctx context.Context, role string) error {
	if s.dialect != DialectPostgres {
		return clink.Invalid("role", "application roles exist only on PostgreSQL; SQLite has no privileges")
	}
	if !roleRE.MatchString(role) {
		return clink.Invalid("role", "%q is not a role name (lower-case letters, digits, _)", role)
	}
	// role is checked above; identifiers cannot be bound as parameters.
	stmts := []string{
		"GRANT USAGE ON SCHEMA public TO " + role,
		"GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO " + role,
		"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO " + role,
		"REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM " + role,
		"REVOKE UPDATE, DELETE, TRUNCATE ON batch_entries, release_specs FROM " + role,
		"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON schema_migrations FROM " + role,
	}
	for _, t := range deletableTables {
		stmts = append(stmts, "GRANT DELETE ON "+t+" TO "+role)
	}
	return s.transact(ctx, "grant_app", false, func(t *tx) error {
		for _, q := range stmts {
			if _, err := t.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		return nil
	})
}
