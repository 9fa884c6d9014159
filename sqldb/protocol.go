package sqldb

import (
	"context"
	"fmt"
	"strings"

	"github.com/clink-consortium/clink"
)

// protocolCols reads a protocol; in_use is computed, never stored.
const protocolCols = `p.id, p.site, p.name, p.version, p.starting_material, p.feeder_ratio, p.feeder_ratio_basis,
	p.restimulation_days, p.vessel, p.seeding_density, p.duration_days, p.description, p.voided, p.void_reason,
	EXISTS (SELECT 1 FROM cultures c WHERE c.protocol_id = p.id AND c.voided = FALSE),
	p.created_at, p.created_by, p.updated_at, p.updated_by`

func scanProtocol(r scanner) (*clink.Protocol, error) {
	p := &clink.Protocol{}
	dest := []any{&p.ID, &p.Site, &p.Name, &p.Version, &p.StartingMaterial, &p.FeederRatio, &p.FeederRatioBasis,
		jsonCol{&p.RestimulationDays}, &p.Vessel, &p.SeedingDensity, &p.DurationDays, &p.Description, &p.Voided, &p.VoidReason,
		&p.InUse}
	if err := r.Scan(append(dest, metaDest(&p.Meta)...)...); err != nil {
		return nil, err
	}
	if p.RestimulationDays == nil {
		p.RestimulationDays = []int{}
	}
	p.Components = []clink.ProtocolComponent{}
	return p, nil
}

// loadComponents fills the components of ps, in their stored order.
func (t *tx) loadComponents(ctx context.Context, ps ...*clink.Protocol) error {
	if len(ps) == 0 {
		return nil
	}
	byID := make(map[int64]*clink.Protocol, len(ps))
	marks := make([]string, len(ps))
	args := make([]any, len(ps))
	for i, p := range ps {
		byID[p.ID] = p
		marks[i] = fmt.Sprintf("$%d", i+1)
		args[i] = p.ID
	}
	rows, err := t.QueryContext(ctx, `SELECT pc.protocol_id, cm.name, cm.category, pc.dose, pc.unit, pc.days
		FROM protocol_components pc JOIN components cm ON cm.id = pc.component_id
		WHERE pc.protocol_id IN (`+strings.Join(marks, ", ")+`) ORDER BY pc.protocol_id, pc.position`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var c clink.ProtocolComponent
		if err := rows.Scan(&id, &c.Component, &c.Category, &c.Dose, &c.Unit, jsonCol{&c.Days}); err != nil {
			return err
		}
		if c.Days == nil {
			c.Days = []int{}
		}
		byID[id].Components = append(byID[id].Components, c)
	}
	return rows.Err()
}

func (t *tx) protocolWhere(ctx context.Context, cond string, args ...any) (*clink.Protocol, error) {
	p, err := scanProtocol(t.QueryRowContext(ctx, "SELECT "+protocolCols+" FROM protocols p WHERE "+cond, args...))
	if err != nil {
		return nil, err
	}
	return p, t.loadComponents(ctx, p)
}

func (t *tx) protocolByID(ctx context.Context, id int64) (*clink.Protocol, error) {
	p, err := t.protocolWhere(ctx, "p.id = $1", id)
	return p, notFound(err, "protocol %d not found", id)
}

func (t *tx) protocolByKey(ctx context.Context, name string, version int) (*clink.Protocol, error) {
	p, err := t.protocolWhere(ctx, "p.name = $1 AND p.version = $2", name, version)
	return p, notFound(err, "protocol %s v%d not found", name, version)
}

// checkProtocol normalizes and validates p, resolving its components against the catalogue
// first so that the feeder rules see each component's category. It returns the catalogue
// entries by name.
func (t *tx) checkProtocol(ctx context.Context, p *clink.Protocol) (map[string]*clink.Component, error) {
	p.Normalize()
	cat := map[string]*clink.Component{}
	for _, c := range p.Components {
		if _, done := cat[c.Component]; done || c.Component == "" {
			continue
		}
		cm, err := t.componentByName(ctx, c.Component)
		if err != nil {
			return nil, err
		}
		cat[c.Component] = cm
	}
	errCat := p.CheckComponents(func(name string) *clink.Component { return cat[name] })
	if err := mergeInvalid(errCat, p.Validate()); err != nil {
		return nil, err
	}
	return cat, t.checkSite(ctx, p.Site)
}

