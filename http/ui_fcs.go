package http

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/chart"
	"github.com/clink-consortium/clink/fcs"
	"github.com/clink-consortium/clink/gating"
)

// FCS files on the web: the upload form of a culture (files gated with one of the site's
// templates and attached to an observation, as the API's POST /observations/{id}/fcs does),
// and the gate plots of an attachment (a density plot of each 2-D gate the template's mapping
// uses with the gate drawn over its parent population, and a histogram of each 1-D range).

// uiFCSRoutes are the FCS upload form and the gate plots.
func (s *Server) uiFCSRoutes() []Route {
	return []Route{
		{"GET", "/cultures/{id}/fcs", "fcsUploadPage", PermWriteResearch, s.fcsUploadPage},
		{"POST", "/cultures/{id}/fcs", "uploadFCS", PermWriteResearch, s.uploadFCS},
		{"GET", "/observations/{id}/fcs/{attachment}", "fcsPlots", PermRead, s.fcsPlots},
		{"GET", "/observations/{id}/fcs/{attachment}/charts/{file}", "fcsChart", PermRead, s.fcsChart},
	}
}

// fcsUploadData is the data of the upload page.
type fcsUploadData struct {
	Culture      *clink.Culture
	Observations []*clink.Observation // not void, by day
	Templates    []*clink.GatingTemplate
	Form         form
	Limit        int64
}

// fcsUploadFields are the fields of the upload form; an error about any other field of an
// upload is shown next to the one it belongs with (fcsFormField).
var fcsUploadFields = []string{"observation", "template", "files", "replace"}

// fcsUploadPage shows the upload form of a culture, for a researcher of its site; the query's
// observation chooses the observation (the culture page's form sends it).
func (s *Server) fcsUploadPage(w http.ResponseWriter, r *http.Request) error {
	c, err := s.findCulture(r)
	if err != nil {
		return err
	}
	if err := s.authorize(r, c.Site); err != nil {
		return err
	}
	f := newForm()
	f.Values["observation"] = r.URL.Query().Get("observation")
	return s.renderUpload(w, r, http.StatusOK, c, f)
}

// renderUpload renders the upload page of culture c with form f.
func (s *Server) renderUpload(w http.ResponseWriter, r *http.Request, status int, c *clink.Culture, f form) error {
	ctx := r.Context()
	d := fcsUploadData{Culture: c, Form: f, Limit: s.fcsLimit()}
	obs, err := clink.ReadAll(func(p clink.Page) ([]*clink.Observation, int, error) {
		return s.store.FindObservations(ctx, clink.ObservationFilter{CultureID: c.ID, Page: p})
	})
	if err != nil {
		return err
	}
	for _, o := range obs {
		if !o.Voided {
			d.Observations = append(d.Observations, o)
		}
	}
	slices.SortStableFunc(d.Observations, func(a, b *clink.Observation) int { return cmp.Compare(a.Day, b.Day) })
	ts, err := clink.ReadAll(func(p clink.Page) ([]*clink.GatingTemplate, int, error) {
		return s.store.FindGatingTemplates(ctx, clink.GatingTemplateFilter{Site: c.Site, Page: p})
	})
	if err != nil {
		return err
	}
	for _, t := range ts {
		if !t.Voided {
			d.Templates = append(d.Templates, t)
		}
	}
	slices.SortStableFunc(d.Templates, func(a, b *clink.GatingTemplate) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(b.Version, a.Version))
	})
	return s.render(w, r, status, "fcs_upload", page{Title: "Upload FCS files: " + c.Code, Nav: navCultures, Data: d})
}

