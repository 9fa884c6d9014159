package design

import (
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"testing"

	"github.com/clink-consortium/clink"
	"github.com/google/go-cmp/cmp"
)

func TestFullFactorial(t *testing.T) {
	tests := []struct {
		levels []int
		want   [][]int
	}{
		{[]int{2, 2}, [][]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}}},
		{[]int{3, 2}, [][]int{{0, 0}, {1, 0}, {2, 0}, {0, 1}, {1, 1}, {2, 1}}},
	}
	for _, tc := range tests {
		got, err := FullFactorial(tc.levels)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("FullFactorial(%v) (-want +got):\n%s", tc.levels, d)
		}
	}
	// Mixed levels: every combination exactly once, each level of a factor equally often.
	levels := []int{3, 4, 2, 5}
	runs, err := FullFactorial(levels)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 120 {
		t.Fatalf("got %d runs, want 3·4·2·5 = 120", len(runs))
	}
	seen := map[string]bool{}
	count := make([]map[int]int, len(levels))
	for i := range count {
		count[i] = map[int]int{}
	}
	for _, r := range runs {
		seen[fmt.Sprint(r)] = true
		for i, x := range r {
			count[i][x]++
		}
	}
	if len(seen) != 120 {
		t.Errorf("got %d distinct runs, want 120", len(seen))
	}
	for i, l := range levels {
		for x := range l {
			if count[i][x] != 120/l {
				t.Errorf("factor %d level %d appears %d times, want %d", i, x, count[i][x], 120/l)
			}
		}
	}
	for _, bad := range [][]int{nil, {2, 1}, {2, 0}, {1 << 10, 1 << 10}} {
		if _, err := FullFactorial(bad); clink.ErrorCode(err) != clink.EINVALID {
			t.Errorf("FullFactorial(%v): got %v, want an EINVALID error", bad, err)
		}
	}
	u, err := LevelsToUnit([][]int{{0, 2, 1}, {1, 1, 0}}, []int{2, 3, 4})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([][]float64{{0, 1, 1.0 / 3}, {1, 0.5, 0}}, u); d != "" {
		t.Errorf("LevelsToUnit (-want +got):\n%s", d)
	}
}

// textbookFractions lists designs with the resolution and the defining relation printed in
// Montgomery, Design and Analysis of Experiments (8th ed.), §8.2–8.5 and Table 8.14, and Box,
// Hunter & Hunter (2005), Table 6.22. The defining words were also multiplied out by hand.
var textbookFractions = []struct {
	k          int
	gens       []string
	resolution int
	relation   []string // nil: not checked
}{
	{3, []string{"C=AB"}, 3, []string{"ABC"}},
	{4, []string{"D=ABC"}, 4, []string{"ABCD"}},
	{4, []string{"D=-ABC"}, 4, []string{"-ABCD"}},
	{5, []string{"E=ABCD"}, 5, []string{"ABCDE"}},
	{5, []string{"D=AB", "E=AC"}, 3, []string{"ABD", "ACE", "BCDE"}},
	{6, []string{"E=ABC", "F=BCD"}, 4, []string{"ABCE", "ADEF", "BCDF"}},
	{6, []string{"D=AB", "E=AC", "F=BC"}, 3, []string{"ABD", "ACE", "BCF", "DEF", "ABEF", "ACDF", "BCDE"}},
	{7, []string{"F=ABCD", "G=ABDE"}, 4, []string{"CEFG", "ABCDF", "ABDEG"}},
	{7, []string{"E=ABC", "F=BCD", "G=ACD"}, 4, []string{"ABCE", "ABFG", "ACDG", "ADEF", "BCDF", "BDEG", "CEFG"}},
	{7, []string{"D=AB", "E=AC", "F=BC", "G=ABC"}, 3, nil},
	{8, []string{"G=ABCD", "H=ABEF"}, 5, []string{"ABCDG", "ABEFH", "CDEFGH"}},
	{8, []string{"F=ABC", "G=ABD", "H=BCDE"}, 4, nil},
	{8, []string{"E=BCD", "F=ACD", "G=ABC", "H=ABD"}, 4, nil},
	{9, []string{"H=ACDFG", "J=BCEFG"}, 6, nil},
	{9, []string{"G=ABCD", "H=ACEF", "J=CDEF"}, 4, nil},
	{9, []string{"F=BCDE", "G=ACDE", "H=ABDE", "J=ABCE"}, 4, nil},
	{9, []string{"E=ABC", "F=BCD", "G=ACD", "H=ABD", "J=ABCD"}, 3, nil},
}

