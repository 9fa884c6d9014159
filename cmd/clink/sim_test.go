package main

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// TestSimRun checks clink sim run against the simulator's calibration anchor: EBV-LCL + IL-2
// 500 IU/mL on purified NK, feeder:NK 2, day 14 gives 583.2-fold on the nominal donor
// (sim/testdata/lcl_recalibration.R integrates the model independently in R). Drawn donors
// come from the seed, and bad flags name the flag.
func TestSimRun(t *testing.T) {
	args := []string{"sim", "run", "--start", "purified-nk", "--feeder", "EBV-LCL", "--feeder-ratio", "2", "--il2", "500",
		"--days", "14", "--feed-every", "0", "--format", "json"}
	out, _, err := runClink(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	var rep simReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("output is not the JSON report: %v\n%s", err, out)
	}
	if len(rep.Cultures) != 1 || math.Abs(rep.Cultures[0].NKFold-583.2) > 0.05 || rep.Cultures[0].Day != 14 {
		t.Fatalf("got %+v, want one culture (the nominal donor) at 583.2-fold on day 14", rep.Cultures)
	}
	if rep.Protocol.Feeder != "ebv-lcl" || rep.Protocol.Start != "purified-nk" {
		t.Errorf("protocol %+v: want the feeder and start named", rep.Protocol)
	}
	drawn := append(args, "--donors", "20", "--seed", "7")
	out1, _, err := runClink(t, drawn...)
	if err != nil {
		t.Fatal(err)
	}
	out2, _, _ := runClink(t, drawn...)
	if out1 != out2 {
		t.Errorf("the same seed gave different donors")
	}
	if err := json.Unmarshal([]byte(out1), &rep); err != nil || len(rep.Cultures) != 21 {
		t.Fatalf("with 20 donors: %v, %d cultures; want 21", err, len(rep.Cultures))
	}
	distinct := map[float64]bool{}
	for _, c := range rep.Cultures {
		distinct[c.NKFold] = true
	}
	if len(distinct) < 15 {
		t.Errorf("20 drawn donors gave only %d distinct folds", len(distinct))
	}
	bad := []struct {
		args []string
		want string
	}{
		{[]string{"--feeder", "k562"}, `--feeder: feeder "k562" is not one of`},
		{[]string{"--restim", "7,x", "--feeder", "pbmc", "--feeder-ratio", "1"}, `--restim: "x" is not a day`},
		{[]string{"--restim", "7"}, "Restim: restimulation needs a feeder"},
		{[]string{"--donors", "-1"}, "--donors: -1 is outside 0..10000"},
		{[]string{"--days", "0"}, "Days: 0 is outside 1..365"},
	}
	for _, tc := range bad {
		_, _, err := runClink(t, append([]string{"sim", "run"}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || exitCode(err) != 2 {
			t.Errorf("%v: got %v, want a usage error containing %q", tc.args, err, tc.want)
		}
	}
}