// uploadFCS gates the files of the upload form with the chosen template and attaches them to
// the chosen observation of the culture (flow.Service.Attach, with the API's limit and rules:
// all files or none). Only a researcher of the culture's site may. A refusal shows the form
// again with the message next to the field at fault (422, or 409 for a conflict such as
// values entered by hand without "replace"), nothing saved; success redirects to the culture
// page (303).
func (s *Server) uploadFCS(w http.ResponseWriter, r *http.Request) error {
	c, err := s.findCulture(r)
	if err != nil {
		return err
	}
	if err := s.authorize(r, c.Site); err != nil {
		return err
	}
	f := newForm()
	fields, files, err := readUploadForm(w, r, s.fcsLimit())
	for _, k := range []string{"observation", "template"} {
		f.Values[k] = strings.TrimSpace(fields[k])
	}
	if fields["replace"] != "" {
		f.Values["replace"] = "on"
	}
	refuse := func(err error, status int) error {
		if !f.refuse(err) {
			return err
		}
		fcsFormErrors(&f, err)
		return s.renderUpload(w, r, status, c, f)
	}
	if err != nil {
		var se *statusError
		if errors.As(err, &se) {
			f.Errors["files"] = se.Error()
			f.Message = se.Error()
			return s.renderUpload(w, r, se.status, c, f)
		}
		return refuse(err, http.StatusUnprocessableEntity)
	}
	var fe clink.FieldErrors
	var obs *clink.Observation
	if v := f.Values["observation"]; v == "" {
		fe.Addf("observation", "is required: the observation the files measure")
	} else if id, perr := strconv.ParseInt(v, 10, 64); perr != nil || id < 1 {
		fe.Addf("observation", "%q is not an observation", v)
	} else {
		o, ferr := s.store.FindObservationByID(r.Context(), id)
		switch {
		case clink.ErrorCode(ferr) == clink.ENOTFOUND || (ferr == nil && o.CultureID != c.ID):
			fe.Addf("observation", "%q is not an observation of culture %s", v, c.Code)
		case ferr != nil:
			return ferr
		default:
			obs = o
		}
	}
	if err := fe.Err(); err != nil {
		return refuse(err, http.StatusUnprocessableEntity)
	}
	ups := make([]*clink.FCSUpload, len(files))
	for i, file := range files {
		ups[i] = &clink.FCSUpload{ObservationID: obs.ID, FileName: file.name, Data: file.data,
			Template: f.Values["template"], Replace: f.Values["replace"] != ""}
	}
	_, err = s.flowService().Attach(r.Context(), ups)
	s.metrics.gatingRun(len(ups), err)
	if err != nil {
		return refuse(err, refusedStatus(err))
	}
	http.Redirect(w, r, fmt.Sprintf("/cultures/%d?fcs=%d#fcs", c.ID, obs.ID), http.StatusSeeOther)
	return nil
}

// fcsFormErrors moves the refusal's field errors that are not fields of the form (file,
// files[1].file_name, nk_pct ...) next to the form's field they belong with, naming the field
// of the refusal, and puts a conflict that names no field next to "replace" or "files".
func fcsFormErrors(f *form, err error) {
	for k, msg := range f.Errors {
		if slices.Contains(fcsUploadFields, k) {
			continue
		}
		delete(f.Errors, k)
		to := fcsFormField(k)
		line := k + ": " + msg
		if old := f.Errors[to]; old != "" {
			line = old + "; " + line
		}
		f.Errors[to] = line
	}
	if len(clink.ErrorFields(err)) == 0 {
		to := "files"
		if strings.Contains(f.Message, "replace") {
			to = "replace"
		}
		f.Errors[to] = f.Message
	}
}

// fcsFormField returns the field of the upload form that an error on field k of an upload
// belongs with: the observation's measures with "replace", everything about a file with
// "files".
func fcsFormField(k string) string {
	if i := strings.Index(k, "]."); strings.HasPrefix(k, "files[") && i > 0 {
		k = k[i+2:]
	}
	switch {
	case k == "template":
		return "template"
	case k == "nk_pct", k == "t_pct", strings.HasPrefix(k, "markers."):
		return "replace"
	case strings.HasPrefix(k, "mapping."):
		return "template"
	}
	return "files"
}

// maxUploadField bounds a form field of the upload form that is not a file.
const maxUploadField = 1 << 10

