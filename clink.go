// Package clink holds the domain of CLINK, the consortium's system for activating and
// expanding natural killer (NK) cells: the records scientists keep (sites, donors, components,
// protocols, cultures, observations, cytotoxicity assays), their validation rules, the error
// kinds every surface shares, and the Store interface that the adapters implement.
//
// The package imports nothing of ours. Adapters (sqldb, http) and analysis packages depend on
// it, never the reverse.
package clink

import (
	"context"
	"time"
)

// Version is the version of CLINK, set at build time with
// -ldflags "-X github.com/clink-consortium/clink.Version=...".
var Version = "0.1.0-dev"

// Meta carries the provenance every record has: when it was created and last changed, and by whom.
// The store fills it; values sent by clients are ignored.
type Meta struct {
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"`
}

type actorKey struct{}

// WithActor returns a context that attributes writes made with it to actor (a user name, or a
// process such as "demo" or "import").
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// ActorFrom returns the actor that writes made with ctx are attributed to, or "anonymous".
func ActorFrom(ctx context.Context) string {
	if a, ok := ctx.Value(actorKey{}).(string); ok && a != "" {
		return a
	}
	return "anonymous"
}

// Page selects a window of a list. Limit 0 means the default (50); the maximum is 1000.
type Page struct {
	Limit  int
	Offset int
}

// DefaultLimit and MaxLimit bound the size of a listed page.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

// ReadAll reads every item of a paged list, MaxLimit at a time, until list has returned
// the total it reports (or an empty page).
func ReadAll[T any](list func(p Page) ([]T, int, error)) ([]T, error) {
	var all []T
	for off := 0; ; {
		items, total, err := list(Page{Limit: MaxLimit, Offset: off})
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		off += len(items)
		if len(items) == 0 || off >= total {
			return all, nil
		}
	}
}

// Normalize returns p with the default limit applied, or an invalid-input error.
func (p Page) Normalize() (Page, error) {
	var fe FieldErrors
	if p.Limit < 0 || p.Limit > MaxLimit {
		fe.Addf("limit", "%d is outside 1..%d", p.Limit, MaxLimit)
	}
	if p.Offset < 0 {
		fe.Addf("offset", "%d is negative", p.Offset)
	}
	if err := fe.Err(); err != nil {
		return p, err
	}
	if p.Limit == 0 {
		p.Limit = DefaultLimit
	}
	return p, nil
}
