package demo

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"unicode"

	"github.com/clink-consortium/clink"
	"github.com/clink-consortium/clink/fcs"
	"github.com/clink-consortium/clink/flow"
)

// The demo's flow cytometry: every recruiting site has the gating template of its NK panel,
// and the latest phenotyped observation of the most recent cultures has an FCS file of that
// panel attached. The files are synthetic: their populations are drawn so that the gates give
// the observation's NK and T-cell percentages and its CD16 and NKG2C phenotype (up to the
// sampling of events), and attaching a file replaces the observation's values with what the
// gates measured, as a lab's upload would.

// flowFiles is the number of cultures with an FCS file, whatever the scale.
const flowFiles = 10

// flowEvents is the number of events of each demo file.
const flowEvents = 10000

// panelTemplate is the start of the name of every site's gating template, which ends with the
// site's code (template names are shared by the consortium).
const panelTemplate = "NK-panel-"

// panelChannels are the parameters of the demo files: the scatter channels and four
// fluorescence channels with the marker each one stains.
var panelChannels = []fcs.WriteParam{
	{Name: "FSC-A", Range: 262144}, {Name: "SSC-A", Range: 262144},
	{Name: "FL1-A", Label: "CD3 FITC", Range: 262144}, {Name: "FL2-A", Label: "CD56 PE", Range: 262144},
	{Name: "FL3-A", Label: "CD16 APC", Range: 262144}, {Name: "FL4-A", Label: "NKG2C PE-Cy7", Range: 262144},
}

// panelGatingML is the demo's Gating-ML 2.0 document: lymphocytes on the scatter channels,
// then on a logicle scale NK cells (CD3−CD56+) and T cells (CD3+) among them, and the CD16+
// and NKG2C+ NK cells. A fluorescence is positive above 0.45 on the logicle scale (about 800
// on the linear one).
const panelGatingML = `<?xml version="1.0" encoding="UTF-8"?>
<gating:Gating-ML xmlns:gating="http://www.isac-net.org/std/Gating-ML/v2.0/gating"
    xmlns:transforms="http://www.isac-net.org/std/Gating-ML/v2.0/transformations"
    xmlns:data-type="http://www.isac-net.org/std/Gating-ML/v2.0/datatypes">
  <transforms:transformation transforms:id="Logicle">
    <transforms:logicle transforms:T="262144" transforms:W="0.5" transforms:M="4.5" transforms:A="0"/>
  </transforms:transformation>
  <gating:PolygonGate gating:id="Lymphocytes">
    <gating:dimension gating:compensation-ref="uncompensated"><data-type:fcs-dimension data-type:name="FSC-A"/></gating:dimension>
    <gating:dimension gating:compensation-ref="uncompensated"><data-type:fcs-dimension data-type:name="SSC-A"/></gating:dimension>
    <gating:vertex><gating:coordinate data-type:value="32000"/><gating:coordinate data-type:value="4000"/></gating:vertex>
    <gating:vertex><gating:coordinate data-type:value="100000"/><gating:coordinate data-type:value="4000"/></gating:vertex>
    <gating:vertex><gating:coordinate data-type:value="120000"/><gating:coordinate data-type:value="45000"/></gating:vertex>
    <gating:vertex><gating:coordinate data-type:value="90000"/><gating:coordinate data-type:value="62000"/></gating:vertex>
    <gating:vertex><gating:coordinate data-type:value="36000"/><gating:coordinate data-type:value="50000"/></gating:vertex>
  </gating:PolygonGate>
  <gating:RectangleGate gating:id="NK" gating:parent_id="Lymphocytes">
    <gating:dimension gating:compensation-ref="uncompensated" gating:transformation-ref="Logicle" gating:max="0.45"><data-type:fcs-dimension data-type:name="FL1-A"/></gating:dimension>
    <gating:dimension gating:compensation-ref="uncompensated" gating:transformation-ref="Logicle" gating:min="0.45"><data-type:fcs-dimension data-type:name="FL2-A"/></gating:dimension>
  </gating:RectangleGate>
  <gating:RectangleGate gating:id="T" gating:parent_id="Lymphocytes">
    <gating:dimension gating:compensation-ref="uncompensated" gating:transformation-ref="Logicle" gating:min="0.45"><data-type:fcs-dimension data-type:name="FL1-A"/></gating:dimension>
    <gating:dimension gating:compensation-ref="uncompensated" gating:transformation-ref="Logicle"><data-type:fcs-dimension data-type:name="FL2-A"/></gating:dimension>
  </gating:RectangleGate>
  <gating:RectangleGate gating:id="CD16pos" gating:parent_id="NK">
    <gating:dimension gating:compensation-ref="uncompensated" gating:transformation-ref="Logicle" gating:min="0.45"><data-type:fcs-dimension data-type:name="FL3-A"/></gating:dimension>
    <gating:dimension gating:compensation-ref="uncompensated" gating:transformation-ref="Logicle"><data-type:fcs-dimension data-type:name="FL2-A"/></gating:dimension>
  </gating:RectangleGate>
  <gating:RectangleGate gating:id="NKG2Cpos" gating:parent_id="NK">
    <gating:dimension gating:compensation-ref="uncompensated" gating:transformation-ref="Logicle" gating:min="0.45"><data-type:fcs-dimension data-type:name="FL4-A"/></gating:dimension>
  </gating:RectangleGate>
</gating:Gating-ML>
`

