//go:build integration

package integration

import (
	"fmt"
	"strings"
	"testing"
)

// TestCacheMountSharedWithDockerfile proves that a cache mount of the spec
// and a Dockerfile's RUN --mount=type=cache are one cache on the same
// builder: both frontends name it namespace + "/" + id, with the id
// defaulting to the target path. What one build writes into the cache, the
// other build, through the other frontend, copies into its image: spec to
// Dockerfile and Dockerfile to spec. With an explicit id, the two mount it
// at different targets, so only the id can join them; with no id, both
// mount the same target path, unique to the run.
//
// BuildKit leaves a cache mount's id out of the step's cache key, so every
// command names the run's token: a reader with a command seen before would
// be a cache hit and show an old build's file.
func TestCacheMountSharedWithDockerfile(t *testing.T) {
	for _, withID := range []bool{true, false} {
		for _, writer := range []mode{inProcess, dockerfile} {
			reader := dockerfile
			if writer == dockerfile {
				reader = inProcess
			}
			t.Run(fmt.Sprintf("id=%v/%s-writes", withID, writer), func(t *testing.T) {
				token := randomToken(t)
				id, writeTarget, readTarget := "", "/cache-"+token, "/cache-"+token
				if withID {
					id, writeTarget, readTarget = "it-shared-"+token, "/w-"+token, "/r-"+token
				}
				write := "echo " + token + " > " + writeTarget + "/token"
				read := "cp " + readTarget + "/token /token"
				specCmd, specTarget, dockerfileCmd, dockerfileTarget := write, writeTarget, read, readTarget
				if writer == dockerfile {
					specCmd, specTarget, dockerfileCmd, dockerfileTarget = read, readTarget, write, writeTarget
				}
				specMount, dockerfileMount := "{type: cache, target: "+specTarget+"}", "--mount=type=cache,target="+dockerfileTarget
				if withID {
					specMount = "{type: cache, id: " + id + ", target: " + specTarget + "}"
					dockerfileMount = "--mount=type=cache,id=" + id + ",target=" + dockerfileTarget
				}
				dir := writeContext(t, `version: 1
stages:
  s:
    from: busybox:latest
    steps:
      - run: `+specCmd+`
        mounts: [`+specMount+`]
`, map[string]string{"Dockerfile": "FROM busybox\nRUN " + dockerfileMount + " " + dockerfileCmd + "\n"})

				run(t, writer, build{dir: dir, exporter: "none"}).must(t)
				o := run(t, reader, build{dir: dir})
				if o.err != nil {
					t.Fatalf("the %s build did not find what the %s build wrote into the cache: %v\n%s", reader, writer, o.err, o.progress.text())
				}
				if len(o.progress.ran(read)) != 1 {
					t.Errorf("the reading step did not run once: %v\n%s", o.progress.named(read), o.progress.text())
				}
				if got := strings.TrimSpace(singleImage(t, o).read(t, "/token")); got != token {
					t.Errorf("the %s build read %q from the cache, want the %s build's %q", reader, got, writer, token)
				}
			})
		}
	}
}
