package http

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/gmp"
	"github.com/clink-consortium/clink/manufacturing"
)

// The batch page (/batches/{id}): where the batch stands, its identifiers, each step of the
// master record with its ranges and every entry (corrections shown struck out with their
// reasons, nothing hidden), the results against the specification, the dose calculation, the
// deviations, the signatures and refused signing attempts, the custody scans, and the forms
// of whoever may add to the record. Every form posts to its own route; a refused form comes
// back on the page with its messages next to its fields and what was typed (422, or 409 when
// the batch's state refuses it), and an accepted one redirects to the page (303).

// reagentRows is the number of reagent rows of a step form (empty rows are ignored).
const reagentRows = 3

// The keys of the batch page's forms, which say which form a refusal belongs to.
const (
	deviationFormKey = "deviation"
	signFormKey      = "sign"
	scanFormKey      = "scan"
)

func stepFormKey(step string) string   { return "step:" + step }
func resultFormKey(test string) string { return "result:" + test }

// fieldView is one control of a form on the batch page, with everything the template needs:
// its name (the service's field name), a unique id, its label, what it holds and its message.
type fieldView struct {
	Name, ID, Label, Type, Value, Error, Hint string
	Inputmode, Autocomplete                   string
	Options                                   []option // a select's choices
	Checked                                   bool     // a checkbox
}

// fieldGroup is a set of fields shown together, in a fieldset when it has a legend.
type fieldGroup struct {
	Legend string
	Fields []fieldView
}

// hiddenField is a hidden input.
type hiddenField struct{ Name, Value string }

// formView is a form of the batch page.
type formView struct {
	ID, Action, Submit, Summary string
	// Message is the refusal's summary and Other the messages of fields without an input.
	Message string
	Other   []clink.FieldError
	Hidden  []hiddenField
	Groups  []fieldGroup
	// Open says that the form is shown unfolded: a refused form, or the next step's.
	Open bool
	f    form
}

func newFormView(id, action, submit string, f form) *formView {
	if f.Values == nil {
		f = newForm()
	}
	return &formView{ID: id, Action: action, Submit: submit, Message: f.Message, Open: f.Message != "" || len(f.Errors) > 0, f: f}
}

var idUnsafe = strings.NewReplacer(".", "-", "[", "-", "]", "", " ", "-", "/", "-")

// field returns the control name of the form, with the value typed and its message.
func (v *formView) field(name, label, typ string) fieldView {
	return fieldView{Name: name, ID: v.ID + "-" + idUnsafe.Replace(name), Label: label, Type: typ, Value: v.f.Values[name], Error: v.f.Errors[name]}
}

func (v *formView) group(legend string, fields ...fieldView) {
	v.Groups = append(v.Groups, fieldGroup{legend, fields})
}

func (v *formView) hidden(name, value string) { v.Hidden = append(v.Hidden, hiddenField{name, value}) }

// done lists the messages of fields that have no input of their own (the step's order, a
// custody scan's refusal, the tests of a deviation).
func (v *formView) done() {
	shown := map[string]bool{}
	for _, g := range v.Groups {
		for _, f := range g.Fields {
			if f.Type != "checkbox" {
				shown[f.Name] = true
			}
		}
	}
	for k, msg := range v.f.Errors {
		if !shown[k] {
			v.Other = append(v.Other, clink.FieldError{Field: k, Message: msg})
		}
	}
	slices.SortFunc(v.Other, func(a, b clink.FieldError) int { return strings.Compare(a.Field, b.Field) })
}

// batchPageData is the data of the batch page.
type batchPageData struct {
	B              *clink.Batch
	Request        *clink.TreatmentRequest
	Weight         string
	Status, Next   string
	Assessment     string
	Missing        []string
	DIN, Check     string
	COI, COICheck  string
	RecordHash     string
	Certificate    string
	Labels         []labelLink
	Steps          []stepView
	Tests          []testView
	ResultEntries  []resultEntryView
	Dose           *gmp.Dose
	DoseLimitedBy  string
	DoseProblem    string
	Deviations     []deviationView
	DeviationForm  *formView
	Signatures     []signatureView
	Refusals       []refusalView
	SignForm       *formView
	Custody        []custodyView
	ScanForm       *formView
	NextEvents     string
	CanManufacture bool
	Message        string // a refusal whose form is not on the page
	Released       bool
}

// labelLink links the label of one bag.
type labelLink struct{ Href, Text string }

// stepView is one step of the master record with its entries and its form.
type stepView struct {
	N         int
	Step      clink.MasterStep
	Anchor    string
	Fields    []stepFieldView
	Recorded  bool
	Corrected bool
	Entries   []stepEntryView
	Form      *formView
}

