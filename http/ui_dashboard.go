package http

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/analysis"
	"github.com/clink-consortium/clink/chart"
)

// The dashboard: what is due today, the running cultures, the latest results, the protocol
// scoreboard and the recent activity.
//
// What is due. A culture's day is the number of whole days from its start date (day 0) to
// the date shown. The protocol's observation days (observationDays) are day 0, every day a
// component is added (a feed: the cells are counted before feeding), every restimulation day
// and the last day (DurationDays, the harvest). A running culture is due on a date when its
// day is an observation day and it has no observation (not voided) recorded for that day; a
// running culture past its last day is listed as due for harvest. The dashboard shows the
// user's own site by default (everyone's for users without a site); ?site= chooses another,
// ?site=all every site, and ?date=YYYY-MM-DD another date (planning tomorrow, or looking
// back).

// uiState is the web pages' state on a Server: the clock and the kept rankings.
type uiState struct {
	mu  sync.Mutex
	now func() time.Time

	// ranks are the rankings kept (keptRanking), at most maxKeptRankings of them.
	ranks map[rankKey]*keptRank
}

// rankKey is the question of a kept ranking: the day (-1 at harvest) and the assay method.
type rankKey struct {
	day    int
	method string
}

// keptRank is one kept ranking. ready is closed when its first computation ends; rank or err
// is then set. A later recomputation replaces rank when it succeeds.
type keptRank struct {
	ready  chan struct{}
	rank   *analysis.Ranking
	err    error
	at     time.Time // when rank was computed
	stamp  int       // the number of audit events then: any write adds one
	active bool      // a recomputation is running
	used   time.Time // the last time it was asked for, to drop the least used
}

// maxKeptRankings bounds the rankings kept: the one at harvest and those of the days asked
// for on the comparison page (about 60 KiB each at demo x10).
const maxKeptRankings = 16

// uiState returns the server's state of the web pages.
func (s *Server) uiState() *uiState { return &s.ui }

// SetClock makes the web pages read the date ("today" on the dashboard and the culture page)
// from now instead of the system clock. Call it before the server handles requests; tests
// use it to put the dashboard on the date of their data.
func (s *Server) SetClock(now func() time.Time) {
	st := s.uiState()
	st.mu.Lock()
	st.now = now
	st.mu.Unlock()
}

// pageNow returns the pages' clock (SetClock), the system clock by default.
func (s *Server) pageNow() time.Time {
	st := s.uiState()
	st.mu.Lock()
	now := st.now
	st.mu.Unlock()
	if now != nil {
		return now()
	}
	return time.Now()
}

