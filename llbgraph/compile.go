// Package llbgraph compiles an ohlcv.build.yaml spec ([spec.Spec]) to an LLB
// graph. It is a pure compiler: everything it needs from a build (image
// configs, named contexts, the main context) comes through the function
// hooks of [Opt], so it runs in unit tests with no daemon, and the gateway
// glue lives in the frontend package.
package llbgraph

import (
	"context"

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
	// TargetPlatform is the platform the result is for; nil means
	// BuildPlatform.
	TargetPlatform *ocispecs.Platform
	// BuildPlatform is the platform of the worker that runs the steps.
	BuildPlatform ocispecs.Platform
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

	// ResolveImageConfig returns an image's config and digest, as the
	// gateway client's method of that name does. It is called concurrently,
	// once for each base image of the reachable stages.
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
}

// Compile compiles the target of s. Only the stages the target reaches are
// compiled; their base images are resolved concurrently. Errors about the
// spec are [*spec.Error] values naming the file, line and column.
func Compile(ctx context.Context, s *spec.Spec, opt Opt) (*Result, error) {
	c, p, err := newPlan(s, opt)
	if err != nil {
		return nil, err
	}
	if err := c.resolve(ctx, p); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(p.order))
	for _, sp := range p.order {
		if err := c.compileStage(ctx, p, sp); err != nil {
			return nil, err
		}
		names = append(names, sp.spec.Name)
	}
	t := p.target.build
	img := cloneImage(t.image)
	for k, v := range opt.Labels {
		if img.Config.Labels == nil {
			img.Config.Labels = map[string]string{}
		}
		img.Config.Labels[k] = v
	}
	return &Result{
		Target:    p.target.spec.Name,
		State:     t.state,
		Image:     &img,
		BaseImage: t.baseImage,
		Platform:  t.platform,
		Stages:    names,
	}, nil
}

// compiler holds one compilation's inputs and the values derived from them.
type compiler struct {
	spec       *spec.Spec
	opt        Opt
	sourceMap  *llb.SourceMap
	target     ocispecs.Platform
	args       map[string]string
	platformKV []string      // NAME=value for the platform args
	proxy      *llb.ProxyEnv // from the HTTP_PROXY-style build args
}

func newCompiler(s *spec.Spec, opt Opt) (*compiler, error) {
	if opt.BuildPlatform.OS == "" {
		opt.BuildPlatform = platforms.DefaultSpec()
	}
	opt.BuildPlatform = platforms.Normalize(opt.BuildPlatform)
	target := opt.BuildPlatform
	if opt.TargetPlatform != nil {
		target = platforms.Normalize(*opt.TargetPlatform)
	}
	sm := opt.SourceMap
	if sm == nil {
		sm = llb.NewSourceMap(nil, s.Filename, "YAML", s.Source)
	}
	c := &compiler{spec: s, opt: opt, sourceMap: sm, target: target, args: map[string]string{}}
	c.platformKV = platformArgs(opt.BuildPlatform, target)
	// A default may name the args declared before it, as ARG a3="$a2-foo"
	// does; a --build-arg value is taken as given.
	for _, a := range s.Args {
		if v, ok := opt.BuildArgs[a.Name]; ok {
			c.args[a.Name] = v
			continue
		}
		v, err := scope{c: c}.expand(s.Node, "args."+a.Name, a.Value)
		if err != nil {
			return nil, err
		}
		c.args[a.Name] = v
	}
	c.proxy = proxyEnv(opt.BuildArgs)
	return c, nil
}

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