// stepFieldView is one value of a step: its range and the value in force.
type stepFieldView struct {
	Name, Range, Expected, Value string
	Out                          bool
}

// stepEntryView is one entry of a step, in force or corrected.
type stepEntryView struct {
	ID                int64
	By, At, Performed string
	Equipment         string
	Reagents          []clink.ReagentLot
	Values            []stepFieldView
	Deviation, CAPA   string
	Comment           string
	Superseded        bool
	SupersededBy      int64
	Supersedes        int64
	Reason            string
	OutOfRange        bool
}

// testView is one line of the specification with its verdict and its form.
type testView struct {
	gmp.TestAssessment
	Anchor    string
	Result    string
	Kind      string // hard, soft or "" for a reported line
	Derived   bool
	Corrected bool
	Form      *formView
}

// resultEntryView is one result entry, in force or corrected.
type resultEntryView struct {
	ID                       int64
	Test, Result, By, At     string
	Superseded               bool
	SupersededBy, Supersedes int64
	Reason                   string
}

type deviationView struct {
	EntryID                     int64
	Step, Description, CAPA, By string
	At                          string
	Tests                       []string
}

type signatureView struct {
	EntryID                            int64
	PrintedName, Username, Meaning, At string
	Reason, Status                     string
	Outstanding                        []string
	Invalid, Changed                   bool
}

type refusalView struct {
	EntryID                    int64
	At, Username, Meaning, Why string
}

type custodyView struct {
	EntryID              int64
	At, Event, Place, By string
	DIN, Product, COI    string
	Accepted             bool
	Refusal              string
}

// batchPage shows the batch record.
func (s *Server) batchPage(w http.ResponseWriter, r *http.Request) error {
	id, err := numericID(r, "id", "batch")
	if err != nil {
		return err
	}
	return s.renderBatch(w, r, http.StatusOK, id, "", form{})
}

// renderBatch shows the batch page, with the form of key showing f (a refused form).
func (s *Server) renderBatch(w http.ResponseWriter, r *http.Request, status int, id int64, key string, f form) error {
	st, err := s.mfg.Load(r.Context(), id)
	if err != nil {
		return err
	}
	d := s.batchView(r, st, key, f)
	return s.render(w, r, status, "batch", page{Title: "Batch " + st.Batch.Lot, Nav: navMfg, Data: d})
}

// assessmentWords says the specification's verdict in words.
func assessmentWords(status string) string {
	switch status {
	case gmp.Releasable:
		return "within specification"
	case gmp.NeedsDeviation:
		return "out of a soft limit: a deviation and the QP's reason are needed"
	case gmp.Blocked:
		return "out of a hard limit: the batch cannot be released"
	case gmp.Incomplete:
		return "incomplete: results are missing"
	}
	return status
}

// rangeText writes a step field's range, exactly as the master record states it.
func rangeText(f clink.StepField) string {
	unit := ""
	if f.Unit != "" {
		unit = " " + f.Unit
	}
	switch {
	case f.Min != nil && f.Max != nil:
		return exactNum(*f.Min) + " to " + exactNum(*f.Max) + unit
	case f.Min != nil:
		return "≥ " + exactNum(*f.Min) + unit
	case f.Max != nil:
		return "≤ " + exactNum(*f.Max) + unit
	}
	return "any"
}

// withUnit appends a unit to a number written out.
func withUnit(s, unit string) string {
	if unit == "" {
		return s
	}
	return s + " " + unit
}

