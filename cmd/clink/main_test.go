package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/client"
	"github.com/clink-consortium/clink/internal/pgtest"
)

// TestMain runs the tests, or, when CLINK_TEST_AS_CLINK is 1, runs the test binary as the clink
// command itself, so that tests can start real clink processes and signal them (process_test.go).
func TestMain(m *testing.M) {
	if os.Getenv("CLINK_TEST_AS_CLINK") == "1" {
		main()
		os.Exit(0)
	}
	pgtest.Main(m)
}

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runClink runs one command to completion and returns its output.
func runClink(tb testing.TB, args ...string) (stdout, stderr string, err error) {
	tb.Helper()
	var out, errOut syncBuffer
	m := &Main{Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }}
	err = m.Run(context.Background(), args)
	return out.String(), errOut.String(), err
}

// startClink runs a server command (serve or demo) on 127.0.0.1:0 and returns a client of it.
// The server is shut down when the test ends.
func startClink(tb testing.TB, args ...string) (*client.Client, *syncBuffer) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	var out, errOut syncBuffer
	m := &Main{Stdout: &out, Stderr: &errOut, Ready: ready, Getenv: func(string) string { return "" }}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, append(args, "--addr", "127.0.0.1:0")) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("server ended with %v", err)
		}
	})
	select {
	case url := <-ready:
		if !strings.Contains(out.String(), url) {
			tb.Errorf("stdout %q does not print the URL %s", out.String(), url)
		}
		return client.New(url), &out
	case err := <-done:
		tb.Fatalf("clink %v ended before listening: %v\n%s", args, err, errOut.String())
	case <-time.After(2 * time.Minute):
		tb.Fatalf("clink %v did not start listening", args)
	}
	return nil, nil
}

// tokenFor creates an API token of user with `clink token create`, as an operator would while
// the server runs, and returns it.
func tokenFor(tb testing.TB, db, user string) string {
	tb.Helper()
	out, errOut, err := runClink(tb, "token", "create", "--db", db, "--user", user, "--expires", "1d")
	if err != nil {
		tb.Fatalf("token create --user %s: %v\n%s", user, err, errOut)
	}
	return strings.TrimSpace(out)
}

// TestDemo is the acceptance check of the research data core and of access by site and role:
// the demo consortium is served; a viability of 134 % is refused with a problem naming the
// field while the culture's observations stay as they were; a request without credentials gets
// 401; a researcher of another site who tries to change a ZGZ culture, and a viewer, get 403
// and nothing changes; ZGZ's researcher can. It runs on SQLite and, when available, on
// PostgreSQL.
func TestDemo(t *testing.T) {
	dbs := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "c.db") },
		"postgres": func(t *testing.T) string { return pgtest.DSN(t) },
	}
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			db := dbs[name](t)
			c, _ := startClink(t, "demo", "--db", db)
			c.Token = tokenFor(t, db, "researcher-zgz")
			ctx := context.Background()
			h, err := c.Health(ctx)
			if err != nil || h.Status != "ok" {
				t.Fatalf("healthz: %+v, %v", h, err)
			}
			donors, err := c.ListDonors(ctx, client.DonorQuery{})
			if err != nil {
				t.Fatal(err)
			}
			protocols, err := c.ListProtocols(ctx, client.ProtocolQuery{})
			if err != nil {
				t.Fatal(err)
			}
			cultures, err := c.ListCultures(ctx, client.CultureQuery{Site: "ZGZ", Status: clink.StatusCompleted, Limit: 1})
			if err != nil {
				t.Fatal(err)
			}
			all, err := c.ListCultures(ctx, client.CultureQuery{})
			if err != nil {
				t.Fatal(err)
			}
			if donors.Total < 40 || protocols.Total < 8 || all.Total < 150 {
				t.Errorf("totals: donors %d, protocols %d, cultures %d; want at least 40, 8, 150",
					donors.Total, protocols.Total, all.Total)
			}
			if len(cultures.Items) == 0 {
				t.Fatal("no completed culture in the demo")
			}
			cu := cultures.Items[0]
			before, err := c.ListObservations(ctx, cu.ID, client.ObservationQuery{IncludeVoided: true, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			v := 134.0
			_, err = c.CreateObservation(ctx, cu.ID, &clink.Observation{Day: 30, ViableCells: 1e7, ViabilityPct: &v})
			var ce *client.Error
			if !errors.As(err, &ce) || ce.Status != 422 {
				t.Fatalf("viability 134: got %v, want a 422 problem", err)
			}
			if msg, ok := ce.Field("viability_pct"); !ok || !strings.Contains(msg, "134") {
				t.Errorf("problem %v does not name viability_pct with the value", ce)
			}
			after, err := c.ListObservations(ctx, cu.ID, client.ObservationQuery{IncludeVoided: true, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if after.Total != before.Total || len(after.Items) != len(before.Items) {
				t.Errorf("observations of %s: %d before, %d after the refused POST", cu.Code, before.Total, after.Total)
			}
			m, err := c.CultureMetrics(ctx, cu.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Metrics.Points) != before.Total {
				t.Errorf("metrics of %s have %d points, want one per observation (%d)", cu.Code, len(m.Metrics.Points), before.Total)
			}
			testDemoPermissions(t, db, c)
		})
	}
}

