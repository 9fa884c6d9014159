package exchange

import (
	"fmt"
	"maps"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/clink-consortium/clink"
)

// The records read from the files. Each keeps its sheet and line so that later problems (a
// reference that does not resolve, a store error) point at the row. ok is false when a cell of
// the row had a problem: such a record is never written, but its key still resolves
// references, so that one wrong cell does not cascade into problems in other files.

type siteRec struct {
	at  *cells
	v   clink.Site
	ok  bool
	dup bool
}

type componentRec struct {
	at  *cells
	v   clink.Component
	ok  bool
	dup bool
}

type protocolRec struct {
	at   *cells
	v    clink.Protocol
	ok   bool
	dup  bool
	comp []*protocolComponentRec // in the order of v.Components
}

type protocolComponentRec struct {
	at      *cells
	name    string // protocol name
	version int
	v       clink.ProtocolComponent
	ok      bool
}

type donorRec struct {
	at  *cells
	v   clink.Donor
	ok  bool
	dup bool
}

type cultureRec struct {
	at  *cells
	v   clink.Culture
	ok  bool
	dup bool
	// status and stopReason are applied after the culture's observations and assays are
	// written: the culture is created running.
	status     string
	stopReason string
}

type observationRec struct {
	at         *cells
	v          clink.Observation
	ok         bool
	voided     bool
	voidReason string
}

type assayRec struct {
	at       *cells
	key      string
	v        clink.Assay
	ok       bool
	dup      bool
	readings []*readingRec
	// groups are the reading rows of each point, of the spontaneous and of the maximum
	// controls, to place the domain's problems on the right rows.
	points      [][]*readingRec
	spontaneous []*readingRec
	maximum     []*readingRec
}

type readingRec struct {
	at        *cells
	assay     string
	kind      string
	et        float64
	hasET     bool
	replicate int
	value     float64
	ok        bool
}

// data holds every record read, by table, in file order.
type data struct {
	sites      []*siteRec
	components []*componentRec
	protocols  []*protocolRec
	pcs        []*protocolComponentRec
	donors     []*donorRec
	cultures   []*cultureRec
	obs        []*observationRec
	assays     []*assayRec
	readings   []*readingRec

	siteByCode      map[string]*siteRec
	componentByName map[string]*componentRec
	protocolByKey   map[protoKey]*protocolRec
	donorByCode     map[string]*donorRec
	cultureByCode   map[string]*cultureRec
	assayByKey      map[string]*assayRec
}

type protoKey struct {
	name    string
	version int
}

func (k protoKey) String() string { return fmt.Sprintf("%s v%d", k.name, k.version) }

