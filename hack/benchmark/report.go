package main

import (
	"bufio"
	"fmt"
	"os"
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
	headerProse = "Written by `hack/bench` (`make bench`) on {date}, in one run: each figure is a ratio of two measurements taken in that run, on the same buildkitd. " +
		"Machine: {cores} cores, {memory} memory, {platform}, {go}; BuildKit {buildkit} (the hack/ engine), buildx {buildx}. " +
		"The peer is BuildKit's Dockerfile frontend at {buildkit}, built from `frontend/dockerfile/cmd/dockerfile-frontend` with the same Go flags as ours (hack/peer-frontend.sh) and selected by the `# syntax=` line of `examples/ohlcv-rag/Dockerfile`, the offline twin written as a Dockerfile. Lower ratios favour this frontend."
	missesProse = "Where a figure misses its target, and why"
)

// explanations explain a figure that misses its target; the page shows
// the ones that did. They describe causes; each {name} is a value the
// figure measured in this run.
var explanations = map[string]string{
	"a1": "Most of a cold build of the twin is apt: apt-get update and installs in base, production, the four development branches and test. In this run the spec's apt steps ran for {apt} (summed, counting steps that ran at the same time each) in a {bake} bake. Outside a parallel group the apt preset mounts its caches locked (the strategy's, and the Dockerfile convention), so BuildKit runs those apt steps one at a time whichever targets they belong to, and bake can only overlap the rest. The shared chain (base, runtime-base, runtime) runs once either way, and one target at a time already reuses it from the cache. What the bake does overlap (the development branches' own apt-get updates among them) competes for the same {cores} cores and the same mirror, and the overlap can cost more than it saves.",
	"a2": "The two builds do not do the same apt work. The spec's development target installs its four tools in four parallel branches, each running its own apt-get update on a private cache, so that they run at once and a changed tool re-runs alone (figure c); the Dockerfile installs the four with one apt-get. On a cold build that is more apt work for the spec: its apt steps ran for {apt} (summed) against {aptPeer} for the Dockerfile's.",
	"b":  "A one-line change re-runs the same kind of steps in both builds (the builder's copy and wheel, the runtime's install): {ours} execs for the spec and {peer} for the Dockerfile in the last round. What differs is each frontend's own time, which figure d shows.",
	"c":  "The changed branch re-runs apt-get update and one install; the Dockerfile's RUN re-runs the same update and all four installs. When the packages come from the apt cache mount the installs are short, so the update bounds the ratio.",
	"d":  "A no-op rebuild is dominated by what both frontends do through BuildKit (reading the spec or Dockerfile, resolving base images, a cached solve); see figure f for the compile itself.",
	"e":  "Both images are one static Go binary FROM scratch, and most of either binary is what every gateway frontend links: the gRPC gateway client, protobuf, BuildKit's API types, net/http and crypto/tls. The image already leaves out the in-process build mode (-tags gatewayonly); this frontend's own code (llbgraph, spec, the YAML parsers) is a small part of it. Reaching the target would need a gateway client without that stack, which BuildKit does not ship.",
	"f1": "Loading the spec (the YAML parser's node tree with positions, then a typed decode and validation of every stage) is {load}, measured as load+compile+marshal minus compile+marshal of a loaded spec; the Dockerfile frontend's line parser costs far less. The per-platform figures in the notes (a loaded spec compiled and marshalled; a multi-platform build loads once and compiles once per platform) are closer; what remains there is mostly llb's own marshalling, which both frontends pay.",
	"f2": "As for the time: loading the spec is {load}. A cheaper position-keeping parser, or less per-op work in llb (which both frontends share), would close the gap.",
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

func report(figs []*figure) (string, error) {
	buildkit, buildx, err := toolVersions()
	if err != nil {
		return "", err
	}
	header, err := fill(headerProse, map[string]string{
		"date": time.Now().UTC().Format("2006-01-02 15:04 MST"), "cores": fmt.Sprint(runtime.NumCPU()), "memory": memory(),
		"platform": runtime.GOOS + "/" + runtime.GOARCH, "go": runtime.Version(), "buildkit": buildkit, "buildx": buildx,
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
