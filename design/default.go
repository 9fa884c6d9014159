package design

import "github.com/clink-consortium/clink"

// Feeder types of the default space (domain.md §9.1). K562 lines are one level: which variant
// a site may use depends on its transfer agreements.
var defaultFeeders = []string{"none", "irradiated PBMC", "EBV-LCL", "721.221", "721.221-AEH", "K562 variant"}

// DefaultSpace returns the consortium's default NK expansion space, a subset of domain.md §9.1:
//
//   - il2: IL-2, 0–1,000 IU/mL on ln(1 + c);
//   - il15: IL-15, 0–50 ng/mL on ln(0.1 + c);
//   - il21: IL-21, 0–50 ng/mL on ln(0.1 + c) (§9.1 says "log" without an offset; 0.1 ng/mL,
//     as for IL-15, is this package's choice so that 0 is in range);
//   - feeder: feeder type, categorical;
//   - feeder_ratio: feeder:NK ratio, 0.5–20 on ln(c);
//   - restimulation: none, d7, d7+d14 or weekly, categorical (the schedule is ordinal in §9.1
//     but its levels are not equally spaced in any number);
//   - harvest_day: 7–28, integer;
//   - vessel: plate or the vessels of a CLINK protocol (clink.Vessels), categorical;
//
// with the cytokine budget il2/100 + il15 + il21 ≤ 60 as its one constraint. The conditional
// rules of §9.1 (feeder ratio inactive without a feeder, harvest at least 3 days after the last
// restimulation) are not linear constraints and are not encoded.
func DefaultSpace() *Space {
	vessels := append([]string{"plate"}, clink.Vessels...)
	return &Space{
		Name: "nk-default",
		Factors: []Factor{
			{Name: "il2", Unit: "IU/mL", Kind: Continuous, Low: 0, High: 1000, Scale: Log, Offset: 1},
			{Name: "il15", Unit: "ng/mL", Kind: Continuous, Low: 0, High: 50, Scale: Log, Offset: 0.1},
			{Name: "il21", Unit: "ng/mL", Kind: Continuous, Low: 0, High: 50, Scale: Log, Offset: 0.1},
			{Name: "feeder", Kind: Categorical, Levels: append([]string(nil), defaultFeeders...)},
			{Name: "feeder_ratio", Unit: "feeder:NK", Kind: Continuous, Low: 0.5, High: 20, Scale: Log},
			{Name: "restimulation", Kind: Categorical, Levels: []string{"none", "d7", "d7+d14", "weekly"}},
			{Name: "harvest_day", Unit: "d", Kind: Integer, Low: 7, High: 28, Scale: Linear},
			{Name: "vessel", Kind: Categorical, Levels: vessels},
		},
		Constraints: []Constraint{{
			Name:  "cytokine_budget",
			Terms: []Term{{Factor: "il2", Coef: 0.01}, {Factor: "il15", Coef: 1}, {Factor: "il21", Coef: 1}},
			Bound: 60,
		}},
	}
}
