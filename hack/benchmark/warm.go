package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// timed fills in a figure's values from the medians of two series of wall
// times, the ratio of ours to the peer's, and whether it is within limit.
func timed(f *figure, ours, peer []time.Duration, limit float64) *figure {
	o, p := median(ours), median(peer)
	f.ours, f.peer, f.ratio = secs(o), secs(p), o.Seconds()/p.Seconds()
	f.met = f.ratio <= limit
	return f
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// (d) a fully cached rebuild through # syntax=.
func (b *bench) noop() ([]*figure, error) {
	dir, err := b.context()
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var ours, peer []time.Duration
	for i := 0; i <= *runs; i++ { // the first round warms the cache
		d1, d2, _, _, err := b.pair(dir, i, specBuild("runtime"), dockerfileBuild("runtime"))
		if err != nil {
			return nil, err
		}
		if i > 0 {
			ours, peer = append(ours, d1), append(peer, d2)
		}
	}
	return one(timed(&figure{
		id: "d", what: "fully cached no-op rebuild of `runtime` through `# syntax=`", compared: "this frontend image vs the Dockerfile frontend image",
		target:  "≤ 1.0",
		command: "docker buildx build -f offline.build.yaml --target runtime --output type=cacheonly examples/ohlcv-rag  (vs -f Dockerfile), median of " + strconv.Itoa(*runs),
	}, ours, peer, 1.0)), nil
}

// (b) a warm rebuild after a one-line change of the app's code.
func (b *bench) codeChange() ([]*figure, error) {
	dir, err := b.context()
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "src", "features.py")
	orig, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	if _, _, _, _, err := b.pair(dir, 0, specBuild("runtime"), dockerfileBuild("runtime")); err != nil {
		return nil, err // warm both
	}
	var ours, peer []time.Duration
	var oursExecs, peerExecs []string
	for i := 0; i < *runs; i++ {
		change := fmt.Sprintf("%s\nBENCH_CHANGE = %d  # a one-line change\n", orig, time.Now().UnixNano())
		if err := os.WriteFile(file, []byte(change), 0o644); err != nil {
			return nil, err
		}
		d1, d2, p1, p2, err := b.pair(dir, i, specBuild("runtime"), dockerfileBuild("runtime"))
		if err != nil {
			return nil, err
		}
		ours, peer = append(ours, d1), append(peer, d2)
		oursExecs, peerExecs = p1.execsRun(), p2.execsRun()
	}
	return one(timed(&figure{
		id: "b", what: "warm rebuild of `runtime` after a one-line change of src/features.py", compared: "offline.build.yaml vs the equivalent Dockerfile, same daemon",
		target:  "≤ 1.0",
		command: "append a line to src/features.py, then docker buildx build -f offline.build.yaml --target runtime (vs -f Dockerfile), median of " + strconv.Itoa(*runs),
		notes:   []string{fmt.Sprintf("execs re-run in the last round, spec: %q; Dockerfile: %q", oursExecs, peerExecs)},
		values:  map[string]string{"ours": strconv.Itoa(len(oursExecs)), "peer": strconv.Itoa(len(peerExecs))},
	}, ours, peer, 1.0)), nil
}

// (c) change one development tool: which execs re-run, and the wall time.
// Each round puts another tool in the flake8 branch (the spec) or the flake8
// word of the tools' RUN (the Dockerfile), with a fresh round number, so the
// changed step is one the cache has never seen.
func (b *bench) toolChange() ([]*figure, error) {
	dir, err := b.context()
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	specFile, dockerfile := filepath.Join(dir, "offline.build.yaml"), filepath.Join(dir, "Dockerfile")
	specOrig, err := os.ReadFile(specFile)
	if err != nil {
		return nil, err
	}
	dfOrig, err := os.ReadFile(dockerfile)
	if err != nil {
		return nil, err
	}
	const specBranch, dfWords = "          - apt: [flake8]\n", "black flake8\n"
	if !bytes.Contains(specOrig, []byte(specBranch)) || !bytes.Contains(dfOrig, []byte(dfWords)) {
		return nil, fmt.Errorf("the flake8 tool is no longer where the benchmark changes it")
	}
	set := func(tool string, round int64) error {
		spec := strings.Replace(string(specOrig), specBranch, fmt.Sprintf("          - apt: [%s]\n            env: {BENCH_ROUND: \"%d\"}\n", tool, round), 1)
		df := strings.Replace(string(dfOrig), dfWords, fmt.Sprintf("black %s # round %d\n", tool, round), 1)
		if err := os.WriteFile(specFile, []byte(spec), 0o644); err != nil {
			return err
		}
		return os.WriteFile(dockerfile, []byte(df), 0o644)
	}
	if _, _, _, _, err := b.pair(dir, 0, specBuild("development"), dockerfileBuild("development")); err != nil {
		return nil, err // warm both
	}
	var ours, peer []time.Duration
	var oursExecs, peerExecs []string
	for i := 0; i < *runs; i++ {
		tool := []string{"pycodestyle", "pyflakes3", "python3-mccabe"}[i%3]
		if err := set(tool, time.Now().UnixNano()); err != nil {
			return nil, err
		}
		d1, d2, p1, p2, err := b.pair(dir, i, specBuild("development"), dockerfileBuild("development"))
		if err != nil {
			return nil, err
		}
		ours, peer = append(ours, d1), append(peer, d2)
		oursExecs, peerExecs = p1.execsRun(), p2.execsRun()
	}
	f := timed(&figure{
		id: "c", what: "rebuild of `development` after changing one development tool", compared: "the spec's parallel group vs the Dockerfile's single RUN",
		target:  "≤ 0.3, exactly one branch re-run",
		command: "replace flake8 in its branch of offline.build.yaml / in the tools' RUN of the Dockerfile, then docker buildx build --target development, median of " + strconv.Itoa(*runs),
		notes:   []string{fmt.Sprintf("execs re-run in the last round, spec: %q; Dockerfile: %q", oursExecs, peerExecs)},
	}, ours, peer, 0.3)
	f.ours += fmt.Sprintf(", %d exec re-run", len(oursExecs))
	f.peer += fmt.Sprintf(", %d exec re-run (all four tools)", len(peerExecs))
	f.met = f.met && len(oursExecs) == 1 && strings.Contains(oursExecs[0], "parallel")
	return one(f), nil
}

// one is a figure of a single row.
func one(f *figure) []*figure { return []*figure{f} }
