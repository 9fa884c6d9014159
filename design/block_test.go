package design

import (
	"fmt"
	"slices"
	"testing"

	"github.com/clink-consortium/clink"
)

// checkBlocks recounts replication and concurrence from the blocks and compares them with
// what the design reports; it also checks the reference arms and distinct conditions.
func checkBlocks(tb testing.TB, d *BlockDesign, opt BlockOptions) {
	tb.Helper()
	refs := max(opt.References, 1)
	if len(d.Blocks) != opt.Donors {
		tb.Fatalf("got %d blocks, want %d", len(d.Blocks), opt.Donors)
	}
	rep := make([]int, opt.Conditions)
	conc := make([][]int, opt.Conditions)
	for i := range conc {
		conc[i] = make([]int, opt.Conditions)
	}
	for k, blk := range d.Blocks {
		if len(blk) != opt.PerDonor {
			tb.Fatalf("block %d has %d arms, want %d", k, len(blk), opt.PerDonor)
		}
		for i := range refs {
			if blk[i] != Reference {
				tb.Fatalf("block %d: arm %d is %d, want the reference", k, i, blk[i])
			}
		}
		conds := blk[refs:]
		if !slices.IsSorted(conds) {
			tb.Errorf("block %d: conditions %v are not sorted", k, conds)
		}
		for i, c := range conds {
			if c < 0 || c >= opt.Conditions || (i > 0 && conds[i-1] == c) {
				tb.Fatalf("block %d: conditions %v are not distinct conditions 0–%d", k, conds, opt.Conditions-1)
			}
			rep[c]++
			for _, e := range conds {
				if e != c {
					conc[c][e]++
				}
			}
		}
	}
	for i := range rep {
		conc[i][i] = rep[i]
	}
	if !slices.Equal(rep, d.Replication) {
		tb.Errorf("replication: reported %v, recounted %v", d.Replication, rep)
	}
	for i := range conc {
		if !slices.Equal(conc[i], d.Concurrence[i]) {
			tb.Errorf("concurrence row %d: reported %v, recounted %v", i, d.Concurrence[i], conc[i])
		}
	}
	if slices.Max(rep)-slices.Min(rep) > 1 {
		tb.Errorf("replication %v differs by more than one", rep)
	}
}

// TestBlockByDonorBIBD checks that balanced incomplete block designs known to exist are found:
// the Fano plane (v = 7, k = 3, b = 7, λ = 1), the affine plane of order 3 (9, 3, 12, 1), the
// (6, 3, 10, 2) design, the biplane (11, 5, 11, 2) of the difference set {1, 3, 4, 5, 9} mod 11
// and the projective plane of order 3 (13, 4, 13, 1). Replication is r = bk/v and every pair
// of conditions meets on λ = r(k − 1)/(v − 1) donors; with the reference arm each donor gets
// k + 1 arms.
func TestBlockByDonorBIBD(t *testing.T) {
	for _, tc := range []struct{ v, k, b, r, lambda int }{
		{7, 3, 7, 3, 1},
		{9, 3, 12, 4, 1},
		{6, 3, 10, 5, 2},
		{11, 5, 11, 5, 2},
		{13, 4, 13, 4, 1},
	} {
		t.Run(fmt.Sprintf("v%d_k%d_b%d", tc.v, tc.k, tc.b), func(t *testing.T) {
			opt := BlockOptions{Conditions: tc.v, Donors: tc.b, PerDonor: tc.k + 1, Seed: 1}
			d, err := BlockByDonor(opt)
			if err != nil {
				t.Fatal(err)
			}
			checkBlocks(t, d, opt)
			if !d.Balanced || d.PairMin != tc.lambda || d.PairMax != tc.lambda {
				t.Errorf("got balanced %v, pairs %d–%d; want a BIBD with λ = %d", d.Balanced, d.PairMin, d.PairMax, tc.lambda)
			}
			for i, r := range d.Replication {
				if r != tc.r {
					t.Errorf("condition %d: replication %d, want %d", i, r, tc.r)
				}
			}
		})
	}
}

