package llbgraph

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

const parallelSpec = `version: 1
stages:
  dev:
    from: python:3.11-slim
    steps:
      - run: echo before > /before
      - parallel:
          - run: uv tool install ipython
          - run: uv tool install ruff
          - copy: {src: tools.txt, dst: /tools.txt}
      - run: echo after
`

// The group is a MergeOp of the base and one DiffOp per branch, each branch
// runs on the base and on nothing the other branches make, and the step
// after the group runs on the merge.
func TestParallelIsMergeOfIndependentDiffs(t *testing.T) {
	g := marshal(t, compile(t, loadSpec(t, parallelSpec), testOpt("")).State)
	base, _ := g.one(t, "run: echo before")
	mergeD, merge := g.one(t, "parallel: merge 3 branches")
	if merge.GetMerge() == nil {
		t.Fatalf("the group is %T, want a MergeOp", merge.Op)
	}
	if len(merge.Inputs) != 4 || digest.Digest(merge.Inputs[0].Digest) != base {
		t.Fatalf("merge inputs: want the base then 3 diffs, got %d inputs, first %s", len(merge.Inputs), merge.Inputs[0].Digest)
	}
	var branches []digest.Digest
	for i, in := range merge.Inputs[1:] {
		diff := g.ops[digest.Digest(in.Digest)]
		if diff.GetDiff() == nil {
			t.Fatalf("merge input %d is %T, want a DiffOp", i+1, diff.Op)
		}
		lower := digest.Digest(diff.Inputs[diff.GetDiff().Lower.Input].Digest)
		upper := digest.Digest(diff.Inputs[diff.GetDiff().Upper.Input].Digest)
		if lower != base {
			t.Errorf("branch %d diffs against %s, want the base", i+1, g.name(lower))
		}
		if up := g.ops[upper]; digest.Digest(up.Inputs[0].Digest) != base && !strings.Contains(g.name(upper), "copy") {
			t.Errorf("branch %d runs on %s, want the base", i+1, g.name(digest.Digest(up.Inputs[0].Digest)))
		}
		branches = append(branches, upper)
	}
	for i, a := range branches {
		for j, b := range branches {
			if i != j && g.dependsOn(a, b) {
				t.Errorf("branch %d depends on branch %d", i+1, j+1)
			}
		}
	}
	_, after := g.one(t, "run: echo after")
	if digest.Digest(after.Inputs[0].Digest) != mergeD {
		t.Errorf("the step after the group does not run on the merge")
	}
}

// Changing one branch changes that branch's op and the merge, and leaves
// the other branches' ops, and so their cache, alone.
func TestParallelBranchChangeTouchesOnlyThatBranch(t *testing.T) {
	a := marshal(t, compile(t, loadSpec(t, parallelSpec), testOpt("")).State)
	b := marshal(t, compile(t, loadSpec(t, strings.Replace(parallelSpec, "install ruff", "install black", 1)), testOpt("")).State)
	changed := 0
	for _, d := range a.list {
		if _, ok := b.ops[d]; !ok && a.ops[d].GetExec() != nil && strings.Contains(a.name(d), "parallel") {
			changed++
			if !strings.Contains(a.name(d), "ruff") {
				t.Errorf("exec %q changed", a.name(d))
			}
		}
	}
	if changed != 1 {
		t.Fatalf("want exactly one branch exec changed, got %d", changed)
	}
}

func mountOf(t *testing.T, op *pb.Op, target string) *pb.Mount {
	t.Helper()
	for _, m := range op.GetExec().GetMounts() {
		if m.Dest == target {
			return m
		}
	}
	t.Fatalf("no mount at %s", target)
	return nil
}

