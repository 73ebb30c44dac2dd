//go:build reliability

package reliability

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// longNap is how long the steps that the faults interrupt would sleep.
const longNap = 3600

// faultSpec has a short step that finishes before the crash, then a step
// that bumps a counter in a cache mount, says so, and sleeps for $NAP
// seconds: the crash comes during that sleep.
func faultSpec(frontend, cacheID string) string {
	return "# syntax=" + frontend + `
version: 1
args: {NAP: "0", RUN_ID: ""}
stages:
  s:
    from: busybox:latest
    steps:
      - run: echo "finished before the crash $RUN_ID" > /done
      - run: |
          n=$(cat /cache/counter 2>/dev/null || echo 0)
          echo "$n" > /seen
          echo $((n+1)) > /cache/counter
          sync
          echo "counter $((n+1)) written $RUN_ID"
          sleep "$NAP"
        mounts: [{type: cache, id: ` + cacheID + `, target: /cache}]
`
}

// disconnectSpec has one step that says it started and sleeps.
func disconnectSpec(frontend string) string {
	return "# syntax=" + frontend + `
version: 1
args: {RUN_ID: ""}
stages:
  s:
    from: busybox:latest
    steps:
      - run: echo "started $RUN_ID" && sleep ` + strconv.Itoa(longNap) + `
`
}

// quickSpec is a normal build: one step that runs every time RUN_ID is new.
func quickSpec(frontend string) string {
	return "# syntax=" + frontend + `
version: 1
args: {RUN_ID: ""}
stages:
  s:
    from: busybox:latest
    steps:
      - run: echo "quick $RUN_ID" > /quick
`
}