// parse reads the records of every sheet. Rows are checked on their own here (cells, the
// domain's Validate, duplicates within the files); references are checked later, against the
// store.
func parse(sheets map[string]*sheet, ps *problems) *data {
	d := &data{
		siteByCode:      map[string]*siteRec{},
		componentByName: map[string]*componentRec{},
		protocolByKey:   map[protoKey]*protocolRec{},
		donorByCode:     map[string]*donorRec{},
		cultureByCode:   map[string]*cultureRec{},
		assayByKey:      map[string]*assayRec{},
	}
	each := func(table string, fn func(c *cells)) {
		sh := sheets[table]
		if sh == nil {
			return
		}
		for _, r := range sh.rows {
			fn(newCells(sh, r, ps))
		}
	}
	each(TableSites, func(c *cells) {
		s := &siteRec{at: c}
		s.v = clink.Site{Code: c.str("code"), Name: c.str("name"), Kind: c.str("kind")}
		s.v.Site = s.v.Code
		s.ok = validate(c, s.v.Validate(), nil)
		if prev := d.siteByCode[s.v.Code]; prev != nil && s.v.Code != "" {
			c.fail("code", "site %s is also on line %d", s.v.Code, prev.at.r.line)
			s.ok, s.dup = false, true
		} else if s.v.Code != "" {
			d.siteByCode[s.v.Code] = s
		}
		d.sites = append(d.sites, s)
	})
	each(TableComponents, func(c *cells) {
		m := &componentRec{at: c}
		m.v = clink.Component{Name: c.str("name"), Site: c.str("site"), Category: c.str("category"),
			Unit: c.str("unit"), Description: c.text("description")}
		m.ok = validate(c, m.v.Validate(), nil)
		if prev := d.componentByName[m.v.Name]; prev != nil && m.v.Name != "" {
			c.fail("name", "component %s is also on line %d", m.v.Name, prev.at.r.line)
			m.ok, m.dup = false, true
		} else if m.v.Name != "" {
			d.componentByName[m.v.Name] = m
		}
		d.components = append(d.components, m)
	})
	each(TableProtocols, func(c *cells) {
		p := &protocolRec{at: c}
		p.v = clink.Protocol{Name: c.str("name"), Site: c.str("site"),
			StartingMaterial: c.str("starting_material"), Vessel: c.str("vessel"),
			FeederRatio: c.optFloat("feeder_ratio"), FeederRatioBasis: c.str("feeder_ratio_basis"),
			RestimulationDays: c.days("restimulation_days"), Description: c.text("description")}
		p.v.Version, _ = c.int("version")
		if p.v.Version < 1 && !c.bad["version"] && c.has("version") {
			c.fail("version", "%d is not a version number (1, 2, ...)", p.v.Version)
		}
		p.v.SeedingDensity, _ = c.float("seeding_density")
		p.v.DurationDays, _ = c.int("duration_days")
		k := protoKey{p.v.Name, p.v.Version}
		if prev := d.protocolByKey[k]; prev != nil && k.name != "" {
			c.fail("version", "protocol %s is also on line %d", k, prev.at.r.line)
			p.dup = true
		} else if k.name != "" {
			d.protocolByKey[k] = p
		}
		// Validated with its components, in check.
		d.protocols = append(d.protocols, p)
	})
	each(TableProtocolComponents, func(c *cells) {
		pc := &protocolComponentRec{at: c}
		pc.name = c.str("protocol_name")
		pc.version, _ = c.int("protocol_version")
		pc.v.Component = c.str("component")
		pc.v.Dose, _ = c.float("dose")
		pc.v.Unit = c.str("unit")
		pc.v.Days = c.days("days")
		d.pcs = append(d.pcs, pc)
	})
	each(TableDonors, func(c *cells) {
		r := &donorRec{at: c}
		r.v = clink.Donor{Code: c.str("code"), Site: c.str("site"), Sex: c.str("sex"),
			AgeBand: c.str("age_band"), HCMV: c.str("hcmv"), NKG2C: c.str("nkg2c"),
			KIRHaplotype: c.str("kir_haplotype"), KIRGenes: list(c.str("kir_genes")),
			HLACGroup: c.str("hla_c_group"), ConsentDate: c.date("consent_date"), Notes: c.text("notes")}
		r.v.Normalize()
		r.ok = validate(c, r.v.Validate(), nil)
		if prev := d.donorByCode[r.v.Code]; prev != nil && r.v.Code != "" {
			c.fail("code", "donor %s is also on line %d", r.v.Code, prev.at.r.line)
			r.ok, r.dup = false, true
		} else if r.v.Code != "" {
			d.donorByCode[r.v.Code] = r
		}
		d.donors = append(d.donors, r)
	})
	each(TableCultures, func(c *cells) {
		r := &cultureRec{at: c}
		r.v = clink.Culture{Code: c.str("code"), Site: c.str("site"), Donor: c.str("donor"),
			ProtocolName: c.str("protocol_name"), StartDate: c.date("start_date"), Notes: c.text("notes")}
		r.v.ProtocolVersion, _ = c.int("protocol_version")
		if r.v.ProtocolVersion < 1 && !c.bad["protocol_version"] && c.raw("protocol_version") != "" {
			c.fail("protocol_version", "%d is not a version number (1, 2, ...)", r.v.ProtocolVersion)
		}
		r.v.StartingCells, _ = c.float("starting_cells")
		r.v.StartingNKPct, _ = c.float("starting_nk_pct")
		r.v.Status = c.str("status")
		r.v.StopReason = c.text("stop_reason")
		r.ok = validate(c, r.v.Validate(), map[string]string{"protocol_id": "protocol_name"})
		r.status, r.stopReason = r.v.Status, r.v.StopReason
		if prev := d.cultureByCode[r.v.Code]; prev != nil && r.v.Code != "" {
			c.fail("code", "culture %s is also on line %d", r.v.Code, prev.at.r.line)
			r.ok, r.dup = false, true
		} else if r.v.Code != "" {
			d.cultureByCode[r.v.Code] = r
		}
		d.cultures = append(d.cultures, r)
	})
	type obsKey struct {
		culture string
		day     int
	}
	obsByDay := map[obsKey]*observationRec{}
	each(TableObservations, func(c *cells) {
		r := &observationRec{at: c}
		r.v = clink.Observation{Culture: c.str("culture"), Note: c.text("note"),
			ViabilityPct: c.optFloat("viability_pct"), NKPct: c.optFloat("nk_pct"), TPct: c.optFloat("t_pct"),
			VolumeML: c.optFloat("volume_ml"), SplitFractionKept: c.optFloat("split_fraction_kept")}
		day, hasDay := c.int("day")
		r.v.Day = day
		r.v.ViableCells, _ = c.float("viable_cells")
		for _, col := range c.sh.header {
			m, ok := strings.CutPrefix(col, markerPrefix)
			if _, usable := c.sh.index[col]; !ok || !usable {
				continue
			}
			if v, ok := c.float(col); ok {
				if r.v.Markers == nil {
					r.v.Markers = map[string]float64{}
				}
				r.v.Markers[m] = v
			}
		}
		r.voided = c.bool("voided")
		r.voidReason = c.text("void_reason")
		switch {
		case r.voided && strings.TrimSpace(r.voidReason) == "":
			c.fail("void_reason", "is required when voided is true")
		case !r.voided && r.voidReason != "":
			c.fail("void_reason", "is only for voided observations (voided is not true)")
		}
		r.ok = validate(c, r.v.Validate(), nil)
		if hasDay && r.v.Culture != "" && !r.voided {
			k := obsKey{r.v.Culture, day}
			if prev := obsByDay[k]; prev != nil {
				c.fail("day", "culture %s already has an observation on day %d (line %d)", k.culture, day, prev.at.r.line)
				r.ok = false
			} else {
				obsByDay[k] = r
			}
		}
		d.obs = append(d.obs, r)
	})
	each(TableAssays, func(c *cells) {
		r := &assayRec{at: c, key: c.str("assay")}
		r.v = clink.Assay{Culture: c.str("culture"), Target: c.str("target"), TargetName: c.text("target_name"),
			Method: c.str("method"), Note: c.text("note")}
		r.v.Day, _ = c.int("day")
		r.v.TargetsPerWell, _ = c.int("targets_per_well")
		r.v.DurationHours, _ = c.float("duration_hours")
		if prev := d.assayByKey[r.key]; prev != nil && r.key != "" {
			c.fail("assay", "assay %s is also on line %d", r.key, prev.at.r.line)
			r.dup = true
		} else if r.key != "" {
			d.assayByKey[r.key] = r
		}
		r.ok = !r.dup
		d.assays = append(d.assays, r)
	})
	each(TableAssayReadings, func(c *cells) {
		r := &readingRec{at: c, assay: c.str("assay"), kind: c.str("kind")}
		r.replicate, _ = c.int("replicate")
		r.value, _ = c.float("reading")
		r.et, r.hasET = c.float("et_ratio")
		switch r.kind {
		case KindSample:
			if !r.hasET && !c.bad["et_ratio"] {
				c.fail("et_ratio", "is required for a sample reading")
			}
		case KindSpontaneous, KindMaximum:
			if r.hasET {
				c.fail("et_ratio", "is only for sample readings: a %s control has no E:T ratio", r.kind)
			}
		case "":
		default:
			c.fail("kind", "%q is not one of %s, %s, %s", r.kind, KindSample, KindSpontaneous, KindMaximum)
		}
		if r.replicate < 1 && !c.bad["replicate"] && c.raw("replicate") != "" {
			c.fail("replicate", "%d is not a replicate number (1, 2, ...)", r.replicate)
		}
		r.ok = c.ok()
		d.readings = append(d.readings, r)
	})
	d.assembleAssays(sheets)
	d.assembleProtocols(sheets)
	return d
}

