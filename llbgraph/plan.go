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

// source is what a stage starts from, or what a copy or a mount reads:
// another stage, a named context, an image or scratch. One source serves
// every reference to the same name and platform.
type source struct {
	kind     SourceKind
	name     string // as the spec names it, expanded
	platform ocispecs.Platform
	stage    *stagePlan
	load     func(context.Context) (*llb.State, *dockerspec.DockerOCIImage, error)

	// where it was first referenced, for errors
	node *spec.Node
	key  string
	at   spec.Range

	// set by resolve
	state    llb.State
	image    *imageConfig // nil for a context without a config
	ref      string       // an image pinned by digest
	unknown  bool         // an image whose config Evaluate did not look up
	rootOnly bool         // an image looked up only as a lists root (listsroot.go)
	err      error        // why it could not be resolved, when Evaluate goes on
}

// planState is how far a stage's planning is.
type planState uint8

const (
	unplanned planState = iota
	planning
	planned
)

// stagePlan is a reachable stage and what it starts from.
type stagePlan struct {
	stage    *spec.Stage
	base     *source
	platform ocispecs.Platform
	state    planState
	refs     []*Ref      // its from, then the froms of its copies and mounts
	reads    []string    // the args its platform and from read
	err      error       // why it cannot be planned, when Evaluate goes on
	model    *Stage      // set when evaluated
	build    *stageBuild // set when compiled
}

// plan is the part of a compilation that needs no image: the target, the
// stages it reaches in dependency order, and every source to resolve.
type plan struct {
	target   *stagePlan
	order    []*stagePlan
	stages   map[string]*stagePlan
	sources  map[string]*source
	roots    []*source       // images package lists may be updated on (listsroot.go)
	noCtx    map[string]bool // names with no named context, by platform
	refs     map[any]*Ref    // *spec.Files and *spec.Mount to what they read
	usesMain bool            // a reachable step reads the main context
	main     llb.State
	typos    *spec.StageTypos // made when a name is first looked up as an image
}

// TargetName returns the stage a build of target builds: target itself, the
// spec's default, or its last stage.
func TargetName(s *spec.Spec, target string) (string, error) {
	if target == "" {
		target = s.Default.Value
	}
	if target == "" && len(s.Stages) > 0 {
		target = s.Stages[len(s.Stages)-1].Name
	}
	if s.Stages.Get(target) == nil {
		return "", &spec.Error{Filename: s.Filename, Msg: fmt.Sprintf("target %s is not a stage%s; stages: %s", spec.Quote(target), spec.DidYouMean(target, s.Stages.Names()), spec.NameList(s.Stages.Names()))}
	}
	return target, nil
}

// pendingRef is a copy or mount whose from is still to plan.
type pendingRef struct {
	key any // *spec.Files or *spec.Mount
	ref *Ref
}

// frame is a stage being planned: the planner walks the stages depth
// first with an explicit stack, so a chain of ten thousand stages needs no
// deep recursion.
type frame struct {
	sp    *stagePlan
	phase int
	refs  []pendingRef
	next  int
}

// plan plans the build of opt.Target: the stages it reaches, dependencies
// first, and the sources they read. Each reference is planned once.
func (c *compiler) plan() (*plan, error) {
	name, err := TargetName(c.spec, c.opt.Target)
	if err != nil {
		return nil, err
	}
	p := newPlan()
	if err := c.planStage(p, c.stages[name]); err != nil {
		return nil, err
	}
	p.target = p.stages[name]
	return p, nil
}

// planAll plans every stage, as Evaluate needs: a stage that cannot be
// planned, and every stage that needs it, keeps the error, and the others
// are planned all the same.
func (c *compiler) planAll() *plan {
	p := newPlan()
	for _, st := range c.spec.Stages {
		if c.stages[st.Name] == st {
			_ = c.planStage(p, st)
		}
	}
	return p
}

func newPlan() *plan {
	return &plan{stages: map[string]*stagePlan{}, sources: map[string]*source{}, noCtx: map[string]bool{}, refs: map[any]*Ref{}}
}

// planStage plans st, unless it is planned already, and the stages it
// reaches.
func (c *compiler) planStage(p *plan, st *spec.Stage) error {
	if p.stages[st.Name] != nil {
		return nil
	}
	root := &stagePlan{stage: st}
	p.stages[st.Name] = root
	stack := []*frame{{sp: root}}
	for len(stack) > 0 {
		f := stack[len(stack)-1]
		child, err := c.planStep(p, f, stack)
		if err != nil {
			if !c.evaluateAll {
				return err
			}
			// every stage on the stack needs the one that failed
			for i := len(stack) - 1; i >= 0; i-- {
				sp := stack[i].sp
				sp.err, sp.state = err, planned
				p.order = append(p.order, sp)
			}
			return err
		}
		if child != nil {
			stack = append(stack, &frame{sp: child})
			continue
		}
		if f.phase == 3 {
			f.sp.state = planned
			p.order = append(p.order, f.sp)
			stack = stack[:len(stack)-1]
		}
	}
	return nil
}

