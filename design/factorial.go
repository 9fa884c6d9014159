package design

import (
	"fmt"
	"math/bits"
	"slices"
	"strings"

	"github.com/clink-consortium/clink"
)

// MaxRuns bounds the runs of a factorial design.
const MaxRuns = 1 << 16

// FullFactorial returns every combination of levels[i] levels of factor i, as level indices
// 0 … levels[i]−1, in standard (Yates) order: the first factor changes fastest. Mixed numbers
// of levels are allowed; LevelsToUnit maps the runs onto the unit cube.
func FullFactorial(levels []int) ([][]int, error) {
	if len(levels) == 0 {
		return nil, clink.Invalid("levels", "at least one factor is required")
	}
	n := 1
	for i, l := range levels {
		if l < 2 {
			return nil, clink.Invalid(fmt.Sprintf("levels[%d]", i), "a factor needs at least 2 levels, got %d", l)
		}
		if l > MaxRuns || n*l > MaxRuns {
			return nil, clink.Invalid("levels", "the design would have more than %d runs", MaxRuns)
		}
		n *= l
	}
	runs := make([][]int, n)
	flat := make([]int, n*len(levels))
	for r := range runs {
		runs[r] = flat[r*len(levels) : (r+1)*len(levels)]
		q := r
		for i, l := range levels {
			runs[r][i] = q % l
			q /= l
		}
	}
	return runs, nil
}

// LevelsToUnit maps level indices of a factor with L levels to the unit coordinates
// 0, 1/(L−1), …, 1, so that FromUnit gives the lowest, evenly spaced and highest values of a
// numeric factor and level i of a categorical factor with L levels.
func LevelsToUnit(runs [][]int, levels []int) ([][]float64, error) {
	out := make([][]float64, len(runs))
	for r, run := range runs {
		if len(run) != len(levels) {
			return nil, clink.Invalid(fmt.Sprintf("runs[%d]", r), "has %d entries, want %d", len(run), len(levels))
		}
		out[r] = make([]float64, len(run))
		for i, j := range run {
			if levels[i] < 2 || j < 0 || j >= levels[i] {
				return nil, clink.Invalid(fmt.Sprintf("runs[%d][%d]", r, i), "level %d is outside 0–%d", j, levels[i]-1)
			}
			out[r][i] = float64(j) / float64(levels[i]-1)
		}
	}
	return out, nil
}

// CodedToUnit maps a two-level design coded −1/+1 (centre points 0) to the unit cube:
// u = (x + 1)/2.
func CodedToUnit(runs [][]float64) [][]float64 {
	out := make([][]float64, len(runs))
	for r, run := range runs {
		out[r] = make([]float64, len(run))
		for i, x := range run {
			out[r][i] = (x + 1) / 2
		}
	}
	return out
}

// AddCenterPoints returns the runs followed by n centre points (all coordinates 0 in the coded
// scale), which estimate pure error and detect curvature.
func AddCenterPoints(runs [][]float64, n int) [][]float64 {
	if n <= 0 || len(runs) == 0 {
		return runs
	}
	out := slices.Clone(runs)
	for range n {
		out = append(out, make([]float64, len(runs[0])))
	}
	return out
}

// FactorLetters name the factors of a two-level design in order, skipping I (the identity),
// as Montgomery and Box, Hunter & Hunter do: A … H, J, K, ….
const FactorLetters = "ABCDEFGHJKLMNOPQRSTUVWXYZ"

