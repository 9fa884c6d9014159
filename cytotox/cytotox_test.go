package cytotox

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/clink-consortium/clink"
)

func checkNear(tb testing.TB, what string, got *float64, want, tol float64) {
	tb.Helper()
	switch {
	case math.IsNaN(want) && got != nil:
		tb.Errorf("%s: got %g, want nil", what, *got)
	case math.IsNaN(want):
	case got == nil:
		tb.Errorf("%s: got nil, want %g", what, want)
	case math.Abs(*got-want) > tol:
		tb.Errorf("%s: got %.6g, want %.6g", what, *got, want)
	}
}

func mustMarshal(tb testing.TB, v any) {
	tb.Helper()
	if _, err := json.Marshal(v); err != nil {
		tb.Fatalf("json.Marshal: %v", err)
	}
}

func rules(fs []Flag) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, f.Level+":"+f.Rule)
	}
	return out
}

// TestWorkedExamples checks domain.md §6.1 (S = 350, M = 2,500, E = 1,400 cpm: spontaneous
// 14 %, lysis 100 × 1,050/2,150 = 48.8 %) and §6.2 (D_T 8 %, D_ET 52 %: 47.8 %; L_T 4,000,
// L_ET 1,900 live targets: 52.5 %), each to the printed digit, and exactly against the
// fractions they print.
func TestWorkedExamples(t *testing.T) {
	tests := []struct {
		name              string
		kind              Kind
		s, m              []float64
		e                 []float64
		spont, lysis, lr1 float64 // lr1: the printed rounding
	}{
		{"6.1 release", Release, []float64{350}, []float64{2500}, []float64{1400, 1400}, 14, 100 * 1050.0 / 2150, 48.8},
		{"6.2 dead fraction", DeadFraction, []float64{8}, nil, []float64{52, 52}, 8, 100 * 44.0 / 92, 47.8},
		// §6.2 absolute count: 1,900 vs 4,000 live targets per 1,000 beads → 52.5 %; no
		// spontaneous-release percentage.
		{"6.2 counting beads", CountingBeads, []float64{4000}, nil, []float64{1900, 1900}, math.NaN(), 52.5, 52.5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := SpecificLysis(tc.kind, tc.s, tc.m, []Wells{{ETRatio: 10, Readings: tc.e}}, QC{})
			if err != nil {
				t.Fatal(err)
			}
			mustMarshal(t, res)
			if !res.Valid || len(res.Flags) != 0 {
				t.Errorf("got valid %v flags %v, want valid and no flags", res.Valid, rules(res.Flags))
			}
			checkNear(t, "spontaneous_pct", res.SpontaneousPct, tc.spont, 1e-12)
			p := res.Points[0]
			checkNear(t, "specific_lysis_pct", p.SpecificLysisPct, tc.lysis, 1e-12)
			if got := math.Round(*p.SpecificLysisPct*10) / 10; got != tc.lr1 {
				t.Errorf("rounded lysis: got %g, want %g", got, tc.lr1)
			}
			checkNear(t, "cv_pct", p.CVPct, 0, 0)
			if len(p.ReplicateLysisPct) != 2 || p.ReplicateLysisPct[0] != *p.SpecificLysisPct {
				t.Errorf("replicate lysis: got %v, want two of %g", p.ReplicateLysisPct, *p.SpecificLysisPct)
			}
		})
	}
}

// TestReplicates checks means, the sample CV and per-replicate lysis on triplicates whose
// values are worked by hand: S wells 90, 100, 110 (mean 100), M wells 1100 (mean 1100, so
// M − S = 1000); E wells 400, 500, 600: mean 500, SD 100, CV 20 %, lysis 40 % and per well
// 30, 40, 50 %.
func TestReplicates(t *testing.T) {
	res, err := SpecificLysis(Release, []float64{90, 100, 110}, []float64{1100}, []Wells{{ETRatio: 5, Readings: []float64{400, 500, 600}}}, QC{})
	if err != nil {
		t.Fatal(err)
	}
	if res.SpontaneousMean != 100 || *res.MaximumMean != 1100 {
		t.Errorf("means: got S %g M %g, want 100 and 1100", res.SpontaneousMean, *res.MaximumMean)
	}
	p := res.Points[0]
	checkNear(t, "mean", &p.Mean, 500, 1e-12)
	checkNear(t, "cv", p.CVPct, 20, 1e-12)
	checkNear(t, "lysis", p.SpecificLysisPct, 40, 1e-12)
	for i, want := range []float64{30, 40, 50} {
		checkNear(t, "replicate lysis", &p.ReplicateLysisPct[i], want, 1e-12)
	}
	// A CV of exactly 20 % warns (> 15 %) but is not excluded (> 20 % is).
	if want := []string{RuleReplicateCV}; !slices.Equal(p.Flags, want) {
		t.Errorf("flags: got %v, want %v", p.Flags, want)
	}
}

