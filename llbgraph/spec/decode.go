package spec

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

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
// error needs it.
type loc struct {
	up  *Node
	key string
	idx int
}

func (l loc) path() string {
	p := l.up.Field(l.key)
	if l.idx >= 0 {
		p += "[" + strconv.Itoa(l.idx) + "]"
	}
	return p
}

func (l loc) at(i int) loc          { return loc{up: l.up, key: l.key, idx: i} }
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

// fieldInfo is the yaml-tagged fields of a struct type, embedded structs
// inlined.
type fieldInfo struct {
	byKey   map[string][]int // key -> field index path
	keys    []string
	empty   map[string]bool // keys whose empty string means something
	nodeIdx []int           // the Node field, or nil
}

var fieldCache sync.Map // reflect.Type -> *fieldInfo

var (
	nodeType = reflect.TypeFor[Node]()
	portType = reflect.TypeFor[Port]()
)

func fieldsOf(t reflect.Type) *fieldInfo {
	if fi, ok := fieldCache.Load(t); ok {
		return fi.(*fieldInfo)
	}
	fi := &fieldInfo{byKey: map[string][]int{}, empty: map[string]bool{}}
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			idx := append(append([]int{}, prefix...), i)
			switch {
			case f.Type == nodeType:
				if prefix == nil {
					fi.nodeIdx = idx
				}
				continue
			case f.Anonymous && f.Type.Kind() == reflect.Struct:
				walk(f.Type, idx)
				continue
			}
			tag, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if tag == "" || tag == "-" {
				continue
			}
			fi.byKey[tag] = idx
			fi.keys = append(fi.keys, tag)
			fi.empty[tag] = opts == "empty"
		}
	}
	walk(t, nil)
	fieldCache.Store(t, fi)
	return fi
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
	fi := fieldsOf(v.Type())
	var node *Node
	if fi.nodeIdx != nil {
		node = v.FieldByIndex(fi.nodeIdx).Addr().Interface().(*Node)
		l.link(node)
		node.Range = nodeRange(n)
	}
	for _, e := range entries {
		fl := loc{up: l.up, key: joinKey(l, e.key), idx: -1} // a struct without a Node
		if node != nil {
			fl = under(node, e.key)
		}
		idx, ok := fi.byKey[e.key]
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
			d.errorf(fl, e.keyN, "unknown key %s%s; valid keys here: %s", Quote(e.key), DidYouMean(e.key, fi.keys), strings.Join(fi.keys, ", "))
			continue
		}
		d.decodeValue(fl, e.value, v.FieldByIndex(idx), depth+1, fi.empty[e.key])
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

// decodeValue decodes node n at l into v. emptyOK says whether an empty
// string is a meaningful value of this field.
func (d *decoder) decodeValue(l loc, n *yaml.Node, v reflect.Value, depth int, emptyOK bool) {
	if depth > maxDepth {
		d.errorf(l, n, "nested more than %d levels deep; the limit is %d", maxDepth, maxDepth)
		return
	}
	if n = d.visit(l, n); n == nil {
		return
	}
	if isNull(n) {
		return // null leaves the zero value: "not set"
	}
	d.decodeNode(l, n, v, depth, emptyOK)
}

// decodeNode decodes the resolved, non-null node n at l into v.
func (d *decoder) decodeNode(l loc, n *yaml.Node, v reflect.Value, depth int, emptyOK bool) {
	switch t := v.Addr().Interface().(type) {
	case *String:
		if s, ok := d.scalar(l, n, "a string"); ok {
			if s == "" && !emptyOK {
				d.errorf(l, n, "%s must not be empty; leave the key out instead", l.lastKey())
				return
			}
			*t = String{Value: s, Range: nodeRange(n)}
		}
	case *[]String:
		*t = d.strings(l, n, "a string or a list of strings")
	case *Bool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			d.errorf(l, n, "want true or false, got %s", describe(n))
			return
		}
		b, _ := strconv.ParseBool(strings.ToLower(n.Value))
		*t = Bool{Value: b, Range: nodeRange(n)}
	case *Int:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
			d.errorf(l, n, "want a whole number, got %s", describe(n))
			return
		}
		i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 32)
		if err != nil {
			d.errorf(l, n, "want a whole number that fits in 32 bits, got %s", Shorten(n.Value))
			return
		}
		*t = Int{Value: int(i), Range: nodeRange(n)}
	case *Command:
		d.command(l, n, t)
	case *Vars:
		*t = d.vars(l, n, depth)
	case *Stages:
		*t = d.stages(l, n, depth)
	case *[]Step:
		*t = d.steps(l, n, depth)
	default:
		if d.parsed(l, n, v) {
			return
		}
		switch v.Kind() {
		case reflect.Pointer:
			p := reflect.New(v.Type().Elem())
			d.decodeNode(l, n, p.Elem(), depth, emptyOK)
			if !p.Elem().IsZero() {
				v.Set(p)
			}
		case reflect.Slice:
			if n.Kind == yaml.ScalarNode && v.Type().Elem() == portType {
				// one port is a list of one, as one string is elsewhere
				s := reflect.MakeSlice(v.Type(), 1, 1)
				d.decodeNode(l.at(0), n, s.Index(0), depth+1, emptyOK)
				v.Set(s)
				return
			}
			if n.Kind != yaml.SequenceNode {
				d.errorf(l, n, "want a list, got %s", describe(n))
				return
			}
			s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
			for i, e := range n.Content {
				d.decodeValue(l.at(i), e, s.Index(i), depth+1, emptyOK)
			}
			v.Set(s)
		case reflect.Struct:
			d.decodeStruct(l, n, v, depth)
		default:
			panic(fmt.Sprintf("spec: no decoder for %s", v.Type())) // a programming error, caught by tests
		}
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

