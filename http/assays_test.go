package http_test

import (
	"math"
	"testing"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/client"
)

func approx(got *float64, want float64) bool {
	return got != nil && math.Abs(*got-want) < 1e-9*math.Max(1, math.Abs(want))
}

// TestAssays records assays through the API and checks the embedded lysis against the worked
// examples of domain.md: §6.1 (51Cr release, S = 350, M = 2,500, E = 1,400 cpm: spontaneous
// 14 %, lysis 100 × 1,050/2,150 = 48.84 %) and §6.2 (flow, D_T = 8 %, D_ET = 52 %:
// 100 × 44/92 = 47.83 %).
func TestAssays(t *testing.T) {
	f := newFixture(t)
	cr := must(f.c.CreateAssay(f.ctx, f.culture.ID, &clink.Assay{Day: 14, Target: clink.TargetK562, Method: clink.MethodCr51,
		TargetsPerWell: 5000, DurationHours: 4,
		Points:      []clink.AssayPoint{{ETRatio: 10, Readings: []float64{1400, 1400, 1400}}},
		Spontaneous: []float64{350, 350, 350}, Maximum: []float64{2500, 2500, 2500}}))(t)
	wantCreated(t, f.srv, "/api/v1/cultures/", "/api/v1/assays/"+itoa(cr.ID))
	if cr.Lysis == nil {
		t.Fatalf("got no lysis (%s), want one", cr.LysisError)
	}
	if !approx(cr.Lysis.SpontaneousPct, 14) {
		t.Errorf("spontaneous: got %v, want 14 %%", cr.Lysis.SpontaneousPct)
	}
	if len(cr.Lysis.Points) != 1 || !approx(cr.Lysis.Points[0].SpecificLysisPct, 100*1050.0/2150) {
		t.Errorf("lysis: got %+v, want one point at %g %%", cr.Lysis.Points, 100*1050.0/2150)
	}
	flow := must(f.c.CreateAssay(f.ctx, f.culture.ID, &clink.Assay{Day: 14, Target: clink.TargetRaji, Method: clink.MethodFlow,
		Points:      []clink.AssayPoint{{ETRatio: 5, Readings: []float64{52, 52}}},
		Spontaneous: []float64{8, 8}}))(t)
	got := must(f.c.GetAssay(f.ctx, flow.ID))(t)
	if got.Lysis == nil || len(got.Lysis.Points) != 1 || !approx(got.Lysis.Points[0].SpecificLysisPct, 100*44.0/92) {
		t.Errorf("flow lysis: got %+v, want %g %%", got.Lysis, 100*44.0/92)
	}
	if got.Culture != f.culture.Code || got.Site != "ZGZ" {
		t.Errorf("got culture %q site %q, want %q ZGZ", got.Culture, got.Site, f.culture.Code)
	}

	refused := []struct {
		name  string
		a     clink.Assay
		field string
	}{
		{"release without maximum", clink.Assay{Day: 1, Target: clink.TargetK562, Method: clink.MethodCalcein,
			Points: []clink.AssayPoint{{ETRatio: 10, Readings: []float64{1}}}, Spontaneous: []float64{1}}, "maximum"},
		{"flow reading above 100", clink.Assay{Day: 1, Target: clink.TargetK562, Method: clink.MethodFlow,
			Points: []clink.AssayPoint{{ETRatio: 10, Readings: []float64{130}}}, Spontaneous: []float64{5}}, "points[0].readings[0]"},
		{"reading no instrument gives", clink.Assay{Day: 1, Target: clink.TargetK562, Method: clink.MethodCr51,
			Points: []clink.AssayPoint{{ETRatio: 10, Readings: []float64{1e300}}}, Spontaneous: []float64{5}, Maximum: []float64{10}}, "points[0].readings[0]"},
		{"custom target without name", clink.Assay{Day: 1, Target: clink.TargetCustom, Method: clink.MethodFlow,
			Points: []clink.AssayPoint{{ETRatio: 10, Readings: []float64{30}}}, Spontaneous: []float64{5}}, "target_name"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.c.CreateAssay(f.ctx, f.culture.ID, &tc.a)
			wantProblem(t, err, 422, tc.field)
		})
	}

	tests := []struct {
		name string
		q    client.AssayQuery
		want int
	}{
		{"all", client.AssayQuery{}, 2},
		{"site", client.AssayQuery{Site: "ZGZ"}, 2},
		{"other site", client.AssayQuery{Site: "BCN"}, 0},
		{"culture code", client.AssayQuery{Culture: f.culture.Code}, 2},
		{"culture id", client.AssayQuery{Culture: itoa(f.culture.ID), Limit: 1}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := must(f.c.ListAssays(f.ctx, tc.q))(t)
			if l.Total != tc.want {
				t.Errorf("got total %d, want %d", l.Total, tc.want)
			}
			for _, a := range l.Items {
				if a.Lysis == nil {
					t.Errorf("assay %d: got no lysis, want one", a.ID)
				}
			}
		})
	}
	if l := must(f.c.ListCultureAssays(f.ctx, f.culture.ID, 1, 1))(t); l.Total != 2 || len(l.Items) != 1 {
		t.Errorf("culture assays: got %d of %d, want 1 of 2", len(l.Items), l.Total)
	}
	_, err := f.c.GetAssay(f.ctx, 999)
	wantProblem(t, err, 404, "")
}
