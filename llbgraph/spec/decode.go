package spec

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// MaxNodes bounds how many YAML nodes one spec may decode to, counting every
// expansion of an alias: an alias bomb stops here instead of eating memory.
const MaxNodes = 200_000

// maxDepth bounds nesting, so that deeply nested flow collections fail
// cleanly.
const maxDepth = 64

// decoder turns a goccy/go-yaml AST into spec types strictly: unknown keys,
// wrong types and bad aliases are errors, all collected, each with its YAML
// path and position. It fills each struct's Node field with positions.
type decoder struct {
	filename string
	errs     *errorList
	anchors  map[string]ast.Node
	budget   int
	overrun  bool
}

func newDecoder(filename string, errs *errorList) *decoder {
	return &decoder{filename: filename, errs: errs, anchors: map[string]ast.Node{}, budget: MaxNodes}
}

func (d *decoder) errorf(path string, n ast.Node, format string, args ...any) {
	d.errs.add(newError(d.filename, path, nodeRange(n), format, args...))
}

// collectAnchors records every &anchor of the document, so that an alias
// may refer to an anchor under a key the decoder skips (x-*).
func (d *decoder) collectAnchors(n ast.Node) {
	ast.Walk(anchorVisitor(d.anchors), n)
}

type anchorVisitor map[string]ast.Node

// Visit records n when it is an anchor.
func (v anchorVisitor) Visit(n ast.Node) ast.Visitor {
	if a, ok := n.(*ast.AnchorNode); ok && a.Name != nil {
		v[a.Name.GetToken().Value] = a.Value
	}
	return v
}

// resolve looks through anchors, aliases and tags to the node that holds the
// value. It returns nil for a missing node or a bad alias (reported).
func (d *decoder) resolve(path string, n ast.Node) ast.Node {
	for i := 0; n != nil; i++ {
		if i > maxDepth {
			d.errorf(path, n, "aliases refer to each other too deeply")
			return nil
		}
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.TagNode:
			n = v.Value
		case *ast.AliasNode:
			name := ""
			if v.Value != nil {
				name = v.Value.GetToken().Value
			}
			target, ok := d.anchors[name]
			if !ok {
				d.errorf(path, n, "unknown alias *%s: no anchor &%s is defined", name, name)
				return nil
			}
			n = target
		default:
			return n
		}
	}
	return nil
}

// spend charges one node to the budget and reports whether decoding may go on.
func (d *decoder) spend(path string, n ast.Node) bool {
	if d.overrun {
		return false
	}
	d.budget--
	if d.budget < 0 {
		d.overrun = true
		d.errorf(path, n, "the spec expands to more than %d YAML nodes (an alias bomb?); simplify its anchors and aliases", MaxNodes)
		return false
	}
	return !d.errs.full()
}

