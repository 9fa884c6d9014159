package sim

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
)

// DonorModel holds the distributions of donor random effects (domain.md §5.7).
type DonorModel struct {
	// LnMDonorSD is the SD of ln m_donor (0.35).
	LnMDonorSD float64
	// InteractionSD is the SD of the donor × protocol interaction on ln μ (0.10).
	InteractionSD float64
	// NKFractionMedian and NKFractionLogitSD describe the logit-normal NK fraction of PBMC:
	// median 10 %, 95 % in 5-20 % (logit SD 0.4 puts 2.5 %/97.5 % at 5.2 % and 19.6 %).
	NKFractionMedian, NKFractionLogitSD float64
	// NKG2CDeletion is the KLRC2 deletion allele frequency q (0.175, Hardy-Weinberg).
	NKG2CDeletion float64
	// PKIRBx is the probability of a B/x KIR genotype (0.70).
	PKIRBx float64
	// AdaptiveMedian, AdaptiveLogSD and AdaptiveCap describe the adaptive NKG2C⁺ fraction of
	// NK at day 0 in HCMV⁺ donors with an NKG2C allele: lognormal, median 5 %, capped at 40 %,
	// halved for +/del. The doc gives no spread; the log SD of 0.8 is an assumption.
	AdaptiveMedian, AdaptiveLogSD, AdaptiveCap float64
	// KFreshMedian and KFreshLogSD describe ln k_fresh ~ N(ln 0.1, 0.3²).
	KFreshMedian, KFreshLogSD float64
	// AgeMin and AgeMax bound the uniform donor age (healthy donors 18-60, §4).
	AgeMin, AgeMax int
}

// DefaultDonorModel returns the defaults of domain.md §5.7.
func DefaultDonorModel() DonorModel {
	return DonorModel{
		LnMDonorSD: 0.35, InteractionSD: 0.10,
		NKFractionMedian: 0.10, NKFractionLogitSD: 0.4,
		NKG2CDeletion: 0.175, PKIRBx: 0.70,
		AdaptiveMedian: 0.05, AdaptiveLogSD: 0.8, AdaptiveCap: 0.40,
		KFreshMedian: 0.1, KFreshLogSD: 0.3,
		AgeMin: 18, AgeMax: 60,
	}
}

// HCMV seroprevalence used for donors of Spanish and French sites (§5.7).
const (
	HCMVSpain  = 0.73
	HCMVFrance = 0.42
)

// maxNKFraction keeps an extreme draw inside Donor.Validate's bound.
const maxNKFraction = 0.29

// DrawDonor draws one donor's random effects from r; pHCMV is the seroprevalence of the
// donor's population (HCMVSpain, HCMVFrance). The draws come in a fixed order, so the same
// source state gives the same donor.
func (m DonorModel) DrawDonor(r *rand.Rand, pHCMV float64) (Donor, error) {
	if !(pHCMV >= 0 && pHCMV <= 1) {
		return Donor{}, fmt.Errorf("sim: HCMV prevalence %g is outside 0..1", pHCMV)
	}
	if m.AgeMax < m.AgeMin || m.AgeMin < 0 || !(m.NKFractionMedian > 0 && m.NKFractionMedian < maxNKFraction) ||
		!(m.KFreshMedian > 0) || !(m.AdaptiveMedian > 0) || !(m.NKG2CDeletion >= 0 && m.NKG2CDeletion <= 1) ||
		!(m.PKIRBx >= 0 && m.PKIRBx <= 1) {
		return Donor{}, fmt.Errorf("sim: invalid donor model %+v", m)
	}
	var d Donor
	d.MDonor = math.Exp(m.LnMDonorSD * r.NormFloat64())
	lg := math.Log(m.NKFractionMedian/(1-m.NKFractionMedian)) + m.NKFractionLogitSD*r.NormFloat64()
	d.NKFraction = math.Min(1/(1+math.Exp(-lg)), maxNKFraction)
	d.Age = m.AgeMin + r.IntN(m.AgeMax-m.AgeMin+1)
	d.HCMV = r.Float64() < pHCMV
	for range 2 {
		if r.Float64() >= m.NKG2CDeletion {
			d.NKG2CCopies++
		}
	}
	d.KIRBx = r.Float64() < m.PKIRBx
	z := r.NormFloat64() // drawn for every donor so that later draws do not shift with HCMV
	if d.HCMV && d.NKG2CCopies > 0 {
		d.AdaptiveFraction = math.Min(m.AdaptiveMedian*math.Exp(m.AdaptiveLogSD*z), m.AdaptiveCap)
		if d.NKG2CCopies == 1 {
			d.AdaptiveFraction /= 2
		}
	}
	d.KFresh = m.KFreshMedian * math.Exp(m.KFreshLogSD*r.NormFloat64())
	d.Seed = r.Uint64()
	return d, nil
}

// For returns the donor with its interaction for the protocol named key drawn from
// N(0, sd²). The draw depends only on the donor's Seed and key, so a donor keeps one
// interaction per protocol however many times it is simulated.
func (d Donor) For(key string, sd float64) Donor {
	r := rand.New(rand.NewPCG(d.Seed, hashString(key)))
	d.Interaction = sd * r.NormFloat64()
	return d
}

func hashString(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}
