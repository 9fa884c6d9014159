package gating

import "fmt"

// The three XML namespaces of Gating-ML 2.0 [GML2], with the prefixes Write uses for them.
const (
	NamespaceGating          = "http://www.isac-net.org/std/Gating-ML/v2.0/gating"
	NamespaceTransformations = "http://www.isac-net.org/std/Gating-ML/v2.0/transformations"
	NamespaceDataTypes       = "http://www.isac-net.org/std/Gating-ML/v2.0/datatypes"
)

// The reserved compensation references of a Dimension. Any other value names a SpectrumMatrix.
const (
	Uncompensated = "uncompensated" // scale values as they are
	FCSSpillover  = "FCS"           // the sample's spillover matrix; no compensation when it has none
)

// Document is a parsed Gating-ML 2.0 file: its transformations, spectrum matrices and gates,
// each list in document order. A Document built or edited in code is checked by Validate;
// Parse, Write and Apply validate it too.
type Document struct {
	Transformations []*Transformation
	Matrices        []*SpectrumMatrix
	Gates           []Gate
	// CustomInfo is the content of the document-level data-type:custom_info elements,
	// re-serialized as XML (see CustomInfo).
	CustomInfo CustomInfo

	lines map[any]int // the XML line of each parsed transformation, matrix and gate
}

// CustomInfo holds the content of a data-type:custom_info element, which Gating-ML leaves free.
// It is the element's inner XML, re-serialized by Parse so that it stands on its own: elements
// of the three Gating-ML namespaces carry the prefixes gating, transforms and data-type, other
// namespaces are declared where they are used, and comments and processing instructions are
// dropped. Write emits it as it is, so that it survives a round trip.
type CustomInfo string

// TransformKind names the function of a Transformation.
type TransformKind string

// The transformation functions of Gating-ML 2.0 (flow.md section 3).
const (
	KindFlin     TransformKind = "flin"     // (x + A) / (T + A)
	KindFlog     TransformKind = "flog"     // (1/M) log10(x/T) + 1, NaN for x <= 0
	KindFasinh   TransformKind = "fasinh"   // (asinh(x sinh(M ln10)/T) + A ln10) / ((M + A) ln10)
	KindLogicle  TransformKind = "logicle"  // y with B(y) = x (Parks 2006)
	KindHyperlog TransformKind = "hyperlog" // y with EH(y) = x (Bagwell 2005)
	KindFratio   TransformKind = "fratio"   // A (u - B) / (v - C), a new dimension
)

// Transformation is a transforms:transformation element: one function with its parameters and
// optional bounds. Parameters that the function does not use are zero.
type Transformation struct {
	ID   string
	Kind TransformKind
	// T, W, M and A are the parameters of flin (T, A), flog (T, M), fasinh (T, M, A),
	// logicle and hyperlog (T, W, M, A); A, B and C are those of fratio.
	T, W, M, A, B, C float64
	// Ratio names the two fcs-dimensions of an fratio: the numerator u and the denominator v.
	// They are resolved like the name of a Dimension, under the compensation of the
	// Dimension that uses the ratio.
	Ratio [2]string
	// BoundMin and BoundMax, when not nil, clamp the result: max(min(f, BoundMax), BoundMin).
	// NaN stays NaN.
	BoundMin, BoundMax *float64
	CustomInfo         CustomInfo
}

// SpectrumMatrix is a transforms:spectrumMatrix element. Its fluorochromes become dimension
// names that gates can use with compensation-ref set to the matrix's ID.
//
// Without InvertedAlready, Coefficients has one row per fluorochrome and one column per
// detector (a spillover or spectrum matrix S); compensated values are o x S^-1 when S is
// square and the least-squares unmixing o x pinv(S) when there are more detectors than
// fluorochromes. With InvertedAlready, Coefficients is the compensation matrix itself, one
// row per detector and one column per fluorochrome, and compensated values are o x M.
type SpectrumMatrix struct {
	ID              string
	Fluorochromes   []string
	Detectors       []string
	Coefficients    [][]float64
	InvertedAlready bool
	CustomInfo      CustomInfo
}

// Dimension is what a gate measures along one axis: an FCS parameter (Name) or the ratio
// defined by an fratio transformation (Ratio), compensated as Compensation says and then
// transformed by the transformation with ID Transformation ("" for none).
//
// Name is matched against the sample's parameter names ($PnN) exactly. Under the
// compensation of a SpectrumMatrix it may also be one of the matrix's fluorochromes, or, for a
// square matrix, one of its detectors (meaning the fluorochrome of the same index); under
// FCSSpillover a name "Comp-<detector>" (FlowJo's convention) means the compensated detector.
type Dimension struct {
	Name           string // fcs-dimension; "" when Ratio is set
	Ratio          string // new-dimension: the ID of an fratio transformation
	Compensation   string // Uncompensated, FCSSpillover or the ID of a SpectrumMatrix
	Transformation string // the ID of a transformation applied last; "" for none
}

// String describes the dimension for messages, e.g. `FL1-H` or `ratio FL2Rat1`.
func (d Dimension) String() string {
	if d.Ratio != "" {
		return fmt.Sprintf("ratio %s", d.Ratio)
	}
	return d.Name
}

