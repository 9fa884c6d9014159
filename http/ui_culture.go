package http

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/analysis"
	"github.com/clink-consortium/clink/chart"
	"github.com/clink-consortium/clink/kinetics"
)

// The cultures: the list with its filters, the culture page (header, charts, tables, FCS
// files, audit trail) and its data entry (add an observation, correct one with a reason).

// cultureListLimit is the number of cultures on one page of the list.
const cultureListLimit = 50

// cultureListData is the data of the cultures list.
type cultureListData struct {
	Site, Status string
	ProtocolID   int64
	Sites        []*clink.Site
	Protocols    []*clink.Protocol
	Statuses     []string
	Cultures     []*clink.Culture
	Total        int
	Offset       int
	Prev, Next   string // links to the neighbouring pages, "" at the ends
}

// cultureList lists cultures, newest first, filtered by site, status and protocol version
// (query parameters site, status, protocol), 50 to a page (offset).
func (s *Server) cultureList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	d := cultureListData{Site: q.Get("site"), Status: q.Get("status"), Statuses: []string{clink.StatusRunning, clink.StatusCompleted, clink.StatusStopped}}
	var fe clink.FieldErrors
	if d.Site != "" && !siteParamRE.MatchString(d.Site) {
		fe.Addf("site", "%q is not a site code (three capital letters, e.g. ZGZ)", d.Site)
	}
	if d.Status != "" && !slices.Contains(d.Statuses, d.Status) {
		fe.Addf("status", "%q is not one of running, completed, stopped", d.Status)
	}
	if v := q.Get("protocol"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			fe.Addf("protocol", "%q is not a protocol id", v)
		}
		d.ProtocolID = id
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			fe.Addf("offset", "%q is not a number of cultures to skip", v)
		}
		d.Offset = n
	}
	if err := fe.Err(); err != nil {
		return err
	}
	ctx := r.Context()
	var err error
	if d.Sites, err = s.store.ListSites(ctx); err != nil {
		return err
	}
	if d.Protocols, err = clink.ReadAll(func(p clink.Page) ([]*clink.Protocol, int, error) {
		return s.store.FindProtocols(ctx, clink.ProtocolFilter{Page: p})
	}); err != nil {
		return err
	}
	f := clink.CultureFilter{Site: d.Site, Status: d.Status, ProtocolID: d.ProtocolID}
	// The store lists by id; the newest cultures come first here, so the page is counted
	// from the end.
	_, total, err := s.store.FindCultures(ctx, clink.CultureFilter{Site: f.Site, Status: f.Status, ProtocolID: f.ProtocolID, Page: clink.Page{Limit: 1}})
	if err != nil {
		return err
	}
	d.Total = total
	from := max(total-d.Offset-cultureListLimit, 0)
	n := total - d.Offset - from
	if n > 0 {
		f.Page = clink.Page{Limit: n, Offset: from}
		if d.Cultures, _, err = s.store.FindCultures(ctx, f); err != nil {
			return err
		}
		slices.Reverse(d.Cultures)
	}
	link := func(offset int) string {
		v := url.Values{}
		for k, x := range map[string]string{"site": d.Site, "status": d.Status} {
			if x != "" {
				v.Set(k, x)
			}
		}
		if d.ProtocolID != 0 {
			v.Set("protocol", strconv.FormatInt(d.ProtocolID, 10))
		}
		if offset > 0 {
			v.Set("offset", strconv.Itoa(offset))
		}
		if len(v) == 0 {
			return "/cultures"
		}
		return "/cultures?" + v.Encode()
	}
	if d.Offset > 0 {
		d.Prev = link(max(d.Offset-cultureListLimit, 0))
	}
	if d.Offset+cultureListLimit < total {
		d.Next = link(d.Offset + cultureListLimit)
	}
	return s.render(w, r, http.StatusOK, "cultures", page{Title: "Cultures", Nav: navCultures, Data: d})
}

