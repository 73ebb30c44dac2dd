package llbgraph

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// scaleChain is n stages, each built on the one before with one run step;
// the last is the target.
func scaleChain(n int) []byte {
	var b strings.Builder
	b.WriteString("version: 1\nstages:\n  s0: {from: busybox:latest, steps: [{run: [x]}]}\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "  s%d: {from: s%d, steps: [{run: [x]}]}\n", i, i-1)
	}
	return []byte(b.String())
}

// scaleFan is n stages built on one base, each with one run step, and a
// last stage, the target, whose one step reads every one of them through a
// bind mount (a report that gathers every shard).
func scaleFan(n int) []byte {
	var b strings.Builder
	b.WriteString("version: 1\nstages:\n  base: {from: busybox:latest, steps: [{run: [x]}]}\n")
	for i := range n {
		fmt.Fprintf(&b, "  f%d: {from: base, steps: [{run: [x]}]}\n", i)
	}
	b.WriteString("  all:\n    from: base\n    steps:\n      - run: [x]\n        mounts:\n")
	for i := range n {
		fmt.Fprintf(&b, "          - {type: bind, from: f%d, target: /f%d}\n", i, i)
	}
	return []byte(b.String())
}

// BenchmarkScale loads a spec and compiles its last target, for chains and
// fans of 100, 1,000 and 10,000 stages: the work must grow linearly with
// the stages. The +marshal runs also marshal the result, as the frontend
// then does with BuildKit's llb. hack/bench writes the figures and the
// 10,000 to 1,000 ratios to docs/benchmarks.md.
func BenchmarkScale(b *testing.B) {
	for _, shape := range []struct {
		name string
		make func(int) []byte
	}{{"chain", scaleChain}, {"fan", scaleFan}} {
		for _, n := range []int{100, 1000, 10_000} {
			data := shape.make(n)
			b.Run(fmt.Sprintf("%s/%d", shape.name, n), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					s, err := spec.Load("scale.yaml", data)
					if err != nil {
						b.Fatal(err)
					}
					opt := testOpt("")
					opt.ResolveImageConfig = anyImage
					if _, err := Compile(context.Background(), s, opt); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(fmt.Sprintf("%s+marshal/%d", shape.name, n), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := loadCompile(data, ""); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// The shapes BenchmarkScale measures compile, with every stage reached.
func TestScaleShapesCompile(t *testing.T) {
	for name, data := range map[string][]byte{"chain": scaleChain(300), "fan": scaleFan(300)} {
		if err := loadCompile(data, ""); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		res := compile(t, loadSpec(t, string(data)), testOpt(""))
		if len(res.Stages) != 300+map[string]int{"chain": 0, "fan": 2}[name] {
			t.Errorf("%s: %d stages compiled", name, len(res.Stages))
		}
	}
}
