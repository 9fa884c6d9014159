package pgtest_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/clink-consortium/clink/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestDSN checks that each call gives a different, empty database that accepts writes.
func TestDSN(t *testing.T) {
	ctx := context.Background()
	seen := map[string]bool{}
	for range 3 {
		dsn := pgtest.DSN(t)
		if seen[dsn] {
			t.Fatalf("DSN %s returned twice", dsn)
		}
		seen[dsn] = true
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var tables int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'").Scan(&tables); err != nil {
			t.Fatal(err)
		}
		if tables != 0 {
			t.Fatalf("new database has %d tables, want 0", tables)
		}
		if _, err := db.ExecContext(ctx, "CREATE TABLE t (x INTEGER)"); err != nil {
			t.Fatalf("database refuses writes: %v", err)
		}
	}
}
