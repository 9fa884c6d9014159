package sqldb_test

import (
	"context"
	"sync"
	"testing"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/sqldb"
)

// TestPoolKeepsConnections: 16 clients reading at once reuse the store's connections instead of
// closing and reopening them after each request (every new SQLite connection parses the whole
// schema, every new PostgreSQL one starts a backend: the read throughput of docs/benchmarks.md
// was half of today's with database/sql's default of 2 idle connections).
func TestPoolKeepsConnections(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		ctx := context.Background()
		if err := s.CreateSite(actx, &clink.Site{Code: "ZGZ", Name: "Zaragoza", Kind: clink.SiteLab}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 40 {
					if _, err := s.FindSiteByCode(ctx, "ZGZ"); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		st := s.DB().Stats()
		if st.MaxIdleClosed != 0 {
			t.Errorf("%d connections closed for want of idle room (of %d opened)", st.MaxIdleClosed, st.OpenConnections)
		}
		if st.Idle != st.OpenConnections || st.OpenConnections < 2 {
			t.Errorf("after the reads: %d open connections, %d idle; want them all kept idle", st.OpenConnections, st.Idle)
		}
	})
}
