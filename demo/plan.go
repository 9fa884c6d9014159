package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/sim"
)

// plan is every record Populate writes, generated before anything touches the store.
type plan struct {
	protocols []protocolDef
	donors    []donorPlan
	cultures  []culturePlan
	flows     []flowPlan
}

type donorPlan struct {
	rec clink.Donor
	sim sim.Donor
}

type culturePlan struct {
	donor, protocol int // indexes into plan.donors and plan.protocols
	rec             clink.Culture
	obs             []clink.Observation
	assay           *clink.Assay
	traj            sim.Trajectory
}

// donorSites spreads the demo donors over the five sites that recruit them (TLS is the
// chemistry group and has none); 50 donors with 3-5 arms each give at least 150 cultures.
var donorSites = []struct {
	site  string
	n     int
	pHCMV float64
}{
	{"ZGZ", 12, sim.HCMVSpain}, {"BCN", 10, sim.HCMVSpain}, {"MAD", 10, sim.HCMVSpain},
	{"MPL", 10, sim.HCMVFrance}, {"NIM", 8, sim.HCMVFrance},
}

// referenceFamily is the consortium standard every campaign includes (§9.2: each batch holds
// a reference arm so that the donor offset is identifiable).
const referenceFamily = "EBV-LCL + IL-2 + IL-15"

// Demo constants: the campaigns span two years; a second protocol version is used from one
// year before Today; 5 % of finished cultures are stopped for contamination.
const (
	campaignDays    = 730
	secondVersionAt = 365
	pStopped        = 0.05
	splitDensity    = 2e6 // cells/mL a culture is fed or split to stay under
)

var stopReasons = []string{"bacterial contamination", "fungal contamination"}

// maxVolume is the largest culture volume of each vessel (mL); beyond it cells are discarded.
var maxVolume = map[string]float64{
	clink.VesselFlask: 500, clink.VesselGRex: 500, clink.VesselBag: 2000, clink.VesselAutomated: 2000,
}

// assayETs are the nominal E:T ratios of the demo ⁵¹Cr assays (targets 5,000 per well).
var assayETs = []float64{20, 10, 5, 2.5, 1.25}

// makePlan generates the demo consortium. Each donor has its own PCG stream (seed, donor
// index), so the plan depends only on seed, today and scale; scale multiplies the donors of
// every site, and scale 1 is the demo consortium.
func makePlan(seed uint64, today time.Time, scale int) (*plan, error) {
	pl := &plan{protocols: protocolDefs()}
	latest := map[string][2]int{} // family → index of v1 and v2 (−1 when absent)
	for i, def := range pl.protocols {
		v := latest[def.Family]
		if _, ok := latest[def.Family]; !ok {
			v = [2]int{i, -1}
		} else {
			v[1] = i
		}
		latest[def.Family] = v
	}
	var families []string
	for _, def := range pl.protocols {
		if def.Family != referenceFamily && !slices.Contains(families, def.Family) {
			families = append(families, def.Family)
		}
	}
	model, noise, par := sim.DefaultDonorModel(), sim.DefaultNoise(), sim.DefaultParams()
	codes := map[string]bool{}
	idx, total := 0, 0
	for _, ds := range donorSites {
		total += ds.n * scale
	}
	for _, ds := range donorSites {
		for range ds.n * scale {
			r := rand.New(rand.NewPCG(seed, 0xC1170000+uint64(idx)))
			idx++
			sd, err := model.DrawDonor(r, ds.pHCMV)
			if err != nil {
				return nil, err
			}
			offset := r.IntN(campaignDays)
			if idx >= total-1 { // the two latest campaigns are still running on Today
				offset = r.IntN(10)
			}
			start := today.AddDate(0, 0, -offset)
			rec := donorRecord(r, ds.site, sd, start, codes)
			pl.donors = append(pl.donors, donorPlan{rec: rec, sim: sd})
			di := len(pl.donors) - 1

			// The campaign: the reference arm plus 2-4 other families, one donor's cells split.
			arms := []string{referenceFamily}
			others := slices.Clone(families)
			r.Shuffle(len(others), func(i, j int) { others[i], others[j] = others[j], others[i] })
			arms = append(arms, others[:2+r.IntN(3)]...)
			for _, fam := range arms {
				v := latest[fam]
				pi := v[0]
				if v[1] >= 0 && !start.Before(today.AddDate(0, 0, -secondVersionAt)) {
					pi = v[1]
				}
				cp, err := makeCulture(r, pl.protocols[pi], sd, model, noise, par, ds.site, start, today)
				if err != nil {
					return nil, fmt.Errorf("donor %s, %s: %w", rec.Code, fam, err)
				}
				cp.donor, cp.protocol = di, pi
				cp.rec.Notes = fmt.Sprintf("Donor-paired campaign of %s: %d arms, reference %s.", rec.Code, len(arms), referenceFamily)
				pl.cultures = append(pl.cultures, cp)
			}
		}
	}
	if err := pl.planFlow(seed); err != nil {
		return nil, err
	}
	return pl, nil
}

