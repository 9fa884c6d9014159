package demo

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/sim"
	"github.com/clink-consortium/clink/sqldb"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// newStore opens and migrates a SQLite store in a temporary directory.
func newStore(tb testing.TB) *sqldb.Store {
	tb.Helper()
	ctx := context.Background()
	s, err := sqldb.Open(ctx, filepath.Join(tb.TempDir(), "clink.db"))
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		tb.Fatalf("Migrate: %v", err)
	}
	return s
}

func populate(tb testing.TB, s clink.Store, opt Options) Summary {
	tb.Helper()
	sum, err := Populate(context.Background(), s, opt)
	if err != nil {
		tb.Fatalf("Populate: %v", err)
	}
	return sum
}

func TestPopulateCounts(t *testing.T) {
	s := newStore(t)
	sum := populate(t, s, Options{})
	tests := []struct {
		name     string
		got, min int
	}{
		{"sites", sum.Sites, 6}, {"donors", sum.Donors, 40}, {"protocols", sum.Protocols, 8},
		{"cultures", sum.Cultures, 150}, {"observations", sum.Observations, 600}, {"assays", sum.Assays, 100},
	}
	for _, tc := range tests {
		if tc.got < tc.min {
			t.Errorf("%s: got %d, want at least %d", tc.name, tc.got, tc.min)
		}
	}
	if sum.Skipped {
		t.Errorf("Skipped: got true on an empty store, want false")
	}
	d := dump(t, s)
	if len(d.Sites) != sum.Sites || len(d.Donors) != sum.Donors || len(d.Protocols) != sum.Protocols ||
		len(d.Cultures) != sum.Cultures || len(d.Observations) != sum.Observations || len(d.Assays) != sum.Assays {
		t.Errorf("store holds %d/%d/%d/%d/%d/%d records, want the summary %+v", len(d.Sites), len(d.Donors), len(d.Protocols),
			len(d.Cultures), len(d.Observations), len(d.Assays), sum)
	}
}

