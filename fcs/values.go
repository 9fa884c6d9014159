package fcs

import (
	"fmt"
	"math"
)

// Raw returns the stored values of parameter ch after the $PnR bit mask, one per event (integers
// wider than 53 bits are rounded to the nearest float64). dst is reused when its capacity is at
// least Events. Raw panics if ch is out of range.
func (d *DataSet) Raw(ch int, dst []float64) []float64 {
	d.check(ch)
	dst = grow(dst, d.Events)
	d.cols[ch].toFloat(dst)
	return dst
}

// Scale returns the scale values of parameter ch (flow.md 1.7), one per event: for a
// log-amplified integer parameter ($PnE f1,f2 with f1 > 0) 10^(f1 x / $PnR) x f2; for a
// linear parameter x / $PnG; for the time channel x x $TIMESTEP, never divided by its $PnG.
// dst is reused when its capacity is at least Events. Scale panics if ch is out of range.
func (d *DataSet) Scale(ch int, dst []float64) []float64 {
	d.check(ch)
	dst = grow(dst, d.Events)
	p := &d.Params[ch]
	d.cols[ch].toFloat(dst)
	if p.LogDecades > 0 {
		f1, f2, r := p.LogDecades, p.LogZero, p.Range
		for i, x := range dst {
			dst[i] = f2 * math.Pow(10, f1*x/r)
		}
	}
	switch {
	case p.Time:
		if ts := d.timestep; ts != 1 {
			for i := range dst {
				dst[i] *= ts
			}
		}
	case p.Gain != 1:
		g := p.Gain
		for i := range dst {
			dst[i] /= g
		}
	}
	return dst
}

func (d *DataSet) check(ch int) {
	if ch < 0 || ch >= len(d.Params) {
		panic(fmt.Sprintf("fcs: channel %d out of range [0, %d)", ch, len(d.Params)))
	}
}

func grow(dst []float64, n int) []float64 {
	if cap(dst) >= n {
		return dst[:n]
	}
	return make([]float64, n)
}
