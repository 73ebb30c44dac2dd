package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"time"
)

// toolVersions reads the pinned BuildKit and buildx versions from
// hack/tools/go.mod, the module the engine's tools are built from.
func toolVersions() (buildkit, buildx string, err error) {
	f, err := os.Open("hack/tools/go.mod")
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 {
			switch fields[0] {
			case "github.com/moby/buildkit":
				buildkit = fields[1]
			case "github.com/docker/buildx":
				buildx = fields[1]
			}
		}
	}
	if buildkit == "" || buildx == "" {
		return "", "", fmt.Errorf("hack/tools/go.mod pins no buildkit or buildx")
	}
	return buildkit, buildx, sc.Err()
}

func memory() string {
	dt, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "unknown"
	}
	var kb int64
	fmt.Sscanf(strings.SplitN(string(dt), "\n", 2)[0], "MemTotal: %d kB", &kb)
	return fmt.Sprintf("%.0f GiB", float64(kb)/(1<<20))
}

// The page's fixed prose. None of it may hold a digit: every number on the
// page is measured by the run that writes it, or read from the machine
// and the pinned tools (TestProseHasNoNumbers).
const (
	headerProse = "Written by `hack/bench` (`make bench`) on {date} at commit {commit}, in one run: each figure is a ratio of two measurements taken in that run, on the same buildkitd. " +
		"The machine's load average (over one, five and fifteen minutes) was {loadStart} when the run started and {loadEnd} when it ended; a timed figure takes several rounds, the two builds of a round in turns, and shows the median with the least and the most in brackets. " +
		"Machine: {cores} cores, {memory} memory, {platform}, {go}; BuildKit {buildkit} (the hack/ engine), buildx {buildx}. " +
		"The peer is BuildKit's Dockerfile frontend at {buildkit}, built from `frontend/dockerfile/cmd/dockerfile-frontend` with the same Go flags as ours (hack/peer-frontend.sh) and selected by the `# syntax=` line of `examples/ohlcv-rag/Dockerfile`, the offline twin written as a Dockerfile. Builds of the spec set the `OHLCV_SKIP_TESTS` build arg: the twin declares tests of its images, which the Dockerfile cannot, and the figures compare the same work. Lower ratios favour this frontend."
	missesProse = "Where a figure misses its target, and why"
	workProse   = "What each timed build did, read from its progress (the median round; several builds one after another count together): the execs that ran rather than came from the cache, the execs that ran `apt-get update` (their logs show a repository's InRelease), their run times summed, the longest chain of dependent steps that ran, the least any scheduler could take, and the CPU time the whole machine spent while the builds ran (/proc/stat), which divided by the cores is a bound too."
)

// explanations explain a figure that misses its target; the page shows
// the ones that did. They describe causes; each {name} is a value the
// figure measured in this run.
var explanations = map[string]string{
	"a1": "The bake overlaps the four targets, but they share most of their work: base, runtime-base and runtime run once in both builds, since one target at a time reuses them from the cache. What a bake can save is bounded by the longest chain of dependent steps, {chain} of its {bake}, and by the machine's CPU: the bake kept {cores} cores busy for {cpu} of CPU time ({cpuPerCore} a core) against {seqCPU} one target at a time; its execs ran for {exec} in all against {seqExec}. The target, {targetRatio} of {seq}, is {need}: {bound}",
	"a2": "The spec's bake ran apt-get update {updates} times against {updatesPeer} for the Dockerfile's, its apt steps for {apt} against {aptPeer}, and its longest chain of dependent steps was {chain} against {chainPeer}; the machine spent {cpu} of CPU time on it against {cpuPeer} on the Dockerfile's ({cores} cores).",
	"b":  "A one-line change re-runs the same kind of steps in both builds (the builder's copy and wheel, the runtime's install): {ours} execs for the spec and {peer} for the Dockerfile in the last round. What differs is each frontend's own time, which figure d shows.",
	"c":  "The changed branch re-runs its one install (apt-get update is the image's, cached), and the group's dpkg status exec runs again, as it reads every branch; the Dockerfile's RUN re-runs apt-get update and all four installs. What else the spec's rebuild takes is the frontend's start, the merge and the export.",
	"d":  "A no-op rebuild is dominated by what both frontends do through BuildKit (reading the spec or Dockerfile, resolving base images, a cached solve); see figure f for the compile itself.",
	"e":  "Both images are one static Go binary FROM scratch, and most of either binary is what every gateway frontend links: the gRPC gateway client, protobuf, BuildKit's API types, net/http and crypto/tls. The image already leaves out the in-process build mode (-tags gatewayonly); this frontend's own code (llbgraph, spec, the YAML parsers) is a small part of it. Reaching the target would need a gateway client without that stack, which BuildKit does not ship.",
	"f1": "Loading the spec (the YAML parser's node tree with positions, then a typed decode and validation of every stage) is {load}, measured as load+compile+marshal minus compile+marshal of a loaded spec; the Dockerfile frontend's line parser costs far less. The per-platform figures in the notes (a loaded spec compiled and marshalled; a multi-platform build loads once and compiles once per platform) are closer; what remains there is mostly llb's own marshalling, which both frontends pay.",
	"f2": "As for the time: loading the spec is {load}. A cheaper position-keeping parser, or less per-op work in llb (which both frontends share), would close the gap.",
	"h1": "Each of the {builds} builds, one after another, starts the frontend, resolves the base images and solves on its own, a cost a cache does not remove: {ours} against {base} for the cold builds, with {execs} execs re-run ({exec} of exec time against {execBase} cold).",
	"h2": "On a cold build the targets share most of their chain (base, runtime-base, runtime), which one target at a time also builds once, so there is little to overlap: the bake's longest chain of dependent steps was {chain}, against {chainBase} for the builds one at a time, and {improvement} is what the overlap saved.",
	"h3": "The bake after a one-line change took {ours} against {base} for the cold builds one at a time, with {execs} execs re-run; what remains is the bake's own start, solve and export.",
	"h4": "On the twin the parallel build of all images is the same bake as the parallel, no-cache row: {improvement} faster than one target at a time, not the {claim} the strategy claims for its images built with eight jobs. The twin's four targets share most of their work (base, runtime-base and runtime), which one target at a time builds only once too, and the bake's longest chain of dependent steps, {chain}, bounds it.",
	"h5": "The production image ({prod}) is Debian's slim image with Debian's Python; the naive build ({naive}) starts from the offline stand-in for the python image, which is the same slim image with the same Python plus pip and venv, so both carry the same interpreter and libraries, and only what the naive build adds differs: pip, venv, setuptools, wheel, apt's lists, and the whole context. Unpacked, production is {smallerUnpacked} smaller. The official python:slim image carries its own CPython beside Debian's libraries, which the strategy's figure counts.",
	"g":  "The {big}-stage runs hold the whole chain or fan, its LLB states and its marshalled ops in memory at once, so the garbage collector scans a larger live heap per allocation than the {mid}-stage runs; time grew {ratio} times while allocations grew {bytes} times.",
}

