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
	branches := make([]llb.State, 0, len(s.Branches))
	apt := 0
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
		branches = append(branches, st)
		if r, ok := br.(*RunStep); ok && r.Spec.Kind() == spec.KindApt {
			apt++
		}
	}
	if err := b.c.budget.spend(opCost * (len(s.Branches) + 1)); err != nil {
		return b.c.errorf(&s.Spec.Node, "", s.Spec.Node.Range, "%v", err)
	}
	if apt > 1 {
		if err := b.c.budget.spend(opCost * (len(branches) + 2)); err != nil {
			return b.c.errorf(&s.Spec.Node, "", s.Spec.Node.Range, "%v", err)
		}
		status := b.dpkgStatus(base, branches, apt, group)
		parts = append(parts, llb.Diff(base, status, llb.WithCustomName(b.name("parallel: dpkg status diff")), group))
	}
	merged := llb.Merge(parts, llb.WithCustomName(b.name("parallel: merge "+spec.Count(len(s.Branches), "branch"))), group)
	b.state = base.WithOutput(merged.Output())
	return nil
}

// dpkgBranchDir is where the dpkg status exec mounts each branch, numbered
// from 001 in list order.
const dpkgBranchDir = "/tmp/ohlcv-branch-"

// dpkgStatusScript writes dpkg's status file as the merge would leave it,
// the last branch's that changed it, then appends the record of every
// package another branch has in its own status and that one lacks, as
// dpkg-query prints it, each branch's records ended by the blank line that
// separates them from the next.
const dpkgStatusScript = `set -e
s=/var/lib/dpkg/status
sum=$(md5sum < $s)
for b in ` + dpkgBranchDir + `*; do
	[ "$(md5sum < "$b$s")" = "$sum" ] || last=$b
done
[ -z "$last" ] || cat "$last$s" > $s
have=$(dpkg-query -W -f '${binary:Package}\n')
for b in ` + dpkgBranchDir + `*; do
	missing=
	for p in $(dpkg-query --admindir="$b/var/lib/dpkg" -W -f '${binary:Package}\n'); do
		case "
$have
" in *"
$p
"*) ;; *) missing="$missing $p" have="$have
$p" ;; esac
	done
	[ -z "$missing" ] || { dpkg-query --admindir="$b/var/lib/dpkg" -s $missing && echo; } >> $s
done`

// dpkgStatus gives a parallel group with two or more apt branches a dpkg
// status that lists what every branch installed. The merge takes
// /var/lib/dpkg/status whole from the last branch that wrote it, like any
// file two branches change, so the packages of the others would be on disk
// but unknown to dpkg, apt and image scanners. The exec runs as root in /
// on the state before the group, with every branch mounted read-only, and
// writes the status file alone; its diff is the merge's last part. It
// does not run on the merge, which the solver would then have to
// materialize for it.
func (b *stageBuild) dpkgStatus(base llb.State, branches []llb.State, apt int, loc llb.ConstraintsOpt) llb.State {
	opts := []llb.RunOption{
		llb.Args([]string{"/bin/sh", "-c", dpkgStatusScript}),
		llb.WithCustomName(b.name("parallel: dpkg status of " + spec.Count(apt, "apt branch"))),
		loc,
	}
	for i, st := range branches {
		// Not content-cached: the solver would hash every file of each
		// branch for the cache key, when the branch's own key says it all.
		opts = append(opts, llb.AddMount(fmt.Sprintf("%s%03d", dpkgBranchDir, i+1), st, llb.Readonly, llb.ContentCache(llb.MountContentCacheOff)))
	}
	return llb.NewState(base.Output()).Platform(b.platform).Run(opts...).Root()
}
