package llbgraph

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"time"

	"github.com/moby/buildkit/client/llb"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// Model is a spec evaluated as a build evaluates it: for each stage, its
// base chain, the configuration (env, user, working directory) each of its
// steps sees, its steps with every ${NAME} expanded, and the image
// configuration it ends with. The compiler builds the LLB of a target from
// the model of the stages it reaches, and the build checks (package check)
// read the model that [Evaluate] makes of every stage, so a check judges
// the stage the build makes, and a key or rule is taught to one place.
type Model struct {
	spec   *spec.Spec
	args   map[string]string
	stages map[*spec.Stage]*Stage
	order  []*Stage // dependencies first
	// defaultReads are the args that the args' defaults read.
	defaultReads []string
}

// Spec returns the spec the model evaluates.
func (m *Model) Spec() *spec.Spec { return m.spec }

// Stage returns the evaluation of st, or nil when st was not evaluated (a
// compilation evaluates the stages its target reaches).
func (m *Model) Stage(st *spec.Stage) *Stage { return m.stages[st] }

// Arg returns the value an arg has in the evaluation (its default or its
// --build-arg), and whether the spec declares it.
func (m *Model) Arg(name string) (string, bool) {
	v, ok := m.args[name]
	return v, ok
}

// Reads returns the args that something evaluated reads: a value of a
// stage or a step, a script that gets them, or another arg's default.
func (m *Model) Reads() map[string]bool {
	read := map[string]bool{}
	for _, name := range m.defaultReads {
		read[name] = true
	}
	addReads(read, m.order)
	return read
}

// addReads adds the args the stages read to read.
func addReads(read map[string]bool, stages []*Stage) {
	for _, st := range stages {
		for _, name := range st.Reads {
			read[name] = true
		}
		for _, s := range append(slices.Clip(st.Settings), st.Steps...) {
			for _, name := range s.Reads() {
				read[name] = true
			}
		}
	}
}

// Reached returns the stages that the stage called target reaches through
// its from and the froms of its copies and mounts, target included,
// dependencies first. A stage that failed to evaluate is included, but
// what it reads beyond the failure is not.
func (m *Model) Reached(target string) []*Stage {
	root := m.stages[m.spec.Stages.Get(target)]
	if root == nil {
		return nil
	}
	seen := map[*Stage]bool{root: true}
	stack := []*Stage{root}
	for len(stack) > 0 {
		st := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, r := range st.Refs {
			if dep := r.Stage(); dep != nil && !seen[dep] {
				seen[dep] = true
				stack = append(stack, dep)
			}
		}
	}
	out := make([]*Stage, 0, len(seen))
	for _, st := range m.order {
		if seen[st] {
			out = append(out, st)
		}
	}
	return out
}

