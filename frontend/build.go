// Package frontend is the BuildKit gateway glue of the ohlcv.build.yaml
// frontend: it reads the spec and the build's options through dockerui,
// compiles the spec with llbgraph once per platform, solves it, and answers
// the --call subrequests. All compiling is in llbgraph; this package only
// talks to the gateway.
package frontend

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerui"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph"
	"github.com/ohlcv-rag/ohlcv-build/llbgraph/check"
	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// Build is the frontend: a gateway BuildFunc. It reads the spec named by the
// filename option (default ohlcv.build.yaml), handles --call subrequests,
// and otherwise builds the target for every requested platform, returning
// the result with its image config.
func Build(ctx context.Context, c gwclient.Client) (_ *gwclient.Result, err error) {
	c = newClient(c)
	bc, err := dockerui.NewClient(c)
	if err != nil {
		return nil, err
	}
	src, err := bc.ReadEntrypoint(ctx, llbgraph.Language)
	if err != nil {
		return nil, err
	}
	defer func() {
		err = withWholeMessage(withSpecSource(err, src.SourceMap))
	}()
	s, err := spec.Load(src.Filename, src.Data)
	if err != nil {
		return nil, err
	}
	if err := check.ValidateConfig(s); err != nil {
		return nil, err
	}
	if res, ok, err := bc.HandleSubrequest(ctx, subrequests(s, bc, src)); err != nil || ok {
		return res, err
	}
	warnUndeclaredArgs(ctx, s, bc.BuildArgs, src)
	// The target's limits first: the checks evaluate every stage.
	var first *ocispecs.Platform
	if len(bc.TargetPlatforms) > 0 {
		first = &bc.TargetPlatforms[0]
	}
	if err := llbgraph.CheckTarget(s, compileOpt(bc, src.SourceMap, first)); err != nil {
		return nil, err
	}
	warnIgnoredOptions(ctx, bc, src)
	if err := warnChecks(ctx, s, bc, src); err != nil {
		return nil, err
	}
	epoch, err := sourceDateEpoch(ctx, bc)
	if err != nil {
		return nil, err
	}
	rb, err := bc.Build(ctx, func(ctx context.Context, platform *ocispecs.Platform, _ int) (*dockerui.BuildResult, error) {
		opt := compileOpt(bc, src.SourceMap, platform)
		opt.Epoch = epoch
		res, err := llbgraph.Compile(ctx, s, opt)
		if err != nil {
			return nil, err
		}
		def, err := res.State.Marshal(ctx, llb.WithCaps(c.BuildOpts().LLBCaps))
		if err != nil {
			return nil, fmt.Errorf("marshalling the LLB of %s: %w", res.Target, err)
		}
		r, err := c.Solve(ctx, gwclient.SolveRequest{Definition: def.ToPB(), CacheImports: bc.CacheImports, Evaluate: asksEntitlement(s, res.Stages)})
		if err != nil {
			return nil, explainEntitlement(err, s, res.Stages)
		}
		ref, err := r.SingleRef()
		if err != nil {
			return nil, err
		}
		if len(res.Tests) > 0 && !llbgraph.SkipTests(bc.BuildArgs) {
			if err := runTests(ctx, c, s, ref, res.Tests, llb.WithCaps(c.BuildOpts().LLBCaps)); err != nil {
				return nil, err
			}
		}
		return &dockerui.BuildResult{Reference: ref, Image: res.Image, BaseImage: res.BaseImage, Epoch: epoch}, nil
	})
	if err != nil {
		return nil, err
	}
	return rb.Finalize()
}

