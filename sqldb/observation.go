package sqldb

import (
	"context"
	"maps"

	"github.com/clink-consortium/clink"
)

const (
	observationCols = `o.id, o.culture_id, c.code, o.site, o.day, o.viable_cells, o.viability_pct, o.nk_pct, o.t_pct,
		o.markers, o.volume_ml, o.split_fraction_kept, o.note, o.voided, o.void_reason,
		o.created_at, o.created_by, o.updated_at, o.updated_by`
	observationFrom = "observations o JOIN cultures c ON c.id = o.culture_id"
)

func scanObservation(r scanner) (*clink.Observation, error) {
	o := &clink.Observation{}
	dest := []any{&o.ID, &o.CultureID, &o.Culture, &o.Site, &o.Day, &o.ViableCells, &o.ViabilityPct, &o.NKPct, &o.TPct,
		jsonCol{&o.Markers}, &o.VolumeML, &o.SplitFractionKept, &o.Note, &o.Voided, &o.VoidReason}
	if err := r.Scan(append(dest, metaDest(&o.Meta)...)...); err != nil {
		return nil, err
	}
	if o.Markers == nil {
		o.Markers = map[string]float64{}
	}
	return o, nil
}

func (t *tx) observationByID(ctx context.Context, id int64) (*clink.Observation, error) {
	o, err := scanObservation(t.QueryRowContext(ctx, "SELECT "+observationCols+" FROM "+observationFrom+" WHERE o.id = $1", id))
	return o, notFound(err, "observation %d not found", id)
}

// copyObservation returns a copy of o that shares no map or pointer with it.
func copyObservation(o *clink.Observation) clink.Observation {
	rec := *o
	rec.Markers = maps.Clone(o.Markers)
	if rec.Markers == nil {
		rec.Markers = map[string]float64{}
	}
	for _, p := range []**float64{&rec.ViabilityPct, &rec.NKPct, &rec.TPct, &rec.VolumeML, &rec.SplitFractionKept} {
		if *p != nil {
			v := **p
			*p = &v
		}
	}
	return rec
}

// checkDay refuses a second valid observation on the same day of a culture; except is the id
// of the observation being corrected.
func (t *tx) checkDay(ctx context.Context, c *clink.Culture, day int, except int64) error {
	var n int
	err := t.QueryRowContext(ctx, "SELECT COUNT(*) FROM observations WHERE culture_id = $1 AND day = $2 AND voided = FALSE AND id <> $3",
		c.ID, day, except).Scan(&n)
	if err != nil {
		return err
	}
	if n > 0 {
		return clink.Errorf(clink.ECONFLICT, "culture %s already has an observation on day %d; correct that one instead", c.Code, day)
	}
	return nil
}

