package demo

import (
	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/sim"
)

// sites are the six CLINK groups (domain.md §1.1).
var sites = []clink.Site{
	{Code: "ZGZ", Name: "Universidad de Zaragoza / IIS Aragón", Kind: clink.SiteLab},
	{Code: "BCN", Name: "IMIM Barcelona (Hospital del Mar Research Institute / Universitat Pompeu Fabra)", Kind: clink.SiteLab},
	{Code: "MAD", Name: "Hospital Universitario Puerta de Hierro, Madrid (immunogenetics)", Kind: clink.SiteHospital},
	{Code: "MPL", Name: "IRMB / CHU Montpellier", Kind: clink.SiteHospital},
	{Code: "NIM", Name: "CHU Nîmes", Kind: clink.SiteHospital},
	{Code: "TLS", Name: "LCC-CNRS Toulouse", Kind: clink.SiteChemistry},
}

// components is the demo reagent catalogue; the site is the group that registered it.
var components = []clink.Component{
	{Site: "ZGZ", Name: "IL-2", Category: clink.CategoryCytokine, Unit: clink.UnitIUPerML, Description: "Recombinant human IL-2 (aldesleukin), ≈16.5 IU/ng."},
	{Site: "ZGZ", Name: "IL-15", Category: clink.CategoryCytokine, Unit: clink.UnitNgPerML, Description: "Recombinant human IL-15."},
	{Site: "BCN", Name: "IL-21", Category: clink.CategoryCytokine, Unit: clink.UnitNgPerML, Description: "Recombinant human IL-21."},
	{Site: "BCN", Name: "IL-12", Category: clink.CategoryCytokine, Unit: clink.UnitNgPerML, Description: "Recombinant human IL-12 (p70)."},
	{Site: "BCN", Name: "IL-18", Category: clink.CategoryCytokine, Unit: clink.UnitNgPerML, Description: "Recombinant human IL-18."},
	{Site: "ZGZ", Name: "K562-mbIL15-41BBL", Category: clink.CategoryFeeder, Unit: clink.UnitGray, Description: "K562 with membrane IL-15 and 4-1BBL; dose is the irradiation dose."},
	{Site: "BCN", Name: "K562-mbIL21-41BBL", Category: clink.CategoryFeeder, Unit: clink.UnitGray, Description: "K562 with membrane IL-21 and 4-1BBL; dose is the irradiation dose."},
	{Site: "MPL", Name: "EBV-LCL", Category: clink.CategoryFeeder, Unit: clink.UnitGray, Description: "EBV lymphoblastoid cell line (PLH); dose is the irradiation dose."},
	{Site: "ZGZ", Name: "721.221", Category: clink.CategoryFeeder, Unit: clink.UnitGray, Description: "HLA class I-negative EBV-B-LCL; dose is the irradiation dose."},
	{Site: "MAD", Name: "irradiated PBMC", Category: clink.CategoryFeeder, Unit: clink.UnitGray, Description: "Allogeneic PBMC feeders; dose is the irradiation dose."},
	{Site: "TLS", Name: "dendrimer ABP", Category: clink.CategoryCompound, Unit: clink.UnitMicromolar, Description: "First-generation poly(phosphorhydrazone) dendrimer capped with azabisphosphonate groups."},
	{Site: "BCN", Name: "OKT3", Category: clink.CategoryAntibody, Unit: clink.UnitNgPerML, Description: "Anti-CD3 monoclonal antibody (muromonab)."},
	{Site: "ZGZ", Name: "X-VIVO 15", Category: clink.CategoryMedium, Unit: clink.UnitPercentVV, Description: "Serum-free haematopoietic cell medium."},
	{Site: "MPL", Name: "SCGM", Category: clink.CategoryMedium, Unit: clink.UnitPercentVV, Description: "Stem cell growth medium (CellGenix)."},
	{Site: "TLS", Name: "RPMI-1640", Category: clink.CategoryMedium, Unit: clink.UnitPercentVV, Description: "RPMI-1640 with L-glutamine."},
	{Site: "ZGZ", Name: "human AB serum", Category: clink.CategorySerum, Unit: clink.UnitPercentVV, Description: "Pooled human AB serum, heat-inactivated."},
	{Site: "MPL", Name: "human platelet lysate", Category: clink.CategorySerum, Unit: clink.UnitPercentVV, Description: "Pooled human platelet lysate."},
}

