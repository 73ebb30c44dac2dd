package llbgraph

import (
	"context"
	"errors"
	"path"
	"slices"
	"strings"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// Evaluate evaluates every stage of s as a build with opt would, without
// building anything, for the checks (package check). It is the pass
// [Compile] runs on the stages of its target before it builds their LLB.
//
// Evaluate needs no daemon: Opt.ResolveImageConfig and Opt.NamedContext
// may be nil, and Opt.MainContext is not called. Without
// ResolveImageConfig, the config of an image a stage starts from is
// unknown, and the model says so ([Config.BaseKnown]): a ${NAME} that
// neither the spec's env nor the args set then reads as unknown, since the
// image may set it, rather than as an error.
//
// A stage that cannot be evaluated has its error in [Stage.Err], and so has
// every stage that needs it; the others are evaluated all the same. The
// error Evaluate returns is about the spec as a whole (an arg's default,
// say): then nothing is evaluated.
func Evaluate(ctx context.Context, s *spec.Spec, opt Opt) (m *Model, err error) {
	c, err := newCompiler(s, opt)
	if err != nil {
		return nil, err
	}
	defer c.recoverPanic(&err)
	c.evaluateAll = true
	p := c.planAll()
	if err := c.resolveSources(ctx, p); err != nil {
		return nil, err
	}
	for _, sp := range p.order {
		_ = c.evaluate(p, sp)
	}
	return c.model, nil
}

// stageEval is a stage being evaluated: its image configuration so far,
// and the step whose reads are being recorded.
type stageEval struct {
	c   *compiler
	p   *plan
	sp  *stagePlan
	out *Stage
	cfg config
	// snap is cfg as the steps since its last change see it; nil when cfg
	// changed since a step last saw it.
	snap  *Config
	reads *[]string // the reads of the value being evaluated
	args  []string  // the stage's args, NAME=value
}

// evaluate evaluates a planned stage, whose dependencies are evaluated,
// into sp.model.
func (c *compiler) evaluate(p *plan, sp *stagePlan) error {
	st := sp.stage
	out := &Stage{Spec: st, Platform: sp.platform, Refs: sp.refs, Reads: sp.reads, created: c.opt.Epoch}
	sp.model = out
	c.model.stages[st] = out
	c.model.order = append(c.model.order, out)
	if out.Err = sp.failed(); out.Err != nil {
		return out.Err
	}
	e := &stageEval{c: c, p: p, sp: sp, out: out, reads: &out.Reads}
	e.from(sp.base)
	out.Err = e.stage()
	return out.Err
}

// failed returns why the stage cannot be evaluated before it starts: its
// planning failed, or a source or stage it reads did.
func (sp *stagePlan) failed() error {
	if sp.err != nil {
		return sp.err
	}
	for _, r := range sp.refs {
		if r.src.err != nil {
			return r.src.err
		}
		if r.Kind() != SourceStage {
			continue
		}
		switch dep := r.Stage(); {
		case dep == nil:
			return errors.New("llbgraph: a stage is evaluated before a stage it reads")
		case dep.Err != nil:
			return dep.Err
		}
	}
	return nil
}

// stage evaluates the stage's env, workdir, user and shell, its steps and its
// image block.
func (e *stageEval) stage() error {
	st, out := e.sp.stage, e.out
	if err := e.stageArgs(); err != nil {
		return err
	}
	if len(st.Env) > 0 {
		s, err := e.setEnv(&st.Node, st.Env)
		if err != nil {
			return err
		}
		out.Settings = append(out.Settings, s)
	}
	if st.Workdir.Value != "" {
		s, err := e.setWorkdir(&st.Node, "workdir", st.Workdir)
		if err != nil {
			return err
		}
		out.Settings = append(out.Settings, s)
	}
	if st.User.IsSet() {
		s, err := e.setUser(&st.Node, "user", &st.User)
		if err != nil {
			return err
		}
		out.Settings = append(out.Settings, s)
	}
	if st.Shell != nil {
		out.Settings = append(out.Settings, e.setShell(&st.Node, st.Shell))
	}
	out.Steps = make([]Step, 0, len(st.Steps))
	for _, s := range st.Steps {
		ev, err := e.step(s)
		if err != nil {
			return err
		}
		out.Steps = append(out.Steps, ev)
		if err := e.c.budget.err; err != nil {
			n := s.StepNode()
			return e.c.errorf(n, "", n.Range, "%v", err)
		}
	}
	if st.Image != nil {
		e.reads = &out.Reads
		if err := e.applyImage(st.Image); err != nil {
			return err
		}
	}
	out.Config = e.before()
	return nil
}

// from starts the stage's configuration from its base's: a stage's, an
// image's (unknown when Evaluate looked no image up), a named context's,
// or scratch's.
func (e *stageEval) from(base *source) {
	out := e.out
	if base.kind == SourceStage {
		parent := base.stage.model
		e.cfg = inherit(parent.Config)
		out.hist = &history{base: parent.hist}
		out.baseImage = parent.baseImage
		return
	}
	img := emptyImage(out.Platform)
	known := true
	switch {
	case base.kind == SourceScratch:
	case base.unknown:
		img, known = imageConfig{}, false
	case base.image != nil:
		img = *base.image
		out.baseImage = base.image
	}
	e.cfg = inherit(&Config{Image: img, BaseKnown: known, WorkdirFromBase: true})
	out.hist = &history{base: &history{entries: img.History}}
	e.cfg.Image.OS = out.Platform.OS
	e.cfg.Image.Architecture = out.Platform.Architecture
	e.cfg.Image.Variant = out.Platform.Variant
}

// scope returns what ${NAME} sees at the current step, recording the args
// it reads for the step.
func (e *stageEval) scope() scope {
	sc := e.c.scope(e.cfg.Image.Config.Env)
	sc.open, sc.unknown, sc.reads = !e.cfg.BaseKnown, e.cfg.unknown, e.reads
	sc.stageArgs = e.args
	return sc
}

// before returns the configuration as the next step sees it.
func (e *stageEval) before() *Config {
	if e.snap == nil {
		snap := e.cfg.Config
		e.snap = &snap
		e.cfg.owned = owned{} // what the snapshot holds is shared now
	}
	return e.snap
}

// begin starts the evaluation of a step: it sees the configuration as it
// is, and its reads are recorded in it.
func (e *stageEval) begin(s *stepBase) {
	s.before = e.before()
	e.reads = &s.reads
}

// end finishes the evaluation of a step: each arg it read is listed once.
func (e *stageEval) end(s *stepBase) {
	if len(s.reads) > 1 {
		seen := make(map[string]bool, len(s.reads))
		s.reads = slices.DeleteFunc(s.reads, func(name string) bool {
			dup := seen[name]
			seen[name] = true
			return dup
		})
	}
	e.reads = &e.out.Reads
}

// changed notes that the configuration changed since a step last saw it.
func (e *stageEval) changed() { e.snap = nil }

func (e *stageEval) step(s spec.Step) (Step, error) {
	switch s := s.(type) {
	case *spec.EnvStep:
		return e.setEnv(&s.Node, s.Env)
	case *spec.WorkdirStep:
		return e.setWorkdir(&s.Node, "workdir", s.Workdir)
	case *spec.UserStep:
		return e.setUser(&s.Node, "user", &s.User)
	case *spec.ShellStep:
		return e.setShell(&s.Node, &s.Shell), nil
	case *spec.ParallelStep:
		return e.parallel(s)
	}
	ev, history, err := e.fsStep(s)
	if err != nil {
		return nil, err
	}
	e.history(history, true)
	return ev, nil
}

// fsStep evaluates a step that changes files (a run-like step or a copy),
// returning it and its history line, which the caller records.
func (e *stageEval) fsStep(s spec.Step) (Step, string, error) {
	switch s := s.(type) {
	case *spec.CopyStep:
		return e.copy(s)
	case *spec.AddStep:
		return e.add(s)
	case spec.RunLike:
		return e.run(s)
	}
	n := s.StepNode()
	return nil, "", e.c.errorf(n, "", n.Range, "a %s step does not change files here", s.Kind())
}

// setEnv sets the env of the stage or step at n.
func (e *stageEval) setEnv(n *spec.Node, vars spec.Vars) (*EnvStep, error) {
	out := &EnvStep{Node: n}
	e.begin(&out.stepBase)
	defer e.end(&out.stepBase)
	if len(vars) == 0 {
		return out, nil
	}
	out.Env = make([]string, 0, len(vars))
	for _, v := range vars {
		val, err := e.scope().expandValue(spec.Field(n, "env."+v.Name), "", v.Range, v.Value)
		if err != nil {
			return nil, err
		}
		e.setEnvVar(v.Name, val.Text, !val.Unknown)
		out.Env = append(out.Env, v.Name+"="+val.Text)
	}
	e.history("ENV "+strings.Join(out.Env, " "), false)
	return out, nil
}

// setWorkdir changes the working directory, which the build creates, as
// WORKDIR does.
func (e *stageEval) setWorkdir(n *spec.Node, key string, dir spec.String) (*WorkdirStep, error) {
	out := &WorkdirStep{}
	e.begin(&out.stepBase)
	defer e.end(&out.stepBase)
	v, err := e.scope().expandValue(n, key, dir.Range, dir.Value)
	if err != nil {
		return nil, err
	}
	out.Dir = v
	cfg := &e.cfg
	wd := v.Text
	set := v
	switch {
	case v.Unknown || path.IsAbs(wd):
		cfg.WorkdirFromBase = false // an unknown one may well be absolute
	case cfg.Set.Workdir == nil && !cfg.BaseKnown:
		set.Unknown = true // under the base image's unknown one
	case cfg.Set.Workdir != nil:
		set.Unknown = cfg.Set.Workdir.Unknown
	}
	if !path.IsAbs(wd) {
		wd = path.Join("/", cfg.Image.Config.WorkingDir, wd)
	}
	out.Path = path.Clean(wd)
	set.Text = out.Path
	cfg.Image.Config.WorkingDir = out.Path
	cfg.Set.Workdir = &set
	e.changed()
	if out.Path == "/" {
		e.history("WORKDIR /", false)
	} else {
		e.history("WORKDIR "+out.Path, true)
	}
	return out, nil
}

// setUser changes the user.
func (e *stageEval) setUser(n *spec.Node, key string, o *spec.Owner) (*UserStep, error) {
	out := &UserStep{User: Value{Raw: o.Raw, Text: o.String(), Node: n, Key: key, Range: o.Range}}
	e.begin(&out.stepBase)
	defer e.end(&out.stepBase)
	if o.IsTemplate() {
		v, err := e.scope().expandValue(n, key, o.Range, o.Raw)
		if err != nil {
			return nil, err
		}
		out.User = v
		if !v.Unknown {
			parsed, err := spec.ParseOwner(v.Text)
			if err != nil {
				return nil, e.c.errorf(n, key, o.Range, "%v", err)
			}
			out.User.Text = parsed.String()
		}
	}
	u := out.User
	e.cfg.Image.Config.User = u.Text
	e.cfg.Set.User = &u
	e.changed()
	e.history("USER "+u.Text, false)
	return out, nil
}

// stageArgs evaluates the args the stage declares, in order, before its
// env: a build arg of the name sets one; else its default, which may read
// the args before it; else the top-level arg's value (empty when there is
// none), as `ARG NAME` in a Dockerfile stage takes the global ARG's.
func (e *stageEval) stageArgs() error {
	st := e.sp.stage
	for i := range st.Args {
		a := &st.Args[i]
		v, given := e.c.opt.BuildArgs[a.Name]
		switch {
		case given:
		case a.NoDefault:
			v = e.c.args[a.Name]
			if _, declared := e.c.argOrder[a.Name]; declared {
				*e.reads = append(*e.reads, a.Name)
			}
		default:
			var err error
			if v, err = e.scope().expand(spec.Field(&st.Node, "args."+a.Name), "", a.Range, a.Value); err != nil {
				return err
			}
		}
		e.args = append(e.args, a.Name+"="+v)
		e.out.Args = append(e.out.Args, StageArg{Spec: a, Value: v})
		e.c.budget.spend(len(a.Name) + len(v))
	}
	return nil
}

// setShell changes the shell that string commands run with, as SHELL
// does; its arguments are not interpolated, as SHELL's are not.
func (e *stageEval) setShell(n *spec.Node, sh *spec.ShellArgs) *ShellStep {
	out := &ShellStep{Node: n, Shell: slices.Clone(sh.Args)}
	e.begin(&out.stepBase)
	defer e.end(&out.stepBase)
	e.cfg.Image.Config.Shell = out.Shell
	e.changed()
	e.history("SHELL "+sh.String(), false)
	return out
}