// TestPopulateContent checks the shape of the data against the brief: donor frequencies,
// versions, campaigns, statuses, observation days and assay layout.
func TestPopulateContent(t *testing.T) {
	s := newStore(t)
	populate(t, s, Options{Seed: 3})
	d := dump(t, s)
	today, _ := time.Parse(time.DateOnly, DefaultToday)

	// Every record is attributed to "demo".
	for _, c := range d.Cultures {
		if c.CreatedBy != "demo" {
			t.Fatalf("culture %s created by %q, want demo", c.Code, c.CreatedBy)
		}
	}
	// Versioning: at least one protocol has a version 2.
	v2 := 0
	for _, p := range d.Protocols {
		if p.Version == 2 {
			v2++
		}
	}
	if v2 == 0 {
		t.Errorf("protocol versions: got none at v2, want at least one")
	}
	// Donor codes are valid and site-consistent; haplotypes follow genes.
	bx := 0
	for _, dn := range d.Donors {
		if err := clink.CheckDonorCode(dn.Code); err != nil {
			t.Errorf("donor code: %v", err)
		}
		if dn.KIRHaplotype != clink.KIRHaplotypeOf(dn.KIRGenes) {
			t.Errorf("donor %s: haplotype %s, genes make %s", dn.Code, dn.KIRHaplotype, clink.KIRHaplotypeOf(dn.KIRGenes))
		}
		if dn.KIRHaplotype == clink.KIRBx {
			bx++
		}
	}
	// B/x ≈ 70 %: with 50 donors, 4 binomial SEs is ±26 points.
	if f := float64(bx) / float64(len(d.Donors)); f < 0.44 || f > 0.96 {
		t.Errorf("B/x fraction: got %.2f, want ≈0.70", f)
	}
	// Campaigns: every donor's cultures number 3-5, at the donor's site, started on one day.
	byDonor := map[int64][]*clink.Culture{}
	for _, c := range d.Cultures {
		byDonor[c.DonorID] = append(byDonor[c.DonorID], c)
	}
	site := map[int64]string{}
	for _, dn := range d.Donors {
		site[dn.ID] = dn.Site
	}
	for id, cs := range byDonor {
		if len(cs) < 3 || len(cs) > 5 {
			t.Errorf("donor %d: got %d cultures, want 3-5", id, len(cs))
		}
		for _, c := range cs {
			if c.Site != site[id] || c.StartDate != cs[0].StartDate {
				t.Errorf("culture %s: site %s start %s, want the donor's site %s and the campaign start %s", c.Code, c.Site, c.StartDate, site[id], cs[0].StartDate)
			}
		}
	}
	// Statuses and observation days.
	status := map[string]int{}
	obsByCulture := map[int64][]*clink.Observation{}
	for _, o := range d.Observations {
		obsByCulture[o.CultureID] = append(obsByCulture[o.CultureID], o)
	}
	proto := map[int64]*clink.Protocol{}
	for _, p := range d.Protocols {
		proto[p.ID] = p
	}
	for _, c := range d.Cultures {
		status[c.Status]++
		start, _ := time.Parse(time.DateOnly, c.StartDate)
		if start.After(today) || start.Before(today.AddDate(-2, 0, 0)) {
			t.Errorf("culture %s: start %s, want within the two years before %s", c.Code, c.StartDate, DefaultToday)
		}
		elapsed := int(today.Sub(start).Hours() / 24)
		p := proto[c.ProtocolID]
		if (c.Status == clink.StatusRunning) != (elapsed < p.DurationDays) {
			t.Errorf("culture %s: status %s after %d of %d days", c.Code, c.Status, elapsed, p.DurationDays)
		}
		for _, o := range obsByCulture[c.ID] {
			if o.Day > elapsed || o.Day > p.DurationDays || !slices.Contains([]int{0, 3, 4, 7, 10, 14, 17, 21}, o.Day) {
				t.Errorf("culture %s: observation on day %d (elapsed %d, duration %d)", c.Code, o.Day, elapsed, p.DurationDays)
			}
			// §2.3 flags more than 2e7 cells/mL in static culture: feeding and splits keep
			// the demo cultures below it.
			if o.VolumeML == nil || o.ViableCells / *o.VolumeML > 2e7 {
				t.Errorf("culture %s day %d: %g cells in %v mL, want a volume and at most 2e7/mL", c.Code, o.Day, o.ViableCells, o.VolumeML)
			}
		}
	}
	for _, st := range []string{clink.StatusCompleted, clink.StatusRunning, clink.StatusStopped} {
		if status[st] == 0 {
			t.Errorf("status %s: got no culture, want some (counts %v)", st, status)
		}
	}
	for _, a := range d.Assays {
		ets := []float64{}
		for _, p := range a.Points {
			ets = append(ets, p.ETRatio)
			if len(p.Readings) != 3 {
				t.Errorf("assay %d E:T %g: got %d replicates, want 3", a.ID, p.ETRatio, len(p.Readings))
			}
		}
		if !slices.Equal(ets, assayETs) || a.Target != clink.TargetK562 || a.Method != clink.MethodCr51 || a.TargetsPerWell != 5000 {
			t.Errorf("assay %d: got E:T %v, %s, %s, %d targets; want %v, K562, 51Cr, 5000", a.ID, ets, a.Target, a.Method, a.TargetsPerWell, assayETs)
		}
	}
}

func TestPopulateTwiceIsNoop(t *testing.T) {
	s := newStore(t)
	populate(t, s, Options{})
	before := dump(t, s)
	sum := populate(t, s, Options{Seed: 2})
	if !sum.Skipped || sum != (Summary{Skipped: true}) {
		t.Errorf("second Populate: got %+v, want only Skipped", sum)
	}
	if diff := cmp.Diff(before, dump(t, s)); diff != "" {
		t.Errorf("second Populate changed the store (-before +after):\n%s", diff)
	}
}

