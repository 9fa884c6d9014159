package analysis

import (
	"context"
	"fmt"
	"slices"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/stats"
)

// CompareRequest asks for a donor-paired comparison of protocols on one metric.
type CompareRequest struct {
	// Protocols names two or more protocols, each "NAME" (every version) or "NAME@VERSION";
	// the first is the reference.
	Protocols []string
	// Metric is one of Metrics; "" means MetricNKFold.
	Metric string
	// Day is the culture day compared; nil compares completed cultures at harvest.
	Day *int
	// Method is the assay method LU30 is taken from; "" means the most frequent.
	Method string
}

// Comparison is the answer to a CompareRequest.
type Comparison struct {
	Metric      string             `json:"metric"`
	Day         *int               `json:"day"` // null: at harvest
	Scale       string             `json:"scale"`
	AssayMethod string             `json:"assay_method,omitempty"`
	Protocols   []ComparedProtocol `json:"protocols"`
	NCultures   int                `json:"n_cultures"` // cultures with a value
	// Values are the values compared, one per culture, in the order of the protocols.
	Values []ComparedValue   `json:"values"`
	Result *stats.Comparison `json:"result"`
	Notes  []string          `json:"notes"`
}

// ComparedValue is the value one culture contributes to a comparison.
type ComparedValue struct {
	CultureID int64   `json:"culture_id"`
	Culture   string  `json:"culture"` // its code
	Donor     string  `json:"donor"`
	Protocol  string  `json:"protocol"` // the label of its protocol in the comparison
	Day       int     `json:"day"`      // the day of the observation the value is from
	Value     float64 `json:"value"`
}

// ComparedProtocol is one protocol of a comparison as the data resolved it.
type ComparedProtocol struct {
	Label     string `json:"label"`
	Name      string `json:"name"`
	Versions  []int  `json:"versions"`
	NCultures int    `json:"n_cultures"`
}

// scaleOf is the mixed model's scale for a metric: fold and lytic units are analysed on log10
// (domain.md §7.1 rule 2), percentages as they are.
func scaleOf(metric string) string {
	if metric == MetricNKFold || metric == MetricLU30 {
		return stats.ScaleLog10
	}
	return stats.ScaleLinear
}

// Compare runs the donor-paired comparison of req on the store's data.
func (s *Service) Compare(ctx context.Context, req CompareRequest) (*Comparison, error) {
	var fe clink.FieldErrors
	metric := req.Metric
	if metric == "" {
		metric = MetricNKFold
	}
	if !slices.Contains(Metrics, metric) {
		fe.Addf("metric", "%q is not one of %v", metric, Metrics)
	}
	if len(req.Protocols) < 2 {
		fe.Addf("protocol", "name at least two protocols to compare (got %d)", len(req.Protocols))
	}
	if req.Day != nil && *req.Day < 0 {
		fe.Addf("day", "%d is negative", *req.Day)
	}
	if req.Method != "" && !slices.Contains(clink.AssayMethods, req.Method) {
		fe.Addf("method", "%q is not one of %v", req.Method, clink.AssayMethods)
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	cmp := &Comparison{Metric: metric, Day: req.Day, Scale: scaleOf(metric), Protocols: []ComparedProtocol{}, Values: []ComparedValue{}, Notes: []string{}}
	sc := scope{protocols: map[int64]string{}, day: req.Day, method: req.Method}
	seen := map[int64]string{}
	for _, name := range req.Protocols {
		ref, err := parseProtocolRef(name)
		if err != nil {
			return nil, err
		}
		ps, err := resolve(ctx, s.Store, ref)
		if err != nil {
			return nil, err
		}
		cp := ComparedProtocol{Label: ref.label, Name: ref.name, Versions: []int{}}
		for _, p := range ps {
			if other, dup := seen[p.ID]; dup {
				return nil, clink.Invalid("protocol", "%s version %d is named twice (%q and %q)", p.Name, p.Version, other, ref.label)
			}
			seen[p.ID] = ref.label
			sc.protocols[p.ID] = ref.label
			cp.Versions = append(cp.Versions, p.Version)
		}
		slices.Sort(cp.Versions)
		cmp.Protocols = append(cmp.Protocols, cp)
	}
	out, method, left, err := s.outcomes(ctx, sc)
	if err != nil {
		return nil, err
	}
	if metric == MetricLU30 {
		cmp.AssayMethod = method
	}
	// Rows in the order of the protocols asked for, so that the first is the reference.
	var rows []stats.Row
	for i, cp := range cmp.Protocols {
		for _, o := range out {
			if o.Protocol != cp.Label {
				continue
			}
			v := valueOf(o, metric)
			if v == nil {
				reason := fmt.Sprintf("no %s value", metric)
				if metric == MetricLU30 && o.noLU30 != "" {
					reason = o.noLU30
				}
				left.add(reason)
				continue
			}
			if cmp.Scale == stats.ScaleLog10 && *v <= 0 {
				// A culture that lost every NK cell has no logarithm; the comparison says so
				// rather than refusing the whole question.
				left.add(fmt.Sprintf("%s is %g, which has no log10", metric, *v))
				continue
			}
			rows = append(rows, stats.Row{Donor: o.Donor, Protocol: cp.Label, Value: *v})
			cmp.Values = append(cmp.Values, ComparedValue{CultureID: o.CultureID, Culture: o.Culture, Donor: o.Donor,
				Protocol: cp.Label, Day: o.Day, Value: *v})
			cmp.Protocols[i].NCultures++
		}
	}
	cmp.NCultures = len(rows)
	cmp.Notes = append(cmp.Notes, left.notes()...)
	for _, cp := range cmp.Protocols {
		if cp.NCultures == 0 {
			return nil, clink.Invalid("protocol", "%q has no culture with a %s value %s", cp.Label, metric, dayPhrase(req.Day))
		}
	}
	res, err := stats.Compare(rows, stats.CompareOptions{Scale: cmp.Scale})
	if err != nil {
		return nil, err
	}
	cmp.Result = res
	return cmp, nil
}

func dayPhrase(day *int) string {
	if day == nil {
		return "at harvest"
	}
	return fmt.Sprintf("on day %d", *day)
}

// valueOf is the value of metric in an outcome, nil when unknown.
func valueOf(o Outcome, metric string) *float64 {
	switch metric {
	case MetricNKFold:
		return o.NKFold
	case MetricLU30:
		return o.LU30
	case MetricPurity:
		return o.PurityPct
	case MetricViability:
		return o.ViabilityPct
	}
	return nil
}
