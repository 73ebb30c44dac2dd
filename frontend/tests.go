package frontend

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/moby/buildkit/client/llb"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	fstypes "github.com/tonistiigi/fsutil/types"
	"golang.org/x/sync/errgroup"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph"
	"github.com/ohlcv-rag/ohlcv-build/llbgraph/filetest"
	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

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
				failure, err = fileTest(ctx, c, ref, t, caps)
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

// gatewayFS reads a solved result through the gateway, for file tests
// checked without a step of their own ([llbgraph.Opt.FileTestImage] empty).
// A nil ref is an empty filesystem (scratch).
type gatewayFS struct{ ref gwclient.Reference }

// Lstat returns what is at p without following a link there, as the
// gateway's StatFile does not: it reads p's parent directory for p's entry.
func (g gatewayFS) Lstat(ctx context.Context, p string) (*fstypes.Stat, error) {
	if g.ref == nil {
		return nil, &fs.PathError{Op: "lstat", Path: p, Err: fs.ErrNotExist}
	}
	p = path.Clean(p)
	dir, base := path.Split(p)
	if base == "" || base == "/" {
		return g.ref.StatFile(ctx, gwclient.StatRequest{Path: p})
	}
	entries, err := g.ref.ReadDir(ctx, gwclient.ReadDirRequest{Path: dir, IncludePattern: base})
	if err != nil {
		// The gateway's errors do not say which: a missing parent
		// (the common case) reads as a missing path.
		return nil, &fs.PathError{Op: "lstat", Path: p, Err: fs.ErrNotExist}
	}
	for _, e := range entries {
		if path.Base(e.Path) == base {
			return e, nil
		}
	}
	return nil, &fs.PathError{Op: "lstat", Path: p, Err: fs.ErrNotExist}
}

// ReadFile returns at most limit bytes of the file at p.
func (g gatewayFS) ReadFile(ctx context.Context, p string, limit int) ([]byte, error) {
	if g.ref == nil {
		return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
	}
	dt, err := g.ref.ReadFile(ctx, gwclient.ReadRequest{Filename: p, Range: &gwclient.FileRange{Length: limit}})
	if err != nil && strings.Contains(err.Error(), "no such file") {
		return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
	}
	return dt, err
}

// solveOutput solves a test's step and returns a reader of its output
// directory.
func solveOutput(ctx context.Context, c gwclient.Client, t *llbgraph.Test, caps llb.ConstraintsOpt) (func(name string) (string, error), error) {
	def, err := t.Output.Marshal(ctx, caps)
	if err != nil {
		return nil, err
	}
	r, err := c.Solve(ctx, gwclient.SolveRequest{Definition: def.ToPB()})
	if err != nil {
		return nil, err
	}
	ref, err := r.SingleRef()
	if err != nil {
		return nil, err
	}
	return func(name string) (string, error) {
		dt, err := ref.ReadFile(ctx, gwclient.ReadRequest{Filename: path.Join(llbgraph.TestOutputDir, name), Range: &gwclient.FileRange{Length: filetest.MaxRead}})
		return string(dt), err
	}, nil
}

// fileTest runs a file test's step, or checks ref itself when the test
// has none.
func fileTest(ctx context.Context, c gwclient.Client, ref gwclient.Reference, t *llbgraph.Test, caps llb.ConstraintsOpt) (string, error) {
	if t.Output == nil {
		return filetest.Run(ctx, gatewayFS{ref}, filetest.CheckOf(t.Spec))
	}
	read, err := solveOutput(ctx, c, t, caps)
	if err != nil {
		return "", err
	}
	return read(llbgraph.FileTestResult)
}

// runTest solves a run or health check test and compares its output.
func runTest(ctx context.Context, c gwclient.Client, t *llbgraph.Test, caps llb.ConstraintsOpt) (string, error) {
	read, err := solveOutput(ctx, c, t, caps)
	if err != nil {
		return "", err
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
		if f := filetest.Compare("the standard output", filetest.MatchOf(ts.Stdout), stdout); f != "" {
			return f, nil
		}
	}
	if ts.Stderr != nil {
		if f := filetest.Compare("the standard error", filetest.MatchOf(ts.Stderr), stderr); f != "" {
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
		fmt.Fprintf(&b, "; stdout: %s", strconv.Quote(filetest.Tail(s)))
	}
	if s := strings.TrimSpace(stderr); s != "" {
		fmt.Fprintf(&b, "; stderr: %s", strconv.Quote(filetest.Tail(s)))
	}
	return b.String()
}
