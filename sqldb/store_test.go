package sqldb_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/sqldb"
	"github.com/google/go-cmp/cmp"
)

func TestSites(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		zgz := newSite("ZGZ")
		must(t, s.CreateSite(actx, zgz))
		if zgz.ID == 0 || zgz.Site != "ZGZ" || zgz.CreatedBy != "tester" || zgz.CreatedAt.IsZero() {
			t.Fatalf("created site = %+v, want id, site, created_by and created_at filled", zgz)
		}
		got, err := s.FindSiteByCode(actx, "ZGZ")
		must(t, err)
		if d := cmp.Diff(zgz, got); d != "" {
			t.Fatalf("FindSiteByCode (-created +found):\n%s", d)
		}
		wantCode(t, s.CreateSite(actx, newSite("ZGZ")), clink.ECONFLICT, "")
		wantCode(t, s.CreateSite(actx, &clink.Site{Code: "zz", Name: "x", Kind: clink.SiteLab}), clink.EINVALID, "code")
		_, err = s.FindSiteByCode(actx, "MAD")
		wantCode(t, err, clink.ENOTFOUND, "")
		must(t, s.CreateSite(actx, newSite("BCN")))
		list, err := s.ListSites(actx)
		must(t, err)
		if len(list) != 2 || list[0].Code != "BCN" || list[1].Code != "ZGZ" {
			t.Fatalf("ListSites = %v, want BCN then ZGZ", list)
		}
	})
}

func TestDonors(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		f := seed(t, s)
		d := f.zgzDonor
		if err := clink.CheckDonorCode(d.Code); err != nil {
			t.Fatalf("generated code %q: %v", d.Code, err)
		}
		if d.KIRHaplotype != clink.KIRAA || !cmp.Equal(d.KIRGenes, []string{"KIR2DL1", "KIR3DL1"}) {
			t.Fatalf("normalized donor: haplotype %q genes %v, want A/A [KIR2DL1 KIR3DL1]", d.KIRHaplotype, d.KIRGenes)
		}
		byID, err := s.FindDonorByID(actx, d.ID)
		must(t, err)
		if diff := cmp.Diff(d, byID); diff != "" {
			t.Fatalf("FindDonorByID (-created +found):\n%s", diff)
		}
		byCode, err := s.FindDonorByCode(actx, d.Code)
		must(t, err)
		if diff := cmp.Diff(d, byCode); diff != "" {
			t.Fatalf("FindDonorByCode (-created +found):\n%s", diff)
		}
		_, err = s.FindDonorByID(actx, 999)
		wantCode(t, err, clink.ENOTFOUND, "")

		given := newDonor("BCN")
		given.Code = "D0000000000-" + clink.Mod37_2("D0000000000")
		must(t, s.CreateDonor(actx, given))
		if given.Code != "D0000000000-"+clink.Mod37_2("D0000000000") {
			t.Fatalf("given code became %q", given.Code)
		}
		dup := newDonor("ZGZ")
		dup.Code = given.Code
		err = s.CreateDonor(actx, dup)
		wantCode(t, err, clink.ECONFLICT, "")
		wantMessage(t, err, given.Code)
		wantCode(t, s.CreateDonor(actx, newDonor("MAD")), clink.EINVALID, "site")

		neg := newDonor("BCN")
		neg.HCMV, neg.KIRGenes = clink.HCMVNegative, []string{"KIR2DS2"}
		must(t, s.CreateDonor(actx, neg))
		// Donors now: 1 ZGZ pos A/A, 2 BCN pos A/A, 3 BCN pos A/A (given), 4 BCN neg B/x.
		tests := []struct {
			name    string
			f       clink.DonorFilter
			wantIDs []int64
			total   int
		}{
			{"all", clink.DonorFilter{}, []int64{1, 2, 3, 4}, 4},
			{"site", clink.DonorFilter{Site: "BCN"}, []int64{2, 3, 4}, 3},
			{"hcmv", clink.DonorFilter{HCMV: clink.HCMVNegative}, []int64{4}, 1},
			{"nkg2c", clink.DonorFilter{NKG2C: clink.NKG2CPlusDel, Site: "ZGZ"}, []int64{1}, 1},
			{"kir", clink.DonorFilter{KIR: clink.KIRBx}, []int64{4}, 1},
			{"page", clink.DonorFilter{Site: "BCN", Page: clink.Page{Limit: 2, Offset: 1}}, []int64{3, 4}, 3},
			{"past the end", clink.DonorFilter{Page: clink.Page{Limit: 2, Offset: 10}}, nil, 4},
			{"none", clink.DonorFilter{Site: "MAD"}, nil, 0},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got, total, err := s.FindDonors(actx, tc.f)
				must(t, err)
				var ids []int64
				for _, d := range got {
					ids = append(ids, d.ID)
				}
				if !cmp.Equal(ids, tc.wantIDs) || total != tc.total {
					t.Fatalf("got ids %v total %d, want %v total %d", ids, total, tc.wantIDs, tc.total)
				}
			})
		}
		_, _, err = s.FindDonors(actx, clink.DonorFilter{Page: clink.Page{Limit: clink.MaxLimit + 1}})
		wantCode(t, err, clink.EINVALID, "limit")

		// Corrections keep code, site and creation, need a reason, and are audited.
		fix := *byID
		fix.Code, fix.Site, fix.HCMV, fix.Notes = "", "", clink.HCMVNegative, "serology repeated"
		wantCode(t, s.UpdateDonor(actx, &fix, " "), clink.EINVALID, "reason")
		must(t, s.UpdateDonor(clink.WithActor(context.Background(), "corrector"), &fix, "lab sent a corrected result"))
		if fix.Code != d.Code || fix.Site != "ZGZ" || fix.CreatedAt != d.CreatedAt || fix.UpdatedBy != "corrector" || !fix.UpdatedAt.After(d.UpdatedAt) {
			t.Fatalf("updated donor = %+v, want code, site, creation kept and update by corrector later", fix)
		}
		again, err := s.FindDonorByID(actx, d.ID)
		must(t, err)
		if diff := cmp.Diff(&fix, again); diff != "" {
			t.Fatalf("donor after update (-returned +found):\n%s", diff)
		}
		moved := *again
		moved.Site = "BCN"
		wantCode(t, s.UpdateDonor(actx, &moved, "moving"), clink.EINVALID, "site")
		missing := *again
		missing.ID = 999
		wantCode(t, s.UpdateDonor(actx, &missing, "x"), clink.ENOTFOUND, "")
		ev, _, err := s.FindAuditEvents(actx, clink.AuditFilter{Entity: "donor", EntityID: d.ID})
		must(t, err)
		if len(ev) != 2 || ev[1].Action != "update" || ev[1].Reason != "lab sent a corrected result" || ev[1].Actor != "corrector" {
			t.Fatalf("donor audit = %+v, want create then update by corrector with the reason", ev)
		}
		var before, after clink.Donor
		must(t, json.Unmarshal(ev[1].Before, &before))
		must(t, json.Unmarshal(ev[1].After, &after))
		if before.HCMV != clink.HCMVPositive || after.HCMV != clink.HCMVNegative {
			t.Fatalf("audit before/after hcmv = %s/%s, want positive/negative", before.HCMV, after.HCMV)
		}
	})
}

