package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"

	"github.com/clink-consortium/clink"
)

// Flow cytometry records: gating templates (versioned like protocols), FCS files stored once
// by content, and the attachments that record what gating a file gave an observation. The
// store only keeps them: parsing Gating-ML, reading FCS files and gating them is the flow
// package's (flow.Service), which does it before it calls the store, so that a large file does
// not hold the database's write lock while it is gated. AttachFCS checks in its write
// transaction that the template version a file was gated with is still the stored one.

// templateCols reads a gating template; in_use is computed, never stored.
const templateCols = `g.id, g.site, g.name, g.version, g.description, g.gating_ml, g.mapping, g.voided, g.void_reason,
	EXISTS (SELECT 1 FROM fcs_attachments a WHERE a.template_id = g.id),
	g.created_at, g.created_by, g.updated_at, g.updated_by`

func scanTemplate(r scanner) (*clink.GatingTemplate, error) {
	g := &clink.GatingTemplate{}
	dest := []any{&g.ID, &g.Site, &g.Name, &g.Version, &g.Description, &g.GatingML, jsonCol{&g.Mapping},
		&g.Voided, &g.VoidReason, &g.InUse}
	if err := r.Scan(append(dest, metaDest(&g.Meta)...)...); err != nil {
		return nil, err
	}
	g.Normalize()
	return g, nil
}

func (t *tx) templateWhere(ctx context.Context, cond string, args ...any) (*clink.GatingTemplate, error) {
	return scanTemplate(t.QueryRowContext(ctx, "SELECT "+templateCols+" FROM gating_templates g WHERE "+cond, args...))
}

func (t *tx) templateByID(ctx context.Context, id int64) (*clink.GatingTemplate, error) {
	g, err := t.templateWhere(ctx, "g.id = $1", id)
	return g, notFound(err, "gating template %d not found", id)
}

// templateByRef finds the version ref names, or for a bare name its latest valid version.
func (t *tx) templateByRef(ctx context.Context, ref clink.TemplateRef) (*clink.GatingTemplate, error) {
	if ref.Version > 0 {
		g, err := t.templateWhere(ctx, "g.name = $1 AND g.version = $2", ref.Name, ref.Version)
		return g, notFound(err, "gating template %s not found", ref)
	}
	g, err := t.templateWhere(ctx, "g.name = $1 AND g.voided = $2 ORDER BY g.version DESC LIMIT 1", ref.Name, false)
	return g, notFound(err, "gating template %q not found (or every version of it is void)", ref.Name)
}

// copyTemplate returns a copy of g that shares no map with it.
func copyTemplate(g *clink.GatingTemplate) clink.GatingTemplate {
	rec := *g
	rec.Mapping.Markers = maps.Clone(g.Mapping.Markers)
	rec.Normalize()
	return rec
}

// checkTemplate normalizes and validates g's own fields. Its Gating-ML document is not parsed
// here: flow.CheckTemplate does that.
func checkTemplate(g *clink.GatingTemplate) error {
	g.Normalize()
	return g.Validate()
}

