package spec

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// decoder turns a YAML node tree into the typed model strictly: unknown
// keys, duplicate keys, wrong types, bad aliases and values that do not
// parse are errors, all collected, each with its YAML path and position.
// Every node it visits, aliases expanded, is charged to a node budget and
// its bytes to a byte budget, so that an alias bomb stops early.
type decoder struct {
	errs    *errorList
	nodes   int // left to visit
	bytes   int // left to read
	stopped bool
}

// loc is where a value goes: under key of the mapping whose node is up, or
// at index idx of the list under that key. Its path is only made when an
// error needs it. empty says that an empty string is a value there, as the
// key's tag says (see [Key]).
type loc struct {
	up    *Node
	key   string
	idx   int
	empty bool
}

func (l loc) path() string {
	p := l.up.Field(l.key)
	if l.idx >= 0 {
		p += "[" + strconv.Itoa(l.idx) + "]"
	}
	return p
}

func (l loc) at(i int) loc          { l.idx = i; return l }
func (l loc) link(n *Node)          { n.link(l.up, l.key, l.idx) }
func under(n *Node, key string) loc { return loc{up: n, key: key, idx: -1} }

func (d *decoder) errorf(l loc, n *yaml.Node, format string, args ...any) {
	if d.errs.full() {
		d.errs.dropped++
		return
	}
	path := l.path()
	d.errs.add(Errorf(d.errs.filename, path, nodeRange(n), format, args...))
	d.markBad(path)
}

// markBad records that the value at path failed to decode, so that
// validation says nothing more about it.
func (d *decoder) markBad(path string) {
	if len(d.errs.skip) < 4*maxErrors {
		d.errs.skip[path] = true
	}
}

// visit charges n to the budgets and resolves an alias to the node it
// names. It returns nil when decoding must stop.
func (d *decoder) visit(l loc, n *yaml.Node) *yaml.Node {
	if d.stopped || n == nil {
		return nil
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			d.errorf(l, n, "unknown alias *%s: define &%s before it", Shorten(n.Value), Shorten(n.Value))
			return nil
		}
		n = n.Alias
	}
	d.nodes--
	if n.Kind == yaml.ScalarNode {
		d.bytes -= len(n.Value)
	}
	switch {
	case d.nodes < 0:
		d.stopped = true
		d.errorf(l, n, "the spec expands to more than %d YAML nodes, counting each use of an alias (an alias bomb?); the limit is %d", MaxNodes, MaxNodes)
		return nil
	case d.bytes < 0:
		d.stopped = true
		d.errorf(l, n, "the spec expands to more than %s of text, counting each use of an alias; the limit is %s", byteSize(MaxExpandedBytes), byteSize(MaxExpandedBytes))
		return nil
	}
	return n
}

// isNull reports whether n is null (`key:`, ~ or null).
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// scalar returns the text of a scalar node; numbers and booleans keep the
// text they were written with (3.10 stays "3.10").
func (d *decoder) scalar(l loc, n *yaml.Node, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		d.errorf(l, n, "want %s, got %s", want, describe(n))
		return "", false
	}
	switch n.ShortTag() {
	case "!!str", "!!int", "!!float", "!!bool", "!!timestamp":
		return n.Value, true
	}
	d.errorf(l, n, "unknown tag %s: want %s", Shorten(n.Tag), want)
	return "", false
}

// describe names a node's kind for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!int", "!!float":
			return "the number " + Shorten(n.Value)
		case "!!bool":
			return "the boolean " + Shorten(n.Value)
		}
		return "the string " + Quote(n.Value)
	}
	return "an alias"
}

// entry is one key of a mapping, after merge keys (<<) are expanded.
type entry struct {
	key   string
	keyN  *yaml.Node
	value *yaml.Node
}

