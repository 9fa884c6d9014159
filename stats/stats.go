// Package stats compares protocols on paired donor data the way R does: per-protocol
// summaries (quantile type 7), the paired Wilcoxon signed-rank test of wilcox.test, Friedman's
// test of friedman.test, pairwise Wilcoxon tests adjusted by Holm as p.adjust does, and the
// linear mixed model y ~ protocol + (1 | donor) fitted by REML as lme4's lmer does, at the exact
// optimum (domain.md §7.1–7.4). The R scripts that produced the test fixtures live in testdata.
//
// It is pure computation on plain values, with no I/O. Bad input is an EINVALID *clink.Error
// naming the field at fault; data that are legal but degenerate (two donors, all values equal,
// incomplete donors) give nil p-values and notes instead, wherever R gives NA or stops. Every
// number in a result is finite, so results always marshal to JSON.
package stats

import (
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/clink-consortium/clink"
)

// Row is one observation: a donor's value under a protocol.
type Row struct {
	Donor    string
	Protocol string
	Value    float64
}

// Scale of the mixed model's response.
const (
	ScaleLog10  = "log10" // default
	ScaleLinear = "linear"
)

// MaxProtocols bounds the protocols one comparison may hold: the pairwise tests grow with the
// square and the mixed model with the cube of their number.
const MaxProtocols = 1000

// flatRatio is the σ_d/σ above which the mixed model's residual variance is barely identified.
const flatRatio = 1000

// maxRowErrors bounds the field errors reported for bad rows; the rest are counted.
const maxRowErrors = 20

// CompareOptions tune Compare.
type CompareOptions struct {
	Scale string // ScaleLog10 (default when "") or ScaleLinear; applies to the mixed model only
}

// Comparison is the full comparison of protocols on paired donor data.
type Comparison struct {
	Protocols       []string    `json:"protocols"`
	NDonors         int         `json:"n_donors"`          // distinct donors in all rows
	NCompleteDonors int         `json:"n_complete_donors"` // donors with a value for every protocol
	Summary         []Summary   `json:"summary"`
	Wilcoxon        *Wilcoxon   `json:"wilcoxon,omitempty"` // only for exactly two protocols
	Friedman        *Friedman   `json:"friedman"`
	Pairwise        []Pairwise  `json:"pairwise,omitempty"` // only for three or more protocols
	MixedModel      *MixedModel `json:"mixed_model"`
	Notes           []string    `json:"notes"` // never nil: warnings R would print, dropped donors, etc.
}

// Summary describes the values of one protocol, all rows as given.
type Summary struct {
	Protocol string  `json:"protocol"`
	N        int     `json:"n"`
	Median   float64 `json:"median"`
	Q1       float64 `json:"q1"` // R quantile type 7
	Q3       float64 `json:"q3"`
}

// Pairwise is the paired Wilcoxon test of one pair of protocols, with its Holm-adjusted p-value.
type Pairwise struct {
	ProtocolA string   `json:"protocol_a"`
	ProtocolB string   `json:"protocol_b"`
	Statistic float64  `json:"statistic"` // V for A minus B
	PValue    *float64 `json:"p_value"`
	PHolm     *float64 `json:"p_holm"`
	N         int      `json:"n"`
	Exact     bool     `json:"exact"`
	Note      string   `json:"note,omitempty"`
}