// today returns the current date at midnight UTC.
func (s *Server) today() time.Time {
	y, m, d := s.pageNow().UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// rankingMaxAge is how often at most a kept ranking is recomputed: ranking the demo data
// times ten takes about 0.4 s, too long to do on every visit of the dashboard.
const rankingMaxAge = 30 * time.Second

// scoreboard returns the consortium's ranking at harvest (analysis.Service.Ranking with the
// default options) and when it was computed, kept as keptRanking keeps it.
func (s *Server) scoreboard(ctx context.Context) (*analysis.Ranking, time.Time, error) {
	return s.keptRanking(ctx, nil, "")
}

// WarmRankings starts computing the ranking at harvest in the background and returns at
// once, so that the first visit of the dashboard after a start usually finds it ready (a
// visit during the computation waits for it rather than starting another). Call it once the
// store is open; errors are logged while ctx lasts, and the first visit then tries again.
func (s *Server) WarmRankings(ctx context.Context) {
	go func() {
		// After ctx ends (the server shuts down and closes the store) a failure is expected.
		if _, _, err := s.keptRanking(context.WithoutCancel(ctx), nil, ""); err != nil && ctx.Err() == nil {
			s.logger.Error("warm the scoreboard", "error", err.Error())
		}
	}()
}

// scoreboardReady returns the kept ranking at harvest when its first computation has ended,
// like scoreboard; when it has not (the server has just started), it starts the computation
// if none runs and returns ready false at once rather than wait.
func (s *Server) scoreboardReady(ctx context.Context) (rk *analysis.Ranking, at time.Time, ready bool, err error) {
	st := s.uiState()
	st.mu.Lock()
	e := st.ranks[rankKey{day: -1}]
	st.mu.Unlock()
	if e == nil {
		s.WarmRankings(ctx)
		return nil, time.Time{}, false, nil
	}
	select {
	case <-e.ready:
	default:
		return nil, time.Time{}, false, nil
	}
	rk, at, err = s.scoreboard(ctx)
	return rk, at, true, err
}

// keptRanking returns the ranking of every protocol on day (nil: at harvest) from method's
// assays ("": the most frequent method), with the default options, and when it was computed.
// It is computed on the first call, which waits for it (as do calls that come while it runs),
// and kept; a later call that finds the data changed (the audit trail has grown: every write
// is audited) and the kept ranking older than rankingMaxAge recomputes it in the background
// and answers the kept one meanwhile. A failed first computation is not kept. At most
// maxKeptRankings are kept; the least recently used one is dropped for a new question.
func (s *Server) keptRanking(ctx context.Context, day *int, method string) (*analysis.Ranking, time.Time, error) {
	key := rankKey{day: -1, method: method}
	if day != nil {
		key.day = *day
	}
	req := analysis.RankingRequest{Day: day, Method: method}
	if day != nil {
		d := *day
		req.Day = &d // the kept computation must not share the caller's variable
	}
	st := s.uiState()
	_, stamp, err := s.store.FindAuditEvents(ctx, clink.AuditFilter{Page: clink.Page{Limit: 1}})
	if err != nil {
		return nil, time.Time{}, err
	}
	// compute runs the ranking as the server's, not the request's: the request may end first.
	compute := func() (*analysis.Ranking, error) {
		return analysis.New(s.store).Ranking(context.WithoutCancel(ctx), req)
	}
	st.mu.Lock()
	e := st.ranks[key]
	if e == nil {
		if st.ranks == nil {
			st.ranks = map[rankKey]*keptRank{}
		}
		st.dropLeastUsed()
		e = &keptRank{ready: make(chan struct{}), used: time.Now()}
		st.ranks[key] = e
		st.mu.Unlock()
		rk, err := compute()
		st.mu.Lock()
		e.rank, e.err, e.at, e.stamp = rk, err, time.Now(), stamp
		if err != nil && st.ranks[key] == e {
			delete(st.ranks, key) // the next call tries again
		}
		close(e.ready)
		st.mu.Unlock()
		return rk, e.at, err
	}
	e.used = time.Now()
	st.mu.Unlock()
	select {
	case <-e.ready:
	case <-ctx.Done():
		return nil, time.Time{}, ctx.Err()
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if e.err != nil {
		return nil, e.at, e.err
	}
	if stamp != e.stamp && time.Since(e.at) >= rankingMaxAge && !e.active {
		e.active = true
		go func() {
			rk, err := compute()
			st.mu.Lock()
			defer st.mu.Unlock()
			e.active = false
			if err != nil {
				s.logger.Error("recompute a kept ranking", "day", key.day, "method", key.method, "error", err.Error())
				return
			}
			e.rank, e.at, e.stamp = rk, time.Now(), stamp
		}()
	}
	return e.rank, e.at, nil
}

// dropLeastUsed makes room for one more kept ranking by dropping the least recently used
// one whose first computation has ended. Call it with st.mu held.
func (st *uiState) dropLeastUsed() {
	if len(st.ranks) < maxKeptRankings {
		return
	}
	var oldest rankKey
	var found bool
	for k, e := range st.ranks {
		select {
		case <-e.ready:
		default:
			continue // its callers are waiting for it
		}
		if !found || e.used.Before(st.ranks[oldest].used) {
			oldest, found = k, true
		}
	}
	if found {
		delete(st.ranks, oldest)
	}
}

// observationDays returns the days on which a culture under p is due for an observation:
// day 0, the days components are added, the restimulation days and the last day, sorted.
func observationDays(p *clink.Protocol) []int {
	days := []int{0, p.DurationDays}
	for _, c := range p.Components {
		days = append(days, c.Days...)
	}
	days = append(days, p.RestimulationDays...)
	slices.Sort(days)
	days = slices.Compact(days)
	return slices.DeleteFunc(days, func(d int) bool { return d < 0 || d > p.DurationDays })
}

// runningCulture is a running culture on the dashboard.
type runningCulture struct {
	Culture *clink.Culture
	Day     int  // the culture's day on the date shown
	Due     bool // an observation is due on the date shown
	Harvest bool // past the protocol's last day: due for harvest
	// NextDay is the next observation day after the date shown (-1 when none).
	NextDay  int
	Last     *clink.Observation // the latest observation, nil when none
	Duration int
}

// latestObservation is a recently recorded observation.
type latestObservation struct {
	Observation *clink.Observation
	Time        time.Time
	Actor       string
}

// latestAssay is a recently recorded assay with its analysis.
type latestAssay struct {
	Assay    *clink.Assay
	Analysis analysis.AssayAnalysis
}

// dashboardData is the data of the dashboard.
type dashboardData struct {
	Date      string // the date shown, YYYY-MM-DD
	IsToday   bool
	Site      string // the site shown, "" for all
	Sites     []*clink.Site
	Due       []runningCulture
	Running   []runningCulture
	LatestObs []latestObservation
	Assays    []latestAssay
	Ranking   *analysis.Ranking
	RankingAt time.Time
	// RankingPending is set while the scoreboard is computed after a start.
	RankingPending bool
	ScoreboardURL  string // the page, waiting for its scoreboard
	RankTop        int    // rows of the scoreboard shown
	Pareto         *chartView
	Activity       []auditRow
}

// dashboardLatest is how many of the latest observations, assays and audit events are shown.
const dashboardLatest = 8

// dashboard is the signed-in start page. It does not wait for the scoreboard: while the
// server computes it after a start, the page says so and loads it (dashboardScoreboard).
func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) error {
	return s.dashboardPage(w, r, false)
}

// dashboardScoreboard is the dashboard once its scoreboard is computed: it waits for it. The
// dashboard's pending scoreboard loads its section from here (htmx), and its link leads here
// without JavaScript.
func (s *Server) dashboardScoreboard(w http.ResponseWriter, r *http.Request) error {
	return s.dashboardPage(w, r, true)
}

// dashboardPage renders the dashboard; wait says whether to wait for the scoreboard.
func (s *Server) dashboardPage(w http.ResponseWriter, r *http.Request, wait bool) error {
	ctx := r.Context()
	u := UserFrom(ctx)
	q := r.URL.Query()
	d := dashboardData{Site: u.Site, RankTop: 8}
	var fe clink.FieldErrors
	switch v := q.Get("site"); {
	case v == "all":
		d.Site = ""
	case v == "":
	case siteParamRE.MatchString(v):
		d.Site = v
	default:
		fe.Addf("site", "%q is not a site code (three capital letters, e.g. ZGZ) or all", v)
	}
	date := s.today()
	d.IsToday = true
	if v := q.Get("date"); v != "" {
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			fe.Addf("date", "%q is not a date written YYYY-MM-DD", v)
		}
		d.IsToday = t.Equal(date)
		date = t
	}
	if err := fe.Err(); err != nil {
		return err
	}
	d.Date = date.Format(time.DateOnly)
	keep := url.Values{}
	for _, k := range []string{"site", "date"} {
		if v := q.Get(k); v != "" {
			keep.Set(k, v)
		}
	}
	d.ScoreboardURL = "/dashboard/scoreboard"
	if len(keep) > 0 {
		d.ScoreboardURL += "?" + keep.Encode()
	}
	var err error
	if d.Sites, err = s.store.ListSites(ctx); err != nil {
		return err
	}
	if err := s.dashboardCultures(ctx, &d, date); err != nil {
		return err
	}
	if err := s.dashboardLatest(ctx, &d); err != nil {
		return err
	}
	ready := true
	if wait {
		d.Ranking, d.RankingAt, err = s.scoreboard(ctx)
	} else {
		d.Ranking, d.RankingAt, ready, err = s.scoreboardReady(ctx)
	}
	if err != nil {
		return err
	}
	d.RankingPending = !ready
	if d.Ranking != nil && d.Ranking.Ranking != nil && len(d.Ranking.Ranking.Protocols) > 0 {
		cv := chartViews("/dashboard/charts/", []string{"pareto"}, map[string]chart.Chart{"pareto": paretoChart(d.Ranking)})["pareto"]
		d.Pareto = &cv
	}
	return s.render(w, r, http.StatusOK, "dashboard", page{Title: "Dashboard", Nav: navDashboard, Data: d})
}

