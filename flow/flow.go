// Package flow gates FCS files with a site's gating template and attaches them to observations:
// it checks a template's Gating-ML document and mapping before a store keeps it, reads the
// data set of an uploaded FCS file (package fcs), applies the gates its mapping needs (package
// gating) and computes the observation's flow measures (clink.GateMapping.Measure), and then
// has the store write the files, the corrected observations and the attachments in one
// transaction.
//
// Gating is pure computation on an upload's bytes and a template's document. It happens
// here, before any write transaction, so that a large file does not hold the database's write
// lock while it is gated; the store then only writes, after checking that the template
// version used is still the stored one. The HTTP API and the command line both call the
// Service, on any clink.Store.
package flow

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/fcs"
	"github.com/clink-consortium/clink/gating"
)

// Service checks gating templates and gates FCS files for a store.
type Service struct {
	Store clink.Store
	// MaxFCSBytes bounds each file Attach gates; zero means clink.DefaultMaxFCSBytes. The
	// store keeps its own bound (sqldb.MaxFCSBytes), which a larger value cannot pass.
	MaxFCSBytes int64
}

// New returns a Service on store with the default file limit.
func New(store clink.Store) *Service { return &Service{Store: store} }

// CreateTemplate checks t (its own fields, then its document and mapping: CheckTemplate) and
// has the store create it: version 1 of a new name or, with Version 0 and a known name, the
// next version of it.
func (s *Service) CreateTemplate(ctx context.Context, t *clink.GatingTemplate) error {
	// The store validates t's own fields too; checking them first reports them before
	// anything about the document, and spares parsing a template that is refused anyway.
	if err := t.Validate(); err != nil {
		return err
	}
	if err := CheckTemplate(t); err != nil {
		return err
	}
	return s.Store.CreateGatingTemplate(ctx, t)
}

// UpdateTemplate checks t's document and mapping (CheckTemplate) and has the store change the
// template version with t's id in place, for reason. The store refuses a version an FCS file
// was gated with, or a void one (ECONFLICT), and fills t's name, version and site when empty.
func (s *Service) UpdateTemplate(ctx context.Context, t *clink.GatingTemplate, reason string) error {
	if err := CheckTemplate(t); err != nil {
		return err
	}
	return s.Store.UpdateGatingTemplate(ctx, t, reason)
}

// CheckTemplate checks a template's Gating-ML document and mapping: the document parses
// (gating.Parse validates it: ids, references, cycles, parameters), and every gate id the
// mapping names has results in it, as a gate's id or a Quadrant's (a QuadrantGate's own id
// has none). Errors are EINVALID on gating_ml or on the mapping's fields. The template's other
// fields are GatingTemplate.Validate's.
func CheckTemplate(t *clink.GatingTemplate) error {
	_, err := check(t)
	return err
}

// check is CheckTemplate, returning the parsed document.
func check(t *clink.GatingTemplate) (*gating.Document, error) {
	switch {
	case strings.TrimSpace(t.GatingML) == "":
		return nil, clink.Invalid("gating_ml", "is required: the Gating-ML 2.0 XML document")
	case len(t.GatingML) > clink.MaxGatingMLBytes:
		// Not parsed: the bound keeps parsing cheap.
		return nil, clink.Invalid("gating_ml", "is %d bytes, more than the %d allowed", len(t.GatingML), clink.MaxGatingMLBytes)
	}
	doc, err := gating.Parse(strings.NewReader(t.GatingML))
	if err != nil {
		return nil, clink.Invalid("gating_ml", "%v", err)
	}
	ids := map[string]bool{}
	for _, id := range doc.ResultIDs() {
		ids[id] = true
	}
	if err := t.Mapping.CheckGates(func(id string) bool { return ids[id] }); err != nil {
		return nil, err
	}
	return doc, nil
}

// gates is a template version ready to gate files: its document pruned to the gates its
// mapping needs.
type gates struct {
	template *clink.GatingTemplate
	doc      *gating.Document
}

// compile checks the template and prunes its document. A stored template that no longer
// checks (stored by other means than the Service) is EINVALID on field "template".
func compile(t *clink.GatingTemplate) (*gates, error) {
	doc, err := check(t)
	if err != nil {
		var why []string
		for _, f := range clink.ErrorFields(err) {
			why = append(why, f.String())
		}
		return nil, clink.Invalid("template", "gating template %s does not check: %s", t.Ref(), strings.Join(why, "; "))
	}
	return &gates{template: t, doc: doc.Prune(t.Mapping.GateIDs()...)}, nil
}

