package sqldb

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// migrations holds one folder of numbered .sql files per dialect. A released migration is
// never edited: changes go in a new file.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

// migration is one numbered schema change.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads the migrations of a dialect in version order. File names start with
// the version number and an underscore: 0001_init.sql.
func loadMigrations(dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	seen := map[int]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 {
			return nil, fmt.Errorf("migration %s/%s: name does not start with a version number and _", dir, e.Name())
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share version %d", other, e.Name(), v)
		}
		seen[v] = e.Name()
		b, err := fs.ReadFile(migrations, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// Migrate applies the embedded migrations the database has not seen yet, each in its own
// transaction together with its row in schema_migrations. Running it again does nothing.
// Concurrent Migrate calls are safe: SQLite's immediate transactions and a PostgreSQL
// advisory lock make them take turns, and each re-checks what is applied.
func (s *Store) Migrate(ctx context.Context) error {
	if s.tx != nil {
		return fmt.Errorf("sqldb: migrate: not allowed inside Atomic")
	}
	ms, err := loadMigrations(s.dialect)
	if err != nil {
		return fmt.Errorf("sqldb: migrate: %w", err)
	}
	// The table's own DDL is portable; a concurrent creator is harmless with IF NOT EXISTS
	// except on PostgreSQL, where the race can still raise a unique violation: retry once.
	const create = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TEXT NOT NULL
	)`
	// A table that exists is not created again: a PostgreSQL application role (GrantApp) may
	// read it but has no right to create tables.
	var exists int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE version = 0").Scan(&exists); err != nil {
		if _, err := s.db.ExecContext(ctx, create); err != nil {
			if _, err2 := s.db.ExecContext(ctx, create); err2 != nil {
				return fmt.Errorf("sqldb: migrate: create schema_migrations: %w", err)
			}
		}
	}
	for _, m := range ms {
		err := s.transact(ctx, "migrate "+m.name, false, func(t *tx) error {
			if t.dialect == DialectPostgres {
				// Serialise migrators; the lock ends with the transaction.
				if _, err := t.ExecContext(ctx, "SELECT pg_advisory_xact_lock(7305734)"); err != nil {
					return err
				}
			}
			var n int
			if err := t.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE version = $1", m.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := t.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			_, err := t.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
				m.version, m.name, t.now.Format(timeLayout))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}
