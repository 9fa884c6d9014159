package sqldb_test

import (
	"fmt"
	"testing"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/sqldb"
)

// BenchmarkCreateObservation measures one observation write (validation, checks, insert,
// audit event, commit with synchronous=FULL) on SQLite.
func BenchmarkCreateObservation(b *testing.B) {
	s := newStore(b, sqldb.DialectSQLite)
	f := seed(b, s)
	c := f.zgzCulture
	b.ResetTimer()
	for i := range b.N {
		if i > 0 && i%366 == 0 { // days run 0..365: start a new culture
			c = newCulture("ZGZ", f.zgzDonor, f.plain)
			if err := s.CreateCulture(actx, c); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.CreateObservation(actx, newObservation(c, i%366)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFindCultures measures listing a filtered page of 50 among 2,000 cultures on SQLite.
func BenchmarkFindCultures(b *testing.B) {
	s := newStore(b, sqldb.DialectSQLite)
	f := seed(b, s)
	err := s.Atomic(actx, func(tx clink.Store) error {
		for i := range 2000 {
			c := newCulture("ZGZ", f.zgzDonor, f.plain)
			if i%2 == 1 {
				c = newCulture("BCN", f.bcnDonor, f.protocol)
			}
			if err := tx.CreateCulture(actx, c); err != nil {
				return fmt.Errorf("culture %d: %w", i, err)
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		got, total, err := s.FindCultures(actx, clink.CultureFilter{Site: "BCN", Status: clink.StatusRunning,
			Page: clink.Page{Limit: 50, Offset: (i % 10) * 50}})
		if err != nil {
			b.Fatal(err)
		}
		if len(got) != 50 || total != 1001 {
			b.Fatalf("got %d cultures of %d, want 50 of 1001", len(got), total)
		}
	}
}
