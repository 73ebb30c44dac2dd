//go:build integration

package integration

import (
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// The release tests run `make release` (hack/release.sh) as a maintainer
// does, into the engine's registry (REGISTRY=<local registry>), from a clean
// clone of HEAD: a release is built from a commit and refuses a dirty tree,
// and the developer's tree may be dirty. They read the result back through
// `docker buildx imagetools inspect` and the registry's API, execute only the
// amd64 binary, and prove every other platform by its ELF header.

const releaseVersion = "v0.1.0"

// publicImage is the image name users put on their syntax line; the engine
// mirrors ghcr.io to its registry (hack/lib.sh, buildkitd_toml).
const publicImage = "ghcr.io/ohlcv-rag/ohlcv-build"

// releasePlatforms is what each platform's /bin/frontend must be: the ELF
// header Go's linker writes for it (linux/arm/v7: EABI version 5 and no
// float-ABI flag, 0x5000002, as TestCrossCompiledPlatforms found) and its
// Go build settings.
var releasePlatforms = map[string]elfWant{
	"linux/amd64":   {elf.EM_X86_64, elf.ELFCLASS64, elf.ELFDATA2LSB, 0, map[string]string{"GOARCH": "amd64", "GOAMD64": "v1"}, ""},
	"linux/arm64":   {elf.EM_AARCH64, elf.ELFCLASS64, elf.ELFDATA2LSB, 0, map[string]string{"GOARCH": "arm64"}, ""},
	"linux/arm/v7":  {elf.EM_ARM, elf.ELFCLASS32, elf.ELFDATA2LSB, armEABIVersion5 | armHasEntry, map[string]string{"GOARCH": "arm", "GOARM": "7"}, "v7"},
	"linux/386":     {elf.EM_386, elf.ELFCLASS32, elf.ELFDATA2LSB, 0, map[string]string{"GOARCH": "386", "GO386": "sse2"}, ""},
	"linux/ppc64le": {elf.EM_PPC64, elf.ELFCLASS64, elf.ELFDATA2LSB, 2, map[string]string{"GOARCH": "ppc64le"}, ""},
	"linux/s390x":   {elf.EM_S390, elf.ELFCLASS64, elf.ELFDATA2MSB, 1, map[string]string{"GOARCH": "s390x"}, ""},
	"linux/riscv64": {elf.EM_RISCV, elf.ELFCLASS64, elf.ELFDATA2LSB, 4, map[string]string{"GOARCH": "riscv64"}, ""},
}

// testedPlatforms are the image platforms TestRelease releases: 64-bit
// x86 and ARM, and one 32-bit platform. Each image platform is a Go build
// of the whole frontend from nothing, over a minute on the CI machine, so
// the other four of the seven that `make release` builds by default
// (TestReleaseDefaultPlatforms) are left to TestCrossCompiledPlatforms,
// which checks the ELF headers of a small program for all seven.
var testedPlatforms = []string{"linux/amd64", "linux/arm64", "linux/arm/v7"}

// testedPlatformsArg is PLATFORMS for testedPlatforms.
func testedPlatformsArg() string { return "PLATFORMS=" + strings.Join(testedPlatforms, ",") }

// `make release` builds the seven platforms of releasePlatforms by default.
func TestReleaseDefaultPlatforms(t *testing.T) {
	dt, err := os.ReadFile(filepath.Join(repoRoot(), "hack", "release.sh"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^DEFAULT_PLATFORMS="([^"]*)"$`).FindSubmatch(dt)
	if m == nil {
		t.Fatal("hack/release.sh sets no DEFAULT_PLATFORMS")
	}
	got := strings.Split(string(m[1]), ",")
	slices.Sort(got)
	if want := slices.Sorted(maps.Keys(releasePlatforms)); !slices.Equal(got, want) {
		t.Errorf("make release builds %v by default, want %v", got, want)
	}
}

// checkout is a clean clone of the repository at HEAD.
type checkout struct {
	dir   string
	head  string    // the commit
	epoch time.Time // its commit time: SOURCE_DATE_EPOCH
}

// cleanCheckout clones HEAD into a temporary directory (sharing the object
// store), with .bin/ linked to the repository's tools.
func cleanCheckout(t *testing.T) checkout {
	t.Helper()
	root := repoRoot()
	head := gitOutput(t, root, "rev-parse", "HEAD")
	dir := t.TempDir()
	gitOutput(t, root, "clone", "--quiet", "--shared", "--no-checkout", root, dir)
	gitOutput(t, dir, "checkout", "--quiet", "--detach", head)
	if bin, err := filepath.Abs(filepath.Join(root, ".bin")); err == nil {
		if err := os.Symlink(bin, filepath.Join(dir, ".bin")); err != nil {
			t.Fatal(err)
		}
	}
	sec, err := strconv.ParseInt(gitOutput(t, dir, "log", "-1", "--format=%ct", head), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return checkout{dir: dir, head: head, epoch: time.Unix(sec, 0).UTC()}
}

func gitOutput(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// releaseVars are the variables of hack/release.sh; the test's own
// environment must not leak them into a run.
var releaseVars = []string{"VERSION", "REGISTRY", "FORCE", "IMAGE", "PLATFORMS", "ARCHIVE_PLATFORMS", "DIST", "SBOM_GENERATOR", "PROVENANCE", "LICENSES"}

// makeRelease runs `make release VARS...` in dir with the engine's buildx
// builder (unless env names another) and returns its output.
func makeRelease(t *testing.T, dir string, env []string, vars ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("make", append([]string{"--no-print-directory", "-C", dir, "release"}, vars...)...)
	cmd.Env = append(withoutVars(os.Environ(), releaseVars...), "BUILDX_BUILDER="+engineEnv(t, "BUILDX_BUILDER"), "PROGRESS=plain")
	cmd.Env = append(cmd.Env, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	t.Logf("make release %s: %v in %s", strings.Join(vars, " "), errOrOK(err), time.Since(start).Round(time.Second))
	return out.String(), err
}

func errOrOK(err error) string {
	if err != nil {
		return err.Error()
	}
	return "ok"
}

func withoutVars(env []string, names ...string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return slices.Contains(names, k)
	})
}

// released is the "released IMAGE@DIGEST" line of make release.
var releasedLine = regexp.MustCompile(`(?m)^released (\S+)@(sha256:[0-9a-f]{64}) in `)

// archivesLine is the line of make release that says where the archives are.
var archivesLine = regexp.MustCompile(`(?m)^  archives (\S+)$`)

// noArchives leaves the frontend command's archives out of a release whose
// test is about something else: each would link every platform's binary.
const noArchives = "ARCHIVE_PLATFORMS=none"

// mustRelease runs make release, which must succeed, and returns the
// pushed index's digest and the output.
func mustRelease(t *testing.T, dir string, env []string, vars ...string) (string, string) {
	t.Helper()
	out, err := makeRelease(t, dir, env, vars...)
	if err != nil {
		t.Fatalf("make release %s: %v\n%s", strings.Join(vars, " "), err, tail(out, 80))
	}
	m := releasedLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("make release printed no released line:\n%s", tail(out, 40))
	}
	return m[2], out
}

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	return strings.Join(l[max(0, len(l)-lines):], "\n")
}

