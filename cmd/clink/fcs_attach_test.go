package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	nethttp "net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/flow"
	"github.com/clink-consortium/clink/internal/pgtest"
	"github.com/clink-consortium/clink/sqldb"
)

// attachDB returns a database of the dialect with one ZGZ culture, its day-7 observation
// (no flow values) and day-14 observation (NK purity typed in), and the gating template
// "data1 panel" on the ISAC set 1 gates for data1.fcs: Polygon1 (FSC-H/SSC-H) as the
// denominator, the 3-D Ellipsoid3D as NK, Polygon2 as T, Range2 (a Time range) as CD16 and
// Ellipse1 as NKG2A.
func attachDB(t *testing.T, dialect string) (dsn string, c *clink.Culture) {
	t.Helper()
	gml, err := os.ReadFile(flowFile(t, "gatingml2", "Gating-MLFiles", "gates1.xml"))
	if err != nil {
		t.Fatal(err)
	}
	dsn = filepath.Join(t.TempDir(), "clink.db")
	if dialect == sqldb.DialectPostgres {
		dsn = pgtest.DSN(t)
	}
	ctx := clink.WithActor(context.Background(), "setup")
	st, err := sqldb.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	check(st.Migrate(ctx))
	check(st.CreateSite(ctx, &clink.Site{Code: "ZGZ", Name: "Zaragoza", Kind: clink.SiteLab}))
	check(st.CreateComponent(ctx, &clink.Component{Site: "ZGZ", Name: "IL-2", Category: clink.CategoryCytokine, Unit: clink.UnitIUPerML}))
	d := &clink.Donor{Site: "ZGZ", ConsentDate: "2025-01-15"}
	check(st.CreateDonor(ctx, d))
	p := &clink.Protocol{Site: "ZGZ", Name: "IL-2", StartingMaterial: clink.StartPBMC, Vessel: clink.VesselGRex, SeedingDensity: 1e6,
		DurationDays: 21, Components: []clink.ProtocolComponent{{Component: "IL-2", Dose: 100, Days: []int{0}}}}
	check(st.CreateProtocol(ctx, p))
	c = &clink.Culture{Site: "ZGZ", DonorID: d.ID, ProtocolID: p.ID, StartDate: "2025-03-01", StartingCells: 1e6, StartingNKPct: 10}
	check(st.CreateCulture(ctx, c))
	check(st.CreateObservation(ctx, &clink.Observation{CultureID: c.ID, Day: 7, ViableCells: 2e7}))
	nk := 55.0
	check(st.CreateObservation(ctx, &clink.Observation{CultureID: c.ID, Day: 14, ViableCells: 6e7, NKPct: &nk}))
	check(flow.New(st).CreateTemplate(ctx, &clink.GatingTemplate{Site: "ZGZ", Name: "data1 panel", GatingML: string(gml),
		Mapping: clink.GateMapping{Denominator: "Polygon1", NKPct: "Ellipsoid3D", TPct: "Polygon2",
			Markers: map[string]string{"CD16": "Range2", "NKG2A": "Ellipse1"}}}))
	return dsn, c
}

// set1Truth reads an ISAC set 1 expected result (one 0/1 per event of data1.fcs).
func set1Truth(t *testing.T, id string) []bool {
	t.Helper()
	f, err := os.Open(flowFile(t, "gatingml2", "ExpectedResults", "set_1", "Results_"+id+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []bool
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, strings.TrimSpace(sc.Text()) == "1")
	}
	return out
}

func countIn(vs ...[]bool) int {
	n := 0
	for i := range vs[0] {
		in := true
		for _, v := range vs {
			in = in && v[i]
		}
		if in {
			n++
		}
	}
	return n
}

// runAttach runs `clink fcs attach` through the Main the binary runs.
func runAttach(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut syncBuffer
	m := &Main{Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }}
	err := m.fcsAttach(context.Background(), args)
	return out.String(), errOut.String(), err
}

// dbState is the audit trail's head and every observation, which a refused attach must keep.
func dbState(t *testing.T, dsn string) string {
	t.Helper()
	ctx := context.Background()
	st, err := sqldb.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	chain, err := st.VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	obs, _, err := st.FindObservations(ctx, clink.ObservationFilter{IncludeVoided: true})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(obs)
	return chain.Head + string(b)
}

func TestFCSAttach(t *testing.T) {
	for _, dialect := range []string{sqldb.DialectSQLite, sqldb.DialectPostgres} {
		t.Run(dialect, func(t *testing.T) { testFCSAttach(t, dialect) })
	}
}

