//go:build reliability

package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/core/images"
	controlapi "github.com/moby/buildkit/api/services/control"
	"github.com/moby/buildkit/client"

	"github.com/ohlcv-rag/ohlcv-build/internal/registry"
)

// A recipe is a list of command lines of docs/scale-out.md with $NAME
// placeholders. The suite runs these very lines (placeholders filled in,
// and --progress=rawjson --metadata-file added to each build to observe
// it), and writes them into the page between the recipes markers, so the
// page shows exactly what was tested.
type recipe struct {
	id, title string
	lines     []string
}

var multiNodeRecipe = recipe{id: "multi-node", title: "One manifest list from a builder with a node per platform", lines: []string{
	"docker buildx create --name $BUILDER --node $BUILDER-amd64 --driver remote --platform linux/amd64 $NODE_AMD64",
	"docker buildx create --name $BUILDER --node $BUILDER-amd64v2 --append --driver remote --platform linux/amd64/v2 $NODE_AMD64V2",
	"docker buildx build --builder $BUILDER --platform linux/amd64,linux/amd64/v2 -f ohlcv.build.yaml --output type=image,name=$IMAGE,push=true,registry.insecure=true .",
}}

// cacheRecipe skips the twin's tests (OHLCV_SKIP_TESTS): their steps are
// solved beside the image, not in it, so an exported cache does not hold
// them (docs/spec.md, "Tests").
var cacheRecipe = recipe{id: "registry-cache", title: "A registry cache that follows the build to another daemon", lines: []string{
	"docker buildx build --builder $BUILDER_A -f offline.build.yaml --target runtime --build-arg OHLCV_SKIP_TESTS=1 --cache-to type=registry,ref=$CACHE,mode=max,registry.insecure=true --output type=cacheonly .",
	"docker buildx build --builder $BUILDER_B -f offline.build.yaml --target runtime --build-arg OHLCV_SKIP_TESTS=1 --cache-from type=registry,ref=$CACHE,registry.insecure=true --output type=cacheonly .",
}}

var placeholder = regexp.MustCompile(`\$[A-Z_0-9]+`)

// runRecipeLine runs line of r in dir with vars filled in. Build lines get
// rawjson progress and a metadata file, and return what they built.
func (s *suite) runRecipeLine(ctx context.Context, fig *figure, line, dir string, vars map[string]string) (*built, error) {
	words := strings.Fields(line)
	if len(words) < 3 || words[0] != "docker" || words[1] != "buildx" {
		return nil, fmt.Errorf("recipe line %q is not a docker buildx command", line)
	}
	args := slices.Clone(words[2:])
	for i, a := range args {
		var missing error
		args[i] = placeholder.ReplaceAllStringFunc(a, func(p string) string {
			v, ok := vars[p[1:]]
			if !ok {
				missing = fmt.Errorf("recipe line %q: no value for %s", line, p)
			}
			return v
		})
		if missing != nil {
			return nil, missing
		}
	}
	fig.command(s.buildx.display(args))
	if args[0] != "build" {
		o := s.buildx.run(ctx, invocation{args: args, dir: dir, timeout: time.Minute})
		return &built{outcome: o}, o.err
	}
	mf := filepath.Join(dir, fmt.Sprintf(".meta-%d.json", time.Now().UnixNano()))
	full := append([]string{"build", "--progress=rawjson", "--metadata-file", mf}, args[1:]...)
	o := s.buildx.run(ctx, invocation{args: full, dir: dir, timeout: 20 * time.Minute})
	b := &built{outcome: o, command: s.buildx.display(args), meta: map[string]json.RawMessage{}, progress: parseProgress(o.stderr)}
	if dt, err := os.ReadFile(mf); err == nil {
		_ = json.Unmarshal(dt, &b.meta)
		os.Remove(mf)
	}
	return b, o.err
}

// multiNodeSpec prints, in each platform's build, the platform and the
// node it ran on: the search domain that each node's daemon writes into
// its containers' /etc/resolv.conf. The run's id makes the step's command
// unique, to find it in the nodes' logs.
func multiNodeSpec(frontend, runID string) string {
	return "# syntax=" + frontend + `
version: 1
stages:
  s:
    from: busybox:latest
    steps:
      - run: echo "built $TARGETPLATFORM on $(sed -n 's/^search //p' /etc/resolv.conf) ` + runID + `" | tee /built
`
}

