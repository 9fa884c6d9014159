// Package gating reads, writes and applies Gating-ML 2.0 documents (ISAC; flow.md sections
// 2-4): compensation, transformations and gates, evaluated on a sample's events.
//
// # Reading and writing
//
// Parse reads a document into a *Document: its Transformations, spectrum Matrices and Gates in
// document order. Elements it does not know are skipped; custom_info is kept, re-serialized
// (see CustomInfo). The document is validated as it is read: unknown references (parent_id,
// gateReference, compensation-ref, transformation-ref, divider_ref), cycles through parents
// and Boolean operands, duplicate ids, a not with two operands, parameters outside their
// limits, singular matrices and the like are refused with an *Error naming the line, the
// element and why. Write writes a document that Parse reads back to an equal one.
//
// # Applying
//
// Apply evaluates every gate on a Sample (an *fcs.DataSet is one) and returns a *Result with
// one GateResult per result id in document order: every gate, except that a QuadrantGate is
// replaced by its Quadrants (its own id has no result). Each GateResult gives the parent's
// id and count (for percentages), the event count and the membership, a bit per event in file
// order (Membership: Contains, Count, Values for 0/1 bytes, Indices, WriteTo for a 0/1 line
// per event).
//
// The semantics are those of the Gating-ML 2.0 specification as flow.md section 4 reads it:
//
//   - Gates see scale values; each dimension is compensated as its compensation-ref says
//     ("uncompensated"; "FCS", the sample's spillover, which means no compensation for a
//     sample without one; or a spectrumMatrix id, including non-square matrices unmixed by
//     least squares and matrices given inverted already), then transformed by its
//     transformation-ref and clamped to that transformation's bounds.
//   - RectangleGate: min <= x < max per dimension, a missing limit -Inf or +Inf (so +Inf, from
//     a ratio with a zero denominator, is never inside, as the compliance suite has it).
//     PolygonGate: the even-odd rule with points on edges and vertices inside, decided by
//     exact orientation tests on the float64 values. EllipsoidGate: (x - mean)^T C^-1 (x - mean) <=
//     distanceSquare in any number of dimensions. QuadrantGate: per Quadrant, the half-open
//     interval of each listed divider that holds its position. BooleanGate: and, or, not,
//     with use-as-complement per operand.
//   - A gate's membership is its own test AND its parent's membership, recursively.
//   - NaN (flog of x <= 0, 0/0 in a ratio) is outside every gate.
//
// All 188 gate cases of the ISAC compliance suite's sets 1-5 match their truth files event
// for event (TestISAC).
//
// Compensation is computed per (matrix, output column) and only for the columns some gate
// needs; every column is computed once per sample however many gates use it. Work is spread
// over the available cores by ranges of events (and parameters are read several at a time:
// a Sample's Scale must be safe for concurrent use), in float64 throughout. Values returns
// the columns of any dimensions, as gates see them, for plots and statistics. Apply and
// Values may run concurrently on one Document.
package gating
