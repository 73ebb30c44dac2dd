// Package llbgraph compiles an ohlcv.build.yaml spec ([spec.Spec]) to an LLB
// graph. It is a pure compiler: everything it needs from a build (image
// configs, named contexts, the main context) comes through the function
// hooks of [Opt], so it runs in unit tests with no daemon, and the gateway
// glue lives in the frontend package.
//
// Its work grows linearly with the stages, steps and images a target
// reaches, and is bounded for any spec: see budget.go.
package llbgraph

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// Opt is what a build tells the compiler. It holds plain values and function
// hooks, never a gateway client.
type Opt struct {
	// Target is the stage to build; empty means the spec's default.
	Target string
	// BuildPlatform is the platform of the worker that runs the steps. It
	// is required: the compiler never guesses it from the host it runs on.
	BuildPlatform ocispecs.Platform
	// TargetPlatform is the platform the result is for; nil means
	// BuildPlatform.
	TargetPlatform *ocispecs.Platform
	// MultiPlatform adds the platform to progress names, for builds of
	// several platforms at once.
	MultiPlatform bool
	// BuildArgs override the spec's args (--build-arg NAME=VALUE). The
	// proxy args (HTTP_PROXY, HTTPS_PROXY, FTP_PROXY, NO_PROXY, ALL_PROXY)
	// reach every run step without a declaration, outside the cache key.
	BuildArgs map[string]string
	// NoCache reports whether a stage's steps must run again rather than
	// come from the cache (--no-cache, or --no-cache-filter=stage). Nil means
	// never.
	NoCache func(stage string) bool
	// ImageResolveMode says whether base images are pulled or taken from the
	// local store.
	ImageResolveMode llb.ResolveMode
	// CacheIDNamespace prefixes every cache mount id
	// (BUILDKIT_CACHE_MOUNT_NS), as in the Dockerfile frontend.
	CacheIDNamespace string
	// Labels are added to the image configuration (--label).
	Labels map[string]string
	// SourceMap is the spec file as the build loaded it; every op points
	// into it. Nil makes one from the spec.
	SourceMap *llb.SourceMap
	// Epoch is SOURCE_DATE_EPOCH: when set, it is the image's created time
	// and every history entry's, the time of the directories workdir
	// creates, and runs that mention $SOURCE_DATE_EPOCH get it, as in the
	// Dockerfile frontend, so images can be reproduced.
	Epoch *time.Time
	// Run holds the build's flags for the containers of run-like steps
	// (--add-host, --shm-size, --ulimit, --cgroup-parent, --network, ...).
	Run RunFlags
	// FileTestImage is the image of this frontend (the gateway's source
	// option), whose `/bin/frontend test-file` checks each file test as a
	// cached step of its own, on the target's filesystem mounted
	// read-only. Empty leaves file tests to the caller, with no step
	// ([Test.Output] is nil).
	FileTestImage string

	// ResolveImageConfig returns an image's config and digest, as the
	// gateway client's method of that name does. It is called concurrently,
	// at most [MaxConcurrentLookups] at a time, once for each base image of
	// the reachable stages.
	ResolveImageConfig func(ctx context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error)
	// NamedContext looks up a named build context (--build-context
	// NAME=...), which replaces the image or stage of that name. It returns
	// nil when there is none; the function it returns loads the context and
	// may be called concurrently. Nil means no named contexts.
	NamedContext func(name string, platform ocispecs.Platform) (func(context.Context) (*llb.State, *dockerspec.DockerOCIImage, error), error)
	// MainContext returns the main build context, leaving out excludes (the
	// spec's exclude, to be added to .dockerignore's patterns) and, when
	// followPaths is not empty, transferring only those paths. It is called
	// only when a reachable stage reads the main context.
	MainContext func(ctx context.Context, excludes, followPaths []string) (*llb.State, error)
}

// Result is a compiled target.
type Result struct {
	// Target is the name of the stage built.
	Target string
	// State is the target stage's filesystem, ready to marshal and solve.
	State llb.State
	// Image is the image configuration of the target, with history.
	Image *dockerspec.DockerOCIImage
	// BaseImage is the configuration of the image the target is based on,
	// when it is based on an image.
	BaseImage *dockerspec.DockerOCIImage
	// Platform is the target's platform.
	Platform ocispecs.Platform
	// Stages lists the stages compiled for the target, dependencies first.
	Stages []string
	// Tests are the target stage's tests, compiled; the frontend runs them
	// after State is solved. They are no part of State, so the image is
	// the same with them or without.
	Tests []*Test
}

