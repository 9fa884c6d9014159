package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/clink-consortium/clink/fcs"
	"github.com/clink-consortium/clink/gating"
)

// Values of `clink fcs export --values`.
const (
	valuesRaw   = "raw"
	valuesScale = "scale"
)

func (m *Main) runFCS(ctx context.Context, args []string) error {
	return subcommand(ctx, "fcs (info|export|gate|attach)", args, map[string]func(context.Context, []string) error{
		"info": m.fcsInfo, "export": m.fcsExport, "gate": m.fcsGate, "attach": m.fcsAttach,
	})
}

// fcsOptionFlags registers on fs the flags that choose the data set of an FCS file and the
// repairs the reader may apply (fcs.Options).
func fcsOptionFlags(fs *flag.FlagSet) *fcs.Options {
	opt := new(fcs.Options)
	fs.IntVar(&opt.DataSet, "dataset", 0, "the data set to read, numbered from 0 (files with $NEXTDATA hold several)")
	fs.BoolVar(&opt.UseHeaderOffsets, "use-header-offsets", false, "when HEADER and TEXT disagree on the DATA offsets, trust the HEADER")
	fs.BoolVar(&opt.IgnoreTextOffsets, "ignore-text-offsets", false, "ignore the offsets in TEXT ($BEGINDATA, $ENDDATA, ...) and use the HEADER's")
	fs.BoolVar(&opt.AllowOffsetMismatch, "allow-offset-mismatch", false, "accept a DATA segment whose length disagrees with $TOT x the event width")
	fs.BoolVar(&opt.IgnoreSupplementalText, "ignore-stext", false, "do not read the supplemental TEXT segment")
	fs.StringVar(&opt.TimeChannel, "time-channel", "", "name of the time channel, case-insensitive (default \"Time\")")
	return opt
}

func checkFCSOptions(opt *fcs.Options) error {
	if opt.DataSet < 0 {
		return usageError(fmt.Sprintf("--dataset: %d is negative; data sets are numbered from 0", opt.DataSet))
	}
	return nil
}

// parseFileArgs parses args with fs, allowing flags after the file names (`clink fcs info
// FILE --format json`), and returns the file names. After "--" every argument is a file name.
func (m *Main) parseFileArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(m.Stderr)
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, usageError("help requested")
			}
			return nil, usageError(err.Error())
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return files, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(files, rest...), nil
		}
		files = append(files, rest[0])
		args = rest[1:]
	}
}

// oneFile returns the single file name of a command that takes one.
func oneFile(cmd string, files []string) (string, error) {
	switch len(files) {
	case 0:
		return "", usageError(cmd + ": name an FCS file")
	case 1:
		return files[0], nil
	}
	return "", usageError(fmt.Sprintf("%s: name one FCS file (got %d)", cmd, len(files)))
}

// readFCS reads the data set opt chooses of the FCS file at path. Errors name the file; those of
// the reader keep their *fcs.Error (keyword and byte offset).
func readFCS(path string, opt fcs.Options) (*fcs.DataSet, error) {
	ds, err := fcs.ReadFile(path, opt)
	if err != nil {
		if _, ok := err.(*fs.PathError); ok {
			return nil, err // opening the file failed; the error names it
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ds, nil
}

func (m *Main) fcsInfo(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("fcs info", flag.ContinueOnError)
	opt := fcsOptionFlags(fs)
	format := fs.String("format", formatTable, "output: table or json")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: clink fcs info [--dataset N] [--format table|json] [repair flags] FILE")
		fs.PrintDefaults()
	}
	files, err := m.parseFileArgs(fs, args)
	if err != nil {
		return err
	}
	if *format != formatTable && *format != formatJSON {
		return usageError(fmt.Sprintf("--format: %q is not table or json", *format))
	}
	if err := checkFCSOptions(opt); err != nil {
		return err
	}
	path, err := oneFile("fcs info", files)
	if err != nil {
		return err
	}
	ds, err := readFCS(path, *opt)
	if err != nil {
		return err
	}
	info := newFCSInfo(path, ds)
	if *format == formatJSON {
		return writeJSON(m.Stdout, info)
	}
	return printFCSInfo(m.Stdout, info)
}

func (m *Main) fcsExport(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("fcs export", flag.ContinueOnError)
	opt := fcsOptionFlags(fs)
	values := fs.String("values", valuesScale, "raw (as stored, after masking) or scale (log decoded, gain and time step applied: what gates see)")
	format := fs.String("format", formatCSV, "output: csv")
	limit := fs.Int("limit", 0, "write only the first N events (0: all)")
	out := fs.String("out", "", "write to this file instead of standard output")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: clink fcs export [--values raw|scale] [--format csv] [--limit N] [--out FILE] [--dataset N] [repair flags] FILE")
		fs.PrintDefaults()
	}
	files, err := m.parseFileArgs(fs, args)
	if err != nil {
		return err
	}
	if *values != valuesRaw && *values != valuesScale {
		return usageError(fmt.Sprintf("--values: %q is not raw or scale", *values))
	}
	if *format != formatCSV {
		return usageError(fmt.Sprintf("--format: %q is not csv", *format))
	}
	if *limit < 0 {
		return usageError(fmt.Sprintf("--limit: %d is negative", *limit))
	}
	if err := checkFCSOptions(opt); err != nil {
		return err
	}
	path, err := oneFile("fcs export", files)
	if err != nil {
		return err
	}
	ds, err := readFCS(path, *opt)
	if err != nil {
		return err
	}
	n := ds.Events
	if *limit > 0 && *limit < n {
		n = *limit
	}
	write := func(w io.Writer) error { return writeEventsCSV(w, ds, *values == valuesRaw, n) }
	if *out == "" {
		return write(m.Stdout)
	}
	return writeFileAtomic(*out, write)
}

