package sqldb_test

import (
	"context"
	"database/sql"
	"net/url"
	"strings"
	"testing"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/internal/pgtest"
	"github.com/clink-consortium/clink/sqldb"
)

// TestGrantApp runs the migrations as the owner, grants an application role, and then works
// as that role: the server's writes succeed and extend the audit chain, while changing,
// deleting or truncating audit events, or dropping their triggers, is refused by the database.
func TestGrantApp(t *testing.T) {
	owner := newStore(t, sqldb.DialectPostgres)
	ctx := context.Background()
	role := "clink_app_test"
	if _, err := owner.DB().ExecContext(ctx, "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '"+role+"') THEN CREATE ROLE "+role+" LOGIN PASSWORD 'app-secret'; END IF; END $$"); err != nil {
		t.Fatalf("create role: %v", err)
	}
	must(t, owner.GrantApp(ctx, role))
	wantCode(t, owner.GrantApp(ctx, "robert'); DROP TABLE sites;--"), clink.EINVALID, "role")

	var dsn string
	must(t, owner.DB().QueryRowContext(ctx, "SELECT current_database()").Scan(&dsn))
	u, err := url.Parse(pgtest.DSN(t)) // same server; its database is replaced below
	must(t, err)
	u.User = url.UserPassword(role, "app-secret")
	u.Path = "/" + dsn
	app, err := sqldb.Open(ctx, u.String())
	must(t, err)
	defer app.Close()
	must(t, app.Migrate(ctx)) // nothing pending: serve's start-up check must work as the role
	must(t, app.CreateSite(actx, newSite("ZGZ")))
	if _, err := app.VerifyAudit(ctx); err != nil {
		t.Fatalf("audit chain written by the application role: %v", err)
	}

	raw, err := sql.Open("pgx", u.String())
	must(t, err)
	defer raw.Close()
	for _, q := range []string{
		"UPDATE audit_events SET reason = 'x'",
		"DELETE FROM audit_events",
		"TRUNCATE audit_events",
		"DROP TRIGGER audit_events_no_update ON audit_events",
	} {
		_, err := raw.ExecContext(ctx, q)
		if err == nil || !(strings.Contains(err.Error(), "permission denied") || strings.Contains(err.Error(), "must be owner")) {
			t.Errorf("%s as the application role: got %v, want a privilege error", q, err)
		}
	}
}