func TestComponents(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		seed(t, s)
		err := s.CreateComponent(actx, &clink.Component{Site: "BCN", Name: "IL-2", Category: clink.CategoryCytokine, Unit: clink.UnitIUPerML})
		wantCode(t, err, clink.ECONFLICT, "")
		wantMessage(t, err, "IL-2")
		err = s.CreateComponent(actx, &clink.Component{Site: "MAD", Name: "IL-21", Category: clink.CategoryCytokine, Unit: clink.UnitNgPerML})
		wantCode(t, err, clink.EINVALID, "site")
		err = s.CreateComponent(actx, &clink.Component{Site: "ZGZ", Name: "IL-21", Category: clink.CategoryCytokine, Unit: clink.UnitIUPerML})
		wantCode(t, err, clink.EINVALID, "unit")
		tests := []struct {
			category string
			want     []string
		}{
			{"", []string{"IL-15", "IL-2", "K562-mbIL15-41BBL"}},
			{clink.CategoryFeeder, []string{"K562-mbIL15-41BBL"}},
			{clink.CategorySerum, nil},
		}
		for _, tc := range tests {
			got, err := s.FindComponents(actx, tc.category)
			must(t, err)
			var names []string
			for _, c := range got {
				names = append(names, c.Name)
			}
			if !cmp.Equal(names, tc.want) {
				t.Errorf("FindComponents(%q) = %v, want %v", tc.category, names, tc.want)
			}
		}
		c, err := s.FindComponentByID(actx, 3)
		must(t, err)
		if c.Name != "K562-mbIL15-41BBL" || c.Site != "BCN" {
			t.Fatalf("component 3 = %+v, want the feeder of BCN", c)
		}
		_, err = s.FindComponentByID(actx, 42)
		wantCode(t, err, clink.ENOTFOUND, "")
	})
}

