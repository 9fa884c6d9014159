package http

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/analysis"
)

// Data entry of new records from the pages: a donor, a protocol or the next version of one, a
// culture, and a cytotoxicity plate of a culture (a grid of raw readings, or a paste from the
// plate reader). Each form follows the observation form of ui_culture.go: the store validates
// (the single source of truth), a refused form is shown again with what was typed and each
// message next to its field (422, or 409 for a conflict) and nothing is saved, and an
// accepted form redirects (303) to the new record's page. Only a researcher of the record's
// site may write: the form of a new donor, protocol or culture is for the site named by the
// query (?site=, the user's own by default), and anyone else is refused with 403.

// uiEntryRoutes are the pages that create donors, protocols, cultures and assays.
func (s *Server) uiEntryRoutes() []Route {
	return []Route{
		{"GET", "/new/donor", "donorNewPage", PermWriteResearch, s.donorNewPage},
		{"POST", "/donors", "addDonor", PermWriteResearch, s.addDonor},
		{"GET", "/new/protocol", "protocolNewPage", PermWriteResearch, s.protocolNewPage},
		{"POST", "/protocols", "addProtocol", PermWriteResearch, s.addProtocol},
		{"GET", "/protocols/{id}/versions/new", "protocolVersionPage", PermWriteResearch, s.protocolVersionPage},
		{"POST", "/protocols/{id}/versions", "addProtocolVersion", PermWriteResearch, s.addProtocolVersion},
		{"GET", "/new/culture", "cultureNewPage", PermWriteResearch, s.cultureNewPage},
		{"POST", "/cultures", "addCulture", PermWriteResearch, s.addCulture},
		{"GET", "/cultures/{id}/assays/new", "assayNewPage", PermWriteResearch, s.assayNewPage},
		{"POST", "/cultures/{id}/assays", "addAssay", PermWriteResearch, s.addAssay},
	}
}

// option is one choice of a select.
type option struct{ Value, Label string }

// options makes options whose labels are their values.
func options(values ...string) []option {
	out := make([]option, len(values))
	for i, v := range values {
		out[i] = option{v, v}
	}
	return out
}

// entryForm is what every entry page shares: the form's state, the refused fields that have
// no input on the page (listed under the summary), and the choices of its selects by field.
type entryForm struct {
	Form  form
	Other []clink.FieldError
	Opts  map[string][]option
}

// setOther lists the form's errors whose field shown does not know.
func (e *entryForm) setOther(shown func(string) bool) {
	e.Other = nil
	for k, v := range e.Form.Errors {
		if !shown(k) {
			e.Other = append(e.Other, clink.FieldError{Field: k, Message: v})
		}
	}
	slices.SortFunc(e.Other, func(a, b clink.FieldError) int { return strings.Compare(a.Field, b.Field) })
}

// keep adds to the choices opt the values of fields that are not among them, so that a
// refused form shows what was sent (a donor of another site, a version since voided) rather
// than silently selecting something else.
func (e *entryForm) keep(opt string, fields ...string) {
	for _, name := range fields {
		v := e.Form.Values[name]
		if v != "" && !slices.ContainsFunc(e.Opts[opt], func(o option) bool { return o.Value == v }) {
			e.Opts[opt] = append(e.Opts[opt], option{v, v})
		}
	}
}

// inSet returns a func reporting whether a name is one of names.
func inSet(names ...string) func(string) bool {
	return func(k string) bool { return slices.Contains(names, k) }
}

// entrySite is the site a new record's form is for: the query's (or the posted form's) site,
// else the user's own.
func entrySite(r *http.Request) string {
	if v := strings.TrimSpace(r.FormValue("site")); v != "" {
		return v
	}
	if u := UserFrom(r.Context()); u != nil {
		return u.Site
	}
	return ""
}

// remapFields returns err with each field name passed through fn, so that the store's names
// for a record's parts (components[1].dose: the second component given) name the inputs of
// the form (components[2].dose: the row the user typed it in).
func remapFields(err error, fn func(string) string) error {
	var e *clink.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return err
	}
	out := &clink.Error{Code: e.Code, Message: e.Message, Fields: make(clink.FieldErrors, len(e.Fields))}
	for i, f := range e.Fields {
		out.Fields[i] = clink.FieldError{Field: fn(f.Field), Message: f.Message}
	}
	return out
}

// formReader reads the trimmed values of a posted form into a form's state, collecting the
// reading errors (a number that is not one); the domain checks everything else.
type formReader struct {
	r  *http.Request
	f  *form
	fe clink.FieldErrors
}

func (fr *formReader) str(name string) string {
	v := strings.TrimSpace(fr.r.PostForm.Get(name))
	fr.f.Values[name] = v
	return v
}

