//go:build integration

package integration

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moby/buildkit/client"

	"github.com/ohlcv-rag/ohlcv-build/internal/buildprogress"
	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// updateLine is a line only `apt-get update` prints: the Release file of a
// repository, fetched or found unchanged.
var updateLine = regexp.MustCompile(`(?m)^(Get|Hit|Ign):\d+ \S+ \S+ InRelease`)

// getLine is apt fetching a package: "Get:3 http://deb.debian.org/debian
// bookworm/main amd64 figlet amd64 2.2.5-3+b1 [133 kB]", capturing
// "figlet amd64 2.2.5-3+b1".
var getLine = regexp.MustCompile(`(?m)^Get:\d+ \S+ \S+ \S+ (\S+ \S+ \S+) \[`)

// aptWork is what the apt steps of a build did, read from their logs.
type aptWork struct {
	updates   []string                    // execs that ran apt-get update
	downloads map[string][]*client.Vertex // package and version: the execs that fetched it
}

func readAptWork(p *buildprogress.Progress) aptWork {
	w := aptWork{downloads: map[string][]*client.Vertex{}}
	for _, v := range p.Vertices() {
		if v.Cached || v.Completed == nil {
			continue
		}
		log := p.Log(v.Digest)
		if updateLine.Match(log) {
			w.updates = append(w.updates, v.Name)
		}
		for _, m := range getLine.FindAllSubmatch(log, -1) {
			w.downloads[string(m[1])] = append(w.downloads[string(m[1])], v)
		}
	}
	return w
}

// aptBases returns the images the lineages of the spec's apt steps start
// from, as the spec writes them.
func aptBases(t *testing.T, file string) map[string]bool {
	t.Helper()
	dt, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	s, err := spec.Load(filepath.Base(file), dt)
	if err != nil {
		t.Fatal(err)
	}
	var hasApt func([]spec.Step) bool
	hasApt = func(steps []spec.Step) bool {
		for _, st := range steps {
			if p, ok := st.(*spec.ParallelStep); ok && hasApt(p.Parallel) || st.Kind() == spec.KindApt {
				return true
			}
		}
		return false
	}
	bases := map[string]bool{}
	for _, st := range s.Stages {
		if !hasApt(st.Steps) {
			continue
		}
		from := st
		for s.Stages.Get(from.From.Value) != nil {
			from = s.Stages.Get(from.From.Value)
		}
		bases[from.From.Value] = true
	}
	return bases
}

// A cold `docker buildx bake all` of the offline twin, on a daemon with no
// cache at all, runs apt-get update at most once per image its apt steps
// start from, however many stages, targets and parallel branches install
// from it; fetches a package again only in a step that started before
// another step that fetched it had ended (a step downloads what the shared
// cache lacks when it starts, and adds it when it ends); and runs the
// development target's apt branches at the same time.
// developmentBranch matches the progress name of an apt branch of the
// twin's development stage, whatever its step's number. The test stage's
// `apt: [python3-pytest]` on the same image is the same LLB vertex as the
// development branch that installs it, solved once, so the vertex may
// carry either stage's name.
var developmentBranch = regexp.MustCompile(`\] (parallel \d+/\d+ )?apt: (ipython3|python3-pytest|black|flake8)$`)

