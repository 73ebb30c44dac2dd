package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// (d) a fully cached rebuild through # syntax=.
func (b *bench) noop() ([]*figure, error) {
	dir, err := b.context()
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	ours, peer := &side{name: "offline.build.yaml"}, &side{name: "Dockerfile"}
	warm := &side{}
	for i := 0; i <= *runs; i++ { // the first round warms the cache
		o, p := ours, peer
		if i == 0 {
			o, p = warm, warm
		}
		if err := paired(i, o, p, b.builds(dir, nil, specBuild("runtime")), b.builds(dir, nil, dockerfileBuild("runtime"))); err != nil {
			return nil, err
		}
	}
	return one(timed(&figure{
		id: "d", what: "fully cached no-op rebuild of `runtime` through `# syntax=`", compared: "this frontend image vs the Dockerfile frontend image",
		target:  "≤ 1.0",
		command: "docker buildx build -f offline.build.yaml --target runtime --output type=cacheonly examples/ohlcv-rag  (vs -f Dockerfile), " + rounds(*runs),
	}, ours, peer, 1.0)), nil
}

// (b) a warm rebuild after a one-line change of the app's code.
func (b *bench) codeChange() ([]*figure, error) {
	dir, err := b.context()
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	change, err := lineChanger(dir)
	if err != nil {
		return nil, err
	}
	if err := b.warm(dir, specBuild("runtime"), dockerfileBuild("runtime")); err != nil {
		return nil, err
	}
	ours, peer := &side{name: "offline.build.yaml"}, &side{name: "Dockerfile"}
	for i := 0; i < *runs; i++ {
		if err := paired(i, ours, peer, then(change, b.builds(dir, nil, specBuild("runtime"))), then(change, b.builds(dir, nil, dockerfileBuild("runtime")))); err != nil {
			return nil, err
		}
	}
	oursExecs, peerExecs := ours.lastExecs(), peer.lastExecs()
	return one(timed(&figure{
		id: "b", what: "warm rebuild of `runtime` after a one-line change of src/features.py", compared: "offline.build.yaml vs the equivalent Dockerfile, same daemon",
		target:  "≤ 1.0",
		command: "append a line to src/features.py, then docker buildx build -f offline.build.yaml --target runtime (vs -f Dockerfile), " + rounds(*runs),
		notes:   []string{fmt.Sprintf("execs re-run in the last round, spec: %q; Dockerfile: %q", oursExecs, peerExecs)},
		values:  map[string]string{"ours": strconv.Itoa(len(oursExecs)), "peer": strconv.Itoa(len(peerExecs))},
	}, ours, peer, 1.0)), nil
}

// lineChanger returns a function that gives src/features.py of the context
// dir a new last line each time it is called: a one-line change of the
// app's code that no cache has seen.
func lineChanger(dir string) (func() error, error) {
	file := filepath.Join(dir, "src", "features.py")
	orig, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return func() error {
		change := fmt.Sprintf("%s\nBENCH_CHANGE = %d  # a one-line change\n", orig, time.Now().UnixNano())
		return os.WriteFile(file, []byte(change), 0o644)
	}, nil
}

// warm builds each command once, untimed, so that the rounds after start
// from a warm cache.
func (b *bench) warm(dir string, commands ...[]string) error {
	_, _, err := b.builds(dir, nil, commands...)()
	return err
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
	// Each round installs another tool in place of flake8, as a user
	// would change it. The records of the steps that installed that tool
	// before (an earlier run of hack/bench on this engine) are pruned
	// first, so that the step runs; nothing else of the cache is touched,
	// so each side re-runs only what the change makes it re-run.
	tools := []string{"pycodestyle", "pyflakes3", "python3-mccabe"}
	forget := func(tool string) error { return b.pruneWhere("description~=" + regexp.QuoteMeta(tool)) }
	changeSpec := func(i int) func() error {
		return func() error {
			if err := forget(tools[i%3]); err != nil {
				return err
			}
			spec := strings.Replace(string(specOrig), specBranch, fmt.Sprintf("          - apt: [%s]\n", tools[i%3]), 1)
			return os.WriteFile(specFile, []byte(spec), 0o644)
		}
	}
	changeDockerfile := func(i int) func() error {
		return func() error {
			if err := forget(tools[i%3]); err != nil {
				return err
			}
			df := strings.Replace(string(dfOrig), dfWords, "black "+tools[i%3]+"\n", 1)
			return os.WriteFile(dockerfile, []byte(df), 0o644)
		}
	}
	if err := b.warm(dir, specBuild("development"), dockerfileBuild("development")); err != nil {
		return nil, err
	}
	ours, peer := &side{name: "offline.build.yaml"}, &side{name: "Dockerfile"}
	for i := 0; i < *runs; i++ {
		if err := paired(i, ours, peer, then(changeSpec(i), b.builds(dir, nil, specBuild("development"))), then(changeDockerfile(i), b.builds(dir, nil, dockerfileBuild("development")))); err != nil {
			return nil, err
		}
	}
	oursExecs, peerExecs := ours.lastExecs(), peer.lastExecs()
	f := timed(&figure{
		id: "c", what: "rebuild of `development` after changing one development tool", compared: "the spec's parallel group vs the Dockerfile's single RUN",
		target:  "≤ 0.3, exactly one branch re-run",
		command: "replace flake8 in its branch of offline.build.yaml / in the tools' RUN of the Dockerfile (buildctl prune --filter description~=TOOL first, for a tool an earlier run installed), then docker buildx build --target development, " + rounds(*runs),
		notes:   []string{fmt.Sprintf("execs re-run in the last round, spec: %q; Dockerfile: %q", oursExecs, peerExecs)},
	}, ours, peer, 0.3)
	// The branch's own install, its lists when its env busts them, and
	// the group's dpkg status, which reads every branch.
	branch := 0
	for _, e := range oursExecs {
		if branchExec.MatchString(e) {
			branch++
		}
	}
	f.ours += fmt.Sprintf(", %d exec re-run, %d of them a branch", len(oursExecs), branch)
	f.peer += fmt.Sprintf(", %d exec re-run (all four tools)", len(peerExecs))
	f.met = f.met && branch == 1
	return one(f), nil
}

// branchExec matches the progress name of a parallel branch's exec.
var branchExec = regexp.MustCompile(`\] parallel \d+/\d+ `)

// rounds says how many rounds a figure took and how it reports them.
func rounds(n int) string {
	return fmt.Sprintf("%d rounds, paired and alternating; median (least–most)", n)
}

// one is a figure of a single row.
func one(f *figure) []*figure { return []*figure{f} }
