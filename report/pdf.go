// Package report writes CLINK's printed documents: a small PDF 1.4 writer, Code 128 bar codes
// for ISBT 128 data, and the layouts of bag labels and certificates of analysis built on them.
//
// The PDF writer is deliberately small and needs nothing beyond the standard library: pages of
// any size, text in the standard Type 1 fonts every PDF reader carries (so no font embedding),
// filled and stroked rectangles and lines. Output is deterministic: the same calls give the same
// bytes, and no date is written unless the caller sets one, so a document can be hashed and
// compared in tests and in the audit trail.
package report

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Page sizes and the millimetre, in PDF points (1/72 inch).
const (
	MM       = 72 / 25.4 // one millimetre in points
	A4Width  = 595.2756  // 210 mm
	A4Height = 841.8898  // 297 mm
)

// Font is one of the standard PDF fonts that every reader provides without embedding.
type Font int

// The fonts a Page can draw text in. Courier is the fixed-pitch font for codes (its 0/O and
// 1/I differ, gmp.md §2.8); Helvetica and Helvetica-Bold are for prose and headings.
const (
	Helvetica Font = iota
	HelveticaBold
	Courier
	CourierBold
	numFonts
)

var fontNames = [numFonts]string{"Helvetica", "Helvetica-Bold", "Courier", "Courier-Bold"}

// String returns the PostScript name of the font.
func (f Font) String() string {
	if f < 0 || f >= numFonts {
		return "Font(" + strconv.Itoa(int(f)) + ")"
	}
	return fontNames[f]
}

// Document is a PDF document under construction. The zero value is not usable: call New.
type Document struct {
	// Title, Author and Subject go into the document information dictionary when not empty.
	Title, Author, Subject string
	// CreationDate, when not empty, is written as given: a PDF date such as
	// "D:20261207184200Z". It is never filled in from the clock, to keep output deterministic.
	CreationDate string
	// Compress deflates the page content streams (compress/zlib, deterministic).
	Compress bool

	pages []*Page
}

// New returns an empty document.
func New() *Document { return &Document{} }

// AddPage appends a page of the given width and height in points and returns it. Non-finite or
// non-positive sizes are reported by Write, not here, so drawing code stays free of checks.
func (d *Document) AddPage(width, height float64) *Page {
	p := &Page{w: width, h: height}
	d.pages = append(d.pages, p)
	return p
}

// Pages returns the number of pages.
func (d *Document) Pages() int { return len(d.pages) }

// Page is one page. Coordinates are in points with the origin at the lower-left corner, as in
// PDF itself; multiply millimetres by MM.
type Page struct {
	w, h  float64
	buf   bytes.Buffer
	fonts [numFonts]bool
	err   error
}

// Size returns the page's width and height in points.
func (p *Page) Size() (w, h float64) { return p.w, p.h }

// num formats a coordinate compactly and deterministically: at most 3 decimals, no exponent.
func num(v float64) string {
	s := strconv.FormatFloat(v, 'f', 3, 64)
	s = strings.TrimRight(s, "0")
	s = strings.TrimSuffix(s, ".")
	if s == "-0" || s == "" {
		s = "0"
	}
	return s
}

func (p *Page) finite(vs ...float64) bool {
	for _, v := range vs {
		if v != v || v > 1e9 || v < -1e9 {
			if p.err == nil {
				p.err = fmt.Errorf("report: coordinate %v is not finite or out of range", v)
			}
			return false
		}
	}
	return true
}

// Text draws s with its baseline starting at (x, y) in the given font and size (points).
//
// Text is encoded in WinAnsiEncoding (Windows code page 1252), which covers ASCII and the
// Western European letters; any character outside it (Greek µ is inside, Greek α is not, nor
// are CJK characters or emoji) is replaced by '?'. Control characters are replaced too.
func (p *Page) Text(x, y float64, f Font, size float64, s string) {
	if f < 0 || f >= numFonts {
		if p.err == nil {
			p.err = fmt.Errorf("report: font %d unknown", int(f))
		}
		return
	}
	if !p.finite(x, y, size) {
		return
	}
	p.fonts[f] = true
	fmt.Fprintf(&p.buf, "BT /F%d %s Tf %s %s Td %s Tj ET\n", int(f)+1, num(size), num(x), num(y), pdfString(s))
}