// Fraction is a regular two-level fractional factorial 2^(k−p): the full factorial in the
// first k−p (basic) factors, with each of the last p (generated) factors set to ± a product
// of basic factors by a generator such as "D=ABC".
type Fraction struct {
	K int `json:"k"`
	P int `json:"p"`
	// Factors are the factor letters, FactorLetters[:K].
	Factors []string `json:"factors"`
	// Generators in normal form: "D=ABC", "E=-ABD".
	Generators []string `json:"generators"`
	// Runs holds 2^(K−P) rows of K entries −1 or +1, in standard order of the basic factors
	// (A changes fastest).
	Runs [][]float64 `json:"runs"`
	// DefiningRelation holds the 2^P − 1 words w with I = w, shortest first, then in
	// letter order, with a leading '-' where I = −w. Empty for a full factorial.
	DefiningRelation []string `json:"defining_relation"`
	// Resolution is the length of the shortest word; 0 for a full factorial, which has none.
	Resolution int `json:"resolution"`
	// WordLengthPattern[i] is the number of words of length i (index 0 … K); minimum
	// aberration designs minimise it lexicographically from i = 3 on.
	WordLengthPattern []int `json:"word_length_pattern"`

	words []word
}

// word is a product of factors (bit i = factor i) with a sign.
type word struct {
	mask uint32
	neg  bool
}

func (w word) String(letters string) string {
	var b strings.Builder
	if w.neg {
		b.WriteByte('-')
	}
	for i := range len(letters) {
		if w.mask&(1<<i) != 0 {
			b.WriteByte(letters[i])
		}
	}
	return b.String()
}

// lessWord orders words (and effects) shortest first, then by their letters in order.
func lessWord(a, b uint32) int {
	if la, lb := bits.OnesCount32(a), bits.OnesCount32(b); la != lb {
		return la - lb
	}
	// Among equal lengths, the word whose lowest differing factor is present comes first:
	// AB < AC < BC.
	d := a ^ b
	if d == 0 {
		return 0
	}
	if a&(d&-d) != 0 {
		return -1
	}
	return 1
}

