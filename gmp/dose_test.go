package gmp

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// example1 is gmp.md §5 worked example 1: TNC 2.0×10⁷/mL, viability 92 %, NK 94 %, CD3+ 0.6 %,
// BW 72.4 kg, target 1×10⁷ NK/kg, cap 1×10⁵ CD3+/kg, 95 mL available, endotoxin 0.5 EU/mL,
// cryopreserved in 10 % DMSO.
func example1() DoseInput {
	endo := 0.5
	return DoseInput{TNCPerML: 2.0e7, ViabilityPct: 92, NKPurityPct: 94, CD3Pct: 0.6, AvailableML: 95,
		WeightKg: 72.4, TargetNKPerKg: 1e7, CD3CapPerKg: 1e5, EndotoxinEUPerML: &endo,
		Cryopreserved: true, DMSOGPerML: DMSOGPerMLFromPct(10)}
}

// near reports whether got is within rel of want.
func near(got, want, rel float64) bool {
	if want == 0 {
		return got == 0
	}
	return math.Abs(got-want) <= rel*math.Abs(want)
}

// sig rounds x to n significant digits, to compare with the figures gmp.md prints.
func sig(x float64, n int) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'g', n, 64), 64)
	return v
}

// TestWorkedExamples reproduces gmp.md §5. Exact values come from testdata/dose_examples.py
// (rational arithmetic on the same inputs); the printed figures of gmp.md are checked at the
// precision gmp.md gives them.
func TestWorkedExamples(t *testing.T) {
	type check struct {
		name  string
		got   float64
		exact float64 // from dose_examples.py
		doc   float64 // as printed in gmp.md, 0 when it prints none
		sig   int     // its significant digits
	}
	t.Run("example 1, NK target limits", func(t *testing.T) {
		d, err := CalculateDose(example1())
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []check{
			{"c_NK", d.NKPerML, 17296000, 1.7296e7, 5},
			{"c_T", d.CD3PerML, 110400, 1.104e5, 4},
			{"V_NK", d.VolumeNKML, 41.859389454209065, 41.86, 4},
			{"V_T", *d.VolumeTML, 65.57971014492753, 65.58, 4},
			{"V", d.VolumeML, 41.8, 41.8, 3},
			{"delivered NK/kg", d.DeliveredNKPerKg, 9985812.154696133, 9.99e6, 3},
			{"delivered %", d.DeliveredPct, 99.85812154696133, 99.9, 3},
			{"delivered CD3+/kg", d.DeliveredCD3PerKg, 63739.22651933702, 6.37e4, 3},
			{"endotoxin EU/kg", *d.EndotoxinEUPerKg, 0.2886740331491713, 0.29, 2},
			{"DMSO g/kg", *d.DMSOGPerKg, 0.06350828729281768, 0.064, 2},
		} {
			if !near(c.got, c.exact, 1e-12) {
				t.Errorf("%s: got %v, want %v", c.name, c.got, c.exact)
			}
			if sig(c.got, c.sig) != c.doc {
				t.Errorf("%s: got %v, which is not gmp.md's %v at %d digits", c.name, c.got, c.doc, c.sig)
			}
		}
		if d.LimitedBy != LimitNKTarget || d.BelowMinimum || len(d.Bags) != 1 || d.Bags[0].VolumeML != 41.8 || d.Bags[0].ContainerFlag != "" {
			t.Errorf("got limited by %s, below %v, bags %+v, want nk_target, false, one bag of 41.8 mL", d.LimitedBy, d.BelowMinimum, d.Bags)
		}
		wantSteps := []string{
			"body weight BW = 72.4 kg (actual body weight)",
			"viable NK/mL c_NK = TNC/mL × viability × NK purity = 2e7/mL × 92 % × 94 % = 1.7296e7/mL",
			"viable CD3+/mL c_T = TNC/mL × viability × CD3+ = 2e7/mL × 92 % × 0.6 % = 110400/mL",
			"NK cells needed = 1e7/kg × 72.4 kg = 7.24e8",
			"V_NK = 7.24e8 / 1.7296e7/mL = 41.8594 mL (volume delivering the target NK dose)",
			"CD3+ cells allowed = 100000/kg × 72.4 kg = 7.24e6",
			"V_T = 7.24e6 / 110400/mL = 65.5797 mL (largest volume within the T-cell cap)",
			"V_available = 95 mL",
			"V_max: none (the protocol sets no mL/kg limit)",
			"V = floor to 0.1 mL of min(41.8594, 65.5797, 95) mL = 41.8 mL, set by the NK target",
			"bags: 1 bag of 41.8 mL",
			"delivered NK/kg = 41.8 mL × 1.7296e7/mL / 72.4 kg = 9.98581e6/kg = 99.86 % of the target 1e7/kg (minimum 90 %)",
			"delivered CD3+/kg = 41.8 mL × 110400/mL / 72.4 kg = 63739.2/kg (cap 100000/kg)",
			"endotoxin = 0.5 EU/mL × 41.8 mL / 72.4 kg = 0.288674 EU/kg",
			"DMSO = 0.11 g/mL × 41.8 mL / 72.4 kg = 0.0635083 g/kg (no protocol cap)",
		}
		if !slices.Equal(d.Steps, wantSteps) {
			t.Errorf("steps:\ngot  %q\nwant %q", d.Steps, wantSteps)
		}
	})
	t.Run("example 2, T-cell cap limits", func(t *testing.T) {
		in := example1()
		in.CD3Pct = 2.0
		in.EndotoxinEUPerML, in.Cryopreserved, in.DMSOGPerML = nil, false, 0
		d, err := CalculateDose(in)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []check{
			{"c_T", d.CD3PerML, 368000, 3.68e5, 3},
			{"V_T", *d.VolumeTML, 19.67391304347826, 19.67, 4},
			{"V", d.VolumeML, 19.6, 19.6, 3},
			{"delivered NK/kg", d.DeliveredNKPerKg, 4682342.5414364645, 4.68e6, 3},
			{"delivered %", d.DeliveredPct, 46.82342541436464, 47, 2},
			{"delivered CD3+/kg", d.DeliveredCD3PerKg, 99624.30939226519, 9.96e4, 3},
		} {
			if !near(c.got, c.exact, 1e-12) {
				t.Errorf("%s: got %v, want %v", c.name, c.got, c.exact)
			}
			if sig(c.got, c.sig) != c.doc {
				t.Errorf("%s: got %v, which is not gmp.md's %v at %d digits", c.name, c.got, c.doc, c.sig)
			}
		}
		if d.LimitedBy != LimitTCellCap || !d.BelowMinimum || d.EndotoxinEUPerKg != nil || d.DMSOGPerKg != nil {
			t.Errorf("got limited by %s, below minimum %v, want t_cell_cap, true, no endotoxin or DMSO", d.LimitedBy, d.BelowMinimum)
		}
		last := d.Steps[len(d.Steps)-1]
		if !strings.HasPrefix(last, "LOW DOSE: 46.82 % of the target is below 90 %") {
			t.Errorf("last step: got %q, want the low-dose line", last)
		}
	})
	t.Run("bags", func(t *testing.T) {
		// 1×10⁸ NK/kg for 70 kg at c_NK = 1.7296×10⁷/mL needs 404.7 mL: with 200 mL bags, 3
		// bags of 134.9 mL. gmp.md gives no CD3+ or available volume for it; here the product
		// has no CD3+ cells and 500 mL are available.
		in := DoseInput{TNCPerML: 2.0e7, ViabilityPct: 92, NKPurityPct: 94, CD3Pct: 0, AvailableML: 500,
			WeightKg: 70, TargetNKPerKg: 1e8, CD3CapPerKg: 1e5, BagMaxML: 200}
		d, err := CalculateDose(in)
		if err != nil {
			t.Fatal(err)
		}
		if d.VolumeML != 404.7 || d.VolumeTML != nil || d.LimitedBy != LimitNKTarget || len(d.Bags) != 3 {
			t.Fatalf("got %v mL, V_T %v, %s, %d bags, want 404.7 mL, none, nk_target, 3", d.VolumeML, d.VolumeTML, d.LimitedBy, len(d.Bags))
		}
		for i, b := range d.Bags {
			want := []string{"01", "02", "03"}[i]
			if b.VolumeML != 134.9 || b.Number != i+1 || b.Of != 3 || b.ContainerFlag != want {
				t.Errorf("bag %d: got %+v, want 134.9 mL, %d of 3, flag %s", i+1, b, i+1, want)
			}
		}
		if !near(d.DeliveredNKPerKg, 99995588.57142857, 1e-12) || !near(d.Bags[0].NKPerKg*3, d.DeliveredNKPerKg, 1e-12) {
			t.Errorf("delivered: got %v (bag %v), want 99995588.57142857", d.DeliveredNKPerKg, d.Bags[0].NKPerKg)
		}
		if !slices.Contains(d.Steps, "V_T: no limit (the product has no CD3+ cells)") ||
			!slices.Contains(d.Steps, "bags: 404.7 mL > 200 mL per bag: n = ceil(404.7 / 200) = 3; 3 bags of 134.9 mL (V/n rounded down to 0.1 mL), 404.7 mL in all, each 1/3 of the dose") {
			t.Errorf("steps: %q", d.Steps)
		}
	})
	t.Run("64 kg", func(t *testing.T) {
		in := example1()
		in.WeightKg = 64
		d, err := CalculateDose(in)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(d.Steps, "NK cells needed = 1e7/kg × 64 kg = 6.4e8") || d.VolumeML != 37 || d.DeliveredNKPerKg != 9999250 {
			t.Errorf("got %v mL, %v NK/kg, steps %q", d.VolumeML, d.DeliveredNKPerKg, d.Steps)
		}
	})
}