// float reads an optional number; empty is nil.
func (fr *formReader) float(name string) *float64 {
	v := fr.str(name)
	if v == "" {
		return nil
	}
	x, err := parseNumber(v)
	if err != nil {
		fr.fe.Addf(name, "%q is not a number", v)
		return nil
	}
	return &x
}

// num reads a number the record needs; empty reads as 0, which the domain refuses with its
// own message where 0 is not allowed.
func (fr *formReader) num(name string) float64 {
	if x := fr.float(name); x != nil {
		return *x
	}
	return 0
}

// int reads a whole number; empty reads as 0.
func (fr *formReader) int(name string) int {
	v := fr.str(name)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		fr.fe.Addf(name, "%q is not a whole number", v)
	}
	return n
}

// days reads a list of whole days written "0, 3, 7" (commas, semicolons or spaces).
func (fr *formReader) days(name string) []int {
	v := fr.str(name)
	out := []int{}
	for _, p := range strings.FieldsFunc(v, func(c rune) bool { return c == ',' || c == ';' || c == ' ' }) {
		n, err := strconv.Atoi(p)
		if err != nil {
			fr.fe.Addf(name, "%q is not a whole day (write days as 0, 3, 7)", p)
			continue
		}
		out = append(out, n)
	}
	return out
}

// ---- Donors ----

// ageBands are the five-year bands a donor's age is given in, and unknown.
var ageBands = func() []string {
	out := []string{clink.Unknown}
	for lo := 15; lo < 100; lo += 5 {
		out = append(out, fmt.Sprintf("%d-%d", lo, lo+4))
	}
	return out
}()

// donorFormData is the data of the new-donor page.
type donorFormData struct {
	entryForm
	Site  string
	Genes []geneBox
}

// geneBox is a KIR gene's checkbox.
type geneBox struct {
	Gene    string
	Checked bool
}

var donorFields = inSet("site", "sex", "age_band", "hcmv", "nkg2c", "kir_haplotype", "kir_genes", "hla_c_group", "consent_date", "notes")

func (s *Server) renderDonorForm(w http.ResponseWriter, r *http.Request, status int, site string, f form) error {
	d := donorFormData{entryForm: entryForm{Form: f, Opts: map[string][]option{
		"sex":           options(clink.Unknown, clink.SexFemale, clink.SexMale),
		"age_band":      options(ageBands...),
		"hcmv":          options(clink.Unknown, clink.HCMVPositive, clink.HCMVNegative, clink.HCMVEquivocal),
		"nkg2c":         options(clink.Unknown, clink.NKG2CPlusPlus, clink.NKG2CPlusDel, clink.NKG2CDelDel),
		"kir_haplotype": append([]option{{"", "from the genes"}}, options(clink.KIRAA, clink.KIRBx, clink.Unknown)...),
		"hla_c_group":   append([]option{{"", "not typed"}}, options("C1/C1", "C1/C2", "C2/C2")...),
	}}, Site: site}
	checked := strings.Split(f.Values["kir_genes"], ",")
	for _, g := range clink.KIRGenes {
		d.Genes = append(d.Genes, geneBox{g, slices.Contains(checked, g)})
	}
	for name := range d.Opts {
		d.keep(name, name)
	}
	d.setOther(donorFields)
	return s.render(w, r, status, "donor_new", page{Title: "New donor", Nav: navDonors, Data: d})
}

// donorNewPage shows the form of a new donor of the site.
func (s *Server) donorNewPage(w http.ResponseWriter, r *http.Request) error {
	site := entrySite(r)
	if err := s.authorize(r, site); err != nil {
		return err
	}
	f := newForm()
	f.Values["consent_date"] = s.today().Format(dateLayout)
	return s.renderDonorForm(w, r, http.StatusOK, site, f)
}

// dateLayout is how dates are written in forms.
const dateLayout = "2006-01-02"

// addDonor creates a donor from the form; its code is generated by the store (a donor is
// never named).
func (s *Server) addDonor(w http.ResponseWriter, r *http.Request) error {
	if err := parsePageForm(w, r); err != nil {
		return err
	}
	site := entrySite(r)
	if err := s.authorize(r, site); err != nil {
		return err
	}
	f := newForm()
	f.Values["site"] = site
	fr := formReader{r: r, f: &f}
	d := &clink.Donor{Site: site, Sex: fr.str("sex"), AgeBand: fr.str("age_band"), HCMV: fr.str("hcmv"),
		NKG2C: fr.str("nkg2c"), KIRHaplotype: fr.str("kir_haplotype"), HLACGroup: fr.str("hla_c_group"),
		ConsentDate: fr.str("consent_date"), Notes: fr.str("notes")}
	for _, g := range r.PostForm["kir_genes"] {
		if g = strings.TrimSpace(g); g != "" {
			d.KIRGenes = append(d.KIRGenes, g)
		}
	}
	f.Values["kir_genes"] = strings.Join(d.KIRGenes, ",")
	if err := s.store.CreateDonor(r.Context(), d); err != nil {
		if !f.refuse(err) {
			return err
		}
		return s.renderDonorForm(w, r, refusedStatus(err), site, f)
	}
	http.Redirect(w, r, fmt.Sprintf("/donors/%d", d.ID), http.StatusSeeOther)
	return nil
}