// CreateGatingTemplate creates version 1 of a new template name or, with Version 0 and a known
// name, the next version of it. An explicit version that exists is ECONFLICT. It validates the
// template's own fields but does not parse its Gating-ML document: callers go through
// flow.Service.CreateTemplate, which checks the document and the mapping's gates first.
func (s *Store) CreateGatingTemplate(ctx context.Context, g *clink.GatingTemplate) error {
	rec := copyTemplate(g)
	if err := checkTemplate(&rec); err != nil {
		return err
	}
	err := s.transact(ctx, "create_gating_template", false, func(t *tx) error {
		if err := t.checkSite(ctx, rec.Site); err != nil {
			return err
		}
		v, next, taken, err := t.assignVersion(ctx, "gating_templates", rec.Name, rec.Version)
		if err != nil {
			return err
		}
		if taken {
			return clink.Errorf(clink.ECONFLICT, "gating template %s already exists; leave the version empty to create version %d", rec.Ref(), next)
		}
		rec.Version = v
		rec.InUse, rec.Voided, rec.VoidReason = false, false, ""
		t.stamp(ctx, &rec.Meta)
		mapping, err := jsonText(rec.Mapping)
		if err != nil {
			return err
		}
		err = t.QueryRowContext(ctx, `INSERT INTO gating_templates (site, name, version, description, gating_ml, mapping, voided, void_reason, `+metaCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
			rec.Site, rec.Name, rec.Version, rec.Description, rec.GatingML, mapping, rec.Voided, rec.VoidReason,
			t.ts(rec.CreatedAt), rec.CreatedBy, t.ts(rec.UpdatedAt), rec.UpdatedBy).Scan(&rec.ID)
		if err != nil {
			return err
		}
		return t.audit(ctx, actionCreate, "gating_template", rec.ID, rec.Site, "", nil, &rec)
	})
	if err != nil {
		return err
	}
	*g = rec
	return nil
}

