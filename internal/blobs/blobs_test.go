package blobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// stored serves whatever bytes it holds under a digest, right or not, and
// counts what was opened.
type stored struct {
	blobs  map[digest.Digest][]byte
	opened []digest.Digest
}

func (s *stored) ReaderAt(_ context.Context, d ocispecs.Descriptor) (content.ReaderAt, error) {
	dt, ok := s.blobs[d.Digest]
	if !ok {
		return nil, errors.New("not found")
	}
	s.opened = append(s.opened, d.Digest)
	return readerAt{bytes.NewReader(dt)}, nil
}

type readerAt struct{ *bytes.Reader }

func (readerAt) Close() error { return nil }

func (s *stored) add(mt string, dt []byte) ocispecs.Descriptor {
	d := ocispecs.Descriptor{MediaType: mt, Digest: digest.FromBytes(dt), Size: int64(len(dt))}
	s.blobs[d.Digest] = dt
	return d
}

func (s *stored) addJSON(t *testing.T, mt string, v any) ocispecs.Descriptor {
	t.Helper()
	dt, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return s.add(mt, dt)
}

func TestOpenChecksDigestAndSize(t *testing.T) {
	ctx := context.Background()
	s := &stored{blobs: map[digest.Digest][]byte{}}
	good := s.add("application/octet-stream", []byte("layer"))
	rc, err := Open(ctx, s, good)
	if err != nil {
		t.Fatal(err)
	}
	if dt, err := io.ReadAll(rc); err != nil || string(dt) != "layer" {
		t.Errorf("read %q, %v", dt, err)
	}
	for name, tc := range map[string]struct {
		stored []byte
		want   string
	}{
		"other content": {[]byte("lazer"), "does not match its digest"},
		"shorter":       {[]byte("lay"), "has 3 bytes, want 5"},
		"longer":        {[]byte("layers"), "longer than its 5 bytes"},
	} {
		s.blobs[good.Digest] = tc.stored
		rc, err := Open(ctx, s, good)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(rc); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: read error %v, want %q", name, err, tc.want)
		}
	}
}

func TestReadJSONBoundsDocuments(t *testing.T) {
	s := &stored{blobs: map[digest.Digest][]byte{}}
	d := s.add(ocispecs.MediaTypeImageManifest, []byte(`{}`))
	d.Size = MaxDocumentSize + 1
	var m ocispecs.Manifest
	err := ReadJSON(context.Background(), s, d, &m)
	if err == nil || !strings.Contains(err.Error(), "more than the") {
		t.Errorf("a manifest over the bound: %v", err)
	}
	if len(s.opened) != 0 {
		t.Errorf("the oversized manifest was opened before it was refused")
	}
}

// Walk reaches cache blobs an index lists directly, visits a shared blob
// once, and does not descend where fn says to skip.
func TestWalk(t *testing.T) {
	ctx := context.Background()
	s := &stored{blobs: map[digest.Digest][]byte{}}
	cfg := s.add(ocispecs.MediaTypeImageConfig, []byte(`{"os":"linux"}`))
	layer := s.add(ocispecs.MediaTypeImageLayerGzip, []byte("layer"))
	m1 := s.addJSON(t, ocispecs.MediaTypeImageManifest, ocispecs.Manifest{Config: cfg, Layers: []ocispecs.Descriptor{layer}})
	m2 := s.addJSON(t, ocispecs.MediaTypeImageManifest, ocispecs.Manifest{Config: cfg, Layers: []ocispecs.Descriptor{layer, layer}})
	cache := s.add("application/vnd.buildkit.cacheconfig.v0", []byte("cache"))
	idx := s.addJSON(t, ocispecs.MediaTypeImageIndex, ocispecs.Index{Manifests: []ocispecs.Descriptor{m1, m2, cache}})

	var got []digest.Digest
	err := Walk(ctx, s, func(d ocispecs.Descriptor) error {
		got = append(got, d.Digest)
		return nil
	}, idx)
	if err != nil {
		t.Fatal(err)
	}
	want := []digest.Digest{idx.Digest, m1.Digest, cfg.Digest, layer.Digest, m2.Digest, cache.Digest}
	if !slices.Equal(got, want) {
		t.Errorf("walked %v, want %v", got, want)
	}

	got = nil
	err = Walk(ctx, s, func(d ocispecs.Descriptor) error {
		got = append(got, d.Digest)
		if images.IsManifestType(d.MediaType) {
			return images.ErrSkipDesc
		}
		return nil
	}, idx)
	if err != nil || !slices.Equal(got, []digest.Digest{idx.Digest, m1.Digest, m2.Digest, cache.Digest}) {
		t.Errorf("walked %v (%v), want the index, its manifests and the cache blob", got, err)
	}
}
