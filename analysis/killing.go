package analysis

import (
	"fmt"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/cytotox"
)

// AssayAnalysis is the killing of one cytotoxicity assay: specific lysis per E:T ratio with its
// QC, the ratios corrected for NK purity, the exponential model fitted on them and the lytic
// units (domain.md §6.1–6.5).
type AssayAnalysis struct {
	AssayID        int64          `json:"assay_id"`
	Day            int            `json:"day"`
	Target         string         `json:"target"`
	Method         string         `json:"method"`
	TargetsPerWell int            `json:"targets_per_well"`
	Lysis          cytotox.Result `json:"lysis"`
	// ETCorrection is the factor from nominal to NK E:T (viability × NK purity, §6.4) and the
	// observation it comes from; nil when that day has no purity or viability: the assay is
	// then "uncorrected", fitted on nominal E:T with the flag "uncorrected", and left out of
	// protocol comparisons.
	ETCorrection *ETCorrection   `json:"et_correction"`
	Points       []KillingPoint  `json:"points"`
	Fit          *cytotox.ExpFit `json:"fit"` // y = a(1 − e^(−k x)) on NK E:T (nominal when uncorrected); nil when not fitted
	// LU20 and LU30 are per 10⁷ NK cells, or per 10⁷ effectors of any kind when uncorrected.
	LU20 *float64 `json:"lu20_per_1e7_nk"`
	LU30 *float64 `json:"lu30_per_1e7_nk"`
	// Flags are cytotox's potency flags: why a fit or a lytic unit is missing ("uncorrected",
	// "too_few_points", "plateau_below_30" ...).
	Flags []string `json:"flags"`
	Notes []string `json:"notes"`
}

// ETCorrection is how nominal E:T ratios became NK E:T ratios.
type ETCorrection struct {
	ObservationDay int     `json:"observation_day"`
	ViabilityPct   float64 `json:"viability_pct"`
	NKPct          float64 `json:"nk_pct"`
	Factor         float64 `json:"factor"` // viability × purity as fractions
}

// KillingPoint is one E:T ratio of an assay.
type KillingPoint struct {
	ETNominal        float64  `json:"et_nominal"`
	ETNK             *float64 `json:"et_nk"` // nil when uncorrected
	SpecificLysisPct *float64 `json:"specific_lysis_pct"`
	Fitted           bool     `json:"fitted"` // used in the fit
}

// Lysis computes the specific lysis of an assay with the default QC thresholds.
func Lysis(a *clink.Assay) (cytotox.Result, error) {
	kind := cytotox.Release
	if a.Method == clink.MethodFlow {
		kind = cytotox.DeadFraction
	}
	wells := make([]cytotox.Wells, len(a.Points))
	for i, p := range a.Points {
		wells[i] = cytotox.Wells{ETRatio: p.ETRatio, Readings: p.Readings}
	}
	return cytotox.SpecificLysis(kind, a.Spontaneous, a.Maximum, wells, cytotox.QC{})
}

// AnalyzeAssay analyses assay a of a culture whose observations are obs. The E:T correction
// uses the observation on the assay day; without purity and viability there, the result is
// fitted on the nominal E:T ratios and flagged "uncorrected", and its lytic units count every
// effector cell (§6.4: excluded from cross-protocol comparison).
func AnalyzeAssay(a *clink.Assay, obs []*clink.Observation) AssayAnalysis {
	an := AssayAnalysis{AssayID: a.ID, Day: a.Day, Target: a.Target, Method: a.Method, TargetsPerWell: a.TargetsPerWell,
		Points: []KillingPoint{}, Flags: []string{}, Notes: []string{}}
	note := func(format string, args ...any) { an.Notes = append(an.Notes, fmt.Sprintf(format, args...)) }
	res, err := Lysis(a)
	if err != nil {
		// Stored assays were validated when recorded; a failure here means the stored record
		// is not computable and is shown as such rather than hidden.
		note("lysis cannot be computed: %v", err)
		an.Lysis = cytotox.Result{Points: []cytotox.Point{}, Flags: []cytotox.Flag{}}
		return an
	}
	an.Lysis = res
	for _, o := range obs {
		if o.Day == a.Day && o.NKPct != nil && o.ViabilityPct != nil {
			f := (*o.ViabilityPct / 100) * (*o.NKPct / 100)
			if f > 0 {
				an.ETCorrection = &ETCorrection{ObservationDay: o.Day, ViabilityPct: *o.ViabilityPct, NKPct: *o.NKPct, Factor: f}
			}
		}
	}
	if an.ETCorrection == nil {
		note("uncorrected: no NK purity and viability recorded on day %d, so the fit is on nominal E:T and is left out of protocol comparisons (§6.4)", a.Day)
	}
	var etNK []float64
	for _, p := range res.Points {
		kp := KillingPoint{ETNominal: p.ETRatio, SpecificLysisPct: p.SpecificLysisPct}
		if an.ETCorrection != nil {
			v := p.ETRatio * an.ETCorrection.Factor
			kp.ETNK = &v
			etNK = append(etNK, v)
		}
		an.Points = append(an.Points, kp)
	}
	pot, err := cytotox.FitResult(res, etNK, float64(a.TargetsPerWell))
	if err != nil {
		note("exponential model not fitted: %v", err)
		return an
	}
	for i, f := range pot.Fitted {
		an.Points[i].Fitted = f
	}
	an.Fit, an.LU20, an.LU30, an.Flags = pot.Fit, pot.LU20, pot.LU30, pot.Flags
	return an
}

// LysisAtNominal returns the specific lysis at nominal E:T et, when the assay has that ratio.
func (an AssayAnalysis) LysisAtNominal(et float64) *float64 {
	for _, p := range an.Points {
		if p.ETNominal == et {
			return p.SpecificLysisPct
		}
	}
	return nil
}