func TestBlockByDonorUnbalanced(t *testing.T) {
	for _, tc := range []struct {
		opt              BlockOptions
		pairMin, pairMax int
	}{
		// 6 conditions, 4 donors × 3: 12 pair meetings over 15 pairs, so λ ∈ {0, 1} at best.
		{BlockOptions{Conditions: 6, Donors: 4, PerDonor: 4, Seed: 3}, 0, 1},
		// 8 conditions, 6 donors × 4 with 2 reference arms: 6 meetings over 28 pairs.
		{BlockOptions{Conditions: 8, Donors: 6, PerDonor: 4, References: 2, Seed: 3}, 0, 1},
		// 10 conditions, 10 donors × 5 (+1 reference): 100 meetings over 45 pairs: λ ∈ {2, 3}.
		{BlockOptions{Conditions: 10, Donors: 10, PerDonor: 6, Seed: 3}, 2, 3},
		// 5 conditions, 3 donors × 4 (+1 reference): each donor lacks one condition, so two
		// conditions each lacking from one donor meet once, and two present everywhere thrice.
		{BlockOptions{Conditions: 5, Donors: 3, PerDonor: 5, Seed: 3}, 1, 3},
	} {
		d, err := BlockByDonor(tc.opt)
		if err != nil {
			t.Fatal(err)
		}
		checkBlocks(t, d, tc.opt)
		if d.PairMin != tc.pairMin || d.PairMax != tc.pairMax || d.Balanced {
			t.Errorf("%+v: got pairs %d–%d (balanced %v), want %d–%d", tc.opt, d.PairMin, d.PairMax, d.Balanced, tc.pairMin, tc.pairMax)
		}
	}
}

func TestBlockByDonorComplete(t *testing.T) {
	// Every donor gets every condition: a randomised complete block design.
	opt := BlockOptions{Conditions: 5, Donors: 4, PerDonor: 6}
	d, err := BlockByDonor(opt)
	if err != nil {
		t.Fatal(err)
	}
	checkBlocks(t, d, opt)
	if !d.Balanced || d.PairMin != 4 || d.PairMax != 4 {
		t.Errorf("got balanced %v, pairs %d–%d; want balanced, 4–4", d.Balanced, d.PairMin, d.PairMax)
	}
	// One condition per donor: no pairs.
	opt = BlockOptions{Conditions: 3, Donors: 7, PerDonor: 2}
	d, err = BlockByDonor(opt)
	if err != nil {
		t.Fatal(err)
	}
	checkBlocks(t, d, opt)
	if d.PairMin != 0 || d.PairMax != 0 {
		t.Errorf("one condition per donor: got pairs %d–%d, want 0–0", d.PairMin, d.PairMax)
	}
}

func TestBlockByDonorSeeds(t *testing.T) {
	opt := BlockOptions{Conditions: 10, Donors: 8, PerDonor: 5, Seed: 42}
	a, _ := BlockByDonor(opt)
	b, _ := BlockByDonor(opt)
	if fmt.Sprint(a.Blocks) != fmt.Sprint(b.Blocks) {
		t.Errorf("the same seed gave %v and %v", a.Blocks, b.Blocks)
	}
	opt.Seed = 43
	c, _ := BlockByDonor(opt)
	if fmt.Sprint(a.Blocks) == fmt.Sprint(c.Blocks) {
		t.Errorf("seeds 42 and 43 gave the same design %v", a.Blocks)
	}
}

func TestBlockByDonorErrors(t *testing.T) {
	for _, tc := range []struct {
		opt   BlockOptions
		field string
	}{
		{BlockOptions{Conditions: 0, Donors: 3, PerDonor: 3}, "conditions"},
		{BlockOptions{Conditions: 3, Donors: 0, PerDonor: 3}, "donors"},
		{BlockOptions{Conditions: 3, Donors: 3, PerDonor: 1}, "per_donor"},
		{BlockOptions{Conditions: 3, Donors: 3, PerDonor: 3, References: 3}, "references"},
		{BlockOptions{Conditions: 3, Donors: 3, PerDonor: 3, References: -1}, "references"},
		{BlockOptions{Conditions: 3, Donors: 3, PerDonor: 6}, "per_donor"},
		{BlockOptions{Conditions: 3, Donors: 3, PerDonor: 3, Iterations: -1}, "iterations"},
	} {
		_, err := BlockByDonor(tc.opt)
		if f := clink.ErrorFields(err); len(f) == 0 || f[0].Field != tc.field {
			t.Errorf("BlockByDonor(%+v): got %v, want an error on %s", tc.opt, err, tc.field)
		}
	}
}
