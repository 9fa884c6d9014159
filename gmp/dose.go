package gmp

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/clink-consortium/clink"
)

// DoseInput holds the inputs of the dose calculation (gmp.md §5). They come from signed
// results of the same batch, the prescription and the protocol; checking that each result is
// signed, and recording its ID, is the caller's job. Percentages are given as percent (92 for
// 92 %).
type DoseInput struct {
	TNCPerML     float64 `json:"tnc_per_ml"`    // total nucleated cells per mL
	ViabilityPct float64 `json:"viability_pct"` // viable % of nucleated cells
	NKPurityPct  float64 `json:"nk_purity_pct"` // CD3−CD56+ % of viable CD45+
	CD3Pct       float64 `json:"cd3_pct"`       // CD3+ % of viable CD45+
	AvailableML  float64 `json:"available_ml"`  // after QC sampling and dead volume

	WeightKg float64 `json:"weight_kg"` // body weight, 2–250 kg, confirmed by the clinician
	// WeightBasis is the weight the protocol doses on: "actual" (the default when empty),
	// "adjusted" or "ideal". It is stored, not used in the arithmetic.
	WeightBasis string `json:"weight_basis,omitempty"`

	TargetNKPerKg float64 `json:"target_nk_per_kg"` // the prescribed dose level
	// CD3CapPerKg is the residual T-cell limit per kg. It is required: no default is
	// substituted; DefaultCD3CapPerKg is the value of the default specification.
	CD3CapPerKg float64 `json:"cd3_cap_per_kg"`
	// MaxMLPerKg is the protocol's volume limit v_max in mL/kg; 0 for none. It has no
	// software default (gmp.md §5).
	MaxMLPerKg float64 `json:"max_ml_per_kg,omitempty"`
	// ResolutionML is the administration resolution the volume is rounded down to; 0 selects
	// 0.1 mL.
	ResolutionML float64 `json:"resolution_ml,omitempty"`
	// MinDeliveredPct is the lowest delivered dose, in % of the target, at which the product
	// can be issued at the prescribed level; 0 selects 90 %.
	MinDeliveredPct float64 `json:"min_delivered_pct,omitempty"`

	// EndotoxinEUPerML is the endotoxin result, when known, to report EU/kg.
	EndotoxinEUPerML *float64 `json:"endotoxin_eu_per_ml,omitempty"`

	Cryopreserved bool `json:"cryopreserved"`
	// DMSOGPerML is the DMSO content of a cryopreserved product in g/mL, required for one and
	// refused for a fresh product; DMSOGPerMLFromPct converts a % v/v.
	DMSOGPerML float64 `json:"dmso_g_per_ml,omitempty"`
	// DMSOCapGPerKg is the protocol's DMSO limit in g/kg; 0 for none. About 1 g/kg/day is
	// often quoted (gmp.md §5, approximate).
	DMSOCapGPerKg float64 `json:"dmso_cap_g_per_kg,omitempty"`

	// BagMaxML is the maximum fill of one bag of the bag type used; 0 for no limit.
	BagMaxML float64 `json:"bag_max_ml,omitempty"`
	// MinBags is the number of bags the protocol splits a dose into, at least; 0 or 1 for no
	// split.
	MinBags int `json:"min_bags,omitempty"`

	// PriorNKPerKg and PriorCD3PerKg are the doses per kg already given by earlier infusions
	// of the treatment plan; the cumulative doses are shown, and checked against the
	// cumulative caps when the protocol defines them (0 for none).
	PriorNKPerKg          float64 `json:"prior_nk_per_kg,omitempty"`
	PriorCD3PerKg         float64 `json:"prior_cd3_per_kg,omitempty"`
	CumulativeNKCapPerKg  float64 `json:"cumulative_nk_cap_per_kg,omitempty"`
	CumulativeCD3CapPerKg float64 `json:"cumulative_cd3_cap_per_kg,omitempty"`
}

