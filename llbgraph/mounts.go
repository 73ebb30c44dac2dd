package llbgraph

import (
	"os"
	"path"

	"github.com/moby/buildkit/client/llb"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// mounts evaluates a run-like step's mounts.
func (e *stageEval) mounts(ms []spec.Mount) ([]*Mount, error) {
	out := make([]*Mount, 0, len(ms))
	for i := range ms {
		m, err := e.mount(&ms[i])
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// mount evaluates a mount: its values expanded, its target made absolute,
// and what it reads.
func (e *stageEval) mount(m *spec.Mount) (*Mount, error) {
	sc := e.scope()
	out := &Mount{Spec: m}
	for _, f := range []struct {
		key string
		in  spec.String
		out *string
	}{{"target", m.Target, &out.Target}, {"id", m.ID, &out.ID}, {"source", m.Source, &out.Source}, {"env", m.Env, &out.Env}} {
		v, err := sc.expand(&m.Node, f.key, f.in.Range, f.in.Value)
		if err != nil {
			return nil, err
		}
		*f.out = v
	}
	if out.Target != "" && !path.IsAbs(out.Target) {
		out.Target = path.Join("/", e.cfg.Image.Config.WorkingDir, out.Target)
	}
	if out.Target != "" && path.Clean(out.Target) == "/" {
		return nil, e.c.errorf(&m.Node, "target", m.Target.Range, "a mount cannot cover / (the step's root)")
	}
	if r := e.p.refs[m]; r != nil {
		out.From = r
		*e.reads = append(*e.reads, r.Reads...)
	}
	return out, nil
}

// mount builds a mount, with RUN --mount's semantics.
func (b *stageBuild) mount(m *Mount) (llb.RunOption, error) {
	switch m.Spec.Type.Value {
	case spec.MountSecret:
		return b.secretMount(m), nil
	case spec.MountSSH:
		return b.sshMount(m), nil
	case spec.MountTmpfs:
		var size int64
		if m.Spec.Size != nil {
			size = m.Spec.Size.Value
		}
		return llb.AddMount(m.Target, llb.Scratch(), llb.Tmpfs(llb.TmpfsSize(size))), nil
	case spec.MountBind:
		st := b.p.main
		if m.From != nil {
			st = b.c.sourceState(m.From.src, b.inputName("from "+m.From.src.name), m.Spec.From.Range)
		}
		opts := []llb.MountOption{}
		if m.Spec.Readwrite.Value {
			opts = append(opts, llb.ForceNoOutput) // writes are thrown away, as in RUN --mount=type=bind,rw
		} else {
			opts = append(opts, llb.Readonly)
		}
		if src := path.Join("/", m.Source); src != "/" {
			opts = append(opts, llb.SourcePath(src))
		}
		return llb.AddMount(m.Target, st, opts...), nil
	case spec.MountCache:
		return b.cacheMountOf(m), nil
	}
	return nil, b.c.errorf(&m.Spec.Node, "type", m.Spec.Type.Range, "unknown mount type %s", spec.Quote(string(m.Spec.Type.Value)))
}

// cacheMountOf compiles a cache mount. As in the Dockerfile frontend, the id
// defaults to the target, and uid, gid or mode make the new cache directory
// with that owner and mode.
func (b *stageBuild) cacheMountOf(em *Mount) llb.RunOption {
	m := em.Spec
	sharing := llb.CacheMountShared
	switch m.Sharing.Value {
	case spec.SharingPrivate:
		sharing = llb.CacheMountPrivate
	case spec.SharingLocked:
		sharing = llb.CacheMountLocked
	}
	id := em.ID
	if id == "" {
		id = path.Clean(em.Target)
	}
	st := llb.Scratch()
	if r := em.From; r != nil {
		st = b.c.sourceState(r.src, b.inputName("from "+r.src.name), m.From.Range)
	}
	opts := []llb.MountOption{llb.AsPersistentCacheDir(b.c.cacheID(id), sharing)}
	if m.Readonly.Value {
		opts = append(opts, llb.Readonly)
	}
	if src := path.Join("/", em.Source); src != "/" {
		opts = append(opts, llb.SourcePath(src))
	} else if m.UID != nil || m.GID != nil || m.Mode != nil {
		st = st.File(llb.Mkdir("/cache", modeOr(m.Mode, 0o755), llb.WithUIDGID(intOr(m.UID), intOr(m.GID))),
			llb.WithCustomName("[internal] setting cache mount permissions"))
		opts = append(opts, llb.SourcePath("/cache"))
	}
	return llb.AddMount(em.Target, st, opts...)
}

// secretMount mounts a secret as a file or an environment variable. Only
// its id reaches the LLB; BuildKit fetches the value from the client when
// the step runs.
func (b *stageBuild) secretMount(em *Mount) llb.RunOption {
	m := em.Spec
	id := em.SecretID()
	opts := []llb.SecretOption{llb.SecretID(id)}
	if !m.Required.Value {
		opts = append(opts, llb.SecretOptional)
	}
	var target *string
	if em.Env != "" {
		opts = append(opts, llb.SecretAsEnvName(em.Env))
	} else {
		dest := em.Target
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
func (b *stageBuild) sshMount(em *Mount) llb.RunOption {
	m := em.Spec
	var opts []llb.SSHOption
	if em.ID != "" {
		opts = append(opts, llb.SSHID(em.ID))
	}
	if em.Target != "" {
		opts = append(opts, llb.SSHSocketTarget(em.Target))
	}
	if !m.Required.Value {
		opts = append(opts, llb.SSHOptional)
	}
	if m.UID != nil || m.GID != nil || m.Mode != nil {
		opts = append(opts, llb.SSHSocketOpt(em.Target, intOr(m.UID), intOr(m.GID), int(modeOr(m.Mode, 0o600))))
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
