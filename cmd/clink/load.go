package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	nethttp "net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/http"
	"github.com/clink-consortium/clink/sqldb"
)

// clink bench load (issue 9): a load test against the real server on 127.0.0.1. It fills a
// fresh database (SQLite in a temporary directory, or the PostgreSQL database of --db, which must
// be empty) with a site, users and cultures, serves it over TCP, and runs phases of requests
// from --concurrency clients for --duration each: audited writes (observations posted through
// the API), reads (a culture, its observations, a donor, the list of cultures), and a mix of
// 70 % reads, 25 % writes and 5 % analysis (a culture's kinetics and killing). It reports the
// throughput and the latency quantiles of every phase, and every error. Bounded in time and in
// requests (--max-requests per phase).

// loadPhase is the result of one phase.
type loadPhase struct {
	Phase      string  `json:"phase"`
	Requests   int     `json:"requests"`
	Errors     int     `json:"errors"`
	Seconds    float64 `json:"seconds"`
	PerSecond  float64 `json:"per_second"`
	Writes     int     `json:"writes"`
	WritesPerS float64 `json:"writes_per_second"`
	P50ms      float64 `json:"p50_ms"`
	P99ms      float64 `json:"p99_ms"`
	MaxMs      float64 `json:"max_ms"`
	FirstError string  `json:"first_error,omitempty"`
}

// loadReport is what clink bench load prints.
type loadReport struct {
	Database    string      `json:"database"`
	Concurrency int         `json:"concurrency"`
	CPUs        int         `json:"cpus"`
	Phases      []loadPhase `json:"phases"`
}

// loadCultures bounds the cultures written into, 20 days each: 50,000 writes at most.
const loadCultures = 2500

func (m *Main) benchLoad(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench load", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	db := fs.String("db", "", "an empty PostgreSQL database (postgres://...); default: SQLite in a temporary directory")
	duration := fs.Duration("duration", 10*time.Second, "length of each phase, 1s to 10m")
	conc := fs.Int("concurrency", 16, "concurrent clients, 1 to 256")
	maxReq := fs.Int("max-requests", 200000, "at most this many requests per phase")
	phases := fs.String("phases", "write,read,mix", "phases to run, comma-separated: write, read, mix")
	format := fs.String("format", formatTable, "output: table or json")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the phases to this file")
	if err := fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *duration < time.Second || *duration > 10*time.Minute || *conc < 1 || *conc > 256 || *maxReq < 1 {
		return usageError("bench load: --duration 1s..10m, --concurrency 1..256, --max-requests >= 1")
	}
	rep, err := runLoad(ctx, *db, *duration, *conc, *maxReq, splitList(*phases))
	if err != nil {
		return err
	}
	if *format == formatJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	w := newTab(m.Stdout)
	fmt.Fprintf(w, "Database\tPhase\tRequests\tErrors\tPer second\tWrites/s\tp50 ms\tp99 ms\tmax ms\n")
	for _, p := range rep.Phases {
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%.0f\t%.0f\t%.2f\t%.2f\t%.1f\n", rep.Database, p.Phase, p.Requests, p.Errors, p.PerSecond,
			p.WritesPerS, p.P50ms, p.P99ms, p.MaxMs)
	}
	return w.Flush()
}

func runtimeCPUs() int { return runtime.GOMAXPROCS(0) }

