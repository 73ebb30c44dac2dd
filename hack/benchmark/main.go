// Command benchmark measures the ohlcv-build frontend side by side with
// BuildKit's Dockerfile frontend on the local engine, and writes every figure
// as a ratio measured in the same run to docs/benchmarks.md. Run it through
// hack/bench, which starts the engine and pushes both frontend images first.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moby/buildkit/client"
)

var (
	repo    = flag.String("repo", ".", "the repository root")
	out     = flag.String("out", "docs/benchmarks.md", "the report to write")
	runs    = flag.Int("runs", 3, "timed repetitions of each warm measurement")
	cold    = flag.Int("cold-runs", 2, "repetitions of each cold measurement")
	only    = flag.String("only", "", "measure only these figures, e.g. abf")
	envFile = flag.String("env", ".engine/env", "the engine's env file")
)

func main() {
	flag.Parse()
	if err := os.Chdir(*repo); err != nil {
		fail(err)
	}
	env, err := readEnv(*envFile)
	if err != nil {
		fail(err)
	}
	b := &bench{env: env}
	figures := []struct {
		id string
		fn func() (*figure, error)
	}{
		{"g", b.scale}, {"f", b.compile}, {"e", b.imageSize}, {"d", b.noop}, {"b", b.codeChange}, {"c", b.toolChange}, {"a", b.coldAll},
	}
	var results []*figure
	for _, f := range figures {
		if *only != "" && !strings.Contains(*only, f.id) {
			continue
		}
		logf("measuring %s", f.id)
		r, err := f.fn()
		if err != nil {
			fail(fmt.Errorf("figure %s: %w", f.id, err))
		}
		results = append(results, r)
	}
	slices.SortFunc(results, func(a, b *figure) int { return strings.Compare(a.id, b.id) })
	if err := os.WriteFile(*out, []byte(report(results)), 0o644); err != nil {
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
}

type bench struct {
	env map[string]string
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[bench %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

func readEnv(path string) (map[string]string, error) {
	dt, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("no engine (%w): run hack/bench, which starts it", err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(dt), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			env[k] = strings.Trim(v, `'"`)
		}
	}
	return env, nil
}

// buildx runs the buildx CLI against the engine's builder and returns its
// wall time and its rawjson progress.
func (b *bench) buildx(dir string, extraEnv []string, args ...string) (time.Duration, *progress, error) {
	full := append([]string{args[0], "--progress=rawjson"}, args[1:]...)
	cmd := exec.Command(filepath.Join(b.env["OHLCV_BIN"], "buildx"), full...)
	if _, err := exec.LookPath("docker"); err == nil {
		cmd = exec.Command("docker", append([]string{"buildx"}, full...)...)
	}
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "BUILDX_BUILDER="+b.env["BUILDX_BUILDER"]), extraEnv...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = io.Discard
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	p := parseProgress(stderr.Bytes())
	if err != nil {
		tail := stderr.String()
		if len(tail) > 3000 {
			tail = tail[len(tail)-3000:]
		}
		return d, p, fmt.Errorf("buildx %s: %v\n%s", strings.Join(args, " "), err, tail)
	}
	return d, p, nil
}

// progress is the vertices of a rawjson progress stream.
type progress struct {
	vertices map[string]*client.Vertex
}

func parseProgress(dt []byte) *progress {
	p := &progress{vertices: map[string]*client.Vertex{}}
	sc := bufio.NewScanner(bytes.NewReader(dt))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var st client.SolveStatus
		if json.Unmarshal(sc.Bytes(), &st) != nil {
			continue
		}
		for _, v := range st.Vertexes {
			p.vertices[v.Digest.String()] = v
		}
	}
	return p
}

var execName = regexp.MustCompile(`\] (RUN |run: |apt: |apk: |pip: |uv: |go: |parallel \d+/\d+ (run|apt|apk|pip|uv|go): )`)

// execsRun returns the exec vertices that ran rather than came from cache.
func (p *progress) execsRun() []string {
	var out []string
	for _, v := range p.vertices {
		if !v.Cached && v.Completed != nil && execName.MatchString(v.Name) {
			out = append(out, v.Name)
		}
	}
	slices.Sort(out)
	return out
}