func writeSpec(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// lineWatcher waits for the first stderr line matching a pattern.
type lineWatcher struct {
	re    *regexp.Regexp
	once  sync.Once
	match chan []string
}

func watchFor(re *regexp.Regexp) *lineWatcher {
	return &lineWatcher{re: re, match: make(chan []string, 1)}
}

func (w *lineWatcher) onLine(line string) {
	if m := w.re.FindStringSubmatch(line); m != nil {
		w.once.Do(func() { w.match <- m })
	}
}

// wait returns the match, or nil when the build ends or timeout passes
// first.
func (w *lineWatcher) wait(p *pendingBuild, timeout time.Duration) []string {
	select {
	case m := <-w.match:
		return m
	case <-p.r.done:
		select {
		case m := <-w.match:
			return m
		default:
			return nil
		}
	case <-time.After(timeout):
		return nil
	}
}

func testFaults(t *testing.T) {
	fig := newFigure(t, "3")
	s := setup(t, fig)
	ctx := context.Background()
	d, err := s.pool.get(ctx, "faults", daemonOpts{})
	if err != nil {
		fig.fatalf(t, "%v", err)
	}
	runID := token()
	dir := t.TempDir()
	writeSpec(t, dir, "crash.yaml", faultSpec(s.frontend, "counter-"+runID[:12]))
	writeSpec(t, dir, "disconnect.yaml", disconnectSpec(s.frontend))
	writeSpec(t, dir, "quick.yaml", quickSpec(s.frontend))

	// SIGKILL during the long step.
	written := watchFor(regexp.MustCompile(`counter (\d+) written ` + runID))
	first, err := s.buildx.startBuild(ctx, buildSpec{builder: d.name, dir: dir, file: "crash.yaml", progress: "plain",
		args: map[string]string{"NAP": strconv.Itoa(longNap), "RUN_ID": runID}, outputs: []string{"type=cacheonly"}, onLine: written.onLine})
	if err != nil {
		fig.fatalf(t, "%v", err)
	}
	fig.command(first.command + "   # killed during its sleep")
	m := written.wait(first, 5*time.Minute)
	if m == nil {
		first.r.kill()
		fig.fatalf(t, "the long step never said it wrote the counter:\n%s", tail(first.wait().stderr, 30))
	}
	before, _ := strconv.Atoi(m[1])
	time.Sleep(500 * time.Millisecond) // well inside the sleep
	left := d.kill()
	crashed := first.wait()
	fig.check(t, "the build in flight when buildkitd got SIGKILL", "fails", errorOf(crashed.outcome), crashed.err != nil)
	var outlived []proc
	for _, p := range left {
		if p.alive() {
			outlived = append(outlived, p)
		}
	}
	reap(outlived)
	fig.note("When buildkitd died, %d of the %d processes it had started (runc and the step) were still running: runc dies with buildkitd (its parent-death signal), the step's own processes do not. The suite killed them before the restart, as a service manager that stops the daemon's whole cgroup would.", len(outlived), len(left))

	restartAt := time.Now()
	if err := d.start(ctx); err != nil {
		fig.fatalf(t, "restarting buildkitd on the same root: %v", err)
	}
	restartTook := time.Since(restartAt)
	fig.check(t, "buildkitd restarted on the same root answers", "within a minute", seconds(restartTook), restartTook < time.Minute)

	out := filepath.Join(t.TempDir(), "after.tar")
	second := s.buildx.build(ctx, buildSpec{builder: d.name, dir: dir, file: "crash.yaml",
		args: map[string]string{"NAP": "0", "RUN_ID": runID}, outputs: []string{"type=oci,dest=" + out}})
	fig.command(second.command)
	fig.check(t, "the next build after the restart", "succeeds", outcomeText(second.outcome), second.err == nil)
	if second.err != nil {
		fig.fatalf(t, "%v", second.err)
	}
	doneStep := ""
	for _, n := range second.progress.steps() {
		if strings.Contains(n, "finished before the crash") {
			doneStep = n
		}
	}
	cached, found := second.progress.cached(doneStep)
	fig.check(t, "the step that finished before the crash", "comes from the layer cache", fmt.Sprintf("found %v, cached %v", found, cached), found && cached)
	files := imageFiles(t, fig, out)
	seen := strings.TrimSpace(string(files["/seen"].Data))
	fig.check(t, "the counter in the cache mount, as the next build read it", fmt.Sprintf("%d, as written before the crash", before), seen, seen == strconv.Itoa(before))

	// A client killed mid-build.
	started := watchFor(regexp.MustCompile(`started ` + runID))
	third, err := s.buildx.startBuild(ctx, buildSpec{builder: d.name, dir: dir, file: "disconnect.yaml", progress: "plain",
		args: map[string]string{"RUN_ID": runID}, outputs: []string{"type=cacheonly"}, onLine: started.onLine})
	if err != nil {
		fig.fatalf(t, "%v", err)
	}
	fig.command(third.command + "   # buildx killed once the step runs")
	if started.wait(third, 5*time.Minute) == nil {
		third.r.kill()
		fig.fatalf(t, "the step never started:\n%s", tail(third.wait().stderr, 30))
	}
	// The step's shell has the run's id in its environment (the frontend
	// passes RUN_ID, which the script mentions).
	stepRunning := func() bool {
		for _, p := range descendants(d.pid()) {
			if strings.Contains(p.cmd, "sleep "+strconv.Itoa(longNap)) && hasEnv(p.pid, "RUN_ID="+runID) {
				return true
			}
		}
		return false
	}
	// The step said it started; give /proc a moment under a loaded machine.
	for waited := time.Now(); !stepRunning() && time.Since(waited) < 30*time.Second; {
		time.Sleep(100 * time.Millisecond)
	}
	running := stepRunning()
	got := fmt.Sprint(running)
	if !running {
		var cmds []string
		for _, p := range descendants(d.pid()) {
			cmds = append(cmds, fmt.Sprintf("%d %q", p.pid, cut(p.cmd, 80)))
		}
		got += "; processes under buildkitd: " + strings.Join(cmds, ", ")
	}
	fig.check(t, "the step's process under buildkitd before the client is killed", "running", got, running)
	killedAt := time.Now()
	third.r.kill()
	third.wait()
	for stepRunning() && time.Since(killedAt) < 2*time.Minute {
		time.Sleep(100 * time.Millisecond)
	}
	gone := !stepRunning()
	fig.check(t, "after buildx is killed, the daemon stops the orphaned step", "within two minutes", fmt.Sprintf("stopped %v after %s", gone, seconds(time.Since(killedAt))), gone)
	fig.check(t, "buildkitd after the client disappeared", "still running", fmt.Sprint(d.running()), d.running())
	fourth := s.buildx.build(ctx, buildSpec{builder: d.name, dir: dir, file: "quick.yaml", args: map[string]string{"RUN_ID": runID}, outputs: []string{"type=cacheonly"}})
	fig.command(fourth.command)
	fig.check(t, "the next build", "succeeds", outcomeText(fourth.outcome), fourth.err == nil)

	// The registry with the frontend image is down when the image is
	// resolved.
	s.reg.stop()
	down := s.buildx.build(ctx, buildSpec{builder: d.name, dir: dir, file: "quick.yaml", progress: "plain",
		args: map[string]string{"RUN_ID": runID + "-down"}, outputs: []string{"type=cacheonly"}, timeout: 2 * time.Minute})
	fig.command(down.command + "   # with the registry stopped")
	msg := errorLine(down.stderr)
	clear := down.err != nil && strings.Contains(msg, s.frontend) && strings.Contains(msg, "connection refused")
	fig.check(t, "a build whose frontend image's registry is down", "fails, naming the image and the refused connection",
		fmt.Sprintf("after %s: %s", seconds(down.took), msg), clear)
	if err := s.reg.start(ctx); err != nil {
		fig.fatalf(t, "restarting the suite's registry: %v", err)
	}
	back := s.buildx.build(ctx, buildSpec{builder: d.name, dir: dir, file: "quick.yaml", args: map[string]string{"RUN_ID": runID + "-back"}, outputs: []string{"type=cacheonly"}})
	fig.command(back.command + "   # with the registry back")
	fig.check(t, "the same build once the registry is back", "succeeds", outcomeText(back.outcome), back.err == nil)
}

// hasEnv reports whether process pid has kv (NAME=value) in its
// environment.
func hasEnv(pid int, kv string) bool {
	dt, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		return false
	}
	for _, e := range strings.Split(string(dt), "\x00") {
		if e == kv {
			return true
		}
	}
	return false
}

// errorLine is the last line of buildx's output that starts with ERROR.
func errorLine(stderr []byte) string {
	line := ""
	for _, l := range strings.Split(string(stderr), "\n") {
		if strings.HasPrefix(l, "ERROR") {
			line = l
		}
	}
	return line
}

// outcomeText says how a command ended and how long it took.
func outcomeText(o outcome) string {
	if o.err != nil {
		return fmt.Sprintf("failed after %s: %s", seconds(o.took), errorOf(o))
	}
	return "succeeded in " + seconds(o.took)
}
