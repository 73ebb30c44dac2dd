//go:build reliability

// Package reliability proves the frontend under load, faults and scale on
// real daemons, and writes docs/reliability.md from the run (make
// reliability). It reads the hack/ engine (make engine) for the base
// images and the frontend image, and never touches that engine's daemon:
// every figure starts buildkitd daemons of its own, with their own roots,
// sockets and a registry of the suite's own, and stops them by pid at the
// end. With no engine, or a daemon that does not start, the figures fail
// and name themselves; they never skip. Every step has a timeout.
package reliability

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/distribution/reference"

	"github.com/ohlcv-rag/ohlcv-build/internal/engineenv"
	"github.com/ohlcv-rag/ohlcv-build/internal/registry"
)

var (
	outFile   = flag.String("out", "", "the page to write (default docs/reliability.md of the repository)")
	keepState = flag.Bool("keep", false, "keep the daemons' state directories for inspection")
)

func repoRoot() string {
	wd, _ := os.Getwd()
	return filepath.Join(wd, "..", "..")
}

// engineEnv reads the hack/ engine's env file (hack/engine-up.sh writes
// it): BUILDKIT_HOST, REGISTRY, FRONTEND_IMAGE, OHLCV_BIN.
func engineEnv() (map[string]string, error) {
	return engineenv.Read(repoRoot(), "REGISTRY", "FRONTEND_IMAGE", "OHLCV_BIN")
}

// suite is what every figure shares: the engine's registry (base images,
// read only), a registry of the suite's own with the frontend image copied
// into it, buildx with a config directory of its own, and a state
// directory for the daemons.
type suite struct {
	engine   map[string]string
	bin      string // the engine's tools: buildkitd, buildctl, registry, buildx
	state    string // short, for unix sockets
	reg      *ownRegistry
	frontend string // the frontend image in reg
	twinHost string // the registry the offline twin's `# syntax=` line names, mirrored to reg
	buildx   *buildx
	pool     *pool
	started  time.Time
}

var (
	theSuite  *suite
	suiteErr  error
	suiteOnce sync.Once
)

// setup returns the shared suite, starting it on first use; a failure fails
// the figure that asked, with the figure's name.
func setup(t *testing.T, fig *figure) *suite {
	t.Helper()
	suiteOnce.Do(func() { theSuite, suiteErr = newSuite() })
	if suiteErr != nil {
		fig.fatalf(t, "setting up the suite: %v", suiteErr)
	}
	return theSuite
}

func newSuite() (*suite, error) {
	env, err := engineEnv()
	if err != nil {
		return nil, err
	}
	s := &suite{engine: env, bin: env["OHLCV_BIN"], started: time.Now()}
	for _, b := range []string{"buildkitd", "buildctl", "registry", "buildx"} {
		if _, err := os.Stat(filepath.Join(s.bin, b)); err != nil {
			return nil, fmt.Errorf("%s: %w; run `make deps`", b, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := registry.New()
	if _, err := c.Resolve(ctx, env["REGISTRY"]+"/library/busybox:latest"); err != nil {
		return nil, fmt.Errorf("the hack/ engine's registry has no base images (make engine seeds them): %w", err)
	}
	// /tmp, not t.TempDir(): a unix socket path may not exceed 107 bytes.
	if s.state, err = os.MkdirTemp("", "ohlcv-rel-"); err != nil {
		return nil, err
	}
	s.pool = &pool{s: s, daemons: map[string]*daemon{}}
	if s.reg, err = startRegistry(ctx, s.bin, filepath.Join(s.state, "registry")); err != nil {
		return nil, err
	}
	// The frontend image of this checkout (make frontend-image), copied to
	// the suite's registry, which the faults figure stops.
	s.frontend = s.reg.host + "/ohlcv-build/frontend:rel"
	if err := c.Copy(ctx, env["FRONTEND_IMAGE"], s.frontend); err != nil {
		return nil, fmt.Errorf("copying the frontend image %s to the suite's registry: %w", env["FRONTEND_IMAGE"], err)
	}
	// The offline twin names the released image on its `# syntax=` line;
	// the suite's daemons mirror that registry to the suite's, where the
	// same image is copied under the twin's repository and tag.
	twin, err := twinSyntax()
	if err != nil {
		return nil, err
	}
	s.twinHost = reference.Domain(twin)
	mirrored := s.reg.host + "/" + reference.Path(twin) + ":" + twin.Tag()
	if err := c.Copy(ctx, s.frontend, mirrored); err != nil {
		return nil, fmt.Errorf("copying the frontend image to the suite's registry as %s: %w", mirrored, err)
	}
	s.buildx, err = newBuildx(s.bin, filepath.Join(s.state, "buildx"))
	return s, err
}

// close stops everything the suite started, by pid, and removes its state.
// After a failure it first copies the daemons' and the registry's logs to
// out/reliability-logs, for CI to keep.
func (s *suite) close(failed bool) {
	if s == nil {
		return
	}
	s.pool.closeAll()
	if s.reg != nil {
		s.reg.stop()
	}
	if failed {
		saveLogs(s.state, filepath.Join(repoRoot(), "out", "reliability-logs"))
	}
	if !*keepState {
		removeState(s.state)
	}
}

// saveLogs copies the *.log files under state to dst, flattened as
// DAEMON-NAME.log.
func saveLogs(state, dst string) {
	logs, _ := filepath.Glob(filepath.Join(state, "*", "*.log"))
	if len(logs) == 0 || os.MkdirAll(dst, 0o755) != nil {
		return
	}
	for _, l := range logs {
		dt, err := os.ReadFile(l)
		if err != nil {
			continue
		}
		name := filepath.Base(filepath.Dir(l)) + "-" + filepath.Base(l)
		_ = os.WriteFile(filepath.Join(dst, name), dt, 0o644)
	}
	fmt.Fprintf(os.Stderr, "reliability: the daemons' logs are in %s\n", dst)
}

// TestMain runs the figures and writes the page when every figure ran.
func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	theSuite.close(code != 0)
	if err := writeReport(); err != nil {
		fmt.Fprintln(os.Stderr, "reliability:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// TestReliability runs the figures in an order that lets later ones reuse
// what earlier ones built (the twin's cache on daemon r1).
func TestReliability(t *testing.T) {
	for _, f := range []struct {
		name string
		run  func(*testing.T)
	}{
		{"0_harness", testHarness},
		{"1_secrets", testSecrets},
		{"4_hostile", testHostile},
		{"3_faults", testFaults},
		{"5_reproducible", testReproducible},
		{"2_load", testLoad},
		{"6_scaleout", testScaleOut},
	} {
		t.Run(f.name, f.run)
	}
}