// mapping returns the entries of a mapping node in order, with the
// entries of merge keys (<<: *base) added where the mapping does not set
// the key itself. A key set twice is an error.
func (d *decoder) mapping(l loc, n *yaml.Node, depth int) ([]entry, bool) {
	if n.Kind != yaml.MappingNode {
		d.errorf(l, n, "want a mapping, got %s", describe(n))
		return nil, false
	}
	out := make([]entry, 0, len(n.Content)/2)
	// A small mapping is searched for duplicates; a large one gets a map.
	var seenMap map[string]*yaml.Node
	if len(n.Content) > 32 {
		seenMap = make(map[string]*yaml.Node, len(n.Content)/2)
	}
	seen := func(key string) (*yaml.Node, bool) {
		if seenMap != nil {
			k, ok := seenMap[key]
			return k, ok
		}
		for _, e := range out {
			if e.key == key {
				return e.keyN, true
			}
		}
		return nil, false
	}
	var merged []entry
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merged = append(merged, d.mergeEntries(l, v, depth+1)...)
			continue
		}
		if k.Kind == yaml.AliasNode || k.Kind != yaml.ScalarNode || isNull(k) {
			d.errorf(l, k, "a key must be a plain string, got %s", describe(k))
			continue
		}
		d.bytes -= len(k.Value)
		if prev, dup := seen(k.Value); dup {
			d.errorf(loc{up: l.up, key: joinKey(l, keySegment(k.Value)), idx: -1}, k, "key %s is set twice: first at line %d, column %d", Quote(k.Value), prev.Line, prev.Column)
			continue
		}
		if seenMap != nil {
			seenMap[k.Value] = k
		}
		out = append(out, entry{key: k.Value, keyN: k, value: v})
	}
	for _, e := range merged {
		if _, own := seen(e.key); !own {
			if seenMap != nil {
				seenMap[e.key] = e.keyN
			}
			out = append(out, e)
		}
	}
	return out, true
}

// mergeEntries returns the entries of the mappings a merge key names.
func (d *decoder) mergeEntries(l loc, v *yaml.Node, depth int) []entry {
	if depth > maxDepth {
		d.errorf(l, v, "merge keys nest more than %d levels deep", maxDepth)
		return nil
	}
	v = d.visit(l, v)
	if v == nil {
		return nil
	}
	srcs := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode {
		srcs = v.Content
	}
	var out []entry
	for _, s := range srcs {
		if s = d.visit(l, s); s == nil {
			return out
		}
		es, _ := d.mapping(l, s, depth+1)
		out = append(out, es...)
	}
	return out
}

// decodeStruct decodes a mapping into the struct v, whose Node field (if
// any) is linked at l.
func (d *decoder) decodeStruct(l loc, n *yaml.Node, v reflect.Value, depth int) {
	entries, ok := d.mapping(l, n, depth)
	if !ok {
		return
	}
	d.decodeEntries(l, n, entries, v, depth, nil)
}

// decodeEntries decodes a mapping's entries into the struct v. unknown, if
// not nil, is asked first about keys the struct does not have, for a better
// message than "unknown key".
func (d *decoder) decodeEntries(l loc, n *yaml.Node, entries []entry, v reflect.Value, depth int, unknown func(e entry) bool) {
	ft := fieldsOf(v.Type())
	var node *Node
	if ft.nodeIdx != nil {
		node = v.FieldByIndex(ft.nodeIdx).Addr().Interface().(*Node)
		l.link(node)
		node.Range = nodeRange(n)
	}
	for i, e := range entries {
		fl := loc{up: l.up, key: joinKey(l, e.key), idx: -1} // a struct without a Node
		if node != nil {
			fl = under(node, e.key)
		}
		f, ok := ft.byKey[e.key]
		if !ok {
			if depth == 0 && strings.HasPrefix(e.key, "x-") {
				continue // extension keys hold anchors for reuse
			}
			if unknown != nil && unknown(e) {
				continue
			}
			if node != nil {
				fl = under(node, keySegment(e.key))
			}
			d.errorf(fl, e.keyN, "unknown key %s%s; valid keys here: %s%s", Quote(e.key), DidYouMean(e.key, ft.keys), strings.Join(ft.keys, ", "), misplacedKey(v.Type(), entries, i))
			continue
		}
		fl.empty = f.Empty
		d.decodeValue(fl, e.value, v.FieldByIndex(f.index), depth+1)
	}
}

