// Package manufacturing is CLINK's electronic batch record and release service (issue 8,
// gmp.md): it creates batches for treatment requests with their ISBT 128 identifiers and
// master record, checks every step, result and deviation entered against the record, holds
// the results against the release specification, computes the dose, signs with the rules of
// 21 CFR Part 11 and Annex 11 (roles, separation of duties, a signature bound to a hash of the
// record), verifies chain-of-custody scans, and renders the certificate and labels. The rules
// are the gmp package's; the records are a clink.Store's.
package manufacturing

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/gmp"
)

// Config is the configuration of manufacturing at a facility.
type Config struct {
	// Facility is the ISBT 128 Facility Identification Number the facility's DINs and COI
	// identifiers carry (5 characters, e.g. "G1234").
	Facility string
	// ProductDescription is the 5-character Product Description Code of the product, an
	// opaque value configured from the licensed ST-002 database (gmp.md §2.5).
	ProductDescription string
	// ShelfLifeHours is the expiry of a fresh product after its release; 0 selects 48 hours.
	ShelfLifeHours int
	// Location is the facility's time zone, used on labels and certificates; nil is UTC.
	Location *time.Location
	// BagMaxML and CryoBagMaxML are the maximum fill of one bag of the bag types used for a
	// fresh and a cryopreserved product: a larger dose is split into bags of equal volume
	// (gmp.md §5). Zero selects 200 mL (the bag of gmp.md's example) and 70 mL.
	BagMaxML, CryoBagMaxML float64
	// DMSOPct is the DMSO content of a cryopreserved product, % v/v; zero selects 10 %.
	DMSOPct float64
	// DMSOCapGPerKg is the protocol's DMSO limit in g/kg, checked and reported; zero selects
	// 1 g/kg (gmp.md §5: "about 1 g/kg/day is often quoted", to verify for the protocol).
	DMSOCapGPerKg float64
}

// DefaultConfig is the configuration used when none is given: the FIN and product code are
// placeholders (the FIN "G1234" is the worked example of gmp.md §2.4) that a facility replaces
// with its own.
var DefaultConfig = Config{Facility: "G1234", ProductDescription: "S0001", ShelfLifeHours: 48, BagMaxML: 200, CryoBagMaxML: 70,
	DMSOPct: 10, DMSOCapGPerKg: 1}

// DefaultSpecName is the name of the release specification batches follow unless told.
const DefaultSpecName = "default"

// Service is the manufacturing service on a store.
type Service struct {
	Store  clink.Store
	Config Config
	// Now returns the time; nil is time.Now.
	Now func() time.Time
}

