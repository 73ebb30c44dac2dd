package convert

import (
	"slices"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"go.yaml.in/yaml/v3"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// How args reach the spec. A Dockerfile ARG is scoped: before the first
// FROM it serves the FROM lines; in a stage it is in scope from its line
// on, for the stage and the stages built FROM it, and every RUN in scope
// gets it as an environment variable. The spec's args are global, and a
// run gets only the args its script names. So every ARG becomes one
// global arg, and each run in an ARG's scope gets it with a run-level
// `env: {NAME: "${NAME}"}` (runEnv), which the spec expands with the
// arg's value, as the Dockerfile's RUN sees it. What that cannot say the
// same way is a gap (gaps.go): different defaults in two stages, an ARG
// after an ENV of the same name, a default that reads an ENV, a variable
// read where its ARG is out of scope.
//
// When the spec gains stage args (#14), runEnv and the global table give
// way to args declared in the stage.

// dockerfileOnlyPlatformArgs are set by the Dockerfile frontend but not by
// the spec.
var dockerfileOnlyPlatformArgs = []string{"TARGETSTAGE", "BUILDOSVERSION", "TARGETOSVERSION"}

// isPlatformArg reports whether a Dockerfile build sets name from the
// platforms (or the target).
func isPlatformArg(name string) bool {
	return spec.IsPlatformArg(name) || slices.Contains(dockerfileOnlyPlatformArgs, name)
}

// argDecl is one spec arg.
type argDecl struct {
	// def is the spec text of its default.
	def string
	// line is the Dockerfile line the default comes from.
	line int
	// meta is whether it is declared before the first FROM.
	meta bool
	// key is its key under args:, which takes the comments of the ARG
	// that declares it first.
	key *yaml.Node
}

// argTable is the spec's args: every ARG name of the Dockerfile but the
// platform args, in the order the Dockerfile first declares them.
type argTable struct {
	order []string
	decl  map[string]*argDecl
}

func newArgTable() *argTable { return &argTable{decl: map[string]*argDecl{}} }

// add declares name with the default def, first declared at line.
func (t *argTable) add(name, def string, line int, meta bool) *argDecl {
	d := &argDecl{def: def, line: line, meta: meta}
	t.decl[name] = d
	t.order = append(t.order, name)
	return d
}

// varKind is what a name is, in scope.
type varKind int

const (
	kindArg varKind = iota + 1 // an ARG in scope: a run gets it
	kindEnv                    // set by ENV: the spec's env has it
)

// scope is what a Dockerfile's expansion sees at one point of a stage
// (besides the base image's environment, which is not known here): the
// ENV variables and the ARGs in scope, as the stage and the stages it is
// built from set them.
type scope struct {
	vars map[string]varKind
	// args are the names of kind arg, in the order they came into scope.
	args []string
	// meta marks the scope of the FROM lines and the defaults of the ARGs
	// before the first FROM, which see the platform args and no image env.
	meta bool
}

func newScope() *scope { return &scope{vars: map[string]varKind{}} }

func (s *scope) clone() *scope {
	out := &scope{vars: make(map[string]varKind, len(s.vars)), args: slices.Clone(s.args), meta: s.meta}
	for k, v := range s.vars {
		out.vars[k] = v
	}
	return out
}

// setArg brings an ARG into scope; an ARG after an ENV of its name is a
// gap, found before.
func (s *scope) setArg(name string) {
	if s.vars[name] == 0 {
		s.vars[name] = kindArg
		s.args = append(s.args, name)
	}
}

// setEnv records an ENV: from here on the name is the environment's (and
// runEnv leaves it out).
func (s *scope) setEnv(name string) { s.vars[name] = kindEnv }

// runEnv is the run-level env that gives a run the args a Dockerfile RUN
// at this point sees as environment: each arg in scope, as ${NAME}. It is
// the one place that says how args reach runs; stage args (#14) replace
// it.
func (s *scope) runEnv() [][2]string {
	out := make([][2]string, 0, len(s.args))
	for _, name := range s.args {
		if s.vars[name] == kindArg {
			out = append(out, [2]string{name, "${" + name + "}"})
		}
	}
	return out
}

// isSpecArg reports whether the spec would give name a value from its args
// where the Dockerfile has none: an arg of the table, or a platform arg.
func (c *converter) isSpecArg(name string) bool {
	_, ok := c.args.decl[name]
	return ok || isPlatformArg(name)
}

// checkRead reports a gap when a word read name at line in scope s and the
// spec would read it differently.
func (c *converter) checkRead(s *scope, name string, line int) {
	switch {
	case !isName(name):
		c.errorf(line, gapQuoting, "$%s cannot be expanded by the spec", name)
	case slices.Contains(dockerfileOnlyPlatformArgs, name):
		c.errorf(line, gapPlatformArg, "reads $%s", name)
	case s.vars[name] != 0:
	case s.meta && spec.IsPlatformArg(name):
	case s.meta:
		c.errorf(line, gapOutOfScope, "reads $%s, which no ARG before the first FROM declares", name)
	case c.isSpecArg(name):
		c.errorf(line, gapOutOfScope, "reads $%s, which this stage does not declare", name)
	}
}

// isName reports whether s is a variable name the spec can expand.
func isName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for _, r := range s {
		if !isNameRune(r) {
			return false
		}
	}
	return true
}