// FindGatingTemplateByID returns the template version with the id, or ENOTFOUND.
func (s *Store) FindGatingTemplateByID(ctx context.Context, id int64) (*clink.GatingTemplate, error) {
	var g *clink.GatingTemplate
	err := s.transact(ctx, "find_gating_template", true, func(t *tx) (err error) {
		g, err = t.templateByID(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// FindGatingTemplateByRef returns the template version ref names, or for a bare name its
// latest version that is not void; ENOTFOUND when there is none.
func (s *Store) FindGatingTemplateByRef(ctx context.Context, ref clink.TemplateRef) (*clink.GatingTemplate, error) {
	var g *clink.GatingTemplate
	err := s.transact(ctx, "find_gating_template", true, func(t *tx) (err error) {
		g, err = t.templateByRef(ctx, ref)
		return err
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// FindGatingTemplates returns a page of the template versions that match f, by name and
// version, and how many match.
func (s *Store) FindGatingTemplates(ctx context.Context, f clink.GatingTemplateFilter) ([]*clink.GatingTemplate, int, error) {
	pg, err := f.Page.Normalize()
	if err != nil {
		return nil, 0, err
	}
	var w where
	w.addIf(f.Site != "", "g.site = ?", f.Site)
	w.addIf(f.Name != "", "g.name = ?", f.Name)
	out := []*clink.GatingTemplate{}
	var total int
	err = s.transact(ctx, "find_gating_templates", true, func(t *tx) (err error) {
		out, total, err = listPage(ctx, t, listQuery{count: "gating_templates g", from: "gating_templates g", cols: templateCols, order: "g.name, g.version"}, &w, pg, scanTemplate)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// UpdateGatingTemplate changes the template version with g's id in place. Its name, version
// and site cannot change (left empty they are taken from the stored version). A version that
// an attachment used is immutable, and a void one cannot change: ECONFLICT. As for
// CreateGatingTemplate, callers go through flow.Service.UpdateTemplate, which checks the
// Gating-ML document; the store does not parse it.
func (s *Store) UpdateGatingTemplate(ctx context.Context, g *clink.GatingTemplate, reason string) error {
	if err := requireReason(reason); err != nil {
		return err
	}
	if g.ID <= 0 {
		return clink.Invalid("id", "is required to change a gating template")
	}
	var old *clink.GatingTemplate
	if err := s.transact(ctx, "find_gating_template", true, func(t *tx) (err error) {
		old, err = t.templateByID(ctx, g.ID)
		return err
	}); err != nil {
		return err
	}
	rec := copyTemplate(g)
	var fe clink.FieldErrors
	if rec.Name == "" {
		rec.Name = old.Name
	} else if rec.Name != old.Name {
		fe.Addf("name", "cannot be changed (%s); create a new template instead", old.Ref())
	}
	if rec.Version == 0 {
		rec.Version = old.Version
	} else if rec.Version != old.Version {
		fe.Addf("version", "cannot be changed (%s); create a new version instead", old.Ref())
	}
	if rec.Site == "" {
		rec.Site = old.Site
	} else if rec.Site != old.Site {
		fe.Addf("site", "cannot be changed (%s belongs to %s)", old.Ref(), old.Site)
	}
	if err := fe.Err(); err != nil {
		return err
	}
	if err := checkTemplate(&rec); err != nil {
		return err
	}
	err := s.transact(ctx, "update_gating_template", false, func(t *tx) error {
		// Read again: the version may have been used or voided since it was checked.
		old, err := t.templateByID(ctx, rec.ID)
		if err != nil {
			return err
		}
		if old.Voided {
			return clink.Errorf(clink.ECONFLICT, "gating template %s is void and cannot be changed", old.Ref())
		}
		if old.InUse {
			return clink.Errorf(clink.ECONFLICT, "gating template %s has gated FCS files and cannot be changed; create a new version (leave the version empty) instead", old.Ref())
		}
		rec.InUse, rec.Voided, rec.VoidReason = false, false, ""
		t.restamp(ctx, &rec.Meta, old.Meta)
		mapping, err := jsonText(rec.Mapping)
		if err != nil {
			return err
		}
		_, err = t.ExecContext(ctx, `UPDATE gating_templates SET description = $1, gating_ml = $2, mapping = $3,
			updated_at = $4, updated_by = $5 WHERE id = $6`,
			rec.Description, rec.GatingML, mapping, t.ts(rec.UpdatedAt), rec.UpdatedBy, rec.ID)
		if err != nil {
			return err
		}
		return t.audit(ctx, actionUpdate, "gating_template", rec.ID, rec.Site, reason, old, &rec)
	})
	if err != nil {
		return err
	}
	*g = rec
	return nil
}

// VoidGatingTemplate marks the template version void with a reason. A void version gates no
// more files; attachments that used it keep naming it. Voiding it twice is ECONFLICT.
func (s *Store) VoidGatingTemplate(ctx context.Context, id int64, reason string) (*clink.GatingTemplate, error) {
	if err := requireReason(reason); err != nil {
		return nil, err
	}
	var rec *clink.GatingTemplate
	err := s.transact(ctx, "void_gating_template", false, func(t *tx) error {
		old, err := t.templateByID(ctx, id)
		if err != nil {
			return err
		}
		if old.Voided {
			return clink.Errorf(clink.ECONFLICT, "gating template %s is already void", old.Ref())
		}
		n := copyTemplate(old)
		rec = &n
		rec.Voided, rec.VoidReason = true, reason
		t.restamp(ctx, &rec.Meta, old.Meta)
		_, err = t.ExecContext(ctx, "UPDATE gating_templates SET voided = $1, void_reason = $2, updated_at = $3, updated_by = $4 WHERE id = $5",
			true, reason, t.ts(rec.UpdatedAt), rec.UpdatedBy, rec.ID)
		if err != nil {
			return err
		}
		return t.audit(ctx, actionVoid, "gating_template", rec.ID, rec.Site, reason, old, rec)
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// attachmentCols reads an attachment with its file, template and observation's culture.
const (
	attachmentCols = `a.id, a.observation_id, c.code, a.site, f.sha256, a.file_name, f.size, a.template_id, g.name, g.version,
		a.dataset, a.events, a.measures, a.changed, a.replace_values, a.created_at, a.created_by`
	attachmentFrom = `fcs_attachments a JOIN fcs_files f ON f.id = a.file_id JOIN gating_templates g ON g.id = a.template_id
		JOIN observations o ON o.id = a.observation_id JOIN cultures c ON c.id = o.culture_id`
)

func scanAttachment(r scanner) (*clink.FCSAttachment, error) {
	a := &clink.FCSAttachment{}
	err := r.Scan(&a.ID, &a.ObservationID, &a.Culture, &a.Site, &a.SHA256, &a.FileName, &a.Size, &a.TemplateID,
		&a.TemplateName, &a.TemplateVersion, &a.DataSet, &a.Events, jsonCol{&a.Measures}, jsonCol{&a.Changed},
		&a.Replace, timeCol{&a.CreatedAt}, &a.CreatedBy)
	if err != nil {
		return nil, err
	}
	if a.Changed == nil {
		a.Changed = []string{}
	}
	if a.Measures.Markers == nil {
		a.Measures.Markers = map[string]float64{}
	}
	if a.Measures.MarkerEvents == nil {
		a.Measures.MarkerEvents = map[string]int{}
	}
	return a, nil
}

// AttachFCS writes FCS attachments (clink.FlowStore), all or none, in one write transaction:
// for each upload, in order, it stores the file (once per SHA-256), corrects the observation's
// measures with the upload's Gating.Measures and reason clink.FCSReason, and records the
// attachment, each audited. It does not read FCS files or Gating-ML: callers go through
// flow.Service.Attach, which gates every file first and sets Gating. An upload without Gating
// is an internal error.
//
// It refuses (EINVALID, nothing written) invalid upload fields, an upload whose Template does
// not name the version that gated it, measures inconsistent with that version's mapping
// (GateMapping.CheckMeasures) and measures that would make the observation invalid; (ENOTFOUND) an unknown observation or template; and (ECONFLICT) a void
// observation, a template version voided or changed since it gated the file, the same data set
// attached with the same template version before, and values from another source without
// Replace. With several uploads, field errors name the upload as files[i].
func (s *Store) AttachFCS(ctx context.Context, uploads []*clink.FCSUpload) ([]*clink.FCSAttachment, error) {
	if len(uploads) == 0 {
		return nil, clink.Invalid("files", "name at least one FCS file")
	}
	n := len(uploads)
	shas := make([]string, n) // hashed before the write transaction, as gating is
	for i, u := range uploads {
		if err := u.Validate(MaxFCSBytes); err != nil {
			return nil, clink.FileError(err, i, n)
		}
		if u.Gating == nil {
			return nil, fmt.Errorf("sqldb: attach_fcs: upload %d (%s) was not gated: attach FCS files through flow.Service", i, clink.BaseFileName(u.FileName))
		}
		shas[i] = clink.SHA256Hex(u.Data)
	}
	out := make([]*clink.FCSAttachment, n)
	err := s.transact(ctx, "attach_fcs", false, func(t *tx) error {
		for i, u := range uploads {
			a, err := t.attach(ctx, u, shas[i])
			if err != nil {
				return clink.FileError(err, i, n)
			}
			out[i] = a
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// attach writes a gated upload, whose bytes have the hash sha, in t.
func (t *tx) attach(ctx context.Context, u *clink.FCSUpload, sha string) (*clink.FCSAttachment, error) {
	g, name := u.Gating, clink.BaseFileName(u.FileName)
	// Take the observation's row lock before reading it, so that concurrent attachments to it
	// (PostgreSQL runs them side by side) see each other's values instead of overwriting them.
	if _, err := t.ExecContext(ctx, "UPDATE observations SET updated_by = updated_by WHERE id = $1", u.ObservationID); err != nil {
		return nil, err
	}
	old, err := t.observationByID(ctx, u.ObservationID)
	if err != nil {
		return nil, err
	}
	if old.Voided {
		return nil, clink.Errorf(clink.ECONFLICT, "observation %d is void: no file can be attached to it", old.ID)
	}
	tmpl, err := t.templateByID(ctx, g.TemplateID)
	if err != nil {
		return nil, err
	}
	if tmpl.Voided || !tmpl.UpdatedAt.Equal(g.TemplateUpdatedAt) {
		return nil, clink.Errorf(clink.ECONFLICT, "gating template %s changed while %s was gated; attach it again", tmpl.Ref(), name)
	}
	if ref, _ := clink.ParseTemplateRef(u.Template); ref.Name != tmpl.Name || (ref.Version != 0 && ref.Version != tmpl.Version) {
		return nil, clink.Invalid("template", "the upload of %s names gating template %s, but the file was gated with %s", name, ref, tmpl.Ref())
	}
	if err := tmpl.Mapping.CheckMeasures(g.Measures); err != nil {
		return nil, err
	}
	fileID, err := t.storeFCSFile(ctx, sha, u.Data)
	if err != nil {
		return nil, err
	}
	var prior int64
	switch err := t.QueryRowContext(ctx, `SELECT id FROM fcs_attachments WHERE observation_id = $1 AND file_id = $2 AND template_id = $3 AND dataset = $4`,
		old.ID, fileID, tmpl.ID, u.DataSet).Scan(&prior); {
	case err == nil:
		return nil, clink.Errorf(clink.ECONFLICT, "%s (sha256 %s) data set %d is already attached to observation %d with template %s (attachment %d)",
			name, sha, u.DataSet, old.ID, tmpl.Ref(), prior)
	case !errors.Is(err, sql.ErrNoRows):
		return nil, err
	}

	rec := copyObservation(old)
	changed, err := rec.ApplyFlow(g.Measures, u.Replace)
	if err != nil {
		return nil, err
	}
	if err := rec.Validate(); err != nil {
		return nil, &clink.Error{Code: clink.EINVALID, Fields: clink.ErrorFields(err),
			Message: fmt.Sprintf("the measures of %s with template %s would make observation %d invalid", name, tmpl.Ref(), old.ID)}
	}
	if len(changed) > 0 {
		t.restamp(ctx, &rec.Meta, old.Meta)
		markers, err := jsonText(rec.Markers)
		if err != nil {
			return nil, err
		}
		_, err = t.ExecContext(ctx, `UPDATE observations SET nk_pct = $1, t_pct = $2, markers = $3, updated_at = $4, updated_by = $5 WHERE id = $6`,
			rec.NKPct, rec.TPct, markers, t.ts(rec.UpdatedAt), rec.UpdatedBy, rec.ID)
		if err != nil {
			return nil, err
		}
		if err := t.audit(ctx, actionUpdate, "observation", rec.ID, rec.Site, clink.FCSReason(name, sha, tmpl), old, &rec); err != nil {
			return nil, err
		}
	}

	att := &clink.FCSAttachment{ObservationID: old.ID, Culture: old.Culture, Site: old.Site, SHA256: sha,
		FileName: name, Size: int64(len(u.Data)), TemplateID: tmpl.ID, TemplateName: tmpl.Name, TemplateVersion: tmpl.Version,
		DataSet: u.DataSet, Events: g.Measures.Events, Measures: g.Measures, Changed: changed, Replace: u.Replace,
		CreatedAt: t.now, CreatedBy: clink.ActorFrom(ctx)}
	if att.Changed == nil {
		att.Changed = []string{}
	}
	measures, err := jsonText(att.Measures)
	if err != nil {
		return nil, err
	}
	changedText, err := jsonText(att.Changed)
	if err != nil {
		return nil, err
	}
	err = t.QueryRowContext(ctx, `INSERT INTO fcs_attachments (observation_id, site, file_id, file_name, template_id, dataset, events,
		measures, changed, replace_values, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
		att.ObservationID, att.Site, fileID, att.FileName, att.TemplateID, att.DataSet, att.Events, measures, changedText,
		att.Replace, t.ts(att.CreatedAt), att.CreatedBy).Scan(&att.ID)
	if err != nil {
		return nil, err
	}
	if err := t.audit(ctx, actionCreate, "fcs_attachment", att.ID, att.Site, "", nil, att); err != nil {
		return nil, err
	}
	return att, nil
}

// storeFCSFile returns the id of the stored file with the hash, writing data first when no
// file has it. A new file is audited (its hash and size; the bytes stay in fcs_files).
func (t *tx) storeFCSFile(ctx context.Context, sha string, data []byte) (int64, error) {
	var id int64
	switch err := t.QueryRowContext(ctx, "SELECT id FROM fcs_files WHERE sha256 = $1", sha).Scan(&id); {
	case err == nil:
		return id, nil
	case !errors.Is(err, sql.ErrNoRows):
		return 0, err
	}
	// A concurrent upload of the same bytes may store them first: then nothing is inserted
	// (PostgreSQL waits for it to commit) and its row is the one to use.
	f := &clink.FCSFile{SHA256: sha, Size: int64(len(data)), CreatedAt: t.now, CreatedBy: clink.ActorFrom(ctx)}
	err := t.QueryRowContext(ctx, `INSERT INTO fcs_files (sha256, size, data, created_at, created_by) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (sha256) DO NOTHING RETURNING id`,
		f.SHA256, f.Size, data, t.ts(f.CreatedAt), f.CreatedBy).Scan(&id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		err = t.QueryRowContext(ctx, "SELECT id FROM fcs_files WHERE sha256 = $1", sha).Scan(&id)
		return id, err
	case err != nil:
		return 0, err
	}
	return id, t.audit(ctx, actionCreate, "fcs_file", id, "", "", nil, f)
}

// FindFCSAttachments returns a page of the attachments that match f, oldest first, and how
// many match.
func (s *Store) FindFCSAttachments(ctx context.Context, f clink.FCSAttachmentFilter) ([]*clink.FCSAttachment, int, error) {
	pg, err := f.Page.Normalize()
	if err != nil {
		return nil, 0, err
	}
	if f.SHA256 != "" {
		if err := clink.CheckSHA256(f.SHA256); err != nil {
			return nil, 0, err
		}
	}
	var w where
	w.addIf(f.ObservationID != 0, "a.observation_id = ?", f.ObservationID)
	w.addIf(f.SHA256 != "", "f.sha256 = ?", f.SHA256)
	out := []*clink.FCSAttachment{}
	var total int
	err = s.transact(ctx, "find_fcs_attachments", true, func(t *tx) (err error) {
		out, total, err = listPage(ctx, t, listQuery{count: "fcs_attachments a JOIN fcs_files f ON f.id = a.file_id", from: attachmentFrom, cols: attachmentCols, order: "a.id"}, &w, pg, scanAttachment)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// FindFCSFile returns the stored file with the hash and its bytes, after checking them
// against the hash and the recorded size: a stored copy that no longer matches is an
// internal error, never served.
func (s *Store) FindFCSFile(ctx context.Context, sha string) (*clink.FCSFile, []byte, error) {
	if err := clink.CheckSHA256(sha); err != nil {
		return nil, nil, err
	}
	f := &clink.FCSFile{}
	var data []byte
	err := s.transact(ctx, "find_fcs_file", true, func(t *tx) error {
		err := t.QueryRowContext(ctx, "SELECT sha256, size, data, created_at, created_by FROM fcs_files WHERE sha256 = $1", sha).
			Scan(&f.SHA256, &f.Size, &data, timeCol{&f.CreatedAt}, &f.CreatedBy)
		return notFound(err, "no FCS file has sha256 %s", sha)
	})
	if err != nil {
		return nil, nil, err
	}
	if got := clink.SHA256Hex(data); got != sha || int64(len(data)) != f.Size {
		return nil, nil, fmt.Errorf("sqldb: find_fcs_file: the stored copy of %s is damaged: %d bytes (recorded %d) with sha256 %s", sha, len(data), f.Size, got)
	}
	return f, data, nil
}

// MaxFCSBytes is the largest FCS file the store keeps: one value of either database (SQLite's
// default limit is 1,000,000,000 bytes; PostgreSQL's bytea holds 1 GiB). Servers and the
// command line set their own, lower, limit (clink.DefaultMaxFCSBytes by default).
const MaxFCSBytes int64 = 1_000_000_000