func TestTwinColdBakeUpdatesOncePerBase(t *testing.T) {
	bases := aptBases(t, filepath.Join(repoRoot(), "examples", "ohlcv-rag", "offline.build.yaml"))
	if len(bases) == 0 {
		t.Fatalf("the twin has no apt steps")
	}
	builder := "ohlcv-apt-cold-" + randomToken(t)[:8]
	bx := "BUILDX_CONFIG=" + t.TempDir()
	startFreshDaemon(t, "apt-cold", builder, bx)

	cmd := buildxCommand(t, "bake", "--progress=rawjson", "-f", "docker-bake.hcl", "--set", "*.output=type=cacheonly", "all")
	cmd.Dir = repoRoot()
	cmd.Env = append(os.Environ(), bx, "BUILDX_BUILDER="+builder, "SPEC=offline.build.yaml", "OHLCV_API_KEY=apt-"+randomToken(t))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	p := buildprogress.ParseRawJSON(stderr.Bytes())
	if err != nil {
		t.Fatalf("bake: %v\n%s", err, tail(stderr.String(), 60))
	}
	w := readAptWork(p)
	t.Logf("apt-get update ran in %q; bases %v", w.updates, bases)
	if len(w.updates) == 0 || len(w.updates) > len(bases) {
		t.Errorf("a cold bake ran apt-get update %d times (%q), want 1 to %d (one per base: %v)", len(w.updates), w.updates, len(bases), bases)
	}
	// The seeded python:3.11-slim is debian:bookworm-slim and more layers
	// (hack/seed-images.sh), as on Docker Hub: both update on the latter.
	if len(w.updates) != 1 {
		t.Errorf("a cold bake ran apt-get update %d times (%q), want once: python:3.11-slim updates on debian:bookworm-slim, its first layer", len(w.updates), w.updates)
	}
	for pkg, vs := range w.downloads {
		for _, a := range vs {
			for _, b := range vs {
				if a != b && a.Completed != nil && b.Started != nil && b.Started.After(*a.Completed) {
					t.Errorf("%s was fetched by %s after %s had fetched it", pkg, b.Name, a.Name)
				}
			}
		}
	}
	if len(w.downloads) == 0 {
		t.Errorf("a bake on a daemon with no cache fetched no package")
	}
	// The development target's branches run together: each starts before
	// any of them ends.
	var branches []*client.Vertex
	for _, v := range p.Vertices() {
		if developmentBranch.MatchString(v.Name) { // bake puts the target before the stage
			branches = append(branches, v)
		}
	}
	if len(branches) != 4 {
		t.Fatalf("%d apt branches of development in the progress, want 4", len(branches))
	}
	for _, a := range branches {
		for _, b := range branches {
			if a.Started == nil || b.Completed == nil || !a.Started.Before(*b.Completed) {
				t.Errorf("%s started after %s ended: the branches waited for each other", a.Name, b.Name)
			}
		}
	}
}

// A stage whose earlier step adds a repository installs from lists that
// include it: its apt step updates its own copy of the lists, while a
// stage on the same image with the image's sources does not.
func TestAptAfterAddedRepository(t *testing.T) {
	token := randomToken(t)
	o := backportsBuild(t, token, "added", `
    from: debian:bookworm-slim
    steps:
      - run: echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports-`+token+`.list
      - apt: [debian-tag2upload-keyring]`)
	if w := readAptWork(o.progress.Progress); len(w.updates) > 2 {
		t.Errorf("apt-get update ran in %q, want the image's lists and the added step at most", w.updates)
	}
}

// An image built on debian:bookworm-slim (its layers and more) updates its
// lists on debian:bookworm-slim, as one exec with a stage from that image,
// and an install in it still sees the repository its own layers add: its
// sources differ from the lists' fingerprint, so it updates its copy.
func TestAptListsOnRootImage(t *testing.T) {
	token := randomToken(t)
	derived := engineEnv(t, "REGISTRY") + "/ohlcv-test/apt-derived:" + token[:12]
	dir := writeContext(t, `version: 1
stages:
  derived:
    from: debian:bookworm-slim
    steps:
      - run: echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports-`+token+`.list
`, nil)
	cmd := buildxCommand(t, "build", "-f", "ohlcv.build.yaml", "--output", "type=image,name="+derived+",push=true", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BUILDX_BUILDER="+engineEnv(t, "BUILDX_BUILDER"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", derived, err, tail(string(out), 40))
	}
	o := backportsBuild(t, token, "onderived", `
    from: `+derived+`
    steps:
      - run: echo `+token+` > /token
      - apt: [debian-tag2upload-keyring]`)
	var lists []string
	for _, v := range o.progress.Vertices() {
		if strings.HasSuffix(v.Name, "] apt-get update") {
			lists = append(lists, v.Name)
		}
	}
	if len(lists) != 1 || lists[0] != "[debian:bookworm-slim] apt-get update" {
		t.Errorf("lists execs %q, want one, on debian:bookworm-slim", lists)
	}
}

