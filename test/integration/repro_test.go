//go:build integration

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/tonistiigi/fsutil"
)

// daemon is a fresh buildkitd started by hack/extra-daemon.sh.
type daemon struct {
	dir  string
	addr string
}

// startFreshDaemon starts a buildkitd with empty state beside the engine's
// (its registry and mirrors, none of its cache), and a buildx builder named
// builder on it when builder is set, with env (BUILDX_CONFIG) for buildx.
// Cleanup stops it by its pid and deletes its state.
func startFreshDaemon(t *testing.T, name, builder string, env ...string) daemon {
	t.Helper()
	// Short: the socket path must stay under 100 bytes.
	dir, err := os.MkdirTemp("", "ohlcv-"+name+"-")
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(repoRoot(), "hack", "extra-daemon.sh")
	args := []string{dir}
	if builder != "" {
		args = append(args, builder)
	}
	cmd := exec.Command(script, append([]string{"start"}, args...)...)
	// The engine whose registry it uses: the one the tests were given.
	cmd.Env = append(os.Environ(), "OHLCV_ENGINE_DIR="+engineEnv(t, "OHLCV_ENGINE_DIR"))
	cmd.Env = append(cmd.Env, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	t.Cleanup(func() {
		stop := exec.Command(script, append([]string{"stop"}, args...)...)
		stop.Env = cmd.Env
		if b, err := stop.CombinedOutput(); err != nil {
			t.Errorf("stopping the daemon in %s: %v\n%s", dir, err, b)
		}
	})
	if err != nil {
		t.Fatalf("hack/extra-daemon.sh start %s: %v\n%s", dir, err, stderr.String())
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(string(out)), "BUILDKIT_HOST=")
	if !ok {
		t.Fatalf("hack/extra-daemon.sh printed %q", out)
	}
	return daemon{dir: dir, addr: addr}
}

// solved is a dockerfile.v0 build's result on a given daemon.
type solved struct {
	err      error
	local    string // the exported directory
	progress *progress
	statuses map[string]bool // ids of the progress's statuses (pulled layers are by digest)
}

// solveDockerfile builds dir's file with the builtin dockerfile.v0 frontend
// on the daemon at addr (so a `# syntax=` line is forwarded) and exports it
// to a directory.
func solveDockerfile(ctx context.Context, t *testing.T, addr, dir, filename string, attrs map[string]string) solved {
	t.Helper()
	c, err := client.New(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fs, err := fsutil.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	res := solved{local: t.TempDir(), progress: newProgress(), statuses: map[string]bool{}}
	fattrs := map[string]string{"filename": filename}
	for k, v := range attrs {
		fattrs[k] = v
	}
	ch, fwd := make(chan *client.SolveStatus), make(chan *client.SolveStatus)
	done := make(chan struct{})
	go func() {
		res.progress.Collect(fwd)
		close(done)
	}()
	go func() {
		for st := range ch {
			for _, s := range st.Statuses {
				res.statuses[s.ID] = true
			}
			fwd <- st
		}
		close(fwd)
	}()
	_, res.err = c.Solve(ctx, nil, client.SolveOpt{
		Frontend:      "dockerfile.v0",
		FrontendAttrs: fattrs,
		LocalMounts:   map[string]fsutil.FS{"context": fs, "dockerfile": fs},
		Exports:       []client.ExportEntry{{Type: client.ExporterLocal, OutputDir: res.local}},
	}, ch)
	<-done
	return res
}

// sbomScanner makes sure the SBOM scanner image is in the engine's registry
// (hack/sbom-scanner.sh) and returns its reference.
func sbomScanner(t *testing.T, co checkout) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(co.dir, "hack", "sbom-scanner.sh"), engineEnv(t, "REGISTRY")+"/ohlcv-rag/ohlcv-build-sbom-scanner")
	cmd.Env = append(os.Environ(), "BUILDX_BUILDER="+engineEnv(t, "BUILDX_BUILDER"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hack/sbom-scanner.sh: %v\n%s", err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// perInvocation are the provenance fields that describe one build rather
// than its inputs or its result, as paths into the SLSA predicate:
// moby/buildkit#3421 (closed, by design) says there is no reproducible
// provenance, since it records one invocation. They are the invocation id
// and times; the digests of the build's LLB steps (the local context's
// source carries the client session's id); and the layers of the build
// stage's intermediate snapshots, whose files carry the time they were
// written (only the released image's layers get rewrite-timestamp).
var perInvocation = [][]string{
	{"runDetails", "metadata", "invocationId"},
	{"runDetails", "metadata", "startedOn"},
	{"runDetails", "metadata", "finishedOn"},
	{"buildDefinition", "internalParameters", "buildConfig", "digestMapping"},
	{"runDetails", "metadata", "buildkit_metadata", "source", "infos", "*", "digestMapping"},
	{"runDetails", "metadata", "buildkit_metadata", "layers"},
}

// deletePath deletes the value at path from decoded JSON; "*" stands for
// every element of an array. It reports whether anything was there.
func deletePath(v any, path []string) bool {
	if len(path) == 0 {
		return false
	}
	switch x := v.(type) {
	case map[string]any:
		if len(path) == 1 {
			_, ok := x[path[0]]
			delete(x, path[0])
			return ok
		}
		return deletePath(x[path[0]], path[1:])
	case []any:
		if path[0] != "*" {
			return false
		}
		found := false
		for _, e := range x {
			found = deletePath(e, path[1:]) || found
		}
		return found
	}
	return false
}

// TestReproducibleRelease: two fresh buildkitd daemons, each started for
// this test with empty state, release the same commit at once (make release
// VERSION=v0.1.0 for linux/amd64 and linux/arm64, the same SBOM scanner). Every platform's image manifest is
// the same, byte for byte, and so are the frontend command's archives; the SBOM attestations are the same; the
// provenance attestations differ only in the per-invocation fields
// (perInvocation), and are otherwise the same. Released
// again without provenance (PROVENANCE=false, from each daemon's cache), the
// two manifest lists, images plus SBOMs, have the same digest, and hold the
// same images as the releases with provenance.
func TestReproducibleRelease(t *testing.T) {
	// Two of the seven platforms, one native and one cross-compiled, stand
	// for all: each platform compiles the whole frontend from nothing on
	// both fresh daemons, minutes apiece on the 2-core CI machine, and
	// TestRelease builds all seven.
	platforms := []string{"linux/amd64", "linux/arm64"}
	platformsArg := "PLATFORMS=" + strings.Join(platforms, ",")
	co := cleanCheckout(t)
	reg := engineEnv(t, "REGISTRY")
	scanner := sbomScanner(t, co)
	bx := "BUILDX_CONFIG=" + t.TempDir() // the two builders live apart from the user's
	run := randomToken(t)[:8]

	type release struct {
		name, builder, registry string
		dist                    string // the frontend command's archives
		digest, out             string
		err                     error
	}
	rels := []*release{{name: "a"}, {name: "b"}}
	for _, r := range rels {
		r.builder = "ohlcv-repro-" + r.name + "-" + run
		// One image name for both: the attestations' subjects name the image
		// and its tags. Each run's digest comes from its own output, so it does
		// not matter which daemon's push a tag ends up on.
		r.registry = reg + "/repro-" + run
		r.dist = t.TempDir()
		startFreshDaemon(t, "repro-"+r.name, r.builder, bx)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for _, r := range rels {
		wg.Go(func() {
			// Archives of two platforms, whose binaries build beside the
			// image's, stand for all: each of the others would compile the
			// command from nothing on both daemons.
			r.out, r.err = makeRelease(t, co.dir, []string{bx, "BUILDX_BUILDER=" + r.builder},
				"VERSION="+releaseVersion, "REGISTRY="+r.registry, "SBOM_GENERATOR="+scanner, "FORCE=1",
				"ARCHIVE_PLATFORMS=linux/amd64,linux/arm64", "DIST="+r.dist, platformsArg)
		})
	}
	wg.Wait()
	t.Logf("two releases on two fresh daemons, at once, in %s", time.Since(start).Round(time.Second))
	for _, r := range rels {
		if r.err != nil {
			t.Fatalf("daemon %s: make release: %v\n%s", r.name, r.err, tail(r.out, 80))
		}
		m := releasedLine.FindStringSubmatch(r.out)
		if m == nil {
			t.Fatalf("daemon %s: make release printed no released line:\n%s", r.name, tail(r.out, 40))
		}
		r.digest = m[2]
		t.Logf("daemon %s: %s@%s", r.name, m[1], r.digest)
	}
	a, b := rels[0], rels[1]
	ref := func(r *release, digest string) string { return r.registry + "/ohlcv-rag/ohlcv-build@" + digest }

	ia, ib := inspectIndex(t, ref(a, a.digest), platforms), inspectIndex(t, ref(b, b.digest), platforms)
	for p, da := range ia.images {
		if db := ib.images[p]; da.Digest != db.Digest {
			t.Errorf("%s: image manifest %s on daemon a, %s on daemon b", p, da.Digest, db.Digest)
		}
	}

	sumsA, sumsB := readFile(t, filepath.Join(a.dist, "SHA256SUMS")), readFile(t, filepath.Join(b.dist, "SHA256SUMS"))
	if strings.Count(sumsA, "ohlcv-build-frontend_") != 2 || sumsA != sumsB {
		t.Errorf("the archives differ between the daemons, or are not two:\n%s---\n%s", sumsA, sumsB)
	}

	sa := imagetools(t, "--format", "{{json .SBOM}}", ref(a, a.digest))
	sb := imagetools(t, "--format", "{{json .SBOM}}", ref(b, b.digest))
	if !bytes.Equal(sa, sb) {
		t.Errorf("the SBOMs differ between the daemons:\n%.1500s\n---\n%.1500s", sa, sb)
	}

	var pa, pb map[string]struct{ SLSA map[string]any }
	imagetoolsJSON(t, ref(a, a.digest), "{{json .Provenance}}", &pa)
	imagetoolsJSON(t, ref(b, b.digest), "{{json .Provenance}}", &pb)
	for _, p := range platforms {
		if pa[p].SLSA == nil || pb[p].SLSA == nil {
			t.Fatalf("%s: no provenance", p)
		}
		for _, path := range perInvocation {
			if !deletePath(pa[p].SLSA, path) || !deletePath(pb[p].SLSA, path) {
				t.Errorf("%s: provenance has no %s", p, strings.Join(path, "."))
			}
		}
		if diff := jsonDiff("", pa[p].SLSA, pb[p].SLSA); len(diff) > 0 {
			t.Errorf("%s: the provenance differs between the daemons beyond the per-invocation fields, at %v", p, diff)
		}
	}

	// The same releases without provenance, from each daemon's cache.
	for _, r := range rels {
		d, _ := mustRelease(t, co.dir, []string{bx, "BUILDX_BUILDER=" + r.builder},
			"VERSION="+releaseVersion, "REGISTRY="+r.registry+"-np", "SBOM_GENERATOR="+scanner, "PROVENANCE=false", "FORCE=1", noArchives, platformsArg)
		r.digest = d
		t.Logf("daemon %s without provenance: %s", r.name, d)
	}
	if a.digest != b.digest {
		t.Errorf("the manifest lists differ: %s on daemon a, %s on daemon b", a.digest, b.digest)
	}
	np := inspectIndex(t, a.registry+"-np/ohlcv-rag/ohlcv-build@"+a.digest, platforms)
	for p, d := range np.images {
		if d.Digest != ia.images[p].Digest {
			t.Errorf("%s: %s without provenance, %s with it", p, d.Digest, ia.images[p].Digest)
		}
	}
}

// jsonDiff lists the paths at which two decoded JSON values differ.
func jsonDiff(path string, a, b any) []string {
	ma, okA := a.(map[string]any)
	mb, okB := b.(map[string]any)
	if okA && okB {
		var out []string
		keys := map[string]bool{}
		for k := range ma {
			keys[k] = true
		}
		for k := range mb {
			keys[k] = true
		}
		for _, k := range slices.Sorted(maps.Keys(keys)) {
			out = append(out, jsonDiff(path+"."+k, ma[k], mb[k])...)
		}
		return out
	}
	la, okA := a.([]any)
	lb, okB := b.([]any)
	if okA && okB && len(la) == len(lb) {
		var out []string
		for i := range la {
			out = append(out, jsonDiff(fmt.Sprintf("%s[%d]", path, i), la[i], lb[i])...)
		}
		return out
	}
	if !reflect.DeepEqual(a, b) {
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		return []string{fmt.Sprintf("%s: %.200s vs %.200s", path, ja, jb)}
	}
	return nil
}