// dashboardCultures fills the running cultures of the site shown and those due on date.
func (s *Server) dashboardCultures(ctx context.Context, d *dashboardData, date time.Time) error {
	running, err := clink.ReadAll(func(p clink.Page) ([]*clink.Culture, int, error) {
		return s.store.FindCultures(ctx, clink.CultureFilter{Site: d.Site, Status: clink.StatusRunning, Page: p})
	})
	if err != nil {
		return err
	}
	protocols := map[int64]*clink.Protocol{}
	for _, c := range running {
		p, ok := protocols[c.ProtocolID]
		if !ok {
			if p, err = s.store.FindProtocolByID(ctx, c.ProtocolID); err != nil {
				return err
			}
			protocols[c.ProtocolID] = p
		}
		start, err := time.Parse(time.DateOnly, c.StartDate)
		if err != nil {
			continue // the store checks start dates; nothing to plan without one
		}
		rc := runningCulture{Culture: c, Day: int(date.Sub(start).Hours() / 24), NextDay: -1, Duration: p.DurationDays}
		if rc.Day < 0 {
			continue // not started on that date
		}
		obs, _, err := s.store.FindObservations(ctx, clink.ObservationFilter{CultureID: c.ID, Page: clink.Page{Limit: clink.MaxLimit}})
		if err != nil {
			return err
		}
		observed := map[int]bool{}
		for _, o := range obs {
			observed[o.Day] = true
			if rc.Last == nil || o.Day > rc.Last.Day {
				rc.Last = o
			}
		}
		days := observationDays(p)
		switch {
		case rc.Day > p.DurationDays:
			rc.Harvest = true
			rc.Due = true
		case slices.Contains(days, rc.Day):
			rc.Due = !observed[rc.Day]
		}
		for _, x := range days {
			if x > rc.Day {
				rc.NextDay = x
				break
			}
		}
		d.Running = append(d.Running, rc)
		if rc.Due {
			d.Due = append(d.Due, rc)
		}
	}
	// The most advanced cultures first: they are nearest harvest.
	order := func(a, b runningCulture) int {
		return cmp.Or(cmp.Compare(b.Day, a.Day), cmp.Compare(a.Culture.Code, b.Culture.Code))
	}
	slices.SortFunc(d.Running, order)
	slices.SortFunc(d.Due, order)
	return nil
}

