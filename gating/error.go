package gating

import (
	"fmt"
	"strings"
)

// Error reports an invalid Gating-ML document, or a document that cannot be applied to a
// sample, naming the element and why.
type Error struct {
	Line    int    // 1-based line of the element in the XML; 0 when not known
	Element string // e.g. `RectangleGate "Range1" dimension 2`; "" for the document
	Message string
}

// Error formats the error as `gating: line 12: RectangleGate "Range1" dimension 2: ...`.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("gating: ")
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Element != "" {
		b.WriteString(e.Element)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

func errorf(line int, element, format string, args ...any) *Error {
	return &Error{Line: line, Element: element, Message: fmt.Sprintf(format, args...)}
}
