package llbgraph

import (
	"strings"

	"github.com/moby/buildkit/client/llb"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// The apt and apk presets split what `apt-get update && apt-get install`
// does in one RUN into two execs, so that a build updates the package
// lists once per image instead of once per step.
//
// The lists exec (packageLists) runs the update on the image the stage's
// lineage starts from (stageBuild.listsImage), as root in /, and nothing of
// the stage reaches it but its proxy variables and the step's own env,
// mounts and network. Every step, stage and target that starts from the
// same image therefore makes the same LLB vertex, which BuildKit solves
// once per build and caches on the image's digest. It also writes a
// fingerprint of the package sources it updated from (aptSources,
// apkSources).
//
// Each install step mounts those lists as a copy that it throws away, so no
// lock is held from one step to another and parallel branches run
// together. It compares the fingerprint with its own sources: when an
// earlier step added a repository or a key (or a foreign architecture),
// they differ and the step updates its copy itself, as a Dockerfile's
// `apt-get update && apt-get install` does; so it does when the install
// fails (lists older than the mirror).
//
// Lists keyed on the content of each stage's sources (a mount of the
// stage's /etc/apt) were tried and do not dedupe within a build: the
// scheduler does not merge two edges when one depends on the other
// (solver/scheduler.go), and a stage that copies from another stage
// depends on that stage's apt steps, while a multi-input edge probes the
// cache for its image input before the other stage's record exists.

// Directories the apt and apk presets mount.
const (
	aptListsDir = "/var/lib/apt/lists"
	// aptCacheDir is where the shared apt cache is mounted. Not
	// /var/cache/apt: Debian images' docker-clean deletes the .debs under
	// /var/cache/apt/archives after every dpkg run, which would take them
	// from steps installing at the same time.
	aptCacheDir = "/var/cache/apt-shared"
	// aptCacheID is the cache's id, the one a Dockerfile's
	// `--mount=type=cache,target=/var/cache/apt` gets, which lays out its
	// files the same way (archives/).
	aptCacheID  = "/var/cache/apt"
	apkCacheDir = "/var/cache/apk"
	// sourcesFile holds the fingerprint of the sources the lists were
	// updated from, in the lists' directory.
	sourcesFile = "sources.md5"
)

// Fingerprints of the package sources a step sees: each file's checksum
// (symbolic links followed), and for apt the foreign architectures too.
const (
	aptSources = `{ find -L /etc/apt -type f -exec md5sum {} + | sort; dpkg --print-foreign-architectures; } | md5sum`
	apkSources = `cat /etc/apk/repositories /etc/apk/keys/* | md5sum`
)

// aptScript installs the packages set before it ("$@"). apt-get keeps its
// caches in the shared cache (-o Dir::Cache). The download runs under
// flock, so two steps never write the same file at once, and fetches only
// what no step has fetched before; the install then reads the cache
// without apt's own lock (Debug::NoLocking) and downloads nothing
// (--no-download), so installs run together.
const aptScript = `
apt_get() { apt-get -o Dir::Cache=` + aptCacheDir + ` -y --no-install-recommends "$@"; }
fetch() { (flock 9 && apt_get install --download-only "$@") 9>` + aptCacheDir + `/fetch.lock; }
{ [ "$(` + aptSources + `)" = "$(cat ` + aptListsDir + "/" + sourcesFile + `)" ] && fetch "$@"; } || { apt_get update && fetch "$@"; }
apt_get -o Debug::NoLocking=true install --no-download "$@"`

// aptCommand installs pkgs with apt-get from the image's lists and the
// shared apt cache.
func (e *stageEval) aptCommand(pkgs []string) command {
	cmd := scriptCommand("set -e\nset -- " + shellQuote(pkgs) + aptScript)
	cmd.lists = &PackageLists{Update: "apt-get update", Dir: aptListsDir, Sources: aptSources, Tmpfs: "/var/cache/apt"}
	cmd.caches = []CacheMount{{Target: aptCacheDir, Sharing: llb.CacheMountShared, ID: aptCacheID}}
	cmd.env = []string{"DEBIAN_FRONTEND=noninteractive"}
	return cmd
}

// apkCommand installs pkgs with apk from the image's indexes, or from
// indexes it fetches itself when its sources differ from the image's or
// the install fails. apk keeps packages and indexes in one directory, and
// apk-tools 2 downloads a package through a temporary file of a fixed
// name, so steps running together cannot share a package cache: each
// downloads into its copy of the indexes' directory.
func (e *stageEval) apkCommand(pkgs []string) command {
	add := "apk add --cache-dir " + apkCacheDir
	check := `[ "$(` + apkSources + `)" = "$(cat ` + apkCacheDir + "/" + sourcesFile + `)" ]`
	cmd := scriptCommand("{ " + check + " && " + add + " " + shellQuote(pkgs) + "; } || " + add + " --update-cache " + shellQuote(pkgs))
	cmd.lists = &PackageLists{Update: "apk update --cache-dir " + apkCacheDir, Dir: apkCacheDir, Sources: apkSources}
	return cmd
}

// listsImage is the image a stage's lineage starts from, and its name as
// the spec gives it; the zero value when it starts from scratch or a
// directory.
type listsImage struct {
	state llb.State
	name  string
}

// packageLists runs the lists' update with /bin/sh on the lineage's image,
// then writes the fingerprint of its sources, and returns the directory it
// wrote. It runs as root in /, with the stage's proxy variables and the
// step's own env, mounts and network (own), so that an arg the step reads
// busts its lists too. When the lineage starts from no image, it runs on
// base.
func (b *stageBuild) packageLists(base llb.State, s *RunStep, own []llb.RunOption, loc llb.ConstraintsOpt) llb.State {
	l := s.Lists
	root, name := b.listsImage.state, b.c.prefix(b.platform, b.listsImage.name)+" "+l.Update
	if root.Output() == nil {
		root, name = base, b.name(l.Update)
	}
	script := l.Update + " && " + l.Sources + " > " + l.Dir + "/" + sourcesFile
	opts := []llb.RunOption{llb.Args([]string{"/bin/sh", "-c", script}), llb.WithCustomName(spec.Escape(name)), loc}
	if l.Tmpfs != "" {
		opts = append(opts, llb.AddMount(l.Tmpfs, llb.Scratch(), llb.Tmpfs()))
	}
	// An error here is the budget's, which the stage reports after this step.
	_ = b.c.budget.spend(opCost + len(script))
	st := llb.NewState(root.Output()).Platform(b.platform)
	for _, kv := range s.Before().Image.Config.Env {
		if k, v, _ := strings.Cut(kv, "="); IsProxyArg(k) {
			st = st.AddEnv(k, v)
		}
	}
	return st.Run(append(opts, own...)...).AddMount(l.Dir, llb.Scratch())
}
