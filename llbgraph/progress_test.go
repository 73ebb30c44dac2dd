package llbgraph

import (
	"maps"
	"regexp"
	"slices"
	"testing"

	digest "github.com/opencontainers/go-digest"
)

const progressSpec = `version: 1
stages:
  build:
    from: python:3.11-slim
    workdir: /app
    env: {A: "1"}
    steps:
      - run: |
          set -euo pipefail
          # fetch the wheels
          pip download \
            --dest /wheels ohlcv-rag
          pip wheel /wheels
      - env: {B: "2"}
      - copy: {from: busybox:latest, src: /bin/busybox, dst: /bin/}
      - user: "1000"
      - copy: {src: app.py, dst: ./, link: true}
`

// Progress names number a stage's vertices as the Dockerfile frontend does:
// the image base, the stage's workdir and each step that changes files get
// a number each, env and user none; an image a copy reads is named with no
// number. A linked copy is one progress group, shown as one line; a
// multi-line run is named by its first command.
func TestProgressNames(t *testing.T) {
	g := marshal(t, compile(t, loadSpec(t, progressSpec), testOpt("build")).State)
	named := map[string]digest.Digest{}
	for _, d := range g.list {
		named[g.name(d)] = d
	}
	for _, want := range []string{
		"[build 1/5] from python:3.11-slim",
		"[build 2/5] workdir: /app",
		"[build 3/5] run: pip download --dest /wheels ohlcv-rag ...",
		"[build 4/5] copy: from busybox:latest: /bin/busybox -> /bin/",
		"[build] from busybox:latest",
		"[build 5/5] copy: app.py -> ./",
		"[build 5/5] copy: app.py -> ./ (link)",
	} {
		if _, ok := named[want]; !ok {
			t.Errorf("no vertex named %q among %q", want, slices.Collect(maps.Keys(named)))
		}
	}
	numbered := regexp.MustCompile(`^\[build (\d+)/5\] `)
	seen := map[string]string{}
	for _, d := range g.list {
		m := numbered.FindStringSubmatch(g.name(d))
		if m == nil || g.def.Metadata[d].ProgressGroup != nil {
			continue
		}
		if other, dup := seen[m[1]]; dup {
			t.Errorf("%q and %q share number %s", other, g.name(d), m[1])
		}
		seen[m[1]] = g.name(d)
	}

	cp := g.def.Metadata[named["[build 5/5] copy: app.py -> ./"]].ProgressGroup
	merge := g.def.Metadata[named["[build 5/5] copy: app.py -> ./ (link)"]].ProgressGroup
	if cp == nil || merge == nil || cp.Id != merge.Id || cp.Name != "[build 5/5] copy: app.py -> ./" || merge.Name != cp.Name || !cp.Weak || merge.Weak {
		t.Errorf("the linked copy is not one progress group (copy weak, merge not): copy %v, merge %v", cp, merge)
	}
}
