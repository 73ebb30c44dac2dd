//go:build integration

package integration

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// imageErrorCases are specs whose from fails before any step runs: an
// image that does not exist, and a stage's name mistyped. Each error names
// the spec's file, line, column and YAML path, and shows the YAML line.
var imageErrorCases = []struct {
	name, spec, want, snippet string
}{
	{"missing image", `version: 1
stages:
  builder:
    from: busybox:latest
  app:
    from: nosuchimage:1.0
`, `ohlcv.build.yaml:7:11: stages.app.from: cannot load image "nosuchimage:1.0": `, "from: nosuchimage:1.0"},
	{"stage typo", `version: 1
stages:
  builder:
    from: busybox:latest
  app:
    from: buildr
`, `ohlcv.build.yaml:7:11: stages.app.from: "buildr" names no stage (did you mean "builder"?)`, "from: buildr"},
}

// snippetRe matches the line of a source snippet that buildx and buildctl
// print under an error, marked >>>.
func snippetRe(line int, text string) *regexp.Regexp {
	return regexp.MustCompile(`(?m)^\s*` + itoa(line) + ` \| >>>\s+` + regexp.QuoteMeta(text) + `$`)
}

// Through the client in every mode, the error keeps the spec's wrapping
// and carries the source.
func TestImageErrorsKeepTheSpecPosition(t *testing.T) {
	for _, c := range imageErrorCases {
		dir := writeContext(t, c.spec, nil)
		for _, m := range modes {
			t.Run(c.name+"/"+string(m), func(t *testing.T) {
				o := run(t, m, build{dir: dir})
				if o.err == nil || !strings.Contains(o.err.Error(), c.want) {
					t.Fatalf("got %v\nwant %s...", o.err, c.want)
				}
				assertSource(t, o.err, "ohlcv.build.yaml", 7, c.snippet)
				if c.name == "stage typo" && len(o.progress.named("buildr")) > 0 {
					t.Errorf("a typo was looked up as an image: %v", o.progress.named("buildr"))
				}
			})
		}
	}
}

// docker buildx build and buildctl (through gateway.v0 and through the
// syntax line) print the message and the YAML line under it.
func TestImageErrorsInBuildxAndBuildctl(t *testing.T) {
	for _, c := range imageErrorCases {
		dir := writeContext(t, c.spec, nil)
		for _, tool := range []struct {
			name string
			run  func() (string, error)
		}{
			{"buildx", func() (string, error) {
				return runBuildx(t, dir, "build", "--progress=plain", "-f", filepath.Join(dir, "ohlcv.build.yaml"), dir)
			}},
			{"buildctl-gateway", func() (string, error) {
				return runBuildctl(t, dir, "--frontend", "gateway.v0", "--opt", "source="+engineEnv(t, "FRONTEND_IMAGE"))
			}},
			{"buildctl-syntax", func() (string, error) {
				return runBuildctl(t, dir, "--frontend", "dockerfile.v0")
			}},
		} {
			t.Run(c.name+"/"+tool.name, func(t *testing.T) {
				out, err := tool.run()
				if err == nil {
					t.Fatalf("the build passed:\n%s", out)
				}
				if !strings.Contains(out, c.want) {
					t.Errorf("the output lacks %q:\n%s", c.want, out)
				}
				if !snippetRe(7, c.snippet).MatchString(out) {
					t.Errorf("the output shows no YAML line 7 with %q:\n%s", c.snippet, out)
				}
				if c.name == "stage typo" && strings.Contains(out, "docker.io/library/buildr") {
					t.Errorf("a typo was looked up as an image:\n%s", out)
				}
			})
		}
	}
}

// runBuildctl builds the spec in dir with buildctl and the frontend
// arguments given, and returns what buildctl printed.
func runBuildctl(t *testing.T, dir string, frontendArgs ...string) (string, error) {
	t.Helper()
	args := append([]string{"--addr", engineEnv(t, "BUILDKIT_HOST"), "build", "--progress=plain"}, frontendArgs...)
	args = append(args, "--local", "context="+dir, "--local", "dockerfile="+dir, "--opt", "filename=ohlcv.build.yaml")
	cmd := exec.Command(filepath.Join(repoRoot(), ".bin", "buildctl"), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// TestChownEmptyGroupParity ports BuildKit's COPY --chown=user: (the
// user's primary group) and its numeric form with --link: the Dockerfile
// and the spec give the files the same owners.
func TestChownEmptyGroupParity(t *testing.T) {
	const users = `echo 'testuser:x:1234:2345::/home/testuser:/bin/sh' >> /etc/passwd && echo 'testgroup:x:2345:' >> /etc/group`
	files := map[string]string{"f": "data"}
	want := map[string][2]int{"/f": {1234, 2345}, "/g": {1000, 1000}}
	for _, m := range []mode{dockerfile, inProcess} {
		t.Run(string(m), func(t *testing.T) {
			var dir string
			if m == dockerfile {
				df := map[string]string{"f": "data", "Dockerfile": "FROM busybox:latest\nRUN mkdir -p /etc && " + users + "\nCOPY --chown=testuser: f /f\nCOPY --chown=1000: --link f /g\n"}
				dir = writeContext(t, "", df)
			} else {
				dir = writeContext(t, `version: 1
stages:
  s:
    from: busybox:latest
    steps:
      - run: mkdir -p /etc && `+users+`
      - copy: {src: f, dst: /f, chown: "testuser:"}
      - copy: {src: f, dst: /g, chown: "1000:", link: true}
`, files)
			}
			img := singleImage(t, run(t, m, build{dir: dir}).must(t))
			for path, ids := range want {
				f, ok := img.files[path]
				if !ok {
					t.Fatalf("no %s in the image", path)
				}
				if f.uid != ids[0] || f.gid != ids[1] {
					t.Errorf("%s is %d:%d, want %d:%d", path, f.uid, f.gid, ids[0], ids[1])
				}
			}
		})
	}
}
