package sqldb

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/fcs"
	"github.com/clink-consortium/clink/gating"
)

// Flow cytometry records: gating templates (versioned like protocols), FCS files stored once
// by content, and the attachments that gate a file for an observation. Reading the file and
// applying the gates (gateFCS, checkGatingML) is pure computation on the
// upload's bytes and the template's document; AttachFCS does it before its write transaction,
// so that a large file does not hold the database's write lock while it is gated, and the
// write transaction checks that the template version it used is still the stored one.

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

// checkTemplate normalizes and validates g: its own fields, then its Gating-ML document and
// the gates its mapping names.
func checkTemplate(g *clink.GatingTemplate) error {
	g.Normalize()
	if err := g.Validate(); err != nil {
		return err
	}
	return checkGatingML(g)
}

// CreateGatingTemplate creates version 1 of a new template name or, with Version 0 and a known
// name, the next version of it. An explicit version that exists is ECONFLICT.
func (s *Store) CreateGatingTemplate(ctx context.Context, g *clink.GatingTemplate) error {
	rec := copyTemplate(g)
	if err := checkTemplate(&rec); err != nil {
		return err
	}
	err := s.transact(ctx, "create_gating_template", false, func(t *tx) error {
		if err := t.checkSite(ctx, rec.Site); err != nil {
			return err
		}
		var max sql.NullInt64
		if err := t.QueryRowContext(ctx, "SELECT MAX(version) FROM gating_templates WHERE name = $1", rec.Name).Scan(&max); err != nil {
			return err
		}
		switch {
		case rec.Version == 0:
			rec.Version = int(max.Int64) + 1
		case max.Valid:
			var n int
			if err := t.QueryRowContext(ctx, "SELECT COUNT(*) FROM gating_templates WHERE name = $1 AND version = $2", rec.Name, rec.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return clink.Errorf(clink.ECONFLICT, "gating template %s already exists; leave the version empty to create version %d", rec.Ref(), max.Int64+1)
			}
		}
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
	err = s.transact(ctx, "find_gating_templates", true, func(t *tx) error {
		var err error
		if total, err = t.count(ctx, "gating_templates g", &w); err != nil {
			return err
		}
		limit, args := w.page(pg)
		rows, err := t.QueryContext(ctx, "SELECT "+templateCols+" FROM gating_templates g"+w.sql()+" ORDER BY g.name, g.version"+limit, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			g, err := scanTemplate(rows)
			if err != nil {
				return err
			}
			out = append(out, g)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// UpdateGatingTemplate changes the template version with g's id in place. Its name, version
// and site cannot change (left empty they are taken from the stored version). A version that
// an attachment used is immutable, and a void one cannot change: ECONFLICT.
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

// gated is an upload's file gated with a template version, before anything is written.
type gated struct {
	sha      string
	name     string
	template *clink.GatingTemplate
	measures clink.FlowMeasures
}

// AttachFCS attaches FCS files to observations (clink.FlowStore), all or none. The
// observations and templates are read first and every file is gated outside the write
// transaction; the write transaction then, file by file, stores the file (once per SHA-256),
// corrects the observation's measures with reason clink.FCSReason, and records the attachment,
// each audited. It refuses (EINVALID, nothing written) a file the FCS reader refuses, a
// template whose gates cannot be applied to the file, and measures that would make the
// observation invalid; and (ECONFLICT) a void observation, a template version changed
// meanwhile, the same data set attached with the same template version before, and values
// from another source without Replace. With several uploads, field errors name the upload as
// files[i].
func (s *Store) AttachFCS(ctx context.Context, uploads []*clink.FCSUpload) ([]*clink.FCSAttachment, error) {
	if len(uploads) == 0 {
		return nil, clink.Invalid("files", "name at least one FCS file")
	}
	named := func(i int, err error) error {
		var e *clink.Error
		if len(uploads) == 1 || !errors.As(err, &e) || len(e.Fields) == 0 {
			return err
		}
		return &clink.Error{Code: e.Code, Message: e.Message, Fields: e.Fields.Prefix(fmt.Sprintf("files[%d]", i))}
	}
	gs := make([]*gated, len(uploads))
	for i, u := range uploads {
		if err := u.Validate(MaxFCSBytes); err != nil {
			return nil, named(i, err)
		}
		gs[i] = &gated{sha: clink.SHA256Hex(u.Data), name: clink.BaseFileName(u.FileName)}
	}
	err := s.transact(ctx, "attach_fcs", true, func(t *tx) error {
		for i, u := range uploads {
			o, err := t.observationByID(ctx, u.ObservationID)
			if err != nil {
				return err
			}
			if o.Voided {
				return clink.Errorf(clink.ECONFLICT, "observation %d is void: no file can be attached to it", o.ID)
			}
			ref, _ := clink.ParseTemplateRef(u.Template) // checked by Validate
			gs[i].template, err = t.templateByRef(ctx, ref)
			if clink.ErrorCode(err) == clink.ENOTFOUND {
				return named(i, clink.Invalid("template", "%s", clink.ErrorMessage(err)))
			}
			if err != nil {
				return err
			}
			if gs[i].template.Voided {
				return named(i, clink.Invalid("template", "gating template %s is void (%s): it gates no more files",
					gs[i].template.Ref(), gs[i].template.VoidReason))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, u := range uploads {
		if gs[i].measures, err = gateFCS(gs[i].name, u.Data, u.DataSet, gs[i].template); err != nil {
			return nil, named(i, err)
		}
	}
	out := make([]*clink.FCSAttachment, len(uploads))
	err = s.transact(ctx, "attach_fcs", false, func(t *tx) error {
		for i, u := range uploads {
			a, err := t.attach(ctx, u, gs[i])
			if err != nil {
				return named(i, err)
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

// attach writes a gated upload in t.
func (t *tx) attach(ctx context.Context, u *clink.FCSUpload, g *gated) (*clink.FCSAttachment, error) {
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
	tmpl, err := t.templateByID(ctx, g.template.ID)
	if err != nil {
		return nil, err
	}
	if tmpl.Voided || !tmpl.UpdatedAt.Equal(g.template.UpdatedAt) {
		return nil, clink.Errorf(clink.ECONFLICT, "gating template %s changed while %s was gated; attach it again", tmpl.Ref(), g.name)
	}
	fileID, err := t.storeFCSFile(ctx, g.sha, u.Data)
	if err != nil {
		return nil, err
	}
	var prior int64
	switch err := t.QueryRowContext(ctx, `SELECT id FROM fcs_attachments WHERE observation_id = $1 AND file_id = $2 AND template_id = $3 AND dataset = $4`,
		old.ID, fileID, tmpl.ID, u.DataSet).Scan(&prior); {
	case err == nil:
		return nil, clink.Errorf(clink.ECONFLICT, "%s (sha256 %s) data set %d is already attached to observation %d with template %s (attachment %d)",
			g.name, g.sha, u.DataSet, old.ID, tmpl.Ref(), prior)
	case !errors.Is(err, sql.ErrNoRows):
		return nil, err
	}

	rec := copyObservation(old)
	changed, err := rec.ApplyFlow(g.measures, u.Replace)
	if err != nil {
		return nil, err
	}
	if err := rec.Validate(); err != nil {
		return nil, &clink.Error{Code: clink.EINVALID, Fields: clink.ErrorFields(err),
			Message: fmt.Sprintf("the measures of %s with template %s would make observation %d invalid", g.name, tmpl.Ref(), old.ID)}
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
		if err := t.audit(ctx, actionUpdate, "observation", rec.ID, rec.Site, clink.FCSReason(g.name, g.sha, tmpl), old, &rec); err != nil {
			return nil, err
		}
	}

	att := &clink.FCSAttachment{ObservationID: old.ID, Culture: old.Culture, Site: old.Site, SHA256: g.sha,
		FileName: g.name, Size: int64(len(u.Data)), TemplateID: tmpl.ID, TemplateName: tmpl.Name, TemplateVersion: tmpl.Version,
		DataSet: u.DataSet, Events: g.measures.Events, Measures: g.measures, Changed: changed, Replace: u.Replace,
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
	err = s.transact(ctx, "find_fcs_attachments", true, func(t *tx) error {
		var err error
		if total, err = t.count(ctx, "fcs_attachments a JOIN fcs_files f ON f.id = a.file_id", &w); err != nil {
			return err
		}
		limit, args := w.page(pg)
		rows, err := t.QueryContext(ctx, "SELECT "+attachmentCols+" FROM "+attachmentFrom+w.sql()+" ORDER BY a.id"+limit, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			a, err := scanAttachment(rows)
			if err != nil {
				return err
			}
			out = append(out, a)
		}
		return rows.Err()
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

// checkGatingML parses the template's Gating-ML document (gating.Parse validates it: ids,
// references, cycles) and checks that every gate the mapping names has results in it: a
// gate's id, or a Quadrant's (a QuadrantGate's own id has none).
func checkGatingML(g *clink.GatingTemplate) error {
	doc, err := gating.Parse(strings.NewReader(g.GatingML))
	if err != nil {
		return clink.Invalid("gating_ml", "%v", err)
	}
	ids := map[string]bool{}
	for _, id := range doc.ResultIDs() {
		ids[id] = true
	}
	return g.Mapping.CheckGates(func(id string) bool { return ids[id] })
}

// gateFCS reads data set dataset of the FCS file data (named name in messages) and applies the
// gates of the template that its mapping needs, returning the mapped measures. A file the FCS
// reader refuses, and gates that cannot be applied to the file (a channel it lacks), are
// EINVALID on field "file", naming the file.
func gateFCS(name string, data []byte, dataset int, g *clink.GatingTemplate) (m clink.FlowMeasures, err error) {
	defer func() {
		// The readers are fuzzed never to panic; should one, the upload fails alone.
		if v := recover(); v != nil {
			err = fmt.Errorf("sqldb: gate %s with %s: panic: %v", name, g.Ref(), v)
		}
	}()
	ds, err := fcs.Read(bytes.NewReader(data), int64(len(data)), fcs.Options{DataSet: dataset})
	if err != nil {
		return m, clink.Invalid("file", "%s: %v", name, err)
	}
	doc, err := gating.Parse(strings.NewReader(g.GatingML))
	if err != nil {
		return m, clink.Invalid("template", "gating template %s no longer parses: %v", g.Ref(), err)
	}
	res, err := pruneGates(doc, g.Mapping.GateIDs()).Apply(ds)
	if err != nil {
		return m, clink.Invalid("file", "%s: the gates of template %s cannot be applied to it: %v", name, g.Ref(), err)
	}
	return g.Mapping.Measure(res.Events, func(id string) []bool {
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

// pruneGates returns a document with the gates of doc that the results ids need: their own
// gates, and recursively the parents and Boolean operands of those, in document order. A
// template's document may hold gates for other purposes, on channels a file lacks; they are
// not evaluated.
func pruneGates(doc *gating.Document, ids []string) *gating.Document {
	owner := map[string]gating.Gate{} // result id -> the gate that yields it
	for _, g := range doc.Gates {
		owner[g.GateID()] = g
		if q, ok := g.(*gating.QuadrantGate); ok {
			for _, qu := range q.Quadrants {
				owner[qu.ID] = g
			}
		}
	}
	need := map[gating.Gate]bool{}
	var visit func(id string)
	visit = func(id string) {
		g, ok := owner[id]
		if !ok || need[g] {
			return
		}
		need[g] = true
		visit(g.ParentID())
		if b, ok := g.(*gating.BooleanGate); ok {
			for _, op := range b.Operands {
				visit(op.Ref)
			}
		}
	}
	for _, id := range ids {
		visit(id)
	}
	out := &gating.Document{Transformations: doc.Transformations, Matrices: doc.Matrices, CustomInfo: doc.CustomInfo}
	for _, g := range doc.Gates {
		if need[g] {
			out.Gates = append(out.Gates, g)
		}
	}
	return out
}