// writeEventsCSV writes the first n events of ds as CSV: a header of the $PnN names, then one
// row per event in file order, each number in the shortest form that reads back to the same
// float64 (strconv 'g', -1).
func writeEventsCSV(w io.Writer, ds *fcs.DataSet, raw bool, n int) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	names := make([]string, len(ds.Params))
	for i, p := range ds.Params {
		names[i] = p.Name
	}
	cw := csv.NewWriter(bw)
	cw.Write(names)
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	cols := make([][]float64, len(ds.Params))
	for ch := range cols {
		if raw {
			cols[ch] = ds.Raw(ch, nil)
		} else {
			cols[ch] = ds.Scale(ch, nil)
		}
		if len(cols[ch]) < n {
			return fmt.Errorf("channel %s: %d values for %d events", names[ch], len(cols[ch]), n)
		}
	}
	var line []byte
	for ev := range n {
		line = line[:0]
		for ch, col := range cols {
			if ch > 0 {
				line = append(line, ',')
			}
			line = strconv.AppendFloat(line, col[ev], 'g', -1, 64)
		}
		line = append(line, '\n')
		if _, err := bw.Write(line); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// writeFileAtomic writes a file through write: to a temporary file in the same directory, renamed
// to path once complete, so that a failure leaves no partial file.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// fcsInfo is what `clink fcs info` shows of a data set.
type fcsInfo struct {
	File      string        `json:"file"`
	Version   string        `json:"version"`
	DataSet   int           `json:"dataset"`  // the data set shown, numbered from 0
	DataSets  int           `json:"datasets"` // how many the file holds
	Events    int           `json:"events"`
	TimeStep  jsonFloat     `json:"time_step"` // $TIMESTEP applied to the time channel, 1 when none
	Channels  []fcsChannel  `json:"channels"`
	Spillover *fcsSpillover `json:"spillover"` // null when the file has none
	Warnings  []fcsWarning  `json:"warnings"`
}

type fcsChannel struct {
	N          int       `json:"n"`
	Name       string    `json:"name"`  // $PnN
	Label      string    `json:"label"` // $PnS
	Bits       int       `json:"bits"`  // $PnB
	Range      jsonFloat `json:"range"` // $PnR
	DataType   string    `json:"data_type"`
	LogDecades jsonFloat `json:"log_decades"` // $PnE f1; 0 when linear
	LogZero    jsonFloat `json:"log_zero"`    // $PnE f2 (0 read as 1); 0 when linear
	Gain       jsonFloat `json:"gain"`        // $PnG, 1 when absent
	Time       bool      `json:"time"`
}

type fcsSpillover struct {
	Names  []string      `json:"names"`
	Matrix [][]jsonFloat `json:"matrix"`
}

type fcsWarning struct {
	Keyword string `json:"keyword"`
	Offset  *int64 `json:"offset,omitempty"` // byte offset, when the warning is about one
	Message string `json:"message"`
}

// jsonFloat is a float64 that a file may make NaN or infinite: those are written as null, which
// JSON can hold, rather than failing the whole output.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(v)
}

