// Package hostile makes the adversarial specs that the bounds of
// docs/spec.md are measured and tested against: each at most 1 MiB, each
// built to exhaust one resource of the loader or the compiler (nesting,
// aliases, interpolation, chains of stages, error formatting, LLB size).
// BenchmarkHostile reports time and memory for each; the unit tests assert
// the memory bound.
package hostile

import (
	"fmt"
	"strings"
)

// MaxInput is the largest input the bounds promise anything about: the
// size limit of a spec.
const MaxInput = 1 << 20

// Case is one hostile spec.
type Case struct {
	// Name names the case in benchmarks and tests.
	Name string
	// Spec is the file, at most MaxInput bytes.
	Spec []byte
	// Target is the stage to compile, or "" for the default.
	Target string
	// Want is a substring of the error the case must get, or "" when it
	// is a valid spec that must compile within the bounds.
	Want string
}

// Cases returns the corpus.
func Cases() []Case {
	cs := []Case{
		{Name: "deep-flow-nesting-40KB", Spec: []byte("version: 1\nx: " + strings.Repeat("[", 20_000)), Want: "invalid YAML"},
		{Name: "deep-flow-nesting-1MiB", Spec: fill("version: 1\nx: ", "[", ""), Want: "invalid YAML"},
		{Name: "deep-block-nesting", Spec: fill("version: 1\nx:\n", "- ", "x\n"), Want: "invalid YAML"},
		{Name: "nesting-within-limit-of-parser", Spec: []byte("version: 1\nstages: {a: {from: " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "}}\n"), Want: "want a string, got a list"},
		{Name: "flow-list-1MiB", Spec: fill("version: 1\nstages: {a: {from: scratch, steps: [{apt: [", "a,", "a]}]}}\n"), Want: "more than 200000 YAML nodes"},
		{Name: "block-list-1MiB", Spec: fill("version: 1\nexclude:\n", "- a\n", ""), Want: "more than 200000 YAML nodes"},
		{Name: "mapping-90k-keys", Spec: fillN("version: 1\nstages: {a: {from: scratch}}\nargs:\n", func(i int) string { return fmt.Sprintf("  A%d: v\n", i) }, "")},
		{Name: "long-string-1MiB", Spec: fill("version: 1\nstages: {a: {from: scratch, steps: [{run: ", "x", "}]}}\n")},
		{Name: "alias-bomb", Spec: aliasBomb(), Want: "more than 200000 YAML nodes"},
		{Name: "alias-of-500KB-string", Spec: aliasOfBigString(), Want: "of text, counting each use of an alias"},
		{Name: "stage-chain-1MiB", Spec: stageChain(MaxInput), Want: "more than the 12000 one build may have"},
		{Name: "stage-chain-10000", Spec: stageChain(0)},
		{Name: "steps-in-one-stage", Spec: fill("version: 1\nstages:\n  a:\n    from: scratch\n    steps:\n", "      - run: [x]\n", ""), Want: "more than the 12000 one build may have"},
		{Name: "images-2000", Spec: manyImages(2000)},
		{Name: "env-doubling", Spec: envDoubling(), Want: "the limit for one value is 1MiB"},
		{Name: "replace-growth", Spec: replaceGrowth(), Want: "the limit for one value is 1MiB"},
		{Name: "expose-ranges-through-aliases", Spec: exposeAliases(), Want: "the limit for one build is 8MiB"},
		{Name: "long-default-and-2000-stages", Spec: longDefault(), Want: "default names no stage"},
		{Name: "long-stage-name-many-steps", Spec: longStageName()},
		{Name: "many-errors", Spec: fillN("version: 1\nstages:\n  a:\n    from: scratch\n    steps:\n", func(i int) string { return fmt.Sprintf("      - {run: x, network: n%d}\n", i) }, ""), Want: "more problems"},
		{Name: "env-inherited-by-every-run", Spec: envInherited(), Want: "the limit for one build is 8MiB"},
		{Name: "wide-parallel", Spec: fill("version: 1\nstages:\n  a:\n    from: scratch\n    steps:\n      - parallel:\n", "          - run: [x]\n", ""), Want: "more than the 12000 one build may have"},
		{Name: "fan-of-stages-1MiB", Spec: fan(MaxInput), Want: "more than the 12000 one build may have"},
		{Name: "fan-of-stages-5000", Spec: fan(5000)},
		{Name: "ops-at-the-limit-and-parse-junk", Spec: opsAndJunk(0)},
		{Name: "ops-env-and-junk", Spec: opsAndJunk(800), Want: "the limit for one build is 8MiB"},
		{Name: "bare-names-near-stages", Spec: fillN("version: 1\nstages:\n", func(i int) string { return fmt.Sprintf("  s%d: {from: t%d}\n", i, i) }, ""), Want: "names no stage (did you mean"},
		{Name: "indent-hint-under-4000-steps", Spec: []byte("version: 1\nstages:\n  a:\n    from: scratch\n    steps:\n" + strings.Repeat("      - run: x\n", 4000) + "      mounts: []\n"), Want: `is indented like the step's "-"`},
	}
	for _, c := range cs {
		if len(c.Spec) > MaxInput {
			panic(fmt.Sprintf("hostile case %s is %d bytes, more than %d", c.Name, len(c.Spec), MaxInput))
		}
	}
	return cs
}

