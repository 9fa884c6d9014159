package http

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/analysis"
	"github.com/clink-consortium/clink/chart"
	"github.com/clink-consortium/clink/rank"
	"github.com/clink-consortium/clink/stats"
)

// The protocol comparison (journey 5): a GET form choosing protocols (names, for every version,
// or NAME@VERSION), a metric, optionally a day, and a strip or box plot. Its answer is the
// donor-paired chart (a line per donor), the statistics of analysis.Service.Compare (summary
// with quartiles, Wilcoxon or Friedman with Holm-adjusted pairwise tests, the mixed model), the
// notes on the cultures left out, and the Pareto chart of NK yield against killing from
// analysis.Service.Ranking with the patient doses per donor. The URL holds the whole question,
// so a comparison can be bookmarked and sent; the charts download as SVG and CSV from
// /compare/charts/NAME.svg|csv with the same query.

// uiCompareRoutes are the pages of the protocol comparison.
func (s *Server) uiCompareRoutes() []Route {
	return []Route{
		{"GET", "/compare", "comparePage", PermRead, s.comparePage},
		{"GET", "/compare/charts/{file}", "compareChart", PermRead, s.compareChart},
	}
}

// metricInfo says how a comparison metric is shown.
type metricInfo struct {
	Name, Label, Unit string
	Log               bool
}

// compareMetrics are the metrics of analysis.Metrics with their labels, in the form's order.
var compareMetrics = []metricInfo{
	{analysis.MetricNKFold, "NK fold expansion", "×", true},
	{analysis.MetricLU30, "LU30 against K562", "per 10⁷ NK", true},
	{analysis.MetricPurity, "NK purity (CD3−CD56+)", "%", false},
	{analysis.MetricViability, "Viability", "%", false},
}

func metricOf(name string) metricInfo {
	for _, m := range compareMetrics {
		if m.Name == name {
			return m
		}
	}
	return compareMetrics[0]
}

// compareQuery is the question of the comparison page as the URL holds it.
type compareQuery struct {
	Protocols []string // "NAME" or "NAME@VERSION", the first the reference
	Metric    string
	Day       *int
	DayText   string // as typed
	Box       bool   // box plot rather than strip
}

// readCompareQuery reads protocol (repeated), reference, metric, day and plot from the URL.
// A browser sends the choices of a multi-select in the list's order, not in the order they
// were clicked, so the reference has a field of its own: when given, it is put first (and
// added when it was not chosen). Field errors name the parameter.
func readCompareQuery(q url.Values) (compareQuery, clink.FieldErrors) {
	var fe clink.FieldErrors
	cq := compareQuery{Metric: strings.TrimSpace(q.Get("metric")), DayText: strings.TrimSpace(q.Get("day"))}
	if ref := strings.TrimSpace(q.Get("reference")); ref != "" {
		cq.Protocols = append(cq.Protocols, ref)
	}
	for _, p := range q["protocol"] {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(cq.Protocols, p) {
			cq.Protocols = append(cq.Protocols, p)
		}
	}
	if cq.Metric == "" {
		cq.Metric = analysis.MetricNKFold
	} else if !slices.Contains(analysis.Metrics, cq.Metric) {
		fe.Addf("metric", "%q is not one of %s", cq.Metric, strings.Join(analysis.Metrics, ", "))
	}
	if cq.DayText != "" {
		d, err := strconv.Atoi(cq.DayText)
		switch {
		case err != nil:
			fe.Addf("day", "%q is not a whole number of days", cq.DayText)
		case d < 0:
			fe.Addf("day", "%d is negative", d)
		default:
			cq.Day = &d
		}
	}
	switch plot := q.Get("plot"); plot {
	case "", "strip":
	case "box":
		cq.Box = true
	default:
		fe.Addf("plot", "%q is not strip or box", plot)
	}
	return cq, fe
}

// encode is the query string of cq, the protocols in order (the first the reference).
func (cq compareQuery) encode() string {
	v := url.Values{"protocol": cq.Protocols, "metric": {cq.Metric}}
	if len(cq.Protocols) > 0 {
		v.Set("reference", cq.Protocols[0])
	}
	if cq.Day != nil {
		v.Set("day", strconv.Itoa(*cq.Day))
	}
	if cq.Box {
		v.Set("plot", "box")
	}
	return v.Encode()
}

// protocolOption is one choice of the protocol multi-select.
type protocolOption struct {
	Value, Label string
	Selected     bool
}

// compareData is the data of the comparison page.
type compareData struct {
	Query   compareQuery
	Form    form
	Options []protocolOption
	// Reference is the reference protocol chosen ("" when none).
	Reference string
	Metrics   []metricInfo
	Metric    metricInfo
	// Asked says whether protocols were chosen; Result is the comparison when it could be
	// made.
	Asked  bool
	Result *analysis.Comparison
	// Values are the donor-paired values drawn on the chart, by protocol then donor.
	Values []compareValue
	Charts []chartView
	// Effects are the mixed model's fixed effects with, on the log10 scale, the ratio to the
	// reference they mean.
	Effects []effectRow
	// Ranking are the scoreboard rows of the protocol names compared (every protocol is on
	// the Pareto chart).
	Ranking      []rank.ProtocolScore
	RankingNotes []string
	DoseCells    float64
}

