package llbgraph

import (
	"context"
	"slices"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// Outline is what a build of one target takes from the user: the args its
// steps really use, and the secrets and ssh agents they mount
// (--call=outline).
type Outline struct {
	// Target is the stage the outline is for.
	Target string
	// Description is the target's description.
	Description string
	// Args are the args the target's steps use, with their values: the
	// top-level args they read, in declaration order, then the args the
	// stages it reaches declare (which every run of the stage gets).
	Args []OutlineArg
	// Secrets are the secret ids the target's steps mount.
	Secrets []OutlineMount
	// SSH are the ssh agent ids the target's steps mount.
	SSH []OutlineMount
	// Tests are the target's tests, in file order, which a build runs
	// unless [SkipTestsArg] is set.
	Tests []OutlineTest
}

// OutlineTest is one test of an [Outline].
type OutlineTest struct {
	// Name is the test's name.
	Name string
	// Kind is what it checks: file, run or healthcheck.
	Kind spec.TestKind
	// Range is where the test is.
	Range spec.Range
}

// OutlineArg is one arg of an [Outline].
type OutlineArg struct {
	// Name is the arg's name.
	Name string
	// Value is its value in this build: the default or the --build-arg.
	Value string
	// Description is what the declaration says the arg is for.
	Description string
	// Range is where the arg is declared; zero for a platform arg.
	Range spec.Range
}

// OutlineMount is one secret or ssh agent of an [Outline].
type OutlineMount struct {
	// ID is the secret's or agent's id, as --secret id=... and --ssh give it.
	ID string
	// Required says whether the build fails without it.
	Required bool
	// Range is where the first mount of it is.
	Range spec.Range
}

// addMount adds id, once; a later required mount makes it required.
func addMount(list []OutlineMount, id string, required bool, r spec.Range) []OutlineMount {
	if i := slices.IndexFunc(list, func(m OutlineMount) bool { return m.ID == id }); i >= 0 {
		list[i].Required = list[i].Required || required
		return list
	}
	return append(list, OutlineMount{ID: id, Required: required, Range: r})
}

// BuildOutline compiles opt.Target as [Compile] does, resolving its images,
// and returns what the evaluation of its stages used, as dockerfile2llb's
// outline capture does: the args that expansions and runs really read (a
// name in a comment, or an arg declared and never read, does not count),
// and the secrets and agents the steps mount.
func BuildOutline(ctx context.Context, s *spec.Spec, opt Opt) (*Outline, error) {
	c, err := newCompiler(s, opt)
	if err != nil {
		return nil, err
	}
	res, err := c.compile(ctx)
	if err != nil {
		return nil, err
	}
	st := s.Stages.Get(res.Target)
	o := &Outline{Target: res.Target, Description: st.Description.Value}
	for _, ev := range c.model.order {
		WalkSteps(ev.Steps, func(s Step) {
			run, ok := s.(*RunStep)
			if !ok {
				return
			}
			for _, m := range run.Mounts {
				switch m.Spec.Type.Value {
				case spec.MountSecret:
					o.Secrets = addMount(o.Secrets, m.SecretID(), m.Spec.Required.Value, m.Spec.Node.Range)
				case spec.MountSSH:
					o.SSH = addMount(o.SSH, m.SSHID(), m.Spec.Required.Value, m.Spec.Node.Range)
				}
			}
		})
	}
	read := map[string]bool{}
	addReads(read, c.model.order)
	listed := map[string]bool{}
	for _, a := range s.Args {
		if read[a.Name] {
			o.Args = append(o.Args, OutlineArg{Name: a.Name, Value: c.args[a.Name], Description: a.Description, Range: a.NameRange})
			listed[a.Name] = true
		}
	}
	for _, ev := range c.model.order {
		for _, a := range ev.Args {
			if !listed[a.Spec.Name] {
				o.Args = append(o.Args, OutlineArg{Name: a.Spec.Name, Value: a.Value, Description: a.Spec.Description, Range: a.Spec.NameRange})
				listed[a.Spec.Name] = true
			}
		}
	}
	for _, t := range res.Tests {
		o.Tests = append(o.Tests, OutlineTest{Name: t.Spec.Name.Value, Kind: t.Kind, Range: t.Spec.Node.Range})
	}
	return o, nil
}

// Target is one stage as --call=targets lists it.
type Target struct {
	// Name is the stage's name.
	Name string
	// Description is the stage's description.
	Description string
	// Base is the stage's from, as written.
	Base string
	// Default marks the stage a build without a target builds.
	Default bool
	// Range is where the stage is.
	Range spec.Range
}

// Targets lists every stage of s, in file order, marking the default.
func Targets(s *spec.Spec) []Target {
	def, _ := TargetName(s, "")
	out := make([]Target, 0, len(s.Stages))
	for _, st := range s.Stages {
		out = append(out, Target{Name: st.Name, Description: st.Description.Value, Base: st.From.Value, Default: st.Name == def, Range: st.Node.Range})
	}
	return out
}
