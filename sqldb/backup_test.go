package sqldb_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/sqldb"
)

// TestBackupRestore backs a SQLite store up while writers keep writing, restores the backup
// into a fresh database and checks it: the audit chain verifies, every record the backup holds
// is there, and nothing half-written is (every observation has its audit event). A backup never
// overwrites a file, a restore never overwrites a database, and PostgreSQL is pointed at
// pg_dump.
func TestBackupRestore(t *testing.T) {
	s := newStore(t, sqldb.DialectSQLite)
	f := seed(t, s)
	dir := t.TempDir()
	backup := filepath.Join(dir, "backup.db")

	// Writers add observations during the backup.
	var wg sync.WaitGroup
	var written atomic.Int64
	stop := make(chan struct{})
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for day := 1 + 100*w; ; day++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := s.CreateObservation(actx, newObservation(f.zgzCulture, day)); err != nil {
					t.Errorf("write during backup: %v", err)
					return
				}
				written.Add(1)
			}
		}()
	}
	for written.Load() < 20 {
		time.Sleep(time.Millisecond)
	}
	chain, err := s.Backup(context.Background(), backup)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if chain.Events == 0 {
		t.Fatalf("backup chain: %+v", chain)
	}
	if _, err := s.Backup(context.Background(), backup); clink.ErrorCode(err) != clink.EINVALID {
		t.Errorf("backup over an existing file: %v, want EINVALID", err)
	}

	restored := filepath.Join(dir, "restored", "clink.db")
	got, err := sqldb.Restore(context.Background(), backup, restored)
	if err != nil {
		t.Fatal(err)
	}
	if got != chain {
		t.Errorf("restored chain %+v, want the backup's %+v", got, chain)
	}
	r, err := sqldb.Open(context.Background(), restored)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var obs, events int
	must(t, r.DB().QueryRow("SELECT COUNT(*) FROM observations").Scan(&obs))
	must(t, r.DB().QueryRow("SELECT COUNT(*) FROM audit_events WHERE entity = 'observation' AND action = 'create'").Scan(&events))
	if obs < 20 || obs != events {
		t.Errorf("restored: %d observations, %d audit events of their creation; want at least 20, one event each", obs, events)
	}
	if int64(obs) > written.Load() {
		t.Errorf("restored %d observations, more than the %d written", obs, written.Load())
	}
	donor, err := r.FindDonorByID(actx, f.zgzDonor.ID)
	if err != nil || donor.Code != f.zgzDonor.Code {
		t.Errorf("restored donor: %v, %v", donor, err)
	}
	if _, err := sqldb.Restore(context.Background(), backup, restored); clink.ErrorCode(err) != clink.EINVALID {
		t.Errorf("restore over an existing database: %v, want EINVALID", err)
	}

	// A backup that was altered does not restore.
	bad := filepath.Join(dir, "bad.db")
	b, err := os.ReadFile(backup)
	must(t, err)
	must(t, os.WriteFile(bad, b, 0o600))
	db, err := sqldb.Open(context.Background(), bad)
	must(t, err)
	_, err = db.DB().Exec("DROP TRIGGER audit_events_no_update")
	must(t, err)
	_, err = db.DB().Exec("UPDATE audit_events SET reason = 'rewritten' WHERE seq = 3")
	must(t, err)
	db.Close()
	if _, err := sqldb.Restore(context.Background(), bad, filepath.Join(dir, "x.db")); err == nil {
		t.Error("restore of an altered backup succeeded; want the audit chain to refuse it")
	} else {
		t.Logf("altered backup refused: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.db")); err == nil {
		t.Error("an altered backup left a restored file behind")
	}
}

func TestBackupPostgres(t *testing.T) {
	s := newStore(t, sqldb.DialectPostgres)
	if _, err := s.Backup(context.Background(), filepath.Join(t.TempDir(), "b.db")); clink.ErrorCode(err) != clink.EINVALID {
		t.Errorf("backup of PostgreSQL: %v, want EINVALID pointing at pg_dump", err)
	}
}
