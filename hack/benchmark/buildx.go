package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph"
)

// buildTimeout bounds every buildx command: a cold build of all the twin's
// targets takes about a minute on the machines this runs on.
const buildTimeout = 30 * time.Minute

// buildx runs the buildx CLI against the engine's builder and returns its
// wall time and its rawjson progress.
func (b *bench) buildx(dir string, extraEnv []string, args ...string) (time.Duration, *progress, error) {
	full := append([]string{args[0], "--progress=rawjson"}, args[1:]...)
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(b.env["OHLCV_BIN"], "buildx"), full...)
	if _, err := exec.LookPath("docker"); err == nil {
		cmd = exec.CommandContext(ctx, "docker", append([]string{"buildx"}, full...)...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "BUILDX_BUILDER="+b.env["BUILDX_BUILDER"]), extraEnv...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = io.Discard
	cpu, start := busyCPU(), time.Now()
	err := cmd.Run()
	d := time.Since(start)
	p := parseProgress(stderr.Bytes())
	p.cpu = busyCPU() - cpu
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %s: %w", buildTimeout, err)
	}
	if err != nil {
		tail := stderr.String()
		if len(tail) > 3000 {
			tail = tail[len(tail)-3000:]
		}
		return d, p, fmt.Errorf("buildx %s: %v\n%s", strings.Join(args, " "), err, tail)
	}
	return d, p, nil
}

// prune empties the engine's build cache (figure a measures cold builds).
func (b *bench) prune() error { return b.pruneWhere() }

// pruneWhere removes the build cache records that match filters
// (buildctl's, such as description~=REGEXP), or all of them.
func (b *bench) pruneWhere(filters ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	args := []string{"--addr", b.env["BUILDKIT_HOST"], "prune", "--all"}
	for _, f := range filters {
		args = append(args, "--filter", f)
	}
	cmd := exec.CommandContext(ctx, filepath.Join(b.env["OHLCV_BIN"], "buildctl"), args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("prune: %v: %s", err, out)
	}
	return nil
}

// context copies the offline twin's build context to a temporary directory,
// so that the benchmarks can change it.
func (b *bench) context() (string, error) {
	dir, err := os.MkdirTemp("", "ohlcv-bench-")
	if err != nil {
		return "", err
	}
	return dir, exec.Command("cp", "-a", "examples/ohlcv-rag/.", dir).Run()
}

// skipTests is the build arg that leaves out the twin's tests: the
// Dockerfile it is compared with has none, so the builds do the same work.
const skipTests = llbgraph.SkipTestsArg + "=1"

// specBuild and dockerfileBuild are the same build through each frontend,
// both selected by the files' `# syntax=` lines.
func specBuild(target string) []string {
	return []string{"build", "-f", "offline.build.yaml", "--target", target, "--build-arg", skipTests, "--output", "type=cacheonly", "."}
}

func dockerfileBuild(target string) []string {
	return []string{"build", "-f", "Dockerfile", "--target", target, "--output", "type=cacheonly", "."}
}

// run is a measurement's builds: their wall time and progress.
type run func() (time.Duration, []*progress, error)

// builds returns a run of buildx commands, one after another, in dir.
func (b *bench) builds(dir string, env []string, commands ...[]string) run {
	return func() (time.Duration, []*progress, error) {
		var total time.Duration
		var ps []*progress
		for _, args := range commands {
			d, p, err := b.buildx(dir, env, args...)
			if err != nil {
				return 0, nil, err
			}
			total += d
			ps = append(ps, p)
		}
		return total, ps, nil
	}
}

// then is r after before, which is not timed.
func then(before func() error, r run) run {
	return func() (time.Duration, []*progress, error) {
		if err := before(); err != nil {
			return 0, nil, err
		}
		return r()
	}
}
