//go:build reliability

package reliability

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// daemonOpts configure one buildkitd of the suite.
type daemonOpts struct {
	// platform is --oci-worker-platform; empty for the host's.
	platform string
	// searchDomain names the daemon inside its build containers: it is the
	// search domain of their /etc/resolv.conf.
	searchDomain string
	// nice, when not zero, is the daemon's scheduling priority (nice
	// value), which the processes it starts inherit.
	nice int
}

// daemon is a buildkitd the suite started: its own root, socket, config
// and log under the suite's state directory, and a buildx builder (remote
// driver) of the same name.
type daemon struct {
	name, dir, root, sock, log string
	opts                       daemonOpts
	args                       []string
	bin                        string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited <-chan struct{}
	werr   error
}

// pool holds the suite's daemons by name, so that later figures can reuse
// what earlier ones built, and stops them all at the end.
type pool struct {
	s       *suite
	mu      sync.Mutex
	daemons map[string]*daemon
}

// get returns the running daemon called name, starting it (and its buildx
// builder) on first use.
func (p *pool) get(ctx context.Context, name string, opts daemonOpts) (*daemon, error) {
	p.mu.Lock()
	d := p.daemons[name]
	p.mu.Unlock()
	if d != nil {
		if !d.running() {
			return nil, fmt.Errorf("buildkitd %s is no longer running: %v\n%s", name, d.waitErr(), d.logTail(20))
		}
		return d, nil
	}
	d, err := p.s.newDaemon(name, opts)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.daemons[name] = d
	p.mu.Unlock()
	if err := d.start(ctx); err != nil {
		return nil, err
	}
	if err := p.s.buildx.createBuilder(ctx, name, []builderNode{{endpoint: d.addr()}}); err != nil {
		return nil, err
	}
	return d, nil
}

// release stops the daemon called name and forgets it.
func (p *pool) release(name string) {
	p.mu.Lock()
	d := p.daemons[name]
	delete(p.daemons, name)
	p.mu.Unlock()
	if d != nil {
		d.stop()
	}
}

func (p *pool) closeAll() {
	p.mu.Lock()
	names := make([]string, 0, len(p.daemons))
	for n := range p.daemons {
		names = append(names, n)
	}
	p.mu.Unlock()
	for _, n := range names {
		p.release(n)
	}
}

func (s *suite) newDaemon(name string, opts daemonOpts) (*daemon, error) {
	dir := filepath.Join(s.state, name)
	d := &daemon{name: name, dir: dir, root: filepath.Join(dir, "root"), sock: filepath.Join(dir, "bk.sock"), log: filepath.Join(dir, "buildkitd.log"), opts: opts, bin: filepath.Join(s.bin, "buildkitd")}
	if len(d.sock) > 100 {
		return nil, fmt.Errorf("socket path %s is too long for a unix socket", d.sock)
	}
	if err := os.MkdirAll(d.root, 0o711); err != nil {
		return nil, err
	}
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "# Written by test/reliability for daemon %s.\n", name)
	cfg.WriteString("[worker.oci]\n  enabled = true\n[worker.containerd]\n  enabled = false\n")
	// Base images: Docker Hub names resolve through the hack/ engine's
	// registry, read only. The suite's registry holds the frontend image,
	// caches and pushed results.
	fmt.Fprintf(&cfg, "[registry.\"docker.io\"]\n  mirrors = [%q]\n", s.engine["REGISTRY"])
	// The offline twin's frontend (its `# syntax=` image) resolves to the
	// copy of this checkout's frontend image in the suite's registry.
	fmt.Fprintf(&cfg, "[registry.%q]\n  mirrors = [%q]\n", s.twinHost, s.reg.host)
	for _, r := range []string{s.engine["REGISTRY"], s.reg.host} {
		fmt.Fprintf(&cfg, "[registry.%q]\n  http = true\n  insecure = true\n", r)
	}
	if opts.searchDomain != "" {
		fmt.Fprintf(&cfg, "[dns]\n  searchDomains = [%q]\n", opts.searchDomain)
	}
	toml := filepath.Join(dir, "buildkitd.toml")
	if err := os.WriteFile(toml, []byte(cfg.String()), 0o644); err != nil {
		return nil, err
	}
	// --debug: each container the daemon creates is logged with its step,
	// which figure 6 reads as the per-node logs.
	d.args = []string{"--root", d.root, "--addr", d.addr(), "--oci-worker-net=host", "--config", toml, "--debug"}
	if opts.platform != "" {
		d.args = append(d.args, "--oci-worker-platform", opts.platform)
	}
	return d, nil
}

func (d *daemon) addr() string { return "unix://" + d.sock }

