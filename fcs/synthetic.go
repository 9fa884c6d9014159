package fcs

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
)

// fluorochromes name the fluorescence channels of synthetic files, in order; channels beyond
// the list are called FL<n>-A.
var fluorochromes = []string{"FITC-A", "PE-A", "PE-CF594-A", "PerCP-Cy5-5-A", "PE-Cy7-A", "APC-A",
	"Alexa Fluor 700-A", "APC-Cy7-A", "BV421-A", "BV510-A", "BV605-A", "BV650-A", "BV711-A",
	"BV786-A", "BUV395-A", "BUV496-A", "BUV737-A"}

// syntheticTimeStep is the $TIMESTEP of synthetic files, in seconds.
const syntheticTimeStep = 0.01

// SyntheticFile returns the description of the synthetic file WriteSynthetic writes for
// channels parameters (at least 3): FSC-A, SSC-A, channels-3 fluorescence channels and Time,
// with $TIMESTEP 0.01 and a channels x channels $SPILLOVER over every parameter. The
// fluorescence block of the matrix is diagonally dominant (spill of 2-25 % into the next
// detector, less further away); the rows and columns of FSC-A, SSC-A and Time are those of the
// identity, so compensation leaves them unchanged. The matrix covers every parameter so that a
// 20-channel file carries the 20 x 20 matrix of the reference benchmark (flow.md 6).
func SyntheticFile(channels int, seed uint64) (*File, error) {
	if channels < 3 {
		return nil, fmt.Errorf("fcs: synthetic file: %d channels, need at least 3 (FSC-A, SSC-A, Time)", channels)
	}
	f := &File{DataType: 'F', Keywords: []Keyword{
		{Name: "$CYT", Value: "CLINK synthetic"},
		{Name: "$TIMESTEP", Value: formatFloat(syntheticTimeStep)},
		{Name: "CLINK_SEED", Value: fmt.Sprint(seed)},
	}}
	f.Params = append(f.Params, WriteParam{Name: "FSC-A", Range: 262144}, WriteParam{Name: "SSC-A", Range: 262144})
	for i := range channels - 3 {
		name := fmt.Sprintf("FL%d-A", i+1)
		if i < len(fluorochromes) {
			name = fluorochromes[i]
		}
		f.Params = append(f.Params, WriteParam{Name: name, Label: fmt.Sprintf("marker %d", i+1), Range: 262144})
	}
	f.Params = append(f.Params, WriteParam{Name: "Time", Range: 262144})

	rng := rand.New(rand.NewPCG(seed, 0x5eed5eed))
	s := &Spillover{Matrix: make([][]float64, channels)}
	for i, p := range f.Params {
		s.Names = append(s.Names, p.Name)
		s.Matrix[i] = make([]float64, channels)
		s.Matrix[i][i] = 1
	}
	for i := 2; i < channels-1; i++ {
		for j := 2; j < channels-1; j++ {
			switch d := j - i; {
			case d == 0:
			case d == 1:
				s.Matrix[i][j] = 0.02 + 0.23*rng.Float64()
			case d == -1:
				s.Matrix[i][j] = 0.005 + 0.05*rng.Float64()
			case d == 2 || d == -2:
				s.Matrix[i][j] = 0.01 * rng.Float64()
			default:
				s.Matrix[i][j] = 0.002 * rng.Float64()
			}
			s.Matrix[i][j] = math.Round(s.Matrix[i][j]*1e6) / 1e6
		}
	}
	f.Spill = s
	return f, nil
}

// WriteSynthetic writes a synthetic FCS 3.1 float32 file of events x channels described by
// SyntheticFile(channels, seed): four populations (lymphocyte-, monocyte- and granulocyte-like
// clusters and debris) with log-normal positive and normal negative marker levels, observed
// through the spillover matrix with noise, and Time rising steadily over 300 s. The same
// arguments always give the same bytes. CLINK's benchmarks use WriteSynthetic(w, 1_000_000,
// 20, seed).
func WriteSynthetic(w io.Writer, events, channels int, seed uint64) error {
	if events < 0 {
		return fmt.Errorf("fcs: synthetic file: %d events", events)
	}
	f, err := SyntheticFile(channels, seed)
	if err != nil {
		return err
	}
	return Write(w, f, newSynthSource(f, events, seed))
}

