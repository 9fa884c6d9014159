package gating_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/clink-consortium/clink/fcs"
	"github.com/clink-consortium/clink/gating"
)

// outcome is what a compliance case is expected to give.
type outcome int

const (
	match  outcome = iota // the result equals the truth file event for event
	absent                // the truth file has no gate in the XML (no result id)
)

// isacCase is one truth file of the ISAC Gating-ML 2.0 compliance suite, sets 1 to 5.
type isacCase struct {
	set    int
	result string // the truth file is Results_<result>.txt
	gate   string // the result id in the XML when the file name abbreviates it (data README 3.1)
	count  int    // events in the truth file (data README appendix)
	want   outcome
}

// isacCases lists the 190 cases of the data README's appendix, generated from its tables: the
// result id, the gate id for the eight abbreviated set-3 names, the truth count, and the
// expected outcome. Set 5's Not_myPolygon1/2 are ids the R runner invented for complemented
// references; they have no gate in gates5.xml.
var isacCases = []isacCase{
	{1, "And1", "", 561, match},
	{1, "And2", "", 12, match},
	{1, "And3", "", 120, match},
	{1, "And4", "", 120, match},
	{1, "Ellipse1", "", 203, match},
	{1, "Ellipsoid3D", "", 4191, match},
	{1, "FL2N-FL4N", "", 5148, match},
	{1, "FL2N-FL4P", "", 238, match},
	{1, "FL2P-FL4N", "", 7361, match},
	{1, "FL2P-FL4P", "", 620, match},
	{1, "FSCD-FL1P", "", 2978, match},
	{1, "FSCD-SSCN-FL1N", "", 755, match},
	{1, "FSCN-SSCN", "", 398, match},
	{1, "FSCN-SSCP-FL1P", "", 59, match},
	{1, "FSCP-SSCN-FL1N", "", 96, match},
	{1, "Not1", "", 13164, match},
	{1, "Or1", "", 1983, match},
	{1, "Or2", "", 8283, match},
	{1, "ParAnd2", "", 12, match},
	{1, "ParAnd3", "", 120, match},
	{1, "Polygon1", "", 1582, match},
	{1, "Polygon2", "", 183, match},
	{1, "Polygon3NS", "", 1325, match},
	{1, "Polygon4", "", 716, match},
	{1, "Range1", "", 440, match},
	{1, "Range2", "", 4710, match},
	{1, "RatRange1", "", 7679, match},
	{1, "RatRange1Bound", "", 10660, match},
	{1, "RatRange1a", "", 7865, match},
	{1, "RatRange1aBound", "", 7865, match},
	{1, "RatRange2", "", 3398, match},
	{1, "Rectangle1", "", 252, match},
	{1, "Rectangle2", "", 252, match},
	{1, "Rectangle3", "", 6446, match},
	{1, "Rectangle4", "", 1275, match},
	{1, "Rectangle5", "", 1303, match},
	{1, "ScalePar1", "", 558, match},
	{1, "ScaleRange1", "", 8425, match},
	{1, "ScaleRange1Bound", "", 8504, match},
	{1, "ScaleRange1c", "", 6916, match},
	{1, "ScaleRange2", "", 850, match},
	{1, "ScaleRange2Bound", "", 13361, match},
	{1, "ScaleRange2c", "", 789, match},
	{1, "ScaleRange2cBound", "", 13364, match},
	{1, "ScaleRange3", "", 3181, match},
	{1, "ScaleRange3Bound", "", 12866, match},
	{1, "ScaleRange3c", "", 2309, match},
	{1, "ScaleRange4", "", 2509, match},
	{1, "ScaleRange4Bound", "", 13358, match},
	{1, "ScaleRange4c", "", 1873, match},
	{1, "ScaleRange5", "", 1840, match},
	{1, "ScaleRange5c", "", 1436, match},
	{1, "ScaleRange6", "", 8351, match},
	{1, "ScaleRange6Bound", "", 8430, match},
	{1, "ScaleRange6c", "", 4113, match},
	{1, "ScaleRange7c", "", 12478, match},
	{1, "ScaleRange8c", "", 6263, match},
	{1, "ScaleRect1", "", 809, match},
	{1, "ScaleRect1Bound", "", 1908, match},
	{1, "ScaleRect1Bound2", "", 13361, match},
	{2, "Cube3Du", "", 4732, match},
	{2, "Cube3DuP", "", 3699, match},
	{2, "Cube3DuPAsBool", "", 3699, match},
	{2, "Cube3Dul", "", 4732, match},
	{2, "Ellipseca", "", 5203, match},
	{2, "Ellipsech", "", 4595, match},
	{2, "Ellipsecl", "", 5118, match},
	{2, "Ellipseclb", "", 6318, match},
	{2, "Ellipseua", "", 5201, match},
	{2, "Ellipseuh", "", 4589, match},
	{2, "Ellipseul", "", 5104, match},
	{2, "Ellipseulb", "", 6305, match},
	{2, "Ellipseulb2", "", 6665, match},
	{2, "HyperCube1", "", 5215, match},
	{2, "NotRectcl", "", 5944, match},
	{2, "Poly1c", "", 6809, match},
	{2, "Poly1ca", "", 3259, match},
	{2, "Poly1cab", "", 4890, match},
	{2, "Poly1ch", "", 2832, match},
	{2, "Poly1chb", "", 2838, match},
	{2, "Poly1cl", "", 3147, match},
	{2, "Poly1clb", "", 4778, match},
	{2, "Poly1u", "", 6127, match},
	{2, "Poly1ua", "", 1834, match},
	{2, "Poly1uab", "", 1831, match},
	{2, "Poly1uab2", "", 3548, match},
	{2, "Poly1uh", "", 1714, match},
	{2, "Poly1uhb", "", 1720, match},
	{2, "Poly1ul", "", 1810, match},
	{2, "Poly1ulb", "", 3458, match},
	{2, "RectMix1", "", 5027, match},
	{2, "Rectch", "", 4301, match},
	{2, "RectchAndNotRectcl", "", 245, match},
	{2, "RectchAndNotRectcl2", "", 245, match},
	{2, "Rectcl", "", 4056, match},
	{2, "RectclAgain", "", 4056, match},
	{2, "RectclAndRectch", "", 4056, match},
	{2, "RectclOrRectch", "", 4301, match},
	{2, "Rectuh", "", 4256, match},
	{2, "Rectul", "", 4032, match},
	{3, "Q1", "", 12673, match},
	{3, "Q1A", "", 23954, match},
	{3, "Q1B", "", 23954, match},
	{3, "Q1C", "", 38253, match},
	{3, "Q1D", "", 64234, match},
	{3, "Q1E", "", 95355, match},
	{3, "Q2", "", 713, match},
	{3, "Q2A", "", 26762, match},
	{3, "Q2B", "", 26762, match},
	{3, "Q2C", "", 277, match},
	{3, "Q2D", "", 1418, match},
	{3, "Q2E", "", 1212, match},
	{3, "Q3", "", 20, match},
	{3, "Q3A", "", 12959, match},
	{3, "Q3B", "", 12959, match},
	{3, "Q3C", "", 71803, match},
	{3, "Q3D", "", 52859, match},
	{3, "Q3E", "", 25098, match},
	{3, "Q4", "", 54785, match},
	{3, "Q4A", "", 60925, match},
	{3, "Q4B", "", 60925, match},
	{3, "Q4C", "", 14267, match},
	{3, "Q4D", "", 6089, match},
	{3, "Q4E", "", 2935, match},
	{3, "Q5", "", 55174, match},
	{3, "Q6", "", 1235, match},
	{3, "Q7", "", 67458, match},
	{3, "my3DRectangleGate", "", 28, match},
	{3, "myBooleanAnd", "", 19880, match},
	{3, "myBooleanNot", "", 104720, match},
	{3, "myBooleanOr", "", 99301, match},
	{3, "myBooleanOrWithParent", "", 19880, match},
	{3, "myEllipseGate", "", 16739, match},
	{3, "myEllipsoidGate", "", 35733, match},
	{3, "myPolygonGate", "", 99166, match},
	{3, "myPolygonGate2ArcSinHLin", "", 39413, match},
	{3, "myPolygonGate3LogLin", "", 474, match},
	{3, "myPolygonGateWithCustomSpillover", "", 6160, match},
	{3, "myPolygonGateWithFCSSpillover", "", 8539, match},
	{3, "myPolygonGateWithSpilloverSameAsFCS", "", 8539, match},
	{3, "myPolygonGateWithoutSpillover", "", 6954, match},
	{3, "myPolygonWCustNonSqSpecArcSinH", "myPolygonGateWithCustomNonSquareSpectrumMatrixOnArcSinH", 16038, match},
	{3, "myPolygonWCustNonSqSpecInvAlrd", "myPolygonGateWithCustomNonSquareSpectrumMatrixInvertedAlready", 13476, match},
	{3, "myPolygonWCustSpillAndArcSinH", "myPolygonGateWithCustomSpilloverAndArcSinH", 6599, match},
	{3, "myPolygonWFCSSpillAndArcSinH", "myPolygonGateWithFCSSpilloverAndArcSinH", 9787, match},
	{3, "myPolygonWithCustInvAlrSpil", "myPolygonGateWithCustomInvertedAlreadySpillover", 6160, match},
	{3, "myPolygonWithCustNonSqSpecMat", "myPolygonGateWithCustomNonSquareSpectrumMatrix", 13476, match},
	{3, "myRangeGate1", "", 1972, match},
	{3, "myRangeGate2", "", 1972, match},
	{3, "myRect4LogicleArcSinHFCSComp", "myRectangleGate4LogicleArcSinHFCSCompensated", 12743, match},
	{3, "myRect4bHyperlogArcSinHFCSComp", "myRectangleGate4bHyperlogArcSinHFCSCompensated", 12747, match},
	{3, "myRectangleGate", "", 1009, match},
	{3, "myRectangleGate2Logicle", "", 64288, match},
	{3, "myRectangleGate2bHyperlog", "", 62667, match},
	{3, "myRectangleGate3LogicleArcSinH", "", 13743, match},
	{3, "myRectangleGate3bHyperlogArcSinH", "", 13749, match},
	{4, "myQuadrant2_NN", "", 24366, match},
	{4, "myQuadrant2_NP", "", 9823, match},
	{4, "myQuadrant2_PN", "", 23514, match},
	{4, "myQuadrant2_PP", "", 66897, match},
	{4, "myQuadrant3_NN", "", 24366, match},
	{4, "myQuadrant3_NP", "", 9823, match},
	{4, "myQuadrant3_PN", "", 23514, match},
	{4, "myQuadrant3_PP", "", 66897, match},
	{4, "myQuadrant4_NN", "", 27353, match},
	{4, "myQuadrant4_NP", "", 12325, match},
	{4, "myQuadrant4_PN", "", 19983, match},
	{4, "myQuadrant4_PP", "", 64939, match},
	{4, "myQuadrant_NN", "", 23643, match},
	{4, "myQuadrant_NP", "", 6529, match},
	{4, "myQuadrant_PN", "", 16494, match},
	{4, "myQuadrant_PP", "", 77475, match},
	{4, "myRange1", "", 46348, match},
	{4, "myRange2", "", 17561, match},
	{4, "myRange3", "", 12790, match},
	{4, "myRange4", "", 12790, match},
	{4, "myRange5", "", 38110, match},
	{5, "Not_myPolygon1", "", 23155, absent},
	{5, "Not_myPolygon2", "", 50194, absent},
	{5, "myAnd1", "", 67777, match},
	{5, "myAnd2", "", 6629, match},
	{5, "myAnd3", "", 33668, match},
	{5, "myAnd4", "", 16526, match},
	{5, "myNotNot", "", 101445, match},
	{5, "myOr1", "", 108074, match},
	{5, "myOr2", "", 90932, match},
	{5, "myOr3", "", 117971, match},
	{5, "myOr4", "", 56823, match},
	{5, "myPolygon1", "", 101445, match},
	{5, "myPolygon2", "", 74406, match},
}

