// Package lsq fits nonlinear models by least squares: Levenberg–Marquardt with optional box
// bounds, a Nelder–Mead fallback, and standard errors as R's summary(nls) gives them.
//
// A Model is a curve y = f(x; p) with its analytic gradient, fitted to points (X[i], Y[i]).
// Fit minimises the residual sum of squares Σ (Y[i] − f(X[i]; p))² from a start p0; StdErrors
// gives the asymptotic standard errors at the optimum. Nothing here panics on bad input or
// returns a number that is not finite: a problem the solver cannot handle is an error.
//
// Closed bounds (p[j] <= 1, reachable) go in Options; an open bound (p[j] > 0, never reached)
// is the model's own business: its F reports false beyond it, and the solver never steps
// where F reports false.
package lsq

import (
	"errors"
	"fmt"
	"math"
)

// Model is a curve y = f(x; p) to be fitted to the points (X[i], Y[i]).
type Model struct {
	X, Y []float64
	// F returns f(x; p) and, when grad is not nil, fills grad[j] with ∂f/∂p[j] (grad has
	// len(p) entries). It reports false where the curve or its gradient is not defined or not
	// finite, and wherever the caller rules p out (an open bound such as p[0] > 0). F must
	// not keep p or grad, which the solver reuses.
	F func(p []float64, x float64, grad []float64) (float64, bool)
}

// Options tune Fit. The zero value fits without bounds, with at most DefaultMaxIter
// iterations and a relative-offset tolerance of DefaultTol, that of nls.control(tol = 1e-10)
// (nls's own default, 1e-5, is too coarse for estimates to agree to many digits).
type Options struct {
	// Lower and Upper are closed bounds on the parameters (a parameter may sit on its bound),
	// nil for none, or ±Inf entries for none on one parameter. A parameter on a bound that
	// the descent direction pushes further out is held there, and steps are clipped to the box.
	Lower, Upper []float64
	// MaxIter is the most Levenberg–Marquardt iterations (accepted steps) of one run; 0 means
	// DefaultMaxIter.
	MaxIter int
	// Budget, when not nil, is an iteration budget shared by several calls of Fit (several
	// starting points of one problem): every accepted step takes one unit, and a run stops
	// with ErrBudget when none is left.
	Budget *int
	// Tol is the relative-offset convergence tolerance of Bates and Watts, the criterion of
	// R's nls: converged when the part of the residual vector the model could still explain
	// is at most Tol times the residual, i.e. r'J(J'J)⁻¹J'r <= Tol² r'r. 0 means DefaultTol.
	Tol float64
	// Fallback, when not nil, is tried when Levenberg–Marquardt from p0 does not converge:
	// Nelder–Mead minimises the sum of squares over unconstrained coordinates z from
	// Fallback.Z0, and Levenberg–Marquardt polishes the best point it finds.
	Fallback *Fallback
}

// Fallback is the reparametrisation Fit's Nelder–Mead fallback searches in: coordinates z
// free of bounds (logit of a fraction, log of a positive rate) that ToP maps to parameters.
type Fallback struct {
	Z0  []float64                   // the start of the simplex
	ToP func(z []float64) []float64 // the parameters at z, a new slice of len(p0) values
}

// Defaults of Options.
const (
	DefaultMaxIter = 1000
	DefaultTol     = 1e-10
)

// Result is the outcome of Fit.
type Result struct {
	// P is the best point found, nil when the model cannot be evaluated at the start.
	P []float64
	// RSS is the residual sum of squares at P (0 when P is nil).
	RSS float64
	// Iterations counts the accepted Levenberg–Marquardt steps over all runs of the call.
	Iterations int
	// Converged reports whether P met a convergence criterion; Fit returns an error exactly
	// when it did not.
	Converged bool
	// Active reports, for each parameter, whether a bound holds it: P[j] lies on a bound that
	// the unconstrained Gauss–Newton step from P would cross by more than rounding (or, when
	// that step is not defined, that the descent direction points across). A parameter that
	// merely touches its bound at an interior optimum is not held. Active has len(P) entries.
	Active []bool
}

// Reasons a run does not converge. Fit wraps them, so test with errors.Is.
var (
	// ErrStart: the model cannot be evaluated at the starting values.
	ErrStart = errors.New("lsq: the model cannot be evaluated at the starting values")
	// ErrMaxIter: Options.MaxIter iterations did not converge.
	ErrMaxIter = errors.New("lsq: no convergence within the iteration limit")
	// ErrBudget: the shared iteration budget of Options.Budget is spent.
	ErrBudget = errors.New("lsq: the shared iteration budget is spent")
	// ErrNoOptimum: over many iterations the sum of squares fell by much less than the
	// Gauss–Newton steps predicted: the estimates creep along a ridge towards a limit at
	// infinity, where there is no optimum.
	ErrNoOptimum = errors.New("lsq: no optimum: the estimates run off towards a limit at infinity")
	// ErrStalled: no step lowers the sum of squares, but the point is not an optimum.
	ErrStalled = errors.New("lsq: the fit stalled away from an optimum")
	// ErrSingular: the Jacobian is rank deficient, so the points do not determine every
	// parameter (R's "singular gradient").
	ErrSingular = errors.New("lsq: singular gradient: the points do not determine every parameter")
	// ErrNoDF: there are no more points than parameters, so no residual variance.
	ErrNoDF = errors.New("lsq: no residual degrees of freedom")
)

// InputError reports an argument of Fit or StdErrors that cannot be used, naming it. Nothing
// was computed.
type InputError struct {
	Field  string // the argument, such as "p0[2]" or "Options.Lower"
	Reason string
}

