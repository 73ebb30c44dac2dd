package registry

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// fakeRegistry serves the parts of the distribution API the client uses,
// from memory.
type fakeRegistry struct {
	mu        sync.Mutex
	blobs     map[string][]byte // repo@digest
	manifests map[string][]byte // repo:ref, by tag and by digest
	types     map[string]string
}

func newFake() *fakeRegistry {
	return &fakeRegistry{blobs: map[string][]byte{}, manifests: map[string][]byte{}, types: map[string]string{}}
}

func (f *fakeRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	path := strings.TrimPrefix(r.URL.Path, "/v2/")
	switch {
	case strings.Contains(path, "/manifests/"):
		repo, ref, _ := strings.Cut(path, "/manifests/")
		key := repo + ":" + ref
		if r.Method == http.MethodPut {
			dt, _ := io.ReadAll(r.Body)
			d := digest.FromBytes(dt).String()
			for _, k := range []string{key, repo + ":" + d} {
				f.manifests[k], f.types[k] = dt, r.Header.Get("Content-Type")
			}
			w.WriteHeader(http.StatusCreated)
			return
		}
		dt, ok := f.manifests[key]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", f.types[key])
		w.Write(dt)
	case strings.HasSuffix(path, "/blobs/uploads/"):
		w.Header().Set("Location", "/v2/"+path+"u1")
		w.WriteHeader(http.StatusAccepted)
	case strings.Contains(path, "/blobs/uploads/"):
		repo, _, _ := strings.Cut(path, "/blobs/uploads/")
		dt, _ := io.ReadAll(r.Body)
		if digest.FromBytes(dt).String() != r.URL.Query().Get("digest") {
			http.Error(w, "digest mismatch", http.StatusBadRequest)
			return
		}
		f.blobs[repo+"@"+r.URL.Query().Get("digest")] = dt
		w.WriteHeader(http.StatusCreated)
	case strings.Contains(path, "/blobs/"):
		repo, d, _ := strings.Cut(path, "/blobs/")
		dt, ok := f.blobs[repo+"@"+d]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodHead {
			w.Write(dt)
		}
	default:
		http.NotFound(w, r)
	}
}

func TestCopyAndWalk(t *testing.T) {
	src, dst := newFake(), newFake()
	srcSrv, dstSrv := httptest.NewServer(src), httptest.NewServer(dst)
	defer srcSrv.Close()
	defer dstSrv.Close()
	sc, dc := New(strings.TrimPrefix(srcSrv.URL, "http://")), New(strings.TrimPrefix(dstSrv.URL, "http://"))
	ctx := context.Background()

	put := func(dt string) ocispecs.Descriptor {
		d, err := sc.PutBlob(ctx, "a/b", []byte(dt))
		if err != nil {
			t.Fatal(err)
		}
		return ocispecs.Descriptor{MediaType: "application/octet-stream", Digest: d, Size: int64(len(dt))}
	}
	putManifest := func(mt, ref string, v any) ocispecs.Descriptor {
		dt, _ := json.Marshal(v)
		if err := sc.PutManifest(ctx, "a/b", ref, mt, dt); err != nil {
			t.Fatal(err)
		}
		return ocispecs.Descriptor{MediaType: mt, Digest: digest.FromBytes(dt), Size: int64(len(dt))}
	}
	cfg, layer := put(`{"os":"linux"}`), put("layer")
	cfg.MediaType = ocispecs.MediaTypeImageConfig
	m := putManifest(ocispecs.MediaTypeImageManifest, "m", ocispecs.Manifest{MediaType: ocispecs.MediaTypeImageManifest, Config: cfg, Layers: []ocispecs.Descriptor{layer}})
	m.Platform = &ocispecs.Platform{OS: "linux", Architecture: "amd64"}
	// A BuildKit cache manifest lists a blob directly in an index.
	cacheBlob := put("cache config")
	putManifest(ocispecs.MediaTypeImageIndex, "v1", ocispecs.Index{MediaType: ocispecs.MediaTypeImageIndex, Manifests: []ocispecs.Descriptor{m, cacheBlob}})

	var visited []string
	err := sc.Walk(ctx, "a/b", "v1", func(d ocispecs.Descriptor, content []byte) error {
		if digest.FromBytes(content) != d.Digest {
			t.Errorf("%s: content does not match", d.Digest)
		}
		visited = append(visited, d.MediaType)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(visited) != 5 || visited[0] != ocispecs.MediaTypeImageIndex {
		t.Errorf("visited %v, want the index, the manifest, its config and layer, and the cache blob", visited)
	}
	if err := sc.Copy(ctx, "a/b", "v1", dc, "c/d", "copied"); err != nil {
		t.Fatal(err)
	}
	got, err := dc.Image(ctx, "c/d", "copied")
	if err != nil {
		t.Fatal(err)
	}
	if got.Config.Digest != cfg.Digest || len(got.Layers) != 1 || got.Layers[0].Digest != layer.Digest {
		t.Errorf("copied image %+v", got)
	}
	if ok, err := dc.HasBlob(ctx, "c/d", cacheBlob.Digest); err != nil || !ok {
		t.Errorf("the cache blob was not copied: %v", err)
	}
}

func TestSplitRef(t *testing.T) {
	for ref, want := range map[string][3]string{
		"127.0.0.1:5000/a/b:v1":         {"127.0.0.1:5000", "a/b", "v1"},
		"127.0.0.1:5000/a/b":            {"127.0.0.1:5000", "a/b", "latest"},
		"127.0.0.1:5000/a@sha256:abc12": {"127.0.0.1:5000", "a", "sha256:abc12"},
	} {
		h, r, tag, err := SplitRef(ref)
		if err != nil || [3]string{h, r, tag} != want {
			t.Errorf("SplitRef(%q) = %q %q %q %v, want %v", ref, h, r, tag, err, want)
		}
	}
}