// nodeHistory returns the build records a daemon keeps.
func nodeHistory(ctx context.Context, addr string) ([]*controlapi.BuildHistoryRecord, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := client.New(ctx, addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stream, err := c.ControlClient().ListenBuildHistory(ctx, &controlapi.BuildHistoryRequest{EarlyExit: true})
	if err != nil {
		return nil, err
	}
	var out []*controlapi.BuildHistoryRecord
	for {
		ev, err := stream.Recv()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if ev.Record != nil {
			out = append(out, ev.Record)
		}
	}
}

func testScaleOut(t *testing.T) {
	fig := newFigure(t, "6")
	s := setup(t, fig)
	ctx := context.Background()
	runID := token()

	// A builder with a node per platform.
	nodes := []struct{ name, platform, domain string }{
		{"node-amd64", "linux/amd64", "node-amd64.ohlcv-rel.invalid"},
		{"node-amd64v2", "linux/amd64/v2", "node-amd64v2.ohlcv-rel.invalid"},
	}
	var daemons []*daemon
	for _, n := range nodes {
		opts := daemonOpts{searchDomain: n.domain}
		if n.platform != "linux/amd64" {
			opts.platform = n.platform
		}
		d, err := s.pool.get(ctx, n.name, opts)
		if err != nil {
			fig.fatalf(t, "starting the %s node: %v", n.platform, err)
		}
		daemons = append(daemons, d)
	}
	dir := t.TempDir()
	writeSpec(t, dir, "ohlcv.build.yaml", multiNodeSpec(s.frontend, runID))
	image := s.reg.host + "/rel/multi:" + runID[:12]
	vars := map[string]string{"BUILDER": "multi", "NODE_AMD64": daemons[0].addr(), "NODE_AMD64V2": daemons[1].addr(), "IMAGE": image}
	_ = s.buildx.run(ctx, invocation{args: []string{"rm", "multi"}, timeout: 30 * time.Second})
	var multi *built
	for i, line := range multiNodeRecipe.lines {
		b, err := s.runRecipeLine(ctx, fig, line, dir, vars)
		if err != nil {
			fig.fatalf(t, "recipe %s, line %d: %v", multiNodeRecipe.id, i+1, err)
		}
		multi = b
	}
	target, err := registry.New().Resolve(ctx, image)
	if err != nil {
		fig.fatalf(t, "the pushed image: %v", err)
	}
	idx, err := target.Index(ctx)
	if err != nil {
		fig.fatalf(t, "the pushed image: %v", err)
	}
	var platforms []string
	for _, m := range idx.Manifests {
		if m.Platform != nil && images.IsManifestType(m.MediaType) {
			p := m.Platform.OS + "/" + m.Platform.Architecture
			if m.Platform.Variant != "" {
				p += "/" + m.Platform.Variant
			}
			platforms = append(platforms, p)
		}
	}
	slices.Sort(platforms)
	fig.check(t, "the pushed tag: one manifest list with an image per platform", "linux/amd64, linux/amd64/v2", strings.Join(platforms, ", "), slices.Equal(platforms, []string{"linux/amd64", "linux/amd64/v2"}))
	logs := multi.progress.logText()
	for i, n := range nodes {
		line := fmt.Sprintf("built %s on %s %s", n.platform, n.domain, runID)
		fig.check(t, fmt.Sprintf("progress: the %s step says it ran on its node", n.platform), fmt.Sprintf("%q", cut(line, 60)), fmt.Sprint(strings.Contains(logs, line)), strings.Contains(logs, line))
		other := nodes[1-i]
		wrong := fmt.Sprintf("built %s on %s", n.platform, other.domain)
		fig.check(t, fmt.Sprintf("progress: the %s step on the other node", n.platform), "never", fmt.Sprint(strings.Contains(logs, wrong)), !strings.Contains(logs, wrong))
		// Per-node logs: each daemon's debug log names the step it created,
		// with the step's platform.
		var mine, theirs int
		for _, l := range strings.Split(daemons[i].logText(), "\n") {
			if !strings.Contains(l, "> creating") || !strings.Contains(l, runID) || !strings.Contains(l, "span=") {
				continue
			}
			if strings.Contains(l, "["+n.platform+" ") {
				mine++
			} else if strings.Contains(l, "["+other.platform+" ") {
				theirs++
			}
		}
		fig.check(t, fmt.Sprintf("the %s node's daemon log: containers created for its platform's step; for the other's", n.platform), "1; 0", fmt.Sprintf("%d; %d", mine, theirs), mine == 1 && theirs == 0)
		recs, err := nodeHistory(ctx, daemons[i].addr())
		if err != nil {
			fig.errorf(t, "the %s node's build history: %v", n.platform, err)
			continue
		}
		// The node is fresh: its history holds this build only.
		var got []string
		for _, r := range recs {
			got = append(got, r.FrontendAttrs["platform"])
		}
		fig.check(t, fmt.Sprintf("the %s node's build history: its records, by platform", n.platform), n.platform, strings.Join(got, ", "), slices.Equal(got, []string{n.platform}))
	}

	// A registry cache from one daemon gives another, empty one every step.
	a, err := s.pool.get(ctx, "r1", daemonOpts{})
	if err != nil {
		fig.fatalf(t, "%v", err)
	}
	b, err := s.pool.get(ctx, "cache-b", daemonOpts{})
	if err != nil {
		fig.fatalf(t, "%v", err)
	}
	twin := t.TempDir()
	if out, err := exec.Command("cp", "-a", twinDir()+"/.", twin).CombinedOutput(); err != nil {
		fig.fatalf(t, "copying the twin: %v: %s", err, out)
	}
	cacheVars := map[string]string{"BUILDER_A": a.name, "BUILDER_B": b.name, "CACHE": s.reg.host + "/rel/twin-cache:" + runID[:12]}
	var fromA, onB *built
	for i, line := range cacheRecipe.lines {
		r, err := s.runRecipeLine(ctx, fig, line, twin, cacheVars)
		if err != nil {
			fig.fatalf(t, "recipe %s, line %d: %v", cacheRecipe.id, i+1, err)
		}
		if i == 0 {
			fromA = r
		} else {
			onB = r
		}
	}
	fig.check(t, "daemon B, empty, with the cache daemon A exported: steps re-run", "0", fmt.Sprintf("%d of %d (daemon A ran %d of them for this build)", len(onB.progress.ran()), len(onB.progress.steps()), len(fromA.progress.ran())), len(onB.progress.ran()) == 0 && len(onB.progress.steps()) > 0)

	// A one-line change of the app's code re-runs exactly the steps that
	// depend on it: those downstream, in the build's graph, of the copy of
	// src/.
	feature := filepath.Join(twin, "src", "features.py")
	orig, err := os.ReadFile(feature)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(feature, append(orig, []byte("\nRELIABILITY_CHANGE = \""+runID+"\"  # a one-line change\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	changed, err := s.runRecipeLine(ctx, fig, cacheRecipe.lines[1], twin, cacheVars)
	if err != nil {
		fig.fatalf(t, "the build after the change: %v", err)
	}
	want := changed.progress.dependents(func(name string) bool {
		return strings.Contains(name, "copy:") && strings.Contains(name, "src/") && !strings.Contains(name, "from:")
	})
	got := changed.progress.ran()
	slices.Sort(want)
	slices.Sort(got)
	fig.check(t, "after a one-line change of src/features.py, on daemon B: steps re-run", "exactly the steps downstream of the copy of src/ ("+fmt.Sprint(len(want))+")", fmt.Sprintf("%d: %s", len(got), strings.Join(got, "; ")), len(want) > 0 && slices.Equal(got, want))
	if err := writeScaleOutRecipes(); err != nil {
		fig.errorf(t, "docs/scale-out.md: %v", err)
	}
}

var recipesBlock = regexp.MustCompile(`(?s)<!-- recipes:begin -->\n.*<!-- recipes:end -->`)

// writeScaleOutRecipes writes the tested recipes into docs/scale-out.md,
// between its recipes markers.
func writeScaleOutRecipes() error {
	file := filepath.Join(repoRoot(), "docs", "scale-out.md")
	dt, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if !recipesBlock.Match(dt) {
		return fmt.Errorf("%s has no recipes:begin/end block", file)
	}
	var b strings.Builder
	b.WriteString("<!-- recipes:begin -->\n<!-- Written by make reliability (test/reliability/scaleout_test.go): the lines it ran. -->\n")
	for _, r := range []recipe{multiNodeRecipe, cacheRecipe} {
		fmt.Fprintf(&b, "\n### %s\n\n```sh\n%s\n```\n", r.title, strings.Join(r.lines, "\n"))
	}
	b.WriteString("<!-- recipes:end -->")
	return os.WriteFile(file, recipesBlock.ReplaceAllLiteral(dt, []byte(b.String())), 0o644)
}
