package frontend

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/frontend/subrequests/lint"
	"github.com/moby/buildkit/frontend/subrequests/outline"
	"github.com/moby/buildkit/frontend/subrequests/targets"
	"github.com/moby/buildkit/solver/pb"

	"github.com/ohlcv-rag/ohlcv-build/llbgraph"
	"github.com/ohlcv-rag/ohlcv-build/llbgraph/spec"
)

// subrequests answers --call=targets, --call=outline and --call=check;
// dockerui answers --call=subrequests.describe and refuses the rest as
// unsupported.
func subrequests(s *spec.Spec, bc *dockerui.Client, src *dockerui.Source) dockerui.RequestHandler {
	sm := src.SourceMap
	return dockerui.RequestHandler{
		ListTargets: func(context.Context) (*targets.List, error) {
			l := &targets.List{Sources: [][]byte{s.Source}}
			for _, t := range llbgraph.Targets(s) {
				l.Targets = append(l.Targets, targets.Target{
					Name:        spec.Escape(t.Name),
					Default:     t.Default,
					Description: spec.Escape(t.Description),
					Base:        spec.Escape(t.Base),
					Location:    location(t.Range),
				})
			}
			return l, nil
		},
		Lint: func(ctx context.Context) (*lint.LintResults, error) {
			return lintResults(ctx, s, bc, src)
		},
		Outline: func(ctx context.Context) (*outline.Outline, error) {
			// The outline compiles the target as a build would, resolving
			// its images, and lists what the compilation really used.
			o, err := llbgraph.BuildOutline(ctx, s, compileOpt(bc, sm, nil))
			if err != nil {
				return nil, err
			}
			out := &outline.Outline{Name: spec.Escape(o.Target), Description: spec.Escape(o.Description), Sources: [][]byte{s.Source}}
			for _, a := range o.Args {
				out.Args = append(out.Args, outline.Arg{Name: spec.Escape(a.Name), Value: spec.Escape(a.Value), Description: spec.Escape(a.Description), Location: location(a.Range)})
			}
			if len(o.Tests) > 0 {
				// BuildKit's outline has no place for tests: they are
				// listed on the arg that skips them, which buildx shows.
				names := make([]string, len(o.Tests))
				for i, t := range o.Tests {
					names[i] = strconv.Quote(t.Name)
				}
				out.Args = append(out.Args, outline.Arg{
					Name:        llbgraph.SkipTestsArg,
					Description: spec.Escape(fmt.Sprintf("set to 1 to skip the %s: %s", spec.Count(len(names), "test"), strings.Join(names, ", "))),
					Location:    location(o.Tests[0].Range),
				})
			}
			for _, m := range o.Secrets {
				out.Secrets = append(out.Secrets, outline.Secret{Name: spec.Escape(m.ID), Required: m.Required, Location: location(m.Range)})
			}
			for _, m := range o.SSH {
				out.SSH = append(out.SSH, outline.SSH{Name: spec.Escape(m.ID), Required: m.Required, Location: location(m.Range)})
			}
			return out, nil
		},
	}
}

func location(r spec.Range) *pb.Location {
	return &pb.Location{SourceIndex: 0, Ranges: []*pb.Range{llbgraph.PBRange(r)}}
}
