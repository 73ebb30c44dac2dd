package spec

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// The YAML parser words an indentation mistake as "value is not allowed in
// this context", and a `: ` inside a plain value as "mapping value is not
// allowed in this context". syntaxHint reads the lines around the error
// instead, as a person would, and says which key is out of place and what
// it should align with, or that the value needs quotes. Only the common
// shapes are recognised; anything else keeps the parser's words.

// yamlLevel is one level of block structure a line opens: a "- " list
// item, or a key of a mapping.
type yamlLevel struct {
	col    int    // the 1-based column of the "-" or the key
	seq    bool   // a "- " list item
	key    string // the key, for a mapping level
	value  int    // the byte offset in the line where the key's value starts
	inline bool   // the key's value is on its line, so nothing nests under it
	first  string // the mapping's first key, as ancestors finds it
}

var plainKeyRe = regexp.MustCompile(`^([^\s#\[\]{}"'|>&*!%@` + "`" + `?,-][^#]*?|-[^\s#][^#]*?):(?:\s|$)`)

// lineLevels returns the levels line opens: the "- " indicators it starts
// with, then its key, if it has one. A blank line, a comment, or a line
// holding neither opens none.
func lineLevels(line string) []yamlLevel {
	var out []yamlLevel
	i := 0
	for {
		for i < len(line) && line[i] == ' ' {
			i++
		}
		if i < len(line) && line[i] == '-' && (i+1 == len(line) || line[i+1] == ' ') {
			out = append(out, yamlLevel{col: i + 1, seq: true})
			i++
			continue
		}
		break
	}
	rest := line[i:]
	key, n := "", 0
	if m := plainKeyRe.FindStringSubmatch(rest); m != nil {
		key, n = strings.TrimSpace(m[1]), len(m[1])+1
	} else if len(rest) > 0 && (rest[0] == '"' || rest[0] == '\'') {
		if end := strings.IndexByte(rest[1:], rest[0]); end >= 0 && strings.HasPrefix(rest[end+2:], ":") {
			key, n = rest[1:end+1], end+3
		}
	}
	if n == 0 {
		return out
	}
	v := i + n
	for v < len(line) && line[v] == ' ' {
		v++
	}
	value := strings.TrimSpace(stripComment(line[v:]))
	inline := value != "" && !strings.ContainsAny(value[:1], "&!|>") // an anchor or a tag may head a block
	return append(out, yamlLevel{col: utf8.RuneCountInString(line[:i]) + 1, key: key, value: v, inline: inline})
}

// structural reports, for each line, whether it holds the block structure
// of the document: not the text of a block scalar (run: |), nor a line
// inside a flow collection ([...] and {...} over several lines).
func structural(lines []string) []bool {
	out := make([]bool, len(lines))
	blockCol, depth := 0, 0 // blockCol: the column content of an open block scalar must pass
	for i, line := range lines {
		indent := len(line) - len(strings.TrimLeft(line, " "))
		blank := strings.TrimSpace(line) == ""
		if blockCol > 0 && (blank || indent >= blockCol) {
			continue
		}
		blockCol = 0
		out[i] = depth == 0
		depth = max(depth+flowDepthChange(line), 0)
		if lv := lineLevels(line); len(lv) > 0 && depth == 0 {
			last := lv[len(lv)-1]
			v := strings.TrimSpace(stripComment(line[min(last.value, len(line)):]))
			if last.seq {
				v = strings.TrimSpace(line[last.col:])
			}
			if v != "" && (v[0] == '|' || v[0] == '>') {
				blockCol = last.col
			}
		}
	}
	return out
}

// flowDepthChange counts the [ and { a line opens less those it closes,
// outside quotes and comments.
func flowDepthChange(line string) int {
	d := 0
	var quote byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#' && (i == 0 || line[i-1] == ' '):
			return d
		case c == '[' || c == '{':
			d++
		case c == ']' || c == '}':
			d--
		}
	}
	return d
}

// stripComment cuts a plain value's line at a comment: " #" ends it.
func stripComment(s string) string {
	if strings.HasPrefix(s, "#") {
		return ""
	}
	if i := strings.Index(s, " #"); i >= 0 {
		return s[:i]
	}
	return s
}