// ---- Protocols ----

// protocolRows is the number of component rows of the protocol form (empty rows are
// ignored): enough for the consortium's protocols without JavaScript.
const protocolRows = 6

// protocolFormData is the data of the new-protocol and new-version pages.
type protocolFormData struct {
	entryForm
	Site   string
	Base   *clink.Protocol // the version the new one starts from; nil for a new protocol
	Action string
	Rows   []componentRow
}

// componentRow names the inputs of one component row.
type componentRow struct {
	N                           int // 1-based, for labels
	Component, Dose, Unit, Days string
}

var (
	componentFieldRE = regexp.MustCompile(`^components\[(\d+)\]\.(component|dose|unit|days)$`)
	componentErrRE   = regexp.MustCompile(`^components\[(\d+)\]\.(\w+)`)
	indexSuffixRE    = regexp.MustCompile(`\[\d+\]$`)
)

// protocolFields reports whether the protocol form has an input for a field.
func protocolFields(k string) bool {
	if m := componentFieldRE.FindStringSubmatch(k); m != nil {
		i, _ := strconv.Atoi(m[1])
		return i < protocolRows
	}
	return inSet("name", "starting_material", "feeder_ratio", "feeder_ratio_basis", "restimulation_days",
		"vessel", "seeding_density", "duration_days", "description")(k)
}

func (s *Server) renderProtocolForm(w http.ResponseWriter, r *http.Request, status int, d protocolFormData) error {
	comps, err := s.store.FindComponents(r.Context(), "")
	if err != nil {
		return err
	}
	names := []option{{"", "—"}}
	for _, c := range comps {
		names = append(names, option{c.Name, fmt.Sprintf("%s (%s, %s)", c.Name, c.Category, c.Unit)})
	}
	d.Opts = map[string][]option{
		"component":          names,
		"starting_material":  options(clink.StartingMaterials...),
		"vessel":             options(clink.Vessels...),
		"feeder_ratio_basis": append([]option{{"", "no feeder"}}, options(clink.FeederRatioBases...)...),
	}
	for i := range protocolRows {
		p := fmt.Sprintf("components[%d].", i)
		d.Rows = append(d.Rows, componentRow{i + 1, p + "component", p + "dose", p + "unit", p + "days"})
	}
	for _, name := range []string{"starting_material", "vessel", "feeder_ratio_basis"} {
		d.keep(name, name)
	}
	for _, row := range d.Rows {
		d.keep("component", row.Component)
	}
	shown := protocolFields
	if d.Base != nil {
		shown = func(k string) bool { return k != "name" && protocolFields(k) }
	}
	d.setOther(shown)
	title := "New protocol"
	if d.Base != nil {
		title = "New version of " + d.Base.Name
	}
	return s.render(w, r, status, "protocol_new", page{Title: title, Nav: navProtocols, Data: d})
}

// protocolForm fills a form with a protocol version's values, the start of its next version.
func protocolForm(p *clink.Protocol) form {
	f := newForm()
	g := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	ints := func(ns []int) string {
		parts := make([]string, len(ns))
		for i, n := range ns {
			parts[i] = strconv.Itoa(n)
		}
		return strings.Join(parts, ", ")
	}
	f.Values["name"] = p.Name
	f.Values["starting_material"] = p.StartingMaterial
	f.Values["vessel"] = p.Vessel
	f.Values["seeding_density"] = g(p.SeedingDensity)
	f.Values["duration_days"] = strconv.Itoa(p.DurationDays)
	if p.FeederRatio != nil {
		f.Values["feeder_ratio"] = g(*p.FeederRatio)
	}
	f.Values["feeder_ratio_basis"] = p.FeederRatioBasis
	f.Values["restimulation_days"] = ints(p.RestimulationDays)
	f.Values["description"] = p.Description
	for i, c := range p.Components {
		k := fmt.Sprintf("components[%d].", i)
		f.Values[k+"component"] = c.Component
		f.Values[k+"dose"] = g(c.Dose)
		f.Values[k+"unit"] = c.Unit
		f.Values[k+"days"] = ints(c.Days)
	}
	return f
}

