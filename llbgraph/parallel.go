package llbgraph

import (
	"fmt"

	"github.com/moby/buildkit/client/llb"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// parallel evaluates a parallel group: each branch sees the configuration
// before the group, and their history lines follow it in list order.
func (e *stageEval) parallel(s *spec.ParallelStep) (*ParallelStep, error) {
	out := &ParallelStep{Spec: s, Branches: make([]Step, 0, len(s.Parallel))}
	e.begin(&out.stepBase)
	histories := make([]string, 0, len(s.Parallel))
	for _, br := range s.Parallel {
		ev, history, err := e.fsStep(br)
		if err != nil {
			return nil, err
		}
		out.Branches = append(out.Branches, ev)
		out.reads = append(out.reads, ev.Reads()...)
		histories = append(histories, history)
	}
	e.end(&out.stepBase)
	for _, h := range histories {
		e.history(h, true)
	}
	return out, nil
}

// parallel builds a parallel group: each branch runs on the state before
// the group, and the result merges that state with each branch's diff
// against it, in list order, so a later branch wins a conflict. The solver
// runs the branches concurrently and caches each on its own: changing one
// branch re-runs only that branch.
func (b *stageBuild) parallel(s *ParallelStep) error {
	base := b.state
	parts := make([]llb.State, 0, len(s.Branches)+1)
	parts = append(parts, base)
	// The diffs and the merge point at the group's first line, not at the
	// branches': buildx's debugger stops at every op whose range holds a
	// breakpoint, so a breakpoint on a branch stops once, at its own step.
	group := b.c.location(spec.Range{Start: s.Spec.Node.Range.Start, End: s.Spec.Node.Range.Start})
	for i, br := range s.Branches {
		label := fmt.Sprintf("parallel %d/%d", i+1, len(s.Branches))
		st, err := b.fsStep(base, br, b.name(label+" "+spec.Summary(s.Spec.Parallel[i])))
		if err != nil {
			return err
		}
		parts = append(parts, llb.Diff(base, st, llb.WithCustomName(b.name(label+" diff")), group))
	}
	if err := b.c.budget.spend(opCost * (len(s.Branches) + 1)); err != nil {
		return b.c.errorf(&s.Spec.Node, "", s.Spec.Node.Range, "%v", err)
	}
	merged := llb.Merge(parts, llb.WithCustomName(b.name("parallel: merge "+spec.Count(len(s.Branches), "branch"))), group)
	b.state = base.WithOutput(merged.Output())
	return nil
}
