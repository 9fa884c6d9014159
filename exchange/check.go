package exchange

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/clink-consortium/clink"
)

// checker checks the records' references against the files and the store, and decides which
// rows are already in the store (and so are skipped).
type checker struct {
	ctx    context.Context
	s      clink.Store
	d      *data
	sheets map[string]*sheet

	sites      map[string]*clink.Site
	components map[string]*clink.Component
	donors     map[string]*clink.Donor
	cultures   map[string]*clink.Culture
	protocols  map[protoKey]*clink.Protocol
	// observed maps a culture of the store to the days of its observations that are not void.
	observed map[int64]map[int]bool

	// existing marks the file's sites, components and protocols that the store holds with the
	// same content; they are not written again.
	existing map[any]bool
}

func newChecker(ctx context.Context, s clink.Store, d *data, sheets map[string]*sheet) *checker {
	return &checker{ctx: ctx, s: s, d: d, sheets: sheets,
		donors:    map[string]*clink.Donor{},
		cultures:  map[string]*clink.Culture{},
		protocols: map[protoKey]*clink.Protocol{},
		observed:  map[int64]map[int]bool{},
		existing:  map[any]bool{},
	}
}

// incomplete reports whether references into table cannot be decided because some of its rows
// or key columns could not be read.
func (ck *checker) incomplete(table string) bool {
	sh := ck.sheets[table]
	return sh != nil && sh.incomplete
}

// notFound reports whether err says the record does not exist; other errors are returned.
func notFound(err error) (bool, error) {
	if err == nil {
		return false, nil
	}
	if clink.ErrorCode(err) == clink.ENOTFOUND {
		return true, nil
	}
	return false, err
}

func (ck *checker) donor(code string) (*clink.Donor, error) {
	if v, ok := ck.donors[code]; ok {
		return v, nil
	}
	v, err := ck.s.FindDonorByCode(ck.ctx, code)
	if nf, err := notFound(err); err != nil {
		return nil, fmt.Errorf("looking up donor %s: %w", code, err)
	} else if nf {
		v = nil
	}
	ck.donors[code] = v
	return v, nil
}

func (ck *checker) culture(code string) (*clink.Culture, error) {
	if v, ok := ck.cultures[code]; ok {
		return v, nil
	}
	v, err := ck.s.FindCultureByCode(ck.ctx, code)
	if nf, err := notFound(err); err != nil {
		return nil, fmt.Errorf("looking up culture %s: %w", code, err)
	} else if nf {
		v = nil
	}
	ck.cultures[code] = v
	return v, nil
}

func (ck *checker) protocol(k protoKey) (*clink.Protocol, error) {
	if v, ok := ck.protocols[k]; ok {
		return v, nil
	}
	v, err := ck.s.FindProtocolByKey(ck.ctx, k.name, k.version)
	if nf, err := notFound(err); err != nil {
		return nil, fmt.Errorf("looking up protocol %s: %w", k, err)
	} else if nf {
		v = nil
	}
	ck.protocols[k] = v
	return v, nil
}

// observedDays returns the days of the store culture's observations that are not void.
func (ck *checker) observedDays(cultureID int64) (map[int]bool, error) {
	if days, ok := ck.observed[cultureID]; ok {
		return days, nil
	}
	days := map[int]bool{}
	for off := 0; ; off += clink.MaxLimit {
		os, total, err := ck.s.FindObservations(ck.ctx, clink.ObservationFilter{CultureID: cultureID, Page: clink.Page{Limit: clink.MaxLimit, Offset: off}})
		if err != nil {
			return nil, fmt.Errorf("listing observations of culture %d: %w", cultureID, err)
		}
		for _, o := range os {
			if !o.Voided {
				days[o.Day] = true
			}
		}
		if len(os) == 0 || off+len(os) >= total {
			break
		}
	}
	ck.observed[cultureID] = days
	return days, nil
}

// knownSite checks that a record's site is in the files or the store.
func (ck *checker) knownSite(at *cells, code string) {
	if code == "" || at.bad["site"] || ck.d.siteByCode[code] != nil || ck.sites[code] != nil || ck.incomplete(TableSites) {
		return
	}
	at.fail("site", "site %s is neither in the sites table nor in the database", code)
}