// TextRotated draws s like Text, turned by 90° clockwise about (x, y), as ISBT 128 prints the
// Type 1 and 2 flags (gmp.md §2.8).
func (p *Page) TextRotated(x, y float64, f Font, size float64, s string) {
	if f < 0 || f >= numFonts {
		if p.err == nil {
			p.err = fmt.Errorf("report: font %d unknown", int(f))
		}
		return
	}
	if !p.finite(x, y, size) {
		return
	}
	p.fonts[f] = true
	fmt.Fprintf(&p.buf, "BT /F%d %s Tf 0 -1 1 0 %s %s Tm %s Tj ET\n", int(f)+1, num(size), num(x), num(y), pdfString(s))
}

// SetFill sets the fill colour for later Text and FillRect calls; r, g, b run from 0 to 1 and
// are clamped.
func (p *Page) SetFill(r, g, b float64) {
	fmt.Fprintf(&p.buf, "%s %s %s rg\n", num(clamp01(r)), num(clamp01(g)), num(clamp01(b)))
}

// SetStroke sets the colour of later lines and stroked rectangles.
func (p *Page) SetStroke(r, g, b float64) {
	fmt.Fprintf(&p.buf, "%s %s %s RG\n", num(clamp01(r)), num(clamp01(g)), num(clamp01(b)))
}

func clamp01(v float64) float64 {
	if !(v > 0) { // NaN too
		return 0
	}
	if v > 1 {
		return 1
	}
	return v
}

// FillRect fills the rectangle with lower-left corner (x, y), width w and height h.
func (p *Page) FillRect(x, y, w, h float64) {
	if p.finite(x, y, w, h) {
		fmt.Fprintf(&p.buf, "%s %s %s %s re f\n", num(x), num(y), num(w), num(h))
	}
}

// StrokeRect draws the outline of a rectangle with a line of the given width.
func (p *Page) StrokeRect(x, y, w, h, lineWidth float64) {
	if p.finite(x, y, w, h, lineWidth) {
		fmt.Fprintf(&p.buf, "%s w %s %s %s %s re S\n", num(lineWidth), num(x), num(y), num(w), num(h))
	}
}

// Line draws a straight line from (x1, y1) to (x2, y2).
func (p *Page) Line(x1, y1, x2, y2, lineWidth float64) {
	if p.finite(x1, y1, x2, y2, lineWidth) {
		fmt.Fprintf(&p.buf, "%s w %s %s m %s %s l S\n", num(lineWidth), num(x1), num(y1), num(x2), num(y2))
	}
}

// winAnsiHigh maps the characters of code points 0x80–0x9F of WinAnsiEncoding (PDF 1.7
// Annex D.2) to their bytes.
var winAnsiHigh = map[rune]byte{
	'€': 0x80, '‚': 0x82, 'ƒ': 0x83, '„': 0x84, '…': 0x85, '†': 0x86, '‡': 0x87, 'ˆ': 0x88,
	'‰': 0x89, 'Š': 0x8A, '‹': 0x8B, 'Œ': 0x8C, 'Ž': 0x8E, '‘': 0x91, '’': 0x92, '“': 0x93,
	'”': 0x94, '•': 0x95, '–': 0x96, '—': 0x97, '˜': 0x98, '™': 0x99, 'š': 0x9A, '›': 0x9B,
	'œ': 0x9C, 'ž': 0x9E, 'Ÿ': 0x9F,
}

// winAnsi returns the WinAnsiEncoding byte of r, '?' when it has none.
func winAnsi(r rune) byte {
	switch {
	case r >= 0x20 && r <= 0x7E:
		return byte(r)
	case r >= 0xA0 && r <= 0xFF:
		return byte(r)
	}
	if b, ok := winAnsiHigh[r]; ok {
		return b
	}
	return '?'
}

