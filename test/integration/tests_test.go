//go:build integration

package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// testsSpec's app stage passes every kind of test; badfile and badrun, built
// on it, each have one that fails.
const testsSpec = `version: 1
stages:
  app:
    from: busybox:latest
    steps:
      - run: 'mkdir -p /app && echo hello > /app/greeting && ln -s /app/greeting /app/link && chown -R 1000:1000 /app && echo app:x:1000:1000::/app:/bin/sh >> /etc/passwd && echo app:x:1000: >> /etc/group'
      - user: "1000"
    image:
      healthcheck: {test: [CMD, test, -f, /app/greeting]}
    tests:
      - name: greeting is there
        file: /app/greeting
        mode: "0644"
        owner: "1000:1000"
        equals: "hello\n"
      - name: link
        file: /app/link
        link: /app/greeting
      - name: no compiler
        file: /usr/bin/gcc
        absent: true
      - name: runs as 1000
        run: id -u
        stdout: {equals: "1000\n"}
      - name: root is read-only
        run: touch /app/x
        exit: 1
        stderr: {contains: Read-only}
      - name: no network
        run: ip -o link | grep -v ' lo:' | wc -l
        stdout: {matches: "^0\n$"}
      - name: health
        healthcheck: true
  badfile:
    from: app
    tests:
      - name: says bye
        file: /app/greeting
        contains: bye
  badrun:
    from: app
    tests:
      - name: exits 0
        run: echo out; exit 3
  named:
    from: app
    tests:
      - name: owned by app
        file: /app/greeting
        owner: app:app
      - name: not owned by root
        file: /app/greeting
        owner: root
  bare:
    from: scratch
    steps:
      - copy: {from: app, src: /app/greeting, dst: /greeting}
    tests:
      - name: greeting without a shell
        file: /greeting
        equals: "hello\n"
`

// Tests through docker buildx build: passing tests pass the build; a
// failing file test and a failing command test fail it, at the test's line,
// saying what was expected and found; the skip arg skips them; the
// image is the same with tests as without; and --call=outline lists them.
// Each test is a step of its own, cached on a rebuild; a file test works on
// an image with no shell, and takes an owner's name from the image's
// /etc/passwd.
func TestStageTests(t *testing.T) {
	dir := writeContext(t, testsSpec, nil)
	file := filepath.Join(dir, "ohlcv.build.yaml")
	digest := func(target string, args ...string) string {
		t.Helper()
		meta := filepath.Join(t.TempDir(), "meta.json")
		buildx(t, dir, append([]string{"build", "-f", file, "--target", target, "--build-arg", "SOURCE_DATE_EPOCH=0",
			"--output", "type=oci,dest=" + filepath.Join(t.TempDir(), "img.tar"), "--metadata-file", meta}, append(args, dir)...)...)
		dt, err := os.ReadFile(meta)
		if err != nil {
			t.Fatal(err)
		}
		var md map[string]any
		if err := json.Unmarshal(dt, &md); err != nil {
			t.Fatal(err)
		}
		d, _ := md["containerimage.digest"].(string)
		if d == "" {
			t.Fatalf("no image digest in %s", dt)
		}
		return d
	}
	withTests := digest("app")
	if without := digest("app", "--build-arg", "OHLCV_SKIP_TESTS=1"); without != withTests {
		t.Errorf("the image with tests is %s, without them %s", withTests, without)
	}

	outline := buildx(t, dir, "build", "-f", file, "--target", "app", "--call=outline", dir)
	if want := `set to 1 to skip the 7 tests: "greeting is there", "link", "no compiler"`; !strings.Contains(outline, "OHLCV_SKIP_TESTS") || !strings.Contains(outline, want) {
		t.Errorf("--call=outline does not list the tests:\n%s", outline)
	}

	for _, c := range []struct {
		target string
		line   int
		want   []string
	}{
		{"badfile", 37, []string{`stages.badfile.tests[0]: test "says bye" failed: expected /app/greeting to contain "bye", found "hello\n"`, "contains: bye"}},
		{"badrun", 43, []string{`stages.badrun.tests[0]: test "exits 0" failed: expected "echo out; exit 3" to exit with 0, found exit code 3; stdout: "out"`, "run: echo out; exit 3", "[badrun test 1/1] test: exits 0"}},
		{"named", 51, []string{`stages.named.tests[1]: test "not owned by root" failed: expected /app/greeting to be owned by root, found 1000`, "[named test 2/2] test: not owned by root"}},
	} {
		t.Run(c.target, func(t *testing.T) {
			out, err := runBuildx(t, dir, "build", "--progress=plain", "-f", file, "--target", c.target, dir)
			if err == nil {
				t.Fatalf("the build with a failing test passed:\n%s", out)
			}
			at := "ohlcv.build.yaml:" + strconv.Itoa(c.line+syntaxLines) + ":9: "
			for _, want := range append(c.want, at) {
				if !strings.Contains(out, want) {
					t.Errorf("buildx output lacks %q:\n%s", want, out)
				}
			}
			buildx(t, dir, "build", "-f", file, "--target", c.target, "--build-arg", "OHLCV_SKIP_TESTS=1", dir)
		})
	}

	// The file test of an image with no shell passes, as a step of its
	// own; built again, every test step comes from the cache.
	for i, want := range []string{"#", "CACHED"} {
		out, err := runBuildx(t, dir, "build", "--progress=plain", "-f", file, "--target", "bare", dir)
		if err != nil {
			t.Fatalf("build %d of bare: %v\n%s", i+1, err, out)
		}
		if !testStep(out, "[bare test 1/1] test: greeting without a shell", want) {
			t.Errorf("build %d of bare: no step \"[bare test 1/1] test: greeting without a shell\" with %q:\n%s", i+1, want, out)
		}
	}
	out, err := runBuildx(t, dir, "build", "--progress=plain", "-f", file, "--target", "app", dir)
	if err != nil {
		t.Fatalf("rebuild of app: %v\n%s", err, out)
	}
	for _, name := range []string{"[app test 1/7] test: greeting is there", "[app test 4/7] test: runs as 1000"} {
		if !testStep(out, name, "CACHED") {
			t.Errorf("the rebuild of app ran %q again:\n%s", name, out)
		}
	}
}

// testStep reports whether plain progress has a step named name whose
// lines include want (such as CACHED).
func testStep(progress, name, want string) bool {
	id := ""
	for line := range strings.Lines(progress) {
		if strings.HasPrefix(line, "#") && strings.Contains(line, name) {
			id, _, _ = strings.Cut(line, " ")
			continue
		}
		if id != "" && strings.HasPrefix(line, id+" ") && strings.Contains(line, want) {
			return true
		}
	}
	return id != "" && want == "#"
}