// fill repeats unit between head and tail up to MaxInput bytes.
func fill(head, unit, tail string) []byte {
	n := (MaxInput - len(head) - len(tail)) / len(unit)
	return []byte(head + strings.Repeat(unit, n) + tail)
}

// fillN appends unit(i) for i = 0, 1, ... while the result stays within
// MaxInput bytes.
func fillN(head string, unit func(int) string, tail string) []byte {
	var b strings.Builder
	b.WriteString(head)
	for i := 0; ; i++ {
		u := unit(i)
		if b.Len()+len(u)+len(tail) > MaxInput {
			break
		}
		b.WriteString(u)
	}
	b.WriteString(tail)
	return []byte(b.String())
}

// aliasBomb is a billion laughs the types accept: steps made of parallel
// groups made of aliases of lists of steps.
func aliasBomb() []byte {
	var b strings.Builder
	b.WriteString("version: 1\nx-0: &a0 {run: x}\n")
	for i := 1; i < 8; i++ {
		fmt.Fprintf(&b, "x-%d: &a%d [", i, i)
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			if i == 1 {
				b.WriteString("*a0")
			} else {
				fmt.Fprintf(&b, "{parallel: *a%d}", i-1)
			}
		}
		b.WriteString("]\n")
	}
	b.WriteString("stages:\n  a:\n    from: scratch\n    steps: *a7\n")
	return []byte(b.String())
}

// aliasOfBigString uses one 500 KB run script through a thousand aliases.
func aliasOfBigString() []byte {
	var b strings.Builder
	b.WriteString("version: 1\nx-s: &s " + strings.Repeat("x", 500_000) + "\nstages:\n  a:\n    from: scratch\n    steps:\n")
	for range 1000 {
		b.WriteString("      - run: *s\n")
	}
	return []byte(b.String())
}

// stageChain is sN: {from: sN-1, steps: [{run: [x]}]}, filling size bytes,
// or 10,000 stages when size is 0; the default target is the last.
func stageChain(size int) []byte {
	var b strings.Builder
	b.WriteString("version: 1\nstages:\n  s0: {from: scratch, steps: [{run: [x]}]}\n")
	for i := 1; size == 0 && i < 10_000 || size > 0; i++ {
		line := fmt.Sprintf("  s%d: {from: s%d, steps: [{run: [x]}]}\n", i, i-1)
		if size > 0 && b.Len()+len(line) > size {
			break
		}
		b.WriteString(line)
	}
	return []byte(b.String())
}

// manyImages bases n stages on n different images, all reached by the
// last.
func manyImages(n int) []byte {
	var b strings.Builder
	b.WriteString("version: 1\nstages:\n")
	for i := range n {
		fmt.Fprintf(&b, "  s%d: {from: \"example.com/img%d:1\"}\n", i, i)
	}
	b.WriteString("  all:\n    from: scratch\n    steps:\n")
	for i := range n {
		fmt.Fprintf(&b, "      - copy: {from: s%d, src: /x, dst: /x%d}\n", i, i)
	}
	return []byte(b.String())
}

// envDoubling builds each env value from the one before, twice: under 1 KB
// that would expand to a gigabyte.
func envDoubling() []byte {
	var b strings.Builder
	b.WriteString("version: 1\nstages:\n  a:\n    from: scratch\n    env:\n      E0: xxxxxxxxxxxxxxxx\n")
	for i := 1; i < 40; i++ {
		fmt.Fprintf(&b, "      E%d: ${E%d}${E%d}\n", i, i-1, i-1)
	}
	return []byte(b.String())
}

