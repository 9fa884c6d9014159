package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/gmp"
	"github.com/clink-consortium/clink/manufacturing"
	"github.com/clink-consortium/clink/sqldb"
)

// clink batch: the manufacturing batch record on the command line (issue 8). Reading needs the
// database; every write names its author with --as and checks that user's password (from
// CLINK_PASSWORD or the first line of standard input) and role, as the API does: an operator of
// the batch's site records, QA and QPs sign.

func (m *Main) runBatch(ctx context.Context, args []string) error {
	return subcommand(ctx, "batch (list|show|create|step|result|deviation|sign|certificate|label)", args, map[string]func(context.Context, []string) error{
		"list": m.batchList, "show": m.batchShow, "create": m.batchCreate, "step": m.batchStep, "result": m.batchResult,
		"deviation": m.batchDeviation, "sign": m.batchSign, "certificate": m.batchCertificate, "label": m.batchLabel,
	})
}

// batchCmd is an open store, the manufacturing service and, for writes, the signed-in user.
type batchCmd struct {
	store *sqldb.Store
	svc   *manufacturing.Service
	user  *clink.User
	args  []string
}

// openBatch parses fs (with --db and, when write, --as) and opens the store; a write
// authenticates the user named by --as.
func (m *Main) openBatch(ctx context.Context, fs *flag.FlagSet, args []string, write bool, nargs int, usage string) (*batchCmd, context.Context, error) {
	var as *string
	if write {
		as = fs.String("as", "", "the user who makes this entry (required; the password is read from CLINK_PASSWORD or standard input)")
	}
	ref, args := leadingArg(args, nargs)
	cfg := m.defaultConfig()
	cfg.dbFlag(fs)
	if write {
		cfg.facilityFlags(fs)
	}
	if err := m.parseConfig(fs, &cfg, args, false); err != nil {
		return nil, ctx, err
	}
	if len(ref) != nargs {
		return nil, ctx, usageError(usage)
	}
	store, err := m.openStore(ctx, cfg)
	if err != nil {
		return nil, ctx, err
	}
	svc, err := manufacturing.New(store, cfg.manufacturing())
	if err != nil {
		store.Close()
		return nil, ctx, err
	}
	c := &batchCmd{store: store, svc: svc, args: ref}
	if write {
		if *as == "" {
			store.Close()
			return nil, ctx, usageError(fs.Name() + ": --as USER is required: every entry names its author")
		}
		pw, err := m.readPassword()
		if err != nil {
			store.Close()
			return nil, ctx, err
		}
		u, err := store.Authenticate(ctx, *as, pw)
		if err != nil {
			store.Close()
			return nil, ctx, fmt.Errorf("%s: %w", fs.Name(), err)
		}
		c.user = u
		ctx = clink.WithActor(ctx, u.Username)
	}
	return c, ctx, nil
}

// leadingArg splits the batch reference that comes first (clink batch step LOT --step ...)
// from the flags after it.
func leadingArg(args []string, n int) ([]string, []string) {
	if n == 0 || len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return nil, args
	}
	return args[:1], args[1:]
}

// batch finds a batch by id, DIN (13 characters, or 14 with its check character) or lot.
func (c *batchCmd) batch(ctx context.Context, ref string) (*clink.Batch, error) {
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		return c.store.FindBatchByID(ctx, id)
	}
	if len(ref) == 13 || len(ref) == 14 {
		if b, err := c.store.FindBatchByDIN(ctx, ref[:13]); err == nil {
			return b, nil
		}
	}
	all, err := clink.ReadAll(func(p clink.Page) ([]*clink.Batch, int, error) {
		return c.store.FindBatches(ctx, clink.BatchFilter{Page: p})
	})
	if err != nil {
		return nil, err
	}
	for _, b := range all {
		if b.Lot == ref {
			return b, nil
		}
	}
	return nil, clink.Errorf(clink.ENOTFOUND, "no batch has the id, DIN or lot %q", ref)
}

// requireOperator refuses a user who is not an operator of site.
func (c *batchCmd) requireOperator(site string) error {
	if !c.user.HasRole(clink.RoleOperator) || c.user.Site != site {
		return clink.Errorf(clink.EFORBIDDEN, "forbidden: recording a batch needs the operator role at %s; user %s holds %s at %q",
			site, c.user.Username, strings.Join(c.user.Roles, ", "), c.user.Site)
	}
	return nil
}

