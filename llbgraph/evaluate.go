package llbgraph

import (
	"path"
	"strings"

	"github.com/moby/buildkit/client/llb"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

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
	if s.Kind() == spec.KindApt {
		b.aptReady = true
	}
	return nil
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