// strings decodes a list of scalars; one scalar is a one-item list.
func (d *decoder) strings(l loc, n *yaml.Node, want string) []String {
	if n.Kind != yaml.SequenceNode {
		if s, ok := d.scalar(l, n, want); ok {
			return []String{{Value: s, Range: nodeRange(n)}}
		}
		return nil
	}
	out := make([]String, 0, len(n.Content))
	for i, e := range n.Content {
		el := l.at(i)
		if e = d.visit(el, e); e == nil {
			return out
		}
		if s, ok := d.scalar(el, e, "a string"); ok {
			out = append(out, String{Value: s, Range: nodeRange(e)})
		}
	}
	return out
}

// command decodes a string (shell form) or a list of strings (exec form).
func (d *decoder) command(l loc, n *yaml.Node, out *Command) {
	out.Range = nodeRange(n)
	if n.Kind == yaml.SequenceNode {
		out.IsExec = true
		out.Exec = make([]string, 0, len(n.Content))
		for i, e := range n.Content {
			el := l.at(i)
			if e = d.visit(el, e); e == nil {
				return
			}
			if s, ok := d.scalar(el, e, "a string"); ok {
				out.Exec = append(out.Exec, s)
			}
		}
		return
	}
	if s, ok := d.scalar(l, n, "a command (a string or a list of strings)"); ok {
		out.Shell = s
	}
}

// vars decodes an ordered mapping of names to scalars; null is "".
func (d *decoder) vars(l loc, n *yaml.Node, depth int) Vars {
	entries, ok := d.mapping(l, n, depth)
	if !ok {
		return nil
	}
	out := make(Vars, 0, len(entries))
	for _, e := range entries {
		el := loc{up: l.up, key: joinKey(l, keySegment(e.key)), idx: -1}
		val := d.visit(el, e.value)
		if val == nil {
			continue
		}
		s := ""
		if !isNull(val) {
			var ok bool
			if s, ok = d.scalar(el, val, "a string"); !ok {
				continue
			}
		}
		out = append(out, Var{Name: e.key, NameRange: nodeRange(e.keyN), Value: s, Range: nodeRange(val).Or(nodeRange(e.keyN))})
	}
	return out
}

// stages decodes the stages mapping, keeping each stage's key position.
func (d *decoder) stages(l loc, n *yaml.Node, depth int) Stages {
	entries, ok := d.mapping(l, n, depth)
	if !ok {
		return nil
	}
	out := make(Stages, 0, len(entries))
	for _, e := range entries {
		st := &Stage{Name: e.key, NameRange: nodeRange(e.keyN)}
		sl := loc{up: l.up, key: "stages." + keySegment(e.key), idx: -1}
		sl.link(&st.Node)
		st.Node.Range = st.NameRange
		if v := d.visit(sl, e.value); v != nil && !isNull(v) {
			d.decodeStruct(sl, v, reflect.ValueOf(st).Elem(), depth+1)
			if st.Node.Range.IsZero() || v.Kind != yaml.MappingNode {
				st.Node.Range = st.NameRange
			}
		}
		out = append(out, st)
	}
	return out
}

// steps decodes a list of steps; each step's kind is the one kind key it
// has.
func (d *decoder) steps(l loc, n *yaml.Node, depth int) []Step {
	if n.Kind != yaml.SequenceNode {
		d.errorf(l, n, "want a list of steps, got %s", describe(n))
		return nil
	}
	out := make([]Step, 0, len(n.Content))
	for i, e := range n.Content {
		el := l.at(i)
		if e = d.visit(el, e); e == nil {
			return out
		}
		if s := d.step(el, e, depth+1); s != nil {
			out = append(out, s)
		}
	}
	return out
}

