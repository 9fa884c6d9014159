package sqldb_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/sqldb"
)

// The store keeps a design space's definition as given and checks only that it is a JSON
// object; that it is a valid design.Space is the HTTP API's check (http/designspaces_test.go).

// spaceDef is the example of design.Space's doc comment, with the spacing and key order of
// hand-written JSON, which the store must keep byte for byte.
const spaceDef = `{
  "name": "nk-default",
  "factors": [
    {"name": "il2", "unit": "IU/mL", "kind": "continuous", "low": 0, "high": 1000, "scale": "log", "offset": 1},
    {"name": "harvest_day", "unit": "d", "kind": "integer", "low": 7, "high": 28, "scale": "linear"},
    {"name": "vessel", "kind": "categorical", "levels": ["plate", "flask", "G-Rex"]}
  ],
  "constraints": []
}`

func newDesignSpace(site, name string) *clink.DesignSpace {
	return &clink.DesignSpace{Site: site, Name: name, Description: "IL-2, harvest day and vessel",
		Definition: json.RawMessage(spaceDef)}
}

// spaceState is what a refused design space write must leave as it was.
type spaceState struct {
	Rows int
	Head clink.AuditChain
}

func spaceStateOf(tb testing.TB, s *sqldb.Store) spaceState {
	tb.Helper()
	var st spaceState
	must(tb, s.DB().QueryRow("SELECT COUNT(*) FROM design_spaces").Scan(&st.Rows))
	var err error
	st.Head, err = s.VerifyAudit(actx)
	must(tb, err)
	return st
}

