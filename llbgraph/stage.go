package llbgraph

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// stageBuild is an evaluated stage whose LLB is being built: its
// filesystem so far, and what progress names need.
type stageBuild struct {
	c          *compiler
	p          *plan
	sp         *stagePlan
	state      llb.State // the filesystem; the environment is in the steps' configs
	platform   ocispecs.Platform
	listsImage listsImage // where apt and apk update lists (presets_packages.go)
	noCache    bool
	index      int // the numbered vertex being built, 1-based
	total      int // how many vertices are numbered (see numbered)
}

// compileStage builds the LLB of an evaluated stage.
func (c *compiler) compileStage(p *plan, sp *stagePlan) error {
	st, ev := sp.stage, sp.model
	b := &stageBuild{c: c, p: p, sp: sp, platform: sp.platform, total: numbered(sp)}
	b.noCache = c.opt.NoCache != nil && c.opt.NoCache(st.Name)
	if isImageBase(sp.base) {
		b.index++
	}
	b.from(sp.base)
	for _, s := range ev.Settings {
		if changesFiles(s) {
			b.index++
		}
		if err := b.step(s); err != nil {
			return err
		}
	}
	for i, s := range ev.Steps {
		if changesFiles(s) {
			b.index++
		}
		if err := b.step(s); err != nil {
			return err
		}
		if err := c.budget.err; err != nil {
			n := st.Steps[i].StepNode()
			return c.errorf(n, "", n.Range, "%v", err)
		}
	}
	sp.build = b
	return nil
}

// Progress names number a stage's vertices as the Dockerfile frontend
// numbers a stage's FROM, WORKDIR, COPY and RUN: [stage 2/5]. The base is
// numbered when it is an image (a stage or scratch makes no vertex), and so
// are the stage's workdir and each step that changes files; a parallel
// group is one number, its branches "parallel 1/3" and so on within it.

// numbered is how many of an evaluated stage's vertices progress names
// number.
func numbered(sp *stagePlan) int {
	n := 0
	if isImageBase(sp.base) {
		n++
	}
	for _, steps := range [][]Step{sp.model.Settings, sp.model.Steps} {
		for _, s := range steps {
			if changesFiles(s) {
				n++
			}
		}
	}
	return n
}

// isImageBase reports whether a stage's base is an image of its own, a
// vertex in progress.
func isImageBase(base *source) bool {
	return base.kind == SourceImage && !isEmptyImage(base.image)
}

// changesFiles reports whether an evaluated step makes a vertex: every
// kind but env, user and shell, which change only the configuration.
func changesFiles(s Step) bool {
	switch s.(type) {
	case *EnvStep, *UserStep, *ShellStep:
		return false
	}
	return true
}

// from starts the stage on its base's filesystem.
func (b *stageBuild) from(base *source) {
	if base.kind == SourceStage {
		b.state = base.stage.build.state
		b.listsImage = base.stage.build.listsImage
		return
	}
	b.state = b.c.sourceState(base, b.name("from "+base.name), b.sp.stage.From.Range)
	if base.kind == SourceImage && b.sp.model.baseImage != nil {
		b.listsImage = b.listsImageOf(base)
	}
}

// step builds one evaluated step.
func (b *stageBuild) step(s Step) error {
	switch s := s.(type) {
	case *EnvStep, *UserStep, *ShellStep:
		return nil // they change the configuration only
	case *WorkdirStep:
		return b.workdir(s)
	case *ParallelStep:
		return b.parallel(s)
	case *RunStep:
		st, err := b.run(b.state, s, b.name(spec.Summary(s.Spec)))
		b.state = st
		return err
	case *CopyStep:
		st, err := b.copy(b.state, s, b.name(spec.Summary(s.Spec)))
		b.state = st
		return err
	case *AddStep:
		st, err := b.add(b.state, s, b.name(spec.Summary(s.Spec)))
		b.state = st
		return err
	}
	return fmt.Errorf("llbgraph: no LLB for a %T", s)
}

// fsStep builds a branch of a parallel group, a step that changes files,
// on base.
func (b *stageBuild) fsStep(base llb.State, s Step, name string) (llb.State, error) {
	switch s := s.(type) {
	case *RunStep:
		return b.run(base, s, name)
	case *CopyStep:
		return b.copy(base, s, name)
	case *AddStep:
		return b.add(base, s, name)
	}
	return llb.State{}, fmt.Errorf("llbgraph: a %T in a parallel group", s)
}

