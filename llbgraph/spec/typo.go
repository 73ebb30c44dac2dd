package spec

import (
	"strings"

	"github.com/moby/buildkit/util/suggest"
)

// StageTypos finds the stage a bare name in from, copy.from or a mount's
// from may be a typo of: `from: buildr` beside a stage `builder` would
// otherwise be pulled as docker.io/library/buildr:latest and fail far from
// the typo, or worse, succeed. A name with a registry, a path, a tag or a
// digest (buildr:1.0, ghcr.io/x/buildr, buildr@sha256:...) is clearly an
// image and is never a typo.
//
// Each distinct name is searched once, among the stage names of about its
// length, and all searches of one spec share a budget of work, so that a
// spec of ten thousand stages and ten thousand images stays linear: past
// the budget, names are let through to the image lookup, whose error
// still says "did you mean".
type StageTypos struct {
	byLen  map[int][]string
	seen   map[string]string
	budget int
}

// typoBudget bounds the work of all the searches of one spec, in cells of
// the edit-distance tables, each comparison counting typoCompareCost more
// for its setup: a few tens of milliseconds. A real spec's searches cost a
// thousandth of it.
const (
	typoBudget      = 2 << 20
	typoCompareCost = 64
)

// NewStageTypos indexes the stage names of s.
func NewStageTypos(s Stages) *StageTypos {
	t := &StageTypos{byLen: map[int][]string{}, seen: map[string]string{}, budget: typoBudget}
	for _, st := range s {
		if n := len(st.Name); n <= maxSuggestLen {
			t.byLen[n] = append(t.byLen[n], st.Name)
		}
	}
	return t
}

// Of returns the message for name when it is a bare name that names no
// stage but is a typo of one, or "". The caller has checked that name is
// no stage.
func (t *StageTypos) Of(name string) string {
	if name == "" || len(name) > maxSuggestLen || strings.ContainsAny(name, "/:@") {
		return ""
	}
	if msg, ok := t.seen[name]; ok {
		return msg
	}
	cost := 0
	for n := len(name) - 2; n <= len(name)+2; n++ {
		cost += (len(name)*n + typoCompareCost) * len(t.byLen[n])
	}
	msg := ""
	if t.budget -= cost; t.budget >= 0 {
		near := make([]string, 0, 8)
		for n := len(name) - 2; n <= len(name)+2; n++ {
			near = append(near, t.byLen[n]...)
		}
		if m, ok := suggest.Search(name, near, true); ok {
			msg = Quote(name) + " names no stage (did you mean " + Quote(m) + "?); for an image of that name, give its tag: " + Shorten(name) + ":<version>"
		}
	}
	t.seen[name] = msg
	return msg
}