// replaceGrowth replaces every character of a value with the value.
func replaceGrowth() []byte {
	var b strings.Builder
	b.WriteString("version: 1\nargs:\n  A0: " + strings.Repeat("a", 1000) + "\n")
	for i := 1; i < 6; i++ {
		fmt.Fprintf(&b, "  A%d: ${A%d//?/${A%d}}\n", i, i-1, i-1)
	}
	b.WriteString("stages:\n  a:\n    from: scratch\n    env: {X: \"${A5}\"}\n")
	return []byte(b.String())
}

// exposeAliases exposes wide port ranges from many stages through one
// alias.
func exposeAliases() []byte {
	var b strings.Builder
	b.WriteString("version: 1\nx-p: &p [")
	for i := range 60 {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d-%d", 1+i*1024, 1024+i*1024)
	}
	b.WriteString("]\nstages:\n  s0: {from: scratch, image: {expose: *p}}\n")
	for i := 1; i < 2000; i++ {
		fmt.Fprintf(&b, "  s%d: {from: s%d, image: {expose: *p}}\n", i, i-1)
	}
	return []byte(b.String())
}

// longDefault names a missing 200 KB stage among 2,000 stages: the
// suggestion search and the message must stay small.
func longDefault() []byte {
	var b strings.Builder
	b.WriteString("version: 1\ndefault: " + strings.Repeat("s", 200_000) + "\nstages:\n")
	for i := range 2000 {
		fmt.Fprintf(&b, "  %s%d: {from: scratch}\n", strings.Repeat("s", 300), i)
	}
	return []byte(b.String())
}

// longStageName gives a stage a 500 KB name and many steps, whose paths
// must not each copy the name.
func longStageName() []byte {
	var b strings.Builder
	// A key over 1024 characters must be explicit in YAML: ? key : value.
	b.WriteString("version: 1\nstages:\n  ? " + strings.Repeat("n", 500_000) + "\n  : from: scratch\n    steps:\n")
	for range 5000 {
		b.WriteString("      - run: [x]\n")
	}
	return []byte(b.String())
}

// envInherited sets a large environment in a base stage that every stage
// of a chain inherits and runs with: the LLB would hold it once per run.
func envInherited() []byte {
	var b strings.Builder
	b.WriteString("version: 1\nstages:\n  s0:\n    from: scratch\n    env:\n")
	for i := range 500 {
		fmt.Fprintf(&b, "      E%d: %s\n", i, strings.Repeat("v", 200))
	}
	for i := 1; i < 5000; i++ {
		fmt.Fprintf(&b, "  s%d: {from: s%d, steps: [{run: [x]}]}\n", i, i-1)
	}
	return []byte(b.String())
}

// fan bases n stages on one (as many as fit in size bytes when n is
// MaxInput), and copies from all of them.
func fan(n int) []byte {
	var b strings.Builder
	b.WriteString("version: 1\nstages:\n  base: {from: scratch, steps: [{run: [x]}]}\n")
	limit := MaxInput/2 - 100
	if n != MaxInput {
		limit = MaxInput
	}
	i := 0
	for ; i < n && b.Len() < limit; i++ {
		fmt.Fprintf(&b, "  f%d: {from: base, steps: [{run: [x]}]}\n", i)
	}
	b.WriteString("  all:\n    from: scratch\n    steps:\n")
	for j := 0; j < i && b.Len() < MaxInput-100; j++ {
		fmt.Fprintf(&b, "      - copy: {from: f%d, src: /x, dst: /x}\n", j)
	}
	return []byte(b.String())
}

// opsAndJunk is a target just within MaxOps, whose runs each carry an
// environment of envBytes, beside as much YAML as the rest of the file
// holds, under an extension key the decoder skips but the parser must read.
func opsAndJunk(envBytes int) []byte {
	var b strings.Builder
	b.WriteString("version: 1\nstages:\n  a:\n    from: scratch\n")
	if envBytes > 0 {
		fmt.Fprintf(&b, "    env: {E: %s}\n", strings.Repeat("e", envBytes))
	}
	b.WriteString("    steps:\n")
	for range 11_900 {
		b.WriteString("      - run: [x]\n")
	}
	b.WriteString("x-junk: [")
	for b.Len() < MaxInput-4 {
		b.WriteString("a,")
	}
	b.WriteString("a]\n")
	return []byte(b.String())
}