func testFCSAttach(t *testing.T, dialect string) {
	dsn, c := attachDB(t, dialect)
	data1 := flowFile(t, "gatingml2", "FCSFiles", "data1.fcs")
	bytes1, err := os.ReadFile(data1)
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := runAttach(t, "--db", dsn, "--culture", c.Code, "--day", "7", "--template", "data1 panel", "--format", "json", data1)
	if err != nil {
		t.Fatal(err)
	}
	var res fcsAttachResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("output %s: %v", out, err)
	}
	// Expected values from the ISAC truth files alone.
	den, nk := set1Truth(t, "Polygon1"), set1Truth(t, "Ellipsoid3D")
	d, n := countIn(den), countIn(nk, den)
	want := map[string]float64{
		"nk_pct": 100 * float64(n) / float64(d),
		"t_pct":  100 * float64(countIn(set1Truth(t, "Polygon2"), den)) / float64(d),
		"CD16":   100 * float64(countIn(set1Truth(t, "Range2"), nk, den)) / float64(n),
		"NKG2A":  100 * float64(countIn(set1Truth(t, "Ellipse1"), nk, den)) / float64(n),
	}
	o := res.Observation
	got := map[string]float64{"nk_pct": *o.NKPct, "t_pct": *o.TPct, "CD16": o.Markers["CD16"], "NKG2A": o.Markers["NKG2A"]}
	for k, w := range want {
		if math.Abs(got[k]-w) > 1e-12*w {
			t.Errorf("%s = %v, want %v (from the truth files)", k, got[k], w)
		}
	}
	t.Logf("data1.fcs with gates1: denominator %d, NK %d: %v", d, n, got)
	if len(res.Attachments) != 1 {
		t.Fatalf("got %d attachments, want 1", len(res.Attachments))
	}
	a := res.Attachments[0]
	if a.SHA256 != clink.SHA256Hex(bytes1) || a.FileName != "data1.fcs" || a.Events != 13367 || a.CreatedBy != cliActor ||
		a.TemplateName != "data1 panel" || a.TemplateVersion != 1 || o.Day != 7 || o.Culture != c.Code {
		t.Errorf("attachment %+v, observation %+v", a, o)
	}

	// Refusals print why, exit non-zero and change nothing.
	before := dbState(t, dsn)
	notFCS := filepath.Join(t.TempDir(), "notes.fcs")
	if err := os.WriteFile(notFCS, []byte("Tube 3, NK panel, see the lab book"), 0o600); err != nil {
		t.Fatal(err)
	}
	refusals := []struct {
		name  string
		args  []string
		want  string // in the error
		usage bool
	}{
		{"attached before", []string{"--culture", c.Code, "--day", "7", "--template", "data1 panel", data1}, "already attached", false},
		{"typed value", []string{"--culture", c.Code, "--day", "14", "--template", "data1 panel", data1}, "nk_pct (55 recorded", false},
		{"not FCS", []string{"--culture", c.Code, "--day", "14", "--template", "data1 panel", "--replace", notFCS}, "notes.fcs", false},
		{"one of two bad", []string{"--culture", c.Code, "--day", "14", "--template", "data1 panel", "--replace", data1, notFCS}, "files[1].file", false},
		{"unknown template", []string{"--culture", c.Code, "--day", "14", "--template", "data9", data1}, "data9", false},
		{"no such day", []string{"--culture", c.Code, "--day", "9", "--template", "data1 panel", data1}, "no observation on day 9", false},
		{"too large", []string{"--culture", c.Code, "--day", "14", "--template", "data1 panel", "--max-bytes", "1000", data1}, "more than the 1000 bytes", false},
		{"missing file", []string{"--observation", "1", "--template", "data1 panel", filepath.Join(t.TempDir(), "nowhere.fcs")}, "nowhere.fcs", false},
		{"no file", []string{"--observation", "1", "--template", "data1 panel"}, "name at least one FCS file", true},
		{"no template", []string{"--observation", "1", data1}, "--template is required", true},
		{"two ways", []string{"--observation", "1", "--culture", c.Code, "--day", "7", "--template", "x", data1}, "--observation ID, or", true},
		{"day alone", []string{"--observation", "1", "--day", "7", "--template", "x", data1}, "--day goes with --culture", true},
		{"bad format", []string{"--observation", "1", "--template", "x", "--format", "xml", data1}, "--format", true},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runAttach(t, append([]string{"--db", dsn}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one containing %q", err, tc.want)
			}
			if code, want := exitCode(err), map[bool]int{true: 2, false: 1}[tc.usage]; code != want {
				t.Errorf("exit code %d, want %d", code, want)
			}
			if after := dbState(t, dsn); after != before {
				t.Errorf("a refused attach changed the database")
			}
		})
	}

	// --replace lets the file win over the typed purity; the table names the file and values.
	// This run goes through `clink fcs attach`, as the binary runs it.
	out, _, err = runClink(t, "fcs", "attach", "--db", dsn, "--culture", c.Code, "--day", "14", "--template", "data1 panel@1", "--replace", data1)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"data1.fcs", a.SHA256[:12], "data1 panel@1", "13367", pctText(want["nk_pct"]), "CD16 " + pctText(want["CD16"]),
		"nk_pct,t_pct,markers.CD16,markers.NKG2A", "day 14"} {
		if !strings.Contains(out, s) {
			t.Errorf("table output does not contain %q:\n%s", s, out)
		}
	}
}