// pdfString returns s as a PDF literal string in WinAnsiEncoding.
func pdfString(s string) string {
	var b strings.Builder
	b.WriteByte('(')
	for _, r := range s {
		c := winAnsi(r)
		switch c {
		case '(', ')', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			if c >= 0x80 {
				fmt.Fprintf(&b, "\\%03o", c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte(')')
	return b.String()
}

// infoString writes a document-information string; same encoding rules as page text.
func infoString(s string) string { return pdfString(s) }

// Bytes returns the document as PDF bytes.
func (d *Document) Bytes() ([]byte, error) {
	var b bytes.Buffer
	if err := d.Write(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Write writes the document as a PDF 1.4 file to w. It fails when the document has no pages,
// a page size is not positive and finite, or a drawing call was given a non-finite value.
//
// Objects: 1 catalog, 2 page tree, 3–6 the four fonts, then for each page its page object and
// content stream, and last the information dictionary (always present: it names the producer).
func (d *Document) Write(w io.Writer) error {
	if len(d.pages) == 0 {
		return errors.New("report: document has no pages")
	}
	for i, p := range d.pages {
		if !(p.w > 0 && p.w < 14400 && p.h > 0 && p.h < 14400) {
			return fmt.Errorf("report: page %d: size %vx%v points must be positive and at most 14400", i+1, p.w, p.h)
		}
		if p.err != nil {
			return fmt.Errorf("report: page %d: %w", i+1, p.err)
		}
	}
	var out bytes.Buffer
	var offsets []int // offsets[i] is the offset of object i+1
	obj := func(body string) {
		offsets = append(offsets, out.Len())
		fmt.Fprintf(&out, "%d 0 obj\n%s\nendobj\n", len(offsets), body)
	}
	out.WriteString("%PDF-1.4\n%\xE2\xE3\xCF\xD3\n")

	const firstPage = 3 + int(numFonts)
	kids := make([]string, len(d.pages))
	for i := range d.pages {
		kids[i] = fmt.Sprintf("%d 0 R", firstPage+2*i)
	}
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(d.pages)))
	for f := Font(0); f < numFonts; f++ {
		obj(fmt.Sprintf("<< /Type /Font /Subtype /Type1 /BaseFont /%s /Encoding /WinAnsiEncoding >>", f))
	}
	for i, p := range d.pages {
		var fonts []string
		for f := Font(0); f < numFonts; f++ {
			if p.fonts[f] {
				fonts = append(fonts, fmt.Sprintf("/F%d %d 0 R", int(f)+1, 3+int(f)))
			}
		}
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %s %s] /Resources << /Font << %s >> /ProcSet [/PDF /Text] >> /Contents %d 0 R >>",
			num(p.w), num(p.h), strings.Join(fonts, " "), firstPage+2*i+1))
		content := p.buf.Bytes()
		filter := ""
		if d.Compress {
			var z bytes.Buffer
			zw := zlib.NewWriter(&z)
			zw.Write(content) // writes to a bytes.Buffer cannot fail
			zw.Close()
			content = z.Bytes()
			filter = " /Filter /FlateDecode"
		}
		obj(fmt.Sprintf("<< /Length %d%s >>\nstream\n%s\nendstream", len(content), filter, content))
	}
	var entries []string
	for _, e := range []struct{ key, val string }{
		{"Title", d.Title}, {"Author", d.Author}, {"Subject", d.Subject},
		{"Producer", "CLINK report"}, {"CreationDate", d.CreationDate},
	} {
		if e.val != "" {
			entries = append(entries, "/"+e.key+" "+infoString(e.val))
		}
	}
	obj("<< " + strings.Join(entries, " ") + " >>")
	info := fmt.Sprintf(" /Info %d 0 R", len(offsets))

	xref := out.Len()
	fmt.Fprintf(&out, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, off := range offsets {
		fmt.Fprintf(&out, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&out, "trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, info, xref)
	_, err := w.Write(out.Bytes())
	return err
}
