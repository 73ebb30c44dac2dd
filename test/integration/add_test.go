//go:build integration

package integration

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// addFixture is what the add tests read: an HTTP server on 127.0.0.1 (the
// engine's buildkitd runs on this host and fetches from it) serving two
// files and a git repository over git's dumb HTTP protocol, and a context
// holding a gzipped tar and a directory.
type addFixture struct {
	url     string            // the server's base URL
	hello   string            // hello.txt's sha256 digest
	tarball []byte            // the archive served and in the context
	files   map[string]string // the context
}

func newAddFixture(t *testing.T) *addFixture {
	t.Helper()
	f := &addFixture{tarball: gzipTar(t, map[string]string{"tool/bin/tool": "#!/bin/sh\necho tool\n", "tool/README": "the tool\n"})}
	root := t.TempDir()
	hello := "hello over http\n"
	sum := sha256.Sum256([]byte(hello))
	f.hello = "sha256:" + hex.EncodeToString(sum[:])
	writeFile(t, filepath.Join(root, "files", "hello.txt"), hello)
	writeFile(t, filepath.Join(root, "files", "tool.tar.gz"), string(f.tarball))
	gitRepo(t, filepath.Join(root, "git"))
	srv := httptest.NewServer(http.FileServer(http.Dir(root)))
	t.Cleanup(srv.Close)
	f.url = srv.URL
	f.files = map[string]string{
		"local.tar.gz":  string(f.tarball),
		"dir/a.txt":     "a\n",
		"dir/notes.md":  "left out\n",
		"dir/sub/b.txt": "b\n",
	}
	return f
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// gzipTar makes a .tar.gz of files, with fixed times and owners.
func gzipTar(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, name := range []string{"tool/bin/tool", "tool/README"} {
		content := files[name]
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// gitRepo makes dir/repo.git, a bare repository with one commit tagged v1,
// ready for dumb HTTP.
func gitRepo(t *testing.T, dir string) {
	t.Helper()
	work := filepath.Join(t.TempDir(), "work")
	git := func(dir string, args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t",
			"GIT_COMMITTER_EMAIL=t@example.com", "GIT_AUTHOR_DATE=2024-01-01T00:00:00Z", "GIT_COMMITTER_DATE=2024-01-01T00:00:00Z")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	writeFile(t, filepath.Join(work, "main.go"), "package main\n")
	writeFile(t, filepath.Join(work, "docs", "readme.txt"), "docs\n")
	git(work, "init", "-q", "-b", "main")
	git(work, "add", ".")
	git(work, "commit", "-q", "-m", "one")
	git(work, "tag", "v1")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	git(dir, "clone", "-q", "--bare", work, "repo.git")
	git(filepath.Join(dir, "repo.git"), "update-server-info")
}

// TestAddParity builds the same ADDs through the builtin Dockerfile
// frontend and as add steps, and compares the images' files and config: a
// download with a checksum and chmod, one without (left packed) and one
// unpacked, a local archive unpacked and left packed, a directory with
// chown and exclude, and a git tag cloned with and without its .git
// directory.
func TestAddParity(t *testing.T) {
	f := newAddFixture(t)
	df := fmt.Sprintf(`FROM scratch
ADD --checksum=%[2]s --chmod=0600 %[1]s/files/hello.txt /dl/
ADD %[1]s/files/tool.tar.gz /dl/
ADD --unpack=true %[1]s/files/tool.tar.gz /unpacked-url/
ADD local.tar.gz /unpacked/
ADD --unpack=false local.tar.gz /packed/
ADD --chown=1000:1000 --exclude=*.md dir /d/
ADD --keep-git-dir=true %[1]s/git/repo.git#v1 /src-git
ADD %[1]s/git/repo.git#v1:docs /docs
`, f.url, f.hello)
	spec := fmt.Sprintf(`version: 1
stages:
  s:
    from: scratch
    steps:
      - add: {src: "%[1]s/files/hello.txt", dst: /dl/, checksum: "%[2]s", chmod: "0600"}
      - add: {src: "%[1]s/files/tool.tar.gz", dst: /dl/}
      - add: {src: "%[1]s/files/tool.tar.gz", dst: /unpacked-url/, unpack: true}
      - add: {src: local.tar.gz, dst: /unpacked/}
      - add: {src: local.tar.gz, dst: /packed/, unpack: false}
      - add: {src: dir, dst: /d/, chown: "1000:1000", exclude: ["*.md"]}
      - add: {src: "%[1]s/git/repo.git#v1", dst: /src-git, keep-git-dir: true}
      - add: {src: "%[1]s/git/repo.git#v1:docs", dst: /docs}
`, f.url, f.hello)
	files := map[string]string{"Dockerfile": df}
	for k, v := range f.files {
		files[k] = v
	}
	want := run(t, dockerfile, build{dir: writeContext(t, "", files)}).must(t)
	got := run(t, inProcess, build{dir: writeContext(t, spec, f.files)}).must(t)
	if d := compareImages(t, want.oci, got.oci, false); d != "" {
		t.Fatalf("the spec's image differs from the Dockerfile's: %s", d)
	}
	img := singleImage(t, got)
	for p, content := range map[string]string{
		"/dl/hello.txt":             "hello over http\n",
		"/dl/tool.tar.gz":           string(f.tarball),
		"/unpacked-url/tool/README": "the tool\n",
		"/unpacked/tool/bin/tool":   "#!/bin/sh\necho tool\n",
		"/packed/local.tar.gz":      string(f.tarball),
		"/d/a.txt":                  "a\n",
		"/d/sub/b.txt":              "b\n",
		"/src-git/main.go":          "package main\n",
		"/docs/readme.txt":          "docs\n",
	} {
		if got := img.read(t, p); got != content {
			t.Errorf("%s = %q, want %q", p, got, content)
		}
	}
	if img.files["/d/notes.md"] != nil || img.files["/docs/main.go"] != nil {
		t.Errorf("an excluded file or a file outside the git subdir was added")
	}
	if img.files["/src-git/.git/HEAD"] == nil {
		t.Errorf("keep-git-dir: /src-git/.git is missing")
	}
	if !strings.Contains(got.progress.text(), "add: "+f.url+"/files/hello.txt -> /dl/") {
		t.Errorf("no progress line names the add step:\n%s", got.progress.text())
	}
	if w := got.progress.text(); !strings.Contains(w, "AddUrlWithoutChecksum") || !strings.Contains(w, "tool.tar.gz") {
		t.Errorf("no AddUrlWithoutChecksum warning for the download without a checksum:\n%s", w)
	}
}

// TestAddWrongChecksum: a download whose content does not have the
// checksum fails the build with BuildKit's error, pointing at the step.
func TestAddWrongChecksum(t *testing.T) {
	f := newAddFixture(t)
	wrong := "sha256:" + strings.Repeat("0", 64)
	spec := fmt.Sprintf(`version: 1
stages:
  s:
    from: scratch
    steps:
      - add: {src: "%s/files/hello.txt", dst: /dl/, checksum: "%s"}
`, f.url, wrong)
	out := run(t, inProcess, build{dir: writeContext(t, spec, nil)})
	if out.err == nil {
		t.Fatal("the build passed with a wrong checksum")
	}
	if !strings.Contains(out.err.Error(), "digest mismatch") {
		t.Errorf("error %v, want BuildKit's digest mismatch", out.err)
	}
}
