package llbgraph

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/moby/buildkit/client/llb"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// sourceKind says what a source is.
type sourceKind int

const (
	fromStage sourceKind = iota
	fromContext
	fromImage
	fromScratch
)

// source is what a stage starts from, or what a copy or a mount reads:
// another stage, a named context, an image or scratch. One source serves
// every reference to the same name and platform.
type source struct {
	kind     sourceKind
	name     string // as the spec names it, expanded
	platform ocispecs.Platform
	stage    *stagePlan
	load     func(context.Context) (*llb.State, *dockerspec.DockerOCIImage, error)

	// where it was first referenced, for errors and names
	node spec.Node
	key  string

	// set by resolve
	state llb.State
	image *dockerspec.DockerOCIImage // nil for a context without a config
	ref   string                     // an image pinned by digest
}

// stagePlan is a reachable stage and what it starts from.
type stagePlan struct {
	spec     *spec.Stage
	base     *source
	platform ocispecs.Platform
	visiting bool
	build    *stageBuild // set when compiled
}

// plan is the part of a compilation that needs no image: the target, the
// stages it reaches in dependency order, and every source to resolve.
type plan struct {
	target  *stagePlan
	order   []*stagePlan
	stages  map[string]*stagePlan
	sources map[string]*source
	refs    map[any]*source // *spec.Copy and *spec.Mount to what they read

	usesMain bool // a reachable step reads the main context
	main     llb.State
}

// TargetName returns the stage a build of target builds: target itself, the
// spec's default, or its last stage.
func TargetName(s *spec.Spec, target string) (string, error) {
	if target == "" {
		target = s.Default
	}
	if target == "" && len(s.Stages) > 0 {
		target = s.Stages[len(s.Stages)-1].Name
	}
	if s.Stages.Get(target) == nil {
		return "", &spec.Error{Filename: s.Filename, Msg: fmt.Sprintf("target %q is not a stage%s; stages: %s", target, suggestName(target, s.Stages.Names()), strings.Join(s.Stages.Names(), ", "))}
	}
	return target, nil
}

// newPlan plans the build of opt.Target: what Compile and BuildOutline
// share.
func newPlan(s *spec.Spec, opt Opt) (*compiler, *plan, error) {
	c, err := newCompiler(s, opt)
	if err != nil {
		return nil, nil, err
	}
	p, err := c.plan()
	return c, p, err
}

func (c *compiler) plan() (*plan, error) {
	name, err := TargetName(c.spec, c.opt.Target)
	if err != nil {
		return nil, err
	}
	p := &plan{stages: map[string]*stagePlan{}, sources: map[string]*source{}, refs: map[any]*source{}}
	target, err := c.visit(p, c.spec.Stages.Get(name), nil)
	if err != nil {
		return nil, err
	}
	p.target = target
	return p, nil
}

// visit plans st and, first, every stage it reads, depth first, so that
// p.order lists dependencies before the stages that need them. stack holds
// the stages being visited, to name a cycle.
func (c *compiler) visit(p *plan, st *spec.Stage, stack []string) (*stagePlan, error) {
	if sp, ok := p.stages[st.Name]; ok {
		if sp.visiting {
			return nil, nil // the caller reports the cycle where it has the position
		}
		return sp, nil
	}
	sp := &stagePlan{spec: st, visiting: true, platform: c.target}
	p.stages[st.Name] = sp
	stack = append(stack, st.Name)
	sc := scope{c: c}

	if st.Node.Has("platform") {
		pl, err := sc.expand(st.Node, "platform", st.Platform)
		if err != nil {
			return nil, err
		}
		parsed, err := platforms.Parse(pl)
		if err != nil {
			return nil, withErr(st.Node.Errorf(c.spec.Filename, "platform", "invalid platform"), err)
		}
		sp.platform = platforms.Normalize(parsed)
	}
	from, err := sc.expand(st.Node, "from", st.From)
	if err != nil {
		return nil, err
	}
	base, err := c.source(p, st.Node, "from", from, sp.platform, stack)
	if err != nil {
		return nil, err
	}
	sp.base = base
	if base.kind == fromStage {
		if st.Node.Has("platform") && !platforms.Only(base.stage.platform).Match(sp.platform) {
			return nil, st.Node.Errorf(c.spec.Filename, "platform", "stage %q builds from stage %q, so it has that stage's platform (%s); set platform there", st.Name, base.stage.spec.Name, platforms.Format(base.stage.platform))
		}
		sp.platform = base.stage.platform
	}
	if err := c.visitSteps(p, sp, st.Steps, stack); err != nil {
		return nil, err
	}
	sp.visiting = false
	p.order = append(p.order, sp)
	return sp, nil
}