// TestDoseRounding checks that the volume is rounded down exactly, never up, and that the
// limiting term is reported.
func TestDoseRounding(t *testing.T) {
	base := func() DoseInput {
		return DoseInput{TNCPerML: 2.0e7, ViabilityPct: 92, NKPurityPct: 94, CD3Pct: 0.6, AvailableML: 95,
			WeightKg: 72.4, TargetNKPerKg: 1e7, CD3CapPerKg: 1e5}
	}
	tests := []struct {
		name   string
		edit   func(*DoseInput)
		volume float64
		limit  string
		bags   []float64
		flags  []string
	}{
		// 41.8/0.1 is 417.99999999999994 in float64: a float floor would give 41.7.
		{"available exactly at a step", func(in *DoseInput) { in.AvailableML = 41.8; in.TargetNKPerKg = 2e7 }, 41.8, LimitAvailable, []float64{41.8}, []string{""}},
		{"max volume", func(in *DoseInput) { in.MaxMLPerKg = 0.5 }, 36.2, LimitMaxVolume, []float64{36.2}, []string{""}},
		// V_NK = 1e7 × 50 / (1e7 × 100 % × 50 %) = 100 mL exactly, as much as is available.
		{"tie goes to the NK target", func(in *DoseInput) {
			in.TNCPerML, in.ViabilityPct, in.NKPurityPct, in.CD3Pct, in.WeightKg, in.AvailableML = 1e7, 100, 50, 0, 50, 100
		}, 100, LimitNKTarget, []float64{100}, []string{""}},
		{"resolution 1 mL", func(in *DoseInput) { in.ResolutionML = 1 }, 41, LimitNKTarget, []float64{41}, []string{""}},
		{"resolution 0.01 mL", func(in *DoseInput) { in.ResolutionML = 0.01 }, 41.85, LimitNKTarget, []float64{41.85}, []string{""}},
		{"protocol split in 2", func(in *DoseInput) { in.MinBags = 2 }, 41.8, LimitNKTarget, []float64{20.9, 20.9}, []string{"01", "02"}},
		// 41.8/3 = 13.9333 rounds down to 13.9 per bag: 41.7 mL in all.
		{"split in 3 rounds each bag down", func(in *DoseInput) { in.MinBags = 3 }, 41.7, LimitNKTarget, []float64{13.9, 13.9, 13.9}, []string{"01", "02", "03"}},
		{"five bags use flags 01–04, 15", func(in *DoseInput) { in.BagMaxML = 10 }, 41.5, LimitNKTarget, []float64{8.3, 8.3, 8.3, 8.3, 8.3}, []string{"01", "02", "03", "04", "15"}},
		{"rounds to nothing", func(in *DoseInput) { in.CD3CapPerKg = 0.1 }, 0, LimitTCellCap, []float64{}, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := base()
			tc.edit(&in)
			d, err := CalculateDose(in)
			if err != nil {
				t.Fatal(err)
			}
			if d.VolumeML != tc.volume || d.LimitedBy != tc.limit {
				t.Errorf("got %v mL by %s, want %v mL by %s", d.VolumeML, d.LimitedBy, tc.volume, tc.limit)
			}
			vols, flags := []float64{}, []string{}
			for _, b := range d.Bags {
				vols, flags = append(vols, b.VolumeML), append(flags, b.ContainerFlag)
			}
			if !slices.Equal(vols, tc.bags) || !slices.Equal(flags, tc.flags) {
				t.Errorf("bags: got %v %q, want %v %q", vols, flags, tc.bags, tc.flags)
			}
			// Never round up: no cap is exceeded.
			if d.DeliveredNKPerKg > in.TargetNKPerKg || d.DeliveredCD3PerKg > in.CD3CapPerKg {
				t.Errorf("a cap is exceeded: %v NK/kg, %v CD3+/kg", d.DeliveredNKPerKg, d.DeliveredCD3PerKg)
			}
			if _, err := json.Marshal(d); err != nil {
				t.Errorf("json: %v", err)
			}
		})
	}
}