var placeholderRe = regexp.MustCompile(`\{[A-Za-z]+\}`)

// fill replaces each {name} of prose with values[name]; a placeholder
// without a value is an error, so no explanation is printed half-filled.
func fill(prose string, values map[string]string) (string, error) {
	var missing []string
	out := placeholderRe.ReplaceAllStringFunc(prose, func(p string) string {
		v, ok := values[p[1:len(p)-1]]
		if !ok {
			missing = append(missing, p)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("no value for %s", strings.Join(missing, ", "))
	}
	return out, nil
}

func report(figs []*figure, measured, loadStart, loadEnd string) (string, error) {
	buildkit, buildx, err := toolVersions()
	if err != nil {
		return "", err
	}
	header, err := fill(headerProse, map[string]string{
		"date": time.Now().UTC().Format("2006-01-02 15:04 MST"), "cores": fmt.Sprint(runtime.NumCPU()), "memory": memory(),
		"platform": runtime.GOOS + "/" + runtime.GOARCH, "go": runtime.Version(), "buildkit": buildkit, "buildx": buildx,
		"commit": measured, "loadStart": loadStart, "loadEnd": loadEnd,
	})
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Benchmarks\n\n%s\n\n", header)
	fmt.Fprintf(&b, "| | what | compared | this | peer | ratio | target | met |\n|---|---|---|---|---|---|---|---|\n")
	for _, f := range figs {
		met := "yes"
		if !f.met {
			met = "**no**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %.2f | %s | %s |\n", f.id, f.what, f.compared, f.ours, f.peer, f.ratio, f.target, met)
	}
	b.WriteString("\n## Work measures\n\n" + workProse + "\n\n")
	b.WriteString("| | build | wall time | execs | apt-get update | exec time | apt time | longest chain | CPU time |\n|---|---|---|---|---|---|---|---|---|\n")
	shown := map[*side]bool{} // figure h's baseline is figure a's builds
	for _, f := range figs {
		for _, s := range f.sides {
			if shown[s] {
				continue
			}
			shown[s] = true
			w := s.work()
			fmt.Fprintf(&b, "| %s | %s | %s | %d | %d | %s | %s | %s, %d steps | %s |\n", f.id, s.name, s, w.execs, w.updates, secs(w.exec), secs(w.apt), secs(w.chain), w.chainSteps, secs(w.cpu))
		}
	}
	fmt.Fprintf(&b, "\n## How each figure was measured\n\n")
	for _, f := range figs {
		fmt.Fprintf(&b, "- **%s**: %s\n", f.id, f.command)
		for _, n := range f.notes {
			fmt.Fprintf(&b, "  - %s\n", n)
		}
	}
	var missed []string
	for _, f := range figs {
		prose, ok := explanations[f.id]
		if f.met || !ok {
			continue
		}
		text, err := fill(prose, f.values)
		if err != nil {
			return "", fmt.Errorf("explaining figure %s: %w", f.id, err)
		}
		missed = append(missed, "- **"+f.id+"**: "+text)
	}
	sort.Strings(missed)
	if len(missed) > 0 {
		b.WriteString("\n## " + missesProse + "\n\n" + strings.Join(missed, "\n") + "\n")
	}
	return b.String(), nil
}

// commit is the commit the run measures, and whether the tree has changes
// beside it; main reads it before the first figure, since figure g writes
// its table into docs/spec.md.
func commit() string {
	out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := "`" + strings.TrimSpace(string(out)) + "`"
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err != nil || len(st) > 0 {
		c += " with uncommitted changes"
	}
	return c
}

// machineLoad is the load average over one, five and fifteen minutes.
func machineLoad() string {
	dt, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(dt))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], ", ")
}