func newFCSInfo(path string, ds *fcs.DataSet) *fcsInfo {
	info := &fcsInfo{
		File: path, Version: ds.Version, DataSet: ds.Index, DataSets: ds.NumDataSets, Events: ds.Events, TimeStep: jsonFloat(ds.TimeStep()),
		Channels: make([]fcsChannel, len(ds.Params)), Warnings: make([]fcsWarning, len(ds.Warnings)),
	}
	for i, p := range ds.Params {
		info.Channels[i] = fcsChannel{
			N: p.N, Name: p.Name, Label: p.Label, Bits: p.Bits, Range: jsonFloat(p.Range), DataType: dataTypeName(p.DataType),
			LogDecades: jsonFloat(p.LogDecades), LogZero: jsonFloat(p.LogZero), Gain: jsonFloat(p.Gain), Time: p.Time,
		}
	}
	if s := ds.Spill; s != nil {
		sp := &fcsSpillover{Names: slices.Clone(s.Names), Matrix: make([][]jsonFloat, len(s.Matrix))}
		for i, row := range s.Matrix {
			sp.Matrix[i] = make([]jsonFloat, len(row))
			for j, v := range row {
				sp.Matrix[i][j] = jsonFloat(v)
			}
		}
		info.Spillover = sp
	}
	for i, w := range ds.Warnings {
		info.Warnings[i] = fcsWarning{Keyword: w.Keyword, Message: w.Message}
		if w.Offset >= 0 {
			off := w.Offset
			info.Warnings[i].Offset = &off
		}
	}
	return info
}

// dataTypeName names a parameter's data type: I, F, D or A.
func dataTypeName(t byte) string {
	if t == 0 {
		return ""
	}
	return string(rune(t))
}

func (m *Main) fcsGate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("fcs gate", flag.ContinueOnError)
	opt := fcsOptionFlags(fs)
	gml := fs.String("gating-ml", "", "the Gating-ML 2.0 file of the gates (required)")
	dir := fs.String("membership-dir", "", "write DIR/<result id>.txt, one 0 or 1 per event in file order; with several files DIR/<file name>/<result id>.txt")
	format := formatFlag(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: clink fcs gate --gating-ml GATES.xml [--membership-dir DIR] [--format table|json|csv] [--dataset N] [repair flags] FILE...")
		fs.PrintDefaults()
	}
	files, err := m.parseFileArgs(fs, args)
	if err != nil {
		return err
	}
	if err := checkFormat(*format); err != nil {
		return err
	}
	if err := checkFCSOptions(opt); err != nil {
		return err
	}
	if *gml == "" {
		return usageError("fcs gate: --gating-ml GATES.xml is required")
	}
	if len(files) == 0 {
		return usageError("fcs gate: name at least one FCS file")
	}
	if *dir != "" && len(files) > 1 {
		seen := map[string]string{}
		for _, f := range files {
			base := filepath.Base(f)
			if other, ok := seen[base]; ok {
				return usageError(fmt.Sprintf("fcs gate: %s and %s have the same name, so their membership files would share %s",
					other, f, filepath.Join(*dir, base)))
			}
			seen[base] = f
		}
	}
	doc, err := readGatingML(*gml)
	if err != nil {
		return err
	}
	if *dir != "" {
		for _, id := range doc.ResultIDs() {
			if err := checkResultID(id); err != nil {
				return fmt.Errorf("%s: %w", *gml, err)
			}
		}
	}
	gated, err := m.gateFiles(ctx, doc, files, *opt)
	if err != nil {
		return err
	}
	if *dir != "" {
		if err := writeMemberships(*dir, gated); err != nil {
			return err
		}
	}
	report := &gateReport{GatingML: *gml, Files: gated}
	return writeAs(m.Stdout, *format, report, writeGateCSV, printGates)
}

// readGatingML reads and validates a Gating-ML 2.0 file.
func readGatingML(path string) (*gating.Document, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	doc, err := gating.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return doc, nil
}

// checkResultID refuses a result id that cannot name a membership file by itself: Gating-ML
// ids are XML NCNames, which never hold these characters, but a document may break the rule.
func checkResultID(id string) error {
	if id == "" || id == "." || id == ".." || strings.ContainsAny(id, "/\\\x00") {
		return fmt.Errorf("gate id %q cannot name a membership file", id)
	}
	return nil
}

