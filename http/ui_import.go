package http

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/exchange"
)

// The import page: CSV files named after their tables, or one XLSX workbook, checked by a
// preview and then imported all or nothing (package exchange).
//
// Preview and confirm. A preview runs the import as a dry run (exchange.Options.DryRun: every
// check, every write inside a transaction that is rolled back) and shows what would be created
// per table, or every problem with its file, row and column. The server keeps nothing between
// requests: to import, the user sends the same files again with confirm, and the import runs
// again from the start, all or nothing. The preview's answer carries a digest of the files
// previewed (importDigest); a confirmation that carries it is refused when the files differ,
// so that what is written is what was shown.
//
// Who may import. The form's route admits admins and researchers (PermCreateComponent's route
// rule: there is no Permission of its own for imports); the page itself is readable by every
// user, and says who may import to those who may not. Admins may import records of any site; a
// researcher only records of their own site: every row of the files must belong to it, its
// site read from the row or reached through the record it refers to (exchange.Inspect). A row
// of another site refuses the whole import with 403, the rows named, and nothing written.

// importMaxBytes bounds the files of one import together.
const importMaxBytes = 32 << 20

// importPreviewRows is the number of rows of each table the preview shows.
const importPreviewRows = 5

// uiImportRoutes are the import page and its form.
func (s *Server) uiImportRoutes() []Route {
	return []Route{
		{"GET", "/import", "importPage", PermRead, s.importPage},
		{"POST", "/import", "importFiles", PermCreateComponent, s.importFiles},
	}
}

// importData is the data of the import page.
type importData struct {
	Limit int64
	// Message is the summary of a refused request.
	Message string
	// Problems are every problem of the files, in file order, or the rows of other sites.
	Problems []exchange.Problem
	// Preview is set after a preview without problems: the tables that would be written.
	Preview []importTable
	// Files names the files previewed and Digest identifies them (importDigest).
	Files  []string
	Digest string
	// Done is set on the page a confirmed import redirects to; Imported lists what it wrote.
	Done     bool
	Imported []importCount
	// Admin says whether the user may import for any site; else Site is theirs. CanImport
	// is false for users who may not import at all (the page then shows no form).
	Admin     bool
	CanImport bool
	Site      string
}

// importTable is one table of a preview: what would be created and its first rows.
type importTable struct {
	Table, File      string
	Created, Skipped int
	Header           []string
	Rows             []importRow
	// More is the number of rows not shown.
	More int
}

// importRow is one row of a preview table.
type importRow struct {
	Line  int
	Cells []string
}

// importCount is the number of rows an import created in one table.
type importCount struct {
	Table string
	N     int
}

// newImportData returns the page's data for the request's user.
func newImportData(r *http.Request) importData {
	u := UserFrom(r.Context())
	return importData{Limit: importMaxBytes, Admin: u.HasRole(clink.RoleAdmin), Site: u.Site,
		CanImport: permits(u, PermCreateComponent, u.Site)}
}

// importPage shows the form, and after a confirmed import (?done=1) what it wrote.
func (s *Server) importPage(w http.ResponseWriter, r *http.Request) error {
	d := newImportData(r)
	q := r.URL.Query()
	if q.Get("done") == "1" {
		d.Done = true
		for _, t := range exchange.Tables {
			if n, err := strconv.Atoi(q.Get(t)); err == nil && n > 0 {
				d.Imported = append(d.Imported, importCount{t, n})
			}
		}
	}
	return s.render(w, r, http.StatusOK, "import", page{Title: "Import", Nav: navImport, Data: d})
}

// importFiles previews the posted files, or with confirm imports them.
func (s *Server) importFiles(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	d := newImportData(r)
	refuse := func(status int, msg string) error {
		d.Message = msg
		return s.render(w, r, status, "import", page{Title: "Import", Nav: navImport, Data: d})
	}
	fields, files, err := readImportForm(w, r)
	if err != nil {
		var se *statusError
		if errors.As(err, &se) {
			return refuse(se.status, se.Error())
		}
		msg := clink.ErrorMessage(err)
		for _, f := range clink.ErrorFields(err) {
			msg += "; " + f.Field + ": " + f.Message
		}
		return refuse(http.StatusUnprocessableEntity, msg)
	}
	if len(files) == 0 {
		return refuse(http.StatusUnprocessableEntity, "Choose the CSV files (named after their tables) or one XLSX workbook to import.")
	}
	confirm := fields["confirm"] != ""
	digest := importDigest(files)
	if confirm && fields["digest"] != "" && fields["digest"] != digest {
		return refuse(http.StatusUnprocessableEntity, "These are not the files you previewed: preview them first, then import them.")
	}

	plan, err := exchange.Inspect(ctx, s.store, files, exchange.Options{})
	if err != nil {
		return err
	}
	siteProblems := d.siteProblems(plan)
	// A refusal by site still runs the dry run, so that the user sees every problem at once;
	// a dry run writes nothing.
	dryRun := !confirm || len(siteProblems) > 0
	rep, err := exchange.Import(ctx, s.store, files, exchange.Options{DryRun: dryRun})
	s.metrics.importRun(dryRun, err)
	var ie *exchange.ImportError
	if err != nil && !errors.As(err, &ie) {
		return err
	}
	if ie != nil || len(siteProblems) > 0 {
		if ie != nil {
			d.Problems = ie.Problems
		} else if !d.Admin {
			// Every reference resolved, so every row has a site; refuse one that has none
			// rather than guess.
			siteProblems = append(siteProblems, d.undecided(plan)...)
		}
		d.Problems = sortProblems(plan, append(d.Problems, siteProblems...))
		status, what := http.StatusUnprocessableEntity, "problem"
		if len(siteProblems) > 0 {
			status = http.StatusForbidden
		}
		if len(d.Problems) != 1 {
			what += "s"
		}
		return refuse(status, fmt.Sprintf("Nothing was imported: the files have %d %s, listed below with their file, row and column.", len(d.Problems), what))
	}
	if !d.Admin {
		if und := d.undecided(plan); len(und) > 0 {
			d.Problems = und
			return refuse(http.StatusForbidden, "Nothing was imported: the site of some rows cannot be decided.")
		}
	}
	if confirm {
		q := url.Values{"done": {"1"}}
		for _, t := range exchange.Tables {
			if n := rep.Counts[t]; n > 0 {
				q.Set(t, strconv.Itoa(n))
			}
		}
		http.Redirect(w, r, "/import?"+q.Encode(), http.StatusSeeOther)
		return nil
	}
	for _, f := range files {
		d.Files = append(d.Files, f.Name)
	}
	d.Digest = digest
	for _, t := range plan.Tables {
		it := importTable{Table: t.Table, File: t.File, Created: rep.Counts[t.Table], Skipped: rep.Skipped[t.Table], Header: t.Header}
		for i, row := range t.Rows {
			if i == importPreviewRows {
				it.More = len(t.Rows) - i
				break
			}
			cells := make([]string, len(t.Header))
			copy(cells, row.Cells)
			it.Rows = append(it.Rows, importRow{row.Row, cells})
		}
		d.Preview = append(d.Preview, it)
	}
	return s.render(w, r, http.StatusOK, "import", page{Title: "Import", Nav: navImport, Data: d})
}

