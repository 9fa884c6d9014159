package fcs

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// spillover reads $SPILLOVER, SPILL or $SPILL (the first present), or else $COMP, into d.Spill
// (flow.md 1.8).
func (rd *reader) spillover(d *DataSet, kw keywords) error {
	for _, name := range []string{"$SPILLOVER", "SPILL", "$SPILL"} {
		k, ok := kw.get(name)
		if !ok {
			continue
		}
		s, err := rd.parseSpill(d, k)
		if err != nil {
			return err
		}
		d.Spill = s
		return nil
	}
	if k, ok := kw.get("$COMP"); ok {
		s, err := rd.parseComp(d, k)
		if err != nil {
			return err
		}
		d.Spill = s
	}
	return nil
}

// fields splits a matrix keyword value at commas, trimming spaces and line breaks.
func fields(v string) []string {
	parts := strings.Split(v, ",")
	for i, p := range parts {
		parts[i] = strings.TrimSpace(p)
	}
	// A trailing comma leaves an empty last field.
	if len(parts) > 1 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

// parseSpill parses "n,name_1,...,name_n,m_11,...,m_nn".
func (rd *reader) parseSpill(d *DataSet, k Keyword) (*Spillover, error) {
	f := fields(k.Value)
	n, err := strconv.Atoi(f[0])
	if err != nil || n < 0 {
		return nil, rd.errf(k.Name, k.Offset, "the matrix size %q is not a non-negative integer (Options.IgnoreSpillover skips the matrix)", f[0])
	}
	if n == 0 && len(f) == 1 {
		return nil, nil
	}
	if n > len(f) || len(f) != 1+n+n*n {
		return nil, rd.errf(k.Name, k.Offset, "a %d x %d matrix needs %d fields, found %d (Options.IgnoreSpillover skips the matrix)", n, n, 1+n+n*n, len(f))
	}
	s := &Spillover{Names: make([]string, n), Matrix: make([][]float64, n)}
	for i := range n {
		s.Names[i] = rd.spillName(d, k, f[1+i])
	}
	for i := range n {
		s.Matrix[i] = make([]float64, n)
		for j := range n {
			v, err := strconv.ParseFloat(f[1+n+i*n+j], 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, rd.errf(k.Name, k.Offset, "coefficient [%d,%d] %q is not a finite number (Options.IgnoreSpillover skips the matrix)", i+1, j+1, f[1+n+i*n+j])
			}
			s.Matrix[i][j] = v
		}
	}
	if n == 1 {
		rd.warn(k.Name, k.Offset, "a 1 x 1 spillover matrix (FCS 3.1 requires at least 2 x 2)")
	}
	return s, nil
}

// spillName matches a detector name of a spillover matrix with a $PnN: exactly, else without
// regard to case, else as a parameter number (fireflow parse_indexed_spillover).
func (rd *reader) spillName(d *DataSet, k Keyword, name string) string {
	for _, p := range d.Params {
		if p.Name == name {
			return name
		}
	}
	for _, p := range d.Params {
		if strings.EqualFold(p.Name, name) {
			rd.warn(k.Name, k.Offset, "detector %q matches parameter %q only without regard to case; the parameter's name is used", name, p.Name)
			return p.Name
		}
	}
	if i, err := strconv.Atoi(name); err == nil && i >= 1 && i <= len(d.Params) {
		rd.warn(k.Name, k.Offset, "detector %q read as the number of parameter %q", name, d.Params[i-1].Name)
		return d.Params[i-1].Name
	}
	rd.warn(k.Name, k.Offset, "detector %q is not the name of a parameter", name)
	return name
}

// parseComp turns the FCS 3.0 $COMP value "n,m_11,...,m_nn" (a matrix over parameters 1..n,
// row-major) into a spillover over the first n parameters' names.
func (rd *reader) parseComp(d *DataSet, k Keyword) (*Spillover, error) {
	f := fields(k.Value)
	n, err := strconv.Atoi(f[0])
	if err != nil || n < 0 {
		return nil, rd.errf(k.Name, k.Offset, "the matrix size %q is not a non-negative integer (Options.IgnoreSpillover skips the matrix)", f[0])
	}
	if n == 0 && len(f) == 1 {
		return nil, nil
	}
	if n > len(d.Params) {
		return nil, rd.errf(k.Name, k.Offset, "a %d x %d matrix for %d parameters (Options.IgnoreSpillover skips the matrix)", n, n, len(d.Params))
	}
	if len(f) != 1+n*n {
		return nil, rd.errf(k.Name, k.Offset, "a %d x %d matrix needs %d fields, found %d (Options.IgnoreSpillover skips the matrix)", n, n, 1+n*n, len(f))
	}
	s := &Spillover{Names: make([]string, n), Matrix: make([][]float64, n)}
	for i := range n {
		s.Names[i] = d.Params[i].Name
		s.Matrix[i] = make([]float64, n)
		for j := range n {
			v, err := strconv.ParseFloat(f[1+i*n+j], 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, rd.errf(k.Name, k.Offset, "coefficient [%d,%d] %q is not a finite number (Options.IgnoreSpillover skips the matrix)", i+1, j+1, f[1+i*n+j])
			}
			s.Matrix[i][j] = v
		}
	}
	rd.warn(k.Name, k.Offset, "%s", fmt.Sprintf("the FCS 3.0 compensation matrix is read as a spillover matrix over parameters 1 to %d (row i: parameter i's fluorochrome)", n))
	return s, nil
}