func TestFractionResolutionAndRelation(t *testing.T) {
	for _, tc := range textbookFractions {
		t.Run(fmt.Sprintf("%d-%s", tc.k, strings.Join(tc.gens, ",")), func(t *testing.T) {
			f, err := FractionalFactorial(tc.k, tc.gens)
			if err != nil {
				t.Fatal(err)
			}
			if f.Resolution != tc.resolution {
				t.Errorf("%s: got resolution %d, want %d", f, f.Resolution, tc.resolution)
			}
			if len(f.DefiningRelation) != 1<<len(tc.gens)-1 {
				t.Errorf("got %d defining words, want 2^p − 1 = %d", len(f.DefiningRelation), 1<<len(tc.gens)-1)
			}
			if tc.relation != nil {
				if d := cmp.Diff(tc.relation, f.DefiningRelation); d != "" {
					t.Errorf("defining relation (-want +got):\n%s", d)
				}
			}
			checkFractionRuns(t, f)
		})
	}
}

// checkFractionRuns checks what every regular two-level fraction must satisfy: 2^(k−p)
// distinct runs of ±1, X'X = n·I for the intercept and main effects (and for the two-factor
// interactions too at resolution V or more), each generated column equal to ± its generator's
// product, and every defining word constant (all +1, or all −1 for a negative word).
func checkFractionRuns(t *testing.T, f *Fraction) {
	t.Helper()
	n := len(f.Runs)
	if n != 1<<(f.K-f.P) {
		t.Fatalf("got %d runs, want 2^(%d−%d) = %d", n, f.K, f.P, 1<<(f.K-f.P))
	}
	seen := map[string]bool{}
	for _, r := range f.Runs {
		if len(r) != f.K {
			t.Fatalf("run %v has %d entries, want %d", r, len(r), f.K)
		}
		for _, x := range r {
			if x != 1 && x != -1 {
				t.Fatalf("run %v holds %g, want ±1", r, x)
			}
		}
		seen[fmt.Sprint(r)] = true
	}
	if len(seen) != n {
		t.Errorf("got %d distinct runs, want %d", len(seen), n)
	}
	// Model columns: intercept, mains, and two-factor interactions when resolution ≥ 5.
	cols := [][]float64{}
	names := []string{}
	col := func(mask uint32) []float64 {
		c := make([]float64, n)
		for r, run := range f.Runs {
			c[r] = 1
			for i := range f.K {
				if mask&(1<<i) != 0 {
					c[r] *= run[i]
				}
			}
		}
		return c
	}
	cols, names = append(cols, col(0)), append(names, "I")
	for i := range f.K {
		cols, names = append(cols, col(1<<i)), append(names, f.Factors[i])
	}
	if f.P == 0 || f.Resolution >= 5 {
		for i := range f.K {
			for j := i + 1; j < f.K; j++ {
				cols, names = append(cols, col(1<<i|1<<j)), append(names, f.Factors[i]+f.Factors[j])
			}
		}
	}
	for a := range cols {
		for b := a; b < len(cols); b++ {
			dot := 0.0
			for r := range n {
				dot += cols[a][r] * cols[b][r]
			}
			want := 0.0
			if a == b {
				want = float64(n)
			}
			if dot != want {
				t.Errorf("X'X[%s,%s]: got %g, want %g", names[a], names[b], dot, want)
			}
		}
	}
	for _, w := range f.DefiningRelation {
		neg := strings.HasPrefix(w, "-")
		var mask uint32
		for _, c := range strings.TrimPrefix(w, "-") {
			mask |= 1 << strings.IndexRune(FactorLetters, c)
		}
		want := 1.0
		if neg {
			want = -1
		}
		for r, x := range col(mask) {
			if x != want {
				t.Errorf("word %s: run %d gives %g, want %g", w, r, x, want)
				break
			}
		}
	}
}