// ancestors returns the levels that enclose line l (0-based), from the
// innermost out: those of the nearest structural line above it, then of
// each line above that starts further left.
func ancestors(lines []string, isStruct []bool, l int) []yamlLevel {
	var chain []yamlLevel
	minCol := int(^uint(0) >> 1)
	for i := l - 1; i >= 0 && minCol > 1; i-- {
		if strings.TrimRight(lines[i], " ") == "---" {
			break
		}
		if !isStruct[i] {
			continue
		}
		lv := lineLevels(lines[i])
		for _, x := range lv {
			if n := len(chain); n > 0 && !x.seq && !chain[n-1].seq && x.col == minCol {
				chain[n-1].first = x.key // an earlier key of the same mapping
			}
		}
		if len(lv) == 0 || lv[0].col >= minCol {
			continue
		}
		for j := len(lv) - 1; j >= 0; j-- {
			if lv[j].col < minCol {
				chain = append(chain, lv[j])
				minCol = lv[j].col
			}
		}
	}
	return chain
}

// levelTypes returns the spec type of each level of chain (innermost
// first, as ancestors returns it): the type of the mapping a key level is
// in, or of the list a "-" level is in; nil where the spec has no type.
func levelTypes(chain []yamlLevel) []reflect.Type {
	types := make([]reflect.Type, len(chain))
	if len(chain) == 0 || chain[len(chain)-1].seq || chain[len(chain)-1].col != 1 {
		return types
	}
	t := reflect.TypeFor[Spec]()
	for i := len(chain) - 1; i >= 0 && t != nil; i-- {
		types[i] = t
		if chain[i].seq {
			t = elemType(t)
		} else {
			t = fieldType(t, chain[i].key)
		}
	}
	return types
}

var (
	stepType   = reflect.TypeFor[Step]()
	stagesType = reflect.TypeFor[Stages]()
)

