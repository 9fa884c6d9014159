package fcs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// The tests in this file build small FCS data sets byte by byte (builder_test.go) for the rules
// of flow.md section 1 that no public file covers. Expected values are written out by hand
// from the byte layouts, not computed by the reader's own code.

// layoutKw returns the layout keywords of little-endian 16-bit integer data.
func layoutKw() [][2]string {
	return kv("$BYTEORD", "1,2", "$DATATYPE", "I", "$MODE", "L")
}

// mustReadBytes reads a data set built by a test or fails.
func mustReadBytes(t *testing.T, b []byte, opt Options) *DataSet {
	t.Helper()
	d, err := readBytes(b, opt)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return d
}

func checkRaw(t *testing.T, d *DataSet, ch int, want ...float64) {
	t.Helper()
	if got := d.Raw(ch, nil); !slices.Equal(got, want) {
		t.Errorf("%s raw: got %v, want %v", d.Params[ch].Name, got, want)
	}
}

func checkScale(t *testing.T, d *DataSet, ch int, want ...float64) {
	t.Helper()
	if got := d.Scale(ch, nil); !slices.Equal(got, want) {
		t.Errorf("%s scale: got %v, want %v", d.Params[ch].Name, got, want)
	}
}

// TestFCS32PnDataType mixes uint16, float32, float64 and uint32 columns in one event through
// FCS 3.2 $PnDATATYPE.
func TestFCS32PnDataType(t *testing.T) {
	var data []byte
	type ev struct {
		a uint16
		b float32
		c float64
		d uint32
	}
	evs := []ev{{1, 1.5, -2.25, 7}, {65535, -0.125, 1e300, 4294967295}, {300, 3e38, 0.1, 123456}}
	for _, e := range evs {
		data = binary.LittleEndian.AppendUint16(data, e.a)
		data = binary.LittleEndian.AppendUint32(data, math.Float32bits(e.b))
		data = binary.LittleEndian.AppendUint64(data, math.Float64bits(e.c))
		data = binary.LittleEndian.AppendUint32(data, e.d)
	}
	kw := kws(kv("$BYTEORD", "1,2,3,4", "$DATATYPE", "I", "$MODE", "L", "$PAR", "4", "$TOT", "3", "$CYT", "test"),
		kv("$P1N", "Count", "$P1B", "16", "$P1R", "65536", "$P1E", "0,0"),
		kv("$P2N", "FSC-A", "$P2B", "32", "$P2R", "262144", "$P2E", "0,0", "$P2DATATYPE", "F"),
		kv("$P3N", "SSC-A", "$P3B", "64", "$P3R", "262144", "$P3E", "0,0", "$P3DATATYPE", "D"),
		kv("$P4N", "Time", "$P4B", "32", "$P4R", "4294967296", "$P4E", "0,0", "$P4DATATYPE", "I"))
	d := mustReadBytes(t, fileSpec{version: "FCS3.2", kw: kw, data: data}.bytes(), Options{})
	var types []byte
	for _, p := range d.Params {
		types = append(types, p.DataType)
	}
	if string(types) != "IFDI" {
		t.Errorf("data types %q, want IFDI", types)
	}
	checkRaw(t, d, 0, 1, 65535, 300)
	checkRaw(t, d, 1, 1.5, -0.125, float64(float32(3e38)))
	checkRaw(t, d, 2, -2.25, 1e300, 0.1)
	checkRaw(t, d, 3, 7, 4294967295, 123456)
	checkScale(t, d, 2, -2.25, 1e300, 0.1)
	if d.cols[1].kind != kF32 || d.cols[2].kind != kF64 || d.cols[0].kind != kU16 || d.cols[3].kind != kU32 {
		t.Errorf("storage kinds %v %v %v %v, want float32, float64, uint16, uint32", d.cols[1].kind, d.cols[2].kind, d.cols[0].kind, d.cols[3].kind)
	}

	// The same keywords in an FCS 3.1 file: $PnDATATYPE is ignored with a warning.
	d = mustReadBytes(t, fileSpec{version: "FCS3.1", kw: kw, data: data}.bytes(), Options{})
	if d.Params[1].DataType != 'I' || !hasWarning(d, "$P2DATATYPE") {
		t.Errorf("FCS 3.1: data type %c, warnings %v; want I and a $P2DATATYPE warning", d.Params[1].DataType, d.Warnings)
	}
}

