package gating

import "slices"

// Prune returns a document with only the gates that the results ids need: the gates that
// yield them (for a Quadrant id, its QuadrantGate), and recursively the parents and Boolean
// operands of those, in document order. An id that no gate yields is ignored. The
// transformations, spectrum matrices and custom_info are kept as they are, and the gates are
// shared with d, not copied.
//
// A document may hold gates for other purposes, on channels a sample lacks; Apply on the
// pruned document evaluates only what the ids depend on, so they do not stop it, and give the
// ids the same membership as Apply on d. Errors of the pruned document name the lines of d.
func (d *Document) Prune(ids ...string) *Document {
	owner := make(map[string]Gate, len(d.Gates)) // result id -> the gate that yields it
	for _, g := range d.Gates {
		if q, ok := g.(*QuadrantGate); ok {
			for _, qu := range q.Quadrants {
				owner[qu.ID] = g
			}
			continue
		}
		owner[g.GateID()] = g
	}
	need := map[Gate]bool{}
	// An explicit stack rather than recursion: a long chain of parents cannot grow the call
	// stack, and a cycle (in a document not validated) ends when a gate is seen again.
	stack := slices.Clone(ids)
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		g, ok := owner[id]
		if !ok || need[g] {
			continue
		}
		need[g] = true
		if p := g.ParentID(); p != "" {
			stack = append(stack, p)
		}
		if b, ok := g.(*BooleanGate); ok {
			for _, op := range b.Operands {
				stack = append(stack, op.Ref)
			}
		}
	}
	out := &Document{
		Transformations: slices.Clone(d.Transformations),
		Matrices:        slices.Clone(d.Matrices),
		CustomInfo:      d.CustomInfo,
		lines:           d.lines, // read only; its keys are the shared elements
	}
	for _, g := range d.Gates {
		if need[g] {
			out.Gates = append(out.Gates, g)
		}
	}
	return out
}