// context copies the offline twin's build context to a temporary directory,
// so that the benchmarks can change it.
func (b *bench) context() (string, error) {
	dir, err := os.MkdirTemp("", "ohlcv-bench-")
	if err != nil {
		return "", err
	}
	return dir, exec.Command("cp", "-a", "examples/ohlcv-rag/.", dir).Run()
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// timed fills in a figure's values from the medians of two series of wall
// times, the ratio of ours to the peer's, and whether it is within limit.
func timed(f *figure, ours, peer []time.Duration, limit float64) *figure {
	o, p := median(ours), median(peer)
	f.ours, f.peer, f.ratio = secs(o), secs(p), o.Seconds()/p.Seconds()
	f.met = f.ratio <= limit
	return f
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// specBuild and dockerfileBuild are the same build through each frontend,
// both selected by the files' `# syntax=` lines.
func specBuild(target string) []string {
	return []string{"build", "-f", "offline.build.yaml", "--target", target, "--output", "type=cacheonly", "."}
}

func dockerfileBuild(target string) []string {
	return []string{"build", "-f", "Dockerfile", "--target", target, "--output", "type=cacheonly", "."}
}

// pair runs the spec's build and the Dockerfile's, in an order that
// alternates with the round so neither always goes first, and returns each
// one's time and progress.
func (b *bench) pair(dir string, round int, spec, df []string) (ours, peer time.Duration, po, pp *progress, err error) {
	if round%2 == 1 {
		if peer, pp, err = b.buildx(dir, nil, df...); err != nil {
			return
		}
		ours, po, err = b.buildx(dir, nil, spec...)
		return
	}
	if ours, po, err = b.buildx(dir, nil, spec...); err != nil {
		return
	}
	peer, pp, err = b.buildx(dir, nil, df...)
	return
}

// (d) a fully cached rebuild through # syntax=.
func (b *bench) noop() (*figure, error) {
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
	return timed(&figure{
		id: "d", what: "fully cached no-op rebuild of `runtime` through `# syntax=`", compared: "this frontend image vs the Dockerfile frontend image",
		target:  "≤ 1.0",
		command: "docker buildx build -f offline.build.yaml --target runtime --output type=cacheonly examples/ohlcv-rag  (vs -f Dockerfile), median of " + strconv.Itoa(*runs),
	}, ours, peer, 1.0), nil
}

// (b) a warm rebuild after a one-line change of the app's code.
func (b *bench) codeChange() (*figure, error) {
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
	for i := 0; i < *runs; i++ {
		change := fmt.Sprintf("%s\nBENCH_CHANGE = %d  # a one-line change\n", orig, time.Now().UnixNano())
		if err := os.WriteFile(file, []byte(change), 0o644); err != nil {
			return nil, err
		}
		d1, d2, _, _, err := b.pair(dir, i, specBuild("runtime"), dockerfileBuild("runtime"))
		if err != nil {
			return nil, err
		}
		ours, peer = append(ours, d1), append(peer, d2)
	}
	return timed(&figure{
		id: "b", what: "warm rebuild of `runtime` after a one-line change of src/features.py", compared: "offline.build.yaml vs the equivalent Dockerfile, same daemon",
		target:  "≤ 1.0",
		command: "append a line to src/features.py, then docker buildx build -f offline.build.yaml --target runtime (vs -f Dockerfile), median of " + strconv.Itoa(*runs),
	}, ours, peer, 1.0), nil
}

// (c) change one development tool: which execs re-run, and the wall time.
// Each round puts another tool in the flake8 branch (the spec) or the flake8
// word of the tools' RUN (the Dockerfile), with a fresh round number, so the
// changed step is one the cache has never seen.
func (b *bench) toolChange() (*figure, error) {
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
	return f, nil
}

// (a) a cold build of every target: one bake group vs one target at a time.
func (b *bench) coldAll() (*figure, error) {
	dir, err := b.context()
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "docker-bake.hcl"), bakeFile, 0o644); err != nil {
		return nil, err
	}
	secretEnv := []string{"OHLCV_API_KEY=bench-key"}
	prune := func() error {
		cmd := exec.Command(filepath.Join(b.env["OHLCV_BIN"], "buildctl"), "--addr", b.env["BUILDKIT_HOST"], "prune", "--all")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("prune: %v: %s", err, out)
		}
		return nil
	}
	var bake, seq []time.Duration
	for i := 0; i < *cold; i++ {
		if err := prune(); err != nil {
			return nil, err
		}
		d, _, err := b.buildx(dir, secretEnv, "bake", "all")
		if err != nil {
			return nil, err
		}
		bake = append(bake, d)
		if err := prune(); err != nil {
			return nil, err
		}
		var total time.Duration
		for _, target := range []string{"runtime", "development", "production", "test"} {
			args := specBuild(target)
			if target == "test" {
				args = append(args[:len(args)-1], "--secret", "id=api_key,env=OHLCV_API_KEY", ".")
			}
			d, _, err := b.buildx(dir, secretEnv, args...)
			if err != nil {
				return nil, err
			}
			total += d
		}
		seq = append(seq, total)
	}
	return timed(&figure{
		id: "a", what: "cold build of all four targets (runtime, development, production, test)", compared: "one `docker buildx bake all` vs one target at a time",
		target:  "≤ 0.5",
		command: "buildctl prune --all, then docker buildx bake all (SPEC=offline.build.yaml) vs four docker buildx build --target ..., median of " + strconv.Itoa(*cold),
	}, bake, seq, 0.5), nil
}

