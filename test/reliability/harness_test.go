//go:build reliability

package reliability

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testHarness shows that a dead daemon fails a figure quickly and by
// name: a daemon that cannot start, a daemon killed under its builder.
func testHarness(t *testing.T) {
	fig := newFigure(t, "0")
	s := setup(t, fig)
	ctx := context.Background()

	// A daemon that cannot start: its root is a file.
	broken, err := s.newDaemon("broken", daemonOpts{})
	if err != nil {
		fig.fatalf(t, "%v", err)
	}
	if err := os.RemoveAll(broken.root); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(broken.root, []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = broken.start(ctx)
	took := time.Since(start)
	broken.stop()
	first, _, _ := strings.Cut(firstLine(err), "; last lines")
	fig.check(t, "a daemon that cannot start: the start fails, naming the daemon, within its one-minute timeout", "an error naming buildkitd broken",
		fmt.Sprintf("after %s: %s; its log ends %q", seconds(took), first, lastLine(broken.logTail(5))), err != nil && strings.Contains(err.Error(), "buildkitd broken") && took < time.Minute)

	// A daemon killed under its builder: the next build fails fast, and the
	// pool reports the daemon gone rather than handing it out.
	d, err := s.pool.get(ctx, "harness", daemonOpts{})
	if err != nil {
		fig.fatalf(t, "%v", err)
	}
	reap(d.kill())
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ohlcv.build.yaml"), []byte("# syntax="+s.frontend+"\nversion: 1\nstages: {s: {from: busybox:latest}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := s.buildx.build(ctx, buildSpec{builder: d.name, dir: dir, file: "ohlcv.build.yaml", outputs: []string{"type=cacheonly"}, timeout: time.Minute})
	fig.command(b.command)
	fig.check(t, "a build on a builder whose daemon was killed: fails within its one-minute timeout", "an error",
		fmt.Sprintf("after %s: %s", seconds(b.took), errorOf(b.outcome)), b.err != nil && b.took < time.Minute)
	_, err = s.pool.get(ctx, "harness", daemonOpts{})
	fig.check(t, "the suite asked for the killed daemon: an error naming it", "an error naming buildkitd harness",
		firstLine(err), err != nil && strings.Contains(err.Error(), "buildkitd harness"))
	s.pool.release("harness")
	fig.note("A figure turns such an error into a failure that starts with its own name, such as %q.", fig.name+": buildkitd r1 did not answer: …")
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return cut(lines[len(lines)-1], 300)
}

// errorOf is how a failed buildx command explained itself: its last ERROR
// line, else the first line of its error.
func errorOf(o outcome) string {
	if l := errorLine(o.stderr); l != "" {
		return cut(l, 400)
	}
	return firstLine(o.err)
}

// firstLine is the first line of err, or "no error".
func firstLine(err error) string {
	if err == nil {
		return "no error"
	}
	line, _, _ := strings.Cut(err.Error(), "\n")
	if len(line) > 300 {
		line = line[:300] + "…"
	}
	return line
}
