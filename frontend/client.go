package frontend

import (
	"context"
	"fmt"
	"maps"

	"github.com/gohugoio/hashstructure"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/util/flightcontrol"
	digest "github.com/opencontainers/go-digest"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// client wraps the gateway client for one build: it defaults the filename
// option to ohlcv.build.yaml, and resolves each image config once, however
// many stages and platforms ask for it and however concurrently.
type client struct {
	gwclient.Client
	opts     gwclient.BuildOpts
	resolves flightcontrol.CachedGroup[*resolved]
}

type resolved struct {
	ref  string
	dgst digest.Digest
	cfg  []byte
}

func newClient(c gwclient.Client) *client {
	opts := c.BuildOpts()
	opts.Opts = maps.Clone(opts.Opts)
	if opts.Opts == nil {
		opts.Opts = map[string]string{}
	}
	if _, ok := opts.Opts["filename"]; !ok {
		opts.Opts["filename"] = spec.DefaultFilename
	}
	cl := &client{Client: c, opts: opts}
	cl.resolves.CacheError = true
	return cl
}

// BuildOpts returns the build's options, with the default filename.
func (c *client) BuildOpts() gwclient.BuildOpts {
	return c.opts
}

// ResolveImageConfig resolves ref through the gateway once per build and
// options, sharing the answer between concurrent callers.
func (c *client) ResolveImageConfig(ctx context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	h, err := hashstructure.Hash(opt, nil)
	if err != nil {
		return "", "", nil, err
	}
	res, err := c.resolves.Do(ctx, fmt.Sprintf("%s,%d", ref, h), func(ctx context.Context) (*resolved, error) {
		ref, dgst, cfg, err := c.Client.ResolveImageConfig(ctx, ref, opt)
		if err != nil {
			return nil, err
		}
		return &resolved{ref, dgst, cfg}, nil
	})
	if err != nil {
		return "", "", nil, err
	}
	return res.ref, res.dgst, res.cfg, nil
}