// validate reports the field errors of err (from a domain Validate) at the row of c, mapping
// field names to columns with rename (fields not in rename are columns of the same name, and
// markers.X is marker_X). Fields whose cell already had a problem are skipped. It reports
// whether the row is free of problems.
func validate(c *cells, err error, rename map[string]string) bool {
	before := maps.Clone(c.bad)
	for _, f := range clink.ErrorFields(err) {
		col := fieldColumn(f.Field, rename)
		if before[col] {
			continue
		}
		c.fail(col, "%s", f.Message)
	}
	if err != nil && len(clink.ErrorFields(err)) == 0 {
		c.fail("", "%s", clink.ErrorMessage(err))
	}
	return c.ok()
}

var indexRE = regexp.MustCompile(`\[[0-9]+\]$`)

// fieldColumn maps a domain field name to the column that holds it.
func fieldColumn(field string, rename map[string]string) string {
	if col, ok := rename[field]; ok {
		return col
	}
	if m, ok := strings.CutPrefix(field, "markers."); ok {
		return markerPrefix + m
	}
	return indexRE.ReplaceAllString(field, "")
}

// assembleAssays groups the readings into their assays: the sample readings of each E:T ratio
// become a point (points in the order their ratio first appears), ordered by replicate.
func (d *data) assembleAssays(sheets map[string]*sheet) {
	byAssay := map[string][]*readingRec{}
	for _, r := range d.readings {
		if r.assay == "" {
			continue
		}
		a := d.assayByKey[r.assay]
		if a == nil {
			if sh := sheets[TableAssays]; sh == nil || !sh.incomplete {
				r.at.fail("assay", "assay %s is not in the assays table", r.assay)
				r.ok = false
			}
			continue
		}
		if !r.ok {
			a.ok = false
		}
		byAssay[r.assay] = append(byAssay[r.assay], r)
	}
	for _, a := range d.assays {
		if a.dup {
			continue
		}
		type group struct {
			kind string
			et   float64
		}
		var order []group
		members := map[group][]*readingRec{}
		for _, r := range byAssay[a.key] {
			if r.kind == "" || (r.kind == KindSample && !r.hasET) {
				continue
			}
			g := group{r.kind, r.et}
			if r.kind != KindSample {
				g.et = 0
			}
			if _, seen := members[g]; !seen {
				order = append(order, g)
			}
			members[g] = append(members[g], r)
		}
		a.v.Points = []clink.AssayPoint{}
		a.v.Spontaneous, a.v.Maximum = []float64{}, []float64{}
		for _, g := range order {
			rs := members[g]
			sort.SliceStable(rs, func(i, j int) bool { return rs[i].replicate < rs[j].replicate })
			vals := make([]float64, 0, len(rs))
			for i, r := range rs {
				if r.at.bad["replicate"] || r.at.raw("replicate") == "" {
					vals = append(vals, r.value)
					continue
				}
				if i > 0 && rs[i-1].replicate == r.replicate {
					r.at.fail("replicate", "replicate %d of this %s is also on line %d", r.replicate, groupName(g.kind, g.et), rs[i-1].at.r.line)
					r.ok, a.ok = false, false
				} else if r.replicate != i+1 {
					r.at.fail("replicate", "replicate %d of this %s follows %d: number replicates 1, 2, 3 ...", r.replicate, groupName(g.kind, g.et), i)
					r.ok, a.ok = false, false
				}
				vals = append(vals, r.value)
			}
			switch g.kind {
			case KindSample:
				a.v.Points = append(a.v.Points, clink.AssayPoint{ETRatio: g.et, Readings: vals})
				a.points = append(a.points, rs)
			case KindSpontaneous:
				a.v.Spontaneous = vals
				a.spontaneous = rs
			case KindMaximum:
				a.v.Maximum = vals
				a.maximum = rs
			}
		}
		a.readings = byAssay[a.key]
		a.ok = a.validate() && a.ok
	}
}

