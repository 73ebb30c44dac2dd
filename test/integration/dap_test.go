//go:build integration

package integration

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-dap"
)

// debugSpec is a build of one stage whose every kind of step the debugger
// should walk: the base, the stage's workdir, a run, a copy, a workdir step
// and a multi-line run.
const debugSpec = `version: 1
stages:
  app:
    from: busybox:latest
    workdir: /work
    steps:
      - run: echo one > /one
      - copy: {src: [hello.txt], dst: /hello.txt}
      - workdir: /srv
      - run: |
          echo two > two
          cat /one /hello.txt > both
`

// specLine returns the line of the spec in dir (counted in the file, so
// after the syntax line) that holds marker, which must be on exactly one.
func specLine(t *testing.T, dir, marker string) int {
	t.Helper()
	dt, err := os.ReadFile(filepath.Join(dir, "ohlcv.build.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	line := 0
	for i, l := range strings.Split(string(dt), "\n") {
		if strings.Contains(l, marker) {
			if line != 0 {
				t.Fatalf("%q is on lines %d and %d", marker, line, i+1)
			}
			line = i + 1
		}
	}
	if line == 0 {
		t.Fatalf("%q is on no line of the spec", marker)
	}
	return line
}

// debugContext writes a context with specYAML and files, and the launch
// request that debugs it.
func debugContext(t *testing.T, specYAML string, files map[string]string) (string, dapLaunch) {
	dir := writeContext(t, specYAML, files)
	return dir, dapLaunch{Dockerfile: filepath.Join(dir, "ohlcv.build.yaml"), ContextPath: dir}
}

// walk pauses at every step from the first with stopOnEntry and `next`,
// and returns the stops.
func walk(t *testing.T, s *dapSession) []stop {
	var stops []stop
	for {
		e := s.event("stopped", "exited")
		if _, done := e.(*dap.ExitedEvent); done {
			return stops
		}
		at := s.stoppedAfter(e)
		stops = append(stops, at)
		if len(stops) > 50 {
			t.Fatalf("more than 50 stops\n%s", s.transcript())
		}
		s.next(at)
	}
}

// Stop on entry, then `next` pauses at each step of the spec in order, on
// the step's own line of ohlcv.build.yaml: the base, the stage's workdir, a
// run, a copy, a workdir step and a multi-line run, which buildx shows
// once more after it ran.
func TestDebuggerStepsThroughTheSpec(t *testing.T) {
	dir, launch := debugContext(t, debugSpec, map[string]string{"hello.txt": "hello\n"})
	launch.StopOnEntry = true
	s, _ := startDAP(t, dir, launch, nil)
	want := []string{"from: busybox", "workdir: /work", "echo one", "copy:", "workdir: /srv", "run: |", "run: |"}
	stops := walk(t, s)
	var got, wantLines []int
	for i, at := range stops {
		got = append(got, at.frame.Line)
		if at.reason != "step" {
			t.Errorf("stop %d: reason %q, want step", i+1, at.reason)
		}
		if at.frame.Source == nil || at.frame.Source.Path != launch.Dockerfile {
			t.Errorf("stop %d at %+v, not in %s", i+1, at.frame.Source, launch.Dockerfile)
		}
	}
	for _, marker := range want {
		wantLines = append(wantLines, specLine(t, dir, marker))
	}
	if !slices.Equal(got, wantLines) {
		t.Errorf("next stopped on lines %v, want %v (%q)", got, wantLines, want)
	}
	if code := s.exitCode(); code != 0 {
		t.Errorf("exit code %d\n%s", code, s.transcript())
	}
}

// A breakpoint set by line alone, as a click in the editor's gutter sets
// it, pauses the build on the first line of a step and on a later line of
// a multi-line step; the frame is the step's first line.
func TestDebuggerLineBreakpoints(t *testing.T) {
	dir, launch := debugContext(t, debugSpec, map[string]string{"hello.txt": "hello\n"})
	first, inside := specLine(t, dir, "echo one"), specLine(t, dir, "cat /one /hello.txt")
	s, bps := startDAP(t, dir, launch, []int{first, inside})
	if len(bps) != 2 {
		t.Fatalf("setBreakpoints answered %+v", bps)
	}
	for _, want := range []struct {
		line, bp int
	}{{first, bps[0].Id}, {specLine(t, dir, "run: |"), bps[1].Id}} {
		at := s.stopped()
		if at.reason != "breakpoint" || at.frame.Line != want.line || !slices.Contains(at.hitBreakpoints, want.bp) {
			t.Fatalf("stopped (%s) on line %d with breakpoints %v, want breakpoint %d on line %d\n%s",
				at.reason, at.frame.Line, at.hitBreakpoints, want.bp, want.line, s.transcript())
		}
		s.resume(at)
	}
	if code := s.exitCode(); code != 0 {
		t.Errorf("exit code %d\n%s", code, s.transcript())
	}
}

// stagesSpec's target copies from another stage and runs two branches in
// parallel, one a run and one a copy.
const stagesSpec = `version: 1
default: builder
stages:
  builder:
    from: busybox:latest
    steps:
      - run: echo built > /artifact
  app:
    from: busybox:latest
    steps:
      - copy: {from: builder, src: /artifact, dst: /artifact}
      - parallel:
          - run: echo a > /a
          - copy: {src: [hello.txt], dst: /b}
      - run: cat /artifact /a /b > /all
`

// Breakpoints pause the build in another stage (the one a copy reads), in
// each parallel branch and after the merge, and the launch's target picks
// the stage.
func TestDebuggerStagesAndBranches(t *testing.T) {
	dir, launch := debugContext(t, stagesSpec, map[string]string{"hello.txt": "hello\n"})
	launch.Target = "app"
	lines := []int{specLine(t, dir, "echo built"), specLine(t, dir, "echo a"), specLine(t, dir, "dst: /b"), specLine(t, dir, "cat /artifact")}
	s, _ := startDAP(t, dir, launch, lines)
	var got []int
	for {
		e := s.event("stopped", "exited")
		if _, done := e.(*dap.ExitedEvent); done {
			break
		}
		at := s.stoppedAfter(e)
		got = append(got, at.frame.Line)
		t.Logf("stop %s line %d %s", at.reason, at.frame.Line, at.frame.Name)
		s.resume(at)
	}
	t.Logf("lines %v, got %v", lines, got)
}
