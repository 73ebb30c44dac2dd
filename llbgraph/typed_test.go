package llbgraph

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerui"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// The outline lists what the compilation really used: an arg named only in
// a YAML comment does not count, one read through an alias does, and so do
// the args a run's script mentions; secrets and agents of unreachable
// stages do not count.
func TestOutlineComesFromTheCompilePass(t *testing.T) {
	s := loadSpec(t, `version: 1
args:
  COMMENTED: a     # ${COMMENTED} is only in comments
  ALIASED: b
  SCRIPT: c
  BASE: python:3.11-slim
  UNUSED: e
x-env: &env {V: "${ALIASED}"}
stages:
  other:
    from: scratch
    steps:
      - run: [x]
        mounts: [{type: secret, id: not-reached}]
  app:
    # SCRIPT and UNUSED are also mentioned here: ${UNUSED}
    from: ${BASE}
    env: *env
    steps:
      - run: echo $SCRIPT $TARGETARCH
        mounts:
          - {type: secret, id: tok, required: true}
          - {type: secret, id: tok, env: TOK}
          - {type: ssh}
`)
	o, err := BuildOutline(context.Background(), s, testOpt("app"))
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	for _, a := range o.Args {
		args = append(args, a.Name+"="+a.Value)
	}
	if got := strings.Join(args, " "); got != "ALIASED=b SCRIPT=c BASE=python:3.11-slim" {
		t.Errorf("args: %s", got)
	}
	if len(o.Secrets) != 1 || o.Secrets[0].ID != "tok" || !o.Secrets[0].Required {
		t.Errorf("secrets: %+v", o.Secrets)
	}
	if len(o.SSH) != 1 || o.SSH[0].ID != "default" || o.SSH[0].Required {
		t.Errorf("ssh: %+v", o.SSH)
	}
	if o.Args[0].Range.Start.Line != 4 {
		t.Errorf("an arg's range is its declaration: %+v", o.Args[0].Range)
	}
}

// The build platform is the caller's, never the host's: without one the
// compiler refuses, and with linux/arm64 the build-platform stage's ops
// say arm64 wherever the tests run.
func TestBuildPlatformIsExplicit(t *testing.T) {
	s := loadSpec(t, `version: 1
stages:
  build:
    from: golang:1.26
    platform: ${BUILDPLATFORM}
    steps:
      - go: build -o /out/app .
  app:
    from: busybox:latest
    steps:
      - copy: {from: build, src: /out/app, dst: /app}
      - run: [/app]
`)
	opt := testOpt("app")
	opt.BuildPlatform = ocispecs.Platform{}
	if _, err := Compile(context.Background(), s, opt); err == nil || !strings.Contains(err.Error(), "Opt.BuildPlatform is required") {
		t.Fatalf("no build platform: %v", err)
	}
	opt = testOpt("app")
	opt.BuildPlatform = ocispecs.Platform{OS: "linux", Architecture: "arm64"}
	opt.TargetPlatform = &ocispecs.Platform{OS: "linux", Architecture: "amd64"}
	g := marshal(t, compile(t, s, opt).State)
	_, build := g.one(t, "go: build")
	if p := build.Platform; p == nil || p.Architecture != "arm64" {
		t.Errorf("the build stage runs on %+v, want arm64", p)
	}
	_, app := g.one(t, "run: /app")
	if p := app.Platform; p == nil || p.Architecture != "amd64" {
		t.Errorf("the app stage runs on %+v, want amd64", p)
	}
	seen := 0
	for _, d := range g.list {
		op := g.ops[d]
		src := op.GetSource()
		if src == nil || !strings.HasPrefix(src.Identifier, "docker-image://") {
			continue
		}
		want := map[bool]string{true: "arm64", false: "amd64"}[strings.Contains(src.Identifier, "golang")]
		if op.Platform == nil || op.Platform.Architecture != want {
			t.Errorf("%s is pulled for %+v, want %s", src.Identifier, op.Platform, want)
		}
		seen++
	}
	if seen != 2 {
		t.Errorf("want two images, found %d", seen)
	}
}

