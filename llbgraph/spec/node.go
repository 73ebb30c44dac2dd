package spec

import (
	"strconv"
	"strings"
)

// Pos is a 1-based line and column in the spec file.
type Pos struct {
	// Line is the line, from 1.
	Line int
	// Column is the column, from 1, in characters.
	Column int
}

// Range is the span of a YAML node, from its first character to its last
// line.
type Range struct {
	// Start is the node's first character.
	Start Pos
	// End is on the node's last line, after its last character when known.
	End Pos
}

// IsZero reports whether the range is unknown, as in a spec built in Go.
func (r Range) IsZero() bool { return r.Start.Line == 0 }

// Node is where a mapping of the spec (a stage, a step, a mount, ...) sits:
// its range in the file and its place in the document, from which
// [Node.Path] makes the YAML path that errors name. [Load] fills it;
// [Validate] fills it in a spec built in Go.
type Node struct {
	// Range is the span of the whole mapping.
	Range Range

	up  *Node  // the mapping this one is under
	key string // its key there, or the key of the list it is in
	idx int    // its index in that list, or -1
}

// Path returns the node's YAML path, such as stages.runtime.steps[2]. Keys
// are shortened and escaped, so a path is safe to print.
func (n *Node) Path() string {
	if n == nil {
		return ""
	}
	var segs []*Node
	for p := n; p != nil && p.key != ""; p = p.up {
		segs = append(segs, p)
	}
	var b strings.Builder
	for i := len(segs) - 1; i >= 0; i-- {
		s := segs[i]
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.key)
		if s.idx >= 0 {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.idx))
			b.WriteByte(']')
		}
	}
	return b.String()
}

// Field returns the YAML path of key under the node.
func (n *Node) Field(key string) string {
	if p := n.Path(); p != "" {
		return p + "." + key
	}
	return key
}

// link places n under parent, as key (idx -1) or as entry idx of the list
// under key.
func (n *Node) link(parent *Node, key string, idx int) {
	n.up, n.key, n.idx = parent, key, idx
}

// Or returns r, or fallback when r is unknown: an error about a value the
// user did not write points at the mapping that lacks it.
func (r Range) Or(fallback Range) Range {
	if r.IsZero() {
		return fallback
	}
	return r
}

// keySegment is how a user-chosen key appears in a path: shortened,
// escaped, and quoted when it holds a dot or is empty.
func keySegment(key string) string {
	if key == "" || strings.ContainsAny(key, ".[] ") {
		return Quote(key)
	}
	return Shorten(key)
}
