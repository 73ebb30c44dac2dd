package check

import (
	"github.com/ohlcv-rag/ohlcv-build/llbgraph"
	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// addURLWithoutChecksum finds an add that downloads a URL with no checksum:
// what it adds is whatever the server sends that day, which no cache key
// or review pins.
func addURLWithoutChecksum(r *run) {
	for _, st := range r.s.Stages {
		ev := r.stage(st)
		if ev == nil {
			continue
		}
		llbgraph.WalkSteps(ev.Steps, func(s llbgraph.Step) {
			as, ok := s.(*llbgraph.AddStep)
			if !ok || as.Checksum != "" {
				return
			}
			a := &as.Spec.Add
			for i, src := range as.Src {
				if i < len(a.Src) && llbgraph.IsURL(src) {
					r.report(&a.Node, "src", a.Src[i].Range, "%s is downloaded with no checksum, so the image gets whatever the server sends: add `checksum: sha256:...` (the build then fails if the content changes)", spec.Quote(src))
				}
			}
		})
	}
}