// effectRow is a fixed effect of the mixed model.
type effectRow struct {
	stats.FixedEffect
	Ratio *float64 // 10^estimate for a protocol term on the log10 scale
}

// compareValue is one culture's value on the comparison chart.
type compareValue = analysis.ComparedValue

// comparePage answers the comparison form and, once protocols are chosen, the comparison.
func (s *Server) comparePage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	cq, fe := readCompareQuery(r.URL.Query())
	d := &compareData{Query: cq, Form: newForm(), Metrics: compareMetrics, Metric: metricOf(cq.Metric), Asked: len(cq.Protocols) > 0}
	var err error
	if d.Options, err = s.protocolOptions(ctx, cq.Protocols); err != nil {
		return err
	}
	d.Form.Values["day"] = cq.DayText
	if ref := strings.TrimSpace(r.URL.Query().Get("reference")); ref != "" {
		d.Reference = ref
	}
	status := http.StatusOK
	if err := fe.Err(); err != nil {
		d.Form.refuse(err)
		return s.render(w, r, http.StatusUnprocessableEntity, "compare", page{Title: "Compare protocols", Nav: navCompare, Data: d})
	}
	if !d.Asked {
		return s.render(w, r, status, "compare", page{Title: "Compare protocols", Nav: navCompare, Data: d})
	}
	res, err := s.runComparison(ctx, cq)
	if err != nil {
		if !d.Form.refuse(err) {
			return err
		}
		return s.render(w, r, refusedStatus(err), "compare", page{Title: "Compare protocols", Nav: navCompare, Data: d})
	}
	d.Result, d.Values, d.Ranking, d.RankingNotes = res.cmp, res.values, res.scores, res.rankNotes
	d.DoseCells = res.doseCells
	if mm := res.cmp.Result.MixedModel; mm != nil {
		for _, fx := range mm.FixedEffects {
			row := effectRow{FixedEffect: fx}
			if res.cmp.Scale == stats.ScaleLog10 && fx.Term != "(Intercept)" {
				x := math.Pow(10, fx.Estimate)
				row.Ratio = &x
			}
			d.Effects = append(d.Effects, row)
		}
	}
	enc := cq.encode()
	names := []string{"paired", "pareto"}
	views := chartViews("/compare/charts/", names, res.charts)
	for _, n := range names {
		v := views[n]
		v.SVGURL += "?" + enc
		v.CSVURL += "?" + enc
		v.Title = chartTitle(res.charts[n])
		d.Charts = append(d.Charts, v)
	}
	return s.render(w, r, status, "compare", page{Title: "Compare protocols", Nav: navCompare, Data: d})
}

// chartTitle is the title of a chart of the comparison.
func chartTitle(c chart.Chart) string {
	switch t := c.(type) {
	case chart.Strip:
		return t.Title
	case chart.Scatter:
		return t.Title
	case chart.Line:
		return t.Title
	}
	return ""
}

// compareChart serves the comparison's charts, paired.svg|csv and pareto.svg|csv, for the
// question in the query.
func (s *Server) compareChart(w http.ResponseWriter, r *http.Request) error {
	file := r.PathValue("file")
	name, ext, _ := strings.Cut(file, ".")
	if (name != "paired" && name != "pareto") || (ext != "svg" && ext != "csv") {
		return clink.Errorf(clink.ENOTFOUND, "no comparison chart %q: paired or pareto, .svg or .csv", file)
	}
	cq, fe := readCompareQuery(r.URL.Query())
	if err := fe.Err(); err != nil {
		return err
	}
	res, err := s.runComparison(r.Context(), cq)
	if err != nil {
		return err
	}
	return writeChartFile(w, "comparison-"+file, res.charts[name])
}

// comparisonResult is everything the comparison page draws.
type comparisonResult struct {
	cmp       *analysis.Comparison
	values    []compareValue
	scores    []rank.ProtocolScore
	rankNotes []string
	doseCells float64
	charts    map[string]chart.Chart
}

// runComparison runs the comparison and the ranking of cq and draws their charts.
func (s *Server) runComparison(ctx context.Context, cq compareQuery) (*comparisonResult, error) {
	svc := analysis.New(s.store)
	cmp, err := svc.Compare(ctx, analysis.CompareRequest{Protocols: cq.Protocols, Metric: cq.Metric, Day: cq.Day})
	if err != nil {
		return nil, err
	}
	values := cmp.Values
	var rk *analysis.Ranking
	if cq.Day == nil {
		// At harvest the dashboard's kept scoreboard is the same question.
		rk, _, err = s.scoreboard(ctx)
	} else {
		// The ranking on a day is store-wide and slow (0.3 s at demo x10): it is kept too.
		rk, _, err = s.keptRanking(ctx, cq.Day, "")
	}
	if err != nil {
		return nil, err
	}
	res := &comparisonResult{cmp: cmp, values: values, rankNotes: rk.Notes, charts: map[string]chart.Chart{}}
	names := map[string]bool{}
	for _, p := range cmp.Protocols {
		names[p.Name] = true
	}
	if rk.Ranking != nil {
		res.doseCells = rk.Ranking.DoseCells
		for _, p := range rk.Ranking.Protocols {
			if names[p.Protocol] {
				res.scores = append(res.scores, p)
			}
		}
	}
	res.charts["paired"] = pairedChart(cmp, values, cq.Box)
	res.charts["pareto"] = comparePareto(rk, names)
	return res, nil
}