// cultureView is everything the culture page shows.
type cultureView struct {
	Culture  *clink.Culture
	Donor    *clink.Donor
	Protocol *clink.Protocol
	// Day is the culture's day today (days since its start date); DueToday says whether the
	// protocol schedule asks for an observation today that is not recorded yet.
	Day      int
	DueToday bool
	// Rows are the observations (voided ones too, struck through) with their kinetics.
	Rows    []observationRow
	Metrics kinetics.Metrics
	Markers markerTable
	Charts  []chartView
	Assays  []assayPanel
	FCS     []*clink.FCSAttachment
	FCSDays map[int64]int // observation id -> day, for the FCS table
	Status  []statusChange
	Audit   []auditRow
	// CanWrite says whether the user may record data for this culture: a researcher of its
	// site (the form is not shown otherwise, and a POST is refused).
	CanWrite  bool
	Form      form
	Markerset []string // the marker names of the form
	Added     bool     // an observation was just recorded
	Voided    bool     // an observation was just voided
	// ConfirmCount asks whether a count far from the culture's trend is right (countOffTrend).
	ConfirmCount bool
}

// observationRow is an observation with its point of the expansion kinetics.
type observationRow struct {
	*clink.Observation
	Point *kinetics.Point
}

// markerTable is the phenotype markers by day: Names are the markers any observation reports,
// Days the days with markers, Values[i][j] marker i on day j (nil when not measured).
type markerTable struct {
	Names  []string
	Days   []int
	Values [][]*float64
}

// chartView is a chart inlined in a page with its download links.
type chartView struct {
	ID      string // chart-NAME, the figure's id
	Name    string
	Title   string
	SVG     template.HTML
	SVGURL  string
	CSVURL  string
	Caption string
}

// assayPanel is a cytotoxicity assay's analysis with its chart.
type assayPanel struct {
	analysis.AssayAnalysis
	Chart chartView
}

// statusChange is one step of a culture's status history.
type statusChange struct {
	Time   time.Time
	Actor  string
	Status string
	Reason string
}

// auditRow is one audit event of the culture page's trail.
type auditRow struct {
	*clink.AuditEvent
	What string // "culture ZGZ-C0042" or "observation, day 7"
	Href string // the page of the record, "" when none
}

// cultureData is what the culture's charts and tables are computed from.
type cultureData struct {
	culture  *clink.Culture
	obs      []*clink.Observation // voided ones too, by day
	valid    []*clink.Observation // not voided, by day
	metrics  kinetics.Metrics
	analyses []analysis.AssayAnalysis
}

