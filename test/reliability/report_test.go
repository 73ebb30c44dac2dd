//go:build reliability

package reliability

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// figures are the page's sections, in page order. Each test registers the
// figure it measures; the page is written only when all of them ran.
var figures = []struct{ id, title, what string }{
	{"0", "Harness: a dead daemon fails fast", "A figure whose daemon is unreachable fails with its own name, within its step's timeout, and never hangs or skips."},
	{"1", "Secrets never leak", "A fixture with secrets as files and as env, in runs, parallel branches and presets, built through the gateway image. The secrets' values (and their base64 forms) are searched for in everything the builds produced; a build arg used as a marker, searched for in the same places, shows that each search can find what is there."},
	{"2", "Load", fmt.Sprintf("Concurrent builds on one daemon through the gateway image: %d of one target, then %d different targets of the offline twin (on the daemon that built the twin for figure 5, reusing its cache). Results are pushed to the suite's registry or exported as OCI tars, not as local directories.", sameTargetBuilds, len(twinTargets))},
	{"3", "Faults", "buildkitd killed with SIGKILL during a long step and restarted on the same root; a buildx client killed mid-build; the registry holding the frontend image stopped."},
	{"4", "Hostile specs through the real frontend", fmt.Sprintf("Specs of the hostile corpus (llbgraph/internal/hostile) sent with `docker buildx build` to the gateway image, on a daemon of their own. The files are exactly as the corpus makes them, so the gateway image is selected with the BUILDKIT_SYNTAX build arg instead of a `# syntax=` line, which would push the largest ones over the size limit of a spec. The figure's daemon, buildx and the suite's registry run with a higher CPU priority than other work (nice %d), so that the times measure the frontend rather than whatever else the machine runs, and the figure first waits (for a bounded time) for a busy machine to calm down; each spec is sent %d times.", hostileNice, hostileRounds)},
	{"5", "Reproducible images", "The offline twin's `runtime` target built on two fresh daemons with the same SOURCE_DATE_EPOCH."},
	{"6", "Scale-out on BuildKit itself", "The tested recipes of docs/scale-out.md: a two-node buildx builder with a node per platform, and a registry cache that follows a build from one daemon to another."},
}

// figure collects one figure's checks and notes as it runs.
type figure struct {
	id, name string
	mu       sync.Mutex
	checks   []check
	notes    []string
	commands []string
	failure  string
	start    time.Time
	took     time.Duration
}

type check struct {
	what, want, got string
	ok              bool
}

// loadAtStart is the load average when the suite started.
var loadAtStart = loadAverage()

var (
	reportMu sync.Mutex
	recorded = map[string]*figure{}
)

// newFigure registers figure id for the page; the name is what failures
// say.
func newFigure(t *testing.T, id string) *figure {
	t.Helper()
	i := slices.IndexFunc(figures, func(f struct{ id, title, what string }) bool { return f.id == id })
	if i < 0 {
		t.Fatalf("no figure %s", id)
	}
	f := &figure{id: id, name: "figure " + id + " (" + strings.ToLower(figures[i].title) + ")", start: time.Now()}
	reportMu.Lock()
	recorded[id] = f
	reportMu.Unlock()
	t.Cleanup(func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.took = time.Since(f.start)
		if t.Failed() && f.failure == "" {
			f.failure = "failed (see the test log)"
		}
	})
	return f
}

// check records a measured value against what the issue expects, and
// fails the test when it misses.
func (f *figure) check(t *testing.T, what, want, got string, ok bool) {
	t.Helper()
	f.mu.Lock()
	f.checks = append(f.checks, check{what, want, got, ok})
	f.mu.Unlock()
	if !ok {
		t.Errorf("%s: %s: got %s, want %s", f.name, what, got, want)
		return
	}
	t.Logf("%s: %s: %s (want %s)", f.name, what, got, want)
}

// note adds a computed sentence under the figure's table.
func (f *figure) note(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.notes = append(f.notes, fmt.Sprintf(format, args...))
}

// command records a command line the figure ran, for the page.
func (f *figure) command(c string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !slices.Contains(f.commands, c) {
		f.commands = append(f.commands, c)
	}
}

// fatalf fails the figure, naming it, and stops the test.
func (f *figure) fatalf(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Fatal(f.fail(format, args...))
}

// errorf fails the figure, naming it, and goes on.
func (f *figure) errorf(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Error(f.fail(format, args...))
}

