package llbgraph

import (
	"fmt"

	"github.com/moby/buildkit/client/llb"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// parallel compiles a parallel group: each branch runs on the state before
// the group, and the result merges that state with each branch's diff
// against it, in list order, so a later branch wins a conflict. The solver
// runs the branches concurrently and caches each on its own: changing one
// branch re-runs only that branch.
func (b *stageBuild) parallel(s *spec.ParallelStep) error {
	base := b.state
	parts := make([]llb.State, 0, len(s.Parallel)+1)
	parts = append(parts, base)
	histories := make([]string, 0, len(s.Parallel))
	aptRan := false
	// The diffs and the merge point at the group's first line, not at the
	// branches': buildx's debugger stops at every op whose range holds a
	// breakpoint, so a breakpoint on a branch stops once, at its own step.
	group := b.c.location(spec.Range{Start: s.Node.Range.Start, End: s.Node.Range.Start})
	b.inParallel = true
	defer func() { b.inParallel = false }()
	for i, br := range s.Parallel {
		label := fmt.Sprintf("parallel %d/%d", i+1, len(s.Parallel))
		st, history, err := b.fsStep(base, br, b.name(label+" "+spec.Summary(br)))
		if err != nil {
			return err
		}
		parts = append(parts, llb.Diff(base, st, llb.WithCustomName(b.name(label+" diff")), group))
		histories = append(histories, history)
		aptRan = aptRan || br.Kind() == spec.KindApt
	}
	if err := b.c.budget.spend(opCost * (len(s.Parallel) + 1)); err != nil {
		return b.c.errorf(&s.Node, "", s.Node.Range, "%v", err)
	}
	// Every branch runs on the state before the group, so each apt branch
	// must replace docker-clean itself; after the merge it is gone.
	b.aptReady = b.aptReady || aptRan
	merged := llb.Merge(parts, llb.WithCustomName(b.name(fmt.Sprintf("parallel: merge %d branches", len(s.Parallel)))), group)
	b.state = base.WithOutput(merged.Output())
	for _, h := range histories {
		b.history(h, true)
	}
	return nil
}