// check checks every reference and marks the rows already in the store. It returns an error
// only when the store fails; problems with the data are recorded on their rows.
func (ck *checker) check() error {
	d := ck.d
	sites, err := ck.s.ListSites(ck.ctx)
	if err != nil {
		return fmt.Errorf("listing sites: %w", err)
	}
	ck.sites = map[string]*clink.Site{}
	for _, s := range sites {
		ck.sites[s.Code] = s
	}
	for _, r := range d.sites {
		old := ck.sites[r.v.Code]
		if r.dup || old == nil {
			continue
		}
		switch {
		case old.Name != r.v.Name:
			r.at.fail("name", "site %s is already in the database, named %q", old.Code, old.Name)
		case old.Kind != r.v.Kind:
			r.at.fail("kind", "site %s is already in the database, of kind %s", old.Code, old.Kind)
		default:
			ck.existing[r] = true
		}
	}

	comps, err := ck.s.FindComponents(ck.ctx, "")
	if err != nil {
		return fmt.Errorf("listing components: %w", err)
	}
	ck.components = map[string]*clink.Component{}
	for _, c := range comps {
		ck.components[c.Name] = c
	}
	for _, r := range d.components {
		ck.knownSite(r.at, r.v.Site)
		old := ck.components[r.v.Name]
		if r.dup || old == nil {
			continue
		}
		switch {
		case old.Category != r.v.Category:
			r.at.fail("category", "component %s is already in the database, of category %s", old.Name, old.Category)
		case old.Unit != r.v.Unit:
			r.at.fail("unit", "component %s is already in the database, in %s", old.Name, old.Unit)
		case old.Site != r.v.Site:
			r.at.fail("site", "component %s is already in the database, from site %s", old.Name, old.Site)
		case old.Description != r.v.Description:
			r.at.fail("description", "component %s is already in the database, with another description", old.Name)
		default:
			ck.existing[r] = true
		}
	}

	if err := ck.checkProtocols(); err != nil {
		return err
	}

	for _, r := range d.donors {
		ck.knownSite(r.at, r.v.Site)
		if r.dup || r.v.Code == "" || r.at.bad["code"] {
			continue
		}
		old, err := ck.donor(r.v.Code)
		if err != nil {
			return err
		}
		if old != nil {
			r.at.fail("code", "donor %s is already in the database", r.v.Code)
		}
	}

	for _, r := range d.cultures {
		if err := ck.checkCulture(r); err != nil {
			return err
		}
	}
	for _, r := range d.obs {
		site, id, err := ck.cultureRef(r.at, r.v.Culture)
		if err != nil {
			return err
		}
		r.v.Site = site
		if id != 0 && !r.voided && !r.at.bad["day"] {
			days, err := ck.observedDays(id)
			if err != nil {
				return err
			}
			if days[r.v.Day] {
				r.at.fail("day", "culture %s already has an observation on day %d in the database", r.v.Culture, r.v.Day)
			}
		}
	}
	for _, r := range d.assays {
		site, _, err := ck.cultureRef(r.at, r.v.Culture)
		if err != nil {
			return err
		}
		r.v.Site = site
	}
	return nil
}

// cultureRef resolves the culture an observation or assay names: it returns the culture's site,
// and its ID when the culture is in the store rather than in the files.
func (ck *checker) cultureRef(at *cells, code string) (string, int64, error) {
	if code == "" || at.bad["culture"] {
		return "", 0, nil
	}
	if r := ck.d.cultureByCode[code]; r != nil {
		return r.v.Site, 0, nil
	}
	c, err := ck.culture(code)
	if err != nil {
		return "", 0, err
	}
	if c == nil {
		if !ck.incomplete(TableCultures) {
			at.fail("culture", "culture %s is neither in the cultures table nor in the database", code)
		}
		return "", 0, nil
	}
	return c.Site, c.ID, nil
}