var bakeFile = []byte(`group "all" {
  targets = ["runtime", "development", "production", "test"]
}
target "_spec" {
  context    = "."
  dockerfile = "offline.build.yaml"
  output     = ["type=cacheonly"]
}
target "runtime" {
  inherits = ["_spec"]
  target   = "runtime"
}
target "development" {
  inherits = ["_spec"]
  target   = "development"
}
target "production" {
  inherits = ["_spec"]
  target   = "production"
}
target "test" {
  inherits = ["_spec"]
  target   = "test"
  secret   = ["id=api_key,env=OHLCV_API_KEY"]
}
`)

// (e) the compressed size of each frontend image in the registry.
func (b *bench) imageSize() (*figure, error) {
	ours, err := imageBytes(b.env["REGISTRY"], b.env["FRONTEND_IMAGE"])
	if err != nil {
		return nil, err
	}
	peer, err := imageBytes(b.env["REGISTRY"], b.env["PEER_FRONTEND_IMAGE"])
	if err != nil {
		return nil, err
	}
	r := float64(ours) / float64(peer)
	return &figure{
		id: "e", what: "frontend image size (compressed, as pulled)", compared: "this vs the Dockerfile frontend image, same Go flags",
		ours: mib(ours), peer: mib(peer), ratio: r, target: "≤ 0.6", met: r <= 0.6,
		command: "sum of the layer and config sizes in each image's manifest in the local registry (hack/frontend-image.sh, hack/peer-frontend.sh)",
	}, nil
}

func mib(n int64) string { return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20)) }