// Err returns why the stages that target reaches (every stage when target
// is empty) cannot all be evaluated: each distinct error once, in file
// order, or nil. A build of the target fails with it.
func (m *Model) Err(target string) error {
	stages := m.order
	if target != "" {
		stages = m.Reached(target)
	}
	counted := make(map[*Stage]bool, len(stages))
	for _, st := range stages {
		counted[st] = true
	}
	var errs []error
	seen := map[error]bool{}
	dropped := 0
	for _, st := range m.spec.Stages {
		ev := m.stages[st]
		switch {
		case ev == nil || ev.Err == nil || !counted[ev] || seen[ev.Err]:
		case len(errs) == maxStageErrors:
			dropped++
		default:
			seen[ev.Err] = true
			errs = append(errs, ev.Err)
		}
	}
	if dropped > 0 {
		errs = append(errs, &spec.Error{Filename: m.spec.Filename, Msg: fmt.Sprintf("and %d more problems: fix these first", dropped)})
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

// StageArg is an arg a stage declares, as evaluated.
type StageArg struct {
	// Spec is the declaration.
	Spec *spec.Arg
	// Value is its value: the build arg of its name, else its default
	// expanded, else the top-level arg's value.
	Value string
}

// maxStageErrors bounds how many errors of stages Model.Err reports, as
// spec.Load bounds its own.
const maxStageErrors = 50

// Stage is one stage as evaluated.
type Stage struct {
	// Spec is the stage of the spec.
	Spec *spec.Stage
	// Platform is the platform it builds for.
	Platform ocispecs.Platform
	// Refs are the sources it names: its from first, then the from of each
	// copy and bind or cache mount, in file order (as [spec.Refs]).
	Refs []*Ref
	// Settings are the stage's own env, workdir, user and shell, as steps, in the
	// order they apply: after its from and before its steps.
	Settings []Step
	// Steps are its steps, one for each of Spec.Steps.
	Steps []Step
	// Config is the image configuration it ends with, its image block
	// applied.
	Config *Config
	// Args are the args the stage declares, with their values in this
	// build: every run-like step of the stage gets them as environment.
	Args []StageArg
	// Reads are the args that the stage's own values read (platform, from,
	// image); its steps' reads are theirs.
	Reads []string
	// Err says why the stage could not be evaluated: its own error, or the
	// error of a stage or source it needs. Then only the fields evaluated
	// before it are set.
	Err error

	hist      *history     // its image history, after its base's
	baseImage *imageConfig // the image its chain starts from, when known
	created   *time.Time   // the epoch, when the build sets one
}

// Image returns the image configuration the stage ends with, with its whole
// history: the configuration of an image built from it.
func (s *Stage) Image() *dockerspec.DockerOCIImage {
	img := s.Config.Image
	img.History = s.hist.flatten()
	if s.created != nil {
		img.Created = s.created
	}
	return &img
}

// SourceKind says what a stage's from, or a copy's or mount's from, names.
type SourceKind int

// The kinds of source.
const (
	// SourceStage is another stage of the spec.
	SourceStage SourceKind = iota
	// SourceContext is a named build context (--build-context).
	SourceContext
	// SourceImage is an image.
	SourceImage
	// SourceScratch is the empty filesystem.
	SourceScratch
)

// Ref is one place a stage names a source, evaluated.
type Ref struct {
	// Node, Key and Range say where the name is written.
	Node  *spec.Node
	Key   string
	Range spec.Range
	// Name is the name, expanded.
	Name string
	// Reads are the args the name reads.
	Reads []string

	src *source
}

// Kind says what the name refers to.
func (r *Ref) Kind() SourceKind { return r.src.kind }

// Stage returns the evaluated stage the name refers to, or nil when it
// names no stage or the stage was not evaluated.
func (r *Ref) Stage() *Stage {
	if r.src.kind != SourceStage {
		return nil
	}
	return r.src.stage.model
}

// Value is a value of the spec as evaluated, and where it is written.
type Value struct {
	// Raw is the value as written.
	Raw string
	// Text is the value with ${NAME} expanded.
	Text string
	// Unknown reports that Text reads a variable only the base image's
	// configuration could set, and [Evaluate] did not look the image up: the
	// variable reads as empty in Text.
	Unknown bool
	// Node, Key and Range say where it is written: key of the mapping at
	// Node, its value at Range.
	Node  *spec.Node
	Key   string
	Range spec.Range
}

// Config is a stage's image configuration at one point of the stage: before
// a step, or at its end. A Config is never changed once a step sees it; a
// step that changes the configuration makes a new one.
type Config struct {
	// Image is the configuration, without its history.
	Image dockerspec.DockerOCIImage
	// BaseKnown reports whether the configuration of the image the stage's
	// chain starts from is known. In a build it is; [Evaluate] without
	// Opt.ResolveImageConfig knows no image's, and then what Image holds is
	// only what the spec sets (see Set), on an empty configuration.
	BaseKnown bool
	// Set says where the spec set the fields of the image configuration that
	// the base image could set too, in this stage or a stage it builds on;
	// a nil field was not set by the spec, and comes from the base image.
	Set Settings
	// WorkdirFromBase reports that the working directory is the base
	// image's, or relative to it: the spec has set no absolute one.
	WorkdirFromBase bool

	unknown map[string]bool // env names whose values are unknown
}

// Settings are where the spec set fields of an image configuration.
type Settings struct {
	// User is the user, as user[:group].
	User *Value
	// Workdir is the working directory; Text is the absolute path.
	Workdir *Value
	// Entrypoint and Cmd are the command; Text is the command as written
	// (empty when the spec cleared it). A new entrypoint clears the cmd.
	Entrypoint, Cmd *Value
	// Healthcheck is the health check; Text is its test.
	Healthcheck *Value
}

// Env returns the value of the environment variable name, whether it is
// set, and whether the value is known (see [Config.BaseKnown]).
func (c *Config) Env(name string) (value string, set, known bool) {
	if c.unknown[name] {
		return "", true, false
	}
	if v, ok := lookupEnv(c.Image.Config.Env, name); ok {
		return v, true, true
	}
	return "", false, c.BaseKnown
}

// User returns the user the configuration runs as, and whether it is
// known.
func (c *Config) User() (string, bool) {
	if u := c.Set.User; u != nil {
		return u.Text, !u.Unknown
	}
	return c.Image.Config.User, c.BaseKnown
}

// Step is a step as evaluated: an *EnvStep, *WorkdirStep, *UserStep,
// *ShellStep, *RunStep, *CopyStep, *AddStep or *ParallelStep. The set is closed; a type switch
// over it is exhaustive.
type Step interface {
	// Before returns the configuration the step sees: the stage's env, user
	// and working directory before it.
	Before() *Config
	// Reads returns the args the step reads, each once, in the order read:
	// those its values and its script read, the froms of its copies and
	// mounts, and its branches'.
	Reads() []string
	isStep()
}

// stepBase is what every evaluated step has.
type stepBase struct {
	before *Config
	reads  []string
}

// Before returns the configuration the step sees.
func (s *stepBase) Before() *Config { return s.before }

// Reads returns the args the step reads.
func (s *stepBase) Reads() []string { return s.reads }

func (*stepBase) isStep() {}

// EnvStep sets environment variables: a stage's env, or an env step.
type EnvStep struct {
	stepBase
	// Node is the stage or the step, whose env key sets them.
	Node *spec.Node
	// Env is NAME=value for each variable, in order, expanded.
	Env []string
}

// WorkdirStep changes the working directory, creating it: a stage's
// workdir, or a workdir step.
type WorkdirStep struct {
	stepBase
	// Dir is the directory as written and expanded.
	Dir Value
	// Path is the working directory it makes: Dir, under the one before when
	// Dir is relative, cleaned.
	Path string
}

// UserStep changes the user: a stage's user, or a user step.
type UserStep struct {
	stepBase
	// User is the user, as user[:group].
	User Value
}

// ShellStep changes the shell that string commands run with: a stage's
// shell, or a shell step.
type ShellStep struct {
	stepBase
	// Node is the stage or the step, whose shell key sets it.
	Node *spec.Node
	// Shell is the shell and its arguments, the image config's Shell.
	Shell []string
}

// RunStep is a run or a preset, evaluated: the command, the environment it
// gets beyond the stage's, and what it mounts.
type RunStep struct {
	stepBase
	// Spec is the step.
	Spec spec.RunLike
	// Args are the command's arguments.
	Args []string
	// ArgEnv is NAME=value for each arg and platform arg the script
	// mentions and the stage's env does not set: the runs get exactly these,
	// so changing an arg re-runs only the steps that read it.
	ArgEnv []string
	// Env is NAME=value for the preset's variables that the stage's env does
	// not set, then the step's own env, expanded.
	Env []string
	// Mounts are the step's mounts.
	Mounts []*Mount
	// Caches are the cache mounts of a preset.
	Caches []CacheMount
	// Scratch are directories a preset mounts empty and throws away after
	// the step.
	Scratch []string
	// Lists are the package lists an apt or apk step installs from; nil
	// for the other steps.
	Lists *PackageLists
	// Insecure runs the step with security mode insecure.
	Insecure bool
	// Devices are the CDI devices the step asks for, their names expanded.
	Devices []Device
	// History is the step's line in the image history.
	History string

	presetEnv int // how many of Env, the first, are the preset's
}

// Device is a CDI device a run-like step asks for.
type Device struct {
	// Name is the device's name, expanded.
	Name string
	// Required fails the build when the daemon lacks the device.
	Required bool
}

// Mount is a mount of a run-like step, its values expanded.
type Mount struct {
	// Spec is the mount.
	Spec *spec.Mount
	// From is what a bind or cache mount reads, or nil for the main context
	// (bind) or an empty cache.
	From *Ref
	// Target is where it is mounted, absolute; empty when not set.
	Target string
	// ID, Source and Env are the expanded values of those keys.
	ID, Source, Env string
}

// SecretID returns the id of a secret mount: its id, or its target's name.
func (m *Mount) SecretID() string {
	if m.ID == "" {
		return path.Base(m.Target)
	}
	return m.ID
}

// SSHID returns the id of an ssh mount: its id, or "default".
func (m *Mount) SSHID() string {
	if m.ID == "" {
		return "default"
	}
	return m.ID
}

// CacheMount is a cache a preset mounts.
type CacheMount struct {
	// Target is the directory.
	Target string
	// Sharing says how steps share the cache.
	Sharing llb.CacheMountSharingMode
	// ID is the cache's id before the namespace; empty means Target, the
	// id a Dockerfile's `RUN --mount=type=cache,target=...` gets.
	ID string
}

// PackageLists are the package lists an apt or apk step installs from:
// one exec updates them on the image the stage's lineage starts from,
// which every step, stage and target starting from that image shares
// (presets_packages.go), and the step mounts a copy of them.
type PackageLists struct {
	// Name is the update's progress name after the image's: "apt-get
	// update".
	Name string
	// Update is the command that updates them, through /bin/sh.
	Update string
	// Dir is where they are, in the update's exec and in the step's.
	Dir string
	// Sources prints the fingerprint of the package sources they were
	// updated from, which the step compares with its own.
	Sources string
	// Tmpfs is a directory the update mounts empty (apt's own cache, which
	// an update must not leave in the image's layer); empty for none.
	Tmpfs string
}

// CopyStep is a copy, evaluated.
type CopyStep struct {
	stepBase
	// Spec is the step.
	Spec *spec.CopyStep
	Files
}

// AddStep is an add, evaluated: a copy whose sources may be URLs and git
// repositories, and whose archives may be unpacked.
type AddStep struct {
	stepBase
	// Spec is the step.
	Spec *spec.AddStep
	Files
	// Checksum is the expanded checksum; empty when not set.
	Checksum string
	// KeepGitDir keeps the .git directory of git sources.
	KeepGitDir bool
	// Unpack is the unpack key; nil when not set, which unpacks local
	// archives and not downloads, as ADD does.
	Unpack *bool
}

// Files are the values a copy and an add share, evaluated.
type Files struct {
	// From is what it copies from, or nil for the main context.
	From *Ref
	// Src are the sources, expanded.
	Src []string
	// Dst is where they land: absolute, and a directory when it ends in /.
	Dst string
	// Exclude are the patterns left out, expanded.
	Exclude []string
	// Chown is the owner of the copies, user[:group]; empty when not set.
	Chown string
	// Chmod is the mode of the copies; nil when not set.
	Chmod *spec.Chmod
	// Content is the text of the file a copy with content writes at Dst,
	// expanded when the copy says so; nil for a copy of sources.
	Content *string
	// History is the step's line in the image history.
	History string
}

// ParallelStep is a parallel group, evaluated.
type ParallelStep struct {
	stepBase
	// Spec is the step.
	Spec *spec.ParallelStep
	// Branches are the branches: each a *RunStep, *CopyStep or *AddStep, seeing the
	// configuration before the group.
	Branches []Step
}

// WalkSteps calls fn for each step, and for each branch of a parallel
// group after the group.
func WalkSteps(steps []Step, fn func(Step)) {
	for _, s := range steps {
		fn(s)
		if p, ok := s.(*ParallelStep); ok {
			WalkSteps(p.Branches, fn)
		}
	}
}