// New returns the service on store with cfg (DefaultConfig for empty fields).
func New(store clink.Store, cfg Config) (*Service, error) {
	if cfg.Facility == "" {
		cfg.Facility = DefaultConfig.Facility
	}
	if cfg.ProductDescription == "" {
		cfg.ProductDescription = DefaultConfig.ProductDescription
	}
	if cfg.ShelfLifeHours == 0 {
		cfg.ShelfLifeHours = DefaultConfig.ShelfLifeHours
	}
	for _, d := range []struct {
		v   *float64
		def float64
	}{{&cfg.BagMaxML, DefaultConfig.BagMaxML}, {&cfg.CryoBagMaxML, DefaultConfig.CryoBagMaxML}, {&cfg.DMSOPct, DefaultConfig.DMSOPct},
		{&cfg.DMSOCapGPerKg, DefaultConfig.DMSOCapGPerKg}} {
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if err := gmp.ValidateFIN(cfg.Facility); err != nil {
		return nil, fmt.Errorf("manufacturing: facility: %w", err)
	}
	if _, err := gmp.NewProductCode(cfg.ProductDescription, gmp.CollectionVolunteerAllogeneic, gmp.Undivided); err != nil {
		return nil, fmt.Errorf("manufacturing: product description code: %w", err)
	}
	return &Service{Store: store, Config: cfg}, nil
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// ParseSpec reads a release specification's definition and checks it.
func ParseSpec(def json.RawMessage) (gmp.Spec, error) {
	var sp gmp.Spec
	if err := json.Unmarshal(def, &sp); err != nil {
		return gmp.Spec{}, clink.Invalid("definition", "is not a release specification: %v", err)
	}
	if err := sp.Validate(); err != nil {
		return gmp.Spec{}, err
	}
	return sp, nil
}

// EnsureDefaultSpec returns the latest version of the default release specification, writing
// version 1 from gmp.DefaultSpec when there is none.
func (s *Service) EnsureDefaultSpec(ctx context.Context) (*clink.ReleaseSpec, error) {
	specs, err := s.Store.FindReleaseSpecs(ctx, DefaultSpecName)
	if err != nil {
		return nil, err
	}
	if len(specs) > 0 {
		return specs[len(specs)-1], nil
	}
	def, err := json.Marshal(gmp.DefaultSpec())
	if err != nil {
		return nil, err
	}
	rs := &clink.ReleaseSpec{Name: DefaultSpecName, Definition: def, Reason: "defaults of gmp.md §4 (Lapteva et al. 2012)"}
	if err := s.Store.CreateReleaseSpec(ctx, rs); err != nil {
		if clink.ErrorCode(err) == clink.ECONFLICT { // written meanwhile
			specs, err2 := s.Store.FindReleaseSpecs(ctx, DefaultSpecName)
			if err2 == nil && len(specs) > 0 {
				return specs[len(specs)-1], nil
			}
		}
		return nil, err
	}
	return rs, nil
}

// ReviseSpec writes the next version of the specification name with limits, after checking
// it; reason is required and kept in the audit trail.
func (s *Service) ReviseSpec(ctx context.Context, name string, spec gmp.Spec, reason string) (*clink.ReleaseSpec, error) {
	spec.Name = name
	specs, err := s.Store.FindReleaseSpecs(ctx, name)
	if err != nil {
		return nil, err
	}
	spec.Version = len(specs) + 1
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	def, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	rs := &clink.ReleaseSpec{Name: name, Definition: def, Reason: reason}
	if err := s.Store.CreateReleaseSpec(ctx, rs); err != nil {
		return nil, err
	}
	return rs, nil
}

// NewBatch is what creating a batch needs.
type NewBatch struct {
	RequestID int64 `json:"request_id"`
	// Site is the manufacturing site.
	Site string `json:"site"`
	// SpecID is the release specification version; 0 selects the latest default.
	SpecID int64 `json:"spec_id,omitempty"`
}

// CreateBatch creates a batch for a treatment request: the next DIN of the facility this year
// with its check character, a lot number, the product code, a chain-of-identity identifier,
// and the master record of the request's protocol version. The DIN sequence is read and used
// in one transaction; a DIN taken meanwhile by another server is retried.
func (s *Service) CreateBatch(ctx context.Context, nb NewBatch) (*clink.Batch, error) {
	var out *clink.Batch
	for attempt := 0; ; attempt++ {
		err := s.Store.Atomic(ctx, func(st clink.Store) error {
			b, err := s.newBatch(ctx, st, nb)
			if err != nil {
				return err
			}
			if err := st.CreateBatch(ctx, b); err != nil {
				return err
			}
			out = b
			return nil
		})
		if clink.ErrorCode(err) == clink.ECONFLICT && attempt < 3 {
			continue
		}
		if err != nil {
			return nil, err
		}
		return out, nil
	}
}

func (s *Service) newBatch(ctx context.Context, st clink.Store, nb NewBatch) (*clink.Batch, error) {
	var fe clink.FieldErrors
	req, err := st.FindTreatmentRequestByID(ctx, nb.RequestID)
	if clink.ErrorCode(err) == clink.ENOTFOUND {
		fe.Addf("request_id", "no treatment request has the id %d", nb.RequestID)
	} else if err != nil {
		return nil, err
	}
	var spec *clink.ReleaseSpec
	if nb.SpecID != 0 {
		spec, err = st.FindReleaseSpecByID(ctx, nb.SpecID)
		if clink.ErrorCode(err) == clink.ENOTFOUND {
			fe.Addf("spec_id", "no release specification has the id %d", nb.SpecID)
		} else if err != nil {
			return nil, err
		}
	} else {
		svc := *s
		svc.Store = st
		if spec, err = svc.EnsureDefaultSpec(ctx); err != nil {
			return nil, err
		}
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	if _, err := ParseSpec(spec.Definition); err != nil {
		return nil, fmt.Errorf("release specification %s v%d: %w", spec.Name, spec.Version, err)
	}
	prot, err := st.FindProtocolByID(ctx, req.ProtocolID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	year := now.Year()
	seq, err := st.MaxDINSequence(ctx, s.Config.Facility, year%100)
	if err != nil {
		return nil, err
	}
	seq++
	din, err := gmp.NewDIN(s.Config.Facility, year, seq)
	if err != nil {
		return nil, clink.Errorf(clink.ECONFLICT, "the facility %s has used every DIN of %d: %v", s.Config.Facility, year, err)
	}
	product, err := gmp.NewProductCode(s.Config.ProductDescription, gmp.CollectionVolunteerAllogeneic, gmp.Undivided)
	if err != nil {
		return nil, err
	}
	coi, err := gmp.NewCOI(s.Config.Facility, year, fmt.Sprintf("%06d", seq))
	if err != nil {
		return nil, err
	}
	return &clink.Batch{
		Site: nb.Site, Lot: fmt.Sprintf("%s-%02d-%06d", s.Config.Facility, year%100, seq),
		DIN: din.String(), Check: string(din.Check()), Facility: s.Config.Facility, DINYear: year % 100, DINSequence: seq,
		ProductCode: product.String(), COI: coi.String(),
		RequestID: req.ID, ProtocolID: prot.ID, SpecID: spec.ID, Steps: MasterRecord(prot), Status: clink.BatchInProcess,
	}, nil
}
