package llbgraph

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/solver/pb"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// stubImages are the image configs the stub resolver knows: a Debian-like
// image with an env, a workdir and a layer, and an Alpine-like one.
var stubImages = map[string]dockerspec.DockerOCIImage{
	"docker.io/library/python:3.11-slim":     stubImage([]string{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "PYTHON_VERSION=3.11"}, "", []string{"python3"}),
	"docker.io/library/python:3.11-alpine":   stubImage([]string{"PATH=/usr/local/bin:/usr/bin:/bin", "PYTHON_VERSION=3.11"}, "", []string{"python3"}),
	"docker.io/library/busybox:latest":       stubImage([]string{"PATH=/bin"}, "", []string{"sh"}),
	"docker.io/library/golang:1.26":          stubImage([]string{"PATH=/go/bin:/usr/local/go/bin:/usr/bin:/bin", "GOPATH=/go"}, "/go", []string{"bash"}),
	"docker.io/library/debian:bookworm-slim": stubImage([]string{"PATH=/usr/bin:/bin"}, "", []string{"bash"}),
	"ghcr.io/astral-sh/uv:0.5.11":            stubImage([]string{"PATH=/"}, "", []string{"/uv"}),
}

func stubImage(env []string, wd string, cmd []string) dockerspec.DockerOCIImage {
	var img dockerspec.DockerOCIImage
	img.OS, img.Architecture = "linux", "amd64"
	img.RootFS.Type = "layers"
	img.RootFS.DiffIDs = []digest.Digest{digest.FromString(strings.Join(env, ","))}
	img.Config.Env = env
	img.Config.WorkingDir = wd
	img.Config.Cmd = cmd
	img.History = []ocispecs.History{{CreatedBy: "stub base layer"}}
	return img
}

// stubResolve resolves the stub images, counting calls per ref. The
// compiler calls it concurrently.
type stubResolve struct {
	mu    sync.Mutex
	calls map[string]int
}

func (r *stubResolve) resolve(_ context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	if r.calls != nil {
		r.mu.Lock()
		r.calls[ref]++
		r.mu.Unlock()
	}
	img, ok := stubImages[ref]
	if !ok {
		return "", "", nil, fmt.Errorf("%s: not found", ref)
	}
	if p := opt.ImageOpt.Platform; p != nil {
		img.Architecture = p.Architecture
	}
	dt, err := json.Marshal(img)
	if err != nil {
		return "", "", nil, err
	}
	return ref, digest.FromBytes(dt), dt, nil
}

// testOpt is an Opt with the stub resolver and a main context with a fixed
// name, for tests.
func testOpt(target string) Opt {
	r := &stubResolve{}
	return Opt{
		Target:             target,
		BuildPlatform:      ocispecs.Platform{OS: "linux", Architecture: "amd64"},
		ResolveImageConfig: r.resolve,
		MainContext: func(_ context.Context, excludes, follow []string) (*llb.State, error) {
			st := llb.Local("context", llb.ExcludePatterns(excludes), llb.FollowPaths(follow))
			return &st, nil
		},
	}
}

func loadSpec(t testing.TB, src string) *spec.Spec {
	t.Helper()
	s, err := spec.Load(spec.DefaultFilename, []byte(src))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return s
}

func loadFile(t testing.TB, name string) *spec.Spec {
	t.Helper()
	dt, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := spec.Load(filepath.Base(name), dt)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return s
}

func compile(t testing.TB, s *spec.Spec, opt Opt) *Result {
	t.Helper()
	res, err := Compile(context.Background(), s, opt)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return res
}

// marshalOpts pin what the LLB must not take from the host.
var marshalOpts = []llb.ConstraintsOpt{llb.LinuxAmd64, llb.LocalUniqueID("ohlcv-build-test")}

// graph is a marshalled definition, walkable by digest.
type graph struct {
	def  *llb.Definition
	ops  map[digest.Digest]*pb.Op
	list []digest.Digest // definition order
	head digest.Digest
}

func marshal(t testing.TB, st llb.State) *graph {
	t.Helper()
	def, err := st.Marshal(context.Background(), marshalOpts...)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	g := &graph{def: def, ops: map[digest.Digest]*pb.Op{}}
	for _, dt := range def.Def {
		var op pb.Op
		if err := op.UnmarshalVT(dt); err != nil {
			t.Fatal(err)
		}
		d := digest.FromBytes(dt)
		g.ops[d] = &op
		g.list = append(g.list, d)
	}
	// the last op is the empty one that points at the result
	last := g.ops[g.list[len(g.list)-1]]
	g.head = digest.Digest(last.Inputs[0].Digest)
	return g
}

// name is the progress name of an op.
func (g *graph) name(d digest.Digest) string {
	return g.def.Metadata[d].Description["llb.customname"]
}

// find returns the ops whose progress name contains substr.
func (g *graph) find(substr string) []digest.Digest {
	var out []digest.Digest
	for _, d := range g.list {
		if strings.Contains(g.name(d), substr) {
			out = append(out, d)
		}
	}
	return out
}

// one returns the single op whose name contains substr.
func (g *graph) one(t testing.TB, substr string) (digest.Digest, *pb.Op) {
	t.Helper()
	ds := g.find(substr)
	if len(ds) != 1 {
		var names []string
		for _, d := range g.list {
			names = append(names, g.name(d))
		}
		t.Fatalf("want one op named %q, found %d among:\n%s", substr, len(ds), strings.Join(names, "\n"))
	}
	return ds[0], g.ops[ds[0]]
}

// dependsOn reports whether op a reaches op b through its inputs.
func (g *graph) dependsOn(a, b digest.Digest) bool {
	seen := map[digest.Digest]bool{}
	var walk func(digest.Digest) bool
	walk = func(d digest.Digest) bool {
		if d == b {
			return true
		}
		if seen[d] {
			return false
		}
		seen[d] = true
		for _, in := range g.ops[d].Inputs {
			if walk(digest.Digest(in.Digest)) {
				return true
			}
		}
		return false
	}
	for _, in := range g.ops[a].Inputs {
		if walk(digest.Digest(in.Digest)) {
			return true
		}
	}
	return false
}

// resolverFunc adapts a function to llb.ImageMetaResolver.
type resolverFunc func(context.Context, string, sourceresolver.Opt) (string, digest.Digest, []byte, error)

func (f resolverFunc) ResolveImageConfig(ctx context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	return f(ctx, ref, opt)
}
