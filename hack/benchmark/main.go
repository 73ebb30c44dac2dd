// Command benchmark measures the ohlcv-build frontend side by side with
// BuildKit's Dockerfile frontend on the local engine, and writes every figure
// as a ratio measured in the same run to docs/benchmarks.md. Run it through
// hack/bench, which starts the engine and pushes both frontend images first.
//
// The files go by concern: main.go is the command line, buildx.go runs
// buildx, progress.go reads its rawjson progress and the work it shows,
// registry.go reads image sizes from the registry, gobench.go parses
// `go test -bench`, rounds.go pairs and summarizes timed rounds, report.go
// writes the page; cold.go, warm.go, strategy.go, size.go, compile.go and
// scale.go measure the figures.
package main

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ohlcv-rag/ohlcv-build/internal/engineenv"
)

var (
	repo     = flag.String("repo", ".", "the repository root")
	out      = flag.String("out", "docs/benchmarks.md", "the report to write")
	runs     = flag.Int("runs", 3, "timed rounds of each warm measurement")
	coldRuns = flag.Int("cold-runs", 3, "rounds of the cold measurements")
	only     = flag.String("only", "", "measure only these figures, e.g. abf")
	envFile  = flag.String("env", "", "the engine's env file (default: the one hack/lib.sh places, .engine/env or under $OHLCV_ENGINE_DIR)")
)

// measure is one figure's measurement: it returns the figure's rows.
type measure struct {
	id string
	fn func() ([]*figure, error)
}

func main() {
	flag.Parse()
	if err := os.Chdir(*repo); err != nil {
		fail(err)
	}
	if *envFile == "" {
		*envFile = engineenv.Path(".")
	}
	env, err := engineenv.ReadFile(*envFile, "BUILDKIT_HOST", "BUILDX_BUILDER", "OHLCV_BIN", "FRONTEND_IMAGE", "PEER_FRONTEND_IMAGE", "REGISTRY")
	if err != nil {
		fail(err)
	}
	if *runs < 3 || *coldRuns < 3 {
		fail(fmt.Errorf("a timed figure takes at least 3 rounds"))
	}
	b := &bench{env: env}
	start, measured := machineLoad(), commit()
	measures := []measure{
		{"g", b.scale}, {"f", b.compile}, {"e", b.imageSize}, {"d", b.noop}, {"b", b.codeChange}, {"c", b.toolChange}, {"a", b.coldAll}, {"h", b.strategy},
	}
	var results []*figure
	for _, m := range measures {
		if *only != "" && !strings.Contains(*only, m.id) {
			continue
		}
		logf("measuring %s", m.id)
		rows, err := m.fn()
		if err != nil {
			fail(fmt.Errorf("figure %s: %w", m.id, err))
		}
		results = append(results, rows...)
	}
	slices.SortStableFunc(results, func(a, b *figure) int { return strings.Compare(a.id, b.id) })
	page, err := report(results, measured, start, machineLoad())
	if err != nil {
		fail(err)
	}
	if err := os.WriteFile(*out, []byte(page), 0o644); err != nil {
		fail(err)
	}
	logf("wrote %s", *out)
}

// figure is one row of the report.
type figure struct {
	id, what, compared string
	ours, peer         string // the measured values, with units
	ratio              float64
	target             string
	met                bool
	command            string
	notes              []string
	// values fill the {placeholders} of the figure's explanation (see
	// explanations in report.go), all measured in this run.
	values map[string]string
	// sides are a timed figure's two sides, for the work table.
	sides []*side
}

// bench holds the engine's environment, and the cold rounds that figures
// a and h share.
type bench struct {
	env        map[string]string
	coldRounds *coldRounds
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[bench %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
