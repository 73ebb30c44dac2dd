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
	for i, br := range s.Parallel {
		label := fmt.Sprintf("parallel %d/%d", i+1, len(s.Parallel))
		st, history, err := b.fsStep(base, br, b.name(label+" "+spec.Summary(br)))
		if err != nil {
			return err
		}
		parts = append(parts, llb.Diff(base, st, llb.WithCustomName(b.name(label+" diff")), b.c.location(br.StepNode().Range)))
		histories = append(histories, history)
	}
	if err := b.c.budget.spend(opCost * (len(s.Parallel) + 1)); err != nil {
		return b.c.errorf(&s.Node, "", s.Node.Range, "%v", err)
	}
	merged := llb.Merge(parts, llb.WithCustomName(b.name(fmt.Sprintf("parallel: merge %d branches", len(s.Parallel)))), b.c.location(s.Node.Range))
	b.state = base.WithOutput(merged.Output())
	for _, h := range histories {
		b.history(h, true)
	}
	return nil
}
