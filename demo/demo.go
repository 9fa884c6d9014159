// Package demo fills an empty store with a realistic, deterministic demo consortium: the six
// CLINK sites, the component catalogue, published expansion protocols (two of them in a
// second version), donors with realistic serology and genetics, and donor-paired culture
// campaigns whose observations and cytotoxicity assays come from the sim package.
//
// The same seed and date always give the same records, so demos, screenshots and tests are
// reproducible.
package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/clink-consortium/clink"
)

// Options controls Populate.
type Options struct {
	// Seed seeds every random draw; 0 means 1.
	Seed int64
	// Today is the date (YYYY-MM-DD) the demo data ends on: campaigns start in the two years
	// before it and cultures still running on it have observations only up to it. "" means
	// DefaultToday, so that the same seed always gives the same data.
	Today string
	// Password is the password of every demo user (Users). Empty means no users are created,
	// which keeps Populate fast where users do not matter. Each user's password is hashed
	// with argon2id, about 0.1 s apiece.
	Password string
	// Scale multiplies the number of donors of every site, and so the number of campaigns,
	// cultures and assays (for load tests and benchmarks); 0 means 1, the demo consortium.
	Scale int
}

// maxScale bounds Options.Scale: a hundred demo consortia are about 21,000 cultures.
const maxScale = 100

// DefaultToday is the date Populate uses when Options.Today is empty.
const DefaultToday = "2026-11-20"

// Summary counts what Populate wrote.
type Summary struct {
	Sites, Donors, Protocols, Cultures, Observations, Assays int
	// GatingTemplates and FCSFiles count the sites' gating templates and the attached files.
	GatingTemplates, FCSFiles int
	// Patients and Batches count the manufacturing records: a patient per treating hospital,
	// and, with users, a released batch and one in process at the Montpellier GMP unit.
	Patients, Batches int
	// Skipped is true when the store already held a site, in which case nothing was written.
	Skipped bool
	// Users counts the demo users created (see Users; none when Skipped or without a
	// password). UsersExist is true when Populate found users in a store it skipped.
	Users      int
	UsersExist bool
}

// Populate fills an empty store with the demo consortium in one transaction (s.Atomic), with
// every write attributed to the actor "demo". When the store already holds any site it writes
// nothing and returns a Summary with Skipped set. Bad options get an EINVALID error.
func Populate(ctx context.Context, s clink.Store, opt Options) (Summary, error) {
	if opt.Seed == 0 {
		opt.Seed = 1
	}
	if opt.Today == "" {
		opt.Today = DefaultToday
	}
	today, err := time.Parse(time.DateOnly, opt.Today)
	if err != nil {
		return Summary{}, clink.Invalid("today", "%q is not a date written YYYY-MM-DD", opt.Today)
	}
	if opt.Scale < 0 || opt.Scale > maxScale {
		return Summary{}, clink.Invalid("scale", "%d is outside 0..%d", opt.Scale, maxScale)
	}
	pl, err := makePlan(uint64(opt.Seed), today, max(opt.Scale, 1))
	if err != nil {
		return Summary{}, fmt.Errorf("demo: plan: %w", err)
	}
	if opt.Password != "" {
		for _, u := range Users() {
			if err := clink.CheckPassword(u.Username, opt.Password); err != nil {
				return Summary{}, fmt.Errorf("demo: password for %s: %w", u.Username, err)
			}
		}
	}
	ctx = clink.WithActor(ctx, "demo")
	var sum Summary
	err = s.Atomic(ctx, func(tx clink.Store) error {
		existing, err := tx.ListSites(ctx)
		if err != nil {
			return err
		}
		if len(existing) > 0 {
			sum.Skipped = true
			_, n, err := tx.FindUsers(ctx, clink.UserFilter{IncludeDisabled: true, Page: clink.Page{Limit: 1}})
			sum.UsersExist = n > 0
			return err
		}
		if sum, err = pl.write(ctx, tx); err != nil {
			return err
		}
		if opt.Password != "" {
			for _, u := range Users() {
				if err := tx.CreateUser(ctx, u, opt.Password); err != nil {
					return fmt.Errorf("user %s: %w", u.Username, err)
				}
				sum.Users++
			}
		}
		if sum.Batches, err = writeManufacturing(ctx, tx, today, opt.Password); err != nil {
			return fmt.Errorf("manufacturing: %w", err)
		}
		sum.Patients = 2
		return nil
	})
	if err != nil {
		return Summary{}, fmt.Errorf("demo: %w", err)
	}
	return sum, nil
}

// write stores the plan through tx.
func (pl *plan) write(ctx context.Context, tx clink.Store) (Summary, error) {
	var sum Summary
	for _, st := range sites {
		st.Site = st.Code
		if err := tx.CreateSite(ctx, &st); err != nil {
			return sum, fmt.Errorf("site %s: %w", st.Code, err)
		}
		sum.Sites++
	}
	for _, c := range components {
		if err := tx.CreateComponent(ctx, &c); err != nil {
			return sum, fmt.Errorf("component %s: %w", c.Name, err)
		}
	}
	protocolIDs := make([]int64, len(pl.protocols))
	for i, def := range pl.protocols {
		p := def.P
		if err := tx.CreateProtocol(ctx, &p); err != nil {
			return sum, fmt.Errorf("protocol %s: %w", p.Name, err)
		}
		protocolIDs[i] = p.ID
		sum.Protocols++
	}
	donorIDs := make([]int64, len(pl.donors))
	for i := range pl.donors {
		d := pl.donors[i].rec
		if err := tx.CreateDonor(ctx, &d); err != nil {
			return sum, fmt.Errorf("donor %s: %w", d.Code, err)
		}
		donorIDs[i] = d.ID
		sum.Donors++
	}
	obsIDs := make([][]int64, len(pl.cultures))
	for ci, cp := range pl.cultures {
		c := cp.rec
		c.DonorID, c.ProtocolID = donorIDs[cp.donor], protocolIDs[cp.protocol]
		if err := tx.CreateCulture(ctx, &c); err != nil {
			return sum, fmt.Errorf("culture of donor %s: %w", pl.donors[cp.donor].rec.Code, err)
		}
		sum.Cultures++
		for _, o := range cp.obs {
			o.CultureID = c.ID
			if err := tx.CreateObservation(ctx, &o); err != nil {
				return sum, fmt.Errorf("culture %s day %d: %w", c.Code, o.Day, err)
			}
			obsIDs[ci] = append(obsIDs[ci], o.ID)
			sum.Observations++
		}
		if cp.assay != nil {
			a := *cp.assay
			a.CultureID = c.ID
			if err := tx.CreateAssay(ctx, &a); err != nil {
				return sum, fmt.Errorf("culture %s assay: %w", c.Code, err)
			}
			sum.Assays++
		}
	}
	var err error
	if sum.GatingTemplates, sum.FCSFiles, err = pl.writeFlow(ctx, tx, obsIDs); err != nil {
		return sum, err
	}
	return sum, writeSpace(ctx, tx)
}
