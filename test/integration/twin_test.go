//go:build integration

package integration

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// buildxCommand is docker buildx when the docker CLI is installed, else the
// same buildx as a standalone binary from .bin/.
func buildxCommand(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	if _, err := exec.LookPath("docker"); err == nil {
		return exec.Command("docker", append([]string{"buildx"}, args...)...)
	}
	return exec.Command(filepath.Join(repoRoot(), ".bin", "buildx"), args...)
}

// runImage runs hack/runimage on an exported image and returns its output.
func runImage(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"run", "./hack/runimage"}, args...)...)
	cmd.Dir = repoRoot()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("runimage %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// TestOfflineTwinBake builds every target of the offline twin with one
// `docker buildx bake all` through the frontend's # syntax= line: the test
// target runs the test suite with the api_key secret, and the runtime and
// production images run as the non-root user, print the feature table, and
// pass their health checks.
func TestOfflineTwinBake(t *testing.T) {
	out := t.TempDir()
	secret := "twin-" + randomToken(t)
	cmd := buildxCommand(t, "bake", "--progress=plain", "-f", "docker-bake.hcl", "--allow=fs.write="+out,
		"--set", "runtime.output=type=oci,dest="+filepath.Join(out, "runtime.tar"),
		"--set", "production.output=type=oci,dest="+filepath.Join(out, "production.tar"),
		"--set", "development.output=type=cacheonly",
		"all")
	cmd.Dir = repoRoot()
	// A fresh CACHE_DATE busts the step that reads it, so the tests re-run.
	cmd.Env = append(os.Environ(), "BUILDX_BUILDER="+engineEnv(t, "BUILDX_BUILDER"),
		"SPEC=offline.build.yaml", "CACHE_DATE="+randomToken(t), "OHLCV_API_KEY="+secret)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Run(); err != nil {
		t.Fatalf("bake: %v\n%s", err, log.String())
	}
	progress := log.String()
	if !strings.Contains(progress, "27 passed") {
		t.Errorf("the test target did not pass the test suite:\n%s", progress)
	}
	if strings.Contains(progress, secret) {
		t.Errorf("the secret is in the progress output")
	}
	// Each target's tests ran as steps of their own, and passed (a failing
	// test fails the bake).
	tested := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#\d+ \[[^\]]*?(\w+) test \d+/\d+\] test: `).FindAllStringSubmatch(progress, -1) {
		tested[m[1]] = true
	}
	for _, target := range []string{"runtime", "development", "production", "test"} {
		if !tested[target] {
			t.Errorf("no test step of %s in the progress (stages with tests: %v)", target, tested)
		}
	}
	// The step that reads CACHE_DATE belongs to runtime, which development
	// and test build on: one vertex for all three. bake may print it once
	// per target that waits on it (which depends on timing), but always
	// under the one vertex number.
	vertices := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^(#\d+) \[[^\]]*runtime \d+/\d+\] run: echo "cache date \$\{CACHE_DATE\}" > /app/.build-info$`).FindAllStringSubmatch(progress, -1) {
		vertices[m[1]] = true
	}
	if len(vertices) != 1 {
		t.Errorf("the shared runtime step is %d vertices (%v), want one; the progress lines naming it:\n%s", len(vertices), vertices, strings.Join(regexp.MustCompile(`(?m)^#\d+ \[.*cache date.*$`).FindAllString(progress, -1), "\n"))
	}

	for _, target := range []string{"runtime", "production"} {
		tarball := filepath.Join(out, target+".tar")
		if dt, err := os.ReadFile(tarball); err != nil || bytes.Contains(dt, []byte(secret)) {
			t.Fatalf("%s: %v, or the secret is in the image", target, err)
		}
		if got := runImage(t, "-entrypoint", "id", tarball); !strings.HasPrefix(got, "uid=1000(ohlcv) gid=1000(ohlcv)") {
			t.Errorf("%s runs as %q, want the ohlcv user", target, got)
		}
		table := runImage(t, tarball)
		if !strings.Contains(table, "SMA(5)") || !strings.Contains(table, "30 days 2024-01-02..2024-02-13") {
			t.Errorf("%s printed no feature table:\n%s", target, table)
		}
		runImage(t, "-healthcheck", tarball)
		if cfg := runImage(t, "-print", tarball); !strings.Contains(cfg, "healthcheck: [\"CMD\"") || !strings.Contains(cfg, "user: ohlcv") {
			t.Errorf("%s config:\n%s", target, cfg)
		}
	}
}

