package main

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/clink-consortium/clink/internal/pgtest"
)

// TestBenchLoad runs the load test briefly (bounded in requests and time) against the real
// server on 127.0.0.1, on SQLite and on PostgreSQL: every phase answers its requests without an
// error. The figures of a full run are in docs/benchmarks.md; tests never assert speed.
func TestBenchLoad(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			args := []string{"bench", "load", "--duration", "1s", "--concurrency", "4", "--max-requests", "300", "--format", "json"}
			if dialect == "postgres" {
				args = append(args, "--db", pgtest.DSN(t))
			}
			out, errOut, err := runClink(t, args...)
			if err != nil {
				t.Fatalf("bench load: %v\n%s", err, errOut)
			}
			var rep loadReport
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if rep.Database != dialect || len(rep.Phases) != 3 {
				t.Fatalf("report: %+v", rep)
			}
			for _, p := range rep.Phases {
				if p.Requests == 0 || p.Errors != 0 || p.P99ms < p.P50ms {
					t.Errorf("phase %s: %d requests, %d errors (%s), p50 %g p99 %g", p.Phase, p.Requests, p.Errors, p.FirstError, p.P50ms, p.P99ms)
				}
			}
			if w := rep.Phases[0]; w.Writes != w.Requests {
				t.Errorf("write phase: %d writes of %d requests", w.Writes, w.Requests)
			}
		})
	}
}

// TestBenchLoadFigures prints the figures of docs/benchmarks.md ("Load") on SQLite and on a
// throwaway PostgreSQL: 10 s phases of 16 clients. It runs only with CLINK_LOAD_FIGURES=1:
//
//	CLINK_LOAD_FIGURES=1 go test ./cmd/clink -run TestBenchLoadFigures -v
func TestBenchLoadFigures(t *testing.T) {
	if os.Getenv("CLINK_LOAD_FIGURES") != "1" {
		t.Skip("set CLINK_LOAD_FIGURES=1 to measure the load figures")
	}
	for _, dialect := range []string{"sqlite", "postgres"} {
		args := []string{"bench", "load", "--duration", "10s", "--concurrency", "16"}
		if dialect == "postgres" {
			args = append(args, "--db", pgtest.DSN(t))
		}
		out, errOut, err := runClink(t, args...)
		if err != nil {
			t.Fatalf("%v\n%s", err, errOut)
		}
		t.Logf("\n%s", out)
	}
}
