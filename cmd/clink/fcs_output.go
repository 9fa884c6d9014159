package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// fnum formats a number read from a file for a table: the shortest form that reads back the
// same, integers without an exponent.
func fnum(v jsonFloat) string {
	f := float64(v)
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// printFCSInfo writes what `clink fcs info` shows as text: a summary, a table of the channels,
// the spillover matrix and the warnings.
func printFCSInfo(w io.Writer, info *fcsInfo) error {
	fmt.Fprintf(w, "File       %s\n", info.File)
	fmt.Fprintf(w, "Version    %s\n", info.Version)
	fmt.Fprintf(w, "Data set   %d of %d (numbered from 0; choose with --dataset N)\n", info.DataSet, info.DataSets)
	fmt.Fprintf(w, "Events     %d\n", info.Events)
	fmt.Fprintf(w, "Time step  %s\n", fnum(info.TimeStep))
	fmt.Fprintf(w, "Channels   %d\n\n", len(info.Channels))
	tw := newTab(w)
	fmt.Fprintln(tw, "n\t$PnN\t$PnS\t$PnB\t$PnR\t$PnE\t$PnG\ttype")
	for _, c := range info.Channels {
		amp := "linear"
		if c.LogDecades > 0 {
			amp = fnum(c.LogDecades) + "," + fnum(c.LogZero)
		}
		name := c.Name
		if c.Time {
			name += " (time)"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", c.N, name, orDash(c.Label), c.Bits, fnum(c.Range), amp, fnum(c.Gain), c.DataType)
	}
	tw.Flush()
	fmt.Fprintln(w)
	if s := info.Spillover; s != nil {
		fmt.Fprintf(w, "Spillover (%d detectors; row: fluorochrome of the detector, column: detector):\n", len(s.Names))
		tw := newTab(w)
		fmt.Fprintf(tw, "\t%s\n", strings.Join(s.Names, "\t"))
		for i, row := range s.Matrix {
			cells := make([]string, len(row))
			for j, v := range row {
				cells[j] = strconv.FormatFloat(float64(v), 'g', 4, 64)
			}
			name := ""
			if i < len(s.Names) {
				name = s.Names[i]
			}
			fmt.Fprintf(tw, "%s\t%s\n", name, strings.Join(cells, "\t"))
		}
		tw.Flush()
	} else {
		fmt.Fprintln(w, "Spillover: none")
	}
	if len(info.Warnings) == 0 {
		fmt.Fprintln(w, "Warnings: none")
		return nil
	}
	fmt.Fprintf(w, "Warnings (%d):\n", len(info.Warnings))
	for _, wr := range info.Warnings {
		fmt.Fprintf(w, "  %s\n", warningText(wr))
	}
	return nil
}

// warningText formats a reader's warning: the keyword, the byte offset when there is one, and
// the message.
func warningText(wr fcsWarning) string {
	var b strings.Builder
	if wr.Keyword != "" {
		b.WriteString(wr.Keyword)
	}
	if wr.Offset != nil {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "(byte %d)", *wr.Offset)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(wr.Message)
	return b.String()
}

// pct formats a percentage for a table: 4 significant figures, "-" when there is none.
func pct(v *float64) string { return num(v) }

// printGates writes the counts of every gate as a table per file.
func printGates(w io.Writer, r *gateReport) error {
	for i, g := range r.Files {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s (data set %d): %d events\n", g.File, g.DataSet, g.Events)
		tw := newTab(w)
		fmt.Fprintln(tw, "gate\tparent\tcount\t% of all\t% of parent")
		for _, c := range g.Gates {
			parent := "-"
			if c.Parent != nil {
				parent = *c.Parent
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", c.ID, parent, c.Count, pct(c.PctOfAll), pct(c.PctOfParent))
		}
		tw.Flush()
	}
	return nil
}

// writeGateCSV writes the counts of every gate as CSV, a row per file and result id.
func writeGateCSV(w io.Writer, r *gateReport) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"file", "dataset", "events", "gate", "kind", "quadrant_gate", "parent", "count", "pct_of_all", "parent_count", "pct_of_parent"})
	for _, g := range r.Files {
		for _, c := range g.Gates {
			cw.Write([]string{g.File, strconv.Itoa(g.DataSet), strconv.Itoa(g.Events), c.ID, c.Kind, deref(c.QuadrantGate), deref(c.Parent),
				strconv.Itoa(c.Count), cell(c.PctOfAll), strconv.Itoa(c.ParentCount), cell(c.PctOfParent)})
		}
	}
	cw.Flush()
	return cw.Error()
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