// TestSameSeedSameRecords checks that two fresh databases with the same seed hold identical
// records (Meta timestamps aside), and that another seed gives other records.
func TestSameSeedSameRecords(t *testing.T) {
	a, b, c := newStore(t), newStore(t), newStore(t)
	populate(t, a, Options{Seed: 7})
	populate(t, b, Options{Seed: 7})
	populate(t, c, Options{Seed: 8})
	ignore := cmpopts.IgnoreFields(clink.Meta{}, "CreatedAt", "UpdatedAt")
	da, db, dc := dump(t, a), dump(t, b), dump(t, c)
	if diff := cmp.Diff(da, db, ignore); diff != "" {
		t.Errorf("same seed, different records (-first +second):\n%s", diff)
	}
	if cmp.Equal(da.Donors, dc.Donors, ignore) {
		t.Errorf("seeds 7 and 8 gave the same donors, want different")
	}
}

func TestPopulateBadOptions(t *testing.T) {
	s := newStore(t)
	_, err := Populate(context.Background(), s, Options{Today: "20/11/2026"})
	if clink.ErrorCode(err) != clink.EINVALID || len(clink.ErrorFields(err)) != 1 || clink.ErrorFields(err)[0].Field != "today" {
		t.Errorf("bad Today: got %v, want an invalid-input error on today", err)
	}
	if sites, _ := s.ListSites(context.Background()); len(sites) != 0 {
		t.Errorf("bad Today wrote %d sites, want none", len(sites))
	}
	for _, scale := range []int{-1, maxScale + 1} {
		_, err := Populate(context.Background(), s, Options{Scale: scale})
		if clink.ErrorCode(err) != clink.EINVALID || len(clink.ErrorFields(err)) != 1 || clink.ErrorFields(err)[0].Field != "scale" {
			t.Errorf("Scale %d: got %v, want an invalid-input error on scale", scale, err)
		}
	}
}

// TestScale checks that Scale multiplies the donors of every site, each with its own code.
func TestScale(t *testing.T) {
	today := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	one, err := makePlan(1, today, 1)
	if err != nil {
		t.Fatal(err)
	}
	three, err := makePlan(1, today, 3)
	if err != nil {
		t.Fatal(err)
	}
	perSite := func(pl *plan) map[string]int {
		n := map[string]int{}
		for _, d := range pl.donors {
			n[d.rec.Site]++
		}
		return n
	}
	n1, n3 := perSite(one), perSite(three)
	for site, n := range n1 {
		if n3[site] != 3*n {
			t.Errorf("site %s: scale 3 has %d donors, want 3 × %d", site, n3[site], n)
		}
	}
	codes := map[string]bool{}
	for _, d := range three.donors {
		if codes[d.rec.Code] {
			t.Errorf("scale 3: donor code %s given twice", d.rec.Code)
		}
		codes[d.rec.Code] = true
	}
	if len(three.cultures) < 2*len(one.cultures) {
		t.Errorf("scale 3 has %d cultures, scale 1 %d: want about three times as many", len(three.cultures), len(one.cultures))
	}
}

// TestProtocolsValid checks every demo protocol against clink's rules and the catalogue, and
// that its simulator mapping is valid.
func TestProtocolsValid(t *testing.T) {
	cat := map[string]*clink.Component{}
	for _, c := range components {
		if err := c.Validate(); err != nil {
			t.Errorf("component %s: %v", c.Name, err)
		}
		cat[c.Name] = &c
	}
	for _, st := range sites {
		st.Site = st.Code
		if err := st.Validate(); err != nil {
			t.Errorf("site %s: %v", st.Code, err)
		}
	}
	for _, def := range protocolDefs() {
		p := def.P
		p.Normalize()
		if err := p.CheckComponents(func(n string) *clink.Component { return cat[n] }); err != nil {
			t.Errorf("%s: %v", p.Name, err)
		}
		if err := p.Validate(); err != nil {
			t.Errorf("%s: %v", p.Name, err)
		}
		if err := def.Sim.Validate(); err != nil {
			t.Errorf("%s: %v", p.Name, err)
		}
		if def.Sim.Days != p.DurationDays || !slices.Equal(def.Sim.Restim, p.RestimulationDays) {
			t.Errorf("%s: simulator runs %d days with restimulation %v, protocol %d days with %v", p.Name, def.Sim.Days, def.Sim.Restim, p.DurationDays, p.RestimulationDays)
		}
	}
}

