package llbgraph

import (
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// scope is what ${NAME} sees at one place of a stage: the stage's
// environment so far (its base image's included), then the args, then the
// platform args. As in a Dockerfile, env wins over an arg of the same name.
// A nil env gives the scope of from, platform and copy/mount from, which see
// args and platform args only.
type scope struct {
	c   *compiler
	env []string // NAME=value, later entries win
}

var _ shell.EnvGetter = scope{}

// Get returns the value of key.
func (s scope) Get(key string) (string, bool) {
	if v, ok := lookupEnv(s.env, key); ok {
		return v, true
	}
	if v, ok := s.c.args[key]; ok {
		return v, true
	}
	return lookupEnv(s.c.platformKV, key)
}

// Keys returns every name the scope can see.
func (s scope) Keys() []string {
	var keys []string
	for _, kv := range s.env {
		k, _, _ := strings.Cut(kv, "=")
		keys = append(keys, k)
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
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// expand interpolates ${NAME} in the value of key of node n with BuildKit's
// shell lexer. Quotes are literal (YAML has already unquoted the value) and a
// backslash escapes the next character, so \$ is a literal $. A name the
// scope does not know is an error, with a suggestion, rather than a silent
// empty string.
func (s scope) expand(n spec.Node, key, word string) (string, error) {
	if !strings.ContainsAny(word, `$\`) {
		return word, nil
	}
	lex := shell.NewLex('\\')
	lex.SkipProcessQuotes = true
	res, err := lex.ProcessWordWithMatches(word, s)
	if err != nil {
		return "", n.Errorf(s.c.spec.Filename, key, "cannot expand %q: %v", word, err)
	}
	if len(res.Unmatched) > 0 {
		names := make([]string, 0, len(res.Unmatched))
		for k := range res.Unmatched {
			names = append(names, k)
		}
		sort.Strings(names)
		name := names[0]
		if name == "$" {
			return "", n.Errorf(s.c.spec.Filename, key, "$$ is not supported in %q: write \\$ for a literal $", word)
		}
		hint := "declare it under args (with an empty default if it may be unset)"
		if s.env != nil {
			hint += ", or set it with env before this point"
		}
		return "", n.Errorf(s.c.spec.Filename, key, "${%s} is not declared%s: %s", name, suggestName(name, s.Keys()), hint)
	}
	return res.Result, nil
}

// expandAll expands each word of a list field.
func (s scope) expandAll(n spec.Node, key string, words []string) ([]string, error) {
	out := make([]string, len(words))
	for i, w := range words {
		v, err := s.expand(n, key, w)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// referencedArgs returns NAME=value for each arg and platform arg that a
// shell script mentions as $NAME or ${NAME...}, unless the stage env sets
// that name. Runs get exactly these as environment variables, so changing an
// arg re-runs only the steps that read it: the cache-busting arg busts what
// mentions it and nothing else.
func (s scope) referencedArgs(script string) []string {
	if !strings.Contains(script, "$") {
		return nil
	}
	var out []string
	add := func(name, value string) {
		if _, shadowed := lookupEnv(s.env, name); shadowed || !mentions(script, name) {
			return
		}
		out = append(out, name+"="+value)
	}
	for _, a := range s.c.spec.Args {
		add(a.Name, s.c.args[a.Name])
	}
	for _, kv := range s.c.platformKV {
		k, v, _ := strings.Cut(kv, "=")
		add(k, v)
	}
	return out
}

var identRe = regexp.MustCompile(`^[A-Za-z0-9_]`)

// mentions reports whether script contains $name or ${name followed by a
// character that ends a name.
func mentions(script, name string) bool {
	for _, prefix := range []string{"$" + name, "${" + name} {
		for rest := script; ; {
			i := strings.Index(rest, prefix)
			if i < 0 {
				break
			}
			rest = rest[i+len(prefix):]
			if !identRe.MatchString(rest) {
				return true
			}
		}
	}
	return false
}
