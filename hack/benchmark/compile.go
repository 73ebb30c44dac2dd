package main

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// compileCommand measures compiling the twin with each frontend's
// compiler, in process.
var compileCommand = []string{"go", "test", "./llbgraph", "-run", "^$", "-bench", "^Benchmark(LoadCompile|Compile|Dockerfile2LLB)$", "-benchtime", "2s", "-count", "5"}

// benchRun is the parsed output of one go test -bench command.
type benchRun struct {
	res map[string]benchResult
	out string
}

// get is the medians of the named benchmark, or an error quoting the
// output that lacks it.
func (r benchRun) get(name string) (benchResult, error) {
	br, ok := r.res[name]
	if !ok {
		return br, fmt.Errorf("no result for %s in\n%s", name, r.out)
	}
	return br, nil
}

// goBench runs a go test -bench command, with a timeout, and parses it.
func goBench(command []string) (benchRun, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	outb, err := exec.CommandContext(ctx, command[0], command[1:]...).CombinedOutput()
	if err != nil {
		return benchRun{}, fmt.Errorf("%s: %v\n%s", strings.Join(command, " "), err, outb)
	}
	return benchRun{parseBench(string(outb)), string(outb)}, nil
}

// (f) compile time (f1) and allocations (f2), from go test -bench: the
// two ratios, each against its own target.
func (b *bench) compile() ([]*figure, error) {
	run, err := goBench(compileCommand)
	if err != nil {
		return nil, err
	}
	get := run.get
	var notes []string
	var worstT, worstA float64
	var loadShare string
	for _, target := range []string{"runtime", "test"} {
		full, err := get("BenchmarkLoadCompile/offline/" + target)
		if err != nil {
			return nil, err
		}
		per, err := get("BenchmarkCompile/offline/" + target)
		if err != nil {
			return nil, err
		}
		peer, err := get("BenchmarkDockerfile2LLB/offline/" + target)
		if err != nil {
			return nil, err
		}
		t, a := full.ns/peer.ns, full.allocs/peer.allocs
		worstT, worstA = max(worstT, t), max(worstA, a)
		notes = append(notes, fmt.Sprintf("`%s`: load+compile+marshal %.0f µs, %.0f allocs; compile+marshal of a loaded spec (per platform) %.0f µs, %.0f allocs; Dockerfile2LLB+marshal %.0f µs, %.0f allocs. Ratios: whole %.2f time, %.2f allocs; per platform %.2f time, %.2f allocs.",
			target, full.ns/1e3, full.allocs, per.ns/1e3, per.allocs, peer.ns/1e3, peer.allocs, t, a, per.ns/peer.ns, per.allocs/peer.allocs))
		if target == "runtime" {
			loadShare = fmt.Sprintf("%.0f µs and %.0f allocations of the %.0f µs and %.0f allocations of `runtime`", (full.ns-per.ns)/1e3, full.allocs-per.allocs, full.ns/1e3, full.allocs)
		}
	}
	rt, err := get("BenchmarkLoadCompile/offline/runtime")
	if err != nil {
		return nil, err
	}
	peer, err := get("BenchmarkDockerfile2LLB/offline/runtime")
	if err != nil {
		return nil, err
	}
	what := "load, compile and marshal the twin, targets runtime and test (worst of the two)"
	compared := "offline.build.yaml vs dockerfile2llb.Dockerfile2LLB on the equivalent Dockerfile, stub image resolver"
	command := strings.Join(compileCommand, " ") + " (medians)"
	values := map[string]string{"load": loadShare}
	f1 := &figure{
		id: "f1", what: "compile time: " + what, compared: compared,
		ours: fmt.Sprintf("%.0f µs (runtime)", rt.ns/1e3), peer: fmt.Sprintf("%.0f µs (runtime)", peer.ns/1e3),
		ratio: worstT, target: "≤ 0.2", met: worstT <= 0.2, command: command, notes: notes, values: values,
	}
	f2 := &figure{
		id: "f2", what: "compile allocations: " + what, compared: compared,
		ours: fmt.Sprintf("%.0f allocs (runtime)", rt.allocs), peer: fmt.Sprintf("%.0f allocs (runtime)", peer.allocs),
		ratio: worstA, target: "≤ 0.3", met: worstA <= 0.3, command: command + "; the same run as f1", values: values,
	}
	return []*figure{f1, f2}, nil
}