func imageBytes(registry, ref string) (int64, error) {
	repoTag := strings.TrimPrefix(ref, registry+"/")
	name, tag, _ := strings.Cut(repoTag, ":")
	get := func(ref string) (map[string]any, error) {
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://%s/v2/%s/manifests/%s", registry, name, ref), nil)
		req.Header.Set("Accept", "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var m map[string]any
		return m, json.NewDecoder(resp.Body).Decode(&m)
	}
	m, err := get(tag)
	if err != nil {
		return 0, err
	}
	if ms, ok := m["manifests"].([]any); ok && len(ms) > 0 {
		if m, err = get(ms[0].(map[string]any)["digest"].(string)); err != nil {
			return 0, err
		}
	}
	size := int64(m["config"].(map[string]any)["size"].(float64))
	for _, l := range m["layers"].([]any) {
		size += int64(l.(map[string]any)["size"].(float64))
	}
	return size, nil
}

// (f) compile time and allocations, from go test -bench.
func (b *bench) compile() (*figure, error) {
	cmd := exec.Command("go", "test", "./llbgraph", "-run", "^$", "-bench", "^Benchmark(LoadCompile|Compile|Dockerfile2LLB)$", "-benchtime", "2s", "-count", "5")
	outb, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("go test -bench: %v\n%s", err, outb)
	}
	res := parseBench(string(outb))
	get := func(name string) benchResult {
		r, ok := res[name]
		if !ok {
			fail(fmt.Errorf("no result for %s in\n%s", name, outb))
		}
		return r
	}
	var notes []string
	var worstT, worstA float64
	for _, target := range []string{"runtime", "test"} {
		full, per, peer := get("BenchmarkLoadCompile/offline/"+target), get("BenchmarkCompile/offline/"+target), get("BenchmarkDockerfile2LLB/offline/"+target)
		t, a := full.ns/peer.ns, full.allocs/peer.allocs
		worstT, worstA = max(worstT, t), max(worstA, a)
		notes = append(notes, fmt.Sprintf("`%s`: load+compile+marshal %.0f µs, %.0f allocs; compile+marshal of a loaded spec (per platform) %.0f µs, %.0f allocs; Dockerfile2LLB+marshal %.0f µs, %.0f allocs. Ratios: whole %.2f time, %.2f allocs; per platform %.2f time, %.2f allocs.",
			target, full.ns/1e3, full.allocs, per.ns/1e3, per.allocs, peer.ns/1e3, peer.allocs, t, a, per.ns/peer.ns, per.allocs/peer.allocs))
	}
	rt, peer := get("BenchmarkLoadCompile/offline/runtime"), get("BenchmarkDockerfile2LLB/offline/runtime")
	return &figure{
		id: "f", what: "compile time and allocations (load, compile, marshal), targets runtime and test", compared: "offline.build.yaml vs dockerfile2llb.Dockerfile2LLB on the equivalent Dockerfile, stub image resolver",
		ours:  fmt.Sprintf("%.0f µs, %.0f allocs (runtime)", rt.ns/1e3, rt.allocs),
		peer:  fmt.Sprintf("%.0f µs, %.0f allocs (runtime)", peer.ns/1e3, peer.allocs),
		ratio: worstT, target: "≤ 0.2 time, ≤ 0.3 allocations", met: worstT <= 0.2 && worstA <= 0.3,
		command: "go test ./llbgraph -run '^$' -bench '^Benchmark(LoadCompile|Compile|Dockerfile2LLB)$' -benchtime 2s -count 5 (medians)",
		notes:   append(notes, fmt.Sprintf("worst ratios over both targets: %.2f time, %.2f allocations", worstT, worstA)),
	}, nil
}

