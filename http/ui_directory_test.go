package http_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/clink-consortium/clink"
)

// TestDonorList: the filters select the donors the store's filter selects, each filter and
// their combination, and every control has a label.
func TestDonorList(t *testing.T) {
	e := newUIEnv(t)
	cookie := e.signIn(t, "viewer")
	ctx := context.Background()
	for _, f := range []clink.DonorFilter{
		{},
		{Site: "ZGZ"},
		{HCMV: clink.HCMVPositive},
		{NKG2C: clink.NKG2CDelDel},
		{KIR: clink.KIRBx},
		{Site: "BCN", HCMV: clink.HCMVNegative, KIR: clink.KIRAA},
	} {
		path := fmt.Sprintf("/donors?site=%s&hcmv=%s&nkg2c=%s&kir=%s", f.Site, f.HCMV, f.NKG2C, f.KIR)
		t.Run(path, func(t *testing.T) {
			f.Page = clink.Page{Limit: 50}
			want, total, err := e.store.FindDonors(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			doc := e.page(t, strings.ReplaceAll(path, "+", "%2B"), cookie, http.StatusOK)
			rows := queryAll(doc, "#donor-table tbody tr th[scope=row] a")
			if len(rows) != len(want) {
				t.Fatalf("got %d donors, want %d", len(rows), len(want))
			}
			for i, a := range rows {
				if got := textOf(a); got != want[i].Code {
					t.Errorf("row %d: got %s, want %s", i, got, want[i].Code)
				}
			}
			if got := textOf(mustQuery(t, doc, "#donor-count")); !strings.HasPrefix(got, fmt.Sprint(total)+" donor") {
				t.Errorf("count %q, want %d donors", got, total)
			}
			if total > 50 && query(doc, "a[rel=next]") == nil {
				t.Errorf("%d donors and no link to the next page", total)
			}
			for _, sel := range queryAll(doc, "#donor-filters select") {
				id, _ := attr(sel, "id")
				if query(doc, "label[for="+id+"]") == nil {
					t.Errorf("select #%s has no label", id)
				}
			}
		})
	}
	doc := e.page(t, "/donors?hcmv=maybe", cookie, http.StatusUnprocessableEntity)
	if !strings.Contains(textOf(doc), "maybe") {
		t.Errorf("the refusal of hcmv=maybe does not name the value")
	}
}

// TestDonorPage: the donor page lists every culture of the donor, a completed one with its
// NK fold, purity and viability at harvest, the values of its last observation.
func TestDonorPage(t *testing.T) {
	e := newUIEnv(t)
	cookie := e.signIn(t, "viewer")
	ctx := context.Background()
	c := e.cultureOf(t, "", clink.StatusCompleted, 3)
	cultures, _, err := e.store.FindCultures(ctx, clink.CultureFilter{DonorID: c.DonorID, Page: clink.Page{Limit: clink.MaxLimit}})
	if err != nil {
		t.Fatal(err)
	}
	doc := e.page(t, fmt.Sprintf("/donors/%d", c.DonorID), cookie, http.StatusOK)
	if got := textOf(mustQuery(t, doc, "h1")); got != "Donor "+c.Donor {
		t.Errorf("got heading %q, want Donor %s", got, c.Donor)
	}
	rows := queryAll(doc, "#donor-cultures tbody tr")
	if len(rows) != len(cultures) {
		t.Fatalf("got %d cultures, want %d", len(rows), len(cultures))
	}
	obs, _, err := e.store.FindObservations(ctx, clink.ObservationFilter{CultureID: c.ID, Page: clink.Page{Limit: clink.MaxLimit}})
	if err != nil {
		t.Fatal(err)
	}
	last := obs[0]
	for _, o := range obs {
		if o.Day > last.Day {
			last = o
		}
	}
	var row []string
	for _, r := range rows {
		if textOf(mustQuery(t, r, "th")) == c.Code {
			for _, td := range queryAll(r, "td") {
				row = append(row, textOf(td))
			}
		}
	}
	if len(row) != 9-1 {
		t.Fatalf("the row of %s has cells %q, want 8", c.Code, row)
	}
	if row[3] != fmt.Sprint(last.Day) {
		t.Errorf("%s: day %s, want the last observation's %d", c.Code, row[3], last.Day)
	}
	if last.NKPct != nil {
		if want := fmt.Sprintf("%.1f %%", *last.NKPct); row[5] != want {
			t.Errorf("%s: purity %q, want %q", c.Code, row[5], want)
		}
	}
	if last.ViabilityPct != nil {
		if want := fmt.Sprintf("%.1f %%", *last.ViabilityPct); row[6] != want {
			t.Errorf("%s: viability %q, want %q", c.Code, row[6], want)
		}
	}
	e.page(t, "/donors/999999", cookie, http.StatusNotFound)
	e.page(t, "/donors/x", cookie, http.StatusNotFound)
}

// TestProtocolPages: the list holds every version; a protocol page shows its components, its
// schedule with the restimulation days, its versions with the difference between two, and its
// cultures with the NK fold chart.
func TestProtocolPages(t *testing.T) {
	e := newUIEnv(t)
	cookie := e.signIn(t, "viewer")
	ctx := context.Background()
	ps, total, err := e.store.FindProtocols(ctx, clink.ProtocolFilter{Page: clink.Page{Limit: clink.MaxLimit}})
	if err != nil {
		t.Fatal(err)
	}
	doc := e.page(t, "/protocols", cookie, http.StatusOK)
	if n := len(queryAll(doc, "#protocol-table tbody tr")); n != total {
		t.Errorf("list: got %d protocols, want %d", n, total)
	}
	var restim, v1, v2 *clink.Protocol
	for _, p := range ps {
		if len(p.RestimulationDays) > 0 && restim == nil {
			restim = p
		}
		if p.Name == "IL-2 alone" && p.Version == 1 {
			v1 = p
		}
		if p.Name == "IL-2 alone" && p.Version == 2 {
			v2 = p
		}
	}
	if restim == nil || v1 == nil || v2 == nil {
		t.Fatal("the demo data lack a protocol with restimulations or IL-2 alone v1 and v2")
	}
	doc = e.page(t, fmt.Sprintf("/protocols/%d", restim.ID), cookie, http.StatusOK)
	if n := len(queryAll(doc, "#component-table tbody th[scope=row]")); n != len(restim.Components) {
		t.Errorf("%s: got %d components, want %d", restim.Key(), n, len(restim.Components))
	}
	days := map[string]bool{}
	for _, r := range queryAll(doc, "#schedule-table tbody tr") {
		if strings.Contains(textOf(r), "yes") {
			days[textOf(mustQuery(t, r, "th"))] = true
		}
	}
	for _, d := range restim.RestimulationDays {
		if !days[fmt.Sprint(d)] {
			t.Errorf("%s: the schedule does not restimulate on day %d (%v)", restim.Key(), d, days)
		}
	}
	if len(days) != len(restim.RestimulationDays) {
		t.Errorf("%s: the schedule restimulates on %v, want %v", restim.Key(), days, restim.RestimulationDays)
	}
	mustQuery(t, doc, "figure#chart-nk-fold svg")
	_, nc, err := e.store.FindCultures(ctx, clink.CultureFilter{ProtocolID: restim.ID, Page: clink.Page{Limit: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(queryAll(doc, "#protocol-cultures tbody th[scope=row]")); n != nc {
		t.Errorf("%s: got %d cultures, want %d", restim.Key(), n, nc)
	}
	href, _ := attr(mustQuery(t, doc, "figure#chart-nk-fold a[href*=nk-fold.csv]"), "href")
	if resp, body := e.do(t, "GET", href, nil, cookie); resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "Site,") {
		t.Errorf("GET %s: status %d, body %.80q", href, resp.StatusCode, body)
	}

	// The difference between two versions is the domain's DiffProtocols.
	want := clink.DiffProtocols(v1, v2)
	doc = e.page(t, fmt.Sprintf("/protocols/%d?diff=%d", v2.ID, v1.ID), cookie, http.StatusOK)
	if n := len(queryAll(doc, "#version-table tbody tr")); n != 2 {
		t.Errorf("IL-2 alone: got %d versions, want 2", n)
	}
	rows := queryAll(doc, "#diff-table tbody tr")
	if len(rows) != len(want.Changes) || len(rows) == 0 {
		t.Fatalf("diff: got %d changes, want %d (%+v)", len(rows), len(want.Changes), want.Changes)
	}
	for i, r := range rows {
		if got := textOf(mustQuery(t, r, "th")); got != want.Changes[i].Field {
			t.Errorf("change %d: got field %q, want %q", i, got, want.Changes[i].Field)
		}
	}
	e.page(t, fmt.Sprintf("/protocols/%d?diff=999999", v2.ID), cookie, http.StatusUnprocessableEntity)
	e.page(t, "/protocols/999999", cookie, http.StatusNotFound)
}