// loadCultureData reads a culture's observations and assays and computes its kinetics and
// cytotoxicity, as GET /cultures/{id}/metrics does.
func (s *Server) loadCultureData(ctx context.Context, c *clink.Culture) (*cultureData, error) {
	d := &cultureData{culture: c}
	var err error
	d.obs, err = clink.ReadAll(func(p clink.Page) ([]*clink.Observation, int, error) {
		return s.store.FindObservations(ctx, clink.ObservationFilter{CultureID: c.ID, IncludeVoided: true, Page: p})
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(d.obs, func(a, b *clink.Observation) int { return cmp.Compare(a.Day, b.Day) })
	counts := make([]kinetics.Count, 0, len(d.obs))
	for _, o := range d.obs {
		if o.Voided {
			continue
		}
		d.valid = append(d.valid, o)
		counts = append(counts, analysis.CountOf(o))
	}
	d.metrics = kinetics.Compute(c.StartingCells, c.StartingNKPct/100, counts, kinetics.Options{SkipFits: true})
	assays, err := clink.ReadAll(func(p clink.Page) ([]*clink.Assay, int, error) {
		return s.store.FindAssays(ctx, clink.AssayFilter{CultureID: c.ID, Page: p})
	})
	if err != nil {
		return nil, err
	}
	for _, a := range assays {
		if !a.Voided {
			d.analyses = append(d.analyses, analysis.AnalyzeAssay(a, d.valid))
		}
	}
	slices.SortStableFunc(d.analyses, func(a, b analysis.AssayAnalysis) int { return cmp.Compare(a.Day, b.Day) })
	return d, nil
}

// charts returns the culture's charts by name, in page order: growth, fold, purity, then one
// per assay (cytotox-ID).
func (d *cultureData) charts() ([]string, map[string]chart.Chart) {
	c := d.culture
	var days, viable, nkDays, nk, foldDays, foldTotal, foldNKDays, foldNK []float64
	for _, p := range d.metrics.Points {
		x := float64(p.Day)
		days, viable = append(days, x), append(viable, p.ViableCells)
		if p.NKCells != nil {
			nkDays, nk = append(nkDays, x), append(nk, *p.NKCells)
		}
		if p.FoldTotal != nil {
			foldDays, foldTotal = append(foldDays, x), append(foldTotal, *p.FoldTotal)
		}
		if p.FoldNK != nil {
			foldNKDays, foldNK = append(foldNKDays, x), append(foldNK, *p.FoldNK)
		}
	}
	dayAxis := chart.Axis{Label: "Day", Unit: "d"}
	growth := chart.Line{
		Title: fmt.Sprintf("%s: growth", c.Code),
		X:     dayAxis,
		Y:     chart.Axis{Label: "Cells", Unit: "cells", Log: true},
		Series: []chart.Series{
			{Name: "Viable cells", X: days, Y: viable, Markers: true},
			{Name: "NK cells", X: nkDays, Y: nk, Markers: true, Dashed: true},
		},
	}
	if dt := d.metrics.DoublingTime; dt != nil {
		growth.Annotations = append(growth.Annotations, fmt.Sprintf("Doubling time %s d (days %d–%d, %s cells)", fmtNum(dt.Days), dt.FromDay, dt.ToDay, dt.Basis))
	}
	fold := chart.Line{
		Title: fmt.Sprintf("%s: fold expansion", c.Code),
		X:     dayAxis,
		Y:     chart.Axis{Label: "Cumulative fold expansion", Unit: "×", Log: true},
		Series: []chart.Series{
			{Name: "Total cells", X: foldDays, Y: foldTotal, Markers: true},
			{Name: "NK cells", X: foldNKDays, Y: foldNK, Markers: true, Dashed: true},
		},
	}
	if n := len(foldNK); n > 0 {
		fold.Annotations = append(fold.Annotations, fmt.Sprintf("NK fold expansion at day %d: %s×", int(foldNKDays[n-1]), fmtNum(foldNK[n-1])))
	}
	var vDays, vPct, nkpDays, nkPct, tDays, tPct []float64
	for _, o := range d.valid {
		x := float64(o.Day)
		if o.ViabilityPct != nil {
			vDays, vPct = append(vDays, x), append(vPct, *o.ViabilityPct)
		}
		if o.NKPct != nil {
			nkpDays, nkPct = append(nkpDays, x), append(nkPct, *o.NKPct)
		}
		if o.TPct != nil {
			tDays, tPct = append(tDays, x), append(tPct, *o.TPct)
		}
	}
	zero, hundred := 0.0, 100.0
	purity := chart.Line{
		Title: fmt.Sprintf("%s: purity and viability", c.Code),
		X:     dayAxis,
		Y:     chart.Axis{Label: "Percent", Unit: "%", Min: &zero, Max: &hundred},
		Series: []chart.Series{
			{Name: "Viability", X: vDays, Y: vPct, Markers: true},
			{Name: "NK (CD3−CD56+)", X: nkpDays, Y: nkPct, Markers: true},
			{Name: "T (CD3+)", X: tDays, Y: tPct, Markers: true, Dashed: true},
		},
	}
	names := []string{"growth", "fold", "purity"}
	out := map[string]chart.Chart{"growth": growth, "fold": fold, "purity": purity}
	for _, a := range d.analyses {
		name := fmt.Sprintf("cytotox-%d", a.AssayID)
		names = append(names, name)
		out[name] = killingChart(c, a)
	}
	return names, out
}

// killingChart is an assay's specific lysis against E:T (NK E:T when corrected) with the
// fitted model y = a(1 − e^(−k·E:T)) and the lytic units.
func killingChart(c *clink.Culture, a analysis.AssayAnalysis) chart.Line {
	xLabel, xUnit := "E:T", "NK per target"
	if a.ETCorrection == nil {
		xLabel, xUnit = "Nominal E:T", "effectors per target"
	}
	var xs, ys []float64
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range a.Points {
		if p.SpecificLysisPct == nil {
			continue
		}
		x := p.ETNominal
		if a.ETCorrection != nil && p.ETNK != nil {
			x = *p.ETNK
		}
		xs, ys = append(xs, x), append(ys, *p.SpecificLysisPct)
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	zero, hundred := 0.0, 100.0
	l := chart.Line{
		Title:  fmt.Sprintf("%s day %d: %s, %s", c.Code, a.Day, a.Target, a.Method),
		X:      chart.Axis{Label: xLabel, Unit: xUnit, Log: true},
		Y:      chart.Axis{Label: "Specific lysis", Unit: "%", Min: &zero, Max: &hundred},
		Series: []chart.Series{{Name: "Measured (mean of wells)", X: xs, Y: ys, Markers: true}},
	}
	if f := a.Fit; f != nil && lo > 0 && hi >= lo {
		var gx, gy []float64
		const n = 60
		for i := range n + 1 {
			x := lo * math.Pow(hi/lo, float64(i)/n)
			gx, gy = append(gx, x), append(gy, 100*f.A*(1-math.Exp(-f.K*x)))
		}
		l.Series = append(l.Series, chart.Series{Name: "Exponential fit", X: gx, Y: gy})
		l.Annotations = append(l.Annotations, fmt.Sprintf("fit: lysis = %s %% × (1 − e^(−%s·E:T))", fmtNum(100*f.A), fmtNum(f.K)))
	}
	per := "per 10⁷ NK"
	if a.ETCorrection == nil {
		per = "per 10⁷ effectors"
	}
	var lu []string
	if a.LU20 != nil {
		lu = append(lu, "LU20 = "+fmtNum(*a.LU20))
	}
	if a.LU30 != nil {
		lu = append(lu, "LU30 = "+fmtNum(*a.LU30))
	}
	if len(lu) > 0 {
		l.Annotations = append(l.Annotations, strings.Join(lu, ", ")+" "+per)
	}
	return l
}

// chartViews renders charts for a page, each with links to its SVG and CSV.
func chartViews(base string, names []string, charts map[string]chart.Chart) map[string]chartView {
	out := make(map[string]chartView, len(names))
	for _, n := range names {
		c := charts[n]
		title := n
		if l, ok := c.(chart.Line); ok {
			title = l.Title
		}
		out[n] = chartView{ID: "chart-" + n, Name: n, Title: title, SVG: template.HTML(c.SVG()),
			SVGURL: base + n + ".svg", CSVURL: base + n + ".csv"}
	}
	return out
}

// culturePage shows a culture: header, status history, charts, observations, markers,
// cytotoxicity, FCS files and audit trail, and, for a researcher of its site, the form to add
// an observation.
func (s *Server) culturePage(w http.ResponseWriter, r *http.Request) error {
	c, err := s.findCulture(r)
	if err != nil {
		return err
	}
	f := newForm()
	v, err := s.cultureView(r, c, f)
	if err != nil {
		return err
	}
	v.Added = r.URL.Query().Get("added") != ""
	v.Voided = r.URL.Query().Get("voided") != ""
	if v.CanWrite && v.DueToday {
		f.Values["day"] = strconv.Itoa(v.Day)
	}
	return s.render(w, r, http.StatusOK, "culture", page{Title: "Culture " + c.Code, Nav: navCultures, Data: v})
}

// cultureView gathers the culture page's data, with f as the state of its form.
func (s *Server) cultureView(r *http.Request, c *clink.Culture, f form) (*cultureView, error) {
	ctx := r.Context()
	v := &cultureView{Culture: c, Form: f, Markerset: clink.Markers, FCSDays: map[int64]int{}}
	u := UserFrom(ctx)
	v.CanWrite = u != nil && permits(u, PermWriteResearch, c.Site) && !c.Voided
	var err error
	if v.Donor, err = s.store.FindDonorByID(ctx, c.DonorID); err != nil {
		return nil, err
	}
	if v.Protocol, err = s.store.FindProtocolByID(ctx, c.ProtocolID); err != nil {
		return nil, err
	}
	d, err := s.loadCultureData(ctx, c)
	if err != nil {
		return nil, err
	}
	v.Metrics = d.metrics
	points := map[int]*kinetics.Point{}
	for i := range d.metrics.Points {
		points[d.metrics.Points[i].Day] = &d.metrics.Points[i]
	}
	observed := map[int]bool{}
	for _, o := range d.obs {
		row := observationRow{Observation: o}
		if !o.Voided {
			row.Point = points[o.Day]
			observed[o.Day] = true
		}
		v.Rows = append(v.Rows, row)
	}
	today := s.today()
	if start, err := time.Parse(time.DateOnly, c.StartDate); err == nil {
		v.Day = int(today.Sub(start).Hours() / 24)
		v.DueToday = c.Status == clink.StatusRunning && slices.Contains(observationDays(v.Protocol), v.Day) && !observed[v.Day]
	}
	v.Markers = markersOf(d.valid)

	names, charts := d.charts()
	views := chartViews(fmt.Sprintf("/cultures/%d/charts/", c.ID), names, charts)
	for _, n := range []string{"growth", "fold", "purity"} {
		v.Charts = append(v.Charts, views[n])
	}
	for _, a := range d.analyses {
		v.Assays = append(v.Assays, assayPanel{AssayAnalysis: a, Chart: views[fmt.Sprintf("cytotox-%d", a.AssayID)]})
	}

	// The audit trail: the culture's events and every observation's, oldest first.
	events, err := s.auditOf(ctx, "culture", c.ID)
	if err != nil {
		return nil, err
	}
	for _, e := range events {
		v.Audit = append(v.Audit, auditRow{AuditEvent: e, What: "culture " + c.Code})
		if after := auditField(e.After, "status"); e.Action == "create" || e.Action == "status" {
			v.Status = append(v.Status, statusChange{Time: e.Time, Actor: e.Actor, Status: after, Reason: e.Reason})
		}
	}
	for _, o := range d.obs {
		events, err := s.auditOf(ctx, "observation", o.ID)
		if err != nil {
			return nil, err
		}
		for _, e := range events {
			v.Audit = append(v.Audit, auditRow{AuditEvent: e, What: fmt.Sprintf("observation, day %d", o.Day)})
		}
		atts, err := clink.ReadAll(func(p clink.Page) ([]*clink.FCSAttachment, int, error) {
			return s.store.FindFCSAttachments(ctx, clink.FCSAttachmentFilter{ObservationID: o.ID, Page: p})
		})
		if err != nil {
			return nil, err
		}
		v.FCS = append(v.FCS, atts...)
		v.FCSDays[o.ID] = o.Day
	}
	slices.SortStableFunc(v.Audit, func(a, b auditRow) int { return cmp.Compare(a.Seq, b.Seq) })
	return v, nil
}

// auditOf returns every audit event of one record, in chain order.
func (s *Server) auditOf(ctx context.Context, entity string, id int64) ([]*clink.AuditEvent, error) {
	return clink.ReadAll(func(p clink.Page) ([]*clink.AuditEvent, int, error) {
		return s.store.FindAuditEvents(ctx, clink.AuditFilter{Entity: entity, EntityID: id, Page: p})
	})
}

// markersOf tabulates the markers of observations by day.
func markersOf(obs []*clink.Observation) markerTable {
	var t markerTable
	have := map[string]bool{}
	for _, o := range obs {
		if len(o.Markers) == 0 {
			continue
		}
		t.Days = append(t.Days, o.Day)
		for m := range o.Markers {
			have[m] = true
		}
	}
	for _, m := range clink.Markers {
		if have[m] {
			t.Names = append(t.Names, m)
		}
	}
	for _, m := range t.Names {
		row := make([]*float64, 0, len(t.Days))
		for _, o := range obs {
			if len(o.Markers) == 0 {
				continue
			}
			if x, ok := o.Markers[m]; ok {
				row = append(row, &x)
			} else {
				row = append(row, nil)
			}
		}
		t.Values = append(t.Values, row)
	}
	return t
}

// cultureChart serves one of a culture's charts as SVG or as the CSV of its data:
// /cultures/{id}/charts/growth.svg, fold.csv, cytotox-12.svg ...
func (s *Server) cultureChart(w http.ResponseWriter, r *http.Request) error {
	c, err := s.findCulture(r)
	if err != nil {
		return err
	}
	file := r.PathValue("file")
	name, ext, _ := strings.Cut(file, ".")
	if ext != "svg" && ext != "csv" {
		return clink.Errorf(clink.ENOTFOUND, "no chart file %q: charts are NAME.svg or NAME.csv", file)
	}
	d, err := s.loadCultureData(r.Context(), c)
	if err != nil {
		return err
	}
	_, charts := d.charts()
	ch, ok := charts[name]
	if !ok {
		return clink.Errorf(clink.ENOTFOUND, "culture %s has no chart %q", c.Code, name)
	}
	return writeChartFile(w, c.Code+"-"+file, ch)
}

// readObservationForm reads an observation from a posted form into o, keeping every value as
// typed in f. Numbers may be written 2.5e7 or 25000000, with a decimal point or comma; a value
// that is not a number is a field error. Empty optional fields stay unset. Markers come from
// fields named markers.NAME. The range checks are the domain's (o.Validate, run again by the
// store): this only reads.
func readObservationForm(r *http.Request, f *form, o *clink.Observation) clink.FieldErrors {
	var fe clink.FieldErrors
	get := func(name string) string {
		v := strings.TrimSpace(r.PostForm.Get(name))
		f.Values[name] = v
		return v
	}
	num := func(name string, required bool) *float64 {
		v := get(name)
		if v == "" {
			if required {
				fe.Addf(name, "is required")
			}
			return nil
		}
		x, err := parseNumber(v)
		if err != nil {
			fe.Addf(name, "%q is not a number", v)
			return nil
		}
		return &x
	}
	if v := get("day"); v == "" {
		fe.Addf("day", "is required")
	} else if n, err := strconv.Atoi(v); err != nil {
		fe.Addf("day", "%q is not a whole number of days", v)
	} else {
		o.Day = n
	}
	if x := num("viable_cells", true); x != nil {
		o.ViableCells = *x
	}
	o.ViabilityPct = num("viability_pct", false)
	o.NKPct = num("nk_pct", false)
	o.TPct = num("t_pct", false)
	o.SplitFractionKept = num("split_fraction_kept", false)
	o.VolumeML = num("volume_ml", false)
	o.Note = get("note")
	o.Markers = nil
	for _, m := range clink.Markers {
		if x := num("markers."+m, false); x != nil {
			if o.Markers == nil {
				o.Markers = map[string]float64{}
			}
			o.Markers[m] = *x
		}
	}
	return fe
}

// parseNumber reads a decimal number, accepting a decimal comma ("92,5").
func parseNumber(s string) (float64, error) {
	if strings.Count(s, ",") == 1 && !strings.Contains(s, ".") {
		s = strings.Replace(s, ",", ".", 1)
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, fmt.Errorf("not a number")
	}
	return x, nil
}

// formErrors combines the form's reading errors with the domain's checks of what could be
// read, so that the user sees every problem at once; fields that could not be read are not
// checked again.
func formErrors(read clink.FieldErrors, validate error) error {
	bad := map[string]bool{}
	for _, e := range read {
		bad[e.Field] = true
	}
	all := append(clink.FieldErrors(nil), read...)
	for _, e := range clink.ErrorFields(validate) {
		if !bad[e.Field] {
			all = append(all, e)
		}
	}
	return all.Err()
}

// addObservation records an observation of a culture from the page's form. Only a researcher
// of the culture's site may (403 otherwise, nothing saved). The store validates; a refused
// form is shown again with what was typed and the message next to each field (422, or 409
// when the day already has an observation), and nothing is saved. Success redirects to the
// culture page (303), where the charts include the new point.
func (s *Server) addObservation(w http.ResponseWriter, r *http.Request) error {
	c, err := s.findCulture(r)
	if err != nil {
		return err
	}
	if err := s.authorize(r, c.Site); err != nil {
		return err
	}
	if err := parsePageForm(w, r); err != nil {
		return err
	}
	f := newForm()
	o := &clink.Observation{CultureID: c.ID, Site: c.Site}
	read := readObservationForm(r, &f, o)
	confirmed := r.PostForm.Get("confirm_count") != ""
	if confirmed {
		f.Values["confirm_count"] = "on"
	}
	if len(read) > 0 {
		err = formErrors(read, o.Validate())
	} else if err = o.Validate(); err == nil && !confirmed {
		var warn string
		if warn, err = s.countOffTrend(r.Context(), c, o); err == nil && warn != "" {
			// Nothing is saved: the form asks whether the count is right.
			f.Errors["viable_cells"] = warn
			f.Message = "Nothing was saved: the viable cell count is far from the culture's trend. Check it, or tick \"The count is right\" and record it again."
			v, verr := s.cultureView(r, c, f)
			if verr != nil {
				return verr
			}
			v.ConfirmCount = true
			return s.render(w, r, http.StatusOK, "culture", page{Title: "Culture " + c.Code, Nav: navCultures, Data: v})
		}
	}
	if err == nil && len(read) == 0 {
		err = s.store.CreateObservation(r.Context(), o)
	}
	if err != nil {
		if !f.refuse(err) {
			return err
		}
		if clink.ErrorCode(err) == clink.ECONFLICT && len(clink.ErrorFields(err)) == 0 {
			f.Errors["day"] = f.Message
		}
		v, verr := s.cultureView(r, c, f)
		if verr != nil {
			return verr
		}
		return s.render(w, r, refusedStatus(err), "culture", page{Title: "Culture " + c.Code, Nav: navCultures, Data: v})
	}
	http.Redirect(w, r, fmt.Sprintf("/cultures/%d?added=%d#observations", c.ID, o.Day), http.StatusSeeOther)
	return nil
}

// trendFactor is how far from a culture's projected count (kinetics.Project) a new viable
// cell count may be before the form asks whether it is right: 10 times more or less.
const trendFactor = 10

// countOffTrend says, in a sentence for the form, how far o's viable cell count is from what
// the culture's two latest earlier counts project for its day, when it is trendFactor times
// off or more; "" when it is not, or no projection can be made.
func (s *Server) countOffTrend(ctx context.Context, c *clink.Culture, o *clink.Observation) (string, error) {
	obs, err := clink.ReadAll(func(p clink.Page) ([]*clink.Observation, int, error) {
		return s.store.FindObservations(ctx, clink.ObservationFilter{CultureID: c.ID, Page: p})
	})
	if err != nil {
		return "", err
	}
	var counts []kinetics.Count
	for _, e := range obs {
		if !e.Voided {
			counts = append(counts, analysis.CountOf(e))
		}
	}
	p, ok := kinetics.Project(counts, o.Day)
	if !ok {
		return "", nil
	}
	ratio := o.ViableCells / p.Expected
	var how string
	switch {
	case ratio >= trendFactor:
		how = fmt.Sprintf("%.0f times more than", ratio)
	case ratio <= 1/float64(trendFactor):
		how = fmt.Sprintf("%.0f times less than", 1/ratio)
	default:
		return "", nil
	}
	return fmt.Sprintf("%s is %s the %s the counts of days %d and %d project for day %d: is it right?",
		fmtSci(o.ViableCells), how, fmtSci(p.Expected), p.FromDay, p.LastDay, o.Day), nil
}

// observationEditData is the data of the correction page.
type observationEditData struct {
	Observation *clink.Observation
	Culture     *clink.Culture
	CanWrite    bool
	Form        form
	// VoidForm is the form that voids the observation, with its reason.
	VoidForm  form
	Markerset []string
}

// observationForm fills a form with an observation's recorded values.
func observationForm(o *clink.Observation) form {
	f := newForm()
	f.Values["day"] = strconv.Itoa(o.Day)
	f.Values["viable_cells"] = strconv.FormatFloat(o.ViableCells, 'g', -1, 64)
	opt := func(name string, v *float64) {
		if v != nil {
			f.Values[name] = strconv.FormatFloat(*v, 'g', -1, 64)
		}
	}
	opt("viability_pct", o.ViabilityPct)
	opt("nk_pct", o.NKPct)
	opt("t_pct", o.TPct)
	opt("split_fraction_kept", o.SplitFractionKept)
	opt("volume_ml", o.VolumeML)
	f.Values["note"] = o.Note
	for m, v := range o.Markers {
		f.Values["markers."+m] = strconv.FormatFloat(v, 'g', -1, 64)
	}
	return f
}

// observationEdit shows a recorded observation in a form for correction; a correction needs
// a reason. Users who may not write it see it read-only.
func (s *Server) observationEdit(w http.ResponseWriter, r *http.Request) error {
	o, c, err := s.findObservationAndCulture(r)
	if err != nil {
		return err
	}
	u := UserFrom(r.Context())
	d := observationEditData{Observation: o, Culture: c, Form: observationForm(o), VoidForm: newForm(), Markerset: clink.Markers,
		CanWrite: u != nil && permits(u, PermWriteResearch, c.Site) && !o.Voided}
	return s.render(w, r, http.StatusOK, "observation_edit", page{Title: fmt.Sprintf("Correct %s day %d", c.Code, o.Day), Nav: navCultures, Data: d})
}

func (s *Server) findObservationAndCulture(r *http.Request) (*clink.Observation, *clink.Culture, error) {
	id, ok := pathID(r, "id")
	if !ok {
		return nil, nil, clink.Errorf(clink.ENOTFOUND, "no observation %q", r.PathValue("id"))
	}
	o, err := s.store.FindObservationByID(r.Context(), id)
	if err != nil {
		return nil, nil, err
	}
	c, err := s.store.FindCultureByID(r.Context(), o.CultureID)
	if err != nil {
		return nil, nil, err
	}
	return o, c, nil
}

// observationToWrite finds the observation {id} and its culture for a form that changes it:
// only a researcher of the culture's site may, and the posted form is parsed.
func (s *Server) observationToWrite(w http.ResponseWriter, r *http.Request) (*clink.Observation, *clink.Culture, error) {
	o, c, err := s.findObservationAndCulture(r)
	if err != nil {
		return nil, nil, err
	}
	if err := s.authorize(r, c.Site); err != nil {
		return nil, nil, err
	}
	if err := parsePageForm(w, r); err != nil {
		return nil, nil, err
	}
	return o, c, nil
}

// correctObservation corrects a recorded observation from the correction form: the new
// values and the reason, which the store requires and records in the audit trail with the
// values before and after. Refusals show the form again (422/409); success redirects to the
// culture page.
func (s *Server) correctObservation(w http.ResponseWriter, r *http.Request) error {
	old, c, err := s.observationToWrite(w, r)
	if err != nil {
		return err
	}
	f := newForm()
	o := *old
	read := readObservationForm(r, &f, &o)
	reason := strings.TrimSpace(r.PostForm.Get("reason"))
	f.Values["reason"] = reason
	if reason == "" {
		read.Addf("reason", "is required: say why the recorded values change (e.g. \"count re-read\")")
	}
	if len(read) > 0 {
		err = formErrors(read, o.Validate())
	} else {
		err = s.store.UpdateObservation(r.Context(), &o, reason)
	}
	if err != nil {
		if !f.refuse(err) {
			return err
		}
		d := observationEditData{Observation: old, Culture: c, Form: f, VoidForm: newForm(), Markerset: clink.Markers, CanWrite: true}
		return s.render(w, r, refusedStatus(err), "observation_edit", page{Title: fmt.Sprintf("Correct %s day %d", c.Code, old.Day), Nav: navCultures, Data: d})
	}
	http.Redirect(w, r, fmt.Sprintf("/cultures/%d#observations", c.ID), http.StatusSeeOther)
	return nil
}

// voidObservationForm voids a recorded observation from the void form of the correction page,
// for a reason the store records in the audit trail; nothing is deleted, and the culture's
// charts and analyses leave it out. A refusal (no reason, an observation already void) shows
// the page again with the message next to the reason, nothing changed; success redirects to
// the culture page.
func (s *Server) voidObservationForm(w http.ResponseWriter, r *http.Request) error {
	o, c, err := s.observationToWrite(w, r)
	if err != nil {
		return err
	}
	vf := newForm()
	reason := strings.TrimSpace(r.PostForm.Get("void_reason"))
	vf.Values["void_reason"] = reason
	if reason == "" {
		err = clink.Invalid("void_reason", "is required: say why the observation is void (e.g. \"entered on the wrong culture\")")
	} else if o.Voided {
		err = clink.Errorf(clink.ECONFLICT, "the observation of day %d is already void (%s)", o.Day, o.VoidReason)
	} else {
		_, err = s.store.VoidObservation(r.Context(), o.ID, reason)
	}
	if err != nil {
		if !vf.refuse(err) {
			return err
		}
		if len(clink.ErrorFields(err)) == 0 {
			vf.Errors["void_reason"] = vf.Message
		}
		d := observationEditData{Observation: o, Culture: c, Form: observationForm(o), VoidForm: vf, Markerset: clink.Markers,
			CanWrite: !o.Voided}
		return s.render(w, r, refusedStatus(err), "observation_edit", page{Title: fmt.Sprintf("Correct %s day %d", c.Code, o.Day), Nav: navCultures, Data: d})
	}
	http.Redirect(w, r, fmt.Sprintf("/cultures/%d?voided=%d#observations", c.ID, o.Day), http.StatusSeeOther)
	return nil
}

// auditField returns the top-level string field name of an audited record's JSON, or "".
func auditField(raw []byte, name string) string {
	if len(raw) == 0 {
		return ""
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return ""
	}
	s, _ := m[name].(string)
	return s
}