// readProtocolForm reads a protocol from the form. Component rows left empty are skipped;
// rows[i] is the form row of the protocol's i-th component, which puts the store's messages
// next to the row the user typed.
func readProtocolForm(r *http.Request, f *form, p *clink.Protocol) (read clink.FieldErrors, rows []int) {
	fr := formReader{r: r, f: f}
	p.StartingMaterial = fr.str("starting_material")
	p.Vessel = fr.str("vessel")
	p.SeedingDensity = fr.num("seeding_density")
	p.DurationDays = fr.int("duration_days")
	p.FeederRatio = fr.float("feeder_ratio")
	p.FeederRatioBasis = fr.str("feeder_ratio_basis")
	p.RestimulationDays = fr.days("restimulation_days")
	p.Description = fr.str("description")
	p.Components = []clink.ProtocolComponent{}
	for i := range protocolRows {
		k := fmt.Sprintf("components[%d].", i)
		name, dose, unit, days := fr.str(k+"component"), fr.str(k+"dose"), fr.str(k+"unit"), fr.str(k+"days")
		if name == "" && dose == "" && unit == "" && days == "" {
			continue
		}
		p.Components = append(p.Components, clink.ProtocolComponent{Component: name, Dose: fr.num(k + "dose"), Unit: unit, Days: fr.days(k + "days")})
		rows = append(rows, i)
	}
	return fr.fe, rows
}

// protocolErrorField maps the store's field names of a protocol to the form's.
func protocolErrorField(rows []int) func(string) string {
	return func(k string) string {
		if m := componentErrRE.FindStringSubmatch(k); m != nil {
			if i, _ := strconv.Atoi(m[1]); i < len(rows) {
				return fmt.Sprintf("components[%d].%s", rows[i], m[2])
			}
		}
		if strings.HasPrefix(k, "restimulation_days[") {
			return indexSuffixRE.ReplaceAllString(k, "")
		}
		return k
	}
}

// protocolNewPage shows the form of a new protocol of the site.
func (s *Server) protocolNewPage(w http.ResponseWriter, r *http.Request) error {
	site := entrySite(r)
	if err := s.authorize(r, site); err != nil {
		return err
	}
	return s.renderProtocolForm(w, r, http.StatusOK, protocolFormData{entryForm: entryForm{Form: newForm()}, Site: site, Action: "/protocols"})
}

// addProtocol creates version 1 of a new protocol or, as the API does, the next version when
// the name exists: at the site of its latest version, which decides who may.
func (s *Server) addProtocol(w http.ResponseWriter, r *http.Request) error {
	if err := parsePageForm(w, r); err != nil {
		return err
	}
	site := entrySite(r)
	f := newForm()
	p := &clink.Protocol{Name: strings.TrimSpace(r.PostForm.Get("name"))}
	f.Values["name"] = p.Name
	if p.Name != "" {
		existing, _, err := s.store.FindProtocols(r.Context(), clink.ProtocolFilter{Name: p.Name, Page: clink.Page{Limit: clink.MaxLimit}})
		if err != nil {
			return err
		}
		latest := 0
		for _, e := range existing {
			if e.Version > latest {
				latest, site = e.Version, e.Site
			}
		}
	}
	if err := s.authorize(r, site); err != nil {
		return err
	}
	p.Site = site
	f.Values["site"] = site
	return s.saveProtocol(w, r, f, p, protocolFormData{Site: site, Action: "/protocols"})
}

// saveProtocol reads the rest of the form into p and stores it, or shows the form again.
func (s *Server) saveProtocol(w http.ResponseWriter, r *http.Request, f form, p *clink.Protocol, d protocolFormData) error {
	read, rows := readProtocolForm(r, &f, p)
	var err error
	if len(read) > 0 {
		err = formErrors(read, remapFields(p.Validate(), protocolErrorField(rows)))
	} else {
		err = remapFields(s.store.CreateProtocol(r.Context(), p), protocolErrorField(rows))
	}
	if err != nil {
		if !f.refuse(err) {
			return err
		}
		d.Form = f
		return s.renderProtocolForm(w, r, refusedStatus(err), d)
	}
	http.Redirect(w, r, fmt.Sprintf("/protocols/%d", p.ID), http.StatusSeeOther)
	return nil
}

// protocolVersionPage shows the form of the next version of a protocol, filled in with the
// values of the version it starts from.
func (s *Server) protocolVersionPage(w http.ResponseWriter, r *http.Request) error {
	base, err := s.findProtocol(r)
	if err != nil {
		return err
	}
	if err := s.authorize(r, base.Site); err != nil {
		return err
	}
	d := protocolFormData{entryForm: entryForm{Form: protocolForm(base)}, Site: base.Site, Base: base,
		Action: fmt.Sprintf("/protocols/%d/versions", base.ID)}
	return s.renderProtocolForm(w, r, http.StatusOK, d)
}