// User text reaching progress names is escaped: an ANSI sequence in a
// step, a forged line in an env value named by a copy.
func TestProgressNamesAreEscaped(t *testing.T) {
	s := loadSpec(t, "version: 1\nstages:\n  app:\n    from: busybox:latest\n    steps:\n      - run: \"echo \\e[2J\\e[1;1Hpwned\\rover\"\n      - copy: {src: \"a\\nb\", dst: /x}\n")
	g := marshal(t, compile(t, s, testOpt("app")).State)
	var names []string
	for _, d := range g.list {
		names = append(names, g.name(d))
	}
	all := strings.Join(names, "|")
	if strings.ContainsAny(all, "\x1b\r\n") {
		t.Fatalf("a progress name holds a control character: %q", all)
	}
	for _, want := range []string{`[app 2/3] run: echo \x1b[2J\x1b[1;1Hpwned\rover`, `[app 3/3] copy: a ...`} {
		if !strings.Contains(all, want) {
			t.Errorf("no progress name %q among %q", want, names)
		}
	}
}

// A spec built in Go compiles after Validate, and an invalid one gets a
// clear error, never a panic, whether or not it was validated.
func TestCompileSpecBuiltInGo(t *testing.T) {
	s := &spec.Spec{
		Version: &spec.Int{Value: 1},
		Stages: spec.Stages{{
			Name: "app", From: spec.Str("busybox:latest"), Workdir: spec.Str("/app"),
			Steps: []spec.Step{
				&spec.RunStep{Run: *spec.Shell("echo hi > /hi")},
				&spec.CopyStep{Copy: spec.Copy{Files: spec.Files{Src: spec.Strs("a"), Dst: spec.Str("."), Chmod: &spec.Chmod{Mode: 0o644}}}},
				&spec.UserStep{User: spec.Owner{User: "1000", Group: "1000"}},
			},
			Image: &spec.Image{Expose: []spec.Port{{First: 8000, Last: 8000, Proto: "tcp"}}},
		}},
	}
	res, err := Compile(context.Background(), s, testOpt("app"))
	if err != nil {
		t.Fatalf("an unvalidated valid spec: %v", err)
	}
	if res.Image.Config.User != "1000:1000" || res.Image.Config.WorkingDir != "/app" {
		t.Errorf("config %+v", res.Image.Config)
	}
	if _, ok := res.Image.Config.ExposedPorts["8000/tcp"]; !ok {
		t.Errorf("ports %v", res.Image.Config.ExposedPorts)
	}
	g := marshal(t, res.State)
	_, cp := g.one(t, "copy: a -> .")
	if dest := cp.GetFile().Actions[0].GetCopy().Dest; dest != "/app/" {
		t.Errorf("copy to . goes to %q, want the working directory /app/", dest)
	}
	for name, bad := range map[string]*spec.Spec{
		"no stages":      {Version: &spec.Int{Value: 1}},
		"nil step":       {Version: &spec.Int{Value: 1}, Stages: spec.Stages{{Name: "a", From: spec.Str("scratch"), Steps: []spec.Step{nil}}}},
		"no from":        {Version: &spec.Int{Value: 1}, Stages: spec.Stages{{Name: "a"}}},
		"empty mount":    {Version: &spec.Int{Value: 1}, Stages: spec.Stages{{Name: "a", From: spec.Str("scratch"), Steps: []spec.Step{&spec.RunStep{Run: *spec.Exec("x"), RunOptions: spec.RunOptions{Mounts: []spec.Mount{{}}}}}}}},
		"empty parallel": {Version: &spec.Int{Value: 1}, Stages: spec.Stages{{Name: "a", From: spec.Str("scratch"), Steps: []spec.Step{&spec.ParallelStep{}}}}},
		"no version":     {Stages: spec.Stages{{Name: "a", From: spec.Str("scratch")}}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Compile(context.Background(), bad, testOpt(""))
			if err == nil || len(spec.Errors(err)) == 0 {
				t.Fatalf("want a spec error, got %v", err)
			}
			if err := spec.Validate(bad); err == nil {
				t.Fatal("Validate accepts it")
			}
			if _, err := Compile(context.Background(), bad, testOpt("")); err == nil || strings.Contains(err.Error(), "compiler failed") {
				t.Fatalf("after Validate: %v", err)
			}
		})
	}
}

