package gating

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
)

// ctransform is a transformation ready to evaluate.
type ctransform struct {
	t *Transformation
	// apply transforms x in place, bounds included. For fratio it only applies the bounds
	// (nil when there are none).
	apply func(x []float64)
	// applyFew is apply for a few values: logicle and hyperlog call Scale value by value
	// instead of ScaleSlice, whose first call builds a table (about 0.8 ms, the cost of some
	// 2,600 exact values: BenchmarkLogicleTable, BenchmarkLogicleScale). It is apply for the
	// other functions.
	applyFew func(x []float64)
}

// tableWorth is the number of values of a logicle or hyperlog transformation in one Apply
// from which ScaleSlice's table pays for itself, even when it is built for this Apply alone;
// the table is then kept with the curve (curves) for later samples.
const tableWorth = 1 << 12

// curveKey identifies a logicle or hyperlog by its parameters.
type curveKey struct {
	kind       TransformKind
	t, w, m, a float64
}

// curves caches Logicle and Hyperlog values across Apply calls, so that the table ScaleSlice
// builds on first use serves every sample gated with the same parameters. It is cleared when
// it reaches maxCurves entries.
var curves struct {
	sync.Mutex
	m map[curveKey]any
}

const maxCurves = 64

// curve returns the cached Logicle or Hyperlog for t, making it with mk when new.
func curve(t *Transformation, mk func() (any, error)) (any, error) {
	k := curveKey{t.Kind, t.T, t.W, t.M, t.A}
	curves.Lock()
	defer curves.Unlock()
	if c, ok := curves.m[k]; ok {
		return c, nil
	}
	c, err := mk()
	if err != nil {
		return nil, err
	}
	if curves.m == nil || len(curves.m) >= maxCurves {
		curves.m = map[curveKey]any{}
	}
	curves.m[k] = c
	return c, nil
}

// compileTransform checks a transformation's parameters (flow.md section 3) and prepares it.
func compileTransform(t *Transformation) (*ctransform, error) {
	for _, p := range []struct {
		name string
		v    float64
	}{{"T", t.T}, {"W", t.W}, {"M", t.M}, {"A", t.A}, {"B", t.B}, {"C", t.C}} {
		if !finite(p.v) {
			return nil, fmt.Errorf("%s: parameter %s is %v", t.Kind, p.name, p.v)
		}
	}
	var f, few func(x []float64)
	switch t.Kind {
	case KindFlin:
		T, A := t.T, t.A
		if !(T > 0) {
			return nil, fmt.Errorf("flin: T is %v, want > 0", T)
		}
		den := T + A
		if den == 0 {
			return nil, fmt.Errorf("flin: T + A is 0")
		}
		f = func(x []float64) {
			for i, v := range x {
				x[i] = (v + A) / den
			}
		}
	case KindFlog:
		T, M := t.T, t.M
		if !(T > 0) || !(M > 0) {
			return nil, fmt.Errorf("flog: T is %v and M is %v, want both > 0", T, M)
		}
		invM := 1 / M
		f = func(x []float64) {
			for i, v := range x {
				if v > 0 {
					x[i] = float64(invM*math.Log10(v/T)) + 1
				} else {
					x[i] = math.NaN() // flog is defined for x > 0 only; NaN fails every test
				}
			}
		}
	case KindFasinh:
		T, M, A := t.T, t.M, t.A
		if !(T > 0) || !(M > 0) {
			return nil, fmt.Errorf("fasinh: T is %v and M is %v, want both > 0", T, M)
		}
		if !(M+A > 0) {
			return nil, fmt.Errorf("fasinh: M + A is %v, want > 0", M+A)
		}
		s := math.Sinh(M * math.Ln10)
		aLn := A * math.Ln10
		den := (M + A) * math.Ln10
		f = func(x []float64) {
			for i, v := range x {
				x[i] = (math.Asinh(v*s/T) + aLn) / den
			}
		}
	case KindLogicle:
		c, err := curve(t, func() (any, error) { return NewLogicle(t.T, t.W, t.M, t.A) })
		if err != nil {
			return nil, fmt.Errorf("logicle: %s", strings.TrimPrefix(err.Error(), "gating: logicle ")) // name it once
		}
		l := c.(*Logicle)
		f = func(x []float64) { l.ScaleSlice(x, x) }
		few = func(x []float64) { scaleEach(l.Scale, x) }
	case KindHyperlog:
		c, err := curve(t, func() (any, error) { return NewHyperlog(t.T, t.W, t.M, t.A) })
		if err != nil {
			return nil, fmt.Errorf("hyperlog: %s", strings.TrimPrefix(err.Error(), "gating: hyperlog ")) // name it once
		}
		h := c.(*Hyperlog)
		f = func(x []float64) { h.ScaleSlice(x, x) }
		few = func(x []float64) { scaleEach(h.Scale, x) }
	case KindFratio:
		if t.Ratio[0] == "" || t.Ratio[1] == "" {
			return nil, errors.New("fratio: needs two fcs-dimension names")
		}
		if !validText(t.Ratio[0]) || !validText(t.Ratio[1]) {
			return nil, errors.New("fratio: an fcs-dimension name holds a character XML cannot carry")
		}
	case "":
		return nil, errors.New("has no function (flin, flog, fasinh, logicle, hyperlog or fratio)")
	default:
		return nil, fmt.Errorf("unknown function %q", t.Kind)
	}
	var lo, hi float64
	hasLo, hasHi := t.BoundMin != nil, t.BoundMax != nil
	if hasLo {
		if lo = *t.BoundMin; math.IsNaN(lo) {
			return nil, errors.New("boundMin is NaN")
		}
	}
	if hasHi {
		if hi = *t.BoundMax; math.IsNaN(hi) {
			return nil, errors.New("boundMax is NaN")
		}
	}
	if hasLo && hasHi && lo > hi {
		return nil, fmt.Errorf("boundMin %v is greater than boundMax %v", lo, hi)
	}
	ct := &ctransform{t: t}
	bound := func(x []float64) {
		// bound(f) = max(min(f, boundMax), boundMin); comparisons leave NaN alone.
		for i, v := range x {
			if hasHi && v > hi {
				v = hi
			}
			if hasLo && v < lo {
				v = lo
			}
			x[i] = v
		}
	}
	if few == nil {
		few = f
	}
	switch {
	case f == nil: // fratio: the engine computes the ratio and calls bound.
		if hasLo || hasHi {
			ct.apply = bound
			ct.applyFew = ct.apply
		}
	case hasLo || hasHi:
		ct.apply = func(x []float64) { f(x); bound(x) }
		ct.applyFew = func(x []float64) { few(x); bound(x) }
	default:
		ct.apply, ct.applyFew = f, few
	}
	return ct, nil
}