// Defaults of the dose calculation (gmp.md §5).
const (
	DefaultResolutionML    = 0.1
	DefaultMinDeliveredPct = 90
	// DMSODensityGPerML is the density of DMSO, 1.10 g/mL at 20 °C; 10 % v/v DMSO is 0.110
	// g/mL, which reproduces gmp.md §5 worked example 1 (0.064 g/kg).
	DMSODensityGPerML = 1.10
	// MaxBags is the largest number of bags a dose is split into here: container flags
	// cover sets of up to 9 bags, and more than 99 means the inputs are wrong.
	MaxBags = 99
)

// Terms that can set the volume (gmp.md §5, limiting constraint).
const (
	LimitNKTarget  = "nk_target"        // the volume delivering the target NK dose
	LimitTCellCap  = "t_cell_cap"       // the largest volume within the T-cell cap
	LimitAvailable = "available_volume" // the product there is
	LimitMaxVolume = "max_volume"       // the protocol's mL/kg limit
)

// DMSOGPerMLFromPct returns the DMSO content in g/mL of a product with pct % v/v DMSO.
func DMSOGPerMLFromPct(pct float64) float64 { return pct / 100 * DMSODensityGPerML }

// Bag is one bag of a dose: its own unit, with its own container flag and label, which states
// its fraction of the dose (gmp.md §5).
type Bag struct {
	Number   int     `json:"number"` // 1…n
	Of       int     `json:"of"`     // n
	VolumeML float64 `json:"volume_ml"`
	// ContainerFlag is the ISBT 128 flag of container Number of a set of 2–9 bags, "01"–"04"
	// or "15"–"19"; "" for a single bag, and beyond 9 bags, which need division codes.
	ContainerFlag string  `json:"container_flag,omitempty"`
	NKPerKg       float64 `json:"nk_per_kg"`
	CD3PerKg      float64 `json:"cd3_per_kg"`
}

// Dose is the result of the dose calculation, with every step as text for the record.
type Dose struct {
	NKPerML  float64 `json:"nk_per_ml"`  // c_NK, viable NK cells per mL
	CD3PerML float64 `json:"cd3_per_ml"` // c_T, viable CD3+ cells per mL

	VolumeNKML float64 `json:"volume_nk_ml"` // V_NK
	// VolumeTML is V_T; nil when the product has no CD3+ cells, so the cap sets no volume.
	VolumeTML         *float64 `json:"volume_t_ml,omitempty"`
	VolumeAvailableML float64  `json:"volume_available_ml"`
	VolumeMaxML       *float64 `json:"volume_max_ml,omitempty"` // v_max × BW; nil without v_max
	// VolumeML is the volume to infuse: the smallest of the terms above, rounded down to the
	// resolution, and, when split, the sum of the bags (each rounded down).
	VolumeML  float64 `json:"volume_ml"`
	LimitedBy string  `json:"limited_by"` // LimitNKTarget, LimitTCellCap, LimitAvailable or LimitMaxVolume

	DeliveredNKPerKg  float64 `json:"delivered_nk_per_kg"`
	DeliveredCD3PerKg float64 `json:"delivered_cd3_per_kg"`
	DeliveredPct      float64 `json:"delivered_pct"` // delivered NK/kg in % of the target
	// BelowMinimum says that the delivered dose is under MinDeliveredPct of the target: the
	// product cannot be issued at the prescribed level; the clinician chooses a lower dose
	// level or it is handled as out of specification (gmp.md §1.4, §5).
	BelowMinimum bool `json:"below_minimum"`

	EndotoxinEUPerKg *float64 `json:"endotoxin_eu_per_kg,omitempty"`
	DMSOGPerKg       *float64 `json:"dmso_g_per_kg,omitempty"`
	DMSOOverCap      bool     `json:"dmso_over_cap"`

	CumulativeNKPerKg    float64  `json:"cumulative_nk_per_kg"`
	CumulativeCD3PerKg   float64  `json:"cumulative_cd3_per_kg"`
	CumulativeNKOverCap  bool     `json:"cumulative_nk_over_cap"`
	CumulativeCD3OverCap bool     `json:"cumulative_cd3_over_cap"`
	Bags                 []Bag    `json:"bags"`
	Steps                []string `json:"steps"`
}

