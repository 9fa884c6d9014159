package sqldb_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/internal/pgtest"
	"github.com/clink-consortium/clink/sqldb"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// clockStart is the fake clock's first reading; its nanoseconds check that the store keeps
// microseconds and drops the rest.
var clockStart = time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.UTC)

// fakeClock advances one second and one microsecond per reading, so every transaction has
// its own time.
type fakeClock struct{ n atomic.Int64 }

func (c *fakeClock) Now() time.Time {
	n := c.n.Add(1) - 1
	return clockStart.Add(time.Duration(n) * (time.Second + time.Microsecond))
}

// forEachDB runs test against a migrated SQLite store and, when pgtest provides one, a
// migrated PostgreSQL store.
func forEachDB(t *testing.T, test func(t *testing.T, s *sqldb.Store)) {
	t.Helper()
	for _, dialect := range []string{sqldb.DialectSQLite, sqldb.DialectPostgres} {
		t.Run(dialect, func(t *testing.T) {
			test(t, newStore(t, dialect))
		})
	}
}

// newStore opens and migrates a store of the dialect on a fresh database.
func newStore(tb testing.TB, dialect string) *sqldb.Store {
	tb.Helper()
	dsn := filepath.Join(tb.TempDir(), "db", "clink.db")
	if dialect == sqldb.DialectPostgres {
		dsn = pgtest.DSN(tb)
	}
	ctx := context.Background()
	s, err := sqldb.Open(ctx, dsn)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	if got := s.Dialect(); got != dialect {
		tb.Fatalf("Dialect() = %q, want %q", got, dialect)
	}
	if err := s.Migrate(ctx); err != nil {
		tb.Fatalf("Migrate: %v", err)
	}
	var c fakeClock
	s.SetClock(c.Now)
	return s
}

// actx is the context of the tests' writes.
var actx = clink.WithActor(context.Background(), "tester")

// wantCode fails unless err has the error kind code (and, for EINVALID, an error on field).
func wantCode(tb testing.TB, err error, code, field string) {
	tb.Helper()
	if got := clink.ErrorCode(err); got != code {
		tb.Fatalf("error kind = %q (%v), want %q", got, err, code)
	}
	if field == "" {
		return
	}
	for _, f := range clink.ErrorFields(err) {
		if f.Field == field {
			return
		}
	}
	tb.Fatalf("error %v has no field %q", err, field)
}