// Compile compiles the target of s. Only the stages the target reaches are
// compiled; their base images are resolved concurrently. Errors about the
// spec are [*spec.Error] values naming the file, line and column.
//
// Compile validates every spec it is given ([spec.Validate]) rather than
// taking a type that only validation returns: a Spec is a plain struct that
// callers build and change in Go, so a mark of "validated" goes stale the
// moment a field changes after it, while validating is one linear walk with
// no YAML to parse, small beside compiling. A spec built or changed in Go
// thus compiles or gets a clear error naming its YAML path.
func Compile(ctx context.Context, s *spec.Spec, opt Opt) (*Result, error) {
	c, err := newCompiler(s, opt)
	if err != nil {
		return nil, err
	}
	return c.compile(ctx)
}

// CheckTarget plans the target of opt as [Compile] does and returns the
// error Compile would return before it looks anything up or evaluates a
// stage: an unknown target, a stage that cannot be planned, or a target
// that reaches more than [MaxOps] ops. It needs no daemon and is linear in
// the stages the target reaches, so the frontend calls it before work that
// grows with the whole spec (the checks evaluate every stage).
func CheckTarget(s *spec.Spec, opt Opt) (err error) {
	c, err := newCompiler(s, opt)
	if err != nil {
		return err
	}
	defer c.recoverPanic(&err)
	_, err = c.plannedTarget()
	return err
}

// plannedTarget plans the target and checks its op count.
func (c *compiler) plannedTarget() (*plan, error) {
	p, err := c.plan()
	if err != nil {
		return nil, err
	}
	if n := countOps(p); n > MaxOps {
		st := p.target.stage
		return nil, c.errorf(&st.Node, "", st.NameRange, "target %s compiles to up to %d LLB ops in %s, more than the %d one build may have; build a target that reaches fewer stages", spec.Quote(st.Name), n, spec.Count(len(p.order), "stage"), MaxOps)
	}
	return p, nil
}

func (c *compiler) compile(ctx context.Context) (res *Result, err error) {
	defer c.recoverPanic(&err)
	p, err := c.plannedTarget()
	if err != nil {
		return nil, err
	}
	if err := c.resolve(ctx, p); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(p.order))
	for _, sp := range p.order {
		if err := c.evaluate(p, sp); err != nil {
			return nil, err
		}
		if err := c.compileStage(p, sp); err != nil {
			return nil, err
		}
		names = append(names, sp.stage.Name)
	}
	t := p.target
	tests, err := c.compileTests(t)
	if err != nil {
		return nil, err
	}
	img, err := c.finalImage(t.model)
	if err != nil {
		return nil, err
	}
	if c.opt.TargetPlatform != nil {
		setTargetPlatform(img, c.target)
	}
	if len(c.opt.Labels) > 0 {
		img.Config.Labels = maps.Clone(img.Config.Labels)
		if img.Config.Labels == nil {
			img.Config.Labels = map[string]string{}
		}
		maps.Copy(img.Config.Labels, c.opt.Labels)
	}
	return &Result{
		Target:    t.stage.Name,
		State:     t.build.state,
		Image:     img,
		BaseImage: t.model.baseImage,
		Platform:  t.platform,
		Stages:    names,
		Tests:     tests,
	}, nil
}

// recoverPanic turns a panic of the compiler into an error on the spec: the
// compiler runs inside other people's build daemons, and a bug must fail
// one build, not take the frontend down. Tests and the fuzzer look for this
// message.
func (c *compiler) recoverPanic(err *error) {
	if r := recover(); r != nil {
		*err = &spec.Error{Filename: c.spec.Filename, Msg: fmt.Sprintf("the compiler failed on this spec (%v); please report it with the spec attached", r),
			Err: errors.New(string(debug.Stack()))}
	}
}

// compiler holds one compilation's inputs and the values derived from them.
type compiler struct {
	spec       *spec.Spec
	opt        Opt
	sourceMap  *llb.SourceMap
	lineWidths []int // of the source map's lines, for [compiler.location]
	target     ocispecs.Platform
	stages     map[string]*spec.Stage
	args       map[string]string
	argOrder   map[string]int // declaration order of the args
	platformKV []string       // NAME=value for the platform args
	proxy      *llb.ProxyEnv  // from the HTTP_PROXY-style build args
	budget     budget
	// evaluateAll evaluates every stage, going on past a stage that fails,
	// and takes an image config it cannot look up as unknown (Evaluate).
	evaluateAll bool
	model       *Model // what is evaluated
}

