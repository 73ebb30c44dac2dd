package llbgraph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"golang.org/x/sync/errgroup"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// MaxConcurrentLookups bounds how many image configs and named contexts
// one compilation looks up at once: a spec naming two thousand images must
// not open two thousand requests to the registry.
const MaxConcurrentLookups = 16

// optionalLookup ends the progress name of a lookup the build does not
// need: an image looked up only as a lists root (listsroot.go).
const optionalLookup = " (optional: for shared package lists)"

// resolve loads every image config and named context the plan needs,
// MaxConcurrentLookups at a time, then the main context if a stage reads
// it.
func (c *compiler) resolve(ctx context.Context, p *plan) error {
	c.planListsRoots(p)
	if err := c.resolveSources(ctx, p); err != nil {
		return err
	}
	if !p.usesMain {
		return nil
	}
	follow, all := mainContextPaths(c.spec)
	if all {
		follow = nil
	}
	excludes := spec.Values(c.spec.Exclude)
	if c.opt.MainContext == nil {
		p.main = llb.Local("context", llb.ExcludePatterns(excludes), llb.FollowPaths(follow),
			llb.SharedKeyHint("context"), llb.WithCustomName("[internal] load build context"))
		return nil
	}
	st, err := c.opt.MainContext(ctx, excludes, follow)
	if err != nil {
		return fmt.Errorf("loading the main build context: %w", err)
	}
	p.main = *st
	return nil
}

// resolveSources loads every image config and named context the plan
// needs. For Evaluate, a source that cannot be loaded keeps its error for
// the stages that read it, and without Opt.ResolveImageConfig an image's
// config is unknown.
func (c *compiler) resolveSources(ctx context.Context, p *plan) error {
	ids := make([]string, 0, len(p.sources))
	for id := range p.sources {
		ids = append(ids, id)
	}
	sort.Strings(ids) // deterministic first error
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(MaxConcurrentLookups)
	for _, id := range ids {
		s := p.sources[id]
		if s.kind == SourceImage && c.opt.ResolveImageConfig == nil && c.evaluateAll {
			s.unknown = true
			continue
		}
		eg.Go(func() error {
			var err error
			if s.kind == SourceContext {
				err = c.loadContext(ectx, s)
			} else {
				err = c.resolveImage(ectx, s)
			}
			if err != nil && c.evaluateAll {
				s.err, err = err, nil
			}
			return err
		})
	}
	for _, s := range p.roots {
		if !s.rootOnly {
			continue // one of the plan's, looked up above
		}
		eg.Go(func() error {
			// not needed for the build: an image that cannot be looked up is no root
			if err := c.resolveImage(ectx, s); err != nil {
				s.err = err
			}
			return nil
		})
	}
	return eg.Wait()
}

func (c *compiler) loadContext(ctx context.Context, s *source) error {
	st, img, err := s.load(ctx)
	if err != nil {
		return withErr(c.errorf(s.node, s.key, s.at, "loading named context %s", spec.Quote(s.name)), err)
	}
	s.state = *st
	if img != nil {
		img.Created = nil
		s.image = img
	}
	return nil
}

func (c *compiler) resolveImage(ctx context.Context, s *source) error {
	if c.opt.ResolveImageConfig == nil {
		return errors.New("llbgraph: Opt.ResolveImageConfig is required to build from images")
	}
	logName := "[internal] load metadata for " + s.ref
	if s.rootOnly {
		logName += optionalLookup
	}
	mutRef, dgst, dt, err := c.opt.ResolveImageConfig(ctx, s.ref, sourceresolver.Opt{
		LogName: logName,
		ImageOpt: &sourceresolver.ResolveImageOpt{
			Platform:    &s.platform,
			ResolveMode: c.opt.ImageResolveMode.String(),
		},
	})
	if err != nil {
		return withErr(c.errorf(s.node, s.key, s.at, "cannot load image %s%s", spec.Quote(s.name), spec.DidYouMean(s.name, c.spec.Stages.Names())), err)
	}
	var img imageConfig
	if err := json.Unmarshal(dt, &img); err != nil {
		return withErr(c.errorf(s.node, s.key, s.at, "image %s has an unreadable config", spec.Quote(s.name)), err)
	}
	img.Created = nil
	s.image = &img
	named, err := reference.ParseNormalizedNamed(mutRef)
	if err != nil {
		return withErr(c.errorf(s.node, s.key, s.at, "image %s resolved to a bad reference %s", spec.Quote(s.name), spec.Quote(mutRef)), err)
	}
	if dgst != "" {
		if named, err = reference.WithDigest(named, dgst); err != nil {
			return err
		}
	}
	s.ref = named.String()
	return nil
}

// sourceState returns the filesystem of a resolved source, naming the
// vertex that loads an image after the step that reads it.
func (c *compiler) sourceState(s *source, name string, r spec.Range) llb.State {
	switch {
	case s.kind == SourceStage:
		return s.stage.build.state
	case s.kind != SourceImage:
		return s.state
	case isEmptyImage(s.image):
		return llb.Scratch().Platform(s.platform)
	}
	return llb.Image(s.ref, llb.Platform(s.platform), c.opt.ImageResolveMode,
		llb.WithCustomName(name), c.location(r))
}

// withErr attaches an underlying error to a spec error.
func withErr(e *spec.Error, err error) *spec.Error {
	e.Err = err
	return e
}
