package analysis

import (
	"cmp"
	"context"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/kinetics"
	"github.com/clink-consortium/clink/rank"
)

// Outcome is what one culture shows at the day analysed: the plain values of rank.Outcome and
// where they come from.
type Outcome struct {
	rank.Outcome
	CultureID       int64
	Site            string
	ProtocolName    string
	ProtocolVersion int
	Day             int    // the observation the values are from
	AssayID         int64  // the K562 assay killing comes from; 0 when none
	AssayMethod     string // its method

	// noLU30 says why the outcome has no LU30 ("" when it has one).
	noLU30 string
}

// scope says which cultures and which day an analysis uses.
type scope struct {
	// protocols are the protocol versions analysed, each with the label it is reported under;
	// nil means every protocol, labelled by name (all versions together).
	protocols map[int64]string
	// day is the culture day analysed; nil means the harvest of completed cultures.
	day *int
	// method is the assay method killing is taken from; "" means the most frequent method
	// among the K562 assays in scope.
	method string
}

// records are the records an analysis reads, in one consistent snapshot.
type records struct {
	cultures []*clink.Culture
	obs      map[int64][]*clink.Observation // by culture, in day order
	assays   map[int64][]*clink.Assay       // by culture
	labels   map[int64]string               // culture id → protocol label
}

