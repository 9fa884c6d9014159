package http

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/analysis"
	"github.com/clink-consortium/clink/chart"
)

// The directories: donors (list with filters, donor page with its cultures and their
// outcomes) and protocols (list, protocol page with components, schedule, versions and their
// differences, cultures and the distribution of their NK fold). The audit log (ui_audit.go)
// and the import (ui_import.go) register here too.

// uiDirectoryRoutes are the pages of the donor and protocol directories, the audit log and
// the import.
func (s *Server) uiDirectoryRoutes() []Route {
	routes := []Route{
		{"GET", "/donors", "donorList", PermRead, s.donorList},
		{"GET", "/donors/{id}", "donorPage", PermRead, s.donorPage},
		{"GET", "/protocols", "protocolList", PermRead, s.protocolList},
		{"GET", "/protocols/{id}", "protocolPage", PermRead, s.protocolPage},
		{"GET", "/protocols/{id}/charts/{file}", "protocolChart", PermRead, s.protocolChart},
	}
	return append(routes, s.uiAuditRoutes()...)
}

// directoryLimit is the number of rows on one page of a directory list.
const directoryLimit = 50

// donorListData is the data of the donor list.
type donorListData struct {
	Site, HCMV, NKG2C, KIR string
	Sites                  []*clink.Site
	HCMVs, NKG2Cs, KIRs    []string
	Donors                 []*clink.Donor
	Total, Offset          int
	Prev, Next             string
}

// donorList lists donors by code, filtered by site, HCMV serostatus, NKG2C genotype and KIR
// haplotype (query parameters site, hcmv, nkg2c, kir), 50 to a page (offset).
func (s *Server) donorList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	d := donorListData{Site: q.Get("site"), HCMV: q.Get("hcmv"), NKG2C: q.Get("nkg2c"), KIR: q.Get("kir"),
		HCMVs:  []string{clink.HCMVPositive, clink.HCMVNegative, clink.HCMVEquivocal, clink.Unknown},
		NKG2Cs: []string{clink.NKG2CPlusPlus, clink.NKG2CPlusDel, clink.NKG2CDelDel, clink.Unknown},
		KIRs:   []string{clink.KIRAA, clink.KIRBx, clink.Unknown}}
	var fe clink.FieldErrors
	if d.Site != "" && !siteParamRE.MatchString(d.Site) {
		fe.Addf("site", "%q is not a site code (three capital letters, e.g. ZGZ)", d.Site)
	}
	for _, f := range []struct {
		name, v string
		of      []string
	}{{"hcmv", d.HCMV, d.HCMVs}, {"nkg2c", d.NKG2C, d.NKG2Cs}, {"kir", d.KIR, d.KIRs}} {
		if f.v != "" && !slices.Contains(f.of, f.v) {
			fe.Addf(f.name, "%q is not one of %v", f.v, f.of)
		}
	}
	d.Offset = readOffset(q, &fe)
	if err := fe.Err(); err != nil {
		return err
	}
	ctx := r.Context()
	var err error
	if d.Sites, err = s.store.ListSites(ctx); err != nil {
		return err
	}
	d.Donors, d.Total, err = s.store.FindDonors(ctx, clink.DonorFilter{Site: d.Site, HCMV: d.HCMV, NKG2C: d.NKG2C, KIR: d.KIR,
		Page: clink.Page{Limit: directoryLimit, Offset: d.Offset}})
	if err != nil {
		return err
	}
	v := url.Values{}
	for k, x := range map[string]string{"site": d.Site, "hcmv": d.HCMV, "nkg2c": d.NKG2C, "kir": d.KIR} {
		if x != "" {
			v.Set(k, x)
		}
	}
	d.Prev, d.Next = pageLinks("/donors", v, d.Offset, d.Total)
	return s.render(w, r, http.StatusOK, "donors", page{Title: "Donors", Nav: navDonors, Data: d})
}

// readOffset reads the offset parameter of a paged list.
func readOffset(q url.Values, fe *clink.FieldErrors) int {
	v := q.Get("offset")
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		fe.Addf("offset", "%q is not a number of rows to skip", v)
		return 0
	}
	return n
}

// pageLinks returns the links to the previous and next pages of a list of total rows shown
// directoryLimit at a time from offset, "" at the ends.
func pageLinks(path string, v url.Values, offset, total int) (prev, next string) {
	link := func(off int) string {
		w := url.Values{}
		for k, x := range v {
			w[k] = x
		}
		if off > 0 {
			w.Set("offset", strconv.Itoa(off))
		}
		if len(w) == 0 {
			return path
		}
		return path + "?" + w.Encode()
	}
	if offset > 0 {
		prev = link(max(offset-directoryLimit, 0))
	}
	if offset+directoryLimit < total {
		next = link(offset + directoryLimit)
	}
	return prev, next
}