func splitList(s string) []string {
	var out []string
	for _, p := range bytes.Split([]byte(s), []byte(",")) {
		if t := string(bytes.TrimSpace(p)); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// runLoad sets the database up, serves it on 127.0.0.1 and runs the phases.
func runLoad(ctx context.Context, dsn string, d time.Duration, conc, maxReq int, phases []string) (*loadReport, error) {
	rep := &loadReport{Database: "sqlite", Concurrency: conc, CPUs: runtimeCPUs()}
	if dsn == "" {
		dir, err := os.MkdirTemp("", "clink-load-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		dsn = filepath.Join(dir, "clink.db")
	} else {
		rep.Database = "postgres"
	}
	store, err := sqldb.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		return nil, err
	}
	token, ids, err := loadSetup(ctx, store, min(loadCultures, maxReq/20+1))
	if err != nil {
		return nil, fmt.Errorf("bench load: set up (the database must be empty): %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &nethttp.Server{Handler: http.NewServer(store, http.Options{}).Handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	client := &nethttp.Client{Transport: &nethttp.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc}, Timeout: 30 * time.Second}
	var slot atomic.Int64
	for _, ph := range phases {
		if ph != "write" && ph != "read" && ph != "mix" {
			return nil, usageError(fmt.Sprintf("--phases: %q is not write, read or mix", ph))
		}
		rep.Phases = append(rep.Phases, loadRun(ctx, client, base, token, ids, ph, d, conc, maxReq, &slot))
	}
	return rep, nil
}

// loadIDs are the records the requests name.
type loadIDs struct {
	cultures []int64
	donor    int64
}

// loadSetup writes a site, a researcher with a token, a donor, a protocol and the cultures.
func loadSetup(ctx context.Context, s *sqldb.Store, cultures int) (string, loadIDs, error) {
	ctx = clink.WithActor(ctx, "load")
	var ids loadIDs
	err := s.Atomic(ctx, func(st clink.Store) error {
		if err := st.CreateSite(ctx, &clink.Site{Code: "ZGZ", Name: "Zaragoza", Kind: clink.SiteLab}); err != nil {
			return err
		}
		if err := st.CreateUser(ctx, &clink.User{Username: "load", FullName: "Load", Email: "load@example.org", Site: "ZGZ",
			Roles: []string{clink.RoleResearcher}}, "bench passphrase 2026"); err != nil {
			return err
		}
		if err := st.CreateComponent(ctx, &clink.Component{Site: "ZGZ", Name: "IL-2", Category: clink.CategoryCytokine, Unit: clink.UnitIUPerML}); err != nil {
			return err
		}
		p := &clink.Protocol{Site: "ZGZ", Name: "IL-2", StartingMaterial: clink.StartPBMC, Vessel: clink.VesselGRex, SeedingDensity: 1e6,
			DurationDays: 20, Components: []clink.ProtocolComponent{{Component: "IL-2", Dose: 500, Unit: "iu/ml", Days: []int{0}}}}
		if err := st.CreateProtocol(ctx, p); err != nil {
			return err
		}
		d := &clink.Donor{Site: "ZGZ", HCMV: clink.HCMVPositive, ConsentDate: "2026-01-01"}
		if err := st.CreateDonor(ctx, d); err != nil {
			return err
		}
		ids.donor = d.ID
		for range cultures {
			c := &clink.Culture{Site: "ZGZ", DonorID: d.ID, ProtocolID: p.ID, StartDate: "2026-11-01", StartingCells: 1e7, StartingNKPct: 10}
			if err := st.CreateCulture(ctx, c); err != nil {
				return err
			}
			ids.cultures = append(ids.cultures, c.ID)
		}
		return nil
	})
	if err != nil {
		return "", ids, err
	}
	token, _, err := s.CreateToken(ctx, "load", "load", time.Hour)
	return token, ids, err
}

// loadRun runs one phase.
func loadRun(ctx context.Context, client *nethttp.Client, base, token string, ids loadIDs, phase string, d time.Duration, conc, maxReq int,
	slot *atomic.Int64) loadPhase {
	res := loadPhase{Phase: phase}
	var mu sync.Mutex
	var lat []time.Duration
	var count atomic.Int64
	var writes, errs atomic.Int64
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 99))
			var local []time.Duration
			for time.Now().Before(deadline) && ctx.Err() == nil && count.Add(1) <= int64(maxReq) {
				kind := phase
				if phase == "mix" {
					switch x := r.IntN(100); {
					case x < 70:
						kind = "read"
					case x < 95:
						kind = "write"
					default:
						kind = "analysis"
					}
				}
				var method, path string
				var body []byte
				switch kind {
				case "write":
					k := slot.Add(1) - 1
					c := ids.cultures[int(k/20)%len(ids.cultures)]
					if k >= int64(len(ids.cultures))*20 {
						continue // every (culture, day) is written
					}
					method, path = "POST", fmt.Sprintf("/api/v1/cultures/%d/observations", c)
					body, _ = json.Marshal(map[string]any{"day": k % 20, "viable_cells": 1e6 + float64(k), "viability_pct": 90})
				case "read":
					c := ids.cultures[r.IntN(len(ids.cultures))]
					switch r.IntN(4) {
					case 0:
						path = fmt.Sprintf("/api/v1/cultures/%d", c)
					case 1:
						path = fmt.Sprintf("/api/v1/cultures/%d/observations", c)
					case 2:
						path = fmt.Sprintf("/api/v1/donors/%d", ids.donor)
					default:
						path = "/api/v1/cultures?limit=20"
					}
					method = "GET"
				case "analysis":
					method, path = "GET", fmt.Sprintf("/api/v1/cultures/%d/metrics", ids.cultures[r.IntN(len(ids.cultures))])
				}
				req, _ := nethttp.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+token)
				if body != nil {
					req.Header.Set("Content-Type", "application/json")
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				local = append(local, time.Since(t0))
				ok := err == nil && (resp.StatusCode == 200 || resp.StatusCode == 201)
				if !ok {
					errs.Add(1)
					mu.Lock()
					if res.FirstError == "" {
						if err != nil {
							res.FirstError = err.Error()
						} else {
							res.FirstError = fmt.Sprintf("%s %s: status %d", method, path, resp.StatusCode)
						}
					}
					mu.Unlock()
				} else if kind == "write" {
					writes.Add(1)
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	slices.Sort(lat)
	q := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	res.Requests, res.Errors, res.Seconds = len(lat), int(errs.Load()), el
	res.PerSecond, res.Writes = float64(len(lat))/el, int(writes.Load())
	res.WritesPerS = float64(res.Writes) / el
	res.P50ms, res.P99ms, res.MaxMs = q(0.50), q(0.99), q(1)
	return res
}