func (m *Main) batchList(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("batch list", flag.ContinueOnError)
	status := fs.String("status", "", "only batches in this status ("+strings.Join(clink.BatchStatuses, ", ")+")")
	c, ctx, err := m.openBatch(ctx, fs, args, false, 0, "batch list [--status S] [--db DB]")
	if err != nil {
		return err
	}
	defer c.store.Close()
	all, err := clink.ReadAll(func(p clink.Page) ([]*clink.Batch, int, error) {
		return c.store.FindBatches(ctx, clink.BatchFilter{Status: *status, Page: p})
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "%-4s  %-16s  %-16s  %-10s  %-22s  %s\n", "ID", "LOT", "DIN", "PATIENT", "STATUS", "PROTOCOL")
	for _, b := range all {
		fmt.Fprintf(m.Stdout, "%-4d  %-16s  %-16s  %-10s  %-22s  %s\n", b.ID, b.Lot, b.DIN+" "+b.Check, b.PatientCode, b.Status, b.Protocol)
	}
	return nil
}

func (m *Main) batchShow(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("batch show", flag.ContinueOnError)
	c, ctx, err := m.openBatch(ctx, fs, args, false, 1, "batch show BATCH [--db DB] (BATCH: id, DIN or lot)")
	if err != nil {
		return err
	}
	defer c.store.Close()
	b, err := c.batch(ctx, c.args[0])
	if err != nil {
		return err
	}
	st, err := c.svc.Load(ctx, b.ID)
	if err != nil {
		return err
	}
	w := m.Stdout
	din, _ := gmp.ParseDIN(b.DIN)
	fmt.Fprintf(w, "Batch %s   DIN %s [%s]   status %s\n", b.Lot, din.Grouped(), b.Check, b.Status)
	fmt.Fprintf(w, "Patient %s (%s), donor %s, protocol %s, specification %s\n", b.PatientCode, b.Hospital, b.DonorCode, b.Protocol, b.Spec)
	fmt.Fprintf(w, "Product %s, chain of identity %s\n", b.ProductCode, b.COI)
	fmt.Fprintf(w, "Next: %s\n", st.Next)
	for _, miss := range st.Missing {
		fmt.Fprintf(w, "  missing: %s\n", miss)
	}
	fmt.Fprintln(w, "\nSteps")
	for _, ms := range b.Steps {
		se := st.Steps[ms.Key]
		if se == nil {
			fmt.Fprintf(w, "  %-22s day %-2d  not recorded\n", ms.Key, ms.Day)
			continue
		}
		var vals []string
		for k, v := range se.Data.Values {
			vals = append(vals, fmt.Sprintf("%s=%g", k, v))
		}
		sort.Strings(vals)
		flag := ""
		if se.Corrected {
			flag = "  (corrected: " + se.Entry.Reason + ")"
		}
		if se.Data.Deviation != "" {
			flag += "  deviation: " + se.Data.Deviation + " [" + se.Data.CAPA + "]"
		}
		fmt.Fprintf(w, "  %-22s day %-2d  %s  by %s at %s%s\n", ms.Key, ms.Day, strings.Join(vals, " "), se.Entry.CreatedBy,
			se.Data.PerformedAt.Format(time.RFC3339), flag)
	}
	fmt.Fprintf(w, "\nResults against %s v%d: %s\n", st.Spec.Name, st.Spec.Version, st.Assessment.Status)
	for _, ta := range st.Assessment.Tests {
		v := ta.Text
		if ta.Value != nil {
			v = strconv.FormatFloat(*ta.Value, 'g', 4, 64) + " " + ta.Unit
		}
		note := ""
		if manufacturing.Derived(ta.Test) {
			note = " (calculated)"
		}
		if r := st.Results[ta.Test]; r != nil && r.Corrected {
			note += " (changed since original entry)"
		}
		fmt.Fprintf(w, "  %-32s %-26s %-22s %s%s\n", ta.Name, ta.Limit, v, ta.Outcome, note)
	}
	if st.Dose != nil {
		fmt.Fprintln(w, "\nDose")
		for _, s := range st.Dose.Steps {
			fmt.Fprintf(w, "  %s\n", s)
		}
	} else {
		fmt.Fprintf(w, "\nDose: %s\n", st.DoseProblem)
	}
	fmt.Fprintln(w, "\nSignatures")
	for _, sg := range st.Signatures {
		flag := ""
		switch {
		case !sg.Valid:
			flag = "  INVALID: the record signed was altered"
		case sg.Changed:
			flag = "  changed since signing"
		}
		fmt.Fprintf(w, "  %s  %s  %s%s\n", sg.Data.PrintedName, sg.Data.Meaning, sg.Data.SignedAt.Format("2006-01-02 15:04 MST"), flag)
	}
	fmt.Fprintf(w, "\nRecord hash %s\n", st.RecordHash)
	return nil
}

func (m *Main) batchCreate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("batch create", flag.ContinueOnError)
	req := fs.Int64("request", 0, "the treatment request's id (required)")
	site := fs.String("site", "", "the manufacturing site (default: the operator's)")
	c, ctx, err := m.openBatch(ctx, fs, args, true, 0, "batch create --request ID --as USER [--site S] [--db DB]")
	if err != nil {
		return err
	}
	defer c.store.Close()
	if *site == "" {
		*site = c.user.Site
	}
	if err := c.requireOperator(*site); err != nil {
		return err
	}
	b, err := c.svc.CreateBatch(ctx, manufacturing.NewBatch{RequestID: *req, Site: *site})
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Batch %d: lot %s, DIN %s, check character %s, %d steps in its record\n", b.ID, b.Lot, b.DIN, b.Check, len(b.Steps))
	return nil
}