// An arg default may name the args declared before it, as ARG a3="$a2-foo"
// does, and a --build-arg value is taken literally.
func TestArgDefaultsExpandEarlierArgs(t *testing.T) {
	s := loadSpec(t, `version: 1
args:
  a1: foo
  a2: "${a1}-bar"
  a3: "${a2}-${TARGETARCH}"
  a4: '\${a1}'
stages:
  app:
    from: busybox:latest
    env: {A3: "${a3}", A4: "${a4}"}
`)
	res := compile(t, s, testOpt("app"))
	env := strings.Join(res.Image.Config.Env, " ")
	if !strings.Contains(env, "A3=foo-bar-amd64") || !strings.Contains(env, "A4=${a1}") {
		t.Errorf("env %s", env)
	}
	opt := testOpt("app")
	opt.BuildArgs = map[string]string{"a2": "${a1}"}
	if env := strings.Join(compile(t, s, opt).Image.Config.Env, " "); !strings.Contains(env, "A3=${a1}-amd64") {
		t.Errorf("a build arg is literal: %s", env)
	}
	_, err := Compile(context.Background(), loadSpec(t, "version: 1\nargs:\n  a: \"${b}\"\n  b: x\nstages: {app: {from: scratch}}\n"), testOpt("app"))
	if want := `ohlcv.build.yaml:3:6: args.a: ${b} is not declared: declare it under args`; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("a later arg is not declared yet:\n got %v\nwant %s...", err, want)
	}
}

// Cache mount ids are the Dockerfile frontend's: the same RUN --mount in a
// Dockerfile, converted by dockerfile2llb, mounts the same cache id, with
// and without a namespace, with and without an explicit id.
func TestCacheIDsMatchTheDockerfileFrontend(t *testing.T) {
	for _, ns := range []string{"", "team"} {
		specIDs := cacheIDs(t, func() *llb.State {
			opt := testOpt("app")
			opt.CacheIDNamespace = ns
			s := loadSpec(t, "version: 1\nstages:\n  app:\n    from: busybox:latest\n    steps:\n      - run: x\n        mounts: [{type: cache, id: shared, target: /a}, {type: cache, target: /root/.cache}]\n")
			st := compile(t, s, opt).State
			return &st
		})
		df := "FROM busybox:latest\nRUN --mount=type=cache,id=shared,target=/a --mount=type=cache,target=/root/.cache x\n"
		dfIDs := cacheIDs(t, func() *llb.State {
			r := &stubResolve{}
			res, err := dockerfile2llb.Dockerfile2LLB(context.Background(), []byte(df), dockerfile2llb.ConvertOpt{
				Config:       dockerui.Config{CacheIDNamespace: ns},
				MetaResolver: resolverFunc(r.resolve),
			})
			if err != nil {
				t.Fatal(err)
			}
			return &res.State
		})
		if !slices.Equal(specIDs, dfIDs) || len(specIDs) != 2 {
			t.Errorf("namespace %q: spec ids %q, Dockerfile ids %q", ns, specIDs, dfIDs)
		}
	}
}

func cacheIDs(t *testing.T, st func() *llb.State) []string {
	g := marshal(t, *st())
	var ids []string
	for _, d := range g.list {
		if e := g.ops[d].GetExec(); e != nil {
			for _, m := range e.Mounts {
				if m.CacheOpt != nil {
					ids = append(ids, m.CacheOpt.ID)
				}
			}
		}
	}
	slices.Sort(ids)
	return ids
}