// readUploadForm reads the multipart body of the upload form: its fields (observation,
// template, replace) and its files (parts with a file name; an empty file input sends a part
// with none, which is skipped). The files may hold at most limit bytes together; beyond, the
// error is a *statusError with 413.
func readUploadForm(w http.ResponseWriter, r *http.Request, limit int64) (map[string]string, []uploadedFile, error) {
	fields := map[string]string{}
	tooLarge := &statusError{http.StatusRequestEntityTooLarge, fmt.Sprintf("the FCS files are larger than %d bytes together", limit)}
	r.Body = http.MaxBytesReader(w, r.Body, limit+multipartOverhead)
	mr, err := r.MultipartReader()
	if err != nil {
		return fields, nil, clink.Invalid("files", "the form was not sent as multipart/form-data with the files: %v", err)
	}
	var files []uploadedFile
	var total int64
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return fields, nil, tooLarge
			}
			return fields, nil, clink.Invalid("files", "the form cannot be read: %v", err)
		}
		data, err := readPart(part, limit-total)
		part.Close()
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return fields, nil, tooLarge
			}
			return fields, nil, clink.Invalid("files", "the form cannot be read: %v", err)
		}
		if part.FormName() != "files" {
			if int64(len(data)) > maxUploadField {
				return fields, nil, clink.Invalid(part.FormName(), "is longer than %d bytes", maxUploadField)
			}
			fields[part.FormName()] = string(data)
			continue
		}
		if part.FileName() == "" && len(data) == 0 {
			continue // an empty file input
		}
		total += int64(len(data))
		if total > limit {
			return fields, nil, tooLarge
		}
		files = append(files, uploadedFile{name: part.FileName(), data: data})
	}
	if len(files) > 1000 {
		return fields, nil, clink.Invalid("files", "%d files are too many; upload at most 1000 at once", len(files))
	}
	return fields, files, nil
}

// readPart reads a part of at most max+1 bytes (more than max means the limit is passed).
func readPart(p *multipart.Part, max int64) ([]byte, error) {
	return io.ReadAll(io.LimitReader(p, max+1))
}

// fcsPlotsData is the data of the gate plots page.
type fcsPlotsData struct {
	Attachment  *clink.FCSAttachment
	Observation *clink.Observation
	Culture     *clink.Culture
	Template    *clink.GatingTemplate
	Plots       []gatePlot
	Skipped     []gatePlot // gates without a density plot, with why
}

// gatePlot is one gate of an attachment's template: its population and, for a 2-D gate, the
// density plot of its parent's events with its outline.
type gatePlot struct {
	ID, Kind, Parent   string
	Count, ParentCount int
	// PctOfParent is 100 Count / ParentCount, NaN when the parent is empty.
	PctOfParent float64
	Note        string
	// Quadrants are the populations of a quadrant gate's quadrants (nil for other gates).
	Quadrants []quadrantCount
	Chart     chartView
	PNGURL    string
	// plot is the gate's chart: a density plot of a 2-D gate, a histogram of a 1-D range.
	plot  gateChart
	title string
}

// gateChart is a gate plot: an SVG figure, its data as CSV and a PNG raster.
type gateChart interface {
	chart.Chart
	PNG() ([]byte, error)
}

// gatedAttachment is an attachment's file gated again with the template version it records.
type gatedAttachment struct {
	att     *clink.FCSAttachment
	obs     *clink.Observation
	culture *clink.Culture
	tmpl    *clink.GatingTemplate
	plots   []gatePlot
	skipped []gatePlot
}

// loadAttachment finds attachment {attachment} of observation {id}, reads its stored file
// (checked against its hash) and the template version it records, applies the gates the
// template's mapping uses (and their parents) and builds a density plot for each 2-D gate
// and a histogram for each 1-D range.
func (s *Server) loadAttachment(r *http.Request) (*gatedAttachment, error) {
	ctx := r.Context()
	o, c, err := s.findObservationAndCulture(r)
	if err != nil {
		return nil, err
	}
	aid, ok := pathID(r, "attachment")
	if !ok {
		return nil, clink.Errorf(clink.ENOTFOUND, "no FCS attachment %q", r.PathValue("attachment"))
	}
	atts, err := clink.ReadAll(func(p clink.Page) ([]*clink.FCSAttachment, int, error) {
		return s.store.FindFCSAttachments(ctx, clink.FCSAttachmentFilter{ObservationID: o.ID, Page: p})
	})
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(atts, func(a *clink.FCSAttachment) bool { return a.ID == aid })
	if i < 0 {
		return nil, clink.Errorf(clink.ENOTFOUND, "observation %d has no FCS attachment %d", o.ID, aid)
	}
	g := &gatedAttachment{att: atts[i], obs: o, culture: c}
	if g.tmpl, err = s.store.FindGatingTemplateByID(ctx, g.att.TemplateID); err != nil {
		return nil, err
	}
	_, data, err := s.store.FindFCSFile(ctx, g.att.SHA256)
	if err != nil {
		return nil, err
	}
	if err := g.gate(data); err != nil {
		return nil, fmt.Errorf("gate plots of attachment %d: %w", g.att.ID, err)
	}
	return g, nil
}

