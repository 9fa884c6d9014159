package http

import (
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/clink-consortium/clink"
)

func TestFormatNumbers(t *testing.T) {
	seven := 7.0
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"num small decimal", fmtNum(0.0191), "0.0191"},
		{"num two decimals", fmtNum(1.8249), "1.82"},
		{"num whole", fmtNum(752.4), "752"},
		{"num thousands keep their digits", fmtNum(12212.0), "12212"},
		{"num negative", fmtNum(-3.14159), "-3.14"},
		{"num zero", fmtNum(0.0), "0"},
		{"num int", fmtNum(42), "42.0"},
		{"num large", fmtNum(4.39e8), "4.39×10⁸"},
		{"num tiny", fmtNum(0.00123), "1.23×10⁻³"},
		{"num NaN", fmtNum(math.NaN()), "—"},
		{"num Inf", fmtNum(math.Inf(1)), "—"},
		{"num nil pointer", fmtNum((*float64)(nil)), "—"},
		{"num pointer", fmtNum(&seven), "7.00"},
		{"num other type", fmtNum("7"), "—"},
		{"sci rounds into the next decade", fmtSci(9.996e6), "1.00×10⁷"},
		{"sci", fmtSci(2.1e7), "2.10×10⁷"},
		{"pct", fmtPct(92.46), "92.5 %"},
		{"pct nil", fmtPct((*float64)(nil)), "—"},
		{"fixed", fmtFixed(2, 0.5), "0.50"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

func TestObservationDays(t *testing.T) {
	tests := []struct {
		name string
		p    clink.Protocol
		want []int
	}{
		{"feeds and the last day", clink.Protocol{DurationDays: 14, Components: []clink.ProtocolComponent{
			{Days: []int{0, 3, 6, 9, 12}}, {Days: []int{0}}}}, []int{0, 3, 6, 9, 12, 14}},
		{"restimulations", clink.Protocol{DurationDays: 21, RestimulationDays: []int{7, 14},
			Components: []clink.ProtocolComponent{{Days: []int{0, 7, 14}}}}, []int{0, 7, 14, 21}},
		{"no components", clink.Protocol{DurationDays: 7}, []int{0, 7}},
		{"days outside the culture are ignored", clink.Protocol{DurationDays: 5,
			Components: []clink.ProtocolComponent{{Days: []int{-1, 2, 9}}}}, []int{0, 2, 5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := observationDays(&tc.p); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseNumber(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"2.5e7", 2.5e7, true}, {"25000000", 2.5e7, true}, {"92,5", 92.5, true}, {"-1", -1, true},
		{"1,000.5", 0, false}, {"NaN", 0, false}, {"Inf", 0, false}, {"", 0, false}, {"12 %", 0, false},
	} {
		got, err := parseNumber(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("parseNumber(%q): got %g, %v, want %g (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// FuzzObservationForm reads arbitrary form bodies as an observation: reading never panics,
// every field it cannot read is named, and the values it keeps are the ones typed.
func FuzzObservationForm(f *testing.F) {
	for _, seed := range []string{
		"day=7&viable_cells=2.5e7&viability_pct=92%2C5&nk_pct=80&t_pct=5&split_fraction_kept=0.5&markers.CD16=80",
		"day=-1&viable_cells=NaN&viability_pct=134",
		"day=1e3&viable_cells=&markers.KIR2DL2%2F3=x",
		"%zz=1&day", "",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptestRequest(body)
		if err := r.ParseForm(); err != nil {
			return
		}
		fm := newForm()
		o := &clink.Observation{}
		fe := readObservationForm(r, &fm, o)
		for _, e := range fe {
			if e.Field == "" || e.Message == "" {
				t.Errorf("a field error without a field or a message: %+v", e)
			}
		}
		if got, want := fm.Values["day"], strings.TrimSpace(r.PostForm.Get("day")); got != want {
			t.Errorf("day kept as %q, typed %q", got, want)
		}
		_ = formErrors(fe, o.Validate())
	})
}

func httptestRequest(body string) *http.Request {
	r, _ := http.NewRequest("POST", "/cultures/1/observations", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}
