//go:build integration

// Package integration tests the frontend on a real buildkitd: the engine that
// hack/engine-up.sh starts (make engine), in the three ways users run it, and
// through the real docker buildx. With no engine the tests fail; they never
// skip.
package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/tonistiigi/fsutil"

	"github.com/ohlcv-rag/ohlcv-build/frontend"
	"github.com/ohlcv-rag/ohlcv-build/internal/buildprogress"
	"github.com/ohlcv-rag/ohlcv-build/internal/engineenv"
	"github.com/ohlcv-rag/ohlcv-build/internal/ocilayout"
)

// env is the engine's env file, written by hack/engine-up.sh.
var env = sync.OnceValues(func() (map[string]string, error) {
	return engineenv.Read(repoRoot(), "BUILDKIT_HOST", "REGISTRY", "FRONTEND_IMAGE", "BUILDX_BUILDER")
})

func repoRoot() string {
	wd, _ := os.Getwd()
	return filepath.Join(wd, "..", "..")
}

func engineEnv(t *testing.T, key string) string {
	t.Helper()
	e, err := env()
	if err != nil {
		t.Fatal(err)
	}
	return e[key]
}

func newClient(t *testing.T) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.New(ctx, engineEnv(t, "BUILDKIT_HOST"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListWorkers(ctx); err != nil {
		t.Fatalf("the engine at %s does not answer: %v", engineEnv(t, "BUILDKIT_HOST"), err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// mode is one way users run the frontend.
type mode string

const (
	inProcess mode = "in-process" // frontend.Build through client.Build, no image
	gateway   mode = "gateway"    // the pushed image through gateway.v0
	syntax    mode = "syntax"     // dockerfile.v0 forwarding on the # syntax= line
)

// dockerfile builds the context's Dockerfile with BuildKit's builtin
// dockerfile.v0 frontend, to compare the spec with what a Dockerfile does.
// It is not a way to run this frontend, so modes leaves it out.
const dockerfile mode = "dockerfile"

var modes = []mode{inProcess, gateway, syntax}

func randomToken(t *testing.T) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// writeContext writes files into a new build context directory; the spec
// goes to ohlcv.build.yaml with the frontend image on its syntax line. An
// empty spec writes no ohlcv.build.yaml, for a context that holds only a
// Dockerfile.
func writeContext(t *testing.T, specYAML string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	all := maps.Clone(files)
	if all == nil {
		all = map[string]string{}
	}
	if specYAML != "" {
		all["ohlcv.build.yaml"] = "# syntax=" + engineEnv(t, "FRONTEND_IMAGE") + "\n" + specYAML
	}
	for name, content := range all {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// build is one build's inputs.
type build struct {
	dir      string
	attrs    map[string]string
	secrets  map[string][]byte
	locals   map[string]string
	attach   []session.Attachable
	exporter string // "oci" (the default, also ""), "local", or "none"
	// exportAttrs are more attributes of the oci exporter.
	exportAttrs map[string]string
	// allow are the entitlements granted (buildx --allow).
	allow []string
	// timeout ends the build with an error; zero is ten minutes.
	timeout time.Duration
}

// outcome is what a build produced and showed.
type outcome struct {
	err      error
	oci      []byte // the exported OCI layout tar
	local    string // the exported directory
	progress *progress
}

func run(t *testing.T, m mode, b build) *outcome {
	t.Helper()
	c := newClient(t)
	timeout := b.timeout
	if timeout == 0 {
		timeout = 10 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	locals := map[string]fsutil.FS{}
	for name, dir := range map[string]string{"context": b.dir, "dockerfile": b.dir} {
		fs, err := fsutil.NewFS(dir)
		if err != nil {
			t.Fatal(err)
		}
		locals[name] = fs
	}
	for name, dir := range b.locals {
		fs, err := fsutil.NewFS(dir)
		if err != nil {
			t.Fatal(err)
		}
		locals[name] = fs
	}
	attrs := map[string]string{"filename": "ohlcv.build.yaml"}
	if m == dockerfile {
		attrs["filename"] = "Dockerfile"
	}
	maps.Copy(attrs, b.attrs)
	attach := append([]session.Attachable{}, b.attach...)
	if len(b.secrets) > 0 {
		attach = append(attach, secretsprovider.FromMap(b.secrets))
	}
	out := &outcome{progress: newProgress()}
	opt := client.SolveOpt{LocalMounts: locals, FrontendAttrs: attrs, Session: attach, AllowedEntitlements: b.allow}
	var ociBuf bytes.Buffer
	switch b.exporter {
	case "", "oci":
		exportAttrs := map[string]string{"tar": "true"}
		maps.Copy(exportAttrs, b.exportAttrs)
		opt.Exports = []client.ExportEntry{{Type: client.ExporterOCI, Attrs: exportAttrs,
			Output: func(map[string]string) (io.WriteCloser, error) { return nopCloser{&ociBuf}, nil }}}
	case "local":
		out.local = t.TempDir()
		opt.Exports = []client.ExportEntry{{Type: client.ExporterLocal, OutputDir: out.local}}
	}
	ch := make(chan *client.SolveStatus)
	done := make(chan struct{})
	go func() {
		out.progress.Collect(ch)
		close(done)
	}()
	switch m {
	case inProcess:
		_, out.err = c.Build(ctx, opt, "ohlcv-build-test", frontend.Build, ch)
	case gateway:
		opt.Frontend = "gateway.v0"
		opt.FrontendAttrs["source"] = engineEnv(t, "FRONTEND_IMAGE")
		_, out.err = c.Solve(ctx, nil, opt, ch)
	case syntax, dockerfile:
		opt.Frontend = "dockerfile.v0"
		_, out.err = c.Solve(ctx, nil, opt, ch)
	}
	<-done
	out.oci = ociBuf.Bytes()
	return out
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// progress is everything the build showed: vertices, their logs and the
// warnings.
type progress struct{ *buildprogress.Progress }

func newProgress() *progress { return &progress{buildprogress.New()} }

// text is the whole progress stream as text: each vertex's name, whether
// it was cached, its error and its logs, then the warnings.
func (p *progress) text() string {
	var b strings.Builder
	for _, v := range p.Vertices() {
		fmt.Fprintf(&b, "%s cached=%v %s\n", v.Name, v.Cached, v.Error)
		b.Write(p.Log(v.Digest))
	}
	for _, w := range p.Warnings() {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	return b.String()
}

// ran returns the names of vertices that ran (were not cached) and whose
// name contains substr.
func (p *progress) ran(substr string) []string {
	var out []string
	for _, v := range p.Vertices() {
		if !v.Cached && v.Completed != nil && strings.Contains(v.Name, substr) {
			out = append(out, v.Name)
		}
	}
	return out
}

// named returns the names of all vertices whose name contains substr,
// cached or not.
func (p *progress) named(substr string) []string {
	var out []string
	for _, v := range p.Vertices() {
		if strings.Contains(v.Name, substr) {
			out = append(out, v.Name)
		}
	}
	return out
}

func (o *outcome) must(t *testing.T) *outcome {
	t.Helper()
	if o.err != nil {
		t.Fatalf("build failed: %v\nprogress:\n%s", o.err, o.progress.text())
	}
	return o
}

// image is one platform's image of an OCI layout tar: its config and its
// files, with the layers applied in order. platform is os/arch[/variant]
// from the config.
type image struct {
	platform string
	config   dockerspec.DockerOCIImage
	files    map[string]*file
	blobs    [][]byte // every blob, decompressed, to search for leaks
}

// file is one file of an image: what ocilayout.Files read of it.
type file struct {
	mode     int64
	uid, gid int
	data     []byte
	typeflag byte
}

// readOCI reads the images of an OCI layout tar, one per platform, and
// unpacks each with the shared reader (internal/ocilayout), which applies
// whiteouts and opaque directories as a runtime does.
func readOCI(t *testing.T, tarball []byte) []*image {
	t.Helper()
	ctx := context.Background()
	layout, err := ocilayout.New(bytes.NewReader(tarball), int64(len(tarball)))
	if err != nil {
		t.Fatal(err)
	}
	imgs, err := layout.Images(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Each blob is read back whole to search it: a test image is small.
	readAll := func(rc io.ReadCloser, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		dt, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		return dt
	}
	var out []*image
	for _, li := range imgs {
		img := &image{platform: li.Platform, config: li.Config}
		img.blobs = append(img.blobs, readAll(layout.Open(ctx, li.Manifest.Config)), readAll(layout.Open(ctx, li.ManifestDescriptor)))
		for _, l := range li.Manifest.Layers {
			img.blobs = append(img.blobs, readAll(layout.Layer(ctx, l)))
		}
		dir := t.TempDir()
		if err := layout.Unpack(ctx, li, dir); err != nil {
			t.Fatal(err)
		}
		files, err := ocilayout.Files(dir)
		if err != nil {
			t.Fatal(err)
		}
		img.files = make(map[string]*file, len(files))
		for p, f := range files {
			img.files[p] = &file{mode: f.Mode, uid: f.UID, gid: f.GID, data: f.Data, typeflag: f.Typeflag}
		}
		out = append(out, img)
	}
	return out
}

func (img *image) read(t *testing.T, path string) string {
	t.Helper()
	f, ok := img.files[path]
	if !ok {
		t.Fatalf("%s: no %s in the image", img.platform, path)
	}
	return string(f.data)
}

// contains reports whether any blob of the image holds s.
func (img *image) contains(s string) bool {
	for _, b := range img.blobs {
		if bytes.Contains(b, []byte(s)) {
			return true
		}
	}
	return false
}

func singleImage(t *testing.T, o *outcome) *image {
	t.Helper()
	imgs := readOCI(t, o.oci)
	if len(imgs) != 1 {
		t.Fatalf("want one image, got %d", len(imgs))
	}
	return imgs[0]
}
