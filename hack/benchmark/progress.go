package main

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moby/buildkit/client"
	digest "github.com/opencontainers/go-digest"

	"github.com/ohlcv-rag/ohlcv-build/internal/buildprogress"
)

// progress is the vertices of a rawjson progress stream, and the CPU time
// the machine spent while the build ran.
type progress struct {
	*buildprogress.Progress
	cpu time.Duration
}

func parseProgress(dt []byte) *progress {
	return &progress{Progress: buildprogress.ParseRawJSON(dt)}
}

// execName matches the vertices that run a command: the spec's runs and
// presets (in parallel groups too), the package lists of its apt and apk
// presets, the dpkg status of a group of apt branches, and the
// Dockerfile's RUN.
var execName = regexp.MustCompile(`\] (RUN |run: |apt: |apk: |pip: |uv: |go: |apt-get update|apk update|parallel \d+/\d+ (run|apt|apk|pip|uv|go): |parallel: dpkg status)`)

// aptName matches the exec vertices that run apt: the spec's apt steps and
// their lists, and the Dockerfile's RUNs that call apt-get.
var aptName = regexp.MustCompile(`apt: |apt-get `)

// updateLine is a line only `apt-get update` prints: a repository's
// Release file, fetched or found unchanged. Counting the execs that print
// one counts the updates whichever exec runs them.
var updateLine = regexp.MustCompile(`(?m)^(Get|Hit|Ign):\d+ \S+ \S+ InRelease`)

// ran reports whether a vertex ran in this build rather than came from
// the cache.
func ran(v *client.Vertex) bool {
	return !v.Cached && v.Started != nil && v.Completed != nil
}

// execsRun returns the exec vertices that ran rather than came from cache.
func (p *progress) execsRun() []string {
	var out []string
	for _, v := range p.Vertices() {
		if ran(v) && execName.MatchString(v.Name) {
			out = append(out, v.Name)
		}
	}
	slices.Sort(out)
	return out
}

// work is what one build, or several run one after another, did: read
// from their progress, so that it does not depend on how busy the machine
// was the way wall time does.
type work struct {
	execs   int           // exec vertices that ran
	updates int           // execs that ran apt-get update
	exec    time.Duration // their run times, summed
	apt     time.Duration // the run times of the execs that ran apt, summed
	// chain is the longest chain of dependent vertices that ran, by run
	// time, and chainSteps how many vertices that ran are on it: the
	// least any scheduler could take.
	chain      time.Duration
	chainSteps int
	// cpu is the CPU time the whole machine spent while the builds ran
	// (/proc/stat, every core, every process): divided by the cores, the
	// least wall time any scheduler could take.
	cpu time.Duration
}

// workOf measures the builds ps. A vertex that several of them share
// counts once, where it ran.
func workOf(ps ...*progress) work {
	vs := map[digest.Digest]*client.Vertex{}
	logs := map[digest.Digest][]byte{}
	var cpu time.Duration
	for _, p := range ps {
		cpu += p.cpu
		for _, v := range p.Vertices() {
			if old, ok := vs[v.Digest]; !ok || !ran(old) && ran(v) {
				vs[v.Digest], logs[v.Digest] = v, p.Log(v.Digest)
			}
		}
	}
	w := work{cpu: cpu}
	type link struct {
		d     time.Duration
		steps int
	}
	memo := map[digest.Digest]link{}
	var longest func(d digest.Digest) link
	longest = func(d digest.Digest) link {
		if l, ok := memo[d]; ok {
			return l
		}
		memo[d] = link{} // a cycle cannot happen; this bounds a bad stream
		v := vs[d]
		if v == nil {
			return link{}
		}
		var best link
		for _, in := range v.Inputs {
			if l := longest(in); l.d > best.d {
				best = l
			}
		}
		if ran(v) {
			best = link{best.d + v.Completed.Sub(*v.Started), best.steps + 1}
		}
		memo[d] = best
		return best
	}
	for d, v := range vs {
		if l := longest(d); l.d > w.chain {
			w.chain, w.chainSteps = l.d, l.steps
		}
		if !ran(v) || !execName.MatchString(v.Name) {
			continue
		}
		took := v.Completed.Sub(*v.Started)
		w.execs++
		w.exec += took
		if aptName.MatchString(v.Name) {
			w.apt += took
		}
		if updateLine.Match(logs[d]) {
			w.updates++
		}
	}
	return w
}

// String is the work as the page shows it.
func (w work) String() string {
	return fmt.Sprintf("%d execs, %d apt-get update, %s of exec time (%s of it apt), longest chain %s over %d steps, %s of CPU time",
		w.execs, w.updates, secs(w.exec), secs(w.apt), secs(w.chain), w.chainSteps, secs(w.cpu))
}

// busyCPU is the CPU time the machine has spent busy since it started,
// from /proc/stat's first line (user, nice, system, irq, softirq and
// steal, in USER_HZ ticks of 10 ms); 0 when it cannot be read.
func busyCPU() time.Duration {
	dt, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(dt), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}