func groupName(kind string, et float64) string {
	if kind == KindSample {
		return "E:T ratio " + strconv.FormatFloat(et, 'g', -1, 64)
	}
	return kind + " control"
}

// validate runs the domain's Validate on the assembled assay, placing each problem on the
// reading row it concerns, or on the assay's row.
func (a *assayRec) validate() bool {
	ok := true
	before := map[*cells]map[string]bool{a.at: maps.Clone(a.at.bad)}
	for _, r := range a.readings {
		before[r.at] = maps.Clone(r.at.bad)
	}
	for _, f := range clink.ErrorFields(a.v.Validate()) {
		at, col, msg := a.at, f.Field, f.Message
		name, idx := splitField(f.Field)
		var group []*readingRec
		switch {
		case name == "points.et_ratio" || name == "points.readings":
			if idx[0] < len(a.points) {
				group = a.points[idx[0]]
			}
		case name == "spontaneous":
			group = a.spontaneous
		case name == "maximum":
			group = a.maximum
		}
		switch {
		case name == "points":
			col, msg = "assay", "has no sample readings in assay_readings: "+msg
		case len(group) == 0 && (name == "spontaneous" || name == "maximum"):
			col, msg = "assay", "has no "+name+" readings in assay_readings: "+msg
		case len(group) == 0:
			// A field of the assay's own row.
		case name == "points.et_ratio":
			at, col = group[0].at, "et_ratio"
		case len(idx) > 0 && (name == "spontaneous" || name == "maximum") || len(idx) > 1:
			// One reading: spontaneous[j], maximum[j] or points[i].readings[j].
			if j := idx[len(idx)-1]; j < len(group) {
				at = group[j].at
			}
			col = "reading"
		case name == "maximum" && !clink.IsRelease(a.v.Method):
			at, col = group[0].at, "kind"
		default:
			// The number of replicates of a point or control.
			at, col = group[0].at, "replicate"
		}
		if before[at][col] {
			continue
		}
		at.fail(col, "%s", msg)
		ok = false
	}
	return ok && a.at.ok()
}