// addProtocolVersion creates the next version of the protocol of the path: its name and
// site are the protocol's, its version the next number.
func (s *Server) addProtocolVersion(w http.ResponseWriter, r *http.Request) error {
	base, err := s.findProtocol(r)
	if err != nil {
		return err
	}
	if err := s.authorize(r, base.Site); err != nil {
		return err
	}
	if err := parsePageForm(w, r); err != nil {
		return err
	}
	f := newForm()
	f.Values["name"] = base.Name
	p := &clink.Protocol{Name: base.Name, Site: base.Site}
	d := protocolFormData{Site: base.Site, Base: base, Action: fmt.Sprintf("/protocols/%d/versions", base.ID)}
	return s.saveProtocol(w, r, f, p, d)
}

// ---- Cultures ----

// cultureFormData is the data of the new-culture page.
type cultureFormData struct {
	entryForm
	Site string
}

var cultureFields = inSet("donor", "protocol_id", "start_date", "starting_cells", "starting_nk_pct", "notes")

func (s *Server) renderCultureForm(w http.ResponseWriter, r *http.Request, status int, site string, f form) error {
	ctx := r.Context()
	donors, err := clink.ReadAll(func(p clink.Page) ([]*clink.Donor, int, error) {
		return s.store.FindDonors(ctx, clink.DonorFilter{Site: site, Page: p})
	})
	if err != nil {
		return err
	}
	protocols, err := clink.ReadAll(func(p clink.Page) ([]*clink.Protocol, int, error) {
		return s.store.FindProtocols(ctx, clink.ProtocolFilter{Page: p})
	})
	if err != nil {
		return err
	}
	d := cultureFormData{entryForm: entryForm{Form: f, Opts: map[string][]option{}}, Site: site}
	d.Opts["donor"] = []option{{"", "—"}}
	for _, x := range donors {
		if !x.Voided {
			d.Opts["donor"] = append(d.Opts["donor"], option{x.Code, fmt.Sprintf("%s (HCMV %s, NKG2C %s, KIR %s)", x.Code, x.HCMV, x.NKG2C, x.KIRHaplotype)})
		}
	}
	d.Opts["protocol_id"] = []option{{"", "—"}}
	for _, p := range protocols {
		if !p.Voided {
			d.Opts["protocol_id"] = append(d.Opts["protocol_id"], option{strconv.FormatInt(p.ID, 10), fmt.Sprintf("%s (%s)", p.Key(), p.Site)})
		}
	}
	d.keep("donor", "donor")
	d.keep("protocol_id", "protocol_id")
	d.setOther(cultureFields)
	return s.render(w, r, status, "culture_new", page{Title: "New culture", Nav: navCultures, Data: d})
}

// cultureNewPage shows the form of a new culture of the site; ?donor=CODE and
// ?protocol=ID preselect its donor and protocol version.
func (s *Server) cultureNewPage(w http.ResponseWriter, r *http.Request) error {
	site := entrySite(r)
	if err := s.authorize(r, site); err != nil {
		return err
	}
	f := newForm()
	f.Values["start_date"] = s.today().Format(dateLayout)
	q := r.URL.Query()
	f.Values["donor"] = q.Get("donor")
	f.Values["protocol_id"] = q.Get("protocol")
	return s.renderCultureForm(w, r, http.StatusOK, site, f)
}

// addCulture creates a culture of a donor of the site under a protocol version; its code is
// the site's next culture number.
func (s *Server) addCulture(w http.ResponseWriter, r *http.Request) error {
	if err := parsePageForm(w, r); err != nil {
		return err
	}
	site := entrySite(r)
	if err := s.authorize(r, site); err != nil {
		return err
	}
	f := newForm()
	f.Values["site"] = site
	fr := formReader{r: r, f: &f}
	c := &clink.Culture{Site: site, Donor: fr.str("donor"), StartDate: fr.str("start_date"),
		StartingCells: fr.num("starting_cells"), StartingNKPct: fr.num("starting_nk_pct"), Notes: fr.str("notes")}
	if v := fr.str("protocol_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			fr.fe.Addf("protocol_id", "%q is not a protocol", v)
		}
		c.ProtocolID = id
	}
	var err error
	if len(fr.fe) > 0 {
		err = formErrors(fr.fe, c.Validate())
	} else {
		err = s.store.CreateCulture(r.Context(), c)
	}
	if err != nil {
		if !f.refuse(err) {
			return err
		}
		return s.renderCultureForm(w, r, refusedStatus(err), site, f)
	}
	http.Redirect(w, r, fmt.Sprintf("/cultures/%d", c.ID), http.StatusSeeOther)
	return nil
}