// Bounds of the inputs, far beyond any real product; they keep every output finite.
const (
	maxCellsPerML = 1e12
	maxPerKg      = 1e12
	maxML         = 1e6
	minPercent    = 1e-6 // the smallest non-zero percentage accepted
)

// CalculateDose computes the volume to infuse for the prescribed NK dose (gmp.md §5):
//
//	c_NK = TNC/mL × viability × NK purity          viable NK/mL
//	c_T  = TNC/mL × viability × CD3+ fraction      viable CD3+/mL
//	V_NK = d_target × BW / c_NK                    volume delivering the target NK dose
//	V_T  = cap_T × BW / c_T                        largest volume within the T-cell cap
//	V    = floor_to_resolution(min(V_NK, V_T, V_available, v_max × BW))
//	delivered NK/kg = V × c_NK / BW;   delivered CD3+/kg = V × c_T / BW
//
// The volume is rounded down, never up, so no cap can be exceeded; the term that set it is
// recorded (ties go to the first in the order above). When V exceeds the maximum fill of a
// bag, or the protocol splits the dose, it is divided into n = max(MinBags, ceil(V /
// BagMaxML)) bags of equal volume V/n, each rounded down to the resolution, and the delivered
// doses are those of the bags. Endotoxin EU/kg and, for a cryopreserved product, DMSO g/kg
// are reported; a DMSO or cumulative cap is checked, not used to cap the volume.
//
// The arithmetic is exact, in rationals, on the numbers as written in decimal, so that 41.8
// mL available at 0.1 mL resolution gives 41.8 mL and not 41.7 mL (41.8/0.1 is
// 417.99999999999994 in binary floating point). Steps holds every step as a line of text,
// numbers to 6 significant digits.
//
// Bad data stops the calculation with an EINVALID error naming every field at fault: a
// missing (zero) or negative input, NaN or infinity, a percentage above 100 %, NK plus CD3+
// above 100 %, a weight outside 2–250 kg, DMSO missing for a cryopreserved product or given
// for a fresh one. No default is substituted for a measured input.
func CalculateDose(in DoseInput) (Dose, error) {
	if err := in.check(); err != nil {
		return Dose{}, err
	}
	res := in.ResolutionML
	if res == 0 {
		res = DefaultResolutionML
	}
	minPct := in.MinDeliveredPct
	if minPct == 0 {
		minPct = DefaultMinDeliveredPct
	}
	basis := in.WeightBasis
	if basis == "" {
		basis = "actual"
	}

	var d Dose
	step := func(format string, args ...any) { d.Steps = append(d.Steps, fmt.Sprintf(format, args...)) }
	r := decimal
	hundred := big.NewRat(100, 1)
	pct := func(x float64) *big.Rat { return new(big.Rat).Quo(r(x), hundred) }
	mul := func(xs ...*big.Rat) *big.Rat {
		p := big.NewRat(1, 1)
		for _, x := range xs {
			p.Mul(p, x)
		}
		return p
	}
	quo := func(a, b *big.Rat) *big.Rat { return new(big.Rat).Quo(a, b) }

	bw := r(in.WeightKg)
	step("body weight BW = %s kg (%s body weight)", num(in.WeightKg), basis)

	cNK := mul(r(in.TNCPerML), pct(in.ViabilityPct), pct(in.NKPurityPct))
	d.NKPerML = flt(cNK)
	step("viable NK/mL c_NK = TNC/mL × viability × NK purity = %s/mL × %s %% × %s %% = %s/mL",
		num(in.TNCPerML), num(in.ViabilityPct), num(in.NKPurityPct), num(d.NKPerML))
	cT := mul(r(in.TNCPerML), pct(in.ViabilityPct), pct(in.CD3Pct))
	d.CD3PerML = flt(cT)
	step("viable CD3+/mL c_T = TNC/mL × viability × CD3+ = %s/mL × %s %% × %s %% = %s/mL",
		num(in.TNCPerML), num(in.ViabilityPct), num(in.CD3Pct), num(d.CD3PerML))

	nkNeeded := mul(r(in.TargetNKPerKg), bw)
	step("NK cells needed = %s/kg × %s kg = %s", num(in.TargetNKPerKg), num(in.WeightKg), num(flt(nkNeeded)))
	vNK := quo(nkNeeded, cNK)
	d.VolumeNKML = flt(vNK)
	step("V_NK = %s / %s/mL = %s mL (volume delivering the target NK dose)", num(flt(nkNeeded)), num(d.NKPerML), num(d.VolumeNKML))

	type term struct {
		name string
		v    *big.Rat
	}
	terms := []term{{LimitNKTarget, vNK}}
	cd3Allowed := mul(r(in.CD3CapPerKg), bw)
	if cT.Sign() > 0 {
		vT := quo(cd3Allowed, cT)
		f := flt(vT)
		d.VolumeTML = &f
		terms = append(terms, term{LimitTCellCap, vT})
		step("CD3+ cells allowed = %s/kg × %s kg = %s", num(in.CD3CapPerKg), num(in.WeightKg), num(flt(cd3Allowed)))
		step("V_T = %s / %s/mL = %s mL (largest volume within the T-cell cap)", num(flt(cd3Allowed)), num(d.CD3PerML), num(f))
	} else {
		step("V_T: no limit (the product has no CD3+ cells)")
	}
	d.VolumeAvailableML = in.AvailableML
	terms = append(terms, term{LimitAvailable, r(in.AvailableML)})
	step("V_available = %s mL", num(in.AvailableML))
	if in.MaxMLPerKg > 0 {
		vMax := mul(r(in.MaxMLPerKg), bw)
		f := flt(vMax)
		d.VolumeMaxML = &f
		terms = append(terms, term{LimitMaxVolume, vMax})
		step("V_max = %s mL/kg × %s kg = %s mL", num(in.MaxMLPerKg), num(in.WeightKg), num(f))
	} else {
		step("V_max: none (the protocol sets no mL/kg limit)")
	}

	best := terms[0]
	names := make([]string, len(terms))
	for i, t := range terms {
		names[i] = num(flt(t.v))
		if t.v.Cmp(best.v) < 0 {
			best = t
		}
	}
	d.LimitedBy = best.name
	resR := r(res)
	v := floorTo(best.v, resR)
	step("V = floor to %s mL of min(%s) mL = %s mL, set by the %s", num(res), strings.Join(names, ", "),
		fixed(v, res), limitText[best.name])

	// Bags.
	total := v
	if v.Sign() > 0 {
		n := max(in.MinBags, 1)
		if in.BagMaxML > 0 {
			c := ceilInt(quo(v, r(in.BagMaxML)))
			if !c.IsInt64() || c.Int64() > MaxBags {
				return Dose{}, clink.Invalid("bag_max_ml", "%s mL in bags of at most %s mL needs more than %d bags", fixed(v, res), num(in.BagMaxML), MaxBags)
			}
			n = max(n, int(c.Int64()))
		}
		per := floorTo(quo(v, big.NewRat(int64(n), 1)), resR)
		if per.Sign() == 0 {
			return Dose{}, clink.Invalid("min_bags", "%s mL cannot fill %d bags at %s mL resolution", fixed(v, res), n, num(res))
		}
		total = mul(per, big.NewRat(int64(n), 1))
		perF := flt(per)
		for i := 1; i <= n; i++ {
			flag := ""
			if n > 1 {
				flag, _ = ContainerFlag(i) // "" beyond 9
			}
			d.Bags = append(d.Bags, Bag{Number: i, Of: n, VolumeML: perF, ContainerFlag: flag,
				NKPerKg: flt(quo(mul(per, cNK), bw)), CD3PerKg: flt(quo(mul(per, cT), bw))})
		}
		switch {
		case n == 1:
			step("bags: 1 bag of %s mL", fixed(per, res))
		default:
			why := fmt.Sprintf("the protocol splits the dose into %d", in.MinBags)
			if in.BagMaxML > 0 && n > in.MinBags {
				why = fmt.Sprintf("%s mL > %s mL per bag: n = ceil(%s / %s) = %d", fixed(v, res), num(in.BagMaxML), fixed(v, res), num(in.BagMaxML), n)
			}
			step("bags: %s; %d bags of %s mL (V/n rounded down to %s mL), %s mL in all, each 1/%d of the dose",
				why, n, fixed(per, res), num(res), fixed(total, res), n)
		}
		if n > 9 {
			step("bags 10 to %d have no container flag: label them with division codes", n)
		}
	} else {
		d.Bags = []Bag{}
		step("bags: none (V rounds down to 0 mL)")
	}
	d.VolumeML = flt(total)

	nkKg := quo(mul(total, cNK), bw)
	cd3Kg := quo(mul(total, cT), bw)
	d.DeliveredNKPerKg, d.DeliveredCD3PerKg = flt(nkKg), flt(cd3Kg)
	pctR := quo(mul(nkKg, hundred), r(in.TargetNKPerKg))
	d.DeliveredPct = flt(pctR)
	d.BelowMinimum = pctR.Cmp(r(minPct)) < 0
	step("delivered NK/kg = %s mL × %s/mL / %s kg = %s/kg = %.2f %% of the target %s/kg (minimum %s %%)",
		fixed(total, res), num(d.NKPerML), num(in.WeightKg), num(d.DeliveredNKPerKg), d.DeliveredPct, num(in.TargetNKPerKg), num(minPct))
	step("delivered CD3+/kg = %s mL × %s/mL / %s kg = %s/kg (cap %s/kg)",
		fixed(total, res), num(d.CD3PerML), num(in.WeightKg), num(d.DeliveredCD3PerKg), num(in.CD3CapPerKg))
	if d.BelowMinimum {
		step("LOW DOSE: %.2f %% of the target is below %s %%: the prescribed dose level cannot be met; the clinician chooses a lower dose level or the product is handled as out of specification (gmp.md §1.4)",
			d.DeliveredPct, num(minPct))
	}
	if in.EndotoxinEUPerML != nil {
		e := flt(quo(mul(r(*in.EndotoxinEUPerML), total), bw))
		d.EndotoxinEUPerKg = &e
		step("endotoxin = %s EU/mL × %s mL / %s kg = %s EU/kg", num(*in.EndotoxinEUPerML), fixed(total, res), num(in.WeightKg), num(e))
	}
	if in.Cryopreserved {
		dm := quo(mul(r(in.DMSOGPerML), total), bw)
		f := flt(dm)
		d.DMSOGPerKg = &f
		capText := "no protocol cap"
		if in.DMSOCapGPerKg > 0 {
			d.DMSOOverCap = dm.Cmp(r(in.DMSOCapGPerKg)) > 0
			capText = "protocol cap " + num(in.DMSOCapGPerKg) + " g/kg"
			if d.DMSOOverCap {
				capText += ": OVER THE CAP"
			}
		}
		step("DMSO = %s g/mL × %s mL / %s kg = %s g/kg (%s)", num(in.DMSOGPerML), fixed(total, res), num(in.WeightKg), num(f), capText)
	}
	cumNK := new(big.Rat).Add(r(in.PriorNKPerKg), nkKg)
	cumT := new(big.Rat).Add(r(in.PriorCD3PerKg), cd3Kg)
	d.CumulativeNKPerKg, d.CumulativeCD3PerKg = flt(cumNK), flt(cumT)
	if in.CumulativeNKCapPerKg > 0 {
		d.CumulativeNKOverCap = cumNK.Cmp(r(in.CumulativeNKCapPerKg)) > 0
	}
	if in.CumulativeCD3CapPerKg > 0 {
		d.CumulativeCD3OverCap = cumT.Cmp(r(in.CumulativeCD3CapPerKg)) > 0
	}
	if in.PriorNKPerKg > 0 || in.PriorCD3PerKg > 0 || in.CumulativeNKCapPerKg > 0 || in.CumulativeCD3CapPerKg > 0 {
		step("cumulative NK/kg = %s + %s = %s/kg%s", num(in.PriorNKPerKg), num(d.DeliveredNKPerKg), num(d.CumulativeNKPerKg),
			capNote(in.CumulativeNKCapPerKg, d.CumulativeNKOverCap))
		step("cumulative CD3+/kg = %s + %s = %s/kg%s", num(in.PriorCD3PerKg), num(d.DeliveredCD3PerKg), num(d.CumulativeCD3PerKg),
			capNote(in.CumulativeCD3CapPerKg, d.CumulativeCD3OverCap))
	}
	return d, nil
}