// CreateObservation records a reading of a culture, named by CultureID or by code (Culture).
// The observation takes the culture's site and code. A second valid observation on the same
// day is ECONFLICT.
func (s *Store) CreateObservation(ctx context.Context, o *clink.Observation) error {
	rec := copyObservation(o)
	if err := rec.Validate(); err != nil {
		return err
	}
	err := s.transact(ctx, "create_observation", false, func(t *tx) error {
		c, err := t.cultureOf(ctx, rec.CultureID, rec.Culture)
		if err != nil {
			return err
		}
		if err := t.checkDay(ctx, c, rec.Day, 0); err != nil {
			return err
		}
		rec.CultureID, rec.Culture, rec.Site = c.ID, c.Code, c.Site
		rec.Voided, rec.VoidReason = false, ""
		t.stamp(ctx, &rec.Meta)
		markers, err := jsonText(rec.Markers)
		if err != nil {
			return err
		}
		err = t.QueryRowContext(ctx, `INSERT INTO observations (culture_id, site, day, viable_cells, viability_pct, nk_pct, t_pct,
			markers, volume_ml, split_fraction_kept, note, voided, void_reason, `+metaCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id`,
			rec.CultureID, rec.Site, rec.Day, rec.ViableCells, rec.ViabilityPct, rec.NKPct, rec.TPct,
			markers, rec.VolumeML, rec.SplitFractionKept, rec.Note, rec.Voided, rec.VoidReason,
			t.ts(rec.CreatedAt), rec.CreatedBy, t.ts(rec.UpdatedAt), rec.UpdatedBy).Scan(&rec.ID)
		if err != nil {
			return err
		}
		return t.audit(ctx, actionCreate, "observation", rec.ID, rec.Site, "", nil, &rec)
	})
	if err != nil {
		return err
	}
	*o = rec
	return nil
}

// FindObservationByID returns the observation with the id, or ENOTFOUND.
func (s *Store) FindObservationByID(ctx context.Context, id int64) (*clink.Observation, error) {
	var o *clink.Observation
	err := s.transact(ctx, "find_observation", true, func(t *tx) (err error) {
		o, err = t.observationByID(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

// FindObservations returns a page of the observations that match f, by day (then id), and how
// many match. Voided observations are left out unless f asks for them.
func (s *Store) FindObservations(ctx context.Context, f clink.ObservationFilter) ([]*clink.Observation, int, error) {
	pg, err := f.Page.Normalize()
	if err != nil {
		return nil, 0, err
	}
	var w where
	w.addIf(f.CultureID != 0, "o.culture_id = ?", f.CultureID)
	w.addIf(f.ProtocolID != 0, "c.protocol_id = ?", f.ProtocolID)
	w.addIf(!f.IncludeVoided, "o.voided = ?", false)
	out := []*clink.Observation{}
	// The count needs the cultures only to filter by protocol.
	count := "observations o"
	if f.ProtocolID != 0 {
		count = observationFrom
	}
	var total int
	err = s.transact(ctx, "find_observations", true, func(t *tx) (err error) {
		out, total, err = listPage(ctx, t, listQuery{count: count, from: observationFrom, cols: observationCols, order: "o.day, o.id"}, &w, pg, scanObservation)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// UpdateObservation corrects the observation with o's id; reason is required. The culture
// cannot change; the day may, if no other valid observation holds it. A void observation
// cannot be corrected (ECONFLICT).
func (s *Store) UpdateObservation(ctx context.Context, o *clink.Observation, reason string) error {
	if err := requireReason(reason); err != nil {
		return err
	}
	if o.ID <= 0 {
		return clink.Invalid("id", "is required to correct an observation")
	}
	rec := copyObservation(o)
	if err := rec.Validate(); err != nil {
		return err
	}
	err := s.transact(ctx, "update_observation", false, func(t *tx) error {
		old, err := t.observationByID(ctx, rec.ID)
		if err != nil {
			return err
		}
		if rec.CultureID != 0 && rec.CultureID != old.CultureID {
			return clink.Invalid("culture_id", "cannot be changed (observation %d belongs to %s)", old.ID, old.Culture)
		}
		if rec.Culture != "" && rec.Culture != old.Culture {
			return clink.Invalid("culture", "cannot be changed (observation %d belongs to %s)", old.ID, old.Culture)
		}
		if old.Voided {
			return clink.Errorf(clink.ECONFLICT, "observation %d is void and cannot be corrected", old.ID)
		}
		if err := t.checkDay(ctx, &clink.Culture{ID: old.CultureID, Code: old.Culture}, rec.Day, old.ID); err != nil {
			return err
		}
		rec.CultureID, rec.Culture, rec.Site = old.CultureID, old.Culture, old.Site
		rec.Voided, rec.VoidReason = false, ""
		t.restamp(ctx, &rec.Meta, old.Meta)
		markers, err := jsonText(rec.Markers)
		if err != nil {
			return err
		}
		_, err = t.ExecContext(ctx, `UPDATE observations SET day = $1, viable_cells = $2, viability_pct = $3, nk_pct = $4,
			t_pct = $5, markers = $6, volume_ml = $7, split_fraction_kept = $8, note = $9, updated_at = $10, updated_by = $11
			WHERE id = $12`,
			rec.Day, rec.ViableCells, rec.ViabilityPct, rec.NKPct, rec.TPct, markers, rec.VolumeML, rec.SplitFractionKept,
			rec.Note, t.ts(rec.UpdatedAt), rec.UpdatedBy, rec.ID)
		if err != nil {
			return err
		}
		return t.audit(ctx, actionUpdate, "observation", rec.ID, rec.Site, reason, old, &rec)
	})
	if err != nil {
		return err
	}
	*o = rec
	return nil
}

// VoidObservation marks the observation void with a reason; it stays stored and listed when
// asked for. Voiding it twice is ECONFLICT.
func (s *Store) VoidObservation(ctx context.Context, id int64, reason string) (*clink.Observation, error) {
	if err := requireReason(reason); err != nil {
		return nil, err
	}
	var rec *clink.Observation
	err := s.transact(ctx, "void_observation", false, func(t *tx) error {
		old, err := t.observationByID(ctx, id)
		if err != nil {
			return err
		}
		if old.Voided {
			return clink.Errorf(clink.ECONFLICT, "observation %d is already void", old.ID)
		}
		n := copyObservation(old)
		rec = &n
		rec.Voided, rec.VoidReason = true, reason
		t.restamp(ctx, &rec.Meta, old.Meta)
		_, err = t.ExecContext(ctx, "UPDATE observations SET voided = $1, void_reason = $2, updated_at = $3, updated_by = $4 WHERE id = $5",
			true, reason, t.ts(rec.UpdatedAt), rec.UpdatedBy, rec.ID)
		if err != nil {
			return err
		}
		return t.audit(ctx, actionVoid, "observation", rec.ID, rec.Site, reason, old, rec)
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}