// workdir creates the working directory a workdir step sets, as WORKDIR
// does.
func (b *stageBuild) workdir(s *WorkdirStep) error {
	wd, dir := s.Path, &s.Dir
	if wd == "/" {
		return nil
	}
	opts := []llb.MkdirOption{llb.WithParents(true)}
	if u := s.Before().Image.Config.User; u != "" {
		opts = append(opts, llb.WithUser(u))
	}
	if e := b.c.opt.Epoch; e != nil {
		opts = append(opts, llb.WithCreatedTime(*e))
	}
	fileOpts := []llb.ConstraintsOpt{llb.WithCustomName(b.name("workdir: " + wd)), b.c.location(dir.Range.Or(dir.Node.Range)), llb.Platform(b.platform)}
	if b.noCache {
		fileOpts = append(fileOpts, llb.IgnoreCache)
	}
	if err := b.c.budget.spend(opCost + len(wd)); err != nil {
		return b.c.errorf(dir.Node, dir.Key, dir.Range, "%v", err)
	}
	b.state = b.state.File(llb.Mkdir(wd, 0o755, opts...), fileOpts...)
	return nil
}

// opCost is what every op costs the budget besides its strings: its
// digest, inputs and metadata.
const opCost = 256

// execState returns base with the stage's working directory, user,
// platform and environment, for a run. The environment comes from the
// stage's configuration in one go, not from a chain of states that every
// run would walk again.
func execState(base llb.State, cfg *Config, platform ocispecs.Platform) llb.State {
	img := &cfg.Image
	st := llb.NewState(base.Output()).Platform(platform)
	if wd := img.Config.WorkingDir; wd != "" {
		st = st.Dir(wd)
	}
	if u := img.Config.User; u != "" {
		st = st.User(u)
	}
	for _, kv := range img.Config.Env {
		k, v, _ := strings.Cut(kv, "=")
		st = st.AddEnv(k, v)
	}
	return st
}

// maxNameLen bounds what a progress name says of a step.
const maxNameLen = 160

// name is a progress name for the current step: [stage 3/6] what. User text
// in it is escaped, so it cannot rewrite a terminal.
func (b *stageBuild) name(what string) string {
	return b.label(" "+strconv.Itoa(b.index)+"/"+strconv.Itoa(b.total), what)
}

// inputName is a progress name for an image a step reads (copy or mount
// from:), which is no step of its own, and which several steps may read:
// [stage] what, with no number.
func (b *stageBuild) inputName(what string) string {
	return b.label("", what)
}

// label is [stage<number>] what, bounded and escaped.
func (b *stageBuild) label(number, what string) string {
	if len(what) > maxNameLen {
		cut := maxNameLen
		for cut > 0 && !utf8.RuneStart(what[cut]) {
			cut--
		}
		what = what[:cut] + "..."
	}
	return spec.Escape(b.c.prefix(b.platform, spec.Shorten(b.sp.stage.Name)+number) + " " + what)
}

// prefix brackets a label, with the platform first in multi-platform builds.
func (c *compiler) prefix(p ocispecs.Platform, label string) string {
	if c.opt.MultiPlatform {
		return "[" + platforms.Format(p) + " " + label + "]"
	}
	return "[" + label + "]"
}

// location points an op at the whole lines of a span of the spec, so a
// failing step shows the user's YAML lines. The range starts at character 0
// and ends at the end of its last line, as dockerfile2llb's do: buildx's
// debugger matches a breakpoint against it, and one set by line alone
// (column 0) is refused when the range starts later on that line, as at
// the column of a step's first key. Errors keep exact columns ([PBRange]).
func (c *compiler) location(r spec.Range) llb.ConstraintsOpt {
	if c.lineWidths == nil {
		c.lineWidths = lineWidths(c.sourceMap.Data)
	}
	end := 0
	if r.End.Line >= 1 && r.End.Line <= len(c.lineWidths) {
		end = c.lineWidths[r.End.Line-1]
	}
	return c.sourceMap.Location([]*pb.Range{{
		Start: &pb.Position{Line: int32(r.Start.Line)},
		End:   &pb.Position{Line: int32(r.End.Line), Character: int32(end)},
	}})
}

// lineWidths returns the width in characters of each line of src, without
// its line break.
func lineWidths(src []byte) []int {
	widths := make([]int, 0, bytes.Count(src, []byte{'\n'})+1)
	for line := range bytes.Lines(src) {
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte{'\n'}), []byte{'\r'})
		widths = append(widths, utf8.RuneCount(line))
	}
	return widths
}

// PBRange converts a spec range to a source map range, whose characters
// count from 0.
func PBRange(r spec.Range) *pb.Range {
	return &pb.Range{
		Start: &pb.Position{Line: int32(r.Start.Line), Character: int32(max(r.Start.Column-1, 0))},
		End:   &pb.Position{Line: int32(r.End.Line), Character: int32(max(r.End.Column-1, 0))},
	}
}