// panelMapping says which gates give the observation's measures.
var panelMapping = clink.GateMapping{Denominator: "Lymphocytes", NKPct: "NK", TPct: "T",
	Markers: map[string]string{"CD16": "CD16pos", "NKG2C": "NKG2Cpos"}}

// flowPlan is one demo FCS file: the culture and observation it belongs to and its bytes.
type flowPlan struct {
	culture, obs int // indexes into plan.cultures and that culture's obs
	name         string
	data         []byte
}

// planFlow chooses the cultures with a file (the most recent ones of each site, by start date,
// with a phenotyped observation from day 7 on; flowFiles in all) and draws their files.
func (pl *plan) planFlow(seed uint64) error {
	type pick struct{ culture, obs int }
	var picks []pick
	for ci, cp := range pl.cultures {
		for oi := len(cp.obs) - 1; oi >= 0; oi-- {
			if o := cp.obs[oi]; o.Day >= 7 && o.Markers != nil && o.NKPct != nil && o.TPct != nil {
				picks = append(picks, pick{ci, oi})
				break
			}
		}
	}
	// The most recent first; then flowFiles of them, taken from each site in turn, so that
	// every site's researchers find files among their own cultures.
	slices.SortStableFunc(picks, func(a, b pick) int {
		return cmp.Compare(pl.cultures[b.culture].rec.StartDate, pl.cultures[a.culture].rec.StartDate)
	})
	bySite := map[string][]pick{}
	for _, p := range picks {
		site := pl.cultures[p.culture].rec.Site
		bySite[site] = append(bySite[site], p)
	}
	var chosen []pick
	for round := 0; len(chosen) < flowFiles && len(chosen) < len(picks); round++ {
		for _, ds := range donorSites {
			if ps := bySite[ds.site]; round < len(ps) && len(chosen) < flowFiles {
				chosen = append(chosen, ps[round])
			}
		}
	}
	for _, p := range chosen {
		cp := &pl.cultures[p.culture]
		o := cp.obs[p.obs]
		r := rand.New(rand.NewPCG(seed, 0xFC5000000+uint64(p.culture)))
		name := fmt.Sprintf("%s_%s_day%02d.fcs", pl.donors[cp.donor].rec.Code, fileWord(pl.protocols[cp.protocol].Family), o.Day)
		data, err := panelFile(r, name, o)
		if err != nil {
			return fmt.Errorf("FCS file of culture %d day %d: %w", p.culture, o.Day, err)
		}
		pl.flows = append(pl.flows, flowPlan{culture: p.culture, obs: p.obs, name: name, data: data})
	}
	return nil
}

