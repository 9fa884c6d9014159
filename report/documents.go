package report

import (
	"fmt"

	"github.com/clink-consortium/clink/gmp"
)

// BagLabel is the content of one bag label (gmp.md §2.8; issue 8 "Documents"). All text fields
// are printed as given, so dates and doses arrive already formatted by the caller.
type BagLabel struct {
	DIN gmp.DIN
	// Flags are the two flag characters of the DIN bar code (data structure 001); empty means
	// the DIN's Type 3 flag, which carries its check value and is never printed as text.
	Flags       string
	ProductCode string // e.g. an ISBT 128 product code "S1234V00"
	Product     string // e.g. "NK cells, expanded, fresh"
	Dose        string // e.g. "2.0E8 NK cells in 100 mL"
	Expiry      string // e.g. "2026-12-09 18:00 CET"
	COI         string // the patient's chain-of-identity code
}

// LabelSize is the side of the square ISBT 128 container label: 100 mm (gmp.md §2.8).
const LabelSize = 100 * MM

// Render returns the label as a one-page PDF, 100 mm square: the DIN in Code 128 at a 0.25 mm
// module above its eye-readable form "G1234 17 654321" with the check character in a box, then
// product, product code, dose, expiry and chain-of-identity code. The layout is CLINK's, not the
// licensed ST-004 one: sites configure real templates. The same bar-code data are drawn as a
// Data Matrix ECC 200 symbol (0.5 mm module) at the right, its bottom level with the bars.
func (l BagLabel) Render() ([]byte, error) {
	if l.DIN.IsZero() {
		return nil, fmt.Errorf("report: bag label: din is missing")
	}
	ff := l.Flags
	if ff == "" {
		ff = l.DIN.Type3Flag()
	}
	data, err := l.DIN.Data(ff)
	if err != nil {
		return nil, fmt.Errorf("report: bag label: %w", err)
	}
	d := New()
	d.Title = "Bag label " + l.DIN.Keyboard()
	p := d.AddPage(LabelSize, LabelSize)
	const module = 0.25 * MM
	mods, err := Code128Modules(data)
	if err != nil {
		return nil, fmt.Errorf("report: bag label: %w", err)
	}
	n := 0
	for _, m := range mods {
		n += m
	}
	if float64(n+20)*module > LabelSize-8*MM {
		return nil, fmt.Errorf("report: bag label: bar code of %d modules does not fit", n)
	}
	top := LabelSize - 6*MM
	if _, err := p.Code128(6*MM, top-15*MM, module, 15*MM, data); err != nil {
		return nil, fmt.Errorf("report: bag label: %w", err)
	}
	const dmModule = 0.5 * MM
	dm, err := DataMatrix(data)
	if err != nil {
		return nil, fmt.Errorf("report: bag label: %w", err)
	}
	dmSide := float64(len(dm)) * dmModule
	dmX := LabelSize - 6*MM - dmSide
	// Both quiet zones (10 modules of the Code 128, 1 of the Data Matrix) stay free.
	if 6*MM+float64(n+10)*module > dmX-dmModule {
		return nil, fmt.Errorf("report: bag label: bar code of %d modules leaves no room for the data matrix", n)
	}
	if _, err := p.DataMatrix(dmX, top-15*MM, dmModule, data); err != nil {
		return nil, fmt.Errorf("report: bag label: %w", err)
	}
	// Eye-readable DIN and the boxed check character.
	y := top - 21*MM
	grouped := l.DIN.Grouped()
	p.Text(6*MM, y, CourierBold, 12, grouped)
	kx := 6*MM + float64(len(grouped)+1)*0.6*12 // Courier advances 600/1000 em per character
	p.StrokeRect(kx-1.5, y-2.5, 0.6*12+3, 12+1, 0.8)
	p.Text(kx, y, CourierBold, 12, string(l.DIN.Check()))

	lines := []struct {
		label, value string
	}{
		{"Product", l.Product},
		{"Product code", l.ProductCode},
		{"Dose", l.Dose},
		{"Expiry", l.Expiry},
		{"COI", l.COI},
	}
	y -= 10 * MM
	for _, ln := range lines {
		p.Text(6*MM, y, Helvetica, 7, ln.label)
		p.Text(30*MM, y, HelveticaBold, 9, ln.value)
		y -= 6 * MM
	}
	p.Line(3*MM, 3*MM, LabelSize-3*MM, 3*MM, 0.5)
	return d.Bytes()
}

