package http_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/clink-consortium/clink"
)

// Browser tests drive Debian's Chromium through chromedp against the real server over a demo
// store. One browser serves every test of the package; each test gets its own tab in its own
// browser context (cookies are not shared between tests). Without Chromium the tests skip,
// unless CLINK_REQUIRE_BROWSER=1 (set by .ci/run), where they fail. On failure a screenshot of
// the tab goes to $CLINK_TEST_ARTIFACTS, or to the test's artifact directory (kept with
// go test -artifacts).

// chromiumPath is where Debian's chromium package installs the browser.
const chromiumPath = "/usr/bin/chromium"

var browser struct {
	once sync.Once
	ctx  context.Context
	err  error
}

// newTab returns a context whose chromedp actions run in a new tab of the shared browser,
// closed when the test ends.
func newTab(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath
	if p := os.Getenv("CLINK_CHROMIUM"); p != "" {
		path = p
	}
	if _, err := exec.LookPath(path); err != nil {
		if os.Getenv("CLINK_REQUIRE_BROWSER") == "1" {
			t.Fatalf("CLINK_REQUIRE_BROWSER=1 but there is no browser at %s: %v", path, err)
		}
		t.Skipf("no browser at %s (apt-get install chromium, or set CLINK_CHROMIUM); browser tests skipped", path)
	}
	browser.once.Do(func() {
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.WindowSize(1280, 1000),
			chromedp.Flag("disable-gpu", true),
		)
		if os.Geteuid() == 0 {
			opts = append(opts, chromedp.NoSandbox) // Chromium refuses to run as root with its sandbox
		}
		// The browser lives as long as the test binary: the allocator's process dies with it
		// (chromedp sets Pdeathsig on Linux).
		alloc, _ := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, _ := chromedp.NewContext(alloc)
		browser.err = chromedp.Do(ctx) // starts the browser
		browser.ctx = ctx
	})
	if browser.err != nil {
		t.Fatalf("start %s: %v", path, browser.err)
	}
	tab, closeTab := chromedp.NewContext(browser.ctx, chromedp.WithNewBrowserContext())
	ctx, cancel := context.WithTimeout(tab, 90*time.Second)
	t.Cleanup(func() {
		if t.Failed() {
			screenshot(t, tab)
		}
		cancel()
		closeTab()
	})
	return ctx
}

// screenshot writes a full-page screenshot of the tab to the artifact folder.
func screenshot(t *testing.T, tab context.Context) {
	dir := os.Getenv("CLINK_TEST_ARTIFACTS")
	if dir == "" {
		dir = t.ArtifactDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Logf("screenshot: %v", err)
		return
	}
	ctx, cancel := context.WithTimeout(tab, 10*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
	if err != nil {
		t.Logf("screenshot: %v", err)
		return
	}
	name := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())+".jpg")
	if err := os.WriteFile(name, buf, 0o644); err != nil {
		t.Logf("screenshot: %v", err)
		return
	}
	t.Logf("screenshot of the page: %s", name)
}

// mustDo fails the test when err is not nil.
func mustDo(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// browserSignIn signs in through the sign-in form and waits for the dashboard.
func browserSignIn(t *testing.T, ctx context.Context, e *uiEnv, username string) {
	t.Helper()
	mustDo(t, "sign in", chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), username),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.ID("due")),
	))
	who, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("signed-in-as")))
	mustDo(t, "read the signed-in user", err)
	if !strings.HasPrefix(who, username) {
		t.Fatalf("signed in as %q, want %s", who, username)
	}
}

// clearField empties the input with the id, as selecting its text and deleting it would.
func clearField(id string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf("document.getElementById(%q).value = ''", id))
}

// countJS counts the elements that match a CSS selector.
func countJS(sel string) string { return fmt.Sprintf("document.querySelectorAll(%q).length", sel) }

// growthPoints selects the data points of the growth chart: circles with a hover title (the
// legend's circles have none).
const growthPoints = "#chart-growth svg circle > title"