func TestProtocols(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		f := seed(t, s)
		p := f.protocol
		// CheckComponents filled the categories and the feeder's unit; IL-2's unit was normalized.
		want := []clink.ProtocolComponent{
			{Component: "IL-2", Category: clink.CategoryCytokine, Dose: 100, Unit: clink.UnitIUPerML, Days: []int{0, 7, 14}},
			{Component: "K562-mbIL15-41BBL", Category: clink.CategoryFeeder, Dose: 100, Unit: clink.UnitGray, Days: []int{0}},
		}
		if diff := cmp.Diff(want, p.Components); diff != "" {
			t.Fatalf("created components (-want +got):\n%s", diff)
		}
		got, err := s.FindProtocolByID(actx, p.ID)
		must(t, err)
		if !got.InUse {
			t.Fatalf("protocol used by cultures has InUse false")
		}
		p.InUse = true
		if diff := cmp.Diff(p, got); diff != "" {
			t.Fatalf("FindProtocolByID (-created +found):\n%s", diff)
		}
		byKey, err := s.FindProtocolByKey(actx, "IL-2 + feeder", 1)
		must(t, err)
		if byKey.ID != p.ID {
			t.Fatalf("FindProtocolByKey id = %d, want %d", byKey.ID, p.ID)
		}
		_, err = s.FindProtocolByKey(actx, "IL-2 + feeder", 9)
		wantCode(t, err, clink.ENOTFOUND, "")

		// Versions: 0 means the next one; an existing explicit version is a conflict.
		v2 := newProtocol("ZGZ", "IL-2 + feeder")
		must(t, s.CreateProtocol(actx, v2))
		if v2.Version != 2 {
			t.Fatalf("next version = %d, want 2", v2.Version)
		}
		dup := newProtocol("ZGZ", "IL-2 + feeder")
		dup.Version = 1
		wantCode(t, s.CreateProtocol(actx, dup), clink.ECONFLICT, "")
		v5 := newProtocol("ZGZ", "Fresh")
		v5.Version = 5
		must(t, s.CreateProtocol(actx, v5))
		if v5.Version != 5 {
			t.Fatalf("explicit version of a new name = %d, want 5", v5.Version)
		}

		bad := []struct {
			name  string
			edit  func(p *clink.Protocol)
			field string
		}{
			{"unknown component", func(p *clink.Protocol) { p.Components[0].Component = "IL-99" }, "components[0].component"},
			{"wrong unit", func(p *clink.Protocol) { p.Components[0].Unit = "ng/mL" }, "components[0].unit"},
			{"unknown site", func(p *clink.Protocol) { p.Site = "MAD" }, "site"},
			{"feeder ratio without feeder", func(p *clink.Protocol) { p.FeederRatio, p.FeederRatioBasis = fptr(1), clink.BasisFeederNK }, "feeder_ratio"},
			{"no duration", func(p *clink.Protocol) { p.DurationDays = 0 }, "duration_days"},
		}
		for _, tc := range bad {
			t.Run(tc.name, func(t *testing.T) {
				p := newProtocol("ZGZ", "Bad")
				tc.edit(p)
				wantCode(t, s.CreateProtocol(actx, p), clink.EINVALID, tc.field)
			})
		}

		// A version in use is immutable; an unused one changes in place.
		p.Description = "changed"
		err = s.UpdateProtocol(actx, p, "typo")
		wantCode(t, err, clink.ECONFLICT, "")
		wantMessage(t, err, "new version")
		plain := f.plain
		plain.Components = append(plain.Components, clink.ProtocolComponent{Component: "IL-15", Dose: 10, Days: []int{0}})
		plain.Description = "IL-15 added"
		wantCode(t, s.UpdateProtocol(actx, plain, ""), clink.EINVALID, "reason")
		must(t, s.UpdateProtocol(actx, plain, "IL-15 was forgotten"))
		got, err = s.FindProtocolByID(actx, plain.ID)
		must(t, err)
		if diff := cmp.Diff(plain, got); diff != "" {
			t.Fatalf("protocol after update (-returned +found):\n%s", diff)
		}
		if len(got.Components) != 2 || got.Components[1].Unit != clink.UnitNgPerML {
			t.Fatalf("updated components = %+v, want IL-2 then IL-15 in ng/mL", got.Components)
		}
		renamed := *got
		renamed.Version = 3
		wantCode(t, s.UpdateProtocol(actx, &renamed, "x"), clink.EINVALID, "version")

		list := []struct {
			f    clink.ProtocolFilter
			want []string
			n    int
		}{
			{clink.ProtocolFilter{}, []string{"Fresh v5", "IL-2 + feeder v1", "IL-2 + feeder v2", "IL-2 only v1"}, 4},
			{clink.ProtocolFilter{Site: "BCN"}, []string{"IL-2 only v1"}, 1},
			{clink.ProtocolFilter{Name: "IL-2 + feeder", Page: clink.Page{Limit: 1, Offset: 1}}, []string{"IL-2 + feeder v2"}, 2},
		}
		for _, tc := range list {
			got, n, err := s.FindProtocols(actx, tc.f)
			must(t, err)
			var keys []string
			for _, p := range got {
				keys = append(keys, p.Key())
			}
			if !cmp.Equal(keys, tc.want) || n != tc.n {
				t.Errorf("FindProtocols(%+v) = %v, %d; want %v, %d", tc.f, keys, n, tc.want, tc.n)
			}
		}
	})
}

