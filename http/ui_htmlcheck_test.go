package http_test

import (
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// A tiny CSS selector engine for checking pages by structure rather than by strings (after
// pkgsite's internal/testing/htmlcheck). A selector is compound selectors separated by
// descendant (space) or child (>) combinators; a compound selector is an optional tag name
// followed by any of #id, .class, [attr], [attr=value], [attr^=value] and [attr*=value]
// (values may be quoted). That covers what the page tests need; anything else panics, so that
// a typo cannot pass silently.

// simpleSel is one compound selector.
type simpleSel struct {
	tag     string
	id      string
	classes []string
	attrs   []attrSel
	child   bool // joined to the previous compound by '>'
}

type attrSel struct {
	name, op, value string // op: "", "=", "^=", "*="
}

// parseSelector parses sel into its compound selectors, outermost first.
func parseSelector(sel string) []simpleSel {
	var out []simpleSel
	child := false
	for _, part := range splitSelector(sel) {
		if part == ">" {
			child = true
			continue
		}
		s := simpleSel{child: child}
		child = false
		i := 0
		readName := func() string {
			j := i
			for j < len(part) && !strings.ContainsRune("#.[", rune(part[j])) {
				j++
			}
			name := part[i:j]
			i = j
			return name
		}
		s.tag = readName()
		for i < len(part) {
			c := part[i]
			i++
			switch c {
			case '#':
				s.id = readName()
			case '.':
				s.classes = append(s.classes, readName())
			case '[':
				end := strings.IndexByte(part[i:], ']')
				if end < 0 {
					panic("selector: unclosed [ in " + sel)
				}
				body := part[i : i+end]
				i += end + 1
				a := attrSel{name: body}
				for _, op := range []string{"^=", "*=", "="} {
					if k := strings.Index(body, op); k > 0 {
						a = attrSel{name: body[:k], op: op, value: strings.Trim(body[k+len(op):], `"'`)}
						break
					}
				}
				s.attrs = append(s.attrs, a)
			default:
				panic("selector: unexpected " + string(c) + " in " + sel)
			}
		}
		out = append(out, s)
	}
	return out
}

// splitSelector splits on spaces and '>' outside brackets.
func splitSelector(sel string) []string {
	var parts []string
	var b strings.Builder
	depth := 0
	flush := func() {
		if b.Len() > 0 {
			parts = append(parts, b.String())
			b.Reset()
		}
	}
	for _, c := range sel {
		switch {
		case c == '[':
			depth++
			b.WriteRune(c)
		case c == ']':
			depth--
			b.WriteRune(c)
		case depth == 0 && c == ' ':
			flush()
		case depth == 0 && c == '>':
			flush()
			parts = append(parts, ">")
		default:
			b.WriteRune(c)
		}
	}
	flush()
	return parts
}

func attr(n *html.Node, name string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val, true
		}
	}
	return "", false
}

func (s simpleSel) matches(n *html.Node) bool {
	if n.Type != html.ElementNode || (s.tag != "" && s.tag != "*" && n.Data != s.tag) {
		return false
	}
	if s.id != "" {
		if v, _ := attr(n, "id"); v != s.id {
			return false
		}
	}
	if len(s.classes) > 0 {
		v, _ := attr(n, "class")
		have := strings.Fields(v)
		for _, c := range s.classes {
			found := false
			for _, h := range have {
				found = found || h == c
			}
			if !found {
				return false
			}
		}
	}
	for _, a := range s.attrs {
		v, ok := attr(n, a.name)
		switch {
		case !ok:
			return false
		case a.op == "=" && v != a.value,
			a.op == "^=" && !strings.HasPrefix(v, a.value),
			a.op == "*=" && !strings.Contains(v, a.value):
			return false
		}
	}
	return true
}

// matchesPath reports whether n matches the last compound of sels with its ancestors
// matching the rest.
func matchesPath(n *html.Node, sels []simpleSel) bool {
	last := sels[len(sels)-1]
	if !last.matches(n) {
		return false
	}
	if len(sels) == 1 {
		return true
	}
	rest := sels[:len(sels)-1]
	for p := n.Parent; p != nil; p = p.Parent {
		if matchesPath(p, rest) {
			return true
		}
		if last.child {
			return false
		}
	}
	return false
}

// queryAll returns the elements under root (root included) that match sel, in document order.
func queryAll(root *html.Node, sel string) []*html.Node {
	sels := parseSelector(sel)
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if matchesPath(n, sels) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	return out
}

// query returns the first element matching sel, or nil.
func query(root *html.Node, sel string) *html.Node {
	if all := queryAll(root, sel); len(all) > 0 {
		return all[0]
	}
	return nil
}

// mustQuery returns the first element matching sel and fails the test when there is none.
func mustQuery(tb testing.TB, root *html.Node, sel string) *html.Node {
	tb.Helper()
	n := query(root, sel)
	if n == nil {
		tb.Fatalf("no element matches %q", sel)
	}
	return n
}

// textOf returns the text of n and its descendants with runs of white space collapsed.
func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// parseHTML parses a page.
func parseHTML(tb testing.TB, body string) *html.Node {
	tb.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		tb.Fatalf("parse HTML: %v", err)
	}
	return doc
}

func TestSelector(t *testing.T) {
	doc := parseHTML(t, `<div id="a" class="x y"><p class="y"><span data-k="v1">one</span></p><span data-k="w">two</span></div><span>three</span>`)
	tests := []struct {
		sel  string
		want []string // texts of the matches
	}{
		{"span", []string{"one", "two", "three"}},
		{"#a span", []string{"one", "two"}},
		{"#a > span", []string{"two"}},
		{"div.x.y > p.y span", []string{"one"}},
		{".y", []string{"onetwo", "one"}},
		{"span[data-k]", []string{"one", "two"}},
		{"span[data-k=w]", []string{"two"}},
		{`span[data-k^="v"]`, []string{"one"}},
		{"span[data-k*=1]", []string{"one"}},
		{"p > #a", nil},
		{"div.z", nil},
	}
	for _, tc := range tests {
		t.Run(tc.sel, func(t *testing.T) {
			var got []string
			for _, n := range queryAll(doc, tc.sel) {
				got = append(got, textOf(n))
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
