//go:build reliability

package reliability

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	digest "github.com/opencontainers/go-digest"

	"github.com/ohlcv-rag/ohlcv-build/internal/buildprogress"
)

// buildx runs docker buildx (or the standalone buildx when there is no
// docker CLI) with a config directory of the suite's own (BUILDX_CONFIG),
// so that the suite's builders never touch the user's.
type buildx struct {
	argv   []string
	config string
}

func newBuildx(bin, config string) (*buildx, error) {
	if err := os.MkdirAll(config, 0o755); err != nil {
		return nil, err
	}
	b := &buildx{argv: []string{filepath.Join(bin, "buildx")}, config: config}
	if _, err := exec.LookPath("docker"); err == nil {
		if exec.Command("docker", "buildx", "version").Run() == nil {
			b.argv = []string{"docker", "buildx"}
		}
	}
	return b, nil
}

// display is how the page shows a buildx command.
func (b *buildx) display(args []string) string {
	return strings.Join(append([]string{"docker buildx"}, quoteAll(args)...), " ")
}

func quoteAll(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'$`\\|&;<>(){}*?") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return out
}

// invocation is one buildx command.
type invocation struct {
	args    []string
	nice    int // when not zero, run buildx with this nice value
	dir     string
	env     []string
	timeout time.Duration
	// onLine, if set, sees each line of stderr as it comes.
	onLine func(string)
}

// outcome is what a buildx command did.
type outcome struct {
	stdout, stderr []byte
	err            error
	took           time.Duration
}