func TestCacheMountHasIDAndSharing(t *testing.T) {
	s := loadSpec(t, `version: 1
stages:
  s:
    from: busybox:latest
    steps:
      - run: ls
        mounts:
          - {type: cache, target: /root/.cache/uv, sharing: locked}
          - {type: cache, target: /tmp/.uv, id: uv-tmp, sharing: private}
          - {type: cache, target: /data, mode: "0700", uid: 1000, gid: 1000}
`)
	opt := testOpt("")
	opt.CacheIDNamespace = "ns"
	g := marshal(t, compile(t, s, opt).State)
	_, run := g.one(t, "run: ls")
	for _, c := range []struct {
		target, id string
		sharing    pb.CacheSharingOpt
	}{
		{"/root/.cache/uv", "ns//root/.cache/uv", pb.CacheSharingOpt_LOCKED},
		{"/tmp/.uv", "ns/uv-tmp", pb.CacheSharingOpt_PRIVATE},
		{"/data", "ns//data", pb.CacheSharingOpt_SHARED},
	} {
		m := mountOf(t, run, c.target)
		if m.MountType != pb.MountType_CACHE || m.CacheOpt.ID != c.id || m.CacheOpt.Sharing != c.sharing {
			t.Errorf("%s: got type %v id %q sharing %v, want cache %q %v", c.target, m.MountType, m.CacheOpt.GetID(), m.CacheOpt.GetSharing(), c.id, c.sharing)
		}
	}
	if m := mountOf(t, run, "/data"); m.Selector != "/cache" {
		t.Errorf("a cache with uid/gid/mode must mount the prepared /cache dir, got selector %q", m.Selector)
	}
	_, perm := g.one(t, "setting cache mount permissions")
	mk := perm.GetFile().Actions[0].GetMkdir()
	if mk.Mode != 0o700 || mk.Owner.User.GetByID() != 1000 {
		t.Errorf("cache dir made with mode %o owner %v, want 0700 uid 1000", mk.Mode, mk.Owner)
	}
}

func TestSecretsReachLLBOnlyByID(t *testing.T) {
	s := loadSpec(t, `version: 1
args:
  API_KEY_FILE: key
stages:
  s:
    from: busybox:latest
    steps:
      - run: cat /run/secrets/api_key; echo $API_KEY
        mounts:
          - {type: secret, id: api_key, required: true}
          - {type: secret, id: api_key, env: API_KEY}
          - {type: secret, id: token, target: /etc/token, mode: "0440", uid: 1}
`)
	g := marshal(t, compile(t, s, testOpt("")).State)
	_, run := g.one(t, "run: cat")
	exec := run.GetExec()
	file := mountOf(t, run, "/run/secrets/api_key")
	if file.MountType != pb.MountType_SECRET || file.SecretOpt.ID != "api_key" || file.SecretOpt.Optional {
		t.Errorf("file secret: %+v", file.SecretOpt)
	}
	tok := mountOf(t, run, "/etc/token")
	if tok.SecretOpt.Mode != 0o440 || tok.SecretOpt.Uid != 1 || !tok.SecretOpt.Optional {
		t.Errorf("token secret: %+v", tok.SecretOpt)
	}
	if len(exec.Secretenv) != 1 || exec.Secretenv[0].ID != "api_key" || exec.Secretenv[0].Name != "API_KEY" {
		t.Errorf("secret env: %+v", exec.Secretenv)
	}
	for _, e := range exec.Meta.Env {
		if strings.HasPrefix(e, "API_KEY=") {
			t.Errorf("the secret's env var is a plain env var: %s", e)
		}
	}
}

// A run sees an arg only when its script mentions it, so changing an arg
// re-runs only the steps that read it.
func TestArgsReachOnlyRunsThatMentionThem(t *testing.T) {
	src := `version: 1
args:
  CACHE_DATE: "1"
  UNUSED: x
stages:
  s:
    from: busybox:latest
    steps:
      - run: echo first
      - run: echo "cache date ${CACHE_DATE} on $TARGETARCH"
      - run: echo last
`
	a := marshal(t, compile(t, loadSpec(t, src), testOpt("")).State)
	_, first := a.one(t, "echo first")
	_, bust := a.one(t, "cache date")
	if slices.ContainsFunc(first.GetExec().Meta.Env, func(e string) bool { return strings.HasPrefix(e, "CACHE_DATE") }) {
		t.Errorf("a run that does not mention CACHE_DATE sees it")
	}
	env := bust.GetExec().Meta.Env
	if !slices.Contains(env, "CACHE_DATE=1") || !slices.Contains(env, "TARGETARCH=amd64") || slices.Contains(env, "UNUSED=x") {
		t.Errorf("busting run env: %v", env)
	}
	opt := testOpt("")
	opt.BuildArgs = map[string]string{"CACHE_DATE": "2"}
	b := marshal(t, compile(t, loadSpec(t, src), opt).State)
	firstA, _ := a.one(t, "echo first")
	firstB, _ := b.one(t, "echo first")
	bustA, _ := a.one(t, "cache date")
	bustB, _ := b.one(t, "cache date")
	if firstA != firstB || bustA == bustB {
		t.Errorf("a new CACHE_DATE must change the run that reads it (%v) and not the one before (%v)", bustA != bustB, firstA == firstB)
	}
}