func (e *InputError) Error() string { return "lsq: " + e.Field + ": " + e.Reason }

// Fit minimises the residual sum of squares of m from p0 by Levenberg–Marquardt with
// Marquardt's scaling (the damping λ·diag(J'J), so that the path does not depend on the units
// of the parameters), within the closed bounds of o.
//
// A run converges when the relative offset is at most o.Tol, when the Gauss–Newton step
// changes no parameter by more than 1e-12 relative, when the residual sum of squares is at
// the rounding level of Σy² (the curve passes through the points), or when no damped step
// lowers the sum any more and the relative offset is below 1e-5 (as rounding allows). It
// stops without converging on the errors above. With o.Fallback, a run that does not
// converge is followed by Nelder–Mead and a second Levenberg–Marquardt run from its best
// point; Fit returns the better of the two runs (converged first, then the smaller sum).
//
// Fit returns an *InputError when m, p0 or o cannot be used. Otherwise it returns a Result
// whose P and RSS are finite, and an error wrapping one of ErrStart, ErrMaxIter, ErrBudget,
// ErrNoOptimum or ErrStalled exactly when Result.Converged is false.
func Fit(m Model, p0 []float64, o Options) (Result, error) {
	s, err := newSolver(m, len(p0), &o)
	if err != nil {
		return Result{}, err
	}
	if err := checkVector("p0", p0, false); err != nil {
		return Result{}, err
	}
	for j, v := range p0 {
		if v < s.lo[j] || v > s.hi[j] {
			return Result{}, &InputError{fmt.Sprintf("p0[%d]", j), fmt.Sprintf("%g lies outside the bounds [%g, %g]", v, s.lo[j], s.hi[j])}
		}
	}
	if f := o.Fallback; f != nil {
		switch {
		case f.ToP == nil:
			return Result{}, &InputError{"Options.Fallback.ToP", "is nil"}
		case len(f.Z0) == 0:
			return Result{}, &InputError{"Options.Fallback.Z0", "is empty"}
		}
		if err := checkVector("Options.Fallback.Z0", f.Z0, false); err != nil {
			return Result{}, err
		}
		if p := f.ToP(f.Z0); len(p) != len(p0) {
			return Result{}, &InputError{"Options.Fallback.ToP", fmt.Sprintf("maps Z0 to %d parameters, want %d", len(p), len(p0))}
		}
	}

	res, err := s.run(p0)
	if err == nil || o.Fallback == nil {
		return res, err
	}
	z := nelderMead(func(z []float64) float64 { return s.rssAt(o.Fallback.ToP(z)) }, o.Fallback.Z0, nmMaxEval)
	polished, perr := s.run(o.Fallback.ToP(z))
	polished.Iterations += res.Iterations
	if perr == nil || polished.Better(res) {
		return polished, perr
	}
	res.Iterations = polished.Iterations
	return res, err
}

// Better reports whether r is a better outcome than o, as when choosing among fits from
// several starts: a point beats none, converged beats not converged, then the smaller residual
// sum of squares wins.
func (r Result) Better(o Result) bool {
	if r.P == nil || o.P == nil {
		return r.P != nil
	}
	if r.Converged != o.Converged {
		return r.Converged
	}
	return r.RSS < o.RSS
}

// checkModel checks m for a problem with np parameters.
func checkModel(m Model, np int) error {
	switch {
	case m.F == nil:
		return &InputError{"Model.F", "is nil"}
	case len(m.X) != len(m.Y):
		return &InputError{"Model.Y", fmt.Sprintf("has %d values for %d x values", len(m.Y), len(m.X))}
	case len(m.X) == 0:
		return &InputError{"Model.X", "has no points"}
	case np == 0:
		return &InputError{"p0", "has no parameters"}
	}
	if err := checkVector("Model.X", m.X, false); err != nil {
		return err
	}
	return checkVector("Model.Y", m.Y, false)
}

// checkVector checks that every entry of v is a number, and finite unless infOK.
func checkVector(field string, v []float64, infOK bool) error {
	for i, x := range v {
		if math.IsNaN(x) || (!infOK && math.IsInf(x, 0)) {
			return &InputError{fmt.Sprintf("%s[%d]", field, i), fmt.Sprintf("%g is not a finite number", x)}
		}
	}
	return nil
}

// bounds returns the closed bounds of o for np parameters, ±Inf where there is none.
func bounds(o *Options, np int) (lo, hi []float64, err error) {
	lo, hi = make([]float64, np), make([]float64, np)
	for j := range np {
		lo[j], hi[j] = math.Inf(-1), math.Inf(1)
	}
	for _, b := range []struct {
		name string
		v    []float64
		dst  []float64
	}{{"Options.Lower", o.Lower, lo}, {"Options.Upper", o.Upper, hi}} {
		if b.v == nil {
			continue
		}
		if len(b.v) != np {
			return nil, nil, &InputError{b.name, fmt.Sprintf("has %d values for %d parameters", len(b.v), np)}
		}
		if err := checkVector(b.name, b.v, true); err != nil {
			return nil, nil, err
		}
		copy(b.dst, b.v)
	}
	for j := range np {
		if !(lo[j] <= hi[j]) || math.IsInf(lo[j], 1) || math.IsInf(hi[j], -1) {
			return nil, nil, &InputError{fmt.Sprintf("Options.Lower[%d]", j), fmt.Sprintf("the bounds [%g, %g] hold no finite value", lo[j], hi[j])}
		}
	}
	return lo, hi, nil
}