// gateFiles reads every file and applies the document to it, the files spread over a pool of
// GOMAXPROCS workers, and returns the results in the order of files. A progress bar shows on
// standard error when it is a terminal. When any file fails, the failures are returned (one
// per line on standard error when there are several) and no result.
func (m *Main) gateFiles(ctx context.Context, doc *gating.Document, files []string, opt fcs.Options) ([]*gatedFile, error) {
	gated := make([]*gatedFile, len(files))
	errs := make([]error, len(files))
	bar := m.progressBar(len(files), "gating")
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(files)) {
		wg.Go(func() {
			for i := range jobs {
				if err := ctx.Err(); err != nil {
					errs[i] = err
				} else {
					gated[i], errs[i] = gateFile(doc, files[i], opt)
				}
				if bar != nil {
					bar.Add(1)
				}
			}
		})
	}
	for i := range files {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if bar != nil {
		bar.Finish()
		fmt.Fprintln(m.Stderr)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var failed []error
	for _, err := range errs {
		if err != nil {
			failed = append(failed, err)
		}
	}
	switch {
	case len(failed) == 1:
		return nil, failed[0]
	case len(failed) > 1:
		for _, err := range failed {
			fmt.Fprintln(m.Stderr, err)
		}
		return nil, fmt.Errorf("fcs gate: %d of %d files failed; nothing was written", len(failed), len(files))
	}
	return gated, nil
}

// gateFile reads one FCS file and applies the gates to it.
func gateFile(doc *gating.Document, path string, opt fcs.Options) (*gatedFile, error) {
	ds, err := readFCS(path, opt)
	if err != nil {
		return nil, err
	}
	res, err := doc.Apply(ds)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	g := &gatedFile{File: path, DataSet: ds.Index, Events: res.Events, Gates: make([]gateCount, len(res.Gates)), result: res}
	for i, r := range res.Gates {
		c := gateCount{ID: r.ID, Kind: r.Kind, Count: r.Count, PctOfAll: percent(r.Count, res.Events),
			ParentCount: r.ParentCount, PctOfParent: percent(r.Count, r.ParentCount)}
		if r.Parent != "" {
			c.Parent = &r.Parent
		}
		if r.QuadrantGate != "" {
			c.QuadrantGate = &r.QuadrantGate
		}
		g.Gates[i] = c
	}
	return g, nil
}

// percent returns 100 n / of, or nil when of is 0.
func percent(n, of int) *float64 {
	if of == 0 {
		return nil
	}
	p := 100 * float64(n) / float64(of)
	return &p
}

// progressBar returns a progress bar of n steps on standard error, or nil when standard error
// is not a terminal (a character device: /dev/null is one too, where the bar is lost unseen)
// or there is a single step.
func (m *Main) progressBar(n int, what string) *progressbar.ProgressBar {
	f, ok := m.Stderr.(*os.File)
	if !ok || n < 2 {
		return nil
	}
	if st, err := f.Stat(); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return progressbar.NewOptions(n, progressbar.OptionSetWriter(f), progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(100*time.Millisecond))
}

// writeMemberships writes the membership files of every gated file under dir: dir/<id>.txt for
// a single file, dir/<file name>/<id>.txt for several, one line "0" or "1" per event in file
// order (the format of the ISAC compliance suite). The files are written to a staging
// directory inside dir first and moved into place once all are written, so that a failure
// leaves none of them.
func writeMemberships(dir string, gated []*gatedFile) (err error) {
	// created is the outermost folder of dir that does not exist yet, removed on failure.
	created := ""
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); !errors.Is(err, fs.ErrNotExist) {
			break
		}
		created = d
		if filepath.Dir(d) == d {
			break
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	stage, err := os.MkdirTemp(dir, ".clink-gate-*")
	if err != nil {
		return err
	}
	defer func() {
		os.RemoveAll(stage)
		if err != nil && created != "" {
			os.RemoveAll(created)
		}
	}()
	var moves [][2]string // staged file, final path
	for _, g := range gated {
		sub := ""
		if len(gated) > 1 {
			sub = filepath.Base(g.File)
			if err := os.Mkdir(filepath.Join(stage, sub), 0o755); err != nil {
				return err
			}
		}
		for _, r := range g.result.Gates {
			name := filepath.Join(sub, r.ID+".txt")
			if err := writeMembership(filepath.Join(stage, name), r.Members); err != nil {
				return err
			}
			moves = append(moves, [2]string{filepath.Join(stage, name), filepath.Join(dir, name)})
		}
	}
	for _, g := range gated {
		if len(gated) > 1 {
			if err := os.MkdirAll(filepath.Join(dir, filepath.Base(g.File)), 0o755); err != nil {
				return err
			}
		}
	}
	for _, mv := range moves {
		if err := os.Rename(mv[0], mv[1]); err != nil {
			return err
		}
	}
	return nil
}

func writeMembership(path string, m *gating.Membership) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = m.WriteTo(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// gateReport is the output of `clink fcs gate`.
type gateReport struct {
	GatingML string       `json:"gating_ml"`
	Files    []*gatedFile `json:"files"`
}

// gatedFile is the result of the gates on one file.
type gatedFile struct {
	File    string      `json:"file"`
	DataSet int         `json:"dataset"`
	Events  int         `json:"events"`
	Gates   []gateCount `json:"gates"`
	result  *gating.Result
}

// gateCount is the count of one result id (a gate, or a Quadrant of a QuadrantGate).
type gateCount struct {
	ID           string   `json:"id"`
	Kind         string   `json:"kind"`
	QuadrantGate *string  `json:"quadrant_gate"` // the QuadrantGate of a Quadrant; null otherwise
	Parent       *string  `json:"parent"`        // null when the gate has none
	Count        int      `json:"count"`
	PctOfAll     *float64 `json:"pct_of_all"`   // null when the file has no events
	ParentCount  int      `json:"parent_count"` // the file's events when there is no parent
	PctOfParent  *float64 `json:"pct_of_parent"`
}
