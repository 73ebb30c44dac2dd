package llbgraph

import (
	"os"
	"path"

	"github.com/moby/buildkit/client/llb"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// mounts compiles a run-like step's mounts, with RUN --mount's semantics.
func (b *stageBuild) mounts(s *spec.Step) ([]llb.RunOption, error) {
	out := make([]llb.RunOption, 0, len(s.Mounts))
	for i := range s.Mounts {
		m := &s.Mounts[i]
		opt, err := b.mount(m)
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
		in  string
		out *string
	}{{"target", m.Target, &e.target}, {"id", m.ID, &e.id}, {"source", m.Source, &e.source}, {"env", m.Env, &e.env}} {
		v, err := sc.expand(m.Node, f.key, f.in)
		if err != nil {
			return e, err
		}
		*f.out = v
	}
	if e.target != "" && !path.IsAbs(e.target) {
		e.target = path.Join("/", b.image.Config.WorkingDir, e.target)
	}
	return e, nil
}

func (b *stageBuild) mount(m *spec.Mount) (llb.RunOption, error) {
	e, err := b.expandMount(m)
	if err != nil {
		return nil, err
	}
	if path.Clean(e.target) == "/" && m.Type != "secret" && m.Type != "ssh" {
		return nil, m.Node.Errorf(b.c.spec.Filename, "target", "a mount cannot cover / (the step's root)")
	}
	switch m.Type {
	case "secret":
		return b.secretMount(m, e), nil
	case "ssh":
		return b.sshMount(m, e), nil
	case "tmpfs":
		var size int64
		if m.Node.Has("size") {
			size, _ = spec.ParseSize(m.Size) // validated by Load
		}
		return llb.AddMount(e.target, llb.Scratch(), llb.Tmpfs(llb.TmpfsSize(size))), nil
	case "bind":
		st := b.p.main
		if src, ok := b.p.refs[m]; ok {
			st = b.c.sourceState(src, b.name("from "+src.name), m.Node.Field("from"))
		}
		opts := []llb.MountOption{}
		if m.Readwrite {
			opts = append(opts, llb.ForceNoOutput) // writes are thrown away, as in RUN --mount=type=bind,rw
		} else {
			opts = append(opts, llb.Readonly)
		}
		if src := path.Join("/", e.source); src != "/" {
			opts = append(opts, llb.SourcePath(src))
		}
		return llb.AddMount(e.target, st, opts...), nil
	default: // cache
		return b.cacheMountOf(m, e), nil
	}
}

// cacheMountOf compiles a cache mount. As in the Dockerfile frontend, the id
// defaults to the target, and uid, gid or mode make the new cache directory
// with that owner and mode.
func (b *stageBuild) cacheMountOf(m *spec.Mount, e expanded) llb.RunOption {
	sharing := llb.CacheMountShared
	switch m.Sharing {
	case "private":
		sharing = llb.CacheMountPrivate
	case "locked":
		sharing = llb.CacheMountLocked
	}
	id := e.id
	if id == "" {
		id = path.Clean(e.target)
	}
	st := llb.Scratch()
	if src, ok := b.p.refs[m]; ok {
		st = b.c.sourceState(src, b.name("from "+src.name), m.Node.Field("from"))
	}
	opts := []llb.MountOption{llb.AsPersistentCacheDir(b.c.opt.CacheIDNamespace+"/"+id, sharing)}
	if m.Readonly {
		opts = append(opts, llb.Readonly)
	}
	if src := path.Join("/", e.source); src != "/" {
		opts = append(opts, llb.SourcePath(src))
	} else if m.UID != nil || m.GID != nil || m.Node.Has("mode") {
		mode := os.FileMode(0o755)
		if m.Node.Has("mode") {
			mode, _ = spec.ParseMode(m.Mode) // validated by Load
		}
		st = st.File(llb.Mkdir("/cache", mode, llb.WithUIDGID(deref(m.UID), deref(m.GID))),
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
	opts := []llb.SecretOption{llb.SecretID(id)}
	if !m.Required {
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
	if m.UID != nil || m.GID != nil || m.Node.Has("mode") {
		mode := os.FileMode(0o400)
		if m.Node.Has("mode") {
			mode, _ = spec.ParseMode(m.Mode)
		}
		opts = append(opts, llb.SecretFileOpt(deref(m.UID), deref(m.GID), int(mode)))
	}
	return llb.AddSecretWithDest(id, target, opts...)
}

// sshMount forwards an ssh agent socket.
func (b *stageBuild) sshMount(m *spec.Mount, e expanded) llb.RunOption {
	opts := []llb.SSHOption{llb.SSHID(e.id)}
	if e.target != "" {
		opts = append(opts, llb.SSHSocketTarget(e.target))
	}
	if !m.Required {
		opts = append(opts, llb.SSHOptional)
	}
	if m.UID != nil || m.GID != nil || m.Node.Has("mode") {
		mode := os.FileMode(0o600)
		if m.Node.Has("mode") {
			mode, _ = spec.ParseMode(m.Mode)
		}
		opts = append(opts, llb.SSHSocketOpt(e.target, deref(m.UID), deref(m.GID), int(mode)))
	}
	return llb.AddSSHSocket(opts...)
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}