// TestBrowserObservationEntry: a researcher signs in, opens a culture of their site, records
// an observation with a viability of 134 and sees the message next to the field with nothing
// saved, then corrects the value and sees the growth chart gain points.
func TestBrowserObservationEntry(t *testing.T) {
	ctx := newTab(t)
	e := newUIEnv(t)
	c := e.cultureOf(t, "", clink.StatusRunning, 2)
	browserSignIn(t, ctx, e, "researcher-"+strings.ToLower(c.Site))

	mustDo(t, "open the culture page", chromedp.Do(ctx,
		chromedp.Navigate(fmt.Sprintf("%s/cultures/%d", e.srv.URL, c.ID)),
		chromedp.WaitVisible(chromedp.ID("observation-form")),
	))
	before, err := chromedp.Run(ctx, chromedp.Evaluate[int](countJS(growthPoints)))
	mustDo(t, "count the chart's points", err)
	if before == 0 {
		t.Fatalf("the growth chart of %s has no points", c.Code)
	}
	stored := e.observationCount(t, c.ID)
	day := nextFreeDay(t, e, c)

	// A viability of 134 % is refused next to its field, with what was typed kept.
	mustDo(t, "fill the form", chromedp.Do(ctx,
		clearField("f-day"),
		chromedp.SendKeys(chromedp.ID("f-day"), fmt.Sprint(day)),
		chromedp.SendKeys(chromedp.ID("f-viable_cells"), "3.2e7"),
		chromedp.SendKeys(chromedp.ID("f-viability_pct"), "134"),
		chromedp.SendKeys(chromedp.ID("f-nk_pct"), "71.5"),
		chromedp.Click(chromedp.CSS("#observation-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(`#observation-form .error[data-field="viability_pct"]`)),
	))
	msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#observation-form .error[data-field="viability_pct"]`)))
	mustDo(t, "read the message", err)
	if !strings.Contains(msg, "134") || !strings.Contains(msg, "above 100") {
		t.Errorf("got the message %q next to viability, want it to say 134 is above 100", msg)
	}
	// The message belongs to its field: aria-describedby points at it.
	described, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("f-viability_pct").getAttribute("aria-describedby")`))
	mustDo(t, "read aria-describedby", err)
	if described != "err-viability_pct" {
		t.Errorf("got aria-describedby %q on the viability input, want err-viability_pct", described)
	}
	for id, want := range map[string]string{"f-viability_pct": "134", "f-viable_cells": "3.2e7", "f-nk_pct": "71.5", "f-day": fmt.Sprint(day)} {
		got, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID(id)))
		mustDo(t, "read "+id, err)
		if got != want {
			t.Errorf("after the refusal, #%s holds %q, want %q as typed", id, got, want)
		}
	}
	if n := e.observationCount(t, c.ID); n != stored {
		t.Fatalf("after the refused form the store holds %d observations of %s, want %d", n, c.Code, stored)
	}

	// A good value is recorded and the chart gains the point.
	mustDo(t, "correct the value and send", chromedp.Do(ctx,
		clearField("f-viability_pct"),
		chromedp.SendKeys(chromedp.ID("f-viability_pct"), "93"),
		chromedp.Click(chromedp.CSS("#observation-form button[type=submit]")),
	))
	after, err := chromedp.Run(ctx, chromedp.Poll[int](fmt.Sprintf("%s > %d ? %s : 0", countJS(growthPoints), before, countJS(growthPoints)),
		chromedp.WithPollingTimeout(20*time.Second)))
	mustDo(t, "wait for the chart to change", err)
	// Viable cells and NK cells: the new day adds a point to both series.
	if after != before+2 {
		t.Errorf("the growth chart has %d points after the new observation, want %d + 2", after, before)
	}
	if n := e.observationCount(t, c.ID); n != stored+1 {
		t.Errorf("the store holds %d observations of %s, want %d", n, c.Code, stored+1)
	}
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](countJS(".error"))); err != nil || n != 0 {
		t.Errorf("after the accepted form the page shows %d error messages (err %v), want none", n, err)
	}
}

// TestBrowserOtherSiteReadOnly: a researcher of another site sees the culture without the
// form, and a POST forged from the page is refused with 403 and saves nothing.
func TestBrowserOtherSiteReadOnly(t *testing.T) {
	ctx := newTab(t)
	e := newUIEnv(t)
	c := e.cultureOf(t, "", clink.StatusRunning, 2)
	other := "researcher-zgz"
	if c.Site == "ZGZ" {
		other = "researcher-bcn"
	}
	browserSignIn(t, ctx, e, other)
	mustDo(t, "open the culture page", chromedp.Do(ctx,
		chromedp.Navigate(fmt.Sprintf("%s/cultures/%d", e.srv.URL, c.ID)),
		chromedp.WaitVisible(chromedp.ID("observation-table")),
	))
	forms, err := chromedp.Run(ctx, chromedp.Evaluate[int](countJS("#observation-form, #add-observation, a[href$='/edit']:not([href])")))
	mustDo(t, "look for the form", err)
	if forms != 0 {
		t.Errorf("a researcher of another site sees %d data-entry elements, want none", forms)
	}
	stored := e.observationCount(t, c.ID)
	status, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(
		`fetch("/cultures/%d/observations", {method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: "day=%d&viable_cells=1e7&viability_pct=90"}).then(r => r.status)`,
		c.ID, nextFreeDay(t, e, c)), chromedp.EvalAwaitPromise))
	mustDo(t, "send the forged POST", err)
	if status != 403 {
		t.Errorf("the forged POST got status %d, want 403", status)
	}
	if n := e.observationCount(t, c.ID); n != stored {
		t.Errorf("after the forged POST the store holds %d observations of %s, want %d", n, c.Code, stored)
	}
}

// nextFreeDay returns the day after the culture's last observation.
func nextFreeDay(t *testing.T, e *uiEnv, c *clink.Culture) int {
	t.Helper()
	obs, _, err := e.store.FindObservations(context.Background(), clink.ObservationFilter{CultureID: c.ID, IncludeVoided: true, Page: clink.Page{Limit: clink.MaxLimit}})
	if err != nil {
		t.Fatal(err)
	}
	day := 0
	for _, o := range obs {
		day = max(day, o.Day+1)
	}
	return day
}
