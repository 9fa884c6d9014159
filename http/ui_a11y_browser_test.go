package http_test

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/clink-consortium/clink"
)

// Accessibility in a real browser: the pages fit a tablet and a laptop, the culture page's
// data entry works from the keyboard alone with a visible focus, and text has the contrast
// WCAG 2.1 asks for, measured on the colours the browser computes.

// viewports are the screens the issue names, a tablet held upright and a laptop, and the
// narrowest width WCAG asks pages to reflow to.
var viewports = []struct {
	name          string
	width, height int64
}{
	{"tablet 768x1024", 768, 1024},
	// Not in the issue, but free: WCAG 2.1 §1.4.10 (Reflow) asks for content that fits 320
	// CSS px without scrolling in two directions.
	{"narrow 320x640", 320, 640},
	{"laptop 1280x800", 1280, 800},
}

// layoutJS measures the page: its width against the viewport's, the header's links, and
// (to say what to fix) the elements that stick out of the viewport without being inside a
// container of their own that scrolls or clips.
const layoutJS = `(() => {
	window.scrollTo(0, 0);
	const vw = window.innerWidth, vh = window.innerHeight;
	const name = el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
		(el.classList.length ? "." + [...el.classList].join(".") : "");
	const culprits = [];
	for (const el of document.body.querySelectorAll("*")) {
		const r = el.getBoundingClientRect();
		if ((r.width === 0 && r.height === 0) || r.right <= vw + 0.5) continue;
		// A container that scrolls or clips holds its descendants, except those positioned
		// against something outside it (an absolute element's containing block is its nearest
		// positioned ancestor).
		let contained = false, free = ["absolute", "fixed"].includes(getComputedStyle(el).position);
		for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
			const s = getComputedStyle(p);
			if (s.overflowX !== "visible" && !free) { contained = true; break; }
			if (free && s.position !== "static") free = false;
		}
		if (!contained) culprits.push([r.right, name(el) + " to x=" + Math.round(r.right)]);
	}
	const nav = [...document.querySelectorAll("header.site nav a")].map(a => {
		const r = a.getBoundingClientRect(), s = getComputedStyle(a);
		return {text: a.textContent.trim(), left: r.left, right: r.right, top: r.top, bottom: r.bottom,
			shown: r.width > 0 && r.height > 0 && s.visibility === "visible" && s.display !== "none"};
	});
	culprits.sort((a, b) => b[0] - a[0]);
	return {scrollWidth: document.documentElement.scrollWidth, innerWidth: vw, innerHeight: vh,
		culprits: culprits.slice(0, 8).map(c => c[1]), nav};
})()`

// pageLayout is what layoutJS returns.
type pageLayout struct {
	ScrollWidth int      `json:"scrollWidth"`
	InnerWidth  int      `json:"innerWidth"`
	InnerHeight int      `json:"innerHeight"`
	Culprits    []string `json:"culprits"`
	Nav         []struct {
		Text                     string
		Left, Right, Top, Bottom float64
		Shown                    bool
	} `json:"nav"`
}

