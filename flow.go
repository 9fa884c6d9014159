package clink

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of the flow records.
const (
	// DefaultMaxFCSBytes is the largest FCS file accepted unless configured otherwise (512 MiB).
	DefaultMaxFCSBytes int64 = 512 << 20
	// MaxGatingMLBytes bounds the Gating-ML document of a template (512 KiB: the ISAC compliance
	// files, with 54 gates, are under 45 KB).
	MaxGatingMLBytes = 512 << 10
	// maxGateIDLength bounds a gate id named by a mapping.
	maxGateIDLength = 200
)

// GateMapping says which gates of a template's Gating-ML document give an observation's
// measures. Percentages are of events, counted in file order from the gates' 0/1 membership:
//
//   - nk_pct is the events of the NKPct gate (e.g. CD3-CD56+) among the events of the
//     Denominator gate (e.g. viable lymphocytes), in percent;
//   - t_pct is the events of the TPct gate (CD3+) among the same denominator;
//   - each marker (a name of Markers) is the events of its gate among the NK events, that is
//     the events in both the NKPct and the Denominator gates.
//
// An event counts in a numerator only when it is also in the denominator, so a percentage
// never exceeds 100 even when a gate is not drawn inside its denominator (a gate with the
// denominator as its Gating-ML parent already is).
type GateMapping struct {
	// Denominator is the id of the gate that is 100 %; empty means every event of the data set.
	Denominator string `json:"denominator"`
	// NKPct and TPct are the gate ids of the NK and T cells; empty means the template does not
	// measure it. At least one is required.
	NKPct string `json:"nk_pct"`
	TPct  string `json:"t_pct"`
	// Markers maps marker names (Markers) to gate ids; they need NKPct.
	Markers map[string]string `json:"markers"`
}