// batchView builds the batch page from the batch's state for the request's user; the form of
// key shows f.
func (s *Server) batchView(r *http.Request, st *manufacturing.State, key string, f form) *batchPageData {
	u := UserFrom(r.Context())
	b := st.Batch
	used := false
	take := func(k string) form {
		if k == key {
			used = true
			return f
		}
		return newForm()
	}
	released := b.Status == clink.BatchReleased || b.Status == clink.BatchReleasedConditional
	d := &batchPageData{B: b, Request: st.Request, Weight: exactNum(st.Request.WeightKg), Status: statusWords(b.Status),
		Next: nextWords(st.Next), Assessment: assessmentWords(st.Assessment.Status), Missing: st.Missing,
		Certificate: fmt.Sprintf("%s/batches/%d/certificate", apiPrefix, b.ID), Released: released}
	d.RecordHash = st.RecordHash
	if len(d.RecordHash) > 16 {
		d.RecordHash = d.RecordHash[:16] + "…"
	}
	d.DIN, d.Check = dinParts(b)
	d.COI = b.COI
	if coi, err := gmp.ParseCOI(b.COI); err == nil {
		d.COICheck = string(coi.Check())
	}
	writable := b.Status == clink.BatchInProcess || b.Status == clink.BatchReviewed
	d.CanManufacture = u != nil && permits(u, PermManufacture, b.Site)
	action := func(what string) string { return fmt.Sprintf("/batches/%d/%s", b.ID, what) }

	// The steps, with their entries.
	opened := false
	for i, ms := range b.Steps {
		sv := stepView{N: i + 1, Step: ms, Anchor: "step-" + ms.Key}
		cur := st.Steps[ms.Key]
		sv.Recorded, sv.Corrected = cur != nil, cur != nil && cur.Corrected
		for _, fl := range ms.Fields {
			fv := stepFieldView{Name: fl.Name, Range: rangeText(fl), Expected: fl.Expected}
			if cur != nil {
				if v, ok := cur.Data.Values[fl.Key]; ok {
					fv.Value = withUnit(exactNum(v), fl.Unit)
					fv.Out = slices.Contains(cur.Data.OutOfRange, fl.Key)
				}
			}
			sv.Fields = append(sv.Fields, fv)
		}
		for _, e := range st.Entries {
			if e.Kind == clink.EntryStep && e.Key == ms.Key {
				sv.Entries = append(sv.Entries, s.stepEntryView(ms, e))
			}
		}
		if d.CanManufacture && writable {
			sv.Form = s.stepForm(b, ms, cur, take(stepFormKey(ms.Key)))
			if cur == nil && !opened {
				sv.Form.Open, opened = true, true
			}
		}
		d.Steps = append(d.Steps, sv)
	}

	// The results against the specification.
	limits := map[string]gmp.Limit{}
	names := map[string]string{}
	for _, l := range st.Spec.Limits {
		limits[l.Test], names[l.Test] = l, l.Name
	}
	for _, ta := range st.Assessment.Tests {
		tv := testView{TestAssessment: ta, Anchor: "test-" + ta.Test, Derived: manufacturing.Derived(ta.Test)}
		tv.Result = resultText(ta, tv.Derived)
		if !limits[ta.Test].Reported() {
			tv.Kind = "soft"
			if ta.Hard {
				tv.Kind = "hard"
			}
		}
		re := st.Results[ta.Test]
		tv.Corrected = re != nil && re.Corrected
		late := b.Status == clink.BatchReleasedConditional && re == nil && slices.Contains(st.Assessment.Outstanding, ta.Test)
		if !tv.Derived && d.CanManufacture && (writable || late) {
			tv.Form = s.resultForm(b, limits[ta.Test], re, take(resultFormKey(ta.Test)))
		}
		d.Tests = append(d.Tests, tv)
	}
	for _, e := range st.Entries {
		if e.Kind != clink.EntryResult {
			continue
		}
		var rd clink.ResultData
		if e.Decode(&rd) != nil {
			continue
		}
		res := rd.Text
		if rd.Value != nil {
			res = withUnit(exactNum(*rd.Value), rd.Unit)
			if rd.Text != "" {
				res += " (" + rd.Text + ")"
			}
		}
		name := names[e.Key]
		if name == "" {
			name = e.Key
		}
		d.ResultEntries = append(d.ResultEntries, resultEntryView{ID: e.ID, Test: name, Result: res, By: e.CreatedBy, At: s.zoned(e.CreatedAt),
			Superseded: e.SupersededBy != 0, SupersededBy: e.SupersededBy, Supersedes: e.Supersedes, Reason: e.Reason})
	}

	// The dose.
	d.Dose, d.DoseProblem = st.Dose, st.DoseProblem
	if st.Dose != nil {
		d.DoseLimitedBy = map[string]string{gmp.LimitNKTarget: "the NK target", gmp.LimitTCellCap: "the T-cell cap",
			gmp.LimitAvailable: "the volume available", gmp.LimitMaxVolume: "the maximum volume"}[st.Dose.LimitedBy]
		if released {
			for _, bag := range st.Dose.Bags {
				d.Labels = append(d.Labels, labelLink{fmt.Sprintf("%s/batches/%d/labels/%d", apiPrefix, b.ID, bag.Number),
					fmt.Sprintf("Label of bag %d of %d (%s mL, PDF)", bag.Number, bag.Of, exactNum(bag.VolumeML))})
			}
		}
	}

	// Deviations.
	for _, dv := range st.Deviations {
		v := deviationView{EntryID: dv.EntryID, Description: dv.Description, CAPA: dv.CAPA, By: dv.By, At: s.zoned(dv.At)}
		if ms, ok := b.Step(dv.Step); ok {
			v.Step = ms.Name
		}
		for _, t := range dv.Tests {
			v.Tests = append(v.Tests, cmpOr(names[t], t))
		}
		d.Deviations = append(d.Deviations, v)
	}
	if d.CanManufacture && writable {
		v := newFormView("deviation-form", action("deviations"), "Raise the deviation", take(deviationFormKey))
		v.Summary = "Raise a deviation"
		v.group("", v.field("description", "What happened", "textarea"), v.field("capa", "Corrective action (CAPA) reference", "text"))
		chosen := strings.Split(v.f.Values["tests"], ",")
		var boxes []fieldView
		for _, l := range st.Spec.Limits {
			fv := fieldView{Name: "tests", ID: "deviation-form-tests-" + l.Test, Label: l.Name, Type: "checkbox", Value: l.Test,
				Checked: slices.Contains(chosen, l.Test)}
			boxes = append(boxes, fv)
		}
		v.group("Specification tests it concerns", boxes...)
		v.done()
		d.DeviationForm = v
	}

	// Signatures and refused attempts.
	for _, sg := range st.Signatures {
		sd := sg.Data
		v := signatureView{EntryID: sg.EntryID, PrintedName: sd.PrintedName, Username: sd.Username, Meaning: sd.Meaning,
			At: s.zoned(sd.SignedAt), Reason: sd.Reason, Status: assessmentWords(sd.Status), Invalid: !sg.Valid, Changed: sg.Changed}
		for _, t := range sd.Outstanding {
			v.Outstanding = append(v.Outstanding, cmpOr(names[t], t))
		}
		d.Signatures = append(d.Signatures, v)
	}
	for _, e := range st.Refusals {
		var rd clink.SignatureRefusedData
		if e.Decode(&rd) != nil {
			continue
		}
		d.Refusals = append(d.Refusals, refusalView{EntryID: e.ID, At: s.zoned(e.CreatedAt), Username: rd.Username, Meaning: rd.Meaning, Why: rd.Why})
	}
	if u != nil && permits(u, PermSign, "") && writable {
		d.SignForm = s.signForm(r, u, b, take(signFormKey))
	}

	// Custody.
	var history []gmp.Event
	for _, c := range st.Custody {
		cd := c.Data
		d.Custody = append(d.Custody, custodyView{EntryID: c.EntryID, At: s.zoned(cd.At), Event: cd.Event, Place: cd.Place, By: c.By,
			DIN: cd.DIN, Product: cd.Product, COI: cd.COI, Accepted: cd.Accepted, Refusal: cd.Refusal})
		if cd.Accepted {
			history = append(history, gmp.Event(cd.Event))
		}
	}
	if next, err := gmp.NextEvents(history, st.Request.Cryopreserved); err == nil {
		parts := make([]string, len(next))
		for i, e := range next {
			parts[i] = string(e)
		}
		d.NextEvents = strings.Join(parts, ", ")
	}
	if released && u != nil && (roleAt(u, clink.RoleOperator, b.Site) || roleAt(u, clink.RoleClinician, b.Hospital)) {
		v := newFormView("scan-form", action("custody"), "Record the scan", take(scanFormKey))
		v.Summary = "Scan a bag"
		v.Open = true
		ev := v.field("event", "Event", "select")
		ev.Options = []option{{"", "—"}}
		for _, e := range gmp.Events() {
			ev.Options = append(ev.Options, option{string(e), string(e)})
		}
		if d.NextEvents != "" {
			ev.Hint = "Next allowed: " + d.NextEvents
		}
		place := v.field("place", "Place", "text")
		din := v.field("din", "DIN (scanned, or typed with its check character)", "text")
		prod := v.field("product", "Product code", "text")
		coi := v.field("coi", "Chain-of-identity code", "text")
		rec := v.field("recipient", "Recipient's code (wristband, at the bedside)", "text")
		for _, fv := range []*fieldView{&din, &prod, &coi, &rec} {
			fv.Autocomplete = "off"
		}
		v.group("", ev, place)
		v.group("What the scanner read", din, prod, coi, rec)
		v.done()
		d.ScanForm = v
	}
	if key != "" && !used {
		msg := []string{f.Message}
		for _, fe := range clink.ErrorFields(errorOf(f)) {
			msg = append(msg, fe.Field+": "+fe.Message)
		}
		d.Message = strings.Join(msg, "; ")
	}
	return d
}

