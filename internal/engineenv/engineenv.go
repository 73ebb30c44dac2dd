// Package engineenv reads the env file of the hack/ engine (make engine),
// which hack/engine-up.sh writes: the engine's buildkitd address, its
// registry, the frontend image and the tools' directory. The engine tests
// (test/integration, test/reliability) find the engine through it.
package engineenv

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Path is the env file of the engine of the checkout at repoRoot: the
// OHLCV_ENGINE_ENV variable when set, else env in the engine's state
// directory, which is OHLCV_ENGINE_DIR (relative to the checkout) when set,
// as in hack/lib.sh, else .engine.
func Path(repoRoot string) string {
	if p := os.Getenv("OHLCV_ENGINE_ENV"); p != "" {
		return p
	}
	dir := filepath.Join(repoRoot, ".engine")
	if d := os.Getenv("OHLCV_ENGINE_DIR"); d != "" {
		dir = d
		if !filepath.IsAbs(d) {
			dir = filepath.Join(repoRoot, d)
		}
	}
	return filepath.Join(dir, "env")
}

// Read parses the env file of the engine of the checkout at repoRoot (see
// ReadFile).
func Read(repoRoot string, required ...string) (map[string]string, error) {
	return ReadFile(Path(repoRoot), required...)
}

// ReadFile parses an engine's env file at path (KEY=value lines, an
// optional `export `, quotes trimmed, # comments skipped), and fails when it
// sets none of a required key.
func ReadFile(path string, required ...string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("no hack/ engine: %w; start it with `make engine` (hack/engine-up.sh)", err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "="); ok && !strings.HasPrefix(k, "#") {
			out[strings.TrimPrefix(k, "export ")] = strings.Trim(v, `"'`)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, k := range required {
		if out[k] == "" {
			return nil, fmt.Errorf("%s sets no %s", path, k)
		}
	}
	return out, nil
}