// TestFamiliesInPublishedRanges checks that each demo protocol's simulated fold, for the
// nominal donor of domain.md §5.6 (m_donor = 1), lies in its §3 range (cited in the table of
// catalogue.go), and that the median fold over the demo's own simulated cultures of that
// version is within a factor 2 of the range (about 20 donors per protocol: a small sample).
func TestFamiliesInPublishedRanges(t *testing.T) {
	today, _ := time.Parse(time.DateOnly, DefaultToday)
	pl, err := makePlan(1, today, 1)
	if err != nil {
		t.Fatal(err)
	}
	folds := map[int][]float64{}
	for _, c := range pl.cultures {
		def := pl.protocols[c.protocol]
		folds[c.protocol] = append(folds[c.protocol], c.traj.Fold(def.Pub.Day))
	}
	for i, def := range pl.protocols {
		t.Run(def.P.Name+" "+def.Pub.Source, func(t *testing.T) {
			tr, err := sim.Simulate(def.Sim, sim.NominalDonor(), sim.DefaultParams(), 1)
			if err != nil {
				t.Fatal(err)
			}
			if f := tr.Fold(def.Pub.Day); f < def.Pub.Lo || f > def.Pub.Hi {
				t.Errorf("nominal fold at d%d: got %.4g, want %g-%g", def.Pub.Day, f, def.Pub.Lo, def.Pub.Hi)
			}
			fs := folds[i]
			if len(fs) < 3 {
				return
			}
			slices.Sort(fs)
			med := fs[len(fs)/2]
			if len(fs)%2 == 0 {
				med = math.Sqrt(fs[len(fs)/2-1] * fs[len(fs)/2])
			}
			if med < def.Pub.Lo/2 || med > def.Pub.Hi*2 {
				t.Errorf("median fold of %d demo cultures at d%d: got %.4g, want within a factor 2 of %g-%g", len(fs), def.Pub.Day, med, def.Pub.Lo, def.Pub.Hi)
			}
		})
	}
}

// records is everything a store holds, for comparisons.
type records struct {
	Sites        []*clink.Site
	Components   []*clink.Component
	Donors       []*clink.Donor
	Protocols    []*clink.Protocol
	Cultures     []*clink.Culture
	Observations []*clink.Observation
	Assays       []*clink.Assay
}

func dump(tb testing.TB, s clink.Store) records {
	tb.Helper()
	ctx := context.Background()
	var r records
	var err error
	must := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	r.Sites, err = s.ListSites(ctx)
	must(err)
	r.Components, err = s.FindComponents(ctx, "")
	must(err)
	page := func(off int) clink.Page { return clink.Page{Limit: clink.MaxLimit, Offset: off} }
	for off := 0; ; off += clink.MaxLimit {
		ds, n, err := s.FindDonors(ctx, clink.DonorFilter{Page: page(off)})
		must(err)
		r.Donors = append(r.Donors, ds...)
		if len(r.Donors) >= n {
			break
		}
	}
	for off := 0; ; off += clink.MaxLimit {
		ps, n, err := s.FindProtocols(ctx, clink.ProtocolFilter{Page: page(off)})
		must(err)
		r.Protocols = append(r.Protocols, ps...)
		if len(r.Protocols) >= n {
			break
		}
	}
	for off := 0; ; off += clink.MaxLimit {
		cs, n, err := s.FindCultures(ctx, clink.CultureFilter{Page: page(off)})
		must(err)
		r.Cultures = append(r.Cultures, cs...)
		if len(r.Cultures) >= n {
			break
		}
	}
	for _, c := range r.Cultures {
		os, _, err := s.FindObservations(ctx, clink.ObservationFilter{CultureID: c.ID, Page: page(0)})
		must(err)
		r.Observations = append(r.Observations, os...)
	}
	for off := 0; ; off += clink.MaxLimit {
		as, n, err := s.FindAssays(ctx, clink.AssayFilter{Page: page(off)})
		must(err)
		r.Assays = append(r.Assays, as...)
		if len(r.Assays) >= n {
			break
		}
	}
	return r
}

