package sqldb

import (
	"context"

	"github.com/clink-consortium/clink"
)

// cultureCols reads a culture with its donor's code and its protocol's name and version.
const (
	cultureCols = `c.id, c.code, c.site, c.donor_id, d.code, c.protocol_id, p.name, p.version, c.start_date,
		c.starting_cells, c.starting_nk_pct, c.status, c.stop_reason, c.notes, c.voided, c.void_reason,
		c.created_at, c.created_by, c.updated_at, c.updated_by`
	cultureFrom = "cultures c JOIN donors d ON d.id = c.donor_id JOIN protocols p ON p.id = c.protocol_id"
)

func scanCulture(r scanner) (*clink.Culture, error) {
	c := &clink.Culture{}
	dest := []any{&c.ID, &c.Code, &c.Site, &c.DonorID, &c.Donor, &c.ProtocolID, &c.ProtocolName, &c.ProtocolVersion,
		&c.StartDate, &c.StartingCells, &c.StartingNKPct, &c.Status, &c.StopReason, &c.Notes, &c.Voided, &c.VoidReason}
	if err := r.Scan(append(dest, metaDest(&c.Meta)...)...); err != nil {
		return nil, err
	}
	return c, nil
}

func (t *tx) cultureByID(ctx context.Context, id int64) (*clink.Culture, error) {
	c, err := scanCulture(t.QueryRowContext(ctx, "SELECT "+cultureCols+" FROM "+cultureFrom+" WHERE c.id = $1", id))
	return c, notFound(err, "culture %d not found", id)
}

func (t *tx) cultureByCode(ctx context.Context, code string) (*clink.Culture, error) {
	c, err := scanCulture(t.QueryRowContext(ctx, "SELECT "+cultureCols+" FROM "+cultureFrom+" WHERE c.code = $1", code))
	return c, notFound(err, "culture %s not found", code)
}

// cultureOf resolves the culture a measurement names by id or, failing that, by code. Both
// missing is EINVALID on field "culture_id"; a culture that does not exist is ENOTFOUND; a void
// culture takes no new measurements (ECONFLICT).
func (t *tx) cultureOf(ctx context.Context, id int64, code string) (*clink.Culture, error) {
	var c *clink.Culture
	var err error
	switch {
	case id != 0:
		c, err = t.cultureByID(ctx, id)
	case code != "":
		c, err = t.cultureByCode(ctx, code)
	default:
		return nil, clink.Invalid("culture_id", "is required")
	}
	if err != nil {
		return nil, err
	}
	if id != 0 && code != "" && code != c.Code {
		return nil, clink.Invalid("culture", "%s does not match culture_id %d, which is %s", code, id, c.Code)
	}
	if c.Voided {
		return nil, clink.Errorf(clink.ECONFLICT, "culture %s is void and takes no new data", c.Code)
	}
	return c, nil
}

