package llbgraph_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph"
	"github.com/ohlcv-rag/ohlcv-build/llbgraph/check"
	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// fuzzSeeds are small versions of the hostile shapes: deep nesting, many
// aliases, long chains, interpolation growth, and the YAML corners.
var fuzzSeeds = []string{
	"version: 1\nx: &a [*a]\nstages: {a: {from: scratch}}\n",
	"version: 1\nstages:\n  a:\n    from: a\n",
	"version: 1\nargs: {A: ${A}}\nstages:\n  a:\n    from: ${A:-scratch}\n    steps: [{copy: {src: '${A}', dst: /}}]\n",
	"version: 1\nx: " + strings.Repeat("[", 200) + "\n",
	"version: 1\nstages: {a: {from: scratch, steps: [" + strings.Repeat("{parallel: [", 40) + "{run: x}" + strings.Repeat("]}", 40) + "]}}\n",
	"version: 1\nx-0: &a0 {run: x}\nx-1: &a1 [*a0, *a0, *a0, *a0]\nx-2: &a2 [{parallel: *a1}, {parallel: *a1}]\nstages: {a: {from: scratch, steps: *a2}}\n",
	"version: 1\nstages:\n  s0: {from: scratch, steps: [{run: [x]}]}\n  s1: {from: s0, steps: [{run: [x]}]}\n  s2: {from: s1, steps: [{copy: {from: s0, src: /a, dst: /b}}]}\n",
	"version: 1\nstages:\n  a:\n    from: scratch\n    env:\n      E0: xxxxxxxx\n      E1: ${E0}${E0}${E0}${E0}\n      E2: ${E1}${E1}${E1}${E1}\n      E3: ${E2}${E2}${E2}${E2}\n",
	"version: 1\nargs:\n  A: aaaaaaaaaaaaaaaa\n  B: ${A//?/${A}}\n  C: ${B//?/${B}}\nstages: {a: {from: scratch, env: {X: \"${C}\"}}}\n",
	"\xef\xbb\xbf%YAML 1.2\n---\nversion: 1\nstages: {a: {from: scratch, image: {expose: [1-1024, \"${P}\"]}}}\n",
	"version: 1\nstages: {\"\\e[31m\": {from: scratch}}\n",
	"version: 1\nstages: {a: {from: scratch, steps: [{run: x, mounts: [{type: secret, target: /}]}]}}\n",
	"version: 1\nstages:\n  a:\n    from: scratch\n    steps:\n      - run: |\n          echo a: b\n      mounts: []\n   image:\n      cmd: echo a: b\n",
	"version: 1\nstages:\n  a:\n    from: scratch\n      image: {cmd: [x]}\n    steps:\n    - run: echo building: now # $X\n    mounts: [{type: cache, target: /c}]\n",
}

// FuzzLoadCompile feeds arbitrary bytes to Load and, when they load, to
// the checks (every stage evaluated, as `frontend check` and a build's
// warnings see it) and to Compile for every stage, and marshals each
// result. Nothing may panic, every error must name the file (Load's and
// Compile's alike), and no input may take more than the bounds docs/spec.md
// promises for a spec: 256 MB allocated and 1 s of CPU time. The time is
// not asserted under the race detector, which slows the code several times
// over (make unit runs the seeds with -race; make fuzz runs without).
func FuzzLoadCompile(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/ohlcv.build.yaml")
	files = append(files, "../ohlcv.build.yaml", "../examples/ohlcv-rag/offline.build.yaml")
	for _, s := range files {
		if dt, err := os.ReadFile(s); err == nil {
			f.Add(dt)
		}
	}
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				panic(fmt.Sprintf("HANG on %q", data))
			}
		}()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		cpu := cpuTime()
		fuzzOne(t, data)
		used := cpuTime() - cpu
		runtime.ReadMemStats(&after)
		if n := after.TotalAlloc - before.TotalAlloc; n > llbgraph.MaxMemory {
			t.Fatalf("allocated %d MiB, more than the %d MiB bound", n>>20, llbgraph.MaxMemory>>20)
		}
		if used > maxCPU && !raceEnabled {
			t.Fatalf("took %s of CPU, more than the %s bound", used, maxCPU)
		}
	})
}

// maxCPU is the time bound docs/spec.md promises for any spec of at most
// 1 MiB.
const maxCPU = time.Second

// cpuTime is the CPU time the process has used: one input at a time runs
// in a fuzz worker, so the difference around fuzzOne is that input's
// (with the garbage collector's share of it).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func fuzzOne(t *testing.T, data []byte) {
	s, err := spec.Load("fuzz.yaml", data)
	if err != nil {
		checkFuzzError(t, err)
		return
	}
	if err := check.ValidateConfig(s); err != nil {
		checkFuzzError(t, err)
	}
	eval := llbgraph.TestOpt("")
	eval.ResolveImageConfig = nil // as `frontend check` evaluates
	m, err := llbgraph.Evaluate(context.Background(), s, eval)
	if err != nil {
		checkFuzzError(t, err)
	} else {
		for _, f := range check.Run(m, check.SpecConfig(s), check.Input{}) {
			if f.Rule == nil || f.Message == "" {
				t.Fatalf("a finding without a rule or a message: %+v", f)
			}
		}
		if err := m.Err(""); err != nil {
			checkFuzzError(t, err)
		}
	}
	for _, st := range s.Stages {
		opt := llbgraph.TestOpt(st.Name)
		opt.ResolveImageConfig = llbgraph.AnyImage
		res, err := llbgraph.Compile(context.Background(), s, opt)
		if err != nil {
			checkFuzzError(t, err)
			continue
		}
		if _, err := res.State.Marshal(context.Background(), llbgraph.MarshalOpts...); err != nil {
			t.Fatalf("marshal %s: %v", st.Name, err)
		}
	}
}

// checkFuzzError checks that every line of an error names the file, and
// that it is not a recovered compiler panic.
func checkFuzzError(t *testing.T, err error) {
	for _, line := range strings.Split(err.Error(), "\n") {
		if !strings.HasPrefix(line, "fuzz.yaml") {
			t.Fatalf("an error line without the file name: %q", line)
		}
	}
	if strings.Contains(err.Error(), "the compiler failed on this spec") || strings.Contains(err.Error(), "the YAML parser failed") {
		t.Fatalf("a panic: %v", err)
	}
}
