//go:build reliability

package reliability

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ohlcv-rag/ohlcv-build/internal/ocilayout"
	"github.com/ohlcv-rag/ohlcv-build/internal/registry"
	"github.com/ohlcv-rag/ohlcv-build/llbgraph"
)

// twinDir is the offline twin's context; its spec is offline.build.yaml,
// whose `# syntax=` line names the released frontend image, which the
// suite's daemons resolve through a mirror to the suite's registry.
func twinDir() string { return filepath.Join(repoRoot(), "examples", "ohlcv-rag") }

// twinSyntax reads the image the offline twin's `# syntax=` line names, by
// tag.
func twinSyntax() (reference.NamedTagged, error) {
	b, err := os.ReadFile(filepath.Join(twinDir(), twinFile))
	if err != nil {
		return nil, err
	}
	first, _, _ := strings.Cut(string(b), "\n")
	ref, ok := strings.CutPrefix(strings.TrimSpace(first), "# syntax=")
	if !ok {
		return nil, fmt.Errorf("%s: the first line is not a `# syntax=` line", twinFile)
	}
	n, err := registry.ParseRef(strings.TrimSpace(ref))
	if err != nil {
		return nil, err
	}
	tagged, ok := n.(reference.NamedTagged)
	if !ok {
		return nil, fmt.Errorf("%s: the `# syntax=` image %s has no tag", twinFile, n)
	}
	return tagged, nil
}

const twinFile = "offline.build.yaml"

// skipTests is the build arg that skips the twin's tests. The figures are
// about the image and its steps; a test's steps are solved beside the
// image, on the frontend's own image too, and would blur "every step ran".
const skipTests = llbgraph.SkipTestsArg

// epoch is the time of the checkout's last commit, as a release build
// would set SOURCE_DATE_EPOCH.
func epoch(t *testing.T, fig *figure) int64 {
	t.Helper()
	out, err := exec.Command("git", "-C", repoRoot(), "log", "-1", "--format=%ct").Output()
	if err != nil {
		fig.fatalf(t, "git log: %v", err)
	}
	e, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		fig.fatalf(t, "git log: %v", err)
	}
	return e
}