// TestMaxFCSBytesConfig checks the server's FCS upload limit: default, environment, flag over
// environment, and the refusals of Validate.
func TestMaxFCSBytesConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     string
		args    []string
		want    int64
		problem string // empty: valid
	}{
		{"default", "", nil, clink.DefaultMaxFCSBytes, ""},
		{"environment", "1048576", nil, 1 << 20, ""},
		{"flag over environment", "1048576", []string{"--max-fcs-bytes", "2000"}, 2000, ""},
		{"the database's limit", "", []string{"--max-fcs-bytes", strconv.FormatInt(sqldb.MaxFCSBytes, 10)}, sqldb.MaxFCSBytes, ""},
		{"environment not a number", "512MiB", nil, clink.DefaultMaxFCSBytes, "CLINK_MAX_FCS_BYTES"},
		{"zero", "", []string{"--max-fcs-bytes", "0"}, 0, "max-fcs-bytes"},
		{"negative", "-1", nil, -1, "max-fcs-bytes"},
		{"above the database's limit", "", []string{"--max-fcs-bytes", strconv.FormatInt(sqldb.MaxFCSBytes+1, 10)}, sqldb.MaxFCSBytes + 1, "max-fcs-bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := &Main{Getenv: func(k string) string {
				if k == "CLINK_MAX_FCS_BYTES" {
					return tc.env
				}
				return ""
			}}
			c := m.defaultConfig()
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			c.serverFlags(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			if c.MaxFCSBytes != tc.want {
				t.Errorf("got MaxFCSBytes %d, want %d", c.MaxFCSBytes, tc.want)
			}
			err := c.Validate()
			switch {
			case tc.problem == "" && err != nil:
				t.Errorf("got %v, want a valid configuration", err)
			case tc.problem != "" && (err == nil || !strings.Contains(err.Error(), tc.problem)):
				t.Errorf("got %v, want an error naming %s", err, tc.problem)
			}
			if tc.problem == "" && !strings.Contains(c.String(), fmt.Sprintf("max-fcs-bytes=%d", tc.want)) {
				t.Errorf("got config string %q, want it to show max-fcs-bytes=%d", c.String(), tc.want)
			}
		})
	}
}

// TestServeMaxFCSBytes runs `clink serve --max-fcs-bytes` and uploads data1.fcs: above the
// limit the answer is 413 and nothing changes; at the limit the file is attached.
func TestServeMaxFCSBytes(t *testing.T) {
	dsn, c := attachDB(t, sqldb.DialectSQLite)
	data1, err := os.ReadFile(flowFile(t, "gatingml2", "FCSFiles", "data1.fcs"))
	if err != nil {
		t.Fatal(err)
	}
	addAdmin(t, dsn) // serve needs an admin; uploads need a researcher of the site
	if _, errOut, err := runClinkIO(t, map[string]string{"CLINK_PASSWORD": "pipettes and plates"}, "", "user", "add", "--db", dsn,
		"--username", "ana", "--name", "Ana López", "--email", "ana@unizar.es", "--site", "ZGZ", "--role", "researcher"); err != nil {
		t.Fatalf("user add: %v\n%s", err, errOut)
	}
	token := tokenFor(t, dsn, "ana")
	st, err := sqldb.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	obs, _, err := st.FindObservations(context.Background(), clink.ObservationFilter{CultureID: c.ID})
	st.Close()
	if err != nil || len(obs) == 0 || obs[0].Day != 7 {
		t.Fatalf("observations of %s: %v, %v", c.Code, obs, err)
	}
	post := func(base string) int {
		t.Helper()
		url := fmt.Sprintf("%s/api/v1/observations/%d/fcs?template=data1+panel&filename=data1.fcs", base, obs[0].ID)
		req, err := nethttp.NewRequest("POST", url, bytes.NewReader(data1))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/vnd.isac.fcs")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := nethttp.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	before := dbState(t, dsn)
	small, _ := startClink(t, "serve", "--db", dsn, "--max-fcs-bytes", strconv.Itoa(len(data1)-1))
	if got := post(small.BaseURL); got != 413 {
		t.Errorf("data1.fcs (%d bytes) to a server limited to one byte less: got status %d, want 413", len(data1), got)
	}
	if after := dbState(t, dsn); after != before {
		t.Errorf("a refused upload changed the database")
	}
	exact, _ := startClink(t, "serve", "--db", dsn, "--max-fcs-bytes", strconv.Itoa(len(data1)))
	if got := post(exact.BaseURL); got != 201 {
		t.Errorf("data1.fcs (%d bytes) to a server limited to its size: got status %d, want 201", len(data1), got)
	}
}