// keyValues is a repeatable KEY=NUMBER flag.
type keyValues map[string]float64

func (kv keyValues) String() string { return fmt.Sprint(map[string]float64(kv)) }
func (kv keyValues) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("%q is not KEY=NUMBER", s)
	}
	x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		return fmt.Errorf("%s: %q is not a number", k, v)
	}
	kv[strings.TrimSpace(k)] = x
	return nil
}

func (m *Main) batchStep(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("batch step", flag.ContinueOnError)
	in := manufacturing.StepInput{Values: map[string]float64{}}
	fs.StringVar(&in.Step, "step", "", "the step's key (see batch show)")
	fs.Var(keyValues(in.Values), "value", "a value KEY=NUMBER (repeat for each)")
	var reagents stringList
	fs.Var(&reagents, "reagent", "a reagent NAME:LOT:YYYY-MM-DD (repeat for each)")
	fs.StringVar(&in.Equipment, "equipment", "", "equipment used")
	fs.StringVar(&in.Deviation, "deviation", "", "what went wrong, when a value is out of its range")
	fs.StringVar(&in.CAPA, "capa", "", "the corrective action reference of the deviation")
	fs.Int64Var(&in.Supersedes, "corrects", 0, "the entry this one corrects (with --reason)")
	fs.StringVar(&in.Reason, "reason", "", "why the entry is corrected")
	c, ctx, err := m.openBatch(ctx, fs, args, true, 1, "batch step BATCH --step KEY --value K=V ... --as USER")
	if err != nil {
		return err
	}
	defer c.store.Close()
	for _, r := range reagents {
		parts := strings.SplitN(r, ":", 3)
		if len(parts) != 3 {
			return usageError(fmt.Sprintf("batch step: --reagent %q is not NAME:LOT:YYYY-MM-DD", r))
		}
		in.Reagents = append(in.Reagents, clink.ReagentLot{Name: parts[0], Lot: parts[1], Expiry: parts[2]})
	}
	b, err := c.batch(ctx, c.args[0])
	if err != nil {
		return err
	}
	if err := c.requireOperator(b.Site); err != nil {
		return err
	}
	e, err := c.svc.RecordStep(ctx, b.ID, in)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Recorded %s on batch %s (entry %d)\n", in.Step, b.Lot, e.ID)
	return nil
}

func (m *Main) batchResult(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("batch result", flag.ContinueOnError)
	var in manufacturing.ResultInput
	fs.StringVar(&in.Test, "test", "", "the test's key in the specification")
	value := fs.String("value", "", "the number, for a numeric test")
	fs.StringVar(&in.Text, "text", "", "the result in words, for a qualitative test")
	fs.Int64Var(&in.Supersedes, "corrects", 0, "the entry this one corrects (with --reason)")
	fs.StringVar(&in.Reason, "reason", "", "why the entry is corrected")
	c, ctx, err := m.openBatch(ctx, fs, args, true, 1, "batch result BATCH --test KEY (--value N | --text T) --as USER")
	if err != nil {
		return err
	}
	defer c.store.Close()
	if *value != "" {
		x, err := strconv.ParseFloat(*value, 64)
		if err != nil {
			return usageError(fmt.Sprintf("batch result: --value %q is not a number", *value))
		}
		in.Value = &x
	}
	b, err := c.batch(ctx, c.args[0])
	if err != nil {
		return err
	}
	if err := c.requireOperator(b.Site); err != nil {
		return err
	}
	e, err := c.svc.RecordResult(ctx, b.ID, in)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Recorded %s on batch %s (entry %d)\n", in.Test, b.Lot, e.ID)
	return nil
}

