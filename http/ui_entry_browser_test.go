package http_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/clink-consortium/clink"
)

// TestBrowserCreateCulture: a researcher signs in, follows "New culture" from the cultures
// list, fills in the form with a starting NK % of 140 and sees the message next to that
// field with what was typed kept and nothing saved, then corrects it and lands on the new
// culture's page.
func TestBrowserCreateCulture(t *testing.T) {
	ctx := newTab(t)
	e := newUIEnv(t)
	const site = "ZGZ"
	bg := context.Background()
	donors, _, err := e.store.FindDonors(bg, clink.DonorFilter{Site: site, Page: clink.Page{Limit: 1}})
	if err != nil || len(donors) == 0 {
		t.Fatalf("no %s donor in the demo data (err %v)", site, err)
	}
	ps, _, err := e.store.FindProtocols(bg, clink.ProtocolFilter{Site: site, Page: clink.Page{Limit: 1}})
	if err != nil || len(ps) == 0 {
		t.Fatalf("no %s protocol in the demo data (err %v)", site, err)
	}
	browserSignIn(t, ctx, e, "researcher-"+strings.ToLower(site))

	mustDo(t, "open the form from the cultures list", chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/cultures"),
		chromedp.WaitVisible(chromedp.ID("new-culture")),
		chromedp.Click(chromedp.ID("new-culture")),
		chromedp.WaitVisible(chromedp.ID("culture-form")),
	))
	before := entryCounts(t, e.store)
	protocolID := strconv.FormatInt(ps[0].ID, 10)
	mustDo(t, "fill the form with a starting NK % of 140", chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("f-donor"), donors[0].Code),
		chromedp.SetValue(chromedp.ID("f-protocol_id"), protocolID),
		chromedp.SendKeys(chromedp.ID("f-starting_cells"), "2.5e7"),
		chromedp.SendKeys(chromedp.ID("f-starting_nk_pct"), "140"),
		chromedp.Click(chromedp.CSS("#culture-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(`#culture-form .error[data-field="starting_nk_pct"]`)),
	))
	msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#culture-form .error[data-field="starting_nk_pct"]`)))
	mustDo(t, "read the message", err)
	if !strings.Contains(msg, "140") || !strings.Contains(msg, "outside (0, 100]") {
		t.Errorf("got the message %q next to starting NK %%, want it to say 140 is outside (0, 100]", msg)
	}
	described, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("f-starting_nk_pct").getAttribute("aria-describedby")`))
	mustDo(t, "read aria-describedby", err)
	if described != "err-starting_nk_pct" {
		t.Errorf("got aria-describedby %q on the starting NK input, want err-starting_nk_pct", described)
	}
	for id, want := range map[string]string{"f-donor": donors[0].Code, "f-protocol_id": protocolID, "f-starting_cells": "2.5e7", "f-starting_nk_pct": "140"} {
		got, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID(id)))
		mustDo(t, "read "+id, err)
		if got != want {
			t.Errorf("after the refusal, #%s holds %q, want %q as typed", id, got, want)
		}
	}
	checkWrote(t, before, entryCounts(t, e.store), "cultures", false)

	mustDo(t, "correct the value and send", chromedp.Do(ctx,
		clearField("f-starting_nk_pct"),
		chromedp.SendKeys(chromedp.ID("f-starting_nk_pct"), "12"),
		chromedp.Click(chromedp.CSS("#culture-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("culture-facts")),
	))
	checkWrote(t, before, entryCounts(t, e.store), "cultures", true)
	cs, _, err := e.store.FindCultures(bg, clink.CultureFilter{Site: site, DonorID: donors[0].ID, Page: clink.Page{Limit: clink.MaxLimit}})
	mustDo(t, "find the new culture", err)
	var c *clink.Culture
	for _, x := range cs {
		if c == nil || x.ID > c.ID {
			c = x
		}
	}
	if c == nil || c.StartingNKPct != 12 || c.StartingCells != 2.5e7 || c.ProtocolID != ps[0].ID {
		t.Fatalf("the newest culture of donor %s is %+v, want 2.5e7 cells at 12 %% NK under protocol %d", donors[0].Code, c, ps[0].ID)
	}
	url, err := chromedp.Run(ctx, chromedp.Location())
	mustDo(t, "read the location", err)
	h1, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
	mustDo(t, "read the heading", err)
	if want := fmt.Sprintf("%s/cultures/%d", e.srv.URL, c.ID); url != want {
		t.Errorf("landed on %s, want %s", url, want)
	}
	if !strings.Contains(h1, c.Code) {
		t.Errorf("the page is headed %q, want the culture's code %s", h1, c.Code)
	}
}