// argCmd converts an ARG: before the first FROM (s.meta) or in a stage.
// It adds the spec args the ARG declares, or checks them against the
// declaration already there, and brings them into scope. It returns the
// args: keys it added, for the ARG's comments.
func (c *converter) argCmd(s *scope, a *instructions.ArgCommand) []*yaml.Node {
	line := startLine(a.Location())
	var keys []*yaml.Node
	for _, kv := range a.Args {
		name := kv.Key
		if isPlatformArg(name) {
			switch {
			case kv.Value != nil || slices.Contains(dockerfileOnlyPlatformArgs, name):
				c.errorf(line, gapPlatformArg, "ARG %s", name)
			case !s.meta:
				s.setArg(name)
			}
			continue
		}
		if !s.meta && s.vars[name] == kindEnv {
			c.errorf(line, gapArgOverEnv, "ARG %s follows ENV %s", name, name)
			continue
		}
		def, hasDef, ok := c.argDefault(s, kv, line)
		d := c.args.decl[name]
		switch {
		case !ok:
		case d == nil:
			d = c.args.add(name, def, line, s.meta)
			d.key = str(name)
			keys = append(keys, d.key)
		case s.meta || d.meta:
			// a stage's ARG without a default takes the one before FROM
			if hasDef && def != d.def {
				c.errorf(line, gapArgDefaults, "ARG %s defaults to %s here and to %s at line %d", name, spec.Quote(def), spec.Quote(d.def), d.line)
			}
		case def != d.def:
			c.errorf(line, gapArgDefaults, "ARG %s defaults to %s here and to %s at line %d", name, spec.Quote(def), spec.Quote(d.def), d.line)
		}
		if s.meta {
			s.vars[name] = kindArg
		} else {
			s.setArg(name)
		}
	}
	return keys
}

// argDefault is the spec text of an ARG's default, read in scope s, and
// whether it has one; "" when it has none. ok is false after an error.
func (c *converter) argDefault(s *scope, kv instructions.KeyValuePairOptional, line int) (def string, hasDef, ok bool) {
	if kv.Value == nil {
		return "", false, true
	}
	w, ok := c.word(s, *kv.Value, line)
	if !ok {
		return "", true, false
	}
	for _, n := range w.names {
		if s.vars[n] == kindEnv {
			c.errorf(line, gapArgFromEnv, "the default of ARG %s reads $%s", kv.Key, n)
			ok = false
		}
	}
	return w.text, true, ok
}

// word converts a Dockerfile word read in scope s at line, and checks every
// name it reads. ok is false after an error.
func (c *converter) word(s *scope, raw string, line int) (word, bool) {
	if c.over() {
		return word{}, false
	}
	c.spend(len(raw) + 16 + expansionCost(raw))
	if c.over() {
		return word{}, false
	}
	w, err := c.lex.specWord(raw)
	if err != nil {
		switch err {
		case errExpansions:
			c.errorf(line, nil, "%s: %v", spec.Quote(raw), err)
		case errQuoting:
			c.errorf(line, gapQuoting, "%s", spec.Quote(raw))
		default:
			c.errorf(line, nil, "%s: %v", spec.Quote(raw), err)
		}
		return word{}, false
	}
	for _, n := range w.names {
		c.checkRead(s, n, line)
	}
	return w, true
}
