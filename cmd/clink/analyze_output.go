package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/clink-consortium/clink/analysis"
	"github.com/clink-consortium/clink/cytotox"
	"github.com/clink-consortium/clink/kinetics"
	"github.com/clink-consortium/clink/stats"
)

// num formats a number for a table: 4 significant figures, or "-" for nil.
func num(v *float64) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatFloat(*v, 'g', 4, 64)
}

func numv(v float64) string { return num(&v) }

// pval formats a p-value: 4 significant figures down to 1e-300, "-" when there is none.
func pval(v *float64) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatFloat(*v, 'g', 4, 64)
}

// cell formats a number for CSV: full precision, empty for nil.
func cell(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'g', -1, 64)
}

func cellv(v float64) string { return cell(&v) }

func newTab(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

func printNotes(w io.Writer, notes []string) {
	for _, n := range notes {
		fmt.Fprintf(w, "Note: %s\n", n)
	}
}

// printComparisonHeader says what a database comparison rests on.
func printComparisonHeader(w io.Writer, c *analysis.Comparison) {
	when := "at harvest"
	if c.Day != nil {
		when = fmt.Sprintf("on day %d", *c.Day)
	}
	fmt.Fprintf(w, "Metric %s %s, %d cultures", c.Metric, when, c.NCultures)
	if c.AssayMethod != "" {
		fmt.Fprintf(w, ", assay method %s", c.AssayMethod)
	}
	fmt.Fprintln(w)
	for _, p := range c.Protocols {
		fmt.Fprintf(w, "  %s: versions %v, %d cultures\n", p.Label, p.Versions, p.NCultures)
	}
	printNotes(w, c.Notes)
	fmt.Fprintln(w)
}

// printComparison writes a comparison as tables.
func printComparison(w io.Writer, c *stats.Comparison) error {
	fmt.Fprintf(w, "Protocols: %s (reference: %s); %d donors, %d with every protocol\n\n",
		strings.Join(c.Protocols, ", "), c.Protocols[0], c.NDonors, c.NCompleteDonors)
	tw := newTab(w)
	fmt.Fprintln(tw, "protocol\tn\tmedian\tq1\tq3")
	for _, s := range c.Summary {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", s.Protocol, s.N, numv(s.Median), numv(s.Q1), numv(s.Q3))
	}
	tw.Flush()
	fmt.Fprintln(w)
	if t := c.Wilcoxon; t != nil {
		method := "normal approximation"
		if t.Exact {
			method = "exact"
		}
		fmt.Fprintf(w, "Wilcoxon signed-rank, %s minus %s: V = %s, p = %s (%s, %d non-zero pairs)\n",
			c.Protocols[0], c.Protocols[1], numv(t.Statistic), pval(t.PValue), method, t.N)
		if t.Note != "" {
			fmt.Fprintf(w, "  %s\n", t.Note)
		}
	}
	if f := c.Friedman; f != nil {
		fmt.Fprintf(w, "Friedman: Q = %s, df %d, p = %s (%d complete donors)\n", num(f.Statistic), f.DF, pval(f.PValue), f.NDonors)
		if f.Note != "" {
			fmt.Fprintf(w, "  %s\n", f.Note)
		}
	}
	if len(c.Pairwise) > 0 {
		fmt.Fprintln(w, "\nPairwise Wilcoxon signed-rank tests, Holm-adjusted:")
		tw := newTab(w)
		fmt.Fprintln(tw, "a\tb\tV\tn\tp\tp (Holm)")
		for _, p := range c.Pairwise {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", p.ProtocolA, p.ProtocolB, numv(p.Statistic), p.N, pval(p.PValue), pval(p.PHolm))
		}
		tw.Flush()
	}
	if m := c.MixedModel; m != nil {
		fmt.Fprintf(w, "\nMixed model %s ~ protocol + (1 | donor), REML (%d observations, %d donors):\n", m.Response, m.NObs, m.NDonors)
		tw := newTab(w)
		fmt.Fprintln(tw, "term\testimate\tstd. error")
		for _, fx := range m.FixedEffects {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", fx.Term, numv(fx.Estimate), numv(fx.StdError))
		}
		tw.Flush()
		fmt.Fprintf(w, "Donor variance %s, residual variance %s, ICC %s", numv(m.DonorVariance), numv(m.ResidualVariance), numv(m.ICC))
		if m.Singular {
			fmt.Fprint(w, " (singular fit: donor variance at 0)")
		}
		fmt.Fprintln(w)
	}
	printNotes(w, c.Notes)
	return nil
}

// writeComparisonCSV writes a comparison as one CSV table, a row per summary, test and term.
func writeComparisonCSV(w io.Writer, c *stats.Comparison) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"section", "protocol_a", "protocol_b", "term", "n", "median", "q1", "q3", "statistic", "df", "p_value", "p_holm", "estimate", "std_error"})
	for _, s := range c.Summary {
		cw.Write([]string{"summary", s.Protocol, "", "", strconv.Itoa(s.N), cellv(s.Median), cellv(s.Q1), cellv(s.Q3), "", "", "", "", "", ""})
	}
	if t := c.Wilcoxon; t != nil {
		cw.Write([]string{"wilcoxon", c.Protocols[0], c.Protocols[1], "", strconv.Itoa(t.N), "", "", "", cellv(t.Statistic), "", cell(t.PValue), "", "", ""})
	}
	if f := c.Friedman; f != nil {
		cw.Write([]string{"friedman", "", "", "", strconv.Itoa(f.NDonors), "", "", "", cell(f.Statistic), strconv.Itoa(f.DF), cell(f.PValue), "", "", ""})
	}
	for _, p := range c.Pairwise {
		cw.Write([]string{"pairwise", p.ProtocolA, p.ProtocolB, "", strconv.Itoa(p.N), "", "", "", cellv(p.Statistic), "", cell(p.PValue), cell(p.PHolm), "", ""})
	}
	if m := c.MixedModel; m != nil {
		for _, fx := range m.FixedEffects {
			cw.Write([]string{"mixed_model", m.Reference, "", fx.Term, strconv.Itoa(m.NObs), "", "", "", "", "", "", "", cellv(fx.Estimate), cellv(fx.StdError)})
		}
		for _, v := range []struct {
			term string
			v    float64
		}{{"donor_variance", m.DonorVariance}, {"residual_variance", m.ResidualVariance}, {"icc", m.ICC}} {
			cw.Write([]string{"mixed_model", m.Reference, "", v.term, strconv.Itoa(m.NObs), "", "", "", "", "", "", "", cellv(v.v), ""})
		}
	}
	cw.Flush()
	return cw.Error()
}

