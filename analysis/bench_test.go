package analysis

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/demo"
	"github.com/clink-consortium/clink/sqldb"
)

// demoStore returns a SQLite store holding the demo consortium times scale.
func demoStore(b *testing.B, scale int) clink.Store {
	b.Helper()
	ctx := clink.WithActor(context.Background(), "bench")
	st, err := sqldb.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	sum, err := demo.Populate(ctx, st, demo.Options{Scale: scale})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(sum.Cultures), "cultures")
	return st
}

// BenchmarkRankingDemo is the full ranking of the demo consortium (x1) and of the demo
// consortium times ten (x10) as the API and the CLI serve it: every culture, observation and
// assay read from SQLite in one snapshot, outcomes at harvest, the killing of every assay
// fitted, and the scoreboard with its bootstrap intervals and Pareto front.
func BenchmarkRankingDemo(b *testing.B) {
	for _, scale := range []int{1, 10} {
		b.Run(fmt.Sprintf("x%d", scale), func(b *testing.B) {
			s := New(demoStore(b, scale))
			ctx := context.Background()
			for b.Loop() {
				if _, err := s.Ranking(ctx, RankingRequest{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