// donorAlphabet is the alphabet of donor codes (clink donor.go).
const donorAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// donorCode draws a donor code from r in the clink format: "D" + 10 characters + "-" + the
// MOD 37-2 check character. It never repeats a code already in used.
func donorCode(r *rand.Rand, used map[string]bool) string {
	for {
		b := make([]byte, 10)
		for i := range b {
			b[i] = donorAlphabet[r.IntN(len(donorAlphabet))]
		}
		s := "D" + string(b)
		s += "-" + clink.Mod37_2(s)
		if !used[s] {
			used[s] = true
			return s
		}
	}
}

// KIR gene content: the A haplotype (framework genes plus its fixed, mostly inhibitory
// content) and the centromeric and telomeric B motifs (domain.md §1.3).
var (
	kirA    = []string{"KIR3DL3", "KIR2DL3", "KIR2DP1", "KIR2DL1", "KIR3DP1", "KIR2DL4", "KIR3DL1", "KIR2DS4", "KIR3DL2"}
	kirCenB = []string{"KIR2DL2", "KIR2DS2"}
	kirTelB = []string{"KIR3DS1", "KIR2DS1"}
)

// kirGenes generates a gene-content genotype: A/A donors carry only A genes; B/x donors add
// a centromeric and/or telomeric B motif, so the haplotype derived from the genes is B/x.
func kirGenes(r *rand.Rand, bx bool) []string {
	genes := slices.Clone(kirA)
	if !bx {
		return genes
	}
	cen, tel := r.Float64() < 0.65, r.Float64() < 0.55
	if !cen && !tel {
		cen = r.IntN(2) == 0
		tel = !cen
	}
	if cen {
		genes = append(genes, kirCenB...)
		if r.Float64() < 0.4 {
			genes = append(genes, "KIR2DS3")
		}
	}
	if tel {
		genes = append(genes, kirTelB...)
		if r.Float64() < 0.5 {
			genes = append(genes, "KIR2DS5")
		}
	}
	if r.Float64() < 0.5 {
		genes = append(genes, "KIR2DL5")
	}
	if r.Float64() < 0.15 { // B/B: no A haplotype's KIR2DL3
		genes = slices.DeleteFunc(genes, func(g string) bool { return g == "KIR2DL3" })
	}
	slices.Sort(genes)
	return genes
}

// donorRecord builds the clink donor of simulated donor sd.
func donorRecord(r *rand.Rand, site string, sd sim.Donor, firstCulture time.Time, codes map[string]bool) clink.Donor {
	d := clink.Donor{Code: donorCode(r, codes), Site: site, HCMV: clink.HCMVNegative}
	d.Sex = clink.SexFemale
	if r.IntN(2) == 0 {
		d.Sex = clink.SexMale
	}
	lo := sd.Age / 5 * 5
	d.AgeBand = fmt.Sprintf("%d-%d", lo, lo+4)
	if sd.HCMV {
		d.HCMV = clink.HCMVPositive
	}
	d.NKG2C = [3]string{clink.NKG2CDelDel, clink.NKG2CPlusDel, clink.NKG2CPlusPlus}[sd.NKG2CCopies]
	d.KIRGenes = kirGenes(r, sd.KIRBx)
	d.KIRHaplotype = clink.KIRHaplotypeOf(d.KIRGenes)
	// HLA-C groups at a C1 frequency of about 0.63 (European donors).
	switch u := r.Float64(); {
	case u < 0.40:
		d.HLACGroup = "C1/C1"
	case u < 0.87:
		d.HLACGroup = "C1/C2"
	default:
		d.HLACGroup = "C2/C2"
	}
	d.ConsentDate = firstCulture.AddDate(0, 0, -r.IntN(30)).Format(time.DateOnly)
	return d
}

// seededCells is the number of cells of a campaign arm: 1-3 million purified NK, or 10-30
// million PBMC (about 1-3 million NK).
func seededCells(r *rand.Rand, start sim.Start) float64 {
	n := float64(1 + r.IntN(3))
	if start == sim.PurifiedNK {
		return n * 1e6
	}
	return n * 1e7
}

