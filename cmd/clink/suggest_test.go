package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clink-consortium/clink/demo"
)

// TestSuggest runs clink suggest on the demo database with its stored design space, as the
// issue's example does: two objectives, a purity constraint, a batch of 6 over 2 donors. The
// suggestions lie in the space, carry predictions, and the same seed gives the same answer;
// a space from a file and a results file are read too; bad flags are usage errors.
func TestSuggest(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			dsn := demoDB(t, dialect)
			args := []string{"suggest", "--db", dsn, "--space", demo.SpaceName, "--objective", "nk_fold", "--objective", "lu30",
				"--constraint", "purity>=70", "--batch", "6", "--donors", "2", "--format", "json"}
			out, _, err := runClink(t, args...)
			if err != nil {
				t.Fatal(err)
			}
			var rep struct {
				SpaceRef    string `json:"space_ref"`
				Results     int    `json:"results"`
				Donors      int    `json:"donors"`
				Suggestions []struct {
					Point       map[string]any `json:"point"`
					Predictions []struct {
						Outcome         string
						Mean, Low, High float64
					} `json:"predictions"`
				} `json:"suggestions"`
				DonorPlan [][]int `json:"donor_plan"`
			}
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, out)
			}
			if rep.SpaceRef != demo.SpaceName+"@1" || rep.Results < 100 || rep.Donors < 20 || len(rep.Suggestions) != 6 {
				t.Fatalf("got space %s, %d results, %d donors, %d suggestions", rep.SpaceRef, rep.Results, rep.Donors, len(rep.Suggestions))
			}
			if len(rep.DonorPlan) != 2 || len(rep.DonorPlan[0]) != 3 || len(rep.DonorPlan[1]) != 3 {
				t.Errorf("donor plan %v, want two donors of three conditions", rep.DonorPlan)
			}
			space := demo.Space()
			for i, s := range rep.Suggestions {
				if len(s.Point) != len(space.Factors) {
					t.Errorf("suggestion %d: %d factors, want %d", i+1, len(s.Point), len(space.Factors))
				}
				il2, il15, il21 := s.Point["il2"].(float64), s.Point["il15"].(float64), s.Point["il21"].(float64)
				if il2/100+il15+il21 > 60+1e-9 {
					t.Errorf("suggestion %d breaks the cytokine budget: %v", i+1, s.Point)
				}
				if len(s.Predictions) != 3 || s.Predictions[0].Outcome != "nk_fold" || !(s.Predictions[0].Low < s.Predictions[0].High) {
					t.Errorf("suggestion %d: predictions %+v", i+1, s.Predictions)
				}
			}
			again, _, _ := runClink(t, args...)
			if again != out {
				t.Errorf("the same seed gave different suggestions")
			}
			// A table, a space from a file and a results file.
			dir := t.TempDir()
			spaceFile := filepath.Join(dir, "space.json")
			def, _ := json.Marshal(space)
			os.WriteFile(spaceFile, def, 0o600)
			results := filepath.Join(dir, "results.csv")
			os.WriteFile(results, []byte("il2,il15,il21,feeder,feeder_ratio,restimulation,harvest_day,vessel,nk_fold,donor\n"+
				"500,10,0,EBV-LCL,10,none,14,G-Rex,900,X1\n"), 0o600)
			table, _, err := runClink(t, "suggest", "--db", dsn, "--space", spaceFile, "--results", results, "--batch", "2")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(table, "nk_fold (95 % interval)") || !strings.Contains(table, "il2 (IU/mL)") {
				t.Errorf("table:\n%s", table)
			}
			for _, tc := range []struct {
				args []string
				want string
			}{
				{[]string{"--space", demo.SpaceName, "--objective", "speed"}, `"speed" is not an outcome`},
				{[]string{"--space", demo.SpaceName, "--constraint", "purity>70"}, "write OUTCOME>=NUMBER"},
				{[]string{"--space", demo.SpaceName, "--batch", "0"}, "--batch: 0 is outside 1..96"},
				{[]string{"--space", demo.SpaceName, "--donors", "7"}, "--donors: 7 is outside 1..6"},
				{[]string{}, "--space: name a stored design space or a JSON file"},
			} {
				_, _, err := runClink(t, append([]string{"suggest", "--db", dsn}, tc.args...)...)
				if err == nil || !strings.Contains(err.Error(), tc.want) || exitCode(err) != 2 {
					t.Errorf("%v: got %v, want a usage error with %q", tc.args, err, tc.want)
				}
			}
			if _, _, err := runClink(t, "suggest", "--db", dsn, "--space", "no-such-space"); err == nil || !strings.Contains(err.Error(), "not found") {
				t.Errorf("an unknown space: got %v", err)
			}
		})
	}
}
