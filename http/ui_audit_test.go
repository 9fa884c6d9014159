package http_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/clink-consortium/clink"
)

// TestAuditPage: the audit log lists the events the store's filter selects, newest first,
// by entity, user and an inclusive range of dates.
func TestAuditPage(t *testing.T) {
	e := newUIEnv(t)
	cookie := e.signIn(t, "viewer")
	ctx := context.Background()
	all, err := clink.ReadAll(func(p clink.Page) ([]*clink.AuditEvent, int, error) {
		return e.store.FindAuditEvents(ctx, clink.AuditFilter{Page: p})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 {
		t.Fatal("the demo data have no audit events")
	}
	day := all[len(all)/2].Time.UTC().Format(time.DateOnly)
	actor := all[len(all)/2].Actor
	for _, tc := range []struct {
		q    url.Values
		keep func(*clink.AuditEvent) bool
	}{
		{url.Values{}, func(*clink.AuditEvent) bool { return true }},
		{url.Values{"entity": {"culture"}}, func(ev *clink.AuditEvent) bool { return ev.Entity == "culture" }},
		{url.Values{"user": {actor}}, func(ev *clink.AuditEvent) bool { return ev.Actor == actor }},
		{url.Values{"from": {day}, "to": {day}, "entity": {"observation"}}, func(ev *clink.AuditEvent) bool {
			return ev.Entity == "observation" && ev.Time.UTC().Format(time.DateOnly) == day
		}},
	} {
		t.Run(tc.q.Encode(), func(t *testing.T) {
			var want []int64
			for _, ev := range all {
				if tc.keep(ev) {
					want = append(want, ev.Seq)
				}
			}
			slices.Reverse(want)
			doc := e.page(t, "/audit?"+tc.q.Encode(), cookie, http.StatusOK)
			var got []int64
			for _, th := range queryAll(doc, "#audit-table tbody th[scope=row]") {
				var n int64
				fmt.Sscan(textOf(th), &n)
				got = append(got, n)
			}
			if len(want) > 50 {
				want = want[:50]
			}
			if !slices.Equal(got, want) {
				t.Errorf("got events %v, want %v", got, want)
			}
		})
	}
	for _, q := range []string{"entity=martian", "from=2025-13-01", "from=2026-03-02&to=2026-03-01"} {
		e.page(t, "/audit?"+q, cookie, http.StatusUnprocessableEntity)
	}
}
