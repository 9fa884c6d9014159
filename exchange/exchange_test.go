package exchange_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/exchange"
	"github.com/clink-consortium/clink/sqldb"
	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"
)

// newStore opens an empty, migrated SQLite store in a temporary directory.
func newStore(tb testing.TB) *sqldb.Store {
	tb.Helper()
	ctx := context.Background()
	s, err := sqldb.Open(ctx, filepath.Join(tb.TempDir(), "clink.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	return s
}

// donorCode makes a valid donor code from ten characters of the code alphabet.
func donorCode(body string) string {
	return "D" + body + "-" + clink.Mod37_2("D"+body)
}

func ptr(v float64) *float64 { return &v }

// fixture names the records seed creates.
var (
	donorA = donorCode("7KQ2M9XW4R")
	donorB = donorCode("0000000001")
	donorC = donorCode("ABCDEFGH12")
)

// seed fills s with a small consortium: three sites, a catalogue, three protocol versions,
// three donors, three cultures (one stopped, one completed) with observations that carry
// markers, splits and a voided reading, and two cytotoxicity assays.
func seed(tb testing.TB, s clink.Store) {
	tb.Helper()
	ctx := clink.WithActor(context.Background(), "test")
	must := func(what string, err error) {
		tb.Helper()
		if err != nil {
			tb.Fatalf("seed: %s: %v", what, err)
		}
	}
	for _, site := range []clink.Site{
		{Code: "ZGZ", Name: "Universidad de Zaragoza", Kind: clink.SiteLab},
		{Code: "BCN", Name: "Hospital Clínic, Barcelona", Kind: clink.SiteHospital},
		{Code: "MPL", Name: "Montpellier, \"chimie\"", Kind: clink.SiteChemistry},
	} {
		must("site", s.CreateSite(ctx, &site))
	}
	for _, c := range []clink.Component{
		{Site: "ZGZ", Name: "IL-2", Category: clink.CategoryCytokine, Unit: clink.UnitIUPerML, Description: "aldesleukin, 16.4 IU/ng"},
		{Site: "ZGZ", Name: "IL-15", Category: clink.CategoryCytokine, Unit: clink.UnitNgPerML},
		{Site: "ZGZ", Name: "K562-mbIL15-41BBL", Category: clink.CategoryFeeder, Unit: clink.UnitGray},
		{Site: "MPL", Name: "ABP", Category: clink.CategoryCompound, Unit: clink.UnitMicromolar, Description: "aminobisphosphonate dendrimer; lot 7"},
		{Site: "BCN", Name: "human AB serum", Category: clink.CategorySerum, Unit: clink.UnitPercentVV},
	} {
		must("component", s.CreateComponent(ctx, &c))
	}
	k562 := &clink.Protocol{Site: "ZGZ", Name: "K562-mbIL15", Version: 1, StartingMaterial: clink.StartPBMC,
		Components: []clink.ProtocolComponent{
			{Component: "IL-2", Dose: 100, Unit: clink.UnitIUPerML, Days: []int{0, 3, 7, 10}},
			{Component: "K562-mbIL15-41BBL", Dose: 100, Unit: clink.UnitGray, Days: []int{0, 7}},
			{Component: "human AB serum", Dose: 10, Unit: clink.UnitPercentVV, Days: []int{0}},
		},
		FeederRatio: ptr(2), FeederRatioBasis: clink.BasisFeederNK, RestimulationDays: []int{7},
		Vessel: clink.VesselGRex, SeedingDensity: 1e6, DurationDays: 21, Description: "Denman et al. 2012, adapted"}
	must("protocol v1", s.CreateProtocol(ctx, k562))
	v2 := *k562
	v2.ID, v2.Version = 0, 0
	v2.Components = []clink.ProtocolComponent{
		{Component: "IL-2", Dose: 200, Unit: clink.UnitIUPerML, Days: []int{0, 3, 7, 10, 14}},
		{Component: "K562-mbIL15-41BBL", Dose: 100, Unit: clink.UnitGray, Days: []int{0, 7, 14}},
	}
	v2.RestimulationDays = []int{7, 14}
	tenth, fifth := 0.1, 0.2
	v2.FeederRatio = ptr(tenth + fifth) // 0.30000000000000004 in float64: must survive the round trip exactly
	must("protocol v2", s.CreateProtocol(ctx, &v2))
	il15 := &clink.Protocol{Site: "BCN", Name: "IL-15 + ABP", Version: 1, StartingMaterial: clink.StartCD3DepletedPBMC,
		Components: []clink.ProtocolComponent{
			{Component: "IL-15", Dose: 10, Unit: clink.UnitNgPerML, Days: []int{0, 2, 4, 7}},
			{Component: "ABP", Dose: 20, Unit: clink.UnitMicromolar, Days: []int{0}},
		},
		Vessel: clink.VesselFlask, SeedingDensity: 2.5e6, DurationDays: 14}
	must("protocol IL-15", s.CreateProtocol(ctx, il15))

	for _, d := range []clink.Donor{
		{Code: donorA, Site: "ZGZ", Sex: clink.SexFemale, AgeBand: "25-29", HCMV: clink.HCMVPositive, NKG2C: clink.NKG2CPlusPlus,
			KIRGenes: []string{"KIR2DL1", "KIR2DL3", "KIR2DS4", "KIR3DL1"}, HLACGroup: "C1/C2", ConsentDate: "2025-01-15"},
		{Code: donorB, Site: "ZGZ", ConsentDate: "2025-02-01", Notes: "buffy coat; line one\nline two"},
		{Code: donorC, Site: "BCN", Sex: clink.SexMale, AgeBand: "40-44", HCMV: clink.HCMVNegative, NKG2C: clink.NKG2CPlusDel,
			KIRGenes: []string{"KIR2DS2", "KIR2DL2"}, ConsentDate: "2025-03-03"},
	} {
		d.Normalize()
		must("donor", s.CreateDonor(ctx, &d))
	}
	cultures := []*clink.Culture{
		{Code: "ZGZ-C0001", Site: "ZGZ", Donor: donorA, ProtocolName: "K562-mbIL15", ProtocolVersion: 1,
			StartDate: "2025-04-01", StartingCells: 2e7, StartingNKPct: 8.5},
		{Code: "ZGZ-C0002", Site: "ZGZ", Donor: donorB, ProtocolName: "K562-mbIL15", ProtocolVersion: 2,
			StartDate: "2025-04-08", StartingCells: 1.5e7, StartingNKPct: 11.25, Notes: "fed, day 3"},
		{Code: "BCN-C0001", Site: "BCN", Donor: donorC, ProtocolName: "IL-15 + ABP", ProtocolVersion: 1,
			StartDate: "2025-05-01", StartingCells: 1e7, StartingNKPct: 60},
	}
	for _, c := range cultures {
		d, err := s.FindDonorByCode(ctx, c.Donor)
		must("find donor", err)
		p, err := s.FindProtocolByKey(ctx, c.ProtocolName, c.ProtocolVersion)
		must("find protocol", err)
		c.DonorID, c.ProtocolID = d.ID, p.ID
		must("culture", s.CreateCulture(ctx, c))
	}
	obs := []clink.Observation{
		{CultureID: cultures[0].ID, Day: 0, ViableCells: 2e7, ViabilityPct: ptr(97), NKPct: ptr(8.5), TPct: ptr(70.2),
			Markers: map[string]float64{"CD16": 85.5, "NKG2A": 40}, VolumeML: ptr(20)},
		{CultureID: cultures[0].ID, Day: 7, ViableCells: 1.2e8, ViabilityPct: ptr(93.1), NKPct: ptr(45), TPct: ptr(40),
			Markers: map[string]float64{"CD16": 70, "NKG2A": 65.25, "NKp44": 30}, VolumeML: ptr(100), SplitFractionKept: ptr(0.5),
			Note: "split, half kept"},
		{CultureID: cultures[0].ID, Day: 14, ViableCells: 9.87654321e8, ViabilityPct: ptr(91), NKPct: ptr(88.8), TPct: ptr(5.1),
			Markers: map[string]float64{"CD16": 60, "NKG2C": 22.2, "DNAM-1": 95}, SplitFractionKept: ptr(1.0 / 3)},
		{CultureID: cultures[1].ID, Day: 0, ViableCells: 1.5e7, ViabilityPct: ptr(99)},
		{CultureID: cultures[1].ID, Day: 7, ViableCells: 3e7, ViabilityPct: ptr(80), Note: "count from the wrong flask"},
		{CultureID: cultures[2].ID, Day: 0, ViableCells: 1e7},
		{CultureID: cultures[2].ID, Day: 14, ViableCells: 6.1e7, NKPct: ptr(94), TPct: ptr(0.4)},
	}
	for i := range obs {
		must("observation", s.CreateObservation(ctx, &obs[i]))
	}
	_, err := s.VoidObservation(ctx, obs[4].ID, "wrong flask counted")
	must("void", err)
	corrected := clink.Observation{CultureID: cultures[1].ID, Day: 7, ViableCells: 4.5e7, ViabilityPct: ptr(85)}
	must("corrected observation", s.CreateObservation(ctx, &corrected))
	for _, a := range []clink.Assay{
		{CultureID: cultures[0].ID, Day: 14, Target: clink.TargetK562, Method: clink.MethodCr51, TargetsPerWell: 5000, DurationHours: 4,
			Points:      []clink.AssayPoint{{ETRatio: 10, Readings: []float64{1500, 1620, 1580}}, {ETRatio: 2.5, Readings: []float64{800, 760, 790}}},
			Spontaneous: []float64{300, 310, 295}, Maximum: []float64{2500, 2550, 2480}},
		{CultureID: cultures[0].ID, Day: 14, Target: clink.TargetCustom, TargetName: "patient blasts #3", Method: clink.MethodFlow,
			Points: []clink.AssayPoint{{ETRatio: 5, Readings: []float64{35.5, 37.25}}}, Spontaneous: []float64{4.5, 5}, Note: "CFSE/7-AAD"},
	} {
		must("assay", s.CreateAssay(ctx, &a))
	}
	_, err = s.SetCultureStatus(ctx, cultures[1].ID, clink.CultureStatusChange{Status: clink.StatusStopped, Reason: "contamination, day 9"})
	must("stop", err)
	_, err = s.SetCultureStatus(ctx, cultures[2].ID, clink.CultureStatusChange{Status: clink.StatusCompleted})
	must("complete", err)
}

// rowCounts counts the records of every kind in the store, and the audit events, which every
// write adds to: equal counts mean nothing was written.
func rowCounts(tb testing.TB, s clink.Store) map[string]int {
	tb.Helper()
	ctx := context.Background()
	all := clink.Page{Limit: clink.MaxLimit}
	n := map[string]int{}
	sites, err := s.ListSites(ctx)
	check(tb, err)
	n["sites"] = len(sites)
	comps, err := s.FindComponents(ctx, "")
	check(tb, err)
	n["components"] = len(comps)
	_, n["protocols"], err = s.FindProtocols(ctx, clink.ProtocolFilter{Page: all})
	check(tb, err)
	_, n["donors"], err = s.FindDonors(ctx, clink.DonorFilter{Page: all})
	check(tb, err)
	cs, total, err := s.FindCultures(ctx, clink.CultureFilter{Page: all})
	check(tb, err)
	n["cultures"] = total
	for _, c := range cs {
		_, k, err := s.FindObservations(ctx, clink.ObservationFilter{CultureID: c.ID, IncludeVoided: true, Page: all})
		check(tb, err)
		n["observations"] += k
	}
	_, n["assays"], err = s.FindAssays(ctx, clink.AssayFilter{Page: all})
	check(tb, err)
	_, n["audit"], err = s.FindAuditEvents(ctx, clink.AuditFilter{Page: all})
	check(tb, err)
	return n
}

func check(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

func csvFile(name string, lines ...string) exchange.File {
	return exchange.File{Name: name, Data: []byte(strings.Join(lines, "\n") + "\n")}
}

// problemStrings returns the problems of err, which must be an *ImportError.
func problemStrings(tb testing.TB, err error) []string {
	tb.Helper()
	var ie *exchange.ImportError
	if !errors.As(err, &ie) {
		tb.Fatalf("got error %v, want an *ImportError", err)
	}
	var out []string
	for _, p := range ie.Problems {
		out = append(out, p.String())
	}
	return out
}

func TestImportCanonicalMessage(t *testing.T) {
	s := newStore(t)
	seed(t, s)
	lines := []string{"culture,day,viable_cells,viability_pct"}
	for day := 1; day <= 12; day++ { // lines 2..13; day 7 is taken, so use days 15..26
		lines = append(lines, fmt.Sprintf("ZGZ-C0001,%d,%d,90", 14+day, day*1000000))
	}
	lines = append(lines, "ZGZ-C0001,27,5e8,134") // line 14
	before := rowCounts(t, s)
	_, err := exchange.Import(context.Background(), s, []exchange.File{csvFile("observations.csv", lines...)}, exchange.Options{})
	got := problemStrings(t, err)
	want := []string{"observations.csv:14: viability_pct: 134 is above 100"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, rowCounts(t, s)); diff != "" {
		t.Errorf("the refused import changed the store (-before +after):\n%s", diff)
	}
}

func TestImportReportsEveryProblemAndChangesNothing(t *testing.T) {
	s := newStore(t)
	seed(t, s)
	donorD := donorCode("ZZZZZZZZZ1")
	files := []exchange.File{
		csvFile("sites.csv", "code,name,kind",
			"ZGZ,Universidad de Zaragoza,lab", // identical: skipped, no problem
			"BCN,Hospital del Mar,hospital",   // another name than the store's
			"TLS,Toulouse,lab"),
		csvFile("donors.csv", "code,site,sex,consent_date",
			donorA+",ZGZ,female,2025-01-15",                 // already in the store
			donorD+",TLS,male,2025-06-31",                   // no such date
			donorCode("ZZZZZZZZZ2")+",NIM,male,2025-06-01"), // unknown site
		csvFile("cultures.csv", "code,site,donor,protocol_name,protocol_version,start_date,starting_cells,starting_nk_pct",
			"ZGZ-C0100,ZGZ,"+donorC+",K562-mbIL15,1,2025-07-01,1e7,10",                  // donor of BCN
			"TLS-C0001,TLS,"+donorD+",K562-mbIL15,3,2025-07-01,1e7,10",                  // no version 3
			"TLS-C0002,TLS,"+donorCode("YYYYYYYYYY")+",K562-mbIL15,1,2025-07-01,1e7,0"), // unknown donor, bad %
		csvFile("observations.csv", "culture,day,viable_cells,viability_pct,nk_pct,t_pct,marker_CD16",
			"ZGZ-C0100,0,1e7,95,10,20,50",
			"ZGZ-C0001,7,1e8,95,10,20,50",   // day 7 of ZGZ-C0001 is in the store
			"ZGZ-C0999,0,1e7,95,10,20,50",   // unknown culture
			"ZGZ-C0100,7,1e8,101,60,50,120", // three bad values
			"ZGZ-C0100,14,1e8,9O,,,"),       // letter O for zero
	}
	before := rowCounts(t, s)
	_, err := exchange.Import(context.Background(), s, files, exchange.Options{})
	got := problemStrings(t, err)
	want := []string{
		`sites.csv:3: name: site BCN is already in the database, named "Hospital Clínic, Barcelona"`,
		`donors.csv:2: code: donor ` + donorA + ` is already in the database`,
		`donors.csv:3: consent_date: "2025-06-31" is not a date written YYYY-MM-DD`,
		`donors.csv:4: site: site NIM is neither in the sites table nor in the database`,
		`cultures.csv:2: donor: donor ` + donorC + ` belongs to site BCN, not to the culture's site ZGZ`,
		`cultures.csv:3: protocol_name: protocol K562-mbIL15 v3 is neither in the protocols table nor in the database`,
		`cultures.csv:4: donor: donor ` + donorCode("YYYYYYYYYY") + ` is neither in the donors table nor in the database`,
		`cultures.csv:4: starting_nk_pct: 0 is outside (0, 100]`,
		`observations.csv:3: day: culture ZGZ-C0001 already has an observation on day 7 in the database`,
		`observations.csv:4: culture: culture ZGZ-C0999 is neither in the cultures table nor in the database`,
		`observations.csv:5: viability_pct: 101 is above 100`,
		`observations.csv:5: t_pct: nk_pct 60 + t_pct 50 is above 100`,
		`observations.csv:5: marker_CD16: 120 is above 100`,
		`observations.csv:6: viability_pct: "9O" is not a number`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, rowCounts(t, s)); diff != "" {
		t.Errorf("the refused import changed the store (-before +after):\n%s", diff)
	}
}

// newRecords are valid files that add a site, a protocol version, a donor, a culture, its
// observations and an assay to the seeded store.
func newRecords() []exchange.File {
	donorD := donorCode("ZZZZZZZZZ1")
	return []exchange.File{
		csvFile("sites.csv", "code,name,kind", "ZGZ,Universidad de Zaragoza,lab", "TLS,Toulouse,lab"),
		csvFile("protocols.csv", "name,version,site,starting_material,vessel,seeding_density,duration_days",
			"IL-15 + ABP,2,BCN,CD3-depleted PBMC,bag,2e6,14"),
		csvFile("protocol_components.csv", "protocol_name,protocol_version,component,dose,unit,days",
			"IL-15 + ABP,2,IL-15,20,ng/mL,0 7", "IL-15 + ABP,2,ABP,10,uM,0"),
		csvFile("donors.csv", "code,site,sex,kir_genes,consent_date", donorD+",TLS,male,2DL1 2DS4,2025-06-30"),
		csvFile("cultures.csv", "code,site,donor,protocol_name,protocol_version,start_date,starting_cells,starting_nk_pct,status,stop_reason",
			"TLS-C0001,TLS,"+donorD+",IL-15 + ABP,2,2025-07-01,1e7,10,stopped,no growth"),
		csvFile("observations.csv", "culture,day,viable_cells,viability_pct",
			"TLS-C0001,0,1e7,95", "TLS-C0001,7,8e6,70", "BCN-C0001,21,5e7,90"),
		csvFile("assays.csv", "assay,culture,day,target,method", "a,TLS-C0001,7,Raji,flow-based"),
		csvFile("assay_readings.csv", "assay,kind,et_ratio,replicate,reading", "a,sample,1,1,12", "a,spontaneous,,1,3"),
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	s := newStore(t)
	seed(t, s)
	ctx := clink.WithActor(context.Background(), "import")
	before := rowCounts(t, s)
	rep, err := exchange.Import(ctx, s, newRecords(), exchange.Options{DryRun: true})
	check(t, err)
	want := exchange.Report{
		Counts: map[string]int{"sites": 1, "protocols": 1, "protocol_components": 2, "donors": 1, "cultures": 1,
			"observations": 3, "assays": 1, "assay_readings": 2},
		Skipped: map[string]int{"sites": 1},
		DryRun:  true,
	}
	if diff := cmp.Diff(want, rep); diff != "" {
		t.Errorf("dry-run report (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, rowCounts(t, s)); diff != "" {
		t.Errorf("the dry run changed the store (-before +after):\n%s", diff)
	}

	// The same files imported for real write what the dry run announced.
	rep, err = exchange.Import(ctx, s, newRecords(), exchange.Options{})
	check(t, err)
	want.DryRun = false
	if diff := cmp.Diff(want, rep); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	after := rowCounts(t, s)
	for table, n := range want.Counts {
		if _, counted := before[table]; counted && after[table]-before[table] != n {
			t.Errorf("%s: got %d more rows, want %d", table, after[table]-before[table], n)
		}
	}
	c, err := s.FindCultureByCode(ctx, "TLS-C0001")
	check(t, err)
	if c.Status != clink.StatusStopped || c.StopReason != "no growth" || c.ProtocolVersion != 2 {
		t.Errorf("culture: got status %q, reason %q, protocol version %d, want stopped, no growth, 2", c.Status, c.StopReason, c.ProtocolVersion)
	}
	// A second import of the same files is refused: the donor and the culture exist.
	_, err = exchange.Import(ctx, s, newRecords(), exchange.Options{})
	if got := problemStrings(t, err); len(got) == 0 {
		t.Errorf("re-import: got no problem, want the existing records refused")
	}
}

func TestImportSemicolonBOM(t *testing.T) {
	s := newStore(t)
	seed(t, s)
	bom := "\xEF\xBB\xBF"
	donorD := donorCode("ZZZZZZZZZ1")
	files := []exchange.File{
		{Name: "donors.csv", Data: []byte(bom + "code;site;sex;kir_genes;consent_date;notes\r\n" +
			donorD + ";ZGZ;female;\"KIR2DL1;KIR2DS2\";2025-06-30;\"Nîmes; été\"\r\n")},
		{Name: "cultures.csv", Data: []byte(bom + "code;site;donor;protocol_name;protocol_version;start_date;starting_cells;starting_nk_pct\r\n" +
			"ZGZ-C0003;ZGZ;" + donorD + ";K562-mbIL15;2;2025-07-01;1.5e7;12.5\r\n")},
		{Name: "observations.csv", Data: []byte(bom + "culture;day;viable_cells;viability_pct;marker_FcRγ\r\n" +
			"ZGZ-C0003;0;15000000;96.5;3.25\r\n;;;;\r\n")},
	}
	ctx := context.Background()
	rep, err := exchange.Import(ctx, s, files, exchange.Options{})
	check(t, err)
	if diff := cmp.Diff(map[string]int{"donors": 1, "cultures": 1, "observations": 1}, rep.Counts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	d, err := s.FindDonorByCode(ctx, donorD)
	check(t, err)
	// KIR2DS2 is a B-haplotype gene (A haplotypes carry KIR2DS4 as their only activating
	// gene), so the genotype is B/x: domain.md §1.3.
	if d.Notes != "Nîmes; été" || d.KIRHaplotype != clink.KIRBx || len(d.KIRGenes) != 2 {
		t.Errorf("donor: got notes %q, haplotype %q, genes %v, want \"Nîmes; été\", B/x, 2 genes", d.Notes, d.KIRHaplotype, d.KIRGenes)
	}
	c, err := s.FindCultureByCode(ctx, "ZGZ-C0003")
	check(t, err)
	os, _, err := s.FindObservations(ctx, clink.ObservationFilter{CultureID: c.ID})
	check(t, err)
	if len(os) != 1 || os[0].ViabilityPct == nil || *os[0].ViabilityPct != 96.5 || os[0].Markers["FcRγ"] != 3.25 {
		t.Errorf("observations: got %+v, want one with viability 96.5 and FcRγ 3.25", os)
	}
}

// stripMeta reads a CSV file and writes it again without its created_at and created_by
// columns.
func stripMeta(tb testing.TB, data []byte) string {
	tb.Helper()
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	check(tb, err)
	return stripRows(recs)
}

func stripRows(recs [][]string) string {
	if len(recs) == 0 {
		return ""
	}
	keep := []int{}
	for i, h := range recs[0] {
		if h != "created_at" && h != "created_by" {
			keep = append(keep, i)
		}
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	for _, r := range recs {
		out := make([]string, 0, len(keep))
		for _, i := range keep {
			if i < len(r) {
				out = append(out, r[i])
			} else {
				out = append(out, "")
			}
		}
		w.Write(out)
	}
	w.Flush()
	return buf.String()
}

func TestRoundTripCSV(t *testing.T) {
	ctx := clink.WithActor(context.Background(), "import")
	src := newStore(t)
	seed(t, src)
	dir1, dir2 := t.TempDir(), t.TempDir()
	paths, err := exchange.ExportCSV(ctx, src, dir1)
	check(t, err)
	if len(paths) != len(exchange.Tables) {
		t.Fatalf("exported %d files, want %d", len(paths), len(exchange.Tables))
	}
	var files []exchange.File
	for _, p := range paths {
		data, err := os.ReadFile(p)
		check(t, err)
		files = append(files, exchange.File{Name: filepath.Base(p), Data: data})
	}
	dst := newStore(t)
	rep, err := exchange.Import(ctx, dst, files, exchange.Options{})
	check(t, err)
	want := map[string]int{"sites": 3, "components": 5, "protocols": 3, "protocol_components": 7, "donors": 3,
		"cultures": 3, "observations": 8, "assays": 2, "assay_readings": 16}
	if diff := cmp.Diff(want, rep.Counts); diff != "" {
		t.Errorf("imported (-want +got):\n%s", diff)
	}
	_, err = exchange.ExportCSV(ctx, dst, dir2)
	check(t, err)
	if p, _ := os.ReadFile(filepath.Join(dir2, "protocols.csv")); !bytes.Contains(p, []byte(",0.30000000000000004,")) {
		t.Errorf("protocols.csv: the feeder ratio 0.1+0.2 lost its last digits:\n%s", p)
	}
	for _, table := range exchange.Tables {
		a, err := os.ReadFile(filepath.Join(dir1, table+".csv"))
		check(t, err)
		b, err := os.ReadFile(filepath.Join(dir2, table+".csv"))
		check(t, err)
		if diff := cmp.Diff(stripMeta(t, a), stripMeta(t, b)); diff != "" {
			t.Errorf("%s.csv differs after export, import, export (-first +second):\n%s", table, diff)
		}
	}
	// The export is deterministic: exporting the same store again gives the same bytes.
	dir3 := t.TempDir()
	_, err = exchange.ExportCSV(ctx, src, dir3)
	check(t, err)
	for _, table := range exchange.Tables {
		a, _ := os.ReadFile(filepath.Join(dir1, table+".csv"))
		b, _ := os.ReadFile(filepath.Join(dir3, table+".csv"))
		if !bytes.Equal(a, b) {
			t.Errorf("%s.csv: two exports of the same store differ", table)
		}
	}
}

// sheets reads every sheet of a workbook as raw cell values, without the meta columns.
func sheets(tb testing.TB, data []byte) map[string]string {
	tb.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(data))
	check(tb, err)
	defer f.Close()
	out := map[string]string{}
	for _, sn := range f.GetSheetList() {
		rows, err := f.GetRows(sn, excelize.Options{RawCellValue: true})
		check(tb, err)
		out[sn] = stripRows(rows)
	}
	return out
}

func TestRoundTripXLSX(t *testing.T) {
	ctx := clink.WithActor(context.Background(), "import")
	src := newStore(t)
	seed(t, src)
	var first bytes.Buffer
	check(t, exchange.ExportXLSX(ctx, src, &first))
	dst := newStore(t)
	rep, err := exchange.Import(ctx, dst, []exchange.File{{Name: "clink.xlsx", Data: first.Bytes()}}, exchange.Options{})
	check(t, err)
	if rep.Counts["observations"] != 8 || rep.Counts["assay_readings"] != 16 {
		t.Errorf("imported %v, want 8 observations and 16 assay readings", rep.Counts)
	}
	var second bytes.Buffer
	check(t, exchange.ExportXLSX(ctx, dst, &second))
	a, b := sheets(t, first.Bytes()), sheets(t, second.Bytes())
	if len(a) != len(exchange.Tables) {
		t.Errorf("got %d sheets, want %d", len(a), len(exchange.Tables))
	}
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("workbook differs after export, import, export (-first +second):\n%s", diff)
	}
	// The workbook holds the same data as the CSV files.
	dir := t.TempDir()
	_, err = exchange.ExportCSV(ctx, src, dir)
	check(t, err)
	obs, err := os.ReadFile(filepath.Join(dir, "observations.csv"))
	check(t, err)
	if !strings.Contains(a["observations"], "987654321") || !strings.Contains(string(obs), "9.87654321e+08") {
		t.Errorf("observations: the viable count 9.87654321e8 is missing from the workbook or the CSV file")
	}
	if !strings.Contains(a["protocols"], "0.30000000000000004") {
		t.Errorf("protocols: the feeder ratio 0.1+0.2 lost its last digits in the workbook:\n%s", a["protocols"])
	}
}

func TestReferenceProblems(t *testing.T) {
	s := newStore(t)
	seed(t, s)
	tests := []struct {
		name  string
		files []exchange.File
		want  []string
	}{
		{"protocol version that differs from the store's", []exchange.File{
			csvFile("protocols.csv", "name,version,site,starting_material,vessel,seeding_density,duration_days",
				"IL-15 + ABP,1,BCN,CD3-depleted PBMC,flask,2.5e6,21"),
		}, []string{"protocols.csv:2: version: protocol IL-15 + ABP v1 is already in the database with other values (duration_days, components.ABP, components.IL-15)"}},
		{"protocol component not in the catalogue, wrong unit", []exchange.File{
			csvFile("protocols.csv", "name,version,site,starting_material,vessel,seeding_density,duration_days",
				"New,1,ZGZ,PBMC,flask,1e6,21"),
			csvFile("protocol_components.csv", "protocol_name,protocol_version,component,dose,unit,days",
				"New,1,IL-7,10,ng/mL,0", "New,1,IL-2,10,ng/mL,0 22"),
		}, []string{
			`protocol_components.csv:2: component: "IL-7" is not in the component catalogue`,
			`protocol_components.csv:3: unit: "ng/mL" is not a unit of IL-2 (expected IU/mL)`,
			`protocol_components.csv:3: days: day 22 is outside the culture (0..21)`,
		}},
		{"component that differs from the store's", []exchange.File{
			csvFile("components.csv", "name,site,category,unit", "IL-15,ZGZ,cytokine,ng/mL", "IL-2,ZGZ,cytokine,IU/mL"),
		}, []string{"components.csv:3: description: component IL-2 is already in the database, with another description"}},
		{"assay of an unknown culture", []exchange.File{
			csvFile("assays.csv", "assay,culture,day,target,method", "x,ZGZ-C0042,7,K562,flow-based"),
			csvFile("assay_readings.csv", "assay,kind,et_ratio,replicate,reading", "x,sample,1,1,12", "x,spontaneous,,1,3"),
		}, []string{"assays.csv:2: culture: culture ZGZ-C0042 is neither in the cultures table nor in the database"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := rowCounts(t, s)
			_, err := exchange.Import(context.Background(), s, tc.files, exchange.Options{})
			if diff := cmp.Diff(tc.want, problemStrings(t, err)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, rowCounts(t, s)); diff != "" {
				t.Errorf("the refused import changed the store (-before +after):\n%s", diff)
			}
		})
	}
}

// refusingStore is a store whose transactions refuse one kind of write, as a store may for
// rules that only it can check, or fail as a broken database would.
type refusingStore struct {
	clink.Store
	obsErr   error // returned by CreateObservation for day 7
	donorErr error // returned by CreateDonor
}

func (r refusingStore) Atomic(ctx context.Context, fn func(s clink.Store) error) error {
	return r.Store.Atomic(ctx, func(tx clink.Store) error {
		return fn(refusingStore{Store: tx, obsErr: r.obsErr, donorErr: r.donorErr})
	})
}

func (r refusingStore) CreateObservation(ctx context.Context, o *clink.Observation) error {
	if o.Day == 7 && r.obsErr != nil {
		return r.obsErr
	}
	return r.Store.CreateObservation(ctx, o)
}

func (r refusingStore) CreateDonor(ctx context.Context, d *clink.Donor) error {
	if r.donorErr != nil {
		return r.donorErr
	}
	return r.Store.CreateDonor(ctx, d)
}

func TestStoreErrorsAbortTheImport(t *testing.T) {
	s := newStore(t)
	seed(t, s)
	disk := errors.New("disk I/O error")
	tests := []struct {
		name     string
		store    refusingStore
		want     []string
		internal error
	}{
		{"field error at the row being written", refusingStore{Store: s, obsErr: clink.Invalid("viable_cells", "is implausible for day 7")},
			[]string{"observations.csv:3: viable_cells: is implausible for day 7"}, nil},
		{"conflict without fields", refusingStore{Store: s, obsErr: clink.Errorf(clink.ECONFLICT, "the culture is locked")},
			[]string{"observations.csv:3: the database refused the row: the culture is locked"}, nil},
		{"internal error", refusingStore{Store: s, donorErr: disk}, nil, disk},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := rowCounts(t, s)
			_, err := exchange.Import(context.Background(), tc.store, newRecords(), exchange.Options{})
			if tc.internal != nil {
				var ie *exchange.ImportError
				if !errors.Is(err, tc.internal) || errors.As(err, &ie) {
					t.Errorf("got error %v, want one wrapping %v and no *ImportError", err, tc.internal)
				}
			} else if diff := cmp.Diff(tc.want, problemStrings(t, err)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, rowCounts(t, s)); diff != "" {
				t.Errorf("the aborted import changed the store (-before +after):\n%s", diff)
			}
		})
	}
}

// FuzzImportCSV feeds arbitrary bytes to Import as each kind of CSV file. Import must never
// panic, and must answer either a report or an *ImportError.
func FuzzImportCSV(f *testing.F) {
	s := newStore(f)
	seed(f, s)
	f.Add(uint8(6), []byte("culture,day,viable_cells,viability_pct\nZGZ-C0001,21,1e6,134\n"))
	f.Add(uint8(6), []byte("\xEF\xBB\xBFculture;day;viable_cells;marker_CD16\r\nZGZ-C0001;21;1,5;\"x\"\"\"\r\n"))
	f.Add(uint8(4), []byte("code,site,consent_date,kir_genes\n"+donorCode("ZZZZZZZZZ1")+",ZGZ,2025-01-01,2DL1;;3DS1\n"))
	f.Add(uint8(8), []byte("assay,kind,et_ratio,replicate,reading\nx,sample,1e400,-1,NaN\n"))
	f.Add(uint8(2), []byte("name,version,site,starting_material,vessel,seeding_density,duration_days,restimulation_days\nP,1,ZGZ,PBMC,flask,1e6,21,7 7 99999999999\n"))
	f.Add(uint8(0), []byte("code,name,kind\n\"ZGZ\nx\",a,b,c\n\"unterminated\n"))
	f.Fuzz(func(t *testing.T, table uint8, data []byte) {
		name := exchange.Tables[int(table)%len(exchange.Tables)] + ".csv"
		_, err := exchange.Import(context.Background(), s, []exchange.File{{Name: name, Data: data}}, exchange.Options{DryRun: true, MaxRows: 1000})
		var ie *exchange.ImportError
		if err != nil && !errors.As(err, &ie) {
			t.Fatalf("got error %v, want nil or an *ImportError", err)
		}
	})
}

// FuzzImportXLSX feeds the importer workbooks: the export of the seeded store (a valid
// workbook, which the fuzzer mutates) and broken zips. Any input gets nil or an *ImportError,
// never a panic or another error.
func FuzzImportXLSX(f *testing.F) {
	s := newStore(f)
	seed(f, s)
	var buf bytes.Buffer
	if err := exchange.ExportXLSX(context.Background(), s, &buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte("PK\x03\x04not a zip"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := exchange.Import(context.Background(), s, []exchange.File{{Name: "consortium.xlsx", Data: data}}, exchange.Options{DryRun: true, MaxRows: 1000})
		var ie *exchange.ImportError
		if err != nil && !errors.As(err, &ie) {
			t.Fatalf("got error %v, want nil or an *ImportError", err)
		}
	})
}
