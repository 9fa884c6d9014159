package optimizer

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/clink-consortium/clink/design"
)

// maxResultRows bounds an imported results file.
const maxResultRows = 100000

// ReadResults reads results from a CSV file called name: a header with one column per factor
// of space (named as the factors), the outcomes measured (nk_fold, lu30, purity, viability;
// at least one), and optionally donor and failed (true or false). Empty outcome cells are not
// measured. Every problem is reported with its line and column, e.g.
// "results.csv:14: il2: 1200 is above the factor's high bound 1000", and the file is read
// all or nothing.
func ReadResults(name string, data []byte, space *design.Space) ([]Result, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: the file is empty: want a header naming the factors and outcomes", name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if _, dup := col[h]; dup {
			return nil, fmt.Errorf("%s:1: column %q appears twice", name, h)
		}
		col[h] = i
	}
	var missing []string
	for _, f := range space.Factors {
		if _, ok := col[f.Name]; !ok {
			missing = append(missing, f.Name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s:1: no column for factor %s of space %s", name, strings.Join(missing, ", "), space.Name)
	}
	known := slices.Concat(Outcomes, []string{"donor", "failed"})
	nOutcomes := 0
	for h := range col {
		if _, _, isFactor := space.Factor(h); isFactor {
			continue
		}
		if !slices.Contains(known, h) {
			return nil, fmt.Errorf("%s:1: column %q is neither a factor of space %s nor one of %s", name, h, space.Name, strings.Join(known, ", "))
		}
		if slices.Contains(Outcomes, h) {
			nOutcomes++
		}
	}
	if nOutcomes == 0 {
		return nil, fmt.Errorf("%s:1: no outcome column: want at least one of %s", name, strings.Join(Outcomes, ", "))
	}
	var out []Result
	var problems []string
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%s:%d: %v", name, pe.Line, pe.Err)
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if len(out) >= maxResultRows {
			return nil, fmt.Errorf("%s:%d: more than %d results", name, line, maxResultRows)
		}
		cell := func(h string) string {
			if i, ok := col[h]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		bad := func(h, format string, args ...any) {
			problems = append(problems, fmt.Sprintf("%s:%d: %s: %s", name, line, h, fmt.Sprintf(format, args...)))
		}
		res := Result{Point: design.Point{}, Values: nanValues(), Donor: cell("donor"), Source: fmt.Sprintf("%s:%d", name, line)}
		ok := true
		for _, f := range space.Factors {
			v := cell(f.Name)
			if f.Kind == design.Categorical {
				l := level(f, v)
				if l == "" {
					bad(f.Name, "%q is not one of %s", v, strings.Join(f.Levels, ", "))
					ok = false
					continue
				}
				res.Point[f.Name] = design.Cat(l)
				continue
			}
			x, err := strconv.ParseFloat(strings.ReplaceAll(v, ",", "."), 64)
			switch {
			case v == "":
				bad(f.Name, "is empty")
			case err != nil || math.IsNaN(x) || math.IsInf(x, 0):
				bad(f.Name, "%q is not a number", v)
			case x < f.Low:
				bad(f.Name, "%s is below the factor's low bound %s", v, strconv.FormatFloat(f.Low, 'g', -1, 64))
			case x > f.High:
				bad(f.Name, "%s is above the factor's high bound %s", v, strconv.FormatFloat(f.High, 'g', -1, 64))
			case f.Kind == design.Integer && x != math.Trunc(x):
				bad(f.Name, "%s is not a whole number", v)
			default:
				res.Point[f.Name] = design.Num(x)
				continue
			}
			ok = false
		}
		for i, o := range Outcomes {
			v := cell(o)
			if v == "" {
				continue
			}
			x, err := strconv.ParseFloat(strings.ReplaceAll(v, ",", "."), 64)
			switch {
			case err != nil || math.IsNaN(x) || math.IsInf(x, 0):
				bad(o, "%q is not a number", v)
			case logOutcome(i) && !(x > 0):
				bad(o, "%s is not above 0", v)
			case !logOutcome(i) && (x < 0 || x > 100):
				bad(o, "%s is outside 0..100 %%", v)
			default:
				res.Values[i] = x
				continue
			}
			ok = false
		}
		switch v := strings.ToLower(cell("failed")); v {
		case "", "false", "no", "0":
		case "true", "yes", "1":
			res.Failed = true
		default:
			bad("failed", "%q is not true or false", v)
			ok = false
		}
		if ok && !space.Feasible(res.Point) {
			problems = append(problems, fmt.Sprintf("%s:%d: the condition breaks the space's constraints", name, line))
			ok = false
		}
		if ok {
			out = append(out, res)
		}
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "\n"))
	}
	return out, nil
}
