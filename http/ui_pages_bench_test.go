package http_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/demo"
)

// BenchmarkPages renders the gate plots of a demo FCS file (10,000 events, five gates), the
// comparison page (IL-2 alone against IL-2 + IL-15 on NK fold at
// harvest), the donor and protocol lists and pages (protocol 1, the reference IL-2 alone, has
// the most cultures), the audit log, the import and account pages over the demo consortium
// times ten
// (demo.Options{Scale: 10}), through HTTP on the loopback.
//
//	go test -run XXX -bench BenchmarkPages -benchtime 3x ./http
func BenchmarkPages(b *testing.B) {
	store := newStore(b)
	if _, err := demo.Populate(context.Background(), store, demo.Options{Password: testPassword, Scale: 10}); err != nil {
		b.Fatalf("demo: %v", err)
	}
	e := newUIEnvOn(b, store)
	cookie := e.signIn(b, "viewer")
	atts, _, err := store.FindFCSAttachments(context.Background(), clink.FCSAttachmentFilter{Page: clink.Page{Limit: 1}})
	if err != nil || len(atts) == 0 {
		b.Fatalf("no demo FCS attachment: %v", err)
	}
	fcsPlots := fmt.Sprintf("/observations/%d/fcs/%d", atts[0].ObservationID, atts[0].ID)
	for _, bc := range []struct{ name, path string }{
		{"fcs-gate-plots", fcsPlots},
		{"compare", compareURL("nk_fold", cmpA, cmpB)},
		{"compare-lu30-day14", compareURL("lu30", cmpA, cmpB) + "&day=14"},
		{"donors", "/donors"},
		{"donors-filtered", "/donors?hcmv=positive&kir=B%2Fx"},
		{"donor", "/donors/1"},
		{"protocols", "/protocols"},
		{"protocol", "/protocols/1"},
		{"protocol-diff", "/protocols/2?diff=1"},
		{"audit", "/audit"},
		{"import", "/import"},
		{"account", "/account"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			// The rankings (the scoreboard's and the comparison's, per day and method) are
			// computed once and kept: warm them before measuring.
			e.page(b, "/dashboard/scoreboard", cookie, http.StatusOK)
			e.page(b, bc.path, cookie, http.StatusOK)
			for b.Loop() {
				resp, _ := e.do(b, "GET", bc.path, nil, cookie)
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("GET %s: status %d", bc.path, resp.StatusCode)
				}
			}
		})
	}
}
