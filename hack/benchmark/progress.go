package main

import (
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ohlcv-rag/ohlcv-build/internal/buildprogress"
)

// progress is the vertices of a rawjson progress stream.
type progress struct{ *buildprogress.Progress }

func parseProgress(dt []byte) *progress {
	return &progress{buildprogress.ParseRawJSON(dt)}
}

// execName matches the vertices that run a command: the spec's runs and
// presets (in parallel groups too) and the Dockerfile's RUN.
var execName = regexp.MustCompile(`\] (RUN |run: |apt: |apk: |pip: |uv: |go: |parallel \d+/\d+ (run|apt|apk|pip|uv|go): )`)

// execsRun returns the exec vertices that ran rather than came from cache.
func (p *progress) execsRun() []string {
	var out []string
	for _, v := range p.Vertices() {
		if !v.Cached && v.Completed != nil && execName.MatchString(v.Name) {
			out = append(out, v.Name)
		}
	}
	slices.Sort(out)
	return out
}

// busy sums the run time of the vertices whose name contains substr and
// that ran (a vertex that several builds share counts once).
func (p *progress) busy(substr string) time.Duration {
	var d time.Duration
	for _, v := range p.Vertices() {
		if !v.Cached && v.Started != nil && v.Completed != nil && strings.Contains(v.Name, substr) {
			d += v.Completed.Sub(*v.Started)
		}
	}
	return d
}