// joinKey is the key of a field of a Node-less struct decoded at l.
func joinKey(l loc, key string) string {
	p := l.key
	if l.idx >= 0 {
		p += "[" + strconv.Itoa(l.idx) + "]"
	}
	if p == "" {
		return key
	}
	return p + "." + key
}

// resolve returns the node to decode for n at l, an alias resolved, or nil
// when there is none: n is nested too deep, over a budget, or null, which
// leaves the zero value ("not set").
func (d *decoder) resolve(l loc, n *yaml.Node, depth int) *yaml.Node {
	if depth > maxDepth {
		d.errorf(l, n, "nested more than %d levels deep; the limit is %d", maxDepth, maxDepth)
		return nil
	}
	if n = d.visit(l, n); n == nil || isNull(n) {
		return nil
	}
	return n
}

// decodeValue decodes node n at l into v.
func (d *decoder) decodeValue(l loc, n *yaml.Node, v reflect.Value, depth int) {
	if n = d.resolve(l, n, depth); n != nil {
		d.decodeNode(l, n, v, depth)
	}
}

// decodeNode decodes the resolved, non-null node n at l into v: a value
// type decodes itself ([Value]); pointers, lists and structs (read through
// their yaml tags) are what is left.
func (d *decoder) decodeNode(l loc, n *yaml.Node, v reflect.Value, depth int) {
	if val, ok := v.Addr().Interface().(Value); ok {
		val.decodeYAML(d, l, n, depth)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		d.decodeNode(l, n, p.Elem(), depth)
		if !p.Elem().IsZero() {
			v.Set(p)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.errorf(l, n, "want a list, got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, e := range n.Content {
			d.decodeValue(l.at(i), e, s.Index(i), depth+1)
		}
		v.Set(s)
	case reflect.Struct:
		d.decodeStruct(l, n, v, depth)
	default:
		panic(fmt.Sprintf("spec: no decoder for %s", v.Type())) // a programming error, caught by tests
	}
}

// parse decodes a scalar for a value type that Load parses: set gets the
// text and where it is, stores the value, and returns what is wrong with
// it, which is reported at the value.
func (d *decoder) parse(l loc, n *yaml.Node, want string, set func(text string, r Range) error) {
	text, ok := d.scalar(l, n, want)
	if !ok {
		return
	}
	if err := set(text, nodeRange(n)); err != nil {
		d.errorf(l, n, "%v", err)
	}
}

// lastKey is the key a loc's value is under, for messages.
func (l loc) lastKey() string {
	k := l.key
	if i := strings.LastIndexByte(k, '.'); i >= 0 {
		k = k[i+1:]
	}
	return k
}

// nodeRange returns where n starts and where it ends.
func nodeRange(n *yaml.Node) Range {
	if n == nil {
		return Range{}
	}
	start := Pos{Line: n.Line, Column: n.Column}
	end := endPos(n, 0)
	if end.Line < start.Line || (end.Line == start.Line && end.Column < start.Column) {
		end = start
	}
	return Range{Start: start, End: end}
}

// endPos returns where n's text ends: after its last character for a
// one-line scalar, on its last line for a block.
func endPos(n *yaml.Node, depth int) Pos {
	for n != nil && depth <= maxDepth && (n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode || n.Kind == yaml.DocumentNode) && len(n.Content) > 0 {
		n = n.Content[len(n.Content)-1]
		depth++
	}
	if n == nil {
		return Pos{}
	}
	p := Pos{Line: n.Line, Column: n.Column}
	if n.Kind != yaml.ScalarNode {
		return p
	}
	switch n.Style {
	case yaml.LiteralStyle, yaml.FoldedStyle:
		p.Line += strings.Count(strings.TrimRight(n.Value, "\n"), "\n") + 1
		p.Column = 1
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		p.Column += len([]rune(n.Value)) + 2
	default:
		if strings.Contains(n.Value, "\n") {
			p.Line += strings.Count(n.Value, "\n")
			p.Column = 1
		} else {
			p.Column += len([]rune(n.Value))
		}
	}
	return p
}