// gate reads the file's data set and computes the plots.
func (g *gatedAttachment) gate(data []byte) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	full, err := gating.Parse(strings.NewReader(g.tmpl.GatingML))
	if err != nil {
		return fmt.Errorf("template %s: %w", g.tmpl.Ref(), err)
	}
	doc := full.Prune(g.tmpl.Mapping.GateIDs()...)
	ds, err := fcs.Read(bytes.NewReader(data), int64(len(data)), fcs.Options{DataSet: g.att.DataSet})
	if err != nil {
		return err
	}
	res, err := doc.Apply(ds)
	if err != nil {
		return err
	}
	// The stain of each parameter ($PnS, e.g. "CD3 FITC"), shown after its name on the axes.
	stains := map[string]string{}
	for _, p := range ds.Params {
		if l := strings.TrimSpace(p.Label); l != "" && l != p.Name {
			stains[p.Name] = l
		}
	}
	// Every dimension of the plotted gates, computed once.
	var dims []gating.Dimension
	index := map[gating.Dimension]int{}
	type plan struct {
		gp       gatePlot
		x, y     gating.Dimension
		oneD     bool // a 1-D range: a histogram of x, its range the outline's two X values
		outlines []chart.Gate
	}
	var plans []plan
	for _, gt := range doc.Gates {
		gp := gatePlot{ID: gt.GateID(), Kind: gt.Kind(), Parent: gt.ParentID()}
		if rr := res.Gate(gt.GateID()); rr != nil { // a QuadrantGate has none: its Quadrants do
			gp.Count, gp.ParentCount = rr.Count, rr.ParentCount
		}
		gp.PctOfParent = math.NaN()
		if gp.ParentCount > 0 {
			gp.PctOfParent = 100 * float64(gp.Count) / float64(gp.ParentCount)
		}
		if r, ok := gt.(*gating.RectangleGate); ok && len(r.Dimensions) == 1 {
			d := r.Dimensions[0]
			lo, hi := math.Inf(-1), math.Inf(1)
			if d.Min != nil {
				lo = *d.Min
			}
			if d.Max != nil {
				hi = *d.Max
			}
			if _, ok := index[d.Dimension]; !ok {
				index[d.Dimension] = len(dims)
				dims = append(dims, d.Dimension)
			}
			plans = append(plans, plan{gp: gp, x: d.Dimension, oneD: true,
				outlines: []chart.Gate{{Name: gp.ID, X: []float64{lo, hi}}}})
			continue
		}
		x, y, outlines, note := gateOutlines(gt)
		if note != "" {
			gp.Note = note
			g.skipped = append(g.skipped, gp)
			continue
		}
		for _, d := range []gating.Dimension{x, y} {
			if _, ok := index[d]; !ok {
				index[d] = len(dims)
				dims = append(dims, d)
			}
		}
		if q, ok := gt.(*gating.QuadrantGate); ok {
			gp.Quadrants = quadrantCounts(q, res)
		}
		plans = append(plans, plan{gp: gp, x: x, y: y, outlines: outlines})
	}
	if len(plans) == 0 {
		return nil
	}
	vals, err := doc.Values(ds, dims...)
	if err != nil {
		return err
	}
	for _, p := range plans {
		var parent *gating.Membership
		if p.gp.Parent != "" {
			if pr := res.Gate(p.gp.Parent); pr != nil {
				parent = pr.Members
			}
		}
		title := fmt.Sprintf("%s: %s of %s (%d of %d events)", p.gp.ID, fmtPct(p.gp.PctOfParent), parentName(p.gp.Parent), p.gp.Count, p.gp.ParentCount)
		if p.oneD {
			var ex []float64
			for i, v := range vals[index[p.x]] {
				if parent == nil || parent.Contains(i) {
					ex = append(ex, v)
				}
			}
			rng := p.outlines[0].X
			h := chart.Histogram{Title: title, X: dimAxis(p.x, stains, ex, rng), Events: ex,
				Ranges: []chart.Range{{Name: p.gp.ID, Min: rng[0], Max: rng[1]}}}
			p.gp.plot = h
			p.gp.title = title
			g.plots = append(g.plots, p.gp)
			continue
		}
		xs, ys := vals[index[p.x]], vals[index[p.y]]
		var ex, ey []float64
		for i := range xs {
			if parent == nil || parent.Contains(i) {
				ex, ey = append(ex, xs[i]), append(ey, ys[i])
			}
		}
		var vx, vy [][]float64
		for _, o := range p.outlines {
			vx, vy = append(vx, o.X), append(vy, o.Y)
		}
		if p.gp.Quadrants != nil {
			var parts []string
			for _, q := range p.gp.Quadrants {
				parts = append(parts, fmt.Sprintf("%s %s", q.ID, fmtPct(q.PctOfParent)))
			}
			title = fmt.Sprintf("%s: quadrants of %s (%s)", p.gp.ID, parentName(p.gp.Parent), strings.Join(parts, ", "))
		}
		d := chart.Density{
			Title:  title,
			X:      dimAxis(p.x, stains, ex, vx...),
			Y:      dimAxis(p.y, stains, ey, vy...),
			EventX: ex, EventY: ey,
			Gates: p.outlines,
		}
		p.gp.plot = d
		p.gp.title = title
		g.plots = append(g.plots, p.gp)
	}
	return nil
}

