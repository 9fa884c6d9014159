package exchange

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/clink-consortium/clink"
	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"
)

// parseProblems reads and parses files without a store and returns the problems found, as
// strings, sorted as Import sorts them.
func parseProblems(tb testing.TB, maxRows int, files ...File) []string {
	tb.Helper()
	ps := &problems{}
	rd := &reader{ps: ps, sheets: map[string]*sheet{}, maxRows: maxRows}
	if rd.maxRows == 0 {
		rd.maxRows = DefaultMaxRows
	}
	rd.read(files)
	if !rd.full {
		parse(rd.sheets, ps)
	}
	var out []string
	for _, p := range importError(ps, rd.sheets).Problems {
		out = append(out, p.String())
	}
	return out
}

func csvFile(name string, lines ...string) File {
	return File{Name: name, Data: []byte(strings.Join(lines, "\n") + "\n")}
}

func TestProblemString(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{File: "observations.csv", Row: 14, Column: "viability_pct", Message: "134 is above 100"},
			"observations.csv:14: viability_pct: 134 is above 100"},
		{Problem{File: "book.xlsx[observations]", Row: 3, Column: "day", Message: "is required"},
			"book.xlsx[observations]:3: day: is required"},
		{Problem{File: "donors.csv", Row: 2, Message: "has 3 cells, the header has 4"},
			"donors.csv:2: has 3 cells, the header has 4"},
		{Problem{File: "notes.txt", Message: "is neither a .csv nor a .xlsx file"},
			"notes.txt: is neither a .csv nor a .xlsx file"},
	}
	for _, tc := range tests {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
	e := &ImportError{Problems: []Problem{tests[0].p, tests[1].p}}
	if got, want := e.Error(), tests[0].want+"\n"+tests[1].want; got != want {
		t.Errorf("ImportError.Error() = %q, want %q", got, want)
	}
}

const obsHeader = "culture,day,viable_cells,viability_pct,nk_pct,t_pct"

