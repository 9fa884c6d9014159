package sqldb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/clink-consortium/clink"
)

// Backup and restore of the embedded database (issue 9). A SQLite backup is an online,
// consistent snapshot: VACUUM INTO reads the whole database in one read transaction, so
// writers carry on (WAL) and the copy holds every transaction committed before it started and
// none after. PostgreSQL is backed up with pg_dump (docs/operations.md).

// Backup writes a consistent snapshot of a SQLite store to path, which must not exist yet, and
// checks it: it opens as a CLINK database whose audit chain verifies. On PostgreSQL it is
// EINVALID, pointing at pg_dump.
func (s *Store) Backup(ctx context.Context, path string) (clink.AuditChain, error) {
	if s.dialect != DialectSQLite {
		return clink.AuditChain{}, clink.Invalid("db", "clink backup copies SQLite databases; back PostgreSQL up with pg_dump (docs/operations.md)")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return clink.AuditChain{}, err
	}
	if _, err := os.Stat(abs); err == nil {
		return clink.AuditChain{}, clink.Invalid("out", "%s already exists: a backup never overwrites a file", path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return clink.AuditChain{}, err
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o750); err != nil {
		return clink.AuditChain{}, err
	}
	if _, err := s.db.ExecContext(ctx, "VACUUM INTO $1", abs); err != nil {
		os.Remove(abs)
		return clink.AuditChain{}, fmt.Errorf("sqldb: backup to %s: %w", path, err)
	}
	chain, err := checkCopy(ctx, abs)
	if err != nil {
		return chain, fmt.Errorf("sqldb: backup %s does not check: %w", path, err)
	}
	return chain, nil
}

// checkCopy opens a SQLite database file and checks it: SQLite's integrity check, the schema
// of this version of CLINK, and the audit chain.
func checkCopy(ctx context.Context, path string) (clink.AuditChain, error) {
	s, err := Open(ctx, path)
	if err != nil {
		return clink.AuditChain{}, err
	}
	defer s.Close()
	var ok string
	if err := s.db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&ok); err != nil {
		return clink.AuditChain{}, err
	}
	if ok != "ok" {
		return clink.AuditChain{}, fmt.Errorf("integrity check: %s", ok)
	}
	applied, known, err := s.migrationState(ctx)
	if err != nil {
		return clink.AuditChain{}, fmt.Errorf("not a CLINK database: %w", err)
	}
	if applied > known {
		return clink.AuditChain{}, fmt.Errorf("schema version %d is newer than this CLINK's (%d)", applied, known)
	}
	return s.VerifyAudit(ctx)
}

// migrationState returns the highest migration applied and the highest this build knows.
func (s *Store) migrationState(ctx context.Context) (applied, known int, err error) {
	if err := s.db.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&applied); err != nil {
		return 0, 0, err
	}
	ms, err := loadMigrations(s.dialect)
	if err != nil {
		return 0, 0, err
	}
	for _, m := range ms {
		known = max(known, m.version)
	}
	return applied, known, nil
}

// SchemaCurrent reports an error unless every migration of this version of CLINK is applied
// and none from a newer one: the readiness probe's check.
func (s *Store) SchemaCurrent(ctx context.Context) error {
	applied, known, err := s.migrationState(ctx)
	switch {
	case err != nil:
		return err
	case applied < known:
		return fmt.Errorf("the database schema is at version %d, this CLINK needs %d: run clink migrate", applied, known)
	case applied > known:
		return fmt.Errorf("the database schema is at version %d, newer than this CLINK's %d", applied, known)
	}
	return nil
}

// Restore copies the SQLite backup at from to a new database file at to, after checking the
// backup (integrity, schema, audit chain), and checks the copy again. It refuses a target that
// exists: a restore never overwrites a database. The restored database is migrated by the
// next clink serve or clink migrate when the backup is older than this version of CLINK.
func Restore(ctx context.Context, from, to string) (clink.AuditChain, error) {
	if isPostgresDSN(to) {
		return clink.AuditChain{}, clink.Invalid("db", "clink restore writes SQLite databases; restore PostgreSQL with pg_restore (docs/operations.md)")
	}
	if _, err := os.Stat(from); err != nil {
		return clink.AuditChain{}, clink.Invalid("from", "%s: %v", from, errors.Unwrap(err))
	}
	for _, p := range []string{to, to + "-wal"} {
		if _, err := os.Stat(p); err == nil {
			return clink.AuditChain{}, clink.Invalid("db", "%s already exists: restore into a new database file", p)
		}
	}
	if _, err := checkCopy(ctx, from); err != nil {
		return clink.AuditChain{}, fmt.Errorf("sqldb: restore: the backup %s does not check: %w", from, err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o750); err != nil {
		return clink.AuditChain{}, err
	}
	if err := copyNew(from, to); err != nil {
		return clink.AuditChain{}, fmt.Errorf("sqldb: restore: %w", err)
	}
	chain, err := checkCopy(ctx, to)
	if err != nil {
		return chain, fmt.Errorf("sqldb: restore: the restored database does not check: %w", err)
	}
	return chain, nil
}

// copyNew copies the file from to a new file to, synced to disk.
func copyNew(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(to)
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		os.Remove(to)
		return err
	}
	return out.Close()
}

func isPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}