// Result is one line of a certificate of analysis.
type Result struct {
	Test          string // e.g. "Viability"
	Specification string // e.g. ">= 70 %"
	Value         string // e.g. "92 %"
	Verdict       string // e.g. "pass", "fail", "pending"
	// Corrected marks a value changed since its original entry (issue 8): the certificate
	// prints "changed since original entry" beside it.
	Corrected bool
}

// Signature is one electronic signature's manifestation (21 CFR 11.50, gmp.md §3 S1): printed
// name, date and time with time zone, and meaning.
type Signature struct {
	Name, Meaning, Time string
}

// Certificate is a certificate of analysis for one batch.
type Certificate struct {
	Title      string // defaults to "Certificate of analysis"
	Lot        string
	DIN        gmp.DIN
	Product    string
	Results    []Result
	Signatures []Signature
	// CreationDate, when set, is the PDF creation date ("D:20261207184200Z").
	CreationDate string
}

// maxCertRows is how many result rows fit the single A4 page.
const maxCertRows = 30

// Render returns the certificate as a one-page A4 PDF: header with lot, DIN (with its check
// character) and product; a table of test, specification, result and verdict; and a signature
// block with one line per signature. More than 30 results or 6 signatures is an error, as
// the page does not yet flow onto a second one.
func (c Certificate) Render() ([]byte, error) {
	if len(c.Results) > maxCertRows {
		return nil, fmt.Errorf("report: certificate: %d results, at most %d fit the page", len(c.Results), maxCertRows)
	}
	if len(c.Signatures) > 6 {
		return nil, fmt.Errorf("report: certificate: %d signatures, at most 6 fit the page", len(c.Signatures))
	}
	title := c.Title
	if title == "" {
		title = "Certificate of analysis"
	}
	d := New()
	d.Title = title
	d.CreationDate = c.CreationDate
	p := d.AddPage(A4Width, A4Height)
	left := 20 * MM
	y := A4Height - 25*MM
	p.Text(left, y, HelveticaBold, 16, title)
	y -= 12 * MM
	din := "-"
	if !c.DIN.IsZero() {
		din = c.DIN.Grouped() + " " + string(c.DIN.Check())
	}
	for _, h := range [][2]string{{"Lot", c.Lot}, {"DIN", din}, {"Product", c.Product}} {
		p.Text(left, y, Helvetica, 10, h[0])
		p.Text(left+30*MM, y, HelveticaBold, 10, h[1])
		y -= 6 * MM
	}
	y -= 6 * MM
	cols := []float64{left, left + 55*MM, left + 90*MM, left + 115*MM}
	p.SetFill(0.85, 0.85, 0.85)
	p.FillRect(left-2, y-2.2*MM, A4Width-2*left+4, 6*MM)
	p.SetFill(0, 0, 0)
	for i, h := range []string{"Test", "Specification", "Result", "Verdict"} {
		p.Text(cols[i], y, HelveticaBold, 10, h)
	}
	y -= 7 * MM
	for _, r := range c.Results {
		p.Text(cols[0], y, Helvetica, 10, r.Test)
		p.Text(cols[1], y, Helvetica, 10, r.Specification)
		p.Text(cols[2], y, Helvetica, 10, r.Value)
		p.Text(cols[3], y, Helvetica, 10, r.Verdict)
		if r.Corrected {
			p.Text(cols[3]+20*MM, y, Helvetica, 7, "changed since original entry")
		}
		p.Line(left-2, y-2.2*MM, A4Width-left+2, y-2.2*MM, 0.3)
		y -= 6 * MM
	}
	y -= 12 * MM
	p.Text(left, y, HelveticaBold, 11, "Signatures")
	y -= 14 * MM
	for _, s := range c.Signatures {
		p.Line(left, y+4*MM, left+80*MM, y+4*MM, 0.5)
		p.Text(left, y, Helvetica, 10, s.Name)
		p.Text(left+85*MM, y, Helvetica, 10, s.Meaning)
		p.Text(left+120*MM, y, Helvetica, 10, s.Time)
		y -= 14 * MM
	}
	return d.Bytes()
}
