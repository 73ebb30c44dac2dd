//go:build integration

package integration

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
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

// Stop on entry, then `next` pauses at each step of the spec in order, on
// the step's own line of ohlcv.build.yaml: the base, the stage's workdir, a
// run, a copy, a workdir step and a multi-line run, which buildx shows
// once more after it ran.
func TestDebuggerStepsThroughTheSpec(t *testing.T) {
	dir, launch := debugContext(t, debugSpec, map[string]string{"hello.txt": "hello\n"})
	launch.StopOnEntry = true
	s, _ := startDAP(t, dir, launch, nil)
	want := []string{"from: busybox", "workdir: /work", "echo one", "copy:", "workdir: /srv", "run: |", "run: |"}
	var stops []stop
	s.eachStop(func(at stop) {
		stops = append(stops, at)
		s.next(at)
	})
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
// each parallel branch, once, and after the merge; the launch's target picks
// the stage. buildx walks the graph one path at a time, so a step that
// several paths reach (here the builder's run, under the copy, every
// branch and the merge) stops once on each, as a stage that two
// Dockerfile stages COPY --from does.
func TestDebuggerStagesAndBranches(t *testing.T) {
	dir, launch := debugContext(t, stagesSpec, map[string]string{"hello.txt": "hello\n"})
	launch.Target = "app"
	builder, branchA, branchB, last := specLine(t, dir, "echo built"), specLine(t, dir, "echo a"), specLine(t, dir, "dst: /b"), specLine(t, dir, "cat /artifact")
	s, _ := startDAP(t, dir, launch, []int{builder, branchA, branchB, last})
	hits := map[int]int{}
	var order []int
	s.eachStop(func(at stop) {
		if at.reason != "breakpoint" {
			t.Errorf("stopped (%s) on line %d, not at a breakpoint", at.reason, at.frame.Line)
		}
		hits[at.frame.Line]++
		order = append(order, at.frame.Line)
		s.resume(at)
	})
	if hits[builder] == 0 || hits[branchA] != 1 || hits[branchB] != 1 || hits[last] != 1 || len(hits) != 4 {
		t.Errorf("stopped on lines %v; want the builder's run (%d), each branch (%d, %d) once and the last run (%d) once", order, builder, branchA, branchB, last)
	}
	if len(order) > 0 && (order[0] != builder || order[len(order)-1] != last) {
		t.Errorf("stopped on lines %v; want the other stage's run first and the last run last", order)
	}
	if code := s.exitCode(); code != 0 {
		t.Errorf("exit code %d\n%s", code, s.transcript())
	}
}

// presetsSpec uses apt, pip and go, each with its cache mounts, on the
// images the harness seeds.
const presetsSpec = `version: 1
stages:
  tools:
    from: debian:bookworm
    steps:
      - apt: [hello]
      - run: hello > /greeting
  py:
    from: python:3.11-slim
    steps:
      - pip: list
      - copy: {from: tools, src: /greeting, dst: /greeting}
  app:
    from: golang:1.26
    steps:
      - go: env GOMODCACHE
      - copy: {from: py, src: /greeting, dst: /greeting}
`

// argv is the paused command's arguments, whole (the exec.args variable is
// cut short), from the variables of [dapSession.variables].
func argv(vars map[string]string) string {
	var args []string
	for i := 0; ; i++ {
		a, ok := vars["exec.args."+strconv.Itoa(i)]
		if !ok {
			return strings.Join(args, " ")
		}
		args = append(args, a)
	}
}

// A breakpoint on a preset's line stops at the preset's command, whose
// arguments and environment are the preset's. The apt step also stops at
// the update of the package lists it installs from, an exec of its own
// that carries the step's line.
func TestDebuggerPresets(t *testing.T) {
	dir, launch := debugContext(t, presetsSpec, nil)
	launch.Target = "app"
	want := []struct {
		marker, args, env string
		also              string // the args of another exec of the step, if any
	}{
		{"apt: [hello]", "set -- hello", "DEBIAN_FRONTEND", " update && "},
		{"pip: list", "pip list", "PIP_CACHE_DIR", ""},
		{"go: env", "go env GOMODCACHE", "GOPATH", ""},
	}
	var lines []int
	for _, w := range want {
		lines = append(lines, specLine(t, dir, w.marker))
	}
	s, _ := startDAP(t, dir, launch, lines)
	seen := map[int]bool{}
	s.eachStop(func(at stop) {
		i := slices.Index(lines, at.frame.Line)
		if at.reason != "breakpoint" || i < 0 {
			t.Fatalf("stopped (%s) on line %d, not at a preset's breakpoint %v\n%s", at.reason, at.frame.Line, lines, s.transcript())
		}
		vars := s.variables(at)
		args := argv(vars)
		if w := want[i]; w.also != "" && strings.Contains(args, w.also) && !strings.Contains(args, w.args) {
			s.resume(at)
			return
		}
		seen[at.frame.Line] = true
		if !strings.Contains(args, want[i].args) || vars["exec.env."+want[i].env] == "" {
			t.Errorf("at %s: args %q, env %q; want args with %q and %s set", want[i].marker, args, vars["exec.env"], want[i].args, want[i].env)
		}
		s.resume(at)
	})
	if len(seen) != len(lines) {
		t.Errorf("stopped on %v of the presets' lines %v", seen, lines)
	}
	if code := s.exitCode(); code != 0 {
		t.Errorf("exit code %d\n%s", code, s.transcript())
	}
}

// A failing step pauses the build at its own line with reason exception,
// in a stage and inside a parallel branch; a shell opened there sees the
// files of the steps before it; the build then fails.
func TestDebuggerStopsOnFailure(t *testing.T) {
	for name, tc := range map[string]struct{ spec, marker string }{
		"step": {`version: 1
stages:
  app:
    from: busybox:latest
    steps:
      - run: echo ok > /ok
      - run: |
          echo about to fail
          exit 3
`, "run: |"},
		"parallel branch": {`version: 1
stages:
  app:
    from: busybox:latest
    steps:
      - run: echo ok > /ok
      - parallel:
          - run: echo fine > /fine
          - run: echo failing; exit 4
`, "echo failing"},
	} {
		t.Run(name, func(t *testing.T) {
			dir, launch := debugContext(t, tc.spec, nil)
			s, _ := startDAP(t, dir, launch, nil)
			at := s.stopped()
			if want := specLine(t, dir, tc.marker); at.reason != "exception" || at.frame.Line != want {
				t.Fatalf("stopped (%s) on line %d, want exception on line %d\n%s", at.reason, at.frame.Line, want, s.transcript())
			}
			if out := s.shell(at).run(t, "cat /ok"); !strings.Contains(out, "\nok") {
				t.Errorf("the shell at the failed step did not see /ok:\n%s", out)
			}
			s.resume(at)
			if code := s.exitCode(); code != 1 {
				t.Errorf("exit code %d, want 1\n%s", code, s.transcript())
			}
		})
	}
}

// variablesSpec reads a build arg, a stage env var and a step env var, in
// the stage's workdir.
const variablesSpec = `version: 1
args: {GREETING: hello}
stages:
  app:
    from: busybox:latest
    workdir: /work
    env: {STAGE_ENV: from-the-stage}
    steps:
      - run: echo "$GREETING" > greeting
        env: {STEP_ENV: from-the-step}
      - run: cat greeting
`

// The paused step's variables show its platform, command, environment
// (the build arg's value from --build-arg, the stage's and the step's env)
// and workdir. `exec` opens a shell in the filesystem the paused step sees:
// at the first run the greeting is not written yet; at the next pause the
// shell starts again and sees what that run wrote.
func TestDebuggerVariablesAndExec(t *testing.T) {
	dir, launch := debugContext(t, variablesSpec, nil)
	greeting := "hallo-" + randomToken(t)
	first, second := specLine(t, dir, `echo "$GREETING"`), specLine(t, dir, "cat greeting")
	s, _ := startDAP(t, dir, launch, []int{first, second}, "--build-arg", "GREETING="+greeting)

	at := s.stopped()
	if at.frame.Line != first {
		t.Fatalf("stopped on line %d, want %d\n%s", at.frame.Line, first, s.transcript())
	}
	vars := s.variables(at)
	for name, want := range map[string]string{
		"platform":           "linux/amd64",
		"exec.workdir":       "/work",
		"exec.env.GREETING":  greeting,
		"exec.env.STAGE_ENV": "from-the-stage",
		"exec.env.STEP_ENV":  "from-the-step",
		"exec.args.0":        "/bin/sh",
		"exec.args.2":        `echo "$GREETING" > greeting`,
	} {
		if vars[name] != want {
			t.Errorf("variable %s = %q, want %q", name, vars[name], want)
		}
	}
	term := s.shell(at)
	if out := term.run(t, "ls /work; cat /work/greeting"); strings.Contains(out, greeting) || !strings.Contains(out, "No such file") {
		t.Errorf("the shell before the first run saw a greeting:\n%s", out)
	}
	s.resume(at)

	at = s.stopped()
	if at.frame.Line != second {
		t.Fatalf("stopped on line %d, want %d\n%s", at.frame.Line, second, s.transcript())
	}
	if out := term.run(t, "cat /work/greeting"); !strings.Contains(out, "\n"+greeting) {
		t.Errorf("the shell did not see the greeting the step before wrote:\n%s", out)
	}
	s.resume(at)
	if code := s.exitCode(); code != 0 {
		t.Errorf("exit code %d\n%s", code, s.transcript())
	}
}