// TestByteOrderPermutations checks FCS 2.0/3.0 $BYTEORD permutations on fixed-width data,
// with the stored bytes written out by hand: 0x11223344 in PDP-11 order 3,4,1,2 is 22 11 44 33.
func TestByteOrderPermutations(t *testing.T) {
	tests := []struct {
		order, bits, dtype string
		stored             []byte
		want               float64
	}{
		{"1,2,3,4", "32", "I", []byte{0x44, 0x33, 0x22, 0x11}, 0x11223344},
		{"4,3,2,1", "32", "I", []byte{0x11, 0x22, 0x33, 0x44}, 0x11223344},
		{"3,4,1,2", "32", "I", []byte{0x22, 0x11, 0x44, 0x33}, 0x11223344},
		{"2,1,4,3", "32", "I", []byte{0x33, 0x44, 0x11, 0x22}, 0x11223344},
		{"1,2", "16", "I", []byte{0x34, 0x12}, 0x1234},
		{"2,1", "16", "I", []byte{0x12, 0x34}, 0x1234},
		{"4,3,2,1", "16", "I", []byte{0x12, 0x34}, 0x1234}, // data1.fcs: a 4-byte order for 16-bit data
		{"1,2,3,4", "16", "I", []byte{0x34, 0x12}, 0x1234},
		// 1.5 as float32 is 0x3FC00000.
		{"3,4,1,2", "32", "F", []byte{0xC0, 0x3F, 0x00, 0x00}, 1.5},
		{"4,3,2,1", "32", "F", []byte{0x3F, 0xC0, 0x00, 0x00}, 1.5},
		// 1.5 as float64 is 0x3FF8000000000000.
		{"1,2,3,4,5,6,7,8", "64", "D", []byte{0, 0, 0, 0, 0, 0, 0xF8, 0x3F}, 1.5},
		{"8,7,6,5,4,3,2,1", "64", "D", []byte{0x3F, 0xF8, 0, 0, 0, 0, 0, 0}, 1.5},
		{"2,1,4,3,6,5,8,7", "64", "D", []byte{0, 0, 0, 0, 0, 0, 0x3F, 0xF8}, 1.5},
	}
	for _, tc := range tests {
		t.Run(tc.order+"/"+tc.bits+tc.dtype, func(t *testing.T) {
			kw := kws(kv("$BYTEORD", tc.order, "$DATATYPE", tc.dtype, "$MODE", "L", "$PAR", "1", "$TOT", "1"),
				kv("$P1N", "X", "$P1B", tc.bits, "$P1R", "4294967296", "$P1E", "0,0"))
			d := mustReadBytes(t, fileSpec{version: "FCS3.0", kw: kw, data: tc.stored}.bytes(), Options{})
			checkRaw(t, d, 0, tc.want)
		})
	}

	// A permutation cannot describe mixed widths.
	kw := kws(kv("$BYTEORD", "3,4,1,2", "$DATATYPE", "I", "$MODE", "L", "$PAR", "2", "$TOT", "1"),
		kv("$P1N", "X", "$P1B", "32", "$P1R", "1024", "$P1E", "0,0"),
		kv("$P2N", "Y", "$P2B", "16", "$P2R", "1024", "$P2E", "0,0"))
	_, err := readBytes(fileSpec{version: "FCS3.0", kw: kw, data: make([]byte, 6)}.bytes(), Options{})
	checkErr(t, err, "$BYTEORD")
}

// TestIntegerWidths reads 8-, 24-, 64- and 16-bit integers in one event, in both byte orders
// (FCS 3.1: $BYTEORD says little or big endian for every width).
func TestIntegerWidths(t *testing.T) {
	for _, order := range []string{"1,2,3,4", "4,3,2,1"} {
		t.Run(order, func(t *testing.T) {
			le := order == "1,2,3,4"
			var data []byte
			put := func(b ...byte) {
				if le {
					slices.Reverse(b)
				}
				data = append(data, b...)
			}
			// Event 1: 0xAB, 0x123456, 0x0102030405060708, 0xBEEF (bytes written big-endian).
			put(0xAB)
			put(0x12, 0x34, 0x56)
			put(1, 2, 3, 4, 5, 6, 7, 8)
			put(0xBE, 0xEF)
			// Event 2: all ones.
			put(0xFF)
			put(0xFF, 0xFF, 0xFF)
			put(0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF)
			put(0xFF, 0xFF)
			kw := kws(kv("$BYTEORD", order, "$DATATYPE", "I", "$MODE", "L", "$PAR", "4", "$TOT", "2"),
				kv("$P1N", "A", "$P1B", "8", "$P1R", "256", "$P1E", "0,0"),
				kv("$P2N", "B", "$P2B", "24", "$P2R", "16777216", "$P2E", "0,0"),
				kv("$P3N", "C", "$P3B", "64", "$P3R", "18446744073709551616", "$P3E", "0,0"),
				kv("$P4N", "D", "$P4B", "16", "$P4R", "65536", "$P4E", "0,0"))
			d := mustReadBytes(t, fileSpec{kw: kw, data: data}.bytes(), Options{})
			checkRaw(t, d, 0, 0xAB, 0xFF)
			checkRaw(t, d, 1, 0x123456, 0xFFFFFF)
			checkRaw(t, d, 3, 0xBEEF, 0xFFFF)
			if got := d.cols[2].u64; !slices.Equal(got, []uint64{0x0102030405060708, math.MaxUint64}) {
				t.Errorf("64-bit column: got %#x, want [0x102030405060708 0xffffffffffffffff]", got)
			}
		})
	}
}

// TestMasking checks the $PnR bit mask: next_power_of_two($PnR) - 1 (FCS 3.0 section 3.3).
func TestMasking(t *testing.T) {
	tests := []struct {
		bits, rng string
		stored    []uint32
		want      []float64
	}{
		{"16", "1024", []uint32{0xFFFF, 0x0400, 1000}, []float64{1023, 0, 1000}},
		{"16", "1000", []uint32{0xFFFF, 0x0400, 1000}, []float64{1023, 0, 1000}},
		{"16", "1025", []uint32{0xFFFF, 0x0400, 1000}, []float64{2047, 0x400, 1000}},
		{"16", "65536", []uint32{0xFFFF, 0x0400, 1000}, []float64{0xFFFF, 0x400, 1000}},
		{"16", "70000", []uint32{0xFFFF, 0x0400, 1000}, []float64{0xFFFF, 0x400, 1000}},
		{"32", "16777216", []uint32{0xFF123456, 0x01000000, 5}, []float64{0x123456, 0, 5}},
		{"32", "1048576", []uint32{0xFFFFFFFF, 0x00100000, 5}, []float64{0xFFFFF, 0, 5}},
		{"8", "100", []uint32{0xFF, 0x80, 100}, []float64{127, 0, 100}},
	}
	for _, tc := range tests {
		t.Run(tc.bits+"/"+tc.rng, func(t *testing.T) {
			var data []byte
			for _, v := range tc.stored {
				switch tc.bits {
				case "8":
					data = append(data, byte(v))
				case "16":
					data = binary.BigEndian.AppendUint16(data, uint16(v))
				case "32":
					data = binary.BigEndian.AppendUint32(data, v)
				}
			}
			kw := kws(kv("$BYTEORD", "4,3,2,1", "$DATATYPE", "I", "$MODE", "L", "$PAR", "1", "$TOT", fmt.Sprint(len(tc.stored))),
				kv("$P1N", "X", "$P1B", tc.bits, "$P1R", tc.rng, "$P1E", "0,0"))
			d := mustReadBytes(t, fileSpec{kw: kw, data: data}.bytes(), Options{})
			checkRaw(t, d, 0, tc.want...)
		})
	}
}

