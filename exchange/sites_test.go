package exchange_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/clink-consortium/clink/exchange"
	"github.com/google/go-cmp/cmp"
)

// TestInspectSites checks the site Inspect gives each row of newRecords: read from the row
// (sites, protocols, donors, cultures), through the protocol of the files (its components),
// through a culture of the files or of the store (observations, assays) and through an assay
// of the files (readings). The expected sites are those the rows of newRecords name, read by
// hand; BCN-C0001 is a culture of the seeded store at BCN.
func TestInspectSites(t *testing.T) {
	s := newStore(t)
	seed(t, s)
	before := rowCounts(t, s)
	// newRecords with its readings replaced by one of assay a and one of an assay of no file.
	files := newRecords()
	files[len(files)-1] = csvFile("assay_readings.csv", "assay,kind,et_ratio,replicate,reading", "a,sample,1,1,12", "nowhere,sample,1,1,3")
	plan, err := exchange.Inspect(context.Background(), s, files, exchange.Options{})
	check(t, err)
	var got []string
	for _, tb := range plan.Tables {
		for _, r := range tb.Rows {
			got = append(got, fmt.Sprintf("%s:%d %s=%s (%d cells)", tb.File, r.Row, r.SiteColumn, r.Site, len(r.Cells)))
		}
	}
	want := []string{
		"sites.csv:2 code=ZGZ (3 cells)",
		"sites.csv:3 code=TLS (3 cells)",
		"protocols.csv:2 site=BCN (7 cells)",
		"protocol_components.csv:2 protocol_name=BCN (6 cells)",
		"protocol_components.csv:3 protocol_name=BCN (6 cells)",
		"donors.csv:2 site=TLS (5 cells)",
		"cultures.csv:2 site=TLS (10 cells)",
		"observations.csv:2 culture=TLS (4 cells)",
		"observations.csv:3 culture=TLS (4 cells)",
		"observations.csv:4 culture=BCN (4 cells)",
		"assays.csv:2 culture=TLS (5 cells)",
		"assay_readings.csv:2 assay=TLS (5 cells)",
		"assay_readings.csv:3 assay= (5 cells)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows and sites (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, rowCounts(t, s)); diff != "" {
		t.Errorf("Inspect changed the store (-before +after):\n%s", diff)
	}
}

// TestInspectStoreProtocol checks that a component row of a protocol version only in the store
// takes that version's site, and that a row whose culture is nowhere has no site.
func TestInspectStoreProtocol(t *testing.T) {
	s := newStore(t)
	seed(t, s)
	plan, err := exchange.Inspect(context.Background(), s, []exchange.File{
		csvFile("protocol_components.csv", "protocol_name,protocol_version,component,dose,unit,days", "K562-mbIL15,1,IL-2,100,IU/mL,0"),
		csvFile("assays.csv", "assay,culture,day,target,method", "a,XYZ-C0009,7,Raji,flow-based"),
	}, exchange.Options{})
	check(t, err)
	var got []string
	for _, tb := range plan.Tables {
		for _, r := range tb.Rows {
			got = append(got, r.SiteColumn+"="+r.Site)
		}
	}
	if diff := cmp.Diff([]string{"protocol_name=ZGZ", "culture="}, got); diff != "" {
		t.Errorf("sites (-want +got):\n%s", diff)
	}
}
