package sqldb

import (
	"context"

	"github.com/clink-consortium/clink"
)

const donorCols = "id, code, site, sex, age_band, hcmv, nkg2c, kir_haplotype, kir_genes, hla_c_group, consent_date, notes, voided, void_reason, " + metaCols

func scanDonor(r scanner) (*clink.Donor, error) {
	d := &clink.Donor{}
	dest := []any{&d.ID, &d.Code, &d.Site, &d.Sex, &d.AgeBand, &d.HCMV, &d.NKG2C, &d.KIRHaplotype,
		jsonCol{&d.KIRGenes}, &d.HLACGroup, &d.ConsentDate, &d.Notes, &d.Voided, &d.VoidReason}
	if err := r.Scan(append(dest, metaDest(&d.Meta)...)...); err != nil {
		return nil, err
	}
	if d.KIRGenes == nil {
		d.KIRGenes = []string{}
	}
	return d, nil
}

// CreateDonor adds a donor, generating its code when it is empty. A given code must be new.
func (s *Store) CreateDonor(ctx context.Context, d *clink.Donor) error {
	rec := *d
	rec.KIRGenes = append([]string(nil), d.KIRGenes...)
	rec.Normalize()
	if err := rec.Validate(); err != nil {
		return err
	}
	err := s.transact(ctx, "create_donor", false, func(t *tx) error {
		if err := t.checkSite(ctx, rec.Site); err != nil {
			return err
		}
		if rec.Code == "" {
			// 50 random bits: a clash is all but impossible, but cheap to rule out.
			for {
				rec.Code = clink.NewDonorCode()
				taken, err := t.donorCodeTaken(ctx, rec.Code)
				if err != nil {
					return err
				}
				if !taken {
					break
				}
			}
		} else if taken, err := t.donorCodeTaken(ctx, rec.Code); err != nil {
			return err
		} else if taken {
			return clink.Errorf(clink.ECONFLICT, "donor %s already exists", rec.Code)
		}
		rec.Voided, rec.VoidReason = false, ""
		t.stamp(ctx, &rec.Meta)
		genes, err := jsonText(rec.KIRGenes)
		if err != nil {
			return err
		}
		err = t.QueryRowContext(ctx, `INSERT INTO donors (code, site, sex, age_band, hcmv, nkg2c, kir_haplotype, kir_genes,
			hla_c_group, consent_date, notes, voided, void_reason, `+metaCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id`,
			rec.Code, rec.Site, rec.Sex, rec.AgeBand, rec.HCMV, rec.NKG2C, rec.KIRHaplotype, genes,
			rec.HLACGroup, rec.ConsentDate, rec.Notes, rec.Voided, rec.VoidReason,
			t.ts(rec.CreatedAt), rec.CreatedBy, t.ts(rec.UpdatedAt), rec.UpdatedBy).Scan(&rec.ID)
		if err != nil {
			return err
		}
		return t.audit(ctx, actionCreate, "donor", rec.ID, rec.Site, "", nil, &rec)
	})
	if err != nil {
		return err
	}
	*d = rec
	return nil
}

func (t *tx) donorCodeTaken(ctx context.Context, code string) (bool, error) {
	var n int
	err := t.QueryRowContext(ctx, "SELECT COUNT(*) FROM donors WHERE code = $1", code).Scan(&n)
	return n > 0, err
}

func (t *tx) donorByID(ctx context.Context, id int64) (*clink.Donor, error) {
	d, err := scanDonor(t.QueryRowContext(ctx, "SELECT "+donorCols+" FROM donors WHERE id = $1", id))
	return d, notFound(err, "donor %d not found", id)
}

func (t *tx) donorByCode(ctx context.Context, code string) (*clink.Donor, error) {
	d, err := scanDonor(t.QueryRowContext(ctx, "SELECT "+donorCols+" FROM donors WHERE code = $1", code))
	return d, notFound(err, "donor %s not found", code)
}

// FindDonorByID returns the donor with the id, or ENOTFOUND.
func (s *Store) FindDonorByID(ctx context.Context, id int64) (*clink.Donor, error) {
	var d *clink.Donor
	err := s.transact(ctx, "find_donor", true, func(t *tx) (err error) {
		d, err = t.donorByID(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// FindDonorByCode returns the donor with the code, or ENOTFOUND.
func (s *Store) FindDonorByCode(ctx context.Context, code string) (*clink.Donor, error) {
	var d *clink.Donor
	err := s.transact(ctx, "find_donor", true, func(t *tx) (err error) {
		d, err = t.donorByCode(ctx, code)
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// FindDonors returns a page of the donors that match f, by id, and how many match.
func (s *Store) FindDonors(ctx context.Context, f clink.DonorFilter) ([]*clink.Donor, int, error) {
	p, err := f.Page.Normalize()
	if err != nil {
		return nil, 0, err
	}
	var w where
	w.addIf(f.Site != "", "site = ?", f.Site)
	w.addIf(f.HCMV != "", "hcmv = ?", f.HCMV)
	w.addIf(f.NKG2C != "", "nkg2c = ?", f.NKG2C)
	w.addIf(f.KIR != "", "kir_haplotype = ?", f.KIR)
	out := []*clink.Donor{}
	var total int
	err = s.transact(ctx, "find_donors", true, func(t *tx) (err error) {
		out, total, err = listPage(ctx, t, listQuery{count: "donors", from: "donors", cols: donorCols, order: "id"}, &w, p, scanDonor)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// UpdateDonor corrects the donor with d's id. Its code and site cannot change: left empty they
// are taken from the stored donor, and a different value is EINVALID.
func (s *Store) UpdateDonor(ctx context.Context, d *clink.Donor, reason string) error {
	if err := requireReason(reason); err != nil {
		return err
	}
	if d.ID <= 0 {
		return clink.Invalid("id", "is required to correct a donor")
	}
	var rec clink.Donor
	err := s.transact(ctx, "update_donor", false, func(t *tx) error {
		old, err := t.donorByID(ctx, d.ID)
		if err != nil {
			return err
		}
		rec = *d
		rec.KIRGenes = append([]string(nil), d.KIRGenes...)
		var fe clink.FieldErrors
		if rec.Code == "" {
			rec.Code = old.Code
		} else if rec.Code != old.Code {
			fe.Addf("code", "cannot be changed (donor %s)", old.Code)
		}
		if rec.Site == "" {
			rec.Site = old.Site
		} else if rec.Site != old.Site {
			fe.Addf("site", "cannot be changed (donor %s belongs to %s)", old.Code, old.Site)
		}
		if err := fe.Err(); err != nil {
			return err
		}
		rec.Normalize()
		if err := rec.Validate(); err != nil {
			return err
		}
		if old.Voided {
			return clink.Errorf(clink.ECONFLICT, "donor %s is void and cannot be corrected", old.Code)
		}
		rec.Voided, rec.VoidReason = old.Voided, old.VoidReason
		t.restamp(ctx, &rec.Meta, old.Meta)
		genes, err := jsonText(rec.KIRGenes)
		if err != nil {
			return err
		}
		_, err = t.ExecContext(ctx, `UPDATE donors SET sex = $1, age_band = $2, hcmv = $3, nkg2c = $4, kir_haplotype = $5,
			kir_genes = $6, hla_c_group = $7, consent_date = $8, notes = $9, updated_at = $10, updated_by = $11 WHERE id = $12`,
			rec.Sex, rec.AgeBand, rec.HCMV, rec.NKG2C, rec.KIRHaplotype, genes, rec.HLACGroup, rec.ConsentDate, rec.Notes,
			t.ts(rec.UpdatedAt), rec.UpdatedBy, rec.ID)
		if err != nil {
			return err
		}
		return t.audit(ctx, actionUpdate, "donor", rec.ID, rec.Site, reason, old, &rec)
	})
	if err != nil {
		return err
	}
	*d = rec
	return nil
}
