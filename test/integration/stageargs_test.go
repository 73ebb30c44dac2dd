//go:build integration

package integration

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The case: a Dockerfile's ARG inside a stage reaches every RUN
// after it, also a program that reads it from its environment
// (env), and a build arg sets it. The spec's stage args do the same,
// through the syntax line, with and without --build-arg; a top-level arg
// the script does not mention stays out of the run, as the mention rule
// says.
func TestStageArgsParity(t *testing.T) {
	const dockerfileText = `FROM busybox
ARG RELEASE=1.4
ARG FLAVOR=slim-${RELEASE}
RUN env > /out
`
	const specText = `version: 1
args:
  GLOBAL: {default: g, description: a top-level arg no run mentions}
stages:
  app:
    from: busybox
    args:
      RELEASE: {default: "1.4", description: the release}
      FLAVOR: slim-${RELEASE}
    steps:
      - run: env > /out
`
	for _, c := range []struct {
		name string
		args map[string]string
		want []string
	}{
		{"defaults", nil, []string{"RELEASE=1.4", "FLAVOR=slim-1.4"}},
		{"build-arg", map[string]string{"build-arg:RELEASE": "2.0"}, []string{"RELEASE=2.0", "FLAVOR=slim-2.0"}},
	} {
		for _, m := range []mode{dockerfile, syntax} {
			t.Run(c.name+"/"+string(m), func(t *testing.T) {
				var dir string
				if m == dockerfile {
					dir = writeContext(t, "", map[string]string{"Dockerfile": dockerfileText})
				} else {
					dir = writeContext(t, specText, nil)
				}
				o := run(t, m, build{dir: dir, attrs: c.args, exporter: "local"}).must(t)
				dt, err := os.ReadFile(filepath.Join(o.local, "out"))
				if err != nil {
					t.Fatal(err)
				}
				env := strings.Split(string(dt), "\n")
				for _, kv := range c.want {
					if !slices.Contains(env, kv) {
						t.Errorf("the run's env lacks %s:\n%s", kv, dt)
					}
				}
				if strings.Contains(string(dt), "GLOBAL=") {
					t.Errorf("a top-level arg the script does not mention reached the run:\n%s", dt)
				}
			})
		}
	}
}
