package frontend

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/moby/buildkit/client/llb"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	fstypes "github.com/tonistiigi/fsutil/types"
	"golang.org/x/sync/errgroup"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph"
	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// maxTestRead bounds how much of a file or an output a test reads.
const maxTestRead = 1 << 20

// runTests runs the target's tests against ref, its solved filesystem, all
// at once, and returns every failure, each a [*spec.Error] at the test's
// line so that buildx shows it. The result the build returns is not
// touched: the image is the same with tests or without.
func runTests(ctx context.Context, c gwclient.Client, s *spec.Spec, ref gwclient.Reference, tests []*llbgraph.Test, caps llb.ConstraintsOpt) error {
	errs := make([]error, len(tests))
	eg, ctx := errgroup.WithContext(ctx)
	for i, t := range tests {
		eg.Go(func() error {
			var failure string
			var err error
			switch {
			case t.Kind == spec.TestFile:
				failure, err = fileTest(ctx, ref, t.Spec)
			case t.Output != nil:
				failure, err = runTest(ctx, c, t, caps)
			}
			switch {
			case err != nil:
				return fmt.Errorf("test %s: %w", spec.Quote(t.Spec.Name.Value), err)
			case failure != "":
				errs[i] = spec.Errorf(s.Filename, t.Spec.Node.Path(), t.Spec.Node.Range, "test %s failed: %s", spec.Quote(t.Spec.Name.Value), failure)
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return err
	}
	return errors.Join(errs...)
}

// fileTest checks a path of ref and says what is wrong, or "".
func fileTest(ctx context.Context, ref gwclient.Reference, t *spec.Test) (string, error) {
	p := t.File.Value
	var st *fstypes.Stat
	err := errors.New("empty filesystem")
	if ref != nil { // nil is an empty filesystem (scratch)
		st, err = lstat(ctx, ref, p)
	}
	if err != nil {
		if t.Absent.Value {
			return "", nil
		}
		return fmt.Sprintf("expected %s to exist, found nothing there", p), nil
	}
	if t.Absent.Value {
		return fmt.Sprintf("expected %s to be absent, found %s", p, describeStat(st)), nil
	}
	mode := os.FileMode(st.Mode)
	if t.Dir.Value && !mode.IsDir() {
		return fmt.Sprintf("expected %s to be a directory, found %s", p, describeStat(st)), nil
	}
	if t.Mode != nil {
		if got := permBits(mode); got != t.Mode.Value {
			return fmt.Sprintf("expected %s to have mode %04o, found %04o", p, uint32(t.Mode.Value), uint32(got)), nil
		}
	}
	if t.Owner.IsSet() {
		want := t.Owner.User
		got := strconv.FormatUint(uint64(st.Uid), 10)
		if t.Owner.Group != "" {
			want += ":" + t.Owner.Group
			got += ":" + strconv.FormatUint(uint64(st.Gid), 10)
		}
		if got != want {
			return fmt.Sprintf("expected %s to be owned by %s, found %s", p, want, got), nil
		}
	}
	if t.Link.Value != "" {
		if mode&os.ModeSymlink == 0 {
			return fmt.Sprintf("expected %s to be a link to %s, found %s", p, t.Link.Value, describeStat(st)), nil
		}
		if st.Linkname != t.Link.Value {
			return fmt.Sprintf("expected %s to link to %s, found a link to %s", p, t.Link.Value, st.Linkname), nil
		}
	}
	if t.Match.IsSet() {
		if !mode.IsRegular() {
			return fmt.Sprintf("expected %s to be a file to read, found %s", p, describeStat(st)), nil
		}
		dt, err := ref.ReadFile(ctx, gwclient.ReadRequest{Filename: p, Range: &gwclient.FileRange{Length: maxTestRead}})
		if err != nil {
			return "", err
		}
		if f := compare(p, &t.Match, string(dt)); f != "" {
			return f, nil
		}
	}
	return "", nil
}

// lstat returns what is at p without following a link there, as the
// gateway's StatFile does not: it reads p's parent directory for p's entry.
func lstat(ctx context.Context, ref gwclient.Reference, p string) (*fstypes.Stat, error) {
	p = path.Clean(p)
	dir, base := path.Split(p)
	if base == "" || base == "/" {
		return ref.StatFile(ctx, gwclient.StatRequest{Path: p})
	}
	entries, err := ref.ReadDir(ctx, gwclient.ReadDirRequest{Path: dir, IncludePattern: base})
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if path.Base(e.Path) == base {
			return e, nil
		}
	}
	return nil, fmt.Errorf("%s: not found", p)
}

// permBits returns a Go file mode's permission bits as chmod writes them.
func permBits(m os.FileMode) os.FileMode {
	p := m.Perm()
	if m&os.ModeSetuid != 0 {
		p |= 0o4000
	}
	if m&os.ModeSetgid != 0 {
		p |= 0o2000
	}
	if m&os.ModeSticky != 0 {
		p |= 0o1000
	}
	return p
}

// describeStat says what a path is.
func describeStat(st *fstypes.Stat) string {
	m := os.FileMode(st.Mode)
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeSymlink != 0:
		return "a link to " + st.Linkname
	case m.IsRegular():
		return fmt.Sprintf("a file of %d bytes", st.Size)
	}
	return "a " + m.Type().String() + " file"
}

// runTest solves a run or health check test and compares its output.
func runTest(ctx context.Context, c gwclient.Client, t *llbgraph.Test, caps llb.ConstraintsOpt) (string, error) {
	def, err := t.Output.Marshal(ctx, caps)
	if err != nil {
		return "", err
	}
	r, err := c.Solve(ctx, gwclient.SolveRequest{Definition: def.ToPB()})
	if err != nil {
		return "", err
	}
	ref, err := r.SingleRef()
	if err != nil {
		return "", err
	}
	read := func(name string) (string, error) {
		dt, err := ref.ReadFile(ctx, gwclient.ReadRequest{Filename: path.Join(llbgraph.TestOutputDir, name), Range: &gwclient.FileRange{Length: maxTestRead}})
		return string(dt), err
	}
	exitText, err := read("exit")
	if err != nil {
		return "", err
	}
	code, err := strconv.Atoi(strings.TrimSpace(exitText))
	if err != nil {
		return "", fmt.Errorf("reading the exit code %q: %w", exitText, err)
	}
	stdout, err := read("stdout")
	if err != nil {
		return "", err
	}
	stderr, err := read("stderr")
	if err != nil {
		return "", err
	}
	ts := t.Spec
	want := 0
	if ts.Exit != nil {
		want = ts.Exit.Value
	}
	if code != want {
		return fmt.Sprintf("expected %s to exit with %d, found exit code %d%s", commandName(t), want, code, outputs(stdout, stderr)), nil
	}
	if ts.Stdout != nil {
		if f := compare("the standard output", ts.Stdout, stdout); f != "" {
			return f, nil
		}
	}
	if ts.Stderr != nil {
		if f := compare("the standard error", ts.Stderr, stderr); f != "" {
			return f, nil
		}
	}
	return "", nil
}

// commandName names what a test ran.
func commandName(t *llbgraph.Test) string {
	if t.Kind == spec.TestHealthcheck {
		return "the health check " + spec.Quote(strings.Join(t.Args, " "))
	}
	return spec.Quote(t.Spec.Run.Value)
}

// outputs shows what a failing command wrote, shortened.
func outputs(stdout, stderr string) string {
	var b strings.Builder
	if s := strings.TrimSpace(stdout); s != "" {
		fmt.Fprintf(&b, "; stdout: %s", spec.Quote(shorten(s)))
	}
	if s := strings.TrimSpace(stderr); s != "" {
		fmt.Fprintf(&b, "; stderr: %s", spec.Quote(shorten(s)))
	}
	return b.String()
}

// compare checks text against m and says what is wrong, or "".
func compare(what string, m *spec.Match, text string) string {
	if m.Equals != nil && text != m.Equals.Value {
		return fmt.Sprintf("expected %s to equal %s, found %s", what, spec.Quote(m.Equals.Value), spec.Quote(shorten(text)))
	}
	if m.Contains.Value != "" && !strings.Contains(text, m.Contains.Value) {
		return fmt.Sprintf("expected %s to contain %s, found %s", what, spec.Quote(m.Contains.Value), spec.Quote(shorten(text)))
	}
	if m.Matches.Value != "" {
		re, err := regexp.Compile(m.Matches.Value) // spec.Load checked it
		if err != nil || !re.MatchString(text) {
			return fmt.Sprintf("expected %s to match %s, found %s", what, spec.Quote(m.Matches.Value), spec.Quote(shorten(text)))
		}
	}
	return ""
}

// shorten cuts a text shown in a message to a few hundred bytes.
func shorten(s string) string {
	const limit = 300
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "..."
}
