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

// resolve loads every image config and named context the plan needs, all
// at once, then the main context if a stage reads it.
func (c *compiler) resolve(ctx context.Context, p *plan) error {
	ids := make([]string, 0, len(p.sources))
	for id := range p.sources {
		ids = append(ids, id)
	}
	sort.Strings(ids) // deterministic first error
	eg, ectx := errgroup.WithContext(ctx)
	for _, id := range ids {
		s := p.sources[id]
		eg.Go(func() error {
			if s.kind == fromContext {
				return c.loadContext(ectx, s)
			}
			return c.resolveImage(ectx, s)
		})
	}
	if err := eg.Wait(); err != nil {
		return err
	}
	if !p.usesMain {
		return nil
	}
	follow, all := mainContextPaths(c.spec)
	if all {
		follow = nil
	}
	if c.opt.MainContext == nil {
		p.main = llb.Local("context", llb.ExcludePatterns(c.spec.Exclude), llb.FollowPaths(follow),
			llb.SharedKeyHint("context"), llb.WithCustomName("[internal] load build context"))
		return nil
	}
	st, err := c.opt.MainContext(ctx, c.spec.Exclude, follow)
	if err != nil {
		return fmt.Errorf("loading the main build context: %w", err)
	}
	p.main = *st
	return nil
}

func (c *compiler) loadContext(ctx context.Context, s *source) error {
	st, img, err := s.load(ctx)
	if err != nil {
		return withErr(s.node.Errorf(c.spec.Filename, s.key, "loading named context %q", s.name), err)
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
	mutRef, dgst, dt, err := c.opt.ResolveImageConfig(ctx, s.ref, sourceresolver.Opt{
		LogName: "[internal] load metadata for " + s.ref,
		ImageOpt: &sourceresolver.ResolveImageOpt{
			Platform:    &s.platform,
			ResolveMode: c.opt.ImageResolveMode.String(),
		},
	})
	if err != nil {
		return withErr(s.node.Errorf(c.spec.Filename, s.key, "cannot load image %q%s", s.name, suggestName(s.name, c.spec.Stages.Names())), err)
	}
	var img imageConfig
	if err := json.Unmarshal(dt, &img); err != nil {
		return withErr(s.node.Errorf(c.spec.Filename, s.key, "image %q has an unreadable config", s.name), err)
	}
	img.Created = nil
	s.image = &img
	named, err := reference.ParseNormalizedNamed(mutRef)
	if err != nil {
		return withErr(s.node.Errorf(c.spec.Filename, s.key, "image %q resolved to a bad reference %q", s.name, mutRef), err)
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
	case s.kind == fromStage:
		return s.stage.build.state
	case s.kind != fromImage:
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
