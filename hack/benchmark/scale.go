package main

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
)

// scaleCommand measures how compiling grows with the stages of a spec, and
// what the hostile corpus costs.
var scaleCommand = []string{"go", "test", "./llbgraph", "-run", "^$", "-bench", "^Benchmark(Scale|Hostile)$", "-benchtime", "3x", "-count", "3"}

// scaleSizes are the numbers of stages BenchmarkScale measures.
var scaleSizes = []string{"100", "1000", "10000"}

// (g) work as stages grow: chains and fans of growing numbers of stages,
// from go test -bench. It also writes the hostile corpus's figures into
// docs/spec.md.
func (b *bench) scale() ([]*figure, error) {
	run, err := goBench(scaleCommand)
	if err != nil {
		return nil, err
	}
	get := run.get
	var notes []string
	worst := 0.0
	small, mid, big := scaleSizes[0], scaleSizes[1], scaleSizes[2]
	for _, shape := range []string{"chain", "fan", "chain+marshal", "fan+marshal"} {
		var rs [3]benchResult
		for i, n := range scaleSizes {
			if rs[i], err = get("BenchmarkScale/" + shape + "/" + n); err != nil {
				return nil, err
			}
		}
		ratio := rs[2].ns / rs[1].ns
		if !strings.Contains(shape, "marshal") {
			worst = max(worst, ratio)
		}
		notes = append(notes, fmt.Sprintf("%s: %s stages %.1f ms, %.1f MB; %s stages %.1f ms, %.1f MB; %s stages %.1f ms, %.1f MB. %s to %s: %.1f time, %.1f bytes.",
			shape, grouped(small), rs[0].ns/1e6, rs[0].bytes/1e6, grouped(mid), rs[1].ns/1e6, rs[1].bytes/1e6, grouped(big), rs[2].ns/1e6, rs[2].bytes/1e6, grouped(big), grouped(mid), ratio, rs[2].bytes/rs[1].bytes))
	}
	notes = append(notes, "chain and fan are Load plus Compile of the last target, as the target is stated; the +marshal rows add BuildKit's llb marshalling of the result, which the frontend does next.")
	chainMid, err := get("BenchmarkScale/chain/" + mid)
	if err != nil {
		return nil, err
	}
	chainBig, err := get("BenchmarkScale/chain/" + big)
	if err != nil {
		return nil, err
	}
	if err := writeHostile(run.res); err != nil {
		return nil, err
	}
	return one(&figure{
		id: "g", what: fmt.Sprintf("load and compile the last target of a chain, and of a fan, of %s stages", grouped(big)), compared: fmt.Sprintf("the same at %s stages (worst of chain and fan)", grouped(mid)),
		ours:  fmt.Sprintf("%.0f ms (chain of %s)", chainBig.ns/1e6, grouped(big)),
		peer:  fmt.Sprintf("%.1f ms (chain of %s)", chainMid.ns/1e6, grouped(mid)),
		ratio: worst, target: "≤ 12, and the chain of " + grouped(mid) + " ≤ 100 ms", met: worst <= 12 && chainMid.ns <= 100e6,
		command: strings.Join(scaleCommand, " ") + " (medians)",
		notes:   notes,
		values:  map[string]string{"big": grouped(big), "mid": grouped(mid), "ratio": fmt.Sprintf("%.1f", worst), "bytes": fmt.Sprintf("%.1f", chainBig.bytes/chainMid.bytes)},
	}), nil
}

// grouped writes a number of digits with thousands separators: 10,000.
func grouped(n string) string {
	for i := len(n) - 3; i > 0; i -= 3 {
		n = n[:i] + "," + n[i:]
	}
	return n
}

var hostileBlock = regexp.MustCompile(`(?s)<!-- hostile:begin -->\n.*<!-- hostile:end -->`)

// writeHostile writes the hostile corpus's time and allocations into the
// bounds section of docs/spec.md.
func writeHostile(res map[string]benchResult) error {
	const file = "docs/spec.md"
	var names []string
	for k := range res {
		if strings.HasPrefix(k, "BenchmarkHostile/") {
			names = append(names, k)
		}
	}
	if len(names) == 0 {
		return fmt.Errorf("no BenchmarkHostile results")
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "<!-- hostile:begin -->\nMeasured by `%s` (medians), written by `hack/bench`:\n\n", strings.Join(scaleCommand, " "))
	b.WriteString("| hostile spec (≤ 1 MiB) | time | allocated | within 1 s and 256 MB |\n|---|---|---|---|\n")
	worstT, worstB := 0.0, 0.0
	for _, k := range names {
		r := res[k]
		worstT, worstB = max(worstT, r.ns), max(worstB, r.bytes)
		ok := "yes"
		if r.ns > 1e9 || r.bytes > 256<<20 {
			ok = "**no**"
		}
		fmt.Fprintf(&b, "| %s | %.1f ms | %.1f MB | %s |\n", strings.TrimPrefix(k, "BenchmarkHostile/"), r.ns/1e6, r.bytes/1e6, ok)
	}
	fmt.Fprintf(&b, "\nThe slowest took %.0f ms and the largest allocated %.0f MB.\n<!-- hostile:end -->", worstT/1e6, worstB/1e6)
	dt, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if !hostileBlock.Match(dt) {
		return fmt.Errorf("%s has no hostile:begin/end block", file)
	}
	return os.WriteFile(file, hostileBlock.ReplaceAllLiteral(dt, []byte(b.String())), 0o644)
}
