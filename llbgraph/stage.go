package llbgraph

import (
	"context"
	"fmt"
	"path"
	"strings"

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
	state      llb.State
	image      imageConfig
	baseImage  *imageConfig
	platform   ocispecs.Platform
	aptReady   bool // docker-clean is gone in this stage's lineage
	inParallel bool // compiling the branches of a parallel group
	noCache    bool
	index      int // the step being compiled, 1-based; 1 is the base
	total      int
}

func (c *compiler) compileStage(_ context.Context, p *plan, sp *stagePlan) error {
	st := sp.spec
	b := &stageBuild{c: c, p: p, sp: sp, platform: sp.platform, index: 1, total: 1 + len(st.Steps)}
	b.noCache = c.opt.NoCache != nil && c.opt.NoCache(st.Name)
	if err := b.from(sp.base); err != nil {
		return err
	}
	if err := b.setEnv(st.Node, "env", st.Env); err != nil {
		return err
	}
	if st.Node.Has("workdir") {
		if err := b.setWorkdir(st.Node, st.Workdir); err != nil {
			return err
		}
	}
	if st.Node.Has("user") {
		if err := b.setUser(st.Node, st.User); err != nil {
			return err
		}
	}
	for i := range st.Steps {
		b.index = i + 2
		if err := b.step(&st.Steps[i]); err != nil {
			return err
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
func (b *stageBuild) from(base *source) error {
	st := b.sp.spec
	switch base.kind {
	case fromStage:
		parent := base.stage.build
		b.state = parent.state
		b.image = cloneImage(parent.image)
		b.baseImage = parent.baseImage
		b.aptReady = parent.aptReady
		return nil
	case fromImage:
		b.image = cloneImage(*base.image)
		b.baseImage = base.image
	case fromContext:
		if base.image != nil {
			b.image = cloneImage(*base.image)
			b.baseImage = base.image
		} else {
			b.image = emptyImage(b.platform)
		}
	case fromScratch:
		b.image = emptyImage(b.platform)
	}
	b.state = b.c.sourceState(base, b.name("from "+base.name), st.Node.Field("from")).Platform(b.platform)
	b.image.OS = b.platform.OS
	b.image.Architecture = b.platform.Architecture
	b.image.Variant = b.platform.Variant
	// The state carries the image's environment, so that steps see it.
	for _, kv := range b.image.Config.Env {
		k, v, _ := strings.Cut(kv, "=")
		b.state = b.state.AddEnv(k, v)
	}
	if wd := b.image.Config.WorkingDir; wd != "" {
		b.state = b.state.Dir(wd)
	}
	if u := b.image.Config.User; u != "" {
		b.state = b.state.User(u)
	}
	return nil
}

// scope returns what ${NAME} sees at the current step.
func (b *stageBuild) scope() scope {
	return scope{c: b.c, env: b.image.Config.Env}
}

func (b *stageBuild) step(s *spec.Step) error {
	switch kind := s.Kind(); kind {
	case "env":
		return b.setEnv(s.Node, "env", s.Env)
	case "workdir":
		return b.setWorkdir(s.Node, s.Workdir)
	case "user":
		return b.setUser(s.Node, s.User)
	case "parallel":
		return b.parallel(s)
	default:
		st, history, err := b.fsStep(b.state, s, b.name(stepSummary(s)))
		if err != nil {
			return err
		}
		b.state = st
		b.history(history, true)
		if kind == "apt" {
			b.aptReady = true
		}
		return nil
	}
}

// fsStep compiles a step that changes files (a run-like step or a copy) on
// base, returning the new state and its history line. It leaves b.state
// alone, so parallel branches can share a base.
func (b *stageBuild) fsStep(base llb.State, s *spec.Step, name string) (llb.State, string, error) {
	if s.Kind() == "copy" {
		return b.copy(base, s, name)
	}
	return b.run(base, s, name)
}

func (b *stageBuild) setEnv(n spec.Node, key string, vars spec.Vars) error {
	if len(vars) == 0 {
		return nil
	}
	var kvs []string
	for _, v := range vars {
		val, err := b.scope().expand(n, key, v.Value)
		if err != nil {
			return err
		}
		b.state = b.state.AddEnv(v.Name, val)
		b.image.Config.Env = addEnv(b.image.Config.Env, v.Name, val)
		kvs = append(kvs, v.Name+"="+val)
	}
	b.history("ENV "+strings.Join(kvs, " "), false)
	return nil
}

// setWorkdir changes the working directory and creates it, as WORKDIR does.
func (b *stageBuild) setWorkdir(n spec.Node, dir string) error {
	wd, err := b.scope().expand(n, "workdir", dir)
	if err != nil {
		return err
	}
	if !path.IsAbs(wd) {
		wd = path.Join("/", b.image.Config.WorkingDir, wd)
	}
	wd = path.Clean(wd)
	b.image.Config.WorkingDir = wd
	b.state = b.state.Dir(wd)
	if wd == "/" {
		b.history("WORKDIR /", false)
		return nil
	}
	opts := []llb.MkdirOption{llb.WithParents(true)}
	if u := b.image.Config.User; u != "" {
		opts = append(opts, llb.WithUser(u))
	}
	fileOpts := []llb.ConstraintsOpt{llb.WithCustomName(b.name("workdir: " + wd)), b.c.location(n.Field("workdir"))}
	if b.noCache {
		fileOpts = append(fileOpts, llb.IgnoreCache)
	}
	b.state = b.state.File(llb.Mkdir(wd, 0o755, opts...), fileOpts...)
	b.history("WORKDIR "+wd, true)
	return nil
}

func (b *stageBuild) setUser(n spec.Node, user string) error {
	u, err := b.scope().expand(n, "user", user)
	if err != nil {
		return err
	}
	b.image.Config.User = u
	b.state = b.state.User(u)
	b.history("USER "+u, false)
	return nil
}

// name is a progress name for the current step: [stage 3/6] what.
func (b *stageBuild) name(what string) string {
	return fmt.Sprintf("%s %s", b.c.prefix(b.platform, fmt.Sprintf("%s %d/%d", b.sp.spec.Name, b.index, b.total)), what)
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
	return c.sourceMap.Location([]*pb.Range{{
		Start: &pb.Position{Line: int32(r.Start.Line), Character: int32(max(r.Start.Column-1, 0))},
		End:   &pb.Position{Line: int32(r.End.Line), Character: int32(max(r.End.Column-1, 0))},
	}})
}

// stepSummary is a step as one short line: `run: uv sync --frozen`.
func stepSummary(s *spec.Step) string {
	kind := s.Kind()
	var what string
	switch kind {
	case "run":
		what = s.Run.String()
	case "pip":
		what = s.Pip.String()
	case "uv":
		what = s.Uv.String()
	case "go":
		what = s.Go.String()
	case "apt":
		what = strings.Join(s.Apt, " ")
	case "apk":
		what = strings.Join(s.Apk, " ")
	case "copy":
		what = strings.Join(s.Copy.Src, " ") + " -> " + s.Copy.Dst
		if s.Copy.From != "" {
			what = "from " + s.Copy.From + ": " + what
		}
	}
	return kind + ": " + firstLine(what)
}

// firstLine shortens a script to its first non-empty line, marking the
// rest with "...".
func firstLine(s string) string {
	s = strings.TrimSpace(s)
	line, rest, more := strings.Cut(s, "\n")
	line = strings.TrimSpace(line)
	if more && strings.TrimSpace(rest) != "" {
		line += " ..."
	}
	return line
}