func TestCultures(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		f := seed(t, s)
		c := f.zgzCulture
		if c.Code != "ZGZ-C0001" || f.bcnCulture.Code != "BCN-C0001" {
			t.Fatalf("codes = %s, %s; want ZGZ-C0001, BCN-C0001", c.Code, f.bcnCulture.Code)
		}
		if c.Donor != f.zgzDonor.Code || c.ProtocolName != "IL-2 + feeder" || c.ProtocolVersion != 1 || c.Status != clink.StatusRunning {
			t.Fatalf("culture = %+v, want donor code, protocol name and version, running", c)
		}
		for _, find := range []func() (*clink.Culture, error){
			func() (*clink.Culture, error) { return s.FindCultureByID(actx, c.ID) },
			func() (*clink.Culture, error) { return s.FindCultureByCode(actx, c.Code) },
		} {
			got, err := find()
			must(t, err)
			if diff := cmp.Diff(c, got); diff != "" {
				t.Fatalf("found culture (-created +found):\n%s", diff)
			}
		}
		_, err := s.FindCultureByCode(actx, "ZGZ-C9999")
		wantCode(t, err, clink.ENOTFOUND, "")

		// By donor code and protocol name and version.
		byKey := &clink.Culture{Site: "ZGZ", Donor: f.zgzDonor.Code, ProtocolName: "IL-2 only", ProtocolVersion: 1,
			StartDate: "2025-02-01", StartingCells: 1e7, StartingNKPct: 8}
		must(t, s.CreateCulture(actx, byKey))
		if byKey.Code != "ZGZ-C0002" || byKey.DonorID != f.zgzDonor.ID || byKey.ProtocolID != f.plain.ID {
			t.Fatalf("culture by keys = %+v, want ZGZ-C0002 with donor and protocol ids", byKey)
		}
		// A code given by hand is kept; the generator skips it.
		manual := newCulture("ZGZ", f.zgzDonor, f.plain)
		manual.Code = "ZGZ-C0003"
		must(t, s.CreateCulture(actx, manual))
		next := newCulture("ZGZ", f.zgzDonor, f.plain)
		must(t, s.CreateCulture(actx, next))
		if next.Code != "ZGZ-C0004" {
			t.Fatalf("generated code after a manual one = %s, want ZGZ-C0004", next.Code)
		}

		bad := []struct {
			name  string
			edit  func(c *clink.Culture)
			code  string
			field string
			msg   string
		}{
			{"donor of another site", func(c *clink.Culture) { c.DonorID = f.bcnDonor.ID }, clink.EINVALID, "donor",
				fmt.Sprintf("donor %s belongs to BCN, not ZGZ", f.bcnDonor.Code)},
			{"unknown donor id", func(c *clink.Culture) { c.DonorID = 999 }, clink.EINVALID, "donor", "999"},
			{"unknown donor code", func(c *clink.Culture) { c.DonorID, c.Donor = 0, "D0000000000-X" }, clink.EINVALID, "donor", "D0000000000-X"},
			{"unknown protocol", func(c *clink.Culture) { c.ProtocolID = 999 }, clink.EINVALID, "protocol_id", "999"},
			{"unknown protocol version", func(c *clink.Culture) { c.ProtocolID, c.ProtocolName, c.ProtocolVersion = 0, "IL-2 only", 7 },
				clink.EINVALID, "protocol_id", "IL-2 only v7"},
			{"unknown site", func(c *clink.Culture) { c.Site = "MAD" }, clink.EINVALID, "site", "MAD"},
			{"own field", func(c *clink.Culture) { c.StartingNKPct = 120 }, clink.EINVALID, "starting_nk_pct", "120"},
			{"taken code", func(c *clink.Culture) { c.Code = "ZGZ-C0001" }, clink.ECONFLICT, "", "ZGZ-C0001"},
		}
		for _, tc := range bad {
			t.Run(tc.name, func(t *testing.T) {
				c := newCulture("ZGZ", f.zgzDonor, f.plain)
				tc.edit(c)
				err := s.CreateCulture(actx, c)
				wantCode(t, err, tc.code, tc.field)
				wantMessage(t, err, tc.msg)
			})
		}

		// Status: only a running culture changes; stopping needs a reason.
		_, err = s.SetCultureStatus(actx, c.ID, clink.CultureStatusChange{Status: clink.StatusStopped})
		wantCode(t, err, clink.EINVALID, "reason")
		_, err = s.SetCultureStatus(actx, c.ID, clink.CultureStatusChange{Status: "paused"})
		wantCode(t, err, clink.EINVALID, "status")
		stopped, err := s.SetCultureStatus(actx, c.ID, clink.CultureStatusChange{Status: clink.StatusStopped, Reason: "contamination"})
		must(t, err)
		if stopped.Status != clink.StatusStopped || stopped.StopReason != "contamination" {
			t.Fatalf("stopped culture = %+v", stopped)
		}
		_, err = s.SetCultureStatus(actx, c.ID, clink.CultureStatusChange{Status: clink.StatusCompleted})
		wantCode(t, err, clink.ECONFLICT, "")
		_, err = s.SetCultureStatus(actx, 999, clink.CultureStatusChange{Status: clink.StatusCompleted})
		wantCode(t, err, clink.ENOTFOUND, "")
		done, err := s.SetCultureStatus(actx, byKey.ID, clink.CultureStatusChange{Status: clink.StatusCompleted})
		must(t, err)
		if done.Status != clink.StatusCompleted || done.StopReason != "" {
			t.Fatalf("completed culture = %+v", done)
		}
		ev, _, err := s.FindAuditEvents(actx, clink.AuditFilter{Entity: "culture", EntityID: c.ID})
		must(t, err)
		if len(ev) != 2 || ev[1].Action != "status" || ev[1].Reason != "contamination" {
			t.Fatalf("culture audit = %+v, want create then status with the reason", ev)
		}

		// Cultures: 1 ZGZ stopped, 2 BCN, 3 ZGZ completed (plain), 4 ZGZ manual, 5 ZGZ.
		list := []struct {
			name  string
			f     clink.CultureFilter
			want  []string
			total int
		}{
			{"all", clink.CultureFilter{}, []string{"ZGZ-C0001", "BCN-C0001", "ZGZ-C0002", "ZGZ-C0003", "ZGZ-C0004"}, 5},
			{"site", clink.CultureFilter{Site: "BCN"}, []string{"BCN-C0001"}, 1},
			{"donor", clink.CultureFilter{DonorID: f.zgzDonor.ID, Page: clink.Page{Limit: 2}}, []string{"ZGZ-C0001", "ZGZ-C0002"}, 4},
			{"protocol", clink.CultureFilter{ProtocolID: f.plain.ID}, []string{"ZGZ-C0002", "ZGZ-C0003", "ZGZ-C0004"}, 3},
			{"status", clink.CultureFilter{Status: clink.StatusRunning, Page: clink.Page{Offset: 1}}, []string{"ZGZ-C0003", "ZGZ-C0004"}, 3},
		}
		for _, tc := range list {
			t.Run(tc.name, func(t *testing.T) {
				got, total, err := s.FindCultures(actx, tc.f)
				must(t, err)
				var codes []string
				for _, c := range got {
					codes = append(codes, c.Code)
				}
				if !cmp.Equal(codes, tc.want) || total != tc.total {
					t.Fatalf("got %v total %d, want %v total %d", codes, total, tc.want, tc.total)
				}
			})
		}
	})
}

