//go:build integration

package integration

import (
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// Ports of BuildKit v0.34.2's Dockerfile tests (frontend/dockerfile/
// dockerfile_copy_test.go and dockerfile_args_test.go). Each case is built
// twice on the engine: as the Dockerfile of the BuildKit test, through the
// builtin dockerfile.v0, and as the spec that says the same thing, in process.
// Both must give what the BuildKit test asserts.

// copyDestCase is one of BuildKit's COPY destination tests. Its RUN step
// checks that testfile is in the working directory, as the BuildKit test's
// does; dockerfile and spec take the link mode.
type copyDestCase struct {
	name       string // the BuildKit test
	dockerfile func(link string) string
	spec       func(link bool) string
	path       string // where testfile lands
}

// checkTestfile is the BuildKit tests' RUN, in Dockerfile and spec form.
const (
	checkTestfileDockerfile = `RUN [ "$(cat testfile)" == "contents0" ]` + "\n"
	checkTestfileSpec       = `      - run: '[ "$(cat testfile)" == "contents0" ]'` + "\n"
)

var copyDestCases = []copyDestCase{
	{
		name: "testCopyLinkDotDestDir",
		dockerfile: func(link string) string {
			return "FROM busybox\nWORKDIR /var/www\nCOPY " + link + "testfile .\n" + checkTestfileDockerfile
		},
		spec: func(link bool) string {
			return `version: 1
stages:
  s:
    from: busybox:latest
    workdir: /var/www
    steps:
      - copy: {src: [testfile], dst: ., link: ` + strconv.FormatBool(link) + `}
` + checkTestfileSpec
		},
		path: "/var/www/testfile",
	},
	{
		name: "testEmptyDestDir",
		dockerfile: func(link string) string {
			return "FROM busybox\nENV empty=\"\"\nCOPY " + link + "testfile $empty\n" + checkTestfileDockerfile
		},
		spec: func(link bool) string {
			return `version: 1
stages:
  s:
    from: busybox:latest
    env: {empty: ""}
    steps:
      - copy: {src: [testfile], dst: "${empty}", link: ` + strconv.FormatBool(link) + `}
` + checkTestfileSpec
		},
		path: "/testfile",
	},
	{
		name: "testCopyLinkEmptyDestDir",
		dockerfile: func(link string) string {
			return "FROM busybox\nWORKDIR /var/www\nENV empty=\"\"\nCOPY " + link + "testfile $empty\n" + checkTestfileDockerfile
		},
		spec: func(link bool) string {
			return `version: 1
stages:
  s:
    from: busybox:latest
    workdir: /var/www
    env: {empty: ""}
    steps:
      - copy: {src: [testfile], dst: "${empty}", link: ` + strconv.FormatBool(link) + `}
` + checkTestfileSpec
		},
		path: "/var/www/testfile",
	},
}

// TestCopyDestinationParity ports testCopyLinkDotDestDir, testEmptyDestDir
// and testCopyLinkEmptyDestDir: a COPY to `.` or to an empty destination
// (`$empty`, `${empty}` in the spec) writes into the working directory,
// with and without link, for the Dockerfile and for the spec alike. As in
// BuildKit, the build passes, which needs the RUN after the copy to find
// testfile in the working directory; the exported image also has testfile
// with its contents there, and no other copy of it.
func TestCopyDestinationParity(t *testing.T) {
	files := map[string]string{"testfile": "contents0"}
	for _, c := range copyDestCases {
		for _, link := range []bool{true, false} {
			flag := ""
			if link {
				flag = "--link "
			}
			for _, m := range []mode{dockerfile, inProcess} {
				t.Run(c.name+"/link="+strconv.FormatBool(link)+"/"+string(m), func(t *testing.T) {
					var dir string
					if m == dockerfile {
						withDockerfile := maps.Clone(files)
						withDockerfile["Dockerfile"] = c.dockerfile(flag)
						dir = writeContext(t, "", withDockerfile)
					} else {
						dir = writeContext(t, c.spec(link), files)
					}
					img := singleImage(t, run(t, m, build{dir: dir}).must(t))
					if got := img.read(t, c.path); got != "contents0" {
						t.Errorf("%s = %q, want contents0", c.path, got)
					}
					for p := range img.files {
						if filepath.Base(p) == "testfile" && p != c.path {
							t.Errorf("testfile also at %s", p)
						}
					}
				})
			}
		}
	}
}

// multiArgsDockerfile is testMultiArgs's Dockerfile.
const multiArgsDockerfile = `ARG a1="foo bar" a2=box
ARG a3="$a2-foo"
FROM busy$a2 AS build
ARG a3 a4="123 456" a1
RUN echo -n "$a1:$a3:$a4" > /out
FROM scratch
COPY --from=build /out .
`

// TestMultiArgsParity ports testMultiArgs: an arg's default names an
// earlier arg (a3 is "$a2-foo"), an arg names the base image (busy$a2), and
// the RUN sees all of them; /out is "foo bar:box-foo:123 456" from the
// Dockerfile and from the spec.
func TestMultiArgsParity(t *testing.T) {
	const want = "foo bar:box-foo:123 456"
	for _, m := range []mode{dockerfile, inProcess} {
		t.Run(string(m), func(t *testing.T) {
			var dir string
			if m == dockerfile {
				dir = writeContext(t, "", map[string]string{"Dockerfile": multiArgsDockerfile})
			} else {
				dir = writeContext(t, `version: 1
args:
  a1: foo bar
  a2: box
  a3: "${a2}-foo"
  a4: "123 456"
stages:
  build:
    from: busy${a2}
    steps:
      - run: echo -n "$a1:$a3:$a4" > /out
  out:
    from: scratch
    steps:
      - copy: {from: build, src: /out, dst: .}
`, nil)
			}
			o := run(t, m, build{dir: dir, exporter: "local"}).must(t)
			dt, err := os.ReadFile(filepath.Join(o.local, "out"))
			if err != nil {
				t.Fatal(err)
			}
			if string(dt) != want {
				t.Errorf("/out = %q, want %q", dt, want)
			}
		})
	}
}
