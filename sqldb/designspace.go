package sqldb

import (
	"bytes"
	"context"
	"strings"
	"unicode/utf8"

	"github.com/clink-consortium/clink"
)

// Design spaces: the optimizer's saved search spaces, versioned per name like gating templates
// but never edited in place (a change is a new version; the schema's triggers refuse any other
// change than voiding). The store keeps the definition's JSON as given and checks only that it
// is a JSON object of bounded size (clink.DesignSpace.Validate): that it is a valid
// design.Space is checked by the callers, which may import the design package.

// designSpaceCols reads a design space.
const designSpaceCols = `d.id, d.site, d.name, d.version, d.description, d.definition, d.voided, d.void_reason,
	d.created_at, d.created_by, d.updated_at, d.updated_by`

func scanDesignSpace(r scanner) (*clink.DesignSpace, error) {
	d := &clink.DesignSpace{}
	dest := []any{&d.ID, &d.Site, &d.Name, &d.Version, &d.Description, rawCol{&d.Definition}, &d.Voided, &d.VoidReason}
	if err := r.Scan(append(dest, metaDest(&d.Meta)...)...); err != nil {
		return nil, err
	}
	return d, nil
}

func (t *tx) designSpaceWhere(ctx context.Context, cond string, args ...any) (*clink.DesignSpace, error) {
	return scanDesignSpace(t.QueryRowContext(ctx, "SELECT "+designSpaceCols+" FROM design_spaces d WHERE "+cond, args...))
}

func (t *tx) designSpaceByID(ctx context.Context, id int64) (*clink.DesignSpace, error) {
	d, err := t.designSpaceWhere(ctx, "d.id = $1", id)
	return d, notFound(err, "design space %d not found", id)
}

// designSpaceByRef finds the version ref names, or for a bare name its latest valid version.
func (t *tx) designSpaceByRef(ctx context.Context, ref clink.TemplateRef) (*clink.DesignSpace, error) {
	if ref.Version > 0 {
		d, err := t.designSpaceWhere(ctx, "d.name = $1 AND d.version = $2", ref.Name, ref.Version)
		return d, notFound(err, "design space %s not found", ref)
	}
	d, err := t.designSpaceWhere(ctx, "d.name = $1 AND d.voided = $2 ORDER BY d.version DESC LIMIT 1", ref.Name, false)
	return d, notFound(err, "design space %q not found (or every version of it is void)", ref.Name)
}

// copyDesignSpace returns a copy of d that shares no bytes with it.
func copyDesignSpace(d *clink.DesignSpace) clink.DesignSpace {
	rec := *d
	rec.Definition = bytes.Clone(d.Definition)
	return rec
}

// CreateDesignSpace creates version 1 of a new design space name or, with Version 0 and a
// known name, the next version of it (clink.DesignSpaceStore). An explicit version that exists
// is ECONFLICT, and an unknown site is EINVALID. It validates the space's own fields but does
// not parse the definition as a design.Space: callers check it with design.ParseSpace first,
// as the HTTP API does. The definition is stored as given; on success d holds the stored
// version, with its id, version and provenance.
func (s *Store) CreateDesignSpace(ctx context.Context, d *clink.DesignSpace) error {
	rec := copyDesignSpace(d)
	if err := rec.Validate(); err != nil {
		return err
	}
	err := s.transact(ctx, "create_design_space", false, func(t *tx) error {
		if err := t.checkSite(ctx, rec.Site); err != nil {
			return err
		}
		v, next, taken, err := t.assignVersion(ctx, "design_spaces", rec.Name, rec.Version)
		if err != nil {
			return err
		}
		if taken {
			return clink.Errorf(clink.ECONFLICT, "design space %s already exists; leave the version empty to create version %d", rec.Ref(), next)
		}
		rec.Version = v
		rec.Voided, rec.VoidReason = false, ""
		t.stamp(ctx, &rec.Meta)
		err = t.QueryRowContext(ctx, `INSERT INTO design_spaces (site, name, version, description, definition, voided, void_reason, `+metaCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
			rec.Site, rec.Name, rec.Version, rec.Description, string(rec.Definition), rec.Voided, rec.VoidReason,
			t.ts(rec.CreatedAt), rec.CreatedBy, t.ts(rec.UpdatedAt), rec.UpdatedBy).Scan(&rec.ID)
		if err != nil {
			return err
		}
		return t.audit(ctx, actionCreate, "design_space", rec.ID, rec.Site, "", nil, &rec)
	})
	if err != nil {
		return err
	}
	*d = rec
	return nil
}