// checkCulture checks a culture's site, donor (which must belong to the culture's site),
// protocol version and code.
func (ck *checker) checkCulture(r *cultureRec) error {
	ck.knownSite(r.at, r.v.Site)
	if code := r.v.Donor; code != "" && !r.at.bad["donor"] {
		site := ""
		if fd := ck.d.donorByCode[code]; fd != nil {
			site = fd.v.Site
		} else {
			sd, err := ck.donor(code)
			if err != nil {
				return err
			}
			if sd != nil {
				site = sd.Site
			} else if !ck.incomplete(TableDonors) {
				r.at.fail("donor", "donor %s is neither in the donors table nor in the database", code)
			}
		}
		if site != "" && r.v.Site != "" && site != r.v.Site && !r.at.bad["site"] {
			r.at.fail("donor", "donor %s belongs to site %s, not to the culture's site %s", code, site, r.v.Site)
		}
	}
	if r.v.ProtocolName != "" && !r.at.bad["protocol_version"] && r.v.ProtocolVersion != 0 {
		k := protoKey{r.v.ProtocolName, r.v.ProtocolVersion}
		if ck.d.protocolByKey[k] == nil {
			p, err := ck.protocol(k)
			if err != nil {
				return err
			}
			if p == nil && !ck.incomplete(TableProtocols) {
				r.at.fail("protocol_name", "protocol %s is neither in the protocols table nor in the database", k)
			}
		}
	}
	if !r.dup && r.v.Code != "" && !r.at.bad["code"] {
		old, err := ck.culture(r.v.Code)
		if err != nil {
			return err
		}
		if old != nil {
			r.at.fail("code", "culture %s is already in the database", r.v.Code)
		}
	}
	return nil
}

// checkProtocols validates each protocol with its components against the catalogue and
// compares it with the same version in the store.
func (ck *checker) checkProtocols() error {
	d := ck.d
	lookup := func(name string) *clink.Component {
		if r := d.componentByName[name]; r != nil {
			c := r.v
			return &c
		}
		return ck.components[name]
	}
	for _, p := range d.protocols {
		ck.knownSite(p.at, p.v.Site)
		p.v.Normalize()
		var fe clink.FieldErrors
		for _, f := range clink.ErrorFields(p.v.CheckComponents(lookup)) {
			if strings.HasSuffix(f.Field, ".component") && ck.incomplete(TableComponents) {
				continue
			}
			fe = append(fe, f)
		}
		fe = append(fe, clink.ErrorFields(p.v.Validate())...)
		p.placeErrors(fe)
		p.ok = p.at.ok()
		for _, pc := range p.comp {
			p.ok = p.ok && pc.at.ok()
		}
		if p.dup || p.at.bad["version"] || p.v.Name == "" || p.v.Version < 1 {
			p.ok = false
			continue
		}
		old, err := ck.protocol(protoKey{p.v.Name, p.v.Version})
		if err != nil {
			return err
		}
		if old == nil {
			continue
		}
		if diff := protocolDifferences(old, &p.v); diff != "" {
			p.at.fail("version", "protocol %s is already in the database with other values (%s)", old.Key(), diff)
			p.ok = false
			continue
		}
		ck.existing[p] = true
	}
	return nil
}

// placeErrors reports a protocol's field errors on its row, or for its components on their
// rows of protocol_components.
func (p *protocolRec) placeErrors(fe clink.FieldErrors) {
	before := map[*cells]map[string]bool{p.at: maps.Clone(p.at.bad)}
	for _, pc := range p.comp {
		before[pc.at] = maps.Clone(pc.at.bad)
	}
	for _, f := range fe {
		at, col := p.at, fieldColumn(f.Field, nil)
		if name, idx := splitField(f.Field); strings.HasPrefix(name, "components.") && len(idx) > 0 && idx[0] < len(p.comp) {
			at, col = p.comp[idx[0]].at, strings.TrimPrefix(name, "components.")
		}
		if before[at][col] {
			continue
		}
		at.fail(col, "%s", f.Message)
	}
}

// protocolDifferences names the fields in which two versions of a protocol differ, or "".
func protocolDifferences(a, b *clink.Protocol) string {
	var fields []string
	if a.Site != b.Site {
		fields = append(fields, "site")
	}
	for _, c := range clink.DiffProtocols(a, b).Changes {
		fields = append(fields, c.Field)
	}
	return strings.Join(fields, ", ")
}