// pairedChart is the strip (or box) plot of the values with a line per donor.
func pairedChart(cmp *analysis.Comparison, values []compareValue, box bool) chart.Strip {
	m := metricOf(cmp.Metric)
	y := chart.Axis{Label: m.Label, Unit: m.Unit, Log: m.Log}
	if !m.Log {
		zero, hundred := 0.0, 100.0
		y.Min, y.Max = &zero, &hundred
	}
	st := chart.Strip{
		Title:      fmt.Sprintf("%s %s, paired by donor", m.Label, dayPhrase(cmp.Day)),
		GroupLabel: "Protocol",
		Y:          y,
		Paired:     true,
		Box:        box,
	}
	for _, p := range cmp.Protocols {
		st.Groups = append(st.Groups, p.Label)
	}
	for _, v := range values {
		st.Points = append(st.Points, chart.StripPoint{Group: v.Protocol, Subject: v.Donor, Y: v.Value,
			Title: fmt.Sprintf("%s, donor %s (%s): %s %s", v.Protocol, v.Donor, v.Culture, fmtNum(v.Value), m.Unit)})
	}
	if r := cmp.Result; r != nil {
		st.Annotations = append(st.Annotations, fmt.Sprintf("%d cultures of %d donors, %d with every protocol", cmp.NCultures, r.NDonors, r.NCompleteDonors))
	}
	return st
}

// dayPhrase says which day a comparison is on.
func dayPhrase(day *int) string {
	if day == nil {
		return "at harvest"
	}
	return fmt.Sprintf("on day %d", *day)
}

// comparePareto is the ranking's protocols as median NK fold against median LU30, labelled with
// the median patient doses per donor; the Pareto front highlighted.
func comparePareto(rk *analysis.Ranking, compared map[string]bool) chart.Scatter {
	sc := chart.Scatter{
		Title:         "Pareto chart: NK yield against killing (medians, every protocol)",
		X:             chart.Axis{Label: "Median NK fold expansion", Unit: "×", Log: true},
		Y:             chart.Axis{Label: "Median LU30", Unit: "per 10⁷ NK", Log: true},
		HighlightName: "Pareto front",
	}
	if rk.Ranking == nil {
		return sc
	}
	for _, p := range rk.Ranking.Protocols {
		if p.NKFold == nil || p.LU30 == nil {
			continue
		}
		doses := "doses/donor unknown"
		if p.DosesPerDonor != nil {
			doses = fmtNum(*p.DosesPerDonor) + " doses/donor"
		}
		label := p.Protocol + ": " + doses
		if compared[p.Protocol] {
			label = "▶ " + label
		}
		sc.Points = append(sc.Points, chart.ScatterPoint{X: p.NKFold.Estimate, Y: p.LU30.Estimate, Label: label, Highlight: p.OnFront,
			Title: fmt.Sprintf("%s: NK fold %s, LU30 %s, %s (%d cultures)", p.Protocol, fmtNum(p.NKFold.Estimate), fmtNum(p.LU30.Estimate), doses, p.NCultures)})
	}
	sc.Annotations = append(sc.Annotations, "▶ marks the protocols compared")
	return sc
}

// protocolOptions are the choices of the protocol multi-select: each protocol name (every
// version together), then each NAME@VERSION, with selected marked.
func (s *Server) protocolOptions(ctx context.Context, selected []string) ([]protocolOption, error) {
	ps, err := clink.ReadAll(func(p clink.Page) ([]*clink.Protocol, int, error) {
		return s.store.FindProtocols(ctx, clink.ProtocolFilter{Page: p})
	})
	if err != nil {
		return nil, err
	}
	ps = slices.DeleteFunc(ps, func(p *clink.Protocol) bool { return p.Voided })
	slices.SortFunc(ps, func(a, b *clink.Protocol) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return a.Version - b.Version
	})
	var out []protocolOption
	seen := map[string]bool{}
	for _, p := range ps {
		if !seen[p.Name] {
			seen[p.Name] = true
			out = append(out, protocolOption{Value: p.Name, Label: p.Name + " (every version)"})
		}
	}
	for _, p := range ps {
		v := fmt.Sprintf("%s@%d", p.Name, p.Version)
		out = append(out, protocolOption{Value: v, Label: v})
	}
	for i := range out {
		out[i].Selected = slices.Contains(selected, out[i].Value)
	}
	return out, nil
}
