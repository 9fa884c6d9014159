package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestBackupRestoreCommands backs the demo database up, restores it into a new file, and
// checks the restored data and audit chain with clink audit verify and clink batch show.
func TestBackupRestoreCommands(t *testing.T) {
	db := batchDemoDB(t)
	dir := t.TempDir()
	backup, restored := filepath.Join(dir, "backup.db"), filepath.Join(dir, "restored.db")
	out, _, err := runClink(t, "backup", "--db", db, "--out", backup)
	if err != nil || !strings.Contains(out, "audit chain intact") {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	if _, _, err := runClink(t, "backup", "--db", db, "--out", backup); err == nil || !strings.Contains(fieldMessages(err), "already exists") {
		t.Errorf("second backup to the same file: %v, want a refusal", err)
	}
	out, _, err = runClink(t, "restore", "--from", backup, "--db", restored)
	if err != nil || !strings.Contains(out, "audit chain intact") {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	want, _, _ := runClink(t, "audit", "verify", "--db", db)
	got, _, err := runClink(t, "audit", "verify", "--db", restored)
	if err != nil || got != want {
		t.Errorf("audit verify of the restored database: %q, %v; want the original's %q", got, err, want)
	}
	orig, _, _ := runClink(t, "batch", "list", "--db", db)
	back, _, err := runClink(t, "batch", "list", "--db", restored)
	if err != nil || back != orig || !strings.Contains(back, "released_conditional") {
		t.Errorf("batches of the restored database:\n%s\nwant the original's:\n%s", back, orig)
	}
	if _, _, err := runClink(t, "restore", "--from", backup, "--db", restored); err == nil {
		t.Error("restore over an existing database: want a refusal")
	}
}
