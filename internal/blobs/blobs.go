// Package blobs reads OCI content through containerd's content.Provider,
// which both internal/registry (a registry, through containerd's docker
// resolver) and internal/ocilayout (an OCI layout tar or directory) expose.
// Blobs are read as streams checked against their digest; only the JSON
// documents that describe an image (indexes, manifests, configs) are read
// whole, and only up to [MaxDocumentSize].
//
// containerd's own helpers (content.ReadBlob, images.Children) read a blob
// whole at whatever size its descriptor claims and do not check its digest,
// which is why these wrap the provider instead of calling them.
package blobs

import (
	"bytes"
	"context"
	_ "crypto/sha256" // go-digest needs the hashes linked in
	_ "crypto/sha512"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// MaxDocumentSize bounds an index, manifest or config read whole: 4 MiB,
// about the bound containerd's resolver puts on manifests
// (docker.MaxManifestSize).
const MaxDocumentSize = 4 << 20

// Open returns blob d of p as a stream. Reading it to the end checks the
// content against d's size and digest: a mismatch is the last read's error.
func Open(ctx context.Context, p content.Provider, d ocispecs.Descriptor) (io.ReadCloser, error) {
	if err := d.Digest.Validate(); err != nil {
		return nil, fmt.Errorf("blob %q: %w", d.Digest, err)
	}
	if d.Size < 0 {
		return nil, fmt.Errorf("blob %s: negative size %d", d.Digest, d.Size)
	}
	ra, err := p.ReaderAt(ctx, d)
	if err != nil {
		return nil, err // the provider's error names the blob
	}
	// One byte past d.Size, so that a blob longer than its descriptor
	// fails instead of being cut to fit.
	return &verified{
		r:        io.NewSectionReader(ra, 0, d.Size+1),
		c:        ra,
		d:        d,
		verifier: d.Digest.Verifier(),
	}, nil
}

// verified passes a blob through and checks it at the end.
type verified struct {
	r        io.Reader
	c        io.Closer
	d        ocispecs.Descriptor
	verifier digest.Verifier
	n        int64
}

func (v *verified) Read(b []byte) (int, error) {
	n, err := v.r.Read(b)
	v.n += int64(n)
	if v.n > v.d.Size {
		return n, fmt.Errorf("blob %s is longer than its %d bytes", v.d.Digest, v.d.Size)
	}
	v.verifier.Write(b[:n])
	if errors.Is(err, io.EOF) {
		switch {
		case v.n != v.d.Size:
			return n, fmt.Errorf("blob %s has %d bytes, want %d", v.d.Digest, v.n, v.d.Size)
		case !v.verifier.Verified():
			return n, fmt.Errorf("blob %s does not match its digest", v.d.Digest)
		}
	}
	return n, err
}

func (v *verified) Close() error { return v.c.Close() }

// CheckSize refuses a document (an index, manifest or config) larger than
// [MaxDocumentSize], before it is read whole.
func CheckSize(d ocispecs.Descriptor) error {
	if d.Size > MaxDocumentSize {
		return fmt.Errorf("%s %s has %d bytes, more than the %d a document may have", d.MediaType, d.Digest, d.Size, MaxDocumentSize)
	}
	return nil
}

// Read reads the document d (an index, manifest or config) whole, checked
// against its digest; one larger than [MaxDocumentSize] is refused before
// it is read.
func Read(ctx context.Context, p content.Provider, d ocispecs.Descriptor) ([]byte, error) {
	if err := CheckSize(d); err != nil {
		return nil, err
	}
	rc, err := Open(ctx, p, d)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var buf bytes.Buffer
	buf.Grow(int(d.Size))
	if _, err := buf.ReadFrom(rc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ReadJSON decodes the document d into v, as [Read] reads it.
func ReadJSON(ctx context.Context, p content.Provider, d ocispecs.Descriptor, v any) error {
	dt, err := Read(ctx, p, d)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(dt, v); err != nil {
		return fmt.Errorf("%s %s: %w", d.MediaType, d.Digest, err)
	}
	return nil
}

// Children returns what d lists: an index's entries (image and attestation
// manifests, nested indexes, and the blobs BuildKit's cache manifests list
// directly), or a manifest's config and layers. Other blobs have none.
func Children(ctx context.Context, p content.Provider, d ocispecs.Descriptor) ([]ocispecs.Descriptor, error) {
	switch {
	case images.IsIndexType(d.MediaType):
		var idx ocispecs.Index
		if err := ReadJSON(ctx, p, d, &idx); err != nil {
			return nil, err
		}
		return idx.Manifests, nil
	case images.IsManifestType(d.MediaType):
		var m ocispecs.Manifest
		if err := ReadJSON(ctx, p, d, &m); err != nil {
			return nil, err
		}
		return append([]ocispecs.Descriptor{m.Config}, m.Layers...), nil
	}
	return nil, nil
}

// Walk calls fn for each of roots and everything they reach, parents
// before their children, each digest once. When fn returns
// images.ErrSkipDesc, what d lists is not visited (unless another
// descriptor lists it too). containerd's images.Walk bounds the number of
// descriptors.
func Walk(ctx context.Context, p content.Provider, fn func(d ocispecs.Descriptor) error, roots ...ocispecs.Descriptor) error {
	seen := map[digest.Digest]bool{}
	return images.Walk(ctx, images.HandlerFunc(func(ctx context.Context, d ocispecs.Descriptor) ([]ocispecs.Descriptor, error) {
		if seen[d.Digest] {
			return nil, images.ErrSkipDesc
		}
		seen[d.Digest] = true
		if err := fn(d); err != nil {
			return nil, err
		}
		return Children(ctx, p, d)
	}), roots...)
}
