package llbgraph

import (
	"slices"
	"strings"
	"testing"
)

// A stage's shell, and a shell step, change what string commands run
// with, as SHELL does: for the steps after them, the image's Shell and
// string entrypoint, and the stages built on the stage. A package preset's
// own script keeps /bin/sh.
func TestShell(t *testing.T) {
	s := loadSpec(t, `version: 1
stages:
  base:
    from: busybox:latest
    shell: [/bin/sh, -eu, -c]
    steps:
      - run: echo one
      - shell: [/bin/bash, -o, pipefail, -c]
      - run: echo two | cat
      - run: [echo, exec]
      - apk: [curl]
  child:
    from: base
    steps:
      - pip: install flask
    image:
      entrypoint: serve
`)
	res := compile(t, s, testOpt("child"))
	g := marshal(t, res.State)
	bash := []string{"/bin/bash", "-o", "pipefail", "-c"}
	for name, want := range map[string][]string{
		"run: echo one":  {"/bin/sh", "-eu", "-c", "echo one"},
		"run: echo two":  append(slices.Clone(bash), "echo two | cat"),
		"run: echo exec": {"echo", "exec"},
		"pip: install":   append(slices.Clone(bash), "pip install flask"),
		"apk: curl":      {"/bin/sh", "-c"},
	} {
		_, op := g.one(t, name)
		args := op.GetExec().GetMeta().GetArgs()
		if len(args) < len(want) || !slices.Equal(args[:len(want)], want) {
			t.Errorf("%s runs %q, want %q", name, args, want)
		}
	}
	img := res.Image
	if !slices.Equal(img.Config.Shell, bash) {
		t.Errorf("image shell %q, want %q", img.Config.Shell, bash)
	}
	if want := append(slices.Clone(bash), "serve"); !slices.Equal(img.Config.Entrypoint, want) {
		t.Errorf("entrypoint %q, want %q", img.Config.Entrypoint, want)
	}
	var shells []string
	for _, h := range img.History {
		if strings.HasPrefix(h.CreatedBy, "SHELL ") {
			if !h.EmptyLayer {
				t.Errorf("%s makes a layer", h.CreatedBy)
			}
			shells = append(shells, h.CreatedBy)
		}
	}
	if want := []string{"SHELL [/bin/sh -eu -c]", "SHELL [/bin/bash -o pipefail -c]"}; !slices.Equal(shells, want) {
		t.Errorf("history %q, want %q", shells, want)
	}
}
