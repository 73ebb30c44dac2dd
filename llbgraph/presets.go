package llbgraph

import (
	"strings"

	"github.com/moby/buildkit/client/llb"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// Presets expand to ordinary runs with the cache mounts and environment the
// tool's best practice asks for. docs/spec.md lists exactly what each one
// produces; keep the two in step.

// Cache directories the pip, uv and go presets mount (apt and apk:
// presets_packages.go).
const (
	pipCacheDir   = "/root/.cache/pip"
	uvCacheDir    = "/root/.cache/uv"
	goModCacheDir = "/go/pkg/mod"
	goBuildDir    = "/root/.cache/go-build"
)

// preset evaluates an apt, apk, pip, uv or go step to a command.
func (e *stageEval) preset(s spec.RunLike) (command, error) {
	kind := s.Kind()
	n := s.StepNode()
	if u := e.cfg.Image.Config.User; !spec.IsRootUser(u) {
		return command{}, e.c.errorf(n, string(kind), kindRange(s), "the %s preset runs as root, with root's caches, but this step runs as %s: move it before `user: %s`, or use run with cache mounts of your own", kind, spec.Quote(u), u)
	}
	sc := e.scope()
	switch s := s.(type) {
	case *spec.ApkStep:
		pkgs, err := sc.expandList(n, "apk", s.Apk)
		if err != nil {
			return command{}, err
		}
		return e.apkCommand(pkgs), nil
	case *spec.AptStep:
		pkgs, err := sc.expandList(n, "apt", s.Apt)
		if err != nil {
			return command{}, err
		}
		return e.aptCommand(pkgs), nil
	case *spec.PipStep:
		cmd := e.toolCommand("pip", &s.Pip)
		cmd.caches = []CacheMount{{Target: pipCacheDir, Sharing: llb.CacheMountShared}}
		cmd.env = []string{"PIP_CACHE_DIR=" + pipCacheDir, "PIP_DISABLE_PIP_VERSION_CHECK=1"}
		return cmd, nil
	case *spec.UvStep:
		cmd := e.toolCommand("uv", &s.Uv)
		// Shared, not locked: uv locks its cache itself, and a locked mount
		// would serialize the branches of a parallel group.
		cmd.caches = []CacheMount{{Target: uvCacheDir, Sharing: llb.CacheMountShared}}
		cmd.env = []string{"UV_CACHE_DIR=" + uvCacheDir, "UV_LINK_MODE=copy"}
		return cmd, nil
	case *spec.GoStep:
		cmd := e.toolCommand("go", &s.Go)
		cmd.caches = []CacheMount{
			{Target: goModCacheDir, Sharing: llb.CacheMountShared},
			{Target: goBuildDir, Sharing: llb.CacheMountShared},
		}
		cmd.env = []string{"GOMODCACHE=" + goModCacheDir, "GOCACHE=" + goBuildDir}
		return cmd, nil
	}
	return command{}, e.c.errorf(n, "", n.Range, "%s is not a preset", kind)
}

// cacheMount mounts the cache a preset uses, with the id a Dockerfile's
// `RUN --mount=type=cache,target=dir` gets, so both share one cache.
func (b *stageBuild) cacheMount(m CacheMount) llb.RunOption {
	id := m.ID
	if id == "" {
		id = m.Target
	}
	return llb.AddMount(m.Target, llb.Scratch(), llb.AsPersistentCacheDir(b.c.cacheID(id), m.Sharing))
}

// cacheID is the id of a cache mount, as the Dockerfile frontend makes it
// (dockerfile2llb/convert_runmount.go): the namespace, a slash, the id.
func (c *compiler) cacheID(id string) string {
	return c.opt.CacheIDNamespace + "/" + id
}

// shellQuote joins words for /bin/sh, quoting each that needs it.
func shellQuote(words []string) string {
	out := make([]string, len(words))
	for i, w := range words {
		if w != "" && strings.Trim(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_+:=/@") == "" {
			out[i] = w
			continue
		}
		out[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}

// kindRange is where a step's kind key's value is: its command or its
// first package.
func kindRange(s spec.Step) spec.Range {
	switch s := s.(type) {
	case *spec.RunStep:
		return s.Run.Range
	case spec.Tool:
		_, args := s.Command()
		return args.Range
	case *spec.AptStep:
		if len(s.Apt) > 0 {
			return s.Apt[0].Range
		}
	case *spec.ApkStep:
		if len(s.Apk) > 0 {
			return s.Apk[0].Range
		}
	}
	return s.StepNode().Range
}
