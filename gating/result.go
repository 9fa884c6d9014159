package gating

import (
	"bufio"
	"io"
	"math/bits"
)

// Result is what Apply finds: one GateResult per result id, in document order (see
// Document.ResultIDs).
type Result struct {
	Events int // events in the sample
	Gates  []GateResult
	byID   map[string]int
}

// GateResult is the membership of one gate or Quadrant.
type GateResult struct {
	ID string
	// Kind is the gate's element name ("RectangleGate", ...); "Quadrant" for a Quadrant.
	Kind string
	// QuadrantGate is the id of the QuadrantGate a Quadrant belongs to; "" otherwise.
	QuadrantGate string
	// Parent is the parent's result id ("" for none); ParentCount is its Count, or Events
	// when there is no parent, so that 100 * Count / ParentCount is the percentage of parent.
	Parent      string
	ParentCount int
	Count       int // events in the gate, its parents included
	Members     *Membership
}

// Gate returns the result with the given id (a gate or a Quadrant id), or nil.
func (r *Result) Gate(id string) *GateResult {
	if i, ok := r.byID[id]; ok {
		return &r.Gates[i]
	}
	return nil
}

// Membership is a set of events, one bit per event in file order.
type Membership struct {
	n     int
	words []uint64
}

func newMembership(n int) *Membership {
	return &Membership{n: n, words: make([]uint64, (n+63)/64)}
}

// Len returns the number of events of the sample, in the set or not.
func (m *Membership) Len() int { return m.n }

// Contains reports whether event i (0-based, file order) is in the set.
func (m *Membership) Contains(i int) bool {
	if i < 0 || i >= m.n {
		return false
	}
	return m.words[i>>6]&(1<<(uint(i)&63)) != 0
}

// Count returns the number of events in the set.
func (m *Membership) Count() int {
	c := 0
	for _, w := range m.words {
		c += bits.OnesCount64(w)
	}
	return c
}

// Values returns one byte per event in file order, 1 for a member and 0 otherwise, appended
// to dst[:0].
func (m *Membership) Values(dst []byte) []byte {
	dst = dst[:0]
	for i := 0; i < m.n; i++ {
		dst = append(dst, byte(m.words[i>>6]>>(uint(i)&63)&1))
	}
	return dst
}

// Indices returns the 0-based indices of the members in increasing order, appended to
// dst[:0]: the events to export for a gated population.
func (m *Membership) Indices(dst []int) []int {
	dst = dst[:0]
	for wi, w := range m.words {
		for w != 0 {
			dst = append(dst, wi*64+bits.TrailingZeros64(w))
			w &= w - 1
		}
	}
	return dst
}

// WriteTo writes one line per event in file order, "1" for a member and "0" otherwise: the
// format of the ISAC compliance suite's result files.
func (m *Membership) WriteTo(w io.Writer) (int64, error) {
	bw := bufio.NewWriterSize(w, 1<<16)
	line := [2]byte{'0', '\n'}
	var n int64
	for i := 0; i < m.n; i++ {
		line[0] = '0' + byte(m.words[i>>6]>>(uint(i)&63)&1)
		k, err := bw.Write(line[:])
		n += int64(k)
		if err != nil {
			return n, err
		}
	}
	return n, bw.Flush()
}

// and, or and not combine sets of the same length word by word.
func (m *Membership) and(o *Membership) {
	for i := range m.words {
		m.words[i] &= o.words[i]
	}
}

func (m *Membership) or(o *Membership) {
	for i := range m.words {
		m.words[i] |= o.words[i]
	}
}

func (m *Membership) not() {
	for i := range m.words {
		m.words[i] = ^m.words[i]
	}
	m.clearTail()
}

// clearTail zeroes the bits past the last event.
func (m *Membership) clearTail() {
	if r := m.n & 63; r != 0 {
		m.words[len(m.words)-1] &= 1<<uint(r) - 1
	}
}

func (m *Membership) clone() *Membership {
	return &Membership{n: m.n, words: append([]uint64(nil), m.words...)}
}
