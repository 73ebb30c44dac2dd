package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/platforms"
	"github.com/moby/buildkit/util/contentutil"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

var (
	registryBin     string
	registryBinErr  error
	registryBinOnce sync.Once
)

// distributionRegistry is the registry binary the hack/ engine runs: the
// one in .bin when `make deps` built it, else built here from hack/tools
// (Go's build cache makes that a link after the first time).
func distributionRegistry(t *testing.T) string {
	t.Helper()
	registryBinOnce.Do(func() {
		repo, err := filepath.Abs(filepath.Join("..", ".."))
		if err != nil {
			registryBinErr = err
			return
		}
		registryBin = filepath.Join(repo, ".bin", "registry")
		if _, err := os.Stat(registryBin); err == nil {
			return
		}
		dir, err := os.MkdirTemp("", "ohlcv-registry-bin-")
		if err != nil {
			registryBinErr = err
			return
		}
		registryBin = filepath.Join(dir, "registry")
		cmd := exec.Command("go", "build", "-o", registryBin, "github.com/distribution/distribution/v3/cmd/registry")
		cmd.Dir = filepath.Join(repo, "hack", "tools")
		cmd.Env = append(os.Environ(), "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			registryBinErr = fmt.Errorf("building the registry from hack/tools: %v\n%s", err, out)
		}
	})
	if registryBinErr != nil {
		t.Fatal(registryBinErr)
	}
	return registryBin
}

// startRegistry runs distribution's registry on a free loopback port with
// its storage in a temporary directory, stopped when the test ends, and
// returns its host:port.
func startRegistry(t *testing.T) string {
	t.Helper()
	bin := distributionRegistry(t)
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := l.Addr().String()
	l.Close()
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n", filepath.Join(dir, "data"), host)
	if err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command(bin, "serve", filepath.Join(dir, "config.yml"))
	cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return host
			}
		}
		select {
		case <-exited:
			t.Fatalf("the registry exited while starting: %s", logs.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the registry on %s did not answer within 20s: %v", host, err)
		}
	}
}

// graph is an image graph as BuildKit pushes one: an index of two
// platforms' images, which share a layer, and an attestation manifest.
type graph struct {
	store                 contentutil.Buffer
	index, amd64, amd64v2 ocispecs.Descriptor
	layer                 ocispecs.Descriptor
}