func TestObservations(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		f := seed(t, s)
		c := f.zgzCulture
		for _, day := range []int{7, 0, 3} {
			o := newObservation(c, day)
			o.Site = "BCN" // ignored: copied from the culture
			must(t, s.CreateObservation(actx, o))
			if o.Site != "ZGZ" || o.Culture != "ZGZ-C0001" {
				t.Fatalf("observation site/culture = %s/%s, want ZGZ/ZGZ-C0001", o.Site, o.Culture)
			}
		}
		byCode := newObservation(c, 10)
		byCode.CultureID, byCode.Culture = 0, c.Code
		must(t, s.CreateObservation(actx, byCode))
		if byCode.CultureID != c.ID {
			t.Fatalf("observation by culture code has culture_id %d, want %d", byCode.CultureID, c.ID)
		}
		got, err := s.FindObservationByID(actx, byCode.ID)
		must(t, err)
		if diff := cmp.Diff(byCode, got); diff != "" {
			t.Fatalf("FindObservationByID (-created +found):\n%s", diff)
		}

		err = s.CreateObservation(actx, newObservation(c, 7))
		wantCode(t, err, clink.ECONFLICT, "")
		wantMessage(t, err, "culture ZGZ-C0001 already has an observation on day 7; correct that one instead")
		missing := newObservation(c, 1)
		missing.CultureID = 999
		wantCode(t, s.CreateObservation(actx, missing), clink.ENOTFOUND, "")
		none := newObservation(c, 1)
		none.CultureID = 0
		wantCode(t, s.CreateObservation(actx, none), clink.EINVALID, "culture_id")
		bad := newObservation(c, 1)
		bad.Markers["CD99"] = 5
		wantCode(t, s.CreateObservation(actx, bad), clink.EINVALID, "markers.CD99")

		list, total, err := s.FindObservations(actx, clink.ObservationFilter{CultureID: c.ID})
		must(t, err)
		var days []int
		for _, o := range list {
			days = append(days, o.Day)
		}
		if !cmp.Equal(days, []int{0, 3, 7, 10}) || total != 4 {
			t.Fatalf("days %v total %d, want [0 3 7 10] total 4", days, total)
		}

		// Void, then the day is free again; voided ones are listed only when asked for.
		day7 := list[2]
		wantCode(t, func() error { _, err := s.VoidObservation(actx, day7.ID, ""); return err }(), clink.EINVALID, "reason")
		voided, err := s.VoidObservation(actx, day7.ID, "counted the wrong flask")
		must(t, err)
		if !voided.Voided || voided.VoidReason != "counted the wrong flask" {
			t.Fatalf("voided = %+v", voided)
		}
		_, err = s.VoidObservation(actx, day7.ID, "again")
		wantCode(t, err, clink.ECONFLICT, "")
		redo := newObservation(c, 7)
		must(t, s.CreateObservation(actx, redo))
		_, total, err = s.FindObservations(actx, clink.ObservationFilter{CultureID: c.ID})
		must(t, err)
		_, all, err := s.FindObservations(actx, clink.ObservationFilter{CultureID: c.ID, IncludeVoided: true})
		must(t, err)
		if total != 4 || all != 5 {
			t.Fatalf("totals without/with voided = %d/%d, want 4/5", total, all)
		}
		wantCode(t, s.UpdateObservation(actx, voided, "fix"), clink.ECONFLICT, "")

		// Corrections: reason required, day collisions refused, culture fixed.
		fix := *redo
		fix.ViableCells = 3.3e8
		fix.NKPct = nil
		wantCode(t, s.UpdateObservation(actx, &fix, ""), clink.EINVALID, "reason")
		must(t, s.UpdateObservation(actx, &fix, "recount"))
		got, err = s.FindObservationByID(actx, redo.ID)
		must(t, err)
		if diff := cmp.Diff(&fix, got); diff != "" {
			t.Fatalf("observation after update (-returned +found):\n%s", diff)
		}
		clash := *got
		clash.Day = 3
		err = s.UpdateObservation(actx, &clash, "wrong day")
		wantCode(t, err, clink.ECONFLICT, "")
		wantMessage(t, err, "day 3")
		moved := *got
		moved.CultureID = f.bcnCulture.ID
		wantCode(t, s.UpdateObservation(actx, &moved, "move"), clink.EINVALID, "culture_id")

		// No new data on a void culture. There is no VoidCulture yet, so void it directly.
		if _, err := s.DB().Exec("UPDATE cultures SET voided = $1, void_reason = 'test' WHERE id = $2", true, f.bcnCulture.ID); err != nil {
			t.Fatal(err)
		}
		err = s.CreateObservation(actx, newObservation(f.bcnCulture, 1))
		wantCode(t, err, clink.ECONFLICT, "")
		wantMessage(t, err, "void")
		wantCode(t, s.CreateAssay(actx, newAssay(f.bcnCulture)), clink.ECONFLICT, "")
	})
}

func TestAssays(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		f := seed(t, s)
		a := newAssay(f.zgzCulture)
		must(t, s.CreateAssay(actx, a))
		if a.Site != "ZGZ" || a.Culture != "ZGZ-C0001" {
			t.Fatalf("assay site/culture = %s/%s", a.Site, a.Culture)
		}
		got, err := s.FindAssayByID(actx, a.ID)
		must(t, err)
		if diff := cmp.Diff(a, got); diff != "" {
			t.Fatalf("FindAssayByID (-created +found):\n%s", diff)
		}
		flow := newAssay(f.bcnCulture)
		flow.Method, flow.Maximum = clink.MethodFlow, nil
		flow.Points = []clink.AssayPoint{{ETRatio: 5, Readings: []float64{40.5}}, {ETRatio: 0.5, Readings: []float64{8}}}
		flow.Spontaneous = []float64{4}
		must(t, s.CreateAssay(actx, flow))
		if flow.Maximum == nil || len(flow.Maximum) != 0 {
			t.Fatalf("flow assay maximum = %#v, want empty", flow.Maximum)
		}
		flowBack, err := s.FindAssayByID(actx, flow.ID)
		must(t, err)
		if diff := cmp.Diff(flow, flowBack); diff != "" {
			t.Fatalf("flow assay (-created +found):\n%s", diff)
		}
		missing := newAssay(f.zgzCulture)
		missing.CultureID = 999
		wantCode(t, s.CreateAssay(actx, missing), clink.ENOTFOUND, "")
		bad := newAssay(f.zgzCulture)
		bad.Points[1].Readings[0] = -1
		wantCode(t, s.CreateAssay(actx, bad), clink.EINVALID, "points[1].readings[0]")
		_, err = s.FindAssayByID(actx, 999)
		wantCode(t, err, clink.ENOTFOUND, "")

		list := []struct {
			f    clink.AssayFilter
			want []int64
			n    int
		}{
			{clink.AssayFilter{}, []int64{a.ID, flow.ID}, 2},
			{clink.AssayFilter{Site: "BCN"}, []int64{flow.ID}, 1},
			{clink.AssayFilter{CultureID: f.zgzCulture.ID}, []int64{a.ID}, 1},
			{clink.AssayFilter{Page: clink.Page{Limit: 1, Offset: 1}}, []int64{flow.ID}, 2},
		}
		for _, tc := range list {
			got, n, err := s.FindAssays(actx, tc.f)
			must(t, err)
			var ids []int64
			for _, a := range got {
				ids = append(ids, a.ID)
			}
			if !cmp.Equal(ids, tc.want) || n != tc.n {
				t.Errorf("FindAssays(%+v) = %v, %d; want %v, %d", tc.f, ids, n, tc.want, tc.n)
			}
		}
	})
}