// donorData is the data of the donor page.
type donorData struct {
	Donor    *clink.Donor
	Outcomes []analysis.CultureOutcome
}

// donorPage shows a donor with every culture of theirs and its outcome at harvest.
func (s *Server) donorPage(w http.ResponseWriter, r *http.Request) error {
	id, ok := pathID(r, "id")
	if !ok {
		return clink.Errorf(clink.ENOTFOUND, "no donor %q: donors are named by their number", r.PathValue("id"))
	}
	ctx := r.Context()
	dn, err := s.store.FindDonorByID(ctx, id)
	if err != nil {
		return err
	}
	d := donorData{Donor: dn}
	cultures, err := clink.ReadAll(func(p clink.Page) ([]*clink.Culture, int, error) {
		return s.store.FindCultures(ctx, clink.CultureFilter{DonorID: dn.ID, Page: p})
	})
	if err != nil {
		return err
	}
	if d.Outcomes, err = s.outcomesOf(ctx, cultures); err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "donor", page{Title: "Donor " + dn.Code, Nav: navDonors, Data: d})
}

// outcomesOf computes the outcome at harvest of each culture that is not voided, by the
// rules of the analyses (analysis.Service.CultureOutcomes), ordered by start date.
func (s *Server) outcomesOf(ctx context.Context, cultures []*clink.Culture) ([]analysis.CultureOutcome, error) {
	out, err := analysis.New(s.store).CultureOutcomes(ctx, cultures, nil, "")
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b analysis.CultureOutcome) int {
		return cmp.Or(cmp.Compare(a.Culture.StartDate, b.Culture.StartDate), cmp.Compare(a.Culture.ID, b.Culture.ID))
	})
	return out, nil
}

// protocolRow is a protocol version of the list with its number of cultures.
type protocolRow struct {
	*clink.Protocol
	Cultures int
}

// protocolList lists every protocol version by name and version with its number of
// cultures.
func (s *Server) protocolList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	ps, err := clink.ReadAll(func(p clink.Page) ([]*clink.Protocol, int, error) {
		return s.store.FindProtocols(ctx, clink.ProtocolFilter{Page: p})
	})
	if err != nil {
		return err
	}
	slices.SortStableFunc(ps, func(a, b *clink.Protocol) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Version, b.Version))
	})
	rows := make([]protocolRow, 0, len(ps))
	for _, p := range ps {
		_, n, err := s.store.FindCultures(ctx, clink.CultureFilter{ProtocolID: p.ID, Page: clink.Page{Limit: 1}})
		if err != nil {
			return err
		}
		rows = append(rows, protocolRow{Protocol: p, Cultures: n})
	}
	return s.render(w, r, http.StatusOK, "protocols", page{Title: "Protocols", Nav: navProtocols, Data: rows})
}

// scheduleDay is one day of a protocol's schedule: what is added, and whether the cells
// are restimulated.
type scheduleDay struct {
	Day         int
	Added       []string
	Restimulate bool
	Harvest     bool
}

// protocolData is the data of the protocol page.
type protocolData struct {
	Protocol *clink.Protocol
	Schedule []scheduleDay
	Versions []*clink.Protocol
	// DiffWith is the version compared with (nil when none); Diff what changed from it.
	DiffWith *clink.Protocol
	Diff     *clink.ProtocolDiff
	Outcomes []analysis.CultureOutcome
	Chart    chartView
}

// protocolSchedule lists the days something happens under p, in order: day 0, the days
// components are added, the restimulations and the harvest.
func protocolSchedule(p *clink.Protocol) []scheduleDay {
	days := map[int]*scheduleDay{}
	at := func(d int) *scheduleDay {
		if days[d] == nil {
			days[d] = &scheduleDay{Day: d}
		}
		return days[d]
	}
	at(0)
	for _, c := range p.Components {
		for _, d := range c.Days {
			x := at(d)
			x.Added = append(x.Added, fmt.Sprintf("%s %s %s", c.Component, fmtNum(c.Dose), c.Unit))
		}
	}
	for _, d := range p.RestimulationDays {
		at(d).Restimulate = true
	}
	at(p.DurationDays).Harvest = true
	out := make([]scheduleDay, 0, len(days))
	for _, d := range days {
		out = append(out, *d)
	}
	slices.SortFunc(out, func(a, b scheduleDay) int { return cmp.Compare(a.Day, b.Day) })
	return out
}

