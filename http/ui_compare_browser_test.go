package http_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserCompare: a viewer opens the comparison, chooses two protocols in the
// multi-select and a metric, sends the form and sees the donor-paired chart and the summary
// table, at a URL that holds the question.
func TestBrowserCompare(t *testing.T) {
	ctx := newTab(t)
	e := newUIEnv(t)
	browserSignIn(t, ctx, e, "viewer")

	choose := fmt.Sprintf(`(() => {
		for (const o of document.querySelectorAll("#f-protocol option")) {
			o.selected = (o.value === %q || o.value === %q);
		}
		document.getElementById("f-reference").value = %q;
		document.getElementById("f-metric").value = "nk_fold";
		return document.querySelectorAll("#f-protocol option:checked").length;
	})()`, cmpA, cmpB, cmpA)
	mustDo(t, "open the comparison", chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/compare"),
		chromedp.WaitVisible(chromedp.ID("compare-form")),
	))
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](choose))
	mustDo(t, "choose the protocols", err)
	if n != 2 {
		t.Fatalf("%d protocols selected, want 2", n)
	}
	mustDo(t, "compare", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#compare-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("chart-paired")),
	))
	points, err := chromedp.Run(ctx, chromedp.Evaluate[int](countJS("#chart-paired svg circle")))
	mustDo(t, "count the chart's points", err)
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](countJS("#summary-table tbody tr")))
	mustDo(t, "count the summary rows", err)
	if rows != 2 {
		t.Errorf("the summary table has %d rows, want 2", rows)
	}
	cells, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#summary-table tbody")))
	mustDo(t, "read the summary", err)
	for _, name := range []string{cmpA, cmpB} {
		if !strings.Contains(cells, name) {
			t.Errorf("the summary lacks %s: %q", name, cells)
		}
	}
	if points < 4 {
		t.Errorf("the paired chart has %d points, want the cultures of both protocols", points)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	mustDo(t, "read the location", err)
	u, err := url.Parse(loc)
	mustDo(t, "parse the location", err)
	if got := u.Query()["protocol"]; len(got) != 2 {
		t.Errorf("the URL holds protocols %q, want %s and %s", got, cmpA, cmpB)
	}
	if got := u.Query().Get("reference"); got != cmpA {
		t.Errorf("the URL holds the reference %q, want %s", got, cmpA)
	}
	first, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#summary-table tbody tr th")))
	mustDo(t, "read the reference", err)
	if !strings.HasPrefix(first, cmpA) || !strings.Contains(first, "reference") {
		t.Errorf("the summary's first row is %q, want the reference %s", first, cmpA)
	}
	// The bookmark gives the same page.
	mustDo(t, "reload", chromedp.Do(ctx,
		chromedp.Navigate(loc),
		chromedp.WaitVisible(chromedp.ID("mixed-table")),
	))
}