func deref(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// fieldType returns the type of key's value in a mapping of type t.
func fieldType(t reflect.Type, key string) reflect.Type {
	switch t = deref(t); {
	case t == nil:
		return nil
	case t == stagesType:
		return reflect.TypeFor[Stage]()
	case t == stepType && isStepKind(StepKind(key)):
		t = reflect.TypeOf(newStep(StepKind(key))).Elem()
	case t == stepType:
		t = reflect.TypeFor[RunOptions]()
	case t.Kind() != reflect.Struct:
		return nil
	}
	f, ok := fieldsOf(t).byKey[key]
	if !ok {
		return nil
	}
	return t.FieldByIndex(f.index).Type
}

// elemType returns the type of the items of a list of type t.
func elemType(t reflect.Type) reflect.Type {
	if t = deref(t); t == nil || t.Kind() != reflect.Slice || t == stagesType {
		return nil
	}
	return t.Elem()
}

// takesKey reports whether a mapping of type t has key.
func takesKey(t reflect.Type, key string) bool {
	switch t = deref(t); {
	case t == nil:
		return false
	case t == stepType:
		return isStepKind(StepKind(key)) || fieldsOf(reflect.TypeFor[RunOptions]()).byKey[key] != nil
	case t.Kind() == reflect.Struct:
		return fieldsOf(t).byKey[key] != nil
	}
	return false
}

// itemNoun names an item of a list of type t: the step's "-".
func itemNoun(t reflect.Type) string {
	switch deref(elemType(t)) {
	case stepType:
		return "step"
	case reflect.TypeFor[Mount]():
		return "mount"
	}
	return "list item"
}

// syntaxHint returns a better message for the YAML syntax error the
// parser reports at p, and where it points, or false.
func syntaxHint(text []byte, p Pos) (Pos, string, bool) {
	lines := strings.Split(string(text), "\n")
	for i := range lines {
		lines[i] = strings.TrimSuffix(lines[i], "\r")
	}
	l := p.Line - 1
	if l < 0 || l >= len(lines) {
		return Pos{}, "", false
	}
	isStruct := structural(lines)
	lv := lineLevels(lines[l])
	switch {
	case len(lv) > 0 && lv[0].seq && lv[0].col == p.Column:
		return misalignedDash(lines, isStruct, l, lv[0])
	case len(lv) == 1 && !lv[0].seq && lv[0].col == p.Column:
		return misaligned(lines, isStruct, l, lv[0])
	case len(lv) > 0 && !lv[len(lv)-1].seq && utf8.RuneCountInString(lines[l][:lv[len(lv)-1].value])+1 == p.Column:
		return colonInValue(lines, isStruct, l, lv)
	}
	return Pos{}, "", false
}

// misaligned explains a key that lines up with no level above it: with a
// list item's "-", or between two levels.
func misaligned(lines []string, isStruct []bool, l int, k yamlLevel) (Pos, string, bool) {
	chain := ancestors(lines, isStruct, l)
	types := levelTypes(chain)
	at := Pos{Line: l + 1, Column: k.col}
	switch {
	case len(chain) == 0:
		return Pos{}, "", false
	case k.col > chain[0].col && !chain[0].seq && chain[0].inline:
		return at, Quote(k.key) + " is indented more than " + Quote(chain[0].key) + " above it, whose value is on its line; " + alignWith(chain[0], k.col), true
	case k.col >= chain[0].col:
		return Pos{}, "", false
	}
	var maps []int // the key levels, innermost first
	for i, lv := range chain {
		if lv.col == k.col && !lv.seq {
			return Pos{}, "", false // aligned already: the mistake is elsewhere
		}
		if !lv.seq {
			maps = append(maps, i)
		}
	}
	if len(maps) == 0 {
		return Pos{}, "", false
	}
	// The level to align with: the nearest one whose mapping takes the
	// key, else the nearest one further right (the key fell short of it).
	best := -1
	for _, i := range maps {
		if takesKey(types[i], k.key) && (best < 0 || abs(chain[i].col-k.col) < abs(chain[best].col-k.col)) {
			best = i
		}
	}
	if best < 0 {
		for _, i := range maps {
			if chain[i].col > k.col {
				best = i
			}
		}
	}
	if best < 0 {
		return Pos{}, "", false
	}
	move := alignWith(chain[best], k.col)
	for i, lv := range chain {
		if lv.seq && lv.col == k.col {
			return at, Quote(k.key) + " is indented like the " + itemNoun(types[i]) + "'s \"-\"; " + move, true
		}
	}
	return at, Quote(k.key) + " at column " + strconv.Itoa(k.col) + " lines up with no key above it; " + move, true
}

// misalignedDash explains a list item's "-" that lines up with no "-"
// above it: it should align with the nearest one.
func misalignedDash(lines []string, isStruct []bool, l int, dash yamlLevel) (Pos, string, bool) {
	chain := ancestors(lines, isStruct, l)
	types := levelTypes(chain)
	best := -1
	for i, lv := range chain {
		if lv.col == dash.col {
			return Pos{}, "", false // aligned already: the mistake is elsewhere
		}
		if lv.seq && (best < 0 || abs(lv.col-dash.col) < abs(chain[best].col-dash.col)) {
			best = i
		}
	}
	if best < 0 {
		return Pos{}, "", false
	}
	return Pos{Line: l + 1, Column: dash.col}, `the "-" at column ` + strconv.Itoa(dash.col) + ` lines up with no "-" above it; ` + moveTo(dash.col, chain[best].col, "the "+itemNoun(types[best])+`'s "-"`), true
}

// alignWith says how to move a key at column col to level lv.
func alignWith(lv yamlLevel, col int) string {
	key := lv.key
	if lv.first != "" {
		key = lv.first
	}
	return moveTo(col, lv.col, Quote(key))
}

// moveTo says how to move what is at column col to column to, where what
// is.
func moveTo(col, to int, what string) string {
	verb := "indent it"
	if to < col {
		verb = "move it back"
	}
	return verb + " to align with " + what + " (column " + strconv.Itoa(to) + ")"
}

var keyLikeRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)

