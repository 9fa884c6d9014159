package sqldb

import (
	"context"

	"github.com/clink-consortium/clink"
)

const componentCols = "id, site, name, category, unit, description, " + metaCols

func scanComponent(r scanner) (*clink.Component, error) {
	c := &clink.Component{}
	if err := r.Scan(append([]any{&c.ID, &c.Site, &c.Name, &c.Category, &c.Unit, &c.Description}, metaDest(&c.Meta)...)...); err != nil {
		return nil, err
	}
	return c, nil
}

// CreateComponent adds a component to the catalogue; its name must be new (ECONFLICT).
func (s *Store) CreateComponent(ctx context.Context, c *clink.Component) error {
	rec := *c
	if err := rec.Validate(); err != nil {
		return err
	}
	err := s.transact(ctx, "create_component", false, func(t *tx) error {
		if err := t.checkSite(ctx, rec.Site); err != nil {
			return err
		}
		if old, err := t.componentByName(ctx, rec.Name); err != nil {
			return err
		} else if old != nil {
			return clink.Errorf(clink.ECONFLICT, "component %s already exists (id %d)", rec.Name, old.ID)
		}
		t.stamp(ctx, &rec.Meta)
		err := t.QueryRowContext(ctx, `INSERT INTO components (site, name, category, unit, description, `+metaCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
			rec.Site, rec.Name, rec.Category, rec.Unit, rec.Description,
			t.ts(rec.CreatedAt), rec.CreatedBy, t.ts(rec.UpdatedAt), rec.UpdatedBy).Scan(&rec.ID)
		if err != nil {
			return err
		}
		return t.audit(ctx, actionCreate, "component", rec.ID, rec.Site, "", nil, &rec)
	})
	if err != nil {
		return err
	}
	*c = rec
	return nil
}

// componentByName returns the catalogue entry of that name, or nil when there is none.
func (t *tx) componentByName(ctx context.Context, name string) (*clink.Component, error) {
	rows, err := t.QueryContext(ctx, "SELECT "+componentCols+" FROM components WHERE name = $1", name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, rows.Err()
	}
	return scanComponent(rows)
}

// FindComponentByID returns the component with the id, or ENOTFOUND.
func (s *Store) FindComponentByID(ctx context.Context, id int64) (*clink.Component, error) {
	var c *clink.Component
	err := s.transact(ctx, "find_component", true, func(t *tx) (err error) {
		c, err = scanComponent(t.QueryRowContext(ctx, "SELECT "+componentCols+" FROM components WHERE id = $1", id))
		return notFound(err, "component %d not found", id)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// FindComponents returns the catalogue, or one category of it ("" for all), by name.
func (s *Store) FindComponents(ctx context.Context, category string) ([]*clink.Component, error) {
	var w where
	w.addIf(category != "", "category = ?", category)
	out := []*clink.Component{}
	err := s.transact(ctx, "find_components", true, func(t *tx) error {
		rows, err := t.QueryContext(ctx, "SELECT "+componentCols+" FROM components"+w.sql()+" ORDER BY name", w.args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			c, err := scanComponent(rows)
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