// researchEntities are the audited records the dashboard's activity shows; sign-ins, users
// and tokens are left out.
var researchEntities = []string{"site", "donor", "component", "protocol", "culture", "observation", "assay", "gating_template", "fcs_attachment", "fcs_file"}

// lastAudit returns up to n of the latest audit events that match f, newest first.
func (s *Server) lastAudit(ctx context.Context, f clink.AuditFilter, n int) ([]*clink.AuditEvent, error) {
	f.Page = clink.Page{Limit: 1}
	_, total, err := s.store.FindAuditEvents(ctx, f)
	if err != nil || total == 0 {
		return nil, err
	}
	f.Page = clink.Page{Limit: min(n, total), Offset: max(total-n, 0)}
	es, _, err := s.store.FindAuditEvents(ctx, f)
	if err != nil {
		return nil, err
	}
	slices.Reverse(es)
	return es, nil
}

// dashboardRecent is how many of the latest audit events the dashboard reads for its latest
// observations and its activity. Reading the newest events of one entity (an index on entity,
// then the id order) takes 0.2 s on the demo data times ten, reading the newest events of all
// 15 ms, so the dashboard reads the latter once and picks from them.
const dashboardRecent = 200

// dashboardLatest fills the latest observations and assays and the recent activity.
func (s *Server) dashboardLatest(ctx context.Context, d *dashboardData) error {
	events, err := s.lastAudit(ctx, clink.AuditFilter{}, dashboardRecent)
	if err != nil {
		return err
	}
	seen := map[int64]bool{}
	for _, e := range events {
		if d.Site != "" && e.Site != d.Site {
			continue
		}
		if slices.Contains(researchEntities, e.Entity) && len(d.Activity) < 2*dashboardLatest {
			what, href := auditLabel(e)
			d.Activity = append(d.Activity, auditRow{AuditEvent: e, What: what, Href: href})
		}
		if e.Entity != "observation" || e.Action != "create" || seen[e.EntityID] || len(d.LatestObs) == dashboardLatest {
			continue
		}
		var o clink.Observation
		if err := json.Unmarshal(e.After, &o); err != nil {
			continue
		}
		seen[e.EntityID] = true
		d.LatestObs = append(d.LatestObs, latestObservation{Observation: &o, Time: e.Time, Actor: e.Actor})
	}
	if len(d.LatestObs) < dashboardLatest && d.Site != "" {
		if err := s.latestOfNewestCultures(ctx, d, seen); err != nil {
			return err
		}
	}
	_, total, err := s.store.FindAssays(ctx, clink.AssayFilter{Site: d.Site, Page: clink.Page{Limit: 1}})
	if err != nil {
		return err
	}
	if total > 0 {
		assays, _, err := s.store.FindAssays(ctx, clink.AssayFilter{Site: d.Site, Page: clink.Page{Limit: min(dashboardLatest, total), Offset: max(total-dashboardLatest, 0)}})
		if err != nil {
			return err
		}
		slices.Reverse(assays)
		for _, a := range assays {
			if a.Voided {
				continue
			}
			obs, _, err := s.store.FindObservations(ctx, clink.ObservationFilter{CultureID: a.CultureID, Page: clink.Page{Limit: clink.MaxLimit}})
			if err != nil {
				return err
			}
			d.Assays = append(d.Assays, latestAssay{Assay: a, Analysis: analysis.AnalyzeAssay(a, obs)})
		}
	}
	return nil
}

