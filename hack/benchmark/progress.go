package main

import (
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/moby/buildkit/client"
	digest "github.com/opencontainers/go-digest"

	"github.com/ohlcv-rag/ohlcv-build/internal/buildprogress"
)

// progress is the vertices of a rawjson progress stream.
type progress struct{ *buildprogress.Progress }

func parseProgress(dt []byte) *progress {
	return &progress{buildprogress.ParseRawJSON(dt)}
}

// execName matches the vertices that run a command: the spec's runs and
// presets (in parallel groups too), the package lists of its apt and apk
// presets, and the Dockerfile's RUN.
var execName = regexp.MustCompile(`\] (RUN |run: |apt: |apk: |pip: |uv: |go: |apt-get update|apk update|parallel \d+/\d+ (run|apt|apk|pip|uv|go): )`)

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
}

// workOf measures the builds ps. A vertex that several of them share
// counts once, where it ran.
func workOf(ps ...*progress) work {
	vs := map[digest.Digest]*client.Vertex{}
	logs := map[digest.Digest][]byte{}
	for _, p := range ps {
		for _, v := range p.Vertices() {
			if old, ok := vs[v.Digest]; !ok || !ran(old) && ran(v) {
				vs[v.Digest], logs[v.Digest] = v, p.Log(v.Digest)
			}
		}
	}
	var w work
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
	return fmt.Sprintf("%d execs, %d apt-get update, %s of exec time (%s of it apt), longest chain %s over %d steps",
		w.execs, w.updates, secs(w.exec), secs(w.apt), secs(w.chain), w.chainSteps)
}
