package report

import (
	"strings"
	"testing"

	"github.com/clink-consortium/clink/gmp"
)

// The DIN of gmp.md §2.4's example, "G123417654321" with check character A.
func sampleDIN(tb testing.TB) gmp.DIN {
	tb.Helper()
	d, err := gmp.ParseDIN("G123417654321")
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

func TestBagLabel(t *testing.T) {
	l := BagLabel{
		DIN:         sampleDIN(t),
		ProductCode: "S1234V00",
		Product:     "NK cells, expanded, fresh",
		Dose:        "2.0E8 NK cells in 100 mL",
		Expiry:      "2026-12-09 18:00 CET",
		COI:         "COI-7F3K-22",
	}
	b, err := l.Render()
	if err != nil {
		t.Fatal(err)
	}
	checkXref(t, b)
	txt := pdftotext(t, b)
	for _, want := range []string{"G1234 17 654321", "S1234V00", "NK cells, expanded, fresh", "2.0E8 NK cells in 100 mL", "2026-12-09 18:00 CET", "COI-7F3K-22"} {
		if !strings.Contains(txt, want) {
			t.Errorf("label text lacks %q:\n%s", want, txt)
		}
	}
	// The boxed check character follows the grouped DIN on the same line.
	if !strings.Contains(strings.Join(strings.Fields(txt), " "), "G1234 17 654321 A") {
		t.Errorf("label text lacks the DIN followed by its check character A:\n%s", txt)
	}
	// The Type 3 flag (70) is bar-code data only, never eye-readable text (gmp.md §2.8).
	if strings.Contains(txt, "G12341765432170") {
		t.Errorf("label shows the bar-code data with the Type 3 flag as text")
	}
	// The bar code itself: the symbol of "=G12341765432170" is drawn as one filled
	// rectangle per bar.
	// The Data Matrix of the same data adds one filled square per dark module.
	mods, _ := Code128Modules("=G12341765432170")
	dm, err := DataMatrix("=G12341765432170")
	if err != nil {
		t.Fatal(err)
	}
	dark := 0
	for _, row := range dm {
		for _, d := range row {
			if d {
				dark++
			}
		}
	}
	if got, want := strings.Count(string(b), " re f\n"), (len(mods)+1)/2+dark; got != want {
		t.Errorf("got %d filled rectangles, want %d bars + %d data matrix modules", got, (len(mods)+1)/2, dark)
	}
	// The symbol's lower-left module (finder corner) sits at the label's right margin: 100 mm
	// minus 6 mm minus 16 modules of 0.5 mm, level with the bars' bottom at 100 − 6 − 15 mm.
	if len(dm) != 16 {
		t.Errorf("got a %d×%d data matrix for 16 characters, want 16×16", len(dm), len(dm))
	}
	corner := num(86*MM) + " " + num(79*MM) + " " + num(0.5*MM) + " " + num(0.5*MM) + " re f\n"
	if !strings.Contains(string(b), corner) {
		t.Errorf("label lacks the data matrix corner module %q", corner)
	}

	if _, err := (BagLabel{}).Render(); err == nil {
		t.Errorf("label without DIN: got no error, want one")
	}
	l.Flags = "71" // a Type 3 flag with the wrong check value
	if _, err := l.Render(); err == nil {
		t.Errorf("label with flag 71: got no error, want one")
	}
}

func sampleCertificate(tb testing.TB) Certificate {
	return Certificate{
		Lot:     "NK-2026-0042",
		DIN:     sampleDIN(tb),
		Product: "Expanded NK cells",
		Results: []Result{
			{Test: "Viability", Specification: ">= 70 %", Value: "92 %", Verdict: "pass"},
			{Test: "NK purity (CD3-CD56+)", Specification: ">= 70 %", Value: "88.5 %", Verdict: "pass", Corrected: true},
			{Test: "CD3+ cells", Specification: "<= 1.0E5 /kg", Value: "3.2E4 /kg", Verdict: "pass"},
			{Test: "Endotoxin", Specification: "<= 5 EU/kg", Value: "0.8 EU/kg", Verdict: "pass"},
			{Test: "Sterility", Specification: "negative", Value: "pending", Verdict: "conditional"},
		},
		Signatures: []Signature{
			{Name: "Dr. Ana Müller", Meaning: "reviewed", Time: "2026-12-07 17:02 CET"},
			{Name: "Dr. Jon Ødegaard", Meaning: "released", Time: "2026-12-07 18:40 CET"},
		},
	}
}

func TestCertificate(t *testing.T) {
	c := sampleCertificate(t)
	b, err := c.Render()
	if err != nil {
		t.Fatal(err)
	}
	checkXref(t, b)
	txt := pdftotext(t, b)
	lines := strings.Split(txt, "\n")
	// Each wanted row's words must appear, in order, on one line of the layout text.
	rows := [][]string{
		{"Certificate of analysis"},
		{"Lot", "NK-2026-0042"},
		{"DIN", "G1234 17 654321 A"},
		{"Viability", ">= 70 %", "92 %", "pass"},
		{"NK purity (CD3-CD56+)", ">= 70 %", "88.5 %", "pass", "changed since original entry"},
		{"CD3+ cells", "<= 1.0E5 /kg", "3.2E4 /kg", "pass"},
		{"Endotoxin", "<= 5 EU/kg", "0.8 EU/kg", "pass"},
		{"Sterility", "negative", "pending", "conditional"},
		{"Dr. Ana Müller", "reviewed", "2026-12-07 17:02 CET"},
		{"Dr. Jon Ødegaard", "released", "2026-12-07 18:40 CET"},
	}
	for _, row := range rows {
		if !anyLineHas(lines, row) {
			t.Errorf("no line of the certificate holds %q in order:\n%s", row, txt)
		}
	}
	if got := strings.Count(txt, "changed since original entry"); got != 1 {
		t.Errorf("got %d \"changed\" flags, want 1", got)
	}

	c.Results = make([]Result, maxCertRows+1)
	if _, err := c.Render(); err == nil {
		t.Errorf("%d results: got no error, want one", maxCertRows+1)
	}
}

func anyLineHas(lines, parts []string) bool {
	for _, l := range lines {
		rest, ok := l, true
		for _, p := range parts {
			i := strings.Index(rest, p)
			if i < 0 {
				ok = false
				break
			}
			rest = rest[i+len(p):]
		}
		if ok {
			return true
		}
	}
	return false
}