func TestDoseManyBags(t *testing.T) {
	in := DoseInput{TNCPerML: 2.0e7, ViabilityPct: 92, NKPurityPct: 94, AvailableML: 1000,
		WeightKg: 70, TargetNKPerKg: 1e8, CD3CapPerKg: 1e5, BagMaxML: 40}
	d, err := CalculateDose(in)
	if err != nil {
		t.Fatal(err)
	}
	// 404.7 mL in bags of at most 40 mL: ceil(10.1175) = 11 bags of 36.7 mL.
	if len(d.Bags) != 11 || d.Bags[0].VolumeML != 36.7 || d.Bags[8].ContainerFlag != "19" || d.Bags[9].ContainerFlag != "" {
		t.Errorf("got %d bags of %v mL, flags %q %q", len(d.Bags), d.Bags[0].VolumeML, d.Bags[8].ContainerFlag, d.Bags[9].ContainerFlag)
	}
	if !slices.Contains(d.Steps, "bags 10 to 11 have no container flag: label them with division codes") {
		t.Errorf("steps: %q", d.Steps)
	}
	in.BagMaxML = 4
	_, err = CalculateDose(in)
	wantErr(t, err, "bag_max_ml", "needs more than 99 bags")
}

func TestDoseCaps(t *testing.T) {
	in := example1()
	in.DMSOCapGPerKg = 0.06
	in.PriorNKPerKg, in.PriorCD3PerKg = 1e7, 5e4
	in.CumulativeNKCapPerKg, in.CumulativeCD3CapPerKg = 3e7, 1e5
	d, err := CalculateDose(in)
	if err != nil {
		t.Fatal(err)
	}
	// 0.0635 g/kg DMSO > 0.06; cumulative CD3+ 5e4 + 63739 > 1e5; cumulative NK 1.9986e7 < 3e7.
	if !d.DMSOOverCap || !d.CumulativeCD3OverCap || d.CumulativeNKOverCap {
		t.Errorf("got DMSO over %v, CD3 over %v, NK over %v, want true, true, false", d.DMSOOverCap, d.CumulativeCD3OverCap, d.CumulativeNKOverCap)
	}
	if !near(d.CumulativeNKPerKg, 1e7+9985812.154696133, 1e-12) || !near(d.CumulativeCD3PerKg, 5e4+63739.22651933702, 1e-12) {
		t.Errorf("cumulative: got %v, %v", d.CumulativeNKPerKg, d.CumulativeCD3PerKg)
	}
	// The volume is not capped by them: they are checks (gmp.md §5).
	if d.VolumeML != 41.8 {
		t.Errorf("volume: got %v, want 41.8", d.VolumeML)
	}
	for _, want := range []string{
		"DMSO = 0.11 g/mL × 41.8 mL / 72.4 kg = 0.0635083 g/kg (protocol cap 0.06 g/kg: OVER THE CAP)",
		"cumulative CD3+/kg = 50000 + 63739.2 = 113739/kg (cumulative cap 100000/kg: OVER THE CAP)",
		"cumulative NK/kg = 1e7 + 9.98581e6 = 1.99858e7/kg (cumulative cap 3e7/kg)",
	} {
		if !slices.Contains(d.Steps, want) {
			t.Errorf("missing step %q in %q", want, d.Steps)
		}
	}
}