func (d *decoder) step(l loc, n *yaml.Node, depth int) Step {
	if depth > maxDepth {
		d.errorf(l, n, "nested more than %d levels deep; the limit is %d", maxDepth, maxDepth)
		return nil
	}
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		d.errorf(l, n, "want a step (a mapping), got the string %s: write `- run: ...`", Quote(n.Value))
		return nil
	}
	entries, ok := d.mapping(l, n, depth)
	if !ok {
		return nil
	}
	var kinds []StepKind
	for _, e := range entries {
		if k := StepKind(e.key); k != KindEnv && isStepKind(k) {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) == 0 {
		for _, e := range entries {
			if e.key == string(KindEnv) {
				kinds = append(kinds, KindEnv)
			}
		}
	}
	switch {
	case len(kinds) == 0:
		d.errorf(l, n, "a step needs one of %s", oneOf(stepKinds))
		return nil
	case len(kinds) > 1:
		names := make([]string, len(kinds))
		for i, k := range kinds {
			names[i] = string(k)
		}
		d.errorf(l, n, "a step does one thing, this one has %s: split it into one step each", strings.Join(names, " and "))
		return nil
	}
	kind := kinds[0]
	s := newStep(kind)
	d.decodeEntries(l, n, entries, reflect.ValueOf(s).Elem(), depth, func(e entry) bool {
		switch e.key {
		case "mounts", "network", "env":
			at := under(s.StepNode(), e.key)
			if e.key == "env" {
				d.errorf(at, e.keyN, "env beside %s is not allowed: env goes beside run or a preset, or in a step of its own", kind)
			} else {
				d.errorf(at, e.keyN, "%s applies to %s steps only, not to %s", e.key, oneOf(runLikeKinds), kind)
			}
			return true
		}
		return false
	})
	return s
}

func isStepKind(k StepKind) bool { return slices.Contains(stepKinds, k) }

// parsed decodes the value types that Load parses: it reports whether v
// is one of them.
func (d *decoder) parsed(l loc, n *yaml.Node, v reflect.Value) bool {
	var text string
	want := "a string"
	switch v.Addr().Interface().(type) {
	case *Mode:
		want = "an octal mode such as 0755"
	case *Size, *Duration, *Owner, *Port, *Signal, *Platform, *Chmod:
	case *MountType, *Sharing, *Network:
	case *HealthTest:
		var c Command
		d.command(l, n, &c)
		args, err := ParseHealthTest(&c)
		if err != nil {
			d.errorf(l, n, "%v", err)
			return true
		}
		*v.Addr().Interface().(*HealthTest) = HealthTest{Args: args, Range: nodeRange(n)}
		return true
	default:
		return false
	}
	text, ok := d.scalar(l, n, want)
	if !ok {
		return true
	}
	r := nodeRange(n)
	var err error
	switch t := v.Addr().Interface().(type) {
	case *Mode:
		var m Mode
		m.Value, err = ParseMode(text)
		m.Range = r
		*t = m
	case *Size:
		var s Size
		s.Value, err = ParseSize(text)
		s.Range = r
		*t = s
	case *Duration:
		var du Duration
		du.Value, err = ParseDuration(text)
		du.Range = r
		*t = du
	case *Owner:
		o := Owner{Raw: text}
		if !NeedsExpansion(text) {
			o, err = ParseOwner(text)
		}
		o.Range = r
		*t = o
	case *Port:
		p := Port{Raw: text}
		if !NeedsExpansion(text) {
			p, err = ParsePort(text)
		}
		p.Range = r
		*t = p
	case *Signal:
		if !NeedsExpansion(text) {
			err = ParseSignal(text)
		}
		*t = Signal{Raw: text, Range: r}
	case *Platform:
		p := Platform{Raw: text, Range: r}
		if !NeedsExpansion(text) {
			p.Value, err = ParsePlatform(text)
		}
		*t = p
	case *Chmod:
		c := Chmod{Raw: text}
		if !NeedsExpansion(text) {
			c, err = ParseChmod(text)
		}
		c.Range = r
		*t = c
	case *MountType:
		*t = MountType{Value: MountKind(text), Range: r}
		err = checkEnum(t.Value, mountKinds, "mount type")
	case *Sharing:
		*t = Sharing{Value: SharingMode(text), Range: r}
		err = checkEnum(t.Value, sharingModes, "sharing")
	case *Network:
		*t = Network{Value: NetworkMode(text), Range: r}
		err = checkEnum(t.Value, networkModes, "network")
	}
	if err != nil {
		d.errorf(l, n, "%v", err)
	}
	return true
}

// checkEnum checks that v is one of options.
func checkEnum[T ~string](v T, options []T, what string) error {
	if slices.Contains(options, v) {
		return nil
	}
	names := make([]string, len(options))
	for i, o := range options {
		names[i] = string(o)
	}
	return fmt.Errorf("unknown %s %s%s: want %s", what, Quote(string(v)), DidYouMean(string(v), names), oneOf(options))
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
