package check

import (
	"regexp"
	"strings"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// script returns what a run-like step runs, as one text: the shell form
// as written, the exec form joined, a preset as its tool and arguments.
func script(s spec.Step) string {
	switch s := s.(type) {
	case *spec.RunStep:
		return s.Run.String()
	case spec.Tool:
		tool, args := s.Command()
		return tool + " " + args.String()
	case *spec.AptStep:
		return "apt-get install " + strings.Join(spec.Values(s.Apt), " ")
	case *spec.ApkStep:
		return "apk add " + strings.Join(spec.Values(s.Apk), " ")
	}
	return ""
}

// tool is a package manager a run may call, with where it keeps its cache
// and the preset that mounts that cache.
type tool struct {
	name    string
	install *regexp.Regexp // a call that downloads packages
	caches  []string       // cache directories, as suffixes of a mount target
	preset  string         // the preset that does it right, or ""
	deps    bool           // installs the project's dependencies (not system packages)
}

var tools = []tool{
	{name: "apt-get", install: regexp.MustCompile(`\bapt(?:-get)?\s+(?:-\S+\s+)*install\b`), caches: []string{"/var/cache/apt", "/var/lib/apt"}, preset: "apt"},
	{name: "apk", install: regexp.MustCompile(`\bapk\s+(?:-\S+\s+)*add\b`), caches: []string{"/var/cache/apk", "/etc/apk/cache"}, preset: "apk"},
	{name: "pip", install: regexp.MustCompile(`\b(?:pip3?|python3?\s+-m\s+pip)\s+(?:-\S+\s+)*install\b`), caches: []string{"/.cache/pip"}, preset: "pip", deps: true},
	{name: "uv", install: regexp.MustCompile(`\buv\s+(?:-\S+\s+)*(?:sync|pip\s+install)\b`), caches: []string{"/.cache/uv"}, preset: "uv", deps: true},
	{name: "go", install: regexp.MustCompile(`\bgo\s+(?:build|mod\s+download)\b`), caches: []string{"/go/pkg/mod", "/.cache/go-build"}, preset: "go", deps: true},
	{name: "npm", install: regexp.MustCompile(`\bnpm\s+(?:-\S+\s+)*(?:ci|install|i)\b`), caches: []string{"/.npm"}, deps: true},
}

// installers returns the package managers a script calls to install.
func installers(text string) []*tool {
	var out []*tool
	for i := range tools {
		if tools[i].install.MatchString(text) {
			out = append(out, &tools[i])
		}
	}
	return out
}

// cached reports whether one of mounts is a cache on one of t's caches.
func cached(t *tool, mounts []spec.Mount) bool {
	for _, m := range mounts {
		if m.Type.Value != spec.MountCache {
			continue
		}
		target := strings.TrimSuffix(m.Target.Value, "/")
		for _, c := range t.caches {
			if strings.HasSuffix(target, c) || strings.HasPrefix(target+"/", c+"/") {
				return true
			}
		}
	}
	return false
}

// installsDependencies reports whether a step installs the project's
// dependencies: a run, or the pip, uv or go preset, calling pip, uv, go or
// npm to install.
func installsDependencies(s spec.Step) bool {
	for _, t := range installers(script(s)) {
		if t.deps {
			return true
		}
	}
	return false
}

// toolInstall returns what a step installs as a tool ("uv tool install
// ruff", "pip install black", "go install ...", "npm install -g ..."), or "".
func toolInstall(s spec.Step) string {
	text := script(s)
	if m := toolInstallRe.FindString(text); m != "" && !strings.Contains(text, "&&") && !strings.Contains(text, "\n") {
		return m
	}
	return ""
}

var toolInstallRe = regexp.MustCompile(`\b(?:uv\s+tool\s+install|pipx\s+install|go\s+install|npm\s+(?:install|i)\s+(?:-g|--global))\s+\S+`)

var (
	backgroundRe = regexp.MustCompile(`[^&|]&(?:\s*$|\s*\n|\s+[^&\s])`)
	waitRe       = regexp.MustCompile(`(?m)(?:^|[;&|]\s*|\s)wait\b`)
)

// backgrounds reports whether a script runs commands in the background and
// waits for them: a parallel group, hand-written.
func backgrounds(text string) bool {
	return backgroundRe.MatchString(text) && waitRe.MatchString(text)
}

// cleanupRe matches removing a package manager's lists or caches.
var cleanupRe = regexp.MustCompile(`\brm\s+(?:-\S+\s+)*(?:\S+\s+)*(/var/lib/apt/lists\S*|/var/cache/apt\S*|/var/cache/apk\S*|(?:/root|~|\$HOME)/\.cache(?:/\S*)?|/tmp/pip\S*)`)

// noInstallRecommendsRe matches what keeps apt from installing recommends.
var noInstallRecommendsRe = regexp.MustCompile(`--no-install-recommends|APT::Install-Recommends=(?:false|0)|Install-Recommends\s+"?(?:false|0)`)
