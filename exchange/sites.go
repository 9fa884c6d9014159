package exchange

import (
	"context"
	"fmt"

	"github.com/clink-consortium/clink"
)

// Plan is what the files of an import hold, table by table, with the site every data row
// belongs to, so that a caller can decide who may import them (a researcher writes only the
// records of their own site) and show the rows before they are written.
type Plan struct {
	// Tables are the tables given, in dependency order (Tables).
	Tables []PlanTable
}

// PlanTable is one table of the files.
type PlanTable struct {
	Table  string
	File   string // the file, or for a workbook "book.xlsx[sheet]"
	Header []string
	Rows   []PlanRow
}

// PlanRow is one data row of a table.
type PlanRow struct {
	// Row is the line of the file (the header is line 1), or the row of the sheet.
	Row   int
	Cells []string
	// Site is the site the row's record belongs to, or "" when it cannot be decided (the row
	// names a record that is neither in the files nor in the store, which Import reports).
	Site string
	// SiteColumn is the column the site is read from or reached through: "code" for a site,
	// "site" for components, protocols, donors and cultures, "protocol_name" for a protocol's
	// components, "culture" for observations and assays, and "assay" for assay readings.
	SiteColumn string
}

// Inspect reads files as Import does and returns their rows with the site of each. The site
// of a row that refers to another record (an observation's culture, an assay reading's assay)
// is that record's, from the files or else from the store; Inspect only reads the store.
// Problems with the files are not reported here: Import, with Options.DryRun to change
// nothing, reports every one. An error means the store failed.
func Inspect(ctx context.Context, s clink.Store, files []File, opt Options) (*Plan, error) {
	ps := &problems{}
	rd := &reader{ps: ps, sheets: map[string]*sheet{}, maxRows: opt.MaxRows}
	if rd.maxRows <= 0 {
		rd.maxRows = DefaultMaxRows
	}
	rd.read(files)
	plan := &Plan{}
	if rd.full {
		// Import refuses the whole import; its rows are not read.
		return plan, nil
	}
	d := parse(rd.sheets, ps)

	cultureSites := map[string]string{}
	cultureSite := func(code string) (string, error) {
		if code == "" {
			return "", nil
		}
		if r := d.cultureByCode[code]; r != nil {
			return r.v.Site, nil
		}
		if site, ok := cultureSites[code]; ok {
			return site, nil
		}
		c, err := s.FindCultureByCode(ctx, code)
		if nf, err := notFound(err); err != nil {
			return "", fmt.Errorf("inspect: looking up culture %s: %w", code, err)
		} else if nf {
			c = nil
		}
		site := ""
		if c != nil {
			site = c.Site
		}
		cultureSites[code] = site
		return site, nil
	}
	protocolSite := func(k protoKey) (string, error) {
		if p := d.protocolByKey[k]; p != nil {
			return p.v.Site, nil
		}
		if k.name == "" || k.version < 1 {
			return "", nil
		}
		p, err := s.FindProtocolByKey(ctx, k.name, k.version)
		if nf, err := notFound(err); err != nil {
			return "", fmt.Errorf("inspect: looking up protocol %s: %w", k, err)
		} else if nf {
			return "", nil
		}
		return p.Site, nil
	}

	// sites holds the site of each row, by its cells.
	type siteOf struct{ site, column string }
	sites := map[*cells]siteOf{}
	for _, r := range d.sites {
		sites[r.at] = siteOf{r.v.Code, "code"}
	}
	for _, r := range d.components {
		sites[r.at] = siteOf{r.v.Site, "site"}
	}
	for _, r := range d.protocols {
		sites[r.at] = siteOf{r.v.Site, "site"}
	}
	for _, r := range d.pcs {
		site, err := protocolSite(protoKey{r.name, r.version})
		if err != nil {
			return nil, err
		}
		sites[r.at] = siteOf{site, "protocol_name"}
	}
	for _, r := range d.donors {
		sites[r.at] = siteOf{r.v.Site, "site"}
	}
	for _, r := range d.cultures {
		sites[r.at] = siteOf{r.v.Site, "site"}
	}
	for _, r := range d.obs {
		site, err := cultureSite(r.v.Culture)
		if err != nil {
			return nil, err
		}
		sites[r.at] = siteOf{site, "culture"}
	}
	assaySites := map[string]string{}
	for _, r := range d.assays {
		site, err := cultureSite(r.v.Culture)
		if err != nil {
			return nil, err
		}
		sites[r.at] = siteOf{site, "culture"}
		if r.key != "" && !r.dup {
			assaySites[r.key] = site
		}
	}
	for _, r := range d.readings {
		sites[r.at] = siteOf{assaySites[r.assay], "assay"}
	}

	// The rows in file order, each with its site: parse made one cells per row, in order.
	byLine := map[*sheet]map[int]siteOf{}
	for c, so := range sites {
		if byLine[c.sh] == nil {
			byLine[c.sh] = map[int]siteOf{}
		}
		byLine[c.sh][c.r.line] = so
	}
	for _, t := range Tables {
		sh := rd.sheets[t]
		if sh == nil {
			continue
		}
		pt := PlanTable{Table: t, File: sh.label, Header: sh.header}
		for _, r := range sh.rows {
			so := byLine[sh][r.line]
			pt.Rows = append(pt.Rows, PlanRow{Row: r.line, Cells: r.cells, Site: so.site, SiteColumn: so.column})
		}
		plan.Tables = append(plan.Tables, pt)
	}
	return plan, nil
}
