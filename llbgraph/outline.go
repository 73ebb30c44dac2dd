package llbgraph

import (
	"bytes"
	"path"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// Outline is what a build of one target takes from the user: the args its
// stages read, and the secrets and ssh agents its steps mount (--call=outline).
type Outline struct {
	// Target is the stage the outline is for.
	Target string
	// Description is the target's description.
	Description string
	// Args are the args the target's stages mention, with their values.
	Args []OutlineArg
	// Secrets are the secret ids the target's steps mount.
	Secrets []OutlineMount
	// SSH are the ssh agent ids the target's steps mount.
	SSH []OutlineMount
}

// OutlineArg is one arg of an [Outline].
type OutlineArg struct {
	// Name is the arg's name.
	Name string
	// Value is its value in this build: the default or the --build-arg.
	Value string
	// Range is where the arg is declared.
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

// BuildOutline returns the outline of opt.Target. It plans the build but
// resolves no image.
func BuildOutline(s *spec.Spec, opt Opt) (*Outline, error) {
	c, p, err := newPlan(s, opt)
	if err != nil {
		return nil, err
	}
	o := &Outline{Target: p.target.spec.Name, Description: p.target.spec.Description}
	lines := bytes.Split(s.Source, []byte("\n"))
	used := map[string]bool{}
	secrets := map[string]bool{}
	ssh := map[string]bool{}
	for _, sp := range p.order {
		text := linesOf(lines, sp.spec.Node.Range)
		for _, a := range s.Args {
			if !used[a.Name] && mentions(text, a.Name) {
				used[a.Name] = true
			}
		}
		walkMounts(sp.spec.Steps, func(m *spec.Mount) {
			id, err := scope{c: c}.expand(m.Node, "id", m.ID)
			if err != nil {
				id = m.ID
			}
			switch m.Type {
			case "secret":
				if id == "" {
					id = path.Base(m.Target)
				}
				if !secrets[id] {
					secrets[id] = true
					o.Secrets = append(o.Secrets, OutlineMount{ID: id, Required: m.Required, Range: m.Node.Range})
				}
			case "ssh":
				if id == "" {
					id = "default"
				}
				if !ssh[id] {
					ssh[id] = true
					o.SSH = append(o.SSH, OutlineMount{ID: id, Required: m.Required, Range: m.Node.Range})
				}
			}
		})
	}
	for _, a := range s.Args {
		if used[a.Name] {
			o.Args = append(o.Args, OutlineArg{Name: a.Name, Value: c.args[a.Name], Range: a.Range})
		}
	}
	return o, nil
}

// walkMounts calls fn for each mount of steps, parallel branches included.
func walkMounts(steps []spec.Step, fn func(*spec.Mount)) {
	walkSteps(steps, func(step *spec.Step) {
		for j := range step.Mounts {
			fn(&step.Mounts[j])
		}
	})
}

// linesOf returns the text of the lines a range covers.
func linesOf(lines [][]byte, r spec.Range) string {
	start, end := r.Start.Line-1, r.End.Line
	if start < 0 || end > len(lines) || start >= end {
		return ""
	}
	return string(bytes.Join(lines[start:end], []byte("\n")))
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
		out = append(out, Target{Name: st.Name, Description: st.Description, Base: st.From, Default: st.Name == def, Range: st.Node.Range})
	}
	return out
}