// TestASCII reads $DATATYPE/A/ data in fixed width and in free format.
func TestASCII(t *testing.T) {
	t.Run("fixed", func(t *testing.T) {
		kw := kws(kv("$DATATYPE", "A", "$MODE", "L", "$PAR", "2", "$TOT", "3"),
			kv("$P1N", "X", "$P1B", "4", "$P1R", "1024", "$P1E", "0,0", "$P2N", "Y", "$P2B", "6", "$P2R", "1000000", "$P2E", "0,0"))
		d := mustReadBytes(t, fileSpec{version: "FCS3.0", kw: kw, data: []byte("  1200034599999999990000000000")}.bytes(), Options{})
		checkRaw(t, d, 0, 12, 9999, 0)
		checkRaw(t, d, 1, 345, 999999, 0)
	})
	t.Run("free", func(t *testing.T) {
		kw := kws(kv("$DATATYPE", "A", "$MODE", "L", "$PAR", "2", "$TOT", "3"),
			kv("$P1N", "X", "$P1B", "*", "$P1R", "1024", "$P1E", "0,0", "$P2N", "Y", "$P2B", "*", "$P2R", "1024", "$P2E", "0,0"))
		d := mustReadBytes(t, fileSpec{version: "FCS3.0", kw: kw, data: []byte("12, 34\t56\r\n78  90,,100\n")}.bytes(), Options{})
		checkRaw(t, d, 0, 12, 56, 90)
		checkRaw(t, d, 1, 34, 78, 100)
		if d.Params[0].Bits != 0 {
			t.Errorf("free format: Bits %d, want 0", d.Params[0].Bits)
		}
		// Too few values for $TOT.
		_, err := readBytes(fileSpec{version: "FCS3.0", kw: kw, data: []byte("1 2 3 4 5     ")}.bytes(), Options{})
		checkErr(t, err, "$TOT")
		d, err = readBytes(fileSpec{version: "FCS3.0", kw: kw, data: []byte("1 2 3 4 5     ")}.bytes(), Options{AllowOffsetMismatch: true})
		if err != nil || d.Events != 2 {
			t.Errorf("AllowOffsetMismatch: got %v events, error %v; want 2 events", d.Len(), err)
		}
	})
	t.Run("junk", func(t *testing.T) {
		kw := kws(kv("$DATATYPE", "A", "$MODE", "L", "$PAR", "1", "$TOT", "2"),
			kv("$P1N", "X", "$P1B", "3", "$P1R", "1024", "$P1E", "0,0"))
		_, err := readBytes(fileSpec{version: "FCS3.0", kw: kw, data: []byte("12x456")}.bytes(), Options{})
		e := checkErr(t, err, "DATA")
		if e != nil && e.Offset <= 0 {
			t.Errorf("offset %d, want the byte of the bad value", e.Offset)
		}
	})
}

// TestBeyond99999999 puts the DATA at byte 150,000,000 of a sparse file: the HEADER holds 0,0
// and the TEXT the real offsets (flow.md 1.2).
func TestBeyond99999999(t *testing.T) {
	data := binary.LittleEndian.AppendUint32(nil, math.Float32bits(2.5))
	data = binary.LittleEndian.AppendUint32(data, math.Float32bits(-7))
	const at = 150_000_000
	kw := kws(kv("$BYTEORD", "1,2,3,4", "$DATATYPE", "F", "$MODE", "L", "$PAR", "1", "$TOT", "2"),
		kv("$P1N", "X", "$P1B", "32", "$P1R", "262144", "$P1E", "0,0"))
	spec := fileSpec{kw: kw, data: data,
		textData: func(b, e int64) (int64, int64) { return at, at + 7 },
		hdrData:  func(b, e int64) (int64, int64) { return 0, 0 }}
	head := spec.bytes()
	head = head[:len(head)-len(data)] // HEADER and TEXT only
	f := &sparseFile{size: at + 8 + 8, parts: []sparsePart{{0, head}, {at, data}}}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	d, err := Read(f, f.size, Options{})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	checkRaw(t, d, 0, 2.5, -7)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("reading 8 bytes of DATA allocated %d bytes", grew)
	}
}

// TestWriteBeyond99999999 writes a file whose DATA ends past byte 99,999,999 and checks that
// the HEADER gives 0,0 for it while the TEXT holds the real offsets (only the first and last
// 64 KB of the file are kept).
func TestWriteBeyond99999999(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 100 MB")
	}
	const events = 25_000_000 // 100,000,000 bytes of float32
	w := &headTail{}
	err := Write(w, &File{Params: []WriteParam{{Name: "X"}}}, constSource{n: events, v: 3})
	if err != nil {
		t.Fatal(err)
	}
	h := string(w.head[:58])
	if h[26:42] != "       0       0" {
		t.Errorf("HEADER DATA fields %q, want zeros", h[26:42])
	}
	var te int64
	fmt.Sscan(h[18:26], &te)
	words, _ := tokenize(w.head[58:te+1], 58, false)
	var kw keywords
	for i := 0; i+1 < len(words); i += 2 {
		kw.add(Keyword{Name: string(words[i].b), Value: string(words[i+1].b)})
	}
	begin, _ := kw.get("$BEGINDATA")
	end, _ := kw.get("$ENDDATA")
	if want := fmt.Sprintf("%020d", te+1); begin.Value != want {
		t.Errorf("$BEGINDATA %q, want %q", begin.Value, want)
	}
	if want := fmt.Sprintf("%020d", te+100_000_000); end.Value != want {
		t.Errorf("$ENDDATA %q, want %q", end.Value, want)
	}
	if w.n != te+1+100_000_000+8 || string(w.tail[len(w.tail)-8:]) != "00000000" {
		t.Errorf("file of %d bytes ending %q, want %d bytes ending with the CRC field", w.n, w.tail[len(w.tail)-8:], te+1+100_000_000+8)
	}
	// The last event, just before the CRC field.
	if v := math.Float32frombits(binary.LittleEndian.Uint32(w.tail[len(w.tail)-12:])); v != 3 {
		t.Errorf("last value %g, want 3", v)
	}
}