func (m *Main) batchDeviation(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("batch deviation", flag.ContinueOnError)
	var d clink.DeviationData
	fs.StringVar(&d.Description, "description", "", "what happened")
	fs.StringVar(&d.CAPA, "capa", "", "the corrective action reference")
	var tests stringList
	fs.Var(&tests, "test", "a specification test the deviation concerns (repeat for each)")
	c, ctx, err := m.openBatch(ctx, fs, args, true, 1, "batch deviation BATCH --description D --capa REF [--test KEY] --as USER")
	if err != nil {
		return err
	}
	defer c.store.Close()
	d.Tests = tests
	b, err := c.batch(ctx, c.args[0])
	if err != nil {
		return err
	}
	if err := c.requireOperator(b.Site); err != nil {
		return err
	}
	e, err := c.svc.RaiseDeviation(ctx, b.ID, d)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Deviation recorded on batch %s (entry %d)\n", b.Lot, e.ID)
	return nil
}

// batchSign signs with the password read once: it authenticates the user (--as) and is the
// signature's re-entered component.
func (m *Main) batchSign(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("batch sign", flag.ContinueOnError)
	var in manufacturing.SignInput
	fs.StringVar(&in.Meaning, "meaning", "", "reviewed (QA), released (QP) or rejected")
	fs.StringVar(&in.Reason, "reason", "", "the reason: to reject, or to release out of a soft limit")
	as := fs.String("as", "", "the signer (required; the password is read from CLINK_PASSWORD or standard input)")
	ref, args := leadingArg(args, 1)
	cfg := m.defaultConfig()
	cfg.dbFlag(fs)
	if err := m.parseConfig(fs, &cfg, args, false); err != nil {
		return err
	}
	if len(ref) != 1 || *as == "" {
		return usageError("batch sign BATCH --meaning M --as USER [--reason R]")
	}
	store, err := m.openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	svc, err := manufacturing.New(store, manufacturing.Config{})
	if err != nil {
		return err
	}
	c := &batchCmd{store: store, svc: svc}
	pw, err := m.readPassword()
	if err != nil {
		return err
	}
	u, err := store.FindUserByUsername(ctx, *as)
	if err != nil {
		return fmt.Errorf("batch sign: %w", clink.ErrBadCredentials)
	}
	ctx = clink.WithActor(ctx, u.Username)
	b, err := c.batch(ctx, ref[0])
	if err != nil {
		return err
	}
	in.Username, in.Password = u.Username, pw
	sg, err := svc.Sign(ctx, b.ID, u, in)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Signed batch %s: %s, %s, %s (record %s)\n", b.Lot, sg.Data.PrintedName, sg.Data.Meaning,
		sg.Data.SignedAt.Format("2006-01-02 15:04 MST"), sg.Data.RecordHash[:16])
	return nil
}

func (m *Main) batchCertificate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("batch certificate", flag.ContinueOnError)
	out := fs.String("out", "", "the PDF file to write (required)")
	c, ctx, err := m.openBatch(ctx, fs, args, false, 1, "batch certificate BATCH --out FILE.pdf")
	if err != nil {
		return err
	}
	defer c.store.Close()
	if *out == "" {
		return usageError("batch certificate: --out FILE.pdf is required")
	}
	b, err := c.batch(ctx, c.args[0])
	if err != nil {
		return err
	}
	pdf, err := c.svc.Certificate(ctx, b.ID)
	if err != nil {
		return err
	}
	return writeFileOnce(*out, pdf)
}

func (m *Main) batchLabel(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("batch label", flag.ContinueOnError)
	out := fs.String("out", "", "the PDF file to write (required)")
	bag := fs.Int("bag", 1, "the bag's number")
	c, ctx, err := m.openBatch(ctx, fs, args, false, 1, "batch label BATCH --out FILE.pdf [--bag N]")
	if err != nil {
		return err
	}
	defer c.store.Close()
	if *out == "" {
		return usageError("batch label: --out FILE.pdf is required")
	}
	b, err := c.batch(ctx, c.args[0])
	if err != nil {
		return err
	}
	pdf, err := c.svc.Label(ctx, b.ID, *bag)
	if err != nil {
		return err
	}
	return writeFileOnce(*out, pdf)
}

// writeFileOnce writes data to a new file, refusing to overwrite one.
func writeFileOnce(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