func TestFullTwoLevel(t *testing.T) {
	f, err := FractionalFactorial(4, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.Resolution != 0 || len(f.DefiningRelation) != 0 || f.String() != "2^4" {
		t.Errorf("full 2^4: got resolution %d, relation %v, name %q; want 0, none, 2^4", f.Resolution, f.DefiningRelation, f)
	}
	checkFractionRuns(t, f)
	// Standard order: A changes fastest.
	if d := cmp.Diff([]float64{-1, -1, -1, -1}, f.Runs[0]); d != "" {
		t.Errorf("first run (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]float64{1, -1, -1, -1}, f.Runs[1]); d != "" {
		t.Errorf("second run (-want +got):\n%s", d)
	}
}

func TestStandardGeneratorsResolution(t *testing.T) {
	// The resolution Montgomery's Table 8.14 prints for each entry.
	want := map[[2]int]int{
		{3, 1}: 3, {4, 1}: 4, {5, 1}: 5, {5, 2}: 3, {6, 1}: 6, {6, 2}: 4, {6, 3}: 3,
		{7, 1}: 7, {7, 2}: 4, {7, 3}: 4, {7, 4}: 3, {8, 2}: 5, {8, 3}: 4, {8, 4}: 4,
		{9, 2}: 6, {9, 3}: 4, {9, 4}: 4, {9, 5}: 3,
		{10, 3}: 5, {10, 4}: 4, {10, 5}: 4, {10, 6}: 3,
		{11, 5}: 4, {11, 6}: 4, {11, 7}: 3,
	}
	if len(want) != len(standardGenerators) {
		t.Errorf("the table has %d entries and the test knows %d", len(standardGenerators), len(want))
	}
	for kp, res := range want {
		g, err := StandardGenerators(kp[0], kp[1])
		if err != nil {
			t.Errorf("2^(%d-%d): %v", kp[0], kp[1], err)
			continue
		}
		f, err := FractionalFactorial(kp[0], g)
		if err != nil {
			t.Errorf("2^(%d-%d): %v", kp[0], kp[1], err)
			continue
		}
		if f.Resolution != res || f.P != kp[1] {
			t.Errorf("2^(%d-%d) from %v: got p = %d, resolution %d; want %d, %d", kp[0], kp[1], g, f.P, f.Resolution, kp[1], res)
		}
	}
	if _, err := StandardGenerators(12, 8); clink.ErrorCode(err) != clink.EINVALID {
		t.Errorf("StandardGenerators(12, 8): got %v, want an EINVALID error", err)
	}
}

// TestStandardGeneratorsMinimumAberration enumerates every regular 2^(k−p) fraction (every set
// of p distinct interaction columns of the k−p basic factors as generated factors) and checks
// that none has a word length pattern lexicographically smaller than the table's entry.
func TestStandardGeneratorsMinimumAberration(t *testing.T) {
	for kp, gens := range standardGenerators {
		k, p := kp[0], kp[1]
		f, err := FractionalFactorial(k, gens)
		if err != nil {
			t.Fatal(err)
		}
		best := minimumAberrationWLP(k, p)
		if d := cmp.Diff(best, f.WordLengthPattern); d != "" {
			t.Errorf("2^(%d-%d) %v: word length pattern differs from the minimum aberration one (-best +table):\n%s", k, p, gens, d)
		}
	}
}

// TestMinimumAberrationSearchDetects checks that the brute force tells a worse design apart:
// the 2^(7−2) with F = ABC, G = ADE has words ABCF, ADEG, BCDEFG (two of length 4), while the
// minimum aberration one, F = ABCD, G = ABDE, has one (CEFG).
func TestMinimumAberrationSearchDetects(t *testing.T) {
	f, err := FractionalFactorial(7, []string{"F=ABC", "G=ADE"})
	if err != nil {
		t.Fatal(err)
	}
	want := []int{0, 0, 0, 0, 2, 0, 1, 0}
	if d := cmp.Diff(want, f.WordLengthPattern); d != "" {
		t.Errorf("word length pattern (-want +got):\n%s", d)
	}
	best := minimumAberrationWLP(7, 2)
	if d := cmp.Diff([]int{0, 0, 0, 0, 1, 2, 0, 0}, best); d != "" {
		t.Errorf("minimum aberration 2^(7-2) word length pattern (-want +got):\n%s", d)
	}
	if slices.Compare(best, f.WordLengthPattern) >= 0 {
		t.Errorf("the search does not rank %v below %v", best, f.WordLengthPattern)
	}
}

// minimumAberrationWLP returns the lexicographically smallest word length pattern of any
// regular 2^(k−p) fraction, by brute force.
func minimumAberrationWLP(k, p int) []int {
	basic := k - p
	var cols []uint32
	for m := uint32(1); m < 1<<basic; m++ {
		if bits.OnesCount32(m) >= 2 {
			cols = append(cols, m)
		}
	}
	var best []int
	choice := make([]uint32, p)
	var rec func(start, depth int)
	rec = func(start, depth int) {
		if depth == p {
			wlp := make([]int, k+1)
			for sub := 1; sub < 1<<p; sub++ {
				var m uint32
				for j := range p {
					if sub&(1<<j) != 0 {
						m ^= choice[j]
					}
				}
				wlp[bits.OnesCount32(m)+bits.OnesCount(uint(sub))]++
			}
			if best == nil || slices.Compare(wlp, best) < 0 {
				best = wlp
			}
			return
		}
		for i := start; i < len(cols); i++ {
			choice[depth] = cols[i]
			rec(i+1, depth+1)
		}
	}
	rec(0, 0)
	return best
}

func TestAliases(t *testing.T) {
	// Montgomery §8.2: the 2^(4−1) with I = ABCD has A = BCD, …, AB = CD, AC = BD, AD = BC.
	f, err := FractionalFactorial(4, []string{"D=ABC"})
	if err != nil {
		t.Fatal(err)
	}
	want := []AliasChain{
		{"A", []string{}}, {"B", []string{}}, {"C", []string{}}, {"D", []string{}},
		{"AB", []string{"CD"}}, {"AC", []string{"BD"}}, {"AD", []string{"BC"}},
	}
	if d := cmp.Diff(want, f.Aliases(2)); d != "" {
		t.Errorf("2^(4-1) aliases to order 2 (-want +got):\n%s", d)
	}
	wantAll := []AliasChain{
		{"A", []string{"BCD"}}, {"B", []string{"ACD"}}, {"C", []string{"ABD"}}, {"D", []string{"ABC"}},
		{"AB", []string{"CD"}}, {"AC", []string{"BD"}}, {"AD", []string{"BC"}},
		{"ABCD", []string{}},
	}
	if d := cmp.Diff(wantAll, f.Aliases(4)); d != "" {
		t.Errorf("2^(4-1) aliases to order 4 (-want +got):\n%s", d)
	}
	// Montgomery §8.5, the saturated 2^(7−4) III with D = AB, E = AC, F = BC, G = ABC:
	// ignoring three-factor and higher interactions, A = BD = CE = FG.
	f, err = FractionalFactorial(7, []string{"D=AB", "E=AC", "F=BC", "G=ABC"})
	if err != nil {
		t.Fatal(err)
	}
	chains := f.Aliases(2)
	if d := cmp.Diff(AliasChain{"A", []string{"BD", "CE", "FG"}}, chains[0]); d != "" {
		t.Errorf("2^(7-4) chain of A (-want +got):\n%s", d)
	}
	if len(chains) != 7 {
		t.Errorf("2^(7-4): got %d alias chains among mains and two-factor interactions, want 7 (one per main effect)", len(chains))
	}
	// A negative generator puts minus signs on the aliases: I = −ABCD gives AB = −CD.
	f, err = FractionalFactorial(4, []string{"D=-ABC"})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Aliases(2)[4]; got.Effect != "AB" || !slices.Equal(got.Aliases, []string{"-CD"}) {
		t.Errorf("2^(4-1) with D = −ABC: got %v, want AB = -CD", got)
	}
}

func TestFractionalFactorialErrors(t *testing.T) {
	tests := []struct {
		k    int
		gens []string
		want string
	}{
		{1, nil, "k"},
		{26, nil, "k"},
		{4, []string{"D"}, "want the form D=ABC"},
		{4, []string{"A=BCD"}, "left side must be one of the generated factors"},
		{5, []string{"E=ABC", "E=ABD"}, "defined twice"},
		{4, []string{"D=ABX"}, "is not a basic factor"},
		{4, []string{"D=AAB"}, "appears twice"},
		{4, []string{"D="}, "names no factor"},
		{4, []string{"D=-"}, "names no factor"},
		{5, []string{"D=AB", "E=AD"}, "is not a basic factor"},
		{3, []string{"B=A", "C=A", "A=B"}, "no basic factor"},
		{20, []string{"T=AB"}, "exceeds the limit"},
		{4, []string{"D=A"}, "word AD"},
		{5, []string{"D=AB", "E=AB"}, "word DE"},
	}
	for _, tc := range tests {
		_, err := FractionalFactorial(tc.k, tc.gens)
		if clink.ErrorCode(err) != clink.EINVALID || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("FractionalFactorial(%d, %q): got %v, want an EINVALID error containing %q", tc.k, tc.gens, err, tc.want)
		}
	}
}

func TestCenterAndCoded(t *testing.T) {
	f, err := FractionalFactorial(3, []string{"C=AB"})
	if err != nil {
		t.Fatal(err)
	}
	runs := AddCenterPoints(f.Runs, 2)
	if len(runs) != 6 || len(f.Runs) != 4 {
		t.Fatalf("got %d runs with centre points (%d before), want 6 (4)", len(runs), len(f.Runs))
	}
	if d := cmp.Diff([]float64{0, 0, 0}, runs[5]); d != "" {
		t.Errorf("centre point (-want +got):\n%s", d)
	}
	u := CodedToUnit(runs)
	if d := cmp.Diff([][]float64{{0, 0, 1}, {1, 0, 0}, {0, 1, 0}, {1, 1, 1}, {0.5, 0.5, 0.5}, {0.5, 0.5, 0.5}}, u); d != "" {
		t.Errorf("CodedToUnit (-want +got):\n%s", d)
	}
	if f.String() != "2^(3-1) III" {
		t.Errorf("got name %q, want 2^(3-1) III", f)
	}
}