// parentName names a gate's parent population in a title.
func parentName(parent string) string {
	if parent == "" {
		return "all events"
	}
	return parent
}

// quadrantCount is one quadrant of a quadrant gate with its population.
type quadrantCount struct {
	ID          string
	Count       int
	PctOfParent float64 // NaN when the parent is empty
}

// quadrantCounts returns the populations of q's quadrants, in the document's order.
func quadrantCounts(q *gating.QuadrantGate, res *gating.Result) []quadrantCount {
	out := make([]quadrantCount, 0, len(q.Quadrants))
	for _, qd := range q.Quadrants {
		c := quadrantCount{ID: qd.ID, PctOfParent: math.NaN()}
		if rr := res.Gate(qd.ID); rr != nil {
			c.Count = rr.Count
			if rr.ParentCount > 0 {
				c.PctOfParent = 100 * float64(rr.Count) / float64(rr.ParentCount)
			}
		}
		out = append(out, c)
	}
	return out
}

// gateOutlines returns the two dimensions of a 2-D gate and its outlines in their units (one,
// or one per quadrant of a quadrant gate on two dividers), or a note saying why the gate has
// no density plot. Missing bounds (a rectangle's open sides, the outer quadrants) are left
// infinite here and closed by dimAxis's range.
func gateOutlines(gt gating.Gate) (x, y gating.Dimension, outlines []chart.Gate, note string) {
	if q, ok := gt.(*gating.QuadrantGate); ok {
		return quadrantOutlines(q)
	}
	x, y, outline, note := gateOutline(gt)
	return x, y, []chart.Gate{outline}, note
}

