//go:build integration

package integration

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/platforms"

	"github.com/ohlcv-rag/ohlcv-build/convert"
	"github.com/ohlcv-rag/ohlcv-build/internal/ocilayout"
	"github.com/ohlcv-rag/ohlcv-build/llbgraph/filetest"
)

// The equivalence suite of `frontend convert` (docs/convert.md): every
// Dockerfile of a corpus is converted, then each of its targets is built
// twice on the engine, from the Dockerfile through BuildKit's builtin
// dockerfile.v0 and from the spec in process, and the two images are
// compared: every file's path, type, mode, owner, size, content hash and
// symlink target, and the image config. A Dockerfile the converter cannot
// convert yet must fail with the errors its case.json names.

// convertParallelism is how many corpus entries build at once. The two
// builds of one entry run one after the other, so the second finds the
// first's cache.
const convertParallelism = 4

// convertCase is one Dockerfile of the corpus, in dir with its context.
type convertCase struct {
	name string
	dir  string
	opt  caseOptions
}

// caseOptions are the build options of a corpus entry, from the case.json
// beside its Dockerfile.
type caseOptions struct {
	// Platform is the build's --platform, one or several.
	Platform string `json:"platform"`
	// BuildArgs are --build-arg values.
	BuildArgs map[string]string `json:"build-args"`
	// Secrets are --secret values, by id.
	Secrets map[string]string `json:"secrets"`
	// SourceDateEpoch is set as the SOURCE_DATE_EPOCH build arg, with
	// the exporter's rewrite-timestamp: then times are compared too.
	SourceDateEpoch string `json:"source-date-epoch"`
	// Allow are the entitlements the builds are granted (--allow).
	Allow []string `json:"allow"`
	// Errors are what the conversion must fail with, each a substring of
	// one of its errors, for a Dockerfile the spec cannot express yet.
	Errors []string `json:"errors"`
	// KnownDifference is a substring of the first difference of the
	// targets that show a known bug of the spec's compiler (the other
	// targets must be equivalent): the entry fails when the difference
	// is gone, to be turned into an equivalence test.
	KnownDifference string `json:"known-difference"`
	// Targets are the stages whose images are compared besides the
	// default target's (the last stage's). Each image compared is
	// exported and unpacked twice, which for a stage on a toolchain image
	// (golang, 800 MB) costs a minute of the suite; the default target
	// builds the stages it needs anyway.
	Targets []string `json:"targets"`
}

// convertCorpus is the twin's Dockerfile, the Dockerfiles of the parity
// tests, and testdata/convert.
func convertCorpus(t *testing.T) []convertCase {
	cases := []convertCase{{
		name: "ohlcv-rag-twin",
		dir:  filepath.Join(repoRoot(), "examples", "ohlcv-rag"),
		// With SOURCE_DATE_EPOCH, Python writes .pyc files that hash their
		// source instead of recording its time, as the twin's releases do.
		// The four targets: runtime, development, production and test, the
		// default. development's apt install runs in both builds, and
		// apt's logs record when (runLogs).
		opt: caseOptions{Secrets: map[string]string{"api_key": "k-" + randomToken(t)}, SourceDateEpoch: "1700000000",
			Targets: []string{"runtime", "development", "production"}},
	}}
	for _, c := range copyDestCases {
		for _, link := range []string{"", "--link "} {
			cases = append(cases, convertCase{
				name: "parity-" + c.name + map[string]string{"": "", "--link ": "-link"}[link],
				dir:  writeContext(t, "", map[string]string{"testfile": "contents0", "Dockerfile": c.dockerfile(link)}),
			})
		}
	}
	cases = append(cases, convertCase{name: "parity-testMultiArgs", dir: writeContext(t, "", map[string]string{"Dockerfile": multiArgsDockerfile})})
	root := filepath.Join("testdata", "convert")
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		c := convertCase{name: e.Name(), dir: filepath.Join(root, e.Name())}
		if dt, err := os.ReadFile(filepath.Join(c.dir, "case.json")); err == nil {
			if err := json.Unmarshal(dt, &c.opt); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		cases = append(cases, c)
	}
	return cases
}