// headTail is a writer that keeps the first 64 KB and the last 64 KB written.
type headTail struct {
	head, tail []byte
	n          int64
}

func (w *headTail) Write(p []byte) (int, error) {
	if len(w.head) < 1<<16 {
		w.head = append(w.head, p[:min(len(p), 1<<16-len(w.head))]...)
	}
	w.tail = append(w.tail, p...)
	if len(w.tail) > 1<<16 {
		w.tail = append([]byte(nil), w.tail[len(w.tail)-1<<16:]...)
	}
	w.n += int64(len(p))
	return len(p), nil
}

type constSource struct {
	n int
	v float64
}

func (s constSource) Len() int { return s.n }
func (s constSource) Column(ch, start int, dst []float64) {
	for i := range dst {
		dst[i] = s.v
	}
}

// TestSupplementalText puts $P1G (and a clashing $P1N) in a supplemental TEXT after the DATA.
func TestSupplementalText(t *testing.T) {
	data := binary.BigEndian.AppendUint16(nil, 100)
	data = binary.BigEndian.AppendUint16(data, 7)
	kw := kws(kv("$BYTEORD", "4,3,2,1", "$DATATYPE", "I", "$MODE", "L", "$PAR", "1", "$TOT", "2"),
		kv("$P1N", "X", "$P1B", "16", "$P1R", "1024", "$P1E", "0,0"))
	spec := fileSpec{version: "FCS3.0", kw: kw, data: data, stext: kv("$P1G", "4", "$P1N", "Other", "VENDOR", "x")}
	d := mustReadBytes(t, spec.bytes(), Options{})
	checkScale(t, d, 0, 25, 1.75)
	if d.Params[0].Name != "X" || !hasWarning(d, "$P1N") {
		t.Errorf("name %q, warnings %v; want X and a warning about the clash", d.Params[0].Name, d.Warnings)
	}
	if v, ok := d.Keyword("vendor"); !ok || v != "x" {
		t.Errorf("Keyword(vendor) = %q, %v; want x, true", v, ok)
	}
	d = mustReadBytes(t, spec.bytes(), Options{IgnoreSupplementalText: true})
	checkScale(t, d, 0, 100, 7)
}