func TestInterpolation(t *testing.T) {
	s := loadSpec(t, `version: 1
args:
  PYTHON_VERSION: "3.11"
  APP: /app
stages:
  base:
    from: python:${PYTHON_VERSION}-slim
    env:
      VENV: /opt/venv
      PATH: ${VENV}/bin:${PATH}
      PRICE: \$5
    workdir: ${APP}/src
    image:
      labels: {py: "${PYTHON_VERSION}", arch: "${TARGETARCH}"}
`)
	res := compile(t, s, testOpt(""))
	cfg := res.Image.Config
	if !slices.Contains(cfg.Env, "PATH=/opt/venv/bin:/usr/local/bin:/usr/bin:/bin") || !slices.Contains(cfg.Env, "PRICE=$5") {
		t.Errorf("env: %v", cfg.Env)
	}
	if cfg.WorkingDir != "/app/src" || cfg.Labels["py"] != "3.11" || cfg.Labels["arch"] != "amd64" {
		t.Errorf("workdir %q labels %v", cfg.WorkingDir, cfg.Labels)
	}
}

func TestUndeclaredVariableIsAnError(t *testing.T) {
	s := loadSpec(t, `version: 1
args:
  PYTHON_VERSION: "3.11"
stages:
  base:
    from: python:${PYTHON_VERSON}-slim
`)
	_, err := Compile(context.Background(), s, testOpt(""))
	want := `ohlcv.build.yaml:6:11: stages.base.from: ${PYTHON_VERSON} is not declared (did you mean "PYTHON_VERSION"?)`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("got %v\nwant %s...", err, want)
	}
}