// FractionalFactorial builds the 2^(k−p) fraction with p = len(generators). Each generator
// defines one of the last p factors as a product of basic factors (the first k−p), optionally
// negated: "D=ABC", "E=-ABD"; spaces are ignored. No generators gives the full 2^k factorial.
// Generators that alias two main effects (resolution I or II, as "D=A", or "E=AB" with
// "F=AB") are rejected.
func FractionalFactorial(k int, generators []string) (*Fraction, error) {
	p := len(generators)
	switch {
	case k < 2 || k > len(FactorLetters):
		return nil, clink.Invalid("k", "a two-level design has 2–%d factors, got %d", len(FactorLetters), k)
	case p >= k:
		return nil, clink.Invalid("generators", "%d generators leave no basic factor among %d", p, k)
	case 1<<(k-p) > MaxRuns:
		return nil, clink.Invalid("generators", "2^(%d−%d) = 2^%d runs exceeds the limit of %d", k, p, k-p, MaxRuns)
	}
	letters := FactorLetters[:k]
	basic := k - p
	gens := make([]word, p) // gens[j] defines factor basic+j
	defined := make([]bool, p)
	var fe clink.FieldErrors
	for j, g := range generators {
		field := fmt.Sprintf("generators[%d]", j)
		lhs, rhs, ok := strings.Cut(strings.ReplaceAll(g, " ", ""), "=")
		if !ok || len(lhs) != 1 {
			fe.Addf(field, "%q: want the form D=ABC", g)
			continue
		}
		f := strings.IndexByte(letters, lhs[0])
		if f < basic {
			fe.Addf(field, "%q: the left side must be one of the generated factors %s", g, letters[basic:])
			continue
		}
		if defined[f-basic] {
			fe.Addf(field, "%q: factor %s is defined twice", g, lhs)
			continue
		}
		defined[f-basic] = true
		w := word{}
		if rhs != "" && (rhs[0] == '-' || rhs[0] == '+') {
			w.neg = rhs[0] == '-'
			rhs = rhs[1:]
		}
		if rhs == "" {
			fe.Addf(field, "%q: the right side names no factor", g)
			continue
		}
		for _, c := range []byte(rhs) {
			i := strings.IndexByte(letters[:basic], c)
			switch {
			case i < 0:
				fe.Addf(field, "%q: %q is not a basic factor (%s)", g, string(c), letters[:basic])
			case w.mask&(1<<i) != 0:
				fe.Addf(field, "%q: %q appears twice", g, string(c))
			}
			if i >= 0 {
				w.mask |= 1 << i
			}
		}
		gens[f-basic] = w
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	n := 1 << basic
	fr := &Fraction{K: k, P: p, Factors: make([]string, k), Runs: make([][]float64, n)}
	for i := range k {
		fr.Factors[i] = letters[i : i+1]
	}
	flat := make([]float64, n*k)
	for r := range n {
		row := flat[r*k : (r+1)*k]
		for i := range basic {
			row[i] = float64(2*((r>>i)&1) - 1)
		}
		for j, g := range gens {
			x := 1.0
			if g.neg {
				x = -1
			}
			for i := range basic {
				if g.mask&(1<<i) != 0 {
					x *= row[i]
				}
			}
			row[basic+j] = x
		}
		fr.Runs[r] = row
	}
	// The defining relation is the group generated by the words I = ±(generated factor ×
	// its generator).
	for j, g := range gens {
		fr.Generators = append(fr.Generators, letters[basic+j:basic+j+1]+"="+g.String(letters))
	}
	for sub := 1; sub < 1<<p; sub++ {
		var w word
		for j, g := range gens {
			if sub&(1<<j) != 0 {
				w.mask ^= g.mask | 1<<(basic+j)
				w.neg = w.neg != g.neg
			}
		}
		fr.words = append(fr.words, w)
	}
	slices.SortFunc(fr.words, func(a, b word) int { return lessWord(a.mask, b.mask) })
	fr.DefiningRelation = []string{}
	fr.WordLengthPattern = make([]int, k+1)
	for _, w := range fr.words {
		fr.DefiningRelation = append(fr.DefiningRelation, w.String(letters))
		l := bits.OnesCount32(w.mask)
		fr.WordLengthPattern[l]++
		if fr.Resolution == 0 || l < fr.Resolution {
			fr.Resolution = l
		}
	}
	if fr.Generators == nil {
		fr.Generators = []string{}
	}
	if fr.P > 0 && fr.Resolution < 3 {
		return nil, clink.Invalid("generators", "the defining relation holds the word %s, so main effects are aliased with each other (resolution %s); each generator needs at least two basic factors, and no two the same ones", fr.DefiningRelation[0], roman(fr.Resolution))
	}
	return fr, nil
}

// String names the design as textbooks do: "2^(7-4) III", or "2^3" for a full factorial.
func (f *Fraction) String() string {
	if f.P == 0 {
		return fmt.Sprintf("2^%d", f.K)
	}
	return fmt.Sprintf("2^(%d-%d) %s", f.K, f.P, roman(f.Resolution))
}

func roman(n int) string {
	r := []string{"", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X"}
	if n >= 0 && n < len(r) {
		return r[n]
	}
	return fmt.Sprint(n)
}

// AliasChain is one set of effects the fraction cannot tell apart: Effect = each of Aliases
// (a leading '-' where the alias enters with a minus sign).
type AliasChain struct {
	Effect  string   `json:"effect"`
	Aliases []string `json:"aliases"`
}

// Aliases returns the alias structure among effects of up to maxOrder factors (1: main
// effects, 2: also two-factor interactions, …), ignoring higher interactions as textbooks do.
// Every such effect appears in exactly one chain; a chain with no aliases is an effect that is
// clear of every other effect of up to maxOrder factors. Chains come in effect order (A, B, …,
// AB, AC, …).
func (f *Fraction) Aliases(maxOrder int) []AliasChain {
	maxOrder = min(max(maxOrder, 1), f.K)
	letters := FactorLetters[:f.K]
	var effects []uint32
	for m := uint32(1); m < 1<<f.K; m++ {
		if bits.OnesCount32(m) <= maxOrder {
			effects = append(effects, m)
		}
	}
	slices.SortFunc(effects, lessWord)
	done := map[uint32]bool{}
	var chains []AliasChain
	for _, e := range effects {
		if done[e] {
			continue
		}
		done[e] = true
		c := AliasChain{Effect: word{mask: e}.String(letters), Aliases: []string{}}
		var al []word
		for _, w := range f.words {
			a := word{mask: e ^ w.mask, neg: w.neg}
			if a.mask != 0 && bits.OnesCount32(a.mask) <= maxOrder {
				al = append(al, a)
				done[a.mask] = true
			}
		}
		slices.SortFunc(al, func(a, b word) int { return lessWord(a.mask, b.mask) })
		for _, a := range al {
			c.Aliases = append(c.Aliases, a.String(letters))
		}
		chains = append(chains, c)
	}
	return chains
}

// standardGenerators are minimum aberration generators for common 2^(k−p) fractions, as
// printed in Montgomery, Design and Analysis of Experiments (8th ed., 2013), Table 8.14
// ("Selected 2^(k−p) fractional factorial designs"), which follows Box, Hunter & Hunter,
// Statistics for Experimenters (2nd ed., 2005), Table 6.22. Only entries whose resolution and
// word length pattern the tests verify are kept: the tests recompute each entry's resolution
// against the book and check, by enumerating every choice of generated columns, that no
// regular fraction of the same size has a smaller word length pattern (minimum aberration,
// Fries & Hunter 1980).
var standardGenerators = map[[2]int][]string{
	{3, 1}:  {"C=AB"},
	{4, 1}:  {"D=ABC"},
	{5, 1}:  {"E=ABCD"},
	{5, 2}:  {"D=AB", "E=AC"},
	{6, 1}:  {"F=ABCDE"},
	{6, 2}:  {"E=ABC", "F=BCD"},
	{6, 3}:  {"D=AB", "E=AC", "F=BC"},
	{7, 1}:  {"G=ABCDEF"},
	{7, 2}:  {"F=ABCD", "G=ABDE"},
	{7, 3}:  {"E=ABC", "F=BCD", "G=ACD"},
	{7, 4}:  {"D=AB", "E=AC", "F=BC", "G=ABC"},
	{8, 2}:  {"G=ABCD", "H=ABEF"},
	{8, 3}:  {"F=ABC", "G=ABD", "H=BCDE"},
	{8, 4}:  {"E=BCD", "F=ACD", "G=ABC", "H=ABD"},
	{9, 2}:  {"H=ACDFG", "J=BCEFG"},
	{9, 3}:  {"G=ABCD", "H=ACEF", "J=CDEF"},
	{9, 4}:  {"F=BCDE", "G=ACDE", "H=ABDE", "J=ABCE"},
	{9, 5}:  {"E=ABC", "F=BCD", "G=ACD", "H=ABD", "J=ABCD"},
	{10, 3}: {"H=ABCG", "J=BCDE", "K=ACDF"},
	{10, 4}: {"G=BCDF", "H=ACDF", "J=ABDE", "K=ABCE"},
	{10, 5}: {"F=ABCD", "G=ABCE", "H=ABDE", "J=ACDE", "K=BCDE"},
	{10, 6}: {"E=ABC", "F=BCD", "G=ACD", "H=ABD", "J=ABCD", "K=AB"},
	{11, 5}: {"G=CDE", "H=ABCD", "J=ABF", "K=BDEF", "L=ADEF"},
	{11, 6}: {"F=ABC", "G=BCD", "H=CDE", "J=ACD", "K=ADE", "L=BDE"},
	{11, 7}: {"E=ABC", "F=BCD", "G=ACD", "H=ABD", "J=ABCD", "K=AB", "L=AC"},
}

// StandardGenerators returns the minimum aberration generators of the 2^(k−p) fraction from
// the table at standardGenerators (k = 3 … 11), for use with FractionalFactorial.
func StandardGenerators(k, p int) ([]string, error) {
	g, ok := standardGenerators[[2]int{k, p}]
	if !ok {
		var have []string
		for key := range standardGenerators {
			have = append(have, fmt.Sprintf("2^(%d-%d)", key[0], key[1]))
		}
		slices.Sort(have)
		return nil, clink.Invalid("p", "no standard generators for 2^(%d-%d); the table holds %s", k, p, strings.Join(have, ", "))
	}
	return slices.Clone(g), nil
}
