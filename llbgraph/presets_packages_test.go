package llbgraph

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
)

// packagesSpec has apt steps in one stage, after a run, in a parallel
// group of a stage built from it, in a stage with other env and user on
// the same image, and in a stage on another image.
const packagesSpec = `version: 1
args:
  CACHE_DATE: ""
stages:
  base:
    from: python:3.11-slim
    workdir: /app
    steps:
      - apt: [curl]
      - run: echo hi > /hi
      - apt: [git]
  dev:
    from: base
    env: {TOOLS: "yes"}
    steps:
      - parallel:
          - apt: [black]
          - apt: [flake8]
  other:
    from: python:3.11-slim
    env: {http_proxy: "http://proxy:3128", NOT_A_PROXY: "x"}
    steps:
      - apt: [jq]
  busted:
    from: python:3.11-slim
    steps:
      - apt: [wget]
        env: {CACHE_DATE: "${CACHE_DATE}"}
  prod:
    from: debian:bookworm-slim
    steps:
      - apt: [python3]
  all:
    from: scratch
    steps:
      - copy: {from: dev, src: /hi, dst: /dev}
      - copy: {from: prod, src: /etc/hostname, dst: /prod}
      - copy: {from: other, src: /etc/hostname, dst: /other}
`

// The package lists are one exec per image, whatever stages, steps and
// parallel branches install from it: each runs apt-get update on the image
// alone, keeping apt's binary cache of the lists beside them, and writes
// the fingerprint of its sources. Each install mounts a copy of them, the
// shared apt cache, and archives of its own.
func TestAptListsOncePerImage(t *testing.T) {
	g := marshal(t, compile(t, loadSpec(t, packagesSpec), testOpt("all")).State)
	lists := g.find("apt-get update")
	if len(lists) != 3 { // python's (other adds a proxy), other's, debian's
		t.Fatalf("%d lists execs, want 3 (python:3.11-slim, the same with other's proxy, debian:bookworm-slim): %v", len(lists), names(g, lists))
	}
	images := map[string]bool{}
	for _, d := range lists {
		op := g.ops[d]
		ex := op.GetExec()
		if len(op.Inputs) != 1 {
			t.Fatalf("%s reads %d states, want only the image", g.name(d), len(op.Inputs))
		}
		src := g.ops[digest.Digest(op.Inputs[0].Digest)].GetSource()
		if src == nil {
			t.Fatalf("%s does not run on an image", g.name(d))
		}
		images[src.Identifier] = true
		want := "apt-get -o Dir::Cache::srcpkgcache=/var/lib/apt/lists/srcpkgcache.bin -o Dir::Cache::pkgcache= update && " + aptSources + " > /var/lib/apt/lists/sources.md5"
		if !slices.Equal(ex.Meta.Args, []string{"/bin/sh", "-c", want}) {
			t.Errorf("%s runs %q, want %q", g.name(d), ex.Meta.Args, want)
		}
		if ex.Meta.Cwd != "/" || ex.Meta.User != "" {
			t.Errorf("%s runs in %q as %q, want / as root", g.name(d), ex.Meta.Cwd, ex.Meta.User)
		}
		if m := mountOf(t, op, "/var/cache/apt"); m.MountType != pb.MountType_TMPFS {
			t.Errorf("%s: /var/cache/apt is %v, want tmpfs", g.name(d), m.MountType)
		}
		if m := mountOf(t, op, aptListsDir); m.Input != int64(pb.Empty) || m.Output == int64(pb.SkipOutput) {
			t.Errorf("%s: the lists mount is not a new output: %+v", g.name(d), m)
		}
		for _, e := range ex.Meta.Env {
			if !strings.HasPrefix(e, "http_proxy=") {
				t.Errorf("%s has the stage's env %q", g.name(d), e)
			}
		}
	}
	if len(images) != 2 {
		t.Errorf("the lists run on %v, want python:3.11-slim and debian:bookworm-slim", images)
	}

	installs := g.find("] apt: ")
	installs = append(installs, g.find("parallel")...)
	n := 0
	for _, d := range installs {
		op := g.ops[d]
		if op.GetExec() == nil || !strings.Contains(g.name(d), "apt: ") {
			continue
		}
		n++
		m := mountOf(t, op, aptListsDir)
		if m.Output != int64(pb.SkipOutput) || m.Readonly || m.ContentCache != pb.MountContentCache_OFF || !slices.Contains(lists, digest.Digest(op.Inputs[m.Input].Digest)) {
			t.Errorf("%s does not mount a copy of the lists, keyed on the lists' exec: %+v", g.name(d), m)
		}
		if a := mountOf(t, op, aptArchivesDir); a.Input != int64(pb.Empty) || a.Output != int64(pb.SkipOutput) || a.MountType != pb.MountType_BIND {
			t.Errorf("%s: its archives are not an empty directory it throws away: %+v", g.name(d), a)
		}
		c := mountOf(t, op, aptCacheDir)
		if c.CacheOpt.GetID() != "//var/cache/apt" || c.CacheOpt.GetSharing() != pb.CacheSharingOpt_SHARED {
			t.Errorf("%s: apt cache %+v, want id //var/cache/apt, shared", g.name(d), c.CacheOpt)
		}
		script := op.GetExec().Meta.Args[2]
		if !strings.HasPrefix(script, "set -e\nset -- ") || !strings.HasSuffix(script, aptScript) || strings.Contains(script, "docker-clean") {
			t.Errorf("%s runs %q", g.name(d), script)
		}
	}
	if n != 6 { // busted is not reached
		t.Errorf("%d apt installs, want 6", n)
	}
}

