// Package registry reads and copies images in the registries of the hack/
// engine and the reliability suite, through containerd's docker resolver,
// with names parsed and normalized by github.com/distribution/reference.
// Plain http is used for loopback hosts, https for the others; there is no
// authentication.
//
// containerd's resolver rather than go-containerregistry: it is already in
// the module graph through BuildKit, which pulls and pushes with it, so the
// client treats media types, plain-http hosts and retries as the engine
// does, and no second registry library joins the build. Its fetcher hands
// out streams, which internal/blobs checks against their digests; only
// indexes, manifests and configs are decoded in memory, within
// blobs.MaxDocumentSize.
package registry

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/moby/buildkit/util/contentutil"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ohlcv-rag/ohlcv-build/internal/blobs"
)

// Client resolves, reads and copies images.
type Client struct {
	hosts docker.RegistryHosts
}

// New returns a client. A registry that does not answer a request within a
// minute fails it; reading a blob's body is bounded by the caller's
// context only.
func New() *Client {
	tr := docker.DefaultHTTPTransport(nil)
	tr.ResponseHeaderTimeout = time.Minute
	hosts := docker.ConfigureDefaultRegistries(
		docker.WithPlainHTTP(docker.MatchLocalhost),
		docker.WithClient(&http.Client{Transport: tr}),
	)
	return &Client{hosts: hosts}
}

// resolver is a resolver for one operation. Each has its own tracker of
// what its pushes committed, which would otherwise make a second push of
// the same content, to another registry or repository, skip every blob.
func (c *Client) resolver() remotes.Resolver {
	return docker.NewResolver(docker.ResolverOptions{Hosts: c.hosts})
}

// ParseRef parses an image reference as docker does: a name without a
// registry is Docker Hub's, and one without a tag or digest is :latest.
func ParseRef(ref string) (reference.Named, error) {
	n, err := reference.ParseDockerRef(ref)
	if err != nil {
		return nil, fmt.Errorf("image reference %q: %w", ref, err)
	}
	return n, nil
}

// Target is what a reference resolved to in its registry: a manifest or an
// index, and the repository to read what it reaches from. It is a
// containerd content.Provider of that repository.
type Target struct {
	// Name is the reference resolved, normalized.
	Name reference.Named
	// Descriptor points at the manifest or index the reference names.
	Descriptor ocispecs.Descriptor
	provider   content.Provider
}

// Resolve finds what ref (host/repository:tag or @digest) names.
func (c *Client) Resolve(ctx context.Context, ref string) (*Target, error) {
	n, err := ParseRef(ref)
	if err != nil {
		return nil, err
	}
	resolver := c.resolver()
	_, desc, err := resolver.Resolve(ctx, n.String())
	if err != nil {
		return nil, err // containerd's error names the reference
	}
	f, err := resolver.Fetcher(ctx, n.String())
	if err != nil {
		return nil, err
	}
	// Descriptors in a registry may list other URLs for a blob, which
	// containerd's fetcher would try first: read from the registry only.
	registryOnly := remotes.FetcherFunc(func(ctx context.Context, d ocispecs.Descriptor) (io.ReadCloser, error) {
		d.URLs = nil
		return f.Fetch(ctx, d)
	})
	return &Target{Name: n, Descriptor: desc, provider: contentutil.FromFetcher(registryOnly)}, nil
}

// ReaderAt opens blob d of the target's repository for reading in order;
// [Target.Open] also checks it against its digest.
func (t *Target) ReaderAt(ctx context.Context, d ocispecs.Descriptor) (content.ReaderAt, error) {
	return t.provider.ReaderAt(ctx, d)
}

// Open returns blob d of the target's repository as a stream, checked
// against its digest when read to the end.
func (t *Target) Open(ctx context.Context, d ocispecs.Descriptor) (io.ReadCloser, error) {
	return blobs.Open(ctx, t, d)
}

// ReadJSON decodes the index, manifest or config d into v.
func (t *Target) ReadJSON(ctx context.Context, d ocispecs.Descriptor, v any) error {
	return blobs.ReadJSON(ctx, t, d, v)
}

