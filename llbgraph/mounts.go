package llbgraph

import (
	"os"
	"path"

	"github.com/moby/buildkit/client/llb"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// mounts compiles a run-like step's mounts, with RUN --mount's semantics.
func (b *stageBuild) mounts(ms []spec.Mount) ([]llb.RunOption, error) {
	out := make([]llb.RunOption, 0, len(ms))
	for i := range ms {
		opt, err := b.mount(&ms[i])
		if err != nil {
			return nil, err
		}
		out = append(out, opt)
	}
	return out, nil
}

// expanded is a mount's string fields after interpolation.
type expanded struct {
	target, id, source, env string
}

func (b *stageBuild) expandMount(m *spec.Mount) (expanded, error) {
	sc := b.scope()
	var e expanded
	for _, f := range []struct {
		key string
		in  spec.String
		out *string
	}{{"target", m.Target, &e.target}, {"id", m.ID, &e.id}, {"source", m.Source, &e.source}, {"env", m.Env, &e.env}} {
		v, err := sc.expand(&m.Node, f.key, f.in.Range, f.in.Value)
		if err != nil {
			return e, err
		}
		*f.out = v
	}
	if e.target != "" && !path.IsAbs(e.target) {
		e.target = path.Join("/", b.cfg.img.Config.WorkingDir, e.target)
	}
	return e, nil
}

func (b *stageBuild) mount(m *spec.Mount) (llb.RunOption, error) {
	e, err := b.expandMount(m)
	if err != nil {
		return nil, err
	}
	if e.target != "" && path.Clean(e.target) == "/" {
		return nil, b.c.errorf(&m.Node, "target", m.Target.Range, "a mount cannot cover / (the step's root)")
	}
	switch m.Type.Value {
	case spec.MountSecret:
		return b.secretMount(m, e), nil
	case spec.MountSSH:
		return b.sshMount(m, e), nil
	case spec.MountTmpfs:
		var size int64
		if m.Size != nil {
			size = m.Size.Value
		}
		return llb.AddMount(e.target, llb.Scratch(), llb.Tmpfs(llb.TmpfsSize(size))), nil
	case spec.MountBind:
		st := b.p.main
		if src, ok := b.p.refs[m]; ok {
			st = b.c.sourceState(src, b.inputName("from "+src.name), m.From.Range)
		}
		opts := []llb.MountOption{}
		if m.Readwrite.Value {
			opts = append(opts, llb.ForceNoOutput) // writes are thrown away, as in RUN --mount=type=bind,rw
		} else {
			opts = append(opts, llb.Readonly)
		}
		if src := path.Join("/", e.source); src != "/" {
			opts = append(opts, llb.SourcePath(src))
		}
		return llb.AddMount(e.target, st, opts...), nil
	case spec.MountCache:
		return b.cacheMountOf(m, e), nil
	}
	return nil, b.c.errorf(&m.Node, "type", m.Type.Range, "unknown mount type %s", spec.Quote(string(m.Type.Value)))
}

// cacheMountOf compiles a cache mount. As in the Dockerfile frontend, the id
// defaults to the target, and uid, gid or mode make the new cache directory
// with that owner and mode.
func (b *stageBuild) cacheMountOf(m *spec.Mount, e expanded) llb.RunOption {
	sharing := llb.CacheMountShared
	switch m.Sharing.Value {
	case spec.SharingPrivate:
		sharing = llb.CacheMountPrivate
	case spec.SharingLocked:
		sharing = llb.CacheMountLocked
	}
	id := e.id
	if id == "" {
		id = path.Clean(e.target)
	}
	st := llb.Scratch()
	if src, ok := b.p.refs[m]; ok {
		st = b.c.sourceState(src, b.inputName("from "+src.name), m.From.Range)
	}
	opts := []llb.MountOption{llb.AsPersistentCacheDir(b.c.cacheID(id), sharing)}
	if m.Readonly.Value {
		opts = append(opts, llb.Readonly)
	}
	if src := path.Join("/", e.source); src != "/" {
		opts = append(opts, llb.SourcePath(src))
	} else if m.UID != nil || m.GID != nil || m.Mode != nil {
		st = st.File(llb.Mkdir("/cache", modeOr(m.Mode, 0o755), llb.WithUIDGID(intOr(m.UID), intOr(m.GID))),
			llb.WithCustomName("[internal] setting cache mount permissions"))
		opts = append(opts, llb.SourcePath("/cache"))
	}
	return llb.AddMount(e.target, st, opts...)
}

// secretMount mounts a secret as a file or an environment variable. Only
// its id reaches the LLB; BuildKit fetches the value from the client when
// the step runs.
func (b *stageBuild) secretMount(m *spec.Mount, e expanded) llb.RunOption {
	id := e.id
	if id == "" {
		id = path.Base(e.target)
	}
	if b.c.capture != nil {
		b.c.capture.secret(id, m.Required.Value, m.Node.Range)
	}
	opts := []llb.SecretOption{llb.SecretID(id)}
	if !m.Required.Value {
		opts = append(opts, llb.SecretOptional)
	}
	var target *string
	if e.env != "" {
		opts = append(opts, llb.SecretAsEnvName(e.env))
	} else {
		dest := e.target
		if dest == "" {
			dest = "/run/secrets/" + path.Base(id)
		}
		target = &dest
	}
	if m.UID != nil || m.GID != nil || m.Mode != nil {
		opts = append(opts, llb.SecretFileOpt(intOr(m.UID), intOr(m.GID), int(modeOr(m.Mode, 0o400))))
	}
	return llb.AddSecretWithDest(id, target, opts...)
}

// sshMount forwards an ssh agent socket.
func (b *stageBuild) sshMount(m *spec.Mount, e expanded) llb.RunOption {
	id := e.id
	if id == "" {
		id = "default"
	}
	if b.c.capture != nil {
		b.c.capture.ssh(id, m.Required.Value, m.Node.Range)
	}
	var opts []llb.SSHOption
	if e.id != "" {
		opts = append(opts, llb.SSHID(e.id))
	}
	if e.target != "" {
		opts = append(opts, llb.SSHSocketTarget(e.target))
	}
	if !m.Required.Value {
		opts = append(opts, llb.SSHOptional)
	}
	if m.UID != nil || m.GID != nil || m.Mode != nil {
		opts = append(opts, llb.SSHSocketOpt(e.target, intOr(m.UID), intOr(m.GID), int(modeOr(m.Mode, 0o600))))
	}
	return llb.AddSSHSocket(opts...)
}

func intOr(p *spec.Int) int {
	if p == nil {
		return 0
	}
	return p.Value
}

func modeOr(m *spec.Mode, def os.FileMode) os.FileMode {
	if m == nil {
		return def
	}
	return m.Value
}