// An arg that an apt step reads through its env busts its lists, and only
// the stage whose cache is off updates them again.
func TestAptListsBusting(t *testing.T) {
	s := loadSpec(t, packagesSpec)
	listsOf := func(opt Opt, step string) (digest.Digest, *pb.Op, *graph) {
		g := marshal(t, compile(t, s, opt).State)
		_, op := g.one(t, step)
		m := mountOf(t, op, aptListsDir)
		d := digest.Digest(op.Inputs[m.Input].Digest)
		return d, g.ops[d], g
	}
	opt := testOpt("busted")
	opt.BuildArgs = map[string]string{"CACHE_DATE": "1"}
	one, op, _ := listsOf(opt, "apt: wget")
	if !slices.Contains(op.GetExec().Meta.Env, "CACHE_DATE=1") {
		t.Errorf("the step's env is not in its lists: %v", op.GetExec().Meta.Env)
	}
	opt.BuildArgs["CACHE_DATE"] = "2"
	if two, _, _ := listsOf(opt, "apt: wget"); two == one {
		t.Errorf("a new CACHE_DATE keeps the lists")
	}
	plain, _, _ := listsOf(testOpt("base"), "apt: curl")
	if plain == one {
		t.Errorf("the step's env does not reach its lists")
	}

	opt = testOpt("all")
	opt.NoCache = func(stage string) bool { return stage == "prod" }
	d, _, g := listsOf(opt, "apt: python3")
	if !g.def.Metadata[d].IgnoreCache {
		t.Errorf("--no-cache-filter=prod leaves prod's lists cached")
	}
	if d, _, g := listsOf(opt, "apt: jq"); g.def.Metadata[d].IgnoreCache {
		t.Errorf("--no-cache-filter=prod does not cache other's lists")
	}
}

// A lineage that starts from no image updates its lists on the step's own
// state.
func TestAptListsFromScratch(t *testing.T) {
	g := marshal(t, compile(t, loadSpec(t, `version: 1
stages:
  rootfs:
    from: scratch
    steps:
      - copy: {from: debian:bookworm-slim, src: /, dst: /}
      - apt: [curl]
`), testOpt("")).State)
	d, op := g.one(t, "apt-get update")
	copyOp, _ := g.one(t, "copy: from debian")
	if len(op.Inputs) != 1 || digest.Digest(op.Inputs[0].Digest) != copyOp {
		t.Errorf("%s does not run on the step's state", g.name(d))
	}
}