// TestFloatRoundTrip stores floats that decimal formatting easily spoils and expects the same
// bits back: the expected value is the input itself (IEEE 754 binary64), so no outside
// source is needed.
func TestFloatRoundTrip(t *testing.T) {
	values := []float64{
		0.1, 0.1 + 0.2, 1.0 / 3, 2.0 / 3, math.Pi, math.E * 1e-5,
		math.Nextafter(1, 2), math.Nextafter(100, 0), 5e-324, math.SmallestNonzeroFloat64 * 3,
		2.2250738585072014e-308, 1.7976931348623157e308, 123456789.123456789, 9007199254740993,
	}
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		f := seed(t, s)
		a := newAssay(f.zgzCulture)
		a.Points = []clink.AssayPoint{{ETRatio: math.Nextafter(10, 11), Readings: values[:12]}, {ETRatio: 1.0 / 3, Readings: values[12:]}}
		a.Spontaneous = []float64{values[1], values[0]}
		a.Maximum = values
		a.DurationHours = 4.0 / 3
		must(t, s.CreateAssay(actx, a))
		got, err := s.FindAssayByID(actx, a.ID)
		must(t, err)
		same := func(name string, got, want []float64) {
			t.Helper()
			if len(got) != len(want) {
				t.Fatalf("%s: got %d values, want %d", name, len(got), len(want))
			}
			for i := range want {
				if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
					t.Errorf("%s[%d]: got %v, want %v", name, i, got[i], want[i])
				}
			}
		}
		same("points[0]", got.Points[0].Readings, values[:12])
		same("points[1]", got.Points[1].Readings, values[12:])
		same("maximum", got.Maximum, values)
		same("spontaneous", got.Spontaneous, []float64{values[1], values[0]})
		same("scalars", []float64{got.Points[0].ETRatio, got.Points[1].ETRatio, got.DurationHours},
			[]float64{math.Nextafter(10, 11), 1.0 / 3, 4.0 / 3})

		// Float columns (not JSON): culture, observation and protocol numbers.
		c := newCulture("ZGZ", f.zgzDonor, f.plain)
		c.StartingCells, c.StartingNKPct = 123456789.123456789, 100.0/3
		must(t, s.CreateCulture(actx, c))
		o := newObservation(c, 1)
		o.ViableCells, o.ViabilityPct, o.SplitFractionKept = 1e13, fptr(0.1+0.2), fptr(math.Nextafter(1, 0))
		o.Markers = map[string]float64{"CD57": 1.0 / 3}
		must(t, s.CreateObservation(actx, o))
		gc, err := s.FindCultureByID(actx, c.ID)
		must(t, err)
		go2, err := s.FindObservationByID(actx, o.ID)
		must(t, err)
		same("culture", []float64{gc.StartingCells, gc.StartingNKPct}, []float64{123456789.123456789, 100.0 / 3})
		same("observation", []float64{go2.ViableCells, *go2.ViabilityPct, *go2.SplitFractionKept, go2.Markers["CD57"]},
			[]float64{1e13, 0.1 + 0.2, math.Nextafter(1, 0), 1.0 / 3})
		if go2.NKPct == nil || *go2.NKPct != 61 || go2.VolumeML != nil {
			t.Fatalf("nullable floats: nk_pct %v volume_ml %v, want 61 and nil", go2.NKPct, go2.VolumeML)
		}
	})
}

