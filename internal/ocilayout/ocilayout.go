// Package ocilayout reads the OCI layout tars that `docker buildx build
// --output type=oci` and BuildKit's oci exporter write, and unpacks their
// images with moby/go-archive, which applies layers the way a container
// runtime does (whiteouts, opaque directories, ownership, links, devices).
// hack/runimage and the integration and reliability tests share it.
package ocilayout

import (
	"archive/tar"
	"bytes"
	_ "crypto/sha256" // digests of blobs: go-digest needs the hash linked in
	_ "crypto/sha512"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/moby/go-archive"
	"github.com/moby/go-archive/compression"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// Docker's media types, which BuildKit writes with oci-mediatypes=false.
const (
	mediaTypeDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	mediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
	mediaTypeDockerConfig       = "application/vnd.docker.container.image.v1+json"
)

// Layout is an OCI image layout held in memory: its index and every blob
// by digest.
type Layout struct {
	// Index is the layout's index.json.
	Index ocispecs.Index
	// Blobs holds the content of blobs/<alg>/<hex>, by digest.
	Blobs map[digest.Digest][]byte
}

// ReadFile reads the OCI layout tar at path.
func ReadFile(path string) (*Layout, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Read(f)
}

// Read reads an OCI layout tar.
func Read(r io.Reader) (*Layout, error) {
	l := &Layout{Blobs: map[digest.Digest][]byte{}}
	sawIndex := false
	tr := tar.NewReader(r)
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
		dt, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("reading %s of the OCI layout tar: %w", h.Name, err)
		}
		name := strings.TrimPrefix(h.Name, "./")
		switch {
		case name == ocispecs.ImageIndexFile:
			if err := json.Unmarshal(dt, &l.Index); err != nil {
				return nil, fmt.Errorf("index.json: %w", err)
			}
			sawIndex = true
		case strings.HasPrefix(name, ocispecs.ImageBlobsDir+"/"):
			alg, hex, ok := strings.Cut(strings.TrimPrefix(name, ocispecs.ImageBlobsDir+"/"), "/")
			if !ok {
				continue
			}
			d := digest.NewDigestFromEncoded(digest.Algorithm(alg), hex)
			if err := d.Validate(); err != nil {
				return nil, fmt.Errorf("blob %s: %w", name, err)
			}
			l.Blobs[d] = dt
		}
	}
	if !sawIndex {
		return nil, errors.New("not an OCI layout tar: no index.json")
	}
	return l, nil
}

// Blob returns the blob with digest d, checking its content against d.
func (l *Layout) Blob(d digest.Digest) ([]byte, error) {
	dt, ok := l.Blobs[d]
	if !ok {
		return nil, fmt.Errorf("blob %s is not in the layout", d)
	}
	if d.Algorithm().Available() && d.Algorithm().FromBytes(dt) != d {
		return nil, fmt.Errorf("blob %s does not match its digest", d)
	}
	return dt, nil
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
	// ConfigBytes is the config blob as stored.
	ConfigBytes []byte
}

// Images returns the images of the layout, one per manifest that has an
// image config, looking into nested indexes; attestation manifests are left
// out (see [Layout.Manifests] for every manifest).
func (l *Layout) Images() ([]*Image, error) {
	descs, err := l.Manifests()
	if err != nil {
		return nil, err
	}
	var out []*Image
	for _, d := range descs {
		dt, err := l.Blob(d.Digest)
		if err != nil {
			return nil, err
		}
		var m ocispecs.Manifest
		if err := json.Unmarshal(dt, &m); err != nil {
			return nil, fmt.Errorf("manifest %s: %w", d.Digest, err)
		}
		if m.Config.MediaType != ocispecs.MediaTypeImageConfig && m.Config.MediaType != mediaTypeDockerConfig {
			continue // an attestation manifest
		}
		cfg, err := l.Blob(m.Config.Digest)
		if err != nil {
			return nil, err
		}
		img := &Image{ManifestDescriptor: d, Manifest: m, ConfigBytes: cfg}
		if err := json.Unmarshal(cfg, &img.Config); err != nil {
			return nil, fmt.Errorf("config %s: %w", m.Config.Digest, err)
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
func (l *Layout) Manifests() ([]ocispecs.Descriptor, error) {
	var out []ocispecs.Descriptor
	var walk func(idx ocispecs.Index, depth int) error
	walk = func(idx ocispecs.Index, depth int) error {
		if depth > 8 {
			return errors.New("indexes nested more than 8 deep")
		}
		for _, d := range idx.Manifests {
			switch d.MediaType {
			case ocispecs.MediaTypeImageManifest, mediaTypeDockerManifest:
				out = append(out, d)
			case ocispecs.MediaTypeImageIndex, mediaTypeDockerManifestList:
				dt, err := l.Blob(d.Digest)
				if err != nil {
					return err
				}
				var inner ocispecs.Index
				if err := json.Unmarshal(dt, &inner); err != nil {
					return fmt.Errorf("index %s: %w", d.Digest, err)
				}
				if err := walk(inner, depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return out, walk(l.Index, 0)
}

// Layer returns layer d of an image, decompressed.
func (l *Layout) Layer(d ocispecs.Descriptor) ([]byte, error) {
	dt, err := l.Blob(d.Digest)
	if err != nil {
		return nil, err
	}
	rc, err := compression.DecompressStream(bytes.NewReader(dt))
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", d.Digest, err)
	}
	defer rc.Close()
	out, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", d.Digest, err)
	}
	return out, nil
}

// Unpack applies the image's layers in order to dir, which must exist,
// with archive.ApplyLayer: whiteouts and opaque directories hide what lower
// layers had, and files keep their owners and modes (which needs root).
func (l *Layout) Unpack(img *Image, dir string) error {
	for _, d := range img.Manifest.Layers {
		dt, err := l.Blob(d.Digest)
		if err != nil {
			return err
		}
		if _, err := archive.ApplyLayer(dir, bytes.NewReader(dt)); err != nil {
			return fmt.Errorf("applying layer %s: %w", d.Digest, err)
		}
	}
	return nil
}
