package sim

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/stat/distuv"
)

// Noise holds the readout noise models of domain.md §5.7.
type Noise struct {
	// CountMin and CountMax bound the number of cells counted per count (200-400).
	CountMin, CountMax float64
	// CVPip is the pipetting CV, applied as LogNormal(0, CVPip) (5 %).
	CVPip float64
	// FlowEvents is the number of live-lymphocyte events acquired (20,000); GateSD the SD of
	// the gating noise on the logit scale (0.15).
	FlowEvents int
	GateSD     float64
	// MaxCPM is the maximum release per 5,000 targets (≈2,000 cpm); SpontMin and SpontMax
	// bound the per-plate spontaneous fraction (U(0.05, 0.20)); CVRep is the replicate CV
	// (8 %); Background the counter background (30 cpm).
	MaxCPM             float64
	SpontMin, SpontMax float64
	CVRep              float64
	Background         float64
	// PlateauMin and PlateauMax bound the lysis plateau A for K562 (U(0.85, 0.95)).
	PlateauMin, PlateauMax float64
}

// DefaultNoise returns the defaults of domain.md §5.7.
func DefaultNoise() Noise {
	return Noise{
		CountMin: 200, CountMax: 400, CVPip: 0.05,
		FlowEvents: 20000, GateSD: 0.15,
		MaxCPM: 2000, SpontMin: 0.05, SpontMax: 0.20, CVRep: 0.08, Background: 30,
		PlateauMin: 0.85, PlateauMax: 0.95,
	}
}

func poisson(r *rand.Rand, lambda float64) float64 {
	if !(lambda > 0) {
		return 0
	}
	return distuv.Poisson{Lambda: lambda, Src: r}.Rand()
}

func binomial(r *rand.Rand, n, p float64) float64 {
	switch {
	case !(n >= 1):
		return 0
	case !(p > 0):
		return 0
	case p >= 1:
		return n
	}
	return distuv.Binomial{N: math.Floor(n), P: p, Src: r}.Rand()
}

func lognormal(r *rand.Rand, cv float64) float64 {
	if !(cv > 0) {
		return 1
	}
	return math.Exp(cv * r.NormFloat64())
}

func logit(p float64) float64 { return math.Log(p / (1 - p)) }