// isacInputs are the Gating-ML and FCS files of each set.
var isacInputs = map[int][2]string{
	1: {"gates1.xml", "data1.fcs"},
	2: {"gates2.xml", "data2.fcs"},
	3: {"gates3.xml", "9399_1_3_NKR.fcs"},
	4: {"gates4.xml", "9399_1_3_NKR.fcs"},
	5: {"gates5.xml", "9399_1_3_NKR.fcs"},
}

// TestISAC applies gates1-5.xml to their FCS files and compares every result with the truth
// files of the compliance suite, event by event.
func TestISAC(t *testing.T) {
	dir := filepath.Join(flowData(t), "gatingml2")
	if len(isacCases) != 190 {
		t.Fatalf("the table has %d cases, want 190", len(isacCases))
	}
	for set := 1; set <= 5; set++ {
		t.Run(fmt.Sprintf("set%d", set), func(t *testing.T) {
			in := isacInputs[set]
			f, err := os.Open(filepath.Join(dir, "Gating-MLFiles", in[0]))
			if err != nil {
				t.Fatal(err)
			}
			doc, err := gating.Parse(f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			ds, err := fcs.ReadFile(filepath.Join(dir, "FCSFiles", in[1]), fcs.Options{})
			if err != nil {
				t.Fatal(err)
			}
			res, err := doc.Apply(ds)
			if err != nil {
				t.Fatal(err)
			}
			pass, total := 0, 0
			for _, c := range isacCases {
				if c.set != set {
					continue
				}
				total++
				ok := t.Run(c.result, func(t *testing.T) {
					truth := readTruth(t, filepath.Join(dir, "ExpectedResults", fmt.Sprintf("set_%d", set), "Results_"+c.result+".txt"))
					if len(truth) != ds.Len() {
						t.Fatalf("truth file has %d lines, the FCS file %d events", len(truth), ds.Len())
					}
					n := 0
					for _, v := range truth {
						n += int(v)
					}
					if n != c.count {
						t.Fatalf("truth file holds %d events, the README says %d", n, c.count)
					}
					id := c.result
					if c.gate != "" {
						id = c.gate
					}
					g := res.Gate(id)
					switch c.want {
					case absent:
						if g != nil {
							t.Fatalf("got a result for %q, want none (no such gate in the XML)", id)
						}
						return
					case match:
						if g == nil {
							t.Fatalf("no result for %q", id)
						}
					}
					got := g.Members.Values(nil)
					var diff []int
					for i := range truth {
						if got[i] != truth[i] {
							diff = append(diff, i)
						}
					}
					if len(diff) > 0 {
						t.Errorf("%d of %d events differ (count got %d, want %d); first at events %v",
							len(diff), len(truth), g.Count, c.count, diff[:min(len(diff), 10)])
					}
				})
				if ok {
					pass++
				}
			}
			t.Logf("set %d: %d of %d cases as expected", set, pass, total)
		})
	}
}

// readTruth reads a Results_<id>.txt file: one 0 or 1 per line.
func readTruth(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var out []byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		switch line := bytes.TrimSpace(sc.Bytes()); string(line) {
		case "0":
			out = append(out, 0)
		case "1":
			out = append(out, 1)
		case "":
		default:
			tb.Fatalf("%s: line %q is not 0 or 1", path, line)
		}
	}
	return out
}

// TestApplyConcurrent applies one document to one data set from several goroutines at once
// (as `clink fcs gate` does with several files) and checks that every run gives the same
// counts. Run it with -race.
func TestApplyConcurrent(t *testing.T) {
	dir := filepath.Join(flowData(t), "gatingml2")
	f, err := os.Open(filepath.Join(dir, "Gating-MLFiles", "gates2.xml"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := gating.Parse(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	ds, err := fcs.ReadFile(filepath.Join(dir, "FCSFiles", "data2.fcs"), fcs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const runs = 4
	counts := make([][]int, runs)
	var wg sync.WaitGroup
	for r := range runs {
		wg.Go(func() {
			res, err := doc.Apply(ds)
			if err != nil {
				t.Error(err)
				return
			}
			for _, g := range res.Gates {
				counts[r] = append(counts[r], g.Count)
			}
		})
	}
	wg.Wait()
	for r := 1; r < runs; r++ {
		if fmt.Sprint(counts[r]) != fmt.Sprint(counts[0]) {
			t.Errorf("run %d: counts %v, run 0: %v", r, counts[r], counts[0])
		}
	}
}