// FindDesignSpaceByID returns the design space version with the id, or ENOTFOUND.
func (s *Store) FindDesignSpaceByID(ctx context.Context, id int64) (*clink.DesignSpace, error) {
	var d *clink.DesignSpace
	err := s.transact(ctx, "find_design_space", true, func(t *tx) (err error) {
		d, err = t.designSpaceByID(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// FindDesignSpaceByRef returns the design space version ref names, void or not, or for a bare
// name its latest version that is not void; ENOTFOUND when there is none.
func (s *Store) FindDesignSpaceByRef(ctx context.Context, ref clink.TemplateRef) (*clink.DesignSpace, error) {
	if ref.Name == "" || ref.Version < 0 {
		return nil, clink.Invalid("ref", "%q is not NAME or NAME@VERSION", ref)
	}
	var d *clink.DesignSpace
	err := s.transact(ctx, "find_design_space", true, func(t *tx) (err error) {
		d, err = t.designSpaceByRef(ctx, ref)
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// FindDesignSpaces returns a page of the design space versions that match f, by name and
// version, and how many match. Void versions are left out unless f.IncludeVoided.
func (s *Store) FindDesignSpaces(ctx context.Context, f clink.DesignSpaceFilter) ([]*clink.DesignSpace, int, error) {
	pg, err := f.Page.Normalize()
	if err != nil {
		return nil, 0, err
	}
	var w where
	w.addIf(f.Site != "", "d.site = ?", f.Site)
	w.addIf(f.Name != "", "d.name = ?", f.Name)
	w.addIf(!f.IncludeVoided, "d.voided = ?", false)
	out := []*clink.DesignSpace{}
	var total int
	err = s.transact(ctx, "find_design_spaces", true, func(t *tx) (err error) {
		out, total, err = listPage(ctx, t, listQuery{count: "design_spaces d", from: "design_spaces d", cols: designSpaceCols, order: "d.name, d.version"}, &w, pg, scanDesignSpace)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// VoidDesignSpace marks the design space version void with a reason, which is required. A void
// version is no longer what its bare name finds, but NAME@VERSION and its id still do.
// Voiding it twice is ECONFLICT.
func (s *Store) VoidDesignSpace(ctx context.Context, id int64, reason string) (*clink.DesignSpace, error) {
	if err := requireReason(reason); err != nil {
		return nil, err
	}
	if strings.ContainsRune(reason, 0) || !utf8.ValidString(reason) {
		// PostgreSQL's text holds neither; refuse it here rather than fail in the database.
		return nil, clink.Invalid("reason", "is not valid UTF-8 text (it holds a NUL character or invalid bytes)")
	}
	var rec *clink.DesignSpace
	err := s.transact(ctx, "void_design_space", false, func(t *tx) error {
		old, err := t.designSpaceByID(ctx, id)
		if err != nil {
			return err
		}
		if old.Voided {
			return clink.Errorf(clink.ECONFLICT, "design space %s is already void", old.Ref())
		}
		n := copyDesignSpace(old)
		rec = &n
		rec.Voided, rec.VoidReason = true, reason
		t.restamp(ctx, &rec.Meta, old.Meta)
		// The condition on voided makes a concurrent void lose cleanly on PostgreSQL, which
		// runs both transactions side by side: the second updates no row.
		res, err := t.ExecContext(ctx, "UPDATE design_spaces SET voided = $1, void_reason = $2, updated_at = $3, updated_by = $4 WHERE id = $5 AND voided = $6",
			true, reason, t.ts(rec.UpdatedAt), rec.UpdatedBy, rec.ID, false)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return clink.Errorf(clink.ECONFLICT, "design space %s is already void", old.Ref())
		}
		return t.audit(ctx, actionVoid, "design_space", rec.ID, rec.Site, reason, old, rec)
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}