// quadrantOutlines returns the quadrants of a quadrant gate on two dividers of different
// dimensions as rectangles: each quadrant spans, on each divider, the interval between the
// divider's values that holds its location (the whole axis on a divider it does not name).
func quadrantOutlines(q *gating.QuadrantGate) (x, y gating.Dimension, outlines []chart.Gate, note string) {
	if len(q.Dividers) != 2 || q.Dividers[0].Dimension == q.Dividers[1].Dimension {
		return x, y, nil, fmt.Sprintf("a quadrant gate on %d dividers: its quadrants are drawn only on two dividers of two dimensions", len(q.Dividers))
	}
	x, y = q.Dividers[0].Dimension, q.Dividers[1].Dimension
	interval := func(d gating.Divider, loc float64) (lo, hi float64) {
		vs := slices.Sorted(slices.Values(d.Values))
		lo, hi = math.Inf(-1), math.Inf(1)
		for _, v := range vs {
			if v <= loc {
				lo = v
			} else {
				hi = v
				break
			}
		}
		return lo, hi
	}
	for _, qd := range q.Quadrants {
		x0, x1, y0, y1 := math.Inf(-1), math.Inf(1), math.Inf(-1), math.Inf(1)
		for _, p := range qd.Positions {
			switch p.Divider {
			case q.Dividers[0].ID:
				x0, x1 = interval(q.Dividers[0], p.Location)
			case q.Dividers[1].ID:
				y0, y1 = interval(q.Dividers[1], p.Location)
			}
		}
		outlines = append(outlines, chart.Gate{Name: qd.ID, X: []float64{x0, x1, x1, x0}, Y: []float64{y0, y0, y1, y1}})
	}
	return x, y, outlines, ""
}

// gateOutline returns the two dimensions of a 2-D gate other than a quadrant gate and its
// outline in their units, or a note saying why the gate has no density plot.
func gateOutline(gt gating.Gate) (x, y gating.Dimension, outline chart.Gate, note string) {
	outline.Name = gt.GateID()
	switch g := gt.(type) {
	case *gating.PolygonGate:
		for _, v := range g.Vertices {
			outline.X, outline.Y = append(outline.X, v[0]), append(outline.Y, v[1])
		}
		return g.Dimensions[0], g.Dimensions[1], outline, ""
	case *gating.RectangleGate:
		if len(g.Dimensions) != 2 {
			return x, y, outline, fmt.Sprintf("a %d-D range: not drawn (ranges of one dimension get a histogram, of two a density plot)", len(g.Dimensions))
		}
		bound := func(p *float64, inf float64) float64 {
			if p == nil {
				return inf
			}
			return *p
		}
		dx, dy := g.Dimensions[0], g.Dimensions[1]
		x0, x1 := bound(dx.Min, math.Inf(-1)), bound(dx.Max, math.Inf(1))
		y0, y1 := bound(dy.Min, math.Inf(-1)), bound(dy.Max, math.Inf(1))
		outline.X = []float64{x0, x1, x1, x0}
		outline.Y = []float64{y0, y0, y1, y1}
		return dx.Dimension, dy.Dimension, outline, ""
	case *gating.EllipsoidGate:
		if len(g.Dimensions) != 2 {
			return x, y, outline, fmt.Sprintf("an ellipsoid in %d dimensions: no density plot", len(g.Dimensions))
		}
		// Points of (v−m)ᵀC⁻¹(v−m) = D²: v = m + D·L·u for unit vectors u, with C = L·Lᵀ.
		c := g.Covariance
		l11 := math.Sqrt(c[0][0])
		l21 := c[1][0] / l11
		l22 := math.Sqrt(c[1][1] - l21*l21)
		if !(l11 > 0) || !(l22 > 0) || math.IsInf(l21, 0) || !(g.DistanceSquare > 0) {
			return x, y, outline, "an ellipse whose covariance is not positive definite: not drawn"
		}
		r := math.Sqrt(g.DistanceSquare)
		const n = 72
		for k := range n {
			t := 2 * math.Pi * float64(k) / n
			ux, uy := math.Cos(t), math.Sin(t)
			outline.X = append(outline.X, g.Mean[0]+r*l11*ux)
			outline.Y = append(outline.Y, g.Mean[1]+r*(l21*ux+l22*uy))
		}
		return g.Dimensions[0], g.Dimensions[1], outline, ""
	case *gating.BooleanGate:
		return x, y, outline, fmt.Sprintf("a Boolean gate (%s): no geometry of its own to draw", g.Op)
	}
	return x, y, outline, "no density plot for this kind of gate"
}

