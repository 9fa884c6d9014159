package stats

import (
	"slices"
	"strconv"

	"github.com/clink-consortium/clink"
	"gonum.org/v1/gonum/mathext"
)

// Notes of the Friedman test.
const (
	noteFriedmanFewDonors = "the Friedman test needs at least two complete donors (R's friedman.test stops with fewer)"
	noteFriedmanAllTied   = "all values tie within every donor: the Friedman statistic is undefined (R gives NaN)"
)

// Friedman is the result of Friedman's rank sum test.
type Friedman struct {
	Statistic *float64 `json:"statistic"`
	DF        int      `json:"df"`
	PValue    *float64 `json:"p_value"`
	NDonors   int      `json:"n_donors"` // complete donors used
	Note      string   `json:"note,omitempty"`
}

// FriedmanTest is Friedman's rank sum test as R's friedman.test computes it on a matrix
// (domain.md §7.3): blocks are rows (donors), columns are protocols. Values are ranked within
// each row with mid-ranks for ties, and
//
//	Q = 12·Σ_j (R_j − n(k+1)/2)² / (n·k·(k+1) − Σ(t³ − t)/(k − 1))
//
// is referred to χ² with k − 1 degrees of freedom. The p-value is the upper tail from the
// regularized incomplete gamma function, never 1 − CDF, so it stays accurate far below 1e-20.
//
// Rows of different lengths, fewer than two columns or non-finite values are an EINVALID error.
// Fewer than two rows (R stops there) or rows that are all ties (R gives NaN) give a result with
// nil statistic and p-value and a note.
func FriedmanTest(blocks [][]float64) (Friedman, error) {
	var fe clink.FieldErrors
	k := 0
	if len(blocks) > 0 {
		k = len(blocks[0])
	}
	for i, row := range blocks {
		if len(row) != k {
			fe.Addf("blocks["+strconv.Itoa(i)+"]", "has %d values, row 0 has %d: every donor needs one value per protocol", len(row), k)
			return Friedman{}, fe.Err()
		}
		checkFinite(&fe, "blocks["+strconv.Itoa(i)+"]", row)
	}
	if len(blocks) > 0 && k < 2 {
		fe.Addf("blocks", "has %d column(s): the test needs at least two protocols", k)
	}
	if err := fe.Err(); err != nil {
		return Friedman{}, err
	}
	var fr friedmanScratch
	return fr.test(blocks, k), nil
}

// friedmanScratch holds the per-row buffers of the Friedman test.
type friedmanScratch struct {
	order []int
	ranks []float64
}

// test runs the Friedman test on validated blocks with k columns.
func (fr *friedmanScratch) test(blocks [][]float64, k int) Friedman {
	n := len(blocks)
	f := Friedman{DF: max(k-1, 0), NDonors: n}
	if n < 2 || k < 2 {
		f.Note = noteFriedmanFewDonors
		return f
	}
	rankSum := make([]float64, k)
	var tieSum float64
	for _, row := range blocks {
		tieSum += fr.rankRow(row)
		for j, r := range fr.ranks {
			rankSum[j] += r
		}
	}
	nf, kf := float64(n), float64(k)
	var num float64
	for _, r := range rankSum {
		dev := r - nf*(kf+1)/2
		num += dev * dev
	}
	den := nf*kf*(kf+1) - tieSum/(kf-1)
	if !(den > 0) {
		f.Note = noteFriedmanAllTied
		return f
	}
	q := 12 * num / den
	p := mathext.GammaIncRegComp((kf-1)/2, q/2)
	f.Statistic, f.PValue = &q, &p
	return f
}

// rankRow fills fr.ranks with the mid-ranks of row and returns Σ(t³ − t) over its tie groups.
func (fr *friedmanScratch) rankRow(row []float64) float64 {
	k := len(row)
	fr.order = fr.order[:0]
	for j := range k {
		fr.order = append(fr.order, j)
	}
	fr.ranks = slices.Grow(fr.ranks[:0], k)[:k]
	slices.SortFunc(fr.order, func(a, b int) int {
		switch {
		case row[a] < row[b]:
			return -1
		case row[a] > row[b]:
			return 1
		}
		return 0
	})
	var ties float64
	for i := 0; i < k; {
		j := i + 1
		for j < k && row[fr.order[j]] == row[fr.order[i]] {
			j++
		}
		mid := float64(i+1+j) / 2
		for _, c := range fr.order[i:j] {
			fr.ranks[c] = mid
		}
		if t := float64(j - i); t > 1 {
			ties += t*t*t - t
		}
		i = j
	}
	return ties
}
