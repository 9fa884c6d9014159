package analysis

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/sqldb"
)

// The tests of this package run the service on a small consortium built by hand in a real
// SQLite store, so that every number they expect can be worked out on paper from the records
// below (the comments next to each culture do so):
//
//	sites     ZGZ (donors D1, D2), BCN (donors D3, D4)
//	protocols "IL-2 alone" v1 and v2, "IL-2 + IL-15" v1, "IL-15 alone" v1
//	cultures  every culture seeds 1e6 viable cells at 10 % NK: 1e5 NK cells (NK fold 1)
//
//	c1  D1  IL-2 alone v1    completed  d0, d7 (half kept), d14; K562 51Cr on d7 and d14
//	c2  D1  IL-2 + IL-15     completed  d0, d7, d14; K562 51Cr on d14
//	c3  D2  IL-2 alone v2    completed  d14; K562 51Cr on d10, a day without a count
//	c4  D2  IL-2 + IL-15     completed  d7, d14, d17 (voided); K562 flow-based on d14
//	c5  D3  IL-2 alone v1    completed  d0, d14; no assay
//	c6  D3  IL-2 + IL-15     stopped    d7
//	c7  D3  IL-15 alone      completed  d14; K562 51Cr on d14
//	c8  D4  IL-2 alone v1    running    d7
//	c9  D4  IL-2 + IL-15     completed  d14; a Raji assay only
//	c10 D4  IL-15 alone      completed  d14; no assay
//
// The K562 assays are built from an exponential killing curve y = a(1 − e^(−k x)) on the NK
// E:T x = nominal × viability × purity of the count on the assay day (domain.md §6.4, §6.5),
// so that the fitted curve and its lytic units are known in closed form:
// LU_X per 10⁷ = 10⁷ k / (−T ln(1 − X/a)) with T = 5,000 targets.

// Protocol names of the fixture.
const (
	nameA = "IL-2 alone"
	nameB = "IL-2 + IL-15"
	nameC = "IL-15 alone"
)

// curve is a killing curve an assay of the fixture is built from.
type curve struct {
	a, k   float64 // plateau (fraction) and rate per NK E:T
	factor float64 // viability × purity on the assay day; 1 for an uncorrected assay
}

// lysis is the specific lysis, as a fraction, at nominal E:T et.
func (c curve) lysis(et float64) float64 { return c.a * (1 - math.Exp(-c.k*et*c.factor)) }

// lu is LU_X per 10⁷ effectors for 5,000 targets, in closed form (domain.md §6.5).
func (c curve) lu(levelPct float64) float64 {
	return 1e7 * c.k / (-5000 * math.Log(1-levelPct/100/c.a))
}

// nominalET are the nominal E:T ratios of every assay of the fixture.
var nominalET = []float64{5, 10, 20}

// Curves of the fixture's assays.
var (
	curveC1d7  = curve{a: 0.5, k: 0.3, factor: 0.90 * 0.40} // c1 day 7: viability 90 %, NK 40 %
	curveC1d14 = curve{a: 0.8, k: 0.1, factor: 0.92 * 0.80} // c1 day 14: viability 92 %, NK 80 %
	curveC2d14 = curve{a: 0.6, k: 0.2, factor: 0.95 * 0.90} // c2 day 14: viability 95 %, NK 90 %
	curveC3d10 = curve{a: 0.7, k: 0.15, factor: 1}          // c3 day 10: no count that day, uncorrected
	curveC4d14 = curve{a: 0.5, k: 0.4, factor: 0.90 * 0.75} // c4 day 14, flow-based: viability 90 %, NK 75 %
	curveC7d14 = curve{a: 0.9, k: 0.5, factor: 0.90 * 0.50} // c7 day 14: viability 90 %, NK 50 %
)

// releaseAssay returns a 51Cr release assay on K562 whose readings give exactly the lysis of
// cv at each nominal E:T: spontaneous wells average 100, maximum wells 1,100, and each point's
// triplicate averages 100 + 1,000 × lysis.
func releaseAssay(day int, cv curve) *clink.Assay {
	a := &clink.Assay{Day: day, Target: clink.TargetK562, Method: clink.MethodCr51, TargetsPerWell: 5000, DurationHours: 4,
		Spontaneous: []float64{99, 100, 101}, Maximum: []float64{1099, 1100, 1101}}
	for _, et := range nominalET {
		r := 100 + 1000*cv.lysis(et)
		a.Points = append(a.Points, clink.AssayPoint{ETRatio: et, Readings: []float64{r - 1, r, r + 1}})
	}
	return a
}

// flowAssay returns a flow-based dead-fraction assay on K562: 10 % of targets die without
// effectors, and each point's triplicate averages 10 + 90 × lysis percent dead (§6.2).
func flowAssay(day int, cv curve) *clink.Assay {
	a := &clink.Assay{Day: day, Target: clink.TargetK562, Method: clink.MethodFlow, TargetsPerWell: 5000, DurationHours: 3,
		Spontaneous: []float64{9.5, 10, 10.5}}
	for _, et := range nominalET {
		d := 10 + 90*cv.lysis(et)
		a.Points = append(a.Points, clink.AssayPoint{ETRatio: et, Readings: []float64{d - 0.5, d, d + 0.5}})
	}
	return a
}