// BenchmarkPopulate times a full demo consortium on SQLite.
func BenchmarkPopulate(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		s := newStore(b)
		b.StartTimer()
		populate(b, s, Options{})
	}
}

// TestPopulateFlow checks the demo's flow cytometry: every recruiting site has the NK-panel
// template, and the most recent cultures have a file whose gates measure what the simulated
// observation said (the events are drawn from it; sampling 10,000 events moves a percentage
// by well under 3 points), with the measured values now on the observation.
func TestPopulateFlow(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	sum := populate(t, s, Options{})
	if sum.GatingTemplates != len(donorSites) || sum.FCSFiles != flowFiles {
		t.Fatalf("Summary: got %d templates and %d files, want %d and %d", sum.GatingTemplates, sum.FCSFiles, len(donorSites), flowFiles)
	}
	for _, ds := range donorSites {
		tmpl, err := s.FindGatingTemplateByRef(ctx, clink.TemplateRef{Name: panelTemplate + ds.site})
		if err != nil || tmpl.Site != ds.site {
			t.Fatalf("template of %s: %v (%+v)", ds.site, err, tmpl)
		}
	}
	pl, err := makePlan(1, mustDate(t, DefaultToday), 1)
	if err != nil {
		t.Fatal(err)
	}
	atts, n, err := s.FindFCSAttachments(ctx, clink.FCSAttachmentFilter{Page: clink.Page{Limit: 100}})
	if err != nil || n != flowFiles {
		t.Fatalf("FindFCSAttachments: got %d (%v), want %d", n, err, flowFiles)
	}
	byName := map[string]flowPlan{}
	for _, fp := range pl.flows {
		byName[fp.name] = fp
	}
	for _, a := range atts {
		fp, ok := byName[a.FileName]
		if !ok {
			t.Errorf("attachment %s: not a planned demo file", a.FileName)
			continue
		}
		want := pl.cultures[fp.culture].obs[fp.obs]
		if c := pl.cultures[fp.culture]; a.TemplateName != panelTemplate+c.rec.Site || a.Events != flowEvents {
			t.Errorf("%s: template %s, %d events; want %s, %d", a.FileName, a.TemplateName, a.Events, panelTemplate+c.rec.Site, flowEvents)
		}
		m := a.Measures
		checks := []struct {
			name      string
			got, want float64
		}{
			{"nk_pct", *m.NKPct, *want.NKPct}, {"t_pct", *m.TPct, *want.TPct},
			{"CD16", m.Markers["CD16"], want.Markers["CD16"]}, {"NKG2C", m.Markers["NKG2C"], want.Markers["NKG2C"]},
		}
		for _, c := range checks {
			if math.Abs(c.got-c.want) > 3 {
				t.Errorf("%s: %s measured %.1f, simulated %.1f: more than 3 points apart", a.FileName, c.name, c.got, c.want)
			}
		}
		o, err := s.FindObservationByID(ctx, a.ObservationID)
		if err != nil {
			t.Fatal(err)
		}
		if *o.NKPct != *m.NKPct {
			t.Errorf("%s: observation nk_pct %v, want the measured %v", a.FileName, *o.NKPct, *m.NKPct)
		}
	}
}

func mustDate(tb testing.TB, s string) time.Time {
	tb.Helper()
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}