// refuseForm is form.refuse with a summary that says what was refused, in place of the bare
// "invalid input" of field errors.
func refuseForm(f *form, err error, what string) bool {
	if !f.refuse(err) {
		return false
	}
	if len(f.Errors) > 0 && f.Message == "invalid input" {
		f.Message = what + ": see the messages next to the fields."
	}
	return true
}

// errorOf returns the messages of a refused form as field errors, in name order.
func errorOf(f form) error {
	var fe clink.FieldErrors
	keys := make([]string, 0, len(f.Errors))
	for k := range f.Errors {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fe.Addf(k, "%s", f.Errors[k])
	}
	return fe.Err()
}

// cmpOr returns a unless it is empty, else b.
func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// resultText writes a test's result as compared: entered values exactly, calculated ones to
// three digits, with the amount in the dose beside a per-kg value.
func resultText(ta gmp.TestAssessment, derived bool) string {
	num := exactNum
	if derived {
		num = func(x float64) string { return fmtNum(x) }
	}
	switch {
	case ta.Value != nil:
		s := withUnit(num(*ta.Value), ta.Unit)
		if ta.Measured != nil && *ta.Measured != *ta.Value {
			s += " (" + num(*ta.Measured) + " in the dose)"
		}
		return s
	case ta.Text != "":
		return ta.Text
	}
	return "—"
}