// consortium is the fixture: its store and the ids of its records by the names used above.
type consortium struct {
	store     *sqldb.Store
	cultures  map[string]*clink.Culture // "c1" … "c10"
	names     map[int64]string          // culture id → "c1" …
	protocols map[string]*clink.Protocol
	assays    map[string]*clink.Assay // "c1d7", "c1d14", "c2d14", "c3d10", "c4d14", "c7d14", "c9raji"
	obs       map[string][]*clink.Observation
	voided    *clink.Observation
}

func pct(v float64) *float64 { return &v }

// count is an observation of the fixture: viable cells, NK %, viability % and T %, each
// optional (0 = not measured for the percentages), and the fraction kept.
type count struct {
	day                 int
	cells, nk, via, tpc float64
	kept                float64
}

// newConsortium builds the fixture in a fresh SQLite store.
func newConsortium(tb testing.TB) *consortium {
	tb.Helper()
	ctx := clink.WithActor(context.Background(), "tester")
	st, err := sqldb.Open(ctx, filepath.Join(tb.TempDir(), "analysis.db"))
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	must := func(what string, err error) {
		tb.Helper()
		if err != nil {
			tb.Fatalf("%s: %v", what, err)
		}
	}
	for _, code := range []string{"ZGZ", "BCN"} {
		must("site "+code, st.CreateSite(ctx, &clink.Site{Code: code, Name: "Site " + code, Kind: clink.SiteLab}))
	}
	must("IL-2", st.CreateComponent(ctx, &clink.Component{Site: "ZGZ", Name: "IL-2", Category: clink.CategoryCytokine, Unit: clink.UnitIUPerML}))
	must("IL-15", st.CreateComponent(ctx, &clink.Component{Site: "ZGZ", Name: "IL-15", Category: clink.CategoryCytokine, Unit: clink.UnitNgPerML}))
	protocol := func(site, name string, comps ...clink.ProtocolComponent) *clink.Protocol {
		p := &clink.Protocol{Site: site, Name: name, StartingMaterial: clink.StartPBMC, Vessel: clink.VesselGRex,
			SeedingDensity: 1e6, DurationDays: 21, Components: comps}
		must("protocol "+name, st.CreateProtocol(ctx, p))
		return p
	}
	il2 := clink.ProtocolComponent{Component: "IL-2", Dose: 500, Unit: clink.UnitIUPerML, Days: []int{0, 7, 14}}
	il15 := clink.ProtocolComponent{Component: "IL-15", Dose: 10, Unit: clink.UnitNgPerML, Days: []int{0, 7, 14}}
	c := &consortium{store: st, cultures: map[string]*clink.Culture{}, names: map[int64]string{},
		protocols: map[string]*clink.Protocol{}, assays: map[string]*clink.Assay{}, obs: map[string][]*clink.Observation{}}
	c.protocols["A1"] = protocol("ZGZ", nameA, il2)
	c.protocols["A2"] = protocol("ZGZ", nameA, clink.ProtocolComponent{Component: "IL-2", Dose: 1000, Unit: clink.UnitIUPerML, Days: []int{0, 7, 14}})
	if v := c.protocols["A2"].Version; v != 2 {
		tb.Fatalf("second protocol %q got version %d, want 2", nameA, v)
	}
	c.protocols["B"] = protocol("BCN", nameB, il2, il15)
	c.protocols["C"] = protocol("BCN", nameC, il15)

	donors := map[string]*clink.Donor{}
	for _, d := range []struct{ name, site string }{{"D1", "ZGZ"}, {"D2", "ZGZ"}, {"D3", "BCN"}, {"D4", "BCN"}} {
		donor := &clink.Donor{Site: d.site, Sex: clink.SexFemale, AgeBand: "30-34", ConsentDate: "2025-01-10"}
		donor.Normalize()
		must("donor "+d.name, st.CreateDonor(ctx, donor))
		donors[d.name] = donor
	}
	culture := func(name, donor, protocol, status string, counts ...count) {
		d := donors[donor]
		cu := &clink.Culture{Site: d.Site, DonorID: d.ID, ProtocolID: c.protocols[protocol].ID, StartDate: "2025-02-03",
			StartingCells: 1e6, StartingNKPct: 10}
		must("culture "+name, st.CreateCulture(ctx, cu))
		for _, n := range counts {
			o := &clink.Observation{CultureID: cu.ID, Day: n.day, ViableCells: n.cells}
			if n.nk > 0 {
				o.NKPct = pct(n.nk)
			}
			if n.via > 0 {
				o.ViabilityPct = pct(n.via)
			}
			if n.tpc > 0 {
				o.TPct = pct(n.tpc)
			}
			if n.kept > 0 {
				o.SplitFractionKept = pct(n.kept)
			}
			must("observation of "+name, st.CreateObservation(ctx, o))
			c.obs[name] = append(c.obs[name], o)
		}
		switch status {
		case clink.StatusCompleted:
			_, err := st.SetCultureStatus(ctx, cu.ID, clink.CultureStatusChange{Status: clink.StatusCompleted})
			must("complete "+name, err)
		case clink.StatusStopped:
			_, err := st.SetCultureStatus(ctx, cu.ID, clink.CultureStatusChange{Status: clink.StatusStopped, Reason: "contamination"})
			must("stop "+name, err)
		}
		got, err := st.FindCultureByID(ctx, cu.ID)
		must("find "+name, err)
		c.cultures[name], c.names[cu.ID] = got, name
	}
	assay := func(name, culture string, a *clink.Assay) {
		a.CultureID = c.cultures[culture].ID
		must("assay "+name, st.CreateAssay(ctx, a))
		c.assays[name] = a
	}

	// c1: NK cells 1e5 → 1.6e6 on day 7 (fold 16), half kept (8e5 NK seed the next passage)
	// → 8e6 on day 14: fold 16 × 8e6/8e5 = 160.
	culture("c1", "D1", "A1", clink.StatusCompleted,
		count{day: 0, cells: 1e6, nk: 10, via: 95},
		count{day: 7, cells: 4e6, nk: 40, via: 90, kept: 0.5},
		count{day: 14, cells: 1e7, nk: 80, via: 92, tpc: 5})
	assay("c1d7", "c1", releaseAssay(7, curveC1d7))
	assay("c1d14", "c1", releaseAssay(14, curveC1d14))
	// c2: 2.5e6 NK on day 7 (fold 25), 1.8e7 on day 14 (fold 180).
	culture("c2", "D1", "B", clink.StatusCompleted,
		count{day: 0, cells: 1e6, nk: 10, via: 96},
		count{day: 7, cells: 5e6, nk: 50, via: 94},
		count{day: 14, cells: 2e7, nk: 90, via: 95, tpc: 2})
	assay("c2d14", "c2", releaseAssay(14, curveC2d14))
	// c3: 3e6 NK on day 14 (fold 30); its assay is on day 10, which has no count.
	culture("c3", "D2", "A2", clink.StatusCompleted,
		count{day: 14, cells: 5e6, nk: 60, via: 85})
	assay("c3d10", "c3", releaseAssay(10, curveC3d10))
	// c4: 1.5e6 NK on day 7 (fold 15), 6e6 on day 14 (fold 60); day 17 is voided below.
	culture("c4", "D2", "B", clink.StatusCompleted,
		count{day: 7, cells: 3e6, nk: 50, via: 90},
		count{day: 14, cells: 8e6, nk: 75, via: 90},
		count{day: 17, cells: 9e9, nk: 99, via: 99})
	assay("c4d14", "c4", flowAssay(14, curveC4d14))
	// c5: 1e6 NK on day 14 (fold 10).
	culture("c5", "D3", "A1", clink.StatusCompleted,
		count{day: 0, cells: 1e6, nk: 10, via: 97},
		count{day: 14, cells: 2e6, nk: 50, via: 80})
	// c6: 6e5 NK on day 7 (fold 6), then stopped.
	culture("c6", "D3", "B", clink.StatusStopped,
		count{day: 7, cells: 2e6, nk: 30, via: 70})
	// c7: 5e5 NK on day 14 (fold 5).
	culture("c7", "D3", "C", clink.StatusCompleted,
		count{day: 14, cells: 1e6, nk: 50, via: 90})
	assay("c7d14", "c7", releaseAssay(14, curveC7d14))
	// c8: 6e5 NK on day 7 (fold 6), still running.
	culture("c8", "D4", "A1", clink.StatusRunning,
		count{day: 7, cells: 3e6, nk: 20, via: 88})
	// c9: 2e6 NK on day 14 (fold 20); its only assay is against Raji.
	culture("c9", "D4", "B", clink.StatusCompleted,
		count{day: 14, cells: 4e6, nk: 50, via: 90})
	raji := releaseAssay(14, curve{a: 0.4, k: 0.2, factor: 0.45})
	raji.Target = clink.TargetRaji
	assay("c9raji", "c9", raji)
	// c10: 1.5e6 NK on day 14 (fold 15).
	culture("c10", "D4", "C", clink.StatusCompleted,
		count{day: 14, cells: 3e6, nk: 50, via: 90})

	// The day-17 count of c4 (fold 9e9 × 0.99/1e5 ≈ 89,100 if it counted) was entered in the
	// wrong culture and is voided: no analysis may use it.
	v, err := st.VoidObservation(ctx, c.obs["c4"][2].ID, "entered in the wrong culture")
	must("void", err)
	c.voided = v
	return c
}