func expit(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// Count is a cell count: viable cells in the whole culture and percent viability.
type Count struct {
	Viable       float64
	ViabilityPct float64
}

// Count simulates a trypan-blue count of a culture holding viable live and dead cells:
// n ~ Poisson(λ) cells counted with λ ~ U(CountMin, CountMax), live ~ Binomial(n, v), and
// the reported total = live/λ × (live + dead) × LogNormal(0, CVPip).
func (n Noise) Count(r *rand.Rand, viable, dead float64) Count {
	total := viable + dead
	if !(total > 0) || !(viable >= 0) {
		return Count{}
	}
	lambda := n.CountMin + (n.CountMax-n.CountMin)*r.Float64()
	counted := poisson(r, lambda)
	live := binomial(r, counted, viable/total)
	c := Count{Viable: live / lambda * total * lognormal(r, n.CVPip)}
	if counted > 0 {
		c.ViabilityPct = 100 * live / counted
	}
	return c
}

// Flow simulates the NK (CD3⁻CD56⁺) and T (CD3⁺) percentages of live lymphocytes: events ~
// Binomial(FlowEvents, p), then logit(p_obs) = logit(p̂) + N(0, GateSD²). The T percentage is
// capped so that NK + T never exceeds 100.
func (n Noise) Flow(r *rand.Rand, nk, t float64) (nkPct, tPct float64) {
	ev := float64(n.FlowEvents)
	kNK := binomial(r, ev, clamp01(nk))
	rest := 0.0
	if nk < 1 {
		rest = clamp01(t / (1 - nk))
	}
	kT := binomial(r, ev-kNK, rest)
	nkPct = 100 * n.gate(r, kNK, ev)
	tPct = math.Min(100*n.gate(r, kT, ev), 100-nkPct)
	return nkPct, math.Max(tPct, 0)
}

// gate applies the logit gating noise to k positive of ev events (with a half-event
// continuity correction so that 0 and ev stay finite).
func (n Noise) gate(r *rand.Rand, k, ev float64) float64 {
	p := (k + 0.5) / (ev + 1)
	return expit(logit(p) + n.GateSD*r.NormFloat64())
}

func clamp01(x float64) float64 { return math.Min(math.Max(x, 0), 1) }

// marker is a phenotype marker's percent of NK cells fresh and fully activated (α = 1).
type marker struct {
	name        string
	fresh, act  float64
	donorLogitS float64
}

// markers lists the phenotypes the readouts report, after domain.md §2.2: CD16 and CD57
// fall, NKG2A, NKG2D, DNAM-1, the natural cytotoxicity receptors, CD69 and CD25 rise on
// activation. The levels are plausible values, not calibrated ones.
var markers = []marker{
	{"CD16", 90, 55, 0.4},
	{"CD57", 45, 12, 0.5},
	{"NKG2A", 45, 85, 0.4},
	{"NKG2D", 85, 97, 0.3},
	{"DNAM-1", 85, 95, 0.3},
	{"NKp30", 55, 90, 0.3},
	{"NKp44", 2, 75, 0.3},
	{"NKp46", 75, 93, 0.3},
	{"CD69", 5, 70, 0.3},
	{"CD25", 3, 35, 0.3},
}

// Markers simulates the phenotype of the culture's NK cells in state s (percent of NK):
// each marker moves from its fresh to its activated level with α, shifted per donor on the
// logit scale, then is read with binomial event noise and gating noise. NKG2C reflects the
// donor's adaptive NKG2C⁺ fraction (HCMV⁺ donors with an NKG2C allele) and is near zero in
// del/del donors; FcRγ is lost by part of the adaptive cells; a pre-activated (IL-12/15/18)
// culture shows memory-like CD25 and CD69.
func (n Noise) Markers(r *rand.Rand, s State, d Donor, p Protocol) map[string]float64 {
	nkEvents := math.Max(1, math.Round(float64(n.FlowEvents)*s.Purity()))
	dr := rand.New(rand.NewPCG(d.Seed, 0x6d61726b657273)) // per-donor offsets, fixed per donor
	out := make(map[string]float64, len(markers)+2)
	a := clamp01(s.Alpha)
	read := func(name string, pct float64) {
		p := clamp01(pct / 100)
		out[name] = 100 * n.gate(r, binomial(r, nkEvents, p), nkEvents)
	}
	for _, m := range markers {
		level := m.fresh + (m.act-m.fresh)*a
		switch {
		case m.name == "CD57":
			level += 40 * d.AdaptiveFraction * (1 - a)
		case p.Preactivated && (m.name == "CD25" || m.name == "CD69"):
			level += 40 * (1 - level/100)
		}
		read(m.name, 100*expit(logit(level/100)+m.donorLogitS*dr.NormFloat64()))
	}
	conventional := 0.0
	if d.NKG2CCopies > 0 {
		conventional = (0.02 + 0.06*a) * float64(d.NKG2CCopies) / 2
	}
	fa := d.AdaptiveFraction
	read("NKG2C", 100*(fa+(1-fa)*conventional))
	read("FcRγ", 100*(1-0.6*fa))
	return out
}

// Reading is one lab observation of a culture.
type Reading struct {
	Day          int
	ViableCells  float64
	ViabilityPct float64
	NKPct, TPct  float64
	Markers      map[string]float64
}

// Observe reads the culture of trajectory tr on day: a count of the fraction `present` of the
// virtual culture that is really in the vessel (1 before any split), flow NK and T
// percentages, and the phenotype markers. It returns false for a day outside the culture.
func (n Noise) Observe(r *rand.Rand, tr *Trajectory, day int, present float64, d Donor, p Protocol) (Reading, bool) {
	if day < 0 || day >= len(tr.States) || !(present > 0) {
		return Reading{}, false
	}
	s := tr.States[day]
	c := n.Count(r, s.Viable()*present, s.D*present)
	nk, t := n.Flow(r, s.Purity(), s.TFraction())
	return Reading{Day: day, ViableCells: c.Viable, ViabilityPct: c.ViabilityPct, NKPct: nk, TPct: t,
		Markers: n.Markers(r, s, d, p)}, true
}

// Lysis is the true fractional lysis A(1 − e^(−κx)) at NK-corrected E:T x (§5.7, §6.5).
func Lysis(a, kappa, x float64) float64 {
	if !(x > 0) {
		return 0
	}
	return a * (1 - math.Exp(-kappa*x))
}

// ReleasePoint is the replicate wells at one nominal E:T ratio.
type ReleasePoint struct {
	ETRatio  float64
	Readings []float64
}

// ReleaseAssay is a simulated ⁵¹Cr release plate: raw cpm of every well, with the true
// plateau and spontaneous fraction used to draw it.
type ReleaseAssay struct {
	Points      []ReleasePoint
	Spontaneous []float64
	Maximum     []float64
	// Plateau is the A drawn for the plate; SpontFraction the s drawn for it.
	Plateau, SpontFraction float64
}

// Release simulates a release assay of effectors with lytic rate constant kappa, whose
// nominal E:T ratios ets are of total cells with NK fraction nkPerEffector (viability ×
// purity, §6.4), in reps replicate wells of `targets` targets each: M = MaxCPM per 5,000
// targets, S = s·M with s ~ U(SpontMin, SpontMax), E = S + y(M − S); every well is
// × LogNormal(0, CVRep), plus Background, then Poisson.
func (n Noise) Release(r *rand.Rand, kappa, nkPerEffector float64, ets []float64, reps, targets int) ReleaseAssay {
	reps = max(reps, 1)
	a := n.PlateauMin + (n.PlateauMax-n.PlateauMin)*r.Float64()
	s := n.SpontMin + (n.SpontMax-n.SpontMin)*r.Float64()
	m := n.MaxCPM * float64(max(targets, 0)) / 5000
	sp := s * m
	well := func(mean float64) float64 { return poisson(r, mean*lognormal(r, n.CVRep)+n.Background) }
	wells := func(mean float64) []float64 {
		out := make([]float64, reps)
		for i := range out {
			out[i] = well(mean)
		}
		return out
	}
	ra := ReleaseAssay{Plateau: a, SpontFraction: s}
	ra.Spontaneous = wells(sp)
	ra.Maximum = wells(m)
	for _, et := range ets {
		y := Lysis(a, kappa, et*clamp01(nkPerEffector))
		ra.Points = append(ra.Points, ReleasePoint{ETRatio: et, Readings: wells(sp + y*(m-sp))})
	}
	return ra
}