// dimAxis is the axis of a dimension: named after the parameter (with its stain from stains)
// and its compensation and transformation, fixed to cover the finite events and the gate's
// finite vertices (so that a gate reaching beyond the events is drawn whole); the gate's
// infinite vertices (the open sides of a rectangle) are moved to the axis's ends.
func dimAxis(d gating.Dimension, stains map[string]string, events []float64, vertices ...[]float64) chart.Axis {
	label := d.String()
	if st := stains[d.Name]; st != "" {
		label += " " + st
	}
	var how []string
	if d.Compensation != "" && d.Compensation != gating.Uncompensated {
		how = append(how, "compensation "+d.Compensation)
	}
	if d.Transformation != "" {
		how = append(how, d.Transformation)
	}
	if len(how) > 0 {
		label += " (" + strings.Join(how, ", ") + ")"
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, vs := range append([][]float64{events}, vertices...) {
		for _, v := range vs {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	a := chart.Axis{Label: label}
	if lo < hi {
		pad := (hi - lo) * 0.02
		lo, hi = lo-pad, hi+pad
		a.Min, a.Max = &lo, &hi
		for _, vs := range vertices {
			for i, v := range vs {
				switch {
				case math.IsInf(v, -1):
					vs[i] = lo
				case math.IsInf(v, 1):
					vs[i] = hi
				}
			}
		}
	}
	return a
}

// chartBase is the URL prefix of the attachment's chart files.
func (g *gatedAttachment) chartBase() string {
	return fmt.Sprintf("/observations/%d/fcs/%d/charts/", g.obs.ID, g.att.ID)
}

// fcsPlots shows an attachment's gate plots: for each 2-D gate the template's mapping uses
// (with its parents), the density of the parent's events in the gate's two dimensions with
// the gate drawn, titled with the gate and its percentage of the parent.
func (s *Server) fcsPlots(w http.ResponseWriter, r *http.Request) error {
	g, err := s.loadAttachment(r)
	if err != nil {
		return err
	}
	d := fcsPlotsData{Attachment: g.att, Observation: g.obs, Culture: g.culture, Template: g.tmpl, Skipped: g.skipped}
	base := g.chartBase()
	for i, p := range g.plots {
		name := url.PathEscape(p.ID)
		p.Chart = chartView{ID: fmt.Sprintf("gate-%d", i+1), Name: p.ID, Title: p.title,
			SVG: template.HTML(p.plot.SVG()), SVGURL: base + name + ".svg", CSVURL: base + name + ".csv"}
		p.PNGURL = base + name + ".png"
		d.Plots = append(d.Plots, p)
	}
	title := fmt.Sprintf("Gate plots: %s, %s day %d", g.att.FileName, g.culture.Code, g.obs.Day)
	return s.render(w, r, http.StatusOK, "fcs_plots", page{Title: title, Nav: navCultures, Data: d})
}

// fcsChart serves one gate plot of an attachment: GATE.svg (with axes and outline), GATE.png
// (the density raster alone) or GATE.csv (the counts of the bins).
func (s *Server) fcsChart(w http.ResponseWriter, r *http.Request) error {
	file := r.PathValue("file")
	dot := strings.LastIndex(file, ".")
	if dot < 0 {
		return clink.Errorf(clink.ENOTFOUND, "no chart file %q: gate plots are GATE.svg, GATE.png or GATE.csv", file)
	}
	name, ext := file[:dot], file[dot+1:]
	if ext != "svg" && ext != "csv" && ext != "png" {
		return clink.Errorf(clink.ENOTFOUND, "no chart file %q: gate plots are GATE.svg, GATE.png or GATE.csv", file)
	}
	g, err := s.loadAttachment(r)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(g.plots, func(p gatePlot) bool { return p.ID == name })
	if i < 0 {
		return clink.Errorf(clink.ENOTFOUND, "attachment %d has no gate plot %q", g.att.ID, name)
	}
	d := g.plots[i].plot
	download := fmt.Sprintf("%s-%s", strings.TrimSuffix(g.att.FileName, ".fcs"), file)
	if ext != "png" {
		return writeChartFile(w, download, d)
	}
	png, err := d.PNG()
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", download))
	h.Set("Content-Type", "image/png")
	w.Write(png)
	return nil
}
