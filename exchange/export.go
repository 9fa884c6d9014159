package exchange

import (
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/clink-consortium/clink"
	"github.com/xuri/excelize/v2"
)

// table is one table ready to be written: its header and rows of cells. A cell is a string, a
// float64, an int, or nil for an empty cell.
type table struct {
	name   string
	header []string
	rows   [][]any
}

// ExportCSV writes one CSV file per table into dir (which must exist), named after the table,
// and returns the paths written. Files are comma-separated UTF-8 without a byte-order mark;
// rows are in a fixed order and numbers are written so that they read back exactly, so that
// exporting the same data twice gives the same files.
func ExportCSV(ctx context.Context, s clink.Store, dir string) ([]string, error) {
	tables, err := collect(ctx, s)
	if err != nil {
		return nil, err
	}
	var written []string
	for _, t := range tables {
		var buf bytes.Buffer
		if err := writeCSV(&buf, t); err != nil {
			return written, fmt.Errorf("export %s: %w", t.name, err)
		}
		path := filepath.Join(dir, t.name+".csv")
		if err := writeFileAtomic(path, buf.Bytes()); err != nil {
			return written, fmt.Errorf("export %s: %w", t.name, err)
		}
		written = append(written, path)
	}
	return written, nil
}

// ExportXLSX writes one workbook with a sheet per table to w. Numbers are numeric cells, all
// else text cells, so that Excel interprets nothing (a donor code or "+/+" stays as written).
func ExportXLSX(ctx context.Context, s clink.Store, w io.Writer) error {
	tables, err := collect(ctx, s)
	if err != nil {
		return err
	}
	f := excelize.NewFile()
	defer f.Close()
	first := f.GetSheetName(0)
	for i, t := range tables {
		if i == 0 {
			if err := f.SetSheetName(first, t.name); err != nil {
				return fmt.Errorf("export %s: %w", t.name, err)
			}
		} else if _, err := f.NewSheet(t.name); err != nil {
			return fmt.Errorf("export %s: %w", t.name, err)
		}
		if err := writeSheet(f, t); err != nil {
			return fmt.Errorf("export %s: %w", t.name, err)
		}
	}
	f.SetActiveSheet(0)
	if _, err := f.WriteTo(w); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

// writeSheet writes a table cell by cell. excelize's StreamWriter would use less memory, but
// it cuts floats to 15 significant digits, and the export must read back exactly: each float
// is written with as many decimals as its shortest exact representation needs.
func writeSheet(f *excelize.File, t *table) error {
	for j, h := range t.header {
		cell, _ := excelize.CoordinatesToCellName(j+1, 1)
		if err := f.SetCellStr(t.name, cell, h); err != nil {
			return err
		}
	}
	for i, r := range t.rows {
		for j, v := range r {
			cell, err := excelize.CoordinatesToCellName(j+1, i+2)
			if err != nil {
				return err
			}
			switch v := v.(type) {
			case nil:
			case string:
				err = f.SetCellStr(t.name, cell, v)
			case int:
				err = f.SetCellInt(t.name, cell, int64(v))
			case float64:
				err = f.SetCellFloat(t.name, cell, v, decimals(v), 64)
			default:
				err = f.SetCellStr(t.name, cell, fmt.Sprint(v))
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// decimals returns the number of decimals of the shortest plain-decimal form of v that reads
// back as v.
func decimals(v float64) int {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return len(s) - i - 1
	}
	return 0
}

func writeCSV(w io.Writer, t *table) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(t.header); err != nil {
		return err
	}
	rec := make([]string, len(t.header))
	for _, r := range t.rows {
		for i, v := range r {
			rec[i] = formatCell(v)
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// formatCell writes a cell as text; floats use the shortest form that reads back exactly.
func formatCell(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case int:
		return strconv.Itoa(v)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

// writeFileAtomic writes data to a temporary file beside path and renames it into place, so
// that a failed export never leaves a half-written file under the final name.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func optFloat(v *float64) any {
	if v == nil {
		return nil
	}
	return *v
}

func optString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func joinInts(ds []int) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = strconv.Itoa(d)
	}
	return strings.Join(parts, " ")
}

func metaCells(m clink.Meta) []any {
	var at any
	if !m.CreatedAt.IsZero() {
		at = m.CreatedAt.UTC().Format(time.RFC3339)
	}
	return []any{at, optString(m.CreatedBy)}
}

func headerOf(sc *schema, markers []string) []string {
	var h []string
	for _, c := range sc.columns {
		h = append(h, c.name)
		if c.name == "t_pct" {
			for _, m := range markers {
				h = append(h, markerPrefix+m)
			}
		}
	}
	return h
}

// pages calls list with successive pages until it has seen total items.
func pages[T any](list func(p clink.Page) ([]T, int, error)) ([]T, error) {
	var all []T
	for off := 0; ; off += clink.MaxLimit {
		items, total, err := list(clink.Page{Limit: clink.MaxLimit, Offset: off})
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if len(items) == 0 || len(all) >= total {
			return all, nil
		}
	}
}

// collect reads everything to export in one transaction, so that the tables agree with each
// other, and lays the tables out in a fixed order.
func collect(ctx context.Context, s clink.Store) ([]*table, error) {
	var tables []*table
	err := s.Atomic(ctx, func(tx clink.Store) error {
		var err error
		tables, err = collectTx(ctx, tx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return tables, nil
}

func collectTx(ctx context.Context, s clink.Store) ([]*table, error) {
	tabs := map[string]*table{}
	for _, name := range Tables {
		tabs[name] = &table{name: name, header: headerOf(schemas[name], nil)}
	}
	add := func(name string, cells ...any) {
		tabs[name].rows = append(tabs[name].rows, cells)
	}

	sites, err := s.ListSites(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing sites: %w", err)
	}
	slices.SortFunc(sites, func(a, b *clink.Site) int { return cmp.Compare(a.Code, b.Code) })
	for _, v := range sites {
		add(TableSites, append([]any{v.Code, v.Name, v.Kind}, metaCells(v.Meta)...)...)
	}

	comps, err := s.FindComponents(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("listing components: %w", err)
	}
	slices.SortFunc(comps, func(a, b *clink.Component) int { return cmp.Compare(a.Name, b.Name) })
	for _, v := range comps {
		add(TableComponents, append([]any{v.Name, v.Site, v.Category, v.Unit, optString(v.Description)}, metaCells(v.Meta)...)...)
	}

	protocols, err := pages(func(p clink.Page) ([]*clink.Protocol, int, error) {
		return s.FindProtocols(ctx, clink.ProtocolFilter{Page: p})
	})
	if err != nil {
		return nil, fmt.Errorf("listing protocols: %w", err)
	}
	slices.SortFunc(protocols, func(a, b *clink.Protocol) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Version, b.Version))
	})
	protocolByID := map[int64]*clink.Protocol{}
	for _, v := range protocols {
		protocolByID[v.ID] = v
		add(TableProtocols, append([]any{v.Name, v.Version, v.Site, v.StartingMaterial, optFloat(v.FeederRatio),
			optString(v.FeederRatioBasis), optString(joinInts(v.RestimulationDays)), v.Vessel, v.SeedingDensity,
			v.DurationDays, optString(v.Description)}, metaCells(v.Meta)...)...)
		for _, c := range v.Components {
			add(TableProtocolComponents, append([]any{v.Name, v.Version, c.Component, c.Dose, optString(c.Unit),
				joinInts(c.Days)}, metaCells(v.Meta)...)...)
		}
	}

	donors, err := pages(func(p clink.Page) ([]*clink.Donor, int, error) {
		return s.FindDonors(ctx, clink.DonorFilter{Page: p})
	})
	if err != nil {
		return nil, fmt.Errorf("listing donors: %w", err)
	}
	slices.SortFunc(donors, func(a, b *clink.Donor) int { return cmp.Compare(a.Code, b.Code) })
	donorByID := map[int64]*clink.Donor{}
	for _, v := range donors {
		donorByID[v.ID] = v
		add(TableDonors, append([]any{v.Code, v.Site, v.Sex, v.AgeBand, v.HCMV, v.NKG2C, v.KIRHaplotype,
			optString(strings.Join(v.KIRGenes, " ")), optString(v.HLACGroup), v.ConsentDate, optString(v.Notes)},
			metaCells(v.Meta)...)...)
	}

	cultures, err := pages(func(p clink.Page) ([]*clink.Culture, int, error) {
		return s.FindCultures(ctx, clink.CultureFilter{Page: p})
	})
	if err != nil {
		return nil, fmt.Errorf("listing cultures: %w", err)
	}
	slices.SortFunc(cultures, func(a, b *clink.Culture) int { return cmp.Compare(a.Code, b.Code) })
	cultureByID := map[int64]*clink.Culture{}
	for _, v := range cultures {
		cultureByID[v.ID] = v
		donor := v.Donor
		if d := donorByID[v.DonorID]; d != nil {
			donor = d.Code
		}
		pname, pversion := v.ProtocolName, v.ProtocolVersion
		if p := protocolByID[v.ProtocolID]; p != nil {
			pname, pversion = p.Name, p.Version
		}
		add(TableCultures, append([]any{v.Code, v.Site, donor, pname, pversion, v.StartDate, v.StartingCells,
			v.StartingNKPct, v.Status, optString(v.StopReason), optString(v.Notes)}, metaCells(v.Meta)...)...)
	}

	var obs []*clink.Observation
	used := map[string]bool{}
	for _, c := range cultures {
		os, err := pages(func(p clink.Page) ([]*clink.Observation, int, error) {
			return s.FindObservations(ctx, clink.ObservationFilter{CultureID: c.ID, IncludeVoided: true, Page: p})
		})
		if err != nil {
			return nil, fmt.Errorf("listing observations of culture %s: %w", c.Code, err)
		}
		slices.SortStableFunc(os, func(a, b *clink.Observation) int {
			return cmp.Or(cmp.Compare(a.Day, b.Day), cmp.Compare(a.ID, b.ID))
		})
		for _, o := range os {
			o.Culture = c.Code
			for m := range o.Markers {
				used[m] = true
			}
		}
		obs = append(obs, os...)
	}
	var markers []string
	for _, m := range clink.Markers {
		if used[m] {
			markers = append(markers, m)
		}
	}
	tabs[TableObservations].header = headerOf(schemas[TableObservations], markers)
	for _, o := range obs {
		cells := []any{o.Culture, o.Day, o.ViableCells, optFloat(o.ViabilityPct), optFloat(o.NKPct), optFloat(o.TPct)}
		for _, m := range markers {
			if v, ok := o.Markers[m]; ok {
				cells = append(cells, v)
			} else {
				cells = append(cells, nil)
			}
		}
		var voided any
		if o.Voided {
			voided = "true"
		}
		cells = append(cells, optFloat(o.VolumeML), optFloat(o.SplitFractionKept), optString(o.Note), voided, optString(o.VoidReason))
		add(TableObservations, append(cells, metaCells(o.Meta)...)...)
	}

	assays, err := pages(func(p clink.Page) ([]*clink.Assay, int, error) {
		return s.FindAssays(ctx, clink.AssayFilter{Page: p})
	})
	if err != nil {
		return nil, fmt.Errorf("listing assays: %w", err)
	}
	code := func(a *clink.Assay) string {
		if c := cultureByID[a.CultureID]; c != nil {
			return c.Code
		}
		return a.Culture
	}
	slices.SortStableFunc(assays, func(a, b *clink.Assay) int {
		return cmp.Or(cmp.Compare(code(a), code(b)), cmp.Compare(a.Day, b.Day), cmp.Compare(a.ID, b.ID))
	})
	seq := map[string]int{}
	for _, a := range assays {
		c := code(a)
		seq[c]++
		key := fmt.Sprintf("%s/%d", c, seq[c])
		add(TableAssays, append([]any{key, c, a.Day, a.Target, optString(a.TargetName), a.Method, a.TargetsPerWell,
			a.DurationHours, optString(a.Note)}, metaCells(a.Meta)...)...)
		meta := metaCells(a.Meta)
		for _, p := range a.Points {
			for i, v := range p.Readings {
				add(TableAssayReadings, append([]any{key, KindSample, p.ETRatio, i + 1, v}, meta...)...)
			}
		}
		for i, v := range a.Spontaneous {
			add(TableAssayReadings, append([]any{key, KindSpontaneous, nil, i + 1, v}, meta...)...)
		}
		for i, v := range a.Maximum {
			add(TableAssayReadings, append([]any{key, KindMaximum, nil, i + 1, v}, meta...)...)
		}
	}

	out := make([]*table, len(Tables))
	for i, name := range Tables {
		out[i] = tabs[name]
	}
	return out, nil
}
