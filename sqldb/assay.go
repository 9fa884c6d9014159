package sqldb

import (
	"context"

	"github.com/clink-consortium/clink"
)

const (
	assayCols = `a.id, a.culture_id, c.code, a.site, a.day, a.target, a.target_name, a.method, a.targets_per_well,
		a.duration_hours, a.points, a.spontaneous, a.maximum, a.note, a.voided, a.void_reason,
		a.created_at, a.created_by, a.updated_at, a.updated_by`
	assayFrom = "assays a JOIN cultures c ON c.id = a.culture_id"
)

func scanAssay(r scanner) (*clink.Assay, error) {
	a := &clink.Assay{}
	dest := []any{&a.ID, &a.CultureID, &a.Culture, &a.Site, &a.Day, &a.Target, &a.TargetName, &a.Method, &a.TargetsPerWell,
		&a.DurationHours, jsonCol{&a.Points}, jsonCol{&a.Spontaneous}, jsonCol{&a.Maximum}, &a.Note, &a.Voided, &a.VoidReason}
	if err := r.Scan(append(dest, metaDest(&a.Meta)...)...); err != nil {
		return nil, err
	}
	normalizeAssay(a)
	return a, nil
}

// normalizeAssay replaces nil slices with empty ones, so that a stored assay compares equal to
// the one read back.
func normalizeAssay(a *clink.Assay) {
	if a.Points == nil {
		a.Points = []clink.AssayPoint{}
	}
	for i := range a.Points {
		if a.Points[i].Readings == nil {
			a.Points[i].Readings = []float64{}
		}
	}
	if a.Spontaneous == nil {
		a.Spontaneous = []float64{}
	}
	if a.Maximum == nil {
		a.Maximum = []float64{}
	}
}

// copyAssay returns a copy of a that shares no slice with it.
func copyAssay(a *clink.Assay) clink.Assay {
	rec := *a
	rec.Points = make([]clink.AssayPoint, len(a.Points))
	for i, p := range a.Points {
		p.Readings = append([]float64(nil), p.Readings...)
		rec.Points[i] = p
	}
	rec.Spontaneous = append([]float64(nil), a.Spontaneous...)
	rec.Maximum = append([]float64(nil), a.Maximum...)
	normalizeAssay(&rec)
	return rec
}

// CreateAssay records a cytotoxicity assay of a culture, named by CultureID or by code. The
// raw readings are stored as given, in order, and read back as the same float64 values.
func (s *Store) CreateAssay(ctx context.Context, a *clink.Assay) error {
	rec := copyAssay(a)
	if err := rec.Validate(); err != nil {
		return err
	}
	err := s.transact(ctx, "create_assay", false, func(t *tx) error {
		c, err := t.cultureOf(ctx, rec.CultureID, rec.Culture)
		if err != nil {
			return err
		}
		rec.CultureID, rec.Culture, rec.Site = c.ID, c.Code, c.Site
		rec.Voided, rec.VoidReason = false, ""
		t.stamp(ctx, &rec.Meta)
		var js [3]string
		for i, v := range []any{rec.Points, rec.Spontaneous, rec.Maximum} {
			if js[i], err = jsonText(v); err != nil {
				return err
			}
		}
		err = t.QueryRowContext(ctx, `INSERT INTO assays (culture_id, site, day, target, target_name, method, targets_per_well,
			duration_hours, points, spontaneous, maximum, note, voided, void_reason, `+metaCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) RETURNING id`,
			rec.CultureID, rec.Site, rec.Day, rec.Target, rec.TargetName, rec.Method, rec.TargetsPerWell,
			rec.DurationHours, js[0], js[1], js[2], rec.Note, rec.Voided, rec.VoidReason,
			t.ts(rec.CreatedAt), rec.CreatedBy, t.ts(rec.UpdatedAt), rec.UpdatedBy).Scan(&rec.ID)
		if err != nil {
			return err
		}
		return t.audit(ctx, actionCreate, "assay", rec.ID, rec.Site, "", nil, &rec)
	})
	if err != nil {
		return err
	}
	*a = rec
	return nil
}

// FindAssayByID returns the assay with the id, or ENOTFOUND.
func (s *Store) FindAssayByID(ctx context.Context, id int64) (*clink.Assay, error) {
	var a *clink.Assay
	err := s.transact(ctx, "find_assay", true, func(t *tx) (err error) {
		a, err = scanAssay(t.QueryRowContext(ctx, "SELECT "+assayCols+" FROM "+assayFrom+" WHERE a.id = $1", id))
		return notFound(err, "assay %d not found", id)
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// FindAssays returns a page of the assays that match f, by id, and how many match.
func (s *Store) FindAssays(ctx context.Context, f clink.AssayFilter) ([]*clink.Assay, int, error) {
	pg, err := f.Page.Normalize()
	if err != nil {
		return nil, 0, err
	}
	var w where
	w.addIf(f.Site != "", "a.site = ?", f.Site)
	w.addIf(f.CultureID != 0, "a.culture_id = ?", f.CultureID)
	w.addIf(f.ProtocolID != 0, "c.protocol_id = ?", f.ProtocolID)
	out := []*clink.Assay{}
	var total int
	err = s.transact(ctx, "find_assays", true, func(t *tx) (err error) {
		out, total, err = listPage(ctx, t, listQuery{count: assayFrom, from: assayFrom, cols: assayCols, order: "a.id"}, &w, pg, scanAssay)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}
