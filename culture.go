package clink

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Culture statuses.
const (
	StatusRunning   = "running"
	StatusCompleted = "completed"
	StatusStopped   = "stopped"
)

var cultureCodeRE = regexp.MustCompile(`^[A-Z]{3}-C[0-9]{4,8}$`)

// Culture is one donor's cells grown under one protocol version at one site.
type Culture struct {
	ID      int64  `json:"id"`
	Code    string `json:"code"` // e.g. ZGZ-C0042; generated when empty
	Site    string `json:"site"`
	DonorID int64  `json:"donor_id"`
	// Donor is the donor's code; on creation it may be given instead of DonorID.
	Donor           string `json:"donor"`
	ProtocolID      int64  `json:"protocol_id"`
	ProtocolName    string `json:"protocol_name"`
	ProtocolVersion int    `json:"protocol_version"`
	StartDate       string `json:"start_date"`
	// StartingCells is the number of viable cells seeded on day 0.
	StartingCells float64 `json:"starting_cells"`
	// StartingNKPct is the percentage of NK (CD3-CD56+) cells among them.
	StartingNKPct float64 `json:"starting_nk_pct"`
	Status        string  `json:"status"`
	StopReason    string  `json:"stop_reason"`
	Notes         string  `json:"notes"`
	Voided        bool    `json:"voided"`
	VoidReason    string  `json:"void_reason,omitempty"`
	Meta
}

// CultureCode formats the code of the n-th culture of a site.
func CultureCode(site string, n int) string { return fmt.Sprintf("%s-C%04d", site, n) }

// Validate checks the culture's own fields. That the donor belongs to the culture's site and the
// protocol exists is checked by the store, which sees them.
func (c *Culture) Validate() error {
	var fe FieldErrors
	if c.Status == "" {
		c.Status = StatusRunning
	}
	if !siteCodeRE.MatchString(c.Site) {
		fe.Addf("site", "%q is not a site code", c.Site)
	}
	if c.Code != "" && !cultureCodeRE.MatchString(c.Code) {
		fe.Addf("code", "%q is not a culture code such as ZGZ-C0042", c.Code)
	} else if c.Code != "" && !strings.HasPrefix(c.Code, c.Site+"-") {
		fe.Addf("code", "%s does not start with the culture's site %s", c.Code, c.Site)
	}
	if c.DonorID == 0 && c.Donor == "" {
		fe.Addf("donor", "is required")
	}
	if c.ProtocolID == 0 && c.ProtocolName == "" {
		fe.Addf("protocol_id", "is required")
	}
	if c.StartDate == "" {
		fe.Addf("start_date", "is required")
	} else if err := CheckDate(c.StartDate); err != nil {
		fe.Addf("start_date", "%v", err)
	}
	if !(c.StartingCells > 0) || c.StartingCells > 1e12 {
		fe.Addf("starting_cells", "%g is not a cell number above 0 (at most 1e12)", c.StartingCells)
	}
	if !(c.StartingNKPct > 0) || c.StartingNKPct > 100 {
		fe.Addf("starting_nk_pct", "%g is outside (0, 100]", c.StartingNKPct)
	}
	switch c.Status {
	case StatusRunning, StatusCompleted:
		if c.StopReason != "" {
			fe.Addf("stop_reason", "is only for stopped cultures")
		}
	case StatusStopped:
		if strings.TrimSpace(c.StopReason) == "" {
			fe.Addf("stop_reason", "is required when a culture is stopped (e.g. contamination)")
		}
	default:
		fe.Addf("status", "%q is not one of running, completed, stopped", c.Status)
	}
	if len(c.Notes) > 4000 {
		fe.Addf("notes", "is longer than 4000 characters")
	}
	return fe.Err()
}

// Markers are the phenotype markers an observation may report, as percent of NK cells.
var Markers = []string{
	"CD16", "CD57", "NKG2A", "NKG2C", "NKG2D", "DNAM-1", "KIR2DL1", "KIR2DL2/3", "KIR3DL1",
	"NKp30", "NKp44", "NKp46", "CD25", "CD69", "CD107a", "FcRγ", "CD62L", "TRAIL", "FasL",
}

// Observation is one reading of a culture on one day: counts, viability, purity and phenotype.
type Observation struct {
	ID        int64  `json:"id"`
	CultureID int64  `json:"culture_id"`
	Culture   string `json:"culture"` // the culture's code
	Site      string `json:"site"`
	// Day counts from seeding (day 0).
	Day int `json:"day"`
	// ViableCells is the total number of viable cells in the culture, counted before any split.
	ViableCells  float64  `json:"viable_cells"`
	ViabilityPct *float64 `json:"viability_pct"`
	// NKPct is CD3-CD56+ among viable lymphocytes; TPct is CD3+.
	NKPct    *float64           `json:"nk_pct"`
	TPct     *float64           `json:"t_pct"`
	Markers  map[string]float64 `json:"markers"`
	VolumeML *float64           `json:"volume_ml"`
	// SplitFractionKept is the fraction of the counted cells kept in culture after this
	// observation (1 or null when nothing was removed).
	SplitFractionKept *float64 `json:"split_fraction_kept"`
	Note              string   `json:"note"`
	Voided            bool     `json:"voided"`
	VoidReason        string   `json:"void_reason,omitempty"`
	Meta
}

// Validate checks the observation's own fields. maxDay bounds the day (the protocol duration
// plus a margin); 0 means no bound.
func (o *Observation) Validate() error {
	var fe FieldErrors
	if o.Day < 0 {
		fe.Addf("day", "%d is before the culture started (day 0)", o.Day)
	} else if o.Day > 365 {
		fe.Addf("day", "%d is more than a year after the culture started", o.Day)
	}
	if o.ViableCells < 0 || o.ViableCells > 1e13 || o.ViableCells != o.ViableCells {
		fe.Addf("viable_cells", "%g is not a cell number (0 to 1e13)", o.ViableCells)
	}
	pct := func(field string, v *float64) {
		switch {
		case v == nil:
		case *v != *v:
			fe.Addf(field, "is not a number")
		case *v < 0:
			fe.Addf(field, "%g is below 0", *v)
		case *v > 100:
			fe.Addf(field, "%g is above 100", *v)
		}
	}
	pct("viability_pct", o.ViabilityPct)
	pct("nk_pct", o.NKPct)
	pct("t_pct", o.TPct)
	if o.NKPct != nil && o.TPct != nil && *o.NKPct+*o.TPct > 100.0001 {
		fe.Addf("t_pct", "nk_pct %g + t_pct %g is above 100", *o.NKPct, *o.TPct)
	}
	names := make([]string, 0, len(o.Markers))
	for m := range o.Markers {
		names = append(names, m)
	}
	sort.Strings(names)
	for _, m := range names {
		v := o.Markers[m]
		f := "markers." + m
		if !oneOf(m, Markers...) {
			fe.Addf(f, "%q is not a known marker (%s)", m, strings.Join(Markers, ", "))
			continue
		}
		pct(f, &v)
	}
	if o.VolumeML != nil && (!(*o.VolumeML > 0) || *o.VolumeML > 1e5) {
		fe.Addf("volume_ml", "%g is not a volume above 0 (at most 100000 mL)", *o.VolumeML)
	}
	if o.SplitFractionKept != nil && (!(*o.SplitFractionKept > 0) || *o.SplitFractionKept > 1) {
		fe.Addf("split_fraction_kept", "%g is outside (0, 1]", *o.SplitFractionKept)
	}
	if len(o.Note) > 4000 {
		fe.Addf("note", "is longer than 4000 characters")
	}
	return fe.Err()
}
