package optimizer

import (
	"strings"
	"testing"
)

// TestReadResults checks an imported results file: good rows are read with their donor and
// outcomes; every bad cell is reported with its line and column, and nothing is read then.
func TestReadResults(t *testing.T) {
	space := demoSpace()
	head := "il2,il15,il21,feeder,feeder_ratio,restimulation,harvest_day,vessel,nk_fold,lu30,purity,donor\n"
	good := head + "500,10,0,EBV-LCL,10,none,14,G-Rex,850,120,88,D1\n" + "100,0,0,none,0.5,none,21,flask,12,,60,D2\n"
	rs, err := ReadResults("results.csv", []byte(good), space)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].Values[0] != 850 || rs[0].Donor != "D1" || rs[1].Point["vessel"].Level != "flask" || rs[1].Values[1] == rs[1].Values[1] {
		t.Fatalf("got %+v", rs)
	}
	bad := head + "1200,10,0,EBV-LCL,10,none,14,G-Rex,850,120,88,D1\n" +
		"500,10,0,K562,10,none,14,G-Rex,850,120,88,D1\n" +
		"500,10,0,EBV-LCL,10,none,14.5,G-Rex,850,120,134,D1\n" +
		"500,50,40,EBV-LCL,10,none,14,G-Rex,850,120,88,D1\n"
	_, err = ReadResults("results.csv", []byte(bad), space)
	if err == nil {
		t.Fatal("got no error")
	}
	for _, want := range []string{
		"results.csv:2: il2: 1200 is above the factor's high bound 1000",
		`results.csv:3: feeder: "K562" is not one of`,
		"results.csv:4: harvest_day: 14.5 is not a whole number",
		"results.csv:4: purity: 134 is outside 0..100 %",
		"results.csv:5: the condition breaks the space's constraints",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("got %q, want it to contain %q", err, want)
		}
	}
	for _, tc := range []struct{ data, want string }{
		{"", "the file is empty"},
		{"il2,nk_fold\n", "no column for factor il15"},
		{strings.TrimSuffix(head, "\n") + ",colour\n", `column "colour" is neither a factor`},
		{"il2,il15,il21,feeder,feeder_ratio,restimulation,harvest_day,vessel\n", "no outcome column"},
	} {
		if _, err := ReadResults("r.csv", []byte(tc.data), space); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.data, err, tc.want)
		}
	}
}

func FuzzReadResults(f *testing.F) {
	f.Add([]byte("il2,il15,il21,feeder,feeder_ratio,restimulation,harvest_day,vessel,nk_fold\n500,10,0,EBV-LCL,10,none,14,G-Rex,850\n"))
	f.Add([]byte("il2,\"x\n"))
	space := demoSpace()
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := ReadResults("f.csv", data, space)
		if err == nil {
			for _, r := range rs {
				if _, err := space.Encode(r.Point); err != nil {
					t.Fatalf("a result read is not in the space: %v", err)
				}
			}
		}
	})
}