func testReproducible(t *testing.T) {
	fig := newFigure(t, "5")
	s := setup(t, fig)
	ctx := context.Background()
	e := epoch(t, fig)
	epochTime := time.Unix(e, 0).UTC()
	out := t.TempDir()
	// Two fresh daemons; each builds the twin's runtime from nothing, one
	// after the other, so that the builds run at different times.
	results := make([]*built, 2)
	for i, name := range []string{"r1", "r2"} {
		d, err := s.pool.get(ctx, name, daemonOpts{})
		if err != nil {
			fig.fatalf(t, "%v", err)
		}
		results[i] = s.buildx.build(ctx, buildSpec{builder: d.name, dir: twinDir(), file: twinFile, target: "runtime",
			args:    map[string]string{"SOURCE_DATE_EPOCH": strconv.FormatInt(e, 10), "OHLCV_REL_UNDECLARED": "1", skipTests: "1"},
			outputs: []string{"type=oci,dest=" + filepath.Join(out, name+".tar") + ",rewrite-timestamp=true"}, timeout: 20 * time.Minute})
	}
	var digests []string
	for i, r := range results {
		fig.command(r.command)
		if r.err != nil {
			fig.fatalf(t, "the build on r%d failed: %v", i+1, r.err)
		}
		_, img := singleImage(t, fig, filepath.Join(out, fmt.Sprintf("r%d.tar", i+1)))
		digests = append(digests, img.ManifestDescriptor.Digest.String())
		fig.check(t, fmt.Sprintf("r%d: cold build of runtime", i+1), "succeeds, running every step", fmt.Sprintf("%s, %d of %d steps run", outcomeText(r.outcome), len(r.progress.ran()), len(r.progress.steps())), len(r.progress.ran()) == len(r.progress.steps()))
		warned, control := false, false
		for _, w := range r.progress.Warnings() {
			warned = warned || strings.Contains(w, "SOURCE_DATE_EPOCH")
			control = control || strings.Contains(w, "OHLCV_REL_UNDECLARED")
		}
		fig.check(t, fmt.Sprintf("r%d: warnings about SOURCE_DATE_EPOCH (an undeclared arg passed beside it is warned about: %v)", i+1, control), "none, and the undeclared arg warned about", fmt.Sprintf("%d warning(s), SOURCE_DATE_EPOCH in one: %v", len(r.progress.Warnings()), warned), !warned && control)
	}
	fig.check(t, "image manifest digest, r1 and r2, with rewrite-timestamp=true", "identical", strings.Join(digests, " and "), digests[0] == digests[1])
	if digests[0] != digests[1] {
		l1, i1 := singleImage(t, fig, filepath.Join(out, "r1.tar"))
		l2, i2 := singleImage(t, fig, filepath.Join(out, "r2.tar"))
		where := diffImages(t, fig, l1, i1, l2, i2)
		t.Logf("where the images differ: %s", where)
		fig.note("Where r1's and r2's images differ: %s", where)
	}
	base := twinBase(t, fig, s)
	l, img := singleImage(t, fig, filepath.Join(out, "r1.tar"))
	kept := keptBaseLayers(img, base)
	newer, files := newerThan(t, fig, l, img, kept, epochTime)
	fig.check(t, "files with a time after the epoch in the layers the build made, with rewrite-timestamp=true", "0", fmt.Sprintf("%d of %d (in %d layers after the base image's %d)", newer, files, len(img.Manifest.Layers)-kept, kept), newer == 0 && kept == len(base.RootFS.DiffIDs))

	// Without rewrite-timestamp, on r1 (cached): the frontend alone sets the
	// config's times.
	r1, err := s.pool.get(ctx, "r1", daemonOpts{})
	if err != nil {
		fig.fatalf(t, "%v", err)
	}
	plainTar := filepath.Join(out, "plain.tar")
	plain := s.buildx.build(ctx, buildSpec{builder: r1.name, dir: twinDir(), file: twinFile, target: "runtime",
		args: map[string]string{"SOURCE_DATE_EPOCH": strconv.FormatInt(e, 10), skipTests: "1"}, outputs: []string{"type=oci,dest=" + plainTar}})
	fig.command(plain.command)
	if plain.err != nil {
		fig.fatalf(t, "%v", plain.err)
	}
	l, img = singleImage(t, fig, plainTar)
	created := "missing"
	if img.Config.Created != nil {
		created = img.Config.Created.UTC().Format(time.RFC3339)
	}
	fig.check(t, "config created, without rewrite-timestamp", epochTime.Format(time.RFC3339)+" (the epoch)", created, img.Config.Created != nil && img.Config.Created.Equal(epochTime))
	// BuildKit keeps the base image's history entries as they are
	// (moby/buildkit#4614); every entry after them is the build's.
	nBase := len(base.History)
	sameBase := len(img.Config.History) > nBase
	for i := 0; sameBase && i < nBase; i++ {
		h, b := img.Config.History[i], base.History[i]
		sameBase = h.CreatedBy == b.CreatedBy && timesEqual(h.Created, b.Created)
	}
	fig.check(t, "the base image's history entries, without rewrite-timestamp", fmt.Sprintf("the base image's %d, unchanged", nBase), fmt.Sprintf("unchanged: %v", sameBase), sameBase)
	off, own := 0, 0
	for _, h := range img.Config.History[min(nBase, len(img.Config.History)):] {
		own++
		if h.Created == nil || !h.Created.Equal(epochTime) {
			off++
		}
	}
	fig.check(t, "history entries the build added whose time is not the epoch, without rewrite-timestamp", fmt.Sprintf("0 of %d", own), fmt.Sprintf("%d of %d", off, own), off == 0 && own > 0)
	newer, files = newerThan(t, fig, l, img, keptBaseLayers(img, base), epochTime)
	fig.note("Without rewrite-timestamp, %d of the %d files in the layers the build made have a time after the epoch (written at build time); rewrite-timestamp=true clamps them. The base image's layers are kept as they are, in both cases.", newer, files)
	fig.note("SOURCE_DATE_EPOCH was %d (the time of the checkout's last commit). The twin's steps that write Python bytecode read it (examples/ohlcv-rag/offline.build.yaml), so that Python writes .pyc files that hash their source instead of recording when it was written: without that, the two daemons' .pyc files differed whenever the builds ran in different seconds.", e)
}