// scaleEach applies a logicle or hyperlog Scale to x in place. (Scale and ScaleSlice map NaN
// to NaN and ±Inf to ±Inf.)
func scaleEach(scale func(float64) float64, x []float64) {
	for i, v := range x {
		x[i] = scale(v)
	}
}

// ratio computes dst = A (u - B) / (v - C) for an fratio.
func ratio(t *Transformation, dst, u, v []float64) {
	A, B, C := t.A, t.B, t.C
	u = u[:len(dst)]
	v = v[:len(dst)]
	for i := range dst {
		dst[i] = float64(A*(u[i]-B)) / (v[i] - C)
	}
}

// Eval applies the transformation, bounds included, to src and stores the result in dst
// (which may be src; it must be as long). It is for flin, flog, fasinh, logicle and hyperlog;
// an fratio needs two inputs: see EvalRatio.
func (t *Transformation) Eval(dst, src []float64) error {
	if len(dst) != len(src) {
		return fmt.Errorf("gating: Eval: dst has %d values, src %d", len(dst), len(src))
	}
	ct, err := compileTransform(t)
	if err != nil {
		return errorf(0, fmt.Sprintf("transformation %q", t.ID), "%v", err)
	}
	if t.Kind == KindFratio {
		return errorf(0, fmt.Sprintf("transformation %q", t.ID), "is an fratio: use EvalRatio")
	}
	copy(dst, src)
	if len(dst) >= tableWorth {
		ct.apply(dst)
	} else {
		ct.applyFew(dst)
	}
	return nil
}

// EvalRatio computes an fratio, bounds included: dst = A (u - B) / (v - C).
func (t *Transformation) EvalRatio(dst, u, v []float64) error {
	if len(u) != len(dst) || len(v) != len(dst) {
		return fmt.Errorf("gating: EvalRatio: dst, u and v have %d, %d and %d values", len(dst), len(u), len(v))
	}
	ct, err := compileTransform(t)
	if err != nil {
		return errorf(0, fmt.Sprintf("transformation %q", t.ID), "%v", err)
	}
	if t.Kind != KindFratio {
		return errorf(0, fmt.Sprintf("transformation %q", t.ID), "is a %s, not an fratio: use Eval", t.Kind)
	}
	ratio(t, dst, u, v)
	if ct.apply != nil {
		ct.apply(dst)
	}
	return nil
}