func TestDesignSpaces(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		for _, code := range []string{"ZGZ", "BCN"} {
			must(t, s.CreateSite(actx, newSite(code)))
		}
		v1 := newDesignSpace("ZGZ", "NK cytokines")
		must(t, s.CreateDesignSpace(actx, v1))
		if v1.ID == 0 || v1.Version != 1 || v1.Voided || v1.CreatedBy != "tester" || v1.UpdatedBy != "tester" || v1.CreatedAt.IsZero() {
			t.Fatalf("created design space = %+v, want an id, version 1, not void, created by tester", v1)
		}
		got, err := s.FindDesignSpaceByID(actx, v1.ID)
		must(t, err)
		if d := cmp.Diff(v1, got); d != "" {
			t.Fatalf("FindDesignSpaceByID (-created +found):\n%s", d)
		}
		if string(got.Definition) != spaceDef {
			t.Errorf("stored definition:\n%s\nwant it byte for byte as given:\n%s", got.Definition, spaceDef)
		}

		// Version 0 with a known name is the next version; an explicit free version is taken
		// as it is, and the next one after it follows the highest.
		v2 := newDesignSpace("ZGZ", "NK cytokines")
		v2.Definition = json.RawMessage(`{"name": "nk-default", "factors": [{"name": "il15", "kind": "continuous", "low": 0, "high": 50}]}`)
		must(t, s.CreateDesignSpace(actx, v2))
		if v2.Version != 2 {
			t.Fatalf("second version of the name: got version %d, want 2", v2.Version)
		}
		other := newDesignSpace("BCN", "Feeder ratio")
		other.Version = 4
		must(t, s.CreateDesignSpace(actx, other))
		if other.Version != 4 {
			t.Errorf("explicit version 4 of a new name: got %d", other.Version)
		}

		before := spaceStateOf(t, s)
		bad := []struct {
			name, code, field, msg string
			edit                   func(*clink.DesignSpace)
		}{
			{"existing version", clink.ECONFLICT, "", "NK cytokines@1 already exists; leave the version empty to create version 3", func(d *clink.DesignSpace) { d.Version = 1 }},
			{"unknown site", clink.EINVALID, "site", "MAD", func(d *clink.DesignSpace) { d.Site = "MAD" }},
			{"no name", clink.EINVALID, "name", "is required", func(d *clink.DesignSpace) { d.Name = "" }},
			{"name a number", clink.EINVALID, "name", "reads as an id", func(d *clink.DesignSpace) { d.Name = "17" }},
			{"definition an array", clink.EINVALID, "definition", "JSON object", func(d *clink.DesignSpace) { d.Definition = json.RawMessage("[]") }},
			{"definition not JSON", clink.EINVALID, "definition", "not valid JSON", func(d *clink.DesignSpace) { d.Definition = json.RawMessage("{") }},
			{"no definition", clink.EINVALID, "definition", "is required", func(d *clink.DesignSpace) { d.Definition = nil }},
		}
		for _, tc := range bad {
			t.Run(tc.name, func(t *testing.T) {
				d := newDesignSpace("ZGZ", "NK cytokines")
				tc.edit(d)
				err := s.CreateDesignSpace(actx, d)
				wantCode(t, err, tc.code, tc.field)
				wantMessage(t, err, tc.msg)
				if d.ID != 0 {
					t.Errorf("a refused create set the id to %d", d.ID)
				}
				if d := cmp.Diff(before, spaceStateOf(t, s)); d != "" {
					t.Errorf("a refused create changed the database (-before +after):\n%s", d)
				}
			})
		}

		// A bare name is the latest valid version; NAME@N is that version, void or not.
		byRef := func(r string) (*clink.DesignSpace, error) {
			t.Helper()
			ref, err := clink.ParseTemplateRef(r)
			must(t, err)
			return s.FindDesignSpaceByRef(actx, ref)
		}
		refs := []struct {
			ref  string
			want int64 // 0: not found
		}{
			{"NK cytokines", v2.ID},
			{"NK cytokines@1", v1.ID},
			{"NK cytokines@2", v2.ID},
			{"NK cytokines@3", 0},
			{"Feeder ratio", other.ID},
			{"nk cytokines", 0}, // names are compared exactly
			{"No such space", 0},
		}
		for _, tc := range refs {
			d, err := byRef(tc.ref)
			switch {
			case tc.want == 0:
				wantCode(t, err, clink.ENOTFOUND, "")
			case err != nil:
				t.Errorf("FindDesignSpaceByRef(%q): %v", tc.ref, err)
			case d.ID != tc.want:
				t.Errorf("FindDesignSpaceByRef(%q): got id %d (%s), want %d", tc.ref, d.ID, d.Ref(), tc.want)
			}
		}
		_, err = s.FindDesignSpaceByRef(actx, clink.TemplateRef{})
		wantCode(t, err, clink.EINVALID, "ref")
		_, err = s.FindDesignSpaceByID(actx, 999)
		wantCode(t, err, clink.ENOTFOUND, "")

		// Voiding needs a reason, happens once, and sends the bare name back to version 1.
		for _, reason := range []string{" ", "a\x00b", "a\xffb"} {
			_, err = s.VoidDesignSpace(actx, v2.ID, reason)
			wantCode(t, err, clink.EINVALID, "reason")
		}
		_, err = s.VoidDesignSpace(actx, 999, "gone")
		wantCode(t, err, clink.ENOTFOUND, "")
		voided, err := s.VoidDesignSpace(actx, v2.ID, "IL-15 range too narrow")
		must(t, err)
		want := *v2
		want.Voided, want.VoidReason, want.UpdatedAt = true, "IL-15 range too narrow", voided.UpdatedAt
		if d := cmp.Diff(&want, voided); d != "" {
			t.Errorf("voided design space (-want +got):\n%s", d)
		}
		if !voided.UpdatedAt.After(v2.UpdatedAt) || voided.CreatedAt != v2.CreatedAt {
			t.Errorf("void stamps: created %v updated %v, want created kept and updated after %v", voided.CreatedAt, voided.UpdatedAt, v2.UpdatedAt)
		}
		_, err = s.VoidDesignSpace(actx, v2.ID, "again")
		wantCode(t, err, clink.ECONFLICT, "")
		wantMessage(t, err, "NK cytokines@2 is already void")
		if d, err := byRef("NK cytokines"); err != nil || d.ID != v1.ID {
			t.Errorf("latest valid of NK cytokines after voiding v2: got %v (%v), want version 1", d, err)
		}
		if d, err := byRef("NK cytokines@2"); err != nil || !d.Voided {
			t.Errorf("NK cytokines@2 after voiding: got %v (%v), want the void version", d, err)
		}
		// The next version follows the highest, void or not.
		v3 := newDesignSpace("ZGZ", "NK cytokines")
		must(t, s.CreateDesignSpace(actx, v3))
		if v3.Version != 3 {
			t.Errorf("version after a void version 2: got %d, want 3", v3.Version)
		}

		// Lists leave void versions out unless asked, and page by name and version.
		lists := []struct {
			name  string
			f     clink.DesignSpaceFilter
			total int
			refs  []string
		}{
			{"all valid", clink.DesignSpaceFilter{}, 3, []string{"Feeder ratio@4", "NK cytokines@1", "NK cytokines@3"}},
			{"with void", clink.DesignSpaceFilter{IncludeVoided: true}, 4, []string{"Feeder ratio@4", "NK cytokines@1", "NK cytokines@2", "NK cytokines@3"}},
			{"by name", clink.DesignSpaceFilter{Name: "NK cytokines"}, 2, []string{"NK cytokines@1", "NK cytokines@3"}},
			{"by site", clink.DesignSpaceFilter{Site: "BCN"}, 1, []string{"Feeder ratio@4"}},
			{"by site and name", clink.DesignSpaceFilter{Site: "BCN", Name: "NK cytokines"}, 0, []string{}},
			{"second page", clink.DesignSpaceFilter{IncludeVoided: true, Page: clink.Page{Limit: 2, Offset: 2}}, 4, []string{"NK cytokines@2", "NK cytokines@3"}},
		}
		for _, tc := range lists {
			list, total, err := s.FindDesignSpaces(actx, tc.f)
			must(t, err)
			refs := []string{}
			for _, d := range list {
				refs = append(refs, d.Ref())
			}
			if total != tc.total || !cmp.Equal(refs, tc.refs) {
				t.Errorf("%s: got %v of %d, want %v of %d", tc.name, refs, total, tc.refs, tc.total)
			}
		}
		_, _, err = s.FindDesignSpaces(actx, clink.DesignSpaceFilter{Page: clink.Page{Limit: -1}})
		wantCode(t, err, clink.EINVALID, "limit")
		list, _, err := s.FindDesignSpaces(actx, clink.DesignSpaceFilter{Name: "NK cytokines", Page: clink.Page{Limit: 1}})
		must(t, err)
		if d := cmp.Diff(v1, list[0]); d != "" {
			t.Errorf("listed design space (-created +listed):\n%s", d)
		}

		// Once every version is void, the bare name finds nothing.
		for _, id := range []int64{v1.ID, v3.ID} {
			_, err := s.VoidDesignSpace(actx, id, "superseded by Feeder ratio")
			must(t, err)
		}
		_, err = byRef("NK cytokines")
		wantCode(t, err, clink.ENOTFOUND, "")
		wantMessage(t, err, "every version of it is void")

		// Every write is audited as entity design_space; a void lists the fields it changed.
		events, _, err := s.FindAuditEvents(actx, clink.AuditFilter{Entity: "design_space"})
		must(t, err)
		var actions []string
		for _, e := range events {
			actions = append(actions, fmt.Sprintf("%s %d", e.Action, e.EntityID))
		}
		wantActions := []string{fmt.Sprintf("create %d", v1.ID), fmt.Sprintf("create %d", v2.ID), fmt.Sprintf("create %d", other.ID),
			fmt.Sprintf("void %d", v2.ID), fmt.Sprintf("create %d", v3.ID), fmt.Sprintf("void %d", v1.ID), fmt.Sprintf("void %d", v3.ID)}
		if !cmp.Equal(actions, wantActions) {
			t.Errorf("audit of design spaces: got %v, want %v", actions, wantActions)
		}
		voidEvent := events[3]
		var fields []string
		for _, c := range voidEvent.Changes {
			fields = append(fields, c.Field)
		}
		if voidEvent.Reason != "IL-15 range too narrow" || voidEvent.Site != "ZGZ" || !cmp.Equal(fields, []string{"void_reason", "voided"}) {
			t.Errorf("void event: reason %q site %s changes %v, want the reason, ZGZ and [void_reason voided]", voidEvent.Reason, voidEvent.Site, fields)
		}
		var after clink.DesignSpace
		must(t, json.Unmarshal(events[0].After, &after))
		if after.Ref() != "NK cytokines@1" || !json.Valid(after.Definition) {
			t.Errorf("create event records %s with definition %s, want NK cytokines@1 and its definition", after.Ref(), after.Definition)
		}
	})
}