// synthPop is one population of a synthetic file.
type synthPop struct {
	weight          float64
	fsc, ssc        [2]float64 // mean, sd
	positive        []bool     // per fluorochrome
	posLog10, posSD float64
	negMean, negSD  float64
}

// synthSource generates events row by row, one block at a time.
type synthSource struct {
	f      *File
	events int
	rng    *rand.Rand
	pops   []synthPop
	start  int
	rows   [][]float64 // the current block, event-major
	truth  []float64
}

func newSynthSource(f *File, events int, seed uint64) *synthSource {
	rng := rand.New(rand.NewPCG(seed, 0xda7a))
	nfl := len(f.Params) - 3
	mk := func(weight float64, fsc, ssc [2]float64, posFrac float64) synthPop {
		p := synthPop{weight: weight, fsc: fsc, ssc: ssc, posLog10: 3.2 + rng.Float64(), posSD: 0.25, negMean: 50, negSD: 120}
		for range nfl {
			p.positive = append(p.positive, rng.Float64() < posFrac)
		}
		return p
	}
	s := &synthSource{f: f, events: events, rng: rng, start: -1}
	s.pops = []synthPop{
		mk(0.45, [2]float64{60000, 9000}, [2]float64{20000, 5000}, 0.4),
		mk(0.15, [2]float64{95000, 12000}, [2]float64{60000, 12000}, 0.3),
		mk(0.25, [2]float64{120000, 15000}, [2]float64{150000, 25000}, 0.2),
		mk(0.15, [2]float64{15000, 8000}, [2]float64{10000, 6000}, 0.05),
	}
	s.truth = make([]float64, nfl)
	return s
}

func (s *synthSource) Len() int { return s.events }

func (s *synthSource) Column(ch, start int, dst []float64) {
	if start != s.start || len(s.rows) != len(dst) {
		s.generate(start, len(dst))
	}
	for i, row := range s.rows {
		dst[i] = row[ch]
	}
}

// generate fills the block of k events from start; blocks are generated in order, so the
// random stream, and therefore the file, depends only on the seed.
func (s *synthSource) generate(start, k int) {
	par := len(s.f.Params)
	if cap(s.rows) < k {
		s.rows = make([][]float64, k)
		for i := range s.rows {
			s.rows[i] = make([]float64, par)
		}
	}
	s.rows = s.rows[:k]
	s.start = start
	nfl := par - 3
	m := s.f.Spill.Matrix
	for i, row := range s.rows {
		u := s.rng.Float64()
		pop := &s.pops[len(s.pops)-1]
		for j := range s.pops {
			if u < s.pops[j].weight {
				pop = &s.pops[j]
				break
			}
			u -= s.pops[j].weight
		}
		row[0] = clamp(pop.fsc[0]+pop.fsc[1]*s.rng.NormFloat64(), 0, 262143)
		row[1] = clamp(pop.ssc[0]+pop.ssc[1]*s.rng.NormFloat64(), 0, 262143)
		for j := range nfl {
			if pop.positive[j] {
				s.truth[j] = math.Pow(10, pop.posLog10+pop.posSD*s.rng.NormFloat64())
			} else {
				s.truth[j] = pop.negMean + pop.negSD*s.rng.NormFloat64()
			}
		}
		// Observed detector j = sum over fluorochromes f of truth_f x spill[f][j], plus noise.
		for j := range nfl {
			v := 0.0
			for f := range nfl {
				v += s.truth[f] * m[2+f][2+j]
			}
			row[2+j] = clamp(v+20*s.rng.NormFloat64(), -5000, 262143)
		}
		row[par-1] = math.Floor(float64(start+i) * 300 / syntheticTimeStep / float64(max(s.events, 1)))
	}
}

func clamp(v, lo, hi float64) float64 { return math.Min(math.Max(v, lo), hi) }