var limitText = map[string]string{
	LimitNKTarget:  "NK target",
	LimitTCellCap:  "T-cell cap",
	LimitAvailable: "available volume",
	LimitMaxVolume: "maximum volume",
}

func capNote(limit float64, over bool) string {
	switch {
	case limit <= 0:
		return ""
	case over:
		return " (cumulative cap " + num(limit) + "/kg: OVER THE CAP)"
	}
	return " (cumulative cap " + num(limit) + "/kg)"
}

// check returns an EINVALID error naming every input at fault.
func (in DoseInput) check() error {
	var fe clink.FieldErrors
	bad := func(field string, v float64) bool {
		switch {
		case math.IsNaN(v):
			fe.Addf(field, "is not a number (NaN)")
		case math.IsInf(v, 0):
			fe.Addf(field, "must be finite, got %g", v)
		case v < 0:
			fe.Addf(field, "must not be negative, got %g", v)
		default:
			return false
		}
		return true
	}
	required := func(field string, v, hi float64, unit string) {
		switch {
		case bad(field, v):
		case v == 0:
			fe.Addf(field, "is missing (0)")
		case v > hi:
			fe.Addf(field, "must be at most %g %s, got %g", hi, unit, v)
		}
	}
	optional := func(field string, v, hi float64, unit string) {
		if !bad(field, v) && v > hi {
			fe.Addf(field, "must be at most %g %s, got %g", hi, unit, v)
		}
	}
	percent := func(field string, v float64, zeroOK bool) {
		switch {
		case bad(field, v):
		case v == 0 && !zeroOK:
			fe.Addf(field, "is missing (0): the product has no %s", map[string]string{"viability_pct": "viable cells", "nk_purity_pct": "NK cells"}[field])
		case v > 100:
			fe.Addf(field, "must be at most 100 %%, got %g", v)
		case v > 0 && v < minPercent:
			fe.Addf(field, "%g %% is below any measurable value (%g %%)", v, minPercent)
		}
	}
	required("tnc_per_ml", in.TNCPerML, maxCellsPerML, "cells/mL")
	if in.TNCPerML > 0 && in.TNCPerML < 1 {
		fe.Addf("tnc_per_ml", "must be at least 1 cell/mL, got %g", in.TNCPerML)
	}
	percent("viability_pct", in.ViabilityPct, false)
	percent("nk_purity_pct", in.NKPurityPct, false)
	percent("cd3_pct", in.CD3Pct, true)
	if in.NKPurityPct+in.CD3Pct > 100 && in.NKPurityPct <= 100 && in.CD3Pct <= 100 {
		fe.Addf("cd3_pct", "NK purity %g %% plus CD3+ %g %% exceeds 100 %% of viable CD45+ cells", in.NKPurityPct, in.CD3Pct)
	}
	required("available_ml", in.AvailableML, maxML, "mL")
	checkWeight(&fe, in.WeightKg)
	switch in.WeightBasis {
	case "", "actual", "adjusted", "ideal":
	default:
		fe.Addf("weight_basis", "must be actual, adjusted or ideal, got %q", limitRunes(in.WeightBasis, 32))
	}
	required("target_nk_per_kg", in.TargetNKPerKg, maxPerKg, "cells/kg")
	required("cd3_cap_per_kg", in.CD3CapPerKg, maxPerKg, "cells/kg")
	optional("max_ml_per_kg", in.MaxMLPerKg, maxML, "mL/kg")
	if !bad("resolution_ml", in.ResolutionML) && in.ResolutionML != 0 && (in.ResolutionML < 0.001 || in.ResolutionML > 100) {
		fe.Addf("resolution_ml", "must be 0.001–100 mL (0 selects %g mL), got %g", DefaultResolutionML, in.ResolutionML)
	}
	percent("min_delivered_pct", in.MinDeliveredPct, true)
	if in.EndotoxinEUPerML != nil {
		optional("endotoxin_eu_per_ml", *in.EndotoxinEUPerML, 1e6, "EU/mL")
	}
	switch {
	case in.Cryopreserved:
		required("dmso_g_per_ml", in.DMSOGPerML, DMSODensityGPerML, "g/mL (pure DMSO)")
		optional("dmso_cap_g_per_kg", in.DMSOCapGPerKg, 1e3, "g/kg")
	case in.DMSOGPerML != 0 || in.DMSOCapGPerKg != 0:
		fe.Addf("dmso_g_per_ml", "is given for a fresh product; set cryopreserved")
	}
	optional("bag_max_ml", in.BagMaxML, maxML, "mL")
	if in.MinBags < 0 || in.MinBags > MaxBags {
		fe.Addf("min_bags", "must be 0–%d, got %d", MaxBags, in.MinBags)
	}
	optional("prior_nk_per_kg", in.PriorNKPerKg, maxPerKg, "cells/kg")
	optional("prior_cd3_per_kg", in.PriorCD3PerKg, maxPerKg, "cells/kg")
	optional("cumulative_nk_cap_per_kg", in.CumulativeNKCapPerKg, maxPerKg, "cells/kg")
	optional("cumulative_cd3_cap_per_kg", in.CumulativeCD3CapPerKg, maxPerKg, "cells/kg")
	return fe.Err()
}

