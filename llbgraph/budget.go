package llbgraph

import (
	"fmt"

	"github.com/docker/go-units"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// MaxWork bounds the work of one compilation, in units of about a byte:
// the bytes of LLB ops emitted (arguments, environments, paths, names),
// of expanded text, and of environments and histories copied or searched.
// Real specs use well under 1% of it; a hostile spec that would make a
// gigabyte of LLB (a 100 KB env inherited by a thousand runs, say) stops
// here, before the ops are built, and the target's memory stays bounded.
const MaxWork = 8 << 20

// MaxOps bounds the LLB ops one target compiles to. Each op costs the
// compiler and BuildKit's marshalling about 10 KB; at this bound a target
// stays well within the memory docs/spec.md promises, while a real spec
// compiles to a few dozen ops and a chain of ten thousand stages fits. The
// planner counts a target's ops before any image is resolved or any op
// built.
const MaxOps = 12_000

// countOps returns how many LLB ops at most the steps of the planned
// stages compile to.
func countOps(p *plan) int {
	n := 0
	for _, sp := range p.order {
		st := sp.stage
		if sp.base.kind == SourceImage {
			n++
		}
		if st.Workdir.Value != "" {
			n++
		}
		n += stepOps(p, st.Steps)
	}
	return n
}

func stepOps(p *plan, steps []spec.Step) int {
	n := 0
	for _, s := range steps {
		switch s := s.(type) {
		case *spec.ParallelStep:
			n += 2*stepOps(p, s.Parallel) + 1 // each branch, its diff, the merge
		case *spec.CopyStep:
			n++
			if s.Copy.Content != nil {
				n++ // the file it writes
			}
			if s.Copy.Link.Value {
				n++ // the merge
			}
			if r := p.refs[&s.Copy.Files]; r != nil && r.Kind() == SourceImage {
				n++
			}
		case *spec.AddStep:
			n += 1 + len(s.Add.Src) // the copy, and a download or clone per src at most
			if s.Add.Link.Value {
				n++ // the merge
			}
			if r := p.refs[&s.Add.Files]; r != nil && r.Kind() == SourceImage {
				n++
			}
		case *spec.WorkdirStep:
			n++
		case spec.RunLike:
			n++
			if k := s.Kind(); k == spec.KindApt || k == spec.KindApk {
				n++ // the package lists (presets_packages.go)
			}
			for i := range s.Options().Mounts {
				m := &s.Options().Mounts[i]
				if r := p.refs[m]; r != nil && r.Kind() == SourceImage {
					n++
				}
				if m.Type.Value == spec.MountCache && (m.UID != nil || m.GID != nil || m.Mode != nil) {
					n++ // the directory with its owner and mode
				}
			}
		}
	}
	return n
}

// budget counts the work of one compilation against MaxWork. Once spent,
// it stays spent: every later spend reports the same error.
type budget struct {
	left int
	err  error
}

func newBudget() budget { return budget{left: MaxWork} }

// spend charges n units, and reports whether the budget is exceeded.
func (b *budget) spend(n int) error {
	b.left -= n
	if b.left < 0 && b.err == nil {
		b.err = fmt.Errorf("compiling this target makes more than %s of LLB, image configuration and expanded text; the limit for one build is %s (is a large env or value repeated in every step?)", units.BytesSize(MaxWork), units.BytesSize(MaxWork))
	}
	return b.err
}