// Index returns the index the target is.
func (t *Target) Index(ctx context.Context) (ocispecs.Index, error) {
	var idx ocispecs.Index
	if !images.IsIndexType(t.Descriptor.MediaType) {
		return idx, fmt.Errorf("%s is a %s, not an index", t.Name, t.Descriptor.MediaType)
	}
	return idx, t.ReadJSON(ctx, t.Descriptor, &idx)
}

// Image returns the target's image manifest for platform: the target
// itself when it is a manifest, else the index entry that matches platform
// best (containerd's platforms.Only: linux/amd64/v2 also runs linux/amd64).
func (t *Target) Image(ctx context.Context, platform ocispecs.Platform) (ocispecs.Manifest, error) {
	var m ocispecs.Manifest
	d := t.Descriptor
	if images.IsIndexType(d.MediaType) {
		idx, err := t.Index(ctx)
		if err != nil {
			return m, err
		}
		match := platforms.Only(platform)
		var pick *ocispecs.Descriptor
		for i, e := range idx.Manifests {
			if !images.IsManifestType(e.MediaType) || e.Platform == nil || !match.Match(*e.Platform) {
				continue
			}
			if pick == nil || match.Less(*e.Platform, *pick.Platform) {
				pick = &idx.Manifests[i]
			}
		}
		if pick == nil {
			return m, fmt.Errorf("%s has no image for %s", t.Name, platforms.Format(platform))
		}
		d = *pick
	}
	if !images.IsManifestType(d.MediaType) {
		return m, fmt.Errorf("%s is a %s, not an image", t.Name, d.MediaType)
	}
	return m, t.ReadJSON(ctx, d, &m)
}

// Visit is called by [Target.Walk] with each descriptor and its content,
// which is read to its end (and so checked) after Visit returns.
type Visit func(d ocispecs.Descriptor, r io.Reader) error

// Walk visits the target and everything it reaches, parents before
// children, each digest once: indexes and their entries (image and
// attestation manifests, and the blobs BuildKit's cache manifests list
// directly), and each manifest's config and layers.
func (t *Target) Walk(ctx context.Context, visit Visit) error {
	return blobs.Walk(ctx, t, func(d ocispecs.Descriptor) error {
		rc, err := t.Open(ctx, d)
		if err != nil {
			return err
		}
		defer rc.Close()
		if err := visit(d, rc); err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, rc)
		return err
	}, t.Descriptor)
}

// Copy copies src and everything it reaches to dst (host/repository:tag),
// blobs streaming from one registry to the other.
func (c *Client) Copy(ctx context.Context, src, dst string) error {
	t, err := c.Resolve(ctx, src)
	if err != nil {
		return err
	}
	if err := c.Push(ctx, t, t.Descriptor, dst); err != nil {
		return fmt.Errorf("copying %s: %w", t.Name, err)
	}
	return nil
}

// Push pushes root and everything it reaches, read from p, to dst
// (host/repository:tag), with containerd's remotes.PushContent: each
// manifest goes after what it lists, so that dst never names a manifest
// whose blobs are missing.
func (c *Client) Push(ctx context.Context, p content.Provider, root ocispecs.Descriptor, dst string) error {
	dn, err := ParseRef(dst)
	if err != nil {
		return err
	}
	if d, ok := dn.(reference.Digested); ok && d.Digest() != root.Digest {
		return fmt.Errorf("pushing %s to %s: the digests differ", root.Digest, dn)
	}
	// name:tag@digest: the pusher puts the root manifest under the tag
	// and every other one under its digest.
	to, err := reference.WithDigest(dn, root.Digest)
	if err != nil {
		return err
	}
	pusher, err := c.resolver().Pusher(ctx, to.String())
	if err != nil {
		return err
	}
	if err := remotes.PushContent(ctx, pusher, root, p, nil, nil, boundDocuments); err != nil {
		return fmt.Errorf("pushing to %s: %w", dn, err)
	}
	return nil
}

// boundDocuments refuses an index or manifest larger than
// blobs.MaxDocumentSize before containerd's handlers read it whole.
func boundDocuments(h images.Handler) images.Handler {
	return images.HandlerFunc(func(ctx context.Context, d ocispecs.Descriptor) ([]ocispecs.Descriptor, error) {
		if images.IsIndexType(d.MediaType) || images.IsManifestType(d.MediaType) {
			if err := blobs.CheckSize(d); err != nil {
				return nil, err
			}
		}
		return h.Handle(ctx, d)
	})
}