// diffImages says which layers of two images differ and, in each, which
// files (by content, mode, owner or time), up to a few of each.
func diffImages(t *testing.T, fig *figure, l1 *ocilayout.Layout, i1 *ocilayout.Image, l2 *ocilayout.Layout, i2 *ocilayout.Image) string {
	t.Helper()
	if len(i1.Manifest.Layers) != len(i2.Manifest.Layers) {
		return fmt.Sprintf("%d layers against %d", len(i1.Manifest.Layers), len(i2.Manifest.Layers))
	}
	type entry struct {
		sum      [32]byte
		mode     int64
		uid, gid int
		mtime    time.Time
		link     string
	}
	read := func(l *ocilayout.Layout, d ocispecs.Descriptor) map[string]entry {
		rc, err := l.Layer(context.Background(), d)
		if err != nil {
			fig.fatalf(t, "%v", err)
		}
		defer rc.Close()
		out := map[string]entry{}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err != nil {
				return out
			}
			sum := sha256.New()
			_, _ = io.Copy(sum, tr)
			out[h.Name] = entry{[32]byte(sum.Sum(nil)), h.Mode, h.Uid, h.Gid, h.ModTime, h.Linkname}
		}
	}
	var parts []string
	for i := range i1.Manifest.Layers {
		if i1.Manifest.Layers[i].Digest == i2.Manifest.Layers[i].Digest {
			continue
		}
		a, b := read(l1, i1.Manifest.Layers[i]), read(l2, i2.Manifest.Layers[i])
		var files []string
		for name, ea := range a {
			eb, ok := b[name]
			switch {
			case !ok:
				files = append(files, name+" (r1 only)")
			case ea.sum != eb.sum:
				files = append(files, name+" (content)")
			case ea != eb:
				files = append(files, name+" (metadata)")
			}
		}
		for name := range b {
			if _, ok := a[name]; !ok {
				files = append(files, name+" (r2 only)")
			}
		}
		slices.Sort(files)
		n := len(files)
		if n > 8 {
			files = append(files[:8], fmt.Sprintf("and %d more", n-8))
		}
		step := ""
		if i < len(i1.Config.History) {
			step = ""
		}
		parts = append(parts, fmt.Sprintf("layer %d of %d%s: %s", i+1, len(i1.Manifest.Layers), step, strings.Join(files, ", ")))
	}
	if len(parts) == 0 {
		return "the layers are identical; the configs differ"
	}
	return strings.Join(parts, "; ")
}

// twinBase is the config of the twin runtime's base image,
// python:3.11-slim, from the hack/ engine's registry.
func twinBase(t *testing.T, fig *figure, s *suite) *dockerspec.DockerOCIImage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	target, err := registry.New().Resolve(ctx, s.engine["REGISTRY"]+"/library/python:3.11-slim")
	if err != nil {
		fig.fatalf(t, "the twin's base image: %v", err)
	}
	m, err := target.Image(ctx, platforms.MustParse("linux/amd64"))
	if err != nil {
		fig.fatalf(t, "the twin's base image: %v", err)
	}
	var img dockerspec.DockerOCIImage
	if err := target.ReadJSON(ctx, m.Config, &img); err != nil {
		fig.fatalf(t, "the twin's base image: %v", err)
	}
	return &img
}

// keptBaseLayers is how many of img's first layers are the base image's,
// by diff ID.
func keptBaseLayers(img *ocilayout.Image, base *dockerspec.DockerOCIImage) int {
	n := 0
	for n < len(base.RootFS.DiffIDs) && n < len(img.Config.RootFS.DiffIDs) && img.Config.RootFS.DiffIDs[n] == base.RootFS.DiffIDs[n] {
		n++
	}
	return n
}

func timesEqual(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// newerThan counts the files whose modification time is after t, and all
// files, in img's layers from the skip-th on.
func newerThan(t *testing.T, fig *figure, l *ocilayout.Layout, img *ocilayout.Image, skip int, after time.Time) (newer, files int) {
	t.Helper()
	for _, ld := range img.Manifest.Layers[min(skip, len(img.Manifest.Layers)):] {
		n, f, err := countNewer(l, ld, after)
		if err != nil {
			fig.fatalf(t, "layer %s: %v", ld.Digest, err)
		}
		newer, files = newer+n, files+f
	}
	return newer, files
}

// countNewer counts the files of one layer whose modification time is
// after t, and all its files.
func countNewer(l *ocilayout.Layout, ld ocispecs.Descriptor, after time.Time) (newer, files int, err error) {
	rc, err := l.Layer(context.Background(), ld)
	if err != nil {
		return 0, 0, err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return newer, files, nil
		}
		if err != nil {
			return newer, files, err
		}
		files++
		if h.ModTime.After(after) {
			newer++
		}
	}
}