// apk: the same split, the indexes in /var/cache/apk.
func TestApkListsOncePerImage(t *testing.T) {
	g := marshal(t, compile(t, loadSpec(t, `version: 1
stages:
  a:
    from: python:3.11-alpine
    steps:
      - apk: [curl]
      - run: echo hi > /hi
      - parallel:
          - apk: [git]
          - apk: [jq]
`), testOpt("")).State)
	d, op := g.one(t, "apk update")
	want := "apk update --cache-dir /var/cache/apk && " + apkSources + " > /var/cache/apk/sources.md5"
	if args := op.GetExec().Meta.Args; !slices.Equal(args, []string{"/bin/sh", "-c", want}) {
		t.Errorf("the apk lists run %q, want %q", args, want)
	}
	for _, step := range []string{"apk: curl", "apk: git", "apk: jq"} {
		_, op := g.one(t, step)
		m := mountOf(t, op, apkCacheDir)
		if m.Output != int64(pb.SkipOutput) || digest.Digest(op.Inputs[m.Input].Digest) != d {
			t.Errorf("%s does not mount a copy of the indexes: %+v", step, m)
		}
		if script := op.GetExec().Meta.Args[2]; !strings.Contains(script, "|| apk add --cache-dir /var/cache/apk --update-cache ") {
			t.Errorf("%s runs %q", step, script)
		}
	}
}

func names(g *graph, ds []digest.Digest) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = g.name(d)
	}
	return out
}

// docs/spec.md shows exactly the scripts the apt preset runs.
func TestAptScriptsDocumented(t *testing.T) {
	dt, err := os.ReadFile("../docs/spec.md")
	if err != nil {
		t.Fatal(err)
	}
	for what, script := range map[string]string{
		"the lists' update": "apt-get " + aptCaches + " update && " + aptSources + " > " + aptListsDir + "/" + sourcesFile,
		"the install":       "set -e\nset -- <pkgs>" + aptScript,
	} {
		if !bytes.Contains(dt, []byte("\n"+script+"\n")) {
			t.Errorf("docs/spec.md does not show %s as it runs:\n%s", what, script)
		}
	}
}

// A parallel group with two or more apt branches gets one more exec that
// writes dpkg's status on the state before the group, with every branch
// mounted read-only; its diff is the merge's last part, so its status file
// wins over the branches'.
func TestParallelAptDpkgStatus(t *testing.T) {
	g := marshal(t, compile(t, loadSpec(t, packagesSpec), testOpt("dev")).State)
	d, op := g.one(t, "parallel: dpkg status of 2 apt branches")
	ex := op.GetExec()
	if ex.Meta.Args[2] != dpkgStatusScript || ex.Meta.User != "" || ex.Meta.Cwd != "/" {
		t.Errorf("the dpkg status exec runs %q as %q in %q", ex.Meta.Args, ex.Meta.User, ex.Meta.Cwd)
	}
	root := digest.Digest(op.Inputs[0].Digest)
	if name := g.name(root); !strings.Contains(name, "run: echo hi") && !strings.Contains(name, "apt: git") {
		t.Errorf("the dpkg status exec runs on %s, want the state before the group", name)
	}
	var branches []string
	for _, m := range ex.Mounts {
		if strings.HasPrefix(m.Dest, dpkgBranchDir) {
			if !m.Readonly || m.ContentCache != pb.MountContentCache_OFF {
				t.Errorf("%s is mounted writable or content-cached: %+v", m.Dest, m)
			}
			branches = append(branches, g.name(digest.Digest(op.Inputs[m.Input].Digest)))
		}
	}
	if len(branches) != 2 || !strings.Contains(branches[0], "apt: black") || !strings.Contains(branches[1], "apt: flake8") {
		t.Errorf("the dpkg status exec mounts %q, want the two branches in order", branches)
	}
	_, merge := g.one(t, "parallel: merge 2 branches")
	last := g.ops[digest.Digest(merge.Inputs[len(merge.Inputs)-1].Digest)]
	if diff := last.GetDiff(); diff == nil || digest.Digest(last.Inputs[diff.Upper.Input].Digest) != d {
		t.Errorf("the merge's last part is not the dpkg status exec's diff")
	}
}