// published is a fold range from domain.md §3 (or its §5.6 acceptance window) that a
// protocol family's simulated fold must reach on day Day.
type published struct {
	Day    int
	Lo, Hi float64
	Source string
}

// protocolDef is one demo protocol version with its simulator mapping.
type protocolDef struct {
	P   clink.Protocol
	Sim sim.Protocol
	Pub published
	// Family groups the versions of one protocol name.
	Family string
}

func comp(name string, dose float64, days ...int) clink.ProtocolComponent {
	return clink.ProtocolComponent{Component: name, Dose: dose, Days: days}
}

func every(step, last int) []int {
	var d []int
	for i := 0; i <= last; i += step {
		d = append(d, i)
	}
	return d
}

func ratio(v float64) *float64 { return &v }

// protocolDefs returns the demo protocols in the order they are created; a later entry with
// the same name is that protocol's next version.
func protocolDefs() []protocolDef {
	feeds14, feeds21 := every(3, 14), every(3, 21)
	return []protocolDef{
		{
			Family: "IL-2 alone",
			P: clink.Protocol{Site: "ZGZ", Name: "IL-2 alone", StartingMaterial: clink.StartCD56SelectedNK,
				Components: []clink.ProtocolComponent{comp("IL-2", 500, feeds14...), comp("X-VIVO 15", 90, 0), comp("human AB serum", 10, 0)},
				Vessel:     clink.VesselFlask, SeedingDensity: 1e6, DurationDays: 14,
				Description: "Purified NK with IL-2 alone (Liu et al. 2021, review table; §3 row 1)."},
			Sim: sim.Protocol{Start: sim.PurifiedNK, IL2: 500, Class: sim.CytokineOnly, Days: 14, FeedEvery: 3},
			Pub: published{14, 2.5, 10, "§3 row 1, Liu et al. 2021: about 5 (§5.6 acceptance 2.5-10)"},
		},
		{
			Family: "IL-2 + IL-15",
			P: clink.Protocol{Site: "BCN", Name: "IL-2 + IL-15", StartingMaterial: clink.StartCD56SelectedNK,
				Components: []clink.ProtocolComponent{comp("IL-2", 100, feeds14...), comp("IL-15", 10, feeds14...), comp("X-VIVO 15", 90, 0), comp("human AB serum", 10, 0)},
				Vessel:     clink.VesselFlask, SeedingDensity: 1e6, DurationDays: 14,
				Description: "Purified NK with IL-2 and IL-15 (§3 row 1: IL-2/15 about 5-fold)."},
			Sim: sim.Protocol{Start: sim.PurifiedNK, IL2: 100, IL15: 10, Class: sim.CytokineOnly, Days: 14, FeedEvery: 3},
			Pub: published{14, 2.5, 10, "§3 row 1, Liu et al. 2021: IL-2/15 about 5 (§5.6 acceptance 2.5-10)"},
		},
		{
			Family: "PBMC feeder + IL-2 + IL-15",
			P: clink.Protocol{Site: "MAD", Name: "PBMC feeder + IL-2 + IL-15", StartingMaterial: clink.StartCD56SelectedNK,
				Components: []clink.ProtocolComponent{comp("irradiated PBMC", 30, 0), comp("IL-2", 500, feeds14...), comp("IL-15", 10, feeds14...),
					comp("X-VIVO 15", 95, 0), comp("human AB serum", 5, 0)},
				FeederRatio: ratio(2), FeederRatioBasis: clink.BasisFeederNK,
				Vessel: clink.VesselBag, SeedingDensity: 1e6, DurationDays: 14,
				Description: "NK inoculum on irradiated PBMC with IL-2 and IL-15 in bags (Luhm et al. 2002; §3 row 19)."},
			Sim: sim.Protocol{Start: sim.PurifiedNK, IL2: 500, IL15: 10, Class: sim.PBMCFeeder, FeederRatio: 2, Days: 14, FeedEvery: 3},
			Pub: published{14, 80, 200, "§3 row 19, Luhm et al. 2002: 80-200"},
		},
		{
			Family: "EBV-LCL + IL-2",
			P: clink.Protocol{Site: "MPL", Name: "EBV-LCL + IL-2", StartingMaterial: clink.StartCD56SelectedNK,
				Components:  []clink.ProtocolComponent{comp("EBV-LCL", 100, 0), comp("IL-2", 500, feeds14...), comp("SCGM", 95, 0), comp("human AB serum", 5, 0)},
				FeederRatio: ratio(2), FeederRatioBasis: clink.BasisFeederNK,
				Vessel: clink.VesselAutomated, SeedingDensity: 1e6, DurationDays: 14,
				Description: "Enriched NK on irradiated EBV-LCL with IL-2 (Granzin et al. 2015; §3 row 11)."},
			Sim: sim.Protocol{Start: sim.PurifiedNK, IL2: 500, Class: sim.LCLFeeder, FeederRatio: 2, Days: 14, FeedEvery: 3},
			Pub: published{14, 425, 1700, "§3 row 11, Granzin et al. 2015: mean 850 (§5.6 acceptance 425-1,700)"},
		},
		{
			Family: "EBV-LCL + IL-2 + IL-15",
			P: clink.Protocol{Site: "MPL", Name: "EBV-LCL + IL-2 + IL-15", StartingMaterial: clink.StartPBMC,
				Components: []clink.ProtocolComponent{comp("EBV-LCL", 100, 0), comp("IL-2", 100, feeds14...), comp("IL-15", 5, feeds14...),
					comp("RPMI-1640", 90, 0), comp("human AB serum", 10, 0)},
				FeederRatio: ratio(2), FeederRatioBasis: clink.BasisFeederNK,
				Vessel: clink.VesselFlask, SeedingDensity: 1e6, DurationDays: 14,
				Description: "PBMC on irradiated LCL with IL-2 100 IU/mL and IL-15 5 ng/mL, the consortium reference arm (§3 row 13)."},
			Sim: sim.Protocol{Start: sim.PBMC, IL2: 100, IL15: 5, Class: sim.LCLFeeder, FeederRatio: 2, Days: 14, FeedEvery: 3},
			Pub: published{14, 310, 1250, "§3 row 13: 625 ± 63 (§5.6 acceptance 310-1,250)"},
		},
		{
			Family: "K562-mbIL15-41BBL + IL-2",
			P: clink.Protocol{Site: "ZGZ", Name: "K562-mbIL15-41BBL + IL-2", StartingMaterial: clink.StartPBMC,
				Components:  []clink.ProtocolComponent{comp("K562-mbIL15-41BBL", 100, 0), comp("IL-2", 10, feeds14...), comp("SCGM", 90, 0), comp("human AB serum", 10, 0)},
				FeederRatio: ratio(2), FeederRatioBasis: clink.BasisFeederNK,
				Vessel: clink.VesselFlask, SeedingDensity: 1e6, DurationDays: 14,
				Description: "PBMC on K562-mb15-41BBL with IL-2 10 IU/mL, no restimulation (Fujisaki et al. 2009; §3 rows 4-5)."},
			Sim: sim.Protocol{Start: sim.PBMC, IL2: 10, Class: sim.K562mb15, FeederRatio: 2, Days: 14, FeedEvery: 3},
			Pub: published{7, 11, 43, "§3 row 4, Fujisaki et al. 2009: median 21.6 at d7 (§5.6 acceptance 11-43)"},
		},
		{
			Family: "K562-mbIL21-41BBL + IL-2, restim d7 + d14",
			P: clink.Protocol{Site: "BCN", Name: "K562-mbIL21-41BBL + IL-2, restim d7 + d14", StartingMaterial: clink.StartPBMC,
				Components: []clink.ProtocolComponent{comp("K562-mbIL21-41BBL", 100, 0, 7, 14), comp("IL-2", 50, feeds21...),
					comp("SCGM", 90, 0), comp("human AB serum", 10, 0)},
				FeederRatio: ratio(2), FeederRatioBasis: clink.BasisFeederNK, RestimulationDays: []int{7, 14},
				Vessel: clink.VesselGRex, SeedingDensity: 1e6, DurationDays: 21,
				Description: "PBMC on K562-mbIL21-41BBL (clone 9) with IL-2 50 IU/mL, restimulated d7 and d14 (Denman et al. 2012; §3 row 8)."},
			Sim: sim.Protocol{Start: sim.PBMC, IL2: 50, Class: sim.K562mb21, FeederRatio: 2, Restim: []int{7, 14}, Days: 21, FeedEvery: 3},
			Pub: published{21, 24000, 96000, "§3 row 8, Denman et al. 2012: mean 47,967 (§5.6 acceptance 24,000-96,000)"},
		},
		{
			Family: "IL-12/15/18 pre-activation",
			P: clink.Protocol{Site: "BCN", Name: "IL-12/15/18 pre-activation", StartingMaterial: clink.StartCD56SelectedNK,
				Components: []clink.ProtocolComponent{comp("IL-12", 10, 0), comp("IL-18", 50, 0), comp("IL-15", 1, feeds14...),
					comp("IL-2", 50, 1, 4, 7, 10, 13), comp("X-VIVO 15", 90, 0), comp("human AB serum", 10, 0)},
				Vessel: clink.VesselFlask, SeedingDensity: 1e6, DurationDays: 14,
				Description: "16 h IL-12 + IL-15 + IL-18, then IL-15 1 ng/mL and low-dose IL-2: memory-like NK, not an expansion (Romee et al. 2016; §3 row 29)."},
			Sim: sim.Protocol{Start: sim.PurifiedNK, IL2: 50, IL15: 1, Preactivated: true, Class: sim.CytokineOnly, Days: 14, FeedEvery: 3},
			Pub: published{14, 0.5, 5, "§3 row 29, Romee et al. 2016: not an expansion (below §3 row 1's about 5)"},
		},
		{
			Family: "dendrimer ABP + IL-2",
			P: clink.Protocol{Site: "TLS", Name: "dendrimer ABP + IL-2", StartingMaterial: clink.StartPBMC,
				Components: []clink.ProtocolComponent{comp("dendrimer ABP", 20, 0), comp("IL-2", 500, feeds21...), comp("RPMI-1640", 90, 0), comp("human AB serum", 10, 0)},
				Vessel:     clink.VesselFlask, SeedingDensity: 1e6, DurationDays: 21,
				Description: "PBMC with ABP dendrimer 20 µM and IL-2 (Griffe et al. 2007; Portevin et al. 2009; §3 row 25)."},
			Sim: sim.Protocol{Start: sim.PBMC, IL2: 500, DendrimerUM: 20, Class: sim.CytokineOnly, Days: 21, FeedEvery: 3},
			Pub: published{21, 1, 500, "§3 row 25, Griffe et al. 2007: up to about 500"},
		},
		// Second versions, used by campaigns of the last year.
		{
			Family: "IL-2 alone",
			P: clink.Protocol{Site: "ZGZ", Name: "IL-2 alone", StartingMaterial: clink.StartCD56SelectedNK,
				Components: []clink.ProtocolComponent{comp("IL-2", 1000, feeds14...), comp("X-VIVO 15", 90, 0), comp("human AB serum", 10, 0)},
				Vessel:     clink.VesselFlask, SeedingDensity: 1e6, DurationDays: 14,
				Description: "Version 2: IL-2 raised to 1,000 IU/mL (Childs laboratory dose)."},
			Sim: sim.Protocol{Start: sim.PurifiedNK, IL2: 1000, Class: sim.CytokineOnly, Days: 14, FeedEvery: 3},
			Pub: published{14, 2.5, 10, "§3 row 1, Liu et al. 2021: about 5 (§5.6 acceptance 2.5-10)"},
		},
		{
			Family: "EBV-LCL + IL-2",
			P: clink.Protocol{Site: "MPL", Name: "EBV-LCL + IL-2", StartingMaterial: clink.StartCD56SelectedNK,
				Components:  []clink.ProtocolComponent{comp("EBV-LCL", 100, 0), comp("IL-2", 500, feeds14...), comp("SCGM", 95, 0), comp("human AB serum", 5, 0)},
				FeederRatio: ratio(10), FeederRatioBasis: clink.BasisFeederNK,
				Vessel: clink.VesselAutomated, SeedingDensity: 1e6, DurationDays: 14,
				Description: "Version 2: LCL:NK raised to 10:1 (Childs laboratory protocol)."},
			Sim: sim.Protocol{Start: sim.PurifiedNK, IL2: 500, Class: sim.LCLFeeder, FeederRatio: 10, Days: 14, FeedEvery: 3},
			Pub: published{14, 425, 1700, "§3 row 11, Granzin et al. 2015: mean 850 (§5.6 acceptance 425-1,700)"},
		},
	}
}