// TestServeRestartKeepsData checks that serve on an existing database serves what is there,
// and that a second demo run does not add a second consortium.
func TestServeRestartKeepsData(t *testing.T) {
	db := filepath.Join(t.TempDir(), "c.db")
	ctx := context.Background()
	addAdmin(t, db)
	c, _ := startClink(t, "serve", "--db", db)
	c.Token = tokenFor(t, db, "root")
	s, err := c.CreateSite(ctx, &clink.Site{Code: "ZGZ", Name: "Universidad de Zaragoza", Kind: clink.SiteLab})
	if err != nil {
		t.Fatal(err)
	}
	c2, out := startClink(t, "demo", "--db", db)
	c2.Token = c.Token
	if !strings.Contains(out.String(), "already holds data") || !strings.Contains(out.String(), "Users already exist") {
		t.Errorf("demo on a non-empty database printed %q, want it to say it added nothing and users exist", out.String())
	}
	sites, err := c2.ListSites(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sites.Total != 1 || sites.Items[0].Name != s.Name {
		t.Errorf("sites after demo on a non-empty database: %+v, want only %s", sites.Items, s.Code)
	}
}

func TestCommandLine(t *testing.T) {
	out, _, err := runClink(t, "version")
	if err != nil || !strings.Contains(out, clink.Version) {
		t.Errorf("version: %q, %v", out, err)
	}
	db := filepath.Join(t.TempDir(), "sub", "m.db")
	out, _, err = runClink(t, "migrate", "--db", db)
	if err != nil || !strings.Contains(out, "migrated") {
		t.Errorf("migrate: %q, %v", out, err)
	}
	if _, err := os.Stat(db); err != nil {
		t.Errorf("migrate did not create %s: %v", db, err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "no command"},
		{[]string{"frobnicate"}, "unknown command"},
		{[]string{"serve", "--addr", "nonsense"}, "addr"},
		{[]string{"serve", "--log-format", "xml"}, "log-format"},
		{[]string{"import", "--db", db}, "at least one"},
		{[]string{"export", "--db", db}, "--out is required"},
	} {
		_, _, err := runClink(t, tc.args...)
		if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("clink %v: got %v, want a usage error mentioning %q", tc.args, err, tc.want)
		}
	}
}

func TestConfigEnvironmentAndMasking(t *testing.T) {
	env := map[string]string{"CLINK_DB": "postgres://u:secret@db:5432/clink", "CLINK_ADDR": "127.0.0.1:9999"}
	m := &Main{Getenv: func(k string) string { return env[k] }}
	c := m.defaultConfig()
	if c.DB != env["CLINK_DB"] || c.Addr != env["CLINK_ADDR"] {
		t.Errorf("config from environment = %+v", c)
	}
	if s := c.String(); strings.Contains(s, "secret") || !strings.Contains(s, "u:xxxxx@db") {
		t.Errorf("config string %q leaks or loses the password mask", s)
	}
}