// TestDelimiters writes the same data set with several delimiters, escaping the delimiter
// inside values by doubling it [FCS3.0 3.2.9].
func TestDelimiters(t *testing.T) {
	for _, delim := range []byte{'/', '\\', '|', '*', '\f', 0x01, '~', ',', '#'} {
		t.Run(fmt.Sprintf("%q", delim), func(t *testing.T) {
			d := string(delim)
			kw := kws(kv("$BYTEORD", "1,2", "$DATATYPE", "I", "$MODE", "L", "$PAR", "1", "$TOT", "1"),
				kv("$P1N", "A"+d+"B", "$P1B", "16", "$P1R", "1024", "$P1E", "0,0"),
				kv("$SYS", "RSX-11"+d+"M", "$COM", "ends with"+d, "$SRC", "x"+d+d+"y"))
			ds := mustReadBytes(t, fileSpec{delim: delim, kw: kw, data: []byte{5, 0}}.bytes(), Options{})
			if ds.Params[0].Name != "A"+d+"B" {
				t.Errorf("$P1N %q, want %q", ds.Params[0].Name, "A"+d+"B")
			}
			for name, want := range map[string]string{"$SYS": "RSX-11" + d + "M", "$COM": "ends with" + d, "$SRC": "x" + d + d + "y", "$BYTEORD": "1,2"} {
				if got, _ := ds.Keyword(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			checkRaw(t, ds, 0, 5)
		})
	}
}

// TestEmptyValues reads TEXT where empty values are written as two delimiters (CellQuest,
// flowCore's FACSCalibur files): read strictly, $P2N would be swallowed by $P1S.
func TestEmptyValues(t *testing.T) {
	kw := kws(kv("$BYTEORD", "1,2", "$DATATYPE", "I", "$MODE", "L", "$PAR", "2", "$TOT", "1"),
		kv("$P1N", "A", "$P1B", "16", "$P1R", "1024", "$P1S", "", "$P2N", "B", "$P2B", "16", "$P2R", "1024", "$P2S", "", "$P1E", "0,0", "$P2E", "0,0"))
	d := mustReadBytes(t, fileSpec{version: "FCS2.0", kw: kw, rawWords: true, data: []byte{1, 0, 2, 0}}.bytes(), Options{})
	if got := d.Names(); !slices.Equal(got, []string{"A", "B"}) {
		t.Errorf("names %q, want [A B]", got)
	}
	if v, ok := d.Keyword("$P1S"); !ok || v != "" {
		t.Errorf("$P1S = %q, %v; want empty, true", v, ok)
	}
	if !hasWarning(d, "TEXT") {
		t.Errorf("no TEXT warning about the re-read; warnings %v", d.Warnings)
	}
}

// TestLatin1 checks that values that are not UTF-8 are read as Latin-1, and UTF-8 ones as
// UTF-8 (flow.md 1.3).
func TestLatin1(t *testing.T) {
	kw := kws(layoutKw(), kv("$PAR", "1", "$TOT", "1", "$P1N", "X", "$P1B", "16", "$P1R", "1024", "$P1E", "0,0",
		"CREATOR", "CELLQuest\xaa 3.3", "$P1S", "CD3 \xb5m", "UNIT", "µm"))
	d := mustReadBytes(t, fileSpec{version: "FCS2.0", kw: kw, data: []byte{1, 0}}.bytes(), Options{})
	if v, _ := d.Keyword("CREATOR"); v != "CELLQuestª 3.3" {
		t.Errorf("CREATOR = %q, want %q", v, "CELLQuestª 3.3")
	}
	if d.Params[0].Label != "CD3 µm" {
		t.Errorf("label %q, want %q", d.Params[0].Label, "CD3 µm")
	}
	for _, k := range d.Keywords() {
		switch k.Name {
		case "CREATOR", "$P1S":
			if !k.Latin1 {
				t.Errorf("%s: Latin1 false, want true", k.Name)
			}
		case "UNIT":
			if k.Latin1 || k.Value != "µm" {
				t.Errorf("UNIT: %q Latin1 %v, want µm false", k.Value, k.Latin1)
			}
		}
	}
}

// oneEvent returns a small data set with one 16-bit parameter whose only value is v, whose
// $NEXTDATA is next and whose name is name.
func oneEvent(name string, v uint16, next int64) []byte {
	kw := kws(kv("$BYTEORD", "1,2", "$DATATYPE", "I", "$MODE", "L", "$PAR", "1", "$TOT", "1"),
		kv("$P1N", name, "$P1B", "16", "$P1R", "65536", "$P1E", "0,0"))
	return fileSpec{version: "FCS3.0", kw: kw, data: binary.LittleEndian.AppendUint16(nil, v), nextData: next}.bytes()
}

// TestNextData follows $NEXTDATA chains: forward and backward (negative) offsets, a loop, an
// offset past the end, and Millipore's $NEXTDATA = $ENDDATA + 1.
func TestNextData(t *testing.T) {
	// The length of a data set does not depend on its $NEXTDATA (written in 20 digits).
	l := int64(len(oneEvent("A", 0, 0)))
	t.Run("chain", func(t *testing.T) {
		// Physical order A, B, C; chain A -> C -> B.
		file := slices.Concat(oneEvent("A", 1, 2*l), oneEvent("B", 2, 0), oneEvent("C", 3, -l))
		for i, want := range []string{"A", "C", "B"} {
			d := mustReadBytes(t, file, Options{DataSet: i})
			if d.NumDataSets != 3 || d.Index != i || d.Params[0].Name != want {
				t.Errorf("data set %d: %d of %d, name %s; want 3 data sets and %s", i, d.Index, d.NumDataSets, d.Params[0].Name, want)
			}
			checkRaw(t, d, 0, float64(map[string]int{"A": 1, "B": 2, "C": 3}[want]))
		}
		_, err := readBytes(file, Options{DataSet: 3})
		checkErr(t, err, "$NEXTDATA")
	})
	t.Run("loop", func(t *testing.T) {
		file := slices.Concat(oneEvent("A", 1, l), oneEvent("B", 2, -l))
		d := mustReadBytes(t, file, Options{DataSet: 1})
		if d.NumDataSets != 2 || !hasWarning(d, "$NEXTDATA") {
			t.Errorf("loop: %d data sets, warnings %v; want 2 and a $NEXTDATA warning", d.NumDataSets, d.Warnings)
		}
		_, err := readBytes(file, Options{DataSet: 2})
		checkErr(t, err, "$NEXTDATA")
	})
	for _, tc := range []struct {
		name string
		next int64
		tail string
	}{
		{"past end", 1 << 40, ""},
		{"before start", -100, ""},
		{"millipore", l, "00000000"}, // $NEXTDATA = $ENDDATA + 1 points at the CRC
		{"millipore at end", l, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := append(oneEvent("A", 9, tc.next), tc.tail...)
			d := mustReadBytes(t, file, Options{})
			if d.NumDataSets != 1 || !hasWarning(d, "$NEXTDATA") {
				t.Errorf("%d data sets, warnings %v; want 1 and a $NEXTDATA warning", d.NumDataSets, d.Warnings)
			}
			checkRaw(t, d, 0, 9)
		})
	}
}

// TestHugeTOT declares 10^12 events in a file of a few hundred bytes: the reader must refuse it
// before allocating, and with AllowOffsetMismatch read the events present.
func TestHugeTOT(t *testing.T) {
	kw := kws(kv("$BYTEORD", "1,2,3,4", "$DATATYPE", "F", "$MODE", "L", "$PAR", "2", "$TOT", "1000000000000"),
		kv("$P1N", "X", "$P1B", "32", "$P1R", "1024", "$P1E", "0,0", "$P2N", "Y", "$P2B", "32", "$P2R", "1024", "$P2E", "0,0"))
	file := fileSpec{kw: kw, data: make([]byte, 24)}.bytes()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := readBytes(file, Options{})
	runtime.ReadMemStats(&after)
	checkErr(t, err, "$TOT")
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("refusing 10^12 events allocated %d bytes", grew)
	}
	d, err := readBytes(file, Options{AllowOffsetMismatch: true})
	if err != nil {
		t.Fatal(err)
	}
	if d.Events != 3 {
		t.Errorf("AllowOffsetMismatch: %d events, want the 3 present", d.Events)
	}
	// The same with a huge $PAR x $TOT product that overflows 64 bits.
	kw[4][1] = "9223372036854775807"
	_, err = readBytes(fileSpec{kw: kw, data: make([]byte, 24)}.bytes(), Options{})
	checkErr(t, err, "$TOT")
}