// Compare runs the whole comparison on rows. Protocols are in order of first appearance; the
// first is the reference. Donors are told apart by name; so are protocols, kept as written.
//
// The summaries use every row. The Wilcoxon test (two protocols), Friedman's test and the
// pairwise Wilcoxon tests with Holm's adjustment (three or more protocols, every pair i < j in
// protocol order) use the donors with a value for every protocol, on the values as given; a
// donor with several rows for a protocol enters these tests with their mean. The mixed model
// y ~ protocol + (1 | donor) uses every row, with y = log10(value) (the default) or the value.
//
// No rows, an empty donor or protocol name, a non-finite value, a value ≤ 0 on the log10 scale,
// fewer than two protocols, more than MaxProtocols or an unknown scale is an EINVALID error.
func Compare(rows []Row, opt CompareOptions) (*Comparison, error) {
	scale := opt.Scale
	if scale == "" {
		scale = ScaleLog10
	}
	if err := validateRows(rows, scale); err != nil {
		return nil, err
	}

	// Protocols and donors in order of first appearance.
	var protocols, donors []string
	pIndex := make(map[string]int)
	dIndex := make(map[string]int)
	pOf := make([]int, len(rows))
	dOf := make([]int, len(rows))
	for i, r := range rows {
		p, ok := pIndex[r.Protocol]
		if !ok {
			p = len(protocols)
			pIndex[r.Protocol] = p
			protocols = append(protocols, r.Protocol)
		}
		d, ok := dIndex[r.Donor]
		if !ok {
			d = len(donors)
			dIndex[r.Donor] = d
			donors = append(donors, r.Donor)
		}
		pOf[i], dOf[i] = p, d
	}
	k := len(protocols)
	switch {
	case k < 2:
		return nil, clink.Invalid("rows", "every row is for protocol %q: a comparison needs at least two protocols", protocols[0])
	case k > MaxProtocols:
		return nil, clink.Invalid("rows", "%d protocols: at most %d can be compared at once", k, MaxProtocols)
	}

	c := &Comparison{Protocols: protocols, NDonors: len(donors), Notes: []string{}}
	c.Summary = summarize(rows, pOf, protocols)

	cells := newCells(rows, dOf, pOf, len(donors), k)
	c.NCompleteDonors = len(cells.complete)
	c.Notes = append(c.Notes, cells.notes(donors, protocols)...)

	var sr signedRank
	d := make([]float64, len(cells.complete))
	if k == 2 {
		for i := range d {
			d[i] = cells.cols[0][i] - cells.cols[1][i]
		}
		w := sr.test(d)
		c.Wilcoxon = &w
		if w.Note != "" {
			c.Notes = append(c.Notes, fmt.Sprintf("Wilcoxon %s vs %s: %s", protocols[0], protocols[1], w.Note))
		}
	}

	blocks := make([][]float64, len(cells.complete))
	for i := range blocks {
		blocks[i] = make([]float64, k)
		for p := range k {
			blocks[i][p] = cells.cols[p][i]
		}
	}
	var fr friedmanScratch
	f := fr.test(blocks, k)
	c.Friedman = &f
	if f.Note != "" {
		c.Notes = append(c.Notes, "Friedman: "+f.Note)
	}

	if k >= 3 {
		c.Pairwise = pairwise(&sr, cells.cols, protocols, d)
		c.Notes = append(c.Notes, pairwiseNotes(c.Pairwise)...)
	}

	y := make([]float64, len(rows))
	response := "value"
	for i, r := range rows {
		y[i] = r.Value
		if scale == ScaleLog10 {
			y[i] = math.Log10(r.Value)
		}
	}
	if scale == ScaleLog10 {
		response = "log10(value)"
	}
	m, reason := fitRandomIntercept(y, dOf, len(donors), pOf, protocols)
	switch {
	case reason != "":
		c.Notes = append(c.Notes, "mixed model not fitted: "+reason)
	default:
		m.Response = response
		c.MixedModel = m
		if m.Singular {
			c.Notes = append(c.Notes, "mixed model: boundary (singular) fit, the donor variance is estimated as 0 (lme4: \"boundary (singular) fit\")")
		}
		if m.DonorVariance > flatRatio*flatRatio*m.ResidualVariance {
			c.Notes = append(c.Notes, fmt.Sprintf("mixed model: σ_d/σ = %.3g, so the residual variance is barely identified; the REML criterion is flat there and lme4 may stop at a different θ", math.Sqrt(m.DonorVariance/m.ResidualVariance)))
		}
	}
	return c, nil
}