// visitSteps plans what the steps read: copy and mount sources, and the
// main context's paths.
func (c *compiler) visitSteps(p *plan, sp *stagePlan, steps []spec.Step, stack []string) error {
	for i := range steps {
		step := &steps[i]
		if err := c.visitSteps(p, sp, step.Parallel, stack); err != nil {
			return err
		}
		if cp := step.Copy; cp != nil {
			if err := c.visitFrom(p, sp, cp, cp.Node, cp.From, true, stack); err != nil {
				return err
			}
		}
		for j := range step.Mounts {
			m := &step.Mounts[j]
			if m.Type != "bind" && m.Type != "cache" {
				continue
			}
			if err := c.visitFrom(p, sp, m, m.Node, m.From, m.Type == "bind", stack); err != nil {
				return err
			}
		}
	}
	return nil
}

// visitFrom plans what a copy or a mount (ref) reads: the source its from
// names or, when it names none and readsMain, the main context (a cache
// mount without from starts empty).
func (c *compiler) visitFrom(p *plan, sp *stagePlan, ref any, n spec.Node, from string, readsMain bool, stack []string) error {
	if !n.Has("from") {
		p.usesMain = p.usesMain || readsMain
		return nil
	}
	name, err := scope{c: c}.expand(n, "from", from)
	if err != nil {
		return err
	}
	src, err := c.source(p, n, "from", name, sp.platform, stack)
	if err != nil {
		return err
	}
	p.refs[ref] = src
	return nil
}

// mainContextPaths returns the main-context paths that the copy and bind
// steps of every stage read, so that only they are sent; all is set when a
// step reads the root or a path with a variable (which the stage env may
// set). Every stage counts, not only the target's: then a stage compiles to
// the same LLB whatever the target, and the stages that the targets of one
// bake share are solved once.
func mainContextPaths(s *spec.Spec) (paths []string, all bool) {
	add := func(src string) {
		if strings.ContainsAny(src, `$\`) {
			all = true
			return
		}
		if parent, _, ok := strings.Cut(src, "/./"); ok {
			src = parent // copy --parents: everything under the pivot
		}
		src = strings.TrimPrefix(path.Join("/", src), "/")
		if src == "" || src == "." {
			all = true
		} else if !slices.Contains(paths, src) {
			paths = append(paths, src)
		}
	}
	for _, st := range s.Stages {
		walkSteps(st.Steps, func(step *spec.Step) {
			if cp := step.Copy; cp != nil && !cp.Node.Has("from") {
				for _, src := range cp.Src {
					add(src)
				}
			}
			for _, m := range step.Mounts {
				if m.Type == "bind" && !m.Node.Has("from") {
					add(m.Source)
				}
			}
		})
	}
	return paths, all
}

// walkSteps calls fn for each step, parallel branches included.
func walkSteps(steps []spec.Step, fn func(*spec.Step)) {
	for i := range steps {
		fn(&steps[i])
		walkSteps(steps[i].Parallel, fn)
	}
}

// source finds what name refers to, in the Dockerfile frontend's order: a
// named context of that name, a stage, scratch, or an image.
func (c *compiler) source(p *plan, n spec.Node, key, name string, pl ocispecs.Platform, stack []string) (*source, error) {
	if c.opt.NamedContext != nil && validRef(name) {
		id := "context:" + name + "@" + platforms.FormatAll(pl)
		if s, ok := p.sources[id]; ok {
			return s, nil
		}
		load, err := c.opt.NamedContext(name, pl)
		if err != nil {
			return nil, withErr(n.Errorf(c.spec.Filename, key, "named context %q", name), err)
		}
		if load != nil {
			s := &source{kind: fromContext, name: name, platform: pl, load: load, node: n, key: key}
			p.sources[id] = s
			return s, nil
		}
	}
	if st := c.spec.Stages.Get(name); st != nil {
		if i := slices.Index(stack, name); i >= 0 {
			cycle := append(slices.Clone(stack[i:]), name)
			return nil, n.Errorf(c.spec.Filename, key, "stages form a cycle: %s", strings.Join(cycle, " -> "))
		}
		sp, err := c.visit(p, st, stack)
		if err != nil {
			return nil, err
		}
		return &source{kind: fromStage, name: name, stage: sp, node: n, key: key}, nil
	}
	if name == "scratch" {
		return &source{kind: fromScratch, name: name, platform: pl, state: llb.Scratch().Platform(pl), node: n, key: key}, nil
	}
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return nil, n.Errorf(c.spec.Filename, key, "%q names no stage and is not a valid image reference%s", name, suggestName(name, c.spec.Stages.Names()))
	}
	ref := reference.TagNameOnly(named).String()
	id := "image:" + ref + "@" + platforms.FormatAll(pl)
	if s, ok := p.sources[id]; ok {
		return s, nil
	}
	s := &source{kind: fromImage, name: name, platform: pl, ref: ref, node: n, key: key}
	p.sources[id] = s
	return s, nil
}

func validRef(name string) bool {
	_, err := reference.ParseNormalizedNamed(name)
	return err == nil
}