// GateIDs returns the distinct gate ids the mapping names, sorted.
func (m GateMapping) GateIDs() []string {
	set := map[string]bool{}
	for _, id := range []string{m.Denominator, m.NKPct, m.TPct} {
		if id != "" {
			set[id] = true
		}
	}
	for _, id := range m.Markers {
		if id != "" {
			set[id] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// validate checks the mapping's own fields, naming them under "mapping.".
func (m GateMapping) validate(fe *FieldErrors) {
	gate := func(field, id string) {
		switch {
		case strings.TrimSpace(id) != id:
			fe.Addf(field, "%q has spaces around the gate id", id)
		case len(id) > maxGateIDLength:
			fe.Addf(field, "is longer than %d characters", maxGateIDLength)
		case !utf8.ValidString(id):
			fe.Addf(field, "is not valid UTF-8")
		}
	}
	gate("mapping.denominator", m.Denominator)
	gate("mapping.nk_pct", m.NKPct)
	gate("mapping.t_pct", m.TPct)
	if m.NKPct == "" && m.TPct == "" {
		fe.Addf("mapping.nk_pct", "is required: map nk_pct or t_pct (or both) to a gate id")
	}
	for _, name := range slices.Sorted(maps.Keys(m.Markers)) {
		f := "mapping.markers." + name
		if !oneOf(name, Markers...) {
			fe.Addf(f, "%q is not a known marker (%s)", name, strings.Join(Markers, ", "))
			continue
		}
		if m.Markers[name] == "" {
			fe.Addf(f, "is required: the id of the gate of %s+ cells", name)
			continue
		}
		gate(f, m.Markers[name])
		if m.NKPct == "" {
			fe.Addf(f, "markers are percent of NK cells: map nk_pct too")
		}
	}
}

// CheckGates checks that every gate id the mapping names is a gate of the template's
// document, as reported by has (a parsed Gating-ML document's lookup).
func (m GateMapping) CheckGates(has func(id string) bool) error {
	var fe FieldErrors
	check := func(field, id string) {
		if id != "" && !has(id) {
			fe.Addf(field, "gate %q is not in the Gating-ML document", id)
		}
	}
	check("mapping.denominator", m.Denominator)
	check("mapping.nk_pct", m.NKPct)
	check("mapping.t_pct", m.TPct)
	for _, name := range slices.Sorted(maps.Keys(m.Markers)) {
		check("mapping.markers."+name, m.Markers[name])
	}
	return fe.Err()
}

// FlowMeasures are what a template computed from one FCS data set: the percentages an
// observation takes and the event counts they come from.
type FlowMeasures struct {
	// Events is the number of events of the data set; DenominatorEvents those in the denominator.
	Events            int `json:"events"`
	DenominatorEvents int `json:"denominator_events"`
	// NKEvents and TEvents are the events of the NK and T gates within the denominator; null when
	// the template does not map them.
	NKEvents *int     `json:"nk_events"`
	TEvents  *int     `json:"t_events"`
	NKPct    *float64 `json:"nk_pct"`
	TPct     *float64 `json:"t_pct"`
	// Markers are percent of NK events; MarkerEvents the NK events in each marker's gate.
	Markers      map[string]float64 `json:"markers"`
	MarkerEvents map[string]int     `json:"marker_events"`
}

// Pct returns 100 n / d, the percentage every flow measure is computed with.
func Pct(n, d int) float64 { return 100 * float64(n) / float64(d) }

// Measure computes the mapped measures of a data set of events from the gates' membership:
// member returns, for a gate id of the mapping, one value per event in file order (true when
// the event is in the gate, its Gating-ML parents included). A denominator, or an NK gate that
// markers are measured against, holding no event is invalid: no percentage can be computed.
func (m GateMapping) Measure(events int, member func(id string) []bool) (FlowMeasures, error) {
	out := FlowMeasures{Events: events, Markers: map[string]float64{}, MarkerEvents: map[string]int{}}
	get := func(id string) ([]bool, error) {
		in := member(id)
		if len(in) != events {
			return nil, Errorf(EINTERNAL, "flow: gate %q has %d membership values for %d events", id, len(in), events)
		}
		return in, nil
	}
	den := make([]bool, events)
	for i := range den {
		den[i] = true
	}
	if m.Denominator != "" {
		in, err := get(m.Denominator)
		if err != nil {
			return out, err
		}
		copy(den, in)
	}
	out.DenominatorEvents = count(den, nil)
	if out.DenominatorEvents == 0 {
		if m.Denominator == "" {
			return out, Invalid("file", "the data set has no events: no percentage can be computed")
		}
		return out, Invalid("mapping.denominator", "gate %q holds none of the data set's %d events: no percentage can be computed", m.Denominator, events)
	}
	var nk []bool
	if m.NKPct != "" {
		in, err := get(m.NKPct)
		if err != nil {
			return out, err
		}
		nk = make([]bool, events)
		for i := range nk {
			nk[i] = in[i] && den[i]
		}
		n := count(nk, nil)
		pct := Pct(n, out.DenominatorEvents)
		out.NKEvents, out.NKPct = &n, &pct
	}
	if m.TPct != "" {
		in, err := get(m.TPct)
		if err != nil {
			return out, err
		}
		n := count(in, den)
		pct := Pct(n, out.DenominatorEvents)
		out.TEvents, out.TPct = &n, &pct
	}
	for _, name := range slices.Sorted(maps.Keys(m.Markers)) {
		if out.NKEvents == nil {
			return out, Invalid("mapping.markers."+name, "markers are percent of NK cells: map nk_pct too")
		}
		if *out.NKEvents == 0 {
			return out, Invalid("mapping.nk_pct", "gate %q holds none of the %d denominator events: marker percentages of NK cells cannot be computed", m.NKPct, out.DenominatorEvents)
		}
		in, err := get(m.Markers[name])
		if err != nil {
			return out, err
		}
		n := count(in, nk)
		out.MarkerEvents[name] = n
		out.Markers[name] = Pct(n, *out.NKEvents)
	}
	return out, nil
}

// CheckMeasures checks that fm has the shape that Measure gives with the mapping and that its
// counts and percentages agree: a denominator of 1 to Events events (every event without a
// Denominator gate); nk_pct, t_pct and exactly the mapped markers, each with its event count
// within its denominator (for markers, the NK events, of which there must be some), and each
// percentage equal to Pct of its counts. Stores check measures computed elsewhere with it
// before they write them; an inconsistency is EINVALID on a "measures." field.
func (m GateMapping) CheckMeasures(fm FlowMeasures) error {
	var fe FieldErrors
	switch {
	case fm.Events < 1:
		fe.Addf("measures.events", "%d: a data set without events gives no measure", fm.Events)
	case fm.DenominatorEvents < 1 || fm.DenominatorEvents > fm.Events:
		fe.Addf("measures.denominator_events", "%d is not between 1 and the %d events", fm.DenominatorEvents, fm.Events)
	case m.Denominator == "" && fm.DenominatorEvents != fm.Events:
		fe.Addf("measures.denominator_events", "is %d, but without a denominator gate all %d events are the denominator", fm.DenominatorEvents, fm.Events)
	}
	if err := fe.Err(); err != nil {
		return err
	}
	// check checks one measure: present exactly when mapped, n of d events, p = Pct(n, d).
	check := func(field string, mapped bool, n *int, p *float64, d int) {
		switch {
		case !mapped && (n != nil || p != nil):
			fe.Addf("measures."+field, "is set, but the template does not map it")
		case !mapped:
		case n == nil || p == nil:
			fe.Addf("measures."+field, "is missing (or its event count is): the template maps it")
		case *n < 0 || *n > d:
			fe.Addf("measures."+field, "%d events is not between 0 and the %d it is a percentage of", *n, d)
		case *p != Pct(*n, d):
			fe.Addf("measures."+field, "is %v, not %d of %d events in percent (%v)", *p, *n, d, Pct(*n, d))
		}
	}
	check("nk_pct", m.NKPct != "", fm.NKEvents, fm.NKPct, fm.DenominatorEvents)
	check("t_pct", m.TPct != "", fm.TEvents, fm.TPct, fm.DenominatorEvents)
	nk := 0
	if fm.NKEvents != nil {
		nk = *fm.NKEvents
	}
	if len(m.Markers) > 0 && nk == 0 {
		fe.Addf("measures.nk_pct", "holds no NK event, so no marker percentage of NK cells can be computed")
		return fe.Err()
	}
	names := map[string]bool{}
	for _, set := range []iter.Seq[string]{maps.Keys(m.Markers), maps.Keys(fm.Markers), maps.Keys(fm.MarkerEvents)} {
		for name := range set {
			names[name] = true
		}
	}
	for _, name := range slices.Sorted(maps.Keys(names)) {
		_, mapped := m.Markers[name]
		var n *int
		var p *float64
		if v, ok := fm.MarkerEvents[name]; ok {
			n = &v
		}
		if v, ok := fm.Markers[name]; ok {
			p = &v
		}
		check("markers."+name, mapped, n, p, nk)
	}
	return fe.Err()
}

// FileError names the upload at fault when there are n of them: the field errors of err are
// prefixed with files[i], as in "files[1].file". With one upload, or an error without field
// errors, err is returned as it is.
func FileError(err error, i, n int) error {
	var e *Error
	if n == 1 || !errors.As(err, &e) || len(e.Fields) == 0 {
		return err
	}
	return &Error{Code: e.Code, Message: e.Message, Fields: e.Fields.Prefix(fmt.Sprintf("files[%d]", i))}
}

// count returns the number of events in a (and in and, when and is not nil).
func count(a, and []bool) int {
	n := 0
	for i, v := range a {
		if v && (and == nil || and[i]) {
			n++
		}
	}
	return n
}

// ApplyFlow puts the measures into the observation: nk_pct, t_pct and each marker the
// measures hold. A field that already holds another value (entered by hand, or from another
// file) is replaced only when replace is set; otherwise ApplyFlow changes nothing and answers
// ECONFLICT naming every such field. It returns the fields whose value changed, as
// "nk_pct", "t_pct" and "markers.CD16".
func (o *Observation) ApplyFlow(m FlowMeasures, replace bool) ([]string, error) {
	type change struct {
		field string
		old   *float64
		new   float64
	}
	var changes []change
	if m.NKPct != nil {
		changes = append(changes, change{"nk_pct", o.NKPct, *m.NKPct})
	}
	if m.TPct != nil {
		changes = append(changes, change{"t_pct", o.TPct, *m.TPct})
	}
	for _, name := range slices.Sorted(maps.Keys(m.Markers)) {
		var old *float64
		if v, ok := o.Markers[name]; ok {
			old = &v
		}
		changes = append(changes, change{"markers." + name, old, m.Markers[name]})
	}
	var clash []string
	var changed []string
	for _, c := range changes {
		switch {
		case c.old == nil:
			changed = append(changed, c.field)
		case *c.old == c.new:
		default:
			changed = append(changed, c.field)
			if !replace {
				clash = append(clash, fmt.Sprintf("%s (%g recorded, %g from the file)", c.field, *c.old, c.new))
			}
		}
	}
	if len(clash) > 0 {
		return nil, Errorf(ECONFLICT, "observation %d already has a value from another source for %s; attach with replace to overwrite it",
			o.ID, strings.Join(clash, ", "))
	}
	for _, c := range changes {
		v := c.new
		switch c.field {
		case "nk_pct":
			o.NKPct = &v
		case "t_pct":
			o.TPct = &v
		default:
			if o.Markers == nil {
				o.Markers = map[string]float64{}
			}
			o.Markers[strings.TrimPrefix(c.field, "markers.")] = v
		}
	}
	return changed, nil
}

// templateNameRE allows names people type: letters, digits, spaces and common punctuation,
// but not "@", which separates a name from its version in a reference (NAME@VERSION).
var templateNameRE = regexp.MustCompile(`^[^@\x00-\x1f\x7f]+$`)

// GatingTemplate is one version of a site's gating template: a Gating-ML 2.0 document and the
// mapping of its gates to an observation's measures. Versions are numbered per name, as
// protocols are; a version that any FCS attachment used is immutable (InUse), and a template
// is voided, never deleted.
type GatingTemplate struct {
	ID          int64  `json:"id"`
	Site        string `json:"site"`
	Name        string `json:"name"`
	Version     int    `json:"version"`
	Description string `json:"description"`
	// GatingML is the Gating-ML 2.0 XML document, as uploaded.
	GatingML string      `json:"gating_ml"`
	Mapping  GateMapping `json:"mapping"`
	// InUse is set by the store when an FCS attachment used this version.
	InUse      bool   `json:"in_use"`
	Voided     bool   `json:"voided"`
	VoidReason string `json:"void_reason,omitempty"`
	Meta
}

// Ref is how people name a template version: "NAME@VERSION".
func (t *GatingTemplate) Ref() string { return fmt.Sprintf("%s@%d", t.Name, t.Version) }

// Normalize fills an empty marker mapping so that equal templates compare equal.
func (t *GatingTemplate) Normalize() {
	if t.Mapping.Markers == nil {
		t.Mapping.Markers = map[string]string{}
	}
}

// Validate checks the template's own fields. That its Gating-ML document parses and that the
// mapped gates are in it is checked by flow.CheckTemplate, which parses it (with
// GateMapping.CheckGates); stores leave that to the flow service.
func (t *GatingTemplate) Validate() error {
	var fe FieldErrors
	if !siteCodeRE.MatchString(t.Site) {
		fe.Addf("site", "%q is not a site code", t.Site)
	}
	switch {
	case strings.TrimSpace(t.Name) == "":
		fe.Addf("name", "is required")
	case strings.TrimSpace(t.Name) != t.Name:
		fe.Addf("name", "%q has spaces around it", t.Name)
	case len(t.Name) > 100:
		fe.Addf("name", "is longer than 100 characters")
	case !utf8.ValidString(t.Name) || !templateNameRE.MatchString(t.Name):
		fe.Addf("name", "%q may not contain @ (it separates a name from its version) or control characters", t.Name)
	}
	if t.Version < 0 {
		fe.Addf("version", "%d is negative", t.Version)
	}
	switch {
	case strings.TrimSpace(t.GatingML) == "":
		fe.Addf("gating_ml", "is required: the Gating-ML 2.0 XML document")
	case len(t.GatingML) > MaxGatingMLBytes:
		fe.Addf("gating_ml", "is %d bytes, more than the %d allowed", len(t.GatingML), MaxGatingMLBytes)
	}
	t.Mapping.validate(&fe)
	if len(t.Description) > 4000 {
		fe.Addf("description", "is longer than 4000 characters")
	}
	return fe.Err()
}

// TemplateRef is a gating template as a user names it: the latest valid version of a name
// (Version 0), or one version.
type TemplateRef struct {
	Name    string
	Version int
}

// ParseTemplateRef reads "NAME" or "NAME@VERSION".
func ParseTemplateRef(s string) (TemplateRef, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return TemplateRef{}, Invalid("template", "is required: a template NAME or NAME@VERSION")
	}
	name, ver, found := strings.Cut(s, "@")
	if !found {
		return TemplateRef{Name: s}, nil
	}
	v, err := strconv.Atoi(ver)
	if err != nil || v < 1 || strings.TrimSpace(name) == "" {
		return TemplateRef{}, Invalid("template", "%q is not NAME or NAME@VERSION (a version is a whole number from 1)", s)
	}
	return TemplateRef{Name: strings.TrimSpace(name), Version: v}, nil
}

func (r TemplateRef) String() string {
	if r.Version == 0 {
		return r.Name
	}
	return fmt.Sprintf("%s@%d", r.Name, r.Version)
}

// FCSFile is an FCS file as stored: once per content, named by the hex SHA-256 of its bytes.
type FCSFile struct {
	SHA256    string    `json:"sha256"`
	Size      int64     `json:"size"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
}

// SHA256Hex returns the hex SHA-256 of data, the name of an FCS file.
func SHA256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

var sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// CheckSHA256 checks that s is a hex SHA-256 in lower case, as files are named.
func CheckSHA256(s string) error {
	if !sha256RE.MatchString(s) {
		return Invalid("sha256", "%q is not a SHA-256 in hex (64 lower-case hex digits)", s)
	}
	return nil
}

// FCSAttachment records that a data set of an FCS file was gated with a template version and
// what it gave an observation: the provenance of the observation's flow measures. Attachments
// are never changed.
type FCSAttachment struct {
	ID            int64  `json:"id"`
	ObservationID int64  `json:"observation_id"`
	Culture       string `json:"culture"` // the observation's culture code
	Site          string `json:"site"`
	SHA256        string `json:"sha256"`
	// FileName is the file's name as uploaded (base name only).
	FileName        string `json:"file_name"`
	Size            int64  `json:"size"`
	TemplateID      int64  `json:"template_id"`
	TemplateName    string `json:"template_name"`
	TemplateVersion int    `json:"template_version"`
	// DataSet is the data set of the file that was read, from 0; Events its number of events.
	DataSet  int          `json:"data_set"`
	Events   int          `json:"events"`
	Measures FlowMeasures `json:"measures"`
	// Changed lists the observation's fields whose value the attachment set or replaced
	// ("nk_pct", "markers.CD16"); a field that already held the computed value is not listed.
	Changed   []string  `json:"changed"`
	Replace   bool      `json:"replace"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
}

// FCSUpload asks for one FCS file to be attached to an observation. A caller fills the
// fields up to Replace and hands the upload to flow.Service.Attach, which gates the file and
// passes the store a copy with Gating filled: a store's AttachFCS only writes, and needs it.
type FCSUpload struct {
	ObservationID int64
	// FileName is the file's original name; only its base name is kept.
	FileName string
	Data     []byte
	// Template names the gating template: NAME (its latest valid version) or NAME@VERSION.
	Template string
	// DataSet chooses the data set of a file holding several, from 0.
	DataSet int
	// Replace lets the file's values overwrite values already recorded from another source.
	Replace bool

	// Gating is what gating the file computed, set by flow.Service.Attach before anything
	// is written; nil until then.
	Gating *FCSGating
}

// FCSGating is the data set of an upload gated with one template version: the template as it
// was read before gating, and the measures it gave. A store writes the attachment only when
// that version is still the stored one, not void, and the measures are consistent with its
// mapping (GateMapping.CheckMeasures); otherwise nothing is written.
type FCSGating struct {
	// TemplateID is the id of the template version that gated the file, and TemplateUpdatedAt
	// its UpdatedAt when it was read: a version edited since gives ECONFLICT.
	TemplateID        int64
	TemplateUpdatedAt time.Time
	// Measures are the measures of the data set; Measures.Events is its event count, which
	// the attachment records.
	Measures FlowMeasures
}

// Validate checks the upload's own fields; maxBytes bounds the file (0 means
// DefaultMaxFCSBytes).
func (u *FCSUpload) Validate(maxBytes int64) error {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxFCSBytes
	}
	var fe FieldErrors
	if u.ObservationID <= 0 {
		fe.Addf("observation_id", "is required")
	}
	name := BaseFileName(u.FileName)
	switch {
	case name == "":
		fe.Addf("file_name", "is required: the FCS file's name")
	case len(name) > 255:
		fe.Addf("file_name", "is longer than 255 bytes")
	case !utf8.ValidString(name) || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		fe.Addf("file_name", "%q is not a file name (control characters or invalid UTF-8)", name)
	}
	switch {
	case len(u.Data) == 0:
		fe.Addf("file", "%s is empty: an FCS file is required", name)
	case int64(len(u.Data)) > maxBytes:
		fe.Addf("file", "%s is %d bytes, more than the %d allowed", name, len(u.Data), maxBytes)
	}
	if _, err := ParseTemplateRef(u.Template); err != nil {
		fe = append(fe, ErrorFields(err)...)
	}
	if u.DataSet < 0 || u.DataSet > 10000 {
		fe.Addf("dataset", "%d is not a data set number (0 is the first)", u.DataSet)
	}
	return fe.Err()
}

// BaseFileName returns the last element of a file name given with a path of either
// operating system's form ("C:\data\x.fcs" and "data/x.fcs" both give "x.fcs").
func BaseFileName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	return strings.TrimSpace(name)
}

// FCSReason is the reason of the observation correction an attachment makes.
func FCSReason(fileName, sha string, t *GatingTemplate) string {
	return fmt.Sprintf("from FCS %s sha256 %s template %s", fileName, sha, t.Ref())
}

// GatingTemplateFilter selects gating template versions. Empty fields do not filter; voided
// versions are listed too (they carry Voided).
type GatingTemplateFilter struct {
	Site string
	Name string
	Page
}

// FCSAttachmentFilter selects FCS attachments. Zero fields do not filter.
type FCSAttachmentFilter struct {
	ObservationID int64
	SHA256        string
	Page
}