// ---- Cytotoxicity plates ----

// The plate grid's default size in E:T rows and replicate columns, and its largest. A pasted
// plate, or a form shown again, with more gets a grid large enough to hold it.
const (
	plateRows     = 6
	plateReplicas = 4
	maxPlateRows  = 48
	maxReplicas   = 24
)

// assayFormData is the data of the new-plate page.
type assayFormData struct {
	entryForm
	Culture *clink.Culture
	Grid    []gridRow
	Columns []int // 1..replicates, for the grid's header
}

// gridRow is one row of the plate grid: an E:T ratio (ETName set) or a control.
type gridRow struct {
	Label  string // "E:T row 3", "Spontaneous", "Maximum"
	ETName string // the E:T input's name, "" for a control row
	Name   string // the prefix of the row's fields: points[2], spontaneous, maximum
	Cells  []gridCell
	Errors []clink.FieldError // the row's messages, shown at its end
}

// gridCell is one reading's input.
type gridCell struct {
	Name, Label string
}

// gridKeyRE matches the grid's field names: points[i].et_ratio, points[i].readings[j],
// spontaneous[j], maximum[j]; group 1 is the row, group 2 the replicate.
var gridKeyRE = regexp.MustCompile(`^(?:points\[(\d+)\]\.(?:et_ratio|readings)|spontaneous|maximum)(?:\[(\d+)\])?$`)

func pointPrefix(i int) string { return fmt.Sprintf("points[%d]", i) }

// gridSize returns the number of E:T rows and replicate columns the form's values need.
func gridSize(f form) (rows, cols int) {
	rows, cols = plateRows, plateReplicas
	for k := range f.Values {
		m := gridKeyRE.FindStringSubmatch(k)
		if m == nil {
			continue
		}
		if i, err := strconv.Atoi(m[1]); err == nil {
			rows = max(rows, min(i+1, maxPlateRows))
		}
		if j, err := strconv.Atoi(m[2]); err == nil {
			cols = max(cols, min(j+1, maxReplicas))
		}
	}
	return rows, cols
}

var assayFields = []string{"day", "target", "target_name", "method", "targets_per_well", "duration_hours", "note", "plate"}

func (s *Server) renderAssayForm(w http.ResponseWriter, r *http.Request, status int, c *clink.Culture, f form) error {
	d := assayFormData{entryForm: entryForm{Form: f, Opts: map[string][]option{
		"target": options(clink.Targets...),
		"method": options(clink.AssayMethods...),
	}}, Culture: c}
	d.keep("target", "target")
	d.keep("method", "method")
	rows, cols := gridSize(f)
	for j := range cols {
		d.Columns = append(d.Columns, j+1)
	}
	shown := map[string]bool{}
	for _, k := range assayFields {
		shown[k] = true
	}
	row := func(label, name, et string) gridRow {
		g := gridRow{Label: label, Name: name, ETName: et}
		names := []string{et, name, name + ".readings"}
		for j := range cols {
			cell := fmt.Sprintf("%s[%d]", name, j)
			if et != "" {
				cell = fmt.Sprintf("%s.readings[%d]", name, j)
			}
			g.Cells = append(g.Cells, gridCell{Name: cell, Label: fmt.Sprintf("%s, replicate %d", label, j+1)})
			names = append(names, cell)
		}
		// The row's messages: its E:T, its number of readings, each cell's.
		for _, k := range names {
			if k == "" || shown[k] {
				continue
			}
			shown[k] = true
			if msg := f.Errors[k]; msg != "" {
				g.Errors = append(g.Errors, clink.FieldError{Field: k, Message: msg})
			}
		}
		return g
	}
	for i := range rows {
		p := pointPrefix(i)
		d.Grid = append(d.Grid, row(fmt.Sprintf("E:T row %d", i+1), p, p+".et_ratio"))
	}
	d.Grid = append(d.Grid, row("Spontaneous", "spontaneous", ""), row("Maximum", "maximum", ""))
	d.setOther(func(k string) bool { return shown[k] })
	return s.render(w, r, status, "assay_new", page{Title: "New cytotoxicity plate for " + c.Code, Nav: navCultures, Data: d})
}

// assayNewPage shows the form of a new cytotoxicity plate of a culture.
func (s *Server) assayNewPage(w http.ResponseWriter, r *http.Request) error {
	c, err := s.findCulture(r)
	if err != nil {
		return err
	}
	if err := s.authorize(r, c.Site); err != nil {
		return err
	}
	f := newForm()
	f.Values["method"] = clink.MethodCalcein
	f.Values["duration_hours"] = "4"
	return s.renderAssayForm(w, r, http.StatusOK, c, f)
}