// The flagship, built by users with PyPI and Docker Hub, cannot build here,
// but buildx lists its nine stages through the frontend.
func TestFlagshipTargetsThroughBuildx(t *testing.T) {
	cmd := buildxCommand(t, "build", "--call=targets", "-f", "ohlcv.build.yaml", "examples/ohlcv-rag")
	cmd.Dir = repoRoot()
	cmd.Env = append(os.Environ(), "BUILDX_BUILDER="+engineEnv(t, "BUILDX_BUILDER"))
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	for _, want := range []string{
		"base", "Common system dependencies",
		"uv-installer", "dependencies", "builder", "runtime-base",
		"runtime (default)", "development", "installed in parallel",
		"production", "python:3.11-alpine", "test", "api_key",
	} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("--call=targets lacks %q:\n%s", want, log.String())
		}
	}
}

// Every one of the twin's nine stages builds on its own, through the
// spec's # syntax= line (after the bake above, mostly from the cache).
func TestOfflineTwinEveryTarget(t *testing.T) {
	for _, target := range []string{"base", "uv-installer", "dependencies", "builder", "runtime-base", "runtime", "development", "production", "test"} {
		t.Run(target, func(t *testing.T) {
			cmd := buildxCommand(t, "build", "--progress=plain", "-f", "offline.build.yaml", "--target", target,
				"--secret", "id=api_key,env=OHLCV_API_KEY", "--output", "type=cacheonly", ".")
			cmd.Dir = filepath.Join(repoRoot(), "examples", "ohlcv-rag")
			cmd.Env = append(os.Environ(), "BUILDX_BUILDER="+engineEnv(t, "BUILDX_BUILDER"), "OHLCV_API_KEY=k-"+randomToken(t))
			var log bytes.Buffer
			cmd.Stdout, cmd.Stderr = &log, &log
			if err := cmd.Run(); err != nil {
				t.Fatalf("%v\n%s", err, log.String())
			}
		})
	}
}

// buildctl, the way the README shows it: the frontend image through
// gateway.v0, and the # syntax= line through dockerfile.v0.
func TestBuildctl(t *testing.T) {
	dir := writeContext(t, `version: 1
stages:
  s:
    from: busybox:latest
    steps:
      - run: echo "$GREETING" > /greeting
args:
  GREETING: hi
`, nil)
	for _, frontendArgs := range [][]string{
		{"--frontend", "gateway.v0", "--opt", "source=" + engineEnv(t, "FRONTEND_IMAGE")},
		{"--frontend", "dockerfile.v0"},
	} {
		t.Run(frontendArgs[1], func(t *testing.T) {
			tarball := filepath.Join(t.TempDir(), "image.tar")
			args := append([]string{"--addr", engineEnv(t, "BUILDKIT_HOST"), "build"}, frontendArgs...)
			args = append(args, "--local", "context="+dir, "--local", "dockerfile="+dir,
				"--opt", "filename=ohlcv.build.yaml", "--opt", "build-arg:GREETING=hello buildctl",
				"--output", "type=oci,dest="+tarball)
			cmd := exec.Command(filepath.Join(repoRoot(), ".bin", "buildctl"), args...)
			var log bytes.Buffer
			cmd.Stdout, cmd.Stderr = &log, &log
			if err := cmd.Run(); err != nil {
				t.Fatalf("buildctl: %v\n%s", err, log.String())
			}
			dt, err := os.ReadFile(tarball)
			if err != nil {
				t.Fatal(err)
			}
			if got := singleImage(t, &outcome{oci: dt}).read(t, "/greeting"); got != "hello buildctl\n" {
				t.Errorf("/greeting = %q", got)
			}
		})
	}
}
