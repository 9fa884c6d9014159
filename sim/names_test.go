package sim

import "testing"

func TestFeederClassAndStart(t *testing.T) {
	for name, want := range map[string]string{"none": "cytokine only", "EBV-LCL": "EBV-LCL", " k562-mb21 ": "K562-mbIL21-41BBL", "pbmc": "irradiated PBMC"} {
		c, err := FeederClass(name)
		if err != nil || c.Name != want {
			t.Errorf("FeederClass(%q): got %q, %v; want %q", name, c.Name, err, want)
		}
	}
	if _, err := FeederClass("k562"); err == nil || err.Error() != `feeder "k562" is not one of ebv-lcl, k562-mb15, k562-mb21, none, pbmc` {
		t.Errorf("FeederClass(k562): got %v, want the names listed", err)
	}
	if s, err := ParseStart("CD3-depleted"); err != nil || s != CD3Depleted {
		t.Errorf("ParseStart: got %v, %v", s, err)
	}
	if _, err := ParseStart("blood"); err == nil {
		t.Errorf("ParseStart(blood): got no error")
	}
}