// TestProperties checks that lysis is 0 when E equals S and 100 when E equals M (for counting
// beads: no live targets left), for every kind and any plausible controls.
func TestProperties(t *testing.T) {
	for _, c := range [][2]float64{{350, 2500}, {1, 1e6}, {0, 10}, {1234.5, 9876.5}} {
		s, m := c[0], c[1]
		res, err := SpecificLysis(Release, []float64{s, s}, []float64{m}, []Wells{{1, []float64{s}}, {2, []float64{m}}}, QC{MinDynamicRange: 1})
		if err != nil {
			t.Fatal(err)
		}
		checkNear(t, "E = S", res.Points[0].SpecificLysisPct, 0, 1e-9)
		checkNear(t, "E = M", res.Points[1].SpecificLysisPct, 100, 1e-9)
	}
	for _, l := range []float64{1, 4000, 1e6} {
		res, err := SpecificLysis(CountingBeads, []float64{l}, nil, []Wells{{1, []float64{l}}, {2, []float64{0}}}, QC{})
		if err != nil {
			t.Fatal(err)
		}
		checkNear(t, "L_ET = L_T", res.Points[0].SpecificLysisPct, 0, 1e-9)
		checkNear(t, "L_ET = 0", res.Points[1].SpecificLysisPct, 100, 1e-9)
	}
	for _, d := range []float64{0, 8, 19.5} {
		res, err := SpecificLysis(DeadFraction, []float64{d}, nil, []Wells{{1, []float64{d}}, {2, []float64{100}}}, QC{})
		if err != nil {
			t.Fatal(err)
		}
		checkNear(t, "D_ET = D_T", res.Points[0].SpecificLysisPct, 0, 1e-9)
		checkNear(t, "D_ET = 100", res.Points[1].SpecificLysisPct, 100, 1e-9)
	}
}