// A copy to ., to a value that expands to nothing, or to a path ending in
// / goes into the directory, linked or not, as COPY does.
func TestCopyDestinationDirectories(t *testing.T) {
	s := loadSpec(t, `version: 1
args: {empty: ""}
stages:
  app:
    from: busybox:latest
    workdir: /var/www
    steps:
      - copy: {src: a, dst: .}
      - copy: {src: b, dst: "${empty}", link: true}
      - copy: {src: c, dst: sub/}
      - copy: {src: d, dst: file}
      - copy: {src: e, dst: ., link: true}
`)
	g := marshal(t, compile(t, s, testOpt("app")).State)
	for name, want := range map[string]string{"copy: a ->": "/var/www/", "copy: b ->": "/var/www/", "copy: c ->": "/var/www/sub/", "copy: d ->": "/var/www/file", "copy: e ->": "/var/www/"} {
		var dest []string
		for _, d := range g.find(name) {
			if f := g.ops[d].GetFile(); f != nil {
				dest = append(dest, f.Actions[0].GetCopy().Dest)
			}
		}
		if len(dest) != 1 || dest[0] != want {
			t.Errorf("%s: dest %q, want %q", name, dest, want)
		}
	}
}

// However many images a spec names, the compiler looks up at most
// MaxConcurrentLookups at once, and each once.
func TestImageLookupsAreCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\nstages:\n")
	for i := range 200 {
		fmt.Fprintf(&b, "  s%d: {from: \"example.com/img%d:1\"}\n", i, i)
	}
	b.WriteString("  all:\n    from: scratch\n    steps:\n")
	for i := range 200 {
		fmt.Fprintf(&b, "      - copy: {from: s%d, src: /x, dst: /x%d}\n", i, i)
	}
	var inFlight, peak, calls atomic.Int32
	opt := testOpt("all")
	opt.ResolveImageConfig = func(ctx context.Context, ref string, o sourceresolver.Opt) (string, digest.Digest, []byte, error) {
		calls.Add(1)
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(2 * time.Millisecond)
		return anyImage(ctx, ref, o)
	}
	compile(t, loadSpec(t, b.String()), opt)
	if peak.Load() > MaxConcurrentLookups || peak.Load() < 2 || calls.Load() != 200 {
		t.Errorf("peak %d lookups in flight (cap %d), %d calls for 200 images", peak.Load(), MaxConcurrentLookups, calls.Load())
	}
}

// A target that would compile to more ops than MaxOps is refused before any
// image is resolved.
func TestOpLimitIsCheckedBeforeResolving(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\nstages:\n  a:\n    from: python:3.11-slim\n    steps:\n")
	for range MaxOps {
		b.WriteString("      - run: [x]\n")
	}
	var resolved atomic.Bool
	opt := testOpt("a")
	opt.ResolveImageConfig = func(context.Context, string, sourceresolver.Opt) (string, digest.Digest, []byte, error) {
		resolved.Store(true)
		return "", "", nil, fmt.Errorf("not expected")
	}
	_, err := Compile(context.Background(), loadSpec(t, b.String()), opt)
	if want := `ohlcv.build.yaml:3:3: stages.a: target "a" compiles to up to 12001 LLB ops in 1 stage, more than the 12000 one build may have`; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got %v\nwant %s", err, want)
	}
	if resolved.Load() {
		t.Error("an image was resolved before the limit was checked")
	}
}