// TestConvertEquivalence runs the corpus, convertParallelism entries at a
// time, and prints "N/M equivalent" with the first difference of each
// entry that is not.
func TestConvertEquivalence(t *testing.T) {
	start := time.Now()
	cases := convertCorpus(t)
	var mu sync.Mutex
	var equivalent, refused, known, total int
	var failures []string
	work := make(chan convertCase)
	var wg sync.WaitGroup
	for range convertParallelism {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				var diff string
				var ran bool
				var kind verdict
				ok := t.Run(c.name, func(t *testing.T) {
					ran = true
					diff, kind = checkEquivalence(t, c)
					if diff != "" {
						t.Error(diff)
					}
				})
				mu.Lock()
				switch {
				case !ran: // left out by -run
				case ok && kind == refusedAsExpected:
					refused++
					total++
				case ok && kind == knownDifference:
					known++
					total++
				case ok:
					equivalent++
					total++
				case diff != "":
					total++
					first, _, _ := strings.Cut(diff, "\n")
					failures = append(failures, c.name+": "+first)
				default:
					total++
					failures = append(failures, c.name+": failed (see its log)")
				}
				mu.Unlock()
			}
		}()
	}
	for _, c := range cases {
		work <- c
	}
	close(work)
	wg.Wait()
	sort.Strings(failures)
	t.Logf("%d/%d equivalent, %d with a known difference, %d refused as expected, in %s", equivalent, total-refused, known, refused, time.Since(start).Round(time.Second))
	for _, f := range failures {
		t.Logf("not equivalent: %s", f)
	}
}

// verdict is how an entry that passed passed.
type verdict int

const (
	equivalentImages  verdict = iota
	refusedAsExpected         // the conversion failed with case.json's errors
	knownDifference           // the images differ as case.json says
)

