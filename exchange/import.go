package exchange

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/clink-consortium/clink"
)

// Import reads files, validates every row of every file, checks every reference against the
// files and the store, and reports every problem in an *ImportError. When there is none it
// writes all records in one transaction of the store (s.Atomic), in dependency order, and
// reports what it wrote; a store error while writing aborts everything and is reported as a
// problem at the row being written. With opt.DryRun the writes are rolled back.
//
// Sites, components and protocol versions that the store already holds with the same content
// are skipped (Report.Skipped); donors, cultures and observations already in the store are
// problems. Imported donors and cultures keep their codes. Writes are attributed to the actor
// of ctx (see clink.WithActor).
func Import(ctx context.Context, s clink.Store, files []File, opt Options) (Report, error) {
	rep := Report{DryRun: opt.DryRun}
	ps := &problems{}
	rd := &reader{ps: ps, sheets: map[string]*sheet{}, maxRows: opt.MaxRows}
	if rd.maxRows <= 0 {
		rd.maxRows = DefaultMaxRows
	}
	if len(files) == 0 {
		return rep, &ImportError{Problems: []Problem{{File: "(no files)", Message: "give at least one CSV or XLSX file"}}}
	}
	rd.read(files)
	if rd.full {
		return rep, importError(ps, rd.sheets)
	}
	d := parse(rd.sheets, ps)
	err := s.Atomic(ctx, func(tx clink.Store) error {
		ck := newChecker(ctx, tx, d, rd.sheets)
		if err := ck.check(); err != nil {
			return err
		}
		if len(ps.list) > 0 {
			return importError(ps, rd.sheets)
		}
		w := &writer{ctx: ctx, s: tx, d: d, ck: ck, counts: map[string]int{}, skipped: map[string]int{}}
		for t := range rd.sheets {
			w.counts[t] = 0
		}
		if err := w.write(); err != nil {
			if len(ps.list) > 0 {
				return importError(ps, rd.sheets)
			}
			return err
		}
		rep.Counts, rep.Skipped = w.counts, w.skipped
		if opt.DryRun {
			return errDryRun
		}
		return nil
	})
	if errors.Is(err, errDryRun) {
		return rep, nil
	}
	if err != nil {
		var ie *ImportError
		if errors.As(err, &ie) {
			return Report{DryRun: opt.DryRun}, ie
		}
		return Report{DryRun: opt.DryRun}, fmt.Errorf("import: %w", err)
	}
	return rep, nil
}

// importError returns the problems sorted by file (in table order), row, and column (in the
// order of the header).
func importError(ps *problems, sheets map[string]*sheet) *ImportError {
	bySheet := map[string]*sheet{}
	for _, sh := range sheets {
		bySheet[sh.label] = sh
	}
	order := func(p Problem) (int, int) {
		sh := bySheet[p.File]
		if sh == nil {
			return 0, 0
		}
		col := len(sh.header)
		if p.Column == "" {
			col = -1
		}
		for i, h := range sh.header {
			if h == p.Column {
				col = i
				break
			}
		}
		return tableIndex(sh.table) + 1, col
	}
	list := slices.Clone(ps.list)
	slices.SortStableFunc(list, func(a, b Problem) int {
		fa, ca := order(a)
		fb, cb := order(b)
		return cmp.Or(fa-fb, strings.Compare(a.File, b.File)*min(fa, 1), a.Row-b.Row, ca-cb)
	})
	return &ImportError{Problems: list}
}

// writer creates the records in the store, in dependency order.
type writer struct {
	ctx     context.Context
	s       clink.Store
	d       *data
	ck      *checker
	counts  map[string]int
	skipped map[string]int
}

// refused records a store error as a problem at the row being written and returns an error
// that aborts the import. Errors that are not about the data (the database is down) are
// returned as they are.
func (w *writer) refused(at *cells, err error, placeFields func(clink.FieldErrors)) error {
	switch clink.ErrorCode(err) {
	case clink.EINVALID, clink.ECONFLICT, clink.ENOTFOUND, clink.EMALFORMED:
	default:
		return fmt.Errorf("%s line %d: %w", at.sh.label, at.r.line, err)
	}
	fe := clink.ErrorFields(err)
	if len(fe) == 0 {
		at.fail("", "the database refused the row: %s", clink.ErrorMessage(err))
	} else if placeFields != nil {
		placeFields(fe)
	} else {
		for _, f := range fe {
			at.fail(fieldColumn(f.Field, map[string]string{"protocol_id": "protocol_name", "donor_id": "donor", "culture_id": "culture"}), "%s", f.Message)
		}
	}
	return errors.New("exchange: the store refused a row")
}