// running is a buildx command in flight.
type running struct {
	cmd    *exec.Cmd
	cancel context.CancelFunc
	start  time.Time
	stdout bytes.Buffer
	stderr syncBuffer
	lines  sync.WaitGroup
	done   chan struct{}
	out    outcome
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// start starts inv; its whole process group is killed when the timeout
// passes or ctx ends.
func (b *buildx) start(ctx context.Context, inv invocation) (*running, error) {
	if inv.timeout == 0 {
		inv.timeout = 10 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, inv.timeout)
	argv := append(slices.Clone(b.argv), inv.args...)
	if inv.nice != 0 {
		argv = append([]string{"nice", "-n", strconv.Itoa(inv.nice)}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = inv.dir
	cmd.Env = append(append(os.Environ(), "BUILDX_CONFIG="+b.config, "BUILDX_NO_DEFAULT_ATTESTATIONS=1"), inv.env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	r := &running{cmd: cmd, cancel: cancel, done: make(chan struct{})}
	cmd.Stdout = &r.stdout
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	r.lines.Add(1)
	go func() {
		defer r.lines.Done()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 64<<20)
		for sc.Scan() {
			line := sc.Text()
			r.stderr.Write([]byte(line + "\n"))
			if inv.onLine != nil {
				inv.onLine(line)
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	r.start = time.Now()
	if err := cmd.Start(); err != nil {
		cancel()
		pw.Close()
		return nil, fmt.Errorf("starting buildx: %w", err)
	}
	go func() {
		err := cmd.Wait()
		took := time.Since(r.start)
		pw.Close()
		r.lines.Wait()
		if ctx.Err() == context.DeadlineExceeded {
			err = fmt.Errorf("timed out after %s: %w", inv.timeout, err)
		}
		if err != nil {
			err = fmt.Errorf("%s: %w\n%s", b.display(inv.args), err, tail(r.stderr.Bytes(), 40))
		}
		r.out = outcome{stdout: r.stdout.Bytes(), stderr: r.stderr.Bytes(), err: err, took: took}
		cancel()
		close(r.done)
	}()
	return r, nil
}

// kill kills the command's process group with SIGKILL, as a client that
// crashed or lost its machine would disappear.
func (r *running) kill() {
	_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
}

func (r *running) wait() outcome {
	<-r.done
	return r.out
}

func (b *buildx) run(ctx context.Context, inv invocation) outcome {
	r, err := b.start(ctx, inv)
	if err != nil {
		return outcome{err: err}
	}
	return r.wait()
}

func tail(dt []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(dt), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i, l := range lines {
		if len(l) > 400 {
			lines[i] = l[:400] + "…"
		}
	}
	return strings.Join(lines, "\n")
}

// builderNode is one node of a buildx builder (remote driver).
type builderNode struct {
	endpoint, platform string
}

// createBuilder creates builder name with the given nodes (remote driver),
// replacing one of that name, and checks that every node answers.
func (b *buildx) createBuilder(ctx context.Context, name string, nodes []builderNode) error {
	_ = b.run(ctx, invocation{args: []string{"rm", name}, timeout: 30 * time.Second})
	for i, n := range nodes {
		args := []string{"create", "--name", name, "--node", fmt.Sprintf("%s%d", name, i), "--driver", "remote"}
		if i > 0 {
			args = append(args, "--append")
		}
		if n.platform != "" {
			args = append(args, "--platform", n.platform)
		}
		if o := b.run(ctx, invocation{args: append(args, n.endpoint), timeout: 30 * time.Second}); o.err != nil {
			return o.err
		}
	}
	o := b.run(ctx, invocation{args: []string{"inspect", "--bootstrap", name}, timeout: time.Minute})
	return o.err
}

// buildSpec is one docker buildx build.
type buildSpec struct {
	builder  string
	dir      string // the context
	file     string // relative to dir
	target   string
	args     map[string]string
	secrets  []string
	outputs  []string
	extra    []string
	progress string // rawjson (default) or plain
	env      []string
	timeout  time.Duration
	onLine   func(string)
	nice     int
}

// built is a finished build: its outcome, its metadata file and its
// progress (rawjson only).
type built struct {
	outcome
	command  string
	meta     map[string]json.RawMessage
	progress *progress
}

func (b *buildx) buildArgs(s buildSpec, metaFile string) []string {
	progressMode := s.progress
	if progressMode == "" {
		progressMode = "rawjson"
	}
	args := []string{"build", "--builder", s.builder, "--progress=" + progressMode}
	if s.file != "" {
		args = append(args, "-f", s.file)
	}
	if s.target != "" {
		args = append(args, "--target", s.target)
	}
	for _, k := range slices.Sorted(maps.Keys(s.args)) {
		args = append(args, "--build-arg", k+"="+s.args[k])
	}
	for _, sec := range s.secrets {
		args = append(args, "--secret", sec)
	}
	for _, o := range s.outputs {
		args = append(args, "--output", o)
	}
	args = append(args, s.extra...)
	if metaFile != "" {
		args = append(args, "--metadata-file", metaFile)
	}
	return append(args, ".")
}

// startBuild starts a build; finish it with [pendingBuild.wait].
func (b *buildx) startBuild(ctx context.Context, s buildSpec) (*pendingBuild, error) {
	mf, err := os.CreateTemp("", "ohlcv-rel-meta-*.json")
	if err != nil {
		return nil, err
	}
	mf.Close()
	args := b.buildArgs(s, mf.Name())
	r, err := b.start(ctx, invocation{args: args, dir: s.dir, env: s.env, timeout: s.timeout, onLine: s.onLine, nice: s.nice})
	if err != nil {
		os.Remove(mf.Name())
		return nil, err
	}
	return &pendingBuild{r: r, meta: mf.Name(), command: "cd " + s.dir + " && " + b.display(b.buildArgs(s, "")), rawjson: s.progress == "" || s.progress == "rawjson"}, nil
}

type pendingBuild struct {
	r       *running
	meta    string
	command string
	rawjson bool
}

func (p *pendingBuild) wait() *built {
	o := p.r.wait()
	defer os.Remove(p.meta)
	res := &built{outcome: o, command: p.command, meta: map[string]json.RawMessage{}}
	if dt, err := os.ReadFile(p.meta); err == nil && len(dt) > 0 {
		_ = json.Unmarshal(dt, &res.meta)
	}
	if p.rawjson {
		res.progress = parseProgress(o.stderr)
	}
	return res
}

func (b *buildx) build(ctx context.Context, s buildSpec) *built {
	p, err := b.startBuild(ctx, s)
	if err != nil {
		return &built{outcome: outcome{err: err}}
	}
	return p.wait()
}

// metaString returns a string value of the build's metadata file.
func (r *built) metaString(key string) string {
	var s string
	_ = json.Unmarshal(r.meta[key], &s)
	return s
}

// historyRef is the build's record in the daemon's history, from the
// metadata file's buildx.build.ref (builder/node/ref).
func (r *built) historyRef() string {
	ref := r.metaString("buildx.build.ref")
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		return ref[i+1:]
	}
	return ref
}

// progress is a rawjson progress stream: vertices in order of appearance,
// each vertex's logs, and the warnings.
type progress struct{ *buildprogress.Progress }

func parseProgress(dt []byte) *progress {
	return &progress{buildprogress.ParseRawJSON(dt)}
}

// stepName matches the frontend's names of steps that run a command:
// runs, presets and parallel branches of them, with or without a platform.
var stepName = regexp.MustCompile(`\] (parallel \d+/\d+ )?(run|apt|apk|pip|uv|go): `)

// steps returns the names of the vertices that run a command.
func (p *progress) steps() []string {
	var out []string
	for _, v := range p.Vertices() {
		if stepName.MatchString(v.Name) {
			out = append(out, v.Name)
		}
	}
	return out
}

// ran returns the names of the command steps that ran rather than came
// from the cache.
func (p *progress) ran() []string {
	var out []string
	for _, v := range p.Vertices() {
		if stepName.MatchString(v.Name) && !v.Cached && v.Completed != nil {
			out = append(out, v.Name)
		}
	}
	return out
}

// cached reports whether the vertex named name (exactly) came from the
// cache.
func (p *progress) cached(name string) (cached, found bool) {
	for _, v := range p.Vertices() {
		if v.Name == name {
			return v.Cached, true
		}
	}
	return false, false
}

// dependents returns the names of the command steps that depend, through
// the vertices' inputs, on a vertex whose name matches root.
func (p *progress) dependents(root func(name string) bool) []string {
	vs := p.Vertices()
	reached := map[digest.Digest]bool{}
	for _, v := range vs {
		if root(v.Name) {
			reached[v.Digest] = true
		}
	}
	for changed := true; changed; {
		changed = false
		for _, v := range vs {
			if reached[v.Digest] {
				continue
			}
			for _, in := range v.Inputs {
				if reached[in] {
					reached[v.Digest], changed = true, true
					break
				}
			}
		}
	}
	var out []string
	for _, v := range vs {
		if reached[v.Digest] && stepName.MatchString(v.Name) {
			out = append(out, v.Name)
		}
	}
	return out
}

// logText is every vertex's log, in order.
func (p *progress) logText() string {
	var b strings.Builder
	for _, v := range p.Vertices() {
		b.Write(p.Log(v.Digest))
	}
	return b.String()
}