// wantMessage fails unless the user-facing message of err contains want.
func wantMessage(tb testing.TB, err error, want string) {
	tb.Helper()
	msg := clink.ErrorMessage(err)
	for _, f := range clink.ErrorFields(err) {
		msg += "; " + f.String()
	}
	if !strings.Contains(msg, want) {
		tb.Fatalf("message %q does not contain %q", msg, want)
	}
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

func fptr(v float64) *float64 { return &v }

// fixture is a small consortium: two sites, a catalogue, a protocol, donors and cultures.
type fixture struct {
	s          *sqldb.Store
	protocol   *clink.Protocol // "IL-2 + feeder" v1, with a feeder
	plain      *clink.Protocol // "IL-2 only" v1, unused
	zgzDonor   *clink.Donor
	bcnDonor   *clink.Donor
	zgzCulture *clink.Culture
	bcnCulture *clink.Culture
}

func newSite(code string) *clink.Site {
	return &clink.Site{Code: code, Name: "Site " + code, Kind: clink.SiteLab}
}

func newDonor(site string) *clink.Donor {
	return &clink.Donor{Site: site, Sex: clink.SexFemale, AgeBand: "25-29", HCMV: clink.HCMVPositive,
		NKG2C: clink.NKG2CPlusDel, KIRGenes: []string{"2DL1", "KIR3DL1"}, ConsentDate: "2024-05-02"}
}

func newProtocol(site, name string) *clink.Protocol {
	return &clink.Protocol{Site: site, Name: name, StartingMaterial: clink.StartPBMC, Vessel: clink.VesselGRex,
		SeedingDensity: 1e6, DurationDays: 21,
		Components: []clink.ProtocolComponent{{Component: "IL-2", Dose: 100, Unit: "iu/ml", Days: []int{7, 0, 14}}}}
}

func newCulture(site string, d *clink.Donor, p *clink.Protocol) *clink.Culture {
	return &clink.Culture{Site: site, DonorID: d.ID, ProtocolID: p.ID, StartDate: "2025-01-06",
		StartingCells: 2.5e7, StartingNKPct: 12.5}
}

func newObservation(c *clink.Culture, day int) *clink.Observation {
	return &clink.Observation{CultureID: c.ID, Day: day, ViableCells: 1.5e7 * float64(day+1),
		ViabilityPct: fptr(92.5), NKPct: fptr(61), TPct: fptr(3.25), Markers: map[string]float64{"NKG2C": 33.3, "CD16": 70}}
}

func newAssay(c *clink.Culture) *clink.Assay {
	return &clink.Assay{CultureID: c.ID, Day: 14, Target: clink.TargetK562, Method: clink.MethodCalcein,
		TargetsPerWell: 10000, DurationHours: 4,
		Points: []clink.AssayPoint{
			{ETRatio: 10, Readings: []float64{812.5, 790.25, 845}},
			{ETRatio: 1, Readings: []float64{402, 398.5, 410}},
		},
		Spontaneous: []float64{120, 118.75}, Maximum: []float64{1500, 1490.5}}
}

// seed fills s with the fixture.
func seed(tb testing.TB, s *sqldb.Store) *fixture {
	tb.Helper()
	f := &fixture{s: s}
	for _, code := range []string{"ZGZ", "BCN"} {
		must(tb, s.CreateSite(actx, newSite(code)))
	}
	for _, c := range []*clink.Component{
		{Site: "ZGZ", Name: "IL-2", Category: clink.CategoryCytokine, Unit: clink.UnitIUPerML},
		{Site: "ZGZ", Name: "IL-15", Category: clink.CategoryCytokine, Unit: clink.UnitNgPerML},
		{Site: "BCN", Name: "K562-mbIL15-41BBL", Category: clink.CategoryFeeder, Unit: clink.UnitGray},
	} {
		must(tb, s.CreateComponent(actx, c))
	}
	f.protocol = newProtocol("ZGZ", "IL-2 + feeder")
	f.protocol.Components = append(f.protocol.Components, clink.ProtocolComponent{Component: "K562-mbIL15-41BBL", Dose: 100, Days: []int{0}})
	f.protocol.FeederRatio, f.protocol.FeederRatioBasis = fptr(2), clink.BasisFeederNK
	f.protocol.RestimulationDays = []int{7}
	must(tb, s.CreateProtocol(actx, f.protocol))
	f.plain = newProtocol("BCN", "IL-2 only")
	must(tb, s.CreateProtocol(actx, f.plain))
	f.zgzDonor, f.bcnDonor = newDonor("ZGZ"), newDonor("BCN")
	must(tb, s.CreateDonor(actx, f.zgzDonor))
	must(tb, s.CreateDonor(actx, f.bcnDonor))
	f.zgzCulture = newCulture("ZGZ", f.zgzDonor, f.protocol)
	must(tb, s.CreateCulture(actx, f.zgzCulture))
	f.bcnCulture = newCulture("BCN", f.bcnDonor, f.protocol)
	must(tb, s.CreateCulture(actx, f.bcnCulture))
	return f
}

// counts returns the number of rows of every table, audit events included.
func counts(tb testing.TB, s *sqldb.Store) map[string]int {
	tb.Helper()
	out := map[string]int{}
	for _, table := range []string{"sites", "donors", "components", "protocols", "protocol_components",
		"cultures", "observations", "assays", "audit_events"} {
		var n int
		must(tb, s.DB().QueryRow("SELECT COUNT(*) FROM "+table).Scan(&n))
		out[table] = n
	}
	var seq int
	must(tb, s.DB().QueryRow("SELECT COALESCE(SUM(culture_seq), 0) FROM sites").Scan(&seq))
	out["sites.culture_seq"] = seq
	return out
}

var errStop = errors.New("stop")