// decode decodes node n at YAML path into v, which must be settable.
func (d *decoder) decode(path string, n ast.Node, v reflect.Value, depth int) {
	if depth > maxDepth {
		d.errorf(path, n, "nested more than %d levels deep", maxDepth)
		return
	}
	if !d.spend(path, n) {
		return
	}
	orig := n
	n = d.resolve(path, n)
	if n == nil {
		return
	}
	if _, ok := n.(*ast.NullNode); ok {
		// null leaves the zero value, "not set"; a struct still learns
		// where it is, so that errors about it have a position
		if v.Kind() == reflect.Struct {
			if fi := fieldsOf(v.Type()); fi.node >= 0 {
				v.Field(fi.node).Set(reflect.ValueOf(Node{Path: path, Range: nodeRange(n)}))
			}
		}
		return
	}
	switch t := v.Addr().Interface().(type) {
	case *Vars:
		d.decodeVars(path, n, t)
		return
	case *Stages:
		d.decodeStages(path, n, t, depth)
		return
	case *Command:
		d.decodeCommand(path, n, t)
		return
	case *[]string:
		*t = d.decodeStrings(path, n)
		return
	}
	switch v.Kind() {
	case reflect.String:
		if s, ok := d.scalar(path, n, "a string"); ok {
			v.SetString(s)
		}
	case reflect.Bool:
		b, ok := n.(*ast.BoolNode)
		if !ok {
			d.errorf(path, n, "want true or false, got %s", describe(n))
			return
		}
		v.SetBool(b.Value)
	case reflect.Int:
		if _, ok := n.(*ast.IntegerNode); !ok {
			d.errorf(path, n, "want a whole number, got %s", describe(n))
			return
		}
		i, err := strconv.ParseInt(n.GetToken().Value, 0, 32)
		if err != nil {
			d.errorf(path, n, "want a whole number, got %s", n.GetToken().Value)
			return
		}
		v.SetInt(i)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		d.decode(path, orig, p.Elem(), depth+1)
		v.Set(p)
	case reflect.Slice:
		seq, ok := n.(*ast.SequenceNode)
		if !ok {
			d.errorf(path, n, "want a list, got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(seq.Values), len(seq.Values))
		for i, e := range seq.Values {
			d.decode(fmt.Sprintf("%s[%d]", path, i), e, s.Index(i), depth+1)
		}
		v.Set(s)
	case reflect.Struct:
		d.decodeStruct(path, n, v, depth)
	default:
		panic(fmt.Sprintf("spec: no decoder for %s", v.Type())) // a programming error, caught by tests
	}
}

// entry is one key of a mapping, after merge keys (<<) are expanded.
type entry struct {
	key      string
	keyNode  ast.Node
	value    ast.Node
	fromBase bool
}

// mapping returns the entries of a mapping node in order, with the entries of
// merge keys (<<: *base) added where the mapping does not set the key itself.
func (d *decoder) mapping(path string, n ast.Node) ([]entry, bool) {
	var values []*ast.MappingValueNode
	switch m := n.(type) {
	case *ast.MappingNode:
		values = m.Values
	case *ast.MappingValueNode:
		values = []*ast.MappingValueNode{m}
	default:
		d.errorf(path, n, "want a mapping, got %s", describe(n))
		return nil, false
	}
	var out, merged []entry
	own := map[string]bool{}
	for _, mv := range values {
		if _, ok := mv.Key.(*ast.MergeKeyNode); ok {
			merged = append(merged, d.mergeEntries(path, mv.Value)...)
			continue
		}
		key, ok := d.scalarKey(path, mv.Key)
		if !ok {
			continue
		}
		own[key] = true
		out = append(out, entry{key: key, keyNode: mv.Key, value: mv.Value})
	}
	for _, e := range merged {
		if !own[e.key] {
			own[e.key] = true
			out = append(out, e)
		}
	}
	return out, true
}

func (d *decoder) mergeEntries(path string, v ast.Node) []entry {
	v = d.resolve(path, v)
	var srcs []ast.Node
	if seq, ok := v.(*ast.SequenceNode); ok {
		srcs = seq.Values
	} else if v != nil {
		srcs = []ast.Node{v}
	}
	var out []entry
	for _, s := range srcs {
		if !d.spend(path, s) {
			return out
		}
		es, ok := d.mapping(path+".<<", d.resolve(path, s))
		if !ok {
			continue
		}
		for _, e := range es {
			e.fromBase = true
			out = append(out, e)
		}
	}
	return out
}

func (d *decoder) scalarKey(path string, k ast.Node) (string, bool) {
	switch k.(type) {
	case *ast.StringNode, *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
		return scalarText(k), true
	}
	if mk, ok := k.(*ast.MappingKeyNode); ok {
		return d.scalarKey(path, mk.Value)
	}
	d.errorf(path, k, "a key must be a plain string, got %s", describe(k))
	return "", false
}

// fieldInfo is the yaml-tagged fields of a struct type.
type fieldInfo struct {
	byKey map[string]int
	keys  []string
	node  int // index of the Node field, or -1
}

var fieldCache sync.Map // reflect.Type -> *fieldInfo

var nodeType = reflect.TypeFor[Node]()

func fieldsOf(t reflect.Type) *fieldInfo {
	if fi, ok := fieldCache.Load(t); ok {
		return fi.(*fieldInfo)
	}
	fi := &fieldInfo{byKey: map[string]int{}, node: -1}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Type == nodeType {
			fi.node = i
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "" || tag == "-" {
			continue
		}
		fi.byKey[tag] = i
		fi.keys = append(fi.keys, tag)
	}
	fieldCache.Store(t, fi)
	return fi
}

func (d *decoder) decodeStruct(path string, n ast.Node, v reflect.Value, depth int) {
	fi := fieldsOf(v.Type())
	if _, isStep := v.Addr().Interface().(*Step); isStep {
		if str, ok := n.(*ast.StringNode); ok {
			d.errorf(path, n, "want a step (a mapping), got the string %q: write `- run: %s`", truncate(str.Value, 40), truncate(str.Value, 40))
			v.Field(fi.node).Set(reflect.ValueOf(Node{Path: path, Range: nodeRange(n), invalid: true}))
			return
		}
	}
	entries, ok := d.mapping(path, n)
	if !ok {
		if fi.node >= 0 { // reported; the validator leaves it alone
			v.Field(fi.node).Set(reflect.ValueOf(Node{Path: path, Range: nodeRange(n), invalid: true}))
		}
		return
	}
	node := Node{Path: path, Range: nodeRange(n), fields: make(map[string]Range, len(entries))}
	for _, e := range entries {
		sub := joinPath(path, e.key)
		idx, ok := fi.byKey[e.key]
		if !ok {
			if depth == 0 && strings.HasPrefix(e.key, "x-") {
				continue // extension keys hold anchors for reuse
			}
			d.errorf(sub, e.keyNode, "unknown key %q%s; valid keys here: %s", e.key, didYouMean(e.key, fi.keys), strings.Join(fi.keys, ", "))
			continue
		}
		node.fields[e.key] = nodeRange(e.value)
		before := len(d.errs.errs) + d.errs.dropped
		d.decode(sub, e.value, v.Field(idx), depth+1)
		if len(d.errs.errs)+d.errs.dropped != before {
			if node.bad == nil {
				node.bad = map[string]bool{}
			}
			node.bad[e.key] = true
		}
	}
	if fi.node >= 0 {
		v.Field(fi.node).Set(reflect.ValueOf(node))
	}
}

func (d *decoder) decodeVars(path string, n ast.Node, out *Vars) {
	entries, ok := d.mapping(path, n)
	if !ok {
		return
	}
	vars := make(Vars, 0, len(entries))
	for _, e := range entries {
		sub := joinPath(path, e.key)
		if !d.spend(sub, e.value) {
			return
		}
		val := d.resolve(sub, e.value)
		if val == nil {
			continue
		}
		s := ""
		if _, null := val.(*ast.NullNode); !null {
			var ok bool
			if s, ok = d.scalar(sub, val, "a string"); !ok {
				continue
			}
		}
		vars = append(vars, Var{Name: e.key, Value: s, Range: nodeRange(val)})
	}
	*out = vars
}

func (d *decoder) decodeStages(path string, n ast.Node, out *Stages, depth int) {
	entries, ok := d.mapping(path, n)
	if !ok {
		return
	}
	stages := make(Stages, 0, len(entries))
	for _, e := range entries {
		st := &Stage{Name: e.key}
		sub := joinPath(path, e.key)
		d.decode(sub, e.value, reflect.ValueOf(st).Elem(), depth+1)
		if st.Node.Path == "" { // null or not a mapping: still a stage, for later checks
			st.Node = Node{Path: sub, Range: nodeRange(e.keyNode)}
		}
		stages = append(stages, st)
	}
	*out = stages
}

func (d *decoder) decodeCommand(path string, n ast.Node, out *Command) {
	out.Range = nodeRange(n)
	if seq, ok := n.(*ast.SequenceNode); ok {
		out.IsExec = true
		out.Exec = d.decodeStrings(path, seq)
		if out.Exec == nil {
			out.Exec = []string{}
		}
		return
	}
	if s, ok := d.scalar(path, n, "a command (a string or a list of strings)"); ok {
		out.Shell = s
	}
}

// decodeStrings decodes a list of scalars; one scalar is a one-item list.
func (d *decoder) decodeStrings(path string, n ast.Node) []string {
	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		if s, ok := d.scalar(path, n, "a string or a list of strings"); ok {
			return []string{s}
		}
		return nil
	}
	out := make([]string, 0, len(seq.Values))
	for i, e := range seq.Values {
		sub := fmt.Sprintf("%s[%d]", path, i)
		if !d.spend(sub, e) {
			return out
		}
		e = d.resolve(sub, e)
		if e == nil {
			continue
		}
		if s, ok := d.scalar(sub, e, "a string"); ok {
			out = append(out, s)
		}
	}
	return out
}

// scalar returns the text of a scalar node. Numbers and booleans keep the
// text they were written with (3.10 stays "3.10"), so `PYTHON_VERSION: 3.10`
// means what it says.
func (d *decoder) scalar(path string, n ast.Node, want string) (string, bool) {
	switch n.(type) {
	case *ast.StringNode, *ast.LiteralNode, *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode,
		*ast.InfinityNode, *ast.NanNode:
		return scalarText(n), true
	}
	d.errorf(path, n, "want %s, got %s", want, describe(n))
	return "", false
}

func scalarText(n ast.Node) string {
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value
	case *ast.LiteralNode:
		if v.Value != nil {
			return v.Value.Value
		}
		return ""
	}
	return n.GetToken().Value
}

