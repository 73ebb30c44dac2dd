//go:build integration

package integration

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestGoInstall: the README's `go install MODULE/cmd/frontend@latest` works
// for someone with no checkout. HEAD is published as v0.1.0 of the module
// go.mod names, the way the Go module proxy serves a tagged commit (a zip
// of the tree without the nested modules hack/tools and the like), in a
// proxy on disk; `go install` then resolves @latest there, fetches every
// dependency from the machine's module cache (no network: a replace or
// exclude directive in go.mod, a wrong module path or a file the build
// needs outside the module would each fail it here), and the binary
// prints its version and checks a spec.
func TestGoInstall(t *testing.T) {
	root := repoRoot()
	module := strings.TrimSpace(goOutput(t, root, "list", "-m"))
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("go install (\\S+)@latest").FindSubmatch(readme)
	if m == nil || string(m[1]) != module+"/cmd/frontend" {
		t.Fatalf("README.md shows go install %q, want %s/cmd/frontend@latest (go.mod's module path)", m, module)
	}

	const version = "v0.1.0"
	proxy := t.TempDir()
	at := filepath.Join(proxy, filepath.FromSlash(module), "@v")
	if err := os.MkdirAll(at, 0o755); err != nil {
		t.Fatal(err)
	}
	// The proxy's zip leaves out nested modules, as the go command does.
	archive := []string{"archive", "--format=zip", "--prefix=" + module + "@" + version + "/", "-o", filepath.Join(at, version+".zip"), "HEAD", "--", "."}
	for _, mod := range strings.Fields(gitOutput(t, root, "ls-files", "*/go.mod")) {
		archive = append(archive, ":!"+path.Dir(mod))
	}
	gitOutput(t, root, archive...)
	info, _ := json.Marshal(map[string]string{"Version": version, "Time": "2026-01-01T00:00:00Z"})
	for name, content := range map[string][]byte{
		"list":            []byte(version + "\n"),
		version + ".info": info,
		version + ".mod":  []byte(gitOutput(t, root, "show", "HEAD:go.mod") + "\n"),
	} {
		if err := os.WriteFile(filepath.Join(at, name), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	bin := t.TempDir()
	cmd := exec.Command("go", "install", module+"/cmd/frontend@latest")
	cmd.Dir = t.TempDir() // no go.mod around: as a user would run it
	cmd.Env = append(withoutVars(os.Environ(), "GOFLAGS", "GOPROXY", "GOSUMDB", "GONOSUMDB", "GOPRIVATE", "GOWORK"),
		"GOPROXY=file://"+filepath.ToSlash(proxy)+",file://"+filepath.ToSlash(filepath.Join(goOutput(t, root, "env", "GOMODCACHE"), "cache", "download")),
		"GOSUMDB=off", // the checksum database knows no v0.1.0 made by a test
		"GOMODCACHE="+t.TempDir(), "GOBIN="+bin,
		// -modcacherw lets the test delete its module cache; -trimpath
		// lets the build cache serve runs with a new cache directory.
		"GOFLAGS=-modcacherw -trimpath")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go install %s/cmd/frontend@latest: %v\n%s", module, err, tail(string(out), 30))
	}
	frontend := filepath.Join(bin, "frontend")
	if out, err := exec.Command(frontend, "version").CombinedOutput(); err != nil || !strings.HasPrefix(string(out), "ohlcv-build frontend "+version+" (") {
		t.Errorf("frontend version: %v %q, want ohlcv-build frontend %s (...)", err, out, version)
	}
	checkWithoutCheckout(t, frontend)
}

// checkWithoutCheckout runs frontend check, a binary built from a release,
// in a directory far from any checkout: a spec with one finding exits 1
// and names it.
func checkWithoutCheckout(t *testing.T, frontend string) {
	t.Helper()
	dir := t.TempDir()
	spec := "version: 1\nstages:\n  app:\n    description: A tool\n    from: python\n"
	if err := os.WriteFile(filepath.Join(dir, "app.build.yaml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(frontend, "check", "-f", "app.build.yaml", dir)
	cmd.Dir = t.TempDir()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	if !asExit(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(out.String(), "app.build.yaml:5:11: UnpinnedBaseImage:") || !strings.Contains(out.String(), "1 finding in ") {
		t.Errorf("frontend check: %v, want exit 1 with the finding:\n%s", err, out.String())
	}
}

// goOutput runs the go command in dir and returns its output.
func goOutput(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}