// fileWord makes a protocol family a part of a file name: letters and digits, other runs of
// characters as one hyphen ("EBV-LCL + IL-2" → "EBV-LCL-IL-2").
func fileWord(s string) string {
	var b strings.Builder
	hyphen := false
	for _, r := range s {
		if r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			if hyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			hyphen = false
			continue
		}
		hyphen = true
	}
	return b.String()
}

// panelFile draws the events of observation o's NK panel and writes them as FCS 3.1: 8 % of
// events are debris outside the lymphocyte gate; the lymphocytes are NK cells, T cells and
// other cells in the observation's proportions; CD16 and NKG2C are positive on the
// observation's percentages of NK cells.
func panelFile(r *rand.Rand, name string, o clink.Observation) ([]byte, error) {
	nk, t := *o.NKPct/100, *o.TPct/100
	cd16, nkg2c := o.Markers["CD16"]/100, o.Markers["NKG2C"]/100
	cols := make(fcs.Columns, len(panelChannels))
	for i := range cols {
		cols[i] = make([]float64, flowEvents)
	}
	pos := func() float64 { return math.Min(20000*math.Exp(0.5*r.NormFloat64()), 262143) }
	neg := func() float64 { return 150 + 120*r.NormFloat64() }
	for e := range flowEvents {
		if r.Float64() < 0.08 { // debris: small and granular-looking
			cols[0][e] = math.Abs(12000 + 5000*r.NormFloat64())
			cols[1][e] = math.Abs(30000 + 20000*r.NormFloat64())
			for ch := 2; ch < len(cols); ch++ {
				cols[ch][e] = neg()
			}
			continue
		}
		cols[0][e] = 65000 + 9000*r.NormFloat64()
		cols[1][e] = 22000 + 6000*r.NormFloat64()
		cd3, cd56, f16, f2c := neg(), neg(), neg(), neg()
		switch u := r.Float64(); {
		case u < nk:
			cd56 = pos()
			if r.Float64() < cd16 {
				f16 = pos()
			}
			if r.Float64() < nkg2c {
				f2c = pos()
			}
		case u < nk+t:
			cd3 = pos()
			if r.Float64() < 0.05 { // NKT-like cells: CD3+CD56+
				cd56 = pos()
			}
		}
		cols[2][e], cols[3][e], cols[4][e], cols[5][e] = cd3, cd56, f16, f2c
	}
	f := &fcs.File{Params: panelChannels, Keywords: []fcs.Keyword{
		{Name: "$FIL", Value: name}, {Name: "$CYT", Value: "CLINK demo (synthetic events)"},
	}}
	var buf bytes.Buffer
	if err := fcs.Write(&buf, f, cols); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeFlow creates every recruiting site's gating template and attaches the demo files
// through the flow service, in the demo's transaction; obsIDs holds the ids of the cultures'
// observations.
func (pl *plan) writeFlow(ctx context.Context, tx clink.Store, obsIDs [][]int64) (templates, files int, err error) {
	svc := flow.New(tx)
	for _, ds := range donorSites {
		t := &clink.GatingTemplate{Site: ds.site, Name: panelTemplate + ds.site, GatingML: panelGatingML, Mapping: panelMapping,
			Description: "NK panel: lymphocytes on scatter, CD3−CD56+ NK and CD3+ T cells, CD16+ and NKG2C+ NK cells."}
		if err := svc.CreateTemplate(ctx, t); err != nil {
			return templates, files, fmt.Errorf("gating template of %s: %w", ds.site, err)
		}
		templates++
	}
	for _, fp := range pl.flows {
		u := &clink.FCSUpload{ObservationID: obsIDs[fp.culture][fp.obs], FileName: fp.name, Data: fp.data,
			Template: panelTemplate + pl.cultures[fp.culture].rec.Site, Replace: true}
		if _, err := svc.Attach(ctx, []*clink.FCSUpload{u}); err != nil {
			return templates, files, fmt.Errorf("FCS file %s: %w", fp.name, err)
		}
		files++
	}
	return templates, files, nil
}