// TestDoseBadInput checks that bad data stops the calculation with the field named (gmp.md
// §5): no default is substituted for a measured input.
func TestDoseBadInput(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*DoseInput)
		field string
		msg   string
	}{
		{"weight 0", func(in *DoseInput) { in.WeightKg = 0 }, "weight_kg", "is missing (0)"},
		{"weight negative", func(in *DoseInput) { in.WeightKg = -72.4 }, "weight_kg", "must be positive, got -72.4"},
		{"weight NaN", func(in *DoseInput) { in.WeightKg = math.NaN() }, "weight_kg", "is not a number (NaN)"},
		{"weight +Inf", func(in *DoseInput) { in.WeightKg = math.Inf(1) }, "weight_kg", "must be 2–250 kg, got +Inf"},
		{"weight 1.5", func(in *DoseInput) { in.WeightKg = 1.5 }, "weight_kg", "must be 2–250 kg, got 1.5"},
		{"weight 251", func(in *DoseInput) { in.WeightKg = 251 }, "weight_kg", "must be 2–250 kg, got 251"},
		{"concentration 0", func(in *DoseInput) { in.TNCPerML = 0 }, "tnc_per_ml", "is missing (0)"},
		{"concentration NaN", func(in *DoseInput) { in.TNCPerML = math.NaN() }, "tnc_per_ml", "is not a number (NaN)"},
		{"concentration negative", func(in *DoseInput) { in.TNCPerML = -1 }, "tnc_per_ml", "must not be negative, got -1"},
		{"viability 0", func(in *DoseInput) { in.ViabilityPct = 0 }, "viability_pct", "is missing (0): the product has no viable cells"},
		{"purity 0", func(in *DoseInput) { in.NKPurityPct = 0 }, "nk_purity_pct", "is missing (0): the product has no NK cells"},
		{"purity 101", func(in *DoseInput) { in.NKPurityPct = 101 }, "nk_purity_pct", "must be at most 100 %, got 101"},
		{"viability 100.5", func(in *DoseInput) { in.ViabilityPct = 100.5 }, "viability_pct", "must be at most 100 %"},
		{"CD3 negative", func(in *DoseInput) { in.CD3Pct = -0.1 }, "cd3_pct", "must not be negative"},
		{"NK + CD3 > 100", func(in *DoseInput) { in.CD3Pct = 10 }, "cd3_pct", "NK purity 94 % plus CD3+ 10 % exceeds 100 %"},
		{"no volume", func(in *DoseInput) { in.AvailableML = 0 }, "available_ml", "is missing (0)"},
		{"no target", func(in *DoseInput) { in.TargetNKPerKg = 0 }, "target_nk_per_kg", "is missing (0)"},
		{"no cap", func(in *DoseInput) { in.CD3CapPerKg = 0 }, "cd3_cap_per_kg", "is missing (0)"},
		{"basis", func(in *DoseInput) { in.WeightBasis = "lean" }, "weight_basis", "must be actual, adjusted or ideal"},
		{"resolution", func(in *DoseInput) { in.ResolutionML = 0.0001 }, "resolution_ml", "must be 0.001–100 mL"},
		{"cryo without DMSO", func(in *DoseInput) { in.DMSOGPerML = 0 }, "dmso_g_per_ml", "is missing (0)"},
		{"DMSO above pure", func(in *DoseInput) { in.DMSOGPerML = 2 }, "dmso_g_per_ml", "must be at most 1.1"},
		{"fresh with DMSO", func(in *DoseInput) { in.Cryopreserved = false }, "dmso_g_per_ml", "is given for a fresh product"},
		{"endotoxin NaN", func(in *DoseInput) { e := math.NaN(); in.EndotoxinEUPerML = &e }, "endotoxin_eu_per_ml", "is not a number"},
		{"bags", func(in *DoseInput) { in.MinBags = 100 }, "min_bags", "must be 0–99, got 100"},
		{"huge target", func(in *DoseInput) { in.TargetNKPerKg = 1e300 }, "target_nk_per_kg", "must be at most 1e+12"},
	}
	for _, tc := range tests {
		in := example1()
		tc.edit(&in)
		_, err := CalculateDose(in)
		wantErr(t, err, tc.field, tc.msg)
	}
	// Every problem is named at once.
	_, err := CalculateDose(DoseInput{})
	for _, f := range []string{"tnc_per_ml", "viability_pct", "nk_purity_pct", "available_ml", "weight_kg", "target_nk_per_kg", "cd3_cap_per_kg"} {
		wantErr(t, err, f, "is missing (0)")
	}
}
