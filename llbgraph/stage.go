package llbgraph

import (
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// stageBuild is a stage being compiled: its filesystem so far, its image
// configuration so far, and what progress names need.
type stageBuild struct {
	c          *compiler
	p          *plan
	sp         *stagePlan
	state      llb.State // the filesystem; the environment is in cfg
	cfg        config
	hist       *history
	baseImage  *imageConfig
	platform   ocispecs.Platform
	listsImage listsImage // where apt and apk update lists (presets_packages.go)
	noCache    bool
	index      int // the step being compiled, 1-based; 1 is the base
	total      int
}

func (c *compiler) compileStage(p *plan, sp *stagePlan) error {
	st := sp.stage
	b := &stageBuild{c: c, p: p, sp: sp, platform: sp.platform, index: 1, total: 1 + len(st.Steps)}
	b.noCache = c.opt.NoCache != nil && c.opt.NoCache(st.Name)
	b.from(sp.base)
	if err := b.setEnv(&st.Node, "env", st.Env); err != nil {
		return err
	}
	if st.Workdir.Value != "" {
		if err := b.setWorkdir(&st.Node, "workdir", st.Workdir); err != nil {
			return err
		}
	}
	if st.User.IsSet() {
		if err := b.setUser(&st.Node, "user", &st.User); err != nil {
			return err
		}
	}
	for i, s := range st.Steps {
		b.index = i + 2
		if err := b.step(s); err != nil {
			return err
		}
		if err := c.budget.err; err != nil {
			n := s.StepNode()
			return c.errorf(n, "", n.Range, "%v", err)
		}
	}
	if st.Image != nil {
		if err := b.applyImage(st.Image); err != nil {
			return err
		}
	}
	sp.build = b
	return nil
}

// from starts the stage on its base, with the base's configuration.
func (b *stageBuild) from(base *source) {
	st := b.sp.stage
	if base.kind == fromStage {
		parent := base.stage.build
		b.state = parent.state
		b.cfg = inherit(parent.cfg.img)
		b.hist = &history{base: parent.hist}
		b.baseImage = parent.baseImage
		b.listsImage = parent.listsImage
		return
	}
	img := emptyImage(b.platform)
	if base.image != nil && base.kind != fromScratch {
		img = *base.image
		b.baseImage = base.image
	}
	b.cfg = inherit(img)
	b.hist = &history{base: &history{entries: img.History}}
	b.cfg.img.OS = b.platform.OS
	b.cfg.img.Architecture = b.platform.Architecture
	b.cfg.img.Variant = b.platform.Variant
	b.state = b.c.sourceState(base, b.name("from "+base.name), st.From.Range)
	if b.baseImage != nil {
		b.listsImage = listsImage{b.state, base.name}
	}
}

// scope returns what ${NAME} sees at the current step.
func (b *stageBuild) scope() scope {
	return b.c.scope(b.cfg.img.Config.Env)
}

func (b *stageBuild) step(s spec.Step) error {
	switch s := s.(type) {
	case *spec.EnvStep:
		return b.setEnv(&s.Node, "env", s.Env)
	case *spec.WorkdirStep:
		return b.setWorkdir(&s.Node, "workdir", s.Workdir)
	case *spec.UserStep:
		return b.setUser(&s.Node, "user", &s.User)
	case *spec.ParallelStep:
		return b.parallel(s)
	}
	st, history, err := b.fsStep(b.state, s, b.name(spec.Summary(s)))
	if err != nil {
		return err
	}
	b.state = st
	b.history(history, true)
	return nil
}

// fsStep compiles a step that changes files (a run-like step or a copy) on
// base, returning the new state and its history line. It leaves b.state
// alone, so parallel branches can share a base.
func (b *stageBuild) fsStep(base llb.State, s spec.Step, name string) (llb.State, string, error) {
	switch s := s.(type) {
	case *spec.CopyStep:
		return b.copy(base, s, name)
	case spec.RunLike:
		return b.run(base, s, name)
	}
	n := s.StepNode()
	return llb.State{}, "", b.c.errorf(n, "", n.Range, "a %s step does not change files here", s.Kind())
}

func (b *stageBuild) setEnv(n *spec.Node, key string, vars spec.Vars) error {
	if len(vars) == 0 {
		return nil
	}
	kvs := make([]string, 0, len(vars))
	for _, v := range vars {
		val, err := b.scope().expand(spec.Field(n, key+"."+v.Name), "", v.Range, v.Value)
		if err != nil {
			return err
		}
		b.setEnvVar(v.Name, val)
		kvs = append(kvs, v.Name+"="+val)
	}
	b.history("ENV "+strings.Join(kvs, " "), false)
	return nil
}

// setWorkdir changes the working directory and creates it, as WORKDIR does.
func (b *stageBuild) setWorkdir(n *spec.Node, key string, dir spec.String) error {
	wd, err := b.scope().expand(n, key, dir.Range, dir.Value)
	if err != nil {
		return err
	}
	if !path.IsAbs(wd) {
		wd = path.Join("/", b.cfg.img.Config.WorkingDir, wd)
	}
	wd = path.Clean(wd)
	b.cfg.img.Config.WorkingDir = wd
	if wd == "/" {
		b.history("WORKDIR /", false)
		return nil
	}
	opts := []llb.MkdirOption{llb.WithParents(true)}
	if u := b.cfg.img.Config.User; u != "" {
		opts = append(opts, llb.WithUser(u))
	}
	if e := b.c.opt.Epoch; e != nil {
		opts = append(opts, llb.WithCreatedTime(*e))
	}
	fileOpts := []llb.ConstraintsOpt{llb.WithCustomName(b.name("workdir: " + wd)), b.c.location(dir.Range.Or(n.Range)), llb.Platform(b.platform)}
	if b.noCache {
		fileOpts = append(fileOpts, llb.IgnoreCache)
	}
	if err := b.c.budget.spend(opCost + len(wd)); err != nil {
		return b.c.errorf(n, key, dir.Range, "%v", err)
	}
	b.state = b.state.File(llb.Mkdir(wd, 0o755, opts...), fileOpts...)
	b.history("WORKDIR "+wd, true)
	return nil
}

func (b *stageBuild) setUser(n *spec.Node, key string, o *spec.Owner) error {
	u := o.String()
	if o.IsTemplate() {
		raw, err := b.scope().expand(n, key, o.Range, o.Raw)
		if err != nil {
			return err
		}
		parsed, err := spec.ParseOwner(raw)
		if err != nil {
			return b.c.errorf(n, key, o.Range, "%v", err)
		}
		u = parsed.String()
	}
	b.cfg.img.Config.User = u
	b.history("USER "+u, false)
	return nil
}

// opCost is what every op costs the budget besides its strings: its
// digest, inputs and metadata.
const opCost = 256

// execState returns base with the stage's working directory, user,
// platform and environment, for a run. The environment comes from the
// stage's configuration in one go, not from a chain of states that every
// run would walk again.
func (b *stageBuild) execState(base llb.State) llb.State {
	img := &b.cfg.img
	st := llb.NewState(base.Output()).Platform(b.platform)
	if wd := img.Config.WorkingDir; wd != "" {
		st = st.Dir(wd)
	}
	if u := img.Config.User; u != "" {
		st = st.User(u)
	}
	for _, kv := range img.Config.Env {
		k, v, _ := strings.Cut(kv, "=")
		st = st.AddEnv(k, v)
	}
	return st
}

// maxNameLen bounds what a progress name says of a step.
const maxNameLen = 160

// name is a progress name for the current step: [stage 3/6] what. User text
// in it is escaped, so it cannot rewrite a terminal.
func (b *stageBuild) name(what string) string {
	if len(what) > maxNameLen {
		cut := maxNameLen
		for cut > 0 && !utf8.RuneStart(what[cut]) {
			cut--
		}
		what = what[:cut] + "..."
	}
	return spec.Escape(b.c.prefix(b.platform, spec.Shorten(b.sp.stage.Name)+" "+strconv.Itoa(b.index)+"/"+strconv.Itoa(b.total)) + " " + what)
}

// prefix brackets a label, with the platform first in multi-platform builds.
func (c *compiler) prefix(p ocispecs.Platform, label string) string {
	if c.opt.MultiPlatform {
		return "[" + platforms.Format(p) + " " + label + "]"
	}
	return "[" + label + "]"
}

// location points an op at a span of the spec, so a failing step shows the
// user's YAML lines.
func (c *compiler) location(r spec.Range) llb.ConstraintsOpt {
	return c.sourceMap.Location([]*pb.Range{PBRange(r)})
}

// PBRange converts a spec range to a source map range, whose characters
// count from 0.
func PBRange(r spec.Range) *pb.Range {
	return &pb.Range{
		Start: &pb.Position{Line: int32(r.Start.Line), Character: int32(max(r.Start.Column-1, 0))},
		End:   &pb.Position{Line: int32(r.End.Line), Character: int32(max(r.End.Column-1, 0))},
	}
}