// validateRows checks every row; it reports up to maxRowErrors field errors and counts the rest.
func validateRows(rows []Row, scale string) error {
	var fe clink.FieldErrors
	if scale != ScaleLog10 && scale != ScaleLinear {
		fe.Addf("scale", "%q is not %q or %q", scale, ScaleLog10, ScaleLinear)
	}
	if len(rows) == 0 {
		fe.Addf("rows", "there are no rows to compare")
	}
	more := 0
	for i, r := range rows {
		var rfe clink.FieldErrors
		f := "rows[" + strconv.Itoa(i) + "]"
		if strings.TrimSpace(r.Donor) == "" {
			rfe.Addf(f+".donor", "is empty")
		}
		if strings.TrimSpace(r.Protocol) == "" {
			rfe.Addf(f+".protocol", "is empty")
		}
		switch {
		case math.IsNaN(r.Value) || math.IsInf(r.Value, 0):
			rfe.Addf(f+".value", "%v is not a finite number (donor %q, protocol %q)", r.Value, r.Donor, r.Protocol)
		case scale == ScaleLog10 && r.Value <= 0:
			rfe.Addf(f+".value", "%g is not positive, so its log10 is undefined (donor %q, protocol %q)", r.Value, r.Donor, r.Protocol)
		}
		switch {
		case len(rfe) == 0:
		case len(fe) < maxRowErrors:
			fe = append(fe, rfe...)
		default:
			more++
		}
	}
	if more > 0 {
		fe.Addf("rows", "%d more rows have errors", more)
	}
	return fe.Err()
}

// summarize describes each protocol's values.
func summarize(rows []Row, pOf []int, protocols []string) []Summary {
	vals := make([][]float64, len(protocols))
	for i, r := range rows {
		vals[pOf[i]] = append(vals[pOf[i]], r.Value)
	}
	out := make([]Summary, len(protocols))
	for p, v := range vals {
		slices.Sort(v)
		out[p] = Summary{
			Protocol: protocols[p],
			N:        len(v),
			Median:   Quantile7(v, 0.5),
			Q1:       Quantile7(v, 0.25),
			Q3:       Quantile7(v, 0.75),
		}
	}
	return out
}

// cells holds the per-donor, per-protocol values the rank tests use.
type cells struct {
	complete   []int       // complete donors, in order of first appearance
	cols       [][]float64 // cols[p][i]: value of complete donor i under protocol p
	incomplete []int       // donors lacking some protocol
	missing    [][]int     // protocols each incomplete donor lacks
	replicated int         // donor×protocol cells with several rows
	example    [3]int      // donor, protocol and row count of the first replicated cell
}

// newCells collects the cell values: the value of a single row, or the mean of several.
func newCells(rows []Row, dOf, pOf []int, nDonors, k int) *cells {
	type key struct{ d, p int }
	type cell struct {
		n     int
		first float64
		sum   *big.Rat
	}
	byKey := make(map[key]*cell, len(rows))
	perDonor := make([][]int, nDonors) // protocols each donor has, in first-appearance order
	for i, r := range rows {
		kk := key{dOf[i], pOf[i]}
		ce := byKey[kk]
		if ce == nil {
			ce = &cell{first: r.Value}
			byKey[kk] = ce
			perDonor[dOf[i]] = append(perDonor[dOf[i]], pOf[i])
		}
		ce.n++
		if ce.n > 1 {
			// The exact mean, correctly rounded, as R's mean (long-double sum with a correction
			// pass) all but always gives; it cannot overflow.
			if ce.sum == nil {
				ce.sum = new(big.Rat).SetFloat64(ce.first)
			}
			ce.sum.Add(ce.sum, new(big.Rat).SetFloat64(r.Value))
		}
	}
	cs := &cells{cols: make([][]float64, k)}
	for d, ps := range perDonor {
		if len(ps) == k {
			cs.complete = append(cs.complete, d)
			continue
		}
		have := make([]bool, k)
		for _, p := range ps {
			have[p] = true
		}
		var miss []int
		for p := range k {
			if !have[p] {
				miss = append(miss, p)
			}
		}
		cs.incomplete = append(cs.incomplete, d)
		cs.missing = append(cs.missing, miss)
	}
	for p := range k {
		cs.cols[p] = make([]float64, len(cs.complete))
	}
	for i, d := range cs.complete {
		for p := range k {
			ce := byKey[key{d, p}]
			v := ce.first
			if ce.n > 1 {
				m := new(big.Rat).Quo(ce.sum, new(big.Rat).SetInt64(int64(ce.n)))
				v, _ = m.Float64()
			}
			cs.cols[p][i] = v
		}
	}
	for d, ps := range perDonor {
		for _, p := range ps {
			if n := byKey[key{d, p}].n; n > 1 {
				if cs.replicated == 0 {
					cs.example = [3]int{d, p, n}
				}
				cs.replicated++
			}
		}
	}
	return cs
}