// TestDesignSpacesImmutable checks the schema's guard: whatever the code does, a stored version
// keeps its fields, stays void once void, and is never deleted.
func TestDesignSpacesImmutable(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		must(t, s.CreateSite(actx, newSite("ZGZ")))
		must(t, s.CreateSite(actx, newSite("BCN")))
		d := newDesignSpace("ZGZ", "NK cytokines")
		must(t, s.CreateDesignSpace(actx, d))
		voided := newDesignSpace("ZGZ", "Old space")
		must(t, s.CreateDesignSpace(actx, voided))
		_, err := s.VoidDesignSpace(actx, voided.ID, "wrong ranges")
		must(t, err)
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{"UPDATE design_spaces SET definition = $1 WHERE id = $2", []any{`{"name": "x", "factors": []}`, d.ID}},
			{"UPDATE design_spaces SET name = $1 WHERE id = $2", []any{"Renamed", d.ID}},
			{"UPDATE design_spaces SET version = $1 WHERE id = $2", []any{7, d.ID}},
			{"UPDATE design_spaces SET site = $1 WHERE id = $2", []any{"BCN", d.ID}},
			{"UPDATE design_spaces SET voided = $1, void_reason = $2 WHERE id = $3", []any{false, "", voided.ID}},
			{"DELETE FROM design_spaces WHERE id = $1", []any{d.ID}},
		} {
			if _, err := s.DB().Exec(q.sql, q.args...); err == nil {
				t.Errorf("%s %v: accepted, want the schema to refuse it", q.sql, q.args)
			}
		}
		if s.Dialect() == sqldb.DialectPostgres {
			if _, err := s.DB().Exec("TRUNCATE design_spaces"); err == nil {
				t.Errorf("TRUNCATE design_spaces: accepted, want it refused")
			}
		}
		for _, want := range []*clink.DesignSpace{d, voided} {
			got, err := s.FindDesignSpaceByID(actx, want.ID)
			must(t, err)
			if got.Name != want.Name || got.Version != want.Version || string(got.Definition) != spaceDef || got.Voided != (want == voided) {
				t.Errorf("after the refused statements: %+v, want %s unchanged", got, want.Ref())
			}
		}
		// Voiding, the one change allowed, still works.
		if _, err := s.VoidDesignSpace(actx, d.ID, "done"); err != nil {
			t.Errorf("void after the refused statements: %v", err)
		}
	})
}