// ciText formats a median with its interval.
func ciText(ci *stats.BootstrapCI) string {
	if ci == nil {
		return "-"
	}
	return fmt.Sprintf("%s [%s-%s]", numv(ci.Estimate), numv(ci.Low), numv(ci.High))
}

func ciCells(ci *stats.BootstrapCI) []string {
	if ci == nil {
		return []string{"", "", ""}
	}
	return []string{cellv(ci.Estimate), cellv(ci.Low), cellv(ci.High)}
}

// printRanking writes the scoreboard as a table.
func printRanking(w io.Writer, rk *analysis.Ranking) error {
	when := "at harvest"
	if rk.Day != nil {
		when = fmt.Sprintf("on day %d", *rk.Day)
	}
	r := rk.Ranking
	fmt.Fprintf(w, "Ranking of %d cultures %s; killing from %s assays against K562\n", rk.NCultures, when, orDash(rk.AssayMethod))
	fmt.Fprintf(w, "Dose %.3g NK/kg x %g kg = %.3g NK; donor unit %.3g cells; recovery %g; QC share %g\n\n",
		r.Options.DosePerKg, r.Options.WeightKg, r.DoseCells, r.Options.DonorUnitCells, r.Options.ProcessRecovery, r.Options.QCFraction)
	tw := newTab(w)
	fmt.Fprintln(tw, "#\tprotocol\tcultures\tdonors\tNK fold, median [95% CI]\tLU30, median [95% CI]\tpurity %\tviability %\teligible\tdoses/donor\tPareto front")
	for i, p := range r.Protocols {
		front := ""
		if p.OnFront {
			front = "*"
		}
		eligible := "-"
		if p.EligibleShare != nil {
			eligible = fmt.Sprintf("%d/%d", p.NEligible, p.NAssessable)
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", i+1, p.Protocol, p.NCultures, p.NDonors,
			ciText(p.NKFold), ciText(p.LU30), num(p.PurityPct), num(p.ViabilityPct), eligible, num(p.DosesPerDonor), front)
	}
	tw.Flush()
	front := strings.Join(r.Front, "; ")
	if front == "" {
		front = "none (no protocol has both a median NK fold and a median LU30)"
	}
	fmt.Fprintf(w, "\nPareto front (NK fold against LU30): %s\n", front)
	printNotes(w, rk.Notes)
	printNotes(w, r.Notes)
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// writeRankingCSV writes the scoreboard as CSV, a row per protocol in scoreboard order.
func writeRankingCSV(w io.Writer, rk *analysis.Ranking) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"rank", "protocol", "n_cultures", "n_donors", "nk_fold_median", "nk_fold_low", "nk_fold_high",
		"lu30_median", "lu30_low", "lu30_high", "purity_median_pct", "viability_median_pct", "n_assessable", "n_eligible",
		"eligible_share", "doses_per_donor_median", "pareto_front"})
	for i, p := range rk.Ranking.Protocols {
		row := []string{strconv.Itoa(i + 1), p.Protocol, strconv.Itoa(p.NCultures), strconv.Itoa(p.NDonors)}
		row = append(row, ciCells(p.NKFold)...)
		row = append(row, ciCells(p.LU30)...)
		row = append(row, cell(p.PurityPct), cell(p.ViabilityPct), strconv.Itoa(p.NAssessable), strconv.Itoa(p.NEligible),
			cell(p.EligibleShare), cell(p.DosesPerDonor), strconv.FormatBool(p.OnFront))
		cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}

