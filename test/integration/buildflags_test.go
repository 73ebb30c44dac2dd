//go:build integration

package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// docker buildx build's flags for run containers reach the runs of a spec,
// through the frontend image, as they reach a Dockerfile's RUNs: --add-host
// puts the host in /etc/hosts, --shm-size sizes /dev/shm, --ulimit sets
// `ulimit -n`, --cgroup-parent puts the run's process under that cgroup,
// and --network none leaves a run only the loopback
// interface. (llbgraph's TestRunFlagsOnEveryRun shows the presets get the
// same options in their ExecOps.) An option the frontend does not
// honour is named in a build warning.
func TestBuildFlagsReachRuns(t *testing.T) {
	token := randomToken(t) // a new step, not one from the cache
	dir := writeContext(t, `version: 1
stages:
  app:
    from: busybox:1.36
    steps:
      - run: |
          set -e
          echo `+token+`
          cat /proc/self/cgroup > /cgroup
          grep myhost /etc/hosts > /hosts
          df -k /dev/shm | tail -n 1 > /shm
          ulimit -n > /nofile
          ls /sys/class/net > /nets
`, nil)
	out := t.TempDir()
	// runc leaves the parent cgroup behind, empty; one name for every run.
	const cgroupParent = "ohlcv-build-test"
	t.Cleanup(func() {
		dirs, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", cgroupParent))
		for _, d := range append(dirs, filepath.Join("/sys/fs/cgroup", cgroupParent)) {
			os.Remove(filepath.Join(d, "buildkit"))
			os.Remove(d)
		}
	})
	log := buildx(t, dir, "build", "--progress=plain", "-f", filepath.Join(dir, "ohlcv.build.yaml"),
		"--add-host", "myhost=10.1.2.3", "--shm-size", "96m", "--ulimit", "nofile=1024:2048", "--network", "none",
		"--cgroup-parent", cgroupParent,
		"--build-arg", "BUILDKIT_SBOM_SCAN_STAGE=true",
		"--output", "type=local,dest="+out, dir)
	read := func(name string) string { return strings.TrimSpace(readFile(t, filepath.Join(out, name))) }
	if got := strings.Fields(read("hosts")); len(got) != 2 || got[0] != "10.1.2.3" || got[1] != "myhost" {
		t.Errorf("/etc/hosts has %q for myhost, want 10.1.2.3 myhost", got)
	}
	// df -k: filesystem, 1K-blocks, used, available, use%, mount point
	if got := strings.Fields(read("shm")); len(got) < 2 || got[1] != "98304" {
		t.Errorf("/dev/shm is %q, want 98304 1K-blocks (96 MiB)", got)
	}
	if got := read("nofile"); got != "1024" {
		t.Errorf("ulimit -n is %q, want 1024", got)
	}
	if got := read("cgroup"); !strings.Contains(got, ":/"+cgroupParent+"/") {
		t.Errorf("/proc/self/cgroup is %q, want the run under %s", got, cgroupParent)
	}
	if got := read("nets"); got != "lo" {
		t.Errorf("the run's network interfaces are %q, want lo alone (--network none)", got)
	}
	for _, want := range []string{"1 warning found", "build arg BUILDKIT_SBOM_SCAN_STAGE is ignored: the SBOM covers the final image only"} {
		if !strings.Contains(log, want) {
			t.Errorf("the build output lacks %q:\n%s", want, tail(log, 40))
		}
	}
}

// Without its `# syntax=` line a spec reaches the Dockerfile frontend,
// which fails on its first line as docs/spec.md says; the fix it gives,
// naming the frontend with the BUILDKIT_SYNTAX build arg, builds it.
func TestMissingSyntaxLine(t *testing.T) {
	dir := t.TempDir()
	spec := "version: 1\nstages:\n  app:\n    from: busybox:latest\n    steps:\n      - run: echo " + randomToken(t) + " > /token\n"
	if err := os.WriteFile(filepath.Join(dir, "ohlcv.build.yaml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"build", "--progress=plain", "-f", filepath.Join(dir, "ohlcv.build.yaml"), "--output", "type=cacheonly"}
	out, err := runBuildx(t, dir, append(args, dir)...)
	if want := "dockerfile parse error on line 1: unknown instruction: version:"; err == nil || !strings.Contains(out, want) {
		t.Errorf("without a syntax line: %v, want %q:\n%s", err, want, tail(out, 20))
	}
	buildx(t, dir, append(args, "--build-arg", "BUILDKIT_SYNTAX="+engineEnv(t, "FRONTEND_IMAGE"), dir)...)
}
