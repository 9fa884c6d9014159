package http_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/demo"
	clinkhttp "github.com/clink-consortium/clink/http"
)

// BenchmarkUIPages measures the server time of the dashboard and the culture page on the demo
// consortium times ten (demo.Options{Scale: 10}: about 2,000 cultures, 10,400 observations
// and 1,900 assays) in SQLite: the handler answers into a recorder, with no network. The
// dashboard is measured with its scoreboard kept (as every visit finds it once the server has
// computed it after a start; until then the page says it is being computed and does not wait),
// and the scoreboard cold: the request that waits for its first computation on a new server. Run it with
//
//	go test -run '^$' -bench BenchmarkUIPages -benchtime 20x ./http/
func BenchmarkUIPages(b *testing.B) {
	store := newStore(b)
	ctx := context.Background()
	start := time.Now()
	sum, err := demo.Populate(ctx, store, demo.Options{Scale: 10, Password: testPassword})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("demo x10: %d cultures, %d observations, %d assays in %s", sum.Cultures, sum.Observations, sum.Assays, time.Since(start).Round(time.Second))
	today, _ := time.Parse(time.DateOnly, demo.DefaultToday)
	newHandler := func() http.Handler {
		s := clinkhttp.NewServer(store, clinkhttp.Options{})
		s.SetClock(func() time.Time { return today })
		return s.Handler()
	}
	h := newHandler()
	// Sign in as the researcher of the site with the culture.
	var culture *clink.Culture
	cs, _, err := store.FindCultures(ctx, clink.CultureFilter{Status: clink.StatusCompleted, Page: clink.Page{Limit: clink.MaxLimit}})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range cs {
		_, n, err := store.FindAssays(ctx, clink.AssayFilter{CultureID: c.ID, Page: clink.Page{Limit: 1}})
		if err != nil {
			b.Fatal(err)
		}
		if n > 0 {
			culture = c
			break
		}
	}
	if culture == nil {
		b.Fatal("no completed culture with an assay")
	}
	form := url.Values{"username": {"researcher-" + strings.ToLower(culture.Site)}, "password": {testPassword}}
	req := httptest.NewRequest("POST", "/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	cookie := sessionCookie(rec.Result())
	if cookie == nil {
		b.Fatalf("sign in: got status %d and no cookie", rec.Code)
	}
	get := func(b *testing.B, h http.Handler, path string) {
		req := httptest.NewRequest("GET", path, nil)
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("GET %s: got status %d", path, rec.Code)
		}
	}
	pages := []struct{ name, path string }{
		{"dashboard", "/"},
		{"dashboard-all-sites", "/?site=all"},
		{"culture", fmt.Sprintf("/cultures/%d", culture.ID)},
		{"cultures", "/cultures"},
		{"cultures-filtered", "/cultures?status=completed&site=" + culture.Site},
	}
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			get(b, h, "/dashboard/scoreboard") // computes the scoreboard, kept for the visits measured
			for b.Loop() {
				get(b, h, p.path)
			}
		})
	}
	b.Run("scoreboard-cold", func(b *testing.B) {
		for b.Loop() {
			get(b, newHandler(), "/dashboard/scoreboard")
		}
	})
}