// TestOffsets covers HEADER/TEXT DATA offsets: agreeing, off by one, disagreeing with one of
// them fitting $TOT x width, and disagreeing with neither fitting, with the repair options.
func TestOffsets(t *testing.T) {
	// Three events of one float32 (12 bytes), then 8 bytes that are not data.
	data := []byte{}
	for _, v := range []float32{1, 2, 3} {
		data = binary.LittleEndian.AppendUint32(data, math.Float32bits(v))
	}
	data = append(data, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF)
	kw := kws(kv("$BYTEORD", "1,2,3,4", "$DATATYPE", "F", "$MODE", "L", "$PAR", "1", "$TOT", "3"),
		kv("$P1N", "X", "$P1B", "32", "$P1R", "1024", "$P1E", "0,0"))
	exact := func(b, e int64) (int64, int64) { return b, b + 11 }
	plusOne := func(b, e int64) (int64, int64) { return b, b + 12 }
	long := func(b, e int64) (int64, int64) { return b, e }        // 20 bytes
	shifted := func(b, e int64) (int64, int64) { return b + 4, e } // 16 bytes, one event late
	tests := []struct {
		name        string
		hdr, txt    func(b, e int64) (int64, int64)
		opt         Options
		errKeyword  string // "" when the read succeeds
		warnKeyword string // a warning expected
		want        []float64
	}{
		{"agree", exact, exact, Options{}, "", "", []float64{1, 2, 3}},
		{"ENDDATA one past", plusOne, plusOne, Options{}, "", "$ENDDATA", []float64{1, 2, 3}},
		{"HEADER fits", exact, long, Options{}, "", "$BEGINDATA", []float64{1, 2, 3}},
		{"TEXT fits", long, exact, Options{}, "", "$BEGINDATA", []float64{1, 2, 3}},
		{"TEXT fits, HEADER past end", func(b, e int64) (int64, int64) { return b, e + 1000 }, exact, Options{}, "", "$BEGINDATA", []float64{1, 2, 3}},
		{"neither fits", long, shifted, Options{}, "$BEGINDATA", "", nil},
		{"neither fits, header trusted", long, shifted, Options{UseHeaderOffsets: true}, "$TOT", "", nil},
		{"neither fits, header trusted, mismatch allowed", long, shifted, Options{UseHeaderOffsets: true, AllowOffsetMismatch: true}, "", "$TOT", []float64{1, 2, 3}},
		{"neither fits, text ignored, mismatch allowed", long, shifted, Options{IgnoreTextOffsets: true, AllowOffsetMismatch: true}, "", "$TOT", []float64{1, 2, 3}},
		{"neither fits, mismatch allowed", long, shifted, Options{AllowOffsetMismatch: true}, "", "$BEGINDATA", []float64{2, 3, float64(math.Float32frombits(0xFFFFFFFF))}},
		{"both too long", long, long, Options{}, "$TOT", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := fileSpec{kw: kw, data: data, hdrData: tc.hdr, textData: tc.txt}.bytes()
			d, err := readBytes(file, tc.opt)
			if tc.errKeyword != "" {
				checkErr(t, err, tc.errKeyword)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.warnKeyword != "" && !hasWarning(d, tc.warnKeyword) {
				t.Errorf("no %s warning; warnings %v", tc.warnKeyword, d.Warnings)
			}
			got := d.Raw(0, nil)
			if len(got) != len(tc.want) || fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("raw %v, want %v", got, tc.want)
			}
		})
	}
}

// TestQuirkWarnings checks quirks that read with a warning.
func TestQuirkWarnings(t *testing.T) {
	base := kws(kv("$BYTEORD", "1,2", "$DATATYPE", "I", "$MODE", "L", "$PAR", "1"),
		kv("$P1N", "Time", "$P1B", "16", "$P1R", "1024"))
	data := []byte{10, 0}
	tests := []struct {
		name    string
		extra   [][2]string
		tail    string
		keyword string
		check   func(t *testing.T, d *DataSet)
	}{
		{"padded TOT", kv("$TOT", " 1  ", "$P1E", "0,0"), "", "$TOT", nil},
		{"missing PnE", kv("$TOT", "1"), "", "$P1E", nil},
		{"duplicate keyword", kv("$TOT", "1", "$P1E", "0,0", "$p1n", "Other"), "", "$p1n", func(t *testing.T, d *DataSet) {
			if d.Params[0].Name != "Time" {
				t.Errorf("name %q, want the first value Time", d.Params[0].Name)
			}
		}},
		{"junk TIMESTEP", kv("$TOT", "1", "$P1E", "0,0", "$TIMESTEP", "xxxxxxxxx"), "", "$TIMESTEP", func(t *testing.T, d *DataSet) {
			checkScale(t, d, 0, 10)
		}},
		{"blank TIMESTEP", kv("$TOT", "1", "$P1E", "0,0", "$TIMESTEP", " "), "", "$TIMESTEP", nil},
		{"TEXT padding", kv("$TOT", "1", "$P1E", "0,0"), "  \x00 ", "TEXT", nil},
		{"junk after TEXT", kv("$TOT", "1", "$P1E", "0,0"), "\xef\xbf\xbd\xef\xbf\xbd", "TEXT", nil},
		{"log gain", kv("$TOT", "1", "$P1E", "4,0", "$P1G", "2"), "", "", func(t *testing.T, d *DataSet) {
			// The time channel is never divided by its gain; log decoding still applies.
			checkScale(t, d, 0, math.Pow(10, 4*10.0/1024))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := mustReadBytes(t, fileSpec{kw: kws(base, tc.extra), data: data, textTail: []byte(tc.tail)}.bytes(), Options{})
			if tc.keyword != "" && !hasWarning(d, tc.keyword) {
				t.Errorf("no %s warning; warnings %v", tc.keyword, d.Warnings)
			}
			if tc.check != nil {
				tc.check(t, d)
			}
		})
	}
	// A missing final delimiter (FlowIO issue #3).
	kw := kws(base, kv("$TOT", "1", "$P1E", "0,0"))
	b := fileSpec{kw: kw, data: data}.bytes()
	tb := int64(58)
	te := tb + int64(len(b)) - 58 - 2 - 2 // one byte before the final delimiter
	cut := append([]byte(nil), b...)
	copy(cut[18:26], fmt.Sprintf("%8d", te))
	d := mustReadBytes(t, cut, Options{})
	if !hasWarning(d, "TEXT") {
		t.Errorf("no TEXT warning for a missing final delimiter; warnings %v", d.Warnings)
	}
}

