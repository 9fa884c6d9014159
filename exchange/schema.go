package exchange

import (
	"slices"
	"strings"

	"github.com/clink-consortium/clink"
)

// column describes one column of a table. A required column must be in the header and none of
// its cells may be empty; any other column may be left out, and an empty cell means "not given".
type column struct {
	name     string
	required bool
	// meta columns are written by export for people to read and ignored by import.
	meta bool
}

// schema describes the columns of one table.
type schema struct {
	table   string
	columns []column
	// keys are the columns that other tables refer to this table by.
	keys []string
	// markers says whether the table takes one marker_X column per phenotype marker.
	markers bool
}

const markerPrefix = "marker_"

var metaColumns = []column{{name: "created_at", meta: true}, {name: "created_by", meta: true}}

// cols builds columns from their names; a name ending in * is required.
func cols(spec string) []column {
	var cs []column
	for _, n := range strings.Fields(spec) {
		name, req := strings.CutSuffix(n, "*")
		cs = append(cs, column{name: name, required: req})
	}
	return cs
}

// schemas holds the tables. The order of columns is the order export writes them in; the
// marker columns of observations go after t_pct.
var schemas = map[string]*schema{
	TableSites: {table: TableSites, keys: []string{"code"},
		columns: cols("code* name* kind*")},
	TableComponents: {table: TableComponents, keys: []string{"name"},
		columns: cols("name* site* category* unit description")},
	TableProtocols: {table: TableProtocols, keys: []string{"name", "version"},
		columns: cols("name* version* site* starting_material* feeder_ratio feeder_ratio_basis restimulation_days vessel* seeding_density* duration_days* description")},
	TableProtocolComponents: {table: TableProtocolComponents,
		columns: cols("protocol_name* protocol_version* component* dose* unit days*")},
	TableDonors: {table: TableDonors, keys: []string{"code"},
		columns: cols("code* site* sex age_band hcmv nkg2c kir_haplotype kir_genes hla_c_group consent_date* notes")},
	TableCultures: {table: TableCultures, keys: []string{"code"},
		columns: cols("code* site* donor* protocol_name* protocol_version* start_date* starting_cells* starting_nk_pct* status stop_reason notes")},
	TableObservations: {table: TableObservations, markers: true,
		columns: cols("culture* day* viable_cells* viability_pct nk_pct t_pct volume_ml split_fraction_kept note voided void_reason")},
	TableAssays: {table: TableAssays, keys: []string{"assay"},
		columns: cols("assay* culture* day* target* target_name method* targets_per_well duration_hours note")},
	TableAssayReadings: {table: TableAssayReadings,
		columns: cols("assay* kind* et_ratio replicate* reading*")},
}

func init() {
	for _, s := range schemas {
		s.columns = append(s.columns, metaColumns...)
	}
}

// column returns the column named name, which may be a marker column.
func (s *schema) column(name string) (column, bool) {
	for _, c := range s.columns {
		if c.name == name {
			return c, true
		}
	}
	if s.markers {
		if m, ok := strings.CutPrefix(name, markerPrefix); ok && slices.Contains(clink.Markers, m) {
			return column{name: name}, true
		}
	}
	return column{}, false
}

// names returns the names of the table's columns, for messages.
func (s *schema) names() string {
	var ns []string
	for _, c := range s.columns {
		ns = append(ns, c.name)
		if s.markers && c.name == "t_pct" {
			ns = append(ns, markerPrefix+"CD16 (one per marker)")
		}
	}
	return strings.Join(ns, ", ")
}

// Kinds of rows of the assay_readings table.
const (
	KindSample      = "sample"      // an experimental well at one E:T ratio
	KindSpontaneous = "spontaneous" // targets without effectors
	KindMaximum     = "maximum"     // targets lysed by detergent (release assays only)
)