// insertComponents writes p's components in order.
func (t *tx) insertComponents(ctx context.Context, p *clink.Protocol, cat map[string]*clink.Component) error {
	for i, c := range p.Components {
		days, err := jsonText(c.Days)
		if err != nil {
			return err
		}
		_, err = t.ExecContext(ctx, `INSERT INTO protocol_components (protocol_id, position, component_id, dose, unit, days)
			VALUES ($1, $2, $3, $4, $5, $6)`, p.ID, i, cat[c.Component].ID, c.Dose, c.Unit, days)
		if err != nil {
			return err
		}
	}
	return nil
}

// copyProtocol returns a copy of p that shares no slices with it.
func copyProtocol(p *clink.Protocol) clink.Protocol {
	rec := *p
	rec.Components = make([]clink.ProtocolComponent, len(p.Components))
	for i, c := range p.Components {
		c.Days = append([]int(nil), c.Days...)
		rec.Components[i] = c
	}
	rec.RestimulationDays = append([]int(nil), p.RestimulationDays...)
	if p.FeederRatio != nil {
		r := *p.FeederRatio
		rec.FeederRatio = &r
	}
	return rec
}

// CreateProtocol creates version 1 of a new protocol name or, with Version 0 and a known name,
// the next version of it. An explicit version that exists is ECONFLICT.
func (s *Store) CreateProtocol(ctx context.Context, p *clink.Protocol) error {
	rec := copyProtocol(p)
	// Validation needs the catalogue (a component's category decides the feeder rules), so it
	// runs in the transaction, before anything is written.
	err := s.transact(ctx, "create_protocol", false, func(t *tx) error {
		cat, err := t.checkProtocol(ctx, &rec)
		if err != nil {
			return err
		}
		v, next, taken, err := t.assignVersion(ctx, "protocols", rec.Name, rec.Version)
		if err != nil {
			return err
		}
		if taken {
			return clink.Errorf(clink.ECONFLICT, "protocol %s already exists; leave the version empty to create v%d", rec.Key(), next)
		}
		rec.Version = v
		rec.InUse, rec.Voided, rec.VoidReason = false, false, ""
		t.stamp(ctx, &rec.Meta)
		restim, err := jsonText(rec.RestimulationDays)
		if err != nil {
			return err
		}
		err = t.QueryRowContext(ctx, `INSERT INTO protocols (site, name, version, starting_material, feeder_ratio, feeder_ratio_basis,
			restimulation_days, vessel, seeding_density, duration_days, description, voided, void_reason, `+metaCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id`,
			rec.Site, rec.Name, rec.Version, rec.StartingMaterial, rec.FeederRatio, rec.FeederRatioBasis,
			restim, rec.Vessel, rec.SeedingDensity, rec.DurationDays, rec.Description, rec.Voided, rec.VoidReason,
			t.ts(rec.CreatedAt), rec.CreatedBy, t.ts(rec.UpdatedAt), rec.UpdatedBy).Scan(&rec.ID)
		if err != nil {
			return err
		}
		if err := t.insertComponents(ctx, &rec, cat); err != nil {
			return err
		}
		return t.audit(ctx, actionCreate, "protocol", rec.ID, rec.Site, "", nil, &rec)
	})
	if err != nil {
		return err
	}
	*p = rec
	return nil
}

// FindProtocolByID returns the protocol version with the id, or ENOTFOUND.
func (s *Store) FindProtocolByID(ctx context.Context, id int64) (*clink.Protocol, error) {
	var p *clink.Protocol
	err := s.transact(ctx, "find_protocol", true, func(t *tx) (err error) {
		p, err = t.protocolByID(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// FindProtocolByKey returns version of the protocol called name, or ENOTFOUND.
func (s *Store) FindProtocolByKey(ctx context.Context, name string, version int) (*clink.Protocol, error) {
	var p *clink.Protocol
	err := s.transact(ctx, "find_protocol", true, func(t *tx) (err error) {
		p, err = t.protocolByKey(ctx, name, version)
		return err
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// FindProtocols returns a page of the protocol versions that match f, by name and version,
// and how many match.
func (s *Store) FindProtocols(ctx context.Context, f clink.ProtocolFilter) ([]*clink.Protocol, int, error) {
	pg, err := f.Page.Normalize()
	if err != nil {
		return nil, 0, err
	}
	var w where
	w.addIf(f.Site != "", "p.site = ?", f.Site)
	w.addIf(f.Name != "", "p.name = ?", f.Name)
	out := []*clink.Protocol{}
	var total int
	err = s.transact(ctx, "find_protocols", true, func(t *tx) (err error) {
		out, total, err = listPage(ctx, t, listQuery{count: "protocols p", from: "protocols p", cols: protocolCols, order: "p.name, p.version"}, &w, pg, scanProtocol)
		if err != nil {
			return err
		}
		return t.loadComponents(ctx, out...)
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// UpdateProtocol changes the protocol version with p's id in place. Its name, version and site
// cannot change (left empty they are taken from the stored version). A version that a culture
// uses is immutable: ECONFLICT, telling to create the next version instead.
func (s *Store) UpdateProtocol(ctx context.Context, p *clink.Protocol, reason string) error {
	if err := requireReason(reason); err != nil {
		return err
	}
	if p.ID <= 0 {
		return clink.Invalid("id", "is required to change a protocol")
	}
	rec := copyProtocol(p)
	err := s.transact(ctx, "update_protocol", false, func(t *tx) error {
		old, err := t.protocolByID(ctx, rec.ID)
		if err != nil {
			return err
		}
		var fe clink.FieldErrors
		if rec.Name == "" {
			rec.Name = old.Name
		} else if rec.Name != old.Name {
			fe.Addf("name", "cannot be changed (%s); create a new protocol instead", old.Key())
		}
		if rec.Version == 0 {
			rec.Version = old.Version
		} else if rec.Version != old.Version {
			fe.Addf("version", "cannot be changed (%s); create a new version instead", old.Key())
		}
		if rec.Site == "" {
			rec.Site = old.Site
		} else if rec.Site != old.Site {
			fe.Addf("site", "cannot be changed (%s belongs to %s)", old.Key(), old.Site)
		}
		if err := fe.Err(); err != nil {
			return err
		}
		cat, err := t.checkProtocol(ctx, &rec)
		if err != nil {
			return err
		}
		if old.Voided {
			return clink.Errorf(clink.ECONFLICT, "protocol %s is void and cannot be changed", old.Key())
		}
		if old.InUse {
			return clink.Errorf(clink.ECONFLICT, "protocol %s is used by cultures and cannot be changed; create a new version (leave the version empty) instead", old.Key())
		}
		rec.InUse, rec.Voided, rec.VoidReason = false, false, ""
		t.restamp(ctx, &rec.Meta, old.Meta)
		restim, err := jsonText(rec.RestimulationDays)
		if err != nil {
			return err
		}
		_, err = t.ExecContext(ctx, `UPDATE protocols SET starting_material = $1, feeder_ratio = $2, feeder_ratio_basis = $3,
			restimulation_days = $4, vessel = $5, seeding_density = $6, duration_days = $7, description = $8,
			updated_at = $9, updated_by = $10 WHERE id = $11`,
			rec.StartingMaterial, rec.FeederRatio, rec.FeederRatioBasis, restim, rec.Vessel, rec.SeedingDensity,
			rec.DurationDays, rec.Description, t.ts(rec.UpdatedAt), rec.UpdatedBy, rec.ID)
		if err != nil {
			return err
		}
		// The component rows of an unused version are replaced; the audit event keeps the old list.
		if _, err := t.ExecContext(ctx, "DELETE FROM protocol_components WHERE protocol_id = $1", rec.ID); err != nil {
			return err
		}
		if err := t.insertComponents(ctx, &rec, cat); err != nil {
			return err
		}
		return t.audit(ctx, actionUpdate, "protocol", rec.ID, rec.Site, reason, old, &rec)
	})
	if err != nil {
		return err
	}
	*p = rec
	return nil
}