// describe names a node's kind for "want X, got Y" messages.
func describe(n ast.Node) string {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.StringNode, *ast.LiteralNode:
		return fmt.Sprintf("the string %q", truncate(scalarText(n), 40))
	case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "the number " + n.GetToken().Value
	case *ast.BoolNode:
		return "the boolean " + n.GetToken().Value
	case *ast.NullNode:
		return "null"
	}
	return "a " + strings.ToLower(n.Type().String())
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// nodeRange returns where n starts and the last line it reaches.
func nodeRange(n ast.Node) Range {
	if n == nil {
		return Range{}
	}
	start := startPos(n)
	end := endPos(n, 0)
	if end.Line < start.Line {
		end = start
	}
	return Range{Start: start, End: end}
}

func startPos(n ast.Node) Pos {
	switch v := n.(type) {
	case *ast.MappingNode:
		if len(v.Values) > 0 {
			return startPos(v.Values[0])
		}
	case *ast.MappingValueNode:
		return startPos(v.Key)
	case *ast.MappingKeyNode:
		if v.Value != nil {
			return startPos(v.Value)
		}
	case *ast.AnchorNode:
		if v.Start != nil {
			return tokenPos(v.Start)
		}
	}
	return tokenPos(n.GetToken())
}

func endPos(n ast.Node, depth int) Pos {
	if n == nil || depth > maxDepth {
		return Pos{}
	}
	switch v := n.(type) {
	case *ast.MappingNode:
		if len(v.Values) > 0 {
			return endPos(v.Values[len(v.Values)-1], depth+1)
		}
	case *ast.MappingValueNode:
		return endPos(v.Value, depth+1)
	case *ast.SequenceNode:
		if len(v.Values) > 0 {
			return endPos(v.Values[len(v.Values)-1], depth+1)
		}
	case *ast.AnchorNode:
		return endPos(v.Value, depth+1)
	case *ast.TagNode:
		return endPos(v.Value, depth+1)
	case *ast.LiteralNode:
		p := tokenPos(v.Start)
		if v.Value != nil {
			p.Line += strings.Count(strings.TrimRight(v.Value.Value, "\n"), "\n") + 1
		}
		return p
	}
	p := tokenPos(n.GetToken())
	if t := n.GetToken(); t != nil {
		p.Column += len(t.Value)
	}
	return p
}

func tokenPos(t *token.Token) Pos {
	if t == nil || t.Position == nil {
		return Pos{}
	}
	return Pos{Line: t.Position.Line, Column: t.Position.Column}
}
