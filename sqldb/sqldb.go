// Package sqldb implements clink.Store on database/sql for SQLite (modernc.org/sqlite) and
// PostgreSQL (pgx). One SQL text serves both databases: queries keep to a portable subset
// ($N placeholders, RETURNING, ON CONFLICT, COALESCE, LIMIT/OFFSET) and the two schemas, one
// migration folder per dialect, differ only in column types.
//
// Every public method is one transaction. Writes validate their input before they touch the
// database, fill the record's Meta from the context's actor and the store's clock, and write an
// audit event in the same transaction, so a failed write leaves nothing behind.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/clink-consortium/clink"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialects a Store speaks.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// sqlitePragmas are the connection settings of engineering.md. _txlock=immediate makes every
// read-write transaction take the write lock at BEGIN, so concurrent read-then-write
// transactions wait for each other (busy_timeout) instead of failing with SQLITE_BUSY.
const sqlitePragmas = "_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)&_txlock=immediate"

// Store is a clink.Store backed by SQLite or PostgreSQL. It is safe for concurrent use, except
// the Store that Atomic passes to its function, which belongs to one goroutine.
type Store struct {
	db      *sql.DB
	dialect string
	now     func() time.Time
	login   *clink.LoginPolicy // nil: clink.DefaultLoginPolicy (SetLoginPolicy)

	// tx is set on the Store that Atomic hands to its function: every method then runs in it.
	tx *tx
	// writes serialises this process's write transactions on SQLite, which has one writer at
	// a time: waiting here is a queue, where waiting in SQLite's busy handler is a sleep of up
	// to 100 ms between retries (p99 latencies of hundreds of ms under load, docs/benchmarks.md).
	writes *sync.Mutex
	// auth remembers token checks for a few seconds (authcache.go).
	auth *authCache
}

var _ clink.Store = (*Store)(nil)

// Open connects to dsn: a SQLite file path (its parent directory is created) or a postgres://
// or postgresql:// URL. It checks that the database answers but does not migrate.
func Open(ctx context.Context, dsn string) (*Store, error) {
	if strings.TrimSpace(dsn) == "" {
		return nil, errors.New("sqldb: open: empty database name")
	}
	s := &Store{now: defaultClock, auth: newAuthCache()}
	var err error
	if isPostgresDSN(dsn) {
		s.dialect = DialectPostgres
		s.db, err = sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("sqldb: open postgres: %w", err)
		}
	} else {
		s.dialect = DialectSQLite
		name, err := sqliteDSN(dsn)
		if err != nil {
			return nil, err
		}
		if s.db, err = sql.Open("sqlite", name); err != nil {
			return nil, fmt.Errorf("sqldb: open sqlite %s: %w", dsn, err)
		}
		s.writes = &sync.Mutex{}
	}
	s.db.SetMaxIdleConns(idleConns)
	s.db.SetConnMaxIdleTime(5 * time.Minute)
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("sqldb: open %s: %w", s.dialect, err)
	}
	return s, nil
}

// idleConns is how many connections the store keeps open between requests. database/sql keeps
// only 2 by default: under concurrent requests it then closes and reopens connections all the
// time, and every new SQLite connection parses the whole schema again (half of the CPU of a
// read load before this, docs/benchmarks.md), every new PostgreSQL one starts a backend process.
// The number of open connections stays unbounded, as before, so that no request waits for a
// connection another holds; idle ones close after five minutes.
const idleConns = 32

// sqliteDSN builds the driver's DSN from a file path: the path, made absolute and
// percent-escaped where SQLite's URI syntax would misread it, and the fixed pragmas.
func sqliteDSN(path string) (string, error) {
	if strings.HasPrefix(path, "file:") || strings.ContainsRune(path, 0) {
		return "", fmt.Errorf("sqldb: open: %q is not a file path", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("sqldb: open %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o750); err != nil {
		return "", fmt.Errorf("sqldb: open %s: %w", path, err)
	}
	esc := strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(filepath.ToSlash(abs))
	return "file:" + esc + "?" + sqlitePragmas, nil
}

// Close closes the database. Closing the Store that Atomic hands out does nothing.
func (s *Store) Close() error {
	if s.tx != nil || s.db == nil {
		return nil
	}
	return s.db.Close()
}

// Dialect returns "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect }

// DB returns the underlying database handle, for tests and maintenance tools.
func (s *Store) DB() *sql.DB { return s.db }

// defaultClock is the store's clock unless SetClock replaces it.
func defaultClock() time.Time { return time.Now() }

// SetClock replaces the store's clock (by default time.Now). Its readings are converted to UTC
// and truncated to microseconds, the precision both databases keep. It must not be called while
// the store is in use.
func (s *Store) SetClock(now func() time.Time) {
	if now == nil {
		now = defaultClock
	}
	s.now = now
}

// Now reads the store's clock as a transaction does: in UTC, truncated to microseconds.
func (s *Store) Now() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("sqldb: ping: %w", err)
	}
	return nil
}

