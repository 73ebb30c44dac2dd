// Package ocilayout reads the OCI image layouts that `docker buildx build
// --output type=oci` and BuildKit's oci exporter write, as a tar or (with
// tar=false) a directory, and unpacks their images with moby/go-archive,
// which applies layers the way a container runtime does (whiteouts, opaque
// directories, ownership, links, devices). hack/runimage and the
// integration and reliability tests share it.
//
// A [Layout] is a containerd content.Provider: blobs are read where they
// lie, as streams checked against their digest (internal/blobs), and only
// index.json, manifests and configs are decoded in memory. containerd reads
// layouts too, but only by copying them: its archive importer ingests every
// blob of a tar into a content store, and its local store creates an ingest
// directory in the layout it opens. A tar is instead indexed once (where
// each blob starts and how long it is) and read in place.
package ocilayout

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/moby/go-archive"
	"github.com/moby/go-archive/compression"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ohlcv-rag/ohlcv-build/internal/blobs"
)

// Layout is an OCI image layout: its index, and its blobs where they lie.
type Layout struct {
	// Index is the layout's index.json.
	Index ocispecs.Index
	// blob opens blobs/<alg>/<hex>, which holds size bytes.
	blob  func(d digest.Digest) (content.ReaderAt, int64, error)
	close func() error
}

