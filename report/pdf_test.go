package report

import (
	"bytes"
	"math"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// pdftotext runs poppler's pdftotext on pdf and returns the text, in layout mode so table rows
// stay on one line. Without pdftotext the test skips, except under CI=true, where it fails.
func pdftotext(tb testing.TB, pdf []byte) string {
	tb.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("pdftotext (poppler-utils) not found, required under CI=true: %v", err)
		}
		tb.Skipf("pdftotext (poppler-utils) not found: %v", err)
	}
	cmd := exec.Command(bin, "-layout", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("pdftotext: %v: %s", err, stderr.String())
	}
	if stderr.Len() > 0 {
		tb.Errorf("pdftotext complained: %s", stderr.String())
	}
	return out.String()
}

// checkXref checks the cross-reference table independently of the writer: startxref points at
// "xref", and each in-use entry points at the start of "N 0 obj" for its own N.
func checkXref(tb testing.TB, pdf []byte) {
	tb.Helper()
	m := regexp.MustCompile(`startxref\n(\d+)\n%%EOF\n$`).FindSubmatch(pdf)
	if m == nil {
		tb.Fatalf("no startxref at the end")
	}
	off, _ := strconv.Atoi(string(m[1]))
	if !bytes.HasPrefix(pdf[off:], []byte("xref\n0 ")) {
		tb.Fatalf("startxref %d points at %q, want xref", off, pdf[off:min(off+10, len(pdf))])
	}
	lines := strings.Split(string(pdf[off:]), "\n")
	var n int
	if _, err := fmtSscan(lines[1], &n); err != nil {
		tb.Fatalf("xref subsection header %q: %v", lines[1], err)
	}
	if lines[2] != "0000000000 65535 f " {
		tb.Errorf("xref entry 0: got %q, want the free head", lines[2])
	}
	for i := 1; i < n; i++ {
		e := lines[2+i]
		if len(e)+1 != 20 || !strings.HasSuffix(e, " 00000 n ") {
			tb.Errorf("xref entry %d: got %q, want 20 bytes ending in \" 00000 n \"", i, e)
			continue
		}
		o, _ := strconv.Atoi(e[:10])
		want := strconv.Itoa(i) + " 0 obj\n"
		if !bytes.HasPrefix(pdf[o:], []byte(want)) {
			tb.Errorf("xref entry %d: offset %d holds %q, want %q", i, o, pdf[o:min(o+12, len(pdf))], want)
		}
	}
	if !bytes.Contains(pdf, []byte("/Size "+strconv.Itoa(n)+" ")) {
		tb.Errorf("trailer does not give /Size %d", n)
	}
}

func fmtSscan(s string, n *int) (int, error) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return 0, strconv.ErrSyntax
	}
	v, err := strconv.Atoi(f[1])
	*n = v
	return 1, err
}

func TestPDFString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "(plain)"},
		{`a(b)\c`, `(a\(b\)\\c)`},
		// é is 0xE9 = octal 351 and € is 0x80 = octal 200 in WinAnsiEncoding (PDF 1.7 Annex D.2);
		// α and the tab have no WinAnsi code and become '?'.
		{"é€α\t", `(\351\200??)`},
		{"µL", `(\265L)`},
	}
	for _, tc := range tests {
		if got := pdfString(tc.in); got != tc.want {
			t.Errorf("pdfString(%q): got %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestNum(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{{0, "0"}, {1, "1"}, {-0.0001, "0"}, {2.5, "2.5"}, {MM, "2.835"}, {-12.3456, "-12.346"}}
	for _, tc := range tests {
		if got := num(tc.in); got != tc.want {
			t.Errorf("num(%v): got %s, want %s", tc.in, got, tc.want)
		}
	}
}

func samplePDF(compress bool) *Document {
	d := New()
	d.Title = "Sample"
	d.Compress = compress
	p := d.AddPage(A4Width, A4Height)
	p.Text(72, 700, Helvetica, 12, "Hello (PDF) world")
	p.Text(72, 680, HelveticaBold, 12, "Viability 92 % at 37 °C")
	p.Text(72, 660, Courier, 12, "G123417654321A")
	p.SetFill(0.5, 0.5, 0.5)
	p.FillRect(72, 600, 100, 20)
	p.Line(72, 590, 300, 590, 1)
	q := d.AddPage(100*MM, 50*MM)
	q.Text(10, 10, Helvetica, 10, "Second page")
	return d
}

func TestWriteStructure(t *testing.T) {
	for _, compress := range []bool{false, true} {
		b1, err := samplePDF(compress).Bytes()
		if err != nil {
			t.Fatal(err)
		}
		b2, _ := samplePDF(compress).Bytes()
		if !bytes.Equal(b1, b2) {
			t.Errorf("compress=%v: two renderings differ; want identical bytes", compress)
		}
		if bytes.Contains(b1, []byte("CreationDate")) {
			t.Errorf("compress=%v: got a CreationDate nobody set", compress)
		}
		if !bytes.HasPrefix(b1, []byte("%PDF-1.4\n")) {
			t.Errorf("compress=%v: header %q, want %%PDF-1.4", compress, b1[:9])
		}
		checkXref(t, b1)
		txt := pdftotext(t, b1)
		for _, want := range []string{"Hello (PDF) world", "Viability 92 % at 37 °C", "G123417654321A", "Second page"} {
			if !strings.Contains(txt, want) {
				t.Errorf("compress=%v: pdftotext output lacks %q:\n%s", compress, want, txt)
			}
		}
		if got := strings.Count(txt, "\f"); got != 2 {
			t.Errorf("compress=%v: got %d pages (form feeds), want 2", compress, got)
		}
	}
}

func TestCreationDate(t *testing.T) {
	d := samplePDF(false)
	d.CreationDate = "D:20261207184200Z"
	b, err := d.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("/CreationDate (D:20261207184200Z)")) {
		t.Errorf("CreationDate not written as given")
	}
	checkXref(t, b)
}

func TestWriteErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  func() *Document
	}{
		{"no pages", New},
		{"zero width", func() *Document { d := New(); d.AddPage(0, 100); return d }},
		{"NaN height", func() *Document { d := New(); d.AddPage(100, math.NaN()); return d }},
		{"NaN coordinate", func() *Document {
			d := New()
			d.AddPage(100, 100).Text(math.NaN(), 1, Helvetica, 10, "x")
			return d
		}},
		{"infinite rect", func() *Document {
			d := New()
			d.AddPage(100, 100).FillRect(0, 0, math.Inf(1), 1)
			return d
		}},
		{"bad font", func() *Document { d := New(); d.AddPage(100, 100).Text(1, 1, Font(9), 10, "x"); return d }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.doc().Bytes(); err == nil {
				t.Errorf("got no error, want one")
			}
		})
	}
}

func BenchmarkCertificate(b *testing.B) {
	c := sampleCertificate(b)
	for b.Loop() {
		if _, err := c.Render(); err != nil {
			b.Fatal(err)
		}
	}
}