// TestMetaAndAudit checks the provenance of every kind of write: the clock (UTC, to the
// microsecond), the actor, and one audit event per write in the same transaction.
func TestMetaAndAudit(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		f := seed(t, s)
		o := newObservation(f.zgzCulture, 0)
		must(t, s.CreateObservation(clink.WithActor(context.Background(), "ana"), o))
		want := clockStart.Add(11 * (time.Second + time.Microsecond)).Truncate(time.Microsecond) // 12th transaction
		if !o.CreatedAt.Equal(want) || o.CreatedAt.Location() != time.UTC || o.CreatedBy != "ana" || o.UpdatedAt != o.CreatedAt {
			t.Fatalf("meta = %+v, want created at %v by ana", o.Meta, want)
		}
		back, err := s.FindObservationByID(actx, o.ID)
		must(t, err)
		if back.CreatedAt != o.CreatedAt || back.UpdatedAt != o.UpdatedAt {
			t.Fatalf("times after reload %v/%v, want %v", back.CreatedAt, back.UpdatedAt, o.CreatedAt)
		}
		must(t, s.CreateObservation(context.Background(), newObservation(f.zgzCulture, 1)))
		events, total, err := s.FindAuditEvents(actx, clink.AuditFilter{})
		must(t, err)
		if total != 13 || len(events) != 13 {
			t.Fatalf("audit events = %d (total %d), want 13: one per write", len(events), total)
		}
		kinds := map[string]int{}
		for _, e := range events {
			kinds[e.Entity]++
			if e.Action != "create" || e.Before != nil || len(e.After) == 0 {
				t.Errorf("event %d: action %s before %s after %d bytes, want a create with only after", e.ID, e.Action, e.Before, len(e.After))
			}
		}
		wantKinds := map[string]int{"site": 2, "component": 3, "protocol": 2, "donor": 2, "culture": 2, "observation": 2}
		if !cmp.Equal(kinds, wantKinds) {
			t.Fatalf("events by entity = %v, want %v", kinds, wantKinds)
		}
		last := events[12]
		if last.Actor != "anonymous" || last.Site != "ZGZ" || last.Entity != "observation" {
			t.Fatalf("last event = %+v, want an anonymous observation at ZGZ", last)
		}
		ana := events[11]
		var rec clink.Observation
		must(t, json.Unmarshal(ana.After, &rec))
		if ana.Actor != "ana" || !ana.Time.Equal(want) || rec.ID != o.ID || rec.ViableCells != o.ViableCells {
			t.Fatalf("event = %+v after %+v, want ana at %v with the observation", ana, rec, want)
		}
		page, total, err := s.FindAuditEvents(actx, clink.AuditFilter{Entity: "observation", Page: clink.Page{Limit: 1}})
		must(t, err)
		if len(page) != 1 || total != 2 || page[0].EntityID != o.ID {
			t.Fatalf("observation events page = %v total %d, want the first of 2", page, total)
		}
	})
}

// TestBadInputChangesNothing sends writes that must fail and checks that no table and no
// audit event changed.
func TestBadInputChangesNothing(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		f := seed(t, s)
		must(t, s.CreateObservation(actx, newObservation(f.zgzCulture, 0)))
		tests := []struct {
			name  string
			write func() error
			code  string
		}{
			{"site twice", func() error { return s.CreateSite(actx, newSite("ZGZ")) }, clink.ECONFLICT},
			{"donor bad field", func() error { d := newDonor("ZGZ"); d.AgeBand = "26-30"; return s.CreateDonor(actx, d) }, clink.EINVALID},
			{"donor unknown site", func() error { return s.CreateDonor(actx, newDonor("TLS")) }, clink.EINVALID},
			{"component twice", func() error {
				return s.CreateComponent(actx, &clink.Component{Site: "ZGZ", Name: "IL-15", Category: clink.CategoryCytokine, Unit: "ng/mL"})
			}, clink.ECONFLICT},
			{"protocol unknown component", func() error {
				p := newProtocol("ZGZ", "X")
				p.Components[0].Component = "IL-7"
				return s.CreateProtocol(actx, p)
			}, clink.EINVALID},
			{"protocol in use", func() error { return s.UpdateProtocol(actx, f.protocol, "why") }, clink.ECONFLICT},
			{"culture donor elsewhere", func() error { return s.CreateCulture(actx, newCulture("ZGZ", f.bcnDonor, f.plain)) }, clink.EINVALID},
			{"culture generated code, bad protocol", func() error {
				c := newCulture("ZGZ", f.zgzDonor, f.plain)
				c.ProtocolID = 77
				return s.CreateCulture(actx, c)
			}, clink.EINVALID},
			{"observation same day", func() error { return s.CreateObservation(actx, newObservation(f.zgzCulture, 0)) }, clink.ECONFLICT},
			{"observation bad pct", func() error {
				o := newObservation(f.zgzCulture, 2)
				o.NKPct = fptr(101)
				return s.CreateObservation(actx, o)
			}, clink.EINVALID},
			{"assay no points", func() error { a := newAssay(f.zgzCulture); a.Points = nil; return s.CreateAssay(actx, a) }, clink.EINVALID},
			{"status no reason", func() error {
				_, err := s.SetCultureStatus(actx, f.zgzCulture.ID, clink.CultureStatusChange{Status: clink.StatusStopped})
				return err
			}, clink.EINVALID},
			{"void unknown", func() error { _, err := s.VoidObservation(actx, 404, "x"); return err }, clink.ENOTFOUND},
			{"update donor no reason", func() error { return s.UpdateDonor(actx, f.zgzDonor, "") }, clink.EINVALID},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				before := counts(t, s)
				wantCode(t, tc.write(), tc.code, "")
				if diff := cmp.Diff(before, counts(t, s)); diff != "" {
					t.Fatalf("rows changed (-before +after):\n%s", diff)
				}
			})
		}
	})
}

