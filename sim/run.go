package sim

import (
	"errors"
	"fmt"
	"math"
)

// State is a culture's true state at the end of one day (domain.md §5.4). Cell numbers are
// virtual totals: nothing is removed by splits, which are the lab's business, not the model's.
type State struct {
	Day int
	// N, T, O, F and D are viable NK, viable T (including NKT-like), other viable cells,
	// viable irradiated feeders and dead cells.
	N, T, O, F, D float64
	// Alpha is the NK activation programme (0-1), G the mean divisions completed and Kappa
	// the NK lytic rate constant per unit NK-corrected E:T.
	Alpha, G, Kappa float64
	// SCyt and SSen are the cytokine support and the senescence factor at that time.
	SCyt, SSen float64
	// IL2 and IL15 are the cytokine concentrations at that time.
	IL2, IL15 float64
}

// Purity is the NK fraction of viable lymphocytes N/(N + T + O).
func (s State) Purity() float64 { return ratio(s.N, s.N+s.T+s.O) }

// TFraction is the T-cell fraction of viable lymphocytes T/(N + T + O).
func (s State) TFraction() float64 { return ratio(s.T, s.N+s.T+s.O) }

// Viability is (N + T + O)/(N + T + O + D).
func (s State) Viability() float64 { return ratio(s.N+s.T+s.O, s.N+s.T+s.O+s.D) }

// Viable is the number of viable lymphocytes N + T + O, the culture's viable-cell count
// (irradiated feeders are left out).
func (s State) Viable() float64 { return s.N + s.T + s.O }

func ratio(a, b float64) float64 {
	if !(b > 0) {
		return 0
	}
	return a / b
}

// Trajectory is the daily course of one simulated culture.
type Trajectory struct {
	// N0 is the number of NK cells seeded.
	N0 float64
	// GMax is the replicative limit that applied.
	GMax float64
	// States holds day 0 to the protocol's last day; States[d].Day == d.
	States []State
}

// Fold returns the NK fold expansion N(day)/N₀ of the virtual total (§5.1); it returns NaN
// for a day outside the culture.
func (tr Trajectory) Fold(day int) float64 {
	if day < 0 || day >= len(tr.States) {
		return math.NaN()
	}
	return tr.States[day].N / tr.N0
}

// Final returns the state on the last day.
func (tr Trajectory) Final() State { return tr.States[len(tr.States)-1] }

// hill is H(c; E) = c/(c + E), 0 for c ≤ 0.
func hill(c, e float64) float64 {
	if c <= 0 {
		return 0
	}
	return c / (c + e)
}

