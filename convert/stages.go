package convert

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"go.yaml.in/yaml/v3"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// stage is one Dockerfile stage and its spec name.
type stage struct {
	index int
	name  string
	df    *instructions.Stage
	// base is the stage FROM names, with the args' defaults, if any.
	base *stage
	// deps are the stages it reads: its base, --from, RUN --mount from.
	deps []*stage
	// scope is what its expansions see at its end, for the stages built
	// from it.
	scope *scope
}

// plan names the stages, finds what each reads, and keeps the ones target
// reaches (all of them without a target).
func (c *converter) plan(dfStages []instructions.Stage, meta []instructions.ArgCommand, target string) error {
	defaults := c.metaDefaults(meta)
	for i := range dfStages {
		st := &stage{index: i, df: &dfStages[i], name: dfStages[i].Name}
		if st.name == "" {
			st.name = "stage-" + strconv.Itoa(i)
		}
		c.all = append(c.all, st)
		if base, err := shell.NewLex(c.escape).ProcessWordWithMatches(st.df.BaseName, mapEnv(defaults)); err == nil {
			if b := c.byName[base.Result]; b != nil {
				st.base = b
				st.deps = append(st.deps, b)
			}
		}
		for _, cmd := range st.df.Commands {
			for _, from := range fromRefs(cmd) {
				if dep, _ := c.stageRef(from, i); dep != nil {
					st.deps = append(st.deps, dep)
				}
			}
		}
		if dfStages[i].Name != "" {
			c.byName[dfStages[i].Name] = st
		}
	}
	if target == "" {
		c.stages = c.all
		return nil
	}
	t := c.byName[strings.ToLower(target)]
	if t == nil {
		return &Error{File: c.file, Msg: fmt.Sprintf("target %s is not a stage%s", spec.Quote(target), spec.DidYouMean(target, namesOf(c.all)))}
	}
	reached := map[*stage]bool{}
	var walk func(*stage)
	walk = func(s *stage) {
		if !reached[s] {
			reached[s] = true
			for _, d := range s.deps {
				walk(d)
			}
		}
	}
	walk(t)
	for _, st := range c.all {
		if reached[st] {
			c.stages = append(c.stages, st)
		}
	}
	return nil
}

func namesOf(stages []*stage) []string {
	out := make([]string, len(stages))
	for i, s := range stages {
		out[i] = s.name
	}
	return out
}

// fromRefs returns the stages or images an instruction reads besides its
// stage's base: COPY --from and RUN --mount from.
func fromRefs(cmd instructions.Command) []string {
	switch c := cmd.(type) {
	case *instructions.CopyCommand:
		if c.From != "" {
			return []string{c.From}
		}
	case *instructions.RunCommand:
		var out []string
		for _, m := range instructions.GetMounts(c) {
			if m.From != "" {
				out = append(out, m.From)
			}
		}
		return out
	}
	return nil
}

// stageRef resolves a --from value of the stage at index before, as the
// Dockerfile frontend does: a stage index, or a stage name in any case.
// It returns nil for an image, and whether the name is a later stage's
// (or an index of no stage before it).
func (c *converter) stageRef(from string, before int) (st *stage, later bool) {
	if i, err := strconv.Atoi(from); err == nil {
		if i >= 0 && i < before {
			return c.all[i], false
		}
		return nil, true
	}
	st = c.byName[strings.ToLower(from)]
	if st != nil && st.index >= before {
		return nil, true
	}
	return st, false
}

// metaDefaults evaluates the ARGs before the first FROM with their
// defaults and linux/amd64 as the platform, to tell which stage a FROM
// with ${...} names in a build without --build-arg.
func (c *converter) metaDefaults(meta []instructions.ArgCommand) map[string]string {
	env := map[string]string{
		"BUILDPLATFORM": "linux/amd64", "BUILDOS": "linux", "BUILDARCH": "amd64",
		"TARGETPLATFORM": "linux/amd64", "TARGETOS": "linux", "TARGETARCH": "amd64",
	}
	lex := shell.NewLex(c.escape)
	for _, a := range meta {
		for _, kv := range a.Args {
			if kv.Value == nil {
				continue
			}
			if v, err := lex.ProcessWordWithMatches(*kv.Value, mapEnv(env)); err == nil {
				env[kv.Key] = v.Result
			}
		}
	}
	return env
}

// mapEnv is a map as the shell lexer's environment.
type mapEnv map[string]string

func (m mapEnv) Get(k string) (string, bool) { v, ok := m[k]; return v, ok }

func (m mapEnv) Keys() []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// document converts the planned stages into the spec's YAML document.
func (c *converter) document(meta []instructions.ArgCommand, check string) *yaml.Node {
	root := mapping(false)
	put(root, "version", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: "1"})
	metaScope := newScope()
	metaScope.meta = true
	for i := range meta {
		keys := c.argCmd(metaScope, &meta[i])
		c.attach(keys, startLine(meta[i].Location()))
	}
	stages := mapping(false)
	for _, st := range c.stages {
		key, value := c.stage(st, metaScope)
		stages.Content = append(stages.Content, key, value)
	}
	if len(c.args.order) > 0 {
		args := mapping(false)
		for _, name := range c.args.order {
			d := c.args.decl[name]
			args.Content = append(args.Content, d.key, str(d.def))
			c.origin[d.key] = d.line
		}
		put(root, "args", args)
	}
	put(root, "stages", stages)

	doc := &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}
	head := []string{SyntaxLine}
	if len(c.comments.head) > 0 {
		head = append(head, "")
		head = append(head, c.comments.head...)
	}
	if check != "" {
		head = append(head, "", commentText("# The Dockerfile's directive check="+check+" does not carry over: the spec's checks have rules of their own, set with check: (docs/checks.md)."))
	}
	doc.HeadComment = strings.Join(head, "\n")
	if foot := append(c.comments.carry, c.comments.foot...); len(foot) > 0 {
		root.FootComment = strings.Join(foot, "\n")
	}
	return doc
}

// attach puts the comments above the instructions at lines on the first
// of nodes, which came from them, or keeps the comments for the next
// instruction when there is no node.
func (c *converter) attach(nodes []*yaml.Node, lines ...int) {
	for _, l := range lines {
		ls := c.comments.take(l)
		c.spend(textLen(ls))
		c.comments.carry = append(c.comments.carry, ls...)
	}
	if len(nodes) == 0 || len(lines) == 0 {
		return
	}
	addHead(nodes[0], c.comments.carry)
	c.comments.carry = nil
	for _, n := range nodes {
		c.origin[n] = lines[0]
	}
}