// Measure reads data set dataset (from 0) of the FCS file data, named name in messages,
// applies the gates of the template that its mapping needs (gating.Document.Prune: gates for
// other purposes, on channels the file lacks, are not evaluated), and returns the mapped
// measures. A file the FCS reader refuses, and gates that cannot be applied to the file (a
// channel it lacks), are EINVALID on field "file", naming the file; a template whose document
// does not check is EINVALID on "template"; a denominator or NK gate holding no event is
// EINVALID on the mapping's field (GateMapping.Measure).
func Measure(t *clink.GatingTemplate, name string, data []byte, dataset int) (clink.FlowMeasures, error) {
	g, err := compile(t)
	if err != nil {
		return clink.FlowMeasures{}, err
	}
	return g.measure(name, data, dataset)
}

func (g *gates) measure(name string, data []byte, dataset int) (m clink.FlowMeasures, err error) {
	defer func() {
		// The readers are fuzzed never to panic; should one, the upload fails alone, as an
		// internal error.
		if v := recover(); v != nil {
			m, err = clink.FlowMeasures{}, fmt.Errorf("flow: gate %s with %s: panic: %v", name, g.template.Ref(), v)
		}
	}()
	ds, err := fcs.Read(bytes.NewReader(data), int64(len(data)), fcs.Options{DataSet: dataset})
	if err != nil {
		return m, clink.Invalid("file", "%s: %v", name, err)
	}
	res, err := g.doc.Apply(ds)
	if err != nil {
		return m, clink.Invalid("file", "%s: the gates of template %s cannot be applied to it: %v", name, g.template.Ref(), err)
	}
	return g.template.Mapping.Measure(res.Events, func(id string) []bool {
		r := res.Gate(id)
		if r == nil {
			return nil
		}
		vals := r.Members.Values(nil)
		in := make([]bool, len(vals))
		for i, v := range vals {
			in[i] = v == 1
		}
		return in
	})
}

// Attach attaches FCS files to observations, all or none. It checks every upload, reads its
// observation and template, and gates every file (Measure) before anything is written; then
// one call of the store's AttachFCS writes them all in one transaction: each file once per
// SHA-256, the observation's measures corrected with reason clink.FCSReason, the attachment,
// each audited. The uploads are not changed: the store gets copies with Gating set.
//
// It refuses (EINVALID) an upload whose fields are invalid, a file the FCS reader refuses,
// a template that is unknown or void or whose gates cannot be applied to the file, and
// measures that would make the observation invalid; (ENOTFOUND) an unknown observation; and
// (ECONFLICT) a void observation, a template version changed while the files were gated, the
// same data set attached with the same template version before, and values from another
// source without Replace. With several uploads, field errors name the upload as files[i].
func (s *Service) Attach(ctx context.Context, uploads []*clink.FCSUpload) ([]*clink.FCSAttachment, error) {
	if len(uploads) == 0 {
		return nil, clink.Invalid("files", "name at least one FCS file")
	}
	n := len(uploads)
	max := s.MaxFCSBytes
	if max <= 0 {
		max = clink.DefaultMaxFCSBytes
	}
	for i, u := range uploads {
		if err := u.Validate(max); err != nil {
			return nil, clink.FileError(err, i, n)
		}
	}
	// Read what the uploads name; a template named by several is read and compiled once.
	byRef := map[clink.TemplateRef]*clink.GatingTemplate{}
	plan := make([]*clink.GatingTemplate, n)
	for i, u := range uploads {
		o, err := s.Store.FindObservationByID(ctx, u.ObservationID)
		if err != nil {
			return nil, err
		}
		if o.Voided {
			return nil, clink.Errorf(clink.ECONFLICT, "observation %d is void: no file can be attached to it", o.ID)
		}
		ref, _ := clink.ParseTemplateRef(u.Template) // checked by Validate
		t, ok := byRef[ref]
		if !ok {
			t, err = s.Store.FindGatingTemplateByRef(ctx, ref)
			if clink.ErrorCode(err) == clink.ENOTFOUND {
				return nil, clink.FileError(clink.Invalid("template", "%s", clink.ErrorMessage(err)), i, n)
			}
			if err != nil {
				return nil, err
			}
			byRef[ref] = t
		}
		if t.Voided {
			return nil, clink.FileError(clink.Invalid("template", "gating template %s is void (%s): it gates no more files",
				t.Ref(), t.VoidReason), i, n)
		}
		plan[i] = t
	}
	byID := map[int64]*gates{}
	gated := make([]*clink.FCSUpload, n)
	for i, u := range uploads {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t := plan[i]
		g, ok := byID[t.ID]
		if !ok {
			var err error
			if g, err = compile(t); err != nil {
				return nil, clink.FileError(err, i, n)
			}
			byID[t.ID] = g
		}
		m, err := g.measure(clink.BaseFileName(u.FileName), u.Data, u.DataSet)
		if err != nil {
			return nil, clink.FileError(err, i, n)
		}
		c := *u
		c.Gating = &clink.FCSGating{TemplateID: t.ID, TemplateUpdatedAt: t.UpdatedAt, Measures: m}
		gated[i] = &c
	}
	return s.Store.AttachFCS(ctx, gated)
}