// printPlate writes a plate analysis as a table per sample.
func printPlate(w io.Writer, pa *cytotox.PlateAnalysis) error {
	for i, s := range pa.Samples {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "Sample %s: spontaneous release %s %%\n", s.Sample, numv(s.SpontaneousReleasePct))
		tw := newTab(w)
		fmt.Fprintln(tw, "E:T\tlysis %\tSD\tn")
		for _, p := range s.Points {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", numv(p.ETRatio), numv(p.MeanLysisPct), num(p.SDLysisPct), p.N)
		}
		tw.Flush()
		if f := s.Fit; f != nil {
			fmt.Fprintf(w, "Fit lysis = a(1 - exp(-k E:T)): a = %s (SE %s), k = %s (SE %s)\n", numv(f.A), num(f.ASE), numv(f.K), num(f.KSE))
		} else {
			fmt.Fprintln(w, "No fit")
		}
		fmt.Fprintf(w, "LU20 %s, LU30 %s per 10^7 effectors\n", num(s.LU20), num(s.LU30))
		if len(s.QC) > 0 {
			fmt.Fprintf(w, "QC: %s\n", strings.Join(s.QC, ", "))
		}
	}
	return nil
}

// writePlateCSV writes a plate analysis as CSV, a row per sample and E:T ratio.
func writePlateCSV(w io.Writer, pa *cytotox.PlateAnalysis) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"sample", "spontaneous_release_pct", "et_ratio", "mean_lysis_pct", "sd_lysis_pct", "n", "a", "k", "a_se", "k_se", "lu20_per_1e7", "lu30_per_1e7", "qc"})
	for _, s := range pa.Samples {
		fit := []string{"", "", "", ""}
		if f := s.Fit; f != nil {
			fit = []string{cellv(f.A), cellv(f.K), cell(f.ASE), cell(f.KSE)}
		}
		tail := append(fit, cell(s.LU20), cell(s.LU30), strings.Join(s.QC, " "))
		if len(s.Points) == 0 {
			cw.Write(append([]string{s.Sample, cellv(s.SpontaneousReleasePct), "", "", "", ""}, tail...))
		}
		for _, p := range s.Points {
			cw.Write(append([]string{s.Sample, cellv(s.SpontaneousReleasePct), cellv(p.ETRatio), cellv(p.MeanLysisPct), cell(p.SDLysisPct), strconv.Itoa(p.N)}, tail...))
		}
	}
	cw.Flush()
	return cw.Error()
}

// paramText formats a fitted growth parameter.
func paramText(f *kinetics.GrowthFit, name string) string {
	if f == nil {
		return "-"
	}
	for _, p := range f.Params {
		if p.Name == name {
			return numv(p.Estimate)
		}
	}
	return "-"
}

// printGrowth writes the growth of each culture as a table row.
func printGrowth(w io.Writer, gs []kinetics.CultureGrowth) error {
	tw := newTab(w)
	fmt.Fprintln(tw, "culture\tlast day\tNK fold\tNK PD\tdoubling time (d)\twindow\tpeak NK day\tlogistic mu\tlogistic K\tGompertz A")
	for _, g := range gs {
		m := g.Metrics
		var last kinetics.Point
		if len(m.Points) > 0 {
			last = m.Points[len(m.Points)-1]
		}
		td, window := "-", "-"
		if d := m.DoublingTime; d != nil {
			td, window = numv(d.Days), fmt.Sprintf("d%d-d%d", d.FromDay, d.ToDay)
		}
		peak := "-"
		if m.PeakNKDay != nil {
			peak = strconv.Itoa(*m.PeakNKDay)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", g.Culture, last.Day, num(last.FoldNK), num(last.PDNK), td, window, peak,
			paramText(m.Fits.Logistic, "mu"), paramText(m.Fits.Logistic, "k"), paramText(m.Fits.Gompertz, "a"))
	}
	tw.Flush()
	for _, g := range gs {
		for _, n := range g.Metrics.Notes {
			fmt.Fprintf(w, "Note: %s: %s\n", g.Culture, n)
		}
	}
	return nil
}

// writeGrowthCSV writes every point of every culture as CSV.
func writeGrowthCSV(w io.Writer, gs []kinetics.CultureGrowth) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"culture", "day", "viable_cells", "nk_cells", "fold_total", "fold_nk", "pd_total", "pd_nk", "nk_yield"})
	for _, g := range gs {
		for _, p := range g.Metrics.Points {
			cw.Write([]string{g.Culture, strconv.Itoa(p.Day), cellv(p.ViableCells), cell(p.NKCells), cell(p.FoldTotal), cell(p.FoldNK), cell(p.PDTotal), cell(p.PDNK), cell(p.NKYield)})
		}
	}
	cw.Flush()
	return cw.Error()
}