// latestOfNewestCultures completes the latest observations of a site whose own writes are
// older than the audit events the dashboard reads (other sites wrote since): the latest
// observation of each of the site's newest cultures, newest first.
func (s *Server) latestOfNewestCultures(ctx context.Context, d *dashboardData, seen map[int64]bool) error {
	_, total, err := s.store.FindCultures(ctx, clink.CultureFilter{Site: d.Site, Page: clink.Page{Limit: 1}})
	if err != nil || total == 0 {
		return err
	}
	cs, _, err := s.store.FindCultures(ctx, clink.CultureFilter{Site: d.Site, Page: clink.Page{Limit: min(dashboardLatest, total), Offset: max(total-dashboardLatest, 0)}})
	if err != nil {
		return err
	}
	var more []latestObservation
	for _, c := range cs {
		obs, _, err := s.store.FindObservations(ctx, clink.ObservationFilter{CultureID: c.ID, Page: clink.Page{Limit: clink.MaxLimit}})
		if err != nil {
			return err
		}
		if len(obs) == 0 || seen[obs[len(obs)-1].ID] {
			continue
		}
		o := obs[len(obs)-1]
		more = append(more, latestObservation{Observation: o, Time: o.CreatedAt, Actor: o.CreatedBy})
	}
	slices.SortStableFunc(more, func(a, b latestObservation) int {
		return cmp.Or(b.Time.Compare(a.Time), cmp.Compare(b.Observation.ID, a.Observation.ID))
	})
	for _, m := range more {
		if len(d.LatestObs) == dashboardLatest {
			break
		}
		d.LatestObs = append(d.LatestObs, m)
	}
	return nil
}

