package llbgraph

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/docker/go-units"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// MaxExpansion bounds the text one ${NAME} expansion may produce. The
// shell lexer's ${A//x/${A}} multiplies lengths; the bound is checked as
// the lexer asks for each value, before it builds the result, so no single
// expansion can allocate more.
const MaxExpansion = 1 << 20

// scope is what ${NAME} sees at one place of a stage: the stage's
// environment so far (its base image's included), then the args, then the
// platform args. As in a Dockerfile, env wins over an arg of the same name.
// A nil env gives the scope of from, platform, arg defaults and copy/mount
// from, which see args and platform args only.
type scope struct {
	c   *compiler
	env []string // NAME=value, later entries win
	// stageArgs are the args the stage declares, NAME=value: after env,
	// before the top-level args.
	stageArgs []string
	// open says that the base image's env is unknown (Evaluate looked no
	// image up): a name found nowhere else may be set there, so it reads as
	// unknown rather than undeclared. An arg is taken to be the arg.
	open    bool
	unknown map[string]bool // env names whose values are unknown
	reads   *[]string       // where the declared args read are recorded, or nil
}

func (c *compiler) scope(env []string) scope { return scope{c: c, env: env} }

// found says where a scope found a name.
type found uint8

const (
	notFound found = iota
	inEnv
	inStageArgs
	inArgs
	inPlatformArgs
	unknownValue // in the base image's unknown env, or set from it
)

// lookup returns the value of name in the scope, and where it is.
func (s scope) lookup(name string) (string, found) {
	s.c.budget.spend(len(s.env))
	if s.unknown[name] {
		return "", unknownValue
	}
	if v, ok := lookupEnv(s.env, name); ok {
		return v, inEnv
	}
	if v, ok := lookupEnv(s.stageArgs, name); ok {
		return v, inStageArgs
	}
	if v, ok := s.c.args[name]; ok {
		return v, inArgs
	}
	if v, ok := lookupEnv(s.c.platformKV, name); ok {
		return v, inPlatformArgs
	}
	if s.open && name != "$" {
		return "", unknownValue
	}
	return "", notFound
}

// record records that the scope's value read the declared arg name.
func (s scope) record(name string) {
	if s.reads != nil {
		*s.reads = append(*s.reads, name)
	}
}