// TestBrowserLayout: at a tablet's and a laptop's viewport (and at 320 px) the dashboard, the
// cultures, a culture (one with its data-entry form, one with a cytotoxicity assay), a comparison with its result and the donors fit the width of the screen (wide
// tables scroll inside their own box, which this allows by measuring the page, not the
// table), and every link of the header is on the screen.
func TestBrowserLayout(t *testing.T) {
	ctx := newTab(t)
	e := newUIEnv(t)
	c := e.cultureOf(t, "", clink.StatusRunning, 2)
	browserSignIn(t, ctx, e, "researcher-"+strings.ToLower(c.Site))
	assays, _, err := e.store.FindAssays(context.Background(), clink.AssayFilter{Page: clink.Page{Limit: 1}})
	mustDo(t, "find a cytotoxicity assay", err)
	if len(assays) == 0 {
		t.Fatal("the demo data has no cytotoxicity assay")
	}
	compare := "/compare?" + url.Values{"protocol": {cmpA, cmpB}, "reference": {cmpA}, "metric": {"nk_fold"}}.Encode()
	pages := []struct {
		name, path, ready string // ready: an element the page shows when it is complete
	}{
		{"dashboard", "/", "#due"},
		{"cultures", "/cultures", "main table"},
		{"culture", fmt.Sprintf("/cultures/%d", c.ID), "#observation-form"},
		{"culture with an assay", fmt.Sprintf("/cultures/%d", assays[0].CultureID), fmt.Sprintf("#assay-%d", assays[0].ID)},
		{"comparison", compare, "#chart-paired"},
		{"donors", "/donors", "main table"},
	}
	for _, vp := range viewports {
		mustDo(t, "set the viewport to "+vp.name, chromedp.Do(ctx, chromedp.EmulateViewport(vp.width, vp.height)))
		for _, p := range pages {
			mustDo(t, "open the "+p.name, chromedp.Do(ctx,
				chromedp.Navigate(e.srv.URL+p.path),
				chromedp.WaitVisible(chromedp.CSS(p.ready)),
			))
			got, err := chromedp.Run(ctx, chromedp.Evaluate[pageLayout](layoutJS))
			mustDo(t, "measure the "+p.name, err)
			if got.InnerWidth != int(vp.width) {
				t.Fatalf("%s, %s: the window is %d px wide, want the emulated %d", vp.name, p.name, got.InnerWidth, vp.width)
			}
			if got.ScrollWidth > got.InnerWidth {
				t.Errorf("%s, %s: the page is %d px wide in a %d px window, want no sideways scrolling (sticking out: %s)",
					vp.name, p.name, got.ScrollWidth, got.InnerWidth, strings.Join(got.Culprits, ", "))
			}
			if len(got.Nav) < 5 {
				t.Errorf("%s, %s: the header has %d links, want the navigation", vp.name, p.name, len(got.Nav))
			}
			for _, a := range got.Nav {
				if !a.Shown || a.Left < 0 || a.Right > float64(got.InnerWidth) || a.Top < 0 || a.Bottom > float64(got.InnerHeight) {
					t.Errorf("%s, %s: the header link %q is at x %.0f–%.0f, y %.0f–%.0f (shown %v), want it shown inside the %dx%d viewport",
						vp.name, p.name, a.Text, a.Left, a.Right, a.Top, a.Bottom, a.Shown, got.InnerWidth, got.InnerHeight)
				}
			}
		}
	}
}

// focusJS describes the focused element: its id (or text), where it is, whether it is in the
// header's navigation or the observation form, and its focus indicator.
const focusJS = `(() => {
	const el = document.activeElement;
	if (!el || el === document.body) return {key: "body"};
	const r = el.getBoundingClientRect(), s = getComputedStyle(el);
	const text = (el.textContent || "").trim().slice(0, 60);
	return {
		key: el.id ? "#" + el.id : el.tagName.toLowerCase() + ":" + text,
		nav: !!el.closest("header.site nav"),
		form: !!el.closest("#observation-form"),
		submit: el.matches("#observation-form button[type=submit]"),
		top: r.top + window.scrollY, left: r.left + window.scrollX, height: r.height,
		outline: s.outlineStyle + " " + s.outlineWidth, boxShadow: s.boxShadow,
	};
})()`

// focused is what focusJS returns.
type focused struct {
	Key                string
	Nav, Form, Submit  bool
	Top, Left, Height  float64
	Outline, BoxShadow string
}

// indicator reports whether the element shows that it has the focus: an outline of some
// width, or a box shadow.
func (f focused) indicator() bool {
	style, width, _ := strings.Cut(f.Outline, " ")
	px, _ := strconv.ParseFloat(strings.TrimSuffix(width, "px"), 64)
	return (style != "none" && px > 0) || (f.BoxShadow != "" && f.BoxShadow != "none")
}

// tab presses Tab once and returns the newly focused element.
func tab(t *testing.T, ctx context.Context) focused {
	t.Helper()
	mustDo(t, "press Tab", chromedp.Do(ctx, chromedp.KeyEvent("\t")))
	f, err := chromedp.Run(ctx, chromedp.Evaluate[focused](focusJS))
	mustDo(t, "read the focus", err)
	return f
}