// floorTo rounds x ≥ 0 down to a whole multiple of step > 0, exactly.
func floorTo(x, step *big.Rat) *big.Rat {
	q := new(big.Rat).Quo(x, step)
	n := new(big.Int).Quo(q.Num(), q.Denom()) // truncation is the floor for q ≥ 0
	return new(big.Rat).Mul(new(big.Rat).SetInt(n), step)
}

// ceilInt returns the smallest integer ≥ x, for x ≥ 0.
func ceilInt(x *big.Rat) *big.Int {
	n, m := new(big.Int).QuoRem(x.Num(), x.Denom(), new(big.Int))
	if m.Sign() > 0 {
		n.Add(n, big.NewInt(1))
	}
	return n
}

// flt returns the float64 nearest to x.
func flt(x *big.Rat) float64 {
	f, _ := x.Float64()
	return f
}

// num formats x to 6 significant digits with a short exponent: 1.7296e7, 110400, 41.8594.
func num(x float64) string {
	s := strconv.FormatFloat(x, 'g', 6, 64)
	if i := strings.IndexByte(s, 'e'); i >= 0 {
		mant, exp := s[:i], s[i+1:]
		sign := ""
		if exp[0] == '-' {
			sign = "-"
		}
		exp = strings.TrimLeft(exp[1:], "0")
		s = mant + "e" + sign + exp
	}
	return s
}

// fixed formats a volume exactly with as many decimals as the resolution has: 41.8, 134.9.
func fixed(x *big.Rat, res float64) string {
	decimals := 0
	if s := strconv.FormatFloat(res, 'f', -1, 64); strings.Contains(s, ".") {
		decimals = len(s) - strings.IndexByte(s, '.') - 1
	}
	return x.FloatString(decimals)
}