// plateLine is one line of a pasted plate: an E:T ratio or a control, with its readings as
// written.
type plateLine struct {
	Control  string // "spontaneous", "maximum", or "" for an E:T line
	ET       string
	Readings []string
}

// parsePlate reads a plate pasted from a plate reader's export, in the grid's layout: one
// line per E:T ratio ("10", "10:1") or control ("spontaneous" or "maximum" in any case,
// "spont" and "max" too), then the replicate readings. Cells are separated by tabs, or
// semicolons, or commas (where a decimal comma is then impossible); blank lines are skipped,
// and so is a first line that names the columns. Several lines of one control add
// replicates. The readings are kept as written: the grid reads them as numbers.
func parsePlate(text string) ([]plateLine, error) {
	var out []plateLine
	var fe clink.FieldErrors
	first, points := true, 0
	for n, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		sep := ","
		switch {
		case strings.Contains(line, "\t"):
			sep = "\t"
		case strings.Contains(line, ";"):
			sep = ";"
		}
		cells := strings.Split(line, sep)
		for i := range cells {
			cells[i] = strings.Trim(strings.TrimSpace(cells[i]), `"`)
		}
		for len(cells) > 1 && cells[len(cells)-1] == "" {
			cells = cells[:len(cells)-1]
		}
		var pl plateLine
		switch head := strings.ToLower(cells[0]); head {
		case "spontaneous", "spont", "spontaneous release":
			pl.Control = "spontaneous"
		case "maximum", "max", "maximum release":
			pl.Control = "maximum"
		default:
			et := etText(head)
			if _, err := parseNumber(et); err != nil {
				if first {
					first = false
					continue // a line naming the columns
				}
				fe.Addf("plate", "line %d: %q is neither an E:T ratio nor spontaneous or maximum", n+1, cells[0])
				continue
			}
			pl.ET = et
		}
		first = false
		pl.Readings = cells[1:]
		switch {
		case len(pl.Readings) == 0:
			fe.Addf("plate", "line %d: %q has no readings", n+1, cells[0])
		case len(pl.Readings) > maxReplicas:
			fe.Addf("plate", "line %d: %d readings, at most %d replicates", n+1, len(pl.Readings), maxReplicas)
		default:
			out = append(out, pl)
			if pl.Control == "" {
				points++
			}
		}
	}
	if len(out) == 0 && len(fe) == 0 {
		fe.Addf("plate", "has no line of readings")
	}
	if points > maxPlateRows {
		fe.Addf("plate", "has %d E:T lines, at most %d", points, maxPlateRows)
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// etText strips the ":1" of an E:T ratio written "10:1", and spaces.
func etText(s string) string {
	return strings.TrimSuffix(strings.ReplaceAll(s, " ", ""), ":1")
}

// fillGrid puts a parsed plate into the grid's fields of f, replacing what the grid held.
func fillGrid(f *form, lines []plateLine) {
	for k := range f.Values {
		if gridKeyRE.MatchString(k) {
			delete(f.Values, k)
		}
	}
	i := 0
	next := map[string]int{}
	for _, pl := range lines {
		if pl.Control != "" {
			for _, v := range pl.Readings {
				if next[pl.Control] < maxReplicas {
					f.Values[fmt.Sprintf("%s[%d]", pl.Control, next[pl.Control])] = v
					next[pl.Control]++
				}
			}
			continue
		}
		p := pointPrefix(i)
		f.Values[p+".et_ratio"] = pl.ET
		for j, v := range pl.Readings {
			f.Values[fmt.Sprintf("%s.readings[%d]", p, j)] = v
		}
		i++
	}
}

// assayMap records where each part of an assay came from in the grid, to name the grid's
// inputs in the store's messages.
type assayMap struct {
	rows []int   // point i is grid row rows[i]
	cols [][]int // reading j of point i is column cols[i][j]
	spon []int
	maxi []int
}

var (
	pointErrRE   = regexp.MustCompile(`^points\[(\d+)\]\.(et_ratio|readings)(?:\[(\d+)\])?$`)
	controlErrRE = regexp.MustCompile(`^(spontaneous|maximum)\[(\d+)\]$`)
)

// field maps the store's field name of an assay to the grid's.
func (m assayMap) field(k string) string {
	if g := pointErrRE.FindStringSubmatch(k); g != nil {
		i, _ := strconv.Atoi(g[1])
		if i >= len(m.rows) {
			return k
		}
		out := fmt.Sprintf("points[%d].%s", m.rows[i], g[2])
		if g[3] != "" {
			if j, _ := strconv.Atoi(g[3]); j < len(m.cols[i]) {
				out += fmt.Sprintf("[%d]", m.cols[i][j])
			}
		}
		return out
	}
	if g := controlErrRE.FindStringSubmatch(k); g != nil {
		j, _ := strconv.Atoi(g[2])
		cols := m.spon
		if g[1] == "maximum" {
			cols = m.maxi
		}
		if j < len(cols) {
			return fmt.Sprintf("%s[%d]", g[1], cols[j])
		}
	}
	return k
}

// readAssayForm reads an assay from the form. A pasted plate, when given, replaces the grid
// (which then shows it); the grid is read skipping empty rows and cells.
func readAssayForm(r *http.Request, f *form, a *clink.Assay) (clink.FieldErrors, assayMap) {
	fr := formReader{r: r, f: f}
	a.Day = fr.int("day")
	a.Target = fr.str("target")
	a.TargetName = fr.str("target_name")
	a.Method = fr.str("method")
	a.TargetsPerWell = fr.int("targets_per_well")
	a.DurationHours = fr.num("duration_hours")
	a.Note = fr.str("note")
	for k, v := range r.PostForm {
		if len(v) > 0 && gridKeyRE.MatchString(k) {
			if x := strings.TrimSpace(v[0]); x != "" {
				f.Values[k] = x
			}
		}
	}
	var m assayMap
	if plate := strings.TrimSpace(r.PostForm.Get("plate")); plate != "" {
		lines, err := parsePlate(plate)
		if err != nil {
			f.Values["plate"] = plate
			return append(fr.fe, clink.ErrorFields(err)...), m
		}
		fillGrid(f, lines)
	}
	rows, cols := gridSize(*f)
	reading := func(name string) (float64, bool) {
		v := f.Values[name]
		if v == "" {
			return 0, false
		}
		x, err := parseNumber(v)
		if err != nil {
			fr.fe.Addf(name, "%q is not a number", v)
			return 0, false
		}
		return x, true
	}
	a.Points = []clink.AssayPoint{}
	for i := range rows {
		p := pointPrefix(i)
		var pt clink.AssayPoint
		var at []int
		hasCells := false
		for j := range cols {
			name := fmt.Sprintf("%s.readings[%d]", p, j)
			hasCells = hasCells || f.Values[name] != ""
			if x, ok := reading(name); ok {
				pt.Readings = append(pt.Readings, x)
				at = append(at, j)
			}
		}
		et := f.Values[p+".et_ratio"]
		switch {
		case et == "" && !hasCells:
			continue
		case et == "":
			fr.fe.Addf(p+".et_ratio", "is required for the readings of this row")
			continue
		}
		x, err := parseNumber(etText(et))
		if err != nil {
			fr.fe.Addf(p+".et_ratio", "%q is not an E:T ratio (write 10 or 10:1)", et)
			continue
		}
		pt.ETRatio = x
		a.Points = append(a.Points, pt)
		m.rows = append(m.rows, i)
		m.cols = append(m.cols, at)
	}
	for _, ctl := range []string{"spontaneous", "maximum"} {
		var vs []float64
		var at []int
		for j := range cols {
			if x, ok := reading(fmt.Sprintf("%s[%d]", ctl, j)); ok {
				vs = append(vs, x)
				at = append(at, j)
			}
		}
		if ctl == "spontaneous" {
			a.Spontaneous, m.spon = vs, at
		} else {
			a.Maximum, m.maxi = vs, at
		}
	}
	return fr.fe, m
}

// addAssay records a cytotoxicity plate of the culture of the path from the form. As the
// API does, readings the domain accepts but no instrument gives are refused before anything
// is stored, so that every stored assay has a lysis. Success shows the culture page at the
// assay, with its flags, fit and lytic units.
func (s *Server) addAssay(w http.ResponseWriter, r *http.Request) error {
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
	a := &clink.Assay{CultureID: c.ID, Culture: c.Code, Site: c.Site}
	read, m := readAssayForm(r, &f, a)
	if len(read) > 0 {
		// The reading errors name the form's fields already.
		err = formErrors(read, remapFields(a.Validate(), m.field))
	} else if err = a.Validate(); err == nil {
		if _, err = analysis.Lysis(a); err == nil {
			err = s.store.CreateAssay(r.Context(), a)
		}
	}
	if len(read) == 0 {
		err = remapFields(err, m.field)
	}
	if err != nil {
		if !f.refuse(err) {
			return err
		}
		return s.renderAssayForm(w, r, refusedStatus(err), c, f)
	}
	http.Redirect(w, r, fmt.Sprintf("/cultures/%d#assay-%d", c.ID, a.ID), http.StatusSeeOther)
	return nil
}
