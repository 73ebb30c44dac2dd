package llbgraph

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/moby/buildkit/client/llb/sourceresolver"
	digest "github.com/opencontainers/go-digest"
)

// layeredImages are images by their layers: python is debian and one more
// layer, debian-12 is debian under another name, tools shares no layer,
// private.example's tools is debian and one more layer in another registry.
var layeredImages = map[string][]string{
	"docker.io/library/debian:bookworm-slim": {"debian"},
	"docker.io/library/debian:12-slim":       {"debian"},
	"docker.io/library/python:3.11-slim":     {"debian", "python"},
	"docker.io/library/tools:1":              {"tools", "more"},
	"private.example/tools:1":                {"debian", "private"},
}

// layeredResolve resolves layeredImages, recording each ref it is asked
// and the name its progress gives the lookup.
type layeredResolve struct {
	mu       sync.Mutex
	calls    []string
	logNames []string
}

func (r *layeredResolve) resolve(_ context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	r.mu.Lock()
	r.calls = append(r.calls, ref)
	r.logNames = append(r.logNames, opt.LogName)
	r.mu.Unlock()
	layers, ok := layeredImages[ref]
	if !ok {
		return "", "", nil, fmt.Errorf("%s: not found", ref)
	}
	img := stubImage([]string{"PATH=/usr/bin:/bin"}, "", nil)
	img.RootFS.DiffIDs = nil
	for _, l := range layers {
		img.RootFS.DiffIDs = append(img.RootFS.DiffIDs, digest.FromString(l))
	}
	dt, err := json.Marshal(img)
	if err != nil {
		return "", "", nil, err
	}
	return ref, digest.FromBytes(dt), dt, nil
}

const listsRootSpec = `version: 1
args:
  DEBIAN: debian:bookworm-slim
stages:
  base:
    from: python:3.11-slim
  app:
    from: base
    steps:
      - apt: [curl]
  prod:
    from: ${DEBIAN}
    steps:
      - apt: [python3]
  other:
    from: debian:12-slim
    steps:
      - apt: [jq]
  tools:
    from: tools:1
    steps:
      - apt: [git]
  missing:
    from: missing:1
    steps:
      - apt: [make]
  private:
    from: private.example/tools:1
    steps:
      - apt: [make]
  plain:
    from: python:3.11-slim
    steps:
      - run: echo hi
`

// listsOf compiles target with the layered images and returns the digests
// of its lists execs, the images they run on, and the refs looked up.
func listsOf(t *testing.T, target string) (execs []digest.Digest, images []string, calls []string) {
	t.Helper()
	r := &layeredResolve{}
	opt := testOpt(target)
	opt.ResolveImageConfig = r.resolve
	g := marshal(t, compile(t, loadSpec(t, listsRootSpec), opt).State)
	for _, d := range g.find("apt-get update") {
		op := g.ops[d]
		execs = append(execs, d)
		images = append(images, g.ops[digest.Digest(op.Inputs[0].Digest)].GetSource().GetIdentifier())
	}
	return execs, images, r.calls
}

// A stage from python:3.11-slim, whose first layer is debian:bookworm-slim,
// updates its lists on debian:bookworm-slim, as a stage from that image
// does: both targets make the same lists exec. An image of the spec that
// cannot be looked up is no root and no error; an image under two names
// is one root; an image sharing no layer keeps its own lists.
func TestListsRootPrefixImage(t *testing.T) {
	app, appImages, calls := listsOf(t, "app")
	prod, prodImages, _ := listsOf(t, "prod")
	other, _, _ := listsOf(t, "other")
	if len(app) != 1 || len(prod) != 1 || len(other) != 1 {
		t.Fatalf("lists execs: app %d, prod %d, other %d; want one each", len(app), len(prod), len(other))
	}
	// debian:12-slim and debian:bookworm-slim are the same layers: the
	// first reference, debian:12-slim, is the root of all three.
	if !strings.Contains(appImages[0], "debian:12-slim") || !strings.Contains(prodImages[0], "debian:12-slim") {
		t.Errorf("the lists of app run on %s and of prod on %s, want debian:12-slim for both", appImages[0], prodImages[0])
	}
	if app[0] != prod[0] || app[0] != other[0] {
		t.Errorf("app, prod and other make different lists execs: %s, %s, %s", app[0], prod[0], other[0])
	}
	if !strings.Contains(strings.Join(calls, " "), "docker.io/library/missing:1") {
		t.Errorf("app looked up %v, want the missing image too (a candidate root)", calls)
	}
	_, toolsImages, _ := listsOf(t, "tools")
	if len(toolsImages) != 1 || !strings.Contains(toolsImages[0], "tools:1") {
		t.Errorf("the lists of tools run on %v, want tools:1", toolsImages)
	}
}

// A target with no apt or apk step looks up only its own images.
func TestListsRootNotLookedUpWithoutPackages(t *testing.T) {
	_, _, calls := listsOf(t, "plain")
	if len(calls) != 1 || calls[0] != "docker.io/library/python:3.11-slim" {
		t.Errorf("plain looked up %v, want only python:3.11-slim", calls)
	}
}

// The images of other stages are looked up only in the registries the
// target's own images come from, and progress names those lookups
// optional: a registry the target never reads from, down or never
// answering, cannot hold up or fail its build.
func TestListsRootOtherRegistry(t *testing.T) {
	r := &layeredResolve{}
	opt := testOpt("app")
	opt.ResolveImageConfig = r.resolve
	compile(t, loadSpec(t, listsRootSpec), opt)
	for i, ref := range r.calls {
		if strings.HasPrefix(ref, "private.example/") {
			t.Errorf("app looked up %s, an image of a registry none of its images come from", ref)
		}
		optional := strings.HasSuffix(r.logNames[i], optionalLookup)
		if own := ref == "docker.io/library/python:3.11-slim"; own == optional {
			t.Errorf("the lookup of %s is named %q", ref, r.logNames[i])
		}
	}
	r = &layeredResolve{}
	opt = testOpt("private")
	opt.ResolveImageConfig = r.resolve
	compile(t, loadSpec(t, listsRootSpec), opt)
	if got := strings.Join(r.calls, " "); got != "private.example/tools:1" {
		t.Errorf("private looked up %s, want only its own private.example/tools:1", got)
	}
}