// TestBrowserKeyboard: on a culture of their site a researcher tabs from the top of the page
// through the header's links to the add-observation form, whose controls take the focus in
// the order they are seen (row by row, left to right), each with a visible focus indicator,
// and then records an observation with the keyboard alone: typed values, Enter.
func TestBrowserKeyboard(t *testing.T) {
	ctx := newTab(t)
	e := newUIEnv(t)
	c := e.cultureOf(t, "", clink.StatusRunning, 2)
	browserSignIn(t, ctx, e, "researcher-"+strings.ToLower(c.Site))
	culturePage := fmt.Sprintf("%s/cultures/%d", e.srv.URL, c.ID)
	mustDo(t, "open the culture page", chromedp.Do(ctx,
		chromedp.EmulateViewport(1280, 800),
		chromedp.Navigate(culturePage),
		chromedp.WaitVisible(chromedp.ID("observation-form")),
	))

	// Walk the page with Tab until the form's submit button, at most 400 stops.
	var stops []focused
	for len(stops) < 400 {
		f := tab(t, ctx)
		stops = append(stops, f)
		if f.Submit {
			break
		}
	}
	if !stops[len(stops)-1].Submit {
		t.Fatalf("400 presses of Tab from the top never reached the form's submit button; the last stops: %v", keys(stops[max(0, len(stops)-10):]))
	}
	var nav, form []focused
	firstForm := -1
	for i, f := range stops {
		switch {
		case f.Nav:
			if firstForm >= 0 {
				t.Errorf("the header link %s takes the focus after the form's first control", f.Key)
			}
			nav = append(nav, f)
		case f.Form:
			if firstForm < 0 {
				firstForm = i
			}
			form = append(form, f)
		}
		if !f.indicator() {
			t.Errorf("stop %d (%s) has the focus with outline %q and box-shadow %q, want a visible indicator", i+1, f.Key, f.Outline, f.BoxShadow)
		}
	}
	wantNav := []string{"a:Dashboard", "a:Cultures", "a:Donors", "a:Protocols", "a:Compare"}
	if got := keys(nav); len(got) < len(wantNav) || !slices.Equal(got[:len(wantNav)], wantNav) {
		t.Errorf("the header's links take the focus as %v, want them to begin with %v", got, wantNav)
	}
	// The form's controls in the order Tab visits them: the inputs as the template lays
	// them out, then the markers' disclosure, the note and the button.
	wantForm := []string{"#f-day", "#f-viable_cells", "#f-viability_pct", "#f-nk_pct", "#f-t_pct", "#f-split_fraction_kept", "#f-volume_ml",
		"summary:Phenotype markers, % of NK cells (optional)", "#f-note", "button:Record observation"}
	if got := keys(form); !slices.Equal(got, wantForm) {
		t.Errorf("the form's controls take the focus as\n%v\nwant\n%v", got, wantForm)
	}
	// Visual order: controls on one line (their tops within half a control's height) read
	// left to right, lines top to bottom. Tab must visit them in that order.
	visual := slices.Clone(form)
	slices.SortStableFunc(visual, func(a, b focused) int {
		if math.Abs(a.Top-b.Top) > min(a.Height, b.Height)/2 {
			return int(math.Copysign(1, a.Top-b.Top))
		}
		return int(math.Copysign(1, a.Left-b.Left))
	})
	if got, want := keys(form), keys(visual); !slices.Equal(got, want) {
		t.Errorf("Tab visits the form's controls as\n%v\nbut they are seen in the order\n%v", got, want)
	}

	// Keyboard only: tab to the day, type each value (a field entered with Tab has its
	// text selected, so typing replaces it), and press Enter in the last one.
	stored := e.observationCount(t, c.ID)
	day := nextFreeDay(t, e, c)
	mustDo(t, "reload the culture page", chromedp.Do(ctx,
		chromedp.Navigate(culturePage),
		chromedp.WaitVisible(chromedp.ID("observation-form")),
	))
	for i := 0; ; i++ {
		if i == len(stops) {
			t.Fatalf("Tab never reached #f-day the second time")
		}
		if tab(t, ctx).Key == "#f-day" {
			break
		}
	}
	typed := []struct{ id, value string }{
		{"f-day", strconv.Itoa(day)},
		{"f-viable_cells", "4.1e7"},
		{"f-viability_pct", "91.5"},
		{"f-nk_pct", "72"},
	}
	for i, in := range typed {
		if i > 0 {
			if f := tab(t, ctx); f.Key != "#"+in.id {
				t.Fatalf("Tab moved to %s, want #%s", f.Key, in.id)
			}
		}
		mustDo(t, "type into "+in.id, chromedp.Do(ctx, chromedp.KeyEvent(in.value)))
		got, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID(in.id)))
		mustDo(t, "read "+in.id, err)
		if got != in.value {
			t.Fatalf("after typing %q into #%s it holds %q", in.value, in.id, got)
		}
	}
	mustDo(t, "press Enter", chromedp.Do(ctx, chromedp.KeyEvent("\r")))
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](`!!document.getElementById("added")`, chromedp.WithPollingTimeout(20e9)))
	mustDo(t, "wait for the notice that the observation was recorded", err)
	if n := e.observationCount(t, c.ID); n != stored+1 {
		t.Fatalf("after Enter the store holds %d observations of %s, want %d", n, c.Code, stored+1)
	}
	obs, _, err := e.store.FindObservations(context.Background(), clink.ObservationFilter{CultureID: c.ID, Page: clink.Page{Limit: clink.MaxLimit}})
	mustDo(t, "read the observations", err)
	i := slices.IndexFunc(obs, func(o *clink.Observation) bool { return o.Day == day })
	if i < 0 {
		t.Fatalf("the store has no observation of %s on day %d", c.Code, day)
	}
	o := obs[i]
	if o.ViableCells != 4.1e7 || o.ViabilityPct == nil || *o.ViabilityPct != 91.5 || o.NKPct == nil || *o.NKPct != 72 {
		t.Errorf("the stored observation of day %d has viable cells %g, viability %v, NK %v; want 4.1e7, 91.5, 72 as typed",
			day, o.ViableCells, ptrText(o.ViabilityPct), ptrText(o.NKPct))
	}
}

