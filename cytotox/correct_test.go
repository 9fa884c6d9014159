package cytotox

import (
	"math"
	"testing"
)

// TestCorrectET checks domain.md §6.4: "10:1" of total cells from a 60 %-pure culture is 6:1
// NK:target (viability 1); and the §6.5 worked example's nominal 1.25–20 for an 80 %-pure,
// fully viable culture are 1, 2, 4, 8, 16 NK per target.
func TestCorrectET(t *testing.T) {
	tests := []struct {
		nominal, viability, purity, want float64
	}{
		{10, 1, 0.6, 6},
		{1.25, 1, 0.8, 1},
		{20, 1, 0.8, 16},
		{10, 0.9, 0.5, 4.5},
		{5, 1, 1, 5},
	}
	for _, tc := range tests {
		got, err := CorrectET(tc.nominal, tc.viability, tc.purity)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("CorrectET(%g, %g, %g): got %g, want %g", tc.nominal, tc.viability, tc.purity, got, tc.want)
		}
	}
}

func TestCorrectETErrors(t *testing.T) {
	tests := []struct {
		name                       string
		nominal, viability, purity float64
		field                      string
	}{
		{"zero ratio", 0, 1, 0.6, "et_nominal"},
		{"NaN ratio", math.NaN(), 1, 0.6, "et_nominal"},
		{"Inf ratio", math.Inf(1), 1, 0.6, "et_nominal"},
		{"viability in percent", 10, 95, 0.6, "viability"},
		{"zero viability", 10, 0, 0.6, "viability"},
		{"purity in percent", 10, 1, 60, "nk_purity"},
		{"negative purity", 10, 1, -0.1, "nk_purity"},
		{"NaN purity", 10, 1, math.NaN(), "nk_purity"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CorrectET(tc.nominal, tc.viability, tc.purity)
			if err == nil {
				t.Fatalf("got %g, want an error", got)
			}
			checkInvalid(t, err, tc.field)
		})
	}
}
