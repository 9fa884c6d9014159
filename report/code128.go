package report

import (
	"fmt"
)

// code128Patterns holds the bar and space widths, in modules, of the Code 128 symbol characters
// with values 0–105 (ISO/IEC 15417:2007 Table 1; the same table is printed as "Bar code widths"
// in the Wikipedia article Code 128). Each character is 6 elements, bar first, 11 modules wide.
// The stop character (106) is code128Stop.
var code128Patterns = [106]string{
	"212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312", "132212", "221213", // 0-9
	"221312", "231212", "112232", "122132", "122231", "113222", "123122", "123221", "223211", "221132", // 10-19
	"221231", "213212", "223112", "312131", "311222", "321122", "321221", "312212", "322112", "322211", // 20-29
	"212123", "212321", "232121", "111323", "131123", "131321", "112313", "132113", "132311", "211313", // 30-39
	"231113", "231311", "112133", "112331", "132131", "113123", "113321", "133121", "313121", "211331", // 40-49
	"231131", "213113", "213311", "213131", "311123", "311321", "331121", "312113", "312311", "332111", // 50-59
	"314111", "221411", "431111", "111224", "111422", "121124", "121421", "141122", "141221", "112214", // 60-69
	"112412", "122114", "122411", "142112", "142211", "241211", "221114", "413111", "241112", "134111", // 70-79
	"111242", "121142", "121241", "114212", "124112", "124211", "411212", "421112", "421211", "212141", // 80-89
	"214121", "412121", "111143", "111341", "131141", "114113", "114311", "411113", "411311", "113141", // 90-99
	"114131", "311141", "411131", "211412", "211214", "211232", // 100-105
}

// code128Stop is the stop pattern including its final 2-module termination bar: 13 modules.
const code128Stop = "2331112"

// Code 128 symbol character values with a function.
const (
	code128CodeB  = 100 // in code set C: switch to B
	code128CodeC  = 99  // in code set B: switch to C
	code128StartB = 104
	code128StartC = 105
)

// Code128Values returns the symbol character values of data encoded in Code 128: the start
// character, the data characters, the modulo-103 check character; the stop character is not
// included. Code set B carries the characters; runs of digits switch to code set C, two digits a
// character, where that makes the symbol shorter (the rules of ISO/IEC 15417 Annex E, restricted
// to sets B and C): start in C when the data is two digits or begins with at least four; switch
// to C for a run of at least four digits that ends the data or six elsewhere, an odd digit first
// going in B.
//
// data must be printable ASCII (space to '~'), which covers ISBT 128 data structures; anything
// else, and empty data, is an error.
func Code128Values(data string) ([]int, error) {
	if data == "" {
		return nil, fmt.Errorf("report: code 128 data is empty")
	}
	for i := 0; i < len(data); i++ {
		if c := data[i]; c < ' ' || c > '~' {
			return nil, fmt.Errorf("report: code 128 data: byte %d is %q, not printable ASCII", i+1, c)
		}
	}
	digitsAt := func(i int) int { // length of the run of digits starting at i
		n := 0
		for i+n < len(data) && data[i+n] >= '0' && data[i+n] <= '9' {
			n++
		}
		return n
	}
	var vals []int
	setC := false
	if n := digitsAt(0); (n == 2 && len(data) == 2) || n >= 4 {
		setC = true
		vals = append(vals, code128StartC)
	} else {
		vals = append(vals, code128StartB)
	}
	for i := 0; i < len(data); {
		n := digitsAt(i)
		if setC {
			if n >= 2 {
				vals = append(vals, int(data[i]-'0')*10+int(data[i+1]-'0'))
				i += 2
				continue
			}
			vals = append(vals, code128CodeB)
			setC = false
		}
		if n >= 6 || (n >= 4 && i+n == len(data)) {
			if n%2 == 1 {
				vals = append(vals, int(data[i])-' ')
				i++
			}
			vals = append(vals, code128CodeC)
			setC = true
			continue
		}
		vals = append(vals, int(data[i])-' ')
		i++
	}
	return append(vals, code128Check(vals)), nil
}

// code128Check returns the modulo-103 check character of the values from the start character
// on: the start value plus each data value times its position (1, 2, ...), modulo 103.
func code128Check(vals []int) int {
	sum := vals[0]
	for i, v := range vals[1:] {
		sum += (i + 1) * v
	}
	return sum % 103
}

// Code128Modules returns the widths in modules of the alternating bars and spaces of the Code
// 128 symbol for data, bar first, from the start character through the stop pattern. Quiet zones
// (at least 10 modules each side, gmp.md §2.8) are not included.
func Code128Modules(data string) ([]int, error) {
	vals, err := Code128Values(data)
	if err != nil {
		return nil, err
	}
	var w []int
	for _, v := range vals {
		for _, c := range code128Patterns[v] {
			w = append(w, int(c-'0'))
		}
	}
	for _, c := range code128Stop {
		w = append(w, int(c-'0'))
	}
	return w, nil
}

// Code128 draws the Code 128 symbol for data on the page with its lower-left corner (start of
// the first bar) at (x, y), each module x wide and the bars height tall, in the current fill
// colour, and returns the symbol's width in points. The caller leaves the quiet zones (10
// modules each side) free. ISBT 128 recommends a module of 0.25 mm (gmp.md §2.8).
func (p *Page) Code128(x, y, module, height float64, data string) (float64, error) {
	widths, err := Code128Modules(data)
	if err != nil {
		return 0, err
	}
	if !(module > 0 && height > 0) {
		return 0, fmt.Errorf("report: code 128 module %v and height %v must be positive", module, height)
	}
	pos := x
	for i, m := range widths {
		if i%2 == 0 {
			p.FillRect(pos, y, float64(m)*module, height)
		}
		pos += float64(m) * module
	}
	return pos - x, nil
}