// colonInValue explains a plain value that YAML cannot read because a
// ": " follows it: a colon in the value itself (run: echo building: now),
// or a key on a later line indented further than the key above it, whose
// value it continues.
func colonInValue(lines []string, isStruct []bool, l int, lv []yamlLevel) (Pos, string, bool) {
	k := lv[len(lv)-1]
	if i := colonAt(lines[l], k.value); i >= 0 {
		value := strings.TrimSpace(stripComment(lines[l][k.value:]))
		return colonHint(lines, isStruct, l, lv, l, i, value)
	}
	for j := l + 1; j < len(lines); j++ {
		line := lines[j]
		trimmed := strings.TrimLeft(line, " ")
		if trimmed == "" || trimmed[0] == '#' {
			continue
		}
		indent := len(line) - len(trimmed)
		if indent < k.col {
			return Pos{}, "", false // not a continuation of the value
		}
		i := colonAt(line, indent)
		if i < 0 {
			continue
		}
		if key := strings.TrimSpace(line[indent:i]); keyLikeRe.MatchString(key) {
			at := Pos{Line: j + 1, Column: indent + 1}
			return at, Quote(key) + " is indented more than " + Quote(k.key) + " above it, so YAML reads it as more of the value of " + Quote(k.key) + "; " + alignWith(k, indent+1), true
		}
		return colonHint(lines, isStruct, l, lv, j, i, "")
	}
	return Pos{}, "", false
}

// colonAt returns the byte offset of the first ": " (or a ':' ending the
// line) in line from offset from, before any comment, or -1.
func colonAt(line string, from int) int {
	s := stripComment(line[from:])
	for i := 0; i < len(s); i++ {
		if s[i] == ':' && (i+1 == len(s) || s[i+1] == ' ' || s[i+1] == '\t') {
			return from + i
		}
	}
	return -1
}

// colonHint says to quote the value of the last key of lv, on line l,
// which holds ": " at byte offset i of line cl. value is the value when it
// is on one line, to show it quoted.
func colonHint(lines []string, isStruct []bool, l int, lv []yamlLevel, cl, i int, value string) (Pos, string, bool) {
	k := lv[len(lv)-1]
	chain := slices.Clone(lv)
	slices.Reverse(chain)
	types := levelTypes(append(chain, ancestors(lines, isStruct, l)...))
	what := "value"
	switch deref(fieldType(types[0], k.key)) {
	case reflect.TypeFor[Command](), reflect.TypeFor[HealthTest]():
		what = "command"
	}
	msg := `": " in the ` + what + ` of ` + Quote(k.key) + ` makes YAML read a key there; quote the ` + what
	if value != "" {
		msg += ` (` + k.key + `: ` + QuoteYAML(Shorten(value)) + `)`
	}
	at := Pos{Line: cl + 1, Column: utf8.RuneCountInString(lines[cl][:i]) + 1}
	return at, msg + ` or write it as a block (` + k.key + `: |, then the ` + what + ` on the next line, indented)`, true
}

func abs(n int) int { return max(n, -n) }

// misplacedKey returns a hint for entry i of a mapping of type t, a key
// the mapping does not take, when the block just above it does: the key
// was meant for the last item of the list the previous key holds (a
// `mounts:` aligned with its step's "-" in a list that is not indented),
// or for the mapping it holds. It returns "" otherwise.
func misplacedKey(t reflect.Type, entries []entry, i int) string {
	if i == 0 {
		return ""
	}
	e, prev := entries[i], entries[i-1]
	v, pt := prev.value, fieldType(t, prev.key)
	if v == nil || pt == nil || v.Style&yaml.FlowStyle != 0 || prev.keyN.Line >= e.keyN.Line || prev.keyN.Column != e.keyN.Column {
		return "" // not the block just above in the file (a merge key's, say)
	}
	what := Quote(prev.key)
	if v.Kind == yaml.SequenceNode && len(v.Content) > 0 {
		v, pt, what = v.Content[len(v.Content)-1], elemType(pt), "the "+itemNoun(pt)
	}
	if v.Kind != yaml.MappingNode || v.Style&yaml.FlowStyle != 0 || len(v.Content) == 0 || !takesKey(pt, e.key) {
		return ""
	}
	first := v.Content[0]
	return fmt.Sprintf("; %s is a key of %s above it: indent it to align with %s (column %d)", Quote(e.key), what, Quote(first.Value), first.Column)
}

// QuoteYAML writes s as a quoted YAML string that reads back as s: in
// double quotes, or in single quotes when s holds a " or a \.
func QuoteYAML(s string) string {
	if !strings.ContainsAny(s, `"\`) {
		return `"` + s + `"`
	}
	return `'` + strings.ReplaceAll(s, `'`, `''`) + `'`
}