// The images that other stages of the spec start from are looked up for
// shared package lists only in the registries the target's own images come
// from. A stage from a registry that accepts connections and never answers
// does not hold up a target that does not build from it; an image of the
// same registry that does not exist is left out, its lookup named optional,
// and the build succeeds.
func TestAptListsRootLookupsOptional(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int32
	go func() {
		var held []net.Conn // never answered, closed with the test
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			held = append(held, c)
		}
	}()
	token := randomToken(t)
	hangs := ln.Addr().String() + "/ohlcv-test/hangs:1"
	missing := "debian:missing-" + token[:12]
	dir := writeContext(t, `version: 1
stages:
  good:
    from: debian:bookworm-slim
    steps:
      - run: echo `+token+` > /token
      - apt: [hello]
  unreachable:
    from: `+hangs+`
    steps:
      - apt: [curl]
  missing:
    from: `+missing+`
    steps:
      - apt: [curl]
`, nil)
	o := run(t, inProcess, build{dir: dir, exporter: "none", attrs: map[string]string{"target": "good"}, timeout: 2 * time.Minute}).must(t)
	if n := accepted.Load(); n != 0 {
		t.Errorf("the build of good connected %d times to %s, a registry only another stage reads from", n, ln.Addr())
	}
	if got := o.progress.named(hangs); len(got) != 0 {
		t.Errorf("progress names %q", got)
	}
	lookups := o.progress.named("docker.io/library/" + missing)
	if len(lookups) != 1 || !strings.HasSuffix(lookups[0], " (optional: for shared package lists)") {
		t.Errorf("lookups of %s: %q, want one, named optional", missing, lookups)
	}
}

