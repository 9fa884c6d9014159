package http_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/clink-consortium/clink/analysis"
)

// The two demo protocols of journey 5's example: IL-2 alone against IL-2 + IL-15, the first
// the reference.
const (
	cmpA = "IL-2 alone"
	cmpB = "IL-2 + IL-15"
)

func compareURL(metric string, protocols ...string) string {
	v := url.Values{"protocol": protocols, "metric": {metric}}
	return "/compare?" + v.Encode()
}

// TestComparePageForm: without a question the page is the form alone, every control labelled,
// the protocol choices holding each name and each NAME@VERSION.
func TestComparePageForm(t *testing.T) {
	e := newUIEnv(t)
	cookie := e.signIn(t, "viewer")
	doc := e.page(t, "/compare", cookie, http.StatusOK)
	for _, id := range []string{"f-protocol", "f-metric", "f-day", "f-plot"} {
		mustQuery(t, doc, "#"+id)
		if query(doc, "label[for="+id+"]") == nil {
			t.Errorf("control #%s has no label", id)
		}
	}
	var values []string
	for _, o := range queryAll(doc, "#f-protocol option") {
		v, _ := attr(o, "value")
		values = append(values, v)
	}
	for _, want := range []string{cmpA, cmpA + "@1", cmpA + "@2", cmpB + "@1"} {
		if !slices.Contains(values, want) {
			t.Errorf("protocol options %q lack %q", values, want)
		}
	}
	if query(doc, "#comparison") != nil {
		t.Errorf("the form alone shows a comparison")
	}
	if n := len(queryAll(doc, "#f-metric option")); n != len(analysis.Metrics) {
		t.Errorf("got %d metrics, want %d", n, len(analysis.Metrics))
	}
}

// TestComparePage compares two protocols on each metric: the page shows the paired chart,
// the summary, the Wilcoxon test and the mixed model, and its numbers are those of
// analysis.Service.Compare on the same store; the chart's CSV holds exactly the values the
// comparison counted, with the medians of its summary.
func TestComparePage(t *testing.T) {
	e := newUIEnv(t)
	cookie := e.signIn(t, "viewer")
	for _, metric := range analysis.Metrics {
		t.Run(metric, func(t *testing.T) {
			want, err := analysis.New(e.store).Compare(context.Background(), analysis.CompareRequest{Protocols: []string{cmpA, cmpB}, Metric: metric})
			if err != nil {
				t.Fatal(err)
			}
			path := compareURL(metric, cmpA, cmpB)
			doc := e.page(t, path, cookie, http.StatusOK)
			fig := mustQuery(t, doc, "figure#chart-paired")
			if query(fig, "svg") == nil {
				t.Errorf("the paired chart has no svg")
			}
			mustQuery(t, doc, "figure#chart-pareto svg")
			rows := queryAll(doc, "#summary-table tbody tr")
			if len(rows) != 2 {
				t.Fatalf("summary: got %d rows, want 2", len(rows))
			}
			for i, row := range rows {
				s := want.Result.Summary[i]
				th := textOf(mustQuery(t, row, "th[scope=row]"))
				if !strings.HasPrefix(th, s.Protocol) {
					t.Errorf("summary row %d: got %q, want %q first", i, th, s.Protocol)
				}
				cells := queryAll(row, "td")
				if got := textOf(cells[1]); got != strconv.Itoa(s.N) {
					t.Errorf("summary %s: got n %s, want %d", s.Protocol, got, s.N)
				}
			}
			if query(doc, "#tests-table tbody tr") == nil || !strings.Contains(textOf(mustQuery(t, doc, "#tests-table")), "Wilcoxon") {
				t.Errorf("no Wilcoxon test in the tests table")
			}
			if n := len(queryAll(doc, "#mixed-table tbody tr")); n != 2 {
				t.Errorf("mixed model: got %d fixed effects, want 2 (intercept and %s)", n, cmpB)
			}
			mustQuery(t, doc, "#mixed-facts")
			for _, th := range queryAll(doc, "#comparison th") {
				if _, ok := attr(th, "scope"); !ok {
					t.Errorf("header cell %q has no scope", textOf(th))
				}
			}

			// The download links carry the question; the CSV is the chart's data.
			a := mustQuery(t, fig, "a[href*=paired.csv]")
			href, _ := attr(a, "href")
			resp, body := e.do(t, "GET", href, nil, cookie)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: got status %d, want 200", href, resp.StatusCode)
			}
			recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
			if err != nil {
				t.Fatalf("paired.csv: %v", err)
			}
			if len(recs)-1 != want.NCultures {
				t.Errorf("paired.csv: got %d values, want the comparison's %d cultures", len(recs)-1, want.NCultures)
			}
			byProtocol := map[string][]float64{}
			for _, r := range recs[1:] {
				x, err := strconv.ParseFloat(r[2], 64)
				if err != nil {
					t.Fatalf("paired.csv: %v", err)
				}
				byProtocol[r[0]] = append(byProtocol[r[0]], x)
			}
			for _, s := range want.Result.Summary {
				xs := byProtocol[s.Protocol]
				if len(xs) != s.N {
					t.Errorf("%s: chart has %d values, summary %d", s.Protocol, len(xs), s.N)
					continue
				}
				if got := median(xs); !approxEqual(got, s.Median) {
					t.Errorf("%s: chart median %g, summary median %g", s.Protocol, got, s.Median)
				}
			}
			svgHref, _ := attr(mustQuery(t, fig, "a[href*=paired.svg]"), "href")
			resp, body = e.do(t, "GET", svgHref, nil, cookie)
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, "<svg") {
				t.Errorf("GET %s: got status %d and no svg", svgHref, resp.StatusCode)
			}
		})
	}
}