// planStep advances the planning of f's stage. It returns a stage to plan
// first when the stage needs one that is not planned yet.
func (c *compiler) planStep(p *plan, f *frame, stack []*frame) (*stagePlan, error) {
	sp, st := f.sp, f.sp.stage
	sc := c.scope(nil)
	switch f.phase {
	case 0: // the platform and the base; again after planning a base stage
		sp.state = planning
		sp.reads = sp.reads[:0]
		sc.reads = &sp.reads
		sp.platform = c.target
		if pl := &st.Platform; pl.IsSet() {
			v := pl.Value
			if pl.IsTemplate() || v.OS == "" {
				raw, err := sc.expand(&st.Node, "platform", pl.Range, pl.Raw)
				if err != nil {
					return nil, err
				}
				if v, err = spec.ParsePlatform(raw); err != nil {
					return nil, c.errorf(&st.Node, "platform", pl.Range, "%v", err)
				}
			}
			sp.platform = platforms.Normalize(v)
		}
		var fromReads []string
		sc.reads = &fromReads
		from, err := sc.expand(&st.Node, "from", st.From.Range, st.From.Value)
		sp.reads = append(sp.reads, fromReads...)
		if err != nil {
			return nil, err
		}
		base, child, err := c.source(p, &st.Node, "from", st.From.Range, from, sp.platform, stack)
		if err != nil || child != nil {
			return child, err
		}
		sp.base = base
		sp.refs = []*Ref{{Node: &st.Node, Key: "from", Range: st.From.Range, Name: from, Reads: fromReads, src: base}}
		f.phase = 1
		return nil, nil
	case 1: // the base's platform, and what the steps read
		if sp.base.kind == SourceStage {
			if st.Platform.IsSet() && !platforms.Only(sp.base.stage.platform).Match(sp.platform) {
				return nil, c.errorf(&st.Node, "platform", st.Platform.Range, "stage %s builds from stage %s, so it has that stage's platform (%s); set platform there", spec.Quote(st.Name), spec.Quote(sp.base.stage.stage.Name), platforms.Format(sp.base.stage.platform))
			}
			sp.platform = sp.base.stage.platform
		}
		refs, err := c.stepRefs(p, st)
		if err != nil {
			return nil, err
		}
		f.refs, f.phase = refs, 2
		return nil, nil
	case 2: // the sources of copies and mounts
		for ; f.next < len(f.refs); f.next++ {
			r := f.refs[f.next]
			src, child, err := c.source(p, r.ref.Node, "from", r.ref.Range, r.ref.Name, sp.platform, stack)
			if err != nil || child != nil {
				return child, err
			}
			r.ref.src = src
			p.refs[r.key] = r.ref
			sp.refs = append(sp.refs, r.ref)
		}
		f.phase = 3
	}
	return nil, nil
}

// stepRefs lists what the steps of st read from other sources, expanded,
// and notes whether they read the main context.
func (c *compiler) stepRefs(p *plan, st *spec.Stage) ([]pendingRef, error) {
	var refs []pendingRef
	var err error
	add := func(key any, n *spec.Node, from spec.String, readsMain bool) {
		if err != nil {
			return
		}
		if from.Value == "" {
			p.usesMain = p.usesMain || readsMain
			return
		}
		r := &Ref{Node: n, Key: "from", Range: from.Range}
		sc := c.scope(nil)
		sc.reads = &r.Reads
		if r.Name, err = sc.expand(n, "from", from.Range, from.Value); err == nil {
			refs = append(refs, pendingRef{key: key, ref: r})
		}
	}
	spec.WalkSteps(st.Steps, func(s spec.Step) {
		switch s := s.(type) {
		case *spec.CopyStep:
			add(&s.Copy.Files, &s.Copy.Node, s.Copy.From, true)
		case *spec.AddStep:
			add(&s.Add.Files, &s.Add.Node, s.Add.From, true)
		case spec.RunLike:
			for i := range s.Options().Mounts {
				m := &s.Options().Mounts[i]
				if m.Type.Value == spec.MountBind || m.Type.Value == spec.MountCache {
					add(m, &m.Node, m.From, m.Type.Value == spec.MountBind)
				}
			}
		}
	})
	return refs, err
}