// compileOpt maps the build's options, as dockerui parsed them, to the
// compiler's, with hooks that call the gateway.
func compileOpt(bc *dockerui.Client, sm *llb.SourceMap, platform *ocispecs.Platform) llbgraph.Opt {
	run, _ := runFlags(bc) // Build warns about what it leaves out
	opt := llbgraph.Opt{
		Target:             bc.Target,
		TargetPlatform:     platform,
		BuildPlatform:      bc.BuildPlatforms[0],
		MultiPlatform:      bc.MultiPlatformRequested,
		BuildArgs:          bc.BuildArgs,
		NoCache:            bc.IsNoCache,
		ImageResolveMode:   bc.ImageResolveMode,
		CacheIDNamespace:   bc.CacheIDNamespace,
		Labels:             bc.Labels,
		Run:                run,
		SourceMap:          sm,
		FileTestImage:      frontendImage(bc),
		ResolveImageConfig: bc.GatewayClient().ResolveImageConfig,
		NamedContext: func(name string, p ocispecs.Platform) (func(context.Context) (*llb.State, *dockerspec.DockerOCIImage, error), error) {
			nc, err := bc.NamedContext(name, dockerui.ContextOpt{Platform: &p, ResolveMode: bc.ImageResolveMode.String()})
			if err != nil || nc == nil {
				return nil, err
			}
			return nc.Load, nil
		},
		MainContext: func(ctx context.Context, excludes, followPaths []string) (*llb.State, error) {
			ignore, err := bc.DockerIgnorePatterns(ctx)
			if err != nil {
				return nil, err
			}
			// A later ExcludePatterns replaces dockerui's, so pass both.
			opts := []llb.LocalOption{llb.ExcludePatterns(append(ignore, excludes...))}
			if len(followPaths) > 0 {
				opts = append(opts, llb.FollowPaths(followPaths))
			}
			return bc.MainContext(ctx, opts...)
		},
	}
	if !hasNamedContexts(bc) {
		// dockerui would answer nil for every name, after parsing each
		// as a reference: a cost per stage a hostile spec multiplies.
		opt.NamedContext = nil
	}
	return opt
}

// hasNamedContexts says whether the build sets any named context
// (--build-context), the options dockerui's NamedContext reads.
func hasNamedContexts(bc *dockerui.Client) bool {
	for k := range bc.GatewayClient().BuildOpts().Opts {
		if strings.HasPrefix(k, "context:") {
			return true
		}
	}
	return false
}

// warnUndeclaredArgs warns, as the Dockerfile frontend does, about build
// args the spec does not declare: they reach no step.
func warnUndeclaredArgs(ctx context.Context, s *spec.Spec, buildArgs map[string]string, src *dockerui.Source) {
	names := make([]string, 0, len(buildArgs))
	for name := range buildArgs {
		if !s.DeclaresArg(name) && !strings.HasPrefix(name, "BUILDKIT_") && !llbgraph.IsProxyArg(name) && name != llbgraph.SourceDateEpochArg && name != llbgraph.SkipTestsArg {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		src.Warn(ctx, fmt.Sprintf("build arg %s is not declared under args in %s, so no step sees it", spec.Shorten(name), spec.Escape(s.Filename)), gwclient.WarnOpts{})
	}
}

// sourceDateEpoch reads the SOURCE_DATE_EPOCH build arg, as the Dockerfile
// frontend does: seconds since 1970, or "context" for the time of the main
// context's git commit. It returns nil when the arg is not set.
func sourceDateEpoch(ctx context.Context, bc *dockerui.Client) (*time.Time, error) {
	v := bc.BuildArgs[llbgraph.SourceDateEpochArg]
	switch {
	case v == "":
		return nil, nil
	case v == "context":
		return bc.ResolveMainContextSourceDateEpoch(ctx)
	}
	sec, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("build arg %s=%s: want seconds since 1970 (such as $(git log -1 --format=%%ct)) or \"context\"", llbgraph.SourceDateEpochArg, spec.Quote(v))
	}
	t := time.Unix(sec, 0).UTC()
	return &t, nil
}

// frontendImage is the image this frontend runs from, the gateway's source
// option (set by gateway.v0, and by a `# syntax=` line through the
// Dockerfile frontend); empty when it runs in-process (`frontend build`).
func frontendImage(bc *dockerui.Client) string {
	return bc.GatewayClient().BuildOpts().Opts[gatewaySourceOpt]
}

// gatewaySourceOpt is the option that names a gateway frontend's image
// (BuildKit's frontend.KeySource).
const gatewaySourceOpt = "source"