// notBuilt fails when output shows that make release got as far as building.
func notBuilt(t *testing.T, out string) {
	t.Helper()
	for _, s := range []string{"building the SBOM scanner", "releasing ", "[internal] load build definition"} {
		if strings.Contains(out, s) {
			t.Errorf("bad input got as far as building (%q):\n%s", s, out)
		}
	}
}

// TestReleaseBadInput: make release without VERSION, with a version that is
// not semver, without REGISTRY, or from a dirty tree fails before building,
// saying which.
func TestReleaseBadInput(t *testing.T) {
	co := cleanCheckout(t)
	reg := "REGISTRY=" + engineEnv(t, "REGISTRY")
	for _, tc := range []struct {
		name string
		vars []string
		want string
	}{
		{"no version", []string{reg}, "VERSION is not set"},
		{"no v", []string{"VERSION=0.1.0", reg}, "VERSION=0.1.0 is not a semantic version"},
		{"two parts", []string{"VERSION=v0.1", reg}, "VERSION=v0.1 is not a semantic version"},
		{"leading zero", []string{"VERSION=v0.01.0", reg}, "VERSION=v0.01.0 is not a semantic version"},
		{"build metadata", []string{"VERSION=v0.1.0+build.7", reg}, "VERSION=v0.1.0+build.7 is not a semantic version"},
		{"no registry", []string{"VERSION=" + releaseVersion}, "REGISTRY is not set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := makeRelease(t, co.dir, nil, tc.vars...)
			if err == nil || !strings.Contains(out, tc.want) {
				t.Errorf("want a failure saying %q, got %v:\n%s", tc.want, err, out)
			}
			notBuilt(t, out)
		})
	}
	t.Run("dirty tree", func(t *testing.T) {
		dirty := cleanCheckout(t)
		if err := os.WriteFile(filepath.Join(dirty.dir, "stray.txt"), []byte("not committed\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dirty.dir, "Dockerfile.frontend"), []byte("FROM scratch\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := makeRelease(t, dirty.dir, nil, "VERSION="+releaseVersion, reg, "FORCE=1")
		for _, want := range []string{"the work tree is dirty", "stray.txt", "Dockerfile.frontend"} {
			if err == nil || !strings.Contains(out, want) {
				t.Errorf("want a failure saying %q, got %v:\n%s", want, err, out)
			}
		}
		notBuilt(t, out)
	})
}

// TestRelease: make release VERSION=v0.1.0 REGISTRY=<the engine's> pushes one
// index of its platforms (testedPlatforms here), tagged 0.1.0, 0.1, 0 and latest, each
// platform with provenance (mode=max) naming the commit and an SBOM listing
// its binary's Go modules, and labels; each platform's binary is what it
// claims by its ELF header and Go build info; the amd64 one prints the
// version, commit and Go version; the frontend command's archives are
// there for Linux, macOS and Windows (checkArchives); a fresh
// daemon given `# syntax=` with the
// public channel name pulls the amd64 variant from the index and builds
// with it; the same version again needs FORCE=1; a pre-release moves no
// channel, and a release of an older line moves only its own.
func TestRelease(t *testing.T) {
	co := cleanCheckout(t)
	reg := engineEnv(t, "REGISTRY")
	image := reg + "/ohlcv-rag/ohlcv-build"
	// FORCE=1: an earlier run of this test may have released v0.1.0 here.
	digest, out := mustRelease(t, co.dir, nil, "VERSION="+releaseVersion, "REGISTRY="+reg, "FORCE=1", archivePlatformsArg(), testedPlatformsArg())
	t.Logf("released %s@%s from %s", image, digest, co.head)
	if m := archivesLine.FindStringSubmatch(out); m == nil || m[1] != filepath.Join(co.dir, "dist", strings.TrimPrefix(releaseVersion, "v")) {
		t.Errorf("make release did not say the archives are in dist/%s: %q\n%s", strings.TrimPrefix(releaseVersion, "v"), m, tail(out, 30))
	} else {
		checkArchives(t, m[1], co)
	}

	idx := inspectIndex(t, image+"@"+digest, testedPlatforms)
	wantTags := []string{"0.1.0", "0.1", "0", "latest"}
	for _, tag := range wantTags {
		if !strings.Contains(out, "tag      "+image+":"+tag+"\n") {
			t.Errorf("make release did not list tag %s:\n%s", tag, tail(out, 40))
		}
		if got := manifestDigest(t, image+":"+tag); got != digest {
			t.Errorf("%s:%s is %s, want the release %s", image, tag, got, digest)
		}
	}

	configs := map[string]ocispecs.Image{}
	imagetoolsJSON(t, image+"@"+digest, "{{json .Image}}", &configs)
	var provenance map[string]struct{ SLSA map[string]any }
	imagetoolsJSON(t, image+"@"+digest, "{{json .Provenance}}", &provenance)
	var sboms map[string]struct{ SPDX spdxDoc }
	imagetoolsJSON(t, image+"@"+digest, "{{json .SBOM}}", &sboms)
	for _, m := range []map[string]int{lenByKey(configs), lenByKey(provenance), lenByKey(sboms)} {
		if got := slices.Sorted(maps.Keys(m)); !slices.Equal(got, slices.Sorted(slices.Values(testedPlatforms))) {
			t.Errorf("imagetools shows platforms %v, want %v", got, slices.Sorted(slices.Values(testedPlatforms)))
		}
	}

	layers := map[string]string{} // platform -> its one layer's digest
	var amd64 []byte
	for platform, desc := range idx.images {
		t.Run(platform, func(t *testing.T) {
			want := releasePlatforms[platform]
			checkConfig(t, configs[platform], platform, co)
			checkProvenance(t, provenance[platform].SLSA, co.head)
			layer, bin := imageBinary(t, reg, "ohlcv-rag/ohlcv-build", desc, co.epoch)
			layers[platform] = layer
			info := checkBinary(t, bin, want, co.head)
			checkSBOM(t, sboms[platform].SPDX, info)
			if platform == "linux/amd64" {
				amd64 = bin
			}
		})
	}

	t.Run("amd64 -version", func(t *testing.T) {
		if amd64 == nil {
			t.Fatal("no linux/amd64 binary")
		}
		path := filepath.Join(t.TempDir(), "frontend")
		if err := os.WriteFile(path, amd64, 0o755); err != nil {
			t.Fatal(err)
		}
		got, err := exec.Command(path, "-version").CombinedOutput()
		info, _ := buildinfo.Read(bytes.NewReader(amd64))
		want := fmt.Sprintf("ohlcv-build frontend %s (commit %s, %s)\n", releaseVersion, co.head, info.GoVersion)
		if err != nil || string(got) != want {
			t.Errorf("frontend -version: %v %q, want %q", err, got, want)
		}
	})

	t.Run("syntax on a fresh daemon", func(t *testing.T) {
		syntaxFromIndex(t, publicImage+":0.1", digest, layers)
	})

	t.Run("same version needs FORCE", func(t *testing.T) {
		out, err := makeRelease(t, co.dir, nil, "VERSION="+releaseVersion, "REGISTRY="+reg, testedPlatformsArg())
		if err == nil || !strings.Contains(out, image+":0.1.0 exists already") || !strings.Contains(out, "FORCE=1") {
			t.Errorf("want a failure saying the tag exists and FORCE=1 pushes it again, got %v:\n%s", err, out)
		}
		notBuilt(t, out)
	})

	t.Run("pre-release gets only its own tag", func(t *testing.T) {
		rc := releaseVersion + "-rc.1"
		rcDigest, out := mustRelease(t, co.dir, nil, "VERSION="+rc, "REGISTRY="+reg, "FORCE=1", noArchives, testedPlatformsArg())
		if n := strings.Count(out, "  tag      "); n != 1 || !strings.Contains(out, "tag      "+image+":0.1.0-rc.1\n") {
			t.Errorf("make release listed %d tags, want only %s:0.1.0-rc.1:\n%s", n, image, tail(out, 30))
		}
		if got := manifestDigest(t, image+":0.1.0-rc.1"); got != rcDigest {
			t.Errorf("%s:0.1.0-rc.1 is %s, want %s", image, got, rcDigest)
		}
		for _, tag := range wantTags {
			if got := manifestDigest(t, image+":"+tag); got != digest {
				t.Errorf("the pre-release moved %s:%s to %s; want it left at %s", image, tag, got, digest)
			}
		}
		rcConfigs := map[string]ocispecs.Image{}
		imagetoolsJSON(t, image+"@"+rcDigest, "{{json .Image}}", &rcConfigs)
		if v := rcConfigs["linux/amd64"].Config.Labels["org.opencontainers.image.version"]; v != rc || len(rcConfigs) != len(testedPlatforms) {
			t.Errorf("pre-release: version label %q on %d platforms, want %q on %d", v, len(rcConfigs), rc, len(testedPlatforms))
		}
	})

	t.Run("channels only move forward", func(t *testing.T) {
		// A repository of its own: v0.2.0, then a fix of the older line.
		scratch := reg + "/channels-" + randomToken(t)[:8] + "/ohlcv-build"
		newer, _ := mustRelease(t, co.dir, nil, "VERSION=v0.2.0", "REGISTRY="+reg, "IMAGE="+scratch, noArchives, testedPlatformsArg())
		older, out := mustRelease(t, co.dir, nil, "VERSION="+releaseVersion, "REGISTRY="+reg, "IMAGE="+scratch, noArchives, testedPlatformsArg())
		for tag, want := range map[string]string{"0.2.0": newer, "0.2": newer, "0": newer, "latest": newer, "0.1.0": older, "0.1": older} {
			if got := manifestDigest(t, scratch+":"+tag); got != want {
				t.Errorf("%s:%s is %s, want %s", scratch, tag, got, want)
			}
		}
		for _, channel := range []string{"0", "latest"} {
			if !strings.Contains(out, scratch+":"+channel+" stays at the newer 0.2.0") {
				t.Errorf("make release did not say that %s stays at 0.2.0:\n%s", channel, tail(out, 40))
			}
		}
	})
}