// tx is one transaction with the clock reading it uses for every timestamp it writes.
type tx struct {
	*sql.Tx
	dialect string
	now     time.Time
	sp      int // savepoints taken, to name the next one
}

// Atomic runs fn with a Store bound to one transaction, committed when fn returns nil and
// rolled back otherwise; fn's error is returned unchanged. Every method of the inner Store runs in that transaction inside a
// savepoint, so a method that fails leaves no partial writes and fn may carry on (PostgreSQL
// would otherwise refuse every later statement). Atomic on the inner Store just calls fn.
func (s *Store) Atomic(ctx context.Context, fn func(s clink.Store) error) error {
	if s.tx != nil {
		return fn(s)
	}
	var fnErr error
	err := s.transact(ctx, "atomic", false, func(t *tx) error {
		fnErr = fn(&Store{db: s.db, dialect: s.dialect, now: s.now, login: s.login, tx: t, writes: s.writes, auth: s.auth})
		return fnErr
	})
	if fnErr != nil {
		return fnErr // fn's own error, as fn returned it
	}
	return err
}

// transact runs fn in a transaction: a new one (begin, deferred rollback, commit), or, on the
// Store of Atomic, a savepoint of the shared one. readOnly lets SQLite start a deferred
// transaction that does not take the write lock. Errors other than domain errors are wrapped
// with the operation; unique-key violations become ECONFLICT.
func (s *Store) transact(ctx context.Context, op string, readOnly bool, fn func(t *tx) error) (err error) {
	defer func() { err = wrapErr(op, err) }()
	if s.tx != nil {
		return s.tx.savepoint(ctx, fn)
	}
	if !readOnly && s.writes != nil {
		s.writes.Lock()
		defer s.writes.Unlock()
	}
	sqltx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: readOnly})
	if err != nil {
		return err
	}
	defer sqltx.Rollback()
	if err := fn(&tx{Tx: sqltx, dialect: s.dialect, now: s.Now()}); err != nil {
		return err
	}
	return sqltx.Commit()
}

// savepoint runs fn inside a savepoint of t, rolled back to when fn fails.
func (t *tx) savepoint(ctx context.Context, fn func(t *tx) error) error {
	t.sp++
	name := fmt.Sprintf("clink_sp%d", t.sp)
	if _, err := t.ExecContext(ctx, "SAVEPOINT "+name); err != nil {
		return err
	}
	if err := fn(t); err != nil {
		if _, rerr := t.ExecContext(ctx, "ROLLBACK TO SAVEPOINT "+name); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	_, err := t.ExecContext(ctx, "RELEASE SAVEPOINT "+name)
	return err
}

// wrapErr returns domain errors unchanged (their messages and fields are for users), turns
// unique-key violations into ECONFLICT, and wraps every other error with the operation.
func wrapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *clink.Error
	if errors.As(err, &e) {
		return err
	}
	if isUniqueViolation(err) {
		return fmt.Errorf("sqldb: %s: %w (%w)", op,
			clink.Errorf(clink.ECONFLICT, "%s clashes with an existing record", strings.ReplaceAll(op, "_", " ")), err)
	}
	return fmt.Errorf("sqldb: %s: %w", op, err)
}

// isUniqueViolation reports whether err is a unique or primary key violation.
func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	return false
}

// ts converts a time to the value the dialect stores: TIMESTAMPTZ in PostgreSQL, fixed-width
// RFC 3339 text in UTC in SQLite (which then sorts as text in time order).
func (t *tx) ts(v time.Time) any { return tsValue(t.dialect, v) }

// tsValue is ts for a dialect, for queries built outside a transaction.
func tsValue(dialect string, v time.Time) any {
	v = v.UTC().Truncate(time.Microsecond)
	if dialect == DialectPostgres {
		return v
	}
	return v.Format(timeLayout)
}

// timeLayout is how SQLite columns hold times.
const timeLayout = "2006-01-02T15:04:05.000000Z07:00"