// median is the median of xs (sorted in place), computed here by its definition.
func median(xs []float64) float64 {
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

func approxEqual(a, b float64) bool {
	d := a - b
	if d < 0 {
		d = -d
	}
	return d <= 1e-9*max(1, absf(a), absf(b))
}

func absf(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// TestComparePageRefusals: a question that cannot be answered re-renders the form with 422
// and the message beside the field at fault; nothing else is shown.
func TestComparePageRefusals(t *testing.T) {
	e := newUIEnv(t)
	cookie := e.signIn(t, "viewer")
	for _, tc := range []struct {
		name, path, field string
	}{
		{"one protocol", compareURL("nk_fold", cmpA), "protocol"},
		{"unknown protocol", compareURL("nk_fold", cmpA, "no such protocol"), "protocol"},
		{"unknown version", compareURL("nk_fold", cmpA, cmpB+"@9"), "protocol"},
		{"unknown metric", compareURL("potency", cmpA, cmpB), "metric"},
		{"negative day", compareURL("nk_fold", cmpA, cmpB) + "&day=-3", "day"},
		{"bad day", compareURL("nk_fold", cmpA, cmpB) + "&day=seven", "day"},
		{"bad plot", compareURL("nk_fold", cmpA, cmpB) + "&plot=pie", "plot"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := e.page(t, tc.path, cookie, http.StatusUnprocessableEntity)
			if query(doc, "#comparison") != nil {
				t.Errorf("a refused question shows a comparison")
			}
			if query(doc, ".error[data-field="+tc.field+"]") == nil {
				t.Errorf("no error at field %s; messages: %q", tc.field, texts(queryAll(doc, ".error, .form-message")))
			}
		})
	}
	resp, _ := e.do(t, "GET", "/compare/charts/paired.png?"+url.Values{"protocol": {cmpA, cmpB}}.Encode(), nil, cookie)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("paired.png: got status %d, want 404", resp.StatusCode)
	}
	resp, _ = e.do(t, "GET", compareURL("nk_fold", cmpA, cmpB), nil, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("signed out: got status %d, want 303 to the sign-in page", resp.StatusCode)
	}
}

func texts(ns []*html.Node) []string {
	var out []string
	for _, n := range ns {
		out = append(out, textOf(n))
	}
	return out
}
