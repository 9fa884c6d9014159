package http_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/flow"
)

// TestBrowserFCSUpload: a researcher opens a culture, chooses the day-3 observation (NK 80 %
// entered by hand), uploads data1.fcs with the site's template and "replace values entered by
// hand", and sees the NK % that flow.Measure computes in the observations table, and the file
// in the FCS table.
func TestBrowserFCSUpload(t *testing.T) {
	ctx := newTab(t)
	e, cs := dueFixture(t)
	setup := clink.WithActor(context.Background(), "researcher-zgz")
	tmpl := gates1Template(t, "ZGZ", "NK panel")
	if err := flow.New(e.store).CreateTemplate(setup, tmpl); err != nil {
		t.Fatal(err)
	}
	data := flowFile(t, "FCSFiles", "data1.fcs")
	want, err := flow.Measure(tmpl, "data1.fcs", data, 0)
	if err != nil {
		t.Fatal(err)
	}
	file, err := filepath.Abs(filepath.Join(flowDir(t), "gatingml2", "FCSFiles", "data1.fcs"))
	if err != nil {
		t.Fatal(err)
	}
	c := cs["day3-done"]
	obs, _, err := e.store.FindObservations(setup, clink.ObservationFilter{CultureID: c.ID, Page: clink.Page{Limit: clink.MaxLimit}})
	if err != nil {
		t.Fatal(err)
	}
	o := obs[1]
	browserSignIn(t, ctx, e, "researcher-zgz")
	nkCell := fmt.Sprintf(`#observation-table tr[data-day="%d"] td:nth-child(4)`, o.Day)
	mustDo(t, "open the culture page and choose the observation", chromedp.Do(ctx,
		chromedp.Navigate(fmt.Sprintf("%s/cultures/%d", e.srv.URL, c.ID)),
		chromedp.WaitVisible(chromedp.ID("fcs-upload-link")),
		chromedp.SetValue(chromedp.ID("f-fcs-observation"), fmt.Sprint(o.ID)),
		chromedp.Click(chromedp.CSS("#fcs-upload-link button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("fcs-upload-form")),
	))
	before, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("f-observation")))
	mustDo(t, "read the chosen observation", err)
	if before != fmt.Sprint(o.ID) {
		t.Fatalf("the upload form has observation %s, want %d (chosen on the culture page)", before, o.ID)
	}
	mustDo(t, "upload the file", chromedp.Do(ctx,
		chromedp.SetUploadFiles(chromedp.ID("f-files"), []string{file}),
		chromedp.Click(chromedp.ID("f-replace")),
		chromedp.Click(chromedp.CSS("#fcs-upload-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("fcs-table")),
	))
	got, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(nkCell)))
	mustDo(t, "read the NK %", err)
	if w := strconv.FormatFloat(*want.NKPct, 'f', 1, 64) + " %"; got != w {
		t.Errorf("after the upload the culture page shows NK %q on day %d, want %q", got, o.Day, w)
	}
	name, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#fcs-table tbody tr td a")))
	mustDo(t, "read the attached file", err)
	if name != "data1.fcs" {
		t.Errorf("the FCS table shows %q, want data1.fcs", name)
	}
}