// TestExportImportRoundTrip exports the demo consortium as CSV, imports it into an empty
// database, and exports again: the files must be identical but for provenance columns.
func TestExportImportRoundTrip(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src.db")
	startClink(t, "demo", "--db", src) // fills src; the server stays up until the test ends
	if _, errOut, err := runClink(t, "export", "--db", src, "--out", filepath.Join(dir, "a")); err != nil {
		t.Fatalf("export: %v\n%s", err, errOut)
	}
	dst := filepath.Join(dir, "dst.db")
	if _, errOut, err := runClink(t, "import", "--db", dst, "--dry-run", filepath.Join(dir, "a")); err != nil {
		t.Fatalf("import --dry-run: %v\n%s", err, errOut)
	}
	out, errOut, err := runClink(t, "import", "--db", dst, filepath.Join(dir, "a"))
	if err != nil {
		t.Fatalf("import: %v\n%s", err, errOut)
	}
	if !strings.Contains(out, "Imported") {
		t.Errorf("import printed %q", out)
	}
	if _, errOut, err := runClink(t, "export", "--db", dst, "--out", filepath.Join(dir, "b")); err != nil {
		t.Fatalf("second export: %v\n%s", err, errOut)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "a", "*.csv"))
	if len(files) < 5 {
		t.Fatalf("export wrote %d CSV files", len(files))
	}
	for _, f := range files {
		a := withoutProvenance(t, f)
		b := withoutProvenance(t, filepath.Join(dir, "b", filepath.Base(f)))
		if a != b {
			t.Errorf("%s differs after export, import, export", filepath.Base(f))
		}
	}
	// A refused import names file, line and column and changes nothing.
	bad := filepath.Join(dir, "bad")
	if err := os.MkdirAll(bad, 0o755); err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, filepath.Join(dir, "a", "observations.csv"))
	col := slices.Index(rows[0], "viability_pct")
	if col < 0 {
		t.Fatalf("observations.csv has no viability_pct column: %v", rows[0])
	}
	rows[1][col] = "134"
	writeCSV(t, filepath.Join(bad, "observations.csv"), rows[:2])
	_, errOut, err = runClink(t, "import", "--db", dst, bad)
	if err == nil || !strings.Contains(errOut, "observations.csv:2: viability_pct: 134 is above 100") {
		t.Errorf("bad import: err %v, stderr %q", err, errOut)
	}
	if _, errOut, err := runClink(t, "export", "--db", dst, "--out", filepath.Join(dir, "c")); err != nil {
		t.Fatalf("third export: %v\n%s", err, errOut)
	}
	for _, f := range files {
		name := filepath.Base(f)
		if withoutProvenance(t, filepath.Join(dir, "c", name)) != withoutProvenance(t, filepath.Join(dir, "b", name)) {
			t.Errorf("%s changed after a refused import", name)
		}
	}
}

func readCSV(tb testing.TB, path string) [][]string {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil || len(rows) < 2 {
		tb.Fatalf("%s: %d rows, %v", path, len(rows), err)
	}
	return rows
}

