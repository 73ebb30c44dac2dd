package spec

import (
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// StepKind names what a step does; it is the step's YAML key.
type StepKind string

// The step kinds, in the order the docs list them.
const (
	KindRun      StepKind = "run"
	KindApt      StepKind = "apt"
	KindApk      StepKind = "apk"
	KindPip      StepKind = "pip"
	KindUv       StepKind = "uv"
	KindGo       StepKind = "go"
	KindCopy     StepKind = "copy"
	KindAdd      StepKind = "add"
	KindParallel StepKind = "parallel"
	KindEnv      StepKind = "env"
	KindWorkdir  StepKind = "workdir"
	KindUser     StepKind = "user"
	KindShell    StepKind = "shell"
)

// stepKinds lists the kinds in the docs' order.
var stepKinds = []StepKind{KindRun, KindApt, KindApk, KindPip, KindUv, KindGo, KindCopy, KindAdd, KindParallel, KindEnv, KindWorkdir, KindUser, KindShell}

// runLikeKinds are the kinds that run a command and so take mounts, env
// and network.
var runLikeKinds = []StepKind{KindRun, KindApt, KindApk, KindPip, KindUv, KindGo}

// RunLike reports whether steps of the kind run a command.
func (k StepKind) RunLike() bool { return slices.Contains(runLikeKinds, k) }

// Step is one entry of a stage's steps: a *RunStep, *AptStep, *ApkStep,
// *PipStep, *UvStep, *GoStep, *CopyStep, *AddStep, *ParallelStep, *EnvStep,
// *WorkdirStep, *UserStep or *ShellStep. The set is closed; a type switch over it is
// exhaustive.
type Step interface {
	// Kind is the step's kind.
	Kind() StepKind
	// StepNode is where the step sits in the file.
	StepNode() *Node
	isStep()
}

// Steps is a list of steps, run in order.
type Steps []Step

// ValueSchema returns a list of steps.
func (Steps) ValueSchema() *ValueSchema {
	return &ValueSchema{Types: []string{"array"}, Items: &ValueSchema{Ref: "Step"}}
}

// decodeYAML decodes a list of steps; each step's kind is the one kind key
// it has.
func (s *Steps) decodeYAML(d *decoder, l loc, n *yaml.Node, depth int) {
	if n.Kind != yaml.SequenceNode {
		d.errorf(l, n, "want a list of steps, got %s", describe(n))
		*s = nil
		return
	}
	*s = make(Steps, 0, len(n.Content))
	for i, e := range n.Content {
		el := l.at(i)
		if e = d.visit(el, e); e == nil {
			return
		}
		if st := d.step(el, e, depth+1); st != nil {
			*s = append(*s, st)
		}
	}
}

func (d *decoder) step(l loc, n *yaml.Node, depth int) Step {
	if depth > maxDepth {
		d.errorf(l, n, "nested more than %d levels deep; the limit is %d", maxDepth, maxDepth)
		return nil
	}
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		d.errorf(l, n, "want a step (a mapping), got the string %s: write `- run: ...`", Quote(n.Value))
		return nil
	}
	entries, ok := d.mapping(l, n, depth)
	if !ok {
		return nil
	}
	var kinds []StepKind
	for _, e := range entries {
		if k := StepKind(e.key); k != KindEnv && isStepKind(k) {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) == 0 {
		for _, e := range entries {
			if e.key == string(KindEnv) {
				kinds = append(kinds, KindEnv)
			}
		}
	}
	switch {
	case len(kinds) == 0:
		if !d.unknownStepKeys(l, entries) {
			d.errorf(l, n, "a step needs one of %s", oneOf(stepKinds))
		}
		return nil
	case len(kinds) > 1:
		names := make([]string, len(kinds))
		for i, k := range kinds {
			names[i] = string(k)
		}
		d.errorf(l, n, "a step does one thing, this one has %s: split it into one step each", strings.Join(names, " and "))
		return nil
	}
	kind := kinds[0]
	s := newStep(kind)
	d.decodeEntries(l, n, entries, reflect.ValueOf(s).Elem(), depth, func(e entry) bool {
		if slices.Contains(fieldsOf(reflect.TypeFor[RunOptions]()).keys, e.key) {
			at := under(s.StepNode(), e.key)
			if e.key == "env" {
				d.errorf(at, e.keyN, "env beside %s is not allowed: env goes beside run or a preset, or in a step of its own", kind)
			} else {
				d.errorf(at, e.keyN, "%s applies to %s steps only, not to %s", e.key, oneOf(runLikeKinds), kind)
			}
			return true
		}
		return false
	})
	return s
}

func isStepKind(k StepKind) bool { return slices.Contains(stepKinds, k) }

// unknownStepKeys reports each key of a step without a kind that no step
// takes, as in `- rn: make`, with the kind or key it may mean; it returns
// whether there was one. Such a key is the step's kind mistyped, more often
// than not.
func (d *decoder) unknownStepKeys(l loc, entries []entry) bool {
	known := make([]string, 0, len(stepKinds)+3)
	for _, k := range stepKinds {
		known = append(known, string(k))
	}
	known = append(known, fieldsOf(reflect.TypeFor[RunOptions]()).keys...)
	found := false
	for _, e := range entries {
		if slices.Contains(known, e.key) {
			continue
		}
		found = true
		at := loc{up: l.up, key: joinKey(l, keySegment(e.key)), idx: -1}
		d.errorf(at, e.keyN, "unknown key %s%s; a step needs one of %s", Quote(e.key), DidYouMean(e.key, known), oneOf(stepKinds))
	}
	return found
}

// RunLike is a step that runs a command: run and the presets.
type RunLike interface {
	Step
	// Options are the step's env, mounts, network, security and devices.
	Options() *RunOptions
}

// RunOptions are what every run-like step takes besides its command.
type RunOptions struct {
	// Env sets environment variables for this command only.
	Env Vars `yaml:"env"`
	// Mounts are mounted while the command runs.
	Mounts []Mount `yaml:"mounts"`
	// Network is the network the command sees: default, none or host.
	Network Network `yaml:"network"`
	// Security is sandbox (the default) or insecure, which runs the command
	// with every capability and no seccomp or AppArmor profile, as RUN
	// --security=insecure; the build needs the security.insecure
	// entitlement.
	Security Security `yaml:"security"`
	// Devices are CDI devices given to the command, as RUN --device.
	Devices []Device `yaml:"devices"`
}

// Device is a CDI device a run-like step asks for, as RUN --device: the
// daemon must know the device (its CDI spec dirs) and the build must be
// granted the device entitlement unless the daemon allows the device
// itself.
type Device struct {
	// Name is the device's qualified name (vendor.com/class=name, or
	// vendor.com/class=* for all of a class), or an alias the build's
	// device entitlement grants.
	Name String `yaml:"name"`
	// Required fails the build when the daemon lacks the device; by default
	// the step runs without it.
	Required Bool `yaml:"required"`

	// Node is where the device sits in the file.
	Node Node `yaml:"-"`
}

// Options returns the options.
func (o *RunOptions) Options() *RunOptions { return o }

// RunStep runs a command: a string runs with the shell (a multi-line
// string is a script), a list runs as-is (exec form). The frontend does not
// interpolate it; the shell expands $NAME from the environment, which
// holds the args the script mentions.
type RunStep struct {
	// Run is the command.
	Run Command `yaml:"run"`
	RunOptions
	// Node is where the step sits.
	Node Node `yaml:"-"`
}

// AptStep installs Debian packages with apt-get, with apt's caches mounted.
type AptStep struct {
	// Apt lists the packages.
	Apt Strings `yaml:"apt"`
	RunOptions
	// Node is where the step sits.
	Node Node `yaml:"-"`
}

// ApkStep installs Alpine packages with apk, with apk's cache mounted.
type ApkStep struct {
	// Apk lists the packages.
	Apk Strings `yaml:"apk"`
	RunOptions
	// Node is where the step sits.
	Node Node `yaml:"-"`
}

// PipStep runs pip with these arguments, with pip's cache mounted.
type PipStep struct {
	// Pip is pip's arguments: a string (through the shell) or a list.
	Pip Command `yaml:"pip"`
	RunOptions
	// Node is where the step sits.
	Node Node `yaml:"-"`
}

// UvStep runs uv with these arguments, with uv's cache mounted.
type UvStep struct {
	// Uv is uv's arguments: a string (through the shell) or a list.
	Uv Command `yaml:"uv"`
	RunOptions
	// Node is where the step sits.
	Node Node `yaml:"-"`
}

// GoStep runs go with these arguments, with the module and build caches
// mounted.
type GoStep struct {
	// Go is go's arguments: a string (through the shell) or a list.
	Go Command `yaml:"go"`
	RunOptions
	// Node is where the step sits.
	Node Node `yaml:"-"`
}

// CopyStep copies files into the stage.
type CopyStep struct {
	// Copy says what to copy where.
	Copy Copy `yaml:"copy"`
	// Node is where the step sits.
	Node Node `yaml:"-"`
}

// AddStep adds files as the Dockerfile's ADD does: a copy whose sources
// may also be URLs and git repositories, and whose local archives are
// unpacked.
type AddStep struct {
	// Add says what to add where.
	Add Add `yaml:"add"`
	// Node is where the step sits.
	Node Node `yaml:"-"`
}

// ParallelStep runs each branch on the state before the group,
// concurrently, and merges their changes in list order (later branches
// win). A branch is a run-like step or a copy.
type ParallelStep struct {
	// Parallel lists the branches.
	Parallel Steps `yaml:"parallel"`
	// Node is where the step sits.
	Node Node `yaml:"-"`
}

// EnvStep sets environment variables for the rest of the stage and the
// image.
type EnvStep struct {
	// Env lists the variables, in order.
	Env Vars `yaml:"env"`
	// Node is where the step sits.
	Node Node `yaml:"-"`
}

// WorkdirStep changes the working directory for the following steps and
// the image, creating it.
type WorkdirStep struct {
	// Workdir is the directory; a relative one is under the current one.
	Workdir String `yaml:"workdir"`
	// Node is where the step sits.
	Node Node `yaml:"-"`
}

// UserStep changes the user (user[:group]) for the following steps and
// the image.
type UserStep struct {
	// User is the user.
	User Owner `yaml:"user"`
	// Node is where the step sits.
	Node Node `yaml:"-"`
}

// ShellStep changes the shell that the string commands of the following
// steps and the image run with, as SHELL does.
type ShellStep struct {
	// Shell is the shell and its arguments, as in [/bin/bash, -c].
	Shell ShellArgs `yaml:"shell"`
	// Node is where the step sits.
	Node Node `yaml:"-"`
}

// Kind returns [KindRun].
func (*RunStep) Kind() StepKind { return KindRun }

// Kind returns [KindApt].
func (*AptStep) Kind() StepKind { return KindApt }

// Kind returns [KindApk].
func (*ApkStep) Kind() StepKind { return KindApk }

// Kind returns [KindPip].
func (*PipStep) Kind() StepKind { return KindPip }

// Kind returns [KindUv].
func (*UvStep) Kind() StepKind { return KindUv }

// Kind returns [KindGo].
func (*GoStep) Kind() StepKind { return KindGo }

// Kind returns [KindCopy].
func (*CopyStep) Kind() StepKind { return KindCopy }

// Kind returns [KindAdd].
func (*AddStep) Kind() StepKind { return KindAdd }

// Kind returns [KindParallel].
func (*ParallelStep) Kind() StepKind { return KindParallel }

// Kind returns [KindEnv].
func (*EnvStep) Kind() StepKind { return KindEnv }

// Kind returns [KindWorkdir].
func (*WorkdirStep) Kind() StepKind { return KindWorkdir }

// Kind returns [KindUser].
func (*UserStep) Kind() StepKind { return KindUser }

// Kind returns [KindShell].
func (*ShellStep) Kind() StepKind { return KindShell }

// StepNode returns where the step sits.
func (s *RunStep) StepNode() *Node { return &s.Node }

// StepNode returns where the step sits.
func (s *AptStep) StepNode() *Node { return &s.Node }

// StepNode returns where the step sits.
func (s *ApkStep) StepNode() *Node { return &s.Node }

// StepNode returns where the step sits.
func (s *PipStep) StepNode() *Node { return &s.Node }

// StepNode returns where the step sits.
func (s *UvStep) StepNode() *Node { return &s.Node }

// StepNode returns where the step sits.
func (s *GoStep) StepNode() *Node { return &s.Node }

// StepNode returns where the step sits.
func (s *CopyStep) StepNode() *Node { return &s.Node }

// StepNode returns where the step sits.
func (s *AddStep) StepNode() *Node { return &s.Node }

// StepNode returns where the step sits.
func (s *ParallelStep) StepNode() *Node { return &s.Node }

// StepNode returns where the step sits.
func (s *EnvStep) StepNode() *Node { return &s.Node }

// StepNode returns where the step sits.
func (s *WorkdirStep) StepNode() *Node { return &s.Node }

// StepNode returns where the step sits.
func (s *UserStep) StepNode() *Node { return &s.Node }

// StepNode returns where the step sits.
func (s *ShellStep) StepNode() *Node { return &s.Node }

func (*RunStep) isStep()      {}
func (*AptStep) isStep()      {}
func (*ApkStep) isStep()      {}
func (*PipStep) isStep()      {}
func (*UvStep) isStep()       {}
func (*GoStep) isStep()       {}
func (*CopyStep) isStep()     {}
func (*AddStep) isStep()      {}
func (*ParallelStep) isStep() {}
func (*EnvStep) isStep()      {}
func (*WorkdirStep) isStep()  {}
func (*UserStep) isStep()     {}
func (*ShellStep) isStep()    {}

// newStep returns an empty step of kind k.
func newStep(k StepKind) Step {
	switch k {
	case KindRun:
		return &RunStep{}
	case KindApt:
		return &AptStep{}
	case KindApk:
		return &ApkStep{}
	case KindPip:
		return &PipStep{}
	case KindUv:
		return &UvStep{}
	case KindGo:
		return &GoStep{}
	case KindCopy:
		return &CopyStep{}
	case KindAdd:
		return &AddStep{}
	case KindParallel:
		return &ParallelStep{}
	case KindEnv:
		return &EnvStep{}
	case KindWorkdir:
		return &WorkdirStep{}
	case KindUser:
		return &UserStep{}
	case KindShell:
		return &ShellStep{}
	}
	return nil
}

// Tool is what a preset step runs: the tool and its arguments.
type Tool interface {
	RunLike
	// Command returns the tool's name and its arguments as written.
	Command() (tool string, args *Command)
}

// Command returns "pip" and the arguments.
func (s *PipStep) Command() (string, *Command) { return "pip", &s.Pip }

// Command returns "uv" and the arguments.
func (s *UvStep) Command() (string, *Command) { return "uv", &s.Uv }

// Command returns "go" and the arguments.
func (s *GoStep) Command() (string, *Command) { return "go", &s.Go }

// WalkSteps calls fn for each step, parallel branches after their group.
func WalkSteps(steps []Step, fn func(Step)) {
	for _, s := range steps {
		fn(s)
		if p, ok := s.(*ParallelStep); ok {
			WalkSteps(p.Parallel, fn)
		}
	}
}

// Summary describes a step in one line, for progress names and pictures:
// its kind and the first command of what it runs, installs, copies or
// sets, as in "run: uv sync --frozen" or "copy: from builder: /app -> /app".
// A script of several commands ends in "..." (see scriptSummary). The text is as written: escape it
// before printing.
func Summary(s Step) string {
	var what string
	switch s := s.(type) {
	case *RunStep:
		what = s.Run.String()
	case Tool:
		_, args := s.Command()
		what = args.String()
	case *AptStep:
		what = strings.Join(Values(s.Apt), " ")
	case *ApkStep:
		what = strings.Join(Values(s.Apk), " ")
	case *CopyStep:
		what = copySummary(&s.Copy.Files)
		if s.Copy.Content != nil {
			what = "<<EOF -> " + s.Copy.Dst.Value
		}
	case *AddStep:
		what = copySummary(&s.Add.Files)
	case *EnvStep:
		what = strings.Join(s.Env.Names(), " ")
	case *WorkdirStep:
		what = s.Workdir.Value
	case *UserStep:
		what = s.User.String()
	case *ShellStep:
		what = strings.Join(s.Shell.Args, " ")
	case *ParallelStep:
		what = Count(len(s.Parallel), "branch")
	}
	return string(s.Kind()) + ": " + scriptSummary(what)
}

// copySummary is "[from NAME: ]SRC... -> DST".
func copySummary(c *Files) string {
	what := strings.Join(Values(c.Src), " ") + " -> " + c.Dst.Value
	if c.From.Value != "" {
		what = "from " + c.From.Value + ": " + what
	}
	return what
}
