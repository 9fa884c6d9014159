package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/internal/pgtest"
	"github.com/clink-consortium/clink/sqldb"
)

// crashCultures is how many cultures the crash test writes into, crashDays the observation days
// of each (one valid observation per culture and day).
const crashCultures, crashDays = 300, 20

// TestCrashDurability kills a serving clink with SIGKILL at random moments while writers post
// observations through the API, several times, on SQLite and on PostgreSQL (issue 9). After
// each kill, every write the client saw acknowledged (201 with its id) is in the database with
// the values sent, every observation has the audit event of its creation (nothing half
// written), and the audit chain verifies; then the server starts again on the same database.
func TestCrashDurability(t *testing.T) {
	for _, dialect := range []string{sqldb.DialectSQLite, sqldb.DialectPostgres} {
		t.Run(dialect, func(t *testing.T) {
			dsn := filepath.Join(t.TempDir(), "clink.db")
			if dialect == sqldb.DialectPostgres {
				dsn = pgtest.DSN(t)
			}
			token, cultures := crashSetup(t, dsn)
			r := rand.New(rand.NewPCG(7, uint64(len(dialect))))
			var next atomic.Int64 // the next (culture, day) slot to write
			acked := map[int64]crashWrite{}
			for round := range 4 {
				p := startProcess(t, "serve", "--db", dsn)
				got, stopped := crashLoad(t, p.url, token, cultures, &next)
				time.Sleep(time.Duration(200+r.IntN(600)) * time.Millisecond)
				if err := p.cmd.Process.Kill(); err != nil {
					t.Fatal(err)
				}
				<-p.done
				p.done <- nil
				close(stopped)
				for id, w := range got() {
					acked[id] = w
				}
				n := crashCheck(t, dsn, acked)
				t.Logf("round %d: %d writes acknowledged so far, %d observations in the database", round+1, len(acked), n)
			}
			if len(acked) == 0 {
				t.Fatal("no write was acknowledged: the test shows nothing")
			}
		})
	}
}

// crashWrite is an acknowledged observation.
type crashWrite struct {
	culture int64
	day     int
	cells   float64
}

// crashSetup makes a site, an admin, a researcher with a token, a protocol and the cultures.
func crashSetup(t *testing.T, dsn string) (string, []int64) {
	t.Helper()
	ctx := clink.WithActor(context.Background(), "setup")
	s, err := sqldb.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var token string
	var cultures []int64
	err = s.Atomic(ctx, func(st clink.Store) error {
		if err := st.CreateSite(ctx, &clink.Site{Code: "ZGZ", Name: "Zaragoza", Kind: clink.SiteLab}); err != nil {
			return err
		}
		for _, u := range []*clink.User{
			{Username: "root", FullName: "Root", Email: "root@example.org", Roles: []string{clink.RoleAdmin}},
			{Username: "writer", FullName: "Writer", Email: "w@example.org", Site: "ZGZ", Roles: []string{clink.RoleResearcher}},
		} {
			if err := st.CreateUser(ctx, u, "crash test passphrase 1"); err != nil {
				return err
			}
		}
		if err := st.CreateComponent(ctx, &clink.Component{Site: "ZGZ", Name: "IL-2", Category: clink.CategoryCytokine, Unit: clink.UnitIUPerML}); err != nil {
			return err
		}
		p := &clink.Protocol{Site: "ZGZ", Name: "IL-2", StartingMaterial: clink.StartPBMC, Vessel: clink.VesselGRex, SeedingDensity: 1e6,
			DurationDays: crashDays, Components: []clink.ProtocolComponent{{Component: "IL-2", Dose: 500, Unit: "iu/ml", Days: []int{0}}}}
		if err := st.CreateProtocol(ctx, p); err != nil {
			return err
		}
		d := &clink.Donor{Site: "ZGZ", HCMV: clink.HCMVPositive, ConsentDate: "2026-01-01"}
		if err := st.CreateDonor(ctx, d); err != nil {
			return err
		}
		for range crashCultures {
			c := &clink.Culture{Site: "ZGZ", DonorID: d.ID, ProtocolID: p.ID, StartDate: "2026-11-01", StartingCells: 1e7, StartingNKPct: 10}
			if err := st.CreateCulture(ctx, c); err != nil {
				return err
			}
			cultures = append(cultures, c.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if token, _, err = s.CreateToken(ctx, "writer", "crash", time.Hour); err != nil {
		t.Fatal(err)
	}
	return token, cultures
}

// crashLoad starts 4 writers posting observations until the server goes away (or stopped is
// closed); got returns the acknowledged writes once they have stopped.
func crashLoad(t *testing.T, url, token string, cultures []int64, next *atomic.Int64) (got func() map[int64]crashWrite, stopped chan struct{}) {
	var mu sync.Mutex
	acked := map[int64]crashWrite{}
	var wg sync.WaitGroup
	stopped = make(chan struct{})
	client := &http.Client{Timeout: 10 * time.Second}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stopped:
					return
				default:
				}
				k := next.Add(1) - 1
				if k >= crashCultures*crashDays {
					return
				}
				w := crashWrite{culture: cultures[k/crashDays], day: int(k % crashDays), cells: float64(1e6 + k)}
				body, _ := json.Marshal(map[string]any{"day": w.day, "viable_cells": w.cells})
				req, _ := http.NewRequest("POST", fmt.Sprintf("%s/api/v1/cultures/%d/observations", url, w.culture), bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					return // the server was killed
				}
				var o clink.Observation
				err = json.NewDecoder(resp.Body).Decode(&o)
				resp.Body.Close()
				if resp.StatusCode == http.StatusCreated && err == nil {
					mu.Lock()
					acked[o.ID] = w
					mu.Unlock()
				} else if resp.StatusCode != http.StatusCreated {
					t.Errorf("POST observation: status %d", resp.StatusCode)
					return
				}
			}
		}()
	}
	return func() map[int64]crashWrite { wg.Wait(); return acked }, stopped
}

// crashCheck opens the database after a kill and checks the acknowledged writes, the audit
// events of every observation and the chain; it returns the number of observations.
func crashCheck(t *testing.T, dsn string, acked map[int64]crashWrite) int {
	t.Helper()
	ctx := context.Background()
	s, err := sqldb.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for id, w := range acked {
		o, err := s.FindObservationByID(ctx, id)
		if err != nil {
			t.Fatalf("acknowledged observation %d is lost: %v", id, err)
		}
		if o.CultureID != w.culture || o.Day != w.day || o.ViableCells != w.cells {
			t.Fatalf("acknowledged observation %d: culture %d day %d cells %g, want %+v", id, o.CultureID, o.Day, o.ViableCells, w)
		}
	}
	var obs, events int
	if err := s.DB().QueryRow("SELECT COUNT(*) FROM observations").Scan(&obs); err != nil {
		t.Fatal(err)
	}
	if err := s.DB().QueryRow("SELECT COUNT(*) FROM audit_events WHERE entity = 'observation' AND action = 'create'").Scan(&events); err != nil {
		t.Fatal(err)
	}
	if obs != events {
		t.Fatalf("%d observations but %d audit events of their creation: a write is half done", obs, events)
	}
	if _, err := s.VerifyAudit(ctx); err != nil {
		t.Fatalf("audit chain after the kill: %v", err)
	}
	return obs
}