// keys returns every name the scope can see, for suggestions.
func (s scope) keys() []string {
	keys := make([]string, 0, len(s.env)+len(s.stageArgs)+len(s.c.args)+len(s.c.platformKV))
	for _, kvs := range [][]string{s.env, s.stageArgs} {
		for _, kv := range kvs {
			k, _, _ := strings.Cut(kv, "=")
			keys = append(keys, k)
		}
	}
	for k := range s.c.args {
		keys = append(keys, k)
	}
	for _, kv := range s.c.platformKV {
		k, _, _ := strings.Cut(kv, "=")
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return slices.Compact(keys)
}

func lookupEnv(env []string, key string) (string, bool) {
	if i := envIndex(env, key); i >= 0 {
		_, v, _ := strings.Cut(env[i], "=")
		return v, true
	}
	return "", false
}

// envIndex returns the index of the last NAME=value entry of env for key,
// or -1.
func envIndex(env []string, key string) int {
	for i := len(env) - 1; i >= 0; i-- {
		if k, _, ok := strings.Cut(env[i], "="); ok && k == key {
			return i
		}
	}
	return -1
}

// replaceRe finds ${NAME/...} and ${NAME//...}, the substitutions whose
// result can be longer than their inputs added up.
var replaceRe = regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*/`)

// getter is the shell lexer's view of a scope for one expansion. It keeps
// an upper bound of the text the lexer can have built so far, and refuses
// a value that would take the bound past MaxExpansion (the lexer then sees
// an empty value, and expand reports the limit).
type getter struct {
	s        scope
	multiply bool // the word has ${NAME/pattern/replacement}
	bound    int
	over     bool
	unknown  bool     // a name read has an unknown value
	args     []string // the declared args read
}

// Get returns the value of key.
func (g *getter) Get(key string) (string, bool) {
	v, where := g.s.lookup(key)
	switch where {
	case notFound:
		return "", false
	case unknownValue:
		g.unknown = true
	case inArgs:
		g.args = append(g.args, key)
	}
	add := len(v)
	if g.multiply {
		// a replacement repeats what was built so far once per character
		add = (len(v) + 1) * (g.bound + 1)
	}
	if g.over || g.bound+add > MaxExpansion {
		g.over = true
		return "", true
	}
	g.bound += add
	return v, true
}

// Keys returns the names the scope sees.
func (g *getter) Keys() []string { return g.s.keys() }

var _ shell.EnvGetter = (*getter)(nil)

// expand interpolates ${NAME} in word, the value of key of node n at r,
// with BuildKit's shell lexer. Quotes are literal (YAML has already
// unquoted the value) and a backslash escapes the next character, so \$ is
// a literal $. A name the scope does not know is an error, with a
// suggestion, rather than a silent empty string.
func (s scope) expand(n *spec.Node, key string, r spec.Range, word string) (string, error) {
	v, err := s.expandValue(n, key, r, word)
	return v.Text, err
}

// expandValue is expand, returning the value with where it is written and
// whether it reads an unknown name.
func (s scope) expandValue(n *spec.Node, key string, r spec.Range, word string) (Value, error) {
	val := Value{Raw: word, Text: word, Node: n, Key: key, Range: r}
	if !spec.NeedsExpansion(word) {
		return val, nil
	}
	lex := shell.NewLex('\\')
	lex.SkipProcessQuotes = true
	g := &getter{s: s, multiply: replaceRe.MatchString(word), bound: len(word)}
	res, err := lex.ProcessWordWithMatches(word, g)
	if g.over {
		return val, s.c.errorf(n, key, r, "expanding %s would make more than %s of text; the limit for one value is %s", spec.Quote(word), units.BytesSize(MaxExpansion), units.BytesSize(MaxExpansion))
	}
	if err != nil && g.unknown {
		// ${NAME:?message} on a name the base image may set
		val.Text, val.Unknown = "", true
		return val, nil
	}
	if err != nil {
		if e := spec.CheckBraces(word); e != nil {
			err = e
		}
		return val, s.c.errorf(n, key, r, "cannot expand %s: %v", spec.Quote(word), err)
	}
	if len(res.Unmatched) > 0 {
		names := make([]string, 0, len(res.Unmatched))
		for k := range res.Unmatched {
			names = append(names, k)
		}
		sort.Strings(names)
		name := names[0]
		if name == "$" {
			return val, s.c.errorf(n, key, r, "$$ is not supported in %s: write \\$ for a literal $", spec.Quote(word))
		}
		hint := "declare it under args (with an empty default if it may be unset)"
		if s.env != nil {
			hint += ", or set it with env before this point"
		}
		return val, s.c.errorf(n, key, r, "${%s} is not declared%s: %s", spec.Shorten(name), spec.DidYouMean(name, s.keys()), hint)
	}
	if err := s.c.budget.spend(len(res.Result)); err != nil {
		return val, s.c.errorf(n, key, r, "%v", err)
	}
	sort.Strings(g.args)
	for _, name := range slices.Compact(g.args) {
		s.record(name)
	}
	val.Text, val.Unknown = res.Result, g.unknown
	return val, nil
}

// expandList expands each value of a list field.
func (s scope) expandList(n *spec.Node, key string, list []spec.String) ([]string, error) {
	out := make([]string, len(list))
	for i, w := range list {
		v, err := s.expand(n, fmt.Sprintf("%s[%d]", key, i), w.Range, w.Value)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// runArgs returns the args a run-like step gets as environment, NAME=value,
// leaving out those the stage's env sets: every arg the stage declares, in
// declaration order, as a Dockerfile RUN gets every ARG in scope; then
// each top-level arg and platform arg that the script mentions as $NAME or
// ${NAME...} (referencedArgs).
func (s scope) runArgs(script string) []string {
	var out []string
	for _, kv := range s.stageArgs {
		k, _, _ := strings.Cut(kv, "=")
		if _, shadowed := lookupEnv(s.env, k); !shadowed {
			out = append(out, kv)
		}
		// many args in scope of many runs: the budget stops it, linearly
		if s.c.budget.spend(len(s.env)+len(kv)) != nil {
			break
		}
	}
	return append(out, s.referencedArgs(script)...)
}

// referencedArgs returns NAME=value for each top-level arg and platform
// arg that a shell script mentions as $NAME or ${NAME...}, unless the
// stage's env or args set that name, in declaration order. Runs get
// exactly these as environment variables, so changing an arg re-runs only
// the steps that read it: the cache-busting arg busts what mentions it and
// nothing else. One pass over the script, whatever the number of args.
func (s scope) referencedArgs(script string) []string {
	if !strings.Contains(script, "$") {
		return nil
	}
	s.c.budget.spend(len(script))
	type mention struct {
		order int
		kv    string
	}
	var out []mention
	seen := map[string]bool{}
	for _, name := range spec.ScriptNames(script) {
		if seen[name] {
			continue
		}
		seen[name] = true
		if _, shadowed := lookupEnv(s.env, name); shadowed {
			continue
		}
		if _, staged := lookupEnv(s.stageArgs, name); staged {
			continue
		}
		if i, ok := s.c.argOrder[name]; ok {
			out = append(out, mention{i, name + "=" + s.c.args[name]})
			s.record(name)
		} else if i := envIndex(s.c.platformKV, name); i >= 0 {
			// after the declared args, in the order the build sets them
			out = append(out, mention{len(s.c.argOrder) + i, s.c.platformKV[i]})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].order < out[j].order })
	kvs := make([]string, len(out))
	for i, f := range out {
		kvs[i] = f.kv
	}
	return kvs
}