func TestParseProblems(t *testing.T) {
	tests := []struct {
		name  string
		files []File
		want  []string
	}{
		{"canonical", []File{csvFile("observations.csv", obsHeader, "ZGZ-C0001,0,1e6,95,10,60", "ZGZ-C0001,7,2e6,134,,")},
			[]string{"observations.csv:3: viability_pct: 134 is above 100"}},
		{"semicolon delimiter and BOM", []File{{Name: "observations.csv",
			Data: []byte(utf8BOM + "culture;day;viable_cells;viability_pct\r\nZGZ-C0001;0;1000000;95.5\r\n")}},
			nil},
		{"decimal comma refused", []File{csvFile("observations.csv", "culture;day;viable_cells;viability_pct", "ZGZ-C0001;0;1000000;95,5")},
			[]string{"observations.csv:2: viability_pct: 95,5 has a decimal comma, which is ambiguous (a decimal or a thousands separator?): write 95.5 if that is the value, with a decimal point"}},
		{"thousands separator refused", []File{csvFile("observations.csv", "culture;day;viable_cells", "ZGZ-C0001;0;1,000,000")},
			[]string{"observations.csv:2: viable_cells: 1,000,000 has a comma: write numbers with a decimal point and no thousands separators"}},
		{"non-numeric", []File{csvFile("observations.csv", obsHeader, "ZGZ-C0001,seven,1e6,,,")},
			[]string{`observations.csv:2: day: "seven" is not a number`}},
		{"not a whole number", []File{csvFile("observations.csv", obsHeader, "ZGZ-C0001,7.5,1e6,,,")},
			[]string{`observations.csv:2: day: 7.5 is not a whole number`}},
		{"hex float and NaN are not decimals", []File{csvFile("observations.csv", obsHeader, "ZGZ-C0001,0,0x1p20,NaN,,")},
			[]string{`observations.csv:2: viable_cells: "0x1p20" is not a number`, `observations.csv:2: viability_pct: "NaN" is not a number`}},
		{"percent sign", []File{csvFile("observations.csv", obsHeader, "ZGZ-C0001,0,1e6,95%,,")},
			[]string{`observations.csv:2: viability_pct: 95% has a percent sign: write the number alone`}},
		{"empty required cell", []File{csvFile("observations.csv", obsHeader, "ZGZ-C0001,,1e6,,,")},
			[]string{"observations.csv:2: day: is required"}},
		{"wrong number of cells", []File{csvFile("observations.csv", obsHeader, "ZGZ-C0001,0,1e6", "ZGZ-C0001,1,1e6,,,,")},
			[]string{"observations.csv:2: has 3 cells, the header has 6", "observations.csv:3: has 7 cells, the header has 6"}},
		{"unknown column", []File{csvFile("sites.csv", "code,name,kind,city", "ZGZ,Zaragoza,lab,Zaragoza")},
			[]string{"sites.csv:1: city: is not a column of sites (columns: code, name, kind, created_at, created_by)"}},
		{"unknown marker", []File{csvFile("observations.csv", "culture,day,viable_cells,marker_CD99", "ZGZ-C0001,0,1e6,5")},
			[]string{`observations.csv:1: marker_CD99: "CD99" is not a known marker (CD16, CD57, NKG2A, NKG2C, NKG2D, DNAM-1, KIR2DL1, KIR2DL2/3, KIR3DL1, NKp30, NKp44, NKp46, CD25, CD69, CD107a, FcRγ, CD62L, TRAIL, FasL)`}},
		{"missing required column", []File{csvFile("sites.csv", "code,name", "ZGZ,Zaragoza")},
			[]string{"sites.csv:1: kind: required column is missing"}},
		{"duplicate header", []File{csvFile("sites.csv", "code,name,kind,name", "ZGZ,Zaragoza,lab,Z")},
			[]string{"sites.csv:1: name: appears twice (columns 2 and 4)"}},
		{"column without a name", []File{csvFile("sites.csv", "code,name,kind,", "ZGZ,Zaragoza,lab,")},
			[]string{"sites.csv:1: column 4 has no name"}},
		{"mixed delimiters", []File{csvFile("sites.csv", "code;name,kind", "ZGZ;Zaragoza,lab")},
			[]string{"sites.csv:1: the header mixes commas and semicolons: separate the columns with one of them"}},
		{"tabs", []File{csvFile("sites.csv", "code\tname\tkind", "ZGZ\tZaragoza\tlab")},
			[]string{"sites.csv:1: the columns are separated by tabs: separate them with commas or semicolons"}},
		{"not UTF-8", []File{{Name: "sites.csv", Data: []byte("code,name,kind\nZGZ,Zaragoza,lab\nNIM,N\xeemes,lab\n")}},
			[]string{`sites.csv:3: is not UTF-8 text: save the file as "CSV UTF-8"`}},
		{"bad quoting", []File{csvFile("sites.csv", "code,name,kind", `ZGZ,Zara"goza,lab`)},
			[]string{`sites.csv:2: cannot be read as CSV (column 9): bare " in non-quoted-field`}},
		{"empty file", []File{{Name: "sites.csv", Data: []byte(utf8BOM + "\n")}},
			[]string{"sites.csv: is empty: the first line must name the columns"}},
		{"unknown file", []File{csvFile("people.csv", "name"), {Name: "notes.txt"}},
			[]string{"people.csv: is not named after a table (sites.csv, components.csv, protocols.csv, protocol_components.csv, donors.csv, cultures.csv, observations.csv, assays.csv, assay_readings.csv)",
				"notes.txt: is neither a .csv nor a .xlsx file"}},
		{"table given twice", []File{csvFile("sites.csv", "code,name,kind"), csvFile("dir/sites.csv", "code,name,kind")},
			[]string{"dir/sites.csv: table sites is also given by sites.csv: give each table once"}},
		{"blank lines and rows of empty cells are skipped", []File{csvFile("sites.csv", "code;name;kind", "", ";;", "ZGZ;Zaragoza;lab", ";;")},
			nil},
		{"multi-line cell keeps line numbers", []File{csvFile("sites.csv", "code,name,kind", `ZGZ,"Zara`, `goza",lab`, "bcn,Barcelona,lab")},
			[]string{`sites.csv:4: code: "bcn" is not a site code (three capital letters, e.g. ZGZ)`}},
		{"duplicate keys", []File{csvFile("sites.csv", "code,name,kind", "ZGZ,Zaragoza,lab", "ZGZ,Zaragoza,lab")},
			[]string{"sites.csv:3: code: site ZGZ is also on line 2"}},
		{"every problem of a row and of several rows", []File{csvFile("donors.csv",
			"code,site,sex,age_band,hcmv,nkg2c,kir_genes,consent_date",
			"DIIIIIIIIII-0,ZGZ,f,25-29,positive,+/+,2DL1 2DS4,2024-01-10",
			"DKQ2M9XW4R7-A,zgz,female,25-30,maybe,+/+,2DL1;3DS1,",
		)}, []string{
			`donors.csv:2: code: "DIIIIIIIIII-0" is not a donor code: 'I' is not allowed`,
			`donors.csv:2: sex: "f" is not one of female, male, unknown`,
			`donors.csv:3: code: "DKQ2M9XW4R7-A" has a wrong check character (mistyped?)`,
			`donors.csv:3: site: "zgz" is not a site code`,
			`donors.csv:3: age_band: "25-30" is not a five-year age band such as 25-29 (15 to 99), nor unknown`,
			`donors.csv:3: hcmv: "maybe" is not one of positive, negative, equivocal, unknown`,
			`donors.csv:3: consent_date: is required`,
		}},
		{"readings placed on their rows", []File{
			csvFile("assays.csv", "assay,culture,day,target,method", "A1,ZGZ-C0001,14,K562,flow-based", "A2,ZGZ-C0001,14,K562,51Cr release"),
			csvFile("assay_readings.csv", "assay,kind,et_ratio,replicate,reading",
				"A1,sample,10,1,40", "A1,sample,10,2,140", "A1,spontaneous,,1,5", "A1,maximum,,1,90",
				"A1,sample,5,1,20", "A1,sample,5,3,21", "A3,sample,1,1,1", "A2,spontaneous,2,1,3", "A2,control,,1,3"),
		}, []string{
			"assays.csv:3: assay: has no sample readings in assay_readings: at least one E:T ratio is required",
			"assays.csv:3: assay: has no maximum readings in assay_readings: a release assay needs 1 to 24 maximum-release readings, got 0",
			"assay_readings.csv:3: reading: 140 is above 100 (flow readings are percent dead targets)",
			"assay_readings.csv:5: kind: a flow-based assay has no maximum-release control",
			"assay_readings.csv:7: replicate: replicate 3 of this E:T ratio 5 follows 1: number replicates 1, 2, 3 ...",
			"assay_readings.csv:8: assay: assay A3 is not in the assays table",
			"assay_readings.csv:9: et_ratio: is only for sample readings: a spontaneous control has no E:T ratio",
			`assay_readings.csv:10: kind: "control" is not one of sample, spontaneous, maximum`,
		}},
		{"protocol components need their protocol", []File{
			csvFile("protocol_components.csv", "protocol_name,protocol_version,component,dose,days", "NK-X,1,IL-2,100,0 3"),
		}, []string{"protocol_components.csv:2: protocol_name: protocol NK-X v1 is not in the protocols table (an import cannot change the components of a protocol version already in the database)"}},
		{"a missing column is reported once, not on every row", []File{
			csvFile("donors.csv", "site,consent_date", "ZGZ,2024-01-10", "ZGZ,2024-01-11"),
			csvFile("cultures.csv", "code,site,donor,protocol_name,protocol_version,start_date,starting_cells,starting_nk_pct",
				"ZGZ-C0001,ZGZ,DKQ2M9XW4R7-X,NK-X,1,2024-02-01,1e7,12.5"),
		}, []string{"donors.csv:1: code: required column is missing"}},
		{"file names in any case; protocol versions from 1", []File{
			csvFile("Cultures.CSV", "code,site,donor,protocol_name,protocol_version,start_date,starting_cells,starting_nk_pct",
				"ZGZ-C0001,ZGZ,DKQ2M9XW4R7-X,NK-X,0,2024-02-01,1e7,12.5"),
		}, []string{"Cultures.CSV:2: protocol_version: 0 is not a version number (1, 2, ...)"}},
		{"days lists", []File{
			csvFile("protocols.csv", "name,version,site,starting_material,vessel,seeding_density,duration_days,restimulation_days",
				"NK-X,1,ZGZ,PBMC,flask,1e6,21,7 x"),
		}, []string{`protocols.csv:2: restimulation_days: "x" is not a number (days are whole numbers separated by spaces, such as 0 7 14)`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := parseProblems(t, 0, tc.files...)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRowLimit(t *testing.T) {
	lines := []string{"code,name,kind"}
	for i := range 5 {
		lines = append(lines, fmt.Sprintf("A%c%c,Site,lab", 'A'+i, 'A'+i))
	}
	got := parseProblems(t, 4, csvFile("sites.csv", lines...))
	want := []string{"sites.csv:6: the import has more than 4 rows: split it into smaller imports"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if got := parseProblems(t, 5, csvFile("sites.csv", lines...)); len(got) != 0 {
		t.Errorf("5 rows with a limit of 5: got %q, want no problem", got)
	}
}

// xlsxFile builds a workbook with one sheet per entry of sheets.
func xlsxFile(tb testing.TB, name string, sheets map[string][][]any) File {
	tb.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for sn, rows := range sheets {
		if _, err := f.NewSheet(sn); err != nil {
			tb.Fatal(err)
		}
		for i, r := range rows {
			cell, _ := excelize.CoordinatesToCellName(1, i+1)
			if err := f.SetSheetRow(sn, cell, &r); err != nil {
				tb.Fatal(err)
			}
		}
	}
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		tb.Fatal(err)
	}
	return File{Name: name, Data: buf.Bytes()}
}

func TestParseXLSX(t *testing.T) {
	book := xlsxFile(t, "book.xlsx", map[string][][]any{
		"observations": {
			{"culture", "day", "viable_cells", "viability_pct"},
			{"ZGZ-C0001", 0, 1e6, 95.25},
			{},
			{"ZGZ-C0001", 7, 2.5e6, 134},
			{"ZGZ-C0001", 14, 2.5e6, 90, "extra"},
		},
		"donors": {
			// 45292 is the Excel serial of 2024-01-01: a date Excel recognised.
			{"code", "site", "consent_date"},
			{"D7KQ2M9XW4R-" + "Z", "ZGZ", 45292},
		},
		"Notes": {{"free text"}},
	})
	got := parseProblems(t, 0, book)
	want := []string{
		"book.xlsx[Notes]: is not named after a table (sites, components, protocols, protocol_components, donors, cultures, observations, assays, assay_readings)",
		`book.xlsx[donors]:2: code: "D7KQ2M9XW4R-Z" has a wrong check character (mistyped?)`,
		"book.xlsx[observations]:4: viability_pct: 134 is above 100",
		"book.xlsx[observations]:5: has a value in column 5, beyond the header's 4 columns",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if got := parseProblems(t, 0, File{Name: "broken.xlsx", Data: []byte("PK not a zip")}); len(got) != 1 || !strings.HasPrefix(got[0], "broken.xlsx: cannot be read as an XLSX workbook") {
		t.Errorf("broken workbook: got %q, want one problem saying it cannot be read", got)
	}
}

func TestParseValues(t *testing.T) {
	book := xlsxFile(t, "book.xlsx", map[string][][]any{
		"donors": {
			// 45292 is the Excel serial number of 2024-01-01 (days since 1899-12-30), which is
			// what a cell holds when Excel recognised a typed date.
			{"code", "site", "consent_date", "kir_genes"},
			{"DKQ2M9XW4R7-A", "ZGZ", 45292, "2DL1; 2DS4 KIR3DL1"},
		},
	})
	ps := &problems{}
	rd := &reader{ps: ps, sheets: map[string]*sheet{}, maxRows: DefaultMaxRows}
	rd.read([]File{book, csvFile("observations.csv", "culture;day;viable_cells;marker_CD16;marker_NKG2A;split_fraction_kept;voided;void_reason",
		"ZGZ-C0001;7;1.5e+06;88.25;;0.5;TRUE;miscounted")})
	d := parse(rd.sheets, ps)
	if len(d.donors) != 1 || len(d.obs) != 1 {
		t.Fatalf("got %d donors and %d observations, want 1 and 1", len(d.donors), len(d.obs))
	}
	dv := d.donors[0].v
	if dv.ConsentDate != "2024-01-01" {
		t.Errorf("consent_date: got %q, want 2024-01-01", dv.ConsentDate)
	}
	if diff := cmp.Diff([]string{"KIR2DL1", "KIR2DS4", "KIR3DL1"}, dv.KIRGenes); diff != "" {
		t.Errorf("kir_genes (-want +got):\n%s", diff)
	}
	o := d.obs[0]
	half := 0.5
	want := clink.Observation{Culture: "ZGZ-C0001", Day: 7, ViableCells: 1.5e6, Markers: map[string]float64{"CD16": 88.25}, SplitFractionKept: &half}
	if diff := cmp.Diff(want, o.v); diff != "" {
		t.Errorf("observation (-want +got):\n%s", diff)
	}
	if !o.voided || o.voidReason != "miscounted" {
		t.Errorf("voided, void_reason: got %v, %q, want true, miscounted", o.voided, o.voidReason)
	}
}