// TestDesignSpacesConcurrent checks that concurrent writers neither share a version number nor
// void a version twice: every create gets its own version or ECONFLICT, and of concurrent
// voids of one version exactly one succeeds.
func TestDesignSpacesConcurrent(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		must(t, s.CreateSite(actx, newSite("ZGZ")))
		const n = 8
		var wg sync.WaitGroup
		versions := make([]int, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				d := newDesignSpace("ZGZ", "Race")
				errs[i] = s.CreateDesignSpace(actx, d)
				versions[i] = d.Version
			})
		}
		wg.Wait()
		var made []int
		for i, err := range errs {
			switch clink.ErrorCode(err) {
			case "":
				made = append(made, versions[i])
			case clink.ECONFLICT:
			default:
				t.Errorf("concurrent create %d: %v, want success or a conflict", i, err)
			}
		}
		slices.Sort(made)
		if len(made) == 0 || len(slices.Compact(slices.Clone(made))) != len(made) || made[0] != 1 || made[len(made)-1] != len(made) {
			t.Errorf("versions made concurrently: %v, want 1..k without repeats", made)
		}

		var ok, conflicts int
		var mu sync.Mutex
		target := newDesignSpace("ZGZ", "Void race")
		must(t, s.CreateDesignSpace(actx, target))
		for i := range n {
			wg.Go(func() {
				_, err := s.VoidDesignSpace(actx, target.ID, fmt.Sprintf("void %d", i))
				mu.Lock()
				defer mu.Unlock()
				switch clink.ErrorCode(err) {
				case "":
					ok++
				case clink.ECONFLICT:
					conflicts++
				default:
					t.Errorf("concurrent void: %v", err)
				}
			})
		}
		wg.Wait()
		if ok != 1 || conflicts != n-1 {
			t.Errorf("concurrent voids: %d succeeded and %d conflicted, want 1 and %d", ok, conflicts, n-1)
		}
		_, total, err := s.FindAuditEvents(actx, clink.AuditFilter{Entity: "design_space", EntityID: target.ID})
		must(t, err)
		if total != 2 {
			t.Errorf("audit events of the raced version: %d, want 2 (create and one void)", total)
		}
	})
}

// TestDesignSpaceAtomic checks that a design space created inside a rolled-back Atomic leaves
// nothing behind.
func TestDesignSpaceAtomic(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		must(t, s.CreateSite(actx, newSite("ZGZ")))
		before := spaceStateOf(t, s)
		err := s.Atomic(actx, func(tx clink.Store) error {
			if err := tx.CreateDesignSpace(actx, newDesignSpace("ZGZ", "Rolled back")); err != nil {
				return err
			}
			return errStop
		})
		if err != errStop {
			t.Fatalf("Atomic = %v, want fn's error unchanged", err)
		}
		if d := cmp.Diff(before, spaceStateOf(t, s)); d != "" {
			t.Errorf("rolled-back Atomic left design spaces (-before +after):\n%s", d)
		}
	})
}
