package report

import (
	"image"
	"image/color"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/datamatrix"
)

// TestDataMatrixDecodes reads every symbol size back with an independent decoder (gozxing, a
// Go port of ZXing): the data of each of the nine square sizes, the label's DIN data among
// them, must decode to what was encoded.
func TestDataMatrixDecodes(t *testing.T) {
	inputs := []string{"123456", "ABCD", "ABCDEFGH", "ABCDEFGHIJKL", "=G12341765432170", strings.Repeat("AB", 9),
		strings.Repeat("x", 22), strings.Repeat("Z", 30), strings.Repeat("q", 36), strings.Repeat("k", 44)}
	sizes := map[int]bool{}
	for _, in := range inputs {
		m, err := DataMatrix(in)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		n := len(m)
		sizes[n] = true
		const px, quiet = 8, 4
		img := image.NewGray(image.Rect(0, 0, (n+2*quiet)*px, (n+2*quiet)*px))
		for i := range img.Pix {
			img.Pix[i] = 255
		}
		for r := range n {
			for c := range n {
				if m[r][c] {
					for dy := range px {
						for dx := range px {
							img.SetGray((c+quiet)*px+dx, (r+quiet)*px+dy, color.Gray{0})
						}
					}
				}
			}
		}
		bmp, err := gozxing.NewBinaryBitmapFromImage(img)
		if err != nil {
			t.Fatal(err)
		}
		res, err := datamatrix.NewDataMatrixReader().Decode(bmp, map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_PURE_BARCODE: true})
		if err != nil {
			t.Errorf("%dx%d symbol of %q: not decoded: %v", n, n, in, err)
			continue
		}
		if got := res.GetText(); got != in {
			t.Errorf("%dx%d symbol: decoded %q, want %q", n, n, got, in)
		}
	}
	if len(sizes) != 9 {
		t.Errorf("the inputs cover %d symbol sizes, want all 9 (10x10 to 26x26)", len(sizes))
	}
}