// checkEquivalence converts one entry and compares its targets' images.
// It returns the first difference, or how the entry passed.
func checkEquivalence(t *testing.T, c convertCase) (string, verdict) {
	dt, err := os.ReadFile(filepath.Join(c.dir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := convert.Convert(dt, convert.Options{})
	if len(c.opt.Errors) > 0 {
		if err == nil {
			return "converted, but case.json expects it to fail with " + strings.Join(c.opt.Errors, "; "), equivalentImages
		}
		for _, want := range c.opt.Errors {
			if !strings.Contains(err.Error(), want) {
				return fmt.Sprintf("the conversion failed with %q, which lacks %q", err, want), equivalentImages
			}
		}
		return "", refusedAsExpected
	}
	if err != nil {
		return "conversion failed: " + err.Error(), equivalentImages
	}
	specDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(specDir, "ohlcv.build.yaml"), res.Spec, 0o644); err != nil {
		t.Fatal(err)
	}
	targets := append(slices.Clone(c.opt.Targets), "") // and the default: the last stage
	for _, target := range c.opt.Targets {
		if !slices.Contains(res.Targets, target) {
			t.Fatalf("case.json names target %q, which the conversion does not have: %v", target, res.Targets)
		}
	}
	knownSeen := false
	for _, target := range targets {
		df := run(t, dockerfile, c.build(target, nil, map[string]string{"cmdline": "dockerfile.v0"}))
		if df.err != nil {
			return fmt.Sprintf("target %q: the Dockerfile does not build: %v\n%s", target, df.err, df.progress.text()), equivalentImages
		}
		sp := run(t, inProcess, c.build(target, map[string]string{"dockerfile": specDir}, nil))
		if sp.err != nil {
			return fmt.Sprintf("target %q: the spec does not build: %v\n%s\nspec:\n%s", target, sp.err, sp.progress.text(), res.Spec), equivalentImages
		}
		d := compareImages(t, df.oci, sp.oci, c.opt.SourceDateEpoch != "")
		if d == "" {
			continue
		}
		d = fmt.Sprintf("target %q: %s", target, d)
		if c.opt.KnownDifference == "" || !strings.Contains(d, c.opt.KnownDifference) {
			return d, equivalentImages
		}
		t.Logf("the known difference: %s", d)
		knownSeen = true
	}
	switch {
	case knownSeen:
		return "", knownDifference
	case c.opt.KnownDifference != "":
		return "equivalent, but case.json expects the difference " + strconv.Quote(c.opt.KnownDifference) + ": delete known-difference", equivalentImages
	}
	return "", equivalentImages
}

// build is the entry's build of target, with more locals and attrs.
func (c convertCase) build(target string, locals, attrs map[string]string) build {
	b := build{dir: c.dir, locals: locals, attrs: map[string]string{}, secrets: map[string][]byte{}, allow: c.opt.Allow}
	maps.Copy(b.attrs, attrs)
	if target != "" {
		b.attrs["target"] = target
	}
	if c.opt.Platform != "" {
		b.attrs["platform"] = c.opt.Platform
	}
	for k, v := range c.opt.BuildArgs {
		b.attrs["build-arg:"+k] = v
	}
	if c.opt.SourceDateEpoch != "" {
		b.attrs["build-arg:SOURCE_DATE_EPOCH"] = c.opt.SourceDateEpoch
		b.exportAttrs = map[string]string{"rewrite-timestamp": "true"}
	}
	for k, v := range c.opt.Secrets {
		b.secrets[k] = []byte(v)
	}
	return b
}

// compareImages returns the first difference between the images of two
// OCI layout tars, platform by platform, or "".
func compareImages(t *testing.T, want, got []byte, times bool) string {
	wantImgs, gotImgs := summarize(t, want, times), summarize(t, got, times)
	if w, g := slices.Sorted(maps.Keys(wantImgs)), slices.Sorted(maps.Keys(gotImgs)); !slices.Equal(w, g) {
		return fmt.Sprintf("platforms: Dockerfile %v, spec %v", w, g)
	}
	for _, p := range slices.Sorted(maps.Keys(wantImgs)) {
		w, g := wantImgs[p], gotImgs[p]
		if d := compareConfig(w.config, g.config); d != "" {
			return p + ": config " + d
		}
		for _, path := range slices.Sorted(maps.Keys(w.files)) {
			gf, ok := g.files[path]
			if !ok {
				return fmt.Sprintf("%s: %s is in the Dockerfile's image, not in the spec's", p, path)
			}
			if wf := w.files[path]; *wf != *gf {
				return fmt.Sprintf("%s: %s differs: Dockerfile %+v, spec %+v", p, path, *wf, *gf)
			}
		}
		for _, path := range slices.Sorted(maps.Keys(g.files)) {
			if _, ok := w.files[path]; !ok {
				return fmt.Sprintf("%s: %s is in the spec's image, not in the Dockerfile's", p, path)
			}
		}
	}
	return ""
}

// imageSummary is what the suite compares of one platform's image.
type imageSummary struct {
	config comparedConfig
	files  map[string]*fileSummary
}

// comparedConfig is the image configuration the suite compares.
type comparedConfig struct {
	Platform     string // the config's os/arch[/variant]
	Env          []string
	User         string
	WorkingDir   string
	Entrypoint   []string
	Cmd          []string
	Shell        []string
	ExposedPorts []string
	Labels       map[string]string
	Volumes      []string
	Healthcheck  string
	StopSignal   string
	Created      string // with SOURCE_DATE_EPOCH only
}

// fileSummary is what the suite compares of one file.
type fileSummary struct {
	Type     string
	Mode     int64
	UID, GID int
	Size     int64
	SHA256   string // a regular file's content
	Link     string // a symlink's target
	MTime    int64  // with SOURCE_DATE_EPOCH only
}

func compareConfig(w, g comparedConfig) string {
	wv, gv := reflect.ValueOf(w), reflect.ValueOf(g)
	for i := range wv.NumField() {
		if !reflect.DeepEqual(wv.Field(i).Interface(), gv.Field(i).Interface()) {
			return fmt.Sprintf("%s: Dockerfile %v, spec %v", wv.Type().Field(i).Name, wv.Field(i).Interface(), gv.Field(i).Interface())
		}
	}
	return ""
}

// summarize reads the images of an OCI layout tar, by platform: each is
// unpacked into a temporary directory (whiteouts applied), walked, and
// removed again.
func summarize(t *testing.T, tarball []byte, times bool) map[string]*imageSummary {
	t.Helper()
	ctx := context.Background()
	layout, err := ocilayout.New(bytes.NewReader(tarball), int64(len(tarball)))
	if err != nil {
		t.Fatal(err)
	}
	defer layout.Close()
	imgs, err := layout.Images(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*imageSummary{}
	for _, img := range imgs {
		cfg := img.Config.Config
		s := &imageSummary{config: comparedConfig{
			Platform: img.Platform, Env: cfg.Env, User: cfg.User, WorkingDir: cfg.WorkingDir,
			Entrypoint: cfg.Entrypoint, Cmd: cfg.Cmd, Shell: cfg.Shell, Labels: cfg.Labels, StopSignal: cfg.StopSignal,
			ExposedPorts: slices.Sorted(maps.Keys(cfg.ExposedPorts)), Volumes: slices.Sorted(maps.Keys(cfg.Volumes)),
		}}
		if cfg.Healthcheck != nil {
			s.config.Healthcheck = fmt.Sprintf("%+v", *cfg.Healthcheck)
		}
		if times && img.Config.Created != nil {
			s.config.Created = img.Config.Created.UTC().Format(time.RFC3339)
		}
		dir, err := os.MkdirTemp(t.TempDir(), "rootfs")
		if err != nil {
			t.Fatal(err)
		}
		if err := layout.Unpack(ctx, img, dir); err != nil {
			t.Fatal(err)
		}
		if s.files, err = walkFiles(dir, times); err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		// Keyed by the index's platform, which says which platform the
		// image is for; the config's own platform is compared as config.
		key := img.Platform
		if p := img.ManifestDescriptor.Platform; p != nil {
			key = platforms.FormatAll(*p)
		}
		if _, dup := out[key]; dup {
			t.Fatalf("two images for %s", key)
		}
		out[key] = s
	}
	return out
}

// walkFiles summarizes every file under dir, by its path in the image.
func walkFiles(dir string, times bool) (map[string]*fileSummary, error) {
	out := map[string]*fileSummary{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		f := &fileSummary{Mode: int64(filetest.PermBits(fi.Mode()))}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			f.UID, f.GID = int(st.Uid), int(st.Gid)
		}
		if times {
			f.MTime = fi.ModTime().Unix()
		}
		f.Type = fi.Mode().Type().String()
		switch {
		case fi.Mode().IsRegular():
			f.Size = fi.Size()
			rel, _ := filepath.Rel(dir, p)
			if f.SHA256, err = contentHash(p, "/"+filepath.ToSlash(rel)); err != nil {
				return err
			}
		case fi.Mode()&fs.ModeSymlink != 0:
			if f.Link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		rel, _ := filepath.Rel(dir, p)
		out["/"+filepath.ToSlash(rel)] = f
		return nil
	})
	return out, err
}

// runLogs are the logs that package managers write with the wall-clock
// time of the run, which SOURCE_DATE_EPOCH does not change: apt's history
// and terminal logs, dpkg's log and update-alternatives'. Two runs of the
// same install differ there, as two builds of one Dockerfile with no cache
// do, so their times are masked before the content is hashed; the rest of
// each line, and the file's size, are still compared.
var runLogs = []string{"/var/log/apt/history.log", "/var/log/apt/term.log", "/var/log/dpkg.log", "/var/log/alternatives.log"}

// logTime is a time as those logs write it: "2024-01-02  15:04:05",
// "2024-01-02 15:04:05".
var logTime = regexp.MustCompile(`\d{4}-\d{2}-\d{2} +\d{2}:\d{2}:\d{2}`)

// contentHash is the SHA-256 of the file at p, the image's path image, in
// hex, with the times of a run log masked (each digit a 0).
func contentHash(p, image string) (string, error) {
	h := sha256.New()
	if slices.Contains(runLogs, image) {
		dt, err := os.ReadFile(p)
		if err != nil {
			return "", err
		}
		h.Write(logTime.ReplaceAllFunc(dt, func(m []byte) []byte {
			return bytes.Map(func(r rune) rune {
				if r >= '0' && r <= '9' {
					return '0'
				}
				return r
			}, m)
		}))
		return hex.EncodeToString(h.Sum(nil)), nil
	}
	r, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer r.Close()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