func TestCompileErrors(t *testing.T) {
	for _, c := range []struct{ name, src, want string }{
		{"cycle through an arg", `version: 1
args: {B: b}
stages:
  a:
    from: c
  b:
    from: a
  c:
    from: scratch
    steps:
      - copy: {from: "${B}", src: /x, dst: /x}
`, "ohlcv.build.yaml:5:11: stages.a.from: stages form a cycle: c -> b -> a -> c"},
		{"bad from through an arg", `version: 1
args: {BASE: Base}
stages:
  base:
    from: python:3.11-slim
  runtime:
    from: ${BASE}
`, `ohlcv.build.yaml:7:11: stages.runtime.from: "Base" names no stage and is not a valid image reference (did you mean "base"?)`},
		{"a stage's typo through an arg", `version: 1
args: {B: buildr}
stages:
  builder:
    from: python:3.11-slim
  runtime:
    from: ${B}
`, `ohlcv.build.yaml:7:11: stages.runtime.from: "buildr" names no stage (did you mean "builder"?); for an image of that name, give its tag: buildr:<version>`},
		{"missing image", `version: 1
stages:
  builder:
    from: python:3.11-slim
  runtime:
    from: nosuchimage:1.0
`, `ohlcv.build.yaml:6:11: stages.runtime.from: cannot load image "nosuchimage:1.0": docker.io/library/nosuchimage:1.0: not found`},
		{"unknown target", `version: 1
stages:
  base:
    from: scratch
`, `target "bse" is not a stage (did you mean "base"?)`},
		{"preset as non-root", `version: 1
stages:
  base:
    from: python:3.11-slim
    user: app
    steps:
      - apt: [curl]
`, `ohlcv.build.yaml:7:15: stages.base.steps[0].apt: the apt preset runs as root`},
		{"bad platform through an arg", `version: 1
args: {P: linux/notanarch/x/y}
stages:
  base:
    from: scratch
    platform: ${P}
`, `ohlcv.build.yaml:6:15: stages.base.platform: invalid platform "linux/notanarch/x/y"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			opt := testOpt("")
			if c.name == "unknown target" {
				opt.Target = "bse"
			}
			_, err := Compile(context.Background(), loadSpec(t, c.src), opt)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got  %v\nwant %s", err, c.want)
			}
			if c.name != "unknown target" && len(spec.Errors(err)) != 1 {
				t.Errorf("want one positioned spec error, got %d", len(spec.Errors(err)))
			}
		})
	}
}

// Only reachable stages are compiled, and each base image is resolved once
// however many stages use it.
func TestReachableStagesResolvedOnce(t *testing.T) {
	s := loadSpec(t, `version: 1
stages:
  a:
    from: python:3.11-slim
  b:
    from: python:3.11-slim
    steps:
      - copy: {from: a, src: /x, dst: /x}
  unused:
    from: golang:1.26
  c:
    from: b
`)
	r := &stubResolve{calls: map[string]int{}}
	opt := testOpt("c")
	opt.ResolveImageConfig = r.resolve
	res := compile(t, s, opt)
	if !slices.Equal(res.Stages, []string{"a", "b", "c"}) {
		t.Errorf("compiled stages %v, want a b c", res.Stages)
	}
	if r.calls["docker.io/library/python:3.11-slim"] != 1 || r.calls["docker.io/library/golang:1.26"] != 0 {
		t.Errorf("resolve calls: %v", r.calls)
	}
}

func TestImageConfigInheritance(t *testing.T) {
	s := loadSpec(t, `version: 1
stages:
  base:
    from: python:3.11-slim
    env: {A: "1"}
    workdir: /app
    user: "1000"
    image:
      entrypoint: [python, -m, app]
      expose: ["8000"]
      healthcheck: {test: [CMD, python, -c, "import app"], interval: 30s, timeout: 3s, retries: 3, start_period: 5s}
  child:
    from: base
    steps:
      - env: {B: "2"}
    image:
      labels: {x: y}
      stopsignal: SIGTERM
`)
	img := compile(t, s, testOpt("child")).Image
	cfg := img.Config
	if !slices.Contains(cfg.Env, "A=1") || !slices.Contains(cfg.Env, "B=2") || !slices.Contains(cfg.Env, "LANG=C.UTF-8") {
		t.Errorf("env %v", cfg.Env)
	}
	if cfg.WorkingDir != "/app" || cfg.User != "1000" || !slices.Equal(cfg.Entrypoint, []string{"python", "-m", "app"}) || cfg.Cmd != nil {
		t.Errorf("workdir %q user %q entrypoint %v cmd %v", cfg.WorkingDir, cfg.User, cfg.Entrypoint, cfg.Cmd)
	}
	if _, ok := cfg.ExposedPorts["8000/tcp"]; !ok || cfg.StopSignal != "SIGTERM" || cfg.Labels["x"] != "y" {
		t.Errorf("ports %v stopsignal %q labels %v", cfg.ExposedPorts, cfg.StopSignal, cfg.Labels)
	}
	hc := cfg.Healthcheck
	if hc == nil || hc.Retries != 3 || hc.Interval.String() != "30s" || hc.StartPeriod.String() != "5s" || hc.Test[0] != "CMD" {
		t.Errorf("healthcheck %+v", hc)
	}
	if len(img.History) < 3 || img.History[0].CreatedBy != "stub base layer" {
		t.Errorf("history must continue the base image's: %+v", img.History)
	}
}

func TestNamedContextReplacesImageAndStage(t *testing.T) {
	s := loadSpec(t, `version: 1
stages:
  deps:
    from: python:3.11-slim
    steps:
      - run: make deps
  app:
    from: python:3.11-slim
    steps:
      - copy: {from: deps, src: /deps, dst: /deps}
`)
	opt := testOpt("app")
	loaded := map[string]bool{}
	var mu sync.Mutex // the compiler loads contexts concurrently
	opt.NamedContext = func(name string, _ ocispecs.Platform) (func(context.Context) (*llb.State, *dockerspec.DockerOCIImage, error), error) {
		if name != "deps" && name != "python:3.11-slim" {
			return nil, nil
		}
		return func(context.Context) (*llb.State, *dockerspec.DockerOCIImage, error) {
			mu.Lock()
			defer mu.Unlock()
			loaded[name] = true
			st := llb.Image("example.com/replaced/" + strings.ReplaceAll(name, ":", "-"))
			return &st, nil, nil
		}, nil
	}
	g := marshal(t, compile(t, s, opt).State)
	if !loaded["deps"] || !loaded["python:3.11-slim"] {
		t.Fatalf("named contexts loaded: %v", loaded)
	}
	if len(g.find("make deps")) != 0 {
		t.Errorf("the deps stage was compiled although a named context replaces it")
	}
	var ids []string
	for _, d := range g.list {
		if src := g.ops[d].GetSource(); src != nil {
			ids = append(ids, src.Identifier)
		}
	}
	if !slices.Contains(ids, "docker-image://example.com/replaced/deps:latest") || !slices.Contains(ids, "docker-image://example.com/replaced/python-3.11-slim:latest") {
		t.Errorf("sources: %v", ids)
	}
}

func TestMainContextGetsExcludesAndFollowPaths(t *testing.T) {
	s := loadSpec(t, `version: 1
exclude: ["**/__pycache__"]
stages:
  s:
    from: scratch
    steps:
      - copy: {src: [pyproject.toml, uv.lock], dst: /app/}
      - copy: {src: src/, dst: /app/src}
`)
	opt := testOpt("")
	var gotEx, gotFollow []string
	opt.MainContext = func(_ context.Context, ex, follow []string) (*llb.State, error) {
		gotEx, gotFollow = ex, follow
		st := llb.Local("context")
		return &st, nil
	}
	compile(t, s, opt)
	if !slices.Equal(gotEx, []string{"**/__pycache__"}) || !slices.Equal(gotFollow, []string{"pyproject.toml", "uv.lock", "src"}) {
		t.Errorf("excludes %v follow %v", gotEx, gotFollow)
	}
}

func TestMultiPlatformNamesAndPlatforms(t *testing.T) {
	s := loadSpec(t, `version: 1
stages:
  tools:
    from: golang:1.26
    platform: ${BUILDPLATFORM}
    steps:
      - go: build -o /out/tool .
  app:
    from: busybox:latest
    steps:
      - copy: {from: tools, src: /out/tool, dst: /bin/tool}
      - run: tool --version
`)
	opt := testOpt("app")
	opt.MultiPlatform = true
	opt.TargetPlatform = &ocispecs.Platform{OS: "linux", Architecture: "386"}
	res := compile(t, s, opt)
	if res.Platform.Architecture != "386" || res.Image.Architecture != "386" {
		t.Errorf("result platform %+v image arch %s", res.Platform, res.Image.Architecture)
	}
	g := marshal(t, res.State)
	_, build := g.one(t, "[linux/amd64 tools 2/2] go: build")
	if p := build.Platform; p == nil || p.Architecture != "amd64" {
		t.Errorf("the BUILDPLATFORM stage runs on %v", p)
	}
	_, run := g.one(t, "[linux/386 app 3/3] run: tool")
	if p := run.Platform; p == nil || p.Architecture != "386" {
		t.Errorf("the target stage runs on %v", p)
	}
}

func TestExposeRangeAndPresetEnvDefaults(t *testing.T) {
	s := loadSpec(t, `version: 1
stages:
  s:
    from: python:3.11-slim
    env: {UV_LINK_MODE: hardlink}
    steps:
      - uv: sync
    image:
      expose: ["8000-8002/udp", "9000"]
`)
	res := compile(t, s, testOpt(""))
	for _, p := range []string{"8000/udp", "8001/udp", "8002/udp", "9000/tcp"} {
		if _, ok := res.Image.Config.ExposedPorts[p]; !ok {
			t.Errorf("%s not exposed: %v", p, res.Image.Config.ExposedPorts)
		}
	}
	_, op := marshal(t, res.State).one(t, "uv: sync")
	env := op.GetExec().Meta.Env
	if !slices.Contains(env, "UV_LINK_MODE=hardlink") || slices.Contains(env, "UV_LINK_MODE=copy") || !slices.Contains(env, "UV_CACHE_DIR=/root/.cache/uv") {
		t.Errorf("the stage env must win over a preset's default: %v", env)
	}
}

// Proxy build args reach runs as BuildKit's proxy env (which BuildKit
// keeps out of the cache key), not as plain env vars.
func TestProxyArgsReachRunsAsProxyEnv(t *testing.T) {
	src := "version: 1\nstages:\n  s:\n    from: busybox:latest\n    steps:\n      - run: wget http://example.com\n"
	opt := testOpt("")
	opt.BuildArgs = map[string]string{"HTTP_PROXY": "http://proxy:3128", "no_proxy": "localhost"}
	g := marshal(t, compile(t, loadSpec(t, src), opt).State)
	_, run := g.one(t, "run: wget")
	if p := run.GetExec().Meta.ProxyEnv; p == nil || p.HttpProxy != "http://proxy:3128" || p.NoProxy != "localhost" {
		t.Errorf("proxy env: %+v", p)
	}
	if slices.ContainsFunc(run.GetExec().Meta.Env, func(e string) bool { return strings.Contains(e, "proxy") }) {
		t.Errorf("the proxy is a plain env var: %v", run.GetExec().Meta.Env)
	}
	if !IsProxyArg("https_proxy") || !IsProxyArg("ALL_PROXY") || IsProxyArg("PROXY") {
		t.Errorf("IsProxyArg does not match the proxy args proxyEnv reads")
	}
}