// stepEntryView describes a step entry.
func (s *Server) stepEntryView(ms clink.MasterStep, e *clink.BatchEntry) stepEntryView {
	v := stepEntryView{ID: e.ID, By: e.CreatedBy, At: s.zoned(e.CreatedAt), Superseded: e.SupersededBy != 0,
		SupersededBy: e.SupersededBy, Supersedes: e.Supersedes, Reason: e.Reason}
	var sd clink.StepData
	if e.Decode(&sd) != nil {
		return v
	}
	v.Performed, v.Equipment, v.Reagents = s.zoned(sd.PerformedAt), sd.Equipment, sd.Reagents
	v.Deviation, v.CAPA, v.Comment = sd.Deviation, sd.CAPA, sd.Comment
	v.OutOfRange = len(sd.OutOfRange) > 0
	for _, fl := range ms.Fields {
		if x, ok := sd.Values[fl.Key]; ok {
			v.Values = append(v.Values, stepFieldView{Name: fl.Name, Value: withUnit(exactNum(x), fl.Unit), Out: slices.Contains(sd.OutOfRange, fl.Key)})
		}
	}
	return v
}

// localTimeLayout is how a datetime-local input writes a time.
const localTimeLayout = "2006-01-02T15:04"

// stepForm is the form of a step: to record it, or to correct the entry in force (cur) with
// a reason, its values filled in.
func (s *Server) stepForm(b *clink.Batch, ms clink.MasterStep, cur *manufacturing.StepEntry, f form) *formView {
	refused := f.Message != "" || len(f.Errors) > 0
	if cur != nil && !refused {
		f = newForm()
		sd := cur.Data
		for k, x := range sd.Values {
			f.Values["values."+k] = inputNum(x)
		}
		f.Values["performed_at"] = sd.PerformedAt.In(s.mfg.Config.Location).Format(localTimeLayout + ":05")
		f.Values["equipment"], f.Values["deviation"], f.Values["capa"], f.Values["comment"] = sd.Equipment, sd.Deviation, sd.CAPA, sd.Comment
		for i, rl := range sd.Reagents {
			if i < reagentRows {
				p := fmt.Sprintf("reagents[%d].", i)
				f.Values[p+"name"], f.Values[p+"lot"], f.Values[p+"expiry"] = rl.Name, rl.Lot, rl.Expiry
			}
		}
	}
	v := newFormView("step-"+ms.Key+"-form", fmt.Sprintf("/batches/%d/steps", b.ID), "Record the step", f)
	v.Summary = "Record " + ms.Name
	v.hidden("step", ms.Key)
	if cur != nil {
		v.hidden("supersedes", strconv.FormatInt(cur.Entry.ID, 10))
		v.Submit, v.Summary = "Correct the entry", fmt.Sprintf("Correct entry #%d", cur.Entry.ID)
	}
	var values []fieldView
	for _, fl := range ms.Fields {
		fv := v.field("values."+fl.Key, withUnitLabel(fl.Name, fl.Unit), "text")
		fv.Inputmode = "decimal"
		fv.Hint = "Range " + rangeText(fl)
		if fl.Expected != "" {
			fv.Hint += "; expected " + fl.Expected
		}
		values = append(values, fv)
	}
	v.group("Values", values...)
	at := v.field("performed_at", "Performed at (facility time; empty for now)", "datetime-local")
	v.group("", at, v.field("equipment", "Equipment", "text"))
	if ms.Reagents {
		for i := range reagentRows {
			p := fmt.Sprintf("reagents[%d].", i)
			v.group(fmt.Sprintf("Reagent %d", i+1), v.field(p+"name", "Reagent", "text"), v.field(p+"lot", "Lot", "text"), v.field(p+"expiry", "Expiry", "date"))
		}
	}
	v.group("Deviation (needed for a value out of its range)", v.field("deviation", "What happened", "textarea"),
		v.field("capa", "Corrective action (CAPA) reference", "text"))
	v.group("", v.field("comment", "Comment", "textarea"))
	if cur != nil {
		v.group("", v.field("reason", "Reason for the correction", "textarea"))
	}
	v.done()
	return v
}