// notes explains which donors the rank tests leave out and how replicates enter them.
func (cs *cells) notes(donors, protocols []string) []string {
	var notes []string
	if len(cs.incomplete) > 0 {
		const show = 10
		var parts []string
		for i, d := range cs.incomplete {
			if i == show {
				parts = append(parts, fmt.Sprintf("and %d more", len(cs.incomplete)-show))
				break
			}
			var miss []string
			for j, p := range cs.missing[i] {
				if j == 5 {
					miss = append(miss, fmt.Sprintf("and %d more", len(cs.missing[i])-5))
					break
				}
				miss = append(miss, protocols[p])
			}
			parts = append(parts, fmt.Sprintf("%s (no %s)", donors[d], strings.Join(miss, ", ")))
		}
		notes = append(notes, fmt.Sprintf("%d of %d donors lack a value for some protocol and are left out of the rank tests (the mixed model keeps them): %s",
			len(cs.incomplete), len(donors), strings.Join(parts, "; ")))
	}
	if cs.replicated > 0 {
		notes = append(notes, fmt.Sprintf("%d donor×protocol cells have several rows (e.g. donor %s, protocol %s: %d rows): the rank tests use each cell's mean, the mixed model uses every row",
			cs.replicated, donors[cs.example[0]], protocols[cs.example[1]], cs.example[2]))
	}
	return notes
}

// pairwise runs the Wilcoxon test of every pair i < j and adjusts the p-values by Holm. d is
// scratch of the length of the columns.
func pairwise(sr *signedRank, cols [][]float64, protocols []string, d []float64) []Pairwise {
	k := len(protocols)
	out := make([]Pairwise, 0, k*(k-1)/2)
	ps := make([]float64, 0, k*(k-1)/2)
	for a := 0; a < k; a++ {
		for b := a + 1; b < k; b++ {
			for i := range d {
				d[i] = cols[a][i] - cols[b][i]
			}
			w := sr.test(d)
			out = append(out, Pairwise{
				ProtocolA: protocols[a], ProtocolB: protocols[b],
				Statistic: w.Statistic, PValue: w.PValue, N: w.N, Exact: w.Exact, Note: w.Note,
			})
			p := math.NaN()
			if w.PValue != nil {
				p = *w.PValue
			}
			ps = append(ps, p)
		}
	}
	for i, h := range Holm(ps) {
		if !math.IsNaN(h) {
			out[i].PHolm = &h
		}
	}
	return out
}

// pairwiseNotes repeats the pairwise tests' notes: each pair for a few, a count for many.
func pairwiseNotes(pw []Pairwise) []string {
	const show = 5
	var order []string
	pairs := make(map[string][]string)
	for _, p := range pw {
		if p.Note == "" {
			continue
		}
		if _, ok := pairs[p.Note]; !ok {
			order = append(order, p.Note)
		}
		pairs[p.Note] = append(pairs[p.Note], p.ProtocolA+" vs "+p.ProtocolB)
	}
	var notes []string
	for _, note := range order {
		ps := pairs[note]
		if len(ps) <= show {
			notes = append(notes, fmt.Sprintf("pairwise Wilcoxon %s: %s", strings.Join(ps, ", "), note))
		} else {
			notes = append(notes, fmt.Sprintf("pairwise Wilcoxon, %d of %d pairs (e.g. %s): %s", len(ps), len(pw), ps[0], note))
		}
	}
	return notes
}
