package optimizer

import (
	"cmp"
	"math"
	"slices"

	"github.com/clink-consortium/clink/design"
	"gonum.org/v1/gonum/optimize"
)

// MaxDoses searches the landscape's best doses (the nominal donor's) and returns them with
// their condition in unit coordinates. For every feeder and restimulation it scores a Sobol
// design of the other factors, then refines the best conditions with Nelder–Mead on the
// continuous factors at their harvest day and the days either side. It is a search, not a
// proof: a campaign that beats it shows a better condition, which the benchmark would report
// as a fraction above 1.
func (l *Landscape) MaxDoses() (float64, []float64, error) {
	s := l.Space
	feeder, _, _ := s.Factor("feeder")
	restim, _, _ := s.Factor("restimulation")
	_, fi, _ := s.Factor("feeder")
	_, ri, _ := s.Factor("restimulation")
	_, di, _ := s.Factor("harvest_day")
	var cont []int
	for i, f := range s.Factors {
		if f.Kind == design.Continuous {
			cont = append(cont, i)
		}
	}
	type cand struct {
		u []float64
		v float64
	}
	eval := func(u []float64) float64 {
		x := append([]float64(nil), u...)
		for _, i := range cont {
			x[i] = math.Min(math.Max(x[i], 0), 1)
		}
		if !l.Repair(x) {
			return math.Inf(-1)
		}
		v, err := l.Doses(x)
		if err != nil {
			return math.Inf(-1)
		}
		return v
	}
	var best cand
	best.v = math.Inf(-1)
	for f := range feeder.Levels {
		for r := range restim.Levels {
			pts, err := design.Sobol(512, len(s.Factors), design.SobolOptions{Scramble: true, Seed: uint64(1 + 10*f + r)})
			if err != nil {
				return 0, nil, err
			}
			var cs []cand
			for _, u := range pts {
				u[fi], u[ri] = float64(f), float64(r)
				u[di] = math.Round(u[di]*21) / 21
				cs = append(cs, cand{u, eval(u)})
			}
			slices.SortFunc(cs, func(a, b cand) int { return cmp.Compare(b.v, a.v) })
			for _, c := range cs[:3] {
				for _, dd := range []float64{-1, 0, 1} {
					start := append([]float64(nil), c.u...)
					start[di] = math.Min(math.Max(start[di]+dd/21, 0), 1)
					x0 := make([]float64, len(cont))
					for k, i := range cont {
						x0[k] = start[i]
					}
					obj := func(x []float64) float64 {
						u := append([]float64(nil), start...)
						for k, i := range cont {
							u[i] = x[k]
						}
						v := eval(u)
						if v <= 0 || math.IsInf(v, -1) {
							return 1e9
						}
						return -math.Log(v)
					}
					res, err := optimize.Minimize(optimize.Problem{Func: obj}, x0, &optimize.Settings{FuncEvaluations: 300}, &optimize.NelderMead{})
					if err != nil && res == nil {
						continue
					}
					u := append([]float64(nil), start...)
					for k, i := range cont {
						u[i] = math.Min(math.Max(res.X[k], 0), 1)
					}
					l.Repair(u)
					if v := eval(u); v > best.v {
						best = cand{u, v}
					}
				}
				if c.v > best.v {
					best = c
				}
			}
		}
	}
	return best.v, best.u, nil
}
