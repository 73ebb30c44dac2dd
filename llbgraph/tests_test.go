package llbgraph

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/solver/pb"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

const testsSpec = `version: 1
stages:
  app:
    from: python:3.11-slim
    env: {APP: "1"}
    workdir: /app
    user: "1000"
    image:
      healthcheck: {test: "curl -f localhost"}
    tests:
      - name: venv
        file: /app/venv/bin/python
      - name: imports
        run: python -c 'import app'
        stdout: {equals: ""}
      - name: online
        run: echo hi
        network: default
        user: "0"
      - name: health
        healthcheck: true
`

// Each run or health check test is an exec of its own on the target's root
// filesystem, read-only, with no network unless it asks, as the image's
// user unless it names one, named and located at its line; a file test is
// no op; and the tests are no part of the target's state.
func TestCompileTests(t *testing.T) {
	res := compile(t, loadSpec(t, testsSpec), testOpt("app"))
	if len(res.Tests) != 4 {
		t.Fatalf("got %d tests, want 4", len(res.Tests))
	}
	if res.Tests[0].Kind != spec.TestFile || res.Tests[0].Output != nil {
		t.Errorf("a file test compiled to %+v", res.Tests[0])
	}
	if g := marshal(t, res.State); len(g.find("test:")) != 0 {
		t.Error("the target's state holds a test")
	}
	want := []struct {
		name, user string
		network    pb.NetMode
		last       string
		line       int32
	}{
		{"[app test 2/4] test: imports", "1000", pb.NetMode_NONE, "python -c 'import app'", 13},
		{"[app test 3/4] test: online", "0", pb.NetMode_UNSET, "echo hi", 16},
		{"[app test 4/4] test: health", "1000", pb.NetMode_NONE, "curl -f localhost", 20},
	}
	for i, w := range want {
		tt := res.Tests[i+1]
		if tt.Name != w.name {
			t.Errorf("test %d named %q, want %q", i+1, tt.Name, w.name)
		}
		g := marshal(t, *tt.Output)
		d, op := g.one(t, w.name)
		exec := op.GetExec()
		if exec == nil {
			t.Fatalf("%s is not an exec", w.name)
		}
		m := exec.Meta
		if m.User != w.user || exec.Network != w.network || m.Cwd != "/app" || !slices.Contains(m.Env, "APP=1") {
			t.Errorf("%s: user %q network %v cwd %q env %v", w.name, m.User, exec.Network, m.Cwd, m.Env)
		}
		if got := m.Args[len(m.Args)-1]; got != w.last || !strings.Contains(m.Args[2], "echo $?") {
			t.Errorf("%s: args %q", w.name, m.Args)
		}
		if !exec.Mounts[0].Readonly || exec.Mounts[0].Dest != "/" {
			t.Errorf("%s: root mount %+v is not read-only", w.name, exec.Mounts[0])
		}
		if len(exec.Mounts) != 2 || exec.Mounts[1].Dest != testMount || exec.Mounts[1].Readonly {
			t.Errorf("%s: mounts %+v", w.name, exec.Mounts)
		}
		var lines []int32
		if l := g.def.Source.Locations[d.String()]; l != nil {
			for _, loc := range l.Locations {
				lines = append(lines, loc.Ranges[0].Start.Line)
			}
		}
		if !slices.Equal(lines, []int32{w.line}) {
			t.Errorf("%s: located at lines %v, want [%d]", w.name, lines, w.line)
		}
	}
}

// A health check test of an image with none is an error at the test.
func TestCompileTestsNoHealthcheck(t *testing.T) {
	s := loadSpec(t, "version: 1\nstages:\n  app:\n    from: python:3.11-slim\n    tests:\n      - name: h\n        healthcheck: true\n")
	_, err := Compile(context.Background(), s, testOpt("app"))
	if err == nil || !strings.Contains(err.Error(), `ohlcv.build.yaml:7:22: stages.app.tests[0].healthcheck: the image of stage "app" has no health check`) {
		t.Fatalf("got %v", err)
	}
}

// The outline lists the target's tests.
func TestOutlineTests(t *testing.T) {
	o, err := BuildOutline(context.Background(), loadSpec(t, testsSpec), testOpt("app"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tt := range o.Tests {
		names = append(names, tt.Name+"/"+string(tt.Kind))
	}
	if want := []string{"venv/file", "imports/run", "online/run", "health/healthcheck"}; !slices.Equal(names, want) {
		t.Errorf("outline tests %v, want %v", names, want)
	}
}