func writeCSV(tb testing.TB, path string, rows [][]string) {
	tb.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.WriteAll(rows)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// withoutProvenance returns a CSV file's text without its created_/updated_ columns.
func withoutProvenance(tb testing.TB, path string) string {
	tb.Helper()
	rows := readCSV(tb, path)
	var keep []int
	for i, h := range rows[0] {
		if !strings.HasPrefix(h, "created_") && !strings.HasPrefix(h, "updated_") {
			keep = append(keep, i)
		}
	}
	var b strings.Builder
	for _, row := range rows {
		for _, i := range keep {
			if i < len(row) {
				b.WriteString(row[i])
			}
			b.WriteByte(0)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// TestAuditVerify alters one audit row of a demo database with a plain SQLite connection, as
// any SQLite client could, and checks that `clink audit verify` fails naming that event, while
// the untouched database verifies.
func TestAuditVerify(t *testing.T) {
	db := filepath.Join(t.TempDir(), "c.db")
	startClink(t, "demo", "--db", db)
	out, _, err := runClink(t, "audit", "verify", "--db", db)
	if err != nil || !strings.HasPrefix(out, "Audit chain intact: ") {
		t.Fatalf("untouched demo database: %q, %v", out, err)
	}
	raw, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{
		"DROP TRIGGER audit_events_no_update",
		"UPDATE audit_events SET reason = 'nothing to see' WHERE id = 42",
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	_, _, err = runClink(t, "audit", "verify", "--db", db)
	if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "event 42 ") || !strings.Contains(err.Error(), "altered") {
		t.Errorf("verify after altering event 42: got %v, want exit 1 naming event 42 as altered", err)
	}
}

// testDemoPermissions is the acceptance check of issue 3 on a running demo, with c a client of
// researcher-zgz.
func testDemoPermissions(t *testing.T, db string, c *client.Client) {
	ctx := context.Background()
	// The demo's cultures have all ended (completed or stopped); observations of a completed
	// culture can still be recorded.
	completed, err := c.ListCultures(ctx, client.CultureQuery{Site: "ZGZ", Status: clink.StatusCompleted, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(completed.Items) == 0 {
		t.Fatal("no completed ZGZ culture in the demo")
	}
	cu := completed.Items[0]
	obs, err := c.ListObservations(ctx, cu.ID, client.ObservationQuery{IncludeVoided: true, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	used := map[int]bool{}
	for _, o := range obs.Items {
		used[o.Day] = true
	}
	day := 1
	for used[day] {
		day++
	}
	// state is what a refused request must leave as it was: the culture's observations and
	// status, and the length of the audit trail.
	state := func() string {
		t.Helper()
		l, err := c.ListObservations(ctx, cu.ID, client.ObservationQuery{IncludeVoided: true, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.GetCulture(ctx, cu.ID)
		if err != nil {
			t.Fatal(err)
		}
		a, err := c.ListAuditEvents(ctx, client.AuditQuery{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%d observations, status %s, %d audit events", l.Total, got.Status, a.Total)
	}
	newObs := &clink.Observation{Day: day, ViableCells: 1e7, ViabilityPct: ptr(90.0)}
	bcn := client.New(c.BaseURL, client.WithToken(tokenFor(t, db, "researcher-bcn")))
	viewer := client.New(c.BaseURL, client.WithToken(tokenFor(t, db, "viewer")))
	anonymous := client.New(c.BaseURL)
	tests := []struct {
		name string
		call func() error
		want int
	}{
		{"no credentials: list cultures", func() error { _, err := anonymous.ListCultures(ctx, client.CultureQuery{}); return err }, 401},
		{"no credentials: observation", func() error { _, err := anonymous.CreateObservation(ctx, cu.ID, newObs); return err }, 401},
		{"researcher of BCN: observation", func() error { _, err := bcn.CreateObservation(ctx, cu.ID, newObs); return err }, 403},
		{"researcher of BCN: status", func() error {
			_, err := bcn.SetCultureStatus(ctx, cu.ID, clink.CultureStatusChange{Status: clink.StatusStopped, Reason: "not mine"})
			return err
		}, 403},
		{"viewer: observation", func() error { _, err := viewer.CreateObservation(ctx, cu.ID, newObs); return err }, 403},
		{"viewer: status", func() error {
			_, err := viewer.SetCultureStatus(ctx, cu.ID, clink.CultureStatusChange{Status: clink.StatusStopped, Reason: "viewer"})
			return err
		}, 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := state()
			err := tc.call()
			var ce *client.Error
			if !errors.As(err, &ce) || ce.Status != tc.want {
				t.Fatalf("got %v, want a %d problem", err, tc.want)
			}
			if after := state(); after != before {
				t.Errorf("refused with %d, but the culture went from %s to %s", tc.want, before, after)
			}
		})
	}
	// The viewer reads what everyone reads.
	if _, err := viewer.GetCulture(ctx, cu.ID); err != nil {
		t.Errorf("viewer reading a culture: got %v, want it", err)
	}
	o, err := c.CreateObservation(ctx, cu.ID, newObs)
	if err != nil {
		t.Fatalf("researcher-zgz recording an observation of %s: %v", cu.Code, err)
	}
	if o.CreatedBy != "researcher-zgz" {
		t.Errorf("got the observation created by %q, want researcher-zgz", o.CreatedBy)
	}
}

func ptr[T any](v T) *T { return &v }
