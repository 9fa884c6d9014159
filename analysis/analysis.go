// Package analysis runs CLINK's analysis engine on the records of a store: it gathers each
// culture's outcome (NK fold expansion, purity, viability, T cells and killing at a day or at
// harvest) and hands plain values to the pure packages kinetics, cytotox, stats and rank.
//
// It is the one place that decides which records an analysis uses: voided records never,
// stopped cultures only when a day is asked for, cytotoxicity only on NK-corrected E:T ratios
// (domain.md §6.4) and never pooled across assay methods (§6.1). Every culture left out is
// counted in the result's notes, so that a reader sees what the numbers rest on.
//
// The HTTP API and the command line both call it, on any clink.Store.
package analysis

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/clink-consortium/clink"
)

// Service answers analysis questions on the data of a store.
type Service struct {
	Store clink.Store
}

// New returns a Service on store.
func New(store clink.Store) *Service { return &Service{Store: store} }

// Metrics a comparison can be made on.
const (
	MetricNKFold    = "nk_fold"   // cumulative NK fold expansion
	MetricLU30      = "lu30"      // lytic units (30 %) per 10^7 NK cells against K562
	MetricPurity    = "purity"    // CD3-CD56+ % of viable cells
	MetricViability = "viability" // % viable cells
)

// Metrics lists the metrics a comparison can be made on.
var Metrics = []string{MetricNKFold, MetricLU30, MetricPurity, MetricViability}

// protocolRef is a protocol as named by a user: every version of a name ("IL-2 alone"), or one
// version ("IL-2 alone@2").
type protocolRef struct {
	label   string
	name    string
	version int // 0: every version
}

// parseProtocolRef reads "NAME" or "NAME@VERSION".
func parseProtocolRef(s string) (protocolRef, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return protocolRef{}, clink.Invalid("protocol", "a name is required")
	}
	ref := protocolRef{label: s, name: s}
	if i := strings.LastIndex(s, "@"); i > 0 {
		if v, err := strconv.Atoi(s[i+1:]); err == nil {
			if v < 1 {
				return ref, clink.Invalid("protocol", "%q: version %d is not 1 or more", s, v)
			}
			ref.name, ref.version = strings.TrimSpace(s[:i]), v
		}
	}
	return ref, nil
}

// resolve finds the protocol versions a reference names.
func resolve(ctx context.Context, s clink.Store, ref protocolRef) ([]*clink.Protocol, error) {
	ps, _, err := s.FindProtocols(ctx, clink.ProtocolFilter{Name: ref.name, Page: clink.Page{Limit: clink.MaxLimit}})
	if err != nil {
		return nil, err
	}
	ps = slices.DeleteFunc(ps, func(p *clink.Protocol) bool { return p.Voided })
	if ref.version > 0 {
		ps = slices.DeleteFunc(ps, func(p *clink.Protocol) bool { return p.Version != ref.version })
	}
	if len(ps) == 0 {
		if ref.version > 0 {
			return nil, clink.Invalid("protocol", "%q: no version %d of protocol %q", ref.label, ref.version, ref.name)
		}
		return nil, clink.Invalid("protocol", "%q is not the name of a protocol", ref.label)
	}
	return ps, nil
}

// counter counts the reasons cultures were left out, for the notes of a result.
type counter struct {
	order []string
	n     map[string]int
}

func (c *counter) add(reason string) {
	if c.n == nil {
		c.n = map[string]int{}
	}
	if c.n[reason] == 0 {
		c.order = append(c.order, reason)
	}
	c.n[reason]++
}

// notes says how many cultures were left out for each reason.
func (c *counter) notes() []string { return c.notesAs("left out") }

// notesAs says how many cultures are what for each reason ("left out", "without LU30").
func (c *counter) notesAs(what string) []string {
	out := make([]string, 0, len(c.order))
	for _, r := range c.order {
		out = append(out, fmt.Sprintf("%d culture(s) %s: %s", c.n[r], what, r))
	}
	return out
}
