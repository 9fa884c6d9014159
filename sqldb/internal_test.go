package sqldb

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/internal/pgtest"
)

// TestUniqueViolation checks that a unique-key violation the store did not foresee becomes
// ECONFLICT with a message that shows no SQL, while the chain keeps the driver's error.
func TestUniqueViolation(t *testing.T) {
	for _, dialect := range []string{DialectSQLite, DialectPostgres} {
		t.Run(dialect, func(t *testing.T) {
			dsn := filepath.Join(t.TempDir(), "clink.db")
			if dialect == DialectPostgres {
				dsn = pgtest.DSN(t)
			}
			ctx := context.Background()
			s, err := Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			insert := func() error {
				return s.transact(ctx, "create_site", false, func(t *tx) error {
					_, err := t.ExecContext(ctx, `INSERT INTO sites (code, name, kind, created_at, created_by, updated_at, updated_by)
						VALUES ('ZGZ', 'Zaragoza', 'lab', $1, 'x', $1, 'x')`, t.ts(t.now))
					return err
				})
			}
			if err := insert(); err != nil {
				t.Fatal(err)
			}
			err = insert()
			if got := clink.ErrorCode(err); got != clink.ECONFLICT {
				t.Fatalf("kind = %q (%v), want conflict", got, err)
			}
			msg := clink.ErrorMessage(err)
			for _, leak := range []string{"UNIQUE", "unique", "sites", "INSERT", "duplicate"} {
				if strings.Contains(msg, leak) {
					t.Errorf("user message %q shows %q", msg, leak)
				}
			}
			if !isUniqueViolation(err) {
				t.Errorf("the driver's error is lost from the chain: %v", err)
			}
			// Other driver errors are internal, with the operation in the log text.
			err = s.transact(ctx, "find_nothing", true, func(t *tx) error {
				_, err := t.ExecContext(ctx, "SELECT * FROM no_such_table")
				return err
			})
			if got := clink.ErrorCode(err); got != clink.EINTERNAL || !strings.Contains(err.Error(), "find_nothing") ||
				clink.ErrorMessage(err) != "internal error" {
				t.Fatalf("got kind %q, error %q, message %q; want internal, naming the operation", got, err, clink.ErrorMessage(err))
			}
		})
	}
}

func TestOpenSQLitePath(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		path string
	}{
		{"plain", "clink.db"},
		{"nested new directories", filepath.Join("a", "b", "clink.db")},
		{"URI characters", filepath.Join("odd ?#% dir", "c?l#i%20nk.db")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tc.path)
			s, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("database file not at %s: %v", path, err)
			}
			var fk, timeout int
			var journal string
			if err := s.db.QueryRow("PRAGMA foreign_keys").Scan(&fk); err != nil {
				t.Fatal(err)
			}
			if err := s.db.QueryRow("PRAGMA busy_timeout").Scan(&timeout); err != nil {
				t.Fatal(err)
			}
			if err := s.db.QueryRow("PRAGMA journal_mode").Scan(&journal); err != nil {
				t.Fatal(err)
			}
			if fk != 1 || timeout != 5000 || journal != "wal" {
				t.Fatalf("pragmas foreign_keys=%d busy_timeout=%d journal_mode=%s, want 1, 5000, wal", fk, timeout, journal)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	for _, dsn := range []string{"", "file:x.db?mode=memory", "postgres://nobody@127.0.0.1:1/none?connect_timeout=2"} {
		s, err := Open(ctx, dsn)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", dsn)
		}
	}
	if err := (&Store{}).Close(); err != nil {
		t.Errorf("Close of an unopened store = %v, want nil", err)
	}
}