// Open opens the OCI layout at path, a tar or a directory. Close it when
// done.
func Open(path string) (*Layout, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return openDir(path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	l, err := New(f, fi.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	l.close = f.Close
	return l, nil
}

// New reads the OCI layout tar of size bytes in r, which must stay
// readable while the layout is used.
func New(r io.ReaderAt, size int64) (*Layout, error) {
	type entry struct{ off, size int64 }
	entries := map[digest.Digest]entry{}
	var index *entry
	// A section reader seeks, so tar skips over the blobs instead of
	// reading them.
	sr := io.NewSectionReader(r, 0, size)
	tr := tar.NewReader(sr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading the OCI layout tar: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		// The entry's data starts where its header ended.
		off, err := sr.Seek(0, io.SeekCurrent)
		if err != nil {
			return nil, err
		}
		e := entry{off, h.Size}
		name := path.Clean(strings.TrimPrefix(h.Name, "/"))
		if name == ocispecs.ImageIndexFile {
			index = &e
			continue
		}
		if d, ok := blobDigest(name); ok {
			entries[d] = e
		}
	}
	if index == nil {
		return nil, errors.New("not an OCI layout tar: no index.json")
	}
	l := &Layout{
		blob: func(d digest.Digest) (content.ReaderAt, int64, error) {
			e, ok := entries[d]
			if !ok {
				return nil, 0, errors.New("not in the layout")
			}
			return sectionReaderAt{io.NewSectionReader(r, e.off, e.size)}, e.size, nil
		},
		close: func() error { return nil },
	}
	return l, l.readIndex(io.NewSectionReader(r, index.off, index.size))
}

// blobDigest is the digest that a path blobs/<alg>/<hex> names.
func blobDigest(name string) (digest.Digest, bool) {
	alg, hex, ok := strings.Cut(strings.TrimPrefix(name, ocispecs.ImageBlobsDir+"/"), "/")
	if !ok || !strings.HasPrefix(name, ocispecs.ImageBlobsDir+"/") {
		return "", false
	}
	d := digest.NewDigestFromEncoded(digest.Algorithm(alg), hex)
	return d, d.Validate() == nil
}

type sectionReaderAt struct{ *io.SectionReader }

func (sectionReaderAt) Close() error { return nil }

// openDir opens a layout directory; blobs are opened inside it, so that
// symlinks in it cannot point them elsewhere.
func openDir(dir string) (*Layout, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	l := &Layout{
		blob: func(d digest.Digest) (content.ReaderAt, int64, error) {
			if err := d.Validate(); err != nil {
				return nil, 0, err
			}
			f, err := root.Open(path.Join(ocispecs.ImageBlobsDir, d.Algorithm().String(), d.Encoded()))
			if errors.Is(err, fs.ErrNotExist) {
				return nil, 0, errors.New("not in the layout")
			}
			if err != nil {
				return nil, 0, err
			}
			fi, err := f.Stat()
			if err != nil {
				f.Close()
				return nil, 0, err
			}
			return fileReaderAt{f, fi.Size()}, fi.Size(), nil
		},
		close: root.Close,
	}
	f, err := root.Open(ocispecs.ImageIndexFile)
	if err == nil {
		err = l.readIndex(f)
		f.Close()
	}
	if err != nil {
		root.Close()
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return l, nil
}

type fileReaderAt struct {
	*os.File
	size int64
}

func (f fileReaderAt) Size() int64 { return f.size }

func (l *Layout) readIndex(r io.Reader) error {
	dt, err := io.ReadAll(io.LimitReader(r, blobs.MaxDocumentSize+1))
	if err != nil {
		return fmt.Errorf("index.json: %w", err)
	}
	if len(dt) > blobs.MaxDocumentSize {
		return fmt.Errorf("index.json is larger than %d bytes", blobs.MaxDocumentSize)
	}
	if err := json.Unmarshal(dt, &l.Index); err != nil {
		return fmt.Errorf("index.json: %w", err)
	}
	return nil
}

// Close releases the layout's file or directory.
func (l *Layout) Close() error { return l.close() }

// ReaderAt opens blob d, which must have the size d says; l is a
// containerd content.Provider. [Layout.Open] also checks its digest.
func (l *Layout) ReaderAt(_ context.Context, d ocispecs.Descriptor) (content.ReaderAt, error) {
	ra, size, err := l.blob(d.Digest)
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", d.Digest, err)
	}
	if size != d.Size {
		ra.Close()
		return nil, fmt.Errorf("blob %s has %d bytes, its descriptor says %d", d.Digest, size, d.Size)
	}
	return ra, nil
}

// Open returns blob d as a stream, checked against its digest when read to
// the end.
func (l *Layout) Open(ctx context.Context, d ocispecs.Descriptor) (io.ReadCloser, error) {
	return blobs.Open(ctx, l, d)
}

// ReadJSON decodes the index, manifest or config d into v (at most
// blobs.MaxDocumentSize bytes, checked against its digest).
func (l *Layout) ReadJSON(ctx context.Context, d ocispecs.Descriptor, v any) error {
	return blobs.ReadJSON(ctx, l, d, v)
}

// Image is one platform's image of a layout.
type Image struct {
	// Platform is os/arch[/variant], from the image config.
	Platform string
	// ManifestDescriptor points at Manifest.
	ManifestDescriptor ocispecs.Descriptor
	// Manifest is the image manifest.
	Manifest ocispecs.Manifest
	// Config is the image config, with Docker's extensions (health checks).
	Config dockerspec.DockerOCIImage
}

// Images returns the images of the layout, one per manifest that has an
// image config, looking into nested indexes; attestation manifests are left
// out (see [Layout.Manifests] for every manifest).
func (l *Layout) Images(ctx context.Context) ([]*Image, error) {
	descs, err := l.Manifests(ctx)
	if err != nil {
		return nil, err
	}
	var out []*Image
	for _, d := range descs {
		img := &Image{ManifestDescriptor: d}
		if err := l.ReadJSON(ctx, d, &img.Manifest); err != nil {
			return nil, err
		}
		if !images.IsConfigType(img.Manifest.Config.MediaType) {
			continue // an attestation manifest
		}
		if err := l.ReadJSON(ctx, img.Manifest.Config, &img.Config); err != nil {
			return nil, err
		}
		img.Platform = img.Config.OS + "/" + img.Config.Architecture
		if img.Config.Variant != "" {
			img.Platform += "/" + img.Config.Variant
		}
		out = append(out, img)
	}
	if len(out) == 0 {
		return nil, errors.New("no image manifest in the layout")
	}
	return out, nil
}

// Manifests returns the descriptors of every manifest of the layout, images
// and attestations, in index order, looking into nested indexes.
func (l *Layout) Manifests(ctx context.Context) ([]ocispecs.Descriptor, error) {
	var out []ocispecs.Descriptor
	err := blobs.Walk(ctx, l, func(d ocispecs.Descriptor) error {
		switch {
		case images.IsIndexType(d.MediaType):
			return nil
		case images.IsManifestType(d.MediaType):
			out = append(out, d)
		}
		return images.ErrSkipDesc
	}, l.Index.Manifests...)
	return out, err
}

// Layer returns layer d of an image as a decompressed stream.
func (l *Layout) Layer(ctx context.Context, d ocispecs.Descriptor) (io.ReadCloser, error) {
	rc, err := l.Open(ctx, d)
	if err != nil {
		return nil, err
	}
	dc, err := compression.DecompressStream(rc)
	if err != nil {
		rc.Close()
		return nil, fmt.Errorf("layer %s: %w", d.Digest, err)
	}
	return readCloser{dc, func() error { return errors.Join(dc.Close(), rc.Close()) }}, nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }

// Unpack applies the image's layers in order to dir, which must exist,
// with archive.ApplyLayer: whiteouts and opaque directories hide what lower
// layers had, and files keep their owners and modes (which needs root).
// Each layer streams from the layout and is checked against its digest.
func (l *Layout) Unpack(ctx context.Context, img *Image, dir string) error {
	for _, d := range img.Manifest.Layers {
		if err := l.apply(ctx, d, dir); err != nil {
			return err
		}
	}
	return nil
}

func (l *Layout) apply(ctx context.Context, d ocispecs.Descriptor, dir string) error {
	rc, err := l.Open(ctx, d)
	if err != nil {
		return err
	}
	defer rc.Close()
	if _, err := archive.ApplyLayer(dir, rc); err != nil {
		return fmt.Errorf("applying layer %s: %w", d.Digest, err)
	}
	// The tar ends before its padding and the compressor's trailer: read
	// those too, so that the digest is checked.
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return fmt.Errorf("layer %s: %w", d.Digest, err)
	}
	return nil
}
