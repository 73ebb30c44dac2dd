package llbgraph

import (
	"encoding/json"
	"path"
	"slices"
	"strconv"

	"github.com/moby/buildkit/client/llb"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/filetest"
	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// SkipTestsArg is the build arg that skips the target's tests
// (--build-arg OHLCV_SKIP_TESTS=1): any value but "", "0" and "false".
const SkipTestsArg = "OHLCV_SKIP_TESTS"

// SkipTests reports whether the build args ask to skip the tests.
func SkipTests(buildArgs map[string]string) bool {
	v, ok := buildArgs[SkipTestsArg]
	return ok && v != "" && v != "0" && v != "false"
}

// TestOutputDir is where a run or health check test's output is, in the
// filesystem of [Test.Output]: the files stdout, stderr and exit (the exit
// code in decimal, then a newline).
const TestOutputDir = "/out"

// testMount is where a test's output directory is mounted in its
// container.
const testMount = "/.ohlcv-test"

// testWrapper runs the command given as its arguments with its output and
// exit code written to files, so that a failing command does not fail the
// solve and the frontend can say what it found.
const testWrapper = `"$@" >` + testMount + `/stdout 2>` + testMount + `/stderr; echo $? >` + testMount + `/exit`

// FileTestResult is the file, in a file test's [Test.Output], that says
// what is wrong: empty when the test passed.
const FileTestResult = "result"

// fileTestCommand is the checker's command in [Opt.FileTestImage]: its
// arguments are the root to check, the result file to write and the
// check, as JSON ([filetest.Check]).
var fileTestCommand = []string{"/bin/frontend", "test-file"}

// testTmp is a run test's scratch space, an empty tmpfs over the read-only
// root, since many tools (pytest, compilers) need a writable temporary
// directory.
const testTmp = "/tmp"

// fileTestRoot is where a file test's checker sees the target's root.
const fileTestRoot = "/target"

// Test is one test of the target, compiled: an exec of its own, cached like
// any step. A run or health check test runs its command on the target's
// filesystem. A file test runs `frontend test-file` from
// [Opt.FileTestImage] with that filesystem mounted read-only, so it works
// on an image without a shell; with no such image, it has no step and the
// caller checks the solved filesystem itself ([filetest.Run]).
type Test struct {
	// Spec is the test as written; its Node says where, for errors.
	Spec *spec.Test
	// Kind is its kind.
	Kind spec.TestKind
	// Name is its progress name: [stage test 1/3] test: name.
	Name string
	// Args are the command a run or health check test runs, before the
	// wrapper that records its output.
	Args []string
	// Output is the filesystem that holds the test's output under
	// [TestOutputDir]: stdout, stderr and exit for a run or health check
	// test, [FileTestResult] for a file test. Nil for a file test without
	// [Opt.FileTestImage].
	Output *llb.State
}

// compileTests compiles the tests of an evaluated, compiled stage, each a
// step of its own (commandTest, fileTest).
func (c *compiler) compileTests(sp *stagePlan) ([]*Test, error) {
	st := sp.stage
	if len(st.Tests) == 0 {
		return nil, nil
	}
	checker := c.fileTestChecker(sp)
	out := make([]*Test, 0, len(st.Tests))
	for i, t := range st.Tests {
		label := spec.Shorten(st.Name) + " test " + strconv.Itoa(i+1) + "/" + strconv.Itoa(len(st.Tests))
		ct := &Test{Spec: t, Kind: t.Kind(), Name: spec.Escape(c.prefix(sp.platform, label) + " test: " + t.Name.Value)}
		out = append(out, ct)
		var err error
		switch {
		case ct.Kind == spec.TestRun || ct.Kind == spec.TestHealthcheck:
			err = c.commandTest(sp, ct, label)
		case ct.Kind == spec.TestFile && checker != nil:
			err = c.fileTest(sp, ct, label, *checker)
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// fileTestChecker is the image whose `frontend test-file` checks the
// stage's file tests, or nil when they have no step: no [Opt.FileTestImage],
// or a stage that is scratch, with nothing to mount; the caller then checks
// them itself.
func (c *compiler) fileTestChecker(sp *stagePlan) *llb.State {
	if c.opt.FileTestImage == "" || sp.build.state.Output() == nil {
		return nil
	}
	name := c.prefix(sp.platform, spec.Shorten(sp.stage.Name)+" tests") + " checker " + c.opt.FileTestImage
	st := llb.Image(c.opt.FileTestImage, llb.Platform(c.opt.BuildPlatform), llb.WithCustomName(spec.Escape(name)))
	return &st
}

// outputDir is the empty directory a test's step writes its output to.
func (c *compiler) outputDir(sp *stagePlan, label string) llb.State {
	return llb.Scratch().File(llb.Mkdir(TestOutputDir, 0o777), llb.WithCustomName(spec.Escape(c.prefix(sp.platform, label)+" output directory")), llb.Platform(sp.platform))
}

// commandTest compiles a run or health check test: its command runs on the
// stage's root filesystem mounted read-only (with a tmpfs /tmp), with no
// network unless it asks, as the image's user unless it names one, with
// the image's environment and working directory.
func (c *compiler) commandTest(sp *stagePlan, ct *Test, label string) error {
	t, cfg := ct.Spec, sp.model.Config
	switch ct.Kind {
	case spec.TestRun:
		ct.Args = shellCommand(&cfg.Image, t.Run.Value)
	case spec.TestHealthcheck:
		hc := cfg.Image.Config.Healthcheck
		if hc == nil || len(hc.Test) == 0 || hc.Test[0] == "NONE" {
			return c.errorf(&t.Node, "healthcheck", t.Healthcheck.Range, "the image of stage %s has no health check to run", spec.Quote(sp.stage.Name))
		}
		switch hc.Test[0] {
		case "CMD":
			ct.Args = slices.Clone(hc.Test[1:])
		case "CMD-SHELL":
			ct.Args = shellCommand(&cfg.Image, hc.Test[1])
		default:
			ct.Args = slices.Clone(hc.Test)
		}
	}
	base := execState(sp.build.state, cfg, sp.platform)
	if u := t.User.String(); t.User.IsSet() {
		base = base.User(u)
	}
	network := llb.NetModeNone
	if t.Network.Value == "default" {
		network = llb.NetModeSandbox
	}
	run := base.Run(
		llb.Args(append([]string{"/bin/sh", "-c", testWrapper, "ohlcv-test"}, ct.Args...)),
		llb.ReadonlyRootFS(),
		llb.AddMount(testTmp, llb.Scratch(), llb.Tmpfs()),
		llb.Network(network),
		llb.WithCustomName(ct.Name),
		c.location(t.Node.Range),
	)
	output := run.AddMount(testMount, c.outputDir(sp, label), llb.SourcePath(TestOutputDir))
	ct.Output = &output
	if err := c.budget.spend(opCost + len(ct.Name) + len(t.Run.Value)); err != nil {
		return c.errorf(&t.Node, "", t.Node.Range, "%v", err)
	}
	return nil
}

// fileTest compiles a file test: checker runs `frontend test-file` with the
// stage's root filesystem mounted read-only at fileTestRoot and no network,
// and writes what it found to [FileTestResult].
func (c *compiler) fileTest(sp *stagePlan, ct *Test, label string, checker llb.State) error {
	t := ct.Spec
	check, err := json.Marshal(filetest.CheckOf(t))
	if err != nil {
		return err
	}
	if err := c.budget.spend(opCost + len(ct.Name) + len(check)); err != nil {
		return c.errorf(&t.Node, "", t.Node.Range, "%v", err)
	}
	args := append(slices.Clone(fileTestCommand), fileTestRoot, path.Join(testMount, FileTestResult), string(check))
	run := checker.Run(llb.Args(args), llb.Network(llb.NetModeNone), llb.WithCustomName(ct.Name), c.location(t.Node.Range))
	// Not content-cached: the solver would hash every file of the image
	// for the test's cache key, when the image's own key says it all.
	run.AddMount(fileTestRoot, sp.build.state, llb.Readonly, llb.ContentCache(llb.MountContentCacheOff))
	output := run.AddMount(testMount, c.outputDir(sp, label), llb.SourcePath(TestOutputDir))
	ct.Output = &output
	return nil
}