// source finds what name refers to, in the Dockerfile frontend's order: a
// named context of that name, a stage, scratch, or an image. When name is
// a stage that is not planned yet, it returns that stage to plan first.
func (c *compiler) source(p *plan, n *spec.Node, key string, at spec.Range, name string, pl ocispecs.Platform, stack []*frame) (*source, *stagePlan, error) {
	if c.opt.NamedContext != nil && validRef(name) {
		id := "context:" + name + "@" + platforms.FormatAll(pl)
		if s, ok := p.sources[id]; ok {
			return s, nil, nil
		}
		if !p.noCtx[id] {
			load, err := c.opt.NamedContext(name, pl)
			if err != nil {
				return nil, nil, withErr(c.errorf(n, key, at, "named context %s", spec.Quote(name)), err)
			}
			if load != nil {
				s := &source{kind: SourceContext, name: name, platform: pl, load: load, node: n, key: key, at: at}
				p.sources[id] = s
				return s, nil, nil
			}
			p.noCtx[id] = true
		}
	}
	if st := c.stages[name]; st != nil {
		sp := p.stages[name]
		switch {
		case sp == nil:
			sp = &stagePlan{stage: st}
			p.stages[name] = sp
			return nil, sp, nil
		case sp.state == planning:
			return nil, nil, c.errorf(n, key, at, "stages form a cycle: %s", cycleOf(stack, name))
		case sp.err != nil:
			return nil, nil, sp.err
		}
		return &source{kind: SourceStage, name: name, stage: sp, node: n, key: key, at: at}, nil, nil
	}
	if name == "scratch" {
		return &source{kind: SourceScratch, name: name, platform: pl, state: llb.Scratch().Platform(pl), node: n, key: key, at: at}, nil, nil
	}
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return nil, nil, c.errorf(n, key, at, "%s", spec.UnknownSource(name, c.spec.Stages.Names()))
	}
	if p.typos == nil {
		p.typos = spec.NewStageTypos(c.spec.Stages)
	}
	if msg := p.typos.Of(name); msg != "" { // a ${...} that expanded to a typo: Load saw the others
		return nil, nil, c.errorf(n, key, at, "%s", msg)
	}
	ref := reference.TagNameOnly(named).String()
	id := imageID(ref, pl)
	if s, ok := p.sources[id]; ok {
		return s, nil, nil
	}
	s := &source{kind: SourceImage, name: name, platform: pl, ref: ref, node: n, key: key, at: at}
	p.sources[id] = s
	return s, nil, nil
}

// imageID is the key in plan.sources of the image ref (tagged, not yet
// pinned) at platform pl.
func imageID(ref string, pl ocispecs.Platform) string {
	return "image:" + ref + "@" + platforms.FormatAll(pl)
}

// cycleOf names the cycle that a reference to name closes: the stages on
// the stack from name's frame on, then name.
func cycleOf(stack []*frame, name string) string {
	var names []string
	for i := len(stack) - 1; i >= 0; i-- {
		names = append(names, stack[i].sp.stage.Name)
		if stack[i].sp.stage.Name == name {
			break
		}
	}
	slices.Reverse(names)
	return spec.CycleText(append(names, name))
}

// mainContextPaths returns the main-context paths that the copy and bind
// steps of every stage read, so that only they are sent; all is set when a
// step reads the root or a path with a variable (which the stage env may
// set). Every stage counts, not only the target's: then a stage compiles to
// the same LLB whatever the target, and the stages that the targets of one
// bake share are solved once.
func mainContextPaths(s *spec.Spec) (paths []string, all bool) {
	seen := map[string]bool{}
	add := func(src string) {
		if spec.NeedsExpansion(src) {
			all = true
			return
		}
		if parent, _, ok := strings.Cut(src, "/./"); ok {
			src = parent // copy --parents: everything under the pivot
		}
		src = strings.TrimPrefix(path.Join("/", src), "/")
		if src == "" || src == "." {
			all = true
		} else if !seen[src] {
			seen[src] = true
			paths = append(paths, src)
		}
	}
	for _, st := range s.Stages {
		spec.WalkSteps(st.Steps, func(step spec.Step) {
			switch step := step.(type) {
			case *spec.CopyStep:
				if step.Copy.From.Value == "" {
					for _, src := range step.Copy.Src {
						add(src.Value)
					}
				}
			case *spec.AddStep:
				if step.Add.From.Value == "" {
					for _, src := range step.Add.Src {
						if !isRemote(src.Value) {
							add(src.Value)
						}
					}
				}
			case spec.RunLike:
				for _, m := range step.Options().Mounts {
					if m.Type.Value == spec.MountBind && m.From.Value == "" {
						add(m.Source.Value)
					}
				}
			}
		})
		if all {
			return nil, true
		}
	}
	return paths, all
}

func validRef(name string) bool {
	_, err := reference.ParseNormalizedNamed(name)
	return err == nil
}