// The history of a chain of stages is shared, not copied per stage: the
// target's image has one entry per step of the chain, in order.
func TestHistoryAlongAChain(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\nstages:\n  s0: {from: busybox:latest, steps: [{run: [echo, \"0\"]}]}\n")
	for i := 1; i < 50; i++ {
		fmt.Fprintf(&b, "  s%d: {from: s%d, steps: [{run: [echo, \"%d\"]}]}\n", i, i-1, i)
	}
	res := compile(t, loadSpec(t, b.String()), testOpt("s49"))
	h := res.Image.History
	if len(h) != 51 || h[0].CreatedBy != "stub base layer" {
		t.Fatalf("history has %d entries: %+v", len(h), h[:2])
	}
	for i := 1; i <= 50; i++ {
		if want := fmt.Sprintf("RUN echo %d # buildkit", i-1); h[i].CreatedBy != want {
			t.Errorf("entry %d = %q, want %q", i, h[i].CreatedBy, want)
		}
	}
	res10 := compile(t, loadSpec(t, b.String()), testOpt("s10"))
	if len(res10.Image.History) != 12 {
		t.Errorf("a stage in the middle has %d entries", len(res10.Image.History))
	}
	dt, _ := json.Marshal(res.Image)
	if !json.Valid(dt) {
		t.Error("image config does not marshal")
	}
}

// Compile is safe to call concurrently on one spec, as the frontend does
// once per platform.
func TestConcurrentCompiles(t *testing.T) {
	s := loadFile(t, "../examples/ohlcv-rag/offline.build.yaml")
	var wg sync.WaitGroup
	for _, arch := range []string{"amd64", "arm64", "riscv64", "s390x"} {
		wg.Go(func() {
			opt := testOpt("test")
			opt.TargetPlatform = &ocispecs.Platform{OS: "linux", Architecture: arch}
			opt.MultiPlatform = true
			if _, err := Compile(context.Background(), s, opt); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

// SOURCE_DATE_EPOCH, given as Opt.Epoch, is the image's created time and
// every history entry's, the time of the directories workdir creates, and
// reaches the runs that mention it.
func TestEpoch(t *testing.T) {
	s := loadSpec(t, "version: 1\nstages:\n  app:\n    from: busybox:latest\n    workdir: /app\n    steps:\n      - run: echo $SOURCE_DATE_EPOCH\n      - run: echo no\n")
	epoch := time.Unix(1700000000, 0).UTC()
	opt := testOpt("app")
	opt.Epoch = &epoch
	res := compile(t, s, opt)
	if res.Image.Created == nil || !res.Image.Created.Equal(epoch) {
		t.Errorf("created %v", res.Image.Created)
	}
	for _, h := range res.Image.History[1:] {
		if h.Created == nil || !h.Created.Equal(epoch) {
			t.Errorf("history %q created %v", h.CreatedBy, h.Created)
		}
	}
	g := marshal(t, res.State)
	_, mkdir := g.one(t, "workdir: /app")
	if ts := mkdir.GetFile().Actions[0].GetMkdir().Timestamp; ts != epoch.UnixNano() {
		t.Errorf("workdir's directory time %d, want %d", ts, epoch.UnixNano())
	}
	_, with := g.one(t, "run: echo $SOURCE_DATE_EPOCH")
	if !slices.Contains(with.GetExec().Meta.Env, "SOURCE_DATE_EPOCH=1700000000") {
		t.Errorf("env %v", with.GetExec().Meta.Env)
	}
	_, without := g.one(t, "run: echo no")
	if slices.ContainsFunc(without.GetExec().Meta.Env, func(e string) bool { return strings.HasPrefix(e, "SOURCE_DATE_EPOCH") }) {
		t.Errorf("a run that does not mention it gets it: %v", without.GetExec().Meta.Env)
	}
	if res := compile(t, s, testOpt("app")); res.Image.Created != nil || res.Image.History[1].Created != nil {
		t.Errorf("without an epoch, no times are set")
	}
}

// A spec that declares SOURCE_DATE_EPOCH gets the epoch as the frontend
// resolved it, not the build arg as written: "context" becomes the
// context's commit time, as the Dockerfile frontend sets it back.
func TestEpochDeclaredArg(t *testing.T) {
	s := loadSpec(t, "version: 1\nargs: {SOURCE_DATE_EPOCH: \"0\"}\nstages:\n  app:\n    from: busybox:latest\n    steps:\n      - run: echo $SOURCE_DATE_EPOCH\n")
	epoch := time.Unix(1700000000, 0).UTC()
	opt := testOpt("app")
	opt.Epoch = &epoch
	opt.BuildArgs = map[string]string{"SOURCE_DATE_EPOCH": "context"}
	g := marshal(t, compile(t, s, opt).State)
	_, run := g.one(t, "run: echo $SOURCE_DATE_EPOCH")
	if env := run.GetExec().Meta.Env; !slices.Contains(env, "SOURCE_DATE_EPOCH=1700000000") || slices.Contains(env, "SOURCE_DATE_EPOCH=context") {
		t.Errorf("env %v, want SOURCE_DATE_EPOCH=1700000000", env)
	}
	if opt.BuildArgs["SOURCE_DATE_EPOCH"] != "context" {
		t.Errorf("Compile changed the caller's build args: %v", opt.BuildArgs)
	}
}