// withUnitLabel writes a label with its unit: "Viability (%)".
func withUnitLabel(name, unit string) string {
	if unit == "" {
		return name
	}
	return name + " (" + unit + ")"
}

// resultForm is the form of a test's result: to enter it, or to correct the entry in force
// (cur) with a reason.
func (s *Server) resultForm(b *clink.Batch, l gmp.Limit, cur *manufacturing.ResultEntry, f form) *formView {
	refused := f.Message != "" || len(f.Errors) > 0
	if cur != nil && !refused {
		f = newForm()
		if cur.Data.Value != nil {
			f.Values["value"] = inputNum(*cur.Data.Value)
		}
		f.Values["text"] = cur.Data.Text
	}
	v := newFormView("result-"+l.Test+"-form", fmt.Sprintf("/batches/%d/results", b.ID), "Enter the result", f)
	v.Summary = "Enter " + l.Name
	v.hidden("test", l.Test)
	var fv fieldView
	if l.Expect != "" {
		fv = v.field("text", l.Name, "text")
		fv.Hint = "Conforming: " + l.Expect
	} else {
		fv = v.field("value", withUnitLabel(l.Name, l.Unit), "text")
		fv.Inputmode = "decimal"
		fv.Hint = "Limit: " + l.String()
	}
	if l.Method != "" {
		fv.Hint += "; method: " + l.Method
	}
	v.group("", fv)
	if cur != nil {
		v.hidden("supersedes", strconv.FormatInt(cur.Entry.ID, 10))
		v.Submit, v.Summary = "Correct the result", fmt.Sprintf("Correct %s (entry #%d)", l.Name, cur.Entry.ID)
		v.group("", v.field("reason", "Reason for the correction", "textarea"))
	}
	v.done()
	return v
}

// signForm is the signing form of a QA reviewer or a QP: the meaning, the reason, and the
// credentials again: the user name and the password for the first signature of the web
// session or after signWindow without one, the password alone otherwise (gmp.md §3 S4, S5).
func (s *Server) signForm(r *http.Request, u *clink.User, b *clink.Batch, f form) *formView {
	v := newFormView("sign-form", fmt.Sprintf("/batches/%d/signatures", b.ID), "Sign", f)
	v.Summary, v.Open = "Sign the record", true
	m := v.field("meaning", "Meaning of the signature", "select")
	m.Options = []option{{"", "—"}}
	if u.HasRole(clink.RoleQA) {
		m.Options = append(m.Options, option{clink.MeaningReviewed, "reviewed: QA reviewed the record"})
	}
	if u.HasRole(clink.RoleQP) {
		m.Options = append(m.Options, option{clink.MeaningReleased, "released: certified for release by the QP"})
	}
	m.Options = append(m.Options, option{clink.MeaningRejected, "rejected: the batch is rejected"})
	reason := v.field("reason", "Reason (to reject, or to release out of a soft limit)", "textarea")
	v.group("", m, reason)
	var creds []fieldView
	if !s.signs.passwordOnly(signKey(r), u.Username, s.pageNow()) {
		name := v.field("username", "User name", "text")
		name.Autocomplete = "off"
		creds = append(creds, name)
	}
	pw := v.field("password", "Password", "password")
	pw.Value, pw.Autocomplete = "", "off"
	pw.Hint = fmt.Sprintf("You sign as %s; the signature is bound to the record as it is now.", u.FullName)
	creds = append(creds, pw)
	v.group("Your credentials, entered again", creds...)
	v.done()
	return v
}

// pageBatch returns the batch of the path.
func (s *Server) pageBatch(r *http.Request) (*clink.Batch, error) {
	id, err := numericID(r, "id", "batch")
	if err != nil {
		return nil, err
	}
	return s.store.FindBatchByID(r.Context(), id)
}

