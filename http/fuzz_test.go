package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/clink-consortium/clink"
	clinkhttp "github.com/clink-consortium/clink/http"
)

// FuzzCreateObservation posts arbitrary bytes as an observation: whatever the body, the answer
// is never a 5xx, an error is always a problem document, and a 201 is a valid observation.
func FuzzCreateObservation(f *testing.F) {
	for _, seed := range []string{
		`{"day": 7, "viable_cells": 2e7, "viability_pct": 92, "nk_pct": 85}`,
		`{"day": 3, "viable_cells": 1e6, "viability_pct": 134}`,
		`{"day": -1, "viable_cells": 1}`,
		`{"day": 1, "viable_cells": 1, "markers": {"CD16": 50, "NKG2C": -1}}`,
		`{"day": 1e10, "viable_cells": "x"}`,
		`{"split_fraction_kept": 0, "volume_ml": -1, "t_pct": null}`,
		`{"day": 1,}`, `[]`, `null`, `"x"`, ``, `{}{}`, "\x00\xff",
	} {
		f.Add([]byte(seed))
	}
	store := newStore(f)
	ctx := clink.WithActor(context.Background(), "fuzz")
	store.CreateSite(ctx, &clink.Site{Code: "ZGZ", Name: "Zaragoza", Kind: clink.SiteLab})
	store.CreateComponent(ctx, &clink.Component{Site: "ZGZ", Name: "IL-2", Category: clink.CategoryCytokine, Unit: clink.UnitIUPerML})
	d := &clink.Donor{Site: "ZGZ", ConsentDate: "2025-01-01"}
	if err := store.CreateDonor(ctx, d); err != nil {
		f.Fatal(err)
	}
	p := protocolIL2("ZGZ", "fuzz")
	if err := store.CreateProtocol(ctx, p); err != nil {
		f.Fatal(err)
	}
	c := &clink.Culture{Site: "ZGZ", DonorID: d.ID, ProtocolID: p.ID, StartDate: "2025-01-02", StartingCells: 1e6, StartingNKPct: 50}
	if err := store.CreateCulture(ctx, c); err != nil {
		f.Fatal(err)
	}
	// The fuzzed requests come from a researcher of the culture's site.
	researcher := &clink.User{Username: "fuzzer", FullName: "Fuzz Researcher", Email: "fuzz@example.org",
		Site: "ZGZ", Roles: []string{clink.RoleResearcher}}
	if err := store.CreateUser(ctx, researcher, testPassword); err != nil {
		f.Fatal(err)
	}
	token, _, err := store.CreateToken(ctx, "fuzzer", "fuzz", time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	h := clinkhttp.NewServer(store, clinkhttp.Options{}).Handler()
	path := "/api/v1/cultures/" + itoa(c.ID) + "/observations"
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch {
		case rec.Code >= 500:
			t.Fatalf("body %q: got status %d, want no 5xx: %s", body, rec.Code, rec.Body)
		case rec.Code == http.StatusCreated:
			var o clink.Observation
			if err := json.Unmarshal(rec.Body.Bytes(), &o); err != nil || o.ID == 0 {
				t.Fatalf("body %q: got 201 with %s, want an observation", body, rec.Body)
			}
			if err := o.Validate(); err != nil {
				t.Fatalf("body %q: stored an invalid observation: %v", body, err)
			}
		case rec.Code >= 400:
			var p clinkhttp.Problem
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("body %q: got Content-Type %q, want application/problem+json", body, ct)
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != rec.Code {
				t.Fatalf("body %q: got %s, want a problem with status %d", body, rec.Body, rec.Code)
			}
		default:
			t.Fatalf("body %q: got status %d, want 201 or an error", body, rec.Code)
		}
	})
}