// paretoChart is the scoreboard's protocols as median NK fold against median LU30, the Pareto
// front highlighted.
func paretoChart(rk *analysis.Ranking) chart.Scatter {
	sc := chart.Scatter{
		Title:         "Protocols: NK fold expansion against killing (medians)",
		X:             chart.Axis{Label: "Median NK fold expansion", Unit: "×", Log: true},
		Y:             chart.Axis{Label: "Median LU30", Unit: "per 10⁷ NK", Log: true},
		HighlightName: "Pareto front",
	}
	for _, p := range rk.Ranking.Protocols {
		if p.NKFold == nil || p.LU30 == nil {
			continue
		}
		sc.Points = append(sc.Points, chart.ScatterPoint{X: p.NKFold.Estimate, Y: p.LU30.Estimate, Label: p.Protocol, Highlight: p.OnFront,
			Title: fmt.Sprintf("%s: NK fold %s, LU30 %s (%d cultures)", p.Protocol, fmtNum(p.NKFold.Estimate), fmtNum(p.LU30.Estimate), p.NCultures)})
	}
	return sc
}

// dashboardChart serves the dashboard's charts (pareto.svg, pareto.csv) from the kept
// scoreboard.
func (s *Server) dashboardChart(w http.ResponseWriter, r *http.Request) error {
	file := r.PathValue("file")
	if file != "pareto.svg" && file != "pareto.csv" {
		return clink.Errorf(clink.ENOTFOUND, "no dashboard chart %q: pareto.svg or pareto.csv", file)
	}
	rk, _, err := s.scoreboard(r.Context())
	if err != nil {
		return err
	}
	if rk == nil || rk.Ranking == nil {
		return clink.Errorf(clink.ENOTFOUND, "no scoreboard yet")
	}
	return writeChartFile(w, file, paretoChart(rk))
}

// writeChartFile answers a chart's SVG or CSV as a download named file (NAME.svg or
// NAME.csv).
func writeChartFile(w http.ResponseWriter, file string, ch chart.Chart) error {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", file))
	if strings.HasSuffix(file, ".svg") {
		h.Set("Content-Type", "image/svg+xml")
		// An SVG opened on its own is a document: no script may run in it.
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
		w.Write(ch.SVG())
		return nil
	}
	h.Set("Content-Type", "text/csv; charset=utf-8")
	w.Write(ch.CSV())
	return nil
}

// auditLabel names the record of an audit event as people know it ("observation ZGZ-C0042
// day 7", "protocol IL-2 alone v2"), read from the record as the event holds it, and the page
// that shows it ("" when there is none).
func auditLabel(e *clink.AuditEvent) (label, href string) {
	raw := e.After
	if len(raw) == 0 || string(raw) == "null" {
		raw = e.Before
	}
	var r struct {
		ID        int64  `json:"id"`
		Code      string `json:"code"`
		Name      string `json:"name"`
		Version   int    `json:"version"`
		Culture   string `json:"culture"`
		CultureID int64  `json:"culture_id"`
		Day       *int   `json:"day"`
		FileName  string `json:"file_name"`
	}
	_ = json.Unmarshal(raw, &r) // a record that does not read is named by its id below
	entity := strings.ReplaceAll(e.Entity, "_", " ")
	switch {
	case e.Entity == "culture" && r.Code != "":
		return "culture " + r.Code, fmt.Sprintf("/cultures/%d", e.EntityID)
	case (e.Entity == "observation" || e.Entity == "assay") && r.Culture != "" && r.Day != nil:
		return fmt.Sprintf("%s %s day %d", entity, r.Culture, *r.Day), fmt.Sprintf("/cultures/%d", r.CultureID)
	case e.Entity == "fcs_attachment" && r.FileName != "":
		return fmt.Sprintf("FCS file %s on %s", r.FileName, r.Culture), ""
	case (e.Entity == "protocol" || e.Entity == "gating_template") && r.Name != "":
		return fmt.Sprintf("%s %s v%d", entity, r.Name, r.Version), ""
	case r.Code != "":
		return entity + " " + r.Code, ""
	case r.Name != "":
		return entity + " " + r.Name, ""
	}
	return fmt.Sprintf("%s %d", entity, e.EntityID), ""
}