type benchResult struct{ ns, bytes, allocs float64 }

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(-\d+)?\s+\d+\s+([\d.]+) ns/op\s+([\d.]+) B/op\s+([\d.]+) allocs/op`)

// parseBench returns the median ns/op, B/op and allocs/op of each
// benchmark.
func parseBench(out string) map[string]benchResult {
	ns, bytes, allocs := map[string][]float64{}, map[string][]float64{}, map[string][]float64{}
	for _, line := range strings.Split(out, "\n") {
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		n, _ := strconv.ParseFloat(m[3], 64)
		by, _ := strconv.ParseFloat(m[4], 64)
		a, _ := strconv.ParseFloat(m[5], 64)
		ns[m[1]], bytes[m[1]], allocs[m[1]] = append(ns[m[1]], n), append(bytes[m[1]], by), append(allocs[m[1]], a)
	}
	res := map[string]benchResult{}
	for k := range ns {
		res[k] = benchResult{median64(ns[k]), median64(bytes[k]), median64(allocs[k])}
	}
	return res
}

func median64(v []float64) float64 {
	slices.Sort(v)
	return v[len(v)/2]
}

func report(figs []*figure) string {
	var b strings.Builder
	mem := "unknown"
	if dt, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		fmt.Sscanf(strings.SplitN(string(dt), "\n", 2)[0], "MemTotal: %d kB", &kb)
		mem = fmt.Sprintf("%.0f GiB", float64(kb)/(1<<20))
	}
	fmt.Fprintf(&b, "# Benchmarks\n\n")
	fmt.Fprintf(&b, "Written by `hack/bench` (`make bench`) on %s, in one run: each figure is a ratio of two measurements taken in that run, on the same buildkitd. ", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "Machine: %d cores, %s memory, %s/%s, %s; BuildKit v0.34.2 (the hack/ engine), buildx v0.38.2. ", runtime.NumCPU(), mem, runtime.GOOS, runtime.GOARCH, runtime.Version())
	fmt.Fprintf(&b, "The peer is BuildKit's Dockerfile frontend at v0.34.2, built from `frontend/dockerfile/cmd/dockerfile-frontend` with the same Go flags as ours (hack/peer-frontend.sh) and selected by the `# syntax=` line of `examples/ohlcv-rag/Dockerfile`, the offline twin written as a Dockerfile. Lower ratios favour this frontend.\n\n")
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
		if !f.met && misses[f.id] != "" {
			missed = append(missed, "- **"+f.id+"**: "+misses[f.id])
		}
	}
	if len(missed) > 0 {
		b.WriteString("\n## Where a figure misses its target, and why\n\n" + strings.Join(missed, "\n") + "\n")
	}

	return b.String()
}

// misses explains each figure that may miss its target; the report shows
// the ones that did. Keep them in step with the numbers when those move.
var misses = map[string]string{
	"f": "Both frontends spend most of the per-platform figure in llb's own marshalling; the whole figure adds this frontend's YAML parsing (go.yaml.in/yaml/v3, which builds a node tree with positions, then a typed decode and validation of every stage) where the Dockerfile frontend runs its much simpler line parser. The per-platform figure (a loaded spec compiled and marshalled; a multi-platform build loads once and compiles once per platform) is in the notes above. Closing the gap needs a cheaper position-keeping parser or less per-op work in llb, which both frontends share.",
	"e": "Both images are one static Go binary FROM scratch, and most of either binary is what every gateway frontend links: the gRPC gateway client, protobuf, BuildKit's API types, net/http and crypto/tls. The image already leaves out the in-process build mode (-tags gatewayonly); this frontend's own code (llbgraph, spec, the YAML parsers) is a small part of it. Reaching 0.6 would need a gateway client without that stack, which BuildKit does not ship.",
	"a": "Most of a cold build of the twin is apt: apt-get update and installs in base, production, the four development branches and test. Outside a parallel group the apt preset mounts its caches locked (the strategy's, and the Dockerfile convention), so BuildKit runs those apt steps one at a time whichever targets they belong to, and bake can only overlap the rest. Mounting them private everywhere was measured at 0.86 (bake 41 s, one at a time 48 s) but gives up the one shared apt cache a build otherwise has; the preset does it only inside parallel groups, where locking would serialize the branches. Beyond that the shared chain (base, runtime-base, runtime) runs once either way, and one target at a time already reuses it from the cache.",
	"b": "A one-line change re-runs the same steps in both builds (the builder's copy and wheel, the runtime's install); what differs is each frontend's own time, which figure d shows.",
	"d": "A no-op rebuild is dominated by what both frontends do through BuildKit (reading the spec or Dockerfile, resolving base images, a cached solve); see figure f for the compile itself.",
	"c": "The changed branch re-runs apt-get update and one install; the Dockerfile's RUN re-runs the same update and all four installs. When the packages come from the apt cache mount the installs are short, so the update bounds the ratio.",
}

// misses for figure g.
func init() {
	misses["g"] = "The 10,000-stage runs hold the whole chain or fan, its LLB states and its marshalled ops in memory at once, so the garbage collector scans a larger live heap per allocation than in the 1,000-stage runs; allocations themselves grow linearly (see the notes)."
}
