package llbgraph

import (
	"strings"

	"github.com/moby/buildkit/client/llb"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// Presets expand to ordinary runs with the cache mounts and environment the
// tool's best practice asks for. docs/spec.md lists exactly what each one
// produces; keep the two in step.

// aptKeepCache replaces the Debian image's docker-clean, which deletes
// downloaded packages and so defeats a cache mount on /var/cache/apt.
const aptKeepCache = `rm -f /etc/apt/apt.conf.d/docker-clean && echo 'Binary::apt::APT::Keep-Downloaded-Packages "true";' > /etc/apt/apt.conf.d/keep-cache && `

// Cache directories the presets mount.
const (
	aptCacheDir   = "/var/cache/apt"
	aptListsDir   = "/var/lib/apt"
	apkCacheDir   = "/var/cache/apk"
	pipCacheDir   = "/root/.cache/pip"
	uvCacheDir    = "/root/.cache/uv"
	goModCacheDir = "/go/pkg/mod"
	goBuildDir    = "/root/.cache/go-build"
)

// preset compiles an apt, apk, pip, uv or go step to a command.
func (b *stageBuild) preset(s *spec.Step) (command, error) {
	kind := s.Kind()
	if u := b.image.Config.User; !isRoot(u) {
		return command{}, s.Node.Errorf(b.c.spec.Filename, kind, "the %s preset runs as root, with root's caches, but this step runs as %q: move it before `user: %s`, or use run with cache mounts of your own", kind, u, u)
	}
	sc := b.scope()
	// apt and apk keep their caches locked, so no two steps write them at
	// once. In a parallel group that would run the branches one after
	// another; there each branch gets a private cache instead (a free one,
	// or a new one when all are busy).
	pkgSharing := llb.CacheMountLocked
	if b.inParallel {
		pkgSharing = llb.CacheMountPrivate
	}
	switch kind {
	case "apt", "apk":
		list := s.Apt
		if kind == "apk" {
			list = s.Apk
		}
		pkgs, err := sc.expandAll(s.Node, kind, list)
		if err != nil {
			return command{}, err
		}
		if kind == "apk" {
			cmd := b.runCommand(&spec.Command{Shell: "apk add --update-cache --cache-dir " + apkCacheDir + " " + shellQuote(pkgs)})
			cmd.mounts = []llb.RunOption{b.cacheMount(apkCacheDir, pkgSharing)}
			return cmd, nil
		}
		script := "apt-get update && apt-get install -y --no-install-recommends " + shellQuote(pkgs)
		if !b.aptReady {
			script = aptKeepCache + script
		}
		cmd := b.runCommand(&spec.Command{Shell: script})
		cmd.mounts = []llb.RunOption{
			b.cacheMount(aptCacheDir, pkgSharing),
			b.cacheMount(aptListsDir, pkgSharing),
		}
		cmd.env = []string{"DEBIAN_FRONTEND=noninteractive"}
		return cmd, nil
	case "pip":
		cmd := b.toolCommand("pip", s.Pip)
		cmd.mounts = []llb.RunOption{b.cacheMount(pipCacheDir, llb.CacheMountShared)}
		cmd.env = []string{"PIP_CACHE_DIR=" + pipCacheDir, "PIP_DISABLE_PIP_VERSION_CHECK=1"}
		return cmd, nil
	case "uv":
		cmd := b.toolCommand("uv", s.Uv)
		// Shared, not locked: uv locks its cache itself, and a locked mount
		// would serialize the branches of a parallel group.
		cmd.mounts = []llb.RunOption{b.cacheMount(uvCacheDir, llb.CacheMountShared)}
		cmd.env = []string{"UV_CACHE_DIR=" + uvCacheDir, "UV_LINK_MODE=copy"}
		return cmd, nil
	default: // go
		cmd := b.toolCommand("go", s.Go)
		cmd.mounts = []llb.RunOption{
			b.cacheMount(goModCacheDir, llb.CacheMountShared),
			b.cacheMount(goBuildDir, llb.CacheMountShared),
		}
		cmd.env = []string{"GOMODCACHE=" + goModCacheDir, "GOCACHE=" + goBuildDir}
		return cmd, nil
	}
}

// cacheMount mounts the cache a preset uses, with the id a Dockerfile's
// `RUN --mount=type=cache,target=dir` gets, so both share one cache.
func (b *stageBuild) cacheMount(dir string, sharing llb.CacheMountSharingMode) llb.RunOption {
	return llb.AddMount(dir, llb.Scratch(), llb.AsPersistentCacheDir(b.c.opt.CacheIDNamespace+"/"+dir, sharing))
}

// isRoot reports whether a config's user is root.
func isRoot(user string) bool {
	name, _, _ := strings.Cut(user, ":")
	return name == "" || name == "root" || name == "0"
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