func newCompiler(s *spec.Spec, opt Opt) (*compiler, error) {
	if s == nil {
		return nil, errors.New("llbgraph: no spec")
	}
	if err := spec.Validate(s); err != nil {
		return nil, err
	}
	if opt.BuildPlatform.OS == "" || opt.BuildPlatform.Architecture == "" {
		return nil, errors.New("llbgraph: Opt.BuildPlatform is required (the frontend passes the worker's platform)")
	}
	opt.BuildPlatform = platforms.Normalize(opt.BuildPlatform)
	target := opt.BuildPlatform
	if opt.TargetPlatform != nil {
		target = platforms.Normalize(*opt.TargetPlatform)
	}
	sm := opt.SourceMap
	if sm == nil {
		sm = llb.NewSourceMap(nil, s.Filename, Language, s.Source)
	}
	c := &compiler{spec: s, opt: opt, sourceMap: sm, target: target, args: make(map[string]string, len(s.Args)), argOrder: make(map[string]int, len(s.Args))}
	c.model = &Model{spec: s, args: c.args, stages: map[*spec.Stage]*Stage{}}
	c.budget = newBudget()
	c.stages = make(map[string]*spec.Stage, len(s.Stages))
	for _, st := range s.Stages {
		if _, dup := c.stages[st.Name]; !dup {
			c.stages[st.Name] = st
		}
	}
	c.platformKV = platformArgs(opt.BuildPlatform, target)
	buildArgs := opt.BuildArgs
	if opt.Epoch != nil {
		// The epoch as resolved (the frontend reads "context" as the
		// context's commit time), for a spec that declares the arg too,
		// as the Dockerfile frontend sets it back into its build args.
		epoch := strconv.FormatInt(opt.Epoch.Unix(), 10)
		c.platformKV = append(c.platformKV, SourceDateEpochArg+"="+epoch)
		if _, set := buildArgs[SourceDateEpochArg]; set {
			buildArgs = maps.Clone(buildArgs)
			buildArgs[SourceDateEpochArg] = epoch
		}
	}
	c.proxy = proxyEnv(opt.BuildArgs)
	// A default may name the args declared before it, as ARG a3="$a2-foo"
	// does; a --build-arg value is taken as given.
	sc := c.scope(nil)
	sc.reads = &c.model.defaultReads
	for i, a := range s.Args {
		c.argOrder[a.Name] = i
		if v, ok := buildArgs[a.Name]; ok {
			c.args[a.Name] = v
			// what the default names still counts as read (UnusedArg)
			c.model.defaultReads = append(c.model.defaultReads, spec.ScriptNames(a.Value)...)
			continue
		}
		at := spec.Field(&s.Node, "args."+a.Name)
		v, err := sc.expand(at, "", a.Range, a.Value)
		if err != nil {
			return nil, err
		}
		c.args[a.Name] = v
	}
	return c, nil
}

// SourceDateEpochArg is the build arg that makes builds reproducible: the
// frontend reads it into Opt.Epoch, and every build sets it for the runs
// that mention it, as it sets the platform args.
const SourceDateEpochArg = "SOURCE_DATE_EPOCH"

// Language names the spec's language in source maps, as GitHub Linguist
// does.
const Language = "YAML"

// platformArgs returns the automatic platform args as NAME=value.
func platformArgs(build, target ocispecs.Platform) []string {
	return []string{
		"BUILDPLATFORM=" + platforms.Format(build),
		"BUILDOS=" + build.OS,
		"BUILDARCH=" + build.Architecture,
		"BUILDVARIANT=" + build.Variant,
		"TARGETPLATFORM=" + platforms.Format(target),
		"TARGETOS=" + target.OS,
		"TARGETARCH=" + target.Architecture,
		"TARGETVARIANT=" + target.Variant,
	}
}

// errorf returns an error about key of the mapping at n, whose value is
// at r.
func (c *compiler) errorf(n *spec.Node, key string, r spec.Range, format string, args ...any) *spec.Error {
	p := n.Path()
	if key != "" {
		p = n.Field(key)
	}
	return spec.Errorf(c.spec.Filename, p, r.Or(n.Range), format, args...)
}