// Gate is one of *RectangleGate, *PolygonGate, *EllipsoidGate, *QuadrantGate and
// *BooleanGate.
type Gate interface {
	// GateID returns the gate's id.
	GateID() string
	// ParentID returns the gate's parent_id, "" when it has none.
	ParentID() string
	// Kind returns the element name: "RectangleGate", "PolygonGate", ...
	Kind() string
	info() *GateInfo
}

// GateInfo holds what every gate has: its id, its parent (a gate or Quadrant id, "" for none)
// and its custom_info.
type GateInfo struct {
	ID         string
	Parent     string
	CustomInfo CustomInfo
}

// GateID returns the gate's id.
func (g *GateInfo) GateID() string { return g.ID }

// ParentID returns the gate's parent_id.
func (g *GateInfo) ParentID() string { return g.Parent }

func (g *GateInfo) info() *GateInfo { return g }

// RectangleGate holds events with Min <= x < Max in every dimension (a range when it has one
// dimension). A missing Min is -Inf and a missing Max +Inf, so +Inf is never inside.
type RectangleGate struct {
	GateInfo
	Dimensions []RectangleDimension
}

// RectangleDimension is a dimension of a RectangleGate with its limits; a nil limit is
// unbounded.
type RectangleDimension struct {
	Dimension
	Min, Max *float64
}

// PolygonGate holds the events inside a polygon in two dimensions, by the even-odd rule; events
// on an edge or a vertex are inside.
type PolygonGate struct {
	GateInfo
	Dimensions [2]Dimension
	Vertices   [][2]float64
}

// EllipsoidGate holds the events x with (x - Mean)^T Covariance^-1 (x - Mean) <=
// DistanceSquare, in any number of dimensions.
type EllipsoidGate struct {
	GateInfo
	Dimensions     []Dimension
	Mean           []float64
	Covariance     [][]float64
	DistanceSquare float64
}

// QuadrantGate cuts each divider's dimension at its values into half-open intervals
// [v_k, v_k+1), the first from -Inf and the last to +Inf (excluded); each Quadrant holds the events that fall in the same interval as its position
// on every divider it lists. Results are per Quadrant; the QuadrantGate's own id has none.
type QuadrantGate struct {
	GateInfo
	Dividers  []Divider
	Quadrants []Quadrant
}

// Divider is a gating:divider of a QuadrantGate.
type Divider struct {
	ID string
	Dimension
	Values []float64
}

// Quadrant is a gating:Quadrant: a region of a QuadrantGate named by its position on some or
// all of the dividers.
type Quadrant struct {
	ID        string
	Positions []Position
}

// Position places a Quadrant on one divider: the Quadrant is the interval of the divider that
// contains Location.
type Position struct {
	Divider  string
	Location float64
}

// BoolOp is the operator of a BooleanGate.
type BoolOp string

// The Boolean operators: And and Or take two or more operands, Not exactly one.
const (
	And BoolOp = "and"
	Or  BoolOp = "or"
	Not BoolOp = "not"
)

// BooleanGate combines other gates (or Quadrants), referenced by id.
type BooleanGate struct {
	GateInfo
	Op       BoolOp
	Operands []Operand
}

// Operand is a gateReference: the referenced gate's membership (its parents included), or its
// complement when Complement (use-as-complement) is set.
type Operand struct {
	Ref        string
	Complement bool
}

// Kind returns "RectangleGate".
func (*RectangleGate) Kind() string { return "RectangleGate" }

// Kind returns "PolygonGate".
func (*PolygonGate) Kind() string { return "PolygonGate" }

// Kind returns "EllipsoidGate".
func (*EllipsoidGate) Kind() string { return "EllipsoidGate" }

// Kind returns "QuadrantGate".
func (*QuadrantGate) Kind() string { return "QuadrantGate" }

// Kind returns "BooleanGate".
func (*BooleanGate) Kind() string { return "BooleanGate" }

// Transformation returns the transformation with the given id, or nil.
func (d *Document) Transformation(id string) *Transformation {
	for _, t := range d.Transformations {
		if t.ID == id {
			return t
		}
	}
	return nil
}

// Matrix returns the spectrum matrix with the given id, or nil.
func (d *Document) Matrix(id string) *SpectrumMatrix {
	for _, m := range d.Matrices {
		if m.ID == id {
			return m
		}
	}
	return nil
}

// Gate returns the gate with the given id, or nil. A Quadrant id is not a gate: see ResultIDs.
func (d *Document) Gate(id string) Gate {
	for _, g := range d.Gates {
		if g.GateID() == id {
			return g
		}
	}
	return nil
}

// ResultIDs returns the ids that Apply gives results for, in document order: every gate's id,
// except that a QuadrantGate is replaced by the ids of its Quadrants.
func (d *Document) ResultIDs() []string {
	var ids []string
	for _, g := range d.Gates {
		if q, ok := g.(*QuadrantGate); ok {
			for _, qu := range q.Quadrants {
				ids = append(ids, qu.ID)
			}
			continue
		}
		ids = append(ids, g.GateID())
	}
	return ids
}