// CreateCulture adds a culture after checking that its donor exists and belongs to its site and
// that its protocol version exists. The donor may be named by DonorID or by code (Donor), the
// protocol by ProtocolID or by ProtocolName and ProtocolVersion. An empty code is generated
// as the site's next culture number.
func (s *Store) CreateCulture(ctx context.Context, c *clink.Culture) error {
	rec := *c
	if err := rec.Validate(); err != nil {
		return err
	}
	err := s.transact(ctx, "create_culture", false, func(t *tx) error {
		if err := t.checkSite(ctx, rec.Site); err != nil {
			return err
		}
		if err := t.resolveDonor(ctx, &rec); err != nil {
			return err
		}
		if err := t.resolveProtocol(ctx, &rec); err != nil {
			return err
		}
		if rec.Code == "" {
			for {
				var n int
				err := t.QueryRowContext(ctx, "UPDATE sites SET culture_seq = culture_seq + 1 WHERE code = $1 RETURNING culture_seq", rec.Site).Scan(&n)
				if err != nil {
					return err
				}
				rec.Code = clink.CultureCode(rec.Site, n)
				taken, err := t.cultureCodeTaken(ctx, rec.Code)
				if err != nil {
					return err
				}
				if !taken { // codes given by hand may have used the number already
					break
				}
			}
		} else if taken, err := t.cultureCodeTaken(ctx, rec.Code); err != nil {
			return err
		} else if taken {
			return clink.Errorf(clink.ECONFLICT, "culture %s already exists", rec.Code)
		}
		rec.Voided, rec.VoidReason = false, ""
		t.stamp(ctx, &rec.Meta)
		err := t.QueryRowContext(ctx, `INSERT INTO cultures (code, site, donor_id, protocol_id, start_date, starting_cells,
			starting_nk_pct, status, stop_reason, notes, voided, void_reason, `+metaCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id`,
			rec.Code, rec.Site, rec.DonorID, rec.ProtocolID, rec.StartDate, rec.StartingCells,
			rec.StartingNKPct, rec.Status, rec.StopReason, rec.Notes, rec.Voided, rec.VoidReason,
			t.ts(rec.CreatedAt), rec.CreatedBy, t.ts(rec.UpdatedAt), rec.UpdatedBy).Scan(&rec.ID)
		if err != nil {
			return err
		}
		return t.audit(ctx, actionCreate, "culture", rec.ID, rec.Site, "", nil, &rec)
	})
	if err != nil {
		return err
	}
	*c = rec
	return nil
}

// resolveDonor finds the culture's donor and checks that it may be used at the culture's site.
func (t *tx) resolveDonor(ctx context.Context, c *clink.Culture) error {
	var d *clink.Donor
	var err error
	if c.DonorID != 0 {
		d, err = t.donorByID(ctx, c.DonorID)
		if clink.ErrorCode(err) == clink.ENOTFOUND {
			return clink.Invalid("donor", "donor %d does not exist", c.DonorID)
		}
	} else {
		d, err = t.donorByCode(ctx, c.Donor)
		if clink.ErrorCode(err) == clink.ENOTFOUND {
			return clink.Invalid("donor", "donor %s does not exist", c.Donor)
		}
	}
	if err != nil {
		return err
	}
	switch {
	case c.Donor != "" && c.Donor != d.Code:
		return clink.Invalid("donor", "%s does not match donor_id %d, which is %s", c.Donor, d.ID, d.Code)
	case d.Site != c.Site:
		return clink.Invalid("donor", "donor %s belongs to %s, not %s", d.Code, d.Site, c.Site)
	case d.Voided:
		return clink.Invalid("donor", "donor %s is void", d.Code)
	}
	c.DonorID, c.Donor = d.ID, d.Code
	return nil
}

// resolveProtocol finds the culture's protocol version.
func (t *tx) resolveProtocol(ctx context.Context, c *clink.Culture) error {
	var p *clink.Protocol
	var err error
	if c.ProtocolID != 0 {
		p, err = t.protocolByID(ctx, c.ProtocolID)
		if clink.ErrorCode(err) == clink.ENOTFOUND {
			return clink.Invalid("protocol_id", "protocol %d does not exist", c.ProtocolID)
		}
	} else {
		if c.ProtocolVersion <= 0 {
			return clink.Invalid("protocol_version", "is required with protocol_name")
		}
		p, err = t.protocolByKey(ctx, c.ProtocolName, c.ProtocolVersion)
		if clink.ErrorCode(err) == clink.ENOTFOUND {
			return clink.Invalid("protocol_id", "protocol %s v%d does not exist", c.ProtocolName, c.ProtocolVersion)
		}
	}
	if err != nil {
		return err
	}
	switch {
	case c.ProtocolName != "" && (c.ProtocolName != p.Name || (c.ProtocolVersion != 0 && c.ProtocolVersion != p.Version)):
		return clink.Invalid("protocol_id", "protocol %d is %s, not %s v%d", p.ID, p.Key(), c.ProtocolName, c.ProtocolVersion)
	case p.Voided:
		return clink.Invalid("protocol_id", "protocol %s is void", p.Key())
	}
	c.ProtocolID, c.ProtocolName, c.ProtocolVersion = p.ID, p.Name, p.Version
	return nil
}

func (t *tx) cultureCodeTaken(ctx context.Context, code string) (bool, error) {
	var n int
	err := t.QueryRowContext(ctx, "SELECT COUNT(*) FROM cultures WHERE code = $1", code).Scan(&n)
	return n > 0, err
}

// FindCultureByID returns the culture with the id, or ENOTFOUND.
func (s *Store) FindCultureByID(ctx context.Context, id int64) (*clink.Culture, error) {
	var c *clink.Culture
	err := s.transact(ctx, "find_culture", true, func(t *tx) (err error) {
		c, err = t.cultureByID(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// FindCultureByCode returns the culture with the code, or ENOTFOUND.
func (s *Store) FindCultureByCode(ctx context.Context, code string) (*clink.Culture, error) {
	var c *clink.Culture
	err := s.transact(ctx, "find_culture", true, func(t *tx) (err error) {
		c, err = t.cultureByCode(ctx, code)
		return err
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// FindCultures returns a page of the cultures that match f, by id, and how many match.
func (s *Store) FindCultures(ctx context.Context, f clink.CultureFilter) ([]*clink.Culture, int, error) {
	pg, err := f.Page.Normalize()
	if err != nil {
		return nil, 0, err
	}
	var w where
	w.addIf(f.Site != "", "c.site = ?", f.Site)
	w.addIf(f.DonorID != 0, "c.donor_id = ?", f.DonorID)
	w.addIf(f.ProtocolID != 0, "c.protocol_id = ?", f.ProtocolID)
	w.addIf(f.Status != "", "c.status = ?", f.Status)
	out := []*clink.Culture{}
	var total int
	err = s.transact(ctx, "find_cultures", true, func(t *tx) (err error) {
		out, total, err = listPage(ctx, t, listQuery{count: "cultures c", from: cultureFrom, cols: cultureCols, order: "c.id"}, &w, pg, scanCulture)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// SetCultureStatus ends a running culture: completed, or stopped with a reason. A culture that
// is not running keeps its status (ECONFLICT).
func (s *Store) SetCultureStatus(ctx context.Context, id int64, ch clink.CultureStatusChange) (*clink.Culture, error) {
	switch ch.Status {
	case clink.StatusCompleted:
	case clink.StatusStopped:
		if err := requireReason(ch.Reason); err != nil {
			return nil, clink.Invalid("reason", "is required to stop a culture (e.g. contamination)")
		}
	case clink.StatusRunning:
		return nil, clink.Invalid("status", "a culture cannot be set to running; only completed or stopped")
	default:
		return nil, clink.Invalid("status", "%q is not one of completed, stopped", ch.Status)
	}
	if len(ch.Reason) > 2000 {
		return nil, clink.Invalid("reason", "is longer than 2000 characters")
	}
	var rec *clink.Culture
	err := s.transact(ctx, "set_culture_status", false, func(t *tx) error {
		old, err := t.cultureByID(ctx, id)
		if err != nil {
			return err
		}
		if old.Voided {
			return clink.Errorf(clink.ECONFLICT, "culture %s is void", old.Code)
		}
		if old.Status != clink.StatusRunning {
			return clink.Errorf(clink.ECONFLICT, "culture %s is %s; only a running culture changes status", old.Code, old.Status)
		}
		n := *old
		rec = &n
		rec.Status, rec.StopReason = ch.Status, ""
		if ch.Status == clink.StatusStopped {
			rec.StopReason = ch.Reason
		}
		t.restamp(ctx, &rec.Meta, old.Meta)
		_, err = t.ExecContext(ctx, "UPDATE cultures SET status = $1, stop_reason = $2, updated_at = $3, updated_by = $4 WHERE id = $5",
			rec.Status, rec.StopReason, t.ts(rec.UpdatedAt), rec.UpdatedBy, rec.ID)
		if err != nil {
			return err
		}
		return t.audit(ctx, actionStatus, "culture", rec.ID, rec.Site, ch.Reason, old, rec)
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}