// manufacturedBatch returns the batch of the path after checking that the user may write its
// record (an operator of its site) and reads the posted form.
func (s *Server) manufacturedBatch(w http.ResponseWriter, r *http.Request) (*clink.Batch, error) {
	b, err := s.pageBatch(r)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(r, b.Site); err != nil {
		return nil, err
	}
	return b, parsePageForm(w, r)
}

var reagentErrRE = regexp.MustCompile(`^reagents\[(\d+)\]`)

// readLocalTime reads a datetime-local input as a time of the facility's zone; empty is the
// zero time.
func (s *Server) readLocalTime(fr *formReader, name string) time.Time {
	v := fr.str(name)
	if v == "" {
		return time.Time{}
	}
	for _, layout := range []string{localTimeLayout, localTimeLayout + ":05"} {
		if t, err := time.ParseInLocation(layout, v, s.mfg.Config.Location); err == nil {
			return t
		}
	}
	fr.fe.Addf(name, "%q is not a date and time (YYYY-MM-DDTHH:MM)", v)
	return time.Time{}
}

// recordStepForm records a step, or corrects its entry in force (supersedes, with a reason).
func (s *Server) recordStepForm(w http.ResponseWriter, r *http.Request) error {
	b, err := s.manufacturedBatch(w, r)
	if err != nil {
		return err
	}
	key := strings.TrimSpace(r.PostForm.Get("step"))
	ms, ok := b.Step(key)
	if !ok {
		return clink.Invalid("step", "%q is not a step of the record of batch %s", key, b.Lot)
	}
	f := newForm()
	fr := formReader{r: r, f: &f}
	in := manufacturing.StepInput{Step: key, Values: map[string]float64{}, Equipment: fr.str("equipment"), Deviation: fr.str("deviation"),
		CAPA: fr.str("capa"), Comment: fr.str("comment"), Reason: fr.str("reason"), Supersedes: readID(&fr, "supersedes", false)}
	for _, fl := range ms.Fields {
		if x := fr.float("values." + fl.Key); x != nil {
			in.Values[fl.Key] = *x
		}
	}
	in.PerformedAt = s.readLocalTime(&fr, "performed_at")
	var rows []int
	for i := range reagentRows {
		p := fmt.Sprintf("reagents[%d].", i)
		rl := clink.ReagentLot{Name: fr.str(p + "name"), Lot: fr.str(p + "lot"), Expiry: fr.str(p + "expiry")}
		if rl != (clink.ReagentLot{}) {
			in.Reagents = append(in.Reagents, rl)
			rows = append(rows, i)
		}
	}
	err = fr.fe.Err()
	if err == nil {
		_, err = s.mfg.RecordStep(r.Context(), b.ID, in)
		// The service numbers the reagents given; the form's rows may have gaps.
		err = remapFields(err, func(k string) string {
			if m := reagentErrRE.FindStringSubmatchIndex(k); m != nil {
				if i, _ := strconv.Atoi(k[m[2]:m[3]]); i < len(rows) {
					return fmt.Sprintf("reagents[%d]", rows[i]) + k[m[1]:]
				}
			}
			return k
		})
	}
	if err != nil {
		if !refuseForm(&f, err, "The step is not recorded") {
			return err
		}
		return s.renderBatch(w, r, refusedStatus(err), b.ID, stepFormKey(key), f)
	}
	http.Redirect(w, r, fmt.Sprintf("/batches/%d#step-%s", b.ID, key), http.StatusSeeOther)
	return nil
}

// recordResultForm enters a test result, or corrects the entry in force with a reason.
func (s *Server) recordResultForm(w http.ResponseWriter, r *http.Request) error {
	b, err := s.manufacturedBatch(w, r)
	if err != nil {
		return err
	}
	f := newForm()
	fr := formReader{r: r, f: &f}
	in := manufacturing.ResultInput{Test: fr.str("test"), Value: fr.float("value"), Text: fr.str("text"),
		Supersedes: readID(&fr, "supersedes", false), Reason: fr.str("reason")}
	err = fr.fe.Err()
	if err == nil {
		_, err = s.mfg.RecordResult(r.Context(), b.ID, in)
	}
	if err != nil {
		if !refuseForm(&f, err, "The result is not entered") {
			return err
		}
		return s.renderBatch(w, r, refusedStatus(err), b.ID, resultFormKey(in.Test), f)
	}
	http.Redirect(w, r, fmt.Sprintf("/batches/%d#test-%s", b.ID, in.Test), http.StatusSeeOther)
	return nil
}