// start launches buildkitd on the daemon's root and waits up to a minute
// for it to answer.
func (d *daemon) start(ctx context.Context) error {
	logf, err := os.OpenFile(d.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	fmt.Fprintf(logf, "=== %s: starting buildkitd %s\n", time.Now().Format(time.RFC3339Nano), strings.Join(d.args, " "))
	cmd := exec.Command(d.bin, d.args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	exited, err := startLocked(cmd, func(err error) {
		d.mu.Lock()
		d.werr = err
		d.mu.Unlock()
	})
	if err != nil {
		return fmt.Errorf("starting buildkitd %s: %w", d.name, err)
	}
	d.mu.Lock()
	d.cmd, d.exited, d.werr = cmd, exited, nil
	d.mu.Unlock()
	if d.opts.nice != 0 {
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, cmd.Process.Pid, d.opts.nice); err != nil {
			return fmt.Errorf("setting the priority of buildkitd %s: %w", d.name, err)
		}
	}
	return d.waitReady(ctx, time.Minute)
}

// waitReady polls the daemon's workers until it answers, it exits, or the
// timeout passes.
func (d *daemon) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		if !d.running() {
			return fmt.Errorf("buildkitd %s exited while starting: %v; last lines of %s:\n%s", d.name, d.waitErr(), d.log, d.logTail(30))
		}
		if last = ping(ctx, d.addr()); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("buildkitd %s did not answer within %s: %v; last lines of %s:\n%s", d.name, timeout, last, d.log, d.logTail(30))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// startLocked starts cmd from a goroutine locked to its OS thread, which
// waits for cmd there: the parent-death signal (Pdeathsig) is tied to the
// thread that started the process, so the daemon dies with the test binary
// (a timeout, a crash) but never because Go retired an idle thread. done is
// called with cmd's exit before the returned channel closes.
func startLocked(cmd *exec.Cmd, done func(error)) (<-chan struct{}, error) {
	started := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		done(cmd.Wait())
		close(exited)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return exited, nil
}

// ping asks the daemon at addr for its workers, within five seconds.
func ping(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := client.New(ctx, addr)
	if err != nil {
		return err
	}
	defer c.Close()
	w, err := c.ListWorkers(ctx)
	if err == nil && len(w) == 0 {
		err = errors.New("no workers")
	}
	return err
}

func (d *daemon) pid() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd == nil || d.cmd.Process == nil {
		return 0
	}
	return d.cmd.Process.Pid
}

func (d *daemon) running() bool {
	d.mu.Lock()
	ch := d.exited
	d.mu.Unlock()
	if ch == nil {
		return false
	}
	select {
	case <-ch:
		return false
	default:
		return true
	}
}

func (d *daemon) waitErr() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.werr
}

// signal sends sig to buildkitd and waits up to timeout for it to exit.
func (d *daemon) signal(sig syscall.Signal, timeout time.Duration) bool {
	d.mu.Lock()
	cmd, ch := d.cmd, d.exited
	d.mu.Unlock()
	if cmd == nil || ch == nil {
		return true
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-ch:
		return true
	case <-time.After(timeout):
		return false
	}
}

// kill sends SIGKILL to buildkitd alone, as a crash would, and returns the
// processes it had started (runc and the build steps' processes), recorded
// just before. runc dies with the daemon (its parent-death signal); the
// steps' processes outlive it.
func (d *daemon) kill() []proc {
	before := descendants(d.pid())
	d.signal(syscall.SIGKILL, 10*time.Second)
	return before
}

// reap kills, by pid, those of procs that are still the same processes.
func reap(procs []proc) int {
	n := 0
	for _, p := range procs {
		if p.alive() {
			_ = syscall.Kill(p.pid, syscall.SIGKILL)
			n++
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, p := range procs {
		for p.alive() && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
	}
	return n
}

// stop stops buildkitd (SIGTERM, then SIGKILL after 30 s), kills what its
// build steps left running, and unmounts what it left mounted under its
// root.
func (d *daemon) stop() {
	left := descendants(d.pid())
	if !d.signal(syscall.SIGTERM, 30*time.Second) {
		d.signal(syscall.SIGKILL, 10*time.Second)
	}
	reap(left)
	unmountUnder(d.dir)
}

func (d *daemon) logTail(n int) string {
	dt, err := os.ReadFile(d.log)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(dt), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// logText is the daemon's whole log.
func (d *daemon) logText() string {
	dt, _ := os.ReadFile(d.log)
	return string(dt)
}

// proc is a process identified by pid and start time, so that a reused pid
// is never mistaken for it.
type proc struct {
	pid   int
	start uint64
	cmd   string
}

func (p proc) alive() bool {
	_, start, ok := statOf(p.pid)
	return ok && start == p.start
}

// statOf returns a process's parent pid and start time from /proc.
func statOf(pid int) (ppid int, start uint64, ok bool) {
	dt, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, false
	}
	s := string(dt)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(s[i+1:])
	// f[0] is the state (field 3); ppid is field 4, starttime field 22.
	if len(f) < 20 {
		return 0, 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	start, _ = strconv.ParseUint(f[19], 10, 64)
	return ppid, start, true
}

// descendants returns every process under pid, from /proc.
func descendants(pid int) []proc {
	if pid == 0 {
		return nil
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]proc{}
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ppid, start, ok := statOf(n)
		if !ok {
			continue
		}
		children[ppid] = append(children[ppid], proc{pid: n, start: start})
	}
	var out []proc
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			c.cmd = cmdline(c)
			out = append(out, c)
			queue = append(queue, c.pid)
		}
	}
	return out
}

