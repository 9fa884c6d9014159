package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/demo"
	"github.com/clink-consortium/clink/sqldb"
)

const demoPassword = "demo passphrase 2026"

// demoDB returns a database file filled with the demo consortium and its users.
func batchDemoDB(t *testing.T) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "clink.db")
	ctx := context.Background()
	s, err := sqldb.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Populate(ctx, s, demo.Options{Password: demoPassword}); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestBatchCommands records the demo's batch in process to its release from the command line:
// list, show, steps and results as the operator (a value out of range refused with its
// field), a wrong password refused at signing, QA's review and the QP's release, the
// certificate and a label.
func TestBatchCommands(t *testing.T) {
	db := batchDemoDB(t)
	env := map[string]string{"CLINK_PASSWORD": demoPassword}
	run := func(args ...string) (string, error) {
		t.Helper()
		out, errOut, err := runClinkIO(t, env, "", append(args, "--db", db)...)
		return out + errOut, err
	}
	out, err := run("batch", "list")
	if err != nil || !strings.Contains(out, "released_conditional") || !strings.Contains(out, "in_process") {
		t.Fatalf("batch list: %v\n%s", err, out)
	}
	var lot string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "in_process") {
			lot = strings.Fields(line)[1]
		}
	}
	out, err = run("batch", "show", lot)
	if err != nil || !strings.Contains(out, "Next: record") || !strings.Contains(out, "missing: step: Seeding with cytokines") {
		t.Fatalf("batch show: %v\n%s", err, out)
	}
	_, err = run("batch", "step", lot, "--as", "operator-mpl", "--step", "seeding", "--value", "seeding_density=1e6", "--value", "volume_ml=20000",
		"--reagent", "IL-2:L1:2099-01-01")
	if err == nil || !strings.Contains(fieldMessages(err), "20000 is above 10000 mL: describe the deviation to record it") {
		t.Fatalf("out-of-range step: %v, want the field named", err)
	}
	show, _ := run("batch", "show", lot)
	steps := stepKeys(show)
	for _, key := range steps {
		args := []string{"batch", "step", lot, "--as", "operator-mpl", "--step", key, "--reagent", "Reagent:L1:2099-01-01"}
		switch {
		case key == "seeding":
			args = append(args, "--value", "seeding_density=1e6", "--value", "volume_ml=500")
		case strings.HasPrefix(key, "restimulation"):
			args = append(args, "--value", "feeder_ratio="+stepMiddle(t, db, key, "feeder_ratio"))
		case strings.HasPrefix(key, "ipc_"):
			args = append(args, "--value", "viable_per_ml=3e6", "--value", "viability_pct=90", "--value", "nk_purity_pct=80")
		case key == "harvest":
			args = append(args, "--value", "viable_cells=5e9", "--value", "viability_pct=93")
		case key == "formulation":
			args = append(args, "--value", "tnc_per_ml=2e7", "--value", "cd3_pct=0.1", "--value", "available_ml=80")
		}
		if out, err := run(args...); err != nil {
			t.Fatalf("step %s: %v\n%s", key, err, out)
		}
	}
	for _, r := range [][]string{
		{"viability", "--value", "92"}, {"nk_purity", "--value", "85"}, {"residual_feeders", "--value", "0.01"}, {"endotoxin", "--value", "0.5"},
		{"gram_stain", "--text", "no organisms seen"}, {"mycoplasma", "--text", "not detected"}, {"identity", "--text", "identical to donor"},
		{"potency", "--value", "40"}, {"cd19", "--value", "0.2"}, {"sterility", "--text", "no growth"},
	} {
		if out, err := run(append([]string{"batch", "result", lot, "--as", "operator-mpl", "--test", r[0]}, r[1:]...)...); err != nil {
			t.Fatalf("result %s: %v\n%s", r[0], err, out)
		}
	}
	bad := map[string]string{"CLINK_PASSWORD": "not the password 1"}
	if _, _, err := runClinkIO(t, bad, "", "batch", "sign", lot, "--as", "qa", "--meaning", "reviewed", "--db", db); err == nil ||
		!strings.Contains(fieldMessages(err), "the signature is refused and the attempt recorded") {
		t.Fatalf("wrong password: %v", err)
	}
	if out, err := run("batch", "sign", lot, "--as", "qa", "--meaning", "reviewed"); err != nil || !strings.Contains(out, "Demo quality assurance, reviewed") {
		t.Fatalf("review: %v\n%s", err, out)
	}
	if out, err := run("batch", "sign", lot, "--as", "qp", "--meaning", "released"); err != nil {
		t.Fatalf("release: %v\n%s", err, out)
	}
	out, err = run("batch", "show", lot)
	if err != nil || !strings.Contains(out, "status released") || !strings.Contains(out, "Demo Qualified Person  released") {
		t.Fatalf("after release: %v\n%s", err, out)
	}
	dir := t.TempDir()
	cert, label := filepath.Join(dir, "coa.pdf"), filepath.Join(dir, "label.pdf")
	if out, err := run("batch", "certificate", lot, "--out", cert); err != nil {
		t.Fatalf("certificate: %v\n%s", err, out)
	}
	if out, err := run("batch", "label", lot, "--out", label); err != nil {
		t.Fatalf("label: %v\n%s", err, out)
	}
	for _, f := range []string{cert, label} {
		if data, err := os.ReadFile(f); err != nil || !bytes.HasPrefix(data, []byte("%PDF-")) {
			t.Errorf("%s: %v, want a PDF", f, err)
		}
	}
	if _, err := run("batch", "certificate", lot, "--out", cert); err == nil {
		t.Error("certificate over an existing file: want a refusal")
	}
}

// stepKeys returns the steps that batch show lists as not recorded.
func stepKeys(show string) []string {
	var keys []string
	for _, line := range strings.Split(show, "\n") {
		if strings.HasSuffix(line, "not recorded") && strings.Contains(line, " day ") {
			keys = append(keys, strings.Fields(line)[0])
		}
	}
	return keys
}

// stepMiddle returns the middle of a field's range in the demo's batch in process.
func stepMiddle(t *testing.T, db, step, field string) string {
	t.Helper()
	ctx := context.Background()
	s, err := sqldb.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	bs, _, err := s.FindBatches(ctx, clink.BatchFilter{Status: clink.BatchInProcess})
	if err != nil || len(bs) != 1 {
		t.Fatalf("batches in process: %v %v", bs, err)
	}
	st, _ := bs[0].Step(step)
	for _, f := range st.Fields {
		if f.Key == field && f.Min != nil && f.Max != nil {
			return strconv.FormatFloat((*f.Min+*f.Max)/2, 'g', -1, 64)
		}
	}
	t.Fatalf("step %s has no bounded field %s", step, field)
	return ""
}