// siteProblems names every row of plan that the user may not import: for a researcher, the
// rows of another site. Rows whose site is not known are left to the dry run, which reports
// the reference that does not resolve.
func (d importData) siteProblems(plan *exchange.Plan) []exchange.Problem {
	if d.Admin {
		return nil
	}
	var out []exchange.Problem
	for _, t := range plan.Tables {
		for _, row := range t.Rows {
			if row.Site == "" || row.Site == d.Site {
				continue
			}
			out = append(out, exchange.Problem{File: t.File, Row: row.Row, Column: row.SiteColumn,
				Message: fmt.Sprintf("the record belongs to site %s: a researcher imports only records of their own site (%s)", row.Site, cmp.Or(d.Site, "none"))})
		}
	}
	return out
}

// undecided names the rows of plan whose site is not known.
func (d importData) undecided(plan *exchange.Plan) []exchange.Problem {
	var out []exchange.Problem
	for _, t := range plan.Tables {
		for _, row := range t.Rows {
			if row.Site == "" {
				out = append(out, exchange.Problem{File: t.File, Row: row.Row, Column: row.SiteColumn,
					Message: "the record's site cannot be decided"})
			}
		}
	}
	return out
}

// sortProblems orders problems as the files are (tables in dependency order), then by row and
// column; problems of files that are no table come first.
func sortProblems(plan *exchange.Plan, ps []exchange.Problem) []exchange.Problem {
	order := map[string]int{}
	for i, t := range plan.Tables {
		order[t.File] = i + 1
	}
	slices.SortStableFunc(ps, func(a, b exchange.Problem) int {
		return cmp.Or(order[a.File]-order[b.File], strings.Compare(a.File, b.File), a.Row-b.Row)
	})
	return ps
}

// importDigest identifies a set of files: the SHA-256 of their names and contents, in order.
func importDigest(files []exchange.File) string {
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%d:%s:%d:", len(f.Name), f.Name, len(f.Data))
		h.Write(f.Data)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// readImportForm reads the import form: its fields (confirm, digest) and its files, at most
// importMaxBytes together (413 beyond).
func readImportForm(w http.ResponseWriter, r *http.Request) (map[string]string, []exchange.File, error) {
	fields := map[string]string{}
	tooLarge := &statusError{http.StatusRequestEntityTooLarge, fmt.Sprintf("The files are larger than %d MiB together: split the import.", importMaxBytes>>20)}
	r.Body = http.MaxBytesReader(w, r.Body, importMaxBytes+multipartOverhead)
	mr, err := r.MultipartReader()
	if err != nil {
		return fields, nil, clink.Invalid("files", "the form was not sent as multipart/form-data with the files: %v", err)
	}
	var files []exchange.File
	var total int64
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fields, nil, tooLarge
		}
		if err != nil {
			return fields, nil, clink.Invalid("files", "the form cannot be read: %v", err)
		}
		data, err := io.ReadAll(io.LimitReader(part, importMaxBytes-total+1))
		part.Close()
		if errors.As(err, &mbe) {
			return fields, nil, tooLarge
		}
		if err != nil {
			return fields, nil, clink.Invalid("files", "the form cannot be read: %v", err)
		}
		if part.FileName() == "" {
			if len(data) > maxUploadField {
				return fields, nil, clink.Invalid(part.FormName(), "is longer than %d bytes", maxUploadField)
			}
			fields[part.FormName()] = string(data)
			continue
		}
		if len(data) == 0 {
			continue // an empty file input
		}
		total += int64(len(data))
		if total > importMaxBytes {
			return fields, nil, tooLarge
		}
		files = append(files, exchange.File{Name: part.FileName(), Data: data})
	}
	if len(files) > len(exchange.Tables) {
		return fields, nil, clink.Invalid("files", "%d files are too many: give one CSV file per table (%d tables) or one workbook", len(files), len(exchange.Tables))
	}
	return fields, files, nil
}