// TestQCRules walks the rule table of domain.md §6.3 with default thresholds.
func TestQCRules(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name       string
		kind       Kind
		s, m       []float64
		wells      []Wells
		qc         QC
		valid      bool
		plate      []string // level:rule of every flag, in order
		pointFlags []string // flags of the first point
		lysis      float64  // of the first point; NaN wants nil
	}{
		{
			name: "clean", s: []float64{100}, m: []float64{1000}, wells: []Wells{{10, []float64{550, 550}}},
			valid: true, plate: []string{}, pointFlags: []string{}, lysis: 50,
		},
		{
			// 100 × 310/1000 = 31 % > 30 %: invalid, raw mean kept, no lysis.
			name: "spontaneous above 30", s: []float64{310}, m: []float64{1000}, wells: []Wells{{10, []float64{600, 600}}},
			plate: []string{"invalid:spontaneous_release"}, pointFlags: []string{}, lysis: nan,
		},
		{
			// Exactly 30 % is a warning, not invalid; M/S = 3.33 keeps the range.
			name: "spontaneous at 30", s: []float64{300}, m: []float64{1000}, wells: []Wells{{10, []float64{650, 650}}},
			valid: true, plate: []string{"warning:spontaneous_release"}, pointFlags: []string{RuleSpontaneous}, lysis: 50,
		},
		{
			// 25 %: warning on the plate and on every point; M/S = 4.
			name: "spontaneous 25", s: []float64{250}, m: []float64{1000}, wells: []Wells{{10, []float64{625, 625}}, {5, []float64{400, 400}}},
			valid: true, plate: []string{"warning:spontaneous_release"}, pointFlags: []string{RuleSpontaneous}, lysis: 50,
		},
		{
			// Exactly 20 % passes.
			name: "spontaneous at 20", s: []float64{200}, m: []float64{1000}, wells: []Wells{{10, []float64{600, 600}}},
			valid: true, plate: []string{}, pointFlags: []string{}, lysis: 50,
		},
		{
			name: "max equals spontaneous", s: []float64{500}, m: []float64{500}, wells: []Wells{{10, []float64{600, 600}}},
			plate: []string{"invalid:max_not_above_spontaneous"}, pointFlags: []string{}, lysis: nan,
		},
		{
			name: "max below spontaneous", s: []float64{500}, m: []float64{400}, wells: []Wells{{10, []float64{600, 600}}},
			plate: []string{"invalid:max_not_above_spontaneous"}, pointFlags: []string{}, lysis: nan,
		},
		{
			// Spontaneous 18 % (no spontaneous warning) but with a looser limit, M/S 2.5 < 3.
			name: "poor dynamic range", s: []float64{400}, m: []float64{1000}, wells: []Wells{{10, []float64{700, 700}}},
			qc:    QC{SpontaneousWarnPct: 45, SpontaneousInvalidPct: 50},
			valid: true, plate: []string{"warning:dynamic_range"}, pointFlags: []string{RuleDynamicRange}, lysis: 50,
		},
		{
			// Readings 500 and 600: mean 550, SD 70.7, CV 12.9 %: no flag.
			name: "CV below 15", s: []float64{100}, m: []float64{1100}, wells: []Wells{{10, []float64{500, 600}}},
			valid: true, plate: []string{}, pointFlags: []string{}, lysis: 45,
		},
		{
			// Readings 84, 100, 116: mean 100, SD 16, CV 16 %: warning only.
			name: "CV 16", s: []float64{10}, m: []float64{1010}, wells: []Wells{{10, []float64{84, 100, 116}}},
			valid: true, plate: []string{"warning:replicate_cv"}, pointFlags: []string{RuleReplicateCV}, lysis: 9,
		},
		{
			// Readings 400 and 600: mean 500, SD 141.4, CV 28.3 %: warning and excluded.
			name: "CV above 20", s: []float64{100}, m: []float64{1100}, wells: []Wells{{10, []float64{400, 600}}},
			valid: true, plate: []string{"warning:replicate_cv", "warning:excluded_from_fit"},
			pointFlags: []string{RuleReplicateCV, RuleExcludedFromFit}, lysis: 40,
		},
		{
			name: "single well", s: []float64{100}, m: []float64{1100}, wells: []Wells{{10, []float64{600}}},
			valid: true, plate: []string{"warning:single_replicate"}, pointFlags: []string{RuleSingleReplicate}, lysis: 50,
		},
		{
			// E below S: −10 %, stored as computed and flagged.
			name: "negative lysis", s: []float64{200}, m: []float64{1200}, wells: []Wells{{1, []float64{100, 100}}},
			valid: true, plate: []string{"warning:lysis_out_of_range"}, pointFlags: []string{RuleLysisOutOfRange}, lysis: -10,
		},
		{
			// E above M: 110 %.
			name: "lysis above 100", s: []float64{200}, m: []float64{1200}, wells: []Wells{{1, []float64{1300, 1300}}},
			valid: true, plate: []string{"warning:lysis_out_of_range"}, pointFlags: []string{RuleLysisOutOfRange}, lysis: 110,
		},
		{
			// Flow: D_T 35 % > 30 % invalidates the plate too.
			name: "flow high spontaneous death", kind: DeadFraction, s: []float64{35}, wells: []Wells{{10, []float64{60, 60}}},
			plate: []string{"invalid:spontaneous_release"}, pointFlags: []string{}, lysis: nan,
		},
		{
			name: "flow all dead", kind: DeadFraction, s: []float64{100}, wells: []Wells{{10, []float64{100, 100}}},
			plate: []string{"invalid:max_not_above_spontaneous"}, pointFlags: []string{}, lysis: nan,
		},
		{
			// Flow ignores a maximum control it does not have.
			name: "flow ignores maximum", kind: DeadFraction, s: []float64{10}, m: []float64{nan}, wells: []Wells{{10, []float64{55, 55}}},
			valid: true, plate: []string{}, pointFlags: []string{}, lysis: 50,
		},
		{
			// Counting beads: L_T 0 gives no denominator.
			name: "beads no live targets", kind: CountingBeads, s: []float64{0, 0}, wells: []Wells{{10, []float64{0, 0}}},
			plate: []string{"invalid:max_not_above_spontaneous"}, pointFlags: []string{}, lysis: nan,
		},
		{
			// 4,400 live targets with effectors against 4,000 without: −10 %.
			name: "beads more live targets with effectors", kind: CountingBeads, s: []float64{4000}, wells: []Wells{{1, []float64{4400, 4400}}},
			valid: true, plate: []string{"warning:lysis_out_of_range"}, pointFlags: []string{RuleLysisOutOfRange}, lysis: -10,
		},
		{
			// Counts have no spontaneous-release percentage: a high L_T is no spontaneous flag,
			// and a maximum control is ignored.
			name: "beads ignore maximum", kind: CountingBeads, s: []float64{90000}, m: []float64{nan}, wells: []Wells{{10, []float64{45000, 45000}}},
			valid: true, plate: []string{}, pointFlags: []string{}, lysis: 50,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := SpecificLysis(tc.kind, tc.s, tc.m, tc.wells, tc.qc)
			if err != nil {
				t.Fatal(err)
			}
			mustMarshal(t, res)
			if res.Valid != tc.valid {
				t.Errorf("valid: got %v, want %v", res.Valid, tc.valid)
			}
			if got := rules(res.Flags); !slices.Equal(got, tc.plate) {
				t.Errorf("flags: got %v, want %v", got, tc.plate)
			}
			p := res.Points[0]
			if !slices.Equal(p.Flags, tc.pointFlags) {
				t.Errorf("point flags: got %v, want %v", p.Flags, tc.pointFlags)
			}
			checkNear(t, "lysis", p.SpecificLysisPct, tc.lysis, 1e-9)
			if p.SpecificLysisPct == nil && len(p.ReplicateLysisPct) != 0 {
				t.Errorf("replicate lysis: got %v, want none without lysis", p.ReplicateLysisPct)
			}
			if want := (tc.wells[0].Readings[0] + tc.wells[0].Readings[len(tc.wells[0].Readings)-1]) / 2; p.Mean != want {
				t.Errorf("mean: got %g, want %g (raw means are kept on invalid plates)", p.Mean, want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	ok := []Wells{{10, []float64{500}}}
	tests := []struct {
		name  string
		kind  Kind
		s, m  []float64
		wells []Wells
		qc    QC
		field string
	}{
		{"no wells", Release, []float64{1}, []float64{2}, nil, QC{}, "points"},
		{"no spontaneous", Release, nil, []float64{2}, ok, QC{}, "spontaneous"},
		{"no maximum", Release, []float64{1}, nil, ok, QC{}, "maximum"},
		{"empty readings", Release, []float64{1}, []float64{2}, []Wells{{10, nil}}, QC{}, "points[0].readings"},
		{"zero ratio", Release, []float64{1}, []float64{2}, []Wells{{0, []float64{1}}}, QC{}, "points[0].et_ratio"},
		{"NaN ratio", Release, []float64{1}, []float64{2}, []Wells{{math.NaN(), []float64{1}}}, QC{}, "points[0].et_ratio"},
		{"NaN reading", Release, []float64{1}, []float64{2}, []Wells{{10, []float64{1, math.NaN()}}}, QC{}, "points[0].readings[1]"},
		{"Inf maximum", Release, []float64{1}, []float64{math.Inf(1)}, ok, QC{}, "maximum[0]"},
		{"huge reading", Release, []float64{1e16}, []float64{2}, ok, QC{}, "spontaneous[0]"},
		{"flow above 100", DeadFraction, []float64{10}, nil, []Wells{{10, []float64{101}}}, QC{}, "points[0].readings[0]"},
		{"flow negative", DeadFraction, []float64{-1}, nil, []Wells{{10, []float64{50}}}, QC{}, "spontaneous[0]"},
		{"beads negative count", CountingBeads, []float64{4000}, nil, []Wells{{10, []float64{-1}}}, QC{}, "points[0].readings[0]"},
		{"beads no spontaneous", CountingBeads, nil, nil, []Wells{{10, []float64{1}}}, QC{}, "spontaneous"},
		{"unknown kind", Kind(7), []float64{1}, []float64{2}, ok, QC{}, "kind"},
		{"negative threshold", Release, []float64{1}, []float64{2}, ok, QC{CVWarnPct: -1}, "qc.cv_warn_pct"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := SpecificLysis(tc.kind, tc.s, tc.m, tc.wells, tc.qc)
			if err == nil {
				t.Fatalf("got %+v, want an error", res)
			}
			if clink.ErrorCode(err) != clink.EINVALID {
				t.Errorf("code: got %q, want %q", clink.ErrorCode(err), clink.EINVALID)
			}
			fields := clink.ErrorFields(err)
			if len(fields) == 0 || fields[0].Field != tc.field {
				t.Errorf("fields: got %v, want first %q", fields, tc.field)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("message %q does not name %q", err.Error(), tc.field)
			}
		})
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{Release: "release", DeadFraction: "dead fraction", CountingBeads: "counting beads", Kind(9): "Kind(9)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String(): got %q, want %q", int(k), got, want)
		}
	}
}