func (w *writer) write() error {
	d, ctx, s := w.d, w.ctx, w.s
	for _, r := range d.sites {
		if w.ck.existing[r] {
			w.skipped[TableSites]++
			continue
		}
		if err := s.CreateSite(ctx, &r.v); err != nil {
			return w.refused(r.at, err, nil)
		}
		w.counts[TableSites]++
	}
	for _, r := range d.components {
		if w.ck.existing[r] {
			w.skipped[TableComponents]++
			continue
		}
		if err := s.CreateComponent(ctx, &r.v); err != nil {
			return w.refused(r.at, err, nil)
		}
		w.counts[TableComponents]++
	}
	// Versions keep their numbers; those of one name are created in order.
	protocols := slices.Clone(d.protocols)
	slices.SortStableFunc(protocols, func(a, b *protocolRec) int {
		if c := strings.Compare(a.v.Name, b.v.Name); c != 0 {
			return c
		}
		return a.v.Version - b.v.Version
	})
	for _, r := range protocols {
		if w.ck.existing[r] {
			old, err := w.ck.protocol(protoKey{r.v.Name, r.v.Version})
			if err != nil {
				return err
			}
			r.v.ID = old.ID
			w.skipped[TableProtocols]++
			w.skipped[TableProtocolComponents] += len(r.comp)
			continue
		}
		p := r.v
		if err := s.CreateProtocol(ctx, &p); err != nil {
			return w.refused(r.at, err, r.placeErrors)
		}
		if p.Version != r.v.Version {
			r.at.fail("version", "the database created version %d instead of %d", p.Version, r.v.Version)
			return errors.New("exchange: protocol version mismatch")
		}
		r.v.ID = p.ID
		w.counts[TableProtocols]++
		w.counts[TableProtocolComponents] += len(r.comp)
	}
	for _, r := range d.donors {
		if err := s.CreateDonor(ctx, &r.v); err != nil {
			return w.refused(r.at, err, nil)
		}
		w.counts[TableDonors]++
	}
	for _, r := range d.cultures {
		c := r.v
		if fd := d.donorByCode[c.Donor]; fd != nil {
			c.DonorID = fd.v.ID
		} else if sd := w.ck.donors[c.Donor]; sd != nil {
			c.DonorID = sd.ID
		}
		k := protoKey{c.ProtocolName, c.ProtocolVersion}
		if fp := d.protocolByKey[k]; fp != nil {
			c.ProtocolID = fp.v.ID
		} else if sp := w.ck.protocols[k]; sp != nil {
			c.ProtocolID = sp.ID
		}
		// The culture is created running; its final status is set once its observations and
		// assays are written.
		c.Status, c.StopReason = clink.StatusRunning, ""
		if err := s.CreateCulture(ctx, &c); err != nil {
			return w.refused(r.at, err, nil)
		}
		r.v.ID = c.ID
		w.counts[TableCultures]++
	}
	cultureID := func(code string) int64 {
		if fc := d.cultureByCode[code]; fc != nil {
			return fc.v.ID
		}
		if sc := w.ck.cultures[code]; sc != nil {
			return sc.ID
		}
		return 0
	}
	for _, r := range d.obs {
		o := r.v
		o.CultureID = cultureID(o.Culture)
		if err := s.CreateObservation(ctx, &o); err != nil {
			return w.refused(r.at, err, nil)
		}
		if r.voided {
			if _, err := s.VoidObservation(ctx, o.ID, r.voidReason); err != nil {
				return w.refused(r.at, err, func(fe clink.FieldErrors) {
					for _, f := range fe {
						r.at.fail("void_reason", "%s", f.Message)
					}
				})
			}
		}
		w.counts[TableObservations]++
	}
	for _, r := range d.assays {
		a := r.v
		a.CultureID = cultureID(a.Culture)
		if err := s.CreateAssay(ctx, &a); err != nil {
			return w.refused(r.at, err, nil)
		}
		w.counts[TableAssays]++
		w.counts[TableAssayReadings] += len(r.readings)
	}
	for _, r := range d.cultures {
		if r.status == "" || r.status == clink.StatusRunning {
			continue
		}
		if _, err := s.SetCultureStatus(ctx, r.v.ID, clink.CultureStatusChange{Status: r.status, Reason: r.stopReason}); err != nil {
			return w.refused(r.at, err, func(fe clink.FieldErrors) {
				for _, f := range fe {
					col := "status"
					if f.Field == "reason" || f.Field == "stop_reason" {
						col = "stop_reason"
					}
					r.at.fail(col, "%s", f.Message)
				}
			})
		}
	}
	return nil
}
