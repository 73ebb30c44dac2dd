package check

import (
	"fmt"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// run is one pass of the rules over a spec, with what the rules share: the
// stages by name, the args with their defaults, and what each stage
// inherits along its chain of stages.
type run struct {
	s        *spec.Spec
	in       Input
	rule     *Rule
	findings []Finding

	stages  map[string]*spec.Stage
	args    map[string]string
	reached map[*spec.Stage]bool // nil: every stage counts
	images  map[*spec.Stage]*image
}

// image is what a stage's image is known to be from the spec: what it and
// the stages it builds on set.
type image struct {
	user        spec.Owner // the last user set; zero when none is
	userNode    *spec.Node
	entrypoint  *spec.Command // entrypoint or cmd, whichever was set last
	healthcheck bool          // a health check other than NONE
	absWorkdir  bool          // an absolute workdir was set
}

func newRun(s *spec.Spec, in Input) *run {
	r := &run{s: s, in: in, stages: map[string]*spec.Stage{}, args: map[string]string{}, images: map[*spec.Stage]*image{}}
	for _, st := range s.Stages {
		if _, dup := r.stages[st.Name]; !dup {
			r.stages[st.Name] = st
		}
	}
	for _, a := range s.Args {
		r.args[a.Name] = r.expand(a.Value)
	}
	if in.Target != "" {
		r.reached = spec.Reached(s, in.Target, r.expand)
	}
	return r
}

// counts reports whether findings about stage st are wanted.
func (r *run) counts(st *spec.Stage) bool {
	return r.reached == nil || r.reached[st]
}

// report adds a finding of the current rule about key of node n, whose
// value is at at.
func (r *run) report(n *spec.Node, key string, at spec.Range, format string, args ...any) {
	path := n.Path()
	if key != "" {
		path = n.Field(key)
	}
	r.findings = append(r.findings, Finding{Rule: r.rule, Message: spec.Escape(fmt.Sprintf(format, args...)), Path: path, Range: at.Or(n.Range)})
}

// staticEnv is the lexer's view of the args with their defaults: a name
// that is not an arg expands to nothing.
type staticEnv map[string]string

// Get returns an arg's default, or "" for any other name.
func (e staticEnv) Get(key string) (string, bool) {
	return e[key], true
}

// Keys returns the args' names.
func (e staticEnv) Keys() []string {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	return keys
}

// expand reads ${NAME} with the args' defaults, as a build without
// --build-arg would; what the lexer cannot read is left as written.
func (r *run) expand(word string) string {
	if !spec.NeedsExpansion(word) || len(word) > 4096 {
		return word
	}
	lex := shell.NewLex('\\')
	lex.SkipProcessQuotes = true
	res, err := lex.ProcessWordWithMatches(word, staticEnv(r.args))
	if err != nil {
		return word
	}
	return res.Result
}

// referenced returns the names word reads with ${NAME} or $NAME.
func referenced(word string) []string {
	if !strings.Contains(word, "$") || len(word) > 4096 {
		return nil
	}
	lex := shell.NewLex('\\')
	lex.SkipProcessQuotes = true
	res, err := lex.ProcessWordWithMatches(word, staticEnv{})
	if err != nil {
		return spec.ScriptNames(word)
	}
	names := make([]string, 0, len(res.Matched))
	for n := range res.Matched {
		names = append(names, n)
	}
	return names
}

// parent returns the stage st builds on, or nil when it starts from an
// image or scratch.
func (r *run) parent(st *spec.Stage) *spec.Stage {
	if p := r.stages[r.expand(st.From.Value)]; p != st {
		return p
	}
	return nil
}

// imageOf returns what stage st's image is known to be, following its
// from through the stages it builds on.
func (r *run) imageOf(st *spec.Stage) *image {
	if img, ok := r.images[st]; ok {
		if img == nil { // a cycle; Load refuses those, a spec built in Go may not
			return &image{}
		}
		return img
	}
	r.images[st] = nil
	img := &image{}
	if parent := r.parent(st); parent != nil {
		*img = *r.imageOf(parent)
	}
	if r.absolute(st.Workdir.Value) {
		img.absWorkdir = true
	}
	if st.User.IsSet() {
		img.user, img.userNode = st.User, &st.Node
	}
	for _, s := range st.Steps {
		switch s := s.(type) {
		case *spec.UserStep:
			img.user, img.userNode = s.User, &s.Node
		case *spec.WorkdirStep:
			if r.absolute(s.Workdir.Value) {
				img.absWorkdir = true
			}
		}
	}
	if im := st.Image; im != nil {
		if im.Entrypoint != nil && !emptyCommand(im.Entrypoint) {
			img.entrypoint = im.Entrypoint
		} else if im.Cmd != nil && !emptyCommand(im.Cmd) {
			img.entrypoint = im.Cmd
		}
		if hc := im.Healthcheck; hc != nil {
			img.healthcheck = !(len(hc.Test.Args) == 1 && hc.Test.Args[0] == "NONE")
		}
	}
	r.images[st] = img
	return img
}

func emptyCommand(c *spec.Command) bool {
	return strings.TrimSpace(c.String()) == ""
}

// usersOf returns the user each step of st runs as: the inherited user,
// then the stage's, then each user step's.
func (r *run) usersOf(st *spec.Stage) []string {
	user := ""
	if parent := r.parent(st); parent != nil {
		user = r.expand(r.imageOf(parent).user.String())
	}
	if st.User.IsSet() {
		user = r.expand(st.User.String())
	}
	out := make([]string, len(st.Steps))
	for i, s := range st.Steps {
		out[i] = user
		if u, ok := s.(*spec.UserStep); ok {
			user = r.expand(u.User.String())
		}
	}
	return out
}

// absolute reports whether a workdir is, or may be, absolute: one that
// starts with a variable the args do not set (the stage's env, say) is
// given the benefit of the doubt.
func (r *run) absolute(wd string) bool {
	if wd == "" {
		return false
	}
	return strings.HasPrefix(r.expand(wd), "/") || strings.HasPrefix(wd, "$")
}