// findProtocolPage reads the protocol of the path.
func (s *Server) findProtocolPage(r *http.Request) (*clink.Protocol, error) {
	id, ok := pathID(r, "id")
	if !ok {
		return nil, clink.Errorf(clink.ENOTFOUND, "no protocol %q: protocols are named by their number", r.PathValue("id"))
	}
	return s.store.FindProtocolByID(r.Context(), id)
}

// protocolPage shows a protocol version: its facts, components and schedule, its other
// versions and, with ?diff=ID, what changed from that version to this one, and its cultures
// with their outcomes and the distribution of their NK fold.
func (s *Server) protocolPage(w http.ResponseWriter, r *http.Request) error {
	p, err := s.findProtocolPage(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	d := protocolData{Protocol: p, Schedule: protocolSchedule(p)}
	if d.Versions, _, err = s.store.FindProtocols(ctx, clink.ProtocolFilter{Name: p.Name, Page: clink.Page{Limit: clink.MaxLimit}}); err != nil {
		return err
	}
	slices.SortFunc(d.Versions, func(a, b *clink.Protocol) int { return cmp.Compare(a.Version, b.Version) })
	if v := r.URL.Query().Get("diff"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return clink.Invalid("diff", "%q is not a protocol id", v)
		}
		other, err := s.store.FindProtocolByID(ctx, id)
		if err != nil {
			if clink.ErrorCode(err) == clink.ENOTFOUND {
				return clink.Invalid("diff", "protocol %d does not exist", id)
			}
			return err
		}
		diff := clink.DiffProtocols(other, p)
		d.DiffWith, d.Diff = other, &diff
	}
	if d.Outcomes, err = s.protocolOutcomes(ctx, p); err != nil {
		return err
	}
	ch := nkFoldStrip(p, d.Outcomes)
	d.Chart = chartViews(fmt.Sprintf("/protocols/%d/charts/", p.ID), []string{"nk-fold"}, map[string]chart.Chart{"nk-fold": ch})["nk-fold"]
	d.Chart.Title = ch.Title
	return s.render(w, r, http.StatusOK, "protocol", page{Title: "Protocol " + p.Key(), Nav: navProtocols, Data: d})
}

// protocolOutcomes are the outcomes at harvest of p's cultures.
func (s *Server) protocolOutcomes(ctx context.Context, p *clink.Protocol) ([]analysis.CultureOutcome, error) {
	cultures, err := clink.ReadAll(func(pg clink.Page) ([]*clink.Culture, int, error) {
		return s.store.FindCultures(ctx, clink.CultureFilter{ProtocolID: p.ID, Page: pg})
	})
	if err != nil {
		return nil, err
	}
	return s.outcomesOf(ctx, cultures)
}

// nkFoldStrip is the NK fold at harvest of each culture of p, a point per culture over a
// box, by site.
func nkFoldStrip(p *clink.Protocol, outcomes []analysis.CultureOutcome) chart.Strip {
	st := chart.Strip{
		Title:      fmt.Sprintf("%s: NK fold expansion at harvest, by site", p.Key()),
		GroupLabel: "Site",
		Y:          chart.Axis{Label: "NK fold expansion", Unit: "×", Log: true},
		Box:        true,
	}
	n := 0
	for _, o := range outcomes {
		if o.NKFold == nil {
			continue
		}
		n++
		st.Points = append(st.Points, chart.StripPoint{Group: o.Culture.Site, Subject: o.Culture.Code, Y: *o.NKFold,
			Title: fmt.Sprintf("%s (donor %s): %s×", o.Culture.Code, o.Culture.Donor, fmtNum(*o.NKFold))})
	}
	st.Annotations = append(st.Annotations, fmt.Sprintf("%d of %d cultures harvested with an NK fold", n, len(outcomes)))
	return st
}

// protocolChart serves the protocol page's chart, nk-fold.svg or nk-fold.csv.
func (s *Server) protocolChart(w http.ResponseWriter, r *http.Request) error {
	p, err := s.findProtocolPage(r)
	if err != nil {
		return err
	}
	file := r.PathValue("file")
	if file != "nk-fold.svg" && file != "nk-fold.csv" {
		return clink.Errorf(clink.ENOTFOUND, "no protocol chart %q: nk-fold.svg or nk-fold.csv", file)
	}
	outcomes, err := s.protocolOutcomes(r.Context(), p)
	if err != nil {
		return err
	}
	return writeChartFile(w, fmt.Sprintf("protocol-%d-%s", p.ID, file), nkFoldStrip(p, outcomes))
}
