package gating

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Write writes the document as Gating-ML 2.0 XML with the prefixes gating, transforms and
// data-type: transformations first, then spectrum matrices, then gates, each in document
// order. Parse reads the output back to an equal Document. Write refuses a document that
// Validate refuses.
func (d *Document) Write(w io.Writer) error {
	if err := d.Validate(); err != nil {
		return err
	}
	x := &xmlWriter{}
	x.raw(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	x.raw(`<gating:Gating-ML xmlns:gating="` + NamespaceGating + `" xmlns:transforms="` + NamespaceTransformations +
		`" xmlns:data-type="` + NamespaceDataTypes + `" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` + "\n")
	x.customInfo(1, d.CustomInfo)
	for _, t := range d.Transformations {
		x.transformation(t)
	}
	for _, m := range d.Matrices {
		x.matrix(m)
	}
	for _, g := range d.Gates {
		x.gate(g)
	}
	x.raw("</gating:Gating-ML>\n")
	bw := bufio.NewWriter(w)
	if _, err := bw.WriteString(x.b.String()); err != nil {
		return err
	}
	return bw.Flush()
}

type xmlWriter struct {
	b strings.Builder
}

func (x *xmlWriter) raw(s string) { x.b.WriteString(s) }

// open writes an indented start tag with attributes given as name, value pairs; empty values
// are left out. It closes the tag with "/>" when empty is set.
func (x *xmlWriter) open(depth int, name string, empty bool, attrs ...string) {
	x.raw(strings.Repeat("  ", depth) + "<" + name)
	for i := 0; i+1 < len(attrs); i += 2 {
		if attrs[i+1] == "" {
			continue
		}
		x.raw(" " + attrs[i] + `="`)
		xmlEscape(&x.b, attrs[i+1])
		x.raw(`"`)
	}
	if empty {
		x.raw("/>\n")
	} else {
		x.raw(">\n")
	}
}

func (x *xmlWriter) close(depth int, name string) {
	x.raw(strings.Repeat("  ", depth) + "</" + name + ">\n")
}

func (x *xmlWriter) customInfo(depth int, ci CustomInfo) {
	if ci == "" {
		return
	}
	x.raw(strings.Repeat("  ", depth) + "<data-type:custom_info>" + string(ci) + "</data-type:custom_info>\n")
}

func optFloat(v *float64) string {
	if v == nil {
		return ""
	}
	return formatFloat(*v)
}

func (x *xmlWriter) transformation(t *Transformation) {
	x.open(1, "transforms:transformation", false, "transforms:id", t.ID,
		"transforms:boundMin", optFloat(t.BoundMin), "transforms:boundMax", optFloat(t.BoundMax))
	fn := "transforms:" + string(t.Kind)
	var attrs []string
	switch t.Kind {
	case KindFlin:
		attrs = []string{"transforms:T", formatFloat(t.T), "transforms:A", formatFloat(t.A)}
	case KindFlog:
		attrs = []string{"transforms:T", formatFloat(t.T), "transforms:M", formatFloat(t.M)}
	case KindFasinh:
		attrs = []string{"transforms:T", formatFloat(t.T), "transforms:M", formatFloat(t.M), "transforms:A", formatFloat(t.A)}
	case KindLogicle, KindHyperlog:
		attrs = []string{"transforms:T", formatFloat(t.T), "transforms:W", formatFloat(t.W), "transforms:M", formatFloat(t.M), "transforms:A", formatFloat(t.A)}
	case KindFratio:
		attrs = []string{"transforms:A", formatFloat(t.A), "transforms:B", formatFloat(t.B), "transforms:C", formatFloat(t.C)}
	}
	empty := t.CustomInfo == "" && t.Kind != KindFratio
	x.open(2, fn, empty, attrs...)
	if !empty {
		x.customInfo(3, t.CustomInfo)
		if t.Kind == KindFratio {
			x.open(3, "data-type:fcs-dimension", true, "data-type:name", t.Ratio[0])
			x.open(3, "data-type:fcs-dimension", true, "data-type:name", t.Ratio[1])
		}
		x.close(2, fn)
	}
	x.close(1, "transforms:transformation")
}

func (x *xmlWriter) matrix(m *SpectrumMatrix) {
	inv := ""
	if m.InvertedAlready {
		inv = "true"
	}
	x.open(1, "transforms:spectrumMatrix", false, "transforms:id", m.ID, "transforms:matrix-inverted-already", inv)
	x.customInfo(2, m.CustomInfo)
	for _, list := range []struct {
		name  string
		names []string
	}{{"transforms:fluorochromes", m.Fluorochromes}, {"transforms:detectors", m.Detectors}} {
		x.open(2, list.name, false)
		for _, n := range list.names {
			x.open(3, "data-type:fcs-dimension", true, "data-type:name", n)
		}
		x.close(2, list.name)
	}
	for _, row := range m.Coefficients {
		x.open(2, "transforms:spectrum", false)
		for _, v := range row {
			x.open(3, "transforms:coefficient", true, "transforms:value", formatFloat(v))
		}
		x.close(2, "transforms:spectrum")
	}
	x.close(1, "transforms:spectrumMatrix")
}

// dimension writes a gating:dimension (or, with name "gating:divider", a divider) with its
// fcs-dimension or new-dimension; extra are more attributes and body more content.
func (x *xmlWriter) dimension(depth int, name string, d Dimension, extra []string, body func()) {
	attrs := append([]string{"gating:compensation-ref", d.Compensation, "gating:transformation-ref", d.Transformation}, extra...)
	x.open(depth, name, false, attrs...)
	if d.Ratio != "" {
		x.open(depth+1, "data-type:new-dimension", true, "data-type:transformation-ref", d.Ratio)
	} else {
		x.open(depth+1, "data-type:fcs-dimension", true, "data-type:name", d.Name)
	}
	if body != nil {
		body()
	}
	x.close(depth, name)
}

func (x *xmlWriter) point(depth int, name string, coords ...float64) {
	x.open(depth, name, false)
	for _, c := range coords {
		x.open(depth+1, "gating:coordinate", true, "data-type:value", formatFloat(c))
	}
	x.close(depth, name)
}

func (x *xmlWriter) gate(g Gate) {
	info := g.info()
	name := "gating:" + g.Kind()
	x.open(1, name, false, "gating:id", info.ID, "gating:parent_id", info.Parent)
	x.customInfo(2, info.CustomInfo)
	switch g := g.(type) {
	case *RectangleGate:
		for _, d := range g.Dimensions {
			x.dimension(2, "gating:dimension", d.Dimension, []string{"gating:min", optFloat(d.Min), "gating:max", optFloat(d.Max)}, nil)
		}
	case *PolygonGate:
		for _, d := range g.Dimensions {
			x.dimension(2, "gating:dimension", d, nil, nil)
		}
		for _, v := range g.Vertices {
			x.point(2, "gating:vertex", v[0], v[1])
		}
	case *EllipsoidGate:
		for _, d := range g.Dimensions {
			x.dimension(2, "gating:dimension", d, nil, nil)
		}
		x.point(2, "gating:mean", g.Mean...)
		x.open(2, "gating:covarianceMatrix", false)
		for _, row := range g.Covariance {
			x.open(3, "gating:row", false)
			for _, v := range row {
				x.open(4, "gating:entry", true, "data-type:value", formatFloat(v))
			}
			x.close(3, "gating:row")
		}
		x.close(2, "gating:covarianceMatrix")
		x.open(2, "gating:distanceSquare", true, "data-type:value", formatFloat(g.DistanceSquare))
	case *QuadrantGate:
		for _, d := range g.Dividers {
			x.dimension(2, "gating:divider", d.Dimension, []string{"gating:id", d.ID}, func() {
				for _, v := range d.Values {
					x.raw(fmt.Sprintf("      <gating:value>%s</gating:value>\n", formatFloat(v)))
				}
			})
		}
		for _, q := range g.Quadrants {
			x.open(2, "gating:Quadrant", false, "gating:id", q.ID)
			for _, p := range q.Positions {
				x.open(3, "gating:position", true, "gating:divider_ref", p.Divider, "gating:location", formatFloat(p.Location))
			}
			x.close(2, "gating:Quadrant")
		}
	case *BooleanGate:
		op := "gating:" + string(g.Op)
		x.open(2, op, false)
		for _, o := range g.Operands {
			c := ""
			if o.Complement {
				c = "true"
			}
			x.open(3, "gating:gateReference", true, "gating:ref", o.Ref, "gating:use-as-complement", c)
		}
		x.close(2, op)
	}
	x.close(1, name)
}