// splitField splits a domain field name such as "points[2].readings[1]" into
// "points.readings" and its indices [2 1].
func splitField(field string) (string, []int) {
	var idx []int
	var b strings.Builder
	for {
		open := strings.IndexByte(field, '[')
		if open < 0 {
			break
		}
		n := strings.IndexByte(field[open:], ']')
		if n < 0 {
			break
		}
		v, _ := strconv.Atoi(field[open+1 : open+n])
		idx = append(idx, v)
		b.WriteString(field[:open])
		field = field[open+n+1:]
	}
	b.WriteString(field)
	return b.String(), idx
}

// assembleProtocols attaches protocol_components rows to their protocols. A component row must
// belong to a protocol of the protocols table: components of a version already in the database
// cannot be changed by an import.
func (d *data) assembleProtocols(sheets map[string]*sheet) {
	for _, pc := range d.pcs {
		if pc.name == "" || pc.at.bad["protocol_version"] || pc.at.raw("protocol_version") == "" {
			continue
		}
		k := protoKey{pc.name, pc.version}
		p := d.protocolByKey[k]
		if p == nil {
			if sh := sheets[TableProtocols]; sh == nil || !sh.incomplete {
				pc.at.fail("protocol_name", "protocol %s is not in the protocols table (an import cannot change the components of a protocol version already in the database)", k)
			}
			continue
		}
		p.v.Components = append(p.v.Components, pc.v)
		p.comp = append(p.comp, pc)
	}
}