// TestTimeChannel checks the time step and the choice of the time channel.
func TestTimeChannel(t *testing.T) {
	kw := kws(kv("$BYTEORD", "1,2", "$DATATYPE", "I", "$MODE", "L", "$PAR", "2", "$TOT", "1", "$TIMESTEP", "0.01"),
		kv("$P1N", "HDR-T", "$P1B", "16", "$P1R", "65536", "$P1E", "0,0", "$P1G", "0.01"),
		kv("$P2N", "FSC-A", "$P2B", "16", "$P2R", "65536", "$P2E", "0,0", "$P2G", "2"))
	file := fileSpec{kw: kw, data: []byte{100, 0, 100, 0}}.bytes()
	d := mustReadBytes(t, file, Options{})
	checkScale(t, d, 0, 10000) // not a time channel: divided by its gain 0.01
	checkScale(t, d, 1, 50)
	d = mustReadBytes(t, file, Options{TimeChannel: "hdr-t"})
	if !d.Params[0].Time {
		t.Fatal("HDR-T is not the time channel")
	}
	checkScale(t, d, 0, 100*0.01) // times $TIMESTEP, never divided by $PnG
}

// TestSpilloverKeywords reads $SPILLOVER, SPILL with parameter numbers and case differences,
// $COMP, and malformed matrices.
func TestSpilloverKeywords(t *testing.T) {
	base := kws(kv("$BYTEORD", "1,2", "$DATATYPE", "I", "$MODE", "L", "$PAR", "3", "$TOT", "1"),
		kv("$P1N", "FSC-A", "$P1B", "16", "$P1R", "1024", "$P1E", "0,0"),
		kv("$P2N", "FITC-A", "$P2B", "16", "$P2R", "1024", "$P2E", "0,0"),
		kv("$P3N", "PE-A", "$P3B", "16", "$P3R", "1024", "$P3E", "0,0"))
	data := []byte{1, 0, 2, 0, 3, 0}
	tests := []struct {
		name, keyword, value string
		names                []string
		matrix               [][]float64
		errKeyword           string
	}{
		{"SPILLOVER", "$SPILLOVER", "2,PE-A,FITC-A,1,0.02,0.25,1", []string{"PE-A", "FITC-A"}, [][]float64{{1, 0.02}, {0.25, 1}}, ""},
		{"SPILL with spaces", "SPILL", "2, FITC-A ,\nPE-A,1, 0.1,0.2 ,1\n", []string{"FITC-A", "PE-A"}, [][]float64{{1, 0.1}, {0.2, 1}}, ""},
		{"numbers", "$SPILL", "2,2,3,1,0.1,0.2,1", []string{"FITC-A", "PE-A"}, [][]float64{{1, 0.1}, {0.2, 1}}, ""},
		{"case", "$SPILLOVER", "2,fitc-a,pe-a,1,0.1,0.2,1", []string{"FITC-A", "PE-A"}, [][]float64{{1, 0.1}, {0.2, 1}}, ""},
		{"COMP", "$COMP", "3,1,0,0,0,1,0.1,0,0.2,1", []string{"FSC-A", "FITC-A", "PE-A"}, [][]float64{{1, 0, 0}, {0, 1, 0.1}, {0, 0.2, 1}}, ""},
		{"empty", "$SPILLOVER", "0", nil, nil, ""},
		{"short", "$SPILLOVER", "2,FITC-A,PE-A,1,0.1,0.2", nil, nil, "$SPILLOVER"},
		{"not a number", "$SPILLOVER", "2,FITC-A,PE-A,1,x,0.2,1", nil, nil, "$SPILLOVER"},
		{"bad size", "SPILL", "two,FITC-A", nil, nil, "SPILL"},
		{"COMP too big", "$COMP", "4,1,0,0,0,0,1,0,0,0,0,1,0,0,0,0,1", nil, nil, "$COMP"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := fileSpec{kw: kws(base, kv(tc.keyword, tc.value)), data: data}.bytes()
			d, err := readBytes(file, Options{})
			if tc.errKeyword != "" {
				checkErr(t, err, tc.errKeyword)
				d, err = readBytes(file, Options{IgnoreSpillover: true})
				if err != nil || d.Spill != nil {
					t.Errorf("IgnoreSpillover: spill %v, error %v; want nil, nil", d.Spill, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			names, m, ok := d.SpilloverMatrix()
			if ok != (tc.names != nil) || !slices.Equal(names, tc.names) || fmt.Sprint(m) != fmt.Sprint(tc.matrix) {
				t.Errorf("got %q %v %v, want %q %v", names, m, ok, tc.names, tc.matrix)
			}
		})
	}
}

// TestErrors checks that broken data sets give an *Error naming the keyword at fault.
func TestErrors(t *testing.T) {
	good := func() [][2]string {
		return kws(kv("$BYTEORD", "1,2", "$DATATYPE", "I", "$MODE", "L", "$PAR", "1", "$TOT", "1"),
			kv("$P1N", "X", "$P1B", "16", "$P1R", "1024", "$P1E", "0,0"))
	}
	set := func(kw [][2]string, name, value string) [][2]string {
		for i := range kw {
			if kw[i][0] == name {
				if value == "-" {
					return slices.Delete(kw, i, i+1)
				}
				kw[i][1] = value
				return kw
			}
		}
		return append(kw, [2]string{name, value})
	}
	tests := []struct {
		name, keyword, value, errKeyword string
	}{
		{"PAR missing", "$PAR", "-", "$PAR"},
		{"PAR not a number", "$PAR", "x", "$PAR"},
		{"PAR zero", "$PAR", "0", "$PAR"},
		{"PAR huge", "$PAR", "100000000", "$PAR"},
		{"DATATYPE missing", "$DATATYPE", "-", "$DATATYPE"},
		{"DATATYPE bad", "$DATATYPE", "X", "$DATATYPE"},
		{"MODE histogram", "$MODE", "C", "$MODE"},
		{"BYTEORD missing", "$BYTEORD", "-", "$BYTEORD"},
		{"BYTEORD bad", "$BYTEORD", "1,1", "$BYTEORD"},
		{"BYTEORD too long", "$BYTEORD", "1,2,3,4,5,6,7,8,9", "$BYTEORD"},
		{"PnB missing", "$P1B", "-", "$P1B"},
		{"PnB packed", "$P1B", "10", "$P1B"},
		{"PnB too wide", "$P1B", "72", "$P1B"},
		{"PnN missing", "$P1N", "-", "$P1N"},
		{"PnR missing", "$P1R", "-", "$P1R"},
		{"PnR bad", "$P1R", "many", "$P1R"},
		{"PnE bad", "$P1E", "4", "$P1E"},
		{"PnE negative", "$P1E", "-1,1", "$P1E"},
		{"PnG bad", "$P1G", "x", "$P1G"},
		{"TOT missing", "$TOT", "-", "$TOT"},
		{"TOT negative", "$TOT", "-1", "$TOT"},
		{"TOT too big", "$TOT", "2", "$TOT"},
		{"float bits", "$DATATYPE", "F", "$P1B"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := fileSpec{kw: set(good(), tc.keyword, tc.value), data: []byte{1, 0}}.bytes()
			_, err := readBytes(file, Options{})
			checkErr(t, err, tc.errKeyword)
		})
	}

	// HEADER-level errors.
	file := fileSpec{kw: good(), data: []byte{1, 0}}.bytes()
	for _, tc := range []struct {
		name string
		edit func(b []byte) []byte
	}{
		{"not FCS", func(b []byte) []byte { copy(b, "XYZ"); return b }},
		{"FCS1.0", func(b []byte) []byte { copy(b, "FCS1.0"); return b }},
		{"short", func(b []byte) []byte { return b[:40] }},
		{"bad offset", func(b []byte) []byte { copy(b[10:18], "    12x4"); return b }},
		{"no TEXT", func(b []byte) []byte { copy(b[10:26], "       0       0"); return b }},
		{"TEXT past end", func(b []byte) []byte { copy(b[18:26], "99999999"); return b }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readBytes(tc.edit(append([]byte(nil), file...)), Options{})
			var e *Error
			if !errors.As(err, &e) || e.Keyword != "HEADER" && e.Keyword != "TEXT" {
				t.Errorf("got %v, want a HEADER or TEXT *Error", err)
			}
		})
	}
}

