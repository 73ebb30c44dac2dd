package llbgraph

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"

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
// filesystem, read-only with a tmpfs /tmp, with no network unless it asks,
// as the image's user unless it names one, named and located at its line; a
// file test is no op without the frontend's image; and the tests are no
// part of the target's state.
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
		if len(exec.Mounts) != 3 || exec.Mounts[1].Dest != testMount || exec.Mounts[1].Readonly ||
			exec.Mounts[2].Dest != "/tmp" || exec.Mounts[2].MountType != pb.MountType_TMPFS {
			t.Errorf("%s: mounts %+v, want the root, the output and a tmpfs /tmp", w.name, exec.Mounts)
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

// With the frontend's image, a file test is a step of its own: that image
// runs `frontend test-file` on the target's root mounted read-only, with
// the check as JSON and no network, named and located at the test's line.
func TestCompileFileTestStep(t *testing.T) {
	opt := testOpt("app")
	opt.FileTestImage = "registry.example/ohlcv-build:1"
	res := compile(t, loadSpec(t, testsSpec), opt)
	ft := res.Tests[0]
	if ft.Output == nil {
		t.Fatal("a file test has no step with FileTestImage set")
	}
	g := marshal(t, *ft.Output)
	d, op := g.one(t, "[app test 1/4] test: venv")
	exec := op.GetExec()
	if exec == nil {
		t.Fatal("the file test's step is not an exec")
	}
	want := append(slices.Clone(fileTestCommand), fileTestRoot, "/.ohlcv-test/result", `{"path":"/app/venv/bin/python"}`)
	if !slices.Equal(exec.Meta.Args, want) || exec.Network != pb.NetMode_NONE {
		t.Errorf("args %q network %v, want %q and none", exec.Meta.Args, exec.Network, want)
	}
	mounts := map[string]*pb.Mount{}
	for _, m := range exec.Mounts {
		mounts[m.Dest] = m
	}
	if len(exec.Mounts) != 3 || mounts["/"] == nil || mounts[fileTestRoot] == nil || !mounts[fileTestRoot].Readonly || mounts[testMount] == nil || mounts[testMount].Readonly {
		t.Fatalf("mounts %+v, want the checker's root, the target read-only at %s and the output", exec.Mounts, fileTestRoot)
	}
	root := g.ops[digest.Digest(op.Inputs[mounts["/"].Input].Digest)]
	if src := root.GetSource(); src == nil || !strings.Contains(src.Identifier, "registry.example/ohlcv-build:1") {
		t.Errorf("the checker runs on %+v, want the frontend's image", root.Op)
	}
	if l := g.def.Source.Locations[d.String()]; l == nil || l.Locations[0].Ranges[0].Start.Line != 11 {
		t.Errorf("the step is located at %+v, want line 11", l)
	}
	if g := marshal(t, res.State); len(g.find("test:")) != 0 {
		t.Error("the target's state holds a test")
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