// cmdline reads a process's command line (empty once it has exited).
func cmdline(p proc) string {
	dt, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.pid))
	return strings.TrimSpace(strings.ReplaceAll(string(dt), "\x00", " "))
}

// memory reads a process's resident set and its peak (VmRSS and VmHWM),
// in bytes.
func memory(pid int) (rss, peak int64) {
	dt, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(dt), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = kb * 1024
		case "VmHWM":
			peak = kb * 1024
		}
	}
	return rss, peak
}

// resetPeak resets the daemon's peak resident set (VmHWM) to its current
// one, so that the next reading is the peak since now.
func (d *daemon) resetPeak() error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", d.pid()), []byte("5"), 0)
}

// sampleEvery is how often a sampler reads resident sets.
const sampleEvery = 20 * time.Millisecond

// sampler samples, every sampleEvery, the daemon's resident set and that of the
// daemon with every process under it (runc, the frontend's container, the
// steps).
type sampler struct {
	stop     chan struct{}
	done     chan struct{}
	peakD    int64
	peakTree int64
	// frontendCPU is the CPU time, in clock ticks, that the frontend's
	// processes (/bin/frontend) had used when last seen, by process.
	frontendCPU map[proc]uint64
}

func (d *daemon) sample() *sampler {
	s := &sampler{stop: make(chan struct{}), done: make(chan struct{}), frontendCPU: map[proc]uint64{}}
	pid := d.pid()
	go func() {
		defer close(s.done)
		t := time.NewTicker(sampleEvery)
		defer t.Stop()
		for {
			rss, _ := memory(pid)
			tree := rss
			for _, p := range descendants(pid) {
				r, _ := memory(p.pid)
				tree += r
				if strings.HasPrefix(p.cmd, "/bin/frontend") {
					if ticks, ok := cpuTicks(p.pid); ok {
						key := proc{pid: p.pid, start: p.start}
						s.frontendCPU[key] = max(s.frontendCPU[key], ticks)
					}
				}
			}
			s.peakD, s.peakTree = max(s.peakD, rss), max(s.peakTree, tree)
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// frontendCPUTime is the CPU time the frontend's processes used while
// sampled (as last seen; a process's final moments may be missed).
func (s *sampler) frontendCPUTime() time.Duration {
	var ticks uint64
	for _, t := range s.frontendCPU {
		ticks += t
	}
	return time.Duration(ticks) * time.Second / clockTicks
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux this suite runs on.
const clockTicks = 100

// cpuTicks returns a process's user plus system CPU time, in clock ticks.
func cpuTicks(pid int) (uint64, bool) {
	dt, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	s := string(dt)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	u, _ := strconv.ParseUint(f[11], 10, 64)
	st, _ := strconv.ParseUint(f[12], 10, 64)
	return u + st, true
}

// loadAverage is the machine's load average over the last minute.
func loadAverage() string {
	dt, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Fields(string(dt))[0]
}

// end stops sampling and returns the peaks.
func (s *sampler) end() (daemon, tree int64) {
	close(s.stop)
	<-s.done
	return s.peakD, s.peakTree
}

// treeRSS is the resident set of pid and every process under it.
func treeRSS(pid int) int64 {
	total, _ := memory(pid)
	for _, p := range descendants(pid) {
		r, _ := memory(p.pid)
		total += r
	}
	return total
}

// unmountUnder lazily unmounts every mount point under dir, deepest first.
func unmountUnder(dir string) {
	mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		return
	}
	points := make([]string, 0, len(mounts))
	for _, m := range mounts {
		points = append(points, m.Mountpoint)
	}
	slices.SortFunc(points, func(a, b string) int { return len(b) - len(a) })
	for _, p := range points {
		_ = unix.Unmount(p, unix.MNT_DETACH)
	}
}

// removeState removes the suite's state directory, unless something is
// still mounted under it: never rm -rf through a live mount.
func removeState(dir string) {
	unmountUnder(dir)
	if mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir)); err != nil || len(mounts) > 0 {
		fmt.Fprintf(os.Stderr, "reliability: mounts left under %s, not removing it\n", dir)
		return
	}
	_ = os.RemoveAll(dir)
}