// raiseDeviationForm raises a deviation on the batch, naming the tests it concerns.
func (s *Server) raiseDeviationForm(w http.ResponseWriter, r *http.Request) error {
	b, err := s.manufacturedBatch(w, r)
	if err != nil {
		return err
	}
	f := newForm()
	fr := formReader{r: r, f: &f}
	dv := clink.DeviationData{Description: fr.str("description"), CAPA: fr.str("capa")}
	for _, t := range r.PostForm["tests"] {
		if t = strings.TrimSpace(t); t != "" {
			dv.Tests = append(dv.Tests, t)
		}
	}
	f.Values["tests"] = strings.Join(dv.Tests, ",")
	if _, err := s.mfg.RaiseDeviation(r.Context(), b.ID, dv); err != nil {
		if !refuseForm(&f, err, "The deviation is not recorded") {
			return err
		}
		return s.renderBatch(w, r, refusedStatus(err), b.ID, deviationFormKey, f)
	}
	http.Redirect(w, r, fmt.Sprintf("/batches/%d#deviations", b.ID), http.StatusSeeOther)
	return nil
}

// signBatchForm signs the batch record as the signed-in user. The credentials asked are
// those the form asked (signForm), decided again here on the server's own record of the
// session: a form that asked only the password, sent after signWindow, is refused with both
// fields shown. An empty password or user name is refused before the service is asked, and
// recorded nowhere; a wrong password, a role or four-eyes refusal is recorded by the service
// in the batch record and the audit trail, and shown on the form.
func (s *Server) signBatchForm(w http.ResponseWriter, r *http.Request) error {
	b, err := s.pageBatch(r)
	if err != nil {
		return err
	}
	if err := parsePageForm(w, r); err != nil {
		return err
	}
	u := UserFrom(r.Context())
	f := newForm()
	fr := formReader{r: r, f: &f}
	in := manufacturing.SignInput{Meaning: fr.str("meaning"), Reason: fr.str("reason"), Password: r.PostForm.Get("password")}
	key, now, ss := signKey(r), s.pageNow(), s.signs
	if ss.passwordOnly(key, u.Username, now) {
		in.Username = u.Username
	} else {
		in.Username = fr.str("username")
		if in.Username == "" {
			fr.fe.Addf("username", "is required: the first signature of a session, or one after %d minutes without signing, needs your user name and password", int(signWindow/time.Minute))
		}
	}
	if in.Password == "" {
		fr.fe.Addf("password", "is required: enter your password again to sign")
	}
	err = fr.fe.Err()
	if err == nil {
		_, err = s.mfg.Sign(r.Context(), b.ID, u, in)
	}
	if err != nil {
		status := refusedStatus(err)
		switch {
		case clink.ErrorCode(err) == clink.EFORBIDDEN:
			// A role or four-eyes refusal: recorded by the service, shown on the form.
			f.Message, status = clink.ErrorMessage(err)+" (the attempt is recorded)", http.StatusForbidden
		case !refuseForm(&f, err, "The signature is refused"):
			return err
		}
		return s.renderBatch(w, r, status, b.ID, signFormKey, f)
	}
	ss.signed(key, u.Username, now)
	http.Redirect(w, r, fmt.Sprintf("/batches/%d#signatures", b.ID), http.StatusSeeOther)
	return nil
}

// scanBatchForm records a custody scan of a released batch's bag: an operator scans at the
// batch's site, a clinician at the patient's hospital. A scan that does not match the chain
// of identity is recorded as refused and shown with its reason (422).
func (s *Server) scanBatchForm(w http.ResponseWriter, r *http.Request) error {
	b, err := s.pageBatch(r)
	if err != nil {
		return err
	}
	if err := s.authorizeCustody(r, b); err != nil {
		return err
	}
	if err := parsePageForm(w, r); err != nil {
		return err
	}
	f := newForm()
	fr := formReader{r: r, f: &f}
	in := manufacturing.ScanInput{Event: fr.str("event"), Place: fr.str("place"), DIN: fr.str("din"), Product: fr.str("product"),
		COI: fr.str("coi"), Recipient: fr.str("recipient")}
	if _, err := s.mfg.Scan(r.Context(), b.ID, in); err != nil {
		if !refuseForm(&f, err, "The scan is refused") {
			return err
		}
		return s.renderBatch(w, r, refusedStatus(err), b.ID, scanFormKey, f)
	}
	http.Redirect(w, r, fmt.Sprintf("/batches/%d#custody", b.ID), http.StatusSeeOther)
	return nil
}