// Simulate integrates one culture of donor d under protocol p, seeded with `seeded` viable
// cells of the protocol's starting material, exactly as domain.md §5.4 "Integration" says:
// a fixed step, restimulation first, α by explicit Euler, μ from the new α, exact
// exponential factors for the cell compartments, then G. It is deterministic.
func Simulate(p Protocol, d Donor, par Params, seeded float64) (Trajectory, error) {
	if err := par.Validate(); err != nil {
		return Trajectory{}, err
	}
	if err := p.Validate(); err != nil {
		return Trajectory{}, err
	}
	if err := d.Validate(); err != nil {
		return Trajectory{}, err
	}
	if !(seeded > 0) || seeded > 1e13 {
		return Trajectory{}, fmt.Errorf("sim: seeded cells: %g is not a cell number in (0, 1e13]", seeded)
	}
	perDay := math.Round(1 / par.Dt)
	if math.Abs(perDay*par.Dt-1) > 1e-9 {
		return Trajectory{}, errors.New("sim: invalid parameters: Dt must divide a day into whole steps")
	}
	stepsPerDay := int(perDay)
	dt := par.Dt
	c := p.Class

	nk, tf, of := Composition(p.Start, d.NKFraction)
	N, T, O := seeded*nk, seeded*tf, seeded*of
	var F float64
	if c.HasFeeder() {
		if p.FeederPerCell {
			F = p.FeederRatio * seeded
		} else {
			F = p.FeederRatio * N
		}
	}
	var alpha, G, D float64
	kappa := d.KFresh
	gmax := c.GMax
	if p.IL21 > 0 && par.IL21GMax > gmax {
		gmax = par.IL21GMax
	}
	muScale := par.MuMax * d.MDonor * d.AgeMultiplier() * c.MProt * math.Exp(d.Interaction)
	tnet := c.TNet
	if p.OKT3 > 0 {
		tnet = math.Max(tnet, par.TNetOKT3)
	}
	muT := par.DeltaT + tnet
	if p.DendrimerUM > 0 && p.Start != PurifiedNK {
		muT *= par.DendrimerT
	}
	rT := muT - par.DeltaT
	C2, C15 := p.IL2, p.IL15

	support := func() (sCyt, sSrv, stim float64) {
		sCyt = 1 - (1-hill(C2, par.E2))*(1-hill(C15, par.E15))
		sSrv = 1 - (1-hill(C2, par.S2))*(1-hill(C15, par.S15))
		if c.Membrane && F > 0 {
			m := F / (F + par.MSat*N)
			sCyt = math.Max(sCyt, m)
			sSrv = math.Max(sSrv, m)
		}
		var feed float64
		if F > 0 {
			feed = c.WF * F / (F + par.R50*N)
		}
		return sCyt, sSrv, feed + par.WC*sCyt
	}
	state := func(day int, sCyt, sSen float64) State {
		return State{Day: day, N: N, T: T, O: O, F: F, D: D, Alpha: alpha, G: G, Kappa: kappa,
			SCyt: sCyt, SSen: sSen, IL2: C2, IL15: C15}
	}

	tr := Trajectory{N0: N, GMax: gmax, States: make([]State, 0, p.Days+1)}
	s0, _, _ := support()
	tr.States = append(tr.States, state(0, s0, 1))
	steps := p.Days * stepsPerDay
	for i := range steps {
		t := float64(i) * dt
		// 1. Restimulation (and feeds, which restore the cytokines) at this time.
		for _, r := range p.Restim {
			if math.Abs(t-float64(r)) < dt/2 {
				F += par.RhoR * N
			}
		}
		if p.FeedEvery > 0 && i > 0 && i%(p.FeedEvery*stepsPerDay) == 0 {
			C2, C15 = p.IL2, p.IL15
		}
		// 2. Activation by explicit Euler.
		_, _, stim := support()
		alpha += dt * (par.KOn*stim*(1-alpha) - par.KOff*alpha)
		alpha = math.Min(math.Max(alpha, 0), 1)
		// 3. Rates with the new α.
		sCyt, sSrv, _ := support()
		sSen := math.Max(0, 1-G/gmax)
		sDen := 1.0
		if par.KV > 0 {
			sDen = math.Max(0, 1-(N+T+O+F)/(par.KV*par.V))
		}
		mu := muScale * alpha * sCyt * sSen * sDen
		delta := par.Delta0 + par.DeltaW*(1-sSrv)
		// 4. Compartments: D by Euler from the pre-step inflows, the others by their exact
		// exponential factors; κ relaxes exactly towards κ*.
		D += dt * (delta*N + par.DeltaT*T + par.KO*O + c.KF*F - par.KClear*D)
		N *= math.Exp((mu - delta) * dt)
		F *= math.Exp(-c.KF * dt)
		T *= math.Exp(rT * dt)
		O *= math.Exp(-par.KO * dt)
		kStar := d.KFresh + (par.KMax-d.KFresh)*sCyt*math.Sqrt(sSen)
		kappa = kStar + (kappa-kStar)*math.Exp(-dt/par.TauKappa)
		if par.KDeg > 0 || par.Q > 0 {
			C2 = math.Max(0, C2-dt*(par.KDeg*C2+par.Q*N*hill(C2, par.E2)))
			C15 = math.Max(0, C15-dt*(par.KDeg*C15+par.Q*N*hill(C15, par.E15)))
		}
		// 5. Divisions.
		G += math.Max(mu, 0) * dt / math.Ln2
		if (i+1)%stepsPerDay == 0 {
			sc, _, _ := support()
			tr.States = append(tr.States, state((i+1)/stepsPerDay, sc, math.Max(0, 1-G/gmax)))
		}
	}
	return tr, nil
}
