package sqldb

import (
	"context"

	"github.com/clink-consortium/clink"
)

const siteCols = "id, code, name, kind, " + metaCols

func scanSite(r scanner) (*clink.Site, error) {
	x := &clink.Site{}
	if err := r.Scan(append([]any{&x.ID, &x.Code, &x.Name, &x.Kind}, metaDest(&x.Meta)...)...); err != nil {
		return nil, err
	}
	x.Site = x.Code
	return x, nil
}

// CreateSite adds a site; its code must be new (ECONFLICT otherwise).
func (s *Store) CreateSite(ctx context.Context, x *clink.Site) error {
	if err := x.Validate(); err != nil {
		return err
	}
	return s.transact(ctx, "create_site", false, func(t *tx) error {
		var n int
		if err := t.QueryRowContext(ctx, "SELECT COUNT(*) FROM sites WHERE code = $1", x.Code).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return clink.Errorf(clink.ECONFLICT, "site %s already exists", x.Code)
		}
		rec := *x
		rec.Site = rec.Code
		t.stamp(ctx, &rec.Meta)
		err := t.QueryRowContext(ctx, `INSERT INTO sites (code, name, kind, `+metaCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			rec.Code, rec.Name, rec.Kind, t.ts(rec.CreatedAt), rec.CreatedBy, t.ts(rec.UpdatedAt), rec.UpdatedBy).Scan(&rec.ID)
		if err != nil {
			return err
		}
		if err := t.audit(ctx, actionCreate, "site", rec.ID, rec.Code, "", nil, &rec); err != nil {
			return err
		}
		*x = rec
		return nil
	})
}

// FindSiteByCode returns the site with the code, or ENOTFOUND.
func (s *Store) FindSiteByCode(ctx context.Context, code string) (*clink.Site, error) {
	var x *clink.Site
	err := s.transact(ctx, "find_site", true, func(t *tx) error {
		var err error
		x, err = scanSite(t.QueryRowContext(ctx, "SELECT "+siteCols+" FROM sites WHERE code = $1", code))
		return notFound(err, "site %s not found", code)
	})
	if err != nil {
		return nil, err
	}
	return x, nil
}

// ListSites returns every site, by code.
func (s *Store) ListSites(ctx context.Context) ([]*clink.Site, error) {
	var out []*clink.Site
	err := s.transact(ctx, "list_sites", true, func(t *tx) error {
		rows, err := t.QueryContext(ctx, "SELECT "+siteCols+" FROM sites ORDER BY code")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			x, err := scanSite(rows)
			if err != nil {
				return err
			}
			out = append(out, x)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []*clink.Site{}
	}
	return out, nil
}