func TestAtomic(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		f := seed(t, s)
		before := counts(t, s)
		// An error in the middle leaves nothing, not even the writes before it.
		err := s.Atomic(actx, func(tx clink.Store) error {
			d := newDonor("BCN")
			if err := tx.CreateDonor(actx, d); err != nil {
				return err
			}
			c := newCulture("BCN", d, f.plain)
			if err := tx.CreateCulture(actx, c); err != nil {
				return err
			}
			if err := tx.CreateObservation(actx, newObservation(c, 0)); err != nil {
				return err
			}
			return errStop
		})
		if err != errStop {
			t.Fatalf("Atomic = %v, want fn's error unchanged", err)
		}
		if diff := cmp.Diff(before, counts(t, s)); diff != "" {
			t.Fatalf("rolled-back Atomic left rows (-before +after):\n%s", diff)
		}

		// A failing call inside does not poison the transaction (PostgreSQL aborts a
		// transaction on any failed statement unless a savepoint contains it).
		var code string
		err = s.Atomic(actx, func(tx clink.Store) error {
			d := newDonor("BCN")
			if err := tx.CreateDonor(actx, d); err != nil {
				return err
			}
			dup := newDonor("BCN")
			dup.Code = d.Code
			if err := tx.CreateDonor(actx, dup); clink.ErrorCode(err) != clink.ECONFLICT {
				return fmt.Errorf("duplicate donor inside Atomic: %v, want a conflict", err)
			}
			c := newCulture("BCN", d, f.plain)
			if err := tx.CreateCulture(actx, c); err != nil {
				return err
			}
			code = c.Code
			// Reads inside see the transaction's writes; nested Atomic reuses it.
			return tx.Atomic(actx, func(inner clink.Store) error {
				_, err := inner.FindCultureByCode(actx, c.Code)
				return err
			})
		})
		must(t, err)
		got, err := s.FindCultureByCode(actx, code)
		must(t, err)
		if got.Code != "BCN-C0002" {
			t.Fatalf("committed culture %s, want BCN-C0002 (the rolled-back number is reused)", got.Code)
		}
		after := counts(t, s)
		if after["donors"] != before["donors"]+1 || after["cultures"] != before["cultures"]+1 || after["audit_events"] != before["audit_events"]+2 {
			t.Fatalf("after commit %v, before %v: want one donor, one culture, two events more", after, before)
		}
	})
}

// TestConcurrentObservations writes from 8 goroutines, each to its own culture, and expects
// every write to succeed: with _txlock=immediate SQLite serialises writers instead of failing
// them with SQLITE_BUSY.
func TestConcurrentObservations(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		f := seed(t, s)
		const workers, perWorker = 8, 10
		cultures := make([]*clink.Culture, workers)
		for i := range cultures {
			cultures[i] = newCulture("ZGZ", f.zgzDonor, f.plain)
			must(t, s.CreateCulture(actx, cultures[i]))
		}
		var wg sync.WaitGroup
		errs := make(chan error, workers*perWorker)
		for _, c := range cultures {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for day := range perWorker {
					// Read then write, the pattern that fails under deferred transactions.
					if _, err := s.FindCultureByID(actx, c.ID); err != nil {
						errs <- err
					}
					if err := s.CreateObservation(actx, newObservation(c, day)); err != nil {
						errs <- fmt.Errorf("%s day %d: %w", c.Code, day, err)
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		_, total, err := s.FindObservations(actx, clink.ObservationFilter{})
		must(t, err)
		if total != workers*perWorker {
			t.Fatalf("observations = %d, want %d", total, workers*perWorker)
		}
		// Concurrent writers must extend one audit chain, never fork it.
		if _, err := s.VerifyAudit(actx); err != nil {
			t.Fatalf("audit chain after concurrent writes: %v", err)
		}
	})
}

func TestMigrateIdempotent(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		seed(t, s)
		before := counts(t, s)
		for range 2 {
			must(t, s.Migrate(actx))
		}
		var applied int
		must(t, s.DB().QueryRow("SELECT COUNT(*) FROM schema_migrations").Scan(&applied))
		// The store embeds migrations/<dialect>/*.sql; each is recorded once.
		files, err := filepath.Glob(filepath.Join("migrations", s.Dialect(), "*.sql"))
		must(t, err)
		if len(files) == 0 || applied != len(files) {
			t.Fatalf("schema_migrations has %d rows, want %d (one per file of migrations/%s)", applied, len(files), s.Dialect())
		}
		if diff := cmp.Diff(before, counts(t, s)); diff != "" {
			t.Fatalf("Migrate again changed data (-before +after):\n%s", diff)
		}
		must(t, s.Ping(actx))
	})
}

// TestProtocolFilters checks that observations and assays can be listed by the protocol
// version of their culture, with totals that count only those.
func TestProtocolFilters(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *sqldb.Store) {
		f := seed(t, s)
		other := newCulture("BCN", f.bcnDonor, f.plain)
		must(t, s.CreateCulture(actx, other))
		for _, c := range []*clink.Culture{f.zgzCulture, f.bcnCulture, other} {
			for _, day := range []int{0, 7} {
				must(t, s.CreateObservation(actx, newObservation(c, day)))
			}
			must(t, s.CreateAssay(actx, newAssay(c)))
		}
		for _, tc := range []struct {
			protocol *clink.Protocol
			cultures []int64
		}{
			{f.protocol, []int64{f.zgzCulture.ID, f.bcnCulture.ID}},
			{f.plain, []int64{other.ID}},
		} {
			obs, n, err := s.FindObservations(actx, clink.ObservationFilter{ProtocolID: tc.protocol.ID, Page: clink.Page{Limit: 3}})
			must(t, err)
			if n != 2*len(tc.cultures) || len(obs) != min(3, n) {
				t.Errorf("observations of %s: got %d of total %d, want total %d", tc.protocol.Name, len(obs), n, 2*len(tc.cultures))
			}
			for _, o := range obs {
				if !slices.Contains(tc.cultures, o.CultureID) {
					t.Errorf("observations of %s: got one of culture %d", tc.protocol.Name, o.CultureID)
				}
			}
			assays, n, err := s.FindAssays(actx, clink.AssayFilter{ProtocolID: tc.protocol.ID})
			must(t, err)
			if n != len(tc.cultures) || len(assays) != n {
				t.Errorf("assays of %s: got %d of total %d, want %d", tc.protocol.Name, len(assays), n, len(tc.cultures))
			}
			for _, a := range assays {
				if !slices.Contains(tc.cultures, a.CultureID) {
					t.Errorf("assays of %s: got one of culture %d", tc.protocol.Name, a.CultureID)
				}
			}
		}
	})
}