// checkErr checks that err is an *Error about keyword, and returns it.
func checkErr(t *testing.T, err error, keyword string) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Errorf("got error %v, want an *Error about %s", err, keyword)
		return nil
	}
	if !strings.EqualFold(e.Keyword, keyword) {
		t.Errorf("got error %q about %s, want one about %s", e, e.Keyword, keyword)
	}
	if !strings.HasPrefix(e.Error(), "fcs: data set ") {
		t.Errorf("message %q does not start with \"fcs: data set \"", e)
	}
	return e
}

// TestTruncated reads every prefix of a small data set: none may panic, and each either reads
// or fails with an *Error.
func TestTruncated(t *testing.T) {
	files := map[string][]byte{
		"synthetic": fileSpec{kw: kws(kv("$BYTEORD", "1,2,3,4", "$DATATYPE", "F", "$MODE", "L", "$PAR", "2", "$TOT", "3"),
			kv("$P1N", "X", "$P1B", "32", "$P1R", "1024", "$P1E", "0,0", "$P2N", "Y", "$P2B", "32", "$P2R", "1024", "$P2E", "0,0"),
			kv("$SPILLOVER", "2,X,Y,1,0.1,0,1")), data: make([]byte, 24), stext: kv("$P1G", "2")}.bytes(),
		"chain": slices.Concat(oneEvent("A", 1, int64(len(oneEvent("A", 0, 0)))), oneEvent("B", 2, 0)),
	}
	for name, file := range files {
		t.Run(name, func(t *testing.T) {
			if _, err := readBytes(file, Options{DataSet: 0}); err != nil {
				t.Fatalf("the whole file does not read: %v", err)
			}
			for n := range len(file) {
				for ds := range 2 {
					d, err := readBytes(file[:n], Options{DataSet: ds})
					var e *Error
					if err != nil && !errors.As(err, &e) {
						t.Errorf("%d bytes: error %v is not an *Error", n, err)
					}
					if err == nil && d.Events*len(d.Params) > 0 {
						d.Scale(0, nil)
					}
				}
			}
		})
	}
}

// eofReaderAt returns io.EOF with a full read at the end of its data, as io.ReaderAt allows.
type eofReaderAt struct{ b []byte }

func (r eofReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(r.b)) {
		return 0, io.EOF
	}
	n := copy(p, r.b[off:])
	if off+int64(n) == int64(len(r.b)) {
		return n, io.EOF
	}
	return n, nil
}

// TestReaderAtEOF reads a file whose ReaderAt reports io.EOF together with the last bytes.
func TestReaderAtEOF(t *testing.T) {
	b := oneEvent("A", 42, 0)
	d, err := Read(eofReaderAt{b}, int64(len(b)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkRaw(t, d, 0, 42)
}

// TestTextAfterData reads a data set whose TEXT follows its DATA, as in coulter.lmd's second
// data set.
func TestTextAfterData(t *testing.T) {
	kw := kws(kv("$BYTEORD", "1,2", "$DATATYPE", "I", "$MODE", "L", "$PAR", "1", "$TOT", "2"),
		kv("$P1N", "X", "$P1B", "16", "$P1R", "1024", "$P1E", "0,0"))
	b := fileSpec{version: "FCS3.0", kw: kw, data: []byte{1, 0, 2, 0}, dataFirst: true}.bytes()
	if string(b[26:34]) != "      58" {
		t.Fatalf("the test file does not start its DATA at byte 58: %q", b[:58])
	}
	d := mustReadBytes(t, b, Options{})
	checkRaw(t, d, 0, 1, 2)
}