// fail records the message as the figure's failure, unless it has one
// already, and returns it prefixed with the figure's name, for the test log.
func (f *figure) fail(format string, args ...any) string {
	msg := fmt.Sprintf(format, args...)
	f.mu.Lock()
	if f.failure == "" {
		f.failure = msg
	}
	f.mu.Unlock()
	return f.name + ": " + msg
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func megabytes(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }

// size writes a byte count in kB below a megabyte, else in MB.
func size(b int64) string {
	if b < 1e6 {
		return fmt.Sprintf("%.1f kB", float64(b)/1e3)
	}
	return megabytes(b)
}

// writeReport writes the page when every figure ran; a partial run (go
// test -run) leaves the committed page alone.
func writeReport() error {
	reportMu.Lock()
	defer reportMu.Unlock()
	var missing []string
	for _, f := range figures {
		if recorded[f.id] == nil {
			missing = append(missing, f.id)
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "reliability: figures %s did not run; not writing the page\n", strings.Join(missing, ", "))
		return nil
	}
	out := *outFile
	if out == "" {
		out = filepath.Join(repoRoot(), "docs", "reliability.md")
	}
	return os.WriteFile(out, []byte(renderReport()), 0o644)
}

func renderReport() string {
	var b strings.Builder
	total := time.Duration(0)
	failed := 0
	for _, f := range figures {
		r := recorded[f.id]
		total += r.took
		if r.failed() {
			failed++
		}
	}
	b.WriteString("# Reliability\n\n")
	fmt.Fprintf(&b, "Written by `make reliability` (`go test -tags reliability ./test/reliability`) on %s, from that run: every number below was measured by it. ", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "Machine: %s. Tools: %s. Commit: %s. ", machine(), tools(), commit())
	fmt.Fprintf(&b, "The figures took %s in all; %d of %d failed. The machine's load average (one minute) was %s when the suite started and %s when it ended; other work on the machine slows the timed checks.\n\n", seconds(total), failed, len(figures), loadAtStart, loadAverage())
	b.WriteString("Every figure runs on buildkitd daemons the suite starts for it, each with its own root, socket and log, and a registry of the suite's own; the hack/ engine only provides the base images and the frontend image (copied into the suite's registry). Every command has a timeout.\n\n")
	b.WriteString("| figure | result | time |\n|---|---|---|\n")
	for _, f := range figures {
		r := recorded[f.id]
		result := "passed"
		if r.failed() {
			result = "**failed**"
		}
		fmt.Fprintf(&b, "| [%s. %s](#%s) | %s | %s |\n", f.id, f.title, anchor(f.id+". "+f.title), result, seconds(r.took))
	}
	for _, f := range figures {
		r := recorded[f.id]
		fmt.Fprintf(&b, "\n## %s. %s\n\n%s\n\n", f.id, f.title, f.what)
		if r.failure != "" {
			fmt.Fprintf(&b, "**Failed**: %s\n\n", cell(r.failure))
		}
		if len(r.checks) > 0 {
			b.WriteString("| check | expected | measured | met |\n|---|---|---|---|\n")
			for _, c := range r.checks {
				met := "yes"
				if !c.ok {
					met = "**no**"
				}
				fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", cell(c.what), cell(c.want), cell(c.got), met)
			}
			b.WriteString("\n")
		}
		for _, n := range r.notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
		if len(r.commands) > 0 {
			if len(r.notes) > 0 {
				b.WriteString("\n")
			}
			b.WriteString("Commands (paths and ports are the run's own):\n\n```sh\n")
			for _, c := range r.commands {
				b.WriteString(c + "\n")
			}
			b.WriteString("```\n")
		}
	}
	return b.String()
}

func (f *figure) failed() bool {
	if f.failure != "" {
		return true
	}
	for _, c := range f.checks {
		if !c.ok {
			return true
		}
	}
	return false
}

func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 600 {
		s = s[:600] + "…"
	}
	return s
}

func anchor(title string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(title) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteRune('-')
		}
	}
	return b.String()
}

func machine() string {
	mem := "unknown memory"
	if dt, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		fmt.Sscanf(strings.SplitN(string(dt), "\n", 2)[0], "MemTotal: %d kB", &kb)
		mem = fmt.Sprintf("%.0f GiB memory", float64(kb)/(1<<20))
	}
	kernel := "unknown kernel"
	if dt, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = "Linux " + strings.TrimSpace(string(dt))
	}
	return fmt.Sprintf("%d cores, %s, %s, %s/%s, %s", runtime.NumCPU(), mem, kernel, runtime.GOOS, runtime.GOARCH, runtime.Version())
}

func tools() string {
	if theSuite == nil {
		return "unknown"
	}
	var parts []string
	for _, c := range [][]string{{"buildkitd", "--version"}, {"buildx", "version"}, {"registry", "--version"}} {
		out, err := exec.Command(filepath.Join(theSuite.bin, c[0]), c[1:]...).Output()
		if err != nil {
			continue
		}
		// buildkitd and buildx start with their module; the registry with
		// its own path, which says nothing.
		fields := strings.Fields(strings.SplitN(string(out), "\n", 2)[0])
		if len(fields) > 0 && strings.HasPrefix(fields[0], "/") {
			fields[0] = c[0]
		}
		parts = append(parts, strings.Join(fields, " "))
	}
	return cell(strings.Join(parts, "; "))
}

func commit() string {
	out, err := exec.Command("git", "-C", repoRoot(), "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(out))
	// The pages this run writes do not make the tree dirty; anything else
	// uncommitted does.
	if exec.Command("git", "-C", repoRoot(), "diff", "--quiet", "HEAD", "--", ".", ":(exclude)docs").Run() != nil {
		c += " with uncommitted changes"
	}
	return c
}