func (s *Service) read(ctx context.Context, sc scope) (*records, error) {
	rec := &records{obs: map[int64][]*clink.Observation{}, assays: map[int64][]*clink.Assay{}, labels: map[int64]string{}}
	// A comparison reads the records of its protocol versions only; the ranking reads them all
	// (protocol 0: no filter).
	protocols := []int64{0}
	if sc.protocols != nil {
		protocols = slices.Sorted(maps.Keys(sc.protocols))
	}
	err := s.Store.Atomic(ctx, func(st clink.Store) error {
		for _, pid := range protocols {
			cultures, err := clink.ReadAll(func(p clink.Page) ([]*clink.Culture, int, error) {
				return st.FindCultures(ctx, clink.CultureFilter{ProtocolID: pid, Page: p})
			})
			if err != nil {
				return err
			}
			for _, c := range cultures {
				if c.Voided {
					continue
				}
				label := c.ProtocolName
				if sc.protocols != nil {
					l, ok := sc.protocols[c.ProtocolID]
					if !ok {
						continue
					}
					label = l
				}
				rec.labels[c.ID] = label
				rec.cultures = append(rec.cultures, c)
			}
			obs, err := clink.ReadAll(func(p clink.Page) ([]*clink.Observation, int, error) {
				return st.FindObservations(ctx, clink.ObservationFilter{ProtocolID: pid, Page: p})
			})
			if err != nil {
				return err
			}
			for _, o := range obs {
				if _, ok := rec.labels[o.CultureID]; ok && !o.Voided {
					rec.obs[o.CultureID] = append(rec.obs[o.CultureID], o)
				}
			}
			assays, err := clink.ReadAll(func(p clink.Page) ([]*clink.Assay, int, error) {
				return st.FindAssays(ctx, clink.AssayFilter{ProtocolID: pid, Page: p})
			})
			if err != nil {
				return err
			}
			for _, a := range assays {
				if _, ok := rec.labels[a.CultureID]; ok && !a.Voided {
					rec.assays[a.CultureID] = append(rec.assays[a.CultureID], a)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(rec.cultures, func(a, b *clink.Culture) int { return cmp.Compare(a.ID, b.ID) })
	for id := range rec.obs {
		slices.SortStableFunc(rec.obs[id], func(a, b *clink.Observation) int { return a.Day - b.Day })
	}
	return rec, nil
}

// outcomes reads the records of sc and turns each culture into its outcome at the day asked
// for. Cultures without such a day are counted in left; an outcome without LU30 says why in
// its noLU30.
func (s *Service) outcomes(ctx context.Context, sc scope) ([]Outcome, string, *counter, error) {
	rec, err := s.read(ctx, sc)
	if err != nil {
		return nil, "", nil, err
	}
	left := &counter{}
	var out []Outcome
	for _, c := range rec.cultures {
		o, excluded := outcomeOf(c, rec.labels[c.ID], rec.obs[c.ID], sc.day)
		if excluded != "" {
			left.add(excluded)
			continue
		}
		out = append(out, o)
	}
	// Killing: the latest K562 assay on or before the outcome day, one method for all.
	method := sc.method
	if method == "" {
		method = commonMethod(out, rec.assays)
	}
	for i := range out {
		addKilling(&out[i], rec.obs[out[i].CultureID], rec.assays[out[i].CultureID], method)
	}
	return out, method, left, nil
}

// outcomeOf computes the kinetics of culture c and picks the observation of the day asked
// for, or the harvest.
func outcomeOf(c *clink.Culture, label string, obs []*clink.Observation, day *int) (o Outcome, excluded string) {
	var at *clink.Observation
	switch {
	case day != nil:
		for _, o := range obs {
			if o.Day == *day {
				at = o
			}
		}
		if at == nil {
			return Outcome{}, "no observation on the day asked for"
		}
	case c.Status == clink.StatusRunning:
		return Outcome{}, "still running: no harvest yet"
	case c.Status == clink.StatusStopped:
		return Outcome{}, "stopped before harvest"
	case len(obs) == 0:
		return Outcome{}, "completed without observations"
	default:
		at = obs[len(obs)-1]
	}
	counts := make([]kinetics.Count, 0, len(obs))
	for _, o := range obs {
		if o.Day > at.Day {
			break
		}
		counts = append(counts, CountOf(o))
	}
	m := kinetics.Compute(c.StartingCells, c.StartingNKPct/100, counts, kinetics.Options{SkipFits: true})
	o = Outcome{
		Outcome: rank.Outcome{
			Culture: c.Code, Donor: c.Donor, Protocol: label,
			StartingNKFraction: c.StartingNKPct / 100,
			PurityPct:          at.NKPct, ViabilityPct: at.ViabilityPct, TCellPct: at.TPct,
		},
		CultureID: c.ID, Site: c.Site, ProtocolName: c.ProtocolName, ProtocolVersion: c.ProtocolVersion, Day: at.Day,
	}
	for _, p := range m.Points {
		if p.Day == at.Day {
			o.NKFold = p.FoldNK
		}
	}
	return o, ""
}

// CountOf turns an observation into the plain values kinetics works on.
func CountOf(o *clink.Observation) kinetics.Count {
	n := kinetics.Count{Day: o.Day, ViableCells: o.ViableCells, NKFraction: math.NaN(), KeptFraction: 1}
	if o.NKPct != nil {
		n.NKFraction = *o.NKPct / 100
	}
	if o.SplitFractionKept != nil {
		n.KeptFraction = *o.SplitFractionKept
	}
	return n
}

// killingAssay is the K562 assay a culture's killing is taken from: the latest on or before
// day.
func killingAssay(assays []*clink.Assay, day int) *clink.Assay {
	var best *clink.Assay
	for _, a := range assays {
		if a.Target != clink.TargetK562 || a.Day > day {
			continue
		}
		if best == nil || a.Day > best.Day || (a.Day == best.Day && a.ID > best.ID) {
			best = a
		}
	}
	return best
}

// commonMethod is the most frequent method of the assays killing would be taken from; ties go
// to the method first in clink.AssayMethods.
func commonMethod(out []Outcome, assays map[int64][]*clink.Assay) string {
	n := map[string]int{}
	for _, o := range out {
		if a := killingAssay(assays[o.CultureID], o.Day); a != nil {
			n[a.Method]++
		}
	}
	best := ""
	for _, m := range clink.AssayMethods {
		if n[m] > n[best] {
			best = m
		}
	}
	return best
}

// addKilling fills the killing of o from its K562 assay. The culture stays in the analysis
// whatever its killing: when it gets no LU30, o.noLU30 says why.
func addKilling(o *Outcome, obs []*clink.Observation, assays []*clink.Assay, method string) {
	a := killingAssay(assays, o.Day)
	if a == nil {
		o.noLU30 = "no K562 assay on or before the day analysed"
		return
	}
	if a.Method != method {
		o.noLU30 = "killing measured by another method than " + method + " (methods are never pooled)"
		return
	}
	an := AnalyzeAssay(a, obs)
	o.AssayID, o.AssayMethod = a.ID, a.Method
	o.K562LysisAt20 = an.LysisAtNominal(20)
	if an.ETCorrection == nil {
		o.noLU30 = "no NK purity and viability on the assay day: E:T not corrected (§6.4)"
		return
	}
	o.LU20, o.LU30 = an.LU20, an.LU30
	if o.LU30 == nil {
		o.noLU30 = "no LU30 from the K562 assay"
		if len(an.Flags) > 0 {
			o.noLU30 += " (" + strings.Join(an.Flags, ", ") + ")"
		}
	}
}

// CultureOutcome is one culture's outcome as the analyses take it, or why it has none.
type CultureOutcome struct {
	Outcome
	// Culture is the culture (it shadows Outcome's culture code).
	Culture *clink.Culture
	// Excluded says why the culture has no outcome ("" when it has one); Outcome is then zero.
	Excluded string
	// NoLU30 says why an outcome has no LU30 ("" when it has one).
	NoLU30 string
}

// CultureOutcomes computes the outcome of each culture that is not voided at day (nil: the
// harvest of completed cultures), with killing from its latest K562 assay of method ("": the
// most frequent method among these cultures), by the rules of Compare and Ranking. It reads
// the cultures' observations and assays in one snapshot, culture by culture, so that a page
// about a few cultures does not read the whole store. The result keeps the order of cultures.
func (s *Service) CultureOutcomes(ctx context.Context, cultures []*clink.Culture, day *int, method string) ([]CultureOutcome, error) {
	rec := &records{obs: map[int64][]*clink.Observation{}, assays: map[int64][]*clink.Assay{}}
	err := s.Store.Atomic(ctx, func(st clink.Store) error {
		for _, c := range cultures {
			if c.Voided {
				continue
			}
			obs, err := clink.ReadAll(func(p clink.Page) ([]*clink.Observation, int, error) {
				return st.FindObservations(ctx, clink.ObservationFilter{CultureID: c.ID, Page: p})
			})
			if err != nil {
				return err
			}
			assays, err := clink.ReadAll(func(p clink.Page) ([]*clink.Assay, int, error) {
				return st.FindAssays(ctx, clink.AssayFilter{CultureID: c.ID, Page: p})
			})
			if err != nil {
				return err
			}
			rec.obs[c.ID] = slices.DeleteFunc(obs, func(o *clink.Observation) bool { return o.Voided })
			slices.SortStableFunc(rec.obs[c.ID], func(a, b *clink.Observation) int { return a.Day - b.Day })
			rec.assays[c.ID] = slices.DeleteFunc(assays, func(a *clink.Assay) bool { return a.Voided })
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]CultureOutcome, 0, len(cultures))
	var have []Outcome
	for _, c := range cultures {
		if c.Voided {
			continue
		}
		o, excluded := outcomeOf(c, c.ProtocolName, rec.obs[c.ID], day)
		out = append(out, CultureOutcome{Outcome: o, Culture: c, Excluded: excluded})
		if excluded == "" {
			have = append(have, o)
		}
	}
	if method == "" {
		method = commonMethod(have, rec.assays)
	}
	for i := range out {
		if out[i].Excluded == "" {
			addKilling(&out[i].Outcome, rec.obs[out[i].Culture.ID], rec.assays[out[i].Culture.ID], method)
			out[i].NoLU30 = out[i].noLU30
		}
	}
	return out, nil
}