// makeCulture simulates one arm of a campaign and turns it into a culture with its
// observations and, at day 14 or the end, a ⁵¹Cr assay against K562.
func makeCulture(r *rand.Rand, def protocolDef, sd sim.Donor, model sim.DonorModel, noise sim.Noise, par sim.Params,
	site string, start, today time.Time) (culturePlan, error) {
	sp := def.Sim
	sp.Name = def.Family
	dp := sd.For(def.Family, model.InteractionSD)
	seeded := seededCells(r, sp.Start)
	tr, err := sim.Simulate(sp, dp, par, seeded)
	if err != nil {
		return culturePlan{}, err
	}
	p := def.P
	cp := culturePlan{traj: tr, rec: clink.Culture{Site: site, StartDate: start.Format(time.DateOnly), StartingCells: seeded}}

	elapsed := int(today.Sub(start).Hours() / 24)
	last := p.DurationDays
	cp.rec.Status = clink.StatusCompleted
	switch {
	case elapsed < p.DurationDays:
		cp.rec.Status = clink.StatusRunning
		last = elapsed
	case r.Float64() < pStopped:
		stop := 4 + r.IntN(min(p.DurationDays-4, 9))
		cp.rec.Status = clink.StatusStopped
		cp.rec.StopReason = stopReasons[r.IntN(len(stopReasons))]
		last = stop - 1
	}

	days := []int{0, 3 + r.IntN(2), 7, 10, 14, 17, 21}
	var obsDays []int
	for _, day := range days {
		if day <= last && day <= p.DurationDays {
			obsDays = append(obsDays, day)
		}
	}
	present, volume := 1.0, seeded/p.SeedingDensity
	for i, day := range obsDays {
		rd, ok := noise.Observe(r, &tr, day, present, dp, sp)
		if !ok {
			return culturePlan{}, fmt.Errorf("no state on day %d", day)
		}
		o := clink.Observation{Day: day, ViableCells: round3(rd.ViableCells), ViabilityPct: ptr(round1(rd.ViabilityPct)),
			NKPct: ptr(round1(rd.NKPct)), TPct: ptr(round1(rd.TPct)), VolumeML: ptr(round1(volume))}
		if *o.NKPct+*o.TPct > 100 {
			*o.TPct = round1(100 - *o.NKPct)
		}
		if day%7 == 0 {
			o.Markers = map[string]float64{}
			for m, v := range rd.Markers {
				o.Markers[m] = round1(v)
			}
		}
		if day == 0 {
			cp.rec.StartingNKPct = math.Max(*o.NKPct, 0.1)
		}
		// Feeding and splitting: the volume grows so that the density expected at the next
		// observation stays near 2e6/mL; past the vessel's volume a fraction is kept and the
		// rest discarded (the fraction is recorded on this observation).
		next := p.DurationDays
		if i+1 < len(obsDays) {
			next = obsDays[i+1]
		}
		if next > day {
			growth := tr.States[next].Viable() / tr.States[day].Viable()
			if need := rd.ViableCells * growth / splitDensity; need > volume {
				if vmax := maxVolume[p.Vessel]; need > vmax {
					keep := math.Round(vmax/need*1e4) / 1e4
					if keep < 1 && keep > 0 {
						o.SplitFractionKept = ptr(keep)
						present *= keep
					}
					need = vmax
				}
				volume = need
			}
		}
		cp.obs = append(cp.obs, o)
	}
	if aDay := min(14, p.DurationDays); aDay <= last {
		s := tr.States[aDay]
		ra := noise.Release(r, s.Kappa, s.Viability()*s.Purity(), assayETs, 3, 5000)
		a := &clink.Assay{Day: aDay, Target: clink.TargetK562, Method: clink.MethodCr51, TargetsPerWell: 5000,
			DurationHours: 4, Spontaneous: ra.Spontaneous, Maximum: ra.Maximum,
			Note: "4-hour ⁵¹Cr release, nominal E:T of total viable effectors."}
		for _, pt := range ra.Points {
			a.Points = append(a.Points, clink.AssayPoint{ETRatio: pt.ETRatio, Readings: pt.Readings})
		}
		cp.assay = a
	}
	return cp, nil
}

func ptr(v float64) *float64 { return &v }

func round1(v float64) float64 { return math.Round(v*10) / 10 }

// round3 keeps three significant figures, as a counted number is reported.
func round3(v float64) float64 {
	if v <= 0 {
		return 0
	}
	e := math.Pow(10, math.Floor(math.Log10(v))-2)
	return math.Round(v/e) * e
}