func newGraph(t *testing.T) *graph {
	t.Helper()
	ctx := context.Background()
	g := &graph{store: contentutil.NewBuffer()}
	add := func(mt string, dt []byte) ocispecs.Descriptor {
		d := ocispecs.Descriptor{MediaType: mt, Digest: digest.FromBytes(dt), Size: int64(len(dt))}
		if err := content.WriteBlob(ctx, g.store, d.Digest.String(), bytes.NewReader(dt), d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	addJSON := func(mt string, v any) ocispecs.Descriptor {
		dt, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return add(mt, dt)
	}
	manifest := func(cfg ocispecs.Descriptor, layers ...ocispecs.Descriptor) ocispecs.Manifest {
		m := ocispecs.Manifest{MediaType: ocispecs.MediaTypeImageManifest, Config: cfg, Layers: layers}
		m.SchemaVersion = 2
		return m
	}
	config := add(ocispecs.MediaTypeImageConfig, []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`))
	g.layer = add(ocispecs.MediaTypeImageLayerGzip, bytes.Repeat([]byte("layer "), 100_000))
	v2config := add(ocispecs.MediaTypeImageConfig, []byte(`{"architecture":"amd64","variant":"v2","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`))
	g.amd64 = addJSON(ocispecs.MediaTypeImageManifest, manifest(config, g.layer))
	g.amd64.Platform = &ocispecs.Platform{OS: "linux", Architecture: "amd64"}
	g.amd64v2 = addJSON(ocispecs.MediaTypeImageManifest, manifest(v2config, g.layer))
	g.amd64v2.Platform = &ocispecs.Platform{OS: "linux", Architecture: "amd64", Variant: "v2"}
	attestation := addJSON(ocispecs.MediaTypeImageManifest, manifest(add("application/vnd.oci.empty.v1+json", []byte("{}")),
		add("application/vnd.in-toto+json", []byte(`{"predicateType":"x"}`))))
	attestation.Platform = &ocispecs.Platform{OS: "unknown", Architecture: "unknown"}
	idx := ocispecs.Index{MediaType: ocispecs.MediaTypeImageIndex, Manifests: []ocispecs.Descriptor{g.amd64, g.amd64v2, attestation}}
	idx.SchemaVersion = 2
	g.index = addJSON(ocispecs.MediaTypeImageIndex, idx)
	return g
}

// An image graph pushed to one real registry, copied to another and read
// back: every blob arrives, is walked once with content matching its
// digest, and platforms pick their own image. The copy pushes what the
// same client pushed before, which containerd's push tracker, were it
// shared, would skip.
func TestPushCopyWalkImage(t *testing.T) {
	ctx := context.Background()
	src, dst := startRegistry(t), startRegistry(t)
	c := New()
	g := newGraph(t)
	if err := c.Push(ctx, g.store, g.index, src+"/a/b:v1"); err != nil {
		t.Fatal(err)
	}
	if err := c.Copy(ctx, src+"/a/b:v1", dst+"/c/d:copied"); err != nil {
		t.Fatal(err)
	}
	target, err := c.Resolve(ctx, dst+"/c/d:copied")
	if err != nil {
		t.Fatal(err)
	}
	if target.Descriptor.Digest != g.index.Digest || target.Descriptor.MediaType != ocispecs.MediaTypeImageIndex {
		t.Errorf("the copy resolved to %+v, want the index %s", target.Descriptor, g.index.Digest)
	}

	var visited []string
	err = target.Walk(ctx, func(d ocispecs.Descriptor, r io.Reader) error {
		dt, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		if digest.FromBytes(dt) != d.Digest {
			t.Errorf("%s: the content does not match", d.Digest)
		}
		visited = append(visited, d.Digest.Encoded()[:8]+" "+d.MediaType)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The index, three manifests, two configs and the empty one, the
	// shared layer once and the attestation.
	if len(visited) != 9 {
		t.Errorf("walked %d descriptors, want 9:\n%s", len(visited), strings.Join(visited, "\n"))
	}

	for platform, want := range map[string]ocispecs.Descriptor{"linux/amd64": g.amd64, "linux/amd64/v2": g.amd64v2} {
		m, err := target.Image(ctx, platforms.MustParse(platform))
		if err != nil {
			t.Fatal(err)
		}
		var wantM ocispecs.Manifest
		if err := target.ReadJSON(ctx, want, &wantM); err != nil {
			t.Fatal(err)
		}
		if m.Config.Digest != wantM.Config.Digest {
			t.Errorf("%s picked the image with config %s, want %s", platform, m.Config.Digest, wantM.Config.Digest)
		}
	}
	if _, err := target.Image(ctx, platforms.MustParse("linux/arm64")); err == nil || !strings.Contains(err.Error(), "no image for linux/arm64") {
		t.Errorf("an absent platform: %v", err)
	}

	// The layer streams from the copy by digest, as the release checks
	// read it.
	byDigest, err := c.Resolve(ctx, dst+"/c/d@"+g.amd64.Digest.String())
	if err != nil {
		t.Fatal(err)
	}
	m, err := byDigest.Image(ctx, platforms.MustParse("linux/amd64"))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := byDigest.Open(ctx, m.Layers[0])
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	n, err := io.Copy(io.Discard, rc)
	if err != nil || n != g.layer.Size {
		t.Errorf("read %d bytes of the layer (%v), want %d", n, err, g.layer.Size)
	}
	if _, err := byDigest.Index(ctx); err == nil {
		t.Errorf("a manifest was read as an index")
	}
}

func TestResolveMissing(t *testing.T) {
	host := startRegistry(t)
	_, err := New().Resolve(context.Background(), host+"/no/such:tag")
	if err == nil || !strings.Contains(err.Error(), host+"/no/such:tag") {
		t.Errorf("resolving an absent tag: %v, want an error naming it", err)
	}
}

func TestParseRef(t *testing.T) {
	for ref, want := range map[string]string{
		"127.0.0.1:5000/a/b:v1":  "127.0.0.1:5000/a/b:v1",
		"127.0.0.1:5000/a/b":     "127.0.0.1:5000/a/b:latest",
		"busybox":                "docker.io/library/busybox:latest",
		"ghcr.io/o/r:1@" + zeros: "ghcr.io/o/r@" + zeros,
	} {
		n, err := ParseRef(ref)
		if err != nil || n.String() != want {
			t.Errorf("ParseRef(%q) = %v %v, want %s", ref, n, err, want)
		}
	}
	if _, err := ParseRef("127.0.0.1:5000/A/b"); err == nil || !strings.Contains(err.Error(), `"127.0.0.1:5000/A/b"`) {
		t.Errorf("an upper-case repository: %v", err)
	}
}

const zeros = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