// backportsBuild builds the stage name, whose body (from and steps) has
// its third vertex install debian-tag2upload-keyring, a package only
// bookworm-backports has, beside a stage plain on debian:bookworm-slim's
// own sources that installs hello. It checks that the package is
// installed, that name's install updated its lists before it looked for
// the package (not as a fallback after failing), and that plain's did not
// update.
func backportsBuild(t *testing.T, token, name, body string) *outcome {
	t.Helper()
	dir := writeContext(t, `version: 1
stages:
  `+name+`:`+body+`
  plain:
    from: debian:bookworm-slim
    steps:
      - run: echo `+token+` > /token
      - apt: [hello]
  all:
    from: scratch
    steps:
      - copy: {from: `+name+`, src: /var/lib/dpkg/status, dst: /status}
      - copy: {from: plain, src: /usr/bin/hello, dst: /hello}
`, nil)
	o := run(t, inProcess, build{dir: dir, exporter: "local"}).must(t)
	status, err := os.ReadFile(filepath.Join(o.local, "status"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(status, []byte("Package: debian-tag2upload-keyring\n")) {
		t.Errorf("the backports-only package is not installed in %s", name)
	}
	for _, v := range o.progress.Vertices() {
		log := o.progress.Log(v.Digest)
		switch {
		case strings.Contains(v.Name, "["+name+" 3/3] apt:"):
			if !bytes.Contains(log, []byte("bookworm-backports InRelease")) || bytes.Contains(log, []byte("Unable to locate package")) {
				t.Errorf("the install of %s, whose sources add a repository, did not update its lists first:\n%s", name, log)
			}
		case strings.Contains(v.Name, "[plain 3/3] apt:"):
			if updateLine.Match(log) {
				t.Errorf("the step on the image's sources updated its lists again:\n%s", log)
			}
		}
	}
	return o
}

// An arg the apt step reads through its env busts its lists, so a new
// value updates them again; the same value builds from the cache; and
// --no-cache updates them again.
func TestAptListsBusting(t *testing.T) {
	dir := writeContext(t, `version: 1
args:
  CACHE_DATE: ""
stages:
  s:
    from: debian:bookworm-slim
    steps:
      - apt: [hello]
        env: {CACHE_DATE: "${CACHE_DATE}"}
`, nil)
	first, second := randomToken(t), randomToken(t)
	for _, c := range []struct {
		name    string
		attrs   map[string]string
		updates int
	}{
		{"a new value", map[string]string{"build-arg:CACHE_DATE": first}, 1},
		{"the same value", map[string]string{"build-arg:CACHE_DATE": first}, 0},
		{"another value", map[string]string{"build-arg:CACHE_DATE": second}, 1},
		{"--no-cache", map[string]string{"build-arg:CACHE_DATE": second, "no-cache": ""}, 1},
	} {
		o := run(t, inProcess, build{dir: dir, exporter: "none", attrs: c.attrs}).must(t)
		if w := readAptWork(o.progress.Progress); len(w.updates) != c.updates {
			t.Errorf("%s: apt-get update ran in %q, want %d exec", c.name, w.updates, c.updates)
		}
	}
}

// A package one build downloaded is not downloaded again by the next,
// even in another step: each apt step adds what it downloaded to the
// shared cache, and links the cache's packages into its own archives.
func TestAptCacheReused(t *testing.T) {
	token := randomToken(t)
	specOf := func(pkgs string) string {
		return `version: 1
stages:
  s:
    from: debian:bookworm-slim
    steps:
      - run: echo ` + token + ` ` + pkgs + ` > /token
      - apt: [` + pkgs + `]
`
	}
	first := run(t, inProcess, build{dir: writeContext(t, specOf("hello"), nil), exporter: "none"}).must(t)
	w := readAptWork(first.progress.Progress)
	t.Logf("the first build fetched %v", w.downloads)
	second := run(t, inProcess, build{dir: writeContext(t, specOf("hello, figlet"), nil), exporter: "none"}).must(t)
	w = readAptWork(second.progress.Progress)
	fetched := map[string]bool{}
	for pkg := range w.downloads {
		fetched[strings.Fields(pkg)[0]] = true
	}
	if fetched["hello"] {
		t.Errorf("the second build fetched hello again: %v", w.downloads)
	}
	for _, v := range second.progress.Vertices() {
		if strings.Contains(v.Name, "apt: hello figlet") && !v.Cached && !bytes.Contains(second.progress.Log(v.Digest), []byte("Setting up figlet")) {
			t.Errorf("the second build did not install figlet:\n%s", second.progress.Log(v.Digest))
		}
	}
}

// After a parallel group of apt branches, dpkg knows every branch's
// packages, not only the last branch's: a later step finds them with
// dpkg-query, dpkg's audit finds nothing half-installed, and apt finds
// every dependency met.
func TestParallelAptDpkgStatus(t *testing.T) {
	dir := writeContext(t, `version: 1
stages:
  s:
    from: debian:bookworm-slim
    steps:
      - run: echo `+randomToken(t)+` > /token
      - parallel:
          - apt: [hello]
          - apt: [figlet]
          - run: echo other > /other
          - apt: [cowsay]
      - run: dpkg-query -W hello figlet cowsay && test -z "$(dpkg --audit)" && apt-get check
`, nil)
	o := run(t, inProcess, build{dir: dir, exporter: "none"}).must(t)
	var merged bool
	for _, v := range o.progress.Vertices() {
		merged = merged || strings.Contains(v.Name, "parallel: dpkg status of 3 apt branches")
	}
	if !merged {
		t.Errorf("no dpkg status merge in the progress")
	}
}