// keys lists the focus stops' keys.
func keys(fs []focused) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Key
	}
	return out
}

// ptrText prints an optional number.
func ptrText(p *float64) string {
	if p == nil {
		return "nil"
	}
	return strconv.FormatFloat(*p, 'g', -1, 64)
}

// Contrast, after WCAG 2.1 (https://www.w3.org/TR/WCAG21/), success criterion 1.4.3
// "Contrast (Minimum)": text and images of text have a contrast ratio of at least 4.5:1
// (3:1 for large text, which this test does not count on). The definitions of "relative
// luminance" and "contrast ratio" in the same document:
//
//	L = 0.2126 R + 0.7152 G + 0.0722 B, each of R, G, B being, from its sRGB value c in 0..1,
//	c/12.92 when c <= 0.04045 and ((c+0.055)/1.055)^2.4 otherwise;
//	contrast ratio = (L1 + 0.05) / (L2 + 0.05), L1 the lighter colour's luminance.
//
// (WCAG 2.1 prints the threshold as 0.03928, from an older sRGB draft; no 8-bit value lies
// between 0.03928 and 0.04045, so both give the same luminance.)

// minContrast is WCAG 2.1 §1.4.3's minimum for normal text.
const minContrast = 4.5

// relativeLuminance is WCAG 2.1's relative luminance of an sRGB colour of 8-bit channels.
func relativeLuminance(r, g, b float64) float64 {
	lin := func(c8 float64) float64 {
		c := c8 / 255
		if c <= 0.04045 {
			return c / 12.92
		}
		return math.Pow((c+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(b)
}

// contrastRatio is WCAG 2.1's contrast ratio of two colours, each {r, g, b} in 0..255.
func contrastRatio(fg, bg [3]float64) float64 {
	l1, l2 := relativeLuminance(fg[0], fg[1], fg[2]), relativeLuminance(bg[0], bg[1], bg[2])
	if l1 < l2 {
		l1, l2 = l2, l1
	}
	return (l1 + 0.05) / (l2 + 0.05)
}

// TestContrastRatio checks the formula on values that do not depend on it: black on white
// is (1 + 0.05) / (0 + 0.05) = 21 exactly, a colour on itself is 1, and WebAIM's contrast
// checker (https://webaim.org/resources/contrastchecker/) gives #767676 on white 4.54:1, the
// lightest grey on white that meets 1.4.3, so that #777777 must fall below 4.5:1.
func TestContrastRatio(t *testing.T) {
	white := [3]float64{255, 255, 255}
	for _, tc := range []struct {
		name   string
		fg, bg [3]float64
		want   float64
	}{
		{"black on white", [3]float64{0, 0, 0}, white, 21},
		{"white on black", white, [3]float64{0, 0, 0}, 21},
		{"grey on itself", [3]float64{0x76, 0x76, 0x76}, [3]float64{0x76, 0x76, 0x76}, 1},
		{"#767676 on white", [3]float64{0x76, 0x76, 0x76}, white, 4.54},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// WebAIM rounds to two decimals; so does the comparison.
			if got := contrastRatio(tc.fg, tc.bg); math.Round(got*100)/100 != tc.want {
				t.Errorf("got %.4f, want %.2f", got, tc.want)
			}
		})
	}
	if got := contrastRatio([3]float64{0x77, 0x77, 0x77}, white); got >= minContrast {
		t.Errorf("#777777 on white: got %.4f, want below %.1f", got, minContrast)
	}
}

// colorsJS returns, for every element matching a selector that shows text, its computed
// colour and the colour behind it: the first ancestor's (or its own) background that is not
// transparent, with translucent layers blended over what lies beneath.
const colorsJS = `((sel) => {
	const parse = c => { const m = c.match(/rgba?\(([^)]*)\)/); if (!m) return null;
		const p = m[1].split(/[ ,\/]+/).filter(x => x).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
	const over = (top, under) => [0, 1, 2].map(i => top[3] * top[i] + (1 - top[3]) * under[i]).concat([1]);
	const behind = el => {
		const layers = [];
		for (let p = el; p; p = p.parentElement) {
			const c = parse(getComputedStyle(p).backgroundColor);
			if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
		}
		let bg = [255, 255, 255, 1]; // the canvas
		for (const l of layers.reverse()) bg = over(l, bg);
		return bg;
	};
	const out = [];
	for (const el of document.querySelectorAll(sel)) {
		const r = el.getBoundingClientRect();
		if (r.width === 0 || r.height === 0 || !el.textContent.trim()) continue;
		const fg = parse(getComputedStyle(el).color), bg = behind(el);
		out.push({what: el.tagName.toLowerCase() + (el.className ? "." + el.className.split(" ").join(".") : "") + " " + JSON.stringify(el.textContent.trim().slice(0, 30)),
			fg: over(fg, bg).slice(0, 3), bg: bg.slice(0, 3)});
	}
	return out;
})(%q)`

// textColors is an element of what colorsJS returns.
type textColors struct {
	What string
	FG   [3]float64 `json:"fg"`
	BG   [3]float64 `json:"bg"`
}

// TestBrowserContrast measures, on the pages that show them, the contrast of body text,
// links, muted text, hints, error messages, the header and the buttons against what is
// behind them, and wants at least 4.5:1 for each (WCAG 2.1 §1.4.3).
func TestBrowserContrast(t *testing.T) {
	ctx := newTab(t)
	e := newUIEnv(t)
	c := e.cultureOf(t, "", clink.StatusRunning, 2)
	browserSignIn(t, ctx, e, "researcher-"+strings.ToLower(c.Site))

	// The culture page with a refused observation shows the error messages.
	mustDo(t, "refuse an observation", chromedp.Do(ctx,
		chromedp.Navigate(fmt.Sprintf("%s/cultures/%d", e.srv.URL, c.ID)),
		chromedp.WaitVisible(chromedp.ID("observation-form")),
		clearField("f-day"),
		chromedp.SendKeys(chromedp.ID("f-day"), fmt.Sprint(nextFreeDay(t, e, c))),
		chromedp.SendKeys(chromedp.ID("f-viable_cells"), "3.2e7"),
		chromedp.SendKeys(chromedp.ID("f-viability_pct"), "134"),
		chromedp.Click(chromedp.CSS("#observation-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(`#observation-form .error[data-field="viability_pct"]`)),
	))
	checks := []struct{ what, sel string }{
		{"body text", "main p, main td, main th, main dd, main dt, main li, main label, main h1, main h2"},
		{"links", "main a"},
		{"muted text", "main .muted, footer.site, footer.site p"},
		{"hints", ".hint"},
		{"error messages", ".error, .alert"},
		{"header", "header.site a, header.site .who, header.site button"},
		{"buttons", "main button"},
		{"badges", ".badge"},
	}
	want := map[string]bool{"body text": true, "links": true, "muted text": true, "error messages": true, "header": true, "buttons": true}
	measure := func(where string) {
		for _, ch := range checks {
			got, err := chromedp.Run(ctx, chromedp.Evaluate[[]textColors](fmt.Sprintf(colorsJS, ch.sel)))
			mustDo(t, "read the colours of the "+ch.what, err)
			if len(got) > 0 {
				delete(want, ch.what)
			}
			worst, worstAt := math.Inf(1), ""
			for _, tc := range got {
				if r := contrastRatio(tc.FG, tc.BG); r < worst {
					worst, worstAt = r, fmt.Sprintf("%s: %s on %s", tc.What, hexColor(tc.FG), hexColor(tc.BG))
				}
			}
			if len(got) > 0 && worst < minContrast {
				t.Errorf("%s, %s: contrast %.2f:1 (%s), want at least %.1f:1", where, ch.what, worst, worstAt, minContrast)
			}
			if len(got) > 0 {
				t.Logf("%s, %s: %d elements, lowest contrast %.2f:1 (%s)", where, ch.what, len(got), worst, worstAt)
			}
		}
	}
	measure("culture page with a refused form")
	for _, path := range []string{"/", "/cultures", "/donors"} {
		mustDo(t, "open "+path, chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+path), chromedp.WaitVisible(chromedp.CSS("main"))))
		measure(path)
	}
	for what := range want {
		t.Errorf("no element of the %s was found to measure", what)
	}
}

// hexColor writes an {r, g, b} colour as #rrggbb.
func hexColor(c [3]float64) string {
	return fmt.Sprintf("#%02x%02x%02x", int(math.Round(c[0])), int(math.Round(c[1])), int(math.Round(c[2])))
}
